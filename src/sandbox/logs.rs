//! Pod logs for the sandbox: plausible, deterministic lines in the voice of a log platform
//! (collector, processor, api), so `kubectl logs [-f]` and driftdeck's log pane have something
//! real-looking to show.
//!
//! Pure: line `i` of a container is a function of the pod's name, the container's name and image,
//! its start time and `i` — the same request always gets the same lines, and following means
//! asking again for `from = lines already sent` once [`lines_available`] grows. Time is passed in
//! (`now_unix_secs`); the simulator's time scale is read from the pod annotation
//! [`TIME_SCALE_ANNOTATION`](super::sim::TIME_SCALE_ANNOTATION). Imports nothing of the crate.

use serde_json::Value;

use super::sim::TIME_SCALE_ANNOTATION;

/// How many lines a crash-looping container writes before it dies (per run).
const CRASH_LINES: usize = 5;
/// Lines every container writes at start-up, before its steady-state chatter.
const STARTUP_LINES: usize = 4;

/// Lines `from..from+count` of `container` (default: the first container) of `pod`, without
/// trailing newlines. Lines past what the container has written so far are still well defined
/// (the caller bounds `count` with [`lines_available`]); a crash-looping container has only
/// [`CRASH_LINES`] lines. A container that never started has none.
pub fn log_lines(pod: &Value, container: Option<&str>, from: usize, count: usize) -> Vec<String> {
    let Some(c) = ContainerLog::of(pod, container) else {
        return Vec::new();
    };
    let end = match c.limit() {
        Some(limit) => from.saturating_add(count).min(limit),
        None => from.saturating_add(count),
    };
    (from..end).map(|i| c.line(i)).collect()
}

/// How many lines the first container of `pod` has written by `now_unix_secs`: one at start and
/// one more per simulated second since it started.
pub fn lines_available(pod: &Value, now_unix_secs: i64) -> usize {
    lines_available_for(pod, None, now_unix_secs)
}

/// [`lines_available`] for a named container.
pub fn lines_available_for(pod: &Value, container: Option<&str>, now_unix_secs: i64) -> usize {
    let Some(c) = ContainerLog::of(pod, container) else {
        return 0;
    };
    let elapsed_ms = now_unix_secs
        .saturating_mul(1000)
        .saturating_sub(c.start_ms)
        .max(0);
    let sim_secs = (elapsed_ms as f64 / 1000.0 * c.scale).floor();
    let n = if sim_secs.is_finite() && sim_secs >= 0.0 {
        (sim_secs as usize).saturating_add(1)
    } else {
        1
    };
    match c.limit() {
        Some(limit) => n.min(limit),
        None => n,
    }
}

/// What a container's log depends on.
struct ContainerLog {
    pod: String,
    container: String,
    image: String,
    /// When the (current run of the) container started, in Unix milliseconds.
    start_ms: i64,
    scale: f64,
}

#[derive(Clone, Copy)]
enum Voice {
    Collector,
    Processor,
    Api,
    Other,
}

impl ContainerLog {
    fn of(pod: &Value, container: Option<&str>) -> Option<Self> {
        let spec_containers = pod.pointer("/spec/containers")?.as_array()?;
        let spec_c = match container {
            Some(name) => spec_containers
                .iter()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(name))?,
            None => spec_containers.first()?,
        };
        let name = spec_c.get("name").and_then(Value::as_str)?.to_string();
        let image = spec_c
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let status = pod
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .and_then(|all| {
                all.iter()
                    .find(|s| s.get("name").and_then(Value::as_str) == Some(name.as_str()))
            })?;
        // The current run if running, else the run that just ended (what `kubectl logs` shows
        // for a crash-looping container between restarts).
        let started = status
            .pointer("/state/running/startedAt")
            .or_else(|| status.pointer("/state/terminated/startedAt"))
            .or_else(|| status.pointer("/lastState/terminated/startedAt"))
            .and_then(Value::as_str)?;
        let start_ms = started.parse::<jiff::Timestamp>().ok()?.as_millisecond();
        let scale = pod
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(TIME_SCALE_ANNOTATION))
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(1.0);
        Some(Self {
            pod: pod
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            container: name,
            image,
            start_ms,
            scale,
        })
    }

    fn crashes(&self) -> bool {
        tag(&self.image).contains("crashloop")
    }

    fn limit(&self) -> Option<usize> {
        self.crashes().then_some(CRASH_LINES)
    }

    fn voice(&self) -> Voice {
        let hay = format!("{} {}", self.container, self.image).to_ascii_lowercase();
        if hay.contains("collector") || hay.contains("agent") || hay.contains("shipper") {
            Voice::Collector
        } else if hay.contains("processor") || hay.contains("pipeline") || hay.contains("worker") {
            Voice::Processor
        } else if hay.contains("api") || hay.contains("query") || hay.contains("web") {
            Voice::Api
        } else {
            Voice::Other
        }
    }

    fn line(&self, i: usize) -> String {
        let offset_ms = (i as f64 * 1000.0 / self.scale) as i64;
        let ts = jiff::Timestamp::from_millisecond(self.start_ms.saturating_add(offset_ms))
            .map(|t| format!("{t:.3}"))
            .unwrap_or_default();
        let h = mix(&self.pod, &self.container, i);
        let (level, msg) = self.message(i, h);
        format!("{ts} {level:<5} {}: {msg}", self.container)
    }

    fn message(&self, i: usize, h: u64) -> (&'static str, String) {
        let component = match self.voice() {
            Voice::Collector => "collector",
            Voice::Processor => "processor",
            Voice::Api => "api",
            Voice::Other => "service",
        };
        match i {
            0 => return ("INFO", format!("starting {component} {}", tag(&self.image))),
            1 => {
                return (
                    "INFO",
                    format!("loaded configuration from /etc/{component}/config.yaml"),
                );
            }
            2 => {
                return (
                    "INFO",
                    "listening on 0.0.0.0:8080 (metrics on :9090)".into(),
                );
            }
            _ => {}
        }
        if self.crashes() {
            return match i {
                3 => (
                    "ERROR",
                    "failed to connect to upstream logs-store:9200: connection refused".into(),
                ),
                _ => (
                    "FATAL",
                    "giving up after 3 attempts; exiting with code 1".into(),
                ),
            };
        }
        if i == STARTUP_LINES - 1 {
            return ("INFO", "ready".into());
        }
        let n = |m: u64| (h % m) + 1;
        let level = if h.is_multiple_of(97) { "WARN" } else { "INFO" };
        let msg = match self.voice() {
            Voice::Collector => match h % 4 {
                0 => format!(
                    "received batch of {} records ({} KiB) from fluent-bit/node-{}",
                    n(900) + 100,
                    n(512),
                    ["a", "b", "c"][(h % 3) as usize]
                ),
                1 => format!("flushed {} records to processor in {}ms", n(2000), n(40)),
                2 => format!("buffer usage {}% of 256 MiB", n(60)),
                _ => format!(
                    "accepted connection from 10.244.{}.{}:{}",
                    h % 3,
                    n(250),
                    40000 + h % 20000
                ),
            },
            Voice::Processor => match h % 4 {
                0 => format!("parsed {} records, dropped {} malformed", n(5000), h % 7),
                1 => format!("enriched batch {:08x} with kubernetes metadata", h as u32),
                2 => format!(
                    "pipeline default: {} rec/s, p99 latency {}ms",
                    n(20000),
                    n(120)
                ),
                _ => format!("queue depth {} (high-water 10000)", h % 4000),
            },
            Voice::Api => {
                let (verb, path) = [
                    ("GET", "/api/v1/query?q=level%3Aerror"),
                    ("POST", "/api/v1/search"),
                    ("GET", "/api/v1/streams"),
                    ("GET", "/healthz"),
                ][(h % 4) as usize];
                let status = if h.is_multiple_of(53) { 503 } else { 200 };
                format!("{verb} {path} {status} {}ms", n(250))
            }
            Voice::Other => match h % 2 {
                0 => format!("handled {} requests in the last second", n(300)),
                _ => "heartbeat ok".to_string(),
            },
        };
        (level, msg)
    }
}

/// The tag of an image reference (`""` when it has none).
fn tag(image: &str) -> &str {
    let last = image.rsplit('/').next().unwrap_or(image);
    let last = last.split('@').next().unwrap_or(last);
    last.rsplit_once(':').map_or("", |(_, t)| t)
}

/// FNV-1a over the identifying parts, then a finalizer so neighbouring indices differ a lot.
fn mix(pod: &str, container: &str, i: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in pod
        .bytes()
        .chain([0])
        .chain(container.bytes())
        .chain((i as u64).to_le_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(image: &str, scale: &str) -> Value {
        json!({"metadata": {"name": "collector-7d9f-abcde",
                            "annotations": {TIME_SCALE_ANNOTATION: scale}},
               "spec": {"containers": [{"name": "collector", "image": image}]},
               "status": {"containerStatuses": [{"name": "collector",
                   "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}})
    }

    const START: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    #[test]
    fn lines_are_deterministic_and_timestamped_from_start() {
        let p = pod("registry/log-collector:v1", "1");
        let a = log_lines(&p, None, 0, 20);
        let b = log_lines(&p, Some("collector"), 0, 20);
        assert_eq!(a, b);
        assert_eq!(a.len(), 20);
        assert!(
            a[0].starts_with("2026-01-01T00:00:00.000Z INFO  collector: starting collector v1")
        );
        assert!(a[10].starts_with("2026-01-01T00:00:10.000Z"), "{}", a[10]);
        // Paging is consistent with one big read (what following relies on).
        assert_eq!(log_lines(&p, None, 5, 3), a[5..8].to_vec());
    }

    #[test]
    fn availability_grows_with_scaled_time() {
        let p = pod("collector:v1", "1");
        assert_eq!(lines_available(&p, START - 5), 1);
        assert_eq!(lines_available(&p, START), 1);
        assert_eq!(lines_available(&p, START + 30), 31);
        let fast = pod("collector:v1", "10");
        assert_eq!(lines_available(&fast, START + 30), 301);
        assert!(log_lines(&fast, None, 10, 1)[0].starts_with("2026-01-01T00:00:01.000Z"));
    }

    #[test]
    fn crashloop_logs_end_with_the_fatal_error() {
        let p = pod("collector:v2-crashloop", "1");
        assert_eq!(lines_available(&p, START + 100), CRASH_LINES);
        let lines = log_lines(&p, None, 0, 100);
        assert_eq!(lines.len(), CRASH_LINES);
        assert!(lines[4].contains("FATAL"), "{}", lines[4]);
    }

    #[test]
    fn a_container_that_never_started_has_no_logs() {
        let mut p = pod("collector:notfound", "1");
        p["status"]["containerStatuses"][0]["state"] =
            json!({"waiting": {"reason": "ImagePullBackOff"}});
        assert_eq!(lines_available(&p, START + 100), 0);
        assert!(log_lines(&p, None, 0, 10).is_empty());
        assert!(log_lines(&json!(null), None, 0, 10).is_empty());
        assert!(log_lines(&pod("x:v1", "1"), Some("missing"), 0, 10).is_empty());
    }
}
