//! The role × endpoint matrix: every endpoint, every role (and no token),
//! the status the policy promises. Putuo's operator, supervisor, handler and
//! lead are compared with Huangpu's handler and lead, so scope shows.

mod common;

use common::TestApp;
use serde_json::{Value, json};

/// Columns of the matrix, in order.
const CALLERS: [Option<&str>; 10] = [
    None,
    Some("citizen"),
    Some("operator"),
    Some("handler"),
    Some("dept_lead"),
    Some("supervisor"),
    Some("auditor"),
    Some("admin"),
    Some("handler_huangpu"),
    Some("lead_huangpu"),
];

struct Row {
    method: &'static str,
    uri: &'static str,
    body: fn(usize) -> Option<Value>,
    /// Expected status per caller, in the order of `CALLERS`.
    expect: [u16; 10],
}

fn none(_: usize) -> Option<Value> {
    None
}

fn putuo_department(_: usize) -> Option<Value> {
    Some(
        json!({"name": "普陀区城市管理行政执法局（演示）", "kind": "enforcement",
        "areas": ["310107"], "phone": "021-52564588"}),
    )
}

fn responsibility_putuo(_: usize) -> Option<Value> {
    Some(json!({"category": "class:09", "area_code": "310107015", "department": "310107-cgzf"}))
}

fn responsibility_huangpu(_: usize) -> Option<Value> {
    Some(json!({"category": "class:09", "area_code": "310101002", "department": "310101-cgzf"}))
}

fn street_shape(_: usize) -> Option<Value> {
    Some(json!({"type": "Polygon", "coordinates": [[
        [121.430, 31.243], [121.440, 31.243], [121.440, 31.251], [121.430, 31.251], [121.430, 31.243]]]}))
}

fn new_handler(column: usize) -> Option<Value> {
    Some(
        json!({"username": format!("new-handler-{column}"), "display_name": "新处置员",
        "role": "handler", "department": "310107-cgzf", "password": "a long password"}),
    )
}

#[rustfmt::skip]
const MATRIX: &[Row] = &[
    //                                                                anon cit  op   hnd  lead sup  aud  adm  hndH leadH
    Row { method: "GET", uri: "/healthz", body: none,                 expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/openapi.json", body: none,        expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/areas?level=district", body: none, expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/areas/310107015", body: none,  expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/areas/shapes", body: none,     expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/locate?lon=121.435&lat=31.247", body: none, expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/categories?kind=matter", body: none, expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/categories/matter/06010", body: none, expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/me", body: none,               expect: [401, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/departments", body: none,      expect: [401, 403, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/departments/310107-cgzf", body: none, expect: [401, 403, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/departments/310107-cgzf/users", body: none, expect: [401, 403, 403, 403, 200, 403, 200, 200, 403, 403] },
    Row { method: "GET", uri: "/api/v1/departments/310101-cgzf/users", body: none, expect: [401, 403, 403, 403, 403, 403, 200, 200, 403, 200] },
    Row { method: "PUT", uri: "/api/v1/departments/310107-cgzf", body: putuo_department, expect: [401, 403, 403, 403, 200, 403, 403, 200, 403, 403] },
    Row { method: "POST", uri: "/api/v1/users", body: new_handler,    expect: [401, 403, 403, 403, 201, 403, 403, 201, 403, 403] },
    Row { method: "GET", uri: "/api/v1/responsibilities", body: none, expect: [401, 403, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/responsibilities/resolve?category=06010&area_code=310107", body: none, expect: [401, 403, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "PUT", uri: "/api/v1/responsibilities", body: responsibility_putuo, expect: [401, 403, 200, 403, 403, 403, 403, 200, 403, 403] },
    Row { method: "PUT", uri: "/api/v1/responsibilities", body: responsibility_huangpu, expect: [401, 403, 403, 403, 403, 403, 403, 200, 403, 403] },
    Row { method: "PUT", uri: "/api/v1/areas/310107015/shape", body: street_shape, expect: [401, 403, 204, 403, 403, 403, 403, 204, 403, 403] },
    Row { method: "GET", uri: "/transparency/log/key", body: none,   expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/public/performance?group_by=district", body: none, expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
    // The citizens' door is public; a receipt, not a role, opens a case.
    Row { method: "GET", uri: "/open311/v2/services.json", body: none, expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/public/reports/1-000000000000000000000000", body: none, expect: [404, 404, 404, 404, 404, 404, 404, 404, 404, 404] },
    Row { method: "GET", uri: "/api/v1/public/media/00000000000000000000000000000000", body: none, expect: [404, 404, 404, 404, 404, 404, 404, 404, 404, 404] },
    // Perception: devices and series are public, alarms are for staff.
    Row { method: "GET", uri: "/api/v1/sensors/datastreams", body: none, expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/sensors/alarms", body: none,    expect: [401, 403, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/vital-signs?by=city", body: none, expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "GET", uri: "/api/v1/sensors/rules", body: none,     expect: [401, 403, 200, 200, 200, 200, 200, 200, 200, 200] },
    Row { method: "POST", uri: "/api/v1/sensors/alarms/424242/acknowledge", body: none, expect: [401, 403, 404, 403, 403, 404, 403, 404, 403, 403] },
];

#[tokio::test]
async fn every_role_gets_what_the_policy_promises_on_every_endpoint() {
    let app = TestApp::spawn().await;
    let mut failures = Vec::new();
    for row in MATRIX {
        for (column, caller) in CALLERS.iter().enumerate() {
            let (status, body) = app
                .call(row.method, row.uri, *caller, (row.body)(column))
                .await;
            let expected = row.expect[column];
            if status.as_u16() != expected {
                failures.push(format!(
                    "{} {} as {}: expected {expected}, got {status} {body}",
                    row.method,
                    row.uri,
                    caller.unwrap_or("anonymous")
                ));
            }
            if status.is_client_error() {
                assert_eq!(body["status"], status.as_u16(), "problem body: {body}");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn deleting_a_responsibility_row_follows_area_scope() {
    let app = TestApp::spawn().await;
    let uri = "/api/v1/responsibilities?category=class:06&area_code=310107015";
    for (caller, expected) in [
        (None, 401),
        (Some("citizen"), 403),
        (Some("handler"), 403),
        (Some("dept_lead"), 403),
        (Some("auditor"), 403),
        (Some("operator"), 204),
        (Some("operator"), 404),
    ] {
        let (status, body) = app.call("DELETE", uri, caller, None).await;
        assert_eq!(status.as_u16(), expected, "{caller:?}: {body}");
    }
    let uri = "/api/v1/responsibilities?category=class:06&area_code=310101002";
    let (status, _) = app.call("DELETE", uri, Some("operator"), None).await;
    assert_eq!(
        status.as_u16(),
        403,
        "Huangpu is outside the Putuo operator's scope"
    );
    let (status, _) = app.call("DELETE", uri, Some("admin"), None).await;
    assert_eq!(status.as_u16(), 204);
}

#[tokio::test]
async fn a_department_lead_cannot_widen_its_own_jurisdiction() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .call(
            "PUT",
            "/api/v1/departments/310107-cgzf",
            Some("dept_lead"),
            Some(json!({"name": "普陀区城管执法局", "kind": "enforcement",
                "areas": ["310107", "310101"], "phone": null})),
        )
        .await;
    assert_eq!(status.as_u16(), 403, "{body}");
    let (_, department) = app
        .get("/api/v1/departments/310107-cgzf", Some("dept_lead"))
        .await;
    assert_eq!(department["areas"], json!(["310107"]));
}

#[tokio::test]
async fn unknown_endpoints_and_bad_tokens_are_problems() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/api/v1/nothing-here", None).await;
    assert_eq!(status.as_u16(), 404);
    assert_eq!(body["type"], "urn:cityloop:problem:not-found");
    let request = axum::http::Request::builder()
        .uri("/api/v1/me")
        .header("authorization", "Bearer cl_forged")
        .body(axum::body::Body::empty())
        .unwrap();
    use tower::ServiceExt;
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn a_grant_is_changed_only_by_who_may_grant_it_and_never_by_its_holder() {
    let app = TestApp::spawn().await;
    let (_, handler) = app.get("/api/v1/me", Some("handler")).await;
    let uri = format!("/api/v1/users/{}/grant", handler["id"]);
    let body = json!({"role": "handler", "department": "310107-cgzf", "basis": "岗位确认"});
    // Putuo's lead manages its handlers, the admin everyone; the holder
    // never changes its own grant; Huangpu's lead has no say in Putuo.
    let expect: [u16; 10] = [401, 403, 403, 403, 200, 403, 403, 200, 403, 403];
    let mut failures = Vec::new();
    for (column, caller) in CALLERS.iter().enumerate() {
        let (status, answer) = app.call("PUT", &uri, *caller, Some(body.clone())).await;
        if status.as_u16() != expect[column] {
            failures.push(format!(
                "PUT {uri} as {}: expected {}, got {status} {answer}",
                caller.unwrap_or("anonymous"),
                expect[column]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
