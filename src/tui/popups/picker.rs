//! The rollback picker: the env's revisions, newest first, with time, author, the result of
//! the last operation that applied each, and a marker on the one running now.
//! Imports `crate::model` and `crate::config`.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::config::theme::{Slot, Theme};
use crate::model::{OperationResult, short_sha};
use crate::tui::panes::row_style;
use crate::tui::popups::dialog_frame;
use crate::tui::rows::format_age;
use crate::tui::state::RollbackPicker;

pub fn render(
    frame: &mut Frame,
    area: Rect,
    picker: &mut RollbackPicker,
    now: Timestamp,
    theme: &Theme,
) {
    let height = u16::try_from(picker.entries.len())
        .unwrap_or(u16::MAX)
        .saturating_add(5);
    let inner = dialog_frame(
        frame,
        area,
        100,
        height,
        Line::from(format!(" Roll back {} to… ", picker.env)),
        Slot::BorderFocused,
        theme,
    );
    let [list, hint] = Layout::vertical([Constraint::Min(2), Constraint::Length(1)]).areas(inner);
    let range = picker.cursor.window(
        picker.entries.len(),
        usize::from(list.height.saturating_sub(1)),
    );
    let selected = picker.cursor.selected;
    let rows: Vec<Row> = picker.entries[range.clone()]
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let (result, slot) = match e.result {
                Some(OperationResult::Succeeded) => ("Succeeded", Slot::HealthHealthy),
                Some(OperationResult::Failed) => ("Failed", Slot::HealthDegraded),
                Some(OperationResult::Interrupted) => ("Interrupted", Slot::HealthMissing),
                Some(OperationResult::Running) => ("Running", Slot::HealthProgressing),
                None => ("-", Slot::Dim),
            };
            let mark = if range.start + i == selected {
                "› "
            } else {
                "  "
            };
            Row::new(vec![
                Cell::from(Span::styled(
                    format!("{mark}{}", short_sha(&e.sha)),
                    theme.style(Slot::Marker),
                )),
                Cell::from(e.time.strftime("%Y-%m-%d %H:%M").to_string()),
                Cell::from(format_age(now, e.time)),
                Cell::from(e.author.clone()),
                Cell::from(Span::styled(result, theme.style(slot))),
                Cell::from(Span::styled(
                    if e.current { "◀ running" } else { "" },
                    theme.style(Slot::Marker),
                )),
                Cell::from(e.summary.clone()),
            ])
            .style(row_style(range.start + i == selected, true, theme))
        })
        .collect();
    let header = Row::new([
        "  SHA",
        "TIME (UTC)",
        "AGE",
        "AUTHOR",
        "RESULT",
        "",
        "SUMMARY",
    ])
    .style(theme.style(Slot::Dim));
    let table = Table::new(
        rows,
        [
            Constraint::Length(9),
            Constraint::Length(16),
            Constraint::Length(4),
            Constraint::Length(8),
            Constraint::Length(11),
            Constraint::Length(9),
            Constraint::Min(10),
        ],
    )
    .header(header);
    frame.render_widget(table, list);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("↑↓", theme.style(Slot::Key)),
            Span::raw(" choose   "),
            Span::styled("Enter", theme.style(Slot::Key)),
            Span::raw(" roll back to it   "),
            Span::styled("Esc", theme.style(Slot::Key)),
            Span::raw(" cancel"),
        ])),
        hint,
    );
}
