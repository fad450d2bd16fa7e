//! Data-quality figures for one import: completeness and validity per
//! field, and duplicates by the standard's key.
//!
//! Key design decision: duplicates are counted as *rows with a key minus
//! distinct keys*, and the distinct keys are kept as a set, so reports from
//! parallel workers merge exactly ([`Quality::merge`]) whatever rows each
//! worker saw — "rows whose key repeats an earlier row" does not depend on
//! which row came first.
//!
//! Definitions, per field: `total` counts every row observed; `present`
//! counts rows in which the field had a value; `valid` counts rows in which
//! the value passed its checks (in a rejected row too, when another field
//! caused the rejection — [`Quality::observe`] with the partial row);
//! `invalid` counts rows with a rejection on that field. Completeness is
//! present/total, validity valid/(valid+invalid). With only
//! [`Quality::observe_rejected`] the other fields of a rejected row count
//! as neither present nor valid.

use serde::Serialize;

use crate::mapping::{MappedRow, Rejection};
use crate::standard::Standard;
use rustc_hash::FxHashSet;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FieldQuality {
    pub field: String,
    pub total: u64,
    pub present: u64,
    pub valid: u64,
    pub invalid: u64,
    /// present / total × 100.
    pub completeness_pct: f64,
    /// valid / (valid + invalid) × 100 (100 when neither).
    pub validity_pct: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QualityReport {
    pub standard: String,
    pub rows: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Accepted rows whose key repeats an earlier accepted row.
    pub duplicates: u64,
    pub fields: Vec<FieldQuality>,
}

#[derive(Debug, Clone)]
pub struct Quality {
    standard: Standard,
    counts: Vec<FieldQuality>,
    accepted: u64,
    rejected: u64,
    keyed_rows: u64,
    /// 128-bit fingerprints of the keys seen (two independent fixed-key
    /// SipHashes): no allocation per row, and a collision among a billion
    /// keys has a probability near 1e-20.
    keys: FxHashSet<u128>,
    scratch: String,
}

impl Quality {
    pub fn new(standard: &Standard) -> Self {
        Quality {
            standard: standard.clone(),
            counts: standard
                .fields
                .iter()
                .map(|f| FieldQuality {
                    field: f.name.clone(),
                    ..FieldQuality::default()
                })
                .collect(),
            accepted: 0,
            rejected: 0,
            keyed_rows: 0,
            keys: FxHashSet::default(),
            scratch: String::new(),
        }
    }

    pub fn observe_ok(&mut self, row: &MappedRow) {
        self.observe(row, &[]);
    }

    /// Observes a row as [`crate::Compiled::map_partial`] returns it: accepted
    /// when `rejections` is empty.
    pub fn observe(&mut self, row: &MappedRow, rejections: &[Rejection]) {
        if rejections.is_empty() {
            self.accepted += 1;
            if row.key_into(&self.standard, &mut self.scratch) {
                self.keyed_rows += 1;
                self.keys.insert(fingerprint(&self.scratch));
            }
        } else {
            self.rejected += 1;
        }
        for (count, value) in self.counts.iter_mut().zip(&row.values) {
            count.total += 1;
            let mut on_field = rejections
                .iter()
                .filter(|r| r.field == count.field)
                .peekable();
            if on_field.peek().is_some() {
                count.invalid += 1;
                if on_field.all(|r| !r.reason.starts_with("required")) {
                    count.present += 1;
                }
            } else if value.is_some() {
                count.present += 1;
                count.valid += 1;
            }
        }
    }

    pub fn observe_rejected(&mut self, rejections: &[Rejection]) {
        self.rejected += 1;
        for count in &mut self.counts {
            count.total += 1;
            let mut on_field = rejections
                .iter()
                .filter(|r| r.field == count.field)
                .peekable();
            if on_field.peek().is_some() {
                count.invalid += 1;
                if on_field.all(|r| !r.reason.starts_with("required")) {
                    count.present += 1;
                }
            }
        }
    }

    /// Adds another worker's observations of the same standard.
    pub fn merge(&mut self, other: Quality) {
        assert_eq!(
            self.standard.id, other.standard.id,
            "merging quality of different standards"
        );
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.keyed_rows += other.keyed_rows;
        self.keys.extend(other.keys);
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            a.total += b.total;
            a.present += b.present;
            a.valid += b.valid;
            a.invalid += b.invalid;
        }
    }

    /// Number of distinct keys among accepted rows.
    pub fn distinct_keys(&self) -> u64 {
        self.keys.len() as u64
    }

    pub fn report(&self) -> QualityReport {
        let pct = |n: u64, d: u64| {
            if d == 0 {
                100.0
            } else {
                (n as f64 * 10000.0 / d as f64).round() / 100.0
            }
        };
        QualityReport {
            standard: self.standard.id.clone(),
            rows: self.accepted + self.rejected,
            accepted: self.accepted,
            rejected: self.rejected,
            duplicates: self.keyed_rows - self.keys.len() as u64,
            fields: self
                .counts
                .iter()
                .map(|c| FieldQuality {
                    completeness_pct: pct(c.present, c.total),
                    validity_pct: pct(c.valid, c.valid + c.invalid),
                    ..c.clone()
                })
                .collect(),
        }
    }
}

fn fingerprint(key: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    let mut a = std::hash::DefaultHasher::new();
    key.hash(&mut a);
    let mut b = std::hash::DefaultHasher::new();
    (0x5eed_u16, key).hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}
