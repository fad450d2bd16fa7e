//! The binary as an operator uses it: import, locate, sla due, config show,
//! and the demo started and stopped with Ctrl-C (SIGINT).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn cityloop(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cityloop"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("CITYLOOP_DATABASE_URL")
        .output()
        .expect("run cityloop")
}

type Lines = std::io::Lines<BufReader<std::process::ChildStdout>>;

/// Starts the demo on a free port; returns the process, the rest of its
/// output and its base URL once it listens.
fn start_demo(data_dir: &Path) -> (std::process::Child, Lines, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cityloop"))
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("demo printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("cityloop listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    (child, lines, base)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn import_city_then_locate_prints_the_area_path() {
    let directory = tempfile::tempdir().unwrap();
    let output = cityloop(directory.path(), &["import", "city"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("6760 records"),
        "{}",
        text(&output.stdout)
    );

    let output = cityloop(
        directory.path(),
        &["areas", "locate", "121.4350", "31.2470", "--json"],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let path: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        path,
        serde_json::json!([
            {"code": "310000", "name": "上海市", "level": "city"},
            {"code": "310107", "name": "普陀区", "level": "district"}
        ])
    );

    let gcj = cityloop_geo::wgs84_to_gcj02(cityloop_geo::LonLat::new(121.4350, 31.2470).unwrap());
    let output = cityloop(
        directory.path(),
        &[
            "areas",
            "locate",
            &gcj.lon.to_string(),
            &gcj.lat.to_string(),
            "--crs",
            "gcj02",
        ],
    );
    assert_eq!(
        text(&output.stdout).trim(),
        "上海市 310000 (city) › 普陀区 310107 (district)"
    );

    let output = cityloop(directory.path(), &["areas", "locate", "123", "31"]);
    assert!(output.status.success());
    assert!(text(&output.stdout).contains("no known area"));

    let output = cityloop(directory.path(), &["areas", "locate", "121.4", "95"]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("lat"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_bad_import_file_names_its_line_exits_non_zero_and_changes_nothing() {
    let directory = tempfile::tempdir().unwrap();
    assert!(
        cityloop(directory.path(), &["import", "city"])
            .status
            .success()
    );
    let file = directory.path().join("departments.csv");
    std::fs::write(
        &file,
        "id,name,kind,areas,phone\n\
         310107-cgzf,普陀区城管执法局,enforcement,310107,\n\
         310107-lhsr,普陀区绿化市容局,gardening,310107,\n",
    )
    .unwrap();
    let output = cityloop(
        directory.path(),
        &["import", "departments", file.to_str().unwrap()],
    );
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("line 3") && stderr.contains("gardening"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");

    // The first, valid row was not written: a responsibility naming it fails.
    let rows = directory.path().join("duties.csv");
    std::fs::write(
        &rows,
        "category,area_code,department,basis\n06010,310107,310107-cgzf,\n",
    )
    .unwrap();
    let output = cityloop(
        directory.path(),
        &["import", "responsibilities", rows.to_str().unwrap()],
    );
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("line 2: department"),
        "{}",
        text(&output.stderr)
    );

    // Fixed, the same file goes in.
    std::fs::write(
        &file,
        "id,name,kind,areas,phone\n310107-cgzf,普陀区城管执法局,enforcement,310107,\n",
    )
    .unwrap();
    let output = cityloop(
        directory.path(),
        &["import", "departments", file.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("1 inserted"));
}

#[test]
fn sla_due_explains_a_deadline_on_the_working_calendar() {
    let directory = tempfile::tempdir().unwrap();
    let due = |limit: &str| {
        let output = cityloop(
            directory.path(),
            &[
                "sla",
                "due",
                "--start",
                "2026-09-30T16:00:00+08:00",
                "--limit",
                limit,
            ],
        );
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout).trim().to_owned()
    };
    assert_eq!(due("5wd"), "2026-10-13T16:00:00+08:00");
    assert_eq!(due("4wh"), "2026-10-08T11:00:00+08:00");
    assert_eq!(due("2h"), "2026-09-30T18:00:00+08:00");
    // Configured shifts (one period, 09:00–17:00) apply to the same question.
    let output = cityloop(
        directory.path(),
        &[
            "--working-shifts",
            "09:00-17:00",
            "sla",
            "due",
            "--start",
            "2026-09-30T16:00:00+08:00",
            "--limit",
            "4wh",
        ],
    );
    assert_eq!(text(&output.stdout).trim(), "2026-10-08T12:00:00+08:00");
    let output = cityloop(
        directory.path(),
        &["--working-shifts", "17:00-09:00", "config", "show"],
    );
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("shifts"),
        "{}",
        text(&output.stderr)
    );
    let output = cityloop(
        directory.path(),
        &[
            "sla",
            "due",
            "--start",
            "2026-12-30T16:00:00+08:00",
            "--limit",
            "5wd",
        ],
    );
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("2027"),
        "{}",
        text(&output.stderr)
    );
    let output = cityloop(
        directory.path(),
        &[
            "sla",
            "due",
            "--start",
            "2026-09-30T16:00:00+08:00",
            "--limit",
            "5 fortnights",
        ],
    );
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("--limit"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn config_show_layers_flags_over_the_file_and_redacts_passwords() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("cityloop.toml");
    std::fs::write(
        &file,
        "listen = \"0.0.0.0:9000\"\n[limits]\nrate_burst = 7\n",
    )
    .unwrap();
    let output = cityloop(
        directory.path(),
        &[
            "--config",
            file.to_str().unwrap(),
            "--database-url",
            "postgres://city:s3cret@127.0.0.1:5432/test",
            "config",
            "show",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let shown = text(&output.stdout);
    assert!(shown.contains("listen = \"0.0.0.0:9000\""), "{shown}");
    assert!(shown.contains("rate_burst = 7"), "{shown}");
    assert!(shown.contains("city:***@"), "{shown}");
    assert!(!shown.contains("s3cret"), "{shown}");

    std::fs::write(&file, "lisen = \"0.0.0.0:9000\"\n").unwrap();
    let output = cityloop(
        directory.path(),
        &["--config", file.to_str().unwrap(), "config", "show"],
    );
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("lisen"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn the_demo_starts_serves_writes_credentials_and_stops_on_ctrl_c() {
    let directory = tempfile::tempdir().unwrap();
    let (mut child, lines, base) = start_demo(directory.path());
    let credentials: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(directory.path().join("demo-credentials.json")).unwrap(),
    )
    .unwrap();
    for role in [
        "citizen",
        "operator",
        "handler",
        "dept_lead",
        "supervisor",
        "auditor",
        "admin",
    ] {
        assert!(
            credentials[role]
                .as_str()
                .is_some_and(|t| t.starts_with("cl_")),
            "{role}"
        );
        assert!(
            credentials["logins"][role]["password"].is_string(),
            "{role}"
        );
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let health: serde_json::Value = client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(health["indexed_areas"], 17);
        let me: serde_json::Value = client
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(credentials["operator"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["role"], "operator");
        let landing = client.get(format!("{base}/")).send().await.unwrap();
        assert!(landing.text().await.unwrap().contains("cityloop"));
    });
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "the demo exits cleanly on Ctrl-C: {exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l == "cityloop stopped"), "{rest:?}");
}

#[test]
fn cases_can_be_listed_shown_and_acted_on_from_the_command_line() {
    let directory = tempfile::tempdir().unwrap();
    assert!(
        cityloop(directory.path(), &["import", "city"])
            .status
            .success()
    );
    // A demo run would add users; here the admin is made through the store.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let id = runtime.block_on(async {
        use cityloop_store::Store;
        let store = std::sync::Arc::new(
            cityloop_store_sqlite::SqliteStore::open(&directory.path().join("cityloop.sqlite3"))
                .unwrap(),
        );
        store.migrate().await.unwrap();
        let user = cityloop_domain::NewUser::new(
            "ops",
            "调度员",
            cityloop_domain::Role::Operator,
            None,
            vec![cityloop_domain::AreaCode::parse("310000").unwrap()],
            None,
        )
        .unwrap();
        store
            .create_user(user, "!".into(), cityloop_store::no_audit_for())
            .await
            .unwrap();
        let cases = cityloop_cases::CaseService::open(
            store.clone(),
            cityloop_import::bundled::HOLIDAY_CN,
            cityloop_cases::CaseConfig::default(),
        )
        .await
        .unwrap();
        let index = cityloop_api::areas::build_index(store.as_ref())
            .await
            .unwrap();
        cases
            .intake(
                cityloop_cases::Intake {
                    report: None,
                    route_to: None,
                    channel: cityloop_workflow::Channel::Hotline,
                    category: cityloop_domain::CategoryCode::parse(
                        cityloop_domain::CategoryKind::Matter,
                        "06010",
                    )
                    .unwrap(),
                    urgency: cityloop_workflow::Urgency::Normal,
                    point: Some(cityloop_geo::LonLat::new(121.435, 31.247).unwrap()),
                    area: None,
                    address: None,
                    description: "暴露垃圾".into(),
                    reporter: None,
                    reporter_contact: None,
                },
                &index,
                chrono::Utc::now(),
            )
            .await
            .unwrap()
            .case
            .id
    });
    let id = id.to_string();
    let output = cityloop(
        directory.path(),
        &[
            "cases",
            "act",
            &id,
            "verify",
            "--as",
            "ops",
            "--body",
            "{\"note\":\"属实\"}",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("is now verified"),
        "{}",
        text(&output.stdout)
    );
    let output = cityloop(
        directory.path(),
        &["cases", "act", &id, "sign", "--as", "ops"],
    );
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("verified"),
        "{}",
        text(&output.stderr)
    );
    let output = cityloop(directory.path(), &["cases", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["status"], "verified");
    let output = cityloop(directory.path(), &["cases", "show", &id, "--json"]);
    let case: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let kinds: Vec<&str> = case["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "verified"]);
}

/// Runs the independent verifier (Node.js, written from the specs alone)
/// against a log; `None` when Node.js is missing and not required.
fn independent_verifier(log_url: &str) -> Option<Output> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/independent-verifier/verify.mjs");
    match Command::new("node").arg(script).arg(log_url).output() {
        Ok(output) => Some(output),
        Err(error) => {
            if std::env::var("CITYLOOP_REQUIRE_NODE").as_deref() == Ok("1") {
                panic!("Node.js is required for the independent verifier: {error}");
            }
            eprintln!("SKIPPED independent verifier: {error}");
            None
        }
    }
}

#[test]
fn the_demo_log_verifies_independently_online_offline_and_by_receipt_and_tampering_is_named() {
    let directory = tempfile::tempdir().unwrap();
    let (mut child, _lines, base) = start_demo(directory.path());
    let credentials: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(directory.path().join("demo-credentials.json")).unwrap(),
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let receipt = runtime.block_on(async {
        let client = reqwest::Client::new();
        let created: serde_json::Value = client
            .post(format!("{base}/api/v1/cases"))
            .bearer_auth(credentials["citizen"].as_str().unwrap())
            .json(
                &serde_json::json!({"category": "06010", "lon": 121.4350, "lat": 31.2470,
                "description": "井盖缺失", "reporter_contact": "赵先生 13800138000"}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let receipt = created["receipt"].as_str().expect("a receipt").to_owned();
        // The sequencer signs a checkpoint each second while leaves wait:
        // wait (bounded) until the new case's first step is in one.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let view: serde_json::Value = client
                .get(format!("{base}/api/v1/receipts/{receipt}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if view["steps"][0]["leaf_index"].is_u64() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint covers the new case: {view}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        receipt
    });

    let log_url = format!("{base}/transparency/log/");
    if let Some(output) = independent_verifier(&log_url) {
        assert!(
            output.status.success(),
            "{}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        );
    }
    let online = cityloop(directory.path(), &["verify", "--url", &base]);
    assert!(
        online.status.success(),
        "{}{}",
        text(&online.stdout),
        text(&online.stderr)
    );
    assert!(text(&online.stdout).contains("OK: the log verifies"));
    let by_receipt = cityloop(
        directory.path(),
        &["verify", "receipt", &receipt, "--url", &base],
    );
    assert!(
        by_receipt.status.success(),
        "{}{}",
        text(&by_receipt.stdout),
        text(&by_receipt.stderr)
    );
    assert!(text(&by_receipt.stdout).contains("created"));
    let forged = format!(
        "{}-000000000000000000000000",
        receipt.split('-').next().unwrap()
    );
    assert!(
        !cityloop(
            directory.path(),
            &["verify", "receipt", &forged, "--url", &base]
        )
        .status
        .success()
    );

    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());

    let offline = cityloop(directory.path(), &["verify"]);
    assert!(
        offline.status.success(),
        "{}{}",
        text(&offline.stdout),
        text(&offline.stderr)
    );
    let case_id: i64 = receipt.split('-').next().unwrap().parse().unwrap();
    let connection = rusqlite::Connection::open(directory.path().join("cityloop.sqlite3")).unwrap();
    // The working calendar in force was recorded once, at the first start.
    let calendars: i64 = connection
        .query_row(
            "SELECT count(*) FROM tlog_leaves WHERE subject = 'config:calendar'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(calendars, 1);
    connection
        .execute_batch(&format!(
            "DROP TRIGGER case_events_no_update;
             UPDATE case_events SET actor_role = 'admin' WHERE case_id = {case_id} AND seq = 1;"
        ))
        .unwrap();
    drop(connection);
    let tampered = cityloop(directory.path(), &["verify"]);
    assert!(!tampered.status.success());
    assert!(
        text(&tampered.stderr).contains(&format!("case {case_id} event 1")),
        "{}",
        text(&tampered.stderr)
    );
}

/// The tools of `tools` that do not answer `--version`.
fn missing_tools(tools: &[&str]) -> Vec<String> {
    tools
        .iter()
        .filter(|tool| {
            Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_or(true, |status| !status.success())
        })
        .map(|tool| (*tool).to_owned())
        .collect()
}

/// Runs `command` while the demo runs, stops the demo, and returns the
/// command's standard output, failing with both outputs if it failed.
fn run_against_demo(child: &mut std::process::Child, command: &mut Command) -> String {
    let output = command.output().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    stdout
}

/// Open311 client libraries from npm and PyPI, used as their documentation
/// says, against the demo (see tests/open311-clients/README.md); skipped
/// when Node.js, npm or Python is missing, unless CI requires them.
#[test]
fn open311_client_libraries_from_the_registries_work_against_the_demo() {
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/open311-clients/run.sh");
    let missing = missing_tools(&["node", "npm", "python3"]);
    if !missing.is_empty() {
        if std::env::var("CITYLOOP_REQUIRE_OPEN311_CLIENTS").as_deref() == Ok("1") {
            panic!("the Open311 client suite needs {missing:?}");
        }
        eprintln!("SKIPPED open311 client libraries: {missing:?} not found");
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    let (mut child, _lines, base) = start_demo(directory.path());
    let credentials: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(directory.path().join("demo-credentials.json")).unwrap(),
    )
    .unwrap();
    let key = credentials["open311_api_key"]
        .as_str()
        .expect("the demo writes an Open311 key");
    let stdout = run_against_demo(
        &mut child,
        Command::new("bash").arg(&runner).args([
            "--base",
            &format!("{base}/open311/v2/"),
            "--api-key",
            key,
        ]),
    );
    assert!(
        stdout.contains("open311-clients: 3 passed, 0 failed"),
        "{stdout}"
    );
}

/// A SensorThings client library from PyPI (FROST's `frost_sta_client`),
/// used as its documentation says, against the demo: a Thing with its
/// Location and Datastream by deep insert, Observations posted and read
/// back with `$filter`, `$expand` and paging, updates, deletes,
/// CreateObservations — and, through the local broker, an Observation
/// published over MQTT appears over HTTP and reaches a subscriber (see
/// tests/sta-clients/README.md). Skipped without Python unless CI requires
/// it.
#[test]
fn a_sensorthings_client_library_from_pypi_works_against_the_demo() {
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sta-clients/run.sh");
    let missing = missing_tools(&["python3"]);
    if !missing.is_empty() {
        if std::env::var("CITYLOOP_REQUIRE_STA_CLIENTS").as_deref() == Ok("1") {
            panic!("the SensorThings client suite needs {missing:?}");
        }
        eprintln!("SKIPPED SensorThings client library: {missing:?} not found");
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    let (mut child, mut lines, base) = start_demo(directory.path());
    // The demo says whether its sensors go through the local broker, then
    // (if so) the topic prefix it listens under.
    let mut mqtt_prefix = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("  sensors") && !line.contains("through MQTT") {
            break;
        }
        if let Some(rest) = line.split("publish to ").nth(1) {
            mqtt_prefix = rest.split("v1.1/").next().map(str::to_owned);
            break;
        }
    }
    if mqtt_prefix.is_none() && std::env::var("CITYLOOP_REQUIRE_MQTT").as_deref() == Ok("1") {
        panic!("the demo found no MQTT broker on 127.0.0.1:1883");
    }
    let credentials: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(directory.path().join("demo-credentials.json")).unwrap(),
    )
    .unwrap();
    let key = credentials["open311_api_key"]
        .as_str()
        .expect("the demo writes an API key");
    let mut command = Command::new("bash");
    command
        .arg(&runner)
        .args(["--base", &format!("{base}/sta/v1.1"), "--api-key", key]);
    if let Some(prefix) = &mqtt_prefix {
        command.args(["--mqtt-host", "127.0.0.1", "--mqtt-prefix", prefix]);
    } else {
        eprintln!("SKIPPED the MQTT part of the SensorThings client suite: no broker");
    }
    let stdout = run_against_demo(&mut child, &mut command);
    assert!(
        stdout.contains("sta-clients: 1 passed, 0 failed"),
        "{stdout}"
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
    if mqtt_prefix.is_some() {
        assert!(
            stdout.contains("receives the new Observation with its @iot.id"),
            "{stdout}"
        );
    }
}

/// The browser suite (tests/browser) with its npm packages installed, and
/// Debian's Chromium; `None` (after saying so) when Node.js, npm or
/// Chromium is missing, unless CI requires them.
fn browser_suite() -> Option<(std::path::PathBuf, String)> {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    let chromium =
        std::env::var("CITYLOOP_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut missing = missing_tools(&["node", "npm"]);
    if !Path::new(&chromium).exists() {
        missing.push(chromium.clone());
    }
    if !missing.is_empty() {
        if std::env::var("CITYLOOP_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("the browser suite needs {missing:?}");
        }
        eprintln!("SKIPPED browser suite: {missing:?} not found");
        return None;
    }
    if !suite.join("node_modules/playwright-core").exists() {
        let install = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
            .current_dir(&suite)
            .output()
            .unwrap();
        assert!(install.status.success(), "{}", text(&install.stderr));
    }
    Some((suite, chromium))
}

/// Runs a script of the browser suite against a fresh demo; its standard
/// output and the screenshots' directory, or `None` when the suite is
/// skipped.
fn browser_script(script: &str, extra: &[&str]) -> Option<(String, std::path::PathBuf)> {
    let (suite, chromium) = browser_suite()?;
    let directory = tempfile::tempdir().unwrap();
    let (mut child, _lines, base) = start_demo(directory.path());
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    let stdout = run_against_demo(
        &mut child,
        Command::new("node")
            .arg(suite.join(script))
            .arg("--base")
            .arg(&base)
            .arg("--credentials")
            .arg(directory.path().join("demo-credentials.json"))
            .arg("--out")
            .arg(&screenshots)
            .arg("--chromium")
            .arg(&chromium)
            .args(extra),
    );
    Some((stdout, screenshots))
}

/// The command dashboard and the case workbench (web/, served by the demo
/// at /app/) in Debian's headless Chromium: log-in, Shanghai's districts
/// on the map, topics, a case created through the API appearing live, and
/// the case walked from report to closure through the workbench alone,
/// its light and timeline changing (tests/browser/dashboard.mjs). The
/// first paint is printed, not held to a budget here (other tests share the
/// two cores); docs/PERFORMANCE.md has it measured on a quiet machine.
#[test]
fn the_dashboard_and_workbench_walk_a_case_to_closure_in_a_real_browser() {
    let Some((stdout, screenshots)) =
        browser_script("dashboard.mjs", &["--first-paint-max-ms", "0"])
    else {
        return;
    };
    assert!(
        stdout.contains("dashboard and workbench: passed"),
        "{stdout}"
    );
    assert!(stdout.contains("ok live: the new case"), "{stdout}");
    assert!(screenshots.join("dashboard.png").exists());
}

/// The citizen page in Debian's headless Chromium (tests/browser): report,
/// receipt, the case moving while staff act, the rating. Skipped when
/// Node.js, npm or Chromium is missing, unless CI requires it.
#[test]
fn the_citizen_page_reports_follows_and_rates_in_a_real_browser() {
    let Some((stdout, screenshots)) = browser_script("citizen.mjs", &[]) else {
        return;
    };
    assert!(stdout.contains("citizen page: passed"), "{stdout}");
    assert!(screenshots.join("citizen-rated.png").exists());
}

/// `cityloop import dataset`: the demo's police register (GBK CSV, its own
/// codes, GCJ-02) through its bundled mapping with the exact count of
/// quarantined lines; a bigger file stopped after one batch and resumed by
/// running the same command again, with nothing lost or repeated; a mapping
/// with a mistake named by its line, with a non-zero exit.
#[test]
fn a_dataset_import_quarantines_exactly_resumes_and_names_mapping_errors() {
    let directory = tempfile::tempdir().unwrap();
    let files = cityloop_hub::demo::write_files(&directory.path().join("files")).unwrap();
    let police = files[0].to_str().unwrap();
    assert!(
        cityloop(directory.path(), &["import", "city"])
            .status
            .success()
    );
    let departments = directory.path().join("departments.csv");
    std::fs::write(
        &departments,
        "id,name,kind,areas,phone\n310107-ga,普陀公安分局,other,310107,\n",
    )
    .unwrap();
    assert!(
        cityloop(
            directory.path(),
            &["import", "departments", departments.to_str().unwrap()]
        )
        .status
        .success()
    );

    let output = cityloop(
        directory.path(),
        &[
            "import",
            "dataset",
            police,
            "--mapping",
            "demo-putuo-police-population",
            "--dataset",
            "people",
        ],
    );
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let expected = format!(
        "{} accepted, {} quarantined",
        cityloop_hub::demo::POLICE_GOOD,
        cityloop_hub::demo::POLICE_BAD_ROWS.len()
    );
    assert!(stdout.contains(&expected), "{stdout}");
    let import_id = stdout
        .split("import ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    let quarantine =
        text(&cityloop(directory.path(), &["import", "quarantine", &import_id]).stdout);
    assert_eq!(
        quarantine
            .lines()
            .filter(|l| l.starts_with("line "))
            .count(),
        cityloop_hub::demo::POLICE_BAD_ROWS.len(),
        "{quarantine}"
    );
    assert!(quarantine.contains("id_number"), "{quarantine}");

    // Handed back as a GBK file with the header, fixed, re-imported through
    // the same mapping (no --mapping with --fixes): nothing left open.
    let handed = directory.path().join("quarantine.csv");
    let output = cityloop(
        directory.path(),
        &[
            "import",
            "quarantine",
            &import_id,
            "--csv",
            handed.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let exported_bytes = std::fs::read(&handed).unwrap();
    let (exported, _, malformed) = encoding_rs::GBK.decode(&exported_bytes);
    assert!(!malformed);
    let header = exported.lines().next().unwrap().to_owned();
    assert_eq!(
        header,
        format!("{},_line,_reasons", cityloop_hub::demo::POLICE_HEADER)
    );
    assert_eq!(
        exported.lines().count(),
        1 + cityloop_hub::demo::POLICE_BAD_ROWS.len()
    );
    let mut fixed = format!("{header}\n");
    for person in cityloop_hub::demo::people(30).iter().skip(25) {
        fixed.push_str(&format!(
            "{},{},{},{},{},HH1,普陀区,长寿路街道1号,121.44,31.24,,\n",
            person.id_number,
            person.name,
            if person.sex == "1" { "M" } else { "F" },
            person.birth.format("%Y%m%d"),
            person.mobile
        ));
    }
    std::fs::write(&handed, encoding_rs::GBK.encode(&fixed).0).unwrap();
    let output = cityloop(
        directory.path(),
        &[
            "import",
            "dataset",
            handed.to_str().unwrap(),
            "--dataset",
            "people",
            "--fixes",
            &import_id,
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("5 accepted, 0 quarantined"),
        "{}",
        text(&output.stdout)
    );
    let still_open =
        text(&cityloop(directory.path(), &["import", "quarantine", &import_id]).stdout);
    assert!(!still_open.contains("line "), "{still_open}");

    // 50,000 rows stopped after the first batch of 20,000, then resumed.
    let big = directory.path().join("big.csv");
    cityloop_hub::demo::write_bench_csv(&big, 50_000).unwrap();
    let args = [
        "import",
        "dataset",
        big.to_str().unwrap(),
        "--mapping",
        "demo-putuo-police-population",
        "--dataset",
        "big",
    ];
    let mut stopped = args.to_vec();
    stopped.extend(["--stop-after-batches", "1"]);
    let first = text(&cityloop(directory.path(), &stopped).stdout);
    assert!(first.contains("stopped early"), "{first}");
    let second = cityloop(directory.path(), &args);
    let second_out = text(&second.stdout);
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert!(second_out.contains("resumed import"), "{second_out}");
    let bad = cityloop_hub::demo::bench_bad_rows(50_000);
    assert!(
        second_out.contains(&format!("{} accepted, {bad} quarantined", 50_000 - bad)),
        "every line once: {second_out}"
    );
    let database = rusqlite::Connection::open(directory.path().join("cityloop.sqlite3")).unwrap();
    let rows: i64 = database
        .query_row(
            "SELECT count(*) FROM hub_rows WHERE dataset = 'big'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let quarantined: i64 = database
        .query_row(
            "SELECT count(*) FROM hub_quarantine q JOIN hub_imports i ON i.id = q.import_id
             WHERE i.dataset = 'big'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        (rows + quarantined) as usize,
        50_000,
        "rows {rows}, quarantined {quarantined}"
    );
    let clear: i64 = database
        .query_row(
            "SELECT count(*) FROM hub_rows WHERE key GLOB '3*' OR subject GLOB '3*'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        clear, 0,
        "keys and subjects are pseudonyms, not identity numbers"
    );

    // A mapping with a mistake: its line, a non-zero exit, nothing written.
    let mapping = directory.path().join("bad.toml");
    std::fs::write(
        &mapping,
        "id = \"x\"\nversion = \"1\"\nstandard = \"population\"\nowner = \"310107-ga\"\n\n[source]\nformat = \"csv\"\nencoding = \"gbk\"\n\n[[field]]\ntarget = \"name\"\nsourse = \"姓名\"\n",
    )
    .unwrap();
    let output = cityloop(
        directory.path(),
        &[
            "import",
            "dataset",
            police,
            "--mapping",
            mapping.to_str().unwrap(),
            "--dataset",
            "other",
        ],
    );
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("line 12") || stderr.contains("line 10"),
        "{stderr}"
    );
}

/// The data hub's pages in Debian's headless Chromium
/// (tests/browser/datahub.mjs): the catalogue searched, a dataset's fields
/// with their classification and its lineage; the grantee's masked preview
/// and the owner's clear one with the quarantine; a department without a
/// grant refused with the request form; the citizen's tracker listing the
/// bureau's read.
#[test]
fn the_data_hub_pages_share_masked_rows_and_show_the_citizen_who_read_them() {
    let Some((stdout, screenshots)) = browser_script("datahub.mjs", &[]) else {
        return;
    };
    assert!(stdout.contains("data hub: passed"), "{stdout}");
    assert!(screenshots.join("datahub-tracker.png").exists());
}
