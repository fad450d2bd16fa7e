//! Working-time arithmetic: due instants, working time between instants and
//! the next working instant.
//!
//! [`WorkingTime`] combines a [`HolidayCalendar`] (which days are working
//! days) with [`Shifts`] (which hours of a working day are working time). A
//! *working instant* is an instant inside a working period `[start, end)` of
//! a working day, in China Standard Time (+08:00).
//!
//! All computations convert their inputs to +08:00 first and return +08:00
//! instants. Sub-second precision of inputs is kept (a start at
//! `09:00:30.5` plus `10wm` is due at `09:10:30.5`).
//!
//! Each computation walks forward one day at a time (whole days are skipped
//! by their length, never minute by minute), so its cost is proportional to
//! the number of calendar days spanned. Forward searches (`due`,
//! `next_working_instant`) give up after [`MAX_SEARCH_DAYS`] days;
//! `working_duration_between` is bounded by its end instant. A walk
//! that reaches a year whose calendar is not loaded stops with
//! [`CalendarError::YearNotPublished`]. A day whose relevant hours contain no
//! working period is skipped without consulting the calendar: a start at
//! 2026-12-31 18:00 needs the 2027 calendar, but 2026-12-31 17:00 plus `30wm`
//! (due 17:30 the same day) does not.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::calendar::HolidayCalendar;
use crate::error::{CalendarError, excerpt};
use crate::limit::Limit;
use crate::shifts::Shifts;

/// The UTC offset of China Standard Time in seconds (+08:00; China has no
/// daylight saving time).
pub const CHINA_OFFSET_SECONDS: i32 = 8 * 3600;

/// How many calendar days one computation may step through before giving up
/// with [`CalendarError::SearchLimitExceeded`] (about 100 years). In practice
/// a walk stops much earlier at the first year that is not loaded.
pub const MAX_SEARCH_DAYS: u32 = 36_600;

/// China Standard Time, UTC+08:00, evaluated at compile time.
const CHINA: FixedOffset = match FixedOffset::east_opt(CHINA_OFFSET_SECONDS) {
    Some(offset) => offset,
    None => panic!("+08:00 is a valid UTC offset"),
};

/// China Standard Time, UTC+08:00: the offset of every instant this crate
/// returns.
pub fn china_offset() -> FixedOffset {
    CHINA
}

/// Working-time arithmetic over a borrowed calendar and borrowed shifts.
///
/// The struct borrows rather than owns so that one loaded calendar (a few
/// hundred entries) can serve any number of shift configurations without
/// cloning; it is `Copy` and costs nothing to construct per request. Owners
/// keep the [`HolidayCalendar`] and [`Shifts`] (e.g. in an `Arc`) and create a
/// `WorkingTime` where needed.
#[derive(Debug, Clone, Copy)]
pub struct WorkingTime<'a> {
    calendar: &'a HolidayCalendar,
    shifts: &'a Shifts,
}

impl<'a> WorkingTime<'a> {
    /// Combines a calendar and daily shifts.
    pub fn new(calendar: &'a HolidayCalendar, shifts: &'a Shifts) -> Self {
        WorkingTime { calendar, shifts }
    }

    /// The calendar in use.
    pub fn calendar(&self) -> &'a HolidayCalendar {
        self.calendar
    }

    /// The shifts in use.
    pub fn shifts(&self) -> &'a Shifts {
        self.shifts
    }

    /// The due instant of `limit` counted from `start`, in +08:00.
    ///
    /// * [`Limit::Natural`]: `start + duration`, ignoring the calendar.
    /// * [`Limit::WorkingMinutes`]: the minutes are counted only inside
    ///   working periods of working days, starting at
    ///   [`next_working_instant(start)`](Self::next_working_instant). A count
    ///   that is used up exactly at the end of a period is due at that period
    ///   end (e.g. 12:00 or 17:30), not at the start of the next period.
    /// * [`Limit::WorkingDays`]: `start` is moved to the next working instant
    ///   `s`; the due instant is the time of day of `s` on the N-th working
    ///   day after the date of `s`.
    ///
    /// A zero limit (only constructible by hand) is due at `start` for
    /// natural limits and at the next working instant for working limits.
    ///
    /// Errors: [`CalendarError::YearNotPublished`] when the count needs a
    /// year that is not loaded; [`CalendarError::InvalidLimit`] for a
    /// negative limit; [`CalendarError::OutOfRange`] or
    /// [`CalendarError::SearchLimitExceeded`] for absurdly long limits.
    pub fn due(
        &self,
        start: DateTime<FixedOffset>,
        limit: &Limit,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        let negative = || CalendarError::InvalidLimit {
            text: excerpt(&limit.to_string()),
            reason: "a time limit cannot be negative".into(),
        };
        match *limit {
            Limit::Natural(d) => {
                if d < Duration::zero() {
                    return Err(negative());
                }
                let utc = start
                    .naive_utc()
                    .checked_add_signed(d)
                    .ok_or_else(|| out_of_range(format!("{start} plus {limit}")))?;
                from_utc(utc)
            }
            Limit::WorkingMinutes(m) => {
                if m < 0 {
                    return Err(negative());
                }
                let remaining = Duration::try_minutes(m)
                    .ok_or_else(|| out_of_range(format!("a limit of {limit}")))?;
                let due = Walk::new(self).add_working(to_local(start)?, remaining)?;
                from_local(due)
            }
            Limit::WorkingDays(n) => {
                if n < 0 {
                    return Err(negative());
                }
                let due = Walk::new(self).add_working_days(to_local(start)?, n)?;
                from_local(due)
            }
        }
    }

    /// `t` itself (converted to +08:00) if it lies inside a working period of
    /// a working day; otherwise the start of the next working period.
    pub fn next_working_instant(
        &self,
        t: DateTime<FixedOffset>,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        let local = to_local(t)?;
        let (date, time, _) = Walk::new(self).normalize(local.date(), local.time())?;
        from_local(date.and_time(time))
    }

    /// Whether `t` lies inside a working period of a working day. Needs the
    /// calendar only when `t`'s time of day is inside a period.
    pub fn is_working_instant(&self, t: DateTime<FixedOffset>) -> Result<bool, CalendarError> {
        let local = to_local(t)?;
        if !self.shifts.contains(local.time()) {
            return Ok(false);
        }
        self.calendar.is_working_day(local.date())
    }

    /// The exact working time in `[a, b)`; zero when `b <= a`.
    ///
    /// Only days that `[a, b)` overlaps inside working hours need their year
    /// loaded; otherwise [`CalendarError::YearNotPublished`].
    pub fn working_duration_between(
        &self,
        a: DateTime<FixedOffset>,
        b: DateTime<FixedOffset>,
    ) -> Result<Duration, CalendarError> {
        if b <= a {
            return Ok(Duration::zero());
        }
        let (la, lb) = (to_local(a)?, to_local(b)?);
        let mut total = Duration::zero();
        let mut date = la.date();
        loop {
            let lo = if date == la.date() {
                la.time()
            } else {
                NaiveTime::MIN
            };
            let hi = (date == lb.date()).then(|| lb.time());
            let in_window = self
                .shifts
                .periods()
                .iter()
                .map(|p| {
                    let s = p.start().max(lo);
                    let e = hi.map_or(p.end(), |h| p.end().min(h));
                    if e > s { e - s } else { Duration::zero() }
                })
                .fold(Duration::zero(), |acc, d| acc + d);
            if in_window > Duration::zero() && self.calendar.is_working_day(date)? {
                total += in_window;
            }
            if date >= lb.date() {
                return Ok(total);
            }
            date = date
                .succ_opt()
                .ok_or_else(|| out_of_range(format!("the day after {date}")))?;
        }
    }

    /// Working minutes in `[a, b)`, rounded down to whole minutes (0 when
    /// `b <= a`). See [`WorkingTime::working_duration_between`] for the exact
    /// duration.
    pub fn working_minutes_between(
        &self,
        a: DateTime<FixedOffset>,
        b: DateTime<FixedOffset>,
    ) -> Result<i64, CalendarError> {
        Ok(self.working_duration_between(a, b)?.num_minutes())
    }
}

/// One bounded forward walk through the calendar.
struct Walk<'w, 'a> {
    wt: &'w WorkingTime<'a>,
    steps: u32,
}

impl<'w, 'a> Walk<'w, 'a> {
    fn new(wt: &'w WorkingTime<'a>) -> Self {
        Walk { wt, steps: 0 }
    }

    fn next_date(&mut self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        self.steps += 1;
        if self.steps > MAX_SEARCH_DAYS {
            return Err(CalendarError::SearchLimitExceeded {
                days: MAX_SEARCH_DAYS,
            });
        }
        date.succ_opt()
            .ok_or_else(|| out_of_range(format!("the day after {date}")))
    }

    fn next_working_day(&mut self, mut date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        loop {
            date = self.next_date(date)?;
            if self.wt.calendar.is_working_day(date)? {
                return Ok(date);
            }
        }
    }

    /// The first working instant at or after `date` `time`, with the index of
    /// the period containing it.
    fn normalize(
        &mut self,
        mut date: NaiveDate,
        mut time: NaiveTime,
    ) -> Result<(NaiveDate, NaiveTime, usize), CalendarError> {
        let periods = self.wt.shifts.periods();
        loop {
            if let Some(i) = periods.iter().position(|p| time < p.end())
                && self.wt.calendar.is_working_day(date)?
            {
                return Ok((date, time.max(periods[i].start()), i));
            }
            date = self.next_date(date)?;
            time = NaiveTime::MIN;
        }
    }

    fn add_working(
        &mut self,
        start: NaiveDateTime,
        mut remaining: Duration,
    ) -> Result<NaiveDateTime, CalendarError> {
        let periods = self.wt.shifts.periods();
        let per_day = self.wt.shifts.per_day();
        let (mut date, mut time, mut first) = self.normalize(start.date(), start.time())?;
        loop {
            for p in &periods[first..] {
                let from = time.max(p.start());
                let available = p.end() - from;
                if remaining <= available {
                    return date
                        .and_time(from)
                        .checked_add_signed(remaining)
                        .ok_or_else(|| out_of_range(format!("{date} {from} plus {remaining}")));
                }
                remaining -= available;
            }
            date = self.next_working_day(date)?;
            while remaining > per_day {
                remaining -= per_day;
                date = self.next_working_day(date)?;
            }
            first = 0;
            time = NaiveTime::MIN;
        }
    }

    fn add_working_days(
        &mut self,
        start: NaiveDateTime,
        n: i64,
    ) -> Result<NaiveDateTime, CalendarError> {
        let (mut date, time, _) = self.normalize(start.date(), start.time())?;
        for _ in 0..n {
            date = self.next_working_day(date)?;
        }
        Ok(date.and_time(time))
    }
}

fn out_of_range(what: String) -> CalendarError {
    CalendarError::OutOfRange { what }
}

/// `t` as a local +08:00 date-time. A leap second (`:60`) is read as the
/// last nanosecond of the preceding second.
fn to_local(t: DateTime<FixedOffset>) -> Result<NaiveDateTime, CalendarError> {
    let local = t
        .naive_utc()
        .checked_add_signed(Duration::seconds(i64::from(CHINA_OFFSET_SECONDS)))
        .ok_or_else(|| out_of_range(format!("{} in China Standard Time", t.naive_utc())))?;
    Ok(if local.nanosecond() >= 1_000_000_000 {
        local.with_nanosecond(999_999_999).unwrap_or(local)
    } else {
        local
    })
}

/// A local +08:00 date-time as an instant.
fn from_local(local: NaiveDateTime) -> Result<DateTime<FixedOffset>, CalendarError> {
    let utc = local
        .checked_sub_signed(Duration::seconds(i64::from(CHINA_OFFSET_SECONDS)))
        .ok_or_else(|| out_of_range(format!("{local} (+08:00)")))?;
    Ok(DateTime::from_naive_utc_and_offset(utc, china_offset()))
}

/// A UTC date-time as a +08:00 instant, checking that its local form exists.
fn from_utc(utc: NaiveDateTime) -> Result<DateTime<FixedOffset>, CalendarError> {
    utc.checked_add_signed(Duration::seconds(i64::from(CHINA_OFFSET_SECONDS)))
        .ok_or_else(|| out_of_range(format!("{utc} UTC in China Standard Time")))?;
    Ok(DateTime::from_naive_utc_and_offset(utc, china_offset()))
}
