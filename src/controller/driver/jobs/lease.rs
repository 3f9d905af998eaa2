//! The driver's Lease round: read the env's Lease and report its holder to the engine, then,
//! when this console automates the env, acquire or renew it; and the release at shutdown.
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
use crate::controller::held_io::{state_namespace, state_object_name};
use crate::controller::retry_transient;

/// The Lease's duration; renewed every 5 s.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);

/// Reads the Lease (reported first, an expired holder as `None`), then with `automation`
/// acquires or renews it. Errors are logged; nothing is reported for a failed round.
pub(in super::super) async fn lease(
    cluster: &Cluster,
    env: &EnvConfig,
    operator: &str,
    automation: bool,
    operation: Option<String>,
) -> Vec<Event> {
    let namespace = state_namespace(env);
    let name = state_object_name(&env.name);
    let now = Timestamp::now();
    let mut events = Vec::new();
    match cluster.read_lease(namespace, &name).await {
        Ok(record) => {
            let holder = record
                .as_ref()
                .and_then(|r| r.live_holder(now))
                .map(str::to_owned);
            events.push(Event::LeaseObserved {
                mine: holder.as_deref() == Some(operator),
                holder,
                at: now,
            });
        }
        // Still try to renew: a flaky read must not let our Lease expire.
        Err(e) => tracing::warn!(env = %env.name, "reading Lease {name}: {e}"),
    }
    if !automation {
        return events;
    }
    let at = Timestamp::now();
    let acquire = retry_transient(|| {
        cluster.acquire_lease(
            namespace,
            &name,
            operator,
            LEASE_DURATION,
            operation.as_deref(),
            at,
        )
    });
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

pub(in super::super) async fn release_lease(cluster: &Cluster, env: &EnvConfig, operator: &str) {
    let name = state_object_name(&env.name);
    let release = cluster.release_lease(state_namespace(env), &name, operator);
    match tokio::time::timeout(Duration::from_secs(3), release).await {
        Ok(Ok(())) => tracing::info!(env = %env.name, "released Lease {name}"),
        Ok(Err(e)) => tracing::warn!(env = %env.name, "releasing Lease {name}: {e}"),
        Err(_) => tracing::warn!(env = %env.name, "releasing Lease {name}: no answer"),
    }
}
