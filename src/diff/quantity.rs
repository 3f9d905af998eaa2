//! Kubernetes resource quantities (`500m`, `1.5Gi`, `1e3`, `536870912`) as numbers, so that two
//! spellings of one amount compare equal. Pure; imports nothing of the crate.
//!
//! The value is an `f64`: exact for every realistic request/limit, and compared with a relative
//! tolerance far below the smallest suffix step, so rounding never makes two amounts equal that
//! Kubernetes would keep apart.

use serde_json::Value;

/// The amount a JSON quantity denotes, or `None` when it is not a quantity.
pub(crate) fn parse(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_str(s.trim()),
        _ => None,
    }
}

fn parse_str(s: &str) -> Option<f64> {
    const BINARY: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
    ];
    const DECIMAL: &[(&str, f64)] = &[
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    if s.is_empty() {
        return None;
    }
    for (suffix, factor) in BINARY.iter().chain(DECIMAL) {
        if let Some(number) = s.strip_suffix(suffix) {
            return number_part(number).map(|n| n * factor);
        }
    }
    // Plain numbers, including the decimal-exponent form `1e3`.
    number_part(s)
}

fn number_part(s: &str) -> Option<f64> {
    let valid = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '+' | '-' | 'e' | 'E'));
    if !valid {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Equal within a relative tolerance of 1e-9.
pub(crate) fn same(a: f64, b: f64) -> bool {
    if a == b {
        return true;
    }
    let scale = a.abs().max(b.abs());
    (a - b).abs() <= scale * 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(v: Value) -> f64 {
        parse(&v).unwrap()
    }

    #[test]
    fn spellings_of_one_amount_are_equal() {
        assert!(same(q(json!("1000m")), q(json!("1"))));
        assert!(same(q(json!("512Mi")), q(json!("536870912"))));
        assert!(same(q(json!("0.5")), q(json!("500m"))));
        assert!(same(q(json!("100m")), q(json!("0.1"))));
        assert!(same(q(json!("1e3")), q(json!("1k"))));
        assert!(same(q(json!(2)), q(json!("2"))));
    }

    #[test]
    fn different_amounts_differ() {
        assert!(!same(q(json!("1001m")), q(json!("1"))));
        assert!(!same(q(json!("1Gi")), q(json!("1G"))));
    }

    #[test]
    fn non_quantities_are_rejected() {
        assert_eq!(parse(&json!("abc")), None);
        assert_eq!(parse(&json!("Mi")), None);
        assert_eq!(parse(&json!(true)), None);
    }
}
