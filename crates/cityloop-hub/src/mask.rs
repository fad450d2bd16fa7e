//! Masking of personal data for display, and who sees what.
//!
//! Key design decision: masking keeps the *shape* of a value (its length
//! for ID numbers and phones, the surname of a name, the district and street
//! of an address) so a masked record is still useful for checking and
//! counting, but never enough to identify or contact the person. Whether a
//! value is shown clear, masked or not at all is decided by its
//! classification in the standard ([`visibility`]), not by the screen.

use crate::standard::{Classification, FieldKind, MaskHint, Standard, StandardField};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Visibility {
    Clear,
    Masked,
    Hidden,
}

/// What a reader sees of a value: public and internal data pass; personal
/// and sensitive personal data are masked unless the reader was explicitly
/// granted clear access (for a purpose, logged by the caller).
pub fn visibility(classification: Classification, granted_clear: bool) -> Visibility {
    match classification {
        Classification::Public | Classification::Internal => Visibility::Clear,
        Classification::Personal | Classification::SensitivePersonal if granted_clear => {
            Visibility::Clear
        }
        Classification::Personal | Classification::SensitivePersonal => Visibility::Masked,
    }
}

/// What the public (open data) sees: internal data and sensitive personal
/// data are hidden, personal data masked.
pub fn public_visibility(classification: Classification) -> Visibility {
    match classification {
        Classification::Public => Visibility::Clear,
        Classification::Personal => Visibility::Masked,
        Classification::Internal | Classification::SensitivePersonal => Visibility::Hidden,
    }
}

/// Two-character surnames common enough to keep whole.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "令狐",
];

/// Masks a value of a Public/Internal field as is; for personal data by
/// kind. Text is masked as a name when short (≤ 4 characters) and as an
/// address otherwise; use [`mask_field`] when the standard says which.
pub fn mask(kind: FieldKind, classification: Classification, value: &str) -> String {
    if classification <= Classification::Internal {
        return value.to_string();
    }
    match kind {
        FieldKind::Text if value.chars().count() <= 4 => mask_name(value),
        FieldKind::Text => mask_address(value),
        FieldKind::IdNumber | FieldKind::CreditCode => keep_ends(value, 3, 4),
        FieldKind::Mobile => keep_ends(value, 3, 4),
        FieldKind::Date | FieldKind::DateTime => match value.get(..4) {
            Some(year) if value.len() >= 10 => format!("{year}-**-**"),
            _ => stars(value),
        },
        // About 1 km: enough for a map of where people live, not for a door.
        FieldKind::Lon | FieldKind::Lat => match value.parse::<f64>() {
            Ok(v) => format!("{:.2}", v),
            Err(_) => stars(value),
        },
        // A street-level area code says no more than the masked address.
        FieldKind::AreaCode => value.chars().take(9).collect(),
        // A code of a small code table (sex, status) names no one: it is
        // what statistics by group need, so it passes.
        FieldKind::Code | FieldKind::Boolean => value.to_string(),
        _ => stars(value),
    }
}

/// Masks a value as its standard field says.
pub fn mask_field(field: &StandardField, value: &str) -> String {
    if field.classification <= Classification::Internal {
        return value.to_string();
    }
    match field.mask {
        Some(MaskHint::Name) => mask_name(value),
        Some(MaskHint::Address) => mask_address(value),
        None => mask(field.kind, field.classification, value),
    }
}

/// Applies visibility to a mapped row's JSON object: masked fields are
/// masked, hidden fields removed. Derived fields are left as they are (they
/// are statistics).
pub fn apply(
    standard: &Standard,
    row: &mut serde_json::Map<String, serde_json::Value>,
    granted_clear: bool,
) {
    for field in &standard.fields {
        match visibility(field.classification, granted_clear) {
            Visibility::Clear => {}
            Visibility::Hidden => {
                row.remove(&field.name);
            }
            Visibility::Masked => {
                if let Some(value) = row.get_mut(&field.name) {
                    let text = match &*value {
                        serde_json::Value::Null => continue,
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    *value = serde_json::Value::String(mask_field(field, &text));
                }
            }
        }
    }
}

/// `张三` → `张*`, `张三丰` → `张**`, `欧阳娜娜` → `欧阳**`.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let keep = if chars.len() >= 3 && COMPOUND_SURNAMES.iter().any(|s| name.starts_with(s)) {
        2
    } else {
        1
    };
    if chars.len() <= 1 {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .take(keep)
        .chain(std::iter::repeat_n(&'*', chars.len() - keep))
        .collect()
}

/// Keeps an address up to its street level (街道/镇/乡), else up to the
/// district (区/县), else its first six characters, and adds `***`.
pub fn mask_address(address: &str) -> String {
    for markers in [&["街道"][..], &["镇", "乡"][..], &["区", "县"][..]] {
        let cut = markers
            .iter()
            .filter_map(|m| address.find(m).map(|i| i + m.len()))
            .min();
        if let Some(cut) = cut {
            return format!("{}***", &address[..cut]);
        }
    }
    let kept: String = address.chars().take(6).collect();
    format!("{kept}***")
}

/// Keeps `head` and `tail` characters and stars the middle, keeping length.
fn keep_ends(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= head + tail {
        return stars(value);
    }
    let middle = chars.len() - head - tail;
    chars[..head]
        .iter()
        .chain(std::iter::repeat_n(&'*', middle))
        .chain(&chars[chars.len() - tail..])
        .collect()
}

fn stars(value: &str) -> String {
    "*".repeat(value.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Classification::*;

    #[test]
    fn examples_from_the_issue() {
        assert_eq!(mask(FieldKind::Text, Personal, "张三"), "张*");
        assert_eq!(mask(FieldKind::Text, Personal, "张三丰"), "张**");
        assert_eq!(
            mask(FieldKind::Mobile, Personal, "13812341234"),
            "138****1234"
        );
        assert_eq!(
            mask(FieldKind::IdNumber, SensitivePersonal, "11010519491231001X"),
            "110***********001X"
        );
        assert_eq!(
            mask(FieldKind::CreditCode, Personal, "91350100M000100Y43"),
            "913***********0Y43"
        );
        assert_eq!(mask_name("欧阳娜娜"), "欧阳**");
        assert_eq!(
            mask_address("上海市普陀区长寿路街道澳门路100弄3号"),
            "上海市普陀区长寿路街道***"
        );
        assert_eq!(mask_address("普陀区中山北路2000号"), "普陀区***");
        assert_eq!(mask(FieldKind::Date, Personal, "1985-03-12"), "1985-**-**");
        assert_eq!(mask(FieldKind::Lon, Personal, "121.4321"), "121.43");
        // Public and internal data pass unmasked.
        assert_eq!(
            mask(FieldKind::Mobile, Internal, "13812341234"),
            "13812341234"
        );
    }

    #[test]
    fn who_sees_what() {
        assert_eq!(visibility(Public, false), Visibility::Clear);
        assert_eq!(visibility(Internal, false), Visibility::Clear);
        assert_eq!(visibility(Personal, false), Visibility::Masked);
        assert_eq!(visibility(SensitivePersonal, false), Visibility::Masked);
        assert_eq!(visibility(SensitivePersonal, true), Visibility::Clear);
        assert_eq!(public_visibility(SensitivePersonal), Visibility::Hidden);
    }
}
