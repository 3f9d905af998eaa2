//! Watch mode, for a wall monitor: no input needed, one large colour-filled tile per env
//! (health in big letters, sync, synced revision, drift, image versions, badges; see
//! [`wall`]), below them the last operations of every env and the detail of one env, rotating
//! every few seconds among the envs that need eyes (Degraded, OutOfSync, in error) when there
//! are any. The top line says how old the data is ("updated 12s ago", from
//! `Snapshot.taken_at`) and turns into a stale warning past twice the poll interval.
//!
//! Staleness per env comes from its last *successful* observation
//! ([`ViewState::last_good_of`]): an unreachable cluster's failed observations keep a fresh
//! `observed_at`, which must not read as fresh data. Past [`stale_limit`] (2 × the poll
//! interval, at most 30 s) the tile gets a STALE badge and the header says which env is stale
//! since when. Draws only from the snapshot, the view state and the tick's clock, so memory
//! stays flat however long it runs. Imports `crate::model` and `crate::config`.
//!
//! Layout: the tiles take 55 % of a screen of 30 rows or more (the old 9 rows below that, so
//! 80×24 keeps room for the detail); detail and operations sit side by side from 100 columns,
//! stacked below. The header's clock has its own cell so a long stale warning cannot run
//! into it. The rollout strip ([`crate::tui::panes::rollouts`], one line per rollout) sits
//! under the top line, above the tiles; the tiles keep their height, the detail gives the rows.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::config::theme::{Slot, Theme};
use jiff::Timestamp;

use crate::model::{EnvState, HealthCode, HistoryEntry, OperationResult, Snapshot, short_sha};
use crate::tui::panes::health_slot;
use crate::tui::rows::{DriftRow, format_age};
use crate::tui::state::ViewState;
use crate::tui::views::wall;

/// Seconds since the snapshot was taken, if known.
pub fn data_age(snap: &Snapshot, view: &ViewState) -> Option<i64> {
    snap.taken_at
        .map(|t| (view.now.as_second() - t.as_second()).max(0))
}

/// Whether the data is older than twice the poll interval.
pub fn is_stale(snap: &Snapshot, view: &ViewState) -> bool {
    let limit = i64::try_from(view.poll_interval.as_secs().saturating_mul(2)).unwrap_or(i64::MAX);
    data_age(snap, view).is_none_or(|age| age > limit)
}

/// How old an env's last successful observation may be: 2 × the poll interval, at most 30 s.
pub fn stale_limit(view: &ViewState) -> i64 {
    i64::try_from(view.poll_interval.as_secs().saturating_mul(2))
        .unwrap_or(i64::MAX)
        .min(30)
}

/// `Some(last good observation)` when `env` is stale (`Some(None)`: never observed well).
pub fn env_stale(env: &EnvState, view: &ViewState) -> Option<Option<Timestamp>> {
    let good = view.last_good_of(env);
    match good {
        Some(t) if view.now.as_second() - t.as_second() <= stale_limit(view) => None,
        other => Some(other),
    }
}

/// The header's stale warning, short enough for 120 columns beside the clock: one env is
/// named with its time; several share the oldest time ("since" the first to go quiet).
fn stale_header(stale: &[(&EnvState, Option<Timestamp>)], view: &ViewState) -> String {
    let names: Vec<&str> = stale.iter().map(|(e, _)| e.name.as_str()).collect();
    let oldest = stale.iter().filter_map(|(_, t)| *t).min();
    let never = stale.iter().all(|(_, t)| t.is_none());
    match oldest {
        _ if never => format!("STALE: {} never observed", names.join(", ")),
        Some(t) => format!(
            "STALE since {}: {} ({} ago)",
            t.strftime("%H:%M:%S"),
            names.join(", "),
            format_age(view.now, t)
        ),
        None => format!("STALE: {}", names.join(", ")),
    }
}

/// Rows for the tiles: over half the screen on a wall, so the big text has room; the old
/// compact height on small terminals, where the detail matters more.
fn tile_rows(height: u16) -> u16 {
    if height >= 30 {
        height.saturating_sub(1) * 11 / 20
    } else {
        9.min(height / 2)
    }
}

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, view: &ViewState, theme: &Theme) {
    let [top, rollouts, tiles, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(crate::tui::panes::rollouts::height(snap)),
        Constraint::Length(tile_rows(area.height)),
        Constraint::Min(3),
    ])
    .areas(area);
    render_top(frame, top, snap, view, theme);
    crate::tui::panes::rollouts::render(frame, rollouts, snap, view.now, theme);
    if snap.envs.is_empty() {
        return;
    }
    let columns = Layout::horizontal(
        snap.envs
            .iter()
            .map(|_| Constraint::Ratio(1, u32::try_from(snap.envs.len()).unwrap_or(1))),
    )
    .split(tiles);
    for (i, (env, rect)) in snap.envs.iter().zip(columns.iter()).enumerate() {
        wall::render_tile(frame, *rect, env, snap, view, theme, i == view.watch_index);
    }
    // Side by side where both fit a useful width; stacked (detail first) otherwise.
    let (detail, operations) = if bottom.width >= 100 {
        let [d, o] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(bottom);
        (d, o)
    } else {
        let [d, o] = Layout::vertical([Constraint::Min(3), Constraint::Length(5)]).areas(bottom);
        (d, o)
    };
    render_detail(frame, detail, snap, view, theme);
    render_operations(frame, operations, snap, view.now, theme);
}

fn render_top(frame: &mut Frame, top: Rect, snap: &Snapshot, view: &ViewState, theme: &Theme) {
    let age = data_age(snap, view);
    let freshness = match age {
        Some(secs) => format!("updated {secs}s ago"),
        None => "no data yet".to_owned(),
    };
    let mut spans = vec![
        Span::styled(" driftdeck watch ", theme.style(Slot::Title)),
        Span::raw(format!(" {} ⎇ {}  ", snap.repo.url, snap.repo.branch)),
    ];
    let stale: Vec<(&EnvState, Option<Timestamp>)> = snap
        .envs
        .iter()
        .filter_map(|e| env_stale(e, view).map(|since| (e, since)))
        .collect();
    // The warning goes first when there is one, so a narrow screen cuts the repo, not it.
    if !stale.is_empty() {
        spans.insert(
            1,
            Span::styled(
                format!(" {} ", stale_header(&stale, view)),
                theme.style(Slot::Stale),
            ),
        );
    } else if is_stale(snap, view) {
        spans.insert(
            1,
            Span::styled(
                format!(
                    " STALE: {freshness} (poll every {}s) ",
                    view.poll_interval.as_secs()
                ),
                theme.style(Slot::Stale),
            ),
        );
    } else {
        spans.push(Span::styled(freshness, theme.style(Slot::Dim)));
    }
    let clock = view.now.strftime(" %H:%M:%S UTC ").to_string();
    let clock_width = u16::try_from(clock.chars().count()).unwrap_or(u16::MAX);
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(clock_width)]).areas(top);
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme.style(Slot::Header)),
        left,
    );
    frame.render_widget(
        Paragraph::new(clock)
            .alignment(Alignment::Right)
            .style(theme.style(Slot::Header)),
        right,
    );
}

fn render_detail(frame: &mut Frame, area: Rect, snap: &Snapshot, view: &ViewState, theme: &Theme) {
    let Some(env) = snap
        .envs
        .get(view.watch_index.min(snap.envs.len().saturating_sub(1)))
    else {
        return;
    };
    let height = usize::from(area.height.saturating_sub(2));
    let mut lines = Vec::new();
    if !env.health.message.is_empty() {
        lines.push(Line::from(Span::styled(
            env.health.message.clone(),
            theme.style(health_slot(env.health.code)),
        )));
    }
    if let Some(error) = &env.error {
        lines.push(Line::from(Span::styled(
            format!("✗ {error}"),
            theme.style(Slot::HealthDegraded),
        )));
    }
    for drift in env.drift.iter().take(height / 2) {
        let row = DriftRow::of(drift);
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:<9}", row.kind.to_string()),
                theme.style(Slot::SyncOutOfSync),
            ),
            Span::raw(row.resource),
            Span::styled(format!("  {}", row.fields), theme.style(Slot::Dim)),
        ]));
    }
    let unhealthy = env.pods.iter().filter(|p| p.health != HealthCode::Healthy);
    for pod in unhealthy.take(height.saturating_sub(lines.len())) {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:<18}", pod.status),
                theme.style(health_slot(pod.health)),
            ),
            Span::raw(format!("{}  restarts {}  ", pod.name, pod.restarts)),
            Span::styled(pod.reason.clone(), theme.style(Slot::Dim)),
        ]));
    }
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(
            format!(
                "{}: all {} pods healthy, live matches Git",
                env.name,
                env.pods.len()
            ),
            theme.style(Slot::HealthHealthy),
        )));
    }
    let last = env
        .history
        .first()
        .map(|h| {
            format!(
                " · last {} {} {} ago",
                h.op,
                h.result,
                format_age(view.now, h.started)
            )
        })
        .unwrap_or_default();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Slot::Border))
        .title(Line::from(format!(" {} detail{last} ", env.name)).style(theme.style(Slot::Title)));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `HH:MM:SS` within the last day, `Mon DD HH:MM` before: a wall shows no raw timestamps, and
/// yesterday's 03:45 must not read as today's.
fn when(t: Timestamp, now: Timestamp) -> String {
    if now.as_second() - t.as_second() < 86_400 {
        t.strftime("%H:%M:%S").to_string()
    } else {
        t.strftime("%b %d %H:%M").to_string()
    }
}

/// The last operations across every env, newest first: when, env, what, result, revision,
/// who, and the failure reason — so a self-heal or a failed sync outlives its toast.
fn render_operations(
    frame: &mut Frame,
    area: Rect,
    snap: &Snapshot,
    now: Timestamp,
    theme: &Theme,
) {
    let height = usize::from(area.height.saturating_sub(2));
    let mut entries: Vec<(&EnvState, &HistoryEntry)> = snap
        .envs
        .iter()
        .flat_map(|e| e.history.iter().take(height).map(move |h| (e, h)))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.1.started));
    // The env column fits the longest name shown (at least 10), so a long one never runs into
    // the operation's word.
    let w = entries
        .iter()
        .take(height)
        .map(|(e, _)| e.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(10);
    let lines: Vec<Line> = entries
        .into_iter()
        .take(height)
        .map(|(env, h)| {
            let result_slot = match h.result {
                OperationResult::Succeeded => Slot::HealthHealthy,
                OperationResult::Failed => Slot::HealthDegraded,
                _ => Slot::HealthProgressing,
            };
            let mut spans = vec![
                Span::styled(format!("{} ", when(h.started, now)), theme.style(Slot::Dim)),
                Span::raw(format!("{:<w$} {} ", env.name, h.op)),
                Span::styled(format!("{}", h.result), theme.style(result_slot)),
                Span::raw(format!(" {} by {}", short_sha(&h.revision), h.operator)),
            ];
            if let Some(why) = &h.failure {
                spans.push(Span::styled(
                    format!(" · {why}"),
                    theme.style(Slot::HealthDegraded),
                ));
            }
            Line::from(spans)
        })
        .collect();
    let lines = if lines.is_empty() {
        vec![Line::from(Span::styled(
            "no operations recorded yet",
            theme.style(Slot::Dim),
        ))]
    } else {
        lines
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Slot::Border))
        .title(Line::from(" last operations ").style(theme.style(Slot::Title)));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::UiAction;
    use crate::tui::fixtures;
    use crate::tui::update::update;

    fn at(secs: i64) -> Timestamp {
        fixtures::NOW
            .checked_add(jiff::SignedDuration::from_secs(secs))
            .unwrap_or(fixtures::NOW)
    }

    #[test]
    fn an_unreachable_env_goes_stale_from_its_last_good_observation() {
        let mut snap = fixtures::demo_healthy();
        let mut view = fixtures::view_state();
        view.watch_mode = true;
        update(&mut view, &snap, UiAction::Tick(at(0)));
        let good = view.last_good_of(&snap.envs[2]);
        assert!(good.is_some());
        assert!(env_stale(&snap.envs[2], &view).is_none());
        // The cluster dies: every failed observation is "fresh", but carries an error.
        let known = snap.envs[2].health.code;
        snap.envs[2].error = Some("cluster unreachable: connection refused".into());
        snap.envs[2].health.code = HealthCode::Unknown;
        for secs in [10, 20, 40] {
            snap.envs[2].observed_at = Some(at(secs));
            update(&mut view, &snap, UiAction::Tick(at(secs)));
        }
        assert_eq!(env_stale(&snap.envs[2], &view), Some(good));
        // The tile's "last known" is the health of the last good observation, not Unknown.
        assert_eq!(view.last_good_health.get("production"), Some(&known));
        assert_ne!(known, HealthCode::Unknown);
        // Back: fresh again.
        snap.envs[2].error = None;
        update(&mut view, &snap, UiAction::Tick(at(40)));
        assert_eq!(env_stale(&snap.envs[2], &view), None);
    }

    #[test]
    fn the_header_names_the_stale_envs_and_since_when() {
        let snap = fixtures::demo_healthy();
        let mut view = fixtures::view_state();
        view.now = at(45);
        let stale: Vec<(&EnvState, Option<Timestamp>)> =
            vec![(&snap.envs[0], Some(at(0))), (&snap.envs[2], Some(at(5)))];
        let text = stale_header(&stale, &view);
        assert!(text.starts_with("STALE since "), "{text}");
        assert!(text.contains(": dev, production ("), "{text}");
        assert!(text.ends_with("(45s ago)"), "{text}");
    }

    #[test]
    fn the_stale_limit_is_twice_the_poll_but_at_most_30_seconds() {
        let mut view = fixtures::view_state();
        view.poll_interval = std::time::Duration::from_secs(5);
        assert_eq!(stale_limit(&view), 10);
        view.poll_interval = std::time::Duration::from_secs(60);
        assert_eq!(stale_limit(&view), 30);
    }

    #[test]
    fn watch_mode_pins_the_unhealthy_env_in_the_detail() {
        let snap = fixtures::degraded_with_hold();
        let mut view = fixtures::view_state();
        view.watch_mode = true;
        for step in 0..4 {
            update(&mut view, &snap, UiAction::Tick(at(8 * step)));
            assert_eq!(view.watch_index, 2, "production is Degraded");
        }
    }
}
