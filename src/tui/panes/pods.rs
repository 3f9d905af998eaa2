//! The pods pane: the selected env's pods with status, ready, restarts, age and reason; rows
//! are coloured by the pod's health and sorted worst health first, then by name
//! ([`rows::pod_order`](crate::tui::rows::pod_order)), so a crash-looping pod is the first
//! row. `u` (pods pane focused) shows only the pods that are not Healthy.
//! Imports `crate::model` and `crate::config`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table};

use crate::config::theme::{Slot, Theme};
use crate::model::{HealthCode, Snapshot};
use crate::tui::panes::{health_slot, pane_block, row_style};
use crate::tui::rows::{format_age_opt, pod_order};
use crate::tui::state::{Pane, ViewState};

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, view: &mut ViewState, theme: &Theme) {
    let focused = view.focus == Pane::Pods;
    let Some(env) = view.selected_env(snap) else {
        frame.render_widget(pane_block(Pane::Pods.title(), focused, theme), area);
        return;
    };
    let unhealthy = env
        .pods
        .iter()
        .filter(|p| p.health != HealthCode::Healthy)
        .count();
    let only = if view.pods_unhealthy_only {
        "only not healthy, u: all"
    } else {
        "u: only not healthy"
    };
    let title = format!(
        "{} · {} ({}, {} not healthy · {only})",
        Pane::Pods.title(),
        env.name,
        env.pods.len(),
        unhealthy
    );
    let block = pane_block(title, focused, theme);
    let height = usize::from(area.height.saturating_sub(3));
    let order = pod_order(&env.pods, &view.filter, view.pods_unhealthy_only);
    let range = view.pods.window(order.len(), height);
    let selected = view.pods.selected;
    let rows: Vec<Row> = range
        .filter_map(|i| Some((i, env.pods.get(*order.get(i)?)?)))
        .map(|(i, pod)| {
            let status_style = theme.style(health_slot(pod.health));
            let restarts_style = if pod.restarts > 0 {
                theme.style(Slot::SyncOutOfSync)
            } else {
                theme.style(Slot::Base)
            };
            Row::new(vec![
                Cell::from(pod.name.clone()),
                Cell::from(Span::styled(pod.status.clone(), status_style)),
                Cell::from(pod.ready.clone()),
                Cell::from(Span::styled(pod.restarts.to_string(), restarts_style)),
                Cell::from(format_age_opt(view.now, pod.created)),
                Cell::from(Span::styled(pod.reason.clone(), theme.style(Slot::Dim))),
            ])
            .style(row_style(i == selected, focused, theme))
        })
        .collect();
    let header = Row::new(["NAME", "STATUS", "READY", "RESTARTS", "AGE", "REASON"])
        .style(theme.style(Slot::Dim));
    let table = Table::new(
        rows,
        [
            Constraint::Length(34),
            Constraint::Length(17),
            Constraint::Length(5),
            Constraint::Length(8),
            Constraint::Length(4),
            Constraint::Min(10),
        ],
    )
    .header(header)
    .block(block);
    frame.render_widget(table, area);
}
