//! The yes/no confirmation: its title and lines name the env and the revision of the command
//! it carries. Imports `crate::config` only.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::config::theme::{Slot, Theme};
use crate::tui::popups::dialog_frame;
use crate::tui::state::Confirm;

pub fn render(frame: &mut Frame, area: Rect, confirm: &Confirm, theme: &Theme) {
    let height = u16::try_from(confirm.lines.len()).unwrap_or(10) + 4;
    let inner = dialog_frame(
        frame,
        area,
        70,
        height,
        Line::from(format!(" {} ", confirm.title)),
        Slot::BorderFocused,
        theme,
    );
    let mut lines: Vec<Line> = confirm
        .lines
        .iter()
        .map(|l| Line::from(l.clone()))
        .collect();
    lines.push(Line::default());
    lines.push(Line::from(vec![
        Span::styled("y/Enter", theme.style(Slot::Key)),
        Span::raw(" confirm   "),
        Span::styled("n/Esc", theme.style(Slot::Key)),
        Span::raw(" cancel"),
    ]));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
