//! Events: the facts of a case's history, one variant per fact. Each carries
//! what [`crate::apply`] needs (including any SLA clock that [`crate::decide`]
//! started, resumed or extended, with its computed instants) and the instant
//! `at` it happened.
//!
//! `clocks` fields hold the complete new [`StageClock`] of every stage the
//! event starts, resumes or extends; stopping and pausing clocks is implied
//! by the event's kind and needs no data (see [`crate::apply`]).

use chrono::{DateTime, Utc};
use cityloop_domain::{AreaCode, CategoryCode, DepartmentId, UserId};

use crate::case::{CaseId, Channel, Closing, Rating, ReturnReason, Urgency};
use crate::sla::{Stage, StageClock};

/// One fact in a case's history. `by` is the acting user (`None`: the
/// system).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The case came in; starts the acceptance clock.
    Created {
        at: DateTime<Utc>,
        id: CaseId,
        channel: Channel,
        category: CategoryCode,
        urgency: Urgency,
        area_path: Vec<AreaCode>,
        reporter: Option<UserId>,
        clocks: Vec<StageClock>,
    },
    Verified {
        at: DateTime<Utc>,
        by: Option<UserId>,
        note: String,
    },
    /// Stops acceptance, starts registration.
    Accepted {
        at: DateTime<Utc>,
        by: Option<UserId>,
        clocks: Vec<StageClock>,
    },
    Declined {
        at: DateTime<Utc>,
        by: Option<UserId>,
        reason: String,
    },
    /// Stops registration, starts dispatch.
    Registered {
        at: DateTime<Utc>,
        by: Option<UserId>,
        clocks: Vec<StageClock>,
    },
    Voided {
        at: DateTime<Utc>,
        by: Option<UserId>,
        reason: String,
    },
    /// The inspector's on-the-spot fix; followed by `Closed`.
    SelfHandled {
        at: DateTime<Utc>,
        by: Option<UserId>,
        note: String,
    },
    /// Stops dispatch, starts signing, and on the first dispatch handling.
    Dispatched {
        at: DateTime<Utc>,
        by: Option<UserId>,
        units: Vec<DepartmentId>,
        lead: DepartmentId,
        clocks: Vec<StageClock>,
    },
    /// The lead passes from `from` to `to`; restarts signing.
    SubDispatched {
        at: DateTime<Utc>,
        by: Option<UserId>,
        from: DepartmentId,
        to: DepartmentId,
        clocks: Vec<StageClock>,
    },
    /// Stops signing.
    Signed {
        at: DateTime<Utc>,
        by: Option<UserId>,
        unit: DepartmentId,
    },
    /// Stops signing, starts dispatch (the dispatcher's turn again).
    Returned {
        at: DateTime<Utc>,
        by: Option<UserId>,
        unit: DepartmentId,
        reason_code: ReturnReason,
        note: String,
        clocks: Vec<StageClock>,
    },
    /// Stops dispatch, starts signing.
    Arbitrated {
        at: DateTime<Utc>,
        by: Option<UserId>,
        responsible: DepartmentId,
        note: String,
        clocks: Vec<StageClock>,
    },
    ExtensionRequested {
        at: DateTime<Utc>,
        by: Option<UserId>,
        unit: DepartmentId,
        minutes: i64,
        reason: String,
    },
    /// Decides the pending request; when approved, `clocks` holds the
    /// extended handling clock.
    ExtensionDecided {
        at: DateTime<Utc>,
        by: Option<UserId>,
        approve: bool,
        minutes: i64,
        note: String,
        clocks: Vec<StageClock>,
    },
    /// Pauses handling.
    Hung {
        at: DateTime<Utc>,
        by: Option<UserId>,
        reason: String,
    },
    /// Resumes handling (`clocks`: the resumed clock).
    Resumed {
        at: DateTime<Utc>,
        by: Option<UserId>,
        clocks: Vec<StageClock>,
    },
    Noted {
        at: DateTime<Utc>,
        by: Option<UserId>,
        unit: Option<DepartmentId>,
        text: String,
    },
    /// Pauses handling, starts review.
    Replied {
        at: DateTime<Utc>,
        by: Option<UserId>,
        unit: DepartmentId,
        note: String,
        evidence: Vec<String>,
        clocks: Vec<StageClock>,
    },
    /// Stops review; starts checking (approved) or resumes handling.
    Reviewed {
        at: DateTime<Utc>,
        by: Option<UserId>,
        approve: bool,
        note: String,
        clocks: Vec<StageClock>,
    },
    /// Stops checking; starts callback (passed) or resumes handling (rework).
    Checked {
        at: DateTime<Utc>,
        by: Option<UserId>,
        passed: bool,
        note: String,
        clocks: Vec<StageClock>,
    },
    /// Stops callback. A dissatisfied rating judged reasonable is a redo and
    /// resumes handling; any other rating is followed by `Closed`.
    Rated {
        at: DateTime<Utc>,
        by: Option<UserId>,
        level: Rating,
        reasonable: Option<bool>,
        /// The rater's own words (好差评 comment); may be empty.
        comment: String,
        clocks: Vec<StageClock>,
    },
    /// 差评核实: the operator's judgement of a dissatisfied rating that
    /// came without one. Reasonable: a redo (重办) — handling resumes and the
    /// rectification clock (整改) starts; otherwise followed by `Closed`.
    Judged {
        at: DateTime<Utc>,
        by: Option<UserId>,
        reasonable: bool,
        note: String,
        clocks: Vec<StageClock>,
    },
    /// A public comment by the reporter (补充说明), in any state.
    Commented {
        at: DateTime<Utc>,
        by: Option<UserId>,
        text: String,
    },
    /// Stops every clock.
    Closed {
        at: DateTime<Utc>,
        by: Option<UserId>,
        closing: Closing,
        note: String,
    },
    Urged {
        at: DateTime<Utc>,
        by: Option<UserId>,
        note: String,
    },
    Supervised {
        at: DateTime<Utc>,
        by: Option<UserId>,
        note: String,
    },
    /// A sensor alarm on the case was raised again or cleared.
    Alarmed {
        at: DateTime<Utc>,
        by: Option<UserId>,
        alarm: i64,
        cleared: bool,
        reason: String,
    },
    /// Stops every clock.
    Merged {
        at: DateTime<Utc>,
        by: Option<UserId>,
        parent: CaseId,
    },
    /// The stage's clock passed 80 % of its allowance.
    SlaWarned { at: DateTime<Utc>, stage: Stage },
    /// The stage's clock passed its due instant.
    SlaBreached { at: DateTime<Utc>, stage: Stage },
}

/// The kind of an [`Event`]; its stable name in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    Created,
    Verified,
    Accepted,
    Declined,
    Registered,
    Voided,
    SelfHandled,
    Dispatched,
    SubDispatched,
    Signed,
    Returned,
    Arbitrated,
    ExtensionRequested,
    ExtensionDecided,
    Hung,
    Resumed,
    Noted,
    Replied,
    Reviewed,
    Checked,
    Rated,
    Judged,
    Commented,
    Closed,
    Urged,
    Supervised,
    Alarmed,
    Merged,
    SlaWarned,
    SlaBreached,
}

kind_names!(EventKind, "event", {
    Created => "created",
    Verified => "verified",
    Accepted => "accepted",
    Declined => "declined",
    Registered => "registered",
    Voided => "voided",
    SelfHandled => "self_handled",
    Dispatched => "dispatched",
    SubDispatched => "sub_dispatched",
    Signed => "signed",
    Returned => "returned",
    Arbitrated => "arbitrated",
    ExtensionRequested => "extension_requested",
    ExtensionDecided => "extension_decided",
    Hung => "hung",
    Resumed => "resumed",
    Noted => "noted",
    Replied => "replied",
    Reviewed => "reviewed",
    Checked => "checked",
    Rated => "rated",
    Judged => "judged",
    Commented => "commented",
    Closed => "closed",
    Urged => "urged",
    Supervised => "supervised",
    Alarmed => "alarmed",
    Merged => "merged",
    SlaWarned => "sla_warned",
    SlaBreached => "sla_breached",
});

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Created { .. } => EventKind::Created,
            Event::Verified { .. } => EventKind::Verified,
            Event::Accepted { .. } => EventKind::Accepted,
            Event::Declined { .. } => EventKind::Declined,
            Event::Registered { .. } => EventKind::Registered,
            Event::Voided { .. } => EventKind::Voided,
            Event::SelfHandled { .. } => EventKind::SelfHandled,
            Event::Dispatched { .. } => EventKind::Dispatched,
            Event::SubDispatched { .. } => EventKind::SubDispatched,
            Event::Signed { .. } => EventKind::Signed,
            Event::Returned { .. } => EventKind::Returned,
            Event::Arbitrated { .. } => EventKind::Arbitrated,
            Event::ExtensionRequested { .. } => EventKind::ExtensionRequested,
            Event::ExtensionDecided { .. } => EventKind::ExtensionDecided,
            Event::Hung { .. } => EventKind::Hung,
            Event::Resumed { .. } => EventKind::Resumed,
            Event::Noted { .. } => EventKind::Noted,
            Event::Replied { .. } => EventKind::Replied,
            Event::Reviewed { .. } => EventKind::Reviewed,
            Event::Checked { .. } => EventKind::Checked,
            Event::Rated { .. } => EventKind::Rated,
            Event::Judged { .. } => EventKind::Judged,
            Event::Commented { .. } => EventKind::Commented,
            Event::Closed { .. } => EventKind::Closed,
            Event::Urged { .. } => EventKind::Urged,
            Event::Supervised { .. } => EventKind::Supervised,
            Event::Alarmed { .. } => EventKind::Alarmed,
            Event::Merged { .. } => EventKind::Merged,
            Event::SlaWarned { .. } => EventKind::SlaWarned,
            Event::SlaBreached { .. } => EventKind::SlaBreached,
        }
    }

    /// The kind's name, e.g. `sub_dispatched`.
    pub fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }

    /// When it happened.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Event::Created { at, .. }
            | Event::Verified { at, .. }
            | Event::Accepted { at, .. }
            | Event::Declined { at, .. }
            | Event::Registered { at, .. }
            | Event::Voided { at, .. }
            | Event::SelfHandled { at, .. }
            | Event::Dispatched { at, .. }
            | Event::SubDispatched { at, .. }
            | Event::Signed { at, .. }
            | Event::Returned { at, .. }
            | Event::Arbitrated { at, .. }
            | Event::ExtensionRequested { at, .. }
            | Event::ExtensionDecided { at, .. }
            | Event::Hung { at, .. }
            | Event::Resumed { at, .. }
            | Event::Noted { at, .. }
            | Event::Replied { at, .. }
            | Event::Reviewed { at, .. }
            | Event::Checked { at, .. }
            | Event::Rated { at, .. }
            | Event::Judged { at, .. }
            | Event::Commented { at, .. }
            | Event::Closed { at, .. }
            | Event::Urged { at, .. }
            | Event::Supervised { at, .. }
            | Event::Alarmed { at, .. }
            | Event::Merged { at, .. }
            | Event::SlaWarned { at, .. }
            | Event::SlaBreached { at, .. } => *at,
        }
    }

    /// The acting user; `None` for the system, for `Created` (see its
    /// `reporter`) and for SLA events.
    pub fn by(&self) -> Option<UserId> {
        match self {
            Event::Created { .. } | Event::SlaWarned { .. } | Event::SlaBreached { .. } => None,
            Event::Verified { by, .. }
            | Event::Accepted { by, .. }
            | Event::Declined { by, .. }
            | Event::Registered { by, .. }
            | Event::Voided { by, .. }
            | Event::SelfHandled { by, .. }
            | Event::Dispatched { by, .. }
            | Event::SubDispatched { by, .. }
            | Event::Signed { by, .. }
            | Event::Returned { by, .. }
            | Event::Arbitrated { by, .. }
            | Event::ExtensionRequested { by, .. }
            | Event::ExtensionDecided { by, .. }
            | Event::Hung { by, .. }
            | Event::Resumed { by, .. }
            | Event::Noted { by, .. }
            | Event::Replied { by, .. }
            | Event::Reviewed { by, .. }
            | Event::Checked { by, .. }
            | Event::Rated { by, .. }
            | Event::Judged { by, .. }
            | Event::Commented { by, .. }
            | Event::Closed { by, .. }
            | Event::Urged { by, .. }
            | Event::Supervised { by, .. }
            | Event::Alarmed { by, .. }
            | Event::Merged { by, .. } => *by,
        }
    }

    /// The clocks this event starts, resumes or extends.
    pub fn clocks(&self) -> &[StageClock] {
        match self {
            Event::Created { clocks, .. }
            | Event::Accepted { clocks, .. }
            | Event::Registered { clocks, .. }
            | Event::Dispatched { clocks, .. }
            | Event::SubDispatched { clocks, .. }
            | Event::Returned { clocks, .. }
            | Event::Arbitrated { clocks, .. }
            | Event::ExtensionDecided { clocks, .. }
            | Event::Resumed { clocks, .. }
            | Event::Replied { clocks, .. }
            | Event::Reviewed { clocks, .. }
            | Event::Checked { clocks, .. }
            | Event::Rated { clocks, .. }
            | Event::Judged { clocks, .. } => clocks,
            _ => &[],
        }
    }
}
