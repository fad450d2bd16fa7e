//! SYNTHETIC demo and bench files. Nothing here is real personal data:
//! names come from surname and given-name lists, ID numbers are generated
//! (real Shanghai district prefixes, random dates and sequence numbers, a
//! correct GB 11643 check digit), phone numbers are random.
//!
//! Key design decision: the files are produced by code from a fixed seed,
//! not shipped, so they cannot drift from the tests that assert their exact
//! counts, and the same generator feeds the million-row bench. The two
//! population files describe partly the same people in deliberately
//! different formats (GBK CSV with letter codes and GCJ-02 vs XLSX with
//! Chinese words, written dates and BD-09), each with known bad rows.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate};
use cityloop_geo::{LonLat, wgs84_to_bd09, wgs84_to_gcj02};

use crate::HubError;
use crate::check::id_check_char;

/// File names written by [`write_files`].
pub const POLICE_CSV: &str = "demo-putuo-police-population.csv";
pub const CIVIL_XLSX: &str = "demo-civil-affairs-population.xlsx";
pub const COMPONENT_CSV: &str = "demo-putuo-cgj-component.csv";

/// Header of the police file (as the bench file too).
pub const POLICE_HEADER: &str = "身份证号,姓名,性别,出生日期,手机号码,户号,辖区,住址,经度,纬度";

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余", "陆", "顾", "沈", "欧阳", "司马",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "文", "华", "红", "玉兰", "志强",
    "海燕", "晨", "浩然", "子涵", "雨桐", "欣怡", "梓萱", "思远", "一鸣", "佳怡", "国平",
];
/// Real district prefixes of Shanghai ID numbers (and 310108, the former 闸北区).
const ID_PREFIXES: &[&str] = &[
    "310101", "310104", "310105", "310106", "310107", "310108", "310109", "310110", "310112",
    "310113", "310115",
];
/// 普陀区 streets (NBS 2023) used in addresses.
const PUTUO_STREETS: &[&str] = &[
    "曹杨新村街道",
    "长风新村街道",
    "长寿路街道",
    "甘泉路街道",
    "石泉路街道",
    "宜川路街道",
    "万里街道",
    "长征镇",
    "桃浦镇",
];
const ROADS: &[&str] = &[
    "澳门路",
    "武宁路",
    "中山北路",
    "真北路",
    "曹杨路",
    "枣阳路",
    "铜川路",
    "岚皋路",
    "志丹路",
];

/// A small deterministic generator (SplitMix64); no external randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len() as u64) as usize]
    }
}

/// One synthetic resident, in standard terms (WGS-84 position).
#[derive(Debug, Clone)]
pub struct Person {
    pub id_number: String,
    pub name: String,
    /// GB/T 2261.1: "1" or "2".
    pub sex: &'static str,
    pub birth: NaiveDate,
    pub mobile: String,
    pub household_id: String,
    pub street: &'static str,
    /// Address after 上海市普陀区.
    pub address_tail: String,
    pub position: LonLat,
}

fn person(rng: &mut Rng, serial: u64) -> Person {
    let prefix = rng.pick(ID_PREFIXES);
    let birth = NaiveDate::from_ymd_opt(1940, 1, 1).expect("date")
        + Duration::days(rng.below(31_000) as i64);
    let sequence = rng.below(1000);
    let body = format!("{prefix}{}{sequence:03}", birth.format("%Y%m%d"));
    let check = id_check_char(&body).expect("17 digits");
    let sex = if sequence % 2 == 1 { "1" } else { "2" };
    let name = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
    let mobile = format!(
        "1{}{:09}",
        [3, 5, 7, 8, 9][rng.below(5) as usize],
        rng.below(1_000_000_000)
    );
    let street = PUTUO_STREETS[rng.below(PUTUO_STREETS.len() as u64) as usize];
    let address_tail = format!(
        "{street}{}{}弄{}号",
        rng.pick(ROADS),
        1 + rng.below(1500),
        1 + rng.below(40)
    );
    let position = LonLat {
        lon: 121.36 + rng.below(100_000) as f64 * 0.000_000_9,
        lat: 31.22 + rng.below(100_000) as f64 * 0.000_000_7,
    };
    Person {
        id_number: format!("{body}{check}"),
        name,
        sex,
        birth,
        mobile,
        household_id: format!("HH{:08}", 31_000_000 + serial),
        street,
        address_tail,
        position,
    }
}

/// The residents of the demo: the first three appear in both departments' files.
pub fn people(count: usize) -> Vec<Person> {
    let mut rng = Rng(20_260_101);
    (0..count as u64).map(|i| person(&mut rng, i)).collect()
}

fn police_sex(code: &str) -> &'static str {
    match code {
        "1" => "M",
        "2" => "F",
        _ => "U",
    }
}

/// One police CSV line (UTF-8, before GBK encoding), without newline.
fn police_line(p: &Person, out: &mut String) {
    use std::fmt::Write as _;
    let gcj = wgs84_to_gcj02(p.position);
    let _ = write!(
        out,
        "{},{},{},{},{},{},普陀区,{},{:.6},{:.6}",
        p.id_number,
        p.name,
        police_sex(p.sex),
        p.birth.format("%Y%m%d"),
        p.mobile,
        p.household_id,
        p.address_tail,
        gcj.lon,
        gcj.lat
    );
}

/// Rows of the police demo file that must be quarantined, with the
/// data-line index (0-based, after the header) where each is placed.
pub const POLICE_BAD_ROWS: &[(usize, &str)] = &[
    // Bad ID check digit (should be 2).
    (
        3,
        "310107198503120015,王建国,M,19850312,13812341234,HH39000001,普陀区,长寿路街道澳门路10弄1号,121.440000,31.240000",
    ),
    // A mobile number with 10 digits.
    (
        7,
        "310107199005150029,李秀英,F,19900515,1381234567,HH39000002,普陀区,宜川路街道铜川路20弄2号,121.441000,31.250000",
    ),
    // The bureau's sex letter X is in no code list.
    (
        10,
        "310107197808080037,张伟,X,19780808,13912345678,HH39000003,普陀区,万里街道真北路30弄3号,121.420000,31.260000",
    ),
    // 30 February.
    (
        14,
        "310107198503120020,陈静,F,19850230,13712345678,HH39000004,普陀区,长征镇曹杨路40弄4号,121.400000,31.240000",
    ),
    // Paris is not in China; two problems in one row are both reported.
    (
        18,
        "310107195001010012,赵强,M,19500101,1371234567,HH39000005,普陀区,桃浦镇志丹路50弄5号,2.352200,48.856600",
    ),
];

/// Good rows in the police file.
pub const POLICE_GOOD: usize = 15;
/// Good rows in the civil-affairs file.
pub const CIVIL_GOOD: usize = 11;
/// People shared by both files (the first of [`people`]).
pub const SHARED: usize = 3;

/// Writes the police file: GBK CSV, `POLICE_GOOD` good rows with the bad rows
/// of [`POLICE_BAD_ROWS`] placed among them.
fn write_police(path: &Path) -> Result<(), HubError> {
    let everyone = people(POLICE_GOOD);
    let mut text = String::from(POLICE_HEADER);
    text.push('\n');
    let mut good = everyone.iter();
    for index in 0..POLICE_GOOD + POLICE_BAD_ROWS.len() {
        match POLICE_BAD_ROWS.iter().find(|(i, _)| *i == index) {
            Some((_, line)) => text.push_str(line),
            None => police_line(good.next().expect("enough good rows"), &mut text),
        }
        text.push('\n');
    }
    write_gbk(path, &text)
}

fn write_gbk(path: &Path, text: &str) -> Result<(), HubError> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable, "demo text must be GBK-encodable");
    std::fs::write(path, &bytes).map_err(|e| HubError::io(path, e))
}

/// A cell of the civil-affairs workbook.
enum Cell {
    Text(String),
    Number(f64),
}

fn civil_row(p: &Person, serial_date: bool, numeric_mobile: bool) -> Vec<Cell> {
    let bd = wgs84_to_bd09(p.position);
    let birth = if serial_date {
        // Days since 1899-12-30 (Excel's 1900 system after its leap-year bug).
        let base = NaiveDate::from_ymd_opt(1899, 12, 30).expect("date");
        Cell::Number((p.birth - base).num_days() as f64)
    } else {
        Cell::Text(format!(
            "{}年{}月{}日",
            p.birth.year(),
            p.birth.month(),
            p.birth.day()
        ))
    };
    let mobile = if numeric_mobile {
        Cell::Number(p.mobile.parse().expect("digits"))
    } else {
        Cell::Text(p.mobile.clone())
    };
    vec![
        Cell::Text(p.id_number.clone()),
        Cell::Text(p.name.clone()),
        Cell::Text(if p.sex == "1" { "男" } else { "女" }.to_string()),
        birth,
        mobile,
        Cell::Text(p.household_id.clone()),
        Cell::Text(format!("上海市普陀区{}", p.address_tail)),
        Cell::Number((bd.lon * 1e6).round() / 1e6),
        Cell::Number((bd.lat * 1e6).round() / 1e6),
    ]
}

pub const CIVIL_HEADER: &[&str] = &[
    "公民身份号码",
    "姓名",
    "性别",
    "出生日期",
    "联系电话",
    "户编号",
    "家庭住址",
    "百度经度",
    "百度纬度",
];

/// Bad rows of the civil-affairs file: (data-row index, cells as text).
pub const CIVIL_BAD_ROWS: &[(usize, [&str; 9])] = &[
    (
        2,
        [
            "310107199005150021",
            "孙丽",
            "女",
            "1990年5月15日",
            "13612345678",
            "HH49000001",
            "上海市普陀区长寿路街道澳门路1号",
            "121.452",
            "31.247",
        ],
    ),
    (
        5,
        [
            "310107197808080037",
            "周涛",
            "不详",
            "1978年8月8日",
            "1361234567",
            "HH49000002",
            "上海市普陀区甘泉路街道志丹路2号",
            "121.452",
            "31.257",
        ],
    ),
    (
        8,
        [
            "310107198503120020",
            "吴娜",
            "女",
            "1990年2月30日",
            "13612340000",
            "HH49000003",
            "上海市普陀区石泉路街道岚皋路3号",
            "121.442",
            "31.257",
        ],
    ),
    (
        11,
        [
            "310107195001010012",
            "郑军",
            "男",
            "1950年1月1日",
            "13612341111",
            "HH49000004",
            "上海市普陀区万里街道真北路4号",
            "139.76",
            "35.68",
        ],
    ),
    (
        13,
        [
            "310107200001010016",
            "冯敏",
            "女",
            "2000年1月1日",
            "13612342222",
            "HH49000005",
            "北京市朝阳区建国路5号",
            "116.46",
            "39.91",
        ],
    ),
];

/// Writes the civil-affairs workbook: a title row, the header in row 2,
/// the first `SHARED` people of the police file plus others; some birth
/// dates as Excel serial numbers and some mobiles as numeric cells.
fn write_civil(path: &Path) -> Result<(), HubError> {
    let everyone = people(POLICE_GOOD + CIVIL_GOOD);
    let good: Vec<&Person> = everyone[..SHARED]
        .iter()
        .chain(&everyone[POLICE_GOOD + SHARED..])
        .collect();
    assert_eq!(good.len(), CIVIL_GOOD);
    let xlsx = |e: rust_xlsxwriter::XlsxError| HubError::source(path, e.to_string());
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("居民名册").map_err(xlsx)?;
    sheet
        .write_string(0, 0, "演示数据（合成，非真实个人信息）民政局居民名册 2026")
        .map_err(xlsx)?;
    for (c, h) in CIVIL_HEADER.iter().enumerate() {
        sheet.write_string(1, c as u16, *h).map_err(xlsx)?;
    }
    let mut good = good.into_iter().enumerate();
    for index in 0..CIVIL_GOOD + CIVIL_BAD_ROWS.len() {
        let row = 2 + index as u32;
        let cells: Vec<Cell> = match CIVIL_BAD_ROWS.iter().find(|(i, _)| *i == index) {
            Some((_, texts)) => texts
                .iter()
                .enumerate()
                .map(|(c, t)| {
                    if c >= 7 {
                        Cell::Number(t.parse().expect("number"))
                    } else {
                        Cell::Text(t.to_string())
                    }
                })
                .collect(),
            None => {
                let (n, p) = good.next().expect("enough good rows");
                civil_row(p, n % 3 == 1, n % 4 == 2)
            }
        };
        for (c, cell) in cells.iter().enumerate() {
            match cell {
                Cell::Text(t) => sheet.write_string(row, c as u16, t).map_err(xlsx)?,
                Cell::Number(v) => sheet.write_number(row, c as u16, *v).map_err(xlsx)?,
            };
        }
    }
    workbook.save(path).map_err(xlsx)
}

/// The component register: UTF-8 CSV with the bureau's own codes.
pub const COMPONENT_TEXT: &str = "\
部件编号,部件名称,部件代码,所在街道,经度,纬度,状态,安装日期
PT-0001,澳门路供水井盖,JG-GS,长寿路街道,121.4401,31.2421,完好,2015/06/01
PT-0002,澳门路污水井盖,JG-WS,长寿路街道,121.4405,31.2425,破损,2015/06/01
PT-0003,武宁路路灯,LD,长风新村街道,121.4102,31.2301,完好,2018/03/15
PT-0004,武宁路路灯配电箱,LD-PDX,长风新村街道,121.4110,31.2310,完好,2018-03-15
PT-0005,真北路垃圾箱,LJX,真如镇街道,121.3981,31.2512,丢失,2020/11/30
PT-0006,曹杨路行道树,XDS,曹杨新村街道,121.4123,31.2402,完好,2009/04/01
PT-0007,铜川路雨水箅子,YBZ,宜川路街道,121.4311,31.2589,占用,2012/07/20
PT-0008,岚皋路消防栓,XFS,宜川路街道,121.4320,31.2601,完好,2012/07/20
";

/// Writes the three demo files into `dir` and returns their paths
/// (police CSV, civil-affairs XLSX, component CSV).
pub fn write_files(dir: &Path) -> Result<Vec<PathBuf>, HubError> {
    std::fs::create_dir_all(dir).map_err(|e| HubError::io(dir, e))?;
    let police = dir.join(POLICE_CSV);
    write_police(&police)?;
    let civil = dir.join(CIVIL_XLSX);
    write_civil(&civil)?;
    let component = dir.join(COMPONENT_CSV);
    std::fs::write(&component, COMPONENT_TEXT).map_err(|e| HubError::io(&component, e))?;
    let readme = dir.join("README.txt");
    std::fs::write(
        &readme,
        "SYNTHETIC DEMO DATA generated by cityloop-hub (demo.rs). No real person, phone number or ID.\n\
         合成演示数据，非真实个人信息。\n",
    )
    .map_err(|e| HubError::io(&readme, e))?;
    Ok(vec![police, civil, component])
}

/// How many of the first `rows` bench rows are bad: every 100th row
/// (index 99, 199, …) is broken in one of five ways.
pub fn bench_bad_rows(rows: usize) -> usize {
    rows / 100
}

/// Writes a police-format GBK CSV of `rows` synthetic residents, of which
/// [`bench_bad_rows`] are bad.
pub fn write_bench_csv(path: &Path, rows: usize) -> Result<(), HubError> {
    let file = File::create(path).map_err(|e| HubError::io(path, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let io = |e| HubError::io(path, e);
    let (header, _, _) = encoding_rs::GBK.encode(POLICE_HEADER);
    out.write_all(&header).map_err(io)?;
    out.write_all(b"\n").map_err(io)?;
    let mut rng = Rng(7);
    let mut line = String::with_capacity(256);
    for i in 0..rows {
        line.clear();
        let mut p = person(&mut rng, i as u64);
        if i % 100 == 99 {
            match (i / 100) % 5 {
                0 => {
                    let last = if p.id_number.ends_with('0') { '1' } else { '0' };
                    p.id_number.pop();
                    p.id_number.push(last);
                }
                1 => {
                    p.mobile.pop();
                }
                2 => p.sex = "9",
                3 => {
                    p.position = LonLat {
                        lon: 2.3522,
                        lat: 48.8566,
                    }
                }
                _ => {}
            }
        }
        police_line(&p, &mut line);
        if i % 100 == 99 && (i / 100) % 5 == 2 {
            // Sex "9" is written as the unknown letter "X".
            line = line.replacen(",U,", ",X,", 1);
        }
        if i % 100 == 99 && (i / 100) % 5 == 4 {
            line = line.replacen(&format!(",{}", p.birth.format("%Y%m%d")), ",20261131", 1);
        }
        line.push('\n');
        let (bytes, _, _) = encoding_rs::GBK.encode(&line);
        out.write_all(&bytes).map_err(io)?;
    }
    out.flush().map_err(io)
}
