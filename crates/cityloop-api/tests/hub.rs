//! The data hub over HTTP: two departments' registers in their own formats
//! imported into one standard with exact quarantine, the catalogue, and
//! sharing under grants — 403 without, granted fields masked with, revoked
//! or expired at once — with the citizen's tracker listing the reads.

mod common;

use axum::http::StatusCode;
use cityloop_hub::demo;
use common::{TestApp, multipart_files, multipart_type};
use serde_json::{Value, json};

async fn import(
    app: &TestApp,
    user: &str,
    dataset: &str,
    mapping: &str,
    file: &std::path::Path,
    fixes: Option<i64>,
) -> (StatusCode, Value) {
    let bytes = std::fs::read(file).unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let fixes = fixes.map(|id| id.to_string());
    let mut fields = vec![("mapping", mapping)];
    if let Some(fixes) = &fixes {
        fields.push(("fixes", fixes.as_str()));
    }
    app.send_bytes(
        "POST",
        &format!("/api/v1/hub/datasets/{dataset}/imports"),
        Some(user),
        &multipart_type(),
        multipart_files(&fields, &[("file".to_owned(), name, &bytes)]),
    )
    .await
}

struct Demo {
    app: TestApp,
    police_import: i64,
    _dir: tempfile::TempDir,
}

async fn imported() -> Demo {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let files = demo::write_files(dir.path()).unwrap();
    let (status, police) = import(
        &app,
        "police_lead",
        "police-population",
        "demo-putuo-police-population",
        &files[0],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{police}");
    Demo {
        app,
        police_import: police["id"].as_i64().unwrap(),
        _dir: dir,
    }
}

#[tokio::test]
async fn two_departments_formats_land_in_one_standard_with_every_bad_row_quarantined() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let files = demo::write_files(dir.path()).unwrap();

    // Another department may not import into the police's dataset.
    let (status, problem) = import(
        &app,
        "civil_lead",
        "police-population",
        "demo-putuo-police-population",
        &files[0],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");

    let (status, police) = import(
        &app,
        "police_lead",
        "police-population",
        "demo-putuo-police-population",
        &files[0],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{police}");
    assert_eq!(police["accepted"], demo::POLICE_GOOD as u64);
    assert_eq!(police["rejected"], demo::POLICE_BAD_ROWS.len() as u64);
    assert_eq!(police["status"], "done");
    assert!(police["quality"]["fields"].as_array().unwrap().len() > 5);

    let (status, civil) = import(
        &app,
        "civil_lead",
        "civil-population",
        "demo-civil-affairs-population",
        &files[1],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{civil}");
    assert_eq!(civil["accepted"], demo::CIVIL_GOOD as u64);
    let civil_rejected = civil["rejected"].as_u64().unwrap();
    assert!(civil_rejected > 0);

    // Quarantine: each bad line with its line number and every reason,
    // for the owner only.
    let police_id = police["id"].as_i64().unwrap();
    let (status, lines) = app
        .get(
            &format!("/api/v1/hub/imports/{police_id}/quarantine"),
            Some("police_lead"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{lines}");
    let lines = lines.as_array().unwrap();
    assert_eq!(lines.len(), demo::POLICE_BAD_ROWS.len());
    let queued = app.state.store().tlog_queued().await.unwrap()
        + app.state.store().tlog_size().await.unwrap();
    app.get(
        &format!("/api/v1/hub/imports/{police_id}/quarantine"),
        Some("police_lead"),
    )
    .await;
    assert_eq!(
        app.state.store().tlog_queued().await.unwrap()
            + app.state.store().tlog_size().await.unwrap(),
        queued + 1,
        "reading raw quarantined lines is a log leaf"
    );
    assert!(lines.iter().all(|l| l["line"].as_u64().unwrap() >= 2));
    assert!(
        lines
            .iter()
            .all(|l| !l["reasons"].as_array().unwrap().is_empty()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["reasons"].as_array().unwrap().len() >= 2),
        "a row with two faults names both: {lines:?}"
    );
    let (status, _) = app
        .get(
            &format!("/api/v1/hub/imports/{police_id}/quarantine"),
            Some("civil_lead"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The catalogue: both registers conform to one standard.
    let (status, found) = app
        .get("/api/v1/hub/datasets?q=population", Some("operator"))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|d| d["standard"] == "population"));
    let police_entry = found
        .iter()
        .find(|d| d["id"] == "police-population")
        .unwrap();
    assert_eq!(police_entry["owner"], "310107-ga");
    assert_eq!(police_entry["rows"], demo::POLICE_GOOD as u64);
    let id_field = police_entry["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "id_number")
        .unwrap();
    assert_eq!(id_field["classification"], "sensitive_personal");
    let (_, detail) = app
        .get("/api/v1/hub/datasets/police-population", Some("operator"))
        .await;
    assert_eq!(detail["imports"][0]["id"], police_id, "lineage");
    let (status, _) = app.get("/api/v1/hub/datasets", Some("citizen")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The same counting definition for both: age bands from one standard.
    let (_, own) = app
        .get(
            "/api/v1/hub/datasets/police-population/rows?limit=1000",
            Some("police_lead"),
        )
        .await;
    assert_eq!(own["masked"], false);
    assert_eq!(own["rows"].as_array().unwrap().len(), demo::POLICE_GOOD);
    assert!(
        own["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| ["0-14", "15-59", "60+"].contains(&r["age_band"].as_str().unwrap_or(""))),
        "{own}"
    );

    // A mapping with a mistake is refused with its line number.
    let bad_mapping = "id = \"x\"\nversion = \"1\"\nstandard = \"population\"\nowner = \"310107-ga\"\n[source]\nformat = \"csv\"\n[[field]]\ntarget = 7\n";
    let (status, problem) = import(
        &app,
        "police_lead",
        "police-population",
        bad_mapping,
        &files[0],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["field"], "mapping");
    assert!(
        problem["detail"].as_str().unwrap().contains("line"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_grant_opens_only_its_fields_masked_and_closes_at_once() {
    let Demo {
        app, police_import, ..
    } = imported().await;
    assert!(police_import > 0);
    let rows = "/api/v1/hub/datasets/police-population/rows?limit=1000";

    // No grant: 403. Staff without a department: 403 too.
    let (status, problem) = app.get(rows, Some("civil_lead")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, _) = app.get(rows, Some("admin")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let until = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let (status, problem) = app
        .call(
            "POST",
            "/api/v1/hub/datasets/police-population/grants",
            Some("civil_lead"),
            Some(json!({"fields": ["name", "wage"], "purpose": "核对", "valid_until": until})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["field"], "fields[1]");
    let (status, grant) = app
        .call(
            "POST",
            "/api/v1/hub/datasets/police-population/grants",
            Some("civil_lead"),
            Some(json!({
                "fields": ["name", "mobile", "id_number", "age_band", "sex"],
                "purpose": "高龄津贴资格核对",
                "valid_until": until,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{grant}");
    assert_eq!(grant["status"], "requested");
    let grant_id = grant["id"].as_i64().unwrap();

    // Requested is not granted.
    let (status, _) = app.get(rows, Some("civil_lead")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Only the owner's lead decides.
    let decision = format!("/api/v1/hub/grants/{grant_id}/decision");
    for user in ["police_handler", "civil_lead", "dept_lead"] {
        let (status, _) = app
            .call(
                "POST",
                &decision,
                Some(user),
                Some(json!({"approve": true})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user}");
    }
    let (status, approved) = app
        .call(
            "POST",
            &decision,
            Some("police_lead"),
            Some(json!({"approve": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["in_force"], true);
    let (status, _) = app
        .call(
            "POST",
            &decision,
            Some("police_lead"),
            Some(json!({"approve": false, "note": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "decided once");

    // Granted: only those fields, personal ones masked.
    let (status, page) = app.get(rows, Some("civil_lead")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["masked"], true);
    let rows_read = page["rows"].as_array().unwrap();
    assert_eq!(rows_read.len(), demo::POLICE_GOOD);
    let people = demo::people(demo::POLICE_GOOD);
    for row in rows_read {
        let object = row.as_object().unwrap();
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            ["age_band", "id_number", "mobile", "name", "sex"],
            "{row}"
        );
        assert!(
            ["1", "2"].contains(&row["sex"].as_str().unwrap()),
            "codes pass: {row}"
        );
        let name = row["name"].as_str().unwrap();
        assert!(
            name.ends_with('*') && !people.iter().any(|p| p.name == name),
            "{name}"
        );
        let mobile = row["mobile"].as_str().unwrap();
        assert_eq!(mobile.len(), 11);
        assert_eq!(&mobile[3..7], "****", "{mobile}");
        let id = row["id_number"].as_str().unwrap();
        assert_eq!(id.chars().count(), 18);
        assert!(id[3..14].chars().all(|c| c == '*'), "{id}");
        assert!(["0-14", "15-59", "60+"].contains(&row["age_band"].as_str().unwrap()));
    }
    let first = &people[0];
    let masked_first = format!(
        "{}***********{}",
        &first.id_number[..3],
        &first.id_number[14..]
    );
    assert!(
        rows_read
            .iter()
            .any(|r| r["id_number"] == masked_first.as_str()),
        "{masked_first} in {rows_read:?}"
    );

    // The citizen: bound by an administrator, sees the bureau's read.
    let (_, me) = app.get("/api/v1/me", Some("citizen")).await;
    let citizen_id = me["id"].as_i64().unwrap();
    let (status, problem) = app.get("/api/v1/me/data-access", Some("citizen")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not bound yet: {problem}");
    let bind = format!("/api/v1/hub/people/{citizen_id}");
    let (status, problem) = app
        .call(
            "PUT",
            &bind,
            Some("admin"),
            Some(json!({"id_number": "310107198503120015"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a bad check digit: {problem}"
    );
    assert_eq!(problem["field"], "id_number");
    let (status, _) = app
        .call(
            "PUT",
            &bind,
            Some("police_lead"),
            Some(json!({"id_number": first.id_number})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call(
            "PUT",
            &bind,
            Some("admin"),
            Some(json!({"id_number": first.id_number})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, tracker) = app.get("/api/v1/me/data-access", Some("citizen")).await;
    assert_eq!(status, StatusCode::OK, "{tracker}");
    let tracker = tracker.as_array().unwrap();
    assert_eq!(tracker.len(), 1, "one read so far: {tracker:?}");
    assert_eq!(tracker[0]["department"], "310107-mz");
    assert_eq!(tracker[0]["purpose"], "高龄津贴资格核对");
    assert_eq!(tracker[0]["dataset"], "police-population");
    let fields: Vec<&str> = tracker[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"id_number") && !fields.contains(&"age_band"),
        "{fields:?}"
    );
    // The owner's own reads are recorded too.
    app.get(rows, Some("police_lead")).await;
    let (_, tracker) = app.get("/api/v1/me/data-access", Some("citizen")).await;
    assert_eq!(tracker.as_array().unwrap().len(), 2);

    // Revoked: closed at the next request.
    let revoke = format!("/api/v1/hub/grants/{grant_id}/revocation");
    let (status, problem) = app
        .call(
            "POST",
            &revoke,
            Some("police_lead"),
            Some(json!({"note": ""})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let (status, revoked) = app
        .call(
            "POST",
            &revoke,
            Some("police_lead"),
            Some(json!({"note": "核对结束"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["in_force"], false);
    let (status, _) = app.get(rows, Some("civil_lead")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Expired: an approved grant past its end opens nothing.
    let hub = app.state.store().hub();
    let requester = cityloop_domain::UserId(citizen_id);
    let past = chrono::Utc::now() - chrono::Duration::days(10);
    hub.put_grant(
        cityloop_store::hub::HubGrant {
            id: 0,
            dataset: "police-population".into(),
            department: cityloop_domain::DepartmentId::parse("310107-mz").unwrap(),
            fields: vec!["name".into()],
            purpose: "过期".into(),
            valid_from: past,
            valid_until: past + chrono::Duration::days(1),
            status: "approved".into(),
            requested_by: requester,
            requested_at: past,
            decided_by: None,
            decided_at: None,
            note: String::new(),
        },
        Vec::new(),
    )
    .await
    .unwrap();
    let (status, _) = app.get(rows, Some("civil_lead")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Paging never hands out an identity number as its cursor, not even
    // to the owner.
    let (_, small) = app
        .get(
            "/api/v1/hub/datasets/police-population/rows?limit=5",
            Some("police_lead"),
        )
        .await;
    let cursor = small["next_after"].as_str().unwrap();
    assert!(
        cursor.starts_with("k:") && !people.iter().any(|p| cursor.contains(&p.id_number[..6])),
        "{cursor}"
    );
    let (_, next) = app
        .get(
            &format!("/api/v1/hub/datasets/police-population/rows?limit=5&after={cursor}"),
            Some("police_lead"),
        )
        .await;
    assert_eq!(next["rows"].as_array().unwrap().len(), 5);
    assert_ne!(next["rows"][0], small["rows"][0]);
    // Grants are listed to the two departments and to supervision only.
    let (_, listed) = app.get("/api/v1/hub/grants", Some("civil_lead")).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let (_, listed) = app.get("/api/v1/hub/grants", Some("handler_huangpu")).await;
    assert!(listed.as_array().unwrap().is_empty());
    let (_, listed) = app.get("/api/v1/hub/grants", Some("auditor")).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn fixed_quarantined_lines_are_re_imported_and_marked_fixed() {
    let Demo {
        app,
        police_import,
        _dir,
    } = imported().await;
    let (_, lines) = app
        .get(
            &format!("/api/v1/hub/imports/{police_import}/quarantine"),
            Some("police_lead"),
        )
        .await;
    let open = lines.as_array().unwrap().len();
    assert_eq!(open, demo::POLICE_BAD_ROWS.len());
    // The quarantine handed back as a file in the department's format:
    // GBK, its header, each line as read, plus the line and the reasons.
    let request = axum::http::Request::builder()
        .uri(format!(
            "/api/v1/hub/imports/{police_import}/quarantine.csv"
        ))
        .header(
            "authorization",
            format!("Bearer {}", app.token("police_lead")),
        )
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=gbk");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let (text, _, malformed) = encoding_rs::GBK.decode(&bytes);
    assert!(!malformed);
    let exported: Vec<&str> = text.lines().collect();
    assert_eq!(
        exported[0],
        format!("{},_line,_reasons", demo::POLICE_HEADER)
    );
    assert_eq!(exported.len(), 1 + open);
    for (line, bad) in exported[1..].iter().zip(lines.as_array().unwrap()) {
        assert!(line.starts_with(bad["raw"].as_str().unwrap()), "{line}");
        assert!(line.contains(&format!(",{},", bad["line"])), "{line}");
    }
    let (status, _) = app
        .get(
            &format!("/api/v1/hub/imports/{police_import}/quarantine.csv"),
            Some("civil_lead"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The department corrects the lines (here: the rows of three people
    // instead), keeping the header and the extra columns.
    let mut text = format!("{}\r\n", exported[0]);
    for person in demo::people(demo::POLICE_GOOD + 3)
        .iter()
        .skip(demo::POLICE_GOOD)
    {
        text.push_str(&format!(
            "{},{},{},{},{},HH1,普陀区,长寿路街道1号,121.44,31.24,3,fixed\r\n",
            person.id_number,
            person.name,
            if person.sex == "1" { "M" } else { "F" },
            person.birth.format("%Y%m%d"),
            person.mobile
        ));
    }
    let (bytes, _, _) = encoding_rs::GBK.encode(&text);
    // No mapping: a fix goes through the mapping of the import it fixes.
    let fixes = police_import.to_string();
    let (status, fix) = app
        .send_bytes(
            "POST",
            "/api/v1/hub/datasets/police-population/imports",
            Some("police_lead"),
            &multipart_type(),
            multipart_files(
                &[("fixes", fixes.as_str())],
                &[("file".to_owned(), "fixed.csv".to_owned(), &bytes)],
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{fix}");
    assert_eq!(
        (fix["accepted"].as_u64(), fix["rejected"].as_u64()),
        (Some(3), Some(0))
    );
    assert_eq!(fix["mapping"], "demo-putuo-police-population");
    assert_eq!(fix["fixes"], police_import);
    let (_, still_open) = app
        .get(
            &format!("/api/v1/hub/imports/{police_import}/quarantine"),
            Some("police_lead"),
        )
        .await;
    assert!(still_open.as_array().unwrap().is_empty(), "{still_open}");
    let (_, all) = app
        .get(
            &format!("/api/v1/hub/imports/{police_import}/quarantine?all=true"),
            Some("police_lead"),
        )
        .await;
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|l| l["fixed_by"] == fix["id"])
    );
    let (_, dataset) = app
        .get("/api/v1/hub/datasets/police-population", Some("operator"))
        .await;
    assert_eq!(dataset["rows"], (demo::POLICE_GOOD + 3) as u64);
}
