//! The data hub's storage: the catalogue, imports with their checkpoints,
//! the standardised rows, quarantine, sharing grants and the access record.
//!
//! Key design decision: an import writes in batches, and each batch — its
//! accepted rows, its quarantined rows and the import's new checkpoint (byte
//! offset and line of the file) — is one transaction
//! ([`HubStore::write_import_batch`]). An interrupted import therefore
//! resumes from the last checkpoint without losing or repeating a row, and
//! every line the file had is either a row, a quarantined row, or not yet
//! read. Rows are keyed by the standard's key within a dataset: importing
//! a record again replaces it and moves its lineage to the newer import.
//!
//! Personal data never reaches this interface in a form that names a
//! person outside the row itself: a row's `subject` and an access's
//! `subject` are keyed pseudonyms made by the caller.

use crate::{Audit, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cityloop_domain::{DepartmentId, UserId};

/// A dataset in the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRecord {
    /// `[a-z0-9-]`, chosen by the owner.
    pub id: String,
    pub title: String,
    pub description: String,
    pub owner: DepartmentId,
    /// The standard the rows conform to, and its version.
    pub standard: String,
    pub standard_version: String,
    /// e.g. `daily`, `monthly`, `on change`.
    pub update_frequency: String,
    /// The catalogue's field list (names, kinds, classification), JSON.
    pub fields: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Import states.
pub const IMPORT_RUNNING: &str = "running";
pub const IMPORT_DONE: &str = "done";

/// One import of a file into a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct HubImport {
    /// Given by the store.
    pub id: i64,
    pub dataset: String,
    pub mapping: String,
    pub mapping_version: String,
    pub file_name: String,
    /// SHA-256 of the whole file: a resumed import must read the same bytes.
    pub file_sha256: String,
    /// [`IMPORT_RUNNING`] (or interrupted) or [`IMPORT_DONE`].
    pub status: String,
    pub accepted: u64,
    pub rejected: u64,
    /// Where to continue: the byte offset (record index for whole-file
    /// formats) after the last written batch, and the next line's number.
    pub next_offset: u64,
    pub next_line: u64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub by: Option<UserId>,
    /// The quality report (JSON), when done.
    pub quality: Option<String>,
    /// The import whose quarantine this one fixes, if any.
    pub fixes: Option<i64>,
    /// The file's column names, in order (for handing quarantined lines
    /// back as a file).
    pub header: Vec<String>,
    /// The mapping's TOML text as used.
    pub mapping_text: String,
}

/// An accepted, standardised row.
#[derive(Debug, Clone, PartialEq)]
pub struct HubRow {
    /// The standard's key (or `line:<n>` of the import when it has none).
    pub key: String,
    /// The line of the file it came from.
    pub line: u64,
    /// The standard's fields, JSON object.
    pub data: String,
    /// Keyed pseudonym of the person the row is about, if any.
    pub subject: Option<String>,
}

/// A stored row with its lineage.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredHubRow {
    pub dataset: String,
    pub import_id: i64,
    pub row: HubRow,
}

/// A rejected line, kept until it is fixed.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineRow {
    /// Given by the store.
    pub id: i64,
    pub import_id: i64,
    pub line: u64,
    /// The line as read (decoded to UTF-8).
    pub raw: String,
    /// Every reason, `field: why`.
    pub reasons: Vec<String>,
    /// The import that fixed it (re-imported it), if any.
    pub fixed_by: Option<i64>,
}

/// Grant states.
pub const GRANT_REQUESTED: &str = "requested";
pub const GRANT_APPROVED: &str = "approved";
pub const GRANT_REFUSED: &str = "refused";
pub const GRANT_REVOKED: &str = "revoked";

/// A department's use of some fields of a dataset, for a purpose and a
/// period.
#[derive(Debug, Clone, PartialEq)]
pub struct HubGrant {
    /// Given by the store.
    pub id: i64,
    pub dataset: String,
    /// The department that uses the data.
    pub department: DepartmentId,
    pub fields: Vec<String>,
    pub purpose: String,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub status: String,
    pub requested_by: UserId,
    pub requested_at: DateTime<Utc>,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was refused or revoked, or a condition of the approval.
    pub note: String,
}

/// One read of one person's data.
#[derive(Debug, Clone, PartialEq)]
pub struct HubAccess {
    pub at: DateTime<Utc>,
    pub dataset: String,
    pub department: Option<DepartmentId>,
    /// Pseudonym of the reader (as in the transparency log).
    pub reader: String,
    pub grant_id: Option<i64>,
    pub purpose: String,
    /// Pseudonym of the person read about.
    pub subject: String,
    pub fields: Vec<String>,
}

/// The most rows one [`HubStore::write_import_batch`] takes.
pub const HUB_BATCH_ROWS_MAX: usize = 50_000;
/// The most rows one read returns.
pub const HUB_PAGE_ROWS_MAX: u32 = 1_000;

/// Refuses a batch over [`HUB_BATCH_ROWS_MAX`] rows.
pub fn check_batch_rows(rows: usize) -> StoreResult<()> {
    if rows > HUB_BATCH_ROWS_MAX {
        return Err(crate::StoreError::Invalid {
            index: HUB_BATCH_ROWS_MAX,
            field: "rows",
            message: format!("{rows} rows in one batch; at most {HUB_BATCH_ROWS_MAX}"),
        });
    }
    Ok(())
}

#[async_trait]
pub trait HubStore: Send + Sync {
    /// Adds the dataset or updates its description (not its id, owner or
    /// standard: `Conflict` if those differ).
    async fn put_dataset(&self, dataset: DatasetRecord, audit: Audit) -> StoreResult<()>;
    async fn dataset(&self, id: &str) -> StoreResult<Option<DatasetRecord>>;
    /// Every dataset, by id.
    async fn datasets(&self) -> StoreResult<Vec<DatasetRecord>>;
    /// Rows a dataset holds.
    async fn count_hub_rows(&self, dataset: &str) -> StoreResult<u64>;

    /// Starts an import (its `id` is ignored) and returns its id;
    /// `NotFound` without the dataset.
    async fn begin_import(&self, import: HubImport) -> StoreResult<i64>;
    async fn hub_import(&self, id: i64) -> StoreResult<Option<HubImport>>;
    /// A dataset's imports, newest first.
    async fn hub_imports(&self, dataset: &str) -> StoreResult<Vec<HubImport>>;
    /// The unfinished import of these bytes into this dataset, if any.
    async fn resumable_import(
        &self,
        dataset: &str,
        file_sha256: &str,
    ) -> StoreResult<Option<HubImport>>;
    /// One batch, atomically: upserts `rows` by key (lineage to this
    /// import), quarantines `rejected` (their `id`, `import_id` and
    /// `fixed_by` are ignored), adds to the import's counts and moves its
    /// checkpoint to (`next_offset`, `next_line`). `Conflict` when the
    /// import is not running or its checkpoint is not `from_offset` (a
    /// second writer); `Invalid` over [`HUB_BATCH_ROWS_MAX`].
    #[allow(clippy::too_many_arguments)]
    async fn write_import_batch(
        &self,
        import_id: i64,
        from_offset: u64,
        rows: Vec<HubRow>,
        rejected: Vec<QuarantineRow>,
        next_offset: u64,
        next_line: u64,
    ) -> StoreResult<()>;
    /// Marks the import done with its quality report; when it `fixes` an
    /// earlier import, that import's open quarantine is marked fixed by
    /// this one (each of its lines was either accepted now or quarantined
    /// again here).
    async fn finish_import(
        &self,
        import_id: i64,
        quality: String,
        finished_at: DateTime<Utc>,
        audit: Audit,
    ) -> StoreResult<()>;
    /// An import's quarantined lines by line; only the unfixed when
    /// `open_only`.
    async fn quarantine(&self, import_id: i64, open_only: bool) -> StoreResult<Vec<QuarantineRow>>;
    /// A page of a dataset's rows by key, after `after_key`; only the rows
    /// about `subject` when given.
    async fn hub_rows(
        &self,
        dataset: &str,
        after_key: Option<&str>,
        subject: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<StoredHubRow>>;

    /// Files a request (status as given, normally requested); returns its id.
    async fn put_grant(&self, grant: HubGrant, audit: Audit) -> StoreResult<i64>;
    /// Moves a grant from `from` to `to`; `Conflict` when it is not in
    /// `from` any more.
    #[allow(clippy::too_many_arguments)]
    async fn decide_grant(
        &self,
        id: i64,
        from: &str,
        to: &str,
        by: UserId,
        at: DateTime<Utc>,
        note: &str,
        audit: Audit,
    ) -> StoreResult<()>;
    async fn grant(&self, id: i64) -> StoreResult<Option<HubGrant>>;
    /// Grants of a dataset and/or to a department, newest first.
    async fn grants(
        &self,
        dataset: Option<&str>,
        department: Option<&DepartmentId>,
    ) -> StoreResult<Vec<HubGrant>>;

    /// Records reads of personal data (with their log leaves).
    async fn record_accesses(&self, accesses: Vec<HubAccess>, audit: Audit) -> StoreResult<()>;
    /// Reads of one person's data, newest first.
    async fn accesses_of(&self, subject: &str) -> StoreResult<Vec<HubAccess>>;
    /// Binds a citizen's account to their person pseudonym (after real-name
    /// verification); replaces an earlier binding.
    async fn bind_person(&self, user: UserId, subject: &str, audit: Audit) -> StoreResult<()>;
    async fn person_of(&self, user: UserId) -> StoreResult<Option<String>>;
}
