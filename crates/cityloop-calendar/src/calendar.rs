//! The official Chinese working calendar: which dates are working days.
//!
//! A [`HolidayCalendar`] is built from the yearly files of the holiday-cn
//! project (`data/holiday-cn/<year>.json`), each of which transcribes the
//! State Council's notice for that year. A file lists only the exceptions to
//! the normal week:
//!
//! * `"isOffDay": true` — a public holiday (or a weekday/weekend day folded
//!   into a holiday block);
//! * `"isOffDay": false` — a make-up working day (调休上班), usually a
//!   Saturday or Sunday.
//!
//! Every other date follows the normal week: Monday–Friday working, Saturday
//! and Sunday off.
//!
//! **Coverage.** The calendar answers only for the years whose files were
//! loaded (the `year` field of each file). Any question about another year is
//! [`CalendarError::YearNotPublished`]: the platform must never guess a
//! year's holidays, because the State Council publishes them only weeks before
//! the year starts and they differ from year to year.
//!
//! **Dates next to the file's year.** A file may list a date in a neighbouring
//! year: the 2023 file lists 2022-12-31 as the first day of the 2023 New Year
//! holiday. Such entries are attached to their own date (so 2022-12-31 is a
//! holiday once 2022 is loaded too), but they do not extend the coverage: with
//! only 2023 loaded, 2022-12-31 is still `YearNotPublished { year: 2022 }`.
//! Consequently the entries for the last days of year *Y* may only become
//! known when file *Y+1* is loaded; load every published year. Dates further
//! than one year away from the file's year are rejected as a data error.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::error::{CalendarError, excerpt};

/// The earliest year a holiday-cn file may describe.
pub const MIN_YEAR: i32 = 1900;
/// The latest year a holiday-cn file may describe.
pub const MAX_YEAR: i32 = 9999;

/// What kind of day a date is on the official calendar.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DayKind {
    /// An ordinary Monday–Friday working day.
    Workday,
    /// An ordinary Saturday or Sunday.
    Weekend,
    /// An official day off; `name` is the holiday's name from the data,
    /// e.g. `国庆节`.
    Holiday {
        /// The holiday's name as published, e.g. `春节`.
        name: String,
    },
    /// A make-up working day (调休上班) on what would otherwise be a day off;
    /// `name` is the holiday it compensates for.
    MakeUpWorkday {
        /// The name of the holiday this day makes up for.
        name: String,
    },
}

impl DayKind {
    /// Whether people work on this day (ordinary workday or make-up workday).
    pub fn is_working(&self) -> bool {
        matches!(self, DayKind::Workday | DayKind::MakeUpWorkday { .. })
    }
}

/// One listed exception to the normal week.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    off: bool,
    name: String,
    /// Whether the listing came from the file of the date's own year (its
    /// name then wins over a neighbouring file's).
    from_own_year: bool,
}

/// The official working calendar for a set of years.
///
/// Immutable once built; cheap to share by reference. See the module
/// documentation for coverage rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolidayCalendar {
    years: BTreeSet<i32>,
    days: BTreeMap<NaiveDate, Listed>,
}

#[derive(Deserialize)]
struct FileJson {
    year: i64,
    days: Vec<DayJson>,
}

#[derive(Deserialize)]
struct DayJson {
    name: String,
    date: String,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

impl HolidayCalendar {
    /// Builds a calendar from holiday-cn files, one text per year. Files are
    /// labelled `input #1`, `input #2`, … in error messages; use
    /// [`HolidayCalendar::from_named_holiday_cn_json`] to name them by path.
    ///
    /// An empty slice gives an empty calendar, for which every question is
    /// [`CalendarError::YearNotPublished`].
    pub fn from_holiday_cn_json(texts: &[&str]) -> Result<Self, CalendarError> {
        let labels: Vec<String> = (1..=texts.len()).map(|i| format!("input #{i}")).collect();
        let named: Vec<(&str, &str)> = labels
            .iter()
            .map(String::as_str)
            .zip(texts.iter().copied())
            .collect();
        Self::from_named_holiday_cn_json(&named)
    }

    /// Like [`HolidayCalendar::from_holiday_cn_json`], with each text paired
    /// with a label (typically its file path) used in error messages.
    ///
    /// Errors: unreadable JSON ([`CalendarError::InvalidJson`]), a year
    /// outside 1900–9999, a year given twice, an unreadable date, a date
    /// more than one year away from the file's year, or a date listed as both
    /// off and working.
    pub fn from_named_holiday_cn_json(files: &[(&str, &str)]) -> Result<Self, CalendarError> {
        let mut calendar = HolidayCalendar::default();
        for (label, text) in files {
            calendar.add_file(label, text)?;
        }
        Ok(calendar)
    }

    fn add_file(&mut self, label: &str, text: &str) -> Result<(), CalendarError> {
        let file = excerpt(label);
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| CalendarError::InvalidJson {
                file: file.clone(),
                year: None,
                detail: e.to_string(),
            })?;
        let year_hint = value
            .get("year")
            .and_then(serde_json::Value::as_i64)
            .and_then(|y| i32::try_from(y).ok());
        let parsed: FileJson =
            serde_json::from_value(value).map_err(|e| CalendarError::InvalidJson {
                file: file.clone(),
                year: year_hint,
                detail: e.to_string(),
            })?;
        let year = i32::try_from(parsed.year)
            .ok()
            .filter(|y| (MIN_YEAR..=MAX_YEAR).contains(y))
            .ok_or_else(|| CalendarError::UnsupportedYear {
                file: file.clone(),
                year: parsed.year,
            })?;
        if self.years.contains(&year) {
            return Err(CalendarError::DuplicateYear { year, file });
        }
        // Validate the whole file before changing `self`, so a failed load
        // leaves no half-added year behind.
        let mut entries = Vec::with_capacity(parsed.days.len());
        for (i, day) in parsed.days.into_iter().enumerate() {
            let date = parse_iso_date(&day.date).ok_or_else(|| CalendarError::InvalidDate {
                file: file.clone(),
                year,
                index: i + 1,
                date: excerpt(&day.date),
            })?;
            if (date.year() - year).abs() > 1 {
                return Err(CalendarError::DateOutsideYear {
                    file: file.clone(),
                    year,
                    date,
                });
            }
            entries.push((date, day));
        }
        let mut days = self.days.clone();
        for (date, day) in entries {
            let from_own_year = date.year() == year;
            let listed = Listed {
                off: day.is_off_day,
                name: day.name,
                from_own_year,
            };
            match days.get_mut(&date) {
                None => {
                    days.insert(date, listed);
                }
                Some(existing) if existing.off != listed.off => {
                    return Err(CalendarError::ConflictingDay { date, file });
                }
                Some(existing) => {
                    if listed.from_own_year && !existing.from_own_year {
                        *existing = listed;
                    }
                }
            }
        }
        self.days = days;
        self.years.insert(year);
        Ok(())
    }

    /// The years this calendar covers, ascending.
    pub fn years(&self) -> Vec<i32> {
        self.years.iter().copied().collect()
    }

    /// Whether the official calendar for `year` is loaded.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// Whether `date` is a working day (ordinary or make-up).
    ///
    /// Errors with [`CalendarError::YearNotPublished`] if the date's year is
    /// not loaded.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        self.check_year(date)?;
        Ok(match self.days.get(&date) {
            Some(listed) => !listed.off,
            None => !is_weekend(date),
        })
    }

    /// What kind of day `date` is, with the holiday's name for listed days.
    ///
    /// Errors with [`CalendarError::YearNotPublished`] if the date's year is
    /// not loaded.
    pub fn day_kind(&self, date: NaiveDate) -> Result<DayKind, CalendarError> {
        self.check_year(date)?;
        Ok(match self.days.get(&date) {
            Some(Listed {
                off: true, name, ..
            }) => DayKind::Holiday { name: name.clone() },
            Some(Listed {
                off: false, name, ..
            }) => DayKind::MakeUpWorkday { name: name.clone() },
            None if is_weekend(date) => DayKind::Weekend,
            None => DayKind::Workday,
        })
    }

    fn check_year(&self, date: NaiveDate) -> Result<(), CalendarError> {
        let year = date.year();
        if self.years.contains(&year) {
            Ok(())
        } else {
            Err(CalendarError::YearNotPublished { year })
        }
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Parses exactly `YYYY-MM-DD` (ASCII digits, no sign, no extra text).
fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &b[range];
        if part.iter().all(u8::is_ascii_digit) {
            part.iter()
                .try_fold(0u32, |acc, d| Some(acc * 10 + u32::from(d - b'0')))
        } else {
            None
        }
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const MINI_2026: &str = r#"{"year": 2026, "days": [
        {"name": "国庆节", "date": "2026-10-01", "isOffDay": true},
        {"name": "国庆节", "date": "2026-10-10", "isOffDay": false}
    ]}"#;

    #[test]
    fn iso_dates_are_parsed_strictly() {
        assert_eq!(parse_iso_date("2026-10-01"), Some(d(2026, 10, 1)));
        assert_eq!(parse_iso_date("2026-02-30"), None);
        assert_eq!(parse_iso_date("2026-1-01"), None);
        assert_eq!(parse_iso_date("+026-10-01"), None);
        assert_eq!(parse_iso_date("2026-10-01 "), None);
        assert_eq!(parse_iso_date("２026-10-01"), None);
    }

    #[test]
    fn unlisted_days_follow_the_normal_week() {
        let cal = HolidayCalendar::from_holiday_cn_json(&[MINI_2026]).unwrap();
        // 2026-10-09 is a Friday, 2026-10-11 a Sunday.
        assert_eq!(cal.day_kind(d(2026, 10, 9)).unwrap(), DayKind::Workday);
        assert_eq!(cal.day_kind(d(2026, 10, 11)).unwrap(), DayKind::Weekend);
        assert_eq!(
            cal.day_kind(d(2026, 10, 10)).unwrap(),
            DayKind::MakeUpWorkday {
                name: "国庆节".into()
            }
        );
        assert!(!cal.is_working_day(d(2026, 10, 1)).unwrap());
        assert_eq!(
            cal.is_working_day(d(2025, 12, 31)),
            Err(CalendarError::YearNotPublished { year: 2025 })
        );
    }

    #[test]
    fn duplicate_years_are_rejected_with_the_year() {
        let err = HolidayCalendar::from_named_holiday_cn_json(&[
            ("a/2026.json", MINI_2026),
            ("b/2026.json", MINI_2026),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            CalendarError::DuplicateYear {
                year: 2026,
                file: "b/2026.json".into()
            }
        );
        assert!(err.to_string().contains("2026"));
    }

    #[test]
    fn neighbouring_year_dates_attach_by_date_without_extending_coverage() {
        let y2023 = r#"{"year": 2023, "days": [
            {"name": "元旦", "date": "2022-12-31", "isOffDay": true}]}"#;
        let y2022 = r#"{"year": 2022, "days": []}"#;
        let only_2023 = HolidayCalendar::from_holiday_cn_json(&[y2023]).unwrap();
        assert_eq!(only_2023.years(), vec![2023]);
        assert_eq!(
            only_2023.day_kind(d(2022, 12, 31)),
            Err(CalendarError::YearNotPublished { year: 2022 })
        );
        let both = HolidayCalendar::from_holiday_cn_json(&[y2023, y2022]).unwrap();
        assert_eq!(both.years(), vec![2022, 2023]);
        assert_eq!(
            both.day_kind(d(2022, 12, 31)).unwrap(),
            DayKind::Holiday {
                name: "元旦".into()
            }
        );
    }

    #[test]
    fn far_away_dates_and_bad_dates_are_rejected() {
        let far =
            r#"{"year": 2026, "days": [{"name": "x", "date": "2024-05-01", "isOffDay": true}]}"#;
        let err = HolidayCalendar::from_holiday_cn_json(&[far]).unwrap_err();
        assert_eq!(
            err,
            CalendarError::DateOutsideYear {
                file: "input #1".into(),
                year: 2026,
                date: d(2024, 5, 1)
            }
        );
        let bad =
            r#"{"year": 2026, "days": [{"name": "x", "date": "2026-13-01", "isOffDay": true}]}"#;
        let msg = HolidayCalendar::from_holiday_cn_json(&[bad])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("\"2026-13-01\""), "{msg}");
        assert!(msg.contains("year 2026"), "{msg}");
    }

    #[test]
    fn conflicting_listings_are_rejected() {
        let a =
            r#"{"year": 2026, "days": [{"name": "x", "date": "2027-01-01", "isOffDay": true}]}"#;
        let b =
            r#"{"year": 2027, "days": [{"name": "x", "date": "2027-01-01", "isOffDay": false}]}"#;
        let err = HolidayCalendar::from_holiday_cn_json(&[a, b]).unwrap_err();
        assert_eq!(
            err,
            CalendarError::ConflictingDay {
                date: d(2027, 1, 1),
                file: "input #2".into()
            }
        );
    }

    #[test]
    fn bad_json_names_file_and_year() {
        let err =
            HolidayCalendar::from_named_holiday_cn_json(&[("data/2026.json", r#"{"year": 2026}"#)])
                .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("holiday-cn file data/2026.json (year 2026)"),
            "{msg}"
        );
        assert!(msg.contains("days"), "{msg}");
        let err = HolidayCalendar::from_holiday_cn_json(&["not json"]).unwrap_err();
        assert!(matches!(err, CalendarError::InvalidJson { year: None, .. }));
        let err =
            HolidayCalendar::from_holiday_cn_json(&[r#"{"year": 99999, "days": []}"#]).unwrap_err();
        assert!(err.to_string().contains("99999"), "{err}");
    }
}
