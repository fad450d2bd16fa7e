//! The production backend of the cityloop store: a city's PostgreSQL
//! database, shared by every instance of the service.
//!
//! Key design decision: a deadpool pool of tokio-postgres connections, and
//! every [`Store`] method is exactly one transaction on one pooled
//! connection (reads in a read-only `REPEATABLE READ` transaction, so a
//! record and its coverage lists come from one snapshot). The schema is
//! chosen by the connection's `search_path`, never written into the SQL, so
//! tests and tenants can each have their own schema in one database
//! ([`PostgresStore::connect_in_schema`]). Semantics mirror the SQLite
//! backend exactly: batches check their references first to say *which*
//! item is wrong, foreign keys are the backstop, keys compare and sort
//! bytewise (`COLLATE "C"`), and name filters are literal substrings
//! (`strpos`, not `LIKE`). Unlike SQLite, several server processes may write
//! at once: case appends are guarded by the version in the `UPDATE`'s
//! `WHERE` (the row lock makes a racing append see the new version and
//! change nothing), and timers are claimed with `FOR UPDATE SKIP LOCKED`,
//! so concurrent claimers get disjoint sets without waiting on each other.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cityloop_domain::{
    Area, AreaCode, AreaLevel, Category, CategoryKind, CategorySelector, Department, DepartmentId,
    DepartmentKind, NewUser, Responsibility, Role, User, UserId,
};
use cityloop_store::{
    AlarmChange, AlarmOutcome, AlarmRecord, ApiKeyRecord, AreaQuery, AreaRecord, AreaShape,
    Attachments, Audit, AuditFor, Backend, CASE_POINTS_MAX, CASE_WORK_CLEAR, CASE_WORK_RAISE,
    CaseEventRow, CasePoint, CaseQuery, CaseReport, CaseRow, CaseStamp, CategoryQuery,
    DatastreamRecord, Hash, MediaRecord, MediaUpload, ObservationBucket, ObservationRow,
    ObservationScan, ResponsibilityQuery, SequenceInput, Sequencer, StaDoc, Store, StoreError,
    StoreResult, TimerRow, TimerSpec, TokenRecord, VitalSample, WriteSummary, check_history_ids,
    check_sequence_output, page_limit, parse_area_path, path_parts, tile_blob, tile_hashes,
};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use std::time::Duration;
use tokio_postgres::config::Host;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{IsolationLevel, NoTls, Row};

mod hub;

/// Migrations in order; the version is the position, starting at 1.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_city.sql"),
    include_str!("../migrations/0002_cases.sql"),
    include_str!("../migrations/0003_tlog.sql"),
    include_str!("../migrations/0004_user_revocation.sql"),
    include_str!("../migrations/0005_citizens_door.sql"),
    include_str!("../migrations/0006_partial_case_indexes.sql"),
    include_str!("../migrations/0007_perception.sql"),
    include_str!("../migrations/0008_sensorthings.sql"),
    include_str!("../migrations/0009_alarm_case_work.sql"),
    include_str!("../migrations/0010_vital_history.sql"),
    include_str!("../migrations/0011_data_hub.sql"),
    include_str!("../migrations/0012_hub_import_header.sql"),
];

const OBSERVATION_COLUMNS: &str =
    "id, datastream_id, phenomenon_time, result, received_at, feature_id, extra";

fn observation_from_row(row: &Row) -> ObservationRow {
    ObservationRow {
        id: row.get(0),
        datastream: row.get(1),
        phenomenon_time: row.get(2),
        result: row.get(3),
        received_at: row.get(4),
        feature: row.get(5),
        extra: row.get(6),
    }
}

/// Connections in the pool at most.
const POOL_MAX_SIZE: usize = 16;

/// How long connecting to the server may take before we give up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A parameter of a query.
type Param<'a> = &'a (dyn ToSql + Sync);

type Transaction<'a> = deadpool_postgres::Transaction<'a>;

/// The PostgreSQL store: a pool of connections, cheap to clone.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// `host:port/database`, for messages (never the password).
    target: String,
    schema: Option<String>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// The error and its causes on one line: tokio-postgres says only "db
/// error" at the top and keeps the server's message in the source.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn backend_error(error: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(error_chain(&error))
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored {what} does not parse: {error}"))
}

/// `[a-z_][a-z0-9_]{0,62}`, and not PostgreSQL's reserved `pg_` prefix.
fn check_schema_name(schema: &str) -> StoreResult<()> {
    let mut chars = schema.chars();
    let valid = matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && schema.len() <= 63
        && !schema.starts_with("pg_");
    if valid {
        Ok(())
    } else {
        Err(StoreError::Invalid {
            index: 0,
            field: "schema",
            message: format!(
                "schema name {schema:?} must match [a-z_][a-z0-9_]{{0,62}} and not start with pg_"
            ),
        })
    }
}

/// Where a config points, without credentials.
fn describe(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let port = config
                .get_ports()
                .get(index)
                .or_else(|| config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "localhost".to_owned()
    } else {
        hosts.join(",")
    };
    format!("{hosts}/{}", config.get_dbname().unwrap_or(""))
}

impl PostgresStore {
    /// Connects to the database at a `postgres://` URL (or a `key=value`
    /// connection string) and checks the server answers, so a wrong URL
    /// fails now with a clear [`StoreError::Backend`], not on the first
    /// request. Tables live in the connection's default `search_path`.
    /// Migrations are applied by [`Store::migrate`], which the binary calls
    /// on start.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        Self::open(url, None).await
    }

    /// Like [`connect`](Self::connect), but every pooled connection uses
    /// `search_path = <schema>`; the schema is created if missing. The name
    /// must match `[a-z_][a-z0-9_]{0,62}` (else [`StoreError::Invalid`] with
    /// field `schema`).
    pub async fn connect_in_schema(url: &str, schema: &str) -> StoreResult<PostgresStore> {
        check_schema_name(schema)?;
        let store = Self::open(url, Some(schema)).await?;
        let mut client = store.client().await?;
        let transaction = client.transaction().await.map_err(backend_error)?;
        // Two processes creating the same schema at once would otherwise
        // race on pg_namespace's unique index.
        transaction
            .execute(
                "SELECT pg_advisory_xact_lock(hashtext('cityloop.schema'), hashtext($1::TEXT))",
                &[&schema],
            )
            .await
            .map_err(backend_error)?;
        transaction
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .await
            .map_err(|error| {
                StoreError::Backend(format!(
                    "cannot create schema {schema}: {}",
                    error_chain(&error)
                ))
            })?;
        transaction.commit().await.map_err(backend_error)?;
        Ok(store)
    }

    /// The schema set by [`connect_in_schema`](Self::connect_in_schema), if
    /// any.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    async fn open(url: &str, schema: Option<&str>) -> StoreResult<PostgresStore> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|error| {
            StoreError::Backend(format!("invalid PostgreSQL URL: {}", error_chain(&error)))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("cityloop");
        }
        if let Some(schema) = schema {
            let option = format!("-c search_path={schema}");
            let options = match config.get_options() {
                Some(existing) if !existing.trim().is_empty() => format!("{existing} {option}"),
                _ => option,
            };
            config.options(options);
        }
        let target = describe(&config);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_MAX_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|error| {
                StoreError::Backend(format!("cannot build the PostgreSQL pool: {error}"))
            })?;
        let store = PostgresStore {
            pool,
            target,
            schema: schema.map(str::to_owned),
        };
        let client = store.pool.get().await.map_err(|error| {
            StoreError::Backend(format!(
                "cannot reach PostgreSQL at {}: {}",
                store.target,
                error_chain(&error)
            ))
        })?;
        client.simple_query("SELECT 1").await.map_err(|error| {
            StoreError::Backend(format!(
                "PostgreSQL at {} does not answer: {}",
                store.target,
                error_chain(&error)
            ))
        })?;
        Ok(store)
    }

    async fn client(&self) -> StoreResult<Object> {
        self.pool.get().await.map_err(|error| {
            StoreError::Backend(format!(
                "no connection to PostgreSQL at {}: {}",
                self.target,
                error_chain(&error)
            ))
        })
    }
}

/// Starts the transaction of a read: one consistent snapshot.
async fn begin_read(client: &mut Object) -> StoreResult<Transaction<'_>> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(backend_error)
}

/// Starts the transaction of a write; dropping it uncommitted rolls back.
async fn begin_write(client: &mut Object) -> StoreResult<Transaction<'_>> {
    client.transaction().await.map_err(backend_error)
}

async fn commit(transaction: Transaction<'_>) -> StoreResult<()> {
    transaction.commit().await.map_err(backend_error)
}

async fn query(
    transaction: &Transaction<'_>,
    sql: &str,
    params: &[Param<'_>],
) -> StoreResult<Vec<Row>> {
    let statement = transaction
        .prepare_cached(sql)
        .await
        .map_err(backend_error)?;
    transaction
        .query(&statement, params)
        .await
        .map_err(backend_error)
}

async fn query_opt(
    transaction: &Transaction<'_>,
    sql: &str,
    params: &[Param<'_>],
) -> StoreResult<Option<Row>> {
    let statement = transaction
        .prepare_cached(sql)
        .await
        .map_err(backend_error)?;
    transaction
        .query_opt(&statement, params)
        .await
        .map_err(backend_error)
}

async fn query_one(
    transaction: &Transaction<'_>,
    sql: &str,
    params: &[Param<'_>],
) -> StoreResult<Row> {
    let statement = transaction
        .prepare_cached(sql)
        .await
        .map_err(backend_error)?;
    transaction
        .query_one(&statement, params)
        .await
        .map_err(backend_error)
}

async fn execute(
    transaction: &Transaction<'_>,
    sql: &str,
    params: &[Param<'_>],
) -> StoreResult<u64> {
    let statement = transaction
        .prepare_cached(sql)
        .await
        .map_err(backend_error)?;
    transaction
        .execute(&statement, params)
        .await
        .map_err(backend_error)
}

async fn exists(transaction: &Transaction<'_>, sql: &str, key: &str) -> StoreResult<bool> {
    Ok(query_opt(transaction, sql, &[&key]).await?.is_some())
}

fn column<'a, T: FromSql<'a>>(row: &'a Row, index: usize) -> StoreResult<T> {
    row.try_get(index).map_err(backend_error)
}

fn count(row: &Row) -> StoreResult<u64> {
    let value: i64 = column(row, 0)?;
    u64::try_from(value).map_err(|e| corrupt("count", e))
}

async fn area_level_of(
    transaction: &Transaction<'_>,
    code: &AreaCode,
) -> StoreResult<Option<AreaLevel>> {
    let Some(row) = query_opt(
        transaction,
        "SELECT level FROM areas WHERE code = $1",
        &[&code.as_str()],
    )
    .await?
    else {
        return Ok(None);
    };
    let level: String = column(&row, 0)?;
    AreaLevel::parse(&level)
        .map(Some)
        .map_err(|e| corrupt("area level", e))
}

/// The WHERE clause of an area query and its text parameters `$1..`.
fn area_where(query: &AreaQuery) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    if let Some(parent) = &query.parent {
        values.push(parent.as_str().to_owned());
        clauses.push(format!("a.parent_code = ${}", values.len()));
    }
    if let Some(level) = query.level {
        values.push(level.as_str().to_owned());
        clauses.push(format!("a.level = ${}", values.len()));
    }
    if let Some(name) = &query.name_contains {
        values.push(name.clone());
        clauses.push(format!("strpos(a.name, ${}) > 0", values.len()));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (sql, values)
}

const AREA_COLUMNS: &str = "a.code, a.name, a.level, a.parent_code, a.shape IS NOT NULL,
     (SELECT count(*) FROM areas c WHERE c.parent_code = a.code)";

fn to_area_record(row: &Row) -> StoreResult<AreaRecord> {
    let code: String = column(row, 0)?;
    let name: String = column(row, 1)?;
    let level: String = column(row, 2)?;
    let parent: Option<String> = column(row, 3)?;
    let has_shape: bool = column(row, 4)?;
    let children: i64 = column(row, 5)?;
    let code = AreaCode::parse(&code).map_err(|e| corrupt("area code", e))?;
    let level = AreaLevel::parse(&level).map_err(|e| corrupt("area level", e))?;
    let parent = parent
        .map(|p| AreaCode::parse(&p))
        .transpose()
        .map_err(|e| corrupt("area parent", e))?;
    let area = Area::new(code, &name, level, parent).map_err(|e| corrupt("area", e))?;
    Ok(AreaRecord {
        area,
        has_shape,
        children: u32::try_from(children).map_err(|e| corrupt("child count", e))?,
    })
}

/// The WHERE clause of a category query and its text parameters `$1..`.
fn category_where(query: &CategoryQuery) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    if let Some(kind) = query.kind {
        values.push(kind.as_str().to_owned());
        clauses.push(format!("kind = ${}", values.len()));
    }
    if let Some(class) = &query.class_code {
        values.push(class.clone());
        clauses.push(format!("class_code = ${}", values.len()));
    }
    if let Some(name) = &query.name_contains {
        values.push(name.clone());
        clauses.push(format!("strpos(name, ${}) > 0", values.len()));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (sql, values)
}

const CATEGORY_COLUMNS: &str = "kind, code, class_code, class_name, name, standard";

fn to_category(row: &Row) -> StoreResult<Category> {
    let kind: String = column(row, 0)?;
    let code: String = column(row, 1)?;
    let class_code: String = column(row, 2)?;
    let class_name: String = column(row, 3)?;
    let name: String = column(row, 4)?;
    let standard: String = column(row, 5)?;
    let kind = CategoryKind::parse(&kind).map_err(|e| corrupt("category kind", e))?;
    Category::new(kind, &code, &class_code, &class_name, &name, &standard)
        .map_err(|e| corrupt("category", e))
}

/// A department with its coverage, sorted by area code.
const DEPARTMENT_COLUMNS: &str = "d.id, d.name, d.kind, d.phone,
     ARRAY(SELECT da.area_code FROM department_areas da
           WHERE da.department_id = d.id ORDER BY da.area_code)";

fn to_department(row: &Row) -> StoreResult<Department> {
    let id: String = column(row, 0)?;
    let name: String = column(row, 1)?;
    let kind: String = column(row, 2)?;
    let phone: Option<String> = column(row, 3)?;
    let areas: Vec<String> = column(row, 4)?;
    let areas = areas
        .iter()
        .map(|code| AreaCode::parse(code).map_err(|e| corrupt("department area", e)))
        .collect::<StoreResult<Vec<_>>>()?;
    Department::new(
        DepartmentId::parse(&id).map_err(|e| corrupt("department id", e))?,
        &name,
        DepartmentKind::parse(&kind).map_err(|e| corrupt("department kind", e))?,
        areas,
        phone.as_deref(),
    )
    .map_err(|e| corrupt("department", e))
}

const RESPONSIBILITY_COLUMNS: &str = "r.category, r.area_code, r.department_id, r.basis";

fn to_responsibility(row: &Row) -> StoreResult<Responsibility> {
    let category: String = column(row, 0)?;
    let area: String = column(row, 1)?;
    let department: String = column(row, 2)?;
    Ok(Responsibility {
        category: CategorySelector::parse(&category).map_err(|e| corrupt("selector", e))?,
        area: AreaCode::parse(&area).map_err(|e| corrupt("responsibility area", e))?,
        department: DepartmentId::parse(&department).map_err(|e| corrupt("department", e))?,
        basis: column(row, 3)?,
    })
}

/// A user with their areas, sorted by area code; the password hash, when
/// selected, follows as column 7.
const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.role, u.department_id, u.phone,
     ARRAY(SELECT ua.area_code FROM user_areas ua WHERE ua.user_id = u.id ORDER BY ua.area_code)";

fn to_user(row: &Row) -> StoreResult<User> {
    let id: i64 = column(row, 0)?;
    let role: String = column(row, 3)?;
    let department: Option<String> = column(row, 4)?;
    let areas: Vec<String> = column(row, 6)?;
    Ok(User {
        id: UserId(id),
        username: column(row, 1)?,
        display_name: column(row, 2)?,
        role: Role::parse(&role).map_err(|e| corrupt("role", e))?,
        department: department
            .map(|d| DepartmentId::parse(&d))
            .transpose()
            .map_err(|e| corrupt("user department", e))?,
        areas: areas
            .iter()
            .map(|code| AreaCode::parse(code).map_err(|e| corrupt("user area", e)))
            .collect::<StoreResult<Vec<_>>>()?,
        phone: column(row, 5)?,
    })
}

/// Text parameters followed by LIMIT and OFFSET, as one parameter list.
fn paged<'a>(values: &'a [String], limit: &'a i64, offset: &'a i64) -> Vec<Param<'a>> {
    let mut params: Vec<Param<'a>> = values.iter().map(|v| v as Param<'a>).collect();
    params.push(limit);
    params.push(offset);
    params
}

fn texts(values: &[String]) -> Vec<Param<'_>> {
    values.iter().map(|v| v as Param<'_>).collect()
}

// --- cases -----------------------------------------------------------------

/// A parameter of a query built at run time, owned.
type OwnedParam = Box<dyn ToSql + Sync + Send>;

fn params_of(values: &[OwnedParam]) -> Vec<Param<'_>> {
    values.iter().map(|v| &**v as Param<'_>).collect()
}

/// `'/310000/310107/'`: every code followed by a slash, so "within an area"
/// is a substring test that cannot match a longer code.
fn path_text(path: &[AreaCode]) -> String {
    let mut text = String::from("/");
    for code in path {
        text.push_str(code.as_str());
        text.push('/');
    }
    text
}

fn to_u64(what: &str, value: i64) -> StoreResult<u64> {
    u64::try_from(value).map_err(|e| corrupt(what, e))
}

fn to_i64(field: &'static str, value: u64) -> StoreResult<i64> {
    i64::try_from(value).map_err(|_| StoreError::Invalid {
        index: 0,
        field,
        message: format!("{value} is out of range"),
    })
}

/// A case with its units, sorted by department id.
const CASE_COLUMNS: &str = "c.id, c.channel, c.category, c.urgency, c.status, c.open,
     c.lead_department, c.area_path, c.lon, c.lat, c.address, c.description, c.reporter,
     c.reporter_contact, c.parent, c.created_at, c.updated_at, c.version, c.due_at, c.warn_at,
     c.near_boundary, c.routed_department,
     ARRAY(SELECT u.department_id FROM case_units u
           WHERE u.case_id = c.id ORDER BY u.department_id)";

fn to_case(row: &Row) -> StoreResult<CaseRow> {
    let lead: Option<String> = column(row, 6)?;
    let path: String = column(row, 7)?;
    let routed: Option<String> = column(row, 21)?;
    let units: Vec<String> = column(row, 22)?;
    let version: i64 = column(row, 17)?;
    Ok(CaseRow {
        id: column(row, 0)?,
        channel: column(row, 1)?,
        category: column(row, 2)?,
        urgency: column(row, 3)?,
        status: column(row, 4)?,
        open: column(row, 5)?,
        lead_department: lead
            .map(|d| DepartmentId::parse(&d))
            .transpose()
            .map_err(|e| corrupt("case lead", e))?,
        units: units
            .iter()
            .map(|d| DepartmentId::parse(d).map_err(|e| corrupt("case unit", e)))
            .collect::<StoreResult<Vec<_>>>()?,
        area_path: parse_area_path("case area", &path)?,
        lon: column(row, 8)?,
        lat: column(row, 9)?,
        address: column(row, 10)?,
        description: column(row, 11)?,
        reporter: column::<Option<i64>>(row, 12)?.map(UserId),
        reporter_contact: column(row, 13)?,
        parent: column(row, 14)?,
        created_at: column(row, 15)?,
        updated_at: column(row, 16)?,
        version: to_u64("case version", version)?,
        due_at: column(row, 18)?,
        warn_at: column(row, 19)?,
        near_boundary: column(row, 20)?,
        routed_department: routed
            .map(|d| DepartmentId::parse(&d))
            .transpose()
            .map_err(|e| corrupt("case routed department", e))?,
    })
}

fn to_stamp(row: &Row) -> StoreResult<CaseStamp> {
    let version: i64 = column(row, 1)?;
    let path: String = column(row, 3)?;
    Ok(CaseStamp {
        id: column(row, 0)?,
        version: to_u64("case version", version)?,
        created_at: column(row, 2)?,
        area_path: parse_area_path("case area", &path)?,
    })
}

const EVENT_COLUMNS: &str =
    "case_id, seq, at, kind, actor_user, actor_role, actor_department, payload";

fn to_event(row: &Row) -> StoreResult<CaseEventRow> {
    let seq: i64 = column(row, 1)?;
    Ok(CaseEventRow {
        case_id: column(row, 0)?,
        seq: to_u64("event seq", seq)?,
        at: column(row, 2)?,
        kind: column(row, 3)?,
        actor_user: column::<Option<i64>>(row, 4)?.map(UserId),
        actor_role: column(row, 5)?,
        actor_department: column(row, 6)?,
        payload: column(row, 7)?,
    })
}

const TIMER_COLUMNS: &str = "id, case_id, stage, kind, due_at";

fn to_timer(row: &Row) -> StoreResult<TimerRow> {
    Ok(TimerRow {
        id: column(row, 0)?,
        case_id: column(row, 1)?,
        stage: column(row, 2)?,
        kind: column(row, 3)?,
        due_at: column(row, 4)?,
    })
}

/// The values of a case's summary columns, `$1..$22` in [`CASE_INSERT`] and
/// [`CASE_UPDATE`] order.
fn case_values(case: &CaseRow) -> StoreResult<Vec<OwnedParam>> {
    Ok(vec![
        Box::new(case.id),
        Box::new(case.channel.clone()),
        Box::new(case.category.clone()),
        Box::new(case.urgency.clone()),
        Box::new(case.status.clone()),
        Box::new(case.open),
        Box::new(case.lead_department.as_ref().map(|d| d.as_str().to_owned())),
        Box::new(path_text(&case.area_path)),
        Box::new(case.lon),
        Box::new(case.lat),
        Box::new(case.address.clone()),
        Box::new(case.description.clone()),
        Box::new(case.reporter.map(|u| u.0)),
        Box::new(case.reporter_contact.clone()),
        Box::new(case.parent),
        Box::new(case.created_at),
        Box::new(case.updated_at),
        Box::new(to_i64("version", case.version)?),
        Box::new(case.due_at),
        Box::new(case.warn_at),
        Box::new(case.near_boundary),
        Box::new(
            case.routed_department
                .as_ref()
                .map(|d| d.as_str().to_owned()),
        ),
    ])
}

const CASE_INSERT: &str = "INSERT INTO cases (id, channel, category, urgency, status, open,
    lead_department, area_path, lon, lat, address, description, reporter, reporter_contact,
    parent, created_at, updated_at, version, due_at, warn_at, near_boundary, routed_department)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
    $19, $20, $21, $22)";

const CASE_UPDATE: &str = "UPDATE cases SET channel = $2, category = $3, urgency = $4,
    status = $5, open = $6, lead_department = $7, area_path = $8, lon = $9, lat = $10,
    address = $11, description = $12, reporter = $13, reporter_contact = $14, parent = $15,
    created_at = $16, updated_at = $17, version = $18, due_at = $19, warn_at = $20,
    near_boundary = $21, routed_department = $22
    WHERE id = $1 AND version = $23";

async fn write_case_units(transaction: &Transaction<'_>, case: &CaseRow) -> StoreResult<()> {
    execute(
        transaction,
        "DELETE FROM case_units WHERE case_id = $1",
        &[&case.id],
    )
    .await?;
    for unit in &case.units {
        execute(
            transaction,
            "INSERT INTO case_units (case_id, department_id) VALUES ($1, $2)",
            &[&case.id, &unit.as_str()],
        )
        .await?;
    }
    Ok(())
}

/// Appends events; a sequence number already taken is a `Conflict`, since
/// history is never rewritten.
async fn write_events(transaction: &Transaction<'_>, events: &[CaseEventRow]) -> StoreResult<()> {
    let statement = transaction
        .prepare_cached(
            "INSERT INTO case_events (case_id, seq, at, kind, actor_user, actor_role,
                 actor_department, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await
        .map_err(backend_error)?;
    for event in events {
        let seq = to_i64("seq", event.seq)?;
        transaction
            .execute(
                &statement,
                &[
                    &event.case_id,
                    &seq,
                    &event.at,
                    &event.kind,
                    &event.actor_user.map(|u| u.0),
                    &event.actor_role,
                    &event.actor_department,
                    &event.payload,
                ],
            )
            .await
            .map_err(|error| {
                if error.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                    StoreError::Conflict {
                        what: format!("event {} of case {}", event.seq, event.case_id),
                    }
                } else {
                    backend_error(error)
                }
            })?;
    }
    Ok(())
}

/// Makes the case's unfired timers equal `timers`, keeping the rows that
/// stay the same (so a claim on them stays valid) and replacing the rest;
/// fired ones stay as a record.
async fn write_timers(
    transaction: &Transaction<'_>,
    case_id: i64,
    timers: &[TimerSpec],
) -> StoreResult<()> {
    let rows = query(
        transaction,
        "SELECT id, stage, kind, due_at FROM timers WHERE case_id = $1 AND fired_at IS NULL",
        &[&case_id],
    )
    .await?;
    let existing: Vec<(i64, TimerSpec)> = rows
        .iter()
        .map(|row| {
            (
                row.get::<_, i64>(0),
                TimerSpec {
                    stage: row.get(1),
                    kind: row.get(2),
                    due_at: row.get(3),
                },
            )
        })
        .collect();
    let (stale, missing) = cityloop_store::timer_changes(existing, timers);
    for id in stale {
        execute(transaction, "DELETE FROM timers WHERE id = $1", &[&id]).await?;
    }
    for timer in missing {
        execute(
            transaction,
            "INSERT INTO timers (case_id, stage, kind, due_at) VALUES ($1, $2, $3, $4)",
            &[&case_id, &timer.stage, &timer.kind, &timer.due_at],
        )
        .await?;
    }
    Ok(())
}

const DATASTREAM_COLUMNS: &str =
    "id, name, thing, property, unit, period_minutes, lon, lat, area_path, created_at, last_at";

fn datastream_from_row(row: &Row) -> StoreResult<DatastreamRecord> {
    let path: String = row.get(8);
    let period: i32 = row.get(5);
    Ok(DatastreamRecord {
        id: row.get(0),
        name: row.get(1),
        thing: row.get(2),
        property: row.get(3),
        unit: row.get(4),
        period_minutes: u32::try_from(period)
            .map_err(|e| StoreError::Backend(format!("stored datastream period: {e}")))?,
        lon: row.get(6),
        lat: row.get(7),
        area_path: parse_area_path("datastream area", &path)?,
        created_at: row.get(9),
        last_at: row.get(10),
    })
}

const ALARM_COLUMN_COUNT: usize = 11;
const ALARM_COLUMNS: &str = "id, rule_id, datastream_id, severity, reason, raised_at,
    acknowledged_at, acknowledged_by, cleared_at, clear_reason, case_id";

fn alarm_from_row(row: &Row) -> AlarmRecord {
    AlarmRecord {
        id: row.get(0),
        rule: row.get(1),
        datastream: row.get(2),
        severity: row.get(3),
        reason: row.get(4),
        raised_at: row.get(5),
        acknowledged_at: row.get(6),
        acknowledged_by: row.get::<_, Option<i64>>(7).map(UserId),
        cleared_at: row.get(8),
        clear_reason: row.get(9),
        case_id: row.get(10),
    }
}

/// Why an alarm update changed nothing: `NotFound`, or `Conflict` when the
/// alarm exists but the `what` was done already.
async fn alarm_missing_or(
    transaction: &Transaction<'_>,
    id: i64,
    what: &str,
) -> StoreResult<StoreError> {
    Ok(
        if query_opt(transaction, "SELECT 1 FROM alarms WHERE id = $1", &[&id])
            .await?
            .is_some()
        {
            StoreError::Conflict {
                what: format!("the {what} of alarm {id}"),
            }
        } else {
            StoreError::NotFound {
                what: format!("alarm {id}"),
            }
        },
    )
}

const MEDIA_COLUMNS: &str = "id, case_id, content_type, sha256, size, public, created_at";

fn media_from_row(row: &Row) -> StoreResult<MediaRecord> {
    let size: i64 = row.get(4);
    Ok(MediaRecord {
        id: row.get(0),
        case_id: row.get(1),
        content_type: row.get(2),
        sha256: row.get(3),
        size: u64::try_from(size)
            .map_err(|e| StoreError::Backend(format!("stored media size does not parse: {e}")))?,
        public: row.get(5),
        created_at: row.get(6),
    })
}

async fn write_media(transaction: &Transaction<'_>, upload: &MediaUpload) -> StoreResult<()> {
    let record = &upload.record;
    let size = record.size as i64;
    let inserted = execute(
        transaction,
        "INSERT INTO media (id, case_id, content_type, sha256, size, public, created_at, bytes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
        &[
            &record.id,
            &record.case_id,
            &record.content_type,
            &record.sha256,
            &size,
            &record.public,
            &record.created_at,
            &upload.bytes,
        ],
    )
    .await?;
    if inserted == 0 {
        return Err(StoreError::Conflict {
            what: format!("media {}", record.id),
        });
    }
    Ok(())
}

async fn write_attachments(
    transaction: &Transaction<'_>,
    case_id: i64,
    attachments: &Attachments,
) -> StoreResult<()> {
    if let Some(report) = &attachments.report {
        if let Some(token) = &report.token
            && query_opt(
                transaction,
                "SELECT 1 FROM case_reports WHERE token = $1",
                &[token],
            )
            .await?
            .is_some()
        {
            return Err(StoreError::Conflict {
                what: format!("the token of case {case_id}"),
            });
        }
        execute(
            transaction,
            "INSERT INTO case_reports (case_id, attributes, client, token) VALUES ($1, $2, $3, $4)",
            &[&case_id, &report.attributes, &report.client, &report.token],
        )
        .await?;
    }
    for upload in &attachments.media {
        if upload.record.case_id != case_id {
            return Err(StoreError::Backend(format!(
                "media {} belongs to case {}, not {case_id}",
                upload.record.id, upload.record.case_id
            )));
        }
        write_media(transaction, upload).await?;
    }
    Ok(())
}

/// The WHERE clause of a case query (table alias `c`) and its parameters
/// `$1..`.
fn case_where(query: &CaseQuery) -> (String, Vec<OwnedParam>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut values: Vec<OwnedParam> = Vec::new();
    let mut push = |clause: &str, value: OwnedParam, values: &mut Vec<OwnedParam>| {
        values.push(value);
        clauses.push(clause.replace('?', &format!("${}", values.len())));
    };
    if !query.statuses.is_empty() {
        push(
            "c.status = ANY(?::TEXT[])",
            Box::new(query.statuses.clone()),
            &mut values,
        );
    }
    if query.open_only {
        push("c.open = ?", Box::new(true), &mut values);
    }
    if let Some(unit) = &query.unit {
        push(
            "c.id IN (SELECT case_id FROM case_units WHERE department_id = ?::TEXT)",
            Box::new(unit.as_str().to_owned()),
            &mut values,
        );
    }
    if let Some(lead) = &query.lead {
        push(
            "c.lead_department = ?::TEXT",
            Box::new(lead.as_str().to_owned()),
            &mut values,
        );
    }
    if !query.within.is_empty() {
        let codes: Vec<String> = query.within.iter().map(|a| a.as_str().to_owned()).collect();
        push(
            "EXISTS (SELECT 1 FROM unnest(?::TEXT[]) AS w (code)
                     WHERE strpos(c.area_path, '/' || w.code || '/') > 0)",
            Box::new(codes),
            &mut values,
        );
    }
    if !query.categories.is_empty() {
        push(
            "c.category = ANY(?::TEXT[])",
            Box::new(query.categories.clone()),
            &mut values,
        );
    }
    if let Some(reporter) = query.reporter {
        push("c.reporter = ?::BIGINT", Box::new(reporter.0), &mut values);
    }
    if let Some(from) = query.created_from {
        push(
            "c.created_at >= ?::TIMESTAMPTZ",
            Box::new(from),
            &mut values,
        );
    }
    if let Some(to) = query.created_to {
        push("c.created_at < ?::TIMESTAMPTZ", Box::new(to), &mut values);
    }
    if let Some(from) = query.updated_from {
        push(
            "c.updated_at >= ?::TIMESTAMPTZ",
            Box::new(from),
            &mut values,
        );
    }
    if let Some(to) = query.updated_to {
        push("c.updated_at < ?::TIMESTAMPTZ", Box::new(to), &mut values);
    }
    if query.closed_only {
        push("c.open = ?", Box::new(false), &mut values);
    }
    if let Some(by) = query.due_by {
        push("c.due_at <= ?::TIMESTAMPTZ", Box::new(by), &mut values);
    }
    if !query.channels.is_empty() {
        push(
            "c.channel = ANY(?::TEXT[])",
            Box::new(query.channels.clone()),
            &mut values,
        );
    }
    if let Some([min_lon, min_lat, max_lon, max_lat]) = query.bbox {
        push("c.lon >= ?::FLOAT8", Box::new(min_lon), &mut values);
        push("c.lon <= ?::FLOAT8", Box::new(max_lon), &mut values);
        push("c.lat >= ?::FLOAT8", Box::new(min_lat), &mut values);
        push("c.lat <= ?::FLOAT8", Box::new(max_lat), &mut values);
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (sql, values)
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn hub(&self) -> &dyn cityloop_store::hub::HubStore {
        self
    }

    async fn migrate(&self) -> StoreResult<Vec<u32>> {
        let mut client = self.client().await?;
        let mut applied = Vec::new();
        for (index, sql) in MIGRATIONS.iter().enumerate() {
            let version = index as u32 + 1;
            let transaction = begin_write(&mut client).await?;
            // Serialises migrations of this schema across processes; the
            // lock ends with the transaction.
            transaction
                .execute(
                    "SELECT pg_advisory_xact_lock(hashtext('cityloop.migrate'),
                                                  hashtext(coalesce(current_schema(), '')))",
                    &[],
                )
                .await
                .map_err(backend_error)?;
            transaction
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (
                        version    INTEGER PRIMARY KEY,
                        applied_at TIMESTAMPTZ NOT NULL)",
                )
                .await
                .map_err(backend_error)?;
            let done = transaction
                .query_opt(
                    "SELECT 1 FROM schema_migrations WHERE version = $1",
                    &[&(version as i32)],
                )
                .await
                .map_err(backend_error)?
                .is_some();
            if done {
                continue;
            }
            transaction.batch_execute(sql).await.map_err(|error| {
                StoreError::Backend(format!(
                    "migration {version} failed: {}",
                    error_chain(&error)
                ))
            })?;
            transaction
                .execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    &[&(version as i32), &Utc::now()],
                )
                .await
                .map_err(backend_error)?;
            commit(transaction).await?;
            applied.push(version);
        }
        Ok(applied)
    }

    async fn schema_version(&self) -> StoreResult<u32> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        // Only the current schema counts, not another one on the path.
        let table = transaction
            .query_one(
                "SELECT to_regclass(quote_ident(current_schema()) || '.schema_migrations')
                        IS NOT NULL",
                &[],
            )
            .await
            .map_err(backend_error)?;
        if !column::<bool>(&table, 0)? {
            commit(transaction).await?;
            return Ok(0);
        }
        // Not cached: the table may come and go under this connection.
        let row = transaction
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .await
            .map_err(backend_error)?;
        commit(transaction).await?;
        let version: i32 = column(&row, 0)?;
        u32::try_from(version).map_err(|e| corrupt("schema version", e))
    }

    async fn upsert_areas(&self, areas: Vec<Area>) -> StoreResult<WriteSummary> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let mut summary = WriteSummary::default();
        for (index, area) in areas.iter().enumerate() {
            if let Some(parent) = &area.parent {
                let Some(parent_level) = area_level_of(&transaction, parent).await? else {
                    return Err(StoreError::Invalid {
                        index,
                        field: "parent_code",
                        message: format!("parent area {parent} does not exist"),
                    });
                };
                area.check_parent_level(parent_level)
                    .map_err(|e| StoreError::Invalid {
                        index,
                        field: e.field,
                        message: e.message,
                    })?;
            }
            let existed = area_level_of(&transaction, &area.code).await?.is_some();
            execute(
                &transaction,
                "INSERT INTO areas (code, name, level, parent_code) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (code) DO UPDATE SET
                   name = excluded.name, level = excluded.level,
                   parent_code = excluded.parent_code",
                &[
                    &area.code.as_str(),
                    &area.name,
                    &area.level.as_str(),
                    &area.parent.as_ref().map(AreaCode::as_str),
                ],
            )
            .await?;
            if existed {
                summary.updated += 1;
            } else {
                summary.inserted += 1;
            }
        }
        commit(transaction).await?;
        Ok(summary)
    }

    async fn set_area_shapes(&self, shapes: Vec<(AreaCode, String)>) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        for (index, (code, geojson)) in shapes.iter().enumerate() {
            let changed = execute(
                &transaction,
                "UPDATE areas SET shape = $2 WHERE code = $1",
                &[&code.as_str(), geojson],
            )
            .await?;
            if changed == 0 {
                return Err(StoreError::Invalid {
                    index,
                    field: "code",
                    message: format!("area {code} does not exist"),
                });
            }
        }
        commit(transaction).await?;
        Ok(shapes.len() as u64)
    }

    async fn area(&self, code: &AreaCode) -> StoreResult<Option<AreaRecord>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            &format!("SELECT {AREA_COLUMNS} FROM areas a WHERE a.code = $1"),
            &[&code.as_str()],
        )
        .await?;
        commit(transaction).await?;
        row.as_ref().map(to_area_record).transpose()
    }

    async fn areas(&self, query: &AreaQuery) -> StoreResult<Vec<AreaRecord>> {
        let (filter, values) = area_where(query);
        let sql = format!(
            "SELECT {AREA_COLUMNS} FROM areas a {filter} ORDER BY a.code LIMIT ${} OFFSET ${}",
            values.len() + 1,
            values.len() + 2
        );
        let (limit, offset) = (i64::from(page_limit(query.limit)), i64::from(query.offset));
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = self::query(&transaction, &sql, &paged(&values, &limit, &offset)).await?;
        commit(transaction).await?;
        rows.iter().map(to_area_record).collect()
    }

    async fn count_areas(&self, query: &AreaQuery) -> StoreResult<u64> {
        let (filter, values) = area_where(query);
        let sql = format!("SELECT count(*) FROM areas a {filter}");
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_one(&transaction, &sql, &texts(&values)).await?;
        commit(transaction).await?;
        count(&row)
    }

    async fn area_shapes(&self) -> StoreResult<Vec<AreaShape>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            "SELECT code, level, shape FROM areas WHERE shape IS NOT NULL ORDER BY code",
            &[],
        )
        .await?;
        commit(transaction).await?;
        rows.iter()
            .map(|row| {
                let code: String = column(row, 0)?;
                let level: String = column(row, 1)?;
                Ok(AreaShape {
                    code: AreaCode::parse(&code).map_err(|e| corrupt("area code", e))?,
                    level: AreaLevel::parse(&level).map_err(|e| corrupt("area level", e))?,
                    geojson: column(row, 2)?,
                })
            })
            .collect()
    }

    async fn area_shape(&self, code: &AreaCode) -> StoreResult<Option<String>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            "SELECT shape FROM areas WHERE code = $1",
            &[&code.as_str()],
        )
        .await?;
        commit(transaction).await?;
        match row {
            Some(row) => column::<Option<String>>(&row, 0),
            None => Ok(None),
        }
    }

    async fn upsert_departments(
        &self,
        departments: Vec<Department>,
        audit: Audit,
    ) -> StoreResult<WriteSummary> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let mut summary = WriteSummary::default();
        for (index, department) in departments.iter().enumerate() {
            for area in &department.areas {
                if area_level_of(&transaction, area).await?.is_none() {
                    return Err(StoreError::Invalid {
                        index,
                        field: "areas",
                        message: format!("area {area} does not exist"),
                    });
                }
            }
            let existed = exists(
                &transaction,
                "SELECT 1 FROM departments WHERE id = $1",
                department.id.as_str(),
            )
            .await?;
            execute(
                &transaction,
                "INSERT INTO departments (id, name, kind, phone) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET
                   name = excluded.name, kind = excluded.kind, phone = excluded.phone",
                &[
                    &department.id.as_str(),
                    &department.name,
                    &department.kind.as_str(),
                    &department.phone,
                ],
            )
            .await?;
            execute(
                &transaction,
                "DELETE FROM department_areas WHERE department_id = $1",
                &[&department.id.as_str()],
            )
            .await?;
            for area in &department.areas {
                execute(
                    &transaction,
                    "INSERT INTO department_areas (department_id, area_code) VALUES ($1, $2)",
                    &[&department.id.as_str(), &area.as_str()],
                )
                .await?;
            }
            if existed {
                summary.updated += 1;
            } else {
                summary.inserted += 1;
            }
        }
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await?;
        Ok(summary)
    }

    async fn department(&self, id: &DepartmentId) -> StoreResult<Option<Department>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            &format!("SELECT {DEPARTMENT_COLUMNS} FROM departments d WHERE d.id = $1"),
            &[&id.as_str()],
        )
        .await?;
        commit(transaction).await?;
        row.as_ref().map(to_department).transpose()
    }

    async fn departments(&self, covering: Option<&AreaCode>) -> StoreResult<Vec<Department>> {
        let covering = covering.map(AreaCode::as_str);
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            &format!(
                "SELECT {DEPARTMENT_COLUMNS} FROM departments d
                 WHERE $1::TEXT IS NULL OR EXISTS (
                   SELECT 1 FROM department_areas c
                   WHERE c.department_id = d.id AND c.area_code = $1)
                 ORDER BY d.id"
            ),
            &[&covering],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_department).collect()
    }

    async fn upsert_categories(&self, categories: Vec<Category>) -> StoreResult<WriteSummary> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let mut summary = WriteSummary::default();
        for category in &categories {
            let existed = query_opt(
                &transaction,
                "SELECT 1 FROM categories WHERE kind = $1 AND code = $2",
                &[&category.kind.as_str(), &category.code.as_str()],
            )
            .await?
            .is_some();
            execute(
                &transaction,
                "INSERT INTO categories (kind, code, class_code, class_name, name, standard)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (kind, code) DO UPDATE SET
                   class_code = excluded.class_code, class_name = excluded.class_name,
                   name = excluded.name, standard = excluded.standard",
                &[
                    &category.kind.as_str(),
                    &category.code.as_str(),
                    &category.class_code,
                    &category.class_name,
                    &category.name,
                    &category.standard,
                ],
            )
            .await?;
            if existed {
                summary.updated += 1;
            } else {
                summary.inserted += 1;
            }
        }
        commit(transaction).await?;
        Ok(summary)
    }

    async fn category(&self, kind: CategoryKind, code: &str) -> StoreResult<Option<Category>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            &format!("SELECT {CATEGORY_COLUMNS} FROM categories WHERE kind = $1 AND code = $2"),
            &[&kind.as_str(), &code],
        )
        .await?;
        commit(transaction).await?;
        row.as_ref().map(to_category).transpose()
    }

    async fn categories(&self, query: &CategoryQuery) -> StoreResult<Vec<Category>> {
        let (filter, values) = category_where(query);
        let sql = format!(
            "SELECT {CATEGORY_COLUMNS} FROM categories {filter}
             ORDER BY code, kind LIMIT ${} OFFSET ${}",
            values.len() + 1,
            values.len() + 2
        );
        let (limit, offset) = (i64::from(page_limit(query.limit)), i64::from(query.offset));
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = self::query(&transaction, &sql, &paged(&values, &limit, &offset)).await?;
        commit(transaction).await?;
        rows.iter().map(to_category).collect()
    }

    async fn count_categories(&self, query: &CategoryQuery) -> StoreResult<u64> {
        let (filter, values) = category_where(query);
        let sql = format!("SELECT count(*) FROM categories {filter}");
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_one(&transaction, &sql, &texts(&values)).await?;
        commit(transaction).await?;
        count(&row)
    }

    async fn upsert_responsibilities(
        &self,
        rows: Vec<Responsibility>,
        audit: Audit,
    ) -> StoreResult<WriteSummary> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let mut summary = WriteSummary::default();
        for (index, row) in rows.iter().enumerate() {
            if area_level_of(&transaction, &row.area).await?.is_none() {
                return Err(StoreError::Invalid {
                    index,
                    field: "area",
                    message: format!("area {} does not exist", row.area),
                });
            }
            if !exists(
                &transaction,
                "SELECT 1 FROM departments WHERE id = $1",
                row.department.as_str(),
            )
            .await?
            {
                return Err(StoreError::Invalid {
                    index,
                    field: "department",
                    message: format!("department {} does not exist", row.department),
                });
            }
            let selector = row.category.to_string();
            let existed = query_opt(
                &transaction,
                "SELECT 1 FROM responsibilities WHERE category = $1 AND area_code = $2",
                &[&selector, &row.area.as_str()],
            )
            .await?
            .is_some();
            execute(
                &transaction,
                "INSERT INTO responsibilities (category, area_code, department_id, basis)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (category, area_code) DO UPDATE SET
                   department_id = excluded.department_id, basis = excluded.basis",
                &[
                    &selector,
                    &row.area.as_str(),
                    &row.department.as_str(),
                    &row.basis,
                ],
            )
            .await?;
            if existed {
                summary.updated += 1;
            } else {
                summary.inserted += 1;
            }
        }
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await?;
        Ok(summary)
    }

    async fn responsibilities(
        &self,
        query: &ResponsibilityQuery,
    ) -> StoreResult<Vec<Responsibility>> {
        let area = query.area.as_ref().map(AreaCode::as_str);
        let department = query.department.as_ref().map(DepartmentId::as_str);
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = self::query(
            &transaction,
            &format!(
                "SELECT {RESPONSIBILITY_COLUMNS} FROM responsibilities r
                 WHERE ($1::TEXT IS NULL OR r.area_code = $1)
                   AND ($2::TEXT IS NULL OR r.department_id = $2)
                 ORDER BY r.area_code, r.category"
            ),
            &[&area, &department],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_responsibility).collect()
    }

    async fn responsibilities_at(&self, areas: &[AreaCode]) -> StoreResult<Vec<Responsibility>> {
        let codes: Vec<&str> = areas.iter().map(AreaCode::as_str).collect();
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        // In the order of `areas`, then by selector, like one query per area.
        let rows = query(
            &transaction,
            &format!(
                "SELECT {RESPONSIBILITY_COLUMNS}
                 FROM unnest($1::TEXT[]) WITH ORDINALITY AS p (code, position)
                 JOIN responsibilities r ON r.area_code = p.code
                 ORDER BY p.position, r.category"
            ),
            &[&codes],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_responsibility).collect()
    }

    async fn delete_responsibility(
        &self,
        category: &str,
        area: &AreaCode,
        audit: Audit,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let deleted = execute(
            &transaction,
            "DELETE FROM responsibilities WHERE category = $1 AND area_code = $2",
            &[&category, &area.as_str()],
        )
        .await?;
        if deleted == 0 {
            return Err(StoreError::NotFound {
                what: format!("responsibility for {category} at {area}"),
            });
        }
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await
    }

    async fn create_user(
        &self,
        user: NewUser,
        password_hash: String,
        audit: AuditFor,
    ) -> StoreResult<User> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        if exists(
            &transaction,
            "SELECT 1 FROM users WHERE username = $1",
            &user.username,
        )
        .await?
        {
            return Err(StoreError::Conflict {
                what: format!("user {}", user.username),
            });
        }
        check_grant_references(&transaction, user.department.as_ref(), &user.areas).await?;
        let statement = transaction
            .prepare_cached(
                "INSERT INTO users (username, display_name, role, department_id, phone, password_hash)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .await
            .map_err(backend_error)?;
        let row = transaction
            .query_one(
                &statement,
                &[
                    &user.username,
                    &user.display_name,
                    &user.role.as_str(),
                    &user.department.as_ref().map(DepartmentId::as_str),
                    &user.phone,
                    &password_hash,
                ],
            )
            .await
            .map_err(|error| {
                // Another session created the same username since our check.
                if error.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                    StoreError::Conflict {
                        what: format!("user {}", user.username),
                    }
                } else {
                    backend_error(error)
                }
            })?;
        let id: i64 = column(&row, 0)?;
        for area in &user.areas {
            execute(
                &transaction,
                "INSERT INTO user_areas (user_id, area_code) VALUES ($1, $2)",
                &[&id, &area.as_str()],
            )
            .await?;
        }
        write_leaves(&transaction, &audit(UserId(id))).await?;
        commit(transaction).await?;
        Ok(User {
            id: UserId(id),
            username: user.username,
            display_name: user.display_name,
            role: user.role,
            department: user.department,
            areas: user.areas,
            phone: user.phone,
        })
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"),
            &[&id.0],
        )
        .await?;
        commit(transaction).await?;
        row.as_ref().map(to_user).transpose()
    }

    async fn user_credentials(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            &format!(
                "SELECT {USER_COLUMNS}, u.password_hash FROM users u
                 WHERE u.username = $1 AND u.revoked_at IS NULL"
            ),
            &[&username],
        )
        .await?;
        commit(transaction).await?;
        row.map(|row| Ok((to_user(&row)?, column(&row, 7)?)))
            .transpose()
    }

    async fn users(&self, department: Option<&DepartmentId>) -> StoreResult<Vec<User>> {
        let department = department.map(DepartmentId::as_str);
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            &format!(
                "SELECT {USER_COLUMNS} FROM users u
                 WHERE $1::TEXT IS NULL OR u.department_id = $1 ORDER BY u.id"
            ),
            &[&department],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_user).collect()
    }

    async fn create_token(&self, token: TokenRecord, audit: Audit) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        execute(
            &transaction,
            "INSERT INTO api_tokens (token_sha256, user_id, label, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &token.token_sha256,
                &token.user.0,
                &token.label,
                &token.created_at,
                &token.expires_at,
            ],
        )
        .await?;
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await
    }

    async fn user_by_token(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            &format!(
                "SELECT {USER_COLUMNS}
                 FROM api_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND u.revoked_at IS NULL
                   AND (t.expires_at IS NULL OR t.expires_at > $2)"
            ),
            &[&token_sha256, &now],
        )
        .await?;
        commit(transaction).await?;
        row.as_ref().map(to_user).transpose()
    }

    async fn change_grant(
        &self,
        id: UserId,
        role: Role,
        department: Option<DepartmentId>,
        areas: Vec<AreaCode>,
        audit: Audit,
    ) -> StoreResult<User> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        check_grant_references(&transaction, department.as_ref(), &areas).await?;
        let changed = execute(
            &transaction,
            "UPDATE users SET role = $2, department_id = $3 WHERE id = $1 AND revoked_at IS NULL",
            &[
                &id.0,
                &role.as_str(),
                &department.as_ref().map(DepartmentId::as_str),
            ],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: format!("user {}", id.0),
            });
        }
        execute(
            &transaction,
            "DELETE FROM user_areas WHERE user_id = $1",
            &[&id.0],
        )
        .await?;
        for area in &areas {
            execute(
                &transaction,
                "INSERT INTO user_areas (user_id, area_code) VALUES ($1, $2)",
                &[&id.0, &area.as_str()],
            )
            .await?;
        }
        write_leaves(&transaction, &audit).await?;
        let row = query_one(
            &transaction,
            &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"),
            &[&id.0],
        )
        .await?;
        commit(transaction).await?;
        to_user(&row)
    }

    async fn revoke_user(&self, id: UserId, at: DateTime<Utc>, audit: Audit) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let changed = execute(
            &transaction,
            "UPDATE users SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&id.0, &at],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: format!("user {}", id.0),
            });
        }
        execute(
            &transaction,
            "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            &[&id.0, &at],
        )
        .await?;
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await
    }

    async fn revoke_tokens(&self, user: UserId) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let revoked = execute(
            &transaction,
            "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            &[&user.0, &Utc::now()],
        )
        .await?;
        commit(transaction).await?;
        Ok(revoked)
    }

    async fn revoke_token(&self, token_sha256: &str) -> StoreResult<bool> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let revoked = execute(
            &transaction,
            "UPDATE api_tokens SET revoked_at = $2 WHERE token_sha256 = $1 AND revoked_at IS NULL",
            &[&token_sha256, &Utc::now()],
        )
        .await?;
        commit(transaction).await?;
        Ok(revoked > 0)
    }

    async fn allocate_case_ids(&self, count: u32) -> StoreResult<Vec<i64>> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let count = i64::from(count.max(1));
        let rows = query(
            &transaction,
            "SELECT nextval('case_ids') FROM generate_series(1::BIGINT, $1::BIGINT)",
            &[&count],
        )
        .await?;
        commit(transaction).await?;
        let mut ids = rows
            .iter()
            .map(|row| column(row, 0))
            .collect::<StoreResult<Vec<i64>>>()?;
        ids.sort_unstable();
        Ok(ids)
    }

    async fn insert_case(
        &self,
        case: CaseRow,
        events: Vec<CaseEventRow>,
        timers: Vec<TimerSpec>,
        attachments: Attachments,
        audit: Audit,
    ) -> StoreResult<()> {
        let values = case_values(&case)?;
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let conflict = || StoreError::Conflict {
            what: format!("case {}", case.id),
        };
        if query_opt(
            &transaction,
            "SELECT 1 FROM cases WHERE id = $1",
            &[&case.id],
        )
        .await?
        .is_some()
        {
            return Err(conflict());
        }
        let statement = transaction
            .prepare_cached(CASE_INSERT)
            .await
            .map_err(backend_error)?;
        transaction
            .execute(&statement, &params_of(&values))
            .await
            .map_err(|error| {
                // Another session inserted the same id since our check.
                if error.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                    conflict()
                } else {
                    backend_error(error)
                }
            })?;
        write_case_units(&transaction, &case).await?;
        write_events(&transaction, &events).await?;
        write_timers(&transaction, case.id, &timers).await?;
        write_attachments(&transaction, case.id, &attachments).await?;
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await
    }

    async fn append_case_events(
        &self,
        case: CaseRow,
        expected_version: u64,
        events: Vec<CaseEventRow>,
        timers: Vec<TimerSpec>,
        fired_timer: Option<i64>,
        audit: Audit,
    ) -> StoreResult<()> {
        let mut values = case_values(&case)?;
        values.push(Box::new(to_i64("expected_version", expected_version)?));
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        // A concurrent append holds the row lock; once it commits, the
        // version no longer matches and this one changes nothing.
        let changed = execute(&transaction, CASE_UPDATE, &params_of(&values)).await?;
        if changed == 0 {
            return Err(StoreError::Conflict {
                what: format!("a newer version of case {}", case.id),
            });
        }
        if let Some(timer) = fired_timer {
            let fired = execute(
                &transaction,
                "UPDATE timers SET fired_at = $3
                 WHERE id = $1 AND case_id = $2 AND fired_at IS NULL",
                &[&timer, &case.id, &case.updated_at],
            )
            .await?;
            if fired == 0 {
                return Err(StoreError::Conflict {
                    what: format!("firing of timer {timer}"),
                });
            }
        }
        write_case_units(&transaction, &case).await?;
        write_events(&transaction, &events).await?;
        write_timers(&transaction, case.id, &timers).await?;
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await
    }

    async fn create_datastream(
        &self,
        datastream: DatastreamRecord,
        audit: Audit,
    ) -> StoreResult<i64> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let period = datastream.period_minutes as i32;
        let row = query_one(
            &transaction,
            "INSERT INTO datastreams (name, thing, property, unit, period_minutes, lon, lat,
                 area_path, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            &[
                &datastream.name,
                &datastream.thing,
                &datastream.property,
                &datastream.unit,
                &period,
                &datastream.lon,
                &datastream.lat,
                &path_text(&datastream.area_path),
                &datastream.created_at,
            ],
        )
        .await?;
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await?;
        Ok(row.get(0))
    }

    async fn datastreams(&self) -> StoreResult<Vec<DatastreamRecord>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            &format!("SELECT {DATASTREAM_COLUMNS} FROM datastreams ORDER BY id"),
            &[],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(datastream_from_row).collect()
    }

    async fn datastream(&self, id: i64) -> StoreResult<Option<DatastreamRecord>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            &format!("SELECT {DATASTREAM_COLUMNS} FROM datastreams WHERE id = $1"),
            &[&id],
        )
        .await?;
        commit(transaction).await?;
        row.as_ref().map(datastream_from_row).transpose()
    }

    async fn insert_observations(
        &self,
        observations: Vec<ObservationRow>,
    ) -> StoreResult<Vec<Option<i64>>> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let mut streams: Vec<i64> = observations.iter().map(|o| o.datastream).collect();
        streams.sort_unstable();
        streams.dedup();
        let known: Vec<i64> = query(
            &transaction,
            "SELECT id FROM datastreams WHERE id = ANY($1::BIGINT[])",
            &[&streams],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
        if let Some(unknown) = streams.iter().find(|id| !known.contains(id)) {
            return Err(StoreError::NotFound {
                what: format!("datastream {unknown}"),
            });
        }
        let ids: Vec<i64> = observations.iter().map(|o| o.datastream).collect();
        let times: Vec<DateTime<Utc>> = observations.iter().map(|o| o.phenomenon_time).collect();
        let results: Vec<f64> = observations.iter().map(|o| o.result).collect();
        let received: Vec<DateTime<Utc>> = observations.iter().map(|o| o.received_at).collect();
        let features: Vec<Option<i64>> = observations.iter().map(|o| o.feature).collect();
        let extras: Vec<Option<&str>> = observations.iter().map(|o| o.extra.as_deref()).collect();
        let mut first: std::collections::HashMap<(i64, DateTime<Utc>), usize> =
            std::collections::HashMap::new();
        for (i, o) in observations.iter().enumerate() {
            first.entry((o.datastream, o.phenomenon_time)).or_insert(i);
        }
        // One statement; a duplicate inside the batch counts once, as the
        // first.
        let mut inserted: Vec<Option<i64>> = vec![None; observations.len()];
        for row in query(
            &transaction,
            "INSERT INTO observations
                 (datastream_id, phenomenon_time, result, received_at, feature_id, extra)
             SELECT d, t, r, a, f, x FROM (
                 SELECT DISTINCT ON (d, t) d, t, r, a, f, x, n
                 FROM unnest($1::BIGINT[], $2::TIMESTAMPTZ[], $3::FLOAT8[], $4::TIMESTAMPTZ[],
                             $5::BIGINT[], $6::TEXT[])
                      WITH ORDINALITY AS i (d, t, r, a, f, x, n)
                 ORDER BY d, t, n) AS batch
             ORDER BY n
             ON CONFLICT (datastream_id, phenomenon_time) DO NOTHING
             RETURNING datastream_id, phenomenon_time, id",
            &[&ids, &times, &results, &received, &features, &extras],
        )
        .await?
        {
            let datastream: i64 = row.get(0);
            let at: DateTime<Utc> = row.get(1);
            if let Some(i) = first.get(&(datastream, at)) {
                inserted[*i] = Some(row.get(2));
            }
        }
        execute(
            &transaction,
            "UPDATE datastreams d SET last_at = latest.t
             FROM (SELECT d AS id, max(t) AS t FROM unnest($1::BIGINT[], $2::TIMESTAMPTZ[])
                   AS i (d, t) GROUP BY d) AS latest
             WHERE d.id = latest.id AND (d.last_at IS NULL OR d.last_at < latest.t)",
            &[&ids, &times],
        )
        .await?;
        commit(transaction).await?;
        Ok(inserted)
    }

    async fn observations(
        &self,
        datastream: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<ObservationRow>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let limit = i64::from(page_limit(limit));
        let offset = i64::from(offset);
        let rows = query(
            &transaction,
            &format!(
                "SELECT {OBSERVATION_COLUMNS} FROM observations
                 WHERE datastream_id = $1 AND phenomenon_time >= $2 AND phenomenon_time < $3
                 ORDER BY phenomenon_time LIMIT $4 OFFSET $5"
            ),
            &[&datastream, &from, &to, &limit, &offset],
        )
        .await?;
        commit(transaction).await?;
        Ok(rows.iter().map(observation_from_row).collect())
    }

    async fn scan_observations(&self, scan: ObservationScan) -> StoreResult<Vec<ObservationRow>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let limit = i64::from(page_limit(scan.limit));
        let (from, from_inclusive) = scan.from.map_or((None, false), |(t, i)| (Some(t), i));
        let (to, to_inclusive) = scan.to.map_or((None, false), |(t, i)| (Some(t), i));
        let rows = query(
            &transaction,
            &format!(
                "SELECT {OBSERVATION_COLUMNS} FROM observations
                 WHERE id > $1
                   AND ($2::BIGINT IS NULL OR id = $2)
                   AND ($3::BIGINT IS NULL OR datastream_id = $3)
                   AND ($4::BIGINT IS NULL OR feature_id = $4)
                   AND ($5::TIMESTAMPTZ IS NULL OR phenomenon_time > $5
                        OR ($6 AND phenomenon_time = $5))
                   AND ($7::TIMESTAMPTZ IS NULL OR phenomenon_time < $7
                        OR ($8 AND phenomenon_time = $7))
                 ORDER BY id LIMIT $9"
            ),
            &[
                &scan.after_id,
                &scan.id,
                &scan.datastream,
                &scan.feature,
                &from,
                &from_inclusive,
                &to,
                &to_inclusive,
                &limit,
            ],
        )
        .await?;
        commit(transaction).await?;
        Ok(rows.iter().map(observation_from_row).collect())
    }

    async fn update_observation(&self, observation: ObservationRow) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let statement = transaction
            .prepare_cached(
                "UPDATE observations SET phenomenon_time = $2, result = $3, feature_id = $4, extra = $5
                 WHERE id = $1",
            )
            .await
            .map_err(backend_error)?;
        let changed = transaction
            .execute(
                &statement,
                &[
                    &observation.id,
                    &observation.phenomenon_time,
                    &observation.result,
                    &observation.feature,
                    &observation.extra,
                ],
            )
            .await
            .map_err(|error| {
                if error.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                    StoreError::Conflict {
                        what: format!(
                            "an observation of datastream {} at {} is stored already",
                            observation.datastream, observation.phenomenon_time
                        ),
                    }
                } else {
                    backend_error(error)
                }
            })?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: format!("observation {}", observation.id),
            });
        }
        commit(transaction).await
    }

    async fn delete_observations(&self, ids: Vec<i64>) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let deleted = execute(
            &transaction,
            "DELETE FROM observations WHERE id = ANY($1::BIGINT[])",
            &[&ids],
        )
        .await?;
        commit(transaction).await?;
        Ok(deleted)
    }

    async fn delete_datastream(&self, id: i64) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        if query_opt(
            &transaction,
            "SELECT 1 FROM alarms WHERE datastream_id = $1 LIMIT 1",
            &[&id],
        )
        .await?
        .is_some()
        {
            return Err(StoreError::Conflict {
                what: format!(
                    "datastream {id} has alarms on record (part of cases' history); it cannot be deleted"
                ),
            });
        }
        execute(
            &transaction,
            "DELETE FROM observations WHERE datastream_id = $1",
            &[&id],
        )
        .await?;
        let gone = execute(
            &transaction,
            "DELETE FROM datastreams WHERE id = $1",
            &[&id],
        )
        .await?;
        if gone == 0 {
            return Err(StoreError::NotFound {
                what: format!("datastream {id}"),
            });
        }
        commit(transaction).await
    }

    async fn record_vital_samples(&self, samples: Vec<VitalSample>) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let at: Vec<DateTime<Utc>> = samples.iter().map(|s| s.at).collect();
        let areas: Vec<&str> = samples.iter().map(|s| s.area.as_str()).collect();
        let indicators: Vec<&str> = samples.iter().map(|s| s.indicator.as_str()).collect();
        let values: Vec<Option<f64>> = samples.iter().map(|s| s.value).collect();
        let statuses: Vec<&str> = samples.iter().map(|s| s.status.as_str()).collect();
        execute(
            &transaction,
            "INSERT INTO vital_samples (at, area_code, indicator, value, status)
             SELECT * FROM unnest($1::TIMESTAMPTZ[], $2::TEXT[], $3::TEXT[], $4::FLOAT8[], $5::TEXT[])
             ON CONFLICT DO NOTHING",
            &[&at, &areas, &indicators, &values, &statuses],
        )
        .await?;
        commit(transaction).await
    }

    async fn vital_samples(
        &self,
        area: &str,
        indicator: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<VitalSample>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let limit = i64::from(page_limit(limit));
        let rows = query(
            &transaction,
            "SELECT at, value, status FROM vital_samples
             WHERE area_code = $1 AND indicator = $2 AND at >= $3 AND at < $4
             ORDER BY at LIMIT $5",
            &[&area, &indicator, &from, &to, &limit],
        )
        .await?;
        commit(transaction).await?;
        Ok(rows
            .iter()
            .map(|row| VitalSample {
                at: row.get(0),
                area: area.to_owned(),
                indicator: indicator.to_owned(),
                value: row.get(1),
                status: row.get(2),
            })
            .collect())
    }

    async fn delete_vital_samples_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let deleted = execute(
            &transaction,
            "DELETE FROM vital_samples WHERE at < $1",
            &[&before],
        )
        .await?;
        commit(transaction).await?;
        Ok(deleted)
    }

    async fn sta_docs(&self) -> StoreResult<Vec<StaDoc>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            "SELECT entity_set, id, doc FROM sta_entities ORDER BY entity_set, id",
            &[],
        )
        .await?;
        commit(transaction).await?;
        Ok(rows
            .iter()
            .map(|row| StaDoc {
                set: row.get(0),
                id: row.get(1),
                doc: row.get(2),
            })
            .collect())
    }

    async fn save_sta_docs(&self, put: Vec<StaDoc>, delete: Vec<(String, i64)>) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        for (set, id) in &delete {
            execute(
                &transaction,
                "DELETE FROM sta_entities WHERE entity_set = $1 AND id = $2",
                &[set, id],
            )
            .await?;
        }
        for doc in &put {
            execute(
                &transaction,
                "INSERT INTO sta_entities (entity_set, id, doc) VALUES ($1, $2, $3)
                 ON CONFLICT (entity_set, id) DO UPDATE SET doc = excluded.doc",
                &[&doc.set, &doc.id, &doc.doc],
            )
            .await?;
        }
        commit(transaction).await
    }

    async fn observation_buckets(
        &self,
        datastream: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket_minutes: u32,
        limit: u32,
    ) -> StoreResult<Vec<ObservationBucket>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let seconds = i64::from(bucket_minutes.max(1)) * 60;
        let limit = i64::from(page_limit(limit));
        let rows = query(
            &transaction,
            "SELECT floor(extract(epoch FROM phenomenon_time)::FLOAT8 / $4::FLOAT8)::BIGINT AS b,
                    count(*), avg(result), min(result), max(result)
             FROM observations
             WHERE datastream_id = $1 AND phenomenon_time >= $2 AND phenomenon_time < $3
             GROUP BY b ORDER BY b LIMIT $5",
            &[&datastream, &from, &to, &(seconds as f64), &limit],
        )
        .await?;
        commit(transaction).await?;
        rows.iter()
            .map(|row| {
                let bucket: i64 = row.get(0);
                let count: i64 = row.get(1);
                Ok(ObservationBucket {
                    start: DateTime::from_timestamp(bucket * seconds, 0).ok_or_else(|| {
                        StoreError::Backend(format!("observation bucket {bucket} out of range"))
                    })?,
                    count: count as u64,
                    mean: row.get(2),
                    min: row.get(3),
                    max: row.get(4),
                })
            })
            .collect()
    }

    async fn delete_observations_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let deleted = execute(
            &transaction,
            "DELETE FROM observations WHERE phenomenon_time < $1",
            &[&before],
        )
        .await?;
        commit(transaction).await?;
        Ok(deleted)
    }

    async fn raise_alarm(&self, alarm: AlarmRecord) -> StoreResult<i64> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let row = query_one(
            &transaction,
            "INSERT INTO alarms (rule_id, datastream_id, severity, reason, raised_at, case_id)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &alarm.rule,
                &alarm.datastream,
                &alarm.severity,
                &alarm.reason,
                &alarm.raised_at,
                &alarm.case_id,
            ],
        )
        .await?;
        commit(transaction).await?;
        Ok(row.get(0))
    }

    async fn record_alarms(&self, changes: Vec<AlarmChange>) -> StoreResult<Vec<AlarmOutcome>> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let mut outcomes = Vec::with_capacity(changes.len());
        for change in &changes {
            let (rule, datastream) = match change {
                AlarmChange::Raise { alarm, .. } => (alarm.rule.as_str(), alarm.datastream),
                AlarmChange::Clear {
                    rule, datastream, ..
                } => (rule.as_str(), *datastream),
            };
            let previous = query_opt(
                &transaction,
                "SELECT id, case_id, cleared_at IS NULL FROM alarms
                 WHERE datastream_id = $1 AND rule_id = $2 ORDER BY id DESC LIMIT 1",
                &[&datastream, &rule],
            )
            .await?
            .map(|row| {
                (
                    row.get::<_, i64>(0),
                    row.get::<_, Option<i64>>(1),
                    row.get::<_, bool>(2),
                )
            });
            match change {
                AlarmChange::Raise { alarm, carry } => {
                    let work: i16 = if *carry { CASE_WORK_RAISE.into() } else { 0 };
                    let row = query_one(
                        &transaction,
                        "INSERT INTO alarms (rule_id, datastream_id, severity, reason, raised_at, case_work)
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                        &[
                            &alarm.rule,
                            &alarm.datastream,
                            &alarm.severity,
                            &alarm.reason,
                            &alarm.raised_at,
                            &work,
                        ],
                    )
                    .await?;
                    outcomes.push(AlarmOutcome {
                        alarm: Some(row.get(0)),
                        case_id: previous.and_then(|(_, case, _)| case),
                    });
                }
                AlarmChange::Clear {
                    at, reason, carry, ..
                } => match previous {
                    Some((id, case_id, true)) => {
                        let work: i16 = if *carry { CASE_WORK_CLEAR.into() } else { 0 };
                        execute(
                            &transaction,
                            "UPDATE alarms SET cleared_at = $2, clear_reason = $3,
                                 case_work = case_work | $4 WHERE id = $1",
                            &[&id, at, reason, &work],
                        )
                        .await?;
                        outcomes.push(AlarmOutcome {
                            alarm: Some(id),
                            case_id,
                        });
                    }
                    _ => outcomes.push(AlarmOutcome {
                        alarm: None,
                        case_id: None,
                    }),
                },
            }
        }
        commit(transaction).await?;
        Ok(outcomes)
    }

    async fn alarm_work(&self, limit: u32) -> StoreResult<Vec<(AlarmRecord, u8)>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let limit = i64::from(page_limit(limit));
        let rows = query(
            &transaction,
            &format!(
                "SELECT {ALARM_COLUMNS}, case_work FROM alarms WHERE case_work <> 0
                 ORDER BY id LIMIT $1"
            ),
            &[&limit],
        )
        .await?;
        commit(transaction).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let work: i16 = row.get(ALARM_COLUMN_COUNT);
                (alarm_from_row(row), work as u8)
            })
            .collect())
    }

    async fn finish_alarm_work(&self, id: i64, done: u8, case_id: Option<i64>) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let done = i16::from(done);
        let changed = execute(
            &transaction,
            "UPDATE alarms SET case_work = case_work & ~$2::SMALLINT,
                 case_id = coalesce($3, case_id) WHERE id = $1",
            &[&id, &done, &case_id],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: format!("alarm {id}"),
            });
        }
        commit(transaction).await
    }

    async fn alarm_case_before(
        &self,
        rule: &str,
        datastream: i64,
        before: i64,
    ) -> StoreResult<Option<i64>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            "SELECT case_id FROM alarms WHERE datastream_id = $1 AND rule_id = $2 AND id < $3
             ORDER BY id DESC LIMIT 1",
            &[&datastream, &rule, &before],
        )
        .await?;
        commit(transaction).await?;
        Ok(row.and_then(|row| row.get(0)))
    }

    async fn set_alarm_case(&self, id: i64, case_id: i64) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let changed = execute(
            &transaction,
            "UPDATE alarms SET case_id = $2 WHERE id = $1",
            &[&id, &case_id],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: format!("alarm {id}"),
            });
        }
        commit(transaction).await
    }

    async fn clear_alarm(&self, id: i64, at: DateTime<Utc>, reason: &str) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let changed = execute(
            &transaction,
            "UPDATE alarms SET cleared_at = $2, clear_reason = $3
             WHERE id = $1 AND cleared_at IS NULL",
            &[&id, &at, &reason],
        )
        .await?;
        if changed == 0 {
            return Err(alarm_missing_or(&transaction, id, "clearing").await?);
        }
        commit(transaction).await
    }

    async fn acknowledge_alarm(
        &self,
        id: i64,
        by: UserId,
        at: DateTime<Utc>,
        audit: Audit,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let changed = execute(
            &transaction,
            "UPDATE alarms SET acknowledged_at = $2, acknowledged_by = $3
             WHERE id = $1 AND acknowledged_at IS NULL",
            &[&id, &at, &by.0],
        )
        .await?;
        if changed == 0 {
            return Err(alarm_missing_or(&transaction, id, "acknowledgement").await?);
        }
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await
    }

    async fn alarm(&self, id: i64) -> StoreResult<Option<AlarmRecord>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            &format!("SELECT {ALARM_COLUMNS} FROM alarms WHERE id = $1"),
            &[&id],
        )
        .await?;
        commit(transaction).await?;
        Ok(row.as_ref().map(alarm_from_row))
    }

    async fn alarms(&self, active_only: bool, limit: u32) -> StoreResult<Vec<AlarmRecord>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let limit = i64::from(page_limit(limit));
        let rows = query(
            &transaction,
            &format!(
                "SELECT {ALARM_COLUMNS} FROM alarms WHERE (NOT $1 OR cleared_at IS NULL)
                 ORDER BY id DESC LIMIT $2"
            ),
            &[&active_only, &limit],
        )
        .await?;
        commit(transaction).await?;
        Ok(rows.iter().map(alarm_from_row).collect())
    }

    async fn latest_alarm(&self, rule: &str, datastream: i64) -> StoreResult<Option<AlarmRecord>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            &format!(
                "SELECT {ALARM_COLUMNS} FROM alarms WHERE datastream_id = $1 AND rule_id = $2
                 ORDER BY id DESC LIMIT 1"
            ),
            &[&datastream, &rule],
        )
        .await?;
        commit(transaction).await?;
        Ok(row.as_ref().map(alarm_from_row))
    }

    async fn case_report(&self, id: i64) -> StoreResult<Option<CaseReport>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            "SELECT attributes, client, token FROM case_reports WHERE case_id = $1",
            &[&id],
        )
        .await?;
        commit(transaction).await?;
        Ok(row.map(|row| CaseReport {
            attributes: row.get(0),
            client: row.get(1),
            token: row.get(2),
        }))
    }

    async fn case_by_token(&self, token: &str) -> StoreResult<Option<i64>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            "SELECT case_id FROM case_reports WHERE token = $1",
            &[&token],
        )
        .await?;
        commit(transaction).await?;
        Ok(row.map(|row| row.get(0)))
    }

    async fn put_media(&self, upload: MediaUpload, audit: Audit) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let case_id = upload.record.case_id;
        if query_opt(
            &transaction,
            "SELECT 1 FROM cases WHERE id = $1",
            &[&case_id],
        )
        .await?
        .is_none()
        {
            return Err(StoreError::NotFound {
                what: format!("case {case_id}"),
            });
        }
        write_media(&transaction, &upload).await?;
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await
    }

    async fn media(&self, id: &str) -> StoreResult<Option<MediaUpload>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            &format!("SELECT {MEDIA_COLUMNS}, bytes FROM media WHERE id = $1"),
            &[&id],
        )
        .await?;
        commit(transaction).await?;
        row.map(|row| {
            Ok(MediaUpload {
                record: media_from_row(&row)?,
                bytes: row.get(7),
            })
        })
        .transpose()
    }

    async fn case_media(&self, case_id: i64) -> StoreResult<Vec<MediaRecord>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            &format!(
                "SELECT {MEDIA_COLUMNS} FROM media WHERE case_id = $1 ORDER BY created_at, id"
            ),
            &[&case_id],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(media_from_row).collect()
    }

    async fn create_api_key(&self, key: ApiKeyRecord, audit: Audit) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let inserted = execute(
            &transaction,
            "INSERT INTO api_keys (key_sha256, name, created_at, revoked_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (key_sha256) DO NOTHING",
            &[&key.key_sha256, &key.name, &key.created_at, &key.revoked_at],
        )
        .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict {
                what: format!("api key of {}", key.name),
            });
        }
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await
    }

    async fn api_key(&self, key_sha256: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            "SELECT key_sha256, name, created_at, revoked_at FROM api_keys WHERE key_sha256 = $1",
            &[&key_sha256],
        )
        .await?;
        commit(transaction).await?;
        Ok(row.map(|row| ApiKeyRecord {
            key_sha256: row.get(0),
            name: row.get(1),
            created_at: row.get(2),
            revoked_at: row.get(3),
        }))
    }

    async fn case(&self, id: i64) -> StoreResult<Option<CaseRow>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            &format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.id = $1"),
            &[&id],
        )
        .await?;
        commit(transaction).await?;
        row.as_ref().map(to_case).transpose()
    }

    async fn case_events(&self, id: i64) -> StoreResult<Vec<CaseEventRow>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            &format!("SELECT {EVENT_COLUMNS} FROM case_events WHERE case_id = $1 ORDER BY seq"),
            &[&id],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_event).collect()
    }

    async fn cases(&self, query: &CaseQuery) -> StoreResult<Vec<CaseRow>> {
        let (filter, mut values) = case_where(query);
        values.push(Box::new(i64::from(page_limit(query.limit))));
        values.push(Box::new(i64::from(query.offset)));
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases c {filter}
             ORDER BY c.created_at DESC, c.id DESC LIMIT ${} OFFSET ${}",
            values.len() - 1,
            values.len()
        );
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = self::query(&transaction, &sql, &params_of(&values)).await?;
        commit(transaction).await?;
        rows.iter().map(to_case).collect()
    }

    async fn count_cases(&self, query: &CaseQuery) -> StoreResult<u64> {
        let (filter, values) = case_where(query);
        let sql = format!("SELECT count(*) FROM cases c {filter}");
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_one(&transaction, &sql, &params_of(&values)).await?;
        commit(transaction).await?;
        count(&row)
    }

    async fn open_case_counts(
        &self,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(Vec<AreaCode>, u64, u64)>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            "SELECT area_path, count(*), count(*) FILTER (WHERE due_at <= $1)
             FROM cases WHERE open GROUP BY area_path",
            &[&now],
        )
        .await?;
        commit(transaction).await?;
        rows.iter()
            .map(|row| {
                let path: String = column(row, 0)?;
                let codes = parse_area_path("case area", &path)?;
                let open: i64 = column(row, 1)?;
                let overdue: i64 = column(row, 2)?;
                Ok((codes, open as u64, overdue as u64))
            })
            .collect()
    }

    async fn case_points(&self, query: &CaseQuery) -> StoreResult<Vec<CasePoint>> {
        let (filter, mut values) = case_where(query);
        values.push(Box::new(i64::from(query.limit.clamp(1, CASE_POINTS_MAX))));
        values.push(Box::new(i64::from(query.offset)));
        let sql = format!(
            "SELECT c.id, c.category, c.channel, c.status, c.open, c.lon, c.lat, c.area_path,
                    c.lead_department, c.created_at, c.updated_at, c.due_at, c.warn_at
             FROM cases c {filter}
             ORDER BY c.created_at DESC, c.id DESC LIMIT ${} OFFSET ${}",
            values.len() - 1,
            values.len()
        );
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = self::query(&transaction, &sql, &params_of(&values)).await?;
        commit(transaction).await?;
        rows.iter()
            .map(|row| {
                let path: String = column(row, 7)?;
                let (area, district, street) = path_parts("case area", &path)?;
                let lead: Option<String> = column(row, 8)?;
                Ok(CasePoint {
                    id: column(row, 0)?,
                    category: column(row, 1)?,
                    channel: column(row, 2)?,
                    status: column(row, 3)?,
                    open: column(row, 4)?,
                    lon: column(row, 5)?,
                    lat: column(row, 6)?,
                    area,
                    district,
                    street,
                    lead_department: lead
                        .map(|d| DepartmentId::parse(&d))
                        .transpose()
                        .map_err(|e| corrupt("case lead", e))?,
                    created_at: column(row, 9)?,
                    updated_at: column(row, 10)?,
                    due_at: column(row, 11)?,
                    warn_at: column(row, 12)?,
                })
            })
            .collect()
    }

    async fn case_stamps_created(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<CaseStamp>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            "SELECT id, version, created_at, area_path FROM cases
             WHERE created_at >= $1 AND created_at < $2 ORDER BY id",
            &[&from, &to],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_stamp).collect()
    }

    async fn case_stamps_with_events(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        kinds: &[&str],
    ) -> StoreResult<Vec<CaseStamp>> {
        let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            "SELECT id, version, created_at, area_path FROM cases WHERE id IN (
                 SELECT DISTINCT case_id FROM case_events
                 WHERE at >= $1 AND at < $2 AND kind = ANY($3))
             ORDER BY id",
            &[&from, &to, &kinds],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_stamp).collect()
    }

    async fn case_histories(&self, ids: &[i64]) -> StoreResult<Vec<CaseEventRow>> {
        check_history_ids(ids)?;
        let ids = ids.to_vec();
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            &format!(
                "SELECT {EVENT_COLUMNS} FROM case_events
                 WHERE case_id = ANY($1) ORDER BY case_id, seq"
            ),
            &[&ids],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_event).collect()
    }

    async fn events_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<CaseEventRow>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            &format!(
                "SELECT {EVENT_COLUMNS} FROM case_events
                 WHERE at >= $1 AND at < $2 ORDER BY at, case_id, seq"
            ),
            &[&from, &to],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_event).collect()
    }

    async fn claim_due_timers(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        worker: &str,
        limit: u32,
    ) -> StoreResult<Vec<TimerRow>> {
        let limit = i64::from(limit);
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        // SKIP LOCKED: rows another process is claiming right now are
        // passed over, not waited for, so concurrent claimers get disjoint
        // sets; a row claimed and committed meanwhile is re-checked against
        // the lease condition (READ COMMITTED) and dropped.
        let rows = query(
            &transaction,
            &format!(
                "UPDATE timers SET claimed_by = $3, claimed_until = $4
                 WHERE id IN (SELECT id FROM timers
                              WHERE fired_at IS NULL AND due_at <= $1
                                AND (claimed_until IS NULL OR claimed_until < $1)
                              ORDER BY due_at, id LIMIT $2
                              FOR UPDATE SKIP LOCKED)
                 RETURNING {TIMER_COLUMNS}"
            ),
            &[&now, &limit, &worker, &lease_until],
        )
        .await?;
        commit(transaction).await?;
        let mut timers = rows.iter().map(to_timer).collect::<StoreResult<Vec<_>>>()?;
        timers.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.id.cmp(&b.id)));
        Ok(timers)
    }

    async fn case_timers(&self, case_id: i64) -> StoreResult<Vec<TimerRow>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            &format!(
                "SELECT {TIMER_COLUMNS} FROM timers
                 WHERE case_id = $1 AND fired_at IS NULL ORDER BY due_at, id"
            ),
            &[&case_id],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_timer).collect()
    }

    async fn fired_timer_count(&self) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_one(
            &transaction,
            "SELECT count(*) FROM timers WHERE fired_at IS NOT NULL",
            &[],
        )
        .await?;
        commit(transaction).await?;
        count(&row)
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            "SELECT value FROM settings WHERE key = $1",
            &[&key],
        )
        .await?;
        commit(transaction).await?;
        row.map(|row| column(&row, 0)).transpose()
    }

    async fn put_setting(&self, key: &str, value: &str, audit: Audit) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        execute(
            &transaction,
            "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .await?;
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await
    }

    async fn append_leaves(&self, audit: Audit) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await
    }

    async fn sequence_leaves(&self, limit: u32, sequencer: Sequencer) -> StoreResult<Option<u64>> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        // The row lock serialises sequencers across processes.
        let state = query_one(
            &transaction,
            "SELECT size FROM tlog_state WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await?;
        let size = to_u64("tlog size", column(&state, 0)?)?;
        let queued = query(
            &transaction,
            "SELECT id, data FROM tlog_leaves WHERE idx IS NULL ORDER BY id LIMIT $1",
            &[&i64::from(limit)],
        )
        .await?;
        if queued.is_empty() {
            return Ok(None);
        }
        let mut ids = Vec::with_capacity(queued.len());
        let mut leaves = Vec::with_capacity(queued.len());
        for row in &queued {
            ids.push(column::<i64>(row, 0)?);
            leaves.push(column::<Vec<u8>>(row, 1)?);
        }
        let mut edge = Vec::new();
        for tile in cityloop_tlog::edge_tiles(size) {
            let hashes = read_tile(&transaction, tile.level, tile.index)
                .await?
                .unwrap_or_default();
            edge.push((tile, hashes));
        }
        let latest_checkpoint = query_opt(
            &transaction,
            "SELECT note FROM tlog_checkpoints ORDER BY size DESC LIMIT 1",
            &[],
        )
        .await?
        .map(|row| column::<String>(&row, 0))
        .transpose()?;
        let count = leaves.len();
        let output = sequencer(SequenceInput {
            size,
            edge,
            latest_checkpoint,
            leaves,
        })
        .map_err(StoreError::Backend)?;
        check_sequence_output(size, count, &output)?;
        let first = to_i64("tlog size", size)?;
        execute(
            &transaction,
            "UPDATE tlog_leaves l SET idx = $2 + q.position - 1
             FROM unnest($1::BIGINT[]) WITH ORDINALITY AS q (id, position)
             WHERE l.id = q.id",
            &[&ids, &first],
        )
        .await?;
        for (tile, hashes) in &output.tiles {
            execute(
                &transaction,
                "INSERT INTO tlog_tiles (level, idx, hashes) VALUES ($1, $2, $3)
                 ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
                &[
                    &i32::from(tile.level),
                    &to_i64("tile index", tile.index)?,
                    &tile_blob(hashes),
                ],
            )
            .await?;
        }
        let new_size = to_i64("tlog size", output.size)?;
        execute(
            &transaction,
            "INSERT INTO tlog_checkpoints (size, note) VALUES ($1, $2)",
            &[&new_size, &output.checkpoint],
        )
        .await?;
        execute(
            &transaction,
            "UPDATE tlog_state SET size = $1 WHERE id = 1",
            &[&new_size],
        )
        .await?;
        commit(transaction).await?;
        Ok(Some(output.size))
    }

    async fn tlog_size(&self) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_one(
            &transaction,
            "SELECT size FROM tlog_state WHERE id = 1",
            &[],
        )
        .await?;
        commit(transaction).await?;
        to_u64("tlog size", column(&row, 0)?)
    }

    async fn tlog_queued(&self) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_one(
            &transaction,
            "SELECT count(*) FROM tlog_leaves WHERE idx IS NULL",
            &[],
        )
        .await?;
        commit(transaction).await?;
        count(&row)
    }

    async fn tlog_tile(&self, level: u8, index: u64) -> StoreResult<Option<Vec<Hash>>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let tile = read_tile(&transaction, level, index).await?;
        commit(transaction).await?;
        Ok(tile)
    }

    async fn tlog_entries(&self, first: u64, count: u32) -> StoreResult<Vec<Vec<u8>>> {
        let from = to_i64("first", first)?;
        let to = to_i64("first", first.saturating_add(u64::from(count)))?;
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            "SELECT data FROM tlog_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            &[&from, &to],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(|row| column(row, 0)).collect()
    }

    async fn tlog_checkpoints(&self) -> StoreResult<Vec<(u64, String)>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            "SELECT size, note FROM tlog_checkpoints ORDER BY size",
            &[],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_checkpoint).collect()
    }

    async fn latest_checkpoint(&self) -> StoreResult<Option<(u64, String)>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            "SELECT size, note FROM tlog_checkpoints ORDER BY size DESC LIMIT 1",
            &[],
        )
        .await?;
        commit(transaction).await?;
        row.as_ref().map(to_checkpoint).transpose()
    }

    async fn tlog_leaves_about(&self, subject: &str) -> StoreResult<Vec<(Option<u64>, Vec<u8>)>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            "SELECT idx, data FROM tlog_leaves WHERE subject = $1 ORDER BY id",
            &[&subject],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_leaf).collect()
    }

    async fn tlog_all_leaves(&self) -> StoreResult<Vec<(Option<u64>, Vec<u8>)>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            "SELECT idx, data FROM tlog_leaves ORDER BY id",
            &[],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_leaf).collect()
    }

    async fn all_case_events(&self) -> StoreResult<Vec<CaseEventRow>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            &format!("SELECT {EVENT_COLUMNS} FROM case_events ORDER BY case_id, seq"),
            &[],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_event).collect()
    }
}

fn to_checkpoint(row: &Row) -> StoreResult<(u64, String)> {
    Ok((to_u64("checkpoint size", column(row, 0)?)?, column(row, 1)?))
}

fn to_leaf(row: &Row) -> StoreResult<(Option<u64>, Vec<u8>)> {
    let index: Option<i64> = column(row, 0)?;
    Ok((
        index.map(|i| to_u64("leaf index", i)).transpose()?,
        column(row, 1)?,
    ))
}

/// A grant's department and areas must exist; the refusal names the field.
async fn check_grant_references(
    transaction: &Transaction<'_>,
    department: Option<&DepartmentId>,
    areas: &[AreaCode],
) -> StoreResult<()> {
    if let Some(department) = department
        && !exists(
            transaction,
            "SELECT 1 FROM departments WHERE id = $1",
            department.as_str(),
        )
        .await?
    {
        return Err(StoreError::Invalid {
            index: 0,
            field: "department",
            message: format!("department {department} does not exist"),
        });
    }
    for area in areas {
        if area_level_of(transaction, area).await?.is_none() {
            return Err(StoreError::Invalid {
                index: 0,
                field: "areas",
                message: format!("area {area} does not exist"),
            });
        }
    }
    Ok(())
}

/// Queues log leaves in the write's transaction, in order.
async fn write_leaves(transaction: &Transaction<'_>, audit: &Audit) -> StoreResult<()> {
    if audit.is_empty() {
        return Ok(());
    }
    let subjects: Vec<Option<&str>> = audit.iter().map(|leaf| leaf.subject.as_deref()).collect();
    let data: Vec<&[u8]> = audit.iter().map(|leaf| leaf.data.as_slice()).collect();
    execute(
        transaction,
        "INSERT INTO tlog_leaves (subject, data)
         SELECT l.subject, l.data
         FROM unnest($1::TEXT[], $2::BYTEA[]) WITH ORDINALITY AS l (subject, data, n)
         ORDER BY l.n",
        &[&subjects, &data],
    )
    .await?;
    Ok(())
}

async fn read_tile(
    transaction: &Transaction<'_>,
    level: u8,
    index: u64,
) -> StoreResult<Option<Vec<Hash>>> {
    let row = query_opt(
        transaction,
        "SELECT hashes FROM tlog_tiles WHERE level = $1 AND idx = $2",
        &[&i32::from(level), &to_i64("tile index", index)?],
    )
    .await?;
    row.map(|row| tile_hashes(&column::<Vec<u8>>(&row, 0)?))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_checked() {
        for good in ["city", "_x", "cl_test_0123abcd", &"a".repeat(63)] {
            assert!(check_schema_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "City",
            "1abc",
            "a-b",
            "a b",
            "pg_x",
            "x\"y",
            &"a".repeat(64),
        ] {
            assert!(
                matches!(
                    check_schema_name(bad),
                    Err(StoreError::Invalid {
                        field: "schema",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn describe_hides_credentials() {
        let config: tokio_postgres::Config = "postgres://cityloop:secret@db.example:6432/city"
            .parse()
            .unwrap();
        assert_eq!(describe(&config), "db.example:6432/city");
    }
}
