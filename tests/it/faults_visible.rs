//! Errors where the operator looks, against the sandbox and the real binary: a Git remote that
//! went away shows in `status -o json` as every env's `error`, with the last good revision kept
//! and named, and is cleared by the first status after it is back; an empty render is refused
//! by `sync` with exit 1 and the reason, and nothing is applied.

use serde_json::Value;

use crate::controller_support::{Deck, Policy};

/// Points the written config at the repo through a `file://` remote (a cached clone is made).
fn use_remote(deck: &Deck) {
    let text = std::fs::read_to_string(deck.config()).unwrap();
    let local = serde_json::to_string(&deck.repo().display().to_string()).unwrap();
    let remote = serde_json::to_string(&format!("file://{}", deck.repo().display())).unwrap();
    assert!(text.contains(&local), "{text}");
    std::fs::write(deck.config(), text.replace(&local, &remote)).unwrap();
}

fn env<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["environments"]
        .as_array()
        .and_then(|envs| envs.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("no env {name} in {status:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_that_went_away_shows_in_status_with_the_last_good_revision() {
    let deck = Deck::start(&[]).await;
    use_remote(&deck);
    let head = deck.head();
    let before = deck.status().await;
    assert_eq!(env(&before, "dev")["revision"], head.as_str(), "{before:#}");
    assert_eq!(env(&before, "dev")["error"], Value::Null, "{before:#}");

    let moved = deck.repo().with_file_name("repo-moved");
    std::fs::rename(deck.repo(), &moved).unwrap();
    let during = deck.status().await;
    for name in ["dev", "staging", "production"] {
        let e = env(&during, name);
        let error = e["error"].as_str().unwrap_or_default();
        assert!(error.contains("fetch"), "{name}: {e:#}");
        assert!(
            error.contains(driftdeck::model::short_sha(&head)),
            "{name}: the error names the revision still shown: {e:#}"
        );
        assert_eq!(
            e["revision"],
            head.as_str(),
            "{name} keeps the last good revision"
        );
    }

    std::fs::rename(&moved, deck.repo()).unwrap();
    let after = deck.status().await;
    assert_eq!(env(&after, "dev")["error"], Value::Null, "{after:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_render_is_refused_with_exit_1_and_its_reason() {
    let deck = Deck::start(&[("dev", Policy::OFF)]).await;
    deck.sync_ok("dev").await;
    let image = deck.live_image("dev", "log-api");
    assert!(image.is_some());
    deck.commit(
        &[(
            "overlays/dev/kustomization.yaml",
            Some(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"
                    .into(),
            ),
        )],
        "dev: render nothing",
    );
    let run = deck.run(&["sync", "dev"]).await;
    assert_eq!(run.code, 1, "{run:#?}");
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(said.contains("renders no objects"), "{run:#?}");
    assert!(said.contains("allow_empty"), "{run:#?}");
    // Nothing was pruned or changed.
    assert_eq!(deck.live_image("dev", "log-api"), image);
}
