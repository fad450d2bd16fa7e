//! Perception over HTTP: a datastream in Putuo, hourly PM2.5 posted in
//! bulk; a breach sustained for the rule's two hours opens exactly one
//! case routed to the rule's department; redelivery changes nothing; the
//! clearing and a second breach are recorded on the same case; a silent
//! device goes offline; who may do what.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Duration, Utc};
use common::TestApp;
use serde_json::{Value, json};
use tower::ServiceExt;

fn hour(h: i64) -> String {
    (DateTime::parse_from_rfc3339("2026-11-30T08:00:00+08:00").unwrap() + Duration::hours(h))
        .to_rfc3339()
}

fn batch(stream: i64, readings: &[(i64, f64)]) -> Value {
    json!({"observations": readings.iter().map(|(h, v)| json!({
        "datastream": stream, "phenomenon_time": hour(*h), "result": v})).collect::<Vec<_>>()})
}

async fn post(app: &TestApp, user: &str, body: Value) -> (StatusCode, Value) {
    app.call(
        "POST",
        "/api/v1/sensors/observations",
        Some(user),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn a_sustained_breach_opens_one_case_and_its_clearing_is_recorded_on_it() {
    let app = TestApp::spawn().await;
    let (status, stream) = app
        .call(
            "POST",
            "/api/v1/sensors/datastreams",
            Some("operator"),
            Some(
                json!({"name": "PM2.5 长寿路", "thing": "aq-310107-01", "property": "pm25",
                "unit": "µg/m³", "period_minutes": 60, "lon": 121.435, "lat": 31.247}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{stream}");
    assert_eq!(stream["area_path"], json!(["310000", "310107"]));
    let id = stream["id"].as_i64().unwrap();

    // 60, 80, 120: the 80 and 120 make two hours above 75.
    let (status, report) = post(
        &app,
        "admin",
        batch(id, &[(0, 60.0), (1, 80.0), (2, 120.0)]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["stored"], 3);
    assert_eq!(report["alarms_raised"].as_array().unwrap().len(), 1);
    let cases = report["cases_opened"].as_array().unwrap().clone();
    assert_eq!(cases.len(), 1, "{report}");
    let case_id = cases[0].as_i64().unwrap();

    // At-least-once delivery: the same batch again changes nothing.
    let (_, again) = post(
        &app,
        "admin",
        batch(id, &[(0, 60.0), (1, 80.0), (2, 120.0)]),
    )
    .await;
    assert_eq!(again["stored"], 0);
    assert_eq!(again["duplicates"], 3);
    assert_eq!(again["cases_opened"], json!([]));
    assert_eq!(again["alarms_raised"], json!([]));

    // The case: the sensor channel, the rule's category and department.
    let (_, case) = app
        .get(&format!("/api/v1/cases/{case_id}"), Some("operator"))
        .await;
    assert_eq!(case["channel"], "sensor");
    assert_eq!(case["category"], "AQ01");
    assert_eq!(case["routed_department"], "310107-sthj");
    assert_eq!(case["area_path"], json!(["310000", "310107"]));
    assert!(
        case["description"]
            .as_str()
            .unwrap()
            .contains("pm25 > 75 for 120 min"),
        "{case}"
    );

    // One hour back to 40 is a dip (the rule clears after two normal hours).
    let (_, report) = post(&app, "operator", batch(id, &[(3, 40.0)])).await;
    assert_eq!(report["alarms_cleared"], json!([]));
    // A second normal hour: cleared, and recorded on the case.
    let (_, report) = post(&app, "operator", batch(id, &[(4, 30.0)])).await;
    assert_eq!(report["alarms_cleared"].as_array().unwrap().len(), 1);
    // Two more hours above 75: raised again, added to the same open case.
    let (_, report) = post(&app, "operator", batch(id, &[(5, 90.0), (6, 100.0)])).await;
    assert_eq!(report["alarms_raised"].as_array().unwrap().len(), 1);
    assert_eq!(report["cases_opened"], json!([]), "{report}");
    let (_, case) = app
        .get(&format!("/api/v1/cases/{case_id}"), Some("operator"))
        .await;
    let alarmed: Vec<(bool, String)> = case["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "alarmed")
        .map(|e| {
            (
                e["data"]["cleared"].as_bool().unwrap(),
                e["data"]["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(alarmed.len(), 2, "{case}");
    assert!(alarmed[0].0 && alarmed[0].1.contains("30"), "{alarmed:?}");
    assert!(!alarmed[1].0 && alarmed[1].1.contains("for 120 min"));

    // Alarms: staff see them; acknowledging is once.
    let (status, alarms) = app
        .get("/api/v1/sensors/alarms?active=true", Some("operator"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let alarms = alarms.as_array().unwrap();
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0]["state"], "active");
    assert_eq!(alarms[0]["case_id"], case_id);
    let alarm = alarms[0]["id"].as_i64().unwrap();
    let uri = format!("/api/v1/sensors/alarms/{alarm}/acknowledge");
    let (status, acknowledged) = app.call("POST", &uri, Some("operator"), None).await;
    assert_eq!(status, StatusCode::OK, "{acknowledged}");
    assert_eq!(acknowledged["state"], "acknowledged");
    assert_eq!(
        app.call("POST", &uri, Some("operator"), None).await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.call("POST", &uri, Some("handler"), None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/api/v1/sensors/alarms", Some("citizen")).await.0,
        StatusCode::FORBIDDEN
    );

    // The series is public, oldest first.
    let (status, series) = app
        .get(
            &format!("/api/v1/sensors/datastreams/{id}/observations?limit=3&offset=1"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let values: Vec<f64> = series
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["result"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [80.0, 120.0, 40.0]);
    // Downsampled for charts: two-hour buckets (hour 0 is 00:00 UTC).
    let (status, buckets) = app
        .get(
            &format!(
                "/api/v1/sensors/datastreams/{id}/series?from={}&to={}&bucket_minutes=120",
                hour(0).replace('+', "%2B"),
                hour(7).replace('+', "%2B")
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{buckets}");
    let means: Vec<f64> = buckets
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["mean"].as_f64().unwrap())
        .collect();
    assert_eq!(means, [70.0, 80.0, 60.0, 100.0]);
    assert_eq!(buckets[0]["max"], 80.0);
    assert_eq!(buckets[3]["count"], 1);
    let (status, problem) = app
        .get(
            &format!("/api/v1/sensors/datastreams/{id}/series?bucket_minutes=0"),
            None,
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bucket_minutes"))
    );

    // Silent for three hours after the last reading: offline (no case).
    let last: DateTime<Utc> = DateTime::parse_from_rfc3339(&hour(6))
        .unwrap()
        .with_timezone(&Utc);
    let perception = app.state.perception().unwrap();
    assert!(
        perception
            .tick(last + Duration::minutes(170))
            .await
            .unwrap()
            .raised
            .is_empty()
    );
    let report = perception
        .tick(last + Duration::minutes(180))
        .await
        .unwrap();
    assert_eq!(report.raised.len(), 1);
    assert!(
        perception.carry().await.unwrap().is_empty(),
        "the offline rule names no case"
    );
    let offline = app
        .state
        .store()
        .alarm(report.raised[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(offline.rule, "device-offline");
}

#[tokio::test]
async fn bad_batches_name_the_field_and_only_gateways_and_operators_post() {
    let app = TestApp::spawn().await;
    let (_, stream) = app
        .call(
            "POST",
            "/api/v1/sensors/datastreams",
            Some("admin"),
            Some(
                json!({"name": "PM2.5", "thing": "aq-1", "property": "pm25", "unit": "µg/m³",
                "period_minutes": 60, "lon": 121.435, "lat": 31.247}),
            ),
        )
        .await;
    let id = stream["id"].as_i64().unwrap();
    for (body, field) in [
        (batch(999_999, &[(0, 1.0)]), "datastream"),
        (
            json!({"observations": [{"datastream": id, "phenomenon_time": "yesterday", "result": 1}]}),
            "observations[0].phenomenon_time",
        ),
        (
            json!({"observations": [{"datastream": id, "phenomenon_time": hour(0), "result": "high"}]}),
            "observations[0].result",
        ),
    ] {
        let (status, problem) = post(&app, "admin", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    for (body, field) in [
        (
            json!({"name": "x", "thing": "t", "property": "pm 2.5", "unit": "u", "period_minutes": 60, "lon": 121.435, "lat": 31.247}),
            "property",
        ),
        (
            json!({"name": "x", "thing": "t", "property": "pm25", "unit": "u", "period_minutes": 60, "lon": 100.0, "lat": 31.247}),
            "lon",
        ),
    ] {
        let (status, problem) = app
            .call(
                "POST",
                "/api/v1/sensors/datastreams",
                Some("admin"),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    // Nothing of the refused batches was stored.
    let (_, series) = app
        .get(
            &format!("/api/v1/sensors/datastreams/{id}/observations"),
            None,
        )
        .await;
    assert_eq!(series, json!([]));

    let body = batch(id, &[(0, 10.0)]);
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/sensors/observations",
            None,
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        post(&app, "handler", body.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call(
            "POST",
            "/api/v1/sensors/datastreams",
            Some("citizen"),
            Some(json!({"name": "x", "thing": "t",
            "property": "pm25", "unit": "u", "period_minutes": 60, "lon": 121.435, "lat": 31.247}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    // A gateway's key.
    let key =
        cityloop_api::open311::issue_api_key(app.state.store(), "gateway-putuo", app.state.now())
            .await
            .unwrap();
    let send = |key: &str| {
        Request::builder()
            .method("POST")
            .uri("/api/v1/sensors/observations")
            .header("content-type", "application/json")
            .header("x-api-key", key)
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let response = app.router.clone().oneshot(send(&key)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .router
        .clone()
        .oneshot(send("o311_wrong"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn vital_signs_show_air_quality_sensors_online_alarms_and_cases_by_district() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for (name, lon) in [("A", 121.435), ("B", 121.436)] {
        let (_, stream) = app
            .call(
                "POST",
                "/api/v1/sensors/datastreams",
                Some("admin"),
                Some(
                    json!({"name": name, "thing": name, "property": "pm25", "unit": "µg/m³",
                    "period_minutes": 60, "lon": lon, "lat": 31.247}),
                ),
            )
            .await;
        ids.push(stream["id"].as_i64().unwrap());
    }
    // Sensor A: 60, 80, 80 in the last three hours; sensor B never speaks.
    let now = Utc::now();
    let at = |hours: i64| (now - Duration::hours(hours)).to_rfc3339();
    let body = json!({"observations": [
        {"datastream": ids[0], "phenomenon_time": at(3), "result": 60},
        {"datastream": ids[0], "phenomenon_time": at(2), "result": 80},
        {"datastream": ids[0], "phenomenon_time": at(1), "result": 80}]});
    let (status, report) = post(&app, "admin", body).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["cases_opened"].as_array().unwrap().len(), 1);

    let (status, signs) = app.get("/api/v1/vital-signs", None).await;
    assert_eq!(status, StatusCode::OK, "{signs}");
    let area = |code: &str| {
        signs["areas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["code"] == code)
            .unwrap_or_else(|| panic!("no {code} in {signs}"))
            .clone()
    };
    let indicator = |area: &Value, name: &str| {
        area["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(signs["areas"][0]["code"], "310000", "the city first");
    assert_eq!(signs["areas"].as_array().unwrap().len(), 17);
    let putuo = area("310107");
    let air = indicator(&putuo, "air_quality");
    assert_eq!(air["value"], 106.3, "PM2.5 80 → index 106.25");
    assert_eq!(
        (air["status"].as_str(), air["note"].as_str()),
        (Some("yellow"), Some("轻度污染"))
    );
    let online = indicator(&putuo, "sensors_online");
    assert_eq!(
        (online["value"].as_f64(), online["status"].as_str()),
        (Some(50.0), Some("red"))
    );
    assert_eq!(indicator(&putuo, "alarms_major")["value"], 1.0);
    assert!(indicator(&putuo, "cases_open")["value"].as_f64().unwrap() >= 1.0);
    let huangpu = area("310101");
    assert!(indicator(&huangpu, "air_quality")["value"].is_null());
    assert_eq!(indicator(&huangpu, "air_quality")["status"], "grey");
    assert_eq!(indicator(&huangpu, "alarms_major")["value"], 0.0);
    let city = area("310000");
    assert_eq!(indicator(&city, "air_quality")["value"], 106.3);

    let (status, only_city) = app.get("/api/v1/vital-signs?by=city", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(only_city["areas"].as_array().unwrap().len(), 1);
    let (status, problem) = app.get("/api/v1/vital-signs?by=street", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["field"], "by");
}

#[tokio::test]
async fn rules_are_replaced_by_an_admin_and_take_effect_at_once() {
    let app = TestApp::spawn().await;
    let (_, stream) = app
        .call(
            "POST",
            "/api/v1/sensors/datastreams",
            Some("admin"),
            Some(
                json!({"name": "Noise", "thing": "n-1", "property": "noise", "unit": "dB(A)",
                "period_minutes": 0, "lon": 121.435, "lat": 31.247}),
            ),
        )
        .await;
    let id = stream["id"].as_i64().unwrap();
    let (status, rules) = app.get("/api/v1/sensors/rules", Some("operator")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["property"] == "pm25")
    );
    // No noise rule yet: a loud reading raises nothing.
    let (_, report) = post(&app, "admin", batch(id, &[(0, 80.0)])).await;
    assert_eq!(report["alarms_raised"], json!([]));

    let noise = json!([{"id": "noise-night", "name": "夜间噪声超标", "property": "noise",
        "when": {"threshold": {"op": ">", "value": 55}}, "severity": "minor",
        "case": {"category": "06028"}}]);
    for (user, expected) in [
        ("operator", StatusCode::FORBIDDEN),
        ("admin", StatusCode::OK),
    ] {
        let (status, body) = app
            .call(
                "PUT",
                "/api/v1/sensors/rules",
                Some(user),
                Some(noise.clone()),
            )
            .await;
        assert_eq!(status, expected, "{user}: {body}");
    }
    let (_, report) = post(&app, "admin", batch(id, &[(1, 70.0)])).await;
    assert_eq!(
        report["alarms_raised"].as_array().unwrap().len(),
        1,
        "{report}"
    );
    assert_eq!(
        report["cases_opened"].as_array().unwrap().len(),
        1,
        "噪声扰民 opens a case"
    );

    let bad = json!([{"id": "x", "name": "x", "property": "noise",
        "when": {"missing": {"silent_minutes": 0}}, "severity": "minor"}]);
    let (status, problem) = app
        .call("PUT", "/api/v1/sensors/rules", Some("admin"), Some(bad))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        problem["field"], "x.when.missing.silent_minutes",
        "{problem}"
    );
    let (_, rules) = app.get("/api/v1/sensors/rules", Some("operator")).await;
    assert_eq!(
        rules[0]["id"], "noise-night",
        "a refused change changes nothing"
    );
    // Kept in the store: a restart reads them back.
    let reopened = cityloop_perception::Perception::open(
        app.state.cases_arc(),
        cityloop_perception::shipped_rules(),
    )
    .await
    .unwrap();
    assert_eq!(reopened.rules()[0].id, "noise-night");
}

#[tokio::test]
async fn alarms_queued_before_a_restart_are_carried_into_cases_after_it() {
    let app = TestApp::spawn().await;
    let (status, stream) = app
        .call(
            "POST",
            "/api/v1/sensors/datastreams",
            Some("operator"),
            Some(
                json!({"name": "PM2.5 甘泉", "thing": "aq-310107-09", "property": "pm25",
                "unit": "µg/m³", "period_minutes": 60, "lon": 121.435, "lat": 31.247}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{stream}");
    let id = stream["id"].as_i64().unwrap();
    let at = |h: i64| {
        DateTime::parse_from_rfc3339(&hour(h))
            .unwrap()
            .with_timezone(&Utc)
    };
    // Ingestion records the alarm and queues its case work, and the
    // process stops before the work is done.
    let report = app
        .state
        .perception()
        .unwrap()
        .ingest(
            vec![(id, at(0), 90.0), (id, at(1), 95.0), (id, at(2), 99.0)],
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(report.raised.len(), 1);
    let alarm = report.raised[0];
    assert_eq!(
        app.state
            .store()
            .alarm(alarm)
            .await
            .unwrap()
            .unwrap()
            .case_id,
        None
    );
    // A new process over the same store does it.
    let restarted = cityloop_perception::Perception::open(
        app.state.cases_arc(),
        cityloop_perception::shipped_rules(),
    )
    .await
    .unwrap();
    let opened = restarted.carry().await.unwrap();
    assert_eq!(opened.len(), 1);
    assert_eq!(
        app.state
            .store()
            .alarm(alarm)
            .await
            .unwrap()
            .unwrap()
            .case_id,
        Some(opened[0])
    );
    assert!(
        restarted.carry().await.unwrap().is_empty(),
        "done once: nothing is carried twice"
    );
}

#[tokio::test]
async fn vital_signs_are_sampled_into_history_against_thresholds_an_admin_sets() {
    let app = TestApp::spawn().await;
    let (_, stream) = app
        .call(
            "POST",
            "/api/v1/sensors/datastreams",
            Some("admin"),
            Some(
                json!({"name": "A", "thing": "A", "property": "pm25", "unit": "µg/m³",
                        "period_minutes": 60, "lon": 121.435, "lat": 31.247}),
            ),
        )
        .await;
    let id = stream["id"].as_i64().unwrap();
    let now = Utc::now();
    let body = json!({"observations": [
        {"datastream": id, "phenomenon_time": (now - Duration::minutes(30)).to_rfc3339(), "result": 80}]});
    assert_eq!(post(&app, "admin", body).await.0, StatusCode::OK);
    let samples = cityloop_api::vital::sample(&app.state).await.unwrap();
    assert_eq!(
        samples,
        17 * 7,
        "every indicator of the city and its 16 districts"
    );

    let (status, history) = app
        .get(
            "/api/v1/vital-signs/history?area=310107&indicator=air_quality",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert_eq!(history[0]["value"], 106.3);
    assert_eq!(history[0]["status"], "yellow");

    // An administrator makes air quality red from an index of 100.
    let (_, mut thresholds) = app.get("/api/v1/vital-signs/thresholds", None).await;
    thresholds[0]["red"] = json!(100);
    let (status, _) = app
        .call(
            "PUT",
            "/api/v1/vital-signs/thresholds",
            Some("operator"),
            Some(thresholds.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .call(
            "PUT",
            "/api/v1/vital-signs/thresholds",
            Some("admin"),
            Some(thresholds.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, signs) = app.get("/api/v1/vital-signs", None).await;
    let putuo = signs["areas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "310107")
        .unwrap();
    assert_eq!(putuo["indicators"][0]["name"], "air_quality");
    assert_eq!(putuo["indicators"][0]["status"], "red");
    assert_eq!(putuo["indicators"][0]["thresholds"], "red above 100");

    // Bad thresholds and bad history queries name the field.
    thresholds[1]["red"] = json!(95);
    let (status, problem) = app
        .call(
            "PUT",
            "/api/v1/vital-signs/thresholds",
            Some("admin"),
            Some(thresholds),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["field"], "[1].red");
    let (status, problem) = app
        .get(
            "/api/v1/vital-signs/history?area=310107&indicator=happiness",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["field"], "indicator");
}
