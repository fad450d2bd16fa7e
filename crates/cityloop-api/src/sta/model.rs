//! The SensorThings entity model: the eight entity sets, their members and
//! navigation links, entities kept as JSON documents in memory (loaded
//! from the store), and how an entity looks on the wire.
//!
//! Observations are not kept here: they live in the store's observations
//! table (one row each, written through perception so the alarm rules see
//! them). A Datastream's id is its perception datastream's id.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// An entity set of SensorThings 1.1 (MultiDatastreams and tasking are not
/// served).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Set {
    Things,
    Locations,
    HistoricalLocations,
    Datastreams,
    Sensors,
    ObservedProperties,
    Observations,
    FeaturesOfInterest,
}

/// A navigation property: its name, target set and whether it leads to
/// many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nav {
    pub name: &'static str,
    pub target: Set,
    pub many: bool,
}

const fn nav(name: &'static str, target: Set, many: bool) -> Nav {
    Nav { name, target, many }
}

impl Set {
    pub const ALL: [Set; 8] = [
        Set::Things,
        Set::Locations,
        Set::HistoricalLocations,
        Set::Datastreams,
        Set::Sensors,
        Set::ObservedProperties,
        Set::Observations,
        Set::FeaturesOfInterest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Set::Things => "Things",
            Set::Locations => "Locations",
            Set::HistoricalLocations => "HistoricalLocations",
            Set::Datastreams => "Datastreams",
            Set::Sensors => "Sensors",
            Set::ObservedProperties => "ObservedProperties",
            Set::Observations => "Observations",
            Set::FeaturesOfInterest => "FeaturesOfInterest",
        }
    }

    /// The name of one member, as a to-one navigation property names it.
    pub fn singular(self) -> &'static str {
        match self {
            Set::Things => "Thing",
            Set::Locations => "Location",
            Set::HistoricalLocations => "HistoricalLocation",
            Set::Datastreams => "Datastream",
            Set::Sensors => "Sensor",
            Set::ObservedProperties => "ObservedProperty",
            Set::Observations => "Observation",
            Set::FeaturesOfInterest => "FeatureOfInterest",
        }
    }

    pub fn parse(name: &str) -> Option<Set> {
        Set::ALL.into_iter().find(|set| set.name() == name)
    }

    /// The members a client sets, each with whether it is required.
    pub fn fields(self) -> &'static [(&'static str, bool)] {
        match self {
            Set::Things => &[("name", true), ("description", true), ("properties", false)],
            Set::Locations => &[
                ("name", true),
                ("description", true),
                ("encodingType", true),
                ("location", true),
                ("properties", false),
            ],
            Set::HistoricalLocations => &[("time", true)],
            Set::Datastreams => &[
                ("name", true),
                ("description", true),
                ("unitOfMeasurement", true),
                ("observationType", true),
                ("observedArea", false),
                ("phenomenonTime", false),
                ("resultTime", false),
                ("properties", false),
            ],
            Set::Sensors => &[
                ("name", true),
                ("description", true),
                ("encodingType", true),
                ("metadata", true),
                ("properties", false),
            ],
            Set::ObservedProperties => &[
                ("name", true),
                ("definition", true),
                ("description", true),
                ("properties", false),
            ],
            Set::Observations => &[
                ("phenomenonTime", false),
                ("result", true),
                ("resultTime", false),
                ("resultQuality", false),
                ("validTime", false),
                ("parameters", false),
            ],
            Set::FeaturesOfInterest => &[
                ("name", true),
                ("description", true),
                ("encodingType", true),
                ("feature", true),
                ("properties", false),
            ],
        }
    }

    pub fn navs(self) -> &'static [Nav] {
        const THINGS: &[Nav] = &[
            nav("Locations", Set::Locations, true),
            nav("HistoricalLocations", Set::HistoricalLocations, true),
            nav("Datastreams", Set::Datastreams, true),
        ];
        const LOCATIONS: &[Nav] = &[
            nav("Things", Set::Things, true),
            nav("HistoricalLocations", Set::HistoricalLocations, true),
        ];
        const HISTORICAL_LOCATIONS: &[Nav] = &[
            nav("Thing", Set::Things, false),
            nav("Locations", Set::Locations, true),
        ];
        const DATASTREAMS: &[Nav] = &[
            nav("Thing", Set::Things, false),
            nav("Sensor", Set::Sensors, false),
            nav("ObservedProperty", Set::ObservedProperties, false),
            nav("Observations", Set::Observations, true),
        ];
        const HAVE_DATASTREAMS: &[Nav] = &[nav("Datastreams", Set::Datastreams, true)];
        const OBSERVATIONS: &[Nav] = &[
            nav("Datastream", Set::Datastreams, false),
            nav("FeatureOfInterest", Set::FeaturesOfInterest, false),
        ];
        const FEATURES: &[Nav] = &[nav("Observations", Set::Observations, true)];
        match self {
            Set::Things => THINGS,
            Set::Locations => LOCATIONS,
            Set::HistoricalLocations => HISTORICAL_LOCATIONS,
            Set::Datastreams => DATASTREAMS,
            Set::Sensors | Set::ObservedProperties => HAVE_DATASTREAMS,
            Set::Observations => OBSERVATIONS,
            Set::FeaturesOfInterest => FEATURES,
        }
    }

    pub fn nav(self, name: &str) -> Option<Nav> {
        self.navs().iter().copied().find(|n| n.name == name)
    }
}

/// The links an entity holds itself; the reverse ones are found by search.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Links {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thing: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_property: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<i64>,
    /// A FeatureOfInterest the server made from this Location, for
    /// observations sent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_location: Option<i64>,
}

/// One entity: its members as the client gave them, and its links.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub props: Map<String, Value>,
    #[serde(default)]
    pub links: Links,
}

/// Every entity but the observations, by set and id.
#[derive(Debug, Clone, Default)]
pub struct Model {
    sets: BTreeMap<Set, BTreeMap<i64, Entity>>,
}

impl Model {
    pub fn get(&self, set: Set, id: i64) -> Option<&Entity> {
        self.sets.get(&set).and_then(|members| members.get(&id))
    }

    pub fn get_mut(&mut self, set: Set, id: i64) -> Option<&mut Entity> {
        self.sets
            .get_mut(&set)
            .and_then(|members| members.get_mut(&id))
    }

    pub fn put(&mut self, set: Set, id: i64, entity: Entity) {
        self.sets.entry(set).or_default().insert(id, entity);
    }

    pub fn remove(&mut self, set: Set, id: i64) -> Option<Entity> {
        self.sets
            .get_mut(&set)
            .and_then(|members| members.remove(&id))
    }

    /// The members of a set, by id.
    pub fn members(&self, set: Set) -> impl Iterator<Item = (i64, &Entity)> {
        self.sets
            .get(&set)
            .into_iter()
            .flat_map(|members| members.iter().map(|(id, e)| (*id, e)))
    }

    pub fn count(&self, set: Set) -> usize {
        self.sets.get(&set).map_or(0, BTreeMap::len)
    }

    /// The next free id of a set.
    pub fn next_id(&self, set: Set) -> i64 {
        self.sets
            .get(&set)
            .and_then(|members| members.keys().next_back())
            .map_or(1, |last| last + 1)
    }

    /// The ids reached from `(set, id)` through `nav` (not Observations,
    /// which the store holds).
    pub fn related(&self, set: Set, id: i64, nav: &str) -> Vec<i64> {
        let Some(entity) = self.get(set, id) else {
            return Vec::new();
        };
        let linked_from = |target: Set, holds: &dyn Fn(&Links) -> bool| -> Vec<i64> {
            self.members(target)
                .filter(|(_, e)| holds(&e.links))
                .map(|(id, _)| id)
                .collect()
        };
        match (set, nav) {
            (Set::Things, "Locations") | (Set::HistoricalLocations, "Locations") => {
                entity.links.locations.clone()
            }
            (Set::Things, "HistoricalLocations") => {
                linked_from(Set::HistoricalLocations, &|l| l.thing == Some(id))
            }
            (Set::Things, "Datastreams") => linked_from(Set::Datastreams, &|l| l.thing == Some(id)),
            (Set::Locations, "Things") => linked_from(Set::Things, &|l| l.locations.contains(&id)),
            (Set::Locations, "HistoricalLocations") => {
                linked_from(Set::HistoricalLocations, &|l| l.locations.contains(&id))
            }
            (Set::HistoricalLocations, "Thing") | (Set::Datastreams, "Thing") => {
                entity.links.thing.into_iter().collect()
            }
            (Set::Datastreams, "Sensor") => entity.links.sensor.into_iter().collect(),
            (Set::Datastreams, "ObservedProperty") => {
                entity.links.observed_property.into_iter().collect()
            }
            (Set::Sensors, "Datastreams") => {
                linked_from(Set::Datastreams, &|l| l.sensor == Some(id))
            }
            (Set::ObservedProperties, "Datastreams") => {
                linked_from(Set::Datastreams, &|l| l.observed_property == Some(id))
            }
            _ => Vec::new(),
        }
    }

    /// The WGS-84 point of a Thing: its first Location's point (or the
    /// centre of its first Location's shape).
    pub fn thing_point(&self, thing: i64) -> Option<(f64, f64)> {
        let location = *self.get(Set::Things, thing)?.links.locations.first()?;
        geojson_point(self.get(Set::Locations, location)?.props.get("location")?)
    }

    /// Loads the model from stored documents.
    pub fn from_docs(docs: Vec<cityloop_store::StaDoc>) -> Result<Model, String> {
        let mut model = Model::default();
        for doc in docs {
            let set = Set::parse(&doc.set)
                .ok_or_else(|| format!("stored SensorThings set {} is unknown", doc.set))?;
            let entity: Entity = serde_json::from_str(&doc.doc)
                .map_err(|e| format!("stored {}({}): {e}", doc.set, doc.id))?;
            model.put(set, doc.id, entity);
        }
        Ok(model)
    }

    /// The stored document of one entity.
    pub fn doc(&self, set: Set, id: i64) -> Option<cityloop_store::StaDoc> {
        let entity = self.get(set, id)?;
        Some(cityloop_store::StaDoc {
            set: set.name().to_owned(),
            id,
            doc: serde_json::to_string(entity).ok()?,
        })
    }
}

/// A point from a GeoJSON geometry or Feature: the point itself, else the
/// mean of the outer ring's or line's vertices.
pub fn geojson_point(value: &Value) -> Option<(f64, f64)> {
    let geometry = match value.get("type").and_then(Value::as_str) {
        Some("Feature") => value.get("geometry")?,
        _ => value,
    };
    let pair = |v: &Value| -> Option<(f64, f64)> {
        let a = v.as_array()?;
        Some((a.first()?.as_f64()?, a.get(1)?.as_f64()?))
    };
    let mean = |points: &[Value]| -> Option<(f64, f64)> {
        let pairs: Vec<(f64, f64)> = points.iter().filter_map(pair).collect();
        if pairs.is_empty() {
            return None;
        }
        let n = pairs.len() as f64;
        Some((
            pairs.iter().map(|p| p.0).sum::<f64>() / n,
            pairs.iter().map(|p| p.1).sum::<f64>() / n,
        ))
    };
    let coordinates = geometry.get("coordinates")?;
    match geometry.get("type")?.as_str()? {
        "Point" => pair(coordinates),
        "LineString" | "MultiPoint" => mean(coordinates.as_array()?),
        "Polygon" | "MultiLineString" => mean(coordinates.as_array()?.first()?.as_array()?),
        "MultiPolygon" => mean(
            coordinates
                .as_array()?
                .first()?
                .as_array()?
                .first()?
                .as_array()?,
        ),
        _ => None,
    }
}

/// The wire form of an entity: id, self link, members, navigation links.
pub fn render(base: &str, set: Set, id: i64, props: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("@iot.id".into(), id.into());
    out.insert(
        "@iot.selfLink".into(),
        format!("{base}/{}({id})", set.name()).into(),
    );
    for (key, value) in props {
        out.insert(key.clone(), value.clone());
    }
    for nav in set.navs() {
        out.insert(
            format!("{}@iot.navigationLink", nav.name),
            format!("{base}/{}({id})/{}", set.name(), nav.name).into(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_navigation_leads_to_a_set_that_navigates_back() {
        for set in Set::ALL {
            for nav in set.navs() {
                assert!(
                    nav.target.navs().iter().any(|back| back.target == set),
                    "{}/{} has no way back",
                    set.name(),
                    nav.name
                );
            }
        }
    }

    #[test]
    fn points_come_from_geometries_and_features() {
        assert_eq!(
            geojson_point(&json!({"type": "Point", "coordinates": [121.47, 31.23]})),
            Some((121.47, 31.23))
        );
        let square = json!({"type": "Feature", "geometry": {"type": "Polygon",
            "coordinates": [[[121.0, 31.0], [122.0, 31.0], [122.0, 32.0], [121.0, 32.0]]]}});
        assert_eq!(geojson_point(&square), Some((121.5, 31.5)));
        assert_eq!(geojson_point(&json!({"type": "Point"})), None);
    }

    #[test]
    fn related_entities_are_found_both_ways() {
        let mut model = Model::default();
        model.put(Set::Locations, 1, Entity::default());
        let mut thing = Entity::default();
        thing.links.locations = vec![1];
        model.put(Set::Things, 7, thing);
        let mut stream = Entity::default();
        stream.links.thing = Some(7);
        model.put(Set::Datastreams, 3, stream);
        assert_eq!(model.related(Set::Things, 7, "Datastreams"), [3]);
        assert_eq!(model.related(Set::Datastreams, 3, "Thing"), [7]);
        assert_eq!(model.related(Set::Locations, 1, "Things"), [7]);
        assert_eq!(model.next_id(Set::Things), 8);
        assert_eq!(model.next_id(Set::Sensors), 1);
    }
}
