//! Error types.

use std::fmt;

/// A malformed query option.
///
/// `option` names the offending option as it appeared (e.g. `$filter`,
/// `$expand`, or `query` for the query string as a whole). `message` says
/// what was expected and where: positions are 0-based character offsets into
/// the option's decoded value, e.g. `expected ')' at position 17`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{option}: {message}")]
pub struct QueryError {
    /// The option the error is about.
    pub option: String,
    /// What was expected, and at which character position.
    pub message: String,
}

impl QueryError {
    /// Creates an error about `option`.
    pub fn new(option: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            option: option.into(),
            message: message.into(),
        }
    }
}

/// An error while evaluating an expression over an entity (e.g. division by
/// zero, an invalid DE-9IM pattern). The message names the operator or
/// function involved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(pub String);

/// A syntax error inside one option value, before it is attributed to an
/// option: `message` has no position; `pos` is a 0-based character offset.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SyntaxError {
    pub(crate) message: String,
    pub(crate) pos: usize,
}

impl SyntaxError {
    pub(crate) fn new(message: impl Into<String>, pos: usize) -> Self {
        Self {
            message: message.into(),
            pos,
        }
    }

    /// A "expected {what}" error.
    pub(crate) fn expected(what: impl fmt::Display, pos: usize) -> Self {
        Self::new(format!("expected {what}"), pos)
    }

    /// Attributes the error to `option`, shifting its position by `base`
    /// characters and prefixing `context` (may be empty).
    pub(crate) fn into_query_error(self, option: &str, context: &str, base: usize) -> QueryError {
        QueryError::new(
            option,
            format!(
                "{context}{} at position {}",
                self.message,
                base.saturating_add(self.pos)
            ),
        )
    }
}
