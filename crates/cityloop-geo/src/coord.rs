//! Coordinate values: the [`Crs`] enum naming a datum, the validated [`LonLat`]
//! pair, and great-circle distance ([`haversine_m`]).

use std::fmt;
use std::str::FromStr;

use crate::GeoError;

/// Mean Earth radius (IUGG R1) in metres, used for all metric distances here.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A geographic coordinate system ("datum") in use by Chinese map providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Crs {
    /// WGS-84: GPS, OpenStreetMap, international data. The crate's canonical CRS.
    #[default]
    Wgs84,
    /// GCJ-02 ("Mars coordinates"): the obfuscated datum mandated for maps
    /// published in mainland China (AMap/Gaode, Tencent, Apple Maps in China).
    Gcj02,
    /// BD-09: Baidu's further offset of GCJ-02.
    Bd09,
}

impl Crs {
    /// All supported coordinate systems.
    pub const ALL: [Crs; 3] = [Crs::Wgs84, Crs::Gcj02, Crs::Bd09];

    /// The lowercase name used by [`Display`](fmt::Display) and [`FromStr`].
    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Crs {
    type Err = GeoError;

    /// Case-insensitive; surrounding whitespace is ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Crs::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| GeoError::UnknownCrs(s.to_string()))
    }
}

/// A longitude/latitude pair in degrees. The datum is not part of the value:
/// callers track it (normally everything stored is WGS-84).
///
/// The fields are public for convenience; [`LonLat::new`] is the validating
/// constructor. Functions in this crate tolerate unvalidated values (NaN etc.)
/// without panicking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    /// Longitude in degrees, −180..=180 (east positive).
    pub lon: f64,
    /// Latitude in degrees, −90..=90 (north positive).
    pub lat: f64,
}

impl LonLat {
    /// Validates that both components are finite and within range
    /// (lon −180..=180, lat −90..=90). The error names `lon` or `lat`.
    pub fn new(lon: f64, lat: f64) -> Result<Self, GeoError> {
        check_component("lon", lon, 180.0)?;
        check_component("lat", lat, 90.0)?;
        Ok(LonLat { lon, lat })
    }

    /// True when both components are finite and within range, i.e. when
    /// [`LonLat::new`] would accept them.
    pub fn is_valid(&self) -> bool {
        LonLat::new(self.lon, self.lat).is_ok()
    }
}

fn check_component(field: &'static str, value: f64, limit: f64) -> Result<(), GeoError> {
    if !value.is_finite() {
        return Err(GeoError::NotFinite { field, value });
    }
    if !(-limit..=limit).contains(&value) {
        return Err(GeoError::OutOfRange {
            field,
            value,
            min: -limit,
            max: limit,
        });
    }
    Ok(())
}

impl fmt::Display for LonLat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.lon, self.lat)
    }
}

impl From<LonLat> for geo::Coord<f64> {
    fn from(p: LonLat) -> Self {
        geo::Coord { x: p.lon, y: p.lat }
    }
}

impl From<LonLat> for geo::Point<f64> {
    fn from(p: LonLat) -> Self {
        geo::Point::new(p.lon, p.lat)
    }
}

/// Great-circle distance in metres between two points on a sphere of radius
/// [`EARTH_RADIUS_M`]. Returns NaN (never panics) if an input is not finite.
pub fn haversine_m(a: LonLat, b: LonLat) -> f64 {
    let phi1 = a.lat.to_radians();
    let phi2 = b.lat.to_radians();
    let half_dphi = (phi2 - phi1) / 2.0;
    let half_dlambda = (b.lon - a.lon).to_radians() / 2.0;
    let h = half_dphi.sin().powi(2) + phi1.cos() * phi2.cos() * half_dlambda.sin().powi(2);
    // Rounding can push h a hair outside [0, 1]; clamp keeps NaN as NaN.
    2.0 * EARTH_RADIUS_M * h.clamp(0.0, 1.0).sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_parses_case_insensitively_and_displays_lowercase() {
        assert_eq!("WGS84".parse::<Crs>().unwrap(), Crs::Wgs84);
        assert_eq!("Gcj02".parse::<Crs>().unwrap(), Crs::Gcj02);
        assert_eq!(" bd09 ".parse::<Crs>().unwrap(), Crs::Bd09);
        for c in Crs::ALL {
            assert_eq!(c.to_string().parse::<Crs>().unwrap(), c);
            assert_eq!(c.to_string(), c.to_string().to_lowercase());
        }
        assert_eq!(Crs::default(), Crs::Wgs84);
    }

    #[test]
    fn crs_error_lists_allowed_values() {
        let msg = "mercator".parse::<Crs>().unwrap_err().to_string();
        assert!(msg.contains("\"mercator\""), "{msg}");
        for allowed in ["wgs84", "gcj02", "bd09"] {
            assert!(msg.contains(allowed), "{msg} should list {allowed}");
        }
        assert!("".parse::<Crs>().is_err());
        assert!("wgs 84".parse::<Crs>().is_err());
    }

    #[test]
    fn lonlat_accepts_range_limits() {
        assert!(LonLat::new(180.0, 90.0).is_ok());
        assert!(LonLat::new(-180.0, -90.0).is_ok());
        assert!(LonLat::new(121.47, 31.23).is_ok());
    }

    #[test]
    fn lonlat_errors_name_the_field() {
        let e = LonLat::new(200.0, 0.0).unwrap_err();
        assert_eq!(e.to_string(), "lon 200 out of range [-180, 180]");
        let e = LonLat::new(0.0, -90.5).unwrap_err();
        assert_eq!(e.to_string(), "lat -90.5 out of range [-90, 90]");
        let e = LonLat::new(f64::NAN, 0.0).unwrap_err();
        assert!(e.to_string().starts_with("lon "), "{e}");
        let e = LonLat::new(0.0, f64::INFINITY).unwrap_err();
        assert!(e.to_string().starts_with("lat "), "{e}");
        assert!(matches!(
            LonLat::new(0.0, f64::NEG_INFINITY),
            Err(GeoError::NotFinite { field: "lat", .. })
        ));
    }

    #[test]
    fn haversine_known_distances() {
        let p = LonLat::new(121.4737, 31.2304).unwrap();
        assert_eq!(haversine_m(p, p), 0.0);
        // One degree of latitude on the mean sphere is ~111.195 km.
        let q = LonLat::new(121.4737, 32.2304).unwrap();
        assert!((haversine_m(p, q) - 111_195.08).abs() < 1.0);
        // Shanghai People's Square to Beijing Tiananmen is ~1067 km.
        let bj = LonLat::new(116.3975, 39.9087).unwrap();
        let d = haversine_m(p, bj);
        assert!((1_060_000.0..1_075_000.0).contains(&d), "{d}");
        // Symmetric, and antipodes give half the circumference without NaN.
        assert_eq!(haversine_m(p, bj), haversine_m(bj, p));
        let a = LonLat::new(0.0, 0.0).unwrap();
        let b = LonLat::new(180.0, 0.0).unwrap();
        assert!((haversine_m(a, b) - std::f64::consts::PI * EARTH_RADIUS_M).abs() < 1e-3);
        let nan = LonLat {
            lon: f64::NAN,
            lat: 0.0,
        };
        assert!(haversine_m(a, nan).is_nan());
    }
}
