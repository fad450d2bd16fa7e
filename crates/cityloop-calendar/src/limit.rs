//! Time limits (service-level deadlines) and their text form.
//!
//! A limit is written `<N><unit>`: `N` a positive integer of at most
//! [`MAX_LIMIT_UNITS`] and the unit one of
//!
//! | unit | meaning | value |
//! |------|---------|-------|
//! | `m`  | natural minutes | [`Limit::Natural`] |
//! | `h`  | natural hours | [`Limit::Natural`] |
//! | `d`  | natural days (24 h each) | [`Limit::Natural`] |
//! | `wm` | working minutes | [`Limit::WorkingMinutes`] |
//! | `wh` | working hours (60 working minutes each) | [`Limit::WorkingMinutes`] |
//! | `wd` | working days | [`Limit::WorkingDays`] |
//!
//! Surrounding whitespace, leading zeros and spaces between number and unit
//! are accepted; units are lower case. `Display` writes the canonical text
//! (largest exact unit, no padding), which parses back to an equal value:
//! `90m` → `90m`, `120m` → `2h`, `1440m` → `1d`, `120wm` → `2wh`.

use std::fmt;
use std::str::FromStr;

use chrono::Duration;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{CalendarError, excerpt};

/// The largest number of units a limit text may give (`100000wd` is fine,
/// `100001wd` is rejected).
pub const MAX_LIMIT_UNITS: i64 = 100_000;

/// A time limit for a case, counted from a start instant by
/// [`crate::WorkingTime::due`].
///
/// Values built by [`Limit::parse`] are always positive. Values built by hand
/// may be zero (due = the start, moved to the next working instant for
/// working limits) but not negative (`due` rejects them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Wall-clock time, ignoring the calendar.
    Natural(Duration),
    /// Minutes counted only inside working periods of working days.
    WorkingMinutes(i64),
    /// Whole working days: same time of day on the N-th following working day.
    WorkingDays(i64),
}

impl Limit {
    /// Parses `<N><unit>`, see the module documentation.
    pub fn parse(text: &str) -> Result<Self, CalendarError> {
        let invalid = |reason: String| CalendarError::InvalidLimit {
            text: excerpt(text),
            reason,
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(invalid(
                "empty; expected a number followed by a unit, e.g. 5wd".into(),
            ));
        }
        let digits_end = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        let (digits, unit) = trimmed.split_at(digits_end);
        let unit = unit.trim();
        if digits.is_empty() {
            let reason = if trimmed.starts_with('-') {
                "a time limit must be positive".to_string()
            } else {
                "missing number; expected a positive integer followed by a unit, e.g. 5wd"
                    .to_string()
            };
            return Err(invalid(reason));
        }
        let significant = digits.trim_start_matches('0');
        if significant.is_empty() {
            return Err(invalid("a time limit must be positive, not 0".into()));
        }
        // At most 6 significant digits can be ≤ 100000; checking the length
        // first keeps the parse below from overflowing on long inputs.
        let n: i64 = if significant.len() > 6 {
            None
        } else {
            significant.parse().ok()
        }
        .filter(|n| *n <= MAX_LIMIT_UNITS)
        .ok_or_else(|| {
            invalid(format!(
                "{} is too large; at most {MAX_LIMIT_UNITS} units are allowed",
                excerpt(digits)
            ))
        })?;
        match unit {
            "m" => Ok(Limit::Natural(Duration::minutes(n))),
            "h" => Ok(Limit::Natural(Duration::hours(n))),
            "d" => Ok(Limit::Natural(Duration::days(n))),
            "wm" => Ok(Limit::WorkingMinutes(n)),
            "wh" => Ok(Limit::WorkingMinutes(n * 60)),
            "wd" => Ok(Limit::WorkingDays(n)),
            "" => Err(invalid(format!(
                "missing unit after {n}; use one of m, h, d, wm, wh, wd"
            ))),
            other => Err(invalid(format!(
                "unknown unit \"{}\"; use one of m, h, d (natural) or wm, wh, wd (working)",
                excerpt(other)
            ))),
        }
    }

    /// Whether the limit is counted on the working calendar.
    pub fn is_working(&self) -> bool {
        !matches!(self, Limit::Natural(_))
    }
}

impl fmt::Display for Limit {
    /// Canonical text. Natural durations that are not whole minutes (only
    /// possible for hand-built values) are written in seconds, e.g. `90s`,
    /// which [`Limit::parse`] does not accept.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Limit::Natural(d) => {
                let secs = d.num_seconds();
                if d.subsec_nanos() != 0 || secs % 60 != 0 {
                    write!(f, "{secs}s")
                } else if secs % 86_400 == 0 {
                    write!(f, "{}d", secs / 86_400)
                } else if secs % 3_600 == 0 {
                    write!(f, "{}h", secs / 3_600)
                } else {
                    write!(f, "{}m", secs / 60)
                }
            }
            Limit::WorkingMinutes(m) if m % 60 == 0 => write!(f, "{}wh", m / 60),
            Limit::WorkingMinutes(m) => write!(f, "{m}wm"),
            Limit::WorkingDays(n) => write!(f, "{n}wd"),
        }
    }
}

impl FromStr for Limit {
    type Err = CalendarError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Limit::parse(s)
    }
}

impl Serialize for Limit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Limit::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> String {
        match Limit::parse(text) {
            Err(CalendarError::InvalidLimit { reason, .. }) => reason,
            other => panic!("expected InvalidLimit for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(
            Limit::parse("90m").unwrap(),
            Limit::Natural(Duration::minutes(90))
        );
        assert_eq!(
            Limit::parse("2h").unwrap(),
            Limit::Natural(Duration::hours(2))
        );
        assert_eq!(
            Limit::parse("3d").unwrap(),
            Limit::Natural(Duration::days(3))
        );
        assert_eq!(Limit::parse("45wm").unwrap(), Limit::WorkingMinutes(45));
        assert_eq!(Limit::parse("4wh").unwrap(), Limit::WorkingMinutes(240));
        assert_eq!(Limit::parse("5wd").unwrap(), Limit::WorkingDays(5));
        assert_eq!(Limit::parse(" 05 wd ").unwrap(), Limit::WorkingDays(5));
        assert_eq!(
            Limit::parse("100000wh").unwrap(),
            Limit::WorkingMinutes(6_000_000)
        );
    }

    #[test]
    fn display_is_canonical_and_round_trips() {
        for (text, canonical) in [
            ("90m", "90m"),
            ("120m", "2h"),
            ("1440m", "1d"),
            ("48h", "2d"),
            ("7d", "7d"),
            ("120wm", "2wh"),
            ("61wm", "61wm"),
            ("4wh", "4wh"),
            ("5wd", "5wd"),
        ] {
            let limit = Limit::parse(text).unwrap();
            assert_eq!(limit.to_string(), canonical, "{text}");
            assert_eq!(Limit::parse(canonical).unwrap(), limit);
        }
        assert_eq!(Limit::Natural(Duration::seconds(90)).to_string(), "90s");
    }

    #[test]
    fn rejections_name_the_problem() {
        assert!(reason("").contains("empty"));
        assert!(reason("0wd").contains("not 0"));
        assert!(reason("-5wd").contains("positive"));
        assert!(reason("wd").contains("missing number"));
        assert!(reason("5").contains("missing unit after 5"));
        assert!(reason("5y").contains("unknown unit \"y\""));
        assert!(reason("5WD").contains("unknown unit \"WD\""));
        assert!(reason("100001wd").contains("100001 is too large"));
        assert!(reason("99999999999999999999999wd").contains("too large"));
        assert!(reason("1.5h").contains("unknown unit \".5h\""));
        let msg = Limit::parse("5y").unwrap_err().to_string();
        assert!(msg.starts_with("invalid time limit \"5y\""), "{msg}");
    }
}
