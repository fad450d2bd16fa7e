//! The pure core of cityloop's data hub (数据中台): it maps departments' data
//! files, each in the department's own format, onto one city standard.
//!
//! The key design decision is that *everything a department or the city
//! decides is data*: standards (fields, classifications, code tables and the
//! statistical definitions 口径 of derived fields) are JSON under
//! `data/hub/standards/`, and each department's file format is a declarative,
//! versioned TOML mapping under `data/hub/mappings/`. Code here only
//! interprets them, so adding a department means adding a file, and two
//! departments' counts mean the same because the definition exists once.
//!
//! The crate does no database, network or async work. The flow is
//! [`read::Reader`] (bytes → UTF-8 [`RawRecord`]s with line numbers and
//! resumable offsets) → [`mapping::Compiled::map`] (→ [`MappedRow`] or *all*
//! [`Rejection`]s of the row) → [`quality::Quality`] and the caller's sink;
//! [`pipeline::map_file`] runs the same flow on several threads and hands
//! batches back in file order. [`mask`] decides what a reader may see.

pub mod check;
pub mod demo;
mod error;
pub mod mapping;
pub mod mask;
pub mod pipeline;
pub mod quality;
pub mod read;
pub mod standard;
pub mod units;

pub use error::HubError;
pub use mapping::{Compiled, MappedRow, Mapping, RawRecord, Rejection, Source, Value};
pub use mask::{Visibility, mask, visibility};
pub use pipeline::{Batch, BenchReport, Summary, bench, map_file};
pub use quality::{Quality, QualityReport};
pub use read::{ReadError, Reader};
pub use standard::{Classification, CodeTable, FieldKind, Library, Standard, StandardField};
