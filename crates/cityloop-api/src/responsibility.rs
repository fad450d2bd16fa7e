//! The responsibility list (权责清单) over HTTP: read it, change it within
//! one's scope, and ask "who is responsible for this category here?".

use crate::AppState;
use crate::areas::{PathStep, locate_point};
use crate::auth::Caller;
use crate::directory::DepartmentDto;
use crate::problem::{ApiResult, Json, Problem, Query};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use cityloop_domain::{
    AreaCode, CategoryCode, CategorySelector, DepartmentId, Responsibility, resolve_responsibility,
};
use cityloop_store::ResponsibilityQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/responsibilities",
            get(list_responsibilities)
                .put(put_responsibility)
                .delete(delete_responsibility),
        )
        .route("/api/v1/responsibilities/resolve", get(resolve))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResponsibilityDto {
    /// A case category code, `class:NN` for a whole national class, or `*`.
    pub category: String,
    pub area_code: String,
    pub department: String,
    /// Legal or 权责清单 basis.
    pub basis: Option<String>,
}

impl From<Responsibility> for ResponsibilityDto {
    fn from(row: Responsibility) -> Self {
        ResponsibilityDto {
            category: row.category.to_string(),
            area_code: row.area.as_str().to_owned(),
            department: row.department.as_str().to_owned(),
            basis: row.basis,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ResponsibilityListQuery {
    /// Only rows at this area.
    pub area: Option<String>,
    /// Only rows naming this department.
    pub department: Option<String>,
}

fn area_param(field: &'static str, text: &str) -> ApiResult<AreaCode> {
    AreaCode::canonical(text).map_err(|e| Problem::invalid(field, e.message))
}

/// The responsibility list (staff only).
#[utoipa::path(get, path = "/api/v1/responsibilities", tag = "responsibility",
    params(ResponsibilityListQuery), security(("bearer" = [])),
    responses((status = 200, body = [ResponsibilityDto]), (status = 401, body = crate::problem::ProblemBody),
        (status = 403, body = crate::problem::ProblemBody)))]
pub async fn list_responsibilities(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ResponsibilityListQuery>,
) -> ApiResult<Json<Vec<ResponsibilityDto>>> {
    caller.require(
        caller.0.can_read_directory(),
        "read the responsibility list",
    )?;
    let filter = ResponsibilityQuery {
        area: query
            .area
            .as_deref()
            .map(|a| area_param("area", a))
            .transpose()?,
        department: query
            .department
            .as_deref()
            .map(|d| DepartmentId::parse(d).map_err(|e| Problem::invalid("department", e.message)))
            .transpose()?,
    };
    let rows = state.store().responsibilities(&filter).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

async fn authorize_area(state: &AppState, caller: &Caller, area: &AreaCode) -> ApiResult<()> {
    let path = state.store().area_path(area).await?;
    if path.is_empty() {
        return Err(Problem::invalid(
            "area_code",
            format!("area {area} does not exist"),
        ));
    }
    let codes: Vec<AreaCode> = path.into_iter().map(|a| a.code).collect();
    caller.require(
        caller.0.can_configure_area(&codes),
        &format!("change the responsibility list at {area}"),
    )
}

/// Set who is responsible for a category at an area (replaces the row for
/// the same category and area). Admins, or operators within their areas.
#[utoipa::path(put, path = "/api/v1/responsibilities", tag = "responsibility",
    request_body = ResponsibilityDto, security(("bearer" = [])),
    responses((status = 200, body = ResponsibilityDto), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn put_responsibility(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ResponsibilityDto>,
) -> ApiResult<Json<ResponsibilityDto>> {
    let area = area_param("area_code", &body.area_code)?;
    authorize_area(&state, &caller, &area).await?;
    let category = CategorySelector::parse(&body.category)?;
    if let CategorySelector::Code(code) = &category {
        let (kind, _) = CategoryCode::parse_case_category(code.as_str())?;
        if state.store().category(kind, code.as_str()).await?.is_none() {
            return Err(Problem::invalid(
                "category",
                format!("category {code} is not in the catalogue"),
            ));
        }
    }
    let row = Responsibility {
        category,
        area,
        department: DepartmentId::parse(&body.department)?,
        basis: body.basis.filter(|b| !b.trim().is_empty()),
    };
    state
        .store()
        .upsert_responsibilities(
            vec![row.clone()],
            vec![crate::transparency::config_leaf(
                &state,
                &caller.0,
                "responsibility",
                &format!("set {} at {} to {}", row.category, row.area, row.department),
                format!(
                    "{}|{}|{}|{}",
                    row.category,
                    row.area,
                    row.department,
                    row.basis.as_deref().unwrap_or("")
                )
                .as_bytes(),
            )],
        )
        .await?;
    state.cases().invalidate_reference_cache();
    tracing::info!(category = %row.category, area = %row.area, department = %row.department,
        by = %caller.0.id, "responsibility set");
    Ok(Json(row.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ResponsibilityKey {
    pub category: String,
    pub area_code: String,
}

/// Remove one row of the responsibility list.
#[utoipa::path(delete, path = "/api/v1/responsibilities", tag = "responsibility",
    params(ResponsibilityKey), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = crate::problem::ProblemBody),
        (status = 403, body = crate::problem::ProblemBody), (status = 404, body = crate::problem::ProblemBody)))]
pub async fn delete_responsibility(
    State(state): State<AppState>,
    caller: Caller,
    Query(key): Query<ResponsibilityKey>,
) -> ApiResult<StatusCode> {
    let area = area_param("area_code", &key.area_code)?;
    authorize_area(&state, &caller, &area).await?;
    let selector = CategorySelector::parse(&key.category)?;
    state
        .store()
        .delete_responsibility(
            &selector.to_string(),
            &area,
            vec![crate::transparency::config_leaf(
                &state,
                &caller.0,
                "responsibility",
                &format!("delete {selector} at {area}"),
                format!("{selector}|{area}").as_bytes(),
            )],
        )
        .await?;
    state.cases().invalidate_reference_cache();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ResolveQuery {
    /// The case category code (a GB/T 47678.5 matter or a local code).
    pub category: String,
    /// Either an area code …
    pub area_code: Option<String>,
    /// … or a point.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Datum of the point: wgs84 (default), gcj02 or bd09.
    pub crs: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Resolution {
    pub category: String,
    /// The area path the answer was sought along, city first.
    pub area_path: Vec<PathStep>,
    /// The responsible department, or null when no one is configured.
    pub department: Option<DepartmentDto>,
    /// The row that decided it.
    pub rule: Option<ResponsibilityDto>,
}

/// Who is responsible for a category at an area or point (staff only).
#[utoipa::path(get, path = "/api/v1/responsibilities/resolve", tag = "responsibility",
    params(ResolveQuery), security(("bearer" = [])),
    responses((status = 200, body = Resolution), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ResolveQuery>,
) -> ApiResult<Json<Resolution>> {
    caller.require(
        caller.0.can_read_directory(),
        "query the responsibility list",
    )?;
    let (kind, category) = CategoryCode::parse_case_category(&query.category)?;
    if state
        .store()
        .category(kind, category.as_str())
        .await?
        .is_none()
    {
        return Err(Problem::invalid(
            "category",
            format!("category {category} is not in the catalogue"),
        ));
    }
    let path = match (&query.area_code, query.lon, query.lat) {
        (Some(code), None, None) => {
            let code = area_param("area_code", code)?;
            let path = state.store().area_path(&code).await?;
            if path.is_empty() {
                return Err(Problem::invalid(
                    "area_code",
                    format!("area {code} does not exist"),
                ));
            }
            path
        }
        (None, Some(lon), Some(lat)) => {
            let point = crate::areas::parse_point(lon, lat, query.crs.as_deref())?;
            locate_point(state.store(), &state.index(), point).await?
        }
        _ => {
            return Err(Problem::invalid(
                "area_code",
                "give either area_code or both lon and lat",
            ));
        }
    };
    let codes: Vec<AreaCode> = path.iter().map(|a| a.code.clone()).collect();
    let rows = state.store().responsibilities_at(&codes).await?;
    let rule = resolve_responsibility(&category, &codes, &rows).cloned();
    let department = match &rule {
        Some(rule) => state.store().department(&rule.department).await?,
        None => None,
    };
    Ok(Json(Resolution {
        category: category.as_str().to_owned(),
        area_path: path.iter().map(PathStep::from).collect(),
        department: department.map(Into::into),
        rule: rule.map(Into::into),
    }))
}
