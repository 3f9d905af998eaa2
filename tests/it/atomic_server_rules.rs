//! The server rules all-or-nothing sync relies on, held by the real API server tier
//! (Kubernetes v1.20) and the sandbox alike, checked with the same kubectl commands: a
//! Deployment whose `replicas` is not an integer is refused (a dry-run included); a request
//! over the size limit is refused; a Secret's `stringData` is stored merged into `data`; a
//! no-op server-side apply does not move the resourceVersion.

use crate::atomic_support::{Server, text};
use crate::realk8s_support::unique;

fn write_temp(dir: &tempfile::TempDir, name: &str, yaml: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, yaml).unwrap();
    path.to_string_lossy().into_owned()
}

async fn server_rules_hold(server: &Server) {
    let ns = unique("rules");
    let tmp = tempfile::tempdir().unwrap();
    let out = server.kubectl(&["create", "namespace", &ns]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));

    let bad = write_temp(
        &tmp,
        "bad.yaml",
        &format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: bad, namespace: {ns}}}\n\
             spec:\n  replicas: \"abc\"\n  selector: {{matchLabels: {{app: bad}}}}\n  template:\n    \
             metadata: {{labels: {{app: bad}}}}\n    spec:\n      containers:\n      \
             - {{name: c, image: \"busybox:1\"}}\n"
        ),
    );
    for extra in [&["--dry-run=server"][..], &[][..]] {
        let mut args = vec!["apply", "--server-side", "-f", &bad];
        args.extend_from_slice(extra);
        let out = server.kubectl(&args).await;
        assert!(
            !out.status.success(),
            "replicas \"abc\" was accepted ({args:?})"
        );
        assert!(
            text(&out.stderr).contains("replicas"),
            "{}",
            text(&out.stderr)
        );
    }

    let big = write_temp(
        &tmp,
        "big.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big, namespace: {ns}}}\n\
             data: {{k: {}}}\n",
            "x".repeat(2 * 1024 * 1024)
        ),
    );
    let out = server
        .kubectl(&["apply", "--server-side", "-f", &big])
        .await;
    assert!(!out.status.success(), "a 2 MiB ConfigMap was stored");
    assert!(server.get(&ns, "configmap/big").await.is_none());

    let secret = write_temp(
        &tmp,
        "secret.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: {ns}}}\n\
             data: {{a: eA==}}\nstringData: {{b: yz}}\n"
        ),
    );
    server.kubectl(&["create", "-f", &secret]).await;
    let s = server.get(&ns, "secret/s").await.expect("Secret s stored");
    assert_eq!(
        s["data"],
        serde_json::json!({"a": "eA==", "b": "eXo="}),
        "{s}"
    );
    assert!(s.get("stringData").is_none(), "{s}");

    let cm = write_temp(
        &tmp,
        "cm.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: {ns}}}\ndata: {{k: v}}\n"
        ),
    );
    let apply = [
        "apply",
        "--server-side",
        "--field-manager=atomic-test",
        "-f",
        &cm,
    ];
    let out = server.kubectl(&apply).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = server
        .kubectl(&[
            "-n",
            &ns,
            "get",
            "configmap/c",
            "-o",
            "json",
            "--show-managed-fields",
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The second apply comes in a later second than the first one's managedFields time, so a
    // server that re-stamped the time would show a new resourceVersion.
    let stamped: jiff::Timestamp = first["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["manager"] == "atomic-test"))
        .and_then(|e| e["time"].as_str())
        .expect("the apply's managedFields entry has a time")
        .parse()
        .unwrap();
    while jiff::Timestamp::now().as_second() <= stamped.as_second() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let out = server.kubectl(&apply).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let second = server.get(&ns, "configmap/c").await.expect("ConfigMap c");
    assert_eq!(
        first["metadata"]["resourceVersion"], second["metadata"]["resourceVersion"],
        "a no-op apply moved the resourceVersion"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn server_rules_hold_on_real_server() {
    server_rules_hold(&Server::real().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn server_rules_hold_on_sandbox() {
    server_rules_hold(&Server::sandbox().await).await;
}
