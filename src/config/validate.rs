//! Stage two: turns the raw file ([`super::raw`]) into a validated [`Config`] (ripgrep's
//! `HiArgs`): parses durations, resolves paths against the config file's folder, checks env
//! names, paths and the promotion graph. Every error points at the node that caused it.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde_saphyr::Spanned;

use super::error::{Error, Pos};
use super::raw::{RawConfig, RawEnv, RawIgnoreRule, RawRenderer, RawRepo};
use super::{Config, EnvConfig, IgnoreRule, RendererConfig, RepoConfig, duration};

const DEFAULT_BRANCH: &str = "main";
const DEFAULT_POLL: Duration = Duration::from_secs(30);
const DEFAULT_VALIDATION_TIMEOUT: Duration = Duration::from_secs(300);
const DEFAULT_LIVE_RESYNC: Duration = Duration::from_secs(300);

/// Builds errors that all name the same file.
pub struct Ctx<'a> {
    pub file: &'a Path,
    /// The folder relative paths in the file are resolved against (absolute).
    pub dir: PathBuf,
}

impl Ctx<'_> {
    pub fn err(&self, pos: Pos, message: impl Into<String>) -> Error {
        Error::Invalid {
            path: self.file.to_path_buf(),
            pos,
            message: message.into(),
        }
    }
}

pub fn config(raw: RawConfig, ctx: &Ctx<'_>) -> Result<Config, Error> {
    let repo = repo(&raw.repo, ctx)?;
    let kubeconfig = raw
        .kubeconfig
        .as_ref()
        .map(|k| {
            if k.value.trim().is_empty() {
                Err(ctx.err(Pos::of_spanned(k), "kubeconfig: empty path"))
            } else {
                Ok(resolve_local(&ctx.dir, &k.value))
            }
        })
        .transpose()?;
    let validation_timeout = duration_or(
        raw.validation_timeout.as_ref(),
        DEFAULT_VALIDATION_TIMEOUT,
        "validation_timeout",
        ctx,
    )?;
    let live_resync = duration_or(
        raw.live_resync.as_ref(),
        DEFAULT_LIVE_RESYNC,
        "live_resync",
        ctx,
    )?;
    if live_resync.is_zero()
        && let Some(raw) = &raw.live_resync
    {
        return Err(ctx.err(
            Pos::of_spanned(raw),
            "live_resync: must be longer than 0s (a resync on every tick lists every second)",
        ));
    }

    if raw.environments.value.is_empty() {
        return Err(ctx.err(
            Pos::of_spanned(&raw.environments),
            "environments: at least one environment is required",
        ));
    }
    let mut environments = Vec::with_capacity(raw.environments.value.len());
    let mut seen: HashMap<&str, Pos> = HashMap::new();
    for env in &raw.environments.value {
        let e = &env.value;
        let pos = Pos::of_spanned(&e.name);
        if let Some(first) = seen.insert(&e.name.value, pos) {
            return Err(ctx.err(
                pos,
                format!(
                    "duplicate environment name \"{}\" (first defined at line {})",
                    e.name.value, first.line
                ),
            ));
        }
        environments.push(env_config(e, ctx)?);
    }
    check_promotions(&raw.environments.value, ctx)?;
    let mut notify = super::notify::targets(&raw.notify, None, ctx)?;
    for env in &raw.environments.value {
        let e = &env.value;
        notify.extend(super::notify::targets(&e.notify, Some(&e.name.value), ctx)?);
    }
    let rollouts = super::rollout::rollouts(&raw.rollouts, &environments, ctx)?;

    Ok(Config {
        file: ctx.file.to_path_buf(),
        repo,
        kubeconfig,
        validation_timeout,
        live_resync,
        environments,
        notify,
        rollouts,
    })
}

fn repo(raw: &Spanned<RawRepo>, ctx: &Ctx<'_>) -> Result<RepoConfig, Error> {
    let r = &raw.value;
    let url = r.url.value.trim();
    if url.is_empty() {
        return Err(ctx.err(
            Pos::of_spanned(&r.url),
            "repo.url: empty; expected a local path or an https/ssh URL",
        ));
    }
    let url = if is_remote_url(url) {
        url.to_string()
    } else {
        resolve_local(&ctx.dir, url).to_string_lossy().into_owned()
    };
    let branch = match &r.branch {
        Some(b) if b.value.trim().is_empty() => {
            return Err(ctx.err(Pos::of_spanned(b), "repo.branch: empty branch name"));
        }
        Some(b) => b.value.trim().to_string(),
        None => DEFAULT_BRANCH.to_string(),
    };
    let poll_interval = duration_or(
        r.poll_interval.as_ref(),
        DEFAULT_POLL,
        "repo.poll_interval",
        ctx,
    )?;
    Ok(RepoConfig {
        url,
        branch,
        poll_interval,
    })
}

fn env_config(e: &RawEnv, ctx: &Ctx<'_>) -> Result<EnvConfig, Error> {
    let name = &e.name.value;
    if !is_dns_label(name) {
        return Err(ctx.err(
            Pos::of_spanned(&e.name),
            format!(
                "invalid environment name \"{name}\": expected a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)"
            ),
        ));
    }
    let engine = super::engine::engine(e.engine.as_ref(), name, ctx)?;
    let required = |field: &str| {
        ctx.err(
            Pos::of_spanned(&e.name),
            format!("environment \"{name}\": missing {field} (required unless an engine other than driftdeck drives the env)"),
        )
    };
    let path = match (&e.path, engine.cr_namespace()) {
        (Some(p), _) => env_path(&p.value).map_err(|why| {
            ctx.err(
                Pos::of_spanned(p),
                format!("environment \"{name}\": path \"{}\" {why}", p.value),
            )
        })?,
        (None, Some(_)) => PathBuf::from("."),
        (None, None) => return Err(required("path")),
    };
    let context = non_empty(&e.context, "context", name, ctx)?;
    let namespace = match (&e.namespace, engine.cr_namespace()) {
        (Some(ns), _) => non_empty(ns, "namespace", name, ctx)?,
        (None, Some(cr)) => cr.to_owned(),
        (None, None) => return Err(required("namespace")),
    };
    let state_namespace = match &e.state_namespace {
        Some(s) => non_empty(s, "state_namespace", name, ctx)?,
        None => namespace.clone(),
    };
    let renderer = e
        .renderer
        .as_ref()
        .map(|r| renderer(r, name, ctx))
        .transpose()?;
    let ignore_differences = e
        .ignore_differences
        .iter()
        .map(|r| ignore_rule(r, name, ctx))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EnvConfig {
        name: name.clone(),
        path,
        context,
        namespace,
        state_namespace,
        auto_sync: e.auto_sync,
        self_heal: e.self_heal,
        prune: e.prune,
        protected: e.protected,
        auto_rollback: e.auto_rollback,
        allow_empty: e.allow_empty,
        promote_from: e.promote_from.as_ref().map(|p| p.value.clone()),
        renderer,
        ignore_differences,
        engine,
    })
}

fn non_empty(s: &Spanned<String>, field: &str, env: &str, ctx: &Ctx<'_>) -> Result<String, Error> {
    let v = s.value.trim();
    if v.is_empty() {
        return Err(ctx.err(
            Pos::of_spanned(s),
            format!("environment \"{env}\": {field} is empty"),
        ));
    }
    Ok(v.to_string())
}

fn renderer(r: &Spanned<RawRenderer>, env: &str, ctx: &Ctx<'_>) -> Result<RendererConfig, Error> {
    match r.value.command.first() {
        Some(program) if !program.trim().is_empty() => Ok(RendererConfig {
            command: r.value.command.clone(),
        }),
        _ => Err(ctx.err(
            Pos::of_spanned(r),
            format!("environment \"{env}\": renderer.command must name a program, e.g. [kustomize, build, .]"),
        )),
    }
}

fn ignore_rule(r: &Spanned<RawIgnoreRule>, env: &str, ctx: &Ctx<'_>) -> Result<IgnoreRule, Error> {
    let raw = &r.value;
    if raw.kind.trim().is_empty() {
        return Err(ctx.err(
            Pos::of_spanned(r),
            format!("environment \"{env}\": ignore_differences rule has an empty kind"),
        ));
    }
    if raw.json_pointers.is_empty() && raw.managers.is_empty() {
        // A rule with neither would silently ignore nothing (or, read another way, everything);
        // refuse the ambiguity.
        return Err(ctx.err(
            Pos::of_spanned(r),
            format!("environment \"{env}\": ignore_differences rule for {} needs json_pointers or managers", raw.kind),
        ));
    }
    for p in &raw.json_pointers {
        if !p.value.starts_with('/') {
            return Err(ctx.err(
                Pos::of_spanned(p),
                format!("environment \"{env}\": json pointer \"{}\" must start with '/' (RFC 6901), e.g. /spec/replicas", p.value),
            ));
        }
    }
    Ok(IgnoreRule {
        group: raw.group.clone(),
        kind: raw.kind.clone(),
        name: raw.name.clone(),
        namespace: raw.namespace.clone(),
        json_pointers: raw.json_pointers.iter().map(|p| p.value.clone()).collect(),
        managers: raw.managers.clone(),
    })
}

/// Every `promote_from` names a known env, and following them never loops.
fn check_promotions(envs: &[Spanned<RawEnv>], ctx: &Ctx<'_>) -> Result<(), Error> {
    let index: HashMap<&str, usize> = envs
        .iter()
        .enumerate()
        .map(|(i, e)| (e.value.name.value.as_str(), i))
        .collect();
    let parent = |i: usize| -> Option<usize> {
        envs[i]
            .value
            .promote_from
            .as_ref()
            .and_then(|p| index.get(p.value.as_str()).copied())
    };
    for e in envs {
        let e = &e.value;
        if let Some(from) = &e.promote_from
            && !index.contains_key(from.value.as_str())
        {
            let known: Vec<&str> = envs.iter().map(|e| e.value.name.value.as_str()).collect();
            return Err(ctx.err(
                Pos::of_spanned(from),
                format!(
                    "environment \"{}\": promote_from names unknown environment \"{}\" (known: {})",
                    e.name.value,
                    from.value,
                    known.join(", ")
                ),
            ));
        }
    }
    for start in 0..envs.len() {
        let mut chain = vec![start];
        let mut at = start;
        while let Some(next) = parent(at) {
            if next == start {
                // `chain` walks against the flow (env ← its source); print it along the flow.
                let names: Vec<&str> = std::iter::once(&start)
                    .chain(chain[1..].iter().rev())
                    .chain(std::iter::once(&start))
                    .map(|&i| envs[i].value.name.value.as_str())
                    .collect();
                let pos = envs[start]
                    .value
                    .promote_from
                    .as_ref()
                    .map(Pos::of_spanned)
                    .unwrap_or_default();
                return Err(ctx.err(pos, format!("promote_from cycle: {}", names.join(" → "))));
            }
            if chain.contains(&next) {
                // A loop further up the chain; it is reported when `start` reaches it.
                break;
            }
            chain.push(next);
            at = next;
        }
    }
    Ok(())
}

fn duration_or(
    raw: Option<&Spanned<String>>,
    default: Duration,
    field: &str,
    ctx: &Ctx<'_>,
) -> Result<Duration, Error> {
    match raw {
        None => Ok(default),
        Some(s) => duration::parse(&s.value).ok_or_else(|| {
            ctx.err(
                Pos::of_spanned(s),
                format!(
                    "{field}: invalid duration \"{}\": expected {}",
                    s.value,
                    duration::EXPECTED
                ),
            )
        }),
    }
}

/// URLs git fetches over the network (or `file://`) are kept verbatim; anything else is a path.
pub fn is_remote_url(url: &str) -> bool {
    const SCHEMES: [&str; 6] = [
        "https://",
        "http://",
        "ssh://",
        "git://",
        "file://",
        "git+ssh://",
    ];
    if SCHEMES.iter().any(|s| url.starts_with(s)) {
        return true;
    }
    // scp-like syntax, `git@github.com:org/repo.git`: a user@host before the first ':' and no
    // '/' before that ':' (which would make it a local path containing ':').
    match url.split_once(':') {
        Some((head, _)) => head.contains('@') && !head.contains('/'),
        None => false,
    }
}

/// `~/x` is the home folder; a relative path is relative to `dir`. The result is absolute and
/// lexically normalized (no `.`/`..`), without touching the file system.
pub fn resolve_local(dir: &Path, path: &str) -> PathBuf {
    let expanded = match path.strip_prefix("~/") {
        Some(rest) => directories::BaseDirs::new().map(|b| b.home_dir().join(rest)),
        None => None,
    };
    let joined = expanded.unwrap_or_else(|| dir.join(path));
    normalize(&joined)
}

/// Removes `.` and resolves `..` lexically.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// A repo-relative folder, normalized to `/`-separated components; the repo root is `.`.
fn env_path(path: &str) -> Result<PathBuf, &'static str> {
    let p = Path::new(path.trim());
    if path.trim().is_empty() {
        return Err("is empty; expected a folder inside the repo, e.g. overlays/dev");
    }
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => {
                return Err("is absolute; expected a path relative to the repo root");
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err("escapes the repo root; expected a folder inside the repo");
                }
            }
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
        }
    }
    if parts.is_empty() {
        return Ok(PathBuf::from("."));
    }
    Ok(PathBuf::from(parts.join("/")))
}

/// RFC 1123 label, as Kubernetes uses for namespaces: env names end up in object names
/// (`driftdeck-<env>` ConfigMap and Lease), so they must be valid there.
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_are_recognized() {
        for url in [
            "https://github.com/o/r.git",
            "ssh://git@host/o/r",
            "git@github.com:o/r.git",
            "file:///srv/repo",
        ] {
            assert!(is_remote_url(url), "{url}");
        }
        for path in ["./repo", "repo", "/srv/repo", "../a:b", "dir/x@y:z"] {
            assert!(!is_remote_url(path), "{path}");
        }
    }

    #[test]
    fn env_paths_are_normalized_and_confined() {
        assert_eq!(env_path("overlays/dev"), Ok(PathBuf::from("overlays/dev")));
        assert_eq!(
            env_path("./overlays//dev/"),
            Ok(PathBuf::from("overlays/dev"))
        );
        assert_eq!(env_path("overlays/../base"), Ok(PathBuf::from("base")));
        assert_eq!(env_path("."), Ok(PathBuf::from(".")));
        assert!(env_path("/etc").is_err());
        assert!(env_path("overlays/../../x").is_err());
        assert!(env_path("").is_err());
    }

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("dev"));
        assert!(is_dns_label("eu-west-1"));
        for bad in ["", "Dev", "-dev", "dev-", "dev_1", "a.b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }

    #[test]
    fn local_paths_resolve_against_the_config_folder() {
        let dir = Path::new("/srv/dd");
        assert_eq!(resolve_local(dir, "./repo"), PathBuf::from("/srv/dd/repo"));
        assert_eq!(resolve_local(dir, "../repo"), PathBuf::from("/srv/repo"));
        assert_eq!(resolve_local(dir, "/abs/repo"), PathBuf::from("/abs/repo"));
    }
}
