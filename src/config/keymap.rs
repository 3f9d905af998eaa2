//! The console's keymap as data (yazi's `keymap-default.toml` habit): every [`Action`] the
//! console knows, its description and whether it mutates, and the keys bound to it. Defaults
//! are embedded from `assets/keymap.yaml`; a user file in the same shape replaces the keys of
//! the actions it names. Unknown actions, unparseable keys and keys bound twice become
//! warnings, never errors, so a stale user file cannot keep the console from starting.
//!
//! The help popup and the footer are generated from [`Keymap::bindings`], so what the screen
//! says and what the keys do cannot disagree. Imports nothing from the crate; must not do IO
//! except reading the user file in [`Keymap::load`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The embedded default keymap.
pub const DEFAULT_KEYMAP: &str = include_str!("../../assets/keymap.yaml");

/// Everything a key can ask the console to do outside of a dialog or text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    FocusNext,
    FocusPrev,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Enter,
    Back,
    Sync,
    Promote,
    PauseResume,
    PauseAll,
    Rollback,
    Diff,
    Logs,
    Events,
    Yaml,
    Copy,
    Versions,
    Filter,
    Palette,
    Refresh,
    Help,
    Quit,
}

impl Action {
    /// In help order.
    pub const ALL: [Action; 26] = [
        Action::FocusNext,
        Action::FocusPrev,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::Enter,
        Action::Back,
        Action::Sync,
        Action::Promote,
        Action::PauseResume,
        Action::PauseAll,
        Action::Rollback,
        Action::Diff,
        Action::Logs,
        Action::Events,
        Action::Yaml,
        Action::Copy,
        Action::Versions,
        Action::Filter,
        Action::Palette,
        Action::Refresh,
        Action::Help,
        Action::Quit,
    ];

    /// The name used in keymap files.
    pub fn name(self) -> &'static str {
        match self {
            Action::FocusNext => "focus_next",
            Action::FocusPrev => "focus_prev",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Enter => "enter",
            Action::Back => "back",
            Action::Sync => "sync",
            Action::Promote => "promote",
            Action::PauseResume => "pause_resume",
            Action::PauseAll => "pause_all",
            Action::Rollback => "rollback",
            Action::Diff => "diff",
            Action::Logs => "logs",
            Action::Events => "events",
            Action::Yaml => "yaml",
            Action::Copy => "copy",
            Action::Versions => "versions",
            Action::Filter => "filter",
            Action::Palette => "palette",
            Action::Refresh => "refresh",
            Action::Help => "help",
            Action::Quit => "quit",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// One line for the help popup.
    pub fn description(self) -> &'static str {
        match self {
            Action::FocusNext => "next pane",
            Action::FocusPrev => "previous pane",
            Action::Up => "move up",
            Action::Down => "move down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "first row",
            Action::Bottom => "last row",
            Action::Enter => "drill down",
            Action::Back => "back / close",
            Action::Sync => "sync the env to its desired revision",
            Action::Promote => "promote the env to its next stage",
            Action::PauseResume => "pause / resume automation",
            Action::PauseAll => "emergency stop: pause every env",
            Action::Rollback => "roll back to an earlier revision",
            Action::Diff => "show the drift diff",
            Action::Logs => "pod logs",
            Action::Events => "env events",
            Action::Yaml => "resource: live / desired YAML, describe",
            Action::Copy => "copy sha, diff or YAML shown (OSC 52)",
            Action::Versions => "versions × environments",
            Action::Filter => "filter rows",
            Action::Palette => "command palette",
            Action::Refresh => "re-read Git and cluster",
            Action::Help => "help",
            Action::Quit => "quit",
        }
    }

    /// The short word the footer shows.
    pub fn footer_label(self) -> Option<&'static str> {
        match self {
            Action::Enter => Some("open"),
            Action::Sync => Some("sync"),
            Action::Promote => Some("promote"),
            Action::PauseResume => Some("pause"),
            Action::Rollback => Some("rollback"),
            Action::Diff => Some("diff"),
            Action::Logs => Some("logs"),
            Action::Filter => Some("filter"),
            Action::Palette => Some("cmd"),
            Action::Help => Some("help"),
            Action::Quit => Some("quit"),
            _ => None,
        }
    }

    /// Whether the action leads to a mutating [`crate::model::Command`]; read-only consoles
    /// hide these from footer and help and refuse them.
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            Action::Sync
                | Action::Promote
                | Action::PauseResume
                | Action::PauseAll
                | Action::Rollback
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One key with its modifiers, normalised so `P` and `shift-p` are the same chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyChord {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl KeyChord {
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> Self {
        // Terminals report `P` as Char('P') with SHIFT (or without, depending on the protocol):
        // the case already says it, so SHIFT is dropped for characters. BackTab likewise.
        let modifiers = match code {
            KeyCode::Char(_) | KeyCode::BackTab => modifiers - KeyModifiers::SHIFT,
            _ => modifiers,
        };
        let modifiers =
            modifiers & (KeyModifiers::SHIFT | KeyModifiers::CONTROL | KeyModifiers::ALT);
        Self { code, modifiers }
    }

    pub fn of(event: &KeyEvent) -> Self {
        Self::new(event.code, event.modifiers)
    }

    /// Parses `s`, `P`, `:`, `tab`, `ctrl-r`, `alt-enter`, `f5`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.chars().count() > 1 && lower.starts_with("ctrl-") {
                modifiers |= KeyModifiers::CONTROL;
                rest = &rest[5..];
            } else if rest.chars().count() > 1 && lower.starts_with("alt-") {
                modifiers |= KeyModifiers::ALT;
                rest = &rest[4..];
            } else if rest.chars().count() > 1 && lower.starts_with("shift-") {
                modifiers |= KeyModifiers::SHIFT;
                rest = &rest[6..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => {
                if modifiers.contains(KeyModifiers::SHIFT) {
                    KeyCode::Char(c.to_ascii_uppercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            _ => match rest.to_ascii_lowercase().as_str() {
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdown" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                f if f.starts_with('f') => {
                    KeyCode::F(f[1..].parse().ok().filter(|n| *n >= 1 && *n <= 12)?)
                }
                _ => return None,
            },
        };
        if code == KeyCode::Tab && modifiers.contains(KeyModifiers::SHIFT) {
            return Some(Self::new(KeyCode::BackTab, modifiers));
        }
        Some(Self::new(code, modifiers))
    }

    /// How help and footer print the chord: `s`, `P`, `Tab`, `^r`, `Esc`.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_owned(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Tab => "Tab".to_owned(),
            KeyCode::BackTab => "S-Tab".to_owned(),
            KeyCode::Enter => "Enter".to_owned(),
            KeyCode::Esc => "Esc".to_owned(),
            KeyCode::Up => "↑".to_owned(),
            KeyCode::Down => "↓".to_owned(),
            KeyCode::Left => "←".to_owned(),
            KeyCode::Right => "→".to_owned(),
            KeyCode::PageUp => "PgUp".to_owned(),
            KeyCode::PageDown => "PgDn".to_owned(),
            KeyCode::Home => "Home".to_owned(),
            KeyCode::End => "End".to_owned(),
            KeyCode::Backspace => "Bksp".to_owned(),
            KeyCode::Delete => "Del".to_owned(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        let mut out = String::new();
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            out.push('^');
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            out.push_str("M-");
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            out.push_str("S-");
        }
        out.push_str(&base);
        out
    }
}

/// Actions with their keys, in [`Action::ALL`] order, plus the reverse lookup.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<(Action, Vec<KeyChord>)>,
    lookup: HashMap<KeyChord, Action>,
}

impl Default for Keymap {
    fn default() -> Self {
        Self::from_yaml(None).0
    }
}

impl Keymap {
    /// `<config dir>/keymap.yaml` (e.g. `~/.config/driftdeck/keymap.yaml` on Linux), where a
    /// user keymap is looked for when none is given.
    pub fn default_user_file() -> Option<std::path::PathBuf> {
        directories::ProjectDirs::from("", "", "driftdeck")
            .map(|dirs| dirs.config_dir().join("keymap.yaml"))
    }

    /// Embedded defaults plus the user file when it exists; returns the warnings to show at
    /// startup. A missing file is not a warning; an unreadable one is.
    pub fn load(user_file: Option<&Path>) -> (Self, Vec<String>) {
        let user = match user_file {
            Some(path) if path.exists() => match std::fs::read_to_string(path) {
                Ok(text) => Some((path.display().to_string(), text)),
                Err(e) => {
                    let (map, mut warnings) = Self::from_yaml(None);
                    warnings.push(format!("{}: cannot read keymap: {e}", path.display()));
                    return (map, warnings);
                }
            },
            _ => None,
        };
        Self::from_yaml(user.as_ref().map(|(p, t)| (p.as_str(), t.as_str())))
    }

    /// Defaults overridden by `user` (`(file name for messages, yaml text)`).
    pub fn from_yaml(user: Option<(&str, &str)>) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let mut keys: BTreeMap<Action, Vec<KeyChord>> = BTreeMap::new();
        Self::apply(
            "assets/keymap.yaml",
            DEFAULT_KEYMAP,
            &mut keys,
            &mut warnings,
        );
        if let Some((file, text)) = user {
            Self::apply(file, text, &mut keys, &mut warnings);
        }
        let mut lookup = HashMap::new();
        let mut bindings = Vec::new();
        for action in Action::ALL {
            let chords = keys.remove(&action).unwrap_or_default();
            for chord in &chords {
                if let Some(previous) = lookup.insert(*chord, action) {
                    warnings.push(format!(
                        "key `{}` is bound to both `{previous}` and `{action}`; `{action}` wins",
                        chord.label()
                    ));
                }
            }
            bindings.push((action, chords));
        }
        // A later action winning a chord must also remove it from the earlier one, or help
        // would advertise a key that does something else.
        for (action, chords) in &mut bindings {
            chords.retain(|c| lookup.get(c) == Some(action));
        }
        (Self { bindings, lookup }, warnings)
    }

    fn apply(
        file: &str,
        text: &str,
        keys: &mut BTreeMap<Action, Vec<KeyChord>>,
        warnings: &mut Vec<String>,
    ) {
        let raw: BTreeMap<String, Vec<String>> = match serde_saphyr::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                warnings.push(format!("{file}: not a keymap (action: [keys]): {e}"));
                return;
            }
        };
        let mut overridden: Vec<(Action, Vec<KeyChord>)> = Vec::new();
        for (name, key_texts) in raw {
            let Some(action) = Action::from_name(&name) else {
                warnings.push(format!("{file}: unknown action `{name}`"));
                continue;
            };
            let mut chords = Vec::new();
            for key in key_texts {
                match KeyChord::parse(&key) {
                    Some(chord) => chords.push(chord),
                    None => warnings.push(format!("{file}: {name}: unknown key `{key}`")),
                }
            }
            overridden.push((action, chords));
        }
        // Keys the user gives to one action are taken away from whatever had them before, so
        // rebinding `s` does not leave it bound twice.
        for (_, chords) in &overridden {
            for list in keys.values_mut() {
                list.retain(|c| !chords.contains(c));
            }
        }
        keys.extend(overridden);
    }

    /// The action bound to a key, if any.
    pub fn action_for(&self, event: &KeyEvent) -> Option<Action> {
        self.lookup.get(&KeyChord::of(event)).copied()
    }

    pub fn keys_for(&self, action: Action) -> &[KeyChord] {
        self.bindings
            .iter()
            .find(|(a, _)| *a == action)
            .map(|(_, k)| k.as_slice())
            .unwrap_or_default()
    }

    /// The first key of an action as printed in footer and help; `None` when unbound.
    pub fn label_for(&self, action: Action) -> Option<String> {
        self.keys_for(action).first().map(KeyChord::label)
    }

    /// Every action with its keys, in help order.
    pub fn bindings(&self) -> &[(Action, Vec<KeyChord>)] {
        &self.bindings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn defaults_parse_without_warnings_and_bind_every_action() {
        let (map, warnings) = Keymap::from_yaml(None);
        assert!(warnings.is_empty(), "{warnings:?}");
        for action in Action::ALL {
            assert!(!map.keys_for(action).is_empty(), "{action} unbound");
        }
        assert_eq!(map.action_for(&key('s')), Some(Action::Sync));
        assert_eq!(map.action_for(&key('l')), Some(Action::Logs));
        let shift_p = KeyEvent::new(KeyCode::Char('P'), KeyModifiers::SHIFT);
        assert_eq!(map.action_for(&shift_p), Some(Action::PauseResume));
        assert_eq!(map.action_for(&key('p')), Some(Action::Promote));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(map.action_for(&ctrl_c), Some(Action::Quit));
    }

    #[test]
    fn user_file_overrides_a_subset_and_steals_keys() {
        let (map, warnings) = Keymap::from_yaml(Some(("user.yaml", "sync: [S]\nhelp: [s, f1]\n")));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(map.action_for(&key('S')), Some(Action::Sync));
        assert_eq!(map.action_for(&key('s')), Some(Action::Help));
        assert_eq!(
            map.action_for(&KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE)),
            Some(Action::Help)
        );
        // Untouched actions keep their defaults.
        assert_eq!(map.action_for(&key('q')), Some(Action::Quit));
        assert_eq!(map.label_for(Action::Sync).as_deref(), Some("S"));
    }

    #[test]
    fn unknown_actions_and_keys_become_warnings() {
        let (map, warnings) = Keymap::from_yaml(Some((
            "k.yaml",
            "launch_rockets: [x]\nsync: [hyper-s, s]\n",
        )));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("k.yaml: unknown action `launch_rockets`"));
        assert!(warnings[1].contains("unknown key `hyper-s`"));
        assert_eq!(map.action_for(&key('s')), Some(Action::Sync));
    }

    #[test]
    fn broken_user_file_keeps_defaults() {
        let (map, warnings) = Keymap::from_yaml(Some(("k.yaml", "- just\n- a list\n")));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("k.yaml: not a keymap"));
        assert_eq!(map.action_for(&key('q')), Some(Action::Quit));
    }

    #[test]
    fn chords_parse_and_print() {
        let c = KeyChord::parse("ctrl-r").unwrap();
        assert_eq!(c.label(), "^r");
        assert_eq!(KeyChord::parse("shift-tab"), KeyChord::parse("backtab"));
        assert_eq!(KeyChord::parse("shift-p"), KeyChord::parse("P"));
        assert_eq!(KeyChord::parse("f13"), None);
        assert_eq!(KeyChord::parse(":").unwrap().label(), ":");
    }
}
