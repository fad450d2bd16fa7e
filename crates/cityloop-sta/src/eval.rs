//! Evaluating expressions over entities: [`matches`] and [`sort_key`].

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use crate::MAX_VALUES;
use crate::ast::Expr;
use crate::error::EvalError;
use crate::functions::call;
use crate::sort::SortKey;
use crate::value::{Value, arith, compare, negate};

/// Access to related entities, for navigation in member paths such as
/// `Datastream/Thing/name`.
pub trait Resolver {
    /// Navigates from `entity` (a JSON object in its SensorThings form, with "@iot.id"), a member of
    /// entity set `set` ("Things", "Locations", "HistoricalLocations", "Datastreams", "Sensors",
    /// "ObservedProperties", "Observations", "FeaturesOfInterest"), through navigation property
    /// `nav` ("Thing", "Locations", "Datastream", "Datastreams", "Sensor", "ObservedProperty",
    /// "FeatureOfInterest", "Observations", "HistoricalLocations", "Things").
    /// None when `nav` is not a navigation property of `set`; otherwise the target entity set's
    /// name and the related entities (zero or more).
    ///
    /// It is asked about every segment of a member path that starts at an
    /// entity (including plain properties such as `result`), so answering
    /// `None` must be cheap.
    fn navigate(
        &self,
        set: &str,
        entity: &serde_json::Value,
        nav: &str,
    ) -> Option<(String, Vec<serde_json::Value>)>;
}

/// True when the entity matches the filter.
///
/// `entity` is a member of entity set `set`. A member path that reaches
/// several values (through to-many navigation) satisfies a comparison or
/// function when any of its values does; a missing property is null.
/// Values of mismatched types are simply unequal. Errors are limited to
/// division by zero, invalid `st_relate` patterns, failed geometry
/// operations and paths producing more than [`MAX_VALUES`] values.
pub fn matches(
    filter: &Expr,
    set: &str,
    entity: &serde_json::Value,
    resolver: &dyn Resolver,
    now: DateTime<Utc>,
) -> Result<bool, EvalError> {
    Evaluator {
        set,
        entity,
        resolver,
        now,
    }
    .truth(filter)
}

/// The sort key of `expr` for one entity ($orderby).
///
/// When `expr` yields several values (to-many navigation) the first is
/// used; when it yields none the key is null. Strings holding an RFC 3339
/// instant or a `start/end` interval sort as date-times (by start).
pub fn sort_key(
    expr: &Expr,
    set: &str,
    entity: &serde_json::Value,
    resolver: &dyn Resolver,
    now: DateTime<Utc>,
) -> Result<SortKey, EvalError> {
    let values = Evaluator {
        set,
        entity,
        resolver,
        now,
    }
    .values(expr)?;
    Ok(SortKey::from_value(values.first()))
}

/// Evaluates expressions over one entity.
struct Evaluator<'a> {
    set: &'a str,
    entity: &'a Json,
    resolver: &'a dyn Resolver,
    now: DateTime<Utc>,
}

/// A node reached while walking a member path.
enum Node<'a> {
    /// An entity of the named set: navigation properties apply.
    Entity {
        set: Cow<'a, str>,
        json: Cow<'a, Json>,
    },
    /// A plain JSON value inside an entity.
    Json(Cow<'a, Json>),
}

static NULL: Json = Json::Null;

impl Evaluator<'_> {
    /// Evaluates `expr` as a condition: true when any value it yields is `true`.
    fn truth(&self, expr: &Expr) -> Result<bool, EvalError> {
        match expr {
            Expr::And(items) => {
                for item in items {
                    if !self.truth(item)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Expr::Or(items) => {
                for item in items {
                    if self.truth(item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Expr::Not(operand) => Ok(!self.truth(operand)?),
            Expr::Compare { op, left, right } => {
                let (left, right) = (self.values(left)?, self.values(right)?);
                check_count(left.len().saturating_mul(right.len()))?;
                Ok(left
                    .iter()
                    .any(|a| right.iter().any(|b| compare(*op, a, b))))
            }
            _ => Ok(self.values(expr)?.contains(&Value::Bool(true))),
        }
    }

    /// Evaluates `expr` to all the values it yields.
    fn values(&self, expr: &Expr) -> Result<Vec<Value>, EvalError> {
        match expr {
            Expr::Literal(literal) => Ok(vec![Value::from_literal(literal)]),
            Expr::Member(path) => self.member(path),
            Expr::And(_) | Expr::Or(_) | Expr::Not(_) | Expr::Compare { .. } => {
                Ok(vec![Value::Bool(self.truth(expr)?)])
            }
            Expr::Negate(operand) => Ok(self.values(operand)?.iter().map(negate).collect()),
            Expr::Arith { op, left, right } => {
                let operands = [self.values(left)?, self.values(right)?];
                let mut out = Vec::new();
                for_each_combination(&operands, |pair| {
                    if let [a, b] = pair {
                        out.push(arith(*op, a, b)?);
                    }
                    Ok(())
                })?;
                Ok(out)
            }
            Expr::Call { function, args } => {
                let args = args
                    .iter()
                    .map(|arg| self.values(arg))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut out = Vec::new();
                for_each_combination(&args, |combination| {
                    out.push(call(*function, combination, self.now)?);
                    Ok(())
                })?;
                Ok(out)
            }
        }
    }

    /// Walks a member path from the entity: a segment that the resolver
    /// knows as a navigation property of the current entity leads to the
    /// related entities; any other segment indexes into the JSON (`id` of an
    /// entity is its `@iot.id`), missing properties being null.
    fn member(&self, path: &[String]) -> Result<Vec<Value>, EvalError> {
        let mut nodes = vec![Node::Entity {
            set: Cow::Borrowed(self.set),
            json: Cow::Borrowed(self.entity),
        }];
        for segment in path {
            let mut next = Vec::with_capacity(nodes.len());
            for node in nodes {
                match node {
                    Node::Entity { set, json } => {
                        match self.resolver.navigate(&set, &json, segment) {
                            Some((target, related)) => {
                                let target: Cow<'_, str> = Cow::Owned(target);
                                next.extend(related.into_iter().map(|entity| Node::Entity {
                                    set: target.clone(),
                                    json: Cow::Owned(entity),
                                }));
                            }
                            None => {
                                let key = if segment == "id" { "@iot.id" } else { segment };
                                next.push(Node::Json(child(json, key)));
                            }
                        }
                    }
                    Node::Json(json) => next.push(Node::Json(child(json, segment))),
                }
                check_count(next.len())?;
            }
            nodes = next;
        }
        Ok(nodes
            .iter()
            .map(|node| match node {
                Node::Entity { json, .. } | Node::Json(json) => Value::from_json(json),
            })
            .collect())
    }
}

/// The member `key` of a JSON object (or index of an array), or null.
fn child<'a>(json: Cow<'a, Json>, key: &str) -> Cow<'a, Json> {
    match json {
        Cow::Borrowed(json) => Cow::Borrowed(match json {
            Json::Object(map) => map.get(key).unwrap_or(&NULL),
            Json::Array(items) => key
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i))
                .unwrap_or(&NULL),
            _ => &NULL,
        }),
        Cow::Owned(json) => Cow::Owned(match json {
            Json::Object(mut map) => map.remove(key).unwrap_or(Json::Null),
            Json::Array(mut items) => match key.parse::<usize>() {
                Ok(i) if i < items.len() => items.swap_remove(i),
                _ => Json::Null,
            },
            _ => Json::Null,
        }),
    }
}

fn check_count(n: usize) -> Result<(), EvalError> {
    if n > MAX_VALUES {
        return Err(EvalError(format!(
            "expression yields more than {MAX_VALUES} values for one entity"
        )));
    }
    Ok(())
}

/// Calls `f` with every combination of one value from each list (the
/// cartesian product), in order; no call when a list is empty.
fn for_each_combination(
    lists: &[Vec<Value>],
    mut f: impl FnMut(&[&Value]) -> Result<(), EvalError>,
) -> Result<(), EvalError> {
    let total = lists
        .iter()
        .try_fold(1usize, |acc, list| acc.checked_mul(list.len()))
        .unwrap_or(usize::MAX);
    check_count(total)?;
    let Some(mut current) = lists
        .iter()
        .map(|list| list.first())
        .collect::<Option<Vec<&Value>>>()
    else {
        return Ok(());
    };
    let mut indices = vec![0usize; lists.len()];
    loop {
        f(&current)?;
        // Advance like an odometer, rightmost list fastest.
        let mut k = lists.len();
        loop {
            if k == 0 {
                return Ok(());
            }
            k -= 1;
            let (Some(list), Some(index), Some(slot)) =
                (lists.get(k), indices.get_mut(k), current.get_mut(k))
            else {
                return Ok(());
            };
            *index += 1;
            if let Some(value) = list.get(*index) {
                *slot = value;
                break;
            }
            *index = 0;
            if let Some(first) = list.first() {
                *slot = first;
            }
        }
    }
}
