//! OGC SensorThings API 1.1 query options for cityloop.
//!
//! This crate parses the `$`-options of a SensorThings request URL
//! (`$filter`, `$expand`, `$select`, `$orderby`, `$top`, `$skip`, `$count`,
//! `$resultFormat`) into a [`Query`], and evaluates `$filter` / `$orderby`
//! expressions over entities in their SensorThings JSON form.
//!
//! The crate is pure: navigation to related entities (`Datastream/Thing/name`)
//! goes through a caller-supplied [`Resolver`], and "now" is passed in
//! explicitly.
//!
//! ```
//! use cityloop_sta::parse_query;
//!
//! let q = parse_query("$filter=result+gt+20&$top=5&$orderby=phenomenonTime+desc").unwrap();
//! assert_eq!(q.top, Some(5));
//! assert!(q.orderby[0].descending);
//! ```
//!
//! All parsing is bounded ([`MAX_QUERY_LEN`], [`MAX_EXPR_DEPTH`],
//! [`MAX_EXPAND_DEPTH`]) and never panics on hostile input.

mod ast;
mod bounds;
mod error;
mod eval;
mod functions;
mod geo;
mod lexer;
mod options;
mod parse;
mod sort;
mod temporal;
mod text;
mod value;

pub use ast::{ArithOp, CompareOp, Expr, Function, Literal};
pub use bounds::time_bounds;
pub use error::{EvalError, QueryError};
pub use eval::{Resolver, matches, sort_key};
pub use geo::geometry_from_geojson;
pub use options::{Expand, OrderBy, Query, parse_query};
pub use parse::parse_filter;
pub use sort::SortKey;

/// Longest accepted raw query string (and `$filter` expression), in bytes.
pub const MAX_QUERY_LEN: usize = 16 * 1024;

/// Deepest accepted expression nesting (parentheses, function calls, unary
/// operators and chained binary operators all count).
pub const MAX_EXPR_DEPTH: usize = 64;

/// Deepest accepted `$expand` nesting (`A/B/C` counts 3).
pub const MAX_EXPAND_DEPTH: usize = 8;

/// Most values one path or operator may produce while evaluating a single
/// entity (to-many navigation multiplies); beyond it evaluation fails.
pub const MAX_VALUES: usize = 100_000;
