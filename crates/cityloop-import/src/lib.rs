//! Reads the city's reference files — areas, boundaries, departments,
//! categories and the responsibility list — into the store.
//!
//! Key design decision: an import is all or nothing. A file is parsed whole
//! into domain values (each remembering its line), checked within itself
//! (duplicates, order), and written with one atomic store call; any error,
//! from the parser or from the store's reference checks, is reported against
//! the line it came from and nothing is written. Files may be CSV (with a
//! header row), a JSON array of objects, or GeoJSON for boundaries.

pub mod bundled;
pub mod dataset;
mod parse;

use cityloop_domain::{Area, AreaCode, Category, Department, DomainError, Responsibility};
use cityloop_store::{Store, StoreError, WriteSummary};
use std::collections::HashMap;
use std::fmt;

pub use parse::Format;

/// Where a record came from in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// 1-based line in the file.
    pub line: u64,
}

/// A parsed record with its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub origin: Origin,
    pub value: T,
}

/// Why an import was refused. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}: {field}: {message}")]
    Row {
        line: u64,
        field: String,
        message: String,
    },
    #[error("{0}")]
    File(String),
    #[error("storage failed, nothing was imported: {0}")]
    Store(StoreError),
}

impl ImportError {
    fn row(line: u64, error: DomainError) -> ImportError {
        ImportError::Row {
            line,
            field: error.field.to_owned(),
            message: error.message,
        }
    }

    /// The line the error points at, if any.
    pub fn line(&self) -> Option<u64> {
        match self {
            ImportError::Row { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// Reports progress of long imports; the CLI draws a bar, tests ignore it.
pub trait Progress {
    fn start(&self, stage: &str, total: u64);
    fn advance(&self, done: u64);
    fn finish(&self);
}

/// Progress that shows nothing.
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub records: u64,
    pub written: WriteSummary,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} records: {} inserted, {} updated",
            self.records, self.written.inserted, self.written.updated
        )
    }
}

/// Maps a store error on batch item `index` back to its line.
fn store_error<T>(rows: &[Located<T>], error: StoreError) -> ImportError {
    match error {
        StoreError::Invalid {
            index,
            field,
            message,
        } => match rows.get(index) {
            Some(row) => ImportError::Row {
                line: row.origin.line,
                field: field.to_owned(),
                message,
            },
            None => ImportError::File(format!("item {index}: {field}: {message}")),
        },
        other => ImportError::Store(other),
    }
}

/// Refuses a file that names the same key twice, pointing at both lines.
fn reject_duplicates<T, K: std::hash::Hash + Eq + fmt::Display>(
    rows: &[Located<T>],
    field: &str,
    key: impl Fn(&T) -> K,
) -> Result<(), ImportError> {
    let mut seen: HashMap<K, u64> = HashMap::new();
    for row in rows {
        let line = row.origin.line;
        if let Some(first) = seen.insert(key(&row.value), line) {
            return Err(ImportError::Row {
                line,
                field: field.to_owned(),
                message: format!("{} also appears on line {first}", key(&row.value)),
            });
        }
    }
    Ok(())
}

/// Imports an area tree (CSV `level,code,name,parent_code` or JSON).
/// Parents are written before children whatever the file's order.
pub async fn import_areas(
    store: &dyn Store,
    text: &str,
    format: Format,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    let mut rows = parse::areas(text, format, progress)?;
    reject_duplicates(&rows, "code", |area: &Area| area.code.clone())?;
    rows.sort_by_key(|row| row.value.level);
    let records = rows.len() as u64;
    let batch = rows.iter().map(|row| row.value.clone()).collect();
    let written = store
        .upsert_areas(batch)
        .await
        .map_err(|e| store_error(&rows, e))?;
    Ok(ImportReport { records, written })
}

/// Imports boundaries from a GeoJSON FeatureCollection whose features carry
/// `properties.code`. A feature may also carry `name`, `level` and
/// `parent_code` to create an area that does not exist yet (a grid, say).
pub async fn import_area_shapes(
    store: &dyn Store,
    text: &str,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    let features = parse::shapes(text, progress)?;
    reject_duplicates(&features, "code", |feature: &parse::ShapeFeature| {
        feature.code.clone()
    })?;
    // Check every feature first, so the only way to fail after writing
    // starts is the database itself; re-running the import is idempotent.
    let mut new_areas = Vec::new();
    for located in &features {
        let feature = &located.value;
        let exists = store
            .area(&feature.code)
            .await
            .map_err(ImportError::Store)?
            .is_some();
        match (&feature.new_area, exists) {
            (_, true) => {}
            (Some(area), false) => new_areas.push(Located {
                origin: located.origin,
                value: area.clone(),
            }),
            (None, false) => {
                return Err(ImportError::Row {
                    line: located.origin.line,
                    field: "code".into(),
                    message: format!(
                        "area {} does not exist; give name, level and parent_code in the feature's properties to create it",
                        feature.code
                    ),
                });
            }
        }
    }
    new_areas.sort_by_key(|row| row.value.level);
    let mut written = WriteSummary::default();
    if !new_areas.is_empty() {
        let batch = new_areas.iter().map(|row| row.value.clone()).collect();
        written = store
            .upsert_areas(batch)
            .await
            .map_err(|e| store_error(&new_areas, e))?;
    }
    let shapes: Vec<(AreaCode, String)> = features
        .iter()
        .map(|feature| (feature.value.code.clone(), feature.value.geometry.clone()))
        .collect();
    let count = store
        .set_area_shapes(shapes)
        .await
        .map_err(|e| store_error(&features, e))?;
    written.updated += count;
    Ok(ImportReport {
        records: features.len() as u64,
        written,
    })
}

/// Imports departments (CSV `id,name,kind,areas,phone` with `;` between area
/// codes, or JSON).
pub async fn import_departments(
    store: &dyn Store,
    text: &str,
    format: Format,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    let rows = parse::departments(text, format, progress)?;
    reject_duplicates(&rows, "id", |d: &Department| d.id.clone())?;
    let batch = rows.iter().map(|row| row.value.clone()).collect();
    let written = store
        .upsert_departments(batch, Vec::new())
        .await
        .map_err(|e| store_error(&rows, e))?;
    Ok(ImportReport {
        records: rows.len() as u64,
        written,
    })
}

/// Imports categories (CSV `code,kind,class_code,class_name,name[,standard]`
/// as in the GB/T 47678.5 list, or JSON).
pub async fn import_categories(
    store: &dyn Store,
    text: &str,
    format: Format,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    let rows = parse::categories(text, format, progress)?;
    reject_duplicates(&rows, "code", |c: &Category| {
        format!("{} {}", c.kind, c.code)
    })?;
    let batch = rows.iter().map(|row| row.value.clone()).collect();
    let written = store
        .upsert_categories(batch)
        .await
        .map_err(|e| store_error(&rows, e))?;
    Ok(ImportReport {
        records: rows.len() as u64,
        written,
    })
}

/// Imports the responsibility list (CSV `category,area_code,department,basis`
/// or JSON). Every category code must be a known case category.
pub async fn import_responsibilities(
    store: &dyn Store,
    text: &str,
    format: Format,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    let rows = parse::responsibilities(text, format, progress)?;
    reject_duplicates(&rows, "category", |r: &Responsibility| {
        format!("{} at {}", r.category, r.area)
    })?;
    for row in &rows {
        if let cityloop_domain::CategorySelector::Code(code) = &row.value.category {
            let (kind, _) = cityloop_domain::CategoryCode::parse_case_category(code.as_str())
                .map_err(|e| ImportError::row(row.origin.line, e))?;
            if store
                .category(kind, code.as_str())
                .await
                .map_err(ImportError::Store)?
                .is_none()
            {
                return Err(ImportError::Row {
                    line: row.origin.line,
                    field: "category".into(),
                    message: format!("category {code} is not in the catalogue"),
                });
            }
        }
    }
    let batch = rows.iter().map(|row| row.value.clone()).collect();
    let written = store
        .upsert_responsibilities(batch, Vec::new())
        .await
        .map_err(|e| store_error(&rows, e))?;
    Ok(ImportReport {
        records: rows.len() as u64,
        written,
    })
}
