//! The footer, generated from the keymap (so it cannot advertise a key that does something
//! else): in read-only mode mutating actions are absent. While a filter or palette line is
//! being typed, the footer is that line. Also the tab strip of the compact layout.
//! Imports `crate::model` and `crate::config`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::keymap::Action;
use crate::config::theme::{Slot, Theme};
use crate::model::Snapshot;
use crate::tui::state::{InputLine, Pane, View, ViewState};

/// The footer's (key, label) pairs for the current state.
pub fn entries(view: &ViewState, snap: &Snapshot) -> Vec<(String, &'static str)> {
    let read_only = view.is_read_only(snap);
    let actions: &[Action] = if view.view == View::Main {
        &[
            Action::Enter,
            Action::Sync,
            Action::Promote,
            Action::PauseResume,
            Action::Rollback,
            Action::Diff,
            Action::Logs,
            Action::Filter,
            Action::Palette,
            Action::Help,
            Action::Quit,
        ]
    } else {
        &[
            Action::Back,
            Action::Up,
            Action::Down,
            Action::Help,
            Action::Quit,
        ]
    };
    actions
        .iter()
        .filter(|a| !(read_only && a.is_mutating()))
        .filter_map(|a| {
            let key = view.keymap.label_for(*a)?;
            let label = a.footer_label().unwrap_or(match a {
                Action::Back => "back",
                Action::Up | Action::Down => "scroll",
                _ => a.name(),
            });
            Some((key, label))
        })
        .collect()
}

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, view: &ViewState, theme: &Theme) {
    if let Some(input) = &view.input {
        let (prompt, text) = match input {
            InputLine::Filter(t) => ("/", t),
            InputLine::Palette(t) => (":", t),
        };
        let line = Line::from(vec![
            Span::styled(prompt, theme.style(Slot::Key)),
            Span::raw(text.clone()),
            Span::styled("█", theme.style(Slot::Dim)),
            Span::styled("   Enter run · Esc cancel", theme.style(Slot::Dim)),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let mut spans = Vec::new();
    if view.is_read_only(snap) {
        spans.push(Span::styled(
            " READ-ONLY ",
            theme.style(Slot::BadgeReadOnly),
        ));
        spans.push(Span::raw(" "));
    }
    for (key, label) in entries(view, snap) {
        spans.push(Span::styled(key, theme.style(Slot::Key)));
        spans.push(Span::styled(format!(" {label}  "), theme.style(Slot::Dim)));
    }
    if !view.filter.is_empty() {
        spans.push(Span::styled(
            format!("filter: {}", view.filter),
            theme.style(Slot::Marker),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The compact layout's tab strip naming the detail pane shown.
pub fn render_tabs(frame: &mut Frame, area: Rect, shown: Pane, theme: &Theme) {
    let mut spans = vec![Span::styled(" Tab: ", theme.style(Slot::Dim))];
    for pane in [Pane::Commits, Pane::Drift, Pane::Pods] {
        let style = if pane == shown {
            theme.style(Slot::Selected)
        } else {
            theme.style(Slot::Dim)
        };
        spans.push(Span::styled(format!(" {} ", pane.title()), style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
