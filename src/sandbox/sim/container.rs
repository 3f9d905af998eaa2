//! One container's life as the kubelet would run it, as a pure function of simulated time since
//! the pod was scheduled: its `containerStatus`, whether it is ready or finished, the kubelet
//! events it has produced so far (with counts) and when it next changes.
//!
//! Behaviour comes from the image tag: `crashloop` starts, dies with exit code 1 and is restarted
//! with the kubelet's back-off (10 s doubling to 300 s); `notfound` fails to pull (ErrImagePull,
//! then ImagePullBackOff with the same back-off) and never starts; `unready` runs but never
//! passes its readiness probe; anything else runs and is ready. Pods that do not restart
//! (`restartPolicy: Never|OnFailure`, i.e. Job pods) run good images to completion.

use serde_json::{Value, json};

use super::meta;

/// How long (simulated seconds) a crash-looping container runs before it dies.
pub(crate) const CRASH_RUN_SECS: f64 = 2.0;
/// How long a Job's container runs before it completes.
pub(crate) const JOB_RUN_SECS: f64 = 3.0;
/// How long a failed pull shows ErrImagePull before the back-off starts.
const PULL_ERROR_SECS: f64 = 1.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Behaviour {
    Good,
    Crash,
    NotFound,
    Unready,
}

impl Behaviour {
    pub(crate) fn of(image: &str) -> Self {
        let last = image.rsplit('/').next().unwrap_or(image);
        let tag = last.rsplit_once(':').map_or("", |(_, t)| t);
        if tag.contains("crashloop") {
            Self::Crash
        } else if tag.contains("notfound") {
            Self::NotFound
        } else if tag.contains("unready") {
            Self::Unready
        } else {
            Self::Good
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Restart {
    Always,
    OnFailure,
    Never,
}

/// Everything the timeline depends on.
pub(crate) struct Input<'a> {
    pub pod: &'a str,
    pub namespace: &'a str,
    pub uid: &'a str,
    pub container: &'a str,
    pub image: &'a str,
    pub restart: Restart,
    /// Simulated seconds from scheduling to the container running.
    pub start_delay: f64,
    /// Simulated seconds since the pod was scheduled.
    pub elapsed: f64,
}

/// A kubelet event with its occurrence count and first/last times (simulated seconds).
pub(crate) struct Occurrences {
    pub reason: &'static str,
    pub message: String,
    pub warning: bool,
    pub count: u64,
    pub first: f64,
    pub last: f64,
}

/// The container at one instant. `status` holds simulated-second offsets in the
/// `startedAt`/`finishedAt` slots as numbers; the caller turns them into timestamps.
pub(crate) struct Outcome {
    pub status: Value,
    pub ever_started: bool,
    pub ready: bool,
    /// `Some(true)` finished successfully for good, `Some(false)` failed for good.
    pub finished: Option<bool>,
    pub events: Vec<Occurrences>,
    /// When (simulated seconds since scheduling) this outcome next changes, if ever.
    pub next_change: Option<f64>,
}

/// Back-off before restart/pull attempt `i` (0-based): 10 s doubling, capped at 300 s.
pub(crate) fn backoff(i: u32) -> f64 {
    (10.0 * 2f64.powi(i.min(10) as i32)).min(300.0)
}

/// The image as the container runtime reports it (`nginx:1` → `docker.io/library/nginx:1`).
pub(crate) fn normalized_image(image: &str) -> String {
    let first = image.split('/').next().unwrap_or_default();
    let has_registry =
        image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let with_tag = {
        let last = image.rsplit('/').next().unwrap_or(image);
        if last.contains(':') || last.contains('@') {
            image.to_string()
        } else {
            format!("{image}:latest")
        }
    };
    if has_registry {
        with_tag
    } else if image.contains('/') {
        format!("docker.io/{with_tag}")
    } else {
        format!("docker.io/library/{with_tag}")
    }
}

fn ev(
    reason: &'static str,
    message: String,
    warning: bool,
    count: u64,
    first: f64,
    last: f64,
) -> Occurrences {
    Occurrences {
        reason,
        message,
        warning,
        count,
        first,
        last,
    }
}

/// Marker the pod module replaces with a wall-clock timestamp: `{"$t": seconds}`.
pub(crate) fn at(secs: f64) -> Value {
    json!({ "$t": secs })
}

impl Input<'_> {
    fn container_id(&self, run: u32) -> String {
        format!(
            "containerd://{}",
            meta::hex64(&format!("{}/{}/{run}", self.uid, self.container))
        )
    }

    fn image_id(&self) -> String {
        let img = normalized_image(self.image);
        let repo = img.split(['@']).next().unwrap_or(&img);
        let repo = match repo.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => r,
            _ => repo,
        };
        format!("{repo}@sha256:{}", meta::hex64(self.image))
    }

    fn base(
        &self,
        run: Option<u32>,
        restarts: u64,
        ready: bool,
        started: bool,
        state: Value,
        last: Value,
    ) -> Value {
        let mut s = json!({
            "name": self.container,
            "image": normalized_image(self.image),
            "imageID": if run.is_some() { self.image_id() } else { String::new() },
            "ready": ready,
            "restartCount": restarts,
            "started": started,
            "state": state,
            "lastState": last,
        });
        if let Some(run) = run {
            meta::set_at(&mut s, &[], "containerID", json!(self.container_id(run)));
        }
        s
    }

    fn creating(&self) -> Value {
        json!({"waiting": {"reason": "ContainerCreating"}})
    }

    fn pull_events(&self, starts: u64, first: f64, last: f64) -> Vec<Occurrences> {
        let c = self.container;
        vec![
            ev(
                "Pulling",
                format!("Pulling image \"{}\"", self.image),
                false,
                starts,
                0.0,
                last - self.start_delay.min(last),
            ),
            ev(
                "Pulled",
                format!(
                    "Successfully pulled image \"{}\" in {:.3}s",
                    self.image, self.start_delay
                ),
                false,
                starts,
                first,
                last,
            ),
            ev(
                "Created",
                format!("Created container: {c}"),
                false,
                starts,
                first,
                last,
            ),
            ev(
                "Started",
                format!("Started container {c}"),
                false,
                starts,
                first,
                last,
            ),
        ]
    }
}

/// The container's state at `input.elapsed`.
pub(crate) fn outcome(input: &Input<'_>) -> Outcome {
    let d = input.start_delay;
    let e = input.elapsed;
    let behaviour = Behaviour::of(input.image);
    if e < d && behaviour != Behaviour::NotFound {
        return Outcome {
            status: input.base(None, 0, false, false, input.creating(), json!({})),
            ever_started: false,
            ready: false,
            finished: None,
            events: vec![ev(
                "Pulling",
                format!("Pulling image \"{}\"", input.image),
                false,
                1,
                0.0,
                0.0,
            )],
            next_change: Some(d),
        };
    }
    match (behaviour, input.restart) {
        (Behaviour::NotFound, _) => not_found(input),
        (Behaviour::Crash, Restart::Never) => run_once(input, CRASH_RUN_SECS, false),
        (Behaviour::Crash, _) => crash_loop(input),
        (_, Restart::Always) => running(input, behaviour == Behaviour::Good),
        (_, _) => run_once(input, JOB_RUN_SECS, true),
    }
}

fn running(input: &Input<'_>, ready: bool) -> Outcome {
    let d = input.start_delay;
    let state = json!({"running": {"startedAt": at(d)}});
    let mut events = input.pull_events(1, d, d);
    let mut next_change = None;
    if !ready {
        // A failing readiness probe every 10 s; counted, not repeated.
        let probes = ((input.elapsed - d) / 10.0).floor().max(0.0) as u64;
        events.push(ev(
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 503".into(),
            true,
            probes,
            d + 10.0,
            d + 10.0 * probes as f64,
        ));
        next_change = Some(d + 10.0 * (probes + 1) as f64);
    }
    Outcome {
        status: input.base(Some(0), 0, ready, true, state, json!({})),
        ever_started: true,
        ready,
        finished: None,
        events,
        next_change,
    }
}

/// Runs once for `run` seconds, then terminates with exit code 0 (`ok`) or 1.
fn run_once(input: &Input<'_>, run: f64, ok: bool) -> Outcome {
    let d = input.start_delay;
    let events = input.pull_events(1, d, d);
    if input.elapsed < d + run {
        return Outcome {
            status: input.base(
                Some(0),
                0,
                false,
                true,
                json!({"running": {"startedAt": at(d)}}),
                json!({}),
            ),
            ever_started: true,
            ready: false,
            finished: None,
            events,
            next_change: Some(d + run),
        };
    }
    let (code, reason) = if ok { (0, "Completed") } else { (1, "Error") };
    let state = json!({"terminated": {"exitCode": code, "reason": reason,
        "startedAt": at(d), "finishedAt": at(d + run), "containerID": input.container_id(0)}});
    Outcome {
        status: input.base(Some(0), 0, false, false, state, json!({})),
        ever_started: true,
        ready: false,
        finished: Some(ok),
        events,
        next_change: None,
    }
}

fn crash_loop(input: &Input<'_>) -> Outcome {
    let d = input.start_delay;
    let e = input.elapsed;
    let r = CRASH_RUN_SECS;
    let terminated = |k: u32, s: f64| {
        json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": at(s),
            "finishedAt": at(s + r), "containerID": input.container_id(k)}})
    };
    // Walk the runs: run k starts at s, dies at s + r, restarts after backoff(k).
    let (mut k, mut s, mut prev_s) = (0u32, d, d);
    loop {
        let next = s + r + backoff(k);
        if e < next || k >= 10_000 {
            break;
        }
        prev_s = s;
        s = next;
        k += 1;
    }
    let pod_ref = format!("{}_{}({})", input.pod, input.namespace, input.uid);
    let mut events = input.pull_events(u64::from(k) + 1, d, s);
    if e < s + r {
        let last = if k > 0 {
            json!({"terminated": terminated(k - 1, prev_s)["terminated"]})
        } else {
            json!({})
        };
        events.push(ev(
            "BackOff",
            format!(
                "Back-off restarting failed container {} in pod {pod_ref}",
                input.container
            ),
            true,
            u64::from(k),
            d + r,
            prev_s + r,
        ));
        return Outcome {
            status: input.base(
                Some(k),
                u64::from(k),
                false,
                true,
                json!({"running": {"startedAt": at(s)}}),
                last,
            ),
            ever_started: true,
            ready: false,
            finished: None,
            events,
            next_change: Some(s + r),
        };
    }
    events.push(ev(
        "BackOff",
        format!(
            "Back-off restarting failed container {} in pod {pod_ref}",
            input.container
        ),
        true,
        u64::from(k) + 1,
        d + r,
        s + r,
    ));
    let waiting = json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!(
        "back-off {}s restarting failed container={} pod={pod_ref}", backoff(k), input.container)}});
    Outcome {
        status: input.base(
            Some(k),
            u64::from(k) + 1,
            false,
            false,
            waiting,
            terminated(k, s),
        ),
        ever_started: true,
        ready: false,
        finished: None,
        events,
        next_change: Some(s + r + backoff(k)),
    }
}

fn not_found(input: &Input<'_>) -> Outcome {
    let d = input.start_delay;
    let e = input.elapsed;
    let img = input.image;
    let err = format!(
        "rpc error: code = NotFound desc = failed to pull and unpack image \"{}\": failed to resolve reference \"{0}\": {0}: not found",
        normalized_image(img)
    );
    if e < d {
        return Outcome {
            status: input.base(None, 0, false, false, input.creating(), json!({})),
            ever_started: false,
            ready: false,
            finished: None,
            events: vec![ev(
                "Pulling",
                format!("Pulling image \"{img}\""),
                false,
                1,
                0.0,
                0.0,
            )],
            next_change: Some(d),
        };
    }
    // Attempt j fails at a, shows ErrImagePull for a moment, then backs off.
    let (mut j, mut a) = (0u32, d);
    loop {
        let next = a + PULL_ERROR_SECS + backoff(j);
        if e < next || j >= 10_000 {
            break;
        }
        a = next;
        j += 1;
    }
    let attempts = u64::from(j) + 1;
    let in_error = e < a + PULL_ERROR_SECS;
    let backoffs = if in_error { attempts - 1 } else { attempts };
    let (state, next_change) = if in_error {
        (
            json!({"waiting": {"reason": "ErrImagePull", "message": err}}),
            a + PULL_ERROR_SECS,
        )
    } else {
        (
            json!({"waiting": {"reason": "ImagePullBackOff",
                "message": format!("Back-off pulling image \"{img}\": ErrImagePull: {err}")}}),
            a + PULL_ERROR_SECS + backoff(j),
        )
    };
    let last_backoff = a + PULL_ERROR_SECS;
    let events = vec![
        ev(
            "Pulling",
            format!("Pulling image \"{img}\""),
            false,
            attempts,
            0.0,
            a,
        ),
        ev(
            "Failed",
            format!("Failed to pull image \"{img}\": {err}"),
            true,
            attempts,
            d,
            a,
        ),
        ev("Failed", "Error: ErrImagePull".into(), true, attempts, d, a),
        ev(
            "BackOff",
            format!("Back-off pulling image \"{img}\""),
            false,
            backoffs,
            d + PULL_ERROR_SECS,
            last_backoff,
        ),
        ev(
            "Failed",
            "Error: ImagePullBackOff".into(),
            true,
            backoffs,
            d + PULL_ERROR_SECS,
            last_backoff,
        ),
    ];
    Outcome {
        status: input.base(None, 0, false, false, state, json!({})),
        ever_started: false,
        ready: false,
        finished: None,
        events,
        next_change: Some(next_change),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(image: &str, restart: Restart, elapsed: f64) -> Input<'_> {
        Input {
            pod: "p",
            namespace: "ns",
            uid: "u",
            container: "c",
            image,
            restart,
            start_delay: 2.0,
            elapsed,
        }
    }

    #[test]
    fn behaviour_comes_from_the_tag_only() {
        assert_eq!(Behaviour::of("reg/crashloop-app:v1"), Behaviour::Good);
        assert_eq!(Behaviour::of("reg/app:v2-crashloop"), Behaviour::Crash);
        assert_eq!(Behaviour::of("app:notfound"), Behaviour::NotFound);
        assert_eq!(Behaviour::of("app:unready"), Behaviour::Unready);
    }

    #[test]
    fn normalizes_images_like_containerd() {
        assert_eq!(normalized_image("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(normalized_image("log/api:v1"), "docker.io/log/api:v1");
        assert_eq!(normalized_image("ghcr.io/x/y:v1"), "ghcr.io/x/y:v1");
        assert_eq!(
            normalized_image("localhost:5000/y"),
            "localhost:5000/y:latest"
        );
    }

    #[test]
    fn crash_loop_restarts_rise_with_backoff() {
        let restarts =
            |e| outcome(&input("a:crashloop", Restart::Always, e)).status["restartCount"].as_u64();
        assert_eq!(restarts(2.5), Some(0));
        assert_eq!(restarts(4.5), Some(1)); // died at 4, backing off 10 s
        assert_eq!(restarts(14.5), Some(1)); // second run 14..16
        assert_eq!(restarts(17.0), Some(2));
        let waiting = outcome(&input("a:crashloop", Restart::Always, 17.0));
        assert_eq!(
            waiting.status["state"]["waiting"]["reason"],
            "CrashLoopBackOff"
        );
        assert_eq!(waiting.status["lastState"]["terminated"]["exitCode"], 1);
        let later = |e| restarts(e).unwrap_or(0);
        assert!(later(600.0) > later(100.0));
    }

    #[test]
    fn not_found_never_starts() {
        let o = outcome(&input("a:notfound", Restart::Always, 2.5));
        assert_eq!(o.status["state"]["waiting"]["reason"], "ErrImagePull");
        let o = outcome(&input("a:notfound", Restart::Always, 5.0));
        assert_eq!(o.status["state"]["waiting"]["reason"], "ImagePullBackOff");
        assert!(!o.ever_started);
        assert_eq!(o.status["imageID"], "");
    }

    #[test]
    fn job_containers_complete() {
        let o = outcome(&input("a:v1", Restart::Never, 10.0));
        assert_eq!(o.finished, Some(true));
        assert_eq!(o.status["state"]["terminated"]["reason"], "Completed");
        let o = outcome(&input("a:crashloop", Restart::Never, 10.0));
        assert_eq!(o.finished, Some(false));
    }
}
