//! The rule engine: observations in, alarm changes out.
//!
//! Per (rule, datastream) the engine keeps a small state and answers each
//! observation with the alarms it raises or clears; [`Engine::tick`] does the
//! same for the passage of time (missing data). It is deterministic and does
//! no IO: the caller stores observations and alarms, and opens cases.
//!
//! Semantics, per datastream:
//!
//! - **Order and redelivery.** Rules see a datastream's observations in
//!   phenomenon-time order. One at or before the last seen is a redelivery
//!   or a late arrival ([`Skip`]): stored by the caller (deduplicated on
//!   datastream and phenomenon time) but not evaluated, so at-least-once
//!   delivery never raises twice.
//! - **Threshold for a duration.** A run is a sequence of violating
//!   observations, each at most two periods after the previous (one missing
//!   reading is tolerated; a longer gap starts a new run). The run's length
//!   is from its first observation to the latest plus one period (an hourly
//!   value covers its hour): two hourly values above 75 make a 120-minute
//!   run. The alarm is raised when the length reaches `for_minutes` and
//!   cleared when a run of normal values (same rule) reaches
//!   `clear_for_minutes` — with 0, by the first normal value.
//! - **Rate of change** compares each observation with the previous one.
//! - **Window** aggregates the observations within `window_minutes` before
//!   and including the latest.
//! - **Missing.** A stream is silent when nothing arrived for
//!   `silent_minutes` (counted from its registration if nothing ever did);
//!   the next observation clears it.
//!
//! An alarm changes strictly alternately: raised, cleared, raised…

use crate::rule::{Aggregate, Condition, Rule, Severity};
use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, VecDeque};

/// One measured value of a datastream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    pub datastream: u64,
    /// When the value was measured (SensorThings `phenomenonTime`).
    pub at: DateTime<Utc>,
    pub value: f64,
}

/// A datastream as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    pub id: u64,
    /// The observed property's code, e.g. `pm25`.
    pub property: String,
    /// Area codes from the city down to the device's area.
    pub area_path: Vec<String>,
    /// The sampling period in minutes (0: irregular).
    pub period_minutes: u32,
    /// When it was registered (the start of its silence, if it never speaks).
    pub since: DateTime<Utc>,
}

/// Why an observation was not evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    #[error("datastream {0} is not registered")]
    UnknownStream(u64),
    #[error("the value is not a finite number")]
    NotFinite,
    #[error("an observation at this phenomenon time was already seen")]
    Duplicate,
    #[error("older than the latest observation of its datastream")]
    Late,
}

/// An alarm raised or cleared.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Raised {
        /// The rule's index in the engine.
        rule: usize,
        datastream: u64,
        at: DateTime<Utc>,
        severity: Severity,
        /// What was seen, e.g. `pm25 > 75 for 120 min (last 181)`.
        reason: String,
    },
    Cleared {
        rule: usize,
        datastream: u64,
        at: DateTime<Utc>,
        reason: String,
    },
}

impl Change {
    pub fn rule(&self) -> usize {
        match self {
            Change::Raised { rule, .. } | Change::Cleared { rule, .. } => *rule,
        }
    }

    pub fn datastream(&self) -> u64 {
        match self {
            Change::Raised { datastream, .. } | Change::Cleared { datastream, .. } => *datastream,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    active: bool,
    /// Threshold: the current run's first and latest observation.
    run: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Threshold: the current run of normal values (for hysteresis).
    normal_run: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Rate of change: the previous observation.
    previous: Option<(DateTime<Utc>, f64)>,
    /// Window: the observations in the window.
    window: VecDeque<(DateTime<Utc>, f64)>,
}

struct StreamState {
    stream: Stream,
    last: Option<DateTime<Utc>>,
    /// Indexes of the rules that watch this stream.
    rules: Vec<usize>,
}

/// Rules and the state of every (rule, datastream).
pub struct Engine {
    rules: Vec<Rule>,
    streams: HashMap<u64, StreamState>,
    states: HashMap<(usize, u64), State>,
}

impl Engine {
    /// An engine over checked rules (see [`crate::parse_rules`]).
    pub fn new(rules: Vec<Rule>) -> Engine {
        Engine {
            rules,
            streams: HashMap::new(),
            states: HashMap::new(),
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Registers (or re-registers, keeping its history) a datastream.
    pub fn add_stream(&mut self, stream: Stream) {
        let rules = self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| {
                rule.property == stream.property
                    && rule
                        .area
                        .as_ref()
                        .is_none_or(|area| stream.area_path.iter().any(|a| a == area))
            })
            .map(|(i, _)| i)
            .collect();
        let last = self.streams.get(&stream.id).and_then(|s| s.last);
        self.streams.insert(
            stream.id,
            StreamState {
                stream,
                last,
                rules,
            },
        );
    }

    /// Whether a datastream is registered.
    pub fn has_stream(&self, id: u64) -> bool {
        self.streams.contains_key(&id)
    }

    /// The index of the rule with this id.
    pub fn rule_index(&self, id: &str) -> Option<usize> {
        self.rules.iter().position(|rule| rule.id == id)
    }

    /// Restores what a restart lost: the phenomenon time of a registered
    /// stream's latest stored observation (so redelivered ones stay
    /// skipped) and the alarms still active on it (so they are not raised
    /// again). Runs and windows start afresh.
    pub fn restore(
        &mut self,
        datastream: u64,
        last: Option<DateTime<Utc>>,
        active_rules: &[usize],
    ) {
        if let Some(stream) = self.streams.get_mut(&datastream) {
            stream.last = stream.last.max(last);
        }
        for &rule in active_rules {
            self.states.entry((rule, datastream)).or_default().active = true;
        }
    }

    /// True when the alarm of `rule` on `datastream` is active.
    pub fn is_active(&self, rule: usize, datastream: u64) -> bool {
        self.states
            .get(&(rule, datastream))
            .is_some_and(|s| s.active)
    }

    /// Every active alarm as (rule, datastream).
    pub fn active(&self) -> Vec<(usize, u64)> {
        let mut active: Vec<(usize, u64)> = self
            .states
            .iter()
            .filter(|(_, s)| s.active)
            .map(|(k, _)| *k)
            .collect();
        active.sort_unstable();
        active
    }

    /// Evaluates one observation against the rules of its datastream.
    pub fn observe(&mut self, observation: Observation) -> Result<Vec<Change>, Skip> {
        if !observation.value.is_finite() {
            return Err(Skip::NotFinite);
        }
        let stream = self
            .streams
            .get_mut(&observation.datastream)
            .ok_or(Skip::UnknownStream(observation.datastream))?;
        match stream.last {
            Some(last) if observation.at == last => return Err(Skip::Duplicate),
            Some(last) if observation.at < last => return Err(Skip::Late),
            _ => {}
        }
        stream.last = Some(observation.at);
        let period = Duration::minutes(i64::from(stream.stream.period_minutes));
        let property = &stream.stream.property;
        let mut changes = Vec::new();
        for &index in &stream.rules {
            let rule = &self.rules[index];
            let state = self
                .states
                .entry((index, observation.datastream))
                .or_default();
            let verdict = evaluate(rule, state, observation, period, property);
            transition(
                &mut changes,
                state,
                verdict,
                index,
                rule.severity,
                observation,
            );
        }
        Ok(changes)
    }

    /// Raises the missing-data alarms of streams silent at `now`.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut ids: Vec<u64> = self.streams.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let stream = &self.streams[&id];
            let heard = stream.last.unwrap_or(stream.stream.since);
            for &index in &stream.rules {
                let rule = &self.rules[index];
                let Condition::Missing { silent_minutes } = rule.when else {
                    continue;
                };
                let silent = now - heard >= Duration::minutes(i64::from(silent_minutes));
                let state = self.states.entry((index, id)).or_default();
                if silent && !state.active {
                    state.active = true;
                    changes.push(Change::Raised {
                        rule: index,
                        datastream: id,
                        at: now,
                        severity: rule.severity,
                        reason: format!(
                            "no {} observation for {} min (last {})",
                            rule.property,
                            (now - heard).num_minutes(),
                            stream.last.map_or("never".to_owned(), |t| t.to_rfc3339())
                        ),
                    });
                }
            }
        }
        changes
    }
}

/// A rule's verdict on one observation.
enum Verdict {
    /// Abnormal; raise (if not already) with this reason.
    Abnormal(String),
    /// Normal; clear (if active) with this reason.
    Normal(String),
    /// Not enough to say either (e.g. a run still too short).
    Undecided,
}

fn evaluate(
    rule: &Rule,
    state: &mut State,
    observation: Observation,
    period: Duration,
    property: &str,
) -> Verdict {
    let at = observation.at;
    let value = observation.value;
    match &rule.when {
        Condition::Threshold {
            op,
            value: limit,
            for_minutes,
            clear_for_minutes,
        } => {
            let gap_max = period * 2;
            // A run continues over at most one missing reading.
            let extend = |run: Option<(DateTime<Utc>, DateTime<Utc>)>| match run {
                Some((start, latest)) if period.is_zero() || at - latest <= gap_max => start,
                _ => at,
            };
            if !op.holds(value, *limit) {
                state.run = None;
                let start = extend(state.normal_run);
                state.normal_run = Some((start, at));
                let normal = at - start + period;
                return if normal >= Duration::minutes(i64::from(*clear_for_minutes)) {
                    Verdict::Normal(format!(
                        "{property} {value} back within {} {limit}",
                        op.as_str()
                    ))
                } else {
                    Verdict::Undecided
                };
            }
            state.normal_run = None;
            let start = extend(state.run);
            state.run = Some((start, at));
            let length = at - start + period;
            if length >= Duration::minutes(i64::from(*for_minutes)) {
                Verdict::Abnormal(format!(
                    "{property} {} {limit} for {} min (last {value})",
                    op.as_str(),
                    length.num_minutes()
                ))
            } else {
                Verdict::Undecided
            }
        }
        Condition::RateOfChange { limit, per_minutes } => {
            let previous = state.previous.replace((at, value));
            let Some((before, old)) = previous else {
                return Verdict::Undecided;
            };
            let minutes = (at - before).num_seconds() as f64 / 60.0;
            if minutes <= 0.0 {
                return Verdict::Undecided;
            }
            let rate = (value - old).abs() / minutes * f64::from(*per_minutes);
            if rate > *limit {
                Verdict::Abnormal(format!(
                    "{property} changed {rate:.1} per {per_minutes} min (> {limit}; {old} → {value})"
                ))
            } else {
                Verdict::Normal(format!(
                    "{property} steady ({rate:.1} per {per_minutes} min)"
                ))
            }
        }
        Condition::Missing { .. } => Verdict::Normal(format!("{property} observed again")),
        Condition::Window {
            aggregate,
            window_minutes,
            op,
            value: limit,
            min_count,
        } => {
            state.window.push_back((at, value));
            let from = at - Duration::minutes(i64::from(*window_minutes));
            while state.window.front().is_some_and(|(t, _)| *t <= from) {
                state.window.pop_front();
            }
            if state.window.len() < *min_count as usize {
                return Verdict::Undecided;
            }
            let values = state.window.iter().map(|(_, v)| *v);
            let result = match aggregate {
                Aggregate::Mean => values.sum::<f64>() / state.window.len() as f64,
                Aggregate::Max => values.fold(f64::NEG_INFINITY, f64::max),
                Aggregate::Min => values.fold(f64::INFINITY, f64::min),
            };
            let name = match aggregate {
                Aggregate::Mean => "mean",
                Aggregate::Max => "max",
                Aggregate::Min => "min",
            };
            if op.holds(result, *limit) {
                Verdict::Abnormal(format!(
                    "{name} {property} over {window_minutes} min {result:.1} {} {limit}",
                    op.as_str()
                ))
            } else {
                Verdict::Normal(format!(
                    "{name} {property} over {window_minutes} min {result:.1}"
                ))
            }
        }
    }
}

fn transition(
    changes: &mut Vec<Change>,
    state: &mut State,
    verdict: Verdict,
    rule: usize,
    severity: Severity,
    observation: Observation,
) {
    match verdict {
        Verdict::Abnormal(reason) if !state.active => {
            state.active = true;
            changes.push(Change::Raised {
                rule,
                datastream: observation.datastream,
                at: observation.at,
                severity,
                reason,
            });
        }
        Verdict::Normal(reason) if state.active => {
            state.active = false;
            changes.push(Change::Cleared {
                rule,
                datastream: observation.datastream,
                at: observation.at,
                reason,
            });
        }
        _ => {}
    }
}
