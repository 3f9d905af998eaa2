//! Frame cost at scale: one frame of the console rendered into a `TestBackend` with 3 envs ×
//! 2,000 resources × 5,000 pods (a tenth of the resources drifted, 200 commits per env). The
//! target is under 10 ms per frame; panes render only their visible rows, so the cost should
//! not grow with the row counts except where a filter has to scan them.
//!
//! Key → screen (target under 50 ms): one key press translated by the keymap, applied by
//! `update`, and the next frame drawn into the backend, on the same data. Keys that open a
//! view alternate with the key that closes it (and `j` with `k`), so every iteration does the
//! same work; the figure is the mean of one press and one frame.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use driftdeck::config::theme::Theme;
use driftdeck::tui::{self, Pane, fixtures, translate, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn press(view: &mut tui::ViewState, snap: &tui::Snapshot, code: KeyCode) {
    if let Some(action) = translate(view, KeyEvent::new(code, KeyModifiers::NONE)) {
        update(view, snap, action);
    }
}

fn frame(c: &mut Criterion) {
    let snap = fixtures::large(3, 2_000, 5_000);
    let theme = Theme::default();

    let mut group = c.benchmark_group("frame_3x2000x5000");
    for (name, (w, h), setup) in [
        ("overview_120x36", (120, 36), None),
        ("pods_bottom_120x36", (120, 36), Some("bottom")),
        ("filtered_120x36", (120, 36), Some("filter")),
        ("compact_80x24", (80, 24), None),
        ("watch_120x36", (120, 36), Some("watch")),
    ] {
        let mut view = fixtures::view_state();
        match setup {
            Some("bottom") => {
                view.focus = Pane::Pods;
                press(&mut view, &snap, KeyCode::End);
            }
            Some("filter") => {
                press(&mut view, &snap, KeyCode::Char('/'));
                for ch in "app-19".chars() {
                    press(&mut view, &snap, KeyCode::Char(ch));
                }
                press(&mut view, &snap, KeyCode::Enter);
            }
            Some("watch") => view.watch_mode = true,
            _ => {}
        }
        let mut terminal = match Terminal::new(TestBackend::new(w, h)) {
            Ok(t) => t,
            Err(e) => match e {},
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                // A fresh back buffer each time, so every frame is drawn and diffed in full.
                terminal.clear().ok();
                terminal
                    .draw(|f| tui::render(f, black_box(&snap), &mut view, &theme))
                    .map(|_| ())
                    .ok();
            });
        });
    }
    group.finish();
}

/// One key press and the frame after it.
fn key_then_frame(
    terminal: &mut Terminal<TestBackend>,
    view: &mut tui::ViewState,
    snap: &tui::Snapshot,
    theme: &Theme,
    code: KeyCode,
) {
    press(view, snap, code);
    terminal
        .draw(|f| tui::render(f, black_box(snap), view, theme))
        .map(|_| ())
        .ok();
}

fn key_to_screen(c: &mut Criterion) {
    let snap = fixtures::large(3, 2_000, 5_000);
    let theme = Theme::default();
    let mut group = c.benchmark_group("key_to_screen_3x2000x5000");
    // (case, focus, the key pair pressed in turn, whether `/` is open first)
    let cases: [(&str, Pane, [KeyCode; 2], bool); 5] = [
        (
            "j_k_pods",
            Pane::Pods,
            [KeyCode::Char('j'), KeyCode::Char('k')],
            false,
        ),
        (
            "tab_focus",
            Pane::Envs,
            [KeyCode::Tab, KeyCode::BackTab],
            false,
        ),
        (
            "filter_keystroke",
            Pane::Pods,
            [KeyCode::Char('1'), KeyCode::Backspace],
            true,
        ),
        (
            "diff_open_close",
            Pane::Drift,
            [KeyCode::Char('d'), KeyCode::Esc],
            false,
        ),
        (
            "object_open_close",
            Pane::Drift,
            [KeyCode::Char('y'), KeyCode::Esc],
            false,
        ),
    ];
    for (name, focus, keys, filter) in cases {
        let mut view = fixtures::view_state();
        view.focus = focus;
        if filter {
            press(&mut view, &snap, KeyCode::Char('/'));
            press(&mut view, &snap, KeyCode::Char('a'));
        }
        let mut terminal = match Terminal::new(TestBackend::new(120, 36)) {
            Ok(t) => t,
            Err(e) => match e {},
        };
        let mut turn = 0usize;
        group.bench_function(name, |b| {
            b.iter(|| {
                let key = keys[turn % 2];
                turn += 1;
                key_then_frame(&mut terminal, &mut view, &snap, &theme, key);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, frame, key_to_screen);
criterion_main!(benches);
