//! The controller: the reconcile loop. Owns the per-env decision engine ([`engine`], pure,
//! sans-IO) and — merged in by the lead — the async driver that executes its effects.
//!
//! May import `model`, `config`, `source`, `render`, `diff`, `health`, `cluster`; it is the only
//! writer of the `Snapshot`. The engine half imports only `model`.

pub mod engine;
