//! The rollout strip: one line per configured rollout, its waves as a pipeline
//! (`prod-regions  ✓ us-east → ◉ eu-west (soak 3m12s left) → · ap-south`), or where and why it
//! halted first (`prod-regions  HALTED at wave 1: prod-us-east is Degraded … · ✗ us-east → …`).
//! Shown under the env table on the main screen and under the top line in watch mode, from
//! `Snapshot.rollouts`; nothing is drawn (and no row is taken) when the config has no rollouts.
//!
//! Decisions:
//! - The env names lose the prefix every env of the rollout shares up to a `-`
//!   (`prod-us-east` → `us-east`), so three regions fit 80 columns; a lone env keeps its name.
//! - Wave glyphs: `·` pending, `◔` promoting/syncing, `◉` soaking, `✓` done, `✗` halted —
//!   Unicode like the rest of the console (`✗`, `→`, `…`, `⚠` are used unconditionally
//!   elsewhere; the console has no ASCII glyph set to fall back to). Colour is never the only
//!   carrier of the state.
//! - The halt reason goes before the pipeline, so a narrow terminal cuts the pipeline, not the
//!   reason. A line too long ends in `…`.
//! - At most [`MAX_LINES`] rollouts are shown, the last line saying how many more there are, so
//!   the strip never eats the env rows.
//! - The soak's time left is the soak end minus the console's clock (`ViewState.now`, ticked),
//!   so it counts down between the driver's reads; past the end it says "soak ending".
//!
//! Imports `crate::model` and `crate::config`; no IO.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::theme::{Slot, Theme};
use crate::model::{RolloutPhase, RolloutRow, Snapshot, WaveState};

/// Rows the strip may take.
pub const MAX_LINES: usize = 3;

/// Rows the strip takes for `snap` (0 without rollouts).
pub fn height(snap: &Snapshot) -> u16 {
    u16::try_from(snap.rollouts.len().min(MAX_LINES)).unwrap_or(0)
}

pub fn render(frame: &mut Frame, area: Rect, snap: &Snapshot, now: Timestamp, theme: &Theme) {
    let width = usize::from(area.width);
    let shown = usize::from(area.height).min(snap.rollouts.len());
    let mut lines: Vec<Line> = Vec::new();
    for (i, rollout) in snap.rollouts.iter().take(shown).enumerate() {
        let hidden = snap.rollouts.len() - shown;
        let mut spans = spans(rollout, now, theme);
        if i + 1 == shown && hidden > 0 {
            spans.insert(
                0,
                Span::styled(format!("+{hidden} more  "), theme.style(Slot::Dim)),
            );
        }
        lines.push(cut(spans, width));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn spans(rollout: &RolloutRow, now: Timestamp, theme: &Theme) -> Vec<Span<'static>> {
    let mut out = vec![
        Span::raw(" "),
        Span::styled(rollout.name.clone(), theme.style(Slot::Title)),
        Span::raw("  "),
    ];
    match rollout.phase {
        None if rollout.error.is_none() => {
            out.push(Span::styled("not started  ", theme.style(Slot::Dim)));
        }
        None => {}
        Some(RolloutPhase::Running) => {}
        Some(RolloutPhase::Done) => {
            out.push(Span::styled("done  ", theme.style(Slot::HealthHealthy)));
        }
        Some(phase @ (RolloutPhase::Halted | RolloutPhase::Stopped)) => {
            let word = if phase == RolloutPhase::Halted {
                "HALTED"
            } else {
                "STOPPED"
            };
            let text = match &rollout.halt {
                Some(h) if phase == RolloutPhase::Stopped => {
                    format!("{word} at wave {} by {}: {}", h.wave, h.by, h.reason)
                }
                Some(h) => format!("{word} at wave {}: {}", h.wave, h.reason),
                None => word.to_owned(),
            };
            out.push(Span::styled(text, theme.style(Slot::HealthDegraded)));
            out.push(Span::styled(" · ", theme.style(Slot::Dim)));
        }
    }
    if let Some(error) = &rollout.error {
        out.push(Span::styled(
            format!("✗ {error}  "),
            theme.style(Slot::HealthDegraded),
        ));
    }
    let prefix = shared_prefix(rollout);
    for (i, wave) in rollout.waves.iter().enumerate() {
        if i > 0 {
            out.push(Span::styled(" → ", theme.style(Slot::Dim)));
        }
        let (glyph, slot) = wave_glyph(wave.state);
        let names: Vec<&str> = wave
            .envs
            .iter()
            .map(|e| e.strip_prefix(prefix.as_str()).unwrap_or(e))
            .collect();
        out.push(Span::styled(
            format!("{glyph} {}", names.join("+")),
            theme.style(slot),
        ));
        let note = match wave.state {
            WaveState::Soaking => Some(match wave.soak_ends_at {
                Some(end) if end > now => format!(" (soak {} left)", left(now, end)),
                Some(_) => " (soak ending)".to_owned(),
                None => " (soaking)".to_owned(),
            }),
            WaveState::Promoting => Some(" (promoting)".to_owned()),
            WaveState::Syncing => Some(" (syncing)".to_owned()),
            _ => None,
        };
        if let Some(note) = note {
            out.push(Span::styled(note, theme.style(slot)));
        }
    }
    out
}

fn wave_glyph(state: WaveState) -> (&'static str, Slot) {
    match state {
        WaveState::Pending => ("·", Slot::Dim),
        WaveState::Promoting | WaveState::Syncing => ("◔", Slot::SyncOutOfSync),
        WaveState::Soaking => ("◉", Slot::HealthProgressing),
        WaveState::Done => ("✓", Slot::HealthHealthy),
        WaveState::Halted => ("✗", Slot::HealthDegraded),
    }
}

/// The prefix, up to and including a `-`, that every env of the rollout shares, when there are
/// several envs and none would be left empty.
fn shared_prefix(rollout: &RolloutRow) -> String {
    let names: Vec<&str> = rollout
        .waves
        .iter()
        .flat_map(|w| w.envs.iter().map(String::as_str))
        .collect();
    let [first, rest @ ..] = names.as_slice() else {
        return String::new();
    };
    if rest.is_empty() {
        return String::new();
    }
    let mut len = first.len();
    for name in rest {
        len = first
            .char_indices()
            .zip(name.chars())
            .take_while(|((_, a), b)| a == b)
            .map(|((i, a), _)| i + a.len_utf8())
            .last()
            .unwrap_or(0)
            .min(len);
    }
    let common = &first[..len];
    match common.rfind('-') {
        Some(dash) if names.iter().all(|n| n.len() > dash + 1) => common[..=dash].to_owned(),
        _ => String::new(),
    }
}

/// `3m12s`, `1h04m`, `45s`.
fn left(now: Timestamp, end: Timestamp) -> String {
    let secs = (end.as_second() - now.as_second()).max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3_600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3_600, secs % 3_600 / 60),
    }
}

/// `spans` in at most `width` columns, the last visible one ending in `…` when cut.
fn cut(spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let total: usize = spans.iter().map(Span::width).sum();
    if total <= width {
        return Line::from(spans);
    }
    let mut out = Vec::new();
    let mut used = 0;
    for span in spans {
        let style: Style = span.style;
        let mut text = String::new();
        let mut full = true;
        for c in span.content.chars() {
            let w = Span::raw(c.to_string()).width();
            if used + w + 1 > width {
                full = false;
                break;
            }
            text.push(c);
            used += w;
        }
        if !full {
            text.push('…');
            out.push(Span::styled(text, style));
            break;
        }
        out.push(Span::styled(text, style));
    }
    Line::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RolloutHaltRow, WaveRow};

    const NOW: Timestamp = Timestamp::constant(1_795_304_700, 0);

    fn text(rollout: &RolloutRow, now: Timestamp) -> String {
        spans(rollout, now, &Theme::default())
            .iter()
            .map(|s| s.content.as_ref())
            .collect()
    }

    fn row(states: [WaveState; 3]) -> RolloutRow {
        RolloutRow {
            name: "prod-regions".into(),
            from: "staging".into(),
            phase: Some(RolloutPhase::Running),
            wave: 1,
            waves: ["prod-us-east", "prod-eu-west", "prod-ap-south"]
                .iter()
                .zip(states)
                .map(|(e, state)| WaveRow {
                    envs: vec![(*e).to_owned()],
                    state,
                    soak_ends_at: (state == WaveState::Soaking)
                        .then(|| Timestamp::constant(1_795_304_700 + 192, 0)),
                })
                .collect(),
            halt: None,
            error: None,
        }
    }

    #[test]
    fn running_rollout_reads_as_a_pipeline_with_the_soak_time_left() {
        let r = row([WaveState::Done, WaveState::Soaking, WaveState::Pending]);
        assert_eq!(
            text(&r, NOW),
            " prod-regions  ✓ us-east → ◉ eu-west (soak 3m12s left) → · ap-south"
        );
    }

    #[test]
    fn halted_rollout_says_where_and_why_before_the_pipeline() {
        let mut r = row([WaveState::Halted, WaveState::Pending, WaveState::Pending]);
        r.phase = Some(RolloutPhase::Halted);
        r.halt = Some(RolloutHaltRow {
            wave: 1,
            env: Some("prod-us-east".into()),
            reason: "prod-us-east is Degraded".into(),
            by: "alice@ops/1".into(),
            at: NOW,
        });
        assert_eq!(
            text(&r, NOW),
            " prod-regions  HALTED at wave 1: prod-us-east is Degraded · ✗ us-east → · eu-west → · ap-south"
        );
    }

    #[test]
    fn a_line_too_long_is_cut_with_an_ellipsis() {
        let r = row([WaveState::Done, WaveState::Soaking, WaveState::Pending]);
        let line = cut(spans(&r, NOW, &Theme::default()), 20);
        let s: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(s, " prod-regions  ✓ us…");
    }

    #[test]
    fn a_single_env_keeps_its_whole_name() {
        let mut r = row([WaveState::Pending, WaveState::Pending, WaveState::Pending]);
        r.waves.truncate(1);
        r.phase = None;
        assert_eq!(text(&r, NOW), " prod-regions  not started  · prod-us-east");
    }
}
