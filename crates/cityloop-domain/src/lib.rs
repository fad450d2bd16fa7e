//! The types of the city: areas, departments, categories, the responsibility
//! list, users and roles.
//!
//! Key design decision: every type here is *parsed, not validated* — a value of
//! [`AreaCode`], [`DepartmentId`], [`CategoryCode`] or [`Role`] is valid by
//! construction, so the store, the API and the importers never re-check it.
//! Nothing here does IO, is async, or knows a wire format: domain types do not
//! derive `Serialize`; each boundary (API DTOs, DB rows, import files) owns its
//! own encoding and converts through the constructors below.

pub mod area;
pub mod category;
pub mod department;
pub mod privacy;
pub mod responsibility;
pub mod user;

pub use area::{Area, AreaCode, AreaLevel};
pub use category::{Category, CategoryCode, CategoryKind, GBT_47678_5};
pub use department::{Department, DepartmentId, DepartmentKind};
pub use privacy::mask_personal_numbers;
pub use responsibility::{CategorySelector, Responsibility, resolve_responsibility};
pub use user::{NewUser, Role, Scope, User, UserId, mask_contact, mask_phone};

/// A value that failed to parse. `field` names the input field, so every
/// boundary can report it (RFC 7807 `field`, CLI line and column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DomainError {
    pub field: &'static str,
    pub message: String,
}

impl DomainError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        DomainError {
            field,
            message: message.into(),
        }
    }
}

/// Trims a required text field and bounds its length (in characters).
pub(crate) fn required_text(
    field: &'static str,
    value: &str,
    max_chars: usize,
) -> Result<String, DomainError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(DomainError::new(field, "must not be empty"));
    }
    let chars = trimmed.chars().count();
    if chars > max_chars {
        return Err(DomainError::new(
            field,
            format!("is {chars} characters long; at most {max_chars} are allowed"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(DomainError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}
