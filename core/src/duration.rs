//! Parses durations given on the command line (`500ms`, `5s`, `2m`, `24h`, `7d`, or plain seconds).

use std::time::Duration;

/// Parses `500ms`, `1.5s`, `2m`, `1h`, `7d` or a plain number of seconds. One parser for every
/// duration the CLI and `local.toml` take (timeouts, budgets, invite expiry).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else if let Some(n) = t.strip_suffix('d') {
        (n, 86_400.0)
    } else {
        (t, 1.0)
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        // `try_`: a number too large for a `Duration` (`1e300d`) is refused, not a panic.
        .and_then(|v| Duration::try_from_secs_f64(v * scale).ok())
        .ok_or_else(|| {
            format!("`{text}` is not a duration like `500ms`, `5s`, `2m`, `24h` or `7d`")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(parse_duration("0.5d").unwrap(), Duration::from_secs(43_200));
        assert!(parse_duration("soon").is_err());
        assert!(
            parse_duration("1e300d").is_err(),
            "too large: refused, no panic"
        );
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
