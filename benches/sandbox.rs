//! Sandbox API server speed, measured with criterion rather than
//! asserted in tests: listing 10,000 pods through the real kube client (in-process tower
//! service, so the figure is the server's work plus kube's decoding, no socket), the raw list
//! answer, and one change fanned out to 100 concurrent watches. The simulator is off so the
//! figures are the API server's own. Run: `cargo bench --bench sandbox`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use driftdeck::sandbox::{Sandbox, SandboxOptions};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchParams};
use serde_json::json;

const PODS: usize = 10_000;

fn setup(rt: &tokio::runtime::Runtime) -> (Sandbox, kube::Client) {
    rt.block_on(async {
        let sb = Sandbox::new(
            &["dev"],
            SandboxOptions {
                simulate: false,
                ..Default::default()
            },
        );
        let client = kube::Client::new(sb.service("dev").unwrap(), "default");
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        for i in 0..PODS {
            let pod: Pod =
                serde_json::from_value(json!({"metadata": {"name": format!("load-{i:05}"),
                "labels": {"app": "load", "shard": (i % 10).to_string()}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.0",
                    "ports": [{"containerPort": 8080}]}]}}))
                .unwrap();
            pods.create(&PostParams::default(), &pod).await.unwrap();
        }
        (sb, client)
    })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (_sb, client) = setup(&rt);
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut group = c.benchmark_group("sandbox");
    group.sample_size(20);
    group.bench_function("list 10,000 pods, typed kube client", |b| {
        b.iter(|| {
            rt.block_on(async {
                assert_eq!(
                    pods.list(&ListParams::default()).await.unwrap().items.len(),
                    PODS
                )
            })
        })
    });
    group.bench_function("list 10,000 pods, raw JSON answer", |b| {
        b.iter(|| {
            rt.block_on(async {
                let req = http::Request::get("/api/v1/namespaces/default/pods")
                    .body(Vec::new())
                    .unwrap();
                client.request_text(req).await.unwrap().len()
            })
        })
    });
    group.bench_function("list 1,000 of 10,000 pods by label", |b| {
        b.iter(|| {
            rt.block_on(async {
                pods.list(&ListParams::default().labels("shard=3"))
                    .await
                    .unwrap()
                    .items
                    .len()
            })
        })
    });
    let mut watchers: Vec<_> = rt.block_on(async {
        let mut v = Vec::new();
        for _ in 0..100 {
            let wp = WatchParams::default().fields("metadata.name=load-00001");
            v.push(pods.watch(&wp, "0").await.unwrap().boxed());
            // Each watch opens with an ADDED for the current object; consume it.
            v.last_mut().unwrap().next().await.unwrap().unwrap();
        }
        v
    });
    let mut n = 0u64;
    group.bench_function("one change seen by 100 concurrent watches", |b| {
        b.iter(|| {
            n += 1;
            rt.block_on(async {
                let patch = Patch::Merge(json!({"metadata": {"labels": {"n": n.to_string()}}}));
                pods.patch("load-00001", &PatchParams::default(), &patch)
                    .await
                    .unwrap();
                for w in watchers.iter_mut() {
                    w.next().await.unwrap().unwrap();
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
