//! Member paths and navigation through the resolver.

use cityloop_sta::{matches, parse_filter};
use serde_json::json;

use crate::common::{NoNavigation, World, check, now};

#[test]
fn ids_and_json_paths() {
    check("id eq 1", "Things", 1, true);
    check("@iot.id eq 1", "Things", 1, true);
    check("id eq 2", "Things", 1, false);
    // `id` inside JSON is not the entity id.
    check("properties/id eq 'asset-7'", "Things", 1, true);
    check("properties/owner/name eq 'Ana'", "Things", 1, true);
    check("properties/owner/name/deeper eq null", "Things", 1, true);
    check("properties/tags/1 eq 'noise'", "Things", 1, true);
    check("unitOfMeasurement/symbol eq '°C'", "Datastreams", 100, true);
}

#[test]
fn to_one_navigation() {
    check("Thing/name eq 'kerb sensor A'", "Datastreams", 100, true);
    check("Thing/id eq 1", "Datastreams", 101, true);
    check(
        "Datastream/Thing/name eq 'kerb sensor A'",
        "Observations",
        1000,
        true,
    );
    check(
        "Datastream/Thing/properties/owner/name eq 'Ana'",
        "Observations",
        1000,
        true,
    );
    check("Datastream/name eq 'humidity'", "Observations", 1000, false);
    check("Datastream/name eq 'humidity'", "Observations", 1001, true);
    check(
        "FeatureOfInterest/feature/properties/kind eq 'plaza'",
        "Observations",
        1000,
        true,
    );
}

#[test]
fn to_many_navigation_is_true_if_any_value_matches() {
    check("Datastreams/name eq 'humidity'", "Things", 1, true);
    check("Datastreams/name eq 'temperature'", "Things", 1, true);
    check("Datastreams/name eq 'pressure'", "Things", 1, false);
    check("Datastreams/id eq 101", "Things", 1, true);
    check("Datastreams/@iot.id gt 100", "Things", 1, true);
    check("Datastreams/@iot.id gt 101", "Things", 1, false);
    check("Locations/name eq 'block'", "Things", 1, true);
    check("Datastreams/Observations/result gt 30", "Things", 1, true);
    check("Datastreams/Observations/result gt 50", "Things", 1, false);
    // Functions apply to every value, too.
    check("startswith(Datastreams/name, 'hum')", "Things", 1, true);
    check("length(Datastreams/name) eq 11", "Things", 1, true);
    check("length(Datastreams/name) eq 12", "Things", 1, false);
    // A thing without datastreams has no values: no comparison holds.
    check("Datastreams/name eq 'humidity'", "Things", 2, false);
    check("Datastreams/name ne 'humidity'", "Things", 2, false);
    check("not (Datastreams/name eq 'humidity')", "Things", 2, true);
    // Back and forth.
    check("Thing/Locations/name eq 'pole'", "Datastreams", 100, true);
    check(
        "Things/Datastreams/name eq 'humidity'",
        "Locations",
        10,
        true,
    );
}

#[test]
fn navigation_names_are_plain_properties_without_resolver() {
    let entity = json!({"@iot.id": 9, "Thing": {"name": "inline"}});
    let expr = parse_filter("Thing/name eq 'inline'").unwrap();
    assert!(matches(&expr, "Datastreams", &entity, &NoNavigation, now()).unwrap());
    // With a resolver, `Thing` navigates (and entity 9 has no Thing).
    let world = World::new();
    assert!(!matches(&expr, "Datastreams", &entity, &world, now()).unwrap());
}
