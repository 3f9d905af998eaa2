//! Progressive rollouts on the sandbox: the `demo init` repo's three region overlays
//! (prod-us-east, prod-eu-west, prod-ap-south, one sandbox cluster each, at production's older
//! versions), staging as FROM, and the real `driftdeck rollout` verb. The soak is
//! shortened in the test config. Every wait is a poll with a deadline.

use std::time::Duration;

use serde_json::Value;

use crate::controller_support::{API_IMAGE, Deck, NS, Run};
use driftdeck::model::{OperationKind, OperationResult};

const REGIONS: [&str; 3] = ["prod-us-east", "prod-eu-west", "prod-ap-south"];
const ROLLOUT: &str = "prod-regions";

/// Sandbox (staging + the regions), the demo repo, a config with the rollout, and
/// every env synced: staging runs log-api 1.4.2, the regions 1.4.1.
async fn bench(soak: &str) -> Deck {
    let clusters = ["staging", REGIONS[0], REGIONS[1], REGIONS[2]];
    let deck = Deck::start_on(&clusters, &[], 40.0).await;
    for region in REGIONS {
        let overlay = format!("overlays/{region}/kustomization.yaml");
        assert!(
            deck.file_at("main", &overlay).is_some(),
            "the demo has no {overlay}"
        );
    }
    let q = |p: &std::path::Path| serde_json::to_string(&p.display().to_string()).unwrap();
    let root = deck.config().parent().unwrap().to_path_buf();
    let mut yaml = format!(
        "repo: {{url: {}, branch: main, poll_interval: 1s}}\nkubeconfig: {}\nvalidation_timeout: 60s\nenvironments:\n  - {{name: staging, path: overlays/staging, context: staging, namespace: {NS}}}\n",
        q(&deck.repo()),
        q(&root.join("kubeconfig"))
    );
    for region in REGIONS {
        yaml.push_str(&format!(
            "  - {{name: {region}, path: overlays/{region}, context: {region}, namespace: {NS}, promote_from: staging, protected: true}}\n"
        ));
    }
    yaml.push_str(&format!(
        "rollouts:\n  - name: {ROLLOUT}\n    from: staging\n    waves: [[prod-us-east], [prod-eu-west], [prod-ap-south]]\n    soak: {soak}\n    halt_on: any_degraded\n"
    ));
    std::fs::write(deck.config(), yaml).unwrap();

    deck.sync_ok("staging").await;
    for region in REGIONS {
        deck.sync_ok(region).await;
        assert_eq!(api_tag(&deck, region).as_deref(), Some("1.4.1"));
    }
    deck
}

fn api_tag(deck: &Deck, env: &str) -> Option<String> {
    deck.live_image(env, "log-api")
        .and_then(|i| i.rsplit(':').next().map(str::to_owned))
}

/// `rollout ... NAME` with `--confirm` for every (protected) region.
fn args<'a>(verb: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["rollout", verb, ROLLOUT];
    a.extend_from_slice(extra);
    for r in REGIONS {
        a.extend(["--confirm", r]);
    }
    a
}

/// The rollout's record straight from the first region's store (`Null` before it exists).
fn record(deck: &Deck) -> Value {
    deck.live(
        REGIONS[0],
        "",
        "configmaps",
        &format!("driftdeck-rollout-{ROLLOUT}"),
    )
    .and_then(|cm| {
        cm.pointer("/data/rollout")
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
    .map(|t| serde_json::from_str(&t).unwrap())
    .unwrap_or(Value::Null)
}

async fn status_json(deck: &Deck) -> Value {
    let run = deck
        .run(&["rollout", "status", ROLLOUT, "-o", "json"])
        .await
        .ok("rollout status");
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("rollout status -o json is not JSON ({e}): {run:#?}"))
}

/// Promotions into the regions on main, oldest first: (sha, target env).
fn promotions(deck: &Deck) -> Vec<(String, String)> {
    let repo = git2::Repository::open(deck.repo()).unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push_ref("refs/heads/main").unwrap();
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
        .unwrap();
    let mut out = Vec::new();
    for oid in walk {
        let c = repo.find_commit(oid.unwrap()).unwrap();
        let msg = c.message().unwrap_or_default().to_owned();
        if let Some(rest) = msg.strip_prefix("promote(staging→") {
            let to = rest.split(')').next().unwrap().to_owned();
            // The demo's own history promotes staging → production too.
            if REGIONS.contains(&to.as_str()) {
                out.push((c.id().to_string(), to));
            }
        }
    }
    out
}

/// Succeeded syncs of `env` at `sha`, from its cluster-held history.
fn syncs_at(deck: &Deck, env: &str, sha: &str) -> Vec<driftdeck::model::HistoryEntry> {
    deck.history(env)
        .into_iter()
        .filter(|e| e.op == OperationKind::Sync && e.revision == sha)
        .collect()
}

fn said(run: &Run, text: &str) -> bool {
    run.stderr.contains(text) || run.stdout.contains(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_start_moves_a_new_version_through_three_waves_in_order() {
    let deck = bench("2s").await;
    let run = deck
        .run(&args("start", &["--yes"]))
        .await
        .ok("rollout start");
    assert!(said(&run, "rollout prod-regions done"), "{run:#?}");

    for region in REGIONS {
        assert_eq!(api_tag(&deck, region).as_deref(), Some("1.4.2"), "{region}");
    }
    // One promotion per wave, in wave order.
    let promoted = promotions(&deck);
    let targets: Vec<&str> = promoted.iter().map(|(_, to)| to.as_str()).collect();
    assert_eq!(targets, REGIONS.to_vec(), "{promoted:?}");
    // Each region synced its own promotion commit exactly once, waves one after the other:
    // a wave's sync starts only after the previous wave finished its soak.
    let status = status_json(&deck).await;
    let mut previous_end: Option<jiff::Timestamp> = None;
    for (i, (sha, region)) in promoted.iter().enumerate() {
        let syncs = syncs_at(&deck, region, sha);
        assert_eq!(syncs.len(), 1, "{region}: {syncs:#?}");
        assert_eq!(syncs[0].result, OperationResult::Succeeded);
        let wave = &status["waves"][i];
        assert_eq!(wave["state"], "done", "{status:#}");
        assert_eq!(wave["commits"][region.as_str()], sha.as_str(), "{status:#}");
        let finished: jiff::Timestamp = wave["finished_at"].as_str().unwrap().parse().unwrap();
        let soaked: jiff::Timestamp = wave["soak_started_at"].as_str().unwrap().parse().unwrap();
        assert!(
            finished.duration_since(soaked) >= jiff::SignedDuration::from_secs(2),
            "wave {} soaked less than 2s: {status:#}",
            i + 1
        );
        if let Some(end) = previous_end {
            assert!(
                syncs[0].started > end,
                "{region} synced before the previous wave soaked"
            );
        }
        previous_end = Some(finished);
    }
    assert_eq!(status["phase"], "done", "{status:#}");
    assert_eq!(status["halt"], Value::Null);
    let audit = std::fs::read_to_string(deck.audit_log()).unwrap();
    assert!(audit.contains("\"rollout start\"") && audit.contains("\"rollout done\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashloop_version_halts_at_wave_one_and_pauses_every_region() {
    let deck = bench("2s").await;
    // A webhook for the halt: the driver delivers it before it exits.
    let (port, hooks) = crate::notify::receiver().await;
    let mut yaml = std::fs::read_to_string(deck.config()).unwrap();
    yaml.push_str(&format!(
        "notify:\n  - on: [rollout_halted]\n    webhook: {{url: \"http://127.0.0.1:{port}/hook\", format: json}}\n"
    ));
    std::fs::write(deck.config(), yaml).unwrap();
    // Staging takes the bad version (its own validation fails: it is Degraded), so the
    // rollout must be forced, as `promote --force` would be.
    deck.commit_tag("staging", API_IMAGE, "1.4.2-crashloop");
    let staging = deck.run(&["sync", "staging"]).await;
    assert_eq!(staging.code, 1, "{staging:#?}");

    let run = deck.run(&args("start", &["--yes", "--force"])).await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(said(&run, "halted at wave 1"), "{run:#?}");

    assert_eq!(
        api_tag(&deck, REGIONS[0]).as_deref(),
        Some("1.4.2-crashloop")
    );
    for region in &REGIONS[1..] {
        assert_eq!(
            api_tag(&deck, region).as_deref(),
            Some("1.4.1"),
            "{region} was touched"
        );
    }
    let targets: Vec<String> = promotions(&deck).into_iter().map(|(_, to)| to).collect();
    assert_eq!(targets, vec![REGIONS[0].to_owned()]);
    for region in REGIONS {
        let paused = deck.held_key(region, "paused");
        let reason = paused["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("rollout prod-regions halted at wave 1"),
            "{region} not paused by the halt: {paused}"
        );
    }
    let status = status_json(&deck).await;
    assert_eq!(status["phase"], "halted", "{status:#}");
    assert_eq!(status["halt"]["wave"], 1, "{status:#}");
    assert_eq!(status["halt"]["env"], REGIONS[0], "{status:#}");
    let reason = status["halt"]["reason"].as_str().unwrap().to_lowercase();
    assert!(reason.contains("degraded"), "{status:#}");
    assert_eq!(status["waves"][0]["state"], "halted");
    assert_eq!(status["waves"][1]["state"], "pending");
    assert_eq!(status["waves"][2]["state"], "pending");

    let halted = crate::notify::events(&hooks, "rollout_halted");
    assert_eq!(
        halted.len(),
        1,
        "one rollout_halted notification: {halted:#?}"
    );
    assert_eq!(halted[0]["env"], REGIONS[0], "{halted:#?}");

    // A second start is refused while halted and points at resume.
    let again = deck.run(&args("start", &["--yes", "--force"])).await;
    assert_eq!(again.code, 1, "{again:#?}");
    assert!(said(&again, "rollout resume prod-regions"), "{again:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_killed_mid_soak_is_continued_from_the_same_wave() {
    let deck = bench("8s").await;
    let mut child = deck.command(&args("start", &["--yes"])).spawn().unwrap();
    deck.wait_for("wave 1 to soak", Duration::from_secs(120), || {
        let r = record(&deck);
        async move { (r["waves"][0]["state"] == "soaking").then_some(()) }
    })
    .await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let before = promotions(&deck);
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(record(&deck)["phase"], "running");

    let run = deck.run(&args("resume", &[])).await.ok("rollout resume");
    assert!(said(&run, "wave 1 [prod-us-east]: soaking"), "{run:#?}");
    assert!(
        !said(&run, "promoting staging → prod-us-east"),
        "wave 1 promoted again: {run:#?}"
    );
    let promoted = promotions(&deck);
    assert_eq!(promoted[0], before[0], "{promoted:?}");
    let targets: Vec<&str> = promoted.iter().map(|(_, to)| to.as_str()).collect();
    assert_eq!(targets, REGIONS.to_vec());
    assert_eq!(syncs_at(&deck, REGIONS[0], &before[0].0).len(), 1);
    for region in REGIONS {
        assert_eq!(api_tag(&deck, region).as_deref(), Some("1.4.2"), "{region}");
    }
    assert_eq!(status_json(&deck).await["phase"], "done");
}
