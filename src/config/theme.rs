//! Colour themes as data (k9s skins): a theme maps semantic [`Slot`]s (`health.degraded`,
//! `diff.added`, `env.protected`) to styles; widgets ask for slots, never for colours. Built-in
//! themes (dark, light, high-contrast, monochrome) are embedded from `themes/*.yaml`; `--theme`
//! takes one of those names or a file, whose slots override the theme it `extends` (default
//! dark). Unknown slots, colours and modifiers become warnings.
//!
//! Terminal capability is decided here, once: `NO_COLOR` (any value) selects monochrome, and a
//! terminal that says neither 256 colours nor truecolor gets every colour folded onto the 16
//! ANSI colours. Imports nothing from the crate; no IO beyond reading a theme file.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// Every place a colour may be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    Base,
    Dim,
    Border,
    BorderFocused,
    Title,
    Header,
    Selected,
    Key,
    BadgeReadOnly,
    BadgePaused,
    BadgeHold,
    BadgeLease,
    BannerHold,
    SyncSynced,
    SyncOutOfSync,
    SyncUnknown,
    HealthHealthy,
    HealthProgressing,
    HealthSuspended,
    HealthMissing,
    HealthDegraded,
    HealthUnknown,
    DiffAdded,
    DiffRemoved,
    DiffHunk,
    DiffContext,
    EnvProtected,
    Marker,
    ToastInfo,
    ToastError,
    Stale,
    WatchTile,
}

impl Slot {
    pub const ALL: [Slot; 32] = [
        Slot::Base,
        Slot::Dim,
        Slot::Border,
        Slot::BorderFocused,
        Slot::Title,
        Slot::Header,
        Slot::Selected,
        Slot::Key,
        Slot::BadgeReadOnly,
        Slot::BadgePaused,
        Slot::BadgeHold,
        Slot::BadgeLease,
        Slot::BannerHold,
        Slot::SyncSynced,
        Slot::SyncOutOfSync,
        Slot::SyncUnknown,
        Slot::HealthHealthy,
        Slot::HealthProgressing,
        Slot::HealthSuspended,
        Slot::HealthMissing,
        Slot::HealthDegraded,
        Slot::HealthUnknown,
        Slot::DiffAdded,
        Slot::DiffRemoved,
        Slot::DiffHunk,
        Slot::DiffContext,
        Slot::EnvProtected,
        Slot::Marker,
        Slot::ToastInfo,
        Slot::ToastError,
        Slot::Stale,
        Slot::WatchTile,
    ];

    /// The name used in theme files.
    pub fn name(self) -> &'static str {
        match self {
            Slot::Base => "base",
            Slot::Dim => "dim",
            Slot::Border => "border",
            Slot::BorderFocused => "border.focused",
            Slot::Title => "title",
            Slot::Header => "header",
            Slot::Selected => "selected",
            Slot::Key => "key",
            Slot::BadgeReadOnly => "badge.read_only",
            Slot::BadgePaused => "badge.paused",
            Slot::BadgeHold => "badge.hold",
            Slot::BadgeLease => "badge.lease",
            Slot::BannerHold => "banner.hold",
            Slot::SyncSynced => "sync.synced",
            Slot::SyncOutOfSync => "sync.out_of_sync",
            Slot::SyncUnknown => "sync.unknown",
            Slot::HealthHealthy => "health.healthy",
            Slot::HealthProgressing => "health.progressing",
            Slot::HealthSuspended => "health.suspended",
            Slot::HealthMissing => "health.missing",
            Slot::HealthDegraded => "health.degraded",
            Slot::HealthUnknown => "health.unknown",
            Slot::DiffAdded => "diff.added",
            Slot::DiffRemoved => "diff.removed",
            Slot::DiffHunk => "diff.hunk",
            Slot::DiffContext => "diff.context",
            Slot::EnvProtected => "env.protected",
            Slot::Marker => "marker",
            Slot::ToastInfo => "toast.info",
            Slot::ToastError => "toast.error",
            Slot::Stale => "stale",
            Slot::WatchTile => "watch.tile",
        }
    }

    pub fn from_name(name: &str) -> Option<Slot> {
        Slot::ALL.into_iter().find(|s| s.name() == name)
    }

    fn index(self) -> usize {
        Slot::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// What the terminal can show, read once from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TermCaps {
    /// `NO_COLOR` is set (to anything): no colours at all.
    pub no_color: bool,
    /// Only the 16 ANSI colours: `TERM` names neither 256color nor truecolor and `COLORTERM`
    /// is unset.
    pub ansi16: bool,
}

impl TermCaps {
    pub fn from_env() -> Self {
        Self::from_vars(
            std::env::var_os("NO_COLOR").is_some(),
            std::env::var("TERM").ok().as_deref(),
            std::env::var("COLORTERM").ok().as_deref(),
        )
    }

    pub fn from_vars(no_color: bool, term: Option<&str>, colorterm: Option<&str>) -> Self {
        let term = term.unwrap_or_default();
        let rich = term.contains("256color")
            || term.contains("truecolor")
            || term.contains("direct")
            || colorterm.is_some_and(|c| !c.is_empty());
        Self {
            no_color,
            ansi16: !rich,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTheme {
    name: Option<String>,
    extends: Option<String>,
    #[serde(default)]
    slots: BTreeMap<String, RawStyle>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStyle {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

/// A resolved theme: one style per slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: Vec<Style>,
}

pub const BUILTIN: [(&str, &str); 4] = [
    ("dark", include_str!("../../themes/dark.yaml")),
    ("light", include_str!("../../themes/light.yaml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.yaml"),
    ),
    ("monochrome", include_str!("../../themes/monochrome.yaml")),
];

impl Default for Theme {
    fn default() -> Self {
        Self::builtin("dark").0
    }
}

impl Theme {
    pub fn style(&self, slot: Slot) -> Style {
        self.styles.get(slot.index()).copied().unwrap_or_default()
    }

    /// A built-in theme by name; an unknown name falls back to dark with a warning.
    pub fn builtin(name: &str) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let text = match BUILTIN.iter().find(|(n, _)| *n == name) {
            Some((_, text)) => text,
            None => {
                warnings.push(format!(
                    "unknown theme `{name}` (built-in: dark, light, high-contrast, monochrome); using dark"
                ));
                BUILTIN[0].1
            }
        };
        let theme = Self::from_yaml(&format!("themes/{name}.yaml"), text, &mut warnings);
        (theme, warnings)
    }

    /// Parses a theme file over the theme it extends (built-in only; default dark).
    pub fn from_yaml(file: &str, text: &str, warnings: &mut Vec<String>) -> Self {
        let raw: RawTheme = match serde_saphyr::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                warnings.push(format!("{file}: not a theme: {e}"));
                RawTheme::default()
            }
        };
        let mut theme = match raw.extends.as_deref() {
            Some(parent) if BUILTIN.iter().any(|(n, _)| *n == parent) => {
                let (t, w) = Self::builtin(parent);
                warnings.extend(w);
                t
            }
            Some(parent) => {
                warnings.push(format!("{file}: extends unknown theme `{parent}`"));
                Self::bare()
            }
            None => Self::bare(),
        };
        if let Some(name) = raw.name {
            theme.name = name;
        }
        for (slot_name, raw_style) in raw.slots {
            let Some(slot) = Slot::from_name(&slot_name) else {
                warnings.push(format!("{file}: unknown slot `{slot_name}`"));
                continue;
            };
            let mut style = Style::default();
            let mut colour = |text: &Option<String>| -> Option<Color> {
                let text = text.as_deref()?;
                match text.parse::<Color>() {
                    Ok(c) => Some(c),
                    Err(_) => {
                        warnings.push(format!("{file}: {slot_name}: unknown colour `{text}`"));
                        None
                    }
                }
            };
            if let Some(fg) = colour(&raw_style.fg) {
                style = style.fg(fg);
            }
            if let Some(bg) = colour(&raw_style.bg) {
                style = style.bg(bg);
            }
            for m in &raw_style.modifiers {
                match modifier(m) {
                    Some(m) => style = style.add_modifier(m),
                    None => warnings.push(format!("{file}: {slot_name}: unknown modifier `{m}`")),
                }
            }
            if let Some(s) = theme.styles.get_mut(slot.index()) {
                *s = style;
            }
        }
        theme
    }

    fn bare() -> Self {
        Self {
            name: "custom".to_owned(),
            styles: vec![Style::default(); Slot::ALL.len()],
        }
    }

    /// What `--theme` and the environment ask for: a built-in name or a file path; `NO_COLOR`
    /// wins over both; 16-colour terminals get the theme folded onto ANSI colours.
    pub fn resolve(spec: Option<&str>, caps: TermCaps) -> (Self, Vec<String>) {
        if caps.no_color {
            return Self::builtin("monochrome");
        }
        let (theme, warnings) = match spec {
            None => Self::builtin("dark"),
            Some(name) if BUILTIN.iter().any(|(n, _)| *n == name) => Self::builtin(name),
            Some(path) if Path::new(path).exists() => {
                let mut warnings = Vec::new();
                let theme = match std::fs::read_to_string(path) {
                    Ok(text) => Self::from_yaml(path, &text, &mut warnings),
                    Err(e) => {
                        warnings.push(format!("{path}: cannot read theme: {e}"));
                        Self::builtin("dark").0
                    }
                };
                (theme, warnings)
            }
            Some(other) => Self::builtin(other),
        };
        if caps.ansi16 {
            (theme.to_ansi16(), warnings)
        } else {
            (theme, warnings)
        }
    }

    /// The same theme with every colour replaced by the nearest of the 16 ANSI colours.
    pub fn to_ansi16(&self) -> Self {
        let styles = self
            .styles
            .iter()
            .map(|s| Style {
                fg: s.fg.map(nearest_ansi),
                bg: s.bg.map(nearest_ansi),
                ..*s
            })
            .collect();
        Self {
            name: format!("{} (16 colours)", self.name),
            styles,
        }
    }

    /// Every colour the theme uses, for legibility checks.
    pub fn colours(&self) -> Vec<Color> {
        self.styles
            .iter()
            .flat_map(|s| [s.fg, s.bg])
            .flatten()
            .collect()
    }
}

fn modifier(name: &str) -> Option<Modifier> {
    Some(match name {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" | "underline" => Modifier::UNDERLINED,
        "reversed" | "reverse" => Modifier::REVERSED,
        "crossed_out" => Modifier::CROSSED_OUT,
        _ => return None,
    })
}

const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

/// Whether a colour is one a 16-colour terminal can show.
pub fn is_ansi16(c: Color) -> bool {
    c == Color::Reset || ANSI16.iter().any(|(a, _)| *a == c)
}

/// The sRGB value of a colour (named ANSI colours as xterm shows them); `None` for `Reset`.
pub fn rgb_of(c: Color) -> Option<(u8, u8, u8)> {
    if let Some((_, rgb)) = ANSI16.iter().find(|(a, _)| *a == c) {
        return Some(*rgb);
    }
    match c {
        Color::Rgb(r, g, b) => Some((r, g, b)),
        Color::Indexed(i) if i < 16 => ANSI16.get(usize::from(i)).map(|(_, rgb)| *rgb),
        Color::Indexed(i) if i >= 232 => {
            let v = 8 + (i - 232) * 10;
            Some((v, v, v))
        }
        Color::Indexed(i) => {
            let i = i - 16;
            let level = |n: u8| if n == 0 { 0 } else { 55 + n * 40 };
            Some((level(i / 36), level((i / 6) % 6), level(i % 6)))
        }
        _ => None,
    }
}

/// Folds a colour onto the 16 ANSI colours by hue and lightness. Plain RGB distance is not
/// enough: muted palettes (One Dark's green and red) would both land on dark gray and lose
/// their meaning, so saturated colours keep their hue family and greys keep their lightness.
fn nearest_ansi(c: Color) -> Color {
    if is_ansi16(c) {
        return c;
    }
    let Some((r, g, b)) = rgb_of(c) else {
        return c;
    };
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let chroma = max - min;
    let lightness = (max + min) / 2;
    if chroma < 40 {
        return match lightness {
            0..50 => Color::Black,
            50..140 => Color::DarkGray,
            140..215 => Color::Gray,
            _ => Color::White,
        };
    }
    let hue = if max == r {
        (60 * (g - b) / chroma).rem_euclid(360)
    } else if max == g {
        60 * (b - r) / chroma + 120
    } else {
        60 * (r - g) / chroma + 240
    };
    let bright = lightness >= 140 || max >= 240;
    let pick = |normal, light| if bright { light } else { normal };
    match hue {
        20..90 => pick(Color::Yellow, Color::LightYellow),
        90..150 => pick(Color::Green, Color::LightGreen),
        150..210 => pick(Color::Cyan, Color::LightCyan),
        210..270 => pick(Color::Blue, Color::LightBlue),
        270..345 => pick(Color::Magenta, Color::LightMagenta),
        _ => pick(Color::Red, Color::LightRed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_cleanly_and_set_the_key_slots() {
        for (name, _) in BUILTIN {
            let (theme, warnings) = Theme::builtin(name);
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
            for slot in [
                Slot::HealthDegraded,
                Slot::DiffAdded,
                Slot::EnvProtected,
                Slot::Selected,
            ] {
                assert_ne!(
                    theme.style(slot),
                    Style::default(),
                    "{name}: {} unset",
                    slot.name()
                );
            }
        }
    }

    #[test]
    fn no_color_selects_monochrome_without_colours() {
        let caps = TermCaps::from_vars(true, Some("xterm-256color"), None);
        let (theme, _) = Theme::resolve(Some("dark"), caps);
        assert_eq!(theme.name, "monochrome");
        assert!(
            theme.colours().iter().all(|c| *c == Color::Reset),
            "{:?}",
            theme.colours()
        );
    }

    #[test]
    fn sixteen_colour_terminals_get_only_ansi_colours() {
        let caps = TermCaps::from_vars(false, Some("xterm"), None);
        assert!(caps.ansi16);
        let (theme, _) = Theme::resolve(Some("dark"), caps);
        assert!(theme.colours().into_iter().all(is_ansi16));
        let rich = TermCaps::from_vars(false, Some("xterm"), Some("truecolor"));
        assert!(!rich.ansi16);
        assert_eq!(nearest_ansi(Color::Rgb(250, 10, 10)), Color::LightRed);
        // One Dark's muted green and red keep their hue instead of both turning gray.
        assert_eq!(
            nearest_ansi(Color::Rgb(0x98, 0xc3, 0x79)),
            Color::LightGreen
        );
        assert_eq!(nearest_ansi(Color::Rgb(0xe0, 0x6c, 0x75)), Color::LightRed);
        assert_eq!(nearest_ansi(Color::Rgb(0x3e, 0x44, 0x51)), Color::DarkGray);
        assert_eq!(nearest_ansi(Color::Indexed(196)), Color::LightRed);
    }

    #[test]
    fn user_theme_overrides_a_subset_and_warns_on_unknowns() {
        let mut warnings = Vec::new();
        let text = "extends: light\nslots:\n  diff.added: {fg: '#00ff00'}\n  sparkles: {fg: red}\n  \
                    diff.removed: {fg: reddish, modifiers: [blink]}\n";
        let theme = Theme::from_yaml("mine.yaml", text, &mut warnings);
        assert_eq!(theme.style(Slot::DiffAdded).fg, Some(Color::Rgb(0, 255, 0)));
        assert_eq!(
            theme.style(Slot::EnvProtected),
            Theme::builtin("light").0.style(Slot::EnvProtected)
        );
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(
            warnings[0].contains("unknown slot `sparkles`")
                || warnings.iter().any(|w| w.contains("sparkles"))
        );
    }
}
