//! Drift: pairs desired manifests with live objects by [`ResourceKey`] and says, per resource,
//! what a sync would change — field paths and a unified YAML diff — with nothing from server
//! defaults, status or bookkeeping metadata, and never a Secret value.
//!
//! Imports only `crate::model` (plus serde_json, similar, sha2, base64). It is pure: no IO, no
//! kube client. The `cluster` module supplies live objects and server-side dry-run results;
//! the controller passes the config's `ignore_differences` (model [`IgnoreRule`]s) in
//! [`DiffOptions`].
//!
//! Drift semantics — the contract, held on a real API server and on the sandbox alike
//! (`tests/it/real_drift*.rs` run the same cases on both):
//! - **Not drift**: server defaults, whoever the server credits with them (`kubectl create`,
//!   client-side `kubectl apply`, `kubectl replace`, Helm all get the defaults in their
//!   `managedFields` entry); `status`; fields written through subresources (`/scale` by an HPA,
//!   `/status`) or by the cluster's own controllers; metadata noise (uid, resourceVersion,
//!   generation, timestamps, managedFields, the last-applied annotation, the Deployment
//!   revision annotation); driftdeck's own tracking label and annotations.
//! - **Drift**: a field Git sets whose live value differs; a field Git does not set that someone
//!   added or changed by hand after creation (`kubectl edit/patch/set/label/annotate`); a field
//!   Git set at the last sync (or another tool applied) and Git has since removed; an object Git
//!   has that the cluster lacks (`Missing`); a managed object Git no longer has (`Extra`).
//! - The prediction is the server-side dry-run of exactly the object a sync sends (the
//!   controller stamps both with one function: tracking label, annotations, namespace; the
//!   cluster module sends both with field manager `driftdeck`, conflicts forced), and a sync
//!   removes what the diff reports: the controller takes over the fields other managers hold
//!   (`foreign`'s [`taken_over`]) before it applies, the way Flux does.
//!
//! Two strategies (ARCHITECTURE.md, "Diff/drift"):
//! - **dry-run** (primary): the server-side dry-run apply of the desired object is what live
//!   would become, so both sides carry the same defaults and they are compared whole — except
//!   the fields other managers hold that Git lacks (`foreign`), which the sync's takeover sets
//!   back to their server default or removes: the prediction shows them that way;
//! - **fallback** (dry-run refused): live is cut down to the fields the desired object sets
//!   (lists matched by merge key) and compared with the desired object.
//!
//! Decisions where the design was silent: in the fallback, elements of keyed lists that live
//! has and Git lacks (an env var set by hand, an injected container) count as drift; a
//! manager-owned `k:` list element keeps its key fields when its other fields are ignored, so
//! the element still pairs up; Missing and Extra drifts carry the whole (masked) object as an
//! all-added or all-removed diff, and no paths.

mod foreign;
mod ignore;
mod normalize;
mod quantity;
mod text;
mod walk;

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use serde_json::Value;

use crate::model::{Drift, DriftKind, Manifest, ResourceKey};

pub use foreign::{split_allocated, taken_over};
pub use normalize::{mask_secret, normalize};
pub use text::to_yaml;

/// How to compare: the fields to ignore.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffOptions {
    pub ignore: Vec<IgnoreRule>,
}

// Re-exported beside `DiffOptions` for callers that build options (tests/it/diff.rs); the
// crate imports it from `crate::model`.
pub use crate::model::IgnoreRule;

/// What live WOULD be after a sync: the server-side dry-run apply result, or `Unavailable` when
/// the server refused the dry-run (the fallback strategy is used then). `Defaulted` adds the
/// server's dry-run create of the same object (the values the server defaults fields to), which
/// tells a default credited to another manager from a hand edit (`foreign`).
#[derive(Debug, Clone, Copy)]
pub enum Predicted<'a> {
    DryRun(&'a Value),
    Defaulted {
        applied: &'a Value,
        defaults: &'a Value,
    },
    Unavailable,
}

/// Whether the dry-run result `predicted` holds fields other managers own that Git does not set
/// (module doc of `foreign`): only then is the server's answer for the object's defaults worth
/// asking for, and passed as [`Predicted::Defaulted`].
pub fn needs_defaults(predicted: &Value, desired: &Manifest) -> bool {
    foreign::has_foreign(predicted, desired.object())
}

/// Compares one desired/live pair. `None` when in sync.
pub fn compare(
    desired: &Manifest,
    live: &Value,
    predicted: Predicted<'_>,
    opts: &DiffOptions,
) -> Option<Drift> {
    let key = desired.key();
    let mut drops = Vec::new();
    for rule in opts.ignore.iter().filter(|r| r.matches(key)) {
        drops.extend(
            rule.json_pointers
                .iter()
                .filter_map(|p| ignore::parse_pointer(p)),
        );
        if !rule.managers.is_empty() {
            drops.extend(ignore::managed_by(live, &rule.managers));
        }
    }
    // Under dry-run, fields only foreign managers own and Git lacks are what a sync removes.
    let foreign_free;
    let (target_raw, fallback) = match predicted {
        Predicted::DryRun(p) => {
            foreign_free = foreign::without_foreign(p, desired.object(), None);
            (&*foreign_free, false)
        }
        Predicted::Defaulted { applied, defaults } => {
            foreign_free = foreign::without_foreign(applied, desired.object(), Some(defaults));
            (&*foreign_free, false)
        }
        Predicted::Unavailable => (desired.object(), true),
    };
    let secret = desired.kind() == "Secret" && desired.api_version() == "v1";
    // Fast path, the common case: no ignore rules and no Secret folding, so the walker can
    // skip the normalization noise by reference and an in-sync pair costs no clone.
    let mut normalized = None;
    let paths = if drops.is_empty() && !secret {
        walk::differences(live, target_raw, fallback)
    } else {
        let mut live_n = normalize(live);
        let mut target = normalize(target_raw);
        for pattern in &drops {
            ignore::remove(&mut live_n, pattern);
            ignore::remove(&mut target, pattern);
        }
        let paths = walk::differences(&live_n, &target, fallback);
        normalized = Some((live_n, target));
        paths
    };
    if paths.is_empty() {
        return None;
    }
    let (mut live_n, mut target) =
        normalized.unwrap_or_else(|| (normalize(live), normalize(target_raw)));
    if fallback {
        live_n = walk::restrict(&live_n, &target);
    }
    walk::align(&mut live_n, &mut target);
    let diff = if secret {
        text::unified(
            key,
            Some(&mask_secret(&live_n)),
            Some(&mask_secret(&target)),
        )
    } else {
        text::unified(key, Some(&live_n), Some(&target))
    };
    Some(Drift {
        key: key.clone(),
        kind: DriftKind::Modified,
        paths,
        diff,
    })
}

/// The key of a live object; `None` when it lacks apiVersion, kind or name.
pub fn live_key(obj: &Value) -> Option<ResourceKey> {
    let (group, kind, namespace, name) = live_key_ref(obj)?;
    Some(ResourceKey::new(group, kind, namespace, name))
}

/// Whether a live object carries driftdeck's tracking metadata for `env` (label
/// `app.kubernetes.io/managed-by=driftdeck`, annotation `driftdeck.io/env=<env>`): the test
/// the caller applies to choose `managed_extra` for [`diff_sets`].
pub fn is_managed(obj: &Value, env: &str) -> bool {
    let meta = obj.get("metadata");
    let label = meta
        .and_then(|m| m.get("labels"))
        .and_then(|l| l.get(crate::model::MANAGED_BY_LABEL))
        .and_then(Value::as_str);
    let owner = meta
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(crate::model::ENV_ANNOTATION))
        .and_then(Value::as_str);
    label == Some(crate::model::MANAGED_BY_VALUE) && owner == Some(env)
}

/// Pairs a desired set with live objects by [`ResourceKey`]: `Missing` (desired, not live),
/// `Modified`, and `Extra` (objects of `managed_extra` — live objects the caller knows driftdeck
/// manages for this env — that are not desired). `predicted` returns the dry-run result for a
/// key, or `None` to use the fallback. Live objects without identity are skipped. The result is
/// sorted by key. Callers holding a dry-run cache should prefer [`diff_sets_cached`], which
/// borrows the cached results instead of taking a copy of each.
pub fn diff_sets(
    desired: &[Manifest],
    live: &[Value],
    managed_extra: &[Value],
    predicted: &dyn Fn(&ResourceKey) -> Option<Value>,
    opts: &DiffOptions,
) -> Vec<Drift> {
    pair_up(desired, live, managed_extra, |d, l| {
        let dry = predicted(d.key());
        let p = dry
            .as_ref()
            .map_or(Predicted::Unavailable, Predicted::DryRun);
        compare(d, l, p, opts)
    })
}

/// [`diff_sets`] with dry-run results borrowed from the caller's cache.
pub fn diff_sets_cached<'p>(
    desired: &[Manifest],
    live: &[Value],
    managed_extra: &[Value],
    predicted: &dyn Fn(&ResourceKey) -> Option<&'p Value>,
    opts: &DiffOptions,
) -> Vec<Drift> {
    pair_up(desired, live, managed_extra, |d, l| {
        let p = predicted(d.key()).map_or(Predicted::Unavailable, Predicted::DryRun);
        compare(d, l, p, opts)
    })
}

/// A key borrowed from an object, so pairing thousands of objects allocates nothing.
type KeyRef<'a> = (&'a str, &'a str, &'a str, &'a str);

fn key_ref(key: &ResourceKey) -> KeyRef<'_> {
    (&key.group, &key.kind, &key.namespace, &key.name)
}

fn live_key_ref(obj: &Value) -> Option<KeyRef<'_>> {
    // Plain lookups: `Value::pointer` allocates for every segment, which showed up at 5,000
    // objects.
    fn text(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str)
    }
    let meta = obj.get("metadata");
    let api_version = text(obj.get("apiVersion")).filter(|s| !s.is_empty())?;
    let kind = text(obj.get("kind")).filter(|s| !s.is_empty())?;
    let name = text(meta.and_then(|m| m.get("name"))).filter(|s| !s.is_empty())?;
    let namespace = text(meta.and_then(|m| m.get("namespace"))).unwrap_or("");
    Some((ResourceKey::group_of(api_version), kind, namespace, name))
}

/// FNV-1a: the keys hashed here are short, trusted strings from our own inputs, where SipHash's
/// DoS resistance buys nothing and costs a third of the pairing time.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FastHash = BuildHasherDefault<Fnv>;

fn pair_up(
    desired: &[Manifest],
    live: &[Value],
    managed_extra: &[Value],
    mut compare_pair: impl FnMut(&Manifest, &Value) -> Option<Drift>,
) -> Vec<Drift> {
    let live_by_key: HashMap<KeyRef<'_>, &Value, FastHash> = live
        .iter()
        .filter_map(|obj| Some((live_key_ref(obj)?, obj)))
        .collect();
    let mut out = Vec::new();
    let mut wanted: HashSet<KeyRef<'_>, FastHash> =
        HashSet::with_capacity_and_hasher(desired.len(), FastHash::default());
    for d in desired {
        wanted.insert(key_ref(d.key()));
        match live_by_key.get(&key_ref(d.key())) {
            None => out.push(missing(d)),
            Some(l) => out.extend(compare_pair(d, l)),
        }
    }
    for obj in managed_extra {
        if live_key_ref(obj).is_some_and(|k| !wanted.contains(&k)) {
            out.extend(extra(obj));
        }
    }
    sort_drift(&mut out);
    out
}

/// The `Missing` drift of a desired object that is not live: the whole (masked) object as an
/// all-added diff. For callers that pair desired and live themselves (streaming per kind).
pub fn missing(desired: &Manifest) -> Drift {
    Drift {
        key: desired.key().clone(),
        kind: DriftKind::Missing,
        paths: Vec::new(),
        diff: text::unified(
            desired.key(),
            None,
            Some(&mask_secret(&normalize(desired.object()))),
        ),
    }
}

/// The `Extra` drift of a managed live object that is not desired (the caller checked both):
/// the whole (masked) object as an all-removed diff. `None` for an object without identity.
pub fn extra(obj: &Value) -> Option<Drift> {
    let key = live_key(obj)?;
    Some(Drift {
        diff: text::unified(&key, Some(&mask_secret(&normalize(obj))), None),
        key,
        kind: DriftKind::Extra,
        paths: Vec::new(),
    })
}

/// Puts drifts in the order [`diff_sets`] returns them (by key, then kind), one per key and
/// kind.
pub fn sort_drift(drift: &mut Vec<Drift>) {
    drift.sort_by(|a, b| a.key.cmp(&b.key).then(a.kind.cmp(&b.kind)));
    drift.dedup_by(|a, b| a.key == b.key && a.kind == b.kind);
}
