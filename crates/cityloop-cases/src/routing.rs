//! Where a case is and who is responsible for it: point → area path (the
//! finest area with a boundary, then up the tree), the near-boundary flag,
//! and the responsibility list's answer — a department or, explicitly, no
//! one (the case then waits in the dispatcher's queue).

use crate::service::CaseError;
use cityloop_domain::{
    Area, AreaCode, CategoryCode, DepartmentId, Responsibility, resolve_responsibility,
};
use cityloop_geo::{AreaIndex, LonLat};
use cityloop_store::{Store, StoreError};

/// Builds the point → area index from every stored boundary.
pub async fn build_index(store: &dyn Store) -> Result<AreaIndex, StoreError> {
    let shapes = store.area_shapes().await?;
    let mut indexed = Vec::with_capacity(shapes.len());
    for shape in shapes {
        let invalid =
            |why: String| StoreError::Backend(format!("stored shape of {}: {why}", shape.code));
        let value: serde_json::Value =
            serde_json::from_str(&shape.geojson).map_err(|e| invalid(e.to_string()))?;
        let geometry = cityloop_geo::parse_geometry(&value).map_err(|e| invalid(e.to_string()))?;
        indexed.push(cityloop_geo::IndexedArea {
            code: shape.code.as_str().to_owned(),
            rank: shape.level.rank(),
            shape: geometry,
        });
    }
    Ok(AreaIndex::new(indexed))
}

/// The area path (city first) of the finest area containing `point`, down
/// to the finest level that has boundaries; empty if none contains it.
pub async fn locate_point(
    store: &dyn Store,
    index: &AreaIndex,
    point: LonLat,
) -> Result<Vec<Area>, StoreError> {
    Ok(match finest_hit(index, point) {
        Some(code) => store.area_path(&code).await?,
        None => Vec::new(),
    })
}

pub(crate) fn finest_hit(index: &AreaIndex, point: LonLat) -> Option<AreaCode> {
    let hits = index.locate(point);
    // Finest first; among equals the lowest code, so a point on a boundary
    // shared by two areas always gets the same answer.
    let finest = hits
        .iter()
        .max_by(|a, b| a.rank.cmp(&b.rank).then(b.code.cmp(&a.code)))?;
    AreaCode::parse(&finest.code).ok()
}

/// Where a case lies.
#[derive(Debug, Clone)]
pub struct Located {
    /// City first.
    pub path: Vec<AreaCode>,
    pub near_boundary: bool,
}

/// Resolves a case's area from its point, or from the area the channel
/// gave. A point that lies in no known area is refused: the dispatcher
/// would have nowhere to send it.
pub async fn locate(
    store: &dyn Store,
    index: &AreaIndex,
    point: Option<LonLat>,
    area: Option<&AreaCode>,
    boundary_flag_m: f64,
) -> Result<Located, CaseError> {
    match (point, area) {
        (Some(point), _) => {
            let Some(finest) = finest_hit(index, point) else {
                return Err(CaseError::Invalid {
                    field: "lat",
                    message: format!(
                        "({:.6}, {:.6}) lies in no area of this city",
                        point.lon, point.lat
                    ),
                });
            };
            let near_boundary = index
                .is_near_boundary(finest.as_str(), point, boundary_flag_m)
                .unwrap_or(false);
            let path = store.area_path(&finest).await?;
            Ok(Located {
                path: path.into_iter().map(|a| a.code).collect(),
                near_boundary,
            })
        }
        (None, Some(code)) => {
            let path = store.area_path(code).await?;
            if path.is_empty() {
                return Err(CaseError::Invalid {
                    field: "area_code",
                    message: format!("area {code} does not exist"),
                });
            }
            Ok(Located {
                path: path.into_iter().map(|a| a.code).collect(),
                near_boundary: false,
            })
        }
        (None, None) => Err(CaseError::Invalid {
            field: "lat",
            message: "give the location: lat and long, or an area code".into(),
        }),
    }
}

/// The responsibility list's answer for a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    pub department: Option<DepartmentId>,
    pub rule: Option<Responsibility>,
}

pub async fn route(
    store: &dyn Store,
    category: &CategoryCode,
    path: &[AreaCode],
) -> Result<Routing, StoreError> {
    let rows = store.responsibilities_at(path).await?;
    let rule = resolve_responsibility(category, path, &rows).cloned();
    Ok(Routing {
        department: rule.as_ref().map(|r| r.department.clone()),
        rule,
    })
}
