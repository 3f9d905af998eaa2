//! The object views' feed (`controller::driver::inspect::serve_config`, what the console wires
//! `y` to) against the sandbox with the demo's dev env applied: a pod's owner chain followed up
//! through the API (ReplicaSet ← Deployment), live YAML without managedFields unless asked, the
//! desired YAML of a Deployment from the env's render, and a Secret whose value never appears
//! in any of the texts.

use std::time::Duration;

use driftdeck::controller::driver::inspect;
use driftdeck::model::{InspectChunk, InspectRequest, ObjectDetail, ObjectRequest, ResourceKey};
use tokio::sync::mpsc;

use crate::drift_support::{Demo, text};

async fn ask(
    requests: &mpsc::Sender<InspectRequest>,
    chunks: &mut mpsc::Receiver<InspectChunk>,
    id: u64,
    key: ResourceKey,
) -> ObjectDetail {
    let request = ObjectRequest {
        env: "dev".into(),
        context: "dev".into(),
        revision: None,
        key,
    };
    requests
        .send(InspectRequest::Object { id, request })
        .await
        .unwrap();
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(30), chunks.recv())
            .await
            .expect("an answer within 30 s")
            .expect("feeder alive");
        match chunk {
            InspectChunk::Object { id: got, detail } if got == id => return *detail,
            InspectChunk::Failed { id: got, message } if got == id => panic!("{message}"),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_views_show_owner_chain_desired_yaml_and_never_a_secret_value() {
    let demo = Demo::start().await;
    demo.apply_env("dev").await;
    let config = driftdeck::config::load(&demo.dir.join("driftdeck.yaml")).unwrap();
    let (requests, request_rx) = mpsc::channel(8);
    let (chunk_tx, mut chunks) = mpsc::channel(8);
    tokio::spawn(inspect::serve_config(config, request_rx, chunk_tx));

    let pods = demo
        .kubectl(
            "dev",
            &[
                "get",
                "pods",
                "-l",
                "app.kubernetes.io/name=log-api",
                "-o",
                "jsonpath={.items[0].metadata.name}",
            ],
        )
        .await;
    let pod = text(&pods.stdout).trim().to_owned();
    assert!(!pod.is_empty(), "a log-api pod runs in dev");
    let detail = ask(
        &requests,
        &mut chunks,
        1,
        ResourceKey::new("", "Pod", "log-platform", pod.as_str()),
    )
    .await;
    assert_eq!(detail.live_error, None);
    assert_eq!(detail.events_error, None);
    assert_eq!(detail.owners.len(), 2, "{:?}", detail.owners);
    assert!(
        detail.owners[0].starts_with("ReplicaSet/log-api-"),
        "{:?}",
        detail.owners
    );
    assert_eq!(detail.owners[1], "Deployment/log-api");
    let live = detail.live.unwrap_or_default();
    assert!(live.contains("kind: Pod") && live.contains(&pod), "{live}");
    assert!(!live.contains("managedFields"), "{live}");
    assert!(detail.desired.is_none() && detail.desired_error.is_some());

    let detail = ask(
        &requests,
        &mut chunks,
        2,
        ResourceKey::new("apps", "Deployment", "log-platform", "log-api"),
    )
    .await;
    let desired = detail.desired.unwrap_or_default();
    assert!(
        desired.contains("kind: Deployment") && desired.contains("name: log-api"),
        "{desired}"
    );
    assert!(detail.owners.is_empty(), "{:?}", detail.owners);
    assert!(
        detail
            .live_full
            .unwrap_or_default()
            .contains("managedFields"),
        "server-side apply records managedFields; the full view keeps them"
    );

    demo.kubectl(
        "dev",
        &[
            "create",
            "secret",
            "generic",
            "db",
            "--from-literal=password=hunter2-sandbox",
        ],
    )
    .await;
    let detail = ask(
        &requests,
        &mut chunks,
        3,
        ResourceKey::new("", "Secret", "log-platform", "db"),
    )
    .await;
    let live = detail.live.clone().unwrap_or_default();
    assert!(live.contains("password: <masked:"), "{live}");
    for shown in [detail.live, detail.live_full].into_iter().flatten() {
        assert!(!shown.contains("hunter2-sandbox"), "{shown}");
        assert!(!shown.contains("aHVudGVyMi1zYW5kYm94"), "{shown}");
    }
}
