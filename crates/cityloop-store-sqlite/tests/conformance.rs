//! The shared store contract, run on a fresh SQLite database per test.

use cityloop_store::Store;
use cityloop_store_sqlite::SqliteStore;

async fn fresh_store() -> Option<Box<dyn Store>> {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("cityloop.sqlite3");
    // The directory must outlive the store; the OS cleans /tmp.
    std::mem::forget(directory);
    Some(Box::new(SqliteStore::open(&path).expect("open sqlite")))
}

cityloop_store::conformance_suite!(fresh_store);
