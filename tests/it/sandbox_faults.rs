//! Each fault mode, switched at runtime through the admin endpoint (`POST
//! /clusters/<name>/sandbox/faults`), observed by a real kube client: added latency, a rate of
//! 5xx/429 answers with Retry-After, dropped watches, expired watches (410) and refused
//! connections for N seconds.

use std::time::{Duration, Instant};

use driftdeck::sandbox::SandboxOptions;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, WatchEvent, WatchParams};
use serde_json::json;

use crate::sandbox_support::{Running, eventually, local_client, start};

async fn set_faults(client: &kube::Client, cfg: serde_json::Value) {
    let req = http::Request::post("/sandbox/faults")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&cfg).unwrap())
        .unwrap();
    let echoed = client.request_text(req).await.unwrap();
    assert!(echoed.contains("\"dev\""), "{echoed}");
}

async fn dev(sb: &Running) -> (kube::Client, Api<ConfigMap>) {
    let client = sb.client("dev").await;
    (client.clone(), Api::namespaced(client, "default"))
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let (client, cms) = dev(&sb).await;
    set_faults(&client, json!({"latency_ms": 300})).await;
    let t = Instant::now();
    cms.list(&Default::default()).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "took {:?}",
        t.elapsed()
    );
    let read = client
        .request_text(http::Request::get("/sandbox/faults").body(vec![]).unwrap())
        .await
        .unwrap();
    assert!(read.contains("\"latency_ms\":300"), "{read}");
}

#[tokio::test]
async fn error_rate_answers_5xx_and_429_with_retry_after() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    // The in-process client has no retry layer, so it sees every injected answer.
    let local = local_client(&sb.sandbox, "dev");
    let cms: Api<ConfigMap> = Api::namespaced(local.clone(), "default");
    set_faults(
        &local,
        json!({"error_rate": 1.0, "error_status": 503, "retry_after_secs": 7}),
    )
    .await;
    let err = cms.list(&Default::default()).await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 503),
        "{err:?}"
    );
    let raw = local
        .send(
            http::Request::get("/api/v1/namespaces/default/configmaps")
                .body(Vec::new().into())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(raw.status(), 503);
    assert_eq!(raw.headers()["retry-after"], "7");

    set_faults(
        &local,
        json!({"error_rate": 1.0, "error_status": 429, "retry_after_secs": 1}),
    )
    .await;
    let err = cms.get_opt("x").await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 429),
        "{err:?}"
    );

    // A partial rate: some requests fail, some succeed.
    set_faults(&local, json!({"error_rate": 0.5, "error_status": 500})).await;
    let mut failed = 0;
    for _ in 0..100 {
        if cms.list(&Default::default()).await.is_err() {
            failed += 1;
        }
    }
    assert!(
        (20..=80).contains(&failed),
        "{failed} of 100 failed at rate 0.5"
    );

    // The kubeconfig client retries 429 after the server's Retry-After and gets through once
    // the fault is lifted.
    set_faults(
        &local,
        json!({"error_rate": 1.0, "error_status": 429, "retry_after_secs": 1}),
    )
    .await;
    let (_, http_cms) = dev(&sb).await;
    let t = Instant::now();
    let pending = tokio::spawn(async move { http_cms.list(&Default::default()).await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sb.sandbox.set_faults(None, Default::default()).unwrap();
    let listed = pending.await.unwrap();
    assert!(listed.is_ok(), "{listed:?}");
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "the client waited for Retry-After"
    );
}

#[tokio::test]
async fn dropped_watches_end_early() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let (client, cms) = dev(&sb).await;
    set_faults(&client, json!({"drop_watches_every_secs": 1})).await;
    let mut stream = cms
        .watch(&WatchParams::default().timeout(290), "0")
        .await
        .unwrap()
        .boxed();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while stream.next().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "a 290 s watch was not dropped by the fault");
}

#[tokio::test]
async fn expired_watches_get_410() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let (client, cms) = dev(&sb).await;
    set_faults(&client, json!({"expire_watches": true})).await;
    let mut stream = cms
        .watch(&WatchParams::default(), "1")
        .await
        .unwrap()
        .boxed();
    match stream.next().await {
        Some(Ok(WatchEvent::Error(e))) => assert_eq!(e.code, 410, "{e:?}"),
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
}

#[tokio::test]
async fn refused_connections_for_n_seconds() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    let (client, cms) = dev(&sb).await;
    set_faults(&client, json!({"refuse_connections_secs": 2})).await;
    let err = cms.list(&Default::default()).await.unwrap_err();
    assert!(
        !matches!(err, kube::Error::Api(_)),
        "a refused connection is not an API answer: {err:?}"
    );
    let recovered = eventually(Duration::from_secs(10), || {
        let cms = cms.clone();
        async move { cms.list(&Default::default()).await.is_ok() }
    })
    .await;
    assert!(recovered, "requests succeed again after the refusal window");
}

#[tokio::test]
async fn in_process_service_refuses_too() {
    let sb = start(&["dev"], SandboxOptions::default()).await;
    sb.sandbox
        .set_faults(
            Some("dev"),
            serde_json::from_value(json!({"refuse_connections_secs": 30})).unwrap(),
        )
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(local_client(&sb.sandbox, "dev"), "default");
    let err = cms.list(&Default::default()).await.unwrap_err();
    assert!(format!("{err:?}").contains("ConnectionRefused"), "{err:?}");
}
