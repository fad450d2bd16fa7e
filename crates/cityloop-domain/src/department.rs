//! Departments: the responsible units that handle cases (区城管执法局,
//! 区绿化市容局, 街道办事处, utilities, the city operations centre).

use crate::{AreaCode, DomainError, required_text};
use std::fmt;

/// A stable department id chosen by the city: 2–64 lowercase ASCII letters,
/// digits and `-`, e.g. `310107-cgzf`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DepartmentId(String);

impl DepartmentId {
    pub fn parse(text: &str) -> Result<DepartmentId, DomainError> {
        let text = text.trim();
        let well_formed = (2..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !text.starts_with('-')
            && !text.ends_with('-');
        if !well_formed {
            return Err(DomainError::new(
                "department",
                format!("department id {text:?} must be 2–64 lowercase letters, digits or '-'"),
            ));
        }
        Ok(DepartmentId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DepartmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DepartmentKind {
    /// 城运中心: receives, verifies and dispatches.
    OperationsCentre,
    /// 城管执法: urban management law enforcement.
    Enforcement,
    /// 绿化市容: greening and city appearance.
    Greening,
    /// 建管委: construction and management.
    Construction,
    /// 街道办事处 / 镇政府: the street office or town government.
    StreetOffice,
    /// A utility (water, power, gas, telecom).
    Utility,
    Other,
}

impl DepartmentKind {
    pub const ALL: [DepartmentKind; 7] = [
        DepartmentKind::OperationsCentre,
        DepartmentKind::Enforcement,
        DepartmentKind::Greening,
        DepartmentKind::Construction,
        DepartmentKind::StreetOffice,
        DepartmentKind::Utility,
        DepartmentKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DepartmentKind::OperationsCentre => "operations_centre",
            DepartmentKind::Enforcement => "enforcement",
            DepartmentKind::Greening => "greening",
            DepartmentKind::Construction => "construction",
            DepartmentKind::StreetOffice => "street_office",
            DepartmentKind::Utility => "utility",
            DepartmentKind::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Result<DepartmentKind, DomainError> {
        DepartmentKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text.trim())
            .ok_or_else(|| {
                DomainError::new(
                    "kind",
                    format!(
                        "unknown department kind {text:?}; expected one of {}",
                        DepartmentKind::ALL.map(DepartmentKind::as_str).join(", ")
                    ),
                )
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub id: DepartmentId,
    pub name: String,
    pub kind: DepartmentKind,
    /// The areas the department covers (its jurisdiction); at least one.
    pub areas: Vec<AreaCode>,
    /// A public service phone of the unit (not personal data).
    pub phone: Option<String>,
}

impl Department {
    pub fn new(
        id: DepartmentId,
        name: &str,
        kind: DepartmentKind,
        mut areas: Vec<AreaCode>,
        phone: Option<&str>,
    ) -> Result<Department, DomainError> {
        areas.sort();
        areas.dedup();
        if areas.is_empty() {
            return Err(DomainError::new(
                "areas",
                "a department covers at least one area",
            ));
        }
        let phone = match phone.map(str::trim).filter(|text| !text.is_empty()) {
            Some(text) => Some(required_text("phone", text, 32)?),
            None => None,
        };
        Ok(Department {
            id,
            name: required_text("name", name, 100)?,
            kind,
            areas,
            phone,
        })
    }
}
