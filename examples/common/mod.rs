//! Helpers shared by the figure examples (`commit_to_live`, `back_to_back_commits`): not an
//! example itself (cargo only builds `examples/*.rs` and `examples/*/main.rs`).

#![allow(dead_code)] // each example uses a part of these

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

pub type Res<T> = Result<T, Box<dyn Error>>;

pub const API_IMAGE: &str = "ghcr.io/driftdeck-demo/log-api";
/// The demo's namespace (dev's log-api lives there).
pub const NS: &str = "log-platform";
/// How long [`until`] waits for one condition.
pub const LIMIT: Duration = Duration::from_secs(120);

/// `driftdeck.yaml` in `root`: the demo repo, `root/kubeconfig`, dev only, on auto-sync,
/// self-heal and prune; the 30 s poll (local repos must be seen by watching, not polling).
pub fn write_config(root: &Path) -> Res<()> {
    let q = |p: PathBuf| serde_json::to_string(&p.display().to_string());
    let yaml = format!(
        "repo: {{url: {}, branch: main, poll_interval: 30s}}\nkubeconfig: {}\nvalidation_timeout: 300s\nenvironments:\n  - {{name: dev, path: overlays/dev, context: dev, namespace: {NS}, auto_sync: true, self_heal: true, prune: true}}\n",
        q(root.join("repo"))?,
        q(root.join("kubeconfig"))?
    );
    std::fs::write(root.join("driftdeck.yaml"), yaml)?;
    Ok(())
}

/// The kustomization with log-api's `newTag` replaced.
pub fn set_tag(text: &str, tag: &str) -> String {
    let mut in_api = false;
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(name) = t.strip_prefix("- name:") {
            in_api = name.trim() == API_IMAGE;
        }
        if in_api && t.starts_with("newTag:") {
            out.push_str(&format!("{}newTag: {tag}\n", &line[..line.len() - t.len()]));
            in_api = false;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `bin` with `args` in a home of its own under `root` (data, cache and audit log there, no
/// inherited `KUBECONFIG`), its stderr to `root/log`; killed when dropped.
pub fn spawn(bin: &Path, root: &Path, args: &[&str], log: &str) -> Res<tokio::process::Child> {
    Ok(tokio::process::Command::new(bin)
        .args(args)
        .env("HOME", root)
        .env("XDG_DATA_HOME", root.join("data"))
        .env("XDG_CACHE_HOME", root.join("cache"))
        .env("DRIFTDECK_AUDIT_LOG", root.join("audit.jsonl"))
        .env_remove("KUBECONFIG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(root.join(log))?)
        .kill_on_drop(true)
        .spawn()?)
}

/// Waits for `cond`, looking every `every`, at most [`LIMIT`]; the error names `what`.
pub async fn until<F, Fut>(what: &str, every: Duration, mut cond: F) -> Res<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + LIMIT;
    while !cond().await {
        if Instant::now() > deadline {
            return Err(format!("timed out after {LIMIT:?} waiting for {what}").into());
        }
        tokio::time::sleep(every).await;
    }
    Ok(())
}

pub fn which_kubectl() -> Res<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
        .ok_or_else(|| "kubectl not found on PATH".into())
}

pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Nearest-rank percentile of sorted samples.
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn report(what: &str, samples: &mut [Duration]) {
    if samples.is_empty() {
        return;
    }
    samples.sort();
    println!(
        "{what} ({} samples): p50 {:.3} s, p95 {:.3} s, min {:.3} s, max {:.3} s",
        samples.len(),
        secs(pct(samples, 0.50)),
        secs(pct(samples, 0.95)),
        secs(samples[0]),
        secs(samples[samples.len() - 1])
    );
}
