//! The `:` command palette's grammar: `sync ENV [REV]`, `promote FROM TO`, `pause ENV|--all`,
//! `resume ENV|--all`, `rollback ENV [REV]`, `refresh [ENV]`, `demo drift|break ENV|heal`, `help`, `quit`. Parsing
//! is pure text → [`PaletteCommand`]; whether the envs exist is checked when it runs (in
//! `flows`), where the snapshot is at hand. Imports `crate::model` only.

use crate::model::{DemoAction, EnvTarget};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaletteCommand {
    Sync {
        env: String,
        revision: Option<String>,
    },
    Promote {
        from: String,
        to: String,
    },
    Pause(EnvTarget),
    Resume(EnvTarget),
    Rollback {
        env: String,
        to: Option<String>,
    },
    Refresh(Option<String>),
    Demo(DemoAction),
    Help,
    Quit,
}

/// The palette's one-line usage, shown on errors and in help.
pub const USAGE: &str = "sync ENV [REV] | promote FROM TO | pause ENV|--all | resume ENV|--all | \
                         rollback ENV [REV] | refresh [ENV] | demo drift|break ENV|heal | help | quit";

/// Parses what was typed after `:`; the error says what was wrong in one line.
pub fn parse_palette(text: &str) -> Result<PaletteCommand, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some((verb, args)) = words.split_first() else {
        return Err("empty command".to_owned());
    };
    let owned = |s: &&str| (*s).to_owned();
    let target = |args: &[&str]| match args {
        ["--all"] => Ok(EnvTarget::All),
        [env] if !env.starts_with('-') => Ok(EnvTarget::One((*env).to_owned())),
        _ => Err(format!("usage: {verb} ENV|--all")),
    };
    match (*verb, args) {
        ("sync", [env]) => Ok(PaletteCommand::Sync {
            env: owned(env),
            revision: None,
        }),
        ("sync", [env, rev]) => Ok(PaletteCommand::Sync {
            env: owned(env),
            revision: Some(owned(rev)),
        }),
        ("sync", _) => Err("usage: sync ENV [REV]".to_owned()),
        ("promote", [from, to]) => Ok(PaletteCommand::Promote {
            from: owned(from),
            to: owned(to),
        }),
        ("promote", _) => Err("usage: promote FROM TO".to_owned()),
        ("pause", args) => target(args).map(PaletteCommand::Pause),
        ("resume", args) => target(args).map(PaletteCommand::Resume),
        ("rollback", [env]) => Ok(PaletteCommand::Rollback {
            env: owned(env),
            to: None,
        }),
        ("rollback", [env, rev]) => Ok(PaletteCommand::Rollback {
            env: owned(env),
            to: Some(owned(rev)),
        }),
        ("rollback", _) => Err("usage: rollback ENV [REV]".to_owned()),
        ("refresh", []) => Ok(PaletteCommand::Refresh(None)),
        ("refresh", [env]) => Ok(PaletteCommand::Refresh(Some(owned(env)))),
        ("refresh", _) => Err("usage: refresh [ENV]".to_owned()),
        ("demo", ["drift"]) => Ok(PaletteCommand::Demo(DemoAction::Drift)),
        ("demo", ["break", env]) => Ok(PaletteCommand::Demo(DemoAction::Break { env: owned(env) })),
        ("demo", ["heal"]) => Ok(PaletteCommand::Demo(DemoAction::Heal)),
        ("demo", _) => Err("usage: demo drift | demo break ENV | demo heal".to_owned()),
        ("help", []) => Ok(PaletteCommand::Help),
        ("quit" | "q", []) => Ok(PaletteCommand::Quit),
        (other, _) => Err(format!("unknown command `{other}` (try: {USAGE})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_commands() {
        assert_eq!(
            parse_palette("sync staging"),
            Ok(PaletteCommand::Sync {
                env: "staging".into(),
                revision: None
            })
        );
        assert_eq!(
            parse_palette("  promote dev   staging "),
            Ok(PaletteCommand::Promote {
                from: "dev".into(),
                to: "staging".into()
            })
        );
        assert_eq!(
            parse_palette("pause --all"),
            Ok(PaletteCommand::Pause(EnvTarget::All))
        );
        assert_eq!(
            parse_palette("resume --all"),
            Ok(PaletteCommand::Resume(EnvTarget::All))
        );
        assert_eq!(
            parse_palette("pause dev"),
            Ok(PaletteCommand::Pause(EnvTarget::One("dev".into())))
        );
        assert_eq!(
            parse_palette("rollback production abc1234"),
            Ok(PaletteCommand::Rollback {
                env: "production".into(),
                to: Some("abc1234".into())
            })
        );
        assert_eq!(
            parse_palette("demo break staging"),
            Ok(PaletteCommand::Demo(DemoAction::Break {
                env: "staging".into()
            }))
        );
        assert_eq!(parse_palette("q"), Ok(PaletteCommand::Quit));
    }

    #[test]
    fn rejects_malformed_commands_with_usage() {
        assert_eq!(parse_palette(""), Err("empty command".into()));
        assert_eq!(
            parse_palette("promote dev"),
            Err("usage: promote FROM TO".into())
        );
        assert_eq!(
            parse_palette("pause --everything"),
            Err("usage: pause ENV|--all".into())
        );
        assert!(
            parse_palette("deploy prod")
                .unwrap_err()
                .starts_with("unknown command `deploy`")
        );
        assert_eq!(
            parse_palette("sync a b c"),
            Err("usage: sync ENV [REV]".into())
        );
    }
}
