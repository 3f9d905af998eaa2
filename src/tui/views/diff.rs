//! The diff drill-down: one drifted resource's unified diff (live → desired, Secrets already
//! masked by the diff module), coloured by `diff.*` slots, with its drift kind and fields.
//! Imports `crate::model` and `crate::config`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::theme::{Slot, Theme};
use crate::model::{ResourceKey, Snapshot};
use crate::tui::panes::pane_block;
use crate::tui::state::ViewState;
use crate::tui::views::page;

/// A unified diff as styled lines.
pub fn diff_lines<'a>(text: &'a str, theme: &Theme) -> Vec<Line<'a>> {
    text.lines()
        .map(|line| {
            let slot = if line.starts_with("+++") || line.starts_with("---") {
                Slot::Title
            } else if line.starts_with('+') {
                Slot::DiffAdded
            } else if line.starts_with('-') {
                Slot::DiffRemoved
            } else if line.starts_with("@@") {
                Slot::DiffHunk
            } else {
                Slot::DiffContext
            };
            Line::from(Span::styled(line, theme.style(slot)))
        })
        .collect()
}

pub fn render(
    frame: &mut Frame,
    area: Rect,
    snap: &Snapshot,
    view: &mut ViewState,
    theme: &Theme,
    env: &str,
    key: &ResourceKey,
) {
    let drift = snap
        .env(env)
        .and_then(|e| e.drift.iter().find(|d| &d.key == key));
    let block = pane_block(
        format!("Diff · {env} · {key} (live → desired)"),
        true,
        theme,
    );
    let Some(drift) = drift else {
        let text = format!("{key} no longer drifts in {env}: live matches Git");
        frame.render_widget(
            Paragraph::new(text)
                .style(theme.style(Slot::SyncSynced))
                .block(block),
            area,
        );
        return;
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} ", drift.kind), theme.style(Slot::SyncOutOfSync)),
        Span::styled(drift.paths.join(", "), theme.style(Slot::Dim)),
    ])];
    lines.extend(diff_lines(&drift.diff, theme));
    let range = page(
        &mut view.view_scroll,
        lines.len(),
        usize::from(area.height.saturating_sub(2)),
    );
    let visible: Vec<Line> = lines.drain(range).collect();
    frame.render_widget(Paragraph::new(visible).block(block), area);
}
