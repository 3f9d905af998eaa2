//! `driftdeck controller --metrics ADDR` on the sandbox: `/metrics` parsed by an independent
//! Prometheus text parser (`prometheus-parse`) has every env's series with plausible values
//! (one sync status and one health set per env, drift, held, paused, observation age, operation
//! counts and durations, API requests per context); `/readyz` turns 200 once every env is
//! observed; `/healthz` answers; a non-loopback address is refused without the flag.

use std::time::Duration;

use prometheus_parse::{Sample, Scrape, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::controller_support::{Deck, ENVS, Policy};

/// One HTTP/1.1 GET on loopback: (status, body).
async fn get(port: u16, path: &str) -> Option<(u16, String)> {
    get_accepting(port, path, "*/*").await
}

async fn get_accepting(port: u16, path: &str, accept: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn value(s: &Sample) -> f64 {
    match &s.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        Value::Histogram(_) | Value::Summary(_) => f64::NAN,
    }
}

fn series<'a>(scrape: &'a Scrape, metric: &str, env: &str) -> Vec<&'a Sample> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric && s.labels.get("env") == Some(env))
        .collect()
}

#[tokio::test]
async fn metrics_endpoint_serves_per_env_series_a_prometheus_parser_accepts() {
    let deck = Deck::start(&[("dev", Policy::AUTO)]).await;
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _controller = deck.spawn_controller_args(&["--metrics", &addr], &[]);

    let ready = deck
        .wait_for("/readyz to answer 200", Duration::from_secs(60), || async {
            get(port, "/readyz").await.filter(|(s, _)| *s == 200)
        })
        .await;
    assert!(ready.1.contains("ready"), "{ready:?}");
    let health = get(port, "/healthz").await;
    assert_eq!(health.map(|h| h.0), Some(200));

    // dev auto-syncs at start: wait for its operation to be counted.
    let text = deck
        .wait_for(
            "dev's auto-sync in driftdeck_operations_total",
            Duration::from_secs(90),
            || async {
                let (status, body) = get(port, "/metrics").await?;
                (status == 200
                    && body.contains("driftdeck_operations_total{env=\"dev\",op=\"auto-sync\",result=\"Succeeded\"}"))
                .then_some(body)
            },
        )
        .await;
    // Classic text format by default (counter families named by their `_total` samples);
    // OpenMetrics when asked for.
    assert!(
        text.contains("# TYPE driftdeck_operations_total counter") && !text.contains("# EOF"),
        "not the classic text format:\n{text}"
    );
    let open = get_accepting(
        port,
        "/metrics",
        "application/openmetrics-text; version=1.0.0",
    )
    .await
    .unwrap();
    assert!(
        open.1.trim_end().ends_with("# EOF"),
        "not OpenMetrics text:\n{}",
        open.1
    );
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();

    for env in ENVS {
        let sync = series(&scrape, "driftdeck_env_sync_status", env);
        assert_eq!(sync.len(), 3, "{env}: one sample per sync status\n{text}");
        assert_eq!(
            sync.iter().map(|s| value(s)).sum::<f64>(),
            1.0,
            "{env}\n{text}"
        );
        let health = series(&scrape, "driftdeck_env_health", env);
        assert_eq!(health.len(), 6, "{env}: one sample per health code\n{text}");
        assert_eq!(
            health.iter().map(|s| value(s)).sum::<f64>(),
            1.0,
            "{env}\n{text}"
        );
        let drift = series(&scrape, "driftdeck_env_drift_resources", env);
        assert_eq!(drift.len(), 3, "{env}: missing/modified/extra\n{text}");
        assert!(drift.iter().all(|s| value(s) >= 0.0), "{env}\n{text}");
        for flag in ["driftdeck_env_held", "driftdeck_env_paused"] {
            let s = series(&scrape, flag, env);
            assert_eq!(s.len(), 1, "{env} {flag}\n{text}");
            assert_eq!(value(s[0]), 0.0, "{env} {flag}\n{text}");
        }
        let observed = series(&scrape, "driftdeck_env_observed", env);
        assert_eq!(
            observed.first().map(|s| value(s)),
            Some(1.0),
            "{env}\n{text}"
        );
        let age = series(&scrape, "driftdeck_env_observation_age_seconds", env);
        let age = age.first().map(|s| value(s)).unwrap_or(f64::NAN);
        assert!(
            (0.0..120.0).contains(&age),
            "{env}: observation age {age}\n{text}"
        );
    }

    // Dev was synced from an empty cluster: the one auto-sync is counted and timed.
    let ops = series(&scrape, "driftdeck_operations_total", "dev");
    assert!(
        ops.iter().any(|s| s.labels.get("op") == Some("auto-sync")
            && s.labels.get("result") == Some("Succeeded")
            && value(s) >= 1.0),
        "{text}"
    );
    let durations: Vec<&Sample> = series(&scrape, "driftdeck_operation_duration_seconds", "dev");
    assert!(
        durations
            .iter()
            .any(|s| matches!(&s.value, Value::Histogram(b) if !b.is_empty())),
        "no duration histogram for dev:\n{text}"
    );
    for context in ENVS {
        let requests = scrape
            .samples
            .iter()
            .find(|s| {
                s.metric == "driftdeck_api_requests_total"
                    && s.labels.get("context") == Some(context)
            })
            .map(value);
        assert!(
            requests.is_some_and(|n| n >= 1.0),
            "{context}: {requests:?}\n{text}"
        );
    }
}

#[tokio::test]
async fn metrics_on_a_non_loopback_address_is_refused_without_the_flag() {
    let deck = Deck::start(&[]).await;
    let run = deck.run(&["controller", "--metrics", "0.0.0.0:9100"]).await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("not a loopback address"), "{run:#?}");
    assert!(run.stderr.contains("--metrics-allow-remote"), "{run:#?}");
}
