//! Geometry: WKT literals, GeoJSON values, and guarded geo algorithms.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;

use geo::{
    Coord, Distance, Euclidean, Geometry, GeometryCollection, Length, LineString, MultiLineString,
    MultiPoint, MultiPolygon, Point, Polygon, Relate, relate::IntersectionMatrix,
};
use serde_json::Value as Json;

/// Deepest accepted parenthesis nesting in a WKT literal
/// (`GEOMETRYCOLLECTION(MULTIPOLYGON(((...))))` is 4).
const MAX_WKT_DEPTH: usize = 8;

/// Deepest accepted GeoJSON nesting (Feature → GeometryCollection → ...).
const MAX_GEOJSON_DEPTH: usize = 8;

/// Parses WKT (optionally prefixed with `SRID=n;`) into a geometry.
/// Non-finite coordinates and degenerate or empty geometries are rejected.
pub(crate) fn parse_wkt(text: &str) -> Result<Geometry<f64>, String> {
    let mut text = text.trim();
    if let Some((prefix, rest)) = text.split_once(';')
        && prefix.trim().to_ascii_uppercase().starts_with("SRID=")
    {
        text = rest.trim();
    }
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => {
                depth += 1;
                if depth > MAX_WKT_DEPTH {
                    return Err(format!("nested deeper than {MAX_WKT_DEPTH} levels"));
                }
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let wkt = wkt::Wkt::<f64>::from_str(text).map_err(str::to_owned)?;
    let geometry = Geometry::try_from(wkt).map_err(|e| e.to_string())?;
    if is_valid(&geometry) {
        Ok(geometry)
    } else {
        Err("empty or degenerate geometry".to_owned())
    }
}

/// Converts a GeoJSON value to a geometry: a geometry object (`Point`,
/// `MultiPoint`, `LineString`, `MultiLineString`, `Polygon`, `MultiPolygon`,
/// `GeometryCollection`) or a `Feature`, whose `geometry` is used.
///
/// `None` for anything else, and for empty or degenerate geometries
/// (non-finite coordinates, line strings with fewer than two positions,
/// polygon rings with fewer than four).
///
/// ```
/// use cityloop_sta::geometry_from_geojson;
/// use serde_json::json;
///
/// let g = geometry_from_geojson(&json!({"type": "Point", "coordinates": [121.4, 31.2]}));
/// assert_eq!(g, Some(geo::Geometry::Point(geo::Point::new(121.4, 31.2))));
/// ```
pub fn geometry_from_geojson(value: &Json) -> Option<Geometry<f64>> {
    from_geojson(value, 0).filter(is_valid)
}

fn from_geojson(value: &Json, depth: usize) -> Option<Geometry<f64>> {
    if depth > MAX_GEOJSON_DEPTH {
        return None;
    }
    let coordinates = || value.get("coordinates");
    Some(match value.get("type")?.as_str()? {
        "Feature" => return from_geojson(value.get("geometry")?, depth + 1),
        "Point" => Geometry::Point(Point(position(coordinates()?)?)),
        "MultiPoint" => Geometry::MultiPoint(MultiPoint(
            array(coordinates()?)?
                .iter()
                .map(|p| position(p).map(Point))
                .collect::<Option<_>>()?,
        )),
        "LineString" => Geometry::LineString(line_string(coordinates()?)?),
        "MultiLineString" => Geometry::MultiLineString(MultiLineString(
            array(coordinates()?)?
                .iter()
                .map(line_string)
                .collect::<Option<_>>()?,
        )),
        "Polygon" => Geometry::Polygon(polygon(coordinates()?)?),
        "MultiPolygon" => Geometry::MultiPolygon(MultiPolygon(
            array(coordinates()?)?
                .iter()
                .map(polygon)
                .collect::<Option<_>>()?,
        )),
        "GeometryCollection" => Geometry::GeometryCollection(GeometryCollection(
            array(value.get("geometries")?)?
                .iter()
                .map(|g| from_geojson(g, depth + 1))
                .collect::<Option<_>>()?,
        )),
        _ => return None,
    })
}

fn array(value: &Json) -> Option<&Vec<Json>> {
    value.as_array()
}

/// `[x, y]` or `[x, y, z]` (the altitude is ignored).
fn position(value: &Json) -> Option<Coord<f64>> {
    match array(value)?.as_slice() {
        [x, y, ..] => Some(Coord {
            x: x.as_f64()?,
            y: y.as_f64()?,
        }),
        _ => None,
    }
}

fn line_string(value: &Json) -> Option<LineString<f64>> {
    array(value)?
        .iter()
        .map(position)
        .collect::<Option<Vec<_>>>()
        .map(LineString)
}

fn polygon(value: &Json) -> Option<Polygon<f64>> {
    let mut rings = array(value)?.iter().map(line_string);
    let exterior = rings.next()??;
    let interiors = rings.collect::<Option<Vec<_>>>()?;
    Some(Polygon::new(exterior, interiors))
}

/// True when the geometry is safe to hand to geo's algorithms: finite
/// coordinates, no empty parts, line strings of two or more positions and
/// closed rings of four or more.
fn is_valid(geometry: &Geometry<f64>) -> bool {
    fn coord_ok(c: &Coord<f64>) -> bool {
        c.x.is_finite() && c.y.is_finite()
    }
    fn line_ok(l: &LineString<f64>, min: usize) -> bool {
        l.0.len() >= min && l.0.iter().all(coord_ok)
    }
    fn polygon_ok(p: &Polygon<f64>) -> bool {
        line_ok(p.exterior(), 4) && p.interiors().iter().all(|r| line_ok(r, 4))
    }
    match geometry {
        Geometry::Point(p) => coord_ok(&p.0),
        Geometry::Line(l) => coord_ok(&l.start) && coord_ok(&l.end),
        Geometry::LineString(l) => line_ok(l, 2),
        Geometry::Polygon(p) => polygon_ok(p),
        Geometry::MultiPoint(m) => !m.0.is_empty() && m.0.iter().all(|p| coord_ok(&p.0)),
        Geometry::MultiLineString(m) => !m.0.is_empty() && m.0.iter().all(|l| line_ok(l, 2)),
        Geometry::MultiPolygon(m) => !m.0.is_empty() && m.0.iter().all(polygon_ok),
        Geometry::GeometryCollection(c) => !c.0.is_empty() && c.0.iter().all(is_valid),
        Geometry::Rect(r) => coord_ok(&r.min()) && coord_ok(&r.max()),
        Geometry::Triangle(t) => t.to_array().iter().all(coord_ok),
    }
}

/// Runs a geo algorithm, turning a panic inside it into `None`.
///
/// The inputs are validated first ([`is_valid`]), but geo documents
/// inputs on which some algorithms panic (e.g. self-intersecting
/// polygons in `relate`); a filter over stored data must not take the
/// server down, so the call is isolated.
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

/// The DE-9IM matrix of `a` relative to `b`.
pub(crate) fn relate(a: &Geometry<f64>, b: &Geometry<f64>) -> Option<IntersectionMatrix> {
    guarded(|| a.relate(b))
}

/// The planar distance between `a` and `b`, in coordinate units.
pub(crate) fn distance(a: &Geometry<f64>, b: &Geometry<f64>) -> Option<f64> {
    guarded(|| Euclidean.distance(a, b))
}

/// The planar length of `g` in coordinate units: the total length of its
/// line strings and polygon rings; 0 for points.
pub(crate) fn length(g: &Geometry<f64>) -> f64 {
    let ring_lengths = |p: &Polygon<f64>| {
        Euclidean.length(p.exterior())
            + p.interiors()
                .iter()
                .map(|r| Euclidean.length(r))
                .sum::<f64>()
    };
    match g {
        Geometry::Point(_) | Geometry::MultiPoint(_) => 0.0,
        Geometry::Line(l) => Euclidean.length(l),
        Geometry::LineString(l) => Euclidean.length(l),
        Geometry::MultiLineString(m) => Euclidean.length(m),
        Geometry::Polygon(p) => ring_lengths(p),
        Geometry::MultiPolygon(m) => m.0.iter().map(ring_lengths).sum(),
        Geometry::Rect(r) => ring_lengths(&r.to_polygon()),
        Geometry::Triangle(t) => ring_lengths(&t.to_polygon()),
        Geometry::GeometryCollection(c) => c.0.iter().map(length).sum(),
    }
}

/// True when `pattern` is a valid DE-9IM pattern: nine of `012TF*`
/// (letters in either case).
pub(crate) fn is_de9im_pattern(pattern: &str) -> bool {
    pattern.chars().count() == 9
        && pattern
            .chars()
            .all(|c| matches!(c, '0' | '1' | '2' | 'T' | 't' | 'F' | 'f' | '*'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wkt_literals() {
        assert_eq!(
            parse_wkt("SRID=4326;POINT(121.4 31.2)"),
            Ok(Geometry::Point(Point::new(121.4, 31.2)))
        );
        assert!(parse_wkt("POLYGON((0 0,1 0,1 1,0 0))").is_ok());
        assert!(parse_wkt("LINESTRING(1 1)").is_err());
        assert!(parse_wkt("POINT(1e999 1)").is_err());
        assert!(parse_wkt("POINT EMPTY").is_err());
        assert!(parse_wkt("POINT(1 2").is_err());
        assert!(parse_wkt(&format!("GEOMETRYCOLLECTION{}", "(".repeat(500))).is_err());
    }

    #[test]
    fn geojson() {
        let polygon = json!({"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 0]]]});
        assert!(matches!(
            geometry_from_geojson(&polygon),
            Some(Geometry::Polygon(_))
        ));
        let feature = json!({"type": "Feature", "properties": {}, "geometry": polygon});
        assert!(matches!(
            geometry_from_geojson(&feature),
            Some(Geometry::Polygon(_))
        ));
        let collection = json!({"type": "GeometryCollection", "geometries": [
            {"type": "Point", "coordinates": [1, 2, 3]},
            {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]]]}
        ]});
        assert!(geometry_from_geojson(&collection).is_some());
        assert_eq!(
            geometry_from_geojson(&json!({"type": "Point", "coordinates": [1]})),
            None
        );
        assert_eq!(
            geometry_from_geojson(&json!({"type": "MultiPoint", "coordinates": []})),
            None
        );
        assert_eq!(geometry_from_geojson(&json!("POINT(1 2)")), None);
    }

    #[test]
    fn lengths_and_patterns() {
        let square = parse_wkt("POLYGON((0 0,2 0,2 2,0 2,0 0))").unwrap();
        assert_eq!(length(&square), 8.0);
        assert!(is_de9im_pattern("T*F**FFF*"));
        assert!(!is_de9im_pattern("éééé*"));
        assert!(!is_de9im_pattern("T*F**FFF"));
    }
}
