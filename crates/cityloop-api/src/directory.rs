//! The directory: categories (public), departments and their staff (staff
//! only, scoped), and creating users.

use crate::auth::{Caller, hash_password};
use crate::problem::{ApiResult, Json, Problem, Query};
use crate::{AppState, UserDto};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use cityloop_domain::{
    AreaCode, Category, CategoryKind, Department, DepartmentId, DepartmentKind, NewUser, Role,
    User, UserId,
};
use cityloop_store::CategoryQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/categories", get(list_categories))
        .route("/api/v1/categories/{kind}/{code}", get(get_category))
        .route("/api/v1/departments", get(list_departments))
        .route(
            "/api/v1/departments/{id}",
            get(get_department).put(put_department),
        )
        .route("/api/v1/departments/{id}/users", get(list_department_users))
        .route("/api/v1/users", post(create_user))
        .route("/api/v1/users/{id}/grant", put(change_grant))
        .route("/api/v1/users/{id}/revoke", post(revoke_user))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryDto {
    /// component (管理部件), matter (管理事项) or local.
    pub kind: String,
    pub code: String,
    pub class_code: String,
    pub class_name: String,
    pub name: String,
    /// The standard the code comes from, e.g. GB/T 47678.5-2026.
    pub standard: String,
}

impl From<Category> for CategoryDto {
    fn from(category: Category) -> Self {
        CategoryDto {
            kind: category.kind.as_str().to_owned(),
            code: category.code.as_str().to_owned(),
            class_code: category.class_code,
            class_name: category.class_name,
            name: category.name,
            standard: category.standard,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CategoryListQuery {
    /// component, matter or local.
    pub kind: Option<String>,
    /// 2-digit class of the national directory.
    pub class: Option<String>,
    /// Name contains this text.
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryPage {
    pub items: Vec<CategoryDto>,
    pub total: u64,
}

/// The category directory: GB/T 47678.5-2026 and local categories.
#[utoipa::path(get, path = "/api/v1/categories", tag = "directory", params(CategoryListQuery),
    responses((status = 200, body = CategoryPage), (status = 400, body = crate::problem::ProblemBody)))]
pub async fn list_categories(
    State(state): State<AppState>,
    Query(query): Query<CategoryListQuery>,
) -> ApiResult<Json<CategoryPage>> {
    let filter = CategoryQuery {
        kind: query.kind.as_deref().map(CategoryKind::parse).transpose()?,
        class_code: query.class,
        name_contains: query.q,
        limit: query.limit.unwrap_or(500),
        offset: query.offset.unwrap_or(0),
    };
    if filter.limit == 0 || filter.limit > cityloop_store::PAGE_ROWS_MAX {
        return Err(Problem::invalid("limit", "limit must be 1–1000"));
    }
    let total = state.store().count_categories(&filter).await?;
    let items = state
        .store()
        .categories(&filter)
        .await?
        .into_iter()
        .map(CategoryDto::from)
        .collect();
    Ok(Json(CategoryPage { items, total }))
}

/// One category.
#[utoipa::path(get, path = "/api/v1/categories/{kind}/{code}", tag = "directory",
    params(("kind" = String, Path, description = "component, matter or local"),
        ("code" = String, Path, description = "category code")),
    responses((status = 200, body = CategoryDto), (status = 404, body = crate::problem::ProblemBody)))]
pub async fn get_category(
    State(state): State<AppState>,
    Path((kind, code)): Path<(String, String)>,
) -> ApiResult<Json<CategoryDto>> {
    let kind = CategoryKind::parse(&kind)?;
    let category = state
        .store()
        .category(kind, &code)
        .await?
        .ok_or_else(|| Problem::not_found(format!("{kind} category {code} not found")))?;
    Ok(Json(category.into()))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DepartmentDto {
    pub id: String,
    pub name: String,
    /// operations_centre, enforcement, greening, construction, street_office, utility, other.
    pub kind: String,
    /// Codes of the areas it covers.
    pub areas: Vec<String>,
    /// The unit's public service phone.
    pub phone: Option<String>,
}

impl From<Department> for DepartmentDto {
    fn from(department: Department) -> Self {
        DepartmentDto {
            id: department.id.as_str().to_owned(),
            name: department.name,
            kind: department.kind.as_str().to_owned(),
            areas: department
                .areas
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
            phone: department.phone,
        }
    }
}

fn parse_department_id(text: &str) -> ApiResult<DepartmentId> {
    DepartmentId::parse(text).map_err(|e| Problem::invalid("id", e.message))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DepartmentListQuery {
    /// Only departments covering this area code.
    pub area: Option<String>,
}

/// Departments (staff only).
#[utoipa::path(get, path = "/api/v1/departments", tag = "directory", params(DepartmentListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = [DepartmentDto]), (status = 401, body = crate::problem::ProblemBody),
        (status = 403, body = crate::problem::ProblemBody)))]
pub async fn list_departments(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<DepartmentListQuery>,
) -> ApiResult<Json<Vec<DepartmentDto>>> {
    caller.require(
        caller.0.can_read_directory(),
        "read the department directory",
    )?;
    let area = query
        .area
        .as_deref()
        .map(|a| AreaCode::canonical(a).map_err(|e| Problem::invalid("area", e.message)))
        .transpose()?;
    let departments = state.store().departments(area.as_ref()).await?;
    Ok(Json(departments.into_iter().map(Into::into).collect()))
}

/// One department (staff only).
#[utoipa::path(get, path = "/api/v1/departments/{id}", tag = "directory",
    params(("id" = String, Path, description = "department id")),
    security(("bearer" = [])),
    responses((status = 200, body = DepartmentDto), (status = 401, body = crate::problem::ProblemBody),
        (status = 403, body = crate::problem::ProblemBody), (status = 404, body = crate::problem::ProblemBody)))]
pub async fn get_department(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DepartmentDto>> {
    caller.require(
        caller.0.can_read_directory(),
        "read the department directory",
    )?;
    let id = parse_department_id(&id)?;
    let department = state
        .store()
        .department(&id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("department {id} not found")))?;
    Ok(Json(department.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentUpdate {
    pub name: String,
    pub kind: String,
    pub areas: Vec<String>,
    pub phone: Option<String>,
}

/// Create or change a department. Admins may change anything; a department
/// lead may change its own department's name and phone, not its kind or
/// coverage.
#[utoipa::path(put, path = "/api/v1/departments/{id}", tag = "directory",
    params(("id" = String, Path, description = "department id")),
    request_body = DepartmentUpdate,
    security(("bearer" = [])),
    responses((status = 200, body = DepartmentDto), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn put_department(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(update): Json<DepartmentUpdate>,
) -> ApiResult<Json<DepartmentDto>> {
    let id = parse_department_id(&id)?;
    caller.require(
        caller.0.can_edit_department(&id),
        &format!("change department {id}"),
    )?;
    let areas = update
        .areas
        .iter()
        .map(|a| AreaCode::canonical(a).map_err(|e| Problem::invalid("areas", e.message)))
        .collect::<ApiResult<Vec<_>>>()?;
    let department = Department::new(
        id.clone(),
        &update.name,
        DepartmentKind::parse(&update.kind)?,
        areas,
        update.phone.as_deref(),
    )?;
    if caller.0.role != Role::Admin {
        let current = state
            .store()
            .department(&id)
            .await?
            .ok_or_else(|| Problem::not_found(format!("department {id} not found")))?;
        if current.kind != department.kind || current.areas != department.areas {
            return Err(Problem::forbidden(
                "a department lead may change the name and phone; kind and coverage are set by an admin",
            ));
        }
    }
    state
        .store()
        .upsert_departments(
            vec![department.clone()],
            vec![crate::transparency::config_leaf(
                &state,
                &caller.0,
                "department",
                &format!("set {id}"),
                format!("{department:?}").as_bytes(),
            )],
        )
        .await?;
    tracing::info!(department = %id, by = %caller.0.id, "department changed");
    Ok(Json(department.into()))
}

/// A department's staff: admins, auditors and the department's own lead.
#[utoipa::path(get, path = "/api/v1/departments/{id}/users", tag = "directory",
    params(("id" = String, Path, description = "department id")),
    security(("bearer" = [])),
    responses((status = 200, body = [UserDto]), (status = 401, body = crate::problem::ProblemBody),
        (status = 403, body = crate::problem::ProblemBody), (status = 404, body = crate::problem::ProblemBody)))]
pub async fn list_department_users(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<UserDto>>> {
    let id = parse_department_id(&id)?;
    caller.require(
        caller.0.can_list_staff_of(&id),
        &format!("list the staff of {id}"),
    )?;
    if state.store().department(&id).await?.is_none() {
        return Err(Problem::not_found(format!("department {id} not found")));
    }
    let users = state.store().users(Some(&id)).await?;
    let unmasked = users
        .iter()
        .filter(|user| {
            user.id != caller.0.id
                && user.phone.is_some()
                && caller.0.can_see_personal_data_of(user)
        })
        .count();
    if unmasked > 0 {
        // The read of staff phone numbers is logged before they are shown.
        let leaf = crate::transparency::access_leaf(
            &state,
            &caller.0,
            &format!("department:{id}:staff"),
            &["phone"],
            "staff directory",
        );
        state.store().append_leaves(vec![leaf]).await?;
    }
    Ok(Json(
        users
            .iter()
            .map(|user| UserDto::for_viewer(user, &caller.0))
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    pub username: String,
    pub display_name: String,
    /// citizen, operator, handler, dept_lead, supervisor, auditor, admin.
    pub role: String,
    pub department: Option<String>,
    #[serde(default)]
    pub areas: Vec<String>,
    pub phone: Option<String>,
    /// The legal or 权责清单 basis of this grant, recorded in the
    /// transparency log.
    #[serde(default)]
    pub basis: Option<String>,
    /// At least 10 characters.
    pub password: String,
}

/// Minimum password length for accounts made through the API.
const PASSWORD_CHARS_MIN: usize = 10;

/// Create a user. Admins create any; a department lead creates handlers of
/// its own department.
#[utoipa::path(post, path = "/api/v1/users", tag = "directory", request_body = UserCreate,
    security(("bearer" = [])),
    responses((status = 201, body = UserDto), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody),
        (status = 409, body = crate::problem::ProblemBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<UserCreate>,
) -> ApiResult<(StatusCode, Json<UserDto>)> {
    let (role, department, areas) = requested_grant(
        &caller,
        &request.role,
        request.department.as_deref(),
        &request.areas,
    )?;
    let new_user = NewUser::new(
        &request.username,
        &request.display_name,
        role,
        department,
        areas,
        request.phone.as_deref(),
    )?;
    if request.password.chars().count() < PASSWORD_CHARS_MIN {
        return Err(Problem::invalid(
            "password",
            format!("a password has at least {PASSWORD_CHARS_MIN} characters"),
        ));
    }
    let password = request.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| Problem::internal())??;
    let basis = request
        .basis
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| "granted by an administrator without a stated basis".into());
    let audit = crate::transparency::grant_leaf(
        &state,
        &caller.0,
        new_user.role.as_str(),
        new_user.department.as_ref().map(|d| d.as_str().to_owned()),
        new_user
            .areas
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        basis,
    );
    let user = state.store().create_user(new_user, hash, audit).await?;
    tracing::info!(user = %user.id, role = %user.role, by = %caller.0.id, "user created");
    Ok((
        StatusCode::CREATED,
        Json(UserDto::for_viewer(&user, &caller.0)),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantChange {
    /// citizen, operator, handler, dept_lead, supervisor, auditor, admin.
    pub role: String,
    pub department: Option<String>,
    #[serde(default)]
    pub areas: Vec<String>,
    /// The legal or 权责清单 basis of the change (required: it is published
    /// in the transparency log).
    pub basis: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// Why the access ends (published in the transparency log).
    pub basis: String,
}

/// A requested role and scope, parsed, if the caller may grant it.
fn requested_grant(
    caller: &Caller,
    role: &str,
    department: Option<&str>,
    areas: &[String],
) -> ApiResult<(Role, Option<DepartmentId>, Vec<AreaCode>)> {
    let role = Role::parse(role).map_err(|e| Problem::invalid("role", e.message))?;
    let department = department
        .map(|d| DepartmentId::parse(d).map_err(|e| Problem::invalid("department", e.message)))
        .transpose()?;
    caller.require(
        caller.0.can_create_user(role, department.as_ref()),
        &format!("grant the {role} role here"),
    )?;
    let areas = areas
        .iter()
        .map(|a| AreaCode::canonical(a).map_err(|e| Problem::invalid("areas", e.message)))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok((role, department, areas))
}

/// The user `id`, if the caller may manage its current grant.
async fn managed_user(state: &AppState, caller: &Caller, id: i64) -> ApiResult<User> {
    let user = state
        .store()
        .user(UserId(id))
        .await?
        .ok_or_else(|| Problem::not_found(format!("user {id} not found")))?;
    if user.id == caller.0.id {
        return Err(Problem::forbidden(
            "no one changes or revokes their own grant",
        ));
    }
    caller.require(
        caller
            .0
            .can_create_user(user.role, user.department.as_ref()),
        &format!("manage a {} here", user.role),
    )?;
    Ok(user)
}

fn basis_of(text: &str) -> ApiResult<String> {
    let basis = text.trim();
    if basis.is_empty() {
        return Err(Problem::invalid(
            "basis",
            "state the legal or 权责清单 basis; it is published in the transparency log",
        ));
    }
    Ok(basis.to_owned())
}

/// Change a user's role and scope. The change takes effect at once (also
/// for the user's live tokens) and is a leaf of the transparency log with
/// its basis.
#[utoipa::path(put, path = "/api/v1/users/{id}/grant", tag = "directory", request_body = GrantChange,
    params(("id" = i64, Path, description = "user id")), security(("bearer" = [])),
    responses((status = 200, body = UserDto), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody),
        (status = 404, body = crate::problem::ProblemBody)))]
pub async fn change_grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<GrantChange>,
) -> ApiResult<Json<UserDto>> {
    let user = managed_user(&state, &caller, id).await?;
    let (role, department, areas) = requested_grant(
        &caller,
        &request.role,
        request.department.as_deref(),
        &request.areas,
    )?;
    // The same rules as a new account (a handler needs a department, …).
    NewUser::new(
        &user.username,
        &user.display_name,
        role,
        department.clone(),
        areas.clone(),
        user.phone.as_deref(),
    )?;
    let basis = basis_of(&request.basis)?;
    let leaf = crate::transparency::grant_change_leaf(
        &state,
        &caller.0,
        user.id,
        "change",
        role.as_str(),
        department.as_ref().map(|d| d.as_str().to_owned()),
        areas.iter().map(|a| a.as_str().to_owned()).collect(),
        basis,
    );
    let changed = state
        .store()
        .change_grant(user.id, role, department, areas, vec![leaf])
        .await?;
    tracing::info!(user = %changed.id, role = %changed.role, by = %caller.0.id, "grant changed");
    Ok(Json(UserDto::for_viewer(&changed, &caller.0)))
}

/// Revoke a user's access: log-in and every token stop at once; the
/// revocation is a leaf of the transparency log with its basis.
#[utoipa::path(post, path = "/api/v1/users/{id}/revoke", tag = "directory", request_body = Revocation,
    params(("id" = i64, Path, description = "user id")), security(("bearer" = [])),
    responses((status = 204), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody),
        (status = 404, body = crate::problem::ProblemBody)))]
pub async fn revoke_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<Revocation>,
) -> ApiResult<StatusCode> {
    let user = managed_user(&state, &caller, id).await?;
    let basis = basis_of(&request.basis)?;
    let leaf = crate::transparency::grant_change_leaf(
        &state,
        &caller.0,
        user.id,
        "revoke",
        user.role.as_str(),
        user.department.as_ref().map(|d| d.as_str().to_owned()),
        user.areas.iter().map(|a| a.as_str().to_owned()).collect(),
        basis,
    );
    state
        .store()
        .revoke_user(user.id, state.now(), vec![leaf])
        .await?;
    tracing::info!(user = %user.id, by = %caller.0.id, "access revoked");
    Ok(StatusCode::NO_CONTENT)
}
