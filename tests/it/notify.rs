//! Notifications from `driftdeck controller`: a webhook receiver on loopback (a tokio
//! TcpListener answering 200) gets nothing while staging deploys and stays healthy, then exactly
//! one `validation_failed`, one `auto_rollback` and one `hold_set` JSON notification when a
//! `crashloop` release is auto-synced and rolled back. The URL comes from an environment variable (`url_env`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::controller_support::{API_IMAGE, Deck, Policy};

pub type Received = Arc<Mutex<Vec<Value>>>;

/// A webhook endpoint: every POST body (JSON) is kept; answers 200.
pub async fn receiver() -> (u16, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Received = Arc::default();
    let keep = got.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    let mut first = true;
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if first {
                            first = false;
                            continue;
                        }
                        let l = line.trim_end();
                        if l.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = l.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    keep.lock().unwrap().push(value);
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                    if reader.get_mut().write_all(ok).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, got)
}

pub fn events(got: &Received, kind: &str) -> Vec<Value> {
    got.lock()
        .unwrap()
        .iter()
        .filter(|v| v["event"] == kind)
        .cloned()
        .collect()
}

#[tokio::test]
async fn webhook_gets_one_notification_per_failed_validation_and_auto_rollback_and_none_while_healthy()
 {
    let staging = Policy {
        auto_sync: true,
        auto_rollback: true,
        ..Policy::OFF
    };
    let deck = Deck::start(&[("staging", staging)]).await;
    let (port, got) = receiver().await;
    let mut yaml = std::fs::read_to_string(deck.config()).unwrap();
    yaml.push_str(
        "notify:\n  - on: [sync_failed, validation_failed, auto_rollback, drift_detected, hold_set]\n    webhook: {url_env: DRIFTDECK_TEST_HOOK, format: json}\n",
    );
    std::fs::write(deck.config(), yaml).unwrap();
    let url = format!("http://127.0.0.1:{port}/hook");
    let _controller =
        deck.spawn_controller_with(&[("DRIFTDECK_TEST_HOOK", std::ffi::OsStr::new(&url))]);

    // Healthy: staging's first auto-sync deploys and validates; nothing is sent.
    deck.wait_api_tag("staging", "1.4.2", Duration::from_secs(90))
        .await;
    deck.wait_for(
        "staging Synced and Healthy",
        Duration::from_secs(90),
        || async {
            let status = deck.status().await;
            let env = crate::controller_support::env_status(&status, "staging").clone();
            (env["sync"] == "Synced" && env["health"] == "Healthy").then_some(())
        },
    )
    .await;
    let noisy = deck
        .happens_within(Duration::from_secs(5), || !got.lock().unwrap().is_empty())
        .await;
    assert!(!noisy, "notified while healthy: {:#?}", got.lock().unwrap());

    // A crashloop release: validation fails, auto-rollback restores the previous revision.
    let bad = deck.commit_tag("staging", API_IMAGE, "1.4.3-crashloop");
    deck.wait_for(
        "validation_failed and auto_rollback notifications",
        Duration::from_secs(120),
        || async {
            (!events(&got, "validation_failed").is_empty()
                && !events(&got, "auto_rollback").is_empty())
            .then_some(())
        },
    )
    .await;
    // Give duplicates every chance to arrive.
    let more = deck
        .happens_within(Duration::from_secs(5), || {
            events(&got, "validation_failed").len() > 1 || events(&got, "auto_rollback").len() > 1
        })
        .await;
    let all = got.lock().unwrap().clone();
    assert!(!more, "duplicate notifications: {all:#?}");
    let failed = events(&got, "validation_failed");
    assert_eq!(failed.len(), 1, "{all:#?}");
    assert_eq!(failed[0]["env"], "staging", "{all:#?}");
    assert_eq!(failed[0]["revision"], bad.as_str(), "{all:#?}");
    assert!(
        failed[0]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("CrashLoopBackOff")),
        "{all:#?}"
    );
    let back = events(&got, "auto_rollback");
    assert_eq!(back.len(), 1, "{all:#?}");
    assert_eq!(back[0]["env"], "staging", "{all:#?}");
    assert!(events(&got, "sync_failed").is_empty(), "{all:#?}");
    // The auto-rollback's hold, seen in the published snapshot, is announced once too.
    deck.wait_for(
        "a hold_set notification",
        Duration::from_secs(30),
        || async { (!events(&got, "hold_set").is_empty()).then_some(()) },
    )
    .await;
    let holds = events(&got, "hold_set");
    assert_eq!(holds.len(), 1, "{:#?}", got.lock().unwrap());
    assert_eq!(holds[0]["env"], "staging");
}
