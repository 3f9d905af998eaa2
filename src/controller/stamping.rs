//! The object driftdeck sends for a desired manifest, and what the server says it would make of
//! it. One function, [`outgoing`], stamps the object for both the sync's apply and the
//! observation's dry-run: tracking label `app.kubernetes.io/managed-by: driftdeck`,
//! annotations `driftdeck.io/env` and `driftdeck.io/revision` (live, it records the revision
//! that last changed the object: a sync does not send an object its dry-run says it would leave
//! unchanged, see `apply`), and the env's namespace for a
//! namespaced kind that names none. Both are sent by [`Cluster::apply`] with field manager
//! `driftdeck` and conflicts forced, so the observation predicts exactly what a sync produces
//! (a Job observed without the tracking label used to show the server's `job-name` labels as
//! drift, because the dry-run and the apply sent different objects).
//!
//! May import model, config, diff, cluster. Decisions: the prediction asks for the server's
//! defaults (a dry-run *create* of the same stamped object under a generated name) only when
//! the dry-run result holds fields other managers own that Git does not set
//! ([`diff::needs_defaults`]) — right after a `kubectl create` or a hand edit, never in the
//! steady state after a sync — so an idle, synced env costs no extra request. A refused probe
//! is not an error: the diff then shows such fields as removed (see `diff`'s `foreign`).

use kube::api::{Api, DynamicObject, PostParams};
use serde_json::Value;

use crate::cluster::{self, Cluster};
use crate::config::EnvConfig;
use crate::diff::{self, Predicted};
use crate::model::Manifest;

use super::apply::stamp;

/// Prefix of the names a defaults probe is created (dry-run only) under.
const PROBE_PREFIX: &str = "ddprobe";

/// `m` as driftdeck sends it to `env`'s cluster at `revision` (module doc).
pub async fn outgoing(
    cluster: &Cluster,
    env: &EnvConfig,
    revision: &str,
    m: &Manifest,
) -> Result<Value, cluster::Error> {
    let resolved = cluster.resolve(m.api_version(), m.kind()).await?;
    let namespace = resolved.namespaced.then_some(env.namespace.as_str());
    Ok(stamp(m.object(), &env.name, revision, namespace))
}

/// What the server says a sync would make of one live object.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// The server-side dry-run apply of the stamped object.
    pub applied: Value,
    /// The server's dry-run create of the same object, when it was needed and answered.
    pub defaults: Option<Value>,
}

impl Prediction {
    pub fn as_predicted(&self) -> Predicted<'_> {
        match &self.defaults {
            Some(defaults) => Predicted::Defaulted {
                applied: &self.applied,
                defaults,
            },
            None => Predicted::DryRun(&self.applied),
        }
    }
}

/// The dry-run apply of `m` as a sync would send it, plus the server's defaults when the diff
/// needs them (module doc).
pub async fn predict_one(
    cluster: &Cluster,
    env: &EnvConfig,
    revision: &str,
    m: &Manifest,
) -> Result<Prediction, cluster::Error> {
    let obj = outgoing(cluster, env, revision, m).await?;
    let applied = super::takeover::dry_run(cluster, &obj).await?;
    let defaults = if diff::needs_defaults(&applied, m) {
        match probe_defaults(cluster, &obj).await {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::debug!("defaults probe refused for {}: {e}", m.key());
                None
            }
        }
    } else {
        None
    };
    Ok(Prediction { applied, defaults })
}

/// The stamped object as the server would create it afresh: a dry-run create under another
/// name (`generateName`; a CustomResourceDefinition, whose name must be `<plural>.<group>`, under
/// a prefixed plural), with the probe's name put back wherever the server copied it (a Job's
/// `job-name` label, a Namespace's `kubernetes.io/metadata.name`).
pub async fn probe_defaults(cluster: &Cluster, stamped: &Value) -> Result<Value, cluster::Error> {
    let api_version = stamped["apiVersion"].as_str().unwrap_or_default();
    let kind = stamped["kind"].as_str().unwrap_or_default();
    let name = stamped["metadata"]["name"].as_str().unwrap_or_default();
    let namespace = stamped["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default();
    let what = format!("dry-run create {kind}/{name} (defaults probe)");
    let resolved = cluster.resolve(api_version, kind).await?;
    let mut probe = stamped.clone();
    let mut renames: Vec<(String, String)> = Vec::new();
    if kind == "CustomResourceDefinition" {
        let plural = stamped["spec"]["names"]["plural"]
            .as_str()
            .unwrap_or_default();
        let probe_plural = format!("{PROBE_PREFIX}{plural}");
        let probe_name = format!("{PROBE_PREFIX}{name}");
        probe["spec"]["names"]["plural"] = Value::String(probe_plural.clone());
        probe["metadata"]["name"] = Value::String(probe_name.clone());
        renames.push((probe_name, name.to_owned()));
        renames.push((probe_plural, plural.to_owned()));
    } else if let Some(meta) = probe["metadata"].as_object_mut() {
        meta.remove("name");
        meta.insert(
            "generateName".into(),
            Value::String(format!("{PROBE_PREFIX}-")),
        );
    }
    let body: DynamicObject =
        serde_json::from_value(probe).map_err(|e| cluster::Error::BadObject {
            what: what.clone(),
            message: e.to_string(),
        })?;
    let api: Api<DynamicObject> = if resolved.namespaced {
        Api::namespaced_with(cluster.client().clone(), namespace, &resolved.resource)
    } else {
        Api::all_with(cluster.client().clone(), &resolved.resource)
    };
    let params = PostParams {
        dry_run: true,
        field_manager: Some(cluster::FIELD_MANAGER.to_owned()),
    };
    let created = api
        .create(&params, &body)
        .await
        .map_err(|source| cluster::Error::Api {
            context: cluster.context().to_owned(),
            what: what.clone(),
            source,
        })?;
    if let Some(generated) = &created.metadata.name
        && kind != "CustomResourceDefinition"
    {
        renames.push((generated.clone(), name.to_owned()));
    }
    let mut out = serde_json::to_value(&created).map_err(|e| cluster::Error::BadObject {
        what,
        message: e.to_string(),
    })?;
    out["apiVersion"] = Value::String(api_version.to_owned());
    out["kind"] = Value::String(kind.to_owned());
    rename(&mut out, &renames);
    Ok(out)
}

/// Replaces every string equal to a probe name by the real name.
fn rename(v: &mut Value, renames: &[(String, String)]) {
    match v {
        Value::String(s) => {
            if let Some((_, real)) = renames.iter().find(|(probe, _)| probe == s) {
                *s = real.clone();
            }
        }
        Value::Array(list) => list.iter_mut().for_each(|e| rename(e, renames)),
        Value::Object(map) => map.values_mut().for_each(|e| rename(e, renames)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn probe_names_are_put_back_wherever_the_server_copied_them() {
        let mut obj = json!({"metadata": {"name": "ddprobe-x7k2p",
            "labels": {"job-name": "ddprobe-x7k2p", "other": "ddprobe-x7k2p-not"}},
            "spec": {"list": ["ddprobe-x7k2p"]}});
        rename(
            &mut obj,
            &[("ddprobe-x7k2p".to_owned(), "migrate".to_owned())],
        );
        assert_eq!(obj["metadata"]["name"], "migrate");
        assert_eq!(obj["metadata"]["labels"]["job-name"], "migrate");
        assert_eq!(obj["metadata"]["labels"]["other"], "ddprobe-x7k2p-not");
        assert_eq!(obj["spec"]["list"][0], "migrate");
    }
}
