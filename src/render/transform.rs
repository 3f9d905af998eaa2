//! kustomize's built-in transformers other than patches: namespace, name prefix/suffix,
//! labels (commonLabels and `labels:`), annotations, images and replicas — each with the field
//! lists ("field specs") kustomize uses, so selectors, pod templates and the odd corners
//! (StatefulSet volumeClaimTemplates, CronJob jobTemplate, NetworkPolicy rules) come out the
//! same.
//!
//! Works on `Res` values; imports nothing from the crate outside `render`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::config::{FieldSpec, visit_spec};
use super::kustomization::ImageEntry;
use super::resource::{Res, merge_pairs, metadata, visit};
use crate::model::parse_image;

/// Cluster-scoped kinds as kustomize v5.5 knows them: from the Kubernetes 1.21 API schema it
/// embeds, by group and version. A kind or version that schema does not have (FlowSchema `v1`,
/// ValidatingAdmissionPolicy, custom resources) is namespaced to kustomize, so it gets the
/// namespace too — the output must match what kustomize applies.
const CLUSTER_SCOPED: &[(&str, &[&str], &[&str])] = &[
    (
        "",
        &["v1"],
        &["Namespace", "Node", "PersistentVolume", "ComponentStatus"],
    ),
    (
        "admissionregistration.k8s.io",
        &["v1", "v1beta1"],
        &[
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ],
    ),
    (
        "apiextensions.k8s.io",
        &["v1", "v1beta1"],
        &["CustomResourceDefinition"],
    ),
    (
        "apiregistration.k8s.io",
        &["v1", "v1beta1"],
        &["APIService"],
    ),
    (
        "authentication.k8s.io",
        &["v1", "v1beta1"],
        &["TokenReview"],
    ),
    (
        "authorization.k8s.io",
        &["v1", "v1beta1"],
        &[
            "SelfSubjectAccessReview",
            "SelfSubjectRulesReview",
            "SubjectAccessReview",
        ],
    ),
    (
        "certificates.k8s.io",
        &["v1", "v1beta1"],
        &["CertificateSigningRequest"],
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        &["v1alpha1", "v1beta1"],
        &["FlowSchema", "PriorityLevelConfiguration"],
    ),
    ("networking.k8s.io", &["v1", "v1beta1"], &["IngressClass"]),
    (
        "node.k8s.io",
        &["v1", "v1beta1", "v1alpha1"],
        &["RuntimeClass"],
    ),
    ("policy", &["v1beta1"], &["PodSecurityPolicy"]),
    (
        "rbac.authorization.k8s.io",
        &["v1", "v1beta1", "v1alpha1"],
        &["ClusterRole", "ClusterRoleBinding"],
    ),
    (
        "scheduling.k8s.io",
        &["v1", "v1beta1", "v1alpha1"],
        &["PriorityClass"],
    ),
    (
        "storage.k8s.io",
        &["v1", "v1beta1", "v1alpha1"],
        &["StorageClass", "VolumeAttachment", "CSIDriver", "CSINode"],
    ),
];

pub fn is_cluster_scoped(api_version: &str, kind: &str) -> bool {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    CLUSTER_SCOPED
        .iter()
        .any(|(g, vs, ks)| *g == group && vs.contains(&version) && ks.contains(&kind))
}

pub fn namespace(resources: &mut [Res], ns: &str, custom: &[FieldSpec]) {
    let service_accounts: Vec<Res> = resources
        .iter()
        .filter(|r| r.kind() == "ServiceAccount")
        .cloned()
        .collect();
    for r in resources.iter_mut() {
        let kind = r.kind().to_owned();
        if kind == "Namespace" {
            r.set_name(ns);
            continue;
        }
        if matches!(kind.as_str(), "RoleBinding" | "ClusterRoleBinding") {
            update_subjects(r, ns, &service_accounts);
        }
        if !is_cluster_scoped(r.api_version(), &kind) {
            r.set_namespace(ns);
        }
        for spec in custom {
            visit_spec(r, spec, &mut |v| *v = Value::String(ns.to_owned()));
        }
    }
}

/// ServiceAccount subjects follow the namespace when they name a ServiceAccount of the build
/// or the `default` one.
fn update_subjects(r: &mut Res, ns: &str, accounts: &[Res]) {
    let Some(Value::Array(subjects)) = r.obj.get_mut("subjects") else {
        return;
    };
    for s in subjects {
        let Some(map) = s.as_object_mut() else {
            continue;
        };
        if map.get("kind").and_then(Value::as_str) != Some("ServiceAccount") {
            continue;
        }
        let name = map.get("name").and_then(Value::as_str).unwrap_or("");
        if name == "default" || accounts.iter().any(|a| a.had_name(name)) {
            map.insert("namespace".into(), Value::String(ns.to_owned()));
        }
    }
}

pub fn prefix_suffix(resources: &mut [Res], prefix: &str, suffix: &str) {
    for r in resources.iter_mut() {
        let skip = matches!(r.kind(), "Namespace" | "CustomResourceDefinition")
            || (r.kind() == "APIService" && r.group() == "apiregistration.k8s.io");
        if skip {
            continue;
        }
        let name = format!("{prefix}{}{suffix}", r.name());
        r.set_name(&name);
        r.affixes.push(format!("{prefix}/{suffix}"));
    }
}

type Spec = (&'static str, &'static str, bool);

/// (kind, path, create) for commonLabels with selectors: kustomize's commonLabels field specs.
const SELECTOR_SPECS: &[Spec] = &[
    ("Service", "spec/selector", true),
    ("ReplicationController", "spec/selector", true),
    ("Deployment", "spec/selector/matchLabels", true),
    ("ReplicaSet", "spec/selector/matchLabels", true),
    ("DaemonSet", "spec/selector/matchLabels", true),
    ("StatefulSet", "spec/selector/matchLabels", true),
    ("Job", "spec/selector/matchLabels", false),
    (
        "CronJob",
        "spec/jobTemplate/spec/selector/matchLabels",
        false,
    ),
    ("PodDisruptionBudget", "spec/selector/matchLabels", false),
    ("NetworkPolicy", "spec/podSelector/matchLabels", false),
    (
        "NetworkPolicy",
        "spec/ingress/from/podSelector/matchLabels",
        false,
    ),
    (
        "NetworkPolicy",
        "spec/egress/to/podSelector/matchLabels",
        false,
    ),
];

const AFFINITY_PATHS: &[&str] = &[
    "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
];

const TEMPLATE_SPECS: &[Spec] = &[
    (
        "ReplicationController",
        "spec/template/metadata/labels",
        true,
    ),
    ("Deployment", "spec/template/metadata/labels", true),
    ("ReplicaSet", "spec/template/metadata/labels", true),
    ("DaemonSet", "spec/template/metadata/labels", true),
    ("StatefulSet", "spec/template/metadata/labels", true),
    ("Job", "spec/template/metadata/labels", true),
    ("CronJob", "spec/jobTemplate/metadata/labels", true),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/metadata/labels",
        true,
    ),
];

fn apply_specs(r: &mut Res, specs: &[Spec], pairs: &BTreeMap<String, String>) {
    let kind = r.kind().to_owned();
    for (k, path, create) in specs {
        if *k == kind {
            let segs: Vec<&str> = path.split('/').collect();
            visit(&mut r.obj, &segs, *create, &mut |m| merge_pairs(m, pairs));
        }
    }
}

/// Adds labels to metadata and, as asked, to selectors and/or pod templates.
pub fn labels(
    resources: &mut [Res],
    pairs: &BTreeMap<String, String>,
    selectors: bool,
    templates: bool,
    custom: &[FieldSpec],
) {
    if pairs.is_empty() {
        return;
    }
    for r in resources.iter_mut() {
        if let Some(meta) = metadata(&mut r.obj) {
            let labels = meta
                .entry("labels")
                .or_insert_with(|| Value::Object(Default::default()));
            if labels.is_null() {
                *labels = Value::Object(Default::default());
            }
            merge_pairs(labels, pairs);
        }
        if selectors {
            apply_specs(r, SELECTOR_SPECS, pairs);
            if matches!(r.kind(), "Deployment" | "StatefulSet") {
                for path in AFFINITY_PATHS {
                    let segs: Vec<&str> = path.split('/').collect();
                    visit(&mut r.obj, &segs, false, &mut |m| merge_pairs(m, pairs));
                }
            }
            if r.kind() == "StatefulSet" {
                visit(
                    &mut r.obj,
                    &["spec", "volumeClaimTemplates", "metadata", "labels"],
                    true,
                    &mut |m| merge_pairs(m, pairs),
                );
            }
        }
        if selectors || templates {
            apply_specs(r, TEMPLATE_SPECS, pairs);
        }
        for spec in custom {
            visit_spec(r, spec, &mut |v| {
                if v.is_null() {
                    *v = Value::Object(Default::default());
                }
                merge_pairs(v, pairs);
            });
        }
    }
}

pub fn annotations(resources: &mut [Res], pairs: &BTreeMap<String, String>, custom: &[FieldSpec]) {
    if pairs.is_empty() {
        return;
    }
    for r in resources.iter_mut() {
        visit(&mut r.obj, &["metadata", "annotations"], true, &mut |m| {
            merge_pairs(m, pairs)
        });
        let mut specs: Vec<Spec> = TEMPLATE_SPECS
            .iter()
            .map(|(k, p, c)| (*k, p.trim_end_matches("labels"), *c))
            .collect();
        specs.retain(|(k, _, _)| *k == r.kind());
        for (_, path, _) in specs {
            let mut segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            segs.push("annotations");
            visit(&mut r.obj, &segs, true, &mut |m| merge_pairs(m, pairs));
        }
        for spec in custom {
            visit_spec(r, spec, &mut |v| {
                if v.is_null() {
                    *v = Value::Object(Default::default());
                }
                merge_pairs(v, pairs);
            });
        }
    }
}

/// The new image string, or `None` when the entry does not match.
pub fn update_image(image: &str, entry: &ImageEntry) -> Option<String> {
    let r = parse_image(image);
    if r.name != entry.name {
        return None;
    }
    let name = entry.new_name.clone().unwrap_or(r.name);
    let (tag, digest) = match (&entry.new_tag, &entry.digest) {
        (Some(t), Some(d)) => (Some(t.clone()), Some(d.clone())),
        (Some(t), None) => (Some(t.clone()), None),
        (None, Some(d)) => (None, Some(d.clone())),
        (None, None) => (r.tag, r.digest),
    };
    let mut out = name;
    if let Some(t) = tag {
        out.push(':');
        out.push_str(&t);
    }
    if let Some(d) = digest {
        out.push('@');
        out.push_str(&d);
    }
    Some(out)
}

/// Updates `image:` of every container and init container anywhere in the object, whatever its
/// kind (kustomize does the same for custom resources).
pub fn images(resources: &mut [Res], entries: &[ImageEntry], custom: &[FieldSpec]) {
    if entries.is_empty() {
        return;
    }
    for r in resources.iter_mut() {
        walk_containers(&mut r.obj, entries);
        for spec in custom {
            visit_spec(r, spec, &mut |v| {
                if let Value::String(img) = v
                    && let Some(new) = entries.iter().find_map(|e| update_image(img, e))
                {
                    *img = new;
                }
            });
        }
    }
}

fn walk_containers(v: &mut Value, entries: &[ImageEntry]) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if matches!(
                    k.as_str(),
                    "containers" | "initContainers" | "ephemeralContainers"
                ) && let Value::Array(items) = child
                {
                    for c in items.iter_mut() {
                        if let Some(Value::String(img)) = c.get_mut("image") {
                            for e in entries {
                                if let Some(new) = update_image(img, e) {
                                    *img = new;
                                    break;
                                }
                            }
                        }
                    }
                }
                walk_containers(child, entries);
            }
        }
        Value::Array(items) => {
            for i in items {
                walk_containers(i, entries);
            }
        }
        _ => {}
    }
}

pub fn replicas(resources: &mut [Res], name: &str, count: i64) {
    for r in resources.iter_mut() {
        let scalable = matches!(
            r.kind(),
            "Deployment" | "ReplicaSet" | "StatefulSet" | "ReplicationController"
        );
        if scalable && r.had_name(name) {
            visit(&mut r.obj, &["spec"], true, &mut |spec| {
                if let Value::Object(m) = spec {
                    m.insert("replicas".into(), Value::from(count));
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        name: &str,
        new_name: Option<&str>,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> ImageEntry {
        ImageEntry {
            name: name.into(),
            new_name: new_name.map(Into::into),
            new_tag: tag.map(Into::into),
            digest: digest.map(Into::into),
            tag_suffix: None,
        }
    }

    #[test]
    fn images_table() {
        let cases = [
            (
                "nginx:1.0",
                entry("nginx", None, Some("2.0"), None),
                Some("nginx:2.0"),
            ),
            (
                "nginx",
                entry("nginx", Some("reg/nginx"), None, None),
                Some("reg/nginx"),
            ),
            (
                "nginx:1",
                entry("nginx", Some("reg/nginx"), None, None),
                Some("reg/nginx:1"),
            ),
            (
                "nginx@sha256:a",
                entry("nginx", None, Some("2"), None),
                Some("nginx:2"),
            ),
            (
                "nginx:1",
                entry("nginx", None, Some("2"), Some("sha256:b")),
                Some("nginx:2@sha256:b"),
            ),
            (
                "nginx:1",
                entry("nginx", None, None, Some("sha256:b")),
                Some("nginx@sha256:b"),
            ),
            (
                "reg:5000/app:1",
                entry("reg:5000/app", None, Some("2"), None),
                Some("reg:5000/app:2"),
            ),
            (
                "docker.io/library/nginx:1",
                entry("nginx", None, Some("2"), None),
                None,
            ),
        ];
        for (image, e, want) in cases {
            assert_eq!(update_image(image, &e).as_deref(), want, "{image}");
        }
    }
}
