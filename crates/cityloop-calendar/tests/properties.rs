//! Property tests over random starts in 2023-01-01..2026-09-30 on the real
//! 2023–2026 calendars, plus no-panic fuzzing of every parser and of `due`.

mod common;

use std::sync::OnceLock;

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, TimeZone};
use cityloop_calendar::{CalendarError, HolidayCalendar, Limit, Shifts, WorkingTime, china_offset};
use common::*;
use proptest::prelude::*;

fn calendar() -> &'static HolidayCalendar {
    static CAL: OnceLock<HolidayCalendar> = OnceLock::new();
    CAL.get_or_init(calendar_all)
}

fn shifts() -> &'static Shifts {
    static SHIFTS: OnceLock<Shifts> = OnceLock::new();
    SHIFTS.get_or_init(shanghai_shifts)
}

fn wt() -> WorkingTime<'static> {
    WorkingTime::new(calendar(), shifts())
}

/// Random instants from 2023-01-01T00:00+08:00 to 2026-09-30T23:59:59+08:00,
/// expressed in a random offset between -12:00 and +14:00 (quarter hours).
/// Half of them are minute-aligned so period boundaries are hit often.
fn start_instant() -> impl Strategy<Value = DateTime<FixedOffset>> {
    let first = china_offset()
        .with_ymd_and_hms(2023, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    let last = china_offset()
        .with_ymd_and_hms(2026, 9, 30, 23, 59, 59)
        .unwrap()
        .timestamp();
    (first..=last, any::<bool>(), -48i32..=56).prop_map(|(ts, align, quarter_hours)| {
        let ts = if align { ts - ts.rem_euclid(60) } else { ts };
        let offset = FixedOffset::east_opt(quarter_hours * 900).unwrap();
        DateTime::from_timestamp(ts, 0)
            .unwrap()
            .with_timezone(&offset)
    })
}

fn local(t: DateTime<FixedOffset>) -> NaiveDateTime {
    t.with_timezone(&china_offset()).naive_local()
}

/// Reference: step minute by minute (start must be minute-aligned).
fn naive_due_minutes(start: DateTime<FixedOffset>, n: i64) -> NaiveDateTime {
    let mut t = local(start);
    let mut counted = 0;
    loop {
        let working = shifts().contains(t.time()) && calendar().is_working_day(t.date()).unwrap();
        t += Duration::minutes(1);
        if working {
            counted += 1;
            if counted == n {
                return t;
            }
        }
    }
}

/// Where a working-minute due instant may lie: in `(start, end]` of a period
/// of a working day.
fn in_or_at_end_of_period(t: DateTime<FixedOffset>) -> bool {
    let l = local(t);
    calendar().is_working_day(l.date()).unwrap()
        && shifts()
            .periods()
            .iter()
            .any(|p| p.start() < l.time() && l.time() <= p.end())
}

fn at_period_end(t: DateTime<FixedOffset>) -> bool {
    let l = local(t);
    shifts().periods().iter().any(|p| p.end() == l.time())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// (a) Counting N working minutes and measuring them back gives N.
    #[test]
    fn working_minutes_round_trip(start in start_instant(), n in 1i64..=20_000) {
        let wt = wt();
        let due = wt.due(start, &Limit::WorkingMinutes(n)).unwrap();
        prop_assert_eq!(wt.working_minutes_between(start, due).unwrap(), n);
        prop_assert_eq!(wt.working_duration_between(start, due).unwrap(), Duration::minutes(n));
        prop_assert_eq!(due.offset().local_minus_utc(), 8 * 3600);
    }

    /// (a') Agreement with a minute-by-minute reference.
    #[test]
    fn working_minutes_match_naive_reference(start in start_instant(), n in 1i64..=1_500) {
        let start = start - Duration::seconds(start.timestamp().rem_euclid(60));
        let due = wt().due(start, &Limit::WorkingMinutes(n)).unwrap();
        prop_assert_eq!(local(due), naive_due_minutes(start, n));
    }

    /// (b) Additivity. For a >= 0 and b >= 1,
    /// due(due(s, a), b) == due(s, a + b) always holds: the first due instant
    /// is inside a period or at its end, and a positive count from a period
    /// end starts at the next period, exactly as the combined count does.
    /// For b == 0 the second step is next_working_instant, which moves a
    /// first due instant sitting at a period end (12:00, 17:30) forward; so
    /// due(d, 0) == d exactly when d is not at a period end.
    #[test]
    fn working_minutes_are_additive(start in start_instant(), a in 0i64..=10_000, b in 1i64..=10_000) {
        let wt = wt();
        let first = wt.due(start, &Limit::WorkingMinutes(a)).unwrap();
        let chained = wt.due(first, &Limit::WorkingMinutes(b)).unwrap();
        let combined = wt.due(start, &Limit::WorkingMinutes(a + b)).unwrap();
        prop_assert_eq!(chained, combined);

        let zero = wt.due(first, &Limit::WorkingMinutes(0)).unwrap();
        prop_assert_eq!(zero, wt.next_working_instant(first).unwrap());
        prop_assert_eq!(zero == first, !at_period_end(first) || a == 0);
    }

    /// (b') Working days are additive too (their due instant is always a
    /// working instant, never a period end).
    #[test]
    fn working_days_are_additive(start in start_instant(), a in 0i64..=27, b in 0i64..=27) {
        let wt = wt();
        let first = wt.due(start, &Limit::WorkingDays(a)).unwrap();
        prop_assert_eq!(
            wt.due(first, &Limit::WorkingDays(b)).unwrap(),
            wt.due(start, &Limit::WorkingDays(a + b)).unwrap()
        );
    }

    /// (c) Monotonicity: a longer limit is due strictly later, for every kind.
    #[test]
    fn due_is_strictly_monotonic(start in start_instant(), n1 in 1i64..=10_000, extra in 1i64..=5_000) {
        let wt = wt();
        let n2 = n1 + extra;
        let wm = |n| wt.due(start, &Limit::WorkingMinutes(n)).unwrap();
        prop_assert!(wm(n1) < wm(n2));
        // At most 55 working days, so starts up to 2026-09-30 stay within 2026
        // (62 working days follow 2026-09-30).
        let (d1, d2) = (n1 % 30 + 1, n1 % 30 + 1 + extra % 25 + 1);
        let wd = |n| wt.due(start, &Limit::WorkingDays(n)).unwrap();
        prop_assert!(wd(d1) < wd(d2));
        let nat = |n| wt.due(start, &Limit::Natural(Duration::minutes(n))).unwrap();
        prop_assert!(nat(n1) < nat(n2));
        prop_assert_eq!(nat(n1) - start, Duration::minutes(n1));
    }

    /// (d) A working limit is never due on a non-working day or outside
    /// working hours: working minutes end in (start, end] of a period of a
    /// working day, working days at a working instant on the expected count.
    #[test]
    fn working_due_instants_lie_on_working_days(start in start_instant(), n in 1i64..=20_000, days in 1i64..=55) {
        let wt = wt();
        let due = wt.due(start, &Limit::WorkingMinutes(n)).unwrap();
        prop_assert!(in_or_at_end_of_period(due), "{} wm from {} due {}", n, start, due);

        let due = wt.due(start, &Limit::WorkingDays(days)).unwrap();
        prop_assert!(wt.is_working_instant(due).unwrap(), "{} wd from {} due {}", days, start, due);
        let normalized = wt.next_working_instant(start).unwrap();
        prop_assert_eq!(local(due).time(), local(normalized).time());
        // Exactly `days` working days after the normalized start's date.
        let mut d = local(normalized).date();
        let mut count = 0;
        while d < local(due).date() {
            d = d.succ_opt().unwrap();
            if calendar().is_working_day(d).unwrap() {
                count += 1;
            }
        }
        prop_assert_eq!(count, days);
    }

    /// next_working_instant is the identity on working instants and
    /// otherwise jumps to a period start with no working time skipped.
    #[test]
    fn next_working_instant_skips_no_working_time(start in start_instant()) {
        let wt = wt();
        let next = wt.next_working_instant(start).unwrap();
        prop_assert!(wt.is_working_instant(next).unwrap());
        prop_assert!(next >= start);
        prop_assert_eq!(wt.working_duration_between(start, next).unwrap(), Duration::zero());
        if wt.is_working_instant(start).unwrap() {
            prop_assert_eq!(next, start);
        } else {
            let t = local(next).time();
            prop_assert!(shifts().periods().iter().any(|p| p.start() == t));
        }
    }

    /// Working time between instants is additive over a split point.
    #[test]
    fn working_duration_is_additive(a in start_instant(), b in start_instant(), c in start_instant()) {
        let mut v = [a, b, c];
        v.sort();
        let wt = wt();
        let whole = wt.working_duration_between(v[0], v[2]).unwrap();
        let parts = wt.working_duration_between(v[0], v[1]).unwrap()
            + wt.working_duration_between(v[1], v[2]).unwrap();
        prop_assert_eq!(whole, parts);
        prop_assert_eq!(wt.working_duration_between(v[2], v[0]).unwrap(), Duration::zero());
    }

    /// (e) Parsers never panic, and whatever they accept round-trips.
    #[test]
    fn limit_parse_never_panics(text in any::<String>()) {
        if let Ok(limit) = Limit::parse(&text) {
            prop_assert_eq!(Limit::parse(&limit.to_string()).unwrap(), limit);
        }
    }

    #[test]
    fn limit_parse_near_valid(n in "[-+0-9 ]{0,12}", unit in "(m|h|d|wm|wh|wd|w|x|WD| wd|)") {
        let text = format!("{n}{unit}");
        match Limit::parse(&text) {
            Ok(limit) => prop_assert_eq!(Limit::parse(&limit.to_string()).unwrap(), limit),
            Err(CalendarError::InvalidLimit { reason, .. }) => prop_assert!(!reason.is_empty()),
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn shifts_parse_never_panics(text in any::<String>()) {
        if let Ok(shifts) = Shifts::parse(&text) {
            prop_assert_eq!(Shifts::parse(&shifts.to_string()).unwrap(), shifts);
        }
    }

    #[test]
    fn shifts_parse_near_valid(text in "([0-2]?[0-9]:[0-6][0-9] ?[-–] ?[0-2]?[0-9]:[0-6][0-9],?){0,4}") {
        match Shifts::parse(&text) {
            Ok(shifts) => {
                prop_assert_eq!(Shifts::parse(&shifts.to_string()).unwrap(), shifts.clone());
                prop_assert!(shifts.minutes_per_day() > 0);
                for w in shifts.periods().windows(2) {
                    prop_assert!(w[0].end() <= w[1].start());
                }
            }
            Err(CalendarError::InvalidShifts { reason, .. }) => prop_assert!(!reason.is_empty()),
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn holiday_json_never_panics(text in any::<String>()) {
        let _ = HolidayCalendar::from_holiday_cn_json(&[&text]);
    }

    #[test]
    fn holiday_json_near_valid_never_panics(
        year in prop_oneof![Just("2026".to_string()), "-?[0-9]{1,12}", Just("\"2026\"".to_string())],
        days in prop::collection::vec(("[0-9]{4}-[0-9]{2}-[0-9]{2}|[ -~]{0,12}", any::<bool>()), 0..6),
    ) {
        let days: Vec<String> = days
            .iter()
            .map(|(d, off)| format!(r#"{{"name": "节", "date": {}, "isOffDay": {off}}}"#, serde_json_string(d)))
            .collect();
        let text = format!(r#"{{"year": {year}, "days": [{}]}}"#, days.join(","));
        if let Ok(cal) = HolidayCalendar::from_holiday_cn_json(&[&text, Y2026]) {
            prop_assert!(cal.years().contains(&2026));
        }
    }

    /// `due` never panics, whatever the instant and the limit value.
    #[test]
    fn due_never_panics(
        ts in prop_oneof![
            DateTime::<chrono::Utc>::MIN_UTC.timestamp()..=DateTime::<chrono::Utc>::MAX_UTC.timestamp(),
            start_instant().prop_map(|t| t.timestamp()),
            Just(DateTime::<chrono::Utc>::MIN_UTC.timestamp()),
            Just(DateTime::<chrono::Utc>::MAX_UTC.timestamp()),
        ],
        offset in -86_399i32..=86_399,
        kind in 0u8..3,
        n in any::<i64>(),
    ) {
        let Some(start) = DateTime::from_timestamp(ts, 0) else { return Ok(()); };
        let Some(offset) = FixedOffset::east_opt(offset) else { return Ok(()); };
        let start = start.with_timezone(&offset);
        let limit = match kind {
            0 => Limit::Natural(Duration::try_milliseconds(n).unwrap_or(Duration::MAX)),
            1 => Limit::WorkingMinutes(n),
            _ => Limit::WorkingDays(n),
        };
        let wt = wt();
        let _ = wt.due(start, &limit);
        let _ = wt.next_working_instant(start);
        let _ = wt.is_working_instant(start);
        if let Some(end) = start.checked_add_signed(Duration::days(3)) {
            let _ = wt.working_minutes_between(start, end);
        }
        let _ = wt.working_minutes_between(
            DateTime::<chrono::Utc>::MIN_UTC.fixed_offset(),
            start,
        );
    }
}

fn serde_json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}
