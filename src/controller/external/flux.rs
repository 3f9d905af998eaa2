//! The Flux `Kustomization` engine: PLACEHOLDER. Publishes the env with the error "flux engine: not built yet"
//! and refuses every command with that message (audited, as every refusal).

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::{Config, EnvConfig};
use crate::model::{Command, EnvState, FailureReason};

use super::super::driver::{EnvUpdate, Shared};
use super::{Publisher, base_state, confirm, read_only_refusal, refuse};

const NOT_BUILT: &str = "flux engine: not built yet";

pub(crate) async fn run(
    shared: Arc<Shared>,
    env: EnvConfig,
    index: usize,
    updates: mpsc::Sender<EnvUpdate>,
    mut commands: mpsc::Receiver<Command>,
) {
    let mut publisher = Publisher::new(index, updates);
    publisher
        .publish(&observe_cold(&shared.config, &env).await)
        .await;
    while let Some(command) = commands.recv().await {
        // The policy's refusals first, so they read as for every other env.
        let reason = read_only_refusal(&shared, &env.name, &command)
            .or_else(|| confirm(&env, &command, NOT_BUILT).err())
            .unwrap_or_else(|| FailureReason::Refused(NOT_BUILT.into()));
        refuse(&shared, &env.name, &command, reason).await;
    }
}

pub(crate) async fn observe_cold(_config: &Config, env: &EnvConfig) -> EnvState {
    let mut state = base_state(env);
    state.error = Some(NOT_BUILT.into());
    state
}
