//! List-key defaults set before anything is sent to a server: `protocol: TCP` on Service ports
//! and on the ports of every container, init container and ephemeral container of a pod spec
//! (Pods, workload templates, CronJob job templates).
//!
//! Why: server-side apply before Kubernetes 1.21 treats `protocol` as part of the list's merge
//! key and refuses an apply whose port omits it ("associative list with keys has an element
//! that omits key field \"protocol\""), although the server itself would default it to TCP.
//! Setting the default client-side — as Flux's `SetNativeKindsDefaults` does — makes the same
//! repository sync on 1.20 and on newer servers, and changes nothing a newer server stores
//! (it defaults the same value). Both the apply and the observation's dry-run send the
//! defaulted object, so they cannot disagree.
//!
//! Pure: imports nothing of the crate. Never overwrites a value Git sets.

use serde_json::Value;

const DEFAULT_PROTOCOL: &str = "TCP";

/// `obj` with the list-key defaults set (a copy; see [`set_list_key_defaults`]).
pub fn defaulted(obj: &Value) -> Value {
    let mut out = obj.clone();
    set_list_key_defaults(&mut out);
    out
}

/// Sets `protocol: TCP` where a port of a built-in kind omits it (module doc).
pub fn set_list_key_defaults(obj: &mut Value) {
    let group = obj["apiVersion"]
        .as_str()
        .and_then(|av| av.split_once('/').map(|(g, _)| g))
        .unwrap_or_default()
        .to_owned();
    let kind = obj["kind"].as_str().unwrap_or_default().to_owned();
    match (group.as_str(), kind.as_str()) {
        ("", "Service") => default_ports(obj.pointer_mut("/spec/ports")),
        ("", "Pod") => default_pod_spec(obj.pointer_mut("/spec")),
        ("", "ReplicationController" | "PodTemplate")
        | ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("batch", "Job") => {
            let path = if kind == "PodTemplate" {
                "/template/spec"
            } else {
                "/spec/template/spec"
            };
            default_pod_spec(obj.pointer_mut(path));
        }
        ("batch", "CronJob") => {
            default_pod_spec(obj.pointer_mut("/spec/jobTemplate/spec/template/spec"));
        }
        _ => {}
    }
}

fn default_pod_spec(spec: Option<&mut Value>) {
    let Some(spec) = spec else { return };
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        if let Some(Value::Array(containers)) = spec.get_mut(list) {
            for c in containers {
                default_ports(c.get_mut("ports"));
            }
        }
    }
}

fn default_ports(ports: Option<&mut Value>) {
    let Some(Value::Array(ports)) = ports else {
        return;
    };
    for port in ports {
        if let Some(p) = port.as_object_mut()
            && p.get("protocol").is_none_or(Value::is_null)
        {
            p.insert("protocol".into(), Value::String(DEFAULT_PROTOCOL.into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_and_container_ports_get_tcp_and_keep_a_set_protocol() {
        let svc = defaulted(&json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}
        }));
        assert_eq!(svc["spec"]["ports"][0]["protocol"], "TCP");
        assert_eq!(svc["spec"]["ports"][1]["protocol"], "UDP");

        let deploy = defaulted(&json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {
                "initContainers": [{"name": "i", "ports": [{"containerPort": 9}]}],
                "containers": [{"name": "c", "ports": [{"containerPort": 8080}]}, {"name": "n"}]
            }}}
        }));
        let spec = &deploy["spec"]["template"]["spec"];
        assert_eq!(spec["containers"][0]["ports"][0]["protocol"], "TCP");
        assert_eq!(spec["initContainers"][0]["ports"][0]["protocol"], "TCP");
        assert!(spec["containers"][1].get("ports").is_none());

        let cron = defaulted(&json!({
            "apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {
                "containers": [{"name": "c", "ports": [{"containerPort": 1}]}]
            }}}}}
        }));
        assert_eq!(
            cron.pointer("/spec/jobTemplate/spec/template/spec/containers/0/ports/0/protocol"),
            Some(&json!("TCP"))
        );
    }

    #[test]
    fn custom_resources_and_other_kinds_are_left_alone() {
        let cr = json!({
            "apiVersion": "example.com/v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80}]}
        });
        assert_eq!(defaulted(&cr), cr);
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                        "data": {"ports": "80"}});
        assert_eq!(defaulted(&cm), cm);
    }
}
