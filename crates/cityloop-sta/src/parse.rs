//! Recursive-descent parser for `$filter` and `$orderby` expressions.
//!
//! Precedence, lowest first: `or`; `and`; `not`; comparisons; `add sub`;
//! `mul div mod`; unary `-`; primaries. Nesting is bounded by
//! [`MAX_EXPR_DEPTH`], so hostile input cannot overflow the stack.

use crate::ast::{ArithOp, CompareOp, Expr, Function, Literal, OPERATOR_KEYWORDS};
use crate::error::{QueryError, SyntaxError};
use crate::lexer::{Tok, Token, tokenize};
use crate::options::OrderBy;
use crate::{MAX_EXPR_DEPTH, MAX_QUERY_LEN};

/// Parses one `$filter` expression (already URL-decoded).
///
/// ```
/// use cityloop_sta::{parse_filter, Expr};
///
/// let expr = parse_filter("result gt 20 and Datastream/Thing/name eq 'kerb'").unwrap();
/// assert!(matches!(expr, Expr::And(ref items) if items.len() == 2));
/// let err = parse_filter("(result gt 20").unwrap_err();
/// assert_eq!(err.to_string(), "$filter: expected ')' at position 13");
/// ```
pub fn parse_filter(s: &str) -> Result<Expr, QueryError> {
    parse_expression(s).map_err(|e| e.into_query_error("$filter", "", 0))
}

/// Parses a whole expression.
pub(crate) fn parse_expression(s: &str) -> Result<Expr, SyntaxError> {
    let mut parser = Parser::new(s)?;
    let expr = parser.expression()?;
    parser.expect_end("an operator or end of expression")?;
    Ok(expr)
}

/// Parses a `$orderby` value: comma-separated `expr [asc|desc]`.
pub(crate) fn parse_orderby(s: &str) -> Result<Vec<OrderBy>, SyntaxError> {
    let mut parser = Parser::new(s)?;
    let mut keys = Vec::new();
    loop {
        let expr = parser.expression()?;
        let descending = match parser.peek() {
            Tok::Ident(word) if word.eq_ignore_ascii_case("desc") => true,
            Tok::Ident(word) if word.eq_ignore_ascii_case("asc") => false,
            _ => {
                keys.push(OrderBy {
                    expr,
                    descending: false,
                });
                if parser.eat(&Tok::Comma) {
                    continue;
                }
                parser.expect_end("'asc', 'desc', ',' or end of $orderby")?;
                return Ok(keys);
            }
        };
        parser.bump();
        keys.push(OrderBy { expr, descending });
        if !parser.eat(&Tok::Comma) {
            parser.expect_end("',' or end of $orderby")?;
            return Ok(keys);
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    idx: usize,
    /// A conservative bound on the depth of the tree being built at the
    /// current position.
    depth: usize,
}

impl Parser {
    fn new(s: &str) -> Result<Self, SyntaxError> {
        if s.len() > MAX_QUERY_LEN {
            return Err(SyntaxError::new(
                format!("expression longer than {MAX_QUERY_LEN} bytes"),
                0,
            ));
        }
        Ok(Self {
            tokens: tokenize(s)?,
            idx: 0,
            depth: 0,
        })
    }

    fn token(&self) -> Option<&Token> {
        self.tokens.get(self.idx).or_else(|| self.tokens.last())
    }

    fn peek(&self) -> &Tok {
        self.token().map_or(&Tok::End, |t| &t.tok)
    }

    fn pos(&self) -> usize {
        self.token().map_or(0, |t| t.pos)
    }

    fn bump(&mut self) {
        if self.idx + 1 < self.tokens.len() {
            self.idx += 1;
        }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        let found = self.peek() == tok;
        if found {
            self.bump();
        }
        found
    }

    fn is_keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w == word)
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> Result<(), SyntaxError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(SyntaxError::expected(what, self.pos()))
        }
    }

    fn expect_end(&self, what: &str) -> Result<(), SyntaxError> {
        match self.peek() {
            Tok::End => Ok(()),
            _ => Err(SyntaxError::expected(what, self.pos())),
        }
    }

    /// Goes one level deeper, failing beyond [`MAX_EXPR_DEPTH`].
    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_EXPR_DEPTH {
            return Err(SyntaxError::new(
                format!("expression nested deeper than {MAX_EXPR_DEPTH} levels"),
                self.pos(),
            ));
        }
        Ok(())
    }

    fn leave(&mut self, levels: usize) {
        self.depth = self.depth.saturating_sub(levels);
    }

    /// expression := and ('or' and)*
    fn expression(&mut self) -> Result<Expr, SyntaxError> {
        self.enter()?;
        let first = self.and()?;
        let result = if self.is_keyword("or") {
            let mut items = vec![first];
            while self.is_keyword("or") {
                self.bump();
                items.push(self.and()?);
            }
            Expr::Or(items)
        } else {
            first
        };
        self.leave(1);
        Ok(result)
    }

    /// and := not ('and' not)*
    fn and(&mut self) -> Result<Expr, SyntaxError> {
        let first = self.not()?;
        if !self.is_keyword("and") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.is_keyword("and") {
            self.bump();
            items.push(self.not()?);
        }
        Ok(Expr::And(items))
    }

    /// not := 'not' not | comparison
    fn not(&mut self) -> Result<Expr, SyntaxError> {
        if !self.is_keyword("not") {
            return self.comparison();
        }
        self.bump();
        self.enter()?;
        let operand = self.not()?;
        self.leave(1);
        Ok(Expr::Not(Box::new(operand)))
    }

    /// comparison := additive (cmp-op additive)*
    fn comparison(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.additive()?;
        let mut levels = 0;
        while let Some(op) = self.keyword_op(CompareOp::from_keyword) {
            self.bump();
            self.enter()?;
            levels += 1;
            let right = self.additive()?;
            left = Expr::Compare {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        self.leave(levels);
        Ok(left)
    }

    /// additive := multiplicative (('add'|'sub') multiplicative)*
    fn additive(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.multiplicative()?;
        let mut levels = 0;
        while let Some(op) = self.keyword_op(|w| {
            ArithOp::from_keyword(w).filter(|op| matches!(op, ArithOp::Add | ArithOp::Sub))
        }) {
            self.bump();
            self.enter()?;
            levels += 1;
            let right = self.multiplicative()?;
            left = arith(op, left, right);
        }
        self.leave(levels);
        Ok(left)
    }

    /// multiplicative := unary (('mul'|'div'|'mod') unary)*
    fn multiplicative(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.unary()?;
        let mut levels = 0;
        while let Some(op) = self.keyword_op(|w| {
            ArithOp::from_keyword(w)
                .filter(|op| matches!(op, ArithOp::Mul | ArithOp::Div | ArithOp::Mod))
        }) {
            self.bump();
            self.enter()?;
            levels += 1;
            let right = self.unary()?;
            left = arith(op, left, right);
        }
        self.leave(levels);
        Ok(left)
    }

    fn keyword_op<T>(&self, f: impl Fn(&str) -> Option<T>) -> Option<T> {
        match self.peek() {
            Tok::Ident(word) => f(word),
            _ => None,
        }
    }

    /// unary := '-' unary | primary; `-` directly before a number is part of
    /// the literal.
    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        if !self.eat(&Tok::Minus) {
            return self.primary();
        }
        if let Tok::Number(text) = self.peek() {
            let literal = number_literal(&format!("-{text}"));
            self.bump();
            return Ok(Expr::Literal(literal));
        }
        self.enter()?;
        let operand = self.unary()?;
        self.leave(1);
        Ok(Expr::Negate(Box::new(operand)))
    }

    /// primary := '(' expression ')' | literal | function-call | member-path
    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        let start = self.pos();
        match self.peek().clone() {
            Tok::LParen => {
                self.bump();
                let expr = self.expression()?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(expr)
            }
            Tok::Number(text) => {
                self.bump();
                Ok(Expr::Literal(number_literal(&text)))
            }
            Tok::Literal(literal) => {
                self.bump();
                Ok(Expr::Literal(literal))
            }
            Tok::Ident(name) => {
                self.bump();
                match name.as_str() {
                    "true" => return Ok(Expr::Literal(Literal::Bool(true))),
                    "false" => return Ok(Expr::Literal(Literal::Bool(false))),
                    "null" => return Ok(Expr::Literal(Literal::Null)),
                    _ => {}
                }
                if self.peek() == &Tok::LParen {
                    return self.call(&name, start);
                }
                if OPERATOR_KEYWORDS.contains(&name.as_str()) {
                    return Err(SyntaxError::expected("an expression", start));
                }
                self.member(name)
            }
            _ => Err(SyntaxError::expected("an expression", start)),
        }
    }

    /// The rest of a member path after its first segment.
    fn member(&mut self, first: String) -> Result<Expr, SyntaxError> {
        let mut path = vec![first];
        while self.eat(&Tok::Slash) {
            let segment = match self.peek() {
                Tok::Ident(name) if !OPERATOR_KEYWORDS.contains(&name.as_str()) => name.clone(),
                // An array index, as in `properties/tags/0`.
                Tok::Number(digits) if digits.chars().all(|c| c.is_ascii_digit()) => digits.clone(),
                _ => return Err(SyntaxError::expected("a property name", self.pos())),
            };
            path.push(segment);
            self.bump();
        }
        Ok(Expr::Member(path))
    }

    /// A function call; the current token is its `(`.
    fn call(&mut self, name: &str, start: usize) -> Result<Expr, SyntaxError> {
        let function = Function::from_name(name)
            .ok_or_else(|| SyntaxError::new(format!("unknown function '{name}'"), start))?;
        self.bump();
        let mut args = Vec::new();
        if !self.eat(&Tok::RParen) {
            loop {
                args.push(self.expression()?);
                if self.eat(&Tok::RParen) {
                    break;
                }
                self.expect(&Tok::Comma, "',' or ')'")?;
            }
        }
        let (min, max) = function.arity();
        if args.len() < min || args.len() > max {
            let expected = match (min, max) {
                (0, 0) => "no arguments".to_owned(),
                (1, 1) => "1 argument".to_owned(),
                (min, max) if min == max => format!("{min} arguments"),
                (min, max) => format!("{min} to {max} arguments"),
            };
            return Err(SyntaxError::new(
                format!(
                    "function '{}' expects {expected}, found {}",
                    function.name(),
                    args.len()
                ),
                start,
            ));
        }
        Ok(Expr::Call { function, args })
    }
}

fn arith(op: ArithOp, left: Expr, right: Expr) -> Expr {
    Expr::Arith {
        op,
        left: Box::new(left),
        right: Box::new(right),
    }
}

/// An integer literal when it fits in `i64` and has no fraction or exponent;
/// otherwise a float.
fn number_literal(text: &str) -> Literal {
    let is_integer = text.chars().all(|c| c.is_ascii_digit() || c == '-');
    if is_integer && let Ok(i) = text.parse::<i64>() {
        return Literal::Int(i);
    }
    // The lexer only produces well-formed numbers, which always parse.
    text.parse::<f64>().map_or(Literal::Null, Literal::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(path: &[&str]) -> Box<Expr> {
        Box::new(Expr::Member(path.iter().map(|s| s.to_string()).collect()))
    }

    #[test]
    fn precedence() {
        let e = parse_expression("not a eq 1 add 2 mul 3 or b").unwrap();
        let expected = Expr::Or(vec![
            Expr::Not(Box::new(Expr::Compare {
                op: CompareOp::Eq,
                left: member(&["a"]),
                right: Box::new(arith(
                    ArithOp::Add,
                    Expr::Literal(Literal::Int(1)),
                    arith(
                        ArithOp::Mul,
                        Expr::Literal(Literal::Int(2)),
                        Expr::Literal(Literal::Int(3)),
                    ),
                )),
            })),
            Expr::Member(vec!["b".into()]),
        ]);
        assert_eq!(e, expected);
    }

    #[test]
    fn negative_literals() {
        assert_eq!(
            parse_expression("-9223372036854775808").unwrap(),
            Expr::Literal(Literal::Int(i64::MIN))
        );
        assert_eq!(
            parse_expression("-1.5e2").unwrap(),
            Expr::Literal(Literal::Float(-150.0))
        );
        assert_eq!(
            parse_expression("99999999999999999999").unwrap(),
            Expr::Literal(Literal::Float(1e20))
        );
        assert!(matches!(
            parse_expression("-result").unwrap(),
            Expr::Negate(_)
        ));
    }

    #[test]
    fn keywords_are_not_members() {
        assert!(parse_expression("name eq and").is_err());
        assert!(parse_expression("Eq eq 1").is_ok());
    }
}
