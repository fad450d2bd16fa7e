//! Lookups against the real Shanghai district boundaries shipped in
//! `data/shanghai-districts-wgs84.geojson` (city 310100 + 16 districts).

use std::sync::LazyLock;

use cityloop_geo::{
    AreaIndex, Crs, Hit, IndexedArea, LonLat, bd09_to_wgs84, haversine_m, parse_geometry, to_wgs84,
    wgs84_to_bd09, wgs84_to_gcj02,
};
use serde_json::Value;

const DATA: &str = include_str!("../../../data/shanghai-districts-wgs84.geojson");

const CITY: &str = "310100";
const HUANGPU: &str = "310101";
const PUTUO: &str = "310107";
const PUDONG: &str = "310115";

struct Shanghai {
    index: AreaIndex,
    /// (code, name) in file order.
    names: Vec<(String, String)>,
}

static SHANGHAI: LazyLock<Shanghai> = LazyLock::new(|| {
    let fc: Value = serde_json::from_str(DATA).expect("data file is JSON");
    let features = fc["features"].as_array().expect("features array");
    let mut names = Vec::new();
    let mut areas = Vec::new();
    for (i, f) in features.iter().enumerate() {
        let code = f["properties"]["code"].as_str().expect("code").to_string();
        let name = f["properties"]["name"].as_str().expect("name").to_string();
        let shape = parse_geometry(f).unwrap_or_else(|e| panic!("feature {i} ({code}): {e}"));
        let rank = if code == CITY { 0 } else { 1 };
        names.push((code.clone(), name));
        areas.push(IndexedArea { code, rank, shape });
    }
    Shanghai {
        index: AreaIndex::new(areas),
        names,
    }
});

fn ll(lon: f64, lat: f64) -> LonLat {
    LonLat::new(lon, lat).unwrap()
}

fn codes(p: LonLat) -> Vec<String> {
    SHANGHAI
        .index
        .locate(p)
        .into_iter()
        .map(|h| h.code)
        .collect()
}

fn districts_at(p: LonLat) -> Vec<String> {
    SHANGHAI
        .index
        .locate(p)
        .into_iter()
        .filter(|h| h.rank == 1)
        .map(|h| h.code)
        .collect()
}

/// Changshou Road, Putuo (WGS-84).
const CHANGSHOU: (f64, f64) = (121.4350, 31.2470);

#[test]
fn all_features_parse_and_are_indexed() {
    let sh = &*SHANGHAI;
    assert_eq!(sh.index.len(), 17);
    assert_eq!(sh.names[0], (CITY.to_string(), "上海市".to_string()));
    for (code, _) in &sh.names {
        assert!(sh.index.contains_code(code), "{code}");
    }
    let name = |c: &str| {
        sh.names
            .iter()
            .find(|(k, _)| k == c)
            .map(|(_, n)| n.as_str())
    };
    assert_eq!(name(PUTUO), Some("普陀区"));
    assert_eq!(name(HUANGPU), Some("黄浦区"));
    assert_eq!(name(PUDONG), Some("浦东新区"));
}

#[test]
fn changshou_road_is_in_putuo() {
    let hits = SHANGHAI.index.locate(ll(CHANGSHOU.0, CHANGSHOU.1));
    assert_eq!(
        hits,
        vec![
            Hit {
                code: CITY.into(),
                rank: 0
            },
            Hit {
                code: PUTUO.into(),
                rank: 1
            },
        ]
    );
}

#[test]
fn peoples_square_is_in_huangpu() {
    assert_eq!(codes(ll(121.4752, 31.2317)), [CITY, HUANGPU]);
}

#[test]
fn huangpu_river_belongs_to_pudong_in_this_data() {
    // At this latitude the data draws the Huangpu/Pudong boundary along the
    // Puxi (Bund) bank at ~121.4889, so the river water belongs to Pudong.
    // 121.4990 is ~0.8 km east of that line, towards Lujiazui: Pudong only.
    assert_eq!(codes(ll(121.4990, 31.2390)), [CITY, PUDONG]);
    let d = SHANGHAI
        .index
        .distance_to_boundary_m(HUANGPU, ll(121.4990, 31.2390));
    assert!(d.is_some_and(|d| (700.0..1_000.0).contains(&d)), "{d:?}");
    // ~200 m off the Bund, on the water: Pudong, and only Pudong.
    assert_eq!(codes(ll(121.4910, 31.2390)), [CITY, PUDONG]);
    // Just west of the boundary, on the Bund side: Huangpu.
    assert_eq!(codes(ll(121.4870, 31.2390)), [CITY, HUANGPU]);
    // Lujiazui on the east bank: Pudong.
    assert_eq!(codes(ll(121.5050, 31.2400)), [CITY, PUDONG]);
}

#[test]
fn open_sea_is_nowhere() {
    assert!(codes(ll(123.0, 31.0)).is_empty());
    assert!(codes(ll(0.0, 0.0)).is_empty());
    assert!(codes(ll(180.0, -90.0)).is_empty());
}

#[test]
fn gcj02_and_bd09_input_resolve_like_wgs84() {
    let p = ll(CHANGSHOU.0, CHANGSHOU.1);
    let expected = codes(p);

    let gcj = wgs84_to_gcj02(p);
    let back = to_wgs84(Crs::Gcj02, gcj);
    assert!(haversine_m(back, p) < 1.0, "{} m", haversine_m(back, p));
    assert_eq!(codes(back), expected);

    let bd = wgs84_to_bd09(p);
    let back = to_wgs84(Crs::Bd09, bd);
    assert!(haversine_m(back, p) < 1.0);
    assert_eq!(bd09_to_wgs84(bd), back);
    assert_eq!(codes(back), expected);

    // Feeding the raw GCJ-02 / BD-09 numbers in as WGS-84 would be off by
    // hundreds of metres (~0.5 km and ~1.1 km), enough to cross a boundary.
    assert!(haversine_m(gcj, p) > 300.0);
    assert!(haversine_m(bd, p) > 800.0);
}

#[test]
fn gcj02_offset_moves_a_near_boundary_point_into_the_wrong_district() {
    // 57 m west of the Huangpu/Pudong boundary on the Bund: Huangpu in WGS-84.
    let p = ll(121.4883, 31.2390);
    assert_eq!(districts_at(p), [HUANGPU]);
    // Its GCJ-02 numbers, wrongly treated as WGS-84, land ~440 m east: Pudong.
    let gcj = wgs84_to_gcj02(p);
    assert_eq!(districts_at(gcj), [PUDONG]);
    // Converted properly, it is back in Huangpu.
    assert_eq!(districts_at(to_wgs84(Crs::Gcj02, gcj)), [HUANGPU]);
}

#[test]
fn boundary_vertices_belong_to_their_district() {
    let huangpu = SHANGHAI.index.get(HUANGPU).unwrap();
    let mut shared_with_pudong = 0;
    for c in huangpu.shape.0[0].exterior().0.iter() {
        let d = districts_at(ll(c.x, c.y));
        assert!(d.contains(&HUANGPU.to_string()), "vertex {c:?} -> {d:?}");
        assert!((1..=3).contains(&d.len()), "vertex {c:?} -> {d:?}");
        if d.contains(&PUDONG.to_string()) {
            shared_with_pudong += 1;
        }
    }
    // The river boundary is a shared edge: those vertices hit both districts.
    assert!(shared_with_pudong > 10, "{shared_with_pudong}");
}

/// A grid over the whole city: the districts tile the city with no overlap.
#[test]
fn districts_tile_the_city_without_overlap() {
    let [x0, y0, x1, y1] = cityloop_geo::bbox(&SHANGHAI.index.get(CITY).unwrap().shape).unwrap();
    let n = 70;
    let mut in_city = 0;
    for i in 0..=n {
        for j in 0..=n {
            let p = ll(
                x0 + (x1 - x0) * f64::from(i) / f64::from(n),
                y0 + (y1 - y0) * f64::from(j) / f64::from(n),
            );
            let hits = SHANGHAI.index.locate(p);
            let city = hits.iter().any(|h| h.code == CITY);
            let districts: Vec<&Hit> = hits.iter().filter(|h| h.rank == 1).collect();
            if city {
                in_city += 1;
            }
            // A point inside any district is inside the city, and vice versa.
            assert_eq!(city, !districts.is_empty(), "{p}: {hits:?}");
            // Two districts only exactly on a shared boundary.
            if districts.len() > 1 {
                for h in &districts {
                    let d = SHANGHAI.index.distance_to_boundary_m(&h.code, p).unwrap();
                    assert!(d < 1e-6, "{p} in {hits:?}, {d} m from {}", h.code);
                }
            }
        }
    }
    // Shanghai fills a decent share of its bounding box.
    assert!(in_city > (n * n) / 4, "{in_city}");
}

#[test]
fn distance_to_boundary_inside_and_across() {
    let idx = &SHANGHAI.index;
    let p = ll(CHANGSHOU.0, CHANGSHOU.1);
    let d = idx.distance_to_boundary_m(PUTUO, p).unwrap();
    assert!((300.0..5_000.0).contains(&d), "{d}");
    // The city boundary is much farther away than Putuo's.
    let city = idx.distance_to_boundary_m(CITY, p).unwrap();
    assert!(city > 10_000.0 && city > d, "{city}");

    // A point in Pudong 57 m east of the Huangpu/Pudong boundary (121.4889).
    let q = ll(121.4895, 31.2390);
    assert_eq!(districts_at(q), [PUDONG]);
    let to_huangpu = idx.distance_to_boundary_m(HUANGPU, q).unwrap();
    let to_pudong = idx.distance_to_boundary_m(PUDONG, q).unwrap();
    assert!(to_huangpu > 0.0 && to_huangpu < 60.0, "{to_huangpu}");
    // Same shared edge measured from both sides.
    assert!(
        (to_huangpu - to_pudong).abs() < 0.01,
        "{to_huangpu} vs {to_pudong}"
    );

    assert_eq!(idx.distance_to_boundary_m("999999", q), None);
}

/// Cross-checks the equirectangular distance against haversine distance to a
/// densely resampled boundary (≤ 2 m steps): agreement within 0.5% + 2 m.
#[test]
fn distance_to_boundary_matches_haversine_to_densified_boundary() {
    let idx = &SHANGHAI.index;
    let huangpu = idx.get(HUANGPU).unwrap();
    let ring = &huangpu.shape.0[0].exterior().0;
    let brute = |p: LonLat| -> f64 {
        let mut best = f64::INFINITY;
        for w in ring.windows(2) {
            let a = ll(w[0].x, w[0].y);
            let b = ll(w[1].x, w[1].y);
            let steps = (haversine_m(a, b) / 2.0).ceil().max(1.0) as usize;
            for k in 0..=steps {
                let t = k as f64 / steps as f64;
                let s = ll(a.lon + t * (b.lon - a.lon), a.lat + t * (b.lat - a.lat));
                best = best.min(haversine_m(p, s));
            }
        }
        best
    };
    for p in [
        ll(121.4752, 31.2317), // People's Square, inside
        ll(121.4350, 31.2470), // Changshou Road, outside (Putuo)
        ll(121.4895, 31.2390), // just across the river boundary
        ll(121.5300, 31.1800), // Pudong, a few km away
    ] {
        let fast = idx.distance_to_boundary_m(HUANGPU, p).unwrap();
        let slow = brute(p);
        assert!(
            (fast - slow).abs() <= 0.005 * slow + 2.0,
            "{p}: fast {fast} m vs brute {slow} m"
        );
    }
}
