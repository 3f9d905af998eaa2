//! Copy to the operator's clipboard over SSH: the OSC 52 escape sequence
//! (`ESC ] 52 ; c ; <base64> BEL`), written to the terminal by the event loop. The terminal
//! (local, at the end of any number of SSH hops) puts the payload on its clipboard; no X11, no
//! `pbcopy`, nothing on the remote host.
//!
//! Decisions:
//! - Plain OSC 52, never wrapped in tmux's passthrough (`ESC P tmux; … ESC \`). tmux with
//!   `set-clipboard on` reads OSC 52 from the application itself, sets its paste buffer and
//!   forwards the sequence to the outer terminal; passthrough would need `allow-passthrough on`
//!   (off by default since tmux 3.3) and bypass tmux's buffer. With tmux's default `external`
//!   the copy does not reach the clipboard: the toast says what was copied, so the operator can
//!   tell, and tmux's documentation names the setting.
//! - BEL as terminator: accepted by xterm, kitty, WezTerm, iTerm2, Alacritty, foot and tmux;
//!   ST (`ESC \`) is not understood by some older ones.
//! - Payloads over [`MAX_BYTES`] are refused with a toast instead of being cut: many terminals
//!   drop long sequences silently (xterm's default limit is about 100 kB of base64), and a
//!   truncated YAML on the clipboard is worse than none.
//! - Never a Secret's value: what can be copied is a sha, a diff (Secret-masked by the diff
//!   module) or the object view's text (masked by the feeder), so a value never reaches here;
//!   [`copy_allowed`] refuses anything still carrying a Secret's raw `data:` as a second guard.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Largest text copied (before base64).
pub const MAX_BYTES: usize = 74_000;

/// The OSC 52 sequence putting `text` on the clipboard.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", STANDARD.encode(text.as_bytes()))
}

/// `Err(why)` for text that must not be copied: too large, or what looks like a Secret
/// manifest whose `data`/`stringData` values are not masks.
pub fn copy_allowed(text: &str) -> Result<(), String> {
    if text.len() > MAX_BYTES {
        return Err(format!(
            "not copied: {} bytes is more than terminals accept over OSC 52 ({MAX_BYTES})",
            text.len()
        ));
    }
    if looks_like_unmasked_secret(text) {
        return Err("not copied: it holds Secret values".to_owned());
    }
    Ok(())
}

/// A YAML text of `kind: Secret` with a value under `data:`/`stringData:` that is not a
/// `<masked:…>` placeholder.
fn looks_like_unmasked_secret(text: &str) -> bool {
    if !text
        .lines()
        .any(|l| l.trim_start_matches(['+', '-', ' ']) == "kind: Secret")
    {
        return false;
    }
    let mut in_data = false;
    for line in text.lines() {
        let body = line.trim_start_matches(['+', '-']);
        let indent = body.len() - body.trim_start().len();
        let trimmed = body.trim();
        if indent == 0 && (trimmed == "data:" || trimmed == "stringData:") {
            in_data = true;
            continue;
        }
        if indent == 0 && !trimmed.is_empty() {
            in_data = false;
        }
        if in_data && let Some((_, value)) = trimmed.split_once(':') {
            let value = value.trim().trim_matches(['\'', '"']);
            if !value.is_empty() && !value.starts_with("<masked:") {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_is_base64_of_the_text_between_the_prefix_and_bel() {
        let seq = osc52("f6a81c2d4c9e04");
        assert!(seq.starts_with("\x1b]52;c;"), "{seq:?}");
        assert!(seq.ends_with('\x07'), "{seq:?}");
        let payload = &seq["\x1b]52;c;".len()..seq.len() - 1];
        assert_eq!(payload, "ZjZhODFjMmQ0YzllMDQ=");
        let back = STANDARD.decode(payload).unwrap();
        assert_eq!(back, b"f6a81c2d4c9e04");
        // Multi-byte text and newlines survive: base64 carries bytes, not characters.
        let seq = osc52("promote(dev→staging)\nline 2");
        let payload = &seq["\x1b]52;c;".len()..seq.len() - 1];
        assert_eq!(
            STANDARD.decode(payload).unwrap(),
            "promote(dev→staging)\nline 2".as_bytes()
        );
        assert!(!payload.contains('\x07') && !payload.contains('\x1b'));
    }

    #[test]
    fn secret_values_and_oversized_text_are_refused() {
        let raw = "apiVersion: v1\nkind: Secret\ndata:\n  password: aHVudGVyMg==\n";
        assert!(copy_allowed(raw).is_err());
        let masked = "apiVersion: v1\nkind: Secret\ndata:\n  password: <masked:1a2b3c4d>\nmetadata:\n  name: db\n";
        assert_eq!(copy_allowed(masked), Ok(()));
        let config_map = "kind: ConfigMap\ndata:\n  level: info\n";
        assert_eq!(copy_allowed(config_map), Ok(()));
        assert!(copy_allowed(&"x".repeat(MAX_BYTES + 1)).is_err());
    }
}
