//! All-or-nothing sync, on the real API server tier (Kubernetes v1.20) and on the sandbox with
//! the same test code: a commit with one object the server rejects leaves nothing of that
//! commit live and the synced revision where it was; an oversize ConfigMap is refused before
//! anything is sent; a Service without `protocol` syncs on a 1.20 server; a CRD and its custom
//! resource in one env are Missing first, then applied in order; the new Namespace and CRD a
//! rejected commit needed for its validation are removed again.

use crate::atomic_support::{GitopsEnv, Server};

const CONFIG_A_V1: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: __NS__}\ndata: {v: \"1\"}\n";
const CONFIG_A_V2: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: __NS__}\ndata: {v: \"2\"}\n";
const CONFIG_B: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: __NS__}\ndata: {v: \"new\"}\n";

/// A Service whose port omits `protocol` (refused by server-side apply before 1.21 unless
/// the client defaults it).
fn service(port: u16) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: s, namespace: __NS__}}\nspec:\n  selector: {{app: s}}\n  \
         ports:\n  - {{name: http, port: {port}, targetPort: 8080}}\n"
    )
}

/// A Deployment every server refuses: `replicas` is not an integer.
const BAD_DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad, namespace: __NS__}\n\
spec:\n  replicas: \"abc\"\n  selector: {matchLabels: {app: bad}}\n  template:\n    \
metadata: {labels: {app: bad}}\n    spec:\n      containers:\n      - {name: c, image: \"busybox:1\"}\n";

fn revision_of(obj: &serde_json::Value) -> &str {
    obj["metadata"]["annotations"]["driftdeck.io/revision"]
        .as_str()
        .unwrap_or_default()
}

async fn rejected_object_leaves_nothing_of_its_commit_live(server: &Server) {
    let env = GitopsEnv::new(server, "atomic", false).await;
    let ns = env.namespace.clone();
    env.write("a.yaml", CONFIG_A_V1);
    env.write("s.yaml", &service(80));
    let good = env.commit("good").await;
    let (code, out) = env.driftdeck(&["sync", "dev"]).await;
    assert_eq!(code, 0, "the first sync must succeed: {out}");
    let svc = server
        .get(&ns, "service/s")
        .await
        .expect("Service s is live");
    assert_eq!(svc["spec"]["ports"][0]["protocol"], "TCP", "{svc}");
    // The observation dry-runs the same defaulted objects: no drift right after the sync.
    let (code, out) = env.driftdeck(&["diff", "dev"]).await;
    assert_eq!(code, 0, "drift right after the sync: {out}");

    env.write("a.yaml", CONFIG_A_V2);
    env.write("b.yaml", CONFIG_B);
    env.write("s.yaml", &service(81));
    env.write("bad.yaml", BAD_DEPLOYMENT);
    let bad = env.commit("one rejected object").await;
    let (code, out) = env.driftdeck(&["sync", "dev"]).await;
    assert_eq!(code, 1, "a rejected object must fail the sync: {out}");
    assert!(
        out.contains("Deployment") && out.contains("bad") && out.contains("rejected"),
        "the failure names the object and the server's reason: {out}"
    );
    assert!(
        out.contains("replicas"),
        "the server's reason is kept: {out}"
    );

    // Object by object: nothing of the bad commit is live.
    let a = server.get(&ns, "configmap/a").await.expect("ConfigMap a");
    assert_eq!(a["data"]["v"], "1", "ConfigMap a was changed: {a}");
    assert_eq!(revision_of(&a), good);
    assert!(
        server.get(&ns, "configmap/b").await.is_none(),
        "ConfigMap b went live"
    );
    let svc = server.get(&ns, "service/s").await.expect("Service s");
    assert_eq!(
        svc["spec"]["ports"][0]["port"], 80,
        "Service s was changed: {svc}"
    );
    assert_eq!(revision_of(&svc), good);
    assert!(server.get(&ns, "deployment/bad").await.is_none());

    env.assert_status_keeps_synced(&good, &bad).await;

    // History: the failed operation changed nothing, and says so.
    let (_, history) = env.driftdeck(&["history", "dev", "-o", "json"]).await;
    assert!(history.contains("Failed"), "{history}");
}

async fn oversize_configmap_is_refused_before_anything_is_sent(server: &Server) {
    let env = GitopsEnv::new(server, "atomic-size", false).await;
    let ns = env.namespace.clone();
    env.write("b.yaml", CONFIG_B);
    let big = "x".repeat(2 * 1024 * 1024);
    env.write(
        "big.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big, namespace: __NS__}}\ndata: {{k: {big}}}\n"),
    );
    env.commit("a 2 MiB ConfigMap").await;
    let (code, out) = env.driftdeck(&["sync", "dev"]).await;
    assert_eq!(code, 1, "{}", &out[..out.len().min(2000)]);
    assert!(
        out.contains("/big is too large") && out.contains("1 MiB"),
        "driftdeck's own message, not a server answer: {}",
        &out[..out.len().min(2000)]
    );
    // Nothing of the render was sent.
    assert!(server.get(&ns, "configmap/big").await.is_none());
    assert!(
        server.get(&ns, "configmap/b").await.is_none(),
        "ConfigMap b went live"
    );
}

fn crd(group: &str) -> String {
    format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n\
         metadata: {{name: widgets.{group}}}\nspec:\n  group: {group}\n  scope: Namespaced\n  \
         names: {{kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}}\n  \
         versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      \
         openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            \
         type: object\n            properties:\n              size: {{type: integer}}\n"
    )
}

async fn crd_and_its_resource_in_one_env(server: &Server) {
    let env = GitopsEnv::new(server, "atomic-crd", false).await;
    let ns = env.namespace.clone();
    let group = format!("{ns}.example.com");
    env.write("crd.yaml", &crd(&group));
    env.write(
        "widget.yaml",
        &format!("apiVersion: {group}/v1\nkind: Widget\nmetadata: {{name: w1, namespace: __NS__}}\nspec: {{size: 3}}\n"),
    );
    env.commit("a CRD and a custom resource").await;

    let (code, out) = env.driftdeck(&["diff", "dev"]).await;
    assert_eq!(
        code, 1,
        "before the CRD exists, the custom resource is Missing: {out}"
    );
    assert!(out.contains("Widget") && out.contains("w1"), "{out}");
    let (code, status) = env.status().await;
    assert_ne!(code, 2, "{status}");
    assert_eq!(status["drift"]["missing"], 2, "{status}");

    let (code, out) = env.driftdeck(&["sync", "dev"]).await;
    assert_eq!(code, 0, "{out}");
    let w = server
        .get(&ns, &format!("widgets.{group}/w1"))
        .await
        .expect("Widget w1 live");
    assert_eq!(w["spec"]["size"], 3, "{w}");
    let (code, out) = env.driftdeck(&["diff", "dev"]).await;
    assert_eq!(code, 0, "no drift after the sync: {out}");
}

async fn rejected_commit_leaves_no_namespace_or_crd_behind(server: &Server) {
    let env = GitopsEnv::new(server, "atomic-early", false).await;
    let ns = env.namespace.clone();
    let extra = format!("{ns}-extra");
    let group = format!("{ns}.example.com");
    env.write("a.yaml", CONFIG_A_V1);
    let good = env.commit("good").await;
    let (code, out) = env.driftdeck(&["sync", "dev"]).await;
    assert_eq!(code, 0, "the first sync must succeed: {out}");

    // Validating this commit needs its Namespace and CRD created first; the Deployment is
    // then rejected.
    env.write(
        "extra-ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: __NS__-extra}\n",
    );
    env.write(
        "extra-b.yaml",
        &CONFIG_B.replace("namespace: __NS__", "namespace: __NS__-extra"),
    );
    env.write("crd.yaml", &crd(&group));
    env.write(
        "widget.yaml",
        &format!("apiVersion: {group}/v1\nkind: Widget\nmetadata: {{name: w1, namespace: __NS__}}\nspec: {{size: 3}}\n"),
    );
    env.write("bad.yaml", BAD_DEPLOYMENT);
    env.commit("a namespace, a CRD and one rejected object")
        .await;
    let (code, out) = env.driftdeck(&["sync", "dev"]).await;
    assert_eq!(code, 1, "a rejected object must fail the sync: {out}");
    assert!(
        out.contains("Deployment") && out.contains("bad") && out.contains("replicas"),
        "the failure names the object and the server's reason: {out}"
    );
    assert!(
        out.contains("removed")
            && out.contains(&extra)
            && out.contains(&format!("widgets.{group}")),
        "the failure says what was removed again: {out}"
    );

    // Object by object: neither the Namespace nor the CRD is left, nor anything else.
    assert!(
        server
            .get(&ns, &format!("namespace/{extra}"))
            .await
            .is_none(),
        "Namespace {extra} was left behind"
    );
    assert!(
        server
            .get(&ns, &format!("customresourcedefinition/widgets.{group}"))
            .await
            .is_none(),
        "the CRD was left behind"
    );
    assert!(server.get(&ns, "deployment/bad").await.is_none());
    let a = server.get(&ns, "configmap/a").await.expect("ConfigMap a");
    assert_eq!(revision_of(&a), good);
    let (_, status) = env.status().await;
    let synced = status["synced_revision"].as_str().unwrap_or_default();
    assert!(!synced.is_empty() && good.starts_with(synced), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rejected_commit_leaves_no_namespace_or_crd_on_real_server() {
    rejected_commit_leaves_no_namespace_or_crd_behind(&Server::real().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rejected_commit_leaves_no_namespace_or_crd_on_sandbox() {
    rejected_commit_leaves_no_namespace_or_crd_behind(&Server::sandbox().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rejected_object_leaves_nothing_live_on_real_server() {
    rejected_object_leaves_nothing_of_its_commit_live(&Server::real().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rejected_object_leaves_nothing_live_on_sandbox() {
    rejected_object_leaves_nothing_of_its_commit_live(&Server::sandbox().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversize_configmap_refused_before_sending_on_real_server() {
    oversize_configmap_is_refused_before_anything_is_sent(&Server::real().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversize_configmap_refused_before_sending_on_sandbox() {
    oversize_configmap_is_refused_before_anything_is_sent(&Server::sandbox().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn crd_and_custom_resource_in_one_env_on_real_server() {
    crd_and_its_resource_in_one_env(&Server::real().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn crd_and_custom_resource_in_one_env_on_sandbox() {
    crd_and_its_resource_in_one_env(&Server::sandbox().await).await;
}
