//! `driftdeck demo init DIR`, run as the real binary into a temp dir: the repo's history, its
//! HEAD tree against `assets/demo/`, the config it writes (loaded with `config::load`) and
//! `kubectl kustomize` over every overlay.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use driftdeck::config;

fn demo_init(dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_driftdeck"))
        .args(["demo", "init"])
        .arg(dir)
        .output()
        .unwrap()
}

fn init_fresh() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = demo_init(&dir);
    assert!(
        out.status.success(),
        "demo init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("wrote {}", dir.join("repo").display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("wrote {}", dir.join("driftdeck.yaml").display())),
        "{stdout}"
    );
    (tmp, dir)
}

/// Every file under `root`, by `/`-separated relative path.
fn files_on_disk(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn files_in_tree(repo: &git2::Repository, tree: &git2::Tree<'_>) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(git2::ObjectType::Blob) {
            let blob = repo.find_blob(entry.id()).unwrap();
            out.insert(
                format!("{dir}{}", entry.name().unwrap()),
                blob.content().to_vec(),
            );
        }
        git2::TreeWalkResult::Ok
    })
    .unwrap();
    out
}

#[test]
fn demo_repo_has_a_believable_history_ending_at_the_assets() {
    let (_tmp, dir) = init_fresh();
    let repo = git2::Repository::open(dir.join("repo")).unwrap();
    let head = repo.head().unwrap();
    assert_eq!(head.shorthand().unwrap(), "main");

    let mut walk = repo.revwalk().unwrap();
    walk.push_head().unwrap();
    let commits: Vec<git2::Commit<'_>> = walk
        .map(|id| repo.find_commit(id.unwrap()).unwrap())
        .collect();
    assert!(
        (10..=14).contains(&commits.len()),
        "{} commits",
        commits.len()
    );
    let mut authors: Vec<String> = commits
        .iter()
        .map(|c| c.author().name().unwrap().to_string())
        .collect();
    authors.sort();
    authors.dedup();
    assert!((3..=4).contains(&authors.len()), "{authors:?}");

    // Fresh: spread over several days, newest first, all in the past ten days.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let times: Vec<i64> = commits
        .iter()
        .map(|c| c.author().when().seconds())
        .collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]), "{times:?}");
    assert!(
        times.iter().all(|t| *t <= now && now - t < 10 * 86_400),
        "{times:?}"
    );
    assert!(times[0] - times[times.len() - 1] > 5 * 86_400);
    let summaries: Vec<&str> = commits
        .iter()
        .map(|c| c.summary().unwrap().unwrap())
        .collect();
    assert!(
        summaries
            .iter()
            .any(|s| s.starts_with("promote(dev→staging)")),
        "{summaries:?}"
    );
    assert!(
        summaries
            .iter()
            .any(|s| s.starts_with("promote(staging→production)")),
        "{summaries:?}"
    );

    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    let tree = commits[0].tree().unwrap();
    assert_eq!(files_in_tree(&repo, &tree), files_on_disk(&assets));
    // The work tree is checked out at HEAD with nothing pending.
    let statuses = repo.statuses(None).unwrap();
    assert!(statuses.is_empty(), "{} changed files", statuses.len());
    let mut on_disk = files_on_disk(&dir.join("repo"));
    on_disk.retain(|p, _| !p.starts_with(".git/"));
    assert_eq!(on_disk, files_on_disk(&assets));

    // The oldest commit predates the later bumps: production started on log-api 1.4.0.
    let first = commits.last().unwrap().tree().unwrap();
    let prod = files_in_tree(&repo, &first)["overlays/production/kustomization.yaml"].clone();
    assert!(
        String::from_utf8(prod)
            .unwrap()
            .contains("log-api\n    newTag: 1.4.0")
    );
}

#[test]
fn demo_config_loads_with_three_stages_and_their_policies() {
    let (_tmp, dir) = init_fresh();
    let c = config::load(&dir.join("driftdeck.yaml")).unwrap();
    assert_eq!(Path::new(&c.repo.url), dir.join("repo"));
    assert_eq!(c.repo.branch, "main");
    assert_eq!(c.kubeconfig, Some(dir.join("kubeconfig")));
    let names: Vec<&str> = c.environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "dev",
            "staging",
            "production",
            "prod-us-east",
            "prod-eu-west",
            "prod-ap-south"
        ]
    );
    let regions = c.rollout("prod-regions").unwrap();
    assert_eq!(regions.from, "staging");
    assert_eq!(regions.waves.len(), 3);
    for env in &c.environments {
        assert_eq!(env.namespace, "log-platform");
        assert_eq!(env.context, env.name);
        assert_eq!(env.path, Path::new("overlays").join(&env.name));
        assert!(
            dir.join("repo")
                .join(&env.path)
                .join("kustomization.yaml")
                .is_file()
        );
    }
    let dev = c.env("dev").unwrap();
    assert!(dev.auto_sync && dev.self_heal && dev.prune && !dev.protected);
    let staging = c.env("staging").unwrap();
    assert!(!staging.auto_sync && !staging.protected);
    assert_eq!(staging.promote_from.as_deref(), Some("dev"));
    let prod = c.env("production").unwrap();
    assert!(!prod.auto_sync && prod.protected && prod.auto_rollback);
    assert_eq!(prod.promote_from.as_deref(), Some("staging"));
}

#[test]
fn every_demo_overlay_renders_with_kubectl_kustomize() {
    let (_tmp, dir) = init_fresh();
    let expected = [
        ("dev", "1", "debug", "1.4.2"),
        ("staging", "2", "info", "1.4.2"),
        ("production", "3", "warn", "1.4.1"),
    ];
    for (env, replicas, level, api) in expected {
        let out = match Command::new("kubectl")
            .args(["kustomize"])
            .arg(dir.join("repo/overlays").join(env))
            .output()
        {
            Ok(out) => out,
            Err(e) => panic!("kubectl is required for this test and could not be run: {e}"),
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "kubectl kustomize overlays/{env} failed: {stderr}"
        );
        assert!(
            stderr.trim().is_empty(),
            "overlays/{env} rendered with warnings: {stderr}"
        );
        let yaml = String::from_utf8(out.stdout).unwrap();
        assert!(yaml.contains(&format!("replicas: {replicas}\n")), "{env}");
        assert!(yaml.contains(&format!("LOG_LEVEL: {level}\n")), "{env}");
        assert!(
            yaml.contains(&format!("image: ghcr.io/driftdeck-demo/log-api:{api}\n")),
            "{env}"
        );
        assert!(yaml.contains("namespace: log-platform\n"), "{env}");
        assert_eq!(
            yaml.contains("kind: HorizontalPodAutoscaler"),
            env == "production",
            "{env}"
        );
        assert_eq!(
            yaml.contains("kind: PodDisruptionBudget"),
            env == "production",
            "{env}"
        );
    }
}

#[test]
fn demo_init_refuses_to_overwrite_a_repo() {
    let (_tmp, dir) = init_fresh();
    let head_before = git2::Repository::open(dir.join("repo"))
        .unwrap()
        .head()
        .unwrap()
        .target();
    let out = demo_init(&dir);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: already exists and is not empty",
            dir.join("repo").display()
        )),
        "{stderr}"
    );
    let head_after = git2::Repository::open(dir.join("repo"))
        .unwrap()
        .head()
        .unwrap()
        .target();
    assert_eq!(head_before, head_after);
}
