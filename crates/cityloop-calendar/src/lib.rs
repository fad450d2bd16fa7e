//! Working-time arithmetic on the official Chinese working calendar.
//!
//! City cases carry service-level deadlines such as "answer within 5 working
//! days" or "dispatch within 4 working hours". In China those are counted on
//! the official calendar published each year by the State Council: public
//! holidays are off, and some weekend days become make-up working days
//! (调休上班). This crate answers, for such a calendar:
//!
//! * is a date a working day, and what kind of day is it
//!   ([`HolidayCalendar`], [`DayKind`]);
//! * when is a case due, given a start instant and a [`Limit`]
//!   ([`WorkingTime::due`]);
//! * how much working time lies between two instants
//!   ([`WorkingTime::working_minutes_between`]).
//!
//! ```
//! use chrono::DateTime;
//! use cityloop_calendar::{HolidayCalendar, Limit, Shifts, WorkingTime};
//!
//! let calendar = HolidayCalendar::from_holiday_cn_json(&[include_str!(
//!     "../../../data/holiday-cn/2026.json"
//! )])?;
//! let shifts = Shifts::default(); // 08:30-12:00,13:30-17:30
//! let wt = WorkingTime::new(&calendar, &shifts);
//! let start = DateTime::parse_from_rfc3339("2026-09-30T16:00:00+08:00").unwrap();
//! let due = wt.due(start, &Limit::parse("5wd")?)?;
//! // National Day 10-01..10-07 is off, Saturday 10-10 is a make-up working day.
//! assert_eq!(due.to_rfc3339(), "2026-10-13T16:00:00+08:00");
//! # Ok::<(), cityloop_calendar::CalendarError>(())
//! ```
//!
//! # Design decisions
//!
//! * **Pure.** No IO, no async, no global state, and the system clock is never
//!   read: the caller reads the holiday files and passes their text
//!   ([`HolidayCalendar::from_holiday_cn_json`]) and passes every instant in.
//! * **Half-open working periods.** A working day's hours are periods
//!   `[start, end)` ([`Shifts`]); 12:00 is not inside `08:30-12:00`. A start
//!   outside working time counts from the start of the next period, but a
//!   count that is used up exactly at a period's end is due at that end
//!   (17:30 the same day, not 08:30 the next working day).
//! * **Fixed +08:00.** China has one time zone and no daylight saving time,
//!   so all local reasoning uses the fixed offset +08:00 ([`china_offset`]).
//!   Inputs in any offset are converted first; results are always +08:00.
//! * **Unknown years are errors.** The holidays of a year are only known once
//!   the State Council publishes them. Any computation that needs a year that
//!   is not loaded fails with [`CalendarError::YearNotPublished`] instead of
//!   guessing with the normal week.
//! * **Bounded and fast.** Searches walk day by day, skipping whole working
//!   days by their length, and stop after [`MAX_SEARCH_DAYS`] days at most;
//!   `1000wd` or `10000wm` take microseconds.
//! * **Never panics.** Every malformed input (JSON, shift text, limit text,
//!   extreme instants) is reported as a [`CalendarError`] whose message names
//!   the offending part.

mod calendar;
mod error;
mod limit;
mod shifts;
mod working_time;

pub use calendar::{DayKind, HolidayCalendar, MAX_YEAR, MIN_YEAR};
pub use error::{CalendarError, MAX_QUOTED_CHARS};
pub use limit::{Limit, MAX_LIMIT_UNITS};
pub use shifts::{Period, Shifts};
pub use working_time::{CHINA_OFFSET_SECONDS, MAX_SEARCH_DAYS, WorkingTime, china_offset};
