//! The storage and API encoding of the loop's vocabulary: events (as stored
//! in a case's history) and commands (as posted to the HTTP API).
//!
//! `cityloop-workflow` deliberately knows no wire format; this module is the
//! one place that does. Every function here is pure.
//!
//! # Events: encoding version 1
//!
//! [`encode_event`] turns an [`Event`] into a pair `(kind, payload)`:
//!
//! * `kind` is [`Event::as_str`], e.g. `dispatched`, `sub_dispatched`.
//! * `payload` is the compact text of one JSON object holding `"v": 1`
//!   ([`EVENT_ENCODING_VERSION`]) and **every** field of the variant under its
//!   Rust field name. Keys are sorted (serde_json's default map), so the text
//!   of an event is deterministic.
//!
//! Field values:
//!
//! | Rust type | JSON |
//! |---|---|
//! | `at: DateTime<Utc>` | RFC 3339 string in UTC (`Z`), with 0, 3, 6 or 9 fraction digits as needed: `"2026-09-30T08:00:00Z"` |
//! | `DateTime<FixedOffset>` (clock instants) | RFC 3339 string keeping its offset: `"2026-10-13T16:00:00+08:00"` (an offset with a seconds part, never produced by the loop, is written in UTC) |
//! | `CaseId`, `UserId` | number (`by`, `reporter`: number or `null`) |
//! | `DepartmentId`, `AreaCode`, `CategoryCode` | string (`"310107-cgzf"`, `"310107"`, `"06010"`) |
//! | `Channel`, `Urgency`, `Stage`, `Rating`, `ReturnReason`, `ClosingType` | their `as_str()` name |
//! | `Closing` | `{"kind": "normal" \| "overdue" \| "special", "self_handled": bool}` |
//! | `Limit` | its `Display` text (`"5wd"`, `"4wh"`, `"90m"`, `"2h"`, `"1d"`); see below |
//! | `chrono::Duration` (`paused_total`) | integer seconds, rounded towards minus infinity, plus a `paused_total_nanos` key (1 to 999 999 999) only when the duration is not a whole number of seconds |
//! | `Option<T>` | the value or `null` (the key is always present) |
//! | `Vec<T>` | array |
//! | `i64`, `bool`, `String` | number, boolean, string |
//!
//! A [`StageClock`] is an object (see [`stage_clock_to_json`]):
//!
//! ```json
//! {"allowance_extra_minutes":0,"breached":false,"due_at":"2026-10-13T16:00:00+08:00",
//!  "limit":"5wd","paused_since":null,"paused_total":0,"stage":"handling",
//!  "started_at":"2026-09-30T16:00:00+08:00","warn_at":"2026-10-12T13:06:00+08:00","warned":false}
//! ```
//!
//! A `Limit` is written as its `Display` text, which `Limit::parse` reads
//! back for every limit a policy can hold. Hand-built limits are written the
//! same way and read back exactly too: `0d`, negative numbers (`-5wd`),
//! whole seconds (`90s`), and — the one extension of the `Display` text — a
//! natural duration with a fraction of a second as `<seconds>.<9 digits>s`
//! (`"1.500000000s"`).
//!
//! A dispatch, for example (the clocks shortened):
//!
//! ```json
//! {"at":"2026-09-30T08:00:00Z","by":1,"clocks":[{…"stage":"signing"…},{…"stage":"handling"…}],
//!  "lead":"310107-cgzf","units":["310107-cgzf","310107-lh"],"v":1}
//! ```
//!
//! and an SLA breach `{"at":"2026-10-13T08:00:00Z","stage":"handling","v":1}`.
//!
//! [`decode_event`] is the exact inverse: `decode_event(encode_event(e)) ==
//! e` for every event, to the nanosecond. It is strict: an unknown kind, a
//! payload that is not a JSON object, a version other than 1 (or none), a
//! missing key, an unknown key, a value of the wrong type or an invalid name
//! or id is a [`CodecError`] naming the kind and the field (nested fields as
//! `clocks[1].due_at`, `area_path[0]`, `closing.kind`). A later version
//! bumps `v`; this decoder then refuses it rather than misreading it.
//!
//! # Commands: the API body
//!
//! [`parse_command`] reads a [`Command`] from its action name
//! ([`CommandKind::as_str`], e.g. `dispatch`, `return`, `rate`) and a JSON
//! object with the command's fields under their Rust field names:
//!
//! | action | body |
//! |---|---|
//! | `verify`, `self_handle`, `urge`, `supervise` | `{"note": "…"}` |
//! | `accept`, `sign`, `resume` | `{}` |
//! | `decline`, `void`, `hang` | `{"reason": "…"}` |
//! | `register` | `{"criteria_met": true}` |
//! | `dispatch` | `{"units": ["310107-cgzf"], "lead": "310107-cgzf"}` |
//! | `sub_dispatch` | `{"to": "310107-jd01"}` |
//! | `return` | `{"reason_code": "not_our_responsibility", "note": "…"}` |
//! | `arbitrate` | `{"responsible": "310107-cgzf", "note": "…"}` |
//! | `request_extension` | `{"minutes": 480, "reason": "…"}` |
//! | `decide_extension`, `review` | `{"approve": true, "note": "…"}` |
//! | `note` | `{"text": "…"}` |
//! | `reply` | `{"note": "…", "evidence": ["media/1.jpg"]}` |
//! | `check` | `{"passed": true, "note": "…"}` |
//! | `rate` | `{"level": "dissatisfied", "reasonable": true}` |
//! | `close` | `{"closing": "special", "note": "…"}` |
//! | `merge` | `{"parent": 12}` |
//!
//! Free-text fields (`note`, `reason`, `text`) may be left out or `null` and
//! then are `""` (`cityloop_workflow::decide` refuses an empty one where it
//! is required, naming the field); `evidence` defaults to `[]` and
//! `reasonable` to `null`. Every other field is required. A `null` body
//! counts as `{}`. Unknown fields, values of the wrong type and invalid
//! names or ids are errors whose [`CodecError::field`] names the field, for
//! an RFC 7807 problem. The text is taken as given: trimming and bounding
//! it is `decide`'s job. [`command_to_json`] is the inverse.

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, Utc};
use cityloop_calendar::Limit;
use cityloop_domain::{AreaCode, CategoryCode, DepartmentId, DomainError, UserId};
use cityloop_workflow::{
    CaseId, Channel, Closing, ClosingType, Command, CommandKind, Event, EventKind, Rating,
    ReturnReason, Stage, StageClock, Urgency,
};
use serde_json::{Map, Value, json};

/// The version written into every event payload as `"v"`.
pub const EVENT_ENCODING_VERSION: u32 = 1;

/// What kind of thing a [`CodecError`] was about when it names no event
/// kind or action of its own.
const STAGE_CLOCK: &str = "stage_clock";

/// A payload or command body that could not be read.
///
/// [`CodecError::kind`] names the event kind or command action,
/// [`CodecError::field`] the offending field where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Not an event kind this version knows.
    #[error("unknown event kind {kind:?}")]
    UnknownKind { kind: String },
    /// Not a command action.
    #[error("unknown action {action:?}; expected one of {}", action_names())]
    UnknownAction { action: String },
    /// The payload is not JSON, or not a JSON object.
    #[error("{kind}: {message}")]
    Malformed { kind: String, message: String },
    /// The payload's `v` is not [`EVENT_ENCODING_VERSION`].
    #[error(
        "{kind}: unsupported encoding version {found}; this build reads version {EVENT_ENCODING_VERSION}"
    )]
    UnsupportedVersion { kind: String, found: String },
    /// Required fields are absent (all of them are listed).
    #[error("{kind}: missing field{} {}", if .fields.len() == 1 { "" } else { "s" }, .fields.join(", "))]
    MissingFields { kind: String, fields: Vec<String> },
    /// A field this kind does not have.
    #[error("{kind}: unknown field {field}")]
    UnknownField { kind: String, field: String },
    /// A field of the wrong type or with an invalid value.
    #[error("{kind}: {field}: {message}")]
    InvalidField {
        kind: String,
        field: String,
        message: String,
    },
}

impl CodecError {
    /// The event kind or command action the error is about.
    pub fn kind(&self) -> &str {
        match self {
            CodecError::UnknownKind { kind }
            | CodecError::Malformed { kind, .. }
            | CodecError::UnsupportedVersion { kind, .. }
            | CodecError::MissingFields { kind, .. }
            | CodecError::UnknownField { kind, .. }
            | CodecError::InvalidField { kind, .. } => kind,
            CodecError::UnknownAction { action } => action,
        }
    }

    /// The offending field (`v` for a version mismatch, the first missing
    /// field when several are missing, a path like `clocks[1].due_at` for
    /// nested fields); `None` when the error is about the whole input.
    pub fn field(&self) -> Option<&str> {
        match self {
            CodecError::UnknownKind { .. }
            | CodecError::UnknownAction { .. }
            | CodecError::Malformed { .. } => None,
            CodecError::UnsupportedVersion { .. } => Some("v"),
            CodecError::MissingFields { fields, .. } => fields.first().map(String::as_str),
            CodecError::UnknownField { field, .. } | CodecError::InvalidField { field, .. } => {
                Some(field)
            }
        }
    }
}

fn action_names() -> String {
    CommandKind::ALL
        .iter()
        .map(|kind| kind.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

/// Encodes an event as `(kind, payload)`, see the module documentation.
pub fn encode_event(event: &Event) -> (String, String) {
    let mut payload = event_to_json(event);
    payload.sort_all_objects();
    (event.as_str().to_owned(), payload.to_string())
}

/// The payload of [`encode_event`] as a JSON value (an object with `"v"`),
/// e.g. for showing a history in the API.
pub fn event_to_json(event: &Event) -> Value {
    let mut o = Map::new();
    o.insert("v".into(), json!(EVENT_ENCODING_VERSION));
    o.insert("at".into(), utc_to_json(&event.at()));
    match event {
        Event::Created {
            at: _,
            id,
            channel,
            category,
            urgency,
            area_path,
            reporter,
            clocks,
        } => {
            o.insert("id".into(), json!(id.0));
            o.insert("channel".into(), json!(channel.as_str()));
            o.insert("category".into(), json!(category.as_str()));
            o.insert("urgency".into(), json!(urgency.as_str()));
            o.insert(
                "area_path".into(),
                Value::Array(area_path.iter().map(|a| json!(a.as_str())).collect()),
            );
            o.insert("reporter".into(), user_to_json(*reporter));
            o.insert("clocks".into(), clocks_to_json(clocks));
        }
        Event::Verified { by, note, .. }
        | Event::SelfHandled { by, note, .. }
        | Event::Urged { by, note, .. }
        | Event::Supervised { by, note, .. } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("note".into(), json!(note));
        }
        Event::Declined { by, reason, .. }
        | Event::Voided { by, reason, .. }
        | Event::Hung { by, reason, .. } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("reason".into(), json!(reason));
        }
        Event::Accepted { by, clocks, .. }
        | Event::Registered { by, clocks, .. }
        | Event::Resumed { by, clocks, .. } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("clocks".into(), clocks_to_json(clocks));
        }
        Event::Dispatched {
            by,
            units,
            lead,
            clocks,
            ..
        } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("units".into(), departments_to_json(units));
            o.insert("lead".into(), json!(lead.as_str()));
            o.insert("clocks".into(), clocks_to_json(clocks));
        }
        Event::SubDispatched {
            by,
            from,
            to,
            clocks,
            ..
        } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("from".into(), json!(from.as_str()));
            o.insert("to".into(), json!(to.as_str()));
            o.insert("clocks".into(), clocks_to_json(clocks));
        }
        Event::Signed { by, unit, .. } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("unit".into(), json!(unit.as_str()));
        }
        Event::Returned {
            by,
            unit,
            reason_code,
            note,
            clocks,
            ..
        } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("unit".into(), json!(unit.as_str()));
            o.insert("reason_code".into(), json!(reason_code.as_str()));
            o.insert("note".into(), json!(note));
            o.insert("clocks".into(), clocks_to_json(clocks));
        }
        Event::Arbitrated {
            by,
            responsible,
            note,
            clocks,
            ..
        } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("responsible".into(), json!(responsible.as_str()));
            o.insert("note".into(), json!(note));
            o.insert("clocks".into(), clocks_to_json(clocks));
        }
        Event::ExtensionRequested {
            by,
            unit,
            minutes,
            reason,
            ..
        } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("unit".into(), json!(unit.as_str()));
            o.insert("minutes".into(), json!(minutes));
            o.insert("reason".into(), json!(reason));
        }
        Event::ExtensionDecided {
            by,
            approve,
            minutes,
            note,
            clocks,
            ..
        } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("approve".into(), json!(approve));
            o.insert("minutes".into(), json!(minutes));
            o.insert("note".into(), json!(note));
            o.insert("clocks".into(), clocks_to_json(clocks));
        }
        Event::Noted { by, unit, text, .. } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert(
                "unit".into(),
                unit.as_ref().map_or(Value::Null, |u| json!(u.as_str())),
            );
            o.insert("text".into(), json!(text));
        }
        Event::Replied {
            by,
            unit,
            note,
            evidence,
            clocks,
            ..
        } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("unit".into(), json!(unit.as_str()));
            o.insert("note".into(), json!(note));
            o.insert("evidence".into(), json!(evidence));
            o.insert("clocks".into(), clocks_to_json(clocks));
        }
        Event::Reviewed {
            by,
            approve,
            note,
            clocks,
            ..
        } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("approve".into(), json!(approve));
            o.insert("note".into(), json!(note));
            o.insert("clocks".into(), clocks_to_json(clocks));
        }
        Event::Checked {
            by,
            passed,
            note,
            clocks,
            ..
        } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("passed".into(), json!(passed));
            o.insert("note".into(), json!(note));
            o.insert("clocks".into(), clocks_to_json(clocks));
        }
        Event::Rated {
            by,
            level,
            reasonable,
            comment,
            clocks,
            ..
        } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("level".into(), json!(level.as_str()));
            o.insert("reasonable".into(), json!(reasonable));
            o.insert("comment".into(), json!(comment));
            o.insert("clocks".into(), clocks_to_json(clocks));
        }
        Event::Judged {
            by,
            reasonable,
            note,
            clocks,
            ..
        } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("reasonable".into(), json!(reasonable));
            o.insert("note".into(), json!(note));
            o.insert("clocks".into(), clocks_to_json(clocks));
        }
        Event::Commented { by, text, .. } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("text".into(), json!(text));
        }
        Event::Alarmed {
            by,
            alarm,
            cleared,
            reason,
            ..
        } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("alarm".into(), json!(alarm));
            o.insert("cleared".into(), json!(cleared));
            o.insert("reason".into(), json!(reason));
        }
        Event::Closed {
            by, closing, note, ..
        } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert(
                "closing".into(),
                json!({
                    "kind": closing.kind.as_str(),
                    "self_handled": closing.self_handled,
                }),
            );
            o.insert("note".into(), json!(note));
        }
        Event::Merged { by, parent, .. } => {
            o.insert("by".into(), user_to_json(*by));
            o.insert("parent".into(), json!(parent.0));
        }
        Event::SlaWarned { stage, .. } | Event::SlaBreached { stage, .. } => {
            o.insert("stage".into(), json!(stage.as_str()));
        }
    }
    Value::Object(o)
}

/// A [`StageClock`] as a JSON object, see the module documentation.
pub fn stage_clock_to_json(clock: &StageClock) -> Value {
    let mut o = Map::new();
    o.insert("stage".into(), json!(clock.stage.as_str()));
    o.insert("started_at".into(), local_to_json(&clock.started_at));
    o.insert("limit".into(), json!(limit_to_text(&clock.limit)));
    o.insert(
        "allowance_extra_minutes".into(),
        json!(clock.allowance_extra_minutes),
    );
    o.insert(
        "paused_since".into(),
        clock
            .paused_since
            .as_ref()
            .map_or(Value::Null, local_to_json),
    );
    let (secs, nanos) = split_duration(clock.paused_total);
    o.insert("paused_total".into(), json!(secs));
    if nanos != 0 {
        o.insert("paused_total_nanos".into(), json!(nanos));
    }
    o.insert("warn_at".into(), local_to_json(&clock.warn_at));
    o.insert("due_at".into(), local_to_json(&clock.due_at));
    o.insert("warned".into(), json!(clock.warned));
    o.insert("breached".into(), json!(clock.breached));
    Value::Object(o)
}

/// Reads a clock written by [`stage_clock_to_json`]; errors name the kind
/// `stage_clock`.
pub fn stage_clock_from_json(value: &Value) -> Result<StageClock, CodecError> {
    read_clock(STAGE_CLOCK, "", value.clone())
}

fn clocks_to_json(clocks: &[StageClock]) -> Value {
    Value::Array(clocks.iter().map(stage_clock_to_json).collect())
}

fn departments_to_json(units: &[DepartmentId]) -> Value {
    Value::Array(units.iter().map(|u| json!(u.as_str())).collect())
}

fn user_to_json(user: Option<UserId>) -> Value {
    user.map_or(Value::Null, |u| json!(u.0))
}

fn utc_to_json(t: &DateTime<Utc>) -> Value {
    json!(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn local_to_json(t: &DateTime<FixedOffset>) -> Value {
    // RFC 3339 offsets have no seconds; such an offset would lose the
    // instant, so write it in UTC instead.
    if t.offset().local_minus_utc() % 60 != 0 {
        return json!(t.to_utc().to_rfc3339_opts(SecondsFormat::AutoSi, false));
    }
    json!(t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
}

/// `(seconds rounded towards minus infinity, nanoseconds 0..1e9)`.
fn split_duration(d: Duration) -> (i64, u32) {
    let mut secs = d.num_seconds();
    let mut nanos = d.subsec_nanos();
    if nanos < 0 {
        secs -= 1;
        nanos += 1_000_000_000;
    }
    (secs, nanos.unsigned_abs())
}

fn limit_to_text(limit: &Limit) -> String {
    match limit {
        Limit::Natural(d) if d.subsec_nanos() != 0 => {
            let sign = if *d < Duration::zero() { "-" } else { "" };
            let magnitude = d.abs();
            format!(
                "{sign}{}.{:09}s",
                magnitude.num_seconds(),
                magnitude.subsec_nanos()
            )
        }
        other => other.to_string(),
    }
}

/// Reads what [`limit_to_text`] writes (a superset of `Limit`'s `Display`).
fn limit_from_text(text: &str) -> Option<Limit> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (digits, unit) = rest.split_at(digits_end);
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let whole: u64 = digits.parse().ok()?;
    if let Some(fraction) = unit.strip_prefix('.') {
        let fraction = fraction.strip_suffix('s')?;
        if fraction.len() != 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let magnitude = Duration::new(i64::try_from(whole).ok()?, fraction.parse().ok()?)?;
        return Some(Limit::Natural(if negative {
            -magnitude
        } else {
            magnitude
        }));
    }
    let n = if negative {
        -i128::from(whole)
    } else {
        i128::from(whole)
    };
    let natural = |unit_secs: i128| {
        let secs = i64::try_from(n.checked_mul(unit_secs)?).ok()?;
        Duration::try_seconds(secs).map(Limit::Natural)
    };
    match unit {
        "wd" => i64::try_from(n).ok().map(Limit::WorkingDays),
        "wm" => i64::try_from(n).ok().map(Limit::WorkingMinutes),
        "wh" => i64::try_from(n * 60).ok().map(Limit::WorkingMinutes),
        "s" => natural(1),
        "m" => natural(60),
        "h" => natural(3_600),
        "d" => natural(86_400),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

/// Decodes what [`encode_event`] wrote, exactly; see the module
/// documentation for what is refused.
pub fn decode_event(kind: &str, payload: &str) -> Result<Event, CodecError> {
    let event_kind = EventKind::parse(kind).map_err(|_| CodecError::UnknownKind {
        kind: kind.to_owned(),
    })?;
    let kind = event_kind.as_str();
    let value: Value = serde_json::from_str(payload).map_err(|e| CodecError::Malformed {
        kind: kind.to_owned(),
        message: format!("the payload is not JSON: {e}"),
    })?;
    let Value::Object(mut map) = value else {
        return Err(CodecError::Malformed {
            kind: kind.to_owned(),
            message: format!("the payload is {}, not a JSON object", type_name(&value)),
        });
    };
    match map.remove("v") {
        Some(Value::Number(n)) if n.as_u64() == Some(u64::from(EVENT_ENCODING_VERSION)) => {}
        Some(other) => {
            return Err(CodecError::UnsupportedVersion {
                kind: kind.to_owned(),
                found: other.to_string(),
            });
        }
        None => {
            return Err(CodecError::UnsupportedVersion {
                kind: kind.to_owned(),
                found: "none (no \"v\" field)".to_owned(),
            });
        }
    }
    let value = Value::Object(map);
    let fields = event_fields(event_kind);
    let optional: &[&str] = match event_kind {
        // Added after the first stored ratings; absent reads as "".
        EventKind::Rated => &["comment"],
        _ => &[],
    };
    let mut r = Reader::new(kind, "", value, fields, optional)?;
    let event = match event_kind {
        EventKind::Created => Event::Created {
            at: r.utc("at")?,
            id: CaseId(r.i64("id")?),
            channel: r.name("channel", Channel::parse)?,
            category: r.parsed("category", |text| {
                CategoryCode::parse_case_category(text).map(|(_, code)| code)
            })?,
            urgency: r.name("urgency", Urgency::parse)?,
            area_path: r.array("area_path", |r, field, v| {
                r.parsed_value(field, v, AreaCode::parse)
            })?,
            reporter: r.user("reporter")?,
            clocks: r.clocks("clocks")?,
        },
        EventKind::Verified => Event::Verified {
            at: r.utc("at")?,
            by: r.user("by")?,
            note: r.string("note")?,
        },
        EventKind::Accepted => Event::Accepted {
            at: r.utc("at")?,
            by: r.user("by")?,
            clocks: r.clocks("clocks")?,
        },
        EventKind::Declined => Event::Declined {
            at: r.utc("at")?,
            by: r.user("by")?,
            reason: r.string("reason")?,
        },
        EventKind::Registered => Event::Registered {
            at: r.utc("at")?,
            by: r.user("by")?,
            clocks: r.clocks("clocks")?,
        },
        EventKind::Voided => Event::Voided {
            at: r.utc("at")?,
            by: r.user("by")?,
            reason: r.string("reason")?,
        },
        EventKind::SelfHandled => Event::SelfHandled {
            at: r.utc("at")?,
            by: r.user("by")?,
            note: r.string("note")?,
        },
        EventKind::Dispatched => Event::Dispatched {
            at: r.utc("at")?,
            by: r.user("by")?,
            units: r.departments("units")?,
            lead: r.department("lead")?,
            clocks: r.clocks("clocks")?,
        },
        EventKind::SubDispatched => Event::SubDispatched {
            at: r.utc("at")?,
            by: r.user("by")?,
            from: r.department("from")?,
            to: r.department("to")?,
            clocks: r.clocks("clocks")?,
        },
        EventKind::Signed => Event::Signed {
            at: r.utc("at")?,
            by: r.user("by")?,
            unit: r.department("unit")?,
        },
        EventKind::Returned => Event::Returned {
            at: r.utc("at")?,
            by: r.user("by")?,
            unit: r.department("unit")?,
            reason_code: r.name("reason_code", ReturnReason::parse)?,
            note: r.string("note")?,
            clocks: r.clocks("clocks")?,
        },
        EventKind::Arbitrated => Event::Arbitrated {
            at: r.utc("at")?,
            by: r.user("by")?,
            responsible: r.department("responsible")?,
            note: r.string("note")?,
            clocks: r.clocks("clocks")?,
        },
        EventKind::ExtensionRequested => Event::ExtensionRequested {
            at: r.utc("at")?,
            by: r.user("by")?,
            unit: r.department("unit")?,
            minutes: r.i64("minutes")?,
            reason: r.string("reason")?,
        },
        EventKind::ExtensionDecided => Event::ExtensionDecided {
            at: r.utc("at")?,
            by: r.user("by")?,
            approve: r.bool("approve")?,
            minutes: r.i64("minutes")?,
            note: r.string("note")?,
            clocks: r.clocks("clocks")?,
        },
        EventKind::Hung => Event::Hung {
            at: r.utc("at")?,
            by: r.user("by")?,
            reason: r.string("reason")?,
        },
        EventKind::Resumed => Event::Resumed {
            at: r.utc("at")?,
            by: r.user("by")?,
            clocks: r.clocks("clocks")?,
        },
        EventKind::Noted => Event::Noted {
            at: r.utc("at")?,
            by: r.user("by")?,
            unit: r.optional_department("unit")?,
            text: r.string("text")?,
        },
        EventKind::Replied => Event::Replied {
            at: r.utc("at")?,
            by: r.user("by")?,
            unit: r.department("unit")?,
            note: r.string("note")?,
            evidence: r.strings("evidence")?,
            clocks: r.clocks("clocks")?,
        },
        EventKind::Reviewed => Event::Reviewed {
            at: r.utc("at")?,
            by: r.user("by")?,
            approve: r.bool("approve")?,
            note: r.string("note")?,
            clocks: r.clocks("clocks")?,
        },
        EventKind::Checked => Event::Checked {
            at: r.utc("at")?,
            by: r.user("by")?,
            passed: r.bool("passed")?,
            note: r.string("note")?,
            clocks: r.clocks("clocks")?,
        },
        EventKind::Rated => Event::Rated {
            at: r.utc("at")?,
            by: r.user("by")?,
            level: r.name("level", Rating::parse)?,
            reasonable: r.optional_bool("reasonable")?,
            comment: r.text_or_empty("comment")?,
            clocks: r.clocks("clocks")?,
        },
        EventKind::Judged => Event::Judged {
            at: r.utc("at")?,
            by: r.user("by")?,
            reasonable: r.bool("reasonable")?,
            note: r.string("note")?,
            clocks: r.clocks("clocks")?,
        },
        EventKind::Commented => Event::Commented {
            at: r.utc("at")?,
            by: r.user("by")?,
            text: r.string("text")?,
        },
        EventKind::Alarmed => Event::Alarmed {
            at: r.utc("at")?,
            by: r.user("by")?,
            alarm: r.i64("alarm")?,
            cleared: r.bool("cleared")?,
            reason: r.string("reason")?,
        },
        EventKind::Closed => Event::Closed {
            at: r.utc("at")?,
            by: r.user("by")?,
            closing: r.closing("closing")?,
            note: r.string("note")?,
        },
        EventKind::Urged => Event::Urged {
            at: r.utc("at")?,
            by: r.user("by")?,
            note: r.string("note")?,
        },
        EventKind::Supervised => Event::Supervised {
            at: r.utc("at")?,
            by: r.user("by")?,
            note: r.string("note")?,
        },
        EventKind::Merged => Event::Merged {
            at: r.utc("at")?,
            by: r.user("by")?,
            parent: CaseId(r.i64("parent")?),
        },
        EventKind::SlaWarned => Event::SlaWarned {
            at: r.utc("at")?,
            stage: r.name("stage", Stage::parse)?,
        },
        EventKind::SlaBreached => Event::SlaBreached {
            at: r.utc("at")?,
            stage: r.name("stage", Stage::parse)?,
        },
    };
    Ok(event)
}

/// The keys of each kind's payload besides `v`.
fn event_fields(kind: EventKind) -> &'static [&'static str] {
    match kind {
        EventKind::Created => &[
            "at",
            "id",
            "channel",
            "category",
            "urgency",
            "area_path",
            "reporter",
            "clocks",
        ],
        EventKind::Verified | EventKind::SelfHandled | EventKind::Urged | EventKind::Supervised => {
            &["at", "by", "note"]
        }
        EventKind::Declined | EventKind::Voided | EventKind::Hung => &["at", "by", "reason"],
        EventKind::Accepted | EventKind::Registered | EventKind::Resumed => &["at", "by", "clocks"],
        EventKind::Dispatched => &["at", "by", "units", "lead", "clocks"],
        EventKind::SubDispatched => &["at", "by", "from", "to", "clocks"],
        EventKind::Signed => &["at", "by", "unit"],
        EventKind::Returned => &["at", "by", "unit", "reason_code", "note", "clocks"],
        EventKind::Arbitrated => &["at", "by", "responsible", "note", "clocks"],
        EventKind::ExtensionRequested => &["at", "by", "unit", "minutes", "reason"],
        EventKind::ExtensionDecided => &["at", "by", "approve", "minutes", "note", "clocks"],
        EventKind::Noted => &["at", "by", "unit", "text"],
        EventKind::Replied => &["at", "by", "unit", "note", "evidence", "clocks"],
        EventKind::Reviewed => &["at", "by", "approve", "note", "clocks"],
        EventKind::Checked => &["at", "by", "passed", "note", "clocks"],
        EventKind::Rated => &["at", "by", "level", "reasonable", "clocks"],
        EventKind::Judged => &["at", "by", "reasonable", "note", "clocks"],
        EventKind::Commented => &["at", "by", "text"],
        EventKind::Alarmed => &["at", "by", "alarm", "cleared", "reason"],
        EventKind::Closed => &["at", "by", "closing", "note"],
        EventKind::Merged => &["at", "by", "parent"],
        EventKind::SlaWarned | EventKind::SlaBreached => &["at", "stage"],
    }
}

const CLOCK_FIELDS: &[&str] = &[
    "stage",
    "started_at",
    "limit",
    "allowance_extra_minutes",
    "paused_since",
    "paused_total",
    "warn_at",
    "due_at",
    "warned",
    "breached",
];

fn read_clock(kind: &str, prefix: &str, value: Value) -> Result<StageClock, CodecError> {
    let mut r = Reader::new(kind, prefix, value, CLOCK_FIELDS, &["paused_total_nanos"])?;
    let stage = r.name("stage", Stage::parse)?;
    let started_at = r.local("started_at")?;
    let limit = r.parsed("limit", |text| {
        limit_from_text(text).map_or_else(
            || {
                // Not written by this codec; accept what a policy file
                // would (leading zeros, spaces), and explain otherwise.
                Limit::parse(text).map_err(|e| e.to_string())
            },
            Ok,
        )
    })?;
    let allowance_extra_minutes = r.i64("allowance_extra_minutes")?;
    let paused_since = r.optional_local("paused_since")?;
    let secs = r.i64("paused_total")?;
    let nanos = match r.take("paused_total_nanos") {
        None | Some(Value::Null) => 0,
        Some(v) => {
            let n = r.i64_value("paused_total_nanos", &v)?;
            u32::try_from(n)
                .ok()
                .filter(|n| *n < 1_000_000_000)
                .ok_or_else(|| {
                    r.invalid(
                        "paused_total_nanos",
                        format!("{n} is not between 0 and 999999999"),
                    )
                })?
        }
    };
    let paused_total = Duration::new(secs, nanos)
        .ok_or_else(|| r.invalid("paused_total", "the duration is out of range".to_owned()))?;
    Ok(StageClock {
        stage,
        started_at,
        limit,
        allowance_extra_minutes,
        paused_since,
        paused_total,
        warn_at: r.local("warn_at")?,
        due_at: r.local("due_at")?,
        warned: r.bool("warned")?,
        breached: r.bool("breached")?,
    })
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_instant(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text)
        // Years outside 0000–9999 are written with a sign (`+10000-…`),
        // which RFC 3339 has no room for.
        .or_else(|e| DateTime::parse_from_str(text, "%+").map_err(|_| e))
        .map_err(|e| format!("{text:?} is not an RFC 3339 instant: {e}"))
}

/// Reads the fields of one JSON object, removing each as it is read, and
/// names the offending field (with `prefix`, e.g. `clocks[0].`) in errors.
struct Reader<'a> {
    kind: &'a str,
    prefix: String,
    map: Map<String, Value>,
}

impl<'a> Reader<'a> {
    /// Checks that `value` is an object with every `required` key, no key
    /// outside `required` and `optional`.
    fn new(
        kind: &'a str,
        prefix: &str,
        value: Value,
        required: &[&str],
        optional: &[&str],
    ) -> Result<Reader<'a>, CodecError> {
        let map = match value {
            Value::Object(map) => map,
            Value::Null if prefix.is_empty() => Map::new(),
            other => {
                let message = format!("expected a JSON object, found {}", type_name(&other));
                return Err(match prefix.strip_suffix('.') {
                    Some(field) => CodecError::InvalidField {
                        kind: kind.to_owned(),
                        field: field.to_owned(),
                        message,
                    },
                    None => CodecError::Malformed {
                        kind: kind.to_owned(),
                        message,
                    },
                });
            }
        };
        if let Some(unknown) = map
            .keys()
            .find(|key| !required.contains(&key.as_str()) && !optional.contains(&key.as_str()))
        {
            return Err(CodecError::UnknownField {
                kind: kind.to_owned(),
                field: format!("{prefix}{unknown}"),
            });
        }
        let missing: Vec<String> = required
            .iter()
            .filter(|key| !map.contains_key(**key))
            .map(|key| format!("{prefix}{key}"))
            .collect();
        if !missing.is_empty() {
            return Err(CodecError::MissingFields {
                kind: kind.to_owned(),
                fields: missing,
            });
        }
        Ok(Reader {
            kind,
            prefix: prefix.to_owned(),
            map,
        })
    }

    fn path(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    fn invalid(&self, field: &str, message: String) -> CodecError {
        CodecError::InvalidField {
            kind: self.kind.to_owned(),
            field: self.path(field),
            message,
        }
    }

    fn wrong_type(&self, field: &str, expected: &str, found: &Value) -> CodecError {
        self.invalid(
            field,
            format!("expected {expected}, found {}", type_name(found)),
        )
    }

    fn take(&mut self, field: &str) -> Option<Value> {
        self.map.remove(field)
    }

    /// A required field (checked present by [`Reader::new`]).
    fn required(&mut self, field: &str) -> Result<Value, CodecError> {
        self.take(field).ok_or_else(|| CodecError::MissingFields {
            kind: self.kind.to_owned(),
            fields: vec![self.path(field)],
        })
    }

    /// An optional field: absent and `null` are both `None`.
    fn optional(&mut self, field: &str) -> Option<Value> {
        self.take(field).filter(|v| !v.is_null())
    }

    fn string_value(&self, field: &str, value: Value) -> Result<String, CodecError> {
        match value {
            Value::String(s) => Ok(s),
            other => Err(self.wrong_type(field, "a string", &other)),
        }
    }

    fn string(&mut self, field: &str) -> Result<String, CodecError> {
        let value = self.required(field)?;
        self.string_value(field, value)
    }

    /// Absent or `null`: `""`.
    fn text_or_empty(&mut self, field: &str) -> Result<String, CodecError> {
        match self.optional(field) {
            None => Ok(String::new()),
            Some(value) => self.string_value(field, value),
        }
    }

    fn bool(&mut self, field: &str) -> Result<bool, CodecError> {
        match self.required(field)? {
            Value::Bool(b) => Ok(b),
            other => Err(self.wrong_type(field, "true or false", &other)),
        }
    }

    fn optional_bool(&mut self, field: &str) -> Result<Option<bool>, CodecError> {
        match self.take(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(self.wrong_type(field, "true, false or null", &other)),
        }
    }

    fn i64_value(&self, field: &str, value: &Value) -> Result<i64, CodecError> {
        match value {
            Value::Number(n) => n.as_i64().ok_or_else(|| {
                self.invalid(
                    field,
                    format!("expected an integer in the range of i64, found {n}"),
                )
            }),
            other => Err(self.wrong_type(field, "an integer", other)),
        }
    }

    fn i64(&mut self, field: &str) -> Result<i64, CodecError> {
        let value = self.required(field)?;
        self.i64_value(field, &value)
    }

    /// A user id or `null`.
    fn user(&mut self, field: &str) -> Result<Option<UserId>, CodecError> {
        match self.required(field)? {
            Value::Null => Ok(None),
            value => Ok(Some(UserId(self.i64_value(field, &value)?))),
        }
    }

    /// A string read by `parse`, whose error message is reported.
    fn parsed_value<T, E: ToString>(
        &self,
        field: &str,
        value: Value,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, CodecError> {
        let text = self.string_value(field, value)?;
        parse(&text).map_err(|e| self.invalid(field, e.to_string()))
    }

    fn parsed<T, E: ToString>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, CodecError> {
        let value = self.required(field)?;
        self.parsed_value(field, value, parse)
    }

    /// A name read by a workflow `parse`; the message (not the domain
    /// error's own field name) is reported under `field`.
    fn name<T>(
        &mut self,
        field: &str,
        parse: fn(&str) -> Result<T, DomainError>,
    ) -> Result<T, CodecError> {
        self.parsed(field, |text| parse(text).map_err(|e| e.message))
    }

    fn department(&mut self, field: &str) -> Result<DepartmentId, CodecError> {
        self.parsed(field, |text| {
            DepartmentId::parse(text).map_err(|e| e.message)
        })
    }

    fn optional_department(&mut self, field: &str) -> Result<Option<DepartmentId>, CodecError> {
        match self.required(field)? {
            Value::Null => Ok(None),
            value => self
                .parsed_value(field, value, |text| {
                    DepartmentId::parse(text).map_err(|e| e.message)
                })
                .map(Some),
        }
    }

    fn array<T>(
        &mut self,
        field: &str,
        mut item: impl FnMut(&Self, &str, Value) -> Result<T, CodecError>,
    ) -> Result<Vec<T>, CodecError> {
        match self.required(field)? {
            Value::Array(values) => values
                .into_iter()
                .enumerate()
                .map(|(i, value)| item(self, &format!("{field}[{i}]"), value))
                .collect(),
            other => Err(self.wrong_type(field, "an array", &other)),
        }
    }

    fn departments(&mut self, field: &str) -> Result<Vec<DepartmentId>, CodecError> {
        self.array(field, |r, field, value| {
            r.parsed_value(field, value, |text| {
                DepartmentId::parse(text).map_err(|e| e.message)
            })
        })
    }

    fn strings(&mut self, field: &str) -> Result<Vec<String>, CodecError> {
        self.array(field, |r, field, value| r.string_value(field, value))
    }

    fn clocks(&mut self, field: &str) -> Result<Vec<StageClock>, CodecError> {
        let kind = self.kind;
        self.array(field, |r, field, value| {
            read_clock(kind, &format!("{}.", r.path(field)), value)
        })
    }

    fn closing(&mut self, field: &str) -> Result<Closing, CodecError> {
        let value = self.required(field)?;
        let mut r = Reader::new(
            self.kind,
            &format!("{}.", self.path(field)),
            value,
            &["kind", "self_handled"],
            &[],
        )?;
        Ok(Closing {
            kind: r.name("kind", ClosingType::parse)?,
            self_handled: r.bool("self_handled")?,
        })
    }

    fn utc(&mut self, field: &str) -> Result<DateTime<Utc>, CodecError> {
        Ok(self.parsed(field, parse_instant)?.to_utc())
    }

    fn local(&mut self, field: &str) -> Result<DateTime<FixedOffset>, CodecError> {
        self.parsed(field, parse_instant)
    }

    fn optional_local(&mut self, field: &str) -> Result<Option<DateTime<FixedOffset>>, CodecError> {
        match self.required(field)? {
            Value::Null => Ok(None),
            value => self.parsed_value(field, value, parse_instant).map(Some),
        }
    }
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

/// The (required, optional) body fields of each action.
fn command_fields(kind: CommandKind) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        CommandKind::Verify
        | CommandKind::SelfHandle
        | CommandKind::Urge
        | CommandKind::Supervise => (&[], &["note"]),
        CommandKind::Accept | CommandKind::Sign | CommandKind::Resume => (&[], &[]),
        CommandKind::Decline | CommandKind::Void | CommandKind::Hang => (&[], &["reason"]),
        CommandKind::Register => (&["criteria_met"], &[]),
        CommandKind::Dispatch => (&["units", "lead"], &[]),
        CommandKind::SubDispatch => (&["to"], &[]),
        CommandKind::Return => (&["reason_code"], &["note"]),
        CommandKind::Arbitrate => (&["responsible"], &["note"]),
        CommandKind::RequestExtension => (&["minutes"], &["reason"]),
        CommandKind::DecideExtension | CommandKind::Review => (&["approve"], &["note"]),
        CommandKind::Note => (&[], &["text"]),
        CommandKind::Reply => (&[], &["note", "evidence"]),
        CommandKind::Check => (&["passed"], &["note"]),
        CommandKind::Rate => (&["level"], &["reasonable", "comment"]),
        CommandKind::Judge => (&["reasonable"], &["note"]),
        CommandKind::Comment => (&[], &["text"]),
        CommandKind::Alarm => (&["alarm", "cleared"], &["reason"]),
        CommandKind::Close => (&["closing"], &["note"]),
        CommandKind::Merge => (&["parent"], &[]),
    }
}

/// Reads an API command: `action` is its name ([`CommandKind::as_str`]),
/// `body` a JSON object with its fields (or `null` for none); see the module
/// documentation for the fields and defaults.
pub fn parse_command(action: &str, body: &Value) -> Result<Command, CodecError> {
    let kind = CommandKind::parse(action).map_err(|_| CodecError::UnknownAction {
        action: action.to_owned(),
    })?;
    let (required, optional) = command_fields(kind);
    let mut r = Reader::new(kind.as_str(), "", body.clone(), required, optional)?;
    let command = match kind {
        CommandKind::Verify => Command::Verify {
            note: r.text_or_empty("note")?,
        },
        CommandKind::Accept => Command::Accept,
        CommandKind::Decline => Command::Decline {
            reason: r.text_or_empty("reason")?,
        },
        CommandKind::Register => Command::Register {
            criteria_met: r.bool("criteria_met")?,
        },
        CommandKind::Void => Command::Void {
            reason: r.text_or_empty("reason")?,
        },
        CommandKind::SelfHandle => Command::SelfHandle {
            note: r.text_or_empty("note")?,
        },
        CommandKind::Dispatch => Command::Dispatch {
            units: r.departments("units")?,
            lead: r.department("lead")?,
        },
        CommandKind::SubDispatch => Command::SubDispatch {
            to: r.department("to")?,
        },
        CommandKind::Sign => Command::Sign,
        CommandKind::Return => Command::Return {
            reason_code: r.name("reason_code", ReturnReason::parse)?,
            note: r.text_or_empty("note")?,
        },
        CommandKind::Arbitrate => Command::Arbitrate {
            responsible: r.department("responsible")?,
            note: r.text_or_empty("note")?,
        },
        CommandKind::RequestExtension => Command::RequestExtension {
            minutes: r.i64("minutes")?,
            reason: r.text_or_empty("reason")?,
        },
        CommandKind::DecideExtension => Command::DecideExtension {
            approve: r.bool("approve")?,
            note: r.text_or_empty("note")?,
        },
        CommandKind::Hang => Command::Hang {
            reason: r.text_or_empty("reason")?,
        },
        CommandKind::Resume => Command::Resume,
        CommandKind::Note => Command::Note {
            text: r.text_or_empty("text")?,
        },
        CommandKind::Reply => Command::Reply {
            note: r.text_or_empty("note")?,
            evidence: if r.map.get("evidence").is_none_or(Value::is_null) {
                Vec::new()
            } else {
                r.strings("evidence")?
            },
        },
        CommandKind::Review => Command::Review {
            approve: r.bool("approve")?,
            note: r.text_or_empty("note")?,
        },
        CommandKind::Check => Command::Check {
            passed: r.bool("passed")?,
            note: r.text_or_empty("note")?,
        },
        CommandKind::Rate => Command::Rate {
            level: r.name("level", Rating::parse)?,
            reasonable: r.optional_bool("reasonable")?,
            comment: r.text_or_empty("comment")?,
        },
        CommandKind::Judge => Command::Judge {
            reasonable: r.bool("reasonable")?,
            note: r.text_or_empty("note")?,
        },
        CommandKind::Comment => Command::Comment {
            text: r.text_or_empty("text")?,
        },
        CommandKind::Alarm => Command::Alarm {
            alarm: r.i64("alarm")?,
            cleared: r.bool("cleared")?,
            reason: r.text_or_empty("reason")?,
        },
        CommandKind::Close => Command::Close {
            closing: r.name("closing", ClosingType::parse)?,
            note: r.text_or_empty("note")?,
        },
        CommandKind::Urge => Command::Urge {
            note: r.text_or_empty("note")?,
        },
        CommandKind::Supervise => Command::Supervise {
            note: r.text_or_empty("note")?,
        },
        CommandKind::Merge => Command::Merge {
            parent: CaseId(r.i64("parent")?),
        },
    };
    Ok(command)
}

/// The inverse of [`parse_command`]: `(action, body)` with every field of
/// the command (text fields included when empty).
pub fn command_to_json(command: &Command) -> (String, Value) {
    let body = match command {
        Command::Verify { note }
        | Command::SelfHandle { note }
        | Command::Urge { note }
        | Command::Supervise { note } => json!({ "note": note }),
        Command::Accept | Command::Sign | Command::Resume => json!({}),
        Command::Decline { reason } | Command::Void { reason } | Command::Hang { reason } => {
            json!({ "reason": reason })
        }
        Command::Register { criteria_met } => json!({ "criteria_met": criteria_met }),
        Command::Dispatch { units, lead } => {
            json!({ "units": departments_to_json(units), "lead": lead.as_str() })
        }
        Command::SubDispatch { to } => json!({ "to": to.as_str() }),
        Command::Return { reason_code, note } => {
            json!({ "reason_code": reason_code.as_str(), "note": note })
        }
        Command::Arbitrate { responsible, note } => {
            json!({ "responsible": responsible.as_str(), "note": note })
        }
        Command::RequestExtension { minutes, reason } => {
            json!({ "minutes": minutes, "reason": reason })
        }
        Command::DecideExtension { approve, note } | Command::Review { approve, note } => {
            json!({ "approve": approve, "note": note })
        }
        Command::Note { text } => json!({ "text": text }),
        Command::Reply { note, evidence } => json!({ "note": note, "evidence": evidence }),
        Command::Check { passed, note } => json!({ "passed": passed, "note": note }),
        Command::Rate {
            level,
            reasonable,
            comment,
        } => {
            json!({ "level": level.as_str(), "reasonable": reasonable, "comment": comment })
        }
        Command::Judge { reasonable, note } => json!({ "reasonable": reasonable, "note": note }),
        Command::Comment { text } => json!({ "text": text }),
        Command::Alarm {
            alarm,
            cleared,
            reason,
        } => json!({ "alarm": alarm, "cleared": cleared, "reason": reason }),
        Command::Close { closing, note } => json!({ "closing": closing.as_str(), "note": note }),
        Command::Merge { parent } => json!({ "parent": parent.0 }),
    };
    (command.as_str().to_owned(), body)
}
