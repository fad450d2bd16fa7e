//! A small in-memory SensorThings world and helpers.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use cityloop_sta::{EvalError, Resolver, matches, parse_filter};
use serde_json::{Value, json};

/// Entities by (set, id) plus navigation links.
pub struct World {
    entities: HashMap<(&'static str, i64), Value>,
    links: Vec<(&'static str, i64, &'static str, Vec<i64>)>,
}

/// The set a navigation property leads to, per source set.
fn target(set: &str, nav: &str) -> Option<&'static str> {
    Some(match (set, nav) {
        ("Things", "Locations") | ("HistoricalLocations", "Locations") => "Locations",
        ("Things", "Datastreams") | ("Sensors" | "ObservedProperties", "Datastreams") => {
            "Datastreams"
        }
        ("Things" | "Locations", "HistoricalLocations") => "HistoricalLocations",
        ("Locations", "Things") => "Things",
        ("Datastreams" | "HistoricalLocations", "Thing") => "Things",
        ("Datastreams", "Sensor") => "Sensors",
        ("Datastreams", "ObservedProperty") => "ObservedProperties",
        ("Datastreams" | "FeaturesOfInterest", "Observations") => "Observations",
        ("Observations", "Datastream") => "Datastreams",
        ("Observations", "FeatureOfInterest") => "FeaturesOfInterest",
        _ => return None,
    })
}

impl Resolver for World {
    fn navigate(&self, set: &str, entity: &Value, nav: &str) -> Option<(String, Vec<Value>)> {
        let target = target(set, nav)?;
        let id = entity.get("@iot.id")?.as_i64()?;
        let related = self
            .links
            .iter()
            .filter(|(s, i, n, _)| *s == set && *i == id && *n == nav)
            .flat_map(|(_, _, _, ids)| ids)
            .filter_map(|i| self.entities.get(&(target, *i)).cloned())
            .collect();
        Some((target.to_owned(), related))
    }
}

impl World {
    /// One Thing with two Locations and two Datastreams, each with
    /// observations; a second Thing with no datastreams.
    pub fn new() -> Self {
        let mut entities = HashMap::new();
        let mut add = |set: &'static str, value: Value| {
            let id = value["@iot.id"].as_i64().expect("fixture id");
            entities.insert((set, id), value);
        };
        add(
            "Things",
            json!({"@iot.id": 1, "name": "kerb sensor A", "description": "Nanjing Road",
                   "properties": {"owner": {"name": "Ana"}, "id": "asset-7", "active": true,
                                  "tags": ["kerb", "noise"]}}),
        );
        add(
            "Things",
            json!({"@iot.id": 2, "name": "bare thing", "properties": {}}),
        );
        add(
            "Locations",
            json!({"@iot.id": 10, "name": "pole", "encodingType": "application/geo+json",
                   "location": {"type": "Point", "coordinates": [121.4, 31.2]}}),
        );
        add(
            "Locations",
            json!({"@iot.id": 11, "name": "block", "encodingType": "application/geo+json",
                   "location": {"type": "Feature", "properties": {},
                                "geometry": {"type": "Polygon",
                                             "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]}}}),
        );
        add(
            "Datastreams",
            json!({"@iot.id": 100, "name": "temperature",
                   "unitOfMeasurement": {"name": "degree Celsius", "symbol": "°C"},
                   "observedArea": {"type": "Point", "coordinates": [121.4, 31.2]}}),
        );
        add(
            "Datastreams",
            json!({"@iot.id": 101, "name": "humidity",
                   "unitOfMeasurement": {"name": "percent", "symbol": "%"}}),
        );
        add(
            "Observations",
            json!({"@iot.id": 1000, "result": 21.5,
                   "phenomenonTime": "2013-01-01T00:00:00Z",
                   "resultTime": "2013-01-01T00:30:00Z"}),
        );
        add(
            "Observations",
            json!({"@iot.id": 1001, "result": 40,
                   "phenomenonTime": "2013-01-01T00:00:00Z/2013-01-01T01:00:00Z",
                   "resultTime": null}),
        );
        add(
            "FeaturesOfInterest",
            json!({"@iot.id": 5000, "name": "square",
                   "feature": {"type": "Feature", "properties": {"kind": "plaza"},
                               "geometry": {"type": "Polygon",
                                            "coordinates": [[[121, 31], [122, 31], [122, 32], [121, 32], [121, 31]]]}}}),
        );
        World {
            entities,
            links: vec![
                ("Things", 1, "Locations", vec![10, 11]),
                ("Things", 1, "Datastreams", vec![100, 101]),
                ("Locations", 10, "Things", vec![1]),
                ("Locations", 11, "Things", vec![1]),
                ("Datastreams", 100, "Thing", vec![1]),
                ("Datastreams", 101, "Thing", vec![1]),
                ("Datastreams", 100, "Observations", vec![1000]),
                ("Datastreams", 101, "Observations", vec![1001]),
                ("Observations", 1000, "Datastream", vec![100]),
                ("Observations", 1001, "Datastream", vec![101]),
                ("Observations", 1000, "FeatureOfInterest", vec![5000]),
                ("Observations", 1001, "FeatureOfInterest", vec![5000]),
            ],
        }
    }

    /// The entity `id` of `set`.
    pub fn get(&self, set: &'static str, id: i64) -> &Value {
        &self.entities[&(set, id)]
    }
}

/// A fixed "now": 2020-06-01T12:00:00Z.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 6, 1, 12, 0, 0).unwrap()
}

/// Evaluates `filter` over entity `id` of `set`.
pub fn eval(filter: &str, set: &'static str, id: i64) -> Result<bool, EvalError> {
    let world = World::new();
    let expr = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    matches(&expr, set, world.get(set, id), &world, now())
}

/// Asserts that `filter` holds (or not) for entity `id` of `set`.
#[track_caller]
pub fn check(filter: &str, set: &'static str, id: i64, expected: bool) {
    assert_eq!(
        eval(filter, set, id),
        Ok(expected),
        "{filter} on {set}({id})"
    );
}

/// A resolver with no navigation properties at all.
pub struct NoNavigation;

impl Resolver for NoNavigation {
    fn navigate(&self, _: &str, _: &Value, _: &str) -> Option<(String, Vec<Value>)> {
        None
    }
}
