//! View state: everything the console remembers that is not the controller's truth — focus,
//! cursors, the open drill-down and dialog, typed input, toasts, the log buffer, the clock the
//! last tick brought. Dialogs hold the exact [`Command`] they will send (gitui's
//! `ConfirmAction`), so what the operator reads is what runs.
//!
//! Imports `crate::model` and `crate::config`; no IO. Every buffer here is bounded (watch mode
//! runs for days).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use jiff::Timestamp;
use ratatui_textarea::TextArea;

use crate::config::keymap::Keymap;
use crate::model::{
    Command, DemoAction, Drift, EventRow, InspectRequest, OperationResult, ResourceKey, Snapshot,
};
use crate::tui::inspect::LogOptions;

/// How many toasts are kept; older ones are dropped.
pub const MAX_TOASTS: usize = 5;
/// How long a toast stays on screen.
pub const TOAST_SECONDS: i64 = 6;
/// Log lines kept for the logs view.
pub const MAX_LOG_LINES: usize = 10_000;
/// Events kept for the events view (the newest).
pub const MAX_EVENT_ROWS: usize = 1_000;
/// Watch mode shows each env's detail this long before rotating.
pub const WATCH_ROTATE_SECONDS: i64 = 8;

/// The panes of the main screen, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pane {
    #[default]
    Envs,
    Commits,
    Drift,
    Pods,
}

impl Pane {
    pub const ALL: [Pane; 4] = [Pane::Envs, Pane::Commits, Pane::Drift, Pane::Pods];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Envs => "Environments",
            Pane::Commits => "History",
            Pane::Drift => "Drift",
            Pane::Pods => "Pods",
        }
    }

    pub fn next(self) -> Pane {
        match self {
            Pane::Envs => Pane::Commits,
            Pane::Commits => Pane::Drift,
            Pane::Drift => Pane::Pods,
            Pane::Pods => Pane::Envs,
        }
    }

    pub fn prev(self) -> Pane {
        match self {
            Pane::Envs => Pane::Pods,
            Pane::Commits => Pane::Envs,
            Pane::Drift => Pane::Commits,
            Pane::Pods => Pane::Drift,
        }
    }
}

/// A selection in a list plus the first visible row; render keeps the selection in view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    pub selected: usize,
    pub offset: usize,
}

impl Cursor {
    pub fn clamp(&mut self, len: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
    }

    pub fn move_by(&mut self, delta: isize, len: usize) {
        let target = self.selected.saturating_add_signed(delta);
        self.selected = target.min(len.saturating_sub(1));
    }

    /// The rows to draw for a viewport of `height`, moving the offset so the selection shows.
    pub fn window(&mut self, len: usize, height: usize) -> std::ops::Range<usize> {
        self.clamp(len);
        if height == 0 || len == 0 {
            return 0..0;
        }
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height));
        self.offset..(self.offset + height).min(len)
    }
}

/// The full-screen drill-down in front of the panes, if any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum View {
    #[default]
    Main,
    /// The unified diff of one drifted resource.
    Diff { env: String, key: ResourceKey },
    /// One resource's live YAML, desired YAML or describe ([`ViewState::object_tab`]).
    Object { env: String, key: ResourceKey },
    /// Versions × environments: every workload's image per env.
    Versions,
    /// A pod's log, following the tail of [`ViewState::logs`].
    Logs { env: String, pod: String },
    /// Events from [`ViewState::events`]: of one object (`(kind, name)`) or the whole env.
    Events {
        env: String,
        object: Option<(String, String)>,
    },
}

/// A yes/no confirmation naming the exact target.
#[derive(Debug, Clone)]
pub struct Confirm {
    pub title: String,
    pub lines: Vec<String>,
    pub command: Command,
}

/// A confirmation for a protected env: the env name must be typed.
#[derive(Debug, Clone)]
pub struct TypedConfirm {
    pub title: String,
    pub lines: Vec<String>,
    pub env: String,
    pub command: Command,
    pub input: TextArea<'static>,
    /// Set after Enter with the wrong name, so the dialog can say so.
    pub mismatch: bool,
}

/// The rendered diff TO would get, with the commit message being edited.
#[derive(Debug, Clone)]
pub struct Preview {
    pub from: String,
    pub to: String,
    pub drift: Vec<Drift>,
    pub message: TextArea<'static>,
    pub to_protected: bool,
    pub scroll: usize,
}

/// One revision offered by the rollback picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickEntry {
    pub sha: String,
    pub time: Timestamp,
    pub author: String,
    pub summary: String,
    /// The result of the newest operation that applied this revision, if any.
    pub result: Option<OperationResult>,
    /// Whether the env runs this revision now.
    pub current: bool,
}

#[derive(Debug, Clone)]
pub struct RollbackPicker {
    pub env: String,
    pub entries: Vec<PickEntry>,
    pub cursor: Cursor,
}

/// The popup in front of everything, if any.
#[derive(Debug, Clone)]
pub enum Dialog {
    Confirm(Confirm),
    Typed(TypedConfirm),
    Preview(Preview),
    Picker(RollbackPicker),
    Error { title: String, message: String },
    Help { scroll: usize },
}

/// A line being typed at the bottom of the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputLine {
    /// Live filter of the list panes.
    Filter(String),
    /// `:` command palette.
    Palette(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub text: String,
    pub error: bool,
    pub at: Timestamp,
}

/// Everything the UI remembers between frames.
#[derive(Debug, Clone)]
pub struct ViewState {
    pub keymap: Keymap,
    pub read_only: bool,
    pub watch_mode: bool,
    pub poll_interval: Duration,
    /// The clock as of the last tick; all ages and the header clock use it (stable snapshots).
    pub now: Timestamp,
    pub focus: Pane,
    /// The detail pane shown in the compact (80×24) layout while the env pane has focus.
    pub last_detail: Pane,
    pub env: Cursor,
    pub commits: Cursor,
    pub drift: Cursor,
    pub pods: Cursor,
    /// The pods pane shows only pods that are not Healthy.
    pub pods_unhealthy_only: bool,
    pub view: View,
    pub view_scroll: usize,
    pub dialog: Option<Dialog>,
    pub input: Option<InputLine>,
    pub filter: String,
    pub toasts: VecDeque<Toast>,
    pub logs: VecDeque<String>,
    /// How the logs view asks for and draws the log.
    pub log_options: LogOptions,
    /// Events of the events view, newest first.
    pub events: Vec<EventRow>,
    /// Whether the first set of events arrived (so "none" means none).
    pub events_loaded: bool,
    pub events_error: Option<String>,
    /// The object the events view was opened for, to switch back from the whole env.
    pub events_object: Option<(String, String)>,
    /// Id of the logs/events request the views are showing; chunks of others are dropped.
    pub inspect_id: u64,
    /// A request waiting to leave for the inspection feeder.
    pub inspect_request: Option<InspectRequest>,
    /// `(from, to)` of a preview asked for and not yet answered.
    pub awaiting_preview: Option<(String, String)>,
    /// A `:demo …` request waiting to leave on the demo channel.
    pub demo_request: Option<DemoAction>,
    /// Whether a demo channel exists (only `driftdeck demo` gives one).
    pub demo_available: bool,
    /// This process's id, to tell our own Lease (`user@host/pid`) from another console's.
    pub own_pid: Option<u32>,
    /// Per env: when it was last observed *successfully* (no error), as seen at ticks. An
    /// unreachable cluster's observation time keeps advancing; this does not.
    pub last_good: BTreeMap<String, Timestamp>,
    /// Per env: the health of its last successful observation, so a stale tile says what
    /// was last *known* rather than the `Unknown` of every failed observation since.
    pub last_good_health: BTreeMap<String, crate::model::HealthCode>,
    /// The object views' data from the feeder (`None`: asked, not answered yet).
    pub object: Option<Box<crate::model::ObjectDetail>>,
    pub object_error: Option<String>,
    pub object_tab: crate::tui::object::ObjectTab,
    /// Whether the live YAML shows `metadata.managedFields`.
    pub object_managed: bool,
    /// Text waiting to be copied to the terminal's clipboard (OSC 52) by the event loop.
    pub clipboard: Option<String>,
    /// Env index watch mode is showing in detail.
    pub watch_index: usize,
    pub quit: bool,
}

impl ViewState {
    pub fn new(keymap: Keymap, now: Timestamp) -> Self {
        Self {
            keymap,
            read_only: false,
            watch_mode: false,
            poll_interval: Duration::from_secs(30),
            now,
            focus: Pane::Envs,
            last_detail: Pane::Drift,
            env: Cursor::default(),
            commits: Cursor::default(),
            drift: Cursor::default(),
            pods: Cursor::default(),
            pods_unhealthy_only: false,
            view: View::Main,
            view_scroll: 0,
            dialog: None,
            input: None,
            filter: String::new(),
            toasts: VecDeque::new(),
            logs: VecDeque::new(),
            log_options: LogOptions::default(),
            events: Vec::new(),
            events_loaded: false,
            events_error: None,
            events_object: None,
            inspect_id: 0,
            inspect_request: None,
            awaiting_preview: None,
            demo_request: None,
            demo_available: false,
            own_pid: None,
            last_good: BTreeMap::new(),
            last_good_health: BTreeMap::new(),
            object: None,
            object_error: None,
            object_tab: crate::tui::object::ObjectTab::Live,
            object_managed: false,
            clipboard: None,
            watch_index: 0,
            quit: false,
        }
    }

    /// Read-only either because the console was started so or because the controller says so.
    pub fn is_read_only(&self, snap: &Snapshot) -> bool {
        self.read_only || self.watch_mode || snap.read_only
    }

    /// When `env` was last observed successfully: the later of what the ticks recorded and
    /// the snapshot's own time when it carries no error.
    pub fn last_good_of(&self, env: &crate::model::EnvState) -> Option<Timestamp> {
        let current = env.observed_at.filter(|_| env.error.is_none());
        self.last_good.get(&env.name).copied().max(current)
    }

    /// The health of `env`'s last successful observation: the snapshot's own when it carries
    /// no error, else what the ticks recorded.
    pub fn last_known_health(
        &self,
        env: &crate::model::EnvState,
    ) -> Option<crate::model::HealthCode> {
        if env.error.is_none() && env.observed_at.is_some() {
            Some(env.health.code)
        } else {
            self.last_good_health.get(&env.name).copied()
        }
    }

    /// Whether `holder` (`user@host/pid`) is this process.
    pub fn holds_lease(&self, holder: &str) -> bool {
        self.own_pid.is_some_and(|pid| {
            holder
                .rsplit_once('/')
                .is_some_and(|(_, p)| p == pid.to_string())
        })
    }

    /// The env the panes are about.
    pub fn selected_env<'s>(&self, snap: &'s Snapshot) -> Option<&'s crate::model::EnvState> {
        snap.envs
            .get(self.env.selected.min(snap.envs.len().saturating_sub(1)))
    }

    /// Whether keys go to a text field or dialog rather than through the keymap.
    pub fn wants_raw_keys(&self) -> bool {
        self.dialog.is_some() || self.input.is_some()
    }

    pub fn toast(&mut self, text: impl Into<String>) {
        self.push_toast(text.into(), false);
    }

    pub fn toast_error(&mut self, text: impl Into<String>) {
        self.push_toast(text.into(), true);
    }

    fn push_toast(&mut self, text: String, error: bool) {
        if self.toasts.len() >= MAX_TOASTS {
            self.toasts.pop_front();
        }
        self.toasts.push_back(Toast {
            text,
            error,
            at: self.now,
        });
    }

    pub fn push_log_line(&mut self, line: String) {
        if self.logs.len() >= MAX_LOG_LINES {
            self.logs.pop_front();
        }
        self.logs.push_back(line);
    }
}
