//! The OpenAPI document is locked by a snapshot: an API change must change
//! `docs/openapi.json` in the same commit. Regenerate with
//! `UPDATE_OPENAPI=1 cargo test -p cityloop-api --test openapi`.

use cityloop_api::ApiDoc;
use utoipa::OpenApi;

#[test]
fn openapi_document_matches_the_snapshot() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let current = ApiDoc::openapi().to_pretty_json().expect("serialisable") + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &current).expect("write snapshot");
        return;
    }
    let snapshot = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        snapshot == current,
        "the OpenAPI document changed; review it and run UPDATE_OPENAPI=1 cargo test -p cityloop-api --test openapi"
    );
}

#[test]
fn every_documented_operation_declares_its_errors_and_security() {
    let document: serde_json::Value =
        serde_json::from_str(&ApiDoc::openapi().to_json().unwrap()).unwrap();
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 15, "{} paths", paths.len());
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let secured = operation.get("security").is_some();
            if secured {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} needs a token but documents no 401"
                );
            }
            assert!(
                responses
                    .keys()
                    .any(|code| code.starts_with('4') || code.starts_with('5')),
                "{method} {path} documents no error response"
            );
        }
    }
}
