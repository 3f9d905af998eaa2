//! A sync writes only what changes, on the real API server tier and on the sandbox (same code):
//! after a promotion that changes one Deployment's image, `sync` applies exactly that object —
//! every other object keeps its `resourceVersion` and the revision that last changed it, the
//! sync and history say "1 changed", and `diff` finds nothing afterwards. Objects are applied
//! concurrently within an ordering stage, and a later stage starts only after every object of
//! the earlier one is written.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::real_drift_support::Bench;

const CONFIGMAPS: usize = 7;

fn render(image: &str) -> String {
    let mut docs: Vec<String> = (0..CONFIGMAPS)
        .map(|i| {
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\ndata: {{k: \"v{i}\"}}\n")
        })
        .collect();
    docs.push(
        "apiVersion: v1\nkind: Service\nmetadata: {name: api}\nspec:\n  selector: {app: api}\n  \
         ports:\n  - {name: http, port: 80, targetPort: 8080, protocol: TCP}\n"
            .to_owned(),
    );
    docs.push(format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api}}\nspec:\n  replicas: 1\n  \
         selector: {{matchLabels: {{app: api}}}}\n  template:\n    metadata: {{labels: {{app: api}}}}\n    \
         spec:\n      containers:\n      - {{name: api, image: \"{image}\"}}\n"
    ));
    docs.join("---\n")
}

fn objects() -> Vec<(&'static str, String)> {
    let mut all: Vec<(&str, String)> = (0..CONFIGMAPS)
        .map(|i| ("configmap", format!("cm-{i}")))
        .collect();
    all.push(("service", "api".into()));
    all.push(("deployment", "api".into()));
    all
}

fn text<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

const REVISION: &str = "/metadata/annotations/driftdeck.io~1revision";

/// "resources changed" of the newest Sync in history (newest first).
fn last_changed(bench: &Bench) -> Option<u64> {
    bench
        .history()
        .iter()
        .find(|e| e["op"] == "Sync")
        .and_then(|e| e["resources_changed"].as_u64())
}

async fn promotion_writes_only_the_changed_object(bench: Bench) {
    bench.commit(&render("nginx:1.25"), "v1");
    let first = bench.head();
    bench.sync(&[]).await;
    let before: BTreeMap<String, Value> = objects()
        .into_iter()
        .map(|(kind, name)| (format!("{kind}/{name}"), bench.live(kind, &name)))
        .collect();

    bench.commit(&render("nginx:1.26"), "promote api to 1.26");
    let second = bench.head();
    let ran = bench.driftdeck(&["sync", &bench.ns]).await;
    assert_eq!(ran.code, Some(0), "sync: {ran:#?}");
    assert!(
        ran.stdout.contains(": 1 changed"),
        "the sync reports exactly one change: {ran:#?}"
    );
    assert_eq!(
        last_changed(&bench),
        Some(1),
        "history: {:#?}",
        bench.history()
    );

    for (kind, name) in objects() {
        let key = format!("{kind}/{name}");
        let now = bench.live(kind, &name);
        let was = &before[&key];
        if kind == "deployment" {
            assert_eq!(
                text(&now, "/spec/template/spec/containers/0/image"),
                "nginx:1.26"
            );
            assert_eq!(
                text(&now, REVISION),
                second,
                "{key} was changed by {second}"
            );
        } else {
            assert_eq!(
                text(&now, "/metadata/resourceVersion"),
                text(was, "/metadata/resourceVersion"),
                "{key} was written although its content did not change"
            );
            assert_eq!(
                text(&now, REVISION),
                first,
                "{key} keeps the revision that last changed it"
            );
        }
    }
    let diff = bench.diff().await;
    assert_eq!(diff.code, Some(0), "drift after the promotion: {diff:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_promotion_of_one_image_writes_one_object_on_the_real_server() {
    promotion_writes_only_the_changed_object(Bench::real("writes")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_promotion_of_one_image_writes_one_object_on_the_sandbox() {
    promotion_writes_only_the_changed_object(Bench::sandbox("writes").await).await;
}

/// Roles (RBAC stage), ConfigMaps (config stage) and Services (services stage), each stage
/// applied concurrently: every object of a stage is created before any object of the next.
fn staged_render() -> String {
    let mut docs = Vec::new();
    for i in 0..3 {
        docs.push(format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: role-{i}}}\n\
             rules:\n- {{apiGroups: [\"\"], resources: [configmaps], verbs: [get]}}\n"
        ));
    }
    for i in 0..STAGED_CONFIGMAPS {
        docs.push(format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: staged-{i}}}\ndata: {{k: \"{i}\"}}\n"
        ));
    }
    for i in 0..3 {
        docs.push(format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}}}\nspec:\n  selector: {{app: a}}\n  \
             ports:\n  - {{name: http, port: 80, targetPort: 8080, protocol: TCP}}\n"
        ));
    }
    // Render order mixed on purpose: the stages, not the file, decide.
    docs.reverse();
    docs.join("---\n")
}

const STAGED_CONFIGMAPS: usize = 40;

/// The resourceVersions (etcd revisions on the real server, the store's counter on the
/// sandbox: both one increasing sequence per cluster) at which `kind`'s objects were written
/// (those of the render: the env's state ConfigMap carries no revision).
fn versions(bench: &Bench, kind: &str) -> Vec<u64> {
    let list: Value =
        serde_json::from_str(&bench.kubectl_ok(&["-n", &bench.ns, "get", kind, "-o", "json"]))
            .expect("kubectl get -o json");
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|o| !text(o, "/metadata/annotations/driftdeck.io~1revision").is_empty())
        .map(|o| {
            text(o, "/metadata/resourceVersion")
                .parse()
                .expect("numeric resourceVersion")
        })
        .collect()
}

async fn stages_apply_in_order(bench: Bench) {
    bench.commit(&staged_render(), "three stages");
    bench.sync(&[]).await;
    let roles = versions(&bench, "roles");
    let configmaps = versions(&bench, "configmaps");
    let services = versions(&bench, "services");
    assert_eq!(
        (roles.len(), configmaps.len(), services.len()),
        (3, STAGED_CONFIGMAPS, 3),
        "every object of every stage is applied"
    );
    let max = |v: &[u64]| v.iter().copied().max().unwrap_or(0);
    let min = |v: &[u64]| v.iter().copied().min().unwrap_or(u64::MAX);
    assert!(
        max(&roles) < min(&configmaps),
        "a ConfigMap was written before the last Role: {roles:?} / {configmaps:?}"
    );
    assert!(
        max(&configmaps) < min(&services),
        "a Service was written before the last ConfigMap: {configmaps:?} / {services:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_later_stage_waits_for_every_object_of_the_earlier_one_on_the_real_server() {
    stages_apply_in_order(Bench::real("stages")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_later_stage_waits_for_every_object_of_the_earlier_one_on_the_sandbox() {
    stages_apply_in_order(Bench::sandbox("stages").await).await;
}
