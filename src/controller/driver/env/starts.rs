//! The env task's job starters: each begins one slow thing (connect, Git poll, live
//! observation, ConfigMap read/write, Lease round) on a spawned task that answers on the env
//! task's channel. Kept apart from the event handling in `env.rs`; a child module so it shares
//! the task's private state.

use std::time::Instant;

use super::super::jobs;
use super::{EnvTask, Msg, live};

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

    pub(super) fn poll_git(&mut self, force: bool) {
        if self.git_busy || self.pending_git.is_some() {
            // A watched repo's event must not be lost: the next tick polls again.
            if let Some(w) = &mut self.repo_watch {
                w.again = true;
            }
            return;
        }
        if let Some(w) = &mut self.repo_watch {
            w.again = false;
            w.last_poll = Some(Instant::now());
        }
        self.git_busy = true;
        let fetch = force
            || self
                .last_fetch
                .is_none_or(|t| t.elapsed() >= self.shared.config.repo.poll_interval);
        if fetch {
            self.last_fetch = Some(Instant::now());
        }
        let last = if force { None } else { self.head_sha.clone() };
        let source = self.source.clone();
        let shared = self.shared.clone();
        let env = self.env.clone();
        self.spawn_msg(async move {
            let result = tokio::task::spawn_blocking(move || {
                jobs::poll_git(&source, &shared.config, &env, last.as_deref(), fetch)
            })
            .await
            .unwrap_or_else(|e| Err(format!("git task failed: {e}")));
            Msg::Git {
                fetched: fetch,
                result,
            }
        });
    }

    pub(super) fn observe_live(&mut self) {
        if self.live_busy {
            return;
        }
        if self.engine.applying() {
            // Observed once the apply's result is in (`Msg::Applied`); see `Engine::applying`.
            self.live_dirty = true;
            return;
        }
        let Some(cluster) = self.cluster.clone() else {
            self.connect();
            return;
        };
        let Some(desired) = self.head_desired.clone() else {
            return;
        };
        // Without a cache the observation lists: the periodic resync (`live.rs`).
        let cache = if self.resync_due() {
            None
        } else {
            self.live_cache.clone()
        };
        if cache
            .as_ref()
            .is_some_and(|c| c.starting(live::WATCH_START_GRACE))
        {
            // New watches are in their first list: observed when it is in (`live_changes`).
            return;
        }
        self.live_busy = true;
        self.live_dirty = false;
        let generation = self.live_gen;
        let env = self.env.clone();
        // Under a rejected head, also drift from the synced revision: what self-heal keeps.
        let heal = self.engine.heal_target().map(str::to_owned);
        let (shared, source, cached, predictions) = (
            self.shared.clone(),
            self.source.clone(),
            self.heal_desired.clone(),
            self.predictions.clone(),
        );
        self.spawn_msg(async move {
            let mut result = jobs::observe_live(
                cluster.clone(),
                env.clone(),
                desired,
                predictions.clone(),
                cache.clone(),
            )
            .await;
            if let (Ok(obs), Some(revision)) = (&mut result, heal) {
                obs.heal = jobs::observe_heal(
                    shared,
                    cluster,
                    env,
                    source,
                    cached,
                    revision,
                    predictions,
                    cache,
                )
                .await;
            }
            Msg::Live { generation, result }
        });
    }

    pub(super) fn read_state(&mut self) {
        if self.state_busy {
            return;
        }
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        self.state_busy = true;
        self.fresh_read = false;
        let env = self.env.clone();
        self.spawn_msg(async move {
            let result = crate::controller::held_io::load_held(&cluster, &env)
                .await
                .map_err(|e| e.to_string());
            Msg::StateRead(result)
        });
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
        self.state_watch_ok = false;
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

    pub(super) fn start_queued_write(&mut self) {
        if self.state_busy {
            return;
        }
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        let Some((seq, state)) = self.queued_write.take() else {
            return;
        };
        self.state_busy = true;
        let env = self.env.clone();
        let rv = self.state_rv.clone();
        self.spawn_msg(async move {
            let result =
                crate::controller::held_io::store_held(&cluster, &env, &state, rv.as_deref())
                    .await
                    .map_err(|e| (e.status_code() == Some(409), e.to_string()));
            Msg::StateStored { seq, result }
        });
    }

    pub(super) fn lease(&mut self) {
        let Some(cluster) = self.cluster.clone() else {
            self.connect();
            return;
        };
        let env = self.env.clone();
        let operator = self.shared.opts.operator.clone();
        let automation = self.shared.opts.automation && !self.shared.opts.read_only;
        let operation = self
            .engine
            .view()
            .operation
            .filter(|o| o.by == operator)
            .and_then(|o| serde_json::to_string(&o).ok());
        let tx = self.tx.clone();
        tokio::spawn(async move {
            for event in jobs::lease(&cluster, &env, &operator, automation, operation).await {
                let _ = tx.send(Msg::Event(event));
            }
        });
    }
}
