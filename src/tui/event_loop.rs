//! The event loop: one closed [`UiEvent`] enum fed by one `tokio::select!` over crossterm's
//! `EventStream`, the snapshot watch, the notice channel, a tick and the signals that must
//! restore the terminal (SIGTERM, SIGHUP — an SSH drop —, SIGINT and SIGQUIT: raw mode turns
//! Ctrl-C and Ctrl-\ into keys, so these only come from `kill` or a supervisor, and their
//! default action would leave the terminal in the alternate screen with echo off). Every
//! trigger is in one `match`.
//!
//! Terminal hygiene: [`run_in_terminal`] enters raw mode and the alternate screen through
//! `ratatui::try_init` (which also installs a panic hook that restores the terminal) and
//! restores it on every exit path. A panic anywhere in the process — the UI or any controller
//! task — restores the terminal at once (the hook) and ends the console: a task's panic would
//! otherwise leave the UI drawing on a restored terminal, so the hook also raises a flag that
//! the loop checks before every draw and on every tick, and the console then leaves as on a
//! signal (channels dropped, so the driver still flushes and releases its Leases).
//!
//! Fault injection for the terminal tests: `DRIFTDECK_FAULT_PANIC=ui` panics the event loop,
//! `=task` panics a spawned task, once the first frame is on screen (as the sandbox's faults,
//! this exists so the restore paths are tested on the real binary; nothing else reads it). Nothing is drawn unless something visible changed: a new
//! snapshot `seq`, input, a notice, a resize, a toast expiring, the header's minute, or — in
//! watch mode only — the second ("updated Ns ago"). So an idle console writes nothing.
//!
//! This is the only IO in the module. Imports `crate::model` and `crate::config`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use jiff::Timestamp;
use ratatui::DefaultTerminal;
use ratatui::buffer::Buffer;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::config::keymap::Keymap;
use crate::config::theme::{TermCaps, Theme};
use crate::model::{Command, DemoAction, InspectChunk, InspectRequest, Notice, Snapshot};
use crate::tui::action::{UiAction, translate};
use crate::tui::draw::render;
use crate::tui::state::ViewState;
use crate::tui::update::update;

/// How often the clock is looked at; redraws still happen only on visible change.
const TICK: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
    #[error("a task panicked (the terminal was restored; the panic is printed above and logged)")]
    Panicked,
}

/// Raised by the panic hook [`run_in_terminal`] installs; the loop leaves when it sees it.
static PANICKED: AtomicBool = AtomicBool::new(false);

/// Chains a hook after ratatui's (which restores the terminal, then prints the panic): it
/// logs the panic and raises [`PANICKED`].
fn install_panic_flag() {
    let restore_and_print = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_and_print(info);
        tracing::error!("panic: {info}");
        PANICKED.store(true, Ordering::SeqCst);
    }));
}

fn panicked() -> bool {
    PANICKED.load(Ordering::SeqCst)
}

/// `DRIFTDECK_FAULT_PANIC`: where to inject a panic once the first frame is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FaultPanic {
    Ui,
    Task,
}

fn fault_panic() -> Option<FaultPanic> {
    match std::env::var("DRIFTDECK_FAULT_PANIC").ok()?.as_str() {
        "ui" => Some(FaultPanic::Ui),
        "task" => Some(FaultPanic::Task),
        _ => None,
    }
}

/// Everything that can wake the UI.
#[derive(Debug)]
pub enum UiEvent {
    Input(Event),
    /// The controller published a snapshot.
    Snapshot,
    Notice(Notice),
    /// The inspection feeder sent log lines or events.
    Inspected(InspectChunk),
    Tick,
    /// SIGTERM, SIGHUP, SIGINT or SIGQUIT: restore the terminal and leave.
    Shutdown,
}

/// How the console runs.
#[derive(Debug)]
pub struct UiOptions {
    pub read_only: bool,
    pub watch_mode: bool,
    pub theme: Theme,
    pub keymap: Keymap,
    /// The repo poll interval; watch mode calls data stale after twice this.
    pub poll_interval: Duration,
    /// Keymap/theme warnings to show as toasts at startup.
    pub warnings: Vec<String>,
    /// Where `:demo …` requests go (only `driftdeck demo` wires one; `None` elsewhere, and
    /// the palette then says the command exists only in the demo).
    pub demo_tx: Option<mpsc::Sender<DemoAction>>,
    /// The inspection feeder (`controller::driver::inspect::serve`) behind the logs and events
    /// views; without it those views say they have no feed.
    pub inspect: Option<InspectEnds>,
}

/// The console's ends of the inspection feeder's channels.
#[derive(Debug)]
pub struct InspectEnds {
    pub requests: mpsc::Sender<InspectRequest>,
    pub chunks: mpsc::Receiver<InspectChunk>,
}

impl InspectEnds {
    /// A pair of channels: the console's ends and the feeder's (requests in, chunks out).
    pub fn channel() -> (
        Self,
        (mpsc::Receiver<InspectRequest>, mpsc::Sender<InspectChunk>),
    ) {
        let (requests, request_rx) = mpsc::channel(8);
        let (chunk_tx, chunks) = mpsc::channel(64);
        (Self { requests, chunks }, (request_rx, chunk_tx))
    }
}

impl Default for UiOptions {
    fn default() -> Self {
        Self {
            read_only: false,
            watch_mode: false,
            theme: Theme::default(),
            keymap: Keymap::default(),
            poll_interval: Duration::from_secs(30),
            warnings: Vec::new(),
            demo_tx: None,
            inspect: None,
        }
    }
}

impl UiOptions {
    /// Resolves `--theme` (with `NO_COLOR`, `TERM`, `COLORTERM`) and the user keymap file
    /// (default: [`Keymap::default_user_file`]), collecting their warnings.
    pub fn load(theme: Option<&str>, keymap_file: Option<&Path>) -> Self {
        let (theme, mut warnings) = Theme::resolve(theme, TermCaps::from_env());
        let default_file = Keymap::default_user_file();
        let (keymap, keymap_warnings) = Keymap::load(keymap_file.or(default_file.as_deref()));
        warnings.extend(keymap_warnings);
        Self {
            theme,
            keymap,
            warnings,
            ..Self::default()
        }
    }
}

/// Sets the terminal up, runs the console, and restores the terminal however it ends.
pub async fn run_in_terminal(
    snapshot_rx: watch::Receiver<Snapshot>,
    notice_rx: mpsc::Receiver<Notice>,
    command_tx: mpsc::Sender<Command>,
    opts: UiOptions,
) -> Result<(), Error> {
    let mut terminal = ratatui::try_init()?;
    install_panic_flag();
    let result = run(&mut terminal, snapshot_rx, notice_rx, command_tx, opts).await;
    ratatui::try_restore()?;
    result
}

/// The event loop proper, on a terminal already set up. Returns on quit, on a signal, when
/// the input stream ends, or on a terminal error.
pub async fn run(
    terminal: &mut DefaultTerminal,
    mut snapshot_rx: watch::Receiver<Snapshot>,
    mut notice_rx: mpsc::Receiver<Notice>,
    command_tx: mpsc::Sender<Command>,
    opts: UiOptions,
) -> Result<(), Error> {
    let mut view = ViewState::new(opts.keymap, Timestamp::now());
    view.read_only = opts.read_only;
    view.watch_mode = opts.watch_mode;
    view.poll_interval = opts.poll_interval;
    view.demo_available = opts.demo_tx.is_some();
    view.own_pid = Some(std::process::id());
    for warning in opts.warnings {
        view.toast_error(warning);
    }
    let theme = opts.theme;
    let (inspect_tx, mut inspect_rx) = match opts.inspect {
        Some(ends) => (Some(ends.requests), Some(ends.chunks)),
        None => (None, None),
    };
    let mut snap = snapshot_rx.borrow_and_update().clone();
    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigquit = signal(SignalKind::quit())?;
    let mut fault = fault_panic();
    let mut snapshots_open = true;
    let mut notices_open = true;
    let mut dirty = true;
    let mut shown_clock = clock_key(&view);
    // For `scripts/ui-speed.sh` (debug level): when the first frame is drawn, and how long
    // each key press takes to reach the terminal.
    let started = Instant::now();
    let mut first_frame = true;
    let mut key_at: Option<Instant> = None;
    let mut last_frame: Option<Buffer> = None;

    loop {
        if panicked() {
            return Err(Error::Panicked);
        }
        if dirty {
            dirty = false;
            let wrote = draw_if_changed(terminal, &mut last_frame, |frame| {
                render(frame, &snap, &mut view, &theme);
            })?;
            if first_frame && wrote {
                first_frame = false;
                tracing::debug!(elapsed_us = elapsed_us(started), "first frame drawn");
            }
            if wrote {
                inject_panic(fault.take());
            }
            if let Some(at) = key_at.take() {
                tracing::debug!(latency_us = elapsed_us(at), "key to frame");
            }
        }
        if view.quit {
            return Ok(());
        }
        let event = tokio::select! {
            next = input.next() => match next {
                Some(Ok(event)) => UiEvent::Input(event),
                Some(Err(e)) => return Err(Error::Terminal(e)),
                None => return Ok(()),
            },
            changed = snapshot_rx.changed(), if snapshots_open => match changed {
                Ok(()) => UiEvent::Snapshot,
                Err(_) => {
                    snapshots_open = false;
                    UiEvent::Notice(Notice::Warned { env: None, message: "controller stopped; data is frozen".into() })
                }
            },
            notice = notice_rx.recv(), if notices_open => match notice {
                Some(notice) => UiEvent::Notice(notice),
                None => {
                    notices_open = false;
                    UiEvent::Tick
                }
            },
            chunk = next_chunk(&mut inspect_rx) => match chunk {
                Some(chunk) => UiEvent::Inspected(chunk),
                None => {
                    inspect_rx = None;
                    UiEvent::Tick
                }
            },
            _ = tick.tick() => UiEvent::Tick,
            _ = sigterm.recv() => UiEvent::Shutdown,
            _ = sighup.recv() => UiEvent::Shutdown,
            _ = sigint.recv() => UiEvent::Shutdown,
            _ = sigquit.recv() => UiEvent::Shutdown,
        };
        let action = match event {
            UiEvent::Input(Event::Key(key)) => {
                let action = translate(&view, key);
                if action.is_some() {
                    key_at.get_or_insert_with(Instant::now);
                }
                action
            }
            UiEvent::Input(Event::Resize(..)) => {
                dirty = true;
                None
            }
            UiEvent::Input(_) => None,
            UiEvent::Snapshot => {
                let next = snapshot_rx.borrow_and_update().clone();
                dirty |= next.seq != snap.seq;
                snap = next;
                None
            }
            UiEvent::Notice(notice) => Some(UiAction::Notice(notice)),
            UiEvent::Inspected(chunk) => Some(UiAction::Inspected(chunk)),
            UiEvent::Tick => {
                let toasts = view.toasts.len();
                let watch_index = view.watch_index;
                update(&mut view, &snap, UiAction::Tick(Timestamp::now()));
                let clock = clock_key(&view);
                dirty |= clock != shown_clock
                    || toasts != view.toasts.len()
                    || watch_index != view.watch_index;
                shown_clock = clock;
                None
            }
            UiEvent::Shutdown => return Ok(()),
        };
        if let Some(action) = action {
            dirty = true;
            if let Some(command) = update(&mut view, &snap, action)
                && let Err(e) = command_tx.try_send(command)
            {
                tracing::warn!("command not delivered: {e}");
                view.toast_error(format!("controller busy or gone: {e}"));
            }
            if let Some(request) = view.inspect_request.take() {
                send_inspect(&mut view, inspect_tx.as_ref(), request);
            }
            if let Some(text) = view.clipboard.take() {
                // OSC 52 moves no cursor and draws nothing: safe between frames.
                let sequence = crate::tui::clipboard::osc52(&text);
                let written =
                    std::io::Write::write_all(terminal.backend_mut(), sequence.as_bytes())
                        .and_then(|()| std::io::Write::flush(terminal.backend_mut()));
                if let Err(e) = written {
                    view.toast_error(format!("copy not written to the terminal: {e}"));
                }
            }
            if let (Some(request), Some(tx)) = (view.demo_request.take(), &opts.demo_tx)
                && let Err(e) = tx.try_send(request)
            {
                view.toast_error(format!("demo request not delivered: {e}"));
            }
        }
    }
}

#[allow(clippy::panic)] // fault injection: the panic is the point
fn inject_panic(fault: Option<FaultPanic>) {
    match fault {
        None => {}
        Some(FaultPanic::Ui) => {
            panic!("DRIFTDECK_FAULT_PANIC=ui: injected panic in the event loop")
        }
        Some(FaultPanic::Task) => {
            tokio::spawn(async {
                panic!("DRIFTDECK_FAULT_PANIC=task: injected panic in a spawned task");
            });
        }
    }
}

/// The next chunk from the feeder; pending forever without one (so `select!` skips it).
async fn next_chunk(rx: &mut Option<mpsc::Receiver<InspectChunk>>) -> Option<InspectChunk> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Hands a logs/events request to the feeder; without one the view says why it stays empty.
fn send_inspect(
    view: &mut ViewState,
    tx: Option<&mpsc::Sender<InspectRequest>>,
    request: InspectRequest,
) {
    let id = match &request {
        InspectRequest::Logs { id, .. }
        | InspectRequest::Events { id, .. }
        | InspectRequest::Object { id, .. } => *id,
        InspectRequest::Stop => 0,
    };
    let failed = match tx {
        Some(tx) => match tx.try_send(request) {
            Ok(()) => return,
            Err(e) => format!("logs/events request not delivered: {e}"),
        },
        None => "no cluster feed in this console: logs and events are unavailable".to_owned(),
    };
    if id != 0 {
        crate::tui::inspect::on_chunk(
            view,
            InspectChunk::Failed {
                id,
                message: failed,
            },
        );
    }
}

/// What of the clock is on screen: the minute in the console, the second in watch mode.
fn clock_key(view: &ViewState) -> i64 {
    if view.watch_mode {
        view.now.as_second()
    } else {
        view.now.as_second().div_euclid(60)
    }
}

fn elapsed_us(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Renders a frame and writes it only when it differs from the frame on screen, so a
/// snapshot that changes nothing visible (a renewed Lease, a newer `observed_at`) costs no
/// terminal output at all — not even ratatui's per-draw style reset and cursor hide. Returns
/// whether anything was written.
fn draw_if_changed(
    terminal: &mut DefaultTerminal,
    last: &mut Option<Buffer>,
    render_frame: impl FnOnce(&mut ratatui::Frame),
) -> std::io::Result<bool> {
    terminal.autoresize()?;
    let mut frame = terminal.get_frame();
    render_frame(&mut frame);
    if last.as_ref() == Some(&*terminal.current_buffer_mut()) {
        // Leave the back buffer blank for the next render, as a completed draw would.
        terminal.current_buffer_mut().reset();
        return Ok(false);
    }
    let completed = terminal.apply_buffer()?;
    *last = Some(completed.buffer.clone());
    Ok(true)
}
