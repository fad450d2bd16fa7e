//! Alarm rules as data: which observations a rule watches (an observed
//! property, optionally within an area), what counts as abnormal, how
//! severe it is, and the case it opens (category and department).
//!
//! The JSON form (an array of these):
//!
//! ```json
//! {"id": "pm25-high", "name": "PM2.5 超标", "property": "pm25", "area": "310107",
//!  "when": {"threshold": {"op": ">", "value": 75, "for_minutes": 120}},
//!  "severity": "major", "case": {"category": "AQ01", "department": "310107-sthj"}}
//! ```
//!
//! `when` is one of
//! - `threshold` — `op` (`>`, `>=`, `<`, `<=`) `value`, sustained for
//!   `for_minutes` (0: at once), cleared once normal for `clear_for_minutes`
//!   (0: at the first normal value);
//! - `rate_of_change` — the absolute change per `per_minutes` exceeds `limit`;
//! - `missing` — no observation for `silent_minutes` (the device is offline);
//! - `window` — the `mean`, `max` or `min` over the last `window_minutes`
//!   compared with `op` `value`, once at least `min_count` observations are
//!   in the window.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest duration or window a rule may name: 31 days.
pub const RULE_MINUTES_MAX: u32 = 31 * 24 * 60;
/// The most rules one engine holds.
pub const RULES_MAX: usize = 10_000;

/// A rule that is not well formed, naming the rule and the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("rule {rule:?}: {field}: {message}")]
pub struct RuleError {
    pub rule: String,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = ">")]
    Above,
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "<=")]
    AtMost,
}

impl Op {
    pub fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Op::Above => value > limit,
            Op::AtLeast => value >= limit,
            Op::Below => value < limit,
            Op::AtMost => value <= limit,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Above => ">",
            Op::AtLeast => ">=",
            Op::Below => "<",
            Op::AtMost => "<=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Minor,
    Major,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    Mean,
    Max,
    Min,
}

/// What counts as abnormal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    Threshold {
        op: Op,
        value: f64,
        #[serde(default)]
        for_minutes: u32,
        /// Hysteresis: an active alarm clears only once the value has been
        /// back to normal this long (0: at the first normal value).
        #[serde(default)]
        clear_for_minutes: u32,
    },
    RateOfChange {
        limit: f64,
        per_minutes: u32,
    },
    Missing {
        silent_minutes: u32,
    },
    Window {
        aggregate: Aggregate,
        window_minutes: u32,
        op: Op,
        value: f64,
        #[serde(default = "one")]
        min_count: u32,
    },
}

fn one() -> u32 {
    1
}

/// The case an alarm opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    /// A case category code (GB/T 47678.5 matter or local).
    pub category: String,
    /// The department the case is dispatched to; absent: routed by the
    /// responsibility list like any case.
    #[serde(default)]
    pub department: Option<String>,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub name: String,
    /// The observed property's code, e.g. `pm25`.
    pub property: String,
    /// Only streams within this area (an area code on the stream's path).
    #[serde(default)]
    pub area: Option<String>,
    pub when: Condition,
    pub severity: Severity,
    /// The case an alarm opens; absent: the alarm is shown, no case.
    #[serde(default)]
    pub case: Option<CaseSpec>,
}

impl Rule {
    fn error(&self, field: &str, message: impl Into<String>) -> RuleError {
        RuleError {
            rule: self.id.clone(),
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// Checks what serde cannot: names, finite numbers, durations in range.
    pub fn check(&self) -> Result<(), RuleError> {
        let word = |text: &str| {
            !text.is_empty()
                && text.len() <= 64
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        if !word(&self.id) {
            return Err(self.error("id", "1–64 letters, digits, '-', '_' or '.'"));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            return Err(self.error("name", "1–200 characters"));
        }
        if !word(&self.property) {
            return Err(self.error("property", "1–64 letters, digits, '-', '_' or '.'"));
        }
        let minutes = |field: &str, value: u32, zero_ok: bool| {
            if (!zero_ok && value == 0) || value > RULE_MINUTES_MAX {
                Err(self.error(
                    field,
                    format!(
                        "{} to {RULE_MINUTES_MAX} minutes",
                        if zero_ok { 0 } else { 1 }
                    ),
                ))
            } else {
                Ok(())
            }
        };
        let finite = |field: &str, value: f64| {
            if value.is_finite() {
                Ok(())
            } else {
                Err(self.error(field, "must be a finite number"))
            }
        };
        match &self.when {
            Condition::Threshold {
                value,
                for_minutes,
                clear_for_minutes,
                ..
            } => {
                finite("when.threshold.value", *value)?;
                minutes("when.threshold.for_minutes", *for_minutes, true)?;
                minutes("when.threshold.clear_for_minutes", *clear_for_minutes, true)?;
            }
            Condition::RateOfChange { limit, per_minutes } => {
                finite("when.rate_of_change.limit", *limit)?;
                if *limit < 0.0 {
                    return Err(self.error("when.rate_of_change.limit", "must not be negative"));
                }
                minutes("when.rate_of_change.per_minutes", *per_minutes, false)?;
            }
            Condition::Missing { silent_minutes } => {
                minutes("when.missing.silent_minutes", *silent_minutes, false)?;
            }
            Condition::Window {
                window_minutes,
                value,
                min_count,
                ..
            } => {
                finite("when.window.value", *value)?;
                minutes("when.window.window_minutes", *window_minutes, false)?;
                if *min_count == 0 || *min_count > 100_000 {
                    return Err(self.error("when.window.min_count", "1 to 100000"));
                }
            }
        }
        if let Some(case) = &self.case
            && case.category.trim().is_empty()
        {
            return Err(self.error("case.category", "must not be empty"));
        }
        Ok(())
    }
}

/// Reads rules from JSON (an array), each checked; ids must be unique.
pub fn parse_rules(json: &str) -> Result<Vec<Rule>, RuleError> {
    let rules: Vec<Rule> = serde_json::from_str(json).map_err(|e| RuleError {
        rule: String::new(),
        field: format!("line {} column {}", e.line(), e.column()),
        message: e.to_string(),
    })?;
    if rules.len() > RULES_MAX {
        return Err(RuleError {
            rule: String::new(),
            field: "rules".into(),
            message: format!("at most {RULES_MAX} rules"),
        });
    }
    let mut ids = std::collections::HashSet::new();
    for rule in &rules {
        rule.check()?;
        if !ids.insert(rule.id.as_str()) {
            return Err(rule.error("id", "used by another rule"));
        }
    }
    Ok(rules)
}
