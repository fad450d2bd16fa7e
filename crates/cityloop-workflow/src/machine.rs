//! The state machine: [`decide`] (command → events or a refusal) and
//! [`apply`] (state + event → state), plus [`replay`] and the views of what
//! is allowed ([`allowed_actions`], [`allowed_actions_for`]).
//!
//! [`decide`] checks, in this order, and returns the first failure:
//!
//! 1. the **state**: terminal cases accept only the reporter's comment and
//!    first rating of a handled closed case; otherwise the action
//!    must be allowed in the status ([`Refusal::NotAllowedInState`] lists
//!    those that are), with two specific refusals: `return` by a unit an
//!    arbitration ruled responsible ([`Refusal::Arbitrated`]) and
//!    `self_handle` on a case not reported by an inspector
//!    ([`Refusal::Invalid`] on `channel`); a normal or overdue `close`
//!    outside the callback is [`Refusal::Invalid`] on `closing`;
//! 2. the **role** ([`Refusal::RoleNotAllowed`]);
//! 3. the **scope** ([`Refusal::OutOfScope`]);
//! 4. the command's **fields** ([`Refusal::Invalid`],
//!    [`Refusal::CriteriaNotMet`]);
//! 5. the **clocks** it starts or moves ([`Refusal::Clock`] when the
//!    calendar cannot compute a deadline).
//!
//! Free text is trimmed; required text must not be empty; notes are at most
//! [`MAX_TEXT_CHARS`] characters and must not contain control characters
//! other than line breaks and tabs.

use chrono::{DateTime, Utc};
use cityloop_domain::{DepartmentId, Role};

use crate::actor::Actor;
use crate::case::{
    CaseState, CaseStatus, Channel, Closing, ClosingType, NewCase, PendingExtension, ReturnReason,
    StatusKind,
};
use crate::command::{Command, CommandKind};
use crate::event::Event;
use crate::refusal::Refusal;
use crate::sla::{SlaContext, SlaState, Stage, StageClock};

/// The longest note, reason or evidence reference, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// The most units one dispatch may name.
pub const MAX_UNITS: usize = 20;
/// The most evidence references one reply may carry.
pub const MAX_EVIDENCE: usize = 50;
/// The largest single extension request, in working minutes (about 220
/// working days of 7.5 hours).
pub const MAX_EXTENSION_MINUTES: i64 = 100_000;

impl CaseState {
    /// A new case and its `Created` event, which starts the acceptance
    /// clock. Refused when the area path is empty or the clock cannot be
    /// computed.
    pub fn new(
        new: NewCase,
        now: DateTime<Utc>,
        ctx: &SlaContext<'_>,
    ) -> Result<(CaseState, Event), Refusal> {
        if new.area_path.is_empty() {
            return Err(Refusal::Invalid {
                field: "area_path",
                message: "a case needs its area path (city first)".into(),
            });
        }
        let mut clocks = Vec::new();
        if let Some(limit) = ctx.policy.limit_for(
            Stage::Acceptance,
            &new.category,
            new.urgency,
            &new.area_path,
        ) {
            clocks.push(
                StageClock::start(&ctx.working, Stage::Acceptance, limit, now).map_err(
                    |source| Refusal::Clock {
                        stage: Stage::Acceptance,
                        source,
                    },
                )?,
            );
        }
        let event = Event::Created {
            at: now,
            id: new.id,
            channel: new.channel,
            category: new.category,
            urgency: new.urgency,
            area_path: new.area_path,
            reporter: new.reporter,
            clocks,
        };
        let state = CaseState::from_created(&event).ok_or_else(|| Refusal::Invalid {
            field: "event",
            message: "internal: not a created event".into(),
        })?;
        Ok((state, event))
    }

    /// The state right after a `Created` event; `None` for any other event.
    pub fn from_created(event: &Event) -> Option<CaseState> {
        let Event::Created {
            at,
            id,
            channel,
            category,
            urgency,
            area_path,
            reporter,
            clocks,
        } = event
        else {
            return None;
        };
        let mut sla = SlaState::default();
        sla.put(clocks);
        Some(CaseState {
            id: *id,
            channel: *channel,
            category: category.clone(),
            urgency: *urgency,
            area_path: area_path.clone(),
            reporter: *reporter,
            created_at: *at,
            updated_at: *at,
            version: 1,
            status: channel.initial_status(),
            lead: None,
            units: Vec::new(),
            dispatch_chain: Vec::new(),
            arbitrated: Default::default(),
            returns_by_unit: Default::default(),
            review_rejections: 0,
            reworks: 0,
            redos: 0,
            extensions_requested_minutes: 0,
            extensions_approved_minutes: 0,
            pending_extension: None,
            supervised: false,
            urges: 0,
            rating: None,
            rating_reasonable: None,
            sla,
        })
    }
}

/// The state a history folds to: `Created` first, then [`apply`] for each
/// further event. `None` when the history is empty or does not start with
/// `Created`.
pub fn replay(events: &[Event]) -> Option<CaseState> {
    let (first, rest) = events.split_first()?;
    let state = CaseState::from_created(first)?;
    Some(rest.iter().fold(state, apply))
}

// ---------------------------------------------------------------------------
// The state view

fn is_before_handling(status: StatusKind) -> bool {
    matches!(
        status,
        StatusKind::Reported
            | StatusKind::Verified
            | StatusKind::Accepted
            | StatusKind::Registered
            | StatusKind::Dispatched
            | StatusKind::Returned
    )
}

/// Whether the status (ignoring conditions) admits the action.
fn status_admits(status: StatusKind, action: CommandKind) -> bool {
    use CommandKind as C;
    use StatusKind as S;
    match action {
        // The reporter may comment on any case that is not merged away, and
        // rate a closed one (好差评 after 办结).
        C::Comment => return status != S::Merged,
        C::Rate if status == S::Closed => return true,
        _ => {}
    }
    if status.is_terminal() {
        return false;
    }
    match action {
        C::Verify => status == S::Reported,
        C::Accept => status == S::Verified,
        C::Decline | C::SelfHandle => matches!(status, S::Reported | S::Verified),
        C::Register | C::Void => status == S::Accepted,
        C::Dispatch => matches!(status, S::Registered | S::Returned),
        C::SubDispatch | C::Sign | C::Return => status == S::Dispatched,
        C::Arbitrate => status == S::Returned,
        C::RequestExtension | C::DecideExtension | C::Hang | C::Reply => status == S::Handling,
        C::Resume => status == S::Hung,
        C::Note => matches!(status, S::Handling | S::Hung),
        C::Review => status == S::Replied,
        C::Check => status == S::Checking,
        C::Rate => status == S::Callback,
        C::Judge => status == S::FollowUp,
        C::Comment => true,
        C::Close | C::Urge | C::Supervise | C::Alarm => true,
        C::Merge => is_before_handling(status),
    }
}

/// The state's verdict on an action: `Ok` or the refusal to give.
fn state_allows(state: &CaseState, action: CommandKind) -> Result<(), Refusal> {
    let status = state.status.kind();
    let not_allowed = || Refusal::NotAllowedInState {
        action: action.as_str(),
        status: status.as_str(),
        allowed: allowed_actions(state),
    };
    if !status_admits(status, action) {
        return Err(not_allowed());
    }
    match action {
        CommandKind::SelfHandle if state.channel != Channel::Inspector => Err(Refusal::Invalid {
            field: "channel",
            message: format!(
                "self-handling (自处理) is only for cases an inspector reported; this case came in via {}",
                state.channel
            ),
        }),
        CommandKind::Return => match &state.lead {
            Some(lead) if state.arbitrated.contains(lead) => {
                Err(Refusal::Arbitrated { unit: lead.clone() })
            }
            _ => Ok(()),
        },
        CommandKind::RequestExtension if state.pending_extension.is_some() => Err(not_allowed()),
        CommandKind::DecideExtension if state.pending_extension.is_none() => Err(not_allowed()),
        CommandKind::Rate if status == StatusKind::Closed && state.rating.is_some() => {
            Err(Refusal::Invalid {
                field: "level",
                message: "this case has been rated already".into(),
            })
        }
        CommandKind::Rate if status == StatusKind::Closed && state.lead.is_none() => {
            Err(Refusal::Invalid {
                field: "level",
                message:
                    "this case was closed before any unit handled it; there is no handling to rate"
                        .into(),
            })
        }
        _ => Ok(()),
    }
}

fn state_allows_quietly(state: &CaseState, action: CommandKind) -> bool {
    let status = state.status.kind();
    status_admits(status, action)
        && match action {
            CommandKind::SelfHandle => state.channel == Channel::Inspector,
            CommandKind::Return => state
                .lead
                .as_ref()
                .is_none_or(|lead| !state.arbitrated.contains(lead)),
            CommandKind::RequestExtension => state.pending_extension.is_none(),
            CommandKind::DecideExtension => state.pending_extension.is_some(),
            CommandKind::Rate => {
                status != StatusKind::Closed || (state.rating.is_none() && state.lead.is_some())
            }
            _ => true,
        }
}

/// The actions the case's state allows, for anyone (the state-only view),
/// as action names in [`CommandKind`] order. Only the system records sensor
/// alarms (`alarm`), so that one is not listed.
pub fn allowed_actions(state: &CaseState) -> Vec<&'static str> {
    CommandKind::ALL
        .iter()
        .copied()
        .filter(|action| *action != CommandKind::Alarm)
        .filter(|action| state_allows_quietly(state, *action))
        .map(CommandKind::as_str)
        .collect()
}

/// The actions this actor may take on this case now: the state's actions
/// filtered by the actor's role and scope (command fields are not known,
/// so they are not checked). `close` is listed when some closing is open to
/// the actor.
pub fn allowed_actions_for(state: &CaseState, actor: &Actor) -> Vec<&'static str> {
    CommandKind::ALL
        .iter()
        .copied()
        .filter(|action| state_allows_quietly(state, *action))
        .filter(|action| match action {
            CommandKind::Close => {
                permit(state, actor, *action, Some(ClosingType::Special)).is_ok()
                    || (state.status == CaseStatus::Callback
                        && permit(state, actor, *action, Some(ClosingType::Normal)).is_ok())
            }
            _ => permit(state, actor, *action, None).is_ok(),
        })
        .map(CommandKind::as_str)
        .collect()
}

// ---------------------------------------------------------------------------
// Roles and scope

/// One kind of actor that may take an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Authority {
    /// An operator whose areas cover the case.
    Operator,
    /// A supervisor / inspector whose areas cover the case.
    Supervisor,
    /// An admin, everywhere.
    Admin,
    /// A handler or department lead of the lead unit.
    LeadUnit,
    /// A department lead of the lead unit.
    LeadUnitLead,
    /// A handler or department lead of the lead unit or a co-unit.
    AnyUnit,
    /// The citizen who reported the case.
    Reporter,
}

impl Authority {
    fn has_role(self, role: Role) -> bool {
        match self {
            Authority::Operator => role == Role::Operator,
            Authority::Supervisor => role == Role::Supervisor,
            Authority::Admin => role == Role::Admin,
            Authority::LeadUnit | Authority::AnyUnit => {
                matches!(role, Role::Handler | Role::DeptLead)
            }
            Authority::LeadUnitLead => role == Role::DeptLead,
            Authority::Reporter => role == Role::Citizen,
        }
    }

    /// `Ok` when in scope, else why not.
    fn in_scope(self, state: &CaseState, actor: &Actor) -> Result<(), &'static str> {
        let is_lead = || {
            state
                .lead
                .as_ref()
                .is_some_and(|lead| actor.is_member_of(lead))
        };
        match self {
            Authority::Operator | Authority::Supervisor => actor
                .covers(&state.area_path)
                .then_some(())
                .ok_or("the case lies outside your areas"),
            Authority::Admin => Ok(()),
            Authority::LeadUnit | Authority::LeadUnitLead => is_lead()
                .then_some(())
                .ok_or("your department is not the case's lead unit"),
            Authority::AnyUnit => state
                .units
                .iter()
                .any(|unit| actor.is_member_of(unit))
                .then_some(())
                .ok_or("your department is not among the case's units"),
            Authority::Reporter => ((actor.user.is_some() && actor.user == state.reporter)
                || actor.receipt == Some(state.id))
            .then_some(())
            .ok_or("only the citizen who reported the case may do this"),
        }
    }
}

fn authorities(
    status: StatusKind,
    action: CommandKind,
    closing: Option<ClosingType>,
) -> &'static [Authority] {
    use Authority as A;
    use CommandKind as C;
    match action {
        C::Verify => &[A::Operator, A::Supervisor],
        C::Accept
        | C::Decline
        | C::Register
        | C::Void
        | C::Dispatch
        | C::Arbitrate
        | C::Review
        | C::Merge => &[A::Operator],
        C::SelfHandle | C::Check => &[A::Supervisor],
        C::SubDispatch => &[A::LeadUnitLead],
        C::Sign | C::Return | C::RequestExtension | C::Reply => &[A::LeadUnit],
        C::DecideExtension | C::Hang | C::Resume => &[A::LeadUnitLead, A::Operator],
        C::Note => &[A::AnyUnit, A::Operator],
        // After closing only the citizen rates (好差评); on the callback
        // the operator may record the rating given on the phone.
        C::Rate if status == StatusKind::Closed => &[A::Reporter],
        C::Rate => &[A::Operator, A::Reporter],
        C::Judge => &[A::Operator],
        C::Comment => &[A::Reporter],
        C::Close => match closing {
            Some(ClosingType::Special) => &[A::Admin, A::Supervisor],
            _ => &[A::Operator],
        },
        C::Urge | C::Supervise => &[A::Operator, A::Supervisor],
        // Only the system records sensor alarms.
        C::Alarm => &[],
    }
}

/// Role, then scope.
fn permit(
    state: &CaseState,
    actor: &Actor,
    action: CommandKind,
    closing: Option<ClosingType>,
) -> Result<(), Refusal> {
    if actor.is_system() {
        return if matches!(
            action,
            CommandKind::Urge | CommandKind::Supervise | CommandKind::Alarm
        ) {
            Ok(())
        } else {
            Err(Refusal::RoleNotAllowed {
                action: action.as_str(),
                role: "system",
            })
        };
    }
    let mut by_role = authorities(state.status.kind(), action, closing)
        .iter()
        .filter(|authority| authority.has_role(actor.role))
        .peekable();
    if by_role.peek().is_none() {
        return Err(Refusal::RoleNotAllowed {
            action: action.as_str(),
            role: actor.role.as_str(),
        });
    }
    let mut why = "";
    for authority in by_role {
        match authority.in_scope(state, actor) {
            Ok(()) => return Ok(()),
            Err(reason) => why = reason,
        }
    }
    Err(Refusal::OutOfScope {
        action: action.as_str(),
        why,
    })
}

// ---------------------------------------------------------------------------
// Field checks

fn text(field: &'static str, value: &str, required: bool) -> Result<String, Refusal> {
    let trimmed = value.trim();
    if required && trimmed.is_empty() {
        return Err(Refusal::Invalid {
            field,
            message: "must not be empty".into(),
        });
    }
    let chars = trimmed.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(Refusal::Invalid {
            field,
            message: format!("is {chars} characters long; at most {MAX_TEXT_CHARS} are allowed"),
        });
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(Refusal::Invalid {
            field,
            message: "must not contain control characters".into(),
        });
    }
    Ok(trimmed.to_owned())
}

fn invalid(field: &'static str, message: impl Into<String>) -> Refusal {
    Refusal::Invalid {
        field,
        message: message.into(),
    }
}

// ---------------------------------------------------------------------------
// Clocks inside decide

struct Clocks<'c, 'a> {
    state: &'c CaseState,
    ctx: &'c SlaContext<'a>,
    now: DateTime<Utc>,
}

impl Clocks<'_, '_> {
    /// A fresh clock for `stage` if the policy has a rule for it.
    fn start(&self, stage: Stage) -> Result<Option<StageClock>, Refusal> {
        let state = self.state;
        let Some(limit) =
            self.ctx
                .policy
                .limit_for(stage, &state.category, state.urgency, &state.area_path)
        else {
            return Ok(None);
        };
        StageClock::start(&self.ctx.working, stage, limit, self.now)
            .map(Some)
            .map_err(|source| Refusal::Clock { stage, source })
    }

    /// The stage's existing clock, resumed now (if it is paused).
    fn resume(&self, stage: Stage) -> Result<Option<StageClock>, Refusal> {
        match self.state.sla.clock(stage) {
            Some(clock) if clock.is_paused() => clock
                .resumed(&self.ctx.working, self.now)
                .map(Some)
                .map_err(|source| Refusal::Clock { stage, source }),
            _ => Ok(None),
        }
    }

    /// The stage's existing clock with `minutes` more allowance.
    fn extend(&self, stage: Stage, minutes: i64) -> Result<Option<StageClock>, Refusal> {
        match self.state.sla.clock(stage) {
            Some(clock) => clock
                .extended(&self.ctx.working, minutes)
                .map(Some)
                .map_err(|source| Refusal::Clock { stage, source }),
            None => Ok(None),
        }
    }
}

fn collect(clocks: impl IntoIterator<Item = Option<StageClock>>) -> Vec<StageClock> {
    clocks.into_iter().flatten().collect()
}

/// How a case closes after its rating: overdue when the handling clock
/// ever breached.
/// A redo (重办): handling resumes where it paused at the reply (or, on a
/// case reopened after closing, starts afresh), and the rectification clock
/// (整改) starts.
fn redo_clocks(clocks: &Clocks<'_, '_>) -> Result<Vec<StageClock>, Refusal> {
    let handling = match clocks.state.sla.clock(Stage::Handling) {
        Some(_) => clocks.resume(Stage::Handling)?,
        None => clocks.start(Stage::Handling)?,
    };
    Ok(collect([handling, clocks.start(Stage::Rectification)?]))
}

fn closing_after_rating(state: &CaseState) -> Closing {
    let kind = if state.sla.breached_stages.contains(&Stage::Handling) {
        ClosingType::Overdue
    } else {
        ClosingType::Normal
    };
    Closing {
        kind,
        self_handled: false,
    }
}

// ---------------------------------------------------------------------------
// decide

/// The events `command` by `actor` produces on `state` at `now`, or why it is
/// refused (see the module documentation for the order of checks). Pure:
/// the result depends only on the arguments.
pub fn decide(
    state: &CaseState,
    actor: &Actor,
    command: &Command,
    now: DateTime<Utc>,
    ctx: &SlaContext<'_>,
) -> Result<Vec<Event>, Refusal> {
    let action = command.kind();
    state_allows(state, action)?;
    let closing = match command {
        Command::Close { closing, .. } => {
            if *closing != ClosingType::Special && state.status != CaseStatus::Callback {
                return Err(invalid(
                    "closing",
                    format!(
                        "a {closing} closing comes only after the callback (回访); the case is {}, close it as special instead",
                        state.status.as_str()
                    ),
                ));
            }
            Some(*closing)
        }
        _ => None,
    };
    permit(state, actor, action, closing)?;

    let at = now;
    let by = actor.user;
    let clocks = Clocks { state, ctx, now };
    // The lead unit; present in every state after dispatch.
    let lead = || {
        state
            .lead
            .clone()
            .ok_or_else(|| invalid("lead", "the case has no lead unit"))
    };

    let events = match command {
        Command::Verify { note } => vec![Event::Verified {
            at,
            by,
            note: text("note", note, false)?,
        }],
        Command::Accept => vec![Event::Accepted {
            at,
            by,
            clocks: collect([clocks.start(Stage::Registration)?]),
        }],
        Command::Decline { reason } => vec![Event::Declined {
            at,
            by,
            reason: text("reason", reason, true)?,
        }],
        Command::Register { criteria_met } => {
            if !criteria_met {
                return Err(Refusal::CriteriaNotMet {
                    category: state.category.clone(),
                });
            }
            vec![Event::Registered {
                at,
                by,
                clocks: collect([clocks.start(Stage::Dispatch)?]),
            }]
        }
        Command::Void { reason } => vec![Event::Voided {
            at,
            by,
            reason: text("reason", reason, true)?,
        }],
        Command::SelfHandle { note } => {
            let note = text("note", note, true)?;
            vec![
                Event::SelfHandled {
                    at,
                    by,
                    note: note.clone(),
                },
                Event::Closed {
                    at,
                    by,
                    closing: Closing {
                        kind: ClosingType::Normal,
                        self_handled: true,
                    },
                    note,
                },
            ]
        }
        Command::Dispatch { units, lead } => {
            check_units(units, lead)?;
            let first = state.status == CaseStatus::Registered
                && !state.sla.clocks.contains_key(&Stage::Handling);
            let handling = if first {
                clocks.start(Stage::Handling)?
            } else {
                None
            };
            vec![Event::Dispatched {
                at,
                by,
                units: units.clone(),
                lead: lead.clone(),
                clocks: collect([clocks.start(Stage::Signing)?, handling]),
            }]
        }
        Command::SubDispatch { to } => {
            let from = lead()?;
            if state.dispatch_chain.contains(to) || *to == from {
                return Err(invalid(
                    "to",
                    format!(
                        "{to} already had the case in this dispatch chain ({}); pass it further down, or return it",
                        chain_text(&state.dispatch_chain)
                    ),
                ));
            }
            vec![Event::SubDispatched {
                at,
                by,
                from,
                to: to.clone(),
                clocks: collect([clocks.start(Stage::Signing)?]),
            }]
        }
        Command::Sign => vec![Event::Signed {
            at,
            by,
            unit: lead()?,
        }],
        Command::Return { reason_code, note } => {
            let note = text("note", note, *reason_code == ReturnReason::Other)?;
            vec![Event::Returned {
                at,
                by,
                unit: lead()?,
                reason_code: *reason_code,
                note,
                clocks: collect([clocks.start(Stage::Dispatch)?]),
            }]
        }
        Command::Arbitrate { responsible, note } => vec![Event::Arbitrated {
            at,
            by,
            responsible: responsible.clone(),
            note: text("note", note, false)?,
            clocks: collect([clocks.start(Stage::Signing)?]),
        }],
        Command::RequestExtension { minutes, reason } => {
            if !(1..=MAX_EXTENSION_MINUTES).contains(minutes) {
                return Err(invalid(
                    "minutes",
                    format!(
                        "an extension is 1 to {MAX_EXTENSION_MINUTES} working minutes, not {minutes}"
                    ),
                ));
            }
            vec![Event::ExtensionRequested {
                at,
                by,
                unit: lead()?,
                minutes: *minutes,
                reason: text("reason", reason, true)?,
            }]
        }
        Command::DecideExtension { approve, note } => {
            let minutes = state
                .pending_extension
                .as_ref()
                .map_or(0, |pending| pending.minutes);
            let note = text("note", note, false)?;
            let extended = if *approve {
                clocks.extend(Stage::Handling, minutes)?
            } else {
                None
            };
            vec![Event::ExtensionDecided {
                at,
                by,
                approve: *approve,
                minutes,
                note,
                clocks: collect([extended]),
            }]
        }
        Command::Hang { reason } => vec![Event::Hung {
            at,
            by,
            reason: text("reason", reason, true)?,
        }],
        Command::Resume => vec![Event::Resumed {
            at,
            by,
            clocks: collect([clocks.resume(Stage::Handling)?]),
        }],
        Command::Note { text: note } => vec![Event::Noted {
            at,
            by,
            unit: actor
                .department
                .clone()
                .filter(|department| state.units.contains(department)),
            text: text("text", note, true)?,
        }],
        Command::Reply { note, evidence } => {
            let note = text("note", note, true)?;
            if evidence.len() > MAX_EVIDENCE {
                return Err(invalid(
                    "evidence",
                    format!(
                        "{} references; at most {MAX_EVIDENCE} are allowed",
                        evidence.len()
                    ),
                ));
            }
            let evidence = evidence
                .iter()
                .map(|reference| text("evidence", reference, true))
                .collect::<Result<Vec<_>, _>>()?;
            vec![Event::Replied {
                at,
                by,
                unit: lead()?,
                note,
                evidence,
                clocks: collect([clocks.start(Stage::Review)?]),
            }]
        }
        Command::Review { approve, note } => {
            let note = text("note", note, false)?;
            let next = if *approve {
                clocks.start(Stage::Checking)?
            } else {
                clocks.resume(Stage::Handling)?
            };
            vec![Event::Reviewed {
                at,
                by,
                approve: *approve,
                note,
                clocks: collect([next]),
            }]
        }
        Command::Check { passed, note } => {
            let note = text("note", note, false)?;
            let next = if *passed {
                clocks.start(Stage::Callback)?
            } else {
                clocks.resume(Stage::Handling)?
            };
            vec![Event::Checked {
                at,
                by,
                passed: *passed,
                note,
                clocks: collect([next]),
            }]
        }
        Command::Rate {
            level,
            reasonable,
            comment,
        } => {
            let comment = text("comment", comment, false)?;
            let citizen = actor.role == Role::Citizen;
            match (level.is_dissatisfied(), reasonable) {
                (true, None) if !citizen => {
                    return Err(invalid(
                        "reasonable",
                        format!(
                            "a {} ({}) rating needs the judgement whether it is reasonable: true redoes the case (重办), false closes it",
                            level,
                            level.zh()
                        ),
                    ));
                }
                (true, Some(_)) if citizen => {
                    return Err(invalid(
                        "reasonable",
                        "the reporter does not judge their own rating; the follow-up (回访核实) does",
                    ));
                }
                (false, Some(_)) => {
                    return Err(invalid(
                        "reasonable",
                        format!(
                            "only a dissatisfied rating is judged reasonable or not; {level} takes none"
                        ),
                    ));
                }
                _ => {}
            }
            let closed = state.status.is_terminal();
            let follow_up = level.is_dissatisfied() && reasonable.is_none();
            let redo = *reasonable == Some(true);
            let started = if redo {
                redo_clocks(&clocks)?
            } else if follow_up && closed {
                collect([clocks.start(Stage::Callback)?])
            } else {
                Vec::new()
            };
            let rated = Event::Rated {
                at,
                by,
                level: *level,
                reasonable: *reasonable,
                comment,
                clocks: started,
            };
            if redo || follow_up || closed {
                vec![rated]
            } else {
                vec![
                    rated,
                    Event::Closed {
                        at,
                        by,
                        closing: closing_after_rating(state),
                        note: String::new(),
                    },
                ]
            }
        }
        Command::Judge { reasonable, note } => {
            let note = text("note", note, true)?;
            let judged = Event::Judged {
                at,
                by,
                reasonable: *reasonable,
                note,
                clocks: if *reasonable {
                    redo_clocks(&clocks)?
                } else {
                    Vec::new()
                },
            };
            if *reasonable {
                vec![judged]
            } else {
                vec![
                    judged,
                    Event::Closed {
                        at,
                        by,
                        closing: closing_after_rating(state),
                        note: String::new(),
                    },
                ]
            }
        }
        Command::Comment { text: body } => vec![Event::Commented {
            at,
            by,
            text: text("text", body, true)?,
        }],
        Command::Close { closing, note } => {
            let note = text("note", note, *closing == ClosingType::Special)?;
            vec![Event::Closed {
                at,
                by,
                closing: Closing {
                    kind: *closing,
                    self_handled: false,
                },
                note,
            }]
        }
        Command::Urge { note } => vec![Event::Urged {
            at,
            by,
            note: text("note", note, false)?,
        }],
        Command::Supervise { note } => vec![Event::Supervised {
            at,
            by,
            note: text("note", note, false)?,
        }],
        Command::Alarm {
            alarm,
            cleared,
            reason,
        } => vec![Event::Alarmed {
            at,
            by,
            alarm: *alarm,
            cleared: *cleared,
            reason: text("reason", reason, true)?,
        }],
        Command::Merge { parent } => {
            if *parent == state.id {
                return Err(invalid("parent", "a case cannot be merged into itself"));
            }
            vec![Event::Merged {
                at,
                by,
                parent: *parent,
            }]
        }
    };
    Ok(events)
}

fn chain_text(chain: &[DepartmentId]) -> String {
    chain
        .iter()
        .map(DepartmentId::as_str)
        .collect::<Vec<_>>()
        .join(" → ")
}

fn check_units(units: &[DepartmentId], lead: &DepartmentId) -> Result<(), Refusal> {
    if units.is_empty() {
        return Err(invalid("units", "name at least one unit"));
    }
    if units.len() > MAX_UNITS {
        return Err(invalid(
            "units",
            format!("{} units; at most {MAX_UNITS} are allowed", units.len()),
        ));
    }
    for (i, unit) in units.iter().enumerate() {
        if units[..i].contains(unit) {
            return Err(invalid("units", format!("{unit} is named twice")));
        }
    }
    if !units.contains(lead) {
        return Err(invalid(
            "lead",
            format!("the lead unit {lead} must be one of the units"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// apply

/// Replaces `old` by `new` in `units` (keeping the position of `old`,
/// dropping a duplicate `new`); appends `new` when `old` is absent.
fn replace_unit(units: &mut Vec<DepartmentId>, old: Option<&DepartmentId>, new: &DepartmentId) {
    let position = old.and_then(|old| units.iter().position(|unit| unit == old));
    match position {
        Some(i) => {
            units[i] = new.clone();
            let mut seen = false;
            units.retain(|unit| {
                if unit == new {
                    let keep = !seen;
                    seen = true;
                    keep
                } else {
                    true
                }
            });
        }
        None if !units.contains(new) => units.push(new.clone()),
        None => {}
    }
}

/// The state after `event`. Pure and infallible: every event produced by
/// [`decide`] or [`crate::on_timer`] for this state applies. Stopping and
/// pausing clocks follows from the event's kind (see [`crate::sla`]); the
/// clocks an event carries replace the stage's clock. A `Created` event
/// leaves an existing state unchanged (use [`CaseState::from_created`]).
pub fn apply(mut state: CaseState, event: &Event) -> CaseState {
    if matches!(event, Event::Created { .. }) {
        return state;
    }
    let at = event.at();
    state.version += 1;
    state.updated_at = at;
    let sla = &mut state.sla;
    match event {
        Event::Created { .. } => {}
        Event::Verified { .. } => state.status = CaseStatus::Verified,
        Event::Accepted { .. } => {
            state.status = CaseStatus::Accepted;
            sla.stop(Stage::Acceptance);
        }
        Event::Declined { .. } => {
            state.status = CaseStatus::Declined;
            sla.clear();
        }
        Event::Registered { .. } => {
            state.status = CaseStatus::Registered;
            sla.stop(Stage::Registration);
        }
        Event::Voided { .. } => {
            state.status = CaseStatus::Voided;
            sla.clear();
        }
        Event::SelfHandled { .. } => {}
        Event::Dispatched { units, lead, .. } => {
            state.status = CaseStatus::Dispatched;
            state.units = units.clone();
            state.lead = Some(lead.clone());
            state.dispatch_chain = vec![lead.clone()];
            sla.stop(Stage::Dispatch);
            sla.stop(Stage::Signing);
        }
        Event::SubDispatched { to, .. } => {
            replace_unit(&mut state.units, state.lead.as_ref(), to);
            state.lead = Some(to.clone());
            state.dispatch_chain.push(to.clone());
            sla.stop(Stage::Signing);
        }
        Event::Signed { .. } => {
            state.status = CaseStatus::Handling;
            sla.stop(Stage::Signing);
        }
        Event::Returned { unit, .. } => {
            state.status = CaseStatus::Returned;
            *state.returns_by_unit.entry(unit.clone()).or_insert(0) += 1;
            sla.stop(Stage::Signing);
        }
        Event::Arbitrated { responsible, .. } => {
            state.status = CaseStatus::Dispatched;
            replace_unit(&mut state.units, state.lead.as_ref(), responsible);
            state.lead = Some(responsible.clone());
            state.dispatch_chain = vec![responsible.clone()];
            state.arbitrated.insert(responsible.clone());
            sla.stop(Stage::Dispatch);
        }
        Event::ExtensionRequested {
            unit,
            minutes,
            reason,
            at,
            ..
        } => {
            state.extensions_requested_minutes =
                state.extensions_requested_minutes.saturating_add(*minutes);
            state.pending_extension = Some(PendingExtension {
                unit: unit.clone(),
                minutes: *minutes,
                reason: reason.clone(),
                requested_at: *at,
            });
        }
        Event::ExtensionDecided {
            approve, minutes, ..
        } => {
            state.pending_extension = None;
            if *approve {
                state.extensions_approved_minutes =
                    state.extensions_approved_minutes.saturating_add(*minutes);
            }
        }
        Event::Hung { .. } => {
            state.status = CaseStatus::Hung;
            sla.pause(Stage::Handling, at);
        }
        Event::Resumed { .. } => state.status = CaseStatus::Handling,
        Event::Noted { .. } => {}
        Event::Replied { .. } => {
            state.status = CaseStatus::Replied;
            sla.pause(Stage::Handling, at);
        }
        Event::Reviewed { approve, .. } => {
            sla.stop(Stage::Review);
            if *approve {
                state.status = CaseStatus::Checking;
            } else {
                state.status = CaseStatus::Handling;
                state.review_rejections += 1;
            }
        }
        Event::Checked { passed, .. } => {
            sla.stop(Stage::Checking);
            if *passed {
                sla.stop(Stage::Rectification);
                state.status = CaseStatus::Callback;
            } else {
                state.status = CaseStatus::Handling;
                state.reworks += 1;
            }
        }
        Event::Rated {
            level, reasonable, ..
        } => {
            state.rating = Some(*level);
            state.rating_reasonable = *reasonable;
            if level.is_dissatisfied() && reasonable.is_none() {
                // The callback clock keeps running (or, after closing, the
                // event starts a new one) until the judgement.
                state.status = CaseStatus::FollowUp;
            } else {
                sla.stop(Stage::Callback);
                if level.is_dissatisfied() && *reasonable == Some(true) {
                    state.status = CaseStatus::Handling;
                    state.redos += 1;
                }
            }
        }
        Event::Judged { reasonable, .. } => {
            sla.stop(Stage::Callback);
            state.rating_reasonable = Some(*reasonable);
            if *reasonable {
                state.status = CaseStatus::Handling;
                state.redos += 1;
            }
        }
        Event::Commented { .. } => {}
        Event::Closed { closing, .. } => {
            state.status = CaseStatus::Closed { closing: *closing };
            state.pending_extension = None;
            sla.clear();
        }
        Event::Urged { .. } => state.urges += 1,
        Event::Supervised { .. } => state.supervised = true,
        Event::Alarmed { .. } => {}
        Event::Merged { parent, .. } => {
            state.status = CaseStatus::Merged { parent: *parent };
            sla.clear();
        }
        Event::SlaWarned { stage, .. } => {
            if let Some(clock) = sla.clocks.get_mut(stage) {
                clock.warned = true;
            }
        }
        Event::SlaBreached { stage, .. } => {
            if let Some(clock) = sla.clocks.get_mut(stage) {
                clock.warned = true;
                clock.breached = true;
            }
            sla.breached_stages.insert(*stage);
        }
    }
    state.sla.put(event.clocks());
    state
}
