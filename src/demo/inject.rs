//! `:demo …` effects: what the demo console's palette can do to its own world so a newcomer
//! sees drift heal and a bad release get caught. `drift` scales the dev `log-api` Deployment
//! straight in the sandbox's store (behind Git's back, as an operator's `kubectl scale` would);
//! `break ENV` commits a `-crashloop` tag for `log-api` into `overlays/ENV`; `heal` commits the
//! working tags back wherever such a tag was committed. The controller then does what it does
//! with any drift or commit — nothing here talks to it.
//!
//! May import `crate::sandbox`, `crate::source` and `crate::model`. Must not touch anything but
//! the demo's own sandbox and repo (the repo's branch ref only: commits are made without a
//! checkout, so the working tree is left alone).
//!
//! Decisions: the demo layout is fixed (env = cluster = `overlays/<env>`, namespace
//! `log-platform`), so effects are named in demo terms, not config terms; a bad release is the
//! good tag plus `-crashloop`, so healing is stripping that suffix and needs no memory.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::model::{DemoAction, Notice};
use crate::sandbox::store::UpdateMode;
use crate::sandbox::{ApiError, Sandbox};
use crate::source::{self, Author, RepoSpec, Source};

/// The namespace every demo env deploys into.
pub const NAMESPACE: &str = "log-platform";
/// The workload `drift` scales and `break` breaks.
pub const WORKLOAD: &str = "log-api";
/// The image whose tag `break` and `heal` rewrite.
pub const IMAGE: &str = "ghcr.io/driftdeck-demo/log-api";
/// The suffix that makes the sandbox's containers crash.
pub const BAD_SUFFIX: &str = "-crashloop";
/// Replicas added by `drift`.
const DRIFT_EXTRA_REPLICAS: i64 = 3;

#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    #[error("demo sandbox: {0}")]
    Sandbox(#[from] crate::sandbox::Error),
    #[error("demo sandbox: {cluster}: Deployment {NAMESPACE}/{WORKLOAD}: {message}")]
    Api { cluster: String, message: String },
    #[error("demo repo {}: {source}", .repo.display())]
    Source {
        repo: PathBuf,
        #[source]
        source: source::Error,
    },
    #[error("demo repo {}: {path}: {what}", .repo.display())]
    Edit {
        repo: PathBuf,
        path: String,
        what: String,
    },
    #[error("demo: nothing to heal: no env's {IMAGE} tag ends in {BAD_SUFFIX}")]
    NothingToHeal,
}

/// What an effect did, in one line (and the commit, for `break`/`heal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    pub summary: String,
    /// `(sha, first line)` of the commit made, if any.
    pub commit: Option<(String, String)>,
}

/// The demo's world: its sandbox and its repo.
#[derive(Clone)]
pub struct DemoWorld {
    pub sandbox: Sandbox,
    /// The demo repo (non-bare, branch [`DemoWorld::branch`]).
    pub repo: PathBuf,
    pub branch: String,
    /// The envs, in config order (= cluster names).
    pub envs: Vec<String>,
}

impl DemoWorld {
    /// The world `driftdeck demo` set up in `dir`.
    pub fn in_dir(sandbox: Sandbox, dir: &Path) -> Self {
        Self {
            sandbox,
            repo: dir.join("repo"),
            branch: "main".to_owned(),
            envs: super::run::CLUSTERS
                .iter()
                .map(|c| (*c).to_owned())
                .collect(),
        }
    }

    /// Carries out one action. Blocking (git2); call from `spawn_blocking`.
    pub fn apply(&self, action: &DemoAction) -> Result<Injected, InjectError> {
        match action {
            DemoAction::Drift => self.drift("dev"),
            DemoAction::Break { env } => self.break_env(env),
            DemoAction::Heal => self.heal(),
        }
    }

    /// Scales `log-api` in `cluster` by a few replicas, as `kubectl scale` would.
    pub fn drift(&self, cluster: &str) -> Result<Injected, InjectError> {
        let api = |e: ApiError| InjectError::Api {
            cluster: cluster.to_owned(),
            message: e.message,
        };
        let cluster_ref = self.sandbox.cluster(cluster)?;
        let mut store = cluster_ref.lock();
        let rt = store
            .find_type("apps", "v1", "deployments")
            .ok_or_else(|| InjectError::Api {
                cluster: cluster.to_owned(),
                message: "the sandbox serves no apps/v1 deployments".to_owned(),
            })?;
        let mut obj = store
            .get(&rt, NAMESPACE, WORKLOAD)
            .ok_or_else(|| InjectError::Api {
                cluster: cluster.to_owned(),
                message: "not found (has the demo applied yet?)".to_owned(),
            })?;
        let before = obj["spec"]["replicas"].as_i64().unwrap_or(1);
        let after = before + DRIFT_EXTRA_REPLICAS;
        obj["spec"]["replicas"] = Value::from(after);
        store
            .update(&rt, obj, UpdateMode::Main, false)
            .map_err(api)?;
        Ok(Injected {
            summary: format!(
                "scaled {cluster} Deployment/{WORKLOAD} {before} → {after} replicas behind Git's back"
            ),
            commit: None,
        })
    }

    /// Commits a crashing `log-api` tag into `overlays/ENV`.
    pub fn break_env(&self, env: &str) -> Result<Injected, InjectError> {
        if !self.envs.iter().any(|e| e == env) {
            return Err(self.edit_error(env, "no such demo environment".to_owned()));
        }
        let path = kustomization(env);
        let source = self.open()?;
        let text = self.read(&source, &path)?;
        let (edited, old, new) = retag(&text, |tag| {
            (!tag.ends_with(BAD_SUFFIX)).then(|| format!("{tag}{BAD_SUFFIX}"))
        })
        .ok_or_else(|| {
            self.edit_error(
                &path,
                format!("no {IMAGE} newTag to break (or already broken)"),
            )
        })?;
        let message = format!("release({env}): {WORKLOAD} {old} → {new}");
        let sha = self.commit(&source, vec![(path, Some(edited.into_bytes()))], &message)?;
        Ok(Injected {
            summary: format!("committed a crashloop image into {env}"),
            commit: Some((sha, message)),
        })
    }

    /// Commits the working tag back into every env whose tag is a bad release.
    pub fn heal(&self) -> Result<Injected, InjectError> {
        let source = self.open()?;
        let mut edits = Vec::new();
        let mut healed = Vec::new();
        for env in &self.envs {
            let path = kustomization(env);
            let text = self.read(&source, &path)?;
            if let Some((edited, _, new)) =
                retag(&text, |tag| tag.strip_suffix(BAD_SUFFIX).map(str::to_owned))
            {
                edits.push((path, Some(edited.into_bytes())));
                healed.push(format!("{env} {new}"));
            }
        }
        if edits.is_empty() {
            return Err(InjectError::NothingToHeal);
        }
        let message = format!(
            "fix: {WORKLOAD} back to a working image ({})",
            healed.join(", ")
        );
        let sha = self.commit(&source, edits, &message)?;
        Ok(Injected {
            summary: format!("healed {}", healed.join(", ")),
            commit: Some((sha, message)),
        })
    }

    fn open(&self) -> Result<Source, InjectError> {
        let spec = RepoSpec {
            url: self.repo.to_string_lossy().into_owned(),
            branch: self.branch.clone(),
        };
        // A local path is opened in place; the cache folder is never used for it.
        Source::open(&spec, &self.repo).map_err(|source| self.source_error(source))
    }

    fn read(&self, source: &Source, path: &str) -> Result<String, InjectError> {
        let head = source
            .resolve(None)
            .map_err(|source| self.source_error(source))?;
        let tree = source
            .tree(&head.sha)
            .map_err(|source| self.source_error(source))?;
        let bytes = tree
            .read(path)
            .map_err(|source| self.source_error(source))?;
        String::from_utf8(bytes).map_err(|_| self.edit_error(path, "not UTF-8".to_owned()))
    }

    fn commit(
        &self,
        source: &Source,
        edits: Vec<source::Edit>,
        message: &str,
    ) -> Result<String, InjectError> {
        let author = Author {
            name: "driftdeck demo".to_owned(),
            email: "demo@driftdeck.invalid".to_owned(),
        };
        source
            .commit_files(&self.branch, &edits, message, &author)
            .map_err(|source| self.source_error(source))
    }

    fn source_error(&self, source: source::Error) -> InjectError {
        InjectError::Source {
            repo: self.repo.clone(),
            source,
        }
    }

    fn edit_error(&self, path: &str, what: String) -> InjectError {
        InjectError::Edit {
            repo: self.repo.clone(),
            path: path.to_owned(),
            what,
        }
    }
}

fn kustomization(env: &str) -> String {
    format!("overlays/{env}/kustomization.yaml")
}

/// Rewrites the `newTag:` of the [`IMAGE`] entry of a kustomization's `images:` list with
/// `change(old)`, keeping every other byte (comments, order) as it was. Returns the new text,
/// the old and the new tag; `None` when there is no such entry or `change` declines.
fn retag(text: &str, change: impl Fn(&str) -> Option<String>) -> Option<(String, String, String)> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let entry = lines
        .iter()
        .position(|l| l.trim_start().trim_start_matches("- ").trim() == format!("name: {IMAGE}"))?;
    let entry_indent = indent(&lines[entry]);
    // The entry's own keys follow until the next list item or a shallower line.
    for line in lines.iter_mut().skip(entry + 1) {
        let trimmed = line.trim_start();
        if trimmed.starts_with("- ") || indent(line) <= entry_indent && !trimmed.is_empty() {
            return None;
        }
        if let Some(old) = trimmed.strip_prefix("newTag:") {
            let old = old.trim().trim_matches('"').to_owned();
            let new = change(&old)?;
            *line = format!("{}newTag: {new}", " ".repeat(indent(line)));
            let mut out = lines.join("\n");
            if text.ends_with('\n') {
                out.push('\n');
            }
            return Some((out, old, new));
        }
    }
    None
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Runs the demo's `:demo …` requests until the UI drops its sender. Results reach the UI as
/// notices: a commit as [`Notice::Committed`], anything else as [`Notice::Warned`] (the
/// UI has no plain-info notice; a drift injection is announced by the UI itself).
pub fn spawn(
    world: DemoWorld,
    mut requests: mpsc::Receiver<DemoAction>,
    notices: mpsc::Sender<Notice>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(action) = requests.recv().await {
            let world = world.clone();
            let done = tokio::task::spawn_blocking(move || world.apply(&action)).await;
            let notice = match done {
                Ok(Ok(Injected {
                    commit: Some((sha, summary)),
                    ..
                })) => Notice::Committed {
                    sha,
                    summary,
                    pushed: false,
                },
                Ok(Ok(injected)) => {
                    tracing::info!("demo: {}", injected.summary);
                    continue;
                }
                Ok(Err(e)) => Notice::Warned {
                    env: None,
                    message: e.to_string(),
                },
                Err(e) => Notice::Warned {
                    env: None,
                    message: format!("demo: injection task failed: {e}"),
                },
            };
            if notices.send(notice).await.is_err() {
                return;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAGING: &str = "images:\n  - name: ghcr.io/driftdeck-demo/log-api\n    newTag: 1.4.2\n  - name: ghcr.io/driftdeck-demo/log-processor\n    newTag: 2.0.1\n";

    #[test]
    fn retag_changes_only_the_log_api_tag_and_heals_back() {
        let (broken, old, new) = retag(STAGING, |t| Some(format!("{t}{BAD_SUFFIX}"))).unwrap();
        assert_eq!((old.as_str(), new.as_str()), ("1.4.2", "1.4.2-crashloop"));
        assert!(broken.contains("newTag: 1.4.2-crashloop\n  - name: ghcr.io/driftdeck-demo/log-processor\n    newTag: 2.0.1\n"));
        let (healed, _, _) =
            retag(&broken, |t| t.strip_suffix(BAD_SUFFIX).map(str::to_owned)).unwrap();
        assert_eq!(healed, STAGING);
        assert!(retag(STAGING, |t| t.strip_suffix(BAD_SUFFIX).map(str::to_owned)).is_none());
    }

    #[test]
    fn retag_without_the_image_declines() {
        assert!(
            retag("images:\n  - name: other\n    newTag: 1\n", |_| Some(
                "x".into()
            ))
            .is_none()
        );
    }

    #[test]
    fn break_then_heal_commits_to_the_demo_repo() {
        let dir = tempfile::tempdir().unwrap();
        super::super::run::prepare(dir.path()).unwrap();
        let sandbox = Sandbox::new(
            &super::super::run::CLUSTERS,
            crate::sandbox::SandboxOptions {
                simulate: false,
                ..Default::default()
            },
        );
        let world = DemoWorld::in_dir(sandbox, dir.path());
        let broke = world
            .apply(&DemoAction::Break {
                env: "staging".into(),
            })
            .unwrap();
        let (_, message) = broke.commit.clone().unwrap();
        assert!(message.contains("crashloop"), "{message}");
        let source = world.open().unwrap();
        let text = world
            .read(&source, "overlays/staging/kustomization.yaml")
            .unwrap();
        assert!(text.contains(BAD_SUFFIX), "{text}");
        assert!(
            world
                .apply(&DemoAction::Break {
                    env: "staging".into()
                })
                .is_err(),
            "breaking twice is refused"
        );
        world.apply(&DemoAction::Heal).unwrap();
        let text = world
            .read(
                &world.open().unwrap(),
                "overlays/staging/kustomization.yaml",
            )
            .unwrap();
        assert!(!text.contains(BAD_SUFFIX), "{text}");
        assert!(matches!(
            world.apply(&DemoAction::Heal),
            Err(InjectError::NothingToHeal)
        ));
        // Drift needs the applied Deployment; on an empty sandbox it says so.
        let err = world.apply(&DemoAction::Drift).unwrap_err().to_string();
        assert!(err.contains("not found"), "{err}");
    }
}
