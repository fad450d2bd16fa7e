//! A scripted walk through every branch of the loop, on the real 2026
//! calendar with Shanghai office hours (08:30–12:00, 13:30–17:30). March 2026
//! has no holidays, so working days are Monday to Friday.

mod common;

use cityloop_domain::UserId;
use cityloop_workflow::{
    Actor, CaseId, CaseStatus, Channel, Closing, ClosingType, Command, Event, Rating, Refusal,
    ReturnReason, Stage, TimerKind, allowed_actions, allowed_actions_for, on_timer, timers,
};
use common::*;

fn due(case: &Case<'_>, stage: Stage) -> String {
    case.state
        .sla
        .clock(stage)
        .unwrap_or_else(|| panic!("no {stage} clock"))
        .due_at
        .to_rfc3339()
}

fn not_allowed(refusal: &Refusal) -> (&'static str, &'static str, Vec<&'static str>) {
    match refusal {
        Refusal::NotAllowedInState {
            action,
            status,
            allowed,
        } => (action, status, allowed.clone()),
        other => panic!("expected NotAllowedInState, got {other:?}"),
    }
}

#[test]
fn every_branch_of_the_loop_from_report_to_closing() {
    let fixture = Fixture::new(full_policy("5wd"));
    let mut case = fixture.open(Channel::Hotline, Some(100), "2026-03-02T09:00:00+08:00");
    assert_eq!(case.status(), "reported");
    assert_eq!(due(&case, Stage::Acceptance), "2026-03-02T11:00:00+08:00");

    // Wrong state: the refusal names the state and what it allows.
    let refusal = case.refused(&operator(), Command::Accept, "2026-03-02T09:05:00+08:00");
    assert_eq!(
        not_allowed(&refusal),
        (
            "accept",
            "reported",
            vec![
                "verify",
                "decline",
                "comment",
                "close",
                "urge",
                "supervise",
                "merge"
            ]
        )
    );
    assert_eq!(
        refusal.to_string(),
        "cannot accept a case that is reported; allowed in this state: verify, decline, comment, close, urge, supervise, merge"
    );
    // Wrong role, wrong area.
    let verify = Command::Verify {
        note: "属实".into(),
    };
    assert_eq!(
        case.refused(
            &handler("310107-cgzf"),
            verify.clone(),
            "2026-03-02T09:05:00+08:00"
        ),
        Refusal::RoleNotAllowed {
            action: "verify",
            role: "handler"
        }
    );
    let refusal = case.refused(
        &operator_elsewhere(),
        verify.clone(),
        "2026-03-02T09:05:00+08:00",
    );
    assert!(
        matches!(
            refusal,
            Refusal::OutOfScope {
                action: "verify",
                ..
            }
        ),
        "{refusal:?}"
    );
    assert!(
        refusal.to_string().contains("outside your areas"),
        "{refusal}"
    );
    // Self-handling is for inspector reports only.
    let refusal = case.refused(
        &supervisor(),
        Command::SelfHandle {
            note: "扶正".into(),
        },
        "2026-03-02T09:05:00+08:00",
    );
    assert_eq!(refusal.field(), Some("channel"));

    // 核实, 受理, 立案.
    case.ok(&supervisor(), verify, "2026-03-02T09:10:00+08:00");
    assert_eq!(case.status(), "verified");
    case.ok(&operator(), Command::Accept, "2026-03-02T09:20:00+08:00");
    assert_eq!(case.status(), "accepted");
    assert!(case.state.sla.clock(Stage::Acceptance).is_none());
    assert_eq!(due(&case, Stage::Registration), "2026-03-02T11:20:00+08:00");
    let refusal = case.refused(
        &operator(),
        Command::Register {
            criteria_met: false,
        },
        "2026-03-02T09:30:00+08:00",
    );
    assert!(matches!(refusal, Refusal::CriteriaNotMet { .. }));
    assert!(refusal.to_string().contains("立案条件"), "{refusal}");
    assert!(refusal.to_string().contains("06010"), "{refusal}");
    case.ok(
        &operator(),
        Command::Register { criteria_met: true },
        "2026-03-02T09:30:00+08:00",
    );
    assert_eq!(case.status(), "registered");
    assert_eq!(due(&case, Stage::Dispatch), "2026-03-02T10:30:00+08:00");

    // 派遣: the fields are checked.
    let at = "2026-03-02T10:00:00+08:00";
    for (units, lead, field) in [
        (vec![], "310107-cgzf", "units"),
        (vec!["310107-lhsr"], "310107-cgzf", "lead"),
        (vec!["310107-cgzf", "310107-cgzf"], "310107-cgzf", "units"),
    ] {
        let command = Command::Dispatch {
            units: units.into_iter().map(dept).collect(),
            lead: dept(lead),
        };
        assert_eq!(case.refused(&operator(), command, at).field(), Some(field));
    }
    case.ok(
        &operator(),
        Command::Dispatch {
            units: vec![dept("310107-cgzf"), dept("310107015-jd")],
            lead: dept("310107-cgzf"),
        },
        at,
    );
    assert_eq!(case.status(), "dispatched");
    assert_eq!(case.state.co_units(), vec![dept("310107015-jd")]);
    // The handling clock starts at the first dispatch: 5 working days.
    assert_eq!(due(&case, Stage::Handling), "2026-03-09T10:00:00+08:00");
    assert_eq!(due(&case, Stage::Signing), "2026-03-02T11:00:00+08:00");
    assert!(case.state.sla.clock(Stage::Dispatch).is_none());

    // Only the lead unit signs or returns.
    let refusal = case.refused(
        &handler("310107015-jd"),
        Command::Sign,
        "2026-03-02T10:05:00+08:00",
    );
    assert!(
        matches!(refusal, Refusal::OutOfScope { action: "sign", .. }),
        "{refusal:?}"
    );

    // 退单, re-dispatch, 退单 again, 仲裁.
    case.ok(
        &handler("310107-cgzf"),
        Command::Return {
            reason_code: ReturnReason::NotOurResponsibility,
            note: "属绿化市容职责".into(),
        },
        "2026-03-02T10:10:00+08:00",
    );
    assert_eq!(case.status(), "returned");
    assert_eq!(case.state.returns_by_unit[&dept("310107-cgzf")], 1);
    assert!(case.state.sla.clock(Stage::Signing).is_none());
    assert_eq!(due(&case, Stage::Dispatch), "2026-03-02T11:10:00+08:00");
    // The handling clock keeps running from the first dispatch.
    assert_eq!(due(&case, Stage::Handling), "2026-03-09T10:00:00+08:00");
    assert_eq!(
        allowed_actions(&case.state),
        vec![
            "dispatch",
            "arbitrate",
            "comment",
            "close",
            "urge",
            "supervise",
            "merge"
        ]
    );
    case.ok(
        &operator(),
        Command::Dispatch {
            units: vec![dept("310107-lhsr")],
            lead: dept("310107-lhsr"),
        },
        "2026-03-02T10:20:00+08:00",
    );
    assert_eq!(due(&case, Stage::Handling), "2026-03-09T10:00:00+08:00");
    let refusal = case.refused(
        &handler("310107-lhsr"),
        Command::Return {
            reason_code: ReturnReason::Other,
            note: "  ".into(),
        },
        "2026-03-02T10:30:00+08:00",
    );
    assert_eq!(refusal.field(), Some("note"));
    case.ok(
        &handler("310107-lhsr"),
        Command::Return {
            reason_code: ReturnReason::WrongLocation,
            note: String::new(),
        },
        "2026-03-02T10:30:00+08:00",
    );
    assert_eq!(case.state.returns(), 2);
    case.ok(
        &operator(),
        Command::Arbitrate {
            responsible: dept("310107-lhsr"),
            note: "依权责清单第12条".into(),
        },
        "2026-03-02T10:40:00+08:00",
    );
    assert_eq!(case.status(), "dispatched");
    assert_eq!(case.state.lead, Some(dept("310107-lhsr")));
    assert!(!allowed_actions(&case.state).contains(&"return"));
    let refusal = case.refused(
        &handler("310107-lhsr"),
        Command::Return {
            reason_code: ReturnReason::NotOurResponsibility,
            note: String::new(),
        },
        "2026-03-02T10:50:00+08:00",
    );
    assert_eq!(
        refusal,
        Refusal::Arbitrated {
            unit: dept("310107-lhsr")
        }
    );
    assert!(
        refusal
            .to_string()
            .starts_with("arbitrated: the unit must handle it")
    );

    // 二级派遣 by the lead unit's department lead.
    let refusal = case.refused(
        &handler("310107-lhsr"),
        Command::SubDispatch {
            to: dept("310107015-jd"),
        },
        "2026-03-02T11:00:00+08:00",
    );
    assert_eq!(
        refusal,
        Refusal::RoleNotAllowed {
            action: "sub_dispatch",
            role: "handler"
        }
    );
    case.ok(
        &lead_of("310107-lhsr"),
        Command::SubDispatch {
            to: dept("310107015-jd"),
        },
        "2026-03-02T11:00:00+08:00",
    );
    assert_eq!(case.state.lead, Some(dept("310107015-jd")));
    assert_eq!(
        case.state.dispatch_chain,
        vec![dept("310107-lhsr"), dept("310107015-jd")]
    );
    assert_eq!(case.state.units, vec![dept("310107015-jd")]);
    assert_eq!(due(&case, Stage::Signing), "2026-03-02T12:00:00+08:00");
    let refusal = case.refused(
        &lead_of("310107015-jd"),
        Command::SubDispatch {
            to: dept("310107-lhsr"),
        },
        "2026-03-02T11:05:00+08:00",
    );
    assert_eq!(refusal.field(), Some("to"));

    // 签收.
    case.ok(
        &handler("310107015-jd"),
        Command::Sign,
        "2026-03-02T11:10:00+08:00",
    );
    assert_eq!(case.status(), "handling");
    assert!(case.state.sla.clock(Stage::Signing).is_none());

    // 延期: request, reject, request, approve.
    let street = handler("310107015-jd");
    let refusal = case.refused(
        &street,
        Command::RequestExtension {
            minutes: 0,
            reason: "施工".into(),
        },
        "2026-03-03T09:00:00+08:00",
    );
    assert_eq!(refusal.field(), Some("minutes"));
    case.ok(
        &street,
        Command::RequestExtension {
            minutes: 450,
            reason: "需协调施工".into(),
        },
        "2026-03-03T09:00:00+08:00",
    );
    assert_eq!(
        case.state.pending_extension.as_ref().map(|p| p.minutes),
        Some(450)
    );
    let refusal = case.refused(
        &street,
        Command::RequestExtension {
            minutes: 60,
            reason: "再延".into(),
        },
        "2026-03-03T09:05:00+08:00",
    );
    assert_eq!(
        not_allowed(&refusal).2,
        vec![
            "decide_extension",
            "hang",
            "note",
            "reply",
            "comment",
            "close",
            "urge",
            "supervise"
        ]
    );
    assert_eq!(
        case.refused(
            &street,
            Command::DecideExtension {
                approve: true,
                note: String::new()
            },
            "2026-03-03T09:10:00+08:00",
        ),
        Refusal::RoleNotAllowed {
            action: "decide_extension",
            role: "handler"
        }
    );
    case.ok(
        &operator(),
        Command::DecideExtension {
            approve: false,
            note: "理由不足".into(),
        },
        "2026-03-03T09:10:00+08:00",
    );
    assert_eq!(case.state.pending_extension, None);
    assert_eq!(due(&case, Stage::Handling), "2026-03-09T10:00:00+08:00");
    case.ok(
        &street,
        Command::RequestExtension {
            minutes: 450,
            reason: "需协调施工单位".into(),
        },
        "2026-03-03T09:20:00+08:00",
    );
    case.ok(
        &lead_of("310107015-jd"),
        Command::DecideExtension {
            approve: true,
            note: "同意".into(),
        },
        "2026-03-03T09:30:00+08:00",
    );
    // One more working day of allowance.
    assert_eq!(due(&case, Stage::Handling), "2026-03-10T10:00:00+08:00");
    assert_eq!(case.state.extensions_requested_minutes, 900);
    assert_eq!(case.state.extensions_approved_minutes, 450);

    // 挂账 for one working day: the clock pauses, the due instant moves.
    let refusal = case.refused(
        &street,
        Command::Hang {
            reason: "管线施工".into(),
        },
        "2026-03-04T10:00:00+08:00",
    );
    assert!(matches!(
        refusal,
        Refusal::RoleNotAllowed { action: "hang", .. }
    ));
    assert_eq!(
        case.refused(
            &operator(),
            Command::Hang { reason: " ".into() },
            "2026-03-04T10:00:00+08:00"
        )
        .field(),
        Some("reason")
    );
    case.ok(
        &operator(),
        Command::Hang {
            reason: "管线施工".into(),
        },
        "2026-03-04T10:00:00+08:00",
    );
    assert_eq!(case.status(), "hung");
    assert!(
        timers(&case.state)
            .iter()
            .all(|timer| timer.stage != Stage::Handling)
    );
    case.ok(
        &street,
        Command::Note {
            text: "施工队已进场".into(),
        },
        "2026-03-04T15:00:00+08:00",
    );
    case.ok(
        &lead_of("310107015-jd"),
        Command::Resume,
        "2026-03-05T10:00:00+08:00",
    );
    assert_eq!(case.status(), "handling");
    assert_eq!(due(&case, Stage::Handling), "2026-03-11T10:00:00+08:00");

    // 催办 and 督办.
    assert_eq!(
        case.refused(
            &citizen(100),
            Command::Urge {
                note: "快点".into()
            },
            "2026-03-05T10:30:00+08:00"
        ),
        Refusal::RoleNotAllowed {
            action: "urge",
            role: "citizen"
        }
    );
    case.ok(
        &operator(),
        Command::Urge {
            note: "请加快".into(),
        },
        "2026-03-05T10:30:00+08:00",
    );
    case.ok(
        &supervisor(),
        Command::Supervise {
            note: "重点督办".into(),
        },
        "2026-03-05T10:40:00+08:00",
    );
    assert_eq!(case.state.urges, 1);
    assert!(case.state.supervised);

    // 反馈 → 审核 ✗ → 反馈 → 审核 ✓ → 核查 ✗ (返工) → 反馈 → 审核 ✓ → 核查 ✓.
    assert_eq!(
        case.refused(
            &street,
            Command::Reply {
                note: "".into(),
                evidence: vec![]
            },
            "2026-03-05T14:00:00+08:00"
        )
        .field(),
        Some("note")
    );
    let reply = Command::Reply {
        note: "已修复".into(),
        evidence: vec!["media/1.jpg".into()],
    };
    case.ok(&street, reply.clone(), "2026-03-05T14:00:00+08:00");
    assert_eq!(case.status(), "replied");
    assert!(case.state.sla.clock(Stage::Handling).unwrap().is_paused());
    assert_eq!(due(&case, Stage::Review), "2026-03-06T14:00:00+08:00");
    case.ok(
        &operator(),
        Command::Review {
            approve: false,
            note: "照片不清".into(),
        },
        "2026-03-05T14:30:00+08:00",
    );
    assert_eq!(case.status(), "handling");
    assert_eq!(case.state.review_rejections, 1);
    // Resumed from where it was: the 30 minutes under review do not count.
    assert_eq!(due(&case, Stage::Handling), "2026-03-11T10:30:00+08:00");
    case.ok(&street, reply.clone(), "2026-03-05T15:00:00+08:00");
    case.ok(
        &operator(),
        Command::Review {
            approve: true,
            note: String::new(),
        },
        "2026-03-05T15:30:00+08:00",
    );
    assert_eq!(case.status(), "checking");
    assert_eq!(
        case.refused(
            &operator(),
            Command::Check {
                passed: true,
                note: String::new()
            },
            "2026-03-05T16:00:00+08:00"
        ),
        Refusal::RoleNotAllowed {
            action: "check",
            role: "operator"
        }
    );
    case.ok(
        &supervisor(),
        Command::Check {
            passed: false,
            note: "仍有残留".into(),
        },
        "2026-03-05T16:00:00+08:00",
    );
    assert_eq!(case.status(), "handling");
    assert_eq!(case.state.reworks, 1);
    assert_eq!(case.state.lead, Some(dept("310107015-jd")));
    case.ok(&street, reply.clone(), "2026-03-05T16:30:00+08:00");
    case.ok(
        &operator(),
        Command::Review {
            approve: true,
            note: String::new(),
        },
        "2026-03-06T09:00:00+08:00",
    );
    case.ok(
        &supervisor(),
        Command::Check {
            passed: true,
            note: "已整改".into(),
        },
        "2026-03-06T09:30:00+08:00",
    );
    assert_eq!(case.status(), "callback");
    assert_eq!(due(&case, Stage::Callback), "2026-03-10T09:30:00+08:00");

    // 回访: dissatisfied needs a judgement; only the reporter or an operator rates.
    assert_eq!(
        case.refused(
            &operator(),
            Command::Rate {
                level: Rating::Dissatisfied,
                reasonable: None,
                comment: String::new(),
            },
            "2026-03-06T10:00:00+08:00"
        )
        .field(),
        Some("reasonable")
    );
    assert_eq!(
        case.refused(
            &operator(),
            Command::Rate {
                level: Rating::Satisfied,
                reasonable: Some(true),
                comment: String::new(),
            },
            "2026-03-06T10:00:00+08:00"
        )
        .field(),
        Some("reasonable")
    );
    let refusal = case.refused(
        &citizen(999),
        Command::Rate {
            level: Rating::Satisfied,
            reasonable: None,
            comment: String::new(),
        },
        "2026-03-06T10:00:00+08:00",
    );
    assert!(
        matches!(refusal, Refusal::OutOfScope { action: "rate", .. }),
        "{refusal:?}"
    );
    // The reporter does not judge their own rating.
    assert_eq!(
        case.refused(
            &citizen(100),
            Command::Rate {
                level: Rating::VeryDissatisfied,
                reasonable: Some(true),
                comment: String::new(),
            },
            "2026-03-06T10:00:00+08:00",
        )
        .field(),
        Some("reasonable")
    );
    // 差评 → 回访核实: the callback clock keeps running until the judgement.
    let events = case.ok(
        &citizen(100),
        Command::Rate {
            level: Rating::VeryDissatisfied,
            reasonable: None,
            comment: "垃圾还在".into(),
        },
        "2026-03-06T10:00:00+08:00",
    );
    assert_eq!(events.len(), 1);
    assert_eq!(case.status(), "follow_up");
    assert_eq!(due(&case, Stage::Callback), "2026-03-10T09:30:00+08:00");
    assert_eq!(
        allowed_actions_for(&case.state, &citizen(100)),
        vec!["comment"]
    );
    assert_eq!(
        case.refused(
            &operator(),
            Command::Judge {
                reasonable: true,
                note: " ".into(),
            },
            "2026-03-06T10:30:00+08:00",
        )
        .field(),
        Some("note")
    );
    // 重办: judged reasonable, back to handling by the same unit, with the
    // 15-working-day rectification clock (整改) from the judgement.
    case.ok(
        &operator(),
        Command::Judge {
            reasonable: true,
            note: "回访核实：现场仍有垃圾".into(),
        },
        "2026-03-06T10:30:00+08:00",
    );
    assert_eq!(
        due(&case, Stage::Rectification),
        "2026-03-27T10:30:00+08:00"
    );
    assert_eq!(case.status(), "handling");
    assert_eq!(case.state.redos, 1);
    assert_eq!(case.state.rating, Some(Rating::VeryDissatisfied));
    assert!(!case.state.sla.clock(Stage::Handling).unwrap().is_paused());

    case.ok(&street, reply, "2026-03-06T11:00:00+08:00");
    case.ok(
        &operator(),
        Command::Review {
            approve: true,
            note: String::new(),
        },
        "2026-03-06T11:30:00+08:00",
    );
    case.ok(
        &supervisor(),
        Command::Check {
            passed: true,
            note: String::new(),
        },
        "2026-03-06T14:00:00+08:00",
    );
    let events = case.ok(
        &citizen(100),
        Command::Rate {
            level: Rating::Satisfied,
            reasonable: None,
            comment: String::new(),
        },
        "2026-03-06T15:00:00+08:00",
    );
    assert_eq!(
        events.iter().map(Event::as_str).collect::<Vec<_>>(),
        vec!["rated", "closed"]
    );
    assert_eq!(
        case.state.status,
        CaseStatus::Closed {
            closing: Closing {
                kind: ClosingType::Normal,
                self_handled: false
            }
        }
    );
    assert!(case.state.sla.clocks.is_empty());
    assert!(timers(&case.state).is_empty());

    // A closed case accepts nothing, from anyone.
    for (actor, command) in [
        (
            operator(),
            Command::Urge {
                note: String::new(),
            },
        ),
        (
            admin(),
            Command::Close {
                closing: ClosingType::Special,
                note: "x".into(),
            },
        ),
        (
            supervisor(),
            Command::Supervise {
                note: String::new(),
            },
        ),
    ] {
        let refusal = case.refused(&actor, command, "2026-03-06T16:00:00+08:00");
        assert_eq!(
            not_allowed(&refusal),
            (refusal_action(&refusal), "closed", vec!["comment"])
        );
    }
    // The rectification was checked on site: its clock stopped with the rest.
    assert_eq!(allowed_actions(&case.state), vec!["comment"]);
    // Rated once: the reporter may still comment but not rate again.
    assert_eq!(
        case.refused(
            &citizen(100),
            Command::Rate {
                level: Rating::Dissatisfied,
                reasonable: None,
                comment: String::new(),
            },
            "2026-03-06T16:00:00+08:00",
        )
        .field(),
        Some("level")
    );
    case.ok(
        &citizen(100),
        Command::Comment {
            text: "谢谢".into(),
        },
        "2026-03-06T16:05:00+08:00",
    );

    // The history tells the story.
    let kinds: Vec<&str> = case.history.iter().map(Event::as_str).collect();
    assert_eq!(kinds.first(), Some(&"created"));
    for kind in [
        "verified",
        "accepted",
        "registered",
        "dispatched",
        "returned",
        "arbitrated",
        "sub_dispatched",
        "signed",
        "extension_requested",
        "extension_decided",
        "hung",
        "noted",
        "resumed",
        "urged",
        "supervised",
        "replied",
        "reviewed",
        "checked",
        "rated",
        "closed",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    assert_eq!(case.state.version, case.history.len() as u64);
}

fn refusal_action(refusal: &Refusal) -> &'static str {
    not_allowed(refusal).0
}

#[test]
fn decline_and_void() {
    let fixture = Fixture::new(full_policy("5wd"));
    let mut case = fixture.open(Channel::CitizenApp, Some(7), "2026-03-02T09:00:00+08:00");
    assert_eq!(
        case.refused(
            &operator(),
            Command::Decline {
                reason: "  ".into()
            },
            "2026-03-02T09:10:00+08:00"
        )
        .field(),
        Some("reason")
    );
    case.ok(
        &operator(),
        Command::Decline {
            reason: "不属于城市管理范围".into(),
        },
        "2026-03-02T09:10:00+08:00",
    );
    assert_eq!(case.state.status, CaseStatus::Declined);
    assert!(timers(&case.state).is_empty());

    let mut case = fixture.open(Channel::Open311, None, "2026-03-02T09:00:00+08:00");
    case.ok(
        &operator(),
        Command::Verify {
            note: String::new(),
        },
        "2026-03-02T09:05:00+08:00",
    );
    case.ok(&operator(), Command::Accept, "2026-03-02T09:10:00+08:00");
    let refusal = case.refused(
        &operator(),
        Command::Decline {
            reason: "重复".into(),
        },
        "2026-03-02T09:15:00+08:00",
    );
    assert_eq!(
        not_allowed(&refusal).2,
        vec![
            "register",
            "void",
            "comment",
            "close",
            "urge",
            "supervise",
            "merge"
        ]
    );
    case.ok(
        &operator(),
        Command::Void {
            reason: "重复上报".into(),
        },
        "2026-03-02T09:15:00+08:00",
    );
    assert_eq!(case.state.status, CaseStatus::Voided);
    assert!(case.state.sla.clocks.is_empty());
}

#[test]
fn an_inspector_fixes_a_minor_issue_on_the_spot() {
    let fixture = Fixture::new(full_policy("5wd"));
    let mut case = fixture.open(Channel::Inspector, Some(3), "2026-03-02T09:00:00+08:00");
    // No separate verification for an inspector's report.
    assert_eq!(case.status(), "verified");
    assert!(allowed_actions(&case.state).contains(&"self_handle"));
    assert_eq!(
        case.refused(
            &operator(),
            Command::SelfHandle {
                note: "扶正".into()
            },
            "2026-03-02T09:05:00+08:00"
        ),
        Refusal::RoleNotAllowed {
            action: "self_handle",
            role: "operator"
        }
    );
    let events = case.ok(
        &supervisor(),
        Command::SelfHandle {
            note: "已扶正井盖".into(),
        },
        "2026-03-02T09:05:00+08:00",
    );
    assert_eq!(
        events.iter().map(Event::as_str).collect::<Vec<_>>(),
        vec!["self_handled", "closed"]
    );
    assert_eq!(
        case.state.closing(),
        Some(Closing {
            kind: ClosingType::Normal,
            self_handled: true
        })
    );
}

#[test]
fn merge_into_a_parent_case() {
    let fixture = Fixture::new(full_policy("5wd"));
    let mut case = fixture.open(Channel::Hotline, None, "2026-03-02T09:00:00+08:00");
    assert_eq!(
        case.refused(
            &operator(),
            Command::Merge { parent: CaseId(1) },
            "2026-03-02T09:05:00+08:00"
        )
        .field(),
        Some("parent")
    );
    case.ok(
        &operator(),
        Command::Merge { parent: CaseId(42) },
        "2026-03-02T09:05:00+08:00",
    );
    assert_eq!(case.state.status, CaseStatus::Merged { parent: CaseId(42) });

    // Not once handling has begun.
    let mut case = fixture.open(Channel::Inspector, None, "2026-03-02T09:00:00+08:00");
    case.ok(&operator(), Command::Accept, "2026-03-02T09:01:00+08:00");
    case.ok(
        &operator(),
        Command::Register { criteria_met: true },
        "2026-03-02T09:02:00+08:00",
    );
    case.ok(
        &operator(),
        Command::Dispatch {
            units: vec![dept("310107-cgzf")],
            lead: dept("310107-cgzf"),
        },
        "2026-03-02T09:03:00+08:00",
    );
    case.ok(
        &operator(),
        Command::Merge { parent: CaseId(42) },
        "2026-03-02T09:04:00+08:00",
    );
    assert_eq!(case.state.status, CaseStatus::Merged { parent: CaseId(42) });

    let mut case = fixture.open(Channel::Inspector, None, "2026-03-02T09:00:00+08:00");
    case.ok(&operator(), Command::Accept, "2026-03-02T09:01:00+08:00");
    case.ok(
        &operator(),
        Command::Register { criteria_met: true },
        "2026-03-02T09:02:00+08:00",
    );
    case.ok(
        &operator(),
        Command::Dispatch {
            units: vec![dept("310107-cgzf")],
            lead: dept("310107-cgzf"),
        },
        "2026-03-02T09:03:00+08:00",
    );
    case.ok(
        &handler("310107-cgzf"),
        Command::Sign,
        "2026-03-02T09:04:00+08:00",
    );
    let refusal = case.refused(
        &operator(),
        Command::Merge { parent: CaseId(42) },
        "2026-03-02T09:05:00+08:00",
    );
    assert_eq!(not_allowed(&refusal).0, "merge");
    assert_eq!(not_allowed(&refusal).1, "handling");
}

#[test]
fn special_closing_needs_the_right_role_and_a_note() {
    let fixture = Fixture::new(full_policy("5wd"));
    let mut case = fixture.open(Channel::Inspector, None, "2026-03-02T09:00:00+08:00");
    case.ok(&operator(), Command::Accept, "2026-03-02T09:01:00+08:00");
    case.ok(
        &operator(),
        Command::Register { criteria_met: true },
        "2026-03-02T09:02:00+08:00",
    );
    case.ok(
        &operator(),
        Command::Dispatch {
            units: vec![dept("310107-cgzf")],
            lead: dept("310107-cgzf"),
        },
        "2026-03-02T09:03:00+08:00",
    );
    case.ok(
        &handler("310107-cgzf"),
        Command::Sign,
        "2026-03-02T09:04:00+08:00",
    );
    case.ok(
        &operator(),
        Command::Hang {
            reason: "大修".into(),
        },
        "2026-03-02T09:05:00+08:00",
    );

    let special = |note: &str| Command::Close {
        closing: ClosingType::Special,
        note: note.into(),
    };
    assert_eq!(
        case.refused(&operator(), special("x"), "2026-03-02T10:00:00+08:00"),
        Refusal::RoleNotAllowed {
            action: "close",
            role: "operator"
        }
    );
    assert_eq!(
        case.refused(
            &operator(),
            Command::Close {
                closing: ClosingType::Normal,
                note: String::new()
            },
            "2026-03-02T10:00:00+08:00"
        )
        .field(),
        Some("closing")
    );
    assert_eq!(
        case.refused(&supervisor(), special(""), "2026-03-02T10:00:00+08:00")
            .field(),
        Some("note")
    );
    assert!(matches!(
        case.refused(&auditor(), special("x"), "2026-03-02T10:00:00+08:00"),
        Refusal::RoleNotAllowed {
            role: "auditor",
            ..
        }
    ));
    case.ok(
        &admin(),
        special("道路改建，问题随工程消除"),
        "2026-03-02T10:00:00+08:00",
    );
    assert_eq!(
        case.state.closing(),
        Some(Closing {
            kind: ClosingType::Special,
            self_handled: false
        })
    );
}

#[test]
fn operator_closes_after_an_unreachable_callback_and_unreasonable_dissatisfaction_closes() {
    let fixture = Fixture::new(full_policy("5wd"));
    let to_callback = |case: &mut Case<'_>| {
        case.ok(&operator(), Command::Accept, "2026-03-02T09:01:00+08:00");
        case.ok(
            &operator(),
            Command::Register { criteria_met: true },
            "2026-03-02T09:02:00+08:00",
        );
        case.ok(
            &operator(),
            Command::Dispatch {
                units: vec![dept("310107-cgzf")],
                lead: dept("310107-cgzf"),
            },
            "2026-03-02T09:03:00+08:00",
        );
        case.ok(
            &handler("310107-cgzf"),
            Command::Sign,
            "2026-03-02T09:04:00+08:00",
        );
        case.ok(
            &handler("310107-cgzf"),
            Command::Reply {
                note: "done".into(),
                evidence: vec![],
            },
            "2026-03-02T10:00:00+08:00",
        );
        case.ok(
            &operator(),
            Command::Review {
                approve: true,
                note: String::new(),
            },
            "2026-03-02T10:10:00+08:00",
        );
        case.ok(
            &supervisor(),
            Command::Check {
                passed: true,
                note: String::new(),
            },
            "2026-03-02T10:20:00+08:00",
        );
        assert_eq!(case.status(), "callback");
    };
    let mut case = fixture.open(Channel::Inspector, None, "2026-03-02T09:00:00+08:00");
    to_callback(&mut case);
    case.ok(
        &operator(),
        Command::Close {
            closing: ClosingType::Overdue,
            note: "电话无人接听".into(),
        },
        "2026-03-02T11:00:00+08:00",
    );
    assert_eq!(
        case.state.closing().map(|c| c.kind),
        Some(ClosingType::Overdue)
    );

    let mut case = fixture.open(Channel::Inspector, None, "2026-03-02T09:00:00+08:00");
    to_callback(&mut case);
    case.ok(
        &operator(),
        Command::Rate {
            level: Rating::Dissatisfied,
            reasonable: Some(false),
            comment: String::new(),
        },
        "2026-03-02T11:00:00+08:00",
    );
    assert_eq!(
        case.state.closing().map(|c| c.kind),
        Some(ClosingType::Normal)
    );
    assert_eq!(case.state.rating_reasonable, Some(false));
    assert_eq!(case.state.redos, 0);

    // 好差评 after closing: an anonymous reporter rates with the receipt.
    // The case was closed after an unreachable callback, without a rating.
    let mut case = fixture.open(Channel::CitizenWeb, None, "2026-03-02T09:00:00+08:00");
    case.ok(
        &operator(),
        Command::Verify {
            note: String::new(),
        },
        "2026-03-02T09:00:30+08:00",
    );
    to_callback(&mut case);
    case.ok(
        &operator(),
        Command::Close {
            closing: ClosingType::Normal,
            note: "电话无人接听".into(),
        },
        "2026-03-02T11:00:00+08:00",
    );
    assert_eq!(
        allowed_actions_for(&case.state, &Actor::receipt_holder(CaseId(1))),
        vec!["rate", "comment"]
    );
    // Another case's receipt proves nothing here; staff may not rate now.
    let refusal = case.refused(
        &Actor::receipt_holder(CaseId(2)),
        Command::Rate {
            level: Rating::Satisfied,
            reasonable: None,
            comment: String::new(),
        },
        "2026-03-03T09:00:00+08:00",
    );
    assert!(
        matches!(refusal, Refusal::OutOfScope { action: "rate", .. }),
        "{refusal:?}"
    );
    let refusal = case.refused(
        &operator(),
        Command::Rate {
            level: Rating::Satisfied,
            reasonable: None,
            comment: String::new(),
        },
        "2026-03-03T09:00:00+08:00",
    );
    assert!(
        matches!(refusal, Refusal::RoleNotAllowed { action: "rate", .. }),
        "{refusal:?}"
    );
    // A dissatisfied rating reopens the case for the follow-up (回访核实),
    // on a fresh callback clock (2 working days).
    case.ok(
        &Actor::receipt_holder(CaseId(1)),
        Command::Rate {
            level: Rating::Dissatisfied,
            reasonable: None,
            comment: "没有修好".into(),
        },
        "2026-03-03T09:00:00+08:00",
    );
    assert_eq!(case.status(), "follow_up");
    assert!(!case.state.status.is_terminal());
    assert_eq!(due(&case, Stage::Callback), "2026-03-05T09:00:00+08:00");
    assert!(
        timers(&case.state)
            .iter()
            .any(|t| t.stage == Stage::Callback)
    );
    // Judged not reasonable: closed again, the judgement on record.
    let events = case.ok(
        &operator(),
        Command::Judge {
            reasonable: false,
            note: "回访核实：已修复，群众误解".into(),
        },
        "2026-03-03T10:00:00+08:00",
    );
    assert_eq!(
        events.iter().map(Event::as_str).collect::<Vec<_>>(),
        vec!["judged", "closed"]
    );
    assert_eq!(case.state.rating, Some(Rating::Dissatisfied));
    assert_eq!(case.state.rating_reasonable, Some(false));
    assert!(timers(&case.state).is_empty());
}

#[test]
fn a_breach_supervises_automatically_and_closes_overdue() {
    let fixture = Fixture::new(full_policy("2wh"));
    let mut case = fixture.open(Channel::Inspector, None, "2026-03-02T09:00:00+08:00");
    case.ok(&operator(), Command::Accept, "2026-03-02T09:01:00+08:00");
    case.ok(
        &operator(),
        Command::Register { criteria_met: true },
        "2026-03-02T09:02:00+08:00",
    );
    case.ok(
        &operator(),
        Command::Dispatch {
            units: vec![dept("310107-cgzf")],
            lead: dept("310107-cgzf"),
        },
        "2026-03-02T09:00:00+08:00",
    );
    case.ok(
        &handler("310107-cgzf"),
        Command::Sign,
        "2026-03-02T09:10:00+08:00",
    );
    let handling: Vec<_> = timers(&case.state)
        .into_iter()
        .filter(|timer| timer.stage == Stage::Handling)
        .collect();
    assert_eq!(handling.len(), 2);
    assert_eq!(handling[0].kind, TimerKind::Warn80);
    assert_eq!(handling[0].due_at.to_rfc3339(), "2026-03-02T10:36:00+08:00");
    assert_eq!(handling[1].kind, TimerKind::Breach);
    assert_eq!(handling[1].due_at.to_rfc3339(), "2026-03-02T11:00:00+08:00");

    // Fired early (a stale row): nothing.
    assert!(on_timer(&case.state, &handling[1], t("2026-03-02T10:59:00+08:00")).is_empty());
    let warned = on_timer(&case.state, &handling[0], t("2026-03-02T10:36:00+08:00"));
    assert_eq!(
        warned.iter().map(Event::as_str).collect::<Vec<_>>(),
        vec!["sla_warned"]
    );
    for event in &warned {
        case.state = cityloop_workflow::apply(case.state.clone(), event);
        case.history.push(event.clone());
    }
    // Firing the same timer again yields nothing.
    assert!(on_timer(&case.state, &handling[0], t("2026-03-02T10:40:00+08:00")).is_empty());
    let breached = on_timer(&case.state, &handling[1], t("2026-03-02T11:00:00+08:00"));
    assert_eq!(
        breached.iter().map(Event::as_str).collect::<Vec<_>>(),
        vec!["sla_breached", "supervised"]
    );
    assert_eq!(breached[1].by(), None);
    for event in &breached {
        case.state = cityloop_workflow::apply(case.state.clone(), event);
        case.history.push(event.clone());
    }
    assert!(case.state.supervised);
    assert!(case.state.sla.breached_stages.contains(&Stage::Handling));
    assert!(on_timer(&case.state, &handling[1], t("2026-03-02T11:05:00+08:00")).is_empty());
    assert!(
        timers(&case.state)
            .iter()
            .all(|timer| timer.stage != Stage::Handling)
    );

    // The rest of the loop closes it as overdue (超期结案).
    case.ok(
        &handler("310107-cgzf"),
        Command::Reply {
            note: "done".into(),
            evidence: vec![],
        },
        "2026-03-02T14:00:00+08:00",
    );
    case.ok(
        &operator(),
        Command::Review {
            approve: true,
            note: String::new(),
        },
        "2026-03-02T14:10:00+08:00",
    );
    case.ok(
        &supervisor(),
        Command::Check {
            passed: true,
            note: String::new(),
        },
        "2026-03-02T14:20:00+08:00",
    );
    case.ok(
        &operator(),
        Command::Rate {
            level: Rating::BasicallySatisfied,
            reasonable: None,
            comment: String::new(),
        },
        "2026-03-02T15:00:00+08:00",
    );
    assert_eq!(
        case.state.closing().map(|c| c.kind),
        Some(ClosingType::Overdue)
    );
}

#[test]
fn the_system_only_urges_and_supervises() {
    let fixture = Fixture::new(full_policy("5wd"));
    let mut case = fixture.open(Channel::Hotline, None, "2026-03-02T09:00:00+08:00");
    assert_eq!(
        case.refused(
            &Actor::system(),
            Command::Verify {
                note: String::new()
            },
            "2026-03-02T09:05:00+08:00"
        ),
        Refusal::RoleNotAllowed {
            action: "verify",
            role: "system"
        }
    );
    case.ok(
        &Actor::system(),
        Command::Supervise {
            note: "自动督办".into(),
        },
        "2026-03-02T09:05:00+08:00",
    );
    assert!(case.state.supervised);
    assert_eq!(
        allowed_actions_for(&case.state, &Actor::system()),
        vec!["urge", "supervise", "alarm"]
    );
    // Sensor alarms are recorded by the system only, with their reason.
    let alarm = |cleared| Command::Alarm {
        alarm: 7,
        cleared,
        reason: "pm25 40 back within > 75".into(),
    };
    assert!(matches!(
        case.refused(&operator(), alarm(true), "2026-03-02T09:06:00+08:00"),
        Refusal::RoleNotAllowed {
            action: "alarm",
            ..
        }
    ));
    let events = case.ok(&Actor::system(), alarm(true), "2026-03-02T09:06:00+08:00");
    assert_eq!(events[0].as_str(), "alarmed");
    assert!(
        !allowed_actions(&case.state).contains(&"alarm"),
        "not listed for people"
    );
}

#[test]
fn allowed_actions_for_each_actor() {
    let fixture = Fixture::new(full_policy("5wd"));
    let mut case = fixture.open(Channel::Hotline, Some(100), "2026-03-02T09:00:00+08:00");
    assert_eq!(
        allowed_actions_for(&case.state, &operator()),
        vec!["verify", "decline", "urge", "supervise", "merge"]
    );
    assert_eq!(
        allowed_actions_for(&case.state, &supervisor()),
        vec!["verify", "close", "urge", "supervise"]
    );
    assert_eq!(allowed_actions_for(&case.state, &admin()), vec!["close"]);
    assert!(allowed_actions_for(&case.state, &operator_elsewhere()).is_empty());
    assert!(allowed_actions_for(&case.state, &auditor()).is_empty());
    // The reporter may add a public comment (补充说明), nothing else yet.
    assert_eq!(
        allowed_actions_for(&case.state, &citizen(100)),
        vec!["comment"]
    );

    case.ok(
        &operator(),
        Command::Verify {
            note: String::new(),
        },
        "2026-03-02T09:01:00+08:00",
    );
    case.ok(&operator(), Command::Accept, "2026-03-02T09:02:00+08:00");
    case.ok(
        &operator(),
        Command::Register { criteria_met: true },
        "2026-03-02T09:03:00+08:00",
    );
    case.ok(
        &operator(),
        Command::Dispatch {
            units: vec![dept("310107-cgzf"), dept("310107015-jd")],
            lead: dept("310107-cgzf"),
        },
        "2026-03-02T09:04:00+08:00",
    );
    assert_eq!(
        allowed_actions_for(&case.state, &handler("310107-cgzf")),
        vec!["sign", "return"]
    );
    assert_eq!(
        allowed_actions_for(&case.state, &lead_of("310107-cgzf")),
        vec!["sub_dispatch", "sign", "return"]
    );
    assert!(allowed_actions_for(&case.state, &handler("310107015-jd")).is_empty());
    case.ok(
        &handler("310107-cgzf"),
        Command::Sign,
        "2026-03-02T09:05:00+08:00",
    );
    assert_eq!(
        allowed_actions_for(&case.state, &handler("310107015-jd")),
        vec!["note"]
    );
    assert_eq!(
        allowed_actions_for(&case.state, &lead_of("310107-cgzf")),
        vec!["request_extension", "hang", "note", "reply"]
    );
    case.ok(
        &handler("310107015-jd"),
        Command::Note {
            text: "协办单位已到场".into(),
        },
        "2026-03-02T09:06:00+08:00",
    );
    match case.history.last() {
        Some(Event::Noted { unit, by, .. }) => {
            assert_eq!(unit.as_ref(), Some(&dept("310107015-jd")));
            assert_eq!(*by, Some(UserId(10)));
        }
        other => panic!("expected a note, got {other:?}"),
    }
}
