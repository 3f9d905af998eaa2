//! The pod-logs and events drill-downs: both show a bounded line buffer held in `ViewState`
//! (filled by the event loop from a source wired in later). Logs follow the tail unless
//! scrolled up. Imports `crate::config` only.

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::config::theme::{Slot, Theme};
use crate::tui::panes::pane_block;
use crate::tui::state::ViewState;

fn tail_lines(buffer: &VecDeque<String>, scroll_up: usize, height: usize) -> Vec<Line<'_>> {
    let end = buffer.len().saturating_sub(scroll_up);
    let start = end.saturating_sub(height);
    buffer
        .range(start..end)
        .map(|l| Line::from(l.as_str()))
        .collect()
}

pub fn render(
    frame: &mut Frame,
    area: Rect,
    view: &mut ViewState,
    theme: &Theme,
    env: &str,
    pod: &str,
) {
    let height = usize::from(area.height.saturating_sub(2));
    // In the logs view "down" means towards the tail: view_scroll counts lines up from it.
    view.view_scroll = view.view_scroll.min(view.logs.len().saturating_sub(height));
    let follow = if view.view_scroll == 0 {
        "following"
    } else {
        "paused"
    };
    let block = pane_block(
        format!("Logs · {env} · {pod} ({follow}, {} lines)", view.logs.len()),
        true,
        theme,
    );
    if view.logs.is_empty() {
        frame.render_widget(
            Paragraph::new("waiting for log lines…")
                .style(theme.style(Slot::Dim))
                .block(block),
            area,
        );
        return;
    }
    let lines = tail_lines(&view.logs, view.view_scroll, height);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

pub fn render_events(
    frame: &mut Frame,
    area: Rect,
    view: &mut ViewState,
    theme: &Theme,
    env: &str,
) {
    let height = usize::from(area.height.saturating_sub(2));
    view.view_scroll = view
        .view_scroll
        .min(view.events.len().saturating_sub(height));
    let block = pane_block(format!("Events · {env}"), true, theme);
    if view.events.is_empty() {
        frame.render_widget(
            Paragraph::new("no events received")
                .style(theme.style(Slot::Dim))
                .block(block),
            area,
        );
        return;
    }
    let lines = tail_lines(&view.events, view.view_scroll, height);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
