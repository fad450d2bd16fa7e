//! Shared fixtures: the real holiday-cn calendars 2023–2026 and helpers.
#![allow(dead_code)]

use chrono::{DateTime, FixedOffset, NaiveDate};
use cityloop_calendar::{HolidayCalendar, Shifts};

pub const Y2023: &str = include_str!("../../../../data/holiday-cn/2023.json");
pub const Y2024: &str = include_str!("../../../../data/holiday-cn/2024.json");
pub const Y2025: &str = include_str!("../../../../data/holiday-cn/2025.json");
pub const Y2026: &str = include_str!("../../../../data/holiday-cn/2026.json");

pub fn calendar_2026() -> HolidayCalendar {
    HolidayCalendar::from_holiday_cn_json(&[Y2026]).expect("2026 data loads")
}

pub fn calendar_all() -> HolidayCalendar {
    HolidayCalendar::from_named_holiday_cn_json(&[
        ("2023.json", Y2023),
        ("2024.json", Y2024),
        ("2025.json", Y2025),
        ("2026.json", Y2026),
    ])
    .expect("2023-2026 data loads")
}

pub fn shanghai_shifts() -> Shifts {
    Shifts::parse("08:30-12:00,13:30-17:30").expect("valid shifts")
}

/// Parses an RFC 3339 instant.
pub fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).expect("valid RFC 3339 instant")
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}
