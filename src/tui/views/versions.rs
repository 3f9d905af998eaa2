//! Versions × environments (`v`): one row per workload, one column per env, each cell the
//! image tag(s) live in that env — the console's side of `driftdeck versions`, drawn from the
//! snapshot (`EnvState::images`, from the controller's observation) so it needs no IO.
//!
//! Marks: a cell that differs from the env it is promoted from shows `→ upstream-tag` (what a
//! promotion would change: promotable), a held env's column header carries `HOLD`, a paused
//! one `PAUSED`. The second row is each env's synced revision, sync and health, the same
//! columns the history pane's markers come from. Decision: workloads are the union over envs,
//! sorted by `Kind/name`; a workload absent from an env reads `-` (not deployed there).
//! Imports `crate::model` and `crate::config`.

use std::collections::BTreeSet;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use crate::config::theme::{Slot, Theme};
use crate::model::{Snapshot, short_sha};
use crate::tui::panes::{health_slot, pane_block, sync_slot};
use crate::tui::state::ViewState;
use crate::tui::views::page;
use crate::tui::views::wall::versions_of;

/// Every workload any env runs, sorted.
fn workloads(snap: &Snapshot) -> Vec<&str> {
    let all: BTreeSet<&str> = snap
        .envs
        .iter()
        .flat_map(|e| e.images.keys().map(String::as_str))
        .collect();
    all.into_iter().collect()
}

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, view: &mut ViewState, theme: &Theme) {
    let block = pane_block(
        "Versions × environments  (→ promotable: the upstream env runs that)".to_owned(),
        true,
        theme,
    );
    let names = workloads(snap);
    let first_width = names
        .iter()
        .map(|n| n.len())
        .max()
        .unwrap_or(8)
        .clamp(8, 40);
    let header = Row::new(
        std::iter::once(Cell::from("WORKLOAD")).chain(snap.envs.iter().map(|e| {
            let mut spans = vec![Span::styled(
                e.name.to_uppercase(),
                theme.style(if e.protected {
                    Slot::EnvProtected
                } else {
                    Slot::Title
                }),
            )];
            if e.hold.is_some() {
                spans.push(Span::raw(" "));
                spans.push(Span::styled(" HOLD ", theme.style(Slot::BadgeHold)));
            }
            if e.paused.is_some() {
                spans.push(Span::raw(" "));
                spans.push(Span::styled(" PAUSED ", theme.style(Slot::BadgePaused)));
            }
            Cell::from(Line::from(spans))
        })),
    );
    let synced = Row::new(
        std::iter::once(Cell::from(Span::styled("(synced)", theme.style(Slot::Dim)))).chain(
            snap.envs.iter().map(|e| {
                Cell::from(Line::from(vec![
                    Span::styled(
                        format!("{} ", e.synced_revision.as_deref().map_or("-", short_sha)),
                        theme.style(Slot::Marker),
                    ),
                    Span::styled(format!("{} ", e.sync), theme.style(sync_slot(e.sync))),
                    Span::styled(
                        e.health.code.to_string(),
                        theme.style(health_slot(e.health.code)),
                    ),
                ]))
            }),
        ),
    );
    let per_env: Vec<_> = snap.envs.iter().map(|e| versions_of(e, snap)).collect();
    let mut rows = vec![synced];
    for workload in &names {
        let cells =
            per_env
                .iter()
                .map(|cells| match cells.iter().find(|(w, _, _)| w == workload) {
                    None => Cell::from(Span::styled("-", theme.style(Slot::Dim))),
                    Some((_, tags, None)) => Cell::from(tags.clone()),
                    Some((_, tags, Some(up))) => Cell::from(Line::from(vec![
                        Span::styled(tags.clone(), theme.style(Slot::SyncOutOfSync)),
                        Span::styled(format!(" → {up}"), theme.style(Slot::Marker)),
                    ])),
                });
        rows.push(Row::new(
            std::iter::once(Cell::from(workload.to_string())).chain(cells),
        ));
    }
    if names.is_empty() {
        rows.push(Row::new([Cell::from(Span::styled(
            "no workloads observed yet",
            theme.style(Slot::Dim),
        ))]));
    }
    let height = usize::from(area.height.saturating_sub(3));
    let range = page(&mut view.view_scroll, rows.len(), height);
    let visible: Vec<Row> = rows.drain(range).collect();
    let count = u32::try_from(snap.envs.len().max(1)).unwrap_or(1);
    let widths = std::iter::once(Constraint::Length(
        u16::try_from(first_width).unwrap_or(40) + 1,
    ))
    .chain(snap.envs.iter().map(|_| Constraint::Ratio(1, count)));
    frame.render_widget(
        Table::new(visible, widths)
            .header(header)
            .style(theme.style(Slot::Base))
            .block(block),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures;

    #[test]
    fn every_workload_of_any_env_gets_one_row() {
        let mut snap = fixtures::demo_healthy();
        snap.envs[0].images.insert(
            "StatefulSet/only-dev".to_owned(),
            vec!["db=pg:16".to_owned()],
        );
        assert_eq!(
            workloads(&snap),
            vec![
                "Deployment/log-api",
                "Deployment/log-collector",
                "Deployment/log-processor",
                "StatefulSet/only-dev"
            ]
        );
    }
}
