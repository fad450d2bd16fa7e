//! Property tests: CSV line numbers and resume survive any quoting; the
//! mapper never panics; masking keeps lengths.

use std::io::Write;

use cityloop_hub::mapping::Source;
use cityloop_hub::{FieldKind, Library, Mapping, RawRecord, Reader};
use proptest::prelude::*;

fn field() -> impl Strategy<Value = String> {
    prop::string::string_regex("[a-z张三,\"\n\r ]{0,6}").unwrap()
}

fn quote(f: &str) -> String {
    if f.contains([',', '"', '\n', '\r']) || f.is_empty() {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn csv_line_numbers_and_offsets(rows in prop::collection::vec(prop::collection::vec(field(), 3), 1..12), crlf in any::<bool>()) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("a,b,c{eol}");
        let mut expected_lines = Vec::new();
        let mut line = 2u64;
        for r in &rows {
            expected_lines.push(line);
            let joined: Vec<String> = r.iter().map(|f| quote(f)).collect();
            let rec = joined.join(",");
            line += rec.matches('\n').count() as u64 + 1;
            text.push_str(&rec);
            text.push_str(eol);
        }
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        let source = Source::csv();
        let records: Vec<RawRecord> = Reader::open(file.path(), &source).unwrap().map(|r| r.unwrap()).collect();
        let lines: Vec<u64> = records.iter().map(|r| r.line).collect();
        prop_assert_eq!(&lines, &expected_lines);
        let values: Vec<Vec<String>> = records.iter().map(|r| r.values.clone()).collect();
        prop_assert_eq!(&values, &rows);
        // Resume after every record: the rest comes back with the same lines.
        for (i, r) in records.iter().enumerate() {
            let next_line = expected_lines.get(i + 1).copied().unwrap_or(line);
            let rest: Vec<RawRecord> = Reader::open_at(file.path(), &source, r.offset, next_line).unwrap().map(|r| r.unwrap()).collect();
            prop_assert_eq!(rest, records[i + 1..].to_vec());
        }
    }

    #[test]
    fn the_mapper_never_panics(values in prop::collection::vec(any::<String>(), 0..12)) {
        let lib = Library::bundled().unwrap();
        for (id, text) in cityloop_hub::mapping::BUNDLED {
            let mapping = Mapping::parse(text).unwrap();
            let headers: Vec<String> = match *id {
                "demo-putuo-police-population" => cityloop_hub::demo::POLICE_HEADER.split(',').map(String::from).collect(),
                "demo-civil-affairs-population" => cityloop_hub::demo::CIVIL_HEADER.iter().map(|s| s.to_string()).collect(),
                _ => cityloop_hub::demo::COMPONENT_TEXT.lines().next().unwrap().split(',').map(String::from).collect(),
            };
            let compiled = mapping.compile(&lib, &headers).unwrap();
            match compiled.map(&RawRecord::new(2, values.clone())) {
                Ok(row) => { let _ = row.to_json(compiled.standard()); }
                Err(rejections) => prop_assert!(!rejections.is_empty()),
            }
        }
    }

    #[test]
    fn masking_keeps_length(id in "[0-9]{17}[0-9X]", phone in "1[3-9][0-9]{9}") {
        use cityloop_hub::Classification::*;
        let masked_id = cityloop_hub::mask(FieldKind::IdNumber, SensitivePersonal, &id);
        prop_assert_eq!(masked_id.chars().count(), 18);
        prop_assert_eq!(&masked_id[..3], &id[..3]);
        prop_assert_eq!(&masked_id[14..], &id[14..]);
        prop_assert_eq!(masked_id.matches('*').count(), 11);
        let masked_phone = cityloop_hub::mask(FieldKind::Mobile, Personal, &phone);
        prop_assert_eq!(masked_phone.len(), 11);
        prop_assert_eq!(masked_phone, format!("{}****{}", &phone[..3], &phone[7..]));
    }
}
