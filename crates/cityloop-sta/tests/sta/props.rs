//! Property tests.

use cityloop_sta::{matches, parse_filter, parse_query};
use proptest::prelude::*;
use serde_json::json;

use crate::common::{NoNavigation, World, now};

/// A bound equal to, next to, or far from `r`, so boundaries get hit.
fn near(r: i64) -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(r),
        Just(r.saturating_sub(1)),
        Just(r.saturating_add(1)),
        any::<i64>(),
    ]
}

/// A float bound equal to `r`, half a unit either side, or random.
fn near_f64(r: i64) -> impl Strategy<Value = f64> {
    let r = r as f64;
    prop_oneof![Just(r), Just(r - 0.5), Just(r + 0.5), -1e16f64..1e16]
}

/// Fragments that tend to reach deep into the grammar.
fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "(",
        ")",
        ",",
        "/",
        "-",
        "'",
        "''",
        " ",
        "+",
        "%",
        "%2",
        "%27",
        "%2B",
        "&",
        "=",
        ";",
        "$filter=",
        "$expand=",
        "$select=",
        "$orderby=",
        "$top=",
        "$skip=",
        "$count=",
        "$resultFormat=",
        "Datastreams",
        "Observations(",
        "$top=3",
        "name",
        "result",
        "id",
        "eq",
        " eq ",
        " and ",
        " or ",
        "not ",
        " add ",
        " div ",
        " mod ",
        "0",
        "1.5e3",
        "99999999999999999999",
        "2013-01-01",
        "T00:00:00",
        "Z",
        " 08:00",
        "08:00",
        "desc",
        "substring(",
        "geo.distance(",
        "st_within(",
        "st_relate(",
        "now()",
        "geography'",
        "POINT(1 2)",
        "POLYGON((0 0,1 0,1 1,0 0))",
        "GEOMETRYCOLLECTION(",
        "duration'",
        "P1DT2H",
        "é",
        "名",
        "\u{0}",
        "null",
        "true",
    ])
}

fn fragments() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_query_never_panics(s in "\\PC{0,200}") {
        let _ = parse_query(&s);
    }

    #[test]
    fn parse_filter_never_panics(s in "\\PC{0,200}") {
        let _ = parse_filter(&s);
    }

    #[test]
    fn grammar_fragments_never_panic(s in fragments()) {
        let _ = parse_query(&s);
        if let Ok(expr) = parse_filter(&s) {
            // Whatever parses must also evaluate without panicking.
            let world = World::new();
            for (set, id) in [("Things", 1), ("Observations", 1001), ("Locations", 11)] {
                let _ = matches(&expr, set, world.get(set, id), &world, now());
            }
        }
    }

    #[test]
    fn float_range_filter_agrees(
        (result, x, y) in (-1e6f64..1e6).prop_flat_map(|r| {
            let bound = prop_oneof![Just(r), -1e6f64..1e6];
            (Just(r), bound.clone(), bound)
        })
    ) {
        let filter = parse_filter(&format!("result gt {x} and result le {y}")).unwrap();
        let entity = json!({"result": result});
        let got = matches(&filter, "Observations", &entity, &NoNavigation, now()).unwrap();
        prop_assert_eq!(got, result > x && result <= y);
    }

    #[test]
    fn int_range_filter_agrees(
        (result, x, y) in any::<i64>().prop_flat_map(|r| (Just(r), near(r), near(r)))
    ) {
        let filter = parse_filter(&format!("result gt {x} and result le {y}")).unwrap();
        let entity = json!({"result": result});
        let got = matches(&filter, "Observations", &entity, &NoNavigation, now()).unwrap();
        prop_assert_eq!(got, result > x && result <= y);
    }

    #[test]
    fn int_vs_float_bounds_agree(
        (result, x, y) in (-(1i64 << 52)..(1i64 << 52))
            .prop_flat_map(|r| (Just(r), near_f64(r), near_f64(r)))
    ) {
        // Integers below 2^53 and these halves are exact in f64, so the
        // direct computation in f64 is exact too.
        let filter = parse_filter(&format!("result gt {x:?} and result le {y:?}")).unwrap();
        let entity = json!({"result": result});
        let got = matches(&filter, "Observations", &entity, &NoNavigation, now()).unwrap();
        prop_assert_eq!(got, (result as f64) > x && (result as f64) <= y);
    }

    #[test]
    fn mixed_int_float_filter_agrees(
        result in -(1i64 << 53)..(1i64 << 53),
        x in -9.0e15f64..9.0e15,
        y in -(1i64 << 53)..(1i64 << 53),
    ) {
        // Integers below 2^53 convert to f64 exactly, so the direct
        // computation in f64 is exact too.
        let filter = parse_filter(&format!("result gt {x} and result le {y}")).unwrap();
        let entity = json!({"result": result});
        let got = matches(&filter, "Observations", &entity, &NoNavigation, now()).unwrap();
        prop_assert_eq!(got, (result as f64) > x && result <= y);
    }
}

/// A GeoJSON position: usually `[x, y]` on a small grid (so shapes touch
/// and overlap), sometimes malformed.
fn position() -> impl Strategy<Value = serde_json::Value> {
    let ordinate = (-3i64..4).prop_map(serde_json::Value::from);
    prop_oneof![
        29 => prop::collection::vec(ordinate.clone(), 2..=2),
        1 => prop::collection::vec(ordinate, 0..4),
    ]
    .prop_map(serde_json::Value::Array)
}

fn positions(len: std::ops::Range<usize>) -> impl Strategy<Value = serde_json::Value> {
    prop::collection::vec(position(), len).prop_map(serde_json::Value::Array)
}

/// Polygon coordinates: closed rings of random (often self-intersecting)
/// positions, sometimes too short.
fn rings() -> impl Strategy<Value = serde_json::Value> {
    let ring = prop::collection::vec(position(), 2..6).prop_map(|mut ring| {
        if let Some(first) = ring.first().cloned() {
            ring.push(first);
        }
        serde_json::Value::Array(ring)
    });
    prop::collection::vec(ring, 1..3).prop_map(serde_json::Value::Array)
}

/// GeoJSON geometries and features of every supported kind.
fn geojson() -> impl Strategy<Value = serde_json::Value> {
    let geometry = |kind: &'static str, coordinates: BoxedStrategy<serde_json::Value>| {
        coordinates.prop_map(move |c| json!({"type": kind, "coordinates": c}))
    };
    let many = |s: BoxedStrategy<serde_json::Value>| {
        prop::collection::vec(s, 0..3)
            .prop_map(serde_json::Value::Array)
            .boxed()
    };
    let simple = prop_oneof![
        geometry("Point", position().boxed()),
        geometry("MultiPoint", positions(0..4).boxed()),
        geometry("LineString", positions(1..5).boxed()),
        geometry("MultiLineString", many(positions(1..4).boxed())),
        geometry("Polygon", rings().boxed()),
        geometry("MultiPolygon", many(rings().boxed())),
    ];
    simple.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            inner
                .clone()
                .prop_map(|g| json!({"type": "Feature", "properties": {}, "geometry": g})),
            prop::collection::vec(inner, 0..3)
                .prop_map(|gs| json!({"type": "GeometryCollection", "geometries": gs})),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn wkt_literals_never_panic(wkt in "[A-Z ]{0,20}[(), 0-9.eE+-]{0,60}") {
        let filter = format!("st_within(location, geography'{wkt}')");
        if let Ok(expr) = parse_filter(&filter) {
            let world = World::new();
            let _ = matches(&expr, "Locations", world.get("Locations", 11), &world, now());
        }
    }

    #[test]
    fn geo_functions_never_panic(a in geojson(), b in geojson()) {
        let entity = json!({"a": a, "b": b});
        for function in [
            "st_equals", "st_disjoint", "st_touches", "st_within", "st_overlaps",
            "st_crosses", "st_intersects", "st_contains", "geo.intersects",
        ] {
            let expr = parse_filter(&format!("{function}(a, b)")).unwrap();
            let _ = matches(&expr, "Things", &entity, &NoNavigation, now());
        }
        for filter in [
            "geo.distance(a, b) ge 0",
            "geo.length(a) ge 0",
            "st_relate(a, b, 'T********')",
            "st_intersects(a, geometry'POLYGON((0 0, 2 0, 2 2, 0 2, 0 0))')",
        ] {
            let expr = parse_filter(filter).unwrap();
            let _ = matches(&expr, "Things", &entity, &NoNavigation, now());
        }
    }
}
