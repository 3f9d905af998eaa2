//! The header line (repo, branch, HEAD, context of the selected env, READ-ONLY badge, UTC
//! clock from the last tick) and the hold banner shown when the selected env has a hold.
//! Imports `crate::model` and `crate::config`.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::theme::{Slot, Theme};
use crate::model::{EnvState, Hold, Snapshot, short_sha};
use crate::tui::rows::format_age;
use crate::tui::state::ViewState;

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, view: &ViewState, theme: &Theme) {
    let style = theme.style(Slot::Header);
    let head = snap
        .repo
        .head
        .as_ref()
        .map_or("-".to_owned(), |c| c.short_sha().to_owned());
    let env = view.selected_env(snap);
    let context = env.map_or("-", |e| e.context.as_str());
    let mut spans = vec![
        Span::styled(" driftdeck ", theme.style(Slot::Title)),
        Span::raw(format!(" {} ", snap.repo.url)),
        Span::styled("⎇ ", theme.style(Slot::Dim)),
        Span::raw(format!("{} ", snap.repo.branch)),
        Span::styled("HEAD ", theme.style(Slot::Dim)),
        Span::styled(format!("{head} "), theme.style(Slot::Marker)),
        Span::styled("ctx ", theme.style(Slot::Dim)),
    ];
    let ctx_style = if env.is_some_and(|e| e.protected) {
        theme.style(Slot::EnvProtected)
    } else {
        style
    };
    spans.push(Span::styled(format!("{context} "), ctx_style));
    if view.is_read_only(snap) {
        spans.push(Span::styled(
            " READ-ONLY ",
            theme.style(Slot::BadgeReadOnly),
        ));
    }
    if let Some(error) = &snap.repo.error {
        spans.push(Span::styled(
            format!(" git: {error} "),
            theme.style(Slot::ToastError),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(style), area);
    // Minutes only: a seconds clock would redraw an idle console every second.
    let clock = view.now.strftime("%H:%M UTC ").to_string();
    frame.render_widget(
        Paragraph::new(clock)
            .alignment(Alignment::Right)
            .style(style),
        area,
    );
}

pub fn render_hold_banner(
    frame: &mut Frame,
    area: Rect,
    env: &EnvState,
    hold: &Hold,
    now: Timestamp,
    theme: &Theme,
) {
    // Most important first: a narrow terminal cuts the tail, not the env or the revisions.
    let text = format!(
        " ⚠ HOLD {} @ {} · {} will not be redeployed · {} · by {} {} ago · resume to release",
        env.name,
        short_sha(&hold.revision),
        short_sha(&hold.bad_revision),
        hold.reason,
        hold.by,
        format_age(now, hold.at),
    );
    frame.render_widget(
        Paragraph::new(text).style(theme.style(Slot::BannerHold)),
        area,
    );
}
