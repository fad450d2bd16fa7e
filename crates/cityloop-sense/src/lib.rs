//! City perception (城市感知) for cityloop: the rules that turn sensor
//! observations into alarms. Pure — no IO, no clock: observations and the
//! time come in, alarm changes go out; the caller stores series and alarms
//! and opens cases through the closed loop.
//!
//! - [`rule`]: rules as data (threshold with duration, rate of change,
//!   missing data, windowed aggregates), checked with errors that name the
//!   rule and the field.
//! - [`engine`]: the per-(rule, datastream) state machines; semantics in the
//!   module docs.
//!
//! Key design decision: an alarm is a fact about one rule on one datastream
//! and only ever alternates raised → cleared → raised, so a caller can map it
//! to a case lifecycle without bookkeeping of its own, and redelivered or
//! late observations (at-least-once MQTT) never raise twice.

pub mod engine;
pub mod rule;

pub use engine::{Change, Engine, Observation, Skip, Stream};
pub use rule::{Aggregate, CaseSpec, Condition, Op, Rule, RuleError, Severity, parse_rules};
