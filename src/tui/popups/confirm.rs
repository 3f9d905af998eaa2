//! The yes/no confirmation: its title and lines name the env and the revision of the command
//! it carries. Imports `crate::config` only.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::config::theme::{Slot, Theme};
use crate::tui::popups::{dialog_frame, wrapped_rows};
use crate::tui::state::Confirm;

pub fn render(frame: &mut Frame, area: Rect, confirm: &Confirm, theme: &Theme) {
    // Borders take 2 columns of the 70; a long commit subject wraps and the dialog grows.
    let text_width = WIDTH.min(area.width.saturating_sub(2)).saturating_sub(2);
    let height = wrapped_rows(&confirm.lines, text_width).saturating_add(4);
    let inner = dialog_frame(
        frame,
        area,
        WIDTH,
        height,
        Line::from(format!(" {} ", confirm.title)),
        Slot::BorderFocused,
        theme,
    );
    let lines: Vec<Line> = confirm
        .lines
        .iter()
        .map(|l| Line::from(l.clone()))
        .collect();
    // The key hints keep the last row even when the screen is too short for every line.
    let [text, hints] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text);
    let keys = Line::from(vec![
        Span::styled("y/Enter", theme.style(Slot::Key)),
        Span::raw(" confirm   "),
        Span::styled("n/Esc", theme.style(Slot::Key)),
        Span::raw(" cancel"),
    ]);
    frame.render_widget(Paragraph::new(keys), hints);
}

/// The dialog's width, borders included.
const WIDTH: u16 = 70;
