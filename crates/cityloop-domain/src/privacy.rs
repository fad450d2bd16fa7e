//! Personal numbers typed into free text that the public will read (a
//! citizen's description of a problem): mobile numbers, landlines and
//! resident ID numbers are masked before the text leaves for a public list
//! or page; the stored text stays whole for the staff who handle the case.
//!
//! | found | shown |
//! |---|---|
//! | mobile `13812341234` | `138****1234` |
//! | ID (18, GB 11643) `11010519491231001X` | `110***********001X` |
//! | ID (15, old) `110105491231001` | `110********1001` |
//! | other runs of 7–17 digits (landlines, card numbers) | all but the last 4 digits masked |
//!
//! A "run" is a maximal sequence of ASCII digits, optionally joined by
//! single spaces or hyphens between digit groups (`138 1234 1234`,
//! `021-6234-5678`); the separators are kept. Shorter runs (house numbers,
//! dates like `2026`, counts) are left alone.

/// The shortest digit run that is masked.
pub const MASK_DIGITS_MIN: usize = 7;

/// `text` with every personal number masked (see the module docs).
pub fn mask_personal_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A run: digits, with single separators between digit groups, and
        // an ID number's final X.
        let start = i;
        let mut end = i;
        while end < chars.len() {
            let c = chars[end];
            let joins_groups = (c == ' ' || c == '-')
                && end > start
                && chars.get(end + 1).is_some_and(char::is_ascii_digit);
            if c.is_ascii_digit() || joins_groups {
                end += 1;
            } else {
                break;
            }
        }
        let digits = chars[start..end]
            .iter()
            .filter(|c| c.is_ascii_digit())
            .count();
        let id_x = digits == 17 && end < chars.len() && matches!(chars[end], 'X' | 'x');
        if id_x {
            end += 1;
        }
        let run = &chars[start..end];
        if digits < MASK_DIGITS_MIN {
            out.extend(run);
        } else {
            out.push_str(&mask_run(run, digits + usize::from(id_x)));
        }
        i = end;
    }
    out
}

/// Masks one run of `symbols` digits (an ID's X counted): keeps the first 3
/// of a mobile or ID number and the last 4 of every number.
fn mask_run(run: &[char], symbols: usize) -> String {
    let first = run.iter().find(|c| c.is_ascii_digit()).copied();
    let head = match symbols {
        11 if first == Some('1') => 3,
        15 | 18 => 3,
        _ => 0,
    };
    let tail = 4;
    let mut seen = 0;
    run.iter()
        .map(|&c| {
            if c == ' ' || c == '-' {
                return c;
            }
            seen += 1;
            if seen <= head || seen > symbols - tail {
                c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_documented_examples() {
        assert_eq!(
            mask_personal_numbers("电话13812341234，身份证11010519491231001X"),
            "电话138****1234，身份证110***********001X"
        );
        assert_eq!(
            mask_personal_numbers("call 138 1234 5678 or 021-6234-5678"),
            "call 138 **** 5678 or ***-****-5678"
        );
        assert_eq!(
            mask_personal_numbers("old id 110105491231001."),
            "old id 110********1001."
        );
        assert_eq!(
            mask_personal_numbers("长寿路 1200 号，2026 年 3 栋 101 室"),
            "长寿路 1200 号，2026 年 3 栋 101 室"
        );
        assert_eq!(mask_personal_numbers(""), "");
    }

    proptest! {
        /// Masking keeps every character that is not a masked digit, and no
        /// 11-digit mobile number or 18-symbol ID number survives it.
        #[test]
        fn masked_text_keeps_its_shape_and_hides_numbers(
            text in "[0-9 Xa-z长寿路-]{0,60}",
        ) {
            let masked = mask_personal_numbers(&text);
            prop_assert_eq!(masked.chars().count(), text.chars().count());
            for (a, b) in text.chars().zip(masked.chars()) {
                prop_assert!(a == b || (a.is_ascii_digit() || a == 'X' || a == 'x') && b == '*');
            }
            let digits: Vec<char> = masked.chars().collect();
            for window in digits.windows(11) {
                prop_assert!(!window.iter().all(char::is_ascii_digit), "{masked}");
            }
            prop_assert_eq!(mask_personal_numbers(&masked), masked.clone(), "idempotent");
        }
    }
}
