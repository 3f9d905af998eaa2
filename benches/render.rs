//! Native render speed on a realistic repo: the `env-shop-production` conformance case
//! (base of two apps, production overlay with generators, patches, images, replicas), read
//! from disk on every iteration as the controller would, and from memory to isolate the
//! renderer from the file system.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use driftdeck::render::{DiskFs, FileSystem, MemFs, Renderer, render};

fn copy(fs: &DiskFs, dir: &str, mem: &mut MemFs) {
    for name in fs.list(dir).unwrap_or_default() {
        let path = if dir.is_empty() {
            name.clone()
        } else {
            format!("{dir}/{name}")
        };
        match fs.read(&path) {
            Ok(bytes) => mem.insert(&path, bytes),
            Err(_) => copy(fs, &path, mem),
        }
    }
}

fn bench(c: &mut Criterion) {
    let case = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance/kustomize/env-shop-production");
    let disk = DiskFs::new(&case);
    let mut mem = MemFs::new();
    copy(&disk, "", &mut mem);
    // Measuring a failing render would be measuring the error path: refuse to.
    match render(&mem, "overlays/production", &Renderer::Auto) {
        Ok(r) if r.manifests.len() > 5 => {}
        other => {
            eprintln!("env-shop-production does not render: {other:?}");
            std::process::exit(1);
        }
    }
    c.bench_function("render env-shop-production (disk)", |b| {
        b.iter(|| render(black_box(&disk), "overlays/production", &Renderer::Auto))
    });
    c.bench_function("render env-shop-production (memory)", |b| {
        b.iter(|| render(black_box(&mem), "overlays/production", &Renderer::Auto))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
