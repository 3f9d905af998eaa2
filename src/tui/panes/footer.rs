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
use crate::tui::flows::PREVIEW_PENDING;
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
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for action in actions {
        if read_only && action.is_mutating() {
            continue;
        }
        let Some(key) = view.keymap.label_for(*action) else {
            continue;
        };
        match action {
            // One entry for both scroll keys.
            Action::Up => continue,
            Action::Down => {
                let up = view.keymap.label_for(Action::Up).unwrap_or_default();
                out.push((format!("{up}/{key}"), "scroll"));
            }
            Action::Back => out.push((key, "back")),
            other => out.push((key, other.footer_label().unwrap_or(other.name()))),
        }
    }
    out
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
    if let Some((from, to)) = &view.awaiting_preview {
        // Toasts expire; a slow preview must still say it is coming and how to give up.
        spans.push(Span::styled(
            format!(" {PREVIEW_PENDING} {from} → {to}… "),
            theme.style(Slot::Marker),
        ));
        let back = view.keymap.label_for(Action::Back).unwrap_or_default();
        spans.push(Span::styled(
            format!(" {back} cancel  "),
            theme.style(Slot::Dim),
        ));
    }
    if view.is_read_only(snap) {
        spans.push(Span::styled(
            " READ-ONLY ",
            theme.style(Slot::BadgeReadOnly),
        ));
        spans.push(Span::raw(" "));
    }
    let mut entries = entries(view, snap);
    let used: usize = spans.iter().map(|s| s.width()).sum();
    fit(&mut entries, usize::from(area.width).saturating_sub(used));
    for (key, label) in entries {
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

/// Drops the least needed entries until the footer fits; help and quit always stay, since
/// help lists everything dropped.
fn fit(entries: &mut Vec<(String, &'static str)>, width: usize) {
    let len = |e: &[(String, &'static str)]| -> usize {
        e.iter()
            .map(|(k, l)| k.chars().count() + l.chars().count() + 3)
            .sum()
    };
    for droppable in ["open", "filter", "logs", "diff", "cmd", "scroll"] {
        if len(entries) <= width {
            return;
        }
        entries.retain(|(_, label)| *label != droppable);
    }
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
