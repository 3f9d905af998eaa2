//! Toasts: the newest notices, stacked at the bottom right, expiring after a few seconds (the
//! tick drops them). Imports `crate::config` only.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Clear, Paragraph};

use crate::config::theme::{Slot, Theme};
use crate::tui::state::ViewState;

pub fn render(frame: &mut Frame, area: Rect, view: &ViewState, theme: &Theme) {
    let max_width = area.width.saturating_sub(4).min(70);
    for (i, toast) in view.toasts.iter().rev().take(3).enumerate() {
        let text = format!(" {} ", toast.text);
        let width = u16::try_from(text.chars().count())
            .unwrap_or(u16::MAX)
            .min(max_width);
        // Bottom right, above the footer: dialogs are centred, so toasts do not hide them.
        let Some(y) = area.bottom().checked_sub(2 + u16::try_from(i).unwrap_or(0)) else {
            break;
        };
        if y <= area.y || width == 0 {
            break;
        }
        let rect = Rect {
            x: area.right().saturating_sub(width + 1),
            y,
            width,
            height: 1,
        };
        let slot = if toast.error {
            Slot::ToastError
        } else {
            Slot::ToastInfo
        };
        frame.render_widget(Clear, rect);
        frame.render_widget(Paragraph::new(text).style(theme.style(slot)), rect);
    }
}
