//! Shared fixtures: the real 2026 calendar, Shanghai office hours, a policy
//! with a rule for every stage, actors, and a harness that applies the events
//! of every accepted command and checks that replaying the history gives the
//! same state.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use cityloop_calendar::{HolidayCalendar, Limit, Shifts, WorkingTime};
use cityloop_domain::{AreaCode, CategoryCode, CategoryKind, DepartmentId, Role, UserId};
use cityloop_workflow::{
    Actor, CaseId, CaseState, Channel, Command, Event, NewCase, Refusal, SlaContext, SlaPolicy,
    SlaRule, Stage, Urgency, apply, decide, replay,
};

pub const Y2026: &str = include_str!("../../../../data/holiday-cn/2026.json");

pub fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("valid RFC 3339 instant")
        .with_timezone(&Utc)
}

pub fn area(code: &str) -> AreaCode {
    AreaCode::parse(code).unwrap()
}

pub fn dept(id: &str) -> DepartmentId {
    DepartmentId::parse(id).unwrap()
}

/// 上海市 → 普陀区 → 长寿路街道.
pub fn putuo_path() -> Vec<AreaCode> {
    vec![area("310000"), area("310107"), area("310107015")]
}

pub fn rule(stage: Stage, limit: &str) -> SlaRule {
    SlaRule {
        stage,
        category: None,
        urgency: None,
        area: None,
        limit: Limit::parse(limit).unwrap(),
    }
}

/// A catch-all rule for every stage.
pub fn full_policy(handling: &str) -> SlaPolicy {
    SlaPolicy::new(vec![
        rule(Stage::Acceptance, "2wh"),
        rule(Stage::Registration, "2wh"),
        rule(Stage::Dispatch, "1wh"),
        rule(Stage::Signing, "1wh"),
        rule(Stage::Handling, handling),
        rule(Stage::Review, "1wd"),
        rule(Stage::Checking, "1wd"),
        rule(Stage::Callback, "2wd"),
        rule(Stage::Rectification, "15wd"),
    ])
}

pub struct Fixture {
    pub calendar: HolidayCalendar,
    pub shifts: Shifts,
    pub policy: SlaPolicy,
}

impl Fixture {
    pub fn new(policy: SlaPolicy) -> Fixture {
        Fixture {
            calendar: HolidayCalendar::from_holiday_cn_json(&[Y2026]).expect("2026 data loads"),
            shifts: Shifts::parse("08:30-12:00,13:30-17:30").expect("valid shifts"),
            policy,
        }
    }

    pub fn ctx(&self) -> SlaContext<'_> {
        SlaContext {
            working: self.working(),
            policy: &self.policy,
        }
    }

    pub fn working(&self) -> WorkingTime<'_> {
        WorkingTime::new(&self.calendar, &self.shifts)
    }

    pub fn open(&self, channel: Channel, reporter: Option<i64>, at: &str) -> Case<'_> {
        let new = NewCase {
            id: CaseId(1),
            channel,
            category: CategoryCode::parse(CategoryKind::Matter, "06010").unwrap(),
            urgency: Urgency::Normal,
            area_path: putuo_path(),
            reporter: reporter.map(UserId),
        };
        let (state, created) = CaseState::new(new, t(at), &self.ctx()).expect("case opens");
        Case {
            fixture: self,
            state,
            history: vec![created],
        }
    }
}

/// A case under test: its state and its history.
pub struct Case<'f> {
    pub fixture: &'f Fixture,
    pub state: CaseState,
    pub history: Vec<Event>,
}

impl Case<'_> {
    /// Decides and, when accepted, applies; checks replay after every step.
    pub fn run(
        &mut self,
        actor: &Actor,
        command: Command,
        at: &str,
    ) -> Result<Vec<Event>, Refusal> {
        let before = self.state.clone();
        let result = decide(&self.state, actor, &command, t(at), &self.fixture.ctx());
        match &result {
            Ok(events) => {
                for event in events {
                    self.state = apply(self.state.clone(), event);
                    self.history.push(event.clone());
                }
                assert_eq!(
                    replay(&self.history).as_ref(),
                    Some(&self.state),
                    "replay differs after {command:?}"
                );
            }
            Err(_) => assert_eq!(self.state, before, "a refusal changed the state"),
        }
        result
    }

    /// Runs a command that must be accepted.
    #[track_caller]
    pub fn ok(&mut self, actor: &Actor, command: Command, at: &str) -> Vec<Event> {
        match self.run(actor, command.clone(), at) {
            Ok(events) => events,
            Err(refusal) => panic!("{command:?} refused: {refusal}"),
        }
    }

    /// Runs a command that must be refused.
    #[track_caller]
    pub fn refused(&mut self, actor: &Actor, command: Command, at: &str) -> Refusal {
        match self.run(actor, command.clone(), at) {
            Ok(events) => panic!("{command:?} accepted: {events:?}"),
            Err(refusal) => refusal,
        }
    }

    pub fn status(&self) -> &'static str {
        self.state.status.as_str()
    }
}

pub fn operator() -> Actor {
    Actor {
        receipt: None,
        user: Some(UserId(1)),
        role: Role::Operator,
        department: None,
        areas: vec![area("310107")],
    }
}

pub fn operator_elsewhere() -> Actor {
    Actor {
        receipt: None,
        user: Some(UserId(2)),
        role: Role::Operator,
        department: None,
        areas: vec![area("310101")],
    }
}

pub fn supervisor() -> Actor {
    Actor {
        receipt: None,
        user: Some(UserId(3)),
        role: Role::Supervisor,
        department: None,
        areas: vec![area("310107015")],
    }
}

pub fn admin() -> Actor {
    Actor {
        receipt: None,
        user: Some(UserId(4)),
        role: Role::Admin,
        department: None,
        areas: vec![],
    }
}

pub fn auditor() -> Actor {
    Actor {
        receipt: None,
        user: Some(UserId(5)),
        role: Role::Auditor,
        department: None,
        areas: vec![],
    }
}

pub fn handler(unit: &str) -> Actor {
    Actor {
        receipt: None,
        user: Some(UserId(10)),
        role: Role::Handler,
        department: Some(dept(unit)),
        areas: vec![],
    }
}

pub fn lead_of(unit: &str) -> Actor {
    Actor {
        receipt: None,
        user: Some(UserId(11)),
        role: Role::DeptLead,
        department: Some(dept(unit)),
        areas: vec![],
    }
}

pub fn citizen(id: i64) -> Actor {
    Actor {
        receipt: None,
        user: Some(UserId(id)),
        role: Role::Citizen,
        department: None,
        areas: vec![],
    }
}
