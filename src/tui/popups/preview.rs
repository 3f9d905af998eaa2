//! The promotion preview: the rendered diff TO would get (from the controller's
//! `PromotionPreviewed` notice) above the commit message being edited in a ratatui-textarea.
//! Enter confirms (through a typed confirmation when TO is protected); Alt-Enter adds a line.
//! Imports `crate::model` and `crate::config`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::config::theme::{Slot, Theme};
use crate::tui::popups::dialog_frame;
use crate::tui::state::Preview;
use crate::tui::views::diff::diff_lines;

pub fn render(frame: &mut Frame, area: Rect, preview: &mut Preview, theme: &Theme) {
    let slot = if preview.to_protected {
        Slot::EnvProtected
    } else {
        Slot::BorderFocused
    };
    let title = Line::from(format!(
        " Promote {} → {}{} ",
        preview.from,
        preview.to,
        if preview.to_protected {
            " (protected)"
        } else {
            ""
        }
    ));
    let inner = dialog_frame(
        frame,
        area,
        area.width.saturating_sub(6),
        area.height.saturating_sub(2),
        title,
        slot,
        theme,
    );
    let [summary, diff, message, hint] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(4),
        Constraint::Length(1),
    ])
    .areas(inner);
    let summary_text = format!(
        "{} resources would change in {}:",
        preview.drift.len(),
        preview.to
    );
    frame.render_widget(
        Paragraph::new(summary_text).style(theme.style(Slot::Title)),
        summary,
    );
    let mut lines: Vec<Line> = Vec::new();
    for drift in &preview.drift {
        lines.push(Line::from(Span::styled(
            format!("{} {}", drift.kind, drift.key),
            theme.style(Slot::Marker),
        )));
        lines.extend(diff_lines(&drift.diff, theme));
    }
    let max_scroll = lines.len().saturating_sub(usize::from(diff.height));
    preview.scroll = preview.scroll.min(max_scroll);
    let visible: Vec<Line> = lines
        .into_iter()
        .skip(preview.scroll)
        .take(usize::from(diff.height))
        .collect();
    frame.render_widget(Paragraph::new(visible), diff);
    preview.message.set_block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Slot::BorderFocused))
            .title(" commit message "),
    );
    preview
        .message
        .set_cursor_line_style(ratatui::style::Style::default());
    frame.render_widget(&preview.message, message);
    let next = if preview.to_protected {
        " continue to typed confirmation   "
    } else {
        " commit & promote   "
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("Enter", theme.style(Slot::Key)),
            Span::raw(next),
            Span::styled("M-Enter", theme.style(Slot::Key)),
            Span::raw(" newline   "),
            Span::styled("PgUp/PgDn", theme.style(Slot::Key)),
            Span::raw(" scroll diff   "),
            Span::styled("Esc", theme.style(Slot::Key)),
            Span::raw(" cancel"),
        ])),
        hint,
    );
}
