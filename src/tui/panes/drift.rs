//! The drift pane: one row per drifted resource of the selected env (kind, resource, changed
//! fields); Enter or `d` opens the coloured unified diff. Imports `crate::model` and
//! `crate::config`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::config::theme::{Slot, Theme};
use crate::model::Snapshot;
use crate::tui::panes::{drift_slot, pane_block, row_style};
use crate::tui::rows::{DriftRow, drift_matches, matching, rows_in};
use crate::tui::state::{Pane, ViewState};

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, view: &mut ViewState, theme: &Theme) {
    let focused = view.focus == Pane::Drift;
    let Some(env) = view.selected_env(snap) else {
        frame.render_widget(pane_block(Pane::Drift.title(), focused, theme), area);
        return;
    };
    let count = env.drift_count();
    let title = format!(
        "{} · {} ({} missing, {} modified, {} extra)",
        Pane::Drift.title(),
        env.name,
        count.missing,
        count.modified,
        count.extra
    );
    let block = pane_block(title, focused, theme);
    if env.drift.is_empty() {
        let text = format!("{}: live matches Git", env.name);
        frame.render_widget(
            Paragraph::new(text)
                .style(theme.style(Slot::Dim))
                .block(block),
            area,
        );
        return;
    }
    let height = usize::from(area.height.saturating_sub(3));
    let matched = matching(&env.drift, &view.filter, drift_matches);
    let len = matched.as_ref().map_or(env.drift.len(), Vec::len);
    let range = view.drift.window(len, height);
    let selected = view.drift.selected;
    let rows: Vec<Row> = rows_in(&env.drift, matched.as_deref(), range.clone())
        .map(|(i, drift)| {
            let row = DriftRow::of(drift);
            Row::new(vec![
                Cell::from(Span::styled(
                    row.kind.to_string(),
                    theme.style(drift_slot(row.kind)),
                )),
                Cell::from(row.resource),
                Cell::from(Span::styled(row.fields, theme.style(Slot::Dim))),
            ])
            .style(row_style(i == selected, focused, theme))
        })
        .collect();
    let header = Row::new(["KIND", "RESOURCE", "FIELDS"]).style(theme.style(Slot::Dim));
    let table = Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Percentage(55),
            Constraint::Min(10),
        ],
    )
    .header(header)
    .block(block);
    frame.render_widget(table, area);
}
