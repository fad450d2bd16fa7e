//! The citizen page and its JSON (一网通办): report without an account,
//! follow the case with its receipt, rate it (好差评) when it is done, add
//! a comment, see its photos.
//!
//! The receipt (`<case>-<tag>`, see `cityloop_transparency::receipt`) is the
//! reporter's key: whoever holds it acts as the reporter of that case and
//! of no other ([`cityloop_workflow::Actor::receipt_holder`]). Everything
//! here is public, so nothing here shows the reporter's contact, and free
//! text is shown with personal numbers masked.

use crate::AppState;
use crate::door::{self, Form, PublicStep, Sender};
use crate::open311::CITIZEN_PAGE_CLIENT;
use crate::problem::{ApiResult, Json, Problem};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use cityloop_workflow::{
    Actor, CaseId, CaseStatus, Command, Event, Rating, Stage, allowed_actions_for,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/public/reports",
            post(create_report).layer(axum::extract::DefaultBodyLimit::max(
                door::REPORT_BODY_BYTES_MAX,
            )),
        )
        .route("/api/v1/public/reports/{receipt}", get(get_report))
        .route("/api/v1/public/reports/{receipt}/rating", post(rate))
        .route("/api/v1/public/reports/{receipt}/comments", post(comment))
        .route("/api/v1/public/media/{id}", get(media))
        .route("/citizen", get(page))
}

/// What a citizen is given on reporting.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportReceipt {
    /// The case number, to quote on the phone (12345).
    pub tracking_number: String,
    /// The key to follow, rate and comment on the case; keep it.
    pub receipt: String,
    /// open or closed.
    pub status: String,
    /// The case's status in the closed loop.
    pub status_detail: String,
    /// The page that proves each step of the case is in the public log.
    pub receipt_url: String,
}

/// Too many writes from this address.
fn rate_limited() -> Problem {
    Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "too many reports from this connection; wait a moment and try again",
    )
}

/// Report a problem without an account (multipart or form-encoded, the
/// Open311 field names: `service_code`, `description`, `lat`/`long`,
/// `address_id`, `address_string`, `attribute[CODE]`, `first_name`,
/// `phone`, `email`, photos as `media` parts).
#[utoipa::path(post, path = "/api/v1/public/reports", tag = "citizens",
    request_body(content_type = "multipart/form-data", description = "Open311 field names; photos as `media` parts (JPEG, PNG or WebP, at most 3 of 5 MiB)"),
    responses((status = 201, body = ReportReceipt), (status = 400, body = crate::problem::ProblemBody),
        (status = 413, body = crate::problem::ProblemBody), (status = 429, body = crate::problem::ProblemBody)))]
pub async fn create_report(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<ReportReceipt>)> {
    if !state
        .public_writes()
        .check(door::client_address(request.extensions()))
    {
        return Err(rate_limited());
    }
    let form =
        <Form as axum::extract::FromRequest<AppState>>::from_request(request, &state).await?;
    let outcome = door::file_report(
        &state,
        &form,
        Sender {
            channel: cityloop_workflow::Channel::CitizenWeb,
            client: CITIZEN_PAGE_CLIENT.to_owned(),
            token: None,
        },
    )
    .await?;
    let receipt = state.keys().pseudonyms.receipt(outcome.case.id);
    Ok((
        StatusCode::CREATED,
        Json(ReportReceipt {
            tracking_number: outcome.case.id.to_string(),
            receipt_url: format!("/transparency/receipt?r={receipt}"),
            receipt,
            status: door::open311_status(&outcome.case).to_owned(),
            status_detail: outcome.case.status.clone(),
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AreaName {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RatingView {
    pub level: String,
    pub comment: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpView {
    /// awaiting_judgement (回访核实), rectifying (整改) or done.
    pub state: String,
    /// The deadline of the follow-up or of the rectification.
    pub due_at: Option<DateTime<Utc>>,
}

/// A case as its reporter (and anyone with the receipt) sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicReport {
    pub tracking_number: String,
    pub service_code: String,
    pub service_name: Option<String>,
    /// open or closed.
    pub status: String,
    pub status_detail: String,
    /// Personal numbers masked.
    pub description: String,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    /// City first.
    pub area: Vec<AreaName>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// URLs of the report's photos.
    pub media: Vec<String>,
    pub steps: Vec<PublicStep>,
    /// The latest rating, if any.
    pub rating: Option<RatingView>,
    /// True when the reporter may rate now (好差评 at the callback or after
    /// closing, once).
    pub can_rate: bool,
    /// Set once a dissatisfied rating went to follow-up.
    pub follow_up: Option<FollowUpView>,
}

async fn view(state: &AppState, case_id: i64) -> ApiResult<PublicReport> {
    let (row, case, history) = state.cases().load(case_id).await?;
    let mut area = Vec::new();
    for code in &row.area_path {
        let name = state
            .store()
            .area(code)
            .await?
            .map(|record| record.area.name)
            .unwrap_or_default();
        area.push(AreaName {
            code: code.as_str().to_owned(),
            name,
        });
    }
    let service_name = door::service(state.store(), &row.category)
        .await?
        .map(|c| c.name);
    let media = state
        .store()
        .case_media(case_id)
        .await?
        .into_iter()
        .filter(|m| m.public)
        .map(|m| format!("/api/v1/public/media/{}", m.id))
        .collect();
    let mut rating = None;
    let mut judged = None;
    for row in &history {
        match cityloop_cases::codec::decode_event(&row.kind, &row.payload) {
            Ok(Event::Rated {
                level, comment, at, ..
            }) => {
                rating = Some(RatingView {
                    level: level.as_str().to_owned(),
                    comment: door::public_text(&comment),
                    at,
                });
            }
            Ok(Event::Judged { reasonable, .. }) => judged = Some(reasonable),
            _ => {}
        }
    }
    let follow_up = match (&case.status, judged) {
        (CaseStatus::FollowUp, _) => Some(FollowUpView {
            state: "awaiting_judgement".into(),
            due_at: case
                .sla
                .clock(Stage::Callback)
                .map(|c| c.due_at.with_timezone(&Utc)),
        }),
        (_, Some(true)) if case.sla.clock(Stage::Rectification).is_some() => Some(FollowUpView {
            state: "rectifying".into(),
            due_at: case
                .sla
                .clock(Stage::Rectification)
                .map(|c| c.due_at.with_timezone(&Utc)),
        }),
        (_, Some(_)) => Some(FollowUpView {
            state: "done".into(),
            due_at: None,
        }),
        _ => None,
    };
    let can_rate =
        allowed_actions_for(&case, &Actor::receipt_holder(CaseId(case_id))).contains(&"rate");
    Ok(PublicReport {
        tracking_number: row.id.to_string(),
        service_code: row.category.clone(),
        service_name,
        status: door::open311_status(&row).to_owned(),
        status_detail: row.status.clone(),
        description: door::public_text(&row.description),
        address: row.address.as_deref().map(door::public_text),
        lat: row.lat,
        long: row.lon,
        area,
        created_at: row.created_at,
        updated_at: row.updated_at,
        media,
        steps: door::public_steps_of(&history),
        rating,
        can_rate,
        follow_up,
    })
}

/// The case a receipt opens; 404 for a receipt that does not match.
fn open_receipt(state: &AppState, receipt: &str) -> ApiResult<i64> {
    state
        .keys()
        .pseudonyms
        .open_receipt(receipt.trim())
        .ok_or_else(|| Problem::not_found("unknown receipt"))
}

/// The common start of a reporter's write: the JSON body, the case the
/// receipt opens (404 otherwise), and the client's rate limit.
async fn receipt_write<T: serde::de::DeserializeOwned>(
    state: &AppState,
    receipt: &str,
    request: axum::extract::Request,
) -> ApiResult<(i64, T)> {
    let client = door::client_address(request.extensions());
    let Json(body) =
        <Json<T> as axum::extract::FromRequest<AppState>>::from_request(request, state).await?;
    let case_id = open_receipt(state, receipt)?;
    if !state.public_writes().check(client) {
        return Err(rate_limited());
    }
    Ok((case_id, body))
}

/// Follow one's case: its public steps, photos, rating and follow-up.
#[utoipa::path(get, path = "/api/v1/public/reports/{receipt}", tag = "citizens",
    params(("receipt" = String, Path, description = "The receipt given on reporting")),
    responses((status = 200, body = PublicReport), (status = 404, body = crate::problem::ProblemBody)))]
pub async fn get_report(
    State(state): State<AppState>,
    Path(receipt): Path<String>,
) -> ApiResult<Json<PublicReport>> {
    let case_id = open_receipt(&state, &receipt)?;
    Ok(Json(view(&state, case_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingBody {
    /// very_satisfied, satisfied, basically_satisfied, dissatisfied or
    /// very_dissatisfied (非常满意 … 非常不满意).
    pub level: String,
    /// At most 500 characters.
    pub comment: Option<String>,
}

/// The longest rating comment, in characters.
pub const RATING_COMMENT_CHARS_MAX: usize = 500;

/// Rate the handling of one's case (好差评). A dissatisfied rating opens a
/// follow-up (回访); judged reasonable, the case is rectified within 15
/// working days.
#[utoipa::path(post, path = "/api/v1/public/reports/{receipt}/rating", tag = "citizens",
    params(("receipt" = String, Path, description = "The receipt given on reporting")),
    request_body = RatingBody,
    responses((status = 200, body = PublicReport), (status = 400, body = crate::problem::ProblemBody),
        (status = 404, body = crate::problem::ProblemBody), (status = 409, body = crate::problem::ProblemBody),
        (status = 429, body = crate::problem::ProblemBody)))]
pub async fn rate(
    State(state): State<AppState>,
    Path(receipt): Path<String>,
    request: axum::extract::Request,
) -> ApiResult<Json<PublicReport>> {
    let (case_id, body): (i64, RatingBody) = receipt_write(&state, &receipt, request).await?;
    let level = Rating::parse(&body.level).map_err(|e| Problem::invalid("level", e.message))?;
    let comment = body.comment.unwrap_or_default();
    if comment.chars().count() > RATING_COMMENT_CHARS_MAX {
        return Err(Problem::invalid(
            "comment",
            format!("at most {RATING_COMMENT_CHARS_MAX} characters"),
        ));
    }
    state
        .cases()
        .act(
            case_id,
            &Actor::receipt_holder(CaseId(case_id)),
            Command::Rate {
                level,
                reasonable: None,
                comment,
            },
            state.now(),
        )
        .await?;
    state.publish_case_change(case_id);
    Ok(Json(view(&state, case_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    pub text: String,
}

/// Add to one's report (补充说明); shown on the public timeline.
#[utoipa::path(post, path = "/api/v1/public/reports/{receipt}/comments", tag = "citizens",
    params(("receipt" = String, Path, description = "The receipt given on reporting")),
    request_body = CommentBody,
    responses((status = 200, body = PublicReport), (status = 400, body = crate::problem::ProblemBody),
        (status = 404, body = crate::problem::ProblemBody), (status = 429, body = crate::problem::ProblemBody)))]
pub async fn comment(
    State(state): State<AppState>,
    Path(receipt): Path<String>,
    request: axum::extract::Request,
) -> ApiResult<Json<PublicReport>> {
    let (case_id, body): (i64, CommentBody) = receipt_write(&state, &receipt, request).await?;
    state
        .cases()
        .act(
            case_id,
            &Actor::receipt_holder(CaseId(case_id)),
            Command::Comment { text: body.text },
            state.now(),
        )
        .await?;
    state.publish_case_change(case_id);
    Ok(Json(view(&state, case_id).await?))
}

/// A report's photo (public photos only; a unit's evidence stays with the
/// staff).
#[utoipa::path(get, path = "/api/v1/public/media/{id}", tag = "citizens",
    params(("id" = String, Path, description = "The photo's id")),
    responses((status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 404, body = crate::problem::ProblemBody)))]
pub async fn media(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let not_found = || Problem::not_found("no such photo");
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let upload = state.store().media(&id).await?.ok_or_else(not_found)?;
    if !upload.record.public {
        return Err(not_found());
    }
    Ok((
        [
            (header::CONTENT_TYPE, upload.record.content_type.clone()),
            (
                header::CACHE_CONTROL,
                "public, max-age=86400, immutable".to_owned(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        upload.bytes,
    )
        .into_response())
}

/// The citizen page (mobile first, Chinese by default).
pub async fn page() -> Html<&'static str> {
    Html(include_str!("../assets/citizen.html"))
}
