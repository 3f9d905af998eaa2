//! UI snapshots: each screen rendered from fabricated snapshots into a `TestBackend` at 120×36
//! and 80×24, compared with insta. The fixture clock is fixed, so times are stable without
//! filters. Colour legibility (NO_COLOR, 16-colour terminals) is checked on the styled buffer,
//! and their snapshots carry the styles (`styled`) so a colour regression fails too.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use driftdeck::config::theme::{Slot, TermCaps, Theme, is_ansi16};
use driftdeck::model::{EngineName, Snapshot};
use driftdeck::tui::{self, UiAction, ViewState, fixtures, translate, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const SIZES: [(u16, u16); 2] = [(120, 36), (80, 24)];

fn draw(snap: &Snapshot, view: &mut ViewState, theme: &Theme, (w, h): (u16, u16)) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|frame| tui::render(frame, snap, view, theme))
        .unwrap();
    terminal.backend().buffer().clone()
}

/// The buffer as text, one line per row, trailing blanks trimmed.
fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn press(view: &mut ViewState, snap: &Snapshot, code: KeyCode) {
    let action = translate(view, KeyEvent::new(code, KeyModifiers::NONE)).unwrap();
    update(view, snap, action);
}

fn type_text(view: &mut ViewState, snap: &Snapshot, text: &str) {
    for c in text.chars() {
        press(view, snap, KeyCode::Char(c));
    }
}

/// Renders the same state at both sizes and snapshots each.
fn snapshot_both(name: &str, snap: &Snapshot, setup: impl Fn(&mut ViewState)) {
    let theme = Theme::default();
    for size in SIZES {
        let mut view = fixtures::view_state();
        setup(&mut view);
        let buffer = draw(snap, &mut view, &theme, size);
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), text(&buffer));
    }
}

#[test]
fn healthy_overview() {
    let snap = fixtures::demo_healthy();
    snapshot_both("healthy_overview", &snap, |_| {});
}

/// One env per engine: the env table gains an ENGINE column and the header names the selected
/// env's engine; an Argo CD env shows no "not reconciling" (Argo reconciles it, no driftdeck
/// Lease) and its automation-off hold.
#[test]
fn mixed_engines_overview() {
    use driftdeck::model::{EngineName, Hold};
    let mut snap = fixtures::demo_healthy();
    snap.envs[1].engine = EngineName::ArgoCd;
    snap.envs[1].lease_holder = None;
    snap.envs[1].hold = Some(Hold {
        revision: fixtures::sha("d4c9e04"),
        bad_revision: String::new(),
        by: "argocd".into(),
        at: "2026-03-14T09:00:00Z".parse().unwrap(),
        reason: "manual sync policy (no automated sync)".into(),
    });
    snap.envs[2].engine = EngineName::Flux;
    snap.envs[2].lease_holder = None;
    snapshot_both("mixed_engines", &snap, |view| view.env.selected = 1);
    for size in SIZES {
        let mut view = fixtures::view_on_env(1);
        let screen = text(&draw(&snap, &mut view, &Theme::default(), size));
        assert!(
            screen.contains("engine argocd"),
            "header at {size:?}:\n{screen}"
        );
        assert!(
            !screen.contains("(bad )"),
            "no empty bad revision:\n{screen}"
        );
        for (env, engine) in [("staging", "argocd"), ("production", "flux")] {
            let row = screen
                .lines()
                .find(|l| l.contains(&format!(" {env} ")))
                .unwrap_or_default();
            assert!(!row.contains("not reconciling"), "{env}: {row}");
            if size.0 >= 100 {
                assert!(row.contains(engine), "{env} row at {size:?}: {row}");
            }
        }
    }
}

#[test]
fn drifted_env_with_diff_open() {
    let snap = fixtures::drifted();
    snapshot_both("drifted_diff_open", &snap, |view| {
        view.env.selected = 1;
        press(view, &snap, KeyCode::Enter);
        press(view, &snap, KeyCode::Enter);
    });
}

#[test]
fn drifted_env_panes() {
    let snap = fixtures::drifted();
    snapshot_both("drifted_panes", &snap, |view| {
        view.env.selected = 1;
        press(view, &snap, KeyCode::Enter);
    });
}

#[test]
fn degraded_env_with_hold_banner() {
    let snap = fixtures::degraded_with_hold();
    snapshot_both("degraded_hold", &snap, |view| {
        view.env.selected = 2;
        view.focus = tui::Pane::Pods;
        view.last_detail = tui::Pane::Pods;
    });
}

/// The hold banner names who, why and when once each, whatever the width: at 80 columns the
/// reason is cut, never `HOLD production at d4c9e04`.
#[test]
fn hold_banner_names_who_why_when_once() {
    for (name, snap) in [
        ("hold_banner_auto_rollback", fixtures::degraded_with_hold()),
        (
            "hold_banner_manual_rollback",
            fixtures::manual_rollback_hold(),
        ),
    ] {
        snapshot_both(name, &snap, |view| view.env.selected = 2);
        let theme = Theme::default();
        for size in SIZES {
            let mut view = fixtures::view_state();
            view.env.selected = 2;
            let buffer = draw(&snap, &mut view, &theme, size);
            let banner = text(&buffer).lines().nth(1).unwrap_or("").to_owned();
            assert!(
                banner.starts_with(" ⚠ HOLD production at d4c9e04"),
                "{name} {size:?}: {banner:?}"
            );
            assert_eq!(
                banner.matches(" by ").count(),
                1,
                "{name} {size:?}: {banner:?}"
            );
            assert!(banner.contains(" ago · "), "{name} {size:?}: {banner:?}");
        }
    }
}

#[test]
fn promotion_preview() {
    let snap = fixtures::demo_healthy();
    snapshot_both("promotion_preview", &snap, |view| {
        view.env.selected = 1;
        press(view, &snap, KeyCode::Char('p'));
        update(view, &snap, UiAction::Notice(fixtures::promotion_preview()));
    });
}

#[test]
fn typed_confirmation() {
    let snap = fixtures::degraded_with_hold();
    snapshot_both("typed_confirmation", &snap, |view| {
        view.env.selected = 2;
        type_text(view, &snap, ":rollback production c3d0f15");
        press(view, &snap, KeyCode::Enter);
        type_text(view, &snap, "prod");
    });
}

#[test]
fn rollback_picker() {
    let snap = fixtures::degraded_with_hold();
    snapshot_both("rollback_picker", &snap, |view| {
        view.env.selected = 2;
        press(view, &snap, KeyCode::Char('r'));
    });
}

#[test]
fn help() {
    let snap = fixtures::demo_healthy();
    snapshot_both("help", &snap, |view| press(view, &snap, KeyCode::Char('?')));
}

#[test]
fn watch_mode() {
    let snap = fixtures::degraded_with_hold();
    snapshot_both("watch_mode", &snap, |view| {
        view.watch_mode = true;
        view.watch_index = 2;
    });
}

/// Watch mode over envs of three engines: every tile names its engine.
#[test]
fn watch_mode_names_each_tiles_engine_over_mixed_engines() {
    let mut snap = fixtures::degraded_with_hold();
    snap.envs[1].engine = EngineName::ArgoCd;
    snap.envs[2].engine = EngineName::Flux;
    snapshot_both("watch_mode_mixed_engines", &snap, |view| {
        view.watch_mode = true;
    });
    let mut view = fixtures::view_state();
    view.watch_mode = true;
    let screen = text(&draw(&snap, &mut view, &Theme::default(), (120, 36)));
    for tile in ["DEV · driftdeck", "STAGING · argocd", "PRODUCTION · flux"] {
        assert!(screen.contains(tile), "{tile}:\n{screen}");
    }
    // Narrow tiles: the engine gets its own line rather than cutting the HOLD badge.
    let small = text(&draw(&snap, &mut view, &Theme::default(), (80, 24)));
    for tile in [
        "engine driftdeck",
        "STAGING · argocd",
        "engine flux",
        "HOLD d4c9e04",
    ] {
        assert!(small.contains(tile), "{tile}:\n{small}");
    }
}

/// Watch mode over Flux envs only: the tiles name the engine, as the envs table's ENGINE column
/// does (one rule: some env is not driftdeck's own), since driftdeck's verbs work differently
/// on an engine env.
#[test]
fn watch_mode_names_the_engine_when_every_env_is_flux() {
    let mut snap = fixtures::degraded_with_hold();
    for env in &mut snap.envs {
        env.engine = EngineName::Flux;
    }
    let mut view = fixtures::view_state();
    view.watch_mode = true;
    let screen = text(&draw(&snap, &mut view, &Theme::default(), (120, 36)));
    for tile in ["DEV · flux", "STAGING · flux", "PRODUCTION · flux"] {
        assert!(screen.contains(tile), "{tile}:\n{screen}");
    }
}

/// A wall: big health letters in filled tiles and the versions per env, at 120×36 and 200×50;
/// at 80×24 the tiles are too small for big letters and fall back to plain words.
#[test]
fn watch_mode_on_a_wall_shows_big_text_and_versions() {
    let snap = fixtures::degraded_with_hold();
    let theme = Theme::default();
    for size in [(120, 36), (200, 50)] {
        let mut view = fixtures::view_state();
        view.watch_mode = true;
        view.watch_index = 2;
        let screen = text(&draw(&snap, &mut view, &theme, size));
        insta::assert_snapshot!(format!("watch_wall_{}x{}", size.0, size.1), screen);
        let glyph_rows = screen
            .lines()
            .filter(|l| l.contains('█') || l.contains('▀'))
            .count();
        assert!(glyph_rows >= 4, "no big text at {size:?}:\n{screen}");
        assert!(screen.contains("log-api       v1.4.2 → v1.5.0"), "{screen}");
        assert!(screen.contains("log-api       v1.5.0"), "{screen}");
        assert!(screen.contains("last operations"), "{screen}");
    }
    let mut view = fixtures::view_state();
    view.watch_mode = true;
    let small = text(&draw(&snap, &mut view, &theme, (80, 24)));
    assert!(
        !small.contains('█') && small.contains("DEGRADED"),
        "{small}"
    );
}

/// A tile is filled with its health colour, so the state reads from across the room.
#[test]
fn watch_tiles_are_filled_with_their_health_colour() {
    let snap = fixtures::degraded_with_hold();
    let theme = Theme::default();
    let mut view = fixtures::view_state();
    view.watch_mode = true;
    let buffer = draw(&snap, &mut view, &theme, (120, 36));
    let degraded = theme.style(Slot::HealthDegraded).fg;
    let healthy = theme.style(Slot::HealthHealthy).fg;
    // Middle of the first tile (dev, Healthy) and of the third (production, Degraded).
    assert_eq!(buffer[(20, 10)].bg, healthy.unwrap_or(Color::Reset));
    assert_eq!(buffer[(100, 10)].bg, degraded.unwrap_or(Color::Reset));
}

/// Every env stale: every tile says STALE and the header says since when.
#[test]
fn watch_mode_header_says_stale_since_when() {
    let mut snap = fixtures::demo_healthy();
    let mut view = fixtures::view_state();
    view.watch_mode = true;
    let last = fixtures::NOW
        .checked_sub(jiff::SignedDuration::from_secs(95))
        .unwrap();
    for env in &mut snap.envs {
        env.observed_at = Some(last);
    }
    let screen = text(&draw(&snap, &mut view, &Theme::default(), (200, 50)));
    let header = screen.lines().next().unwrap_or_default();
    let since = format!(
        "STALE since {}: dev, staging, production",
        last.strftime("%H:%M:%S")
    );
    assert!(header.contains(&since), "{header}");
    assert!(
        header.contains("UTC"),
        "the clock is not overwritten: {header}"
    );
    for env in ["DEV  STALE", "STAGING  STALE", "PRODUCTION  STALE"] {
        assert!(screen.contains(env), "{env} in {screen}");
    }
    assert!(screen.contains("last known: Healthy"), "{screen}");
}

/// The emergency stop at 80 columns: the badge comes first and is cut before the clock, which
/// keeps its own cell.
#[test]
fn all_paused_header_at_80_columns_leaves_the_clock_alone() {
    let mut snap = fixtures::demo_healthy();
    for env in &mut snap.envs {
        env.paused = Some(driftdeck::model::Pause {
            by: "ana@ops-7/4242".to_owned(),
            at: fixtures::NOW,
            reason: "incident 42: flush latency on every cluster".to_owned(),
        });
    }
    snapshot_both("all_paused_header", &snap, |_| {});
    let mut view = fixtures::view_state();
    let screen = text(&draw(&snap, &mut view, &Theme::default(), (80, 24)));
    let header = screen.lines().next().unwrap_or_default();
    assert!(
        header.starts_with(" driftdeck  ⏸ ALL PAUSED by ana@ops-7/4242"),
        "{header}"
    );
    assert!(header.ends_with(" 23:45 UTC"), "{header}");
}

/// `v`: one row per workload, one column per env, the promotable cell naming the upstream's
/// version and the held env marked.
#[test]
fn versions_view() {
    let snap = fixtures::degraded_with_hold();
    snapshot_both("versions", &snap, |view| {
        press(view, &snap, KeyCode::Char('v'));
    });
    let mut view = fixtures::view_state();
    press(&mut view, &snap, KeyCode::Char('v'));
    let screen = text(&draw(&snap, &mut view, &Theme::default(), (120, 36)));
    let row = |name: &str| {
        screen
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(row("PRODUCTION").contains("HOLD"), "{screen}");
    let api = row("Deployment/log-api");
    assert!(api.contains("v1.4.2 → v1.5.0"), "{api}");
    assert_eq!(
        api.matches("v1.5.0").count(),
        3,
        "dev, staging and the mark: {api}"
    );
    assert!(row("(synced)").contains("d4c9e04"), "{screen}");
}

#[test]
fn watch_mode_says_when_data_is_stale() {
    let mut snap = fixtures::demo_healthy();
    snap.taken_at = fixtures::NOW
        .checked_sub(jiff::SignedDuration::from_secs(75))
        .ok();
    let mut view = fixtures::view_state();
    view.watch_mode = true;
    let screen = text(&draw(&snap, &mut view, &Theme::default(), (120, 36)));
    assert!(
        screen.contains("STALE: updated 75s ago (poll every 30s)"),
        "{screen}"
    );
    snap.taken_at = fixtures::NOW
        .checked_sub(jiff::SignedDuration::from_secs(12))
        .ok();
    let screen = text(&draw(&snap, &mut view, &Theme::default(), (120, 36)));
    assert!(
        screen.contains("updated 12s ago") && !screen.contains("STALE"),
        "{screen}"
    );
}

#[test]
fn read_only_footer() {
    let snap = fixtures::demo_healthy();
    snapshot_both("read_only", &snap, |view| view.read_only = true);
    let mut view = fixtures::view_state();
    view.read_only = true;
    let screen = text(&draw(&snap, &mut view, &Theme::default(), (120, 36)));
    let footer = screen.lines().nth(35).unwrap();
    assert!(
        footer.contains("READ-ONLY") && footer.contains("help"),
        "{footer}"
    );
    for mutating in ["sync", "promote", "pause", "rollback"] {
        assert!(
            !footer.contains(mutating),
            "{mutating} in read-only footer: {footer}"
        );
    }
    press(&mut view, &snap, KeyCode::Char('?'));
    let help = text(&draw(&snap, &mut view, &Theme::default(), (120, 36)));
    assert!(
        help.contains("Help (read-only)") && !help.contains("roll back to an earlier"),
        "{help}"
    );
}

#[test]
fn error_dialog_shows_the_controllers_reason() {
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_state();
    update(
        &mut view,
        &snap,
        UiAction::Notice(driftdeck::model::Notice::Refused {
            env: Some("staging".into()),
            reason: driftdeck::model::FailureReason::Refused("dev is Degraded; use --force".into()),
        }),
    );
    let screen = text(&draw(&snap, &mut view, &Theme::default(), (80, 24)));
    assert!(
        screen.contains("Refused (staging)")
            && screen.contains("refused: dev is Degraded; use --force"),
        "{screen}"
    );
}

fn colours(buffer: &Buffer) -> Vec<Color> {
    buffer
        .content()
        .iter()
        .flat_map(|c| [c.fg, c.bg])
        .filter(|c| *c != Color::Reset)
        .collect()
}

#[test]
fn no_color_renders_without_colour_and_keeps_meaning_in_modifiers() {
    let caps = TermCaps::from_vars(true, Some("xterm-256color"), Some("truecolor"));
    let (theme, _) = Theme::resolve(Some("dark"), caps);
    assert_eq!(theme.name, "monochrome");
    let snap = fixtures::degraded_with_hold();
    let mut view = fixtures::view_on_env(2);
    let buffer = draw(&snap, &mut view, &theme, (80, 24));
    assert_eq!(colours(&buffer), Vec::<Color>::new());
    // The selected row and the Degraded health stay distinguishable without colour.
    let reversed = buffer
        .content()
        .iter()
        .filter(|c| c.modifier.contains(Modifier::REVERSED))
        .count();
    assert!(
        reversed > 10,
        "selection/hold banner must be reversed, got {reversed} cells"
    );
    assert_eq!(
        theme.style(Slot::HealthDegraded).add_modifier,
        Modifier::BOLD | Modifier::REVERSED
    );
    insta::assert_snapshot!("no_color_80x24", text(&buffer));
}

#[test]
fn sixteen_colour_terminal_gets_only_ansi_colours() {
    let caps = TermCaps::from_vars(false, Some("xterm"), None);
    for name in ["dark", "light", "high-contrast"] {
        let (theme, warnings) = Theme::resolve(Some(name), caps);
        assert!(warnings.is_empty());
        let snap = fixtures::drifted();
        let mut view = fixtures::view_on_env(1);
        let buffer = draw(&snap, &mut view, &theme, (80, 24));
        let used = colours(&buffer);
        assert!(
            !used.is_empty(),
            "{name}: a 16-colour terminal still gets colour"
        );
        assert!(used.iter().copied().all(is_ansi16), "{name}: {used:?}");
        // Added and removed diff lines must not collapse to one colour.
        assert_ne!(
            theme.style(Slot::DiffAdded).fg,
            theme.style(Slot::DiffRemoved).fg,
            "{name}"
        );
        assert_ne!(
            theme.style(Slot::HealthHealthy).fg,
            theme.style(Slot::HealthDegraded).fg,
            "{name}"
        );
    }
}

#[test]
fn protected_env_gets_its_accent() {
    let theme = Theme::default();
    let snap = fixtures::demo_healthy();
    let mut view = fixtures::view_state();
    let buffer = draw(&snap, &mut view, &theme, (120, 36));
    let screen = text(&buffer);
    let (row, line) = screen
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("◆ production"))
        .unwrap();
    let col = line.chars().position(|c| c == 'p').unwrap();
    let cell = &buffer[(u16::try_from(col).unwrap(), u16::try_from(row).unwrap())];
    assert_eq!(cell.fg, theme.style(Slot::EnvProtected).fg.unwrap());
}

#[test]
fn large_snapshot_renders_only_visible_rows() {
    let snap = fixtures::large(3, 2_000, 5_000);
    let mut view = fixtures::view_state();
    view.focus = tui::Pane::Pods;
    for _ in 0..3 {
        press(&mut view, &snap, KeyCode::End);
    }
    let screen = text(&draw(&snap, &mut view, &Theme::default(), (120, 36)));
    assert!(
        screen.contains("app-999-7d9f8b6c5-04999"),
        "the last pod is scrolled into view"
    );
    assert_eq!(view.pods.selected, 4_999);
}

#[test]
fn logs_and_palette_at_80x24() {
    let snap = fixtures::drifted();
    let theme = Theme::default();

    let mut view = fixtures::view_on_env(1);
    view.focus = tui::Pane::Pods;
    // Opening the view asks the feeder for the log; the lines then arrive (here: directly).
    press(&mut view, &snap, KeyCode::Char('l'));
    for i in 0..500 {
        view.push_log_line(format!(
            "2026-11-21T23:44:{:02}Z INFO flushed batch {i} (512 records)",
            i % 60
        ));
    }
    let logs = text(&draw(&snap, &mut view, &theme, (80, 24)));
    assert!(
        logs.contains("flushed batch 499") && logs.contains("following"),
        "{logs}"
    );
    insta::assert_snapshot!("logs_80x24", logs);
    press(&mut view, &snap, KeyCode::Char('k'));
    let scrolled = text(&draw(&snap, &mut view, &theme, (80, 24)));
    assert!(
        !scrolled.contains("flushed batch 499") && scrolled.contains("paused"),
        "{scrolled}"
    );

    let mut view = fixtures::view_state();
    type_text(&mut view, &snap, ":promote dev stag");
    let palette = text(&draw(&snap, &mut view, &theme, (80, 24)));
    assert!(
        palette
            .lines()
            .last()
            .unwrap()
            .starts_with(":promote dev stag█"),
        "{palette}"
    );
}

/// The buffer as text followed by its styles, so a colour snapshot fails when a colour or
/// modifier changes, not only when text does. Each style line is `row col..col fg bg +mods`
/// for one run of equally styled cells; runs in the default style are left out.
fn styled(buffer: &Buffer) -> String {
    let mut out = text(buffer);
    out.push_str("---- styles: row cols fg bg +modifiers (default runs omitted) ----\n");
    let area = buffer.area;
    for y in 0..area.height {
        let mut x = 0;
        while x < area.width {
            let cell = &buffer[(x, y)];
            let key = (cell.fg, cell.bg, cell.modifier);
            let start = x;
            while x < area.width {
                let next = &buffer[(x, y)];
                if (next.fg, next.bg, next.modifier) != key {
                    break;
                }
                x += 1;
            }
            if key != (Color::Reset, Color::Reset, Modifier::empty()) {
                let mods = if key.2.is_empty() {
                    String::new()
                } else {
                    format!(" +{:?}", key.2)
                        .replace("Modifier(", "")
                        .replace(')', "")
                };
                out.push_str(&format!(
                    "{y:>2} {start:>3}..{:<3} fg={:?} bg={:?}{mods}\n",
                    x - 1,
                    key.0,
                    key.1
                ));
            }
        }
    }
    out
}

/// The theme a `TERM=xterm` terminal (no COLORTERM) gets: the dark theme on 16 colours.
fn sixteen_colour_theme() -> Theme {
    let (theme, warnings) = Theme::resolve(None, TermCaps::from_vars(false, Some("xterm"), None));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(theme.name, "dark (16 colours)");
    theme
}

fn no_color_theme() -> Theme {
    let caps = TermCaps::from_vars(true, Some("xterm-256color"), None);
    Theme::resolve(None, caps).0
}

#[test]
fn sixteen_colour_snapshots() {
    let theme = sixteen_colour_theme();
    let snap = fixtures::degraded_with_hold();
    for size in SIZES {
        let mut view = fixtures::view_on_env(2);
        view.focus = tui::Pane::Pods;
        view.last_detail = tui::Pane::Pods;
        let buffer = draw(&snap, &mut view, &theme, size);
        assert!(colours(&buffer).into_iter().all(is_ansi16));
        insta::assert_snapshot!(
            format!("ansi16_degraded_hold_{}x{}", size.0, size.1),
            styled(&buffer)
        );
    }
    let snap = fixtures::drifted();
    for size in SIZES {
        let mut view = fixtures::view_on_env(1);
        press(&mut view, &snap, KeyCode::Enter);
        press(&mut view, &snap, KeyCode::Enter);
        let buffer = draw(&snap, &mut view, &theme, size);
        let used = colours(&buffer);
        assert!(used.iter().copied().all(is_ansi16), "{used:?}");
        // The diff's added and removed lines are told apart by colour.
        assert!(used.contains(&theme.style(Slot::DiffAdded).fg.unwrap()));
        assert!(used.contains(&theme.style(Slot::DiffRemoved).fg.unwrap()));
        insta::assert_snapshot!(
            format!("ansi16_diff_open_{}x{}", size.0, size.1),
            styled(&buffer)
        );
    }
}

#[test]
fn no_color_snapshots_at_120x36() {
    let theme = no_color_theme();
    assert_eq!(theme.name, "monochrome");
    let snap = fixtures::degraded_with_hold();
    let mut view = fixtures::view_on_env(2);
    let buffer = draw(&snap, &mut view, &theme, (120, 36));
    assert_eq!(colours(&buffer), Vec::<Color>::new());
    insta::assert_snapshot!("no_color_degraded_hold_120x36", styled(&buffer));

    let snap = fixtures::drifted();
    let mut view = fixtures::view_on_env(1);
    press(&mut view, &snap, KeyCode::Enter);
    press(&mut view, &snap, KeyCode::Enter);
    let buffer = draw(&snap, &mut view, &theme, (120, 36));
    assert_eq!(colours(&buffer), Vec::<Color>::new());
    let screen = text(&buffer);
    // Without colour the diff still says which side a line is on.
    assert!(
        screen.contains("-  replicas: 5") && screen.contains("+  replicas: 2"),
        "{screen}"
    );
    insta::assert_snapshot!("no_color_diff_open_120x36", styled(&buffer));
}

/// What the feeder answers for the drifted `Deployment/log-api` of staging (Secret
/// masking and managedFields splitting are the feeder's, tested there).
fn api_detail() -> driftdeck::model::ObjectDetail {
    let live = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: log-api\n  namespace: log-platform\n  labels:\n    app.kubernetes.io/managed-by: driftdeck\n  ownerReferences: []\nspec:\n  replicas: 5\n  template:\n    spec:\n      containers:\n      - name: api\n        image: registry.local/log-api:v1.5.0\nstatus:\n  availableReplicas: 5\n";
    let managed = live.replace(
        "  ownerReferences: []\n",
        "  ownerReferences: []\n  managedFields:\n  - manager: driftdeck\n    operation: Apply\n  - manager: kubectl-edit\n    operation: Update\n",
    );
    driftdeck::model::ObjectDetail {
        live: Some(live.to_owned()),
        live_full: Some(managed),
        desired: Some(
            live.replace("replicas: 5", "replicas: 2")
                .replace("status:\n  availableReplicas: 5\n", ""),
        ),
        conditions: vec![driftdeck::model::ConditionRow {
            kind: "Available".into(),
            status: "True".into(),
            reason: "MinimumReplicasAvailable".into(),
            message: "Deployment has minimum availability.".into(),
            last_transition: String::new(),
        }],
        events: vec![driftdeck::model::EventRow {
            last_seen: Some(fixtures::NOW),
            warning: false,
            reason: "ScalingReplicaSet".into(),
            object: "Deployment/log-api".into(),
            message: "Scaled up replica set log-api-7d9f8b6c5 to 5".into(),
            count: 1,
        }],
        ..Default::default()
    }
}

/// `y` on a drifted resource: live YAML (managedFields hidden, then shown with `m`), desired
/// YAML (`2`) and describe (`3`) at both sizes; `/` highlights and counts matches.
#[test]
fn object_views_show_live_desired_and_describe() {
    let snap = fixtures::drifted();
    let theme = Theme::default();
    for (w, h) in SIZES {
        let mut view = fixtures::view_on_env(1);
        view.focus = tui::Pane::Drift;
        press(&mut view, &snap, KeyCode::Char('y'));
        let loading = text(&draw(&snap, &mut view, &theme, (w, h)));
        assert!(loading.contains("loading…"), "{loading}");
        view.object = Some(Box::new(api_detail()));

        let live = text(&draw(&snap, &mut view, &theme, (w, h)));
        assert!(
            live.contains("live YAML · Deployment/log-platform/log-api")
                && live.contains("replicas: 5"),
            "{live}"
        );
        assert!(
            !live.contains("managedFields:"),
            "hidden by default:\n{live}"
        );
        insta::assert_snapshot!(format!("object_live_{w}x{h}"), live);
        press(&mut view, &snap, KeyCode::Char('m'));
        let full = text(&draw(&snap, &mut view, &theme, (w, h)));
        assert!(
            full.contains("managedFields:") && full.contains("kubectl-edit"),
            "{full}"
        );

        press(&mut view, &snap, KeyCode::Char('2'));
        let desired = text(&draw(&snap, &mut view, &theme, (w, h)));
        assert!(
            desired.contains("desired YAML") && desired.contains("replicas: 2"),
            "{desired}"
        );
        insta::assert_snapshot!(format!("object_desired_{w}x{h}"), desired);

        press(&mut view, &snap, KeyCode::Char('3'));
        let describe = text(&draw(&snap, &mut view, &theme, (w, h)));
        assert!(describe.contains("MinimumReplicasAvailable"), "{describe}");
        assert!(describe.contains("ScalingReplicaSet"), "{describe}");
        insta::assert_snapshot!(format!("object_describe_{w}x{h}"), describe);

        press(&mut view, &snap, KeyCode::Char('1'));
        view.filter = "replicas".into();
        let searched = text(&draw(&snap, &mut view, &theme, (w, h)));
        assert!(searched.contains("/replicas 2 matching"), "{searched}");
    }
}

/// `c` on a commit copies its full sha (the event loop writes the OSC 52 sequence) and says so.
#[test]
fn copy_takes_the_commit_sha_and_says_what_was_copied() {
    let snap = fixtures::drifted();
    let mut view = fixtures::view_on_env(1);
    view.focus = tui::Pane::Commits;
    press(&mut view, &snap, KeyCode::Char('c'));
    let sha = snap.envs[1].commits[0].sha.clone();
    assert_eq!(view.clipboard.as_deref(), Some(sha.as_str()));
    let toast = view
        .toasts
        .back()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert!(
        toast.starts_with(&format!("copied commit {}", &sha[..7])),
        "{toast}"
    );
    let seq = tui::osc52(view.clipboard.as_deref().unwrap());
    assert!(seq.starts_with("\x1b]52;c;") && seq.ends_with('\x07'));
}

/// The rollout strip under the env table (and in watch mode) for a running rollout whose wave
/// 2 soaks, a halted one and a finished one; every env row stays visible at 80×24.
#[test]
fn rollout_pipeline_running_halted_and_done() {
    use driftdeck::model::{RolloutPhase, WaveState};
    let cases = [
        (
            "rollout_running",
            fixtures::regions_rollout(
                RolloutPhase::Running,
                1,
                [WaveState::Done, WaveState::Soaking, WaveState::Pending],
            ),
            "✓ us-east → ◉ eu-west (soak 3m12s left) → · ap-south",
        ),
        (
            "rollout_halted",
            fixtures::regions_rollout(
                RolloutPhase::Halted,
                0,
                [WaveState::Halted, WaveState::Pending, WaveState::Pending],
            ),
            "HALTED at wave 1: prod-us-east is Degraded",
        ),
        (
            "rollout_done",
            fixtures::regions_rollout(RolloutPhase::Done, 3, [WaveState::Done; 3]),
            "done  ✓ us-east → ✓ eu-west → ✓ ap-south",
        ),
    ];
    let theme = Theme::default();
    for (name, snap, expected) in cases {
        for size in SIZES {
            for watch in [false, true] {
                let mut view = fixtures::view_state();
                view.watch_mode = watch;
                let screen = text(&draw(&snap, &mut view, &theme, size));
                assert!(
                    screen.contains(expected),
                    "{name} {size:?} watch={watch}: no {expected:?} in\n{screen}"
                );
                if !watch {
                    for env in &snap.envs {
                        assert!(
                            screen.contains(env.name.as_str()),
                            "{name} {size:?}: env row {} hidden",
                            env.name
                        );
                    }
                }
                let mode = if watch { "_watch" } else { "" };
                insta::assert_snapshot!(format!("{name}{mode}_{}x{}", size.0, size.1), screen);
            }
        }
    }
}

/// An 80-column header over a long local repository path: the path gives way to its last
/// segment, so the selected env's context and engine stay whole.
#[test]
fn a_long_repository_path_gives_way_to_the_context_and_engine_in_the_header() {
    let mut snap = fixtures::demo_healthy();
    snap.repo.url = "/srv/gitops/checkouts/platform-team/log-platform/deploy".into();
    snap.envs[1].engine = EngineName::ArgoCd;
    let mut view = fixtures::view_state();
    let screen = text(&draw(&snap, &mut view, &Theme::default(), (80, 24)));
    let header = screen.lines().next().unwrap_or_default();
    assert!(
        header.contains(" deploy ") && !header.contains("/srv/gitops"),
        "{header}"
    );
    assert!(header.contains("engine driftdeck"), "{header}");
    let wide = text(&draw(&snap, &mut view, &Theme::default(), (160, 40)));
    let header = wide.lines().next().unwrap_or_default();
    assert!(
        header.contains("/srv/gitops/checkouts/platform-team/log-platform/deploy"),
        "a header with room keeps the whole path: {header}"
    );
}

/// A sync confirmation whose commit subject wraps at 80 columns grows to fit it: the whole
/// subject and the key hints are on screen.
#[test]
fn a_long_commit_subject_in_a_sync_confirmation_keeps_its_key_hints_at_80_columns() {
    let mut snap = fixtures::demo_healthy();
    let staging = &mut snap.envs[1];
    let sha = staging
        .revision
        .clone()
        .expect("the fixture's staging has a revision");
    let commit = staging
        .commits
        .iter_mut()
        .find(|c| c.sha == sha)
        .expect("staging's revision is among its commits");
    commit.summary = "promote(dev→staging): log-processor 2.0.1 → 2.1.0, log-api 1.4.1 → \
                      1.4.2, log-collector 0.9.2 → 0.9.3 (CHG-2231)"
        .into();
    let mut view = fixtures::view_state();
    press(&mut view, &snap, KeyCode::Down);
    press(&mut view, &snap, KeyCode::Char('s'));
    let screen = text(&draw(&snap, &mut view, &Theme::default(), (80, 24)));
    assert!(screen.contains("y/Enter confirm"), "{screen}");
    assert!(screen.contains("(CHG-2231)"), "{screen}");
    assert!(screen.contains("resources drifted now"), "{screen}");
}

/// The typed confirmation of a protected env grows the same way: with a wrapped commit subject
/// the "Type production to confirm" prompt is still shown above the input.
#[test]
fn a_long_commit_subject_in_a_typed_confirmation_keeps_the_prompt_at_80_columns() {
    let mut snap = fixtures::demo_healthy();
    let production = snap
        .envs
        .iter_mut()
        .find(|e| e.protected)
        .expect("the fixture has a protected env");
    let name = production.name.clone();
    let sha = production.revision.clone().expect("a revision");
    let commit = production
        .commits
        .iter_mut()
        .find(|c| c.sha == sha)
        .expect("production's revision is among its commits");
    commit.summary = "promote(staging→production): log-processor 2.0.1 → 2.1.0, log-api 1.4.1 \
                      → 1.4.2, log-collector 0.9.2 → 0.9.3 (CHG-2231)"
        .into();
    let mut view = fixtures::view_state();
    while view.selected_env(&snap).map(|e| e.name.as_str()) != Some(name.as_str()) {
        press(&mut view, &snap, KeyCode::Down);
    }
    press(&mut view, &snap, KeyCode::Char('s'));
    let screen = text(&draw(&snap, &mut view, &Theme::default(), (80, 24)));
    assert!(
        screen.contains(&format!("Type {name} to confirm:")),
        "{screen}"
    );
    assert!(screen.contains("Enter confirm"), "{screen}");
}
