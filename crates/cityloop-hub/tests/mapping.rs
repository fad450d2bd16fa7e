//! Data-driven tests of mappings: one small mapping per transform, a table
//! of (input row → expected JSON or expected rejections).

use cityloop_geo::{
    LonLat, bd09_to_wgs84, gcj02_to_wgs84, haversine_m, wgs84_to_bd09, wgs84_to_gcj02,
};
use cityloop_hub::mapping::gcj02_to_wgs84_fast;
use cityloop_hub::{HubError, Library, Mapping, RawRecord};

fn library() -> Library {
    Library::bundled().unwrap()
}

fn headers(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn row(values: &[&str]) -> RawRecord {
    RawRecord::new(2, values.iter().map(|s| s.to_string()).collect())
}

const ENTERPRISE: &str = r#"
id = "t-enterprise"
version = "1"
standard = "enterprise"
owner = "T"

[source]
format = "csv"

[[field]]
target = "credit_code"
source = "统一社会信用代码"

[[field]]
target = "name"
source = "名称"

[[field]]
target = "legal_representative"
source = "法定代表人"

[[field]]
target = "industry"
source = "行业"
codes = { "制造" = "C", "软件" = "I" }

[[field]]
target = "registered_capital"
source = "注册资本（元）"
unit = { from = "元" }

[[field]]
target = "area_code"
source = "注册地址"
area_from = "address"

[[field]]
target = "address"
source = "注册地址"

[[field]]
target = "established"
source = "成立日期"
date_formats = ["%Y年%m月%d日", "%Y%m%d", "excel_serial", "%Y-%m-%d", "%Y/%m/%d"]
"#;

const ENTERPRISE_HEADERS: &[&str] = &[
    "统一社会信用代码",
    "名称",
    "法定代表人",
    "行业",
    "注册资本（元）",
    "注册地址",
    "成立日期",
];

#[test]
fn enterprise_rows_map_or_are_rejected_with_every_reason() {
    let lib = library();
    let compiled = Mapping::parse(ENTERPRISE)
        .unwrap()
        .compile(&lib, &headers(ENTERPRISE_HEADERS))
        .unwrap();
    let standard = compiled.standard().clone();
    let ok_cases: &[(&[&str], &str)] = &[
        (
            &[
                "91350100M000100Y43",
                "演示科技有限公司",
                "张三",
                "软件",
                "5,000,000",
                "上海市普陀区长寿路街道武宁路1号",
                "2019年3月1日",
            ],
            r#"{"credit_code":"91350100M000100Y43","name":"演示科技有限公司","legal_representative":"张三","industry":"I","registered_capital":500,"area_code":"310107015","address":"上海市普陀区长寿路街道武宁路1号","established":"2019-03-01","lon":null,"lat":null}"#,
        ),
        (
            &[
                "91350100m000100y43",
                "演示工厂",
                "",
                "制造",
                "2500000",
                "浦东新区陆家嘴街道",
                "45000",
            ],
            r#"{"credit_code":"91350100M000100Y43","name":"演示工厂","legal_representative":null,"industry":"C","registered_capital":250,"area_code":"310115005","address":"浦东新区陆家嘴街道","established":"2023-03-15","lon":null,"lat":null}"#,
        ),
    ];
    for (values, expected) in ok_cases {
        let mapped = compiled.map(&row(values)).unwrap();
        assert_eq!(mapped.to_json(&standard), *expected);
        assert_eq!(mapped.key(&standard).as_deref(), Some("91350100M000100Y43"));
    }
    let bad: &[(&[&str], &[&str])] = &[
        (
            &[
                "91350100M000100Y44",
                "",
                "李四",
                "餐饮",
                "-1",
                "北京市朝阳区",
                "2019年2月30日",
            ],
            &[
                "credit_code: check character is 4, expected 3",
                "name: required, but column '名称' is empty",
                "industry: code '餐饮' is not in the mapping's codes",
                "registered_capital: -0.0001 is outside 0..",
                "area_code: cannot resolve '北京市朝阳区' to a Shanghai area code",
                "established: '2019年2月30日' is not a valid date in %Y年%m月%d日 | %Y%m%d | excel_serial | %Y-%m-%d | %Y/%m/%d",
            ],
        ),
        (
            &["91350100M000100Y43", "x", "", "", "abc", "普陀区", "60"],
            &[
                "registered_capital: 'abc' is not a number",
                "established: '60' is not a valid date in %Y年%m月%d日 | %Y%m%d | excel_serial | %Y-%m-%d | %Y/%m/%d",
            ],
        ),
    ];
    for (values, expected) in bad {
        let rejections = compiled.map(&row(values)).unwrap_err();
        let got: Vec<String> = rejections.iter().map(|r| r.to_string()).collect();
        assert_eq!(got, *expected);
    }
}

#[test]
fn compile_errors_name_what_is_wrong() {
    let lib = library();
    let cases: &[(&str, &str)] = &[
        (
            "target = \"name\"\nsource = \"名字\"",
            "mapping t: name: column '名字' is not in the file's header (columns: 统一社会信用代码, 名称)",
        ),
        (
            "target = \"nom\"\nsource = \"名称\"",
            "mapping t: unknown target 'nom' in standard enterprise",
        ),
        (
            "target = \"industry\"\nsource = \"名称\"\ncode_map = \"no-such-table\"",
            "mapping t: industry: unknown code table 'no-such-table'",
        ),
        (
            "target = \"industry\"\nsource = \"名称\"\ncodes = { a = \"Z\" }",
            "mapping t: industry: code 'Z' is not in code table industry",
        ),
        (
            "target = \"registered_capital\"\nsource = \"名称\"\nunit = { from = \"亩\" }",
            "mapping t: registered_capital: cannot convert 亩 (area) to 万元 (money)",
        ),
        (
            "target = \"credit_code\"\nsource = \"名称\"",
            "mapping t: target credit_code is mapped twice",
        ),
    ];
    for (rule, expected) in cases {
        let text = format!(
            "id = \"t\"\nversion = \"1\"\nstandard = \"enterprise\"\nowner = \"T\"\n[source]\nformat = \"csv\"\n\
             [[field]]\ntarget = \"credit_code\"\nsource = \"统一社会信用代码\"\n[[field]]\ntarget = \"area_code\"\ndefault = \"310107\"\n\
             [[field]]\n{rule}\n"
        );
        let err = Mapping::parse(&text)
            .unwrap()
            .compile(&lib, &headers(&["统一社会信用代码", "名称"]))
            .unwrap_err();
        assert_eq!(err.to_string(), *expected, "{rule}");
    }
    // A required field without a rule.
    let text = "id = \"t\"\nversion = \"1\"\nstandard = \"enterprise\"\nowner = \"T\"\n[source]\nformat = \"csv\"\n[[field]]\ntarget = \"name\"\nsource = \"名称\"\n";
    let err = Mapping::parse(text)
        .unwrap()
        .compile(&lib, &headers(&["名称"]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "mapping t: required field credit_code has no rule"
    );
}

#[test]
fn syntax_errors_carry_the_line() {
    let cases: &[(&str, usize)] = &[
        (
            "id = \"t\"\nversion = \"1\"\nstandard = \"population\"\nowner = \"T\"\n[source]\nformat = \"xls\"\n",
            6,
        ),
        (
            "id = \"t\"\nversion = \"1\"\nstandard = \"population\"\nowner = \"T\"\n[source]\nformat = \"csv\"\n[[field]]\ntarget = \"name\"\nsorce = \"x\"\n",
            9,
        ),
        ("id = \"t\"\nversion = \n", 2),
    ];
    for (text, line) in cases {
        match Mapping::parse(text) {
            Err(HubError::MappingSyntax { line: got, .. }) => assert_eq!(got, *line, "{text}"),
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }
}

#[test]
fn the_bundled_mappings_parse() {
    for (id, text) in cityloop_hub::mapping::BUNDLED {
        assert_eq!(Mapping::parse(text).unwrap().id, *id);
    }
}

#[test]
fn department_code_tables_translate_to_the_standard() {
    let lib = library();
    let text = cityloop_hub::mapping::bundled("demo-putuo-cgj-component").unwrap();
    let hs = headers(&[
        "部件编号",
        "部件名称",
        "部件代码",
        "所在街道",
        "经度",
        "纬度",
        "状态",
        "安装日期",
    ]);
    let compiled = Mapping::parse(text).unwrap().compile(&lib, &hs).unwrap();
    let std = compiled.standard().clone();
    let mapped = compiled
        .map(&row(&[
            "X1",
            "路灯",
            "LD",
            "真如镇街道",
            "121.4",
            "31.25",
            "占用",
            "2020/1/2",
        ]))
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&mapped.to_json(&std)).unwrap();
    assert_eq!(json["category"], "01037");
    assert_eq!(
        lib.code_table("gbt47678.5").unwrap().label("01037"),
        Some("路灯")
    );
    assert_eq!(json["status"], "4");
    assert_eq!(json["area_code"], "310107022");
    assert_eq!(json["owner_department"], "310107-cgzf");
    let err = compiled
        .map(&row(&[
            "X1",
            "路灯",
            "ZZ",
            "真如镇街道",
            "121.4",
            "31.25",
            "完好",
            "2020/1/2",
        ]))
        .unwrap_err();
    assert_eq!(
        err[0].to_string(),
        "category: code 'ZZ' is not in code table demo-putuo-cgj-component-codes"
    );
}

/// Known places (WGS-84) round-tripped through GCJ-02 and BD-09.
#[test]
fn coordinates_convert_to_wgs84_within_a_metre() {
    let places = [
        LonLat {
            lon: 121.4737,
            lat: 31.2304,
        }, // 人民广场
        LonLat {
            lon: 121.4998,
            lat: 31.2397,
        }, // 陆家嘴
        LonLat {
            lon: 121.3311,
            lat: 31.1976,
        }, // 虹桥
        LonLat {
            lon: 116.3975,
            lat: 39.9087,
        }, // 天安门
    ];
    for p in places {
        let gcj = wgs84_to_gcj02(p);
        assert!(haversine_m(gcj, p) > 100.0, "GCJ-02 is offset");
        assert!(haversine_m(gcj02_to_wgs84(gcj), p) < 1.0);
        assert!(haversine_m(gcj02_to_wgs84_fast(gcj), p) < 0.05);
        assert!(haversine_m(bd09_to_wgs84(wgs84_to_bd09(p)), p) < 1.0);
    }
    // Through a mapping: BD-09 columns become WGS-84 within 1 m.
    let lib = library();
    let text = cityloop_hub::mapping::bundled("demo-civil-affairs-population").unwrap();
    let hs: Vec<String> = cityloop_hub::demo::CIVIL_HEADER
        .iter()
        .map(|s| s.to_string())
        .collect();
    let compiled = Mapping::parse(text).unwrap().compile(&lib, &hs).unwrap();
    let bd = wgs84_to_bd09(places[0]);
    let (lon, lat) = (format!("{:.6}", bd.lon), format!("{:.6}", bd.lat));
    let mapped = compiled
        .map(&row(&[
            "11010519491231002X",
            "张三",
            "女",
            "1949年12月31日",
            "13812341234",
            "H1",
            "上海市黄浦区南京东路街道",
            &lon,
            &lat,
        ]))
        .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&mapped.to_json(compiled.standard())).unwrap();
    let got = LonLat {
        lon: json["lon"].as_f64().unwrap(),
        lat: json["lat"].as_f64().unwrap(),
    };
    assert!(haversine_m(got, places[0]) < 1.0, "{got:?}");
    assert_eq!(json["area_code"], "310101002");
    assert_eq!(json["age_band"], "60+");
    assert_eq!(
        mapped.subject(compiled.standard()).as_deref(),
        Some("11010519491231002X")
    );
}
