//! The crate's one error type. Problems with a *row* are not errors: they
//! are [`crate::Rejection`]s or [`crate::ReadError`]s, reported per row so an
//! import goes on; a `HubError` means the run as a whole cannot proceed (a
//! bad mapping, a missing column, an unreadable file).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// A bundled or supplied standard / code table is malformed.
    #[error("library: {0}")]
    Library(String),
    /// A mapping file is malformed; `line` is 1-based within the TOML text.
    #[error("mapping line {line}: {message}")]
    MappingSyntax { line: usize, message: String },
    /// A mapping is well-formed but does not fit the standard or the file
    /// (unknown target, missing column, unknown code table, …).
    #[error("mapping {mapping}: {message}")]
    Mapping { mapping: String, message: String },
    /// The source file cannot be opened or its header cannot be read.
    #[error("{path}: {message}")]
    Source { path: PathBuf, message: String },
    #[error("io error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl HubError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        HubError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn source(path: &std::path::Path, message: impl Into<String>) -> Self {
        HubError::Source {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
