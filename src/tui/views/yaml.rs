//! The resource YAML drill-down. Until the controller sends whole objects, the desired YAML
//! is reconstructed from the drift's unified diff (its context and added lines), which the
//! diff module has already Secret-masked — so nothing unmasked can reach this view.
//! Imports `crate::model` and `crate::config`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::config::theme::{Slot, Theme};
use crate::model::{ResourceKey, Snapshot};
use crate::tui::panes::pane_block;
use crate::tui::state::ViewState;
use crate::tui::views::page;

/// The desired side of a unified diff, without diff markers.
pub fn desired_side(diff: &str) -> Vec<&str> {
    diff.lines()
        .filter(|l| !l.starts_with("---") && !l.starts_with("+++") && !l.starts_with("@@"))
        .filter(|l| !l.starts_with('-'))
        .map(|l| l.get(1..).unwrap_or(""))
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
    let block = pane_block(
        format!("YAML · {env} · {key} (desired; diff context only)"),
        true,
        theme,
    );
    let drift = snap
        .env(env)
        .and_then(|e| e.drift.iter().find(|d| &d.key == key));
    let lines: Vec<Line> = match drift {
        Some(d) => desired_side(&d.diff).into_iter().map(Line::from).collect(),
        None => vec![Line::from("no YAML available for this resource")],
    };
    let range = page(
        &mut view.view_scroll,
        lines.len(),
        usize::from(area.height.saturating_sub(2)),
    );
    let visible: Vec<Line> = lines[range].to_vec();
    frame.render_widget(
        Paragraph::new(visible)
            .style(theme.style(Slot::Base))
            .block(block),
        area,
    );
}
