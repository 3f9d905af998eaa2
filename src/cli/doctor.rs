//! `driftdeck doctor [--config F]`: tells a user, before the console shows errors, why their
//! config, repo, kubeconfig, contexts or RBAC will not work (in the spirit of `flux check`).
//!
//! One line per check, printed as it finishes: `ok`, `warn` or `FAIL`, what was checked, what
//! was found and, for anything not ok, a `fix:` hint. Exit 0 when nothing failed, 1 when a check
//! failed (warnings do not fail), 2 only when stdout cannot be written.
//!
//! The checks, in order: the config file loads and validates; the repo is reachable (a remote is
//! fetched into the cache, exactly as the console would) and its branch resolves; every env
//! renders at the branch head; the kubeconfig loads; every context the envs use answers
//! `/version` (the line names the server address, so a dead context says where it looked);
//! per env, the RBAC the configured mode needs, asked of the server with one
//! SelfSubjectAccessReview per verb and resource (what `kubectl auth can-i` does); and per env,
//! whether another engine already manages the env's live objects.
//!
//! Decisions:
//! - The RBAC a mode needs is derived from what the env renders, resolved through discovery:
//!   read-only needs get/list/watch on every rendered kind plus get on the state ConfigMap and
//!   Lease; sync (the default) also needs `patch` (server-side apply) on every kind, `delete`
//!   when the env prunes, and create/update on the state ConfigMap and Lease. Every missing
//!   permission is named (`patch deployments.apps in log-platform`), not just the first.
//! - A server that does not serve `authorization.k8s.io/v1` (the embedded sandbox authorizes
//!   everything and has no such API) gets a `warn`, not a pass or a failure: nothing was checked.
//! - Another engine is recognised by the marks Argo CD and Flux leave on the objects they own:
//!   their tracking labels and annotations and their field managers. Two engines applying the
//!   same objects fight forever, so this is a failure, not a warning.
//! - A check that cannot run because an earlier one failed (no render, unreachable context) is
//!   not printed: the earlier failure is the one to fix.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use kube::config::Kubeconfig;
use serde_json::Value;

use super::{CmdResult, Failure, GlobalArgs};
use crate::cluster::{self, Access, Cluster, Permission};
use crate::config::{Config, EnvConfig};
use crate::controller;
use crate::model::{Manifest, short_sha};

/// How long one context may take to answer `/version` before it is called unreachable.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Labels and annotations by which another engine marks the objects it owns.
const ENGINE_MARKS: [(&str, &str); 4] = [
    ("argocd.argoproj.io/instance", "Argo CD"),
    ("argocd.argoproj.io/tracking-id", "Argo CD"),
    ("kustomize.toolkit.fluxcd.io/name", "Flux"),
    ("helm.toolkit.fluxcd.io/name", "Flux"),
];

/// Field managers of other engines (server-side apply and update managers).
const ENGINE_MANAGERS: [(&str, &str); 4] = [
    ("argocd-controller", "Argo CD"),
    ("argocd-application-controller", "Argo CD"),
    ("kustomize-controller", "Flux"),
    ("helm-controller", "Flux"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
}

/// The lines printed so far and how many failed.
#[derive(Debug, Default)]
struct Report {
    failed: usize,
    warned: usize,
    checks: usize,
    write_error: Option<String>,
}

impl Report {
    fn line(&mut self, status: Status, check: &str, detail: &str, fix: Option<&str>) {
        self.checks += 1;
        let tag = match status {
            Status::Ok => "ok  ",
            Status::Warn => {
                self.warned += 1;
                "warn"
            }
            Status::Fail => {
                self.failed += 1;
                "FAIL"
            }
        };
        let mut text = format!("{tag} {check}: {detail}");
        if let Some(fix) = fix {
            text.push_str(&format!(" — fix: {fix}"));
        }
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, "{text}").and_then(|()| out.flush()) {
            self.write_error.get_or_insert_with(|| e.to_string());
        }
    }

    fn ok(&mut self, check: &str, detail: &str) {
        self.line(Status::Ok, check, detail, None);
    }

    fn warn(&mut self, check: &str, detail: &str, fix: &str) {
        self.line(Status::Warn, check, detail, Some(fix));
    }

    fn fail(&mut self, check: &str, detail: &str, fix: &str) {
        self.line(Status::Fail, check, detail, Some(fix));
    }

    fn finish(self) -> CmdResult {
        if let Some(e) = self.write_error {
            return Err(Failure::Setup(format!("doctor: writing to stdout: {e}")));
        }
        let summary = format!(
            "{} checks: {} failed, {} warnings",
            self.checks, self.failed, self.warned
        );
        if self.failed > 0 {
            Err(Failure::Action(Some(summary)))
        } else {
            println!("{summary}");
            Ok(())
        }
    }
}

pub fn run(global: &GlobalArgs) -> CmdResult {
    let mut report = Report::default();
    let config = match super::load_config(global) {
        Ok(config) => {
            report.ok(
                "config",
                &format!(
                    "{}: {} environments",
                    config.file.display(),
                    config.environments.len()
                ),
            );
            config
        }
        Err(Failure::Setup(msg) | Failure::Action(Some(msg))) => {
            report.fail(
                "config",
                &msg,
                "pass --config FILE, or write ./driftdeck.yaml (`driftdeck demo init DIR` writes an example)",
            );
            return report.finish();
        }
        Err(Failure::Action(None) | Failure::StdoutClosed) => return report.finish(),
    };
    let rendered = check_repo(&mut report, &config);
    let rt = super::runtime()?;
    rt.block_on(check_clusters(
        &mut report,
        &config,
        &rendered,
        global.read_only,
    ));
    report.finish()
}

/// The repo and every env's render; returns each env's manifests (None where it failed).
fn check_repo(report: &mut Report, config: &Config) -> Vec<Option<Vec<Manifest>>> {
    let url = &config.repo.url;
    let none = || config.environments.iter().map(|_| None).collect();
    let source = match controller::open_source(config) {
        Ok(source) => source,
        Err(e) => {
            let fix = if config.repo.is_remote() {
                "check the URL, your network, and credentials (ssh: a key in ssh-agent and the host in ~/.ssh/known_hosts; https: a git credential helper)"
            } else {
                "point repo.url at a Git repository (a folder with .git, or a remote URL)"
            };
            report.fail("repo", &format!("{url}: {e}"), fix);
            return none();
        }
    };
    // An existing cache mirror opens without the network: fetch, so "reachable" means it.
    if let Err(e) = source.fetch() {
        report.fail(
            "repo",
            &format!("{url}: {e}"),
            "check the URL, your network, and credentials (ssh: a key in ssh-agent and the host in ~/.ssh/known_hosts; https: a git credential helper)",
        );
        return none();
    }
    let branch = &config.repo.branch;
    match source.resolve(None) {
        Ok(rev) => report.ok(
            "repo",
            &format!(
                "{url}: reachable, branch {branch} at {}",
                short_sha(&rev.sha)
            ),
        ),
        Err(e) => {
            report.fail(
                "repo",
                &format!("{url}: branch {branch}: {e}"),
                "set repo.branch to a branch the repository has",
            );
            return none();
        }
    }
    config
        .environments
        .iter()
        .map(|env| {
            let check = format!("render {}", env.name);
            match controller::desired(&source, env, None) {
                Ok(desired) => {
                    let manifests = desired.rendered.manifests;
                    report.ok(
                        &check,
                        &format!(
                            "{}: {} objects at {}",
                            env.path.display(),
                            manifests.len(),
                            short_sha(&desired.revision.sha)
                        ),
                    );
                    Some(manifests)
                }
                Err(e) => {
                    report.fail(
                        &check,
                        &e.to_string(),
                        &format!(
                            "fix the manifests under {} (try `driftdeck render --env {}`)",
                            env.path.display(),
                            env.name
                        ),
                    );
                    None
                }
            }
        })
        .collect()
}

async fn check_clusters(
    report: &mut Report,
    config: &Config,
    rendered: &[Option<Vec<Manifest>>],
    read_only: bool,
) {
    let kubeconfig = match cluster::load_kubeconfig(config.kubeconfig.as_deref()) {
        Ok(Some(kc)) => {
            report.ok("kubeconfig", &format!("{} contexts", kc.contexts.len()));
            Some(kc)
        }
        Ok(None) => {
            report.warn(
                "kubeconfig",
                "none found (config kubeconfig:, KUBECONFIG, ~/.kube/config); using the in-cluster service account",
                "set kubeconfig: in the config or KUBECONFIG unless driftdeck runs in a pod",
            );
            None
        }
        Err(e) => {
            report.fail(
                "kubeconfig",
                &e.to_string(),
                "fix the file or point kubeconfig:/KUBECONFIG at a valid one",
            );
            return;
        }
    };
    let contexts: BTreeSet<&str> = config
        .environments
        .iter()
        .map(|e| e.context.as_str())
        .collect();
    let mut reachable = Vec::new();
    for context in contexts {
        if let Some(cluster) = check_context(report, kubeconfig.as_ref(), context).await {
            reachable.push(cluster);
        }
    }
    let mode = if read_only { "read-only" } else { "sync" };
    for (env, manifests) in config.environments.iter().zip(rendered) {
        let (Some(manifests), Some(cluster)) = (
            manifests,
            reachable.iter().find(|c| c.context() == env.context),
        ) else {
            continue;
        };
        check_rbac(report, cluster, env, manifests, read_only, mode).await;
        check_engines(report, cluster, env, manifests).await;
    }
}

/// The server address a context points at, as the kubeconfig says.
fn server_of(kubeconfig: Option<&Kubeconfig>, context: &str) -> String {
    if kubeconfig.is_none() {
        return "in-cluster".into();
    }
    cluster::context_server(kubeconfig, context).unwrap_or_else(|| "no server in kubeconfig".into())
}

async fn check_context(
    report: &mut Report,
    kubeconfig: Option<&Kubeconfig>,
    context: &str,
) -> Option<Cluster> {
    let check = format!("context {context}");
    let address = server_of(kubeconfig, context);
    let cluster = match Cluster::connect(kubeconfig, context).await {
        Ok(cluster) => cluster,
        Err(e) => {
            report.fail(
                &check,
                &format!("{address}: {e}"),
                &format!("add context {context} to the kubeconfig, or fix the env's context:"),
            );
            return None;
        }
    };
    let fix = format!(
        "check that the cluster at {address} is up and reachable from here (`kubectl --context {context} version`)"
    );
    match tokio::time::timeout(VERSION_TIMEOUT, cluster.client().apiserver_version()).await {
        Ok(Ok(info)) => {
            report.ok(
                &check,
                &format!("{address}: reachable, Kubernetes {}", info.git_version),
            );
            Some(cluster)
        }
        Ok(Err(e)) => {
            report.fail(&check, &format!("{address}: unreachable: {e}"), &fix);
            None
        }
        Err(_) => {
            report.fail(
                &check,
                &format!(
                    "{address}: unreachable: no answer within {}s",
                    VERSION_TIMEOUT.as_secs()
                ),
                &fix,
            );
            None
        }
    }
}

/// `p` as `kubectl auth can-i` spells it: `patch deployments.apps in log-platform`.
fn can_i(p: &Permission) -> String {
    let mut text = format!("{} {}", p.verb, p.resource);
    if !p.group.is_empty() {
        text.push('.');
        text.push_str(&p.group);
    }
    if p.namespace.is_empty() {
        text.push_str(" (cluster-wide)");
    } else {
        text.push_str(" in ");
        text.push_str(&p.namespace);
    }
    text
}

/// The permissions the mode needs for `env`, from the kinds it renders.
async fn needed_permissions(
    cluster: &Cluster,
    env: &EnvConfig,
    manifests: &[Manifest],
    read_only: bool,
) -> Result<BTreeSet<Permission>, String> {
    // An engine env: driftdeck reads and writes only the engine's CR (the engine applies);
    // the same permissions the CLI checks before a verb (`access.rs`).
    if let Some((group, resource, namespace)) = super::access::engine_resource(env) {
        let verbs: &[&'static str] = if read_only {
            &["get"]
        } else {
            &["get", "update", "patch"]
        };
        return Ok(verbs
            .iter()
            .map(|verb| Permission::new(verb, group, resource, namespace))
            .collect());
    }
    let mut verbs: Vec<&'static str> = vec!["get", "list", "watch"];
    if !read_only {
        verbs.push("patch");
        if env.prune {
            verbs.push("delete");
        }
    }
    let mut needed = BTreeSet::new();
    for m in manifests {
        let kind = cluster
            .resolve(m.api_version(), m.kind())
            .await
            .map_err(|e| e.to_string())?;
        let namespace = match (kind.namespaced, m.namespace()) {
            (false, _) => String::new(),
            (true, "") => env.namespace.clone(),
            (true, ns) => ns.to_owned(),
        };
        for &verb in &verbs {
            needed.insert(Permission::new(
                verb,
                &kind.resource.group,
                &kind.resource.plural,
                &namespace,
            ));
        }
    }
    let state_verbs: &[&'static str] = if read_only {
        &["get"]
    } else {
        &["get", "create", "update"]
    };
    for (group, resource) in [("", "configmaps"), ("coordination.k8s.io", "leases")] {
        for &verb in state_verbs {
            needed.insert(Permission::new(verb, group, resource, &env.state_namespace));
        }
    }
    Ok(needed)
}

async fn check_rbac(
    report: &mut Report,
    cluster: &Cluster,
    env: &EnvConfig,
    manifests: &[Manifest],
    read_only: bool,
    mode: &str,
) {
    let check = format!("rbac {} ({mode})", env.name);
    let context = &env.context;
    let needed = match needed_permissions(cluster, env, manifests, read_only).await {
        Ok(needed) => needed,
        Err(e) => {
            report.fail(
                &check,
                &e,
                "install the CRDs the env uses, or fix the manifests' apiVersion/kind",
            );
            return;
        }
    };
    let mut missing = Vec::new();
    for p in &needed {
        match cluster.may(p).await {
            Ok(Access::Allowed) => {}
            Ok(Access::Denied(_)) => missing.push(p),
            Ok(Access::Unknown) => {
                report.warn(
                    &check,
                    &format!(
                        "not checked: context {context} does not serve SelfSubjectAccessReview (authorization.k8s.io/v1)"
                    ),
                    &format!("check by hand: kubectl --context {context} auth can-i --list"),
                );
                return;
            }
            Err(e) => {
                report.fail(
                    &check,
                    &format!("context {context}: asking the server for access reviews: {e}"),
                    "let the user create selfsubjectaccessreviews (every authenticated user may by default)",
                );
                return;
            }
        }
    }
    let Some(first) = missing.first() else {
        report.ok(
            &check,
            &format!(
                "context {context} may do all {} things {mode} needs",
                needed.len()
            ),
        );
        return;
    };
    let list: Vec<String> = missing.iter().map(|p| can_i(p)).collect();
    let ns_flag = if first.namespace.is_empty() {
        String::new()
    } else {
        format!(" -n {}", first.namespace)
    };
    let resource = if first.group.is_empty() {
        first.resource.clone()
    } else {
        format!("{}.{}", first.resource, first.group)
    };
    let alternative = if read_only {
        ""
    } else {
        ", or run with --read-only"
    };
    report.fail(
        &check,
        &format!(
            "context {context} may not {} ({} of {} needed)",
            list.join(", "),
            missing.len(),
            needed.len()
        ),
        &format!(
            "bind the user of context {context} to a Role granting these verbs{alternative}; check with `kubectl --context {context} auth can-i {} {resource}{ns_flag}`",
            first.verb
        ),
    );
}

/// The engine that marked `obj` as its own, and the mark, if any.
fn foreign_engine(obj: &Value) -> Option<(&'static str, String)> {
    let meta = obj.get("metadata")?;
    for field in ["labels", "annotations"] {
        let Some(map) = meta.get(field).and_then(Value::as_object) else {
            continue;
        };
        for (mark, engine) in ENGINE_MARKS {
            if let Some(value) = map.get(mark) {
                let value = value.as_str().unwrap_or_default();
                return Some((engine, format!("{mark}={value}")));
            }
        }
    }
    let managers = meta.get("managedFields").and_then(Value::as_array)?;
    managers.iter().find_map(|entry| {
        let manager = entry.get("manager").and_then(Value::as_str)?;
        ENGINE_MANAGERS
            .iter()
            .find(|(name, _)| *name == manager)
            .map(|(name, engine)| (*engine, format!("field manager {name}")))
    })
}

async fn check_engines(
    report: &mut Report,
    cluster: &Cluster,
    env: &EnvConfig,
    manifests: &[Manifest],
) {
    let check = format!("engines {}", env.name);
    // An engine env's objects carry its engine's marks by design: that is who applies them.
    if let Some((_, resource, namespace)) = super::access::engine_resource(env) {
        report.ok(
            &check,
            &format!(
                "reconciled by {} ({resource} in {namespace}); driftdeck drives it through the CR and applies nothing itself",
                env.engine.name()
            ),
        );
        return;
    }
    let mut live = 0;
    let mut foreign = Vec::new();
    for m in manifests {
        let namespace = if m.namespace().is_empty() && m.kind() != "Namespace" {
            env.namespace.as_str()
        } else {
            m.namespace()
        };
        let obj = match cluster
            .get(m.api_version(), m.kind(), namespace, m.name())
            .await
        {
            Ok(Some(obj)) => obj,
            Ok(None) => continue,
            Err(e) => {
                report.warn(
                    &check,
                    &format!("could not read {} {}: {e}", m.kind(), m.name()),
                    "grant get on the env's kinds to check for other engines",
                );
                return;
            }
        };
        live += 1;
        if let Some((engine, mark)) = foreign_engine(&obj) {
            foreign.push((engine, format!("{} {}: {mark}", m.kind(), m.name())));
        }
    }
    let Some((engine, example)) = foreign.first() else {
        report.ok(
            &check,
            &format!(
                "no Argo CD or Flux marks on the {live} live objects ({} not created yet)",
                manifests.len() - live
            ),
        );
        return;
    };
    report.fail(
        &check,
        &format!(
            "{} of {live} live objects are already managed by {engine} (e.g. {example})",
            foreign.len()
        ),
        &format!(
            "let one engine own them: remove them from {engine}, or drive {engine} from driftdeck instead of applying"
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flux_and_argo_marks_name_their_engine() {
        let flux = json!({"metadata": {"labels": {"kustomize.toolkit.fluxcd.io/name": "apps"}}});
        assert_eq!(
            foreign_engine(&flux),
            Some(("Flux", "kustomize.toolkit.fluxcd.io/name=apps".into()))
        );
        let argo = json!({"metadata": {"managedFields": [
            {"manager": "kubectl-client-side-apply"},
            {"manager": "argocd-controller"}
        ]}});
        assert_eq!(
            foreign_engine(&argo),
            Some(("Argo CD", "field manager argocd-controller".into()))
        );
        let ours = json!({"metadata": {
            "labels": {"app.kubernetes.io/managed-by": "driftdeck"},
            "managedFields": [{"manager": "driftdeck"}, {"manager": "kubectl-edit"}]
        }});
        assert_eq!(foreign_engine(&ours), None);
    }

    #[test]
    fn a_permission_reads_like_kubectl_auth_can_i() {
        let p = Permission::new("patch", "apps", "deployments", "log-platform");
        assert_eq!(can_i(&p), "patch deployments.apps in log-platform");
        let ns = Permission::new("get", "", "namespaces", "");
        assert_eq!(can_i(&ns), "get namespaces (cluster-wide)");
    }
}
