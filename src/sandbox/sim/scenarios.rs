//! Deployment scenarios driven through the whole simulator (deployment → replicaset → kubelet)
//! on the in-memory [`World`]: what `kubectl rollout status` and driftdeck's health checks see.

use std::time::Duration;

use serde_json::{Value, json};

use super::meta;
use super::testkit::{World, condition, deployment, is_ready};

const TICK: Duration = Duration::from_millis(100);

fn deploy(w: &World, name: &str) -> Value {
    w.get("apps/v1", "Deployment", "log-platform", name)
}

fn available(d: &Value) -> bool {
    condition(d, "Available").is_some_and(|c| c["status"] == "True")
        && condition(d, "Progressing").is_some_and(|c| c["reason"] == "NewReplicaSetAvailable")
        && d["status"]["availableReplicas"] == d["spec"]["replicas"]
        && d["status"]["updatedReplicas"] == d["spec"]["replicas"]
        && d["status"]["observedGeneration"] == d["metadata"]["generation"]
}

fn ready_pods(w: &World, app: &str) -> usize {
    w.pods_of("app", app).iter().filter(|p| is_ready(p)).count()
}

fn replica_sets(w: &World, app: &str) -> Vec<Value> {
    w.all("apps/v1", "ReplicaSet")
        .into_iter()
        .filter(|r| meta::str_at(r, "/metadata/labels/app") == app)
        .collect()
}

fn set_image(w: &mut World, name: &str, image: &str) {
    let mut d = deploy(w, name);
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
    w.apply(d);
}

fn max_restarts(w: &World, app: &str) -> i64 {
    w.pods_of("app", app)
        .iter()
        .map(|p| meta::int_at(p, "/status/containerStatuses/0/restartCount", 0))
        .max()
        .unwrap_or(0)
}

#[test]
fn good_image_reaches_available_with_all_pods_ready() {
    let mut w = World::fast();
    w.apply(deployment("collector", 3, "log/collector:v1"));
    let took = w.run_until(Duration::from_secs(30), TICK, |w| {
        available(&deploy(w, "collector"))
    });
    // 2 s of simulated start-up at 10× is well under 2 real seconds.
    assert!(took <= Duration::from_secs(2), "took {took:?}");
    assert_eq!(ready_pods(&w, "collector"), 3);
    let d = deploy(&w, "collector");
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    assert_eq!(d["status"]["readyReplicas"], 3);
    assert!(d["status"].get("unavailableReplicas").is_none());

    let rss = replica_sets(&w, "collector");
    assert_eq!(rss.len(), 1);
    let rs = &rss[0];
    let hash = meta::str_at(rs, "/metadata/labels/pod-template-hash");
    assert_eq!(meta::name(rs), format!("collector-{hash}"));
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"]["pod-template-hash"],
        hash
    );
    assert_eq!(rs["metadata"]["ownerReferences"][0]["kind"], "Deployment");
    assert_eq!(rs["metadata"]["ownerReferences"][0]["controller"], true);
    assert_eq!(
        rs["metadata"]["ownerReferences"][0]["blockOwnerDeletion"],
        true
    );
    assert_eq!(rs["status"]["readyReplicas"], 3);
    assert_eq!(rs["status"]["fullyLabeledReplicas"], 3);

    let nodes: std::collections::BTreeSet<String> = w
        .pods_of("app", "collector")
        .iter()
        .map(|p| meta::str_at(p, "/spec/nodeName").to_string())
        .collect();
    assert_eq!(nodes.len(), 3, "round-robin over three nodes: {nodes:?}");
    for p in w.pods_of("app", "collector") {
        assert!(meta::name(&p).starts_with(&format!("collector-{hash}-")));
        assert_eq!(p["status"]["phase"], "Running");
        assert_eq!(p["status"]["qosClass"], "BestEffort");
        let cs = &p["status"]["containerStatuses"][0];
        assert_eq!(cs["ready"], true);
        assert_eq!(cs["started"], true);
        assert_eq!(cs["image"], "docker.io/log/collector:v1");
        assert!(cs["state"]["running"]["startedAt"].is_string());
        assert!(meta::str_at(&p, "/status/podIP").starts_with("10.244."));
    }

    let reasons: Vec<String> = w
        .all("v1", "Event")
        .iter()
        .map(|e| meta::str_at(e, "/reason").to_string())
        .collect();
    for r in [
        "Scheduled",
        "Pulling",
        "Pulled",
        "Created",
        "Started",
        "ScalingReplicaSet",
        "SuccessfulCreate",
    ] {
        assert!(
            reasons.iter().any(|x| x == r),
            "no {r} event in {reasons:?}"
        );
    }
    let scaled = w
        .all("v1", "Event")
        .into_iter()
        .find(|e| e["reason"] == "ScalingReplicaSet")
        .unwrap();
    assert_eq!(
        scaled["message"],
        format!("Scaled up replica set collector-{hash} to 3")
    );
    assert_eq!(scaled["involvedObject"]["kind"], "Deployment");
}

#[test]
fn events_are_bounded_by_max_events() {
    let mut w = World::new(super::SimConfig {
        time_scale: 10.0,
        max_events: 25,
        ..super::SimConfig::default()
    });
    w.apply(deployment("api", 10, "log/api:v1"));
    w.run_until(Duration::from_secs(30), TICK, |w| {
        available(&deploy(w, "api"))
    });
    let events = w.all("v1", "Event");
    assert!(events.len() <= 25, "{} events kept", events.len());
    // The newest survive: the last pods' Started events are still there.
    assert!(events.iter().any(|e| e["reason"] == "Started"));
}

#[test]
fn a_quiet_world_produces_no_actions() {
    let mut w = World::fast();
    w.apply(deployment("api", 2, "log/api:v1"));
    w.run_until(Duration::from_secs(30), TICK, |w| {
        available(&deploy(w, "api"))
    });
    w.run_for(Duration::from_secs(5), TICK, |_| {});
    let actions = w.step();
    assert!(actions.is_empty(), "{actions:?}");
    // And again, later, with time passing but nothing to do.
    w.now += Duration::from_secs(60);
    let actions = w.step();
    assert!(actions.is_empty(), "{actions:?}");
    // The same holds for a full step over a view that offers no revision to skip on.
    struct NoRevision<'a>(&'a super::testkit::Store);
    impl super::ObjectView for NoRevision<'_> {
        fn list(&self, av: &str, kind: &str, ns: Option<&str>) -> Vec<Value> {
            self.0.list(av, kind, ns)
        }
        fn get(&self, av: &str, kind: &str, ns: Option<&str>, name: &str) -> Option<Value> {
            self.0.get(av, kind, ns, name)
        }
    }
    w.now += Duration::from_secs(1);
    let actions = w.sim.step(w.now, &NoRevision(&w.store));
    assert!(actions.is_empty(), "{actions:?}");
}

#[test]
fn crashloop_hits_the_progress_deadline_with_rising_restarts() {
    let mut w = World::fast();
    w.apply(deployment("processor", 2, "log/processor:v2-crashloop"));
    // 400 simulated seconds: crashing, not yet past the 600 s deadline.
    w.run_for(Duration::from_secs(40), TICK, |_| {});
    let early = max_restarts(&w, "processor");
    assert!(early >= 3, "restarts after 400 s: {early}");
    let d = deploy(&w, "processor");
    assert_ne!(
        condition(&d, "Progressing").unwrap()["reason"],
        "ProgressDeadlineExceeded"
    );
    assert_eq!(condition(&d, "Available").unwrap()["status"], "False");
    let took = w.run_until(Duration::from_secs(90), TICK, |w| {
        condition(&deploy(w, "processor"), "Progressing")
            .is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded" && c["status"] == "False")
    });
    // The deadline is 600 simulated seconds after the last progress (the rollout's start).
    assert!(
        took >= Duration::from_secs(18),
        "deadline hit too early: 40 s + {took:?}"
    );
    // Back-off is capped at 300 s, so restarts keep rising after the deadline.
    w.run_for(Duration::from_secs(40), TICK, |_| {});
    assert!(max_restarts(&w, "processor") > early);
    let pod = &w.pods_of("app", "processor")[0];
    let cs = &pod["status"]["containerStatuses"][0];
    assert_eq!(cs["ready"], false);
    assert_eq!(pod["status"]["phase"], "Running");
    let state = cs["state"]["waiting"]["reason"]
        .as_str()
        .map(str::to_string);
    assert!(
        state.as_deref() == Some("CrashLoopBackOff") || cs["state"]["running"].is_object(),
        "{cs}"
    );
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
    assert_eq!(cs["lastState"]["terminated"]["reason"], "Error");
    // One BackOff event per pod, counted up, not repeated.
    let backoffs: Vec<Value> = w
        .all("v1", "Event")
        .into_iter()
        .filter(|e| {
            e["reason"] == "BackOff" && e["involvedObject"]["name"] == pod["metadata"]["name"]
        })
        .collect();
    assert_eq!(backoffs.len(), 1);
    assert!(backoffs[0]["count"].as_u64().unwrap() > 3);
    assert_eq!(backoffs[0]["type"], "Warning");
    assert!(
        meta::str_at(&backoffs[0], "/message").starts_with("Back-off restarting failed container")
    );
}

#[test]
fn rollout_to_a_bad_image_keeps_serving_per_max_unavailable() {
    let mut w = World::fast();
    w.apply(deployment("api", 4, "log/api:v1"));
    w.run_until(Duration::from_secs(30), TICK, |w| {
        available(&deploy(w, "api"))
    });
    set_image(&mut w, "api", "log/api:v2-crashloop");
    // 25% of 4: maxUnavailable 1 (rounded down), maxSurge 1 (rounded up).
    w.run_for(Duration::from_secs(30), TICK, |w| {
        let ready = ready_pods(w, "api");
        assert!(ready >= 3, "only {ready} ready pods during the rollout");
        let total = w.pods_of("app", "api").len();
        assert!(total <= 5, "{total} pods exceed replicas + maxSurge");
    });
    let rss = replica_sets(&w, "api");
    assert_eq!(rss.len(), 2);
    let new = rss
        .iter()
        .find(|r| r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2")
        .unwrap();
    assert!(meta::int_at(new, "/spec/replicas", 0) >= 1);
    let d = deploy(&w, "api");
    assert_eq!(condition(&d, "Available").unwrap()["status"], "True");
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
}

#[test]
fn rollout_to_a_good_image_completes_and_rollback_reuses_the_old_replica_set() {
    let mut w = World::fast();
    w.apply(deployment("api", 4, "log/api:v1"));
    w.run_until(Duration::from_secs(30), TICK, |w| {
        available(&deploy(w, "api"))
    });
    let first = meta::name(&replica_sets(&w, "api")[0]).to_string();
    set_image(&mut w, "api", "log/api:v2");
    w.run_until(Duration::from_secs(60), TICK, |w| {
        let d = deploy(w, "api");
        available(&d) && w.pods_of("app", "api").len() == 4
    });
    for rs in replica_sets(&w, "api") {
        let want = if meta::name(&rs) == first { 0 } else { 4 };
        assert_eq!(
            meta::int_at(&rs, "/spec/replicas", -1),
            want,
            "{}",
            meta::name(&rs)
        );
    }
    set_image(&mut w, "api", "log/api:v1");
    w.run_until(Duration::from_secs(60), TICK, |w| {
        available(&deploy(w, "api")) && w.pods_of("app", "api").len() == 4
    });
    let rs = w.get("apps/v1", "ReplicaSet", "log-platform", &first);
    assert_eq!(rs["spec"]["replicas"], 4);
    assert_eq!(
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "3"
    );
    assert_eq!(replica_sets(&w, "api").len(), 2);
}

#[test]
fn revision_history_limit_prunes_old_replica_sets() {
    let mut w = World::fast();
    let mut d = deployment("api", 1, "log/api:v1");
    d["spec"]["revisionHistoryLimit"] = json!(1);
    w.apply(d);
    for v in ["v2", "v3", "v4"] {
        w.run_until(Duration::from_secs(30), TICK, |w| {
            available(&deploy(w, "api"))
        });
        set_image(&mut w, "api", &format!("log/api:{v}"));
    }
    w.run_until(Duration::from_secs(30), TICK, |w| {
        available(&deploy(w, "api")) && replica_sets(w, "api").len() == 2
    });
    w.run_for(Duration::from_secs(2), TICK, |w| {
        assert_eq!(replica_sets(w, "api").len(), 2)
    });
}

#[test]
fn not_found_images_back_off_pulling() {
    let mut w = World::fast();
    w.apply(deployment("api", 1, "log/api:notfound"));
    w.run_until(Duration::from_secs(30), TICK, |w| {
        w.pods_of("app", "api").first().is_some_and(|p| {
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ImagePullBackOff"
        })
    });
    let pod = &w.pods_of("app", "api")[0];
    assert_eq!(pod["status"]["phase"], "Pending");
    assert_eq!(pod["status"]["containerStatuses"][0]["started"], false);
    let events = w.all("v1", "Event");
    assert!(
        events
            .iter()
            .any(|e| e["reason"] == "Failed" && e["message"] == "Error: ErrImagePull")
    );
    assert!(
        events
            .iter()
            .any(|e| e["reason"] == "BackOff" && e["type"] == "Normal")
    );
}

#[test]
fn unready_images_run_but_never_become_ready() {
    let mut w = World::fast();
    w.apply(deployment("api", 1, "log/api:v1-unready"));
    w.run_for(Duration::from_secs(20), TICK, |w| {
        for p in w.pods_of("app", "api") {
            assert!(!is_ready(&p));
        }
    });
    let pod = &w.pods_of("app", "api")[0];
    assert_eq!(pod["status"]["phase"], "Running");
    assert!(pod["status"]["containerStatuses"][0]["state"]["running"].is_object());
    let d = deploy(&w, "api");
    assert_eq!(condition(&d, "Available").unwrap()["status"], "False");
    let unhealthy = w
        .all("v1", "Event")
        .into_iter()
        .find(|e| e["reason"] == "Unhealthy")
        .unwrap();
    assert!(unhealthy["count"].as_u64().unwrap() >= 10);
}

#[test]
fn scaling_up_and_down() {
    let mut w = World::fast();
    w.apply(deployment("api", 2, "log/api:v1"));
    w.run_until(Duration::from_secs(30), TICK, |w| {
        available(&deploy(w, "api"))
    });
    for n in [5usize, 1, 0, 3] {
        let mut d = deploy(&w, "api");
        d["spec"]["replicas"] = json!(n);
        w.apply(d);
        w.run_until(Duration::from_secs(30), TICK, |w| {
            let d = deploy(w, "api");
            w.pods_of("app", "api").len() == n
                && ready_pods(w, "api") == n
                && meta::int_at(&d, "/status/readyReplicas", 0) == n as i64
                && meta::int_at(&d, "/status/replicas", 0) == n as i64
        });
    }
    let msgs: Vec<String> = w
        .all("v1", "Event")
        .iter()
        .filter(|e| e["reason"] == "ScalingReplicaSet")
        .map(|e| meta::str_at(e, "/message").to_string())
        .collect();
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("Scaled down replica set api-") && m.ends_with(" to 1")),
        "{msgs:?}"
    );
}

#[test]
fn paused_deployments_do_not_roll() {
    let mut w = World::fast();
    w.apply(deployment("api", 2, "log/api:v1"));
    w.run_until(Duration::from_secs(30), TICK, |w| {
        available(&deploy(w, "api"))
    });
    let mut d = deploy(&w, "api");
    d["spec"]["paused"] = json!(true);
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("log/api:v2");
    w.apply(d);
    w.run_for(Duration::from_secs(10), TICK, |_| {});
    assert_eq!(replica_sets(&w, "api").len(), 1);
    let d = deploy(&w, "api");
    assert_eq!(
        condition(&d, "Progressing").unwrap()["reason"],
        "DeploymentPaused"
    );
    let mut d = d;
    d["spec"]["paused"] = json!(false);
    w.apply(d);
    w.run_until(Duration::from_secs(30), TICK, |w| {
        available(&deploy(w, "api")) && replica_sets(w, "api").len() == 2
    });
}

#[test]
fn recreate_stops_old_pods_before_starting_new_ones() {
    let mut w = World::fast();
    let mut d = deployment("api", 3, "log/api:v1");
    d["spec"]["strategy"] = json!({"type": "Recreate"});
    w.apply(d);
    w.run_until(Duration::from_secs(30), TICK, |w| {
        available(&deploy(w, "api"))
    });
    set_image(&mut w, "api", "log/api:v2");
    w.run_for(Duration::from_secs(10), TICK, |w| {
        let images: std::collections::BTreeSet<String> = w
            .pods_of("app", "api")
            .iter()
            .map(|p| meta::str_at(p, "/spec/containers/0/image").to_string())
            .collect();
        assert!(images.len() <= 1, "old and new pods together: {images:?}");
    });
    assert!(available(&deploy(&w, "api")));
}
