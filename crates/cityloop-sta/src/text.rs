//! Text helpers for query strings: percent-decoding and splitting option
//! values at top-level separators while tracking character positions.

/// A piece of a larger string and the character offset where it starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Piece<'a> {
    pub(crate) text: &'a str,
    pub(crate) pos: usize,
}

impl<'a> Piece<'a> {
    /// The piece without surrounding whitespace, its offset adjusted.
    pub(crate) fn trimmed(self) -> Piece<'a> {
        let start = self.text.trim_start();
        let leading = char_count(self.text) - char_count(start);
        Piece {
            text: start.trim_end(),
            pos: self.pos + leading,
        }
    }
}

/// The number of characters in `s`.
pub(crate) fn char_count(s: &str) -> usize {
    s.chars().count()
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a
/// space and `%XX` a byte; malformed escapes are kept literally and invalid
/// UTF-8 is replaced, as browsers and most servers do.
pub(crate) fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex);
                let lo = bytes.get(i + 2).copied().and_then(hex);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi * 16 + lo);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits `s` at every `sep` that is outside parentheses and single-quoted
/// strings (`''` inside a string toggles twice, so it needs no special case).
pub(crate) fn split_top_level(s: &str, sep: char) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut depth = 0usize;
    let mut quoted = false;
    let (mut start_byte, mut start_char) = (0, 0);
    for (char_idx, (byte_idx, c)) in s.char_indices().enumerate() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            c if c == sep && !quoted && depth == 0 => {
                pieces.push(Piece {
                    text: s.get(start_byte..byte_idx).unwrap_or_default(),
                    pos: start_char,
                });
                start_byte = byte_idx + c.len_utf8();
                start_char = char_idx + 1;
            }
            _ => {}
        }
    }
    pieces.push(Piece {
        text: s.get(start_byte..).unwrap_or_default(),
        pos: start_char,
    });
    pieces
}

/// The byte index of the `)` matching the `(` that `s` starts with,
/// skipping quoted strings.
pub(crate) fn closing_paren(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a+b%20c%2B%27"), "a b c+'");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%e4%b8%ad"), "%zz中");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
    }

    #[test]
    fn splitting() {
        let pieces = split_top_level("a($x=1,2;'b,c'),é, d", ',');
        let texts: Vec<_> = pieces.iter().map(|p| (p.text, p.pos)).collect();
        assert_eq!(texts, vec![("a($x=1,2;'b,c')", 0), ("é", 16), (" d", 18)]);
        assert_eq!(pieces[2].trimmed(), Piece { text: "d", pos: 19 });
        assert_eq!(closing_paren("(a(')')b)c"), Some(8));
        assert_eq!(closing_paren("(a"), None);
    }
}
