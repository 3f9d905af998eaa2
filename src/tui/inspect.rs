//! The logs and events drill-downs' state machine: which log or events the views ask the
//! feeder for ([`InspectRequest`]), the view keys that change the request (follow, previous
//! container, container picker, since, tail, wrap), and folding the feeder's
//! [`InspectChunk`]s into [`ViewState`]. Pure; the event loop sends the request left in
//! [`ViewState::inspect_request`] and feeds chunks back through `UiAction::Inspected`.
//!
//! Decisions (k9s where the design was silent): the log opens following the last
//! [`TAIL_PRESETS`]`[0]` lines of the first container; `f` toggles follow, `p` the previous
//! (crashed) instance, `c` steps through the containers, `s` cycles since (all, 5m, 1h, 24h),
//! `t` the tail (1000, 10000, all), `w` wraps. The filter (`/`) searches within the log: only
//! matching lines show, with the match count in the title. Every change is a new request
//! with a new id, so lines from the old stream never mix into the new buffer. Events open for
//! the object under the cursor (a pod in the pods pane, a resource in the drift pane) or else
//! the whole env, newest first; `a` switches between the two. `u` with the pods pane focused
//! toggles "not healthy only" (not in the keymap file: it means something only there).

use crate::model::{EventsRequest, InspectChunk, InspectRequest, LogRequest, Snapshot};
use crate::tui::state::{MAX_EVENT_ROWS, View, ViewState};

/// Lines of history asked for when a log opens, then the other choices of `t`.
pub const TAIL_PRESETS: [Option<i64>; 3] = [Some(1_000), Some(10_000), None];
/// Choices of `s`, in seconds (`None`: from the container's start).
pub const SINCE_PRESETS: [Option<i64>; 4] = [None, Some(300), Some(3_600), Some(86_400)];

/// What the logs view is showing and how.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogOptions {
    pub containers: Vec<String>,
    /// `None`: the pod's first container.
    pub container: Option<String>,
    pub previous: bool,
    pub follow: bool,
    pub since: usize,
    pub tail: usize,
    pub wrap: bool,
    /// The stream ended (container exited, or not following).
    pub ended: bool,
    pub error: Option<String>,
}

impl LogOptions {
    pub fn since_seconds(&self) -> Option<i64> {
        SINCE_PRESETS.get(self.since).copied().flatten()
    }

    pub fn tail_lines(&self) -> Option<i64> {
        TAIL_PRESETS.get(self.tail).copied().flatten()
    }
}

/// The env's (context, namespace) and the pod's namespace, for a request.
fn pod_target(snap: &Snapshot, env: &str, pod: &str) -> Option<(String, String)> {
    let env = snap.env(env)?;
    let namespace = env
        .pods
        .iter()
        .find(|p| p.name == pod)
        .map_or_else(|| env.namespace.clone(), |p| p.namespace.clone());
    Some((env.context.clone(), namespace))
}

fn next_id(view: &mut ViewState) -> u64 {
    view.inspect_id = view.inspect_id.wrapping_add(1);
    view.inspect_id
}

/// Opens the logs view of `pod` following its first container.
pub fn open_logs(view: &mut ViewState, snap: &Snapshot, env: String, pod: String) {
    view.log_options = LogOptions {
        follow: true,
        ..LogOptions::default()
    };
    view.view = View::Logs { env, pod };
    view.view_scroll = 0;
    request_logs(view, snap);
}

/// Asks (again) for the log the view shows, with the current options; clears the buffer.
pub fn request_logs(view: &mut ViewState, snap: &Snapshot) {
    let View::Logs { env, pod } = &view.view else {
        return;
    };
    let Some((context, namespace)) = pod_target(snap, env, pod) else {
        view.log_options.error = Some(format!("{env}: no such environment"));
        return;
    };
    let request = LogRequest {
        context,
        namespace,
        pod: pod.clone(),
        container: view.log_options.container.clone(),
        previous: view.log_options.previous,
        since_seconds: view.log_options.since_seconds(),
        tail_lines: view.log_options.tail_lines(),
        follow: view.log_options.follow && !view.log_options.previous,
    };
    let id = next_id(view);
    view.logs.clear();
    view.log_options.ended = false;
    view.log_options.error = None;
    view.view_scroll = 0;
    view.inspect_request = Some(InspectRequest::Logs { id, request });
}

/// Opens the events view of `env`, narrowed to `object` (`(kind, name)`) when given.
pub fn open_events(
    view: &mut ViewState,
    snap: &Snapshot,
    env: String,
    object: Option<(String, String)>,
) {
    view.events_object = object.clone();
    view.view = View::Events { env, object };
    view.view_scroll = 0;
    request_events(view, snap);
}

fn request_events(view: &mut ViewState, snap: &Snapshot) {
    let View::Events { env, object } = &view.view else {
        return;
    };
    let Some(state) = snap.env(env) else {
        view.events_error = Some(format!("{env}: no such environment"));
        return;
    };
    let request = EventsRequest {
        context: state.context.clone(),
        namespace: state.namespace.clone(),
        object: object.clone(),
    };
    let id = next_id(view);
    view.events.clear();
    view.events_loaded = false;
    view.events_error = None;
    view.inspect_request = Some(InspectRequest::Events { id, request });
}

/// Leaving a logs or events view stops its stream.
pub fn close(view: &mut ViewState) {
    if matches!(
        view.view,
        View::Logs { .. } | View::Events { .. } | View::Object { .. }
    ) {
        next_id(view);
        view.inspect_request = Some(InspectRequest::Stop);
    }
}

/// Whether `c` is a view key of the open view (checked before the keymap).
pub fn is_view_key(view: &ViewState, c: char) -> bool {
    match view.view {
        View::Logs { .. } => matches!(c, 'f' | 'p' | 'c' | 's' | 't' | 'w'),
        View::Events { .. } => c == 'a',
        View::Main => c == 'u' && view.focus == crate::tui::state::Pane::Pods,
        View::Object { .. } => crate::tui::object::is_view_key(c),
        View::Diff { .. } | View::Versions => false,
    }
}

/// A view key: changes the options and asks again.
pub fn on_view_key(view: &mut ViewState, snap: &Snapshot, c: char) {
    if view.view == View::Main {
        // `u` in the pods pane: only the pods that are not Healthy (or all again).
        view.pods_unhealthy_only = !view.pods_unhealthy_only;
        view.pods = Default::default();
        return;
    }
    if matches!(view.view, View::Object { .. }) {
        crate::tui::object::on_view_key(view, snap, c);
        return;
    }
    if let View::Events { env, object } = &view.view {
        if c == 'a' {
            let object = match object {
                Some(_) => None,
                None => view.events_object.clone(),
            };
            let env = env.clone();
            view.view = View::Events { env, object };
            request_events(view, snap);
        }
        return;
    }
    let opts = &mut view.log_options;
    match c {
        'f' => opts.follow = !opts.follow,
        'p' => opts.previous = !opts.previous,
        'c' => {
            if opts.containers.len() < 2 {
                return;
            }
            let at = opts
                .container
                .as_ref()
                .and_then(|c| opts.containers.iter().position(|n| n == c))
                .unwrap_or(0);
            opts.container = opts
                .containers
                .get((at + 1) % opts.containers.len())
                .cloned();
        }
        's' => opts.since = (opts.since + 1) % SINCE_PRESETS.len(),
        't' => opts.tail = (opts.tail + 1) % TAIL_PRESETS.len(),
        'w' => {
            // Wrapping is drawing only: the stream goes on.
            opts.wrap = !opts.wrap;
            return;
        }
        _ => return,
    }
    request_logs(view, snap);
}

/// Folds a feeder chunk into the view; chunks of an older request are dropped.
pub fn on_chunk(view: &mut ViewState, chunk: InspectChunk) {
    if chunk.id() != view.inspect_id {
        return;
    }
    let is_logs = matches!(view.view, View::Logs { .. });
    match chunk {
        InspectChunk::Containers { names, .. } => {
            if view.log_options.container.is_none() {
                view.log_options.container = names.first().cloned();
            }
            view.log_options.containers = names;
        }
        InspectChunk::LogLines { lines, .. } => {
            let keep_place = view.view_scroll > 0;
            let added = lines.len();
            for line in lines {
                view.push_log_line(line);
            }
            // Scrolled up: the lines on screen stay put while new ones arrive below.
            if keep_place {
                view.view_scroll = view.view_scroll.saturating_add(added);
            }
        }
        InspectChunk::LogEnded { .. } => view.log_options.ended = true,
        InspectChunk::Events { mut rows, .. } => {
            rows.truncate(MAX_EVENT_ROWS);
            view.events = rows;
            view.events_loaded = true;
            view.events_error = None;
        }
        InspectChunk::Object { detail, .. } => {
            view.object = Some(detail);
            view.object_error = None;
        }
        InspectChunk::Failed { message, .. } => {
            if matches!(view.view, View::Object { .. }) {
                view.object_error = Some(message);
            } else if is_logs {
                view.log_options.error = Some(message);
            } else {
                view.events_error = Some(message);
            }
        }
    }
}

#[cfg(test)]
#[path = "inspect_tests.rs"]
mod tests;
