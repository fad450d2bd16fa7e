//! Geospatial functions.

use cityloop_sta::{matches, parse_filter};
use serde_json::json;

use crate::common::{NoNavigation, check, eval, now};

#[test]
fn point_within_polygon() {
    // Location 10 is POINT(121.4 31.2).
    let area = "geography'POLYGON((121 31, 122 31, 122 32, 121 32, 121 31))'";
    check(
        &format!("st_within(location, {area})"),
        "Locations",
        10,
        true,
    );
    check(
        &format!("st_contains({area}, location)"),
        "Locations",
        10,
        true,
    );
    check(
        &format!("st_intersects(location, {area})"),
        "Locations",
        10,
        true,
    );
    check(
        &format!("geo.intersects(location, {area})"),
        "Locations",
        10,
        true,
    );
    check(
        &format!("st_disjoint(location, {area})"),
        "Locations",
        10,
        false,
    );
}

#[test]
fn point_not_within_polygon() {
    let elsewhere = "geometry'POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))'";
    check(
        &format!("st_within(location, {elsewhere})"),
        "Locations",
        10,
        false,
    );
    check(
        &format!("st_intersects(location, {elsewhere})"),
        "Locations",
        10,
        false,
    );
    check(
        &format!("st_disjoint(location, {elsewhere})"),
        "Locations",
        10,
        true,
    );
    check(
        &format!("not st_within(location, {elsewhere})"),
        "Locations",
        10,
        true,
    );
}

#[test]
fn geojson_features_are_geometries() {
    // Location 11's location is a GeoJSON Feature holding a 10×10 square.
    check(
        "st_intersects(location, geography'POINT(5 5)')",
        "Locations",
        11,
        true,
    );
    check(
        "st_intersects(location, geography'LINESTRING(-1 -1, 1 1)')",
        "Locations",
        11,
        true,
    );
    check(
        "st_intersects(location, geography'POINT(50 5)')",
        "Locations",
        11,
        false,
    );
    // FeatureOfInterest 5000's feature is a Feature around (121.4, 31.2).
    check(
        "st_intersects(FeatureOfInterest/feature, geography'POINT(121.4 31.2)')",
        "Observations",
        1000,
        true,
    );
    check(
        "st_intersects(FeatureOfInterest/feature, Datastream/observedArea)",
        "Observations",
        1000,
        true,
    );
    // To-many: one of the Thing's locations is within the square.
    check(
        "st_within(Locations/location, geography'POLYGON((121 31, 122 31, 122 32, 121 32, 121 31))')",
        "Things",
        1,
        true,
    );
}

#[test]
fn other_predicates_and_relate() {
    let entity = json!({
        "a": {"type": "LineString", "coordinates": [[0, 0], [2, 2]]},
        "b": {"type": "LineString", "coordinates": [[0, 2], [2, 0]]},
        "sq": {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]},
        "sq2": {"type": "Polygon", "coordinates": [[[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]]]},
        "mp": {"type": "MultiPoint", "coordinates": [[0, 0], [5, 5]]},
        "gc": {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [9, 9]}]}
    });
    let holds = |filter: &str| {
        let expr = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        matches(&expr, "Things", &entity, &NoNavigation, now()).unwrap()
    };
    assert!(holds("st_crosses(a, b)"));
    assert!(!holds("st_crosses(a, a)"));
    assert!(holds("st_overlaps(sq, sq2)"));
    assert!(holds("st_touches(sq, geometry'POINT(2 1)')"));
    assert!(!holds("st_touches(sq, geometry'POINT(1 1)')"));
    assert!(holds(
        "st_equals(sq, geometry'POLYGON((2 2, 0 2, 0 0, 2 0, 2 2))')"
    ));
    assert!(holds("st_relate(a, b, '0F1FF0102')"));
    assert!(holds("st_relate(sq, sq2, 'T*T***T**')"));
    assert!(!holds("st_relate(sq, sq2, 'FF*FF****')"));
    assert!(holds(
        "geo.distance(geometry'POINT(0 0)', geometry'POINT(3 4)') eq 5"
    ));
    assert!(holds("geo.distance(sq, geometry'POINT(5 2)') eq 3"));
    assert!(holds("geo.distance(mp, geometry'POINT(5 4)') eq 1"));
    assert!(holds("geo.distance(gc, geometry'POINT(9 8)') eq 1"));
    assert!(holds(
        "geo.length(geometry'LINESTRING(0 0, 3 4, 3 5)') eq 6"
    ));
    assert!(holds("geo.length(sq) eq 8"));
    assert!(holds(
        "geo.length(geometry'MULTILINESTRING((0 0, 1 0), (0 0, 0 2))') eq 3"
    ));
    assert!(holds(
        "st_within(geometry'MULTIPOINT((1 1), (1.5 1.5))', sq)"
    ));
    assert!(holds(
        "st_intersects(geometry'MULTIPOLYGON(((10 10, 11 10, 11 11, 10 10)), ((0 0, 1 0, 1 1, 0 0)))', sq)"
    ));
    // Exact equality of a literal with a GeoJSON value.
    assert!(holds("a eq geometry'LINESTRING(0 0, 2 2)'"));
    assert!(holds("geometry'LINESTRING(0 0, 2 2)' eq a"));
    assert!(!holds("a eq geometry'LINESTRING(0 0, 2 3)'"));
    assert!(holds("a ne geometry'LINESTRING(0 0, 2 3)'"));
    // Not geometries: null, so false.
    assert!(!holds("st_within(missing, sq)"));
    assert!(!holds("st_within('POINT(1 1)', sq)"));
}

#[test]
fn invalid_relate_pattern_is_an_error() {
    let err = eval(
        "st_relate(location, geography'POINT(1 1)', 'T*F**FFX*')",
        "Locations",
        10,
    )
    .unwrap_err();
    assert!(err.0.starts_with("st_relate:"), "{err}");
    // Multi-byte characters cannot sneak past the length check.
    assert!(eval("st_relate(location, location, 'éééé*')", "Locations", 10).is_err());
}

#[test]
fn invalid_wkt_is_a_syntax_error() {
    for bad in [
        "st_within(location, geography'POINT(1)')",
        "st_within(location, geography'POLYGON((0 0, 1 1))')",
        "st_within(location, geography'CIRCLE(1 1)')",
        "st_within(location, geography'POINT(1 2')",
    ] {
        let err = parse_filter(bad).unwrap_err();
        assert!(err.message.contains("invalid WKT"), "{bad}: {err}");
        assert!(err.message.ends_with("at position 20"), "{bad}: {err}");
    }
}
