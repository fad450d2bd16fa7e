//! SLA rules as data: the JSON form of `cityloop_workflow::SlaPolicy`, as
//! shipped in `data/sla-rules.json` and served and replaced through the API.
//!
//! A rule is `{"stage", "limit", "category"?, "urgency"?, "area"?}`; the most
//! specific rule wins (finest area on the case's path, then category code
//! over class over any, then a given urgency).

use cityloop_calendar::Limit;
use cityloop_domain::{AreaCode, CategorySelector};
use cityloop_workflow::{SlaPolicy, SlaRule, Stage, Urgency};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleJson {
    /// acceptance, registration, dispatch, signing, handling, review, checking, callback.
    pub stage: String,
    /// `<N><unit>`: m/h/d natural, wm/wh/wd working.
    pub limit: String,
    /// A case category code, `class:NN`, or absent for any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// urgent or normal; absent for both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<String>,
    /// An area code; absent for the whole city.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
}

/// A rule that does not parse: which one and which field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule {index}: {field}: {message}")]
pub struct RuleError {
    pub index: usize,
    pub field: &'static str,
    pub message: String,
}

/// The settings key under which the SLA rules are kept.
pub const SLA_RULES_SETTING: &str = "sla_rules";

/// Upper bound on the number of rules in one policy.
pub const RULES_MAX: usize = 10_000;

pub fn policy_from_json(rules: &[RuleJson]) -> Result<SlaPolicy, RuleError> {
    if rules.len() > RULES_MAX {
        return Err(RuleError {
            index: RULES_MAX,
            field: "rules",
            message: format!("at most {RULES_MAX} rules"),
        });
    }
    let parsed = rules
        .iter()
        .enumerate()
        .map(|(index, rule)| {
            let error = |field: &'static str, message: String| RuleError {
                index,
                field,
                message,
            };
            Ok(SlaRule {
                stage: Stage::parse(&rule.stage).map_err(|e| error("stage", e.message))?,
                limit: Limit::parse(&rule.limit).map_err(|e| error("limit", e.to_string()))?,
                category: rule
                    .category
                    .as_deref()
                    .map(CategorySelector::parse)
                    .transpose()
                    .map_err(|e| error("category", e.message))?,
                urgency: rule
                    .urgency
                    .as_deref()
                    .map(Urgency::parse)
                    .transpose()
                    .map_err(|e| error("urgency", e.message))?,
                area: rule
                    .area
                    .as_deref()
                    .map(AreaCode::canonical)
                    .transpose()
                    .map_err(|e| error("area", e.message))?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SlaPolicy::new(parsed))
}

pub fn policy_to_json(policy: &SlaPolicy) -> Vec<RuleJson> {
    policy
        .rules
        .iter()
        .map(|rule| RuleJson {
            stage: rule.stage.as_str().to_owned(),
            limit: rule.limit.to_string(),
            category: rule.category.as_ref().map(ToString::to_string),
            urgency: rule.urgency.map(|u| u.as_str().to_owned()),
            area: rule.area.as_ref().map(|a| a.as_str().to_owned()),
        })
        .collect()
}

/// The default rules shipped in `data/sla-rules.json`.
pub const DEFAULT_RULES_JSON: &str = include_str!("../../../data/sla-rules.json");

pub fn default_policy() -> SlaPolicy {
    let rules: Vec<RuleJson> =
        serde_json::from_str(DEFAULT_RULES_JSON).expect("data/sla-rules.json is valid JSON");
    policy_from_json(&rules).expect("data/sla-rules.json holds valid rules")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rules_parse_and_round_trip() {
        let policy = default_policy();
        assert!(policy.rules.len() >= 8);
        let json = policy_to_json(&policy);
        assert_eq!(policy_from_json(&json).unwrap(), policy);
    }

    #[test]
    fn a_bad_rule_names_its_index_and_field() {
        let rules = vec![
            RuleJson {
                stage: "handling".into(),
                limit: "3wd".into(),
                category: None,
                urgency: None,
                area: None,
            },
            RuleJson {
                stage: "handling".into(),
                limit: "3 weeks".into(),
                category: None,
                urgency: None,
                area: None,
            },
        ];
        let error = policy_from_json(&rules).unwrap_err();
        assert_eq!((error.index, error.field), (1, "limit"));
    }
}
