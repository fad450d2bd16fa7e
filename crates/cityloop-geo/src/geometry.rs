//! Parsing and validating GeoJSON area boundaries into [`geo::MultiPolygon`]s.
//!
//! Accepted input is a GeoJSON geometry object of type `Polygon` or
//! `MultiPolygon`, or a `Feature` whose `geometry` is one of those. Positions
//! are `[lon, lat]` (extra elements such as altitude are ignored) in degrees.
//!
//! Validation is strict, because a boundary that is silently "fixed" gives
//! wrong lookups later. Every ring must
//! * have at least 4 positions, with finite, in-range coordinates;
//! * be explicitly closed (first position == last position); unclosed rings
//!   are rejected rather than closed;
//! * have at least 3 distinct positions (after dropping consecutive repeats);
//! * be simple: no two edges may cross or touch, except consecutive edges at
//!   their shared vertex, and no edge may double back along the previous one.
//!
//! Not checked (harmless for point lookup): that holes lie inside their shell,
//! ring winding order, and overlap between the polygons of a multipolygon.
//!
//! Errors carry the JSON path of the culprit, e.g.
//! `coordinates[0][2]: longitude 200 out of range [-180, 180]`.

use geo::{Coord, Intersects, Kernel, Line, LineString, MultiPolygon, Orientation, Polygon};
use serde_json::{Map, Value};

use crate::GeoError;

/// Parses a GeoJSON `Polygon`, `MultiPolygon` or `Feature` (with such a
/// geometry) into a validated [`MultiPolygon`]. See the module docs for the
/// rules.
pub fn parse_geometry(value: &Value) -> Result<MultiPolygon<f64>, GeoError> {
    let obj = as_object(value, "(root)")?;
    match type_of(obj, "type")? {
        "Feature" => {
            let geometry = match obj.get("geometry") {
                None | Some(Value::Null) => {
                    return Err(GeoError::geometry(
                        "geometry",
                        "missing: a Feature must have a Polygon or MultiPolygon geometry",
                    ));
                }
                Some(g) => g,
            };
            let g = as_object(geometry, "geometry")?;
            let ty = type_of(g, "geometry.type")?;
            parse_typed(g, ty, "geometry.", "geometry.type")
        }
        ty => parse_typed(obj, ty, "", "type"),
    }
}

/// Bounding box `[min lon, min lat, max lon, max lat]` of a multipolygon's
/// outer rings, ignoring non-finite coordinates; `None` when there are no
/// finite coordinates.
pub fn bbox(shape: &MultiPolygon<f64>) -> Option<[f64; 4]> {
    let mut out: Option<[f64; 4]> = None;
    for c in shape
        .0
        .iter()
        .flat_map(|p| p.exterior().0.iter())
        .filter(|c| c.x.is_finite() && c.y.is_finite())
    {
        out = Some(match out {
            None => [c.x, c.y, c.x, c.y],
            Some([x0, y0, x1, y1]) => [x0.min(c.x), y0.min(c.y), x1.max(c.x), y1.max(c.y)],
        });
    }
    out
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn as_object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, GeoError> {
    v.as_object().ok_or_else(|| {
        GeoError::geometry(
            path,
            format!("expected a GeoJSON object, found {}", kind(v)),
        )
    })
}

fn as_array<'a>(v: &'a Value, path: &str, what: &str) -> Result<&'a [Value], GeoError> {
    v.as_array().map(Vec::as_slice).ok_or_else(|| {
        GeoError::geometry(
            path,
            format!("expected {what} (an array), found {}", kind(v)),
        )
    })
}

fn type_of<'a>(obj: &'a Map<String, Value>, path: &str) -> Result<&'a str, GeoError> {
    match obj.get("type") {
        None => Err(GeoError::geometry(path, "missing")),
        Some(Value::String(s)) => Ok(s),
        Some(v) => Err(GeoError::geometry(
            path,
            format!("expected a string, found {}", kind(v)),
        )),
    }
}

fn parse_typed(
    obj: &Map<String, Value>,
    ty: &str,
    prefix: &str,
    type_path: &str,
) -> Result<MultiPolygon<f64>, GeoError> {
    let coords_path = format!("{prefix}coordinates");
    let coords = || {
        obj.get("coordinates")
            .ok_or_else(|| GeoError::geometry(&coords_path, "missing"))
    };
    match ty {
        "Polygon" => {
            let polygon = parse_polygon(coords()?, &coords_path)?;
            Ok(MultiPolygon(vec![polygon]))
        }
        "MultiPolygon" => {
            let items = as_array(coords()?, &coords_path, "a list of polygons")?;
            if items.is_empty() {
                return Err(GeoError::geometry(
                    &coords_path,
                    "a MultiPolygon needs at least one polygon",
                ));
            }
            let polygons = items
                .iter()
                .enumerate()
                .map(|(i, p)| parse_polygon(p, &format!("{coords_path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(MultiPolygon(polygons))
        }
        other => {
            let allowed = if prefix.is_empty() {
                "Polygon, MultiPolygon or Feature"
            } else {
                "Polygon or MultiPolygon"
            };
            Err(GeoError::geometry(
                type_path,
                format!("unsupported type {other:?}; expected {allowed}"),
            ))
        }
    }
}

fn parse_polygon(v: &Value, path: &str) -> Result<Polygon<f64>, GeoError> {
    let rings = as_array(v, path, "a list of rings")?;
    if rings.is_empty() {
        return Err(GeoError::geometry(
            path,
            "a polygon needs at least one ring (its exterior)",
        ));
    }
    let mut parsed = rings
        .iter()
        .enumerate()
        .map(|(i, r)| parse_ring(r, &format!("{path}[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let exterior = parsed.remove(0);
    Ok(Polygon::new(exterior, parsed))
}

fn parse_ring(v: &Value, path: &str) -> Result<LineString<f64>, GeoError> {
    let positions = as_array(v, path, "a ring of positions")?;
    if positions.len() < 4 {
        return Err(GeoError::geometry(
            path,
            format!(
                "ring has {} position(s); a closed ring needs at least 4",
                positions.len()
            ),
        ));
    }
    let coords = positions
        .iter()
        .enumerate()
        .map(|(i, p)| parse_position(p, &format!("{path}[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;

    let (first, last) = (coords[0], coords[coords.len() - 1]);
    if first != last {
        return Err(GeoError::geometry(
            path,
            format!(
                "ring is not closed: first position [{}, {}] differs from last [{}, {}]",
                first.x, first.y, last.x, last.y
            ),
        ));
    }

    // Drop consecutive repeats, remembering each kept vertex's original index
    // so that errors can point at the input.
    let mut kept: Vec<(usize, Coord<f64>)> = Vec::with_capacity(coords.len());
    for (i, c) in coords.iter().enumerate() {
        if kept.last().is_none_or(|(_, prev)| prev != c) {
            kept.push((i, *c));
        }
    }
    if kept.len() < 4 {
        return Err(GeoError::geometry(
            path,
            "ring has fewer than 3 distinct positions",
        ));
    }
    let ring: Vec<Coord<f64>> = kept.iter().map(|(_, c)| *c).collect();
    if let Some((a, b)) = find_self_intersection(&ring) {
        // Edge `s` of the deduplicated ring runs between these input positions.
        let describe = |s: usize| format!("positions {}→{}", kept[s].0, kept[s + 1].0);
        return Err(GeoError::geometry(
            path,
            format!(
                "ring intersects itself: edge between {} meets edge between {}",
                describe(a),
                describe(b)
            ),
        ));
    }
    Ok(LineString(coords))
}

fn parse_position(v: &Value, path: &str) -> Result<Coord<f64>, GeoError> {
    let items = as_array(v, path, "a position [lon, lat]")?;
    if items.len() < 2 {
        return Err(GeoError::geometry(
            path,
            format!(
                "a position needs at least 2 numbers [lon, lat], found {}",
                items.len()
            ),
        ));
    }
    let mut nums = [0.0_f64; 2];
    for (i, item) in items.iter().enumerate() {
        let n = match item.as_f64() {
            Some(n) if n.is_finite() => n,
            Some(n) => {
                return Err(GeoError::geometry(
                    format!("{path}[{i}]"),
                    format!("{n} is not a finite number"),
                ));
            }
            None => {
                return Err(GeoError::geometry(
                    format!("{path}[{i}]"),
                    format!("expected a number, found {}", kind(item)),
                ));
            }
        };
        if i < 2 {
            nums[i] = n;
        }
    }
    let [lon, lat] = nums;
    if !(-180.0..=180.0).contains(&lon) {
        return Err(GeoError::geometry(
            path,
            format!("longitude {lon} out of range [-180, 180]"),
        ));
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err(GeoError::geometry(
            path,
            format!("latitude {lat} out of range [-90, 90]"),
        ));
    }
    Ok(Coord { x: lon, y: lat })
}

/// Finds two edges of a closed ring (no consecutive repeats, `ring.len() >= 4`)
/// that make it non-simple. Returns their indices (edge `i` runs from
/// `ring[i]` to `ring[i + 1]`), lower first.
///
/// Sort-and-sweep on x: edges are visited by their left end, and compared only
/// with edges whose x-extent is still open, so typical boundaries cost
/// O(n log n) rather than O(n²).
fn find_self_intersection(ring: &[Coord<f64>]) -> Option<(usize, usize)> {
    let m = ring.len() - 1; // number of edges
    let edge = |i: usize| Line::new(ring[i], ring[i + 1]);
    let min_x = |i: usize| ring[i].x.min(ring[i + 1].x);
    let max_x = |i: usize| ring[i].x.max(ring[i + 1].x);
    let min_y = |i: usize| ring[i].y.min(ring[i + 1].y);
    let max_y = |i: usize| ring[i].y.max(ring[i + 1].y);

    let mut order: Vec<usize> = (0..m).collect();
    order.sort_unstable_by(|&a, &b| min_x(a).total_cmp(&min_x(b)));

    let mut active: Vec<usize> = Vec::new();
    for &i in &order {
        let left = min_x(i);
        active.retain(|&j| max_x(j) >= left);
        for &j in &active {
            if max_y(j) < min_y(i) || max_y(i) < min_y(j) {
                continue;
            }
            let bad = if (i + 1) % m == j {
                doubles_back(ring[i], ring[j], ring[j + 1])
            } else if (j + 1) % m == i {
                doubles_back(ring[j], ring[i], ring[i + 1])
            } else {
                edge(i).intersects(&edge(j))
            };
            if bad {
                return Some((i.min(j), i.max(j)));
            }
        }
        active.push(i);
    }
    None
}

/// For consecutive edges a→b, b→c: true when c lies back along b→a, i.e. the
/// two edges overlap in more than their shared vertex (a "spike").
fn doubles_back(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> bool {
    let collinear = matches!(
        <geo::kernels::RobustKernel as Kernel<f64>>::orient2d(a, b, c),
        Orientation::Collinear
    );
    collinear && (a.x - b.x) * (c.x - b.x) + (a.y - b.y) * (c.y - b.y) > 0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        parse_geometry(&v).unwrap_err().to_string()
    }

    fn square() -> Value {
        json!([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]])
    }

    #[test]
    fn parses_polygon_multipolygon_and_feature() {
        let poly = json!({"type": "Polygon", "coordinates": [square()]});
        let mp = parse_geometry(&poly).unwrap();
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].exterior().0.len(), 5);

        let hole = json!([[0.2, 0.2], [0.2, 0.8], [0.8, 0.8], [0.8, 0.2], [0.2, 0.2]]);
        let multi = json!({"type": "MultiPolygon", "coordinates": [
            [square(), hole],
            [[[2.0, 2.0], [3.0, 2.0], [3.0, 3.0], [2.0, 2.0]]]
        ]});
        let mp = parse_geometry(&multi).unwrap();
        assert_eq!(mp.0.len(), 2);
        assert_eq!(mp.0[0].interiors().len(), 1);
        assert_eq!(bbox(&mp), Some([0.0, 0.0, 3.0, 3.0]));

        let feature = json!({"type": "Feature", "properties": {"code": "x"}, "geometry": poly});
        assert_eq!(parse_geometry(&feature).unwrap().0.len(), 1);

        // Altitude and repeated consecutive vertices are tolerated.
        let z = json!({"type": "Polygon", "coordinates": [[
            [0.0, 0.0, 5.0], [1.0, 0.0, 5.0], [1.0, 0.0, 5.0], [1.0, 1.0, 5.0], [0.0, 0.0, 5.0]
        ]]});
        assert!(parse_geometry(&z).is_ok());
    }

    #[test]
    fn out_of_range_coordinates_name_their_path() {
        let v = json!({"type": "Polygon", "coordinates": [[
            [0.0, 0.0], [1.0, 0.0], [200.0, 1.0], [0.0, 0.0]
        ]]});
        assert_eq!(
            err(v),
            "coordinates[0][2]: longitude 200 out of range [-180, 180]"
        );
        let v = json!({"type": "MultiPolygon", "coordinates": [[square()], [[
            [0.0, 0.0], [1.0, 0.0], [1.0, 91.0], [0.0, 0.0]
        ]]]});
        assert_eq!(
            err(v),
            "coordinates[1][0][2]: latitude 91 out of range [-90, 90]"
        );
        let v = json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[
            [0.0, 0.0], [1.0, "x"], [1.0, 1.0], [0.0, 0.0]
        ]]}});
        assert_eq!(
            err(v),
            "geometry.coordinates[0][1][1]: expected a number, found a string"
        );
    }

    #[test]
    fn unclosed_and_short_rings_are_rejected() {
        let v = json!({"type": "Polygon", "coordinates": [[
            [0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]
        ]]});
        let e = err(v);
        assert!(e.starts_with("coordinates[0]: ring is not closed"), "{e}");

        let v = json!({"type": "Polygon", "coordinates": [square(), [[0.1, 0.1], [0.2, 0.1], [0.1, 0.1]]]});
        let e = err(v);
        assert!(
            e.starts_with("coordinates[1]: ring has 3 position(s)"),
            "{e}"
        );

        let v = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]]});
        assert_eq!(
            err(v),
            "coordinates[0]: ring has fewer than 3 distinct positions"
        );

        let v = json!({"type": "Polygon", "coordinates": [[]]});
        assert!(err(v).starts_with("coordinates[0]: ring has 0 position(s)"));
    }

    #[test]
    fn self_intersections_are_rejected() {
        // Bow tie: edges 0→1 and 2→3 cross.
        let v = json!({"type": "Polygon", "coordinates": [[
            [0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]
        ]]});
        let e = err(v);
        assert!(
            e.starts_with("coordinates[0]: ring intersects itself"),
            "{e}"
        );
        // Spike doubling back on itself.
        let v = json!({"type": "Polygon", "coordinates": [[
            [0.0, 0.0], [2.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]
        ]]});
        assert!(err(v).contains("intersects itself"));
        // Ring touching itself at a vertex (figure eight).
        let v = json!({"type": "Polygon", "coordinates": [[
            [0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [2.0, 2.0], [1.0, 1.0], [0.0, 2.0], [0.0, 0.0]
        ]]});
        assert!(err(v).contains("intersects itself"));
        // Collinear but non-overlapping consecutive edges are fine.
        let v = json!({"type": "Polygon", "coordinates": [[
            [0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 0.0]
        ]]});
        assert!(parse_geometry(&v).is_ok());
    }

    #[test]
    fn structural_errors_are_described() {
        assert_eq!(
            err(json!([1, 2])),
            "(root): expected a GeoJSON object, found an array"
        );
        assert_eq!(err(json!({"coordinates": []})), "type: missing");
        assert_eq!(
            err(json!({"type": "Point", "coordinates": [0, 0]})),
            "type: unsupported type \"Point\"; expected Polygon, MultiPolygon or Feature"
        );
        assert_eq!(err(json!({"type": "Polygon"})), "coordinates: missing");
        assert_eq!(
            err(json!({"type": "Polygon", "coordinates": []})),
            "coordinates: a polygon needs at least one ring (its exterior)"
        );
        assert_eq!(
            err(json!({"type": "MultiPolygon", "coordinates": []})),
            "coordinates: a MultiPolygon needs at least one polygon"
        );
        assert_eq!(
            err(json!({"type": "Feature", "geometry": null})),
            "geometry: missing: a Feature must have a Polygon or MultiPolygon geometry"
        );
        assert_eq!(
            err(json!({"type": "Feature", "geometry": {"type": "Feature"}})),
            "geometry.type: unsupported type \"Feature\"; expected Polygon or MultiPolygon"
        );
        assert_eq!(
            err(
                json!({"type": "Polygon", "coordinates": [[[0.0], [1.0, 0.0], [1.0, 1.0], [0.0]]]})
            ),
            "coordinates[0][0]: a position needs at least 2 numbers [lon, lat], found 1"
        );
    }

    #[test]
    fn bbox_of_empty_shape_is_none() {
        assert_eq!(bbox(&MultiPolygon(vec![])), None);
    }
}
