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
//! | [`config`] | config file; `keymap` and `theme` (keys and colours as data) | model |
//! | [`tui`] | the console: `ViewState`, pure `update`, panes and popups rendered from `&Snapshot`, event loop | model, config |
//! | [`cli`] | clap commands, exit codes; the composition root | everything |
//!
//! Leaf modules never import each other; only `controller` composes them, and `cli` wires the
//! `tui` to the controller with bare channel ends. The design is in `../shared/ARCHITECTURE.md`.

pub mod cli;
pub mod config;
pub mod model;
pub mod tui;
