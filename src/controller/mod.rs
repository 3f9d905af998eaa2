//! The controller: the only module that composes the leaf modules (config, source, render,
//! diff, health, cluster). Today it holds the pipeline's first stage — what Git wants for an
//! env at a revision ([`desired`]); the reconcile engine and its async driver follow.
//!
//! May import model, config, source, render, diff, health, cluster. Must not import tui.

mod desired;

pub use desired::{
    Desired, DesiredError, GitFs, cache_dir, desired, env_path, open_source, renderer_for,
};
