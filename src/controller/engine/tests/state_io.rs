//! The env task's IO gates as transition tests: the state ConfigMap's read/write gate and the
//! head it holds back (`state_io.rs`), the Git poll (`git_poll.rs`) and the commands waiting
//! for the env to be known (`waiting.rs`). Time is an offset from one `Instant`.

use std::time::{Duration, Instant};

use super::super::git_poll::GitPoll;
use super::super::state_io::{IoPhase, STATE_GATE, STATE_RESYNC, StateIo, StateStep};
use super::super::waiting::{READY_WAIT, Waiting};
use super::*;

type Io = StateIo<&'static str>;

fn held(seq: u64) -> HeldState {
    HeldState {
        synced_revision: Some(format!("c{seq}")),
        ..HeldState::default()
    }
}

fn write(seq: u64, rv: Option<&str>) -> Option<StateStep<&'static str>> {
    Some(StateStep::Write {
        seq,
        state: Box::new(held(seq)),
        resource_version: rv.map(str::to_owned),
    })
}

/// Connected, one read done at `t0` (resourceVersion "1"): loaded and idle.
fn loaded(t0: Instant) -> Io {
    let mut io = Io::default();
    assert_eq!(io.connected(), Some(StateStep::Read));
    io.read_ended(t0, Ok(Some("1".into())));
    assert_eq!(io.after_io(), None);
    assert!(io.loaded());
    io
}

/// Loaded, write 2 in flight at version "1", write 3 queued behind it.
fn writing_with_one_queued(t0: Instant) -> Io {
    let mut io = loaded(t0);
    assert_eq!(io.write(2, held(2)), write(2, Some("1")));
    assert_eq!(io.write(3, held(3)), None);
    io
}

#[test]
fn state_io_waits_for_a_cluster_then_reads_first() {
    let mut io = Io::default();
    assert_eq!(io.read(), None, "no cluster: nothing read");
    assert_eq!(io.write(1, held(1)), None, "no cluster: the write waits");
    assert!(io.unflushed());
    assert_eq!(
        io.connected(),
        Some(StateStep::Read),
        "the first read goes first"
    );
    assert_eq!(io.phase(), IoPhase::Reading);
}

#[test]
fn one_state_read_or_write_in_flight_and_a_write_queued_behind_a_read() {
    let t0 = Instant::now();
    let mut io = loaded(t0);
    assert_eq!(io.read(), Some(StateStep::Read));
    assert_eq!(io.read(), None, "a second read while one is in flight");
    assert_eq!(io.write(2, held(2)), None, "a write waits for the read");
    assert_eq!(
        io.tick(t0 + STATE_RESYNC),
        None,
        "the tick does not read over it"
    );
    io.read_ended(t0, Ok(Some("5".into())));
    assert_eq!(
        io.after_io(),
        write(2, Some("5")),
        "at the version just read"
    );
    assert_eq!(io.write(3, held(3)), None, "a write waits for the write");
    io.write_ended(Ok("6".into()));
    assert_eq!(io.after_write(false), write(3, Some("6")));
    io.write_ended(Ok("7".into()));
    assert_eq!(io.after_write(false), None);
    assert!(!io.unflushed());
}

#[test]
fn a_newer_write_replaces_the_queued_one() {
    let t0 = Instant::now();
    let mut io = writing_with_one_queued(t0);
    assert_eq!(io.write(4, held(4)), None);
    io.write_ended(Ok("2".into()));
    assert_eq!(io.after_write(false), write(4, Some("2")));
}

#[test]
fn a_conflicting_write_re_reads_and_the_engine_writes_again() {
    let t0 = Instant::now();
    let mut io = writing_with_one_queued(t0);
    io.write_ended(Err(()));
    assert_eq!(
        io.after_write(true),
        Some(StateStep::Read),
        "409: the queued write at the old version is dropped, the state re-read"
    );
    io.read_ended(t0, Ok(Some("9".into())));
    // The engine lays its pending changes over the fresh state and asks again.
    assert_eq!(io.write(4, held(4)), write(4, Some("9")));
}

#[test]
fn a_failed_write_that_is_no_conflict_goes_on_with_the_queue() {
    let t0 = Instant::now();
    let mut io = writing_with_one_queued(t0);
    io.write_ended(Err(()));
    assert_eq!(io.after_write(false), write(3, Some("1")));
}

#[test]
fn a_change_the_watch_reports_re_reads_after_the_io_in_flight() {
    let t0 = Instant::now();
    let mut io = loaded(t0);
    assert_eq!(
        io.watched(Ok(Some("1".into()))),
        (false, None),
        "our own version"
    );
    assert_eq!(
        io.watched(Ok(Some("2".into()))),
        (false, Some(StateStep::Read)),
        "another process wrote"
    );
    io.read_ended(t0, Ok(Some("2".into())));
    assert_eq!(io.after_io(), None);
    assert_eq!(io.write(3, held(3)), write(3, Some("2")));
    assert_eq!(io.watched(Ok(Some("4".into()))), (false, None), "in flight");
    io.write_ended(Ok("3".into()));
    assert_eq!(
        io.after_write(false),
        Some(StateStep::Read),
        "the stale mark reads once the write ended"
    );
    io.read_ended(t0, Ok(Some("4".into())));
    assert_eq!(io.after_io(), None, "read once");
}

#[test]
fn a_watch_error_is_worth_a_log_line_once() {
    let mut io = Io::default();
    assert_eq!(io.watched(Err(())), (false, None), "never healthy");
    io.watched(Ok(None));
    assert_eq!(io.watched(Err(())), (true, None), "a healthy watch broke");
    assert_eq!(io.watched(Err(())), (false, None), "still broken");
}

#[test]
fn with_a_healthy_watch_the_tick_reads_only_every_resync() {
    let t0 = Instant::now();
    let mut io = loaded(t0);
    let second = Duration::from_secs(1);
    assert_eq!(io.tick(t0 + second), Some(StateStep::Read), "no watch yet");
    io.read_ended(t0 + second, Ok(Some("1".into())));
    io.watched(Ok(Some("1".into())));
    assert_eq!(
        io.tick(t0 + 2 * second),
        None,
        "watch healthy, read recently"
    );
    assert_eq!(io.tick(t0 + second + STATE_RESYNC - second), None);
    assert_eq!(
        io.tick(t0 + second + STATE_RESYNC),
        Some(StateStep::Read),
        "the resync"
    );
    io.read_ended(t0 + STATE_RESYNC, Ok(Some("1".into())));
    io.watched(Err(()));
    assert_eq!(
        io.tick(t0 + STATE_RESYNC + second),
        Some(StateStep::Read),
        "a broken watch: every tick reads"
    );
    io.read_ended(t0 + STATE_RESYNC + second, Ok(Some("1".into())));
    io.watched(Ok(Some("1".into())));
    io.watch_restarted();
    assert_eq!(
        io.tick(t0 + STATE_RESYNC + 2 * second),
        Some(StateStep::Read),
        "a restarted watch is not trusted before its first item"
    );
}

#[test]
fn the_state_tick_never_reads_over_a_queued_write() {
    let t0 = Instant::now();
    let mut io = Io::default();
    io.write(1, held(1));
    io.connected();
    io.read_ended(t0, Ok(Some("1".into())));
    assert_eq!(io.refresh(), None, "a refresh lets the write go first");
    assert_eq!(io.tick(t0 + STATE_RESYNC), None);
    assert_eq!(io.after_io(), write(1, Some("1")));
}

#[test]
fn a_new_head_before_the_first_read_goes_through_at_once() {
    let t0 = Instant::now();
    let mut io = Io::default();
    assert_eq!(
        io.head_seen(t0, "c1"),
        Some(StateStep::Head("c1")),
        "offline"
    );
    io.connected();
    assert_eq!(
        io.head_seen(t0, "c2"),
        Some(StateStep::Head("c2")),
        "not loaded yet"
    );
    assert!(!io.head_held());
}

#[test]
fn a_new_head_waits_for_a_read_that_started_after_it() {
    let t0 = Instant::now();
    let mut io = loaded(t0);
    assert_eq!(io.head_seen(t0, "c2"), Some(StateStep::Read));
    assert!(io.head_held());
    io.read_ended(t0, Ok(Some("1".into())));
    assert_eq!(io.after_io(), Some(StateStep::Head("c2")));
    assert!(!io.head_held());
}

#[test]
fn a_new_head_during_a_read_waits_for_the_next_read() {
    let t0 = Instant::now();
    let mut io = loaded(t0);
    assert_eq!(io.read(), Some(StateStep::Read));
    assert_eq!(io.head_seen(t0, "c2"), None, "a read is in flight");
    io.read_ended(t0, Ok(Some("1".into())));
    assert_eq!(
        io.after_io(),
        Some(StateStep::Read),
        "that read began before the head: another"
    );
    io.read_ended(t0, Ok(Some("1".into())));
    assert_eq!(io.after_io(), Some(StateStep::Head("c2")));
}

#[test]
fn a_held_head_waits_for_the_queued_write_first() {
    let t0 = Instant::now();
    let mut io = loaded(t0);
    assert_eq!(io.head_seen(t0, "c2"), Some(StateStep::Read));
    assert_eq!(io.write(2, held(2)), None);
    io.read_ended(t0, Ok(Some("3".into())));
    assert_eq!(io.after_io(), write(2, Some("3")), "the write first");
    io.write_ended(Ok("4".into()));
    assert_eq!(io.after_write(false), Some(StateStep::Head("c2")));
}

#[test]
fn a_held_head_goes_on_after_the_state_gate() {
    let t0 = Instant::now();
    let mut io = loaded(t0);
    assert_eq!(io.head_seen(t0, "c2"), Some(StateStep::Read));
    assert_eq!(
        io.gate_expired(t0 + STATE_GATE - Duration::from_millis(1)),
        None
    );
    assert_eq!(
        io.gate_expired(t0 + STATE_GATE),
        Some("c2"),
        "the read hangs"
    );
    assert!(!io.head_held());
    io.read_ended(t0 + STATE_GATE, Err(()));
    assert_eq!(io.after_io(), None, "released once");
}

#[test]
fn a_failed_read_keeps_the_last_version_and_releases_the_head() {
    let t0 = Instant::now();
    let mut io = loaded(t0);
    assert_eq!(io.head_seen(t0, "c2"), Some(StateStep::Read));
    io.read_ended(t0, Err(()));
    assert_eq!(io.after_io(), Some(StateStep::Head("c2")));
    assert_eq!(io.write(2, held(2)), write(2, Some("1")));
}

// Git polls.

const INTERVAL: Duration = Duration::from_secs(60);

#[test]
fn one_git_poll_at_a_time_and_none_while_a_head_is_held() {
    let t0 = Instant::now();
    let mut git = GitPoll::default();
    assert_eq!(git.start(t0, true, INTERVAL, false), Some(true));
    assert_eq!(git.start(t0, true, INTERVAL, false), None, "busy");
    git.ended(t(0), true, Ok(()), None);
    assert_eq!(
        git.start(t0, false, INTERVAL, true),
        None,
        "a held head would be overtaken"
    );
    assert_eq!(git.start(t0, false, INTERVAL, false), Some(false));
}

#[test]
fn a_git_poll_fetches_when_forced_or_once_per_interval() {
    let t0 = Instant::now();
    let mut git = GitPoll::default();
    assert_eq!(
        git.start(t0, false, INTERVAL, false),
        Some(true),
        "never fetched"
    );
    git.ended(t(0), true, Ok(()), None);
    let soon = t0 + Duration::from_secs(1);
    assert_eq!(git.start(soon, false, INTERVAL, false), Some(false));
    git.ended(t(1), false, Ok(()), None);
    assert_eq!(git.start(soon, true, INTERVAL, false), Some(true), "forced");
    git.ended(t(1), true, Ok(()), None);
    assert_eq!(
        git.start(soon + INTERVAL, false, INTERVAL, false),
        Some(true),
        "the interval passed since the forced fetch"
    );
}

#[test]
fn only_a_fetching_poll_clears_a_fetch_error() {
    let mut git = GitPoll::default();
    git.ended(t(0), true, Ok(()), None);
    git.ended(t(1), true, Err("remote gone"), Some("c1abcdef1234"));
    assert_eq!(
        git.error(),
        Some("remote gone (showing the last good revision c1abcde, read at 08:00:00 UTC)")
    );
    git.ended(t(2), false, Ok(()), Some("c1abcdef1234"));
    assert!(
        git.error().is_some(),
        "a local read cannot tell the remote is back"
    );
    git.ended(t(3), true, Ok(()), Some("c1abcdef1234"));
    assert_eq!(git.error(), None);
}

#[test]
fn a_good_poll_clears_a_local_read_error() {
    let mut git = GitPoll::default();
    git.ended(t(0), false, Err("bad ref"), None);
    assert_eq!(git.error(), Some("bad ref"), "nothing shown yet: no age");
    git.ended(t(1), false, Ok(()), None);
    assert_eq!(git.error(), None);
}

// Commands waiting for the env to be known.

#[test]
fn commands_wait_for_the_state_and_a_head_or_ready_wait() {
    let t0 = Instant::now();
    let mut waiting = Waiting::default();
    assert!(waiting.release(t0, true).is_empty(), "nothing waits");
    waiting.push(t0, "sync");
    waiting.push(t0 + Duration::from_secs(1), "pause");
    assert!(
        waiting
            .release(t0 + Duration::from_secs(1), false)
            .is_empty()
    );
    assert_eq!(
        waiting.release(t0 + Duration::from_secs(2), true),
        vec!["sync", "pause"],
        "ready: all, in order"
    );
    waiting.push(t0, "resume");
    assert!(
        waiting
            .release(t0 + READY_WAIT - Duration::from_millis(1), false)
            .is_empty()
    );
    assert_eq!(
        waiting.release(t0 + READY_WAIT, false),
        vec!["resume"],
        "waited long enough: the engine refuses what it cannot do"
    );
}
