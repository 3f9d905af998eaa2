//! The inspection feeder: serves the console's logs, events and object views from the
//! clusters (the object views' data comes from [`super::object`]).
//!
//! One task, [`serve`], reads [`InspectRequest`]s and runs at most one stream at a time (the
//! views are full-screen, so one is on screen): a new request or [`InspectRequest::Stop`] aborts
//! the previous stream. Answers are [`InspectChunk`]s tagged with the request id.
//!
//! Decisions: inspection bypasses the per-env engine (see `model::inspect`): it changes
//! nothing, so it needs no Lease and no policy, and it must not wait behind a sync. Clients are
//! built once per kubeconfig context and kept; log lines are batched (up to [`LINE_BATCH`] per
//! chunk) so a burst of thousands of lines costs the UI a few redraws, not thousands.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::cluster::Cluster;
use crate::config::Config;
use crate::model::{EventsRequest, InspectChunk, InspectRequest, LogRequest};

/// Most log lines per chunk.
const LINE_BATCH: usize = 512;

/// Serves requests until the request channel closes or the UI's chunk receiver is gone.
/// `kubeconfig`: the file the config names (`None`: the default discovery, as the controller).
/// Without a config the object views' desired side says it is unknown; see [`serve_config`].
pub async fn serve(
    kubeconfig: Option<PathBuf>,
    requests: mpsc::Receiver<InspectRequest>,
    chunks: mpsc::Sender<InspectChunk>,
) {
    serve_inner(kubeconfig, None, requests, chunks).await;
}

/// [`serve`] for the console: the config's kubeconfig, and its repo and envs for the object
/// views' desired YAML.
pub async fn serve_config(
    config: Config,
    requests: mpsc::Receiver<InspectRequest>,
    chunks: mpsc::Sender<InspectChunk>,
) {
    serve_inner(
        config.kubeconfig.clone(),
        Some(Arc::new(config)),
        requests,
        chunks,
    )
    .await;
}

async fn serve_inner(
    kubeconfig: Option<PathBuf>,
    config: Option<Arc<Config>>,
    mut requests: mpsc::Receiver<InspectRequest>,
    chunks: mpsc::Sender<InspectChunk>,
) {
    let mut clusters: HashMap<String, Arc<Cluster>> = HashMap::new();
    let mut running: Option<JoinHandle<()>> = None;
    while let Some(request) = requests.recv().await {
        if let Some(task) = running.take() {
            task.abort();
        }
        let (id, context) = match &request {
            InspectRequest::Logs { id, request } => (*id, request.context.clone()),
            InspectRequest::Events { id, request } => (*id, request.context.clone()),
            InspectRequest::Object { id, request } => (*id, request.context.clone()),
            InspectRequest::Stop => continue,
        };
        let cluster = match connect(&mut clusters, kubeconfig.as_ref(), &context).await {
            Ok(c) => c,
            Err(message) => {
                if chunks
                    .send(InspectChunk::Failed { id, message })
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
        };
        let out = chunks.clone();
        running = Some(match request {
            InspectRequest::Logs { id, request } => {
                tokio::spawn(async move { stream_logs(&cluster, id, &request, &out).await })
            }
            InspectRequest::Events { id, request } => {
                tokio::spawn(async move { stream_events(&cluster, id, &request, &out).await })
            }
            InspectRequest::Object { id, request } => {
                let config = config.clone();
                tokio::spawn(async move {
                    let detail =
                        super::object::object_detail(&cluster, config.as_deref(), &request).await;
                    let _ = out
                        .send(InspectChunk::Object {
                            id,
                            detail: Box::new(detail),
                        })
                        .await;
                })
            }
            InspectRequest::Stop => continue,
        });
    }
    if let Some(task) = running {
        task.abort();
    }
}

async fn connect(
    clusters: &mut HashMap<String, Arc<Cluster>>,
    kubeconfig: Option<&PathBuf>,
    context: &str,
) -> Result<Arc<Cluster>, String> {
    if let Some(c) = clusters.get(context) {
        return Ok(c.clone());
    }
    let c = super::jobs::connect(kubeconfig.cloned(), context.to_owned()).await?;
    clusters.insert(context.to_owned(), c.clone());
    Ok(c)
}

async fn stream_logs(
    cluster: &Cluster,
    id: u64,
    request: &LogRequest,
    out: &mpsc::Sender<InspectChunk>,
) {
    // The picker is a convenience: a pod that cannot be read fails below with the reason.
    if let Ok(names) = cluster
        .pod_containers(&request.namespace, &request.pod)
        .await
        && out
            .send(InspectChunk::Containers { id, names })
            .await
            .is_err()
    {
        return;
    }
    let lines = match cluster.pod_log_lines(request).await {
        Ok(lines) => lines,
        Err(e) => {
            let _ = out
                .send(InspectChunk::Failed {
                    id,
                    message: e.to_string(),
                })
                .await;
            return;
        }
    };
    let mut batches = std::pin::pin!(lines.ready_chunks(LINE_BATCH));
    while let Some(batch) = batches.next().await {
        let mut good = Vec::with_capacity(batch.len());
        let mut failure = None;
        for line in batch {
            match line {
                Ok(l) => good.push(l),
                Err(e) => failure = Some(e.to_string()),
            }
        }
        if !good.is_empty()
            && out
                .send(InspectChunk::LogLines { id, lines: good })
                .await
                .is_err()
        {
            return;
        }
        if let Some(message) = failure {
            let _ = out.send(InspectChunk::Failed { id, message }).await;
            return;
        }
    }
    let _ = out.send(InspectChunk::LogEnded { id }).await;
}

async fn stream_events(
    cluster: &Cluster,
    id: u64,
    request: &EventsRequest,
    out: &mpsc::Sender<InspectChunk>,
) {
    let mut sets = std::pin::pin!(cluster.events_watch(request));
    while let Some(set) = sets.next().await {
        let chunk = match set {
            Ok(rows) => InspectChunk::Events { id, rows },
            Err(e) => InspectChunk::Failed {
                id,
                message: e.to_string(),
            },
        };
        if out.send(chunk).await.is_err() {
            return;
        }
    }
}
