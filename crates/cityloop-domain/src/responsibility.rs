//! The responsibility list (权责清单): (category, area) → department,
//! inherited down the area tree.
//!
//! A row names a category selector (one code, a 2-digit class of the national
//! directory, or any category) and an area. For a case of category `c` at an
//! area path (city first), the answer is taken from the *finest* area on the
//! path that has a matching row; at that area the most specific selector wins
//! (code over class over any). The store keeps `(selector, area)` unique, so
//! the answer is exactly one department or, explicitly, none.

use crate::{AreaCode, CategoryCode, DepartmentId, DomainError};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CategorySelector {
    /// One case category (a matter or a local code).
    Code(CategoryCode),
    /// Every matter of a national class, e.g. `06` 市容环境类.
    Class(String),
    /// Every category.
    Any,
}

impl CategorySelector {
    /// `*` for any, `class:06` for a class, otherwise a case category code.
    pub fn parse(text: &str) -> Result<CategorySelector, DomainError> {
        let text = text.trim();
        if text == "*" {
            return Ok(CategorySelector::Any);
        }
        if let Some(class) = text.strip_prefix("class:") {
            if class.len() != 2 || !class.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DomainError::new(
                    "category",
                    format!("class {class:?} must be a 2-digit GB/T 47678.5 class"),
                ));
            }
            return Ok(CategorySelector::Class(class.to_owned()));
        }
        let (_, code) = CategoryCode::parse_case_category(text)
            .map_err(|error| DomainError::new("category", error.message))?;
        Ok(CategorySelector::Code(code))
    }

    /// Higher is more specific.
    pub fn specificity(&self) -> u8 {
        match self {
            CategorySelector::Code(_) => 2,
            CategorySelector::Class(_) => 1,
            CategorySelector::Any => 0,
        }
    }

    pub fn matches(&self, category: &CategoryCode) -> bool {
        match self {
            CategorySelector::Code(code) => code == category,
            CategorySelector::Class(class) => category.class() == Some(class.as_str()),
            CategorySelector::Any => true,
        }
    }
}

impl fmt::Display for CategorySelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CategorySelector::Code(code) => write!(f, "{code}"),
            CategorySelector::Class(class) => write!(f, "class:{class}"),
            CategorySelector::Any => f.write_str("*"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Responsibility {
    pub category: CategorySelector,
    pub area: AreaCode,
    pub department: DepartmentId,
    /// The legal or 权责清单 basis, e.g. "《上海市市容环境卫生管理条例》第…条".
    pub basis: Option<String>,
}

/// Picks the responsible row for `category` along `area_path` (city first).
/// Returns `None` when no row on the path matches: "no one configured".
pub fn resolve_responsibility<'a>(
    category: &CategoryCode,
    area_path: &[AreaCode],
    rows: &'a [Responsibility],
) -> Option<&'a Responsibility> {
    area_path.iter().rev().find_map(|area| {
        rows.iter()
            .filter(|row| &row.area == area && row.category.matches(category))
            .max_by_key(|row| row.category.specificity())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CategoryKind;

    fn row(selector: &str, area: &str, department: &str) -> Responsibility {
        Responsibility {
            category: CategorySelector::parse(selector).unwrap(),
            area: AreaCode::parse(area).unwrap(),
            department: DepartmentId::parse(department).unwrap(),
            basis: None,
        }
    }

    fn path(codes: &[&str]) -> Vec<AreaCode> {
        codes.iter().map(|c| AreaCode::parse(c).unwrap()).collect()
    }

    #[test]
    fn finest_area_then_most_specific_selector_wins() {
        let rows = vec![
            row("*", "310000", "city-ops"),
            row("class:06", "310107", "putuo-cgzf"),
            row("06010", "310107", "putuo-lhsr"),
            row("class:06", "310107015", "changshou-jd"),
        ];
        let garbage = CategoryCode::parse(CategoryKind::Matter, "06010").unwrap();
        let lamp = CategoryCode::parse(CategoryKind::Matter, "01030").unwrap();
        let district = path(&["310000", "310107"]);
        let street = path(&["310000", "310107", "310107015"]);
        let other_district = path(&["310000", "310101"]);

        let pick = |code: &CategoryCode, p: &[AreaCode]| {
            resolve_responsibility(code, p, &rows).map(|r| r.department.as_str().to_owned())
        };
        assert_eq!(pick(&garbage, &district).as_deref(), Some("putuo-lhsr"));
        assert_eq!(pick(&garbage, &street).as_deref(), Some("changshou-jd"));
        assert_eq!(pick(&lamp, &district).as_deref(), Some("city-ops"));
        assert_eq!(pick(&lamp, &other_district).as_deref(), Some("city-ops"));
        assert_eq!(resolve_responsibility(&lamp, &district, &rows[1..]), None);
    }

    #[test]
    fn selector_round_trips() {
        for text in ["*", "class:06", "06010", "H01"] {
            assert_eq!(CategorySelector::parse(text).unwrap().to_string(), text);
        }
        assert!(CategorySelector::parse("class:6").is_err());
    }
}
