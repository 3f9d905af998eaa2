//! Cluster-held state: the engine's mirror of ConfigMap `driftdeck-<env>` — what every console
//! must agree on (pause, hold, last good, history) — and the merge of a fresh read with this
//! console's not-yet-written changes.
//!
//! Imports only `crate::model`. Serialized as JSON by the driver; every field defaults so an
//! older or hand-edited ConfigMap still loads.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{HistoryEntry, Hold, OperationResult, Pause, short_sha};

/// How many operations the ConfigMap keeps.
pub const HISTORY_LIMIT: usize = 50;
/// How many rejected renders are remembered; older ones may be auto-synced again.
pub const REJECTED_LIMIT: usize = 10;

/// A revision automation must not apply: it failed, or a rollback moved away from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub revision: String,
    /// When set, any revision whose render has this digest is rejected too (a rollback's bad
    /// render re-committed under another sha). A failed auto-sync records only the revision,
    /// so a new commit is tried again.
    #[serde(default)]
    pub render_digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HeldState {
    pub paused: Option<Pause>,
    pub hold: Option<Hold>,
    /// Render digest of the held revision as applied; Git rendering to it ends the hold.
    pub hold_render_digest: Option<String>,
    /// Newest revision that applied and then validated Healthy.
    pub last_good: Option<String>,
    /// Newest revision that applied successfully (validated or not): what live runs.
    pub synced_revision: Option<String>,
    /// Newest first, at most [`REJECTED_LIMIT`].
    pub rejected: Vec<Rejected>,
    /// Newest first, at most [`HISTORY_LIMIT`].
    pub history: Vec<HistoryEntry>,
}

impl HeldState {
    /// Whether automation must skip `revision` (rendered to `digest`).
    pub fn is_rejected(&self, revision: &str, digest: Option<&str>) -> bool {
        self.rejected.iter().any(|r| {
            r.revision == revision
                || matches!((&r.render_digest, digest), (Some(a), Some(b)) if a == b)
        })
    }

    pub(super) fn reject(&mut self, revision: &str, render_digest: Option<String>) {
        self.rejected.retain(|r| r.revision != revision);
        self.rejected.insert(
            0,
            Rejected {
                revision: revision.to_owned(),
                render_digest,
            },
        );
        self.rejected.truncate(REJECTED_LIMIT);
    }

    /// An operator's explicit sync of `revision` lifts an automation ban on it.
    pub(super) fn unreject(&mut self, revision: &str) -> bool {
        let before = self.rejected.len();
        self.rejected.retain(|r| r.revision != revision);
        before != self.rejected.len()
    }

    /// Why automation does not deploy `head` (rendered to `digest`) in `env` now, and how that
    /// ends, as one line for the console banner, `status` and the watch tiles; `None` when
    /// automation is free to act. The same text everywhere, so no view can hide a hold or a
    /// skipped revision.
    pub fn automation_note(
        &self,
        env: &str,
        head: Option<&str>,
        digest: Option<&str>,
    ) -> Option<String> {
        let mut notes = Vec::new();
        if let Some(p) = &self.paused {
            let why = if p.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", p.reason)
            };
            notes.push(format!(
                "automation off: paused by {}{why}; `driftdeck resume {env}` ends it",
                p.by
            ));
        }
        if let Some(h) = &self.hold {
            notes.push(format!(
                "automation off: held at {} (rolled back from {} by {}); ends on `driftdeck \
                 resume {env}` or when Git renders what {} runs (`driftdeck rollback {env} \
                 --revert`)",
                short_sha(&h.revision),
                short_sha(&h.bad_revision),
                h.by,
                short_sha(&h.revision)
            ));
        }
        if let Some(head) = head
            && self.is_rejected(head, digest)
        {
            let why = self
                .history
                .iter()
                .find(|e| e.revision == head && e.result != OperationResult::Running)
                .and_then(|e| e.failure.as_ref().map(|f| format!(" ({f})")))
                .or_else(|| {
                    self.hold
                        .as_ref()
                        .filter(|h| h.bad_revision == head)
                        .map(|_| " (rolled back from)".to_owned())
                })
                .unwrap_or_default();
            let short = short_sha(head);
            notes.push(format!(
                "{short} failed{why}: auto-sync skips {short} until a new commit or \
                 `driftdeck sync {env} --revision {short} --force`"
            ));
        }
        (!notes.is_empty()).then(|| notes.join("; "))
    }

    pub fn entry(&self, id: &str) -> Option<&HistoryEntry> {
        self.history.iter().find(|e| e.id == id)
    }

    /// Inserts or replaces an entry, keeping newest-first order and the limit.
    pub(super) fn upsert(&mut self, entry: HistoryEntry) {
        self.history.retain(|e| e.id != entry.id);
        self.history.push(entry);
        self.sort_and_trim();
    }

    fn sort_and_trim(&mut self) {
        // Stable sort: equal start times keep insertion order reversed by the id tie-break.
        self.history
            .sort_by(|a, b| b.started.cmp(&a.started).then_with(|| b.id.cmp(&a.id)));
        self.history.truncate(HISTORY_LIMIT);
    }

    /// Digest recorded for `revision` by the newest successful apply of it, if any.
    pub fn digest_of(&self, revision: &str) -> Option<&str> {
        self.history
            .iter()
            .find(|e| {
                e.revision == revision
                    && e.result != OperationResult::Running
                    && !e.render_digest.is_empty()
            })
            .map(|e| e.render_digest.as_str())
    }
}

/// Fields this console changed since its last confirmed write. A fresh read keeps our value
/// for these and takes the cluster's for the rest, so a 409 never loses either side's change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Pending {
    pub paused: bool,
    pub hold: bool,
    pub last_good: bool,
    pub synced: bool,
    pub rejected: bool,
    pub history: BTreeSet<String>,
}

impl Pending {
    pub fn any(&self) -> bool {
        self.paused
            || self.hold
            || self.last_good
            || self.synced
            || self.rejected
            || !self.history.is_empty()
    }
}

/// `loaded` (a fresh read) with `ours` laid over it for the fields in `pending`.
pub(super) fn merge(loaded: HeldState, ours: &HeldState, pending: &Pending) -> HeldState {
    let mut out = loaded;
    if pending.paused {
        out.paused.clone_from(&ours.paused);
    }
    if pending.hold {
        out.hold.clone_from(&ours.hold);
        out.hold_render_digest.clone_from(&ours.hold_render_digest);
    }
    if pending.last_good {
        out.last_good.clone_from(&ours.last_good);
    }
    if pending.synced {
        out.synced_revision.clone_from(&ours.synced_revision);
    }
    if pending.rejected {
        out.rejected.clone_from(&ours.rejected);
    }
    for id in &pending.history {
        if let Some(entry) = ours.entry(id) {
            out.history.retain(|e| e.id != *id);
            out.history.push(entry.clone());
        }
    }
    out.sort_and_trim();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OperationKind;
    use jiff::Timestamp;

    fn entry(id: &str, second: i64) -> HistoryEntry {
        HistoryEntry {
            id: id.into(),
            op: OperationKind::Sync,
            revision: "r".into(),
            render_digest: String::new(),
            operator: "a".into(),
            started: Timestamp::from_second(second).unwrap(),
            finished: None,
            result: OperationResult::Running,
            resources_changed: 0,
            failure: None,
        }
    }

    #[test]
    fn history_keeps_newest_fifty() {
        let mut held = HeldState::default();
        for i in 0..60 {
            held.upsert(entry(&format!("e{i}"), i));
        }
        assert_eq!(held.history.len(), HISTORY_LIMIT);
        assert_eq!(held.history[0].id, "e59");
        assert_eq!(held.history[49].id, "e10");
    }

    #[test]
    fn merge_keeps_pending_fields_and_takes_the_rest() {
        let mut ours = HeldState {
            last_good: Some("mine".into()),
            ..HeldState::default()
        };
        ours.upsert(entry("ours", 2));
        let mut theirs = HeldState {
            last_good: Some("theirs".into()),
            synced_revision: Some("theirs".into()),
            ..HeldState::default()
        };
        theirs.upsert(entry("theirs", 1));
        let pending = Pending {
            last_good: true,
            history: ["ours".to_string()].into(),
            ..Pending::default()
        };
        let merged = merge(theirs, &ours, &pending);
        assert_eq!(merged.last_good.as_deref(), Some("mine"));
        assert_eq!(merged.synced_revision.as_deref(), Some("theirs"));
        let ids: Vec<_> = merged.history.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["ours", "theirs"]);
    }

    #[test]
    fn rejected_matches_revision_or_digest() {
        let mut held = HeldState::default();
        held.reject("bad", Some("d1".into()));
        held.reject("failed", None);
        assert!(held.is_rejected("bad", None));
        assert!(held.is_rejected("other", Some("d1")));
        assert!(held.is_rejected("failed", Some("d9")));
        assert!(!held.is_rejected("other", Some("d2")));
        assert!(held.unreject("bad"));
        assert!(!held.is_rejected("other", Some("d1")));
    }

    #[test]
    fn held_state_loads_from_partial_json() {
        let held: HeldState = serde_json::from_str(r#"{"last_good":"abc"}"#).unwrap();
        assert_eq!(held.last_good.as_deref(), Some("abc"));
        assert!(held.history.is_empty());
    }
}
