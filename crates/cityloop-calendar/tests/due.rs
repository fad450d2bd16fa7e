//! Worked examples of due instants on the real 2023–2026 official calendars.
//! Each expectation states the calendar facts it relies on and checks them
//! against the data first, so a wrong transcription of the data fails here.

mod common;

use std::time::Instant;

use chrono::Duration;
use cityloop_calendar::{CalendarError, DayKind, HolidayCalendar, Limit, Shifts, WorkingTime};
use common::*;

fn holiday(name: &str) -> DayKind {
    DayKind::Holiday { name: name.into() }
}

fn make_up(name: &str) -> DayKind {
    DayKind::MakeUpWorkday { name: name.into() }
}

fn due(wt: &WorkingTime<'_>, start: &str, limit: &str) -> Result<String, CalendarError> {
    let limit = Limit::parse(limit).expect("valid limit");
    wt.due(at(start), &limit).map(|d| d.to_rfc3339())
}

#[test]
fn acceptance_national_day_2026_five_working_days() {
    let cal = calendar_2026();
    // The facts the expectation rests on, as the 2026 data states them.
    assert_eq!(cal.day_kind(date(2026, 9, 30)).unwrap(), DayKind::Workday);
    for day in 1..=7 {
        assert_eq!(
            cal.day_kind(date(2026, 10, day)).unwrap(),
            holiday("国庆节"),
            "2026-10-{day:02} should be a National Day holiday"
        );
    }
    assert_eq!(cal.day_kind(date(2026, 10, 8)).unwrap(), DayKind::Workday); // Thu
    assert_eq!(cal.day_kind(date(2026, 10, 9)).unwrap(), DayKind::Workday); // Fri
    assert_eq!(cal.day_kind(date(2026, 10, 10)).unwrap(), make_up("国庆节")); // Sat
    assert_eq!(cal.day_kind(date(2026, 10, 11)).unwrap(), DayKind::Weekend); // Sun
    assert_eq!(cal.day_kind(date(2026, 10, 12)).unwrap(), DayKind::Workday); // Mon
    assert_eq!(cal.day_kind(date(2026, 10, 13)).unwrap(), DayKind::Workday); // Tue

    let shifts = shanghai_shifts();
    let wt = WorkingTime::new(&cal, &shifts);
    // Working days after 09-30: 10-08 (1), 10-09 (2), 10-10 make-up (3),
    // 10-12 (4), 10-13 (5); same time of day 16:00.
    assert_eq!(
        due(&wt, "2026-09-30T16:00:00+08:00", "5wd").unwrap(),
        "2026-10-13T16:00:00+08:00"
    );
    assert_eq!(
        due(&wt, "2026-09-30T16:00:00+08:00", "3wd").unwrap(),
        "2026-10-10T16:00:00+08:00"
    );
}

#[test]
fn acceptance_national_day_2026_four_working_hours() {
    let cal = calendar_2026();
    let shifts = shanghai_shifts();
    let wt = WorkingTime::new(&cal, &shifts);
    // 1.5 h on 09-30 (16:00-17:30), holidays 10-01..10-07, then 2.5 h from
    // 08:30 on Thursday 10-08.
    assert_eq!(
        due(&wt, "2026-09-30T16:00:00+08:00", "4wh").unwrap(),
        "2026-10-08T11:00:00+08:00"
    );
    assert_eq!(
        wt.working_minutes_between(
            at("2026-09-30T16:00:00+08:00"),
            at("2026-10-08T11:00:00+08:00")
        )
        .unwrap(),
        240
    );
}

#[test]
fn spring_festival_2026() {
    let cal = calendar_2026();
    assert_eq!(cal.day_kind(date(2026, 2, 13)).unwrap(), DayKind::Workday); // Fri
    assert_eq!(cal.day_kind(date(2026, 2, 14)).unwrap(), make_up("春节")); // Sat
    for day in 15..=23 {
        assert_eq!(
            cal.day_kind(date(2026, 2, day)).unwrap(),
            holiday("春节"),
            "2026-02-{day} should be a Spring Festival holiday"
        );
    }
    assert_eq!(cal.day_kind(date(2026, 2, 24)).unwrap(), DayKind::Workday); // Tue
    assert_eq!(cal.day_kind(date(2026, 2, 27)).unwrap(), DayKind::Workday); // Fri
    assert_eq!(cal.day_kind(date(2026, 2, 28)).unwrap(), make_up("春节")); // Sat
    assert_eq!(cal.day_kind(date(2026, 3, 1)).unwrap(), DayKind::Weekend); // Sun

    let shifts = shanghai_shifts();
    let wt = WorkingTime::new(&cal, &shifts);
    let start = "2026-02-13T16:00:00+08:00";
    // 1: Sat 02-14 (make-up), 2: Tue 02-24 (after the 9-day holiday), ...,
    // 5: Fri 02-27, 6: Sat 02-28 (make-up), 7: Mon 03-02.
    assert_eq!(due(&wt, start, "1wd").unwrap(), "2026-02-14T16:00:00+08:00");
    assert_eq!(due(&wt, start, "2wd").unwrap(), "2026-02-24T16:00:00+08:00");
    assert_eq!(due(&wt, start, "5wd").unwrap(), "2026-02-27T16:00:00+08:00");
    assert_eq!(due(&wt, start, "6wd").unwrap(), "2026-02-28T16:00:00+08:00");
    assert_eq!(due(&wt, start, "7wd").unwrap(), "2026-03-02T16:00:00+08:00");
    // 30 min left on Friday, 30 min on the make-up Saturday.
    assert_eq!(
        due(&wt, "2026-02-13T17:00:00+08:00", "60wm").unwrap(),
        "2026-02-14T09:00:00+08:00"
    );
    // 30 min left on the make-up Saturday, then the holiday, 30 min on 02-24.
    assert_eq!(
        due(&wt, "2026-02-14T17:00:00+08:00", "1wh").unwrap(),
        "2026-02-24T09:00:00+08:00"
    );
    // Whole working days 02-13, 02-14, 02-24.
    assert_eq!(
        wt.working_minutes_between(
            at("2026-02-13T08:30:00+08:00"),
            at("2026-02-25T08:30:00+08:00")
        )
        .unwrap(),
        3 * 450
    );
}

#[test]
fn start_at_lunch_counts_from_afternoon_start() {
    let cal = calendar_2026();
    let shifts = shanghai_shifts();
    let wt = WorkingTime::new(&cal, &shifts);
    assert_eq!(
        wt.next_working_instant(at("2026-09-30T12:15:00+08:00"))
            .unwrap()
            .to_rfc3339(),
        "2026-09-30T13:30:00+08:00"
    );
    assert_eq!(
        due(&wt, "2026-09-30T12:15:00+08:00", "30wm").unwrap(),
        "2026-09-30T14:00:00+08:00"
    );
    // Working days keep the normalized time of day, 13:30.
    assert_eq!(
        due(&wt, "2026-09-30T12:15:00+08:00", "1wd").unwrap(),
        "2026-10-08T13:30:00+08:00"
    );
}

#[test]
fn start_exactly_at_end_of_day_counts_from_next_working_morning() {
    let cal = calendar_2026();
    let shifts = shanghai_shifts();
    let wt = WorkingTime::new(&cal, &shifts);
    assert!(
        !wt.is_working_instant(at("2026-09-29T17:30:00+08:00"))
            .unwrap()
    );
    assert!(
        wt.is_working_instant(at("2026-09-29T17:29:59+08:00"))
            .unwrap()
    );
    assert_eq!(
        due(&wt, "2026-09-29T17:30:00+08:00", "30wm").unwrap(),
        "2026-09-30T09:00:00+08:00"
    );
    // From 09-30 17:30 the next working morning is after National Day.
    assert_eq!(
        due(&wt, "2026-09-30T17:30:00+08:00", "30wm").unwrap(),
        "2026-10-08T09:00:00+08:00"
    );
    assert_eq!(
        due(&wt, "2026-09-29T17:30:00+08:00", "1wd").unwrap(),
        "2026-10-08T08:30:00+08:00"
    );
}

#[test]
fn start_on_weekend_and_on_make_up_sunday() {
    let cal = calendar_2026();
    assert_eq!(cal.day_kind(date(2026, 9, 12)).unwrap(), DayKind::Weekend); // Sat
    assert_eq!(cal.day_kind(date(2026, 9, 19)).unwrap(), DayKind::Weekend); // Sat
    assert_eq!(cal.day_kind(date(2026, 9, 20)).unwrap(), make_up("国庆节")); // Sun
    let shifts = shanghai_shifts();
    let wt = WorkingTime::new(&cal, &shifts);
    assert_eq!(
        due(&wt, "2026-09-12T10:00:00+08:00", "60wm").unwrap(),
        "2026-09-14T09:30:00+08:00"
    );
    // Normalized to Monday 09-14 08:30; one working day later is Tuesday.
    assert_eq!(
        due(&wt, "2026-09-12T10:00:00+08:00", "1wd").unwrap(),
        "2026-09-15T08:30:00+08:00"
    );
    // The Sunday after is a make-up working day.
    assert_eq!(
        due(&wt, "2026-09-19T10:00:00+08:00", "60wm").unwrap(),
        "2026-09-20T09:30:00+08:00"
    );
}

#[test]
fn count_ending_exactly_at_a_period_end_is_due_at_that_end() {
    let cal = calendar_2026();
    let shifts = shanghai_shifts();
    let wt = WorkingTime::new(&cal, &shifts);
    // 08:30 + 3.5 h fills the morning exactly.
    assert_eq!(
        due(&wt, "2026-09-30T08:30:00+08:00", "210wm").unwrap(),
        "2026-09-30T12:00:00+08:00"
    );
    assert_eq!(
        due(&wt, "2026-09-30T08:30:00+08:00", "211wm").unwrap(),
        "2026-09-30T13:31:00+08:00"
    );
    // 16:00 + 1.5 h is 17:30 the same day, not 10-08 08:30.
    assert_eq!(
        due(&wt, "2026-09-30T16:00:00+08:00", "90wm").unwrap(),
        "2026-09-30T17:30:00+08:00"
    );
    // A whole working day from the morning start ends at 17:30 that day.
    assert_eq!(
        due(&wt, "2026-09-30T08:30:00+08:00", "450wm").unwrap(),
        "2026-09-30T17:30:00+08:00"
    );
    assert_eq!(
        due(&wt, "2026-09-30T08:30:00+08:00", "451wm").unwrap(),
        "2026-10-08T08:31:00+08:00"
    );
}

#[test]
fn natural_limits_ignore_the_calendar() {
    let cal = calendar_2026();
    let shifts = shanghai_shifts();
    let wt = WorkingTime::new(&cal, &shifts);
    // Across midnight into a holiday.
    assert_eq!(
        due(&wt, "2026-09-30T23:00:00+08:00", "2h").unwrap(),
        "2026-10-01T01:00:00+08:00"
    );
    assert_eq!(
        due(&wt, "2026-09-30T16:00:00+08:00", "3d").unwrap(),
        "2026-10-03T16:00:00+08:00"
    );
    // Natural limits need no calendar, so 2027 is fine.
    assert_eq!(
        due(&wt, "2026-12-31T12:00:00+08:00", "1d").unwrap(),
        "2027-01-01T12:00:00+08:00"
    );
    // Input in UTC, output in +08:00.
    assert_eq!(
        due(&wt, "2026-09-30T15:30:00Z", "45m").unwrap(),
        "2026-10-01T00:15:00+08:00"
    );
}

#[test]
fn a_count_reaching_an_unpublished_year_is_an_error() {
    let cal = calendar_2026();
    let shifts = shanghai_shifts();
    let wt = WorkingTime::new(&cal, &shifts);
    let err = due(&wt, "2026-12-30T10:00:00+08:00", "5wd").unwrap_err();
    assert_eq!(err, CalendarError::YearNotPublished { year: 2027 });
    assert_eq!(
        err.to_string(),
        "no official calendar loaded for 2027: load data/holiday-cn/2027.json when the State Council publishes it"
    );
    // Ending exactly at 17:30 on 12-31 needs nothing from 2027 ...
    assert_eq!(
        due(&wt, "2026-12-31T17:00:00+08:00", "30wm").unwrap(),
        "2026-12-31T17:30:00+08:00"
    );
    // ... one more minute does.
    assert_eq!(
        due(&wt, "2026-12-31T17:00:00+08:00", "31wm"),
        Err(CalendarError::YearNotPublished { year: 2027 })
    );
    // Starting in an unloaded year.
    assert_eq!(
        due(&wt, "2025-06-03T10:00:00+08:00", "1wm"),
        Err(CalendarError::YearNotPublished { year: 2025 })
    );
    assert_eq!(
        wt.next_working_instant(at("2026-12-31T18:00:00+08:00")),
        Err(CalendarError::YearNotPublished { year: 2027 })
    );
    assert_eq!(
        cal.is_working_day(date(2027, 1, 4)),
        Err(CalendarError::YearNotPublished { year: 2027 })
    );
}

#[test]
fn start_given_in_another_offset_gives_the_same_instant_in_plus_eight() {
    let cal = calendar_2026();
    let shifts = shanghai_shifts();
    let wt = WorkingTime::new(&cal, &shifts);
    for start in [
        "2026-09-30T08:00:00Z",
        "2026-09-30T16:00:00+08:00",
        "2026-09-30T03:00:00-05:00",
    ] {
        let limit = Limit::parse("5wd").unwrap();
        let d = wt.due(at(start), &limit).unwrap();
        assert_eq!(d.to_rfc3339(), "2026-10-13T16:00:00+08:00", "from {start}");
        assert_eq!(d.to_string(), "2026-10-13 16:00:00 +08:00");
        assert_eq!(d.offset().local_minus_utc(), 8 * 3600);
        assert_eq!(
            due(&wt, start, "4wh").unwrap(),
            "2026-10-08T11:00:00+08:00",
            "from {start}"
        );
    }
    // A UTC instant whose UTC date differs from its Chinese date:
    // 2026-10-07T23:00Z is 10-08 07:00 in China, before the first period.
    assert_eq!(
        wt.next_working_instant(at("2026-10-07T23:00:00Z"))
            .unwrap()
            .to_rfc3339(),
        "2026-10-08T08:30:00+08:00"
    );
}

#[test]
fn sub_minute_precision_is_kept_and_minutes_are_floored() {
    let cal = calendar_2026();
    let shifts = shanghai_shifts();
    let wt = WorkingTime::new(&cal, &shifts);
    assert_eq!(
        due(&wt, "2026-09-30T09:00:30.500+08:00", "10wm").unwrap(),
        "2026-09-30T09:10:30.500+08:00"
    );
    let (a, b) = (
        at("2026-09-30T09:00:00+08:00"),
        at("2026-09-30T09:10:59+08:00"),
    );
    assert_eq!(wt.working_minutes_between(a, b).unwrap(), 10);
    assert_eq!(
        wt.working_duration_between(a, b).unwrap(),
        Duration::seconds(10 * 60 + 59)
    );
    assert_eq!(wt.working_minutes_between(b, a).unwrap(), 0);
    assert_eq!(wt.working_minutes_between(a, a).unwrap(), 0);
}

#[test]
fn a_whole_year_has_the_published_number_of_working_days() {
    let cal = calendar_2026();
    let shifts = shanghai_shifts();
    let wt = WorkingTime::new(&cal, &shifts);
    // 2026 has 248 working days (365 days - 104 weekend days - 19 listed
    // holidays on weekdays + 6 make-up weekend days), counted independently
    // from the JSON. The end bound 2027-01-01T00:00 needs nothing from 2027.
    let minutes = wt
        .working_minutes_between(
            at("2026-01-01T00:00:00+08:00"),
            at("2027-01-01T00:00:00+08:00"),
        )
        .unwrap();
    assert_eq!(minutes, 248 * 450);
    let by_kind = (0..365)
        .map(|i| date(2026, 1, 1) + Duration::days(i))
        .filter(|d| cal.day_kind(*d).unwrap().is_working())
        .count();
    assert_eq!(by_kind, 248);
}

#[test]
fn long_limits_are_fast_and_agree_with_day_counting() {
    let cal = calendar_all();
    let shifts = shanghai_shifts();
    let wt = WorkingTime::new(&cal, &shifts);
    let start = at("2023-01-03T09:00:00+08:00");
    // 900 working days by naive counting over day kinds.
    let mut day = date(2023, 1, 3);
    let mut counted = 0;
    while counted < 900 {
        day = day.succ_opt().unwrap();
        if cal.day_kind(day).unwrap().is_working() {
            counted += 1;
        }
    }
    let expected = day.and_hms_opt(9, 0, 0).unwrap();
    let got = wt.due(start, &Limit::WorkingDays(900)).unwrap();
    assert_eq!(got.naive_local(), expected);

    // 1000 working days run past 2026 (2023-2026 have 249+251+248+248 = 996).
    assert_eq!(
        wt.due(start, &Limit::WorkingDays(1000)),
        Err(CalendarError::YearNotPublished { year: 2027 })
    );

    let t0 = Instant::now();
    for _ in 0..100 {
        wt.due(start, &Limit::WorkingDays(900)).unwrap();
        wt.due(start, &Limit::WorkingMinutes(10_000)).unwrap();
        wt.due(start, &Limit::WorkingMinutes(300_000)).unwrap();
        let _ = wt.due(start, &Limit::WorkingMinutes(6_000_000));
    }
    let elapsed = t0.elapsed();
    // A few milliseconds in practice; a minute-by-minute loop would take
    // far longer than this generous bound.
    assert!(
        elapsed.as_millis() < 3_000,
        "400 long due computations took {elapsed:?}"
    );
}

#[test]
fn zero_and_negative_hand_built_limits() {
    let cal = calendar_2026();
    let shifts = shanghai_shifts();
    let wt = WorkingTime::new(&cal, &shifts);
    let lunch = at("2026-09-30T12:15:00+08:00");
    assert_eq!(
        wt.due(lunch, &Limit::WorkingMinutes(0))
            .unwrap()
            .to_rfc3339(),
        "2026-09-30T13:30:00+08:00"
    );
    assert_eq!(
        wt.due(lunch, &Limit::WorkingDays(0)).unwrap().to_rfc3339(),
        "2026-09-30T13:30:00+08:00"
    );
    assert_eq!(
        wt.due(lunch, &Limit::Natural(Duration::zero())).unwrap(),
        lunch
    );
    for limit in [
        Limit::WorkingMinutes(-1),
        Limit::WorkingDays(-1),
        Limit::Natural(Duration::minutes(-1)),
    ] {
        let err = wt.due(lunch, &limit).unwrap_err();
        assert!(
            err.to_string().contains("cannot be negative"),
            "{limit:?}: {err}"
        );
    }
}

#[test]
fn custom_shifts_with_touching_periods() {
    let cal = calendar_2026();
    let shifts = Shifts::parse("09:00-12:00,12:00-13:00").unwrap();
    let wt = WorkingTime::new(&cal, &shifts);
    assert_eq!(
        due(&wt, "2026-09-30T11:00:00+08:00", "90wm").unwrap(),
        "2026-09-30T12:30:00+08:00"
    );
    // 4 h per day: 1 h left on 09-30, 3 h on 10-08.
    assert_eq!(
        due(&wt, "2026-09-30T12:00:00+08:00", "4wh").unwrap(),
        "2026-10-08T12:00:00+08:00"
    );
}

#[test]
fn year_coverage_is_the_files_year() {
    let cal = calendar_all();
    assert_eq!(cal.years(), vec![2023, 2024, 2025, 2026]);
    // The 2023 file lists 2022-12-31, but 2022 is not covered.
    assert_eq!(
        cal.day_kind(date(2022, 12, 31)),
        Err(CalendarError::YearNotPublished { year: 2022 })
    );
    assert_eq!(cal.day_kind(date(2023, 1, 2)).unwrap(), holiday("元旦"));
    let err = HolidayCalendar::from_holiday_cn_json(&[Y2026, Y2025, Y2026]).unwrap_err();
    assert_eq!(
        err,
        CalendarError::DuplicateYear {
            year: 2026,
            file: "input #3".into()
        }
    );
}
