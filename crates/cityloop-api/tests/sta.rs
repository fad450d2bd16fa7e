//! OGC SensorThings API 1.1 over HTTP: a station created by deep insert,
//! observations posted one by one open exactly one case through the
//! alarm rules; query options and paging; who may write; errors as JSON.
//! (A client library from PyPI runs against the demo in
//! `crates/cityloop/tests/cli.rs`.)

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use common::TestApp;
use serde_json::{Value, json};
use tower::ServiceExt;

/// Sends a request with an optional raw Authorization header; returns
/// status, Location header and JSON body.
async fn send(
    app: &TestApp,
    method: &str,
    uri: &str,
    authorization: Option<String>,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "sta.test");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        location,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn basic_key(app: &TestApp) -> String {
    let key = cityloop_api::open311::issue_api_key(app.state.store(), "gateway", app.state.now())
        .await
        .unwrap();
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("gateway:{key}"))
    )
}

fn station(name: &str, lon: f64, lat: f64) -> Value {
    json!({
        "name": name, "description": "空气质量监测站", "properties": {"owner": "普陀区生态环境局"},
        "Locations": [{"name": name, "description": "站点", "encodingType": "application/geo+json",
                       "location": {"type": "Point", "coordinates": [lon, lat]}}],
        "Datastreams": [{
            "name": format!("{name} PM2.5"), "description": "hourly PM2.5",
            "unitOfMeasurement": {"name": "microgram per cubic metre", "symbol": "µg/m³", "definition": "ucum:ug/m3"},
            "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "properties": {"period_minutes": 60},
            "Sensor": {"name": "β-ray monitor", "description": "BAM-1020", "encodingType": "text/plain", "metadata": "-"},
            "ObservedProperty": {"name": "PM2.5", "definition": "http://dd.eionet.europa.eu/vocabulary/aq/pollutant/6001",
                                 "description": "fine particulate matter"}
        }]
    })
}

fn id_of(location: &str) -> i64 {
    let inner = location.rsplit('(').next().unwrap().trim_end_matches(')');
    inner.parse().unwrap()
}

fn at(hour: i64) -> String {
    format!("2026-11-30T{:02}:00:00+08:00", 8 + hour)
}

#[tokio::test]
async fn observations_posted_through_sensorthings_open_one_case_routed_by_the_rule() {
    let app = TestApp::spawn().await;
    let key = basic_key(&app).await;
    let (status, location, thing) = send(
        &app,
        "POST",
        "/sta/v1.1/Things",
        Some(key.clone()),
        Some(station("长寿路站", 121.435, 31.247)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{thing}");
    let location = location.expect("a Location header");
    assert!(
        location.starts_with("http://sta.test/sta/v1.1/Things("),
        "absolute: {location}"
    );
    let thing_id = id_of(&location);
    let (_, _, streams) = send(
        &app,
        "GET",
        &format!("/sta/v1.1/Things({thing_id})/Datastreams"),
        None,
        None,
    )
    .await;
    let stream = streams["value"][0]["@iot.id"].as_i64().unwrap();

    // 60, 80, 120 µg/m³: two hours above 75 breach the Putuo rule.
    let mut ids = Vec::new();
    for (hour, value) in [(0, 60.0), (1, 80.0), (2, 120.0)] {
        let (status, location, body) = send(
            &app,
            "POST",
            &format!("/sta/v1.1/Datastreams({stream})/Observations"),
            Some(key.clone()),
            Some(json!({"phenomenonTime": at(hour), "result": value})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["result"], value);
        ids.push(id_of(&location.unwrap()));
    }
    // Redelivery is refused, not stored twice.
    let (status, _, error) = send(
        &app,
        "POST",
        "/sta/v1.1/Observations",
        Some(key.clone()),
        Some(json!({"phenomenonTime": at(2), "result": 120.0, "Datastream": {"@iot.id": stream}})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["type"], "error");

    // The rules saw them: one alarm of the Putuo rule, with one case in
    // the environment bureau's hands.
    let (_, alarms) = app.get("/api/v1/sensors/alarms", Some("operator")).await;
    let ours: Vec<&Value> = alarms
        .as_array()
        .unwrap_or_else(|| panic!("{alarms}"))
        .iter()
        .filter(|a| a["datastream"] == stream && a["rule"] == "pm25-high-putuo")
        .collect();
    assert_eq!(ours.len(), 1, "{alarms}");
    let case_id = ours[0]["case_id"]
        .as_i64()
        .expect("the alarm opened a case");
    let (_, case) = app
        .get(&format!("/api/v1/cases/{case_id}"), Some("admin"))
        .await;
    assert_eq!(case["channel"], "sensor");
    assert_eq!(case["routed_department"], "310107-sthj");

    // Its observations carry a FeatureOfInterest made from the Location.
    let (_, _, feature) = send(
        &app,
        "GET",
        &format!("/sta/v1.1/Observations({})/FeatureOfInterest", ids[0]),
        None,
        None,
    )
    .await;
    assert_eq!(feature["feature"]["coordinates"], json!([121.435, 31.247]));

    // A Datastream whose alarms are part of a case's history stays.
    let (status, _, error) = send(
        &app,
        "DELETE",
        &format!("/sta/v1.1/Things({thing_id})"),
        Some(key.clone()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("alarms"),
        "{error}"
    );
    let (status, _, _) = send(
        &app,
        "GET",
        &format!("/sta/v1.1/Datastreams({stream})"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn query_options_filter_order_expand_and_page() {
    let app = TestApp::spawn().await;
    let key = basic_key(&app).await;
    for (name, lon, lat) in [("甲站", 121.435, 31.247), ("乙站", 121.48, 31.235)] {
        let (status, _, body) = send(
            &app,
            "POST",
            "/sta/v1.1/Things",
            Some(key.clone()),
            Some(station(name, lon, lat)),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, _, streams) = send(
        &app,
        "GET",
        "/sta/v1.1/Datastreams?$filter=Thing/name%20eq%20'%E7%94%B2%E7%AB%99'",
        None,
        None,
    )
    .await;
    assert_eq!(streams["value"].as_array().unwrap().len(), 1, "{streams}");
    let stream = streams["value"][0]["@iot.id"].as_i64().unwrap();
    let rows: Vec<Value> = (0..5)
        .map(|h| json!([at(h), 10.0 * (h as f64 + 1.0)]))
        .collect();
    let (status, _, links) = send(
        &app,
        "POST",
        "/sta/v1.1/CreateObservations",
        Some(key.clone()),
        Some(
            json!([{"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"],
                     "dataArray": rows}, ]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{links}");
    assert_eq!(links.as_array().unwrap().len(), 5);
    assert!(
        links[0]
            .as_str()
            .unwrap()
            .starts_with("http://sta.test/sta/v1.1/Observations(")
    );

    // '+' as a space, upper-case DESC, $count and an absolute next link.
    let (status, _, page) = send(
        &app,
        "GET",
        &format!(
            "/sta/v1.1/Datastreams({stream})/Observations?%24filter=result+ge+20&%24orderby=result+DESC&%24top=2&%24count=true"
        ),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["@iot.count"], 4);
    let results: Vec<f64> = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["result"].as_f64().unwrap())
        .collect();
    assert_eq!(results, [50.0, 40.0]);
    let next = page["@iot.nextLink"].as_str().expect("a next link");
    assert!(next.starts_with("http://sta.test/sta/v1.1/"), "{next}");
    let (_, _, second) = send(
        &app,
        "GET",
        next.trim_start_matches("http://sta.test"),
        None,
        None,
    )
    .await;
    let results: Vec<f64> = second["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["result"].as_f64().unwrap())
        .collect();
    assert_eq!(results, [30.0, 20.0]);
    assert!(second.get("@iot.nextLink").is_none(), "{second}");

    // Time filters compare instants, whatever the offset.
    let (_, _, early) = send(
        &app,
        "GET",
        &format!(
            "/sta/v1.1/Observations?$filter=Datastream/id%20eq%20{stream}%20and%20phenomenonTime%20lt%202026-11-30T01:30:00Z"
        ),
        None,
        None,
    )
    .await;
    assert_eq!(early["value"].as_array().unwrap().len(), 2, "{early}");

    // Nested $expand with options, and $select.
    let (status, _, things) = send(
        &app,
        "GET",
        "/sta/v1.1/Things?$select=name&$expand=Datastreams($select=name;$expand=Observations($orderby=phenomenonTime%20desc;$top=1)),Locations",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{things}");
    let first = &things["value"][0];
    assert_eq!(first["name"], "甲站");
    assert!(
        first.get("description").is_none(),
        "$select keeps name only"
    );
    assert_eq!(first["Locations"][0]["location"]["type"], "Point");
    let latest = &first["Datastreams"][0]["Observations"];
    assert_eq!(latest.as_array().unwrap().len(), 1);
    assert_eq!(latest[0]["result"], 50.0);

    // Geography: st_within a polygon around Putuo finds 甲 only.
    let (_, _, within) = send(
        &app,
        "GET",
        "/sta/v1.1/Locations?$filter=st_within(location,%20geography'POLYGON((121.40%2031.22,121.46%2031.22,121.46%2031.27,121.40%2031.27,121.40%2031.22))')",
        None,
        None,
    )
    .await;
    let names: Vec<&str> = within["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["甲站"]);

    // Property paths and $value.
    let (status, _, name) = send(
        &app,
        "GET",
        &format!("/sta/v1.1/Datastreams({stream})/Thing/name"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(name, json!({"name": "甲站"}));
}

#[tokio::test]
async fn writes_need_a_key_or_an_operator_and_errors_are_json_with_a_message() {
    let app = TestApp::spawn().await;
    let body = station("丙站", 121.435, 31.247);
    let (status, _, error) = send(&app, "POST", "/sta/v1.1/Things", None, Some(body.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["code"], 401);
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("gateway:not-a-key")
    );
    let (status, _, _) = send(
        &app,
        "POST",
        "/sta/v1.1/Things",
        Some(wrong),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let handler = format!("Bearer {}", app.token("handler"));
    let (status, _, _) = send(
        &app,
        "POST",
        "/sta/v1.1/Things",
        Some(handler),
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a department handler does not register sensors"
    );
    let operator = format!("Bearer {}", app.token("operator"));
    let (status, _, _) = send(
        &app,
        "POST",
        "/sta/v1.1/Things",
        Some(operator.clone()),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // Bad input: the message names what is wrong.
    let (status, _, error) = send(
        &app,
        "POST",
        "/sta/v1.1/Things",
        Some(operator.clone()),
        Some(json!({"name": "x", "description": "y", "colour": "red"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["message"].as_str().unwrap().contains("colour"),
        "{error}"
    );
    let (status, _, error) = send(
        &app,
        "GET",
        "/sta/v1.1/Things?$filter=name%20eq",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["message"].as_str().unwrap().starts_with("$filter"),
        "{error}"
    );
    let (status, _, _) = send(&app, "GET", "/sta/v1.1/Widgets", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = send(&app, "GET", "/sta/v1.1/Things(999)", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A datastream outside the city cannot be placed.
    let (status, _, error) = send(
        &app,
        "POST",
        "/sta/v1.1/Things",
        Some(operator.clone()),
        Some(station("Berlin", 13.4, 52.5)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let (_, _, things) = send(
        &app,
        "GET",
        "/sta/v1.1/Things?$filter=name%20eq%20'Berlin'",
        None,
        None,
    )
    .await;
    assert_eq!(
        things["value"],
        json!([]),
        "nothing of the refused deep insert was kept"
    );

    // A Datastream registered through the sensors API shows up here too.
    let (status, _, _) = send(
        &app,
        "POST",
        "/api/v1/sensors/datastreams",
        Some(operator),
        Some(
            json!({"name": "PM2.5 南京东路", "thing": "aq-310101-01", "property": "pm25",
                    "unit": "µg/m³", "period_minutes": 60, "lon": 121.48, "lat": 31.235}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, _, adopted) = send(
        &app,
        "GET",
        "/sta/v1.1/Datastreams?$filter=name%20eq%20'PM2.5%20南京东路'&$expand=Thing/Locations,ObservedProperty",
        None,
        None,
    )
    .await;
    let one = &adopted["value"][0];
    assert_eq!(one["Thing"]["name"], "aq-310101-01", "{adopted}");
    assert_eq!(
        one["Thing"]["Locations"][0]["location"]["coordinates"],
        json!([121.48, 31.235])
    );
    assert_eq!(
        one["ObservedProperty"]["name"], "PM2.5",
        "the ObservedProperty the rules know as pm25 is shared"
    );
}
