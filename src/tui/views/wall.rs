//! Watch mode's env tiles, made to be read from across a room: each tile is filled with its
//! env's health colour (STALE's when its data is stale) and says the health in big 8×8-font
//! letters (`tui-big-text`), then sync, synced revision, drift and the image tag of every
//! workload, with the upstream's tag beside a promotable one (`v1.4.2 → v1.5.0`).
//!
//! Decisions: the big word is the health (what a wall is watched for), or `STALE` when the
//! env's data is stale, since a last-known "HEALTHY" in big letters would be a lie. The glyph
//! size is the largest that fits the tile with one line each for sync and some versions:
//! full (8 rows), half height (4 rows, 8 columns a letter) or quadrant (4 rows, 4 columns);
//! when none fits (80×24 with three envs, or many envs) the word is ordinary bold text, so a
//! small terminal stays readable. Ink on the fill is black or white, whichever has the higher
//! WCAG contrast with the fill. Monochrome themes (no colours) fill by reversing.
//! When some env is driven by an in-cluster engine (Argo CD, Flux) — the rule the envs pane and
//! header use ([`crate::tui::rows::shows_engines`]) — every tile's name line says its engine
//! (`EU · argocd`), or a line of its own under the sync line (`engine argocd`) when the name
//! line has no room beside the badges; a wall of driftdeck envs only stays as it was, since
//! naming driftdeck on every tile would say nothing. A wall of Flux (or Argo CD) envs only does
//! name it: driftdeck's verbs work differently there (no rollback, sync asks the engine).

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};
use tui_big_text::{BigText, PixelSize};

use crate::config::theme::{Slot, Theme};
use crate::model::{EnvState, Snapshot, short_image, short_sha};
use crate::tui::contrast::ink_on;
use crate::tui::panes::health_slot;
use crate::tui::state::ViewState;
use crate::tui::views::watch::env_stale;

/// The glyph sizes tried, largest first: (size, columns per letter, rows).
const SIZES: [(PixelSize, u16, u16); 3] = [
    (PixelSize::Full, 8, 8),
    (PixelSize::HalfHeight, 8, 4),
    (PixelSize::Quadrant, 4, 4),
];

/// The largest glyph size that fits `letters` in `width` × `rows`, if any.
pub fn big_size(letters: usize, width: u16, rows: u16) -> Option<(PixelSize, u16)> {
    let letters = u16::try_from(letters).unwrap_or(u16::MAX);
    SIZES
        .iter()
        .find(|(_, cols, h)| letters.saturating_mul(*cols) <= width && *h <= rows)
        .map(|(size, _, h)| (*size, *h))
}

/// One env's version cells: `(Kind/name, live tag(s), upstream tag(s) when different)`.
pub fn versions_of<'a>(
    env: &'a EnvState,
    snap: &'a Snapshot,
) -> Vec<(&'a str, String, Option<String>)> {
    let upstream = env
        .promote_from
        .as_ref()
        .and_then(|u| snap.envs.iter().find(|e| &e.name == u));
    env.images
        .iter()
        .map(|(workload, images)| {
            let tags = |imgs: &[String]| {
                imgs.iter()
                    .map(|i| short_image(i))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let promotable = upstream
                .and_then(|u| u.images.get(workload))
                .filter(|u| *u != images)
                .map(|u| tags(u));
            (workload.as_str(), tags(images), promotable)
        })
        .collect()
}

/// The fill of a tile: the health (or STALE) colour as background, legible ink on it.
fn fill(theme: &Theme, slot: Slot) -> Style {
    let style = theme.style(slot);
    match style.bg.or(style.fg) {
        Some(colour) => Style::default()
            .bg(colour)
            .fg(ink_on(colour))
            .add_modifier(Modifier::BOLD),
        None => Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
    }
}

pub fn render_tile<'a>(
    frame: &mut Frame,
    area: Rect,
    env: &'a EnvState,
    snap: &'a Snapshot,
    view: &ViewState,
    theme: &Theme,
    focused: bool,
) {
    let stale = env_stale(env, view).is_some();
    let tile = fill(
        theme,
        if stale {
            Slot::Stale
        } else {
            health_slot(env.health.code)
        },
    );
    let border = if focused {
        tile.add_modifier(Modifier::BOLD)
    } else {
        tile.remove_modifier(Modifier::BOLD)
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Double
        } else {
            BorderType::Thick
        })
        .border_style(border)
        .style(tile);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let word = if stale {
        "STALE".to_owned()
    } else {
        env.health.code.to_string().to_uppercase()
    };
    let versions = versions_of(env, snap);
    // Name, sync line and up to three versions stay when the big word takes the rest.
    let reserved = 2 + u16::try_from(versions.len().min(3)).unwrap_or(3);
    let big = big_size(
        word.chars().count(),
        inner.width,
        inner.height.saturating_sub(reserved),
    );
    let big_rows = big.map_or(1, |(_, rows)| rows);
    // Centred vertically: a tall tile has its content in the middle, not under the border.
    let content = 2 + big_rows + u16::try_from(versions.len()).unwrap_or(u16::MAX);
    let [_, name_row, word_rows, rest] = Layout::vertical([
        Constraint::Length(inner.height.saturating_sub(content) / 2),
        Constraint::Length(1),
        Constraint::Length(big_rows),
        Constraint::Min(0),
    ])
    .areas(inner);

    let mut title = vec![Span::styled(
        env.name.to_uppercase(),
        if env.protected {
            tile.add_modifier(Modifier::UNDERLINED)
        } else {
            tile
        },
    )];
    let badges = badges(env, stale, theme);
    let engine = crate::tui::rows::shows_engines(snap).then(|| format!(" · {}", env.engine));
    // The engine joins the name when name, engine and badges fit; else it has its own line
    // under the sync line, so it never pushes a HOLD or STALE badge out of a narrow tile.
    let mut engine_line = false;
    if let Some(engine) = engine {
        let width: usize =
            title.iter().chain(&badges).map(Span::width).sum::<usize>() + engine.chars().count();
        if width <= usize::from(name_row.width) {
            title.push(Span::styled(engine, tile));
        } else {
            engine_line = true;
        }
    }
    title.extend(badges);
    frame.render_widget(
        Paragraph::new(Line::from(title).alignment(Alignment::Center)),
        name_row,
    );
    match big {
        Some((size, _)) => frame.render_widget(
            BigText::builder()
                .pixel_size(size)
                .style(tile)
                .lines(vec![Line::from(word)])
                .centered()
                .build(),
            word_rows,
        ),
        None => frame.render_widget(
            Paragraph::new(Line::from(word).alignment(Alignment::Center)).style(tile),
            word_rows,
        ),
    }

    // Drift is named only when there is some: the sync word already says "in sync".
    let drift = match env.drift.len() {
        0 => String::new(),
        n => format!(" · drift {n}"),
    };
    let mut lines = vec![
        Line::from(format!(
            "{} · {}{drift}",
            env.sync,
            env.synced_revision.as_deref().map_or("-", short_sha),
        ))
        .alignment(Alignment::Center),
    ];
    if engine_line {
        lines.push(Line::from(format!("engine {}", env.engine)).alignment(Alignment::Center));
    }
    if stale {
        let known = view
            .last_known_health(env)
            .map_or_else(|| "never observed".to_owned(), |h| h.to_string());
        lines.push(Line::from(format!("last known: {known}")).alignment(Alignment::Center));
    }
    let short = |w: &'a str| w.split_once('/').map_or(w, |(_, n)| n);
    let width = versions
        .iter()
        .map(|(w, _, _)| short(w).len())
        .max()
        .unwrap_or(0);
    for (workload, tags, promotable) in versions {
        let name = short(workload);
        let up = promotable.map(|u| format!(" → {u}")).unwrap_or_default();
        let mut text = format!("{name:<width$} {tags}{up}");
        // Narrow tiles drop the column padding before they cut the version.
        if text.chars().count() > usize::from(rest.width) {
            text = format!("{name} {tags}{up}");
        }
        lines.push(Line::from(text).alignment(Alignment::Center));
    }
    frame.render_widget(Paragraph::new(lines).style(tile), rest);
}

/// STALE, not reconciling, PAUSED and HOLD, in the theme's badge colours (they sit on the
/// fill, so they keep their own background).
fn badges(env: &EnvState, stale: bool, theme: &Theme) -> Vec<Span<'static>> {
    let mut badges = Vec::new();
    if stale {
        badges.push(Span::styled(" STALE ", theme.style(Slot::Stale)));
    }
    if crate::tui::rows::not_reconciling(env) {
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
    if !badges.is_empty() {
        badges.insert(0, Span::raw(" "));
    }
    badges
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures;

    #[test]
    fn the_big_word_takes_the_largest_glyphs_that_fit_and_none_when_too_small() {
        // DEGRADED is 8 letters: 64 columns at full size, 32 in quadrants.
        assert_eq!(big_size(8, 64, 8).map(|(_, r)| r), Some(8));
        assert!(matches!(
            big_size(8, 64, 7),
            Some((PixelSize::HalfHeight, 4))
        ));
        assert!(matches!(big_size(8, 40, 8), Some((PixelSize::Quadrant, 4))));
        assert_eq!(big_size(8, 31, 8), None);
        assert_eq!(big_size(7, 60, 3), None);
    }

    #[test]
    fn a_cell_that_differs_from_its_upstream_names_the_upstream_version() {
        let snap = fixtures::demo_healthy();
        let production = versions_of(&snap.envs[2], &snap);
        let api = production
            .iter()
            .find(|(n, _, _)| *n == "Deployment/log-api");
        assert_eq!(
            api,
            Some(&(
                "Deployment/log-api",
                "v1.4.2".to_owned(),
                Some("v1.5.0".to_owned())
            ))
        );
        let same = production
            .iter()
            .find(|(n, _, _)| *n == "Deployment/log-collector");
        assert_eq!(
            same,
            Some(&("Deployment/log-collector", "v1.3.0".to_owned(), None))
        );
        // dev has no upstream: nothing is promotable into it.
        assert!(
            versions_of(&snap.envs[0], &snap)
                .iter()
                .all(|v| v.2.is_none())
        );
    }
}
