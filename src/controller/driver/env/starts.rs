//! The env task's job starters that no gate decides: connecting, the state ConfigMap's watch
//! and the Lease round. Each begins one slow thing on a spawned task that answers on the env
//! task's channel. A child module so it shares the task's private state.

use super::super::jobs;
use super::{EnvTask, Msg};

impl EnvTask {
    pub(super) fn connect(&mut self) {
        if self.connecting || self.cluster.is_some() {
            return;
        }
        self.connecting = true;
        let kubeconfig = self.shared.config.kubeconfig.clone();
        let context = self.env.context.clone();
        self.spawn_msg(async move { Msg::Cluster(jobs::connect(kubeconfig, context).await) });
    }

    /// Starts (or restarts, after a reconnect) the watch of the env's state ConfigMap; each
    /// item comes back as [`Msg::StateChanged`].
    pub(super) fn watch_state(&mut self) {
        use futures::StreamExt;
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        if let Some(task) = self.state_watch.take() {
            task.abort();
        }
        self.state_io.watch_restarted();
        let namespace = crate::controller::held_io::state_namespace(&self.env).to_owned();
        let name = crate::controller::held_io::state_object_name(&self.env.name);
        let tx = self.tx.clone();
        self.state_watch = Some(tokio::spawn(async move {
            let changes = cluster.watch_state(&namespace, &name);
            futures::pin_mut!(changes);
            while let Some(item) = changes.next().await {
                if tx
                    .send(Msg::StateChanged(item.map_err(|e| e.to_string())))
                    .is_err()
                {
                    break;
                }
            }
        }));
    }

    pub(super) fn lease(&mut self) {
        let Some(cluster) = self.cluster.clone() else {
            self.connect();
            return;
        };
        let env = self.env.clone();
        let operator = self.shared.opts.operator.clone();
        let automation = self.shared.opts.automation && !self.shared.opts.read_only;
        let operation = self.engine.view().operation.filter(|o| o.by == operator);
        let tx = self.tx.clone();
        tokio::spawn(async move {
            for event in jobs::lease(&cluster, &env, &operator, automation, operation).await {
                let _ = tx.send(Msg::Event(event));
            }
        });
    }
}
