//! The transparency log over HTTP: receipts prove a citizen's case steps,
//! tiles and proofs verify against the signed checkpoint, every kind of
//! exercise of power leaves a leaf, and no leaf carries personal data.

mod common;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cityloop_tlog::{Checkpoint, NoteVerifier, leaf_hash};
use common::TestApp;
use serde_json::{Value, json};

const CHANGSHOU: (f64, f64) = (121.4350, 31.2470);
const CONTACT_PHONE: &str = "13912345678";

async fn report(app: &TestApp) -> Value {
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/cases",
            Some("citizen"),
            Some(
                json!({"category": "06010", "lon": CHANGSHOU.0, "lat": CHANGSHOU.1,
                "description": "路边暴露垃圾，影响通行",
                "reporter_contact": format!("张先生 {CONTACT_PHONE}")}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn verifier(app: &TestApp) -> NoteVerifier {
    let (status, key) = app.get_bytes("/transparency/log/key").await;
    assert_eq!(status, StatusCode::OK);
    NoteVerifier::parse(String::from_utf8(key).unwrap().trim()).unwrap()
}

async fn signed_checkpoint(app: &TestApp) -> Checkpoint {
    let (status, note) = app.get_bytes("/transparency/log/checkpoint").await;
    assert_eq!(status, StatusCode::OK);
    let text = verifier(app)
        .await
        .verify(&String::from_utf8(note).unwrap())
        .expect("the checkpoint is signed by the published key");
    Checkpoint::parse(&text).unwrap()
}

/// Every entry of the log, fetched as a tlog client does.
async fn entries(app: &TestApp, size: u64) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    for tile in 0..size.div_ceil(256) {
        let width = (size - tile * 256).min(256) as u16;
        let (status, bundle) = app
            .get_bytes(&format!(
                "/transparency/log/{}",
                cityloop_tlog::entries_path(tile, width)
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        all.extend(cityloop_tlog::decode_entry_bundle(&bundle).unwrap());
    }
    all
}

/// The base64 hashes of a JSON proof.
fn hashes_of(proof: &Value) -> Vec<[u8; 32]> {
    proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| <[u8; 32]>::try_from(STANDARD.decode(h.as_str().unwrap()).unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn a_receipt_proves_every_public_step_of_the_case() {
    let app = TestApp::spawn().await;
    let created = report(&app).await;
    let id = created["case"]["id"].as_i64().unwrap();
    let receipt = created["receipt"].as_str().unwrap().to_owned();
    let (status, _) = app
        .call(
            "POST",
            &format!("/api/v1/cases/{id}/actions/verify"),
            Some("operator"),
            Some(json!({"note": "属实"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.checkpoint().await;

    let (status, view) = app.get(&format!("/api/v1/receipts/{receipt}"), None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["case_id"], id);
    let actions: Vec<&str> = view["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[0], "created");
    assert!(actions.contains(&"verified"), "{actions:?}");
    let view: cityloop_transparency::receipt::ReceiptView = serde_json::from_value(view).unwrap();
    assert!(view.steps.iter().all(|s| s.leaf_index.is_some()));
    let key = verifier(&app).await;
    assert_eq!(
        cityloop_transparency::receipt::check_receipt(&view, &key),
        Vec::<String>::new()
    );

    // A forged step does not verify.
    let mut forged = view.clone();
    forged.steps[0].action = "closed".into();
    assert!(!cityloop_transparency::receipt::check_receipt(&forged, &key).is_empty());

    // A guessed receipt shows nothing.
    let (status, body) = app
        .get(
            &format!("/api/v1/receipts/{id}-000000000000000000000000"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn tiles_and_proofs_verify_against_the_signed_checkpoint() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        report(&app).await;
    }
    let first = app.checkpoint().await;
    for _ in 0..2 {
        report(&app).await;
    }
    app.checkpoint().await;
    let checkpoint = signed_checkpoint(&app).await;
    assert!(checkpoint.size > first);

    let leaves = entries(&app, checkpoint.size).await;
    let hashes: Vec<_> = leaves.iter().map(|l| leaf_hash(l)).collect();
    assert_eq!(cityloop_tlog::root_of(&hashes), checkpoint.root);
    let (status, tile) = app
        .get_bytes(&format!(
            "/transparency/log/{}",
            cityloop_tlog::tile_path(cityloop_tlog::TileId {
                level: 0,
                index: 0,
                width: checkpoint.size as u16
            })
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tile, hashes.concat());

    for index in [0, checkpoint.size / 2, checkpoint.size - 1] {
        let (status, proof) = app
            .get(
                &format!("/transparency/log/proof/inclusion?index={index}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{proof}");
        let path = hashes_of(&proof);
        cityloop_tlog::verify_inclusion(
            &hashes[index as usize],
            index,
            checkpoint.size,
            &path,
            &checkpoint.root,
        )
        .expect("inclusion proof verifies");
    }
    let (status, proof) = app
        .get(
            &format!("/transparency/log/proof/consistency?first={first}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{proof}");
    let path = hashes_of(&proof);
    let old_root = cityloop_tlog::root_of(&hashes[..first as usize]);
    cityloop_tlog::verify_consistency(first, checkpoint.size, &old_root, &checkpoint.root, &path)
        .expect("consistency proof verifies");

    // Bad requests name what is wrong; absent tiles are 404.
    let (status, body) = app
        .get(
            &format!(
                "/transparency/log/proof/inclusion?index={}",
                checkpoint.size
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "index");
    let (status, _) = app.get_bytes("/transparency/log/tile/0/0001").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.get_bytes("/transparency/log/tile/0/999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_exercise_of_power_is_a_leaf_and_no_leaf_holds_personal_data() {
    let app = TestApp::spawn().await;
    let created = report(&app).await;
    let id = created["case"]["id"].as_i64().unwrap();
    // A dispatcher reads the reporter's contact: logged before it is shown.
    let (status, case) = app
        .get(&format!("/api/v1/cases/{id}"), Some("operator"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        case["reporter_contact"]
            .as_str()
            .unwrap()
            .contains(CONTACT_PHONE)
    );
    // Lists never show it in the clear.
    let (_, list) = app.get("/api/v1/cases", Some("operator")).await;
    assert!(!list.to_string().contains(CONTACT_PHONE), "{list}");
    // A configuration change and a grant.
    let (status, rules) = app.get("/api/v1/sla/rules", Some("admin")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .call("PUT", "/api/v1/sla/rules", Some("admin"), Some(rules))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/users",
            Some("admin"),
            Some(json!({
            "username": "new-inspector", "display_name": "王五", "role": "supervisor",
            "areas": ["310107"], "phone": "13700001111", "password": "a long enough password",
            "basis": "普陀区城市网格化管理办法 第十二条"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // An admin reads the staff directory with phone numbers in the clear.
    let (status, staff) = app
        .get("/api/v1/departments/310107-cgzf/users", Some("admin"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(staff.to_string().contains("13812341234"));
    // A privileged log-in.
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "test-operator", "password": common::PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let size = app.checkpoint().await;
    let leaves = entries(&app, size).await;
    let texts: Vec<String> = leaves
        .iter()
        .map(|l| String::from_utf8(l.clone()).unwrap())
        .collect();
    let kinds: Vec<Value> = texts
        .iter()
        .map(|t| serde_json::from_str::<Value>(t).unwrap())
        .collect();
    let has = |kind: &str| kinds.iter().any(|k| k["type"] == kind);
    for kind in ["case", "access", "config", "grant", "login"] {
        assert!(has(kind), "no {kind} leaf in {texts:#?}");
    }
    assert!(
        kinds
            .iter()
            .any(|k| k["type"] == "grant" && k["basis"] == "普陀区城市网格化管理办法 第十二条")
    );
    assert!(
        kinds
            .iter()
            .any(|k| k["type"] == "access" && k["subject"] == "department:310107-cgzf:staff")
    );
    let phone = regex_like_phone();
    for text in &texts {
        for secret in [
            CONTACT_PHONE,
            "13812341234",
            "13700001111",
            "张先生",
            "王五",
            "new-inspector",
            "路边暴露垃圾",
            "test-operator",
        ] {
            assert!(!text.contains(secret), "{secret} in leaf {text}");
        }
        assert!(!phone(text), "a mobile number in leaf {text}");
    }
}

/// True when `text` holds 11 digits starting 1[3-9] not inside a longer run
/// of digits or hex (a pseudonym or hash may contain digit runs).
fn regex_like_phone() -> impl Fn(&str) -> bool {
    |text: &str| {
        let bytes = text.as_bytes();
        (0..bytes.len().saturating_sub(10)).any(|i| {
            let window = &bytes[i..i + 11];
            let boundary_before = i == 0 || !bytes[i - 1].is_ascii_hexdigit();
            let boundary_after = bytes.get(i + 11).is_none_or(|b| !b.is_ascii_hexdigit());
            boundary_before
                && boundary_after
                && window.iter().all(u8::is_ascii_digit)
                && window[0] == b'1'
                && (b'3'..=b'9').contains(&window[1])
        })
    }
}

async fn report_in(app: &TestApp, street: &str) {
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/cases",
            Some("operator"),
            Some(json!({"category": "06010", "area_code": street, "description": "热线来电：暴露垃圾"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn public_performance_hides_small_counts_and_what_would_reveal_them() {
    let app = TestApp::spawn().await;
    for _ in 0..12 {
        report_in(&app, "310107015").await; // 长寿路街道
    }
    report_in(&app, "310107016").await; // 甘泉路街道: a single case

    // No account needed.
    let (status, page) = app
        .get("/api/v1/public/performance?group_by=street", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["k"], 10);
    assert_eq!(page["formulas"].as_array().unwrap().len(), 12);
    let cases = |group: &str| {
        page["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["group"] == group)
            .map(|r| r["cases"].clone())
            .unwrap_or_else(|| panic!("no row {group} in {page}"))
    };
    // 1 is below k; 12 alone beside the district total would reveal it.
    assert_eq!(cases("310107016"), Value::Null);
    assert_eq!(cases("310107015"), Value::Null);
    let putuo = page["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["group"] == "310107")
        .unwrap();
    assert_eq!(putuo["cases"], 13);
    assert_eq!(putuo["name"], "普陀区");
    // The checkpoint is signed and already holds every counted row.
    let checkpoint = verifier(&app)
        .await
        .verify(page["checkpoint"].as_str().unwrap())
        .unwrap();
    let checkpoint = Checkpoint::parse(&checkpoint).unwrap();
    assert_eq!(checkpoint.size, page["tree_size"].as_u64().unwrap());
    assert_eq!(app.state.store().tlog_queued().await.unwrap(), 0);
    // Asked again with nothing new in the log: the same answer, not a
    // recomputation (its `as_of` is the first one's).
    let (_, again) = app
        .get("/api/v1/public/performance?group_by=street", None)
        .await;
    assert_eq!(again, page);

    // Nobody lowers k.
    let (status, body) = app.get("/api/v1/public/performance?k=3", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "k");
    // With more cases both streets show.
    for _ in 0..10 {
        report_in(&app, "310107016").await;
    }
    let (_, page) = app
        .get("/api/v1/public/performance?group_by=street", None)
        .await;
    let shown: Vec<Value> = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["partition"] == "310107")
        .map(|r| r["cases"].clone())
        .collect();
    assert!(
        shown.contains(&json!(12)) && shown.contains(&json!(11)),
        "{page}"
    );
    let (status, html) = app.get_bytes("/transparency/performance").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        String::from_utf8(html)
            .unwrap()
            .contains("/api/v1/public/performance")
    );
}

#[tokio::test]
async fn grant_changes_and_revocations_take_effect_at_once_and_are_logged() {
    let app = TestApp::spawn().await;
    let (_, handler) = app.get("/api/v1/me", Some("handler")).await;
    let id = handler["id"].as_i64().unwrap();
    let (_, admin) = app.get("/api/v1/me", Some("admin")).await;
    let grant = |body: Value| {
        let app = &app;
        async move {
            app.call(
                "PUT",
                &format!("/api/v1/users/{id}/grant"),
                Some("admin"),
                Some(body),
            )
            .await
        }
    };
    // The basis is required; a handler needs a department.
    let (status, body) =
        grant(json!({"role": "operator", "areas": ["310107"], "basis": " "})).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("basis"))
    );
    let (status, body) = grant(json!({"role": "handler", "basis": "调岗"})).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("department")),
        "{body}"
    );
    // A department lead cannot make an operator; nobody changes their own grant.
    let (status, _) = app
        .call(
            "PUT",
            &format!("/api/v1/users/{id}/grant"),
            Some("dept_lead"),
            Some(json!({"role": "operator", "areas": ["310107"], "basis": "调岗"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call(
            "PUT",
            &format!("/api/v1/users/{}/grant", admin["id"]),
            Some("admin"),
            Some(json!({"role": "auditor", "basis": "调岗"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, body) = grant(json!({"role": "operator", "areas": ["310107"],
        "basis": "普陀区城运中心 2026 年第 3 号调岗通知"}))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, me) = app.get("/api/v1/me", Some("handler")).await;
    assert_eq!(me["role"], "operator", "the live token sees the new grant");

    let (status, _) = app
        .call(
            "POST",
            &format!("/api/v1/users/{id}/revoke"),
            Some("admin"),
            Some(json!({"basis": "离职"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/api/v1/me", Some("handler")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "test-handler", "password": common::PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let size = app.checkpoint().await;
    let grants: Vec<Value> = entries(&app, size)
        .await
        .iter()
        .map(|e| serde_json::from_slice::<Value>(e).unwrap())
        .filter(|leaf| leaf["type"] == "grant")
        .collect();
    let changes: Vec<(&str, &str)> = grants
        .iter()
        .map(|g| (g["change"].as_str().unwrap(), g["basis"].as_str().unwrap()))
        .collect();
    assert!(
        changes.contains(&("change", "普陀区城运中心 2026 年第 3 号调岗通知")),
        "{changes:?}"
    );
    assert!(changes.contains(&("revoke", "离职")), "{changes:?}");
    let revoke = grants.iter().find(|g| g["change"] == "revoke").unwrap();
    assert_eq!(revoke["by"]["role"], "admin");
    assert!(revoke["grantee"].as_str().unwrap().starts_with("u:"));
}
