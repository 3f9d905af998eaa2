//! One policy for every entry point, seen from the CLI: on a protected env, `sync`,
//! `rollback`, `resume` and `promote … --yes` without `--confirm ENV` exit 2, say what they would
//! have done, and change nothing — neither the cluster (live objects, cluster-held state) nor
//! Git; a promotion that skips the env's `promote_from` exits 2 unless `--force`, and a forced
//! one is recorded in the commit.

use crate::controller_support::{API_IMAGE, Deck, ENVS, Policy};

/// What an unconfirmed verb must leave as it was.
#[derive(Debug, PartialEq)]
struct Unchanged {
    head: String,
    production_image: Option<String>,
    production_history: usize,
    production_hold: serde_json::Value,
    production_paused: serde_json::Value,
}

fn observe(deck: &Deck) -> Unchanged {
    Unchanged {
        head: deck.head(),
        production_image: deck.live_image("production", "log-api"),
        production_history: deck.history("production").len(),
        production_hold: deck.held_key("production", "hold"),
        production_paused: deck.held_key("production", "paused"),
    }
}

#[tokio::test]
async fn unconfirmed_protected_verbs_exit_2_say_what_they_would_do_and_change_nothing() {
    let deck = Deck::start(&[]).await;
    deck.sync_ok("staging").await;
    deck.sync_ok("production").await;
    deck.commit_tag("production", API_IMAGE, "1.4.9");
    deck.sync_ok("production").await;
    // Production's head now differs from what runs (a sync would change something) and it has
    // an earlier good revision (a rollback has a target).
    deck.commit_tag("production", API_IMAGE, "1.5.0");
    deck.run(&["pause", "production", "--reason", "guard test"])
        .await
        .ok("pause production needs no confirmation");
    let before = observe(&deck);

    let cases: [(&[&str], &str); 5] = [
        (&["sync", "production"], "would sync production to "),
        (
            &["rollback", "production"],
            "would roll back production from ",
        ),
        (
            &["resume", "production"],
            "would resume production: end the pause by",
        ),
        (
            &["promote", "staging", "production", "--yes"],
            "would commit a promotion staging → production",
        ),
        (
            &["sync", "production", "--confirm", "staging"],
            "\"staging\" does not match",
        ),
    ];
    for (args, plan) in cases {
        let run = deck.run(args).await;
        assert_eq!(run.code, 2, "{args:?} must exit 2: {run:#?}");
        assert!(
            run.stderr.contains(plan),
            "{args:?} must say {plan:?}: {run:#?}"
        );
        assert!(
            run.stderr.contains("--confirm production"),
            "{args:?} must say how to confirm: {run:#?}"
        );
        assert!(run.stderr.contains("nothing was changed"), "{run:#?}");
        assert_eq!(observe(&deck), before, "{args:?} changed something");
    }
}

#[tokio::test]
async fn promotion_skipping_promote_from_exits_2_unless_forced_and_the_force_is_recorded() {
    let deck = Deck::start(&[(
        "production",
        Policy {
            protected: true,
            ..Policy::OFF
        },
    )])
    .await;
    deck.sync_ok("dev").await;
    let before = deck.head();
    let args = [
        "promote",
        "dev",
        "production",
        "--yes",
        "--confirm",
        "production",
    ];
    let run = deck.run(&args).await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr
            .contains("production takes promotions from staging, not dev"),
        "{run:#?}"
    );
    assert_eq!(deck.head(), before, "a refused promotion committed");

    let mut forced = args.to_vec();
    forced.push("--force");
    let run = deck.run(&forced).await.ok("promote --force");
    let head = deck.head();
    assert_ne!(head, before);
    assert!(
        run.stdout.contains(&format!("committed {}", &head[..7])),
        "{run:#?}"
    );
    let (_, message) = deck.commit_info(&head);
    assert!(
        message.contains("Driftdeck-Forced: forced: production takes promotions from staging"),
        "{message}"
    );
    assert!(message.contains("Driftdeck-Operator: "), "{message}");
    let audit = std::fs::read_to_string(deck.audit_log()).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("promote --force") && l.contains("dev→production")),
        "{audit}"
    );
}

/// Every env's cluster-held state: its pause, and the whole ConfigMap (hold, history, …).
type Held = Vec<(
    &'static str,
    serde_json::Value,
    Option<std::collections::BTreeMap<String, String>>,
)>;

fn held_everywhere(deck: &Deck) -> Held {
    ENVS.iter()
        .map(|env| (*env, deck.held_key(env, "paused"), deck.held(env)))
        .collect()
}

#[tokio::test]
async fn resume_all_without_every_protected_name_resumes_no_env_at_all() {
    let deck = Deck::start(&[]).await;
    deck.run(&["pause", "--all", "--reason", "fan-out guard test"])
        .await
        .ok("pause --all needs no confirmation, production included");
    let before = held_everywhere(&deck);
    for (env, paused, _) in &before {
        assert_eq!(
            paused["reason"], "fan-out guard test",
            "{env} not paused: {before:#?}"
        );
    }

    for args in [
        &["resume", "--all"][..],
        &["resume", "--all", "--confirm", "staging"][..],
    ] {
        let run = deck.run(args).await;
        assert_eq!(run.code, 2, "{args:?} must exit 2: {run:#?}");
        assert_eq!(
            held_everywhere(&deck),
            before,
            "{args:?} changed cluster-held state: {run:#?}"
        );
        let refusal = "production is protected: add --confirm production; nothing was changed";
        assert_eq!(
            run.stderr.matches(refusal).count(),
            1,
            "{args:?} must say once which flag is missing: {run:#?}"
        );
        assert!(
            !run.stdout.contains("resumed"),
            "{args:?} reported a resume: {run:#?}"
        );
    }

    let run = deck
        .run(&["resume", "--all", "--confirm", "production"])
        .await
        .ok("resume --all --confirm production");
    for env in ENVS {
        assert!(run.stdout.contains(&format!("resumed {env}")), "{run:#?}");
        assert!(
            deck.held_key(env, "paused").is_null(),
            "{env} still paused: {:#?}",
            held_everywhere(&deck)
        );
    }
}
