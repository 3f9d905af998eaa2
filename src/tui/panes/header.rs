//! The header line (repo, branch, HEAD, context of the selected env, READ-ONLY badge, the
//! global ALL PAUSED badge of the emergency stop, UTC clock from the last tick) and the hold
//! banner shown when the selected env has a hold.
//! Imports `crate::model` and `crate::config`.
//!
//! The emergency stop (`pause --all`, from any console or the CLI) is cluster-held per env, so
//! every console sees it from its own snapshot: when every env is paused the header says so,
//! with who and why, whichever env is selected.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
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
    // The emergency stop is the most important thing on the line: right after the name, so a
    // narrow terminal cuts the repo and context, not it.
    if let Some(stop) = all_paused(snap) {
        spans.insert(
            1,
            Span::styled(format!(" {stop} "), theme.style(Slot::BannerHold)),
        );
    }
    if let Some(error) = &snap.repo.error {
        spans.push(Span::styled(
            format!(" git: {error} "),
            theme.style(Slot::ToastError),
        ));
    }
    // Minutes only: a seconds clock would redraw an idle console every second. The clock has
    // its own cell, so a long badge (ALL PAUSED with its reason) is cut before it, never drawn
    // over it.
    let clock = view.now.strftime(" %H:%M UTC ").to_string();
    let clock_width = u16::try_from(clock.chars().count()).unwrap_or(u16::MAX);
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(clock_width)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(style), left);
    frame.render_widget(
        Paragraph::new(clock)
            .alignment(Alignment::Right)
            .style(style),
        right,
    );
}

/// `⏸ ALL PAUSED by who: why` when every env is paused (the emergency stop); `None` otherwise.
/// Several pausers are named as the first one's and a count.
pub fn all_paused(snap: &Snapshot) -> Option<String> {
    let pauses: Vec<_> = snap.envs.iter().map(|e| e.paused.as_ref()).collect();
    let first = (*pauses.first()?)?;
    if pauses.iter().any(Option::is_none) {
        return None;
    }
    let why = if first.reason.is_empty() {
        String::new()
    } else {
        format!(": {}", first.reason)
    };
    let others = pauses
        .iter()
        .flatten()
        .filter(|p| p.by != first.by || p.reason != first.reason)
        .count();
    let more = if others == 0 {
        String::new()
    } else {
        format!(" (+{others} other pauses)")
    };
    Some(format!("⏸ ALL PAUSED by {}{why}{more}", first.by))
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
        " ⚠ HOLD {} @ {} · {} will not be redeployed · {} · by {} {} ago · ends on resume or \
         when Git renders {} again (revert in Git)",
        env.name,
        short_sha(&hold.revision),
        short_sha(&hold.bad_revision),
        hold.reason,
        hold.by,
        format_age(now, hold.at),
        short_sha(&hold.revision),
    );
    frame.render_widget(
        Paragraph::new(text).style(theme.style(Slot::BannerHold)),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EnvState, Pause};

    fn paused(name: &str, by: &str, reason: &str) -> EnvState {
        let mut env = EnvState::unknown(name);
        env.paused = Some(Pause {
            by: by.into(),
            at: Timestamp::UNIX_EPOCH,
            reason: reason.into(),
        });
        env
    }

    #[test]
    fn all_paused_names_who_and_why_only_when_every_env_is_paused() {
        let mut snap = Snapshot {
            envs: vec![
                paused("dev", "ana@ops/7", "incident 42"),
                paused("staging", "ana@ops/7", "incident 42"),
                EnvState::unknown("production"),
            ],
            ..Snapshot::default()
        };
        assert_eq!(all_paused(&snap), None);
        snap.envs[2] = paused("production", "ana@ops/7", "incident 42");
        assert_eq!(
            all_paused(&snap).as_deref(),
            Some("⏸ ALL PAUSED by ana@ops/7: incident 42")
        );
        snap.envs[2] = paused("production", "bo@ops/9", "maintenance");
        assert_eq!(
            all_paused(&snap).as_deref(),
            Some("⏸ ALL PAUSED by ana@ops/7: incident 42 (+1 other pauses)")
        );
        assert_eq!(all_paused(&Snapshot::default()), None);
    }
}
