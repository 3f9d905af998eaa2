//! Unit tests of the logs/events views' state machine: the requests keys produce and how
//! feeder chunks land in the view.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::model::{EventRow, HealthCode, InspectChunk, InspectRequest, Snapshot};
use crate::tui::action::translate;
use crate::tui::fixtures;
use crate::tui::state::{Pane, View, ViewState};
use crate::tui::update::update;

fn press(view: &mut ViewState, snap: &Snapshot, c: char) {
    let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    if let Some(action) = translate(view, key) {
        update(view, snap, action);
    }
}

/// Production (crash-looping pods) with the pods pane focused.
fn on_production_pods() -> (ViewState, Snapshot) {
    let snap = fixtures::degraded_with_hold();
    let mut view = fixtures::view_on_env(2);
    view.focus = Pane::Pods;
    (view, snap)
}

fn log_request(view: &mut ViewState) -> (u64, crate::model::LogRequest) {
    match view.inspect_request.take() {
        Some(InspectRequest::Logs { id, request }) => (id, request),
        other => panic!("expected a logs request, got {other:?}"),
    }
}

#[test]
fn logs_open_on_the_worst_pod_first_and_ask_to_follow_it() {
    let (mut view, snap) = on_production_pods();
    press(&mut view, &snap, 'l');
    let (_, request) = log_request(&mut view);
    let prod = &snap.envs[2];
    let pod = prod.pods.iter().find(|p| p.name == request.pod);
    assert_eq!(pod.map(|p| p.health), Some(HealthCode::Degraded));
    assert!(request.follow && !request.previous);
    assert_eq!(request.context, prod.context);
    assert_eq!(request.tail_lines, Some(1_000));
}

#[test]
fn view_keys_ask_again_with_previous_since_tail_and_container() {
    let (mut view, snap) = on_production_pods();
    press(&mut view, &snap, 'l');
    let (first, _) = log_request(&mut view);
    let id = view.inspect_id;
    update(
        &mut view,
        &snap,
        crate::tui::UiAction::Inspected(InspectChunk::Containers {
            id,
            names: vec!["api".into(), "sidecar".into()],
        }),
    );
    press(&mut view, &snap, 'p');
    let (second, request) = log_request(&mut view);
    assert!(second > first, "every change is a new request");
    assert!(request.previous && !request.follow, "-p does not follow");
    press(&mut view, &snap, 's');
    assert_eq!(log_request(&mut view).1.since_seconds, Some(300));
    press(&mut view, &snap, 't');
    assert_eq!(log_request(&mut view).1.tail_lines, Some(10_000));
    press(&mut view, &snap, 'c');
    assert_eq!(
        log_request(&mut view).1.container.as_deref(),
        Some("sidecar")
    );
    press(&mut view, &snap, 'w');
    assert!(view.log_options.wrap);
    assert!(view.inspect_request.is_none(), "wrap is drawing only");
}

#[test]
fn chunks_of_an_older_request_are_dropped() {
    let (mut view, snap) = on_production_pods();
    press(&mut view, &snap, 'l');
    let (old, _) = log_request(&mut view);
    press(&mut view, &snap, 'p');
    let (new, _) = log_request(&mut view);
    let lines = |id, text: &str| {
        crate::tui::UiAction::Inspected(InspectChunk::LogLines {
            id,
            lines: vec![text.to_owned()],
        })
    };
    update(&mut view, &snap, lines(old, "stale"));
    update(
        &mut view,
        &snap,
        lines(new, "FATAL api: giving up after 3 attempts"),
    );
    assert_eq!(
        view.logs.iter().collect::<Vec<_>>(),
        vec!["FATAL api: giving up after 3 attempts"]
    );
}

#[test]
fn events_open_for_the_selected_pod_and_switch_to_the_whole_env() {
    let (mut view, snap) = on_production_pods();
    press(&mut view, &snap, 'e');
    let Some(InspectRequest::Events { id, request }) = view.inspect_request.take() else {
        panic!("expected an events request");
    };
    let (kind, name) = request.object.clone().unwrap_or_default();
    assert_eq!(kind, "Pod");
    assert!(snap.envs[2].pods.iter().any(|p| p.name == name));
    let row = EventRow {
        last_seen: None,
        warning: true,
        reason: "BackOff".into(),
        object: format!("Pod/{name}"),
        message: "Back-off restarting failed container".into(),
        count: 7,
    };
    update(
        &mut view,
        &snap,
        crate::tui::UiAction::Inspected(InspectChunk::Events {
            id,
            rows: vec![row.clone()],
        }),
    );
    assert_eq!(view.events, vec![row]);
    press(&mut view, &snap, 'a');
    match view.inspect_request.take() {
        Some(InspectRequest::Events { request, .. }) => assert_eq!(request.object, None),
        other => panic!("expected an events request for the env, got {other:?}"),
    }
    assert!(matches!(view.view, View::Events { object: None, .. }));
}

#[test]
fn leaving_the_view_stops_the_stream() {
    let (mut view, snap) = on_production_pods();
    press(&mut view, &snap, 'l');
    view.inspect_request = None;
    update(
        &mut view,
        &snap,
        crate::tui::UiAction::Act(crate::config::keymap::Action::Back),
    );
    assert_eq!(view.view, View::Main);
    assert_eq!(view.inspect_request, Some(InspectRequest::Stop));
}

#[test]
fn u_in_the_pods_pane_shows_only_pods_that_are_not_healthy() {
    let (mut view, snap) = on_production_pods();
    press(&mut view, &snap, 'u');
    assert!(view.pods_unhealthy_only);
    press(&mut view, &snap, 'G');
    press(&mut view, &snap, 'l');
    let (_, request) = log_request(&mut view);
    let pod = snap.envs[2].pods.iter().find(|p| p.name == request.pod);
    assert_ne!(pod.map(|p| p.health), Some(HealthCode::Healthy));
}
