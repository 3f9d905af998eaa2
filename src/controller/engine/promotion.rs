//! Promotion's pure half: may FROM be promoted into TO, and the commit message. Promote is not
//! an env apply — the controller writes a Git commit into TO's path and TO's own engine then
//! syncs it like any other commit — so it needs no engine state beyond FROM's [`EnvView`].
//!
//! Imports only `crate::model`.

use crate::model::{FailureReason, HealthCode, SyncStatus};

use super::policy::{Guarded, confirmation, promotion_route};
use super::view::EnvView;

/// One image whose version a promotion copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageChange {
    /// Short image name as the message shows it (`log-api`).
    pub image: String,
    /// TO's version before; `None` when TO does not have the image yet.
    pub old: Option<String>,
    pub new: String,
}

/// Refuses a promotion before anything is written. The typed confirmation of a protected TO is
/// checked first (it is needed even with `force`), then TO's `promote_from` route (see
/// `policy.rs`); then FROM must be Synced and Healthy unless `force` — promoting what FROM does
/// not demonstrably run promotes an untested release. `Ok(Some(note))`: `force` overrode the
/// route, and the note is to be recorded with the commit.
pub fn promotion_check(
    from: &EnvView,
    to: &str,
    to_protected: bool,
    to_promote_from: Option<&str>,
    force: bool,
    confirm: Option<&str>,
) -> Result<Option<String>, FailureReason> {
    if from.name == to {
        return Err(FailureReason::Refused(format!(
            "cannot promote {to} into itself"
        )));
    }
    let plan = format!("commit a promotion {} → {to}", from.name);
    confirmation(to_protected, to, Guarded::PromoteInto, confirm, &plan)?;
    let forced = promotion_route(&from.name, to, to_promote_from, force)?;
    if force {
        return Ok(forced);
    }
    let synced = from.sync == SyncStatus::Synced;
    let healthy = from.health.code == HealthCode::Healthy;
    if synced && healthy {
        return Ok(None);
    }
    let mut state = format!("{} is {} and {}", from.name, from.sync, from.health.code);
    if !from.health.message.is_empty() {
        state.push_str(&format!(" ({})", from.health.message));
    }
    Err(FailureReason::Refused(format!(
        "{state}; only a Synced and Healthy env is promoted (override with --force)"
    )))
}

/// `promote(dev→staging): log-api 1.4.2 → 1.5.0, log-processor 2.0.1 → 2.1.0`.
pub fn promotion_message(from: &str, to: &str, changes: &[ImageChange]) -> String {
    let body = if changes.is_empty() {
        "no image version changes".to_owned()
    } else {
        changes
            .iter()
            .map(|c| match &c.old {
                Some(old) => format!("{} {old} → {}", c.image, c.new),
                None => format!("{} (new) → {}", c.image, c.new),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("promote({from}→{to}): {body}")
}
