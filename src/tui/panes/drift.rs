//! The drift pane: one row per drifted resource of the selected env (kind, resource, changed
//! fields); Enter or `d` opens the coloured unified diff. When the env's observation failed
//! (sync Unknown or an error set) it shows the error and when data was last good instead of
//! any claim about drift. Imports `crate::model` and `crate::config`.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use crate::config::theme::{Slot, Theme};
use crate::model::{EnvState, Snapshot, SyncStatus};
use crate::tui::panes::{drift_slot, pane_block, row_style};
use crate::tui::rows::{DriftRow, drift_matches, format_age, matching, rows_in};
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
    if let Some(lines) = unknown_lines(env, view.now, theme) {
        // No claim about drift can be made from data that failed to arrive: "live matches
        // Git" here would be the most dangerous line on the screen.
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(block),
            area,
        );
        return;
    }
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

/// The pane's text when the env's live state is not known: the error and the age of the last
/// good observation. `None` when the data can be trusted.
fn unknown_lines(env: &EnvState, now: Timestamp, theme: &Theme) -> Option<Vec<Line<'static>>> {
    if env.sync != SyncStatus::Unknown && env.error.is_none() {
        return None;
    }
    let headline = match &env.error {
        Some(_) => format!("{}: live state could not be read", env.name),
        None => format!("{}: live state not known yet", env.name),
    };
    let mut lines = vec![Line::from(Span::styled(headline, theme.style(Slot::Stale)))];
    if let Some(error) = &env.error {
        lines.push(Line::from(Span::styled(
            error.clone(),
            theme.style(Slot::ToastError),
        )));
    }
    let last_good = match env.observed_at {
        Some(at) => format!(
            "last good data: {} ago ({})",
            format_age(now, at),
            at.strftime("%H:%M:%S UTC")
        ),
        None => "no good data yet: drift unknown".to_owned(),
    };
    lines.push(Line::from(Span::styled(last_good, theme.style(Slot::Dim))));
    if !env.drift.is_empty() {
        lines.push(Line::from(Span::styled(
            "drift as last seen, may be out of date:",
            theme.style(Slot::Dim),
        )));
        for drift in &env.drift {
            let row = DriftRow::of(drift);
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{:<8}", row.kind),
                    theme.style(drift_slot(row.kind)),
                ),
                Span::raw(row.resource),
            ]));
        }
    }
    Some(lines)
}
