//! The data hub's tables on PostgreSQL (see `cityloop_store::hub`).
//!
//! Semantics mirror the SQLite backend exactly. Because several server
//! processes may write at once here, the import being written or finished
//! is locked (`FOR UPDATE`) before its checkpoint is compared, and a
//! dataset's owner and standard are checked again in the upsert itself.
//! A batch's rows and quarantined lines are written with one statement each
//! (`unnest`), not one round trip per row. A quarantined line is kept as
//! bytes: PostgreSQL's `TEXT` cannot hold the NUL a damaged line may carry.

use super::{
    PostgresStore, Transaction, begin_read, begin_write, column, commit, corrupt, count, execute,
    exists, query, query_one, query_opt, to_i64, to_u64, write_leaves,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cityloop_domain::{DepartmentId, UserId};
use cityloop_store::hub::{
    DatasetRecord, GRANT_REQUESTED, HUB_PAGE_ROWS_MAX, HubAccess, HubGrant, HubImport, HubRow,
    HubStore, IMPORT_DONE, IMPORT_RUNNING, QuarantineRow, StoredHubRow, check_batch_rows,
};
use cityloop_store::{Audit, StoreError, StoreResult};
use std::collections::HashSet;
use tokio_postgres::Row;

const DATASET_COLUMNS: &str = "id, title, description, owner, standard, standard_version,
     update_frequency, fields, created_at, updated_at";

fn to_dataset(row: &Row) -> StoreResult<DatasetRecord> {
    let owner: String = column(row, 3)?;
    Ok(DatasetRecord {
        id: column(row, 0)?,
        title: column(row, 1)?,
        description: column(row, 2)?,
        owner: DepartmentId::parse(&owner).map_err(|e| corrupt("dataset owner", e))?,
        standard: column(row, 4)?,
        standard_version: column(row, 5)?,
        update_frequency: column(row, 6)?,
        fields: column(row, 7)?,
        created_at: column(row, 8)?,
        updated_at: column(row, 9)?,
    })
}

const IMPORT_COLUMNS: &str = "id, dataset, mapping, mapping_version, file_name, file_sha256,
     status, accepted, rejected, next_offset, next_line, started_at, finished_at, by_user,
     quality, fixes, header, mapping_text";

fn to_import(row: &Row) -> StoreResult<HubImport> {
    Ok(HubImport {
        id: column(row, 0)?,
        dataset: column(row, 1)?,
        mapping: column(row, 2)?,
        mapping_version: column(row, 3)?,
        file_name: column(row, 4)?,
        file_sha256: column(row, 5)?,
        status: column(row, 6)?,
        accepted: to_u64("import accepted", column(row, 7)?)?,
        rejected: to_u64("import rejected", column(row, 8)?)?,
        next_offset: to_u64("import offset", column(row, 9)?)?,
        next_line: to_u64("import line", column(row, 10)?)?,
        started_at: column(row, 11)?,
        finished_at: column(row, 12)?,
        by: column::<Option<i64>>(row, 13)?.map(UserId),
        quality: column(row, 14)?,
        fixes: column(row, 15)?,
        header: strings("import header", &column::<String>(row, 16)?)?,
        mapping_text: column(row, 17)?,
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

fn to_grant(row: &Row) -> StoreResult<HubGrant> {
    let department: String = column(row, 2)?;
    let fields: String = column(row, 3)?;
    Ok(HubGrant {
        id: column(row, 0)?,
        dataset: column(row, 1)?,
        department: DepartmentId::parse(&department).map_err(|e| corrupt("grant department", e))?,
        fields: strings("grant fields", &fields)?,
        purpose: column(row, 4)?,
        valid_from: column(row, 5)?,
        valid_until: column(row, 6)?,
        status: column(row, 7)?,
        requested_by: UserId(column(row, 8)?),
        requested_at: column(row, 9)?,
        decided_by: column::<Option<i64>>(row, 10)?.map(UserId),
        decided_at: column(row, 11)?,
        note: column(row, 12)?,
    })
}

fn to_access(row: &Row) -> StoreResult<HubAccess> {
    let department: Option<String> = column(row, 2)?;
    let fields: String = column(row, 7)?;
    Ok(HubAccess {
        at: column(row, 0)?,
        dataset: column(row, 1)?,
        department: department
            .map(|d| DepartmentId::parse(&d))
            .transpose()
            .map_err(|e| corrupt("access department", e))?,
        reader: column(row, 3)?,
        grant_id: column(row, 4)?,
        purpose: column(row, 5)?,
        subject: column(row, 6)?,
        fields: strings("access fields", &fields)?,
    })
}

fn to_quarantine(row: &Row) -> StoreResult<QuarantineRow> {
    let raw: Vec<u8> = column(row, 3)?;
    let reasons: String = column(row, 4)?;
    Ok(QuarantineRow {
        id: column(row, 0)?,
        import_id: column(row, 1)?,
        line: to_u64("quarantine line", column(row, 2)?)?,
        raw: String::from_utf8(raw).map_err(|e| corrupt("quarantine raw", e))?,
        reasons: strings("quarantine reasons", &reasons)?,
        fixed_by: column(row, 5)?,
    })
}

fn to_stored_row(row: &Row) -> StoreResult<StoredHubRow> {
    Ok(StoredHubRow {
        dataset: column(row, 0)?,
        import_id: column(row, 2)?,
        row: HubRow {
            key: column(row, 1)?,
            line: to_u64("row line", column(row, 3)?)?,
            data: column(row, 4)?,
            subject: column(row, 5)?,
        },
    })
}

/// The import, locked for the rest of the transaction when `lock`.
async fn import_in(
    transaction: &Transaction<'_>,
    id: i64,
    lock: bool,
) -> StoreResult<Option<HubImport>> {
    let sql = format!(
        "SELECT {IMPORT_COLUMNS} FROM hub_imports WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    query_opt(transaction, &sql, &[&id])
        .await?
        .map(|row| to_import(&row))
        .transpose()
}

fn not_found(what: String) -> StoreError {
    StoreError::NotFound { what }
}

#[async_trait]
impl HubStore for PostgresStore {
    async fn put_dataset(&self, dataset: DatasetRecord, audit: Audit) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let conflict = |owner: &str, standard: &str| StoreError::Conflict {
            what: format!(
                "dataset {} (owned by {owner}, standard {standard})",
                dataset.id
            ),
        };
        let known = query_opt(
            &transaction,
            "SELECT owner, standard FROM hub_datasets WHERE id = $1 FOR UPDATE",
            &[&dataset.id],
        )
        .await?;
        if let Some(row) = known {
            let owner: String = column(&row, 0)?;
            let standard: String = column(&row, 1)?;
            if owner != dataset.owner.as_str() || standard != dataset.standard {
                return Err(conflict(&owner, &standard));
            }
        }
        if !exists(
            &transaction,
            "SELECT 1 FROM departments WHERE id = $1",
            dataset.owner.as_str(),
        )
        .await?
        {
            return Err(not_found(format!("department {}", dataset.owner)));
        }
        // The WHERE guards against a writer that added the dataset after
        // the check above, with another owner or standard.
        let changed = execute(
            &transaction,
            "INSERT INTO hub_datasets (id, title, description, owner, standard,
                 standard_version, update_frequency, fields, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET title = excluded.title,
                 description = excluded.description,
                 standard_version = excluded.standard_version,
                 update_frequency = excluded.update_frequency,
                 fields = excluded.fields, updated_at = excluded.updated_at
             WHERE hub_datasets.owner = excluded.owner
               AND hub_datasets.standard = excluded.standard",
            &[
                &dataset.id,
                &dataset.title,
                &dataset.description,
                &dataset.owner.as_str(),
                &dataset.standard,
                &dataset.standard_version,
                &dataset.update_frequency,
                &dataset.fields,
                &dataset.created_at,
                &dataset.updated_at,
            ],
        )
        .await?;
        if changed == 0 {
            let row = query_one(
                &transaction,
                "SELECT owner, standard FROM hub_datasets WHERE id = $1",
                &[&dataset.id],
            )
            .await?;
            let owner: String = column(&row, 0)?;
            let standard: String = column(&row, 1)?;
            return Err(conflict(&owner, &standard));
        }
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await
    }

    async fn dataset(&self, id: &str) -> StoreResult<Option<DatasetRecord>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let sql = format!("SELECT {DATASET_COLUMNS} FROM hub_datasets WHERE id = $1");
        let row = query_opt(&transaction, &sql, &[&id]).await?;
        commit(transaction).await?;
        row.map(|row| to_dataset(&row)).transpose()
    }

    async fn datasets(&self) -> StoreResult<Vec<DatasetRecord>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let sql = format!("SELECT {DATASET_COLUMNS} FROM hub_datasets ORDER BY id");
        let rows = query(&transaction, &sql, &[]).await?;
        commit(transaction).await?;
        rows.iter().map(to_dataset).collect()
    }

    async fn count_hub_rows(&self, dataset: &str) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_one(
            &transaction,
            "SELECT count(*) FROM hub_rows WHERE dataset = $1",
            &[&dataset],
        )
        .await?;
        commit(transaction).await?;
        count(&row)
    }

    async fn begin_import(&self, import: HubImport) -> StoreResult<i64> {
        let next_offset = to_i64("next_offset", import.next_offset)?;
        let next_line = to_i64("next_line", import.next_line)?;
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        if !exists(
            &transaction,
            "SELECT 1 FROM hub_datasets WHERE id = $1",
            &import.dataset,
        )
        .await?
        {
            return Err(not_found(format!("dataset {}", import.dataset)));
        }
        if let Some(fixes) = import.fixes
            && import_in(&transaction, fixes, false)
                .await?
                .is_none_or(|i| i.dataset != import.dataset)
        {
            return Err(not_found(format!(
                "import {fixes} of dataset {}",
                import.dataset
            )));
        }
        let row = query_one(
            &transaction,
            "INSERT INTO hub_imports (dataset, mapping, mapping_version, file_name,
                 file_sha256, status, accepted, rejected, next_offset, next_line,
                 started_at, by_user, fixes, header, mapping_text)
             VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7, $8, $9, $10, $11, $12, $13)
             RETURNING id",
            &[
                &import.dataset,
                &import.mapping,
                &import.mapping_version,
                &import.file_name,
                &import.file_sha256,
                &IMPORT_RUNNING,
                &next_offset,
                &next_line,
                &import.started_at,
                &import.by.map(|u| u.0),
                &import.fixes,
                &json_strings(&import.header),
                &import.mapping_text,
            ],
        )
        .await?;
        let id: i64 = column(&row, 0)?;
        commit(transaction).await?;
        Ok(id)
    }

    async fn hub_import(&self, id: i64) -> StoreResult<Option<HubImport>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let import = import_in(&transaction, id, false).await?;
        commit(transaction).await?;
        Ok(import)
    }

    async fn hub_imports(&self, dataset: &str) -> StoreResult<Vec<HubImport>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let sql =
            format!("SELECT {IMPORT_COLUMNS} FROM hub_imports WHERE dataset = $1 ORDER BY id DESC");
        let rows = query(&transaction, &sql, &[&dataset]).await?;
        commit(transaction).await?;
        rows.iter().map(to_import).collect()
    }

    async fn resumable_import(
        &self,
        dataset: &str,
        file_sha256: &str,
    ) -> StoreResult<Option<HubImport>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let sql = format!(
            "SELECT {IMPORT_COLUMNS} FROM hub_imports
             WHERE dataset = $1 AND file_sha256 = $2 AND status = $3
             ORDER BY id DESC LIMIT 1"
        );
        let row = query_opt(
            &transaction,
            &sql,
            &[&dataset, &file_sha256, &IMPORT_RUNNING],
        )
        .await?;
        commit(transaction).await?;
        row.map(|row| to_import(&row)).transpose()
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
        let next_offset = to_i64("next_offset", next_offset)?;
        let next_line = to_i64("next_line", next_line)?;
        let accepted = to_i64("rows", rows.len() as u64)?;
        let quarantined = to_i64("rejected", rejected.len() as u64)?;
        // One upsert statement may not touch a key twice: keep the last row
        // of each key, as row-by-row upserts would.
        let mut seen = HashSet::new();
        let mut latest: Vec<&HubRow> = rows
            .iter()
            .rev()
            .filter(|row| seen.insert(row.key.as_str()))
            .collect();
        latest.reverse();
        let keys: Vec<&str> = latest.iter().map(|row| row.key.as_str()).collect();
        let lines = latest
            .iter()
            .map(|row| to_i64("line", row.line))
            .collect::<StoreResult<Vec<i64>>>()?;
        let data: Vec<&str> = latest.iter().map(|row| row.data.as_str()).collect();
        let subjects: Vec<Option<&str>> = latest.iter().map(|row| row.subject.as_deref()).collect();
        let bad_lines = rejected
            .iter()
            .map(|row| to_i64("line", row.line))
            .collect::<StoreResult<Vec<i64>>>()?;
        let raws: Vec<&[u8]> = rejected.iter().map(|row| row.raw.as_bytes()).collect();
        let reasons: Vec<String> = rejected
            .iter()
            .map(|row| json_strings(&row.reasons))
            .collect();

        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let import = import_in(&transaction, import_id, true)
            .await?
            .ok_or_else(|| not_found(format!("import {import_id}")))?;
        if import.status != IMPORT_RUNNING || import.next_offset != from_offset {
            return Err(StoreError::Conflict {
                what: format!(
                    "import {import_id} at offset {} ({}), not {from_offset}",
                    import.next_offset, import.status
                ),
            });
        }
        if !keys.is_empty() {
            execute(
                &transaction,
                "INSERT INTO hub_rows (dataset, key, import_id, line, data, subject)
                 SELECT $1, r.key, $2, r.line, r.data, r.subject
                 FROM unnest($3::TEXT[], $4::BIGINT[], $5::TEXT[], $6::TEXT[])
                      AS r (key, line, data, subject)
                 ON CONFLICT (dataset, key) DO UPDATE SET import_id = excluded.import_id,
                     line = excluded.line, data = excluded.data, subject = excluded.subject",
                &[&import.dataset, &import_id, &keys, &lines, &data, &subjects],
            )
            .await?;
        }
        if !bad_lines.is_empty() {
            execute(
                &transaction,
                "INSERT INTO hub_quarantine (import_id, line, raw, reasons)
                 SELECT $1, q.line, q.raw, q.reasons
                 FROM unnest($2::BIGINT[], $3::BYTEA[], $4::TEXT[]) WITH ORDINALITY
                      AS q (line, raw, reasons, n)
                 ORDER BY q.n",
                &[&import_id, &bad_lines, &raws, &reasons],
            )
            .await?;
        }
        execute(
            &transaction,
            "UPDATE hub_imports SET accepted = accepted + $2, rejected = rejected + $3,
                 next_offset = $4, next_line = $5 WHERE id = $1",
            &[
                &import_id,
                &accepted,
                &quarantined,
                &next_offset,
                &next_line,
            ],
        )
        .await?;
        commit(transaction).await
    }

    async fn finish_import(
        &self,
        import_id: i64,
        quality: String,
        finished_at: DateTime<Utc>,
        audit: Audit,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let import = import_in(&transaction, import_id, true)
            .await?
            .ok_or_else(|| not_found(format!("import {import_id}")))?;
        if import.status != IMPORT_RUNNING {
            return Err(StoreError::Conflict {
                what: format!("import {import_id} is {}", import.status),
            });
        }
        execute(
            &transaction,
            "UPDATE hub_imports SET status = $2, quality = $3, finished_at = $4 WHERE id = $1",
            &[&import_id, &IMPORT_DONE, &quality, &finished_at],
        )
        .await?;
        if let Some(fixes) = import.fixes {
            execute(
                &transaction,
                "UPDATE hub_quarantine SET fixed_by = $2
                 WHERE import_id = $1 AND fixed_by IS NULL",
                &[&fixes, &import_id],
            )
            .await?;
        }
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await
    }

    async fn quarantine(&self, import_id: i64, open_only: bool) -> StoreResult<Vec<QuarantineRow>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            "SELECT id, import_id, line, raw, reasons, fixed_by FROM hub_quarantine
             WHERE import_id = $1 AND (NOT $2 OR fixed_by IS NULL) ORDER BY line, id",
            &[&import_id, &open_only],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_quarantine).collect()
    }

    async fn hub_rows(
        &self,
        dataset: &str,
        after_key: Option<&str>,
        subject: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<StoredHubRow>> {
        let limit = i64::from(limit.clamp(1, HUB_PAGE_ROWS_MAX));
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            "SELECT dataset, key, import_id, line, data, subject FROM hub_rows
             WHERE dataset = $1 AND ($2::TEXT IS NULL OR key > $2)
               AND ($3::TEXT IS NULL OR subject = $3)
             ORDER BY key LIMIT $4",
            &[&dataset, &after_key, &subject, &limit],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_stored_row).collect()
    }

    async fn put_grant(&self, grant: HubGrant, audit: Audit) -> StoreResult<i64> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        if !exists(
            &transaction,
            "SELECT 1 FROM hub_datasets WHERE id = $1",
            &grant.dataset,
        )
        .await?
        {
            return Err(not_found(format!("dataset {}", grant.dataset)));
        }
        let status = if grant.status.is_empty() {
            GRANT_REQUESTED
        } else {
            grant.status.as_str()
        };
        let row = query_one(
            &transaction,
            "INSERT INTO hub_grants (dataset, department, fields, purpose, valid_from,
                 valid_until, status, requested_by, requested_at, decided_by, decided_at, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             RETURNING id",
            &[
                &grant.dataset,
                &grant.department.as_str(),
                &json_strings(&grant.fields),
                &grant.purpose,
                &grant.valid_from,
                &grant.valid_until,
                &status,
                &grant.requested_by.0,
                &grant.requested_at,
                &grant.decided_by.map(|u| u.0),
                &grant.decided_at,
                &grant.note,
            ],
        )
        .await?;
        let id: i64 = column(&row, 0)?;
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await?;
        Ok(id)
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
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        // A racing decision holds the row; this one then sees its status.
        let changed = execute(
            &transaction,
            "UPDATE hub_grants SET status = $3, decided_by = $4, decided_at = $5, note = $6
             WHERE id = $1 AND status = $2",
            &[&id, &from, &to, &by.0, &at, &note],
        )
        .await?;
        if changed == 0 {
            let row = query_opt(
                &transaction,
                "SELECT status FROM hub_grants WHERE id = $1",
                &[&id],
            )
            .await?;
            return Err(match row {
                None => not_found(format!("grant {id}")),
                Some(row) => {
                    let status: String = column(&row, 0)?;
                    StoreError::Conflict {
                        what: format!("grant {id} is {status}, not {from}"),
                    }
                }
            });
        }
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await
    }

    async fn grant(&self, id: i64) -> StoreResult<Option<HubGrant>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let sql = format!("SELECT {GRANT_COLUMNS} FROM hub_grants WHERE id = $1");
        let row = query_opt(&transaction, &sql, &[&id]).await?;
        commit(transaction).await?;
        row.map(|row| to_grant(&row)).transpose()
    }

    async fn grants(
        &self,
        dataset: Option<&str>,
        department: Option<&DepartmentId>,
    ) -> StoreResult<Vec<HubGrant>> {
        let department = department.map(|d| d.as_str());
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM hub_grants
             WHERE ($1::TEXT IS NULL OR dataset = $1) AND ($2::TEXT IS NULL OR department = $2)
             ORDER BY id DESC"
        );
        let rows = query(&transaction, &sql, &[&dataset, &department]).await?;
        commit(transaction).await?;
        rows.iter().map(to_grant).collect()
    }

    async fn record_accesses(&self, accesses: Vec<HubAccess>, audit: Audit) -> StoreResult<()> {
        let at: Vec<DateTime<Utc>> = accesses.iter().map(|a| a.at).collect();
        let datasets: Vec<&str> = accesses.iter().map(|a| a.dataset.as_str()).collect();
        let departments: Vec<Option<&str>> = accesses
            .iter()
            .map(|a| a.department.as_ref().map(|d| d.as_str()))
            .collect();
        let readers: Vec<&str> = accesses.iter().map(|a| a.reader.as_str()).collect();
        let grant_ids: Vec<Option<i64>> = accesses.iter().map(|a| a.grant_id).collect();
        let purposes: Vec<&str> = accesses.iter().map(|a| a.purpose.as_str()).collect();
        let subjects: Vec<&str> = accesses.iter().map(|a| a.subject.as_str()).collect();
        let fields: Vec<String> = accesses.iter().map(|a| json_strings(&a.fields)).collect();
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        if !accesses.is_empty() {
            execute(
                &transaction,
                "INSERT INTO hub_access (at, dataset, department, reader, grant_id, purpose,
                     subject, fields)
                 SELECT a.at, a.dataset, a.department, a.reader, a.grant_id, a.purpose,
                     a.subject, a.fields
                 FROM unnest($1::TIMESTAMPTZ[], $2::TEXT[], $3::TEXT[], $4::TEXT[],
                             $5::BIGINT[], $6::TEXT[], $7::TEXT[], $8::TEXT[])
                      WITH ORDINALITY
                      AS a (at, dataset, department, reader, grant_id, purpose, subject,
                            fields, n)
                 ORDER BY a.n",
                &[
                    &at,
                    &datasets,
                    &departments,
                    &readers,
                    &grant_ids,
                    &purposes,
                    &subjects,
                    &fields,
                ],
            )
            .await?;
        }
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await
    }

    async fn accesses_of(&self, subject: &str) -> StoreResult<Vec<HubAccess>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let rows = query(
            &transaction,
            "SELECT at, dataset, department, reader, grant_id, purpose, subject, fields
             FROM hub_access WHERE subject = $1 ORDER BY at DESC, id DESC",
            &[&subject],
        )
        .await?;
        commit(transaction).await?;
        rows.iter().map(to_access).collect()
    }

    async fn bind_person(&self, user: UserId, subject: &str, audit: Audit) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = begin_write(&mut client).await?;
        let known = query_opt(
            &transaction,
            "SELECT 1 FROM users WHERE id = $1",
            &[&user.0],
        )
        .await?
        .is_some();
        if !known {
            return Err(not_found(format!("user {}", user.0)));
        }
        execute(
            &transaction,
            "INSERT INTO hub_people (user_id, subject) VALUES ($1, $2)
             ON CONFLICT (user_id) DO UPDATE SET subject = excluded.subject",
            &[&user.0, &subject],
        )
        .await?;
        write_leaves(&transaction, &audit).await?;
        commit(transaction).await
    }

    async fn person_of(&self, user: UserId) -> StoreResult<Option<String>> {
        let mut client = self.client().await?;
        let transaction = begin_read(&mut client).await?;
        let row = query_opt(
            &transaction,
            "SELECT subject FROM hub_people WHERE user_id = $1",
            &[&user.0],
        )
        .await?;
        commit(transaction).await?;
        row.map(|row| column(&row, 0)).transpose()
    }
}
