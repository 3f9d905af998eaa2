//! `promote dev staging` previews the rendered diff and changes
//! nothing; with `--yes` it makes exactly one commit touching only staging's files, naming old
//! and new versions, and does not sync staging; it is refused while dev is Degraded (unless
//! `--force`); a protected production needs `--confirm production`.

use crate::controller_support::{API_IMAGE, Deck, Policy, tag_of};

const PROCESSOR: &str = "ghcr.io/driftdeck-demo/log-processor";
const COLLECTOR: &str = "ghcr.io/driftdeck-demo/log-collector";

/// Asserts `sha` is one commit on `parent` touching only files under `dir`; returns its message.
fn one_commit_under(deck: &Deck, parent: &str, sha: &str, dir: &str) -> String {
    let (parents, message) = deck.commit_info(sha);
    assert_eq!(parents, vec![parent.to_string()], "exactly one new commit");
    let files = deck.changed_files(parent, sha);
    assert!(!files.is_empty(), "the promotion commit changes nothing");
    assert!(
        files.iter().all(|f| f.starts_with(dir)),
        "files outside {dir}: {files:?}"
    );
    message
}

#[tokio::test]
async fn promote_previews_then_commits_once_touching_only_staging() {
    let deck = Deck::start(&[]).await;
    deck.sync_ok("dev").await;
    deck.sync_ok("staging").await;
    let before = deck.head();
    let staging_processor = || deck.live_image("staging", "log-processor");
    assert_eq!(staging_processor(), Some(format!("{PROCESSOR}:2.0.1")));

    // Preview: message and the rendered diff staging would get; nothing changes.
    let run = deck
        .run(&["promote", "dev", "staging"])
        .await
        .ok("promote preview");
    assert!(run.stdout.contains("promote(dev→staging)"), "{run:#?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with('-') && l.contains(&format!("{PROCESSOR}:2.0.1"))),
        "no rendered removal of the old image: {run:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with('+') && l.contains(&format!("{PROCESSOR}:2.1.0"))),
        "no rendered addition of the new image: {run:#?}"
    );
    assert_eq!(deck.head(), before, "the preview committed");

    // --yes: one commit, staging's files only, old and new versions in the message.
    let run = deck
        .run(&["promote", "dev", "staging", "--yes"])
        .await
        .ok("promote --yes");
    let head = deck.head();
    assert_ne!(head, before);
    assert!(
        run.stdout.contains(&format!("committed {}", &head[..7])),
        "{run:#?}"
    );
    let message = one_commit_under(&deck, &before, &head, "overlays/staging/");
    assert!(message.starts_with("promote(dev→staging)"), "{message}");
    assert!(
        message.contains("2.0.1") && message.contains("2.1.0"),
        "{message}"
    );
    let staging = deck
        .file_at(&head, "overlays/staging/kustomization.yaml")
        .unwrap();
    let dev = deck
        .file_at(&head, "overlays/dev/kustomization.yaml")
        .unwrap();
    for image in [API_IMAGE, PROCESSOR, COLLECTOR] {
        assert_eq!(tag_of(&staging, image), tag_of(&dev, image), "{image}");
    }
    // Promote commits; it does not sync staging (staging's automation or `sync` does).
    assert_eq!(staging_processor(), Some(format!("{PROCESSOR}:2.0.1")));

    let audit = std::fs::read_to_string(deck.audit_log()).unwrap_or_default();
    assert!(
        audit
            .lines()
            .any(|l| serde_json::from_str::<serde_json::Value>(l)
                .is_ok_and(|v| v["action"] == "promote")),
        "no promote line in the audit log:\n{audit}"
    );
}

#[tokio::test]
async fn promote_is_refused_while_dev_is_degraded_unless_forced() {
    let deck = Deck::start(&[]).await;
    deck.sync_ok("staging").await;
    deck.commit_tag("dev", PROCESSOR, "2.2.0-crashloop");
    let run = deck.run(&["sync", "dev"]).await;
    assert_eq!(run.code, 1, "dev's crashloop sync must fail: {run:#?}");
    let before = deck.head();

    let run = deck.run(&["promote", "dev", "staging", "--yes"]).await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.says("driftdeck: "), "{run:#?}");
    assert!(
        run.stderr.contains("Degraded") || run.stderr.contains("Healthy"),
        "the refusal must say why: {run:#?}"
    );
    assert_eq!(deck.head(), before, "a refused promotion committed");

    let run = deck
        .run(&["promote", "dev", "staging", "--yes", "--force"])
        .await
        .ok("promote --force");
    let head = deck.head();
    assert!(
        run.stdout.contains(&format!("committed {}", &head[..7])),
        "{run:#?}"
    );
    one_commit_under(&deck, &before, &head, "overlays/staging/");
}

#[tokio::test]
async fn promote_to_protected_production_needs_confirm_production() {
    let deck = Deck::start(&[(
        "production",
        Policy {
            protected: true,
            ..Policy::OFF
        },
    )])
    .await;
    deck.sync_ok("staging").await;
    let before = deck.head();

    for extra in [&[][..], &["--confirm", "staging"][..]] {
        let mut args = vec!["promote", "staging", "production", "--yes"];
        args.extend_from_slice(extra);
        let run = deck.run(&args).await;
        assert_eq!(
            run.code, 2,
            "{args:?}: an unconfirmed guard exits 2: {run:#?}"
        );
        assert!(
            run.says("driftdeck: ")
                && run.stderr.contains("confirm")
                && run.stderr.contains("production"),
            "{args:?} must name the confirmation it needs: {run:#?}"
        );
        assert_eq!(deck.head(), before, "{args:?} committed");
    }

    let run = deck
        .run(&[
            "promote",
            "staging",
            "production",
            "--yes",
            "--confirm",
            "production",
        ])
        .await
        .ok("promote --confirm production");
    let head = deck.head();
    assert!(
        run.stdout.contains(&format!("committed {}", &head[..7])),
        "{run:#?}"
    );
    let message = one_commit_under(&deck, &before, &head, "overlays/production/");
    assert!(
        message.starts_with("promote(staging→production)"),
        "{message}"
    );
    assert!(
        message.contains("1.4.1") && message.contains("1.4.2"),
        "{message}"
    );
}
