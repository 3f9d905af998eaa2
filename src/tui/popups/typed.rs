//! The typed confirmation for protected envs: the command runs only after the env's name is
//! typed exactly (ratatui-textarea). Drawn with the `env.protected` accent.
//! Imports `crate::config` only.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::config::theme::{Slot, Theme};
use crate::tui::popups::{dialog_frame, wrapped_rows};
use crate::tui::state::TypedConfirm;

pub fn render(frame: &mut Frame, area: Rect, typed: &mut TypedConfirm, theme: &Theme) {
    // Borders take 2 columns of the 72; a long commit subject wraps and the dialog grows.
    let text_width = WIDTH.min(area.width.saturating_sub(2)).saturating_sub(2);
    let text_rows = wrapped_rows(&typed.lines, text_width);
    let inner = dialog_frame(
        frame,
        area,
        WIDTH,
        text_rows + 8,
        Line::from(format!(" {} — PROTECTED ", typed.title)),
        Slot::EnvProtected,
        theme,
    );
    let [text, input, hint] = Layout::vertical([
        Constraint::Length(text_rows + 1),
        Constraint::Length(3),
        Constraint::Min(1),
    ])
    .areas(inner);
    let mut lines: Vec<Line> = typed.lines.iter().map(|l| Line::from(l.clone())).collect();
    lines.push(Line::from(vec![
        Span::raw("Type "),
        Span::styled(typed.env.clone(), theme.style(Slot::EnvProtected)),
        Span::raw(" to confirm:"),
    ]));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text);
    typed.input.set_block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Slot::EnvProtected)),
    );
    typed
        .input
        .set_cursor_line_style(ratatui::style::Style::default());
    frame.render_widget(&typed.input, input);
    let hint_line = if typed.mismatch {
        Line::from(Span::styled(
            format!("that is not `{}` — nothing was sent", typed.env),
            theme.style(Slot::ToastError),
        ))
    } else {
        Line::from(vec![
            Span::styled("Enter", theme.style(Slot::Key)),
            Span::raw(" confirm   "),
            Span::styled("Esc", theme.style(Slot::Key)),
            Span::raw(" cancel"),
        ])
    };
    frame.render_widget(Paragraph::new(hint_line), hint);
}

/// The dialog's width, borders included.
const WIDTH: u16 = 72;
