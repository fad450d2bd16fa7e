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
pub mod hub;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cityloop_domain::{
    Area, AreaCode, AreaLevel, Category, CategoryKind, Department, DepartmentId, NewUser,
    Responsibility, Role, User, UserId,
};
pub use cityloop_tlog::{Hash, TileId};

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

// --- the citizens' door ----------------------------------------------------------

/// What a citizen's report brought with its case besides the summary row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaseReport {
    /// A JSON object: attribute code → string, or array of strings for a
    /// multi-value list (Open311 `attribute[CODE]`).
    pub attributes: String,
    /// Who sent it: an Open311 client's name, or `citizen_page`.
    pub client: Option<String>,
    /// The Open311 token of the request (unique).
    pub token: Option<String>,
}

/// A stored photo (or other evidence file), without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRecord {
    /// Random, unguessable (32 hex digits).
    pub id: String,
    pub case_id: i64,
    pub content_type: String,
    pub sha256: String,
    pub size: u64,
    /// A citizen's report photo is public (Open311 `media_url`); a unit's
    /// evidence is for staff.
    pub public: bool,
    pub created_at: DateTime<Utc>,
}

/// A photo to store, with its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaUpload {
    pub record: MediaRecord,
    pub bytes: Vec<u8>,
}

/// What a new case carries besides its summary, history and timers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attachments {
    pub report: Option<CaseReport>,
    pub media: Vec<MediaUpload>,
}

/// An Open311 client's API key as stored: only the SHA-256 of the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub key_sha256: String,
    /// The client, e.g. `fixmystreet-huangpu`.
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

// --- perception ------------------------------------------------------------------

/// A datastream (SensorThings): one observed property of one device.
#[derive(Debug, Clone, PartialEq)]
pub struct DatastreamRecord {
    pub id: i64,
    pub name: String,
    /// The device (SensorThings Thing) it belongs to.
    pub thing: String,
    /// The observed property's code, e.g. `pm25`.
    pub property: String,
    /// The unit of its results, e.g. `µg/m³`.
    pub unit: String,
    /// The sampling period in minutes (0: irregular).
    pub period_minutes: u32,
    /// Where the device is (WGS-84).
    pub lon: f64,
    pub lat: f64,
    /// City first; the device's area last.
    pub area_path: Vec<AreaCode>,
    pub created_at: DateTime<Utc>,
    /// The phenomenon time of its latest observation.
    pub last_at: Option<DateTime<Utc>>,
}

/// One observation as stored; (datastream, phenomenon time) is unique.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservationRow {
    /// Given by the store (ignored on insert); its SensorThings `@iot.id`.
    pub id: i64,
    pub datastream: i64,
    pub phenomenon_time: DateTime<Utc>,
    pub result: f64,
    pub received_at: DateTime<Utc>,
    /// Its SensorThings FeatureOfInterest, when one was given or made.
    pub feature: Option<i64>,
    /// The other SensorThings members given with it (`resultTime`,
    /// `resultQuality`, `validTime`, `parameters`) as one JSON object,
    /// kept as given.
    pub extra: Option<String>,
}

impl ObservationRow {
    /// A plain reading, as gateways send them.
    pub fn reading(
        datastream: i64,
        phenomenon_time: DateTime<Utc>,
        result: f64,
        received_at: DateTime<Utc>,
    ) -> ObservationRow {
        ObservationRow {
            id: 0,
            datastream,
            phenomenon_time,
            result,
            received_at,
            feature: None,
            extra: None,
        }
    }
}

/// Which observations [`Store::scan_observations`] reads: every given
/// condition holds; ordered by id, ids above `after_id`, at most `limit`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservationScan {
    pub id: Option<i64>,
    pub datastream: Option<i64>,
    pub feature: Option<i64>,
    /// Phenomenon time above (or, when the flag is true, at) this.
    pub from: Option<(DateTime<Utc>, bool)>,
    /// Phenomenon time below (or, when the flag is true, at) this.
    pub to: Option<(DateTime<Utc>, bool)>,
    pub after_id: i64,
    pub limit: u32,
}

/// One vital sign of one area at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct VitalSample {
    pub at: DateTime<Utc>,
    pub area: String,
    pub indicator: String,
    /// None when nothing could be said (no sensors, no cases).
    pub value: Option<f64>,
    /// green, yellow, red or grey.
    pub status: String,
}

/// A SensorThings entity other than a Datastream's observations, kept as
/// its JSON document (links by `@iot.id` inside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaDoc {
    /// The entity set, e.g. `Things`.
    pub set: String,
    pub id: i64,
    pub doc: String,
}

/// An alarm: a rule's verdict on a datastream, from raised to cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmRecord {
    pub id: i64,
    pub rule: String,
    pub datastream: i64,
    pub severity: String,
    pub reason: String,
    pub raised_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<UserId>,
    pub cleared_at: Option<DateTime<Utc>>,
    pub clear_reason: Option<String>,
    /// The case it opened or was added to.
    pub case_id: Option<i64>,
}

/// Observations of one datastream aggregated over a time bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObservationBucket {
    /// The bucket's start (aligned to the bucket size since the Unix epoch).
    pub start: DateTime<Utc>,
    pub count: u64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// One alarm change of a batch, for [`Store::record_alarms`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmChange {
    /// A new alarm (its `id` is ignored); `carry`: its rule opens cases, so
    /// it is queued for [`Store::alarm_work`].
    Raise { alarm: AlarmRecord, carry: bool },
    /// Clears the active alarm of a rule on a datastream, if there is one;
    /// `carry`: the clearing is queued to be recorded on its case.
    Clear {
        rule: String,
        datastream: i64,
        at: DateTime<Utc>,
        reason: String,
        carry: bool,
    },
}

/// Case work an alarm still needs: its raise is to open or join a case.
pub const CASE_WORK_RAISE: u8 = 1;
/// Case work an alarm still needs: its clearing is to be recorded on its case.
pub const CASE_WORK_CLEAR: u8 = 2;

/// What [`Store::record_alarms`] did with one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlarmOutcome {
    /// The alarm raised, or the one cleared (`None`: nothing was active).
    pub alarm: Option<i64>,
    /// For a raise: the case of the rule's previous alarm on the datastream;
    /// for a clear: the cleared alarm's case.
    pub case_id: Option<i64>,
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
    /// Only cases last changed at or after / before these instants.
    pub updated_from: Option<DateTime<Utc>>,
    pub updated_to: Option<DateTime<Utc>>,
    /// Only closed (no longer open) cases.
    pub closed_only: bool,
    /// Only cases with a running clock due at or before this instant
    /// (overdue at it).
    pub due_by: Option<DateTime<Utc>>,
    /// Only cases that came in through these channels (empty: any).
    pub channels: Vec<String>,
    /// [min lon, min lat, max lon, max lat].
    pub bbox: Option<[f64; 4]>,
    pub limit: u32,
    pub offset: u32,
}

/// Parses a stored area path (codes, city first, joined by `/`); `what`
/// names it in the error if a stored code does not parse.
pub fn parse_area_path(what: &str, path: &str) -> StoreResult<Vec<AreaCode>> {
    path.split('/')
        .filter(|p| !p.is_empty())
        .map(|code| {
            AreaCode::parse(code)
                .map_err(|e| StoreError::Backend(format!("stored {what} does not parse: {e}")))
        })
        .collect()
}

/// A stored area path's own area (its last code), district (its second)
/// and street (its third), as [`CasePoint`] carries them.
pub fn path_parts(
    what: &str,
    path: &str,
) -> StoreResult<(Option<AreaCode>, Option<AreaCode>, Option<AreaCode>)> {
    let codes = parse_area_path(what, path)?;
    Ok((
        codes.last().cloned(),
        codes.get(1).cloned(),
        codes.get(2).cloned(),
    ))
}

/// A case as maps and charts need it: no text, no personal data.
#[derive(Debug, Clone, PartialEq)]
pub struct CasePoint {
    pub id: i64,
    pub category: String,
    pub channel: String,
    pub status: String,
    pub open: bool,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// The case's own area (the last of its path).
    pub area: Option<AreaCode>,
    /// The district of its path (the second of it), if any.
    pub district: Option<AreaCode>,
    /// The street of its path (the third of it), if any.
    pub street: Option<AreaCode>,
    pub lead_department: Option<DepartmentId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub warn_at: Option<DateTime<Utc>>,
}

/// What metrics need to know of a case to group it and to tell whether
/// its history changed since it was last read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseStamp {
    pub id: i64,
    /// Events in the history (as [`CaseRow::version`]).
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub area_path: Vec<AreaCode>,
}

/// The most case ids one [`Store::case_histories`] call takes.
pub const CASE_HISTORIES_IDS_MAX: usize = 10_000;

/// Refuses more than [`CASE_HISTORIES_IDS_MAX`] ids for
/// [`Store::case_histories`].
pub fn check_history_ids(ids: &[i64]) -> StoreResult<()> {
    if ids.len() > CASE_HISTORIES_IDS_MAX {
        return Err(StoreError::Invalid {
            index: CASE_HISTORIES_IDS_MAX,
            field: "ids",
            message: format!(
                "{} case ids; at most {CASE_HISTORIES_IDS_MAX} per call",
                ids.len()
            ),
        });
    }
    Ok(())
}

/// The most case points one call returns.
pub const CASE_POINTS_MAX: u32 = 500_000;

/// The one storage interface. Every method is a complete operation; batch
/// methods are atomic.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// The data hub's part of the store.
    fn hub(&self) -> &dyn hub::HubStore;

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
    async fn upsert_departments(
        &self,
        departments: Vec<Department>,
        audit: Audit,
    ) -> StoreResult<WriteSummary>;
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
    async fn upsert_responsibilities(
        &self,
        rows: Vec<Responsibility>,
        audit: Audit,
    ) -> StoreResult<WriteSummary>;
    async fn responsibilities(
        &self,
        query: &ResponsibilityQuery,
    ) -> StoreResult<Vec<Responsibility>>;
    /// Rows at any of these areas, for resolving along an area path.
    async fn responsibilities_at(&self, areas: &[AreaCode]) -> StoreResult<Vec<Responsibility>>;
    /// Deletes one row; `NotFound` if it was not there.
    async fn delete_responsibility(
        &self,
        category: &str,
        area: &AreaCode,
        audit: Audit,
    ) -> StoreResult<()>;

    // --- users and tokens --------------------------------------------------
    /// Creates a user (a grant of a role and scope). `audit` receives the
    /// new user's id before it is written, so the grant's leaf can name it.
    async fn create_user(
        &self,
        user: NewUser,
        password_hash: String,
        audit: AuditFor,
    ) -> StoreResult<User>;
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;
    /// The user and their password hash, for log-in.
    async fn user_credentials(&self, username: &str) -> StoreResult<Option<(User, String)>>;
    async fn users(&self, department: Option<&DepartmentId>) -> StoreResult<Vec<User>>;
    async fn create_token(&self, token: TokenRecord, audit: Audit) -> StoreResult<()>;
    /// The user a live token belongs to: not revoked, not expired at `now`.
    async fn user_by_token(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>>;
    /// Changes a user's role and scope (a grant change), with its leaves, in
    /// one transaction. `NotFound` for an unknown or revoked user;
    /// `Invalid` naming `department` or `areas` for unknown ones.
    async fn change_grant(
        &self,
        id: UserId,
        role: Role,
        department: Option<DepartmentId>,
        areas: Vec<AreaCode>,
        audit: Audit,
    ) -> StoreResult<User>;
    /// Revokes a user's access at once: log-in and every token stop
    /// working. `NotFound` for an unknown or already revoked user.
    async fn revoke_user(&self, id: UserId, at: DateTime<Utc>, audit: Audit) -> StoreResult<()>;
    /// Revokes every token of a user; returns how many were live.
    async fn revoke_tokens(&self, user: UserId) -> StoreResult<u64>;
    /// Revokes one token (by its SHA-256); whether it was live.
    async fn revoke_token(&self, token_sha256: &str) -> StoreResult<bool>;

    // --- perception ---------------------------------------------------------
    /// Registers a datastream (its `id` and `last_at` are ignored); returns
    /// its id.
    async fn create_datastream(
        &self,
        datastream: DatastreamRecord,
        audit: Audit,
    ) -> StoreResult<i64>;
    async fn datastreams(&self) -> StoreResult<Vec<DatastreamRecord>>;
    async fn datastream(&self, id: i64) -> StoreResult<Option<DatastreamRecord>>;
    /// Stores observations in one transaction, skipping any whose
    /// (datastream, phenomenon time) is stored already; returns, per input,
    /// whether it was new. `NotFound` (nothing written) for an unknown
    /// datastream.
    async fn insert_observations(
        &self,
        observations: Vec<ObservationRow>,
    ) -> StoreResult<Vec<Option<i64>>>;
    /// Observations by id and the conditions of `scan` (for SensorThings).
    async fn scan_observations(&self, scan: ObservationScan) -> StoreResult<Vec<ObservationRow>>;
    /// Replaces an observation's time, result, feature and extra members
    /// (by id). `NotFound` for an unknown id; `Conflict` when another
    /// observation of the datastream has that phenomenon time.
    async fn update_observation(&self, observation: ObservationRow) -> StoreResult<()>;
    /// Deletes observations by id; returns how many were there.
    async fn delete_observations(&self, ids: Vec<i64>) -> StoreResult<u64>;
    /// Deletes a datastream with its observations. `Conflict` while an
    /// alarm refers to it (alarms are part of cases' history).
    async fn delete_datastream(&self, id: i64) -> StoreResult<()>;
    /// Records vital-sign samples (one transaction; a sample already
    /// recorded for its area, indicator and time is kept).
    async fn record_vital_samples(&self, samples: Vec<VitalSample>) -> StoreResult<()>;
    /// An indicator's samples for an area with `from <= at < to`, oldest
    /// first, at most `limit`.
    async fn vital_samples(
        &self,
        area: &str,
        indicator: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<VitalSample>>;
    /// Deletes samples older than `before`; returns how many.
    async fn delete_vital_samples_before(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Every stored SensorThings entity document.
    async fn sta_docs(&self) -> StoreResult<Vec<StaDoc>>;
    /// Writes and deletes SensorThings entity documents in one transaction.
    async fn save_sta_docs(&self, put: Vec<StaDoc>, delete: Vec<(String, i64)>) -> StoreResult<()>;
    /// A datastream's observations with `from <= phenomenon time < to`,
    /// oldest first, at most `limit`, after skipping `offset`.
    async fn observations(
        &self,
        datastream: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<ObservationRow>>;
    /// A datastream's observations with `from <= phenomenon time < to`
    /// aggregated per `bucket_minutes`, oldest bucket first, at most
    /// `limit` buckets (downsampled history for charts).
    async fn observation_buckets(
        &self,
        datastream: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket_minutes: u32,
        limit: u32,
    ) -> StoreResult<Vec<ObservationBucket>>;
    /// Deletes observations measured before `before` (retention); returns
    /// how many.
    async fn delete_observations_before(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Records a raised alarm (its `id` is ignored); returns its id.
    async fn raise_alarm(&self, alarm: AlarmRecord) -> StoreResult<i64>;
    /// Records a batch of alarm changes in order, in one transaction.
    async fn record_alarms(&self, changes: Vec<AlarmChange>) -> StoreResult<Vec<AlarmOutcome>>;
    /// Alarms with case work pending (see [`CASE_WORK_RAISE`] and
    /// [`CASE_WORK_CLEAR`]), oldest first, with that work.
    async fn alarm_work(&self, limit: u32) -> StoreResult<Vec<(AlarmRecord, u8)>>;
    /// Marks an alarm's `done` work finished, linking its case when given.
    async fn finish_alarm_work(&self, id: i64, done: u8, case_id: Option<i64>) -> StoreResult<()>;
    /// The case of the rule's latest alarm on the datastream before alarm
    /// `before`, if that alarm has one.
    async fn alarm_case_before(
        &self,
        rule: &str,
        datastream: i64,
        before: i64,
    ) -> StoreResult<Option<i64>>;
    /// Links an alarm to its case.
    async fn set_alarm_case(&self, id: i64, case_id: i64) -> StoreResult<()>;
    /// Clears an active alarm; `NotFound` if unknown, `Conflict` if cleared.
    async fn clear_alarm(&self, id: i64, at: DateTime<Utc>, reason: &str) -> StoreResult<()>;
    /// Acknowledges an alarm; `Conflict` if it was acknowledged already.
    async fn acknowledge_alarm(
        &self,
        id: i64,
        by: UserId,
        at: DateTime<Utc>,
        audit: Audit,
    ) -> StoreResult<()>;
    async fn alarm(&self, id: i64) -> StoreResult<Option<AlarmRecord>>;
    /// Newest first; only those not cleared when `active_only`.
    async fn alarms(&self, active_only: bool, limit: u32) -> StoreResult<Vec<AlarmRecord>>;
    /// The latest alarm of a rule on a datastream.
    async fn latest_alarm(&self, rule: &str, datastream: i64) -> StoreResult<Option<AlarmRecord>>;

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
    /// Writes a new case: its summary, its first events, its timers and
    /// what the report brought (attributes, photos), in one transaction.
    /// `Conflict` if the id (or the report's token) exists.
    async fn insert_case(
        &self,
        case: CaseRow,
        events: Vec<CaseEventRow>,
        timers: Vec<TimerSpec>,
        attachments: Attachments,
        audit: Audit,
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
        audit: Audit,
    ) -> StoreResult<()>;
    async fn case(&self, id: i64) -> StoreResult<Option<CaseRow>>;
    /// What the report of a case brought; `None` for cases without one.
    async fn case_report(&self, id: i64) -> StoreResult<Option<CaseReport>>;
    /// The case an Open311 token names.
    async fn case_by_token(&self, token: &str) -> StoreResult<Option<i64>>;
    /// Stores a photo of an existing case (`NotFound` otherwise).
    async fn put_media(&self, upload: MediaUpload, audit: Audit) -> StoreResult<()>;
    async fn media(&self, id: &str) -> StoreResult<Option<MediaUpload>>;
    /// A case's photos, oldest first.
    async fn case_media(&self, case_id: i64) -> StoreResult<Vec<MediaRecord>>;
    /// `Conflict` if the key exists.
    async fn create_api_key(&self, key: ApiKeyRecord, audit: Audit) -> StoreResult<()>;
    async fn api_key(&self, key_sha256: &str) -> StoreResult<Option<ApiKeyRecord>>;
    /// The history in order.
    async fn case_events(&self, id: i64) -> StoreResult<Vec<CaseEventRow>>;
    /// Newest first.
    async fn cases(&self, query: &CaseQuery) -> StoreResult<Vec<CaseRow>>;
    async fn count_cases(&self, query: &CaseQuery) -> StoreResult<u64>;
    /// Open cases counted by area path: (path, open, of them overdue at
    /// `now`), one row per distinct path — for indicators over every area
    /// at once.
    async fn open_case_counts(
        &self,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(Vec<AreaCode>, u64, u64)>>;
    /// The compact view of the cases `query` selects (its `limit`, up to
    /// [`CASE_POINTS_MAX`], and `offset` apply), newest first.
    async fn case_points(&self, query: &CaseQuery) -> StoreResult<Vec<CasePoint>>;
    /// The stamps of the cases created in `[from, to)`, by id.
    async fn case_stamps_created(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<CaseStamp>>;
    /// The stamps of the cases with an event of one of `kinds` in
    /// `[from, to)`, by id, each once.
    async fn case_stamps_with_events(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        kinds: &[&str],
    ) -> StoreResult<Vec<CaseStamp>>;
    /// The histories of up to [`CASE_HISTORIES_IDS_MAX`] cases (more is
    /// `Invalid`), ordered by case and sequence; unknown ids add nothing.
    async fn case_histories(&self, ids: &[i64]) -> StoreResult<Vec<CaseEventRow>>;
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
    async fn put_setting(&self, key: &str, value: &str, audit: Audit) -> StoreResult<()>;

    // --- transparency log ----------------------------------------------------
    /// Queues log leaves that record no stored change of their own (a read
    /// of personal data, a log-in).
    async fn append_leaves(&self, audit: Audit) -> StoreResult<()>;
    /// Sequences up to `limit` queued leaves in queue order, in one
    /// transaction that also holds the log's state lock: reads the tree's
    /// size, right-edge tiles and latest checkpoint, calls `sequencer` (pure:
    /// hashes, signs), then stores the leaves' indices, the tiles and the
    /// checkpoint it returns. Returns the new tree size, or `None` when
    /// nothing was queued. Concurrent sequencers are serialised; a leaf is
    /// sequenced exactly once.
    async fn sequence_leaves(&self, limit: u32, sequencer: Sequencer) -> StoreResult<Option<u64>>;
    /// Sequenced leaves (the tree size of the latest checkpoint).
    async fn tlog_size(&self) -> StoreResult<u64>;
    /// Leaves queued and not yet sequenced.
    async fn tlog_queued(&self) -> StoreResult<u64>;
    /// The widest stored version of a hash tile.
    async fn tlog_tile(&self, level: u8, index: u64) -> StoreResult<Option<Vec<Hash>>>;
    /// Sequenced entries `first ..` (at most `count`), in index order.
    async fn tlog_entries(&self, first: u64, count: u32) -> StoreResult<Vec<Vec<u8>>>;
    /// Every signed checkpoint, by ascending tree size.
    async fn tlog_checkpoints(&self) -> StoreResult<Vec<(u64, String)>>;
    async fn latest_checkpoint(&self) -> StoreResult<Option<(u64, String)>>;
    /// Leaves (sequenced or queued) filed under `subject`, e.g. `case:42`,
    /// in queue order, with their index once sequenced. The subject is a
    /// lookup hint for receipts; verifiers check the leaf itself.
    async fn tlog_leaves_about(&self, subject: &str) -> StoreResult<Vec<(Option<u64>, Vec<u8>)>>;
    /// Every queued or sequenced leaf with its index (`None`: queued), in
    /// queue order — for offline verification.
    async fn tlog_all_leaves(&self) -> StoreResult<Vec<(Option<u64>, Vec<u8>)>>;
    /// Every case event of every case, by case and sequence (for offline
    /// verification against the log).
    async fn all_case_events(&self) -> StoreResult<Vec<CaseEventRow>>;
}

// --- transparency log ----------------------------------------------------------

/// One leaf for the transparency log, written in the same transaction as
/// the change it records. `data` is the versioned leaf encoding owned by
/// `cityloop-transparency`; the store keeps it opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafInput {
    /// Lookup hint (`case:42`), not part of the leaf.
    pub subject: Option<String>,
    pub data: Vec<u8>,
}

/// The leaves a write records; empty for writes the log does not cover
/// (e.g. reference data imported by an operator at the console).
pub type Audit = Vec<LeafInput>;

/// What a sequencer sees, inside the store's transaction.
#[derive(Debug, Clone)]
pub struct SequenceInput {
    /// Leaves sequenced so far.
    pub size: u64,
    /// The right-edge tiles of the tree of `size`, as
    /// [`cityloop_tlog::edge_tiles`] lists them.
    pub edge: Vec<(TileId, Vec<Hash>)>,
    pub latest_checkpoint: Option<String>,
    /// Queued leaves to sequence, in order: they get indices `size ..`.
    pub leaves: Vec<Vec<u8>>,
}

/// What a sequencer returns for the store to write.
#[derive(Debug, Clone)]
pub struct SequenceOutput {
    /// Tiles created or grown (complete hash lists).
    pub tiles: Vec<(TileId, Vec<Hash>)>,
    /// The new tree size (`input.size + input.leaves.len()`).
    pub size: u64,
    /// The signed checkpoint note for `size`.
    pub checkpoint: String,
}

/// Builds a write's leaves once the store knows the id it assigned.
pub type AuditFor = Box<dyn FnOnce(UserId) -> Audit + Send>;

/// No leaves: for writes outside the log's scope (tests, console imports).
pub fn no_audit_for() -> AuditFor {
    Box::new(|_| Vec::new())
}

/// The pure step of sequencing: hashes the leaves, grows the tiles, signs.
pub type Sequencer = Box<dyn FnOnce(SequenceInput) -> Result<SequenceOutput, String> + Send>;

/// Joins a tile's hashes into the stored blob.
pub fn tile_blob(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

/// Splits a stored tile blob into hashes.
pub fn tile_hashes(blob: &[u8]) -> StoreResult<Vec<Hash>> {
    if !blob.len().is_multiple_of(32) || blob.len() > 32 * 256 {
        return Err(StoreError::Backend(format!(
            "stored tile has {} bytes, not a multiple of 32 up to 8192",
            blob.len()
        )));
    }
    Ok(blob
        .chunks_exact(32)
        .map(|chunk| {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(chunk);
            hash
        })
        .collect())
}

/// Checks a sequencer's answer against its input before anything is
/// written (both backends).
pub fn check_sequence_output(
    input_size: u64,
    leaves: usize,
    output: &SequenceOutput,
) -> StoreResult<()> {
    if output.size != input_size + leaves as u64 {
        return Err(StoreError::Backend(format!(
            "sequencer returned size {} for {} leaves after {}",
            output.size, leaves, input_size
        )));
    }
    Ok(())
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
