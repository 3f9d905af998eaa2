//! Popups drawn over the screen, one file each: confirm, typed confirm, promotion preview,
//! rollback picker, error, help, and the toast stack. Every confirmation names the env and the
//! revision its command carries. Imports `crate::model` and `crate::config`.

pub mod confirm;
pub mod error;
pub mod help;
pub mod picker;
pub mod preview;
pub mod toasts;
pub mod typed;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use crate::config::theme::{Slot, Theme};
use crate::model::Snapshot;
use crate::tui::state::{Dialog, ViewState};

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, view: &mut ViewState, theme: &Theme) {
    match &mut view.dialog {
        None => {}
        Some(Dialog::Confirm(c)) => confirm::render(frame, area, c, theme),
        Some(Dialog::Typed(t)) => typed::render(frame, area, t, theme),
        Some(Dialog::Preview(p)) => preview::render(frame, area, p, theme),
        Some(Dialog::Picker(p)) => picker::render(frame, area, p, view.now, theme),
        Some(Dialog::Error { title, message }) => error::render(frame, area, title, message, theme),
        Some(Dialog::Help { scroll }) => {
            let scroll = *scroll;
            help::render(frame, area, snap, view, scroll, theme);
        }
    }
    toasts::render(frame, area, view, theme);
}

/// A centred rectangle of at most `width`×`height`, cleared, with a titled frame; returns the
/// inner area.
/// Rows `lines` take word-wrapped to `width` columns, counted by ratatui's own wrapping, so a
/// dialog is tall enough for a long commit subject and its key hints stay on screen.
pub fn wrapped_rows(lines: &[String], width: u16) -> u16 {
    let text: Vec<Line> = lines.iter().map(|l| Line::from(l.as_str())).collect();
    let rows = Paragraph::new(text)
        .wrap(Wrap { trim: false })
        .line_count(width.max(1));
    u16::try_from(rows).unwrap_or(u16::MAX)
}

pub fn dialog_frame(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    height: u16,
    title: Line<'_>,
    slot: Slot,
    theme: &Theme,
) -> Rect {
    let width = width.min(area.width.saturating_sub(2)).max(1);
    let height = height.min(area.height.saturating_sub(2)).max(1);
    let rect = Rect {
        x: area.x + (area.width.saturating_sub(width)) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.style(slot))
        .title(title.style(theme.style(Slot::Title)))
        .style(theme.style(Slot::Base));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}
