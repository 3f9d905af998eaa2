//! The two ways in: [`serve`] (HTTP/1.1 and h2c on a TCP listener, mini-redis style, until a
//! shutdown future completes) and [`SandboxService`] (a tower service for one cluster, so
//! `kube::Client::new(service, ns)` works without a socket). Both end in
//! [`Sandbox`](super::Sandbox)'s request handling. Imports nothing of the crate.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use tokio::net::TcpListener;

use super::{Body, Cluster, Sandbox};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The faults said to drop this connection without an answer ("connection refused").
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("connection refused by the sandbox's fault injection")]
pub struct Refused;

/// The in-process tower service of one cluster.
#[derive(Clone)]
pub struct SandboxService {
    sandbox: Sandbox,
    cluster: Arc<Cluster>,
}

impl SandboxService {
    pub(super) fn new(sandbox: Sandbox, cluster: Arc<Cluster>) -> Self {
        SandboxService { sandbox, cluster }
    }
}

impl<B> tower::Service<Request<B>> for SandboxService
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let sandbox = self.sandbox.clone();
        let cluster = self.cluster.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let bytes = body.collect().await.map_err(Into::into)?.to_bytes();
            let path = parts.uri.path().to_string();
            sandbox
                .answer(&cluster, &path, parts, bytes)
                .await
                .map_err(|r| {
                    Box::new(std::io::Error::new(
                        std::io::ErrorKind::ConnectionRefused,
                        r,
                    )) as BoxError
                })
        })
    }
}

/// Serves the sandbox on `listener` until `shutdown` completes; then every open connection
/// (watches and `logs -f` included) is closed.
pub async fn serve(listener: TcpListener, sandbox: Sandbox, shutdown: impl Future) {
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => a,
        };
        // Reap finished connections so the set does not grow without bound.
        while conns.try_join_next().is_some() {}
        let Ok((stream, _)) = accepted else { continue };
        let sandbox = sandbox.clone();
        conns.spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let sandbox = sandbox.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let bytes = match body.collect().await {
                        Ok(b) => b.to_bytes(),
                        Err(_) => Bytes::new(),
                    };
                    sandbox.handle_http(parts, bytes).await
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            // A refused request ends in an error that closes the connection: that is the point.
            let _ = builder.serve_connection(io, svc).await;
        });
    }
    conns.abort_all();
}
