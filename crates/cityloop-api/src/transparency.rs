//! The transparency log over HTTP: C2SP tlog-tiles under
//! `/transparency/log/` (checkpoint, key, hash tiles, entry bundles), JSON
//! inclusion and consistency proofs, receipts for citizens, and the leaves
//! other handlers write with their changes (see `cityloop-transparency`).

use crate::AppState;
use crate::problem::{ApiResult, Problem};
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cityloop_domain::User;
use cityloop_store::{AuditFor, LeafInput};
use cityloop_tlog::TileReader;
use cityloop_transparency::{Actor, Leaf, Record};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    use axum::routing::get;
    Router::new()
        .route("/transparency/log/checkpoint", get(checkpoint))
        .route("/transparency/log/key", get(key))
        .route("/transparency/log/tile/{*path}", get(tile))
        .route("/transparency/log/proof/inclusion", get(inclusion))
        .route("/transparency/log/proof/consistency", get(consistency))
        .route("/api/v1/receipts/{receipt}", get(receipt))
        .route("/transparency/receipt", get(receipt_page))
        .route("/api/v1/public/performance", get(public_performance))
        .route("/transparency/performance", get(performance_page))
}

// --- leaves written by other handlers -----------------------------------------

/// The actor of a leaf: public role and department, the person as a
/// pseudonym.
pub fn actor(state: &AppState, user: &User) -> Actor {
    Actor {
        role: Some(user.role.as_str().to_owned()),
        department: user.department.as_ref().map(|d| d.as_str().to_owned()),
        id: Some(state.keys().pseudonyms.user(user.id.0)),
    }
}

/// A configuration change: the setting and the SHA-256 of its new content.
pub fn config_leaf(
    state: &AppState,
    by: &User,
    setting: &str,
    change: &str,
    content: &[u8],
) -> LeafInput {
    Leaf::new(
        state.now(),
        Record::Config {
            by: actor(state, by),
            setting: setting.to_owned(),
            change: change.to_owned(),
            sha256: cityloop_transparency::keys::sha256_hex(content),
        },
    )
    .input()
}

/// A read of personal data.
pub fn access_leaf(
    state: &AppState,
    by: &User,
    subject: &str,
    fields: &[&str],
    purpose: &str,
) -> LeafInput {
    Leaf::new(
        state.now(),
        Record::Access {
            by: actor(state, by),
            subject: subject.to_owned(),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            purpose: purpose.to_owned(),
        },
    )
    .input()
}

/// A privileged (staff) log-in; citizens' log-ins are not an exercise of
/// power and are not logged.
pub fn login_leaves(state: &AppState, user: &User) -> Vec<LeafInput> {
    if !user.role.is_staff() {
        return Vec::new();
    }
    vec![
        Leaf::new(
            state.now(),
            Record::Login {
                by: actor(state, user),
                method: "password".into(),
            },
        )
        .input(),
    ]
}

/// A change or revocation of an existing user's grant.
#[allow(clippy::too_many_arguments)]
pub fn grant_change_leaf(
    state: &AppState,
    by: &User,
    grantee: cityloop_domain::UserId,
    change: &str,
    role: &str,
    department: Option<String>,
    areas: Vec<String>,
    basis: String,
) -> LeafInput {
    Leaf::new(
        state.now(),
        Record::Grant {
            change: change.to_owned(),
            grantee: state.keys().pseudonyms.user(grantee.0),
            role: role.to_owned(),
            department,
            areas,
            by: actor(state, by),
            basis,
        },
    )
    .input()
}

/// A grant of a role and scope to a user about to be created: the leaf is
/// made once the store has given the user its id.
pub fn grant_leaf(
    state: &AppState,
    by: &User,
    role: &str,
    department: Option<String>,
    areas: Vec<String>,
    basis: String,
) -> AuditFor {
    let (state, by, role) = (state.clone(), by.clone(), role.to_owned());
    Box::new(move |id| {
        vec![grant_change_leaf(
            &state, &by, id, "grant", &role, department, areas, basis,
        )]
    })
}

// --- tlog-tiles ---------------------------------------------------------------

fn text(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The latest signed checkpoint (C2SP tlog-checkpoint).
#[utoipa::path(get, path = "/transparency/log/checkpoint", tag = "transparency",
    responses((status = 200, description = "signed note", content_type = "text/plain"),
        (status = 404, body = crate::problem::ProblemBody)))]
pub async fn checkpoint(State(state): State<AppState>) -> ApiResult<Response> {
    match state.store().latest_checkpoint().await? {
        Some((_, note)) => Ok(text(note)),
        None => Err(Problem::not_found("the log has no checkpoint yet")),
    }
}

/// The log's verifier key (signed-note vkey format).
#[utoipa::path(get, path = "/transparency/log/key", tag = "transparency",
    responses((status = 200, description = "verifier key", content_type = "text/plain"),
        (status = 429, body = crate::problem::ProblemBody, description = "rate limited")))]
pub async fn key(State(state): State<AppState>) -> Response {
    text(format!("{}\n", state.keys().verifier().to_vkey()))
}

/// Hash tiles and entry bundles (C2SP tlog-tiles).
pub async fn tile(State(state): State<AppState>, Path(path): Path<String>) -> ApiResult<Response> {
    let full = format!("tile/{path}");
    let bytes = state
        .tile_cache()
        .serve(state.store(), &full)
        .await
        .map_err(|error| match error {
            cityloop_transparency::Error::Log(inner) => {
                Problem::invalid("path", format!("{full}: {inner}"))
            }
            other => {
                tracing::error!(error = %other, "serving a tile");
                Problem::internal()
            }
        })?
        .ok_or_else(|| Problem::not_found(format!("{full} is not in the log (yet)")))?;
    let cache = if full.contains(".p/") {
        "public, max-age=60"
    } else {
        "public, max-age=31536000, immutable"
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The leaf's index.
    pub index: u64,
    /// The tree size (a signed checkpoint's); default: the latest.
    pub size: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProof {
    pub index: u64,
    pub tree_size: u64,
    /// SHA-256(0x00 ‖ leaf), base64.
    pub leaf_hash: String,
    /// The audit path (RFC 9162 §2.1.3), base64.
    pub hashes: Vec<String>,
}

async fn latest_size(state: &AppState) -> ApiResult<u64> {
    Ok(state
        .store()
        .latest_checkpoint()
        .await?
        .map(|(size, _)| size)
        .unwrap_or(0))
}

fn proof_error(error: cityloop_transparency::Error) -> Problem {
    match error {
        cityloop_transparency::Error::Log(inner) => Problem::invalid("size", inner.to_string()),
        other => {
            tracing::error!(error = %other, "computing a proof");
            Problem::internal()
        }
    }
}

/// An inclusion proof of leaf `index` in the tree of `size`.
#[utoipa::path(get, path = "/transparency/log/proof/inclusion", tag = "transparency",
    params(InclusionQuery),
    responses((status = 200, body = InclusionProof), (status = 400, body = crate::problem::ProblemBody)))]
pub async fn inclusion(
    State(state): State<AppState>,
    Query(query): Query<InclusionQuery>,
) -> ApiResult<Json<InclusionProof>> {
    let latest = latest_size(&state).await?;
    let size = query.size.unwrap_or(latest);
    if size > latest {
        return Err(Problem::invalid(
            "size",
            format!("the latest checkpoint has size {latest}"),
        ));
    }
    if query.index >= size {
        return Err(Problem::invalid(
            "index",
            format!("leaf {} is not in a tree of {size}", query.index),
        ));
    }
    let index = query.index;
    let (leaf, hashes) = state
        .tile_cache()
        .with_tiles(state.store(), |tiles| {
            let width = (index % 256 + 1) as u16;
            let tile = tiles.read_tile(0, index / 256, width)?;
            let leaf = tile[usize::from(width) - 1];
            Ok((leaf, cityloop_tlog::inclusion_proof(index, size, tiles)?))
        })
        .await
        .map_err(proof_error)?;
    Ok(Json(InclusionProof {
        index,
        tree_size: size,
        leaf_hash: STANDARD.encode(leaf),
        hashes: hashes.iter().map(|h| STANDARD.encode(h)).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    pub first: u64,
    /// Default: the latest checkpoint's size.
    pub second: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProof {
    pub first: u64,
    pub second: u64,
    /// RFC 9162 §2.1.4 consistency proof, base64.
    pub hashes: Vec<String>,
}

/// A consistency proof between two tree sizes.
#[utoipa::path(get, path = "/transparency/log/proof/consistency", tag = "transparency",
    params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProof), (status = 400, body = crate::problem::ProblemBody)))]
pub async fn consistency(
    State(state): State<AppState>,
    Query(query): Query<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyProof>> {
    let latest = latest_size(&state).await?;
    let second = query.second.unwrap_or(latest);
    if second > latest {
        return Err(Problem::invalid(
            "second",
            format!("the latest checkpoint has size {latest}"),
        ));
    }
    if query.first > second {
        return Err(Problem::invalid(
            "first",
            format!("must not exceed second ({second})"),
        ));
    }
    let first = query.first;
    let hashes = state
        .tile_cache()
        .with_tiles(state.store(), |tiles| {
            cityloop_tlog::consistency_proof(first, second, tiles)
        })
        .await
        .map_err(proof_error)?;
    Ok(Json(ConsistencyProof {
        first,
        second,
        hashes: hashes.iter().map(|h| STANDARD.encode(h)).collect(),
    }))
}

/// Every public step of the case a receipt is for, with inclusion proofs
/// against the latest signed checkpoint. No account needed: the receipt is
/// the secret.
#[utoipa::path(get, path = "/api/v1/receipts/{receipt}", tag = "transparency",
    params(("receipt" = String, Path, description = "the receipt given at reporting, `<case>-<tag>`")),
    responses((status = 200, description = "the case's steps with proofs", content_type = "application/json"),
        (status = 404, body = crate::problem::ProblemBody)))]
pub async fn receipt(
    State(state): State<AppState>,
    Path(receipt): Path<String>,
) -> ApiResult<Response> {
    let view = cityloop_transparency::receipt::receipt_view(
        state.store(),
        state.tile_cache(),
        state.keys(),
        &receipt,
    )
    .await
    .map_err(|error| {
        tracing::error!(%error, "building a receipt");
        Problem::internal()
    })?
    .ok_or_else(|| Problem::not_found("no case has this receipt"))?;
    Ok(Json(view).into_response())
}

/// The public receipt page (it fetches the JSON and checks the proofs in
/// the browser).
pub async fn receipt_page() -> Html<&'static str> {
    Html(include_str!("../assets/receipt.html"))
}

// --- public performance figures ----------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PerformanceQuery {
    /// `department` (default), `street` or `district`.
    pub group_by: Option<String>,
    /// RFC 3339; default 30 days before `to`.
    pub from: Option<String>,
    /// RFC 3339; default now.
    pub to: Option<String>,
    /// Counts below `k` are hidden; at least (and by default) 10.
    pub k: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Formula {
    pub key: String,
    /// The Chinese name (考核指标).
    pub name: String,
    pub numerator: String,
    pub denominator: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NamedRow {
    #[serde(flatten)]
    pub row: cityloop_cases::public::PublicRow,
    /// The department's or area's name.
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicPerformance {
    /// The signed checkpoint (C2SP note) whose tree holds every history
    /// row these figures count.
    pub checkpoint: String,
    pub tree_size: u64,
    /// The figures are as of this instant.
    pub as_of: chrono::DateTime<chrono::Utc>,
    pub from: chrono::DateTime<chrono::Utc>,
    pub to: chrono::DateTime<chrono::Utc>,
    pub group_by: String,
    pub k: u64,
    pub formulas: Vec<Formula>,
    /// One row per group; hidden cells are null with `suppressed: true`.
    pub rows: Vec<NamedRow>,
    /// The totals the rows add up to (the city; for streets, each district).
    pub totals: Vec<NamedRow>,
}

async fn group_name(
    state: &AppState,
    group_by: cityloop_cases::metrics::GroupBy,
    group: &str,
) -> Option<String> {
    use cityloop_cases::metrics::GroupBy;
    match group_by {
        GroupBy::Department => {
            let id = cityloop_domain::DepartmentId::parse(group).ok()?;
            state
                .store()
                .department(&id)
                .await
                .ok()
                .flatten()
                .map(|d| d.name)
        }
        _ => {
            let code = cityloop_domain::AreaCode::parse(group).ok()?;
            state
                .store()
                .area(&code)
                .await
                .ok()
                .flatten()
                .map(|a| a.area.name)
        }
    }
}

/// Which published total a group adds up to.
type Partition = dyn Fn(&str) -> String + Send;

/// The closed loop's performance by department, street or district, for
/// everyone: each rate with its formula, the signed checkpoint that holds
/// every history row counted, and small counts suppressed (k ≥ 10, with
/// complementary suppression).
#[utoipa::path(get, path = "/api/v1/public/performance", tag = "transparency",
    params(PerformanceQuery),
    responses((status = 200, body = PublicPerformance), (status = 400, body = crate::problem::ProblemBody)))]
pub async fn public_performance(
    State(state): State<AppState>,
    Query(query): Query<PerformanceQuery>,
) -> ApiResult<axum::response::Response> {
    // The figures only change with the history: while no leaf was written
    // since, the same query gets the same answer (for a minute), so an
    // anonymous flood cannot make the server recompute every history.
    let key = format!(
        "{:?}|{:?}|{:?}|{:?}",
        query.group_by, query.from, query.to, query.k
    );
    let marker = (
        state.store().tlog_size().await?,
        state.store().tlog_queued().await?,
    );
    if let Some(bytes) = state.performance_cache().get(&key, marker) {
        return Ok(json_bytes(bytes));
    }
    let Json(figures) = compute_performance(&state, query).await?;
    let bytes = serde_json::to_vec(&figures).map_err(|_| Problem::internal())?;
    state
        .performance_cache()
        .put(key, (figures.tree_size, 0), bytes.clone());
    Ok(json_bytes(bytes))
}

fn json_bytes(bytes: Vec<u8>) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        bytes,
    )
        .into_response()
}

async fn compute_performance(
    state: &AppState,
    query: PerformanceQuery,
) -> ApiResult<Json<PublicPerformance>> {
    use cityloop_cases::metrics::{GroupBy, Period, RATES, compute};
    let group_by = match query.group_by.as_deref().filter(|g| !g.is_empty()) {
        None => GroupBy::Department,
        Some(text) => match GroupBy::parse(text)? {
            GroupBy::City => {
                return Err(Problem::invalid(
                    "group_by",
                    "department, street or district",
                ));
            }
            other => other,
        },
    };
    let k = query.k.unwrap_or(cityloop_cases::public::K_DEFAULT);
    if k < cityloop_cases::public::K_DEFAULT {
        return Err(Problem::invalid(
            "k",
            format!(
                "at least {} (smaller counts are never published)",
                cityloop_cases::public::K_DEFAULT
            ),
        ));
    }
    let instant = crate::cases::parse_instant;
    let as_of = state.now();
    let to = match query.to.as_deref().filter(|t| !t.is_empty()) {
        Some(text) => instant("to", text)?,
        None => as_of,
    };
    let from = match query.from.as_deref().filter(|t| !t.is_empty()) {
        Some(text) => instant("from", text)?,
        None => to - chrono::Duration::days(30),
    };
    let period = Period::new(from, to)?;
    // Every history row written so far goes into a checkpoint first, so
    // the one named below holds every row these figures count.
    let tree_size = cityloop_transparency::sequence_all(state.store(), state.keys())
        .await
        .map_err(|error| {
            tracing::error!(%error, "sequencing for the performance page");
            Problem::internal()
        })?;
    let checkpoint = state
        .store()
        .latest_checkpoint()
        .await?
        .map(|(_, note)| note)
        .unwrap_or_default();
    let rows = compute(state.store(), group_by, period, as_of).await?;
    let (totals, partition_of): (Vec<_>, Box<Partition>) = match group_by {
        GroupBy::Street => (
            compute(state.store(), GroupBy::District, period, as_of).await?,
            Box::new(|street: &str| {
                if street == cityloop_cases::metrics::NO_STREET {
                    street.to_owned()
                } else {
                    street.get(..6).unwrap_or(street).to_owned()
                }
            }),
        ),
        _ => {
            let city = compute(state.store(), GroupBy::City, period, as_of).await?;
            (city, Box::new(|_: &str| "310000".to_owned()))
        }
    };
    let totals: std::collections::BTreeMap<String, _> = totals
        .into_iter()
        .map(|row| (row.group.clone(), row))
        .collect();
    let (published, published_totals) =
        cityloop_cases::public::suppress(&rows, &totals, partition_of, k);
    let mut named_rows = Vec::with_capacity(published.len());
    for row in published {
        let name = group_name(state, group_by, &row.group).await;
        named_rows.push(NamedRow { row, name });
    }
    let total_by = if group_by == GroupBy::Street {
        GroupBy::District
    } else {
        GroupBy::City
    };
    let mut named_totals = Vec::with_capacity(published_totals.len());
    for row in published_totals {
        let name = group_name(state, total_by, &row.group).await;
        named_totals.push(NamedRow { row, name });
    }
    let names: std::collections::BTreeMap<&str, &str> = RATES.into_iter().collect();
    Ok(Json(PublicPerformance {
        checkpoint,
        tree_size,
        as_of,
        from,
        to,
        group_by: group_by.as_str().to_owned(),
        k,
        formulas: cityloop_cases::public::FORMULAS
            .iter()
            .map(|(key, numerator, denominator)| Formula {
                key: (*key).to_owned(),
                name: names.get(key).copied().unwrap_or_default().to_owned(),
                numerator: (*numerator).to_owned(),
                denominator: (*denominator).to_owned(),
            })
            .collect(),
        rows: named_rows,
        totals: named_totals,
    }))
}

/// The public performance page (renders the JSON above).
pub async fn performance_page() -> Html<&'static str> {
    Html(include_str!("../assets/performance.html"))
}

/// Answers of the public performance figures, by query, valid while the log
/// has not grown (see [`public_performance`]).
#[derive(Default)]
pub struct PerformanceCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, CachedFigures>>,
}

/// When an answer was computed, the log's (size, queued) then, the answer.
type CachedFigures = (std::time::Instant, (u64, u64), Vec<u8>);

impl PerformanceCache {
    /// How long an answer is reused at most.
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(60);
    /// The most answers kept.
    pub const ENTRIES_MAX: usize = 64;

    fn get(&self, key: &str, marker: (u64, u64)) -> Option<Vec<u8>> {
        let entries = self.entries.lock().ok()?;
        let (at, kept, bytes) = entries.get(key)?;
        (*kept == marker && at.elapsed() < Self::TTL).then(|| bytes.clone())
    }

    fn put(&self, key: String, marker: (u64, u64), bytes: Vec<u8>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::ENTRIES_MAX {
                entries.clear();
            }
            entries.insert(key, (std::time::Instant::now(), marker, bytes));
        }
    }
}
