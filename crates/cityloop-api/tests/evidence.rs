//! A unit's evidence photos (反馈 with photos): uploaded to the case,
//! bound by their SHA-256 into the reply's history row, served to whoever
//! may see the case and to nobody else, never through the public door.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{JPEG, TestApp, multipart, multipart_type};
use serde_json::{Value, json};
use tower::ServiceExt;

async fn upload(app: &TestApp, user: &str, case: i64, photos: &[&[u8]]) -> (StatusCode, Value) {
    let request = Request::builder()
        .method("POST")
        .uri(format!("/api/v1/cases/{case}/media"))
        .header("authorization", format!("Bearer {}", app.token(user)))
        .header("content-type", multipart_type())
        .body(Body::from(multipart(&[], photos)))
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn act(app: &TestApp, user: &str, id: i64, action: &str, body: Value) -> (StatusCode, Value) {
    app.call(
        "POST",
        &format!("/api/v1/cases/{id}/actions/{action}"),
        Some(user),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn a_reply_carries_photos_bound_by_their_hash_and_seen_only_in_scope() {
    let app = TestApp::spawn().await;
    let (_, created) = app
        .call(
            "POST",
            "/api/v1/cases",
            Some("citizen"),
            Some(json!({"category": "06010", "lon": 121.435, "lat": 31.247, "description": "暴露垃圾"})),
        )
        .await;
    let id = created["case"]["id"].as_i64().unwrap();
    for (user, action, body) in [
        ("operator", "verify", json!({"note": ""})),
        ("operator", "accept", json!({})),
        ("operator", "register", json!({"criteria_met": true})),
        (
            "operator",
            "dispatch",
            json!({"units": ["310107-cgzf"], "lead": "310107-cgzf"}),
        ),
        ("handler", "sign", json!({})),
    ] {
        assert_eq!(
            act(&app, user, id, action, body).await.0,
            StatusCode::OK,
            "{action}"
        );
    }
    // Who may upload: not a citizen, not a unit outside the case's scope.
    assert_eq!(
        upload(&app, "citizen", id, &[JPEG]).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        upload(&app, "handler_huangpu", id, &[JPEG]).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, problem) = upload(&app, "handler", id, &[b"not an image"]).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("media"))
    );
    let (status, uploaded) = upload(&app, "handler", id, &[JPEG]).await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    let media = uploaded[0]["id"].as_str().unwrap().to_owned();
    let reference = uploaded[0]["reference"].as_str().unwrap().to_owned();
    let sha = uploaded[0]["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha, cityloop_transparency::sha256_hex(JPEG));

    // Another case's photo cannot be passed off as this one's.
    let (_, other) = app
        .call(
            "POST",
            "/api/v1/cases",
            Some("citizen"),
            Some(
                json!({"category": "06010", "lon": 121.44, "lat": 31.25, "description": "另一处"}),
            ),
        )
        .await;
    let other = other["case"]["id"].as_i64().unwrap();
    let (_, foreign) = upload(&app, "operator", other, &[JPEG]).await;
    let foreign = foreign[0]["reference"].as_str().unwrap().to_owned();
    let (status, problem) = act(
        &app,
        "handler",
        id,
        "reply",
        json!({"note": "已清运", "evidence": [foreign]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["field"], "evidence[0]");

    let (status, _) = act(
        &app,
        "handler",
        id,
        "reply",
        json!({"note": "已清运", "evidence": [reference]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, case) = app
        .get(&format!("/api/v1/cases/{id}"), Some("operator"))
        .await;
    let reply = case["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "replied")
        .unwrap()
        .clone();
    assert_eq!(
        reply["data"]["evidence"],
        json!([format!("media:{media}:{sha}")]),
        "bound by the hash"
    );
    let listed: Vec<&str> = case["media"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&media.as_str()));

    // Served to staff in scope and to the reporter; never publicly.
    let uri = format!("/api/v1/cases/{id}/media/{media}");
    for (user, expected) in [
        (Some("operator"), StatusCode::OK),
        (Some("citizen"), StatusCode::OK),
        (Some("handler_huangpu"), StatusCode::FORBIDDEN),
        (None, StatusCode::UNAUTHORIZED),
    ] {
        let mut request = Request::builder().uri(&uri);
        if let Some(user) = user {
            request = request.header("authorization", format!("Bearer {}", app.token(user)));
        }
        let response = app
            .router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{user:?}");
    }
    let (status, _) = app
        .get_bytes(&format!("/api/v1/public/media/{media}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "evidence is not public");
}
