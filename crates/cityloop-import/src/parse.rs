//! Parsing files into located domain values: two steps, as ripgrep does with
//! its configuration — raw rows (serde, unknown columns refused) first, then
//! typed domain values through their constructors.

use crate::{ImportError, Located, Origin, Progress};
use cityloop_domain::{
    Area, AreaCode, AreaLevel, Category, CategoryKind, CategorySelector, Department, DepartmentId,
    DepartmentKind, DomainError, GBT_47678_5, Responsibility,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::collections::HashSet;

/// The format of a reference file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    GeoJson,
}

impl Format {
    /// Decides by the file name's extension.
    pub fn from_file_name(name: &str) -> Result<Format, ImportError> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Ok(Format::Csv)
        } else if lower.ends_with(".geojson") {
            Ok(Format::GeoJson)
        } else if lower.ends_with(".json") {
            Ok(Format::Json)
        } else {
            Err(ImportError::File(format!(
                "{name}: unknown file type; use .csv, .json or .geojson"
            )))
        }
    }
}

/// Records to report progress for in one step.
const PROGRESS_STEP_ROWS: u64 = 500;

/// The 1-based line at which `inner` (a slice of `text`) starts.
fn line_of(text: &str, inner: &str) -> u64 {
    let offset = (inner.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1
}

fn json_error(error: serde_json::Error) -> ImportError {
    ImportError::Row {
        line: error.line() as u64,
        field: "json".into(),
        message: error.to_string(),
    }
}

/// Reads raw rows with their line numbers from CSV (header row first) or a
/// JSON array of objects.
fn raw_rows<R: DeserializeOwned>(
    text: &str,
    format: Format,
    progress: &dyn Progress,
) -> Result<Vec<(u64, R)>, ImportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    match format {
        Format::Csv => {
            let total = text.lines().count().saturating_sub(1) as u64;
            progress.start("parsing", total);
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(text.as_bytes());
            let headers = reader
                .headers()
                .map_err(|e| ImportError::File(format!("line 1: header: {e}")))?
                .clone();
            let mut record = csv::StringRecord::new();
            loop {
                match reader.read_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {}
                    Err(error) => {
                        let line = error.position().map_or(0, |p| p.line());
                        return Err(ImportError::Row {
                            line,
                            field: "csv".into(),
                            message: error.to_string(),
                        });
                    }
                }
                let line = record.position().map_or(0, |p| p.line());
                let row: R = record.deserialize(Some(&headers)).map_err(|error| {
                    let message = match error.kind() {
                        csv::ErrorKind::Deserialize { err, .. } => {
                            let column = err
                                .field()
                                .and_then(|i| headers.get(i as usize))
                                .map(|name| format!("column {name}: "))
                                .unwrap_or_default();
                            format!("{column}{}", err.kind())
                        }
                        _ => error.to_string(),
                    };
                    ImportError::Row {
                        line,
                        field: "csv".into(),
                        message,
                    }
                })?;
                rows.push((line, row));
                if (rows.len() as u64).is_multiple_of(PROGRESS_STEP_ROWS) {
                    progress.advance(rows.len() as u64);
                }
            }
        }
        Format::Json | Format::GeoJson => {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(json_error)?;
            progress.start("parsing", items.len() as u64);
            for item in items {
                let line = line_of(text, item.get());
                let row: R =
                    serde_json::from_str(item.get()).map_err(|error| ImportError::Row {
                        line: line + error.line() as u64 - 1,
                        field: "json".into(),
                        message: error.to_string(),
                    })?;
                rows.push((line, row));
                if (rows.len() as u64).is_multiple_of(PROGRESS_STEP_ROWS) {
                    progress.advance(rows.len() as u64);
                }
            }
        }
    }
    progress.advance(rows.len() as u64);
    progress.finish();
    Ok(rows)
}

fn located<T>(line: u64, value: Result<T, DomainError>) -> Result<Located<T>, ImportError> {
    value
        .map(|value| Located {
            origin: Origin { line },
            value,
        })
        .map_err(|error| ImportError::row(line, error))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AreaRow {
    level: String,
    code: String,
    name: String,
    #[serde(default)]
    parent_code: Option<String>,
}

fn optional_code(text: Option<&str>) -> Result<Option<AreaCode>, DomainError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => AreaCode::canonical(text)
            .map(Some)
            .map_err(|e| DomainError::new("parent_code", e.message)),
        None => Ok(None),
    }
}

/// Areas, with the statistical tables' quirks handled: a municipality's
/// `province` row is the city, and its "市辖区" grouping row (which maps to
/// the same canonical code) is skipped; other provinces' rows are skipped.
pub(crate) fn areas(
    text: &str,
    format: Format,
    progress: &dyn Progress,
) -> Result<Vec<Located<Area>>, ImportError> {
    let mut defined = HashSet::new();
    let mut areas = Vec::new();
    for (line, row) in raw_rows::<AreaRow>(text, format, progress)? {
        let level_text = row.level.trim();
        let code = AreaCode::canonical(&row.code).map_err(|e| ImportError::row(line, e))?;
        let aliased = code.as_str() != row.code.trim();
        if aliased && defined.contains(&code) {
            continue;
        }
        let level = match level_text {
            "province" if AreaLevel::of_code(&code) == AreaLevel::City => AreaLevel::City,
            "province" => continue,
            other => AreaLevel::parse(other).map_err(|e| ImportError::row(line, e))?,
        };
        let parent =
            optional_code(row.parent_code.as_deref()).map_err(|e| ImportError::row(line, e))?;
        let parent = if level == AreaLevel::City {
            None
        } else {
            parent
        };
        defined.insert(code.clone());
        areas.push(located(line, Area::new(code, &row.name, level, parent))?);
    }
    if areas.is_empty() {
        return Err(ImportError::File("the file has no areas".into()));
    }
    Ok(areas)
}

/// One GeoJSON feature: the area's code, its validated geometry as compact
/// GeoJSON text, and the area to create if it does not exist yet.
pub(crate) struct ShapeFeature {
    pub code: AreaCode,
    pub geometry: String,
    pub new_area: Option<Area>,
}

#[derive(Deserialize)]
struct FeatureCollection<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow)]
    features: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Feature {
    #[serde(default)]
    properties: Option<serde_json::Map<String, serde_json::Value>>,
    geometry: Option<serde_json::Value>,
}

fn property_text(
    properties: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<String> {
    match properties.get(key)? {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

pub(crate) fn shapes(
    text: &str,
    progress: &dyn Progress,
) -> Result<Vec<Located<ShapeFeature>>, ImportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let collection: FeatureCollection<'_> = serde_json::from_str(text).map_err(json_error)?;
    if collection.kind != "FeatureCollection" {
        return Err(ImportError::File(format!(
            "expected a GeoJSON FeatureCollection, found type {:?}",
            collection.kind
        )));
    }
    progress.start("checking boundaries", collection.features.len() as u64);
    let mut features = Vec::new();
    for (index, raw) in collection.features.iter().enumerate() {
        let line = line_of(text, raw.get());
        let feature: Feature =
            serde_json::from_str(raw.get()).map_err(|error| ImportError::Row {
                line,
                field: "feature".into(),
                message: error.to_string(),
            })?;
        let properties = feature.properties.unwrap_or_default();
        let Some(code_text) = property_text(&properties, "code") else {
            return Err(ImportError::Row {
                line,
                field: "properties.code".into(),
                message: format!("feature {index} has no area code"),
            });
        };
        let code = AreaCode::canonical(&code_text).map_err(|e| ImportError::Row {
            line,
            field: "properties.code".into(),
            message: e.message,
        })?;
        let Some(geometry) = feature.geometry else {
            return Err(ImportError::Row {
                line,
                field: "geometry".into(),
                message: format!("feature {index} ({code}) has no geometry"),
            });
        };
        cityloop_geo::parse_geometry(&geometry).map_err(|error| ImportError::Row {
            line,
            field: "geometry".into(),
            message: format!("feature {index} ({code}): {error}"),
        })?;
        let new_area = match (
            property_text(&properties, "name"),
            property_text(&properties, "level"),
        ) {
            (Some(name), Some(level)) => {
                let level = AreaLevel::parse(&level).map_err(|e| ImportError::row(line, e))?;
                let parent = optional_code(property_text(&properties, "parent_code").as_deref())
                    .map_err(|e| ImportError::row(line, e))?;
                Some(
                    Area::new(code.clone(), &name, level, parent)
                        .map_err(|e| ImportError::row(line, e))?,
                )
            }
            _ => None,
        };
        features.push(Located {
            origin: Origin { line },
            value: ShapeFeature {
                code,
                geometry: geometry.to_string(),
                new_area,
            },
        });
        progress.advance(index as u64 + 1);
    }
    progress.finish();
    if features.is_empty() {
        return Err(ImportError::File("the collection has no features".into()));
    }
    Ok(features)
}

/// A list of area codes: a JSON array, or in CSV one text with `;` between
/// the codes (csv may hand a lone code over as a number).
enum CodeList {
    List(Vec<String>),
    Text(String),
}

impl<'de> Deserialize<'de> for CodeList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = CodeList;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("area codes separated by ';', or a list of area codes")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<CodeList, E> {
                Ok(CodeList::Text(text.to_owned()))
            }
            fn visit_u64<E: serde::de::Error>(self, number: u64) -> Result<CodeList, E> {
                Ok(CodeList::Text(number.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, number: i64) -> Result<CodeList, E> {
                Ok(CodeList::Text(number.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<CodeList, A::Error> {
                let mut codes = Vec::new();
                while let Some(code) = seq.next_element::<String>()? {
                    codes.push(code);
                }
                Ok(CodeList::List(codes))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl CodeList {
    fn codes(&self) -> Vec<String> {
        match self {
            CodeList::List(list) => list.clone(),
            CodeList::Text(text) => text
                .split([';', '；', ' '])
                .filter(|t| !t.trim().is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepartmentRow {
    id: String,
    name: String,
    kind: String,
    areas: CodeList,
    #[serde(default)]
    phone: Option<String>,
}

pub(crate) fn departments(
    text: &str,
    format: Format,
    progress: &dyn Progress,
) -> Result<Vec<Located<Department>>, ImportError> {
    raw_rows::<DepartmentRow>(text, format, progress)?
        .into_iter()
        .map(|(line, row)| {
            let department = (|| {
                let areas = row
                    .areas
                    .codes()
                    .iter()
                    .map(|code| {
                        AreaCode::canonical(code).map_err(|e| DomainError::new("areas", e.message))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Department::new(
                    DepartmentId::parse(&row.id).map_err(|e| DomainError::new("id", e.message))?,
                    &row.name,
                    DepartmentKind::parse(&row.kind)?,
                    areas,
                    row.phone.as_deref(),
                )
            })();
            located(line, department)
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryRow {
    code: String,
    kind: String,
    class_code: String,
    class_name: String,
    name: String,
    #[serde(default)]
    standard: Option<String>,
}

pub(crate) fn categories(
    text: &str,
    format: Format,
    progress: &dyn Progress,
) -> Result<Vec<Located<Category>>, ImportError> {
    raw_rows::<CategoryRow>(text, format, progress)?
        .into_iter()
        .map(|(line, row)| {
            let category = CategoryKind::parse(&row.kind).and_then(|kind| {
                let standard = row.standard.clone().unwrap_or_else(|| match kind {
                    CategoryKind::Local => "local".to_owned(),
                    _ => GBT_47678_5.to_owned(),
                });
                Category::new(
                    kind,
                    &row.code,
                    &row.class_code,
                    &row.class_name,
                    &row.name,
                    &standard,
                )
            });
            located(line, category)
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponsibilityRow {
    category: String,
    area_code: String,
    department: String,
    #[serde(default)]
    basis: Option<String>,
}

pub(crate) fn responsibilities(
    text: &str,
    format: Format,
    progress: &dyn Progress,
) -> Result<Vec<Located<Responsibility>>, ImportError> {
    raw_rows::<ResponsibilityRow>(text, format, progress)?
        .into_iter()
        .map(|(line, row)| {
            let responsibility = (|| {
                Ok(Responsibility {
                    category: CategorySelector::parse(&row.category)?,
                    area: AreaCode::canonical(&row.area_code)
                        .map_err(|e| DomainError::new("area_code", e.message))?,
                    department: DepartmentId::parse(&row.department)?,
                    basis: row
                        .basis
                        .as_deref()
                        .map(str::trim)
                        .filter(|b| !b.is_empty())
                        .map(str::to_owned),
                })
            })();
            located(line, responsibility)
        })
        .collect()
}
