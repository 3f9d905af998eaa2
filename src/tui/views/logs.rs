//! The pod-logs and events drill-downs, drawn from `ViewState` (filled by the inspection
//! feeder, see `tui::inspect`). Imports `crate::config` and `crate::model` only.
//!
//! Logs follow the tail unless scrolled up (`view_scroll` counts lines up from the tail);
//! the title says what is shown (container, previous, since, tail, follow/paused/ended) and
//! the footer line the view keys. With a filter only matching lines show, the match in the
//! `Marker` slot. With wrap on, the tail window is measured in screen rows so the last line
//! is never cut. Events are newest first, scrolled from the top, warnings in the
//! `HealthDegraded` slot.

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::config::theme::{Slot, Theme};
use crate::tui::inspect::{LogOptions, SINCE_PRESETS, TAIL_PRESETS};
use crate::tui::panes::pane_block;
use crate::tui::rows::format_age_opt;
use crate::tui::state::ViewState;

/// The log lines to draw: the window of `height` screen rows ending `scroll_up` matching
/// lines above the tail. Returns the lines and how many lines match in all.
fn window<'a>(
    buffer: &'a VecDeque<String>,
    needle: &str,
    scroll_up: usize,
    height: usize,
    wrap_width: Option<usize>,
) -> (Vec<&'a str>, usize) {
    let matching: Vec<&str> = buffer
        .iter()
        .map(String::as_str)
        .filter(|l| needle.is_empty() || l.to_lowercase().contains(needle))
        .collect();
    let total = matching.len();
    let end = total.saturating_sub(scroll_up);
    let mut rows = 0;
    let mut start = end;
    while start > 0 {
        let cost = wrap_width.map_or(1, |w| l_rows(matching[start - 1], w));
        if rows + cost > height && rows > 0 {
            break;
        }
        rows += cost;
        start -= 1;
        if rows >= height {
            break;
        }
    }
    (matching[start..end].to_vec(), total)
}

/// Screen rows a line takes when wrapped at `width`.
fn l_rows(line: &str, width: usize) -> usize {
    line.chars().count().div_ceil(width.max(1)).max(1)
}

/// A log line with every match of `needle` (lowercase) highlighted.
pub fn highlighted<'a>(line: &'a str, needle: &str, theme: &Theme) -> Line<'a> {
    if needle.is_empty() {
        return Line::from(line);
    }
    let lower = line.to_lowercase();
    // Lowercasing can change byte lengths (rare non-ASCII): then no highlight, still shown.
    if lower.len() != line.len() {
        return Line::from(line);
    }
    let mut spans = Vec::new();
    let mut at = 0;
    for (i, m) in lower.match_indices(needle) {
        if i < at {
            continue;
        }
        spans.push(Span::raw(&line[at..i]));
        spans.push(Span::styled(
            &line[i..i + m.len()],
            theme.style(Slot::Marker),
        ));
        at = i + m.len();
    }
    spans.push(Span::raw(&line[at..]));
    Line::from(spans)
}

fn log_title(env: &str, pod: &str, opts: &LogOptions, scrolled: bool, count: usize) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &opts.container {
        if opts.containers.len() > 1 {
            parts.push(format!(
                "container {c} (c: {} in pod)",
                opts.containers.len()
            ));
        } else {
            parts.push(format!("container {c}"));
        }
    }
    if opts.previous {
        parts.push("previous".to_owned());
    }
    if let Some(s) = SINCE_PRESETS.get(opts.since).copied().flatten() {
        parts.push(format!("since {}", human_secs(s)));
    }
    match TAIL_PRESETS.get(opts.tail).copied().flatten() {
        Some(t) => parts.push(format!("tail {t}")),
        None => parts.push("all lines".to_owned()),
    }
    let state = if opts.error.is_some() {
        "failed"
    } else if opts.ended || opts.previous || !opts.follow {
        "ended"
    } else if scrolled {
        "paused"
    } else {
        "following"
    };
    parts.push(format!("{state}, {count} lines"));
    if opts.wrap {
        parts.push("wrap".to_owned());
    }
    format!("Logs · {env} · {pod} · {}", parts.join(" · "))
}

fn human_secs(s: i64) -> String {
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

pub fn keys_line<'a>(keys: &[(&'a str, &'a str)], theme: &Theme) -> Line<'a> {
    let mut spans = Vec::new();
    for (key, what) in keys {
        spans.push(Span::styled(*key, theme.style(Slot::Key)));
        spans.push(Span::styled(format!(" {what}  "), theme.style(Slot::Dim)));
    }
    Line::from(spans)
}

pub fn render(
    frame: &mut Frame,
    area: Rect,
    view: &mut ViewState,
    theme: &Theme,
    env: &str,
    pod: &str,
) {
    let [body, keys] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(keys_line(
            &[
                ("f", "follow"),
                ("p", "previous"),
                ("c", "container"),
                ("s", "since"),
                ("t", "tail"),
                ("w", "wrap"),
                ("/", "search"),
            ],
            theme,
        )),
        keys,
    );
    let height = usize::from(body.height.saturating_sub(2));
    let width = usize::from(body.width.saturating_sub(2));
    let needle = view.filter.to_lowercase();
    let wrap = view.log_options.wrap.then_some(width);
    let (_, total) = window(&view.logs, &needle, 0, 0, None);
    // "Up" stops where the first line reaches the top of the screen.
    view.view_scroll = view.view_scroll.min(total.saturating_sub(height));
    let (lines, _) = window(&view.logs, &needle, view.view_scroll, height, wrap);
    let mut title = log_title(
        env,
        pod,
        &view.log_options,
        view.view_scroll > 0,
        view.logs.len(),
    );
    if !needle.is_empty() {
        title.push_str(&format!(" · /{} {total} matching", view.filter));
    }
    let block = pane_block(title, true, theme);
    if let Some(error) = &view.log_options.error {
        frame.render_widget(
            Paragraph::new(error.as_str())
                .style(theme.style(Slot::HealthDegraded))
                .wrap(Wrap { trim: false })
                .block(block),
            body,
        );
        return;
    }
    if lines.is_empty() {
        let text = if view.log_options.ended {
            "the container wrote nothing (p: the previous instance)"
        } else {
            "waiting for log lines…"
        };
        frame.render_widget(
            Paragraph::new(text)
                .style(theme.style(Slot::Dim))
                .block(block),
            body,
        );
        return;
    }
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|l| highlighted(l, &needle, theme))
        .collect();
    let mut paragraph = Paragraph::new(lines).block(block);
    if wrap.is_some() {
        paragraph = paragraph.wrap(Wrap { trim: false });
    }
    frame.render_widget(paragraph, body);
}

pub fn render_events(
    frame: &mut Frame,
    area: Rect,
    view: &mut ViewState,
    theme: &Theme,
    env: &str,
    object: Option<&(String, String)>,
) {
    let [body, keys] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let toggle = if object.is_some() {
        "whole env"
    } else {
        "selected object"
    };
    frame.render_widget(
        Paragraph::new(keys_line(&[("a", toggle), ("esc", "back")], theme)),
        keys,
    );
    let height = usize::from(body.height.saturating_sub(2));
    let warnings = view.events.iter().filter(|e| e.warning).count();
    let scope = object.map_or_else(|| "all objects".to_owned(), |(k, n)| format!("{k}/{n}"));
    let block = pane_block(
        format!(
            "Events · {env} · {scope} · {} ({warnings} warnings), newest first",
            view.events.len()
        ),
        true,
        theme,
    );
    if let Some(error) = &view.events_error {
        frame.render_widget(
            Paragraph::new(error.as_str())
                .style(theme.style(Slot::HealthDegraded))
                .wrap(Wrap { trim: false })
                .block(block),
            body,
        );
        return;
    }
    if view.events.is_empty() {
        let text = if view.events_loaded {
            "no events (the API server keeps them about an hour)"
        } else {
            "loading events…"
        };
        frame.render_widget(
            Paragraph::new(text)
                .style(theme.style(Slot::Dim))
                .block(block),
            body,
        );
        return;
    }
    view.view_scroll = view
        .view_scroll
        .min(view.events.len().saturating_sub(height));
    let object_width = view
        .events
        .iter()
        .map(|e| e.object.chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    let lines: Vec<Line> = view
        .events
        .iter()
        .skip(view.view_scroll)
        .take(height)
        .map(|e| {
            let (kind, style) = if e.warning {
                ("Warning", theme.style(Slot::HealthDegraded))
            } else {
                ("Normal ", theme.style(Slot::Base))
            };
            let count = if e.count > 1 {
                format!(" (x{})", e.count)
            } else {
                String::new()
            };
            Line::from(vec![
                Span::styled(
                    format!("{:>4} ", format_age_opt(view.now, e.last_seen)),
                    theme.style(Slot::Dim),
                ),
                Span::styled(format!("{kind} {:<18} ", e.reason), style),
                Span::styled(
                    format!("{:<object_width$} ", e.object),
                    theme.style(Slot::Dim),
                ),
                Span::styled(format!("{}{count}", e.message), style),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), body);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(lines: &[&str]) -> VecDeque<String> {
        lines.iter().map(|l| (*l).to_owned()).collect()
    }

    #[test]
    fn search_keeps_only_matching_lines_and_counts_them() {
        let b = buffer(&[
            "INFO up",
            "FATAL api: giving up",
            "INFO tick",
            "fatal again",
        ]);
        let (lines, total) = window(&b, "fatal", 0, 10, None);
        assert_eq!(lines, vec!["FATAL api: giving up", "fatal again"]);
        assert_eq!(total, 2);
    }

    #[test]
    fn wrapped_tail_window_ends_with_the_last_line() {
        let long = "x".repeat(25);
        let b = buffer(&["a", &long, "b"]);
        // Width 10: "b" takes 1 row, the long line 3; a 4-row screen holds both, not "a".
        let (lines, _) = window(&b, "", 0, 4, Some(10));
        assert_eq!(lines, vec![long.as_str(), "b"]);
    }

    #[test]
    fn scrolling_up_moves_the_window_off_the_tail() {
        let b = buffer(&["1", "2", "3", "4"]);
        let (lines, _) = window(&b, "", 1, 2, None);
        assert_eq!(lines, vec!["2", "3"]);
    }
}
