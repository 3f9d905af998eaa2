//! Config fixtures (ARCHITECTURE.md, test layer 5): every file under
//! `tests/fixtures/config/valid/` loads with the values asserted here; every file under
//! `invalid/` fails with exactly the message in its sibling `.expect` file (which starts with
//! `LINE:COL:`; the fixture's path is prefixed here).

use std::path::{Path, PathBuf};
use std::time::Duration;

use driftdeck::config::{self, Config};

fn fixtures(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(kind)
}

fn load_valid(name: &str) -> Config {
    let path = fixtures("valid").join(name);
    config::load(&path).unwrap_or_else(|e| panic!("{name} should load: {e}"))
}

#[test]
fn valid_demo_config_has_three_stages_with_their_policies() {
    let c = load_valid("demo.yaml");
    let dir = fixtures("valid");
    assert_eq!(c.file, dir.join("demo.yaml"));
    assert_eq!(c.repo.url, dir.join("repo").to_string_lossy());
    assert!(!c.repo.is_remote());
    assert_eq!(c.repo.branch, "main");
    assert_eq!(c.repo.poll_interval, Duration::from_secs(30));
    assert_eq!(c.kubeconfig, Some(dir.join("kubeconfig")));
    assert_eq!(c.validation_timeout, Duration::from_secs(300));
    let names: Vec<&str> = c.environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["dev", "staging", "production"]);

    let dev = c.env("dev").unwrap();
    assert!(dev.auto_sync && dev.self_heal && dev.prune);
    assert!(!dev.protected && !dev.auto_rollback);
    assert_eq!(dev.path, Path::new("overlays/dev"));
    assert_eq!(dev.state_namespace, "log-platform");
    assert_eq!(dev.promote_from, None);

    let staging = c.env("staging").unwrap();
    assert!(!staging.auto_sync && !staging.self_heal && !staging.prune);
    assert_eq!(staging.promote_from.as_deref(), Some("dev"));

    let prod = c.env("production").unwrap();
    assert!(prod.protected && prod.auto_rollback && !prod.auto_sync);
    assert_eq!(prod.context, "production");

    assert_eq!(
        c.next_stage("dev").map(|e| e.name.as_str()),
        Some("staging")
    );
    assert_eq!(
        c.next_stage("staging").map(|e| e.name.as_str()),
        Some("production")
    );
    assert!(c.next_stage("production").is_none());
    assert!(c.env("qa").is_none());
}

#[test]
fn valid_block_style_config_keeps_remote_url_and_reads_every_option() {
    let c = load_valid("remote-block-style.yaml");
    assert_eq!(c.repo.url, "git@github.com:acme/platform-gitops.git");
    assert!(c.repo.is_remote());
    assert_eq!(c.repo.branch, "release");
    assert_eq!(c.repo.poll_interval, Duration::from_secs(90));
    assert_eq!(c.validation_timeout, Duration::from_secs(600));
    assert_eq!(c.kubeconfig, None);

    let qa = c.env("qa").unwrap();
    assert_eq!(qa.path, Path::new("clusters/qa"));
    assert_eq!(qa.namespace, "payments");
    assert_eq!(qa.state_namespace, "driftdeck-system");
    assert!(qa.auto_sync && !qa.self_heal);
    let renderer = qa.renderer.as_ref().unwrap();
    assert_eq!(
        renderer.command,
        ["kustomize", "build", "--enable-helm", "."]
    );
    assert_eq!(qa.ignore_differences.len(), 2);
    let first = &qa.ignore_differences[0];
    assert_eq!(first.group.as_deref(), Some("apps"));
    assert_eq!(first.kind, "Deployment");
    assert_eq!(first.name.as_deref(), Some("payments-api"));
    assert_eq!(first.json_pointers, ["/spec/replicas"]);
    let second = &qa.ignore_differences[1];
    assert_eq!(second.group, None);
    assert_eq!(second.namespace.as_deref(), Some("payments"));
    assert_eq!(second.managers, ["kube-controller-manager"]);

    let prod = c.env("prod-eu-1").unwrap();
    assert_eq!(prod.path, Path::new("clusters/prod-eu-1"));
    assert_eq!(prod.context, "gke_acme_europe-west1_prod");
    assert_eq!(prod.promote_from.as_deref(), Some("qa"));
    assert!(prod.protected && !prod.auto_rollback);
    assert!(prod.renderer.is_none());
    assert_eq!(
        c.next_stage("qa").map(|e| e.name.as_str()),
        Some("prod-eu-1")
    );
}

#[test]
fn valid_minimal_config_takes_defaults() {
    let c = load_valid("minimal.yaml");
    let parent = fixtures("valid").parent().unwrap().join("gitops");
    assert_eq!(c.repo.url, parent.to_string_lossy());
    assert_eq!(c.repo.branch, "main");
    assert_eq!(c.repo.poll_interval, Duration::from_secs(30));
    assert_eq!(c.validation_timeout, Duration::from_secs(300));
    let local = c.env("local").unwrap();
    assert_eq!(local.path, Path::new("."));
    assert_eq!(local.state_namespace, "default");
    assert!(!local.auto_sync && !local.self_heal && !local.prune);
    assert!(!local.protected && !local.auto_rollback);
    assert!(local.ignore_differences.is_empty() && local.renderer.is_none());
}

#[test]
fn valid_engines_config_names_each_envs_engine_with_defaults() {
    use driftdeck::config::EngineSpec;
    let c = load_valid("engines.yaml");
    let engine = |name: &str| c.env(name).unwrap().engine.clone();
    assert_eq!(engine("dev"), EngineSpec::Driftdeck);
    assert_eq!(engine("plain"), EngineSpec::Driftdeck);
    assert_eq!(
        engine("prod-eu"),
        EngineSpec::ArgoCd {
            application: "api".into(),
            namespace: "argo".into()
        }
    );
    assert_eq!(
        engine("edge"),
        EngineSpec::ArgoCd {
            application: "edge-api".into(),
            namespace: "argocd".into()
        }
    );
    assert_eq!(
        engine("apps"),
        EngineSpec::Flux {
            kustomization: "apps".into(),
            namespace: "flux-system".into()
        }
    );
    // An engine env needs neither path nor namespace: the CR's namespace stands in.
    let prod = c.env("prod-eu").unwrap();
    assert_eq!(prod.path, Path::new("."));
    assert_eq!(prod.namespace, "argo");
    assert_eq!(prod.state_namespace, "argo");
    assert!(prod.protected);
    assert_eq!(c.env("apps").unwrap().namespace, "flux-system");
}

#[test]
fn every_valid_fixture_is_asserted() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures("valid"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "demo.yaml",
            "engines.yaml",
            "minimal.yaml",
            "remote-block-style.yaml"
        ]
    );
}

#[test]
fn invalid_fixtures_fail_with_their_expected_message() {
    let dir = fixtures("invalid");
    let mut yaml: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    yaml.sort();
    assert!(yaml.len() >= 12, "only {} invalid fixtures", yaml.len());
    let mut mismatches = Vec::new();
    for path in &yaml {
        let expect_file = path.with_extension("expect");
        let expected = std::fs::read_to_string(&expect_file)
            .map(|s| format!("{}:{}", path.display(), s.trim_end()))
            .unwrap_or_else(|_| format!("<missing {}>", expect_file.display()));
        match config::load(path) {
            Ok(_) => mismatches.push(format!("{}: loaded but should fail", path.display())),
            Err(e) => {
                let got = e.to_string();
                let pos = e.pos().unwrap();
                assert!(pos.line > 0, "{got}: no line");
                if got != expected {
                    mismatches.push(format!("expected {expected}\n     got {got}"));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}

#[test]
fn every_expect_file_has_its_fixture() {
    for entry in std::fs::read_dir(fixtures("invalid")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "expect") {
            assert!(
                path.with_extension("yaml").is_file(),
                "{} has no fixture",
                path.display()
            );
        }
    }
}
