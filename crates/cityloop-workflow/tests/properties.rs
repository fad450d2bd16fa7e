//! Property tests: random sequences of random commands by random actors on
//! cases from random channels, interleaved with fired timers.
//!
//! Half of the steps are *guided*: they pick an action the actor is allowed
//! to take (per `allowed_actions_for`), so sequences reach deep into the
//! loop; the other half are fully random commands by fully random actors.

mod common;

use chrono::{DateTime, Duration, Utc};
use cityloop_calendar::Limit;
use cityloop_domain::{CategoryCode, CategoryKind, CategorySelector};
use cityloop_domain::{Role, UserId};
use cityloop_workflow::{
    Actor, CaseId, CaseState, CaseStatus, Channel, ClosingType, Command, CommandKind, Event,
    Rating, Refusal, ReturnReason, SlaRule, Stage, StatusKind, Urgency, allowed_actions,
    allowed_actions_for, apply, decide, on_timer, replay, timers,
};
use common::*;
use proptest::prelude::*;

const UNITS: [&str; 3] = ["310107-cgzf", "310107-lhsr", "310107015-jd"];
const TEXTS: [&str; 5] = ["", "  ", "ok", "已处理完毕", "bell\u{7}"];
const AREAS: [&str; 3] = ["310000", "310107", "310101"];
/// Actions that do not move a case forward, or end it early.
const SIDE_ACTIONS: [&str; 9] = [
    "comment",
    "urge",
    "supervise",
    "note",
    "close",
    "merge",
    "decline",
    "void",
    "self_handle",
];

#[derive(Debug, Clone)]
struct Seed {
    a: u8,
    b: u8,
    flag: bool,
    text: usize,
    minutes: i64,
}

#[derive(Debug, Clone)]
struct RandomActor {
    role: usize,
    department: Option<usize>,
    areas: u8,
    user: Option<i64>,
}

#[derive(Debug, Clone)]
enum Step {
    Command {
        guided: bool,
        pick: usize,
        pool: usize,
        actor: RandomActor,
        seed: Seed,
        gap_minutes: i64,
    },
    Timer {
        pick: usize,
        late_minutes: i64,
    },
}

fn seed() -> impl Strategy<Value = Seed> {
    (
        any::<u8>(),
        any::<u8>(),
        prop::bool::weighted(0.7),
        0..TEXTS.len(),
        -50i64..1000,
    )
        .prop_map(|(a, b, flag, text, minutes)| Seed {
            a,
            b,
            flag,
            text,
            minutes,
        })
}

fn random_actor() -> impl Strategy<Value = RandomActor> {
    (
        0..Role::ALL.len(),
        prop::option::of(0..UNITS.len()),
        0u8..8,
        prop::option::of(99i64..102),
    )
        .prop_map(|(role, department, areas, user)| RandomActor {
            role,
            department,
            areas,
            user,
        })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (any::<bool>(), any::<usize>(), any::<usize>(), random_actor(), seed(), 0i64..720)
            .prop_map(|(guided, pick, pool, actor, seed, gap_minutes)| Step::Command {
                guided,
                pick,
                pool,
                actor,
                seed,
                gap_minutes,
            }),
        1 => (any::<usize>(), 0i64..120).prop_map(|(pick, late_minutes)| Step::Timer { pick, late_minutes }),
    ]
}

fn build_actor(random: &RandomActor) -> Actor {
    Actor {
        receipt: None,
        user: random.user.map(UserId),
        role: Role::ALL[random.role],
        department: random.department.map(|i| dept(UNITS[i])),
        areas: AREAS
            .iter()
            .enumerate()
            .filter(|(i, _)| random.areas & (1 << i) != 0)
            .map(|(_, code)| area(code))
            .collect(),
    }
}

/// The actors a guided step chooses from.
fn pool() -> Vec<Actor> {
    let mut actors = vec![
        operator(),
        supervisor(),
        admin(),
        citizen(100),
        Actor::receipt_holder(CaseId(1)),
        Actor::receipt_holder(CaseId(2)),
        Actor::system(),
    ];
    for unit in UNITS {
        actors.push(handler(unit));
        actors.push(lead_of(unit));
    }
    actors
}

fn build(kind: CommandKind, seed: &Seed) -> Command {
    let text = || TEXTS[seed.text].to_owned();
    let unit = |i: u8| dept(UNITS[usize::from(i) % UNITS.len()]);
    match kind {
        CommandKind::Verify => Command::Verify { note: text() },
        CommandKind::Accept => Command::Accept,
        CommandKind::Decline => Command::Decline { reason: text() },
        CommandKind::Register => Command::Register {
            criteria_met: seed.flag,
        },
        CommandKind::Void => Command::Void { reason: text() },
        CommandKind::SelfHandle => Command::SelfHandle { note: text() },
        CommandKind::Dispatch => Command::Dispatch {
            units: (0..4u8)
                .filter(|i| seed.a & (1 << i) != 0)
                .map(unit)
                .collect(),
            lead: unit(seed.b),
        },
        CommandKind::SubDispatch => Command::SubDispatch { to: unit(seed.a) },
        CommandKind::Sign => Command::Sign,
        CommandKind::Return => Command::Return {
            reason_code: ReturnReason::ALL[usize::from(seed.a) % ReturnReason::ALL.len()],
            note: text(),
        },
        CommandKind::Arbitrate => Command::Arbitrate {
            responsible: unit(seed.a),
            note: text(),
        },
        CommandKind::RequestExtension => Command::RequestExtension {
            minutes: seed.minutes,
            reason: text(),
        },
        CommandKind::DecideExtension => Command::DecideExtension {
            approve: seed.flag,
            note: text(),
        },
        CommandKind::Hang => Command::Hang { reason: text() },
        CommandKind::Resume => Command::Resume,
        CommandKind::Note => Command::Note { text: text() },
        CommandKind::Reply => Command::Reply {
            note: text(),
            evidence: (0..seed.a % 3)
                .map(|i| TEXTS[usize::from(i) + 2].to_owned())
                .collect(),
        },
        CommandKind::Review => Command::Review {
            approve: seed.flag,
            note: text(),
        },
        CommandKind::Check => Command::Check {
            passed: seed.flag,
            note: text(),
        },
        CommandKind::Rate => Command::Rate {
            level: Rating::ALL[usize::from(seed.a) % Rating::ALL.len()],
            reasonable: [None, Some(true), Some(false)][usize::from(seed.b) % 3],
            comment: text(),
        },
        CommandKind::Judge => Command::Judge {
            reasonable: seed.flag,
            note: text(),
        },
        CommandKind::Comment => Command::Comment { text: text() },
        CommandKind::Alarm => Command::Alarm {
            alarm: i64::from(seed.a),
            cleared: seed.flag,
            reason: text(),
        },
        CommandKind::Close => Command::Close {
            closing: ClosingType::ALL[usize::from(seed.a) % ClosingType::ALL.len()],
            note: text(),
        },
        CommandKind::Urge => Command::Urge { note: text() },
        CommandKind::Supervise => Command::Supervise { note: text() },
        CommandKind::Merge => Command::Merge {
            parent: CaseId([1, 2, 42][usize::from(seed.a) % 3]),
        },
    }
}

/// Catch-all rules for every stage plus more specific ones, so the chosen
/// rule varies with channel-independent case attributes.
fn policy() -> cityloop_workflow::SlaPolicy {
    let mut policy = full_policy("5wd");
    policy.rules.push(SlaRule {
        stage: Stage::Handling,
        category: Some(CategorySelector::parse("class:06").unwrap()),
        urgency: Some(Urgency::Urgent),
        area: Some(area("310107")),
        limit: Limit::parse("4wh").unwrap(),
    });
    policy.rules.push(SlaRule {
        stage: Stage::Signing,
        category: None,
        urgency: Some(Urgency::Urgent),
        area: None,
        limit: Limit::parse("30m").unwrap(),
    });
    policy
}

fn is_dispatched(status: &CaseStatus) -> bool {
    matches!(
        status,
        CaseStatus::Dispatched
            | CaseStatus::Returned
            | CaseStatus::Handling
            | CaseStatus::Hung
            | CaseStatus::Replied
            | CaseStatus::Checking
            | CaseStatus::Callback
            | CaseStatus::FollowUp
    )
}

/// Invariants between a state before and after accepted events.
fn check_step(before: &CaseState, after: &CaseState, events: &[Event], history: &[Event]) {
    assert_eq!(after.version, before.version + events.len() as u64);
    assert_eq!(replay(history).as_ref(), Some(after), "replay differs");
    // Counts never decrease.
    for (unit, count) in &before.returns_by_unit {
        assert!(after.returns_by_unit.get(unit).is_some_and(|c| c >= count));
    }
    assert!(after.returns() >= before.returns());
    assert!(after.reworks >= before.reworks);
    assert!(after.redos >= before.redos);
    assert!(after.review_rejections >= before.review_rejections);
    assert!(after.urges >= before.urges);
    assert!(after.extensions_requested_minutes >= before.extensions_requested_minutes);
    assert!(after.extensions_approved_minutes >= before.extensions_approved_minutes);
    assert!(
        after
            .sla
            .breached_stages
            .is_superset(&before.sla.breached_stages)
    );
    assert!(!before.supervised || after.supervised);
    // A closed case takes only the reporter's comment and first rating
    // (好差评 after closing); other terminal cases only comments.
    if before.status.is_terminal() {
        let first_rating = matches!(before.status, CaseStatus::Closed { .. })
            && before.rating.is_none()
            && before.lead.is_some()
            && matches!(events, [Event::Rated { .. }]);
        let comment = before.status.kind() != StatusKind::Merged
            && matches!(events, [Event::Commented { .. }]);
        assert!(
            first_rating || comment,
            "a terminal {} case accepted {events:?}",
            before.status
        );
    }
}

fn check_state(state: &CaseState) {
    if is_dispatched(&state.status) {
        let lead = state.lead.as_ref().expect("a dispatched case has a lead");
        assert!(
            state.units.contains(lead),
            "lead {lead} not in {:?}",
            state.units
        );
        assert_eq!(state.dispatch_chain.last(), Some(lead));
        let mut units = state.units.clone();
        units.sort();
        units.dedup();
        assert_eq!(units.len(), state.units.len(), "duplicate units");
    }
    let case_timers = timers(state);
    if state.status.is_terminal() {
        assert!(case_timers.is_empty());
        assert!(state.sla.clocks.is_empty());
        assert!(
            allowed_actions(state)
                .iter()
                .all(|action| ["rate", "comment"].contains(action)),
            "a terminal case allows {:?}",
            allowed_actions(state)
        );
        return;
    }
    // The policy covers every stage, so the current stage always has a
    // running clock with a timer, unless it has already breached.
    if let Some(stage) = Stage::current(&state.status) {
        let clock = state
            .sla
            .clock(stage)
            .unwrap_or_else(|| panic!("{} case without a {stage} clock", state.status));
        assert!(
            !clock.is_paused(),
            "{stage} clock paused in {}",
            state.status
        );
        assert!(
            clock.breached || case_timers.iter().any(|timer| timer.stage == stage),
            "no {stage} timer in {}",
            state.status
        );
        assert!(clock.warn_at <= clock.due_at);
    }
    if state.status == CaseStatus::Hung {
        assert!(
            state
                .sla
                .clock(Stage::Handling)
                .is_some_and(|c| c.is_paused())
        );
    }
    assert!(case_timers.iter().all(|timer| {
        state
            .sla
            .clock(timer.stage)
            .is_some_and(|clock| !clock.is_paused())
    }));
}

fn run(channel: Channel, urgency: Urgency, reporter: Option<i64>, steps: Vec<Step>) {
    let fixture = Fixture {
        policy: policy(),
        ..Fixture::new(Default::default())
    };
    let ctx = fixture.ctx();
    let cap = t("2026-11-30T12:00:00+08:00");
    let mut now = t("2026-03-02T09:00:00+08:00");
    let new = cityloop_workflow::NewCase {
        id: CaseId(1),
        channel,
        category: CategoryCode::parse(CategoryKind::Matter, "06010").unwrap(),
        urgency,
        area_path: putuo_path(),
        reporter: reporter.map(UserId),
    };
    let (mut state, created) = CaseState::new(new, now, &ctx).unwrap();
    let mut history = vec![created];
    check_state(&state);
    let actors = pool();
    let advance = |now: DateTime<Utc>, minutes: i64| (now + Duration::minutes(minutes)).min(cap);

    for step in steps {
        match step {
            Step::Command {
                guided,
                pick,
                pool,
                actor,
                seed,
                gap_minutes,
            } => {
                now = advance(now, gap_minutes);
                let (actor, command) = if guided {
                    // Every (actor, action) the views allow; mostly forward moves.
                    let choices: Vec<(&Actor, &str)> = (0..actors.len())
                        .map(|offset| &actors[(pool + offset) % actors.len()])
                        .flat_map(|actor| {
                            allowed_actions_for(&state, actor)
                                .into_iter()
                                .map(move |action| (actor, action))
                        })
                        .collect();
                    if choices.is_empty() {
                        assert!(state.status.is_terminal(), "nobody may act on an open case");
                        continue;
                    }
                    let forward: Vec<(&Actor, &str)> = choices
                        .iter()
                        .copied()
                        .filter(|(_, action)| !SIDE_ACTIONS.contains(action))
                        .collect();
                    let (actor, action) = if pick % 10 < 8 && !forward.is_empty() {
                        forward[(pick / 10) % forward.len()]
                    } else {
                        choices[(pick / 10) % choices.len()]
                    };
                    (
                        actor.clone(),
                        build(CommandKind::parse(action).unwrap(), &seed),
                    )
                } else {
                    let kind = CommandKind::ALL[pick % CommandKind::ALL.len()];
                    (build_actor(&actor), build(kind, &seed))
                };
                let permitted = allowed_actions_for(&state, &actor).contains(&command.as_str());
                match decide(&state, &actor, &command, now, &ctx) {
                    Ok(events) => {
                        assert!(!events.is_empty());
                        assert!(
                            permitted,
                            "{command:?} by {actor:?} accepted but not listed"
                        );
                        let before = state.clone();
                        for event in &events {
                            assert!(event.at() == now);
                            state = apply(state, event);
                            history.push(event.clone());
                        }
                        check_step(&before, &state, &events, &history);
                    }
                    Err(refusal) => {
                        // A terminal case refuses everything but the
                        // reporter's comment and first rating by state.
                        if state.status.is_terminal()
                            && !matches!(command.kind(), CommandKind::Rate | CommandKind::Comment)
                        {
                            assert!(
                                matches!(&refusal, Refusal::NotAllowedInState { allowed, .. }
                                    if allowed.iter().all(|a| ["rate", "comment"].contains(a))),
                                "{refusal:?}"
                            );
                        }
                        if let Refusal::NotAllowedInState {
                            action, allowed, ..
                        } = &refusal
                        {
                            assert!(!allowed.contains(action));
                            assert_eq!(allowed, &allowed_actions(&state));
                        }
                        // A listed action is refused only for its fields
                        // (a closing's type decides who may close).
                        if permitted && command.kind() != CommandKind::Close {
                            assert!(
                                matches!(
                                    refusal,
                                    Refusal::Invalid { .. }
                                        | Refusal::CriteriaNotMet { .. }
                                        | Refusal::Clock { .. }
                                ),
                                "{command:?} by {actor:?} listed but refused: {refusal:?}"
                            );
                        }
                        assert!(!refusal.to_string().is_empty());
                    }
                }
            }
            Step::Timer { pick, late_minutes } => {
                let pending = timers(&state);
                if pending.is_empty() {
                    continue;
                }
                let timer = pending[pick % pending.len()];
                now = advance(now.max(timer.due_at.with_timezone(&Utc)), late_minutes);
                let events = on_timer(&state, &timer, now);
                let before = state.clone();
                for event in &events {
                    state = apply(state, event);
                    history.push(event.clone());
                }
                if !events.is_empty() {
                    check_step(&before, &state, &events, &history);
                }
                // Idempotent: the same timer again yields nothing.
                assert!(on_timer(&state, &timer, now).is_empty());
            }
        }
        check_state(&state);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_walks_keep_the_invariants(
        channel in prop::sample::select(Channel::ALL.to_vec()),
        urgency in prop::sample::select(Urgency::ALL.to_vec()),
        reporter in prop::option::of(Just(100i64)),
        steps in prop::collection::vec(step(), 0..80),
    ) {
        run(channel, urgency, reporter, steps);
    }
}

/// The guided walks do reach the end of the loop: a deterministic sweep
/// over seeds finds closed cases of every kind.
#[test]
fn guided_walks_reach_every_terminal_state() {
    use std::collections::BTreeSet;
    let fixture = Fixture::new(policy());
    let ctx = fixture.ctx();
    let actors = pool();
    let mut reached = BTreeSet::new();
    for walk in 0u64..300 {
        let channel = Channel::ALL[(walk as usize) % Channel::ALL.len()];
        let mut now = t("2026-03-02T09:00:00+08:00");
        let new = cityloop_workflow::NewCase {
            id: CaseId(1),
            channel,
            category: CategoryCode::parse(CategoryKind::Matter, "06010").unwrap(),
            urgency: Urgency::Normal,
            area_path: putuo_path(),
            reporter: Some(UserId(100)),
        };
        let (mut state, _) = CaseState::new(new, now, &ctx).unwrap();
        let mut x = walk
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        for _ in 0..400 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (x >> 33) as usize;
            now += Duration::minutes(30);
            let actor = &actors[r % actors.len()];
            let allowed = allowed_actions_for(&state, actor);
            if allowed.is_empty() {
                continue;
            }
            // Prefer moving forward over urging, noting and closing specially.
            let forward: Vec<_> = allowed
                .iter()
                .filter(|a| !matches!(**a, "urge" | "supervise" | "note" | "close" | "merge"))
                .collect();
            let action = if !forward.is_empty() && !r.is_multiple_of(7) {
                *forward[(r >> 8) % forward.len()]
            } else if r.is_multiple_of(5) {
                allowed[(r >> 8) % allowed.len()]
            } else {
                continue;
            };
            let seed = Seed {
                a: (r >> 12) as u8,
                b: (r >> 20) as u8,
                flag: !r.is_multiple_of(3),
                text: 3,
                minutes: 60,
            };
            let command = build(CommandKind::parse(action).unwrap(), &seed);
            if let Ok(events) = decide(&state, actor, &command, now, &ctx) {
                state = events.iter().fold(state, apply);
            }
            if state.status.is_terminal() {
                break;
            }
        }
        reached.insert(match state.status {
            CaseStatus::Closed { closing } if closing.self_handled => {
                "closed_self_handled".to_owned()
            }
            CaseStatus::Closed { closing } => format!("closed_{}", closing.kind),
            other => other.as_str().to_owned(),
        });
        if state.redos > 0 {
            reached.insert("redo".into());
        }
        if state.reworks > 0 {
            reached.insert("rework".into());
        }
        if !state.arbitrated.is_empty() {
            reached.insert("arbitrated".into());
        }
    }
    for expected in [
        "closed_normal",
        "closed_special",
        "closed_self_handled",
        "declined",
        "voided",
        "merged",
        "redo",
        "rework",
        "arbitrated",
    ] {
        assert!(
            reached.contains(expected),
            "{expected} never reached: {reached:?}"
        );
    }
}
