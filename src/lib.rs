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
//! | [`cli`] | clap commands, exit codes; the composition root | everything |
//! | [`sandbox`] | embedded Kubernetes API server + workload simulator for `demo` and tests | nothing |
//!
//! Leaf modules never import each other; only `controller` composes them, and `cli` wires the
//! `tui` to the controller with bare channel ends. The design is in `../shared/ARCHITECTURE.md`.

pub mod cli;
pub mod model;
pub mod sandbox;
