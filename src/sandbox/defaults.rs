//! API-server defaulting for built-in kinds: the fields a real API server (v1.33) fills in on
//! create and update, so that a live object read back from the sandbox carries the same
//! server-side noise as one read from a real cluster (and a diff must be right to be quiet).
//!
//! Pure functions over `serde_json::Value`; imports nothing of the crate. Defaulting is
//! idempotent and only ever fills absent fields — it never overwrites what the client sent.
//! Allocation (uid, clusterIP, resourceVersion, Job selector labels that need the uid) is the
//! server core's job, not this module's.

use serde_json::{Map, Value, json};

/// Fills in API-server defaults for `obj` according to its `apiVersion` and `kind`. Unknown
/// kinds (including custom resources) are left untouched. Malformed objects (a `spec` that is
/// not a map, …) are defaulted as far as their shape allows and never cause a panic.
pub fn apply_defaults(obj: &mut Value) {
    let Some(obj) = obj.as_object_mut() else {
        return;
    };
    let group = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .map(|av| av.rsplit_once('/').map_or("", |(g, _)| g).to_string())
        .unwrap_or_default();
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match (group.as_str(), kind.as_str()) {
        ("", "Pod") => pod(obj),
        ("", "PodTemplate") => {
            if let Some(t) = obj.get_mut("template") {
                pod_template(t);
            }
        }
        ("", "ReplicationController") | ("apps", "ReplicaSet") => {
            if let Some(spec) = child(obj, "spec") {
                set(spec, "replicas", json!(1));
                if let Some(t) = spec.get_mut("template") {
                    pod_template(t);
                }
            }
        }
        ("", "Service") => service(obj),
        ("", "Namespace") => namespace(obj),
        ("", "Secret") => set(obj, "type", json!("Opaque")),
        ("apps", "Deployment") => deployment(obj),
        ("apps", "StatefulSet") => stateful_set(obj),
        ("apps", "DaemonSet") => daemon_set(obj),
        ("batch", "Job") => {
            if let Some(spec) = child(obj, "spec") {
                job_spec(spec);
            }
        }
        ("batch", "CronJob") => cron_job(obj),
        ("autoscaling", "HorizontalPodAutoscaler") => hpa(obj),
        ("networking.k8s.io", "Ingress") => ingress(obj),
        _ => {}
    }
}

/// `m[key]` as a map, created if absent or null. A present non-map value is left alone (and
/// `None` returned), so malformed input is tolerated rather than rewritten.
fn child<'a>(m: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    let v = m
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if v.is_null() {
        *v = Value::Object(Map::new());
    }
    v.as_object_mut()
}

/// Sets `m[key] = value` when the key is absent or null.
fn set(m: &mut Map<String, Value>, key: &str, value: Value) {
    match m.get(key) {
        None | Some(Value::Null) => {
            m.insert(key.to_string(), value);
        }
        Some(_) => {}
    }
}

fn each_map<'a>(
    m: &'a mut Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    m.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flat_map(|a| a.iter_mut())
        .filter_map(Value::as_object_mut)
}

fn deployment(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    set(spec, "replicas", json!(1));
    set(spec, "revisionHistoryLimit", json!(10));
    set(spec, "progressDeadlineSeconds", json!(600));
    if let Some(strategy) = child(spec, "strategy") {
        set(strategy, "type", json!("RollingUpdate"));
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(ru) = child(strategy, "rollingUpdate")
        {
            set(ru, "maxUnavailable", json!("25%"));
            set(ru, "maxSurge", json!("25%"));
        }
    }
    if let Some(t) = spec.get_mut("template") {
        pod_template(t);
    }
}

fn stateful_set(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    set(spec, "replicas", json!(1));
    set(spec, "podManagementPolicy", json!("OrderedReady"));
    set(spec, "revisionHistoryLimit", json!(10));
    if let Some(us) = child(spec, "updateStrategy") {
        set(us, "type", json!("RollingUpdate"));
        if us.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(ru) = child(us, "rollingUpdate")
        {
            set(ru, "partition", json!(0));
        }
    }
    if let Some(p) = child(spec, "persistentVolumeClaimRetentionPolicy") {
        set(p, "whenDeleted", json!("Retain"));
        set(p, "whenScaled", json!("Retain"));
    }
    for vct in each_map(spec, "volumeClaimTemplates") {
        set(vct, "apiVersion", json!("v1"));
        set(vct, "kind", json!("PersistentVolumeClaim"));
        if let Some(s) = child(vct, "spec") {
            set(s, "volumeMode", json!("Filesystem"));
        }
        if let Some(st) = child(vct, "status") {
            set(st, "phase", json!("Pending"));
        }
    }
    if let Some(t) = spec.get_mut("template") {
        pod_template(t);
    }
}

fn daemon_set(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    set(spec, "revisionHistoryLimit", json!(10));
    if let Some(us) = child(spec, "updateStrategy") {
        set(us, "type", json!("RollingUpdate"));
        if us.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(ru) = child(us, "rollingUpdate")
        {
            set(ru, "maxUnavailable", json!(1));
            set(ru, "maxSurge", json!(0));
        }
    }
    if let Some(t) = spec.get_mut("template") {
        pod_template(t);
    }
}

/// Job defaults (SetDefaults_Job): only for Job objects, not for a CronJob's jobTemplate.
fn job_spec(spec: &mut Map<String, Value>) {
    let has_completions = spec.get("completions").is_some_and(|v| !v.is_null());
    let has_parallelism = spec.get("parallelism").is_some_and(|v| !v.is_null());
    if !has_completions && !has_parallelism {
        set(spec, "completions", json!(1));
    }
    set(spec, "parallelism", json!(1));
    set(spec, "backoffLimit", json!(6));
    set(spec, "completionMode", json!("NonIndexed"));
    set(spec, "suspend", json!(false));
    if spec.get("podFailurePolicy").is_none_or(Value::is_null) {
        set(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    } else {
        set(spec, "podReplacementPolicy", json!("Failed"));
    }
    if let Some(t) = spec.get_mut("template") {
        pod_template(t);
    }
}

fn cron_job(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    set(spec, "concurrencyPolicy", json!("Allow"));
    set(spec, "suspend", json!(false));
    set(spec, "successfulJobsHistoryLimit", json!(3));
    set(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(jt) = child(spec, "jobTemplate")
        && let Some(js) = child(jt, "spec")
        && let Some(t) = js.get_mut("template")
    {
        pod_template(t);
    }
}

fn hpa(obj: &mut Map<String, Value>) {
    let is_v2 = obj.get("apiVersion").and_then(Value::as_str) == Some("autoscaling/v2");
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    set(spec, "minReplicas", json!(1));
    if !is_v2 {
        return;
    }
    if spec
        .get("metrics")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80}}}]),
        );
    }
    if let Some(b) = child(spec, "behavior") {
        if let Some(up) = child(b, "scaleUp") {
            set(up, "stabilizationWindowSeconds", json!(0));
            set(up, "selectPolicy", json!("Max"));
            set(
                up,
                "policies",
                json!([{"type": "Pods", "value": 4, "periodSeconds": 15},
                       {"type": "Percent", "value": 100, "periodSeconds": 15}]),
            );
        }
        if let Some(down) = child(b, "scaleDown") {
            set(down, "stabilizationWindowSeconds", json!(300));
            set(down, "selectPolicy", json!("Max"));
            set(
                down,
                "policies",
                json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]),
            );
        }
    }
}

fn ingress(obj: &mut Map<String, Value>) {
    // networking.k8s.io/v1 has no spec defaults; the server always returns an empty status.
    if let Some(st) = child(obj, "status") {
        set(st, "loadBalancer", json!({}));
    }
}

fn namespace(obj: &mut Map<String, Value>) {
    let m = obj;
    let name = m
        .get("metadata")
        .and_then(|md| md.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(name) = name
        && let Some(md) = child(m, "metadata")
        && let Some(labels) = child(md, "labels")
    {
        // The API server forces this label to the name, whatever the client sent.
        labels.insert("kubernetes.io/metadata.name".into(), json!(name));
    }
    if let Some(s) = child(m, "spec") {
        set(s, "finalizers", json!(["kubernetes"]));
    }
    if let Some(st) = child(m, "status") {
        set(st, "phase", json!("Active"));
    }
}

fn service(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    set(spec, "type", json!("ClusterIP"));
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    if ty == "ExternalName" {
        return;
    }
    set(spec, "sessionAffinity", json!("None"));
    set(spec, "internalTrafficPolicy", json!("Cluster"));
    set(spec, "ipFamilies", json!(["IPv4"]));
    set(spec, "ipFamilyPolicy", json!("SingleStack"));
    if ty == "NodePort" || ty == "LoadBalancer" {
        set(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        set(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if spec.get("sessionAffinity").and_then(Value::as_str) == Some("ClientIP")
        && let Some(c) = child(spec, "sessionAffinityConfig")
        && let Some(ip) = child(c, "clientIP")
    {
        set(ip, "timeoutSeconds", json!(10800));
    }
    for port in each_map(spec, "ports") {
        set(port, "protocol", json!("TCP"));
        if let Some(p) = port.get("port").cloned() {
            set(port, "targetPort", p);
        }
    }
    if let Some(st) = child(obj, "status") {
        set(st, "loadBalancer", json!({}));
    }
}

fn pod(obj: &mut Map<String, Value>) {
    let m = obj;
    if let Some(s) = child(m, "spec") {
        pod_spec(s);
        // Set for Pods only (SetDefaults_Pod and admission), not for templates.
        set(s, "enableServiceLinks", json!(true));
        set(s, "serviceAccountName", json!("default"));
        if let Some(sa) = s.get("serviceAccountName").cloned() {
            set(s, "serviceAccount", sa);
        }
        set(s, "priority", json!(0));
        set(s, "preemptionPolicy", json!("PreemptLowerPriority"));
        set(
            s,
            "tolerations",
            json!([
                {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready",
                 "operator": "Exists", "tolerationSeconds": 300},
                {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable",
                 "operator": "Exists", "tolerationSeconds": 300}
            ]),
        );
    }
}

fn pod_template(t: &mut Value) {
    if let Some(m) = t.as_object_mut()
        && let Some(s) = child(m, "spec")
    {
        pod_spec(s);
    }
}

fn pod_spec(s: &mut Map<String, Value>) {
    set(s, "restartPolicy", json!("Always"));
    set(s, "dnsPolicy", json!("ClusterFirst"));
    set(s, "schedulerName", json!("default-scheduler"));
    set(s, "terminationGracePeriodSeconds", json!(30));
    set(s, "securityContext", json!({}));
    for c in each_map(s, "containers") {
        container(c);
    }
    for c in each_map(s, "initContainers") {
        container(c);
    }
    for v in each_map(s, "volumes") {
        for src in ["configMap", "secret"] {
            if let Some(Value::Object(cm)) = v.get_mut(src) {
                set(cm, "defaultMode", json!(420));
            }
        }
        if let Some(Value::Object(p)) = v.get_mut("projected") {
            set(p, "defaultMode", json!(420));
        }
        if let Some(Value::Object(d)) = v.get_mut("downwardAPI") {
            set(d, "defaultMode", json!(420));
        }
        if let Some(Value::Object(h)) = v.get_mut("hostPath") {
            set(h, "type", json!(""));
        }
    }
}

fn container(c: &mut Map<String, Value>) {
    set(c, "terminationMessagePath", json!("/dev/termination-log"));
    set(c, "terminationMessagePolicy", json!("File"));
    let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
    let policy = if image_tag_is_latest(image) {
        "Always"
    } else {
        "IfNotPresent"
    };
    set(c, "imagePullPolicy", json!(policy));
    set(c, "resources", json!({}));
    for p in each_map(c, "ports") {
        set(p, "protocol", json!("TCP"));
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(Value::Object(p)) = c.get_mut(probe) {
            set(p, "timeoutSeconds", json!(1));
            set(p, "periodSeconds", json!(10));
            set(p, "successThreshold", json!(1));
            set(p, "failureThreshold", json!(3));
            if let Some(Value::Object(h)) = p.get_mut("httpGet") {
                set(h, "scheme", json!("HTTP"));
            }
        }
    }
    for e in each_map(c, "env") {
        if let Some(Value::Object(vf)) = e.get_mut("valueFrom")
            && let Some(Value::Object(fr)) = vf.get_mut("fieldRef")
        {
            set(fr, "apiVersion", json!("v1"));
        }
    }
}

/// True when the image has no tag or the tag `latest` (a digest pins the image, so it is not
/// "latest" even without a tag) — the rule behind the `imagePullPolicy` default.
pub fn image_tag_is_latest(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    // The tag follows the last ':' after the last '/' (a registry host may carry a port).
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        None => true,
        Some((_, tag)) => tag == "latest",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn yaml(path: &Path) -> Value {
        let text = std::fs::read_to_string(path).unwrap();
        serde_saphyr::from_str(&text).unwrap()
    }

    #[test]
    fn fixtures_match_what_a_real_api_server_returns() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sandbox/defaults");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let Some(stem) = name.strip_suffix(".input.yaml") else {
                continue;
            };
            let mut obj = yaml(&path);
            let expected = yaml(&dir.join(format!("{stem}.expected.yaml")));
            apply_defaults(&mut obj);
            assert_eq!(obj, expected, "fixture {stem}");
            apply_defaults(&mut obj);
            assert_eq!(
                obj, expected,
                "fixture {stem}: defaulting twice must change nothing"
            );
            seen += 1;
        }
        assert!(seen >= 8, "expected at least 8 fixture pairs, found {seen}");
    }

    #[test]
    fn image_pull_policy_follows_the_tag() {
        for (image, latest) in [
            ("nginx", true),
            ("nginx:latest", true),
            ("nginx:1.27", false),
            ("registry:5000/app", true),
            ("registry:5000/app:v2", false),
            ("app@sha256:abcd", false),
        ] {
            assert_eq!(image_tag_is_latest(image), latest, "{image}");
        }
    }

    #[test]
    fn client_values_are_never_overwritten() {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"replicas": 5, "strategy": {"type": "Recreate"},
                     "template": {"spec": {"restartPolicy": "Never",
                        "containers": [{"name": "a", "image": "x", "imagePullPolicy": "Never"}]}}}});
        apply_defaults(&mut d);
        assert_eq!(d["spec"]["replicas"], 5);
        assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "Never");
        assert_eq!(d["spec"]["template"]["spec"]["restartPolicy"], "Never");
    }

    #[test]
    fn malformed_input_does_not_panic() {
        for mut v in [
            json!(null),
            json!(3),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": 7}),
            json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": "x"}}),
            json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [1, {"port": "a"}]}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"labels": 4}}),
        ] {
            apply_defaults(&mut v);
        }
    }
}
