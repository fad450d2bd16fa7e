//! Validators and parsers for the identifiers and dates Chinese government
//! data is full of. Each returns a human-readable reason on failure (the
//! reason a quarantined row carries), never panics, and allocates only on
//! failure, because the pipeline calls them millions of times.

use chrono::{Datelike, NaiveDate, NaiveDateTime};

/// GB 11643-1999 weights of the 17 body digits of a citizen ID number.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// GB 11643-1999 check characters indexed by the weighted sum mod 11.
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// The check character GB 11643 requires for the first 17 digits, or `None`
/// when `body` is not 17 ASCII digits.
pub fn id_check_char(body: &str) -> Option<char> {
    let bytes = body.as_bytes();
    if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(ID_CHECK[(sum % 11) as usize] as char)
}

/// Checks an 18-character citizen ID number (GB 11643): digits, an
/// administrative-division prefix starting 1–8, a real birth date not before
/// 1900, and the check character (an upper-case `X` for 10; callers
/// normalise a lower-case `x` first).
pub fn check_id_number(id: &str) -> Result<(), String> {
    let bytes = id.as_bytes();
    if bytes.len() != 18 {
        return Err(format!(
            "must have 18 characters, has {}",
            id.chars().count()
        ));
    }
    let Some(expected) = id.get(..17).and_then(id_check_char) else {
        return Err("the first 17 characters must be digits".to_string());
    };
    if !(b'1'..=b'8').contains(&bytes[0]) {
        return Err(format!("unknown region prefix {}", &id[..6]));
    }
    let birth = &id[6..14];
    match id_birth_date(id) {
        Some(d) if d.year() >= 1900 => {}
        _ => return Err(format!("birth date {birth} is not a real date")),
    }
    let actual = bytes[17] as char;
    if actual != expected {
        return Err(format!("check digit is {actual}, expected {expected}"));
    }
    Ok(())
}

/// The birth date encoded in characters 7–14 of an 18-character ID number.
pub fn id_birth_date(id: &str) -> Option<NaiveDate> {
    let digits = id.get(6..14)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = digits[0..4].parse().ok()?;
    let month: u32 = digits[4..6].parse().ok()?;
    let day: u32 = digits[6..8].parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The sex encoded in an ID number's 17th digit as a GB/T 2261.1 code
/// (`"1"` male for odd, `"2"` female for even).
pub fn id_sex_code(id: &str) -> Option<&'static str> {
    let digit = *id.as_bytes().get(16)?;
    digit
        .is_ascii_digit()
        .then(|| if (digit - b'0') % 2 == 1 { "1" } else { "2" })
}

/// Checks a mainland mobile number: 11 digits, `1` then `3`–`9`.
pub fn check_mobile(mobile: &str) -> Result<(), String> {
    let bytes = mobile.as_bytes();
    if !bytes.iter().all(u8::is_ascii_digit) {
        return Err(format!("'{mobile}' is not all digits"));
    }
    if bytes.len() != 11 {
        return Err(format!("must have 11 digits, has {}", bytes.len()));
    }
    if bytes[0] != b'1' || !(b'3'..=b'9').contains(&bytes[1]) {
        return Err(format!("'{mobile}' does not start with 13–19"));
    }
    Ok(())
}

/// The 31 characters of GB 32100-2015 codes (no I, O, S, V, Z).
const CREDIT_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// GB 32100-2015 weights of the 17 body characters.
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The check character GB 32100 requires for the first 17 characters.
pub fn credit_check_char(body: &str) -> Option<char> {
    let bytes = body.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (b, w) in bytes.iter().zip(CREDIT_WEIGHTS) {
        let value = CREDIT_CHARS.iter().position(|c| c == b)? as u32;
        sum += value * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(CREDIT_CHARS[check as usize] as char)
}

/// Checks an 18-character unified social credit code (GB 32100-2015).
pub fn check_credit_code(code: &str) -> Result<(), String> {
    let bytes = code.as_bytes();
    if bytes.len() != 18 {
        return Err(format!(
            "must have 18 characters, has {}",
            code.chars().count()
        ));
    }
    if let Some(bad) = bytes.iter().find(|b| !CREDIT_CHARS.contains(b)) {
        return Err(format!("character '{}' is not allowed", *bad as char));
    }
    // Every byte is one of CREDIT_CHARS (ASCII), so the slice is whole.
    let Some(expected) = code.get(..17).and_then(credit_check_char) else {
        return Err("the first 17 characters must be allowed characters".to_string());
    };
    let actual = bytes[17] as char;
    if actual != expected {
        return Err(format!("check character is {actual}, expected {expected}"));
    }
    Ok(())
}

/// The largest serial Excel accepts (9999-12-31).
const EXCEL_SERIAL_MAX: f64 = 2_958_465.0;

/// Converts an Excel 1900-system serial day number (possibly with a time
/// fraction) to a date-time. Excel counts 1900-02-29, which never existed:
/// serials from 61 on are one day too high, serial 60 is rejected.
pub fn excel_serial(text: &str) -> Result<NaiveDateTime, String> {
    let serial: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not an Excel serial number"))?;
    if !(1.0..=EXCEL_SERIAL_MAX).contains(&serial) {
        return Err(format!("Excel serial {text} is out of range"));
    }
    let days = serial.trunc() as i64;
    if days == 60 {
        return Err("Excel serial 60 is 1900-02-29, which does not exist".to_string());
    }
    let base = if days < 60 {
        NaiveDate::from_ymd_opt(1899, 12, 31)
    } else {
        NaiveDate::from_ymd_opt(1899, 12, 30)
    }
    .expect("valid base date");
    let date = base + chrono::Duration::days(days);
    let seconds = ((serial - serial.trunc()) * 86_400.0).round() as i64;
    Ok(date.and_hms_opt(0, 0, 0).expect("midnight") + chrono::Duration::seconds(seconds))
}

/// The formats tried for a date when a mapping names none.
pub const DEFAULT_DATE_FORMATS: &[&str] = &["%Y-%m-%d"];
/// The formats tried for a date-time when a mapping names none.
pub const DEFAULT_DATETIME_FORMATS: &[&str] = &["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"];

/// Parses a date with the first of `formats` that fits the whole text.
/// A format is a chrono `strftime` pattern or the word `excel_serial`.
pub fn parse_date<S: AsRef<str>>(text: &str, formats: &[S]) -> Result<NaiveDate, String> {
    for format in formats {
        let format = format.as_ref();
        if format == "excel_serial" {
            if let Ok(dt) = excel_serial(text) {
                return Ok(dt.date());
            }
        } else if let Some(fast) = fast_date(text, format) {
            if let Some(d) = fast {
                return Ok(d);
            }
        } else if compact_fits(text, format)
            && let Ok(d) = NaiveDate::parse_from_str(text, format)
        {
            return Ok(d);
        }
    }
    Err(format!("'{text}' is not a valid date in {}", list(formats)))
}

/// Parses a date-time like [`parse_date`]; a date-only format yields midnight.
pub fn parse_datetime<S: AsRef<str>>(text: &str, formats: &[S]) -> Result<NaiveDateTime, String> {
    for format in formats {
        let format = format.as_ref();
        if format == "excel_serial" {
            if let Ok(dt) = excel_serial(text) {
                return Ok(dt);
            }
        } else if compact_fits(text, format) {
            if let Ok(dt) = NaiveDateTime::parse_from_str(text, format) {
                return Ok(dt);
            }
            if let Ok(d) = NaiveDate::parse_from_str(text, format) {
                return Ok(d.and_hms_opt(0, 0, 0).expect("midnight"));
            }
        }
    }
    Err(format!(
        "'{text}' is not a valid date-time in {}",
        list(formats)
    ))
}

/// The two commonest formats without chrono's format interpreter (a
/// measurable share of the pipeline): `Some(result)` when `format` is one
/// of them, `None` to fall back to chrono.
fn fast_date(text: &str, format: &str) -> Option<Option<NaiveDate>> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let parts = match format {
        "%Y%m%d" if b.len() == 8 => (digits(0..4), digits(4..6), digits(6..8)),
        "%Y%m%d" => return Some(None),
        "%Y-%m-%d" if b.len() == 10 && b[4] == b'-' && b[7] == b'-' => {
            (digits(0..4), digits(5..7), digits(8..10))
        }
        _ => return None,
    };
    let (Some(y), Some(m), Some(d)) = parts else {
        return Some(None);
    };
    Some(NaiveDate::from_ymd_opt(y as i32, m, d))
}

/// chrono reads `%Y%m%d` greedily and would take `1985312` as a date;
/// a format made only of `%Y%m%d` must see exactly eight digits.
fn compact_fits(text: &str, format: &str) -> bool {
    format != "%Y%m%d" || (text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()))
}

fn list<S: AsRef<str>>(formats: &[S]) -> String {
    formats
        .iter()
        .map(|f| f.as_ref())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers() {
        assert_eq!(check_id_number("11010519491231002X"), Ok(()));
        assert_eq!(id_check_char("11010519491231002"), Some('X'));
        assert_eq!(
            check_id_number("110105194912310027"),
            Err("check digit is 7, expected X".to_string())
        );
        assert_eq!(
            check_id_number("110105194902300021"),
            Err("birth date 19490230 is not a real date".to_string())
        );
        assert!(check_id_number("11010519491231002").is_err());
        assert!(check_id_number("11010519491231002x").is_err());
        assert_eq!(
            id_birth_date("11010519491231002X"),
            NaiveDate::from_ymd_opt(1949, 12, 31)
        );
        assert_eq!(id_sex_code("11010519491231002X"), Some("2"));
    }

    #[test]
    fn mobiles() {
        assert_eq!(check_mobile("13812341234"), Ok(()));
        assert_eq!(
            check_mobile("1381234123"),
            Err("must have 11 digits, has 10".to_string())
        );
        assert!(check_mobile("12812341234").is_err());
        assert!(check_mobile("1381234123a").is_err());
    }

    #[test]
    fn credit_codes() {
        // A code published as an example with GB 32100.
        assert_eq!(check_credit_code("91350100M000100Y43"), Ok(()));
        assert_eq!(
            check_credit_code("91350100M000100Y44"),
            Err("check character is 4, expected 3".to_string())
        );
        assert!(check_credit_code("91350100M000100YI3").is_err());
    }

    #[test]
    fn dates_in_each_format() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let cases: &[(&str, &str, NaiveDate)] = &[
            ("1985年3月12日", "%Y年%m月%d日", d(1985, 3, 12)),
            ("1985年03月12日", "%Y年%m月%d日", d(1985, 3, 12)),
            ("19850312", "%Y%m%d", d(1985, 3, 12)),
            ("1985-03-12", "%Y-%m-%d", d(1985, 3, 12)),
            ("1985/3/12", "%Y/%m/%d", d(1985, 3, 12)),
            ("45000", "excel_serial", d(2023, 3, 15)),
            ("1", "excel_serial", d(1900, 1, 1)),
            ("59", "excel_serial", d(1900, 2, 28)),
            ("61", "excel_serial", d(1900, 3, 1)),
            ("31118", "excel_serial", d(1985, 3, 12)),
        ];
        for (text, format, expected) in cases {
            assert_eq!(
                parse_date(text, &[*format]),
                Ok(*expected),
                "{text} {format}"
            );
        }
        assert!(parse_date("60", &["excel_serial"]).is_err());
        assert!(parse_date("19850230", &["%Y%m%d"]).is_err());
        assert!(parse_date("1985312", &["%Y%m%d"]).is_err());
        assert_eq!(
            parse_date("1985.3.12", &["%Y%m%d", "%Y-%m-%d"]),
            Err("'1985.3.12' is not a valid date in %Y%m%d | %Y-%m-%d".to_string())
        );
        assert_eq!(
            parse_datetime("45000.5", &["excel_serial"])
                .unwrap()
                .to_string(),
            "2023-03-15 12:00:00"
        );
    }
}
