//! The shared store contract, run on PostgreSQL in a fresh schema per test.
//!
//! The server is `CITYLOOP_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). If it cannot be reached the
//! tests are skipped with a message, unless `CITYLOOP_REQUIRE_POSTGRES=1`
//! (CI), which makes that a failure.
//!
//! Each test gets a schema `cl_test_<uuid>` that is not dropped when the test
//! ends (there is no async drop). Instead each schema is stamped with its
//! creation time in a comment, and the first test of every run drops the
//! `cl_test_` schemas stamped more than an hour ago, so leftovers never pile
//! up and a concurrently running suite is never disturbed.

use cityloop_store::Store;
use cityloop_store_postgres::PostgresStore;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_postgres::NoTls;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Test schemas older than this are leftovers of finished runs.
const STALE_AFTER_SECONDS: i64 = 3600;

const STAMP_PREFIX: &str = "cityloop conformance schema created at ";

static CLEANED: AtomicBool = AtomicBool::new(false);

/// A plain connection for housekeeping, or why there is none.
async fn admin_client(url: &str) -> Result<tokio_postgres::Client, String> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| format!("{e}"))?;
    config.connect_timeout(Duration::from_secs(5));
    let (client, connection) = config.connect(NoTls).await.map_err(|e| {
        let cause = std::error::Error::source(&e)
            .map(|c| format!(": {c}"))
            .unwrap_or_default();
        format!("{e}{cause}")
    })?;
    tokio::spawn(connection);
    Ok(client)
}

/// Drops the `cl_test_` schemas of earlier runs; at most once per process.
async fn drop_stale_schemas(client: &tokio_postgres::Client) {
    if CLEANED.swap(true, Ordering::SeqCst) {
        return;
    }
    let now = chrono::Utc::now().timestamp();
    let Ok(rows) = client
        .query(
            "SELECT nspname::TEXT, obj_description(oid, 'pg_namespace') FROM pg_namespace
             WHERE nspname LIKE 'cl\\_test\\_%'",
            &[],
        )
        .await
    else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let comment: Option<String> = row.get(1);
        let created = comment
            .as_deref()
            .and_then(|c| c.strip_prefix(STAMP_PREFIX))
            .and_then(|t| t.parse::<i64>().ok());
        // Unstamped schemas may be being created right now: leave them.
        if created.is_some_and(|created| now - created > STALE_AFTER_SECONDS)
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            // Another run may drop it at the same moment; that is fine.
            let _ = client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                .await;
        }
    }
}

fn test_url() -> String {
    std::env::var("CITYLOOP_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.into())
}

/// A store in a fresh, stamped schema, or `None` (after saying why) when
/// there is no server and none is required.
async fn fresh_postgres_store() -> Option<PostgresStore> {
    let url = test_url();
    let admin = match admin_client(&url).await {
        Ok(client) => client,
        Err(why) => {
            if std::env::var("CITYLOOP_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("PostgreSQL suite required but server unreachable: {why}");
            }
            eprintln!("SKIPPED postgres conformance: cannot reach PostgreSQL: {why}");
            return None;
        }
    };
    drop_stale_schemas(&admin).await;
    let schema = format!("cl_test_{}", uuid::Uuid::new_v4().simple());
    let store = PostgresStore::connect_in_schema(&url, &schema)
        .await
        .expect("connect in a fresh schema");
    let stamp = format!("{STAMP_PREFIX}{}", chrono::Utc::now().timestamp());
    admin
        .batch_execute(&format!("COMMENT ON SCHEMA \"{schema}\" IS '{stamp}'"))
        .await
        .expect("stamp the test schema");
    Some(store)
}

async fn fresh_store() -> Option<Box<dyn Store>> {
    Some(Box::new(fresh_postgres_store().await?))
}

cityloop_store::conformance_suite!(fresh_store);

#[tokio::test]
async fn unreachable_server_fails_fast_with_a_clear_error() {
    let started = std::time::Instant::now();
    let result = PostgresStore::connect("postgres://postgres:secret@127.0.0.1:1/test").await;
    match result {
        Err(cityloop_store::StoreError::Backend(message)) => {
            assert!(
                message.contains("cannot reach PostgreSQL at 127.0.0.1:1/test"),
                "{message}"
            );
            assert!(!message.contains("secret"), "{message}");
        }
        other => panic!("expected Backend, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[tokio::test]
async fn concurrent_migrations_apply_each_version_once() {
    let Some(first) = fresh_postgres_store().await else {
        return;
    };
    let schema = first
        .schema()
        .expect("a test store has a schema")
        .to_owned();
    let second = PostgresStore::connect_in_schema(&test_url(), &schema)
        .await
        .expect("second store in the same schema");
    let (a, b) = tokio::join!(first.migrate(), second.migrate());
    let mut applied = a.unwrap();
    applied.extend(b.unwrap());
    assert_eq!(
        applied,
        [1],
        "each migration applied by exactly one process"
    );
    assert_eq!(second.schema_version().await.unwrap(), 1);
}
