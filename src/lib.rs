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
//! | [`diff`] | pair desired/live by key, normalize, compare (dry-run or fallback), unified text, Secret masking | model |
//! | [`health`] | `assess(obj) -> Health` per kind (one file each), `pod_row` for the pods pane | model |
//! | [`cli`] | clap commands, exit codes; the composition root | everything |
//!
//! Leaf modules never import each other; only `controller` composes them, and `cli` wires the
//! `tui` to the controller with bare channel ends. The design is in `../shared/ARCHITECTURE.md`.

pub mod cli;
pub mod diff;
pub mod health;
pub mod model;
