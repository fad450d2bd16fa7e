//! The bundled reference data (see `data/README.md` for sources and
//! licences): Shanghai's divisions and district boundaries, the GB/T
//! 47678.5-2026 directory, local categories, the official holiday calendars,
//! and the demo's departments and responsibility list.
//!
//! They are compiled in, so the binary runs anywhere without the repository;
//! every file is loaded through the same importer a city uses for its own
//! files.

use crate::{Format, ImportError, ImportReport, Progress};
use cityloop_store::Store;

pub const SHANGHAI_DIVISIONS_CSV: &str =
    include_str!("../../../data/shanghai-divisions-nbs2023.csv");
pub const SHANGHAI_DISTRICTS_GEOJSON: &str =
    include_str!("../../../data/shanghai-districts-wgs84.geojson");
pub const GBT_47678_5_CSV: &str = include_str!("../../../data/gbt47678.5-2026-categories.csv");
pub const LOCAL_CATEGORIES_CSV: &str = include_str!("../../../data/local-categories.csv");
pub const DEMO_DEPARTMENTS_CSV: &str = include_str!("../../../data/demo/departments.csv");
pub const DEMO_RESPONSIBILITIES_CSV: &str = include_str!("../../../data/demo/responsibilities.csv");

/// The official calendars shipped with the binary, one text per year.
pub const HOLIDAY_CN: &[&str] = &[
    include_str!("../../../data/holiday-cn/2023.json"),
    include_str!("../../../data/holiday-cn/2024.json"),
    include_str!("../../../data/holiday-cn/2025.json"),
    include_str!("../../../data/holiday-cn/2026.json"),
];

/// What loading the city wrote, step by step.
pub struct CityReport {
    pub steps: Vec<(&'static str, ImportReport)>,
}

/// Loads the real Shanghai model (areas, boundaries, national and local
/// categories). Idempotent: a second load updates in place.
pub async fn load_shanghai(
    store: &dyn Store,
    progress: &dyn Progress,
) -> Result<CityReport, ImportError> {
    let mut steps = Vec::new();
    steps.push((
        "areas",
        crate::import_areas(store, SHANGHAI_DIVISIONS_CSV, Format::Csv, progress).await?,
    ));
    steps.push((
        "boundaries",
        crate::import_area_shapes(store, SHANGHAI_DISTRICTS_GEOJSON, progress).await?,
    ));
    steps.push((
        "categories (GB/T 47678.5-2026)",
        crate::import_categories(store, GBT_47678_5_CSV, Format::Csv, progress).await?,
    ));
    steps.push((
        "categories (local)",
        crate::import_categories(store, LOCAL_CATEGORIES_CSV, Format::Csv, progress).await?,
    ));
    Ok(CityReport { steps })
}

/// Loads the demo's departments and responsibility list for Huangpu and
/// Putuo (labelled 演示 / demo in every name).
pub async fn load_demo_directory(
    store: &dyn Store,
    progress: &dyn Progress,
) -> Result<CityReport, ImportError> {
    let mut steps = Vec::new();
    steps.push((
        "departments (demo)",
        crate::import_departments(store, DEMO_DEPARTMENTS_CSV, Format::Csv, progress).await?,
    ));
    steps.push((
        "responsibility list (demo)",
        crate::import_responsibilities(store, DEMO_RESPONSIBILITIES_CSV, Format::Csv, progress)
            .await?,
    ));
    Ok(CityReport { steps })
}
