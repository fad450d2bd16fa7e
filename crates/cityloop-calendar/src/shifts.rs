//! Daily working hours: the periods of a working day during which the clock
//! of a working-time limit runs.
//!
//! A [`Shifts`] value is an ordered list of non-overlapping, half-open periods
//! `[start, end)` of local (+08:00) time of day, in whole minutes, all within
//! one calendar day. The same shifts apply to every working day, ordinary or
//! make-up. The text form is `HH:MM-HH:MM` periods separated by commas, e.g.
//! `08:30-12:00,13:30-17:30` (an en dash `–` and surrounding spaces are
//! accepted too). Periods may touch (`08:00-12:00,12:00-13:00`) but not
//! overlap. A period cannot cross midnight, and since `24:00` is not a time
//! of day the latest possible end is `23:59`.

use std::fmt;
use std::str::FromStr;

use chrono::{Duration, NaiveTime, Timelike};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{CalendarError, excerpt};

/// One working period `[start, end)` of a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    start: NaiveTime,
    end: NaiveTime,
}

impl Period {
    /// The first instant of the period (inclusive).
    pub fn start(&self) -> NaiveTime {
        self.start
    }

    /// The end of the period (exclusive): the first instant after it.
    pub fn end(&self) -> NaiveTime {
        self.end
    }

    /// The period's length.
    pub fn duration(&self) -> Duration {
        self.end - self.start
    }

    /// Whether `t` lies in `[start, end)`.
    pub fn contains(&self, t: NaiveTime) -> bool {
        self.start <= t && t < self.end
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

/// The daily working periods, e.g. 08:30–12:00 and 13:30–17:30.
///
/// Invariants (enforced by every constructor): at least one period; each
/// period has `start < end` and whole-minute bounds; periods are in
/// chronological order and do not overlap.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shifts {
    periods: Vec<Period>,
}

impl Default for Shifts {
    /// 08:30–12:00 and 13:30–17:30, the usual office hours of Shanghai
    /// government offices (7.5 working hours a day).
    fn default() -> Self {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
        Shifts {
            periods: vec![
                Period {
                    start: t(8, 30),
                    end: t(12, 0),
                },
                Period {
                    start: t(13, 30),
                    end: t(17, 30),
                },
            ],
        }
    }
}

impl Shifts {
    /// Builds shifts from `(start, end)` pairs, checking the invariants.
    pub fn new(
        periods: impl IntoIterator<Item = (NaiveTime, NaiveTime)>,
    ) -> Result<Self, CalendarError> {
        let periods: Vec<Period> = periods
            .into_iter()
            .map(|(start, end)| Period { start, end })
            .collect();
        let text = periods
            .iter()
            .map(|p| format!("{}-{}", p.start, p.end))
            .collect::<Vec<_>>()
            .join(",");
        for p in &periods {
            for t in [p.start, p.end] {
                if t.second() != 0 || t.nanosecond() != 0 {
                    return Err(invalid(
                        &text,
                        format!("{t} is not a whole minute; working periods are given in minutes"),
                    ));
                }
            }
        }
        Self::validated(periods, &text)
    }

    /// Parses `HH:MM-HH:MM[,HH:MM-HH:MM…]`, e.g. `08:30-12:00,13:30-17:30`.
    /// Hours may be written with one digit (`8:30`); `-` or `–` separates
    /// start and end; spaces around the parts are ignored.
    pub fn parse(text: &str) -> Result<Self, CalendarError> {
        if text.trim().is_empty() {
            return Err(invalid(
                text,
                "no working period given; expected e.g. 08:30-12:00,13:30-17:30".into(),
            ));
        }
        let mut periods = Vec::new();
        for (i, part) in text.split(',').enumerate() {
            let part = part.trim();
            if part.is_empty() {
                return Err(invalid(
                    text,
                    format!("period #{} is empty (stray comma?)", i + 1),
                ));
            }
            let pieces: Vec<&str> = part.split(['-', '–']).collect();
            let [start, end] = pieces.as_slice() else {
                return Err(invalid(
                    text,
                    format!(
                        "period \"{}\" is not of the form HH:MM-HH:MM",
                        excerpt(part)
                    ),
                ));
            };
            let start = parse_time(start.trim()).map_err(|why| {
                invalid(
                    text,
                    format!("start of period \"{}\": {why}", excerpt(part)),
                )
            })?;
            let end = parse_time(end.trim()).map_err(|why| {
                invalid(text, format!("end of period \"{}\": {why}", excerpt(part)))
            })?;
            periods.push(Period { start, end });
        }
        Self::validated(periods, text)
    }

    fn validated(periods: Vec<Period>, text: &str) -> Result<Self, CalendarError> {
        if periods.is_empty() {
            return Err(invalid(text, "no working period given".into()));
        }
        for p in &periods {
            if p.end == p.start {
                return Err(invalid(
                    text,
                    format!("period {p} is empty: its end must be after its start"),
                ));
            }
            if p.end < p.start {
                return Err(invalid(
                    text,
                    format!(
                        "period {p} ends before it starts; periods crossing midnight are not supported"
                    ),
                ));
            }
        }
        for pair in periods.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if b.start < a.start {
                return Err(invalid(
                    text,
                    format!("period {b} comes after {a} but starts earlier; list periods in order"),
                ));
            }
            if b.start < a.end {
                return Err(invalid(text, format!("periods {a} and {b} overlap")));
            }
        }
        Ok(Shifts { periods })
    }

    /// The periods, in order.
    pub fn periods(&self) -> &[Period] {
        &self.periods
    }

    /// Working minutes in one working day (450 for the default shifts).
    pub fn minutes_per_day(&self) -> i64 {
        self.per_day().num_minutes()
    }

    /// Working time in one working day.
    pub(crate) fn per_day(&self) -> Duration {
        self.periods
            .iter()
            .fold(Duration::zero(), |acc, p| acc + p.duration())
    }

    /// Whether the time of day `t` lies inside a working period.
    pub fn contains(&self, t: NaiveTime) -> bool {
        self.periods.iter().any(|p| p.contains(t))
    }
}

impl fmt::Display for Shifts {
    /// The canonical text, e.g. `08:30-12:00,13:30-17:30`;
    /// [`Shifts::parse`] reads it back to an equal value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.periods.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl FromStr for Shifts {
    type Err = CalendarError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Shifts::parse(s)
    }
}

impl Serialize for Shifts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Shifts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Shifts::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn invalid(text: &str, reason: String) -> CalendarError {
    CalendarError::InvalidShifts {
        text: excerpt(text),
        reason,
    }
}

/// Parses `H:MM` or `HH:MM` with ASCII digits, hours 0–23.
fn parse_time(s: &str) -> Result<NaiveTime, String> {
    let bad = || format!("\"{}\" is not a time of day written HH:MM", excerpt(s));
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || h.len() > 2 || !digits(m) || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    NaiveTime::from_hms_opt(h, m, 0).ok_or_else(|| {
        format!(
            "\"{}\" is not a time of day (hours 00–23, minutes 00–59; 24:00 is not allowed)",
            excerpt(s)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> String {
        match Shifts::parse(text) {
            Err(CalendarError::InvalidShifts { reason, .. }) => reason,
            other => panic!("expected InvalidShifts for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn default_is_shanghai_office_hours() {
        let s = Shifts::default();
        assert_eq!(s.to_string(), "08:30-12:00,13:30-17:30");
        assert_eq!(s.minutes_per_day(), 450);
        assert_eq!(Shifts::parse("08:30-12:00,13:30-17:30").unwrap(), s);
    }

    #[test]
    fn accepts_en_dash_spaces_and_single_digit_hours() {
        let s = Shifts::parse(" 8:30 – 12:00 , 13:30–17:30 ").unwrap();
        assert_eq!(s, Shifts::default());
        let s = Shifts::parse("09:00-12:00,12:00-13:00").unwrap();
        assert_eq!(s.minutes_per_day(), 240);
    }

    #[test]
    fn rejections_name_the_offending_part() {
        assert!(reason("").contains("no working period"));
        assert!(reason("08:30-12:00,").contains("period #2 is empty"));
        assert!(reason("08:30").contains("\"08:30\""));
        assert!(reason("08:30-12:00-13:00").contains("\"08:30-12:00-13:00\""));
        assert!(reason("8h30-12:00").contains("\"8h30\""));
        assert!(reason("08:30-24:00").contains("\"24:00\""));
        assert!(reason("08:30-25:00").contains("\"25:00\""));
        assert!(reason("08:60-12:00").contains("\"08:60\""));
        assert!(reason("12:00-12:00").contains("12:00-12:00 is empty"));
        assert!(reason("22:00-06:00").contains("crossing midnight"));
        assert!(reason("08:30-12:00,11:00-17:30").contains("overlap"));
        assert!(reason("13:30-17:30,08:30-12:00").contains("in order"));
        let msg = Shifts::parse("8h30-12:00").unwrap_err().to_string();
        assert!(
            msg.starts_with("invalid working hours \"8h30-12:00\""),
            "{msg}"
        );
    }

    #[test]
    fn new_rejects_seconds() {
        let t = |h, m, s| NaiveTime::from_hms_opt(h, m, s).unwrap();
        assert!(Shifts::new([(t(8, 0, 30), t(12, 0, 0))]).is_err());
        assert!(Shifts::new([]).is_err());
        let s = Shifts::new([(t(8, 0, 0), t(12, 0, 0))]).unwrap();
        assert_eq!(s.to_string(), "08:00-12:00");
    }
}
