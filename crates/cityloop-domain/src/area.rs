//! Areas: the administrative tree city → district → street/town → community →
//! unit grid, identified by the official codes.
//!
//! Codes follow GB/T 2260 (6 digits: province, prefecture, county/district)
//! extended by the statistics bureau (9 digits: street/town, 12 digits:
//! residents' or villagers' committee). Unit grids (万米单元网格) have no
//! national code; a city numbers them under their community, so a grid code is
//! 13–20 digits starting with its community's code.
//!
//! The four municipalities (北京 11, 天津 12, 上海 31, 重庆 50) appear in
//! statistical tables with a "市辖区" grouping (`XX01`, `XX0100`) between the
//! municipality and its districts. It is not a level of government, so the tree
//! omits it: the city is `XX0000` and [`AreaCode::canonical`] maps the
//! grouping's codes onto it.

use crate::{DomainError, required_text};
use std::fmt;

/// The depth of an area in the tree. The order is coarse to fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AreaLevel {
    City,
    District,
    Street,
    Community,
    Grid,
}

impl AreaLevel {
    pub const ALL: [AreaLevel; 5] = [
        AreaLevel::City,
        AreaLevel::District,
        AreaLevel::Street,
        AreaLevel::Community,
        AreaLevel::Grid,
    ];

    /// 0 for the city, 4 for a grid.
    pub fn rank(self) -> u8 {
        self as u8
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AreaLevel::City => "city",
            AreaLevel::District => "district",
            AreaLevel::Street => "street",
            AreaLevel::Community => "community",
            AreaLevel::Grid => "grid",
        }
    }

    pub fn parse(text: &str) -> Result<AreaLevel, DomainError> {
        AreaLevel::ALL
            .into_iter()
            .find(|level| level.as_str() == text.trim())
            .ok_or_else(|| {
                DomainError::new(
                    "level",
                    format!(
                        "unknown level {text:?}; expected one of city, district, street, community, grid"
                    ),
                )
            })
    }

    /// The level a well-formed official code of this length belongs to.
    pub fn of_code(code: &AreaCode) -> AreaLevel {
        let text = code.as_str();
        match text.len() {
            6 if text.ends_with("0000") => AreaLevel::City,
            6 => AreaLevel::District,
            9 => AreaLevel::Street,
            12 => AreaLevel::Community,
            _ => AreaLevel::Grid,
        }
    }
}

impl fmt::Display for AreaLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An official area code: 6, 9 or 12 digits, or 13–20 digits for a grid.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AreaCode(String);

const MUNICIPALITIES: [&str; 4] = ["11", "12", "31", "50"];

impl AreaCode {
    pub fn parse(text: &str) -> Result<AreaCode, DomainError> {
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::new(
                "code",
                format!("area code {text:?} must be digits only"),
            ));
        }
        if !matches!(text.len(), 6 | 9 | 12 | 13..=20) {
            return Err(DomainError::new(
                "code",
                format!(
                    "area code {text:?} has {} digits; expected 6 (GB/T 2260), 9 (street), 12 (community) or 13–20 (grid)",
                    text.len()
                ),
            ));
        }
        Ok(AreaCode(text.to_owned()))
    }

    /// Parses a code as statistical tables write it, mapping the municipal
    /// "市辖区" grouping (`XX01`, `XX0100`) and the 2-digit province form
    /// (`XX`) of a municipality onto the city code `XX0000`.
    pub fn canonical(text: &str) -> Result<AreaCode, DomainError> {
        let trimmed = text.trim();
        let municipality = |prefix: &str| MUNICIPALITIES.contains(&prefix);
        let mapped = match trimmed.len() {
            2 if municipality(trimmed) => format!("{trimmed}0000"),
            4 if trimmed.ends_with("01") && municipality(&trimmed[..2]) => {
                format!("{}0000", &trimmed[..2])
            }
            6 if trimmed.ends_with("0100") && municipality(&trimmed[..2]) => {
                format!("{}0000", &trimmed[..2])
            }
            _ => trimmed.to_owned(),
        };
        AreaCode::parse(&mapped)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `self` is `other` or lies under it by code prefix. This is a
    /// property of official codes; the tree's parent links are authoritative.
    pub fn is_within_by_code(&self, other: &AreaCode) -> bool {
        if AreaLevel::of_code(other) == AreaLevel::City {
            return self.0.starts_with(&other.0[..2]);
        }
        self.0.starts_with(&other.0)
    }
}

impl fmt::Display for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One node of the area tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    pub code: AreaCode,
    pub name: String,
    pub level: AreaLevel,
    /// `None` only for the root (the city).
    pub parent: Option<AreaCode>,
}

impl Area {
    /// Builds an area and checks what can be checked without the rest of the
    /// tree: the name, and that a parent is present exactly when the level is
    /// below the city.
    pub fn new(
        code: AreaCode,
        name: &str,
        level: AreaLevel,
        parent: Option<AreaCode>,
    ) -> Result<Area, DomainError> {
        let name = required_text("name", name, 100)?;
        match (level, &parent) {
            (AreaLevel::City, Some(_)) => {
                return Err(DomainError::new("parent_code", "a city has no parent"));
            }
            (AreaLevel::City, None) => {}
            (_, None) => {
                return Err(DomainError::new(
                    "parent_code",
                    format!("a {level} needs a parent area"),
                ));
            }
            (_, Some(parent)) if parent == &code => {
                return Err(DomainError::new(
                    "parent_code",
                    "an area cannot be its own parent",
                ));
            }
            _ => {}
        }
        Ok(Area {
            code,
            name,
            level,
            parent,
        })
    }

    /// Checks the parent's level: each level sits directly under the one
    /// above it (a grid under a community).
    pub fn check_parent_level(&self, parent_level: AreaLevel) -> Result<(), DomainError> {
        if parent_level.rank() + 1 != self.level.rank() {
            return Err(DomainError::new(
                "parent_code",
                format!(
                    "a {} must sit under a {}, but its parent is a {parent_level}",
                    self.level,
                    AreaLevel::ALL[self.level.rank().saturating_sub(1) as usize]
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_codes_parse_and_have_levels() {
        let cases = [
            ("310000", AreaLevel::City),
            ("310107", AreaLevel::District),
            ("310107015", AreaLevel::Street),
            ("310107015001", AreaLevel::Community),
            ("3101070150010001", AreaLevel::Grid),
        ];
        for (text, level) in cases {
            let code = AreaCode::parse(text).unwrap();
            assert_eq!(AreaLevel::of_code(&code), level, "{text}");
        }
    }

    #[test]
    fn bad_codes_are_refused_with_the_reason() {
        for bad in ["", "31a107", "3101", "31010701", "123456789012345678901"] {
            let error = AreaCode::parse(bad).unwrap_err();
            assert_eq!(error.field, "code", "{bad}");
        }
    }

    #[test]
    fn municipal_grouping_maps_to_the_city() {
        for text in ["31", "3101", "310100"] {
            assert_eq!(AreaCode::canonical(text).unwrap().as_str(), "310000");
        }
        // Not a municipality: 3201 (南京市) stays as it is and is refused.
        assert!(AreaCode::canonical("3201").is_err());
        assert_eq!(AreaCode::canonical("320100").unwrap().as_str(), "320100");
    }

    #[test]
    fn within_by_code() {
        let street = AreaCode::parse("310107015").unwrap();
        assert!(street.is_within_by_code(&AreaCode::parse("310107").unwrap()));
        assert!(street.is_within_by_code(&AreaCode::parse("310000").unwrap()));
        assert!(!street.is_within_by_code(&AreaCode::parse("310101").unwrap()));
    }

    #[test]
    fn parent_rules() {
        let code = AreaCode::parse("310107").unwrap();
        assert!(Area::new(code.clone(), "普陀区", AreaLevel::District, None).is_err());
        let city = AreaCode::parse("310000").unwrap();
        let area = Area::new(code, "普陀区", AreaLevel::District, Some(city)).unwrap();
        assert!(area.check_parent_level(AreaLevel::City).is_ok());
        assert!(area.check_parent_level(AreaLevel::Street).is_err());
    }
}
