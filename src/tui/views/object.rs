//! The object views (live YAML, desired YAML, describe) of one resource, drawn from
//! [`ViewState::object`] through [`object::lines`] — the same lines search and copy use.
//! The title names the tab and the object (the env is the header's `ctx`), and whether managedFields are shown; the
//! bottom line the view keys. Search matches are highlighted and counted in the title.
//! Describe's Warning events are in the `HealthDegraded` slot. Imports `crate::model` and
//! `crate::config` only.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::config::theme::{Slot, Theme};
use crate::model::ResourceKey;
use crate::tui::object::{self, ObjectTab};
use crate::tui::panes::pane_block;
use crate::tui::state::ViewState;
use crate::tui::views::logs::{highlighted, keys_line};
use crate::tui::views::page;

pub fn render(
    frame: &mut Frame,
    area: Rect,
    view: &mut ViewState,
    theme: &Theme,
    key: &ResourceKey,
) {
    let [body, keys] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let managed = if view.object_managed { "hide" } else { "show" };
    frame.render_widget(
        Paragraph::new(keys_line(
            &[
                ("1", "live"),
                ("2", "desired"),
                ("3", "describe"),
                ("m", managed),
                ("]/[", "resource"),
                ("/ n", "search"),
                ("c", "copy"),
                ("esc", "back"),
            ],
            theme,
        )),
        keys,
    );
    let lines = object::lines(view);
    let needle = view.filter.to_lowercase();
    // The env is in the header (`ctx`); the title keeps what a narrow screen must not cut
    // first: the object, then the search count, then the managedFields state.
    let mut title = format!("{} · {key}", view.object_tab.title());
    if !needle.is_empty() {
        let hits = lines
            .iter()
            .filter(|l| l.to_lowercase().contains(&needle))
            .count();
        title.push_str(&format!(" · /{} {hits} matching", view.filter));
    }
    if view.object_tab == ObjectTab::Live && view.object.is_some() {
        title.push_str(if view.object_managed {
            " · managedFields shown"
        } else {
            " · managedFields hidden"
        });
    }
    let range = page(
        &mut view.view_scroll,
        lines.len(),
        usize::from(body.height.saturating_sub(2)),
    );
    let describe = view.object_tab == ObjectTab::Describe;
    let visible: Vec<Line> = lines[range]
        .iter()
        .map(|l| {
            let line = highlighted(l, &needle, theme);
            if l.starts_with('✗') || (describe && l.contains(" Warning ")) {
                line.style(theme.style(Slot::HealthDegraded))
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(
        Paragraph::new(visible)
            .style(theme.style(Slot::Base))
            .block(pane_block(title, true, theme)),
        body,
    );
}
