//! The error popup: the controller's reason for a refusal or a failed operation, verbatim.
//! Imports `crate::config` only.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::config::theme::{Slot, Theme};
use crate::tui::popups::dialog_frame;

pub fn render(frame: &mut Frame, area: Rect, title: &str, message: &str, theme: &Theme) {
    let rows = u16::try_from(message.len() / 60 + message.lines().count()).unwrap_or(10);
    let inner = dialog_frame(
        frame,
        area,
        70,
        rows + 5,
        Line::from(format!(" ✗ {title} ")),
        Slot::HealthDegraded,
        theme,
    );
    let lines = vec![
        Line::from(message.to_owned()),
        Line::default(),
        Line::from(vec![
            Span::styled("Enter/Esc", theme.style(Slot::Key)),
            Span::raw(" close"),
        ]),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
