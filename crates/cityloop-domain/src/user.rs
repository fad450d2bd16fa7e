//! Users, roles and scopes, and the access policy that every endpoint asks.
//!
//! A user has exactly one role. Staff roles are bound to a department
//! (handler, department lead) or to areas (operator, supervisor); the policy
//! methods on [`User`] are the only place that decides who may do what, so the
//! API's role × endpoint matrix test exercises one table of rules.

use crate::{AreaCode, DepartmentId, DomainError, required_text};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A member of the public with an account.
    Citizen,
    /// 城运中心 dispatcher: verifies, dispatches and arbitrates in its areas.
    Operator,
    /// A department's case handler.
    Handler,
    /// A department's lead: manages its handlers, approves extensions.
    DeptLead,
    /// Supervises (督办) in its areas.
    Supervisor,
    /// Reads everything, changes nothing; personal data stays masked.
    Auditor,
    /// Configures the city.
    Admin,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Citizen,
        Role::Operator,
        Role::Handler,
        Role::DeptLead,
        Role::Supervisor,
        Role::Auditor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Citizen => "citizen",
            Role::Operator => "operator",
            Role::Handler => "handler",
            Role::DeptLead => "dept_lead",
            Role::Supervisor => "supervisor",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Result<Role, DomainError> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text.trim())
            .ok_or_else(|| {
                DomainError::new(
                    "role",
                    format!(
                        "unknown role {text:?}; expected one of {}",
                        Role::ALL.map(Role::as_str).join(", ")
                    ),
                )
            })
    }

    pub fn is_staff(self) -> bool {
        self != Role::Citizen
    }

    fn needs_department(self) -> bool {
        matches!(self, Role::Handler | Role::DeptLead)
    }

    fn needs_areas(self) -> bool {
        matches!(self, Role::Operator | Role::Supervisor)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A store-assigned user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a user's authority reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Admin and auditor: the whole city.
    City,
    /// Operator and supervisor: these areas and everything under them.
    Areas(Vec<AreaCode>),
    /// Handler and department lead: the department's own work.
    Department(DepartmentId),
    /// A citizen: their own reports only.
    Own,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub department: Option<DepartmentId>,
    pub areas: Vec<AreaCode>,
    /// Personal data: shown in full only to the user and to admins.
    pub phone: Option<String>,
}

/// What a new user is made of, checked against the role's binding rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub department: Option<DepartmentId>,
    pub areas: Vec<AreaCode>,
    pub phone: Option<String>,
}

impl NewUser {
    pub fn new(
        username: &str,
        display_name: &str,
        role: Role,
        department: Option<DepartmentId>,
        mut areas: Vec<AreaCode>,
        phone: Option<&str>,
    ) -> Result<NewUser, DomainError> {
        let username = required_text("username", username, 64)?;
        if !username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(DomainError::new(
                "username",
                "use letters, digits, '.', '_' or '-'",
            ));
        }
        if role.needs_department() && department.is_none() {
            return Err(DomainError::new(
                "department",
                format!("a {role} belongs to a department"),
            ));
        }
        if role == Role::Citizen && (department.is_some() || !areas.is_empty()) {
            return Err(DomainError::new(
                "role",
                "a citizen has no department or area scope",
            ));
        }
        areas.sort();
        areas.dedup();
        if role.needs_areas() && areas.is_empty() {
            return Err(DomainError::new(
                "areas",
                format!("a {role} needs at least one area in scope"),
            ));
        }
        let phone = match phone.map(str::trim).filter(|text| !text.is_empty()) {
            Some(text) => {
                if !text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b"+- ".contains(&b))
                    || text.len() > 20
                {
                    return Err(DomainError::new(
                        "phone",
                        "a phone number has digits, '+', '-' or spaces (at most 20)",
                    ));
                }
                Some(text.to_owned())
            }
            None => None,
        };
        Ok(NewUser {
            username,
            display_name: required_text("display_name", display_name, 100)?,
            role,
            department,
            areas,
            phone,
        })
    }
}

impl User {
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::Admin | Role::Auditor => Scope::City,
            Role::Operator | Role::Supervisor => Scope::Areas(self.areas.clone()),
            Role::Handler | Role::DeptLead => match &self.department {
                Some(department) => Scope::Department(department.clone()),
                None => Scope::Own,
            },
            Role::Citizen => Scope::Own,
        }
    }

    /// True when an area path (city first) lies within this user's area scope.
    pub fn covers_area_path(&self, area_path: &[AreaCode]) -> bool {
        match self.scope() {
            Scope::City => true,
            Scope::Areas(areas) => area_path.iter().any(|code| areas.contains(code)),
            Scope::Department(_) | Scope::Own => false,
        }
    }

    pub fn is_member_of(&self, department: &DepartmentId) -> bool {
        self.department.as_ref() == Some(department)
    }

    /// May read the directory of departments and the responsibility list.
    pub fn can_read_directory(&self) -> bool {
        self.role.is_staff()
    }

    /// May change a department's own details (name, phone, coverage).
    pub fn can_edit_department(&self, department: &DepartmentId) -> bool {
        self.role == Role::Admin || (self.role == Role::DeptLead && self.is_member_of(department))
    }

    /// May list a department's staff.
    pub fn can_list_staff_of(&self, department: &DepartmentId) -> bool {
        matches!(self.role, Role::Admin | Role::Auditor)
            || (self.role == Role::DeptLead && self.is_member_of(department))
    }

    /// May create a user with `role` in `department`.
    pub fn can_create_user(&self, role: Role, department: Option<&DepartmentId>) -> bool {
        match self.role {
            Role::Admin => true,
            Role::DeptLead => {
                role == Role::Handler && department.is_some_and(|d| self.is_member_of(d))
            }
            _ => false,
        }
    }

    /// May change the responsibility list or area shapes at `area_path`.
    pub fn can_configure_area(&self, area_path: &[AreaCode]) -> bool {
        self.role == Role::Admin
            || (self.role == Role::Operator && self.covers_area_path(area_path))
    }

    /// May see a case: admins and auditors all; operators and supervisors
    /// within their areas; a department the cases dispatched to it; a
    /// citizen their own reports.
    pub fn can_see_case(
        &self,
        area_path: &[AreaCode],
        units: &[DepartmentId],
        reporter: Option<UserId>,
    ) -> bool {
        match self.scope() {
            Scope::City => true,
            Scope::Areas(_) => self.covers_area_path(area_path),
            Scope::Department(department) => units.contains(&department),
            Scope::Own => reporter == Some(self.id),
        }
    }

    /// May see the contact a reporter left (name, phone) in full: the
    /// reporter, the dispatchers who call back, and admins.
    pub fn can_see_reporter_contact(&self, reporter: Option<UserId>) -> bool {
        matches!(self.role, Role::Admin | Role::Operator) || reporter == Some(self.id)
    }

    /// May see another user's personal data (phone) in full.
    pub fn can_see_personal_data_of(&self, other: &User) -> bool {
        self.role == Role::Admin || self.id == other.id
    }
}

/// Masks a phone number for roles that may not see it: `13812341234` →
/// `138****1234`. Short numbers keep only their last two digits.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() >= 11 {
        let (head, rest) = digits.split_at(3);
        let tail = &rest[rest.len() - 4..];
        format!(
            "{}{}{}",
            head.iter().collect::<String>(),
            "*".repeat(rest.len() - 4),
            tail.iter().collect::<String>()
        )
    } else {
        let keep = digits.len().min(2);
        format!(
            "{}{}",
            "*".repeat(digits.len() - keep),
            digits[digits.len() - keep..].iter().collect::<String>()
        )
    }
}

/// Masks free-text contact details word by word: numbers as phones
/// (`139****5678`), other words down to their first character (`张**`).
pub fn mask_contact(contact: &str) -> String {
    contact
        .split_whitespace()
        .map(|word| {
            let digits = word.chars().filter(char::is_ascii_digit).count();
            if digits * 2 >= word.chars().count() {
                mask_phone(word)
            } else {
                let mut chars = word.chars();
                let first = chars.next().map(String::from).unwrap_or_default();
                first + &"*".repeat(chars.count())
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_contacts() {
        assert_eq!(mask_contact("张先生 13912345678"), "张** 139****5678");
        assert_eq!(mask_contact("Li 021-1234"), "L* ******34");
    }

    fn user(role: Role, department: Option<&str>, areas: &[&str]) -> User {
        User {
            id: UserId(1),
            username: "u".into(),
            display_name: "U".into(),
            role,
            department: department.map(|d| DepartmentId::parse(d).unwrap()),
            areas: areas.iter().map(|a| AreaCode::parse(a).unwrap()).collect(),
            phone: None,
        }
    }

    #[test]
    fn masks_phones() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("021-1234"), "******34");
        assert_eq!(mask_phone(""), "");
    }

    #[test]
    fn department_lead_edits_only_its_own_department() {
        let lead = user(Role::DeptLead, Some("310107-cgzf"), &[]);
        assert!(lead.can_edit_department(&DepartmentId::parse("310107-cgzf").unwrap()));
        assert!(!lead.can_edit_department(&DepartmentId::parse("310101-cgzf").unwrap()));
        let handler = user(Role::Handler, Some("310107-cgzf"), &[]);
        assert!(!handler.can_edit_department(&DepartmentId::parse("310107-cgzf").unwrap()));
    }

    #[test]
    fn operator_configures_only_inside_its_areas() {
        let operator = user(Role::Operator, None, &["310107"]);
        let putuo = [
            AreaCode::parse("310000").unwrap(),
            AreaCode::parse("310107").unwrap(),
        ];
        let huangpu = [
            AreaCode::parse("310000").unwrap(),
            AreaCode::parse("310101").unwrap(),
        ];
        assert!(operator.can_configure_area(&putuo));
        assert!(!operator.can_configure_area(&huangpu));
    }

    #[test]
    fn roles_need_their_bindings() {
        assert!(NewUser::new("h", "H", Role::Handler, None, vec![], None).is_err());
        assert!(NewUser::new("o", "O", Role::Operator, None, vec![], None).is_err());
        assert!(NewUser::new("c", "C", Role::Citizen, None, vec![], Some("13800000000")).is_ok());
        assert!(NewUser::new("bad name", "C", Role::Citizen, None, vec![], None).is_err());
    }
}
