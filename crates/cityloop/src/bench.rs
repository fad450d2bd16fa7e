//! `cityloop bench intake`: sustained case intake (create + route +
//! duplicate check + persist + history) on a fresh store, with the raw
//! SQLite baseline beside it. Figures go to `docs/PERFORMANCE.md`.

use anyhow::Context;
use chrono::{Duration, Utc};
use cityloop_cases::{CaseConfig, CaseService, Intake};
use cityloop_domain::{CategoryCode, CategoryKind};
use cityloop_geo::{AreaIndex, LonLat};
use cityloop_import::{Silent, bundled};
use cityloop_store::Store;
use cityloop_workflow::{Channel, Urgency};
use std::sync::Arc;
use std::time::Instant;

/// Deterministic points and categories: the same workload every run.
struct Workload {
    state: u64,
}

impl Workload {
    fn next(&mut self) -> u64 {
        // SplitMix64.
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn intake(&mut self) -> Intake {
        // Over Putuo's and Huangpu's extent (about 115 km², neighbouring
        // districts' corners included): a dense city's daily density.
        let (lon, lat) = if self.next().is_multiple_of(2) {
            (121.36 + 0.10 * self.unit(), 31.22 + 0.08 * self.unit())
        } else {
            (121.46 + 0.05 * self.unit(), 31.19 + 0.05 * self.unit())
        };
        let categories = ["06010", "06001", "09001", "01001", "02001", "07001"];
        let code = categories[(self.next() % categories.len() as u64) as usize];
        Intake {
            report: None,
            route_to: None,
            channel: Channel::Hotline,
            category: CategoryCode::parse(CategoryKind::Matter, code).expect("valid code"),
            urgency: if self.next().is_multiple_of(10) {
                Urgency::Urgent
            } else {
                Urgency::Normal
            },
            point: LonLat::new(lon, lat).ok(),
            area: None,
            address: None,
            description: "【合成基准】暴露垃圾".into(),
            reporter: None,
            reporter_contact: None,
        }
    }
}

fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    if sorted_ms.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted_ms.len() - 1) as f64).round() as usize;
    sorted_ms[rank.min(sorted_ms.len() - 1)]
}

fn summary(label: &str, count: usize, elapsed: std::time::Duration, mut latencies_ms: Vec<f64>) {
    latencies_ms.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{label}: {count} cases in {:.2} s = {:.0} cases/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        percentile(&latencies_ms, 50.0),
        percentile(&latencies_ms, 99.0),
        latencies_ms.last().copied().unwrap_or_default(),
    );
}

pub async fn intake(
    store: Arc<dyn Store>,
    cases: usize,
    concurrency: usize,
    paced_rate_per_second: u64,
) -> anyhow::Result<()> {
    store.migrate().await?;
    bundled::load_shanghai(store.as_ref(), &Silent).await?;
    bundled::load_demo_directory(store.as_ref(), &Silent).await?;
    let service = Arc::new(
        CaseService::open(
            Arc::clone(&store),
            bundled::HOLIDAY_CN,
            CaseConfig::default(),
        )
        .await
        .context("case service")?,
    );
    let index = Arc::new(cityloop_api::areas::build_index(store.as_ref()).await?);
    println!(
        "store: {}; {cases} cases per run; {concurrency} concurrent submitters",
        store.backend().as_str()
    );

    // 1. Sustained: as fast as `concurrency` submitters can go.
    let mut workload = Workload { state: 7 };
    let intakes: Vec<Intake> = (0..cases).map(|_| workload.intake()).collect();
    let started = Instant::now();
    let latencies = run_concurrent(&service, &index, intakes, concurrency).await?;
    summary("sustained", cases, started.elapsed(), latencies);

    // 2. Paced: a steady arrival rate, to read latency under load.
    let intakes: Vec<Intake> = (0..cases).map(|_| workload.intake()).collect();
    let gap = std::time::Duration::from_secs_f64(1.0 / paced_rate_per_second as f64);
    let mut ticker = tokio::time::interval(gap);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for intake in intakes {
        ticker.tick().await;
        let (service, index) = (Arc::clone(&service), Arc::clone(&index));
        tasks.spawn(async move {
            let begun = Instant::now();
            service.intake(intake, &index, Utc::now()).await?;
            Ok::<f64, anyhow::Error>(begun.elapsed().as_secs_f64() * 1000.0)
        });
    }
    let mut latencies = Vec::with_capacity(cases);
    while let Some(result) = tasks.join_next().await {
        latencies.push(result??);
    }
    summary(
        &format!("paced at {paced_rate_per_second}/s"),
        cases,
        started.elapsed(),
        latencies,
    );
    Ok(())
}

async fn run_concurrent(
    service: &Arc<CaseService>,
    index: &Arc<AreaIndex>,
    intakes: Vec<Intake>,
    concurrency: usize,
) -> anyhow::Result<Vec<f64>> {
    let queue = Arc::new(std::sync::Mutex::new(intakes));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (service, index, queue) = (Arc::clone(service), Arc::clone(index), Arc::clone(&queue));
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let base = Utc::now();
            let mut n = 0;
            loop {
                let next = queue.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop();
                let Some(intake) = next else { break };
                let begun = Instant::now();
                n += 1;
                service
                    .intake(intake, &index, base + Duration::milliseconds(n))
                    .await?;
                latencies.push(begun.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<Vec<f64>, anyhow::Error>(latencies)
        });
    }
    let mut all = Vec::new();
    while let Some(result) = tasks.join_next().await {
        all.extend(result??);
    }
    Ok(all)
}

/// The raw SQLite baseline: the same number of rows, two plain inserts in
/// one transaction each.
pub fn sqlite_baseline(directory: &std::path::Path, cases: u64) -> anyhow::Result<()> {
    let elapsed =
        cityloop_store_sqlite::baseline_raw_inserts(&directory.join("baseline.sqlite3"), cases)?;
    println!(
        "baseline (raw SQLite, 2 inserts per transaction): {cases} rows in {:.2} s = {:.0} rows/s",
        elapsed.as_secs_f64(),
        cases as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

/// `cityloop bench tlog`: the transparency log — leaves hashed and appended
/// in memory, the same leaves queued and sequenced (tiles + signed
/// checkpoint) through the store, and inclusion-proof latency.
pub async fn tlog(store: Arc<dyn Store>, leaves: usize) -> anyhow::Result<()> {
    use cityloop_transparency::{Actor, Keys, Leaf, Record};
    let keys = Keys::generate("cityloop.bench/log");
    let at = Utc::now();
    let data: Vec<Vec<u8>> = (0..leaves)
        .map(|i| {
            Leaf::new(
                at,
                Record::Case {
                    case: i as i64 / 8 + 1,
                    seq: i as u64 % 8 + 1,
                    action: "dispatched".into(),
                    actor: Actor {
                        role: Some("operator".into()),
                        department: Some("310107-cgzf".into()),
                        id: Some(keys.pseudonyms.user(i as i64 % 500)),
                    },
                    detail: Default::default(),
                    row: "0".repeat(64),
                },
            )
            .encode()
        })
        .collect();
    let bytes: usize = data.iter().map(Vec::len).sum();
    println!(
        "{leaves} leaves of {} bytes on average",
        bytes / leaves.max(1)
    );

    // Pure: hash and append, tiles collected per batch of 10,000.
    let started = Instant::now();
    let mut appender = cityloop_tlog::Appender::empty();
    let mut tiles = cityloop_tlog::MemoryTiles::new();
    for chunk in data.chunks(10_000) {
        for leaf in chunk {
            appender.push(cityloop_tlog::leaf_hash(leaf));
        }
        for (id, hashes) in appender.take_dirty() {
            tiles.store(id, hashes);
        }
    }
    let root = appender.root();
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "in memory (hash + append + tiles): {leaves} leaves in {elapsed:.3} s = {:.0} leaves/s",
        leaves as f64 / elapsed
    );

    // Through the store: queue in batches (as writes do), then sequence.
    let started = Instant::now();
    for chunk in data.chunks(1_000) {
        store
            .append_leaves(
                chunk
                    .iter()
                    .map(|d| cityloop_store::LeafInput {
                        subject: None,
                        data: d.clone(),
                    })
                    .collect(),
            )
            .await?;
    }
    let queued = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let size = cityloop_transparency::sequence_all(store.as_ref(), &keys).await?;
    let sequenced = started.elapsed().as_secs_f64();
    anyhow::ensure!(size == leaves as u64, "sequenced {size} of {leaves}");
    let (_, note) = store.latest_checkpoint().await?.context("a checkpoint")?;
    let checkpoint = cityloop_tlog::Checkpoint::parse(&keys.verifier().verify(&note)?)?;
    anyhow::ensure!(
        checkpoint.root == root,
        "the store's root differs from the in-memory one"
    );
    println!(
        "store ({}): queued in {queued:.3} s = {:.0} leaves/s; sequenced + tiles + signed in {sequenced:.3} s = {:.0} leaves/s",
        store.backend().as_str(),
        leaves as f64 / queued,
        leaves as f64 / sequenced
    );

    // Proofs: in memory, and through the server's tile cache (warm).
    let cache = cityloop_transparency::TileCache::new();
    let mut memory = Vec::new();
    let mut cached = Vec::new();
    // Warm the cache with every tile once, as a long-running server's is.
    for index in (0..size).step_by(256) {
        cache
            .with_tiles(store.as_ref(), |t| {
                cityloop_tlog::inclusion_proof(index, size, t)
            })
            .await?;
    }
    let mut workload = Workload { state: 7 };
    for _ in 0..2_000 {
        let index = workload.next() % leaves as u64;
        let started = Instant::now();
        let proof = cityloop_tlog::inclusion_proof(index, size, &tiles)?;
        memory.push(started.elapsed().as_secs_f64() * 1e6);
        let started = Instant::now();
        let served = cache
            .with_tiles(store.as_ref(), |t| {
                cityloop_tlog::inclusion_proof(index, size, t)
            })
            .await?;
        cached.push(started.elapsed().as_secs_f64() * 1e6);
        anyhow::ensure!(proof == served, "proofs differ at {index}");
    }
    for (label, mut samples) in [("in memory", memory), ("served (warm tile cache)", cached)] {
        samples.sort_by(f64::total_cmp);
        println!(
            "inclusion proof {label}: p50 {:.1} µs, p99 {:.1} µs over {} proofs",
            percentile(&samples, 50.0),
            percentile(&samples, 99.0),
            samples.len()
        );
    }
    Ok(())
}
