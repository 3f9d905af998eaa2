//! WCAG 2.x contrast: relative luminance of a terminal colour and the ratio between two, used
//! to pick legible ink on colour-filled surfaces (watch tiles) and to hold every built-in theme
//! to AA (≥ 4.5:1 for normal text).
//!
//! Decision where the terminal is silent: a slot without a background is drawn on the
//! terminal's own, which no program can read reliably. A theme's `base` background stands for
//! it when set; otherwise light themes are checked against white and dark ones against One
//! Dark's `#282c34`, the lightest background a dark theme is commonly shown on (the worst case
//! for light text). Imports only ratatui's colours and `crate::config::theme`.

use ratatui::style::Color;

use crate::config::theme::rgb_of;

/// Relative luminance (WCAG 2.x, sRGB), `None` for colours without a value (`Reset`).
pub fn luminance(c: Color) -> Option<f64> {
    let (r, g, b) = rgb_of(c)?;
    let lin = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.040_45 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    Some(0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b))
}

/// The contrast ratio between two colours, 1.0 ..= 21.0.
pub fn ratio(a: Color, b: Color) -> Option<f64> {
    let (la, lb) = (luminance(a)?, luminance(b)?);
    let (hi, lo) = if la >= lb { (la, lb) } else { (lb, la) };
    Some((hi + 0.05) / (lo + 0.05))
}

/// Black or white, whichever reads better on `bg`.
pub fn ink_on(bg: Color) -> Color {
    let on_black = ratio(bg, Color::Black).unwrap_or(0.0);
    let on_white = ratio(bg, Color::White).unwrap_or(0.0);
    if on_black >= on_white {
        Color::Black
    } else {
        Color::White
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::theme::{BUILTIN, Slot, Theme};

    /// Slots that carry text; borders are non-text UI (WCAG asks 3:1 of them, not 4.5:1).
    fn text_slots() -> impl Iterator<Item = Slot> {
        Slot::ALL
            .into_iter()
            .filter(|s| !matches!(s, Slot::Border | Slot::BorderFocused))
    }

    fn background_of(theme: &Theme) -> Color {
        theme
            .style(Slot::Base)
            .bg
            .unwrap_or(if theme.name.contains("light") {
                Color::White
            } else {
                Color::Rgb(0x28, 0x2c, 0x34)
            })
    }

    #[test]
    fn wcag_ratios_match_the_reference_values() {
        let white_on_black = ratio(Color::White, Color::Black).unwrap_or_default();
        assert!((white_on_black - 21.0).abs() < 1e-9, "{white_on_black}");
        // #767676 on white is the classic "just passes AA" grey: 4.54:1.
        let grey = ratio(Color::Rgb(0x76, 0x76, 0x76), Color::White).unwrap_or_default();
        assert!((grey - 4.54).abs() < 0.01, "{grey}");
        assert_eq!(ratio(Color::Reset, Color::White), None);
        assert_eq!(ink_on(Color::Rgb(0x98, 0xc3, 0x79)), Color::Black);
        assert_eq!(ink_on(Color::Rgb(0xbe, 0x50, 0x46)), Color::White);
    }

    #[test]
    fn every_themes_text_reads_at_wcag_aa_on_its_background() {
        let mut failures = Vec::new();
        for (name, _) in BUILTIN {
            let (theme, warnings) = Theme::builtin(name);
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
            let page = background_of(&theme);
            let base_fg = theme.style(Slot::Base).fg;
            let selected_bg = theme.style(Slot::Selected).bg;
            let selected_fg = theme.style(Slot::Selected).fg;
            for slot in text_slots() {
                let style = theme.style(slot);
                // No fg: the text is drawn in base's (or the terminal's, unchecked) colour.
                let Some(fg) = style.fg.or(base_fg) else {
                    continue;
                };
                let bg = style.bg.unwrap_or(page);
                let r = ratio(fg, bg).unwrap_or(0.0);
                if r < 4.5 {
                    failures.push(format!("{name}: {} {r:.2}:1", slot.name()));
                }
                // Text slots without their own background also sit on the selected row,
                // whose fg (when the theme sets one) replaces theirs.
                if let (None, Some(sel), None) = (style.bg, selected_bg, selected_fg) {
                    let r = ratio(fg, sel).unwrap_or(0.0);
                    if r < 4.5 {
                        failures.push(format!("{name}: {} on selected {r:.2}:1", slot.name()));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "below 4.5:1:\n{}", failures.join("\n"));
    }
}
