//! `cityloop bench rules`: the alarm rules alone (no parsing, no storage)
//! over the real Beijing PM2.5 hourly series (UCI, CC BY 4.0), replayed on
//! many datastreams at once. The baseline beside it is the same loop doing
//! nothing but reading the values, so the figure is the rules' own cost.

use chrono::{Duration, TimeZone, Utc};
use cityloop_sense::{Change, Engine, Observation, Stream, parse_rules};
use std::time::Instant;

/// The real series, shipped in `data/` (see `data/README.md`).
pub const BEIJING_PM25_CSV: &str = include_str!("../../../data/beijing-pm25-uci-2010-2014.csv");

/// The hourly PM2.5 values, `None` where the series has none.
pub fn beijing_pm25() -> anyhow::Result<Vec<Option<f64>>> {
    let mut reader = csv::Reader::from_reader(BEIJING_PM25_CSV.as_bytes());
    let column = reader
        .headers()?
        .iter()
        .position(|h| h == "pm2.5")
        .ok_or_else(|| anyhow::anyhow!("the PM2.5 series has no pm2.5 column"))?;
    reader
        .records()
        .map(|record| Ok(record?.get(column).and_then(|v| v.parse().ok())))
        .collect()
}

/// The four kinds of rule, as a city would configure them for PM2.5.
const RULES: &str = r#"[
  {"id": "pm25-high", "name": "PM2.5 超标（75 µg/m³，持续 2 小时）", "property": "pm25",
   "when": {"threshold": {"op": ">", "value": 75, "for_minutes": 120}}, "severity": "major"},
  {"id": "pm25-jump", "name": "PM2.5 骤升", "property": "pm25",
   "when": {"rate_of_change": {"limit": 100, "per_minutes": 60}}, "severity": "minor"},
  {"id": "pm25-daily", "name": "PM2.5 24 小时均值超标", "property": "pm25",
   "when": {"window": {"aggregate": "mean", "window_minutes": 1440, "op": ">", "value": 75, "min_count": 18}},
   "severity": "major"},
  {"id": "offline", "name": "设备离线", "property": "pm25",
   "when": {"missing": {"silent_minutes": 180}}, "severity": "minor"}
]"#;

pub fn rules(streams: u64, hours: usize) -> anyhow::Result<()> {
    let series = beijing_pm25()?;
    let hours = hours.min(series.len());
    let start = Utc
        .with_ymd_and_hms(2010, 1, 1, 0, 0, 0)
        .single()
        .expect("valid");
    let mut engine = Engine::new(parse_rules(RULES)?);
    for id in 0..streams {
        engine.add_stream(Stream {
            id,
            property: "pm25".into(),
            area_path: vec!["310000".into(), "310107".into()],
            period_minutes: 60,
            since: start,
        });
    }
    // Each stream replays the series from its own offset, so streams differ.
    let value = |stream: u64, hour: usize| series[(hour + stream as usize * 97) % series.len()];

    let began = Instant::now();
    let mut read = 0u64;
    let mut sum = 0.0;
    for hour in 0..hours {
        for stream in 0..streams {
            if let Some(v) = value(stream, hour) {
                sum += v;
                read += 1;
            }
        }
    }
    let baseline = began.elapsed();
    std::hint::black_box(sum);

    let began = Instant::now();
    let (mut raised, mut cleared, mut evaluated) = (0u64, 0u64, 0u64);
    for hour in 0..hours {
        let at = start + Duration::hours(hour as i64);
        for stream in 0..streams {
            if let Some(v) = value(stream, hour) {
                let changes = engine
                    .observe(Observation {
                        datastream: stream,
                        at,
                        value: v,
                    })
                    .map_err(|skip| anyhow::anyhow!("stream {stream} hour {hour}: {skip}"))?;
                evaluated += 1;
                for change in changes {
                    match change {
                        Change::Raised { .. } => raised += 1,
                        Change::Cleared { .. } => cleared += 1,
                    }
                }
            }
        }
        if hour % 24 == 23 {
            raised += engine.tick(at).len() as u64;
        }
    }
    let elapsed = began.elapsed();
    let per_second = |n: u64, d: std::time::Duration| n as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "rules: {evaluated} observations on {streams} streams × {hours} hours, 4 rules each, in {:.2} s = {:.0} observations/s ({raised} alarms raised, {cleared} cleared)",
        elapsed.as_secs_f64(),
        per_second(evaluated, elapsed)
    );
    println!(
        "baseline (the same loop reading the values only): {read} values in {:.3} s = {:.0} values/s",
        baseline.as_secs_f64(),
        per_second(read, baseline)
    );
    Ok(())
}

/// `cityloop bench ingest`: observations stored and evaluated per second
/// through `Perception::ingest` (store with deduplication, rules, alarms,
/// cases) on a fresh embedded store, beside plain SQLite inserts of the
/// same rows in the same batches.
pub async fn ingest(
    streams: u64,
    hours: usize,
    batch: usize,
    without_cases: bool,
) -> anyhow::Result<()> {
    use cityloop_store::Store;
    use std::sync::Arc;
    let directory = tempfile::Builder::new()
        .prefix("cityloop-bench-")
        .tempdir()?;
    let store = cityloop_store_sqlite::SqliteStore::open(&directory.path().join("bench.sqlite3"))?;
    store.migrate().await?;
    cityloop_import::bundled::load_shanghai(&store, &cityloop_import::Silent).await?;
    cityloop_import::bundled::load_demo_directory(&store, &cityloop_import::Silent).await?;
    let store: Arc<dyn Store> = Arc::new(store);
    let cases = Arc::new(
        cityloop_cases::CaseService::open(
            Arc::clone(&store),
            cityloop_import::bundled::HOLIDAY_CN,
            cityloop_cases::CaseConfig::default(),
        )
        .await?,
    );
    let index = cityloop_cases::build_index(store.as_ref()).await?;
    let mut rules = cityloop_perception::shipped_rules();
    if without_cases {
        for rule in &mut rules {
            rule.case = None;
        }
    }
    let perception = cityloop_perception::Perception::open(cases, rules).await?;
    // The series' values on 2026's clock: alarms open cases, whose SLA
    // clocks need a year with a published working calendar.
    let start = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid");
    let mut ids = Vec::new();
    for n in 0..streams {
        let record = perception
            .register(
                &format!("PM2.5 #{n}"),
                &format!("aq-{n}"),
                "pm25",
                "µg/m³",
                60,
                cityloop_geo::LonLat::new(
                    121.40 + (n % 50) as f64 * 0.001,
                    31.24 + (n / 50) as f64 * 0.001,
                )?,
                &index,
                start,
            )
            .await?;
        ids.push(record.id);
    }
    let series = beijing_pm25()?;
    let hours = hours.min(series.len()).min(8_000);
    let mut readings = Vec::new();
    for hour in 0..hours {
        let at = start + Duration::hours(hour as i64);
        for (k, id) in ids.iter().enumerate() {
            if let Some(v) = series[(hour + k * 97) % series.len()] {
                readings.push((*id, at, v));
            }
        }
    }
    let batches: Vec<Vec<(i64, chrono::DateTime<Utc>, f64)>> =
        readings.chunks(batch.max(1)).map(<[_]>::to_vec).collect();
    // What gateways send: the compact bulk format, one payload per batch;
    // parsing it is part of what is measured.
    let payloads: Vec<String> = batches
        .iter()
        .map(|chunk| {
            chunk
                .iter()
                .map(|(id, at, v)| {
                    format!(
                        "{id},{},{v}\n",
                        at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                    )
                })
                .collect()
        })
        .collect();
    let total = readings.len() as u64;
    let began = Instant::now();
    let (mut raised, mut cases_opened) = (0usize, 0usize);
    // A source's pipeline: one task parses the next payload while the
    // previous batch is stored and evaluated (a bounded hand-over of two).
    let (parsed_tx, mut parsed_rx) = tokio::sync::mpsc::channel(2);
    let parser = tokio::spawn(async move {
        for payload in payloads {
            let parsed = cityloop_perception::mqtt::parse_bulk(payload.as_bytes());
            if parsed_tx.send(parsed).await.is_err() {
                return;
            }
        }
    });
    while let Some(parsed) = parsed_rx.recv().await {
        let parsed = parsed.map_err(|e| anyhow::anyhow!(e))?;
        let report = perception.ingest(parsed, Utc::now()).await?;
        raised += report.raised.len();
    }
    parser.await?;
    let elapsed = began.elapsed();
    // The closed loop, beside ingestion in the server: here measured on its
    // own, after, as the time to carry every queued alarm into its case.
    let carrying = Instant::now();
    cases_opened += perception.carry().await?.len();
    let carried = carrying.elapsed();
    let baseline = cityloop_store_sqlite::baseline_raw_observations(
        &directory.path().join("baseline.sqlite3"),
        &batches,
    )?;
    let rate = |d: std::time::Duration| total as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "ingest: {total} observations ({streams} streams × {hours} hours, batches of {batch}) parsed, stored and evaluated, alarms recorded, in {:.2} s = {:.0} observations/s ({raised} alarms{})",
        elapsed.as_secs_f64(),
        rate(elapsed),
        if without_cases {
            "; rules without cases"
        } else {
            ""
        }
    );
    println!(
        "closed loop: the queued alarms carried into cases in {:.2} s ({cases_opened} cases opened)",
        carried.as_secs_f64()
    );
    println!(
        "baseline (raw SQLite, the same rows in the same batches): {:.2} s = {:.0} rows/s; ingest runs at {:.0} % of it",
        baseline.as_secs_f64(),
        rate(baseline),
        100.0 * rate(elapsed) / rate(baseline)
    );
    Ok(())
}
