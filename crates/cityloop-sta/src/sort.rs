//! [`SortKey`]: a totally ordered value for `$orderby`.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use crate::temporal::{date_start, parse_time_range, to_utc};
use crate::value::{Num, Value, cmp_numbers};

/// A value usable as a sort key; Ord: nulls/missing first, then booleans, numbers (numerically, ints and floats together), datetimes, strings.
///
/// The order is total: NaN sorts after every other number and equals
/// itself, and `1` equals `1.0` (equality agrees with the order).
/// Strings holding an RFC 3339 instant or a `start/end` interval are keyed
/// as date-times (by their start); JSON objects and arrays as their JSON
/// text; durations as numbers of seconds; geometries as null.
#[derive(Debug, Clone)]
pub struct SortKey(Key);

#[derive(Debug, Clone)]
enum Key {
    Null,
    Bool(bool),
    Number(Num),
    DateTime(DateTime<Utc>),
    String(String),
}

impl Key {
    fn rank(&self) -> u8 {
        match self {
            Self::Null => 0,
            Self::Bool(_) => 1,
            Self::Number(_) => 2,
            Self::DateTime(_) => 3,
            Self::String(_) => 4,
        }
    }
}

impl SortKey {
    /// The key of a missing or null value (sorts first).
    pub fn null() -> Self {
        Self(Key::Null)
    }

    /// True for the null key.
    pub fn is_null(&self) -> bool {
        matches!(self.0, Key::Null)
    }

    /// The key of a JSON value as stored in an entity.
    pub fn from_json(json: &serde_json::Value) -> Self {
        Self::from_value(Some(&Value::from_json(json)))
    }

    /// The key of an evaluated value (`None`: no value).
    pub(crate) fn from_value(value: Option<&Value>) -> Self {
        let Some(value) = value else {
            return Self::null();
        };
        Self(match value {
            Value::Null | Value::Geometry(_) => Key::Null,
            Value::Bool(b) => Key::Bool(*b),
            Value::Int(i) => Key::Number(Num::Int(*i)),
            Value::Float(f) => Key::Number(Num::Float(*f)),
            Value::Str(s) => match parse_time_range(s) {
                Some((start, _)) => Key::DateTime(to_utc(start)),
                None => Key::String(s.clone()),
            },
            Value::DateTime(t) => Key::DateTime(to_utc(*t)),
            Value::Date(d) => Key::DateTime(to_utc(date_start(*d))),
            Value::Time(t) => Key::String(t.format("%H:%M:%S%.f").to_string()),
            Value::Duration(d) => Key::Number(Num::Float(d.as_seconds_f64())),
            Value::Json(json) => Key::String(json.to_string()),
        })
    }
}

/// Orders numbers, with NaN after all others.
fn total_cmp_numbers(a: Num, b: Num) -> Ordering {
    let is_nan = |n: Num| matches!(n, Num::Float(f) if f.is_nan());
    match (is_nan(a), is_nan(b)) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => cmp_numbers(a, b).unwrap_or(Ordering::Equal),
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.0, &other.0) {
            (Key::Bool(a), Key::Bool(b)) => a.cmp(b),
            (Key::Number(a), Key::Number(b)) => total_cmp_numbers(*a, *b),
            (Key::DateTime(a), Key::DateTime(b)) => a.cmp(b),
            (Key::String(a), Key::String(b)) => a.cmp(b),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Equality agrees with [`Ord`] (so `1` equals `1.0`, and NaN equals NaN).
impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SortKey {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn order_across_types() {
        let mut keys: Vec<SortKey> = [
            json!("b"),
            json!(f64::NAN.to_string()),
            json!(2.5),
            json!("2013-01-01T00:00:00Z"),
            json!(true),
            json!(null),
            json!(2),
            json!(-1e300),
            json!(false),
            json!("2012-01-01T00:00:00Z/2014-01-01T00:00:00Z"),
        ]
        .iter()
        .map(SortKey::from_json)
        .collect();
        keys.push(SortKey::from_value(Some(&Value::Float(f64::NAN))));
        keys.sort();
        let ranks: Vec<u8> = keys.iter().map(|k| k.0.rank()).collect();
        assert_eq!(ranks, vec![0, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4]);
        assert!(matches!(keys[6].0, Key::Number(Num::Float(f)) if f.is_nan()));
        assert_eq!(
            SortKey::from_json(&json!(1)),
            SortKey::from_json(&json!(1.0))
        );
    }
}
