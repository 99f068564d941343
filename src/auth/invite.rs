//! Invite codes: what a visitor needs to register into a cohort.

/// A new invite code: 12 characters from an alphabet without look-alikes, grouped for reading aloud
/// (`ABCD-EFGH-JKMN`), about 60 bits.
pub fn new_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    let chars: Vec<char> = (0..12)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Normalises what a person typed: case and surrounding spaces do not matter.
pub fn normalise(typed: &str) -> String {
    typed.trim().to_ascii_uppercase()
}

/// Why an invite limit typed on a form or the command line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "the expiry `{0}` is not a UTC date and time such as 2026-12-01T18:00 (or empty for none)"
    )]
    Expiry(String),
    #[error("the cap on uses `{0}` is not a whole number from 1 to 100000 (or empty for none)")]
    Cap(String),
}

/// An invite code's expiry as typed, `YYYY-MM-DDTHH:MM` (what a `datetime-local` field sends) or with a space,
/// read as UTC, into Unix milliseconds; empty or `never` is no expiry.
pub fn parse_expiry(typed: &str) -> Result<Option<i64>, LimitError> {
    let t = typed.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    let bad = || LimitError::Expiry(t.to_string());
    let t = t.trim_end_matches('Z').trim_end_matches(" UTC");
    let (date, time) = t.split_once(['T', ' ']).ok_or_else(bad)?;
    let mut d = date.splitn(3, '-').map(str::parse::<i64>);
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(day))) = (d.next(), d.next(), d.next()) else {
        return Err(bad());
    };
    let mut h = time.splitn(3, ':');
    let (Some(Ok(hour)), Some(Ok(min))) = (
        h.next().map(str::parse::<i64>),
        h.next().map(str::parse::<i64>),
    ) else {
        return Err(bad());
    };
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=days_in_month(y, m)).contains(&day)
        || !(0..24).contains(&hour)
        || !(0..60).contains(&min)
    {
        return Err(bad());
    }
    Ok(Some(
        ((days_from_civil(y, m, day) * 24 + hour) * 60 + min) * 60_000,
    ))
}

/// An invite code's cap on uses as typed; empty or `none` is no cap.
pub fn parse_cap(typed: &str) -> Result<Option<i64>, LimitError> {
    let t = typed.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    match t.parse::<i64>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(Some(n)),
        _ => Err(LimitError::Cap(t.to_string())),
    }
}

pub(crate) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm, the inverse of `web::runs::format_time`).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_and_distinct() {
        let a = new_code();
        assert_eq!(a.len(), 14);
        assert_eq!(a.matches('-').count(), 2);
        assert_ne!(a, new_code());
        assert_eq!(normalise(&format!("  {} ", a.to_lowercase())), a);
    }

    #[test]
    fn expiries_read_as_utc_and_nonsense_is_refused() {
        assert_eq!(parse_expiry(""), Ok(None));
        assert_eq!(parse_expiry("never"), Ok(None));
        assert_eq!(parse_expiry("1970-01-01T00:01"), Ok(Some(60_000)));
        // 2026-12-01 18:30 UTC, checked against `date -u -d '2026-12-01 18:30' +%s`.
        assert_eq!(
            parse_expiry("2026-12-01T18:30"),
            Ok(Some(1_796_149_800_000))
        );
        assert_eq!(
            parse_expiry("2026-12-01 18:30"),
            Ok(Some(1_796_149_800_000))
        );
        assert_eq!(
            parse_expiry("2028-02-29T00:00").map(|e| e.is_some()),
            Ok(true)
        );
        for bad in [
            "2027-02-29T00:00",
            "2026-13-01T00:00",
            "2026-12-01",
            "tomorrow",
            "2026-12-01T24:00",
        ] {
            assert!(parse_expiry(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn caps_are_positive_whole_numbers() {
        assert_eq!(parse_cap(""), Ok(None));
        assert_eq!(parse_cap(" 30 "), Ok(Some(30)));
        for bad in ["0", "-1", "ten", "1.5", "100001"] {
            assert!(parse_cap(bad).is_err(), "{bad}");
        }
    }
}
