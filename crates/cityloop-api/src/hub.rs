//! The data hub's doors (数据中台): the catalogue, imports and their
//! quarantine, sharing under grants with masking, and the citizen's data
//! tracker.
//!
//! Who may do what:
//! * **Catalogue** (datasets, standards, imports' counts and quality): any
//!   staff member — what data exists is not itself personal.
//! * **Import, quarantine** (quarantined lines hold the raw personal data):
//!   the owner department's handlers and leads, and administrators.
//! * **Rows**: the owner department's handlers and leads read their own
//!   data in the clear. Another department reads only through an approved
//!   grant in force for it: only the granted fields, and personal fields
//!   masked (`张*`, `138****1234`, `110***********001X`). Nobody else —
//!   administrators included — reads rows.
//! * **Grants**: a department's handler or lead requests for their own
//!   department; the owner's lead (or an administrator) approves or refuses;
//!   the owner's lead, the grantee's lead or an administrator revokes. An
//!   expired or revoked grant stops working at the next request.
//! * **Access record**: every read of rows with personal fields records,
//!   per person, who read (department, pseudonym), when, for which purpose
//!   and which fields; the read is also a leaf of the transparency log
//!   (subject `hub:<dataset>`, never the persons). A citizen whose account
//!   an administrator bound to their identity number (after real-name
//!   verification) sees those records about them at `/api/v1/me/data-access`.

use crate::AppState;
use crate::auth::Caller;
use crate::problem::{ApiResult, Json, Problem, Query};
use axum::Router;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use chrono::{DateTime, Utc};
use cityloop_domain::{DepartmentId, Role, User, UserId};
use cityloop_hub::{Classification, Library, Mapping};
use cityloop_store::StoreError;
use cityloop_store::hub::{
    DatasetRecord, GRANT_APPROVED, GRANT_REFUSED, GRANT_REQUESTED, GRANT_REVOKED,
    HUB_PAGE_ROWS_MAX, HubAccess, HubGrant, HubImport,
};
use cityloop_transparency::leaf::{Leaf, Record};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use utoipa::{IntoParams, ToSchema};

/// The largest file one import through the API takes (bigger files go
/// through `cityloop import dataset`).
pub const UPLOAD_BYTES_MAX: usize = 256 * 1024 * 1024;
/// The longest a grant may run.
pub const GRANT_DAYS_MAX: i64 = 366;
/// The longest a purpose may be, in characters.
const PURPOSE_CHARS_MAX: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/hub/standards", get(standards))
        .route("/api/v1/hub/datasets", get(datasets))
        .route("/api/v1/hub/datasets/{id}", get(dataset))
        .route(
            "/api/v1/hub/datasets/{id}/imports",
            post(import).layer(axum::extract::DefaultBodyLimit::max(UPLOAD_BYTES_MAX)),
        )
        .route("/api/v1/hub/imports/{id}", get(import_report))
        .route("/api/v1/hub/imports/{id}/quarantine", get(quarantine))
        .route(
            "/api/v1/hub/imports/{id}/quarantine.csv",
            get(quarantine_csv),
        )
        .route("/api/v1/hub/datasets/{id}/rows", get(rows))
        .route("/api/v1/hub/datasets/{id}/grants", post(request_grant))
        .route("/api/v1/hub/grants", get(grants))
        .route("/api/v1/hub/grants/{id}/decision", post(decide_grant))
        .route("/api/v1/hub/grants/{id}/revocation", post(revoke_grant))
        .route("/api/v1/hub/people/{user_id}", put(bind_person))
        .route("/api/v1/me/data-access", get(my_data_access))
}

/// The standards, code tables and areas mappings compile against: bundled
/// with the binary.
pub fn library() -> ApiResult<&'static Library> {
    static LIBRARY: OnceLock<Result<Library, String>> = OnceLock::new();
    LIBRARY
        .get_or_init(|| Library::bundled().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|error| {
            tracing::error!(%error, "the bundled data-hub library does not load");
            Problem::internal()
        })
}

// ---------------------------------------------------------------------------
// DTOs

#[derive(Debug, Serialize, ToSchema)]
pub struct StandardDto {
    pub id: String,
    pub version: String,
    pub name: String,
    pub title_en: String,
    /// Fields with kind, classification, code table, unit, range.
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    pub key: Vec<String>,
    /// Derived fields: statistical definitions stated once.
    #[schema(value_type = Object)]
    pub derived: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportDto {
    pub id: i64,
    pub dataset: String,
    pub mapping: String,
    pub mapping_version: String,
    pub file_name: String,
    pub file_sha256: String,
    /// running (or interrupted: run it again to resume) or done.
    pub status: String,
    pub accepted: u64,
    pub rejected: u64,
    /// The next line to read when unfinished.
    pub next_line: u64,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The earlier import whose quarantine this one fixes.
    pub fixes: Option<i64>,
    /// Completeness, validity and duplicates per field.
    #[schema(value_type = Object)]
    pub quality: Option<serde_json::Value>,
}

impl From<HubImport> for ImportDto {
    fn from(import: HubImport) -> ImportDto {
        ImportDto {
            id: import.id,
            dataset: import.dataset,
            mapping: import.mapping,
            mapping_version: import.mapping_version,
            file_name: import.file_name,
            file_sha256: import.file_sha256,
            status: import.status,
            accepted: import.accepted,
            rejected: import.rejected,
            next_line: import.next_line,
            started_at: import.started_at.to_rfc3339(),
            finished_at: import.finished_at.map(|t| t.to_rfc3339()),
            fixes: import.fixes,
            quality: import
                .quality
                .and_then(|text| serde_json::from_str(&text).ok()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetDto {
    pub id: String,
    pub title: String,
    pub description: String,
    /// The owner department's id and name.
    pub owner: String,
    pub owner_name: String,
    pub standard: String,
    pub standard_version: String,
    pub update_frequency: String,
    /// Name, kind, classification (public, internal, personal,
    /// sensitive_personal), code table, unit of each field.
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    pub rows: u64,
    pub updated_at: String,
    /// Lineage: the imports that produced the rows, newest first (only in
    /// the single-dataset view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imports: Option<Vec<ImportDto>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuarantineDto {
    pub id: i64,
    pub line: u64,
    pub raw: String,
    pub reasons: Vec<String>,
    pub fixed_by: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantDto {
    pub id: i64,
    pub dataset: String,
    pub department: String,
    pub fields: Vec<String>,
    pub purpose: String,
    pub valid_from: String,
    pub valid_until: String,
    /// requested, approved, refused or revoked.
    pub status: String,
    /// Approved and within its period now.
    pub in_force: bool,
    pub requested_at: String,
    pub decided_at: Option<String>,
    pub note: String,
}

fn grant_dto(grant: HubGrant, now: DateTime<Utc>) -> GrantDto {
    GrantDto {
        in_force: in_force(&grant, now),
        id: grant.id,
        dataset: grant.dataset,
        department: grant.department.as_str().to_owned(),
        fields: grant.fields,
        purpose: grant.purpose,
        valid_from: grant.valid_from.to_rfc3339(),
        valid_until: grant.valid_until.to_rfc3339(),
        status: grant.status,
        requested_at: grant.requested_at.to_rfc3339(),
        decided_at: grant.decided_at.map(|t| t.to_rfc3339()),
        note: grant.note,
    }
}

fn in_force(grant: &HubGrant, now: DateTime<Utc>) -> bool {
    grant.status == GRANT_APPROVED && grant.valid_from <= now && now < grant.valid_until
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowsPage {
    pub dataset: String,
    /// The fields returned: all for the owner, the granted ones otherwise.
    pub fields: Vec<String>,
    /// Whether personal fields are masked.
    pub masked: bool,
    /// The grant read under, if any.
    pub grant: Option<i64>,
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Value>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessDto {
    pub at: String,
    pub dataset: String,
    pub dataset_title: String,
    /// The department that read, and its name.
    pub department: Option<String>,
    pub department_name: Option<String>,
    pub purpose: String,
    pub fields: Vec<String>,
}

// ---------------------------------------------------------------------------
// Scope

fn is_department_staff(user: &User) -> bool {
    matches!(user.role, Role::Handler | Role::DeptLead) && user.department.is_some()
}

fn owns(user: &User, dataset: &DatasetRecord) -> bool {
    is_department_staff(user) && user.department.as_ref() == Some(&dataset.owner)
}

async fn find_dataset(state: &AppState, id: &str) -> ApiResult<DatasetRecord> {
    state
        .store()
        .hub()
        .dataset(id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("dataset {id} not found")))
}

fn require_owner_or_admin(caller: &Caller, dataset: &DatasetRecord, action: &str) -> ApiResult<()> {
    if owns(&caller.0, dataset) || caller.0.role == Role::Admin {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "only the owner department ({}) or an administrator may {action}",
            dataset.owner
        )))
    }
}

fn conflict(error: StoreError) -> Problem {
    match error {
        StoreError::Conflict { what } => Problem::conflict(what),
        other => other.into(),
    }
}

// ---------------------------------------------------------------------------
// Catalogue

/// The city standards datasets conform to (staff).
#[utoipa::path(get, path = "/api/v1/hub/standards", tag = "hub",
    responses((status = 200, body = Vec<StandardDto>), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn standards(caller: Caller) -> ApiResult<Json<Vec<StandardDto>>> {
    caller.require(caller.0.role.is_staff(), "read the data catalogue")?;
    let library = library()?;
    Ok(Json(
        library
            .standards()
            .iter()
            .map(|standard| StandardDto {
                id: standard.id.clone(),
                version: standard.version.clone(),
                name: standard.name.clone(),
                title_en: standard.title_en.clone(),
                fields: serde_json::to_value(&standard.fields).unwrap_or_default(),
                key: standard.key.clone(),
                derived: serde_json::to_value(&standard.derived).unwrap_or_default(),
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CatalogueQuery {
    /// Words to find in the id, title, description, owner, standard or
    /// field names (all must match).
    pub q: Option<String>,
}

async fn dataset_dto(
    state: &AppState,
    dataset: DatasetRecord,
    with_imports: bool,
) -> ApiResult<DatasetDto> {
    let hub = state.store().hub();
    let rows = hub.count_hub_rows(&dataset.id).await?;
    let owner_name = state
        .store()
        .department(&dataset.owner)
        .await?
        .map(|d| d.name)
        .unwrap_or_default();
    let imports = if with_imports {
        Some(
            hub.hub_imports(&dataset.id)
                .await?
                .into_iter()
                .map(ImportDto::from)
                .collect(),
        )
    } else {
        None
    };
    Ok(DatasetDto {
        fields: serde_json::from_str(&dataset.fields).unwrap_or_default(),
        id: dataset.id,
        title: dataset.title,
        description: dataset.description,
        owner: dataset.owner.as_str().to_owned(),
        owner_name,
        standard: dataset.standard,
        standard_version: dataset.standard_version,
        update_frequency: dataset.update_frequency,
        rows,
        updated_at: dataset.updated_at.to_rfc3339(),
        imports,
    })
}

/// Search the catalogue (staff).
#[utoipa::path(get, path = "/api/v1/hub/datasets", tag = "hub", params(CatalogueQuery),
    responses((status = 200, body = Vec<DatasetDto>), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn datasets(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<CatalogueQuery>,
) -> ApiResult<Json<Vec<DatasetDto>>> {
    caller.require(caller.0.role.is_staff(), "read the data catalogue")?;
    let words: Vec<String> = query
        .q
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let mut found = Vec::new();
    for dataset in state.store().hub().datasets().await? {
        let haystack = format!(
            "{} {} {} {} {} {}",
            dataset.id,
            dataset.title,
            dataset.description,
            dataset.owner,
            dataset.standard,
            dataset.fields
        )
        .to_lowercase();
        if words.iter().all(|word| haystack.contains(word)) {
            found.push(dataset_dto(&state, dataset, false).await?);
        }
    }
    Ok(Json(found))
}

/// One dataset with its lineage (staff).
#[utoipa::path(get, path = "/api/v1/hub/datasets/{id}", tag = "hub",
    params(("id" = String, Path, description = "dataset id")),
    responses((status = 200, body = DatasetDto), (status = 404, body = crate::problem::ProblemBody)))]
pub async fn dataset(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DatasetDto>> {
    caller.require(caller.0.role.is_staff(), "read the data catalogue")?;
    let dataset = find_dataset(&state, &id).await?;
    Ok(Json(dataset_dto(&state, dataset, true).await?))
}

// ---------------------------------------------------------------------------
// Imports

/// Imports a file into a dataset (the owner department or an
/// administrator): multipart parts `mapping` (the mapping TOML, or the id
/// of a bundled mapping) and `file`; optional `fixes` (the import whose
/// quarantine this file fixes). A new dataset is created, owned by the
/// mapping's department. The same bytes sent again resume an interrupted
/// import. Answers with the import: counts, quality and status.
#[utoipa::path(post, path = "/api/v1/hub/datasets/{id}/imports", tag = "hub",
    params(("id" = String, Path, description = "dataset id")),
    request_body(content_type = "multipart/form-data", description = "`mapping` (TOML or bundled id), `file`, optional `fixes`"),
    responses((status = 201, body = ImportDto), (status = 400, body = crate::problem::ProblemBody),
        (status = 403, body = crate::problem::ProblemBody)))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> ApiResult<(StatusCode, Json<ImportDto>)> {
    caller.require(
        is_department_staff(&caller.0) || caller.0.role == Role::Admin,
        "import data",
    )?;
    let mut mapping_text: Option<String> = None;
    let mut fixes: Option<i64> = None;
    let mut file: Option<(tempfile::TempPath, String)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => return Err(Problem::invalid("body", error.body_text())),
        };
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "mapping" => {
                mapping_text = Some(
                    field
                        .text()
                        .await
                        .map_err(|e| Problem::invalid("mapping", e.body_text()))?,
                )
            }
            "fixes" => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| Problem::invalid("fixes", e.body_text()))?;
                fixes = Some(
                    text.trim()
                        .parse()
                        .map_err(|_| Problem::invalid("fixes", "an import id"))?,
                );
            }
            "file" => {
                let file_name = field.file_name().unwrap_or("upload").to_owned();
                file = Some((save_upload(field).await?, file_name));
            }
            other => {
                return Err(Problem::invalid(
                    other.to_owned(),
                    "unknown part; send mapping, file and optionally fixes",
                ));
            }
        }
    }
    let (path, file_name) = file.ok_or_else(|| Problem::invalid("file", "the file is missing"))?;
    let mapping_text = match (mapping_text, fixes) {
        (Some(text), _) => text,
        // A fix of a quarantine goes through the mapping that import used.
        (None, Some(fixed)) => {
            let (earlier, _) = import_and_dataset(&state, fixed).await?;
            earlier.mapping_text
        }
        (None, None) => return Err(Problem::invalid("mapping", "the mapping is missing")),
    };
    let mapping_text = match cityloop_hub::mapping::bundled(mapping_text.trim()) {
        Some(bundled) => bundled.to_owned(),
        None => mapping_text,
    };
    let mapping = parse_mapping(&mapping_text)?;
    let library = library()?;
    let known = state.store().hub().dataset(&id).await?;
    let owner = match &known {
        Some(dataset) => dataset.clone(),
        None => cityloop_import::dataset::dataset_for(library, &mapping, &id, state.now())
            .map_err(import_problem)?,
    };
    require_owner_or_admin(&caller, &owner, "import into this dataset")?;
    let keys = state.keys().pseudonyms.clone();
    let outcome = cityloop_import::dataset::import_dataset(
        state.store(),
        cityloop_import::dataset::ImportRequest {
            library,
            mapping: &mapping,
            mapping_text: &mapping_text,
            dataset: &id,
            path: &path,
            file_name,
            by: Some(caller.0.id),
            fixes,
            now: state.now(),
            threads: 2,
            stop_after_batches: None,
        },
        pseudonymise(&keys),
        &cityloop_import::Silent,
    )
    .await
    .map_err(import_problem)?;
    let import = state
        .store()
        .hub()
        .hub_import(outcome.import_id)
        .await?
        .ok_or_else(Problem::internal)?;
    Ok((StatusCode::CREATED, Json(import.into())))
}

/// The pseudonyms an import stores: persons and row keys under the log's
/// pseudonym key.
pub fn pseudonymise(
    keys: &cityloop_transparency::Pseudonyms,
) -> cityloop_import::dataset::Pseudonymise {
    let (persons, rows) = (keys.clone(), keys.clone());
    cityloop_import::dataset::Pseudonymise {
        subject: Arc::new(move |identity: &str| persons.person(identity)),
        key: Arc::new(move |dataset: &str, key: &str| rows.row_key(dataset, key)),
    }
}

fn parse_mapping(text: &str) -> ApiResult<Mapping> {
    Mapping::parse(text).map_err(|e| Problem::invalid("mapping", e.to_string()))
}

async fn save_upload(
    mut field: axum::extract::multipart::Field<'_>,
) -> ApiResult<tempfile::TempPath> {
    use std::io::Write;
    let named = tempfile::NamedTempFile::new().map_err(|error| {
        tracing::error!(%error, "cannot create a temporary file for an upload");
        Problem::internal()
    })?;
    let (mut file, path) = named.into_parts();
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => file.write_all(&chunk).map_err(|error| {
                tracing::error!(%error, "cannot write an upload");
                Problem::internal()
            })?,
            Ok(None) => break,
            Err(error) => return Err(Problem::invalid("file", error.body_text())),
        }
    }
    Ok(path)
}

fn import_problem(error: cityloop_import::dataset::DatasetImportError) -> Problem {
    use cityloop_import::dataset::DatasetImportError as E;
    match error {
        E::Invalid { field, message } => Problem::invalid(field, message),
        E::Hub(error) => match error {
            cityloop_hub::HubError::MappingSyntax { .. }
            | cityloop_hub::HubError::Mapping { .. } => {
                Problem::invalid("mapping", error.to_string())
            }
            other => Problem::invalid("file", other.to_string()),
        },
        E::Store(error) => conflict(error),
        E::Io { path, source } => {
            tracing::error!(path = %path.display(), %source, "import io failed");
            Problem::internal()
        }
    }
}

async fn import_and_dataset(state: &AppState, id: i64) -> ApiResult<(HubImport, DatasetRecord)> {
    let import = state
        .store()
        .hub()
        .hub_import(id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("import {id} not found")))?;
    let dataset = find_dataset(state, &import.dataset).await?;
    Ok((import, dataset))
}

/// An import: counts, checkpoint, quality report (staff).
#[utoipa::path(get, path = "/api/v1/hub/imports/{id}", tag = "hub",
    params(("id" = i64, Path, description = "import id")),
    responses((status = 200, body = ImportDto), (status = 404, body = crate::problem::ProblemBody)))]
pub async fn import_report(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<ImportDto>> {
    caller.require(caller.0.role.is_staff(), "read the data catalogue")?;
    let (import, _) = import_and_dataset(&state, id).await?;
    Ok(Json(import.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QuarantineQuery {
    /// Also the lines a later import fixed.
    pub all: Option<bool>,
}

/// The lines an import rejected, each with every reason (the owner
/// department or an administrator: they hold raw personal data).
#[utoipa::path(get, path = "/api/v1/hub/imports/{id}/quarantine", tag = "hub",
    params(("id" = i64, Path, description = "import id"), QuarantineQuery),
    responses((status = 200, body = Vec<QuarantineDto>), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn quarantine(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(query): Query<QuarantineQuery>,
) -> ApiResult<Json<Vec<QuarantineDto>>> {
    let (import, dataset) = import_and_dataset(&state, id).await?;
    require_owner_or_admin(&caller, &dataset, "read quarantined lines")?;
    let rows = state
        .store()
        .hub()
        .quarantine(import.id, !query.all.unwrap_or(false))
        .await?;
    if !rows.is_empty() {
        log_quarantine_read(&state, &caller.0, import.id).await?;
    }
    Ok(Json(
        rows.into_iter()
            .map(|row| QuarantineDto {
                id: row.id,
                line: row.line,
                raw: row.raw,
                reasons: row.reasons,
                fixed_by: row.fixed_by,
            })
            .collect(),
    ))
}

/// Quarantined lines are raw personal data whose person may not be known
/// (a broken identity number): reading them is an `access` log leaf.
async fn log_quarantine_read(state: &AppState, by: &User, import_id: i64) -> ApiResult<()> {
    let leaf = crate::transparency::access_leaf(
        state,
        by,
        &format!("hub-quarantine:{import_id}"),
        &["raw"],
        "数据质检修正 (quarantine review)",
    );
    Ok(state.store().append_leaves(vec![leaf]).await?)
}

/// The unfixed quarantined lines of a CSV import as a file in the
/// department's own format (encoding, delimiter, header) plus `_line` and
/// `_reasons` columns: fix it and import it with `fixes` (the owner
/// department or an administrator; the read is a log leaf).
#[utoipa::path(get, path = "/api/v1/hub/imports/{id}/quarantine.csv", tag = "hub",
    params(("id" = i64, Path, description = "import id")),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 400, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn quarantine_csv(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let (import, dataset) = import_and_dataset(&state, id).await?;
    require_owner_or_admin(&caller, &dataset, "read quarantined lines")?;
    let lines = state.store().hub().quarantine(import.id, true).await?;
    let bytes =
        cityloop_import::dataset::quarantine_file(&import, &lines).map_err(import_problem)?;
    let charset = Mapping::parse(&import.mapping_text)
        .map(|m| match m.source.encoding {
            cityloop_hub::mapping::Encoding::Utf8 => "utf-8",
            cityloop_hub::mapping::Encoding::Gbk => "gbk",
            cityloop_hub::mapping::Encoding::Gb18030 => "gb18030",
        })
        .unwrap_or("utf-8");
    log_quarantine_read(&state, &caller.0, import.id).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                format!("text/csv; charset={charset}"),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"quarantine-{}.csv\"", import.id),
            ),
        ],
        bytes,
    )
        .into_response())
}

// ---------------------------------------------------------------------------
// Reading rows

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RowsQuery {
    /// The `next_after` of the previous page.
    pub after: Option<String>,
    /// Rows per page, at most 1000 (default 100).
    pub limit: Option<u32>,
}

/// Reads a page of a dataset's rows: the owner department in the clear;
/// another department through its approved grant in force — only the
/// granted fields, personal data masked. Every read with personal fields
/// is recorded per person and logged.
#[utoipa::path(get, path = "/api/v1/hub/datasets/{id}/rows", tag = "hub",
    params(("id" = String, Path, description = "dataset id"), RowsQuery),
    responses((status = 200, body = RowsPage), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn rows(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<RowsQuery>,
) -> ApiResult<Json<RowsPage>> {
    let dataset = find_dataset(&state, &id).await?;
    let library = library()?;
    let standard = library.standard(&dataset.standard).ok_or_else(|| {
        tracing::error!(standard = %dataset.standard, "a dataset's standard is not bundled");
        Problem::internal()
    })?;
    let now = state.now();
    let user = &caller.0;
    let (fields, masked, grant): (Vec<String>, bool, Option<HubGrant>) = if owns(user, &dataset) {
        let mut all: Vec<String> = standard.fields.iter().map(|f| f.name.clone()).collect();
        all.extend(standard.derived.iter().map(|d| d.name.clone()));
        (all, false, None)
    } else {
        let Some(department) = user
            .department
            .as_ref()
            .filter(|_| is_department_staff(user))
        else {
            return Err(Problem::forbidden(
                "only department staff read a dataset's rows, through a grant to their department",
            ));
        };
        let grant = state
            .store()
            .hub()
            .grants(Some(&dataset.id), Some(department))
            .await?
            .into_iter()
            .find(|grant| in_force(grant, now))
            .ok_or_else(|| {
                Problem::forbidden(format!(
                    "department {department} has no approved grant in force for dataset {}",
                    dataset.id
                ))
            })?;
        (grant.fields.clone(), true, Some(grant))
    };
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > HUB_PAGE_ROWS_MAX {
        return Err(Problem::invalid(
            "limit",
            format!("1 to {HUB_PAGE_ROWS_MAX} rows per page"),
        ));
    }
    let stored = state
        .store()
        .hub()
        .hub_rows(&dataset.id, query.after.as_deref(), None, limit)
        .await?;
    let next_after = (stored.len() == limit as usize)
        .then(|| stored.last().map(|row| row.row.key.clone()))
        .flatten();
    let personal: Vec<String> = fields
        .iter()
        .filter(|name| {
            standard
                .field(name)
                .is_some_and(|f| f.classification >= Classification::Personal)
        })
        .cloned()
        .collect();
    let mut rows = Vec::with_capacity(stored.len());
    let mut accesses = Vec::new();
    let reader = state.keys().pseudonyms.user(user.id.0);
    let purpose = grant
        .as_ref()
        .map(|g| g.purpose.clone())
        .unwrap_or_else(|| "数据归属部门使用 (owner's own use)".into());
    for row in stored {
        let mut object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&row.row.data).map_err(|error| {
                tracing::error!(%error, "a stored hub row is not a JSON object");
                Problem::internal()
            })?;
        object.retain(|name, _| fields.contains(name));
        if masked {
            cityloop_hub::mask::apply(standard, &mut object, false);
        }
        if let Some(subject) = &row.row.subject
            && !personal.is_empty()
        {
            accesses.push(HubAccess {
                at: now,
                dataset: dataset.id.clone(),
                department: user.department.clone(),
                reader: reader.clone(),
                grant_id: grant.as_ref().map(|g| g.id),
                purpose: purpose.clone(),
                subject: subject.clone(),
                fields: personal.clone(),
            });
        }
        rows.push(serde_json::Value::Object(object));
    }
    if !accesses.is_empty() {
        let personal_refs: Vec<&str> = personal.iter().map(String::as_str).collect();
        let leaf = crate::transparency::access_leaf(
            &state,
            user,
            &format!("hub:{}", dataset.id),
            &personal_refs,
            &purpose,
        );
        state
            .store()
            .hub()
            .record_accesses(accesses, vec![leaf])
            .await?;
    }
    Ok(Json(RowsPage {
        dataset: dataset.id,
        fields,
        masked,
        grant: grant.map(|g| g.id),
        rows,
        next_after,
    }))
}

// ---------------------------------------------------------------------------
// Grants

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// Fields of the dataset (see its catalogue entry).
    pub fields: Vec<String>,
    /// What the data is for; shown to the citizens it is about.
    pub purpose: String,
    /// RFC 3339; default now.
    pub valid_from: Option<String>,
    /// RFC 3339; at most 366 days after `valid_from`.
    pub valid_until: String,
}

fn share_leaf(
    state: &AppState,
    by: &User,
    change: &str,
    grant: &HubGrant,
) -> cityloop_store::LeafInput {
    Leaf::new(
        state.now(),
        Record::Share {
            change: change.to_owned(),
            grant: grant.id,
            dataset: grant.dataset.clone(),
            department: grant.department.as_str().to_owned(),
            fields: grant.fields.clone(),
            purpose: grant.purpose.clone(),
            until: grant.valid_until.to_rfc3339(),
            by: crate::transparency::actor(state, by),
        },
    )
    .input()
}

/// Requests fields of a dataset for the caller's department, for a purpose
/// and a period (a department's handler or lead).
#[utoipa::path(post, path = "/api/v1/hub/datasets/{id}/grants", tag = "hub",
    params(("id" = String, Path, description = "dataset id")),
    request_body = GrantRequest,
    responses((status = 201, body = GrantDto), (status = 400, body = crate::problem::ProblemBody),
        (status = 403, body = crate::problem::ProblemBody)))]
pub async fn request_grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<GrantRequest>,
) -> ApiResult<(StatusCode, Json<GrantDto>)> {
    let user = &caller.0;
    let Some(department) = user
        .department
        .clone()
        .filter(|_| is_department_staff(user))
    else {
        return Err(Problem::forbidden(
            "only a department's handlers and leads request data for their department",
        ));
    };
    let dataset = find_dataset(&state, &id).await?;
    if dataset.owner == department {
        return Err(Problem::invalid(
            "dataset",
            "the owner department reads its own data without a grant",
        ));
    }
    let catalogue: Vec<serde_json::Value> =
        serde_json::from_str(&dataset.fields).unwrap_or_default();
    let known: Vec<&str> = catalogue
        .iter()
        .filter_map(|f| f.get("name").and_then(|n| n.as_str()))
        .collect();
    if request.fields.is_empty() {
        return Err(Problem::invalid("fields", "name at least one field"));
    }
    for (i, field) in request.fields.iter().enumerate() {
        if !known.contains(&field.as_str()) {
            return Err(Problem::invalid(
                format!("fields[{i}]"),
                format!(
                    "dataset {} has no field {field:?}; it has {}",
                    dataset.id,
                    known.join(", ")
                ),
            ));
        }
    }
    let purpose = request.purpose.trim().to_owned();
    if purpose.is_empty() || purpose.chars().count() > PURPOSE_CHARS_MAX {
        return Err(Problem::invalid(
            "purpose",
            format!("state the purpose in 1 to {PURPOSE_CHARS_MAX} characters"),
        ));
    }
    let now = state.now();
    let valid_from = match &request.valid_from {
        Some(text) => crate::cases::parse_instant("valid_from", text)?,
        None => now,
    };
    let valid_until = crate::cases::parse_instant("valid_until", &request.valid_until)?;
    if valid_until <= valid_from || valid_until <= now {
        return Err(Problem::invalid(
            "valid_until",
            "must be after valid_from and in the future",
        ));
    }
    if valid_until - valid_from > chrono::Duration::days(GRANT_DAYS_MAX) {
        return Err(Problem::invalid(
            "valid_until",
            format!("a grant runs at most {GRANT_DAYS_MAX} days"),
        ));
    }
    let mut grant = HubGrant {
        id: 0,
        dataset: dataset.id.clone(),
        department,
        fields: request.fields,
        purpose,
        valid_from,
        valid_until,
        status: GRANT_REQUESTED.into(),
        requested_by: user.id,
        requested_at: now,
        decided_by: None,
        decided_at: None,
        note: String::new(),
    };
    // The leaf names the grant by id, which the store gives: it is written
    // in a second step, with the request itself as its content.
    grant.id = state
        .store()
        .hub()
        .put_grant(grant.clone(), Vec::new())
        .await?;
    state
        .store()
        .append_leaves(vec![share_leaf(&state, user, GRANT_REQUESTED, &grant)])
        .await?;
    Ok((StatusCode::CREATED, Json(grant_dto(grant, now))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GrantsQuery {
    pub dataset: Option<String>,
    /// requested, approved, refused or revoked.
    pub status: Option<String>,
}

/// Grants: a department's staff see those to or from their department;
/// administrators, supervisors and auditors see all.
#[utoipa::path(get, path = "/api/v1/hub/grants", tag = "hub", params(GrantsQuery),
    responses((status = 200, body = Vec<GrantDto>), (status = 403, body = crate::problem::ProblemBody)))]
pub async fn grants(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<GrantsQuery>,
) -> ApiResult<Json<Vec<GrantDto>>> {
    let user = &caller.0;
    let sees_all = matches!(user.role, Role::Admin | Role::Supervisor | Role::Auditor);
    caller.require(sees_all || is_department_staff(user), "read data grants")?;
    let now = state.now();
    let hub = state.store().hub();
    let all = hub.grants(query.dataset.as_deref(), None).await?;
    let mut owned: std::collections::HashMap<String, bool> = Default::default();
    let mut found = Vec::new();
    for grant in all {
        if let Some(status) = &query.status
            && &grant.status != status
        {
            continue;
        }
        let visible = sees_all
            || user.department.as_ref() == Some(&grant.department)
            || match owned.get(&grant.dataset) {
                Some(known) => *known,
                None => {
                    let mine = hub
                        .dataset(&grant.dataset)
                        .await?
                        .is_some_and(|d| Some(&d.owner) == user.department.as_ref());
                    owned.insert(grant.dataset.clone(), mine);
                    mine
                }
            };
        if visible {
            found.push(grant_dto(grant, now));
        }
    }
    Ok(Json(found))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantDecision {
    pub approve: bool,
    /// Why refused, or a condition of the approval.
    pub note: Option<String>,
}

async fn grant_and_dataset(state: &AppState, id: i64) -> ApiResult<(HubGrant, DatasetRecord)> {
    let grant = state
        .store()
        .hub()
        .grant(id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("grant {id} not found")))?;
    let dataset = find_dataset(state, &grant.dataset).await?;
    Ok((grant, dataset))
}

/// Approves or refuses a requested grant (the owner department's lead or an
/// administrator).
#[utoipa::path(post, path = "/api/v1/hub/grants/{id}/decision", tag = "hub",
    params(("id" = i64, Path, description = "grant id")), request_body = GrantDecision,
    responses((status = 200, body = GrantDto), (status = 403, body = crate::problem::ProblemBody),
        (status = 409, body = crate::problem::ProblemBody)))]
pub async fn decide_grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(decision): Json<GrantDecision>,
) -> ApiResult<Json<GrantDto>> {
    let (grant, dataset) = grant_and_dataset(&state, id).await?;
    let user = &caller.0;
    let allowed = user.role == Role::Admin
        || (user.role == Role::DeptLead && user.department.as_ref() == Some(&dataset.owner));
    caller.require(
        allowed,
        "decide on grants of this dataset (the owner's lead decides)",
    )?;
    let to = if decision.approve {
        GRANT_APPROVED
    } else {
        GRANT_REFUSED
    };
    let note = decision.note.unwrap_or_default();
    if !decision.approve && note.trim().is_empty() {
        return Err(Problem::invalid("note", "say why the request is refused"));
    }
    Ok(Json(
        move_grant(&state, user, grant, GRANT_REQUESTED, to, &note).await?,
    ))
}

/// Moves a grant from `from` to `to` with its log leaf; `Conflict` when
/// someone moved it first.
async fn move_grant(
    state: &AppState,
    user: &User,
    grant: HubGrant,
    from: &str,
    to: &str,
    note: &str,
) -> ApiResult<GrantDto> {
    let now = state.now();
    let id = grant.id;
    let moved = HubGrant {
        status: to.into(),
        ..grant
    };
    state
        .store()
        .hub()
        .decide_grant(
            id,
            from,
            to,
            user.id,
            now,
            note,
            vec![share_leaf(state, user, to, &moved)],
        )
        .await
        .map_err(conflict)?;
    let stored = state
        .store()
        .hub()
        .grant(id)
        .await?
        .ok_or_else(Problem::internal)?;
    Ok(grant_dto(stored, now))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRevocation {
    pub note: String,
}

/// Revokes an approved grant at once (the owner's lead, the grantee's lead
/// or an administrator).
#[utoipa::path(post, path = "/api/v1/hub/grants/{id}/revocation", tag = "hub",
    params(("id" = i64, Path, description = "grant id")), request_body = GrantRevocation,
    responses((status = 200, body = GrantDto), (status = 403, body = crate::problem::ProblemBody),
        (status = 409, body = crate::problem::ProblemBody)))]
pub async fn revoke_grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(revocation): Json<GrantRevocation>,
) -> ApiResult<Json<GrantDto>> {
    let (grant, dataset) = grant_and_dataset(&state, id).await?;
    let user = &caller.0;
    let allowed = user.role == Role::Admin
        || (user.role == Role::DeptLead
            && (user.department.as_ref() == Some(&dataset.owner)
                || user.department.as_ref() == Some(&grant.department)));
    caller.require(allowed, "revoke this grant")?;
    if revocation.note.trim().is_empty() {
        return Err(Problem::invalid("note", "say why the grant is revoked"));
    }
    Ok(Json(
        move_grant(
            &state,
            user,
            grant,
            GRANT_APPROVED,
            GRANT_REVOKED,
            &revocation.note,
        )
        .await?,
    ))
}

// ---------------------------------------------------------------------------
// The citizen's tracker

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonBinding {
    /// The citizen's 18-digit identity number, verified in person or by a
    /// real-name service; only its keyed pseudonym is stored.
    pub id_number: String,
}

/// Binds a citizen's account to their identity (administrators, after
/// real-name verification), so they can see who read their data.
#[utoipa::path(put, path = "/api/v1/hub/people/{user_id}", tag = "hub",
    params(("user_id" = i64, Path, description = "the citizen's user id")), request_body = PersonBinding,
    responses((status = 204), (status = 400, body = crate::problem::ProblemBody),
        (status = 403, body = crate::problem::ProblemBody)))]
pub async fn bind_person(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<i64>,
    Json(binding): Json<PersonBinding>,
) -> ApiResult<StatusCode> {
    caller.require(caller.0.role == Role::Admin, "bind a citizen's identity")?;
    cityloop_hub::check::check_id_number(binding.id_number.trim())
        .map_err(|reason| Problem::invalid("id_number", reason))?;
    let citizen = state
        .store()
        .user(UserId(user_id))
        .await?
        .ok_or_else(|| Problem::not_found(format!("user {user_id} not found")))?;
    if citizen.role != Role::Citizen {
        return Err(Problem::invalid(
            "user_id",
            "only a citizen's account is bound",
        ));
    }
    let subject = state.keys().pseudonyms.person(&binding.id_number);
    let leaf = crate::transparency::config_leaf(
        &state,
        &caller.0,
        &format!("identity:{}", state.keys().pseudonyms.user(user_id)),
        "bound",
        subject.as_bytes(),
    );
    state
        .store()
        .hub()
        .bind_person(citizen.id, &subject, vec![leaf])
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who read my personal data, when and for what (a citizen whose account
/// is bound to their identity).
#[utoipa::path(get, path = "/api/v1/me/data-access", tag = "hub",
    responses((status = 200, body = Vec<AccessDto>), (status = 403, body = crate::problem::ProblemBody),
        (status = 404, body = crate::problem::ProblemBody)))]
pub async fn my_data_access(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<AccessDto>>> {
    caller.require(
        caller.0.role == Role::Citizen,
        "use the citizen's data tracker",
    )?;
    let hub = state.store().hub();
    let subject = hub.person_of(caller.0.id).await?.ok_or_else(|| {
        Problem::not_found(
            "your account is not bound to your identity yet; verify it at a service counter",
        )
    })?;
    let mut titles: std::collections::HashMap<String, String> = Default::default();
    let mut names: std::collections::HashMap<DepartmentId, String> = Default::default();
    let mut found = Vec::new();
    for access in hub.accesses_of(&subject).await? {
        if !titles.contains_key(&access.dataset) {
            let title = hub
                .dataset(&access.dataset)
                .await?
                .map(|d| d.title)
                .unwrap_or_default();
            titles.insert(access.dataset.clone(), title);
        }
        let department_name = match &access.department {
            Some(id) => {
                if !names.contains_key(id) {
                    let name = state
                        .store()
                        .department(id)
                        .await?
                        .map(|d| d.name)
                        .unwrap_or_default();
                    names.insert(id.clone(), name);
                }
                names.get(id).cloned()
            }
            None => None,
        };
        found.push(AccessDto {
            at: access.at.to_rfc3339(),
            dataset_title: titles.get(&access.dataset).cloned().unwrap_or_default(),
            dataset: access.dataset,
            department: access.department.map(|d| d.as_str().to_owned()),
            department_name,
            purpose: access.purpose,
            fields: access.fields,
        });
    }
    Ok(Json(found))
}
