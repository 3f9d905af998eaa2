//! The sandbox through the real kube-rs client: typed and dynamic CRUD over HTTP (kubeconfig
//! with a `/clusters/<name>` path prefix) and in-process (tower service), optimistic
//! concurrency, server-side apply conflicts, dry-run, and watchers/reflectors that stay equal
//! to the store, including after a `410 Gone`.

use std::collections::BTreeMap;
use std::time::Duration;

use driftdeck::sandbox::SandboxOptions;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use rand::Rng;
use serde_json::json;

use crate::sandbox_support::{eventually, local_client, start};

fn cm(name: &str, v: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": v}})).unwrap()
}

fn deployment(name: &str, replicas: i32, image: &str) -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]}}}})
}

#[tokio::test]
async fn typed_crud_over_http_with_path_prefix() {
    let sb = start(&["dev", "staging"], SandboxOptions::default()).await;
    let client = sb.client("dev").await;
    let ver = client.apiserver_version().await.unwrap();
    assert_eq!(ver.major, "1");

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let created = cms
        .create(&PostParams::default(), &cm("a", "1"))
        .await
        .unwrap();
    assert!(created.metadata.uid.is_some());
    assert_eq!(cms.get("a").await.unwrap().data.unwrap()["k"], "1");

    let mut next = created.clone();
    next.data = Some(BTreeMap::from([("k".to_string(), "2".to_string())]));
    let replaced = cms
        .replace("a", &PostParams::default(), &next)
        .await
        .unwrap();
    assert_ne!(
        replaced.metadata.resource_version,
        created.metadata.resource_version
    );

    // The other cluster is independent.
    let other: Api<ConfigMap> = Api::namespaced(sb.client("staging").await, "default");
    assert!(other.get_opt("a").await.unwrap().is_none());

    let list = cms.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    cms.delete("a", &DeleteParams::default()).await.unwrap();
    let err = cms.get("a").await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 404),
        "{err:?}"
    );
}

#[tokio::test]
async fn dynamic_crud_in_process_and_namespace_must_exist() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let client = local_client(&sb.sandbox, "dev");
    let gvk = GroupVersionKind::gvk("apps", "v1", "Deployment");
    let ar = ApiResource::from_gvk(&gvk);
    let missing: Api<DynamicObject> = Api::namespaced_with(client.clone(), "nope", &ar);
    let obj: DynamicObject = serde_json::from_value(deployment("web", 1, "nginx:1.27")).unwrap();
    let err = missing
        .create(&PostParams::default(), &obj)
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 404),
        "{err:?}"
    );

    let nss: Api<Namespace> = Api::all(client.clone());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "apps"}})).unwrap(),
    )
    .await
    .unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "apps", &ar);
    let created = api.create(&PostParams::default(), &obj).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    let again = api.create(&PostParams::default(), &obj).await.unwrap_err();
    assert!(
        matches!(again, kube::Error::Api(ref s) if s.code == 409 && s.reason == "AlreadyExists"),
        "{again:?}"
    );

    let patched = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.data["spec"]["replicas"], 3);
    assert_eq!(
        patched.metadata.generation,
        Some(2),
        "a spec change bumps generation"
    );
    let labelled = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        labelled.metadata.generation,
        Some(2),
        "a metadata change does not"
    );

    let json_patched = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Json::<()>(
                serde_json::from_value(
                    json!([{"op": "replace", "path": "/spec/replicas", "value": 1}]),
                )
                .unwrap(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(json_patched.data["spec"]["replicas"], 1);

    let strategic = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        strategic.data["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.28"
    );
    assert_eq!(
        strategic.data["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let by_label = api
        .list(&ListParams::default().labels("x=y"))
        .await
        .unwrap();
    assert_eq!(by_label.items.len(), 1);
    let none = api
        .list(&ListParams::default().labels("x in (z)"))
        .await
        .unwrap();
    assert!(none.items.is_empty());
    let by_field = api
        .list(&ListParams::default().fields("metadata.name=web"))
        .await
        .unwrap();
    assert_eq!(by_field.items.len(), 1);
}

#[tokio::test]
async fn stale_update_is_a_409_conflict() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let cms: Api<ConfigMap> = Api::namespaced(local_client(&sb.sandbox, "dev"), "default");
    let first = cms
        .create(&PostParams::default(), &cm("c", "1"))
        .await
        .unwrap();
    let mut a = first.clone();
    a.data = Some(BTreeMap::from([("k".to_string(), "a".to_string())]));
    cms.replace("c", &PostParams::default(), &a).await.unwrap();
    let mut b = first;
    b.data = Some(BTreeMap::from([("k".to_string(), "b".to_string())]));
    let err = cms
        .replace("c", &PostParams::default(), &b)
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409 && s.reason == "Conflict"),
        "{err:?}"
    );
    assert_eq!(cms.get("c").await.unwrap().data.unwrap()["k"], "a");
}

#[tokio::test]
async fn server_side_apply_conflicts_and_force() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let api: Api<Deployment> = Api::namespaced(local_client(&sb.sandbox, "dev"), "default");
    let alice = PatchParams::apply("alice");
    api.patch(
        "web",
        &alice,
        &Patch::Apply(deployment("web", 1, "nginx:1")),
    )
    .await
    .unwrap();

    let bob = PatchParams::apply("bob");
    let err = api
        .patch("web", &bob, &Patch::Apply(deployment("web", 2, "nginx:1")))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert!(
                s.message.contains("conflict with \"alice\""),
                "{}",
                s.message
            );
            assert!(s.message.contains(".spec.replicas"), "{}", s.message);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let forced = api
        .patch(
            "web",
            &bob.clone().force(),
            &Patch::Apply(deployment("web", 2, "nginx:1")),
        )
        .await
        .unwrap();
    assert_eq!(forced.spec.unwrap().replicas, Some(2));
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(
        managers.contains(&"alice".to_string()) && managers.contains(&"bob".to_string()),
        "{managers:?}"
    );

    // Alice drops a label she alone owned: it is removed.
    let mut with_label = deployment("web", 2, "nginx:1");
    with_label["metadata"]["labels"] = json!({"team": "a"});
    api.patch("web", &alice.clone().force(), &Patch::Apply(with_label))
        .await
        .unwrap();
    assert_eq!(
        api.get("web").await.unwrap().metadata.labels.unwrap()["team"],
        "a"
    );
    api.patch(
        "web",
        &alice.force(),
        &Patch::Apply(deployment("web", 2, "nginx:1")),
    )
    .await
    .unwrap();
    assert!(
        !api.get("web")
            .await
            .unwrap()
            .metadata
            .labels
            .unwrap_or_default()
            .contains_key("team")
    );
}

#[tokio::test]
async fn dry_run_returns_the_object_and_stores_nothing() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let client = local_client(&sb.sandbox, "dev");
    let api: Api<Deployment> = Api::namespaced(client, "default");
    let d: Deployment = serde_json::from_value(deployment("dry", 1, "nginx:1")).unwrap();
    let out = api
        .create(
            &PostParams {
                dry_run: true,
                ..Default::default()
            },
            &d,
        )
        .await
        .unwrap();
    assert_eq!(out.metadata.name.as_deref(), Some("dry"));
    let spec = out.spec.unwrap();
    assert_eq!(
        spec.revision_history_limit,
        Some(10),
        "server defaults are in the dry-run answer"
    );
    assert!(api.get_opt("dry").await.unwrap().is_none());

    let applied = api
        .patch(
            "dry",
            &PatchParams::apply("me").dry_run(),
            &Patch::Apply(deployment("dry", 1, "nginx:1")),
        )
        .await
        .unwrap();
    assert_eq!(applied.spec.unwrap().progress_deadline_seconds, Some(600));
    assert!(api.get_opt("dry").await.unwrap().is_none());
}

#[tokio::test]
async fn reflector_stays_equal_to_the_store_across_1000_changes() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let client = sb.client("dev").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let (reader, writer) = reflector::store::<ConfigMap>();
    let stream =
        reflector(writer, watcher(cms.clone(), watcher::Config::default())).applied_objects();
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while stream.try_next().await.is_ok() {}
    });
    reader.wait_until_ready().await.unwrap();

    let mut rng = rand::rng();
    let mut live: BTreeMap<String, String> = BTreeMap::new();
    for i in 0..1000 {
        let name = format!("cm-{}", rng.random_range(0..60));
        let value = i.to_string();
        match live.get(&name) {
            None => {
                cms.create(&PostParams::default(), &cm(&name, &value))
                    .await
                    .unwrap();
                live.insert(name, value);
            }
            Some(_) if rng.random_bool(0.3) => {
                cms.delete(&name, &DeleteParams::default()).await.unwrap();
                live.remove(&name);
            }
            Some(_) => {
                cms.patch(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"data": {"k": value}})),
                )
                .await
                .unwrap();
                live.insert(name, value);
            }
        }
    }
    let snapshot = |r: &reflector::Store<ConfigMap>| -> BTreeMap<String, String> {
        r.state()
            .iter()
            .map(|c| {
                (
                    c.metadata.name.clone().unwrap(),
                    c.data.clone().unwrap_or_default()["k"].clone(),
                )
            })
            .collect()
    };
    let same = eventually(Duration::from_secs(10), || {
        let ok = snapshot(&reader) == live;
        async move { ok }
    })
    .await;
    assert!(
        same,
        "reflector {:?} != expected {:?}",
        snapshot(&reader).len(),
        live.len()
    );
    let listed: BTreeMap<String, String> = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| (c.metadata.name.unwrap(), c.data.unwrap()["k"].clone()))
        .collect();
    assert_eq!(listed, live);
    task.abort();
}

#[tokio::test]
async fn watcher_recovers_from_410_without_losing_a_change() {
    let opts = SandboxOptions {
        watch_history: 20,
        ..Default::default()
    };
    let sb = start(&["dev"], opts).await;
    let client = sb.client("dev").await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    cms.create(&PostParams::default(), &cm("seed", "0"))
        .await
        .unwrap();
    // A 1 s server-side timeout ends each watch; while nobody polls, 100 changes push the
    // watcher's resourceVersion out of the 20-change history, so its re-watch gets 410 Gone.
    let mut stream = Box::pin(watcher(cms.clone(), watcher::Config::default().timeout(1)));
    let mut inits = 0;
    loop {
        match stream.try_next().await.unwrap().unwrap() {
            watcher::Event::Init => inits += 1,
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for i in 0..100 {
        cms.create(&PostParams::default(), &cm(&format!("n-{i}"), "x"))
            .await
            .unwrap();
    }
    let mut seen = std::collections::BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < 100 && tokio::time::Instant::now() < deadline {
        let next = tokio::time::timeout(Duration::from_secs(5), stream.next()).await;
        match next {
            Ok(Some(Ok(watcher::Event::Init))) => inits += 1,
            Ok(Some(Ok(watcher::Event::InitApply(c) | watcher::Event::Apply(c)))) => {
                let n = c.metadata.name.unwrap();
                if n.starts_with("n-") {
                    seen.insert(n);
                }
            }
            _ => {}
        }
    }
    assert_eq!(seen.len(), 100, "every change arrives");
    assert!(
        inits >= 2,
        "the watcher re-listed after 410 Gone (inits: {inits})"
    );
}

#[tokio::test]
async fn custom_resources_are_served_after_their_crd() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let client = local_client(&sb.sandbox, "dev");
    let crd_ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
    ));
    let crds: Api<DynamicObject> = Api::all_with(client.clone(), &crd_ar);
    let crd: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    }))
    .unwrap();
    crds.create(&PostParams::default(), &crd).await.unwrap();

    let discovery = kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .unwrap();
    let (ar, caps) = discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .find(|(ar, _)| ar.kind == "Widget")
        .expect("discovery lists the custom kind");
    assert_eq!(ar.plural, "widgets");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);

    let widgets: Api<DynamicObject> = Api::namespaced_with(client, "default", &ar);
    let w: DynamicObject =
        serde_json::from_value(json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w1", "labels": {"size": "big"}}, "spec": {"teeth": 12}}))
        .unwrap();
    widgets.create(&PostParams::default(), &w).await.unwrap();
    let got = widgets.get("w1").await.unwrap();
    assert_eq!(got.data["spec"]["teeth"], 12);
    assert_eq!(
        widgets
            .list(&ListParams::default().labels("size=big"))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    crds.delete("widgets.example.com", &DeleteParams::default())
        .await
        .unwrap();
    let gone = widgets.get("w1").await.unwrap_err();
    assert!(
        matches!(gone, kube::Error::Api(ref s) if s.code == 404),
        "{gone:?}"
    );
}

#[tokio::test]
async fn a_token_is_required_when_configured() {
    let opts = SandboxOptions {
        token: Some("s3cret".into()),
        ..Default::default()
    };
    let sb = start(&["dev"], opts).await;
    // The kubeconfig carries the token, so its client is let in...
    let cms: Api<ConfigMap> = Api::namespaced(sb.client("dev").await, "default");
    cms.list(&ListParams::default()).await.unwrap();
    // ...and a client without it is not.
    let anonymous: Api<ConfigMap> = Api::namespaced(local_client(&sb.sandbox, "dev"), "default");
    let err = anonymous.list(&ListParams::default()).await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 401),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_selector_watch_sees_objects_leave_and_enter_its_selection() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let cms: Api<ConfigMap> = Api::namespaced(local_client(&sb.sandbox, "dev"), "default");
    let mut c = cm("sel", "1");
    c.metadata.labels = Some(BTreeMap::from([("team".to_string(), "a".to_string())]));
    let created = cms.create(&PostParams::default(), &c).await.unwrap();
    let rv = created.metadata.resource_version.unwrap();
    let mut stream = cms
        .watch(&kube::api::WatchParams::default().labels("team=a"), &rv)
        .await
        .unwrap()
        .boxed();
    let relabel = |team: &str| Patch::Merge(json!({"metadata": {"labels": {"team": team}}}));
    cms.patch("sel", &PatchParams::default(), &relabel("b"))
        .await
        .unwrap();
    cms.patch("sel", &PatchParams::default(), &relabel("a"))
        .await
        .unwrap();
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            kube::api::WatchEvent::Deleted(_) => kinds.push("DELETED"),
            kube::api::WatchEvent::Added(_) => kinds.push("ADDED"),
            kube::api::WatchEvent::Modified(_) => kinds.push("MODIFIED"),
            _ => {}
        }
    }
    assert_eq!(kinds, ["DELETED", "ADDED"]);
}

#[tokio::test]
async fn lists_page_with_limit_and_continue() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let cms: Api<ConfigMap> = Api::namespaced(local_client(&sb.sandbox, "dev"), "default");
    for i in 0..5 {
        cms.create(&PostParams::default(), &cm(&format!("page-{i}"), "x"))
            .await
            .unwrap();
    }
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut lp = ListParams::default().limit(2);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = cms.list(&lp).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 2);
        names.extend(page.items.into_iter().map(|c| c.metadata.name.unwrap()));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["page-0", "page-1", "page-2", "page-3", "page-4"]);
}
