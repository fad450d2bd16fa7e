//! Identity at the HTTP boundary: password log-in (argon2), opaque bearer
//! tokens (only their SHA-256 is stored), and the [`Caller`] extractor that
//! every non-public handler takes, so forgetting authentication is a compile
//! error rather than a hole.

use crate::problem::{ApiResult, Json, Problem};
use crate::{AppState, UserDto};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRequestParts, State};
use axum::http::{StatusCode, header, request::Parts};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use cityloop_domain::User;
use cityloop_store::TokenRecord;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// How long a log-in token lives.
pub const LOGIN_TOKEN_TTL_HOURS: i64 = 12;
/// Longest password accepted (argon2 cost is per byte).
const PASSWORD_BYTES_MAX: usize = 256;

/// A fresh random bearer token: `cl_` + 32 random bytes, base64url.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "cl_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn hash_password(password: &str) -> Result<String, Problem> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| {
            tracing::error!(%error, "password hashing failed");
            Problem::internal()
        })
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Issues and stores a token for `user`.
pub async fn issue_token(
    state: &AppState,
    user: &User,
    label: &str,
    expires_at: Option<DateTime<Utc>>,
) -> ApiResult<String> {
    let token = new_token();
    state
        .store()
        .create_token(
            TokenRecord {
                token_sha256: token_sha256(&token),
                user: user.id,
                label: label.to_owned(),
                created_at: state.now(),
                expires_at,
            },
            crate::transparency::login_leaves(state, user),
        )
        .await?;
    Ok(token)
}

/// The authenticated caller of a request.
pub struct Caller(pub User);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let token = bearer(&parts.headers)?;
        Ok(Caller(user_for_token(state, token).await?))
    }
}

/// The bearer token of a request; 401 without one.
fn bearer(headers: &axum::http::HeaderMap) -> ApiResult<&str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(Problem::unauthorized(
            "this endpoint needs a token: send Authorization: Bearer <token>",
        ));
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| Problem::unauthorized("the Authorization header must be Bearer <token>"))
}

/// The user a bearer token belongs to; 401 when it is unknown, expired
/// or revoked.
pub async fn user_for_token(state: &AppState, token: &str) -> ApiResult<User> {
    state
        .store()
        .user_by_token(&token_sha256(token.trim()), state.now())
        .await?
        .ok_or_else(|| Problem::unauthorized("the token is unknown, expired or revoked"))
}

impl Caller {
    /// Refuses unless `allowed`; the detail says what the role may not do.
    pub fn require(&self, allowed: bool, action: &str) -> ApiResult<()> {
        if allowed {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "a {} may not {action}",
                self.0.role
            )))
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserDto,
}

/// Log in with a username and password; returns a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody, description = "wrong username or password"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    Json(request): Json<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    if request.password.len() > PASSWORD_BYTES_MAX {
        return Err(Problem::invalid("password", "the password is too long"));
    }
    let found = state
        .store()
        .user_credentials(request.username.trim())
        .await?;
    let password = request.password;
    let verified = match found {
        Some((user, hash)) => {
            tokio::task::spawn_blocking(move || verify_password(&password, &hash).then_some(user))
                .await
                .map_err(|_| Problem::internal())?
        }
        None => None,
    };
    let Some(user) = verified else {
        metrics::counter!("cityloop_auth_login_failures_total").increment(1);
        return Err(Problem::unauthorized("wrong username or password"));
    };
    let expires_at = state.now() + Duration::hours(LOGIN_TOKEN_TTL_HOURS);
    let token = issue_token(&state, &user, "login", Some(expires_at)).await?;
    tracing::info!(user = %user.id, role = %user.role, "log-in");
    Ok(Json(LoginResponse {
        token,
        expires_at,
        user: UserDto::for_viewer(&user, &user),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LogoutQuery {
    /// Revoke every token of the caller (every device, wall screens
    /// signed in as the same user included), not only this one.
    pub everywhere: Option<bool>,
}

/// Log out: revoke the token of this request, or with `everywhere=true`
/// every token of the caller.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", params(LogoutQuery),
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = crate::problem::ProblemBody)))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    crate::problem::Query(query): crate::problem::Query<LogoutQuery>,
) -> ApiResult<StatusCode> {
    if query.everywhere.unwrap_or(false) {
        state.store().revoke_tokens(caller.0.id).await?;
    } else {
        let token = bearer(&headers)?;
        state.store().revoke_token(&token_sha256(token)).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = UserDto), (status = 401, body = crate::problem::ProblemBody)))]
pub async fn me(caller: Caller) -> Json<UserDto> {
    Json(UserDto::for_viewer(&caller.0, &caller.0))
}
