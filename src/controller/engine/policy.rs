//! An env's automation policy (from the config file), the engine's fixed timings, and the
//! guards every entry point passes through.
//!
//! Imports only `crate::model`. Durations are `std::time::Duration`; the engine adds them to
//! event timestamps, it never reads a clock.
//!
//! The guards are the one safety policy: the console and the CLI
//! only *collect* a confirmation (a typed env name, `--confirm ENV`, `--force`); whether it is
//! enough is decided here, by the engine (sync, rollback, resume) and by the promotion check
//! (promote-into), never by the caller. A guard that is not satisfied is
//! [`FailureReason::NeedsConfirmation`], whose text says what would have happened and how to
//! confirm it; the CLI turns it into exit 2 with nothing changed.
//! - A protected env needs its name typed for sync, rollback, resume and a promotion into it.
//!   Pause never needs it: stopping automation is always safe, and the emergency stop must
//!   not wait for typing (ARCHITECTURE: `pause --all` is the emergency stop), so `pause --all`
//!   pauses protected envs like any other.
//! - A verb over several envs (`resume --all`, the only one today: sync, rollback and promote
//!   name one env, pause is never guarded) is all-or-nothing with respect to the guard:
//!   [`fan_out_confirmation`] decides up front, before any env is touched, which protected
//!   envs lack their typed name; if any does, no env is resumed — not even the unprotected
//!   ones — and the refusal names every `--confirm ENV` that is missing. Resuming dev and
//!   staging while refusing production would leave the operator with a half-done action they
//!   did not ask for. Refusals for other reasons (an env's state not read yet, its cluster
//!   unreachable) stay per env: they are not a decision the operator can confirm away.
//! - A promotion into TO must come from TO's `promote_from`; `--force` overrides and the
//!   override is recorded (audit line and a commit trailer).
//! - A manual sync of a revision automation skips (a rollback's bad revision, a failed one)
//!   needs `--force` / a second confirmation, because it redeploys what was judged bad.

use std::time::Duration;

use crate::model::FailureReason;

/// Transient apply failures: first retry after this, doubling.
pub const RETRY_BASE: Duration = Duration::from_secs(5);
/// Ceiling of one retry delay.
pub const RETRY_MAX: Duration = Duration::from_secs(180);
/// Retries after the first attempt; the sixth failure fails the operation.
pub const RETRY_LIMIT: u32 = 5;
/// Self-heal starts at most once per this interval, so a fight with another writer (an HPA, a
/// `kubectl scale` loop) costs one apply per interval, not a hot loop.
pub const SELF_HEAL_INTERVAL: Duration = Duration::from_secs(5);
/// How long an operation waits for the state write that records it before it fails (nothing
/// applied): a ConfigMap that cannot be written for this long is not a transient fault.
pub const RECORD_WAIT: Duration = Duration::from_secs(30);
/// How long a rollback waits for another console's running operation to give way.
pub const OTHER_OPERATION_WAIT: Duration = Duration::from_secs(120);
/// A `Running` history entry of another console that does not hold the Lease is considered
/// dead this long after `validation_timeout` has passed (no operation outlives validation plus
/// the whole retry budget, about 3 min).
pub const ORPHAN_GRACE: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Apply a new head revision without asking.
    pub auto_sync: bool,
    /// Re-apply the synced head when live drifts from it.
    pub self_heal: bool,
    /// Delete managed objects Git no longer has.
    pub prune: bool,
    /// Roll back to `last_good` (and hold) when validation fails.
    pub auto_rollback: bool,
    /// Rollback (and promotion into it) needs the env name typed as confirmation.
    pub protected: bool,
    /// How long a synced env has to become Healthy.
    pub validation_timeout: Duration,
    /// A render with no objects may be applied (and pruned to); off, it fails its operation.
    pub allow_empty: bool,
}

impl Default for Policy {
    /// Everything manual, as an env without policy keys in the config file.
    fn default() -> Self {
        Self {
            auto_sync: false,
            self_heal: false,
            prune: false,
            auto_rollback: false,
            protected: false,
            validation_timeout: Duration::from_secs(300),
            allow_empty: false,
        }
    }
}

/// The verbs a protected env guards with a typed confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    Sync,
    Rollback,
    Resume,
    PromoteInto,
}

impl Guarded {
    fn verb(self) -> &'static str {
        match self {
            Guarded::Sync => "sync",
            Guarded::Rollback => "rollback",
            Guarded::Resume => "resume",
            Guarded::PromoteInto => "promotion",
        }
    }
}

/// Whether `confirm` (the typed name) lets `verb` act on `env`; `plan` says what would happen
/// and is part of the refusal so the operator sees what they are about to confirm.
pub fn confirmation(
    protected: bool,
    env: &str,
    verb: Guarded,
    confirm: Option<&str>,
    plan: &str,
) -> Result<(), FailureReason> {
    if !protected || confirm == Some(env) {
        return Ok(());
    }
    let got = match confirm {
        Some(other) => format!(" (\"{other}\" does not match)"),
        None => String::new(),
    };
    Err(FailureReason::NeedsConfirmation(format!(
        "{env} is protected: would {plan}; nothing was changed. Confirm the {} by typing its \
         name (--confirm {env}){got}",
        verb.verb()
    )))
}

/// Whether a verb fanned out over `envs` (name, protected) may start at all: every protected
/// env must be among the typed names in `confirm`. Checked before any env acts, so a refusal
/// changes nothing anywhere; its text names every missing `--confirm ENV`.
pub fn fan_out_confirmation(
    envs: &[(&str, bool)],
    verb: Guarded,
    confirm: &[String],
) -> Result<(), FailureReason> {
    let missing: Vec<&str> = envs
        .iter()
        .filter(|(name, protected)| *protected && !confirm.iter().any(|c| c == name))
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let all: Vec<&str> = envs.iter().map(|(name, _)| *name).collect();
    let (subject, is) = match missing.as_slice() {
        [one] => ((*one).to_owned(), "is"),
        many => (many.join(", "), "are"),
    };
    let flags: Vec<String> = missing.iter().map(|m| format!("--confirm {m}")).collect();
    let stray: Vec<&str> = confirm
        .iter()
        .map(String::as_str)
        .filter(|c| !envs.iter().any(|(name, protected)| *protected && name == c))
        .collect();
    let stray = if stray.is_empty() {
        String::new()
    } else {
        format!(
            " (\"{}\" names no protected env here)",
            stray.join("\", \"")
        )
    };
    Err(FailureReason::NeedsConfirmation(format!(
        "{subject} {is} protected: add {}; nothing was changed (would {} {}){stray}",
        flags.join(" "),
        verb.verb(),
        all.join(", ")
    )))
}

/// Whether FROM may be promoted into TO given TO's `promote_from`. `Ok(Some(note))` when
/// `force` overrode the route: the note goes into the audit line and the commit.
pub fn promotion_route(
    from: &str,
    to: &str,
    to_promote_from: Option<&str>,
    force: bool,
) -> Result<Option<String>, FailureReason> {
    match to_promote_from {
        Some(expected) if expected != from => {
            if force {
                Ok(Some(format!(
                    "forced: {to} takes promotions from {expected}, promoted from {from}"
                )))
            } else {
                Err(FailureReason::NeedsConfirmation(format!(
                    "{to} takes promotions from {expected}, not {from}: would skip {expected}; \
                     nothing was changed. Promote {expected} → {to}, or pass --force (recorded \
                     in the audit log and the commit)"
                )))
            }
        }
        _ => Ok(None),
    }
}

/// The delay before retry number `retry` (1-based): 5 s, 10 s, 20 s, … capped at 3 min.
pub fn retry_delay(retry: u32) -> Duration {
    let factor = 1u32
        .checked_shl(retry.saturating_sub(1))
        .unwrap_or(u32::MAX);
    RETRY_BASE.saturating_mul(factor).min(RETRY_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_and_cap() {
        let secs: Vec<u64> = (1..=8).map(|r| retry_delay(r).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 180, 180]);
        assert_eq!(retry_delay(40), RETRY_MAX);
    }

    #[test]
    fn protected_env_needs_its_own_name() {
        let plan = "sync production to a7c3f1e";
        assert!(confirmation(false, "dev", Guarded::Sync, None, plan).is_ok());
        assert!(confirmation(true, "production", Guarded::Sync, Some("production"), plan).is_ok());
        for typed in [None, Some("prod"), Some("staging")] {
            let refused = confirmation(true, "production", Guarded::Rollback, typed, plan);
            let Err(FailureReason::NeedsConfirmation(text)) = refused else {
                panic!("{typed:?} confirmed a protected rollback: {refused:?}");
            };
            assert!(text.contains("would sync production to a7c3f1e"), "{text}");
            assert!(text.contains("--confirm production"), "{text}");
        }
    }

    #[test]
    fn fan_out_needs_every_protected_name_before_any_env_acts() {
        let envs = [("dev", false), ("staging", true), ("production", true)];
        let both = ["staging".to_owned(), "production".to_owned()];
        assert!(fan_out_confirmation(&envs, Guarded::Resume, &both).is_ok());
        assert!(fan_out_confirmation(&[("dev", false)], Guarded::Resume, &[]).is_ok());

        let one = fan_out_confirmation(&envs, Guarded::Resume, &["staging".to_owned()]);
        let Err(FailureReason::NeedsConfirmation(text)) = one else {
            panic!("resume --all without production's name went ahead: {one:?}");
        };
        assert!(
            text.starts_with("production is protected: add --confirm production; nothing"),
            "{text}"
        );
        assert!(!text.contains("--confirm staging"), "{text}");

        let none = fan_out_confirmation(&envs, Guarded::Resume, &["prod".to_owned()]);
        let Err(FailureReason::NeedsConfirmation(text)) = none else {
            panic!("resume --all with a wrong name went ahead: {none:?}");
        };
        assert!(
            text.contains(
                "staging, production are protected: add --confirm staging --confirm production"
            ),
            "{text}"
        );
        assert!(text.contains("\"prod\" names no protected env"), "{text}");
    }

    #[test]
    fn promotion_follows_promote_from_unless_forced() {
        assert_eq!(
            promotion_route("staging", "production", Some("staging"), false),
            Ok(None)
        );
        assert_eq!(promotion_route("dev", "staging", None, false), Ok(None));
        let skipped = promotion_route("dev", "production", Some("staging"), false);
        assert!(
            matches!(&skipped, Err(FailureReason::NeedsConfirmation(t)) if t.contains("not dev")),
            "{skipped:?}"
        );
        let forced = promotion_route("dev", "production", Some("staging"), true);
        assert!(
            matches!(&forced, Ok(Some(note)) if note.contains("from staging, promoted from dev")),
            "{forced:?}"
        );
    }
}
