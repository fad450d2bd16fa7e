//! $orderby evaluation and SortKey ordering.

use cityloop_sta::{SortKey, parse_query, sort_key};
use serde_json::{Value, json};

use crate::common::{NoNavigation, World, now};

/// Sorts `entities` by the query's $orderby, as a handler would.
fn order(raw: &str, entities: &[Value]) -> Vec<i64> {
    let q = parse_query(raw).unwrap();
    let mut keyed: Vec<(Vec<SortKey>, &Value)> = entities
        .iter()
        .map(|e| {
            let keys = q
                .orderby
                .iter()
                .map(|o| sort_key(&o.expr, "Things", e, &NoNavigation, now()).unwrap())
                .collect();
            (keys, e)
        })
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        a.iter()
            .zip(b)
            .zip(&q.orderby)
            .map(|((x, y), o)| if o.descending { y.cmp(x) } else { x.cmp(y) })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    keyed
        .iter()
        .map(|(_, e)| e["@iot.id"].as_i64().unwrap())
        .collect()
}

#[test]
fn multi_key_orderby() {
    let things = [
        json!({"@iot.id": 1, "name": "b", "properties": {"rank": 2}}),
        json!({"@iot.id": 2, "name": "a", "properties": {"rank": 2.0}}),
        json!({"@iot.id": 3, "name": "c", "properties": {"rank": 10}}),
        json!({"@iot.id": 4, "name": "a", "properties": {}}),
        json!({"@iot.id": 5, "name": "d", "properties": {"rank": 2.5}}),
    ];
    // rank desc (ints and floats together, missing last when descending),
    // then name ascending to break the tie between 2 and 2.0.
    assert_eq!(
        order("$orderby=properties/rank+desc,name", &things),
        [3, 5, 2, 1, 4]
    );
    assert_eq!(
        order("$orderby=properties/rank,name+desc", &things),
        [4, 1, 2, 5, 3]
    );
    assert_eq!(order("$orderby=name,id+desc", &things), [4, 2, 1, 3, 5]);
    assert_eq!(
        order("$orderby=length(name) mul -1,id", &things),
        [1, 2, 3, 4, 5]
    );
}

#[test]
fn sort_key_type_order() {
    let keys: Vec<SortKey> = [
        json!(null),
        json!(false),
        json!(true),
        json!(-5),
        json!(1.5),
        json!(2),
        json!("2013-01-01T08:00:00+08:00"),
        json!("2013-01-01T00:00:00Z/2014-01-01T00:00:00Z"),
        json!("2013-01-01T00:00:01Z"),
        json!("2014-01-01T00:00:00Z"),
        json!("a"),
        json!("b"),
    ]
    .iter()
    .map(SortKey::from_json)
    .collect();
    for pair in keys.windows(2) {
        assert!(pair[0] <= pair[1], "{:?} > {:?}", pair[0], pair[1]);
    }
    // Same instant in two offsets; interval keyed by its start.
    assert_eq!(keys[6], SortKey::from_json(&json!("2013-01-01T00:00:00Z")));
    assert_eq!(keys[7], keys[6]);
    assert!(keys[6] < keys[8]);
    assert_eq!(
        SortKey::from_json(&json!(2)),
        SortKey::from_json(&json!(2.0))
    );
    assert!(SortKey::null().is_null());
    assert_eq!(keys[0], SortKey::null());
}

#[test]
fn sort_key_of_missing_and_navigated_values() {
    let world = World::new();
    let q = parse_query("$orderby=Datastream/name,properties/missing").unwrap();
    let obs = world.get("Observations", 1000);
    let name = sort_key(&q.orderby[0].expr, "Observations", obs, &world, now()).unwrap();
    assert_eq!(name, SortKey::from_json(&json!("temperature")));
    let missing = sort_key(&q.orderby[1].expr, "Observations", obs, &world, now()).unwrap();
    assert!(missing.is_null());
    // Thing 2 has no datastreams: no value at all is null too.
    let q = parse_query("$orderby=Datastreams/name").unwrap();
    let key = sort_key(
        &q.orderby[0].expr,
        "Things",
        world.get("Things", 2),
        &world,
        now(),
    )
    .unwrap();
    assert!(key.is_null());
}
