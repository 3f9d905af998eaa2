//! The real API server tier itself: it starts, defaults objects like any real server, and its
//! view-only user is refused writes. A failure here means every real-tier test is meaningless.

use crate::realk8s_support::{realk8s, unique};

#[test]
fn real_server_defaults_objects_and_refuses_the_viewer_writes() {
    let k = realk8s();
    let ns = unique("tier");
    k.kubectl_ok("dev", &["create", "namespace", &ns]);
    k.kubectl_ok(
        "dev",
        &["-n", &ns, "create", "configmap", "c", "--from-literal=a=b"],
    );
    k.kubectl_ok(
        "dev",
        &[
            "-n",
            &ns,
            "create",
            "service",
            "clusterip",
            "s",
            "--tcp=80:8080",
        ],
    );
    // Real defaulting: nobody asked for sessionAffinity, the server sets it.
    let affinity = k.kubectl_ok(
        "dev",
        &[
            "-n",
            &ns,
            "get",
            "service",
            "s",
            "-o",
            "jsonpath={.spec.sessionAffinity}",
        ],
    );
    assert_eq!(affinity, "None");
    // Real RBAC: the viewer reads but cannot write.
    let read = k.kubectl("dev-viewer", &["-n", &ns, "get", "configmap", "c"]);
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let write = k.kubectl("dev-viewer", &["-n", &ns, "delete", "configmap", "c"]);
    assert!(!write.status.success());
    assert!(
        String::from_utf8_lossy(&write.stderr).contains("forbidden"),
        "{}",
        String::from_utf8_lossy(&write.stderr)
    );
}

/// kube-rs reaches the tier through its kubeconfig too: the server-side apply driftdeck uses
/// records real managedFields under the field manager it names.
#[tokio::test]
async fn kube_clients_reach_the_tier_and_see_real_managed_fields() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api, Patch, PatchParams};

    let k = realk8s();
    let ns = unique("tier-kube");
    k.kubectl_ok("dev", &["create", "namespace", &ns]);
    let cms: Api<ConfigMap> = Api::namespaced(k.client("dev").await, &ns);
    let cm = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c"}, "data": {"a": "b"}
    });
    let applied = cms
        .patch(
            "c",
            &PatchParams::apply("tier-test").force(),
            &Patch::Apply(&cm),
        )
        .await
        .unwrap();
    let managers: Vec<_> = applied
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            (
                m.manager.unwrap_or_default(),
                m.operation.unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        managers.contains(&("tier-test".to_owned(), "Apply".to_owned())),
        "{managers:?}"
    );
}
