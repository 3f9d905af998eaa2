//! Pod logs (`pods/log`) as a stream of lines, and a pod's container names for the picker.
//!
//! Decisions: the log is read with `kube::Api::log_stream` (one HTTP response, chunked while
//! following) and split into lines here, so callers never see partial lines. A read error
//! (including a line that is not UTF-8) comes out as an [`Error`] naming the pod and container.

use futures::{AsyncBufReadExt, Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::LogParams;

use super::{Cluster, Error};
use crate::model::LogRequest;

impl Cluster {
    /// The names of `pod`'s containers (init containers last), for the container picker.
    pub async fn pod_containers(&self, namespace: &str, pod: &str) -> Result<Vec<String>, Error> {
        let api: Api<Pod> = Api::namespaced(self.client().clone(), namespace);
        let found = api.get(pod).await.map_err(|source| Error::Api {
            context: self.context().to_owned(),
            what: format!("get pod {namespace}/{pod}"),
            source,
        })?;
        let spec = found.spec.unwrap_or_default();
        Ok(spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .map(|c| c.name.clone())
            .collect())
    }

    /// The lines of a pod's log as `request` selects them; with `follow` the stream stays
    /// open until the container exits or the caller drops it.
    pub async fn pod_log_lines(
        &self,
        request: &LogRequest,
    ) -> Result<impl Stream<Item = Result<String, Error>> + use<>, Error> {
        let api: Api<Pod> = Api::namespaced(self.client().clone(), &request.namespace);
        let params = LogParams {
            container: request.container.clone(),
            follow: request.follow,
            previous: request.previous,
            since_seconds: request.since_seconds,
            tail_lines: request.tail_lines,
            ..LogParams::default()
        };
        let what = format!(
            "log of pod {}/{}{}",
            request.namespace,
            request.pod,
            request
                .container
                .as_ref()
                .map(|c| format!(" container {c}"))
                .unwrap_or_default()
        );
        let context = self.context().to_owned();
        let reader = api
            .log_stream(&request.pod, &params)
            .await
            .map_err(|source| Error::Api {
                context: context.clone(),
                what: what.clone(),
                source,
            })?;
        Ok(reader
            .lines()
            .map_err(move |e| Error::BadObject {
                what: format!("context {context}: {what}"),
                message: e.to_string(),
            })
            .map(|line| line.map(|l| l.trim_end_matches('\r').to_owned())))
    }
}
