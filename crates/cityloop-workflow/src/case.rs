//! The case and its vocabulary: ids, channels, urgency, statuses, closings,
//! return reasons, ratings, and [`CaseState`], the fold of a case's events.
//!
//! A [`CaseState`] is only ever built by [`CaseState::new`] (which also
//! returns the `Created` event) or by [`crate::replay`], and only ever changed
//! by [`crate::apply`]. Its fields are public for reading; writing them by
//! hand bypasses the state machine.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use cityloop_domain::{AreaCode, CategoryCode, DepartmentId, UserId};

use crate::sla::SlaState;

/// A store-assigned case id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaseId(pub i64);

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a case came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// A citizen on the web portal.
    CitizenWeb,
    /// A citizen in the mobile app (随申拍 and the like).
    CitizenApp,
    /// An Open311 GeoReport client.
    Open311,
    /// The 12345 hotline (a call taker records it).
    Hotline,
    /// A grid inspector (网格员/监督员) on patrol; already verified.
    Inspector,
    /// An IoT sensor alarm.
    Sensor,
    /// Video analytics (视频智能发现).
    Video,
    /// Referred by another department.
    Referral,
    /// Assigned from a higher level (上级交办).
    Assignment,
}

kind_names!(Channel, "channel", {
    CitizenWeb => "citizen_web",
    CitizenApp => "citizen_app",
    Open311 => "open311",
    Hotline => "hotline",
    Inspector => "inspector",
    Sensor => "sensor",
    Video => "video",
    Referral => "referral",
    Assignment => "assignment",
});

impl Channel {
    /// An inspector's report needs no separate verification, so it starts
    /// `Verified`; every other channel starts `Reported`.
    pub fn initial_status(self) -> CaseStatus {
        match self {
            Channel::Inspector => CaseStatus::Verified,
            _ => CaseStatus::Reported,
        }
    }
}

/// How urgent a case is; SLA rules may differ by urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Urgency {
    Urgent,
    Normal,
}

kind_names!(Urgency, "urgency", {
    Urgent => "urgent",
    Normal => "normal",
});

/// How a closed case was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClosingType {
    /// 正常结案: the loop completed.
    Normal,
    /// 超期结案: the loop completed, but the handling deadline was breached.
    Overdue,
    /// 特殊结案: closed outside the loop by an admin or supervisor.
    Special,
}

kind_names!(ClosingType, "closing", {
    Normal => "normal",
    Overdue => "overdue",
    Special => "special",
});

/// The closing of a closed case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Closing {
    pub kind: ClosingType,
    /// True when an inspector fixed it on the spot (自处理).
    pub self_handled: bool,
}

/// The status of a case. Terminal: `Closed`, `Declined`, `Voided`, `Merged`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseStatus {
    /// Collected, awaiting verification (核实).
    Reported,
    /// Verified as real, awaiting acceptance (受理).
    Verified,
    /// Accepted (受理), awaiting registration (立案).
    Accepted,
    /// Registered (立案), awaiting dispatch (派遣).
    Registered,
    /// Dispatched (派遣), awaiting the lead unit's signature (签收).
    Dispatched,
    /// Returned by the lead unit (退单), awaiting the dispatcher.
    Returned,
    /// Being handled (处置) by the lead unit.
    Handling,
    /// Long-running works (挂账): the handling clock is paused.
    Hung,
    /// The unit replied (反馈), awaiting review (审核).
    Replied,
    /// Review passed, awaiting the on-site check (核查) by an inspector.
    Checking,
    /// Check passed, awaiting the callback (回访) and rating.
    Callback,
    /// A citizen's dissatisfied rating (差评) awaits the operator's
    /// judgement after a follow-up (回访核实).
    FollowUp,
    /// Closed (结案).
    Closed { closing: Closing },
    /// Not accepted (不予受理).
    Declined,
    /// Voided (作废) after acceptance.
    Voided,
    /// Merged into another case, which carries it from now on.
    Merged { parent: CaseId },
}

/// The kind of a [`CaseStatus`], without its data; the name used in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusKind {
    Reported,
    Verified,
    Accepted,
    Registered,
    Dispatched,
    Returned,
    Handling,
    Hung,
    Replied,
    Checking,
    Callback,
    FollowUp,
    Closed,
    Declined,
    Voided,
    Merged,
}

kind_names!(StatusKind, "status", {
    Reported => "reported",
    Verified => "verified",
    Accepted => "accepted",
    Registered => "registered",
    Dispatched => "dispatched",
    Returned => "returned",
    Handling => "handling",
    Hung => "hung",
    Replied => "replied",
    Checking => "checking",
    Callback => "callback",
    FollowUp => "follow_up",
    Closed => "closed",
    Declined => "declined",
    Voided => "voided",
    Merged => "merged",
});

impl StatusKind {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            StatusKind::Closed | StatusKind::Declined | StatusKind::Voided | StatusKind::Merged
        )
    }

    /// The Chinese name used on screens.
    pub fn zh(self) -> &'static str {
        match self {
            StatusKind::Reported => "待核实",
            StatusKind::Verified => "待受理",
            StatusKind::Accepted => "待立案",
            StatusKind::Registered => "待派遣",
            StatusKind::Dispatched => "待签收",
            StatusKind::Returned => "已退单",
            StatusKind::Handling => "处置中",
            StatusKind::Hung => "挂账",
            StatusKind::Replied => "待审核",
            StatusKind::Checking => "待核查",
            StatusKind::Callback => "待回访",
            StatusKind::FollowUp => "差评核实",
            StatusKind::Closed => "已结案",
            StatusKind::Declined => "不予受理",
            StatusKind::Voided => "已作废",
            StatusKind::Merged => "已合并",
        }
    }
}

impl CaseStatus {
    pub fn kind(&self) -> StatusKind {
        match self {
            CaseStatus::Reported => StatusKind::Reported,
            CaseStatus::Verified => StatusKind::Verified,
            CaseStatus::Accepted => StatusKind::Accepted,
            CaseStatus::Registered => StatusKind::Registered,
            CaseStatus::Dispatched => StatusKind::Dispatched,
            CaseStatus::Returned => StatusKind::Returned,
            CaseStatus::Handling => StatusKind::Handling,
            CaseStatus::Hung => StatusKind::Hung,
            CaseStatus::Replied => StatusKind::Replied,
            CaseStatus::Checking => StatusKind::Checking,
            CaseStatus::Callback => StatusKind::Callback,
            CaseStatus::FollowUp => StatusKind::FollowUp,
            CaseStatus::Closed { .. } => StatusKind::Closed,
            CaseStatus::Declined => StatusKind::Declined,
            CaseStatus::Voided => StatusKind::Voided,
            CaseStatus::Merged { .. } => StatusKind::Merged,
        }
    }

    /// The kind's name, e.g. `closed` for every closing.
    pub fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }

    pub fn is_terminal(&self) -> bool {
        self.kind().is_terminal()
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaseStatus::Closed { closing } => write!(f, "closed ({})", closing.kind),
            CaseStatus::Merged { parent } => write!(f, "merged into case {parent}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// Why a unit returns a case (退单原因).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReturnReason {
    /// 非本单位职责.
    NotOurResponsibility,
    /// 地址错误.
    WrongLocation,
    /// 信息不全.
    InsufficientInformation,
    /// 重复派单.
    Duplicate,
    /// Anything else; a note is then required.
    Other,
}

kind_names!(ReturnReason, "reason_code", {
    NotOurResponsibility => "not_our_responsibility",
    WrongLocation => "wrong_location",
    InsufficientInformation => "insufficient_information",
    Duplicate => "duplicate",
    Other => "other",
});

/// The citizen's satisfaction recorded at the callback (回访).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rating {
    /// 非常满意.
    VerySatisfied,
    /// 满意.
    Satisfied,
    /// 基本满意.
    BasicallySatisfied,
    /// 不满意.
    Dissatisfied,
    /// 非常不满意.
    VeryDissatisfied,
}

kind_names!(Rating, "level", {
    VerySatisfied => "very_satisfied",
    Satisfied => "satisfied",
    BasicallySatisfied => "basically_satisfied",
    Dissatisfied => "dissatisfied",
    VeryDissatisfied => "very_dissatisfied",
});

impl Rating {
    /// 不满意 and 非常不满意: these need a judgement whether the
    /// dissatisfaction is reasonable.
    pub fn is_dissatisfied(self) -> bool {
        matches!(self, Rating::Dissatisfied | Rating::VeryDissatisfied)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Rating::VerySatisfied => "非常满意",
            Rating::Satisfied => "满意",
            Rating::BasicallySatisfied => "基本满意",
            Rating::Dissatisfied => "不满意",
            Rating::VeryDissatisfied => "非常不满意",
        }
    }
}

/// An extension request (延期申请) awaiting a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingExtension {
    pub unit: DepartmentId,
    /// Working minutes asked for.
    pub minutes: i64,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
}

/// What a new case is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    pub id: CaseId,
    pub channel: Channel,
    pub category: CategoryCode,
    pub urgency: Urgency,
    /// The case's area and its ancestors, city first; at least one.
    pub area_path: Vec<AreaCode>,
    /// The reporting user (citizen or inspector), if known.
    pub reporter: Option<UserId>,
}

/// The state of a case: the fold of its events.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseState {
    pub id: CaseId,
    pub channel: Channel,
    pub category: CategoryCode,
    pub urgency: Urgency,
    /// City first.
    pub area_path: Vec<AreaCode>,
    pub reporter: Option<UserId>,
    pub created_at: DateTime<Utc>,
    /// The instant of the last applied event.
    pub updated_at: DateTime<Utc>,
    /// How many events have been applied, `Created` included (1 for a new
    /// case); usable as an optimistic-concurrency version.
    pub version: u64,
    pub status: CaseStatus,
    /// The lead unit (首接负责单位) once dispatched.
    pub lead: Option<DepartmentId>,
    /// Every unit the case is dispatched to, the lead included; the others
    /// are co-units (协办单位).
    pub units: Vec<DepartmentId>,
    /// The lead units since the last dispatch or arbitration by the centre,
    /// in order: the centre's choice first, then each sub-dispatch
    /// (district → street → unit).
    pub dispatch_chain: Vec<DepartmentId>,
    /// Units an arbitration has ruled responsible; they may not return the
    /// case.
    pub arbitrated: BTreeSet<DepartmentId>,
    /// How often each unit returned the case (退单次数).
    pub returns_by_unit: BTreeMap<DepartmentId, u32>,
    /// Review rejections (审核不通过).
    pub review_rejections: u32,
    /// Failed on-site checks (返工).
    pub reworks: u32,
    /// Redos after a reasonable dissatisfied rating (重办).
    pub redos: u32,
    /// Working minutes asked for in extension requests, all requests.
    pub extensions_requested_minutes: i64,
    /// Working minutes granted, added to the handling allowance.
    pub extensions_approved_minutes: i64,
    pub pending_extension: Option<PendingExtension>,
    /// Under supervision (督办).
    pub supervised: bool,
    /// How often the case was urged (催办).
    pub urges: u32,
    /// The latest rating, and the judgement whether a dissatisfied rating
    /// is reasonable.
    pub rating: Option<Rating>,
    pub rating_reasonable: Option<bool>,
    pub sla: SlaState,
}

impl CaseState {
    /// The closing, once closed.
    pub fn closing(&self) -> Option<Closing> {
        match self.status {
            CaseStatus::Closed { closing } => Some(closing),
            _ => None,
        }
    }

    /// The units other than the lead (协办单位).
    pub fn co_units(&self) -> Vec<DepartmentId> {
        self.units
            .iter()
            .filter(|unit| Some(*unit) != self.lead.as_ref())
            .cloned()
            .collect()
    }

    /// Total returns by all units.
    pub fn returns(&self) -> u32 {
        self.returns_by_unit.values().sum()
    }

    pub fn is_open(&self) -> bool {
        !self.status.is_terminal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_refusals_list_the_options() {
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()).unwrap(), *channel);
        }
        for status in StatusKind::ALL {
            assert_eq!(StatusKind::parse(status.as_str()).unwrap(), *status);
        }
        for rating in Rating::ALL {
            assert_eq!(Rating::parse(rating.as_str()).unwrap(), *rating);
        }
        for reason in ReturnReason::ALL {
            assert_eq!(ReturnReason::parse(reason.as_str()).unwrap(), *reason);
        }
        for kind in ClosingType::ALL {
            assert_eq!(ClosingType::parse(kind.as_str()).unwrap(), *kind);
        }
        for urgency in Urgency::ALL {
            assert_eq!(Urgency::parse(urgency.as_str()).unwrap(), *urgency);
        }
        let error = Channel::parse("fax").unwrap_err();
        assert_eq!(error.field, "channel");
        assert!(error.message.contains("hotline"), "{}", error.message);
    }

    #[test]
    fn inspector_reports_start_verified() {
        for channel in Channel::ALL {
            let expected = if *channel == Channel::Inspector {
                CaseStatus::Verified
            } else {
                CaseStatus::Reported
            };
            assert_eq!(channel.initial_status(), expected, "{channel}");
        }
    }
}
