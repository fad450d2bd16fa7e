//! `cityloop-geo`: coordinate systems and point → area lookup for Chinese cities.
//!
//! Chinese map providers publish coordinates in three datums: WGS-84 (GPS),
//! GCJ-02 (AMap/Gaode, Tencent) and BD-09 (Baidu). This crate
//! * validates coordinates ([`LonLat::new`]) and names datums ([`Crs`]);
//! * converts between the datums ([`wgs84_to_gcj02`], [`to_wgs84`], …);
//! * parses and validates GeoJSON area boundaries ([`parse_geometry`]);
//! * answers "which areas contain this point?" ([`AreaIndex::locate`]) and
//!   "how far is this point from an area's boundary?"
//!   ([`AreaIndex::distance_to_boundary_m`]).
//!
//! Key design decision: **WGS-84 is the only datum stored or indexed.** Input
//! in GCJ-02/BD-09 is converted once at the edge with [`to_wgs84`], whose
//! reverse conversions are exact iterative inverses (sub-millimetre error)
//! rather than the usual one-step approximations (metre-level error), so a
//! point near a district boundary resolves the same whichever datum it came
//! in. Lookup is an R-tree over polygon bounding boxes followed by an exact,
//! boundary-inclusive point-in-polygon test.
//!
//! The crate is pure: no IO, no async, no global state. It never panics on
//! bad input (NaN, infinities, out-of-range values, malformed or
//! self-intersecting rings); fallible operations return [`GeoError`].
//!
//! ```
//! use cityloop_geo::{AreaIndex, Crs, IndexedArea, LonLat, parse_geometry, to_wgs84};
//!
//! let square = serde_json::json!({"type": "Polygon", "coordinates": [[
//!     [121.40, 31.20], [121.50, 31.20], [121.50, 31.30], [121.40, 31.30], [121.40, 31.20]
//! ]]});
//! let index = AreaIndex::new([IndexedArea {
//!     code: "310107".into(),
//!     rank: 1,
//!     shape: parse_geometry(&square)?,
//! }]);
//!
//! // A point as reported by an AMap (GCJ-02) client.
//! let gcj = LonLat::new(121.4395, 31.2451)?;
//! let hits = index.locate(to_wgs84(Crs::Gcj02, gcj));
//! assert_eq!(hits[0].code, "310107");
//! # Ok::<(), cityloop_geo::GeoError>(())
//! ```

mod coord;
mod datum;
mod error;
mod geometry;
mod index;

pub use coord::{Crs, EARTH_RADIUS_M, LonLat, haversine_m};
pub use datum::{
    bd09_to_gcj02, bd09_to_wgs84, convert, from_wgs84, gcj02_to_bd09, gcj02_to_wgs84,
    in_china_bbox, to_wgs84, wgs84_to_bd09, wgs84_to_gcj02,
};
pub use error::GeoError;
pub use geometry::{bbox, parse_geometry};
pub use index::{AreaIndex, Hit, IndexedArea};

/// Re-export of the `geo` crate, so callers name the same `MultiPolygon` type.
pub use geo;
