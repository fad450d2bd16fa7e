//! Commands: what an actor asks to do to a case. [`crate::decide`] checks a
//! command against the case's state, the actor's role and scope, and the
//! command's own fields.
//!
//! | command | from | to | who |
//! |---|---|---|---|
//! | `verify` | Reported | Verified | operator, supervisor |
//! | `accept` | Verified | Accepted | operator |
//! | `decline` | Reported, Verified | Declined | operator |
//! | `register` | Accepted | Registered | operator (立案条件 confirmed) |
//! | `void` | Accepted | Voided | operator |
//! | `self_handle` | Reported, Verified (inspector channel) | Closed{normal, self-handled} | supervisor |
//! | `dispatch` | Registered, Returned | Dispatched | operator |
//! | `sub_dispatch` | Dispatched | Dispatched | dept lead of the lead unit |
//! | `sign` | Dispatched | Handling | lead unit |
//! | `return` | Dispatched | Returned | lead unit (not if arbitrated to it) |
//! | `arbitrate` | Returned | Dispatched | operator |
//! | `request_extension` | Handling (none pending) | – | lead unit |
//! | `decide_extension` | Handling (one pending) | – | dept lead of the lead unit, operator |
//! | `hang` | Handling | Hung | operator, dept lead of the lead unit |
//! | `resume` | Hung | Handling | operator, dept lead of the lead unit |
//! | `note` | Handling, Hung | – | lead or co-unit, operator |
//! | `reply` | Handling | Replied | lead unit |
//! | `review` | Replied | Checking / Handling | operator |
//! | `check` | Checking | Callback / Handling (rework) | supervisor |
//! | `rate` | Callback | Closed / Handling (redo) / FollowUp | operator, the reporting citizen |
//! | `rate` | Closed (not yet rated) | Closed / FollowUp | the reporting citizen |
//! | `judge` | FollowUp | Handling (redo, 整改 clock) / Closed | operator |
//! | `comment` | any but merged | – | the reporting citizen |
//! | `close` | Callback (normal, overdue); any open (special) | Closed | operator; admin, supervisor |
//! | `urge`, `supervise` | any open | – | operator, supervisor, system |
//! | `alarm` | any open | – | system (a sensor alarm raised again or cleared) |
//! | `merge` | open, before Handling | Merged | operator |
//!
//! "Lead unit" means a handler or department lead of the lead unit.

use cityloop_domain::DepartmentId;

use crate::case::{CaseId, ClosingType, Rating, ReturnReason};

/// A command on one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// 核实: the report is real.
    Verify { note: String },
    /// 受理.
    Accept,
    /// 不予受理; the reason is required.
    Decline { reason: String },
    /// 立案, refused unless the category's registration criteria (立案条件)
    /// are confirmed met.
    Register { criteria_met: bool },
    /// 作废; the reason is required.
    Void { reason: String },
    /// 自处理: an inspector fixed a minor issue on the spot.
    SelfHandle { note: String },
    /// 派遣 to one or more units, one of them the lead (首接负责).
    Dispatch {
        units: Vec<DepartmentId>,
        lead: DepartmentId,
    },
    /// 二级派遣: the lead unit passes the lead down (district → street).
    SubDispatch { to: DepartmentId },
    /// 签收.
    Sign,
    /// 退单; a note is required for [`ReturnReason::Other`].
    Return {
        reason_code: ReturnReason,
        note: String,
    },
    /// 仲裁: a final ruling which unit is responsible.
    Arbitrate {
        responsible: DepartmentId,
        note: String,
    },
    /// 延期申请, in working minutes; the reason is required.
    RequestExtension { minutes: i64, reason: String },
    /// 延期审批.
    DecideExtension { approve: bool, note: String },
    /// 挂账; the reason is required.
    Hang { reason: String },
    /// 解除挂账.
    Resume,
    /// A progress note (过程记录); the text is required.
    Note { text: String },
    /// 反馈 with evidence (media references); the note is required.
    Reply { note: String, evidence: Vec<String> },
    /// 审核.
    Review { approve: bool, note: String },
    /// 核查 on site; failing it is a rework (返工).
    Check { passed: bool, note: String },
    /// 回访 / 好差评 rating. An operator rating a dissatisfied level on the
    /// callback judges it at once (`reasonable` required); a citizen's
    /// dissatisfied rating leaves `reasonable` empty and goes to follow-up.
    /// Only dissatisfied levels take a judgement.
    Rate {
        level: Rating,
        reasonable: Option<bool>,
        comment: String,
    },
    /// 差评核实: whether a citizen's dissatisfied rating is reasonable; the
    /// note (what the follow-up found) is required.
    Judge { reasonable: bool, note: String },
    /// 补充说明: a public comment by the reporter; the text is required.
    Comment { text: String },
    /// 结案 by hand; the note is required for a special closing.
    Close { closing: ClosingType, note: String },
    /// 催办.
    Urge { note: String },
    /// 督办.
    Supervise { note: String },
    /// A sensor alarm on this case was raised again or cleared (by the
    /// system only); the reason says what was measured.
    Alarm {
        alarm: i64,
        cleared: bool,
        reason: String,
    },
    /// 合并 into a parent case.
    Merge { parent: CaseId },
}

/// The kind of a [`Command`]: the action names used in refusals and in
/// [`crate::allowed_actions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CommandKind {
    Verify,
    Accept,
    Decline,
    Register,
    Void,
    SelfHandle,
    Dispatch,
    SubDispatch,
    Sign,
    Return,
    Arbitrate,
    RequestExtension,
    DecideExtension,
    Hang,
    Resume,
    Note,
    Reply,
    Review,
    Check,
    Rate,
    Judge,
    Comment,
    Close,
    Urge,
    Supervise,
    Alarm,
    Merge,
}

kind_names!(CommandKind, "action", {
    Verify => "verify",
    Accept => "accept",
    Decline => "decline",
    Register => "register",
    Void => "void",
    SelfHandle => "self_handle",
    Dispatch => "dispatch",
    SubDispatch => "sub_dispatch",
    Sign => "sign",
    Return => "return",
    Arbitrate => "arbitrate",
    RequestExtension => "request_extension",
    DecideExtension => "decide_extension",
    Hang => "hang",
    Resume => "resume",
    Note => "note",
    Reply => "reply",
    Review => "review",
    Check => "check",
    Rate => "rate",
    Judge => "judge",
    Comment => "comment",
    Close => "close",
    Urge => "urge",
    Supervise => "supervise",
    Alarm => "alarm",
    Merge => "merge",
});

impl Command {
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Verify { .. } => CommandKind::Verify,
            Command::Accept => CommandKind::Accept,
            Command::Decline { .. } => CommandKind::Decline,
            Command::Register { .. } => CommandKind::Register,
            Command::Void { .. } => CommandKind::Void,
            Command::SelfHandle { .. } => CommandKind::SelfHandle,
            Command::Dispatch { .. } => CommandKind::Dispatch,
            Command::SubDispatch { .. } => CommandKind::SubDispatch,
            Command::Sign => CommandKind::Sign,
            Command::Return { .. } => CommandKind::Return,
            Command::Arbitrate { .. } => CommandKind::Arbitrate,
            Command::RequestExtension { .. } => CommandKind::RequestExtension,
            Command::DecideExtension { .. } => CommandKind::DecideExtension,
            Command::Hang { .. } => CommandKind::Hang,
            Command::Resume => CommandKind::Resume,
            Command::Note { .. } => CommandKind::Note,
            Command::Reply { .. } => CommandKind::Reply,
            Command::Review { .. } => CommandKind::Review,
            Command::Check { .. } => CommandKind::Check,
            Command::Rate { .. } => CommandKind::Rate,
            Command::Judge { .. } => CommandKind::Judge,
            Command::Comment { .. } => CommandKind::Comment,
            Command::Close { .. } => CommandKind::Close,
            Command::Urge { .. } => CommandKind::Urge,
            Command::Supervise { .. } => CommandKind::Supervise,
            Command::Alarm { .. } => CommandKind::Alarm,
            Command::Merge { .. } => CommandKind::Merge,
        }
    }

    /// The action name, e.g. `sub_dispatch`.
    pub fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }
}
