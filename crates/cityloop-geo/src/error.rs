//! The crate's single error type, [`GeoError`].
//!
//! Every message names the offending thing: the field of a [`crate::LonLat`]
//! (`lon` / `lat`), the unknown coordinate-system name, or the JSON path inside a
//! GeoJSON geometry (for example `coordinates[0][2]`).

use thiserror::Error;

/// Everything that can go wrong in this crate. Nothing here panics on bad input;
/// it returns one of these instead.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum GeoError {
    /// A coordinate-system name that is not one of the supported ones.
    #[error("unknown coordinate system {0:?}; expected one of: wgs84, gcj02, bd09")]
    UnknownCrs(String),

    /// A coordinate component that is NaN or infinite.
    #[error("{field} must be a finite number, got {value}")]
    NotFinite {
        /// Which component (`lon` or `lat`).
        field: &'static str,
        /// The rejected value.
        value: f64,
    },

    /// A coordinate component outside its allowed range.
    #[error("{field} {value} out of range [{min}, {max}]")]
    OutOfRange {
        /// Which component (`lon` or `lat`).
        field: &'static str,
        /// The rejected value.
        value: f64,
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },

    /// A GeoJSON geometry that is malformed or not a valid (multi)polygon.
    #[error("{path}: {reason}")]
    InvalidGeometry {
        /// JSON path of the offending element, e.g. `coordinates[0][2]` or
        /// `geometry.type`.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl GeoError {
    pub(crate) fn geometry(path: impl Into<String>, reason: impl Into<String>) -> Self {
        GeoError::InvalidGeometry {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
