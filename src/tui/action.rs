//! What reaches [`crate::tui::update`]: keymap actions, raw keys for dialogs and text fields,
//! notices from the controller and clock ticks. [`translate`] is the one place a key press is
//! interpreted, so a dialog can never be answered by a keymap action by accident.
//!
//! Imports `crate::model` and `crate::config`; pure.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use jiff::Timestamp;

use crate::config::keymap::Action;
use crate::model::{InspectChunk, Notice};
use crate::tui::state::ViewState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiAction {
    /// A keymap action (no dialog or text field open).
    Act(Action),
    /// A raw key for the open dialog or text field.
    Key(KeyEvent),
    Notice(Notice),
    /// A key of the open logs or events view (follow, previous, container, …), see
    /// `tui::inspect`; these shadow the keymap only inside those views.
    ViewKey(char),
    /// The inspection feeder answered.
    Inspected(InspectChunk),
    /// The clock moved; toasts expire and watch mode rotates.
    Tick(Timestamp),
}

/// The action a key press means right now; `None` for unbound keys and key releases.
pub fn translate(view: &ViewState, event: KeyEvent) -> Option<UiAction> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    // Ctrl-C always leaves, whatever the keymap or the open dialog says.
    if event.code == KeyCode::Char('c') && event.modifiers.contains(KeyModifiers::CONTROL) {
        return Some(UiAction::Act(Action::Quit));
    }
    if view.wants_raw_keys() {
        return Some(UiAction::Key(event));
    }
    if let KeyCode::Char(c) = event.code
        && !event
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        && crate::tui::inspect::is_view_key(view, c)
    {
        return Some(UiAction::ViewKey(c));
    }
    view.keymap.action_for(&event).map(UiAction::Act)
}
