//! Watch mode, for a wall monitor: no input needed, one large tile per env (name, sync,
//! health, synced revision, drift, badges), and below them the detail of one env, rotating
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

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use crate::config::theme::{Slot, Theme};
use jiff::Timestamp;

use crate::model::{EnvState, HealthCode, Snapshot, SyncStatus, short_sha};
use crate::tui::panes::{health_slot, sync_slot};
use crate::tui::rows::{DriftRow, format_age};
use crate::tui::state::ViewState;

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
            "STALE: {} since {} ({} ago)",
            names.join(", "),
            t.strftime("%H:%M:%S"),
            format_age(view.now, t)
        ),
        None => format!("STALE: {}", names.join(", ")),
    }
}

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, view: &ViewState, theme: &Theme) {
    let [top, tiles, detail] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(9.min(area.height / 2)),
        Constraint::Min(3),
    ])
    .areas(area);
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
    if !stale.is_empty() {
        spans.push(Span::styled(
            format!(" {} ", stale_header(&stale, view)),
            theme.style(Slot::Stale),
        ));
    } else if is_stale(snap, view) {
        spans.push(Span::styled(
            format!(
                " STALE: {freshness} (poll every {}s) ",
                view.poll_interval.as_secs()
            ),
            theme.style(Slot::Stale),
        ));
    } else {
        spans.push(Span::styled(freshness, theme.style(Slot::Dim)));
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme.style(Slot::Header)),
        top,
    );
    frame.render_widget(
        Paragraph::new(view.now.strftime("%H:%M:%S UTC ").to_string())
            .alignment(Alignment::Right)
            .style(theme.style(Slot::Header)),
        top,
    );
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
        let worst = env.health.code;
        let border = if i == view.watch_index {
            theme.style(Slot::BorderFocused)
        } else if worst == HealthCode::Degraded || env.sync == SyncStatus::OutOfSync {
            theme.style(health_slot(HealthCode::Degraded))
        } else {
            theme.style(Slot::Border)
        };
        let name_style = if env.protected {
            theme.style(Slot::EnvProtected)
        } else {
            theme.style(Slot::Title)
        };
        let mut lines = vec![
            Line::from(Span::styled(env.name.to_uppercase(), name_style))
                .alignment(Alignment::Center),
            Line::default(),
            Line::from(Span::styled(
                format!("{}", env.sync),
                theme.style(sync_slot(env.sync)),
            ))
            .alignment(Alignment::Center),
            Line::from(Span::styled(
                format!("{}", env.health.code),
                theme.style(health_slot(env.health.code)),
            ))
            .alignment(Alignment::Center),
            Line::from(format!(
                "{} · drift {}",
                env.synced_revision.as_deref().map_or("-", short_sha),
                env.drift.len()
            ))
            .alignment(Alignment::Center),
        ];
        let mut badges = Vec::new();
        if env_stale(env, view).is_some() {
            badges.push(Span::styled(" STALE ", theme.style(Slot::Stale)));
        }
        if env.lease_holder.is_none() {
            badges.push(Span::styled(" not reconciling ", theme.style(Slot::Stale)));
        }
        if env.paused.is_some() {
            badges.push(Span::styled(" PAUSED ", theme.style(Slot::BadgePaused)));
        }
        if let Some(hold) = &env.hold {
            badges.push(Span::styled(
                format!(" HOLD {} ", short_sha(&hold.revision)),
                theme.style(Slot::BadgeHold),
            ));
        }
        lines.push(Line::from(badges).alignment(Alignment::Center));
        let tile = Paragraph::new(lines)
            .style(theme.style(Slot::WatchTile))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_type(BorderType::Thick)
                    .border_style(border),
            );
        frame.render_widget(tile, *rect);
    }
    render_detail(frame, detail, snap, view, theme);
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
        snap.envs[2].error = Some("cluster unreachable: connection refused".into());
        for secs in [10, 20, 40] {
            snap.envs[2].observed_at = Some(at(secs));
            update(&mut view, &snap, UiAction::Tick(at(secs)));
        }
        assert_eq!(env_stale(&snap.envs[2], &view), Some(good));
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
        assert!(text.starts_with("STALE: dev, production since "), "{text}");
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
