//! `driftdeck sandbox --listen ADDR --kubeconfig F [--clusters a,b,c] [--token T]
//! [--allow-remote] [--time-scale X]`: serves the embedded API server, writes a kubeconfig
//! (mode 0600) with one context per cluster, prints one line once listening and stops
//! cleanly on SIGINT/SIGTERM. Faults are switched at runtime through the admin endpoint
//! (`curl -X POST http://ADDR/sandbox/faults -d '{"latency_ms":200}'`). `--time-scale 0`
//! freezes simulated time: the API server runs without the workload simulator (used by
//! `scripts/sandbox-scale.sh` to measure the server alone).

use std::net::SocketAddr;

use crate::sandbox::{self, Sandbox, SandboxOptions};

use super::{CmdResult, Failure, SandboxArgs};

pub fn run(args: SandboxArgs) -> CmdResult {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| Failure::setup(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(serve(args))
}

async fn serve(args: SandboxArgs) -> CmdResult {
    let clusters: Vec<String> = args
        .clusters
        .iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    if clusters.is_empty() {
        return Err(Failure::setup("--clusters: give at least one cluster name"));
    }
    if let Some(bad) = clusters
        .iter()
        .find(|c| !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-'))
    {
        return Err(Failure::setup(format!(
            "--clusters: \"{bad}\" is not a valid name (letters, digits, '-')"
        )));
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| {
            Failure::setup(sandbox::Error::Bind {
                addr: args.listen.clone(),
                source: e,
            })
        })?;
    let addr: SocketAddr = listener
        .local_addr()
        .map_err(|e| Failure::setup(format!("{}: {e}", args.listen)))?;
    if !addr.ip().is_loopback() && !args.allow_remote {
        return Err(Failure::setup(sandbox::Error::NotLoopback {
            addr: addr.to_string(),
        }));
    }
    let names: Vec<&str> = clusters.iter().map(String::as_str).collect();
    if !(args.time_scale.is_finite() && args.time_scale >= 0.0) {
        return Err(Failure::setup(format!(
            "--time-scale {}: must be a number >= 0",
            args.time_scale
        )));
    }
    let opts = SandboxOptions {
        token: args.token.clone(),
        time_scale: args.time_scale,
        simulate: args.time_scale > 0.0,
        ..SandboxOptions::default()
    };
    let sb = Sandbox::new(&names, opts);
    sandbox::kubeconfig::write(&args.kubeconfig, addr, &clusters, args.token.as_deref())
        .map_err(Failure::setup)?;
    println!(
        "sandbox listening on http://{addr} (clusters: {}; kubeconfig {})",
        clusters.join(", "),
        args.kubeconfig.display()
    );
    sandbox::serve(listener, sb, shutdown_signal()).await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
