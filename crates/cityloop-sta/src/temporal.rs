//! Date-time, interval and duration helpers.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Utc};

/// An instant or a SensorThings time interval, as `(start, end)`; an instant
/// has `start == end`.
pub(crate) type TimeRange = (DateTime<FixedOffset>, DateTime<FixedOffset>);

/// Parses an RFC 3339 date-time such as `2013-01-01T08:00:00+08:00`.
pub(crate) fn parse_datetime(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s.trim()).ok()
}

/// Parses a SensorThings time value: an RFC 3339 instant, or an interval
/// `start/end` of two instants.
pub(crate) fn parse_time_range(s: &str) -> Option<TimeRange> {
    match s.split_once('/') {
        Some((start, end)) => Some((parse_datetime(start)?, parse_datetime(end)?)),
        None => parse_datetime(s).map(|t| (t, t)),
    }
}

/// Midnight UTC at the start of `date`.
pub(crate) fn date_start(date: NaiveDate) -> DateTime<FixedOffset> {
    date.and_time(NaiveTime::MIN).and_utc().fixed_offset()
}

/// `0001-01-01T00:00:00Z`, OData's `mindatetime()`.
pub(crate) fn min_datetime() -> Option<DateTime<FixedOffset>> {
    NaiveDate::from_ymd_opt(1, 1, 1).map(date_start)
}

/// `9999-12-31T23:59:59.999999999Z`, OData's `maxdatetime()`.
pub(crate) fn max_datetime() -> Option<DateTime<FixedOffset>> {
    let date = NaiveDate::from_ymd_opt(9999, 12, 31)?;
    let time = NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999)?;
    Some(date.and_time(time).and_utc().fixed_offset())
}

/// Converts to UTC.
pub(crate) fn to_utc(t: DateTime<FixedOffset>) -> DateTime<Utc> {
    t.with_timezone(&Utc)
}

/// Parses an ISO 8601 duration in the day-time form OData uses:
/// `[-]P[nW][nD][T[nH][nM][n[.f]S]]`. Years and months have no fixed length
/// and are rejected.
pub(crate) fn parse_duration(s: &str) -> Option<TimeDelta> {
    let (negative, rest) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let rest = rest.strip_prefix(['P', 'p'])?;
    let (date_part, time_part) = match rest.split_once(['T', 't']) {
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    let mut seconds: i64 = 0;
    let mut nanos: u32 = 0;
    let mut components = 0;
    for (value, fraction, unit) in components_of(date_part)? {
        let unit_seconds = match unit {
            'W' | 'w' => 7 * 86_400,
            'D' | 'd' => 86_400,
            _ => return None,
        };
        if fraction.is_some() {
            return None;
        }
        seconds = seconds.checked_add(value.checked_mul(unit_seconds)?)?;
        components += 1;
    }
    if let Some(time_part) = time_part {
        let mut time_components = 0;
        for (value, fraction, unit) in components_of(time_part)? {
            let unit_seconds = match unit {
                'H' | 'h' => 3_600,
                'M' | 'm' => 60,
                'S' | 's' => 1,
                _ => return None,
            };
            if let Some(fraction) = fraction {
                if unit_seconds != 1 {
                    return None;
                }
                nanos = fraction;
            }
            seconds = seconds.checked_add(value.checked_mul(unit_seconds)?)?;
            time_components += 1;
        }
        if time_components == 0 {
            return None;
        }
        components += time_components;
    }
    if components == 0 {
        return None;
    }
    let delta = TimeDelta::new(seconds, nanos)?;
    Some(if negative { -delta } else { delta })
}

/// Splits `12D3H` into `[(12, None, 'D'), (3, None, 'H')]`; a fraction
/// (`1.5S`) is returned in nanoseconds.
fn components_of(s: &str) -> Option<Vec<(i64, Option<u32>, char)>> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (digits, after) = rest.split_at(digits_end);
        if digits.is_empty() {
            return None;
        }
        let value: i64 = digits.parse().ok()?;
        let (fraction, after) = match after.strip_prefix(['.', ',']) {
            Some(after) => {
                let end = after
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(after.len());
                let (frac_digits, after) = after.split_at(end);
                (Some(fraction_nanos(frac_digits)?), after)
            }
            None => (None, after),
        };
        let mut chars = after.chars();
        let unit = chars.next()?;
        out.push((value, fraction, unit));
        rest = chars.as_str();
    }
    Some(out)
}

/// Converts fractional-second digits (`"5"` → 500 ms) to nanoseconds.
fn fraction_nanos(digits: &str) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    let value: u32 = digits.parse().ok()?;
    let scale = 10u32.checked_pow(9 - u32::try_from(digits.len()).ok()?)?;
    value.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("P1DT2H"), TimeDelta::try_seconds(93_600));
        assert_eq!(parse_duration("PT1.5S"), TimeDelta::try_milliseconds(1_500));
        assert_eq!(parse_duration("-PT1M"), TimeDelta::try_seconds(-60));
        assert_eq!(parse_duration("P2W"), TimeDelta::try_days(14));
        for bad in [
            "",
            "P",
            "PT",
            "P1Y",
            "P1M",
            "1D",
            "PT1.5H",
            "P1DT",
            "PTS",
            "P99999999999999999999D",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn ranges() {
        let (a, b) = parse_time_range("2013-01-01T00:00:00Z/2013-01-01T01:00:00Z").unwrap();
        assert_eq!((b - a).num_hours(), 1);
        assert!(parse_time_range("2013-01-01T00:00:00Z/").is_none());
        assert!(parse_time_range("yesterday").is_none());
    }
}
