//! The console: what an operator sees and presses. It owns only view state ([`ViewState`]);
//! the controller owns the truth and publishes it as a [`Snapshot`]. The UI turns keys into
//! [`UiAction`]s, a pure [`update`] turns actions into at most one [`Command`], and [`render`]
//! draws a frame from `&Snapshot` (the only `&mut` is scroll bookkeeping in `ViewState`).
//!
//! May import `crate::model` and `crate::config` (keymap, theme) only. Must not do IO outside
//! [`run`] (terminal, channels, signals), must never print to stdout while the terminal is
//! ours, and must never mutate anything but `ViewState`.
//!
//! Layout of the module: `state` (view state and dialogs), `action` (keys → actions),
//! `update` + `flows` + `dialogs` + `palette` (pure logic), `rows` (flat view rows), `panes/`,
//! `popups/`, `views/` (one file each), `draw` (the frame), `event_loop` (the one
//! `tokio::select!`), `fixtures` (fabricated snapshots for tests, snapshots and benches).
//!
//! Decisions where the design was silent: `l` is logs (k9s), so vim `l` is not a pane key (`h`
//! still is); pausing needs no confirmation (it is the emergency brake) while resume, sync,
//! promote and rollback do; `:demo …` requests leave the UI as a [`DemoAction`] on their own
//! optional channel (`UiOptions::demo_tx`) because `Command` has no demo verb; the commit message editor confirms with Enter
//! (Alt-Enter inserts a newline) since promotion messages are one line.

mod action;
mod clipboard;
mod contrast;
mod dialogs;
mod draw;
mod event_loop;
pub mod fixtures;
mod flows;
mod inspect;
mod object;
mod palette;
mod panes;
mod popups;
mod rows;
mod state;
mod update;
mod views;

pub use action::{UiAction, translate};
pub use clipboard::osc52;
pub use draw::render;
pub use event_loop::{Error, InspectEnds, UiEvent, UiOptions, run, run_in_terminal};
pub use object::ObjectTab;
pub use palette::{PaletteCommand, parse_palette};
pub use rows::{CommitRow, DriftRow, EnvRow, format_age};
pub use state::{
    Confirm, Cursor, Dialog, InputLine, Pane, PickEntry, Preview, RollbackPicker, Toast,
    TypedConfirm, View, ViewState,
};
pub use update::update;

pub use crate::model::{Command, DemoAction, Notice, Snapshot};
