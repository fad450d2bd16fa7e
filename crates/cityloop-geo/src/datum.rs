//! Conversions between the three datums used by Chinese map providers:
//! WGS-84, GCJ-02 and BD-09.
//!
//! * WGS-84 → GCJ-02 is the public "Mars coordinates" algorithm: a smooth,
//!   nonlinear offset built from two trigonometric polynomials evaluated at
//!   (lon − 105, lat − 35), scaled to degrees on the Krasovsky 1940 ellipsoid.
//! * GCJ-02 → BD-09 is Baidu's polar-coordinate perturbation plus a constant
//!   offset of (0.0065, 0.006).
//!
//! Only the forward directions have closed forms. The reverse directions are
//! computed by fixed-point iteration, `p ← p − (forward(p) − target)`, until the
//! step is below 1e-10° (or 50 iterations), which inverts the forward functions
//! to millimetre level instead of the metre-level error of the usual one-step
//! approximations.
//!
//! Points outside the rough China bounding box (lon 72.004..=137.8347,
//! lat 0.8293..=55.8271) are returned unchanged by every conversion, as are
//! non-finite inputs; nothing here panics.

use std::f64::consts::PI;

use crate::{Crs, LonLat};

/// Semi-major axis of the Krasovsky 1940 ellipsoid, metres.
const KRASOVSKY_A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid. The published
/// constant 0.00669342162296594323 rounds to this same f64.
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// Baidu's angular scale factor, π·3000/180.
const X_PI: f64 = PI * 3000.0 / 180.0;
/// Constant BD-09 offsets (degrees).
const BD_DLON: f64 = 0.0065;
const BD_DLAT: f64 = 0.006;

/// Convergence threshold of the iterative inverses, degrees (~0.01 mm).
const INVERSE_TOLERANCE_DEG: f64 = 1e-10;
/// Iteration cap of the iterative inverses.
const INVERSE_MAX_ITERATIONS: usize = 50;

/// True when `p` lies inside the rough bounding box of China within which the
/// GCJ-02/BD-09 offsets are applied. False for non-finite input.
pub fn in_china_bbox(p: LonLat) -> bool {
    (72.004..=137.8347).contains(&p.lon) && (0.8293..=55.8271).contains(&p.lat)
}

/// The GCJ-02 offset (Δlon, Δlat) in degrees for a WGS-84 position.
fn gcj02_offset(lon: f64, lat: f64) -> (f64, f64) {
    let x = lon - 105.0;
    let y = lat - 35.0;
    // Term shared by both polynomials.
    let wave_x = (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;

    let lat_poly = -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * x.abs().sqrt()
        + wave_x
        + (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0
        + (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y / 30.0 * PI).sin()) * 2.0 / 3.0;

    let lon_poly = 300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * x.abs().sqrt()
        + wave_x
        + (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0
        + (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;

    // The polynomials are in metres-ish units; convert with the ellipsoid's
    // meridional (M) and prime-vertical (N) radii of curvature at `lat`.
    let phi = lat / 180.0 * PI;
    let sin_phi = phi.sin();
    let w2 = 1.0 - KRASOVSKY_EE * sin_phi * sin_phi;
    let w = w2.sqrt();
    let meridional = KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (w2 * w);
    let prime_vertical = KRASOVSKY_A / w;
    let dlat = lat_poly * 180.0 / (meridional * PI);
    let dlon = lon_poly * 180.0 / (prime_vertical * phi.cos() * PI);
    (dlon, dlat)
}

/// Solves `forward(p) == target` for `p` by fixed-point iteration from `start`.
fn invert(forward: impl Fn(LonLat) -> LonLat, target: LonLat, start: LonLat) -> LonLat {
    let mut p = start;
    for _ in 0..INVERSE_MAX_ITERATIONS {
        let f = forward(p);
        let dlon = f.lon - target.lon;
        let dlat = f.lat - target.lat;
        if !(dlon.is_finite() && dlat.is_finite()) {
            break;
        }
        p = LonLat {
            lon: p.lon - dlon,
            lat: p.lat - dlat,
        };
        if dlon.abs() < INVERSE_TOLERANCE_DEG && dlat.abs() < INVERSE_TOLERANCE_DEG {
            break;
        }
    }
    p
}

/// WGS-84 → GCJ-02 (closed form). Unchanged outside China.
pub fn wgs84_to_gcj02(p: LonLat) -> LonLat {
    if !in_china_bbox(p) {
        return p;
    }
    let (dlon, dlat) = gcj02_offset(p.lon, p.lat);
    LonLat {
        lon: p.lon + dlon,
        lat: p.lat + dlat,
    }
}

/// GCJ-02 → WGS-84 by iterative inversion of [`wgs84_to_gcj02`]
/// (sub-millimetre error). Unchanged outside China.
pub fn gcj02_to_wgs84(p: LonLat) -> LonLat {
    if !in_china_bbox(p) {
        return p;
    }
    invert(wgs84_to_gcj02, p, p)
}

/// GCJ-02 → BD-09 (closed form). Unchanged outside China.
pub fn gcj02_to_bd09(p: LonLat) -> LonLat {
    if !in_china_bbox(p) {
        return p;
    }
    let (x, y) = (p.lon, p.lat);
    let r = x.hypot(y) + 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) + 0.000003 * (x * X_PI).cos();
    LonLat {
        lon: r * theta.cos() + BD_DLON,
        lat: r * theta.sin() + BD_DLAT,
    }
}

/// BD-09 → GCJ-02. Starts from Baidu's approximate closed-form inverse and
/// refines it by iterating [`gcj02_to_bd09`]. Unchanged outside China.
pub fn bd09_to_gcj02(p: LonLat) -> LonLat {
    if !in_china_bbox(p) {
        return p;
    }
    let x = p.lon - BD_DLON;
    let y = p.lat - BD_DLAT;
    let r = x.hypot(y) - 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * X_PI).cos();
    let approx = LonLat {
        lon: r * theta.cos(),
        lat: r * theta.sin(),
    };
    invert(gcj02_to_bd09, p, approx)
}

/// WGS-84 → BD-09 (via GCJ-02).
pub fn wgs84_to_bd09(p: LonLat) -> LonLat {
    gcj02_to_bd09(wgs84_to_gcj02(p))
}

/// BD-09 → WGS-84 (via GCJ-02, both steps iterative inverses).
pub fn bd09_to_wgs84(p: LonLat) -> LonLat {
    gcj02_to_wgs84(bd09_to_gcj02(p))
}

/// Converts a point given in `crs` to WGS-84.
pub fn to_wgs84(crs: Crs, p: LonLat) -> LonLat {
    match crs {
        Crs::Wgs84 => p,
        Crs::Gcj02 => gcj02_to_wgs84(p),
        Crs::Bd09 => bd09_to_wgs84(p),
    }
}

/// Converts a WGS-84 point to `crs`.
pub fn from_wgs84(crs: Crs, p: LonLat) -> LonLat {
    match crs {
        Crs::Wgs84 => p,
        Crs::Gcj02 => wgs84_to_gcj02(p),
        Crs::Bd09 => wgs84_to_bd09(p),
    }
}

/// Converts a point from any supported CRS to any other.
pub fn convert(from: Crs, to: Crs, p: LonLat) -> LonLat {
    match (from, to) {
        _ if from == to => p,
        (Crs::Gcj02, Crs::Bd09) => gcj02_to_bd09(p),
        (Crs::Bd09, Crs::Gcj02) => bd09_to_gcj02(p),
        _ => from_wgs84(to, to_wgs84(from, p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::haversine_m;

    fn ll(lon: f64, lat: f64) -> LonLat {
        LonLat::new(lon, lat).unwrap()
    }

    fn close(a: LonLat, b: LonLat, tol_deg: f64) -> bool {
        (a.lon - b.lon).abs() < tol_deg && (a.lat - b.lat).abs() < tol_deg
    }

    /// Widely published reference values for the classic Beijing test point
    /// (116.404, 39.915), produced by the common one-step implementations.
    #[test]
    fn forward_matches_published_reference_values() {
        let p = ll(116.404, 39.915);
        let g = wgs84_to_gcj02(p);
        assert!(
            close(g, ll(116.410_244_499_169_38, 39.916_404_281_501_64), 1e-9),
            "{g}"
        );
        let b = gcj02_to_bd09(p);
        assert!(
            close(b, ll(116.410_369_493_710_29, 39.921_336_993_510_21), 1e-9),
            "{b}"
        );
    }

    #[test]
    fn inverses_agree_with_published_approximations_to_a_few_metres() {
        let p = ll(116.404, 39.915);
        // One-step approximations published for the same point; ours is the
        // exact inverse, so it differs by at most a couple of metres.
        let w = gcj02_to_wgs84(p);
        let approx_w = ll(116.397_755_500_830_61, 39.913_595_718_498_36);
        assert!(haversine_m(w, approx_w) < 3.0, "{w}");
        let g = bd09_to_gcj02(p);
        let approx_g = ll(116.397_627_291_193_15, 39.908_656_739_576_31);
        assert!(haversine_m(g, approx_g) < 3.0, "{g}");
        // ...and ours actually round-trips, to well under a millimetre.
        assert!(haversine_m(wgs84_to_gcj02(w), p) < 1e-3);
        assert!(haversine_m(gcj02_to_bd09(g), p) < 1e-3);
    }

    #[test]
    fn shanghai_shift_has_the_expected_size_and_direction() {
        let p = ll(121.4737, 31.2304);
        let g = wgs84_to_gcj02(p);
        let dlon = g.lon - p.lon;
        let dlat = g.lat - p.lat;
        // GCJ-02 in Shanghai sits ~+0.0045° east and ~−0.0020° south of WGS-84.
        assert!((0.0040..0.0050).contains(&dlon), "dlon {dlon}");
        assert!((-0.0025..-0.0015).contains(&dlat), "dlat {dlat}");
        // That is a shift of several hundred metres, which a user would see.
        let shift = haversine_m(p, g);
        assert!((400.0..600.0).contains(&shift), "shift {shift} m");

        // BD-09 adds roughly another +0.0065°/+0.006° on top.
        let b = wgs84_to_bd09(p);
        assert!((0.010..0.012).contains(&(b.lon - p.lon)), "{b}");
        assert!((0.0035..0.0045).contains(&(b.lat - p.lat)), "{b}");
    }

    #[test]
    fn exact_round_trips_in_shanghai() {
        let p = ll(121.4737, 31.2304);
        assert!(close(gcj02_to_wgs84(wgs84_to_gcj02(p)), p, 1e-9));
        assert!(close(bd09_to_wgs84(wgs84_to_bd09(p)), p, 1e-9));
        assert!(close(bd09_to_gcj02(gcj02_to_bd09(p)), p, 1e-9));
        assert!(close(wgs84_to_gcj02(gcj02_to_wgs84(p)), p, 1e-9));
        for crs in Crs::ALL {
            assert!(close(to_wgs84(crs, from_wgs84(crs, p)), p, 1e-9), "{crs}");
            for to in Crs::ALL {
                let there = convert(crs, to, p);
                assert!(close(convert(to, crs, there), p, 1e-9), "{crs}->{to}");
            }
        }
        assert_eq!(to_wgs84(Crs::Wgs84, p), p);
        assert!(close(to_wgs84(Crs::Gcj02, wgs84_to_gcj02(p)), p, 1e-9));
        assert!(close(to_wgs84(Crs::Bd09, wgs84_to_bd09(p)), p, 1e-9));
    }

    #[test]
    fn points_outside_china_are_unchanged() {
        for p in [
            ll(2.3522, 48.8566),    // Paris
            ll(-74.006, 40.7128),   // New York
            ll(139.6917, 35.6895),  // Tokyo (east of the box)
            ll(151.2093, -33.8688), // Sydney
            ll(121.0, 0.5),         // south of the box
            ll(71.9, 40.0),         // west of the box
            ll(180.0, 90.0),
        ] {
            assert!(!in_china_bbox(p), "{p}");
            for crs in Crs::ALL {
                assert_eq!(to_wgs84(crs, p), p, "{crs} {p}");
                assert_eq!(from_wgs84(crs, p), p, "{crs} {p}");
            }
            assert_eq!(gcj02_to_bd09(p), p);
            assert_eq!(bd09_to_gcj02(p), p);
        }
        assert!(in_china_bbox(ll(121.4737, 31.2304)));
    }

    #[test]
    fn non_finite_input_does_not_panic() {
        let bad = [
            LonLat {
                lon: f64::NAN,
                lat: 31.0,
            },
            LonLat {
                lon: 121.0,
                lat: f64::INFINITY,
            },
            LonLat {
                lon: f64::NEG_INFINITY,
                lat: f64::NAN,
            },
        ];
        for p in bad {
            for from in Crs::ALL {
                for to in Crs::ALL {
                    let _ = convert(from, to, p);
                }
            }
        }
    }
}
