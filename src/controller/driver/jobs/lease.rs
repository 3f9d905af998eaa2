//! The driver's Lease round: read the env's Lease and report its holder to the engine, then,
//! when this console automates the env, acquire or renew it; and the release at shutdown.
//!
//! The Lease itself is implemented once: the compare-and-swap protocol on
//! `coordination.k8s.io/v1` Leases in `cluster::state` ([`Cluster::acquire_lease`] and its
//! siblings), the env's Lease (its name, namespace, duration and published operation) in
//! `controller::held_io`, which `status` reads through too. This module only turns their
//! answers into engine events and decides what a failure means for the round.
//!
//! Decisions: a failed read or acquire reports nothing (it is logged), so the engine keeps the
//! last holder it was told until a round succeeds. A failed read still tries to renew, so one bad
//! read cannot let our own Lease lapse. The release at shutdown waits at most 3 s: an unreachable
//! cluster must not hold up exit, and the Lease then expires by itself.

use std::time::Duration;

use jiff::Timestamp;

use crate::cluster::{Cluster, LeaseOutcome};
use crate::config::EnvConfig;
use crate::controller::engine::Event;
use crate::controller::held_io::{
    acquire_env_lease, read_lease_holder, release_env_lease, state_object_name,
};
use crate::controller::retry_transient;
use crate::model::RunningOperation;

/// Reads the Lease (reported first, an expired holder as `None`), then with `automation`
/// acquires or renews it, publishing `operation`. Errors are logged; nothing is reported for a
/// failed round.
pub(in super::super) async fn lease(
    cluster: &Cluster,
    env: &EnvConfig,
    operator: &str,
    automation: bool,
    operation: Option<RunningOperation>,
) -> Vec<Event> {
    let name = state_object_name(&env.name);
    let now = Timestamp::now();
    let mut events = Vec::new();
    match read_lease_holder(cluster, env, now).await {
        Ok(holder) => events.push(Event::LeaseObserved {
            mine: holder.as_deref() == Some(operator),
            holder,
            at: now,
        }),
        // Still try to renew: a flaky read must not let our Lease expire.
        Err(e) => tracing::warn!(env = %env.name, "reading Lease {name}: {e}"),
    }
    if !automation {
        return events;
    }
    let at = Timestamp::now();
    let acquire =
        retry_transient(|| acquire_env_lease(cluster, env, operator, operation.as_ref(), at));
    match acquire.await {
        Ok(LeaseOutcome::Held(_)) => events.push(Event::LeaseObserved {
            mine: true,
            holder: Some(operator.to_owned()),
            at,
        }),
        Ok(LeaseOutcome::HeldBy(record)) => events.push(Event::LeaseObserved {
            mine: false,
            holder: record.live_holder(at).map(str::to_owned),
            at,
        }),
        Err(e) => tracing::warn!(env = %env.name, "acquiring Lease {name}: {e}"),
    }
    events
}

/// Gives up the env's Lease at shutdown, waiting at most 3 s for the cluster.
pub(in super::super) async fn release_lease(cluster: &Cluster, env: &EnvConfig, operator: &str) {
    let name = state_object_name(&env.name);
    let release = release_env_lease(cluster, env, operator);
    match tokio::time::timeout(Duration::from_secs(3), release).await {
        Ok(Ok(())) => tracing::info!(env = %env.name, "released Lease {name}"),
        Ok(Err(e)) => tracing::warn!(env = %env.name, "releasing Lease {name}: {e}"),
        Err(_) => tracing::warn!(env = %env.name, "releasing Lease {name}: no answer"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::controller::held_io::read_lease_view;
    use crate::model::OperationKind;
    use crate::sandbox::{Sandbox, SandboxOptions};

    fn env() -> EnvConfig {
        let text = "repo: {url: ./repo}\nenvironments:\n  \
            - {name: dev, path: overlays/dev, context: dev, namespace: default}\n";
        let config = crate::config::parse(text, Path::new("/etc/driftdeck.yaml"));
        config.expect("a valid config").environments.remove(0)
    }

    fn cluster() -> Cluster {
        let sandbox = Sandbox::new(
            &["dev"],
            SandboxOptions {
                simulate: false,
                ..SandboxOptions::default()
            },
        );
        let service = sandbox.service("dev").expect("dev is a sandbox cluster");
        Cluster::from_client(kube::Client::new(service, "default"), "dev")
    }

    /// `(mine, holder)` of each event of a round.
    fn observed(events: &[Event]) -> Vec<(bool, Option<String>)> {
        events
            .iter()
            .map(|e| match e {
                Event::LeaseObserved { mine, holder, .. } => (*mine, holder.clone()),
                other => panic!("a Lease round answers only LeaseObserved, got {other:?}"),
            })
            .collect()
    }

    #[tokio::test]
    async fn an_automating_round_takes_the_lease_and_publishes_the_running_operation() {
        let (cluster, env) = (cluster(), env());
        let me = "ana@box/7";
        let running = RunningOperation {
            op: OperationKind::Sync,
            revision: "1f".repeat(20),
            by: me.to_owned(),
            started: Timestamp::now(),
            phase: "validating".into(),
        };
        let events = lease(&cluster, &env, me, true, Some(running.clone())).await;
        // Unheld when read, then ours once acquired.
        assert_eq!(
            observed(&events),
            [(false, None), (true, Some(me.to_owned()))]
        );
        let view = read_lease_view(&cluster, &env, Timestamp::now())
            .await
            .expect("the sandbox serves Leases");
        assert_eq!(view.holder.as_deref(), Some(me));
        assert_eq!(view.operation, Some(running));

        // Another console's round sees the holder and, automating too, does not take it.
        let events = lease(&cluster, &env, "bo@box/8", true, None).await;
        let held_by_me = (false, Some(me.to_owned()));
        assert_eq!(observed(&events), [held_by_me.clone(), held_by_me]);
    }
}
