//! Perception over HTTP: register datastreams, bulk ingestion for gateways
//! that cannot speak MQTT, the series of a datastream, and alarms with
//! their acknowledgement. The work is done by `cityloop_perception`.
//!
//! Who may do what: registering a datastream and acknowledging an alarm
//! take an operator, supervisor or admin; posting observations takes an
//! operator or admin token, or a gateway's API key (`X-API-Key`, issued
//! like an Open311 client's); the datastreams and their series are public
//! (air quality is public information); alarms are for staff.

use crate::AppState;
use crate::auth::Caller;
use crate::problem::{ApiResult, Json, Problem, Query};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use cityloop_domain::Role;
use cityloop_perception::{IngestReport, Perception, PerceptionError};
use cityloop_store::{AlarmRecord, DatastreamRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/sensors/datastreams",
            get(list_datastreams).post(create_datastream),
        )
        .route(
            "/api/v1/sensors/datastreams/{id}/observations",
            get(list_observations),
        )
        .route("/api/v1/sensors/datastreams/{id}/series", get(series))
        .route("/api/v1/sensors/observations", post(ingest))
        .route("/api/v1/sensors/alarms", get(list_alarms))
        .route("/api/v1/sensors/rules", get(get_rules).put(put_rules))
        .route("/api/v1/sensors/alarms/{id}/acknowledge", post(acknowledge))
}

impl From<PerceptionError> for Problem {
    fn from(error: PerceptionError) -> Problem {
        match error {
            PerceptionError::Invalid { field, message } => Problem::invalid(field, message),
            PerceptionError::Store(error) => error.into(),
            PerceptionError::Case(error) => error.into(),
        }
    }
}

fn perception(state: &AppState) -> ApiResult<&Perception> {
    state.perception().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-perception",
            "this server runs without sensor rules",
        )
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DatastreamDto {
    pub id: i64,
    pub name: String,
    pub thing: String,
    pub property: String,
    pub unit: String,
    pub period_minutes: u32,
    pub lon: f64,
    pub lat: f64,
    pub area_path: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub last_at: Option<DateTime<Utc>>,
}

impl From<DatastreamRecord> for DatastreamDto {
    fn from(record: DatastreamRecord) -> DatastreamDto {
        DatastreamDto {
            id: record.id,
            name: record.name,
            thing: record.thing,
            property: record.property,
            unit: record.unit,
            period_minutes: record.period_minutes,
            lon: record.lon,
            lat: record.lat,
            area_path: record
                .area_path
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
            created_at: record.created_at,
            last_at: record.last_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatastreamCreate {
    pub name: String,
    /// The device.
    pub thing: String,
    /// The observed property's code, e.g. `pm25`.
    pub property: String,
    pub unit: String,
    /// The sampling period in minutes (0: irregular).
    pub period_minutes: u32,
    pub lon: f64,
    pub lat: f64,
    /// Datum of lon/lat: wgs84 (default), gcj02, bd09.
    pub crs: Option<String>,
}

/// Register a datastream (a device's observed property) at a place.
#[utoipa::path(post, path = "/api/v1/sensors/datastreams", tag = "sensors", request_body = DatastreamCreate,
    security(("bearer" = [])),
    responses((status = 201, body = DatastreamDto), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn create_datastream(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<DatastreamCreate>,
) -> ApiResult<(StatusCode, Json<DatastreamDto>)> {
    caller.require(
        matches!(
            caller.0.role,
            Role::Admin | Role::Operator | Role::Supervisor
        ),
        "register a datastream",
    )?;
    let point = crate::areas::parse_point(body.lon, body.lat, body.crs.as_deref())?;
    let record = perception(&state)?
        .register(
            &body.name,
            &body.thing,
            &body.property,
            &body.unit,
            body.period_minutes,
            point,
            &state.index(),
            state.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// Every datastream, with its place and latest observation time.
#[utoipa::path(get, path = "/api/v1/sensors/datastreams", tag = "sensors",
    responses((status = 200, body = Vec<DatastreamDto>), (status = 500, body = crate::problem::ProblemBody)))]
pub async fn list_datastreams(
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<DatastreamDto>>> {
    Ok(Json(
        state
            .store()
            .datastreams()
            .await?
            .into_iter()
            .map(DatastreamDto::from)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ObservationQuery {
    /// From this phenomenon time (RFC 3339); default: the beginning.
    pub from: Option<String>,
    /// Before this phenomenon time; default: no end.
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObservationDto {
    pub phenomenon_time: DateTime<Utc>,
    pub result: f64,
    pub received_at: DateTime<Utc>,
}

/// The checked window and page of a series request: the datastream must
/// exist (404); `from`/`to` default to `default_from(to)` and `default_to`.
async fn series_window(
    state: &AppState,
    id: i64,
    (from, to, limit): (Option<&str>, Option<&str>, Option<u32>),
    default_to: DateTime<Utc>,
    default_from: impl FnOnce(DateTime<Utc>) -> DateTime<Utc>,
) -> ApiResult<(DateTime<Utc>, DateTime<Utc>, u32)> {
    if state.store().datastream(id).await?.is_none() {
        return Err(Problem::not_found(format!("datastream {id} not found")));
    }
    let to = match to {
        Some(text) => crate::cases::parse_instant("to", text)?,
        None => default_to,
    };
    let from = match from {
        Some(text) => crate::cases::parse_instant("from", text)?,
        None => default_from(to),
    };
    let limit = limit.unwrap_or(1000);
    if limit == 0 || limit > cityloop_store::PAGE_ROWS_MAX {
        return Err(Problem::invalid("limit", "limit must be 1–1000"));
    }
    Ok((from, to, limit))
}

/// A datastream's observations, oldest first.
#[utoipa::path(get, path = "/api/v1/sensors/datastreams/{id}/observations", tag = "sensors",
    params(("id" = i64, Path, description = "The datastream"), ObservationQuery),
    responses((status = 200, body = Vec<ObservationDto>), (status = 400, body = crate::problem::ProblemBody),
        (status = 404, body = crate::problem::ProblemBody)))]
pub async fn list_observations(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<ObservationQuery>,
) -> ApiResult<Json<Vec<ObservationDto>>> {
    // Year 9999: the stores compare RFC 3339 text, which needs 4-digit years.
    let end = DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let (from, to, limit) = series_window(
        &state,
        id,
        (query.from.as_deref(), query.to.as_deref(), query.limit),
        end,
        |_| DateTime::<Utc>::UNIX_EPOCH,
    )
    .await?;
    let rows = state
        .store()
        .observations(id, from, to, limit, query.offset.unwrap_or(0))
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|o| ObservationDto {
                phenomenon_time: o.phenomenon_time,
                result: o.result,
                received_at: o.received_at,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SeriesQuery {
    /// From this phenomenon time (RFC 3339); default: seven days before `to`.
    pub from: Option<String>,
    /// Before this phenomenon time; default: now.
    pub to: Option<String>,
    /// The bucket size in minutes (1–10080), default 60.
    pub bucket_minutes: Option<u32>,
    /// The most buckets, default 1000.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BucketDto {
    pub start: DateTime<Utc>,
    pub count: u64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// A datastream's history downsampled for charts: count, mean, min and max
/// per bucket (aligned to the Unix epoch), oldest first.
#[utoipa::path(get, path = "/api/v1/sensors/datastreams/{id}/series", tag = "sensors",
    params(("id" = i64, Path, description = "The datastream"), SeriesQuery),
    responses((status = 200, body = Vec<BucketDto>), (status = 400, body = crate::problem::ProblemBody),
        (status = 404, body = crate::problem::ProblemBody)))]
pub async fn series(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<SeriesQuery>,
) -> ApiResult<Json<Vec<BucketDto>>> {
    let (from, to, limit) = series_window(
        &state,
        id,
        (query.from.as_deref(), query.to.as_deref(), query.limit),
        state.now(),
        |to| to - chrono::Duration::days(7),
    )
    .await?;
    let bucket = query.bucket_minutes.unwrap_or(60);
    if !(1..=10_080).contains(&bucket) {
        return Err(Problem::invalid("bucket_minutes", "1 to 10080 (a week)"));
    }
    let buckets = state
        .store()
        .observation_buckets(id, from, to, bucket, limit)
        .await?;
    Ok(Json(
        buckets
            .into_iter()
            .map(|b| BucketDto {
                start: b.start,
                count: b.count,
                mean: b.mean,
                min: b.min,
                max: b.max,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservationIn {
    pub datastream: i64,
    /// RFC 3339 with an offset.
    pub phenomenon_time: String,
    pub result: f64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservationBatch {
    pub observations: Vec<ObservationIn>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestDto {
    pub stored: usize,
    pub duplicates: usize,
    pub late: usize,
    pub alarms_raised: Vec<i64>,
    pub alarms_cleared: Vec<i64>,
    pub cases_opened: Vec<i64>,
}

impl IngestDto {
    fn new(report: IngestReport, cases_opened: Vec<i64>) -> IngestDto {
        IngestDto {
            stored: report.stored,
            duplicates: report.duplicates,
            late: report.late,
            alarms_raised: report.raised,
            alarms_cleared: report.cleared,
            cases_opened,
        }
    }
}

/// A gateway's API key (issued with `cityloop open311 key-add`): 403 when
/// unknown or revoked.
pub(crate) async fn check_api_key(state: &AppState, key: &str) -> ApiResult<()> {
    let hash = cityloop_transparency::sha256_hex(key.trim().as_bytes());
    match state.store().api_key(&hash).await? {
        Some(record) if record.revoked_at.is_none() => Ok(()),
        _ => Err(Problem::forbidden("unknown or revoked API key")),
    }
}

/// A gateway's key or a staff token that may post observations.
async fn may_ingest(
    state: &AppState,
    headers: &HeaderMap,
    caller: Result<Caller, Problem>,
) -> ApiResult<()> {
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return check_api_key(state, key).await;
    }
    let caller = caller.map_err(|_| {
        Problem::unauthorized("send a gateway's X-API-Key or an operator's bearer token")
    })?;
    caller.require(
        matches!(caller.0.role, Role::Admin | Role::Operator),
        "post observations",
    )
}

/// Bulk ingestion: store a batch of observations (redeliveries are
/// skipped), evaluate the alarm rules, open or update cases.
#[utoipa::path(post, path = "/api/v1/sensors/observations", tag = "sensors", request_body = ObservationBatch,
    security(("bearer" = [])),
    responses((status = 200, body = IngestDto), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Result<Caller, Problem>,
    Json(body): Json<ObservationBatch>,
) -> ApiResult<Json<IngestDto>> {
    may_ingest(&state, &headers, caller).await?;
    let mut batch = Vec::with_capacity(body.observations.len());
    for (i, observation) in body.observations.iter().enumerate() {
        let at = crate::cases::parse_instant("phenomenon_time", &observation.phenomenon_time)
            .map_err(|p| {
                Problem::invalid(format!("observations[{i}].phenomenon_time"), p.detail)
            })?;
        batch.push((observation.datastream, at, observation.result));
    }
    let perception = perception(&state)?;
    let report = perception.ingest(batch, state.now()).await?;
    // A gateway posting over HTTP hears of the cases its batch opened.
    let cases_opened = perception.carry().await?;
    for case in &cases_opened {
        state.publish_case_change(*case);
    }
    Ok(Json(IngestDto::new(report, cases_opened)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlarmDto {
    pub id: i64,
    pub rule: String,
    pub datastream: i64,
    pub severity: String,
    pub reason: String,
    /// active, acknowledged or cleared.
    pub state: String,
    pub raised_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub cleared_at: Option<DateTime<Utc>>,
    pub clear_reason: Option<String>,
    pub case_id: Option<i64>,
}

impl From<AlarmRecord> for AlarmDto {
    fn from(alarm: AlarmRecord) -> AlarmDto {
        let state = if alarm.cleared_at.is_some() {
            "cleared"
        } else if alarm.acknowledged_at.is_some() {
            "acknowledged"
        } else {
            "active"
        };
        AlarmDto {
            id: alarm.id,
            rule: alarm.rule,
            datastream: alarm.datastream,
            severity: alarm.severity,
            reason: alarm.reason,
            state: state.to_owned(),
            raised_at: alarm.raised_at,
            acknowledged_at: alarm.acknowledged_at,
            cleared_at: alarm.cleared_at,
            clear_reason: alarm.clear_reason,
            case_id: alarm.case_id,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AlarmQuery {
    /// Only alarms not cleared.
    pub active: Option<bool>,
    pub limit: Option<u32>,
}

/// Alarms, newest first.
#[utoipa::path(get, path = "/api/v1/sensors/alarms", tag = "sensors", params(AlarmQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<AlarmDto>), (status = 401, body = crate::problem::ProblemBody),
        (status = 403, body = crate::problem::ProblemBody)))]
pub async fn list_alarms(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AlarmQuery>,
) -> ApiResult<Json<Vec<AlarmDto>>> {
    caller.require(caller.0.role.is_staff(), "see alarms")?;
    let limit = query
        .limit
        .unwrap_or(100)
        .clamp(1, cityloop_store::PAGE_ROWS_MAX);
    Ok(Json(
        state
            .store()
            .alarms(query.active.unwrap_or(false), limit)
            .await?
            .into_iter()
            .map(AlarmDto::from)
            .collect(),
    ))
}

/// Acknowledge an alarm (someone is on it); logged.
#[utoipa::path(post, path = "/api/v1/sensors/alarms/{id}/acknowledge", tag = "sensors",
    params(("id" = i64, Path, description = "The alarm")),
    security(("bearer" = [])),
    responses((status = 200, body = AlarmDto), (status = 401, body = crate::problem::ProblemBody),
        (status = 403, body = crate::problem::ProblemBody), (status = 404, body = crate::problem::ProblemBody),
        (status = 409, body = crate::problem::ProblemBody)))]
pub async fn acknowledge(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<AlarmDto>> {
    caller.require(
        matches!(
            caller.0.role,
            Role::Admin | Role::Operator | Role::Supervisor
        ),
        "acknowledge an alarm",
    )?;
    let leaf = crate::transparency::config_leaf(
        &state,
        &caller.0,
        &format!("alarm:{id}"),
        "acknowledged",
        id.to_string().as_bytes(),
    );
    state
        .store()
        .acknowledge_alarm(id, caller.0.id, state.now(), vec![leaf])
        .await?;
    let alarm = state
        .store()
        .alarm(id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("alarm {id} not found")))?;
    Ok(Json(alarm.into()))
}

/// The alarm rules in force (staff).
#[utoipa::path(get, path = "/api/v1/sensors/rules", tag = "sensors",
    security(("bearer" = [])),
    responses((status = 200, description = "The rules, as in data/sensor-rules.json"),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn get_rules(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<serde_json::Value>> {
    caller.require(caller.0.role.is_staff(), "see the alarm rules")?;
    let rules = perception(&state)?.rules();
    Ok(Json(
        serde_json::to_value(rules).map_err(|_| Problem::internal())?,
    ))
}

/// Replace the alarm rules (admin); logged. Alarms still active under a rule
/// of the same id stay active.
#[utoipa::path(put, path = "/api/v1/sensors/rules", tag = "sensors",
    request_body(content_type = "application/json", description = "An array of rules, as in data/sensor-rules.json"),
    security(("bearer" = [])),
    responses((status = 200, description = "The rules now in force"), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn put_rules(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<serde_json::Value>,
) -> ApiResult<Json<serde_json::Value>> {
    caller.require(caller.0.role == Role::Admin, "change the alarm rules")?;
    let text = body.to_string();
    let rules = cityloop_sense::parse_rules(&text).map_err(|e| {
        let field = if e.rule.is_empty() {
            e.field.clone()
        } else {
            format!("{}.{}", e.rule, e.field)
        };
        Problem::invalid(field, e.to_string())
    })?;
    let leaf = crate::transparency::config_leaf(
        &state,
        &caller.0,
        cityloop_perception::RULES_SETTING,
        &format!("replace with {} rules", rules.len()),
        text.as_bytes(),
    );
    let count = rules.len();
    perception(&state)?.replace_rules(rules, vec![leaf]).await?;
    tracing::info!(by = %caller.0.id, rules = count, "sensor rules replaced");
    get_rules(State(state), caller).await
}
