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

/// A grant of a role and scope to a user about to be created.
pub fn grant_leaf(
    state: &AppState,
    by: &User,
    role: &str,
    department: Option<String>,
    areas: Vec<String>,
    basis: String,
) -> AuditFor {
    let pseudonyms = state.keys().pseudonyms.clone();
    let by = actor(state, by);
    let at = state.now();
    let role = role.to_owned();
    Box::new(move |id| {
        vec![
            Leaf::new(
                at,
                Record::Grant {
                    change: "grant".into(),
                    grantee: pseudonyms.user(id.0),
                    role,
                    department,
                    areas,
                    by,
                    basis,
                },
            )
            .input(),
        ]
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
