//! SLA clocks on the real 2026 calendar with Shanghai office hours
//! (08:30–12:00, 13:30–17:30, 450 working minutes a day). National Day
//! 2026-10-01..07 is off; Saturday 2026-10-10 is a make-up working day.

mod common;

use cityloop_calendar::Limit;
use cityloop_workflow::{
    Channel, Command, Light, Stage, StageClock, TimerKind, on_timer, sla::add_working_time, timers,
};
use common::*;

/// A case whose first dispatch is at `dispatched_at`, signed right after.
fn dispatched<'f>(fixture: &'f Fixture, dispatched_at: &str) -> Case<'f> {
    let mut case = fixture.open(Channel::Inspector, None, "2026-09-30T15:00:00+08:00");
    case.ok(&operator(), Command::Accept, "2026-09-30T15:10:00+08:00");
    case.ok(
        &operator(),
        Command::Register { criteria_met: true },
        "2026-09-30T15:20:00+08:00",
    );
    case.ok(
        &operator(),
        Command::Dispatch {
            units: vec![dept("310107-cgzf")],
            lead: dept("310107-cgzf"),
        },
        dispatched_at,
    );
    case
}

fn handling(case: &Case<'_>) -> StageClock {
    case.state
        .sla
        .clock(Stage::Handling)
        .expect("handling clock")
        .clone()
}

#[test]
fn five_working_days_over_national_day() {
    let fixture = Fixture::new(full_policy("5wd"));
    let case = dispatched(&fixture, "2026-09-30T16:00:00+08:00");
    let clock = handling(&case);
    assert_eq!(clock.limit, Limit::WorkingDays(5));
    assert_eq!(clock.started_at.to_rfc3339(), "2026-09-30T16:00:00+08:00");
    assert_eq!(clock.due_at.to_rfc3339(), "2026-10-13T16:00:00+08:00");
    // 80 % of 5 × 450 minutes = 1800 minutes: 90 on 09-30, 450 each on
    // 10-08, 10-09, 10-10, and 360 on 10-12 (08:30–12:00, 13:30–16:00).
    assert_eq!(clock.warn_at.to_rfc3339(), "2026-10-12T16:00:00+08:00");
    let wt = fixture.working();
    assert_eq!(clock.allowed(&wt).num_minutes(), 2250);

    let light = |at: &str| clock.light(t(at));
    assert_eq!(light("2026-09-30T16:00:00+08:00"), Light::Green);
    assert_eq!(light("2026-10-12T15:59:00+08:00"), Light::Green);
    assert_eq!(light("2026-10-12T16:00:00+08:00"), Light::Yellow);
    assert_eq!(light("2026-10-13T15:59:00+08:00"), Light::Yellow);
    assert_eq!(light("2026-10-13T16:00:00+08:00"), Light::Red);
    assert_eq!(light("2026-10-13T20:00:00+08:00"), Light::Red);

    let fraction = |at: &str| clock.elapsed_fraction(&wt, t(at)).unwrap();
    assert_eq!(fraction("2026-09-30T16:00:00+08:00"), 0.0);
    // The holiday does not count: still 90 minutes on 10-05.
    assert_eq!(fraction("2026-10-05T12:00:00+08:00"), 90.0 / 2250.0);
    assert_eq!(fraction("2026-10-12T15:59:00+08:00"), 1799.0 / 2250.0);
    assert_eq!(fraction("2026-10-12T16:00:00+08:00"), 0.8);
    assert_eq!(fraction("2026-10-13T16:00:00+08:00"), 1.0);
    assert!(fraction("2026-10-14T09:00:00+08:00") > 1.0);

    let handling_timers: Vec<_> = timers(&case.state)
        .into_iter()
        .filter(|timer| timer.stage == Stage::Handling)
        .map(|timer| (timer.kind, timer.due_at.to_rfc3339()))
        .collect();
    assert_eq!(
        handling_timers,
        vec![
            (TimerKind::Warn80, "2026-10-12T16:00:00+08:00".to_owned()),
            (TimerKind::Breach, "2026-10-13T16:00:00+08:00".to_owned()),
        ]
    );
}

#[test]
fn hanging_for_a_working_day_moves_due_by_a_working_day() {
    let fixture = Fixture::new(full_policy("5wd"));
    let mut case = dispatched(&fixture, "2026-09-30T16:00:00+08:00");
    case.ok(
        &handler("310107-cgzf"),
        Command::Sign,
        "2026-09-30T16:30:00+08:00",
    );
    // Friday 10:00 to the make-up Saturday 10:00: 450 working minutes.
    case.ok(
        &operator(),
        Command::Hang {
            reason: "燃气管线改造".into(),
        },
        "2026-10-09T10:00:00+08:00",
    );
    let hung = handling(&case);
    assert!(hung.is_paused());
    // Frozen while hung: the light is that of the moment it was hung.
    assert_eq!(hung.light(t("2026-10-20T10:00:00+08:00")), Light::Green);
    let wt = fixture.working();
    assert_eq!(
        hung.elapsed(&wt, t("2026-10-20T10:00:00+08:00")).unwrap(),
        hung.elapsed(&wt, t("2026-10-09T10:00:00+08:00")).unwrap()
    );
    assert!(
        timers(&case.state)
            .iter()
            .all(|timer| timer.stage != Stage::Handling)
    );
    // A timer persisted before the hang fires harmlessly.
    let stale = cityloop_workflow::Timer {
        stage: Stage::Handling,
        kind: TimerKind::Breach,
        due_at: hung.due_at,
    };
    assert!(on_timer(&case.state, &stale, t("2026-10-13T16:00:00+08:00")).is_empty());

    case.ok(
        &lead_of("310107-cgzf"),
        Command::Resume,
        "2026-10-10T10:00:00+08:00",
    );
    let resumed = handling(&case);
    assert_eq!(resumed.paused_total.num_minutes(), 450);
    assert_eq!(resumed.due_at.to_rfc3339(), "2026-10-14T16:00:00+08:00");
    assert_eq!(resumed.warn_at.to_rfc3339(), "2026-10-13T16:00:00+08:00");
    assert_eq!(resumed.light(t("2026-10-13T15:59:00+08:00")), Light::Green);
    assert_eq!(resumed.light(t("2026-10-14T16:00:00+08:00")), Light::Red);
    // The old breach instant is no longer a breach.
    assert!(on_timer(&case.state, &stale, t("2026-10-13T16:00:00+08:00")).is_empty());
    assert_eq!(
        resumed
            .elapsed_fraction(&wt, t("2026-10-14T16:00:00+08:00"))
            .unwrap(),
        1.0
    );
}

#[test]
fn hanging_over_the_holiday_costs_only_the_working_time_paused() {
    let fixture = Fixture::new(full_policy("5wd"));
    let mut case = dispatched(&fixture, "2026-09-30T16:00:00+08:00");
    case.ok(
        &handler("310107-cgzf"),
        Command::Sign,
        "2026-09-30T16:10:00+08:00",
    );
    case.ok(
        &operator(),
        Command::Hang {
            reason: "节日停工".into(),
        },
        "2026-09-30T17:00:00+08:00",
    );
    case.ok(&operator(), Command::Resume, "2026-10-08T08:30:00+08:00");
    // Only 17:00–17:30 on 09-30 was working time.
    assert_eq!(
        handling(&case).due_at.to_rfc3339(),
        "2026-10-13T16:30:00+08:00"
    );
}

#[test]
fn an_approved_extension_adds_working_minutes_to_the_allowance() {
    let fixture = Fixture::new(full_policy("5wd"));
    let mut case = dispatched(&fixture, "2026-09-30T16:00:00+08:00");
    case.ok(
        &handler("310107-cgzf"),
        Command::Sign,
        "2026-09-30T16:10:00+08:00",
    );
    case.ok(
        &handler("310107-cgzf"),
        Command::RequestExtension {
            minutes: 120,
            reason: "等待材料".into(),
        },
        "2026-10-08T09:00:00+08:00",
    );
    case.ok(
        &lead_of("310107-cgzf"),
        Command::DecideExtension {
            approve: true,
            note: String::new(),
        },
        "2026-10-08T10:00:00+08:00",
    );
    let clock = handling(&case);
    assert_eq!(clock.allowance_extra_minutes, 120);
    // 16:00 + 90 minutes to 17:30, the remaining 30 from 08:30 next day.
    assert_eq!(clock.due_at.to_rfc3339(), "2026-10-14T09:00:00+08:00");
    assert_eq!(clock.allowed(&fixture.working()).num_minutes(), 2370);
}

#[test]
fn the_handling_clock_starts_at_dispatch_not_signing() {
    let fixture = Fixture::new(full_policy("5wd"));
    let mut case = dispatched(&fixture, "2026-09-30T16:00:00+08:00");
    // The unit returns; the case is re-dispatched after the holiday.
    case.ok(
        &handler("310107-cgzf"),
        Command::Return {
            reason_code: cityloop_workflow::ReturnReason::NotOurResponsibility,
            note: String::new(),
        },
        "2026-09-30T17:00:00+08:00",
    );
    case.ok(
        &operator(),
        Command::Dispatch {
            units: vec![dept("310107-lhsr")],
            lead: dept("310107-lhsr"),
        },
        "2026-10-08T09:00:00+08:00",
    );
    case.ok(
        &handler("310107-lhsr"),
        Command::Sign,
        "2026-10-08T10:00:00+08:00",
    );
    assert_eq!(
        handling(&case).started_at.to_rfc3339(),
        "2026-09-30T16:00:00+08:00"
    );
    assert_eq!(
        handling(&case).due_at.to_rfc3339(),
        "2026-10-13T16:00:00+08:00"
    );
}

#[test]
fn natural_limits_count_wall_clock_time() {
    let mut policy = full_policy("5wd");
    policy.rules.insert(0, common::rule(Stage::Signing, "2h"));
    // The catch-all "1wh" signing rule comes later and is equally specific:
    // the first rule wins.
    let fixture = Fixture::new(policy);
    let case = dispatched(&fixture, "2026-09-30T17:00:00+08:00");
    let clock = case.state.sla.clock(Stage::Signing).unwrap();
    assert_eq!(clock.due_at.to_rfc3339(), "2026-09-30T19:00:00+08:00");
    assert_eq!(clock.warn_at.to_rfc3339(), "2026-09-30T18:36:00+08:00");
}

#[test]
fn adding_working_time_keeps_seconds_and_skips_breaks() {
    let fixture = Fixture::new(full_policy("5wd"));
    let wt = fixture.working();
    let start = t("2026-09-30T11:59:30+08:00").fixed_offset();
    let plus = |seconds: i64| {
        add_working_time(&wt, start, chrono::Duration::seconds(seconds))
            .unwrap()
            .to_rfc3339()
    };
    assert_eq!(plus(0), "2026-09-30T11:59:30+08:00");
    assert_eq!(plus(30), "2026-09-30T12:00:00+08:00");
    assert_eq!(plus(45), "2026-09-30T13:30:15+08:00");
    assert_eq!(plus(90), "2026-09-30T13:31:00+08:00");
    // 17:30 on 09-30 plus 1 second is on 10-08, after National Day.
    let evening = t("2026-09-30T17:29:59+08:00").fixed_offset();
    assert_eq!(
        add_working_time(&wt, evening, chrono::Duration::seconds(2))
            .unwrap()
            .to_rfc3339(),
        "2026-10-08T08:30:01+08:00"
    );
}

#[test]
fn a_missing_calendar_year_refuses_with_the_stage_named() {
    let fixture = Fixture::new(full_policy("5wd"));
    let mut case = fixture.open(Channel::Inspector, None, "2026-12-30T09:00:00+08:00");
    case.ok(&operator(), Command::Accept, "2026-12-30T09:10:00+08:00");
    case.ok(
        &operator(),
        Command::Register { criteria_met: true },
        "2026-12-30T09:20:00+08:00",
    );
    let refusal = case.refused(
        &operator(),
        Command::Dispatch {
            units: vec![dept("310107-cgzf")],
            lead: dept("310107-cgzf"),
        },
        "2026-12-30T10:00:00+08:00",
    );
    let message = refusal.to_string();
    assert!(
        message.starts_with("cannot compute the handling deadline"),
        "{message}"
    );
    assert!(message.contains("2027"), "{message}");
}
