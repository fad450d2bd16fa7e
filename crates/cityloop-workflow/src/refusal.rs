//! [`Refusal`]: why [`crate::decide`] did not accept a command. Every message
//! names what is wrong in words an operator understands; a refusal for the
//! wrong state lists the actions the state does allow.

use cityloop_calendar::CalendarError;
use cityloop_domain::{CategoryCode, DepartmentId};

use crate::sla::Stage;

/// A refused command. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The case's state does not allow the action.
    #[error("cannot {action} a case that is {status}; {}", allowed_text(allowed))]
    NotAllowedInState {
        action: &'static str,
        status: &'static str,
        /// The actions the state allows (state-only view, see
        /// [`crate::allowed_actions`]).
        allowed: Vec<&'static str>,
    },

    /// The actor's role may never do this (here).
    #[error("the {role} role may not {action}")]
    RoleNotAllowed {
        action: &'static str,
        /// A role name, or `system` for the system actor.
        role: &'static str,
    },

    /// The role may do this, but not on this case.
    #[error("cannot {action} this case: {why}")]
    OutOfScope {
        action: &'static str,
        why: &'static str,
    },

    /// A field of the command is invalid.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },

    /// The unit was ruled responsible by an arbitration and tried to return
    /// the case.
    #[error("arbitrated: the unit must handle it ({unit} was ruled responsible)")]
    Arbitrated { unit: DepartmentId },

    /// `register` without the category's registration criteria (立案条件)
    /// confirmed.
    #[error(
        "the registration criteria (立案条件) of category {category} are not confirmed met; the case cannot be registered"
    )]
    CriteriaNotMet { category: CategoryCode },

    /// A deadline could not be computed, typically because the next year's
    /// official calendar is not loaded yet.
    #[error("cannot compute the {stage} deadline: {source}")]
    Clock {
        stage: Stage,
        #[source]
        source: CalendarError,
    },
}

fn allowed_text(allowed: &[&'static str]) -> String {
    if allowed.is_empty() {
        "the case is finished and accepts no further actions".to_owned()
    } else {
        format!("allowed in this state: {}", allowed.join(", "))
    }
}

impl Refusal {
    /// The command field a refusal is about, if any (for RFC 7807 `field`).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Refusal::Invalid { field, .. } => Some(field),
            Refusal::CriteriaNotMet { .. } => Some("criteria_met"),
            _ => None,
        }
    }
}
