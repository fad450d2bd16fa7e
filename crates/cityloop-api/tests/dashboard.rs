//! The dashboard's server side over HTTP: a topic's summary within the
//! caller's scope, tagged areas, and live events of new cases.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestApp;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn report(app: &TestApp, category: &str, lon: f64, lat: f64) -> i64 {
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/cases",
            Some("citizen"),
            Some(json!({"category": category, "lon": lon, "lat": lat,
                        "description": "路边暴露垃圾，影响通行"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["case"]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_topic_summary_counts_the_callers_cases_with_lights_hexagons_and_trend() {
    let app = TestApp::spawn().await;
    // Two in one spot of 普陀区, one a little away.
    let ids = [
        report(&app, "06010", 121.4350, 31.2470).await,
        report(&app, "06010", 121.4351, 31.2471).await,
        report(&app, "01001", 121.4000, 31.2300).await,
    ];
    let (status, summary) = app
        .get(
            "/api/v1/dashboard/summary?topic=city-appearance&days=7&res=8",
            Some("operator"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["open_cases"], 3);
    let points = summary["points"].as_array().unwrap();
    let mut seen: Vec<i64> = points.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    seen.sort_unstable();
    assert_eq!(seen, ids);
    assert!(
        points.iter().all(|p| p["light"] == "green"),
        "new cases run green clocks: {points:?}"
    );
    let cells = summary["hexes"]["features"].as_array().unwrap();
    let counts: Vec<u64> = cells
        .iter()
        .map(|c| c["properties"]["count"].as_u64().unwrap())
        .collect();
    assert_eq!(
        counts,
        [2, 1],
        "the two close cases share a cell, densest first"
    );
    assert_eq!(cells[0]["geometry"]["type"], "Polygon");
    let by_category: Vec<(String, u64)> = summary["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["category"].as_str().unwrap().to_owned(),
                c["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_category,
        [("06010".to_owned(), 2), ("01001".to_owned(), 1)]
    );
    assert!(summary["by_category"][0]["name"].as_str().is_some());
    let trend = summary["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 1);
    assert_eq!(
        (trend[0]["created"].as_u64(), trend[0]["closed"].as_u64()),
        (Some(3), Some(0))
    );

    // The air-quality topic takes sensor cases only; a Huangpu handler sees none.
    let (_, air) = app
        .get(
            "/api/v1/dashboard/summary?topic=air-quality",
            Some("operator"),
        )
        .await;
    assert_eq!(air["open_cases"], 0);
    let (_, other) = app
        .get("/api/v1/dashboard/summary", Some("handler_huangpu"))
        .await;
    assert_eq!(other["open_cases"], 0, "outside the handler's department");
    let (status, _) = app.get("/api/v1/dashboard/summary", Some("citizen")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = app
        .get("/api/v1/dashboard/summary?days=0", Some("operator"))
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("days"))
    );
    let (_, topics) = app.get("/api/v1/dashboard/topics", Some("operator")).await;
    assert_eq!(topics["topics"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn operators_tag_areas_and_staff_see_them() {
    let app = TestApp::spawn().await;
    let square = json!({"type": "Polygon", "coordinates": [[[121.43, 31.24], [121.44, 31.24],
        [121.44, 31.25], [121.43, 31.25], [121.43, 31.24]]]});
    let tags = json!({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": square,
        "properties": {"tag": "封控区", "name": "长寿路某小区", "since": "2026-11-29T08:00:00+08:00"}}]});
    let (status, _) = app
        .call(
            "PUT",
            "/api/v1/dashboard/area-tags",
            Some("handler"),
            Some(tags.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .call(
            "PUT",
            "/api/v1/dashboard/area-tags",
            Some("operator"),
            Some(tags),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, stored) = app
        .get("/api/v1/dashboard/area-tags", Some("supervisor"))
        .await;
    assert_eq!(stored["features"][0]["properties"]["name"], "长寿路某小区");
    assert_eq!(stored["features"][0]["properties"]["id"], "tag-1");
    let bad = json!({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": square,
        "properties": {"tag": "封控区", "name": ""}}]});
    let (status, problem) = app
        .call(
            "PUT",
            "/api/v1/dashboard/area-tags",
            Some("operator"),
            Some(bad),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["field"], "features[0].properties.name");
}

#[tokio::test]
async fn a_new_case_reaches_an_open_event_stream() {
    let app = TestApp::spawn().await;
    let request = Request::builder()
        .uri(format!("/api/v1/events?token={}", app.token("operator")))
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = response.into_body().into_data_stream();
    let id = report(&app, "06010", 121.4350, 31.2470).await;
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), body.next())
            .await
            .expect("an event within 10 s")
            .expect("the stream stays open")
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.starts_with("event: case\n"), "{text}");
    let data: Value = serde_json::from_str(
        text.lines()
            .find_map(|l| l.strip_prefix("data: "))
            .expect("a data line"),
    )
    .unwrap();
    assert_eq!(data["id"], id);
    assert_eq!(data["light"], "green");

    // Without a token: 401; a citizen's: 403.
    let (status, _) = app.get("/api/v1/events", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .get(
            &format!("/api/v1/events?token={}", app.token("citizen")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
