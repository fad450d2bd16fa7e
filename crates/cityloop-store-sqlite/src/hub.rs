//! The data hub's tables on SQLite (see `cityloop_store::hub`).

use super::{SqliteStore, backend_error, corrupt, exec, parse_time, timestamp, write_leaves};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cityloop_domain::{DepartmentId, UserId};
use cityloop_store::hub::{
    DatasetRecord, GRANT_REQUESTED, HUB_PAGE_ROWS_MAX, HubAccess, HubGrant, HubImport, HubRow,
    HubStore, IMPORT_DONE, IMPORT_RUNNING, QuarantineRow, StoredHubRow, check_batch_rows,
};
use cityloop_store::{Audit, StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, params};

const DATASET_COLUMNS: &str = "id, title, description, owner, standard, standard_version,
     update_frequency, fields, created_at, updated_at";

fn to_dataset(row: &rusqlite::Row<'_>) -> StoreResult<DatasetRecord> {
    let get = |e: rusqlite::Error| backend_error(e);
    let owner: String = row.get(3).map_err(get)?;
    let created: String = row.get(8).map_err(get)?;
    let updated: String = row.get(9).map_err(get)?;
    Ok(DatasetRecord {
        id: row.get(0).map_err(get)?,
        title: row.get(1).map_err(get)?,
        description: row.get(2).map_err(get)?,
        owner: DepartmentId::parse(&owner).map_err(|e| corrupt("dataset owner", e))?,
        standard: row.get(4).map_err(get)?,
        standard_version: row.get(5).map_err(get)?,
        update_frequency: row.get(6).map_err(get)?,
        fields: row.get(7).map_err(get)?,
        created_at: parse_time("dataset created_at", &created)?,
        updated_at: parse_time("dataset updated_at", &updated)?,
    })
}

const IMPORT_COLUMNS: &str = "id, dataset, mapping, mapping_version, file_name, file_sha256,
     status, accepted, rejected, next_offset, next_line, started_at, finished_at, by_user,
     quality, fixes, header, mapping_text";

fn count(what: &str, value: i64) -> StoreResult<u64> {
    u64::try_from(value).map_err(|e| corrupt(what, e))
}

fn to_import(row: &rusqlite::Row<'_>) -> StoreResult<HubImport> {
    let get = |e: rusqlite::Error| backend_error(e);
    let started: String = row.get(11).map_err(get)?;
    let finished: Option<String> = row.get(12).map_err(get)?;
    Ok(HubImport {
        id: row.get(0).map_err(get)?,
        dataset: row.get(1).map_err(get)?,
        mapping: row.get(2).map_err(get)?,
        mapping_version: row.get(3).map_err(get)?,
        file_name: row.get(4).map_err(get)?,
        file_sha256: row.get(5).map_err(get)?,
        status: row.get(6).map_err(get)?,
        accepted: count("import accepted", row.get(7).map_err(get)?)?,
        rejected: count("import rejected", row.get(8).map_err(get)?)?,
        next_offset: count("import offset", row.get(9).map_err(get)?)?,
        next_line: count("import line", row.get(10).map_err(get)?)?,
        started_at: parse_time("import started_at", &started)?,
        finished_at: finished
            .map(|t| parse_time("import finished_at", &t))
            .transpose()?,
        by: row.get::<_, Option<i64>>(13).map_err(get)?.map(UserId),
        quality: row.get(14).map_err(get)?,
        fixes: row.get(15).map_err(get)?,
        header: strings("import header", &row.get::<_, String>(16).map_err(get)?)?,
        mapping_text: row.get(17).map_err(get)?,
    })
}

const GRANT_COLUMNS: &str = "id, dataset, department, fields, purpose, valid_from, valid_until,
     status, requested_by, requested_at, decided_by, decided_at, note";

fn strings(what: &str, json: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(json).map_err(|e| corrupt(what, e))
}

fn json_strings(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

fn to_grant(row: &rusqlite::Row<'_>) -> StoreResult<HubGrant> {
    let get = |e: rusqlite::Error| backend_error(e);
    let department: String = row.get(2).map_err(get)?;
    let fields: String = row.get(3).map_err(get)?;
    let time = |i: usize, what: &str| -> StoreResult<DateTime<Utc>> {
        let text: String = row.get(i).map_err(backend_error)?;
        parse_time(what, &text)
    };
    let decided_at: Option<String> = row.get(11).map_err(get)?;
    Ok(HubGrant {
        id: row.get(0).map_err(get)?,
        dataset: row.get(1).map_err(get)?,
        department: DepartmentId::parse(&department).map_err(|e| corrupt("grant department", e))?,
        fields: strings("grant fields", &fields)?,
        purpose: row.get(4).map_err(get)?,
        valid_from: time(5, "grant valid_from")?,
        valid_until: time(6, "grant valid_until")?,
        status: row.get(7).map_err(get)?,
        requested_by: UserId(row.get(8).map_err(get)?),
        requested_at: time(9, "grant requested_at")?,
        decided_by: row.get::<_, Option<i64>>(10).map_err(get)?.map(UserId),
        decided_at: decided_at
            .map(|t| parse_time("grant decided_at", &t))
            .transpose()?,
        note: row.get(12).map_err(get)?,
    })
}

fn to_access(row: &rusqlite::Row<'_>) -> StoreResult<HubAccess> {
    let get = |e: rusqlite::Error| backend_error(e);
    let at: String = row.get(0).map_err(get)?;
    let department: Option<String> = row.get(2).map_err(get)?;
    let fields: String = row.get(7).map_err(get)?;
    Ok(HubAccess {
        at: parse_time("access at", &at)?,
        dataset: row.get(1).map_err(get)?,
        department: department
            .map(|d| DepartmentId::parse(&d))
            .transpose()
            .map_err(|e| corrupt("access department", e))?,
        reader: row.get(3).map_err(get)?,
        grant_id: row.get(4).map_err(get)?,
        purpose: row.get(5).map_err(get)?,
        subject: row.get(6).map_err(get)?,
        fields: strings("access fields", &fields)?,
    })
}

fn import_in(connection: &Connection, id: i64) -> StoreResult<Option<HubImport>> {
    let sql = format!("SELECT {IMPORT_COLUMNS} FROM hub_imports WHERE id = ?1");
    let mut statement = connection.prepare_cached(&sql).map_err(backend_error)?;
    let mut rows = statement.query([id]).map_err(backend_error)?;
    match rows.next().map_err(backend_error)? {
        Some(row) => Ok(Some(to_import(row)?)),
        None => Ok(None),
    }
}

fn not_found(what: String) -> StoreError {
    StoreError::NotFound { what }
}

#[async_trait]
impl HubStore for SqliteStore {
    async fn put_dataset(&self, dataset: DatasetRecord, audit: Audit) -> StoreResult<()> {
        self.write(move |transaction| {
            let known: Option<(String, String)> = transaction
                .query_row(
                    "SELECT owner, standard FROM hub_datasets WHERE id = ?1",
                    [&dataset.id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(backend_error)?;
            if let Some((owner, standard)) = known
                && (owner != dataset.owner.as_str() || standard != dataset.standard)
            {
                return Err(StoreError::Conflict {
                    what: format!(
                        "dataset {} (owned by {owner}, standard {standard})",
                        dataset.id
                    ),
                });
            }
            let department: Option<i64> = transaction
                .query_row(
                    "SELECT 1 FROM departments WHERE id = ?1",
                    [dataset.owner.as_str()],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend_error)?;
            if department.is_none() {
                return Err(not_found(format!("department {}", dataset.owner)));
            }
            exec(
                transaction,
                "INSERT INTO hub_datasets (id, title, description, owner, standard,
                     standard_version, update_frequency, fields, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (id) DO UPDATE SET title = excluded.title,
                     description = excluded.description,
                     standard_version = excluded.standard_version,
                     update_frequency = excluded.update_frequency,
                     fields = excluded.fields, updated_at = excluded.updated_at",
                params![
                    dataset.id,
                    dataset.title,
                    dataset.description,
                    dataset.owner.as_str(),
                    dataset.standard,
                    dataset.standard_version,
                    dataset.update_frequency,
                    dataset.fields,
                    timestamp(dataset.created_at),
                    timestamp(dataset.updated_at),
                ],
            )
            .map_err(backend_error)?;
            write_leaves(transaction, &audit)
        })
        .await
    }

    async fn dataset(&self, id: &str) -> StoreResult<Option<DatasetRecord>> {
        let id = id.to_owned();
        self.call(move |connection| {
            let sql = format!("SELECT {DATASET_COLUMNS} FROM hub_datasets WHERE id = ?1");
            let mut statement = connection.prepare_cached(&sql).map_err(backend_error)?;
            let mut rows = statement.query([id]).map_err(backend_error)?;
            match rows.next().map_err(backend_error)? {
                Some(row) => Ok(Some(to_dataset(row)?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn datasets(&self) -> StoreResult<Vec<DatasetRecord>> {
        self.call(move |connection| {
            let sql = format!("SELECT {DATASET_COLUMNS} FROM hub_datasets ORDER BY id");
            let mut statement = connection.prepare_cached(&sql).map_err(backend_error)?;
            let mut rows = statement.query([]).map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                found.push(to_dataset(row)?);
            }
            Ok(found)
        })
        .await
    }

    async fn count_hub_rows(&self, dataset: &str) -> StoreResult<u64> {
        let dataset = dataset.to_owned();
        self.call(move |connection| {
            let n: i64 = connection
                .query_row(
                    "SELECT count(*) FROM hub_rows WHERE dataset = ?1",
                    [dataset],
                    |row| row.get(0),
                )
                .map_err(backend_error)?;
            count("row count", n)
        })
        .await
    }

    async fn begin_import(&self, import: HubImport) -> StoreResult<i64> {
        self.write(move |transaction| {
            let known: Option<i64> = transaction
                .query_row(
                    "SELECT 1 FROM hub_datasets WHERE id = ?1",
                    [&import.dataset],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend_error)?;
            if known.is_none() {
                return Err(not_found(format!("dataset {}", import.dataset)));
            }
            if let Some(fixes) = import.fixes
                && import_in(transaction, fixes)?.is_none_or(|i| i.dataset != import.dataset)
            {
                return Err(not_found(format!(
                    "import {fixes} of dataset {}",
                    import.dataset
                )));
            }
            exec(
                transaction,
                "INSERT INTO hub_imports (dataset, mapping, mapping_version, file_name,
                     file_sha256, status, accepted, rejected, next_offset, next_line,
                     started_at, by_user, fixes, header, mapping_text)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    import.dataset,
                    import.mapping,
                    import.mapping_version,
                    import.file_name,
                    import.file_sha256,
                    IMPORT_RUNNING,
                    import.next_offset as i64,
                    import.next_line as i64,
                    timestamp(import.started_at),
                    import.by.map(|u| u.0),
                    import.fixes,
                    json_strings(&import.header),
                    import.mapping_text,
                ],
            )
            .map_err(backend_error)?;
            Ok(transaction.last_insert_rowid())
        })
        .await
    }

    async fn hub_import(&self, id: i64) -> StoreResult<Option<HubImport>> {
        self.call(move |connection| import_in(connection, id)).await
    }

    async fn hub_imports(&self, dataset: &str) -> StoreResult<Vec<HubImport>> {
        let dataset = dataset.to_owned();
        self.call(move |connection| {
            let sql = format!(
                "SELECT {IMPORT_COLUMNS} FROM hub_imports WHERE dataset = ?1 ORDER BY id DESC"
            );
            let mut statement = connection.prepare_cached(&sql).map_err(backend_error)?;
            let mut rows = statement.query([dataset]).map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                found.push(to_import(row)?);
            }
            Ok(found)
        })
        .await
    }

    async fn resumable_import(
        &self,
        dataset: &str,
        file_sha256: &str,
    ) -> StoreResult<Option<HubImport>> {
        let (dataset, sha) = (dataset.to_owned(), file_sha256.to_owned());
        self.call(move |connection| {
            let sql = format!(
                "SELECT {IMPORT_COLUMNS} FROM hub_imports
                 WHERE dataset = ?1 AND file_sha256 = ?2 AND status = ?3
                 ORDER BY id DESC LIMIT 1"
            );
            let mut statement = connection.prepare_cached(&sql).map_err(backend_error)?;
            let mut rows = statement
                .query(params![dataset, sha, IMPORT_RUNNING])
                .map_err(backend_error)?;
            match rows.next().map_err(backend_error)? {
                Some(row) => Ok(Some(to_import(row)?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn write_import_batch(
        &self,
        import_id: i64,
        from_offset: u64,
        rows: Vec<HubRow>,
        rejected: Vec<QuarantineRow>,
        next_offset: u64,
        next_line: u64,
    ) -> StoreResult<()> {
        check_batch_rows(rows.len() + rejected.len())?;
        self.write(move |transaction| {
            let import = import_in(transaction, import_id)?
                .ok_or_else(|| not_found(format!("import {import_id}")))?;
            if import.status != IMPORT_RUNNING || import.next_offset != from_offset {
                return Err(StoreError::Conflict {
                    what: format!(
                        "import {import_id} at offset {} ({}), not {from_offset}",
                        import.next_offset, import.status
                    ),
                });
            }
            {
                let mut upsert = transaction
                    .prepare_cached(
                        "INSERT INTO hub_rows (dataset, key, import_id, line, data, subject)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (dataset, key) DO UPDATE SET import_id = excluded.import_id,
                             line = excluded.line, data = excluded.data,
                             subject = excluded.subject",
                    )
                    .map_err(backend_error)?;
                for row in &rows {
                    upsert
                        .execute(params![
                            import.dataset,
                            row.key,
                            import_id,
                            row.line as i64,
                            row.data,
                            row.subject,
                        ])
                        .map_err(backend_error)?;
                }
                let mut quarantine = transaction
                    .prepare_cached(
                        "INSERT INTO hub_quarantine (import_id, line, raw, reasons)
                         VALUES (?1, ?2, ?3, ?4)",
                    )
                    .map_err(backend_error)?;
                for row in &rejected {
                    quarantine
                        .execute(params![
                            import_id,
                            row.line as i64,
                            row.raw,
                            json_strings(&row.reasons),
                        ])
                        .map_err(backend_error)?;
                }
            }
            exec(
                transaction,
                "UPDATE hub_imports SET accepted = accepted + ?2, rejected = rejected + ?3,
                     next_offset = ?4, next_line = ?5 WHERE id = ?1",
                params![
                    import_id,
                    rows.len() as i64,
                    rejected.len() as i64,
                    next_offset as i64,
                    next_line as i64,
                ],
            )
            .map_err(backend_error)?;
            Ok(())
        })
        .await
    }

    async fn finish_import(
        &self,
        import_id: i64,
        quality: String,
        finished_at: DateTime<Utc>,
        audit: Audit,
    ) -> StoreResult<()> {
        self.write(move |transaction| {
            let import = import_in(transaction, import_id)?
                .ok_or_else(|| not_found(format!("import {import_id}")))?;
            if import.status != IMPORT_RUNNING {
                return Err(StoreError::Conflict {
                    what: format!("import {import_id} is {}", import.status),
                });
            }
            exec(
                transaction,
                "UPDATE hub_imports SET status = ?2, quality = ?3, finished_at = ?4
                 WHERE id = ?1",
                params![import_id, IMPORT_DONE, quality, timestamp(finished_at)],
            )
            .map_err(backend_error)?;
            if let Some(fixes) = import.fixes {
                exec(
                    transaction,
                    "UPDATE hub_quarantine SET fixed_by = ?2
                     WHERE import_id = ?1 AND fixed_by IS NULL",
                    params![fixes, import_id],
                )
                .map_err(backend_error)?;
            }
            write_leaves(transaction, &audit)
        })
        .await
    }

    async fn quarantine(&self, import_id: i64, open_only: bool) -> StoreResult<Vec<QuarantineRow>> {
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT id, import_id, line, raw, reasons, fixed_by FROM hub_quarantine
                     WHERE import_id = ?1 AND (?2 = 0 OR fixed_by IS NULL) ORDER BY line, id",
                )
                .map_err(backend_error)?;
            let mut rows = statement
                .query(params![import_id, open_only])
                .map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                let get = |e: rusqlite::Error| backend_error(e);
                let reasons: String = row.get(4).map_err(get)?;
                found.push(QuarantineRow {
                    id: row.get(0).map_err(get)?,
                    import_id: row.get(1).map_err(get)?,
                    line: count("quarantine line", row.get(2).map_err(get)?)?,
                    raw: row.get(3).map_err(get)?,
                    reasons: strings("quarantine reasons", &reasons)?,
                    fixed_by: row.get(5).map_err(get)?,
                });
            }
            Ok(found)
        })
        .await
    }

    async fn hub_rows(
        &self,
        dataset: &str,
        after_key: Option<&str>,
        subject: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<StoredHubRow>> {
        let (dataset, after, subject) = (
            dataset.to_owned(),
            after_key.map(str::to_owned),
            subject.map(str::to_owned),
        );
        let limit = i64::from(limit.clamp(1, HUB_PAGE_ROWS_MAX));
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT dataset, key, import_id, line, data, subject FROM hub_rows
                     WHERE dataset = ?1 AND (?2 IS NULL OR key > ?2)
                       AND (?3 IS NULL OR subject = ?3)
                     ORDER BY key LIMIT ?4",
                )
                .map_err(backend_error)?;
            let mut rows = statement
                .query(params![dataset, after, subject, limit])
                .map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                let get = |e: rusqlite::Error| backend_error(e);
                found.push(StoredHubRow {
                    dataset: row.get(0).map_err(get)?,
                    import_id: row.get(2).map_err(get)?,
                    row: HubRow {
                        key: row.get(1).map_err(get)?,
                        line: count("row line", row.get(3).map_err(get)?)?,
                        data: row.get(4).map_err(get)?,
                        subject: row.get(5).map_err(get)?,
                    },
                });
            }
            Ok(found)
        })
        .await
    }

    async fn put_grant(&self, grant: HubGrant, audit: Audit) -> StoreResult<i64> {
        self.write(move |transaction| {
            let known: Option<i64> = transaction
                .query_row(
                    "SELECT 1 FROM hub_datasets WHERE id = ?1",
                    [&grant.dataset],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend_error)?;
            if known.is_none() {
                return Err(not_found(format!("dataset {}", grant.dataset)));
            }
            exec(
                transaction,
                "INSERT INTO hub_grants (dataset, department, fields, purpose, valid_from,
                     valid_until, status, requested_by, requested_at, decided_by, decided_at,
                     note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    grant.dataset,
                    grant.department.as_str(),
                    json_strings(&grant.fields),
                    grant.purpose,
                    timestamp(grant.valid_from),
                    timestamp(grant.valid_until),
                    if grant.status.is_empty() {
                        GRANT_REQUESTED.to_owned()
                    } else {
                        grant.status
                    },
                    grant.requested_by.0,
                    timestamp(grant.requested_at),
                    grant.decided_by.map(|u| u.0),
                    grant.decided_at.map(timestamp),
                    grant.note,
                ],
            )
            .map_err(backend_error)?;
            let id = transaction.last_insert_rowid();
            write_leaves(transaction, &audit)?;
            Ok(id)
        })
        .await
    }

    async fn decide_grant(
        &self,
        id: i64,
        from: &str,
        to: &str,
        by: UserId,
        at: DateTime<Utc>,
        note: &str,
        audit: Audit,
    ) -> StoreResult<()> {
        let (from, to, note) = (from.to_owned(), to.to_owned(), note.to_owned());
        self.write(move |transaction| {
            let changed = exec(
                transaction,
                "UPDATE hub_grants SET status = ?3, decided_by = ?4, decided_at = ?5, note = ?6
                 WHERE id = ?1 AND status = ?2",
                params![id, from, to, by.0, timestamp(at), note],
            )
            .map_err(backend_error)?;
            if changed == 0 {
                let exists: Option<String> = transaction
                    .query_row("SELECT status FROM hub_grants WHERE id = ?1", [id], |row| {
                        row.get(0)
                    })
                    .optional()
                    .map_err(backend_error)?;
                return Err(match exists {
                    None => not_found(format!("grant {id}")),
                    Some(status) => StoreError::Conflict {
                        what: format!("grant {id} is {status}, not {from}"),
                    },
                });
            }
            write_leaves(transaction, &audit)
        })
        .await
    }

    async fn grant(&self, id: i64) -> StoreResult<Option<HubGrant>> {
        self.call(move |connection| {
            let sql = format!("SELECT {GRANT_COLUMNS} FROM hub_grants WHERE id = ?1");
            let mut statement = connection.prepare_cached(&sql).map_err(backend_error)?;
            let mut rows = statement.query([id]).map_err(backend_error)?;
            match rows.next().map_err(backend_error)? {
                Some(row) => Ok(Some(to_grant(row)?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn grants(
        &self,
        dataset: Option<&str>,
        department: Option<&DepartmentId>,
    ) -> StoreResult<Vec<HubGrant>> {
        let dataset = dataset.map(str::to_owned);
        let department = department.map(|d| d.as_str().to_owned());
        self.call(move |connection| {
            let sql = format!(
                "SELECT {GRANT_COLUMNS} FROM hub_grants
                 WHERE (?1 IS NULL OR dataset = ?1) AND (?2 IS NULL OR department = ?2)
                 ORDER BY id DESC"
            );
            let mut statement = connection.prepare_cached(&sql).map_err(backend_error)?;
            let mut rows = statement
                .query(params![dataset, department])
                .map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                found.push(to_grant(row)?);
            }
            Ok(found)
        })
        .await
    }

    async fn record_accesses(&self, accesses: Vec<HubAccess>, audit: Audit) -> StoreResult<()> {
        self.write(move |transaction| {
            {
                let mut insert = transaction
                    .prepare_cached(
                        "INSERT INTO hub_access (at, dataset, department, reader, grant_id,
                             purpose, subject, fields)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )
                    .map_err(backend_error)?;
                for access in &accesses {
                    insert
                        .execute(params![
                            timestamp(access.at),
                            access.dataset,
                            access.department.as_ref().map(|d| d.as_str()),
                            access.reader,
                            access.grant_id,
                            access.purpose,
                            access.subject,
                            json_strings(&access.fields),
                        ])
                        .map_err(backend_error)?;
                }
            }
            write_leaves(transaction, &audit)
        })
        .await
    }

    async fn accesses_of(&self, subject: &str) -> StoreResult<Vec<HubAccess>> {
        let subject = subject.to_owned();
        self.call(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT at, dataset, department, reader, grant_id, purpose, subject, fields
                     FROM hub_access WHERE subject = ?1 ORDER BY at DESC, id DESC",
                )
                .map_err(backend_error)?;
            let mut rows = statement.query([subject]).map_err(backend_error)?;
            let mut found = Vec::new();
            while let Some(row) = rows.next().map_err(backend_error)? {
                found.push(to_access(row)?);
            }
            Ok(found)
        })
        .await
    }

    async fn bind_person(&self, user: UserId, subject: &str, audit: Audit) -> StoreResult<()> {
        let subject = subject.to_owned();
        self.write(move |transaction| {
            let known: Option<i64> = transaction
                .query_row("SELECT 1 FROM users WHERE id = ?1", [user.0], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(backend_error)?;
            if known.is_none() {
                return Err(not_found(format!("user {}", user.0)));
            }
            exec(
                transaction,
                "INSERT INTO hub_people (user_id, subject) VALUES (?1, ?2)
                 ON CONFLICT (user_id) DO UPDATE SET subject = excluded.subject",
                params![user.0, subject],
            )
            .map_err(backend_error)?;
            write_leaves(transaction, &audit)
        })
        .await
    }

    async fn person_of(&self, user: UserId) -> StoreResult<Option<String>> {
        self.call(move |connection| {
            connection
                .query_row(
                    "SELECT subject FROM hub_people WHERE user_id = ?1",
                    [user.0],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend_error)
        })
        .await
    }
}
