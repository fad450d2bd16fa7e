//! A scripted walk through the closed loop over HTTP: every branch, every
//! refused action with a clear 4xx, and a history that shows every step.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::{Value, json};

const CHANGSHOU: (f64, f64) = (121.4350, 31.2470);

async fn report(app: &TestApp, user: &str, category: &str, point: (f64, f64)) -> Value {
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/cases",
            Some(user),
            Some(json!({"category": category, "lon": point.0, "lat": point.1,
                "description": "路边暴露垃圾，影响通行", "reporter_contact": "张先生 13912345678"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// Performs an action and asserts its status; returns the body.
async fn act(
    app: &TestApp,
    user: &str,
    id: i64,
    action: &str,
    body: Value,
    expected: u16,
) -> Value {
    let (status, response) = app
        .call(
            "POST",
            &format!("/api/v1/cases/{id}/actions/{action}"),
            Some(user),
            Some(body),
        )
        .await;
    assert_eq!(status.as_u16(), expected, "{user} {action}: {response}");
    response
}

async fn status_of(app: &TestApp, id: i64) -> String {
    let (_, case) = app.get(&format!("/api/v1/cases/{id}"), Some("admin")).await;
    case["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn one_case_through_every_branch_of_the_loop() {
    let app = TestApp::spawn().await;
    let created = report(&app, "citizen", "06010", CHANGSHOU).await;
    let id = created["case"]["id"].as_i64().unwrap();
    assert_eq!(created["case"]["status"], "reported");
    assert_eq!(
        created["routed_department"], "310107-lhsr",
        "the responsibility list routes it"
    );
    assert_eq!(created["case"]["area_path"], json!(["310000", "310107"]));
    assert_eq!(
        created["case"]["reporter_contact"], "张先生 13912345678",
        "the reporter sees it"
    );
    assert_eq!(created["case"]["light"], "green");

    // A department cannot act before dispatch; the error names the state.
    let refused = act(
        &app,
        "operator",
        id,
        "dispatch",
        json!({"units": ["310107-cgzf"], "lead": "310107-cgzf"}),
        409,
    )
    .await;
    assert!(
        refused["detail"].as_str().unwrap().contains("reported"),
        "{refused}"
    );
    assert!(
        refused["detail"].as_str().unwrap().contains("verify"),
        "{refused}"
    );

    act(
        &app,
        "operator",
        id,
        "verify",
        json!({"note": "电话核实属实"}),
        200,
    )
    .await;
    act(&app, "operator", id, "accept", json!({}), 200).await;
    let refused = act(
        &app,
        "operator",
        id,
        "register",
        json!({"criteria_met": false}),
        409,
    )
    .await;
    assert!(
        refused["detail"].as_str().unwrap().contains("立案条件"),
        "{refused}"
    );
    act(
        &app,
        "operator",
        id,
        "register",
        json!({"criteria_met": true}),
        200,
    )
    .await;
    let dispatched = act(
        &app,
        "operator",
        id,
        "dispatch",
        json!({"units": ["310107-cgzf", "310107-lhsr"], "lead": "310107-cgzf"}),
        200,
    )
    .await;
    assert_eq!(dispatched["status"], "dispatched");
    assert_eq!(dispatched["lead_department"], "310107-cgzf");

    // Another district's unit may not touch it.
    act(&app, "handler_huangpu", id, "sign", json!({}), 403).await;
    // The unit returns it; the dispatcher rules it is theirs.
    act(
        &app,
        "handler",
        id,
        "return",
        json!({"reason_code": "not_our_responsibility", "note": "应由绿化市容局处理"}),
        200,
    )
    .await;
    assert_eq!(status_of(&app, id).await, "returned");
    act(
        &app,
        "operator",
        id,
        "arbitrate",
        json!({"responsible": "310107-cgzf", "note": "仲裁：属城管执法局职责"}),
        200,
    )
    .await;
    let refused = act(
        &app,
        "handler",
        id,
        "return",
        json!({"reason_code": "not_our_responsibility", "note": "再次退回"}),
        409,
    )
    .await;
    assert!(
        refused["detail"].as_str().unwrap().contains("arbitrated"),
        "{refused}"
    );
    act(&app, "handler", id, "sign", json!({}), 200).await;

    // Extension, approved by the department lead; hang and resume.
    act(
        &app,
        "handler",
        id,
        "request_extension",
        json!({"minutes": 480, "reason": "需协调物业"}),
        200,
    )
    .await;
    act(
        &app,
        "handler",
        id,
        "decide_extension",
        json!({"approve": true, "note": "同意"}),
        403,
    )
    .await;
    act(
        &app,
        "dept_lead",
        id,
        "decide_extension",
        json!({"approve": true, "note": "同意延期一天"}),
        200,
    )
    .await;
    act(
        &app,
        "operator",
        id,
        "hang",
        json!({"reason": "等待管线迁改"}),
        200,
    )
    .await;
    let (_, case) = app
        .get(&format!("/api/v1/cases/{id}"), Some("operator"))
        .await;
    assert_eq!(case["status"], "hung");
    assert!(
        case["clocks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["stage"] == "handling" && c["paused"] == true),
        "{case}"
    );
    act(&app, "operator", id, "resume", json!({}), 200).await;
    act(
        &app,
        "handler",
        id,
        "note",
        json!({"text": "已联系物业"}),
        200,
    )
    .await;

    // Reply → review → on-site check fails (rework) → reply → check passes.
    act(
        &app,
        "handler",
        id,
        "reply",
        json!({"note": "已清运", "evidence": ["photo-1.jpg"]}),
        200,
    )
    .await;
    act(
        &app,
        "operator",
        id,
        "review",
        json!({"approve": true, "note": "材料齐全"}),
        200,
    )
    .await;
    act(
        &app,
        "supervisor",
        id,
        "check",
        json!({"passed": false, "note": "仍有残留"}),
        200,
    )
    .await;
    assert_eq!(status_of(&app, id).await, "handling");
    act(
        &app,
        "handler",
        id,
        "reply",
        json!({"note": "已彻底清理", "evidence": ["photo-2.jpg"]}),
        200,
    )
    .await;
    act(
        &app,
        "operator",
        id,
        "review",
        json!({"approve": true, "note": ""}),
        200,
    )
    .await;
    act(
        &app,
        "supervisor",
        id,
        "check",
        json!({"passed": true, "note": "现场已整改"}),
        200,
    )
    .await;
    assert_eq!(status_of(&app, id).await, "callback");

    // Dissatisfied and judged reasonable: redo.
    act(
        &app,
        "operator",
        id,
        "rate",
        json!({"level": "dissatisfied", "reasonable": true}),
        200,
    )
    .await;
    assert_eq!(status_of(&app, id).await, "handling");
    act(
        &app,
        "handler",
        id,
        "reply",
        json!({"note": "重办完成", "evidence": []}),
        200,
    )
    .await;
    act(
        &app,
        "operator",
        id,
        "review",
        json!({"approve": true, "note": ""}),
        200,
    )
    .await;
    act(
        &app,
        "supervisor",
        id,
        "check",
        json!({"passed": true, "note": ""}),
        200,
    )
    .await;
    act(
        &app,
        "supervisor",
        id,
        "urge",
        json!({"note": "请尽快回访"}),
        200,
    )
    .await;
    let closed = act(
        &app,
        "citizen",
        id,
        "rate",
        json!({"level": "satisfied"}),
        200,
    )
    .await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["open"], false);
    assert!(closed["light"].is_null(), "no clock runs on a closed case");

    // A closed case refuses every action but the reporter's comment, saying so.
    let refused = act(&app, "handler", id, "sign", json!({}), 409).await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .ends_with("allowed in this state: comment"),
        "{refused}"
    );

    // The history shows every step, in order, append-only.
    let (_, case) = app
        .get(&format!("/api/v1/cases/{id}"), Some("auditor"))
        .await;
    let kinds: Vec<&str> = case["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for step in [
        "created",
        "verified",
        "accepted",
        "registered",
        "dispatched",
        "returned",
        "arbitrated",
        "signed",
        "extension_requested",
        "extension_decided",
        "hung",
        "resumed",
        "noted",
        "replied",
        "reviewed",
        "checked",
        "rated",
        "urged",
        "closed",
    ] {
        assert!(kinds.contains(&step), "history lacks {step}: {kinds:?}");
    }
    let seqs: Vec<u64> = case["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(case["version"].as_u64().unwrap(), seqs.len() as u64);
    assert!(case["allowed_actions"].as_array().unwrap().is_empty());
    assert_eq!(
        case["reporter_contact"], "张** 139****5678",
        "the auditor sees it masked"
    );
}

#[tokio::test]
async fn declines_voids_self_handling_and_special_closing() {
    let app = TestApp::spawn().await;
    let id = report(&app, "citizen", "06010", CHANGSHOU).await["case"]["id"]
        .as_i64()
        .unwrap();
    let refused = act(&app, "operator", id, "decline", json!({"reason": ""}), 400).await;
    assert_eq!(refused["field"], "reason");
    act(
        &app,
        "operator",
        id,
        "decline",
        json!({"reason": "非本市管辖"}),
        200,
    )
    .await;
    assert_eq!(status_of(&app, id).await, "declined");

    let id = report(&app, "citizen", "06010", (121.4300, 31.2400)).await["case"]["id"]
        .as_i64()
        .unwrap();
    act(&app, "operator", id, "verify", json!({"note": ""}), 200).await;
    act(&app, "operator", id, "accept", json!({}), 200).await;
    act(
        &app,
        "operator",
        id,
        "void",
        json!({"reason": "重复上报"}),
        200,
    )
    .await;
    assert_eq!(status_of(&app, id).await, "voided");

    // An inspector's own report starts verified and can be fixed on the spot.
    let id = report(&app, "supervisor", "06010", (121.4250, 31.2450)).await["case"]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(status_of(&app, id).await, "verified");
    act(
        &app,
        "supervisor",
        id,
        "self_handle",
        json!({"note": "已当场清理"}),
        200,
    )
    .await;
    assert_eq!(status_of(&app, id).await, "closed");

    // A special closing needs a note and the right role.
    let id = report(&app, "citizen", "06010", (121.4200, 31.2400)).await["case"]["id"]
        .as_i64()
        .unwrap();
    act(
        &app,
        "handler",
        id,
        "close",
        json!({"closing": "special", "note": "x"}),
        403,
    )
    .await;
    act(
        &app,
        "supervisor",
        id,
        "supervise",
        json!({"note": "督办"}),
        200,
    )
    .await;
    act(
        &app,
        "admin",
        id,
        "close",
        json!({"closing": "special", "note": "专项整治统一处理"}),
        200,
    )
    .await;
    assert_eq!(status_of(&app, id).await, "closed");

    // Bad action names and fields are 400s naming the field.
    let refused = act(&app, "admin", id, "teleport", json!({}), 400).await;
    assert!(
        refused["detail"].as_str().unwrap().contains("teleport"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_sensor_alarm_at_the_same_spot_merges_into_the_citizens_case() {
    let app = TestApp::spawn().await;
    let first = report(&app, "citizen", "01001", CHANGSHOU).await;
    let parent = first["case"]["id"].as_i64().unwrap();
    assert!(first["duplicate"].is_null());
    // The same manhole cover, reported by a sensor through the operator.
    let (status, second) = app
        .call("POST", "/api/v1/cases", Some("operator"), Some(json!({
            "category": "01001", "channel": "sensor", "lon": CHANGSHOU.0 + 0.00001, "lat": CHANGSHOU.1,
            "description": "井盖位移传感器告警"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["duplicate"]["case_id"], parent);
    assert!(
        second["duplicate"]["confidence"].as_f64().unwrap() >= 0.9,
        "{second}"
    );
    assert_eq!(second["merged_into"], parent);
    let child = second["case"]["id"].as_i64().unwrap();
    let (_, case) = app
        .get(&format!("/api/v1/cases/{child}"), Some("operator"))
        .await;
    assert_eq!(case["status"], "merged");
    assert_eq!(case["parent"], parent);

    // A related category 40 m away is proposed, not merged.
    let (_, third) = app
        .call("POST", "/api/v1/cases", Some("operator"), Some(json!({
            "category": "01002", "channel": "hotline", "lon": CHANGSHOU.0 + 0.0004, "lat": CHANGSHOU.1,
            "description": "污水井盖破损"})))
        .await;
    assert_eq!(third["duplicate"]["case_id"], parent, "{third}");
    assert!(third["merged_into"].is_null(), "{third}");
    // Far away: no duplicate.
    let far = report(&app, "citizen", "01001", (121.4000, 31.2300)).await;
    assert!(far["duplicate"].is_null(), "{far}");
}

#[tokio::test]
async fn queues_follow_role_and_scope() {
    let app = TestApp::spawn().await;
    let putuo = report(&app, "citizen", "06010", CHANGSHOU).await["case"]["id"]
        .as_i64()
        .unwrap();
    // People's Square, Huangpu: outside the Putuo operator's scope.
    let huangpu = report(&app, "citizen", "06010", (121.4752, 31.2317)).await["case"]["id"]
        .as_i64()
        .unwrap();
    let ids = |body: &Value| -> Vec<i64> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let (_, mine) = app.get("/api/v1/cases", Some("operator")).await;
    assert_eq!(ids(&mine), vec![putuo]);
    let (_, all) = app.get("/api/v1/cases", Some("auditor")).await;
    assert_eq!(ids(&all), vec![huangpu, putuo]);
    let (_, own) = app.get("/api/v1/cases", Some("citizen")).await;
    assert_eq!(own["total"], 2);
    let (_, none) = app.get("/api/v1/cases", Some("handler")).await;
    assert_eq!(none["total"], 0, "nothing dispatched to the unit yet");
    let (status, _) = app
        .get(&format!("/api/v1/cases/{huangpu}"), Some("operator"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get("/api/v1/cases", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A point outside the city is refused naming the field.
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/cases",
            Some("citizen"),
            Some(json!({
            "category": "06010", "lon": 123.0, "lat": 31.0, "description": "海上"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "lat");
    // A citizen may not pose as a sensor.
    let (status, _) = app
        .call("POST", "/api/v1/cases", Some("citizen"), Some(json!({
            "category": "06010", "channel": "sensor", "lon": CHANGSHOU.0, "lat": CHANGSHOU.1, "description": "x"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_deadline_calculator_and_the_sla_rules_are_served() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .get(
            "/api/v1/sla/due?start=2026-09-30T16:00:00%2B08:00&limit=5wd",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["due"], "2026-10-13T16:00:00+08:00");
    let (status, body) = app
        .get(
            "/api/v1/sla/due?start=2026-09-30T16:00:00%2B08:00&limit=5x",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "limit");

    let (status, rules) = app.get("/api/v1/sla/rules", Some("operator")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["stage"] == "handling")
    );
    let (status, _) = app
        .call(
            "PUT",
            "/api/v1/sla/rules",
            Some("operator"),
            Some(json!([])),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .call(
            "PUT",
            "/api/v1/sla/rules",
            Some("admin"),
            Some(json!([{"stage": "handling", "limit": "3 weeks"}])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "[0].limit");
    let (status, _) = app
        .call(
            "PUT",
            "/api/v1/sla/rules",
            Some("admin"),
            Some(json!([{"stage": "acceptance", "limit": "30wm"}])),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, rules) = app.get("/api/v1/sla/rules", Some("admin")).await;
    assert_eq!(rules, json!([{"stage": "acceptance", "limit": "30wm"}]));
}

#[tokio::test]
async fn metrics_count_the_walked_cases_by_department() {
    let app = TestApp::spawn().await;
    let id = report(&app, "citizen", "06010", CHANGSHOU).await["case"]["id"]
        .as_i64()
        .unwrap();
    act(&app, "operator", id, "verify", json!({"note": ""}), 200).await;
    act(&app, "operator", id, "accept", json!({}), 200).await;
    act(
        &app,
        "operator",
        id,
        "register",
        json!({"criteria_met": true}),
        200,
    )
    .await;
    act(
        &app,
        "operator",
        id,
        "dispatch",
        json!({"units": ["310107-cgzf"], "lead": "310107-cgzf"}),
        200,
    )
    .await;
    act(
        &app,
        "handler",
        id,
        "return",
        json!({"reason_code": "wrong_location", "note": "地址有误"}),
        200,
    )
    .await;
    let declined = report(&app, "citizen", "06010", (121.4300, 31.2400)).await["case"]["id"]
        .as_i64()
        .unwrap();
    act(
        &app,
        "operator",
        declined,
        "decline",
        json!({"reason": "不属实"}),
        200,
    )
    .await;
    let from = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let to = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let query = format!(
        "/api/v1/metrics/cases?group_by=city&from={}&to={}",
        urlencode(&from),
        urlencode(&to)
    );
    let (status, rows) = app.get(&query, Some("supervisor")).await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    let city = &rows[0];
    assert_eq!(city["group"], "310000");
    assert_eq!(city["cases"], 2);
    assert_eq!(city["rates"]["registration_rate"]["numerator"], 1);
    assert_eq!(
        city["rates"]["registration_rate"]["denominator"], 1,
        "declined reports are not valid reports"
    );
    assert_eq!(city["rates"]["return_rate"]["numerator"], 1);
    assert_eq!(city["rates"]["return_rate"]["denominator"], 1);
    let (status, _) = app.get(&query, Some("handler")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .get(
            "/api/v1/metrics/cases?from=yesterday&to=today",
            Some("admin"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "from");
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn a_changed_responsibility_list_routes_the_next_case_at_once() {
    let app = TestApp::spawn().await;
    // 徐汇区 (310104) has no demo responsibility list: no one is configured.
    let xuhui = (121.4370, 31.1880);
    let first = report(&app, "citizen", "06010", xuhui).await;
    assert_eq!(first["case"]["area_path"], json!(["310000", "310104"]));
    assert!(first["routed_department"].is_null(), "{first}");
    let (status, _) = app
        .call(
            "PUT",
            "/api/v1/responsibilities",
            Some("admin"),
            Some(json!({
            "category": "class:06", "area_code": "310104", "department": "310107-lhsr"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, resolved) = app
        .get(
            "/api/v1/responsibilities/resolve?category=06010&area_code=310104",
            Some("admin"),
        )
        .await;
    assert_eq!(resolved["department"]["id"], "310107-lhsr", "{resolved}");
    let second = report(&app, "citizen", "06010", (xuhui.0 + 0.01, xuhui.1)).await;
    assert_eq!(second["routed_department"], "310107-lhsr", "{second}");
}
