//! The citizens' door (一网通办), the part shared by its two protocols —
//! Open311 GeoReport v2 ([`crate::open311`]) and the citizen page's own
//! JSON ([`crate::citizen`]):
//!
//! - the **service catalogue**: every case category is a service, with the
//!   attributes `data/open311-services.json` assigns to it;
//! - **report forms** as browsers and Open311 clients send them
//!   (`application/x-www-form-urlencoded` or `multipart/form-data` with
//!   photo parts), checked field by field: a [`FieldError`] names the
//!   field;
//! - **photos**: at most [`PHOTOS_MAX`], each at most [`PHOTO_BYTES_MAX`],
//!   JPEG, PNG or WebP by their first bytes (the declared type is not
//!   trusted);
//! - the **public view** of a case: what anyone may read — the category,
//!   the public status and steps, the location; descriptions and notes with
//!   personal numbers masked; never the reporter or their contact;
//! - the **rate limit** of public writes, per client address.

use crate::AppState;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use cityloop_cases::codec::decode_event;
use cityloop_cases::{Intake, IntakeOutcome, Photo, ReportInput};
use cityloop_domain::{
    AreaCode, Category, CategoryCode, CategoryKind, CategorySelector, mask_personal_numbers,
};
use cityloop_store::{CaseRow, CategoryQuery, Store};
use cityloop_workflow::{Channel, Event, Urgency};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};

/// The most photos one report may carry.
pub const PHOTOS_MAX: usize = 3;
/// The largest photo accepted.
pub const PHOTO_BYTES_MAX: usize = 5 * 1024 * 1024;
/// The largest report body (photos and fields).
pub const REPORT_BODY_BYTES_MAX: usize = PHOTOS_MAX * PHOTO_BYTES_MAX + 256 * 1024;
/// The longest attribute answer of type `string`, in characters.
pub const ATTRIBUTE_STRING_CHARS_MAX: usize = 200;
/// The longest attribute answer of type `text`, in characters.
pub const ATTRIBUTE_TEXT_CHARS_MAX: usize = 2000;
/// The longest contact field (name, phone, e-mail), in characters.
pub const CONTACT_FIELD_CHARS_MAX: usize = 100;

/// A report field that is missing or wrong, by its form name.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// 400 by default; 413 for a body or photo that is too large.
    pub status: u16,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
            status: 400,
        }
    }

    fn too_large(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            status: 413,
            ..FieldError::new(field, message)
        }
    }
}

impl axum::response::IntoResponse for FieldError {
    fn into_response(self) -> axum::response::Response {
        crate::problem::Problem::from(self).into_response()
    }
}

impl From<FieldError> for crate::problem::Problem {
    fn from(error: FieldError) -> crate::problem::Problem {
        let mut problem = crate::problem::Problem::invalid(error.field, error.message);
        if error.status == 413 {
            problem.status = axum::http::StatusCode::PAYLOAD_TOO_LARGE;
            problem.slug = "too-large";
        }
        problem
    }
}

// ---------------------------------------------------------------------------
// The service catalogue

/// One attribute a service asks (Open311 `attribute`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeDef {
    pub code: String,
    /// string, number, datetime, text, singlevaluelist or multivaluelist.
    pub datatype: String,
    pub required: bool,
    pub order: u32,
    pub description: String,
    #[serde(default)]
    pub datatype_description: Option<String>,
    #[serde(default)]
    pub values: Vec<AttributeValue>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeValue {
    pub key: String,
    pub name: String,
}

const DATATYPES: [&str; 6] = [
    "string",
    "number",
    "datetime",
    "text",
    "singlevaluelist",
    "multivaluelist",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    #[serde(rename = "_comment")]
    _comment: Option<String>,
    attribute_sets: BTreeMap<String, Vec<AttributeDef>>,
    assign: Vec<Assignment>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Assignment {
    categories: String,
    set: String,
}

/// Which attributes each service asks.
#[derive(Debug)]
pub struct Catalogue {
    sets: BTreeMap<String, Vec<AttributeDef>>,
    assign: Vec<(CategorySelector, String)>,
}

/// The catalogue shipped in `data/open311-services.json`.
pub const CATALOGUE_JSON: &str = include_str!("../../../data/open311-services.json");

impl Catalogue {
    /// Reads and checks a catalogue: known datatypes, lists with values,
    /// unique codes, assignments to existing sets.
    pub fn parse(json: &str) -> Result<Catalogue, String> {
        let file: CatalogueFile = serde_json::from_str(json).map_err(|e| e.to_string())?;
        for (name, set) in &file.attribute_sets {
            let mut codes = std::collections::BTreeSet::new();
            for attribute in set {
                if !DATATYPES.contains(&attribute.datatype.as_str()) {
                    return Err(format!(
                        "set {name}: attribute {} has unknown datatype {}",
                        attribute.code, attribute.datatype
                    ));
                }
                let list = attribute.datatype.ends_with("valuelist");
                if list == attribute.values.is_empty() {
                    return Err(format!(
                        "set {name}: attribute {} must {}have values",
                        attribute.code,
                        if list { "" } else { "not " }
                    ));
                }
                if !codes.insert(attribute.code.clone()) {
                    return Err(format!("set {name}: attribute {} twice", attribute.code));
                }
            }
        }
        let mut assign = Vec::new();
        for entry in file.assign {
            if !file.attribute_sets.contains_key(&entry.set) {
                return Err(format!("assign: unknown set {}", entry.set));
            }
            let selector = CategorySelector::parse(&entry.categories).map_err(|e| e.to_string())?;
            assign.push((selector, entry.set));
        }
        Ok(Catalogue {
            sets: file.attribute_sets,
            assign,
        })
    }

    /// The shipped catalogue.
    pub fn shipped() -> &'static Catalogue {
        static SHIPPED: OnceLock<Catalogue> = OnceLock::new();
        SHIPPED.get_or_init(|| {
            Catalogue::parse(CATALOGUE_JSON)
                .unwrap_or_else(|e| panic!("data/open311-services.json: {e}"))
        })
    }

    /// The attributes of a category's service, in order.
    pub fn attributes(&self, category: &Category) -> Vec<AttributeDef> {
        let Some((_, set)) = self
            .assign
            .iter()
            .find(|(selector, _)| selector.matches(&category.code))
        else {
            return Vec::new();
        };
        let mut attributes = self.sets.get(set).cloned().unwrap_or_default();
        attributes.sort_by_key(|a| a.order);
        attributes
    }
}

/// Every case category, as the services of the door, by code.
pub async fn services(store: &dyn Store) -> Result<Vec<Category>, crate::problem::Problem> {
    let mut services = Vec::new();
    for kind in [CategoryKind::Matter, CategoryKind::Local] {
        let query = CategoryQuery {
            kind: Some(kind),
            limit: cityloop_store::PAGE_ROWS_MAX,
            ..Default::default()
        };
        services.extend(store.categories(&query).await?);
    }
    services.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(services)
}

/// The service with this code, if it is one.
pub async fn service(
    store: &dyn Store,
    code: &str,
) -> Result<Option<Category>, crate::problem::Problem> {
    let Ok((kind, _)) = CategoryCode::parse_case_category(code) else {
        return Ok(None);
    };
    Ok(store.category(kind, code.trim()).await?)
}

/// Search words of a service: its class and the parts of its name.
pub fn keywords(category: &Category) -> String {
    let mut words = vec![category.class_name.clone()];
    for part in category
        .name
        .split(['（', '）', '(', ')', '、', '/', ' '])
        .filter(|p| !p.is_empty())
    {
        if !words.iter().any(|w| w == part) {
            words.push(part.to_owned());
        }
    }
    words.join(",")
}

// ---------------------------------------------------------------------------
// Report forms

/// A file part of a multipart form.
#[derive(Debug, Clone)]
pub struct Upload {
    pub field: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// A report form as sent: its text fields in order (an empty value counts
/// as absent, as Open311 says) and its file parts.
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub fields: Vec<(String, String)>,
    pub files: Vec<Upload>,
}

impl Form {
    /// The first non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(key, value)| key == name && !value.trim().is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// Adds the query string's fields (Open311 allows `api_key` and
    /// `jurisdiction_id` there).
    pub fn with_query(mut self, query: Option<&str>) -> Form {
        if let Some(query) = query {
            self.fields.extend(
                form_urlencoded::parse(query.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned())),
            );
        }
        self
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = FieldError;

    async fn from_request(request: Request, state: &S) -> Result<Form, FieldError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            let mut multipart = axum::extract::Multipart::from_request(request, state)
                .await
                .map_err(|e| FieldError::new("body", e.body_text()))?;
            let mut form = Form::default();
            loop {
                let field = match multipart.next_field().await {
                    Ok(Some(field)) => field,
                    Ok(None) => break,
                    Err(error) => return Err(multipart_error(error)),
                };
                let name = field.name().unwrap_or("").to_owned();
                if field.file_name().is_some() {
                    let content_type = field.content_type().map(str::to_owned);
                    let bytes = field.bytes().await.map_err(multipart_error)?;
                    if bytes.is_empty() {
                        continue; // a file input left empty
                    }
                    if bytes.len() > PHOTO_BYTES_MAX {
                        return Err(FieldError::too_large(
                            name,
                            format!(
                                "a photo may be at most {} MiB; this one is {:.1} MiB",
                                PHOTO_BYTES_MAX / (1024 * 1024),
                                bytes.len() as f64 / (1024.0 * 1024.0)
                            ),
                        ));
                    }
                    form.files.push(Upload {
                        field: name,
                        content_type,
                        bytes: bytes.to_vec(),
                    });
                } else {
                    let text = field.text().await.map_err(multipart_error)?;
                    form.fields.push((name, text));
                }
            }
            Ok(form)
        } else if content_type.starts_with("application/x-www-form-urlencoded")
            || content_type.is_empty()
        {
            let bytes = axum::body::Bytes::from_request(request, state)
                .await
                .map_err(|e| FieldError::new("body", e.body_text()))?;
            Ok(Form {
                fields: form_urlencoded::parse(&bytes)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
                files: Vec::new(),
            })
        } else {
            Err(FieldError::new(
                "body",
                "send the report as application/x-www-form-urlencoded or multipart/form-data",
            ))
        }
    }
}

fn multipart_error(error: axum::extract::multipart::MultipartError) -> FieldError {
    let status = error.status();
    let text = error.body_text();
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        FieldError::too_large(
            "media",
            format!(
                "the report is too large: at most {PHOTOS_MAX} photos of at most {} MiB each",
                PHOTO_BYTES_MAX / (1024 * 1024)
            ),
        )
    } else {
        FieldError::new("body", text)
    }
}

/// The image type by its first bytes; `None` for anything else.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The photos of a form: its `media` file parts, checked.
pub fn photos(form: &Form) -> Result<Vec<Photo>, FieldError> {
    let parts: Vec<&Upload> = form.files.iter().filter(|f| f.field == "media").collect();
    if let Some(other) = form.files.iter().find(|f| f.field != "media") {
        return Err(FieldError::new(
            other.field.clone(),
            "files are accepted only as photo parts named media",
        ));
    }
    if parts.len() > PHOTOS_MAX {
        return Err(FieldError::new(
            "media",
            format!(
                "at most {PHOTOS_MAX} photos per report; {} were sent",
                parts.len()
            ),
        ));
    }
    parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let Some(kind) = sniff_image(&part.bytes) else {
                return Err(FieldError::new(
                    "media",
                    format!(
                        "photo {} is not a JPEG, PNG or WebP image (declared {})",
                        i + 1,
                        part.content_type.as_deref().unwrap_or("no type")
                    ),
                ));
            };
            Ok(Photo {
                content_type: kind.to_owned(),
                bytes: part.bytes.clone(),
            })
        })
        .collect()
}

/// The attribute answers of a form, checked against the service's
/// attributes: `attribute[CODE]` (one value) or `attribute[CODE][]` /
/// repeated `attribute[CODE]` (a multi-value list).
pub fn attributes(
    form: &Form,
    defs: &[AttributeDef],
) -> Result<serde_json::Map<String, Value>, FieldError> {
    let mut given: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in &form.fields {
        let Some(inner) = key.strip_prefix("attribute[") else {
            continue;
        };
        let code = inner
            .strip_suffix("][]")
            .or_else(|| inner.strip_suffix(']'))
            .ok_or_else(|| {
                FieldError::new(key.clone(), "write attribute[CODE] or attribute[CODE][]")
            })?;
        if value.trim().is_empty() {
            continue;
        }
        given
            .entry(code.to_owned())
            .or_default()
            .push(value.trim().to_owned());
    }
    if let Some(unknown) = given
        .keys()
        .find(|code| !defs.iter().any(|d| &d.code == *code))
    {
        let known: Vec<&str> = defs.iter().map(|d| d.code.as_str()).collect();
        return Err(FieldError::new(
            format!("attribute[{unknown}]"),
            if known.is_empty() {
                "this service takes no attributes".to_owned()
            } else {
                format!("unknown attribute; this service takes {}", known.join(", "))
            },
        ));
    }
    let mut answers = serde_json::Map::new();
    for def in defs {
        let field = format!("attribute[{}]", def.code);
        let Some(values) = given.remove(&def.code) else {
            if def.required {
                return Err(FieldError::new(
                    field,
                    format!("required: {}", def.description),
                ));
            }
            continue;
        };
        let keys: Vec<&str> = def.values.iter().map(|v| v.key.as_str()).collect();
        let check_key = |value: &String| {
            if keys.contains(&value.as_str()) {
                Ok(())
            } else {
                Err(FieldError::new(
                    field.clone(),
                    format!("{value:?} is not one of {}", keys.join(", ")),
                ))
            }
        };
        let answer = match def.datatype.as_str() {
            "multivaluelist" => {
                values.iter().try_for_each(check_key)?;
                let mut unique = values.clone();
                unique.dedup();
                Value::Array(unique.into_iter().map(Value::String).collect())
            }
            _ if values.len() > 1 => {
                return Err(FieldError::new(field, "give one value"));
            }
            "singlevaluelist" => {
                check_key(&values[0])?;
                Value::String(values[0].clone())
            }
            "number" => {
                let number: f64 = values[0]
                    .parse()
                    .ok()
                    .filter(|n: &f64| n.is_finite())
                    .ok_or_else(|| FieldError::new(field.clone(), "must be a number"))?;
                serde_json::Number::from_f64(number)
                    .map(Value::Number)
                    .ok_or_else(|| FieldError::new(field.clone(), "must be a number"))?
            }
            "datetime" => {
                let instant = DateTime::parse_from_rfc3339(&values[0]).map_err(|_| {
                    FieldError::new(
                        field.clone(),
                        "must be an ISO 8601 date and time with an offset, e.g. 2026-11-29T14:05:00+08:00",
                    )
                })?;
                Value::String(instant.to_rfc3339())
            }
            kind => {
                let max = if kind == "text" {
                    ATTRIBUTE_TEXT_CHARS_MAX
                } else {
                    ATTRIBUTE_STRING_CHARS_MAX
                };
                let chars = values[0].chars().count();
                if chars > max {
                    return Err(FieldError::new(
                        field,
                        format!("at most {max} characters; {chars} were sent"),
                    ));
                }
                if values[0]
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
                {
                    return Err(FieldError::new(
                        field,
                        "must not contain control characters",
                    ));
                }
                Value::String(values[0].clone())
            }
        };
        answers.insert(def.code.clone(), answer);
    }
    Ok(answers)
}

/// Who sends a report through the door.
pub struct Sender {
    pub channel: Channel,
    /// The Open311 client's name, or `citizen_page`.
    pub client: String,
    pub token: Option<String>,
}

/// Reads a report form (Open311 field names) into an intake and files it
/// as a case through the closed loop.
pub async fn file_report(
    state: &AppState,
    form: &Form,
    sender: Sender,
) -> Result<IntakeOutcome, ReportError> {
    let code = form
        .get("service_code")
        .ok_or_else(|| FieldError::new("service_code", "required: the service (category) code"))?;
    let Some(category) = service(state.store(), code).await? else {
        return Err(ReportError::UnknownService(code.to_owned()));
    };
    let defs = Catalogue::shipped().attributes(&category);
    let answers = attributes(form, &defs)?;
    let photos = photos(form)?;
    let point = match (form.get("lat"), form.get("long")) {
        (Some(lat), Some(lon)) => {
            let lat: f64 = lat
                .trim()
                .parse()
                .map_err(|_| FieldError::new("lat", "must be a number (WGS-84 latitude)"))?;
            let lon: f64 = lon
                .trim()
                .parse()
                .map_err(|_| FieldError::new("long", "must be a number (WGS-84 longitude)"))?;
            Some(
                crate::areas::parse_point(lon, lat, None)
                    .map_err(|p| FieldError::new(p.field.unwrap_or("lat".into()), p.detail))?,
            )
        }
        (Some(_), None) => return Err(FieldError::new("long", "give long with lat").into()),
        (None, Some(_)) => return Err(FieldError::new("lat", "give lat with long").into()),
        (None, None) => None,
    };
    let address = form.get("address_string").map(|a| a.trim().to_owned());
    let area = match form.get("address_id") {
        Some(id) => Some(AreaCode::canonical(id).map_err(|e| {
            FieldError::new(
                "address_id",
                format!(
                    "an area code (GB/T 2260 / statistics bureau) is expected: {}",
                    e.message
                ),
            )
        })?),
        None => None,
    };
    let area = match (&point, area, &address) {
        (None, None, None) => {
            return Err(FieldError::new(
                "lat",
                "a location is required: lat and long, address_string or address_id",
            )
            .into());
        }
        // An address alone: the dispatcher confirms the area from the city.
        (None, None, Some(_)) => Some(city_root(state.store()).await?),
        (_, area, _) => area,
    };
    let mut description = form.get("description").unwrap_or("").trim().to_owned();
    if description.is_empty() {
        description = category.name.clone();
    }
    let contact = contact(form)?;
    let outcome = state
        .cases()
        .intake(
            Intake {
                channel: sender.channel,
                category: category.code.clone(),
                urgency: Urgency::Normal,
                point,
                area,
                address,
                description,
                reporter: None,
                reporter_contact: contact,
                route_to: None,
                report: Some(ReportInput {
                    attributes: answers,
                    client: Some(sender.client),
                    token: sender.token,
                    photos,
                }),
            },
            &state.index(),
            state.now(),
        )
        .await?;
    state.publish_case_change(outcome.case.id);
    Ok(outcome)
}

/// The reporter's contact from the Open311 fields, kept private.
fn contact(form: &Form) -> Result<Option<String>, FieldError> {
    let mut parts = Vec::new();
    for field in ["last_name", "first_name", "phone", "email"] {
        if let Some(value) = form.get(field) {
            let value = value.trim();
            if value.chars().count() > CONTACT_FIELD_CHARS_MAX {
                return Err(FieldError::new(
                    field,
                    format!("at most {CONTACT_FIELD_CHARS_MAX} characters"),
                ));
            }
            if value.chars().any(char::is_control) {
                return Err(FieldError::new(
                    field,
                    "must not contain control characters",
                ));
            }
            parts.push(value.to_owned());
        }
    }
    if let Some(phone) = form.get("phone") {
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        if digits < 5
            || phone
                .chars()
                .any(|c| !(c.is_ascii_digit() || " +-()".contains(c)))
        {
            return Err(FieldError::new("phone", "must be a phone number"));
        }
    }
    if let Some(email) = form.get("email")
        && !email.contains('@')
    {
        return Err(FieldError::new("email", "must be an e-mail address"));
    }
    Ok((!parts.is_empty()).then(|| parts.join(" ")))
}

async fn city_root(store: &dyn Store) -> Result<AreaCode, ReportError> {
    city(store)
        .await
        .map_err(crate::problem::Problem::from)?
        .map(|record| record.area.code)
        .ok_or_else(|| {
            ReportError::Field(FieldError::new(
                "address_id",
                "no city is loaded; give lat and long or address_id",
            ))
        })
}

/// Why a report was not filed.
#[derive(Debug)]
pub enum ReportError {
    Field(FieldError),
    UnknownService(String),
    Problem(crate::problem::Problem),
}

impl From<FieldError> for ReportError {
    fn from(error: FieldError) -> ReportError {
        ReportError::Field(error)
    }
}

impl From<crate::problem::Problem> for ReportError {
    fn from(problem: crate::problem::Problem) -> ReportError {
        ReportError::Problem(problem)
    }
}

impl From<cityloop_cases::CaseError> for ReportError {
    fn from(error: cityloop_cases::CaseError) -> ReportError {
        match error {
            cityloop_cases::CaseError::Invalid { field, message } => {
                let field = match field {
                    "point" | "lon" => "lat",
                    "area" | "area_code" => "address_id",
                    other => other,
                };
                ReportError::Field(FieldError::new(field, message))
            }
            other => ReportError::Problem(other.into()),
        }
    }
}

impl From<ReportError> for crate::problem::Problem {
    fn from(error: ReportError) -> crate::problem::Problem {
        match error {
            ReportError::Field(field) => field.into(),
            ReportError::UnknownService(code) => crate::problem::Problem {
                status: axum::http::StatusCode::BAD_REQUEST,
                slug: "invalid-field",
                detail: format!("unknown service_code {code:?}"),
                field: Some("service_code".into()),
            },
            ReportError::Problem(problem) => problem,
        }
    }
}

// ---------------------------------------------------------------------------
// The public view of a case

/// The channels whose cases the door shows the public (their reporters
/// chose to report in public); other cases stay with the staff.
pub const PUBLIC_CHANNELS: [Channel; 3] =
    [Channel::Open311, Channel::CitizenWeb, Channel::CitizenApp];

pub fn is_public(row: &CaseRow) -> bool {
    PUBLIC_CHANNELS.iter().any(|c| c.as_str() == row.channel)
}

/// One public step of a case.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicStep {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// The event's name, e.g. `dispatched`.
    pub action: String,
    /// A note the public may read (masked), if the step has one.
    pub note: Option<String>,
}

/// Steps the public sees; internal ones (urging, supervision, SLA
/// warnings, extension requests) are left out.
pub fn is_public_step(kind: &str) -> bool {
    !matches!(
        kind,
        "urged" | "supervised" | "sla_warned" | "sla_breached" | "extension_requested"
    )
}

/// The public steps of a case, oldest first.
pub async fn public_steps(
    store: &dyn Store,
    case_id: i64,
) -> Result<Vec<PublicStep>, crate::problem::Problem> {
    Ok(public_steps_of(&store.case_events(case_id).await?))
}

/// The public steps of a history, oldest first.
pub fn public_steps_of(history: &[cityloop_store::CaseEventRow]) -> Vec<PublicStep> {
    history
        .iter()
        .filter(|row| is_public_step(&row.kind))
        .map(|row| PublicStep {
            seq: row.seq,
            at: row.at,
            action: row.kind.clone(),
            note: public_note_of(row),
        })
        .collect()
}

/// The masked public note of one history row, if it has one.
pub fn public_note_of(row: &cityloop_store::CaseEventRow) -> Option<String> {
    decode_event(&row.kind, &row.payload)
        .ok()
        .and_then(|event| public_note(&event))
        .map(|note| mask_personal_numbers(&note))
}

/// The city (the area tree's root), if one is loaded.
pub async fn city(
    store: &dyn Store,
) -> Result<Option<cityloop_store::AreaRecord>, cityloop_store::StoreError> {
    let query = cityloop_store::AreaQuery {
        level: Some(cityloop_domain::AreaLevel::City),
        limit: 1,
        ..Default::default()
    };
    Ok(store.areas(&query).await?.into_iter().next())
}

/// The part of an event the public may read.
fn public_note(event: &Event) -> Option<String> {
    let text = match event {
        Event::Declined { reason, .. } | Event::Voided { reason, .. } => reason.clone(),
        Event::Replied { note, .. } | Event::Judged { note, .. } => note.clone(),
        Event::Rated { comment, .. } => comment.clone(),
        Event::Commented { text, .. } => text.clone(),
        Event::Merged { parent, .. } => format!("#{}", parent.0),
        _ => return None,
    };
    (!text.trim().is_empty()).then_some(text)
}

/// Open311 `open` / `closed` of a case's status.
pub fn open311_status(row: &CaseRow) -> &'static str {
    if row.open { "open" } else { "closed" }
}

/// A short public explanation of a status (Chinese, as shown to citizens).
pub fn status_note(status: &str) -> &'static str {
    match status {
        "reported" => "已登记，待核实",
        "verified" => "已核实，待受理",
        "accepted" => "已受理，待立案",
        "registered" => "已立案，待派遣",
        "dispatched" => "已派遣至责任单位",
        "returned" => "责任单位退回，待重新派遣",
        "handling" => "责任单位处置中",
        "hung" => "长期工程，挂账处理",
        "replied" => "已反馈处置结果，待审核",
        "checking" => "待现场核查",
        "callback" => "已核查，待回访评价",
        "follow_up" => "差评回访核实中",
        "closed" => "已办结",
        "declined" => "不予受理",
        "voided" => "已作废",
        "merged" => "与其他诉求合并办理",
        _ => "",
    }
}

/// FixMyStreet's status of a case (its Open311 update extension).
pub fn fixmystreet_status(row: &CaseRow) -> &'static str {
    fixmystreet_status_of(&row.status)
}

/// FixMyStreet's status of a case status name.
pub fn fixmystreet_status_of(status: &str) -> &'static str {
    match status {
        "reported" => "OPEN",
        "verified" | "accepted" => "INVESTIGATING",
        "registered" | "dispatched" | "returned" => "ACTION_SCHEDULED",
        "handling" | "hung" | "replied" | "checking" | "follow_up" => "IN_PROGRESS",
        "callback" | "closed" => "FIXED",
        "declined" | "voided" => "NO_FURTHER_ACTION",
        "merged" => "DUPLICATE",
        _ => "OPEN",
    }
}

/// Public text: personal numbers masked.
pub fn public_text(text: &str) -> String {
    mask_personal_numbers(text)
}

// ---------------------------------------------------------------------------
// Rate limit of public writes

type Limiter = governor::DefaultKeyedRateLimiter<IpAddr>;

/// Per client address: reports, ratings, comments and updates a client may
/// send through the door.
#[derive(Clone)]
pub struct PublicWriteLimit {
    limiter: Arc<Limiter>,
}

impl PublicWriteLimit {
    pub fn new(per_minute: u32, burst: u32) -> PublicWriteLimit {
        let per_minute =
            std::num::NonZeroU32::new(per_minute.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
        let burst = std::num::NonZeroU32::new(burst.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
        PublicWriteLimit {
            limiter: Arc::new(governor::RateLimiter::keyed(
                governor::Quota::per_minute(per_minute).allow_burst(burst),
            )),
        }
    }

    /// `true` when the client may write now.
    pub fn check(&self, client: IpAddr) -> bool {
        self.limiter.check_key(&client).is_ok()
    }
}

/// The client's address: the socket's peer (no proxy headers are trusted;
/// behind a reverse proxy all clients share its address).
pub fn client_address(request_extensions: &axum::http::Extensions) -> IpAddr {
    request_extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// The absolute base URL of this server as the client reached it.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_uses_every_datatype() {
        let catalogue = Catalogue::shipped();
        for datatype in DATATYPES {
            assert!(
                catalogue
                    .sets
                    .values()
                    .flatten()
                    .any(|a| a.datatype == datatype),
                "{datatype}"
            );
        }
    }

    #[test]
    fn a_catalogue_with_a_list_without_values_is_refused() {
        let json = r#"{"attribute_sets":{"s":[{"code":"a","datatype":"singlevaluelist","required":true,"order":1,"description":"d"}]},"assign":[]}"#;
        assert!(
            Catalogue::parse(json)
                .unwrap_err()
                .contains("must have values")
        );
        let json = r#"{"attribute_sets":{},"assign":[{"categories":"class:01","set":"none"}]}"#;
        assert!(Catalogue::parse(json).unwrap_err().contains("unknown set"));
    }

    #[test]
    fn images_are_known_by_their_first_bytes() {
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"<svg xmlns="), None);
        assert_eq!(sniff_image(b"GIF89a"), None);
    }

    fn form(pairs: &[(&str, &str)]) -> Form {
        Form {
            fields: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            files: Vec::new(),
        }
    }

    #[test]
    fn attributes_are_checked_by_datatype() {
        let defs = Catalogue::shipped().sets["facility"].clone();
        let answers = attributes(
            &form(&[
                ("attribute[damage]", "broken"),
                ("attribute[hazards][]", "water"),
                ("attribute[hazards][]", "smell"),
                ("attribute[size_m2]", "2.5"),
                ("attribute[noticed_at]", "2026-11-29T08:00:00+08:00"),
                ("attribute[component_id]", ""),
            ]),
            &defs,
        )
        .unwrap();
        assert_eq!(answers["damage"], "broken");
        assert_eq!(answers["hazards"], serde_json::json!(["water", "smell"]));
        assert_eq!(answers["size_m2"], 2.5);
        assert!(!answers.contains_key("component_id"), "empty means absent");
        // Repeated attribute[CODE] is a multi-value list too.
        let answers = attributes(
            &form(&[
                ("attribute[damage]", "missing"),
                ("attribute[hazards]", "water"),
                ("attribute[hazards]", "blocks_traffic"),
            ]),
            &defs,
        )
        .unwrap();
        assert_eq!(
            answers["hazards"],
            serde_json::json!(["water", "blocks_traffic"])
        );

        let error = |pairs: &[(&str, &str)]| attributes(&form(pairs), &defs).unwrap_err();
        assert_eq!(error(&[]).field, "attribute[damage]", "required");
        assert_eq!(
            error(&[("attribute[damage]", "melted")]).field,
            "attribute[damage]"
        );
        assert_eq!(
            error(&[
                ("attribute[damage]", "broken"),
                ("attribute[size_m2]", "big")
            ])
            .field,
            "attribute[size_m2]"
        );
        assert_eq!(
            error(&[
                ("attribute[damage]", "broken"),
                ("attribute[noticed_at]", "yesterday")
            ])
            .field,
            "attribute[noticed_at]"
        );
        assert_eq!(
            error(&[
                ("attribute[damage]", "broken"),
                ("attribute[colour]", "red")
            ])
            .field,
            "attribute[colour]"
        );
        assert_eq!(
            error(&[
                ("attribute[damage]", "broken"),
                ("attribute[hazards][]", "fire")
            ])
            .field,
            "attribute[hazards]"
        );
    }
}
