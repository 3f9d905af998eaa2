//! Promotion's Git half on real repositories: the demo repo (`driftdeck demo init`) promoting
//! dev → staging and staging → production, the preview that writes nothing, "nothing to
//! promote", a plain-YAML env, and a promotion pushed to a bare `file://` remote.

use std::path::{Path, PathBuf};
use std::process::Command;

use driftdeck::config::{self, Config, EnvConfig};
use driftdeck::controller::desired;
use driftdeck::controller::engine::ImageChange;
use driftdeck::controller::promote::{PromoteError, commit_promotion, plan_promotion};
use driftdeck::model::Manifest;
use driftdeck::source::{Author, Edit, RepoSpec, Source};
use serde_json::Value;
use tempfile::TempDir;

fn me() -> Author {
    Author {
        name: "Ops Bot".into(),
        email: "ops@example.com".into(),
    }
}

/// `driftdeck demo init` into a temp dir: (tempdir, config).
pub fn demo() -> (TempDir, Config) {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .args(["demo", "init"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = config::load(&dir.join("driftdeck.yaml")).unwrap();
    (tmp, config)
}

pub fn env<'c>(config: &'c Config, name: &str) -> &'c EnvConfig {
    config.environments.iter().find(|e| e.name == name).unwrap()
}

fn open(url: &str, cache: &Path) -> Source {
    Source::open(
        &RepoSpec {
            url: url.to_owned(),
            branch: "main".into(),
        },
        cache,
    )
    .unwrap()
}

fn render(source: &Source, env: &EnvConfig, rev: Option<&str>) -> Vec<Manifest> {
    desired(source, env, rev).unwrap().rendered.manifests
}

/// Every container image in the manifests, in order.
fn images(manifests: &[Manifest]) -> Vec<String> {
    let mut out = Vec::new();
    for m in manifests {
        let spec = &m.object()["spec"]["template"]["spec"];
        for list in ["initContainers", "containers"] {
            for c in spec[list].as_array().into_iter().flatten() {
                out.push(c["image"].as_str().unwrap().to_owned());
            }
        }
    }
    out
}

/// The manifests with `image` set to `to` wherever a container runs `from`.
fn with_image(manifests: &[Manifest], from: &str, to: &str) -> Vec<Value> {
    manifests
        .iter()
        .map(|m| {
            let mut obj = m.object().clone();
            for list in ["initContainers", "containers"] {
                let at = format!("/spec/template/spec/{list}");
                if let Some(cs) = obj.pointer_mut(&at).and_then(Value::as_array_mut) {
                    for c in cs {
                        if c["image"] == from {
                            c["image"] = Value::String(to.to_owned());
                        }
                    }
                }
            }
            obj
        })
        .collect()
}

fn objects(manifests: &[Manifest]) -> Vec<Value> {
    manifests.iter().map(|m| m.object().clone()).collect()
}

const PROCESSOR: &str = "ghcr.io/driftdeck-demo/log-processor";

#[test]
fn promote_dev_to_staging_on_the_demo_is_one_commit_touching_only_staging() {
    let (_tmp, config) = demo();
    let source = driftdeck::controller::open_source(&config).unwrap();
    let (dev, staging) = (env(&config, "dev"), env(&config, "staging"));
    let before = source.resolve(None).unwrap().sha;
    let staging_before = render(&source, staging, None);
    let dev_before = render(&source, dev, None);

    let (published, plan) =
        commit_promotion(&source, dev, "HEAD", staging, None, None, &me()).unwrap();

    assert!(!published.pushed, "a local repo is not pushed");
    assert_eq!(plan.from_revision, before);
    assert_eq!(plan.base_revision, before);
    assert_eq!(
        plan.changes,
        vec![ImageChange {
            image: "log-processor".into(),
            old: Some("2.0.1".into()),
            new: "2.1.0".into(),
        }]
    );
    assert_eq!(
        published.summary,
        "promote(dev→staging): log-processor 2.0.1 → 2.1.0"
    );
    // Exactly one commit, on top of the old head, touching only staging's kustomization.
    let head = source.resolve(None).unwrap().sha;
    assert_eq!(head, published.sha);
    assert_eq!(source.resolve(Some("HEAD^")).unwrap().sha, before);
    let commit = source.commit(&head).unwrap();
    assert_eq!(commit.files, vec!["overlays/staging/kustomization.yaml"]);
    assert_eq!(commit.author, crate::publish::configured_user("Ops Bot"));

    // The file changed in one line: comments, order and the rest are kept.
    let read = |rev: &str| {
        String::from_utf8(
            source
                .tree(rev)
                .unwrap()
                .read("overlays/staging/kustomization.yaml")
                .unwrap(),
        )
        .unwrap()
    };
    let (old_text, new_text) = (read(&before), read(&head));
    let changed: Vec<(&str, &str)> = old_text
        .lines()
        .zip(new_text.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed, vec![("    newTag: 2.0.1", "    newTag: 2.1.0")]);
    assert_eq!(old_text.lines().count(), new_text.lines().count());

    // Staging now runs dev's images and nothing else changed; the plan showed exactly that.
    let staging_after = render(&source, staging, None);
    assert_eq!(
        objects(&staging_after),
        with_image(
            &staging_before,
            &format!("{PROCESSOR}:2.0.1"),
            &format!("{PROCESSOR}:2.1.0")
        )
    );
    let mut dev_images = images(&dev_before);
    let mut staging_images = images(&staging_after);
    dev_images.sort();
    staging_images.sort();
    assert_eq!(staging_images, dev_images);
    assert_eq!(objects(&plan.rendered), objects(&staging_after));
    assert_eq!(objects(&render(&source, dev, None)), objects(&dev_before));

    // A second promotion finds nothing to do and writes nothing.
    let err = commit_promotion(&source, dev, "HEAD", staging, None, None, &me()).unwrap_err();
    assert!(
        matches!(err, PromoteError::NothingToPromote { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "nothing to promote: staging already has dev's image versions"
    );
    assert_eq!(source.resolve(None).unwrap().sha, head);
}

#[test]
fn promote_staging_to_production_names_every_changed_image() {
    let (_tmp, config) = demo();
    let source = driftdeck::controller::open_source(&config).unwrap();
    let (staging, production) = (env(&config, "staging"), env(&config, "production"));
    let (published, plan) = commit_promotion(
        &source,
        staging,
        "HEAD",
        production,
        Some("release 2026-11-22"),
        None,
        &me(),
    )
    .unwrap();
    assert_eq!(published.summary, "release 2026-11-22");
    let names: Vec<(&str, Option<&str>, &str)> = plan
        .changes
        .iter()
        .map(|c| (c.image.as_str(), c.old.as_deref(), c.new.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("log-api", Some("1.4.1"), "1.4.2"),
            ("log-collector", Some("0.9.2"), "0.9.3"),
        ]
    );
    let commit = source.commit(&published.sha).unwrap();
    assert_eq!(commit.files, vec!["overlays/production/kustomization.yaml"]);
}

#[test]
fn the_preview_writes_nothing() {
    let (_tmp, config) = demo();
    let source = driftdeck::controller::open_source(&config).unwrap();
    let repo_dir = PathBuf::from(&config.repo.url);
    let repo = git2::Repository::open(&repo_dir).unwrap();
    let refs = |repo: &git2::Repository| -> Vec<(String, String)> {
        repo.references()
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                (
                    r.name().unwrap().to_owned(),
                    r.target().map(|t| t.to_string()).unwrap_or_default(),
                )
            })
            .collect()
    };
    let refs_before = refs(&repo);
    let file = repo_dir.join("overlays/staging/kustomization.yaml");
    let disk_before = std::fs::read(&file).unwrap();

    let plan = plan_promotion(
        &source,
        env(&config, "dev"),
        "HEAD",
        env(&config, "staging"),
        None,
    )
    .unwrap();

    assert_eq!(plan.base_revision, source.resolve(None).unwrap().sha);
    assert_eq!(plan.edits.len(), 1);
    assert_eq!(plan.edits[0].0, "overlays/staging/kustomization.yaml");
    assert!(
        plan.message
            .starts_with("promote(dev→staging): log-processor 2.0.1 → 2.1.0")
    );
    assert!(
        images(&plan.rendered).contains(&format!("{PROCESSOR}:2.1.0")),
        "the preview renders the edited tree"
    );
    assert_eq!(refs(&repo), refs_before, "no ref moved");
    assert_eq!(std::fs::read(&file).unwrap(), disk_before);
    assert!(
        repo.statuses(None).unwrap().is_empty(),
        "working tree untouched"
    );
}

const PLAIN_CONFIG: &str = "\
repo: {url: ./repo, branch: main}
environments:
  - {name: a, path: envs/a, context: a, namespace: apps}
  - {name: b, path: envs/b, context: b, namespace: apps, promote_from: a}
  - {name: c, path: envs/c, context: c, namespace: apps, promote_from: a}
";

fn deployment(name: &str, image: &str, sidecar: &str) -> String {
    format!(
        r#"# {name}: owned by the apps team
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  template:
    spec:
      containers:
        - name: app
          image: {image} # bumped by promotion
        - name: sidecar
          image: "{sidecar}"
"#
    )
}

/// A bare repo with two plain-YAML envs (no kustomization): a runs newer versions than b.
fn plain_repo(dir: &Path) -> Config {
    let repo_dir = dir.join("repo");
    let mut opts = git2::RepositoryInitOptions::new();
    opts.bare(true).initial_head("main");
    let repo = git2::Repository::init_opts(&repo_dir, &opts).unwrap();
    super::publish::seed(&repo, &[("README.md", "two envs\n")], "seed");
    let source = open(repo_dir.to_str().unwrap(), dir);
    let edits: Vec<Edit> = [
        (
            "envs/a/web.yaml",
            deployment("web", "reg.example:5000/web:1.1", "proxy:2"),
        ),
        ("envs/a/notes.txt", "not yaml\n".to_owned()),
        (
            "envs/b/web.yaml",
            deployment("web", "reg.example:5000/web:1.0", "proxy:2"),
        ),
        (
            "envs/c/web.yaml",
            deployment("web", "reg.example:5000/web:0.9", "proxy:1"),
        ),
        (
            "envs/c/kustomization.yaml",
            "# c: kustomize without an images list yet\nresources:\n  - web.yaml\n".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(p, c)| (p.to_owned(), Some(c.into_bytes())))
    .collect();
    source
        .commit_files("main", &edits, "two envs", &me())
        .unwrap();
    let file = dir.join("driftdeck.yaml");
    std::fs::write(&file, PLAIN_CONFIG).unwrap();
    config::load(&file).unwrap()
}

#[test]
fn a_plain_yaml_env_gets_its_image_lines_rewritten() {
    let tmp = TempDir::new().unwrap();
    let config = plain_repo(tmp.path());
    let source = open(&config.repo.url, tmp.path());
    let (a, b) = (env(&config, "a"), env(&config, "b"));
    let (published, plan) = commit_promotion(&source, a, "HEAD", b, None, None, &me()).unwrap();
    assert_eq!(published.summary, "promote(a→b): web 1.0 → 1.1");
    assert_eq!(
        source.commit(&published.sha).unwrap().files,
        vec!["envs/b/web.yaml"]
    );
    let text = String::from_utf8(
        source
            .tree(&published.sha)
            .unwrap()
            .read("envs/b/web.yaml")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        text,
        deployment("web", "reg.example:5000/web:1.1", "proxy:2"),
        "only the version changed; comments and quotes kept"
    );
    assert_eq!(images(&plan.rendered), images(&render(&source, a, None)));
    let again = plan_promotion(&source, a, "HEAD", b, None).unwrap_err();
    assert!(
        matches!(again, PromoteError::NothingToPromote { .. }),
        "{again:?}"
    );
}

#[test]
fn a_promotion_to_a_remote_is_pushed() {
    let (tmp, config) = demo();
    let cache = tmp.path().join("cache");
    // A bare copy of the demo repo stands in for the team's server.
    let origin_dir = tmp.path().join("origin.git");
    git2::build::RepoBuilder::new()
        .bare(true)
        .clone(&config.repo.url, &origin_dir)
        .unwrap();
    let mirror = open(&format!("file://{}", origin_dir.display()), &cache);
    assert!(mirror.is_remote());
    let origin = open(origin_dir.to_str().unwrap(), &cache);
    let (published, _) = commit_promotion(
        &mirror,
        env(&config, "dev"),
        "HEAD",
        env(&config, "staging"),
        None,
        None,
        &me(),
    )
    .unwrap();
    assert!(published.pushed && !published.rebased);
    assert_eq!(origin.resolve(None).unwrap().sha, published.sha);
    assert_eq!(
        origin.commit(&published.sha).unwrap().files,
        vec!["overlays/staging/kustomization.yaml"]
    );
}

#[test]
fn a_kustomization_without_images_gets_an_images_list() {
    let tmp = TempDir::new().unwrap();
    let config = plain_repo(tmp.path());
    let source = open(&config.repo.url, tmp.path());
    let (a, c) = (env(&config, "a"), env(&config, "c"));
    let (published, plan) = commit_promotion(&source, a, "HEAD", c, None, None, &me()).unwrap();
    assert_eq!(
        published.summary,
        "promote(a→c): proxy 1 → 2, web 0.9 → 1.1"
    );
    let commit = source.commit(&published.sha).unwrap();
    assert_eq!(
        commit.files,
        vec!["envs/c/kustomization.yaml"],
        "web.yaml untouched"
    );
    let text = String::from_utf8(
        source
            .tree(&published.sha)
            .unwrap()
            .read("envs/c/kustomization.yaml")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        text,
        "# c: kustomize without an images list yet\nresources:\n  - web.yaml\n\nimages:\n  \
         - name: proxy\n    newTag: \"2\"\n  - name: reg.example:5000/web\n    newTag: \"1.1\"\n"
    );
    let mut want = images(&render(&source, a, None));
    let mut got = images(&plan.rendered);
    want.sort();
    got.sort();
    assert_eq!(got, want);
}
