//! Open311 GeoReport v2 at `/open311/v2/`, in XML and JSON by the URL's
//! extension, with FixMyStreet's `servicerequestupdates` extension.
//!
//! The rules of the specification kept here: ids and codes are always
//! strings; datetimes carry an offset (`+08:00`); `status` is only `open` or
//! `closed` (the rich state is under `extensions=true`); an empty parameter
//! is absent; every JSON collection is an array, even of one; errors are
//! the specification's list of `{code, description}` with 400, 403 (a
//! missing or bad `api_key` on POST) or 404 (an unknown service, request or
//! token). A request enters the same closed loop as every other channel
//! ([`crate::door::file_report`]); what it shows the public follows that
//! loop ([`crate::door`]'s public view).
//!
//! Responses are built as [`Node`] trees, so one tree gives both formats:
//! an object is an element per key (JSON object), a [`Node::List`] repeats
//! its item element (JSON array).

use crate::AppState;
use crate::door::{self, Form, ReportError, Sender};
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use cityloop_calendar::china_offset;
use cityloop_domain::{AreaCode, Category};
use cityloop_store::{CaseQuery, CaseRow};
use cityloop_workflow::{Actor, CaseId, Channel, Command};
use std::collections::BTreeMap;

/// The specification this endpoint follows (discovery's `specification`).
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";
/// Requests one `GET requests` answers at most (the specification's cap).
pub const REQUESTS_PAGE_MAX: u32 = 1000;
/// The default window of `GET requests` without dates, in days.
pub const DEFAULT_WINDOW_DAYS: i64 = 90;
/// The name of the client that files reports from the citizen page.
pub const CITIZEN_PAGE_CLIENT: &str = "citizen_page";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{file}", get(get_root).post(post_root))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/service/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(one_request))
        .route("/open311/v2/tokens/{file}", get(token))
        .layer(axum::extract::DefaultBodyLimit::max(
            door::REPORT_BODY_BYTES_MAX,
        ))
}

// ---------------------------------------------------------------------------
// Formats

/// The response format, by the URL's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

/// `requests.json` → (`requests`, JSON).
fn split(file: &str) -> Result<(&str, Format), Error> {
    match file.rsplit_once('.') {
        Some((name, "xml")) => Ok((name, Format::Xml)),
        Some((name, "json")) => Ok((name, Format::Json)),
        _ => Err(Error::new(
            Format::Xml,
            StatusCode::NOT_FOUND,
            format!("{file}: add the format, .xml or .json"),
        )),
    }
}

/// A response tree: both formats come from it.
#[derive(Debug, Clone)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Text(String),
    /// Elements in order.
    Obj(Vec<(String, Node)>),
    /// Repeated `item` elements in XML; an array in JSON.
    List(&'static str, Vec<Node>),
}

impl Node {
    fn text(text: impl Into<String>) -> Node {
        Node::Text(text.into())
    }

    fn opt(text: Option<impl Into<String>>) -> Node {
        text.map_or(Node::Null, |t| Node::Text(t.into()))
    }

    fn obj(fields: Vec<(&str, Node)>) -> Node {
        Node::Obj(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::from(*i),
            Node::Num(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            Node::Text(t) => Value::String(t.clone()),
            Node::Obj(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Node::List(_, items) => Value::Array(items.iter().map(Node::to_json).collect()),
        }
    }

    fn write_xml(&self, name: &str, out: &mut String) {
        match self {
            Node::Null => {
                out.push('<');
                out.push_str(name);
                out.push_str("/>");
            }
            Node::List(item, items) => {
                out.push('<');
                out.push_str(name);
                out.push('>');
                for node in items {
                    node.write_xml(item, out);
                }
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
            Node::Obj(fields) => {
                out.push('<');
                out.push_str(name);
                out.push('>');
                for (key, node) in fields {
                    node.write_xml(key, out);
                }
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
            scalar => {
                let text = match scalar {
                    Node::Bool(b) => b.to_string(),
                    Node::Int(i) => i.to_string(),
                    Node::Num(n) => n.to_string(),
                    Node::Text(t) => t.clone(),
                    _ => String::new(),
                };
                out.push('<');
                out.push_str(name);
                out.push('>');
                escape_xml(&text, out);
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        }
    }
}

/// XML 1.0 text: markup escaped, characters XML cannot carry dropped.
fn escape_xml(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

/// A document: `root` is the XML root element; in JSON the tree itself.
fn respond(format: Format, status: StatusCode, root: &str, node: Node) -> Response {
    match format {
        Format::Json => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            node.to_json().to_string(),
        )
            .into_response(),
        Format::Xml => {
            let mut out = String::from(r#"<?xml version="1.0" encoding="utf-8"?>"#);
            node.write_xml(root, &mut out);
            (
                status,
                [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                out,
            )
                .into_response()
        }
    }
}

/// An Open311 error: the specification's list of one `{code, description}`.
#[derive(Debug)]
pub struct Error {
    format: Format,
    status: StatusCode,
    description: String,
}

impl Error {
    fn new(format: Format, status: StatusCode, description: impl Into<String>) -> Error {
        Error {
            format,
            status,
            description: description.into(),
        }
    }

    fn bad(format: Format, description: impl Into<String>) -> Error {
        Error::new(format, StatusCode::BAD_REQUEST, description)
    }

    fn not_found(format: Format, description: impl Into<String>) -> Error {
        Error::new(format, StatusCode::NOT_FOUND, description)
    }

    fn from_problem(format: Format, problem: crate::problem::Problem) -> Error {
        let description = match &problem.field {
            Some(field) if !problem.detail.contains(field.as_str()) => {
                format!("{field}: {}", problem.detail)
            }
            _ => problem.detail.clone(),
        };
        Error::new(format, problem.status, description)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let error = Node::obj(vec![
            ("code", Node::Int(i64::from(self.status.as_u16()))),
            ("description", Node::text(self.description)),
        ]);
        respond(
            self.format,
            self.status,
            "errors",
            Node::List("error", vec![error]),
        )
    }
}

type Result311<T> = Result<T, Error>;

fn rfc3339(instant: DateTime<Utc>) -> String {
    instant
        .with_timezone(&china_offset())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// The jurisdiction this endpoint serves: the city's area code.
async fn jurisdiction(state: &AppState) -> Option<AreaCode> {
    door::city(state.store())
        .await
        .ok()?
        .map(|record| record.area.code)
}

/// Refuses a `jurisdiction_id` that is not this city's.
async fn check_jurisdiction(
    state: &AppState,
    format: Format,
    given: Option<&str>,
) -> Result311<()> {
    let Some(given) = given.map(str::trim).filter(|g| !g.is_empty()) else {
        return Ok(());
    };
    let ours = jurisdiction(state).await;
    // 310000 and the statistics bureau's 310000000000 name the same city.
    let twelve = |code: &str| format!("{code:0<12}");
    let matches = ours.as_ref().is_some_and(|code| {
        AreaCode::canonical(given).is_ok_and(|g| twelve(g.as_str()) == twelve(code.as_str()))
    });
    if matches {
        Ok(())
    } else {
        Err(Error::not_found(
            format,
            format!(
                "jurisdiction_id {given:?} is not served here; this endpoint serves {}",
                ours.map_or("no city yet".to_owned(), |c| c.as_str().to_owned())
            ),
        ))
    }
}

/// The query's parameters, with its `jurisdiction_id` checked.
async fn checked_params(
    state: &AppState,
    format: Format,
    query: Option<&str>,
) -> Result311<BTreeMap<String, String>> {
    let params = params(query);
    check_jurisdiction(
        state,
        format,
        params.get("jurisdiction_id").map(String::as_str),
    )
    .await?;
    Ok(params)
}

/// Query parameters as pairs; an empty value is absent.
fn params(query: Option<&str>) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if !value.trim().is_empty() {
            params
                .entry(key.into_owned())
                .or_insert_with(|| value.trim().to_owned());
        }
    }
    params
}

// ---------------------------------------------------------------------------
// Handlers

/// `GET /open311/v2/{discovery|services|requests|servicerequestupdates}.{fmt}`.
pub async fn get_root(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result311<Response> {
    let (name, format) = split(&file)?;
    let params = checked_params(&state, format, query.as_deref()).await?;
    match name {
        "discovery" => Ok(discovery(&state, format, &headers).await),
        "services" => services(&state, format).await,
        "requests" => requests(&state, format, &params, &headers).await,
        "servicerequestupdates" => updates(&state, format, &params).await,
        other => Err(Error::not_found(format, format!("no resource {other:?}"))),
    }
}

async fn discovery(state: &AppState, format: Format, headers: &HeaderMap) -> Response {
    let url = format!("{}/open311/v2", door::base_url(headers));
    let changeset = "2026-11-29T00:00:00+08:00";
    let endpoint = Node::obj(vec![
        ("specification", Node::text(SPECIFICATION)),
        ("url", Node::text(url)),
        ("changeset", Node::text(changeset)),
        ("type", Node::text("production")),
        (
            "formats",
            Node::List(
                "format",
                vec![Node::text("text/xml"), Node::text("application/json")],
            ),
        ),
    ]);
    let city = jurisdiction(state).await;
    respond(
        format,
        StatusCode::OK,
        "discovery",
        Node::obj(vec![
            ("changeset", Node::text(changeset)),
            (
                "contact",
                Node::text(format!(
                    "cityloop city operations centre{}",
                    city.map(|c| format!(" (jurisdiction_id {c})"))
                        .unwrap_or_default()
                )),
            ),
            (
                "key_service",
                Node::text("API keys are issued by the city with `cityloop open311 key-add NAME`"),
            ),
            ("endpoints", Node::List("endpoint", vec![endpoint])),
        ]),
    )
}

fn service_node(category: &Category) -> Node {
    let attributes = door::Catalogue::shipped().attributes(category);
    Node::obj(vec![
        ("service_code", Node::text(category.code.as_str())),
        ("service_name", Node::text(&category.name)),
        (
            "description",
            Node::text(format!("{} · {}", category.class_name, category.name)),
        ),
        ("metadata", Node::Bool(!attributes.is_empty())),
        ("type", Node::text("realtime")),
        ("keywords", Node::text(door::keywords(category))),
        ("group", Node::text(&category.class_name)),
    ])
}

async fn services(state: &AppState, format: Format) -> Result311<Response> {
    let services = door::services(state.store())
        .await
        .map_err(|p| Error::from_problem(format, p))?;
    Ok(respond(
        format,
        StatusCode::OK,
        "services",
        Node::List("service", services.iter().map(service_node).collect()),
    ))
}

/// `GET /open311/v2/services/{code}.{fmt}` (and the alias `service/…`).
pub async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Result311<Response> {
    let (code, format) = split(&file)?;
    checked_params(&state, format, query.as_deref()).await?;
    let Some(category) = door::service(state.store(), code)
        .await
        .map_err(|p| Error::from_problem(format, p))?
    else {
        return Err(Error::not_found(
            format,
            format!("service_code {code:?} not found"),
        ));
    };
    let attributes = door::Catalogue::shipped()
        .attributes(&category)
        .into_iter()
        .map(|a| {
            Node::obj(vec![
                ("variable", Node::Bool(true)),
                ("code", Node::text(&a.code)),
                ("datatype", Node::text(&a.datatype)),
                ("required", Node::Bool(a.required)),
                (
                    "datatype_description",
                    Node::opt(a.datatype_description.clone()),
                ),
                ("order", Node::Int(i64::from(a.order))),
                ("description", Node::text(&a.description)),
                (
                    "values",
                    Node::List(
                        "value",
                        a.values
                            .iter()
                            .map(|v| {
                                Node::obj(vec![
                                    ("key", Node::text(&v.key)),
                                    ("name", Node::text(&v.name)),
                                ])
                            })
                            .collect(),
                    ),
                ),
            ])
        })
        .collect();
    Ok(respond(
        format,
        StatusCode::OK,
        "service_definition",
        Node::obj(vec![
            ("service_code", Node::text(category.code.as_str())),
            ("attributes", Node::List("attribute", attributes)),
        ]),
    ))
}

/// The client an `api_key` belongs to; 403 when it is missing, unknown or
/// revoked.
async fn client_of(state: &AppState, format: Format, form: &Form) -> Result311<String> {
    let Some(key) = form.get("api_key") else {
        return Err(Error::new(
            format,
            StatusCode::FORBIDDEN,
            "api_key is required to post",
        ));
    };
    let hash = cityloop_transparency::sha256_hex(key.trim().as_bytes());
    match state.store().api_key(&hash).await {
        Ok(Some(record)) if record.revoked_at.is_none() => Ok(record.name),
        Ok(_) => Err(Error::new(
            format,
            StatusCode::FORBIDDEN,
            "invalid api_key received -- can't proceed",
        )),
        Err(error) => Err(Error::from_problem(format, error.into())),
    }
}

/// `POST /open311/v2/{requests|servicerequestupdates}.{fmt}`.
pub async fn post_root(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    request: axum::extract::Request,
) -> Result311<Response> {
    let (name, format) = split(&file)?;
    let client_address = door::client_address(request.extensions());
    let form =
        match <Form as axum::extract::FromRequest<AppState>>::from_request(request, &state).await {
            Ok(form) => form.with_query(query.as_deref()),
            Err(error) => {
                return Err(Error::new(
                    format,
                    StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST),
                    format!("{}: {}", error.field, error.message),
                ));
            }
        };
    check_jurisdiction(&state, format, form.get("jurisdiction_id")).await?;
    let client = client_of(&state, format, &form).await?;
    if !state.public_writes().check(client_address) {
        return Err(Error::new(
            format,
            StatusCode::TOO_MANY_REQUESTS,
            "too many posts from this address; slow down",
        ));
    }
    match name {
        "requests" => post_request(&state, format, &form, client).await,
        "servicerequestupdates" => post_update(&state, format, &form, client).await,
        other => Err(Error::not_found(
            format,
            format!("cannot post to {other:?}"),
        )),
    }
}

async fn post_request(
    state: &AppState,
    format: Format,
    form: &Form,
    client: String,
) -> Result311<Response> {
    let token = uuid::Uuid::new_v4().simple().to_string();
    let outcome = door::file_report(
        state,
        form,
        Sender {
            channel: Channel::Open311,
            client,
            token: Some(token.clone()),
        },
    )
    .await
    .map_err(|error| match error {
        ReportError::Field(field) => Error::new(
            format,
            StatusCode::from_u16(field.status).unwrap_or(StatusCode::BAD_REQUEST),
            format!("{}: {}", field.field, field.message),
        ),
        ReportError::UnknownService(code) => {
            Error::bad(format, format!("service_code: unknown service {code:?}"))
        }
        ReportError::Problem(problem) => Error::from_problem(format, problem),
    })?;
    let notice = match outcome.routing.department {
        Some(_) => {
            "已受理登记，将派遣至责任单位处置 / Registered; it will be sent to the responsible unit"
        }
        None => "已受理登记，由城运中心派遣 / Registered; the operations centre will dispatch it",
    };
    let request = Node::obj(vec![
        (
            "service_request_id",
            Node::text(outcome.case.id.to_string()),
        ),
        ("token", Node::text(token)),
        ("service_notice", Node::text(notice)),
        ("account_id", Node::Null),
    ]);
    Ok(respond(
        format,
        StatusCode::CREATED,
        "service_requests",
        Node::List("request", vec![request]),
    ))
}

/// FixMyStreet posts a citizen's update to a request it sent: it becomes
/// the reporter's comment (补充说明) on the case.
async fn post_update(
    state: &AppState,
    format: Format,
    form: &Form,
    client: String,
) -> Result311<Response> {
    let id = form
        .get("service_request_id")
        .ok_or_else(|| Error::bad(format, "service_request_id is required"))?;
    let case = public_case(state, format, id).await?;
    let report = state
        .store()
        .case_report(case.id)
        .await
        .map_err(|e| Error::from_problem(format, e.into()))?;
    if report.and_then(|r| r.client).as_deref() != Some(client.as_str()) {
        return Err(Error::new(
            format,
            StatusCode::FORBIDDEN,
            format!("request {id} was not sent by this api_key's client; it may not update it"),
        ));
    }
    let text = form
        .get("description")
        .ok_or_else(|| Error::bad(format, "description is required"))?;
    let summary = state
        .cases()
        .act(
            case.id,
            &Actor::receipt_holder(CaseId(case.id)),
            Command::Comment {
                text: text.to_owned(),
            },
            state.now(),
        )
        .await
        .map_err(|e| Error::from_problem(format, e.into()))?;
    state.publish_case_change(case.id);
    let update = Node::obj(vec![(
        "update_id",
        Node::text(format!("{}-{}", case.id, summary.version)),
    )]);
    Ok(respond(
        format,
        StatusCode::OK,
        "service_request_updates",
        Node::List("request_update", vec![update]),
    ))
}

/// A case the door shows the public, by its Open311 id; 404 otherwise.
async fn public_case(state: &AppState, format: Format, id: &str) -> Result311<CaseRow> {
    let not_found = || Error::not_found(format, format!("service_request_id {id:?} not found"));
    let id: i64 = id.trim().parse().map_err(|_| not_found())?;
    match state.store().case(id).await {
        Ok(Some(row)) if door::is_public(&row) => Ok(row),
        Ok(_) => Err(not_found()),
        Err(error) => Err(Error::from_problem(format, error.into())),
    }
}

/// Names of categories and departments, read once per response.
struct Names {
    categories: BTreeMap<String, String>,
    departments: BTreeMap<String, String>,
}

async fn names(state: &AppState, format: Format) -> Result311<Names> {
    let categories = door::services(state.store())
        .await
        .map_err(|p| Error::from_problem(format, p))?
        .into_iter()
        .map(|c| (c.code.as_str().to_owned(), c.name))
        .collect();
    let departments = state
        .store()
        .departments(None)
        .await
        .map_err(|e| Error::from_problem(format, e.into()))?
        .into_iter()
        .map(|d| (d.id.as_str().to_owned(), d.name))
        .collect();
    Ok(Names {
        categories,
        departments,
    })
}

async fn request_node(
    state: &AppState,
    format: Format,
    row: &CaseRow,
    names: &Names,
    base: &str,
    extensions: bool,
) -> Result311<Node> {
    let photos = state
        .store()
        .case_media(row.id)
        .await
        .map_err(|e| Error::from_problem(format, e.into()))?;
    let media_url = photos
        .iter()
        .find(|m| m.public)
        .map(|m| format!("{base}/api/v1/public/media/{}", m.id));
    let mut fields = vec![
        ("service_request_id", Node::text(row.id.to_string())),
        ("status", Node::text(door::open311_status(row))),
        ("status_notes", Node::text(door::status_note(&row.status))),
        (
            "service_name",
            Node::opt(names.categories.get(&row.category).cloned()),
        ),
        ("service_code", Node::text(&row.category)),
        (
            "description",
            Node::text(door::public_text(&row.description)),
        ),
        (
            "agency_responsible",
            Node::opt(row.lead_department.as_ref().map(|d| {
                names
                    .departments
                    .get(d.as_str())
                    .cloned()
                    .unwrap_or_else(|| d.as_str().to_owned())
            })),
        ),
        ("service_notice", Node::Null),
        ("requested_datetime", Node::text(rfc3339(row.created_at))),
        ("updated_datetime", Node::text(rfc3339(row.updated_at))),
        (
            "expected_datetime",
            Node::opt(row.open.then_some(row.due_at).flatten().map(rfc3339)),
        ),
        (
            "address",
            Node::opt(row.address.as_deref().map(door::public_text)),
        ),
        (
            "address_id",
            Node::opt(row.area_path.last().map(|a| a.as_str().to_owned())),
        ),
        ("zipcode", Node::Null),
        ("lat", row.lat.map_or(Node::Null, Node::Num)),
        ("long", row.lon.map_or(Node::Null, Node::Num)),
        ("media_url", Node::opt(media_url)),
    ];
    if extensions {
        let steps = door::public_steps(state.store(), row.id)
            .await
            .map_err(|p| Error::from_problem(format, p))?;
        let notes = steps
            .into_iter()
            .map(|step| {
                Node::obj(vec![
                    ("datetime", Node::text(rfc3339(step.at))),
                    ("action", Node::text(step.action)),
                    ("note", Node::opt(step.note)),
                ])
            })
            .collect();
        fields.push((
            "extended_attributes",
            Node::obj(vec![
                ("status_detail", Node::text(&row.status)),
                (
                    "fixmystreet_status",
                    Node::text(door::fixmystreet_status(row)),
                ),
                (
                    "area_path",
                    Node::List(
                        "area_code",
                        row.area_path
                            .iter()
                            .map(|a| Node::text(a.as_str()))
                            .collect(),
                    ),
                ),
                ("notes", Node::List("note", notes)),
            ]),
        ));
    }
    Ok(Node::obj(fields))
}

fn parse_date(format: Format, field: &str, text: &str) -> Result311<DateTime<Utc>> {
    crate::cases::parse_instant("date", text).map_err(|_| {
        Error::bad(
            format,
            format!("{field}: {text:?} is not a W3C datetime with an offset, e.g. 2026-11-29T08:00:00+08:00"),
        )
    })
}

fn parse_positive(
    format: Format,
    field: &str,
    text: Option<&String>,
    default: u32,
) -> Result311<u32> {
    match text {
        None => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| Error::bad(format, format!("{field}: must be a whole number ≥ 1"))),
    }
}

async fn requests(
    state: &AppState,
    format: Format,
    params: &BTreeMap<String, String>,
    headers: &HeaderMap,
) -> Result311<Response> {
    let names = names(state, format).await?;
    let base = door::base_url(headers);
    let extensions = params.get("extensions").is_some_and(|e| e == "true");
    // service_request_id overrides every other parameter.
    if let Some(ids) = params.get("service_request_id") {
        let mut nodes = Vec::new();
        for id in ids.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let row = public_case(state, format, id).await?;
            nodes.push(request_node(state, format, &row, &names, &base, extensions).await?);
        }
        return Ok(respond(
            format,
            StatusCode::OK,
            "service_requests",
            Node::List("request", nodes),
        ));
    }
    let mut query = CaseQuery {
        channels: door::PUBLIC_CHANNELS
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        ..Default::default()
    };
    if let Some(codes) = params.get("service_code") {
        query.categories = codes
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
    }
    let start = params
        .get("start_date")
        .map(|t| parse_date(format, "start_date", t))
        .transpose()?;
    let end = params
        .get("end_date")
        .map(|t| parse_date(format, "end_date", t))
        .transpose()?;
    query.updated_from = params
        .get("updated_after")
        .map(|t| parse_date(format, "updated_after", t))
        .transpose()?;
    query.updated_to = params
        .get("updated_before")
        .map(|t| parse_date(format, "updated_before", t))
        .transpose()?;
    let window = Duration::days(DEFAULT_WINDOW_DAYS);
    let (from, to) = match (start, end) {
        (Some(from), Some(to)) => (from, to),
        (Some(from), None) => (from, from + window),
        (None, Some(to)) => (to - window, to),
        (None, None) if query.updated_from.is_some() || query.updated_to.is_some() => {
            (DateTime::<Utc>::MIN_UTC, state.now() + Duration::days(1))
        }
        (None, None) => (state.now() - window, state.now() + Duration::seconds(1)),
    };
    if from > to {
        return Err(Error::bad(format, "start_date: must not be after end_date"));
    }
    query.created_from = Some(from);
    query.created_to = Some(to);
    if let Some(status) = params.get("status") {
        let wanted: Vec<&str> = status.split(',').map(str::trim).collect();
        if let Some(bad) = wanted.iter().find(|s| !matches!(**s, "open" | "closed")) {
            return Err(Error::bad(
                format,
                format!("status: {bad:?} is neither open nor closed"),
            ));
        }
        match (wanted.contains(&"open"), wanted.contains(&"closed")) {
            (true, false) => query.open_only = true,
            (false, true) => query.closed_only = true,
            _ => {}
        }
    }
    let page = parse_positive(format, "page", params.get("page"), 1)?;
    let page_size = parse_positive(
        format,
        "page_size",
        params.get("page_size"),
        REQUESTS_PAGE_MAX,
    )?;
    if page_size > REQUESTS_PAGE_MAX {
        return Err(Error::bad(
            format,
            format!("page_size: at most {REQUESTS_PAGE_MAX}"),
        ));
    }
    query.limit = page_size;
    query.offset = (page - 1).saturating_mul(page_size);
    let rows = state
        .store()
        .cases(&query)
        .await
        .map_err(|e| Error::from_problem(format, e.into()))?;
    let mut nodes = Vec::with_capacity(rows.len());
    for row in &rows {
        nodes.push(request_node(state, format, row, &names, &base, extensions).await?);
    }
    Ok(respond(
        format,
        StatusCode::OK,
        "service_requests",
        Node::List("request", nodes),
    ))
}

/// `GET /open311/v2/requests/{id}.{fmt}`.
pub async fn one_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result311<Response> {
    let (id, format) = split(&file)?;
    let params = checked_params(&state, format, query.as_deref()).await?;
    let row = public_case(&state, format, id).await?;
    let names = names(&state, format).await?;
    let extensions = params.get("extensions").is_some_and(|e| e == "true");
    let node = request_node(
        &state,
        format,
        &row,
        &names,
        &door::base_url(&headers),
        extensions,
    )
    .await?;
    Ok(respond(
        format,
        StatusCode::OK,
        "service_requests",
        Node::List("request", vec![node]),
    ))
}

/// `GET /open311/v2/tokens/{token}.{fmt}`.
pub async fn token(State(state): State<AppState>, Path(file): Path<String>) -> Result311<Response> {
    let (token, format) = split(&file)?;
    let found = state
        .store()
        .case_by_token(token)
        .await
        .map_err(|e| Error::from_problem(format, e.into()))?;
    let Some(id) = found else {
        return Err(Error::not_found(
            format,
            format!("token {token:?} not found"),
        ));
    };
    Ok(respond(
        format,
        StatusCode::OK,
        "service_requests",
        Node::List(
            "request",
            vec![Node::obj(vec![
                ("service_request_id", Node::text(id.to_string())),
                ("token", Node::text(token)),
            ])],
        ),
    ))
}

/// FixMyStreet's `GET servicerequestupdates`: the public steps of public
/// requests between `start_date` and `end_date` (default: the last day).
async fn updates(
    state: &AppState,
    format: Format,
    params: &BTreeMap<String, String>,
) -> Result311<Response> {
    let to = params
        .get("end_date")
        .map(|t| parse_date(format, "end_date", t))
        .transpose()?
        .unwrap_or_else(|| state.now() + Duration::seconds(1));
    let from = params
        .get("start_date")
        .map(|t| parse_date(format, "start_date", t))
        .transpose()?
        .unwrap_or(to - Duration::days(1));
    if from > to {
        return Err(Error::bad(format, "start_date: must not be after end_date"));
    }
    let events = state
        .store()
        .events_between(from, to)
        .await
        .map_err(|e| Error::from_problem(format, e.into()))?;
    // Per public case: FixMyStreet's status after each step of its history.
    let mut cases: BTreeMap<i64, Option<BTreeMap<u64, &'static str>>> = BTreeMap::new();
    let mut nodes = Vec::new();
    for event in events {
        if !door::is_public_step(&event.kind) {
            continue;
        }
        if let std::collections::btree_map::Entry::Vacant(slot) = cases.entry(event.case_id) {
            slot.insert(fixmystreet_statuses(state, format, event.case_id).await?);
        }
        let Some(Some(statuses)) = cases.get(&event.case_id) else {
            continue;
        };
        let note = door::public_note_of(&event);
        let status = statuses.get(&event.seq).copied().unwrap_or("OPEN");
        nodes.push(Node::obj(vec![
            (
                "update_id",
                Node::text(format!("{}-{}", event.case_id, event.seq)),
            ),
            ("service_request_id", Node::text(event.case_id.to_string())),
            ("status", Node::text(status)),
            ("updated_datetime", Node::text(rfc3339(event.at))),
            (
                "description",
                Node::text(
                    note.unwrap_or_else(|| door::status_note(step_state(&event.kind)).to_owned()),
                ),
            ),
            ("media_url", Node::Null),
            ("external_status_code", Node::text(&event.kind)),
        ]));
    }
    Ok(respond(
        format,
        StatusCode::OK,
        "service_request_updates",
        Node::List("request_update", nodes),
    ))
}

/// FixMyStreet's status after each step of a public case's history;
/// `None` for a case the door does not show.
async fn fixmystreet_statuses(
    state: &AppState,
    format: Format,
    case_id: i64,
) -> Result311<Option<BTreeMap<u64, &'static str>>> {
    let row = state
        .store()
        .case(case_id)
        .await
        .map_err(|e| Error::from_problem(format, e.into()))?
        .filter(door::is_public);
    if row.is_none() {
        return Ok(None);
    }
    let history = state
        .store()
        .case_events(case_id)
        .await
        .map_err(|e| Error::from_problem(format, e.into()))?;
    let mut status = "OPEN";
    Ok(Some(
        history
            .iter()
            .map(|step| {
                let rework = step.kind == "checked"
                    && matches!(
                        cityloop_cases::codec::decode_event(&step.kind, &step.payload),
                        Ok(cityloop_workflow::Event::Checked { passed: false, .. })
                    );
                if rework {
                    status = "IN_PROGRESS";
                } else if let Some(next) = step_status(&step.kind) {
                    status = next;
                }
                (step.seq, status)
            })
            .collect(),
    ))
}

/// The status a step leaves a case in, for its public note.
fn step_state(kind: &str) -> &'static str {
    match kind {
        "created" => "reported",
        "verified" => "verified",
        "accepted" => "accepted",
        "registered" => "registered",
        "dispatched" | "sub_dispatched" | "arbitrated" => "dispatched",
        "returned" => "returned",
        "signed" | "resumed" | "noted" | "extension_decided" => "handling",
        "hung" => "hung",
        "replied" => "replied",
        "reviewed" => "checking",
        "checked" => "callback",
        "rated" | "judged" => "follow_up",
        "closed" | "self_handled" => "closed",
        "declined" => "declined",
        "voided" => "voided",
        "merged" => "merged",
        _ => "",
    }
}

/// FixMyStreet's status after a step; `None` for steps that leave it
/// (comments, ratings, urging, SLA events).
fn step_status(kind: &str) -> Option<&'static str> {
    match (kind, step_state(kind)) {
        // A rating leaves the status to what follows it (closing or a follow-up).
        ("rated", _) | (_, "") => None,
        (_, state) => Some(door::fixmystreet_status_of(state)),
    }
}

/// Issues an Open311 client its API key (returned once; only its SHA-256
/// is stored). The grant is a leaf of the transparency log: which client
/// may file reports, since when (the key itself is never logged).
pub async fn issue_api_key(
    store: &dyn cityloop_store::Store,
    name: &str,
    now: DateTime<Utc>,
) -> Result<String, crate::problem::Problem> {
    let name = name.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(crate::problem::Problem::invalid(
            "name",
            "a client name is 1–64 letters, digits, '-', '_' or '.'",
        ));
    }
    let key = format!("o311_{}", uuid::Uuid::new_v4().simple());
    let hash = cityloop_transparency::sha256_hex(key.as_bytes());
    let leaf = cityloop_transparency::Leaf::new(
        now,
        cityloop_transparency::Record::Config {
            by: cityloop_transparency::Actor {
                role: Some("admin".into()),
                ..Default::default()
            },
            setting: "open311_clients".into(),
            change: format!("API key issued to Open311 client {name}"),
            sha256: cityloop_transparency::sha256_hex(name.as_bytes()),
        },
    );
    store
        .create_api_key(
            cityloop_store::ApiKeyRecord {
                key_sha256: hash,
                name: name.to_owned(),
                created_at: now,
                revoked_at: None,
            },
            vec![leaf.input()],
        )
        .await?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_tree_gives_both_formats() {
        let node = Node::List(
            "request",
            vec![Node::obj(vec![
                ("service_request_id", Node::text("12")),
                ("description", Node::text("a < b & \"c\"\u{1}")),
                ("lat", Node::Num(31.25)),
                ("account_id", Node::Null),
            ])],
        );
        let mut xml = String::new();
        node.write_xml("service_requests", &mut xml);
        assert_eq!(
            xml,
            "<service_requests><request><service_request_id>12</service_request_id>\
             <description>a &lt; b &amp; &quot;c&quot;</description><lat>31.25</lat>\
             <account_id/></request></service_requests>"
        );
        assert_eq!(
            node.to_json(),
            serde_json::json!([{"service_request_id": "12", "description": "a < b & \"c\"\u{1}",
                "lat": 31.25, "account_id": null}])
        );
    }

    #[test]
    fn the_format_comes_from_the_extension() {
        assert_eq!(split("requests.json").unwrap(), ("requests", Format::Json));
        assert_eq!(split("12.xml").unwrap(), ("12", Format::Xml));
        assert_eq!(split("requests").unwrap_err().status, StatusCode::NOT_FOUND);
        assert_eq!(
            split("requests.csv").unwrap_err().status,
            StatusCode::NOT_FOUND
        );
    }
}
