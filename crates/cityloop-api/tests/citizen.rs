//! The citizen page's JSON: report without an account, follow the case
//! with the receipt, rate it (好差评), the follow-up of a dissatisfied
//! rating and its 15-working-day rectification, comments, privacy and the
//! rate limit of public writes.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Duration, Utc};
use cityloop_api::ApiLimits;
use common::{JPEG, TestApp, multipart, multipart_type};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// A clock the test moves.
struct TestClock(Mutex<DateTime<Utc>>);

impl cityloop_api::Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn advance(&self, minutes: i64) {
        *self.0.lock().unwrap() += Duration::minutes(minutes);
    }
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

async fn report(app: &TestApp, fields: &[(&str, &str)], photos: &[&[u8]]) -> (StatusCode, Value) {
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/public/reports")
        .header("content-type", multipart_type())
        .body(Body::from(multipart(fields, photos)))
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

const LITTER: &[(&str, &str)] = &[
    ("service_code", "06010"),
    ("description", "小区门口垃圾堆了三天，我的电话13812345678"),
    ("lat", "31.247"),
    ("long", "121.435"),
    ("attribute[scale]", "patch"),
];

async fn act(app: &TestApp, user: &str, id: i64, action: &str, body: Value) {
    let (status, reply) = app
        .call(
            "POST",
            &format!("/api/v1/cases/{id}/actions/{action}"),
            Some(user),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{action}: {reply}");
}

/// Staff take the case from report to the callback.
async fn handle_to_callback(app: &TestApp, clock: &TestClock, id: i64, first_time: bool) {
    if first_time {
        act(app, "operator", id, "verify", json!({"note": "属实"})).await;
        act(app, "operator", id, "accept", json!({})).await;
        act(
            app,
            "operator",
            id,
            "register",
            json!({"criteria_met": true}),
        )
        .await;
        act(
            app,
            "operator",
            id,
            "dispatch",
            json!({"units": ["310107-cgzf"], "lead": "310107-cgzf"}),
        )
        .await;
        act(app, "handler", id, "sign", json!({})).await;
    }
    clock.advance(60);
    act(
        app,
        "handler",
        id,
        "reply",
        json!({"note": "已清运，联系人王师傅13900001111", "evidence": []}),
    )
    .await;
    act(
        app,
        "operator",
        id,
        "review",
        json!({"approve": true, "note": ""}),
    )
    .await;
    act(
        app,
        "supervisor",
        id,
        "check",
        json!({"passed": true, "note": "现场已清洁"}),
    )
    .await;
}

#[tokio::test]
async fn a_citizen_reports_follows_rates_and_the_dissatisfied_rating_is_followed_up() {
    let clock = Arc::new(TestClock(Mutex::new(instant("2026-09-30T10:00:00+08:00"))));
    let app = TestApp::spawn_with_clock(ApiLimits::default(), clock.clone()).await;

    // Anonymous report with a photo: a tracking number and a receipt.
    let (status, receipt) = report(&app, LITTER, &[JPEG]).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let id: i64 = receipt["tracking_number"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let key = receipt["receipt"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&format!("{id}-")));
    assert_eq!(receipt["status"], "open");
    assert_eq!(receipt["status_detail"], "reported");
    assert_eq!(
        receipt["receipt_url"],
        format!("/transparency/receipt?r={key}")
    );

    let view_uri = format!("/api/v1/public/reports/{key}");
    let (status, view) = app.get(&view_uri, None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["tracking_number"], id.to_string());
    assert_eq!(view["service_name"], "暴露垃圾");
    assert_eq!(
        view["description"],
        "小区门口垃圾堆了三天，我的电话138****5678"
    );
    assert_eq!(view["area"][0]["name"], "上海市");
    assert_eq!(view["can_rate"], false);
    assert_eq!(view["steps"].as_array().unwrap().len(), 1);
    let photo = view["media"][0].as_str().unwrap().to_owned();
    let (status, bytes) = app.get_bytes(&photo).await;
    assert_eq!((status, bytes.as_slice()), (StatusCode::OK, JPEG));

    // A receipt with a wrong tag, or for another case, opens nothing.
    let forged = format!("{id}-{}", "0".repeat(24));
    assert_eq!(
        app.get(&format!("/api/v1/public/reports/{forged}"), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // Not yet handled: nothing to rate.
    let (status, refused) = app
        .call(
            "POST",
            &format!("{view_uri}/rating"),
            None,
            Some(json!({"level": "satisfied"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");

    handle_to_callback(&app, &clock, id, true).await;
    let (_, view) = app.get(&view_uri, None).await;
    assert_eq!(view["status_detail"], "callback");
    assert_eq!(view["can_rate"], true);
    let actions: Vec<&str> = view["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "created",
            "verified",
            "accepted",
            "registered",
            "dispatched",
            "signed",
            "replied",
            "reviewed",
            "checked"
        ]
    );
    let reply_note = view["steps"][6]["note"].as_str().unwrap();
    assert_eq!(
        reply_note, "已清运，联系人王师傅139****1111",
        "notes are masked too"
    );

    // Bad ratings are refused with the field named.
    for (body, field) in [
        (json!({"level": "meh"}), "level"),
        (
            json!({"level": "satisfied", "comment": "很".repeat(501)}),
            "comment",
        ),
        (
            json!({"level": "satisfied", "reasonable": true}),
            "reasonable",
        ),
    ] {
        let (status, problem) = app
            .call("POST", &format!("{view_uri}/rating"), None, Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }

    // 差评 → 回访: the case waits for the operator's judgement.
    clock.advance(30);
    let (status, view) = app
        .call(
            "POST",
            &format!("{view_uri}/rating"),
            None,
            Some(json!({"level": "very_dissatisfied", "comment": "只清了一半"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status_detail"], "follow_up");
    assert_eq!(view["status"], "open");
    assert_eq!(view["rating"]["level"], "very_dissatisfied");
    assert_eq!(view["rating"]["comment"], "只清了一半");
    assert_eq!(view["follow_up"]["state"], "awaiting_judgement");
    assert!(view["follow_up"]["due_at"].is_string());
    assert_eq!(view["can_rate"], false);
    let (_, case) = app
        .get(&format!("/api/v1/cases/{id}"), Some("operator"))
        .await;
    assert_eq!(
        case["allowed_actions"],
        json!(["judge", "urge", "supervise"])
    );

    // Judged reasonable: rectification (整改) within 15 working days of the
    // judgement, by the working calendar (National Day falls inside).
    act(
        &app,
        "operator",
        id,
        "judge",
        json!({"reasonable": true, "note": "回访核实：仍有垃圾"}),
    )
    .await;
    let judged_at = clock
        .0
        .lock()
        .unwrap()
        .with_timezone(&cityloop_calendar::china_offset());
    let (_, due) = app
        .get(
            &format!(
                "/api/v1/sla/due?start={}&limit=15wd",
                judged_at.to_rfc3339().replace('+', "%2B")
            ),
            None,
        )
        .await;
    let (_, view) = app.get(&view_uri, None).await;
    assert_eq!(view["status_detail"], "handling");
    assert_eq!(view["follow_up"]["state"], "rectifying");
    assert_eq!(
        instant(view["follow_up"]["due_at"].as_str().unwrap()),
        instant(due["due"].as_str().unwrap())
    );
    assert_eq!(
        due["due"], "2026-10-27T11:30:00+08:00",
        "15 working days skip the National Day holidays (1–7 October) and count the make-up Saturday, the 10th"
    );

    // Rectified and checked: the reporter rates again, and it closes.
    handle_to_callback(&app, &clock, id, false).await;
    let (status, view) = app
        .call(
            "POST",
            &format!("{view_uri}/rating"),
            None,
            Some(json!({"level": "satisfied", "comment": "这次干净了"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "closed");
    assert_eq!(view["rating"]["level"], "satisfied");
    assert_eq!(view["follow_up"]["state"], "done");
    assert_eq!(view["can_rate"], false);

    // A comment after closing shows on the timeline, masked.
    let (status, view) = app
        .call(
            "POST",
            &format!("{view_uri}/comments"),
            None,
            Some(json!({"text": "谢谢！有事再打13812345678"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let last = view["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "commented");
    assert_eq!(last["note"], "谢谢！有事再打138****5678");

    // The whole public view never shows the reporter's contact.
    let text = view.to_string();
    assert!(
        !text.contains("13812345678") && !text.contains("13900001111"),
        "{text}"
    );
}

#[tokio::test]
async fn a_report_names_the_bad_field_and_keeps_the_contact_private() {
    let app = TestApp::spawn().await;
    for (fields, field) in [
        (
            vec![("description", "x"), ("lat", "31.2"), ("long", "121.4")],
            "service_code",
        ),
        (
            vec![
                ("service_code", "99999"),
                ("lat", "31.2"),
                ("long", "121.4"),
            ],
            "service_code",
        ),
        (vec![("service_code", "H03"), ("description", "x")], "lat"),
        (vec![("service_code", "H03"), ("lat", "31.2")], "long"),
        (
            vec![
                ("service_code", "06010"),
                ("lat", "31.247"),
                ("long", "121.435"),
            ],
            "attribute[scale]",
        ),
        (
            vec![
                ("service_code", "H03"),
                ("address_id", "12"),
                ("description", "x"),
            ],
            "address_id",
        ),
        (
            vec![
                ("service_code", "H03"),
                ("address_id", "310107"),
                ("email", "nope"),
            ],
            "email",
        ),
    ] {
        let (status, problem) = report(&app, &fields, &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{fields:?}: {problem}");
        assert_eq!(problem["field"], field, "{problem}");
        assert_eq!(problem["status"], 400);
    }
    let (status, problem) = report(
        &app,
        &[
            ("service_code", "H03"),
            ("address_id", "310107"),
            ("description", "x"),
        ],
        &[b"GIF89a...."],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["field"], "media");

    // With contact, by area: staff see the contact; the public never does.
    let (status, receipt) = report(
        &app,
        &[
            ("service_code", "H03"),
            ("address_id", "310107015"),
            ("address_string", "长寿路 1 号"),
            ("description", "楼下饭店油烟"),
            ("first_name", "李四"),
            ("phone", "13712345678"),
        ],
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let id = receipt["tracking_number"].as_str().unwrap();
    let (_, view) = app
        .get(
            &format!(
                "/api/v1/public/reports/{}",
                receipt["receipt"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(
        view["area"].as_array().unwrap().last().unwrap()["name"],
        "长寿路街道"
    );
    assert!(!view.to_string().contains("李四") && !view.to_string().contains("13712345678"));
    let (_, case) = app
        .get(&format!("/api/v1/cases/{id}"), Some("operator"))
        .await;
    assert_eq!(case["reporter_contact"], "李四 13712345678");
    assert_eq!(case["channel"], "citizen_web");
}

#[tokio::test]
async fn public_writes_are_rate_limited_per_client() {
    let app = TestApp::spawn_with(ApiLimits {
        public_writes_per_minute: 1,
        public_writes_burst: 2,
        ..ApiLimits::default()
    })
    .await;
    let fields = [
        ("service_code", "H03"),
        ("address_id", "310107"),
        ("description", "噪音"),
    ];
    assert_eq!(report(&app, &fields, &[]).await.0, StatusCode::CREATED);
    assert_eq!(report(&app, &fields, &[]).await.0, StatusCode::CREATED);
    let (status, problem) = report(&app, &fields, &[]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("too many"));
    // Reading is not limited by it.
    assert_eq!(
        app.get("/open311/v2/services.json", None).await.0,
        StatusCode::OK
    );
}
