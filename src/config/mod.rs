//! Configuration: the config file, the keymap and the colour themes. This worktree's copy only
//! declares the keymap and theme submodules; the config helper's `mod.rs` owns everything else
//! and the lead merges the two. Imports only `crate::model`.

pub mod keymap;
pub mod theme;
