//! The closed loop over HTTP: report a case from any channel, list the
//! caller's queue, read a case with its history and clocks, act on it, and
//! the SLA rules and deadline calculator.

use crate::AppState;
use crate::auth::Caller;
use crate::problem::{ApiResult, Json, Problem, Query};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use cityloop_cases::policy::{RuleJson, SLA_RULES_SETTING, policy_from_json, policy_to_json};
use cityloop_cases::{CaseError, Intake};
use cityloop_domain::{AreaCode, CategoryCode, Role, User, UserId, mask_contact};
use cityloop_store::{CaseQuery, CaseRow};
use cityloop_workflow::{Actor, Channel, Refusal, Urgency, allowed_actions_for};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases", post(create_case).get(list_cases))
        .route("/api/v1/cases/{id}", get(get_case))
        .route("/api/v1/cases/{id}/actions/{action}", post(act))
        .route(
            "/api/v1/cases/{id}/media",
            post(upload_media).layer(axum::extract::DefaultBodyLimit::max(
                crate::door::REPORT_BODY_BYTES_MAX,
            )),
        )
        .route("/api/v1/cases/{id}/media/{media}", get(get_media))
        .route("/api/v1/sla/rules", get(get_rules).put(put_rules))
        .route("/api/v1/sla/due", get(sla_due))
        .route("/api/v1/metrics/cases", get(case_metrics))
}

impl From<CaseError> for Problem {
    fn from(error: CaseError) -> Problem {
        match error {
            CaseError::NotFound(id) => Problem::not_found(format!("case {id} not found")),
            CaseError::Invalid { field, message } => Problem::invalid(field, message),
            CaseError::Busy => Problem::conflict("the case is busy; try again"),
            CaseError::Refused(refusal) => {
                let detail = refusal.to_string();
                match &refusal {
                    Refusal::Invalid { field, .. } => Problem::invalid(*field, detail),
                    Refusal::RoleNotAllowed { .. } | Refusal::OutOfScope { .. } => {
                        Problem::forbidden(detail)
                    }
                    Refusal::NotAllowedInState { .. } => {
                        Problem::new(StatusCode::CONFLICT, "not-allowed-in-state", detail)
                    }
                    _ => Problem::new(StatusCode::CONFLICT, "refused", detail),
                }
            }
            CaseError::Store(error) => error.into(),
            CaseError::Codec(error) => {
                tracing::error!(%error, "stored case history does not decode");
                Problem::internal()
            }
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseCreate {
    /// A GB/T 47678.5 matter code (e.g. 06010 暴露垃圾) or a local code.
    pub category: String,
    /// urgent or normal (default).
    pub urgency: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Datum of lon/lat: wgs84 (default), gcj02, bd09.
    pub crs: Option<String>,
    /// When no point is known.
    pub area_code: Option<String>,
    pub address: Option<String>,
    pub description: String,
    /// citizen_web, citizen_app, hotline, inspector, sensor, video,
    /// referral, assignment; defaults by role.
    pub channel: Option<String>,
    /// Name and phone the reporter left (kept private).
    pub reporter_contact: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClockDto {
    pub stage: String,
    pub started_at: String,
    pub warn_at: String,
    pub due_at: String,
    pub paused: bool,
    /// green (< 80 %), yellow (80–100 %), red (due).
    pub light: String,
    /// Working time used over allowed, 0–1+.
    pub elapsed_fraction: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDto {
    pub id: i64,
    pub status: String,
    pub open: bool,
    pub channel: String,
    pub category: String,
    pub urgency: String,
    /// Area codes from the city down.
    pub area_path: Vec<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: Option<String>,
    pub description: String,
    /// Shown to the reporter, dispatchers and admins; masked or absent otherwise.
    pub reporter_contact: Option<String>,
    pub lead_department: Option<String>,
    pub units: Vec<String>,
    /// The responsibility list's answer at intake; null: no one configured.
    pub routed_department: Option<String>,
    /// The point lies near an area boundary: the dispatcher confirms the area.
    pub near_boundary: bool,
    /// The case this one was merged into.
    pub parent: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
    pub due_at: Option<DateTime<Utc>>,
    /// The worst light of the running clocks; null when none runs.
    pub light: Option<String>,
}

fn light_at(row: &CaseRow, now: DateTime<Utc>) -> Option<String> {
    sla_light(row.due_at, row.warn_at, now).map(str::to_owned)
}

/// The light of a case's running clocks from their earliest due and warning
/// instants: red when due, yellow past the warning, else green; none when
/// no clock runs.
pub(crate) fn sla_light(
    due_at: Option<DateTime<Utc>>,
    warn_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    let due = due_at?;
    Some(if now >= due {
        "red"
    } else if warn_at.is_some_and(|warn| now >= warn) {
        "yellow"
    } else {
        "green"
    })
}

/// Lists show the reporter's contact only to the reporter (masked to other
/// staff); the full contact is shown on the case page, to those who may see
/// it, and each such read by someone other than the reporter is logged.
fn contact_for(viewer: &User, row: &CaseRow, detail: bool) -> Option<String> {
    let contact = row.reporter_contact.as_ref()?;
    let own = row.reporter == Some(viewer.id);
    if own || (detail && viewer.can_see_reporter_contact(row.reporter)) {
        Some(contact.clone())
    } else if viewer.role.is_staff() {
        Some(mask_contact(contact))
    } else {
        None
    }
}

pub(crate) fn case_dto(row: &CaseRow, viewer: &User, now: DateTime<Utc>, detail: bool) -> CaseDto {
    CaseDto {
        id: row.id,
        status: row.status.clone(),
        open: row.open,
        channel: row.channel.clone(),
        category: row.category.clone(),
        urgency: row.urgency.clone(),
        area_path: row
            .area_path
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        lon: row.lon,
        lat: row.lat,
        address: row.address.clone(),
        description: row.description.clone(),
        reporter_contact: contact_for(viewer, row, detail),
        lead_department: row.lead_department.as_ref().map(|d| d.as_str().to_owned()),
        units: row.units.iter().map(|d| d.as_str().to_owned()).collect(),
        routed_department: row
            .routed_department
            .as_ref()
            .map(|d| d.as_str().to_owned()),
        near_boundary: row.near_boundary,
        parent: row.parent,
        created_at: row.created_at,
        updated_at: row.updated_at,
        version: row.version,
        due_at: row.due_at,
        light: light_at(row, now),
    }
}

fn default_channel(role: Role) -> Channel {
    match role {
        Role::Citizen => Channel::CitizenWeb,
        Role::Supervisor => Channel::Inspector,
        Role::Handler | Role::DeptLead => Channel::Referral,
        _ => Channel::Hotline,
    }
}

fn channel_allowed(role: Role, channel: Channel) -> bool {
    match role {
        Role::Citizen => matches!(channel, Channel::CitizenWeb | Channel::CitizenApp),
        Role::Supervisor => matches!(channel, Channel::Inspector),
        Role::Handler | Role::DeptLead => matches!(channel, Channel::Referral),
        Role::Operator => !matches!(
            channel,
            Channel::CitizenWeb | Channel::CitizenApp | Channel::Inspector | Channel::Open311
        ),
        Role::Admin => true,
        Role::Auditor => false,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateDto {
    pub case_id: i64,
    pub distance_m: f64,
    pub confidence: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntakeResponse {
    pub case: CaseDto,
    /// The responsible department by the responsibility list; null: no one
    /// configured — the case waits in the dispatcher's queue.
    pub routed_department: Option<String>,
    /// A likely duplicate among open cases nearby.
    pub duplicate: Option<DuplicateDto>,
    /// Set when the case was merged into the duplicate automatically.
    pub merged_into: Option<i64>,
    /// The reporter's receipt: with it, `/transparency/receipt?r=…` and
    /// `cityloop verify receipt` show every public step of the case and
    /// prove each is in the transparency log.
    pub receipt: String,
}

/// Report a case (any channel). Citizens report as citizen_web/app,
/// inspectors (supervisor role) as inspector, operators for the hotline,
/// sensors, video and referrals.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = CaseCreate,
    security(("bearer" = [])),
    responses((status = 201, body = IntakeResponse), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn create_case(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CaseCreate>,
) -> ApiResult<(StatusCode, Json<IntakeResponse>)> {
    let user = &caller.0;
    let channel = match body.channel.as_deref() {
        Some(text) => Channel::parse(text).map_err(|e| Problem::invalid("channel", e.message))?,
        None => default_channel(user.role),
    };
    caller.require(
        channel_allowed(user.role, channel),
        &format!("report through the {channel} channel"),
    )?;
    let (_, category) = CategoryCode::parse_case_category(&body.category)
        .map_err(|e| Problem::invalid("category", e.message))?;
    let urgency = match body.urgency.as_deref() {
        Some(text) => Urgency::parse(text).map_err(|e| Problem::invalid("urgency", e.message))?,
        None => Urgency::Normal,
    };
    let point = match (body.lon, body.lat) {
        (Some(lon), Some(lat)) => Some(crate::areas::parse_point(lon, lat, body.crs.as_deref())?),
        (None, None) => None,
        (Some(_), None) => return Err(Problem::invalid("lat", "give lat with lon")),
        (None, Some(_)) => return Err(Problem::invalid("lon", "give lon with lat")),
    };
    let area = body
        .area_code
        .as_deref()
        .map(|a| AreaCode::canonical(a).map_err(|e| Problem::invalid("area_code", e.message)))
        .transpose()?;
    let reporter = matches!(user.role, Role::Citizen | Role::Supervisor).then_some(user.id);
    let outcome = state
        .cases()
        .intake(
            Intake {
                report: None,
                route_to: None,
                channel,
                category,
                urgency,
                point,
                area,
                address: body.address,
                description: body.description,
                reporter,
                reporter_contact: body.reporter_contact.filter(|c| !c.trim().is_empty()),
            },
            &state.index(),
            state.now(),
        )
        .await?;
    state.publish_case_change(outcome.case.id);
    Ok((
        StatusCode::CREATED,
        Json(IntakeResponse {
            case: case_dto(&outcome.case, user, state.now(), false),
            routed_department: outcome.routing.department.map(|d| d.as_str().to_owned()),
            duplicate: outcome.duplicate.map(|d| DuplicateDto {
                case_id: d.case_id,
                distance_m: d.distance_m,
                confidence: d.confidence,
            }),
            merged_into: outcome.merged_into,
            receipt: state.keys().pseudonyms.receipt(outcome.case.id),
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CaseListQuery {
    /// Comma-separated statuses, e.g. `reported,verified`.
    pub status: Option<String>,
    /// Only open cases.
    pub open: Option<bool>,
    /// Comma-separated category codes.
    pub category: Option<String>,
    /// Only cases within this area.
    pub area: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    pub items: Vec<CaseDto>,
    pub total: u64,
}

/// The base query of what a user may see; `None` when they may see no case
/// (a handler without a department).
pub(crate) fn visible_to(user: &User) -> Option<CaseQuery> {
    let base = CaseQuery::default();
    Some(match user.role {
        Role::Admin | Role::Auditor => base,
        Role::Operator | Role::Supervisor => CaseQuery {
            within: user.areas.clone(),
            ..base
        },
        Role::Handler | Role::DeptLead => CaseQuery {
            unit: Some(user.department.clone()?),
            ..base
        },
        Role::Citizen => CaseQuery {
            reporter: Some(user.id),
            ..base
        },
    })
}

fn split_list(text: Option<&str>) -> Vec<String> {
    text.map(|t| {
        t.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// The caller's cases, newest first, within their scope (a dispatcher's
/// areas, a department's dispatched cases, a citizen's own reports).
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = CasePage), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody)))]
pub async fn list_cases(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<CaseListQuery>,
) -> ApiResult<Json<CasePage>> {
    let empty = || {
        Json(CasePage {
            items: Vec::new(),
            total: 0,
        })
    };
    let Some(mut filter) = visible_to(&caller.0) else {
        return Ok(empty());
    };
    filter.statuses = split_list(query.status.as_deref());
    filter.open_only = query.open.unwrap_or(false);
    filter.categories = split_list(query.category.as_deref());
    if let Some(area) = query.area.as_deref() {
        let area = AreaCode::canonical(area).map_err(|e| Problem::invalid("area", e.message))?;
        // Narrow within scope: the area must lie inside one of the caller's
        // areas, or nothing matches.
        if !filter.within.is_empty() && !filter.within.iter().any(|s| area.is_within_by_code(s)) {
            return Ok(empty());
        }
        filter.within = vec![area];
    }
    filter.limit = query.limit.unwrap_or(100);
    filter.offset = query.offset.unwrap_or(0);
    if filter.limit == 0 || filter.limit > cityloop_store::PAGE_ROWS_MAX {
        return Err(Problem::invalid("limit", "limit must be 1–1000"));
    }
    let total = state.store().count_cases(&filter).await?;
    let now = state.now();
    let items = state
        .store()
        .cases(&filter)
        .await?
        .iter()
        .map(|row| case_dto(row, &caller.0, now, false))
        .collect();
    Ok(Json(CasePage { items, total }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub kind: String,
    /// The acting user's id (staff only).
    pub actor_user: Option<i64>,
    pub actor_role: Option<String>,
    pub actor_department: Option<String>,
    /// The event's fields (encoding version 1).
    pub data: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: CaseDto,
    pub clocks: Vec<ClockDto>,
    /// What the caller may do now.
    pub allowed_actions: Vec<String>,
    pub history: Vec<HistoryEntry>,
    /// What a citizen's report brought: the answers to its service's
    /// attributes (code → value or list of values); null for other channels.
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Value>,
    /// The Open311 client or `citizen_page` that sent the report.
    pub report_client: Option<String>,
    /// The case's photos.
    pub media: Vec<MediaDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MediaDto {
    pub id: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    /// Where staff fetch it.
    pub url: Option<String>,
    /// A citizen's report photo (also served publicly) or a unit's evidence.
    pub public: bool,
}

async fn visible_case(state: &AppState, caller: &Caller, id: i64) -> ApiResult<CaseRow> {
    let row = state
        .store()
        .case(id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("case {id} not found")))?;
    if !caller
        .0
        .can_see_case(&row.area_path, &row.units, row.reporter)
    {
        return Err(Problem::forbidden(format!(
            "case {id} is outside your scope"
        )));
    }
    Ok(row)
}

/// One case with its SLA clocks, the caller's allowed actions and the
/// append-only history.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases",
    params(("id" = i64, Path, description = "case id")), security(("bearer" = [])),
    responses((status = 200, body = CaseDetail), (status = 401, body = crate::problem::ProblemBody),
        (status = 403, body = crate::problem::ProblemBody), (status = 404, body = crate::problem::ProblemBody)))]
pub async fn get_case(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<CaseDetail>> {
    visible_case(&state, &caller, id).await?;
    let (row, case_state, history) = state.cases().load(id).await?;
    let now = state.now();
    let working = state.cases().working_time();
    let clocks = case_state
        .sla
        .clocks
        .values()
        .map(|clock| ClockDto {
            stage: clock.stage.as_str().to_owned(),
            started_at: clock.started_at.to_rfc3339(),
            warn_at: clock.warn_at.to_rfc3339(),
            due_at: clock.due_at.to_rfc3339(),
            paused: clock.is_paused(),
            light: clock.light(now).as_str().to_owned(),
            elapsed_fraction: clock.elapsed_fraction(&working, now).ok(),
        })
        .collect();
    let actor = Actor::from_user(&caller.0);
    let staff = caller.0.role.is_staff();
    let history = history
        .into_iter()
        .map(|event| HistoryEntry {
            seq: event.seq,
            at: event.at,
            kind: event.kind,
            actor_user: if staff {
                event.actor_user.map(|u: UserId| u.0)
            } else {
                None
            },
            actor_role: event.actor_role,
            actor_department: event.actor_department,
            data: serde_json::from_str(&event.payload).unwrap_or_default(),
        })
        .collect();
    if row.reporter_contact.is_some()
        && row.reporter != Some(caller.0.id)
        && caller.0.can_see_reporter_contact(row.reporter)
    {
        // The read is logged before the data is shown; no log, no data.
        let leaf = crate::transparency::access_leaf(
            &state,
            &caller.0,
            &format!("case:{id}"),
            &["reporter_contact"],
            "case handling",
        );
        state.store().append_leaves(vec![leaf]).await?;
    }
    let report = state.store().case_report(id).await?;
    let media = state
        .store()
        .case_media(id)
        .await?
        .into_iter()
        .map(|m| MediaDto {
            url: Some(format!("/api/v1/cases/{id}/media/{}", m.id)),
            public: m.public,
            id: m.id,
            content_type: m.content_type,
            size: m.size,
            sha256: m.sha256,
        })
        .collect();
    Ok(Json(CaseDetail {
        case: case_dto(&row, &caller.0, now, true),
        clocks,
        allowed_actions: allowed_actions_for(&case_state, &actor)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        history,
        attributes: report
            .as_ref()
            .and_then(|r| serde_json::from_str(&r.attributes).ok()),
        report_client: report.and_then(|r| r.client),
        media,
    }))
}

/// Act on a case: verify, accept, decline, register, void, self_handle,
/// dispatch, sub_dispatch, sign, return, arbitrate, request_extension,
/// decide_extension, hang, resume, note, reply, review, check, rate, close,
/// urge, supervise, merge. A refused action answers 403 (role or scope),
/// 409 (not allowed in the case's state; the detail lists the allowed
/// actions) or 400 (a field).
#[utoipa::path(post, path = "/api/v1/cases/{id}/actions/{action}", tag = "cases",
    params(("id" = i64, Path, description = "case id"), ("action" = String, Path, description = "the action")),
    request_body(content = serde_json::Value, description = "the action's fields"),
    security(("bearer" = [])),
    responses((status = 200, body = CaseDto), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody),
        (status = 404, body = crate::problem::ProblemBody), (status = 409, body = crate::problem::ProblemBody)))]
pub async fn act(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(i64, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Json<CaseDto>> {
    visible_case(&state, &caller, id).await?;
    let body: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::json!({})
    } else {
        serde_json::from_slice(&body).map_err(|e| Problem::invalid("body", e.to_string()))?
    };
    let mut command = cityloop_cases::codec::parse_command(&action, &body).map_err(|error| {
        Problem::invalid(
            error.field().unwrap_or("action").to_owned(),
            error.to_string(),
        )
    })?;
    if let cityloop_workflow::Command::Reply { evidence, .. } = &mut command {
        bind_evidence(&state, id, evidence).await?;
    }
    let actor = Actor::from_user(&caller.0);
    let row = state.cases().act(id, &actor, command, state.now()).await?;
    state.publish_case_change(id);
    Ok(Json(case_dto(&row, &caller.0, state.now(), false)))
}

/// The SLA rules in force (staff).
#[utoipa::path(get, path = "/api/v1/sla/rules", tag = "cases", security(("bearer" = [])),
    responses((status = 200, body = [RuleJson]), (status = 401, body = crate::problem::ProblemBody),
        (status = 403, body = crate::problem::ProblemBody)))]
pub async fn get_rules(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<RuleJson>>> {
    caller.require(caller.0.role.is_staff(), "read the SLA rules")?;
    Ok(Json(policy_to_json(&state.cases().policy())))
}

/// Replace the SLA rules (admin). Applies to clocks started from now on.
#[utoipa::path(put, path = "/api/v1/sla/rules", tag = "cases", request_body = [RuleJson],
    security(("bearer" = [])),
    responses((status = 200, body = [RuleJson]), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn put_rules(
    State(state): State<AppState>,
    caller: Caller,
    Json(rules): Json<Vec<RuleJson>>,
) -> ApiResult<Json<Vec<RuleJson>>> {
    caller.require(caller.0.role == Role::Admin, "change the SLA rules")?;
    let policy = policy_from_json(&rules)
        .map_err(|e| Problem::invalid(format!("[{}].{}", e.index, e.field), e.to_string()))?;
    let text = serde_json::to_string(&rules).map_err(|_| Problem::internal())?;
    let leaf = crate::transparency::config_leaf(
        &state,
        &caller.0,
        SLA_RULES_SETTING,
        &format!("replace with {} rules", rules.len()),
        text.as_bytes(),
    );
    state
        .store()
        .put_setting(SLA_RULES_SETTING, &text, vec![leaf])
        .await?;
    state.cases().set_policy(policy);
    tracing::info!(by = %caller.0.id, rules = rules.len(), "SLA rules replaced");
    Ok(Json(rules))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DueQuery {
    /// RFC 3339 instant, e.g. 2026-09-30T16:00:00+08:00.
    pub start: String,
    /// `<N><unit>`: m/h/d natural, wm/wh/wd working.
    pub limit: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DueResponse {
    pub start: String,
    pub limit: String,
    /// RFC 3339 with +08:00.
    pub due: String,
}

/// The due instant of a limit on the working calendar and shifts in force —
/// the same computation as the case clocks and `cityloop sla due`.
#[utoipa::path(get, path = "/api/v1/sla/due", tag = "cases", params(DueQuery),
    responses((status = 200, body = DueResponse), (status = 400, body = crate::problem::ProblemBody)))]
pub async fn sla_due(
    State(state): State<AppState>,
    Query(query): Query<DueQuery>,
) -> ApiResult<Json<DueResponse>> {
    let start = DateTime::parse_from_rfc3339(&query.start)
        .map_err(|e| Problem::invalid("start", format!("not an RFC 3339 instant: {e}")))?;
    let limit = cityloop_calendar::Limit::parse(&query.limit)
        .map_err(|e| Problem::invalid("limit", e.to_string()))?;
    let due = state
        .cases()
        .working_time()
        .due(start, &limit)
        .map_err(|e| Problem::invalid("start", e.to_string()))?;
    Ok(Json(DueResponse {
        start: query.start,
        limit: limit.to_string(),
        due: due.to_rfc3339(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    /// department (lead unit), street, district or city.
    pub group_by: Option<String>,
    /// Period start, RFC 3339 (inclusive).
    pub from: String,
    /// Period end, RFC 3339 (exclusive).
    pub to: String,
}

/// Case metrics over a period (立案率, 按时签收率, 按期处置率, 结案率,
/// 按期结案率, 返工率, 回退率, 重办率, 延期率, 响应率, 解决率, 满意率), by
/// department, street, district or city; definitions in docs/METRICS.md.
/// Staff other than handlers.
#[utoipa::path(get, path = "/api/v1/metrics/cases", tag = "cases", params(MetricsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = [cityloop_cases::metrics::MetricsRow]),
        (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn case_metrics(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<MetricsQuery>,
) -> ApiResult<Json<Vec<cityloop_cases::metrics::MetricsRow>>> {
    caller.require(
        caller.0.role.is_staff() && caller.0.role != Role::Handler,
        "read performance metrics",
    )?;
    let period = cityloop_cases::metrics::Period::new(
        parse_instant("from", &query.from)?,
        parse_instant("to", &query.to)?,
    )?;
    let group_by = match query.group_by.as_deref() {
        Some(text) => cityloop_cases::metrics::GroupBy::parse(text)?,
        None => cityloop_cases::metrics::GroupBy::Department,
    };
    let rows = cityloop_cases::metrics::compute_cached(
        state.store(),
        state.case_metrics_cache(),
        group_by,
        period,
        state.now(),
    )
    .await?;
    Ok(Json(rows))
}

/// The longest period the dashboard asks metrics for; [`warm_metrics`]
/// folds every case of it ahead of the first screen.
pub const METRICS_WARM_DAYS: i64 = 90;

/// Folds the histories of the last [`METRICS_WARM_DAYS`]' cases into the
/// metrics cache, so the first dashboard after a start does not replay
/// them; later calls refold only the cases that changed.
pub async fn warm_metrics(state: &AppState) -> Result<(), CaseError> {
    let now = state.now();
    let period = cityloop_cases::metrics::Period::new(
        now - chrono::Duration::days(METRICS_WARM_DAYS),
        now + chrono::Duration::seconds(1),
    )?;
    cityloop_cases::metrics::compute_cached(
        state.store(),
        state.case_metrics_cache(),
        cityloop_cases::metrics::GroupBy::City,
        period,
        now,
    )
    .await?;
    Ok(())
}

/// An RFC 3339 instant from a query parameter; the problem names `field`.
pub(crate) fn parse_instant(field: &'static str, text: &str) -> ApiResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Problem::invalid(field, format!("not an RFC 3339 instant: {e}")))
}

/// Binds `media:<id>` evidence of a reply to the stored photo: it must be
/// this case's, and the reference is rewritten as `media:<id>:<sha256>` so
/// the history row — and its transparency-log leaf — commits to the bytes.
async fn bind_evidence(state: &AppState, case_id: i64, evidence: &mut [String]) -> ApiResult<()> {
    for (i, item) in evidence.iter_mut().enumerate() {
        let Some(rest) = item.trim().strip_prefix("media:") else {
            continue;
        };
        let media_id = rest.split(':').next().unwrap_or_default().to_owned();
        let field = format!("evidence[{i}]");
        let upload = state.store().media(&media_id).await?;
        match upload {
            Some(upload) if upload.record.case_id == case_id => {
                *item = format!("media:{}:{}", upload.record.id, upload.record.sha256);
            }
            _ => {
                return Err(Problem::invalid(
                    field,
                    format!("media {media_id:?} is not a photo of case {case_id}; upload it first"),
                ));
            }
        }
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadedMedia {
    pub id: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    /// What to put in a reply's `evidence`.
    pub reference: String,
}

/// Upload evidence photos of a case (the units that handle it, dispatchers,
/// inspectors): `media` parts, JPEG, PNG or WebP, at most 3 of 5 MiB.
/// Reference them in a reply's `evidence` as `media:<id>`.
#[utoipa::path(post, path = "/api/v1/cases/{id}/media", tag = "cases",
    params(("id" = i64, Path, description = "The case")),
    request_body(content_type = "multipart/form-data", description = "photos as `media` parts"),
    security(("bearer" = [])),
    responses((status = 201, body = Vec<UploadedMedia>), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody),
        (status = 404, body = crate::problem::ProblemBody), (status = 413, body = crate::problem::ProblemBody)))]
pub async fn upload_media(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    form: Result<crate::door::Form, crate::door::FieldError>,
) -> ApiResult<(StatusCode, Json<Vec<UploadedMedia>>)> {
    caller.require(
        matches!(
            caller.0.role,
            Role::Handler | Role::DeptLead | Role::Operator | Role::Supervisor | Role::Admin
        ),
        "upload evidence",
    )?;
    visible_case(&state, &caller, id).await?;
    let photos = crate::door::photos(&form?)?;
    if photos.is_empty() {
        return Err(Problem::invalid(
            "media",
            "attach at least one photo as a media part",
        ));
    }
    let mut uploaded = Vec::new();
    for photo in photos {
        let upload = cityloop_cases::media_upload(id, photo, false, state.now());
        let record = upload.record.clone();
        state.store().put_media(upload, Vec::new()).await?;
        uploaded.push(UploadedMedia {
            reference: format!("media:{}", record.id),
            id: record.id,
            content_type: record.content_type,
            size: record.size,
            sha256: record.sha256,
        });
    }
    Ok((StatusCode::CREATED, Json(uploaded)))
}

/// A photo of a case, for whoever may see the case.
#[utoipa::path(get, path = "/api/v1/cases/{id}/media/{media}", tag = "cases",
    params(("id" = i64, Path, description = "The case"), ("media" = String, Path, description = "The photo")),
    security(("bearer" = [])),
    responses((status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody),
        (status = 404, body = crate::problem::ProblemBody)))]
pub async fn get_media(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, media)): Path<(i64, String)>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    visible_case(&state, &caller, id).await?;
    let upload = state
        .store()
        .media(&media)
        .await?
        .filter(|u| u.record.case_id == id)
        .ok_or_else(|| Problem::not_found(format!("no photo {media:?} of case {id}")))?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                upload.record.content_type.clone(),
            ),
            (
                axum::http::header::CACHE_CONTROL,
                "private, max-age=3600".to_owned(),
            ),
            (
                axum::http::header::X_CONTENT_TYPE_OPTIONS,
                "nosniff".to_owned(),
            ),
        ],
        upload.bytes,
    )
        .into_response())
}
