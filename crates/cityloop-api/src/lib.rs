//! The HTTP API of cityloop: one axum router per area of the product, one
//! error type ([`problem::Problem`], RFC 7807), one authentication extractor
//! ([`auth::Caller`]), and an OpenAPI document generated from the handlers.
//!
//! Key design decision: handlers are thin. They parse the request into domain
//! values, ask the domain's policy (`cityloop_domain::User::can_*`) whether
//! the caller may act, and call one store operation. The router is built by
//! [`app`] without a socket, so tests can drive it with `oneshot`; [`serve`]
//! runs it on a listener with the per-client rate limit.

pub mod areas;
pub mod auth;
pub mod cases;
pub mod citizen;
pub mod dashboard;
pub mod directory;
pub mod door;
pub mod hub;
pub mod open311;
pub mod ops;
pub mod problem;
pub mod responsibility;
pub mod sensors;
pub mod sta;
pub mod transparency;
pub mod vital;
pub mod web;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use chrono::{DateTime, Utc};
use cityloop_domain::{User, mask_phone};
use cityloop_geo::AreaIndex;
use cityloop_store::Store;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use utoipa::{OpenApi, ToSchema};

/// Where time comes from; tests inject a fixed or stepping clock.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The real wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Case changes buffered for slow live listeners before they skip ahead.
const CHANGES_CAPACITY: usize = 1024;

/// Limits of the HTTP boundary (units last in the names).
#[derive(Debug, Clone)]
pub struct ApiLimits {
    /// Largest request body accepted.
    pub body_bytes_max: usize,
    /// Sustained requests per second per client address.
    pub rate_per_second: u64,
    /// Requests a client may burst above the sustained rate.
    pub rate_burst: u32,
    /// Longest a request may take before it is answered 408.
    pub request_timeout_ms: u64,
    /// Reports, ratings, comments and updates one client address may send
    /// through the citizens' door per minute, sustained …
    pub public_writes_per_minute: u32,
    /// … and in a burst.
    pub public_writes_burst: u32,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            body_bytes_max: 2 * 1024 * 1024,
            rate_per_second: 200,
            rate_burst: 400,
            request_timeout_ms: 30_000,
            public_writes_per_minute: 6,
            public_writes_burst: 20,
        }
    }
}

struct Shared {
    store: Arc<dyn Store>,
    cases: Arc<cityloop_cases::CaseService>,
    /// Ids of cases that changed, for live screens.
    changes: tokio::sync::broadcast::Sender<i64>,
    index: RwLock<Arc<AreaIndex>>,
    clock: Arc<dyn Clock>,
    limits: ApiLimits,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
    keys: cityloop_transparency::Keys,
    tiles: cityloop_transparency::TileCache,
    public_writes: door::PublicWriteLimit,
    perception: std::sync::OnceLock<Arc<cityloop_perception::Perception>>,
    performance: transparency::PerformanceCache,
    sta: sta::Sta,
    summaries: dashboard::SummaryCache,
    case_metrics: cityloop_cases::metrics::MetricsCache,
    basemap: std::sync::OnceLock<dashboard::Basemap>,
    web_dir: std::sync::OnceLock<std::path::PathBuf>,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

impl AppState {
    pub fn new(
        cases: Arc<cityloop_cases::CaseService>,
        keys: cityloop_transparency::Keys,
        clock: Arc<dyn Clock>,
        limits: ApiLimits,
    ) -> AppState {
        let (changes, _) = tokio::sync::broadcast::channel(CHANGES_CAPACITY);
        let public_writes = door::PublicWriteLimit::new(
            limits.public_writes_per_minute,
            limits.public_writes_burst,
        );
        AppState {
            shared: Arc::new(Shared {
                store: cases.store_arc(),
                cases,
                changes,
                index: RwLock::new(Arc::new(AreaIndex::new(Vec::new()))),
                clock,
                limits,
                metrics: ops::metrics_handle(),
                keys,
                tiles: cityloop_transparency::TileCache::new(),
                public_writes,
                perception: std::sync::OnceLock::new(),
                performance: transparency::PerformanceCache::default(),
                sta: sta::Sta::default(),
                summaries: dashboard::SummaryCache::default(),
                case_metrics: cityloop_cases::metrics::MetricsCache::default(),
                basemap: std::sync::OnceLock::new(),
                web_dir: std::sync::OnceLock::new(),
            }),
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.shared.store.as_ref()
    }

    /// Each case's folded facts for the performance metrics, kept between
    /// calls.
    pub fn case_metrics_cache(&self) -> &cityloop_cases::metrics::MetricsCache {
        &self.shared.case_metrics
    }

    /// The transparency log's keys (signing, pseudonyms).
    pub fn keys(&self) -> &cityloop_transparency::Keys {
        &self.shared.keys
    }

    /// The public performance figures' answers (see `transparency`).
    pub fn performance_cache(&self) -> &transparency::PerformanceCache {
        &self.shared.performance
    }

    /// Sets the perception service (once; later calls are ignored).
    pub fn set_perception(&self, perception: Arc<cityloop_perception::Perception>) {
        let _ = self.shared.perception.set(perception);
    }

    /// The perception service, when this server runs one.
    pub fn perception(&self) -> Option<&cityloop_perception::Perception> {
        self.shared.perception.get().map(Arc::as_ref)
    }

    /// Dashboard summaries computed lately.
    pub fn summary_cache(&self) -> &dashboard::SummaryCache {
        &self.shared.summaries
    }

    /// The optional raster basemap of the dashboard.
    pub fn basemap(&self) -> dashboard::Basemap {
        self.shared.basemap.get().cloned().unwrap_or_default()
    }

    /// Sets the dashboard's basemap (once, at start).
    pub fn set_basemap(&self, basemap: dashboard::Basemap) {
        let _ = self.shared.basemap.set(basemap);
    }

    /// Serves the web app from this directory (once, before `app`).
    pub fn set_web_dir(&self, dir: std::path::PathBuf) {
        let _ = self.shared.web_dir.set(dir);
    }

    /// The SensorThings model.
    pub fn sta(&self) -> &sta::Sta {
        &self.shared.sta
    }

    /// The perception service, shared (for sources such as MQTT).
    pub fn perception_arc(&self) -> Option<Arc<cityloop_perception::Perception>> {
        self.shared.perception.get().cloned()
    }

    /// The rate limit of writes through the citizens' door.
    pub fn public_writes(&self) -> &door::PublicWriteLimit {
        &self.shared.public_writes
    }

    pub fn tile_cache(&self) -> &cityloop_transparency::TileCache {
        &self.shared.tiles
    }

    pub fn cases_arc(&self) -> Arc<cityloop_cases::CaseService> {
        Arc::clone(&self.shared.cases)
    }

    pub fn cases(&self) -> &cityloop_cases::CaseService {
        self.shared.cases.as_ref()
    }

    /// Tells live screens that a case changed (best effort: no listener, no
    /// work).
    pub fn publish_case_change(&self, case_id: i64) {
        let _ = self.shared.changes.send(case_id);
    }

    pub fn subscribe_case_changes(&self) -> tokio::sync::broadcast::Receiver<i64> {
        self.shared.changes.subscribe()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    pub fn limits(&self) -> &ApiLimits {
        &self.shared.limits
    }

    /// The current point → area index.
    pub fn index(&self) -> Arc<AreaIndex> {
        let guard = self.shared.index.read().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&guard)
    }

    /// Rebuilds the point → area index from the stored boundaries.
    pub async fn reload_index(&self) -> Result<usize, problem::Problem> {
        let index = areas::build_index(self.store()).await?;
        let count = index.len();
        *self.shared.index.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(index);
        Ok(count)
    }
}

/// A user as the API shows it to `viewer`: personal data masked unless the
/// viewer may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserDto {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub department: Option<String>,
    pub areas: Vec<String>,
    /// Masked (`138****1234`) unless the viewer is the user or an admin.
    pub phone: Option<String>,
}

impl UserDto {
    pub fn for_viewer(user: &User, viewer: &User) -> UserDto {
        let phone = user.phone.as_ref().map(|phone| {
            if viewer.can_see_personal_data_of(user) {
                phone.clone()
            } else {
                mask_phone(phone)
            }
        });
        UserDto {
            id: user.id.0,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            role: user.role.as_str().to_owned(),
            department: user.department.as_ref().map(|d| d.as_str().to_owned()),
            areas: user.areas.iter().map(|a| a.as_str().to_owned()).collect(),
            phone,
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cityloop",
        description = "Open city operations: areas, departments, responsibility, cases, the citizens' door.",
        version = "0.0.0",
        license(name = "Apache-2.0")
    ),
    paths(
        ops::healthz,
        auth::login,
        auth::logout,
        auth::me,
        areas::list_areas,
        areas::get_area,
        areas::get_area_shape,
        areas::put_area_shape,
        areas::list_shapes,
        areas::locate,
        directory::list_categories,
        directory::get_category,
        directory::list_departments,
        directory::get_department,
        directory::put_department,
        directory::list_department_users,
        directory::create_user,
        directory::change_grant,
        directory::revoke_user,
        responsibility::list_responsibilities,
        responsibility::put_responsibility,
        responsibility::delete_responsibility,
        responsibility::resolve,
        cases::create_case,
        cases::list_cases,
        cases::get_case,
        cases::act,
        cases::get_rules,
        cases::put_rules,
        cases::sla_due,
        cases::case_metrics,
        cases::upload_media,
        cases::get_media,
        transparency::checkpoint,
        transparency::key,
        transparency::inclusion,
        transparency::consistency,
        transparency::receipt,
        transparency::public_performance,
        citizen::create_report,
        citizen::get_report,
        citizen::rate,
        citizen::comment,
        citizen::media,
        sensors::create_datastream,
        sensors::list_datastreams,
        sensors::list_observations,
        sensors::series,
        sensors::ingest,
        sensors::list_alarms,
        sensors::acknowledge,
        sensors::get_rules,
        sensors::put_rules,
        vital::vital_signs,
        vital::history,
        vital::get_thresholds,
        vital::put_thresholds,
        dashboard::topics,
        dashboard::summary,
        dashboard::get_area_tags,
        dashboard::put_area_tags,
        dashboard::events,
        hub::standards,
        hub::datasets,
        hub::dataset,
        hub::import,
        hub::import_report,
        hub::quarantine,
        hub::quarantine_csv,
        hub::rows,
        hub::request_grant,
        hub::grants,
        hub::decide_grant,
        hub::revoke_grant,
        hub::bind_person,
        hub::my_data_access,
    ),
    modifiers(&SecurityAddon),
    tags(
        (name = "ops", description = "Health and metrics"),
        (name = "auth", description = "Log-in and tokens"),
        (name = "areas", description = "The area tree, boundaries and point → area"),
        (name = "directory", description = "Departments, users and categories"),
        (name = "responsibility", description = "The responsibility list (权责清单)"),
        (name = "cases", description = "The closed loop of a case (一网统管) and its SLA clocks"),
        (name = "transparency", description = "The verifiable log of every exercise of power (全民监督)"),
        (name = "sensors", description = "Perception (城市感知): datastreams, observations, alarms that open cases, city vital signs. OGC SensorThings API 1.1 is served at /sta/v1.1/ (see docs/PERCEPTION.md)"),
        (name = "hub", description = "The data hub (数据中台): catalogue, imports and quarantine, sharing under grants, the citizen's data tracker"),
        (name = "dashboard", description = "The command dashboard (态势感知): topics, aggregated summaries, tagged areas, live events"),
        (name = "citizens", description = "The citizens' door (一网通办): report without an account, follow with the receipt, rate (好差评). Open311 GeoReport v2 is served at /open311/v2/ in XML and JSON (see docs/OPEN311.md)"),
    )
)]
pub struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The whole application without a socket or rate limit.
pub fn app(state: AppState) -> Router {
    let limits = state.limits().clone();
    let web_dir = state.shared.web_dir.get().cloned();
    Router::new()
        .merge(web::router(web_dir))
        .merge(ops::router())
        .merge(auth_router())
        .merge(areas::router())
        .merge(directory::router())
        .merge(responsibility::router())
        .merge(cases::router())
        .merge(transparency::router())
        .merge(open311::router())
        .merge(citizen::router())
        .merge(sensors::router())
        .merge(vital::router())
        .merge(sta::router())
        .merge(dashboard::router())
        .merge(hub::router())
        .fallback(ops::not_found)
        .layer(axum::middleware::from_fn(ops::track_metrics))
        .layer(DefaultBodyLimit::max(limits.body_bytes_max))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(limits.request_timeout_ms),
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

fn auth_router() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/me", get(auth::me))
}

/// Serves the application on `listener` with a per-client-address rate
/// limit until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.limits().clone();
    let governor = tower_governor::governor::GovernorConfigBuilder::default()
        .per_millisecond((1000 / limits.rate_per_second.max(1)).max(1))
        .burst_size(limits.rate_burst.max(1))
        .error_handler(|_| {
            axum::response::IntoResponse::into_response(problem::Problem::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "too many requests from this address; slow down",
            ))
        })
        .finish()
        .expect("rate limit configuration is valid by construction");
    let router = app(state).layer(tower_governor::GovernorLayer {
        config: Arc::new(governor),
    });
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Fires due SLA timers every `interval` until `shutdown`; each timer fires
/// exactly once across every process sharing the store.
pub async fn run_scheduler(
    state: AppState,
    worker: String,
    interval: Duration,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    /// Timers claimed per round.
    const TIMER_BATCH_MAX: u32 = 200;
    let mut shutdown = shutdown;
    loop {
        loop {
            match state
                .cases()
                .fire_due_timers(state.now(), &worker, TIMER_BATCH_MAX)
                .await
            {
                Ok(fired) if fired == TIMER_BATCH_MAX as usize => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::error!(%error, "firing timers failed");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}
