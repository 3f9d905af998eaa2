//! The object views' state machine: live YAML, desired YAML and a describe-like view of one
//! resource of the selected env, asked of the inspection feeder ([`ObjectRequest`]) and drawn
//! from [`ViewState::object`]. Pure: [`open`] leaves the request in
//! [`ViewState::inspect_request`]; the event loop sends it and feeds the answer back.
//!
//! Decisions (k9s where the design was silent): `y` opens the live YAML of the row under the
//! cursor — a drifted resource in the drift pane, a pod in the pods pane, else the env's first
//! resource. Inside: `1` live, `2` desired (the render), `3` describe (owner chain, conditions,
//! events of the object); `m` shows or hides `metadata.managedFields` (hidden by default:
//! noise for an operator, kept one key away); `]`/`[` step through every resource of the env
//! (its resources, then drift-only keys such as prune candidates), so any resource is one
//! key away even when nothing drifts. `/` searches: matches are highlighted, the title counts
//! them, `n` jumps to the next one. `R` (refresh) asks the feeder again: an answer is a
//! one-off read, not a watch. The lines are built by [`lines`] for drawing, search and
//! copy alike, so what is copied is what is shown. Secret values never arrive here (masked by
//! the feeder).

use crate::model::{EnvState, InspectRequest, ObjectDetail, ObjectRequest, ResourceKey, Snapshot};
use crate::tui::rows::format_age_opt;
use crate::tui::state::{View, ViewState};

/// The object views' keys, for their footer line and the help overlay.
pub const KEYS: &str =
    "1 live · 2 desired · 3 describe · m managedFields · ]/[ resource · / search · n next";

/// Which of the three object views is on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ObjectTab {
    #[default]
    Live,
    Desired,
    Describe,
}

impl ObjectTab {
    pub fn title(self) -> &'static str {
        match self {
            ObjectTab::Live => "live YAML",
            ObjectTab::Desired => "desired YAML",
            ObjectTab::Describe => "describe",
        }
    }
}

/// Every resource of `env` the views can show: its resources, then drift keys not among them.
pub fn resource_keys(env: &EnvState) -> Vec<ResourceKey> {
    let mut keys: Vec<ResourceKey> = env.resources.iter().map(|r| r.key.clone()).collect();
    for d in &env.drift {
        if !keys.contains(&d.key) {
            keys.push(d.key.clone());
        }
    }
    keys
}

/// Opens the live YAML of `key` in `env` and asks the feeder for it.
pub fn open(view: &mut ViewState, snap: &Snapshot, env: String, key: ResourceKey) {
    view.object_tab = ObjectTab::Live;
    view.object_managed = false;
    show(view, snap, env, key);
}

/// Asks again for the object on screen (`R`): the views are one answer, not a watch.
pub fn reload(view: &mut ViewState, snap: &Snapshot) {
    if let View::Object { env, key } = view.view.clone() {
        let scroll = view.view_scroll;
        show(view, snap, env, key);
        view.view_scroll = scroll;
    }
}

/// Shows `key` (keeping the tab) and asks for its data.
fn show(view: &mut ViewState, snap: &Snapshot, env: String, key: ResourceKey) {
    view.object = None;
    view.object_error = None;
    view.view_scroll = 0;
    let request = snap.env(&env).map(|state| ObjectRequest {
        env: env.clone(),
        context: state.context.clone(),
        revision: state.revision.clone(),
        key: key.clone(),
    });
    view.view = View::Object {
        env: env.clone(),
        key,
    };
    match request {
        Some(request) => {
            view.inspect_id = view.inspect_id.wrapping_add(1);
            view.inspect_request = Some(InspectRequest::Object {
                id: view.inspect_id,
                request,
            });
        }
        None => view.object_error = Some(format!("{env}: no such environment")),
    }
}

/// Whether `c` is a key of the object views.
pub fn is_view_key(c: char) -> bool {
    matches!(c, '1' | '2' | '3' | 'm' | ']' | '[' | 'n')
}

/// A key of the object views.
pub fn on_view_key(view: &mut ViewState, snap: &Snapshot, c: char) {
    let View::Object { env, key } = &view.view else {
        return;
    };
    let (env, key) = (env.clone(), key.clone());
    match c {
        '1' | '2' | '3' => {
            view.object_tab = match c {
                '1' => ObjectTab::Live,
                '2' => ObjectTab::Desired,
                _ => ObjectTab::Describe,
            };
            view.view_scroll = 0;
        }
        'm' => view.object_managed = !view.object_managed,
        ']' | '[' => {
            let Some(state) = snap.env(&env) else {
                return;
            };
            let keys = resource_keys(state);
            if keys.is_empty() {
                return;
            }
            let at = keys.iter().position(|k| *k == key);
            let next = match (at, c) {
                (None, _) => 0,
                (Some(i), ']') => (i + 1) % keys.len(),
                (Some(i), _) => (i + keys.len() - 1) % keys.len(),
            };
            if let Some(next) = keys.get(next).cloned() {
                show(view, snap, env, next);
            }
        }
        'n' => {
            let needle = view.filter.to_lowercase();
            if needle.is_empty() {
                return;
            }
            let shown = lines(view);
            let from = view.view_scroll.saturating_add(1);
            let hit = (from..shown.len())
                .chain(0..from.min(shown.len()))
                .find(|&i| shown[i].to_lowercase().contains(&needle));
            if let Some(i) = hit {
                view.view_scroll = i;
            }
        }
        _ => {}
    }
}

/// The lines of the open tab, as drawn, searched and copied.
pub fn lines(view: &ViewState) -> Vec<String> {
    let Some(detail) = &view.object else {
        return vec![match &view.object_error {
            Some(e) => format!("✗ {e}"),
            None => "loading…".to_owned(),
        }];
    };
    match view.object_tab {
        ObjectTab::Live => {
            let text = if view.object_managed {
                &detail.live_full
            } else {
                &detail.live
            };
            yaml_lines(
                text.as_deref(),
                detail.live_error.as_deref(),
                "not in the cluster",
            )
        }
        ObjectTab::Desired => yaml_lines(
            detail.desired.as_deref(),
            detail.desired_error.as_deref(),
            "not in Git",
        ),
        ObjectTab::Describe => describe_lines(view, detail),
    }
}

fn yaml_lines(text: Option<&str>, error: Option<&str>, absent: &str) -> Vec<String> {
    match (text, error) {
        (Some(t), _) => t.lines().map(str::to_owned).collect(),
        (None, Some(e)) => vec![format!("✗ {e}")],
        (None, None) => vec![absent.to_owned()],
    }
}

fn describe_lines(view: &ViewState, detail: &ObjectDetail) -> Vec<String> {
    let mut out = Vec::new();
    if let View::Object { key, .. } = &view.view {
        out.push(format!("Name:        {}", key.name));
        out.push(format!("Kind:        {}", key.kind));
        if !key.namespace.is_empty() {
            out.push(format!("Namespace:   {}", key.namespace));
        }
    }
    if let Some(e) = &detail.live_error {
        out.push(format!("✗ {e}"));
    } else if detail.live.is_none() {
        out.push("Live:        not in the cluster".to_owned());
    }
    out.push(if detail.owners.is_empty() {
        "Owners:      none".to_owned()
    } else {
        format!("Owners:      {}", detail.owners.join(" ← "))
    });
    out.push(String::new());
    out.push("Conditions:".to_owned());
    if detail.conditions.is_empty() {
        out.push("  none".to_owned());
    }
    for c in &detail.conditions {
        let mut line = format!("  {:<22} {:<7} {}", c.kind, c.status, c.reason);
        if !c.message.is_empty() {
            line.push_str(&format!(" · {}", c.message));
        }
        out.push(line);
    }
    out.push(String::new());
    out.push(format!("Events (newest first, {}):", detail.events.len()));
    if let Some(e) = &detail.events_error {
        out.push(format!("✗ {e}"));
    } else if detail.events.is_empty() {
        out.push("  none".to_owned());
    }
    for e in &detail.events {
        let count = if e.count > 1 {
            format!(" (x{})", e.count)
        } else {
            String::new()
        };
        out.push(format!(
            "  {:>4} {:<7} {}{count}: {}",
            format_age_opt(view.now, e.last_seen),
            if e.warning { "Warning" } else { "Normal" },
            e.reason,
            e.message
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConditionRow, EventRow};
    use crate::tui::fixtures;

    fn opened() -> (ViewState, Snapshot) {
        let snap = fixtures::demo_healthy();
        let mut view = fixtures::view_state();
        let key = snap.envs[0].resources[0].key.clone();
        open(&mut view, &snap, "dev".into(), key);
        (view, snap)
    }

    #[test]
    fn opening_asks_the_feeder_for_the_object_at_the_envs_revision() {
        let (view, snap) = opened();
        match &view.inspect_request {
            Some(InspectRequest::Object { id, request }) => {
                assert_eq!(*id, view.inspect_id);
                assert_eq!(request.context, snap.envs[0].context);
                assert_eq!(request.revision, snap.envs[0].revision);
                assert_eq!(request.key, snap.envs[0].resources[0].key);
            }
            other => panic!("no object request: {other:?}"),
        }
        assert_eq!(lines(&view), vec!["loading…".to_owned()]);
    }

    #[test]
    fn managed_fields_show_only_after_m_and_tabs_switch_the_text() {
        let (mut view, snap) = opened();
        view.object = Some(Box::new(ObjectDetail {
            live: Some("kind: ConfigMap\n".into()),
            live_full: Some("kind: ConfigMap\nmanagedFields: []\n".into()),
            desired: Some("kind: ConfigMap\ndata: {}\n".into()),
            ..ObjectDetail::default()
        }));
        assert!(!lines(&view).iter().any(|l| l.contains("managedFields")));
        on_view_key(&mut view, &snap, 'm');
        assert!(lines(&view).iter().any(|l| l.contains("managedFields")));
        on_view_key(&mut view, &snap, '2');
        assert_eq!(lines(&view), vec!["kind: ConfigMap", "data: {}"]);
    }

    #[test]
    fn describe_shows_owner_chain_conditions_and_warning_events() {
        let (mut view, snap) = opened();
        view.object = Some(Box::new(ObjectDetail {
            live: Some("kind: Pod\n".into()),
            owners: vec!["ReplicaSet/api-7f9".into(), "Deployment/api".into()],
            conditions: vec![ConditionRow {
                kind: "Ready".into(),
                status: "False".into(),
                reason: "ContainersNotReady".into(),
                message: String::new(),
                last_transition: String::new(),
            }],
            events: vec![EventRow {
                last_seen: Some(fixtures::NOW),
                warning: true,
                reason: "BackOff".into(),
                object: "Pod/api-7f9-x".into(),
                message: "Back-off restarting failed container".into(),
                count: 7,
            }],
            ..ObjectDetail::default()
        }));
        on_view_key(&mut view, &snap, '3');
        let text = lines(&view).join("\n");
        assert!(
            text.contains("Owners:      ReplicaSet/api-7f9 ← Deployment/api"),
            "{text}"
        );
        assert!(
            text.contains("Ready                  False   ContainersNotReady"),
            "{text}"
        );
        assert!(text.contains("Warning BackOff (x7): Back-off"), "{text}");
    }

    #[test]
    fn brackets_step_through_every_resource_of_the_env() {
        let (mut view, snap) = opened();
        let keys = resource_keys(&snap.envs[0]);
        assert!(keys.len() > 1);
        on_view_key(&mut view, &snap, ']');
        assert!(matches!(&view.view, View::Object { key, .. } if *key == keys[1]));
        on_view_key(&mut view, &snap, '[');
        on_view_key(&mut view, &snap, '[');
        assert!(matches!(&view.view, View::Object { key, .. } if Some(key) == keys.last()));
    }

    #[test]
    fn refresh_asks_again_for_the_object_on_screen() {
        let (mut view, snap) = opened();
        let first = view.inspect_id;
        view.inspect_request = None;
        view.object = Some(Box::new(ObjectDetail::default()));
        let cmd = crate::tui::update::update(
            &mut view,
            &snap,
            crate::tui::UiAction::Act(crate::config::keymap::Action::Refresh),
        );
        assert!(matches!(cmd, Some(crate::model::Command::Refresh { .. })));
        assert!(view.inspect_id > first);
        assert!(matches!(
            &view.inspect_request,
            Some(InspectRequest::Object { id, .. }) if *id == view.inspect_id
        ));
        assert_eq!(
            view.object, None,
            "the old answer is not shown as the new one"
        );
    }

    #[test]
    fn n_jumps_to_the_next_line_matching_the_search() {
        let (mut view, snap) = opened();
        view.object = Some(Box::new(ObjectDetail {
            live: Some("a: 1\nimage: v1\nb: 2\nimage: v2\n".into()),
            ..ObjectDetail::default()
        }));
        view.filter = "IMAGE".into();
        on_view_key(&mut view, &snap, 'n');
        assert_eq!(view.view_scroll, 1);
        on_view_key(&mut view, &snap, 'n');
        assert_eq!(view.view_scroll, 3);
        on_view_key(&mut view, &snap, 'n');
        assert_eq!(view.view_scroll, 1, "wraps around");
    }
}
