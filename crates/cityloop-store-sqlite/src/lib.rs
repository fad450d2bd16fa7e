//! The embedded backend of the cityloop store: one SQLite file in the data
//! directory (bundled SQLite, no server).
//!
//! Key design decision: one writer thread owns the only write connection
//! and commits queued writes in batches (group commit): each write runs in
//! its own savepoint inside the batch's transaction, so a refused write
//! undoes only itself, and its caller is answered only after the batch has
//! committed. SQLite serialises writers anyway; batching turns many small
//! commits into one. Reads run on a small pool of read-only connections (WAL
//! lets them proceed during a write). Foreign keys are switched on, so the
//! database itself refuses dangling references, and each batch item checks
//! its references first to say *which* item is wrong.
//!
//! The writer never checkpoints the WAL (a checkpoint fsyncs and stalls
//! commits for tens of milliseconds); a checkpointer thread with its own
//! connection does, PASSIVE, when the WAL passes 64 MiB or every 30 s. New
//! files use 1 KiB pages: a case touches ~15 pages, and smaller pages mean
//! less WAL per commit. Transparency-log leaves get their tree index when
//! queued — the single writer makes queue order the index order.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
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
mod hub;

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Migrations in order; the version is the position, starting at 1.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_city.sql"),
    include_str!("../migrations/0002_cases.sql"),
    include_str!("../migrations/0003_tlog.sql"),
    include_str!("../migrations/0004_tlog_index_at_queue.sql"),
    include_str!("../migrations/0005_user_revocation.sql"),
    include_str!("../migrations/0006_citizens_door.sql"),
    include_str!("../migrations/0007_partial_case_indexes.sql"),
    include_str!("../migrations/0008_perception.sql"),
    include_str!("../migrations/0009_sensorthings.sql"),
    include_str!("../migrations/0010_alarm_case_work.sql"),
    include_str!("../migrations/0011_vital_history.sql"),
    include_str!("../migrations/0012_observation_times_as_integers.sql"),
    include_str!("../migrations/0013_data_hub.sql"),
    include_str!("../migrations/0014_hub_import_header.sql"),
];

/// Write jobs queued for the writer thread before submitters wait.
const WRITE_QUEUE_MAX: usize = 1024;
/// Write jobs committed together in one transaction (group commit).
const WRITE_BATCH_MAX: usize = 64;
/// Read connections kept open for a file database.
const READERS_MAX: usize = 32;

type Finish = Box<dyn FnOnce(Option<String>) + Send>;

enum Job {
    /// Runs alone on the write connection, outside any batch (migrations,
    /// reads of an in-memory database).
    Raw(Box<dyn FnOnce(&mut Connection) + Send>),
    /// Runs inside the current batch's transaction in its own savepoint;
    /// returns what to do once the batch committed (or failed to).
    Write {
        run: Box<dyn FnOnce(&Connection) -> Finish + Send>,
        fail: Box<dyn FnOnce(String) + Send>,
    },
}

#[derive(Clone)]
pub struct SqliteStore {
    jobs: tokio::sync::mpsc::Sender<Job>,
    /// Read connections of a file database; `None` in memory, where reads
    /// go to the writer.
    readers: Option<Arc<Readers>>,
}

struct Readers {
    path: std::path::PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn take(&self) -> StoreResult<Connection> {
        if let Some(connection) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(connection);
        }
        let connection = Connection::open(&self.path).map_err(backend_error)?;
        connection
            .execute_batch("PRAGMA query_only = ON; PRAGMA busy_timeout = 5000;")
            .map_err(backend_error)?;
        Ok(connection)
    }

    fn give_back(&self, connection: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < READERS_MAX
        {
            idle.push(connection);
        }
    }
}

/// The WAL is copied back into the database file when it has grown past
/// this size, or this long after the last time, whichever comes first.
const CHECKPOINT_WAL_BYTES: u64 = 64 * 1024 * 1024;
const CHECKPOINT_EVERY_MS: u64 = 30_000;
/// Past this size a checkpoint that cannot catch up waits for the writer
/// (see `checkpoint_loop`); the WAL file is trimmed back to
/// `CHECKPOINT_WAL_BYTES` when it restarts.
const CHECKPOINT_RESTART_BYTES: u64 = 1024 * 1024 * 1024;
/// How often the checkpointer looks at the WAL's size.
const CHECKPOINT_POLL_MS: u64 = 250;

/// The checkpointer thread: copies committed WAL frames into the database
/// file from its own connection (PASSIVE: it never blocks the writer or
/// readers), so the writer — whose automatic checkpoints are off — never
/// stalls on one. Ends when the store is dropped.
fn checkpoint_loop(
    connection: Connection,
    wal: std::path::PathBuf,
    alive: std::sync::Weak<Readers>,
) {
    let _ = connection.execute_batch("PRAGMA busy_timeout = 5000;");
    let mut last = std::time::Instant::now();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(CHECKPOINT_POLL_MS));
        if alive.strong_count() == 0 {
            return;
        }
        let wal_bytes = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if wal_bytes < CHECKPOINT_WAL_BYTES
            && last.elapsed().as_millis() < u128::from(CHECKPOINT_EVERY_MS)
        {
            continue;
        }
        last = std::time::Instant::now();
        let passive = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        });
        match passive {
            // Under writes that never pause, a passive checkpoint never
            // catches up, the WAL is never restarted and grows without
            // bound (8 GB seen while seeding 100,000 cases). Past this size
            // the checkpointer waits for the writer between two commits
            // and copies everything, so the next commit starts the WAL
            // afresh (and `journal_size_limit` trims the file).
            Ok((log, copied)) if copied < log && wal_bytes >= CHECKPOINT_RESTART_BYTES => {
                if let Err(error) =
                    connection.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))
                {
                    tracing::warn!(%error, wal_bytes, "sqlite restart checkpoint");
                }
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "sqlite checkpoint"),
        }
    }
}

/// The writer thread: owns the write connection and commits queued write
/// jobs in batches, each job in its own savepoint so one refusal does not
/// undo the others. Replies are sent only after the batch committed.
fn writer_loop(mut connection: Connection, mut jobs: tokio::sync::mpsc::Receiver<Job>) {
    let mut pending: Option<Job> = None;
    loop {
        let job = match pending.take() {
            Some(job) => job,
            None => match jobs.blocking_recv() {
                Some(job) => job,
                None => return,
            },
        };
        let (first_run, first_fail) = match job {
            Job::Raw(work) => {
                work(&mut connection);
                continue;
            }
            Job::Write { run, fail } => (run, fail),
        };
        let mut batch = vec![(first_run, first_fail)];
        while batch.len() < WRITE_BATCH_MAX {
            match jobs.try_recv() {
                Ok(Job::Write { run, fail }) => batch.push((run, fail)),
                Ok(raw) => {
                    pending = Some(raw);
                    break;
                }
                Err(_) => break,
            }
        }
        if let Err(error) = exec(&connection, "BEGIN IMMEDIATE", []) {
            for (_, fail) in batch {
                fail(error.to_string());
            }
            continue;
        }
        let finishers: Vec<Finish> = batch.into_iter().map(|(run, _)| run(&connection)).collect();
        let commit_error = connection
            .prepare_cached("COMMIT")
            .and_then(|mut commit| commit.execute([]))
            .err()
            .map(|error| error.to_string());
        if commit_error.is_some() {
            let _ = exec(&connection, "ROLLBACK", []);
        }
        for finish in finishers {
            finish(commit_error.clone());
        }
    }
}

fn backend_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored {what} does not parse: {error}"))
}

const OBSERVATION_COLUMNS: &str =
    "id, datastream_id, phenomenon_time, result, received_at, feature_id, extra";

/// An observation time as stored: microseconds since 1970-01-01 UTC.
fn micros(instant: DateTime<Utc>) -> i64 {
    instant.timestamp_micros()
}

fn from_micros(what: &str, value: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value).ok_or_else(|| corrupt(what, value))
}

fn observations_from_rows(mut rows: rusqlite::Rows<'_>) -> StoreResult<Vec<ObservationRow>> {
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(backend_error)? {
        let at: i64 = row.get(2).map_err(backend_error)?;
        let received: i64 = row.get(4).map_err(backend_error)?;
        found.push(ObservationRow {
            id: row.get(0).map_err(backend_error)?,
            datastream: row.get(1).map_err(backend_error)?,
            phenomenon_time: from_micros("observation time", at)?,
            result: row.get(3).map_err(backend_error)?,
            received_at: from_micros("observation received_at", received)?,
            feature: row.get(5).map_err(backend_error)?,
            extra: row.get(6).map_err(backend_error)?,
        });
    }
    Ok(found)
}

fn timestamp(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file. Migrations are applied
    /// by [`Store::migrate`], which the binary calls on start.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        let connection = Connection::open(path).map_err(backend_error)?;
        let readers = Arc::new(Readers {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        });
        let checkpointer = Connection::open(path).map_err(backend_error)?;
        let alive = Arc::downgrade(&readers);
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let wal = std::path::PathBuf::from(wal);
        std::thread::Builder::new()
            .name("cityloop-sqlite-checkpointer".into())
            .spawn(move || checkpoint_loop(checkpointer, wal, alive))
            .map_err(backend_error)?;
        Self::configure(connection, Some(readers))
    }

    /// A private in-memory database, for tests and benchmarks.
    pub fn open_in_memory() -> StoreResult<SqliteStore> {
        Self::configure(Connection::open_in_memory().map_err(backend_error)?, None)
    }

    fn configure(
        connection: Connection,
        readers: Option<Arc<Readers>>,
    ) -> StoreResult<SqliteStore> {
        connection
            .execute_batch(
                "PRAGMA page_size = 1024;
                 PRAGMA journal_mode = WAL;
                 PRAGMA journal_size_limit = 67108864;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA temp_store = MEMORY;
                 PRAGMA wal_autocheckpoint = 0;
                 PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 5000;",
            )
            .map_err(backend_error)?;
        let (jobs, queue) = tokio::sync::mpsc::channel(WRITE_QUEUE_MAX);
        std::thread::Builder::new()
            .name("cityloop-sqlite-writer".into())
            .spawn(move || writer_loop(connection, queue))
            .map_err(backend_error)?;
        Ok(SqliteStore { jobs, readers })
    }

    /// Runs `work` alone on the write connection (migrations).
    async fn raw<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job::Raw(Box::new(move |connection| {
            let _ = reply.send(work(connection));
        }));
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::Backend("the sqlite writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the sqlite writer dropped a job".into()))?
    }

    /// Runs a read on a read connection (a blocking thread), or on the
    /// writer for an in-memory database.
    async fn call<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let Some(readers) = self.readers.clone() else {
            return self.raw(work).await;
        };
        tokio::task::spawn_blocking(move || {
            let mut connection = readers.take()?;
            let result = work(&mut connection);
            readers.give_back(connection);
            result
        })
        .await
        .map_err(backend_error)?
    }

    /// Runs `work` atomically (a savepoint in the writer's current batch
    /// transaction); the answer comes once the batch is committed, and an
    /// `Err` leaves nothing of `work` behind.
    async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel::<StoreResult<T>>();
        let reply = Arc::new(Mutex::new(Some(reply)));
        let reply_on_failure = Arc::clone(&reply);
        let run = Box::new(move |connection: &Connection| -> Finish {
            let result = match exec(connection, "SAVEPOINT job", []) {
                Ok(_) => {
                    let result = work(connection);
                    let end = if result.is_ok() {
                        exec(connection, "RELEASE job", [])
                    } else {
                        exec(connection, "ROLLBACK TO job", [])
                            .and_then(|_| exec(connection, "RELEASE job", []))
                    };
                    match end {
                        Ok(_) => result,
                        Err(error) => Err(backend_error(error)),
                    }
                }
                Err(error) => Err(backend_error(error)),
            };
            Box::new(move |commit_error: Option<String>| {
                let outcome = match (result, commit_error) {
                    (Ok(value), None) => Ok(value),
                    (Ok(_), Some(error)) => Err(StoreError::Backend(format!("commit: {error}"))),
                    (Err(error), _) => Err(error),
                };
                if let Some(reply) = reply.lock().ok().and_then(|mut r| r.take()) {
                    let _ = reply.send(outcome);
                }
            })
        });
        let fail = Box::new(move |error: String| {
            if let Some(reply) = reply_on_failure.lock().ok().and_then(|mut r| r.take()) {
                let _ = reply.send(Err(StoreError::Backend(error)));
            }
        });
        self.jobs
            .send(Job::Write { run, fail })
            .await
            .map_err(|_| StoreError::Backend("the sqlite writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the sqlite writer dropped a job".into()))?
    }
}

/// Executes one statement through the connection's statement cache, so hot
/// statements are parsed once.
fn exec(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    connection.prepare_cached(sql)?.execute(params)
}

fn exists(transaction: &Connection, sql: &str, key: &str) -> StoreResult<bool> {
    transaction
        .query_row(sql, [key], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
        .map_err(backend_error)
}

fn area_level_of(connection: &Connection, code: &AreaCode) -> StoreResult<Option<AreaLevel>> {
    let level: Option<String> = connection
        .query_row(
            "SELECT level FROM areas WHERE code = ?1",
            [code.as_str()],
            |row| row.get(0),
        )
        .optional()
        .map_err(backend_error)?;
    level
        .map(|text| AreaLevel::parse(&text).map_err(|e| corrupt("area level", e)))
        .transpose()
}

fn area_where(query: &AreaQuery) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    if let Some(parent) = &query.parent {
        values.push(parent.as_str().to_owned());
        clauses.push(format!("a.parent_code = ?{}", values.len()));
    }
    if let Some(level) = query.level {
        values.push(level.as_str().to_owned());
        clauses.push(format!("a.level = ?{}", values.len()));
    }
    if let Some(name) = &query.name_contains {
        values.push(name.clone());
        clauses.push(format!("instr(a.name, ?{}) > 0", values.len()));
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

fn area_record(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, String, String, Option<String>, bool, u32)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn to_area_record(
    (code, name, level, parent, has_shape, children): (
        String,
        String,
        String,
        Option<String>,
        bool,
        u32,
    ),
) -> StoreResult<AreaRecord> {
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
        children,
    })
}

fn category_where(query: &CategoryQuery) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    if let Some(kind) = query.kind {
        values.push(kind.as_str().to_owned());
        clauses.push(format!("kind = ?{}", values.len()));
    }
    if let Some(class) = &query.class_code {
        values.push(class.clone());
        clauses.push(format!("class_code = ?{}", values.len()));
    }
    if let Some(name) = &query.name_contains {
        values.push(name.clone());
        clauses.push(format!("instr(name, ?{}) > 0", values.len()));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (sql, values)
}

fn to_category(row: &rusqlite::Row<'_>) -> rusqlite::Result<[String; 6]> {
    Ok([
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ])
}

fn parse_category(
    [kind, code, class_code, class_name, name, standard]: [String; 6],
) -> StoreResult<Category> {
    let kind = CategoryKind::parse(&kind).map_err(|e| corrupt("category kind", e))?;
    Category::new(kind, &code, &class_code, &class_name, &name, &standard)
        .map_err(|e| corrupt("category", e))
}

fn load_department(connection: &Connection, id: &str) -> StoreResult<Option<Department>> {
    let row: Option<(String, String, String, Option<String>)> = connection
        .query_row(
            "SELECT id, name, kind, phone FROM departments WHERE id = ?1",
            [id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .optional()
        .map_err(backend_error)?;
    let Some((id, name, kind, phone)) = row else {
        return Ok(None);
    };
    let mut statement = connection
        .prepare_cached(
            "SELECT area_code FROM department_areas WHERE department_id = ?1 ORDER BY area_code",
        )
        .map_err(backend_error)?;
    let areas = statement
        .query_map([&id], |row| row.get::<_, String>(0))
        .map_err(backend_error)?
        .map(|code| {
            code.map_err(backend_error)
                .and_then(|c| AreaCode::parse(&c).map_err(|e| corrupt("department area", e)))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let department = Department::new(
        DepartmentId::parse(&id).map_err(|e| corrupt("department id", e))?,
        &name,
        DepartmentKind::parse(&kind).map_err(|e| corrupt("department kind", e))?,
        areas,
        phone.as_deref(),
    )
    .map_err(|e| corrupt("department", e))?;
    Ok(Some(department))
}

fn to_responsibility(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, String, String, Option<String>)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn parse_responsibility(
    (category, area, department, basis): (String, String, String, Option<String>),
) -> StoreResult<Responsibility> {
    Ok(Responsibility {
        category: CategorySelector::parse(&category).map_err(|e| corrupt("selector", e))?,
        area: AreaCode::parse(&area).map_err(|e| corrupt("responsibility area", e))?,
        department: DepartmentId::parse(&department).map_err(|e| corrupt("department", e))?,
        basis,
    })
}

const USER_COLUMNS: &str = "id, username, display_name, role, department_id, phone";

type UserRow = (i64, String, String, String, Option<String>, Option<String>);

fn user_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn build_user(connection: &Connection, row: UserRow) -> StoreResult<User> {
    let (id, username, display_name, role, department, phone) = row;
    let mut statement = connection
        .prepare_cached("SELECT area_code FROM user_areas WHERE user_id = ?1 ORDER BY area_code")
        .map_err(backend_error)?;
    let areas = statement
        .query_map([id], |row| row.get::<_, String>(0))
        .map_err(backend_error)?
        .map(|code| {
            code.map_err(backend_error)
                .and_then(|c| AreaCode::parse(&c).map_err(|e| corrupt("user area", e)))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(User {
        id: UserId(id),
        username,
        display_name,
        role: Role::parse(&role).map_err(|e| corrupt("role", e))?,
        department: department
            .map(|d| DepartmentId::parse(&d))
            .transpose()
            .map_err(|e| corrupt("user department", e))?,
        areas,
        phone,
    })
}

// --- cases -----------------------------------------------------------------

fn parse_time(what: &str, text: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(what, e))
}

fn path_text(path: &[AreaCode]) -> String {
    let mut text = String::from("/");
    for code in path {
        text.push_str(code.as_str());
        text.push('/');
    }
    text
}

const CASE_COLUMNS: &str = "id, channel, category, urgency, status, open, lead_department, area_path,
    lon, lat, address, description, reporter, reporter_contact, parent, created_at, updated_at,
    version, due_at, warn_at, near_boundary, routed_department,
    (SELECT group_concat(department_id, ' ') FROM
        (SELECT department_id FROM case_units u WHERE u.case_id = cases.id ORDER BY department_id))";

fn case_from_row(row: &rusqlite::Row<'_>) -> StoreResult<CaseRow> {
    let get = |e: rusqlite::Error| backend_error(e);
    let id: i64 = row.get(0).map_err(get)?;
    let lead: Option<String> = row.get(6).map_err(get)?;
    let path: String = row.get(7).map_err(get)?;
    let area_path = parse_area_path("case area", &path)?;
    let units_text: Option<String> = row.get(22).map_err(get)?;
    let units = units_text
        .unwrap_or_default()
        .split_whitespace()
        .map(|d| DepartmentId::parse(d).map_err(|e| corrupt("case unit", e)))
        .collect::<StoreResult<Vec<_>>>()?;
    let optional_time = |index: usize, what: &str| -> StoreResult<Option<DateTime<Utc>>> {
        let text: Option<String> = row.get(index).map_err(backend_error)?;
        text.map(|t| parse_time(what, &t)).transpose()
    };
    Ok(CaseRow {
        id,
        channel: row.get(1).map_err(get)?,
        category: row.get(2).map_err(get)?,
        urgency: row.get(3).map_err(get)?,
        status: row.get(4).map_err(get)?,
        open: row.get(5).map_err(get)?,
        lead_department: lead
            .map(|d| DepartmentId::parse(&d))
            .transpose()
            .map_err(|e| corrupt("case lead", e))?,
        units,
        area_path,
        lon: row.get(8).map_err(get)?,
        lat: row.get(9).map_err(get)?,
        address: row.get(10).map_err(get)?,
        description: row.get(11).map_err(get)?,
        reporter: row.get::<_, Option<i64>>(12).map_err(get)?.map(UserId),
        reporter_contact: row.get(13).map_err(get)?,
        parent: row.get(14).map_err(get)?,
        created_at: parse_time("case created_at", &row.get::<_, String>(15).map_err(get)?)?,
        updated_at: parse_time("case updated_at", &row.get::<_, String>(16).map_err(get)?)?,
        version: row.get::<_, i64>(17).map_err(get)? as u64,
        due_at: optional_time(18, "case due_at")?,
        warn_at: optional_time(19, "case warn_at")?,
        near_boundary: row.get(20).map_err(get)?,
        routed_department: row
            .get::<_, Option<String>>(21)
            .map_err(get)?
            .map(|d| DepartmentId::parse(&d))
            .transpose()
            .map_err(|e| corrupt("case routed department", e))?,
    })
}

fn write_case_units(transaction: &Connection, case: &CaseRow) -> StoreResult<()> {
    exec(
        transaction,
        "DELETE FROM case_units WHERE case_id = ?1",
        [case.id],
    )
    .map_err(backend_error)?;
    for unit in &case.units {
        exec(
            transaction,
            "INSERT INTO case_units (case_id, department_id) VALUES (?1, ?2)",
            params![case.id, unit.as_str()],
        )
        .map_err(backend_error)?;
    }
    Ok(())
}

fn write_events(transaction: &Connection, events: &[CaseEventRow]) -> StoreResult<()> {
    let mut statement = transaction
        .prepare_cached(
            "INSERT INTO case_events (case_id, seq, at, kind, actor_user, actor_role,
                 actor_department, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(backend_error)?;
    for event in events {
        statement
            .execute(params![
                event.case_id,
                event.seq as i64,
                timestamp(event.at),
                event.kind,
                event.actor_user.map(|u| u.0),
                event.actor_role,
                event.actor_department,
                event.payload
            ])
            .map_err(|error| match error {
                rusqlite::Error::SqliteFailure(failure, _)
                    if failure.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::Conflict {
                        what: format!("event {} of case {}", event.seq, event.case_id),
                    }
                }
                other => backend_error(other),
            })?;
    }
    Ok(())
}

/// Makes the case's unfired timers equal `timers`, keeping the rows that
/// stay the same (so a claim on them stays valid) and replacing the rest.
fn write_timers(transaction: &Connection, case_id: i64, timers: &[TimerSpec]) -> StoreResult<()> {
    let existing: Vec<(i64, TimerSpec)> = transaction
        .prepare_cached(
            "SELECT id, stage, kind, due_at FROM timers WHERE case_id = ?1 AND fired_at IS NULL",
        )
        .and_then(|mut statement| {
            statement
                .query_map([case_id], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(backend_error)?
        .into_iter()
        .map(|(id, stage, kind, due_at)| {
            Ok((
                id,
                TimerSpec {
                    stage,
                    kind,
                    due_at: parse_time("timer due_at", &due_at)?,
                },
            ))
        })
        .collect::<StoreResult<_>>()?;
    let (stale, missing) = cityloop_store::timer_changes(existing, timers);
    for id in stale {
        exec(transaction, "DELETE FROM timers WHERE id = ?1", [id]).map_err(backend_error)?;
    }
    let mut statement = transaction
        .prepare_cached("INSERT INTO timers (case_id, stage, kind, due_at) VALUES (?1, ?2, ?3, ?4)")
        .map_err(backend_error)?;
    for timer in missing {
        statement
            .execute(params![
                case_id,
                timer.stage,
                timer.kind,
                timestamp(timer.due_at)
            ])
            .map_err(backend_error)?;
    }
    Ok(())
}

const DATASTREAM_COLUMNS: &str =
    "id, name, thing, property, unit, period_minutes, lon, lat, area_path, created_at, last_at";

fn datastream_from_row(row: &rusqlite::Row<'_>) -> StoreResult<DatastreamRecord> {
    let get = |e: rusqlite::Error| backend_error(e);
    let path: String = row.get(8).map_err(get)?;
    let created: String = row.get(9).map_err(get)?;
    let last: Option<String> = row.get(10).map_err(get)?;
    Ok(DatastreamRecord {
        id: row.get(0).map_err(get)?,
        name: row.get(1).map_err(get)?,
        thing: row.get(2).map_err(get)?,
        property: row.get(3).map_err(get)?,
        unit: row.get(4).map_err(get)?,
        period_minutes: row.get(5).map_err(get)?,
        lon: row.get(6).map_err(get)?,
        lat: row.get(7).map_err(get)?,
        area_path: parse_area_path("datastream area", &path)?,
        created_at: parse_time("datastream created_at", &created)?,
        last_at: last
            .map(|t| parse_time("datastream last_at", &t))
            .transpose()?,
    })
}

const ALARM_COLUMNS: &str = "id, rule_id, datastream_id, severity, reason, raised_at,
    acknowledged_at, acknowledged_by, cleared_at, clear_reason, case_id";
const ALARM_COLUMN_COUNT: usize = 11;

fn alarm_from_row(row: &rusqlite::Row<'_>) -> StoreResult<AlarmRecord> {
    let get = |e: rusqlite::Error| backend_error(e);
    let time = |index: usize, what: &str| -> StoreResult<Option<DateTime<Utc>>> {
        let text: Option<String> = row.get(index).map_err(get)?;
        text.map(|t| parse_time(what, &t)).transpose()
    };
    Ok(AlarmRecord {
        id: row.get(0).map_err(get)?,
        rule: row.get(1).map_err(get)?,
        datastream: row.get(2).map_err(get)?,
        severity: row.get(3).map_err(get)?,
        reason: row.get(4).map_err(get)?,
        raised_at: time(5, "alarm raised_at")?
            .ok_or_else(|| corrupt("alarm raised_at", "missing"))?,
        acknowledged_at: time(6, "alarm acknowledged_at")?,
        acknowledged_by: row.get::<_, Option<i64>>(7).map_err(get)?.map(UserId),
        cleared_at: time(8, "alarm cleared_at")?,
        clear_reason: row.get(9).map_err(get)?,
        case_id: row.get(10).map_err(get)?,
    })
}

/// Why an alarm update changed nothing: `NotFound`, or `Conflict` when the
/// alarm exists but the `what` was done already.
fn alarm_missing_or(transaction: &Connection, id: i64, what: &str) -> StoreResult<StoreError> {
    Ok(
        if exists(
            transaction,
            "SELECT 1 FROM alarms WHERE id = ?1",
            &id.to_string(),
        )? {
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

impl SqliteStore {
    async fn alarm_query(
        &self,
        sql: String,
        values: Vec<rusqlite::types::Value>,
    ) -> StoreResult<Vec<AlarmRecord>> {
        self.call(move |connection| {
            let mut statement = connection.prepare_cached(&sql).map_err(backend_error)?;
            let mut rows = statement
                .query(params_from_iter(values))
                .map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                found.push(alarm_from_row(row)?);
            }
            Ok(found)
        })
        .await
    }
}

const MEDIA_COLUMNS: &str = "id, case_id, content_type, sha256, size, public, created_at";

fn media_from_row(row: &rusqlite::Row<'_>) -> StoreResult<MediaRecord> {
    let read = || -> rusqlite::Result<(String, i64, String, String, i64, bool, String)> {
        Ok((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(6)?,
        ))
    };
    let (id, case_id, content_type, sha256, size, public, created_at) =
        read().map_err(backend_error)?;
    Ok(MediaRecord {
        id,
        case_id,
        content_type,
        sha256,
        size: u64::try_from(size).map_err(|e| corrupt("media size", e))?,
        public,
        created_at: parse_time("media created_at", &created_at)?,
    })
}

fn write_media(transaction: &Connection, upload: &MediaUpload) -> StoreResult<()> {
    let record = &upload.record;
    exec(
        transaction,
        "INSERT INTO media (id, case_id, content_type, sha256, size, public, created_at, bytes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            record.id,
            record.case_id,
            record.content_type,
            record.sha256,
            record.size as i64,
            record.public,
            timestamp(record.created_at),
            upload.bytes
        ],
    )
    .map_err(|error| match error {
        rusqlite::Error::SqliteFailure(e, _)
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict {
                what: format!("media {}", record.id),
            }
        }
        other => backend_error(other),
    })?;
    Ok(())
}

fn write_attachments(
    transaction: &Connection,
    case_id: i64,
    attachments: &Attachments,
) -> StoreResult<()> {
    if let Some(report) = &attachments.report {
        exec(
            transaction,
            "INSERT INTO case_reports (case_id, attributes, client, token) VALUES (?1, ?2, ?3, ?4)",
            params![case_id, report.attributes, report.client, report.token],
        )
        .map_err(|error| match error {
            rusqlite::Error::SqliteFailure(e, _)
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Conflict {
                    what: format!("the report of case {case_id} or its token"),
                }
            }
            other => backend_error(other),
        })?;
    }
    for upload in &attachments.media {
        if upload.record.case_id != case_id {
            return Err(StoreError::Backend(format!(
                "media {} belongs to case {}, not {case_id}",
                upload.record.id, upload.record.case_id
            )));
        }
        write_media(transaction, upload)?;
    }
    Ok(())
}

fn case_where(query: &CaseQuery) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut clauses = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let push = |clause: String, value: Value, values: &mut Vec<Value>| {
        values.push(value);
        clause.replace('?', &format!("?{}", values.len()))
    };
    if !query.statuses.is_empty() {
        let parts: Vec<String> = query
            .statuses
            .iter()
            .map(|s| push("?".into(), Value::Text(s.clone()), &mut values))
            .collect();
        clauses.push(format!("status IN ({})", parts.join(", ")));
    }
    if query.open_only {
        let clause = if query.bbox.is_some() {
            "+open = 1"
        } else {
            "open = 1"
        };
        clauses.push(clause.into());
    }
    if let Some(unit) = &query.unit {
        clauses.push(push(
            "id IN (SELECT case_id FROM case_units WHERE department_id = ?)".into(),
            Value::Text(unit.as_str().into()),
            &mut values,
        ));
    }
    if let Some(lead) = &query.lead {
        clauses.push(push(
            "lead_department = ?".into(),
            Value::Text(lead.as_str().into()),
            &mut values,
        ));
    }
    if !query.within.is_empty() {
        let parts: Vec<String> = query
            .within
            .iter()
            .map(|a| {
                push(
                    "instr(area_path, ?) > 0".into(),
                    Value::Text(format!("/{}/", a.as_str())),
                    &mut values,
                )
            })
            .collect();
        clauses.push(format!("({})", parts.join(" OR ")));
    }
    if !query.categories.is_empty() {
        let parts: Vec<String> = query
            .categories
            .iter()
            .map(|c| push("?".into(), Value::Text(c.clone()), &mut values))
            .collect();
        clauses.push(format!("category IN ({})", parts.join(", ")));
    }
    if let Some(reporter) = query.reporter {
        clauses.push(push(
            "reporter = ?".into(),
            Value::Integer(reporter.0),
            &mut values,
        ));
    }
    if let Some(from) = query.created_from {
        // With a bounding box, the unary `+` keeps SQLite on the position
        // index (a few rows) instead of the time index (every open case).
        let column = if query.bbox.is_some() {
            "+created_at"
        } else {
            "created_at"
        };
        clauses.push(push(
            format!("{column} >= ?"),
            Value::Text(timestamp(from)),
            &mut values,
        ));
    }
    if let Some(to) = query.created_to {
        clauses.push(push(
            "created_at < ?".into(),
            Value::Text(timestamp(to)),
            &mut values,
        ));
    }
    if let Some(from) = query.updated_from {
        clauses.push(push(
            "updated_at >= ?".into(),
            Value::Text(timestamp(from)),
            &mut values,
        ));
    }
    if let Some(to) = query.updated_to {
        clauses.push(push(
            "updated_at < ?".into(),
            Value::Text(timestamp(to)),
            &mut values,
        ));
    }
    if query.closed_only {
        clauses.push("open = 0".into());
    }
    if let Some(by) = query.due_by {
        clauses.push(push(
            "due_at <= ?".into(),
            Value::Text(timestamp(by)),
            &mut values,
        ));
    }
    if !query.channels.is_empty() {
        let parts: Vec<String> = query
            .channels
            .iter()
            .map(|c| push("?".into(), Value::Text(c.clone()), &mut values))
            .collect();
        clauses.push(format!("channel IN ({})", parts.join(", ")));
    }
    if let Some([min_lon, min_lat, max_lon, max_lat]) = query.bbox {
        clauses.push(push("lon >= ?".into(), Value::Real(min_lon), &mut values));
        clauses.push(push("lon <= ?".into(), Value::Real(max_lon), &mut values));
        clauses.push(push("lat >= ?".into(), Value::Real(min_lat), &mut values));
        clauses.push(push("lat <= ?".into(), Value::Real(max_lat), &mut values));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (sql, values)
}

type StampTuple = (i64, i64, String, String);

fn stamp_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StampTuple> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn to_stamp((id, version, created_at, path): StampTuple) -> StoreResult<CaseStamp> {
    Ok(CaseStamp {
        id,
        version: u64::try_from(version).map_err(|e| corrupt("case version", e))?,
        created_at: parse_time("case created_at", &created_at)?,
        area_path: parse_area_path("case area", &path)?,
    })
}

fn event_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<EventTuple> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
    ))
}

type EventTuple = (
    i64,
    i64,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    String,
);

fn to_event(
    (case_id, seq, at, kind, actor_user, actor_role, actor_department, payload): EventTuple,
) -> StoreResult<CaseEventRow> {
    Ok(CaseEventRow {
        case_id,
        seq: seq as u64,
        at: parse_time("event at", &at)?,
        kind,
        actor_user: actor_user.map(UserId),
        actor_role,
        actor_department,
        payload,
    })
}

fn timer_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, i64, String, String, String)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn to_timer(
    (id, case_id, stage, kind, due_at): (i64, i64, String, String, String),
) -> StoreResult<TimerRow> {
    Ok(TimerRow {
        id,
        case_id,
        stage,
        kind,
        due_at: parse_time("timer due_at", &due_at)?,
    })
}

fn case_values(case: &CaseRow) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value;
    let text = |t: &str| Value::Text(t.to_owned());
    let optional_text = |t: Option<&str>| t.map_or(Value::Null, |t| Value::Text(t.to_owned()));
    let optional_real = |r: Option<f64>| r.map_or(Value::Null, Value::Real);
    vec![
        Value::Integer(case.id),
        text(&case.channel),
        text(&case.category),
        text(&case.urgency),
        text(&case.status),
        Value::Integer(case.open.into()),
        optional_text(case.lead_department.as_ref().map(DepartmentId::as_str)),
        Value::Text(path_text(&case.area_path)),
        optional_real(case.lon),
        optional_real(case.lat),
        optional_text(case.address.as_deref()),
        text(&case.description),
        case.reporter.map_or(Value::Null, |u| Value::Integer(u.0)),
        optional_text(case.reporter_contact.as_deref()),
        case.parent.map_or(Value::Null, Value::Integer),
        Value::Text(timestamp(case.created_at)),
        Value::Text(timestamp(case.updated_at)),
        Value::Integer(case.version as i64),
        case.due_at
            .map_or(Value::Null, |t| Value::Text(timestamp(t))),
        case.warn_at
            .map_or(Value::Null, |t| Value::Text(timestamp(t))),
        Value::Integer(case.near_boundary.into()),
        optional_text(case.routed_department.as_ref().map(DepartmentId::as_str)),
    ]
}

const CASE_INSERT: &str = "INSERT INTO cases (id, channel, category, urgency, status, open,
    lead_department, area_path, lon, lat, address, description, reporter, reporter_contact,
    parent, created_at, updated_at, version, due_at, warn_at, near_boundary, routed_department)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
    ?19, ?20, ?21, ?22)";

const CASE_UPDATE: &str = "UPDATE cases SET channel = ?2, category = ?3, urgency = ?4,
    status = ?5, open = ?6, lead_department = ?7, area_path = ?8, lon = ?9, lat = ?10,
    address = ?11, description = ?12, reporter = ?13, reporter_contact = ?14, parent = ?15,
    created_at = ?16, updated_at = ?17, version = ?18, due_at = ?19, warn_at = ?20,
    near_boundary = ?21, routed_department = ?22
    WHERE id = ?1 AND version = ?23";

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn hub(&self) -> &dyn cityloop_store::hub::HubStore {
        self
    }

    async fn migrate(&self) -> StoreResult<Vec<u32>> {
        self.raw(|connection| {
            connection
                .execute_batch(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (
                        version INTEGER PRIMARY KEY,
                        applied_at TEXT NOT NULL)",
                )
                .map_err(backend_error)?;
            let mut applied = Vec::new();
            for (index, sql) in MIGRATIONS.iter().enumerate() {
                let version = index as u32 + 1;
                let transaction = connection
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(backend_error)?;
                let done = transaction
                    .query_row(
                        "SELECT 1 FROM schema_migrations WHERE version = ?1",
                        [version],
                        |_| Ok(()),
                    )
                    .optional()
                    .map_err(backend_error)?
                    .is_some();
                if done {
                    continue;
                }
                transaction.execute_batch(sql).map_err(|error| {
                    StoreError::Backend(format!("migration {version} failed: {error}"))
                })?;
                exec(
                    &transaction,
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                    params![version, timestamp(Utc::now())],
                )
                .map_err(backend_error)?;
                transaction.commit().map_err(backend_error)?;
                applied.push(version);
            }
            Ok(applied)
        })
        .await
    }

    async fn schema_version(&self) -> StoreResult<u32> {
        self.call(|connection| {
            let table: Option<String> = connection
                .query_row(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
                    [],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend_error)?;
            if table.is_none() {
                return Ok(0);
            }
            connection
                .query_row(
                    "SELECT coalesce(max(version), 0) FROM schema_migrations",
                    [],
                    |row| row.get(0),
                )
                .map_err(backend_error)
        })
        .await
    }

    async fn upsert_areas(&self, areas: Vec<Area>) -> StoreResult<WriteSummary> {
        self.write(move |transaction| {
            let mut summary = WriteSummary::default();
            for (index, area) in areas.iter().enumerate() {
                if let Some(parent) = &area.parent {
                    let Some(parent_level) = area_level_of(transaction, parent)? else {
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
                let existed = area_level_of(transaction, &area.code)?.is_some();
                transaction
                    .prepare_cached(
                        "INSERT INTO areas (code, name, level, parent_code) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (code) DO UPDATE SET
                           name = excluded.name, level = excluded.level,
                           parent_code = excluded.parent_code",
                    )
                    .and_then(|mut statement| {
                        statement.execute(params![
                            area.code.as_str(),
                            area.name,
                            area.level.as_str(),
                            area.parent.as_ref().map(AreaCode::as_str),
                        ])
                    })
                    .map_err(backend_error)?;
                if existed {
                    summary.updated += 1;
                } else {
                    summary.inserted += 1;
                }
            }
            Ok(summary)
        })
        .await
    }

    async fn set_area_shapes(&self, shapes: Vec<(AreaCode, String)>) -> StoreResult<u64> {
        self.write(move |transaction| {
            for (index, (code, geojson)) in shapes.iter().enumerate() {
                let changed = exec(
                    transaction,
                    "UPDATE areas SET shape = ?2 WHERE code = ?1",
                    params![code.as_str(), geojson],
                )
                .map_err(backend_error)?;
                if changed == 0 {
                    return Err(StoreError::Invalid {
                        index,
                        field: "code",
                        message: format!("area {code} does not exist"),
                    });
                }
            }
            Ok(shapes.len() as u64)
        })
        .await
    }

    async fn area(&self, code: &AreaCode) -> StoreResult<Option<AreaRecord>> {
        let code = code.as_str().to_owned();
        self.call(move |connection| {
            connection
                .query_row(
                    &format!("SELECT {AREA_COLUMNS} FROM areas a WHERE a.code = ?1"),
                    [code],
                    area_record,
                )
                .optional()
                .map_err(backend_error)?
                .map(to_area_record)
                .transpose()
        })
        .await
    }

    async fn areas(&self, query: &AreaQuery) -> StoreResult<Vec<AreaRecord>> {
        let (filter, values) = area_where(query);
        let sql = format!(
            "SELECT {AREA_COLUMNS} FROM areas a {filter} ORDER BY a.code LIMIT {} OFFSET {}",
            page_limit(query.limit),
            query.offset
        );
        self.call(move |connection| {
            let mut statement = connection.prepare_cached(&sql).map_err(backend_error)?;
            let rows = statement
                .query_map(params_from_iter(values.iter()), area_record)
                .map_err(backend_error)?;
            rows.map(|row| row.map_err(backend_error).and_then(to_area_record))
                .collect()
        })
        .await
    }

    async fn count_areas(&self, query: &AreaQuery) -> StoreResult<u64> {
        let (filter, values) = area_where(query);
        let sql = format!("SELECT count(*) FROM areas a {filter}");
        self.call(move |connection| {
            connection
                .query_row(&sql, params_from_iter(values.iter()), |row| row.get(0))
                .map_err(backend_error)
        })
        .await
    }

    async fn area_shapes(&self) -> StoreResult<Vec<AreaShape>> {
        self.call(|connection| {
            let mut statement = connection
                .prepare(
                    "SELECT code, level, shape FROM areas WHERE shape IS NOT NULL ORDER BY code",
                )
                .map_err(backend_error)?;
            let rows = statement
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })
                .map_err(backend_error)?;
            rows.map(|row| {
                let (code, level, geojson) = row.map_err(backend_error)?;
                Ok(AreaShape {
                    code: AreaCode::parse(&code).map_err(|e| corrupt("area code", e))?,
                    level: AreaLevel::parse(&level).map_err(|e| corrupt("area level", e))?,
                    geojson,
                })
            })
            .collect()
        })
        .await
    }

    async fn area_shape(&self, code: &AreaCode) -> StoreResult<Option<String>> {
        let code = code.as_str().to_owned();
        self.call(move |connection| {
            connection
                .query_row("SELECT shape FROM areas WHERE code = ?1", [code], |row| {
                    row.get::<_, Option<String>>(0)
                })
                .optional()
                .map(Option::flatten)
                .map_err(backend_error)
        })
        .await
    }

    async fn upsert_departments(
        &self,
        departments: Vec<Department>,
        audit: Audit,
    ) -> StoreResult<WriteSummary> {
        self.write(move |transaction| {
            let mut summary = WriteSummary::default();
            for (index, department) in departments.iter().enumerate() {
                for area in &department.areas {
                    if area_level_of(transaction, area)?.is_none() {
                        return Err(StoreError::Invalid {
                            index,
                            field: "areas",
                            message: format!("area {area} does not exist"),
                        });
                    }
                }
                let existed = exists(
                    transaction,
                    "SELECT 1 FROM departments WHERE id = ?1",
                    department.id.as_str(),
                )?;
                exec(
                    transaction,
                    "INSERT INTO departments (id, name, kind, phone) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (id) DO UPDATE SET
                           name = excluded.name, kind = excluded.kind, phone = excluded.phone",
                    params![
                        department.id.as_str(),
                        department.name,
                        department.kind.as_str(),
                        department.phone
                    ],
                )
                .map_err(backend_error)?;
                exec(
                    transaction,
                    "DELETE FROM department_areas WHERE department_id = ?1",
                    [department.id.as_str()],
                )
                .map_err(backend_error)?;
                for area in &department.areas {
                    exec(
                        transaction,
                        "INSERT INTO department_areas (department_id, area_code) VALUES (?1, ?2)",
                        params![department.id.as_str(), area.as_str()],
                    )
                    .map_err(backend_error)?;
                }
                if existed {
                    summary.updated += 1;
                } else {
                    summary.inserted += 1;
                }
            }
            write_leaves(transaction, &audit)?;
            Ok(summary)
        })
        .await
    }

    async fn department(&self, id: &DepartmentId) -> StoreResult<Option<Department>> {
        let id = id.as_str().to_owned();
        self.call(move |connection| load_department(connection, &id))
            .await
    }

    async fn departments(&self, covering: Option<&AreaCode>) -> StoreResult<Vec<Department>> {
        let covering = covering.map(|code| code.as_str().to_owned());
        self.call(move |connection| {
            let ids: Vec<String> = match &covering {
                Some(area) => connection
                    .prepare(
                        "SELECT department_id FROM department_areas WHERE area_code = ?1
                         ORDER BY department_id",
                    )
                    .and_then(|mut s| s.query_map([area], |row| row.get(0))?.collect())
                    .map_err(backend_error)?,
                None => connection
                    .prepare("SELECT id FROM departments ORDER BY id")
                    .and_then(|mut s| s.query_map([], |row| row.get(0))?.collect())
                    .map_err(backend_error)?,
            };
            ids.iter()
                .filter_map(|id| load_department(connection, id).transpose())
                .collect()
        })
        .await
    }

    async fn upsert_categories(&self, categories: Vec<Category>) -> StoreResult<WriteSummary> {
        self.write(move |transaction| {
            let mut summary = WriteSummary::default();
            for category in &categories {
                let existed = transaction
                    .query_row(
                        "SELECT 1 FROM categories WHERE kind = ?1 AND code = ?2",
                        params![category.kind.as_str(), category.code.as_str()],
                        |_| Ok(()),
                    )
                    .optional()
                    .map_err(backend_error)?
                    .is_some();
                transaction
                    .prepare_cached(
                        "INSERT INTO categories (kind, code, class_code, class_name, name, standard)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (kind, code) DO UPDATE SET
                           class_code = excluded.class_code, class_name = excluded.class_name,
                           name = excluded.name, standard = excluded.standard",
                    )
                    .and_then(|mut statement| {
                        statement.execute(params![
                            category.kind.as_str(),
                            category.code.as_str(),
                            category.class_code,
                            category.class_name,
                            category.name,
                            category.standard
                        ])
                    })
                    .map_err(backend_error)?;
                if existed {
                    summary.updated += 1;
                } else {
                    summary.inserted += 1;
                }
            }
            Ok(summary)
        })
        .await
    }

    async fn category(&self, kind: CategoryKind, code: &str) -> StoreResult<Option<Category>> {
        let code = code.to_owned();
        self.call(move |connection| {
            connection
                .query_row(
                    "SELECT kind, code, class_code, class_name, name, standard FROM categories
                     WHERE kind = ?1 AND code = ?2",
                    params![kind.as_str(), code],
                    to_category,
                )
                .optional()
                .map_err(backend_error)?
                .map(parse_category)
                .transpose()
        })
        .await
    }

    async fn categories(&self, query: &CategoryQuery) -> StoreResult<Vec<Category>> {
        let (filter, values) = category_where(query);
        let sql = format!(
            "SELECT kind, code, class_code, class_name, name, standard FROM categories {filter}
             ORDER BY code, kind LIMIT {} OFFSET {}",
            page_limit(query.limit),
            query.offset
        );
        self.call(move |connection| {
            let mut statement = connection.prepare_cached(&sql).map_err(backend_error)?;
            let rows = statement
                .query_map(params_from_iter(values.iter()), to_category)
                .map_err(backend_error)?;
            rows.map(|row| row.map_err(backend_error).and_then(parse_category))
                .collect()
        })
        .await
    }

    async fn count_categories(&self, query: &CategoryQuery) -> StoreResult<u64> {
        let (filter, values) = category_where(query);
        let sql = format!("SELECT count(*) FROM categories {filter}");
        self.call(move |connection| {
            connection
                .query_row(&sql, params_from_iter(values.iter()), |row| row.get(0))
                .map_err(backend_error)
        })
        .await
    }

    async fn upsert_responsibilities(
        &self,
        rows: Vec<Responsibility>,
        audit: Audit,
    ) -> StoreResult<WriteSummary> {
        self.write(move |transaction| {
            let mut summary = WriteSummary::default();
            for (index, row) in rows.iter().enumerate() {
                if area_level_of(transaction, &row.area)?.is_none() {
                    return Err(StoreError::Invalid {
                        index,
                        field: "area",
                        message: format!("area {} does not exist", row.area),
                    });
                }
                if !exists(
                    transaction,
                    "SELECT 1 FROM departments WHERE id = ?1",
                    row.department.as_str(),
                )? {
                    return Err(StoreError::Invalid {
                        index,
                        field: "department",
                        message: format!("department {} does not exist", row.department),
                    });
                }
                let selector = row.category.to_string();
                let existed = transaction
                    .query_row(
                        "SELECT 1 FROM responsibilities WHERE category = ?1 AND area_code = ?2",
                        params![selector, row.area.as_str()],
                        |_| Ok(()),
                    )
                    .optional()
                    .map_err(backend_error)?
                    .is_some();
                exec(
                    transaction,
                    "INSERT INTO responsibilities (category, area_code, department_id, basis)
                         VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (category, area_code) DO UPDATE SET
                           department_id = excluded.department_id, basis = excluded.basis",
                    params![
                        selector,
                        row.area.as_str(),
                        row.department.as_str(),
                        row.basis
                    ],
                )
                .map_err(backend_error)?;
                if existed {
                    summary.updated += 1;
                } else {
                    summary.inserted += 1;
                }
            }
            write_leaves(transaction, &audit)?;
            Ok(summary)
        })
        .await
    }

    async fn responsibilities(
        &self,
        query: &ResponsibilityQuery,
    ) -> StoreResult<Vec<Responsibility>> {
        let area = query.area.as_ref().map(|a| a.as_str().to_owned());
        let department = query.department.as_ref().map(|d| d.as_str().to_owned());
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT category, area_code, department_id, basis FROM responsibilities
                     WHERE (?1 IS NULL OR area_code = ?1) AND (?2 IS NULL OR department_id = ?2)
                     ORDER BY area_code, category",
                )
                .map_err(backend_error)?;
            let rows = statement
                .query_map(params![area, department], to_responsibility)
                .map_err(backend_error)?;
            rows.map(|row| row.map_err(backend_error).and_then(parse_responsibility))
                .collect()
        })
        .await
    }

    async fn responsibilities_at(&self, areas: &[AreaCode]) -> StoreResult<Vec<Responsibility>> {
        let codes: Vec<String> = areas.iter().map(|a| a.as_str().to_owned()).collect();
        self.call(move |connection| {
            let mut found = Vec::new();
            let mut statement = connection
                .prepare_cached(
                    "SELECT category, area_code, department_id, basis FROM responsibilities
                     WHERE area_code = ?1 ORDER BY category",
                )
                .map_err(backend_error)?;
            for code in &codes {
                let rows = statement
                    .query_map([code], to_responsibility)
                    .map_err(backend_error)?;
                for row in rows {
                    found.push(parse_responsibility(row.map_err(backend_error)?)?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn delete_responsibility(
        &self,
        category: &str,
        area: &AreaCode,
        audit: Audit,
    ) -> StoreResult<()> {
        let (category, area) = (category.to_owned(), area.as_str().to_owned());
        self.write(move |transaction| {
            let deleted = exec(
                transaction,
                "DELETE FROM responsibilities WHERE category = ?1 AND area_code = ?2",
                params![category, area],
            )
            .map_err(backend_error)?;
            if deleted == 0 {
                return Err(StoreError::NotFound {
                    what: format!("responsibility for {category} at {area}"),
                });
            }
            write_leaves(transaction, &audit)
        })
        .await
    }

    async fn create_user(
        &self,
        user: NewUser,
        password_hash: String,
        audit: AuditFor,
    ) -> StoreResult<User> {
        self.write(move |transaction| {
            if exists(
                transaction,
                "SELECT 1 FROM users WHERE username = ?1",
                &user.username,
            )? {
                return Err(StoreError::Conflict {
                    what: format!("user {}", user.username),
                });
            }
            check_grant_references(transaction, user.department.as_ref(), &user.areas)?;
            exec(transaction,
                    "INSERT INTO users (username, display_name, role, department_id, phone, password_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        user.username,
                        user.display_name,
                        user.role.as_str(),
                        user.department.as_ref().map(DepartmentId::as_str),
                        user.phone,
                        password_hash
                    ],
                )
                .map_err(backend_error)?;
            let id = transaction.last_insert_rowid();
            for area in &user.areas {
                exec(transaction,
                        "INSERT INTO user_areas (user_id, area_code) VALUES (?1, ?2)",
                        params![id, area.as_str()],
                    )
                    .map_err(backend_error)?;
            }
            write_leaves(transaction, &audit(UserId(id)))?;
            Ok(User {
                id: UserId(id),
                username: user.username,
                display_name: user.display_name,
                role: user.role,
                department: user.department,
                areas: user.areas,
                phone: user.phone,
            })
        })
        .await
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        self.call(move |connection| {
            let row = connection
                .query_row(
                    &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                    [id.0],
                    user_row,
                )
                .optional()
                .map_err(backend_error)?;
            row.map(|row| build_user(connection, row)).transpose()
        })
        .await
    }

    async fn user_credentials(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        let username = username.to_owned();
        self.call(move |connection| {
            let row = connection
                .query_row(
                    &format!(
                        "SELECT {USER_COLUMNS}, password_hash FROM users
                         WHERE username = ?1 AND revoked_at IS NULL"
                    ),
                    [username],
                    |row| Ok((user_row(row)?, row.get::<_, String>(6)?)),
                )
                .optional()
                .map_err(backend_error)?;
            row.map(|(row, hash)| Ok((build_user(connection, row)?, hash)))
                .transpose()
        })
        .await
    }

    async fn users(&self, department: Option<&DepartmentId>) -> StoreResult<Vec<User>> {
        let department = department.map(|d| d.as_str().to_owned());
        self.call(move |connection| {
            let mut statement = connection
                .prepare(&format!(
                    "SELECT {USER_COLUMNS} FROM users
                     WHERE (?1 IS NULL OR department_id = ?1) ORDER BY id"
                ))
                .map_err(backend_error)?;
            let rows: Vec<UserRow> = statement
                .query_map([department], user_row)
                .and_then(|rows| rows.collect())
                .map_err(backend_error)?;
            rows.into_iter()
                .map(|row| build_user(connection, row))
                .collect()
        })
        .await
    }

    async fn create_token(&self, token: TokenRecord, audit: Audit) -> StoreResult<()> {
        self.write(move |transaction| {
            exec(
                transaction,
                "INSERT INTO api_tokens (token_sha256, user_id, label, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    token.token_sha256,
                    token.user.0,
                    token.label,
                    timestamp(token.created_at),
                    token.expires_at.map(timestamp)
                ],
            )
            .map_err(backend_error)?;
            write_leaves(transaction, &audit)
        })
        .await
    }

    async fn user_by_token(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        let token = token_sha256.to_owned();
        self.call(move |connection| {
            let row = connection
                .query_row(
                    "SELECT u.id, u.username, u.display_name, u.role, u.department_id, u.phone
                     FROM api_tokens t JOIN users u ON u.id = t.user_id
                     WHERE t.token_sha256 = ?1 AND t.revoked_at IS NULL AND u.revoked_at IS NULL
                       AND (t.expires_at IS NULL OR t.expires_at > ?2)",
                    params![token, timestamp(now)],
                    user_row,
                )
                .optional()
                .map_err(backend_error)?;
            row.map(|row| build_user(connection, row)).transpose()
        })
        .await
    }

    async fn change_grant(
        &self,
        id: UserId,
        role: Role,
        department: Option<DepartmentId>,
        areas: Vec<AreaCode>,
        audit: Audit,
    ) -> StoreResult<User> {
        self.write(move |transaction| {
            check_grant_references(transaction, department.as_ref(), &areas)?;
            let changed = exec(
                transaction,
                "UPDATE users SET role = ?2, department_id = ?3 WHERE id = ?1 AND revoked_at IS NULL",
                params![id.0, role.as_str(), department.as_ref().map(DepartmentId::as_str)],
            )
            .map_err(backend_error)?;
            if changed == 0 {
                return Err(StoreError::NotFound {
                    what: format!("user {}", id.0),
                });
            }
            exec(transaction, "DELETE FROM user_areas WHERE user_id = ?1", [id.0])
                .map_err(backend_error)?;
            for area in &areas {
                exec(
                    transaction,
                    "INSERT INTO user_areas (user_id, area_code) VALUES (?1, ?2)",
                    params![id.0, area.as_str()],
                )
                .map_err(backend_error)?;
            }
            write_leaves(transaction, &audit)?;
            let row = transaction
                .query_row(
                    &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                    [id.0],
                    user_row,
                )
                .map_err(backend_error)?;
            build_user(transaction, row)
        })
        .await
    }

    async fn revoke_user(&self, id: UserId, at: DateTime<Utc>, audit: Audit) -> StoreResult<()> {
        self.write(move |transaction| {
            let changed = exec(
                transaction,
                "UPDATE users SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id.0, timestamp(at)],
            )
            .map_err(backend_error)?;
            if changed == 0 {
                return Err(StoreError::NotFound {
                    what: format!("user {}", id.0),
                });
            }
            exec(
                transaction,
                "UPDATE api_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
                params![id.0, timestamp(at)],
            )
            .map_err(backend_error)?;
            write_leaves(transaction, &audit)
        })
        .await
    }

    async fn revoke_tokens(&self, user: UserId) -> StoreResult<u64> {
        self.write(move |transaction| {
            exec(
                transaction,
                "UPDATE api_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
                params![user.0, timestamp(Utc::now())],
            )
            .map(|n| n as u64)
            .map_err(backend_error)
        })
        .await
    }

    async fn revoke_token(&self, token_sha256: &str) -> StoreResult<bool> {
        let token = token_sha256.to_owned();
        self.write(move |transaction| {
            exec(
                transaction,
                "UPDATE api_tokens SET revoked_at = ?2 WHERE token_sha256 = ?1 AND revoked_at IS NULL",
                params![token, timestamp(Utc::now())],
            )
            .map(|n| n > 0)
            .map_err(backend_error)
        })
        .await
    }

    async fn allocate_case_ids(&self, count: u32) -> StoreResult<Vec<i64>> {
        self.write(move |transaction| {
            exec(transaction, "INSERT INTO case_ids DEFAULT VALUES", []).map_err(backend_error)?;
            let first = transaction.last_insert_rowid();
            // AUTOINCREMENT continues after sqlite_sequence: reserve the
            // rest of the block there, and keep the table itself empty.
            exec(
                transaction,
                "UPDATE sqlite_sequence SET seq = seq + ?1 WHERE name = 'case_ids'",
                [i64::from(count.max(1)) - 1],
            )
            .map_err(backend_error)?;
            exec(transaction, "DELETE FROM case_ids", []).map_err(backend_error)?;
            Ok((first..first + i64::from(count.max(1))).collect())
        })
        .await
    }

    async fn insert_case(
        &self,
        case: CaseRow,
        events: Vec<CaseEventRow>,
        timers: Vec<TimerSpec>,
        attachments: Attachments,
        audit: Audit,
    ) -> StoreResult<()> {
        self.write(move |transaction| {
            if exists(
                transaction,
                "SELECT 1 FROM cases WHERE id = ?1",
                &case.id.to_string(),
            )? {
                return Err(StoreError::Conflict {
                    what: format!("case {}", case.id),
                });
            }
            exec(
                transaction,
                CASE_INSERT,
                params_from_iter(case_values(&case)),
            )
            .map_err(backend_error)?;
            write_case_units(transaction, &case)?;
            write_events(transaction, &events)?;
            write_timers(transaction, case.id, &timers)?;
            write_attachments(transaction, case.id, &attachments)?;
            write_leaves(transaction, &audit)
        })
        .await
    }

    async fn create_datastream(
        &self,
        datastream: DatastreamRecord,
        audit: Audit,
    ) -> StoreResult<i64> {
        self.write(move |transaction| {
            exec(
                transaction,
                "INSERT INTO datastreams (name, thing, property, unit, period_minutes, lon, lat,
                     area_path, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    datastream.name,
                    datastream.thing,
                    datastream.property,
                    datastream.unit,
                    datastream.period_minutes,
                    datastream.lon,
                    datastream.lat,
                    path_text(&datastream.area_path),
                    timestamp(datastream.created_at)
                ],
            )
            .map_err(backend_error)?;
            let id = transaction.last_insert_rowid();
            write_leaves(transaction, &audit)?;
            Ok(id)
        })
        .await
    }

    async fn datastreams(&self) -> StoreResult<Vec<DatastreamRecord>> {
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {DATASTREAM_COLUMNS} FROM datastreams ORDER BY id"
                ))
                .map_err(backend_error)?;
            let mut rows = statement.query([]).map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                found.push(datastream_from_row(row)?);
            }
            Ok(found)
        })
        .await
    }

    async fn datastream(&self, id: i64) -> StoreResult<Option<DatastreamRecord>> {
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {DATASTREAM_COLUMNS} FROM datastreams WHERE id = ?1"
                ))
                .map_err(backend_error)?;
            let mut rows = statement.query(params![id]).map_err(backend_error)?;
            match rows.next().map_err(backend_error)? {
                Some(row) => Ok(Some(datastream_from_row(row)?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn insert_observations(
        &self,
        observations: Vec<ObservationRow>,
    ) -> StoreResult<Vec<Option<i64>>> {
        self.write(move |transaction| {
            let mut known = std::collections::HashSet::new();
            let mut latest: std::collections::HashMap<i64, DateTime<Utc>> =
                std::collections::HashMap::new();
            let mut fresh = vec![None; observations.len()];
            // In index order: each datastream's rows land together in the
            // (datastream, time) index instead of one page per datastream
            // per hour.
            let mut order: Vec<usize> = (0..observations.len()).collect();
            order.sort_by_key(|i| {
                (
                    observations[*i].datastream,
                    observations[*i].phenomenon_time,
                )
            });
            let mut insert = transaction
                .prepare_cached(
                    "INSERT OR IGNORE INTO observations
                         (datastream_id, phenomenon_time, result, received_at, feature_id, extra)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(backend_error)?;
            for i in order {
                let observation = &observations[i];
                if known.insert(observation.datastream)
                    && !exists(
                        transaction,
                        "SELECT 1 FROM datastreams WHERE id = ?1",
                        &observation.datastream.to_string(),
                    )?
                {
                    return Err(StoreError::NotFound {
                        what: format!("datastream {}", observation.datastream),
                    });
                }
                let inserted = insert
                    .execute(params![
                        observation.datastream,
                        micros(observation.phenomenon_time),
                        observation.result,
                        micros(observation.received_at),
                        observation.feature,
                        observation.extra,
                    ])
                    .map_err(backend_error)?;
                fresh[i] = (inserted == 1).then(|| transaction.last_insert_rowid());
                let entry = latest
                    .entry(observation.datastream)
                    .or_insert(observation.phenomenon_time);
                *entry = (*entry).max(observation.phenomenon_time);
            }
            for (datastream, at) in latest {
                exec(
                    transaction,
                    "UPDATE datastreams SET last_at = ?2
                         WHERE id = ?1 AND (last_at IS NULL OR last_at < ?2)",
                    params![datastream, timestamp(at)],
                )
                .map_err(backend_error)?;
            }
            Ok(fresh)
        })
        .await
    }

    async fn observations(
        &self,
        datastream: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<ObservationRow>> {
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {OBSERVATION_COLUMNS} FROM observations
                     WHERE datastream_id = ?1 AND phenomenon_time >= ?2 AND phenomenon_time < ?3
                     ORDER BY phenomenon_time LIMIT ?4 OFFSET ?5"
                ))
                .map_err(backend_error)?;
            let rows = statement
                .query(params![
                    datastream,
                    micros(from),
                    micros(to),
                    page_limit(limit),
                    offset
                ])
                .map_err(backend_error)?;
            observations_from_rows(rows)
        })
        .await
    }

    async fn scan_observations(&self, scan: ObservationScan) -> StoreResult<Vec<ObservationRow>> {
        self.call(move |connection| {
            let mut sql = format!("SELECT {OBSERVATION_COLUMNS} FROM observations WHERE id > ?1");
            let mut values: Vec<rusqlite::types::Value> = vec![scan.after_id.into()];
            let mut condition = |sql_part: &str, value: rusqlite::types::Value| {
                values.push(value);
                sql.push_str(&format!(" AND {sql_part} ?{}", values.len()));
            };
            if let Some(id) = scan.id {
                condition("id =", id.into());
            }
            if let Some(datastream) = scan.datastream {
                condition("datastream_id =", datastream.into());
            }
            if let Some(feature) = scan.feature {
                condition("feature_id =", feature.into());
            }
            if let Some((from, inclusive)) = scan.from {
                let op = if inclusive { ">=" } else { ">" };
                condition(&format!("phenomenon_time {op}"), micros(from).into());
            }
            if let Some((to, inclusive)) = scan.to {
                let op = if inclusive { "<=" } else { "<" };
                condition(&format!("phenomenon_time {op}"), micros(to).into());
            }
            values.push(i64::from(page_limit(scan.limit)).into());
            sql.push_str(&format!(" ORDER BY id LIMIT ?{}", values.len()));
            let mut statement = connection.prepare_cached(&sql).map_err(backend_error)?;
            let rows = statement
                .query(rusqlite::params_from_iter(values))
                .map_err(backend_error)?;
            observations_from_rows(rows)
        })
        .await
    }

    async fn update_observation(&self, observation: ObservationRow) -> StoreResult<()> {
        self.write(move |transaction| {
            let changed = exec(
                transaction,
                "UPDATE observations SET phenomenon_time = ?2, result = ?3, feature_id = ?4, extra = ?5
                 WHERE id = ?1",
                params![
                    observation.id,
                    micros(observation.phenomenon_time),
                    observation.result,
                    observation.feature,
                    observation.extra
                ],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::Conflict {
                        what: format!(
                            "an observation of datastream {} at {} is stored already",
                            observation.datastream,
                            timestamp(observation.phenomenon_time)
                        ),
                    }
                }
                other => backend_error(other),
            })?;
            if changed == 0 {
                return Err(StoreError::NotFound {
                    what: format!("observation {}", observation.id),
                });
            }
            Ok(())
        })
        .await
    }

    async fn delete_observations(&self, ids: Vec<i64>) -> StoreResult<u64> {
        self.write(move |transaction| {
            let mut deleted = 0;
            for id in ids {
                deleted += exec(
                    transaction,
                    "DELETE FROM observations WHERE id = ?1",
                    params![id],
                )
                .map_err(backend_error)? as u64;
            }
            Ok(deleted)
        })
        .await
    }

    async fn delete_datastream(&self, id: i64) -> StoreResult<()> {
        self.write(move |transaction| {
            if exists(
                transaction,
                "SELECT 1 FROM alarms WHERE datastream_id = ?1",
                &id.to_string(),
            )? {
                return Err(StoreError::Conflict {
                    what: format!(
                        "datastream {id} has alarms on record (part of cases' history); it cannot be deleted"
                    ),
                });
            }
            exec(
                transaction,
                "DELETE FROM observations WHERE datastream_id = ?1",
                params![id],
            )
            .map_err(backend_error)?;
            let gone = exec(
                transaction,
                "DELETE FROM datastreams WHERE id = ?1",
                params![id],
            )
            .map_err(backend_error)?;
            if gone == 0 {
                return Err(StoreError::NotFound {
                    what: format!("datastream {id}"),
                });
            }
            Ok(())
        })
        .await
    }

    async fn record_vital_samples(&self, samples: Vec<VitalSample>) -> StoreResult<()> {
        self.write(move |transaction| {
            for sample in &samples {
                exec(
                    transaction,
                    "INSERT OR IGNORE INTO vital_samples (at, area_code, indicator, value, status)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        timestamp(sample.at),
                        sample.area,
                        sample.indicator,
                        sample.value,
                        sample.status
                    ],
                )
                .map_err(backend_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn vital_samples(
        &self,
        area: &str,
        indicator: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<VitalSample>> {
        let (area, indicator) = (area.to_owned(), indicator.to_owned());
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT at, value, status FROM vital_samples
                     WHERE area_code = ?1 AND indicator = ?2 AND at >= ?3 AND at < ?4
                     ORDER BY at LIMIT ?5",
                )
                .map_err(backend_error)?;
            let mut rows = statement
                .query(params![
                    area,
                    indicator,
                    timestamp(from),
                    timestamp(to),
                    page_limit(limit)
                ])
                .map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                let at: String = row.get(0).map_err(backend_error)?;
                found.push(VitalSample {
                    at: parse_time("vital sample time", &at)?,
                    area: area.clone(),
                    indicator: indicator.clone(),
                    value: row.get(1).map_err(backend_error)?,
                    status: row.get(2).map_err(backend_error)?,
                });
            }
            Ok(found)
        })
        .await
    }

    async fn delete_vital_samples_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.write(move |transaction| {
            exec(
                transaction,
                "DELETE FROM vital_samples WHERE at < ?1",
                params![timestamp(before)],
            )
            .map(|n| n as u64)
            .map_err(backend_error)
        })
        .await
    }

    async fn sta_docs(&self) -> StoreResult<Vec<StaDoc>> {
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT entity_set, id, doc FROM sta_entities ORDER BY entity_set, id",
                )
                .map_err(backend_error)?;
            let mut rows = statement.query([]).map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                found.push(StaDoc {
                    set: row.get(0).map_err(backend_error)?,
                    id: row.get(1).map_err(backend_error)?,
                    doc: row.get(2).map_err(backend_error)?,
                });
            }
            Ok(found)
        })
        .await
    }

    async fn save_sta_docs(&self, put: Vec<StaDoc>, delete: Vec<(String, i64)>) -> StoreResult<()> {
        self.write(move |transaction| {
            for (set, id) in delete {
                exec(
                    transaction,
                    "DELETE FROM sta_entities WHERE entity_set = ?1 AND id = ?2",
                    params![set, id],
                )
                .map_err(backend_error)?;
            }
            for doc in put {
                exec(
                    transaction,
                    "INSERT INTO sta_entities (entity_set, id, doc) VALUES (?1, ?2, ?3)
                     ON CONFLICT (entity_set, id) DO UPDATE SET doc = excluded.doc",
                    params![doc.set, doc.id, doc.doc],
                )
                .map_err(backend_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn observation_buckets(
        &self,
        datastream: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket_minutes: u32,
        limit: u32,
    ) -> StoreResult<Vec<ObservationBucket>> {
        let seconds = i64::from(bucket_minutes.max(1)) * 60;
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT phenomenon_time / 1000000 / ?4 AS b,
                            count(*), avg(result), min(result), max(result)
                     FROM observations
                     WHERE datastream_id = ?1 AND phenomenon_time >= ?2 AND phenomenon_time < ?3
                     GROUP BY b ORDER BY b LIMIT ?5",
                )
                .map_err(backend_error)?;
            let mut rows = statement
                .query(params![
                    datastream,
                    micros(from),
                    micros(to),
                    seconds,
                    page_limit(limit)
                ])
                .map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                let bucket: i64 = row.get(0).map_err(backend_error)?;
                let count: i64 = row.get(1).map_err(backend_error)?;
                found.push(ObservationBucket {
                    start: DateTime::from_timestamp(bucket * seconds, 0)
                        .ok_or_else(|| corrupt("observation bucket", bucket))?,
                    count: count as u64,
                    mean: row.get(2).map_err(backend_error)?,
                    min: row.get(3).map_err(backend_error)?,
                    max: row.get(4).map_err(backend_error)?,
                });
            }
            Ok(found)
        })
        .await
    }

    async fn delete_observations_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.write(move |transaction| {
            exec(
                transaction,
                "DELETE FROM observations WHERE phenomenon_time < ?1",
                params![micros(before)],
            )
            .map(|n| n as u64)
            .map_err(backend_error)
        })
        .await
    }

    async fn raise_alarm(&self, alarm: AlarmRecord) -> StoreResult<i64> {
        self.write(move |transaction| {
            exec(
                transaction,
                "INSERT INTO alarms (rule_id, datastream_id, severity, reason, raised_at, case_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    alarm.rule,
                    alarm.datastream,
                    alarm.severity,
                    alarm.reason,
                    timestamp(alarm.raised_at),
                    alarm.case_id
                ],
            )
            .map_err(backend_error)?;
            Ok(transaction.last_insert_rowid())
        })
        .await
    }

    async fn record_alarms(&self, changes: Vec<AlarmChange>) -> StoreResult<Vec<AlarmOutcome>> {
        self.write(move |transaction| {
            let latest = |rule: &str, datastream: i64| -> StoreResult<Option<(i64, Option<i64>, bool)>> {
                transaction
                    .prepare_cached(
                        "SELECT id, case_id, cleared_at IS NULL FROM alarms
                         WHERE datastream_id = ?1 AND rule_id = ?2 ORDER BY id DESC LIMIT 1",
                    )
                    .and_then(|mut statement| {
                        statement
                            .query_row(params![datastream, rule], |row| {
                                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                            })
                            .optional()
                    })
                    .map_err(backend_error)
            };
            let mut outcomes = Vec::with_capacity(changes.len());
            for change in &changes {
                match change {
                    AlarmChange::Raise { alarm, carry } => {
                        let previous = latest(&alarm.rule, alarm.datastream)?;
                        exec(
                            transaction,
                            "INSERT INTO alarms (rule_id, datastream_id, severity, reason, raised_at, case_work)
                                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            params![
                                alarm.rule,
                                alarm.datastream,
                                alarm.severity,
                                alarm.reason,
                                timestamp(alarm.raised_at),
                                if *carry { CASE_WORK_RAISE } else { 0 }
                            ],
                        )
                        .map_err(backend_error)?;
                        outcomes.push(AlarmOutcome {
                            alarm: Some(transaction.last_insert_rowid()),
                            case_id: previous.and_then(|(_, case, _)| case),
                        });
                    }
                    AlarmChange::Clear {
                        rule,
                        datastream,
                        at,
                        reason,
                        carry,
                    } => match latest(rule, *datastream)? {
                        Some((id, case_id, true)) => {
                            exec(
                                transaction,
                                "UPDATE alarms SET cleared_at = ?2, clear_reason = ?3,
                                     case_work = case_work | ?4 WHERE id = ?1",
                                params![
                                    id,
                                    timestamp(*at),
                                    reason,
                                    if *carry { CASE_WORK_CLEAR } else { 0 }
                                ],
                            )
                            .map_err(backend_error)?;
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
            Ok(outcomes)
        })
        .await
    }

    async fn alarm_work(&self, limit: u32) -> StoreResult<Vec<(AlarmRecord, u8)>> {
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {ALARM_COLUMNS}, case_work FROM alarms WHERE case_work <> 0
                     ORDER BY id LIMIT ?1"
                ))
                .map_err(backend_error)?;
            let mut rows = statement
                .query(params![page_limit(limit)])
                .map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                let work: u8 = row.get(ALARM_COLUMN_COUNT).map_err(backend_error)?;
                found.push((alarm_from_row(row)?, work));
            }
            Ok(found)
        })
        .await
    }

    async fn finish_alarm_work(&self, id: i64, done: u8, case_id: Option<i64>) -> StoreResult<()> {
        self.write(move |transaction| {
            let changed = exec(
                transaction,
                "UPDATE alarms SET case_work = case_work & ~?2, case_id = coalesce(?3, case_id)
                 WHERE id = ?1",
                params![id, done, case_id],
            )
            .map_err(backend_error)?;
            if changed == 0 {
                return Err(StoreError::NotFound {
                    what: format!("alarm {id}"),
                });
            }
            Ok(())
        })
        .await
    }

    async fn alarm_case_before(
        &self,
        rule: &str,
        datastream: i64,
        before: i64,
    ) -> StoreResult<Option<i64>> {
        let rule = rule.to_owned();
        self.call(move |connection| {
            connection
                .prepare_cached(
                    "SELECT case_id FROM alarms WHERE datastream_id = ?1 AND rule_id = ?2 AND id < ?3
                     ORDER BY id DESC LIMIT 1",
                )
                .and_then(|mut statement| {
                    statement
                        .query_row(params![datastream, rule, before], |row| row.get(0))
                        .optional()
                })
                .map(Option::flatten)
                .map_err(backend_error)
        })
        .await
    }

    async fn set_alarm_case(&self, id: i64, case_id: i64) -> StoreResult<()> {
        self.write(move |transaction| {
            let changed = exec(
                transaction,
                "UPDATE alarms SET case_id = ?2 WHERE id = ?1",
                params![id, case_id],
            )
            .map_err(backend_error)?;
            if changed == 0 {
                return Err(StoreError::NotFound {
                    what: format!("alarm {id}"),
                });
            }
            Ok(())
        })
        .await
    }

    async fn clear_alarm(&self, id: i64, at: DateTime<Utc>, reason: &str) -> StoreResult<()> {
        let reason = reason.to_owned();
        self.write(move |transaction| {
            let changed = exec(
                transaction,
                "UPDATE alarms SET cleared_at = ?2, clear_reason = ?3
                     WHERE id = ?1 AND cleared_at IS NULL",
                params![id, timestamp(at), reason],
            )
            .map_err(backend_error)?;
            if changed == 0 {
                return Err(alarm_missing_or(transaction, id, "clearing")?);
            }
            Ok(())
        })
        .await
    }

    async fn acknowledge_alarm(
        &self,
        id: i64,
        by: UserId,
        at: DateTime<Utc>,
        audit: Audit,
    ) -> StoreResult<()> {
        self.write(move |transaction| {
            let changed = exec(
                transaction,
                "UPDATE alarms SET acknowledged_at = ?2, acknowledged_by = ?3
                     WHERE id = ?1 AND acknowledged_at IS NULL",
                params![id, timestamp(at), by.0],
            )
            .map_err(backend_error)?;
            if changed == 0 {
                return Err(alarm_missing_or(transaction, id, "acknowledgement")?);
            }
            write_leaves(transaction, &audit)
        })
        .await
    }

    async fn alarm(&self, id: i64) -> StoreResult<Option<AlarmRecord>> {
        Ok(self
            .alarm_query(
                format!("SELECT {ALARM_COLUMNS} FROM alarms WHERE id = ?1"),
                vec![id.into()],
            )
            .await?
            .pop())
    }

    async fn alarms(&self, active_only: bool, limit: u32) -> StoreResult<Vec<AlarmRecord>> {
        let filter = if active_only {
            "WHERE cleared_at IS NULL"
        } else {
            ""
        };
        self.alarm_query(
            format!(
                "SELECT {ALARM_COLUMNS} FROM alarms {filter} ORDER BY id DESC LIMIT {}",
                page_limit(limit)
            ),
            Vec::new(),
        )
        .await
    }

    async fn latest_alarm(&self, rule: &str, datastream: i64) -> StoreResult<Option<AlarmRecord>> {
        self.alarm_query(
            format!(
                "SELECT {ALARM_COLUMNS} FROM alarms WHERE datastream_id = ?1 AND rule_id = ?2
                 ORDER BY id DESC LIMIT 1"
            ),
            vec![datastream.into(), rule.to_owned().into()],
        )
        .await
        .map(|mut found| found.pop())
    }

    async fn case_report(&self, id: i64) -> StoreResult<Option<CaseReport>> {
        self.call(move |connection| {
            connection
                .query_row(
                    "SELECT attributes, client, token FROM case_reports WHERE case_id = ?1",
                    params![id],
                    |row| {
                        Ok(CaseReport {
                            attributes: row.get(0)?,
                            client: row.get(1)?,
                            token: row.get(2)?,
                        })
                    },
                )
                .optional()
                .map_err(backend_error)
        })
        .await
    }

    async fn case_by_token(&self, token: &str) -> StoreResult<Option<i64>> {
        let token = token.to_owned();
        self.call(move |connection| {
            connection
                .query_row(
                    "SELECT case_id FROM case_reports WHERE token = ?1",
                    params![token],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend_error)
        })
        .await
    }

    async fn put_media(&self, upload: MediaUpload, audit: Audit) -> StoreResult<()> {
        self.write(move |transaction| {
            let case_id = upload.record.case_id;
            if !exists(
                transaction,
                "SELECT 1 FROM cases WHERE id = ?1",
                &case_id.to_string(),
            )? {
                return Err(StoreError::NotFound {
                    what: format!("case {case_id}"),
                });
            }
            write_media(transaction, &upload)?;
            write_leaves(transaction, &audit)
        })
        .await
    }

    async fn media(&self, id: &str) -> StoreResult<Option<MediaUpload>> {
        let id = id.to_owned();
        self.call(move |connection| {
            let found = connection
                .query_row(
                    &format!("SELECT {MEDIA_COLUMNS}, bytes FROM media WHERE id = ?1"),
                    params![id],
                    |row| Ok((media_from_row(row), row.get::<_, Vec<u8>>(7)?)),
                )
                .optional()
                .map_err(backend_error)?;
            match found {
                None => Ok(None),
                Some((record, bytes)) => Ok(Some(MediaUpload {
                    record: record?,
                    bytes,
                })),
            }
        })
        .await
    }

    async fn case_media(&self, case_id: i64) -> StoreResult<Vec<MediaRecord>> {
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {MEDIA_COLUMNS} FROM media WHERE case_id = ?1 ORDER BY created_at, id"
                ))
                .map_err(backend_error)?;
            let mut rows = statement.query(params![case_id]).map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                found.push(media_from_row(row)?);
            }
            Ok(found)
        })
        .await
    }

    async fn create_api_key(&self, key: ApiKeyRecord, audit: Audit) -> StoreResult<()> {
        self.write(move |transaction| {
            if exists(
                transaction,
                "SELECT 1 FROM api_keys WHERE key_sha256 = ?1",
                &key.key_sha256,
            )? {
                return Err(StoreError::Conflict {
                    what: format!("api key of {}", key.name),
                });
            }
            exec(
                transaction,
                "INSERT INTO api_keys (key_sha256, name, created_at, revoked_at)
                     VALUES (?1, ?2, ?3, ?4)",
                params![
                    key.key_sha256,
                    key.name,
                    timestamp(key.created_at),
                    key.revoked_at.map(timestamp)
                ],
            )
            .map_err(backend_error)?;
            write_leaves(transaction, &audit)
        })
        .await
    }

    async fn api_key(&self, key_sha256: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let key = key_sha256.to_owned();
        let found = self
            .call(move |connection| {
                connection
                    .query_row(
                        "SELECT key_sha256, name, created_at, revoked_at FROM api_keys
                         WHERE key_sha256 = ?1",
                        params![key],
                        |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, String>(2)?,
                                row.get::<_, Option<String>>(3)?,
                            ))
                        },
                    )
                    .optional()
                    .map_err(backend_error)
            })
            .await?;
        let Some((key_sha256, name, created_at, revoked_at)) = found else {
            return Ok(None);
        };
        Ok(Some(ApiKeyRecord {
            key_sha256,
            name,
            created_at: parse_time("api key created_at", &created_at)?,
            revoked_at: revoked_at
                .map(|t| parse_time("api key revoked_at", &t))
                .transpose()?,
        }))
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
        self.write(move |transaction| {
            let mut values = case_values(&case);
            values.push(rusqlite::types::Value::Integer(expected_version as i64));
            let changed =
                exec(transaction, CASE_UPDATE, params_from_iter(values)).map_err(backend_error)?;
            if changed == 0 {
                return Err(StoreError::Conflict {
                    what: format!("a newer version of case {}", case.id),
                });
            }
            if let Some(timer) = fired_timer {
                let fired = exec(
                    transaction,
                    "UPDATE timers SET fired_at = ?3
                         WHERE id = ?1 AND case_id = ?2 AND fired_at IS NULL",
                    params![timer, case.id, timestamp(case.updated_at)],
                )
                .map_err(backend_error)?;
                if fired == 0 {
                    return Err(StoreError::Conflict {
                        what: format!("firing of timer {timer}"),
                    });
                }
            }
            write_case_units(transaction, &case)?;
            write_events(transaction, &events)?;
            write_timers(transaction, case.id, &timers)?;
            write_leaves(transaction, &audit)
        })
        .await
    }

    async fn case(&self, id: i64) -> StoreResult<Option<CaseRow>> {
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?1"))
                .map_err(backend_error)?;
            let mut rows = statement.query([id]).map_err(backend_error)?;
            match rows.next().map_err(backend_error)? {
                Some(row) => Ok(Some(case_from_row(row)?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn case_events(&self, id: i64) -> StoreResult<Vec<CaseEventRow>> {
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT case_id, seq, at, kind, actor_user, actor_role, actor_department, payload
                     FROM case_events WHERE case_id = ?1 ORDER BY seq",
                )
                .map_err(backend_error)?;
            let rows = statement
                .query_map([id], event_from_row)
                .map_err(backend_error)?;
            rows.map(|row| row.map_err(backend_error).and_then(to_event))
                .collect()
        })
        .await
    }

    async fn cases(&self, query: &CaseQuery) -> StoreResult<Vec<CaseRow>> {
        let (filter, values) = case_where(query);
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases {filter} ORDER BY created_at DESC, id DESC
             LIMIT {} OFFSET {}",
            page_limit(query.limit),
            query.offset
        );
        self.call(move |connection| {
            let mut statement = connection.prepare_cached(&sql).map_err(backend_error)?;
            let mut rows = statement
                .query(params_from_iter(values))
                .map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                found.push(case_from_row(row)?);
            }
            Ok(found)
        })
        .await
    }

    async fn count_cases(&self, query: &CaseQuery) -> StoreResult<u64> {
        let (filter, values) = case_where(query);
        let sql = format!("SELECT count(*) FROM cases {filter}");
        self.call(move |connection| {
            connection
                .query_row(&sql, params_from_iter(values), |row| row.get(0))
                .map_err(backend_error)
        })
        .await
    }

    async fn open_case_counts(
        &self,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(Vec<AreaCode>, u64, u64)>> {
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT area_path, count(*), sum(due_at IS NOT NULL AND due_at <= ?1)
                     FROM cases WHERE open GROUP BY area_path",
                )
                .map_err(backend_error)?;
            let mut rows = statement
                .query(params![timestamp(now)])
                .map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                let path: String = row.get(0).map_err(backend_error)?;
                let codes = parse_area_path("case area", &path)?;
                let open: i64 = row.get(1).map_err(backend_error)?;
                let overdue: i64 = row.get(2).map_err(backend_error)?;
                found.push((codes, open as u64, overdue as u64));
            }
            Ok(found)
        })
        .await
    }

    async fn case_points(&self, query: &CaseQuery) -> StoreResult<Vec<CasePoint>> {
        let (filter, values) = case_where(query);
        let sql = format!(
            "SELECT id, category, channel, status, open, lon, lat, area_path, lead_department,
                    created_at, updated_at, due_at, warn_at
             FROM cases {filter} ORDER BY created_at DESC, id DESC LIMIT {} OFFSET {}",
            query.limit.clamp(1, CASE_POINTS_MAX),
            query.offset
        );
        self.call(move |connection| {
            let mut statement = connection.prepare_cached(&sql).map_err(backend_error)?;
            let mut rows = statement
                .query(params_from_iter(values))
                .map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                let get = |e: rusqlite::Error| backend_error(e);
                let path: String = row.get(7).map_err(get)?;
                let lead: Option<String> = row.get(8).map_err(get)?;
                let time = |index: usize| -> StoreResult<Option<DateTime<Utc>>> {
                    let text: Option<String> = row.get(index).map_err(backend_error)?;
                    text.map(|t| parse_time("case point time", &t)).transpose()
                };
                let (area, district, street) = path_parts("case area", &path)?;
                found.push(CasePoint {
                    id: row.get(0).map_err(get)?,
                    category: row.get(1).map_err(get)?,
                    channel: row.get(2).map_err(get)?,
                    status: row.get(3).map_err(get)?,
                    open: row.get(4).map_err(get)?,
                    lon: row.get(5).map_err(get)?,
                    lat: row.get(6).map_err(get)?,
                    area,
                    district,
                    street,
                    lead_department: lead
                        .map(|d| DepartmentId::parse(&d))
                        .transpose()
                        .map_err(|e| corrupt("case lead", e))?,
                    created_at: time(9)?.ok_or_else(|| corrupt("case created_at", "missing"))?,
                    updated_at: time(10)?.ok_or_else(|| corrupt("case updated_at", "missing"))?,
                    due_at: time(11)?,
                    warn_at: time(12)?,
                });
            }
            Ok(found)
        })
        .await
    }

    async fn case_stamps_created(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<CaseStamp>> {
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT id, version, created_at, area_path FROM cases
                     WHERE created_at >= ?1 AND created_at < ?2 ORDER BY id",
                )
                .map_err(backend_error)?;
            let rows = statement
                .query_map(params![timestamp(from), timestamp(to)], stamp_from_row)
                .map_err(backend_error)?;
            rows.map(|row| row.map_err(backend_error).and_then(to_stamp))
                .collect()
        })
        .await
    }

    async fn case_stamps_with_events(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        kinds: &[&str],
    ) -> StoreResult<Vec<CaseStamp>> {
        let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        self.call(move |connection| {
            let placeholders = (0..kinds.len())
                .map(|i| format!("?{}", i + 3))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT id, version, created_at, area_path FROM cases WHERE id IN (
                     SELECT DISTINCT case_id FROM case_events
                     WHERE at >= ?1 AND at < ?2 AND kind IN ({placeholders}))
                 ORDER BY id"
            );
            let mut statement = connection.prepare_cached(&sql).map_err(backend_error)?;
            let mut values: Vec<String> = vec![timestamp(from), timestamp(to)];
            values.extend(kinds);
            let rows = statement
                .query_map(params_from_iter(values), stamp_from_row)
                .map_err(backend_error)?;
            rows.map(|row| row.map_err(backend_error).and_then(to_stamp))
                .collect()
        })
        .await
    }

    async fn case_histories(&self, ids: &[i64]) -> StoreResult<Vec<CaseEventRow>> {
        check_history_ids(ids)?;
        // A JSON array of the ids, read by json_each: one statement for any
        // number of ids.
        let ids = format!(
            "[{}]",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        );
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT case_id, seq, at, kind, actor_user, actor_role, actor_department, payload
                     FROM case_events WHERE case_id IN (SELECT value FROM json_each(?1))
                     ORDER BY case_id, seq",
                )
                .map_err(backend_error)?;
            let rows = statement
                .query_map([ids], event_from_row)
                .map_err(backend_error)?;
            rows.map(|row| row.map_err(backend_error).and_then(to_event))
                .collect()
        })
        .await
    }

    async fn events_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<CaseEventRow>> {
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT case_id, seq, at, kind, actor_user, actor_role, actor_department, payload
                     FROM case_events WHERE at >= ?1 AND at < ?2 ORDER BY at, case_id, seq",
                )
                .map_err(backend_error)?;
            let rows = statement
                .query_map(params![timestamp(from), timestamp(to)], event_from_row)
                .map_err(backend_error)?;
            rows.map(|row| row.map_err(backend_error).and_then(to_event))
                .collect()
        })
        .await
    }

    async fn claim_due_timers(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        worker: &str,
        limit: u32,
    ) -> StoreResult<Vec<TimerRow>> {
        let worker = worker.to_owned();
        self.write(move |transaction| {
            // One writer at a time (an immediate transaction), so a claim is
            // exclusive without row locks.
            let mut statement = transaction
                .prepare_cached(
                    "UPDATE timers SET claimed_by = ?3, claimed_until = ?4
                     WHERE id IN (SELECT id FROM timers
                                  WHERE fired_at IS NULL AND due_at <= ?1
                                    AND (claimed_until IS NULL OR claimed_until < ?1)
                                  ORDER BY due_at, id LIMIT ?2)
                     RETURNING id, case_id, stage, kind, due_at",
                )
                .map_err(backend_error)?;
            let rows = statement
                .query_map(
                    params![timestamp(now), limit, worker, timestamp(lease_until)],
                    timer_from_row,
                )
                .map_err(backend_error)?;
            let mut timers: Vec<TimerRow> = rows
                .map(|row| row.map_err(backend_error).and_then(to_timer))
                .collect::<StoreResult<_>>()?;
            timers.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.id.cmp(&b.id)));
            Ok(timers)
        })
        .await
    }

    async fn case_timers(&self, case_id: i64) -> StoreResult<Vec<TimerRow>> {
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT id, case_id, stage, kind, due_at FROM timers
                     WHERE case_id = ?1 AND fired_at IS NULL ORDER BY due_at, id",
                )
                .map_err(backend_error)?;
            let rows = statement
                .query_map([case_id], timer_from_row)
                .map_err(backend_error)?;
            rows.map(|row| row.map_err(backend_error).and_then(to_timer))
                .collect()
        })
        .await
    }

    async fn fired_timer_count(&self) -> StoreResult<u64> {
        self.call(|connection| {
            connection
                .query_row(
                    "SELECT count(*) FROM timers WHERE fired_at IS NOT NULL",
                    [],
                    |row| row.get(0),
                )
                .map_err(backend_error)
        })
        .await
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let key = key.to_owned();
        self.call(move |connection| {
            connection
                .query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(backend_error)
        })
        .await
    }

    async fn put_setting(&self, key: &str, value: &str, audit: Audit) -> StoreResult<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.write(move |transaction| {
            exec(
                transaction,
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(backend_error)?;
            write_leaves(transaction, &audit)
        })
        .await
    }

    async fn append_leaves(&self, audit: Audit) -> StoreResult<()> {
        self.write(move |transaction| write_leaves(transaction, &audit))
            .await
    }

    async fn sequence_leaves(&self, limit: u32, sequencer: Sequencer) -> StoreResult<Option<u64>> {
        self.write(move |transaction| {
            let size: i64 = transaction
                .query_row("SELECT size FROM tlog_state WHERE id = 1", [], |row| {
                    row.get(0)
                })
                .map_err(backend_error)?;
            let size = size as u64;
            // Leaves get their index when queued (this writer is the only
            // one, so queue order is index order); sequencing hashes them.
            let queued: Vec<(i64, Vec<u8>)> = transaction
                .prepare_cached(
                    "SELECT idx, data FROM tlog_leaves WHERE idx >= ?1 ORDER BY idx LIMIT ?2",
                )
                .and_then(|mut statement| {
                    statement
                        .query_map(params![size as i64, i64::from(limit)], |row| {
                            Ok((row.get(0)?, row.get(1)?))
                        })?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(backend_error)?;
            if queued.is_empty() {
                return Ok(None);
            }
            let mut edge = Vec::new();
            for tile in cityloop_tlog::edge_tiles(size) {
                let hashes = read_tile(transaction, tile.level, tile.index)?.unwrap_or_default();
                edge.push((tile, hashes));
            }
            let latest_checkpoint = transaction
                .query_row(
                    "SELECT note FROM tlog_checkpoints ORDER BY size DESC LIMIT 1",
                    [],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend_error)?;
            let (indices, leaves): (Vec<i64>, Vec<Vec<u8>>) = queued.into_iter().unzip();
            if indices
                .iter()
                .enumerate()
                .any(|(offset, index)| *index as u64 != size + offset as u64)
            {
                return Err(StoreError::Backend(format!(
                    "queued leaf indices after {size} are not contiguous"
                )));
            }
            let count = leaves.len();
            let output = sequencer(SequenceInput {
                size,
                edge,
                latest_checkpoint,
                leaves,
            })
            .map_err(StoreError::Backend)?;
            check_sequence_output(size, count, &output)?;
            for (tile, hashes) in &output.tiles {
                exec(
                    transaction,
                    "INSERT INTO tlog_tiles (level, idx, hashes) VALUES (?1, ?2, ?3)
                         ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
                    params![tile.level, tile.index as i64, tile_blob(hashes)],
                )
                .map_err(backend_error)?;
            }
            exec(
                transaction,
                "INSERT INTO tlog_checkpoints (size, note) VALUES (?1, ?2)",
                params![output.size as i64, output.checkpoint],
            )
            .map_err(backend_error)?;
            exec(
                transaction,
                "UPDATE tlog_state SET size = ?1 WHERE id = 1",
                [output.size as i64],
            )
            .map_err(backend_error)?;
            Ok(Some(output.size))
        })
        .await
    }

    async fn tlog_size(&self) -> StoreResult<u64> {
        self.call(|connection| {
            connection
                .query_row("SELECT size FROM tlog_state WHERE id = 1", [], |row| {
                    row.get::<_, i64>(0)
                })
                .map(|size| size as u64)
                .map_err(backend_error)
        })
        .await
    }

    async fn tlog_queued(&self) -> StoreResult<u64> {
        self.call(|connection| {
            connection
                .query_row(
                    "SELECT count(*) FROM tlog_leaves
                     WHERE idx >= (SELECT size FROM tlog_state WHERE id = 1)",
                    [],
                    |row| row.get::<_, i64>(0),
                )
                .map(|count| count as u64)
                .map_err(backend_error)
        })
        .await
    }

    async fn tlog_tile(&self, level: u8, index: u64) -> StoreResult<Option<Vec<Hash>>> {
        self.call(move |connection| read_tile(connection, level, index))
            .await
    }

    async fn tlog_entries(&self, first: u64, count: u32) -> StoreResult<Vec<Vec<u8>>> {
        self.call(move |connection| {
            connection
                .prepare_cached(
                    "SELECT data FROM tlog_leaves
                     WHERE idx >= ?1 AND idx < ?2 AND idx < (SELECT size FROM tlog_state WHERE id = 1)
                     ORDER BY idx",
                )
                .and_then(|mut statement| {
                    statement
                        .query_map(
                            params![first as i64, (first + u64::from(count)) as i64],
                            |row| row.get(0),
                        )?
                        .collect::<rusqlite::Result<Vec<Vec<u8>>>>()
                })
                .map_err(backend_error)
        })
        .await
    }

    async fn tlog_checkpoints(&self) -> StoreResult<Vec<(u64, String)>> {
        self.call(|connection| {
            connection
                .prepare_cached("SELECT size, note FROM tlog_checkpoints ORDER BY size")
                .and_then(|mut statement| {
                    statement
                        .query_map([], |row| Ok((row.get::<_, i64>(0)? as u64, row.get(1)?)))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(backend_error)
        })
        .await
    }

    async fn latest_checkpoint(&self) -> StoreResult<Option<(u64, String)>> {
        self.call(|connection| {
            connection
                .query_row(
                    "SELECT size, note FROM tlog_checkpoints ORDER BY size DESC LIMIT 1",
                    [],
                    |row| Ok((row.get::<_, i64>(0)? as u64, row.get(1)?)),
                )
                .optional()
                .map_err(backend_error)
        })
        .await
    }

    async fn tlog_leaves_about(&self, subject: &str) -> StoreResult<Vec<(Option<u64>, Vec<u8>)>> {
        let subject = subject.to_owned();
        self.call(move |connection| {
            connection
                .prepare_cached(
                    "SELECT CASE WHEN idx < (SELECT size FROM tlog_state WHERE id = 1) THEN idx END,
                         data
                     FROM tlog_leaves WHERE subject = ?1 ORDER BY id",
                )
                .and_then(|mut statement| {
                    statement
                        .query_map([subject], |row| {
                            Ok((row.get::<_, Option<i64>>(0)?.map(|i| i as u64), row.get(1)?))
                        })?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(backend_error)
        })
        .await
    }

    async fn tlog_all_leaves(&self) -> StoreResult<Vec<(Option<u64>, Vec<u8>)>> {
        self.call(|connection| {
            connection
                .prepare_cached(
                    "SELECT CASE WHEN idx < (SELECT size FROM tlog_state WHERE id = 1) THEN idx END,
                         data
                     FROM tlog_leaves ORDER BY id",
                )
                .and_then(|mut statement| {
                    statement
                        .query_map([], |row| {
                            Ok((row.get::<_, Option<i64>>(0)?.map(|i| i as u64), row.get(1)?))
                        })?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(backend_error)
        })
        .await
    }

    async fn all_case_events(&self) -> StoreResult<Vec<CaseEventRow>> {
        self.call(|connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT case_id, seq, at, kind, actor_user, actor_role, actor_department, payload
                     FROM case_events ORDER BY case_id, seq",
                )
                .map_err(backend_error)?;
            let rows = statement
                .query_map([], event_from_row)
                .map_err(backend_error)?;
            rows.map(|row| row.map_err(backend_error).and_then(to_event))
                .collect()
        })
        .await
    }
}

/// A grant's department and areas must exist; the refusal names the field.
fn check_grant_references(
    transaction: &Connection,
    department: Option<&DepartmentId>,
    areas: &[AreaCode],
) -> StoreResult<()> {
    if let Some(department) = department
        && !exists(
            transaction,
            "SELECT 1 FROM departments WHERE id = ?1",
            department.as_str(),
        )?
    {
        return Err(StoreError::Invalid {
            index: 0,
            field: "department",
            message: format!("department {department} does not exist"),
        });
    }
    for area in areas {
        if area_level_of(transaction, area)?.is_none() {
            return Err(StoreError::Invalid {
                index: 0,
                field: "areas",
                message: format!("area {area} does not exist"),
            });
        }
    }
    Ok(())
}

/// Queues log leaves in the current transaction.
fn write_leaves(transaction: &Connection, audit: &Audit) -> StoreResult<()> {
    if audit.is_empty() {
        return Ok(());
    }
    // The index is the next free one: a savepoint rolled back returns it.
    let next: i64 = transaction
        .prepare_cached("SELECT coalesce(max(idx) + 1, 0) FROM tlog_leaves")
        .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
        .map_err(backend_error)?;
    let mut statement = transaction
        .prepare_cached("INSERT INTO tlog_leaves (idx, subject, data) VALUES (?1, ?2, ?3)")
        .map_err(backend_error)?;
    for (offset, leaf) in audit.iter().enumerate() {
        statement
            .execute(params![next + offset as i64, leaf.subject, leaf.data])
            .map_err(backend_error)?;
    }
    Ok(())
}

fn read_tile(connection: &Connection, level: u8, index: u64) -> StoreResult<Option<Vec<Hash>>> {
    connection
        .prepare_cached("SELECT hashes FROM tlog_tiles WHERE level = ?1 AND idx = ?2")
        .and_then(|mut statement| {
            statement
                .query_row(params![level, index as i64], |row| row.get::<_, Vec<u8>>(0))
                .optional()
        })
        .map_err(backend_error)?
        .map(|blob| tile_hashes(&blob))
        .transpose()
}

/// The baseline for `cityloop bench ingest`: the same observations as
/// plain inserts into a bare table of the same shape as the store's (an id,
/// unique on datastream and phenomenon time), one transaction per batch,
/// on a fresh file with the store's settings. What SQLite itself costs.
pub fn baseline_raw_observations(
    path: &Path,
    batches: &[Vec<(i64, DateTime<Utc>, f64)>],
) -> StoreResult<std::time::Duration> {
    let connection = Connection::open(path).map_err(backend_error)?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS raw_observations (id INTEGER PRIMARY KEY,
                 datastream_id INTEGER NOT NULL, phenomenon_time INTEGER NOT NULL,
                 result REAL NOT NULL, received_at INTEGER NOT NULL, feature_id INTEGER, extra TEXT);
             CREATE UNIQUE INDEX IF NOT EXISTS raw_observations_by_stream
                 ON raw_observations (datastream_id, phenomenon_time);",
        )
        .map_err(backend_error)?;
    let started = std::time::Instant::now();
    let received = micros(Utc::now());
    for batch in batches {
        let transaction = connection.unchecked_transaction().map_err(backend_error)?;
        for (datastream, at, result) in batch {
            exec(
                &transaction,
                "INSERT INTO raw_observations (datastream_id, phenomenon_time, result, received_at)
                     VALUES (?1, ?2, ?3, ?4)",
                params![datastream, micros(*at), result, received],
            )
            .map_err(backend_error)?;
        }
        transaction.commit().map_err(backend_error)?;
    }
    Ok(started.elapsed())
}

/// The baseline for `cityloop bench`: `rows` plain inserts of a case-sized
/// row into a bare table, one transaction each, on a fresh file with the
/// store's settings (WAL, synchronous NORMAL). What SQLite itself costs,
/// without the case service around it.
pub fn baseline_raw_inserts(path: &Path, rows: u64) -> StoreResult<std::time::Duration> {
    let connection = Connection::open(path).map_err(backend_error)?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS raw_cases (id INTEGER PRIMARY KEY, category TEXT,
                 area_path TEXT, lon REAL, lat REAL, description TEXT, created_at TEXT);
             CREATE TABLE IF NOT EXISTS raw_events (case_id INTEGER, seq INTEGER, payload TEXT,
                 PRIMARY KEY (case_id, seq));",
        )
        .map_err(backend_error)?;
    let started = std::time::Instant::now();
    for n in 0..rows {
        let transaction = connection.unchecked_transaction().map_err(backend_error)?;
        exec(
            &transaction,
            "INSERT INTO raw_cases (category, area_path, lon, lat, description, created_at)
                 VALUES ('06010', '/310000/310107/', ?1, 31.247, '暴露垃圾', ?2)",
            params![121.4 + n as f64 * 1e-6, timestamp(Utc::now())],
        )
        .map_err(backend_error)?;
        let id = transaction.last_insert_rowid();
        exec(&transaction,
                "INSERT INTO raw_events (case_id, seq, payload) VALUES (?1, 1, '{\"kind\":\"created\"}')",
                [id],
            )
            .map_err(backend_error)?;
        transaction.commit().map_err(backend_error)?;
    }
    Ok(started.elapsed())
}
