//! Measures the first page of `Source::history` on a repository:
//! `cargo run --release --example history_probe -- REPO PATH... [--branch B] [--limit N] [--pages P]`.
//!
//! Prints the time to open the repository, the time of each page (default one page of 50), and
//! the peak resident set size (VmHWM from /proc/self/status) at the end. Generate a large repository
//! with `scripts/gen-history-repo.sh`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use driftdeck::source::{RepoSpec, Source};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("history_probe: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut repo = None;
    let mut paths = Vec::new();
    let (mut branch, mut limit, mut pages) = ("main".to_string(), 50usize, 1usize);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--branch" => branch = value("--branch")?,
            "--limit" => {
                limit = value("--limit")?
                    .parse()
                    .map_err(|e| format!("--limit: {e}"))?
            }
            "--pages" => {
                pages = value("--pages")?
                    .parse()
                    .map_err(|e| format!("--pages: {e}"))?
            }
            _ if repo.is_none() => repo = Some(arg),
            _ => paths.push(arg),
        }
    }
    let repo =
        repo.ok_or("usage: history_probe REPO PATH... [--branch B] [--limit N] [--pages P]")?;

    let started = Instant::now();
    let spec = RepoSpec {
        url: repo.clone(),
        branch,
    };
    let source =
        Source::open(&spec, Path::new("target/history-probe-cache")).map_err(|e| e.to_string())?;
    println!("open {repo}: {:.1} ms", ms(started));

    for page in 0..pages {
        let started = Instant::now();
        let commits = source
            .history(&paths, None, page * limit, limit)
            .map_err(|e| e.to_string())?;
        let elapsed = ms(started);
        let span = match (commits.first(), commits.last()) {
            (Some(first), Some(last)) => format!(
                "{} {} .. {} {}",
                first.short_sha(),
                first.time,
                last.short_sha(),
                last.time
            ),
            _ => "no commits".to_string(),
        };
        println!(
            "page {page} (skip {}, limit {limit}) of {paths:?}: {} commits in {elapsed:.1} ms [{span}]",
            page * limit,
            commits.len()
        );
    }
    println!("peak RSS (VmHWM): {}", peak_rss());
    Ok(())
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().to_string()))
        })
        .unwrap_or_else(|| "unknown (no /proc/self/status)".to_string())
}
