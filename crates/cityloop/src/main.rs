//! `cityloop`: the one binary. Glue only — it reads configuration, installs
//! logging, opens the store, and hands work to the crates that do it. It is
//! the only place that reads the environment or exits the process.

mod bench;
mod bench_sense;
mod cases_cli;
mod config;
mod demo;
mod demo_sensors;
mod hub_cli;
mod synthetic;
mod verify_cli;
mod web_build;

use anyhow::{Context, bail};
use cityloop_api::{AppState, SystemClock};
use cityloop_import::{Format, ImportError, Progress};
use cityloop_store::Store;
use clap::{Parser, Subcommand};
use config::{LogFormat, Overrides, Settings};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "cityloop",
    version,
    about = "Open city operations: 一网统管 · 一网通办"
)]
struct Cli {
    #[command(flatten)]
    overrides: Overrides,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and web app on the configured store.
    Serve,
    /// Start a demo: the real Shanghai model, demo departments and users.
    Demo {
        /// Synthetic cases to seed a fresh city with (e.g. 100000 to see
        /// the dashboard under load).
        #[arg(long, default_value_t = DEMO_SEED_CASES)]
        seed_cases: usize,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Import reference data; a bad file changes nothing.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Show configuration.
    Config {
        #[command(subcommand)]
        action: ConfigCommand,
    },
    /// The area tree.
    Areas {
        #[command(subcommand)]
        action: AreasCommand,
    },
    /// The closed loop of cases: list, show, act, metrics.
    Cases {
        #[command(subcommand)]
        action: cases_cli::CasesCommand,
    },
    /// Measure: see docs/PERFORMANCE.md.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Service-level deadlines on the Chinese working calendar.
    Sla {
        #[command(subcommand)]
        action: SlaCommand,
    },
    /// Verify the transparency log (offline, online, or a receipt).
    Verify(verify_cli::VerifyArgs),
    /// The citizens' door: Open311 clients.
    Open311 {
        #[command(subcommand)]
        action: Open311Command,
    },
}

#[derive(Subcommand)]
enum Open311Command {
    /// Issue an API key to an Open311 client (printed once; logged).
    KeyAdd {
        /// The client's name, e.g. fixmystreet-huangpu.
        name: String,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// The bundled real Shanghai model: areas, district boundaries, categories.
    City,
    /// Areas (CSV `level,code,name,parent_code` or JSON) or boundaries (.geojson).
    Areas { file: PathBuf },
    /// Departments (CSV `id,name,kind,areas,phone` or JSON).
    Departments { file: PathBuf },
    /// Categories (CSV `code,kind,class_code,class_name,name[,standard]` or JSON).
    Categories { file: PathBuf },
    /// The responsibility list (CSV `category,area_code,department,basis` or JSON).
    Responsibilities { file: PathBuf },
    /// A department's data file into a data-hub dataset, through a mapping
    /// (docs/DATAHUB.md): streamed, resumable (run it again on the same
    /// file), rejected lines quarantined with every reason.
    Dataset {
        file: PathBuf,
        /// The mapping: a TOML file, or a bundled mapping's id (default
        /// with --fixes: the fixed import's mapping).
        #[arg(long)]
        mapping: Option<String>,
        /// The dataset's id (created, owned by the mapping's department,
        /// when new).
        #[arg(long)]
        dataset: String,
        /// This file fixes the quarantined lines of that earlier import.
        #[arg(long)]
        fixes: Option<i64>,
        /// Mapping threads.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Stop after this many batches of 20,000 rows (to try resuming).
        #[arg(long, hide = true)]
        stop_after_batches: Option<u64>,
    },
    /// The lines an import quarantined, with their reasons.
    Quarantine {
        import: i64,
        /// Also lines a later import fixed.
        #[arg(long)]
        all: bool,
        /// Write the open lines to this file in the department's own format
        /// (encoding, delimiter, header) to fix and re-import with --fixes.
        #[arg(long)]
        csv: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Case intake (create + route + duplicate check + persist + history) on
    /// a fresh store: embedded unless --database-url is given (then a fresh
    /// schema in that database).
    Intake {
        #[arg(long, default_value_t = 20_000)]
        cases: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Arrival rate of the paced run.
        #[arg(long, default_value_t = 1000)]
        rate: u64,
    },
    /// The transparency log: leaves appended per second (in memory and
    /// through the store, with tiles and a signed checkpoint) and proof
    /// latency, on a fresh embedded store.
    Tlog {
        #[arg(long, default_value_t = 200_000)]
        leaves: usize,
    },
    /// Sensor alarm rules alone over the real Beijing PM2.5 series, replayed
    /// on many datastreams: observations evaluated per second.
    Rules {
        #[arg(long, default_value_t = 1_000)]
        streams: u64,
        #[arg(long, default_value_t = 8_760)]
        hours: usize,
    },
    /// Sensor ingestion (store with deduplication, rules, alarms, cases)
    /// on a fresh embedded store, beside raw SQLite inserts of the same rows.
    Ingest {
        #[arg(long, default_value_t = 100)]
        streams: u64,
        #[arg(long, default_value_t = 8_760)]
        hours: usize,
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
        /// Strip the rules' cases: alarms only, no closed-loop work.
        #[arg(long)]
        without_cases: bool,
    },
    /// The data hub: a synthetic GBK population CSV mapped and validated
    /// (decode, codes, dates, coordinates, ID check digits, quality), beside
    /// plainly parsing the same file.
    Hub {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Where to write the file (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration (passwords redacted).
    Show,
}

#[derive(Subcommand)]
enum AreasCommand {
    /// Which areas contain a point, from the city down.
    Locate {
        #[arg(allow_negative_numbers = true)]
        lon: f64,
        #[arg(allow_negative_numbers = true)]
        lat: f64,
        /// Datum of the input point.
        #[arg(long, default_value = "wgs84")]
        crs: String,
        /// Print a JSON list of {code, name, level}.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum SlaCommand {
    /// The due instant of a limit counted from a start.
    Due {
        /// Start instant, RFC 3339 (e.g. 2026-09-30T16:00:00+08:00).
        #[arg(long)]
        start: String,
        /// <N><unit>: m/h/d natural, wm/wh/wd working minutes/hours/days.
        #[arg(long)]
        limit: String,
        /// A directory of holiday-cn YEAR.json files (default: the bundled ones).
        #[arg(long)]
        calendar: Option<PathBuf>,
        /// Working periods, e.g. "08:30-12:00,13:30-17:30".
        #[arg(long)]
        shifts: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(&cli.overrides)?;
    let serving = matches!(cli.command, Command::Serve | Command::Demo { .. });
    init_logging(settings.log_format, if serving { "info" } else { "warn" });
    match cli.command {
        Command::Config {
            action: ConfigCommand::Show,
        } => {
            print!("{}", settings.show());
            Ok(())
        }
        Command::Sla {
            action:
                SlaCommand::Due {
                    start,
                    limit,
                    calendar,
                    shifts,
                },
        } => sla_due(
            &start,
            &limit,
            calendar.as_deref(),
            shifts.as_deref(),
            &settings.shifts,
        ),
        command => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(run_async(command, settings))
        }
    }
}

async fn run_async(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let store = open_store(&settings, true).await?;
            serve(store, &settings).await
        }
        Command::Demo { seed_cases } => demo(settings, seed_cases).await,
        Command::Migrate => {
            let store = open_store(&settings, false).await?;
            let applied = store.migrate().await?;
            let version = store.schema_version().await?;
            if applied.is_empty() {
                println!("schema is up to date at version {version}");
            } else {
                println!("applied migrations {applied:?}; schema is at version {version}");
            }
            Ok(())
        }
        Command::Import {
            what:
                ImportCommand::Dataset {
                    file,
                    mapping,
                    dataset,
                    fixes,
                    threads,
                    stop_after_batches,
                },
        } => {
            let store = open_store(&settings, true).await?;
            let keys = log_keys(&settings)?;
            let outcome = hub_cli::import_file(
                store.as_ref(),
                &keys,
                &file,
                mapping.as_deref(),
                &dataset,
                fixes,
                threads,
                stop_after_batches,
            )
            .await?;
            hub_cli::print_outcome(&file, &dataset, &outcome);
            Ok(())
        }
        Command::Import {
            what: ImportCommand::Quarantine { import, all, csv },
        } => {
            let store = open_store(&settings, true).await?;
            hub_cli::print_quarantine(store.as_ref(), import, all, csv.as_deref()).await
        }
        Command::Import { what } => {
            let store = open_store(&settings, true).await?;
            import(store.as_ref(), what).await
        }
        Command::Areas {
            action:
                AreasCommand::Locate {
                    lon,
                    lat,
                    crs,
                    json,
                },
        } => {
            let store = open_store(&settings, true).await?;
            locate(store.as_ref(), lon, lat, &crs, json).await
        }
        Command::Cases { action } => {
            let store = open_store(&settings, true).await?;
            let state = app_state(store, &settings).await?;
            cases_cli::run(state.cases(), action).await
        }
        Command::Bench {
            what:
                BenchCommand::Intake {
                    cases,
                    concurrency,
                    rate,
                },
        } => {
            let directory = tempfile::Builder::new()
                .prefix("cityloop-bench-")
                .tempdir()?;
            let store: Arc<dyn Store> = match &settings.database_url {
                Some(url) => {
                    let schema = format!("cl_bench_{}", std::process::id());
                    Arc::new(
                        cityloop_store_postgres::PostgresStore::connect_in_schema(url, &schema)
                            .await?,
                    )
                }
                // With --data-dir the cases stay there (e.g. to serve the
                // dashboard over 100,000 cases: `cityloop demo --data-dir`).
                None if settings.data_dir_given => {
                    std::fs::create_dir_all(&settings.data_dir)?;
                    Arc::new(cityloop_store_sqlite::SqliteStore::open(
                        &settings.sqlite_path(),
                    )?)
                }
                None => Arc::new(cityloop_store_sqlite::SqliteStore::open(
                    &directory.path().join("bench.sqlite3"),
                )?),
            };
            bench::intake(store, cases, concurrency, rate).await?;
            if settings.database_url.is_none() {
                bench::sqlite_baseline(directory.path(), cases as u64)?;
            }
            Ok(())
        }
        Command::Bench {
            what: BenchCommand::Tlog { leaves },
        } => {
            let directory = tempfile::Builder::new()
                .prefix("cityloop-bench-")
                .tempdir()?;
            let store =
                cityloop_store_sqlite::SqliteStore::open(&directory.path().join("bench.sqlite3"))?;
            store.migrate().await?;
            bench::tlog(Arc::new(store), leaves).await
        }
        Command::Bench {
            what: BenchCommand::Rules { streams, hours },
        } => bench_sense::rules(streams, hours),
        Command::Bench {
            what:
                BenchCommand::Ingest {
                    streams,
                    hours,
                    batch,
                    without_cases,
                },
        } => bench_sense::ingest(streams, hours, batch, without_cases).await,
        Command::Bench {
            what: BenchCommand::Hub { rows, dir },
        } => tokio::task::spawn_blocking(move || hub_cli::bench(rows, dir)).await?,
        Command::Open311 {
            action: Open311Command::KeyAdd { name },
        } => {
            let store = open_store(&settings, true).await?;
            let key =
                cityloop_api::open311::issue_api_key(store.as_ref(), &name, chrono::Utc::now())
                    .await
                    .map_err(|problem| anyhow::anyhow!(problem.detail))?;
            println!("{key}");
            eprintln!("API key for Open311 client {name}: keep it; only its SHA-256 is stored");
            Ok(())
        }
        Command::Verify(args) => {
            let data_dir = settings.data_dir.clone();
            verify_cli::run(args, &data_dir, async || open_store(&settings, false).await).await
        }
        Command::Config { .. } | Command::Sla { .. } => unreachable!("handled synchronously"),
    }
}

fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CITYLOOP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Opens the configured store. The embedded store is created and migrated
/// on open; PostgreSQL must have been migrated with `cityloop migrate`.
async fn open_store(settings: &Settings, ready: bool) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = match &settings.database_url {
        Some(url) => Arc::new(
            cityloop_store_postgres::PostgresStore::connect(url)
                .await
                .with_context(|| format!("connecting to {}", config::redact_url(url)))?,
        ),
        None => {
            std::fs::create_dir_all(&settings.data_dir).with_context(|| {
                format!("creating data directory {}", settings.data_dir.display())
            })?;
            let store = cityloop_store_sqlite::SqliteStore::open(&settings.sqlite_path())
                .with_context(|| format!("opening {}", settings.sqlite_path().display()))?;
            if ready {
                store
                    .migrate()
                    .await
                    .context("migrating the embedded store")?;
            }
            Arc::new(store)
        }
    };
    if ready && store.backend() == cityloop_store::Backend::Postgres {
        let version = store.schema_version().await?;
        if version == 0 {
            bail!(
                "the PostgreSQL database has no cityloop schema yet: run `cityloop migrate` first"
            );
        }
    }
    Ok(store)
}

/// The official calendars: the bundled years, replaced or extended by any
/// `DATA_DIR/holiday-cn/YEAR.json` (so a newly published year needs no
/// rebuild).
fn calendar_texts(settings: &Settings) -> anyhow::Result<Vec<String>> {
    let mut by_year: std::collections::BTreeMap<String, String> =
        cityloop_import::bundled::HOLIDAY_CN
            .iter()
            .enumerate()
            .map(|(index, text)| (format!("bundled-{index}"), (*text).to_owned()))
            .collect();
    let directory = settings.data_dir.join("holiday-cn");
    if directory.is_dir() {
        for entry in std::fs::read_dir(&directory)
            .with_context(|| format!("reading {}", directory.display()))?
        {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let year = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                // A local file replaces the bundled one of the same year.
                by_year.retain(|_, bundled| !bundled.contains(&format!("\"year\": {year}")));
                by_year.insert(format!("local-{year}"), text);
            }
        }
    }
    Ok(by_year.into_values().collect())
}

/// The application state: the store, the case service and the index.
async fn app_state(store: Arc<dyn Store>, settings: &Settings) -> anyhow::Result<AppState> {
    let texts = calendar_texts(settings)?;
    let borrowed: Vec<&str> = texts.iter().map(String::as_str).collect();
    let keys = log_keys(settings)?;
    let config = cityloop_cases::CaseConfig {
        pseudonyms: keys.pseudonyms.clone(),
        ..Default::default()
    };
    let cases = cityloop_cases::CaseService::open(store, &borrowed, config)
        .await
        .context("starting the case service (has the city been imported? `cityloop import city`)")?
        .with_shifts(settings.shifts.clone());
    record_calendar(cases.store(), &texts, &settings.shifts).await?;
    let state = AppState::new(
        Arc::new(cases),
        keys,
        Arc::new(SystemClock),
        settings.limits.clone(),
    );
    state
        .reload_index()
        .await
        .map_err(|problem| anyhow::anyhow!(problem.detail))?;
    let rules = sensor_rules(settings)?;
    let perception = cityloop_perception::Perception::open(state.cases_arc(), rules)
        .await
        .context("starting perception (sensor rules)")?;
    state.set_perception(Arc::new(perception));
    state.set_web_dir(
        settings
            .web_dir
            .clone()
            .unwrap_or_else(cityloop_api::web::default_dir),
    );
    state.set_basemap(cityloop_api::dashboard::Basemap {
        tiles: settings.basemap_tiles.clone(),
        attribution: settings.basemap_attribution.clone(),
    });
    Ok(state)
}

/// The MQTT source's settings from the configuration, if a broker is set.
fn mqtt_settings(
    settings: &Settings,
    role: &str,
) -> Option<cityloop_perception::mqtt::MqttSettings> {
    settings
        .mqtt
        .as_ref()
        .map(|(host, port)| cityloop_perception::mqtt::MqttSettings {
            host: host.clone(),
            port: *port,
            // Stable per data directory: the broker keeps this session (QoS 1,
            // not clean), so what devices publish while the server is down
            // is delivered when it is back.
            client_id: format!(
                "cityloop-{role}-{}",
                &cityloop_transparency::sha256_hex(
                    format!("{}|{}", settings.data_dir.display(), settings.mqtt_prefix).as_bytes()
                )[..16]
            ),
            prefix: settings.mqtt_prefix.clone(),
        })
}

/// The sensor alarm rules: `DATA_DIR/sensor-rules.json` when present (no
/// rebuild needed), else the shipped `data/sensor-rules.json`.
fn sensor_rules(settings: &Settings) -> anyhow::Result<Vec<cityloop_sense::Rule>> {
    let path = settings.data_dir.join("sensor-rules.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => cityloop_sense::parse_rules(&text)
            .with_context(|| format!("reading {}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            Ok(cityloop_perception::shipped_rules())
        }
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

/// The setting that remembers which working calendar was last in force.
const CALENDAR_SETTING: &str = "calendar_sha256";

/// Records in the transparency log when the working calendar (holiday
/// files and shifts) in force differs from the last one recorded: deadlines
/// depend on it, so changing it is an exercise of power.
async fn record_calendar(
    store: &dyn Store,
    texts: &[String],
    shifts: &cityloop_calendar::Shifts,
) -> anyhow::Result<()> {
    let content = format!("{}\nshifts {shifts}", texts.join("\n"));
    let digest = cityloop_transparency::keys::sha256_hex(content.as_bytes());
    if store.setting(CALENDAR_SETTING).await?.as_deref() == Some(digest.as_str()) {
        return Ok(());
    }
    let leaf = cityloop_transparency::Leaf::new(
        chrono::Utc::now(),
        cityloop_transparency::Record::Config {
            by: cityloop_transparency::Actor {
                role: Some("system".into()),
                ..Default::default()
            },
            setting: "calendar".into(),
            change: format!("{} official calendar files, shifts {shifts}", texts.len()),
            sha256: digest.clone(),
        },
    );
    store
        .put_setting(CALENDAR_SETTING, &digest, vec![leaf.input()])
        .await?;
    Ok(())
}

/// The transparency log's keys from the data directory (created on first
/// start).
fn log_keys(settings: &Settings) -> anyhow::Result<cityloop_transparency::Keys> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating {}", settings.data_dir.display()))?;
    Ok(cityloop_transparency::Keys::load_or_create(
        &settings.data_dir,
        &settings.transparency_origin,
    )?)
}

/// How often the transparency log signs a checkpoint while leaves wait.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Serves `state` on `listener` with the timer scheduler and the
/// transparency log's sequencer beside it, until Ctrl-C or SIGTERM.
async fn run_server(
    state: AppState,
    listener: tokio::net::TcpListener,
    mqtt: Option<cityloop_perception::mqtt::MqttSettings>,
    retention_days: Option<u32>,
) -> anyhow::Result<()> {
    let sequencer = tokio::spawn(cityloop_transparency::run_sequencer(
        state.cases().store_arc(),
        state.keys().clone(),
        CHECKPOINT_EVERY,
    ));
    let (stop_scheduler, stopped) = tokio::sync::watch::channel(false);
    let worker = format!("cityloop-{}", std::process::id());
    let scheduler = tokio::spawn(cityloop_api::run_scheduler(
        state.clone(),
        worker,
        std::time::Duration::from_secs(1),
        stopped,
    ));
    // The city's vital signs, sampled into their history.
    let sampling = state.clone();
    let mut sample_stop = stop_scheduler.subscribe();
    let sampler = tokio::spawn(async move {
        loop {
            match cityloop_api::vital::sample(&sampling).await {
                Ok(samples) => tracing::debug!(samples, "vital signs sampled"),
                Err(problem) => {
                    tracing::error!(detail = %problem.detail, "sampling vital signs failed")
                }
            }
            // The performance metrics' cache follows the cases, so the
            // dashboard's 三率 never replay a whole period's histories.
            if let Err(error) = cityloop_api::cases::warm_metrics(&sampling).await {
                tracing::error!(%error, "folding case histories for metrics failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(cityloop_api::vital::SAMPLE_EVERY) => {}
                _ = sample_stop.changed() => return,
            }
        }
    });
    let ticking = state.clone();
    let mut tick_stop = stop_scheduler.subscribe();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(cityloop_perception::TICK_EVERY) => {}
                _ = tick_stop.changed() => return,
            }
            if let Some(perception) = ticking.perception()
                && let Err(error) = perception.tick(ticking.now()).await
            {
                tracing::error!(%error, "looking for silent sensors failed");
            }
            if let Some(days) = retention_days {
                let before = ticking.now() - chrono::Duration::days(i64::from(days));
                match ticking.store().delete_observations_before(before).await {
                    Ok(0) => {}
                    Ok(deleted) => tracing::info!(deleted, days, "old observations deleted"),
                    Err(error) => tracing::error!(%error, "deleting old observations failed"),
                }
            }
        }
    });
    // Alarms are carried into cases beside ingestion; the first pass also
    // does what a crash left queued.
    let carrier = state.perception_arc().map(|perception| {
        let publishing = state.clone();
        let stop = stop_scheduler.subscribe();
        tokio::spawn(async move {
            perception
                .run_case_worker(stop, |case| publishing.publish_case_change(case))
                .await;
        })
    });
    let source = match (mqtt, state.perception_arc()) {
        (Some(settings), Some(perception)) => {
            println!(
                "  MQTT           : mqtt://{}:{} — publish to {}v1.1/Datastreams(<id>)/Observations or {}{}",
                settings.host,
                settings.port,
                settings.prefix,
                settings.prefix,
                cityloop_perception::mqtt::BULK_TOPIC
            );
            Some(tokio::spawn(cityloop_perception::mqtt::run(
                perception,
                settings,
                chrono::Utc::now,
                stop_scheduler.subscribe(),
            )))
        }
        _ => None,
    };
    cityloop_api::serve(listener, state, shutdown_signal()).await?;
    let _ = stop_scheduler.send(true);
    let _ = ticker.await;
    let _ = sampler.await;
    if let Some(source) = source {
        let _ = source.await;
    }
    if let Some(carrier) = carrier {
        let _ = carrier.await;
    }
    let _ = scheduler.await;
    sequencer.abort();
    println!("cityloop stopped");
    Ok(())
}

async fn serve(store: Arc<dyn Store>, settings: &Settings) -> anyhow::Result<()> {
    let state = app_state(store, settings).await?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, indexed_areas = state.index().len(), store = state.store().backend().as_str(), "serving");
    println!("cityloop listening on http://{address}");
    let mqtt = mqtt_settings(settings, "serve");
    run_server(state, listener, mqtt, settings.observation_retention_days).await
}

/// Synthetic cases seeded into a fresh demo, over the days before now.
const DEMO_SEED_CASES: usize = 300;
const DEMO_SEED_DAYS: i64 = 10;
const DEMO_SEED: u64 = 20261129;
/// A new synthetic case this often while the demo runs.
const DEMO_STREAM_EVERY_S: u64 = 5;

async fn demo(mut settings: Settings, seed_cases: usize) -> anyhow::Result<()> {
    if settings.database_url.is_some() {
        bail!("the demo runs on the embedded store; drop --database-url");
    }
    // A fresh temporary directory unless one was given.
    let _temporary;
    if !settings.data_dir_given {
        let directory = tempfile::Builder::new()
            .prefix("cityloop-demo-")
            .tempdir()
            .context("creating a temporary data directory")?;
        settings.data_dir = directory.path().to_path_buf();
        _temporary = directory;
    }
    let web = match settings.web_dir.clone() {
        Some(dir) => format!("serving the web app from {}", dir.display()),
        None => match web_build::ensure_built(&web_build::source_dir()) {
            Ok(web_build::Outcome::Fresh) => "web app build is up to date".to_owned(),
            Ok(web_build::Outcome::Rebuilt) => "web app built".to_owned(),
            Ok(web_build::Outcome::Skipped(why)) => format!("web app not built: {why}"),
            Err(error) => format!("web app not built: {error:#}"),
        },
    };
    println!("{web}");
    let store = open_store(&settings, true).await?;
    let progress = Bar::new();
    let areas_loaded = store
        .count_areas(&cityloop_store::AreaQuery::default())
        .await?;
    if areas_loaded == 0 {
        for (what, report) in cityloop_import::bundled::load_shanghai(store.as_ref(), &progress)
            .await?
            .steps
            .into_iter()
            .chain(
                cityloop_import::bundled::load_demo_directory(store.as_ref(), &progress)
                    .await?
                    .steps,
            )
        {
            println!("loaded {what}: {report}");
        }
    }
    let state = app_state(Arc::clone(&store), &settings).await?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let address = listener.local_addr()?;
    let base_url = format!("http://{address}");
    let credentials =
        demo::ensure_users_and_credentials(&state, &settings.data_dir, &base_url).await?;
    demo::ensure_area_tags(&state).await?;
    hub_cli::load_demo(state.store(), state.keys(), &settings.data_dir).await?;
    hub_cli::ensure_demo_sharing(state.store(), state.keys()).await?;
    let actors = synthetic::SyntheticActors::ensure(state.store()).await?;
    if areas_loaded == 0 {
        // A fresh city: a synthetic history so every state and light shows.
        let report = synthetic::seed_cases(
            state.cases(),
            &state.index(),
            &actors,
            seed_cases,
            DEMO_SEED_DAYS.max((seed_cases / 1000) as i64),
            chrono::Utc::now(),
            DEMO_SEED,
        )
        .await?;
        println!(
            "seeded {} synthetic cases (labelled 【合成演示】): {:?}",
            report.created, report.by_status
        );
    }
    println!();
    println!(
        "cityloop demo (Shanghai, demo departments in 黄浦区 and 普陀区; users are synthetic)"
    );
    println!("  data directory : {}", settings.data_dir.display());
    println!("  credentials    : {}", credentials.display());
    println!("  web            : {base_url}/");
    println!(
        "  dashboard      : {base_url}/app/ (operators, departments, inspectors: log in with a demo user)"
    );
    println!("  API            : {base_url}/api/openapi.json");
    println!("  public figures : {base_url}/transparency/performance");
    println!(
        "  receipts       : {base_url}/transparency/receipt (the receipt comes with each report)"
    );
    println!(
        "  log (tlog)     : {base_url}/transparency/log/checkpoint — check it: cityloop verify --url {base_url}"
    );
    println!("  try            : curl '{base_url}/api/v1/locate?lon=121.4350&lat=31.2470'");
    println!(
        "  log in         : POST {base_url}/api/v1/auth/login with a username and password from the credentials file"
    );
    println!("cityloop listening on {base_url} — press Ctrl-C to stop");
    let (stop_stream, stream_stopped) = tokio::sync::watch::channel(false);
    let stream_stopped_for_sensors = stream_stopped.clone();
    let stream = tokio::spawn(synthetic::live_stream(
        state.clone(),
        actors,
        std::time::Duration::from_secs(DEMO_STREAM_EVERY_S),
        stream_stopped,
        DEMO_SEED + 1,
    ));
    // The demo reads the local broker when it answers (as CI's and this
    // machine's do); else its sensors feed the service directly.
    let mut demo_settings = settings.clone();
    if demo_settings.mqtt.is_none()
        && std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], 1883)),
            std::time::Duration::from_millis(300),
        )
        .is_ok()
    {
        demo_settings.mqtt = Some(("127.0.0.1".into(), 1883));
        if demo_settings.mqtt_prefix.is_empty() {
            demo_settings.mqtt_prefix = format!("cityloop-demo-{}/", std::process::id());
        }
    }
    let mqtt = mqtt_settings(&demo_settings, "demo");
    let replay = demo_sensors::start(
        state.clone(),
        mqtt.as_ref()
            .map(|m| (m.host.clone(), m.port, m.prefix.clone())),
        stream_stopped_for_sensors,
    )
    .await?;
    println!(
        "  sensors        : 4 PM2.5 datastreams replaying the real Beijing series (UCI, CC BY 4.0) {}",
        if mqtt.is_some() {
            "through MQTT"
        } else {
            "in process (no MQTT broker)"
        }
    );
    let result = run_server(
        state,
        listener,
        mqtt,
        demo_settings.observation_retention_days,
    )
    .await;
    let _ = stop_stream.send(true);
    let _ = stream.await;
    let _ = replay.await;
    result
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// An indicatif progress bar for imports (hidden when stderr is no terminal).
struct Bar {
    bar: ProgressBar,
}

impl Bar {
    fn new() -> Bar {
        Bar {
            bar: ProgressBar::hidden(),
        }
    }
}

impl Progress for Bar {
    fn start(&self, stage: &str, total: u64) {
        self.bar
            .set_draw_target(indicatif::ProgressDrawTarget::stderr());
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.bar.set_style(
            ProgressStyle::with_template("{msg:>20} [{bar:40}] {pos}/{len} ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        self.bar.set_message(stage.to_owned());
    }
    fn advance(&self, done: u64) {
        self.bar.set_position(done);
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

async fn import(store: &dyn Store, what: ImportCommand) -> anyhow::Result<()> {
    let progress = Bar::new();
    let read = |path: &Path| {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    };
    let refused = |path: &Path, error: ImportError| {
        anyhow::anyhow!(
            "{}: import refused, nothing was changed: {error}",
            path.display()
        )
    };
    let (label, report) = match what {
        ImportCommand::City => {
            for (what, report) in cityloop_import::bundled::load_shanghai(store, &progress)
                .await?
                .steps
            {
                println!("imported {what}: {report}");
            }
            return Ok(());
        }
        ImportCommand::Areas { file } => {
            let text = read(&file)?;
            let format = Format::from_file_name(&file.to_string_lossy())?;
            let report = if format == Format::GeoJson {
                cityloop_import::import_area_shapes(store, &text, &progress).await
            } else {
                cityloop_import::import_areas(store, &text, format, &progress).await
            };
            ("areas", report.map_err(|e| refused(&file, e))?)
        }
        ImportCommand::Departments { file } => {
            let text = read(&file)?;
            let format = Format::from_file_name(&file.to_string_lossy())?;
            let report = cityloop_import::import_departments(store, &text, format, &progress).await;
            ("departments", report.map_err(|e| refused(&file, e))?)
        }
        ImportCommand::Categories { file } => {
            let text = read(&file)?;
            let format = Format::from_file_name(&file.to_string_lossy())?;
            let report = cityloop_import::import_categories(store, &text, format, &progress).await;
            ("categories", report.map_err(|e| refused(&file, e))?)
        }
        ImportCommand::Dataset { .. } | ImportCommand::Quarantine { .. } => {
            bail!("dataset imports are not reference imports: see `cityloop import dataset --help`")
        }
        ImportCommand::Responsibilities { file } => {
            let text = read(&file)?;
            let format = Format::from_file_name(&file.to_string_lossy())?;
            let report =
                cityloop_import::import_responsibilities(store, &text, format, &progress).await;
            ("responsibilities", report.map_err(|e| refused(&file, e))?)
        }
    };
    println!("imported {label}: {report}");
    Ok(())
}

async fn locate(
    store: &dyn Store,
    lon: f64,
    lat: f64,
    crs: &str,
    json: bool,
) -> anyhow::Result<()> {
    let crs: cityloop_geo::Crs = crs.parse()?;
    let point = cityloop_geo::LonLat::new(lon, lat)?;
    let index = cityloop_api::areas::build_index(store).await?;
    if index.is_empty() {
        bail!("no area has a boundary yet: run `cityloop import city` or import a .geojson");
    }
    let wgs84 = cityloop_geo::to_wgs84(crs, point);
    let path = cityloop_api::areas::locate_point(store, &index, wgs84).await?;
    if json {
        let steps: Vec<cityloop_api::areas::PathStep> = path.iter().map(Into::into).collect();
        println!("{}", serde_json::to_string(&steps)?);
    } else if path.is_empty() {
        println!(
            "({:.6}, {:.6}) WGS-84 lies in no known area",
            wgs84.lon, wgs84.lat
        );
    } else {
        let text: Vec<String> = path
            .iter()
            .map(|area| format!("{} {} ({})", area.name, area.code, area.level))
            .collect();
        println!("{}", text.join(" › "));
    }
    Ok(())
}

fn sla_due(
    start: &str,
    limit: &str,
    calendar_dir: Option<&Path>,
    shifts: Option<&str>,
    configured_shifts: &cityloop_calendar::Shifts,
) -> anyhow::Result<()> {
    let start = chrono::DateTime::parse_from_rfc3339(start)
        .with_context(|| format!("--start: {start:?} is not an RFC 3339 instant"))?;
    let limit = cityloop_calendar::Limit::parse(limit).context("--limit")?;
    let texts: Vec<String> = match calendar_dir {
        Some(directory) => {
            let mut texts = Vec::new();
            let entries = std::fs::read_dir(directory)
                .with_context(|| format!("--calendar: reading {}", directory.display()))?;
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|e| e == "json"))
                .collect();
            paths.sort();
            for path in paths {
                texts.push(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?,
                );
            }
            texts
        }
        None => cityloop_import::bundled::HOLIDAY_CN
            .iter()
            .map(|t| (*t).to_owned())
            .collect(),
    };
    let borrowed: Vec<&str> = texts.iter().map(String::as_str).collect();
    let calendar = cityloop_calendar::HolidayCalendar::from_holiday_cn_json(&borrowed)?;
    let shifts = match shifts {
        Some(text) => cityloop_calendar::Shifts::parse(text).context("--shifts")?,
        None => configured_shifts.clone(),
    };
    let working = cityloop_calendar::WorkingTime::new(&calendar, &shifts);
    let due = working.due(start, &limit)?;
    println!("{}", due.to_rfc3339());
    Ok(())
}
