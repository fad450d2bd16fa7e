//! The event and command codec: exact round trips for every event variant,
//! a pinned payload text, and errors that name the kind and the field.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use cityloop_calendar::{Limit, china_offset};
use cityloop_cases::codec::{
    CodecError, EVENT_ENCODING_VERSION, command_to_json, decode_event, encode_event, event_to_json,
    parse_command, stage_clock_from_json, stage_clock_to_json,
};
use cityloop_domain::{AreaCode, CategoryCode, DepartmentId, UserId};
use cityloop_workflow::{
    CaseId, Channel, Closing, ClosingType, Command, CommandKind, Event, EventKind, Rating,
    ReturnReason, Stage, StageClock, Urgency,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// UTC instants 1970–2100, whole seconds, microseconds or nanoseconds.
fn utc() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..=4_102_444_800, 0u32..1_000_000_000, 0u8..3).prop_map(|(secs, nanos, precision)| {
        let nanos = match precision {
            0 => 0,
            1 => nanos / 1_000 * 1_000,
            _ => nanos,
        };
        DateTime::from_timestamp(secs, nanos).unwrap()
    })
}

/// The same instants in +08:00, as the SLA clocks hold them.
fn local() -> impl Strategy<Value = DateTime<FixedOffset>> {
    utc().prop_map(|t| t.with_timezone(&china_offset()))
}

fn user() -> impl Strategy<Value = Option<UserId>> {
    option::of(prop_oneof![1i64..100_000, any::<i64>()].prop_map(UserId))
}

fn department() -> impl Strategy<Value = DepartmentId> {
    prop_oneof![
        (0u32..100_000).prop_map(|n| format!("d-{n}")),
        Just("310107-cgzf".to_owned()),
        "[a-z0-9]{1,10}-[a-z0-9]{1,10}",
    ]
    .prop_map(|text| DepartmentId::parse(&text).unwrap())
}

fn area() -> impl Strategy<Value = AreaCode> {
    prop_oneof![
        Just("310107".to_owned()),
        "31[0-9]{4}",
        "3101[0-9]{5}",
        "3101[0-9]{8}",
        "3101[0-9]{9,16}",
    ]
    .prop_map(|text| AreaCode::parse(&text).unwrap())
}

fn category() -> impl Strategy<Value = CategoryCode> {
    prop_oneof![
        Just("06010".to_owned()),
        Just("H01".to_owned()),
        "[0-9]{5}",
        "[A-Z][0-9]{2}",
        "[a-z][a-z0-9._-]{1,20}",
    ]
    .prop_map(|text| CategoryCode::parse_case_category(&text).unwrap().1)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "\\PC{0,40}", Just(String::new())]
}

/// Any duration chrono can hold, biased towards realistic pauses.
fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::zero()),
        (0i64..10_000_000).prop_map(Duration::seconds),
        (0i64..10_000_000, 0u32..1_000_000_000)
            .prop_map(|(secs, nanos)| Duration::new(secs, nanos).unwrap()),
        (
            Duration::MIN.num_seconds()..=Duration::MAX.num_seconds(),
            0u32..1_000_000_000
        )
            .prop_filter_map("in range", |(secs, nanos)| Duration::new(secs, nanos)),
        Just(Duration::MIN),
        Just(Duration::MAX),
    ]
}

/// Limits a policy can hold (parsed text) and hand-built ones (zero,
/// negative, seconds, fractions).
fn limit() -> impl Strategy<Value = Limit> {
    prop_oneof![
        (1i64..=100_000).prop_map(Limit::WorkingDays),
        (1i64..=6_000_000).prop_map(Limit::WorkingMinutes),
        (1i64..=100_000).prop_map(|n| Limit::Natural(Duration::minutes(n))),
        (1i64..=100_000).prop_map(|n| Limit::Natural(Duration::hours(n))),
        (1i64..=100_000).prop_map(|n| Limit::Natural(Duration::days(n))),
        (
            1i64..=100_000,
            select(&["m", "h", "d", "wm", "wh", "wd"][..])
        )
            .prop_map(|(n, unit)| Limit::parse(&format!("{n}{unit}")).unwrap()),
        any::<i64>().prop_map(Limit::WorkingDays),
        any::<i64>().prop_map(Limit::WorkingMinutes),
        duration().prop_map(Limit::Natural),
    ]
}

fn clock() -> impl Strategy<Value = StageClock> {
    (
        select(Stage::ALL),
        local(),
        limit(),
        prop_oneof![0i64..10_000, any::<i64>()],
        option::of(local()),
        duration(),
        local(),
        local(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                stage,
                started_at,
                limit,
                allowance_extra_minutes,
                paused_since,
                paused_total,
                warn_at,
                due_at,
                warned,
                breached,
            )| StageClock {
                stage,
                started_at,
                limit,
                allowance_extra_minutes,
                paused_since,
                paused_total,
                warn_at,
                due_at,
                warned,
                breached,
            },
        )
}

fn clocks() -> impl Strategy<Value = Vec<StageClock>> {
    vec(clock(), 0..4)
}

fn case_id() -> impl Strategy<Value = CaseId> {
    prop_oneof![1i64..1_000_000, any::<i64>()].prop_map(CaseId)
}

/// Random events of one kind. The `match` is exhaustive, so a new variant
/// cannot go untested.
fn event_of(kind: EventKind) -> BoxedStrategy<Event> {
    match kind {
        EventKind::Created => (
            utc(),
            case_id(),
            select(Channel::ALL),
            category(),
            select(Urgency::ALL),
            vec(area(), 0..4),
            user(),
            clocks(),
        )
            .prop_map(
                |(at, id, channel, category, urgency, area_path, reporter, clocks)| {
                    Event::Created {
                        at,
                        id,
                        channel,
                        category,
                        urgency,
                        area_path,
                        reporter,
                        clocks,
                    }
                },
            )
            .boxed(),
        EventKind::Verified => (utc(), user(), text())
            .prop_map(|(at, by, note)| Event::Verified { at, by, note })
            .boxed(),
        EventKind::Accepted => (utc(), user(), clocks())
            .prop_map(|(at, by, clocks)| Event::Accepted { at, by, clocks })
            .boxed(),
        EventKind::Declined => (utc(), user(), text())
            .prop_map(|(at, by, reason)| Event::Declined { at, by, reason })
            .boxed(),
        EventKind::Registered => (utc(), user(), clocks())
            .prop_map(|(at, by, clocks)| Event::Registered { at, by, clocks })
            .boxed(),
        EventKind::Voided => (utc(), user(), text())
            .prop_map(|(at, by, reason)| Event::Voided { at, by, reason })
            .boxed(),
        EventKind::SelfHandled => (utc(), user(), text())
            .prop_map(|(at, by, note)| Event::SelfHandled { at, by, note })
            .boxed(),
        EventKind::Dispatched => (
            utc(),
            user(),
            vec(department(), 0..4),
            department(),
            clocks(),
        )
            .prop_map(|(at, by, units, lead, clocks)| Event::Dispatched {
                at,
                by,
                units,
                lead,
                clocks,
            })
            .boxed(),
        EventKind::SubDispatched => (utc(), user(), department(), department(), clocks())
            .prop_map(|(at, by, from, to, clocks)| Event::SubDispatched {
                at,
                by,
                from,
                to,
                clocks,
            })
            .boxed(),
        EventKind::Signed => (utc(), user(), department())
            .prop_map(|(at, by, unit)| Event::Signed { at, by, unit })
            .boxed(),
        EventKind::Returned => (
            utc(),
            user(),
            department(),
            select(ReturnReason::ALL),
            text(),
            clocks(),
        )
            .prop_map(
                |(at, by, unit, reason_code, note, clocks)| Event::Returned {
                    at,
                    by,
                    unit,
                    reason_code,
                    note,
                    clocks,
                },
            )
            .boxed(),
        EventKind::Arbitrated => (utc(), user(), department(), text(), clocks())
            .prop_map(|(at, by, responsible, note, clocks)| Event::Arbitrated {
                at,
                by,
                responsible,
                note,
                clocks,
            })
            .boxed(),
        EventKind::ExtensionRequested => (utc(), user(), department(), any::<i64>(), text())
            .prop_map(
                |(at, by, unit, minutes, reason)| Event::ExtensionRequested {
                    at,
                    by,
                    unit,
                    minutes,
                    reason,
                },
            )
            .boxed(),
        EventKind::ExtensionDecided => {
            (utc(), user(), any::<bool>(), any::<i64>(), text(), clocks())
                .prop_map(
                    |(at, by, approve, minutes, note, clocks)| Event::ExtensionDecided {
                        at,
                        by,
                        approve,
                        minutes,
                        note,
                        clocks,
                    },
                )
                .boxed()
        }
        EventKind::Hung => (utc(), user(), text())
            .prop_map(|(at, by, reason)| Event::Hung { at, by, reason })
            .boxed(),
        EventKind::Resumed => (utc(), user(), clocks())
            .prop_map(|(at, by, clocks)| Event::Resumed { at, by, clocks })
            .boxed(),
        EventKind::Noted => (utc(), user(), option::of(department()), text())
            .prop_map(|(at, by, unit, text)| Event::Noted { at, by, unit, text })
            .boxed(),
        EventKind::Replied => (
            utc(),
            user(),
            department(),
            text(),
            vec(text(), 0..4),
            clocks(),
        )
            .prop_map(|(at, by, unit, note, evidence, clocks)| Event::Replied {
                at,
                by,
                unit,
                note,
                evidence,
                clocks,
            })
            .boxed(),
        EventKind::Reviewed => (utc(), user(), any::<bool>(), text(), clocks())
            .prop_map(|(at, by, approve, note, clocks)| Event::Reviewed {
                at,
                by,
                approve,
                note,
                clocks,
            })
            .boxed(),
        EventKind::Checked => (utc(), user(), any::<bool>(), text(), clocks())
            .prop_map(|(at, by, passed, note, clocks)| Event::Checked {
                at,
                by,
                passed,
                note,
                clocks,
            })
            .boxed(),
        EventKind::Rated => (
            utc(),
            user(),
            select(Rating::ALL),
            option::of(any::<bool>()),
            text(),
            clocks(),
        )
            .prop_map(
                |(at, by, level, reasonable, comment, clocks)| Event::Rated {
                    at,
                    by,
                    level,
                    reasonable,
                    comment,
                    clocks,
                },
            )
            .boxed(),
        EventKind::Judged => (utc(), user(), any::<bool>(), text(), clocks())
            .prop_map(|(at, by, reasonable, note, clocks)| Event::Judged {
                at,
                by,
                reasonable,
                note,
                clocks,
            })
            .boxed(),
        EventKind::Commented => (utc(), user(), text())
            .prop_map(|(at, by, text)| Event::Commented { at, by, text })
            .boxed(),
        EventKind::Alarmed => (utc(), user(), any::<i64>(), any::<bool>(), text())
            .prop_map(|(at, by, alarm, cleared, reason)| Event::Alarmed {
                at,
                by,
                alarm,
                cleared,
                reason,
            })
            .boxed(),
        EventKind::Closed => (
            utc(),
            user(),
            select(ClosingType::ALL),
            any::<bool>(),
            text(),
        )
            .prop_map(|(at, by, kind, self_handled, note)| Event::Closed {
                at,
                by,
                closing: Closing { kind, self_handled },
                note,
            })
            .boxed(),
        EventKind::Urged => (utc(), user(), text())
            .prop_map(|(at, by, note)| Event::Urged { at, by, note })
            .boxed(),
        EventKind::Supervised => (utc(), user(), text())
            .prop_map(|(at, by, note)| Event::Supervised { at, by, note })
            .boxed(),
        EventKind::Merged => (utc(), user(), case_id())
            .prop_map(|(at, by, parent)| Event::Merged { at, by, parent })
            .boxed(),
        EventKind::SlaWarned => (utc(), select(Stage::ALL))
            .prop_map(|(at, stage)| Event::SlaWarned { at, stage })
            .boxed(),
        EventKind::SlaBreached => (utc(), select(Stage::ALL))
            .prop_map(|(at, stage)| Event::SlaBreached { at, stage })
            .boxed(),
    }
}

fn any_event() -> impl Strategy<Value = Event> {
    select(EventKind::ALL).prop_flat_map(event_of)
}

fn assert_round_trip(event: &Event) -> Result<(), TestCaseError> {
    let (kind, payload) = encode_event(event);
    prop_assert_eq!(kind.as_str(), event.as_str());
    let decoded = decode_event(&kind, &payload)
        .map_err(|e| TestCaseError::fail(format!("{e} in {payload}")))?;
    prop_assert_eq!(&decoded, event);
    // Offsets and precision survive too: the text is reproduced exactly.
    prop_assert_eq!(encode_event(&decoded), (kind, payload));
    Ok(())
}

#[test]
fn every_event_variant_round_trips_exactly() {
    for kind in EventKind::ALL {
        let mut runner = TestRunner::new(Config {
            cases: 200,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&event_of(*kind), |event| {
                prop_assert_eq!(event.kind(), *kind);
                assert_round_trip(&event)
            })
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
}

proptest! {
    #[test]
    fn any_event_round_trips(event in any_event()) {
        assert_round_trip(&event)?;
    }

    #[test]
    fn stage_clocks_round_trip_through_json(clock in clock()) {
        let json = stage_clock_to_json(&clock);
        let decoded = stage_clock_from_json(&json).unwrap();
        prop_assert_eq!(&decoded, &clock);
        prop_assert_eq!(decoded.started_at.offset(), clock.started_at.offset());
    }
}

// ---------------------------------------------------------------------------
// The pinned format
// ---------------------------------------------------------------------------

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn local_at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

fn dept(text: &str) -> DepartmentId {
    DepartmentId::parse(text).unwrap()
}

fn dispatched() -> Event {
    Event::Dispatched {
        at: at("2026-09-30T16:00:00+08:00"),
        by: Some(UserId(1)),
        units: vec![dept("310107-cgzf"), dept("310107-lh")],
        lead: dept("310107-cgzf"),
        clocks: vec![
            StageClock {
                stage: Stage::Signing,
                started_at: local_at("2026-09-30T16:00:00+08:00"),
                limit: Limit::parse("2wh").unwrap(),
                allowance_extra_minutes: 0,
                paused_since: None,
                paused_total: Duration::zero(),
                warn_at: local_at("2026-09-30T17:36:00+08:00"),
                due_at: local_at("2026-10-09T09:00:00+08:00"),
                warned: false,
                breached: false,
            },
            StageClock {
                stage: Stage::Handling,
                started_at: local_at("2026-09-30T16:00:00.123456+08:00"),
                limit: Limit::parse("5wd").unwrap(),
                allowance_extra_minutes: 480,
                paused_since: Some(local_at("2026-10-10T09:00:00+08:00")),
                paused_total: Duration::seconds(5400),
                warn_at: local_at("2026-10-12T13:06:00+08:00"),
                due_at: local_at("2026-10-13T16:00:00+08:00"),
                warned: true,
                breached: false,
            },
        ],
    }
}

#[test]
fn a_dispatch_encodes_to_a_stable_text() {
    let (kind, payload) = encode_event(&dispatched());
    assert_eq!(kind, "dispatched");
    assert_eq!(
        payload,
        concat!(
            r#"{"at":"2026-09-30T08:00:00Z","by":1,"clocks":["#,
            r#"{"allowance_extra_minutes":0,"breached":false,"due_at":"2026-10-09T09:00:00+08:00","#,
            r#""limit":"2wh","paused_since":null,"paused_total":0,"stage":"signing","#,
            r#""started_at":"2026-09-30T16:00:00+08:00","warn_at":"2026-09-30T17:36:00+08:00","warned":false},"#,
            r#"{"allowance_extra_minutes":480,"breached":false,"due_at":"2026-10-13T16:00:00+08:00","#,
            r#""limit":"5wd","paused_since":"2026-10-10T09:00:00+08:00","paused_total":5400,"stage":"handling","#,
            r#""started_at":"2026-09-30T16:00:00.123456+08:00","warn_at":"2026-10-12T13:06:00+08:00","warned":true}],"#,
            r#""lead":"310107-cgzf","units":["310107-cgzf","310107-lh"],"v":1}"#,
        )
    );
    assert_eq!(decode_event(&kind, &payload).unwrap(), dispatched());
    assert_eq!(
        event_to_json(&dispatched())["v"],
        json!(EVENT_ENCODING_VERSION)
    );
}

#[test]
fn small_events_have_small_payloads() {
    let breached = Event::SlaBreached {
        at: at("2026-10-13T16:00:00.5+08:00"),
        stage: Stage::Handling,
    };
    assert_eq!(
        encode_event(&breached),
        (
            "sla_breached".to_owned(),
            r#"{"at":"2026-10-13T08:00:00.500Z","stage":"handling","v":1}"#.to_owned()
        )
    );
    let closed = Event::Closed {
        at: at("2026-10-20T10:00:00Z"),
        by: None,
        closing: Closing {
            kind: ClosingType::Normal,
            self_handled: true,
        },
        note: "现场已处理".into(),
    };
    assert_eq!(
        encode_event(&closed).1,
        r#"{"at":"2026-10-20T10:00:00Z","by":null,"closing":{"kind":"normal","self_handled":true},"note":"现场已处理","v":1}"#
    );
}

#[test]
fn sub_second_durations_and_limits_are_kept() {
    let clock = StageClock {
        stage: Stage::Review,
        started_at: local_at("2026-09-30T16:00:00+08:00"),
        limit: Limit::Natural(Duration::milliseconds(1500)),
        allowance_extra_minutes: 0,
        paused_since: None,
        paused_total: Duration::milliseconds(-1500),
        warn_at: local_at("2026-09-30T16:00:01.2+08:00"),
        due_at: local_at("2026-09-30T16:00:01.5+08:00"),
        warned: false,
        breached: false,
    };
    let json = stage_clock_to_json(&clock);
    assert_eq!(json["limit"], json!("1.500000000s"));
    assert_eq!(json["paused_total"], json!(-2));
    assert_eq!(json["paused_total_nanos"], json!(500_000_000));
    assert_eq!(stage_clock_from_json(&json).unwrap(), clock);

    for limit in [
        Limit::Natural(Duration::zero()),
        Limit::Natural(Duration::seconds(90)),
        Limit::Natural(Duration::seconds(-7200)),
        Limit::Natural(Duration::nanoseconds(-1)),
        Limit::Natural(Duration::MIN),
        Limit::Natural(Duration::MAX),
        Limit::WorkingMinutes(i64::MIN),
        Limit::WorkingMinutes(i64::MAX),
        Limit::WorkingMinutes(-120),
        Limit::WorkingDays(0),
    ] {
        let clock = StageClock {
            limit,
            ..clock.clone()
        };
        let json = stage_clock_to_json(&clock);
        assert_eq!(stage_clock_from_json(&json).unwrap(), clock, "{json}");
    }
}

#[test]
fn extreme_instants_and_odd_offsets_round_trip() {
    for t in [
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MAX_UTC,
        at("0000-01-01T00:00:00Z"),
    ] {
        let event = Event::SlaWarned {
            at: t,
            stage: Stage::Callback,
        };
        let (kind, payload) = encode_event(&event);
        assert_eq!(decode_event(&kind, &payload).unwrap(), event, "{payload}");
    }
    // An offset with seconds cannot be written in RFC 3339: the instant is
    // kept (written in UTC).
    let odd = FixedOffset::east_opt(8 * 3600 + 5 * 60 + 43).unwrap();
    let started_at = at("2026-09-30T08:00:00.25Z").with_timezone(&odd);
    let mut clock = stage_clock_from_json(&stage_clock_to_json(&sample_clock())).unwrap();
    clock.started_at = started_at;
    let json = stage_clock_to_json(&clock);
    assert_eq!(json["started_at"], json!("2026-09-30T08:00:00.250+00:00"));
    assert_eq!(stage_clock_from_json(&json).unwrap(), clock);
}

fn sample_clock() -> StageClock {
    dispatched().clocks()[0].clone()
}

// ---------------------------------------------------------------------------
// Decode errors
// ---------------------------------------------------------------------------

fn dispatched_payload() -> Value {
    serde_json::from_str(&encode_event(&dispatched()).1).unwrap()
}

fn decode_value(kind: &str, value: &Value) -> Result<Event, CodecError> {
    decode_event(kind, &value.to_string())
}

#[test]
fn missing_fields_are_named() {
    let error = decode_event("dispatched", r#"{"v":1}"#).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("units"), "{text}");
    assert!(text.starts_with("dispatched: missing fields"), "{text}");
    for field in ["at", "by", "lead", "clocks"] {
        assert!(text.contains(field), "{text}");
    }
    assert!(matches!(error, CodecError::MissingFields { .. }));

    let mut payload = dispatched_payload();
    payload.as_object_mut().unwrap().remove("units");
    let error = decode_value("dispatched", &payload).unwrap_err();
    assert_eq!(error.field(), Some("units"));
    assert_eq!(error.kind(), "dispatched");
    assert_eq!(error.to_string(), "dispatched: missing field units");

    let mut payload = dispatched_payload();
    payload["clocks"][1]
        .as_object_mut()
        .unwrap()
        .remove("due_at");
    let error = decode_value("dispatched", &payload).unwrap_err();
    assert_eq!(error.field(), Some("clocks[1].due_at"));
}

#[test]
fn wrong_values_are_named() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("units", json!("310107-cgzf"), "units"),
        ("units", json!(["310107-cgzf", "Not An Id"]), "units[1]"),
        ("lead", json!(7), "lead"),
        ("by", json!("1"), "by"),
        ("by", json!(1.5), "by"),
        ("at", json!("yesterday"), "at"),
        ("clocks", json!({}), "clocks"),
        ("clocks", json!([1]), "clocks[0]"),
    ];
    for (field, value, named) in cases {
        let mut payload = dispatched_payload();
        payload[field] = value.clone();
        let error = decode_value("dispatched", &payload).unwrap_err();
        assert_eq!(error.field(), Some(named), "{field} = {value}: {error}");
        assert!(error.to_string().contains(named), "{error}");
    }

    let mut payload = dispatched_payload();
    payload["clocks"][0]["stage"] = json!("lunch");
    let error = decode_value("dispatched", &payload).unwrap_err();
    assert_eq!(error.field(), Some("clocks[0].stage"));
    assert!(error.to_string().contains("lunch"), "{error}");

    let mut payload = dispatched_payload();
    payload["clocks"][0]["limit"] = json!("5 fortnights");
    let error = decode_value("dispatched", &payload).unwrap_err();
    assert_eq!(error.field(), Some("clocks[0].limit"));

    let mut payload = dispatched_payload();
    payload["clocks"][0]["paused_total_nanos"] = json!(1_000_000_000);
    let error = decode_value("dispatched", &payload).unwrap_err();
    assert_eq!(error.field(), Some("clocks[0].paused_total_nanos"));

    let (kind, payload) = encode_event(&Event::Closed {
        at: at("2026-10-20T10:00:00Z"),
        by: None,
        closing: Closing {
            kind: ClosingType::Special,
            self_handled: false,
        },
        note: String::new(),
    });
    let payload = payload.replace("special", "vanished");
    let error = decode_event(&kind, &payload).unwrap_err();
    assert_eq!(error.field(), Some("closing.kind"));
}

#[test]
fn unknown_fields_are_named() {
    let mut payload = dispatched_payload();
    payload["leader"] = json!("310107-cgzf");
    let error = decode_value("dispatched", &payload).unwrap_err();
    assert_eq!(
        error,
        CodecError::UnknownField {
            kind: "dispatched".into(),
            field: "leader".into()
        }
    );

    let mut payload = dispatched_payload();
    payload["clocks"][0]["colour"] = json!("red");
    let error = decode_value("dispatched", &payload).unwrap_err();
    assert_eq!(error.field(), Some("clocks[0].colour"));
}

#[test]
fn unknown_kinds_are_refused() {
    let (_, payload) = encode_event(&dispatched());
    let error = decode_event("teleported", &payload).unwrap_err();
    assert_eq!(
        error,
        CodecError::UnknownKind {
            kind: "teleported".into()
        }
    );
    assert_eq!(error.field(), None);
    assert!(error.to_string().contains("teleported"));
    // A known payload under another kind does not decode either.
    let error = decode_event("signed", &payload).unwrap_err();
    assert!(matches!(error, CodecError::UnknownField { .. }), "{error}");
}

#[test]
fn other_versions_are_refused() {
    for v in [json!(2), json!(0), json!("1"), json!(null), json!(1.0)] {
        let mut payload = dispatched_payload();
        payload["v"] = v.clone();
        let error = decode_value("dispatched", &payload).unwrap_err();
        assert!(
            matches!(error, CodecError::UnsupportedVersion { .. }),
            "{v}: {error}"
        );
        assert_eq!(error.field(), Some("v"));
        assert!(error.to_string().contains("version"), "{error}");
    }
    let mut payload = dispatched_payload();
    payload.as_object_mut().unwrap().remove("v");
    let error = decode_value("dispatched", &payload).unwrap_err();
    assert!(matches!(error, CodecError::UnsupportedVersion { .. }));
}

#[test]
fn malformed_payloads_are_refused() {
    for payload in ["", "not json", "[1,2]", "null", r#""text""#] {
        let error = decode_event("urged", payload).unwrap_err();
        assert!(
            matches!(error, CodecError::Malformed { .. }),
            "{payload}: {error}"
        );
        assert_eq!(error.kind(), "urged");
    }
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

/// Parses `body` as `action`, expects `expected`, and round-trips it through
/// `command_to_json`.
fn check_command(action: &str, body: Value, expected: Command) {
    let parsed = parse_command(action, &body).unwrap_or_else(|e| panic!("{action} {body}: {e}"));
    assert_eq!(parsed, expected);
    assert_eq!(parsed.as_str(), action);
    let (name, json) = command_to_json(&parsed);
    assert_eq!(name, action);
    assert_eq!(parse_command(&name, &json).unwrap(), expected, "{json}");
}

macro_rules! command_tests {
    ($($test:ident: $action:literal, $body:tt => $expected:expr;)+) => {
        $(
            #[test]
            fn $test() {
                check_command($action, json!($body), $expected);
            }
        )+

        #[test]
        fn every_command_kind_has_a_test() {
            let tested = [$($action),+];
            for kind in CommandKind::ALL {
                assert!(tested.contains(&kind.as_str()), "no test for {kind}");
            }
        }
    };
}

command_tests! {
    parses_verify: "verify", {"note": "属实"} => Command::Verify { note: "属实".into() };
    parses_accept: "accept", {} => Command::Accept;
    parses_decline: "decline", {"reason": "不属于受理范围"} =>
        Command::Decline { reason: "不属于受理范围".into() };
    parses_register: "register", {"criteria_met": true} => Command::Register { criteria_met: true };
    parses_void: "void", {"reason": "重复"} => Command::Void { reason: "重复".into() };
    parses_self_handle: "self_handle", {"note": "已扶正"} =>
        Command::SelfHandle { note: "已扶正".into() };
    parses_dispatch: "dispatch", {"units": ["310107-cgzf", "310107-lh"], "lead": "310107-cgzf"} =>
        Command::Dispatch {
            units: vec![dept("310107-cgzf"), dept("310107-lh")],
            lead: dept("310107-cgzf"),
        };
    parses_sub_dispatch: "sub_dispatch", {"to": "310107-jd01"} =>
        Command::SubDispatch { to: dept("310107-jd01") };
    parses_sign: "sign", {} => Command::Sign;
    parses_return: "return", {"reason_code": "not_our_responsibility", "note": "属绿化"} =>
        Command::Return {
            reason_code: ReturnReason::NotOurResponsibility,
            note: "属绿化".into(),
        };
    parses_arbitrate: "arbitrate", {"responsible": "310107-cgzf", "note": "裁定"} =>
        Command::Arbitrate { responsible: dept("310107-cgzf"), note: "裁定".into() };
    parses_request_extension: "request_extension", {"minutes": 480, "reason": "需采购"} =>
        Command::RequestExtension { minutes: 480, reason: "需采购".into() };
    parses_decide_extension: "decide_extension", {"approve": false, "note": "no"} =>
        Command::DecideExtension { approve: false, note: "no".into() };
    parses_hang: "hang", {"reason": "工程周期长"} => Command::Hang { reason: "工程周期长".into() };
    parses_resume: "resume", null => Command::Resume;
    parses_note: "note", {"text": "已联系"} => Command::Note { text: "已联系".into() };
    parses_reply: "reply", {"note": "已修复", "evidence": ["media/1.jpg", "media/2.jpg"]} =>
        Command::Reply {
            note: "已修复".into(),
            evidence: vec!["media/1.jpg".into(), "media/2.jpg".into()],
        };
    parses_review: "review", {"approve": true, "note": ""} =>
        Command::Review { approve: true, note: String::new() };
    parses_check: "check", {"passed": false, "note": "未修复"} =>
        Command::Check { passed: false, note: "未修复".into() };
    parses_rate: "rate", {"level": "dissatisfied", "reasonable": true} =>
        Command::Rate { level: Rating::Dissatisfied, reasonable: Some(true), comment: String::new() };
    parses_rate_with_comment: "rate", {"level": "very_dissatisfied", "comment": "没修好"} =>
        Command::Rate { level: Rating::VeryDissatisfied, reasonable: None, comment: "没修好".into() };
    parses_judge: "judge", {"reasonable": false, "note": "已修复"} =>
        Command::Judge { reasonable: false, note: "已修复".into() };
    parses_comment: "comment", {"text": "补充照片"} => Command::Comment { text: "补充照片".into() };
    parses_alarm: "alarm", {"alarm": 12, "cleared": true, "reason": "pm25 40"} =>
        Command::Alarm { alarm: 12, cleared: true, reason: "pm25 40".into() };
    parses_close: "close", {"closing": "special", "note": "政策调整"} =>
        Command::Close { closing: ClosingType::Special, note: "政策调整".into() };
    parses_urge: "urge", {"note": "请尽快"} => Command::Urge { note: "请尽快".into() };
    parses_supervise: "supervise", {"note": "督办"} => Command::Supervise { note: "督办".into() };
    parses_merge: "merge", {"parent": 12} => Command::Merge { parent: CaseId(12) };
}

#[test]
fn optional_fields_default() {
    check_command("verify", json!({}), Command::Verify { note: "".into() });
    check_command(
        "hang",
        json!({"reason": null}),
        Command::Hang { reason: "".into() },
    );
    check_command(
        "return",
        json!({"reason_code": "other"}),
        Command::Return {
            reason_code: ReturnReason::Other,
            note: "".into(),
        },
    );
    check_command(
        "reply",
        json!({"note": "ok"}),
        Command::Reply {
            note: "ok".into(),
            evidence: vec![],
        },
    );
    check_command(
        "rate",
        json!({"level": "satisfied"}),
        Command::Rate {
            level: Rating::Satisfied,
            reasonable: None,
            comment: String::new(),
        },
    );
    check_command(
        "rate",
        json!({"level": "very_satisfied", "reasonable": null}),
        Command::Rate {
            level: Rating::VerySatisfied,
            reasonable: None,
            comment: String::new(),
        },
    );
}

#[test]
fn every_command_round_trips_through_json() {
    let commands = vec![
        Command::Verify { note: "x".into() },
        Command::Accept,
        Command::Decline { reason: "".into() },
        Command::Register {
            criteria_met: false,
        },
        Command::Void { reason: "r".into() },
        Command::SelfHandle { note: "n".into() },
        Command::Dispatch {
            units: vec![],
            lead: dept("d-1"),
        },
        Command::SubDispatch { to: dept("d-2") },
        Command::Sign,
        Command::Return {
            reason_code: ReturnReason::WrongLocation,
            note: " padded ".into(),
        },
        Command::Arbitrate {
            responsible: dept("d-3"),
            note: "".into(),
        },
        Command::RequestExtension {
            minutes: i64::MIN,
            reason: "".into(),
        },
        Command::DecideExtension {
            approve: true,
            note: "".into(),
        },
        Command::Hang { reason: "".into() },
        Command::Resume,
        Command::Note { text: "\n".into() },
        Command::Reply {
            note: "".into(),
            evidence: vec!["".into()],
        },
        Command::Review {
            approve: false,
            note: "".into(),
        },
        Command::Check {
            passed: true,
            note: "".into(),
        },
        Command::Rate {
            level: Rating::VeryDissatisfied,
            reasonable: Some(false),
            comment: String::new(),
        },
        Command::Judge {
            reasonable: true,
            note: "".into(),
        },
        Command::Comment { text: "".into() },
        Command::Alarm {
            alarm: 7,
            cleared: true,
            reason: "".into(),
        },
        Command::Close {
            closing: ClosingType::Overdue,
            note: "".into(),
        },
        Command::Urge { note: "".into() },
        Command::Supervise { note: "".into() },
        Command::Merge {
            parent: CaseId(i64::MAX),
        },
    ];
    assert_eq!(commands.len(), CommandKind::ALL.len());
    for command in commands {
        let (action, body) = command_to_json(&command);
        assert_eq!(parse_command(&action, &body).unwrap(), command, "{body}");
    }
}

fn command_error(action: &str, body: Value) -> CodecError {
    parse_command(action, &body).expect_err("should be refused")
}

#[test]
fn unknown_actions_are_refused() {
    let error = command_error("teleport", json!({}));
    assert_eq!(
        error,
        CodecError::UnknownAction {
            action: "teleport".into()
        }
    );
    assert_eq!(error.field(), None);
    let text = error.to_string();
    assert!(
        text.contains("teleport") && text.contains("sub_dispatch"),
        "{text}"
    );
}

#[test]
fn unknown_command_fields_are_named() {
    let error = command_error(
        "dispatch",
        json!({"units": ["d-1"], "lead": "d-1", "leader": "d-1"}),
    );
    assert_eq!(error.field(), Some("leader"));
    assert_eq!(error.kind(), "dispatch");
    assert!(error.to_string().contains("leader"));
    assert_eq!(
        command_error("sign", json!({"note": "x"})).field(),
        Some("note")
    );
}

#[test]
fn wrong_types_are_named() {
    let cases = [
        (
            "request_extension",
            json!({"minutes": "480", "reason": "r"}),
            "minutes",
        ),
        ("request_extension", json!({"minutes": 1.5}), "minutes"),
        (
            "request_extension",
            json!({"minutes": 480, "reason": 7}),
            "reason",
        ),
        ("dispatch", json!({"units": "d-1", "lead": "d-1"}), "units"),
        (
            "dispatch",
            json!({"units": ["d-1", 2], "lead": "d-1"}),
            "units[1]",
        ),
        ("dispatch", json!({"units": ["d-1"], "lead": "D 1"}), "lead"),
        ("register", json!({"criteria_met": "yes"}), "criteria_met"),
        (
            "rate",
            json!({"level": "dissatisfied", "reasonable": "no"}),
            "reasonable",
        ),
        (
            "reply",
            json!({"note": "n", "evidence": "a.jpg"}),
            "evidence",
        ),
        (
            "reply",
            json!({"note": "n", "evidence": [1]}),
            "evidence[0]",
        ),
        ("merge", json!({"parent": "12"}), "parent"),
        (
            "merge",
            json!({"parent": 18446744073709551615u64}),
            "parent",
        ),
        ("note", json!({"text": ["a"]}), "text"),
        ("review", json!({"approve": null}), "approve"),
    ];
    for (action, body, field) in cases {
        let error = command_error(action, body.clone());
        assert_eq!(error.field(), Some(field), "{action} {body}: {error}");
        assert!(error.to_string().contains(field), "{error}");
    }
}

#[test]
fn bad_names_are_named() {
    let error = command_error("rate", json!({"level": "happy"}));
    assert_eq!(error.field(), Some("level"));
    let text = error.to_string();
    assert!(
        text.contains("happy") && text.contains("very_satisfied"),
        "{text}"
    );

    assert_eq!(
        command_error("return", json!({"reason_code": "lazy"})).field(),
        Some("reason_code")
    );
    assert_eq!(
        command_error("close", json!({"closing": "forever"})).field(),
        Some("closing")
    );
}

#[test]
fn missing_required_fields_are_named() {
    let error = command_error("dispatch", json!({}));
    assert_eq!(
        error,
        CodecError::MissingFields {
            kind: "dispatch".into(),
            fields: vec!["units".into(), "lead".into()]
        }
    );
    assert_eq!(error.field(), Some("units"));
    assert_eq!(command_error("rate", json!(null)).field(), Some("level"));
    assert_eq!(
        command_error("request_extension", json!({"reason": "r"})).field(),
        Some("minutes")
    );
}

#[test]
fn bodies_must_be_objects() {
    for body in [json!([]), json!("verify"), json!(3)] {
        let error = command_error("verify", body.clone());
        assert!(
            matches!(error, CodecError::Malformed { .. }),
            "{body}: {error}"
        );
    }
}

/// Ratings stored before comments existed still decode, as an empty
/// comment; a comment is kept.
#[test]
fn ratings_stored_without_a_comment_decode() {
    let old = r#"{"v":1,"at":"2026-03-06T02:00:00Z","by":100,"level":"satisfied","reasonable":null,"clocks":[]}"#;
    let Event::Rated { comment, level, .. } = decode_event("rated", old).unwrap() else {
        panic!("not a rating");
    };
    assert_eq!((level, comment.as_str()), (Rating::Satisfied, ""));
    let new = r#"{"v":1,"at":"2026-03-06T02:00:00Z","by":null,"level":"dissatisfied","reasonable":null,"comment":"没修好","clocks":[]}"#;
    let Event::Rated { comment, by, .. } = decode_event("rated", new).unwrap() else {
        panic!("not a rating");
    };
    assert_eq!((by, comment.as_str()), (None, "没修好"));
}
