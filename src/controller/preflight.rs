//! All or nothing: before a sync applies anything, every object of the render is sent as a
//! server-side dry-run (`dryRun=All`, the same stamped and defaulted object the apply sends, in
//! apply order), and one rejection fails the operation naming the object and the server's
//! reason. Only then does [`super::apply_env`] apply.
//!
//! Objects that cannot be dry-run yet are handled by creating only what they need first:
//! - a namespaced object in a Namespace the render itself creates (the server answers 404 for a
//!   dry-run into a missing namespace), and
//! - a custom resource of a CRD the render itself defines (the kind is not served yet).
//!
//! Those Namespaces and CRDs are dry-run first, then applied, the CRDs waited for until the
//! server reports them `Established` and serves their kinds, then the rest is dry-run. Every
//! other object (Argo CD does the same with its dry-run phase) is validated by the server
//! itself, schema, admission and size included.
//!
//! Decision: when validation then fails (a rejection, or an error that ends it), the
//! Namespaces and CRDs this validation *created* — absent before it, so nothing else can own
//! them — are deleted again, newest first, and waited for until they are gone (a Namespace
//! terminates asynchronously; a next attempt must not find it `Terminating`), so a rejected
//! commit leaves nothing of itself live. Removing them was preferred over dry-running the
//! objects of a new namespace in some other namespace: that would validate against another
//! namespace's quotas, limits and admission rules and could collide with its objects, and a
//! custom resource cannot be validated at all before its CRD is served. A CRD that existed
//! and was only updated (say, to serve a new version) is left as it is: deleting it would
//! delete every resource of that kind, and restoring its old spec is a write of its own; the
//! failure text names what was removed, and the operation's "changed" count is what is still
//! changed afterwards. The env's own namespace, created by `apply_env` when missing, holds the
//! env's cluster-held state and is not part of any commit; it stays.
//!
//! A dry-run answered 500 "failed to create typed patch object" counts as a rejection of that
//! object (servers before 1.21 answer a schema mismatch in an apply that way); other 5xx, 429
//! and unreachable servers stay transient, and the operation is retried.
//!
//! May import model and cluster through the controller; no pruning, no cluster-held state.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use serde_json::Value;

use crate::cluster::{self, ApplyMode, Cluster};
use crate::config::EnvConfig;
use crate::model::{Manifest, ResourceKey};

use super::apply::{ApplyError, apply_order, stamp};

/// Dry-runs in flight while validating a render (as many as applies in flight, Argo CD's 20).
const DRY_RUN_CONCURRENCY: usize = 20;
/// How long a new CRD may take to become Established and served.
const CRD_ESTABLISH_TIMEOUT: Duration = Duration::from_secs(60);
const CRD_POLL: Duration = Duration::from_millis(200);

/// One object as the apply sends it.
pub(super) struct Planned {
    pub obj: Value,
    /// `Kind/namespace/name`, for messages.
    pub label: String,
    /// Its kind is served only once a CRD of this render is established.
    pub deferred: bool,
    /// The manifest's own key (namespace as Git has it), as observations key predictions.
    pub key: ResourceKey,
}

impl Planned {
    fn text(&self, pointer: &str) -> &str {
        self.obj
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
    pub(super) fn kind(&self) -> &str {
        self.text("/kind")
    }
    pub(super) fn name(&self) -> &str {
        self.text("/metadata/name")
    }
    pub(super) fn namespace(&self) -> &str {
        self.text("/metadata/namespace")
    }
    pub(super) fn api_version(&self) -> &str {
        self.text("/apiVersion")
    }
}

/// Whether a CRD of `desired` defines `api_version` `kind`; `Some(namespaced)` when it does.
pub fn crd_scope(desired: &[Manifest], api_version: &str, kind: &str) -> Option<bool> {
    desired
        .iter()
        .filter(|m| m.kind() == "CustomResourceDefinition")
        .find_map(|m| crd_defines(m.object(), api_version, kind))
}

/// Whether the CRD object `crd` defines `api_version` `kind`; `Some(namespaced)` when it does.
fn crd_defines(crd: &Value, api_version: &str, kind: &str) -> Option<bool> {
    let (group, version) = api_version.split_once('/')?;
    let defines = crd["spec"]["group"].as_str() == Some(group)
        && crd["spec"]["names"]["kind"].as_str() == Some(kind)
        && crd["spec"]["versions"]
            .as_array()
            .is_some_and(|vs| vs.iter().any(|v| v["name"].as_str() == Some(version)));
    defines.then(|| crd["spec"]["scope"].as_str() != Some("Cluster"))
}

fn label(kind: &str, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}/{namespace}/{name}")
    }
}

/// The server's own words for a refusal: reason and message of its Status, not a debug dump.
pub(super) fn server_reason(e: &cluster::Error) -> String {
    match e {
        cluster::Error::Api {
            source: kube::Error::Api(status),
            ..
        } => format!(
            "{} (HTTP {}): {}",
            status.reason, status.code, status.message
        ),
        other => other.to_string(),
    }
}

/// Every manifest stamped for `env` at `revision`, in apply order, its scope from discovery
/// or from a CRD of the same render.
pub(super) async fn plan(
    cluster: &Cluster,
    env: &EnvConfig,
    manifests: &[Manifest],
    revision: &str,
) -> Result<Vec<Planned>, ApplyError> {
    let mut planned = Vec::with_capacity(manifests.len());
    for m in apply_order(manifests) {
        let object = label(m.kind(), m.namespace(), m.name());
        let (namespaced, deferred) = match cluster.resolve(m.api_version(), m.kind()).await {
            Ok(r) => (r.namespaced, false),
            Err(cluster::Error::UnknownKind { .. })
                if crd_scope(manifests, m.api_version(), m.kind()).is_some() =>
            {
                (
                    crd_scope(manifests, m.api_version(), m.kind()) == Some(true),
                    true,
                )
            }
            Err(e) if e.is_transient() => return Err(ApplyError::cluster(env, e, 0)),
            Err(e) => {
                return Err(ApplyError::Rejected {
                    env: env.name.clone(),
                    object,
                    reason: e.to_string(),
                    changed: 0,
                });
            }
        };
        let obj = stamp(
            m.object(),
            &env.name,
            revision,
            namespaced.then_some(env.namespace.as_str()),
        );
        let label = label(
            m.kind(),
            obj["metadata"]["namespace"].as_str().unwrap_or_default(),
            m.name(),
        );
        planned.push(Planned {
            obj,
            label,
            deferred,
            key: m.key().clone(),
        });
    }
    Ok(planned)
}

/// What validation already applied (Namespaces and CRDs others needed), by index in the plan.
#[derive(Debug, Default)]
pub(super) struct Early {
    pub applied: BTreeSet<usize>,
    pub changed: usize,
    /// Of those, the ones that did not exist before, in creation order.
    pub created: Vec<usize>,
    /// The server's dry-run answer per plan index: what applying it would make of the object.
    /// The apply skips an object whose answer equals live (see `apply`'s module doc).
    pub predicted: Vec<Option<Value>>,
}

/// How long removing what validation created may wait for it to be gone.
const UNDO_TIMEOUT: Duration = Duration::from_secs(60);

/// Validates the whole plan by server-side dry-run (module doc). `Err` names the first
/// rejected object in apply order with the server's reason.
pub(super) async fn validate(
    cluster: &Cluster,
    env: &EnvConfig,
    plan: &[Planned],
) -> Result<Early, ApplyError> {
    let early_set = early_indices(cluster, env, plan).await?;
    let mut early = Early {
        predicted: vec![None; plan.len()],
        ..Early::default()
    };
    let early_list: Vec<usize> = early_set.iter().copied().collect();
    for (i, answer) in dry_run_all(cluster, env, plan, &early_list, 0).await? {
        early.predicted[i] = Some(answer);
    }
    let checked = async {
        for &i in &early_list {
            let p = &plan[i];
            let existed = cluster
                .get(p.api_version(), p.kind(), "", p.name())
                .await
                .map_err(|e| ApplyError::cluster(env, e, early.changed))?
                .is_some();
            let changed = apply_one(cluster, &p.obj, None, None)
                .await
                .map_err(|e| ApplyError::cluster(env, e, early.changed))?
                .changed;
            early.applied.insert(i);
            early.changed += usize::from(changed);
            if !existed {
                early.created.push(i);
            }
            tracing::info!(env = %env.name, object = %p.label, "applied first: others need it to validate");
        }
        for &i in &early_list {
            if plan[i].kind() == "CustomResourceDefinition" {
                wait_established(cluster, env, plan, i, early.changed).await?;
            }
        }
        let rest: Vec<usize> = (0..plan.len())
            .filter(|i| !early.applied.contains(i))
            .collect();
        for (i, answer) in dry_run_all(cluster, env, plan, &rest, early.changed).await? {
            early.predicted[i] = Some(answer);
        }
        Ok(())
    }
    .await;
    match checked {
        Ok(()) => Ok(early),
        Err(e) => Err(undo_early(cluster, env, plan, &early, e).await),
    }
}

/// Validation failed with `error` after creating `early.created`: deletes those again (module
/// doc) and returns `error` saying so, its "changed" count reduced by what was removed.
async fn undo_early(
    cluster: &Cluster,
    env: &EnvConfig,
    plan: &[Planned],
    early: &Early,
    error: ApplyError,
) -> ApplyError {
    if early.created.is_empty() {
        return error;
    }
    let mut removed = Vec::new();
    let mut left = Vec::new();
    for &i in early.created.iter().rev() {
        let p = &plan[i];
        match remove(cluster, p).await {
            Ok(()) => removed.push(p.label.clone()),
            Err(why) => left.push(format!("{} ({why})", p.label)),
        }
    }
    tracing::info!(env = %env.name, ?removed, ?left, "removed what validation created");
    let mut note = String::new();
    if !removed.is_empty() {
        note.push_str(&format!(
            "; removed {} again (created only to validate this render)",
            removed.join(", ")
        ));
    }
    if !left.is_empty() {
        note.push_str(&format!(
            "; could not remove {} (created to validate this render)",
            left.join(", ")
        ));
    }
    match error {
        ApplyError::Rejected {
            env,
            object,
            reason,
            changed,
        } => ApplyError::Rejected {
            env,
            object,
            reason: format!("{reason}{note}"),
            changed: changed.saturating_sub(removed.len()),
        },
        ApplyError::Cluster {
            env,
            source,
            changed,
        } => ApplyError::Cluster {
            env,
            source,
            changed: changed.saturating_sub(removed.len()),
        },
        other => other,
    }
}

/// Deletes a cluster-scoped object and waits until the server no longer has it.
async fn remove(cluster: &Cluster, p: &Planned) -> Result<(), String> {
    let (av, kind, name) = (p.api_version(), p.kind(), p.name());
    cluster
        .delete(av, kind, "", name)
        .await
        .map_err(|e| server_reason(&e))?;
    let deadline = Instant::now() + UNDO_TIMEOUT;
    loop {
        match cluster.get(av, kind, "", name).await {
            Ok(None) => return Ok(()),
            Ok(Some(_)) if Instant::now() >= deadline => {
                return Err(format!(
                    "still terminating after {}s",
                    UNDO_TIMEOUT.as_secs()
                ));
            }
            Ok(Some(_)) => tokio::time::sleep(CRD_POLL).await,
            Err(e) => return Err(server_reason(&e)),
        }
    }
}

/// Namespaces of the render that other objects target and that do not exist yet, and CRDs
/// of the render whose kinds other objects use and the server does not serve yet.
async fn early_indices(
    cluster: &Cluster,
    env: &EnvConfig,
    plan: &[Planned],
) -> Result<BTreeSet<usize>, ApplyError> {
    let targeted: BTreeSet<&str> = plan
        .iter()
        .filter(|p| p.kind() != "Namespace")
        .map(Planned::namespace)
        .filter(|ns| !ns.is_empty())
        .collect();
    let deferred: Vec<(&str, &str)> = plan
        .iter()
        .filter(|p| p.deferred)
        .map(|p| (p.api_version(), p.kind()))
        .collect();
    let mut early = BTreeSet::new();
    for (i, p) in plan.iter().enumerate() {
        match (p.api_version(), p.kind()) {
            ("v1", "Namespace") if targeted.contains(p.name()) => {
                let live = cluster
                    .get("v1", "Namespace", "", p.name())
                    .await
                    .map_err(|e| ApplyError::cluster(env, e, 0))?;
                if live.is_none() {
                    early.insert(i);
                }
            }
            (_, "CustomResourceDefinition") => {
                let defines = deferred
                    .iter()
                    .any(|(av, kind)| crd_defines(&p.obj, av, kind).is_some());
                if defines {
                    early.insert(i);
                }
            }
            _ => {}
        }
    }
    Ok(early)
}

async fn dry_run_all(
    cluster: &Cluster,
    env: &EnvConfig,
    plan: &[Planned],
    indices: &[usize],
    changed: usize,
) -> Result<Vec<(usize, Value)>, ApplyError> {
    // Named futures collected first: a closure making async blocks inside the stream loses
    // `Send` for the spawned operation (higher-ranked lifetime inference).
    let jobs: Vec<_> = indices
        .iter()
        .map(|&i| dry_run_one(cluster, &plan[i].obj, i))
        .collect();
    let results: Vec<(usize, Result<Value, cluster::Error>)> = stream::iter(jobs)
        .buffered(DRY_RUN_CONCURRENCY)
        .collect()
        .await;
    let mut answers = Vec::with_capacity(results.len());
    for (i, result) in results {
        match result {
            Ok(answer) => answers.push((i, answer)),
            Err(e) if e.is_transient() && !is_schema_refusal(&e) => {
                return Err(ApplyError::cluster(env, e, changed));
            }
            Err(e) => {
                return Err(ApplyError::Rejected {
                    env: env.name.clone(),
                    object: plan[i].label.clone(),
                    reason: server_reason(&e),
                    changed,
                });
            }
        }
    }
    Ok(answers)
}

/// A 500 that is the object's fault, not the server's: servers before 1.21 answer an apply
/// that does not fit the schema (`replicas: "abc"`) with 500 "failed to create typed patch
/// object". Any other 500 (an overloaded server, injected faults) stays transient.
fn is_schema_refusal(e: &cluster::Error) -> bool {
    match e {
        cluster::Error::Api {
            source: kube::Error::Api(status),
            ..
        } => status.code == 500 && status.message.contains("failed to create typed"),
        _ => false,
    }
}

async fn dry_run_one(
    cluster: &Cluster,
    obj: &Value,
    i: usize,
) -> (usize, Result<Value, cluster::Error>) {
    (i, super::takeover::dry_run(cluster, obj).await)
}

/// Applies one object; whether it changed (created, or its `resourceVersion` moved). `listed`
/// is the object as a list just read it (`Some(None)`: absent); without it the object is read
/// first. With `predicted` (this object's dry-run answer), an object the apply would leave as
/// it is ([`super::apply::unchanged`]) and that no other manager's fields must be taken from is
/// not written at all (`apply`'s module doc).
pub(super) async fn apply_one(
    cluster: &Cluster,
    obj: &Value,
    predicted: Option<&Value>,
    listed: Option<Option<&Value>>,
) -> Result<Outcome, cluster::Error> {
    let text = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let (av, kind, ns, name) = (
        text("/apiVersion"),
        text("/kind"),
        text("/metadata/namespace"),
        text("/metadata/name"),
    );
    let mut before = match listed {
        Some(listed) => listed.cloned(),
        None => cluster.get(av, kind, ns, name).await?,
    };
    if let Some(live) = &before {
        let takes_over = super::takeover::folded_entries(live, av).is_some()
            || !super::takeover::dropped_structs(live, obj).is_empty();
        if let Some(p) = predicted.filter(|p| !takes_over && super::apply::unchanged(p, live)) {
            tracing::debug!(object = %format!("{kind}/{ns}/{name}"), "unchanged: not sent");
            return Ok(Outcome {
                changed: false,
                answer: resource_version(live).map(|rv| (rv, p.clone())),
            });
        }
        if takes_over && listed.is_some() {
            // The takeover's patches are guarded by the resourceVersion: read it fresh.
            before = cluster.get(av, kind, ns, name).await?;
        }
    }
    if let Some(live) = &before {
        // Structs Git dropped go first, Git wins over fields other managers hold (see
        // `takeover`), then the apply.
        let live = super::takeover::remove_dropped(cluster, live, obj).await?;
        super::takeover::take_over(cluster, &live).await?;
    }
    let after = cluster.apply(obj, ApplyMode::Apply).await?;
    let rv = resource_version(&after);
    Ok(Outcome {
        changed: before.as_ref().is_none_or(|b| resource_version(b) != rv),
        answer: rv.map(|rv| (rv, after)),
    })
}

/// What one object's apply did.
pub(super) struct Outcome {
    /// Its `resourceVersion` moved (or it was created).
    pub changed: bool,
    /// What a dry-run apply of the same object would answer now, against the live
    /// `resourceVersion` it holds: the apply's own answer, or, for an object not sent, the
    /// validation's dry-run answer made against that same version (see
    /// `controller::predictions`, which keeps these so the observation right after a sync
    /// does not dry-run the whole render again).
    pub answer: Option<(String, Value)>,
}

pub(super) fn resource_version(obj: &Value) -> Option<String> {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .map(str::to_owned)
}

/// Waits until the CRD at `plan[i]` is Established and the server serves every kind the plan
/// uses from it.
async fn wait_established(
    cluster: &Cluster,
    env: &EnvConfig,
    plan: &[Planned],
    i: usize,
    changed: usize,
) -> Result<(), ApplyError> {
    let crd = &plan[i];
    let kinds: BTreeSet<(&str, &str)> = plan
        .iter()
        .filter(|p| p.deferred && crd_defines(&crd.obj, p.api_version(), p.kind()).is_some())
        .map(|p| (p.api_version(), p.kind()))
        .collect();
    let deadline = Instant::now() + CRD_ESTABLISH_TIMEOUT;
    loop {
        let live = cluster
            .get(
                crd.api_version(),
                "CustomResourceDefinition",
                "",
                crd.name(),
            )
            .await
            .map_err(|e| ApplyError::cluster(env, e, changed))?;
        let conditions = live
            .as_ref()
            .and_then(|o| o["status"]["conditions"].as_array().cloned())
            .unwrap_or_default();
        // A server that reports no conditions at all is taken at its discovery's word.
        let established = conditions.is_empty()
            || conditions.iter().any(|c| {
                c["type"].as_str() == Some("Established") && c["status"].as_str() == Some("True")
            });
        let mut served = established;
        if established {
            for (av, kind) in &kinds {
                served &= cluster.resolve(av, kind).await.is_ok();
            }
        }
        if served {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(ApplyError::Rejected {
                env: env.name.clone(),
                object: crd.label.clone(),
                reason: format!(
                    "not Established and serving its kinds within {}s",
                    CRD_ESTABLISH_TIMEOUT.as_secs()
                ),
                changed,
            });
        }
        tokio::time::sleep(CRD_POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crd_scope_matches_group_version_and_kind_of_the_render() {
        let crd = Manifest::new(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"kind": "Widget", "plural": "widgets"},
                     "versions": [{"name": "v1", "served": true, "storage": true}]}
        }))
        .unwrap();
        let ms = [crd];
        assert_eq!(crd_scope(&ms, "example.com/v1", "Widget"), Some(true));
        assert_eq!(crd_scope(&ms, "example.com/v2", "Widget"), None);
        assert_eq!(crd_scope(&ms, "other.com/v1", "Widget"), None);
        assert_eq!(crd_scope(&ms, "v1", "Widget"), None);
    }
}
