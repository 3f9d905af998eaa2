//! One frame: `render(frame, &Snapshot, &mut ViewState, &Theme)`. Lays out header, hold
//! banner, body (panes or a drill-down), footer or input line, then dialogs and toasts on top.
//! Wide terminals (≥ 100×30) show all panes; smaller ones stack the env pane over one detail
//! pane chosen with Tab (the compact layout), so 80×24 stays usable. The rollout strip (one
//! line per rollout, [`panes::rollouts`]) sits right under the env pane in both layouts and
//! takes its rows from the detail panes, never from the env rows.
//!
//! Imports `crate::model` and `crate::config`; never does IO, never sends commands. The only
//! mutation is of cursors' scroll offsets, so the selection stays visible.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use crate::config::theme::Theme;
use crate::model::Snapshot;
use crate::tui::panes;
use crate::tui::popups;
use crate::tui::state::{Pane, View, ViewState};
use crate::tui::views;

/// Below this size the compact layout is used.
const WIDE_MIN: (u16, u16) = (100, 30);

pub fn render(frame: &mut Frame, snap: &Snapshot, view: &mut ViewState, theme: &Theme) {
    let area = frame.area();
    frame.render_widget(
        ratatui::widgets::Block::default().style(theme.style(crate::config::theme::Slot::Base)),
        area,
    );
    if view.watch_mode {
        views::watch::render(frame, area, snap, view, theme);
        popups::render(frame, area, snap, view, theme);
        return;
    }
    let hold = view
        .selected_env(snap)
        .and_then(|e| e.hold.as_ref().map(|h| (e, h)));
    let [header, banner, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(hold.is_some())),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    panes::header::render(frame, header, snap, view, theme);
    if let Some((env, hold)) = hold {
        panes::header::render_hold_banner(frame, banner, env, hold, view.now, theme);
    }
    match view.view.clone() {
        View::Main => render_panes(frame, body, snap, view, theme),
        View::Diff { env, key } => views::diff::render(frame, body, snap, view, theme, &env, &key),
        View::Object { key, .. } => views::object::render(frame, body, view, theme, &key),
        View::Versions => views::versions::render(frame, body, snap, view, theme),
        View::Logs { env, pod } => views::logs::render(frame, body, view, theme, &env, &pod),
        View::Events { env, object } => {
            views::logs::render_events(frame, body, view, theme, &env, object.as_ref());
        }
    }
    panes::footer::render(frame, footer, snap, view, theme);
    popups::render(frame, area, snap, view, theme);
}

fn render_panes(
    frame: &mut Frame,
    area: Rect,
    snap: &Snapshot,
    view: &mut ViewState,
    theme: &Theme,
) {
    let env_rows = u16::try_from(snap.envs.len()).unwrap_or(u16::MAX);
    let strip = panes::rollouts::height(snap);
    let wide = area.width >= WIDE_MIN.0 && area.height + 2 >= WIDE_MIN.1;
    if wide {
        let [envs, rollouts, middle, pods] = Layout::vertical([
            Constraint::Length(env_rows.saturating_add(3).min(area.height / 3)),
            Constraint::Length(strip),
            Constraint::Percentage(55),
            Constraint::Min(5),
        ])
        .areas(area);
        let [commits, drift] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(middle);
        panes::envs::render(frame, envs, snap, view, theme);
        panes::rollouts::render(frame, rollouts, snap, view.now, theme);
        panes::commits::render(frame, commits, snap, view, theme);
        panes::drift::render(frame, drift, snap, view, theme);
        panes::pods::render(frame, pods, snap, view, theme);
    } else {
        let [envs, rollouts, tabs, detail] = Layout::vertical([
            Constraint::Length(env_rows.saturating_add(3).min(area.height / 2)),
            Constraint::Length(strip),
            Constraint::Length(1),
            Constraint::Min(3),
        ])
        .areas(area);
        panes::envs::render(frame, envs, snap, view, theme);
        panes::rollouts::render(frame, rollouts, snap, view.now, theme);
        let shown = if view.focus == Pane::Envs {
            view.last_detail
        } else {
            view.focus
        };
        panes::footer::render_tabs(frame, tabs, shown, theme);
        match shown {
            Pane::Commits => panes::commits::render(frame, detail, snap, view, theme),
            Pane::Pods => panes::pods::render(frame, detail, snap, view, theme),
            Pane::Drift | Pane::Envs => panes::drift::render(frame, detail, snap, view, theme),
        }
    }
}
