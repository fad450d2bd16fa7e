//! City vital signs (城市生命体征): named indicators for the city and each
//! district, each with a status against its thresholds — air quality,
//! sensors online, open alarms by severity, open and overdue cases.
//! Computed on request, and sampled every [`SAMPLE_EVERY`] by the server
//! into their history (`/api/v1/vital-signs/history`). The thresholds are
//! data (`data/vital-signs.json`), replaced by an administrator through
//! `PUT /api/v1/vital-signs/thresholds`. Public: they are aggregates and
//! carry no personal data.
//!
//! Air quality is AQI-style: the PM2.5 individual index of HJ 633-2012
//! (breakpoints 0–35–75–115–150–250–350–500 µg/m³ → 0–50–100–150–200–300–
//! 400–500), computed on the mean of the latest hourly values of the
//! area's PM2.5 sensors heard within the last three hours. It is not the
//! official AQI (which takes 24-hour means of six pollutants).

use crate::AppState;
use crate::auth::Caller;
use crate::problem::{ApiResult, Json, Problem, Query};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use cityloop_domain::{AreaCode, AreaLevel, Role};
use cityloop_store::{AreaQuery, VitalSample};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/vital-signs", get(vital_signs))
        .route("/api/v1/vital-signs/history", get(history))
        .route(
            "/api/v1/vital-signs/thresholds",
            get(get_thresholds).put(put_thresholds),
        )
}

/// How often the server samples the vital signs into their history.
pub const SAMPLE_EVERY: std::time::Duration = std::time::Duration::from_secs(300);
/// How long samples are kept.
pub const HISTORY_DAYS: i64 = 90;
/// The setting that keeps thresholds set through the API.
pub const THRESHOLDS_SETTING: &str = "vital_thresholds";
/// The shipped thresholds.
pub const SHIPPED_THRESHOLDS_JSON: &str = include_str!("../../../data/vital-signs.json");

/// An indicator's definition: names, unit and thresholds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub name: String,
    pub label: String,
    pub label_en: String,
    pub unit: String,
    /// Whether a higher value is worse (alarms) or better (sensors online).
    pub higher_is_worse: bool,
    /// Past this value the status is yellow; null: never.
    pub yellow: Option<f64>,
    /// Past this value the status is red; null: never.
    pub red: Option<f64>,
}

impl Threshold {
    fn status(&self, value: Option<f64>) -> String {
        let Some(value) = value else {
            return "grey".into();
        };
        let past = |limit: Option<f64>| {
            limit.is_some_and(|limit| {
                if self.higher_is_worse {
                    value > limit
                } else {
                    value < limit
                }
            })
        };
        if past(self.red) {
            "red"
        } else if past(self.yellow) {
            "yellow"
        } else {
            "green"
        }
        .into()
    }

    fn describe(&self) -> String {
        let word = if self.higher_is_worse {
            "above"
        } else {
            "below"
        };
        let unit = if self.unit == "%" { " %" } else { "" };
        match (self.yellow, self.red) {
            (None, None) => "informational".into(),
            (Some(y), Some(r)) if y == r => format!("red {word} {y}{unit}"),
            (y, r) => [("yellow", y), ("red", r)]
                .iter()
                .filter_map(|(colour, limit)| limit.map(|l| format!("{colour} {word} {l}{unit}")))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// The indicators this server computes.
pub const INDICATORS: [&str; 7] = [
    "air_quality",
    "sensors_online",
    "alarms_critical",
    "alarms_major",
    "alarms_minor",
    "cases_open",
    "cases_overdue",
];

/// Parses and checks thresholds: every indicator once, limits in order.
pub fn parse_thresholds(text: &str) -> Result<Vec<Threshold>, Problem> {
    let thresholds: Vec<Threshold> =
        serde_json::from_str(text).map_err(|e| Problem::invalid("thresholds", e.to_string()))?;
    for (i, t) in thresholds.iter().enumerate() {
        let field = |f: &str| format!("[{i}].{f}");
        if !INDICATORS.contains(&t.name.as_str()) {
            return Err(Problem::invalid(
                field("name"),
                format!("{:?} is not one of {}", t.name, INDICATORS.join(", ")),
            ));
        }
        if thresholds[..i].iter().any(|o| o.name == t.name) {
            return Err(Problem::invalid(
                field("name"),
                format!("{} is given twice", t.name),
            ));
        }
        for (what, limit) in [("yellow", t.yellow), ("red", t.red)] {
            if limit.is_some_and(|l| !l.is_finite()) {
                return Err(Problem::invalid(field(what), "a finite number or null"));
            }
        }
        if let (Some(y), Some(r)) = (t.yellow, t.red)
            && (if t.higher_is_worse { y > r } else { y < r })
        {
            return Err(Problem::invalid(
                field("red"),
                "red must lie past yellow (above it when higher is worse, below otherwise)",
            ));
        }
    }
    if let Some(missing) = INDICATORS
        .iter()
        .find(|name| !thresholds.iter().any(|t| t.name == **name))
    {
        return Err(Problem::invalid(
            "thresholds",
            format!("{missing} is missing"),
        ));
    }
    Ok(thresholds)
}

/// The thresholds in force: those set through the API, else the shipped.
pub async fn thresholds(state: &AppState) -> ApiResult<Vec<Threshold>> {
    match state.store().setting(THRESHOLDS_SETTING).await? {
        Some(text) => parse_thresholds(&text),
        None => parse_thresholds(SHIPPED_THRESHOLDS_JSON),
    }
}

/// A sensor heard within this long counts as online.
pub const ONLINE_WITHIN_HOURS: i64 = 3;

/// The PM2.5 individual air-quality index (HJ 633-2012) of a concentration.
pub fn pm25_iaqi(concentration: f64) -> f64 {
    const C: [f64; 8] = [0.0, 35.0, 75.0, 115.0, 150.0, 250.0, 350.0, 500.0];
    const I: [f64; 8] = [0.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 500.0];
    if concentration <= 0.0 {
        return 0.0;
    }
    for k in 1..C.len() {
        if concentration <= C[k] {
            return I[k - 1] + (I[k] - I[k - 1]) * (concentration - C[k - 1]) / (C[k] - C[k - 1]);
        }
    }
    500.0
}

/// The category of an index value (优, 良, 轻度污染 …).
pub fn aqi_level(index: f64) -> &'static str {
    match index {
        i if i <= 50.0 => "优",
        i if i <= 100.0 => "良",
        i if i <= 150.0 => "轻度污染",
        i if i <= 200.0 => "中度污染",
        i if i <= 300.0 => "重度污染",
        _ => "严重污染",
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Indicator {
    /// e.g. `air_quality`, `sensors_online`.
    pub name: String,
    pub label: String,
    pub label_en: String,
    /// null when nothing can be said (no sensors, no cases).
    pub value: Option<f64>,
    pub unit: String,
    /// green, yellow or red by the thresholds; grey without a value.
    pub status: String,
    /// How the status is decided.
    pub thresholds: String,
    /// A word for the value, e.g. 良 for an index of 80.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AreaSigns {
    pub code: String,
    pub name: String,
    pub indicators: Vec<Indicator>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VitalSigns {
    pub at: DateTime<Utc>,
    /// The city first, then each district.
    pub areas: Vec<AreaSigns>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VitalQuery {
    /// `city` (the city only) or `district` (default: the city and each district).
    pub by: Option<String>,
}

/// The city's vital signs, and each district's.
#[utoipa::path(get, path = "/api/v1/vital-signs", tag = "sensors", params(VitalQuery),
    responses((status = 200, body = VitalSigns), (status = 400, body = crate::problem::ProblemBody)))]
pub async fn vital_signs(
    State(state): State<AppState>,
    Query(query): Query<VitalQuery>,
) -> ApiResult<Json<VitalSigns>> {
    Ok(Json(compute(&state, query.by.as_deref()).await?))
}

/// Computes the vital signs now: of the city, and (unless `by` is `city`)
/// of each district.
pub async fn compute(state: &AppState, by: Option<&str>) -> ApiResult<VitalSigns> {
    let thresholds = thresholds(state).await?;
    let with_districts = match by {
        None | Some("district") => true,
        Some("city") => false,
        Some(other) => {
            return Err(Problem::invalid(
                "by",
                format!("{other:?} is neither city nor district"),
            ));
        }
    };
    let store = state.store();
    let now = state.now();
    let mut areas: Vec<_> = crate::door::city(store).await?.into_iter().collect();
    if with_districts {
        areas.extend(
            store
                .areas(&AreaQuery {
                    level: Some(AreaLevel::District),
                    limit: cityloop_store::PAGE_ROWS_MAX,
                    ..Default::default()
                })
                .await?,
        );
    }
    let streams = store.datastreams().await?;
    // One grouped count for every area (open and overdue cases by path).
    let case_counts = store.open_case_counts(now).await?;
    let alarms = store.alarms(true, cityloop_store::PAGE_ROWS_MAX).await?;
    let online_since = now - Duration::hours(ONLINE_WITHIN_HOURS);
    let mut result = Vec::with_capacity(areas.len());
    for record in areas {
        let code: AreaCode = record.area.code.clone();
        let inside: Vec<&cityloop_store::DatastreamRecord> = streams
            .iter()
            .filter(|s| s.area_path.contains(&code))
            .collect();
        let online: Vec<&&cityloop_store::DatastreamRecord> = inside
            .iter()
            .filter(|s| s.last_at.is_some_and(|t| t >= online_since))
            .collect();
        // The latest value of each online PM2.5 stream.
        let mut latest = Vec::new();
        for stream in online.iter().filter(|s| s.property == "pm25") {
            let from = stream.last_at.unwrap_or(now);
            if let Some(observation) = store
                .observations(stream.id, from, from + Duration::seconds(1), 1, 0)
                .await?
                .first()
            {
                latest.push(observation.result);
            }
        }
        let air = (!latest.is_empty())
            .then(|| pm25_iaqi(latest.iter().sum::<f64>() / latest.len() as f64));
        let share = (!inside.is_empty()).then(|| online.len() as f64 / inside.len() as f64 * 100.0);
        let inside_ids: Vec<i64> = inside.iter().map(|s| s.id).collect();
        let by_severity = |severity: &str| {
            alarms
                .iter()
                .filter(|a| a.severity == severity && inside_ids.contains(&a.datastream))
                .count() as f64
        };
        let critical = by_severity("critical");
        let major = by_severity("major");
        let minor = by_severity("minor") + by_severity("info");
        let (open, overdue) = case_counts
            .iter()
            .filter(|(path, _, _)| path.contains(&code))
            .fold((0.0, 0.0), |(o, d), (_, open, overdue)| {
                (o + *open as f64, d + *overdue as f64)
            });
        let overdue_share = (open > 0.0).then(|| overdue / open * 100.0);
        let values = [
            ("air_quality", air, air.map(|a| aqi_level(a).to_owned())),
            (
                "sensors_online",
                share,
                Some(format!("{} / {}", online.len(), inside.len())),
            ),
            ("alarms_critical", Some(critical), None),
            ("alarms_major", Some(major), None),
            ("alarms_minor", Some(minor), None),
            ("cases_open", Some(open), None),
            (
                "cases_overdue",
                overdue_share,
                Some(format!("{overdue} / {open}")),
            ),
        ];
        let indicators = values
            .into_iter()
            .filter_map(|(name, value, note)| {
                let threshold = thresholds.iter().find(|t| t.name == name)?;
                Some(Indicator {
                    name: name.into(),
                    label: threshold.label.clone(),
                    label_en: threshold.label_en.clone(),
                    value: value.map(|v| (v * 10.0).round() / 10.0),
                    unit: threshold.unit.clone(),
                    status: threshold.status(value),
                    thresholds: threshold.describe(),
                    note,
                })
            })
            .collect();
        result.push(AreaSigns {
            code: code.as_str().to_owned(),
            name: record.area.name.clone(),
            indicators,
        });
    }
    Ok(VitalSigns {
        at: now,
        areas: result,
    })
}

/// Samples the vital signs into their history and forgets samples older
/// than [`HISTORY_DAYS`]; the server calls it every [`SAMPLE_EVERY`].
pub async fn sample(state: &AppState) -> ApiResult<usize> {
    let signs = compute(state, None).await?;
    let samples: Vec<VitalSample> = signs
        .areas
        .iter()
        .flat_map(|area| {
            area.indicators.iter().map(|i| VitalSample {
                at: signs.at,
                area: area.code.clone(),
                indicator: i.name.clone(),
                value: i.value,
                status: i.status.clone(),
            })
        })
        .collect();
    let count = samples.len();
    let store = state.store();
    store.record_vital_samples(samples).await?;
    store
        .delete_vital_samples_before(signs.at - Duration::days(HISTORY_DAYS))
        .await?;
    Ok(count)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// An area code: the city or a district.
    pub area: String,
    /// An indicator's name, e.g. `air_quality`.
    pub indicator: String,
    /// From this instant (default: a day before `to`).
    pub from: Option<String>,
    /// Up to this instant (default: now).
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SampleDto {
    pub at: DateTime<Utc>,
    pub value: Option<f64>,
    pub status: String,
}

/// An indicator's history for an area, oldest first (sampled every five
/// minutes; at most 10,000 samples, about 35 days).
#[utoipa::path(get, path = "/api/v1/vital-signs/history", tag = "sensors", params(HistoryQuery),
    responses((status = 200, body = Vec<SampleDto>), (status = 400, body = crate::problem::ProblemBody)))]
pub async fn history(
    State(state): State<AppState>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<Json<Vec<SampleDto>>> {
    if !INDICATORS.contains(&query.indicator.as_str()) {
        return Err(Problem::invalid(
            "indicator",
            format!("not one of {}", INDICATORS.join(", ")),
        ));
    }
    AreaCode::parse(&query.area).map_err(|e| Problem::invalid("area", e.message))?;
    let to = match &query.to {
        Some(text) => crate::cases::parse_instant("to", text)?,
        None => state.now(),
    };
    let from = match &query.from {
        Some(text) => crate::cases::parse_instant("from", text)?,
        None => to - Duration::days(1),
    };
    if from >= to {
        return Err(Problem::invalid("from", "must be before to"));
    }
    let samples = state
        .store()
        .vital_samples(&query.area, &query.indicator, from, to, 10_000)
        .await?;
    Ok(Json(
        samples
            .into_iter()
            .map(|s| SampleDto {
                at: s.at,
                value: s.value,
                status: s.status,
            })
            .collect(),
    ))
}

/// The thresholds in force.
#[utoipa::path(get, path = "/api/v1/vital-signs/thresholds", tag = "sensors",
    responses((status = 200, body = Vec<Threshold>), (status = 500, body = crate::problem::ProblemBody)))]
pub async fn get_thresholds(State(state): State<AppState>) -> ApiResult<Json<Vec<Threshold>>> {
    Ok(Json(thresholds(&state).await?))
}

/// Replaces the thresholds (administrators); every indicator once.
#[utoipa::path(put, path = "/api/v1/vital-signs/thresholds", tag = "sensors", request_body = Vec<Threshold>,
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Threshold>), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn put_thresholds(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<serde_json::Value>,
) -> ApiResult<Json<Vec<Threshold>>> {
    caller.require(
        caller.0.role == Role::Admin,
        "change the vital-sign thresholds",
    )?;
    let text = body.to_string();
    let parsed = parse_thresholds(&text)?;
    let leaf = crate::transparency::config_leaf(
        &state,
        &caller.0,
        THRESHOLDS_SETTING,
        "replace the vital-sign thresholds",
        text.as_bytes(),
    );
    state
        .store()
        .put_setting(THRESHOLDS_SETTING, &text, vec![leaf])
        .await?;
    Ok(Json(parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_thresholds_cover_every_indicator_and_colour_values() {
        let shipped = parse_thresholds(SHIPPED_THRESHOLDS_JSON).unwrap();
        let online = shipped.iter().find(|t| t.name == "sensors_online").unwrap();
        assert_eq!(online.status(Some(95.0)), "green");
        assert_eq!(online.status(Some(80.0)), "yellow");
        assert_eq!(online.status(Some(50.0)), "red");
        assert_eq!(online.status(None), "grey");
        let critical = shipped
            .iter()
            .find(|t| t.name == "alarms_critical")
            .unwrap();
        assert_eq!(critical.status(Some(1.0)), "red");
        assert_eq!(critical.describe(), "red above 0");
        let open = shipped.iter().find(|t| t.name == "cases_open").unwrap();
        assert_eq!(open.status(Some(1e6)), "green", "informational");
    }

    #[test]
    fn thresholds_out_of_order_or_missing_are_refused_with_the_field() {
        let mut list: Vec<serde_json::Value> =
            serde_json::from_str(SHIPPED_THRESHOLDS_JSON).unwrap();
        list[1]["red"] = serde_json::json!(95);
        let e = parse_thresholds(&serde_json::Value::from(list.clone()).to_string()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("[1].red"));
        list.remove(1);
        let e = parse_thresholds(&serde_json::Value::from(list).to_string()).unwrap_err();
        assert!(e.detail.contains("sensors_online"), "{}", e.detail);
    }

    #[test]
    fn the_pm25_index_follows_hj_633_breakpoints() {
        assert_eq!(pm25_iaqi(0.0), 0.0);
        assert_eq!(pm25_iaqi(35.0), 50.0);
        assert_eq!(pm25_iaqi(55.0), 75.0);
        assert_eq!(pm25_iaqi(75.0), 100.0);
        assert_eq!(pm25_iaqi(250.0), 300.0);
        assert_eq!(pm25_iaqi(900.0), 500.0);
        assert_eq!(aqi_level(pm25_iaqi(80.0)), "轻度污染");
        assert_eq!(aqi_level(pm25_iaqi(20.0)), "优");
    }
}
