//! The header line (repo, branch, HEAD, context of the selected env, READ-ONLY badge, the
//! global ALL PAUSED badge of the emergency stop, UTC clock from the last tick) and the hold
//! banner shown when the selected env has a hold ([`hold_banner_text`]: each of who, why and
//! when once, fitted to the width by cutting the reason, never `HOLD env at rev`).
//! Imports `crate::model` and `crate::config`. A line too long for the pane names the
//! repository by its last path segment, so at 80 columns a long checkout path gives way before
//! the context, engine and badges.
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

/// The last path segment of a repository path or URL (`…/deploy.git` → `deploy.git`).
fn repo_name(url: &str) -> &str {
    let trimmed = url.trim_end_matches('/');
    trimmed
        .rsplit(['/', ':'])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(trimmed)
}

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, view: &ViewState, theme: &Theme) {
    let style = theme.style(Slot::Header);
    let head = snap
        .repo
        .head
        .as_ref()
        .map_or("-".to_owned(), |c| c.short_sha().to_owned());
    let env = view.selected_env(snap);
    let context = env.map_or("-", |e| e.context.as_str());
    // The repository's span, shortened when the line is too long (below).
    let mut repo_at = 1;
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
    // Which engine drives the selected env, once any env is not driftdeck's own.
    if let Some(env) = env.filter(|_| crate::tui::rows::shows_engines(snap)) {
        spans.push(Span::styled("engine ", theme.style(Slot::Dim)));
        spans.push(Span::styled(format!("{} ", env.engine), style));
    }
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
        repo_at += 1;
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
    let mut line = Line::from(spans);
    // Too long for the pane (the last span's trailing space is padding, not content): the
    // repository is named by its last path segment, so a long local path or URL gives way
    // before the context, engine and badges do.
    let trailing = line
        .spans
        .last()
        .map_or(0, |s| s.content.len() - s.content.trim_end().len());
    if line.width().saturating_sub(trailing) > usize::from(left.width) {
        line.spans[repo_at].content = format!(" {} ", repo_name(&snap.repo.url)).into();
    }
    frame.render_widget(Paragraph::new(line).style(style), left);
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
    let text = hold_banner_text(&env.name, hold, now, usize::from(area.width));
    frame.render_widget(
        Paragraph::new(text).style(theme.style(Slot::BannerHold)),
        area,
    );
}

/// The hold banner for `width` columns, each fact once: what is held where (`HOLD env at
/// rev`, always whole), the bad revision, who set it and when, why, and how it ends.
///
/// When the line is too long, the parts give way in this order: the "how it ends" hint is
/// shortened, then dropped (`status` and the resume dialog say it too); the bad revision is
/// shortened; the reason is cut with `…` (at least a few columns of it stay); then the bad
/// revision goes, so that who/why/when stay on an 80-column line; only when not even
/// `HOLD env at rev · by who when` fits is the line itself cut.
pub fn hold_banner_text(env: &str, hold: &Hold, now: Timestamp, width: usize) -> String {
    let rev = short_sha(&hold.revision);
    let bad = short_sha(&hold.bad_revision);
    let head = format!(" ⚠ HOLD {env} at {rev}");
    // An engine env held with Git at what is deployed has no bad revision to name.
    let (bad_long, bad_short) = if bad.is_empty() {
        (String::new(), String::new())
    } else {
        (
            format!(" · {bad} will not be redeployed"),
            format!(" (bad {bad})"),
        )
    };
    let who = format!(" · by {} {} ago", hold.by, format_age(now, hold.at));
    let why = hold_reason(hold);
    let end_long = format!(" · ends on resume or when Git renders {rev} again (revert in Git)");
    let end_short = " · ends on resume or revert in Git".to_owned();
    // (bad revision, end hint, fewest reason columns; `None`: the whole reason), fullest first.
    let layouts: [(&str, &str, Option<usize>); 7] = [
        (&bad_long, &end_long, None),
        (&bad_long, &end_short, None),
        (&bad_long, "", None),
        (&bad_short, "", None),
        (&bad_short, "", Some(REASON_COLUMNS)),
        ("", "", Some(REASON_COLUMNS)),
        ("", "", Some(2)),
    ];
    for (bad, end, fewest) in layouts {
        if why.is_empty() {
            let line = format!("{head}{bad}{who}{end}");
            if columns(&line) <= width {
                return line;
            }
            continue;
        }
        let fixed = columns(&head) + columns(bad) + columns(&who) + columns(end) + 3;
        let room = width.saturating_sub(fixed);
        let reason = if columns(&why) <= room {
            why.clone()
        } else {
            match fewest {
                Some(fewest) if room >= fewest => cut(&why, room),
                _ => continue,
            }
        };
        return format!("{head}{bad}{who} · {reason}{end}");
    }
    cut(&format!("{head}{who}"), width)
}

/// Columns the reason keeps before the bad revision gives way.
const REASON_COLUMNS: usize = 16;

/// The hold's reason without the operator: holds written by earlier versions say "rollback by
/// WHO", and the banner names who once, in its own place.
fn hold_reason(hold: &Hold) -> String {
    let by = format!(" by {}", hold.by);
    hold.reason
        .strip_suffix(&by)
        .unwrap_or(&hold.reason)
        .trim()
        .to_owned()
}

fn columns(text: &str) -> usize {
    Span::raw(text).width()
}

/// `text` in at most `width` columns, ending in `…` when cut.
fn cut(text: &str, width: usize) -> String {
    if columns(text) <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = columns(c.encode_utf8(&mut [0; 4]));
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
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

    fn hold(by: &str, reason: &str) -> Hold {
        Hold {
            revision: "d4c9e04aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
            bad_revision: "f6a81c2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".into(),
            by: by.into(),
            at: Timestamp::UNIX_EPOCH,
            reason: reason.into(),
        }
    }

    #[test]
    fn hold_banner_names_who_why_when_once_within_the_width() {
        let now = Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_secs(300);
        let holds = [
            // As earlier versions wrote a manual rollback's hold: the reason names who too.
            hold("ana@ops-laptop/4242", "rollback by ana@ops-laptop/4242"),
            hold("ana@ops-laptop/4242", "manual rollback"),
            hold(
                "driftdeck (auto-rollback)",
                "auto-rollback: validation failed: log-api: 2 of 3 pods in CrashLoopBackOff \
                 (back-off 5m0s restarting failed container log-api)",
            ),
        ];
        for hold in &holds {
            for width in [40, 60, 80, 100, 120, 200] {
                let text = hold_banner_text("production", hold, now, width);
                assert!(columns(&text) <= width, "{width}: {text:?}");
                assert!(
                    text.starts_with(" ⚠ HOLD production at d4c9e04"),
                    "{width}: {text:?}"
                );
                assert!(text.matches(" by ").count() <= 1, "{width}: {text:?}");
                if width >= 80 {
                    assert_eq!(text.matches(" by ").count(), 1, "{width}: {text:?}");
                    assert_eq!(text.matches(&hold.by).count(), 1, "{width}: {text:?}");
                    assert!(
                        text.contains(" 5m ago · "),
                        "who and when: {width}: {text:?}"
                    );
                    let why = hold_reason(hold);
                    let shown = text.split(" ago · ").nth(1).unwrap_or("");
                    assert!(
                        shown.starts_with(&why) || why.starts_with(shown.trim_end_matches('…')),
                        "why: {width}: {text:?}"
                    );
                    assert!(
                        shown.trim_end_matches('…').len() >= why.len().min(8),
                        "reason cut to nothing: {width}: {text:?}"
                    );
                }
            }
        }
        let wide = hold_banner_text("production", &holds[0], now, 200);
        assert_eq!(
            wide,
            " ⚠ HOLD production at d4c9e04 · f6a81c2 will not be redeployed · by \
             ana@ops-laptop/4242 5m ago · rollback · ends on resume or when Git renders d4c9e04 \
             again (revert in Git)"
        );
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
