//! The history pane: the selected env's commits, newest first, with markers naming every env
//! whose synced revision is that commit (`◀ dev staging`), so "which commit runs where" is read
//! off one column. Imports `crate::model` and `crate::config`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table};

use crate::config::theme::{Slot, Theme};
use crate::model::Snapshot;
use crate::tui::panes::{pane_block, row_style};
use crate::tui::rows::{CommitRow, commit_matches, matching, rows_in};
use crate::tui::state::{Pane, ViewState};

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, view: &mut ViewState, theme: &Theme) {
    let focused = view.focus == Pane::Commits;
    let Some(env) = view.selected_env(snap) else {
        frame.render_widget(pane_block(Pane::Commits.title(), focused, theme), area);
        return;
    };
    let title = format!(
        "{} · {} ({})",
        Pane::Commits.title(),
        env.path,
        env.commits.len()
    );
    let block = pane_block(title, focused, theme);
    let height = usize::from(area.height.saturating_sub(3));
    let matched = matching(&env.commits, &view.filter, commit_matches);
    let len = matched.as_ref().map_or(env.commits.len(), Vec::len);
    let range = view.commits.window(len, height);
    let selected = view.commits.selected;
    let visible: Vec<(usize, CommitRow)> = rows_in(&env.commits, matched.as_deref(), range.clone())
        .map(|(i, commit)| (i, CommitRow::of(commit, snap, view.now)))
        .collect();
    let running_text = |row: &CommitRow| {
        if row.running.is_empty() {
            String::new()
        } else {
            format!("◀ {}", row.running.join(","))
        }
    };
    // The marker column is as wide as the widest marker shown (bounded), so env names are
    // never cut while the summary keeps the rest.
    let running_width = visible
        .iter()
        .map(|(_, row)| running_text(row).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(7, 26);
    let rows: Vec<Row> = visible
        .into_iter()
        .map(|(index, row)| {
            let running = running_text(&row);
            Row::new(vec![
                Cell::from(Span::styled(row.short, theme.style(Slot::Marker))),
                Cell::from(Span::styled(row.age, theme.style(Slot::Dim))),
                Cell::from(row.author),
                Cell::from(Span::styled(running, theme.style(Slot::Marker))),
                Cell::from(row.summary),
            ])
            .style(row_style(index == selected, focused, theme))
        })
        .collect();
    let header =
        Row::new(["SHA", "AGE", "AUTHOR", "RUNNING", "SUMMARY"]).style(theme.style(Slot::Dim));
    let table = Table::new(
        rows,
        [
            Constraint::Length(7),
            Constraint::Length(4),
            Constraint::Length(6),
            Constraint::Length(u16::try_from(running_width).unwrap_or(7)),
            Constraint::Min(10),
        ],
    )
    .header(header)
    .block(block);
    frame.render_widget(table, area);
}
