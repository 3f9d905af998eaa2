//! Frame cost at scale: one frame of the console rendered into a `TestBackend` with 3 envs ×
//! 2,000 resources × 5,000 pods (a tenth of the resources drifted, 200 commits per env). The
//! target is under 10 ms per frame; panes render only their visible rows, so the cost should
//! not grow with the row counts except where a filter has to scan them.

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

criterion_group!(benches, frame);
criterion_main!(benches);
