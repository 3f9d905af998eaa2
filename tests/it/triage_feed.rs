//! The console's logs and events feed (`controller::driver::inspect::serve`, exactly what the
//! logs and events views are wired to) against the sandbox and the real API server tier:
//! a crash-looping pod's log lines (with its FATAL line) and BackOff warnings from the
//! sandbox; real controller-manager events, narrowed per object, from the real tier, where a
//! pod's log is empty (no kubelet and no node: the API server answers an unscheduled pod's
//! log with nothing, and the view says the container wrote nothing).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use driftdeck::controller::driver::inspect;
use driftdeck::model::{EventRow, EventsRequest, InspectChunk, InspectRequest, LogRequest};
use driftdeck::sandbox::SandboxOptions;
use tokio::sync::mpsc;

use crate::realk8s_support::{realk8s, unique};
use crate::sandbox_support;

/// The console's ends of a running feeder.
struct Feed {
    requests: mpsc::Sender<InspectRequest>,
    chunks: mpsc::Receiver<InspectChunk>,
}

fn feed(kubeconfig: PathBuf) -> Feed {
    let (requests, request_rx) = mpsc::channel(8);
    let (chunk_tx, chunks) = mpsc::channel(64);
    tokio::spawn(inspect::serve(Some(kubeconfig), request_rx, chunk_tx));
    Feed { requests, chunks }
}

impl Feed {
    /// Waits (up to `limit`) for a chunk of request `id` that `want` accepts; panics with
    /// everything seen otherwise.
    async fn until<T>(
        &mut self,
        id: u64,
        limit: Duration,
        mut want: impl FnMut(&InspectChunk) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + limit;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.chunks.recv()).await {
                Ok(Some(chunk)) if chunk.id() == id => {
                    if let Some(found) = want(&chunk) {
                        return found;
                    }
                    seen.push(chunk);
                }
                Ok(Some(_)) => {}
                Ok(None) => panic!("feeder stopped; seen: {seen:#?}"),
                Err(_) => panic!("nothing wanted within {limit:?}; seen: {seen:#?}"),
            }
        }
    }
}

fn kubectl(kubeconfig: &PathBuf, context: &str, args: &[&str]) -> String {
    let out = Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .args(["--context", context])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("kubectl must be installed");
    assert!(
        out.status.success(),
        "kubectl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn newest_first(rows: &[EventRow]) -> bool {
    rows.windows(2).all(|w| w[0].last_seen >= w[1].last_seen)
}

/// The first pod of `namespace` whose name starts with `prefix`, waiting up to 20 s.
async fn pod_named(kubeconfig: &PathBuf, context: &str, namespace: &str, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let names = kubectl(
            kubeconfig,
            context,
            &["-n", namespace, "get", "pods", "-o", "name"],
        );
        if let Some(pod) = names
            .lines()
            .filter_map(|l| l.strip_prefix("pod/"))
            .find(|n| n.starts_with(prefix))
        {
            return pod.to_owned();
        }
        assert!(Instant::now() < deadline, "no pod {prefix}* in {namespace}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_feeds_a_crashing_pods_log_and_its_backoff_warnings() {
    let sandbox = sandbox_support::start(
        &["production"],
        SandboxOptions {
            time_scale: 20.0,
            ..SandboxOptions::default()
        },
    )
    .await;
    let kc = sandbox.kubeconfig.clone();
    // `kubectl apply` sends JSON (the sandbox decodes protobuf only for a few core kinds).
    let manifest = sandbox.kubeconfig.with_file_name("api.json");
    std::fs::write(
        &manifest,
        r#"{"apiVersion":"v1","kind":"List","items":[
          {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}},
          {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api","namespace":"shop"},
           "spec":{"replicas":1,"selector":{"matchLabels":{"app":"api"}},
             "template":{"metadata":{"labels":{"app":"api"}},
               "spec":{"containers":[{"name":"api","image":"registry.local/api:v2-crashloop"}]}}}}]}"#,
    )
    .unwrap();
    kubectl(
        &kc,
        "production",
        &[
            "apply",
            "--validate=false",
            "-f",
            manifest.to_str().unwrap(),
        ],
    );
    let pod = pod_named(&kc, "production", "shop", "api-").await;
    let mut feed = feed(kc);

    let request = LogRequest {
        context: "production".into(),
        namespace: "shop".into(),
        pod: pod.clone(),
        container: None,
        previous: false,
        since_seconds: None,
        tail_lines: Some(1_000),
        follow: true,
    };
    feed.requests
        .send(InspectRequest::Logs { id: 1, request })
        .await
        .unwrap();
    let containers = feed
        .until(1, Duration::from_secs(10), |c| match c {
            InspectChunk::Containers { names, .. } => Some(names.clone()),
            _ => None,
        })
        .await;
    assert_eq!(containers, vec!["api".to_owned()]);
    let mut lines = Vec::new();
    feed.until(1, Duration::from_secs(20), |c| {
        if let InspectChunk::LogLines { lines: new, .. } = c {
            lines.extend(new.iter().cloned());
        }
        lines.iter().any(|l| l.contains("FATAL")).then_some(())
    })
    .await;

    let events = EventsRequest {
        context: "production".into(),
        namespace: "shop".into(),
        object: Some(("Pod".into(), pod.clone())),
    };
    feed.requests
        .send(InspectRequest::Events {
            id: 2,
            request: events,
        })
        .await
        .unwrap();
    let rows = feed
        .until(2, Duration::from_secs(30), |c| match c {
            InspectChunk::Events { rows, .. }
                if rows.iter().any(|r| r.warning && r.reason == "BackOff") =>
            {
                Some(rows.clone())
            }
            _ => None,
        })
        .await;
    assert!(
        rows.iter().all(|r| r.object == format!("Pod/{pod}")),
        "{rows:#?}"
    );
    assert!(newest_first(&rows), "{rows:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_server_feeds_real_events_per_object_and_an_unscheduled_pods_empty_log() {
    let k = realk8s();
    let ns = unique("triage");
    k.kubectl_ok("staging", &["create", "namespace", &ns]);
    k.standin("staging");
    k.kubectl_ok(
        "staging",
        &[
            "-n",
            &ns,
            "create",
            "deployment",
            "api",
            "--image=nginx:1.25-crashloop",
        ],
    );
    let mut feed = feed(k.kubeconfig.clone());

    // The whole namespace: the real Deployment and ReplicaSet controllers' events.
    let all = EventsRequest {
        context: "staging".into(),
        namespace: ns.clone(),
        object: None,
    };
    feed.requests
        .send(InspectRequest::Events {
            id: 1,
            request: all,
        })
        .await
        .unwrap();
    let rows = feed
        .until(1, Duration::from_secs(30), |c| match c {
            InspectChunk::Events { rows, .. }
                if rows.iter().any(|r| r.reason == "ScalingReplicaSet")
                    && rows.iter().any(|r| r.reason == "SuccessfulCreate") =>
            {
                Some(rows.clone())
            }
            _ => None,
        })
        .await;
    assert!(newest_first(&rows), "{rows:#?}");

    // Narrowed to the Deployment: only its own events, by the server's field selector.
    let one = EventsRequest {
        context: "staging".into(),
        namespace: ns.clone(),
        object: Some(("Deployment".into(), "api".into())),
    };
    feed.requests
        .send(InspectRequest::Events {
            id: 2,
            request: one,
        })
        .await
        .unwrap();
    let rows = feed
        .until(2, Duration::from_secs(20), |c| match c {
            InspectChunk::Events { rows, .. } if !rows.is_empty() => Some(rows.clone()),
            _ => None,
        })
        .await;
    assert!(
        rows.iter().all(|r| r.object == "Deployment/api"),
        "{rows:#?}"
    );

    // A warning written while the view is open arrives through the watch.
    let warning = format!(
        r#"{{"apiVersion":"v1","kind":"Event","metadata":{{"name":"api.backoff","namespace":"{ns}"}},
        "involvedObject":{{"kind":"Deployment","name":"api","namespace":"{ns}"}},
        "reason":"BackOff","message":"Back-off restarting failed container","type":"Warning",
        "count":3,"firstTimestamp":"2026-01-01T00:00:00Z","lastTimestamp":"2030-01-01T00:00:00Z"}}"#
    );
    let file = k.dir.join(format!("{ns}-event.json"));
    std::fs::write(&file, warning).unwrap();
    k.kubectl_ok("staging", &["create", "-f", file.to_str().unwrap()]);
    let first = feed
        .until(2, Duration::from_secs(20), |c| match c {
            InspectChunk::Events { rows, .. } if rows.iter().any(|r| r.warning) => {
                rows.first().cloned()
            }
            _ => None,
        })
        .await;
    assert_eq!((first.reason.as_str(), first.count), ("BackOff", 3));

    // Logs: the tier has no kubelet and the stand-in binds no node, so the API server answers
    // an unscheduled pod's log with an empty body: the container is listed, the stream ends
    // without a line, and the view says the container wrote nothing.
    let pod = pod_named(&k.kubeconfig, "staging", &ns, "api-").await;
    let request = LogRequest {
        context: "staging".into(),
        namespace: ns.clone(),
        pod: pod.clone(),
        container: None,
        previous: false,
        since_seconds: None,
        tail_lines: Some(100),
        follow: true,
    };
    feed.requests
        .send(InspectRequest::Logs { id: 3, request })
        .await
        .unwrap();
    let containers = feed
        .until(3, Duration::from_secs(20), |c| match c {
            InspectChunk::Containers { names, .. } => Some(names.clone()),
            _ => None,
        })
        .await;
    assert_eq!(containers, vec!["nginx".to_owned()]);
    let mut lines = 0;
    feed.until(3, Duration::from_secs(20), |c| match c {
        InspectChunk::LogLines { lines: l, .. } => {
            lines += l.len();
            None
        }
        InspectChunk::LogEnded { .. } | InspectChunk::Failed { .. } => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(lines, 0);
}
