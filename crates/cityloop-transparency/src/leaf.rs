//! The leaf encoding, version 1: one UTF-8 JSON object per leaf, keys in a
//! fixed order, `"v": 1` first. Documented in `docs/TRANSPARENCY.md`; a new
//! field or meaning is a new version, and verifiers accept every version
//! they know.
//!
//! What a leaf may hold: codes (roles, departments, areas, categories,
//! actions), case numbers, instants, pseudonyms (`u:` + 32 hex digits) and
//! commitments (64 hex digits). Never a name, phone number, ID number,
//! address or free text.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The leaf encoding version this crate writes.
pub const VERSION: u32 = 1;

/// The largest leaf this crate writes (an entry bundle allows 65,535).
pub const MAX_LEAF_BYTES: usize = 8 * 1024;

/// Who acted: role and department in the clear (they are public office),
/// the person only as a pseudonym.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Actor {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub department: Option<String>,
    /// Keyed pseudonym of the user; `None` for the system's own clock.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
}

/// What a leaf records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// One event of a case's history.
    Case {
        case: i64,
        seq: u64,
        action: String,
        actor: Actor,
        /// Public facts of the step (category, urgency, channel, area,
        /// units); codes only.
        #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
        detail: BTreeMap<String, String>,
        /// Keyed commitment to the whole history row.
        row: String,
    },
    /// A role or scope granted, changed or revoked.
    Grant {
        change: String,
        grantee: String,
        role: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        department: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty", default)]
        areas: Vec<String>,
        by: Actor,
        /// The legal or 权责清单 basis of the grant.
        basis: String,
    },
    /// A read of personal data.
    Access {
        by: Actor,
        /// What was read, e.g. `case:42`.
        subject: String,
        fields: Vec<String>,
        purpose: String,
    },
    /// A configuration change: which setting, its new content's SHA-256.
    Config {
        by: Actor,
        setting: String,
        change: String,
        sha256: String,
    },
    /// A privileged log-in.
    Login { by: Actor, method: String },
    /// A data-hub sharing grant requested, approved, refused or revoked.
    Share {
        change: String,
        grant: i64,
        dataset: String,
        /// The department that uses the data.
        department: String,
        fields: Vec<String>,
        purpose: String,
        /// RFC 3339: when the grant ends.
        until: String,
        by: Actor,
    },
}

/// One leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaf {
    pub v: u32,
    /// RFC 3339, UTC, microseconds.
    pub at: String,
    #[serde(flatten)]
    pub record: Record,
}

impl Leaf {
    pub fn new(at: chrono::DateTime<chrono::Utc>, record: Record) -> Leaf {
        Leaf {
            v: VERSION,
            at: at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            record,
        }
    }

    /// The leaf's bytes, as logged.
    pub fn encode(&self) -> Vec<u8> {
        // Serialising these plain structs cannot fail.
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        debug_assert!(bytes.len() <= MAX_LEAF_BYTES, "leaf too large");
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Result<Leaf, crate::Error> {
        let leaf: Leaf = serde_json::from_slice(bytes)
            .map_err(|error| crate::Error::Leaf(format!("does not parse: {error}")))?;
        if leaf.v != VERSION {
            return Err(crate::Error::Leaf(format!(
                "has version {}, this verifier knows {VERSION}",
                leaf.v
            )));
        }
        Ok(leaf)
    }

    /// The store's lookup hint for this leaf.
    pub fn subject(&self) -> Option<String> {
        match &self.record {
            Record::Case { case, .. } => Some(format!("case:{case}")),
            Record::Access { subject, .. } => Some(subject.clone()),
            Record::Grant { grantee, .. } => Some(format!("grant:{grantee}")),
            Record::Config { setting, .. } => Some(format!("config:{setting}")),
            Record::Login { .. } => None,
            Record::Share { grant, .. } => Some(format!("share:{grant}")),
        }
    }

    /// The store input for this leaf.
    pub fn input(&self) -> cityloop_store::LeafInput {
        cityloop_store::LeafInput {
            subject: self.subject(),
            data: self.encode(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_case_leaf_has_a_stable_documented_encoding() {
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 29, 9, 30, 0)
            .unwrap();
        let leaf = Leaf::new(
            at,
            Record::Case {
                case: 42,
                seq: 3,
                action: "dispatched".into(),
                actor: Actor {
                    role: Some("operator".into()),
                    department: Some("310101-ccc".into()),
                    id: Some("u:0123456789abcdef0123456789abcdef".into()),
                },
                detail: BTreeMap::from([("units".into(), "310101-lhj".into())]),
                row: "ab".repeat(32),
            },
        );
        let text = String::from_utf8(leaf.encode()).unwrap();
        assert_eq!(
            text,
            format!(
                "{{\"v\":1,\"at\":\"2026-11-29T09:30:00.000000Z\",\"type\":\"case\",\"case\":42,\"seq\":3,\
                 \"action\":\"dispatched\",\"actor\":{{\"role\":\"operator\",\"department\":\"310101-ccc\",\
                 \"id\":\"u:0123456789abcdef0123456789abcdef\"}},\"detail\":{{\"units\":\"310101-lhj\"}},\
                 \"row\":\"{}\"}}",
                "ab".repeat(32)
            )
        );
        assert_eq!(Leaf::decode(text.as_bytes()).unwrap(), leaf);
        assert_eq!(leaf.subject().as_deref(), Some("case:42"));
    }

    #[test]
    fn unknown_versions_and_garbage_are_refused() {
        assert!(Leaf::decode(b"not json").is_err());
        let v2 = br#"{"v":2,"at":"2026-11-29T09:30:00.000000Z","type":"login","by":{},"method":"password"}"#;
        let error = Leaf::decode(v2).unwrap_err().to_string();
        assert!(error.contains("version 2"), "{error}");
    }
}
