//! Planning a SensorThings write on a draft of the model: creates (with
//! deep insert and links by `@iot.id`), updates (merge, replace, JSON
//! Patch) and deletes (with what the standard deletes with them). Nothing
//! is written here; [`super::Sta::commit`] registers the new Datastreams
//! with perception, stores the touched documents in one transaction and
//! ingests the new observations.

use super::StaError;
use super::model::{Entity, Model, Set};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// The longest text member we keep.
const TEXT_MAX: usize = 4_000;

/// A Datastream to register with perception; its id in the draft is
/// `temp` (negative) until then.
#[derive(Debug, Clone)]
pub struct NewStream {
    pub temp: i64,
    pub name: String,
    pub thing: i64,
    pub property: String,
    pub unit: String,
    pub period_minutes: u32,
}

/// An observation to ingest once the plan is stored.
#[derive(Debug, Clone)]
pub struct NewObservation {
    pub datastream: i64,
    pub at: DateTime<Utc>,
    pub result: f64,
    pub feature: Option<i64>,
    pub extra: Option<String>,
}

/// A write in preparation.
pub struct Draft {
    pub model: Model,
    pub now: DateTime<Utc>,
    pub touched: BTreeSet<(Set, i64)>,
    pub deleted: BTreeSet<(Set, i64)>,
    pub new_streams: Vec<NewStream>,
    /// Datastreams to delete (with their observations).
    pub dropped_streams: Vec<i64>,
    /// Features whose observations go with them.
    pub dropped_features: Vec<i64>,
    pub observations: Vec<NewObservation>,
}

/// An entity with the members of a JSON object and no links yet.
fn entity_of(members: Value) -> Entity {
    Entity {
        props: match members {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        ..Entity::default()
    }
}

/// Members and navigation properties of a request body.
type Split = (Map<String, Value>, Map<String, Value>);

fn bad(message: impl Into<String>) -> StaError {
    StaError::bad_request(message)
}

/// `@iot.id` of a reference, as an integer (a quoted number is accepted).
pub fn reference_id(value: &Value) -> Option<i64> {
    match value.get("@iot.id")? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A time member: an instant or an interval `start/end`, as RFC 3339.
pub fn parse_time(path: &str, value: &Value) -> Result<(DateTime<Utc>, Option<String>), StaError> {
    let text = value
        .as_str()
        .ok_or_else(|| bad(format!("{path}: a time as an ISO 8601 string")))?;
    let instant = |s: &str| {
        DateTime::parse_from_rfc3339(s.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                bad(format!(
                    "{path}: {s:?} is not an ISO 8601 instant with offset ({e})"
                ))
            })
    };
    match text.split_once('/') {
        Some((start, end)) => {
            let (from, to) = (instant(start)?, instant(end)?);
            if to < from {
                return Err(bad(format!("{path}: the interval ends before it starts")));
            }
            let interval = format!(
                "{}/{}",
                from.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                to.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            );
            Ok((from, Some(interval)))
        }
        None => Ok((instant(text)?, None)),
    }
}

/// The code perception and the rules know an observed property by: its
/// `properties.code` when given, else its name in lower case without
/// punctuation (`PM2.5` → `pm25`).
pub fn property_code(observed_property: &Entity) -> String {
    if let Some(code) = observed_property
        .props
        .get("properties")
        .and_then(|p| p.get("code"))
        .and_then(Value::as_str)
    {
        return code.trim().to_owned();
    }
    observed_property
        .props
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .flat_map(char::to_lowercase)
        .collect()
}

impl Draft {
    pub fn new(model: Model, now: DateTime<Utc>) -> Draft {
        Draft {
            model,
            now,
            touched: BTreeSet::new(),
            deleted: BTreeSet::new(),
            new_streams: Vec::new(),
            dropped_streams: Vec::new(),
            dropped_features: Vec::new(),
            observations: Vec::new(),
        }
    }

    fn touch(&mut self, set: Set, id: i64) {
        self.touched.insert((set, id));
    }

    fn exists(&self, set: Set, id: i64) -> bool {
        self.model.get(set, id).is_some()
    }

    /// A nested entity: a reference when it carries `@iot.id` (its other
    /// members are ignored), else a new entity created here.
    fn link_or_create(&mut self, set: Set, value: &Value, path: &str) -> Result<i64, StaError> {
        if !value.is_object() {
            return Err(bad(format!(
                "{path}: an object (an entity or {{\"@iot.id\": …}})"
            )));
        }
        if value.get("@iot.id").is_some() {
            let id =
                reference_id(value).ok_or_else(|| bad(format!("{path}.@iot.id: an integer id")))?;
            if set == Set::Datastreams && id < 0 || !self.exists(set, id) {
                return Err(StaError::not_found(format!(
                    "{path}: {}({id}) does not exist",
                    set.name()
                )));
            }
            return Ok(id);
        }
        self.create(set, value, None, path)
    }

    /// Creates an entity of `set` from `body`; `implied` is the link the
    /// request's path gives (e.g. `Datastreams(3)/Observations`). Returns
    /// its id (negative for a Datastream not yet registered; 0 for an
    /// observation, whose id comes when it is stored).
    pub fn create(
        &mut self,
        set: Set,
        body: &Value,
        implied: Option<(&'static str, i64)>,
        path: &str,
    ) -> Result<i64, StaError> {
        let object = body
            .as_object()
            .ok_or_else(|| bad(format!("{path}: a JSON object")))?;
        let (props, navs) = split_members(set, object, path)?;
        for (field, required) in set.fields() {
            let computed = matches!(
                (set, *field),
                (Set::Observations, "phenomenonTime") | (Set::HistoricalLocations, "time")
            );
            if *required && !computed && !props.contains_key(*field) {
                return Err(bad(format!("{path}: {} needs {field}", set.singular())));
            }
        }
        let mut navs = navs;
        if let Some((name, id)) = implied {
            let link = json!({ "@iot.id": id });
            let many = set.nav(name).is_some_and(|n| n.many);
            navs.insert(name.to_owned(), if many { json!([link]) } else { link });
        }
        match set {
            Set::Observations => self.create_observation(props, &navs, path),
            Set::Datastreams => self.create_datastream(props, &navs, path),
            _ => {
                let id = self.model.next_id(set);
                self.model.put(
                    set,
                    id,
                    Entity {
                        props,
                        ..Entity::default()
                    },
                );
                self.touch(set, id);
                self.link_new(set, id, &navs, path)?;
                Ok(id)
            }
        }
    }

    /// The links of a new entity of a set other than Datastreams and
    /// Observations.
    fn link_new(
        &mut self,
        set: Set,
        id: i64,
        navs: &Map<String, Value>,
        path: &str,
    ) -> Result<(), StaError> {
        match set {
            Set::Things => {
                if let Some(locations) = navs.get("Locations") {
                    let ids = self.many(Set::Locations, locations, &format!("{path}.Locations"))?;
                    self.set_locations(id, ids);
                }
                if let Some(items) = navs.get("HistoricalLocations") {
                    for (i, item) in array(items, &format!("{path}.HistoricalLocations"))?
                        .iter()
                        .enumerate()
                    {
                        self.create(
                            Set::HistoricalLocations,
                            item,
                            Some(("Thing", id)),
                            &format!("{path}.HistoricalLocations[{i}]"),
                        )?;
                    }
                }
                self.create_children(navs, "Datastreams", Set::Datastreams, ("Thing", id), path)?;
            }
            Set::Locations => {
                if let Some(things) = navs.get("Things") {
                    for thing in self.many(Set::Things, things, &format!("{path}.Things"))? {
                        let mut locations = self
                            .model
                            .get(Set::Things, thing)
                            .map(|t| t.links.locations.clone())
                            .unwrap_or_default();
                        if !locations.contains(&id) {
                            locations.push(id);
                        }
                        self.set_locations(thing, locations);
                    }
                }
            }
            Set::HistoricalLocations => {
                let thing = self.one(Set::Things, navs.get("Thing"), "Thing", path)?;
                let locations = match navs.get("Locations") {
                    Some(items) => {
                        self.many(Set::Locations, items, &format!("{path}.Locations"))?
                    }
                    None => Vec::new(),
                };
                let now = self.now;
                if let Some(entity) = self.model.get_mut(Set::HistoricalLocations, id) {
                    entity.links.thing = Some(thing);
                    entity.links.locations = locations;
                    entity
                        .props
                        .entry("time")
                        .or_insert_with(|| now.to_rfc3339_opts(SecondsFormat::AutoSi, true).into());
                }
            }
            Set::Sensors => {
                self.create_children(navs, "Datastreams", Set::Datastreams, ("Sensor", id), path)?;
            }
            Set::ObservedProperties => self.create_children(
                navs,
                "Datastreams",
                Set::Datastreams,
                ("ObservedProperty", id),
                path,
            )?,
            Set::FeaturesOfInterest => self.create_children(
                navs,
                "Observations",
                Set::Observations,
                ("FeatureOfInterest", id),
                path,
            )?,
            Set::Datastreams | Set::Observations => {}
        }
        Ok(())
    }

    fn create_children(
        &mut self,
        navs: &Map<String, Value>,
        name: &str,
        set: Set,
        link: (&'static str, i64),
        path: &str,
    ) -> Result<(), StaError> {
        if let Some(items) = navs.get(name) {
            for (i, item) in array(items, &format!("{path}.{name}"))?.iter().enumerate() {
                if item.get("@iot.id").is_some() {
                    return Err(bad(format!(
                        "{path}.{name}[{i}]: link an existing {} from its own side",
                        set.singular()
                    )));
                }
                self.create(set, item, Some(link), &format!("{path}.{name}[{i}]"))?;
            }
        }
        Ok(())
    }

    fn many(&mut self, set: Set, items: &Value, path: &str) -> Result<Vec<i64>, StaError> {
        let mut ids = Vec::new();
        for (i, item) in array(items, path)?.iter().enumerate() {
            let id = self.link_or_create(set, item, &format!("{path}[{i}]"))?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    fn one(
        &mut self,
        set: Set,
        value: Option<&Value>,
        name: &str,
        path: &str,
    ) -> Result<i64, StaError> {
        let value = value.ok_or_else(|| bad(format!("{path}: needs {name}")))?;
        self.link_or_create(set, value, &format!("{path}.{name}"))
    }

    /// Gives a Thing its Locations and records the change as a
    /// HistoricalLocation.
    fn set_locations(&mut self, thing: i64, locations: Vec<i64>) {
        let Some(entity) = self.model.get_mut(Set::Things, thing) else {
            return;
        };
        if entity.links.locations == locations {
            return;
        }
        entity.links.locations = locations.clone();
        self.touch(Set::Things, thing);
        if locations.is_empty() {
            return;
        }
        let id = self.model.next_id(Set::HistoricalLocations);
        let mut history = Entity::default();
        history.props.insert(
            "time".into(),
            self.now.to_rfc3339_opts(SecondsFormat::AutoSi, true).into(),
        );
        history.links.thing = Some(thing);
        history.links.locations = locations;
        self.model.put(Set::HistoricalLocations, id, history);
        self.touch(Set::HistoricalLocations, id);
    }

    fn create_datastream(
        &mut self,
        props: Map<String, Value>,
        navs: &Map<String, Value>,
        path: &str,
    ) -> Result<i64, StaError> {
        let thing = self.one(Set::Things, navs.get("Thing"), "Thing", path)?;
        let sensor = self.one(Set::Sensors, navs.get("Sensor"), "Sensor", path)?;
        let observed = self.one(
            Set::ObservedProperties,
            navs.get("ObservedProperty"),
            "ObservedProperty",
            path,
        )?;
        if self.model.thing_point(thing).is_none() {
            return Err(bad(format!(
                "{path}: its Thing needs a Location (a GeoJSON point inside the city) first, so \
                 alarms and cases can place it"
            )));
        }
        let unit = props
            .get("unitOfMeasurement")
            .and_then(|u| {
                ["symbol", "name"].into_iter().find_map(|k| {
                    u.get(k)
                        .and_then(Value::as_str)
                        .filter(|s| !s.trim().is_empty())
                })
            })
            .ok_or_else(|| {
                bad(format!(
                    "{path}.unitOfMeasurement: needs a symbol or a name"
                ))
            })?
            .to_owned();
        let period_minutes = props
            .get("properties")
            .and_then(|p| p.get("period_minutes"))
            .map(|v| {
                v.as_u64()
                    .filter(|m| *m <= 1440)
                    .map(|m| m as u32)
                    .ok_or_else(|| bad(format!("{path}.properties.period_minutes: 0–1440")))
            })
            .transpose()?
            .unwrap_or(0);
        let property = self
            .model
            .get(Set::ObservedProperties, observed)
            .map(property_code)
            .unwrap_or_default();
        let name = props
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let temp = -(self.new_streams.len() as i64) - 1;
        let mut entity = Entity {
            props,
            ..Entity::default()
        };
        entity.links.thing = Some(thing);
        entity.links.sensor = Some(sensor);
        entity.links.observed_property = Some(observed);
        self.model.put(Set::Datastreams, temp, entity);
        self.touch(Set::Datastreams, temp);
        self.new_streams.push(NewStream {
            temp,
            name,
            thing,
            property,
            unit,
            period_minutes,
        });
        self.create_children(
            navs,
            "Observations",
            Set::Observations,
            ("Datastream", temp),
            path,
        )?;
        Ok(temp)
    }

    fn create_observation(
        &mut self,
        props: Map<String, Value>,
        navs: &Map<String, Value>,
        path: &str,
    ) -> Result<i64, StaError> {
        let datastream = match navs.get("Datastream") {
            Some(value) => match reference_id(value) {
                Some(id) if id < 0 && self.exists(Set::Datastreams, id) => id,
                _ => self.link_or_create(Set::Datastreams, value, &format!("{path}.Datastream"))?,
            },
            None => return Err(bad(format!("{path}: needs Datastream"))),
        };
        let feature = match navs.get("FeatureOfInterest") {
            Some(value) => Some(self.link_or_create(
                Set::FeaturesOfInterest,
                value,
                &format!("{path}.FeatureOfInterest"),
            )?),
            None => self.feature_for(datastream),
        };
        let observation = observation_from(&props, datastream, feature, self.now, path)?;
        self.observations.push(observation);
        Ok(0)
    }

    /// The FeatureOfInterest of an observation sent without one: made once
    /// from its Thing's Location.
    pub fn feature_for(&mut self, datastream: i64) -> Option<i64> {
        let thing = self.model.get(Set::Datastreams, datastream)?.links.thing?;
        let location = *self
            .model
            .get(Set::Things, thing)?
            .links
            .locations
            .first()?;
        if let Some((id, _)) = self
            .model
            .members(Set::FeaturesOfInterest)
            .find(|(_, f)| f.links.from_location == Some(location))
        {
            return Some(id);
        }
        let place = self.model.get(Set::Locations, location)?.props.clone();
        let mut feature = Entity::default();
        for (from, to) in [
            ("name", "name"),
            ("description", "description"),
            ("encodingType", "encodingType"),
            ("location", "feature"),
        ] {
            if let Some(value) = place.get(from) {
                feature.props.insert(to.into(), value.clone());
            }
        }
        feature.links.from_location = Some(location);
        let id = self.model.next_id(Set::FeaturesOfInterest);
        self.model.put(Set::FeaturesOfInterest, id, feature);
        self.touch(Set::FeaturesOfInterest, id);
        Some(id)
    }

    /// Gives a datastream registered outside SensorThings (the sensors
    /// API, the demo) its SensorThings entities: its Thing (by name), a
    /// Location at its point, a Sensor and an ObservedProperty (by code).
    pub fn adopt(&mut self, record: &cityloop_store::DatastreamRecord) {
        let find = |model: &Model, set: Set, holds: &dyn Fn(&Entity) -> bool| {
            model.members(set).find(|(_, e)| holds(e)).map(|(id, _)| id)
        };
        let named = |name: &str| {
            let name = name.to_owned();
            move |e: &Entity| e.props.get("name").and_then(Value::as_str) == Some(name.as_str())
        };
        let now = self.now.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let thing = match find(&self.model, Set::Things, &named(&record.thing)) {
            Some(id) => id,
            None => {
                let location = self.model.next_id(Set::Locations);
                let place = entity_of(json!({
                    "name": record.name,
                    "description": record.area_path.iter().map(|a| a.as_str()).collect::<Vec<_>>().join("/"),
                    "encodingType": "application/geo+json",
                    "location": {"type": "Point", "coordinates": [record.lon, record.lat]},
                }));
                self.model.put(Set::Locations, location, place);
                self.touch(Set::Locations, location);
                let id = self.model.next_id(Set::Things);
                let thing = entity_of(
                    json!({"name": record.thing, "description": format!("sensor device {}", record.thing)}),
                );
                self.model.put(Set::Things, id, thing);
                self.touch(Set::Things, id);
                self.set_locations(id, vec![location]);
                id
            }
        };
        let sensor_name = format!("{} sensor", record.property);
        let sensor = find(&self.model, Set::Sensors, &named(&sensor_name)).unwrap_or_else(|| {
            let id = self.model.next_id(Set::Sensors);
            let sensor = entity_of(json!({"name": sensor_name, "description": format!("a {} sensor registered through the sensors API", record.property),
                                  "encodingType": "text/plain", "metadata": ""}));
            self.model.put(Set::Sensors, id, sensor);
            self.touch(Set::Sensors, id);
            id
        });
        let code = record.property.clone();
        let observed = find(&self.model, Set::ObservedProperties, &|e| property_code(e) == code)
            .unwrap_or_else(|| {
                let id = self.model.next_id(Set::ObservedProperties);
                let property = entity_of(json!({"name": record.property, "definition": format!("urn:cityloop:observed-property:{}", record.property),
                                        "description": record.property, "properties": {"code": record.property}}));
                self.model.put(Set::ObservedProperties, id, property);
                self.touch(Set::ObservedProperties, id);
                id
            });
        let mut stream = entity_of(json!({
            "name": record.name,
            "description": format!("{} of {}", record.property, record.thing),
            "unitOfMeasurement": {"name": record.unit, "symbol": record.unit, "definition": ""},
            "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "properties": {"period_minutes": record.period_minutes, "created": now},
        }));
        stream.links.thing = Some(thing);
        stream.links.sensor = Some(sensor);
        stream.links.observed_property = Some(observed);
        self.model.put(Set::Datastreams, record.id, stream);
        self.touch(Set::Datastreams, record.id);
    }

    /// Updates an entity (not an Observation): `replace` (PUT) replaces
    /// its members, else (PATCH) the given ones; links given by
    /// `@iot.id` are replaced.
    pub fn update(
        &mut self,
        set: Set,
        id: i64,
        body: &Value,
        replace: bool,
    ) -> Result<(), StaError> {
        let path = format!("{}({id})", set.name());
        let object = body
            .as_object()
            .ok_or_else(|| bad(format!("{path}: a JSON object")))?;
        if let Some(given) = object.get("@iot.id")
            && reference_id(&json!({ "@iot.id": given })) != Some(id)
        {
            return Err(bad(format!("{path}: @iot.id cannot be changed")));
        }
        let (props, navs) = split_members(set, object, &path)?;
        let mut entity = self
            .model
            .get(set, id)
            .cloned()
            .ok_or_else(|| StaError::not_found(format!("{path} does not exist")))?;
        if replace {
            for (field, required) in set.fields() {
                if *required && !props.contains_key(*field) {
                    return Err(bad(format!("{path}: {} needs {field}", set.singular())));
                }
            }
            entity.props = props;
        } else {
            for (key, value) in props {
                if value.is_null() {
                    if set
                        .fields()
                        .iter()
                        .any(|(f, required)| *f == key && *required)
                    {
                        return Err(bad(format!("{path}.{key}: required, it cannot be null")));
                    }
                    entity.props.remove(&key);
                } else {
                    entity.props.insert(key, value);
                }
            }
        }
        self.model.put(set, id, entity);
        self.touch(set, id);
        for (name, value) in &navs {
            let nav = set
                .nav(name)
                .expect("split_members keeps navigation properties only");
            let nav_path = format!("{path}.{name}");
            let ids = if nav.many {
                array(value, &nav_path)?
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.reference(nav.target, item, &format!("{nav_path}[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                vec![self.reference(nav.target, value, &nav_path)?]
            };
            match (set, name.as_str()) {
                (Set::Things, "Locations") => self.set_locations(id, ids),
                (Set::HistoricalLocations, "Locations") => {
                    if let Some(e) = self.model.get_mut(set, id) {
                        e.links.locations = ids;
                    }
                }
                (Set::HistoricalLocations | Set::Datastreams, "Thing") => {
                    if set == Set::Datastreams {
                        return Err(bad(format!(
                            "{nav_path}: a Datastream stays with its Thing (alarms and cases are placed by it); make a new Datastream"
                        )));
                    }
                    if let Some(e) = self.model.get_mut(set, id) {
                        e.links.thing = ids.first().copied();
                    }
                }
                (Set::Datastreams, "Sensor") => {
                    if let Some(e) = self.model.get_mut(set, id) {
                        e.links.sensor = ids.first().copied();
                    }
                }
                (Set::Datastreams, "ObservedProperty") => {
                    return Err(bad(format!(
                        "{nav_path}: the rules know a Datastream by its ObservedProperty; make a new Datastream"
                    )));
                }
                _ => {
                    return Err(bad(format!(
                        "{nav_path}: change this link from the {}'s side",
                        nav.target.singular()
                    )));
                }
            }
        }
        Ok(())
    }

    fn reference(&self, set: Set, value: &Value, path: &str) -> Result<i64, StaError> {
        let id = reference_id(value)
            .ok_or_else(|| bad(format!("{path}: a reference {{\"@iot.id\": …}}")))?;
        if !self.exists(set, id) {
            return Err(StaError::not_found(format!(
                "{path}: {}({id}) does not exist",
                set.name()
            )));
        }
        Ok(id)
    }

    /// Deletes an entity (not an Observation) and what goes with it.
    pub fn delete(&mut self, set: Set, id: i64) -> Result<(), StaError> {
        if self.model.remove(set, id).is_none() {
            return Err(StaError::not_found(format!(
                "{}({id}) does not exist",
                set.name()
            )));
        }
        self.deleted.insert((set, id));
        self.touched.remove(&(set, id));
        match set {
            Set::Things => {
                for history in self.ids_where(Set::HistoricalLocations, |l| l.thing == Some(id)) {
                    self.delete(Set::HistoricalLocations, history)?;
                }
                for stream in self.ids_where(Set::Datastreams, |l| l.thing == Some(id)) {
                    self.delete(Set::Datastreams, stream)?;
                }
            }
            Set::Locations => {
                for thing in self.ids_where(Set::Things, |l| l.locations.contains(&id)) {
                    if let Some(e) = self.model.get_mut(Set::Things, thing) {
                        e.links.locations.retain(|l| *l != id);
                        self.touched.insert((Set::Things, thing));
                    }
                }
                for history in
                    self.ids_where(Set::HistoricalLocations, |l| l.locations.contains(&id))
                {
                    if let Some(e) = self.model.get_mut(Set::HistoricalLocations, history) {
                        e.links.locations.retain(|l| *l != id);
                        self.touched.insert((Set::HistoricalLocations, history));
                    }
                }
                for feature in
                    self.ids_where(Set::FeaturesOfInterest, |l| l.from_location == Some(id))
                {
                    if let Some(e) = self.model.get_mut(Set::FeaturesOfInterest, feature) {
                        e.links.from_location = None;
                        self.touched.insert((Set::FeaturesOfInterest, feature));
                    }
                }
            }
            Set::Datastreams => self.dropped_streams.push(id),
            Set::Sensors => {
                for stream in self.ids_where(Set::Datastreams, |l| l.sensor == Some(id)) {
                    self.delete(Set::Datastreams, stream)?;
                }
            }
            Set::ObservedProperties => {
                for stream in self.ids_where(Set::Datastreams, |l| l.observed_property == Some(id))
                {
                    self.delete(Set::Datastreams, stream)?;
                }
            }
            Set::FeaturesOfInterest => self.dropped_features.push(id),
            Set::HistoricalLocations | Set::Observations => {}
        }
        Ok(())
    }

    fn ids_where(&self, set: Set, holds: impl Fn(&super::model::Links) -> bool) -> Vec<i64> {
        self.model
            .members(set)
            .filter(|(_, e)| holds(&e.links))
            .map(|(id, _)| id)
            .collect()
    }
}

fn array<'v>(value: &'v Value, path: &str) -> Result<&'v Vec<Value>, StaError> {
    value
        .as_array()
        .ok_or_else(|| bad(format!("{path}: an array of entities")))
}

/// Splits a body into members (checked) and navigation properties;
/// annotations (`@iot.…`) are ignored, unknown names refused.
fn split_members(set: Set, object: &Map<String, Value>, path: &str) -> Result<Split, StaError> {
    let mut props = Map::new();
    let mut navs = Map::new();
    for (key, value) in object {
        if key.contains("@iot.") {
            continue;
        }
        if set.nav(key).is_some() {
            navs.insert(key.clone(), value.clone());
        } else if set.fields().iter().any(|(f, _)| f == key) {
            check_member(set, key, value, &format!("{path}.{key}"))?;
            props.insert(key.clone(), value.clone());
        } else {
            return Err(bad(format!(
                "{path}: {} has no member {key:?} (it has {})",
                set.singular(),
                set.fields()
                    .iter()
                    .map(|(f, _)| *f)
                    .chain(set.navs().iter().map(|n| n.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok((props, navs))
}

fn check_member(set: Set, key: &str, value: &Value, path: &str) -> Result<(), StaError> {
    if value.is_null() {
        return Ok(());
    }
    match key {
        "name" | "description" | "encodingType" | "observationType" | "definition" => {
            let text = value
                .as_str()
                .ok_or_else(|| bad(format!("{path}: a string")))?;
            if text.chars().count() > TEXT_MAX {
                return Err(bad(format!("{path}: at most {TEXT_MAX} characters")));
            }
        }
        "properties" | "unitOfMeasurement" | "parameters" if !value.is_object() => {
            return Err(bad(format!("{path}: a JSON object")));
        }
        "location" | "feature" | "observedArea" => {
            if value.get("type").and_then(Value::as_str).is_none() {
                return Err(bad(format!("{path}: a GeoJSON object (with a \"type\")")));
            }
            if matches!(key, "location" | "feature")
                && super::model::geojson_point(value).is_none()
                && value.get("type").and_then(Value::as_str) != Some("GeometryCollection")
            {
                return Err(bad(format!(
                    "{path}: GeoJSON with coordinates [longitude, latitude] (WGS-84)"
                )));
            }
        }
        "time" | "phenomenonTime" | "resultTime" | "validTime" => {
            parse_time(path, value)?;
        }
        "result" if set == Set::Observations && !value.as_f64().is_some_and(f64::is_finite) => {
            return Err(bad(format!(
                "{path}: a finite number (this server keeps measurements, OM_Measurement)"
            )));
        }
        _ => {}
    }
    Ok(())
}

/// An observation from its members.
pub fn observation_from(
    props: &Map<String, Value>,
    datastream: i64,
    feature: Option<i64>,
    now: DateTime<Utc>,
    path: &str,
) -> Result<NewObservation, StaError> {
    let result = props
        .get("result")
        .and_then(Value::as_f64)
        .filter(|r| r.is_finite())
        .ok_or_else(|| bad(format!("{path}.result: a finite number")))?;
    let mut extra = Map::new();
    let at = match props.get("phenomenonTime").filter(|v| !v.is_null()) {
        Some(value) => {
            let (at, interval) = parse_time(&format!("{path}.phenomenonTime"), value)?;
            if let Some(interval) = interval {
                extra.insert("phenomenonTime".into(), interval.into());
            }
            at
        }
        None => now,
    };
    for key in ["resultTime", "resultQuality", "validTime", "parameters"] {
        if let Some(value) = props.get(key).filter(|v| !v.is_null()) {
            extra.insert(key.into(), value.clone());
        }
    }
    Ok(NewObservation {
        datastream,
        at,
        result,
        feature,
        extra: (!extra.is_empty()).then(|| Value::Object(extra).to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> Draft {
        Draft::new(Model::default(), Utc::now())
    }

    fn thing_with_location() -> Value {
        json!({"name": "站点", "description": "空气质量监测站",
               "Locations": [{"name": "长寿路", "description": "x", "encodingType": "application/geo+json",
                               "location": {"type": "Point", "coordinates": [121.435, 31.247]}}]})
    }

    #[test]
    fn a_deep_insert_creates_links_and_history() {
        let mut d = draft();
        let mut body = thing_with_location();
        body["Datastreams"] = json!([{"name": "PM2.5", "description": "d",
            "unitOfMeasurement": {"name": "microgram per cubic metre", "symbol": "µg/m³", "definition": ""},
            "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "Sensor": {"name": "β", "description": "d", "encodingType": "text/plain", "metadata": "m"},
            "ObservedProperty": {"name": "PM2.5", "definition": "urn:x", "description": "d"},
            "Observations": [{"result": 80, "phenomenonTime": "2026-11-29T08:00:00+08:00"}]}]);
        let thing = d.create(Set::Things, &body, None, "Thing").unwrap();
        assert_eq!(d.model.related(Set::Things, thing, "Locations").len(), 1);
        assert_eq!(
            d.model
                .related(Set::Things, thing, "HistoricalLocations")
                .len(),
            1
        );
        assert_eq!(d.new_streams.len(), 1);
        assert_eq!(d.new_streams[0].property, "pm25");
        assert_eq!(d.new_streams[0].unit, "µg/m³");
        assert_eq!(d.observations.len(), 1);
        assert_eq!(d.observations[0].datastream, d.new_streams[0].temp);
        assert!(
            d.observations[0].feature.is_some(),
            "a feature made from the Location"
        );
    }

    #[test]
    fn bad_bodies_name_the_member() {
        let mut d = draft();
        let e = d
            .create(Set::Things, &json!({"name": "x"}), None, "Thing")
            .unwrap_err();
        assert!(e.message.contains("description"), "{}", e.message);
        let e = d
            .create(
                Set::Things,
                &json!({"name": "x", "description": "y", "colour": 1}),
                None,
                "Thing",
            )
            .unwrap_err();
        assert!(e.message.contains("colour"), "{}", e.message);
        let e = d
            .create(
                Set::Things,
                &json!({"name": "x", "description": "y", "Locations": [{"@iot.id": 9}]}),
                None,
                "Thing",
            )
            .unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::NOT_FOUND);
        assert!(d.model.count(Set::Things) <= 1);
    }

    #[test]
    fn a_datastream_needs_a_located_thing() {
        let mut d = draft();
        let thing = d
            .create(
                Set::Things,
                &json!({"name": "x", "description": "y"}),
                None,
                "Thing",
            )
            .unwrap();
        let e = d
            .create(
                Set::Datastreams,
                &json!({"name": "n", "description": "d", "unitOfMeasurement": {"symbol": "°C"},
                        "observationType": "OM_Measurement", "Thing": {"@iot.id": thing},
                        "Sensor": {"name": "s", "description": "d", "encodingType": "t", "metadata": "m"},
                        "ObservedProperty": {"name": "t", "definition": "d", "description": "d"}}),
                None,
                "Datastream",
            )
            .unwrap_err();
        assert!(e.message.contains("Location"), "{}", e.message);
    }

    #[test]
    fn intervals_and_extra_members_are_kept() {
        let props = json!({"result": 3.5, "phenomenonTime": "2026-11-29T00:00:00Z/2026-11-29T01:00:00Z",
                           "resultTime": "2026-11-29T01:00:05Z", "parameters": {"k": 1}});
        let o = observation_from(props.as_object().unwrap(), 1, None, Utc::now(), "o").unwrap();
        assert_eq!(o.at.to_rfc3339(), "2026-11-29T00:00:00+00:00");
        let extra: Value = serde_json::from_str(o.extra.as_deref().unwrap()).unwrap();
        assert_eq!(
            extra["phenomenonTime"],
            "2026-11-29T00:00:00Z/2026-11-29T01:00:00Z"
        );
        assert_eq!(extra["parameters"]["k"], 1);
        let e = observation_from(
            json!({"result": "high"}).as_object().unwrap(),
            1,
            None,
            Utc::now(),
            "o",
        )
        .unwrap_err();
        assert!(e.message.contains("result"));
    }

    #[test]
    fn deleting_a_thing_takes_its_datastreams_and_history() {
        let mut model = Model::default();
        let mut thing = Entity::default();
        thing.links.locations = vec![1];
        model.put(Set::Things, 1, thing);
        model.put(Set::Locations, 1, Entity::default());
        let mut history = Entity::default();
        history.links.thing = Some(1);
        model.put(Set::HistoricalLocations, 1, history);
        let mut stream = Entity::default();
        stream.links.thing = Some(1);
        model.put(Set::Datastreams, 4, stream);
        let mut d = Draft::new(model, Utc::now());
        d.delete(Set::Things, 1).unwrap();
        assert_eq!(d.dropped_streams, [4]);
        assert!(d.model.get(Set::HistoricalLocations, 1).is_none());
        assert!(
            d.model.get(Set::Locations, 1).is_some(),
            "Locations may be shared; they stay"
        );
    }
}
