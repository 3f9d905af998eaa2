//! Dry-run answers kept between one env's observations, so that a watch event costs a dry-run
//! only for what changed. An answer is reused while the live object's `resourceVersion` is the
//! one it was made against, for the same revision (the outgoing object is a function of the
//! revision's render), and for at most [`PREDICTION_TTL`]: a dry-run's answer can change with no
//! object changing (a new server default, an admission webhook), so every answer is asked again
//! at least that often. Answers of the two most recently observed revisions are kept (the
//! head's, and the synced revision's while a rejected head is observed beside it); an object no
//! longer live loses its answer. A sync's own apply answers are kept as answers too
//! ([`PredictionCache::seed`]): the observation right after a sync of 1,000 objects then
//! dry-runs none of them again, halving what a sync costs the API server.
//!
//! May import model, cluster, config (through the controller). Only the controller's driver
//! holds a cache: the cold `status`/`diff` observe once and keep nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cluster::Cluster;
use crate::config::EnvConfig;
use serde_json::Value;

use crate::diff;
use crate::model::{Manifest, ResourceKey};

use super::Desired;
use super::observe::{LiveSet, predict_where};
use super::stamping::Prediction;

/// How long a dry-run answer is reused at most (the periodic resync of predictions).
pub const PREDICTION_TTL: Duration = Duration::from_secs(300);
/// Revisions whose answers are kept.
const REVISIONS: usize = 2;

struct Entry {
    resource_version: String,
    at: Instant,
    prediction: Prediction,
}

/// One revision's answers, per desired object.
type Answers = HashMap<ResourceKey, Entry>;

/// One env's kept answers (module doc). Cheap to clone; clones share the answers.
#[derive(Clone, Default)]
pub struct PredictionCache {
    /// Per revision, most recently observed first.
    revisions: Arc<Mutex<Vec<(String, Answers)>>>,
}

fn resource_version(live: &LiveSet, key: &ResourceKey) -> Option<String> {
    super::preflight::resource_version(live.objects.get(key)?)
}

impl PredictionCache {
    fn take(&self, revision: &str) -> Answers {
        let Ok(mut revisions) = self.revisions.lock() else {
            return HashMap::new();
        };
        match revisions.iter().position(|(r, _)| r == revision) {
            Some(i) => revisions.remove(i).1,
            None => HashMap::new(),
        }
    }

    fn put(&self, revision: &str, entries: Answers) {
        if let Ok(mut revisions) = self.revisions.lock() {
            revisions.insert(0, (revision.to_owned(), entries));
            revisions.truncate(REVISIONS);
        }
    }

    /// Keeps what a sync's apply answered ([`super::Applied::answers`]) as the answers for
    /// `desired`'s revision: a dry-run apply of an object just applied, against the version the
    /// apply left, answers the apply's own result, so the observation right after a sync of
    /// 1,000 objects dry-runs none of them instead of all. An object whose diff needs the
    /// server's defaults (a second, create probe) is left to be asked.
    pub fn seed(&self, desired: &Desired, answers: Vec<(ResourceKey, String, Value)>) {
        let revision = desired.revision.sha.as_str();
        let manifests: HashMap<&ResourceKey, &Manifest> = desired
            .rendered
            .manifests
            .iter()
            .map(|m| (m.key(), m))
            .collect();
        let mut kept = self.take(revision);
        let now = Instant::now();
        for (key, resource_version, applied) in answers {
            let Some(m) = manifests.get(&key) else {
                continue;
            };
            if diff::needs_defaults(&applied, m) {
                kept.remove(&key);
                continue;
            }
            let prediction = Prediction {
                applied,
                defaults: None,
            };
            kept.insert(
                key,
                Entry {
                    resource_version,
                    at: now,
                    prediction,
                },
            );
        }
        self.put(revision, kept);
    }

    /// [`super::predict`], asking the server only for objects without a valid kept answer.
    pub async fn predict(
        &self,
        cluster: &Cluster,
        env: &EnvConfig,
        desired: &Desired,
        live: &LiveSet,
    ) -> HashMap<ResourceKey, Prediction> {
        let revision = desired.revision.sha.as_str();
        let mut kept = self.take(revision);
        kept.retain(|key, entry| {
            resource_version(live, key).as_deref() == Some(entry.resource_version.as_str())
                && entry.at.elapsed() < PREDICTION_TTL
        });
        let fresh = predict_where(cluster, env, desired, |key| {
            live.objects.contains_key(key) && !kept.contains_key(key)
        })
        .await;
        let mut out: HashMap<ResourceKey, Prediction> = kept
            .iter()
            .map(|(key, entry)| (key.clone(), entry.prediction.clone()))
            .collect();
        let now = Instant::now();
        for (key, prediction) in fresh {
            if let Some(resource_version) = resource_version(live, &key) {
                kept.insert(
                    key.clone(),
                    Entry {
                        resource_version,
                        at: now,
                        prediction: prediction.clone(),
                    },
                );
            }
            out.insert(key, prediction);
        }
        self.put(revision, kept);
        out
    }
}
