//! The live side's gate (`live_gate.rs`) as transition tests: when the env task observes, lists
//! or reads the watches, confirms without a request, and which results it takes. Time is an
//! offset from one `Instant`.

use std::time::{Duration, Instant};

use super::super::live_gate::{
    LIST_AFTER_APPLY, LIVE_GRACE, LiveGate, LivePhase, LiveResult, LiveStart, LiveTick,
};
use super::*;

const RESYNC: Duration = Duration::from_secs(300);
/// No apply out, connected, a head rendered, the API server answering.
const READY: (bool, bool, bool, bool) = (false, true, true, true);

fn healthy() -> Health {
    Health::new(HealthCode::Healthy, "")
}

fn observe(generation: u64, from_watches: bool) -> LiveStart {
    LiveStart::Observe {
        generation,
        from_watches,
    }
}

/// A gate whose first observation (a list) was taken at `t0`, clean and Healthy.
fn listed(t0: Instant) -> LiveGate {
    let mut gate = LiveGate::default();
    assert_eq!(gate.start(t0, RESYNC, READY, || false), observe(0, false));
    assert_eq!(gate.ended(t0, 0, true), LiveResult::Take { again: false });
    gate.observed(t0, 0, DriftCount::default(), healthy());
    gate
}

/// [`listed`], then an observation from the watches in flight.
fn observing(t0: Instant) -> LiveGate {
    let mut gate = listed(t0);
    assert_eq!(gate.start(t0, RESYNC, READY, || false), observe(0, true));
    gate
}

#[test]
fn the_first_observation_lists_and_later_ones_read_the_watches() {
    let t0 = Instant::now();
    let mut gate = listed(t0);
    let later = t0 + Duration::from_secs(1);
    assert_eq!(gate.start(later, RESYNC, READY, || false), observe(0, true));
}

#[test]
fn one_observation_in_flight() {
    let t0 = Instant::now();
    let mut gate = LiveGate::default();
    assert_eq!(gate.start(t0, RESYNC, READY, || false), observe(0, false));
    assert_eq!(gate.start(t0, RESYNC, READY, || false), LiveStart::Wait);
    assert_eq!(gate.phase(), LivePhase::Observing);
}

#[test]
fn no_observation_while_an_apply_is_out_then_one_after_it() {
    let t0 = Instant::now();
    let mut gate = listed(t0);
    let applying = (true, true, true, true);
    assert_eq!(gate.start(t0, RESYNC, applying, || false), LiveStart::Wait);
    assert_eq!(
        gate.phase(),
        LivePhase::Dirty,
        "looked at once the apply is in"
    );
    gate.applied(t0);
    assert_eq!(
        gate.start(t0, RESYNC, READY, || false),
        observe(1, false),
        "the apply's objects may not be in the stores yet: list"
    );
}

#[test]
fn an_observation_needs_a_cluster_and_a_rendered_head() {
    let t0 = Instant::now();
    let mut gate = LiveGate::default();
    let offline = (false, false, true, false);
    assert_eq!(
        gate.start(t0, RESYNC, offline, || false),
        LiveStart::Connect
    );
    let unrendered = (false, true, false, true);
    assert_eq!(
        gate.start(t0, RESYNC, unrendered, || false),
        LiveStart::Wait
    );
    assert_eq!(gate.phase(), LivePhase::Idle);
}

#[test]
fn reading_the_watches_waits_for_a_new_watch_but_a_list_does_not_ask() {
    let t0 = Instant::now();
    let mut gate = listed(t0);
    assert_eq!(gate.start(t0, RESYNC, READY, || true), LiveStart::Wait);
    assert_eq!(
        gate.phase(),
        LivePhase::Idle,
        "observed when the watch has listed"
    );
    let due = t0 + RESYNC;
    let asked = std::cell::Cell::new(false);
    let starting = || {
        asked.set(true);
        true
    };
    assert_eq!(gate.start(due, RESYNC, READY, starting), observe(0, false));
    assert!(!asked.get(), "a list needs no watch");
}

#[test]
fn lists_for_a_while_after_an_apply_and_on_the_resync() {
    let t0 = Instant::now();
    let mut gate = listed(t0);
    assert!(!gate.resync_due(t0 + Duration::from_secs(1), RESYNC));
    gate.applied(t0 + Duration::from_secs(1));
    assert!(gate.resync_due(t0 + Duration::from_secs(1), RESYNC));
    assert!(gate.resync_due(t0 + LIST_AFTER_APPLY, RESYNC));
    let after = t0 + Duration::from_secs(1) + LIST_AFTER_APPLY;
    assert!(!gate.resync_due(after, RESYNC));
    assert!(gate.resync_due(t0 + RESYNC, RESYNC), "the periodic resync");
}

#[test]
fn a_successful_list_restarts_the_resync_clock() {
    let t0 = Instant::now();
    let mut gate = listed(t0);
    let due = t0 + RESYNC;
    assert_eq!(gate.start(due, RESYNC, READY, || false), observe(0, false));
    gate.ended(due, 0, true);
    assert!(!gate.resync_due(due + Duration::from_secs(1), RESYNC));
    assert_eq!(gate.start(due, RESYNC, READY, || false), observe(0, true));
    gate.ended(due + RESYNC, 0, false);
    assert!(
        gate.resync_due(due + RESYNC, RESYNC),
        "reading the watches is no resync"
    );
}

#[test]
fn a_result_from_before_a_new_head_is_dropped() {
    let t0 = Instant::now();
    let mut gate = observing(t0);
    gate.head_moved();
    assert_eq!(gate.ended(t0, 0, false), LiveResult::Drop);
    assert_eq!(gate.start(t0, RESYNC, READY, || false), observe(1, true));
    assert_eq!(gate.ended(t0, 1, false), LiveResult::Take { again: false });
}

#[test]
fn a_change_during_an_observation_takes_its_result_and_looks_again() {
    let t0 = Instant::now();
    let mut gate = observing(t0);
    gate.changed();
    assert_eq!(gate.phase(), LivePhase::ObservingDirty);
    assert_eq!(gate.ended(t0, 0, false), LiveResult::Take { again: true });
    assert_eq!(gate.phase(), LivePhase::Dirty, "until the next one starts");
    assert_eq!(gate.start(t0, RESYNC, READY, || false), observe(0, true));
    assert_eq!(gate.phase(), LivePhase::Observing);
}

#[test]
fn a_quiet_tick_confirms_the_last_observation_without_a_request() {
    let t0 = Instant::now();
    let mut gate = listed(t0);
    let drift = DriftCount {
        modified: 2,
        ..DriftCount::default()
    };
    gate.observed(t0, 0, drift, healthy());
    let soon = t0 + Duration::from_secs(1);
    assert_eq!(
        gate.tick(soon, RESYNC, true, true),
        LiveTick::Confirm {
            drift,
            health: healthy()
        }
    );
    assert_eq!(
        gate.tick(soon, RESYNC, false, true),
        LiveTick::Observe,
        "a watch failing"
    );
    assert_eq!(
        gate.tick(t0 + RESYNC, RESYNC, true, true),
        LiveTick::Observe,
        "resync due"
    );
    gate.changed();
    assert_eq!(
        gate.tick(soon, RESYNC, true, true),
        LiveTick::Observe,
        "a watch event"
    );
}

#[test]
fn a_tick_observes_after_a_new_head_or_while_one_is_in_flight() {
    let t0 = Instant::now();
    let mut gate = listed(t0);
    let soon = t0 + Duration::from_secs(1);
    gate.head_moved();
    assert_eq!(
        gate.tick(soon, RESYNC, true, true),
        LiveTick::Observe,
        "made at the old head"
    );
    gate.start(soon, RESYNC, READY, || false);
    assert_eq!(gate.tick(soon, RESYNC, true, true), LiveTick::Observe);
    assert_eq!(
        LiveGate::default().tick(soon, RESYNC, true, true),
        LiveTick::Observe,
        "none yet"
    );
}

#[test]
fn a_failed_observation_is_shown_only_past_the_grace() {
    let t0 = Instant::now();
    assert!(
        LiveGate::default().failure_shown(t0),
        "no good observation yet"
    );
    let gate = listed(t0);
    assert!(!gate.failure_shown(t0 + LIVE_GRACE - Duration::from_millis(1)));
    assert!(gate.failure_shown(t0 + LIVE_GRACE));
}

#[test]
fn a_silent_api_server_is_not_confirmed_and_live_is_listed() {
    let t0 = Instant::now();
    let mut gate = listed(t0);
    gate.observed(t0, 0, DriftCount::default(), healthy());
    let soon = t0 + Duration::from_secs(1);
    assert_eq!(
        gate.tick(soon, RESYNC, true, false),
        LiveTick::Observe,
        "quiet watches of a server that answers nothing prove nothing"
    );
    let silent = (false, true, true, false);
    assert_eq!(
        gate.start(soon, RESYNC, silent, || false),
        observe(0, false),
        "the observation lists, which a frozen server fails"
    );
}
