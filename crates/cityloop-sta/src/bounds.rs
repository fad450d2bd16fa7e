//! [`time_bounds`]: scan bounds implied by a filter.

use chrono::{DateTime, Utc};

use crate::ast::{CompareOp, Expr, Literal};
use crate::temporal::to_utc;

/// A bound on a time property: the instant and whether it is inclusive.
type Bound = Option<(DateTime<Utc>, bool)>;

/// The phenomenonTime bounds implied by top-level AND-ed conjuncts of the form
/// `phenomenonTime gt|ge|lt|le|eq <datetime literal>` (either operand order), so a store can narrow
/// a scan before evaluating the whole filter. `(lower, upper)`, each `Option<(DateTime<Utc>, inclusive: bool)>`.
///
/// `property` names the time property (`phenomenonTime`, `resultTime`,
/// or a `/`-separated path). Following [`crate::matches`], for an interval
/// value the lower bound applies to its start and the upper bound to its
/// end; `eq` gives both bounds, inclusive. Several conjuncts combine to the
/// tightest bounds. Conjuncts under `or` or `not` are ignored, so the
/// bounds are always implied by the filter (never narrower than it).
///
/// ```
/// use cityloop_sta::{parse_filter, time_bounds};
///
/// let f = parse_filter("phenomenonTime ge 2013-01-01T00:00:00Z and result gt 3").unwrap();
/// let (lower, upper) = time_bounds(&f, "phenomenonTime");
/// assert_eq!(lower.map(|(t, inclusive)| (t.to_rfc3339(), inclusive)),
///            Some(("2013-01-01T00:00:00+00:00".to_string(), true)));
/// assert_eq!(upper, None);
/// ```
pub fn time_bounds(filter: &Expr, property: &str) -> (Bound, Bound) {
    let mut bounds = Bounds::default();
    bounds.collect(filter, property);
    (bounds.lower, bounds.upper)
}

#[derive(Default)]
struct Bounds {
    lower: Bound,
    upper: Bound,
}

impl Bounds {
    fn collect(&mut self, expr: &Expr, property: &str) {
        match expr {
            Expr::And(items) => {
                for item in items {
                    self.collect(item, property);
                }
            }
            Expr::Compare { op, left, right } => {
                let is_property =
                    |path: &[String]| path.iter().map(String::as_str).eq(property.split('/'));
                let (op, t) = match (&**left, &**right) {
                    (Expr::Member(path), Expr::Literal(Literal::DateTime(t)))
                        if is_property(path) =>
                    {
                        (*op, to_utc(*t))
                    }
                    (Expr::Literal(Literal::DateTime(t)), Expr::Member(path))
                        if is_property(path) =>
                    {
                        (op.flipped(), to_utc(*t))
                    }
                    _ => return,
                };
                match op {
                    CompareOp::Gt => self.raise_lower(t, false),
                    CompareOp::Ge => self.raise_lower(t, true),
                    CompareOp::Lt => self.lower_upper(t, false),
                    CompareOp::Le => self.lower_upper(t, true),
                    CompareOp::Eq => {
                        self.raise_lower(t, true);
                        self.lower_upper(t, true);
                    }
                    CompareOp::Ne => {}
                }
            }
            _ => {}
        }
    }

    fn raise_lower(&mut self, t: DateTime<Utc>, inclusive: bool) {
        self.lower = Some(match self.lower {
            Some((current, current_inclusive)) if current > t => (current, current_inclusive),
            Some((current, current_inclusive)) if current == t => {
                (t, current_inclusive && inclusive)
            }
            _ => (t, inclusive),
        });
    }

    fn lower_upper(&mut self, t: DateTime<Utc>, inclusive: bool) {
        self.upper = Some(match self.upper {
            Some((current, current_inclusive)) if current < t => (current, current_inclusive),
            Some((current, current_inclusive)) if current == t => {
                (t, current_inclusive && inclusive)
            }
            _ => (t, inclusive),
        });
    }
}
