//! The closed loop of a city case (一网统管): the seven steps of digital city
//! management (信息收集 → 核实 → 立案 → 派遣 → 处置 → 核查 → 结案) merged with
//! the 12345 hotline work-order cycle (受理 → 派单 → 签收/退单 → 办理 → 反馈 →
//! 审核 → 回访), as a **pure state machine** plus the **SLA clock
//! arithmetic** on the official working calendar.
//!
//! # The job
//!
//! * [`decide`] answers "may this actor do this to this case now, and what
//!   happens if they do?": it returns the [`Event`]s the command produces, or a
//!   [`Refusal`] that names the reason (and, for a wrong state, the actions
//!   that *are* allowed in it).
//! * [`apply`] folds one event into a [`CaseState`]. A case's state is the
//!   fold of its history ([`replay`]); the store persists events, never
//!   states.
//! * The [`sla`] module runs the per-stage deadline clocks (受理, 立案, 派遣,
//!   签收, 处置, 审核, 核查, 回访, 整改): due instants on the working calendar,
//!   pauses (挂账), extensions (延期), the traffic light, and the
//!   [`Timer`]s the store must schedule; [`on_timer`] turns a fired timer
//!   into warning / breach events and an automatic 督办.
//!
//! # Key design decisions
//!
//! * **Pure.** No IO, no async, no global state, no clock reads: `now` is an
//!   argument, and the working calendar and SLA policy come in as a
//!   [`SlaContext`].
//! * **Decide, then apply.** All checks and all calendar computations happen
//!   in [`decide`]; the events carry their results (e.g. a started clock with
//!   its `due_at`). [`apply`] never fails and never consults the calendar, so
//!   replaying a history always reproduces the same state, even after the
//!   policy or the holiday files change.
//! * **Parsed, not validated.** Like `cityloop-domain`, the crate reuses the
//!   domain's valid-by-construction types ([`AreaCode`], [`DepartmentId`],
//!   [`CategoryCode`], [`Role`], [`UserId`]). Free text in commands is trimmed
//!   and bounded by [`decide`].
//! * **No wire format.** Nothing derives `Serialize`. Every enum has
//!   `as_str()`/`parse()` for its stable snake_case kind name (and
//!   [`Event::as_str`] / [`EventKind::parse`] for events), so the store and the
//!   API can own their encodings.
//! * **Roles.** [`Role::Operator`] is the 城运中心 dispatcher;
//!   [`Role::Handler`] and [`Role::DeptLead`] act for a department (a
//!   *unit*); [`Role::Supervisor`] is both the 监督员 who supervises (督办)
//!   and the grid inspector (网格员/监督员) who reports, verifies (核实),
//!   checks on site (核查) and fixes minor issues on the spot (自处理);
//!   [`Role::Admin`] may only close a case specially; [`Role::Auditor`] reads
//!   and never acts; a [`Role::Citizen`] may only rate and comment on their
//!   own report — signed in, or holding its receipt
//!   ([`Actor::receipt_holder`]).
//!   [`Actor::system`] (no user) may only urge and supervise; the SLA engine
//!   supervises through [`on_timer`].
//!
//! # The state diagram
//!
//! ```text
//!   channel citizen_web | citizen_app | open311 | hotline |       channel inspector
//!           sensor | video | referral | assignment                     │
//!                        │                                             │
//!                        ▼                                             ▼
//!                   ┌──────────┐          verify                ┌──────────┐
//!                   │ Reported │ ─────────────────────────────▶ │ Verified │
//!                   └──────────┘                                └──────────┘
//!   Reported | Verified ── decline ──────────────────────────▶ Declined
//!   Reported | Verified ── self_handle (inspector channel) ──▶ Closed{normal, self-handled}
//!   Verified ── accept ──▶ Accepted ── register (立案条件 met) ──▶ Registered
//!                          Accepted ── void ──▶ Voided
//!   Registered ── dispatch(units, lead) ──▶ Dispatched ◀──┐ sub_dispatch (lead's dept lead
//!                                            │   │  └─────┘ passes it down: district → street)
//!                                            │   └── return ──▶ Returned ── dispatch ──▶ Dispatched
//!                                            │                  Returned ── arbitrate ──▶ Dispatched
//!                                            │                  (the ruled unit may not return again)
//!                                            └── sign ──▶ Handling ── hang ──▶ Hung ── resume ──▶ Handling
//!   Handling ── reply ──▶ Replied ── review ✓ ──▶ Checking ── check ✓ ──▶ Callback
//!                         Replied ── review ✗ ──▶ Handling
//!                                                 Checking ── check ✗ (rework 返工) ──▶ Handling
//!   Callback ── rate satisfied, or dissatisfied judged unreasonable ──▶ Closed{normal | overdue}
//!   Callback ── rate dissatisfied judged reasonable (redo 重办) ──▶ Handling (+ 整改 clock)
//!   Callback ── citizen rates dissatisfied ──▶ FollowUp (回访核实)
//!   Closed (handled, never rated) ── citizen rates: satisfied stays Closed; dissatisfied ──▶ FollowUp
//!   FollowUp ── judge reasonable (redo) ──▶ Handling (+ 整改 clock); judge unreasonable ──▶ Closed
//!   Callback ── close normal | overdue (operator) ──▶ Closed
//!   any open state ── close special (admin, supervisor) ──▶ Closed{special}
//!   any open state before Handling ── merge(parent) ──▶ Merged{parent}
//!   any open state ── urge, supervise; Handling | Hung ── note: no change of state
//!   any state but Merged ── comment (the reporter's 补充说明): no change of state
//!   Handling ── request_extension, decide_extension: no change of state (延期)
//! ```
//!
//! Terminal states (`Closed`, `Declined`, `Voided`, `Merged`) accept no
//! command but the reporter's `comment` (not on `Merged`) and, on a closed
//! case a unit handled and nobody rated, the reporter's first `rate`.
//!
//! # Example
//!
//! ```
//! use chrono::{DateTime, Utc};
//! use cityloop_calendar::{HolidayCalendar, Limit, Shifts, WorkingTime};
//! use cityloop_domain::{AreaCode, CategoryCode, CategoryKind, DepartmentId, Role, UserId};
//! use cityloop_workflow::*;
//!
//! let calendar = HolidayCalendar::from_holiday_cn_json(&[include_str!(
//!     "../../../data/holiday-cn/2026.json"
//! )])
//! .unwrap();
//! let shifts = Shifts::default(); // 08:30-12:00,13:30-17:30
//! let policy = SlaPolicy::new(vec![SlaRule {
//!     stage: Stage::Handling,
//!     category: None,
//!     urgency: None,
//!     area: None,
//!     limit: Limit::parse("5wd").unwrap(),
//! }]);
//! let ctx = SlaContext { working: WorkingTime::new(&calendar, &shifts), policy: &policy };
//! let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc);
//! let putuo = AreaCode::parse("310107").unwrap();
//!
//! let (mut case, created) = CaseState::new(
//!     NewCase {
//!         id: CaseId(1),
//!         channel: Channel::Inspector, // starts verified
//!         category: CategoryCode::parse(CategoryKind::Matter, "06010").unwrap(),
//!         urgency: Urgency::Normal,
//!         area_path: vec![AreaCode::parse("310000").unwrap(), putuo.clone()],
//!         reporter: Some(UserId(7)),
//!     },
//!     at("2026-09-30T15:00:00+08:00"),
//!     &ctx,
//! )
//! .unwrap();
//! let mut history = vec![created];
//! let operator = Actor {
//!     user: Some(UserId(1)),
//!     role: Role::Operator,
//!     department: None,
//!     areas: vec![putuo],
//!     receipt: None,
//! };
//! let unit = DepartmentId::parse("310107-cgzf").unwrap();
//! for (command, time) in [
//!     (Command::Accept, "2026-09-30T15:10:00+08:00"),
//!     (Command::Register { criteria_met: true }, "2026-09-30T15:20:00+08:00"),
//!     (Command::Dispatch { units: vec![unit.clone()], lead: unit.clone() }, "2026-09-30T16:00:00+08:00"),
//! ] {
//!     for event in decide(&case, &operator, &command, at(time), &ctx).unwrap() {
//!         case = apply(case, &event);
//!         history.push(event);
//!     }
//! }
//! assert_eq!(case.status, CaseStatus::Dispatched);
//! let clock = case.sla.clock(Stage::Handling).unwrap();
//! assert_eq!(clock.due_at.to_rfc3339(), "2026-10-13T16:00:00+08:00"); // over National Day
//! assert_eq!(replay(&history), Some(case.clone()));
//!
//! // The operator may not sign; the refusal says who may do what.
//! let refusal = decide(&case, &operator, &Command::Sign, at("2026-09-30T16:05:00+08:00"), &ctx)
//!     .unwrap_err();
//! assert_eq!(refusal.to_string(), "the operator role may not sign");
//! ```

macro_rules! kind_names {
    ($ty:ident, $field:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The stable snake_case name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }

            /// Parses a name written by [`Self::as_str`] (surrounding
            /// whitespace is ignored).
            pub fn parse(text: &str) -> Result<$ty, cityloop_domain::DomainError> {
                let trimmed = text.trim();
                $ty::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == trimmed)
                    .ok_or_else(|| {
                        cityloop_domain::DomainError::new(
                            $field,
                            format!(
                                "unknown {} {trimmed:?}; expected one of {}",
                                $field,
                                $ty::ALL
                                    .iter()
                                    .map(|value| value.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        )
                    })
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod actor;
pub mod case;
pub mod command;
pub mod event;
pub mod machine;
pub mod refusal;
pub mod sla;

pub use actor::Actor;
pub use case::{
    CaseId, CaseState, CaseStatus, Channel, Closing, ClosingType, NewCase, PendingExtension,
    Rating, ReturnReason, StatusKind, Urgency,
};
pub use command::{Command, CommandKind};
pub use event::{Event, EventKind};
pub use machine::{allowed_actions, allowed_actions_for, apply, decide, replay};
pub use refusal::Refusal;
pub use sla::{
    Light, SlaContext, SlaPolicy, SlaRule, SlaState, Stage, StageClock, Timer, TimerKind, on_timer,
    timers,
};

#[doc(no_inline)]
pub use cityloop_domain::{AreaCode, CategoryCode, DepartmentId, Role, UserId};
