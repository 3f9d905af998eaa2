//! The main screen's panes, one file each, plus the styling helpers they share (semantic
//! slots for sync and health, the pane frame). Panes draw only the rows that fit (`Cursor::
//! window`), so a 5,000-pod env costs what 20 rows cost.
//!
//! Imports `crate::model` and `crate::config`; no IO.

pub mod commits;
pub mod drift;
pub mod envs;
pub mod footer;
pub mod header;
pub mod pods;
pub mod rollouts;

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use crate::config::theme::{Slot, Theme};
use crate::model::{DriftKind, HealthCode, SyncStatus};

pub fn health_slot(code: HealthCode) -> Slot {
    match code {
        HealthCode::Healthy => Slot::HealthHealthy,
        HealthCode::Progressing => Slot::HealthProgressing,
        HealthCode::Suspended => Slot::HealthSuspended,
        HealthCode::Missing => Slot::HealthMissing,
        HealthCode::Degraded => Slot::HealthDegraded,
        HealthCode::Unknown => Slot::HealthUnknown,
    }
}

pub fn sync_slot(sync: SyncStatus) -> Slot {
    match sync {
        SyncStatus::Synced => Slot::SyncSynced,
        SyncStatus::OutOfSync => Slot::SyncOutOfSync,
        SyncStatus::Unknown => Slot::SyncUnknown,
    }
}

pub fn drift_slot(kind: DriftKind) -> Slot {
    match kind {
        DriftKind::Missing => Slot::HealthMissing,
        DriftKind::Modified => Slot::SyncOutOfSync,
        DriftKind::Extra => Slot::DiffRemoved,
    }
}

/// A pane's frame: focused panes get the focused border and a marker in the title, so focus
/// is visible without colour too.
pub fn pane_block<'a>(title: impl Into<Line<'a>>, focused: bool, theme: &Theme) -> Block<'a> {
    let (border, kind, mark) = if focused {
        (theme.style(Slot::BorderFocused), BorderType::Thick, "▶ ")
    } else {
        (theme.style(Slot::Border), BorderType::Plain, "")
    };
    let mut title_line: Line<'a> = title.into();
    title_line
        .spans
        .insert(0, Span::styled(mark, theme.style(Slot::Title)));
    Block::default()
        .borders(Borders::ALL)
        .border_type(kind)
        .border_style(border)
        .title(title_line.style(theme.style(Slot::Title)))
}

/// The selected-row style when the pane has focus, a dimmer mark otherwise.
pub fn row_style(selected: bool, focused: bool, theme: &Theme) -> Style {
    match (selected, focused) {
        (true, true) => theme.style(Slot::Selected),
        (true, false) => Style::default().add_modifier(ratatui::style::Modifier::UNDERLINED),
        _ => Style::default(),
    }
}
