//! The hub bench: `CARGO_TARGET_DIR=/work/target-hub cargo test -p cityloop-hub --release -- --ignored bench --nocapture`.
//! HUB_BENCH_ROWS sets the row count (default 1,000,000).

#[test]
#[ignore = "a bench: run in release with --ignored"]
fn bench_population_gbk_csv() {
    let rows: usize = std::env::var("HUB_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join("cityloop-hub-bench");
    let report = cityloop_hub::bench(rows, &dir).unwrap();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(report.rows, rows as u64);
    assert_eq!(
        report.rejected,
        cityloop_hub::demo::bench_bad_rows(rows) as u64
    );
}
