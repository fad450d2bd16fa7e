//! Runtime values: comparison and arithmetic semantics.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeDelta};
use serde_json::Value as Json;

use crate::ast::{ArithOp, CompareOp, Literal};
use crate::error::EvalError;
use crate::geo::geometry_from_geojson;
use crate::temporal::{TimeRange, date_start, parse_time_range};

/// A value produced while evaluating an expression over an entity.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    DateTime(DateTime<FixedOffset>),
    Date(NaiveDate),
    Time(NaiveTime),
    Duration(TimeDelta),
    Geometry(Box<geo::Geometry<f64>>),
    /// A JSON object or array taken from an entity.
    Json(Json),
}

/// A number, integer or floating point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            // Rounds to the nearest representable value, as intended.
            Self::Int(i) => i as f64,
            Self::Float(f) => f,
        }
    }
}

impl Value {
    /// The value of a JSON property.
    pub(crate) fn from_json(json: &Json) -> Self {
        match json {
            Json::Null => Self::Null,
            Json::Bool(b) => Self::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Self::Int(i),
                None => n.as_f64().map_or(Self::Null, Self::Float),
            },
            Json::String(s) => Self::Str(s.clone()),
            Json::Array(_) | Json::Object(_) => Self::Json(json.clone()),
        }
    }

    /// The value of a literal.
    pub(crate) fn from_literal(literal: &Literal) -> Self {
        match literal {
            Literal::Null => Self::Null,
            Literal::Bool(b) => Self::Bool(*b),
            Literal::Int(i) => Self::Int(*i),
            Literal::Float(f) => Self::Float(*f),
            Literal::String(s) => Self::Str(s.clone()),
            Literal::DateTime(t) => Self::DateTime(*t),
            Literal::Date(d) => Self::Date(*d),
            Literal::TimeOfDay(t) => Self::Time(*t),
            Literal::Duration(d) => Self::Duration(*d),
            Literal::Geometry(g) => Self::Geometry(Box::new(g.clone())),
        }
    }

    /// The value as a number, if it is one.
    pub(crate) fn number(&self) -> Option<Num> {
        match self {
            Self::Int(i) => Some(Num::Int(*i)),
            Self::Float(f) => Some(Num::Float(*f)),
            _ => None,
        }
    }

    /// The value as an instant or interval: a date-time, a date (midnight
    /// UTC), or a string holding an RFC 3339 instant or `start/end` interval.
    pub(crate) fn time_range(&self) -> Option<TimeRange> {
        match self {
            Self::DateTime(t) => Some((*t, *t)),
            Self::Date(d) => {
                let t = date_start(*d);
                Some((t, t))
            }
            Self::Str(s) => parse_time_range(s),
            _ => None,
        }
    }

    /// The value as one instant (the start of an interval).
    pub(crate) fn instant(&self) -> Option<DateTime<FixedOffset>> {
        self.time_range().map(|(start, _)| start)
    }
}

/// Compares two numbers exactly (an `i64` and an `f64` are compared by
/// their mathematical values); `None` when a NaN is involved.
pub(crate) fn cmp_numbers(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
        (Num::Int(x), Num::Float(y)) => cmp_int_float(x, y),
        (Num::Float(x), Num::Int(y)) => cmp_int_float(y, x).map(Ordering::reverse),
    }
}

/// Compares an integer with a float without losing precision.
fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    // 2^63: every i64 is below it, and every float below it and at or above
    // -2^63 truncates to a representable i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return None;
    }
    if f >= LIMIT {
        return Some(Ordering::Less);
    }
    if f < -LIMIT {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    // In range by the checks above, so the cast is exact.
    let whole_int = whole as i64;
    Some(i.cmp(&whole_int).then_with(|| {
        let fraction = f - whole;
        if fraction > 0.0 {
            Ordering::Less
        } else if fraction < 0.0 {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    }))
}

/// How two values relate.
enum Relation {
    Ordered(Ordering),
    /// Equal, but without an order (nulls, geometries, JSON).
    Same,
    /// Of different types or not comparable: only `ne` holds.
    Unrelated,
}

/// Evaluates `a op b`. Values of mismatched types are neither equal nor
/// ordered; `ne` is always the negation of `eq`.
pub(crate) fn compare(op: CompareOp, a: &Value, b: &Value) -> bool {
    use Value as V;
    let relation = match (a, b) {
        (V::Null, V::Null) => Relation::Same,
        (V::Null, _) | (_, V::Null) => Relation::Unrelated,
        (V::Str(x), V::Str(y)) => Relation::Ordered(x.cmp(y)),
        (V::Bool(x), V::Bool(y)) => Relation::Ordered(x.cmp(y)),
        (V::Date(x), V::Date(y)) => Relation::Ordered(x.cmp(y)),
        (V::Time(x), V::Time(y)) => Relation::Ordered(x.cmp(y)),
        (V::Duration(x), V::Duration(y)) => Relation::Ordered(x.cmp(y)),
        (V::Geometry(x), V::Geometry(y)) if x == y => Relation::Same,
        (V::Json(x), V::Json(y)) if x == y => Relation::Same,
        (V::Geometry(g), V::Json(json)) | (V::Json(json), V::Geometry(g))
            if geometry_from_geojson(json).as_ref() == Some(&**g) =>
        {
            Relation::Same
        }
        _ => {
            if let (Some(x), Some(y)) = (a.number(), b.number()) {
                cmp_numbers(x, y).map_or(Relation::Unrelated, Relation::Ordered)
            } else if let (Some(x), Some(y)) = (a.time_range(), b.time_range()) {
                return compare_ranges(op, x, y);
            } else {
                Relation::Unrelated
            }
        }
    };
    match relation {
        Relation::Ordered(ordering) => match op {
            CompareOp::Eq => ordering == Ordering::Equal,
            CompareOp::Ne => ordering != Ordering::Equal,
            CompareOp::Gt => ordering == Ordering::Greater,
            CompareOp::Ge => ordering != Ordering::Less,
            CompareOp::Lt => ordering == Ordering::Less,
            CompareOp::Le => ordering != Ordering::Greater,
        },
        Relation::Same => op == CompareOp::Eq,
        Relation::Unrelated => op == CompareOp::Ne,
    }
}

/// Compares instants or intervals as SensorThings does: `gt`/`ge` look at
/// the start of the left side (against the end of the right), `lt`/`le` at
/// its end (against the start of the right), and `eq` needs equal starts and
/// ends — so an interval equals an instant only when it is that instant.
fn compare_ranges(op: CompareOp, (a0, a1): TimeRange, (b0, b1): TimeRange) -> bool {
    match op {
        CompareOp::Eq => a0 == b0 && a1 == b1,
        CompareOp::Ne => !(a0 == b0 && a1 == b1),
        CompareOp::Gt => a0 > b1,
        CompareOp::Ge => a0 >= b1,
        CompareOp::Lt => a1 < b0,
        CompareOp::Le => a1 <= b0,
    }
}

/// Evaluates `a op b`: numbers (integers stay integers unless they
/// overflow; `div` always divides exactly, giving a float), date-time ±
/// duration, date-time − date-time, duration ± duration. Division by zero is
/// an error; any other combination (or a null operand) gives null.
pub(crate) fn arith(op: ArithOp, a: &Value, b: &Value) -> Result<Value, EvalError> {
    if matches!(a, Value::Null) || matches!(b, Value::Null) {
        return Ok(Value::Null);
    }
    if let (Some(x), Some(y)) = (a.number(), b.number()) {
        return numeric(op, x, y);
    }
    Ok(temporal(op, a, b).unwrap_or(Value::Null))
}

fn numeric(op: ArithOp, x: Num, y: Num) -> Result<Value, EvalError> {
    let divides = matches!(op, ArithOp::Div | ArithOp::Mod);
    if divides && y.as_f64() == 0.0 {
        return Err(EvalError(format!("{}: division by zero", op.keyword())));
    }
    if let (Num::Int(a), Num::Int(b)) = (x, y) {
        let exact = match op {
            ArithOp::Add => a.checked_add(b),
            ArithOp::Sub => a.checked_sub(b),
            ArithOp::Mul => a.checked_mul(b),
            ArithOp::Div => None,
            // Only i64::MIN mod -1 overflows, and its remainder is 0.
            ArithOp::Mod => Some(a.checked_rem(b).unwrap_or(0)),
        };
        if let Some(value) = exact {
            return Ok(Value::Int(value));
        }
    }
    let (a, b) = (x.as_f64(), y.as_f64());
    Ok(Value::Float(match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div => a / b,
        ArithOp::Mod => a % b,
    }))
}

fn temporal(op: ArithOp, a: &Value, b: &Value) -> Option<Value> {
    match (op, a, b) {
        (ArithOp::Add | ArithOp::Sub, Value::Duration(x), Value::Duration(y)) => {
            let sum = match op {
                ArithOp::Add => x.checked_add(y),
                _ => x.checked_sub(y),
            };
            sum.map(Value::Duration)
        }
        (ArithOp::Add, _, Value::Duration(d)) => {
            a.instant()?.checked_add_signed(*d).map(Value::DateTime)
        }
        (ArithOp::Add, Value::Duration(d), _) => {
            b.instant()?.checked_add_signed(*d).map(Value::DateTime)
        }
        (ArithOp::Sub, _, Value::Duration(d)) => {
            a.instant()?.checked_sub_signed(*d).map(Value::DateTime)
        }
        (ArithOp::Sub, _, _) => Some(Value::Duration(
            a.instant()?.signed_duration_since(b.instant()?),
        )),
        _ => None,
    }
}

/// Unary minus.
pub(crate) fn negate(v: &Value) -> Value {
    match v {
        Value::Int(i) => i
            .checked_neg()
            .map_or(Value::Float(-(*i as f64)), Value::Int),
        Value::Float(f) => Value::Float(-f),
        Value::Duration(d) => Value::Duration(-*d),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_float_comparison_is_exact() {
        let big = i64::MAX;
        assert_eq!(
            cmp_numbers(Num::Int(big), Num::Float(big as f64)),
            Some(Ordering::Less)
        );
        assert_eq!(
            cmp_numbers(Num::Int(3), Num::Float(3.0)),
            Some(Ordering::Equal)
        );
        assert_eq!(
            cmp_numbers(Num::Int(3), Num::Float(3.5)),
            Some(Ordering::Less)
        );
        assert_eq!(
            cmp_numbers(Num::Int(-3), Num::Float(-3.5)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            cmp_numbers(Num::Float(-3.5), Num::Int(-3)),
            Some(Ordering::Less)
        );
        assert_eq!(cmp_numbers(Num::Int(0), Num::Float(f64::NAN)), None);
        assert_eq!(
            cmp_numbers(Num::Int(i64::MIN), Num::Float(-1e300)),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn integer_overflow_becomes_float() {
        assert_eq!(
            arith(ArithOp::Add, &Value::Int(i64::MAX), &Value::Int(1)),
            Ok(Value::Float(i64::MAX as f64 + 1.0))
        );
        assert_eq!(
            arith(ArithOp::Mod, &Value::Int(i64::MIN), &Value::Int(-1)),
            Ok(Value::Int(0))
        );
        assert_eq!(
            negate(&Value::Int(i64::MIN)),
            Value::Float(-(i64::MIN as f64))
        );
    }
}
