//! `--read-only` refuses every mutating verb in the
//! controller with a clear error (exit 1, `driftdeck: read-only: <verb> refused …`), records the
//! refusal in the audit log, and changes nothing; read-only verbs still work.

use crate::controller_support::{API_IMAGE, Deck};

#[tokio::test]
async fn read_only_refuses_every_mutating_verb_and_changes_nothing() {
    let deck = Deck::start(&[]).await;
    deck.sync_ok("dev").await;
    deck.sync_ok("staging").await;
    deck.commit_tag("dev", API_IMAGE, "1.5.0");
    let head = deck.head();
    let held = deck.held("dev");
    let live = deck.live_image("dev", "log-api");
    let audit_lines = |deck: &Deck| {
        std::fs::read_to_string(deck.audit_log())
            .unwrap_or_default()
            .lines()
            .count()
    };
    let audited = audit_lines(&deck);

    let verbs: [&[&str]; 8] = [
        &["sync", "dev"],
        &["sync", "dev", "--prune"],
        &["promote", "dev", "staging", "--yes"],
        &["rollback", "dev"],
        &["pause", "dev"],
        &["pause", "--all"],
        &["resume", "dev"],
        &["resume", "--all"],
    ];
    for args in verbs {
        let mut all = vec!["--read-only"];
        all.extend_from_slice(args);
        let run = deck.run(&all).await;
        assert_eq!(run.code, 1, "{all:?}: {run:#?}");
        assert!(
            run.says(&format!("driftdeck: read-only: {} refused", args[0])),
            "{all:?}: {run:#?}"
        );
    }

    assert_eq!(deck.head(), head, "a refused verb committed");
    assert_eq!(
        deck.held("dev"),
        held,
        "a refused verb wrote dev's held state"
    );
    assert_eq!(
        deck.live_image("dev", "log-api"),
        live,
        "a refused sync applied"
    );
    let audit = std::fs::read_to_string(deck.audit_log()).unwrap_or_default();
    assert!(
        audit_lines(&deck) >= audited + verbs.len(),
        "each refusal is one audit line:\n{audit}"
    );
    for line in audit.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("audit line is not JSON ({e}): {line}"));
    }

    // What does not mutate still runs.
    let dry = deck
        .run(&["--read-only", "sync", "dev", "--dry-run"])
        .await
        .ok("read-only dry-run");
    assert!(
        dry.stdout.contains("1.5.0"),
        "the dry-run shows the change: {dry:#?}"
    );
    deck.run(&["--read-only", "promote", "staging", "production"])
        .await
        .ok("read-only promote preview");
    assert_eq!(deck.head(), head);
    assert_eq!(deck.live_image("dev", "log-api"), live);
}
