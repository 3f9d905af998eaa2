//! `Source::history` and tree reads on a generated repository (`scripts/gen-history-repo.sh`).
//!
//! `cargo bench --bench history`. The repository size is `DRIFTDECK_BENCH_COMMITS` (default
//! 20,000, generated in a temporary directory in a few seconds); `history_probe` is the tool for
//! the 100,000-commit figure with peak memory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::Path;
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use driftdeck::source::{RepoSpec, Source};

fn generated_repo(dir: &Path) -> Source {
    let commits = std::env::var("DRIFTDECK_BENCH_COMMITS").unwrap_or_else(|_| "20000".into());
    let repo = dir.join("repo");
    let status = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen-history-repo.sh"))
        .arg(&repo)
        .arg(&commits)
        .status()
        .expect("run gen-history-repo.sh");
    assert!(status.success(), "gen-history-repo.sh failed");
    let spec = RepoSpec {
        url: repo.to_str().unwrap().to_owned(),
        branch: "main".into(),
    };
    Source::open(&spec, &dir.join("cache")).unwrap()
}

fn history(c: &mut Criterion) {
    let tmp = tempfile::TempDir::new().unwrap();
    let source = generated_repo(tmp.path());
    let production = vec!["overlays/production".to_string(), "base".to_string()];
    let dev = vec!["overlays/dev".to_string(), "base".to_string()];
    let mut group = c.benchmark_group("history");
    group.sample_size(10);
    group.bench_function("first page of 50, production + base", |b| {
        b.iter(|| black_box(source.history(&production, None, 0, 50).unwrap()))
    });
    group.bench_function("first page of 50, dev + base", |b| {
        b.iter(|| black_box(source.history(&dev, None, 0, 50).unwrap()))
    });
    group.finish();

    let head = source.resolve(None).unwrap().sha;
    c.bench_function("tree read overlays/production/kustomization.yaml", |b| {
        b.iter(|| {
            let tree = source.tree(&head).unwrap();
            black_box(tree.read("overlays/production/kustomization.yaml").unwrap())
        })
    });
}

criterion_group!(benches, history);
criterion_main!(benches);
