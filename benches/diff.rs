//! `diff_sets` over 5,000 realistic Deployment pairs: desired as rendered from Git, live as the
//! API server returns it (defaults, status, managedFields, tracking metadata), a server-side
//! dry-run result per key, and ~5% of the live objects drifted (image changed by hand).
//! Target: under 100 ms per run. `cargo bench --bench diff`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use driftdeck::diff::{
    DiffOptions, Predicted, compare, diff_sets, diff_sets_cached, normalize, to_yaml,
};
use driftdeck::model::{Manifest, ResourceKey};
use serde_json::{Value, json};

const PAIRS: usize = 5_000;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/diff/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

type Inputs = (Vec<Manifest>, Vec<Value>, HashMap<ResourceKey, Value>);

fn inputs() -> Inputs {
    let desired_t = fixture("deployment-desired.yaml");
    let live_t = fixture("deployment-live.yaml");
    let mut desired = Vec::with_capacity(PAIRS);
    let mut live = Vec::with_capacity(PAIRS);
    let mut predicted = HashMap::with_capacity(PAIRS);
    for i in 0..PAIRS {
        let name = format!("svc-{i:05}");
        let mut d = desired_t.clone();
        d["metadata"]["name"] = json!(name);
        let mut l = live_t.clone();
        l["metadata"]["name"] = json!(name);
        let mut p = l.clone();
        p["metadata"]["resourceVersion"] = json!("99999");
        if i % 20 == 0 {
            l["spec"]["template"]["spec"]["containers"][0]["image"] = json!("hotfix:1");
        }
        let m = Manifest::new(d).unwrap();
        predicted.insert(m.key().clone(), p);
        desired.push(m);
        live.push(l);
    }
    (desired, live, predicted)
}

/// CPU time (user + system) this process has used, from `/proc/self/stat`, in clock ticks of
/// 10 ms. The build machine is shared, so wall time overstates the cost; CPU time does not
/// count the time spent waiting for a core.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

fn print_cpu_per_run(label: &str, runs: u32, mut f: impl FnMut()) {
    let wall = std::time::Instant::now();
    let before = cpu_ticks();
    for _ in 0..runs {
        f();
    }
    if let (Some(b), Some(a)) = (before, cpu_ticks()) {
        println!(
            "{label}: {:.1} ms CPU per run, {:.1} ms wall per run ({runs} runs)",
            (a - b) as f64 * 10.0 / f64::from(runs),
            wall.elapsed().as_secs_f64() * 1000.0 / f64::from(runs)
        );
    }
}

fn bench(c: &mut Criterion) {
    let (desired, live, predicted) = inputs();
    let opts = DiffOptions::default();
    let lookup = |key: &ResourceKey| predicted.get(key).cloned();
    let drift = diff_sets(&desired, &live, &live, &lookup, &opts);
    assert_eq!(drift.len(), PAIRS / 20);
    print_cpu_per_run("diff_sets 5000, dry-run", 20, || {
        black_box(diff_sets(&desired, &live, &live, &lookup, &opts));
    });
    let cached = |key: &ResourceKey| predicted.get(key);
    print_cpu_per_run("diff_sets_cached 5000, dry-run", 20, || {
        black_box(diff_sets_cached(&desired, &live, &live, &cached, &opts));
    });
    print_cpu_per_run("diff_sets 5000, fallback", 20, || {
        black_box(diff_sets(&desired, &live, &live, &|_| None, &opts));
    });
    c.bench_function("diff_sets 5000 deployments, dry-run, 5% drifted", |b| {
        b.iter(|| black_box(diff_sets(&desired, &live, &live, &lookup, &opts)))
    });
    let cached = |key: &ResourceKey| predicted.get(key);
    assert_eq!(
        diff_sets_cached(&desired, &live, &live, &cached, &opts),
        drift
    );
    c.bench_function(
        "diff_sets_cached 5000 deployments, dry-run, 5% drifted",
        |b| b.iter(|| black_box(diff_sets_cached(&desired, &live, &live, &cached, &opts))),
    );
    c.bench_function("diff_sets 5000 deployments, fallback, 5% drifted", |b| {
        b.iter(|| black_box(diff_sets(&desired, &live, &live, &|_| None, &opts)))
    });
}

/// One pair at a time, to see where the set's time goes.
fn per_pair(c: &mut Criterion) {
    let desired = Manifest::new(fixture("deployment-desired.yaml")).unwrap();
    let live = fixture("deployment-live.yaml");
    let mut drifted = live.clone();
    drifted["spec"]["replicas"] = json!(5);
    let opts = DiffOptions::default();
    let p = Predicted::DryRun(&live);
    c.bench_function("pair: normalize live", |b| {
        b.iter(|| black_box(normalize(&live)))
    });
    c.bench_function("pair: clone live", |b| b.iter(|| black_box(live.clone())));
    c.bench_function("pair: compare in sync, dry-run", |b| {
        b.iter(|| black_box(compare(&desired, &live, p, &opts)))
    });
    c.bench_function("pair: compare in sync, fallback", |b| {
        b.iter(|| black_box(compare(&desired, &live, Predicted::Unavailable, &opts)))
    });
    c.bench_function("pair: compare drifted, dry-run", |b| {
        b.iter(|| black_box(compare(&desired, &drifted, p, &opts)))
    });
    c.bench_function("pair: to_yaml live", |b| {
        b.iter(|| black_box(to_yaml(&live)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench, per_pair
}
criterion_main!(benches);
