//! Which versions of a set of kinds a cluster serves, from API discovery: the group's preferred
//! version when it serves the kind, else the most stable version that does (GA before beta
//! before alpha, newest first), as `kubectl` picks them.
//!
//! Used for the kinds driftdeck searches without Git naming them (prune candidates): a fixed
//! `batch/v1 CronJob` fails on a 1.20 server, which serves `batch/v1beta1`; a kind the cluster
//! does not serve at all is simply absent from the answer, never an error. Kinds Git names keep
//! the `apiVersion` Git wrote (resolved one by one in `connect`).
//!
//! Decisions: one discovery round per context covers only the groups asked for (a handful of
//! requests, not the whole API surface), and is kept for [`SERVED_TTL`] so an env's periodic
//! observation costs no discovery requests, while a CRD or an upgraded server is picked up
//! within minutes. Discovery itself is allowed to every authenticated user (the built-in
//! `system:discovery` role), so a view-only user gets the same answer as an admin. Each kind
//! found is also put into the per-kind resolve cache, so the lists that follow need no further
//! discovery.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kube::discovery::{Discovery, Scope, verbs};

use super::{Cluster, Error, ResolvedKind};

/// How long one discovery round is trusted.
pub const SERVED_TTL: Duration = Duration::from_secs(300);

/// One discovery round's answer: (group, kind) → apiVersion, for the groups it covered.
#[derive(Debug, Clone)]
pub(super) struct Served {
    at: Instant,
    groups: Vec<String>,
    versions: BTreeMap<(String, String), String>,
}

impl Served {
    fn covers(&self, wanted: &[(&str, &str)]) -> bool {
        self.at.elapsed() < SERVED_TTL
            && wanted
                .iter()
                .all(|(group, _)| self.groups.iter().any(|g| g == group))
    }

    fn pick(&self, wanted: &[(&str, &str)]) -> Vec<(String, String)> {
        wanted
            .iter()
            .filter_map(|(group, kind)| {
                self.versions
                    .get(&((*group).to_owned(), (*kind).to_owned()))
                    .map(|av| (av.clone(), (*kind).to_owned()))
            })
            .collect()
    }
}

/// The version to use for `kind` in one group: the preferred version if it serves the kind,
/// else the first of `by_stability` (most stable first) that does. `served(version)` lists the
/// kinds a version serves with `list` and `watch`.
pub fn choose_version<'a>(
    preferred: Option<&'a str>,
    by_stability: &[&'a str],
    kind: &str,
    served: impl Fn(&str) -> Vec<String>,
) -> Option<&'a str> {
    let has = |v: &str| served(v).iter().any(|k| k == kind);
    preferred
        .filter(|v| has(v))
        .or_else(|| by_stability.iter().copied().find(|v| has(v)))
}

fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

impl Cluster {
    /// For each wanted (group, kind), the `apiVersion` this cluster serves it at, in the order
    /// asked; kinds the cluster does not serve (or cannot list and watch) are left out.
    /// Errors only when discovery itself fails (unreachable cluster, server error).
    pub async fn served_versions(
        &self,
        wanted: &[(&str, &str)],
    ) -> Result<Vec<(String, String)>, Error> {
        if let Some(hit) = self.served_cached(wanted) {
            return Ok(hit);
        }
        let mut groups: Vec<&str> = wanted.iter().map(|(g, _)| *g).collect();
        groups.sort_unstable();
        groups.dedup();
        let discovery = Discovery::new(self.client().clone())
            .filter(&groups)
            .run()
            .await
            .map_err(|e| match e {
                kube::Error::HyperError(_) | kube::Error::Service(_) => Error::Connect {
                    context: self.context().to_owned(),
                    message: super::api_text(&e),
                },
                other => self.api_error("discovery of the served API versions", other),
            })?;
        let mut versions = BTreeMap::new();
        let mut resolved = Vec::new();
        for group in discovery.groups() {
            let stable: Vec<(String, Vec<(kube::core::ApiResource, bool)>)> = group
                .versions()
                .map(|v| {
                    let kinds = group
                        .versioned_resources(v)
                        .into_iter()
                        .filter(|(_, caps)| {
                            caps.supports_operation(verbs::LIST)
                                && caps.supports_operation(verbs::WATCH)
                        })
                        .map(|(ar, caps)| (ar, matches!(caps.scope, Scope::Namespaced)))
                        .collect();
                    (v.to_owned(), kinds)
                })
                .collect();
            let served = |v: &str| -> Vec<String> {
                stable
                    .iter()
                    .filter(|(version, _)| version == v)
                    .flat_map(|(_, kinds)| kinds.iter().map(|(ar, _)| ar.kind.clone()))
                    .collect()
            };
            let order: Vec<&str> = group.versions().collect();
            for (g, kind) in wanted.iter().filter(|(g, _)| *g == group.name()) {
                let Some(version) = choose_version(group.preferred_version(), &order, kind, served)
                else {
                    continue;
                };
                let av = api_version(g, version);
                if let Some((ar, namespaced)) = stable
                    .iter()
                    .filter(|(v, _)| v == version)
                    .flat_map(|(_, kinds)| kinds.iter())
                    .find(|(ar, _)| ar.kind == *kind)
                {
                    resolved.push((
                        (av.clone(), (*kind).to_owned()),
                        ResolvedKind {
                            resource: ar.clone(),
                            namespaced: *namespaced,
                        },
                    ));
                }
                versions.insert(((*g).to_owned(), (*kind).to_owned()), av);
            }
        }
        if let Ok(mut kinds) = self.kinds.lock() {
            kinds.extend(resolved);
        }
        let served = Served {
            at: Instant::now(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            versions,
        };
        let picked = served.pick(wanted);
        if let Ok(mut slot) = self.served.lock() {
            *slot = Some(served);
        }
        Ok(picked)
    }

    /// [`Self::served_versions`] from the last discovery round only (no request): `None` when
    /// no round covering `wanted` is recent enough.
    pub fn served_cached(&self, wanted: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        let slot = self.served.lock().ok()?;
        slot.as_ref()
            .filter(|s| s.covers(wanted))
            .map(|s| s.pick(wanted))
    }

    /// [`Self::served_cached`] at any age: what the watches of a running env follow, so the
    /// set of watched kinds does not flap when the answer ages past [`SERVED_TTL`] (the next
    /// listed observation discovers again). `None` before the first round covering `wanted`.
    pub fn served_last(&self, wanted: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        let slot = self.served.lock().ok()?;
        slot.as_ref()
            .filter(|s| {
                wanted
                    .iter()
                    .all(|(group, _)| s.groups.iter().any(|g| g == group))
            })
            .map(|s| s.pick(wanted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serving(table: &[(&str, &[&str])]) -> impl Fn(&str) -> Vec<String> {
        let table: Vec<(String, Vec<String>)> = table
            .iter()
            .map(|(v, kinds)| {
                (
                    (*v).to_owned(),
                    kinds.iter().map(|k| (*k).to_owned()).collect(),
                )
            })
            .collect();
        move |v: &str| {
            table
                .iter()
                .filter(|(version, _)| version == v)
                .flat_map(|(_, kinds)| kinds.clone())
                .collect()
        }
    }

    #[test]
    fn a_kind_only_in_beta_is_found_at_the_beta_version() {
        // Kubernetes 1.20: batch prefers v1, which has Job but not CronJob.
        let batch = serving(&[("v1", &["Job"]), ("v1beta1", &["CronJob"])]);
        let order = ["v1", "v1beta1"];
        assert_eq!(
            choose_version(Some("v1"), &order, "CronJob", &batch),
            Some("v1beta1")
        );
        assert_eq!(
            choose_version(Some("v1"), &order, "Job", &batch),
            Some("v1")
        );
    }

    #[test]
    fn the_preferred_version_wins_when_it_serves_the_kind() {
        let autoscaling = serving(&[
            ("v1", &["HorizontalPodAutoscaler"]),
            ("v2beta2", &["HorizontalPodAutoscaler"]),
        ]);
        let order = ["v1", "v2beta2"];
        assert_eq!(
            choose_version(
                Some("v2beta2"),
                &order,
                "HorizontalPodAutoscaler",
                &autoscaling
            ),
            Some("v2beta2")
        );
        assert_eq!(
            choose_version(None, &order, "HorizontalPodAutoscaler", &autoscaling),
            Some("v1")
        );
    }

    #[test]
    fn a_kind_no_version_serves_is_absent_not_an_error() {
        let policy = serving(&[("v1beta1", &["PodSecurityPolicy"])]);
        assert_eq!(
            choose_version(
                Some("v1beta1"),
                &["v1beta1"],
                "PodDisruptionBudget",
                &policy
            ),
            None
        );
    }

    #[test]
    fn core_kinds_have_a_bare_api_version() {
        assert_eq!(api_version("", "v1"), "v1");
        assert_eq!(api_version("batch", "v1beta1"), "batch/v1beta1");
    }
}
