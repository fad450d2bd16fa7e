//! Metrics from case histories built through the real workflow (decide →
//! apply on the 2026 holiday calendar with the shipped SLA rules), with
//! every rate's value worked out by hand; then the same through a real
//! SQLite store and the case service.

use chrono::{DateTime, Utc};
use cityloop_calendar::{HolidayCalendar, Shifts, WorkingTime};
use cityloop_cases::metrics::{
    self, GroupBy, MetricsRow, NO_STREET, Period, RATES, UNROUTED, compute, compute_from,
};
use cityloop_cases::policy::default_policy;
use cityloop_cases::service::summarise;
use cityloop_cases::{CaseConfig, CaseError, CaseService, Intake};
use cityloop_domain::{AreaCode, CategoryCode, CategoryKind, DepartmentId, Role, UserId};
use cityloop_geo::AreaIndex;
use cityloop_import::{Silent, bundled};
use cityloop_store::{CaseRow, Store};
use cityloop_workflow::{
    Actor, CaseId, CaseState, Channel, ClosingType, Command, Event, NewCase, Rating, ReturnReason,
    SlaContext, SlaPolicy, Urgency, apply, decide, on_timer, timers,
};
use std::sync::Arc;

// ---------------------------------------------------------------------------
// Time, places, people

/// `"03-09 09:30"` → 2026-03-09 09:30 in Shanghai.
fn t(short: &str) -> DateTime<Utc> {
    let text = format!("2026-{}:00+08:00", short.replace(' ', "T"));
    DateTime::parse_from_rfc3339(&text)
        .unwrap()
        .with_timezone(&Utc)
}

/// March 2026 (no public holiday in it).
fn march() -> Period {
    Period::new(t("03-01 00:00"), t("04-01 00:00")).unwrap()
}

/// Friday 10 April 2026, 10:00.
fn now() -> DateTime<Utc> {
    t("04-10 10:00")
}

fn code(text: &str) -> AreaCode {
    AreaCode::parse(text).unwrap()
}

fn unit(text: &str) -> DepartmentId {
    DepartmentId::parse(text).unwrap()
}

/// 普陀区城管执法局, 普陀区绿化市容局, 黄浦区绿化市容局, 普陀区建管委.
const CGZF: &str = "310107-cgzf";
const LHSR: &str = "310107-lhsr";
const HP_LHSR: &str = "310101-lhsr";
const JGW: &str = "310107-jgw";

/// 长寿路街道, 甘泉路街道 (普陀); 南京东路街道 (黄浦).
const CHANGSHOU: &str = "310107015";
const GANQUAN: &str = "310107016";
const NANJING_EAST: &str = "310101002";

/// City, district and (for a 9-digit code) street of an area code.
fn path_of(area: &str) -> Vec<AreaCode> {
    let mut path = vec![code(&format!("{}0000", &area[..2])), code(&area[..6])];
    if area.len() == 9 {
        path.push(code(area));
    }
    path
}

fn operator() -> Actor {
    Actor {
        receipt: None,
        user: Some(UserId(1)),
        role: Role::Operator,
        department: None,
        areas: vec![code("310000")],
    }
}

fn supervisor() -> Actor {
    Actor {
        receipt: None,
        user: Some(UserId(2)),
        role: Role::Supervisor,
        department: None,
        areas: vec![code("310000")],
    }
}

fn handler(of: &str) -> Actor {
    Actor {
        receipt: None,
        user: Some(UserId(3)),
        role: Role::Handler,
        department: Some(unit(of)),
        areas: Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// Commands

fn verify() -> Command {
    Command::Verify {
        note: String::new(),
    }
}

fn register() -> Command {
    Command::Register { criteria_met: true }
}

fn dispatch(to: &str) -> Command {
    Command::Dispatch {
        units: vec![unit(to)],
        lead: unit(to),
    }
}

fn give_back() -> Command {
    Command::Return {
        reason_code: ReturnReason::NotOurResponsibility,
        note: String::new(),
    }
}

fn reply() -> Command {
    Command::Reply {
        note: "已处置".into(),
        evidence: vec!["photo-1".into()],
    }
}

fn review() -> Command {
    Command::Review {
        approve: true,
        note: String::new(),
    }
}

fn check(passed: bool) -> Command {
    Command::Check {
        passed,
        note: String::new(),
    }
}

fn rate(level: Rating, reasonable: Option<bool>) -> Command {
    Command::Rate {
        level,
        reasonable,
        comment: String::new(),
    }
}

// ---------------------------------------------------------------------------
// Building histories through the real workflow

struct World {
    calendar: HolidayCalendar,
    shifts: Shifts,
    policy: SlaPolicy,
    /// Whether the SLA timers fire (as the scheduler would, at their due
    /// instants) or the scheduler is down and no warning or breach is ever
    /// recorded.
    fire_timers: bool,
}

impl World {
    fn new(fire_timers: bool) -> World {
        World {
            calendar: HolidayCalendar::from_holiday_cn_json(&[include_str!(
                "../../../data/holiday-cn/2026.json"
            )])
            .unwrap(),
            shifts: Shifts::default(),
            policy: default_policy(),
            fire_timers,
        }
    }

    fn ctx(&self) -> SlaContext<'_> {
        SlaContext {
            working: WorkingTime::new(&self.calendar, &self.shifts),
            policy: &self.policy,
        }
    }
}

struct Story<'w> {
    world: &'w World,
    state: CaseState,
    history: Vec<Event>,
    row: CaseRow,
}

impl<'w> Story<'w> {
    /// A 暴露垃圾 (06010: handling 1 working day, signing 2 working hours)
    /// report in the street.
    fn report(world: &'w World, id: i64, channel: Channel, street: &str, when: &str) -> Story<'w> {
        let created_at = t(when);
        let (state, created) = CaseState::new(
            NewCase {
                id: CaseId(id),
                channel,
                category: CategoryCode::parse(CategoryKind::Matter, "06010").unwrap(),
                urgency: Urgency::Normal,
                area_path: path_of(street),
                reporter: None,
            },
            created_at,
            &world.ctx(),
        )
        .unwrap();
        let row = CaseRow {
            id,
            channel: channel.as_str().into(),
            category: "06010".into(),
            urgency: "normal".into(),
            status: String::new(),
            open: true,
            lead_department: None,
            units: Vec::new(),
            area_path: path_of(street),
            lon: None,
            lat: None,
            address: None,
            description: "暴露垃圾".into(),
            reporter: None,
            reporter_contact: None,
            parent: None,
            created_at,
            updated_at: created_at,
            version: 0,
            due_at: None,
            warn_at: None,
            near_boundary: false,
            routed_department: None,
        };
        Story {
            world,
            state,
            history: vec![created],
            row,
        }
    }

    fn push(&mut self, events: Vec<Event>) {
        for event in events {
            self.state = apply(self.state.clone(), &event);
            self.history.push(event);
        }
    }

    /// Fires every timer due by `until`, each at its due instant.
    fn fire_timers(&mut self, until: DateTime<Utc>) {
        if !self.world.fire_timers {
            return;
        }
        while let Some(timer) = timers(&self.state)
            .into_iter()
            .filter(|timer| timer.due_at.with_timezone(&Utc) <= until)
            .min_by_key(|timer| timer.due_at)
        {
            let events = on_timer(&self.state, &timer, timer.due_at.with_timezone(&Utc));
            assert!(!events.is_empty(), "a due timer fires");
            self.push(events);
        }
    }

    fn act(mut self, actor: &Actor, command: Command, when: &str) -> Story<'w> {
        let at = t(when);
        self.fire_timers(at);
        let events = decide(&self.state, actor, &command, at, &self.world.ctx())
            .unwrap_or_else(|refusal| panic!("case {}: {when}: {refusal}", self.state.id));
        self.push(events);
        self
    }

    fn done(mut self) -> (CaseRow, Vec<Event>) {
        self.fire_timers(now());
        let row = summarise(self.row.clone(), &self.state);
        (row, self.history)
    }
}

/// The city's March, case by case (all 06010, handling 1wd, signing 2wh;
/// working hours 08:30–12:00 and 13:30–17:30):
///
/// | id | street | story |
/// |---|---|---|
/// | A 1 | 长寿路 | dispatched to CGZF, signed 10:00 (due 11:30), replied 14:00 (due Tue 09:30), checked, satisfied: on time throughout |
/// | B 2 | 长寿路 | dispatched to LHSR, returned in time, dispatched to CGZF 10:30 (signing due 14:00), signed 15:00 (late), replied Tue 11:00 (handling due Tue 09:30: late), check failed (返工), replied, dissatisfied and reasonable (重办), replied, basically satisfied: closed overdue |
/// | C 3 | 甘泉路 | inspector; dispatched to CGZF Tue 09:30, signed in time, 60 minutes' extension approved (due Wed 10:30), never replied: open and overdue at `now` |
/// | D 4 | 南京东路 | created exactly at the period's start; declined |
/// | E 5 | 南京东路 | accepted, then voided |
/// | P 6 | 南京东路 | inspector; created 31 March, registered, dispatched to HP_LHSR only on 10 April 09:30: awaiting signature, not yet due, at `now` |
/// | M 7 | 长寿路 | accepted, merged into A |
/// | R 8 | 南京东路 | HP_LHSR; very dissatisfied, judged reasonable (重办), replied again: open, under review, handling not overdue |
/// | U 9 | 南京东路 | HP_LHSR; dissatisfied, judged unreasonable: closed |
/// | F 10 | 长寿路 | created 26 Feb (before the period): dispatched to LHSR and returned then; dispatched to CGZF 2 March, very satisfied 2 March |
/// | Q 11 | 长寿路 | created exactly at the period's end |
fn march_cases(world: &World) -> Vec<(CaseRow, Vec<Event>)> {
    let op = operator();
    let inspector = supervisor();
    let cgzf = handler(CGZF);
    let lhsr = handler(LHSR);
    let hp_lhsr = handler(HP_LHSR);
    let satisfied = || rate(Rating::Satisfied, None);
    let a = Story::report(world, 1, Channel::Hotline, CHANGSHOU, "03-09 09:00")
        .act(&op, verify(), "03-09 09:05")
        .act(&op, Command::Accept, "03-09 09:10")
        .act(&op, register(), "03-09 09:20")
        .act(&op, dispatch(CGZF), "03-09 09:30")
        .act(&cgzf, Command::Sign, "03-09 10:00")
        .act(&cgzf, reply(), "03-09 14:00")
        .act(&op, review(), "03-09 14:30")
        .act(&inspector, check(true), "03-09 15:00")
        .act(&op, satisfied(), "03-09 15:30");
    let b = Story::report(world, 2, Channel::Hotline, CHANGSHOU, "03-09 09:00")
        .act(&op, verify(), "03-09 09:05")
        .act(&op, Command::Accept, "03-09 09:10")
        .act(&op, register(), "03-09 09:20")
        .act(&op, dispatch(LHSR), "03-09 09:30")
        .act(&lhsr, give_back(), "03-09 10:00")
        .act(&op, dispatch(CGZF), "03-09 10:30")
        .act(&cgzf, Command::Sign, "03-09 15:00")
        .act(&cgzf, reply(), "03-10 11:00")
        .act(&op, review(), "03-10 11:30")
        .act(&inspector, check(false), "03-10 14:00")
        .act(&cgzf, reply(), "03-10 15:00")
        .act(&op, review(), "03-10 15:10")
        .act(&inspector, check(true), "03-10 15:30")
        .act(&op, rate(Rating::Dissatisfied, Some(true)), "03-10 16:00")
        .act(&cgzf, reply(), "03-10 16:30")
        .act(&op, review(), "03-10 16:40")
        .act(&inspector, check(true), "03-10 16:50")
        .act(&op, rate(Rating::BasicallySatisfied, None), "03-10 17:00");
    let c = Story::report(world, 3, Channel::Inspector, GANQUAN, "03-10 09:00")
        .act(&op, Command::Accept, "03-10 09:10")
        .act(&op, register(), "03-10 09:20")
        .act(&op, dispatch(CGZF), "03-10 09:30")
        .act(&cgzf, Command::Sign, "03-10 09:45")
        .act(
            &cgzf,
            Command::RequestExtension {
                minutes: 60,
                reason: "需协调物业".into(),
            },
            "03-10 10:00",
        )
        .act(
            &op,
            Command::DecideExtension {
                approve: true,
                note: String::new(),
            },
            "03-10 10:10",
        );
    let d = Story::report(world, 4, Channel::Hotline, NANJING_EAST, "03-01 00:00").act(
        &op,
        Command::Decline {
            reason: "非城市管理事项".into(),
        },
        "03-02 09:00",
    );
    let e = Story::report(world, 5, Channel::Hotline, NANJING_EAST, "03-11 10:00")
        .act(&op, verify(), "03-11 10:05")
        .act(&op, Command::Accept, "03-11 10:10")
        .act(
            &op,
            Command::Void {
                reason: "不符合立案条件".into(),
            },
            "03-11 10:20",
        );
    let p = Story::report(world, 6, Channel::Inspector, NANJING_EAST, "03-31 16:00")
        .act(&op, Command::Accept, "03-31 16:10")
        .act(&op, register(), "03-31 16:20")
        .act(&op, dispatch(HP_LHSR), "04-10 09:30");
    let m = Story::report(world, 7, Channel::Hotline, CHANGSHOU, "03-09 09:30")
        .act(&op, verify(), "03-09 09:35")
        .act(&op, Command::Accept, "03-09 09:40")
        .act(&op, Command::Merge { parent: CaseId(1) }, "03-09 09:50");
    let r = Story::report(world, 8, Channel::Inspector, NANJING_EAST, "03-12 09:00")
        .act(&op, Command::Accept, "03-12 09:10")
        .act(&op, register(), "03-12 09:20")
        .act(&op, dispatch(HP_LHSR), "03-12 09:30")
        .act(&hp_lhsr, Command::Sign, "03-12 09:40")
        .act(&hp_lhsr, reply(), "03-12 10:30")
        .act(&op, review(), "03-12 10:40")
        .act(&inspector, check(true), "03-12 11:00")
        .act(
            &op,
            rate(Rating::VeryDissatisfied, Some(true)),
            "03-12 11:30",
        )
        .act(&hp_lhsr, reply(), "03-12 14:00");
    let u = Story::report(world, 9, Channel::Inspector, NANJING_EAST, "03-12 09:00")
        .act(&op, Command::Accept, "03-12 09:10")
        .act(&op, register(), "03-12 09:20")
        .act(&op, dispatch(HP_LHSR), "03-12 09:30")
        .act(&hp_lhsr, Command::Sign, "03-12 09:40")
        .act(&hp_lhsr, reply(), "03-12 10:30")
        .act(&op, review(), "03-12 10:40")
        .act(&inspector, check(true), "03-12 11:00")
        .act(&op, rate(Rating::Dissatisfied, Some(false)), "03-12 11:30");
    let f = Story::report(world, 10, Channel::Inspector, CHANGSHOU, "02-26 09:00")
        .act(&op, Command::Accept, "02-26 09:10")
        .act(&op, register(), "02-26 09:20")
        .act(&op, dispatch(LHSR), "02-26 09:30")
        .act(&lhsr, give_back(), "02-26 10:00")
        .act(&op, dispatch(CGZF), "03-02 09:00")
        .act(&cgzf, Command::Sign, "03-02 09:10")
        .act(&cgzf, reply(), "03-02 09:30")
        .act(&op, review(), "03-02 09:40")
        .act(&inspector, check(true), "03-02 09:50")
        .act(&op, rate(Rating::VerySatisfied, None), "03-02 10:00");
    let q = Story::report(world, 11, Channel::Hotline, CHANGSHOU, "04-01 00:00");
    [a, b, c, d, e, p, m, r, u, f, q]
        .into_iter()
        .map(Story::done)
        .collect()
}

// ---------------------------------------------------------------------------
// Checking rows

/// (numerator, denominator) of each rate, in the order of [`RATES`]:
/// 立案率, 按时签收率, 按期处置率, 结案率, 按期结案率, 返工率, 回退率, 重办率,
/// 延期率, 响应率, 解决率, 满意率.
type Expected = [(u64, u64); 12];

fn row<'r>(rows: &'r [MetricsRow], group: &str) -> &'r MetricsRow {
    rows.iter()
        .find(|row| row.group == group)
        .unwrap_or_else(|| panic!("no row {group} in {:?}", groups(rows)))
}

fn groups(rows: &[MetricsRow]) -> Vec<&str> {
    rows.iter().map(|row| row.group.as_str()).collect()
}

fn assert_row(rows: &[MetricsRow], group: &str, cases: u64, expected: Expected) {
    let row = row(rows, group);
    let actual: Vec<(&str, u64, u64)> = RATES
        .iter()
        .map(|(key, zh)| {
            let rate = row.rate(key).unwrap_or_else(|| panic!("{group}: no {key}"));
            let value = rate.value;
            match value {
                None => assert_eq!(rate.denominator, 0, "{group} {key}"),
                Some(value) => assert!(
                    (value - rate.numerator as f64 / rate.denominator as f64).abs() < 1e-12,
                    "{group} {key}: {value}"
                ),
            }
            (*zh, rate.numerator, rate.denominator)
        })
        .collect();
    let wanted: Vec<(&str, u64, u64)> = RATES
        .iter()
        .zip(expected)
        .map(|((_, zh), (n, d))| (*zh, n, d))
        .collect();
    assert_eq!(
        (row.cases, actual),
        (cases, wanted),
        "group {group}: (cases, [(rate, numerator, denominator)])"
    );
    assert_eq!(row.rates.len(), RATES.len());
}

// ---------------------------------------------------------------------------
// The pure computation

#[test]
fn every_rate_over_the_city_has_its_hand_worked_value() {
    let world = World::new(true);
    let cases = march_cases(&world);
    let rows = compute_from(&cases, GroupBy::City, march(), now());
    assert_eq!(groups(&rows), ["310000"]);
    assert_row(
        &rows,
        "310000",
        // A B C D E P M R U; not F (February), not Q (created at the end).
        9,
        [
            // 立案率: registered A B C P R U / accepted A B C E P R U (D
            // declined is no valid report, M merged is a duplicate).
            (6, 7),
            // 按时签收率: A C R U / signed A B C R U (B signed at 15:00,
            // due 14:00).
            (4, 5),
            // 按期处置率: A R U / replied A B R U.
            (3, 4),
            // 结案率: closed A B U / registered A B C P R U.
            (3, 6),
            // 按期结案率: A U / closed A B U + open and overdue C. R is
            // open, its handling paused under review and not overdue; P's
            // handling clock started this morning.
            (2, 4),
            // 返工率: B / checked A B R U.
            (1, 4),
            // 回退率: B's first dispatch / dispatches in March: A, B twice,
            // C, F (2 March), R, U. P's (10 April) and F's February one
            // are outside.
            (1, 7),
            // 重办率: B R / rated A B R U.
            (2, 4),
            // 延期率: C / dispatched A B C P R U.
            (1, 6),
            // 响应率: A C R U / A B C R U; P awaits a signature not yet due.
            (4, 5),
            // 解决率: A (satisfied), B (finally basically satisfied), U
            // (dissatisfied, unreasonable) / rated A B R U.
            (3, 4),
            // 满意率: A, B's second, F / ratings in March: A, B twice, R, U,
            // F.
            (3, 6),
        ],
    );
    let value = row(&rows, "310000")
        .rate(metrics::ON_TIME_CLOSING_RATE)
        .unwrap()
        .value;
    assert_eq!(value, Some(0.5));
}

#[test]
fn by_department_a_case_counts_for_its_lead_and_a_dispatch_for_its_unit() {
    let world = World::new(true);
    let rows = compute_from(&march_cases(&world), GroupBy::Department, march(), now());
    assert_eq!(groups(&rows), [HP_LHSR, CGZF, LHSR, UNROUTED]);
    // A B C: one on time, one returned once then handled late, one open and
    // overdue: 按期结案率 1/3, the overdue open case in the denominator.
    assert_row(
        &rows,
        CGZF,
        3,
        [
            (3, 3),
            (2, 3),
            (1, 2),
            (2, 3),
            (1, 3),
            (1, 2),
            // A, B's second, C, F's March dispatch; none returned.
            (0, 4),
            (1, 2),
            (1, 3),
            (2, 3),
            (2, 2),
            // A, B (dissatisfied), B, F.
            (3, 4),
        ],
    );
    // P R U.
    assert_row(
        &rows,
        HP_LHSR,
        3,
        [
            (3, 3),
            (2, 2),
            (2, 2),
            (1, 3),
            (1, 1),
            (0, 2),
            (0, 2),
            (1, 2),
            (0, 3),
            (2, 2),
            (1, 2),
            (0, 2),
        ],
    );
    // No case of its own; it received B's first dispatch and returned it.
    assert_row(
        &rows,
        LHSR,
        0,
        [
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            (1, 1),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
        ],
    );
    // D (declined), E (voided), M (merged, left out of the rates).
    assert_row(
        &rows,
        UNROUTED,
        3,
        [
            (0, 1),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
        ],
    );
    let lhsr = row(&rows, LHSR).rate(metrics::REGISTRATION_RATE).unwrap();
    assert_eq!(lhsr.value, None, "no denominator, no value");
}

#[test]
fn by_district_and_by_street() {
    let world = World::new(true);
    let cases = march_cases(&world);
    let rows = compute_from(&cases, GroupBy::District, march(), now());
    assert_eq!(groups(&rows), ["310101", "310107"]);
    // 黄浦: D E P R U.
    assert_row(
        &rows,
        "310101",
        5,
        [
            (3, 4),
            (2, 2),
            (2, 2),
            (1, 3),
            (1, 1),
            (0, 2),
            (0, 2),
            (1, 2),
            (0, 3),
            (2, 2),
            (1, 2),
            (0, 2),
        ],
    );
    // 普陀: A B C M, and F's March events.
    assert_row(
        &rows,
        "310107",
        4,
        [
            (3, 3),
            (2, 3),
            (1, 2),
            (2, 3),
            (1, 3),
            (1, 2),
            (1, 5),
            (1, 2),
            (1, 3),
            (2, 3),
            (2, 2),
            (3, 4),
        ],
    );

    let streets = compute_from(&cases, GroupBy::Street, march(), now());
    let counts: Vec<(&str, u64)> = streets
        .iter()
        .map(|row| (row.group.as_str(), row.cases))
        .collect();
    assert_eq!(
        counts,
        [(NANJING_EAST, 5), (CHANGSHOU, 3), (GANQUAN, 1)],
        "A B M in 长寿路; C in 甘泉路"
    );
    // 长寿路: A and B, with F's March dispatch and rating.
    let changshou = row(&streets, CHANGSHOU);
    let rate = |key| {
        let rate = changshou.rate(key).unwrap();
        (rate.numerator, rate.denominator)
    };
    assert_eq!(rate(metrics::RETURN_RATE), (1, 4));
    assert_eq!(rate(metrics::ON_TIME_CLOSING_RATE), (1, 2));
    assert_eq!(rate(metrics::SATISFACTION_RATE), (3, 4));
}

#[test]
fn lateness_does_not_depend_on_the_timers_having_fired() {
    // With the scheduler down no breach is ever recorded and B even closes
    // as "normal"; the clocks in the events still show what was late.
    let fired = World::new(true);
    let silent = World::new(false);
    let silent_cases = march_cases(&silent);
    let b = &silent_cases[1].1;
    assert!(!b.iter().any(|e| matches!(e, Event::SlaBreached { .. })));
    assert_eq!(silent_cases[1].0.status, "closed");
    for group_by in GroupBy::ALL {
        assert_eq!(
            compute_from(&silent_cases, group_by, march(), now()),
            compute_from(&march_cases(&fired), group_by, march(), now()),
            "{group_by}"
        );
    }
}

#[test]
fn metrics_as_of_an_earlier_instant_ignore_later_events() {
    let world = World::new(true);
    let cases = march_cases(&world);
    // Monday 9 March 12:00: A signed and handling; B returned, dispatched
    // to CGZF and awaiting its signature (due 14:00); M merged.
    let noon = t("03-09 12:00");
    let rows = compute_from(&cases, GroupBy::City, march(), noon);
    let city = row(&rows, "310000");
    let rate = |key| {
        let rate = city.rate(key).unwrap();
        (rate.numerator, rate.denominator)
    };
    assert_eq!(city.cases, 4, "D, A, B, M exist at noon");
    assert_eq!(rate(metrics::REGISTRATION_RATE), (2, 2));
    assert_eq!(rate(metrics::ON_TIME_SIGNING_RATE), (1, 1));
    assert_eq!(rate(metrics::RESPONSE_RATE), (1, 1), "B not yet judged");
    // F's on 2 March, A's, and B's two; B's first was returned.
    assert_eq!(rate(metrics::RETURN_RATE), (1, 4));
    assert_eq!(rate(metrics::ON_TIME_CLOSING_RATE), (0, 0));
    // At 14:00 B's signing deadline has passed: it counts against 响应率.
    let two = compute_from(&cases, GroupBy::City, march(), t("03-09 14:00"));
    let response = *row(&two, "310000").rate(metrics::RESPONSE_RATE).unwrap();
    assert_eq!((response.numerator, response.denominator), (1, 2));
}

#[test]
fn cases_located_above_the_street_and_never_dispatched_have_groups_too() {
    let world = World::new(true);
    let case = Story::report(&world, 1, Channel::Hotline, "310107", "03-09 09:00").done();
    let cases = [case];
    let street = compute_from(&cases, GroupBy::Street, march(), now());
    assert_eq!(groups(&street), [NO_STREET]);
    let department = compute_from(&cases, GroupBy::Department, march(), now());
    assert_eq!(groups(&department), [UNROUTED]);
    assert_eq!(department[0].cases, 1);
    let outside = Period::new(t("04-01 00:00"), t("05-01 00:00")).unwrap();
    assert!(compute_from(&cases, GroupBy::City, outside, now()).is_empty());
}

#[test]
fn rates_groupings_and_periods() {
    assert_eq!(metrics::Rate::new(0, 0).value, None);
    assert_eq!(metrics::Rate::new(1, 4).value, Some(0.25));
    for group in GroupBy::ALL {
        assert_eq!(GroupBy::parse(group.as_str()).unwrap(), group);
    }
    assert!(matches!(
        GroupBy::parse("grid"),
        Err(CaseError::Invalid {
            field: "group_by",
            ..
        })
    ));
    let period = march();
    assert!(period.contains(period.from));
    assert!(!period.contains(period.to));
    assert!(Period::new(period.to, period.from).is_err());
    assert!(Period::new(period.from, period.from).is_err());
    let keys: Vec<&str> = RATES.iter().map(|(key, _)| *key).collect();
    assert_eq!(
        keys,
        [
            "registration_rate",
            "on_time_signing_rate",
            "on_time_handling_rate",
            "closing_rate",
            "on_time_closing_rate",
            "rework_rate",
            "return_rate",
            "redo_rate",
            "extension_rate",
            "response_rate",
            "resolution_rate",
            "satisfaction_rate",
        ]
    );
}

// ---------------------------------------------------------------------------
// Through the case service on a real SQLite store

async fn report(
    service: &CaseService,
    index: &AreaIndex,
    channel: Channel,
    street: &str,
    when: &str,
) -> i64 {
    service
        .intake(
            Intake {
                report: None,
                route_to: None,
                channel,
                category: CategoryCode::parse(CategoryKind::Matter, "06010").unwrap(),
                urgency: Urgency::Normal,
                point: None,
                area: Some(code(street)),
                address: None,
                description: "暴露垃圾".into(),
                reporter: None,
                reporter_contact: None,
            },
            index,
            t(when),
        )
        .await
        .unwrap()
        .case
        .id
}

/// Fires the due timers as the scheduler would at `when`, then acts.
async fn act(service: &CaseService, id: i64, actor: &Actor, command: Command, when: &str) {
    while service
        .fire_due_timers(t(when), "metrics-test", 100)
        .await
        .unwrap()
        > 0
    {}
    service
        .act(id, actor, command, t(when))
        .await
        .unwrap_or_else(|error| panic!("case {id} at {when}: {error}"));
}

#[tokio::test]
async fn compute_reads_the_period_from_a_real_store() {
    let directory = tempfile::tempdir().unwrap();
    let store =
        cityloop_store_sqlite::SqliteStore::open(&directory.path().join("city.sqlite3")).unwrap();
    store.migrate().await.unwrap();
    bundled::load_shanghai(&store, &Silent).await.unwrap();
    bundled::load_demo_directory(&store, &Silent).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let service = CaseService::open(
        Arc::clone(&store),
        bundled::HOLIDAY_CN,
        CaseConfig::default(),
    )
    .await
    .unwrap();
    let index = AreaIndex::new(std::iter::empty());
    let (op, inspector, cgzf) = (operator(), supervisor(), handler(CGZF));

    // A case from February whose March dispatch to JGW was returned.
    let old = report(
        &service,
        &index,
        Channel::Inspector,
        CHANGSHOU,
        "02-26 09:00",
    )
    .await;
    for (actor, command, when) in [
        (&op, Command::Accept, "02-26 09:10"),
        (&op, register(), "02-26 09:20"),
        (&op, dispatch(LHSR), "02-26 09:30"),
        (&handler(LHSR), give_back(), "02-26 10:00"),
        (&op, dispatch(JGW), "03-02 09:00"),
        (&handler(JGW), give_back(), "03-02 09:30"),
    ] {
        act(&service, old, actor, command, when).await;
    }

    // On time throughout.
    let on_time = report(&service, &index, Channel::Hotline, CHANGSHOU, "03-09 09:00").await;
    // Returned once, then signed and handled late; closed overdue.
    let late = report(&service, &index, Channel::Hotline, CHANGSHOU, "03-09 09:00").await;
    for (id, steps) in [
        (
            on_time,
            vec![
                (&op, verify(), "03-09 09:05"),
                (&op, Command::Accept, "03-09 09:10"),
                (&op, register(), "03-09 09:20"),
                (&op, dispatch(CGZF), "03-09 09:30"),
                (&cgzf, Command::Sign, "03-09 10:00"),
                (&cgzf, reply(), "03-09 14:00"),
                (&op, review(), "03-09 14:30"),
                (&inspector, check(true), "03-09 15:00"),
                (&op, rate(Rating::Satisfied, None), "03-09 15:30"),
            ],
        ),
        (
            late,
            vec![
                (&op, verify(), "03-09 09:05"),
                (&op, Command::Accept, "03-09 09:10"),
                (&op, register(), "03-09 09:20"),
                (&op, dispatch(LHSR), "03-09 09:30"),
            ],
        ),
    ] {
        for (actor, command, when) in steps {
            act(&service, id, actor, command, when).await;
        }
    }
    let lhsr = handler(LHSR);
    for (actor, command, when) in [
        (&lhsr, give_back(), "03-09 10:00"),
        (&op, dispatch(CGZF), "03-09 10:30"),
        (&cgzf, Command::Sign, "03-09 15:00"),
        (&cgzf, reply(), "03-10 11:00"),
        (&op, review(), "03-10 11:30"),
        (&inspector, check(true), "03-10 14:00"),
        (&op, rate(Rating::BasicallySatisfied, None), "03-10 14:30"),
    ] {
        act(&service, late, actor, command, when).await;
    }
    let (_, late_state, _) = service.load(late).await.unwrap();
    assert_eq!(
        late_state.closing().map(|closing| closing.kind),
        Some(ClosingType::Overdue),
        "the scheduler recorded the handling breach"
    );
    // Signed in time, then never replied: open and overdue at `now`.
    let open = report(&service, &index, Channel::Inspector, GANQUAN, "03-10 09:00").await;
    for (actor, command, when) in [
        (&op, Command::Accept, "03-10 09:10"),
        (&op, register(), "03-10 09:20"),
        (&op, dispatch(CGZF), "03-10 09:30"),
        (&cgzf, Command::Sign, "03-10 09:45"),
    ] {
        act(&service, open, actor, command, when).await;
    }
    // Declined, in 黄浦.
    let declined = report(
        &service,
        &index,
        Channel::Hotline,
        NANJING_EAST,
        "03-11 09:00",
    )
    .await;
    act(
        &service,
        declined,
        &op,
        Command::Decline {
            reason: "非城市管理事项".into(),
        },
        "03-11 09:10",
    )
    .await;
    while service
        .fire_due_timers(now(), "metrics-test", 100)
        .await
        .unwrap()
        > 0
    {}

    let rows = compute(store.as_ref(), GroupBy::Department, march(), now())
        .await
        .unwrap();
    assert_eq!(groups(&rows), [CGZF, JGW, LHSR, UNROUTED]);
    assert_row(
        &rows,
        CGZF,
        3,
        [
            (3, 3),
            (2, 3),
            (1, 2),
            (2, 3),
            // One on time, one late, one open and overdue.
            (1, 3),
            (0, 2),
            (0, 3),
            (0, 2),
            (0, 3),
            (2, 3),
            (2, 2),
            (2, 2),
        ],
    );
    let returns = |group: &str| {
        let rate = row(&rows, group).rate(metrics::RETURN_RATE).unwrap();
        (row(&rows, group).cases, rate.numerator, rate.denominator)
    };
    assert_eq!(
        returns(JGW),
        (0, 1, 1),
        "the February case's March dispatch"
    );
    // The late case's first dispatch; the old case's February one is
    // outside the period.
    assert_eq!(returns(LHSR), (0, 1, 1));
    assert_eq!(returns(UNROUTED), (1, 0, 0));

    let districts = compute(store.as_ref(), GroupBy::District, march(), now())
        .await
        .unwrap();
    let counts: Vec<(&str, u64)> = districts
        .iter()
        .map(|row| (row.group.as_str(), row.cases))
        .collect();
    assert_eq!(counts, [("310101", 1), ("310107", 3)]);
    let putuo = row(&districts, "310107");
    let closing = putuo.rate(metrics::ON_TIME_CLOSING_RATE).unwrap();
    assert_eq!((closing.numerator, closing.denominator), (1, 3));
    let returned = putuo.rate(metrics::RETURN_RATE).unwrap();
    // March dispatches in 普陀: the old case's to JGW (returned), the late
    // case's to LHSR (returned) and to CGZF, and one each of the others.
    assert_eq!((returned.numerator, returned.denominator), (2, 5));

    // The store path and the pure path agree.
    let mut loaded = Vec::new();
    for id in [old, on_time, late, open, declined] {
        let (row, _, history) = service.load(id).await.unwrap();
        let events = history
            .iter()
            .map(|e| cityloop_cases::codec::decode_event(&e.kind, &e.payload).unwrap())
            .collect();
        loaded.push((row, events));
    }
    assert_eq!(
        compute_from(&loaded, GroupBy::District, march(), now()),
        districts
    );

    let streets = compute(store.as_ref(), GroupBy::Street, march(), now())
        .await
        .unwrap();
    assert_eq!(groups(&streets), [NANJING_EAST, CHANGSHOU, GANQUAN]);

    // The cache: the same rows as a fresh fold, at a later `now` too (the
    // open case's clocks are judged again), and after a case moves on.
    let cache = metrics::MetricsCache::default();
    let cached =
        metrics::compute_cached(store.as_ref(), &cache, GroupBy::Department, march(), now())
            .await
            .unwrap();
    assert_eq!(cached, rows);
    assert_eq!(
        cache.len(),
        5,
        "every case of the period or its events is kept"
    );
    let later = now() + chrono::Duration::days(30);
    assert_eq!(
        metrics::compute_cached(store.as_ref(), &cache, GroupBy::Department, march(), later)
            .await
            .unwrap(),
        compute(store.as_ref(), GroupBy::Department, march(), later)
            .await
            .unwrap()
    );
    // As of an instant before the cases' last events: folded afresh.
    let early = t("03-10 09:00");
    assert_eq!(
        metrics::compute_cached(store.as_ref(), &cache, GroupBy::District, march(), early)
            .await
            .unwrap(),
        compute(store.as_ref(), GroupBy::District, march(), early)
            .await
            .unwrap()
    );
    act(&service, open, &cgzf, reply(), "04-10 11:00").await;
    let after = now() + chrono::Duration::days(1);
    let moved =
        metrics::compute_cached(store.as_ref(), &cache, GroupBy::Department, march(), after)
            .await
            .unwrap();
    assert_eq!(
        moved,
        compute(store.as_ref(), GroupBy::Department, march(), after)
            .await
            .unwrap()
    );
    assert_ne!(moved, rows, "the reply shows through the cache");

    let empty = Period {
        from: t("03-01 00:00"),
        to: t("03-01 00:00"),
    };
    let error = compute(store.as_ref(), GroupBy::City, empty, now())
        .await
        .unwrap_err();
    assert!(
        matches!(error, CaseError::Invalid { field: "to", .. }),
        "{error}"
    );
}
