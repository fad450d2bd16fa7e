//! City vital signs (城市生命体征): named indicators computed on request
//! from the store, for the city and each district, each with a status
//! against its thresholds — air quality, sensors online, open alarms by
//! severity, open and overdue cases. Public: they are aggregates and carry
//! no personal data.
//!
//! Air quality is AQI-style: the PM2.5 individual index of HJ 633-2012
//! (breakpoints 0–35–75–115–150–250–350–500 µg/m³ → 0–50–100–150–200–300–
//! 400–500), computed on the mean of the latest hourly values of the
//! area's PM2.5 sensors heard within the last three hours. It is not the
//! official AQI (which takes 24-hour means of six pollutants).

use crate::AppState;
use crate::problem::{ApiResult, Json, Problem, Query};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use cityloop_domain::{AreaCode, AreaLevel};
use cityloop_store::{AreaQuery, CaseQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/vital-signs", get(vital_signs))
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

fn status(value: Option<f64>, yellow: f64, red: f64, higher_is_worse: bool) -> String {
    let Some(value) = value else {
        return "grey".into();
    };
    let worse = |limit: f64| {
        if higher_is_worse {
            value > limit
        } else {
            value < limit
        }
    };
    if worse(red) {
        "red"
    } else if worse(yellow) {
        "yellow"
    } else {
        "green"
    }
    .into()
}

/// The city's vital signs, and each district's.
#[utoipa::path(get, path = "/api/v1/vital-signs", tag = "sensors", params(VitalQuery),
    responses((status = 200, body = VitalSigns), (status = 400, body = crate::problem::ProblemBody)))]
pub async fn vital_signs(
    State(state): State<AppState>,
    Query(query): Query<VitalQuery>,
) -> ApiResult<Json<VitalSigns>> {
    let with_districts = match query.by.as_deref() {
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
        let open = store
            .count_cases(&CaseQuery {
                open_only: true,
                within: vec![code.clone()],
                ..Default::default()
            })
            .await? as f64;
        let overdue = store
            .count_cases(&CaseQuery {
                open_only: true,
                within: vec![code.clone()],
                due_by: Some(now),
                ..Default::default()
            })
            .await? as f64;
        let overdue_share = (open > 0.0).then(|| overdue / open * 100.0);
        let indicator = |name: &str,
                         label: &str,
                         value: Option<f64>,
                         unit: &str,
                         status: String,
                         thresholds: &str,
                         note: Option<String>| Indicator {
            name: name.into(),
            label: label.into(),
            value: value.map(|v| (v * 10.0).round() / 10.0),
            unit: unit.into(),
            status,
            thresholds: thresholds.into(),
            note,
        };
        result.push(AreaSigns {
            code: code.as_str().to_owned(),
            name: record.area.name.clone(),
            indicators: vec![
                indicator(
                    "air_quality",
                    "空气质量（PM2.5 分指数）",
                    air,
                    "index",
                    status(air, 100.0, 200.0, true),
                    "yellow above 100, red above 200",
                    air.map(|a| aqi_level(a).to_owned()),
                ),
                indicator(
                    "sensors_online",
                    "传感器在线率",
                    share,
                    "%",
                    status(share, 90.0, 75.0, false),
                    "yellow below 90 %, red below 75 %",
                    Some(format!("{} / {}", online.len(), inside.len())),
                ),
                indicator(
                    "alarms_critical",
                    "严重告警",
                    Some(critical),
                    "alarms",
                    status(Some(critical), 0.0, 0.0, true),
                    "red above 0",
                    None,
                ),
                indicator(
                    "alarms_major",
                    "重要告警",
                    Some(major),
                    "alarms",
                    status(Some(major), 0.0, 5.0, true),
                    "yellow above 0, red above 5",
                    None,
                ),
                indicator(
                    "alarms_minor",
                    "一般告警",
                    Some(minor),
                    "alarms",
                    status(Some(minor), 10.0, 50.0, true),
                    "yellow above 10, red above 50",
                    None,
                ),
                indicator(
                    "cases_open",
                    "在办案件",
                    Some(open),
                    "cases",
                    "green".into(),
                    "informational",
                    None,
                ),
                indicator(
                    "cases_overdue",
                    "超期案件占比",
                    overdue_share,
                    "%",
                    status(overdue_share, 5.0, 15.0, true),
                    "yellow above 5 %, red above 15 %",
                    Some(format!("{overdue} / {open}")),
                ),
            ],
        });
    }
    Ok(Json(VitalSigns {
        at: now,
        areas: result,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
