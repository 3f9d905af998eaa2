//! Parses the config file's durations (`30s`, `5m`, `1h30m`, `500ms`). Owns only this grammar;
//! imports nothing of the crate. Kept strict on purpose: a bare `30` is rejected rather than
//! guessed as seconds, because a wrong guess (ms vs s) silently changes a timeout by 1000×.

use std::time::Duration;

/// What the error messages say a duration must look like.
pub const EXPECTED: &str = "a duration like 30s, 5m, 1h, 1h30m or 500ms";

/// Parses a sequence of `<digits><unit>` groups, units `h`, `m`, `s`, `ms`, each unit at most
/// once and from largest to smallest. Returns `None` for anything else (including overflow).
pub fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut rest = text;
    let mut total = Duration::ZERO;
    // Rank of the last unit seen: units must strictly decrease (h > m > s > ms).
    let mut last_rank = u8::MAX;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let value: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (rank, unit_len, unit) = if rest.starts_with("ms") {
            (0, 2, Duration::from_millis(1))
        } else if rest.starts_with('s') {
            (1, 1, Duration::from_secs(1))
        } else if rest.starts_with('m') {
            (2, 1, Duration::from_secs(60))
        } else if rest.starts_with('h') {
            (3, 1, Duration::from_secs(3600))
        } else {
            return None;
        };
        if rank >= last_rank {
            return None;
        }
        last_rank = rank;
        rest = &rest[unit_len..];
        let part = unit.checked_mul(u32::try_from(value).ok()?)?;
        total = total.checked_add(part)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(parse("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse("2s500ms"), Some(Duration::from_millis(2500)));
        assert_eq!(parse("0s"), Some(Duration::ZERO));
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "30",
            "s",
            "30x",
            "1.5h",
            "-5s",
            "30 s",
            "5m1h",
            "1s1s",
            "1ms1s",
            "1d",
            "m5",
            "99999999999999999999s",
        ] {
            assert_eq!(parse(bad), None, "{bad:?} should be rejected");
        }
    }
}
