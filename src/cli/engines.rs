//! `driftdeck engines [--context C]`: the Argo CD Applications (all namespaces) and Flux
//! Kustomizations one context has, as a table, then a ready-to-paste `environments:` block
//! that drives each of them (ARCHITECTURE.md, "CLI contract"; issue "Drive Argo CD and Flux").
//!
//! Decisions:
//! - The kubeconfig is the one `--config`'s file names when the flag is given (so the block's
//!   contexts match the config it is pasted into), else kubectl's lookup (`KUBECONFIG`,
//!   `~/.kube/config`). This command exists to write a config, so it does not need one.
//!   `--context` defaults to the kubeconfig's current context.
//! - A kind whose CRD is not installed (the list answers 404) means "none of that engine", not
//!   an error. A list the user may not read (403) is reported on stderr, naming the kind and the
//!   context; the other engine is still listed and the command exits 1, because the listing is
//!   incomplete. Any other failure (unreachable cluster) exits 2.
//! - The env's `context` is the context the CR lives in: driftdeck drives the engine through its
//!   CR there. `namespace` is where the objects land (Flux `spec.targetNamespace`, Argo
//!   `spec.destination.namespace`), falling back to the CR's own namespace; `path` is the path in
//!   the engine's source (`spec.path`, `spec.source.path`; `./` stripped), `.` when the CR has
//!   none (Argo multi-source), with a YAML comment saying so. An Argo Application whose
//!   destination is another cluster gets a comment too: its live objects are not in this context.
//!   "Another cluster" is the Argo CD task's own test (`argocd::destination`): neither Argo CD's
//!   in-cluster names nor the context's own server (from the kubeconfig).
//! - Env names are the CR's name (`.` → `-`, so it is a DNS label); when two CRs would get the same
//!   name the later ones get `-<cr namespace>` appended, and still-duplicates a counter. A name
//!   is at most 63 characters: a long one is cut before the suffix, so the suffix always shows.

use std::collections::BTreeSet;
use std::io::Write;

use clap::Args;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use serde_json::Value;

use super::{CmdResult, Failure, GlobalArgs};
use crate::cluster::{self, Cluster};
use crate::controller::external::{argocd, flux};

#[derive(Debug, Args)]
pub struct EnginesArgs {
    /// Kubeconfig context to look in (default: the kubeconfig's current context).
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<String>,
}

/// Which in-cluster engine a listed CR belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EngineKind {
    ArgoCd,
    Flux,
}

impl EngineKind {
    fn word(self) -> &'static str {
        match self {
            EngineKind::ArgoCd => "argocd",
            EngineKind::Flux => "flux",
        }
    }

    /// What a list of this kind is called in messages.
    fn plural(self) -> &'static str {
        match self {
            EngineKind::ArgoCd => "Argo CD Applications (applications.argoproj.io)",
            EngineKind::Flux => "Flux Kustomizations (kustomizations.kustomize.toolkit.fluxcd.io)",
        }
    }

    fn resource(self) -> ApiResource {
        match self {
            EngineKind::ArgoCd => argocd::application_resource(),
            EngineKind::Flux => flux::kustomization_resource(),
        }
    }
}

/// One engine CR, flattened to what the table and the block show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub engine: EngineKind,
    /// The CR's name and namespace.
    pub name: String,
    pub cr_namespace: String,
    /// Where its objects land.
    pub namespace: String,
    /// The path in its source; `None` when the CR has no single path.
    pub path: Option<String>,
    /// Source as `repo@revision` (Argo) or `Kind/name` (Flux).
    pub source: String,
    /// Sync/Ready summary as the CR's status says it.
    pub state: String,
    /// Argo only: a destination other than the cluster the CR lives in.
    pub remote_destination: Option<String>,
}

/// The non-empty string at `pointer`, owned (the Argo CD reader's `text`).
fn text(v: &Value, pointer: &str) -> Option<String> {
    argocd::json_text(v, pointer).map(str::to_owned)
}

fn clean_path(p: &str) -> String {
    let trimmed = p.trim().trim_start_matches("./").trim_end_matches('/');
    if trimmed.is_empty() {
        ".".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Reads one CR (as JSON) of `engine`; `context_server` is the context's API server URL (an
/// Argo CD Application deploying there is not remote).
pub(crate) fn found(engine: EngineKind, obj: &Value, context_server: Option<&str>) -> Found {
    let name = text(obj, "/metadata/name").unwrap_or_default();
    let cr_namespace = text(obj, "/metadata/namespace").unwrap_or_default();
    match engine {
        EngineKind::Flux => {
            let ready = obj
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| {
                    cs.iter()
                        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
                })
                .map(|c| {
                    format!(
                        "Ready={}",
                        c.get("status").and_then(Value::as_str).unwrap_or("Unknown")
                    )
                })
                .unwrap_or_else(|| "no status".to_owned());
            let suspended = obj.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
            Found {
                engine,
                namespace: text(obj, "/spec/targetNamespace")
                    .unwrap_or_else(|| cr_namespace.clone()),
                path: Some(clean_path(
                    &text(obj, "/spec/path").unwrap_or_else(|| ".".into()),
                )),
                source: format!(
                    "{}/{}",
                    text(obj, "/spec/sourceRef/kind").unwrap_or_else(|| "?".into()),
                    text(obj, "/spec/sourceRef/name").unwrap_or_else(|| "?".into())
                ),
                state: if suspended {
                    format!("{ready}, suspended")
                } else {
                    ready
                },
                remote_destination: None,
                name,
                cr_namespace,
            }
        }
        EngineKind::ArgoCd => {
            let sync = text(obj, "/status/sync/status").unwrap_or_else(|| "Unknown".into());
            let health = text(obj, "/status/health/status").unwrap_or_else(|| "Unknown".into());
            let repo = text(obj, "/spec/source/repoURL")
                .or_else(|| text(obj, "/spec/sources/0/repoURL"))
                .unwrap_or_else(|| "?".into());
            let rev = text(obj, "/spec/source/targetRevision").unwrap_or_else(|| "HEAD".into());
            let server = text(obj, "/spec/destination/server");
            let dest_name = text(obj, "/spec/destination/name");
            // The engine task's own test, so the note agrees with where pods are read.
            let here = argocd::destination(obj, context_server) == argocd::Destination::Here;
            Found {
                engine,
                namespace: text(obj, "/spec/destination/namespace")
                    .unwrap_or_else(|| cr_namespace.clone()),
                path: text(obj, "/spec/source/path").map(|p| clean_path(&p)),
                source: format!("{repo}@{rev}"),
                state: format!("{sync}/{health}"),
                remote_destination: (!here).then(|| server.or(dest_name).unwrap_or_default()),
                name,
                cr_namespace,
            }
        }
    }
}

/// A DNS label made from a CR name (`.` and `_` become `-`, lowercased, at most 63 characters).
fn label(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    s.truncate(63);
    s.trim_matches('-').to_owned()
}

/// `base-suffix` as a DNS label: `base` (a [`label`]) is cut so the suffix always fits. Cutting
/// after appending would drop the suffix of a long `base`, and every suffixed name would equal
/// `base` again.
fn suffixed(base: &str, suffix: &str) -> String {
    let mut suffix = label(suffix);
    if suffix.is_empty() {
        return base.to_owned();
    }
    // Leave at least one character of `base` before the `-`.
    suffix.truncate(61);
    let suffix = suffix.trim_end_matches('-');
    let head = base
        .get(..base.len().min(62 - suffix.len()))
        .unwrap_or(base)
        .trim_end_matches('-');
    label(&format!("{head}-{suffix}"))
}

/// A YAML flow scalar: plain when it is unambiguous, else double-quoted (JSON quoting is valid
/// YAML).
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !matches!(
            s,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~"
        )
        && !s.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
        || s == ".";
    if plain {
        s.to_owned()
    } else {
        serde_json::Value::String(s.to_owned()).to_string()
    }
}

/// The `environments:` block for `found`, all in `context`.
pub(crate) fn environments_block(context: &str, found: &[Found]) -> String {
    let mut used = BTreeSet::new();
    let mut out = String::from("environments:\n");
    for f in found {
        let base = label(&f.name);
        let mut name = base.clone();
        if used.contains(&name) {
            name = suffixed(&base, &f.cr_namespace);
        }
        let mut n = 2;
        while used.contains(&name) {
            name = suffixed(&base, &n.to_string());
            n += 1;
        }
        used.insert(name.clone());
        let key = match f.engine {
            EngineKind::ArgoCd => "application",
            EngineKind::Flux => "kustomization",
        };
        out.push_str(&format!(
            "  - {{name: {}, context: {}, namespace: {}, path: {}, engine: {{{}: {{{key}: {}, namespace: {}}}}}}}",
            scalar(&name),
            scalar(context),
            scalar(&f.namespace),
            scalar(f.path.as_deref().unwrap_or(".")),
            f.engine.word(),
            scalar(&f.name),
            scalar(&f.cr_namespace),
        ));
        let mut notes = Vec::new();
        if f.path.is_none() {
            notes.push("no single source path in the Application; set path".to_owned());
        }
        if let Some(dest) = &f.remote_destination {
            notes.push(format!(
                "deploys to {dest}, not this context: pods and drift are read from {context}"
            ));
        }
        if !notes.is_empty() {
            out.push_str(&format!("  # {}", notes.join("; ")));
        }
        out.push('\n');
    }
    out
}

/// The table: one row per CR.
fn table(found: &[Found]) -> String {
    let header = [
        "ENGINE",
        "NAMESPACE",
        "NAME",
        "STATE",
        "TARGET",
        "PATH",
        "SOURCE",
    ];
    let rows: Vec<[String; 7]> = found
        .iter()
        .map(|f| {
            [
                f.engine.word().to_owned(),
                f.cr_namespace.clone(),
                f.name.clone(),
                f.state.clone(),
                f.namespace.clone(),
                f.path.clone().unwrap_or_else(|| "-".into()),
                f.source.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(&header.map(str::to_owned));
    for r in &rows {
        out.push_str(&line(r));
    }
    out
}

/// How listing one kind ended.
enum Listed {
    Found(Vec<Found>),
    NotInstalled,
    Forbidden(String),
}

async fn list(
    cluster: &Cluster,
    server: Option<&str>,
    engine: EngineKind,
) -> Result<Listed, Failure> {
    let api: Api<DynamicObject> = Api::all_with(cluster.client().clone(), &engine.resource());
    match api.list(&ListParams::default()).await {
        Ok(list) => {
            let mut found: Vec<Found> = list
                .items
                .iter()
                .filter_map(|o| serde_json::to_value(o).ok())
                .map(|v| found(engine, &v, server))
                .collect();
            found.sort_by(|a, b| (&a.cr_namespace, &a.name).cmp(&(&b.cr_namespace, &b.name)));
            Ok(Listed::Found(found))
        }
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Listed::NotInstalled),
        Err(e) => {
            let err = cluster.api_error(format!("listing {}", engine.plural()), e);
            if err.is_forbidden() {
                Ok(Listed::Forbidden(err.to_string()))
            } else {
                Err(Failure::setup(err))
            }
        }
    }
}

pub fn run(global: &GlobalArgs, args: EnginesArgs) -> CmdResult {
    let explicit = match &global.config {
        Some(_) => super::load_config(global)?.kubeconfig,
        None => None,
    };
    let kubeconfig = cluster::load_kubeconfig(explicit.as_deref()).map_err(Failure::setup)?;
    let context = match (&args.context, &kubeconfig) {
        (Some(c), _) => c.clone(),
        (None, Some(kc)) => kc.current_context.clone().ok_or_else(|| {
            Failure::Setup("the kubeconfig has no current-context; pass --context C".to_owned())
        })?,
        (None, None) => {
            return Err(Failure::Setup(
                "no kubeconfig found (--config's kubeconfig:, KUBECONFIG, ~/.kube/config); pass one"
                    .to_owned(),
            ));
        }
    };
    let server = cluster::context_server(kubeconfig.as_ref(), &context);
    let (argo, flux) = super::runtime()?.block_on(async {
        let cluster = Cluster::connect(kubeconfig.as_ref(), &context)
            .await
            .map_err(Failure::setup)?;
        let argo = list(&cluster, server.as_deref(), EngineKind::ArgoCd).await?;
        let flux = list(&cluster, server.as_deref(), EngineKind::Flux).await?;
        Ok::<_, Failure>((argo, flux))
    })?;
    let mut all = Vec::new();
    let mut forbidden = Vec::new();
    let mut absent = Vec::new();
    for (engine, listed) in [(EngineKind::ArgoCd, argo), (EngineKind::Flux, flux)] {
        match listed {
            Listed::Found(f) => all.extend(f),
            Listed::NotInstalled => absent.push(engine),
            Listed::Forbidden(why) => forbidden.push(why),
        }
    }
    let mut out = std::io::stdout().lock();
    let mut text = String::new();
    if all.is_empty() && forbidden.is_empty() {
        text.push_str(&format!(
            "no Argo CD Applications or Flux Kustomizations in context {context}\n"
        ));
    } else if all.is_empty() {
        text.push_str(&format!("nothing listed in context {context}\n"));
    } else {
        text.push_str(&table(&all));
        text.push('\n');
        text.push_str(&format!(
            "# paste into driftdeck.yaml (context {context}):\n"
        ));
        text.push_str(&environments_block(&context, &all));
    }
    for engine in absent {
        text.push_str(&format!(
            "# {}: not installed in context {context}\n",
            engine.plural()
        ));
    }
    out.write_all(text.as_bytes()).map_err(Failure::stdout)?;
    out.flush().map_err(Failure::stdout)?;
    if forbidden.is_empty() {
        Ok(())
    } else {
        Err(Failure::Action(Some(forbidden.join("\ndriftdeck: "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_flux_kustomization_becomes_an_env_with_its_target_namespace_and_path() {
        let ks = json!({"metadata": {"name": "podinfo", "namespace": "flux-system"},
            "spec": {"path": "./kustomize", "targetNamespace": "default", "suspend": true,
                     "sourceRef": {"kind": "GitRepository", "name": "podinfo"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let f = found(EngineKind::Flux, &ks, None);
        assert_eq!(f.namespace, "default");
        assert_eq!(f.path.as_deref(), Some("kustomize"));
        assert_eq!(f.state, "Ready=True, suspended");
        assert_eq!(
            environments_block("dev", &[f]),
            "environments:\n  - {name: podinfo, context: dev, namespace: default, path: kustomize, engine: {flux: {kustomization: podinfo, namespace: flux-system}}}\n"
        );
    }

    #[test]
    fn argo_apps_with_the_same_name_get_distinct_env_names_and_remote_ones_a_note() {
        let app = |ns: &str, server: &str| {
            json!({"metadata": {"name": "api.v2", "namespace": ns},
                "spec": {"source": {"repoURL": "https://g/x.git", "path": "apps/api"},
                         "destination": {"server": server, "namespace": "prod"}}})
        };
        let a = found(
            EngineKind::ArgoCd,
            &app("argocd", "https://kubernetes.default.svc"),
            None,
        );
        let b = found(
            EngineKind::ArgoCd,
            &app("team-a", "https://eu.example:6443"),
            None,
        );
        let block = environments_block("prod", &[a, b]);
        let lines: Vec<&str> = block.lines().collect();
        assert_eq!(
            lines[1],
            "  - {name: api-v2, context: prod, namespace: prod, path: apps/api, engine: {argocd: {application: api.v2, namespace: argocd}}}"
        );
        assert!(
            lines[2].starts_with("  - {name: api-v2-team-a, "),
            "{block}"
        );
        assert!(
            lines[2].ends_with("# deploys to https://eu.example:6443, not this context: pods and drift are read from prod"),
            "{block}"
        );
    }

    #[test]
    fn an_app_deploying_to_the_contexts_own_server_gets_no_remote_note() {
        let app = |server: &str| {
            json!({"metadata": {"name": "api", "namespace": "argocd"},
                "spec": {"source": {"repoURL": "https://g/x.git", "path": "apps/api"},
                         "destination": {"server": server, "namespace": "prod"}}})
        };
        let context_server = Some("https://10.0.0.1:6443");
        let own = found(
            EngineKind::ArgoCd,
            &app("https://10.0.0.1:6443/"),
            context_server,
        );
        assert_eq!(own.remote_destination, None);
        let other = found(
            EngineKind::ArgoCd,
            &app("https://eu.example:6443"),
            context_server,
        );
        assert_eq!(
            other.remote_destination.as_deref(),
            Some("https://eu.example:6443")
        );
        let named = json!({"metadata": {"name": "api", "namespace": "argocd"},
            "spec": {"destination": {"name": "prod-eu", "namespace": "prod"}}});
        assert_eq!(
            found(EngineKind::ArgoCd, &named, context_server)
                .remote_destination
                .as_deref(),
            Some("prod-eu")
        );
    }

    #[test]
    fn long_names_alike_in_their_first_63_characters_get_distinct_env_names() {
        let long = format!("payments-{}", "x".repeat(70));
        let app = |ns: &str| {
            json!({"metadata": {"name": long, "namespace": ns},
                "spec": {"source": {"repoURL": "https://g/x.git", "path": "apps/pay"},
                         "destination": {"server": "https://kubernetes.default.svc"}}})
        };
        let ks = json!({"metadata": {"name": long, "namespace": "team-a"},
            "spec": {"path": "./pay", "sourceRef": {"kind": "GitRepository", "name": "pay"}}});
        let crs = vec![
            found(EngineKind::ArgoCd, &app("argocd"), None),
            found(EngineKind::ArgoCd, &app("team-a"), None),
            found(EngineKind::Flux, &ks, None),
        ];
        // On its own thread with a deadline: the bug this guards against looped forever.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(environments_block("prod", &crs)));
        let block = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("environments_block returned within 10 s");
        let names: Vec<&str> = block
            .lines()
            .skip(1)
            .filter_map(|l| l.strip_prefix("  - {name: ")?.split(',').next())
            .collect();
        let first = &label(&long);
        assert_eq!(first.len(), 63, "{block}");
        assert_eq!(
            names,
            [
                first.clone(),
                format!("{}-team-a", &first[..56]),
                format!("{}-2", &first[..61]),
            ],
            "{block}"
        );
    }

    #[test]
    fn odd_values_are_quoted_so_the_block_stays_valid_yaml() {
        assert_eq!(scalar("apps/api"), "apps/api");
        assert_eq!(scalar("."), ".");
        assert_eq!(scalar("on"), "\"on\"");
        assert_eq!(scalar("a b: c"), "\"a b: c\"");
        assert_eq!(scalar("1234"), "\"1234\"");
    }
}
