//! The command dashboard's server side (态势感知): thematic topics as
//! configuration (`data/dashboard-topics.json`), one aggregated summary per
//! topic (case points by SLA light, H3 hexagon density, counts by category
//! and status, the daily trend, the overdue list) computed from the compact
//! case view so the screen stays fast with 100,000 cases, areas tagged by
//! status (e.g. the controlled communities of an epidemic response), and
//! live events (server-sent events) of cases and alarms.
//!
//! Everything is scoped like the case list: a dispatcher sees their areas,
//! a department its cases.

use crate::auth::Caller;
use crate::problem::{ApiResult, Json, Problem, Query};
use crate::{AppState, cases};
use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use cityloop_domain::{Role, User};
use cityloop_store::{CASE_POINTS_MAX, CasePoint, CaseQuery};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/dashboard/topics", get(topics))
        .route("/api/v1/dashboard/summary", get(summary))
        .route(
            "/api/v1/dashboard/area-tags",
            get(get_area_tags).put(put_area_tags),
        )
        .route("/api/v1/events", get(events))
}

/// The shipped topics.
pub const SHIPPED_TOPICS_JSON: &str = include_str!("../../../data/dashboard-topics.json");
/// The setting that keeps the tagged areas.
pub const AREA_TAGS_SETTING: &str = "area_tags";
/// The tags an area may carry.
pub const AREA_TAGS: [&str; 4] = ["封控区", "管控区", "防范区", "重点关注"];
/// Open cases drawn as points at most.
pub const POINTS_MAX: usize = 20_000;
/// Overdue cases listed at most.
pub const OVERDUE_MAX: usize = 50;
/// The H3 resolution of the density layer unless asked (cells of about
/// 5 km², a few pixels wide at city zoom).
pub const HEX_RESOLUTION: u8 = 7;
/// How long a computed summary is served again.
pub const SUMMARY_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// A raster basemap the screen may draw under its layers (optional
/// configuration; without it the screen needs no tile server).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Basemap {
    pub tiles: Option<String>,
    pub attribution: Option<String>,
}

/// Summaries computed lately, by scope, topic and period.
#[derive(Default)]
pub struct SummaryCache {
    entries: Mutex<HashMap<String, (Instant, Arc<Value>)>>,
}

fn require_staff(caller: &Caller, what: &str) -> ApiResult<()> {
    caller.require(caller.0.role.is_staff(), what)
}

/// The topics (专题) and the basemap.
#[utoipa::path(get, path = "/api/v1/dashboard/topics", tag = "dashboard", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 401, body = crate::problem::ProblemBody),
        (status = 403, body = crate::problem::ProblemBody)))]
pub async fn topics(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    require_staff(&caller, "see the dashboard")?;
    let mut body = shipped_topics();
    body["basemap"] = serde_json::to_value(state.basemap()).unwrap_or(Value::Null);
    Ok(Json(body))
}

fn shipped_topics() -> Value {
    serde_json::from_str(SHIPPED_TOPICS_JSON)
        .unwrap_or_else(|e| panic!("data/dashboard-topics.json: {e}"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    /// A topic id (default: the first).
    pub topic: Option<String>,
    /// The period in days for density, counts and trend (1–365, default 30).
    pub days: Option<i64>,
    /// The H3 resolution of the density cells (5–10, default 7).
    pub res: Option<u8>,
}

/// One topic's screen: open case points by SLA light, the H3 density of the
/// period's cases, counts by category and status, the daily trend and the
/// overdue list, within the caller's scope.
#[utoipa::path(get, path = "/api/v1/dashboard/summary", tag = "dashboard", params(SummaryQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<SummaryQuery>,
) -> ApiResult<Json<Value>> {
    require_staff(&caller, "see the dashboard")?;
    let days = query.days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(Problem::invalid("days", "from 1 to 365"));
    }
    let resolution = match query.res.unwrap_or(HEX_RESOLUTION) {
        r @ 5..=10 => {
            h3o::Resolution::try_from(r).map_err(|e| Problem::invalid("res", e.to_string()))?
        }
        _ => return Err(Problem::invalid("res", "from 5 to 10")),
    };
    let topics = shipped_topics();
    let list = topics["topics"].as_array().cloned().unwrap_or_default();
    let topic = match &query.topic {
        Some(id) => list
            .iter()
            .find(|t| t["id"] == id.as_str())
            .cloned()
            .ok_or_else(|| Problem::invalid("topic", format!("no topic {id:?}")))?,
        None => list.first().cloned().unwrap_or(Value::Null),
    };
    let user = &caller.0;
    let key = format!(
        "{:?}|{:?}|{:?}|{}|{}|{}",
        user.role, user.department, user.areas, topic["id"], days, resolution
    );
    let cache = state.summary_cache();
    if let Some((at, body)) = cache
        .entries
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        && at.elapsed() < SUMMARY_FRESH_FOR
    {
        return Ok(Json((**body).clone()));
    }
    let body = compute_summary(&state, user, &topic, days, resolution).await?;
    let mut entries = cache.entries.lock().unwrap_or_else(|p| p.into_inner());
    entries.retain(|_, (at, _)| at.elapsed() < SUMMARY_FRESH_FOR);
    entries.insert(key, (Instant::now(), Arc::new(body.clone())));
    Ok(Json(body))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn compute_summary(
    state: &AppState,
    user: &User,
    topic: &Value,
    days: i64,
    resolution: h3o::Resolution,
) -> ApiResult<Value> {
    let now = state.now();
    let Some(mut base) = cases::visible_to(user) else {
        return Ok(
            json!({"generated_at": now, "points": [], "hexes": {"type": "FeatureCollection", "features": []},
            "by_category": [], "by_status": [], "trend": [], "overdue": []}),
        );
    };
    base.categories = strings(&topic["filters"]["categories"]);
    base.channels = strings(&topic["filters"]["channels"]);
    let store = state.store();
    let open = store
        .case_points(&CaseQuery {
            open_only: true,
            limit: CASE_POINTS_MAX,
            ..base.clone()
        })
        .await?;
    let since = now - Duration::days(days);
    let period = store
        .case_points(&CaseQuery {
            created_from: Some(since),
            limit: CASE_POINTS_MAX,
            ..base.clone()
        })
        .await?;
    let closed = store
        .case_points(&CaseQuery {
            closed_only: true,
            updated_from: Some(since),
            limit: CASE_POINTS_MAX,
            ..base
        })
        .await?;
    let points: Vec<Value> = open
        .iter()
        .filter(|p| p.lon.is_some() && p.lat.is_some())
        .take(POINTS_MAX)
        .map(|p| {
            json!({"id": p.id, "lon": p.lon, "lat": p.lat, "light": cases::sla_light(p.due_at, p.warn_at, now),
                   "status": p.status, "category": p.category})
        })
        .collect();
    let mut cells: HashMap<h3o::CellIndex, u64> = HashMap::new();
    for p in &period {
        if let (Some(lon), Some(lat)) = (p.lon, p.lat)
            && let Ok(at) = h3o::LatLng::new(lat, lon)
        {
            *cells.entry(at.to_cell(resolution)).or_default() += 1;
        }
    }
    let mut hexes: Vec<(h3o::CellIndex, u64)> = cells.into_iter().collect();
    hexes.sort_by_key(|(cell, count)| (std::cmp::Reverse(*count), u64::from(*cell)));
    let features: Vec<Value> = hexes
        .iter()
        .map(|(cell, count)| {
            let mut ring: Vec<[f64; 2]> =
                cell.boundary().iter().map(|v| [v.lng(), v.lat()]).collect();
            if let Some(first) = ring.first().copied() {
                ring.push(first);
            }
            json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                   "properties": {"cell": cell.to_string(), "count": count}})
        })
        .collect();
    let mut by_category: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    let mut trend: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let day = |t: DateTime<Utc>| {
        t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
            .format("%Y-%m-%d")
            .to_string()
    };
    for p in &period {
        *by_category.entry(p.category.as_str()).or_default() += 1;
        *by_status.entry(p.status.as_str()).or_default() += 1;
        trend.entry(day(p.created_at)).or_default().0 += 1;
    }
    for p in &closed {
        trend.entry(day(p.updated_at)).or_default().1 += 1;
    }
    let mut categories: Vec<(&str, u64)> = by_category.into_iter().collect();
    categories.sort_by_key(|(code, count)| (std::cmp::Reverse(*count), *code));
    let mut by_category = Vec::with_capacity(categories.len());
    for (code, count) in categories {
        by_category.push(
            json!({"category": code, "name": category_name(state, code).await, "count": count}),
        );
    }
    let mut overdue: Vec<&CasePoint> = open
        .iter()
        .filter(|p| p.due_at.is_some_and(|due| due <= now))
        .collect();
    overdue.sort_by_key(|p| (p.due_at, p.id));
    let overdue_count = overdue.len();
    let overdue: Vec<Value> = overdue
        .into_iter()
        .take(OVERDUE_MAX)
        .map(|p| {
            json!({"id": p.id, "category": p.category, "status": p.status,
                   "department": p.lead_department.as_ref().map(|d| d.as_str()),
                   "district": p.district.as_ref().map(|a| a.as_str()),
                   "street": p.street.as_ref().map(|a| a.as_str()), "due_at": p.due_at})
        })
        .collect();
    Ok(json!({
        "generated_at": now,
        "topic": topic["id"],
        "days": days,
        "open_cases": open.len(),
        "overdue_cases": overdue_count,
        "period_cases": period.len(),
        "points": points,
        "points_truncated": open.len() > POINTS_MAX,
        "hexes": {"type": "FeatureCollection", "features": features},
        "by_category": by_category,
        "by_status": by_status.into_iter().map(|(status, count)| json!({"status": status, "count": count})).collect::<Vec<_>>(),
        "trend": trend.into_iter().map(|(day, (created, closed))| json!({"day": day, "created": created, "closed": closed})).collect::<Vec<_>>(),
        "overdue": overdue,
    }))
}

async fn category_name(state: &AppState, code: &str) -> Option<String> {
    let (kind, category) = cityloop_domain::CategoryCode::parse_case_category(code).ok()?;
    state
        .store()
        .category(kind, category.as_str())
        .await
        .ok()
        .flatten()
        .map(|c| c.name)
}

/// The tagged areas as a GeoJSON FeatureCollection (staff).
#[utoipa::path(get, path = "/api/v1/dashboard/area-tags", tag = "dashboard", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 401, body = crate::problem::ProblemBody),
        (status = 403, body = crate::problem::ProblemBody)))]
pub async fn get_area_tags(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    require_staff(&caller, "see tagged areas")?;
    Ok(Json(area_tags(&state).await?))
}

pub async fn area_tags(state: &AppState) -> ApiResult<Value> {
    Ok(match state.store().setting(AREA_TAGS_SETTING).await? {
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            tracing::error!(%e, "stored area tags are not JSON");
            Problem::internal()
        })?,
        None => json!({"type": "FeatureCollection", "features": []}),
    })
}

/// Checks a FeatureCollection of tagged areas; gives features without an
/// id one.
pub fn check_area_tags(mut value: Value) -> Result<Value, Problem> {
    if value["type"] != "FeatureCollection" {
        return Err(Problem::invalid("type", "a GeoJSON FeatureCollection"));
    }
    let features = value["features"]
        .as_array_mut()
        .ok_or_else(|| Problem::invalid("features", "an array of Features"))?;
    if features.len() > 10_000 {
        return Err(Problem::invalid("features", "at most 10,000 areas"));
    }
    for (i, feature) in features.iter_mut().enumerate() {
        let field = |f: &str| format!("features[{i}].{f}");
        let geometry_type = feature["geometry"]["type"].as_str().unwrap_or_default();
        if !matches!(geometry_type, "Polygon" | "MultiPolygon") {
            return Err(Problem::invalid(
                field("geometry"),
                "a Polygon or MultiPolygon (WGS-84)",
            ));
        }
        cityloop_geo::parse_geometry(&feature["geometry"])
            .map_err(|e| Problem::invalid(field("geometry"), e.to_string()))?;
        let tag = feature["properties"]["tag"].as_str().unwrap_or_default();
        if !AREA_TAGS.contains(&tag) {
            return Err(Problem::invalid(
                field("properties.tag"),
                format!("one of {}", AREA_TAGS.join(", ")),
            ));
        }
        let name = feature["properties"]["name"].as_str().unwrap_or_default();
        if name.trim().is_empty() || name.chars().count() > 100 {
            return Err(Problem::invalid(
                field("properties.name"),
                "1–100 characters",
            ));
        }
        if let Some(since) = feature["properties"]["since"].as_str() {
            crate::cases::parse_instant("since", since)
                .map_err(|e| Problem::invalid(field("properties.since"), e.detail))?;
        }
        if feature["properties"]["id"].is_null() {
            feature["properties"]["id"] = json!(format!("tag-{}", i + 1));
        }
    }
    Ok(value)
}

/// Replaces the tagged areas (operators and administrators); logged.
#[utoipa::path(put, path = "/api/v1/dashboard/area-tags", tag = "dashboard", request_body = Object,
    security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn put_area_tags(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<Value>,
) -> ApiResult<Json<Value>> {
    caller.require(
        matches!(caller.0.role, Role::Admin | Role::Operator),
        "tag areas",
    )?;
    let checked = check_area_tags(body)?;
    let text = checked.to_string();
    let count = checked["features"].as_array().map_or(0, Vec::len);
    let leaf = crate::transparency::config_leaf(
        &state,
        &caller.0,
        AREA_TAGS_SETTING,
        &format!("tag {count} areas"),
        text.as_bytes(),
    );
    state
        .store()
        .put_setting(AREA_TAGS_SETTING, &text, vec![leaf])
        .await?;
    Ok(Json(checked))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// A bearer token (EventSource cannot send headers).
    pub token: Option<String>,
}

/// Live events (server-sent events): `case` with the case as lists show it,
/// whenever one in the caller's scope is created or changes; `alarm` with
/// the alarm, whenever one is raised or cleared (staff only).
#[utoipa::path(get, path = "/api/v1/events", tag = "dashboard", params(EventsQuery),
    responses((status = 200, description = "text/event-stream"), (status = 401, body = crate::problem::ProblemBody),
        (status = 403, body = crate::problem::ProblemBody)))]
pub async fn events(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(query): Query<EventsQuery>,
) -> ApiResult<Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>>> {
    let token = query
        .token
        .or_else(|| {
            headers
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_owned)
        })
        .ok_or_else(|| Problem::unauthorized("send ?token=<bearer token>"))?;
    let user = crate::auth::user_for_token(&state, &token).await?;
    if !user.role.is_staff() {
        return Err(Problem::forbidden("live events are for staff"));
    }
    let cases = state.subscribe_case_changes();
    let alarms = state.perception().map(|p| p.subscribe_alarms());
    let stream = futures_util::stream::unfold(
        (state, user, cases, alarms),
        |(state, user, mut cases, mut alarms)| async move {
            loop {
                let next = tokio::select! {
                    case = cases.recv() => Next::Case(case),
                    alarm = async {
                        match alarms.as_mut() {
                            Some(alarms) => alarms.recv().await,
                            None => std::future::pending().await,
                        }
                    } => Next::Alarm(alarm),
                };
                let event = match next {
                    Next::Case(Ok(id)) => case_event(&state, &user, id).await,
                    Next::Alarm(Ok(id)) => alarm_event(&state, id).await,
                    Next::Case(Err(tokio::sync::broadcast::error::RecvError::Lagged(n)))
                    | Next::Alarm(Err(tokio::sync::broadcast::error::RecvError::Lagged(n))) => {
                        Some(Event::default().event("lagged").data(n.to_string()))
                    }
                    Next::Case(Err(_)) | Next::Alarm(Err(_)) => return None,
                };
                if let Some(event) = event {
                    return Some((Ok(event), (state, user, cases, alarms)));
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

enum Next {
    Case(Result<i64, tokio::sync::broadcast::error::RecvError>),
    Alarm(Result<i64, tokio::sync::broadcast::error::RecvError>),
}

async fn case_event(state: &AppState, user: &User, id: i64) -> Option<Event> {
    let row = state.store().case(id).await.ok()??;
    if !user.can_see_case(&row.area_path, &row.units, row.reporter) {
        return None;
    }
    let dto = cases::case_dto(&row, user, state.now(), false);
    Event::default().event("case").json_data(dto).ok()
}

/// An alarm with its device's name and place, so a screen can draw it.
async fn alarm_event(state: &AppState, id: i64) -> Option<Event> {
    let alarm = state.store().alarm(id).await.ok()??;
    let stream = state.store().datastream(alarm.datastream).await.ok()?;
    let mut data = serde_json::to_value(crate::sensors::AlarmDto::from(alarm)).ok()?;
    if let Some(stream) = stream {
        data["datastream_name"] = json!(stream.name);
        data["lon"] = json!(stream.lon);
        data["lat"] = json!(stream.lat);
        data["area_path"] = json!(
            stream
                .area_path
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
        );
    }
    Event::default().event("alarm").json_data(data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_topics_name_the_seed_topics() {
        let topics = shipped_topics();
        let names: Vec<&str> = topics["topics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"]["zh"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["市容环境", "空气质量", "应急处置"]);
    }

    #[test]
    fn area_tags_are_checked_and_given_ids() {
        let square = json!({"type": "Polygon", "coordinates": [[[121.43, 31.24], [121.44, 31.24], [121.44, 31.25], [121.43, 31.25], [121.43, 31.24]]]});
        let ok = check_area_tags(json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": square, "properties": {"tag": "封控区", "name": "某小区"}}]}))
        .unwrap();
        assert_eq!(ok["features"][0]["properties"]["id"], "tag-1");
        let bad = check_area_tags(json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": square, "properties": {"tag": "red zone", "name": "x"}}]}))
        .unwrap_err();
        assert_eq!(bad.field.as_deref(), Some("features[0].properties.tag"));
        let point = check_area_tags(json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.4, 31.2]},
             "properties": {"tag": "封控区", "name": "x"}}]}))
        .unwrap_err();
        assert_eq!(point.field.as_deref(), Some("features[0].geometry"));
    }
}
