//! The environments pane: per env, sync, health, desired vs synced revision, drift count and
//! badges (PAUSED, HOLD, running operation, lease holder or "not reconciling" when no
//! controller holds the env's Lease, error); protected envs carry a ◆
//! and the `env.protected` accent. Imports `crate::model` and `crate::config`.
//!
//! An ENGINE column (driftdeck, argocd, flux) follows the name when any env is driven by an
//! in-cluster engine ([`shows_engines`]) and the pane is at least [`ENGINE_COLUMN_WIDTH`]
//! columns wide: an all-driftdeck config keeps its columns' room, and at 80 columns the status
//! badges matter more (the header names the selected env's engine at every width).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use crate::config::theme::{Slot, Theme};
use crate::model::Snapshot;
use crate::tui::panes::{health_slot, pane_block, row_style, sync_slot};
use crate::tui::rows::{Badge, EnvRow, shows_engines};
use crate::tui::state::{Pane, ViewState};

/// The narrowest pane that shows the ENGINE column.
pub const ENGINE_COLUMN_WIDTH: u16 = 100;

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, view: &mut ViewState, theme: &Theme) {
    let focused = view.focus == Pane::Envs;
    let block = pane_block(
        format!("{} ({})", Pane::Envs.title(), snap.envs.len()),
        focused,
        theme,
    );
    let height = usize::from(area.height.saturating_sub(3));
    let range = view.env.window(snap.envs.len(), height);
    let selected = view.env.selected;
    let engines = shows_engines(snap) && area.width >= ENGINE_COLUMN_WIDTH;
    let rows = snap.envs[range.clone()].iter().enumerate().map(|(i, env)| {
        let row = EnvRow::of(env);
        let name_style = if row.protected {
            theme.style(Slot::EnvProtected)
        } else {
            theme.style(Slot::Base)
        };
        // The selection is marked in text too, for monochrome terminals and screen readers.
        let is_selected = range.start + i == selected;
        let marker = match (is_selected, row.protected) {
            (true, true) => "›◆ ",
            (true, false) => "›  ",
            (false, true) => " ◆ ",
            (false, false) => "   ",
        };
        let drift_style = if row.drift > 0 {
            theme.style(Slot::SyncOutOfSync)
        } else {
            theme.style(Slot::Dim)
        };
        let synced_style = if row.synced == row.desired {
            theme.style(Slot::Base)
        } else {
            theme.style(Slot::SyncOutOfSync)
        };
        let badges: Vec<Span> = row
            .badges
            .iter()
            .flat_map(|b| {
                let span = match b {
                    Badge::Health(m) => {
                        Span::styled(m.clone(), theme.style(health_slot(row.health)))
                    }
                    Badge::Paused => Span::styled(" PAUSED ", theme.style(Slot::BadgePaused)),
                    Badge::Hold(rev) => {
                        Span::styled(format!(" HOLD {rev} "), theme.style(Slot::BadgeHold))
                    }
                    // Our own Lease is the normal case, not news: only another holder is
                    // worth the operator's eye ("held by" is what a second console sees).
                    Badge::Lease(holder) if view.holds_lease(holder) => {
                        Span::styled("automation: this console", theme.style(Slot::Dim))
                    }
                    Badge::Lease(holder) => {
                        Span::styled(format!("held by {holder}"), theme.style(Slot::BadgeLease))
                    }
                    Badge::NotReconciling => {
                        Span::styled(" not reconciling ", theme.style(Slot::Stale))
                    }
                    Badge::Operation(op) => {
                        Span::styled(format!("⟳ {op}"), theme.style(Slot::HealthProgressing))
                    }
                    Badge::Error(e) => {
                        Span::styled(format!("✗ {e}"), theme.style(Slot::HealthDegraded))
                    }
                };
                [span, Span::raw(" ")]
            })
            .collect();
        let mut cells = vec![Cell::from(Line::from(vec![
            Span::styled(marker, theme.style(Slot::EnvProtected)),
            Span::styled(row.name, name_style),
        ]))];
        if engines {
            cells.push(Cell::from(Span::styled(
                row.engine.to_string(),
                theme.style(Slot::Dim),
            )));
        }
        cells.extend([
            Cell::from(Span::styled(
                row.sync.to_string(),
                theme.style(sync_slot(row.sync)),
            )),
            Cell::from(Span::styled(
                row.health.to_string(),
                theme.style(health_slot(row.health)),
            )),
            Cell::from(row.desired),
            Cell::from(Span::styled(row.synced, synced_style)),
            Cell::from(Span::styled(row.drift.to_string(), drift_style)),
            Cell::from(Line::from(badges)),
        ]);
        Row::new(cells).style(row_style(is_selected, focused, theme))
    });
    let mut titles = vec!["ENV"];
    if engines {
        titles.push("ENGINE");
    }
    titles.extend(["SYNC", "HEALTH", "DESIRED", "SYNCED", "DRIFT", "STATUS"]);
    let header = Row::new(titles).style(theme.style(Slot::Dim));
    // Wide enough for the longest env name after its 3-column marker (`prod-ap-south` is 13),
    // never narrower than the classic 15 so short names keep their layout.
    let longest = snap.envs.iter().map(|e| e.name.chars().count()).max();
    let name_width = u16::try_from(longest.unwrap_or(0) + 4)
        .unwrap_or(u16::MAX)
        .max(15);
    let mut widths = vec![Constraint::Length(name_width)];
    if engines {
        widths.push(Constraint::Length(9));
    }
    widths.extend([
        Constraint::Length(10),
        Constraint::Length(12),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Min(10),
    ]);
    let table = Table::new(rows, widths).header(header).block(block);
    frame.render_widget(table, area);
}
