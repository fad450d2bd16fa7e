//! Categories of city problems: the national directory GB/T 47678.5-2026
//! (管理部件 components and 管理事项 matters) plus local categories a city adds.
//!
//! In the standard a component and its "…异常" matter share one 5-digit code
//! (`01001` 供水井盖 / 供水井盖异常), so a category is identified by
//! `(kind, code)`. Cases are always filed under a *matter* or a *local*
//! category; components are the catalogue of managed things. Local codes must
//! not look like standard codes (5 digits), so matter and local codes never
//! collide and a case's category code alone is unambiguous.

use crate::{DomainError, required_text};
use std::fmt;

/// The standard reference stored with every national code.
pub const GBT_47678_5: &str = "GB/T 47678.5-2026";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CategoryKind {
    /// 管理部件: a managed component (a manhole cover, a street lamp).
    Component,
    /// 管理事项: a matter (a problem with a component, or an event).
    Matter,
    /// A city's own category (e.g. the 12345 hotline classes).
    Local,
}

impl CategoryKind {
    pub const ALL: [CategoryKind; 3] = [
        CategoryKind::Component,
        CategoryKind::Matter,
        CategoryKind::Local,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CategoryKind::Component => "component",
            CategoryKind::Matter => "matter",
            CategoryKind::Local => "local",
        }
    }

    /// Accepts the English names and the standard's own words.
    pub fn parse(text: &str) -> Result<CategoryKind, DomainError> {
        match text.trim() {
            "component" | "管理部件" => Ok(CategoryKind::Component),
            "matter" | "管理事项" => Ok(CategoryKind::Matter),
            "local" => Ok(CategoryKind::Local),
            other => Err(DomainError::new(
                "kind",
                format!(
                    "unknown kind {other:?}; expected component (管理部件), matter (管理事项) or local"
                ),
            )),
        }
    }

    /// True for the kinds a case can be filed under.
    pub fn is_case_category(self) -> bool {
        !matches!(self, CategoryKind::Component)
    }
}

impl fmt::Display for CategoryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A category code: 5 digits for the national directory, or a local code of
/// 2–32 letters, digits, `-`, `_` or `.` that is not 5 digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CategoryCode(String);

impl CategoryCode {
    pub fn parse(kind: CategoryKind, text: &str) -> Result<CategoryCode, DomainError> {
        let text = text.trim();
        let standard_shape = text.len() == 5 && text.bytes().all(|b| b.is_ascii_digit());
        match kind {
            CategoryKind::Component | CategoryKind::Matter if !standard_shape => {
                Err(DomainError::new(
                    "code",
                    format!("{text:?} is not a GB/T 47678.5 code (2-digit class + 3-digit item)"),
                ))
            }
            CategoryKind::Local if standard_shape => Err(DomainError::new(
                "code",
                format!("local code {text:?} would collide with the national 5-digit codes"),
            )),
            CategoryKind::Local
                if !(2..=32).contains(&text.len())
                    || !text
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) =>
            {
                Err(DomainError::new(
                    "code",
                    format!("local code {text:?} must be 2–32 letters, digits, '-', '_' or '.'"),
                ))
            }
            _ => Ok(CategoryCode(text.to_owned())),
        }
    }

    /// Parses a code a case is filed under: the shape decides the kind.
    pub fn parse_case_category(text: &str) -> Result<(CategoryKind, CategoryCode), DomainError> {
        let trimmed = text.trim();
        let kind = if trimmed.len() == 5 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
            CategoryKind::Matter
        } else {
            CategoryKind::Local
        };
        Ok((kind, CategoryCode::parse(kind, trimmed)?))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 2-digit class of a national code; `None` for local codes.
    pub fn class(&self) -> Option<&str> {
        (self.0.len() == 5 && self.0.bytes().all(|b| b.is_ascii_digit())).then(|| &self.0[..2])
    }
}

impl fmt::Display for CategoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub kind: CategoryKind,
    pub code: CategoryCode,
    pub class_code: String,
    pub class_name: String,
    pub name: String,
    /// The standard the code comes from (e.g. [`GBT_47678_5`]) or `local`.
    pub standard: String,
}

impl Category {
    pub fn new(
        kind: CategoryKind,
        code: &str,
        class_code: &str,
        class_name: &str,
        name: &str,
        standard: &str,
    ) -> Result<Category, DomainError> {
        let code = CategoryCode::parse(kind, code)?;
        let class_code = required_text("class_code", class_code, 16)?;
        if let Some(class) = code.class()
            && class != class_code
        {
            return Err(DomainError::new(
                "class_code",
                format!("class {class_code:?} does not match code {code} (class {class})"),
            ));
        }
        Ok(Category {
            kind,
            code,
            class_code,
            class_name: required_text("class_name", class_name, 100)?,
            name: required_text("name", name, 200)?,
            standard: required_text("standard", standard, 100)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_and_local_codes_never_collide() {
        assert!(CategoryCode::parse(CategoryKind::Matter, "06010").is_ok());
        assert!(CategoryCode::parse(CategoryKind::Matter, "0601").is_err());
        assert!(CategoryCode::parse(CategoryKind::Local, "06010").is_err());
        assert!(CategoryCode::parse(CategoryKind::Local, "H01").is_ok());
        assert!(CategoryCode::parse(CategoryKind::Local, "H 01").is_err());
        let (kind, _) = CategoryCode::parse_case_category("06010").unwrap();
        assert_eq!(kind, CategoryKind::Matter);
        let (kind, _) = CategoryCode::parse_case_category("H03").unwrap();
        assert_eq!(kind, CategoryKind::Local);
    }

    #[test]
    fn class_must_match_code() {
        let error = Category::new(
            CategoryKind::Matter,
            "06010",
            "07",
            "市容环境类",
            "暴露垃圾",
            GBT_47678_5,
        )
        .unwrap_err();
        assert_eq!(error.field, "class_code");
    }
}
