//! The config file, `driftdeck.yaml`: where it is found ([`discover`]), how it is read
//! ([`load`], [`parse`]) and the validated [`Config`] the rest of the program uses. Imports only
//! `crate::model` (and today not even that); must not talk to Git or Kubernetes — it checks the
//! file's own consistency, not whether the repo or contexts exist.
//!
//! Two stages, as ripgrep's `LowArgs` → `HiArgs`: [`raw`] mirrors the file with serde (unknown
//! fields rejected, every node's line:col kept via `serde_saphyr::Spanned`), then [`validate`]
//! parses durations, resolves paths against the config file's folder and checks names and the
//! promotion graph. Errors print as `path/driftdeck.yaml:LINE:COL: message`.
//!
//! Decisions where the design was silent: an env path of the repo root is `.`; `next_stage`
//! returns the first env (config order) promoting from the given one when several do; an
//! `ignore_differences` rule must list `json_pointers` or `managers`; a bare number is not a
//! duration (the unit is required).
//!
//! The keymap and the colour themes are data files too: [`keymap`] and [`theme`] load the
//! embedded defaults and the user's overrides, collecting warnings instead of failing.

mod duration;
pub mod engine;
mod error;
pub mod keymap;
pub mod notify;
mod raw;
pub mod rollout;
pub mod theme;
mod validate;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_saphyr::MessageFormatter;

pub use engine::EngineSpec;
pub use error::{Error, Pos};
pub use rollout::{HaltOn, RolloutConfig};
pub use validate::is_dns_label;

/// The validated config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The config file it came from.
    pub file: PathBuf,
    pub repo: RepoConfig,
    /// Resolved against the config file's folder; `None`: `KUBECONFIG`, then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// How long a sync waits for workloads to become Healthy.
    pub validation_timeout: Duration,
    /// `live_resync:` (default 5m): how often a running controller or console lists an env's
    /// live objects although its watches are healthy (a resync, as Argo CD and Flux do; a
    /// watch can be stuck without an error). Between resyncs live is read from the watch
    /// stores, so an idle env costs no list requests.
    pub live_resync: Duration,
    /// In config order (the order the console lists them).
    pub environments: Vec<EnvConfig>,
    /// Webhook targets, the top level's first, then each env's (scoped to that env).
    pub notify: Vec<notify::NotifyTarget>,
    /// Progressive rollouts across envs (`rollouts:`), in config order.
    pub rollouts: Vec<RolloutConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoConfig {
    /// An absolute local path (resolved against the config folder), or a remote URL
    /// (`https://`, `ssh://`, `git@host:path`, `file://`) kept as written.
    pub url: String,
    pub branch: String,
    /// How often a remote repo is fetched.
    pub poll_interval: Duration,
}

impl RepoConfig {
    /// Whether `url` is fetched over a transport rather than opened from disk.
    pub fn is_remote(&self) -> bool {
        validate::is_remote_url(&self.url)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvConfig {
    /// A DNS label: it ends up in object names such as the `driftdeck-<env>` ConfigMap.
    pub name: String,
    /// Repo-relative folder, `/`-separated and normalized; the repo root is `.`.
    pub path: PathBuf,
    /// The kubeconfig context of the env's cluster.
    pub context: String,
    pub namespace: String,
    /// Where the env's cluster-held state lives; defaults to `namespace`.
    pub state_namespace: String,
    pub auto_sync: bool,
    pub self_heal: bool,
    pub prune: bool,
    /// Confirming an action on it needs the env name typed.
    pub protected: bool,
    pub auto_rollback: bool,
    /// A render with no objects may be applied (and, with `prune`, delete everything the env
    /// manages). Off: an empty render fails its operation, the usual sign of a broken overlay.
    pub allow_empty: bool,
    pub promote_from: Option<String>,
    /// An external render command; `None`: the native renderer.
    pub renderer: Option<RendererConfig>,
    pub ignore_differences: Vec<IgnoreRule>,
    /// Who reconciles the env: driftdeck (default) or an in-cluster Argo CD / Flux resource.
    pub engine: EngineSpec,
}

/// `renderer: {command: [kustomize, build, .]}`: run in the env's folder, manifests on stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RendererConfig {
    /// Program and arguments; never empty.
    pub command: Vec<String>,
}

/// Differences the diff must not report for matching resources (Argo CD's `ignoreDifferences`);
/// one type for the config, the diff and the controller.
pub use crate::model::IgnoreRule;

impl Config {
    pub fn env(&self, name: &str) -> Option<&EnvConfig> {
        self.environments.iter().find(|e| e.name == name)
    }

    pub fn rollout(&self, name: &str) -> Option<&RolloutConfig> {
        self.rollouts.iter().find(|r| r.name == name)
    }

    /// The env that promotes from `env` (the next stage of the pipeline), first in config order.
    pub fn next_stage(&self, env: &str) -> Option<&EnvConfig> {
        self.environments
            .iter()
            .find(|e| e.promote_from.as_deref() == Some(env))
    }
}

/// The config file name looked for in the working folder and the user config folder.
pub const FILE_NAME: &str = "driftdeck.yaml";

/// Finds the config file: the `--config` flag, else `./driftdeck.yaml`, else
/// `<user config dir>/driftdeck.yaml`. The error lists every place tried.
pub fn discover(flag: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(flag) = flag {
        // An explicit flag is never silently replaced by another file.
        return if flag.is_file() {
            Ok(flag.to_path_buf())
        } else {
            Err(Error::NotFound {
                tried: vec![flag.to_path_buf()],
            })
        };
    }
    let mut tried = vec![PathBuf::from(".").join(FILE_NAME)];
    if let Some(dirs) = directories::ProjectDirs::from("io", "driftdeck", "driftdeck") {
        tried.push(dirs.config_dir().join(FILE_NAME));
    }
    match tried.iter().find(|p| p.is_file()) {
        Some(found) => Ok(found.clone()),
        None => Err(Error::NotFound { tried }),
    }
}

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<Config, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Validates `text` as the content of the config file `file` (which relative paths in it are
/// resolved against; the file itself is not read).
pub fn parse(text: &str, file: &Path) -> Result<Config, Error> {
    let dir = std::path::absolute(file)
        .ok()
        .and_then(|abs| abs.parent().map(validate::normalize))
        .unwrap_or_else(|| PathBuf::from("/"));
    let ctx = validate::Ctx { file, dir };
    if text.trim().is_empty() {
        return Err(ctx.err(
            Pos::new(1, 1),
            "empty config file; expected a mapping with repo and environments",
        ));
    }
    let options = serde_saphyr::options! { with_snippet: false };
    let raw: raw::RawConfig =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| yaml_error(&e, &ctx))?;
    validate::config(raw, &ctx)
}

fn yaml_error(e: &serde_saphyr::Error, ctx: &validate::Ctx<'_>) -> Error {
    let inner = e.without_snippet();
    let pos = inner.location().map(Pos::of).unwrap_or_default();
    if let serde_saphyr::Error::Eof { .. } = inner {
        // A file of only comments: say so rather than "unexpected end of input".
        return ctx.err(
            pos,
            "no settings in the file; expected a mapping with repo and environments",
        );
    }
    let message = serde_saphyr::DefaultMessageFormatter.format_message(inner);
    // Serde quotes names with backticks; the rest of driftdeck's messages use double quotes.
    let message = message.replace('`', "\"");
    ctx.err(pos, plain_words(&message).unwrap_or(message))
}

/// The parser's wording for wrong types is terse; say what a config author should write.
fn plain_words(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        // The parser's advice names its own options type, which means nothing to a config author.
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return Some(format!("duplicate key \"{key}\""));
    }
    let hint = match message {
        "invalid boolean" => "expected true or false",
        "expected sequence start" => "a list (\"- item\" lines or [a, b])",
        "expected mapping start" => "a mapping (\"key: value\" lines or {key: value})",
        _ => return None,
    };
    Some(match message.strip_prefix("expected ") {
        Some(_) => format!("wrong type: expected {hint}"),
        None => format!("{message}: {hint}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "repo: {url: ./repo}\nenvironments:\n  - {name: dev, path: overlays/dev, context: dev, namespace: ns}\n";

    #[test]
    fn defaults_apply() {
        let c = parse(MINIMAL, Path::new("/srv/dd/driftdeck.yaml")).unwrap();
        assert_eq!(c.repo.url, "/srv/dd/repo");
        assert_eq!(c.repo.branch, "main");
        assert_eq!(c.repo.poll_interval, Duration::from_secs(30));
        assert_eq!(c.validation_timeout, Duration::from_secs(300));
        assert_eq!(c.live_resync, Duration::from_secs(300));
        assert_eq!(c.kubeconfig, None);
        let dev = c.env("dev").unwrap();
        assert_eq!(dev.state_namespace, "ns");
        assert!(!dev.auto_sync && !dev.protected);
        assert!(c.next_stage("dev").is_none());
    }

    #[test]
    fn allow_empty_is_off_by_default_and_must_be_a_boolean() {
        let c = parse(MINIMAL, Path::new("dd.yaml")).unwrap();
        assert!(!c.env("dev").unwrap().allow_empty);
        let on = MINIMAL.replace("namespace: ns}", "namespace: ns, allow_empty: true}");
        let c = parse(&on, Path::new("dd.yaml")).unwrap();
        assert!(c.env("dev").unwrap().allow_empty);
        let bad = MINIMAL.replace("namespace: ns}", "namespace: ns, allow_empty: maybe}");
        let err = parse(&bad, Path::new("dd.yaml")).unwrap_err().to_string();
        assert!(err.starts_with("dd.yaml:3:"), "{err}");
        assert!(err.contains("true or false"), "{err}");
    }

    #[test]
    fn yaml_errors_carry_line_and_column() {
        let text = "repo: {url: ./repo}\nenvironments:\n  - {name: dev, path: p, context: c, namespace: n, colour: red}\n";
        let err = parse(text, Path::new("dd.yaml")).unwrap_err().to_string();
        assert!(err.starts_with("dd.yaml:3:"), "{err}");
        assert!(err.contains("unknown field \"colour\""), "{err}");
    }

    proptest::proptest! {
        // Input can never cause a panic: arbitrary text, and the minimal file with any
        // slice cut out of it, either load or return an error.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = parse(&text, Path::new("dd.yaml"));
        }

        #[test]
        fn truncated_configs_never_panic(a in 0usize..200, b in 0usize..200) {
            let (lo, hi) = (a.min(b).min(MINIMAL.len()), a.max(b).min(MINIMAL.len()));
            let text = format!("{}{}", &MINIMAL[..lo], &MINIMAL[hi..]);
            let _ = parse(&text, Path::new("dd.yaml"));
        }
    }

    #[test]
    fn discover_prefers_the_flag_and_lists_what_it_tried() {
        let err = discover(Some(Path::new("/nonexistent/dd.yaml"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no config file found; tried /nonexistent/dd.yaml"
        );
    }
}
