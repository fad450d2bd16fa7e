//! Point → area lookup over a set of administrative areas ([`AreaIndex`]).
//!
//! Each polygon of each area's multipolygon contributes one entry (its
//! bounding rectangle) to an R-tree. A lookup asks the tree for rectangles
//! containing the point, then runs an exact point-in-polygon test on those
//! candidates only. The exact test uses geo's `Intersects`, so a point exactly
//! on a boundary belongs to the area (and to both neighbours on a shared
//! edge), and holes are respected.
//!
//! All coordinates are WGS-84 degrees; convert GCJ-02/BD-09 input first with
//! [`crate::to_wgs84`].

use std::collections::HashMap;

use geo::{Intersects, MultiPolygon, Point, Polygon};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

use crate::{EARTH_RADIUS_M, LonLat};

/// An area to index: its code (e.g. the 12-digit division code), its depth in
/// the area tree and its boundary in WGS-84 degrees.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedArea {
    /// Unique area code, e.g. `"310107"`.
    pub code: String,
    /// Depth in the area tree: 0 city, 1 district, 2 street, 3 community, 4 grid.
    pub rank: u8,
    /// The boundary, e.g. from [`crate::parse_geometry`].
    pub shape: MultiPolygon<f64>,
}

/// One area containing a located point.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hit {
    /// The area's code.
    pub code: String,
    /// The area's rank (depth in the area tree).
    pub rank: u8,
}

/// R-tree entry: a polygon's bounding rectangle, tagged (area index, polygon index).
type Entry = GeomWithData<Rectangle<[f64; 2]>, (usize, usize)>;

/// Immutable spatial index answering "which areas contain this point?".
///
/// Areas given with the same code are merged into one area (their polygons
/// are combined; the first entry's rank wins). Polygons with any non-finite
/// coordinate cannot be located and are left out of the R-tree.
#[derive(Debug, Clone)]
pub struct AreaIndex {
    areas: Vec<IndexedArea>,
    by_code: HashMap<String, usize>,
    tree: RTree<Entry>,
}

impl Default for AreaIndex {
    fn default() -> Self {
        AreaIndex::new(std::iter::empty())
    }
}

impl AreaIndex {
    /// Builds the index (bulk-loaded R-tree, one entry per polygon).
    pub fn new(areas: impl IntoIterator<Item = IndexedArea>) -> Self {
        let mut merged: Vec<IndexedArea> = Vec::new();
        let mut by_code: HashMap<String, usize> = HashMap::new();
        for area in areas {
            match by_code.get(&area.code) {
                Some(&i) => merged[i].shape.0.extend(area.shape.0),
                None => {
                    by_code.insert(area.code.clone(), merged.len());
                    merged.push(area);
                }
            }
        }
        let entries: Vec<Entry> = merged
            .iter()
            .enumerate()
            .flat_map(|(ai, area)| {
                area.shape
                    .0
                    .iter()
                    .enumerate()
                    .filter_map(move |(pi, poly)| {
                        finite_envelope(poly).map(|(lo, hi)| {
                            GeomWithData::new(Rectangle::from_corners(lo, hi), (ai, pi))
                        })
                    })
            })
            .collect();
        AreaIndex {
            areas: merged,
            by_code,
            tree: RTree::bulk_load(entries),
        }
    }

    /// Every area containing `p` (boundary included), each code once, sorted
    /// by rank then code. Empty for points outside every area and for
    /// non-finite input.
    pub fn locate(&self, p: LonLat) -> Vec<Hit> {
        if !(p.lon.is_finite() && p.lat.is_finite()) {
            return Vec::new();
        }
        let point = Point::new(p.lon, p.lat);
        let mut found: Vec<usize> = self
            .tree
            .locate_all_at_point(&[p.lon, p.lat])
            .filter(|e| {
                let (ai, pi) = e.data;
                self.areas[ai].shape.0[pi].intersects(&point)
            })
            .map(|e| e.data.0)
            .collect();
        found.sort_unstable();
        found.dedup();
        let mut hits: Vec<Hit> = found
            .into_iter()
            .map(|ai| Hit {
                code: self.areas[ai].code.clone(),
                rank: self.areas[ai].rank,
            })
            .collect();
        hits.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.code.cmp(&b.code)));
        hits
    }

    /// Number of distinct area codes.
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// True when the index holds no areas.
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// True when an area with this code was indexed.
    pub fn contains_code(&self, code: &str) -> bool {
        self.by_code.contains_key(code)
    }

    /// The indexed area with this code (merged, if it was given more than once).
    pub fn get(&self, code: &str) -> Option<&IndexedArea> {
        self.by_code.get(code).map(|&i| &self.areas[i])
    }

    /// All indexed areas, in first-insertion order.
    pub fn areas(&self) -> impl Iterator<Item = &IndexedArea> {
        self.areas.iter()
    }

    /// Distance in metres from `p` to the nearest edge of the area's boundary
    /// (outer and inner rings of all its polygons), whether `p` is inside or
    /// outside. Uses a local equirectangular projection centred on `p` with
    /// the mean Earth radius, accurate to well under 1% at city scale.
    ///
    /// `None` if the code is unknown, `p` is not finite, or the area has no
    /// finite edges.
    pub fn distance_to_boundary_m(&self, code: &str, p: LonLat) -> Option<f64> {
        let area = self.get(code)?;
        if !(p.lon.is_finite() && p.lat.is_finite()) {
            return None;
        }
        let ky = EARTH_RADIUS_M.to_radians(); // metres per degree of latitude
        let kx = ky * p.lat.to_radians().cos(); // metres per degree of longitude at p
        let project = |c: &geo::Coord<f64>| -> Option<(f64, f64)> {
            // Wrap the longitude difference so the projection stays local
            // across the antimeridian.
            let mut dlon = c.x - p.lon;
            if dlon > 180.0 {
                dlon -= 360.0;
            } else if dlon < -180.0 {
                dlon += 360.0;
            }
            let xy = (dlon * kx, (c.y - p.lat) * ky);
            (xy.0.is_finite() && xy.1.is_finite()).then_some(xy)
        };
        let mut best: Option<f64> = None;
        for poly in &area.shape.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for w in ring.0.windows(2) {
                    if let (Some(a), Some(b)) = (project(&w[0]), project(&w[1])) {
                        let d = origin_to_segment(a, b);
                        best = Some(best.map_or(d, |m: f64| m.min(d)));
                    }
                }
            }
        }
        best
    }
}

impl AreaIndex {
    /// True when `p` lies within `distance_m` metres of the area's boundary:
    /// the same answer as comparing [`AreaIndex::distance_to_boundary_m`]
    /// with `distance_m`, but edges whose bounding box is farther than
    /// `distance_m` from `p` are skipped without measuring them, so a point
    /// deep inside a district with thousands of edges costs comparisons
    /// only. `None` if the code is unknown or `p` is not finite.
    pub fn is_near_boundary(&self, code: &str, p: LonLat, distance_m: f64) -> Option<bool> {
        let area = self.get(code)?;
        if !(p.lon.is_finite() && p.lat.is_finite() && distance_m.is_finite()) {
            return None;
        }
        let ky = EARTH_RADIUS_M.to_radians();
        let kx = ky * p.lat.to_radians().cos();
        if kx <= 0.0 {
            return self
                .distance_to_boundary_m(code, p)
                .map(|d| d <= distance_m);
        }
        // A box around p, padded by 1 % for the projection's error.
        let (dlon, dlat) = (distance_m * 1.01 / kx, distance_m * 1.01 / ky);
        let (west, east, south, north) = (p.lon - dlon, p.lon + dlon, p.lat - dlat, p.lat + dlat);
        for poly in &area.shape.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for w in ring.0.windows(2) {
                    let (a, b) = (w[0], w[1]);
                    if a.x.max(b.x) < west
                        || a.x.min(b.x) > east
                        || a.y.max(b.y) < south
                        || a.y.min(b.y) > north
                    {
                        continue;
                    }
                    let project = |c: geo::Coord<f64>| ((c.x - p.lon) * kx, (c.y - p.lat) * ky);
                    if origin_to_segment(project(a), project(b)) <= distance_m {
                        return Some(true);
                    }
                }
            }
        }
        Some(false)
    }
}

/// Bounding rectangle of a polygon's exterior, or `None` if it is empty or has
/// a non-finite coordinate anywhere (which would poison the R-tree).
fn finite_envelope(poly: &Polygon<f64>) -> Option<([f64; 2], [f64; 2])> {
    let all_finite = std::iter::once(poly.exterior())
        .chain(poly.interiors())
        .flat_map(|r| r.0.iter())
        .all(|c| c.x.is_finite() && c.y.is_finite());
    if !all_finite {
        return None;
    }
    let mut it = poly.exterior().0.iter();
    let first = it.next()?;
    let (mut lo, mut hi) = ([first.x, first.y], [first.x, first.y]);
    for c in it {
        lo = [lo[0].min(c.x), lo[1].min(c.y)];
        hi = [hi[0].max(c.x), hi[1].max(c.y)];
    }
    Some((lo, hi))
}

/// Euclidean distance from the origin to segment a–b.
fn origin_to_segment(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    // Parameter of the origin's projection onto the line, in units of len2.
    let along = -(a.0 * dx + a.1 * dy);
    if len2 > 0.0 && along > 0.0 && along < len2 {
        // Perpendicular distance via the cross product: exact zero for points
        // on the segment, unlike interpolating the foot point.
        (a.0 * dy - a.1 * dx).abs() / len2.sqrt()
    } else {
        a.0.hypot(a.1).min(b.0.hypot(b.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, polygon};

    fn ll(lon: f64, lat: f64) -> LonLat {
        LonLat::new(lon, lat).unwrap()
    }

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
        polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1), (x: x0, y: y0)]
    }

    fn area(code: &str, rank: u8, polys: Vec<Polygon<f64>>) -> IndexedArea {
        IndexedArea {
            code: code.into(),
            rank,
            shape: MultiPolygon(polys),
        }
    }

    fn codes(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.code.as_str()).collect()
    }

    /// City 0..10 with a hole at 4..6; districts A (0..5) and B (5..10)
    /// sharing the edge x = 5; B is split into two polygons.
    fn sample() -> AreaIndex {
        let mut city = rect(0.0, 0.0, 10.0, 10.0);
        city.interiors_push(LineString::from(vec![
            (4.0, 4.0),
            (4.0, 6.0),
            (6.0, 6.0),
            (6.0, 4.0),
            (4.0, 4.0),
        ]));
        AreaIndex::new([
            area(
                "b",
                1,
                vec![rect(5.0, 0.0, 10.0, 5.0), rect(5.0, 5.0, 10.0, 10.0)],
            ),
            area("c", 0, vec![city]),
            area("a", 1, vec![rect(0.0, 0.0, 5.0, 10.0)]),
        ])
    }

    #[test]
    fn locate_sorts_by_rank_then_code_and_respects_holes() {
        let idx = sample();
        assert_eq!(idx.len(), 3);
        assert!(!idx.is_empty());
        assert!(idx.contains_code("a") && !idx.contains_code("z"));

        let hits = idx.locate(ll(2.0, 2.0));
        assert_eq!(
            hits,
            vec![
                Hit {
                    code: "c".into(),
                    rank: 0
                },
                Hit {
                    code: "a".into(),
                    rank: 1
                }
            ]
        );
        // In the city's hole: only the district.
        assert_eq!(codes(&idx.locate(ll(5.5, 4.5))), ["b"]);
        // Outside everything.
        assert!(idx.locate(ll(20.0, 20.0)).is_empty());
    }

    #[test]
    fn boundary_points_count_as_inside_and_are_deduplicated() {
        let idx = sample();
        // On the shared edge x = 5 (outside the hole): both districts.
        assert_eq!(codes(&idx.locate(ll(5.0, 1.0))), ["c", "a", "b"]);
        // On the edge between b's two polygons: b once, not twice.
        assert_eq!(codes(&idx.locate(ll(8.0, 5.0))), ["c", "b"]);
        // A city corner.
        assert_eq!(codes(&idx.locate(ll(10.0, 10.0))), ["c", "b"]);
    }

    #[test]
    fn duplicate_codes_merge_and_bad_input_is_tolerated() {
        let nan_poly = rect(f64::NAN, 0.0, 1.0, 1.0);
        let idx = AreaIndex::new([
            area("x", 2, vec![rect(0.0, 0.0, 1.0, 1.0)]),
            area("x", 3, vec![rect(2.0, 0.0, 3.0, 1.0), nan_poly]),
            area("empty", 1, vec![Polygon::new(LineString(vec![]), vec![])]),
        ]);
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.get("x").unwrap().rank, 2);
        assert_eq!(
            idx.locate(ll(2.5, 0.5)),
            vec![Hit {
                code: "x".into(),
                rank: 2
            }]
        );
        assert!(
            idx.locate(LonLat {
                lon: f64::NAN,
                lat: 0.5
            })
            .is_empty()
        );
        assert_eq!(idx.distance_to_boundary_m("empty", ll(0.0, 0.0)), None);
        assert!(AreaIndex::default().is_empty());
    }

    #[test]
    fn distance_to_boundary_includes_holes_and_outside_points() {
        let idx = sample();
        let m_per_deg = EARTH_RADIUS_M.to_radians();
        // (5, 3): 1° below the hole's bottom edge y = 4, 3° above y = 0
        // (x = 5 is a district edge, not a city edge).
        let d = idx.distance_to_boundary_m("c", ll(5.0, 3.0)).unwrap();
        assert!((d - m_per_deg).abs() < 1.0, "{d}");
        // Outside: 2° east of the city's east edge, at the equator.
        let d = idx.distance_to_boundary_m("c", ll(12.0, 0.0)).unwrap();
        assert!((d - 2.0 * m_per_deg).abs() < 1.0, "{d}");
        // On the boundary.
        assert_eq!(idx.distance_to_boundary_m("a", ll(5.0, 2.0)), Some(0.0));
        assert_eq!(idx.distance_to_boundary_m("nope", ll(5.0, 2.0)), None);
    }

    #[test]
    fn origin_to_segment_cases() {
        assert_eq!(origin_to_segment((1.0, -1.0), (1.0, 1.0)), 1.0);
        assert_eq!(origin_to_segment((3.0, 4.0), (3.0, 4.0)), 5.0);
        assert_eq!(origin_to_segment((3.0, 4.0), (6.0, 8.0)), 5.0);
        assert_eq!(origin_to_segment((-3.0, 4.0), (3.0, 4.0)), 4.0);
        assert_eq!(origin_to_segment((0.0, -2.0), (0.0, 8.0)), 0.0);
    }
}
