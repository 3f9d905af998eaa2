//! Image references and which versions a render runs: `registry:5000/org/app:1.2@sha256:…`
//! split into name, tag and digest, and the images of every Pod template in a set of manifests.
//!
//! Imports only `crate::model`. Pure; never fails on odd input (a reference it cannot read is
//! skipped, since promotion copies only versions it understands).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::Manifest;

/// A container image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Everything before the tag and digest: `ghcr.io/org/app`.
    pub name: String,
    pub version: Version,
}

/// What pins an image: a tag, a digest, or both (`app:1.2@sha256:…`, which kustomize writes when
/// an `images:` entry has `newTag` and `digest`). No tag and no digest means `latest`, as the
/// container runtime reads it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Version {
    #[cfg(test)]
    pub fn tag(tag: &str) -> Self {
        Self {
            tag: Some(tag.to_owned()),
            digest: None,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.tag, &self.digest) {
            (Some(t), Some(d)) => write!(f, "{t}@{d}"),
            (Some(t), None) => f.write_str(t),
            (None, Some(d)) => f.write_str(d),
            (None, None) => f.write_str("latest"),
        }
    }
}

impl ImageRef {
    /// `None` for an empty reference or one with whitespace (not an image a runtime would pull).
    pub fn parse(reference: &str) -> Option<Self> {
        if reference.is_empty() || reference.contains(char::is_whitespace) {
            return None;
        }
        let crate::model::ImageRef { name, tag, digest } = crate::model::parse_image(reference);
        if name.is_empty() || tag.as_deref() == Some("") || digest.as_deref() == Some("") {
            return None;
        }
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_owned()),
            (t, _) => t,
        };
        Some(Self {
            name,
            version: Version { tag, digest },
        })
    }

    /// The reference with another version: `name:tag`, `name@digest` or `name:tag@digest`.
    pub fn with(&self, version: &Version) -> String {
        let mut s = self.name.clone();
        if let Some(t) = &version.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &version.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }
}

/// The short name a commit message shows: the last path segment (`log-api`).
pub fn short_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Every image name the manifests' Pod templates run (containers and initContainers of
/// Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and Pods), with each
/// version seen, in manifest order.
pub fn images_of(manifests: &[Manifest]) -> BTreeMap<String, Vec<Version>> {
    let mut out: BTreeMap<String, Vec<Version>> = BTreeMap::new();
    for m in manifests {
        let Some(pod) = pod_spec(m) else { continue };
        for list in ["initContainers", "containers"] {
            let Some(containers) = pod.get(list).and_then(Value::as_array) else {
                continue;
            };
            for c in containers {
                let Some(image) = c
                    .get("image")
                    .and_then(Value::as_str)
                    .and_then(ImageRef::parse)
                else {
                    continue;
                };
                let seen = out.entry(image.name).or_default();
                if !seen.contains(&image.version) {
                    seen.push(image.version);
                }
            }
        }
    }
    out
}

fn pod_spec(m: &Manifest) -> Option<&Value> {
    let obj = m.object();
    fn template(v: &Value) -> Option<&Value> {
        v.get("spec")?.get("template")?.get("spec")
    }
    match m.kind() {
        "Pod" => obj.get("spec"),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => template(obj),
        "CronJob" => template(obj.get("spec")?.get("jobTemplate")?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_split_into_name_tag_and_digest() {
        let r = ImageRef::parse("ghcr.io/org/app:1.2.3").unwrap();
        assert_eq!(r.name, "ghcr.io/org/app");
        assert_eq!(r.version, Version::tag("1.2.3"));
        let r = ImageRef::parse("registry:5000/app").unwrap();
        assert_eq!(r.name, "registry:5000/app");
        assert_eq!(r.version, Version::tag("latest"));
        let r = ImageRef::parse("app:1.2@sha256:abc").unwrap();
        assert_eq!(r.name, "app");
        assert_eq!(r.version.to_string(), "1.2@sha256:abc");
        let r = ImageRef::parse("registry:5000/app@sha256:abc").unwrap();
        assert_eq!(r.name, "registry:5000/app");
        assert_eq!(r.version.tag, None);
        assert_eq!(r.with(&Version::tag("2")), "registry:5000/app:2");
        assert!(ImageRef::parse("").is_none());
        assert!(ImageRef::parse("app:").is_none());
        assert!(ImageRef::parse("a b").is_none());
        assert_eq!(short_name("ghcr.io/driftdeck-demo/log-api"), "log-api");
    }

    #[test]
    fn images_come_from_every_pod_template_kind() {
        let containers = |img: &str| json!({"containers": [{"name": "c", "image": img}]});
        let manifests = vec![
            Manifest::new(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "a"},
                "spec": {"template": {"spec": {
                    "initContainers": [{"name": "i", "image": "init:1"}],
                    "containers": [{"name": "c", "image": "app:1"}]}}}}))
            .unwrap(),
            Manifest::new(json!({"apiVersion": "batch/v1", "kind": "CronJob",
                "metadata": {"name": "b"},
                "spec": {"jobTemplate": {"spec": {"template": {"spec": containers("job:3")}}}}}))
            .unwrap(),
            Manifest::new(
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                "spec": containers("app:2")}),
            )
            .unwrap(),
            Manifest::new(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "c"}, "data": {"image": "nope:1"}}))
            .unwrap(),
        ];
        let images = images_of(&manifests);
        assert_eq!(
            images.keys().collect::<Vec<_>>(),
            vec!["app", "init", "job"]
        );
        assert_eq!(images["app"], vec![Version::tag("1"), Version::tag("2")]);
    }
}
