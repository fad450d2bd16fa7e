//! Tokenizer for `$filter` / `$orderby` expressions.
//!
//! Works on characters (not bytes), so every position it reports is a
//! character offset and no slicing can split a UTF-8 sequence.

use chrono::{DateTime, NaiveDate, NaiveTime};

use crate::ast::Literal;
use crate::error::SyntaxError;
use crate::temporal::parse_duration;

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A name: property, navigation property, function, or keyword.
    Ident(String),
    /// An unsigned number as written (the parser folds a preceding `-`).
    Number(String),
    /// A string, date, date-time, time, duration or geometry literal.
    Literal(Literal),
    LParen,
    RParen,
    Comma,
    Slash,
    Minus,
    /// End of input (always the last token).
    End,
}

/// A token and the character position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
}

/// Splits `src` into tokens, ending with [`Tok::End`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, SyntaxError> {
    Lexer {
        chars: src.chars().collect(),
        pos: 0,
    }
    .run()
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '@'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '@' | '.')
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    fn is(&self, i: usize, c: char) -> bool {
        self.at(i) == Some(c)
    }

    fn digits_at(&self, i: usize, n: usize) -> bool {
        (i..i + n).all(|j| self.at(j).is_some_and(|c| c.is_ascii_digit()))
    }

    /// Takes `n` characters from the current position.
    fn take(&mut self, n: usize) -> String {
        let end = (self.pos + n).min(self.chars.len());
        let s = self
            .chars
            .get(self.pos..end)
            .unwrap_or_default()
            .iter()
            .collect();
        self.pos = end;
        s
    }

    /// Takes characters while `f` holds.
    fn take_while(&mut self, f: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        while let Some(c) = self.at(self.pos).filter(|&c| f(c)) {
            s.push(c);
            self.pos += 1;
        }
        s
    }

    fn run(mut self) -> Result<Vec<Token>, SyntaxError> {
        let mut out = Vec::new();
        while let Some(c) = self.at(self.pos) {
            let start = self.pos;
            let tok = match c {
                c if c.is_whitespace() => {
                    self.pos += 1;
                    continue;
                }
                '(' | ')' | ',' | '/' | '-' => {
                    self.pos += 1;
                    match c {
                        '(' => Tok::LParen,
                        ')' => Tok::RParen,
                        ',' => Tok::Comma,
                        '/' => Tok::Slash,
                        _ => Tok::Minus,
                    }
                }
                '\'' => Tok::Literal(Literal::String(self.string()?)),
                c if c.is_ascii_digit() => {
                    let tok = self.number_or_temporal()?;
                    if let Some(c) = self.at(self.pos).filter(|&c| is_ident_char(c)) {
                        return Err(SyntaxError::new(
                            format!("unexpected character '{c}'"),
                            self.pos,
                        ));
                    }
                    tok
                }
                c if is_ident_start(c) => self.ident()?,
                other => {
                    return Err(SyntaxError::new(
                        format!("unexpected character '{other}'"),
                        start,
                    ));
                }
            };
            out.push(Token { tok, pos: start });
        }
        out.push(Token {
            tok: Tok::End,
            pos: self.pos,
        });
        Ok(out)
    }

    /// A single-quoted string starting at the current position; `''` is a quote.
    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.at(self.pos) {
                None => return Err(SyntaxError::new("unterminated string literal", start)),
                Some('\'') if self.is(self.pos + 1, '\'') => {
                    s.push('\'');
                    self.pos += 2;
                }
                Some('\'') => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some(c) => {
                    s.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A name, or a typed literal such as `duration'P1D'`.
    fn ident(&mut self) -> Result<Tok, SyntaxError> {
        let start = self.pos;
        let name = self.take_while(is_ident_char);
        if !self.is(self.pos, '\'') {
            return Ok(Tok::Ident(name));
        }
        let literal = match name.as_str() {
            "duration" => {
                let text = self.string()?;
                parse_duration(&text)
                    .map(Literal::Duration)
                    .ok_or_else(|| SyntaxError::expected("an ISO 8601 duration", start))?
            }
            "geography" | "geometry" => {
                let text = self.string()?;
                crate::geo::parse_wkt(&text)
                    .map(Literal::Geometry)
                    .map_err(|why| SyntaxError::new(format!("invalid WKT ({why})"), start))?
            }
            _ => {
                return Err(SyntaxError::new(
                    format!("unknown literal type '{name}'"),
                    start,
                ));
            }
        };
        Ok(Tok::Literal(literal))
    }

    /// A number, a date `2013-01-01`, a date-time `2013-01-01T00:00:00Z`, or a
    /// time of day `08:00:00`.
    fn number_or_temporal(&mut self) -> Result<Tok, SyntaxError> {
        let i = self.pos;
        if self.digits_at(i, 4)
            && self.is(i + 4, '-')
            && self.digits_at(i + 5, 2)
            && self.is(i + 7, '-')
            && self.digits_at(i + 8, 2)
        {
            return self.date_or_datetime().map(Tok::Literal);
        }
        if self.digits_at(i, 2) && self.is(i + 2, ':') && self.digits_at(i + 3, 2) {
            let clock = self.clock()?;
            return NaiveTime::parse_from_str(&clock, "%H:%M:%S%.f")
                .map(|t| Tok::Literal(Literal::TimeOfDay(t)))
                .map_err(|_| SyntaxError::expected("a valid time of day", i));
        }
        let mut text = self.take_while(|c| c.is_ascii_digit());
        if self.is(self.pos, '.') && self.digits_at(self.pos + 1, 1) {
            text.push_str(&self.take(1));
            text.push_str(&self.take_while(|c| c.is_ascii_digit()));
        }
        if matches!(self.at(self.pos), Some('e' | 'E')) {
            let signed = matches!(self.at(self.pos + 1), Some('+' | '-'));
            let digits_at = self.pos + 1 + usize::from(signed);
            if self.digits_at(digits_at, 1) {
                text.push_str(&self.take(digits_at - self.pos));
                text.push_str(&self.take_while(|c| c.is_ascii_digit()));
            }
        }
        Ok(Tok::Number(text))
    }

    /// `hh:mm[:ss[.fff]]` at the current position (first five characters
    /// already checked), normalised to `hh:mm:ss[.fff]`.
    fn clock(&mut self) -> Result<String, SyntaxError> {
        let mut clock = self.take(5);
        if self.is(self.pos, ':') && self.digits_at(self.pos + 1, 2) {
            clock.push_str(&self.take(3));
            if self.is(self.pos, '.') && self.digits_at(self.pos + 1, 1) {
                let dot = self.pos;
                clock.push_str(&self.take(1));
                let fraction = self.take_while(|c| c.is_ascii_digit());
                if fraction.len() > 9 {
                    return Err(SyntaxError::expected("at most 9 fractional digits", dot));
                }
                clock.push_str(&fraction);
            }
        } else {
            clock.push_str(":00");
        }
        Ok(clock)
    }

    /// A date, or a date-time when a `T` and a clock follow.
    fn date_or_datetime(&mut self) -> Result<Literal, SyntaxError> {
        let start = self.pos;
        let date = self.take(10);
        let t = self.pos;
        let has_time = matches!(self.at(t), Some('T' | 't'))
            && self.digits_at(t + 1, 2)
            && self.is(t + 3, ':')
            && self.digits_at(t + 4, 2);
        if !has_time {
            return NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .map(Literal::Date)
                .map_err(|_| SyntaxError::expected("a valid date", start));
        }
        self.pos += 1;
        let clock = self.clock()?;
        let offset = self.offset();
        DateTime::parse_from_rfc3339(&format!("{date}T{clock}{offset}"))
            .map(Literal::DateTime)
            .map_err(|_| SyntaxError::expected("a valid date-time", start))
    }

    /// The UTC offset after a date-time, normalised to `±hh:mm`. A space
    /// followed by `hh:mm` is a `+` that URL decoding turned into a space.
    /// No offset means UTC.
    fn offset(&mut self) -> String {
        let i = self.pos;
        match self.at(i) {
            Some('Z' | 'z') => {
                self.pos += 1;
                "+00:00".to_owned()
            }
            Some(sign @ ('+' | '-' | ' '))
                if self.digits_at(i + 1, 2)
                    && self.is(i + 3, ':')
                    && self.digits_at(i + 4, 2)
                    && !self
                        .at(i + 6)
                        .is_some_and(|c| c.is_ascii_digit() || c == ':') =>
            {
                self.pos += 1;
                let sign = if sign == '-' { '-' } else { '+' };
                format!("{sign}{}", self.take(5))
            }
            Some(sign @ ('+' | '-')) if self.digits_at(i + 1, 4) && !self.digits_at(i + 5, 1) => {
                self.pos += 1;
                let digits = self.take(4);
                let (hh, mm) = digits.split_at(2);
                format!("{sign}{hh}:{mm}")
            }
            _ => "+00:00".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_and_names() {
        assert_eq!(
            toks("a/b 1.5e3 -2"),
            vec![
                Tok::Ident("a".into()),
                Tok::Slash,
                Tok::Ident("b".into()),
                Tok::Number("1.5e3".into()),
                Tok::Minus,
                Tok::Number("2".into()),
                Tok::End
            ]
        );
    }

    #[test]
    fn datetimes() {
        let expected = DateTime::parse_from_rfc3339("2013-01-01T08:00:00.5+08:00").unwrap();
        for s in [
            "2013-01-01T08:00:00.5+08:00",
            "2013-01-01T08:00:00.5 08:00",
            "2013-01-01T08:00:00.5+0800",
            "2013-01-01T00:00:00.5Z",
        ] {
            match &toks(s)[0] {
                Tok::Literal(Literal::DateTime(t)) => assert_eq!(*t, expected, "{s}"),
                other => panic!("{s}: {other:?}"),
            }
        }
        assert!(tokenize("2013-13-01").is_err());
        assert!(tokenize("2013-01-01T25:00:00Z").is_err());
    }

    #[test]
    fn strings() {
        assert_eq!(
            toks("'it''s'"),
            vec![Tok::Literal(Literal::String("it's".into())), Tok::End]
        );
        let err = tokenize("x eq 'abc").unwrap_err();
        assert_eq!(err.pos, 5);
    }

    #[test]
    fn multibyte_is_safe() {
        assert!(tokenize("名 eq '值' and x eq 'é'").is_ok());
        assert_eq!(tokenize("x eq €").unwrap_err().pos, 5);
    }
}
