//! The two departments' demo files end to end through the pipeline: exact
//! counts, exact reasons, and the same people landing identically.

use std::collections::BTreeMap;

use cityloop_geo::{LonLat, haversine_m};
use cityloop_hub::pipeline::{Batch, compile_for_file};
use cityloop_hub::{Library, Mapping, Reader, Summary, demo, map_file, mapping};

struct Run {
    summary: Summary,
    ok: Vec<(u64, serde_json::Value)>,
    rejected: Vec<(u64, String, Vec<String>)>,
}

fn run(path: &std::path::Path, mapping_id: &str, batch_rows: usize) -> Run {
    let lib = Library::bundled().unwrap();
    let mapping = Mapping::parse(mapping::bundled(mapping_id).unwrap()).unwrap();
    let compiled = compile_for_file(path, &mapping, &lib).unwrap();
    let mut ok = Vec::new();
    let mut rejected = Vec::new();
    let mut seqs = Vec::new();
    let summary = map_file(path, &compiled, 2, batch_rows, |batch: Batch| {
        seqs.push(batch.seq);
        ok.extend(
            batch
                .ok
                .into_iter()
                .map(|r| (r.line, serde_json::from_str(&r.json).unwrap())),
        );
        rejected.extend(batch.rejected.into_iter().map(|r| {
            (
                r.line,
                r.raw,
                r.reasons.iter().map(|x| x.to_string()).collect(),
            )
        }));
    })
    .unwrap();
    assert_eq!(
        seqs,
        (0..seqs.len() as u64).collect::<Vec<_>>(),
        "batches come in file order"
    );
    Run {
        summary,
        ok,
        rejected,
    }
}

#[test]
fn two_departments_land_in_one_standard() {
    let dir = tempfile::tempdir().unwrap();
    let files = demo::write_files(dir.path()).unwrap();

    // 公安分局: GBK CSV.
    let bytes = std::fs::read(&files[0]).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the police file really is GBK"
    );
    let police = run(&files[0], "demo-putuo-police-population", 4);
    assert_eq!((police.summary.accepted, police.summary.rejected), (15, 5));
    let reasons: Vec<(u64, Vec<String>)> = police
        .rejected
        .iter()
        .map(|(l, _, r)| (*l, r.clone()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                5,
                vec!["id_number: check digit is 5, expected 2".to_string()]
            ),
            (9, vec!["mobile: must have 11 digits, has 10".to_string()]),
            (
                12,
                vec!["sex: code 'X' is not in the mapping's codes".to_string()]
            ),
            (
                16,
                vec!["birth_date: '19850230' is not a valid date in %Y%m%d".to_string()]
            ),
            (
                20,
                vec![
                    "mobile: must have 11 digits, has 10".to_string(),
                    "lon: 2.3522 is outside 73.4..135.1".to_string()
                ]
            ),
        ]
    );
    // GBK decoded into real Chinese, in the quarantined raw text too.
    assert!(
        police.rejected[0]
            .1
            .starts_with("310107198503120015,王建国,M,19850312,"),
        "{}",
        police.rejected[0].1
    );
    let ok_lines: Vec<u64> = police.ok.iter().map(|(l, _)| *l).collect();
    assert_eq!(
        ok_lines,
        [2, 3, 4, 6, 7, 8, 10, 11, 13, 14, 15, 17, 18, 19, 21]
    );
    let people = demo::people(demo::POLICE_GOOD + demo::CIVIL_GOOD);
    assert_eq!(police.ok[0].1["name"], people[0].name.as_str());
    assert_eq!(police.ok[0].1["area_code"], "310107");

    // 民政局: XLSX with a title row.
    let civil = run(&files[1], "demo-civil-affairs-population", 4);
    assert_eq!((civil.summary.accepted, civil.summary.rejected), (11, 5));
    let reasons: Vec<(u64, Vec<String>)> = civil
        .rejected
        .iter()
        .map(|(l, _, r)| (*l, r.clone()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (5, vec!["id_number: check digit is 1, expected 9".to_string()]),
            (
                8,
                vec!["sex: code '不详' is not in the mapping's codes".to_string(), "mobile: must have 11 digits, has 10".to_string()]
            ),
            (11, vec!["birth_date: '1990年2月30日' is not a valid date in %Y年%m月%d日 | excel_serial".to_string()]),
            (14, vec!["lon: 139.76 is outside 73.4..135.1".to_string()]),
            (16, vec!["area_code: cannot resolve '北京市朝阳区建国路5号' to a Shanghai area code".to_string()]),
        ]
    );

    // The same three people, from two formats, mean the same thing.
    let by_id = |rows: &[(u64, serde_json::Value)]| -> BTreeMap<String, serde_json::Value> {
        rows.iter()
            .map(|(_, j)| (j["id_number"].as_str().unwrap().to_string(), j.clone()))
            .collect()
    };
    let (p, c) = (by_id(&police.ok), by_id(&civil.ok));
    let shared: Vec<&String> = p.keys().filter(|k| c.contains_key(*k)).collect();
    assert_eq!(shared.len(), demo::SHARED);
    for id in shared {
        let (a, b) = (&p[id], &c[id]);
        for field in [
            "name",
            "sex",
            "birth_date",
            "mobile",
            "household_id",
            "age_band",
        ] {
            assert_eq!(a[field], b[field], "{id} {field}");
        }
        let at = |j: &serde_json::Value| LonLat {
            lon: j["lon"].as_f64().unwrap(),
            lat: j["lat"].as_f64().unwrap(),
        };
        assert!(
            haversine_m(at(a), at(b)) < 1.0,
            "GCJ-02 and BD-09 land on the same WGS-84 point"
        );
        // Police gives the district, civil affairs an address down to the street.
        assert_eq!(a["area_code"], "310107");
        assert!(
            b["area_code"].as_str().unwrap().starts_with("310107")
                && b["area_code"].as_str().unwrap().len() == 9
        );
    }
    // Excel serial dates and written dates give the same ISO dates.
    let civil_person = &c[&people[1].id_number];
    assert_eq!(
        civil_person["birth_date"],
        people[1].birth.format("%Y-%m-%d").to_string()
    );
    // One age-band definition for both: count by band over both files.
    let mut bands: BTreeMap<String, u32> = BTreeMap::new();
    for j in p.values().chain(c.values()) {
        *bands
            .entry(j["age_band"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(bands.values().sum::<u32>(), 26);

    // Quality: duplicates by key across both files when merged.
    assert_eq!(police.summary.quality.duplicates, 0);
    let name_quality = &police.summary.quality.fields[1];
    assert_eq!(
        (
            name_quality.field.as_str(),
            name_quality.present,
            name_quality.valid
        ),
        ("name", 20, 20)
    );
    let mobile_quality = &police.summary.quality.fields[4];
    assert_eq!((mobile_quality.valid, mobile_quality.invalid), (18, 2));

    // The component register with the bureau's own codes.
    let components = run(&files[2], "demo-putuo-cgj-component", 3);
    assert_eq!(
        (components.summary.accepted, components.summary.rejected),
        (7, 1)
    );
    assert_eq!(
        components.rejected[0].2,
        vec![
            "category: code 'XFS' is not in code table demo-putuo-cgj-component-codes".to_string()
        ]
    );
}

#[test]
fn an_interrupted_import_resumes_without_loss_or_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let files = demo::write_files(dir.path()).unwrap();
    let lib = Library::bundled().unwrap();
    for (path, id) in [
        (&files[0], "demo-putuo-police-population"),
        (&files[1], "demo-civil-affairs-population"),
    ] {
        let mapping = Mapping::parse(mapping::bundled(id).unwrap()).unwrap();
        let compiled = compile_for_file(path, &mapping, &lib).unwrap();
        let whole = run(path, id, 3);
        // Stop after the second batch, then resume from its checkpoint.
        let mut first_lines = Vec::new();
        let mut checkpoint = (0, 0);
        let options = cityloop_hub::pipeline::PipelineOptions {
            threads: 2,
            batch_rows: 3,
            ..Default::default()
        };
        let summary = cityloop_hub::pipeline::map_file_with(path, &compiled, &options, |b| {
            first_lines.extend(
                b.ok.iter()
                    .map(|r| r.line)
                    .chain(b.rejected.iter().map(|r| r.line)),
            );
            checkpoint = (b.last_offset, b.next_line);
            if b.seq == 1 {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        })
        .unwrap();
        assert!(summary.stopped);
        let options = cityloop_hub::pipeline::PipelineOptions {
            start_offset: checkpoint.0,
            start_line: checkpoint.1,
            ..options
        };
        let mut rest_lines = Vec::new();
        cityloop_hub::pipeline::map_file_with(path, &compiled, &options, |b| {
            rest_lines.extend(
                b.ok.iter()
                    .map(|r| r.line)
                    .chain(b.rejected.iter().map(|r| r.line)),
            );
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        let mut all: Vec<u64> = first_lines.into_iter().chain(rest_lines).collect();
        all.sort();
        let mut expected: Vec<u64> = whole
            .ok
            .iter()
            .map(|r| r.0)
            .chain(whole.rejected.iter().map(|r| r.0))
            .collect();
        expected.sort();
        assert_eq!(all, expected, "{id}");
    }
}

#[test]
fn an_undecodable_line_is_reported_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    let (header, _, _) = encoding_rs::GBK.encode("姓名,年龄\n张三,1\n");
    let mut bytes = header.into_owned();
    bytes.extend_from_slice(b"\xff\xff,2\n");
    bytes.extend_from_slice(&encoding_rs::GBK.encode("李四,3\n").0);
    bytes.extend_from_slice(b"a,b,c\n");
    std::fs::write(&path, &bytes).unwrap();
    let source = cityloop_hub::Source {
        encoding: cityloop_hub::mapping::Encoding::Gbk,
        ..cityloop_hub::Source::csv()
    };
    let reader = Reader::open(&path, &source).unwrap();
    assert_eq!(reader.headers(), ["姓名", "年龄"]);
    let items: Vec<String> = reader
        .map(|r| match r {
            Ok(rec) => format!("{} {}", rec.line, rec.values.join("|")),
            Err(e) => e.to_string(),
        })
        .collect();
    assert_eq!(
        items,
        [
            "2 张三|1",
            "line 3: field 1 is not valid GBK",
            "4 李四|3",
            "line 5: expected 2 fields, found 3"
        ]
    );
}
