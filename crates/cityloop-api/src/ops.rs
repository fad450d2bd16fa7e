//! Operating the server: `/healthz`, Prometheus `/metrics`, the OpenAPI
//! document, the landing page, and the request metrics middleware.
//!
//! Metric names follow `cityloop_<area>_<name>_<unit>[_total]`.

use crate::problem::{ApiResult, Json, Problem};
use crate::{ApiDoc, AppState};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use std::sync::OnceLock;
use std::time::Instant;
use utoipa::{OpenApi, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi))
}

/// The process-wide Prometheus recorder (installed once per process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    ],
                )
                .map(|builder| builder.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            // Another recorder may already be installed (tests); keep ours
            // local then: its handle still renders what it records.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Counts and times every request by route template and status.
pub async fn track_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("cityloop_http_requests_total", &labels).increment(1);
    metrics::histogram!("cityloop_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    /// sqlite or postgres.
    pub store: String,
    pub schema_version: u32,
    /// Areas with a boundary in the point → area index.
    pub indexed_areas: usize,
}

/// Liveness and readiness: answers 200 when the store answers.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, body = Health), (status = 500, body = crate::problem::ProblemBody)))]
pub async fn healthz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    let schema_version = state.store().schema_version().await?;
    Ok(Json(Health {
        status: "ok".into(),
        store: state.store().backend().as_str().into(),
        schema_version,
        indexed_areas: state.index().len(),
    }))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.shared.metrics.render(),
    )
}

async fn openapi() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}

async fn landing() -> Html<&'static str> {
    Html(include_str!("../assets/index.html"))
}

pub async fn not_found(request: Request) -> Problem {
    Problem::not_found(format!(
        "no such endpoint: {} {}",
        request.method(),
        request.uri().path()
    ))
}
