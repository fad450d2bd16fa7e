//! OGC SensorThings API 1.1 at `/sta/v1.1`: the sensing entities over the
//! same datastreams and observations perception uses, so an observation
//! created here runs through the alarm rules and can open a case.
//!
//! - [`model`]: the entity sets, links and wire form;
//! - [`read`]: paths, `$filter`/`$expand`/… (through `cityloop-sta`), paging;
//! - [`write`]: creates with deep insert, updates, deletes — planned on a
//!   draft, then committed here: new Datastreams registered with
//!   perception, documents stored in one transaction, observations
//!   ingested through perception.
//!
//! Reads are public (the city's sensor data is open data); writes need a
//! gateway's API key (`X-API-Key`, or HTTP Basic with the key as password,
//! as SensorThings client libraries send) or an operator's bearer token.
//! Errors are JSON `{"code", "type": "error", "message"}` as SensorThings
//! servers answer.

pub mod model;
pub mod read;
pub mod write;

use crate::auth::Caller;
use crate::problem::Problem;
use crate::{AppState, door};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use cityloop_perception::{Perception, PerceptionError};
use cityloop_store::{ObservationRow, ObservationScan, StaDoc, StoreError};
use model::{Model, Set};
use read::{Reader, Scope, Target};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use write::{Draft, NewObservation};

/// The most observations one `CreateObservations` request may carry.
pub const CREATE_OBSERVATIONS_MAX: usize = cityloop_perception::BATCH_OBSERVATIONS_MAX;

/// An error as SensorThings clients read it.
#[derive(Debug)]
pub struct StaError {
    pub status: StatusCode,
    pub message: String,
}

impl StaError {
    pub fn bad_request(message: impl Into<String>) -> StaError {
        StaError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> StaError {
        StaError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl IntoResponse for StaError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            axum::Json(
                json!({"code": self.status.as_u16(), "type": "error", "message": self.message}),
            ),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"cityloop SensorThings\""),
            );
        }
        response
    }
}

impl From<Problem> for StaError {
    fn from(problem: Problem) -> StaError {
        let message = match problem.field {
            Some(field) => format!("{field}: {}", problem.detail),
            None => problem.detail,
        };
        StaError {
            status: problem.status,
            message,
        }
    }
}

impl From<StoreError> for StaError {
    fn from(error: StoreError) -> StaError {
        Problem::from(error).into()
    }
}

impl From<PerceptionError> for StaError {
    fn from(error: PerceptionError) -> StaError {
        Problem::from(error).into()
    }
}

type StaResult<T> = Result<T, StaError>;

/// The SensorThings model of one server, loaded from the store on first
/// use and looked at again when perception's datastreams change.
#[derive(Default)]
pub struct Sta {
    loaded: tokio::sync::RwLock<Loaded>,
}

#[derive(Default)]
struct Loaded {
    model: Option<Model>,
    generation: u64,
}

impl Sta {
    /// The current model, loading it (and adopting datastreams registered
    /// elsewhere) when needed.
    async fn model(&self, state: &AppState) -> StaResult<tokio::sync::RwLockReadGuard<'_, Model>> {
        let generation = perception(state)?.generation();
        {
            let loaded = self.loaded.read().await;
            if loaded.model.is_some() && loaded.generation == generation {
                return Ok(tokio::sync::RwLockReadGuard::map(loaded, |l| {
                    l.model.as_ref().expect("checked")
                }));
            }
        }
        let mut loaded = self.loaded.write().await;
        refresh(state, &mut loaded, generation).await?;
        let loaded = tokio::sync::RwLockWriteGuard::downgrade(loaded);
        Ok(tokio::sync::RwLockReadGuard::map(loaded, |l| {
            l.model.as_ref().expect("refreshed")
        }))
    }

    /// The model for a write: held until the write is committed.
    async fn model_mut(
        &self,
        state: &AppState,
    ) -> StaResult<tokio::sync::RwLockMappedWriteGuard<'_, Model>> {
        let generation = perception(state)?.generation();
        let mut loaded = self.loaded.write().await;
        if loaded.model.is_none() || loaded.generation != generation {
            refresh(state, &mut loaded, generation).await?;
        }
        Ok(tokio::sync::RwLockWriteGuard::map(loaded, |l| {
            l.model.as_mut().expect("refreshed")
        }))
    }
}

async fn refresh(state: &AppState, loaded: &mut Loaded, generation: u64) -> StaResult<()> {
    let store = state.store();
    let model = Model::from_docs(store.sta_docs().await?).map_err(|e| StaError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        message: e,
    })?;
    let mut draft = Draft::new(model, state.now());
    let streams = store.datastreams().await?;
    for record in &streams {
        if draft.model.get(Set::Datastreams, record.id).is_none() {
            draft.adopt(record);
        }
    }
    // Datastreams removed elsewhere leave no document behind.
    let gone: Vec<i64> = draft
        .model
        .members(Set::Datastreams)
        .map(|(id, _)| id)
        .filter(|id| !streams.iter().any(|r| r.id == *id))
        .collect();
    for id in gone {
        draft.model.remove(Set::Datastreams, id);
        draft.deleted.insert((Set::Datastreams, id));
    }
    if !draft.touched.is_empty() || !draft.deleted.is_empty() {
        save(state, &draft).await?;
    }
    loaded.model = Some(draft.model);
    loaded.generation = generation;
    Ok(())
}

async fn save(state: &AppState, draft: &Draft) -> StaResult<()> {
    let put: Vec<StaDoc> = draft
        .touched
        .iter()
        .filter(|key| !draft.deleted.contains(key))
        .filter_map(|(set, id)| draft.model.doc(*set, *id))
        .collect();
    let delete = draft
        .deleted
        .iter()
        .map(|(set, id)| (set.name().to_owned(), *id))
        .collect();
    state.store().save_sta_docs(put, delete).await?;
    Ok(())
}

fn perception(state: &AppState) -> StaResult<&Perception> {
    state.perception().ok_or_else(|| StaError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: "this server runs without perception (no sensor rules)".into(),
    })
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sta/v1.1", get(root))
        .route("/sta/v1.1/", get(root))
        .route(
            "/sta/v1.1/{*path}",
            get(read_resource)
                .post(create)
                .patch(patch)
                .put(put)
                .delete(delete),
        )
}

fn base(headers: &HeaderMap) -> String {
    format!("{}/sta/v1.1", door::base_url(headers))
}

/// The service document: the entity sets and what the server conforms to.
async fn root(headers: HeaderMap) -> axum::Json<Value> {
    let base = base(&headers);
    axum::Json(json!({
        "value": Set::ALL.iter().map(|set| json!({
            "name": set.name(),
            "url": format!("{base}/{}", set.name()),
        })).collect::<Vec<_>>(),
        "serverSettings": {
            "conformance": [
                "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/receive-updates",
            ],
            "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation": {
                "endpoints": ["mqtt://<the configured broker>"],
            },
        },
    }))
}

fn reader<'a>(state: &'a AppState, model: &'a Model, base: &'a str) -> Reader<'a> {
    Reader {
        model,
        store: state.store(),
        base,
        now: state.now(),
    }
}

fn parse_query(raw: Option<&str>) -> StaResult<cityloop_sta::Query> {
    let query = cityloop_sta::parse_query(raw.unwrap_or(""))
        .map_err(|e| StaError::bad_request(e.to_string()))?;
    if let Some(format) = &query.result_format
        && format != "default"
    {
        return Err(StaError::bad_request(format!(
            "$resultFormat={format}: this server answers in the default format (dataArray is accepted on input, through CreateObservations)"
        )));
    }
    Ok(query)
}

/// The query string without `$top` and `$skip`, for the next page's link.
fn other_options(raw: Option<&str>) -> Vec<String> {
    raw.unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            let key: String = form_urlencoded::parse(format!("{key}=").as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default();
            key != "$top" && key != "$skip"
        })
        .map(str::to_owned)
        .collect()
}

async fn read_resource(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
) -> StaResult<Response> {
    let query = parse_query(raw.as_deref())?;
    let segments = read::segments(&path)?;
    let base = base(&headers);
    let model = state.sta().model(&state).await?;
    let reader = reader(&state, &model, &base);
    match reader.resolve(&segments).await? {
        Target::Collection { set, scope } => {
            let page = reader.page(set, &scope, &query).await?;
            let mut body = Map::new();
            if query.count == Some(true) {
                body.insert("@iot.count".into(), page.count.into());
            }
            if page.more {
                let top = query.top.unwrap_or(read::TOP_DEFAULT).min(read::TOP_MAX);
                let mut options = other_options(raw.as_deref());
                options.push(format!("$top={top}"));
                options.push(format!("$skip={}", query.skip + top));
                body.insert(
                    "@iot.nextLink".into(),
                    format!("{base}/{path}?{}", options.join("&")).into(),
                );
            }
            body.insert(
                "value".into(),
                Value::Array(page.items.into_iter().map(Value::Object).collect()),
            );
            Ok(axum::Json(Value::Object(body)).into_response())
        }
        Target::Entity { set, id } => {
            Ok(axum::Json(reader.one(set, id, &query).await?).into_response())
        }
        Target::Property { set, id, name, raw } => {
            let entity = reader.one(set, id, &cityloop_sta::Query::default()).await?;
            let value = entity.get(&name).cloned().unwrap_or(Value::Null);
            if raw {
                let text = match &value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
            } else {
                Ok(axum::Json(json!({ name: value })).into_response())
            }
        }
    }
}

/// Writes need a gateway's API key (`X-API-Key`, or HTTP Basic with the
/// key as password) or an operator's or administrator's bearer token.
async fn may_write(
    state: &AppState,
    headers: &HeaderMap,
    caller: Result<Caller, Problem>,
) -> StaResult<()> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .map(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|text| text.split_once(':').map(|(_, key)| key.to_owned()))
                .ok_or_else(|| StaError {
                    status: StatusCode::UNAUTHORIZED,
                    message: "the Basic credentials are not base64 of user:password".into(),
                })
        })
        .transpose()?;
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(basic);
    if let Some(key) = key {
        return crate::sensors::check_api_key(state, &key)
            .await
            .map_err(StaError::from);
    }
    let caller = caller.map_err(|_| StaError {
        status: StatusCode::UNAUTHORIZED,
        message: "writing needs a gateway's API key (X-API-Key, or HTTP Basic with the key as password) or an operator's bearer token".into(),
    })?;
    caller
        .require(
            matches!(
                caller.0.role,
                cityloop_domain::Role::Admin | cityloop_domain::Role::Operator
            ),
            "write SensorThings entities",
        )
        .map_err(StaError::from)
}

fn json_body(body: &Bytes) -> StaResult<Value> {
    serde_json::from_slice(body)
        .map_err(|e| StaError::bad_request(format!("the body is not JSON: {e}")))
}

/// What a committed draft gave: real ids for the new Datastreams and,
/// per new observation, its id (None: it was stored already).
struct Committed {
    streams: HashMap<i64, i64>,
    observations: Vec<Option<i64>>,
}

/// Commits a draft: registers its new Datastreams with perception, drops
/// deleted ones, stores every touched document in one transaction, then
/// ingests its observations. On failure before the documents are stored,
/// Datastreams registered by it are removed again.
async fn commit(state: &AppState, target: &mut Model, mut draft: Draft) -> StaResult<Committed> {
    let perception = perception(state)?;
    let index = state.index();
    let mut streams = HashMap::new();
    let mut registered = Vec::new();
    let result: StaResult<()> = async {
        for stream in draft.new_streams.clone() {
            let (lon, lat) = draft
                .model
                .thing_point(stream.thing)
                .ok_or_else(|| StaError::bad_request("a Datastream's Thing has no Location"))?;
            let point = cityloop_geo::LonLat::new(lon, lat)
                .map_err(|e| StaError::bad_request(format!("the Thing's Location: {e}")))?;
            let thing_name = draft
                .model
                .get(Set::Things, stream.thing)
                .and_then(|t| {
                    t.props
                        .get("name")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            let record = perception
                .register(
                    &stream.name,
                    &thing_name,
                    &stream.property,
                    &stream.unit,
                    stream.period_minutes,
                    point,
                    &index,
                    draft.now,
                )
                .await
                .map_err(|e| match e {
                    PerceptionError::Invalid { field, message } => StaError::bad_request(format!(
                        "Datastream {:?}: {field}: {message}",
                        stream.name
                    )),
                    other => other.into(),
                })?;
            registered.push(record.id);
            streams.insert(stream.temp, record.id);
            if let Some(entity) = draft.model.remove(Set::Datastreams, stream.temp) {
                draft.model.put(Set::Datastreams, record.id, entity);
            }
            draft.touched.remove(&(Set::Datastreams, stream.temp));
            draft.touched.insert((Set::Datastreams, record.id));
        }
        for id in draft.dropped_streams.clone() {
            match perception.unregister(id).await {
                Ok(()) | Err(PerceptionError::Store(StoreError::NotFound { .. })) => {}
                Err(PerceptionError::Store(StoreError::Conflict { what })) => {
                    return Err(StaError {
                        status: StatusCode::CONFLICT,
                        message: what,
                    });
                }
                Err(other) => return Err(other.into()),
            }
        }
        for feature in draft.dropped_features.clone() {
            delete_observations_of_feature(state, feature).await?;
        }
        save(state, &draft).await
    }
    .await;
    if let Err(error) = result {
        for id in registered {
            if let Err(undo) = perception.unregister(id).await {
                tracing::error!(datastream = id, %undo, "removing a datastream of a failed SensorThings write failed");
            }
        }
        return Err(error);
    }
    let observations = std::mem::take(&mut draft.observations);
    *target = draft.model;
    let observations = ingest(state, observations, &streams).await?;
    Ok(Committed {
        streams,
        observations,
    })
}

async fn delete_observations_of_feature(state: &AppState, feature: i64) -> StaResult<()> {
    loop {
        let ids: Vec<i64> = state
            .store()
            .scan_observations(ObservationScan {
                feature: Some(feature),
                limit: 10_000,
                ..ObservationScan::default()
            })
            .await?
            .iter()
            .map(|o| o.id)
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        state.store().delete_observations(ids).await?;
    }
}

/// Ingests observations through perception; per input, its id or None
/// when it was stored already.
async fn ingest(
    state: &AppState,
    observations: Vec<NewObservation>,
    streams: &HashMap<i64, i64>,
) -> StaResult<Vec<Option<i64>>> {
    if observations.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ObservationRow> = observations
        .into_iter()
        .map(|o| ObservationRow {
            id: 0,
            datastream: streams.get(&o.datastream).copied().unwrap_or(o.datastream),
            phenomenon_time: o.at,
            result: o.result,
            received_at: state.now(),
            feature: o.feature,
            extra: o.extra,
        })
        .collect();
    let keys: Vec<(i64, DateTime<Utc>)> = rows
        .iter()
        .map(|r| (r.datastream, r.phenomenon_time))
        .collect();
    let perception = perception(state)?;
    let report = perception.ingest_rows(rows, state.now()).await?;
    for case in perception.carry().await? {
        state.publish_case_change(case);
    }
    let mut fresh = report.fresh.into_iter().peekable();
    Ok(keys
        .into_iter()
        .map(|(datastream, at)| match fresh.peek() {
            Some(f) if f.datastream == datastream && f.at == at => fresh.next().map(|f| f.id),
            _ => None,
        })
        .collect())
}

fn created(base: &str, set: Set, id: i64, body: Map<String, Value>) -> Response {
    let location = format!("{base}/{}({id})", set.name());
    let mut response = (StatusCode::CREATED, axum::Json(Value::Object(body))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Result<Caller, Problem>,
    Path(path): Path<String>,
    body: Bytes,
) -> StaResult<Response> {
    may_write(&state, &headers, caller).await?;
    let body = json_body(&body)?;
    let base = base(&headers);
    if path.trim_matches('/') == "CreateObservations" {
        return create_observations(&state, &base, &body).await;
    }
    let segments = read::segments(&path)?;
    let mut model = state.sta().model_mut(&state).await?;
    let (set, implied) = {
        let reader = reader(&state, &model, &base);
        match reader.resolve(&segments).await? {
            Target::Collection {
                set,
                scope: Scope::All,
            } => (set, None),
            Target::Collection { set, .. } => {
                // A collection under an entity: the new one links to it.
                let parent = reader.resolve(&segments[..segments.len() - 1]).await?;
                let Target::Entity {
                    set: parent_set,
                    id,
                } = parent
                else {
                    return Err(StaError::bad_request("create entities in a collection"));
                };
                let back = set
                    .navs()
                    .iter()
                    .find(|n| n.target == parent_set)
                    .map(|n| n.name)
                    .ok_or_else(|| StaError::bad_request("entities cannot be created here"))?;
                (set, Some((back, id)))
            }
            _ => {
                return Err(StaError {
                    status: StatusCode::METHOD_NOT_ALLOWED,
                    message:
                        "POST creates entities in a collection; use PATCH or PUT to change one"
                            .into(),
                });
            }
        }
    };
    let mut draft = Draft::new(model.clone(), state.now());
    let id = draft.create(set, &body, implied, set.singular())?;
    let committed = commit(&state, &mut model, draft).await?;
    let id = match set {
        Set::Observations => committed
            .observations
            .first()
            .copied()
            .flatten()
            .ok_or_else(|| StaError {
                status: StatusCode::CONFLICT,
                message:
                    "an observation of this Datastream at this phenomenonTime is stored already"
                        .into(),
            })?,
        Set::Datastreams => committed.streams.get(&id).copied().unwrap_or(id),
        _ => id,
    };
    let reader = reader(&state, &model, &base);
    let entity = reader.one(set, id, &cityloop_sta::Query::default()).await?;
    Ok(created(&base, set, id, entity))
}

/// `CreateObservations`: observations of one or more Datastreams as data
/// arrays; answers one self link per row, or "error" for a row refused.
async fn create_observations(state: &AppState, base: &str, body: &Value) -> StaResult<Response> {
    let groups = body.as_array().ok_or_else(|| {
        StaError::bad_request("CreateObservations: an array of {Datastream, components, dataArray}")
    })?;
    let total: usize = groups
        .iter()
        .map(|g| {
            g.get("dataArray")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        })
        .sum();
    if total > CREATE_OBSERVATIONS_MAX {
        return Err(StaError::bad_request(format!(
            "CreateObservations: at most {CREATE_OBSERVATIONS_MAX} rows per request"
        )));
    }
    let mut model = state.sta().model_mut(state).await?;
    let mut draft = Draft::new(model.clone(), state.now());
    // Per row: the index of its observation in the draft, or None if refused.
    let mut rows: Vec<Option<usize>> = Vec::with_capacity(total);
    for (g, group) in groups.iter().enumerate() {
        let path = format!("[{g}]");
        let datastream = group
            .get("Datastream")
            .and_then(write::reference_id)
            .ok_or_else(|| {
                StaError::bad_request(format!("{path}.Datastream: a reference {{\"@iot.id\": …}}"))
            })?;
        if draft.model.get(Set::Datastreams, datastream).is_none() {
            return Err(StaError::not_found(format!(
                "{path}.Datastream: Datastreams({datastream}) does not exist"
            )));
        }
        let components: Vec<&str> = group
            .get("components")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                StaError::bad_request(format!("{path}.components: an array of member names"))
            })?
            .iter()
            .map(|c| c.as_str().unwrap_or_default())
            .collect();
        for component in &components {
            if !matches!(
                *component,
                "id" | "phenomenonTime"
                    | "result"
                    | "resultTime"
                    | "resultQuality"
                    | "validTime"
                    | "parameters"
                    | "FeatureOfInterest/id"
            ) {
                return Err(StaError::bad_request(format!(
                    "{path}.components: unknown component {component:?}"
                )));
            }
        }
        if !components.contains(&"result") {
            return Err(StaError::bad_request(format!(
                "{path}.components: needs result"
            )));
        }
        let data = group
            .get("dataArray")
            .and_then(Value::as_array)
            .ok_or_else(|| StaError::bad_request(format!("{path}.dataArray: an array of rows")))?;
        for row in data {
            let Some(values) = row.as_array().filter(|v| v.len() == components.len()) else {
                rows.push(None);
                continue;
            };
            let mut props = Map::new();
            let mut feature = None;
            for (component, value) in components.iter().zip(values) {
                match *component {
                    "id" => {}
                    "FeatureOfInterest/id" => {
                        feature = write::reference_id(&json!({ "@iot.id": value }))
                    }
                    name => {
                        props.insert((*name).to_owned(), value.clone());
                    }
                }
            }
            let feature = match feature {
                Some(id) if draft.model.get(Set::FeaturesOfInterest, id).is_some() => Some(id),
                Some(_) => {
                    rows.push(None);
                    continue;
                }
                None => draft.feature_for(datastream),
            };
            match write::observation_from(&props, datastream, feature, draft.now, &path) {
                Ok(observation) => {
                    rows.push(Some(draft.observations.len()));
                    draft.observations.push(observation);
                }
                Err(_) => rows.push(None),
            }
        }
    }
    let committed = commit(state, &mut model, draft).await?;
    let links: Vec<Value> = rows
        .into_iter()
        .map(
            |row| match row.and_then(|i| committed.observations.get(i).copied().flatten()) {
                Some(id) => format!("{base}/Observations({id})").into(),
                None => "error".into(),
            },
        )
        .collect();
    Ok((StatusCode::CREATED, axum::Json(Value::Array(links))).into_response())
}

async fn patch(
    state: State<AppState>,
    headers: HeaderMap,
    caller: Result<Caller, Problem>,
    path: Path<String>,
    body: Bytes,
) -> StaResult<Response> {
    let json_patch = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json-patch+json"));
    update(
        state,
        headers,
        caller,
        path,
        body,
        if json_patch {
            Mode::JsonPatch
        } else {
            Mode::Merge
        },
    )
    .await
}

async fn put(
    state: State<AppState>,
    headers: HeaderMap,
    caller: Result<Caller, Problem>,
    path: Path<String>,
    body: Bytes,
) -> StaResult<Response> {
    update(state, headers, caller, path, body, Mode::Replace).await
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Merge,
    Replace,
    JsonPatch,
}

async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Result<Caller, Problem>,
    Path(path): Path<String>,
    body: Bytes,
    mode: Mode,
) -> StaResult<Response> {
    may_write(&state, &headers, caller).await?;
    let body = json_body(&body)?;
    let base = base(&headers);
    let segments = read::segments(&path)?;
    let mut model = state.sta().model_mut(&state).await?;
    let current = reader(&state, &model, &base);
    let Target::Entity { set, id } = current.resolve(&segments).await? else {
        return Err(StaError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: "PATCH and PUT change one entity: address it as Set(id)".into(),
        });
    };
    // The members as they are now, for JSON Patch.
    let current = current
        .one(set, id, &cityloop_sta::Query::default())
        .await?;
    let body = match mode {
        Mode::JsonPatch => {
            let operations: json_patch::Patch = serde_json::from_value(body)
                .map_err(|e| StaError::bad_request(format!("the JSON Patch is malformed: {e}")))?;
            let mut document: Map<String, Value> = current
                .iter()
                .filter(|(k, _)| set.fields().iter().any(|(f, _)| f == *k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if set != Set::Observations {
                document = model
                    .get(set, id)
                    .map(|e| e.props.clone())
                    .unwrap_or(document);
            }
            let mut document = Value::Object(document);
            json_patch::patch(&mut document, &operations).map_err(|e| {
                StaError::bad_request(format!("the JSON Patch does not apply: {e}"))
            })?;
            document
        }
        _ => body,
    };
    let replace = mode != Mode::Merge;
    if set == Set::Observations {
        update_observation(&state, &model, id, &body, replace).await?;
    } else {
        let mut draft = Draft::new(model.clone(), state.now());
        draft.update(set, id, &body, replace)?;
        commit(&state, &mut model, draft).await?;
    }
    let changed = reader(&state, &model, &base)
        .one(set, id, &cityloop_sta::Query::default())
        .await?;
    Ok(axum::Json(changed).into_response())
}

async fn update_observation(
    state: &AppState,
    model: &Model,
    id: i64,
    body: &Value,
    replace: bool,
) -> StaResult<()> {
    let path = format!("Observations({id})");
    let object = body
        .as_object()
        .ok_or_else(|| StaError::bad_request(format!("{path}: a JSON object")))?;
    let row = state
        .store()
        .scan_observations(ObservationScan {
            id: Some(id),
            limit: 1,
            ..ObservationScan::default()
        })
        .await?
        .pop()
        .ok_or_else(|| StaError::not_found(format!("{path} does not exist")))?;
    let mut props = if replace {
        Map::new()
    } else {
        read::render_observation("", &row)
            .into_iter()
            .filter(|(k, v)| Set::Observations.fields().iter().any(|(f, _)| f == k) && !v.is_null())
            .collect()
    };
    let mut feature = row.feature;
    for (key, value) in object {
        match key.as_str() {
            k if k.contains("@iot.") => {}
            "Datastream" => {
                if write::reference_id(value) != Some(row.datastream) {
                    return Err(StaError::bad_request(format!(
                        "{path}.Datastream: an observation stays in its Datastream"
                    )));
                }
            }
            "FeatureOfInterest" => {
                let to = write::reference_id(value).ok_or_else(|| {
                    StaError::bad_request(format!(
                        "{path}.FeatureOfInterest: a reference {{\"@iot.id\": …}}"
                    ))
                })?;
                if model.get(Set::FeaturesOfInterest, to).is_none() {
                    return Err(StaError::not_found(format!(
                        "FeaturesOfInterest({to}) does not exist"
                    )));
                }
                feature = Some(to);
            }
            k if Set::Observations.fields().iter().any(|(f, _)| *f == k) => {
                if value.is_null() {
                    props.remove(k);
                } else {
                    props.insert(k.to_owned(), value.clone());
                }
            }
            other => {
                return Err(StaError::bad_request(format!(
                    "{path}: Observation has no member {other:?}"
                )));
            }
        }
    }
    if !props.contains_key("phenomenonTime") {
        props.insert(
            "phenomenonTime".into(),
            read::render_observation("", &row)["phenomenonTime"].clone(),
        );
    }
    let new = write::observation_from(&props, row.datastream, feature, state.now(), &path)?;
    state
        .store()
        .update_observation(ObservationRow {
            id,
            datastream: row.datastream,
            phenomenon_time: new.at,
            result: new.result,
            received_at: row.received_at,
            feature: new.feature,
            extra: new.extra,
        })
        .await?;
    Ok(())
}

async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Result<Caller, Problem>,
    Path(path): Path<String>,
) -> StaResult<Response> {
    may_write(&state, &headers, caller).await?;
    let base = base(&headers);
    let segments = read::segments(&path)?;
    let mut model = state.sta().model_mut(&state).await?;
    let target = reader(&state, &model, &base).resolve(&segments).await?;
    let Target::Entity { set, id } = target else {
        return Err(StaError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: "DELETE removes one entity: address it as Set(id)".into(),
        });
    };
    if set == Set::Observations {
        state.store().delete_observations(vec![id]).await?;
    } else {
        let mut draft = Draft::new(model.clone(), state.now());
        draft.delete(set, id)?;
        commit(&state, &mut model, draft).await?;
    }
    Ok(StatusCode::OK.into_response())
}
