//! JSON Lines and JSON arrays through the pipeline: the same records give
//! the same rows and the same rejections, with their lines; a JSONL import
//! resumed from a record's offset reads the rest exactly once.

use cityloop_hub::pipeline::{Batch, PipelineOptions, compile_for_file, map_file_with};
use cityloop_hub::{Library, Mapping, demo};
use std::ops::ControlFlow;

fn mapping(format: &str) -> Mapping {
    Mapping::parse(&format!(
        r#"
id = "t-json"
version = "1"
standard = "population"
owner = "T"

[source]
format = "{format}"

[[field]]
target = "id_number"
source = "sfzh"

[[field]]
target = "name"
source = "xm"

[[field]]
target = "sex"
source = "xb"
codes = {{ "男" = "1", "女" = "2" }}

[[field]]
target = "birth_date"
source = "csrq"
date_formats = ["%Y年%m月%d日", "excel_serial"]

[[field]]
target = "mobile"
source = "sjh"

[[field]]
target = "area_code"
source = "dz"
area_from = "address"
"#
    ))
    .unwrap()
}

/// (id_number, name, sex, birth date text, mobile) of five records; the
/// third has a 10-digit mobile, the fifth an unknown sex word.
fn records() -> Vec<serde_json::Value> {
    let people = demo::people(5);
    people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mobile = if i == 2 {
                p.mobile[..10].to_owned()
            } else {
                p.mobile.clone()
            };
            let sex = match (i, p.sex) {
                (4, _) => "未知",
                (_, "1") => "男",
                _ => "女",
            };
            serde_json::json!({
                "sfzh": p.id_number,
                "xm": p.name,
                "xb": sex,
                "csrq": p.birth.format("%Y年%-m月%-d日").to_string(),
                "sjh": mobile,
                "dz": "上海市普陀区长寿路街道澳门路100号",
            })
        })
        .collect()
}

struct Seen {
    ok: Vec<(u64, serde_json::Value)>,
    rejected: Vec<(u64, Vec<String>)>,
    offsets: Vec<(u64, u64)>,
}

fn run(path: &std::path::Path, format: &str, start: (u64, u64), stop_after: Option<usize>) -> Seen {
    let library = Library::bundled().unwrap();
    let compiled = compile_for_file(path, &mapping(format), &library).unwrap();
    let mut seen = Seen {
        ok: Vec::new(),
        rejected: Vec::new(),
        offsets: Vec::new(),
    };
    let options = PipelineOptions {
        threads: 2,
        batch_rows: 1,
        start_offset: start.0,
        start_line: start.1,
    };
    let mut batches = 0;
    map_file_with(path, &compiled, &options, |batch: Batch| {
        seen.offsets.push((batch.last_offset, batch.next_line));
        seen.ok.extend(
            batch
                .ok
                .into_iter()
                .map(|r| (r.line, serde_json::from_str(&r.json).unwrap())),
        );
        seen.rejected.extend(
            batch
                .rejected
                .into_iter()
                .map(|r| (r.line, r.reasons.iter().map(ToString::to_string).collect())),
        );
        batches += 1;
        if stop_after.is_some_and(|n| batches >= n) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    seen
}

#[test]
fn json_lines_and_arrays_map_alike_with_their_lines_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let records = records();
    let jsonl = dir.path().join("people.jsonl");
    let text: String = records
        .iter()
        .map(|r| format!("{r}\n"))
        .collect::<Vec<_>>()
        .join("\n"); // a blank line between records: lines 1, 3, 5, 7, 9
    std::fs::write(&jsonl, text).unwrap();
    let array = dir.path().join("people.json");
    std::fs::write(&array, serde_json::Value::from(records.clone()).to_string()).unwrap();

    let lines = run(&jsonl, "jsonl", (0, 0), None);
    assert_eq!(
        lines.ok.iter().map(|(line, _)| *line).collect::<Vec<_>>(),
        [1, 3, 7]
    );
    assert_eq!(lines.rejected.len(), 2);
    assert_eq!(lines.rejected[0].0, 5);
    assert!(
        lines.rejected[0].1[0].starts_with("mobile"),
        "{:?}",
        lines.rejected
    );
    assert_eq!(lines.rejected[1].0, 9);
    assert!(
        lines.rejected[1].1[0].starts_with("sex"),
        "{:?}",
        lines.rejected
    );
    let first = &lines.ok[0].1;
    let person = &demo::people(1)[0];
    assert_eq!(first["id_number"], person.id_number.as_str());
    assert_eq!(
        first["birth_date"],
        person.birth.format("%Y-%m-%d").to_string()
    );
    assert_eq!(first["area_code"], "310107015");
    assert!(first["age_band"].is_string());

    let items = run(&array, "json", (0, 0), None);
    let rows = |seen: &Seen| seen.ok.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>();
    assert_eq!(rows(&items), rows(&lines), "the same rows from an array");
    assert_eq!(items.rejected.len(), 2);

    // Stopped after two records, resumed from the checkpoint: the rest once.
    let head = run(&jsonl, "jsonl", (0, 0), Some(2));
    let checkpoint = *head.offsets.last().unwrap();
    let tail = run(&jsonl, "jsonl", checkpoint, None);
    let mut both: Vec<u64> = head
        .ok
        .iter()
        .chain(&tail.ok)
        .map(|(line, _)| *line)
        .chain(
            head.rejected
                .iter()
                .chain(&tail.rejected)
                .map(|(line, _)| *line),
        )
        .collect();
    both.sort();
    assert_eq!(both, [1, 3, 5, 7, 9]);
}
