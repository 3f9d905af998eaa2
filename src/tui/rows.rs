//! Flat view rows (kdash's `KubeDeployment` habit): panes render `EnvRow`, `CommitRow`,
//! `DriftRow` and the model's already-flat `PodRow`, built from the snapshot for the visible
//! rows only. Also the row filter and the age format every pane shares.
//!
//! Imports `crate::model` only; pure.

use jiff::Timestamp;

use crate::model::{
    Commit, Drift, DriftKind, EngineName, EnvState, HealthCode, PodRow, Snapshot, SyncStatus,
    short_sha,
};

/// One line of the environments pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvRow {
    pub name: String,
    pub protected: bool,
    pub sync: SyncStatus,
    pub health: HealthCode,
    pub desired: String,
    pub synced: String,
    pub drift: usize,
    /// Who reconciles the env (driftdeck, argocd, flux).
    pub engine: EngineName,
    /// PAUSED, HOLD, running operation, "held by …" or "not reconciling", error — in that
    /// order.
    pub badges: Vec<Badge>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Badge {
    /// The reason behind a health other than Healthy.
    Health(String),
    Paused,
    Hold(String),
    Lease(String),
    /// Nobody holds the env's Lease (or it expired): no controller runs its automation.
    NotReconciling,
    Operation(String),
    Error(String),
}

impl EnvRow {
    pub fn of(env: &EnvState) -> Self {
        let mut badges = Vec::new();
        if env.health.code != HealthCode::Healthy && !env.health.message.is_empty() {
            badges.push(Badge::Health(env.health.message.clone()));
        }
        if env.paused.is_some() {
            badges.push(Badge::Paused);
        }
        if let Some(hold) = &env.hold {
            badges.push(Badge::Hold(short_sha(&hold.revision).to_owned()));
        }
        if let Some(op) = &env.operation {
            badges.push(Badge::Operation(format!("{} {}", op.op, op.phase)));
        }
        if let Some(holder) = &env.lease_holder {
            badges.push(Badge::Lease(holder.clone()));
        } else if not_reconciling(env) {
            badges.push(Badge::NotReconciling);
        }
        if let Some(error) = &env.error {
            badges.push(Badge::Error(error.clone()));
        }
        Self {
            name: env.name.clone(),
            protected: env.protected,
            sync: env.sync,
            health: env.health.code,
            desired: env.revision.as_deref().map_or("-", short_sha).to_owned(),
            synced: env
                .synced_revision
                .as_deref()
                .map_or("-", short_sha)
                .to_owned(),
            drift: env.drift.len(),
            engine: env.engine,
            badges,
        }
    }
}

/// Whether no controller is known to run `env`'s automation: nobody holds its Lease (or the
/// holder let it expire). A Lease this user may not read (the built-in `view` role) is
/// unknown, not unheld, so it says nothing. An env driven by Argo CD or Flux has no driftdeck
/// Lease: its engine's controller reconciles it.
pub fn not_reconciling(env: &EnvState) -> bool {
    env.engine == EngineName::Driftdeck
        && env.lease_holder.is_none()
        && !env.unreadable.iter().any(|u| u.contains("Lease"))
}

/// Whether the console shows engine names: only when some env is not driftdeck's own (for an
/// all-driftdeck config the column would say the same word on every row).
pub fn shows_engines(snap: &Snapshot) -> bool {
    snap.envs.iter().any(|e| e.engine != EngineName::Driftdeck)
}

/// One line of the history pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitRow {
    pub short: String,
    pub age: String,
    pub author: String,
    pub summary: String,
    /// Envs whose synced revision is this commit.
    pub running: Vec<String>,
}

impl CommitRow {
    pub fn of(commit: &Commit, snap: &Snapshot, now: Timestamp) -> Self {
        Self {
            short: commit.short_sha().to_owned(),
            age: format_age(now, commit.time),
            author: commit.author.clone(),
            summary: commit.summary.clone(),
            running: snap
                .envs
                .iter()
                .filter(|e| e.synced_revision.as_deref() == Some(commit.sha.as_str()))
                .map(|e| e.name.clone())
                .collect(),
        }
    }
}

/// One line of the drift pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftRow {
    pub kind: DriftKind,
    pub resource: String,
    pub fields: String,
}

impl DriftRow {
    pub fn of(drift: &Drift) -> Self {
        let fields = match drift.paths.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [first, rest @ ..] => format!("{first} +{}", rest.len()),
        };
        Self {
            kind: drift.kind,
            resource: drift.key.to_string(),
            fields,
        }
    }
}

/// `42s`, `5m`, `3h`, `12d`; `-` when unknown; future times show as `0s`.
pub fn format_age(now: Timestamp, then: Timestamp) -> String {
    let secs = (now.as_second() - then.as_second()).max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3_600 => format!("{}m", secs / 60),
        3_600..86_400 => format!("{}h", secs / 3_600),
        _ => format!("{}d", secs / 86_400),
    }
}

pub fn format_age_opt(now: Timestamp, then: Option<Timestamp>) -> String {
    then.map_or_else(|| "-".to_owned(), |t| format_age(now, t))
}

/// Rows matching the filter (case-insensitive substring); all rows when the filter is empty.
pub fn filtered<'a, T>(
    rows: &'a [T],
    filter: &'a str,
    matches: fn(&T, &str) -> bool,
) -> impl Iterator<Item = &'a T> + 'a {
    let needle = filter.to_lowercase();
    rows.iter()
        .filter(move |row| needle.is_empty() || matches(row, &needle))
}

/// The indices of the rows matching the filter, in one pass; `None` when the filter is empty
/// (every row matches and rows can be sliced directly).
pub fn matching<T>(rows: &[T], filter: &str, matches: fn(&T, &str) -> bool) -> Option<Vec<usize>> {
    if filter.is_empty() {
        return None;
    }
    let needle = filter.to_lowercase();
    Some(
        rows.iter()
            .enumerate()
            .filter(|(_, row)| matches(row, &needle))
            .map(|(i, _)| i)
            .collect(),
    )
}

/// The rows at positions `range` of the (possibly filtered) list, with their positions.
pub fn rows_in<'a, T>(
    rows: &'a [T],
    matched: Option<&'a [usize]>,
    range: std::ops::Range<usize>,
) -> impl Iterator<Item = (usize, &'a T)> + 'a {
    range.filter_map(move |pos| {
        let index = match matched {
            Some(m) => *m.get(pos)?,
            None => pos,
        };
        rows.get(index).map(|row| (pos, row))
    })
}

/// Case-insensitive substring test against an already lower-cased needle, without
/// allocating for ASCII text: filters run over every row each frame (5,000 pods).
fn contains(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    // Kubernetes names are lower-case already: search them in place (std's substring search
    // is fast even in debug builds); only mixed-case text pays for a lower-cased copy.
    if !haystack.bytes().any(|b| b.is_ascii_uppercase()) && haystack.is_ascii() {
        return haystack.contains(needle);
    }
    haystack.to_lowercase().contains(needle)
}

pub fn commit_matches(c: &Commit, needle: &str) -> bool {
    c.sha.starts_with(needle) || contains(&c.summary, needle) || contains(&c.author, needle)
}

pub fn drift_matches(d: &Drift, needle: &str) -> bool {
    // The parts first (no allocation); the joined `Kind/ns/name` only for needles that span
    // a separator.
    contains(&d.key.name, needle)
        || contains(&d.key.kind, needle)
        || contains(&d.key.namespace, needle)
        || (needle.contains('/') && contains(&d.key.to_string(), needle))
        || contains(&d.kind.to_string(), needle)
}

/// Triage rank of a pod's health: what needs eyes first comes first (Degraded, then
/// Missing, Unknown, Progressing, Suspended, Healthy). `HealthCode`'s own order puts Unknown
/// last because it is the worst *aggregate*; a pod in CrashLoopBackOff is more urgent than one
/// whose state is not known yet.
pub fn triage_rank(code: HealthCode) -> u8 {
    match code {
        HealthCode::Degraded => 0,
        HealthCode::Missing => 1,
        HealthCode::Unknown => 2,
        HealthCode::Progressing => 3,
        HealthCode::Suspended => 4,
        HealthCode::Healthy => 5,
    }
}

/// The pods pane's rows as indices into `pods`: those matching the filter (and, with
/// `unhealthy_only`, not Healthy), worst health first, then by name. The pane and the
/// cursor's "selected pod" both read this one order.
pub fn pod_order(pods: &[PodRow], filter: &str, unhealthy_only: bool) -> Vec<usize> {
    let needle = filter.to_lowercase();
    let mut order: Vec<usize> = pods
        .iter()
        .enumerate()
        .filter(|(_, p)| !unhealthy_only || p.health != HealthCode::Healthy)
        .filter(|(_, p)| needle.is_empty() || pod_matches(p, &needle))
        .map(|(i, _)| i)
        .collect();
    order.sort_by(|&a, &b| {
        let (pa, pb) = (&pods[a], &pods[b]);
        triage_rank(pa.health)
            .cmp(&triage_rank(pb.health))
            .then_with(|| pa.name.cmp(&pb.name))
    });
    order
}

pub fn pod_matches(p: &PodRow, needle: &str) -> bool {
    contains(&p.name, needle) || contains(&p.status, needle) || contains(&p.reason, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_short() {
        let now: Timestamp = "2026-11-21T23:45:00Z".parse().unwrap();
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(format_age(now, t("2026-11-21T23:44:18Z")), "42s");
        assert_eq!(format_age(now, t("2026-11-21T23:40:00Z")), "5m");
        assert_eq!(format_age(now, t("2026-11-21T20:45:00Z")), "3h");
        assert_eq!(format_age(now, t("2026-11-09T23:45:00Z")), "12d");
        assert_eq!(format_age(now, t("2026-11-22T00:00:00Z")), "0s");
    }

    fn pod(name: &str, health: HealthCode) -> PodRow {
        PodRow {
            namespace: "shop".into(),
            name: name.into(),
            status: health.to_string(),
            ready: "1/1".into(),
            restarts: 0,
            created: None,
            reason: String::new(),
            node: String::new(),
            owner: String::new(),
            health,
        }
    }

    #[test]
    fn pods_sort_worst_health_first_then_by_name() {
        let pods = vec![
            pod("api-a", HealthCode::Healthy),
            pod("api-c", HealthCode::Degraded),
            pod("api-b", HealthCode::Progressing),
            pod("api-d", HealthCode::Degraded),
        ];
        let names = |order: Vec<usize>| -> Vec<&str> {
            order.into_iter().map(|i| pods[i].name.as_str()).collect()
        };
        assert_eq!(
            names(pod_order(&pods, "", false)),
            vec!["api-c", "api-d", "api-b", "api-a"]
        );
        assert_eq!(
            names(pod_order(&pods, "", true)),
            vec!["api-c", "api-d", "api-b"]
        );
        assert_eq!(names(pod_order(&pods, "API-D", false)), vec!["api-d"]);
    }

    #[test]
    fn filter_is_case_insensitive_substring() {
        assert!(contains("Deployment", "deploy"));
        assert!(contains("CrashLoopBackOff", "loopback"));
        assert!(!contains("Running", "crash"));
        assert!(contains("Ünïcode-Pod", "ünï"));
        assert!(contains("x", ""));
    }

    #[test]
    fn an_env_whose_lease_nobody_holds_says_not_reconciling() {
        let mut env = EnvState::unknown("dev");
        assert!(EnvRow::of(&env).badges.contains(&Badge::NotReconciling));
        env.lease_holder = Some("carol@ops-1/4242".into());
        let badges = EnvRow::of(&env).badges;
        assert!(!badges.contains(&Badge::NotReconciling));
        assert!(badges.contains(&Badge::Lease("carol@ops-1/4242".into())));
        // A Lease the user may not read is unknown, not unheld.
        env.lease_holder = None;
        env.unreadable = vec!["read Lease driftdeck-dev: forbidden".into()];
        assert!(!EnvRow::of(&env).badges.contains(&Badge::NotReconciling));
    }
}
