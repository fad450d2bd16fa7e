//! A fresh application per test: the real Shanghai model and the demo
//! directory on a new SQLite database, one user and token per role.

#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use cityloop_api::{ApiLimits, AppState, SystemClock, app, auth};
use cityloop_domain::{AreaCode, DepartmentId, NewUser, Role};
use cityloop_import::{Silent, bundled};
use cityloop_store::Store;
use cityloop_store_sqlite::SqliteStore;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use tower::ServiceExt;

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    tokens: HashMap<&'static str, String>,
    _directory: tempfile::TempDir,
}

/// (key, role, department, areas). The operator and supervisor cover Putuo
/// only, so scope can be tested against Huangpu.
pub const USERS: &[(&str, Role, Option<&str>, &[&str])] = &[
    ("citizen", Role::Citizen, None, &[]),
    ("operator", Role::Operator, Some("city-ops"), &["310107"]),
    ("handler", Role::Handler, Some("310107-cgzf"), &[]),
    ("dept_lead", Role::DeptLead, Some("310107-cgzf"), &[]),
    ("supervisor", Role::Supervisor, None, &["310107"]),
    ("auditor", Role::Auditor, None, &[]),
    ("admin", Role::Admin, None, &[]),
    ("handler_huangpu", Role::Handler, Some("310101-cgzf"), &[]),
    ("lead_huangpu", Role::DeptLead, Some("310101-cgzf"), &[]),
    ("police_lead", Role::DeptLead, Some("310107-ga"), &[]),
    ("police_handler", Role::Handler, Some("310107-ga"), &[]),
    ("civil_lead", Role::DeptLead, Some("310107-mz"), &[]),
];

pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(ApiLimits::default()).await
    }

    pub async fn spawn_with(limits: ApiLimits) -> TestApp {
        Self::spawn_with_clock(limits, Arc::new(SystemClock)).await
    }

    pub async fn spawn_with_clock(
        limits: ApiLimits,
        clock: Arc<dyn cityloop_api::Clock>,
    ) -> TestApp {
        let directory = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&directory.path().join("test.sqlite3")).expect("open");
        store.migrate().await.expect("migrate");
        bundled::load_shanghai(&store, &Silent).await.expect("city");
        bundled::load_demo_directory(&store, &Silent)
            .await
            .expect("directory");
        let store: Arc<dyn Store> = Arc::new(store);
        let keys = cityloop_transparency::Keys::generate("cityloop.test/log");
        let cases = cityloop_cases::CaseService::open(
            store,
            bundled::HOLIDAY_CN,
            cityloop_cases::CaseConfig {
                pseudonyms: keys.pseudonyms.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("case service");
        let state = AppState::new(Arc::new(cases), keys, clock, limits);
        state.reload_index().await.expect("index");
        let perception = cityloop_perception::Perception::open(
            state.cases_arc(),
            cityloop_perception::shipped_rules(),
        )
        .await
        .expect("perception");
        state.set_perception(Arc::new(perception));
        // One real argon2 hash, shared, so log-in works for every test user.
        let hash = auth::hash_password(PASSWORD).expect("hash");
        let mut tokens = HashMap::new();
        for (key, role, department, areas) in USERS {
            let user = state
                .store()
                .create_user(
                    NewUser::new(
                        &format!("test-{key}"),
                        &format!("测试{key}"),
                        *role,
                        department.map(|d| DepartmentId::parse(d).unwrap()),
                        areas.iter().map(|a| AreaCode::parse(a).unwrap()).collect(),
                        Some("13812341234"),
                    )
                    .unwrap(),
                    hash.clone(),
                    cityloop_store::no_audit_for(),
                )
                .await
                .expect("user");
            let token = auth::issue_token(&state, &user, "test", None)
                .await
                .expect("token");
            tokens.insert(*key, token);
        }
        TestApp {
            router: app(state.clone()),
            state,
            tokens,
            _directory: directory,
        }
    }

    /// Sequences every queued leaf and signs a checkpoint, as the server's
    /// sequencer task does each second; returns the tree size.
    pub async fn checkpoint(&self) -> u64 {
        cityloop_transparency::sequence_all(self.state.store(), self.state.keys())
            .await
            .expect("sequencing")
    }

    pub fn token(&self, key: &str) -> &str {
        self.tokens
            .get(key)
            .unwrap_or_else(|| panic!("no test user {key}"))
    }

    /// Sends one request through the router; returns status and JSON body
    /// (Null when the body is empty or not JSON).
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        user: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(user) = user {
            request = request.header("authorization", format!("Bearer {}", self.token(user)));
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A GET without authentication, returning the raw body.
    pub async fn get_bytes(&self, uri: &str) -> (StatusCode, Vec<u8>) {
        let request = Request::builder().uri(uri).body(Body::empty()).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, bytes.to_vec())
    }

    /// Sends a raw body of `content_type`; returns status and JSON body.
    pub async fn send_bytes(
        &self,
        method: &str,
        uri: &str,
        user: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", content_type);
        if let Some(user) = user {
            request = request.header("authorization", format!("Bearer {}", self.token(user)));
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn get(&self, uri: &str, user: Option<&str>) -> (StatusCode, Value) {
        self.call("GET", uri, user, None).await
    }
}

/// The codes of an area path in a JSON response.
pub fn path_codes(path: &Value) -> Vec<String> {
    path.as_array()
        .expect("path is a list")
        .iter()
        .map(|step| step["code"].as_str().unwrap().to_owned())
        .collect()
}

/// The first bytes of a JPEG (SOI, APP0 JFIF) and its end: enough for the
/// door's check of what an upload is.
pub const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0, 1, 0xFF, 0xD9,
];

/// The boundary of [`multipart`] bodies.
pub const BOUNDARY: &str = "cityloop-test-boundary";

/// The content type of [`multipart`] bodies.
pub fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// A `multipart/form-data` body: text fields, then photos as `media` parts.
pub fn multipart(fields: &[(&str, &str)], photos: &[&[u8]]) -> Vec<u8> {
    let files: Vec<(String, String, &[u8])> = photos
        .iter()
        .enumerate()
        .map(|(i, photo)| ("media".to_owned(), format!("p{i}.jpg"), *photo))
        .collect();
    multipart_files(fields, &files)
}

/// A `multipart/form-data` body: text fields, then files as (part name,
/// file name, bytes).
pub fn multipart_files(fields: &[(&str, &str)], files: &[(String, String, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file_name, bytes) in files {
        let content_type = if file_name.ends_with(".jpg") {
            "image/jpeg"
        } else {
            "application/octet-stream"
        };
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}
