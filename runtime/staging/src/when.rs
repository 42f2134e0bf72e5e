//! Points in time as mappings write them (`changed_since`, `days`, `delete_where` bounds): the
//! forms of PHP's `strtotime` that configurations use in practice.
//!
//! Accepted: RFC 3339 (`2024-01-31T10:00:00Z`), a date (`2024-01-31`), a date and time
//! (`2024-01-31 10:00:00`, UTC), a unix timestamp (`@1706695200` or digits), `now`, `today`,
//! `yesterday`, and relative offsets (`-2 days`, `+1 hour`, `3 weeks ago`, `-1 day -2 hours`)
//! in seconds, minutes, hours, days, weeks, months (30 days) and years (365 days).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time};

/// Parses `text` relative to `now`; `None` when it is not a time berth understands.
pub fn parse_changed_since(text: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let date_time = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    if let Ok(t) = PrimitiveDateTime::parse(text, &date_time) {
        return Some(t.assume_utc());
    }
    let date = format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(text, &date) {
        return Some(PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc());
    }
    let digits = text.strip_prefix('@').unwrap_or(text);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        return OffsetDateTime::from_unix_timestamp(digits.parse().ok()?).ok();
    }
    let midnight = |t: OffsetDateTime| t.replace_time(Time::MIDNIGHT);
    match text.to_ascii_lowercase().as_str() {
        "now" => return Some(now),
        "today" | "midnight" => return Some(midnight(now)),
        "yesterday" => return Some(midnight(now) - Duration::days(1)),
        _ => {}
    }
    relative(text, now)
}

/// `-2 days`, `+1 hour -30 minutes`, `3 weeks ago`.
fn relative(text: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let lower = text.to_ascii_lowercase();
    let (body, ago) = match lower.strip_suffix("ago") {
        Some(rest) => (rest.trim_end().to_owned(), true),
        None => (lower, false),
    };
    let tokens: Vec<&str> = body.split_whitespace().collect();
    let mut total = Duration::ZERO;
    let mut i = 0;
    let mut any = false;
    while i < tokens.len() {
        // A number may be glued to its unit ("-2days") or stand alone ("-2 days").
        let (number, unit) = match split_number(tokens[i]) {
            (n, u) if !u.is_empty() => {
                i += 1;
                (n, u.to_owned())
            }
            (n, _) => {
                let unit = tokens.get(i + 1)?;
                i += 2;
                (n, (*unit).to_owned())
            }
        };
        let n: i64 = number.parse().ok()?;
        total += unit_duration(&unit)?.checked_mul(i32::try_from(n).ok()?)?;
        any = true;
    }
    if !any {
        return None;
    }
    Some(if ago { now - total } else { now + total })
}

fn split_number(token: &str) -> (&str, &str) {
    let end = token
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && matches!(c, '+' | '-'))))
        .map_or(token.len(), |(i, _)| i);
    (&token[..end], &token[end..])
}

fn unit_duration(unit: &str) -> Option<Duration> {
    let unit = unit.trim_end_matches('s');
    Some(match unit {
        "sec" | "second" => Duration::SECOND,
        "min" | "minute" => Duration::MINUTE,
        "hour" => Duration::HOUR,
        "day" => Duration::DAY,
        "week" => Duration::WEEK,
        "month" => Duration::days(30),
        "year" => Duration::days(365),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2024-03-10 12:00:00 UTC);

    #[test]
    fn absolute_forms() {
        let p = |s| parse_changed_since(s, NOW);
        assert_eq!(p("2024-01-31"), Some(datetime!(2024-01-31 00:00:00 UTC)));
        assert_eq!(
            p("2024-01-31 10:20:30"),
            Some(datetime!(2024-01-31 10:20:30 UTC))
        );
        assert_eq!(
            p("2024-01-31T10:20:30+01:00"),
            Some(datetime!(2024-01-31 09:20:30 UTC))
        );
        assert_eq!(p("@0"), Some(datetime!(1970-01-01 00:00:00 UTC)));
        assert_eq!(p("yesterday"), Some(datetime!(2024-03-09 00:00:00 UTC)));
    }

    #[test]
    fn relative_forms() {
        let p = |s| parse_changed_since(s, NOW);
        assert_eq!(p("-2 days"), Some(datetime!(2024-03-08 12:00:00 UTC)));
        assert_eq!(p("3 hours ago"), Some(datetime!(2024-03-10 09:00:00 UTC)));
        assert_eq!(
            p("-1 day -2 hours"),
            Some(datetime!(2024-03-09 10:00:00 UTC))
        );
        assert_eq!(p("-1 light year"), None);
        assert_eq!(p("garbage"), None);
    }
}
