//! A resource removed from Git (the log-api Ingress) is deleted by a
//! sync with prune on, stays and shows as Extra with prune off (until `sync --prune`), and an
//! empty render never prunes anything and says why.

use crate::controller_support::{Deck, Policy, env_status};

const INGRESS: (&str, &str, &str) = ("networking.k8s.io", "ingresses", "log-api");

fn ingress_live(deck: &Deck) -> bool {
    deck.live("dev", INGRESS.0, INGRESS.1, INGRESS.2).is_some()
}

/// Commits base/ without the Ingress; returns the sha.
fn remove_ingress(deck: &Deck) -> String {
    let path = "base/kustomization.yaml";
    let old = deck.file_at("main", path).unwrap();
    let new: String = old
        .lines()
        .filter(|l| !l.contains("log-api-ingress.yaml"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(old, new);
    deck.commit(
        &[(path, Some(new)), ("base/log-api-ingress.yaml", None)],
        "Drop the log-api Ingress",
    )
}

#[tokio::test]
async fn prune_on_deletes_a_resource_removed_from_git() {
    let pruning = Policy {
        prune: true,
        ..Policy::OFF
    };
    let deck = Deck::start(&[("dev", pruning)]).await;
    deck.sync_ok("dev").await;
    assert!(ingress_live(&deck));

    remove_ingress(&deck);
    deck.sync_ok("dev").await;
    assert!(!ingress_live(&deck), "the removed Ingress was not pruned");
    let got = deck.kubectl("dev", &["get", "ingress", "log-api"]).await;
    assert_ne!(got.code, 0, "kubectl still finds the Ingress: {got:#?}");
    assert!(
        deck.live_image("dev", "log-api").is_some(),
        "pruned too much"
    );
}

#[tokio::test]
async fn prune_off_keeps_a_removed_resource_as_extra_until_sync_prune() {
    let deck = Deck::start(&[]).await;
    deck.sync_ok("dev").await;
    remove_ingress(&deck);
    deck.sync_ok("dev").await;
    assert!(
        ingress_live(&deck),
        "prune is off, yet the Ingress was deleted"
    );

    let status = deck.status().await;
    let dev = env_status(&status, "dev");
    assert_eq!(dev["drift"]["extra"], 1, "{dev:#}");
    let diff = deck.run(&["diff", "dev"]).await;
    assert_eq!(diff.code, 1, "{diff:#?}");
    assert!(diff.stdout.contains("log-api"), "{diff:#?}");

    deck.run(&["sync", "dev", "--prune"])
        .await
        .ok("sync --prune");
    assert!(!ingress_live(&deck), "sync --prune left the Ingress");
    let status = deck.status().await;
    assert_eq!(
        env_status(&status, "dev")["drift"]["extra"],
        0,
        "{status:#}"
    );
}

#[tokio::test]
async fn an_empty_render_never_prunes_and_says_why() {
    let pruning = Policy {
        prune: true,
        ..Policy::OFF
    };
    let deck = Deck::start(&[("dev", pruning)]).await;
    deck.sync_ok("dev").await;
    let empty = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n";
    deck.commit(
        &[("overlays/dev/kustomization.yaml", Some(empty.to_string()))],
        "Oops: an empty overlay",
    );

    let run = deck.run(&["sync", "dev"]).await;
    let said = format!("{}{}", run.stdout, run.stderr).to_lowercase();
    assert!(
        said.contains("empty"),
        "the sync must say the render is empty: {run:#?}"
    );
    for deployment in ["log-api", "log-processor", "log-collector"] {
        assert!(
            deck.live_image("dev", deployment).is_some(),
            "an empty render pruned {deployment}: {run:#?}"
        );
    }
    assert!(ingress_live(&deck));
}
