//! Who issues a command: a user with one role, bound to a department or to
//! areas, or the system itself.
//!
//! Role mapping of the loop (see the crate documentation):
//! [`Role::Operator`] = 城运中心 dispatcher; [`Role::Handler`] /
//! [`Role::DeptLead`] = a unit's staff; [`Role::Supervisor`] = 监督员, which
//! is also the grid inspector (网格员) who verifies, checks on site and
//! self-handles; [`Role::Citizen`] = the reporter.
//!
//! Scope: operators and supervisors act only on cases whose area path
//! contains one of their areas; admins act everywhere; handlers and
//! department leads act only where their department is the lead unit (or a
//! co-unit, for notes); a citizen only on the case they reported.

use crate::case::CaseId;
use cityloop_domain::{AreaCode, DepartmentId, Role, User, UserId};

/// The issuer of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `None` is the system (timers, automatic supervision).
    pub user: Option<UserId>,
    pub role: Role,
    pub department: Option<DepartmentId>,
    pub areas: Vec<AreaCode>,
    /// The case whose receipt this actor presented: an anonymous reporter
    /// proves being the reporter of that case (and of no other) with it.
    pub receipt: Option<CaseId>,
}

impl Actor {
    /// The system: no user. Its role is irrelevant; [`crate::decide`] lets
    /// the system only urge and supervise (everywhere).
    pub fn system() -> Actor {
        Actor {
            user: None,
            role: Role::Admin,
            department: None,
            areas: Vec::new(),
            receipt: None,
        }
    }

    /// The reporter of `case`, proven by the receipt (no account needed).
    pub fn receipt_holder(case: CaseId) -> Actor {
        Actor {
            user: None,
            role: Role::Citizen,
            department: None,
            areas: Vec::new(),
            receipt: Some(case),
        }
    }

    /// The actor for a signed-in user.
    pub fn from_user(user: &User) -> Actor {
        Actor {
            user: Some(user.id),
            role: user.role,
            department: user.department.clone(),
            areas: user.areas.clone(),
            receipt: None,
        }
    }

    pub fn is_system(&self) -> bool {
        self.user.is_none() && self.receipt.is_none()
    }

    /// True when `area_path` contains one of the actor's areas.
    pub fn covers(&self, area_path: &[AreaCode]) -> bool {
        area_path.iter().any(|code| self.areas.contains(code))
    }

    /// True when the actor belongs to `department`.
    pub fn is_member_of(&self, department: &DepartmentId) -> bool {
        self.department.as_ref() == Some(department)
    }
}
