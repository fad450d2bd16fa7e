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

use chrono::{DateTime, TimeZone, Utc};
use cityloop_domain::AreaCode;
use cityloop_store::{CaseEventRow, CaseRow, Store, TimerSpec};
use cityloop_store_postgres::PostgresStore;
use std::collections::{BTreeMap, BTreeSet};
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
    applied.sort_unstable();
    assert_eq!(
        applied,
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        "each migration applied by exactly one process"
    );
    assert_eq!(second.schema_version().await.unwrap(), 12);
}

/// A case with one timer due at `due`.
fn case_with_timer(id: i64, due: DateTime<Utc>) -> (CaseRow, Vec<CaseEventRow>, Vec<TimerSpec>) {
    let at = due - chrono::Duration::hours(2);
    let case = CaseRow {
        id,
        channel: "citizen_web".into(),
        category: "06010".into(),
        urgency: "normal".into(),
        status: "reported".into(),
        open: true,
        lead_department: None,
        units: Vec::new(),
        area_path: vec![AreaCode::parse("310000").unwrap()],
        lon: None,
        lat: None,
        address: None,
        description: format!("case {id}"),
        reporter: None,
        reporter_contact: None,
        parent: None,
        created_at: at,
        updated_at: at,
        version: 1,
        due_at: Some(due),
        warn_at: None,
        near_boundary: false,
        routed_department: None,
    };
    let event = CaseEventRow {
        case_id: id,
        seq: 1,
        at,
        kind: "created".into(),
        actor_user: None,
        actor_role: None,
        actor_department: None,
        payload: "{}".into(),
    };
    let timer = TimerSpec {
        stage: "acceptance".into(),
        kind: "breach".into(),
        due_at: due,
    };
    (case, vec![event], vec![timer])
}

/// Two server processes (two pools on one schema) claiming at once never
/// get the same timer, and together they get every due one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claimers_get_disjoint_timers() {
    const CASES: usize = 200;
    const BATCH: u32 = 7;
    let Some(first) = fresh_postgres_store().await else {
        return;
    };
    first.migrate().await.unwrap();
    let schema = first
        .schema()
        .expect("a test store has a schema")
        .to_owned();
    let second = PostgresStore::connect_in_schema(&test_url(), &schema)
        .await
        .expect("second store in the same schema");

    let due = Utc.with_ymd_and_hms(2026, 11, 30, 3, 0, 0).unwrap();
    let mut all_timers = BTreeSet::new();
    for _ in 0..CASES {
        let id = first.allocate_case_id().await.unwrap();
        let (case, events, timers) = case_with_timer(id, due);
        first
            .insert_case(
                case,
                events,
                timers,
                cityloop_store::Attachments::default(),
                Vec::new(),
            )
            .await
            .unwrap();
        let stored = first.case_timers(id).await.unwrap();
        assert_eq!(stored.len(), 1);
        all_timers.insert(stored[0].id);
    }
    assert_eq!(all_timers.len(), CASES);

    // `now` stays fixed, so no lease ever lapses during the test.
    let now = due + chrono::Duration::minutes(1);
    let lease = now + chrono::Duration::hours(1);
    let mut claimed_by: BTreeMap<i64, &str> = BTreeMap::new();
    let mut rounds = 0;
    loop {
        rounds += 1;
        assert!(rounds <= CASES, "claiming does not terminate");
        let (a, b) = tokio::join!(
            first.claim_due_timers(now, lease, "process-1", BATCH),
            second.claim_due_timers(now, lease, "process-2", BATCH),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        if a.is_empty() && b.is_empty() {
            break;
        }
        for (worker, batch) in [("process-1", a), ("process-2", b)] {
            assert!(batch.len() <= BATCH as usize);
            for timer in batch {
                assert_eq!(timer.due_at, due);
                if let Some(earlier) = claimed_by.insert(timer.id, worker) {
                    panic!(
                        "timer {} claimed by {earlier} and again by {worker}",
                        timer.id
                    );
                }
            }
        }
    }
    let claimed: BTreeSet<i64> = claimed_by.keys().copied().collect();
    assert_eq!(
        claimed, all_timers,
        "every due timer is claimed exactly once"
    );
    for worker in ["process-1", "process-2"] {
        assert!(
            claimed_by.values().any(|w| *w == worker),
            "{worker} claimed nothing"
        );
    }

    // The database agrees on who holds each lease.
    let admin = admin_client(&test_url()).await.expect("admin connection");
    let rows = admin
        .query(
            &format!("SELECT id, claimed_by FROM \"{schema}\".timers"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), CASES);
    for row in rows {
        let id: i64 = row.get(0);
        let worker: Option<String> = row.get(1);
        assert_eq!(
            worker.as_deref(),
            claimed_by.get(&id).copied(),
            "timer {id}"
        );
    }
}
