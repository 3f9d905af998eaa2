//! The diff module at its boundary: realistic desired manifests against live objects as the API
//! server returns them (defaults, status, managedFields, tracking metadata), in both strategies
//! — server-side dry-run and the local fallback — for no phantom drift and for true drift with
//! the exact field paths. Fixtures: `tests/fixtures/diff/`.

use driftdeck::diff::{
    DiffOptions, IgnoreRule, Predicted, compare, diff_sets, mask_secret, normalize,
};
use driftdeck::model::{DriftKind, Manifest, ResourceKey};
use serde_json::{Map, Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/diff/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

fn manifest(v: Value) -> Manifest {
    Manifest::new(v).unwrap()
}

/// What a server-side apply of `desired` onto `live` yields, as far as these fixtures need:
/// desired's fields overlay live's, keyed list elements merge by key, defaults stay.
fn server_apply(live: &Value, desired: &Value) -> Value {
    let mut out = overlay(live, desired, "");
    out["metadata"]["resourceVersion"] = json!("99999");
    out
}

fn overlay(live: &Value, desired: &Value, field: &str) -> Value {
    match (live, desired) {
        (Value::Object(l), Value::Object(d)) => {
            let mut out: Map<String, Value> = l.clone();
            for (k, dv) in d {
                let merged = match l.get(k) {
                    Some(lv) => overlay(lv, dv, k),
                    None => dv.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(d)) => {
            let key = match field {
                "ports" if d.iter().all(|e| e.get("containerPort").is_some()) => "containerPort",
                "ports" => "port",
                "volumeMounts" => "mountPath",
                _ => "name",
            };
            let merged = d
                .iter()
                .map(|de| {
                    match l
                        .iter()
                        .find(|le| le.get(key).is_some() && le.get(key) == de.get(key))
                    {
                        Some(le) => overlay(le, de, field),
                        None => de.clone(),
                    }
                })
                .collect();
            Value::Array(merged)
        }
        (_, d) => d.clone(),
    }
}

/// Runs `compare` in both strategies and returns (dry-run paths, fallback paths).
fn both(desired: &Value, live: &Value, opts: &DiffOptions) -> (Vec<String>, Vec<String>) {
    let m = manifest(desired.clone());
    let predicted = server_apply(live, desired);
    let dry = compare(&m, live, Predicted::DryRun(&predicted), opts);
    let fallback = compare(&m, live, Predicted::Unavailable, opts);
    for d in dry.iter().chain(&fallback) {
        assert_eq!(d.kind, DriftKind::Modified);
        assert_eq!(&d.key, m.key());
        assert!(
            d.diff
                .starts_with(&format!("--- live {}\n+++ desired {}\n", m.key(), m.key()))
        );
    }
    (
        dry.map(|d| d.paths).unwrap_or_default(),
        fallback.map(|d| d.paths).unwrap_or_default(),
    )
}

const PAIRS: &[(&str, &str)] = &[
    ("deployment-desired.yaml", "deployment-live.yaml"),
    ("service-desired.yaml", "service-live.yaml"),
    ("configmap-desired.yaml", "configmap-live.yaml"),
    ("secret-desired.yaml", "secret-live.yaml"),
];

#[test]
fn no_phantom_drift_in_either_strategy() {
    for (desired, live) in PAIRS {
        let (dry, fallback) = both(&fixture(desired), &fixture(live), &DiffOptions::default());
        assert!(dry.is_empty(), "{desired}: dry-run drift {dry:?}");
        assert!(
            fallback.is_empty(),
            "{desired}: fallback drift {fallback:?}"
        );
    }
}

#[test]
fn diff_sets_reports_nothing_for_a_synced_env() {
    let desired: Vec<Manifest> = PAIRS.iter().map(|(d, _)| manifest(fixture(d))).collect();
    let live: Vec<Value> = PAIRS.iter().map(|(_, l)| fixture(l)).collect();
    let by_key = |key: &ResourceKey| {
        let d = desired.iter().find(|m| m.key() == key)?;
        let l = live
            .iter()
            .find(|l| l["metadata"]["name"] == d.name() && l["kind"] == d.kind())?;
        Some(server_apply(l, d.object()))
    };
    assert!(diff_sets(&desired, &live, &live, &by_key, &DiffOptions::default()).is_empty());
    assert!(diff_sets(&desired, &live, &live, &|_| None, &DiffOptions::default()).is_empty());
}

#[test]
fn replicas_changed_on_live() {
    let desired = fixture("deployment-desired.yaml");
    let mut live = fixture("deployment-live.yaml");
    live["spec"]["replicas"] = json!(5);
    let (dry, fallback) = both(&desired, &live, &DiffOptions::default());
    assert_eq!(dry, vec!["/spec/replicas"]);
    assert_eq!(fallback, vec!["/spec/replicas"]);
}

#[test]
fn image_changed_on_live() {
    let desired = fixture("deployment-desired.yaml");
    let mut live = fixture("deployment-live.yaml");
    live["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!("registry.example.com/log-api:1.5.0");
    let want = vec!["/spec/template/spec/containers/name=api/image"];
    let (dry, fallback) = both(&desired, &live, &DiffOptions::default());
    assert_eq!(dry, want);
    assert_eq!(fallback, want);
}

#[test]
fn env_var_added_in_git() {
    let mut desired = fixture("deployment-desired.yaml");
    let live = fixture("deployment-live.yaml");
    desired["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "TRACE", "value": "1"}));
    let want = vec!["/spec/template/spec/containers/name=api/env/name=TRACE"];
    let (dry, fallback) = both(&desired, &live, &DiffOptions::default());
    assert_eq!(dry, want);
    assert_eq!(fallback, want);
}

#[test]
fn env_var_set_by_hand_on_live_shows_in_fallback() {
    let desired = fixture("deployment-desired.yaml");
    let mut live = fixture("deployment-live.yaml");
    live["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "DEBUG", "value": "true"}));
    let m = manifest(desired);
    let drift = compare(&m, &live, Predicted::Unavailable, &DiffOptions::default()).unwrap();
    assert_eq!(
        drift.paths,
        vec!["/spec/template/spec/containers/name=api/env/name=DEBUG"]
    );
    assert!(
        drift
            .diff
            .lines()
            .any(|l| l.starts_with('-') && l.contains("name: DEBUG")),
        "{}",
        drift.diff
    );
}

#[test]
fn configmap_value_changed_on_live() {
    let desired = fixture("configmap-desired.yaml");
    let mut live = fixture("configmap-live.yaml");
    live["data"]["level"] = json!("debug");
    let (dry, fallback) = both(&desired, &live, &DiffOptions::default());
    assert_eq!(dry, vec!["/data/level"]);
    assert_eq!(fallback, vec!["/data/level"]);
    let m = manifest(fixture("configmap-desired.yaml"));
    let drift = compare(&m, &live, Predicted::Unavailable, &DiffOptions::default()).unwrap();
    assert!(drift.diff.contains("-  level: debug\n"), "{}", drift.diff);
    assert!(drift.diff.contains("+  level: info\n"), "{}", drift.diff);
}

#[test]
fn pod_template_label_changed_on_live() {
    let desired = fixture("deployment-desired.yaml");
    let mut live = fixture("deployment-live.yaml");
    live["spec"]["template"]["metadata"]["labels"]["version"] = json!("v1-hotfix");
    let (dry, fallback) = both(&desired, &live, &DiffOptions::default());
    assert_eq!(dry, vec!["/spec/template/metadata/labels/version"]);
    assert_eq!(fallback, vec!["/spec/template/metadata/labels/version"]);
}

#[test]
fn secret_change_is_reported_without_its_value() {
    let desired = fixture("secret-desired.yaml");
    let mut live = fixture("secret-live.yaml");
    // Someone rotated the password by hand: live holds "0ld-Pa55word-live".
    let live_plain = "0ld-Pa55word-live";
    let live_b64 = "MGxkLVBhNTV3b3JkLWxpdmU=";
    live["data"]["password"] = json!(live_b64);
    let git_plain = "s3cr3t-Hunter2-value";
    let git_b64 = "czNjcjN0LUh1bnRlcjItdmFsdWU=";

    let m = manifest(desired.clone());
    let predicted = server_apply(&live, &normalize(&desired));
    for p in [Predicted::DryRun(&predicted), Predicted::Unavailable] {
        let drift = compare(&m, &live, p, &DiffOptions::default()).unwrap();
        assert_eq!(drift.paths, vec!["/data/password"]);
        let everything = format!("{drift:?}\n{}\n{}", drift.diff, drift.paths.join(","));
        for leak in [
            live_plain, live_b64, git_plain, git_b64, "czNjcjN0", "MGxkLVBh",
        ] {
            assert!(
                !everything.contains(leak),
                "secret leaked ({leak}):\n{everything}"
            );
        }
        // Old and new short hashes are both shown on the changed key.
        let old = mask_secret(&live)["data"]["password"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            drift.diff.contains(&format!("-  password: {old}")),
            "{}",
            drift.diff
        );
        assert!(
            drift.diff.contains("+  password: <masked:"),
            "{}",
            drift.diff
        );
        // The unchanged key is not reported as changed.
        assert!(!drift.diff.contains("-  username"), "{}", drift.diff);
    }
}

#[test]
fn missing_secret_does_not_leak_either() {
    let m = manifest(fixture("secret-desired.yaml"));
    let drift = diff_sets(&[m], &[], &[], &|_| None, &DiffOptions::default());
    assert_eq!(drift.len(), 1);
    assert_eq!(drift[0].kind, DriftKind::Missing);
    let text = format!("{:?}", drift[0]);
    assert!(
        !text.contains("s3cr3t") && !text.contains("czNjcjN0"),
        "{text}"
    );
}

#[test]
fn missing_and_extra_are_paired_by_key() {
    let desired = vec![
        manifest(fixture("deployment-desired.yaml")),
        manifest(fixture("service-desired.yaml")),
    ];
    let live = vec![
        fixture("deployment-live.yaml"),
        fixture("configmap-live.yaml"),
    ];
    let drift = diff_sets(&desired, &live, &live, &|_| None, &DiffOptions::default());
    let got: Vec<(String, DriftKind)> = drift.iter().map(|d| (d.key.to_string(), d.kind)).collect();
    assert_eq!(
        got,
        vec![
            (
                "ConfigMap/log-platform/log-api-config".to_owned(),
                DriftKind::Extra
            ),
            (
                "Service/log-platform/log-api".to_owned(),
                DriftKind::Missing
            ),
        ]
    );
    assert!(drift.iter().all(|d| d.paths.is_empty()));
    assert!(
        drift[1].diff.contains("+  - name: http"),
        "{}",
        drift[1].diff
    );
}

#[test]
fn replicas_owned_by_the_hpa_are_ignored_by_manager() {
    let desired = fixture("deployment-desired.yaml");
    let mut live = fixture("deployment-live.yaml");
    live["spec"]["replicas"] = json!(7);
    live["metadata"]["managedFields"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "manager": "kube-controller-manager", "operation": "Update", "subresource": "scale",
            "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}
        }));
    let rule = IgnoreRule {
        group: Some("apps".into()),
        kind: "Deployment".into(),
        managers: vec!["kube-controller-manager".into()],
        ..IgnoreRule::default()
    };
    let opts = DiffOptions { ignore: vec![rule] };
    let (dry, fallback) = both(&desired, &live, &opts);
    assert!(
        dry.is_empty() && fallback.is_empty(),
        "{dry:?} {fallback:?}"
    );
    // The same rule for another kind does not hide the drift.
    let other = DiffOptions {
        ignore: vec![IgnoreRule {
            kind: "StatefulSet".into(),
            ..opts.ignore[0].clone()
        }],
    };
    assert_eq!(both(&desired, &live, &other).1, vec!["/spec/replicas"]);
}

#[test]
fn json_pointer_rules_hide_only_their_field() {
    let desired = fixture("deployment-desired.yaml");
    let mut live = fixture("deployment-live.yaml");
    live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("other:1");
    live["spec"]["replicas"] = json!(4);
    let opts = DiffOptions {
        ignore: vec![IgnoreRule {
            kind: "Deployment".into(),
            name: Some("log-api".into()),
            json_pointers: vec!["/spec/template/spec/containers/0/image".into()],
            ..IgnoreRule::default()
        }],
    };
    let (dry, fallback) = both(&desired, &live, &opts);
    assert_eq!(dry, vec!["/spec/replicas"]);
    assert_eq!(fallback, vec!["/spec/replicas"]);
}

#[test]
fn diff_text_has_context_and_only_changed_lines() {
    let desired = fixture("deployment-desired.yaml");
    let mut live = fixture("deployment-live.yaml");
    live["spec"]["replicas"] = json!(5);
    let m = manifest(desired.clone());
    let predicted = server_apply(&live, &desired);
    let drift = compare(
        &m,
        &live,
        Predicted::DryRun(&predicted),
        &DiffOptions::default(),
    )
    .unwrap();
    let changed: Vec<&str> = drift
        .diff
        .lines()
        .skip(2)
        .filter(|l| l.starts_with('+') || l.starts_with('-'))
        .collect();
    assert_eq!(
        changed,
        vec!["-  replicas: 5", "+  replicas: 3"],
        "{}",
        drift.diff
    );
    assert!(drift.diff.contains("@@"), "{}", drift.diff);
    assert!(!drift.diff.contains("resourceVersion"), "{}", drift.diff);
    assert!(!drift.diff.contains("status:"), "{}", drift.diff);
}

#[test]
fn managed_objects_are_recognised_per_env() {
    let live = fixture("configmap-live.yaml");
    assert!(driftdeck::diff::is_managed(&live, "production"));
    assert!(!driftdeck::diff::is_managed(&live, "staging"));
    let mut foreign = live.clone();
    foreign["metadata"]["labels"]["app.kubernetes.io/managed-by"] = json!("helm");
    assert!(!driftdeck::diff::is_managed(&foreign, "production"));
}

mod no_panic {
    use super::*;
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z0-9./=~-]{0,8}".prop_map(Value::from),
            Just(json!("512Mi")),
            Just(json!("1e400")),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("name".to_owned()),
                        Just("containers".to_owned()),
                        Just("ports".to_owned()),
                        Just("data".to_owned()),
                        Just("limits".to_owned()),
                        "[a-z]{1,6}",
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Arbitrary live and predicted objects never panic the diff or health code.
        #[test]
        fn diff_and_health_never_panic(live in json_value(), predicted in json_value(), spec in json_value()) {
            let mut desired = fixture("deployment-desired.yaml");
            desired["spec"] = spec.clone();
            let m = manifest(desired);
            let mut secret = fixture("secret-live.yaml");
            secret["data"] = spec;
            let opts = DiffOptions { ignore: vec![IgnoreRule {
                kind: "*".into(),
                json_pointers: vec!["/spec/containers/name=api/x".into(), "/spec/0".into()],
                managers: vec!["m".into()],
                ..IgnoreRule::default()
            }]};
            let _ = compare(&m, &live, Predicted::DryRun(&predicted), &opts);
            let _ = compare(&m, &live, Predicted::Unavailable, &opts);
            let _ = mask_secret(&secret);
            let _ = driftdeck::health::assess(&live);
            let _ = driftdeck::health::pod_row(&live);
            for kind in ["Deployment", "Pod", "CronJob", "HorizontalPodAutoscaler", "StatefulSet"] {
                let obj = json!({"apiVersion": if kind == "Pod" { "v1" } else { "apps/v1" },
                                 "kind": kind, "spec": live.clone(), "status": predicted.clone()});
                let _ = driftdeck::health::assess(&obj);
            }
            // The equal pair is always in sync, whatever its shape.
            prop_assert!(compare(&m, m.object(), Predicted::Unavailable, &DiffOptions::default()).is_none());
        }
    }
}

#[test]
fn cached_and_owned_dry_run_lookups_agree() {
    let desired = vec![manifest(fixture("deployment-desired.yaml"))];
    let mut live = fixture("deployment-live.yaml");
    live["spec"]["replicas"] = json!(9);
    let predicted = server_apply(&live, desired[0].object());
    let owned = diff_sets(
        &desired,
        std::slice::from_ref(&live),
        &[],
        &|_| Some(predicted.clone()),
        &DiffOptions::default(),
    );
    let cached = driftdeck::diff::diff_sets_cached(
        &desired,
        &[live],
        &[],
        &|_| Some(&predicted),
        &DiffOptions::default(),
    );
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0].paths, vec!["/spec/replicas"]);
    assert_eq!(owned, cached);
}
