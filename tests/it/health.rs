//! Health at its boundary: every file under `tests/fixtures/health/` holds one object and says
//! what `assess` must answer in its first lines (`# expect: Degraded`, optionally
//! `# message: <substring>`). Adding a case is adding a file.

use std::collections::BTreeSet;

use driftdeck::health::{assess, pod_row};
use driftdeck::model::HealthCode;
use serde_json::Value;

struct Case {
    file: String,
    expect: HealthCode,
    message: Option<String>,
    object: Value,
}

fn code(name: &str) -> HealthCode {
    match name {
        "Healthy" => HealthCode::Healthy,
        "Suspended" => HealthCode::Suspended,
        "Progressing" => HealthCode::Progressing,
        "Missing" => HealthCode::Missing,
        "Degraded" => HealthCode::Degraded,
        "Unknown" => HealthCode::Unknown,
        other => panic!("unknown health code {other:?}"),
    }
}

fn cases() -> Vec<Case> {
    let dir = format!("{}/tests/fixtures/health", env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let header = |tag: &str| {
            text.lines()
                .take_while(|l| l.starts_with('#'))
                .find_map(|l| l.strip_prefix(tag).map(|v| v.trim().to_owned()))
        };
        let expect = code(&header("# expect:").unwrap_or_else(|| panic!("{file}: no # expect")));
        let object: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        out.push(Case {
            message: header("# message:"),
            file,
            expect,
            object,
        });
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

#[test]
fn every_fixture_gets_its_expected_health() {
    let cases = cases();
    assert!(cases.len() >= 25, "only {} fixtures", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let health = assess(&case.object);
        let message_ok = case
            .message
            .as_ref()
            .is_none_or(|m| health.message.contains(m.as_str()));
        if health.code != case.expect || !message_ok {
            failures.push(format!(
                "{}: got {} {:?}, want {} {:?}",
                case.file, health.code, health.message, case.expect, case.message
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn fixtures_cover_every_kind_and_code() {
    let cases = cases();
    let kinds: BTreeSet<&str> = cases
        .iter()
        .filter_map(|c| c.object["kind"].as_str())
        .collect();
    for kind in [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Pod",
        "Job",
        "CronJob",
        "Service",
        "Ingress",
        "PersistentVolumeClaim",
        "HorizontalPodAutoscaler",
        "Namespace",
    ] {
        assert!(kinds.contains(kind), "no fixture for {kind}");
    }
    let codes: BTreeSet<HealthCode> = cases.iter().map(|c| c.expect).collect();
    for code in [
        HealthCode::Healthy,
        HealthCode::Progressing,
        HealthCode::Suspended,
        HealthCode::Degraded,
    ] {
        assert!(codes.contains(&code), "no fixture expecting {code}");
    }
}

#[test]
fn pod_rows_follow_kubectl_status() {
    for case in cases().iter().filter(|c| c.object["kind"] == "Pod") {
        let row = pod_row(&case.object);
        assert_eq!(row.health, case.expect, "{}", case.file);
        assert_eq!(row.name, case.object["metadata"]["name"].as_str().unwrap());
        let want_status = match case.file.as_str() {
            "pod-crashloop.yaml" | "pod-oomkilled-crashloop.yaml" => "CrashLoopBackOff",
            "pod-imagepullbackoff.yaml" => "ImagePullBackOff",
            "pod-errimagepull.yaml" => "ErrImagePull",
            "pod-oomkilled.yaml" => "OOMKilled",
            "pod-evicted.yaml" => "Evicted",
            "pod-failed.yaml" => "Error",
            "pod-succeeded.yaml" => "Completed",
            "pod-pending.yaml" => "Pending",
            "pod-createcontainerconfigerror.yaml" => "CreateContainerConfigError",
            _ => "Running",
        };
        assert_eq!(row.status, want_status, "{}", case.file);
        if case.expect == HealthCode::Degraded {
            assert!(!row.reason.is_empty(), "{}: no reason", case.file);
        }
    }
    let crash = cases()
        .into_iter()
        .find(|c| c.file == "pod-crashloop.yaml")
        .unwrap();
    let row = pod_row(&crash.object);
    assert_eq!((row.ready.as_str(), row.restarts), ("0/1", 5));
    assert_eq!(row.owner, "Deployment/log-api");
    assert_eq!(row.node, "node-2");
}
