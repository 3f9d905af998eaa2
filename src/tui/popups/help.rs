//! Help, generated from the keymap (the same table as the footer): every action with its keys
//! and description, mutating ones left out in read-only mode; then the palette grammar.
//! Imports `crate::model` and `crate::config`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::theme::{Slot, Theme};
use crate::model::Snapshot;
use crate::tui::palette::USAGE;
use crate::tui::popups::dialog_frame;
use crate::tui::state::ViewState;

/// Help's lines as (keys, description), for rendering and tests.
pub fn entries(view: &ViewState, snap: &Snapshot) -> Vec<(String, &'static str)> {
    let read_only = view.is_read_only(snap);
    view.keymap
        .bindings()
        .iter()
        .filter(|(action, keys)| !(keys.is_empty() || (read_only && action.is_mutating())))
        .map(|(action, keys)| {
            let keys: Vec<String> = keys.iter().map(|k| k.label()).collect();
            (keys.join(" "), action.description())
        })
        .collect()
}

pub fn render(
    frame: &mut Frame,
    area: Rect,
    snap: &Snapshot,
    view: &ViewState,
    scroll: usize,
    theme: &Theme,
) {
    let entries = entries(view, snap);
    let mut lines: Vec<Line> = entries
        .into_iter()
        .map(|(keys, description)| {
            Line::from(vec![
                Span::styled(format!("{keys:>16}"), theme.style(Slot::Key)),
                Span::raw("  "),
                Span::raw(description),
            ])
        })
        .collect();
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        "command palette (:)",
        theme.style(Slot::Title),
    )));
    for part in USAGE.split(" | ") {
        lines.push(Line::from(format!("  :{part}")));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        "in the object views (y)",
        theme.style(Slot::Title),
    )));
    lines.push(Line::from(format!("  {}", crate::tui::object::KEYS)));
    lines.push(Line::default());
    lines.push(Line::from(vec![
        Span::styled("◆", theme.style(Slot::EnvProtected)),
        Span::raw(" protected env (type its name to confirm)   "),
        Span::styled("◀", theme.style(Slot::Marker)),
        Span::raw(" env runs this commit"),
    ]));
    let height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let title = if view.is_read_only(snap) {
        " Help (read-only) · j/k scroll · Esc close "
    } else {
        " Help · j/k scroll · Esc close "
    };
    let inner = dialog_frame(
        frame,
        area,
        76,
        height,
        Line::from(title),
        Slot::BorderFocused,
        theme,
    );
    let scroll = scroll.min(lines.len().saturating_sub(usize::from(inner.height)));
    let visible: Vec<Line> = lines.into_iter().skip(scroll).collect();
    frame.render_widget(Paragraph::new(visible), inner);
}
