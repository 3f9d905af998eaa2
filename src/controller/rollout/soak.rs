//! The soak's judgement, pure: given the envs' latest observation, may the wave keep soaking,
//! must its clock wait, or does the rollout halt? The driver calls it on every snapshot.
//!
//! Decisions: `any_degraded` looks at every env of the rollout, later waves included — a region
//! failing for any reason is no time to push a release into more regions. A wave env that is
//! not Synced+Healthy but not Degraded either (Progressing, drift) stops the soak clock: the
//! soak counts only time the wave was demonstrably good, and the driver halts if that does not
//! come back within the validation timeout.

use crate::config::RolloutConfig;
use crate::model::{HealthCode, Snapshot, SyncStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every env of the wave is Synced+Healthy and none of the rollout is Degraded.
    Good,
    /// The wave is not Synced+Healthy yet (the text says which env and how).
    Waiting(String),
    /// An env of the rollout is Degraded: halt every wave.
    Halt { env: String, reason: String },
}

/// Judges wave `wave` (0-based) of `rollout` on `snapshot`.
pub fn judge(rollout: &RolloutConfig, wave: usize, snapshot: &Snapshot) -> Verdict {
    for name in rollout.envs() {
        if let Some(env) = snapshot.env(name)
            && env.health.code == HealthCode::Degraded
        {
            let mut reason = format!("{name} is Degraded");
            if !env.health.message.is_empty() {
                reason.push_str(&format!(": {}", env.health.message));
            }
            return Verdict::Halt {
                env: name.to_owned(),
                reason,
            };
        }
    }
    let Some(envs) = rollout.waves.get(wave) else {
        return Verdict::Good;
    };
    for name in envs {
        match snapshot.env(name) {
            None => return Verdict::Waiting(format!("{name} not observed yet")),
            Some(env)
                if env.sync != SyncStatus::Synced || env.health.code != HealthCode::Healthy =>
            {
                return Verdict::Waiting(format!("{name} is {} and {}", env.sync, env.health.code));
            }
            Some(_) => {}
        }
    }
    Verdict::Good
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::HaltOn;
    use crate::model::{EnvState, Health};

    fn rollout() -> RolloutConfig {
        RolloutConfig {
            name: "regions".into(),
            from: "staging".into(),
            waves: vec![vec!["us".into()], vec!["eu".into(), "ap".into()]],
            soak: Duration::from_secs(60),
            halt_on: HaltOn::AnyDegraded,
        }
    }

    fn env(name: &str, sync: SyncStatus, code: HealthCode) -> EnvState {
        let mut e = EnvState::unknown(name);
        e.sync = sync;
        e.health = Health::new(
            code,
            if code == HealthCode::Degraded {
                "CrashLoopBackOff"
            } else {
                ""
            },
        );
        e
    }

    fn snapshot(envs: Vec<EnvState>) -> Snapshot {
        Snapshot {
            envs,
            ..Snapshot::default()
        }
    }

    #[test]
    fn soak_is_good_when_the_wave_is_synced_and_healthy() {
        let s = snapshot(vec![
            env("us", SyncStatus::Synced, HealthCode::Healthy),
            env("eu", SyncStatus::OutOfSync, HealthCode::Progressing),
        ]);
        assert_eq!(judge(&rollout(), 0, &s), Verdict::Good);
    }

    #[test]
    fn soak_waits_while_a_wave_env_is_not_synced_and_healthy() {
        let s = snapshot(vec![
            env("us", SyncStatus::Synced, HealthCode::Healthy),
            env("eu", SyncStatus::Synced, HealthCode::Healthy),
            env("ap", SyncStatus::Synced, HealthCode::Progressing),
        ]);
        assert_eq!(
            judge(&rollout(), 1, &s),
            Verdict::Waiting("ap is Synced and Progressing".into())
        );
    }

    #[test]
    fn an_earlier_wave_going_degraded_halts_the_soak_of_a_later_one() {
        let s = snapshot(vec![
            env("us", SyncStatus::Synced, HealthCode::Degraded),
            env("eu", SyncStatus::Synced, HealthCode::Healthy),
            env("ap", SyncStatus::Synced, HealthCode::Healthy),
        ]);
        assert_eq!(
            judge(&rollout(), 1, &s),
            Verdict::Halt {
                env: "us".into(),
                reason: "us is Degraded: CrashLoopBackOff".into()
            }
        );
    }
}
