//! Errors where the operator looks, against the sandbox and the real binary: a Git remote that
//! went away shows in `status -o json` as every env's `error`, with the last good revision kept
//! and named, and is cleared by the first status after it is back; the console and watch mode,
//! running in tmux, show the same error while it lasts and drop it after the next poll; an
//! empty render is refused by `sync` with exit 1 and the reason, and nothing is applied.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::controller_support::{Deck, Policy};
use crate::tmux_support::{Tmux, shell_quote};

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

/// `driftdeck [VERB] --config …` of `deck` in a tmux session of its own (120×36).
fn in_tmux(deck: &Deck, prefix: &str, session: &'static str, verb: &[&str]) -> Tmux {
    let tmux = Tmux::new(prefix, session);
    let script = format!(
        "env {} TERM=xterm-256color NO_COLOR=1 {bin} --config {cfg} {verb}; echo EXITED=$?; sleep 600",
        deck.env_words(),
        bin = shell_quote(Path::new(env!("CARGO_BIN_EXE_driftdeck"))),
        cfg = shell_quote(&deck.config()),
        verb = verb.join(" "),
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "120",
        "-y",
        "36",
        &script,
    ]);
    tmux
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_that_went_away_shows_in_the_console_and_watch_until_it_is_back() {
    let deck = Deck::start(&[]).await;
    use_remote(&deck);
    let short = driftdeck::model::short_sha(&deck.head()).to_owned();
    let console = in_tmux(&deck, "driftdeck-gitgone-console", "console", &[]);
    let watch = in_tmux(&deck, "driftdeck-gitgone-watch", "watch", &["watch"]);
    let limit = Duration::from_secs(60);
    // What each view shows of dev: the console its head revision, watch its tile.
    let views = [
        ("console", &console, short.clone()),
        ("watch", &watch, "DEV".to_owned()),
    ];
    for (what, tmux, dev) in &views {
        tmux.wait_for(&format!("{what}: dev shown"), limit, |s| {
            s.contains(dev.as_str()) && !s.contains("EXITED")
        });
    }

    let moved = deck.repo().with_file_name("repo-moved");
    std::fs::rename(deck.repo(), &moved).unwrap();
    // The config polls every second: the error shows after the next fetch, the last good
    // revision stays on screen.
    for (what, tmux, dev) in &views {
        let screen = tmux.wait_for(&format!("{what}: the fetch error"), limit, |s| {
            s.contains("fetch")
        });
        assert!(
            screen.contains(dev.as_str()),
            "{what} keeps showing dev:\n{screen}"
        );
    }
    let screen = console.screen();
    assert!(
        screen.contains(&format!("last good revision {short}")),
        "the console names the revision it still shows:\n{screen}"
    );

    std::fs::rename(&moved, deck.repo()).unwrap();
    for (what, tmux, dev) in &views {
        tmux.wait_for(&format!("{what}: the error cleared"), limit, |s| {
            !s.contains("fetch") && s.contains(dev.as_str())
        });
    }
}
