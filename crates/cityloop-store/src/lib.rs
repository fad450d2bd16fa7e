//! The storage interface of cityloop: one trait, [`Store`], implemented by
//! `cityloop-store-sqlite` (embedded, the default) and
//! `cityloop-store-postgres` (a city's production database).
//!
//! Key design decision: the interface speaks domain types and whole
//! operations ("upsert these areas in one transaction"), never SQL, so the
//! two backends can differ in every detail and still be held to one contract:
//! the [`conformance`] suite (feature `conformance`) that each backend's tests
//! run on a fresh database. Batch writes are all-or-nothing: an error leaves
//! the store as it was. Backends enforce referential integrity themselves
//! (foreign keys) as a backstop to the importers' friendlier checks.

#[cfg(feature = "conformance")]
pub mod conformance;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cityloop_domain::{
    Area, AreaCode, AreaLevel, Category, CategoryKind, Department, DepartmentId, NewUser,
    Responsibility, User, UserId,
};

pub type StoreResult<T> = Result<T, StoreError>;

/// What a caller of the store must distinguish.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{what} already exists")]
    Conflict { what: String },
    /// Item `index` of a batch refers to something that does not exist or
    /// breaks a rule; nothing of the batch was written.
    #[error("item {index}: {field}: {message}")]
    Invalid {
        index: usize,
        field: &'static str,
        message: String,
    },
    /// The database itself failed (connection, IO, a bug in a query). The
    /// message is for logs, not for API clients.
    #[error("storage backend: {0}")]
    Backend(String),
}

/// Which backend a store is, for logs, metrics and `config show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// An area as stored: the tree node plus whether it has a boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaRecord {
    pub area: Area,
    pub has_shape: bool,
    pub children: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AreaQuery {
    pub parent: Option<AreaCode>,
    pub level: Option<AreaLevel>,
    /// Substring of the name.
    pub name_contains: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

/// The boundary of an area as GeoJSON geometry text (WGS-84). The store keeps
/// it opaque; `cityloop-geo` parses and validates it before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaShape {
    pub code: AreaCode,
    pub level: AreaLevel,
    pub geojson: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryQuery {
    pub kind: Option<CategoryKind>,
    pub class_code: Option<String>,
    pub name_contains: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponsibilityQuery {
    pub area: Option<AreaCode>,
    pub department: Option<DepartmentId>,
}

/// An API token as stored: only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub token_sha256: String,
    pub user: UserId,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Counts of what an import wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    pub inserted: u64,
    pub updated: u64,
}

// --- cases ---------------------------------------------------------------------

/// The queryable summary of a case, rewritten with every append. The case's
/// truth is its event history; this row exists so queues, maps and metrics
/// can filter without replaying.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRow {
    pub id: i64,
    pub channel: String,
    /// A case category code (GB/T 47678.5 matter or local).
    pub category: String,
    pub urgency: String,
    pub status: String,
    pub open: bool,
    pub lead_department: Option<DepartmentId>,
    /// Every unit the case is dispatched to, the lead included.
    pub units: Vec<DepartmentId>,
    /// City first; the last code is the case's area.
    pub area_path: Vec<AreaCode>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: Option<String>,
    pub description: String,
    /// Personal data: the reporting user.
    pub reporter: Option<UserId>,
    /// Personal data: contact given with the report (name, phone).
    pub reporter_contact: Option<String>,
    /// Set when merged into a parent (合并).
    pub parent: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Events in the history; the optimistic-concurrency version.
    pub version: u64,
    /// The earliest due instant of a running SLA clock.
    pub due_at: Option<DateTime<Utc>>,
    /// The earliest 80 % warning instant of a running SLA clock.
    pub warn_at: Option<DateTime<Utc>>,
    /// True when the routing point lies near an area boundary and the
    /// dispatcher should confirm the area.
    pub near_boundary: bool,
    /// The department the responsibility list names for this case (the
    /// dispatcher's suggestion); `None`: no one configured, the case waits
    /// in the dispatcher's queue.
    pub routed_department: Option<DepartmentId>,
}

/// One event of a case's history. `payload` is the versioned JSON encoding
/// owned by the case service; the store keeps it opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseEventRow {
    pub case_id: i64,
    /// 1 for the first event; contiguous.
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub actor_user: Option<UserId>,
    pub actor_role: Option<String>,
    pub actor_department: Option<String>,
    pub payload: String,
}

/// A timer a case needs: fire at `due_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerSpec {
    pub stage: String,
    pub kind: String,
    pub due_at: DateTime<Utc>,
}

/// A stored, unfired timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerRow {
    pub id: i64,
    pub case_id: i64,
    pub stage: String,
    pub kind: String,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseQuery {
    /// Only these statuses (empty: any).
    pub statuses: Vec<String>,
    pub open_only: bool,
    /// Only cases dispatched to this unit (as lead or co-unit).
    pub unit: Option<DepartmentId>,
    /// Only cases whose lead is this unit.
    pub lead: Option<DepartmentId>,
    /// Only cases within any of these areas.
    pub within: Vec<AreaCode>,
    /// Only these categories (empty: any).
    pub categories: Vec<String>,
    /// Only cases reported by this user.
    pub reporter: Option<UserId>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// [min lon, min lat, max lon, max lat].
    pub bbox: Option<[f64; 4]>,
    pub limit: u32,
    pub offset: u32,
}

/// The one storage interface. Every method is a complete operation; batch
/// methods are atomic.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Applies pending migrations; returns the versions applied now.
    async fn migrate(&self) -> StoreResult<Vec<u32>>;
    /// The highest applied migration version, 0 for an empty database.
    async fn schema_version(&self) -> StoreResult<u32>;

    // --- areas -----------------------------------------------------------
    /// Inserts or updates areas (name, level, parent); shapes are kept.
    /// Parents must exist in the store or earlier in the batch.
    async fn upsert_areas(&self, areas: Vec<Area>) -> StoreResult<WriteSummary>;
    /// Sets or replaces boundaries; every code must exist.
    async fn set_area_shapes(&self, shapes: Vec<(AreaCode, String)>) -> StoreResult<u64>;
    async fn area(&self, code: &AreaCode) -> StoreResult<Option<AreaRecord>>;
    async fn areas(&self, query: &AreaQuery) -> StoreResult<Vec<AreaRecord>>;
    async fn count_areas(&self, query: &AreaQuery) -> StoreResult<u64>;
    /// Every area that has a boundary, for the point → area index.
    async fn area_shapes(&self) -> StoreResult<Vec<AreaShape>>;
    async fn area_shape(&self, code: &AreaCode) -> StoreResult<Option<String>>;

    /// The path from the city down to `code`, both included; empty if the
    /// code is unknown.
    async fn area_path(&self, code: &AreaCode) -> StoreResult<Vec<Area>> {
        let mut path = Vec::new();
        let mut next = Some(code.clone());
        while let Some(code) = next {
            let Some(record) = self.area(&code).await? else {
                break;
            };
            if path.len() > AreaLevel::ALL.len() {
                return Err(StoreError::Backend(format!(
                    "area tree has a cycle at {code}"
                )));
            }
            next = record.area.parent.clone();
            path.push(record.area);
        }
        path.reverse();
        Ok(path)
    }

    // --- departments -------------------------------------------------------
    async fn upsert_departments(&self, departments: Vec<Department>) -> StoreResult<WriteSummary>;
    async fn department(&self, id: &DepartmentId) -> StoreResult<Option<Department>>;
    /// All departments, or those covering an area (exactly that code).
    async fn departments(&self, covering: Option<&AreaCode>) -> StoreResult<Vec<Department>>;

    // --- categories --------------------------------------------------------
    async fn upsert_categories(&self, categories: Vec<Category>) -> StoreResult<WriteSummary>;
    async fn category(&self, kind: CategoryKind, code: &str) -> StoreResult<Option<Category>>;
    async fn categories(&self, query: &CategoryQuery) -> StoreResult<Vec<Category>>;
    async fn count_categories(&self, query: &CategoryQuery) -> StoreResult<u64>;

    // --- responsibility list -----------------------------------------------
    /// Inserts or replaces rows keyed by (category selector, area).
    async fn upsert_responsibilities(&self, rows: Vec<Responsibility>)
    -> StoreResult<WriteSummary>;
    async fn responsibilities(
        &self,
        query: &ResponsibilityQuery,
    ) -> StoreResult<Vec<Responsibility>>;
    /// Rows at any of these areas, for resolving along an area path.
    async fn responsibilities_at(&self, areas: &[AreaCode]) -> StoreResult<Vec<Responsibility>>;
    /// Deletes one row; `NotFound` if it was not there.
    async fn delete_responsibility(&self, category: &str, area: &AreaCode) -> StoreResult<()>;

    // --- users and tokens --------------------------------------------------
    async fn create_user(&self, user: NewUser, password_hash: String) -> StoreResult<User>;
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;
    /// The user and their password hash, for log-in.
    async fn user_credentials(&self, username: &str) -> StoreResult<Option<(User, String)>>;
    async fn users(&self, department: Option<&DepartmentId>) -> StoreResult<Vec<User>>;
    async fn create_token(&self, token: TokenRecord) -> StoreResult<()>;
    /// The user a live token belongs to: not revoked, not expired at `now`.
    async fn user_by_token(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>>;
    /// Revokes every token of a user; returns how many were live.
    async fn revoke_tokens(&self, user: UserId) -> StoreResult<u64>;

    // --- cases ---------------------------------------------------------------
    /// Reserves `count` new case ids, ascending (ids may have gaps: a
    /// process that stops leaves its unused ones unused).
    async fn allocate_case_ids(&self, count: u32) -> StoreResult<Vec<i64>>;

    /// Reserves one new case id.
    async fn allocate_case_id(&self) -> StoreResult<i64> {
        self.allocate_case_ids(1)
            .await?
            .pop()
            .ok_or_else(|| StoreError::Backend("no case id was allocated".into()))
    }
    /// Writes a new case: its summary, its first events and its timers, in
    /// one transaction. `Conflict` if the id exists.
    async fn insert_case(
        &self,
        case: CaseRow,
        events: Vec<CaseEventRow>,
        timers: Vec<TimerSpec>,
    ) -> StoreResult<()>;
    /// Appends events to a case whose version is still `expected_version`,
    /// rewrites its summary, replaces its unfired timers, and, if given,
    /// marks `fired_timer` fired — all in one transaction. `Conflict` when
    /// the case moved on or the timer already fired: nothing is written.
    async fn append_case_events(
        &self,
        case: CaseRow,
        expected_version: u64,
        events: Vec<CaseEventRow>,
        timers: Vec<TimerSpec>,
        fired_timer: Option<i64>,
    ) -> StoreResult<()>;
    async fn case(&self, id: i64) -> StoreResult<Option<CaseRow>>;
    /// The history in order.
    async fn case_events(&self, id: i64) -> StoreResult<Vec<CaseEventRow>>;
    /// Newest first.
    async fn cases(&self, query: &CaseQuery) -> StoreResult<Vec<CaseRow>>;
    async fn count_cases(&self, query: &CaseQuery) -> StoreResult<u64>;
    /// Events of every case in `[from, to)`, in time order, for metrics.
    async fn events_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<CaseEventRow>>;
    /// Claims up to `limit` unfired timers due at `now`, not claimed by a
    /// live lease, for `worker` until `lease_until`. Concurrent claimers get
    /// disjoint sets.
    async fn claim_due_timers(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        worker: &str,
        limit: u32,
    ) -> StoreResult<Vec<TimerRow>>;
    /// The unfired timers of a case.
    async fn case_timers(&self, case_id: i64) -> StoreResult<Vec<TimerRow>>;
    /// How many timers have fired in all (for operators and tests).
    async fn fired_timer_count(&self) -> StoreResult<u64>;

    // --- settings ------------------------------------------------------------
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()>;
}

/// How to make a case's unfired timers equal `wanted` while keeping the
/// stored rows that stay the same (so a claim on them stays valid): the ids
/// to delete and the timers to insert. Both backends use it.
pub fn timer_changes(
    mut existing: Vec<(i64, TimerSpec)>,
    wanted: &[TimerSpec],
) -> (Vec<i64>, Vec<&TimerSpec>) {
    let mut missing = Vec::new();
    for timer in wanted {
        match existing.iter().position(|(_, kept)| kept == timer) {
            Some(position) => {
                existing.swap_remove(position);
            }
            None => missing.push(timer),
        }
    }
    (existing.into_iter().map(|(id, _)| id).collect(), missing)
}

/// The upper bound on a page of results, whatever a caller asks for.
pub const PAGE_ROWS_MAX: u32 = 1000;

/// Clamps a requested page size into `1..=PAGE_ROWS_MAX` (0 means the max).
pub fn page_limit(requested: u32) -> u32 {
    if requested == 0 {
        PAGE_ROWS_MAX
    } else {
        requested.min(PAGE_ROWS_MAX)
    }
}
