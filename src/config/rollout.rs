//! `rollouts:` in `driftdeck.yaml`: progressive rollouts across regions. Both stages live here
//! (the raw serde mirror and its validation) so the shared `raw.rs`/`validate.rs` only gain one
//! field and one call.
//!
//! ```yaml
//! rollouts:
//!   - name: prod-regions
//!     from: staging
//!     waves: [[prod-us-east], [prod-eu-west], [prod-ap-south]]
//!     soak: 5m
//!     halt_on: any_degraded
//! ```
//!
//! Decisions where the design is silent: `soak` defaults to 5m and `halt_on` to `any_degraded`
//! (the only policy today; another value is an error rather than ignored); the name is a DNS
//! label because it names the ConfigMap `driftdeck-rollout-<name>`; an env appears in at most
//! one wave and `from` in none (promoting an env from itself is meaningless); a wave is never
//! empty. Every error points at the node that caused it (`file:line:col`).

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::error::{Error, Pos};
use super::validate::{Ctx, is_dns_label};
use super::{EnvConfig, duration};

const DEFAULT_SOAK: Duration = Duration::from_secs(300);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRollout {
    pub name: Spanned<String>,
    pub from: Spanned<String>,
    pub waves: Spanned<Vec<Spanned<Vec<Spanned<String>>>>>,
    pub soak: Option<Spanned<String>>,
    pub halt_on: Option<Spanned<String>>,
}

/// What halts a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaltOn {
    /// Any env of the rollout Degraded (earlier waves included) halts every wave.
    AnyDegraded,
}

/// A validated rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutConfig {
    pub name: String,
    /// The env whose image versions are promoted.
    pub from: String,
    /// Env names per wave, in order; never empty, no env twice.
    pub waves: Vec<Vec<String>>,
    /// How long each wave must stay Synced+Healthy before the next starts.
    pub soak: Duration,
    pub halt_on: HaltOn,
}

impl RolloutConfig {
    /// Every env of the rollout, wave by wave.
    pub fn envs(&self) -> impl Iterator<Item = &str> {
        self.waves.iter().flatten().map(String::as_str)
    }
}

pub fn rollouts(
    raw: &[Spanned<RawRollout>],
    envs: &[EnvConfig],
    ctx: &Ctx<'_>,
) -> Result<Vec<RolloutConfig>, Error> {
    let known = |name: &str| envs.iter().any(|e| e.name == name);
    let configured = || {
        envs.iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut seen: HashMap<&str, Pos> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for r in raw {
        let r = &r.value;
        let name = &r.name.value;
        let pos = Pos::of_spanned(&r.name);
        if !is_dns_label(name) {
            return Err(ctx.err(
                pos,
                format!(
                    "rollouts: name \"{name}\" must be a DNS label (lowercase letters, digits, \
                     '-', at most 63): it names the ConfigMap driftdeck-rollout-{name}"
                ),
            ));
        }
        if let Some(first) = seen.insert(name, pos) {
            return Err(ctx.err(
                pos,
                format!(
                    "duplicate rollout name \"{name}\" (first defined at line {})",
                    first.line
                ),
            ));
        }
        if !known(&r.from.value) {
            return Err(ctx.err(
                Pos::of_spanned(&r.from),
                format!(
                    "rollout {name}: from: no environment named \"{}\" (configured: {})",
                    r.from.value,
                    configured()
                ),
            ));
        }
        if r.waves.value.is_empty() {
            return Err(ctx.err(
                Pos::of_spanned(&r.waves),
                format!("rollout {name}: waves: at least one wave is required"),
            ));
        }
        let mut in_wave: HashMap<&str, usize> = HashMap::new();
        let mut waves = Vec::with_capacity(r.waves.value.len());
        for (i, wave) in r.waves.value.iter().enumerate() {
            if wave.value.is_empty() {
                return Err(ctx.err(
                    Pos::of_spanned(wave),
                    format!("rollout {name}: wave {} is empty", i + 1),
                ));
            }
            let mut names = Vec::with_capacity(wave.value.len());
            for env in &wave.value {
                let at = Pos::of_spanned(env);
                let e = env.value.as_str();
                if !known(e) {
                    return Err(ctx.err(
                        at,
                        format!(
                            "rollout {name}: wave {}: no environment named \"{e}\" (configured: {})",
                            i + 1,
                            configured()
                        ),
                    ));
                }
                if e == r.from.value {
                    return Err(ctx.err(
                        at,
                        format!(
                            "rollout {name}: wave {}: \"{e}\" is the rollout's from",
                            i + 1
                        ),
                    ));
                }
                if let Some(first) = in_wave.insert(e, i) {
                    return Err(ctx.err(
                        at,
                        format!(
                            "rollout {name}: \"{e}\" is in wave {} and wave {}; an env belongs to one wave",
                            first + 1,
                            i + 1
                        ),
                    ));
                }
                names.push(e.to_owned());
            }
            waves.push(names);
        }
        let soak = match &r.soak {
            None => DEFAULT_SOAK,
            Some(s) => duration::parse(&s.value).ok_or_else(|| {
                ctx.err(
                    Pos::of_spanned(s),
                    format!(
                        "rollout {name}: soak: invalid duration \"{}\": expected {}",
                        s.value,
                        duration::EXPECTED
                    ),
                )
            })?,
        };
        let halt_on = match &r.halt_on {
            None => HaltOn::AnyDegraded,
            Some(h) if h.value == "any_degraded" => HaltOn::AnyDegraded,
            Some(h) => {
                return Err(ctx.err(
                    Pos::of_spanned(h),
                    format!(
                        "rollout {name}: halt_on: unknown policy \"{}\" (expected any_degraded)",
                        h.value
                    ),
                ));
            }
        };
        out.push(RolloutConfig {
            name: name.clone(),
            from: r.from.value.clone(),
            waves,
            soak,
            halt_on,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::parse;
    use super::*;

    const BASE: &str = "repo: {url: ./repo}\nenvironments:\n  - {name: staging, path: s, context: s, namespace: ns}\n  - {name: us, path: u, context: u, namespace: ns}\n  - {name: eu, path: e, context: e, namespace: ns}\nrollouts:\n";

    fn with(rollouts: &str) -> Result<super::super::Config, Error> {
        parse(&format!("{BASE}{rollouts}"), Path::new("dd.yaml"))
    }

    #[test]
    fn a_rollout_parses_with_its_waves_and_soak() {
        let c =
            with("  - {name: regions, from: staging, waves: [[us], [eu]], soak: 30s}\n").unwrap();
        assert_eq!(
            c.rollouts,
            vec![RolloutConfig {
                name: "regions".into(),
                from: "staging".into(),
                waves: vec![vec!["us".into()], vec!["eu".into()]],
                soak: Duration::from_secs(30),
                halt_on: HaltOn::AnyDegraded,
            }]
        );
        let none = parse(BASE.trim_end_matches("rollouts:\n"), Path::new("dd.yaml")).unwrap();
        assert!(none.rollouts.is_empty());
    }

    #[test]
    fn an_unknown_env_in_a_wave_points_at_it() {
        let err = with("  - {name: r, from: staging, waves: [[us], [mars]]}\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("dd.yaml:7:"), "{err}");
        assert!(
            err.contains("wave 2: no environment named \"mars\""),
            "{err}"
        );
    }

    #[test]
    fn duplicate_names_bad_durations_and_policies_are_refused_where_written() {
        let dup = with(
            "  - {name: r, from: staging, waves: [[us]]}\n  - {name: r, from: staging, waves: [[eu]]}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(dup.starts_with("dd.yaml:8:"), "{dup}");
        assert!(dup.contains("duplicate rollout name \"r\""), "{dup}");
        let soak = with("  - {name: r, from: staging, waves: [[us]], soak: 5}\n")
            .unwrap_err()
            .to_string();
        assert!(soak.starts_with("dd.yaml:7:"), "{soak}");
        assert!(soak.contains("soak: invalid duration \"5\""), "{soak}");
        let halt = with("  - {name: r, from: staging, waves: [[us]], halt_on: never}\n")
            .unwrap_err()
            .to_string();
        assert!(halt.contains("halt_on: unknown policy \"never\""), "{halt}");
    }

    #[test]
    fn an_env_in_two_waves_or_the_from_env_in_a_wave_is_refused() {
        let twice = with("  - {name: r, from: staging, waves: [[us], [us, eu]]}\n")
            .unwrap_err()
            .to_string();
        assert!(twice.contains("\"us\" is in wave 1 and wave 2"), "{twice}");
        let from = with("  - {name: r, from: staging, waves: [[staging]]}\n")
            .unwrap_err()
            .to_string();
        assert!(from.contains("is the rollout's from"), "{from}");
        let empty = with("  - {name: r, from: staging, waves: [[us], []]}\n")
            .unwrap_err()
            .to_string();
        assert!(empty.contains("wave 2 is empty"), "{empty}");
        let from_unknown = with("  - {name: r, from: qa, waves: [[us]]}\n")
            .unwrap_err()
            .to_string();
        assert!(
            from_unknown.contains("from: no environment named \"qa\""),
            "{from_unknown}"
        );
    }
}
