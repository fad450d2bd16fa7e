//! The citizens' door over Open311 GeoReport v2, as a client sees it: both
//! formats, the specification's errors, a request with attributes and a
//! photo entering the closed loop, tokens, and FixMyStreet's updates.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{JPEG, TestApp, multipart, multipart_type};
use serde_json::{Value, json};
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The XML document (parsed by a real XML parser).
    fn xml<T>(&self, read: impl FnOnce(roxmltree::Node<'_, '_>) -> T) -> T {
        let text = self.text();
        let document = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        read(document.root_element())
    }
}

async fn send(
    app: &TestApp,
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request = request.header("host", "city.example");
    let response = app
        .router
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Reply {
        status,
        content_type,
        body,
    }
}

async fn get(app: &TestApp, uri: &str) -> Reply {
    send(app, "GET", uri, None, Vec::new()).await
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
        .into_bytes()
}

async fn api_key(app: &TestApp, name: &str) -> String {
    cityloop_api::open311::issue_api_key(app.state.store(), name, app.state.now())
        .await
        .unwrap()
}

/// The first Open311 error of a reply, in either format.
fn error_of(reply: &Reply) -> (i64, String) {
    if reply.content_type.starts_with("application/json") {
        let errors = reply.json();
        let error = &errors.as_array().expect("errors are an array")[0];
        (
            error["code"].as_i64().unwrap(),
            error["description"].as_str().unwrap().to_owned(),
        )
    } else {
        assert!(
            reply.content_type.starts_with("text/xml"),
            "{}",
            reply.content_type
        );
        reply.xml(|root| {
            assert_eq!(root.tag_name().name(), "errors");
            let error = root.children().find(|n| n.has_tag_name("error")).unwrap();
            let text = |name: &str| {
                error
                    .children()
                    .find(|n| n.has_tag_name(name))
                    .and_then(|n| n.text())
                    .unwrap_or_default()
                    .to_owned()
            };
            (text("code").parse().unwrap(), text("description"))
        })
    }
}

fn child_text(node: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    node.children()
        .find(|n| n.has_tag_name(name))
        .map(|n| n.text().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn discovery_services_and_definitions_speak_both_formats() {
    let app = TestApp::spawn().await;

    let discovery = get(&app, "/open311/v2/discovery.json").await;
    assert_eq!(discovery.status, StatusCode::OK);
    let endpoint = &discovery.json()["endpoints"][0];
    assert_eq!(
        endpoint["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(endpoint["url"], "http://city.example/open311/v2");
    assert_eq!(endpoint["formats"], json!(["text/xml", "application/json"]));
    let discovery = get(&app, "/open311/v2/discovery.xml").await;
    discovery.xml(|root| {
        assert_eq!(root.tag_name().name(), "discovery");
        let formats: Vec<String> = root
            .descendants()
            .filter(|n| n.has_tag_name("format"))
            .map(|n| n.text().unwrap().to_owned())
            .collect();
        assert_eq!(formats, ["text/xml", "application/json"]);
    });

    let services = get(&app, "/open311/v2/services.json").await;
    assert!(services.content_type.starts_with("application/json"));
    let services = services.json();
    let list = services.as_array().expect("an array");
    assert!(list.len() > 200, "every matter and local category");
    assert!(list.iter().all(|s| s["service_code"].is_string()));
    let litter = list.iter().find(|s| s["service_code"] == "06010").unwrap();
    assert_eq!(litter["service_name"], "暴露垃圾");
    assert_eq!(litter["group"], "市容环境类");
    assert_eq!(litter["metadata"], true);
    assert_eq!(litter["type"], "realtime");
    let hotline = list.iter().find(|s| s["service_code"] == "H03").unwrap();
    assert_eq!(hotline["metadata"], false, "no attributes for 投诉");
    let xml = get(&app, "/open311/v2/services.xml").await;
    let xml_count = xml.xml(|root| {
        assert_eq!(root.tag_name().name(), "services");
        root.children()
            .filter(|n| n.has_tag_name("service"))
            .count()
    });
    assert_eq!(xml_count, list.len());

    // Definitions use all six datatypes between them; the alias answers alike.
    let mut datatypes = std::collections::BTreeSet::new();
    for code in ["06010", "01001"] {
        let definition = get(&app, &format!("/open311/v2/services/{code}.json"))
            .await
            .json();
        assert_eq!(definition["service_code"], code);
        let attributes = definition["attributes"].as_array().unwrap();
        let mut orders: Vec<i64> = attributes
            .iter()
            .map(|a| a["order"].as_i64().unwrap())
            .collect();
        let sorted = {
            let mut o = orders.clone();
            o.sort();
            o
        };
        assert_eq!(orders, sorted, "attributes come in their order");
        orders.dedup();
        for attribute in attributes {
            assert_eq!(attribute["variable"], true);
            assert!(attribute["code"].is_string() && attribute["required"].is_boolean());
            let datatype = attribute["datatype"].as_str().unwrap().to_owned();
            let values = attribute["values"].as_array().unwrap();
            assert_eq!(
                datatype.ends_with("valuelist"),
                !values.is_empty(),
                "{attribute}"
            );
            datatypes.insert(datatype);
        }
    }
    assert_eq!(
        datatypes.into_iter().collect::<Vec<_>>(),
        [
            "datetime",
            "multivaluelist",
            "number",
            "singlevaluelist",
            "string",
            "text"
        ]
    );
    let canonical = get(&app, "/open311/v2/services/01001.xml").await;
    let alias = get(&app, "/open311/v2/service/01001.xml").await;
    assert_eq!(canonical.body, alias.body);
    canonical.xml(|root| {
        assert_eq!(root.tag_name().name(), "service_definition");
        let damage = root
            .descendants()
            .filter(|n| n.has_tag_name("attribute"))
            .find(|a| child_text(*a, "code").as_deref() == Some("damage"))
            .unwrap();
        assert_eq!(
            child_text(damage, "datatype").as_deref(),
            Some("singlevaluelist")
        );
        assert_eq!(child_text(damage, "required").as_deref(), Some("true"));
        assert!(
            damage
                .descendants()
                .filter(|n| n.has_tag_name("value"))
                .count()
                >= 5
        );
    });

    for (uri, code) in [
        ("/open311/v2/services/99999.json", 404),
        ("/open311/v2/services/99999.xml", 404),
        ("/open311/v2/service/nope.xml", 404),
        ("/open311/v2/services.json?jurisdiction_id=110000", 404),
        ("/open311/v2/services.csv", 404),
        ("/open311/v2/services", 404),
    ] {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status.as_u16(), code, "{uri}: {}", reply.text());
        assert_eq!(error_of(&reply).0, i64::from(code), "{uri}");
    }
    // Our own jurisdiction, short or long, and an empty one, are accepted.
    for uri in [
        "/open311/v2/services.json?jurisdiction_id=310000",
        "/open311/v2/services.json?jurisdiction_id=310000000000",
        "/open311/v2/services.json?jurisdiction_id=",
    ] {
        assert_eq!(get(&app, uri).await.status, StatusCode::OK, "{uri}");
    }
}

#[tokio::test]
async fn a_request_with_attributes_and_a_photo_enters_the_loop_and_reads_back() {
    let app = TestApp::spawn().await;
    let key = api_key(&app, "fixmystreet-test").await;
    let posted = send(
        &app,
        "POST",
        "/open311/v2/requests.xml?jurisdiction_id=310000",
        Some(&multipart_type()),
        multipart(
            &[
                ("api_key", &key),
                ("service_code", "06010"),
                ("lat", "31.247"),
                ("long", "121.435"),
                ("description", "路边暴露垃圾，请联系13812345678"),
                ("attribute[scale]", "patch"),
                ("attribute[times_of_day][]", "night"),
                ("attribute[times_of_day][]", "morning"),
                ("attribute[count]", "3"),
                ("first_name", "三"),
                ("last_name", "张"),
                ("phone", "13912345678"),
                ("email", "zhang@example.cn"),
            ],
            &[JPEG],
        ),
    )
    .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.text());
    let (id, token) = posted.xml(|root| {
        assert_eq!(root.tag_name().name(), "service_requests");
        let request = root.children().find(|n| n.has_tag_name("request")).unwrap();
        (
            child_text(request, "service_request_id").unwrap(),
            child_text(request, "token").unwrap(),
        )
    });
    let case_id: i64 = id.parse().unwrap();

    // The same closed loop as every channel: the staff see the case, with
    // the contact; the attributes and the photo are kept with it.
    let (status, case) = app
        .get(&format!("/api/v1/cases/{case_id}"), Some("operator"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(case["channel"], "open311");
    assert_eq!(case["status"], "reported");
    assert_eq!(
        case["reporter_contact"],
        "张 三 13912345678 zhang@example.cn"
    );
    assert_eq!(
        case["attributes"],
        json!({"scale": "patch", "times_of_day": ["night", "morning"], "count": 3.0})
    );
    assert_eq!(case["report_client"], "fixmystreet-test");
    assert_eq!(case["media"][0]["content_type"], "image/jpeg");
    let report = app
        .state
        .store()
        .case_report(case_id)
        .await
        .unwrap()
        .unwrap();
    let attributes: Value = serde_json::from_str(&report.attributes).unwrap();
    assert_eq!(
        attributes,
        json!({"scale": "patch", "times_of_day": ["night", "morning"], "count": 3.0})
    );
    assert_eq!(report.client.as_deref(), Some("fixmystreet-test"));

    // Read back in JSON: an array of one, ids as strings, the description
    // masked, no contact anywhere.
    let read = get(&app, &format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(read.status, StatusCode::OK);
    let body = read.text();
    for secret in ["13912345678", "zhang@", "张 三", "13812345678"] {
        assert!(!body.contains(secret), "{secret} leaked: {body}");
    }
    let requests = read.json();
    let request = &requests.as_array().expect("an array even of one")[0];
    assert_eq!(request["service_request_id"], id);
    assert_eq!(request["service_code"], "06010");
    assert_eq!(request["service_name"], "暴露垃圾");
    assert_eq!(request["status"], "open");
    assert_eq!(request["description"], "路边暴露垃圾，请联系138****5678");
    assert_eq!(request["lat"], 31.247);
    assert_eq!(request["long"], 121.435);
    let requested = request["requested_datetime"].as_str().unwrap();
    assert!(requested.ends_with("+08:00"), "{requested}");
    let media_url = request["media_url"].as_str().unwrap();
    let path = media_url.strip_prefix("http://city.example").unwrap();
    let photo = get(&app, path).await;
    assert_eq!(photo.status, StatusCode::OK);
    assert_eq!(photo.content_type, "image/jpeg");
    assert_eq!(photo.body, JPEG);

    // The token names the request.
    let by_token = get(&app, &format!("/open311/v2/tokens/{token}.xml")).await;
    by_token.xml(|root| {
        let request = root.children().find(|n| n.has_tag_name("request")).unwrap();
        assert_eq!(child_text(request, "service_request_id"), Some(id.clone()));
    });
    assert_eq!(
        get(&app, "/open311/v2/tokens/nope.json").await.status,
        StatusCode::NOT_FOUND
    );

    // An operator acts: the public status follows the loop.
    let (status, _) = app
        .call(
            "POST",
            &format!("/api/v1/cases/{case_id}/actions/verify"),
            Some("operator"),
            Some(json!({"note": "核实属实"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let rich = get(
        &app,
        &format!("/open311/v2/requests/{id}.xml?extensions=true"),
    )
    .await;
    rich.xml(|root| {
        let request = root.children().find(|n| n.has_tag_name("request")).unwrap();
        assert_eq!(child_text(request, "status").as_deref(), Some("open"));
        let extended = request
            .children()
            .find(|n| n.has_tag_name("extended_attributes"))
            .unwrap();
        assert_eq!(
            child_text(extended, "status_detail").as_deref(),
            Some("verified")
        );
        let actions: Vec<String> = extended
            .descendants()
            .filter(|n| n.has_tag_name("note"))
            .filter_map(|n| child_text(n, "action"))
            .collect();
        assert_eq!(actions, ["created", "verified"]);
    });

    // Lists: the request is open, not closed; filters and paging apply.
    let open = get(
        &app,
        "/open311/v2/requests.json?status=open&service_code=06010",
    )
    .await
    .json();
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .any(|r| r["service_request_id"] == id)
    );
    let closed = get(&app, "/open311/v2/requests.json?status=closed")
        .await
        .json();
    assert!(
        !closed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["service_request_id"] == id)
    );
    let other_service = get(&app, "/open311/v2/requests.json?service_code=01001")
        .await
        .json();
    assert_eq!(other_service, json!([]));
    let long_ago = get(
        &app,
        "/open311/v2/requests.json?start_date=2020-01-01T00:00:00%2B08:00&end_date=2020-02-01T00:00:00%2B08:00",
    )
    .await
    .json();
    assert_eq!(long_ago, json!([]), "outside the window");
    let page_two = get(&app, "/open311/v2/requests.json?page=2&page_size=1")
        .await
        .json();
    assert_eq!(page_two, json!([]), "one request, one page");
    let by_ids = get(
        &app,
        &format!("/open311/v2/requests.xml?service_request_id={id}&status=closed"),
    )
    .await;
    assert_eq!(
        by_ids.xml(|root| root
            .children()
            .filter(|n| n.has_tag_name("request"))
            .count()),
        1,
        "service_request_id overrides the other parameters"
    );
    // Staff-channel cases are not in the public list.
    let (status, hotline) = app
        .call(
            "POST",
            "/api/v1/cases",
            Some("operator"),
            Some(json!({"category": "06010", "lon": 121.436, "lat": 31.248,
                "description": "热线来电", "channel": "hotline"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let hotline_id = hotline["case"]["id"].as_i64().unwrap();
    let reply = get(&app, &format!("/open311/v2/requests/{hotline_id}.json")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_specifications_errors_in_both_formats() {
    let app = TestApp::spawn().await;
    let key = api_key(&app, "client").await;
    let post = |format: &'static str, pairs: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            send(
                app,
                "POST",
                &format!("/open311/v2/requests.{format}"),
                Some("application/x-www-form-urlencoded"),
                form(&pairs),
            )
            .await
        }
    };
    let good = |key: &str| {
        vec![
            ("api_key", key.to_owned()),
            ("service_code", "H03".to_owned()),
            ("lat", "31.247".to_owned()),
            ("long", "121.435".to_owned()),
            ("description", "夜间施工噪音".to_owned()),
        ]
    };
    let with = |mut pairs: Vec<(&'static str, String)>, field: &'static str, value: &str| {
        pairs.retain(|(k, _)| *k != field);
        if !value.is_empty() {
            pairs.push((field, value.to_owned()));
        }
        pairs
    };
    for format in ["json", "xml"] {
        // 403: no key, an empty key, a wrong key.
        for bad in ["", "o311_wrong"] {
            let reply = post(format, with(good(&key), "api_key", bad)).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{format} {bad:?}");
            assert_eq!(error_of(&reply).0, 403);
        }
        // 400 naming what is wrong.
        let cases: Vec<(Vec<(&'static str, String)>, &str)> = vec![
            (with(good(&key), "service_code", "99999"), "service_code"),
            (with(good(&key), "service_code", ""), "service_code"),
            (with(with(good(&key), "lat", ""), "long", ""), "lat"),
            (with(good(&key), "lat", "north"), "lat"),
            (with(good(&key), "long", "500"), "lon"),
            (with(good(&key), "address_id", "not-an-area"), "address_id"),
            (with(good(&key), "phone", "call me"), "phone"),
            (
                vec![
                    ("api_key", key.clone()),
                    ("service_code", "06010".to_owned()),
                    ("lat", "31.247".to_owned()),
                    ("long", "121.435".to_owned()),
                ],
                "attribute[scale]",
            ),
            (
                vec![
                    ("api_key", key.clone()),
                    ("service_code", "06010".to_owned()),
                    ("lat", "31.247".to_owned()),
                    ("long", "121.435".to_owned()),
                    ("attribute[scale]", "huge".to_owned()),
                ],
                "attribute[scale]",
            ),
        ];
        for (pairs, field) in cases {
            let reply = post(format, pairs.clone()).await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{format} {pairs:?}: {}",
                reply.text()
            );
            let (code, description) = error_of(&reply);
            assert_eq!(code, 400);
            assert!(
                description.contains(field),
                "{field} not named in {description:?}"
            );
        }
        // A jurisdiction that is not ours: 404.
        let reply = post(format, with(good(&key), "jurisdiction_id", "110000")).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        // GET errors.
        for (query, status) in [
            ("start_date=yesterday", 400),
            ("end_date=2026-13-01T00:00:00Z", 400),
            ("status=pending", 400),
            ("page=0", 400),
            ("page_size=1001", 400),
            (
                "start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
                400,
            ),
            ("service_request_id=424242", 404),
        ] {
            let reply = get(&app, &format!("/open311/v2/requests.{format}?{query}")).await;
            assert_eq!(
                reply.status.as_u16(),
                status,
                "{format} {query}: {}",
                reply.text()
            );
            assert_eq!(error_of(&reply).0, i64::from(status));
        }
        assert_eq!(
            get(&app, &format!("/open311/v2/requests/notanid.{format}"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    // An address alone is a location (the dispatcher confirms the area);
    // api_key may come in the query; empty parameters are absent.
    let reply = send(
        &app,
        "POST",
        &format!("/open311/v2/requests.json?api_key={key}"),
        Some("application/x-www-form-urlencoded"),
        form(&[
            ("service_code", "H03"),
            ("address_string", "长寿路 100 号"),
            ("description", ""),
            ("lat", ""),
        ]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let id = reply.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let request = get(&app, &format!("/open311/v2/requests/{id}.json"))
        .await
        .json();
    assert_eq!(request[0]["address"], "长寿路 100 号");
    assert_eq!(
        request[0]["description"], "投诉",
        "no description: the service's name"
    );
    assert_eq!(request[0]["address_id"], "310000");
    assert!(request[0]["lat"].is_null());
    // Nothing half-written by the refused posts: only this request exists.
    let all = get(&app, "/open311/v2/requests.json").await.json();
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
}

#[tokio::test]
async fn photos_are_checked_by_count_size_and_type() {
    let app = TestApp::spawn().await;
    let key = api_key(&app, "client").await;
    let fields = [
        ("api_key", key.as_str()),
        ("service_code", "H03"),
        ("lat", "31.247"),
        ("long", "121.435"),
        ("description", "噪音"),
    ];
    let post = |photos: Vec<Vec<u8>>| {
        let app = &app;
        let body = multipart(
            &fields,
            &photos.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        );
        async move {
            send(
                app,
                "POST",
                "/open311/v2/requests.json",
                Some(&multipart_type()),
                body,
            )
            .await
        }
    };
    let reply = post(vec![b"<svg onload=alert(1)>".to_vec()]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        error_of(&reply).1.contains("not a JPEG, PNG or WebP"),
        "{}",
        reply.text()
    );
    let reply = post(vec![JPEG.to_vec(); 4]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(error_of(&reply).1.contains("at most 3 photos"));
    let mut big = JPEG.to_vec();
    big.resize(cityloop_api::door::PHOTO_BYTES_MAX + 1, 0);
    let reply = post(vec![big]).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text()
    );
    assert_eq!(error_of(&reply).0, 413);
    let all = get(&app, "/open311/v2/requests.json").await.json();
    assert_eq!(all, json!([]), "no refused report was filed");
    // Three good photos are fine, and each is served back.
    let reply = post(vec![JPEG.to_vec(); 3]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let id: i64 = reply.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(app.state.store().case_media(id).await.unwrap().len(), 3);
}

#[tokio::test]
async fn fixmystreet_sends_updates_and_reads_the_loops_steps() {
    let app = TestApp::spawn().await;
    let key = api_key(&app, "fixmystreet").await;
    let other = api_key(&app, "another-client").await;
    let reply = send(
        &app,
        "POST",
        "/open311/v2/requests.json",
        Some("application/x-www-form-urlencoded"),
        form(&[
            ("api_key", &key),
            ("service_code", "H03"),
            ("lat", "31.247"),
            ("long", "121.435"),
            ("description", "夜间施工噪音"),
        ]),
    )
    .await;
    let id = reply.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let update = |key: &str| {
        form(&[
            ("api_key", key),
            ("service_request_id", &id),
            ("update_id", "fms-77"),
            ("status", "OPEN"),
            ("updated_datetime", "2026-11-29T10:00:00+08:00"),
            ("description", "今晚又在施工，电话13812345678"),
            ("first_name", "三"),
            ("last_name", "张"),
        ])
    };
    let refused = send(
        &app,
        "POST",
        "/open311/v2/servicerequestupdates.json",
        Some("application/x-www-form-urlencoded"),
        update(&other),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "another client's request"
    );
    let posted = send(
        &app,
        "POST",
        "/open311/v2/servicerequestupdates.xml",
        Some("application/x-www-form-urlencoded"),
        update(&key),
    )
    .await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.text());
    let update_id = posted.xml(|root| {
        assert_eq!(root.tag_name().name(), "service_request_updates");
        root.descendants()
            .find(|n| n.has_tag_name("update_id"))
            .unwrap()
            .text()
            .unwrap()
            .to_owned()
    });
    assert_eq!(update_id, format!("{id}-2"));

    let (_, case) = app
        .get(&format!("/api/v1/cases/{id}"), Some("operator"))
        .await;
    let kinds: Vec<&str> = case["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "commented"]);

    let (status, _) = app
        .call(
            "POST",
            &format!("/api/v1/cases/{id}/actions/decline"),
            Some("operator"),
            Some(json!({"reason": "不属于城市管理范围，已转环保部门"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let updates = get(&app, "/open311/v2/servicerequestupdates.json").await;
    assert_eq!(updates.status, StatusCode::OK, "{}", updates.text());
    let updates = updates.json();
    let mine: Vec<&Value> = updates
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["service_request_id"] == id)
        .collect();
    let statuses: Vec<&str> = mine.iter().map(|u| u["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["OPEN", "OPEN", "NO_FURTHER_ACTION"]);
    assert_eq!(mine[1]["description"], "今晚又在施工，电话138****5678");
    assert_eq!(mine[2]["description"], "不属于城市管理范围，已转环保部门");
    assert!(
        mine.iter()
            .all(|u| u["updated_datetime"].as_str().unwrap().ends_with("+08:00"))
    );
    // The request itself is now closed.
    let request = get(&app, &format!("/open311/v2/requests/{id}.json"))
        .await
        .json();
    assert_eq!(request[0]["status"], "closed");
}
