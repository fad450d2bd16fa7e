//! The rule engine on hand-made series, on random series (properties), and
//! on the real Beijing PM2.5 hourly series (UCI, CC BY 4.0) against an
//! independent count of its pollution episodes.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cityloop_sense::{Change, Engine, Observation, Rule, Skip, Stream, parse_rules};
use proptest::prelude::*;

fn t(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + Duration::hours(hours)
}

fn stream(id: u64, property: &str, period_minutes: u32) -> Stream {
    Stream {
        id,
        property: property.into(),
        area_path: vec!["310000".into(), "310107".into()],
        period_minutes,
        since: t(0),
    }
}

fn rules(json: &str) -> Vec<Rule> {
    parse_rules(json).unwrap()
}

const PM25_2H: &str = r#"[{"id": "pm25-high", "name": "PM2.5 超标", "property": "pm25",
    "when": {"threshold": {"op": ">", "value": 75, "for_minutes": 120}},
    "severity": "major", "case": {"category": "AQ01", "department": "310107-sthj"}}]"#;

fn obs(datastream: u64, hour: i64, value: f64) -> Observation {
    Observation {
        datastream,
        at: t(hour),
        value,
    }
}

fn kinds(changes: &[Change]) -> Vec<&'static str> {
    changes
        .iter()
        .map(|c| match c {
            Change::Raised { .. } => "raised",
            Change::Cleared { .. } => "cleared",
        })
        .collect()
}

#[test]
fn a_threshold_sustained_for_two_hours_raises_once_and_clears() {
    let mut engine = Engine::new(rules(PM25_2H));
    engine.add_stream(stream(1, "pm25", 60));
    assert!(
        engine.observe(obs(1, 0, 80.0)).unwrap().is_empty(),
        "one hour is not two"
    );
    let raised = engine.observe(obs(1, 1, 120.0)).unwrap();
    assert_eq!(kinds(&raised), ["raised"]);
    let Change::Raised { reason, at, .. } = &raised[0] else {
        unreachable!()
    };
    assert_eq!(*at, t(1));
    assert_eq!(reason, "pm25 > 75 for 120 min (last 120)");
    assert!(
        engine.observe(obs(1, 2, 200.0)).unwrap().is_empty(),
        "raised once"
    );
    assert!(engine.is_active(0, 1));
    assert_eq!(
        kinds(&engine.observe(obs(1, 3, 40.0)).unwrap()),
        ["cleared"]
    );
    assert!(engine.active().is_empty());
    // A lone spike after a normal hour does not raise.
    assert!(engine.observe(obs(1, 4, 300.0)).unwrap().is_empty());
    assert!(engine.observe(obs(1, 5, 30.0)).unwrap().is_empty());
}

#[test]
fn one_missing_reading_keeps_a_run_and_a_longer_gap_breaks_it() {
    let mut engine = Engine::new(rules(PM25_2H));
    engine.add_stream(stream(1, "pm25", 60));
    assert!(engine.observe(obs(1, 0, 90.0)).unwrap().is_empty());
    // Hour 1 missing: hour 2 continues the run (3 h long by then).
    assert_eq!(kinds(&engine.observe(obs(1, 2, 90.0)).unwrap()), ["raised"]);
    let mut engine = Engine::new(rules(PM25_2H));
    engine.add_stream(stream(1, "pm25", 60));
    assert!(engine.observe(obs(1, 0, 90.0)).unwrap().is_empty());
    // Two hours missing: a new run starts at hour 3.
    assert!(engine.observe(obs(1, 3, 90.0)).unwrap().is_empty());
    assert_eq!(kinds(&engine.observe(obs(1, 4, 90.0)).unwrap()), ["raised"]);
}

#[test]
fn redelivered_late_foreign_and_broken_observations_are_skipped() {
    let mut engine = Engine::new(rules(PM25_2H));
    engine.add_stream(stream(1, "pm25", 60));
    engine.observe(obs(1, 5, 80.0)).unwrap();
    assert_eq!(engine.observe(obs(1, 5, 80.0)), Err(Skip::Duplicate));
    assert_eq!(engine.observe(obs(1, 4, 80.0)), Err(Skip::Late));
    assert_eq!(engine.observe(obs(9, 6, 80.0)), Err(Skip::UnknownStream(9)));
    assert_eq!(engine.observe(obs(1, 6, f64::NAN)), Err(Skip::NotFinite));
    // Skipped observations did not count: hour 6 is the run's second hour.
    assert_eq!(kinds(&engine.observe(obs(1, 6, 80.0)).unwrap()), ["raised"]);
}

#[test]
fn rules_apply_by_property_and_area() {
    let json = r#"[{"id": "huangpu-only", "name": "x", "property": "pm25", "area": "310101",
        "when": {"threshold": {"op": ">", "value": 75}}, "severity": "minor"}]"#;
    let mut engine = Engine::new(rules(json));
    engine.add_stream(stream(1, "pm25", 60)); // in Putuo
    engine.add_stream(Stream {
        area_path: vec!["310000".into(), "310101".into()],
        ..stream(2, "pm25", 60)
    });
    engine.add_stream(Stream {
        area_path: vec!["310000".into(), "310101".into()],
        ..stream(3, "noise", 60)
    });
    assert!(engine.observe(obs(1, 0, 500.0)).unwrap().is_empty());
    assert!(engine.observe(obs(3, 0, 500.0)).unwrap().is_empty());
    assert_eq!(
        kinds(&engine.observe(obs(2, 0, 500.0)).unwrap()),
        ["raised"],
        "for_minutes 0: at once"
    );
}

#[test]
fn a_silent_device_goes_offline_and_comes_back() {
    let json = r#"[{"id": "offline", "name": "设备离线", "property": "pm25",
        "when": {"missing": {"silent_minutes": 90}}, "severity": "minor"}]"#;
    let mut engine = Engine::new(rules(json));
    engine.add_stream(stream(1, "pm25", 60));
    engine.add_stream(stream(2, "pm25", 60));
    engine.observe(obs(1, 1, 10.0)).unwrap();
    assert!(engine.tick(t(1) + Duration::minutes(20)).is_empty());
    // Stream 2 never spoke: silent 90 minutes after its registration (hour 0).
    let changes = engine.tick(t(1) + Duration::minutes(30));
    assert_eq!(
        changes.iter().map(Change::datastream).collect::<Vec<_>>(),
        [2]
    );
    let changes = engine.tick(t(2) + Duration::minutes(30));
    assert_eq!(
        changes.iter().map(Change::datastream).collect::<Vec<_>>(),
        [1]
    );
    assert!(engine.tick(t(5)).is_empty(), "raised once");
    assert_eq!(
        kinds(&engine.observe(obs(1, 6, 10.0)).unwrap()),
        ["cleared"]
    );
    assert_eq!(engine.active(), [(0, 2)]);
}

#[test]
fn rate_of_change_and_window_aggregates() {
    let json = r#"[
      {"id": "jump", "name": "骤升", "property": "pm25",
       "when": {"rate_of_change": {"limit": 50, "per_minutes": 60}}, "severity": "minor"},
      {"id": "daily", "name": "日均超标", "property": "pm25",
       "when": {"window": {"aggregate": "mean", "window_minutes": 180, "op": ">", "value": 100, "min_count": 3}},
       "severity": "major"}]"#;
    let mut engine = Engine::new(rules(json));
    engine.add_stream(stream(1, "pm25", 60));
    assert!(engine.observe(obs(1, 0, 50.0)).unwrap().is_empty());
    // +80 in an hour: a jump; the window has only 2 values.
    let changes = engine.observe(obs(1, 1, 130.0)).unwrap();
    assert_eq!(changes.iter().map(Change::rule).collect::<Vec<_>>(), [0]);
    // +10: steady again (cleared); mean of 50, 130, 140 = 106.7 > 100.
    let changes = engine.observe(obs(1, 2, 140.0)).unwrap();
    assert_eq!(kinds(&changes), ["cleared", "raised"]);
    assert_eq!(changes.iter().map(Change::rule).collect::<Vec<_>>(), [0, 1]);
    // The window slides: 130, 140, 20 → 96.7.
    let changes = engine.observe(obs(1, 3, 100.0 - 80.0)).unwrap();
    assert_eq!(
        kinds(&changes),
        ["raised", "cleared"],
        "a drop of 120 is a jump too"
    );
}

#[test]
fn bad_rules_are_refused_naming_the_rule_and_field() {
    let error = |json: &str| parse_rules(json).unwrap_err();
    let e = error(
        r#"[{"id": "a b", "name": "x", "property": "pm25", "when": {"missing": {"silent_minutes": 5}}, "severity": "minor"}]"#,
    );
    assert_eq!(e.field, "id");
    let e = error(
        r#"[{"id": "a", "name": "x", "property": "pm25", "when": {"missing": {"silent_minutes": 0}}, "severity": "minor"}]"#,
    );
    assert_eq!(
        (e.rule.as_str(), e.field.as_str()),
        ("a", "when.missing.silent_minutes")
    );
    let e = error(
        r#"[{"id": "a", "name": "x", "property": "pm25", "when": {"window": {"aggregate": "mean", "window_minutes": 60, "op": ">", "value": 1, "min_count": 0}}, "severity": "minor"}]"#,
    );
    assert_eq!(e.field, "when.window.min_count");
    let e = error(
        r#"[{"id": "a", "name": "x", "property": "pm25", "when": {"missing": {"silent_minutes": 5}}, "severity": "minor"},
                      {"id": "a", "name": "y", "property": "pm25", "when": {"missing": {"silent_minutes": 5}}, "severity": "minor"}]"#,
    );
    assert_eq!(e.field, "id");
    let e = error(
        r#"[{"id": "a", "name": "x", "property": "pm25", "when": {"threshold": {"op": "=", "value": 1}}, "severity": "minor"}]"#,
    );
    assert!(e.field.starts_with("line 1"), "{e}");
    let e = error(
        r#"[{"id": "a", "name": "x", "property": "pm25", "when": {"threshold": {"op": ">", "value": 1}}, "severity": "loud"}]"#,
    );
    assert!(e.message.contains("loud"), "{e}");
}

/// Alarms an hourly series (values by hour, `None` missing) should raise,
/// by the engine's documented rule, counted independently: a run continues
/// over at most one missing hour; a run reaching `for_hours` raises unless
/// the alarm is still up (only a normal reading clears it, not a gap).
fn episodes(values: &[Option<f64>], limit: f64, for_hours: i64) -> usize {
    let mut count = 0;
    let mut run: Option<(usize, usize)> = None; // (first, latest) hour index
    let mut counted = false;
    for (hour, value) in values.iter().enumerate() {
        let Some(value) = value else { continue };
        if *value > limit {
            run = match run {
                Some((first, latest)) if hour - latest <= 2 => Some((first, hour)),
                _ => Some((hour, hour)),
            };
            let (first, latest) = run.unwrap();
            if !counted && (latest - first + 1) as i64 >= for_hours {
                count += 1;
                counted = true;
            }
        } else {
            run = None;
            counted = false;
        }
    }
    count
}

fn feed(values: &[Option<f64>], json: &str) -> Vec<Change> {
    let mut engine = Engine::new(rules(json));
    engine.add_stream(stream(1, "pm25", 60));
    let mut changes = Vec::new();
    for (hour, value) in values.iter().enumerate() {
        if let Some(value) = value {
            changes.extend(engine.observe(obs(1, hour as i64, *value)).unwrap());
        }
    }
    changes
}

#[test]
fn the_real_beijing_series_raises_one_alarm_per_pollution_episode() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/beijing-pm25-uci-2010-2014.csv"
    );
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = headers.iter().position(|h| h == "pm2.5").unwrap();
    let values: Vec<Option<f64>> = reader
        .records()
        .map(|r| r.unwrap()[column].parse().ok())
        .collect();
    assert_eq!(values.len(), 43_824);
    assert_eq!(values.iter().filter(|v| v.is_none()).count(), 2_067);
    let changes = feed(&values, PM25_2H);
    let raised = changes
        .iter()
        .filter(|c| matches!(c, Change::Raised { .. }))
        .count();
    let expected = episodes(&values, 75.0, 2);
    assert_eq!(raised, expected);
    assert!(expected > 500, "five years of Beijing winters: {expected}");
}

proptest! {
    /// Whatever the series and rules, each alarm alternates raised,
    /// cleared, raised…; redelivering every observation changes nothing;
    /// the threshold rule raises once per qualifying run.
    #[test]
    fn alarms_alternate_survive_redelivery_and_match_the_episode_count(
        series in prop::collection::vec(prop::option::weighted(0.9, 0.0f64..200.0), 0..300),
        for_hours in 0i64..5,
    ) {
        let json = format!(r#"[
          {{"id": "t", "name": "t", "property": "pm25",
            "when": {{"threshold": {{"op": ">", "value": 75, "for_minutes": {}}}}}, "severity": "major"}},
          {{"id": "r", "name": "r", "property": "pm25",
            "when": {{"rate_of_change": {{"limit": 60, "per_minutes": 60}}}}, "severity": "minor"}},
          {{"id": "w", "name": "w", "property": "pm25",
            "when": {{"window": {{"aggregate": "max", "window_minutes": 240, "op": ">=", "value": 150}}}}, "severity": "minor"}}]"#,
            for_hours * 60);
        let once = feed(&series, &json);
        for rule in 0..3 {
            let sequence: Vec<&'static str> = kinds(&once.iter().filter(|c| c.rule() == rule).cloned().collect::<Vec<_>>());
            for (i, kind) in sequence.iter().enumerate() {
                prop_assert_eq!(*kind, if i % 2 == 0 { "raised" } else { "cleared" });
            }
        }
        let raised = once.iter().filter(|c| c.rule() == 0 && matches!(c, Change::Raised { .. })).count();
        prop_assert_eq!(raised, episodes(&series, 75.0, for_hours.max(1)));

        let mut engine = Engine::new(rules(&json));
        engine.add_stream(stream(1, "pm25", 60));
        let mut twice = Vec::new();
        for (hour, value) in series.iter().enumerate() {
            if let Some(value) = value {
                twice.extend(engine.observe(obs(1, hour as i64, *value)).unwrap());
                prop_assert_eq!(engine.observe(obs(1, hour as i64, *value)), Err(Skip::Duplicate));
            }
        }
        prop_assert_eq!(once, twice);
    }
}

#[test]
fn hysteresis_keeps_an_alarm_through_a_short_dip() {
    let json = r#"[{"id": "pm25-high", "name": "x", "property": "pm25",
        "when": {"threshold": {"op": ">", "value": 75, "for_minutes": 120, "clear_for_minutes": 120}},
        "severity": "major"}]"#;
    let mut engine = Engine::new(rules(json));
    engine.add_stream(stream(1, "pm25", 60));
    engine.observe(obs(1, 0, 80.0)).unwrap();
    assert_eq!(kinds(&engine.observe(obs(1, 1, 90.0)).unwrap()), ["raised"]);
    // One normal hour is a dip, not a clearing; the alarm stays, once.
    assert!(engine.observe(obs(1, 2, 60.0)).unwrap().is_empty());
    assert!(engine.observe(obs(1, 3, 95.0)).unwrap().is_empty());
    assert!(engine.is_active(0, 1));
    // Two normal hours clear it.
    assert!(engine.observe(obs(1, 4, 50.0)).unwrap().is_empty());
    assert_eq!(
        kinds(&engine.observe(obs(1, 5, 40.0)).unwrap()),
        ["cleared"]
    );
}
