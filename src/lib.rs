//! # driftdeck — codemap
//!
//! A terminal operations console for GitOps. Data flows one way:
//!
//! ```text
//! Git ─source─► Revision ─render─► desired set ─┐
//!                                               ├─diff─► Drift + health ─► controller ─► Snapshot ─► tui
//! Kubernetes ─cluster─► live set ───────────────┘                              ▲                    │
//!                                                                              └──── Command ◄──────┘
//! ```
//!
//! | module | owns | may import |
//! |---|---|---|
//! | [`model`] | vocabulary: `ResourceKey`, `Manifest`, `Snapshot`, `Command`, `Notice`, … | nothing |
//! | [`render`] | files of a tree → manifests: native kustomize, plain YAML, external command; `FileSystem` trait | model |
//! | [`source`] | git2: open/clone/fetch, revisions, trees without checkout, history per path, commits, publishing (push never forced, revert) | model |
//! | [`config`] | `driftdeck.yaml`: discovery, raw serde types → validated `Config` (keymap and theme files: tui) | model |
//! | [`demo`] | `demo init`: the demo GitOps repo (with history) and its config, from embedded `assets/demo/`; `demo::run`: the demo's state dir and in-process sandbox | model, sandbox |
//! | [`controller`] | the reconcile loop: the sans-IO per-env [`controller::engine`] and the async [`controller::driver`] (one task per env; the only writer of the Snapshot) that the console, `controller` and every CLI verb run | model, config, source, render, diff, health, cluster |
//! | [`diff`] | pair desired/live by key, normalize, compare (dry-run or fallback), unified text, Secret masking | model |
//! | [`cluster`] | kube-rs boundary: clients per context, discovery cache, server-side apply and dry-run, watch caches | model |
//! | [`health`] | `assess(obj) -> Health` per kind (one file each), `pod_row` for the pods pane | model |
//! | [`sandbox`] | embedded Kubernetes API server + workload simulator for `demo` and tests | nothing |
//! | [`config`] | config file; `keymap` and `theme` (keys and colours as data) | model |
//! | [`tui`] | the console: `ViewState`, pure `update`, panes and popups rendered from `&Snapshot`, event loop | model, config |
//! | [`cli`] | clap commands, exit codes; the composition root | everything |
//!
//! Leaf modules never import each other; only `controller` composes them, and `cli` wires the
//! `tui` to the controller with bare channel ends. The design is in `../shared/ARCHITECTURE.md`.

pub mod cli;
pub mod cluster;
pub mod config;
pub mod controller;
pub mod demo;
pub mod diff;
pub mod health;
pub mod model;
pub mod render;
pub mod sandbox;
pub mod source;
pub mod tui;
