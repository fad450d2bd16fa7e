//! The area tree over HTTP: listing, one area with its path, boundaries as
//! GeoJSON, replacing a boundary, and point → area ("which street is this?")
//! for WGS-84, GCJ-02 and BD-09 input.

use crate::AppState;
use crate::auth::Caller;
use crate::problem::{ApiResult, Json, Problem, Query};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use cityloop_domain::{Area, AreaCode, AreaLevel};
use cityloop_geo::{Crs, LonLat};
use cityloop_store::{AreaQuery, AreaRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/areas", get(list_areas))
        .route("/api/v1/areas/shapes", get(list_shapes))
        .route("/api/v1/areas/{code}", get(get_area))
        .route(
            "/api/v1/areas/{code}/shape",
            get(get_area_shape).put(put_area_shape),
        )
        .route("/api/v1/locate", get(locate))
}

pub use cityloop_cases::{build_index, locate_point};

#[derive(Debug, Serialize, ToSchema)]
pub struct AreaDto {
    /// Official code (GB/T 2260 / statistics bureau).
    pub code: String,
    pub name: String,
    /// city, district, street, community or grid.
    pub level: String,
    pub parent_code: Option<String>,
    pub has_shape: bool,
    pub children: u32,
}

impl From<AreaRecord> for AreaDto {
    fn from(record: AreaRecord) -> Self {
        AreaDto {
            code: record.area.code.as_str().to_owned(),
            name: record.area.name,
            level: record.area.level.as_str().to_owned(),
            parent_code: record.area.parent.map(|p| p.as_str().to_owned()),
            has_shape: record.has_shape,
            children: record.children,
        }
    }
}

/// One step of an area path.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PathStep {
    pub code: String,
    pub name: String,
    pub level: String,
}

impl From<&Area> for PathStep {
    fn from(area: &Area) -> Self {
        PathStep {
            code: area.code.as_str().to_owned(),
            name: area.name.clone(),
            level: area.level.as_str().to_owned(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AreaListQuery {
    /// Only children of this area.
    pub parent: Option<String>,
    /// Only this level: city, district, street, community, grid.
    pub level: Option<String>,
    /// Name contains this text.
    pub q: Option<String>,
    /// Page size, 1–1000 (default 100).
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AreaPage {
    pub items: Vec<AreaDto>,
    /// All matches, regardless of paging.
    pub total: u64,
}

fn parse_code(field: &'static str, text: &str) -> ApiResult<AreaCode> {
    AreaCode::canonical(text).map_err(|error| Problem::invalid(field, error.message))
}

/// List areas, filtered by parent, level or name.
#[utoipa::path(get, path = "/api/v1/areas", tag = "areas", params(AreaListQuery),
    responses((status = 200, body = AreaPage), (status = 400, body = crate::problem::ProblemBody)))]
pub async fn list_areas(
    State(state): State<AppState>,
    Query(query): Query<AreaListQuery>,
) -> ApiResult<Json<AreaPage>> {
    let filter = AreaQuery {
        parent: query
            .parent
            .as_deref()
            .map(|p| parse_code("parent", p))
            .transpose()?,
        level: query.level.as_deref().map(AreaLevel::parse).transpose()?,
        name_contains: query.q.filter(|q| !q.trim().is_empty()),
        limit: query.limit.unwrap_or(100),
        offset: query.offset.unwrap_or(0),
    };
    if filter.limit == 0 || filter.limit > cityloop_store::PAGE_ROWS_MAX {
        return Err(Problem::invalid("limit", "limit must be 1–1000"));
    }
    let total = state.store().count_areas(&filter).await?;
    let items = state
        .store()
        .areas(&filter)
        .await?
        .into_iter()
        .map(AreaDto::from)
        .collect();
    Ok(Json(AreaPage { items, total }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AreaDetail {
    #[serde(flatten)]
    pub area: AreaDto,
    /// From the city down to this area.
    pub path: Vec<PathStep>,
}

/// One area and its path from the city.
#[utoipa::path(get, path = "/api/v1/areas/{code}", tag = "areas",
    params(("code" = String, Path, description = "area code")),
    responses((status = 200, body = AreaDetail), (status = 404, body = crate::problem::ProblemBody)))]
pub async fn get_area(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<Json<AreaDetail>> {
    let code = parse_code("code", &code)?;
    let record = state
        .store()
        .area(&code)
        .await?
        .ok_or_else(|| Problem::not_found(format!("area {code} not found")))?;
    let path = state.store().area_path(&code).await?;
    Ok(Json(AreaDetail {
        area: record.into(),
        path: path.iter().map(PathStep::from).collect(),
    }))
}

/// The boundary of one area as a GeoJSON Feature (WGS-84).
#[utoipa::path(get, path = "/api/v1/areas/{code}/shape", tag = "areas",
    params(("code" = String, Path, description = "area code")),
    responses((status = 200, description = "GeoJSON Feature", content_type = "application/geo+json"),
        (status = 404, body = crate::problem::ProblemBody)))]
pub async fn get_area_shape(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<axum::response::Response> {
    let code = parse_code("code", &code)?;
    let record = state
        .store()
        .area(&code)
        .await?
        .ok_or_else(|| Problem::not_found(format!("area {code} not found")))?;
    let geometry = state
        .store()
        .area_shape(&code)
        .await?
        .ok_or_else(|| Problem::not_found(format!("area {code} has no boundary")))?;
    let feature = feature_text(&record.area, &geometry);
    Ok(geo_json_response(feature))
}

fn feature_text(area: &Area, geometry: &str) -> String {
    let properties = serde_json::json!({
        "code": area.code.as_str(),
        "name": area.name,
        "level": area.level.as_str(),
    });
    format!(r#"{{"type":"Feature","properties":{properties},"geometry":{geometry}}}"#)
}

fn geo_json_response(body: String) -> axum::response::Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/geo+json")],
        body,
    )
        .into_response()
}

use axum::response::IntoResponse;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ShapesQuery {
    /// Only boundaries of this level (default: district).
    pub level: Option<String>,
}

/// Boundaries of every area of one level as a GeoJSON FeatureCollection.
#[utoipa::path(get, path = "/api/v1/areas/shapes", tag = "areas", params(ShapesQuery),
    responses((status = 200, description = "GeoJSON FeatureCollection", content_type = "application/geo+json"),
        (status = 400, body = crate::problem::ProblemBody)))]
pub async fn list_shapes(
    State(state): State<AppState>,
    Query(query): Query<ShapesQuery>,
) -> ApiResult<axum::response::Response> {
    let level = match query.level.as_deref() {
        Some(text) => AreaLevel::parse(text)?,
        None => AreaLevel::District,
    };
    let mut features = Vec::new();
    for shape in state.store().area_shapes().await? {
        if shape.level != level {
            continue;
        }
        if let Some(record) = state.store().area(&shape.code).await? {
            features.push(feature_text(&record.area, &shape.geojson));
        }
    }
    Ok(geo_json_response(format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )))
}

/// Replace one area's boundary with a GeoJSON Polygon or MultiPolygon
/// (WGS-84). Admins, or operators whose scope covers the area.
#[utoipa::path(put, path = "/api/v1/areas/{code}/shape", tag = "areas",
    params(("code" = String, Path, description = "area code")),
    request_body(content = serde_json::Value, description = "GeoJSON geometry or Feature"),
    security(("bearer" = [])),
    responses((status = 204), (status = 400, body = crate::problem::ProblemBody),
        (status = 401, body = crate::problem::ProblemBody), (status = 403, body = crate::problem::ProblemBody),
        (status = 404, body = crate::problem::ProblemBody)))]
pub async fn put_area_shape(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> ApiResult<axum::http::StatusCode> {
    let code = parse_code("code", &code)?;
    let path = state.store().area_path(&code).await?;
    if path.is_empty() {
        return Err(Problem::not_found(format!("area {code} not found")));
    }
    let codes: Vec<AreaCode> = path.iter().map(|a| a.code.clone()).collect();
    caller.require(
        caller.0.can_configure_area(&codes),
        &format!("change the boundary of {code}"),
    )?;
    let geometry_value = match body.get("type").and_then(|t| t.as_str()) {
        Some("Feature") => body.get("geometry").cloned().unwrap_or_default(),
        _ => body,
    };
    cityloop_geo::parse_geometry(&geometry_value)
        .map_err(|error| Problem::invalid("geometry", error.to_string()))?;
    state
        .store()
        .set_area_shapes(vec![(code, geometry_value.to_string())])
        .await?;
    state.reload_index().await?;
    state.cases().invalidate_reference_cache();
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The datum of request coordinates; WGS-84 when absent. Errors name `crs`.
pub fn parse_crs(text: Option<&str>) -> ApiResult<Crs> {
    text.unwrap_or("wgs84")
        .parse()
        .map_err(|error: cityloop_geo::GeoError| Problem::invalid("crs", error.to_string()))
}

/// A request's coordinates; the error names `lon` or `lat`, whichever is bad.
pub fn parse_lonlat(lon: f64, lat: f64) -> ApiResult<LonLat> {
    LonLat::new(lon, lat).map_err(|error| {
        let field = match &error {
            cityloop_geo::GeoError::NotFinite { field, .. }
            | cityloop_geo::GeoError::OutOfRange { field, .. } => *field,
            _ => "lon",
        };
        Problem::invalid(field, error.to_string())
    })
}

/// A request's point in any datum, converted to WGS-84.
pub fn parse_point(lon: f64, lat: f64, crs: Option<&str>) -> ApiResult<LonLat> {
    let crs = parse_crs(crs)?;
    Ok(cityloop_geo::to_wgs84(crs, parse_lonlat(lon, lat)?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LocateQuery {
    /// Longitude in degrees.
    pub lon: f64,
    /// Latitude in degrees.
    pub lat: f64,
    /// Datum of the input: wgs84 (default), gcj02 (AMap, Tencent) or bd09 (Baidu).
    pub crs: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Point {
    pub lon: f64,
    pub lat: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LocateResponse {
    pub crs: String,
    pub input: Point,
    /// The point in WGS-84, as stored and indexed.
    pub wgs84: Point,
    /// From the city down to the finest area with a boundary; empty when the
    /// point lies in no known area.
    pub path: Vec<PathStep>,
}

/// Which areas contain a point.
#[utoipa::path(get, path = "/api/v1/locate", tag = "areas", params(LocateQuery),
    responses((status = 200, body = LocateResponse), (status = 400, body = crate::problem::ProblemBody)))]
pub async fn locate(
    State(state): State<AppState>,
    Query(query): Query<LocateQuery>,
) -> ApiResult<Json<LocateResponse>> {
    let crs = parse_crs(query.crs.as_deref())?;
    let input = parse_lonlat(query.lon, query.lat)?;
    let wgs84 = cityloop_geo::to_wgs84(crs, input);
    let path = locate_point(state.store(), &state.index(), wgs84).await?;
    Ok(Json(LocateResponse {
        crs: crs.to_string(),
        input: Point {
            lon: input.lon,
            lat: input.lat,
        },
        wgs84: Point {
            lon: wgs84.lon,
            lat: wgs84.lat,
        },
        path: path.iter().map(PathStep::from).collect(),
    }))
}
