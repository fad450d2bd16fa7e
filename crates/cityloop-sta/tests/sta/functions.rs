//! Built-in functions.

use cityloop_sta::{matches, parse_filter};
use serde_json::json;

use crate::common::{NoNavigation, check, now};

fn holds(filter: &str, entity: serde_json::Value) -> bool {
    let expr = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    matches(&expr, "Things", &entity, &NoNavigation, now()).unwrap()
}

#[test]
fn string_functions() {
    // Thing 1: name 'kerb sensor A', description 'Nanjing Road'.
    for (filter, expected) in [
        ("substringof('sensor', name)", true),
        ("substringof(name, 'sensor')", false),
        ("contains(name, 'sensor')", true),
        ("contains(name, 'Sensor')", false),
        ("startswith(name, 'kerb')", true),
        ("startswith(name, 'sensor')", false),
        ("endswith(name, ' A')", true),
        ("length(name) eq 13", true),
        ("indexof(name, 'sensor') eq 5", true),
        ("indexof(name, 'zzz') eq -1", true),
        ("substring(name, 5) eq 'sensor A'", true),
        ("substring(name, 5, 6) eq 'sensor'", true),
        ("substring(name, 99) eq ''", true),
        ("tolower(description) eq 'nanjing road'", true),
        ("toupper(description) eq 'NANJING ROAD'", true),
        ("trim('  x ') eq 'x'", true),
        (
            "concat(concat(name, ', '), description) eq 'kerb sensor A, Nanjing Road'",
            true,
        ),
        ("substringof('sensor', name) eq true", true),
        ("not substringof('zzz', name)", true),
        ("length(properties/missing) eq null", true),
        ("contains(name, 3)", false),
    ] {
        check(filter, "Things", 1, expected);
    }
}

#[test]
fn string_functions_count_characters() {
    let entity = json!({"name": "南京路 sensor"});
    assert!(holds("length(name) eq 10", entity.clone()));
    assert!(holds("indexof(name, 'sensor') eq 4", entity.clone()));
    assert!(holds("substring(name, 1, 2) eq '京路'", entity.clone()));
    assert!(holds("toupper(name) eq '南京路 SENSOR'", entity));
}

#[test]
fn date_functions() {
    let entity = json!({"t": "2013-02-03T04:05:06.25+08:00",
                        "i": "2013-01-01T00:00:00Z/2013-06-01T00:00:00Z"});
    for filter in [
        "year(t) eq 2013",
        "month(t) eq 2",
        "day(t) eq 3",
        "hour(t) eq 4",
        "minute(t) eq 5",
        "second(t) eq 6",
        "fractionalseconds(t) eq 0.25",
        "totaloffsetminutes(t) eq 480",
        "date(t) eq 2013-02-03",
        "time(t) eq 04:05:06.25",
        "time(t) gt 04:05:06",
        "year(2020-01-05T00:00:00Z) eq 2020",
        "day(2020-01-05) eq 5",
        "month(i) eq 1",
        "now() eq 2020-06-01T12:00:00Z",
        "now() gt t",
        "mindatetime() lt t",
        "maxdatetime() gt now()",
        "year(mindatetime()) eq 1",
        "year(maxdatetime()) eq 9999",
    ] {
        assert!(holds(filter, entity.clone()), "{filter}");
    }
    assert!(!holds("hour(t) eq 20", entity.clone()));
    assert!(!holds("year(name) eq 2013", entity));
}

#[test]
fn math_functions() {
    let entity = json!({"a": 2.5, "b": -2.5, "c": 7, "d": 2.4});
    for filter in [
        "round(a) eq 3",
        "round(b) eq -3",
        "round(d) eq 2",
        "floor(a) eq 2",
        "floor(b) eq -3",
        "ceiling(a) eq 3",
        "ceiling(b) eq -2",
        "round(c) eq 7",
        "floor(c div 2) eq 3",
    ] {
        assert!(holds(filter, entity.clone()), "{filter}");
    }
    assert!(!holds("round(a) eq 2", entity));
}
