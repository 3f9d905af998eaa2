//! The demo repo's files, embedded so the binary writes the demo from any folder. This table
//! is the HEAD tree of the demo repo; `tests/it/demo.rs` checks it lists every file under
//! `assets/demo/` and nothing else.

/// `(repo-relative path, content)`, the HEAD state of the demo repo.
pub const FILES: &[(&str, &str)] = &[
    ("README.md", include_str!("../../assets/demo/README.md")),
    (
        "base/kustomization.yaml",
        include_str!("../../assets/demo/base/kustomization.yaml"),
    ),
    (
        "base/namespace.yaml",
        include_str!("../../assets/demo/base/namespace.yaml"),
    ),
    (
        "base/serviceaccount.yaml",
        include_str!("../../assets/demo/base/serviceaccount.yaml"),
    ),
    (
        "base/log-collector.yaml",
        include_str!("../../assets/demo/base/log-collector.yaml"),
    ),
    (
        "base/log-processor.yaml",
        include_str!("../../assets/demo/base/log-processor.yaml"),
    ),
    (
        "base/log-api.yaml",
        include_str!("../../assets/demo/base/log-api.yaml"),
    ),
    (
        "base/log-api-ingress.yaml",
        include_str!("../../assets/demo/base/log-api-ingress.yaml"),
    ),
    (
        "overlays/dev/kustomization.yaml",
        include_str!("../../assets/demo/overlays/dev/kustomization.yaml"),
    ),
    (
        "overlays/staging/kustomization.yaml",
        include_str!("../../assets/demo/overlays/staging/kustomization.yaml"),
    ),
    (
        "overlays/production/kustomization.yaml",
        include_str!("../../assets/demo/overlays/production/kustomization.yaml"),
    ),
    (
        "overlays/production/log-api-hpa.yaml",
        include_str!("../../assets/demo/overlays/production/log-api-hpa.yaml"),
    ),
    (
        "overlays/production/pdb.yaml",
        include_str!("../../assets/demo/overlays/production/pdb.yaml"),
    ),
    (
        "overlays/prod-us-east/kustomization.yaml",
        include_str!("../../assets/demo/overlays/prod-us-east/kustomization.yaml"),
    ),
    (
        "overlays/prod-eu-west/kustomization.yaml",
        include_str!("../../assets/demo/overlays/prod-eu-west/kustomization.yaml"),
    ),
    (
        "overlays/prod-ap-south/kustomization.yaml",
        include_str!("../../assets/demo/overlays/prod-ap-south/kustomization.yaml"),
    ),
];

/// The demo's `driftdeck.yaml`, written beside the repo (not in it).
pub const CONFIG: &str = include_str!("driftdeck.yaml");
