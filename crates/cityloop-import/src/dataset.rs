//! Imports a department's data file into a data-hub dataset: the pure
//! mapping pipeline of `cityloop-hub` on worker threads, its batches
//! written to the store in file order, each with the import's checkpoint.
//!
//! Key design decision: the checkpoint (byte offset and next line) moves in
//! the same transaction as the batch's rows and quarantined lines
//! ([`cityloop_store::hub::HubStore::write_import_batch`]), so an import
//! interrupted anywhere — a killed process, a lost connection — is resumed
//! by running it again on the same bytes: the store names the unfinished
//! import of that file (by SHA-256) and the pipeline starts at its
//! checkpoint. Nothing is read twice into the store and nothing is skipped.
//! The person a row is about is stored only as a keyed pseudonym made by
//! the caller (`subject_of`), never in the clear outside the row.

use chrono::{DateTime, Utc};
use cityloop_domain::{DepartmentId, UserId};
use cityloop_hub::pipeline::{Batch, PipelineOptions, compile_for_file, map_file_with};
use cityloop_hub::{Library, Mapping, QualityReport, Standard};
use cityloop_store::hub::{DatasetRecord, HubImport, HubRow, QuarantineRow};
use cityloop_store::{Store, StoreError};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per batch (and per store transaction).
pub const IMPORT_BATCH_ROWS: usize = 20_000;
/// Batches mapped ahead of the store.
const BATCHES_AHEAD_MAX: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum DatasetImportError {
    #[error("{0}")]
    Hub(#[from] cityloop_hub::HubError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The request does not fit the dataset or the mapping; `field` names
    /// what is wrong.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

fn invalid(field: &'static str, message: impl Into<String>) -> DatasetImportError {
    DatasetImportError::Invalid {
        field,
        message: message.into(),
    }
}

/// What to import.
pub struct ImportRequest<'a> {
    pub library: &'a Library,
    pub mapping: &'a Mapping,
    /// The mapping's TOML text (kept with the import).
    pub mapping_text: &'a str,
    /// The dataset's id; created from the mapping when new.
    pub dataset: &'a str,
    pub path: &'a Path,
    /// The name the file is known by (lineage).
    pub file_name: String,
    pub by: Option<UserId>,
    /// The earlier import whose quarantine this file fixes.
    pub fixes: Option<i64>,
    pub now: DateTime<Utc>,
    /// Worker threads of the pipeline.
    pub threads: usize,
    /// Stop after this many batches (tests of resuming); `None`: all.
    pub stop_after_batches: Option<u64>,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    pub import_id: i64,
    /// The line an interrupted import was resumed at, if it was.
    pub resumed_at_line: Option<u64>,
    /// Counts of the whole import (all runs).
    pub accepted: u64,
    pub rejected: u64,
    /// Rows read in this run, and their quality.
    pub quality: QualityReport,
    /// False when stopped early; run again to resume.
    pub finished: bool,
}

/// Progress of an import, in bytes of the file.
pub trait ImportProgress: Send + Sync {
    fn start(&self, total_bytes: u64, from_bytes: u64);
    fn advance(&self, bytes: u64, accepted: u64, rejected: u64);
    fn finish(&self);
}

impl ImportProgress for crate::Silent {
    fn start(&self, _: u64, _: u64) {}
    fn advance(&self, _: u64, _: u64, _: u64) {}
    fn finish(&self) {}
}

/// The catalogue's field list of a standard (JSON).
pub fn catalogue_fields(standard: &Standard) -> String {
    let fields: Vec<serde_json::Value> = standard
        .fields
        .iter()
        .map(|field| {
            serde_json::json!({
                "name": field.name,
                "kind": field.kind,
                "required": field.required,
                "classification": field.classification,
                "code_table": field.code_table,
                "unit": field.unit,
                "description": field.description,
            })
        })
        .chain(standard.derived.iter().map(|derived| {
            serde_json::json!({
                "name": derived.name,
                "kind": "derived",
                "required": false,
                "classification": "public",
                "description": derived.description,
            })
        }))
        .collect();
    serde_json::Value::from(fields).to_string()
}

/// The dataset a mapping's first import creates: owned by the mapping's
/// department, conforming to its standard.
pub fn dataset_for(
    library: &Library,
    mapping: &Mapping,
    id: &str,
    now: DateTime<Utc>,
) -> Result<DatasetRecord, DatasetImportError> {
    let standard = library.standard(&mapping.standard).ok_or_else(|| {
        invalid(
            "standard",
            format!("unknown standard {:?}", mapping.standard),
        )
    })?;
    check_dataset_id(id)?;
    let owner = DepartmentId::parse(&mapping.owner)
        .map_err(|e| invalid("owner", format!("mapping owner {:?}: {e}", mapping.owner)))?;
    Ok(DatasetRecord {
        id: id.to_owned(),
        title: standard.name.clone(),
        description: mapping.description.clone(),
        owner,
        standard: standard.id.clone(),
        standard_version: standard.version.clone(),
        update_frequency: "on import".into(),
        fields: catalogue_fields(standard),
        created_at: now,
        updated_at: now,
    })
}

/// Dataset ids: 1–64 of `a-z`, `0-9`, `-`.
pub fn check_dataset_id(id: &str) -> Result<(), DatasetImportError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "dataset",
            format!("{id:?}: a dataset id is 1-64 characters of a-z, 0-9 and -"),
        ))
    }
}

/// SHA-256 of a file, hex.
pub fn file_sha256(path: &Path) -> Result<String, DatasetImportError> {
    let io = |source| DatasetImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex_string(&hasher.finalize()))
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes a keyed pseudonym of a person's identity number.
pub type PersonPseudonym = Arc<dyn Fn(&str) -> String + Send + Sync>;
/// Makes a keyed pseudonym of a row's key within a dataset (dataset, key).
pub type RowKeyPseudonym = Arc<dyn Fn(&str, &str) -> String + Send + Sync>;

/// Keyed pseudonyms the import stores instead of clear values.
#[derive(Clone)]
pub struct Pseudonymise {
    /// The person a row is about (from their identity number).
    pub subject: PersonPseudonym,
    /// A row's key within its dataset.
    pub key: RowKeyPseudonym,
}

/// Imports (or resumes importing) a file into a dataset. `pseudonymise`
/// turns a row's key and the clear identity of its person into the keyed
/// pseudonyms stored.
pub async fn import_dataset(
    store: &dyn Store,
    request: ImportRequest<'_>,
    pseudonymise: Pseudonymise,
    progress: &dyn ImportProgress,
) -> Result<ImportOutcome, DatasetImportError> {
    let hub = store.hub();
    let mapping = request.mapping;
    let dataset = match hub.dataset(request.dataset).await? {
        Some(dataset) => dataset,
        None => {
            let dataset = dataset_for(request.library, mapping, request.dataset, request.now)?;
            hub.put_dataset(dataset.clone(), Vec::new()).await?;
            dataset
        }
    };
    if dataset.standard != mapping.standard {
        return Err(invalid(
            "mapping",
            format!(
                "mapping {} maps to standard {}, dataset {} holds {}",
                mapping.id, mapping.standard, dataset.id, dataset.standard
            ),
        ));
    }
    let path = request.path.to_path_buf();
    let compiled = {
        let (path, mapping, library) = (path.clone(), mapping.clone(), request.library.clone());
        tokio::task::spawn_blocking(move || compile_for_file(&path, &mapping, &library))
            .await
            .map_err(|e| invalid("file", format!("mapping task failed: {e}")))??
    };
    let sha256 = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || file_sha256(&path))
            .await
            .map_err(|e| invalid("file", format!("hashing task failed: {e}")))??
    };
    let total_bytes = std::fs::metadata(&path)
        .map_err(|source| DatasetImportError::Io {
            path: path.clone(),
            source,
        })?
        .len();

    let (import, resumed_at_line) = match hub.resumable_import(&dataset.id, &sha256).await? {
        Some(import) => {
            let line = import.next_line;
            (import, Some(line))
        }
        None => {
            let fresh = HubImport {
                id: 0,
                dataset: dataset.id.clone(),
                mapping: mapping.id.clone(),
                mapping_version: mapping.version.clone(),
                file_name: request.file_name.clone(),
                file_sha256: sha256.clone(),
                status: String::new(),
                accepted: 0,
                rejected: 0,
                next_offset: 0,
                next_line: 0,
                started_at: request.now,
                finished_at: None,
                by: request.by,
                quality: None,
                fixes: request.fixes,
                header: compiled.headers().to_vec(),
                mapping_text: request.mapping_text.to_owned(),
            };
            let id = hub.begin_import(fresh.clone()).await?;
            (HubImport { id, ..fresh }, None)
        }
    };
    if import.mapping != mapping.id || import.mapping_version != mapping.version {
        return Err(invalid(
            "mapping",
            format!(
                "import {} of this file was started with mapping {} v{}; resume it with the same mapping",
                import.id, import.mapping, import.mapping_version
            ),
        ));
    }
    progress.start(total_bytes, import.next_offset);

    // The pipeline runs on its own threads and hands batches over a
    // bounded channel, so mapping runs ahead of the store by a few batches.
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Batch>(BATCHES_AHEAD_MAX);
    let options = PipelineOptions {
        threads: request.threads.max(1),
        batch_rows: IMPORT_BATCH_ROWS,
        start_offset: import.next_offset,
        start_line: import.next_line,
    };
    let stop_after = request.stop_after_batches;
    let pipeline = tokio::task::spawn_blocking(move || {
        let mut sent = 0u64;
        map_file_with(&path, &compiled, &options, |batch| {
            if sender.blocking_send(batch).is_err() {
                return ControlFlow::Break(());
            }
            sent += 1;
            if stop_after.is_some_and(|n| sent >= n) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
    });

    let mut offset = import.next_offset;
    let (mut accepted, mut rejected) = (import.accepted, import.rejected);
    let mut written: Result<(), DatasetImportError> = Ok(());
    while let Some(batch) = receiver.recv().await {
        let rows: Vec<HubRow> = batch
            .ok
            .into_iter()
            .map(|row| HubRow {
                key: (pseudonymise.key)(
                    &dataset.id,
                    &row.key
                        .unwrap_or_else(|| format!("{}:{}", import.id, row.line)),
                ),
                line: row.line,
                data: row.json,
                subject: row.subject.as_deref().map(|s| (pseudonymise.subject)(s)),
            })
            .collect();
        let quarantined: Vec<QuarantineRow> = batch
            .rejected
            .into_iter()
            .map(|row| QuarantineRow {
                id: 0,
                import_id: import.id,
                line: row.line,
                raw: row.raw,
                reasons: row.reasons.iter().map(ToString::to_string).collect(),
                fixed_by: None,
            })
            .collect();
        let (n_ok, n_bad) = (rows.len() as u64, quarantined.len() as u64);
        if let Err(error) = hub
            .write_import_batch(
                import.id,
                offset,
                rows,
                quarantined,
                batch.last_offset,
                batch.next_line,
            )
            .await
        {
            written = Err(error.into());
            break;
        }
        offset = batch.last_offset;
        accepted += n_ok;
        rejected += n_bad;
        progress.advance(offset, accepted, rejected);
    }
    drop(receiver);
    let summary = pipeline
        .await
        .map_err(|e| invalid("file", format!("mapping task failed: {e}")))?;
    written?;
    let summary = summary?;
    progress.finish();
    let finished = !summary.stopped;
    if finished {
        let quality = serde_json::to_string(&summary.quality).unwrap_or_default();
        hub.finish_import(import.id, quality, request.now, Vec::new())
            .await?;
    }
    Ok(ImportOutcome {
        import_id: import.id,
        resumed_at_line,
        accepted,
        rejected,
        quality: summary.quality,
        finished,
    })
}

/// The unfixed quarantined lines of a CSV import as a file in the
/// department's own format — its encoding, delimiter and header, each line
/// as read — plus two columns, `_line` (the line in the original file) and
/// `_reasons`. Fixed and imported again with `--fixes`, through the same
/// mapping (extra columns are ignored). XLSX and JSON imports are refused:
/// their quarantine is read as JSON.
pub fn quarantine_file(
    import: &HubImport,
    lines: &[QuarantineRow],
) -> Result<Vec<u8>, DatasetImportError> {
    let mapping = Mapping::parse(&import.mapping_text).map_err(|e| {
        invalid(
            "import",
            format!("import {} kept no usable mapping: {e}", import.id),
        )
    })?;
    let source = &mapping.source;
    if source.format != cityloop_hub::mapping::Format::Csv {
        return Err(invalid(
            "import",
            format!(
                "import {} read a {:?} file; only CSV imports are handed back as a file",
                import.id, source.format
            ),
        ));
    }
    let delimiter = source
        .delimiter_byte()
        .map_err(|e| invalid("import", format!("import {}: {e}", import.id)))?;
    use cityloop_hub::pipeline::join_fields;
    let mut text = join_fields(
        import
            .header
            .iter()
            .map(String::as_str)
            .chain(["_line", "_reasons"]),
        delimiter,
    );
    text.push_str("\r\n");
    for line in lines.iter().filter(|l| l.fixed_by.is_none()) {
        let number = line.line.to_string();
        let reasons = line.reasons.join("; ");
        text.push_str(&line.raw);
        text.push(delimiter as char);
        text.push_str(&join_fields(
            [number.as_str(), reasons.as_str()].into_iter(),
            delimiter,
        ));
        text.push_str("\r\n");
    }
    Ok(match source.encoding {
        cityloop_hub::mapping::Encoding::Utf8 => text.into_bytes(),
        cityloop_hub::mapping::Encoding::Gbk => encoding_rs::GBK.encode(&text).0.into_owned(),
        cityloop_hub::mapping::Encoding::Gb18030 => {
            encoding_rs::GB18030.encode(&text).0.into_owned()
        }
    })
}
