//! The `$`-options of a request: [`Query`] and [`parse_query`].

use crate::ast::Expr;
use crate::error::{QueryError, SyntaxError};
use crate::parse::{parse_expression, parse_orderby};
use crate::text::{Piece, char_count, closing_paren, percent_decode, split_top_level};
use crate::{MAX_EXPAND_DEPTH, MAX_QUERY_LEN};

/// The query options of one request, or of one `$expand` item.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// `$filter`.
    pub filter: Option<Expr>,
    /// `$expand`, one item per navigation property; `A/B` is `A` with a
    /// nested expand of `B`, and items naming the same property are merged.
    pub expand: Vec<Expand>,
    /// $select names as given, except `id` is normalised to `@iot.id`. None: all properties.
    pub select: Option<Vec<String>>,
    /// `$orderby` keys, most significant first.
    pub orderby: Vec<OrderBy>,
    /// `$top`.
    pub top: Option<usize>,
    /// `$skip` (0 when absent).
    pub skip: usize,
    /// `$count`.
    pub count: Option<bool>,
    /// `$resultFormat` (e.g. `dataArray`); top level only.
    pub result_format: Option<String>,
}

impl Query {
    /// True when no option other than `$expand` is set.
    fn has_only_expand(&self) -> bool {
        self.filter.is_none()
            && self.select.is_none()
            && self.orderby.is_empty()
            && self.top.is_none()
            && self.skip == 0
            && self.count.is_none()
            && self.result_format.is_none()
    }
}

/// One `$expand` item: a navigation property and the options applied to
/// the related entities.
#[derive(Debug, Clone, PartialEq)]
pub struct Expand {
    /// The navigation property, e.g. `Datastreams`.
    pub nav: String,
    /// Options for the expanded entities, including nested expands.
    pub query: Query,
}

/// One `$orderby` key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    /// The expression to sort by (see [`crate::sort_key`]).
    pub expr: Expr,
    /// `desc` was given.
    pub descending: bool,
}

/// The options known at the top level.
const TOP_LEVEL_OPTIONS: &[&str] = &[
    "$filter",
    "$expand",
    "$select",
    "$orderby",
    "$top",
    "$skip",
    "$count",
    "$resultFormat",
];

/// The options allowed inside `$expand=Nav(...)`.
const EXPAND_OPTIONS: &[&str] = &[
    "$filter", "$expand", "$select", "$orderby", "$top", "$skip", "$count",
];

/// Parses a raw URL query string exactly as it arrived (still percent-encoded; '+' means a space,
/// as HTML forms and Python `requests` may send). Parameters not starting with '$' are ignored.
/// Unknown $options (other than $filter $expand $select $orderby $top $skip $count $resultFormat),
/// a repeated option, or a syntax error → QueryError.
///
/// A leading `?` is ignored.
///
/// ```
/// use cityloop_sta::parse_query;
///
/// let q = parse_query("$expand=Datastreams/Observations($top=3)&$select=id,name").unwrap();
/// assert_eq!(q.expand[0].nav, "Datastreams");
/// assert_eq!(q.expand[0].query.expand[0].query.top, Some(3));
/// assert_eq!(q.select, Some(vec!["@iot.id".to_string(), "name".to_string()]));
/// ```
pub fn parse_query(raw: &str) -> Result<Query, QueryError> {
    if raw.len() > MAX_QUERY_LEN {
        return Err(QueryError::new(
            "query",
            format!("query string longer than {MAX_QUERY_LEN} bytes"),
        ));
    }
    let raw = raw.strip_prefix('?').unwrap_or(raw);
    let mut query = Query::default();
    let mut seen = Vec::new();
    for pair in raw.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(key);
        if !name.starts_with('$') {
            continue;
        }
        check_name(&name, TOP_LEVEL_OPTIONS, &mut seen)
            .map_err(|message| QueryError::new(name.as_str(), message))?;
        let site = Site {
            option: &name,
            context: String::new(),
            base: 0,
            depth: 0,
        };
        apply(&mut query, &name, &percent_decode(value), &site)?;
    }
    Ok(query)
}

/// Where an option value sits, for error messages and limits.
struct Site<'a> {
    /// The top-level option errors are reported under.
    option: &'a str,
    /// Message prefix naming a nested option, e.g. `Observations($top): `.
    context: String,
    /// Character offset of the value within the top-level option's value.
    base: usize,
    /// How many `$expand` levels enclose this query.
    depth: usize,
}

impl Site<'_> {
    fn error(&self, e: SyntaxError) -> QueryError {
        e.into_query_error(self.option, &self.context, self.base)
    }
}

/// Rejects unknown and repeated option names.
fn check_name(name: &str, allowed: &[&str], seen: &mut Vec<String>) -> Result<(), String> {
    if !allowed.contains(&name) {
        return Err(format!(
            "unknown query option; expected one of {}",
            allowed.join(", ")
        ));
    }
    if seen.iter().any(|s| s == name) {
        return Err("repeated query option".to_owned());
    }
    seen.push(name.to_owned());
    Ok(())
}

/// Parses the (decoded) value of option `name` into `query`.
fn apply(query: &mut Query, name: &str, value: &str, site: &Site<'_>) -> Result<(), QueryError> {
    let syntax = |e| site.error(e);
    match name {
        "$filter" => query.filter = Some(parse_expression(value).map_err(syntax)?),
        "$orderby" => query.orderby = parse_orderby(value).map_err(syntax)?,
        "$select" => query.select = Some(parse_select(value).map_err(syntax)?),
        "$top" => query.top = Some(parse_non_negative(value).map_err(syntax)?),
        "$skip" => query.skip = parse_non_negative(value).map_err(syntax)?,
        "$count" => query.count = Some(parse_bool(value).map_err(syntax)?),
        "$resultFormat" => query.result_format = Some(parse_format(value).map_err(syntax)?),
        "$expand" => query.expand = parse_expand(value, site)?,
        // `check_name` admits nothing else.
        _ => {}
    }
    Ok(())
}

/// `$select`: comma-separated property names.
fn parse_select(value: &str) -> Result<Vec<String>, SyntaxError> {
    split_top_level(value, ',')
        .into_iter()
        .map(Piece::trimmed)
        .map(|piece| {
            let valid = !piece.text.is_empty()
                && piece
                    .text
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '@' | '.' | '/'));
            if !valid {
                return Err(SyntaxError::expected("a property name", piece.pos));
            }
            Ok(match piece.text {
                "id" => "@iot.id".to_owned(),
                name => name.to_owned(),
            })
        })
        .collect()
}

/// `$top` / `$skip`: a non-negative integer.
fn parse_non_negative(value: &str) -> Result<usize, SyntaxError> {
    let piece = Piece {
        text: value,
        pos: 0,
    }
    .trimmed();
    let bad = piece.text.chars().position(|c| !c.is_ascii_digit());
    if piece.text.is_empty() || bad.is_some() {
        let pos = piece.pos + bad.unwrap_or(0);
        return Err(SyntaxError::expected("a non-negative integer", pos));
    }
    piece.text.parse().map_err(|_| {
        SyntaxError::expected(
            format_args!("a non-negative integer no larger than {}", usize::MAX),
            piece.pos,
        )
    })
}

/// `$count`: `true` or `false`.
fn parse_bool(value: &str) -> Result<bool, SyntaxError> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(SyntaxError::expected("'true' or 'false'", 0)),
    }
}

/// `$resultFormat`: a single word such as `dataArray`.
fn parse_format(value: &str) -> Result<String, SyntaxError> {
    let piece = Piece {
        text: value,
        pos: 0,
    }
    .trimmed();
    let bad = piece
        .text
        .chars()
        .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')));
    match bad {
        None if !piece.text.is_empty() => Ok(piece.text.to_owned()),
        _ => Err(SyntaxError::expected(
            "a result format name",
            piece.pos + bad.unwrap_or(0),
        )),
    }
}

/// `$expand`: comma-separated `Nav[/Nav2...][(options)]` items.
fn parse_expand(value: &str, site: &Site<'_>) -> Result<Vec<Expand>, QueryError> {
    let mut expands = Vec::new();
    for piece in split_top_level(value, ',') {
        let piece = piece.trimmed();
        let (path, options) = match piece.text.split_once('(') {
            Some((path, _)) => {
                let rest = piece.text.get(path.len()..).unwrap_or_default();
                let rest_pos = piece.pos + char_count(path);
                let close = closing_paren(rest).ok_or_else(|| {
                    site.error(SyntaxError::expected(
                        "')'",
                        piece.pos + char_count(piece.text),
                    ))
                })?;
                let inner = rest.get(1..close).unwrap_or_default();
                let after = rest.get(close + 1..).unwrap_or_default();
                if !after.is_empty() {
                    let pos = rest_pos + char_count(inner) + 2;
                    return Err(site.error(SyntaxError::expected("',' or end of $expand", pos)));
                }
                let inner = Piece {
                    text: inner,
                    pos: rest_pos + 1,
                };
                (path.trim_end(), Some(inner))
            }
            None => (piece.text, None),
        };
        let mut segments = Vec::new();
        let mut pos = piece.pos;
        for segment in path.split('/') {
            let valid =
                !segment.is_empty() && segment.chars().all(|c| c.is_alphanumeric() || c == '_');
            if !valid {
                return Err(site.error(SyntaxError::expected("a navigation property name", pos)));
            }
            segments.push(segment);
            pos += char_count(segment) + 1;
        }
        let depth = site.depth + segments.len();
        if depth > MAX_EXPAND_DEPTH {
            return Err(site.error(SyntaxError::new(
                format!("$expand nested deeper than {MAX_EXPAND_DEPTH} levels"),
                piece.pos,
            )));
        }
        let query = match options {
            Some(inner) => parse_expand_options(inner, path, depth, site)?,
            None => Query::default(),
        };
        let Some((leaf, parents)) = segments.split_last() else {
            continue;
        };
        let mut expand = Expand {
            nav: (*leaf).to_owned(),
            query,
        };
        for nav in parents.iter().rev() {
            expand = Expand {
                nav: (*nav).to_owned(),
                query: Query {
                    expand: vec![expand],
                    ..Query::default()
                },
            };
        }
        merge(&mut expands, expand)
            .map_err(|message| site.error(SyntaxError::new(message, piece.pos)))?;
    }
    Ok(expands)
}

/// The `;`-separated options inside `Nav(...)`.
fn parse_expand_options(
    inner: Piece<'_>,
    path: &str,
    depth: usize,
    site: &Site<'_>,
) -> Result<Query, QueryError> {
    let mut query = Query::default();
    let mut seen = Vec::new();
    for option in split_top_level(inner.text, ';') {
        let option = Piece {
            text: option.text,
            pos: inner.pos + option.pos,
        }
        .trimmed();
        if option.text.is_empty() {
            continue;
        }
        let Some((name, value)) = option.text.split_once('=') else {
            let pos = option.pos + char_count(option.text);
            return Err(site.error(SyntaxError::expected("'=' after the option name", pos)));
        };
        let name = name.trim_end();
        check_name(name, EXPAND_OPTIONS, &mut seen).map_err(|message| {
            site.error(SyntaxError::new(
                format!("{path}: {message} (found '{name}')"),
                option.pos,
            ))
        })?;
        let nested = Site {
            option: site.option,
            context: format!("{path}({name}): "),
            base: option.pos + char_count(option.text) - char_count(value),
            depth,
        };
        apply(&mut query, name, value, &nested)?;
    }
    Ok(query)
}

/// Adds `new` to `expands`, merging with an item for the same navigation
/// property: `Datastreams($top=1),Datastreams/Sensor` is one item.
fn merge(expands: &mut Vec<Expand>, new: Expand) -> Result<(), String> {
    let Some(existing) = expands.iter_mut().find(|e| e.nav == new.nav) else {
        expands.push(new);
        return Ok(());
    };
    let Expand { nav, mut query } = new;
    let children = std::mem::take(&mut query.expand);
    if !query.has_only_expand() {
        if !existing.query.has_only_expand() {
            return Err(format!("'{nav}' expanded twice with options"));
        }
        query.expand = std::mem::take(&mut existing.query.expand);
        existing.query = query;
    }
    for child in children {
        merge(&mut existing.query.expand, child)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_non_negative(" 12 "), Ok(12));
        assert_eq!(parse_non_negative("12x").unwrap_err().pos, 2);
        assert_eq!(parse_non_negative("-1").unwrap_err().pos, 0);
        assert!(parse_non_negative("99999999999999999999999").is_err());
    }

    #[test]
    fn merging() {
        let q = parse_query("$expand=Datastreams,Datastreams($top=2),Datastreams/Sensor").unwrap();
        assert_eq!(q.expand.len(), 1);
        assert_eq!(q.expand[0].query.top, Some(2));
        assert_eq!(q.expand[0].query.expand[0].nav, "Sensor");
        assert!(parse_query("$expand=Datastreams($top=1),Datastreams($top=2)").is_err());
    }
}
