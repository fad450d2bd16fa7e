//! Reading SensorThings resources: resolving a resource path
//! (`Things(1)/Datastreams`, `Observations(5)/Datastream/name/$value`), and
//! answering collections with `$filter`, `$orderby`, `$top`, `$skip`,
//! `$count`, `$select` and nested `$expand`, paged by absolute
//! `@iot.nextLink`s.

use super::StaError;
use super::model::{Model, Set, render};
use chrono::{DateTime, SecondsFormat, Utc};
use cityloop_sta::{Expand, Query, Resolver};
use cityloop_store::{ObservationRow, ObservationScan, Store};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};

/// Page size when the client gives no `$top`.
pub const TOP_DEFAULT: usize = 100;
/// The largest page.
pub const TOP_MAX: usize = 10_000;
/// The most observations one request may read before filtering in memory.
pub const OBSERVATION_SCAN_MAX: usize = 500_000;
/// Observations read per store call while scanning.
const SCAN_PAGE: u32 = 10_000;

/// One segment of a resource path.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub name: String,
    pub id: Option<i64>,
}

/// Splits `Things(1)/Datastreams` into segments; ids may be quoted.
pub fn segments(path: &str) -> Result<Vec<Segment>, StaError> {
    let mut out = Vec::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let (name, id) = match part.split_once('(') {
            Some((name, rest)) => {
                let inner = rest
                    .strip_suffix(')')
                    .ok_or_else(|| StaError::bad_request(format!("{part}: expected ')'")))?;
                let inner = inner.trim().trim_matches('\'');
                let id = inner.parse::<i64>().map_err(|_| {
                    StaError::not_found(format!("{part}: ids on this server are integers"))
                })?;
                (name, Some(id))
            }
            None => (part, None),
        };
        out.push(Segment {
            name: name.to_owned(),
            id,
        });
    }
    Ok(out)
}

/// Which members of a set a collection holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    All,
    Ids(Vec<i64>),
    /// Observations of a Datastream.
    Stream(i64),
    /// Observations of a FeatureOfInterest.
    Feature(i64),
}

/// What a path names.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Collection {
        set: Set,
        scope: Scope,
    },
    Entity {
        set: Set,
        id: i64,
    },
    Property {
        set: Set,
        id: i64,
        name: String,
        raw: bool,
    },
}

/// Reads over the model and the store.
pub struct Reader<'a> {
    pub model: &'a Model,
    pub store: &'a dyn Store,
    pub base: &'a str,
    pub now: DateTime<Utc>,
}

/// The wire form of an observation.
pub fn render_observation(base: &str, row: &ObservationRow) -> Map<String, Value> {
    let extra: Map<String, Value> = row
        .extra
        .as_deref()
        .and_then(|e| serde_json::from_str(e).ok())
        .unwrap_or_default();
    let mut props = Map::new();
    props.insert(
        "phenomenonTime".into(),
        extra.get("phenomenonTime").cloned().unwrap_or_else(|| {
            row.phenomenon_time
                .to_rfc3339_opts(SecondsFormat::AutoSi, true)
                .into()
        }),
    );
    props.insert("result".into(), row.result.into());
    props.insert(
        "resultTime".into(),
        extra.get("resultTime").cloned().unwrap_or(Value::Null),
    );
    for key in ["resultQuality", "validTime", "parameters"] {
        if let Some(value) = extra.get(key) {
            props.insert(key.into(), value.clone());
        }
    }
    render(base, Set::Observations, row.id, &props)
}

/// Navigation for `$filter` over the model; observations' links come from
/// the rows being filtered. Navigating into Observations from another set
/// is not evaluated (it would read the store per entity): it is flagged
/// and the request refused.
struct Links<'a> {
    model: &'a Model,
    observations: HashMap<i64, (i64, Option<i64>)>,
    into_observations: AtomicBool,
}

impl Resolver for Links<'_> {
    fn navigate(&self, set: &str, entity: &Value, nav: &str) -> Option<(String, Vec<Value>)> {
        let set = Set::parse(set)?;
        let nav = set.nav(nav)?;
        let id = entity.get("@iot.id").and_then(Value::as_i64)?;
        if nav.target == Set::Observations {
            self.into_observations.store(true, Ordering::Relaxed);
            return Some((nav.target.name().to_owned(), Vec::new()));
        }
        let ids: Vec<i64> = if set == Set::Observations {
            let (stream, feature) = self.observations.get(&id).copied()?;
            match nav.name {
                "Datastream" => vec![stream],
                _ => feature.into_iter().collect(),
            }
        } else {
            self.model.related(set, id, nav.name)
        };
        let related = ids
            .into_iter()
            .filter_map(|id| {
                self.model
                    .get(nav.target, id)
                    .map(|e| Value::Object(render("", nav.target, id, &e.props)))
            })
            .collect();
        Some((nav.target.name().to_owned(), related))
    }
}

/// A page of a collection.
pub struct Page {
    pub items: Vec<Map<String, Value>>,
    pub count: usize,
    /// Whether members follow this page.
    pub more: bool,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Reader<'_> {
    /// Resolves a path to what it names; 404 for what does not exist.
    pub async fn resolve(&self, segments: &[Segment]) -> Result<Target, StaError> {
        let mut target: Option<Target> = None;
        for segment in segments {
            let name = segment.name.as_str();
            target = Some(match (target, segment.id) {
                (None, id) => {
                    let set = Set::parse(name).ok_or_else(|| {
                        StaError::not_found(format!("{name} is not an entity set of this service"))
                    })?;
                    match id {
                        Some(id) => self.entity(set, id).await?,
                        None => Target::Collection {
                            set,
                            scope: Scope::All,
                        },
                    }
                }
                (Some(Target::Entity { set, id }), member_id) => {
                    if let Some(nav) = set.nav(name) {
                        let found = if nav.many {
                            Target::Collection {
                                set: nav.target,
                                scope: match (set, nav.target) {
                                    (Set::Datastreams, Set::Observations) => Scope::Stream(id),
                                    (Set::FeaturesOfInterest, Set::Observations) => {
                                        Scope::Feature(id)
                                    }
                                    _ => Scope::Ids(self.model.related(set, id, nav.name)),
                                },
                            }
                        } else {
                            let to = self.to_one(set, id, nav.name).await?.ok_or_else(|| {
                                StaError::not_found(format!(
                                    "{}({id}) has no {}",
                                    set.name(),
                                    nav.name
                                ))
                            })?;
                            Target::Entity {
                                set: nav.target,
                                id: to,
                            }
                        };
                        match (found, member_id) {
                            (Target::Collection { set, scope }, Some(member)) => {
                                if !self.in_scope(set, &scope, member).await? {
                                    return Err(StaError::not_found(format!(
                                        "{}({member}) is not in this collection",
                                        set.name()
                                    )));
                                }
                                Target::Entity { set, id: member }
                            }
                            (found, None) => found,
                            (_, Some(_)) => {
                                return Err(StaError::not_found(format!(
                                    "{name} leads to one entity; it takes no id"
                                )));
                            }
                        }
                    } else if member_id.is_none()
                        && (name == "id" || set.fields().iter().any(|(f, _)| *f == name))
                    {
                        Target::Property {
                            set,
                            id,
                            name: if name == "id" {
                                "@iot.id".into()
                            } else {
                                name.into()
                            },
                            raw: false,
                        }
                    } else {
                        return Err(StaError::not_found(format!(
                            "{} has no property or navigation {name}",
                            set.singular()
                        )));
                    }
                }
                (
                    Some(Target::Property {
                        set,
                        id,
                        name: property,
                        raw: false,
                    }),
                    None,
                ) if name == "$value" => Target::Property {
                    set,
                    id,
                    name: property,
                    raw: true,
                },
                (Some(Target::Collection { set, .. }), Some(member)) if name == set.name() => {
                    self.entity(set, member).await?
                }
                _ => {
                    return Err(StaError::not_found(format!(
                        "{name}: no such resource here"
                    )));
                }
            });
        }
        target.ok_or_else(|| StaError::not_found("an empty path"))
    }

    async fn entity(&self, set: Set, id: i64) -> Result<Target, StaError> {
        let exists = if set == Set::Observations {
            self.observation(id).await?.is_some()
        } else {
            self.model.get(set, id).is_some()
        };
        if !exists {
            return Err(StaError::not_found(format!(
                "{}({id}) does not exist",
                set.name()
            )));
        }
        Ok(Target::Entity { set, id })
    }

    pub async fn observation(&self, id: i64) -> Result<Option<ObservationRow>, StaError> {
        Ok(self
            .store
            .scan_observations(ObservationScan {
                id: Some(id),
                limit: 1,
                ..ObservationScan::default()
            })
            .await?
            .pop())
    }

    async fn to_one(&self, set: Set, id: i64, nav: &str) -> Result<Option<i64>, StaError> {
        if set == Set::Observations {
            let Some(row) = self.observation(id).await? else {
                return Ok(None);
            };
            return Ok(match nav {
                "Datastream" => Some(row.datastream),
                _ => row.feature,
            });
        }
        Ok(self.model.related(set, id, nav).first().copied())
    }

    async fn in_scope(&self, set: Set, scope: &Scope, id: i64) -> Result<bool, StaError> {
        Ok(match scope {
            Scope::All => self.model.get(set, id).is_some(),
            Scope::Ids(ids) => ids.contains(&id),
            Scope::Stream(stream) => self
                .observation(id)
                .await?
                .is_some_and(|o| o.datastream == *stream),
            Scope::Feature(feature) => self
                .observation(id)
                .await?
                .is_some_and(|o| o.feature == Some(*feature)),
        })
    }

    /// One entity in its wire form, with `$select` and `$expand`.
    pub async fn one(
        &self,
        set: Set,
        id: i64,
        query: &Query,
    ) -> Result<Map<String, Value>, StaError> {
        let item = if set == Set::Observations {
            let row = self
                .observation(id)
                .await?
                .ok_or_else(|| StaError::not_found(format!("Observations({id}) does not exist")))?;
            render_observation(self.base, &row)
        } else {
            let entity = self.model.get(set, id).ok_or_else(|| {
                StaError::not_found(format!("{}({id}) does not exist", set.name()))
            })?;
            render(self.base, set, id, &entity.props)
        };
        let mut items = vec![item];
        self.expand_and_select(set, &mut items, query).await?;
        Ok(items.pop().unwrap_or_default())
    }

    /// A page of a collection, filtered, ordered, expanded and selected.
    pub fn page<'a>(
        &'a self,
        set: Set,
        scope: &'a Scope,
        query: &'a Query,
    ) -> BoxFuture<'a, Result<Page, StaError>> {
        Box::pin(async move {
            let (mut items, links) = self.members(set, scope, query).await?;
            if let Some(filter) = &query.filter {
                let mut kept = Vec::with_capacity(items.len());
                for item in items {
                    let value = Value::Object(item);
                    let keep = cityloop_sta::matches(filter, set.name(), &value, &links, self.now)
                        .map_err(|e| StaError::bad_request(format!("$filter: {e}")))?;
                    if let (true, Value::Object(item)) = (keep, value) {
                        kept.push(item);
                    }
                }
                if links.into_observations.load(Ordering::Relaxed) {
                    return Err(StaError::bad_request(
                        "$filter: conditions through Observations are not supported; query the Observations and filter on their Datastream",
                    ));
                }
                items = kept;
            }
            if !query.orderby.is_empty() {
                let mut keyed = Vec::with_capacity(items.len());
                for item in items {
                    let value = Value::Object(item);
                    let keys = query
                        .orderby
                        .iter()
                        .map(|o| {
                            cityloop_sta::sort_key(&o.expr, set.name(), &value, &links, self.now)
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| StaError::bad_request(format!("$orderby: {e}")))?;
                    keyed.push((keys, value));
                }
                keyed.sort_by(|(a, _), (b, _)| {
                    a.iter()
                        .zip(b)
                        .zip(&query.orderby)
                        .map(|((x, y), o)| if o.descending { y.cmp(x) } else { x.cmp(y) })
                        .find(|c| c.is_ne())
                        .unwrap_or(std::cmp::Ordering::Equal)
                });
                items = keyed
                    .into_iter()
                    .filter_map(|(_, v)| match v {
                        Value::Object(m) => Some(m),
                        _ => None,
                    })
                    .collect();
            }
            let count = items.len();
            let top = query.top.unwrap_or(TOP_DEFAULT).min(TOP_MAX);
            let mut items: Vec<Map<String, Value>> =
                items.into_iter().skip(query.skip).take(top).collect();
            let more = query.skip.saturating_add(items.len()) < count;
            self.expand_and_select(set, &mut items, query).await?;
            Ok(Page { items, count, more })
        })
    }

    /// The members of a collection in id order, before filtering.
    async fn members(
        &self,
        set: Set,
        scope: &Scope,
        query: &Query,
    ) -> Result<(Vec<Map<String, Value>>, Links<'_>), StaError> {
        let mut links = Links {
            model: self.model,
            observations: HashMap::new(),
            into_observations: AtomicBool::new(false),
        };
        if set != Set::Observations {
            let render_one = |id: i64| {
                self.model
                    .get(set, id)
                    .map(|e| render(self.base, set, id, &e.props))
            };
            let items = match scope {
                Scope::Ids(ids) => {
                    let mut ids = ids.clone();
                    ids.sort_unstable();
                    ids.into_iter().filter_map(render_one).collect()
                }
                _ => self
                    .model
                    .members(set)
                    .map(|(id, e)| render(self.base, set, id, &e.props))
                    .collect(),
            };
            return Ok((items, links));
        }
        let (from, to) = query
            .filter
            .as_ref()
            .map(|f| cityloop_sta::time_bounds(f, "phenomenonTime"))
            .unwrap_or((None, None));
        let mut scan = ObservationScan {
            datastream: match scope {
                Scope::Stream(id) => Some(*id),
                _ => None,
            },
            feature: match scope {
                Scope::Feature(id) => Some(*id),
                _ => None,
            },
            from,
            to,
            limit: SCAN_PAGE,
            ..ObservationScan::default()
        };
        if let Scope::Ids(ids) = scope {
            // Observations are never reached through a model list.
            if ids.is_empty() {
                return Ok((Vec::new(), links));
            }
        }
        let mut items = Vec::new();
        loop {
            let rows = self.store.scan_observations(scan.clone()).await?;
            let last = rows.last().map(|r| r.id);
            for row in &rows {
                links
                    .observations
                    .insert(row.id, (row.datastream, row.feature));
                items.push(render_observation(self.base, row));
            }
            if items.len() > OBSERVATION_SCAN_MAX {
                return Err(StaError::bad_request(format!(
                    "this query would read more than {OBSERVATION_SCAN_MAX} observations: narrow it to a Datastream or with phenomenonTime bounds in $filter"
                )));
            }
            match last {
                Some(last) if rows.len() == SCAN_PAGE as usize => scan.after_id = last,
                _ => break,
            }
        }
        Ok((items, links))
    }

    /// Applies `$expand` (recursively, with each expansion's options) and
    /// `$select` to a page.
    fn expand_and_select<'a>(
        &'a self,
        set: Set,
        items: &'a mut [Map<String, Value>],
        query: &'a Query,
    ) -> BoxFuture<'a, Result<(), StaError>> {
        Box::pin(async move {
            for expand in &query.expand {
                let nav = set.nav(&expand.nav).ok_or_else(|| {
                    StaError::bad_request(format!(
                        "$expand: {} has no navigation property {}",
                        set.singular(),
                        expand.nav
                    ))
                })?;
                for item in items.iter_mut() {
                    let id = item
                        .get("@iot.id")
                        .and_then(Value::as_i64)
                        .unwrap_or_default();
                    self.expand_one(set, id, nav, expand, item).await?;
                }
            }
            if let Some(select) = &query.select {
                for name in select {
                    let known = name == "@iot.id"
                        || name == "@iot.selfLink"
                        || set.fields().iter().any(|(f, _)| f == name)
                        || set.nav(name).is_some();
                    if !known {
                        return Err(StaError::bad_request(format!(
                            "$select: {} has no property {name}",
                            set.singular()
                        )));
                    }
                }
                let expanded: Vec<&str> = query.expand.iter().map(|e| e.nav.as_str()).collect();
                for item in items.iter_mut() {
                    item.retain(|key, _| {
                        let base = key.split('@').next().unwrap_or(key);
                        let keep_nav_link = key.ends_with("@iot.navigationLink")
                            && select.iter().any(|s| s == base);
                        select.iter().any(|s| s == key) || keep_nav_link || expanded.contains(&base)
                    });
                }
            }
            Ok(())
        })
    }

    async fn expand_one(
        &self,
        set: Set,
        id: i64,
        nav: super::model::Nav,
        expand: &Expand,
        item: &mut Map<String, Value>,
    ) -> Result<(), StaError> {
        if nav.many {
            let scope = match (set, nav.target) {
                (Set::Datastreams, Set::Observations) => Scope::Stream(id),
                (Set::FeaturesOfInterest, Set::Observations) => Scope::Feature(id),
                _ => Scope::Ids(self.model.related(set, id, nav.name)),
            };
            let page = self.page(nav.target, &scope, &expand.query).await?;
            if expand.query.count == Some(true) {
                item.insert(format!("{}@iot.count", nav.name), page.count.into());
            }
            if page.more {
                let top = expand.query.top.unwrap_or(TOP_DEFAULT).min(TOP_MAX);
                item.insert(
                    format!("{}@iot.nextLink", nav.name),
                    format!(
                        "{}/{}({id})/{}?$top={top}&$skip={}",
                        self.base,
                        set.name(),
                        nav.name,
                        expand.query.skip + top
                    )
                    .into(),
                );
            }
            item.insert(
                nav.name.to_owned(),
                Value::Array(page.items.into_iter().map(Value::Object).collect()),
            );
        } else {
            let value = match self.to_one(set, id, nav.name).await? {
                Some(to) => Value::Object(self.one(nav.target, to, &expand.query).await?),
                None => Value::Null,
            };
            item.insert(nav.name.to_owned(), value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_segments_with_ids() {
        assert_eq!(
            segments("Things(1)/Datastreams").unwrap(),
            [
                Segment {
                    name: "Things".into(),
                    id: Some(1)
                },
                Segment {
                    name: "Datastreams".into(),
                    id: None
                }
            ]
        );
        assert_eq!(segments("Things('7')").unwrap()[0].id, Some(7));
        assert!(segments("Things(1").is_err());
        assert_eq!(
            segments("Things(abc)").unwrap_err().status,
            axum::http::StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn observations_render_intervals_and_result_time() {
        let mut row = ObservationRow::reading(3, Utc::now(), 12.5, Utc::now());
        row.id = 9;
        row.extra = Some(
            r#"{"phenomenonTime":"2026-11-29T00:00:00Z/2026-11-29T01:00:00Z","resultTime":"2026-11-29T01:00:00Z"}"#
                .into(),
        );
        let out = render_observation("http://h/sta/v1.1", &row);
        assert_eq!(out["@iot.id"], 9);
        assert_eq!(out["@iot.selfLink"], "http://h/sta/v1.1/Observations(9)");
        assert_eq!(
            out["phenomenonTime"],
            "2026-11-29T00:00:00Z/2026-11-29T01:00:00Z"
        );
        assert_eq!(out["resultTime"], "2026-11-29T01:00:00Z");
        assert_eq!(
            out["Datastream@iot.navigationLink"],
            "http://h/sta/v1.1/Observations(9)/Datastream"
        );
    }
}
