//! Built-in `$filter` functions.

use std::borrow::Cow;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Timelike, Utc};

use crate::ast::Function;
use crate::error::EvalError;
use crate::geo::{distance, geometry_from_geojson, is_de9im_pattern, length, relate};
use crate::temporal::{max_datetime, min_datetime};
use crate::value::Value;

/// Calls `function` on one combination of argument values. A null argument
/// (or one of the wrong type) gives null, except where noted.
pub(crate) fn call(
    function: Function,
    args: &[&Value],
    now: DateTime<Utc>,
) -> Result<Value, EvalError> {
    use Function as F;
    if args.iter().any(|a| matches!(a, Value::Null)) {
        return Ok(Value::Null);
    }
    let value = match function {
        F::Now => Some(Value::DateTime(now.fixed_offset())),
        F::MinDateTime => min_datetime().map(Value::DateTime),
        F::MaxDateTime => max_datetime().map(Value::DateTime),
        F::SubstringOf => string_pair(args, |needle, haystack| {
            Value::Bool(haystack.contains(needle))
        }),
        F::Contains => string_pair(args, |h, n| Value::Bool(h.contains(n))),
        F::StartsWith => string_pair(args, |h, p| Value::Bool(h.starts_with(p))),
        F::EndsWith => string_pair(args, |h, s| Value::Bool(h.ends_with(s))),
        F::IndexOf => string_pair(args, |h, n| {
            Value::Int(h.find(n).map_or(-1, |byte| char_index(h, byte)))
        }),
        F::Concat => string_pair(args, |a, b| Value::Str(format!("{a}{b}"))),
        F::Length => string(args).map(|s| Value::Int(saturating_i64(s.chars().count()))),
        F::ToLower => string(args).map(|s| Value::Str(s.to_lowercase())),
        F::ToUpper => string(args).map(|s| Value::Str(s.to_uppercase())),
        F::Trim => string(args).map(|s| Value::Str(s.trim().to_owned())),
        F::Substring => substring(args),
        F::Year | F::Month | F::Day => date_of(args).map(|d| {
            Value::Int(match function {
                F::Year => i64::from(d.year()),
                F::Month => i64::from(d.month()),
                _ => i64::from(d.day()),
            })
        }),
        F::Hour | F::Minute | F::Second => time_of(args).map(|t| {
            Value::Int(i64::from(match function {
                F::Hour => t.hour(),
                F::Minute => t.minute(),
                _ => t.second(),
            }))
        }),
        F::FractionalSeconds => {
            time_of(args).map(|t| Value::Float(f64::from(t.nanosecond()) / 1e9))
        }
        F::Date => date_of(args).map(Value::Date),
        F::Time => time_of(args).map(Value::Time),
        F::TotalOffsetMinutes => {
            datetime_of(args).map(|t| Value::Int(i64::from(t.offset().local_minus_utc() / 60)))
        }
        F::Round | F::Floor | F::Ceiling => rounding(function, args),
        F::GeoDistance => match geometries(args) {
            Some((a, b)) => Some(Value::Float(
                distance(&a, &b).ok_or_else(|| failed(function))?,
            )),
            None => None,
        },
        F::GeoLength => args
            .first()
            .and_then(|g| geometry(g))
            .map(|g| Value::Float(length(&g))),
        F::StRelate => return st_relate(args),
        F::GeoIntersects
        | F::StEquals
        | F::StDisjoint
        | F::StTouches
        | F::StWithin
        | F::StOverlaps
        | F::StCrosses
        | F::StIntersects
        | F::StContains => match geometries(args) {
            Some((a, b)) => {
                let m = relate(&a, &b).ok_or_else(|| failed(function))?;
                Some(Value::Bool(match function {
                    F::StEquals => m.is_equal_topo(),
                    F::StDisjoint => m.is_disjoint(),
                    F::StTouches => m.is_touches(),
                    F::StWithin => m.is_within(),
                    F::StOverlaps => m.is_overlaps(),
                    F::StCrosses => m.is_crosses(),
                    F::StContains => m.is_contains(),
                    _ => m.is_intersects(),
                }))
            }
            None => None,
        },
    };
    Ok(value.unwrap_or(Value::Null))
}

fn failed(function: Function) -> EvalError {
    EvalError(format!(
        "{}: the geometry operation failed on these operands",
        function.name()
    ))
}

fn saturating_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The character index of byte offset `byte` (a char boundary) in `s`.
fn char_index(s: &str, byte: usize) -> i64 {
    saturating_i64(s.get(..byte).map_or(0, |p| p.chars().count()))
}

fn string<'a>(args: &[&'a Value]) -> Option<&'a str> {
    match args.first()? {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

fn string_pair(args: &[&Value], f: impl Fn(&str, &str) -> Value) -> Option<Value> {
    match args {
        [Value::Str(a), Value::Str(b)] => Some(f(a, b)),
        _ => None,
    }
}

/// An integer argument (an integral float is accepted).
fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        // Saturates; the fraction check rejects non-integral values.
        Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
        _ => None,
    }
}

/// `substring(s, start[, length])`, counting characters; out-of-range
/// positions are clamped.
fn substring(args: &[&Value]) -> Option<Value> {
    let s = string(args)?;
    let start = usize::try_from(integer(args.get(1)?)?.max(0)).unwrap_or(usize::MAX);
    let chars = s.chars().skip(start);
    let result: String = match args.get(2) {
        Some(len) => {
            let len = usize::try_from(integer(len)?.max(0)).unwrap_or(usize::MAX);
            chars.take(len).collect()
        }
        None => chars.collect(),
    };
    Some(Value::Str(result))
}

/// A date-time argument: a date-time, or a string holding one (the start of
/// an interval).
fn datetime_of(args: &[&Value]) -> Option<DateTime<FixedOffset>> {
    match args.first()? {
        Value::Date(_) => None,
        v => v.instant(),
    }
}

/// The date part, in the value's own offset.
fn date_of(args: &[&Value]) -> Option<NaiveDate> {
    match args.first()? {
        Value::Date(d) => Some(*d),
        _ => datetime_of(args).map(|t| t.date_naive()),
    }
}

/// The time-of-day part, in the value's own offset.
fn time_of(args: &[&Value]) -> Option<NaiveTime> {
    match args.first()? {
        Value::Time(t) => Some(*t),
        _ => datetime_of(args).map(|t| t.time()),
    }
}

fn rounding(function: Function, args: &[&Value]) -> Option<Value> {
    match args.first()? {
        Value::Int(i) => Some(Value::Int(*i)),
        Value::Float(f) => Some(Value::Float(match function {
            Function::Floor => f.floor(),
            Function::Ceiling => f.ceil(),
            // Half away from zero, as OData specifies.
            _ => f.round(),
        })),
        _ => None,
    }
}

/// A geometry argument: a geometry literal, or a GeoJSON value from the entity.
fn geometry(v: &Value) -> Option<Cow<'_, geo::Geometry<f64>>> {
    match v {
        Value::Geometry(g) => Some(Cow::Borrowed(g)),
        Value::Json(json) => geometry_from_geojson(json).map(Cow::Owned),
        _ => None,
    }
}

type GeometryPair<'a> = (Cow<'a, geo::Geometry<f64>>, Cow<'a, geo::Geometry<f64>>);

fn geometries<'a>(args: &[&'a Value]) -> Option<GeometryPair<'a>> {
    Some((geometry(args.first()?)?, geometry(args.get(1)?)?))
}

/// `st_relate(g1, g2, pattern)`: an invalid pattern is an error.
fn st_relate(args: &[&Value]) -> Result<Value, EvalError> {
    let Some(Value::Str(pattern)) = args.get(2) else {
        return Ok(Value::Null);
    };
    if !is_de9im_pattern(pattern) {
        return Err(EvalError(format!(
            "st_relate: '{pattern}' is not a DE-9IM pattern (nine of 0 1 2 T F *)"
        )));
    }
    let Some((a, b)) = geometries(args) else {
        return Ok(Value::Null);
    };
    let matrix = relate(&a, &b).ok_or_else(|| failed(Function::StRelate))?;
    matrix
        .matches(pattern)
        .map(Value::Bool)
        .map_err(|e| EvalError(format!("st_relate: {e}")))
}
