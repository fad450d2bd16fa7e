//! Property tests: datum round trips stay under a metre, and nothing panics on
//! arbitrary input.

use std::sync::LazyLock;

use cityloop_geo::{
    AreaIndex, Crs, IndexedArea, LonLat, bd09_to_gcj02, bd09_to_wgs84, convert, gcj02_to_bd09,
    gcj02_to_wgs84, haversine_m, parse_geometry, wgs84_to_bd09, wgs84_to_gcj02,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const DATA: &str = include_str!("../../../data/shanghai-districts-wgs84.geojson");

static INDEX: LazyLock<AreaIndex> = LazyLock::new(|| {
    let fc: Value = serde_json::from_str(DATA).unwrap();
    AreaIndex::new(fc["features"].as_array().unwrap().iter().map(|f| {
        let code = f["properties"]["code"].as_str().unwrap().to_string();
        IndexedArea {
            rank: if code == "310100" { 0 } else { 1 },
            code,
            shape: parse_geometry(f).unwrap(),
        }
    }))
});

/// Points across mainland China.
fn china() -> impl Strategy<Value = LonLat> {
    (73.0..135.0f64, 18.0..53.0f64).prop_map(|(lon, lat)| LonLat::new(lon, lat).unwrap())
}

/// Any point `LonLat::new` accepts, with the range limits over-represented.
fn any_valid_lonlat() -> impl Strategy<Value = LonLat> {
    let lon = prop_oneof![
        -180.0..=180.0f64,
        Just(-180.0),
        Just(180.0),
        Just(0.0),
        Just(-0.0)
    ];
    let lat = prop_oneof![
        -90.0..=90.0f64,
        Just(-90.0),
        Just(90.0),
        Just(0.0),
        Just(f64::MIN_POSITIVE)
    ];
    (lon, lat).prop_map(|(lon, lat)| LonLat::new(lon, lat).unwrap())
}

/// JSON numbers: ordinary, huge, tiny, and integers. (JSON cannot hold NaN or
/// infinities; `Number::from_f64` refuses them, so those become `null`.)
fn json_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => -200.0..200.0f64,
        1 => any::<f64>(),
        1 => prop_oneof![Just(f64::MAX), Just(-f64::MAX), Just(1e300), Just(f64::NAN), Just(f64::INFINITY)],
    ]
    .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number))
}

/// Arbitrary JSON, biased toward GeoJSON-ish shapes (nested number arrays,
/// objects with "type" and "coordinates").
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        json_number(),
        json_number(),
        prop_oneof![
            Just("Polygon"),
            Just("MultiPolygon"),
            Just("Feature"),
            Just("Point"),
            Just("")
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(6, 128, 8, |inner| {
        prop_oneof![
            4 => prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            1 => (
                prop_oneof![Just("Polygon"), Just("MultiPolygon"), Just("Feature"), Just("LineString")],
                inner.clone(),
                inner,
            )
                .prop_map(|(t, coords, geometry)| json!({
                    "type": t, "coordinates": coords, "geometry": geometry
                })),
        ]
    })
}

/// Closed rings of random points in a small box: often self-intersecting,
/// sometimes valid.
fn random_polygon() -> impl Strategy<Value = Value> {
    prop::collection::vec((0i32..6, 0i32..6), 3..9).prop_map(|pts| {
        let mut ring: Vec<Value> = pts
            .iter()
            .map(|&(x, y)| json!([121.0 + f64::from(x) * 0.1, 31.0 + f64::from(y) * 0.1]))
            .collect();
        ring.push(ring[0].clone());
        json!({"type": "Polygon", "coordinates": [ring]})
    })
}

proptest! {
    #[test]
    fn gcj02_round_trip_under_a_metre(p in china()) {
        let back = gcj02_to_wgs84(wgs84_to_gcj02(p));
        prop_assert!(haversine_m(back, p) < 1.0, "{} m at {}", haversine_m(back, p), p);
        // The iterative inverse is in fact far better than a metre.
        prop_assert!(haversine_m(back, p) < 0.01);
    }

    #[test]
    fn gcj02_reverse_round_trip_under_a_metre(p in china()) {
        let back = wgs84_to_gcj02(gcj02_to_wgs84(p));
        prop_assert!(haversine_m(back, p) < 1.0, "{} m at {}", haversine_m(back, p), p);
    }

    #[test]
    fn bd09_round_trips_under_a_metre(p in china()) {
        let back = bd09_to_wgs84(wgs84_to_bd09(p));
        prop_assert!(haversine_m(back, p) < 1.0, "{} m at {}", haversine_m(back, p), p);
        let back = wgs84_to_bd09(bd09_to_wgs84(p));
        prop_assert!(haversine_m(back, p) < 1.0, "{} m at {}", haversine_m(back, p), p);
        let back = bd09_to_gcj02(gcj02_to_bd09(p));
        prop_assert!(haversine_m(back, p) < 1.0, "{} m at {}", haversine_m(back, p), p);
        let back = gcj02_to_bd09(bd09_to_gcj02(p));
        prop_assert!(haversine_m(back, p) < 1.0, "{} m at {}", haversine_m(back, p), p);
    }

    #[test]
    fn offsets_are_visible_but_bounded_in_china(p in china()) {
        // GCJ-02 shifts are tens to hundreds of metres: never zero, never kilometres.
        let shift = haversine_m(p, wgs84_to_gcj02(p));
        prop_assert!((1.0..1_500.0).contains(&shift), "{shift} m at {p}");
        let shift = haversine_m(p, wgs84_to_bd09(p));
        prop_assert!((1.0..2_500.0).contains(&shift), "{shift} m at {p}");
    }

    #[test]
    fn conversions_never_panic(lon in any::<f64>(), lat in any::<f64>()) {
        let p = LonLat { lon, lat };
        for from in Crs::ALL {
            for to in Crs::ALL {
                let _ = convert(from, to, p);
            }
        }
        let _ = haversine_m(p, p);
    }

    #[test]
    fn lonlat_new_accepts_exactly_the_valid_range(lon in any::<f64>(), lat in any::<f64>()) {
        let ok = lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0;
        prop_assert_eq!(LonLat::new(lon, lat).is_ok(), ok);
    }

    #[test]
    fn parse_geometry_never_panics(v in json_value()) {
        if let Ok(mp) = parse_geometry(&v) {
            // Anything accepted is a usable, in-range shape.
            prop_assert!(!mp.0.is_empty());
            let idx = AreaIndex::new([IndexedArea { code: "x".into(), rank: 0, shape: mp }]);
            let _ = idx.locate(LonLat { lon: 0.0, lat: 0.0 });
        }
    }

    #[test]
    fn random_rings_parse_or_error_without_panicking(v in random_polygon()) {
        match parse_geometry(&v) {
            Ok(mp) => {
                // A valid ring's own vertices are on its boundary, hence located.
                let ring = mp.0[0].exterior().0.clone();
                let idx = AreaIndex::new([IndexedArea { code: "x".into(), rank: 0, shape: mp }]);
                for c in ring {
                    let p = LonLat::new(c.x, c.y).unwrap();
                    prop_assert_eq!(idx.locate(p).len(), 1);
                    prop_assert_eq!(idx.distance_to_boundary_m("x", p), Some(0.0));
                }
            }
            Err(e) => prop_assert!(e.to_string().starts_with("coordinates[0]"), "{}", e),
        }
    }

    #[test]
    fn locate_never_panics_anywhere(p in any_valid_lonlat()) {
        let hits = INDEX.locate(p);
        prop_assert!(hits.len() <= 3);
        let _ = INDEX.distance_to_boundary_m("310100", p);
    }

    /// The fast near-boundary test agrees with the measured distance
    /// (away from the threshold itself, where rounding may differ).
    #[test]
    fn near_boundary_agrees_with_the_distance(
        lon in 121.30..121.60f64,
        lat in 31.15..31.35f64,
        within_m in 1.0..2000.0f64,
        district in prop::sample::select(vec!["310101", "310107", "310115", "310104"]),
    ) {
        let p = LonLat::new(lon, lat).unwrap();
        let distance = INDEX.distance_to_boundary_m(district, p).unwrap();
        let near = INDEX.is_near_boundary(district, p, within_m).unwrap();
        if (distance - within_m).abs() > 0.01 * within_m {
            prop_assert_eq!(near, distance <= within_m, "{} d={} within={}", p, distance, within_m);
        }
    }

    #[test]
    fn at_most_one_district_off_the_boundary(lon in 120.85..122.2f64, lat in 30.68..31.88f64) {
        let p = LonLat::new(lon, lat).unwrap();
        let hits = INDEX.locate(p);
        let districts: Vec<_> = hits.iter().filter(|h| h.rank == 1).collect();
        let in_city = hits.iter().any(|h| h.code == "310100");
        prop_assert_eq!(in_city, !districts.is_empty(), "{} {:?}", p, hits);
        if districts.len() > 1 {
            for h in districts {
                let d = INDEX.distance_to_boundary_m(&h.code, p).unwrap();
                prop_assert!(d < 1e-6, "{} {:?}", p, hits);
            }
        }
    }
}
