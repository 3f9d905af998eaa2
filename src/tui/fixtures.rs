//! Fabricated, realistic snapshots for tests, UI snapshots and benches (public so the
//! integration tests and `benches/frame.rs` can use them): the healthy three-env demo
//! (dev/staging/production running log-api, log-processor, log-collector), a drifted
//! staging, a Degraded production under a hold, a promotion preview, and a large snapshot for
//! the frame bench. Everything is deterministic, with a fixed clock ([`NOW`]), so snapshots
//! are stable. Imports `crate::model` and `crate::config`; no IO.

use jiff::{SignedDuration, Timestamp};

use crate::config::keymap::Keymap;
use crate::model::{
    Commit, Drift, DriftKind, EnvState, FailureReason, Health, HealthCode, HistoryEntry, Hold,
    Notice, OperationKind, OperationResult, Pause, PodRow, RepoState, ResourceKey, ResourceRow,
    RolloutHaltRow, RolloutPhase, RolloutRow, Snapshot, SyncStatus, WaveRow, WaveState,
    worst_health,
};
use crate::tui::state::ViewState;

/// The fixed clock of every fixture: 2026-11-21 23:45:00 UTC.
pub const NOW: Timestamp = Timestamp::constant(1_795_304_700, 0);

pub const APPS: [&str; 3] = ["log-api", "log-processor", "log-collector"];
pub const NAMESPACE: &str = "log-platform";

fn ago(secs: i64) -> Timestamp {
    NOW.checked_sub(SignedDuration::from_secs(secs))
        .unwrap_or(NOW)
}

/// A deterministic 40-hex sha starting with `prefix`.
pub fn sha(prefix: &str) -> String {
    let mut out: String = prefix.chars().filter(char::is_ascii_hexdigit).collect();
    let filler = "0123456789abcdef";
    let mut i = out.len();
    while out.len() < 40 {
        let idx = (i * 7 + 3) % 16;
        out.push_str(&filler[idx..=idx]);
        i += 1;
    }
    out
}

fn commit(prefix: &str, author: &str, secs_ago: i64, summary: &str, files: &[&str]) -> Commit {
    Commit {
        sha: sha(prefix),
        author: author.to_owned(),
        email: format!("{author}@example.com"),
        time: ago(secs_ago),
        summary: summary.to_owned(),
        files: files.iter().map(|f| (*f).to_owned()).collect(),
    }
}

/// The demo repo's history, newest first.
pub fn commits() -> Vec<Commit> {
    vec![
        commit(
            "f6a81c2",
            "bob",
            2_400,
            "promote(dev→staging): log-api v1.4.0 → v1.5.0",
            &["overlays/staging/kustomization.yaml"],
        ),
        commit(
            "e5b7d93",
            "alice",
            10_800,
            "log-api: v1.5.0 (batched flush)",
            &["overlays/dev/kustomization.yaml"],
        ),
        commit(
            "d4c9e04",
            "carol",
            72_000,
            "promote(staging→production): log-api v1.3.0 → v1.4.0",
            &["overlays/production/kustomization.yaml"],
        ),
        commit(
            "c3d0f15",
            "carol",
            86_400,
            "promote(dev→staging): log-api v1.3.0 → v1.4.0",
            &["overlays/staging/kustomization.yaml"],
        ),
        commit(
            "b2e1a26",
            "bob",
            172_800,
            "log-collector: raise memory limit to 256Mi",
            &["base/log-collector.yaml"],
        ),
        commit(
            "a1f2b37",
            "alice",
            259_200,
            "initial: log platform base and overlays",
            &["base/kustomization.yaml"],
        ),
    ]
}

fn resources(healthy: bool) -> Vec<ResourceRow> {
    let mut rows = vec![ResourceRow {
        key: ResourceKey::new("", "Namespace", "", NAMESPACE),
        sync: SyncStatus::Synced,
        health: Health::healthy(),
    }];
    for app in APPS {
        for (group, kind) in [("apps", "Deployment"), ("", "Service"), ("", "ConfigMap")] {
            rows.push(ResourceRow {
                key: ResourceKey::new(group, kind, NAMESPACE, app),
                sync: SyncStatus::Synced,
                health: if healthy || kind != "Deployment" {
                    Health::healthy()
                } else {
                    Health::new(HealthCode::Degraded, "CrashLoopBackOff")
                },
            });
        }
    }
    rows
}

fn pod(app: &str, hash: &str, suffix: &str, secs_ago: i64) -> PodRow {
    PodRow {
        namespace: NAMESPACE.to_owned(),
        name: format!("{app}-{hash}-{suffix}"),
        status: "Running".to_owned(),
        ready: "1/1".to_owned(),
        restarts: 0,
        created: Some(ago(secs_ago)),
        reason: String::new(),
        node: "sandbox-node-1".to_owned(),
        owner: format!("Deployment/{app}"),
        health: HealthCode::Healthy,
    }
}

fn pods(replicas: usize, age: i64) -> Vec<PodRow> {
    const SUFFIXES: [&str; 4] = ["x2k4p", "m8q1z", "t5w9c", "h3n7v"];
    let mut out = Vec::new();
    for (a, app) in APPS.iter().enumerate() {
        let hash = ["7d9f8b6c5", "5c6b7f9d8", "6f8d9c7b4"][a];
        for suffix in SUFFIXES.iter().take(replicas) {
            out.push(pod(app, hash, suffix, age));
        }
    }
    out
}

/// Each app's Deployment running `tag` (log-api's image is the one releases change).
fn images(tag: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    APPS.iter()
        .map(|app| {
            let tag = if *app == "log-api" { tag } else { "v1.3.0" };
            (
                format!("Deployment/{app}"),
                vec![format!("{app}=registry.example.com/{app}:{tag}")],
            )
        })
        .collect()
}

fn history(revision: &str, op: OperationKind, secs_ago: i64) -> HistoryEntry {
    HistoryEntry {
        id: format!("carol@ops-1-{secs_ago}"),
        op,
        revision: revision.to_owned(),
        render_digest: sha("abcdef"),
        operator: "carol@ops-1/4242".to_owned(),
        started: ago(secs_ago),
        finished: Some(ago(secs_ago - 20)),
        result: OperationResult::Succeeded,
        resources_changed: 2,
        failure: None,
    }
}

fn env(name: &str, synced: &str, replicas: usize) -> EnvState {
    let mut env = EnvState::unknown(name);
    env.path = format!("overlays/{name}");
    env.context = name.to_owned();
    env.namespace = NAMESPACE.to_owned();
    env.revision = Some(sha("f6a81c2"));
    env.synced_revision = Some(sha(synced));
    env.sync = SyncStatus::Synced;
    env.health = Health::healthy();
    env.resources = resources(true);
    env.pods = pods(replicas, 2_300);
    env.images = images(if synced == "d4c9e04" {
        "v1.4.2"
    } else {
        "v1.5.0"
    });
    env.commits = commits();
    env.history = vec![history(&sha(synced), OperationKind::AutoSync, 2_300)];
    env.observed_at = Some(ago(4));
    env
}

/// The healthy demo: dev (1 replica), staging (2) and protected production (3), all Synced
/// and Healthy; production runs an older commit than the others.
pub fn demo_healthy() -> Snapshot {
    let dev = env("dev", "f6a81c2", 1);
    let mut staging = env("staging", "f6a81c2", 2);
    staging.promote_from = Some("dev".to_owned());
    let mut production = env("production", "d4c9e04", 3);
    production.promote_from = Some("staging".to_owned());
    production.protected = true;
    production.lease_holder = Some("carol@ops-1/4242".to_owned());
    production.history = vec![
        history(&sha("d4c9e04"), OperationKind::Sync, 72_000),
        history(&sha("c3d0f15"), OperationKind::Sync, 200_000),
    ];
    Snapshot {
        seq: 42,
        taken_at: Some(ago(4)),
        read_only: false,
        repo: RepoState {
            url: "./demo/repo".to_owned(),
            branch: "main".to_owned(),
            head: commits().into_iter().next(),
            error: None,
        },
        envs: vec![dev, staging, production],
        rollouts: Vec::new(),
    }
}

/// The demo with its three region envs (protected, promoted from staging) and rollout
/// `prod-regions` over them, its waves in `states`, a 5 m soak. Wave 2 soaking has 3m12s left;
/// a halted wave halted at 23:40 because prod-us-east went Degraded.
pub fn regions_rollout(phase: RolloutPhase, wave: usize, states: [WaveState; 3]) -> Snapshot {
    let mut snap = demo_healthy();
    let regions = ["prod-us-east", "prod-eu-west", "prod-ap-south"];
    for (region, state) in regions.iter().zip(states) {
        let synced = if state == WaveState::Pending {
            "d4c9e04"
        } else {
            "f6a81c2"
        };
        let mut e = env(region, synced, 2);
        e.promote_from = Some("staging".to_owned());
        e.protected = true;
        if phase == RolloutPhase::Halted {
            e.paused = Some(Pause {
                by: "carol@ops-1/4242".to_owned(),
                at: ago(300),
                reason: "rollout prod-regions halted".to_owned(),
            });
        }
        if state == WaveState::Halted {
            e.health = Health {
                code: HealthCode::Degraded,
                message: "Deployment/log-api: CrashLoopBackOff".to_owned(),
            };
        }
        snap.envs.push(e);
    }
    snap.rollouts = vec![RolloutRow {
        name: "prod-regions".to_owned(),
        from: "staging".to_owned(),
        phase: Some(phase),
        wave,
        waves: regions
            .iter()
            .zip(states)
            .map(|(region, state)| WaveRow {
                envs: vec![(*region).to_owned()],
                state,
                soak_ends_at: (state == WaveState::Soaking).then(|| ago(-192)),
            })
            .collect(),
        halt: (phase == RolloutPhase::Halted).then(|| RolloutHaltRow {
            wave: wave + 1,
            env: Some(regions[wave.min(2)].to_owned()),
            reason: format!(
                "{} is Degraded: Deployment/log-api: CrashLoopBackOff",
                regions[wave.min(2)]
            ),
            by: "carol@ops-1/4242".to_owned(),
            at: ago(300),
        }),
        error: None,
    }];
    snap
}

pub const LOG_API_DIFF: &str = "--- live Deployment/log-platform/log-api
+++ desired Deployment/log-platform/log-api
@@ -6,12 +6,12 @@
 metadata:
   name: log-api
   namespace: log-platform
 spec:
-  replicas: 5
+  replicas: 2
   selector:
     matchLabels:
       app: log-api
   template:
     spec:
       containers:
       - name: log-api
-        image: registry.example.com/log-api:v1.5.0-debug
+        image: registry.example.com/log-api:v1.5.0
";

/// Staging drifted: someone scaled log-api and swapped its image, a debug ConfigMap was
/// left behind, and the log-processor Service was deleted. Staging is selected.
pub fn drifted() -> Snapshot {
    let mut snap = demo_healthy();
    if let Some(staging) = snap.envs.get_mut(1) {
        staging.sync = SyncStatus::OutOfSync;
        staging.drift = vec![
            Drift {
                key: ResourceKey::new("apps", "Deployment", NAMESPACE, "log-api"),
                kind: DriftKind::Modified,
                paths: vec![
                    "/spec/replicas".to_owned(),
                    "/spec/template/spec/containers/name=log-api/image".to_owned(),
                ],
                diff: LOG_API_DIFF.to_owned(),
            },
            Drift {
                key: ResourceKey::new("", "Service", NAMESPACE, "log-processor"),
                kind: DriftKind::Missing,
                paths: Vec::new(),
                diff: "--- live (absent)\n+++ desired Service/log-platform/log-processor\n@@ -0,0 +1,6 @@\n+apiVersion: v1\n+kind: Service\n+metadata:\n+  name: log-processor\n+  namespace: log-platform\n+spec: {ports: [{port: 8080}]}\n".to_owned(),
            },
            Drift {
                key: ResourceKey::new("", "ConfigMap", NAMESPACE, "debug-flags"),
                kind: DriftKind::Extra,
                paths: Vec::new(),
                diff: String::new(),
            },
        ];
        staging.paused = Some(Pause {
            by: "bob@laptop".to_owned(),
            at: ago(600),
            reason: "investigating flush latency".to_owned(),
        });
    }
    snap
}

/// Production Degraded after a bad release (f6a81c2 crash-looping) and rolled back to
/// d4c9e04 under a hold. Production is selected by [`degraded_view`].
pub fn degraded_with_hold() -> Snapshot {
    let mut snap = demo_healthy();
    if let Some(prod) = snap.envs.get_mut(2) {
        let bad = sha("f6a81c2");
        let good = sha("d4c9e04");
        prod.synced_revision = Some(good.clone());
        prod.sync = SyncStatus::OutOfSync;
        for pod in prod
            .pods
            .iter_mut()
            .filter(|p| p.name.starts_with("log-api"))
            .take(2)
        {
            pod.status = "CrashLoopBackOff".to_owned();
            pod.ready = "0/1".to_owned();
            pod.restarts = 7;
            pod.reason = "back-off 5m0s restarting failed container log-api".to_owned();
            pod.health = HealthCode::Degraded;
        }
        prod.health = Health::new(
            worst_health(prod.pods.iter().map(|p| p.health)),
            "log-api: 2 of 3 pods in CrashLoopBackOff",
        );
        prod.hold = Some(Hold {
            revision: good.clone(),
            bad_revision: bad.clone(),
            by: "driftdeck (auto-rollback)".to_owned(),
            at: ago(300),
            reason: "validation failed: log-api CrashLoopBackOff".to_owned(),
        });
        let mut failed = history(&bad, OperationKind::Sync, 900);
        failed.result = OperationResult::Failed;
        failed.failure = Some(FailureReason::Degraded(
            "log-api: CrashLoopBackOff".to_owned(),
        ));
        let mut rolled = history(&good, OperationKind::AutoRollback, 320);
        rolled.resources_changed = 1;
        prod.history.insert(0, failed);
        prod.history.insert(0, rolled);
    }
    snap
}

/// [`degraded_with_hold`] after an operator's manual rollback instead: the hold as earlier
/// versions wrote it, its reason naming the operator again ("rollback by …").
pub fn manual_rollback_hold() -> Snapshot {
    let mut snap = degraded_with_hold();
    if let Some(hold) = snap.envs.get_mut(2).and_then(|p| p.hold.as_mut()) {
        hold.by = "ana@ops-laptop/4242".to_owned();
        hold.reason = "rollback by ana@ops-laptop/4242".to_owned();
        hold.at = ago(90);
    }
    snap
}

/// The preview the controller answers `Promote{staging→production, preview: true}` with.
pub fn promotion_preview() -> Notice {
    Notice::PromotionPreviewed {
        from: "staging".to_owned(),
        to: "production".to_owned(),
        message: "promote(staging→production): log-api v1.4.0 → v1.5.0".to_owned(),
        drift: vec![Drift {
            key: ResourceKey::new("apps", "Deployment", NAMESPACE, "log-api"),
            kind: DriftKind::Modified,
            paths: vec!["/spec/template/spec/containers/name=log-api/image".to_owned()],
            diff: "--- live Deployment/log-platform/log-api\n+++ desired Deployment/log-platform/log-api\n@@ -14,7 +14,7 @@\n     spec:\n       containers:\n       - name: log-api\n-        image: registry.example.com/log-api:v1.4.0\n+        image: registry.example.com/log-api:v1.5.0\n         ports:\n         - containerPort: 8080\n".to_owned(),
        }],
    }
}

/// `envs` envs with `resources` resources, a tenth of them drifted, `pods` pods and 200
/// commits each: the frame bench's load.
pub fn large(envs: usize, resources: usize, pods: usize) -> Snapshot {
    let mut snap = demo_healthy();
    let base = snap
        .envs
        .first()
        .cloned()
        .unwrap_or_else(|| EnvState::unknown("dev"));
    snap.envs = (0..envs)
        .map(|e| {
            let mut env = base.clone();
            env.name = format!("env-{e}");
            env.resources = (0..resources)
                .map(|r| ResourceRow {
                    key: ResourceKey::new("apps", "Deployment", NAMESPACE, format!("app-{r}")),
                    sync: SyncStatus::Synced,
                    health: Health::healthy(),
                })
                .collect();
            env.drift = (0..resources / 10)
                .map(|r| Drift {
                    key: ResourceKey::new("apps", "Deployment", NAMESPACE, format!("app-{r}")),
                    kind: DriftKind::Modified,
                    paths: vec!["/spec/replicas".to_owned()],
                    diff: LOG_API_DIFF.to_owned(),
                })
                .collect();
            env.pods = (0..pods)
                .map(|p| {
                    pod(
                        &format!("app-{}", p % resources.max(1)),
                        "7d9f8b6c5",
                        &format!("{p:05}"),
                        3_600,
                    )
                })
                .collect();
            env.commits = (0..200)
                .map(|c| {
                    commit(
                        &format!("{c:07x}"),
                        "alice",
                        600 * i64::from(c),
                        "bump",
                        &[],
                    )
                })
                .collect();
            env
        })
        .collect();
    snap
}

/// A view state at the fixture clock with the default keymap.
pub fn view_state() -> ViewState {
    ViewState::new(Keymap::default(), NOW)
}

/// A view with the given env selected.
pub fn view_on_env(index: usize) -> ViewState {
    let mut view = view_state();
    view.env.selected = index;
    view
}
