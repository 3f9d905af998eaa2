//! A stand-in for Flux's source-controller and kustomize-controller, which cannot run here.
//! It is test code, not Flux, and does only what the engine tests need, writing status in the
//! shapes `../shared/engines/README.md` documents (Flux's kustomizations.md / gitrepositories.md):
//!
//! - **source-controller** (GitRepository `repo` in the test namespace): while the object's
//!   `reconcile.fluxcd.io/requestedAt` differs from its `status.lastHandledReconcileAt`, or it has
//!   no artifact yet, it "fetches": `status.artifact.revision = main@sha1:<the test repo's HEAD>`,
//!   `lastHandledReconcileAt = <requestedAt>`, condition `Ready=True/Succeeded`.
//! - **kustomize-controller** (Kustomization `apps`): when not `spec.suspend` and the request
//!   annotation is unhandled, or `observedGeneration` ≠ `generation`, or it has no status yet, it
//!   applies every YAML file under the Kustomization's path in the test repo's HEAD work tree
//!   (server-side apply, field manager `kustomize-controller`, labels
//!   `kustomize.toolkit.fluxcd.io/name|namespace` added, namespace = `spec.targetNamespace`), then
//!   writes `lastAppliedRevision`/`lastAttemptedRevision` = the GitRepository's artifact revision,
//!   `lastHandledReconcileAt`, `observedGeneration`, `Ready=True/ReconciliationSucceeded`, the
//!   inventory and one `history` entry. A suspended Kustomization is left alone, as Flux does.
//! - What it does **not** do: Flux's interval-driven reconciles and drift correction (live edits
//!   stay until a requested reconcile, which is what lets the tests see drift), health checks,
//!   pruning, dependencies, decryption, post-build substitution.
//!
//! Status is written through the `status` subresource the CRDs declare; the sandbox serves
//! CRDs without their subresources, so there it is written through the object itself.
//!
//! It polls (every 100 ms) through a kube client until dropped. With a `delay`, it handles a
//! Kustomization's reconcile request only once it has seen that request for that long, as a
//! real controller busy applying and health-checking would: a client that does not wait for
//! `lastHandledReconcileAt` then visibly returns too early.

use std::path::PathBuf;
use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use serde_json::{Value, json};

pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";

pub fn kustomization_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kustomize.toolkit.fluxcd.io", "v1", "Kustomization"),
        "kustomizations",
    )
}

pub fn gitrepository_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", "GitRepository"),
        "gitrepositories",
    )
}

/// The running stand-in; stops when dropped.
pub struct FluxStandin {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FluxStandin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn head(repo: &std::path::Path) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "HEAD"])
        .output()
        .expect("git rev-parse");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

impl FluxStandin {
    /// Reconciles GitRepository `repo` and Kustomization `apps` in `ns` from the Git work tree
    /// at `repo_dir`.
    pub fn start(
        client: kube::Client,
        ns: &str,
        repo_dir: PathBuf,
        delay: Duration,
    ) -> FluxStandin {
        let ns = ns.to_owned();
        let task = tokio::spawn(async move {
            let mut seen: Option<(String, std::time::Instant)> = None;
            loop {
                if let Err(e) = round(&client, &ns, &repo_dir, delay, &mut seen).await {
                    eprintln!("flux stand-in: {e}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        FluxStandin { task }
    }
}

async fn round(
    client: &kube::Client,
    ns: &str,
    repo_dir: &std::path::Path,
    delay: Duration,
    seen: &mut Option<(String, std::time::Instant)>,
) -> Result<(), String> {
    let git: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &gitrepository_resource());
    let ks: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &kustomization_resource());
    let e = |e: kube::Error| e.to_string();
    if let Some(obj) = git.get_opt("repo").await.map_err(e)? {
        let obj = serde_json::to_value(&obj).map_err(|e| e.to_string())?;
        let requested = text(
            &obj,
            "/metadata/annotations/reconcile.fluxcd.io~1requestedAt",
        );
        let handled = text(&obj, "/status/lastHandledReconcileAt");
        let fetched = text(&obj, "/status/artifact/revision");
        if fetched.is_none() || (requested.is_some() && requested != handled) {
            let revision = format!("main@sha1:{}", head(repo_dir));
            let mut status = json!({
                "observedGeneration": obj.pointer("/metadata/generation"),
                "artifact": {"revision": revision, "digest": "sha256:standin", "lastUpdateTime": now(),
                             "path": "gitrepository/standin.tar.gz", "url": "http://standin/", "size": 1},
                "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
                                "message": format!("stored artifact for revision '{revision}'"),
                                "lastTransitionTime": now(), "observedGeneration": 1}]
            });
            if let Some(r) = requested {
                status["lastHandledReconcileAt"] = json!(r);
            }
            write_status(&git, "repo", status).await?;
        }
    }
    let Some(obj) = ks.get_opt("apps").await.map_err(e)? else {
        return Ok(());
    };
    let obj = serde_json::to_value(&obj).map_err(|e| e.to_string())?;
    if obj.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return Ok(());
    }
    let requested = text(
        &obj,
        "/metadata/annotations/reconcile.fluxcd.io~1requestedAt",
    );
    let handled = text(&obj, "/status/lastHandledReconcileAt");
    let generation = obj.pointer("/metadata/generation").and_then(Value::as_i64);
    let observed = obj
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64);
    let unhandled = requested.is_some() && requested != handled;
    if !(observed.is_none() || observed != generation || unhandled) {
        return Ok(());
    }
    if unhandled && let Some(token) = &requested {
        let since = match seen {
            Some((t, at)) if t == token => *at,
            _ => {
                *seen = Some((token.clone(), std::time::Instant::now()));
                std::time::Instant::now()
            }
        };
        if since.elapsed() < delay {
            return Ok(());
        }
    }
    let Some(source) = git.get_opt("repo").await.map_err(e)? else {
        return Ok(());
    };
    let source = serde_json::to_value(&source).map_err(|e| e.to_string())?;
    let Some(revision) = text(&source, "/status/artifact/revision") else {
        return Ok(());
    };
    let target = text(&obj, "/spec/targetNamespace").unwrap_or_else(|| ns.to_owned());
    let path = text(&obj, "/spec/path").unwrap_or_else(|| ".".into());
    let inventory = apply_dir(
        client,
        &repo_dir.join(path.trim_start_matches("./")),
        &target,
        ns,
    )
    .await?;
    let at = now();
    let mut status = json!({
        "observedGeneration": generation,
        "lastAppliedRevision": revision,
        "lastAttemptedRevision": revision,
        "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                        "message": format!("Applied revision: {revision}"),
                        "lastTransitionTime": at, "observedGeneration": generation}],
        "inventory": {"entries": inventory},
        "history": [{"digest": format!("sha256:{}", &revision[revision.len().saturating_sub(16)..]),
                     "firstReconciled": at, "lastReconciled": at,
                     "lastReconciledDuration": "0.1s",
                     "lastReconciledStatus": "ReconciliationSucceeded",
                     "totalReconciliations": 1,
                     "metadata": {"revision": revision}}]
    });
    if let Some(r) = requested {
        status["lastHandledReconcileAt"] = json!(r);
    }
    write_status(&ks, "apps", status).await
}

/// Writes `status` through the status subresource, or through the object itself where the
/// server serves the CRD without that subresource (the sandbox does), which is what a
/// controller's status write amounts to there.
pub async fn write_status(
    api: &Api<DynamicObject>,
    name: &str,
    status: Value,
) -> Result<(), String> {
    let body = json!({ "status": status });
    let pp = PatchParams::default();
    match api.patch_status(name, &pp, &Patch::Merge(&body)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => api
            .patch(name, &pp, &Patch::Merge(&body))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Server-side applies every YAML document in `dir` as kustomize-controller would; returns the
/// inventory entries.
async fn apply_dir(
    client: &kube::Client,
    dir: &std::path::Path,
    target: &str,
    ks_ns: &str,
) -> Result<Vec<Value>, String> {
    let mut entries = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|d| d.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let pp = PatchParams::apply("kustomize-controller").force();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).map_err(|e| e.to_string())?;
        for mut doc in docs.into_iter().filter(Value::is_object) {
            doc["metadata"]["namespace"] = json!(target);
            doc["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"] = json!("apps");
            doc["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/namespace"] = json!(ks_ns);
            let api_version = text_of(&doc, "apiVersion");
            let kind = text_of(&doc, "kind");
            let name = doc["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let (group, version) = match api_version.split_once('/') {
                Some((g, v)) => (g.to_owned(), v.to_owned()),
                None => (String::new(), api_version.clone()),
            };
            let gvk = GroupVersionKind::gvk(&group, &version, &kind);
            let (ar, _) = kube::discovery::pinned_kind(client, &gvk)
                .await
                .map_err(|e| e.to_string())?;
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), target, &ar);
            api.patch(&name, &pp, &Patch::Apply(&doc))
                .await
                .map_err(|e| format!("apply {kind}/{name}: {e}"))?;
            entries.push(json!({"id": format!("{target}_{name}_{group}_{kind}"), "v": version}));
        }
    }
    Ok(entries)
}

fn text_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}
