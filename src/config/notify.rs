//! `notify:` — webhook targets for the controller's notifications, globally (top level) and per
//! env (an env's own `notify:`, for that env's events only):
//!
//! ```yaml
//! notify:
//!   - on: [sync_failed, validation_failed, auto_rollback, hold_set, rollout_halted]
//!     webhook: {url_env: SLACK_URL, format: slack}
//!   - {on: [drift_detected], drift_debounce: 2m, webhook: {url: "http://127.0.0.1:8080/hook"}}
//! ```
//!
//! Decisions where the design was silent: a target names exactly one of `url` and `url_env`
//! (the name of an environment variable holding the URL, so secrets stay out of the file);
//! the variable is read when the controller starts, not here, so `status` and the other verbs
//! work on a machine without it. `format` is `json` (default: a generic JSON object) or
//! `slack` (an incoming-webhook `{"text": …}` body). `on` must list at least one event.
//! `drift_debounce` (default 60 s) is how long drift must last before `drift_detected` fires.

use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::duration;
use super::error::{Error, Pos};
use super::validate::Ctx;

const DEFAULT_DRIFT_DEBOUNCE: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    pub on: Vec<Spanned<String>>,
    pub webhook: Spanned<RawWebhook>,
    pub drift_debounce: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    pub url: Option<String>,
    pub url_env: Option<String>,
    pub format: Option<Spanned<String>>,
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotifyEvent {
    SyncFailed,
    ValidationFailed,
    AutoRollback,
    DriftDetected,
    HoldSet,
    RolloutHalted,
}

impl NotifyEvent {
    pub const ALL: [NotifyEvent; 6] = [
        NotifyEvent::SyncFailed,
        NotifyEvent::ValidationFailed,
        NotifyEvent::AutoRollback,
        NotifyEvent::DriftDetected,
        NotifyEvent::HoldSet,
        NotifyEvent::RolloutHalted,
    ];

    /// The name used in the config file and in the JSON payload.
    pub fn name(self) -> &'static str {
        match self {
            NotifyEvent::SyncFailed => "sync_failed",
            NotifyEvent::ValidationFailed => "validation_failed",
            NotifyEvent::AutoRollback => "auto_rollback",
            NotifyEvent::DriftDetected => "drift_detected",
            NotifyEvent::HoldSet => "hold_set",
            NotifyEvent::RolloutHalted => "rollout_halted",
        }
    }
}

/// Where a webhook's URL comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookUrl {
    Literal(String),
    /// An environment variable, read when the controller starts.
    Env(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    Json,
    Slack,
}

/// One validated `notify:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyTarget {
    /// `notify[0]` or `environments[production].notify[1]`: names the target in logs and metrics
    /// without printing its URL (a secret).
    pub name: String,
    /// `None`: every env (top level); `Some(env)`: that env's events only.
    pub env: Option<String>,
    pub on: Vec<NotifyEvent>,
    pub url: WebhookUrl,
    pub format: WebhookFormat,
    pub drift_debounce: Duration,
}

/// Validates the `notify:` list of the top level (`env: None`) or of one env.
pub(super) fn targets(
    raw: &[Spanned<RawNotify>],
    env: Option<&str>,
    ctx: &Ctx<'_>,
) -> Result<Vec<NotifyTarget>, Error> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| {
            let name = match env {
                Some(env) => format!("environments[{env}].notify[{i}]"),
                None => format!("notify[{i}]"),
            };
            target(r, name, env, ctx)
        })
        .collect()
}

fn target(
    r: &Spanned<RawNotify>,
    name: String,
    env: Option<&str>,
    ctx: &Ctx<'_>,
) -> Result<NotifyTarget, Error> {
    let raw = &r.value;
    if raw.on.is_empty() {
        return Err(ctx.err(
            Pos::of_spanned(r),
            format!(
                "{name}: `on` lists no events; expected some of {}",
                event_names()
            ),
        ));
    }
    let mut on = Vec::with_capacity(raw.on.len());
    for e in &raw.on {
        let event = NotifyEvent::ALL
            .into_iter()
            .find(|k| k.name() == e.value.trim())
            .ok_or_else(|| {
                ctx.err(
                    Pos::of_spanned(e),
                    format!(
                        "{name}: unknown event \"{}\"; expected one of {}",
                        e.value,
                        event_names()
                    ),
                )
            })?;
        if !on.contains(&event) {
            on.push(event);
        }
    }
    let hook = &raw.webhook.value;
    let url = match (&hook.url, &hook.url_env) {
        (Some(url), None) if is_http_url(url) => WebhookUrl::Literal(url.trim().to_owned()),
        (Some(url), None) => {
            return Err(ctx.err(
                Pos::of_spanned(&raw.webhook),
                format!("{name}: webhook.url \"{url}\" is not an http:// or https:// URL"),
            ));
        }
        (None, Some(var)) if !var.trim().is_empty() => WebhookUrl::Env(var.trim().to_owned()),
        _ => {
            return Err(ctx.err(
                Pos::of_spanned(&raw.webhook),
                format!(
                    "{name}: webhook needs exactly one of url and url_env (an environment variable holding the URL)"
                ),
            ));
        }
    };
    let format = match hook.format.as_ref().map(|f| f.value.trim()) {
        None | Some("json") => WebhookFormat::Json,
        Some("slack") => WebhookFormat::Slack,
        Some(other) => {
            let pos = hook.format.as_ref().map_or(Pos::default(), Pos::of_spanned);
            return Err(ctx.err(
                pos,
                format!("{name}: webhook.format \"{other}\": expected json or slack"),
            ));
        }
    };
    let drift_debounce = match &raw.drift_debounce {
        None => DEFAULT_DRIFT_DEBOUNCE,
        Some(s) => duration::parse(&s.value).ok_or_else(|| {
            ctx.err(
                Pos::of_spanned(s),
                format!(
                    "{name}: drift_debounce: invalid duration \"{}\": expected {}",
                    s.value,
                    duration::EXPECTED
                ),
            )
        })?,
    };
    Ok(NotifyTarget {
        name,
        env: env.map(str::to_owned),
        on,
        url,
        format,
        drift_debounce,
    })
}

/// Whether `url` is an http(s) URL (the only transports a webhook has).
pub fn is_http_url(url: &str) -> bool {
    let url = url.trim();
    url.starts_with("http://") || url.starts_with("https://")
}

fn event_names() -> String {
    NotifyEvent::ALL.map(NotifyEvent::name).join(", ")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const HEAD: &str = "repo: {url: ./repo}\nenvironments:\n  - {name: prod, path: overlays/prod, context: prod, namespace: ns,\n     notify: [{on: [hold_set], webhook: {url: \"https://hooks.example/p\"}}]}\n";

    fn parse(notify: &str) -> Result<Vec<NotifyTarget>, String> {
        let text = format!("{HEAD}{notify}");
        crate::config::parse(&text, Path::new("/etc/driftdeck.yaml"))
            .map(|c| c.notify)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn global_and_per_env_targets_are_read_with_their_scope() {
        let targets = parse(
            "notify:\n  - {on: [sync_failed, drift_detected], drift_debounce: 2m, webhook: {url_env: SLACK_URL, format: slack}}\n",
        )
        .unwrap();
        assert_eq!(targets.len(), 2);
        assert_eq!(targets[0].env, None);
        assert_eq!(targets[0].url, WebhookUrl::Env("SLACK_URL".into()));
        assert_eq!(targets[0].format, WebhookFormat::Slack);
        assert_eq!(targets[0].drift_debounce, Duration::from_secs(120));
        assert_eq!(targets[1].env.as_deref(), Some("prod"));
        assert_eq!(targets[1].on, vec![NotifyEvent::HoldSet]);
        assert_eq!(targets[1].format, WebhookFormat::Json);
    }

    #[test]
    fn bad_targets_are_refused_with_the_line_and_what_is_wrong() {
        let unknown =
            parse("notify:\n  - {on: [sync_faild], webhook: {url: \"http://x\"}}\n").unwrap_err();
        assert!(
            unknown.contains("/etc/driftdeck.yaml:6:")
                && unknown.contains("unknown event \"sync_faild\""),
            "{unknown}"
        );
        let both =
            parse("notify:\n  - {on: [hold_set], webhook: {url: \"http://x\", url_env: X}}\n")
                .unwrap_err();
        assert!(both.contains("exactly one of url and url_env"), "{both}");
        let scheme =
            parse("notify:\n  - {on: [hold_set], webhook: {url: \"ftp://x\"}}\n").unwrap_err();
        assert!(
            scheme.contains("not an http:// or https:// URL"),
            "{scheme}"
        );
        let format =
            parse("notify:\n  - {on: [hold_set], webhook: {url: \"http://x\", format: teams}}\n")
                .unwrap_err();
        assert!(format.contains("expected json or slack"), "{format}");
    }
}
