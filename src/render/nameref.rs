//! Name references: after every rename (prefix, suffix, generator hash), fields that name
//! another object of the build are set to that object's final name — kustomize's
//! `nameReference` field specs (ConfigMap/Secret refs in pod specs, serviceAccountName,
//! roleRef/subjects, HPA scaleTargetRef, Ingress backends and TLS, StatefulSet serviceName,
//! PVC claimName, ...). Only references to objects in the build change; label selectors are
//! not names and are left alone.
//!
//! Works on `Res` values; imports nothing from the crate outside `render`.

use serde_json::Value;

use super::config::{NameReference, visit_spec};
use super::resource::{Res, visit};
use super::transform::is_cluster_scoped;

/// Where pod specs live, per workload kind.
const POD_SPECS: &[(&str, &str)] = &[
    ("Pod", "spec"),
    ("Deployment", "spec/template/spec"),
    ("ReplicaSet", "spec/template/spec"),
    ("DaemonSet", "spec/template/spec"),
    ("StatefulSet", "spec/template/spec"),
    ("Job", "spec/template/spec"),
    ("ReplicationController", "spec/template/spec"),
    ("CronJob", "spec/jobTemplate/spec/template/spec"),
];

/// (referred kind, path inside a pod spec)
const POD_REFS: &[(&str, &str)] = &[
    ("ConfigMap", "volumes/configMap/name"),
    ("ConfigMap", "containers/env/valueFrom/configMapKeyRef/name"),
    (
        "ConfigMap",
        "initContainers/env/valueFrom/configMapKeyRef/name",
    ),
    ("ConfigMap", "containers/envFrom/configMapRef/name"),
    ("ConfigMap", "initContainers/envFrom/configMapRef/name"),
    ("ConfigMap", "volumes/projected/sources/configMap/name"),
    ("Secret", "volumes/secret/secretName"),
    ("Secret", "containers/env/valueFrom/secretKeyRef/name"),
    ("Secret", "initContainers/env/valueFrom/secretKeyRef/name"),
    ("Secret", "containers/envFrom/secretRef/name"),
    ("Secret", "initContainers/envFrom/secretRef/name"),
    ("Secret", "imagePullSecrets/name"),
    ("Secret", "volumes/projected/sources/secret/name"),
    ("ServiceAccount", "serviceAccountName"),
    ("ServiceAccount", "serviceAccount"),
    (
        "PersistentVolumeClaim",
        "volumes/persistentVolumeClaim/claimName",
    ),
    ("PriorityClass", "priorityClassName"),
];

/// (referrer kind, path, referred kind) outside pod specs.
const OTHER_REFS: &[(&str, &str, &str)] = &[
    ("Ingress", "spec/tls/secretName", "Secret"),
    (
        "Ingress",
        "spec/rules/http/paths/backend/service/name",
        "Service",
    ),
    (
        "Ingress",
        "spec/rules/http/paths/backend/serviceName",
        "Service",
    ),
    ("Ingress", "spec/defaultBackend/service/name", "Service"),
    ("Ingress", "spec/backend/serviceName", "Service"),
    ("StatefulSet", "spec/serviceName", "Service"),
    ("ServiceAccount", "imagePullSecrets/name", "Secret"),
    ("ServiceAccount", "secrets/name", "Secret"),
    (
        "PersistentVolumeClaim",
        "spec/volumeName",
        "PersistentVolume",
    ),
    (
        "PersistentVolumeClaim",
        "spec/storageClassName",
        "StorageClass",
    ),
    ("PersistentVolume", "spec/storageClassName", "StorageClass"),
    (
        "StatefulSet",
        "spec/volumeClaimTemplates/spec/storageClassName",
        "StorageClass",
    ),
];

/// Resolves a name of `kind` as seen from an object in `ns` to the final name.
struct Index<'a> {
    resources: &'a [Res],
    /// The referrer's prefixes and suffixes, to pick among same-named copies of one base.
    affixes: &'a [String],
    /// The referrer is cluster-scoped: a referent in any namespace will do.
    cluster_referrer: bool,
}

impl<'a> Index<'a> {
    /// kustomize's choice: objects of `kind` that had `name`, in the referrer's namespace
    /// (an empty namespace is `default`; cluster-scoped referrers and referents match any),
    /// then, if still ambiguous, the one renamed with the same prefixes and suffixes.
    fn resolve(&self, kind: &str, name: &str, ns: &str) -> Option<String> {
        self.resolve_with_ns(kind, name, ns).map(|(n, _)| n)
    }

    /// The referent's final name, and the referent itself.
    fn resolve_with_ns(&self, kind: &str, name: &str, ns: &str) -> Option<(String, &Res)> {
        let effective = |n: &str| if n.is_empty() { "default" } else { n }.to_owned();
        let want = effective(ns);
        let candidates: Vec<&'a Res> = self
            .resources
            .iter()
            .filter(|r| r.kind() == kind && r.had_name(name))
            .filter(|r| {
                self.cluster_referrer
                    || is_cluster_scoped(r.api_version(), r.kind())
                    || effective(r.namespace()) == want
            })
            .collect();
        let pick = |list: &[&'a Res]| -> Option<(String, &'a Res)> {
            let first = *list.first()?;
            list.iter()
                .all(|r| r.name() == first.name() && r.namespace() == first.namespace())
                .then(|| (first.name().to_owned(), first))
        };
        if let Some(n) = pick(&candidates) {
            return Some(n);
        }
        let same_affixes: Vec<&'a Res> = candidates
            .into_iter()
            .filter(|r| r.affixes == self.affixes)
            .collect();
        pick(&same_affixes)
    }
}

fn rewrite(v: &mut Value, index: &Index, kind: &str, ns: &str) {
    if let Value::String(s) = v
        && let Some(new) = index.resolve(kind, s, ns)
    {
        *s = new;
    }
}

/// A `{name, namespace}` map naming an object: both follow the referent (kustomize updates a
/// `namespace` beside the name it rewrites).
fn rewrite_named_map(v: &mut Value, index: &Index, kind: &str, ns: &str) {
    let Value::Object(map) = v else { return };
    let Some(name) = map.get("name").and_then(Value::as_str).map(str::to_owned) else {
        return;
    };
    let Some((new, referent)) = index.resolve_with_ns(kind, &name, ns) else {
        return;
    };
    map.insert("name".into(), Value::String(new));
    // Only a namespace that was the referent's follows it; one set on purpose stays.
    let follows = map
        .get("namespace")
        .and_then(Value::as_str)
        .is_some_and(|old| referent.had_namespace(old));
    if follows && !referent.namespace().is_empty() {
        map.insert(
            "namespace".into(),
            Value::String(referent.namespace().to_owned()),
        );
    }
}

fn segs(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// Rewrites every reference in every object to the final names.
pub fn fix(resources: &mut [Res], custom: &[NameReference]) {
    let snapshot: Vec<Res> = resources.to_vec();
    for r in resources.iter_mut() {
        let affixes = r.affixes.clone();
        let index = Index {
            resources: &snapshot,
            affixes: &affixes,
            cluster_referrer: is_cluster_scoped(r.api_version(), r.kind()),
        };
        let kind = r.kind().to_owned();
        let ns = r.namespace().to_owned();
        for (k, base) in POD_SPECS {
            if *k != kind {
                continue;
            }
            for (referred, path) in POD_REFS {
                let mut p = segs(base);
                p.extend(segs(path));
                visit(&mut r.obj, &p, false, &mut |v| {
                    rewrite(v, &index, referred, &ns)
                });
            }
        }
        for (k, path, referred) in OTHER_REFS {
            if *k == kind {
                visit(&mut r.obj, &segs(path), false, &mut |v| {
                    rewrite(v, &index, referred, &ns)
                });
            }
        }
        for n in custom {
            for spec in &n.field_specs {
                match spec.path.strip_suffix("/name") {
                    Some(parent) if spec.selects(r) => {
                        let p: Vec<&str> = segs(parent)
                            .into_iter()
                            .map(|s| s.trim_end_matches("[]"))
                            .collect();
                        visit(&mut r.obj, &p, false, &mut |v| {
                            rewrite_named_map(v, &index, &n.kind, &ns)
                        });
                    }
                    Some(_) => {}
                    None => visit_spec(r, spec, &mut |v| rewrite(v, &index, &n.kind, &ns)),
                }
            }
        }
        if matches!(
            kind.as_str(),
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration"
        ) {
            visit(
                &mut r.obj,
                &["webhooks", "clientConfig", "service"],
                false,
                &mut |v| rewrite_named_map(v, &index, "Service", &ns),
            );
        }
        if kind == "APIService" {
            visit(&mut r.obj, &["spec", "service"], false, &mut |v| {
                rewrite_named_map(v, &index, "Service", &ns)
            });
        }
        match kind.as_str() {
            "RoleBinding" | "ClusterRoleBinding" => {
                visit(&mut r.obj, &["roleRef"], false, &mut |role| {
                    let rk = role
                        .get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    if rk == "Role" || rk == "ClusterRole" {
                        visit(role, &["name"], false, &mut |v| {
                            rewrite(v, &index, &rk, &ns)
                        });
                    }
                });
                visit(&mut r.obj, &["subjects"], false, &mut |s| {
                    if s.get("kind").and_then(Value::as_str) == Some("ServiceAccount") {
                        let sns = s
                            .get("namespace")
                            .and_then(Value::as_str)
                            .unwrap_or(&ns)
                            .to_owned();
                        visit(s, &["name"], false, &mut |v| {
                            rewrite(v, &index, "ServiceAccount", &sns)
                        });
                    }
                });
            }
            "HorizontalPodAutoscaler" => {
                visit(&mut r.obj, &["spec", "scaleTargetRef"], false, &mut |t| {
                    let tk = t
                        .get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    visit(t, &["name"], false, &mut |v| rewrite(v, &index, &tk, &ns));
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(v: Value) -> Res {
        Res::new(v)
    }

    #[test]
    fn references_follow_renames_and_ignore_outsiders() {
        let mut cm =
            res(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}));
        cm.set_name("p-cfg-abc");
        let mut sa =
            res(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}}));
        sa.set_name("p-sa");
        let mut svc =
            res(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}));
        svc.set_name("web-x");
        let deploy = res(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"app": "cfg"}}, "template": {"spec": {
                "serviceAccountName": "sa",
                "volumes": [{"name": "v", "configMap": {"name": "cfg"}}, {"name": "o", "configMap": {"name": "other"}}],
                "containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "cfg"}}]}]}}}}),
        );
        let ing = res(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"},
            "spec": {"rules": [{"http": {"paths": [{"backend": {"service": {"name": "web"}}}]}}]}}),
        );
        let mut all = vec![cm, sa, svc, deploy, ing];
        fix(&mut all, &[]);
        let spec = &all[3].obj["spec"];
        assert_eq!(spec["template"]["spec"]["serviceAccountName"], "p-sa");
        assert_eq!(
            spec["template"]["spec"]["volumes"][0]["configMap"]["name"],
            "p-cfg-abc"
        );
        assert_eq!(
            spec["template"]["spec"]["volumes"][1]["configMap"]["name"],
            "other"
        );
        assert_eq!(
            spec["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"],
            "p-cfg-abc"
        );
        assert_eq!(spec["selector"]["matchLabels"]["app"], "cfg");
        assert_eq!(
            all[4].obj["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
            "web-x"
        );
    }
}
