//! City perception (城市感知): where sensor data meets the store and the
//! closed loop. A source (HTTP bulk, MQTT, SensorThings) hands batches of
//! observations to [`Perception::ingest`], which
//!
//! 1. stores them in one transaction, skipping any whose (datastream,
//!    phenomenon time) is stored already — at-least-once delivery is safe —
//!    while, at the same time,
//! 2. the alarm rules ([`cityloop_sense::Engine`]) run over them in
//!    phenomenon-time order (the engine passes over what it has seen);
//! 3. records each alarm raised or cleared in one transaction; those of
//!    rules that name a case are queued in the store.
//!
//! [`Perception::carry`] (run beside ingestion by
//! [`Perception::run_case_worker`], or awaited by a caller who wants the
//! cases now) carries queued alarms into the closed loop: a raised alarm
//! whose previous occurrence has a case still open is added to it, else it
//! opens one (channel `sensor`, the rule's category and department, the
//! device's place); a clearing is recorded on its case. Ingestion never
//! waits for a case to be written.
//!
//! [`Perception::tick`] raises the alarms of silent devices. The engine's
//! state lives in memory; on start it is restored from the store (the
//! latest observation of each stream and the alarms still active), so a
//! restart raises nothing twice.

pub mod mqtt;

use chrono::{DateTime, Utc};
use cityloop_cases::{CaseError, CaseService, Intake};
use cityloop_domain::{AreaCode, CategoryCode, DepartmentId};
use cityloop_geo::LonLat;
use cityloop_sense::{Change, Engine, Observation, Rule, Skip, Stream};
use cityloop_store::{
    AlarmChange, AlarmRecord, CASE_WORK_CLEAR, CASE_WORK_RAISE, DatastreamRecord, ObservationRow,
    Store, StoreError,
};
use cityloop_workflow::{Actor, Channel, Command, Urgency};
use std::sync::{Arc, Mutex};

/// The most observations one batch may carry.
pub const BATCH_OBSERVATIONS_MAX: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum PerceptionError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Case(#[from] CaseError),
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> PerceptionError {
    PerceptionError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestReport {
    /// Stored now.
    pub stored: usize,
    /// Already stored (redelivered).
    pub duplicates: usize,
    /// Stored, but older than the stream's latest: not evaluated.
    pub late: usize,
    /// Alarm ids raised and cleared by this batch (those of rules that
    /// name a case are queued for [`Perception::carry`]).
    pub raised: Vec<i64>,
    pub cleared: Vec<i64>,
    /// The observations stored now, for publishing to subscribers.
    pub fresh: Vec<Fresh>,
}

/// An observation stored by a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fresh {
    /// Its id (SensorThings `@iot.id`).
    pub id: i64,
    pub datastream: i64,
    pub at: DateTime<Utc>,
    pub result: f64,
}

/// The perception service over one store and the case service.
pub struct Perception {
    store: Arc<dyn Store>,
    cases: Arc<CaseService>,
    engine: Mutex<Engine>,
    /// Counts datastreams registered and removed, so views of them (the
    /// SensorThings model) know when to look again.
    generation: std::sync::atomic::AtomicU64,
    /// Wakes the case worker when alarms are queued.
    work: tokio::sync::Notify,
    /// One carrier at a time (the worker and callers who wait for cases).
    carrying: tokio::sync::Mutex<()>,
    /// Ids of alarms raised or cleared, for live screens.
    alarm_changes: tokio::sync::broadcast::Sender<i64>,
}

/// Queued alarms read per store call.
const CARRY_BATCH: u32 = 500;

fn engine_stream(record: &DatastreamRecord) -> Stream {
    Stream {
        id: record.id as u64,
        property: record.property.clone(),
        area_path: record
            .area_path
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        period_minutes: record.period_minutes,
        since: record.created_at,
    }
}

impl Perception {
    /// Opens the service, restoring the engine from the store. The rules
    /// are those last set through [`Perception::replace_rules`] (kept in
    /// the store), else `rules`.
    pub async fn open(
        cases: Arc<CaseService>,
        rules: Vec<Rule>,
    ) -> Result<Perception, PerceptionError> {
        let store = cases.store_arc();
        let rules = match store.setting(RULES_SETTING).await? {
            Some(text) => cityloop_sense::parse_rules(&text)
                .map_err(|e| invalid(format!("stored {RULES_SETTING}"), e.to_string()))?,
            None => rules,
        };
        let engine = restored_engine(store.as_ref(), rules).await?;
        Ok(Perception {
            store,
            cases,
            engine: Mutex::new(engine),
            generation: std::sync::atomic::AtomicU64::new(0),
            work: tokio::sync::Notify::new(),
            carrying: tokio::sync::Mutex::new(()),
            alarm_changes: tokio::sync::broadcast::channel(1024).0,
        })
    }

    /// Puts new rules in force: stored (with the transparency log's
    /// `audit` leaves) and the engine rebuilt from the store — alarms still
    /// active under a rule of the same id stay active; runs and windows
    /// start afresh.
    pub async fn replace_rules(
        &self,
        rules: Vec<Rule>,
        audit: cityloop_store::Audit,
    ) -> Result<(), PerceptionError> {
        let text = serde_json::to_string(&rules).map_err(|e| invalid("rules", e.to_string()))?;
        self.store.put_setting(RULES_SETTING, &text, audit).await?;
        let engine = restored_engine(self.store.as_ref(), rules).await?;
        *self.engine() = engine;
        Ok(())
    }

    fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn rules(&self) -> Vec<Rule> {
        self.engine().rules().to_vec()
    }

    /// Registers a datastream at a WGS-84 point, located on the area tree.
    #[allow(clippy::too_many_arguments)]
    pub async fn register(
        &self,
        name: &str,
        thing: &str,
        property: &str,
        unit: &str,
        period_minutes: u32,
        point: LonLat,
        index: &cityloop_geo::AreaIndex,
        now: DateTime<Utc>,
    ) -> Result<DatastreamRecord, PerceptionError> {
        for (field, value, max) in [
            ("name", name, 200),
            ("thing", thing, 200),
            ("property", property, 64),
            ("unit", unit, 32),
        ] {
            if value.trim().is_empty() || value.chars().count() > max {
                return Err(invalid(field, format!("1–{max} characters")));
            }
        }
        if !property
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(invalid("property", "letters, digits, '-', '_' or '.'"));
        }
        if period_minutes > 24 * 60 {
            return Err(invalid("period_minutes", "at most 1440 (one day)"));
        }
        let path: Vec<AreaCode> = cityloop_cases::locate_point(self.store.as_ref(), index, point)
            .await?
            .into_iter()
            .map(|area| area.code)
            .collect();
        if path.is_empty() {
            return Err(invalid("lon", "the point lies outside every loaded area"));
        }
        let mut record = DatastreamRecord {
            id: 0,
            name: name.trim().to_owned(),
            thing: thing.trim().to_owned(),
            property: property.to_owned(),
            unit: unit.trim().to_owned(),
            period_minutes,
            lon: point.lon,
            lat: point.lat,
            area_path: path,
            created_at: now,
            last_at: None,
        };
        record.id = self
            .store
            .create_datastream(record.clone(), Vec::new())
            .await?;
        self.engine().add_stream(engine_stream(&record));
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(record)
    }

    /// Removes a datastream with its observations (refused with
    /// `Conflict` while alarms refer to it); the engine is rebuilt from
    /// the store.
    pub async fn unregister(&self, id: i64) -> Result<(), PerceptionError> {
        self.store.delete_datastream(id).await?;
        self.resync().await?;
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Rebuilds the engine from the store (after a failed write).
    async fn resync(&self) -> Result<(), PerceptionError> {
        let rules = self.rules();
        let engine = restored_engine(self.store.as_ref(), rules).await?;
        *self.engine() = engine;
        Ok(())
    }

    /// Ids of alarms as they are raised or cleared (best effort: a slow
    /// listener misses some and is told how many).
    pub fn subscribe_alarms(&self) -> tokio::sync::broadcast::Receiver<i64> {
        self.alarm_changes.subscribe()
    }

    /// Changes with every datastream registered or removed.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stores a batch and runs its new observations through the rules.
    pub async fn ingest(
        &self,
        observations: Vec<(i64, DateTime<Utc>, f64)>,
        now: DateTime<Utc>,
    ) -> Result<IngestReport, PerceptionError> {
        let rows = observations
            .into_iter()
            .map(|(datastream, at, result)| ObservationRow::reading(datastream, at, result, now))
            .collect();
        self.ingest_rows(rows, now).await
    }

    /// Stores a batch of full observations (with feature of interest and
    /// extra members, as SensorThings gives them; `received_at` is set to
    /// `now`) and runs the new ones through the rules.
    pub async fn ingest_rows(
        &self,
        mut rows: Vec<ObservationRow>,
        now: DateTime<Utc>,
    ) -> Result<IngestReport, PerceptionError> {
        if rows.len() > BATCH_OBSERVATIONS_MAX {
            return Err(invalid(
                "observations",
                format!("at most {BATCH_OBSERVATIONS_MAX} per batch"),
            ));
        }
        if let Some(i) = rows.iter().position(|o| !o.result.is_finite()) {
            return Err(invalid(
                format!("observations[{i}].result"),
                "must be a finite number",
            ));
        }
        let readings: Vec<(i64, DateTime<Utc>, f64)> = rows
            .iter_mut()
            .map(|o| {
                o.received_at = now;
                (o.datastream, o.phenomenon_time, o.result)
            })
            .collect();
        {
            let engine = self.engine();
            if let Some((unknown, _, _)) = readings
                .iter()
                .find(|(datastream, _, _)| !engine.has_stream(*datastream as u64))
            {
                return Err(invalid(
                    "datastream",
                    format!("datastream {unknown} is not registered"),
                ));
            }
        }
        // The store writes (on its own thread) while the rules run here:
        // the engine itself passes over what it has seen (a redelivery is
        // at or before its stream's latest time), so it needs no answer
        // from the store first.
        let store = Arc::clone(&self.store);
        let writing = tokio::spawn(async move { store.insert_observations(rows).await });
        let mut order: Vec<usize> = (0..readings.len()).collect();
        order.sort_by_key(|i| (readings[*i].1, readings[*i].0));
        let mut evaluated = vec![false; readings.len()];
        let mut changes = Vec::new();
        {
            let mut engine = self.engine();
            for i in order {
                let (datastream, at, value) = readings[i];
                match engine.observe(Observation {
                    datastream: datastream as u64,
                    at,
                    value,
                }) {
                    Ok(found) => {
                        evaluated[i] = true;
                        changes.extend(found);
                    }
                    Err(Skip::Late | Skip::Duplicate) => {}
                    Err(skip) => tracing::warn!(%skip, "observation not evaluated"),
                }
            }
        }
        let written = match writing.await {
            Ok(written) => written,
            Err(join) => Err(StoreError::Backend(format!(
                "the observation writer failed: {join}"
            ))),
        };
        let ids = match written {
            Ok(ids) => ids,
            Err(error) => {
                // Nothing was stored: the engine goes back to what the
                // store holds.
                self.resync().await?;
                return Err(match error {
                    StoreError::NotFound { what } => {
                        invalid("datastream", format!("{what} is not registered"))
                    }
                    other => other.into(),
                });
            }
        };
        let mut report = IngestReport::default();
        for (i, ((datastream, at, value), id)) in readings.into_iter().zip(ids).enumerate() {
            match id {
                Some(id) => {
                    report.stored += 1;
                    if !evaluated[i] {
                        report.late += 1;
                    }
                    report.fresh.push(Fresh {
                        id,
                        datastream,
                        at,
                        result: value,
                    });
                }
                None => {
                    report.duplicates += 1;
                    if evaluated[i] {
                        tracing::warn!(
                            datastream,
                            %at,
                            "an observation the store had was new to the rules (another process writes this datastream?)"
                        );
                    }
                }
            }
        }
        self.apply(changes, &mut report).await?;
        Ok(report)
    }

    /// Raises the alarms of devices silent at `now`.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<IngestReport, PerceptionError> {
        let changes = self.engine().tick(now);
        let mut report = IngestReport::default();
        self.apply(changes, &mut report).await?;
        Ok(report)
    }

    /// Records a batch's alarm changes in one store transaction; those of
    /// rules that name a case are queued there for [`Perception::carry`].
    async fn apply(
        &self,
        changes: Vec<Change>,
        report: &mut IngestReport,
    ) -> Result<(), PerceptionError> {
        if changes.is_empty() {
            return Ok(());
        }
        let rules = self.engine().rules().to_vec();
        let recorded = changes
            .iter()
            .map(|change| match change {
                Change::Raised {
                    rule,
                    datastream,
                    at,
                    severity,
                    reason,
                } => AlarmChange::Raise {
                    alarm: AlarmRecord {
                        id: 0,
                        rule: rules[*rule].id.clone(),
                        datastream: *datastream as i64,
                        severity: severity.as_str().to_owned(),
                        reason: reason.clone(),
                        raised_at: *at,
                        acknowledged_at: None,
                        acknowledged_by: None,
                        cleared_at: None,
                        clear_reason: None,
                        case_id: None,
                    },
                    carry: rules[*rule].case.is_some(),
                },
                Change::Cleared {
                    rule,
                    datastream,
                    at,
                    reason,
                } => AlarmChange::Clear {
                    rule: rules[*rule].id.clone(),
                    datastream: *datastream as i64,
                    at: *at,
                    reason: reason.clone(),
                    carry: rules[*rule].case.is_some(),
                },
            })
            .collect();
        let outcomes = self.store.record_alarms(recorded).await?;
        let mut queued = false;
        for (change, outcome) in changes.iter().zip(outcomes) {
            let Some(alarm) = outcome.alarm else {
                continue;
            };
            queued |= rules[change.rule()].case.is_some();
            match change {
                Change::Raised { .. } => report.raised.push(alarm),
                Change::Cleared { .. } => report.cleared.push(alarm),
            }
            let _ = self.alarm_changes.send(alarm);
        }
        if queued {
            self.work.notify_one();
        }
        Ok(())
    }

    /// Carries queued alarms into the closed loop, oldest first: a raised
    /// alarm joins its previous occurrence's case while that is open, else
    /// opens one (channel `sensor`, the rule's category and department,
    /// the device's place); a clearing is recorded on the alarm's case.
    /// Runs beside ingestion (see [`Perception::run_case_worker`]); the
    /// queue lives in the store, so work left by a crash is done on the
    /// next start. Returns the cases opened.
    pub async fn carry(&self) -> Result<Vec<i64>, PerceptionError> {
        let _one_at_a_time = self.carrying.lock().await;
        let mut opened = Vec::new();
        loop {
            let work = self.store.alarm_work(CARRY_BATCH).await?;
            if work.is_empty() {
                return Ok(opened);
            }
            let rules = self.engine().rules().to_vec();
            for (alarm, todo) in work {
                let rule = rules.iter().find(|r| r.id == alarm.rule);
                let mut case_id = alarm.case_id;
                if todo & CASE_WORK_RAISE != 0
                    && let Some(rule) = rule
                {
                    let previous = self
                        .store
                        .alarm_case_before(&alarm.rule, alarm.datastream, alarm.id)
                        .await?;
                    case_id = self
                        .carry_into_case(rule, &alarm, previous, &mut opened)
                        .await?;
                }
                if todo & CASE_WORK_CLEAR != 0
                    && let (Some(case_id), Some(at)) = (case_id, alarm.cleared_at)
                {
                    let reason = alarm.clear_reason.clone().unwrap_or_default();
                    self.record_on_case(case_id, alarm.id, true, &reason, at)
                        .await?;
                }
                self.store
                    .finish_alarm_work(alarm.id, todo, case_id)
                    .await?;
            }
        }
    }

    /// Carries queued alarms whenever ingestion queues some, until `stop`.
    /// `opened` hears of each case opened.
    pub async fn run_case_worker(
        &self,
        mut stop: tokio::sync::watch::Receiver<bool>,
        opened: impl Fn(i64),
    ) {
        loop {
            match self.carry().await {
                Ok(cases) => cases.into_iter().for_each(&opened),
                Err(error) => {
                    tracing::error!(%error, "carrying alarms into cases failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                        _ = stop.changed() => return,
                    }
                    continue;
                }
            }
            tokio::select! {
                _ = self.work.notified() => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// The case a raised alarm belongs to: the previous occurrence's case
    /// while it is open, else a new one when the rule names a case.
    async fn carry_into_case(
        &self,
        rule: &Rule,
        alarm: &AlarmRecord,
        previous: Option<i64>,
        opened: &mut Vec<i64>,
    ) -> Result<Option<i64>, PerceptionError> {
        let Some(spec) = &rule.case else {
            return Ok(None);
        };
        if let Some(case_id) = previous
            && self.store.case(case_id).await?.is_some_and(|c| c.open)
        {
            self.record_on_case(case_id, alarm.id, false, &alarm.reason, alarm.raised_at)
                .await?;
            return Ok(Some(case_id));
        }
        let datastream = alarm.datastream;
        let stream = self
            .store
            .datastream(datastream)
            .await?
            .ok_or_else(|| invalid("datastream", format!("datastream {datastream} is gone")))?;
        let (_, category) = CategoryCode::parse_case_category(&spec.category)
            .map_err(|e| invalid("case.category", e.message))?;
        let route_to = spec
            .department
            .as_deref()
            .map(DepartmentId::parse)
            .transpose()
            .map_err(|e| invalid("case.department", e.message))?;
        let index = cityloop_geo::AreaIndex::new(Vec::new());
        let outcome = self
            .cases
            .intake(
                Intake {
                    channel: Channel::Sensor,
                    category,
                    urgency: if rule.severity >= cityloop_sense::Severity::Critical {
                        Urgency::Urgent
                    } else {
                        Urgency::Normal
                    },
                    point: None,
                    area: stream.area_path.last().cloned(),
                    address: Some(format!(
                        "{}（{}，{:.5}, {:.5}）",
                        stream.name, stream.thing, stream.lon, stream.lat
                    )),
                    description: format!("【传感器告警】{}：{}", rule.name, alarm.reason),
                    reporter: None,
                    reporter_contact: None,
                    report: None,
                    route_to,
                },
                &index,
                alarm.raised_at,
            )
            .await?;
        opened.push(outcome.case.id);
        Ok(Some(outcome.case.id))
    }

    async fn record_on_case(
        &self,
        case_id: i64,
        alarm: i64,
        cleared: bool,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), PerceptionError> {
        match self
            .cases
            .act(
                case_id,
                &Actor::system(),
                Command::Alarm {
                    alarm,
                    cleared,
                    reason: reason.to_owned(),
                },
                at,
            )
            .await
        {
            Ok(_) => Ok(()),
            // A case closed meanwhile keeps its history; the alarm row keeps the rest.
            Err(CaseError::Refused(refusal)) => {
                tracing::info!(case = case_id, alarm, %refusal, "alarm not recorded on a closed case");
                Ok(())
            }
            Err(other) => Err(other.into()),
        }
    }
}

/// The setting that keeps rules set through the API.
pub const RULES_SETTING: &str = "sensor_rules";

/// An engine over `rules` with every stored datastream, its latest
/// phenomenon time and its active alarms.
async fn restored_engine(store: &dyn Store, rules: Vec<Rule>) -> Result<Engine, PerceptionError> {
    let mut engine = Engine::new(rules);
    let active = store.alarms(true, cityloop_store::PAGE_ROWS_MAX).await?;
    for record in store.datastreams().await? {
        engine.add_stream(engine_stream(&record));
        let rules: Vec<usize> = active
            .iter()
            .filter(|a| a.datastream == record.id)
            .filter_map(|a| engine.rule_index(&a.rule))
            .collect();
        engine.restore(record.id as u64, record.last_at, &rules);
    }
    Ok(engine)
}

/// The rules shipped in `data/sensor-rules.json`.
pub const SHIPPED_RULES_JSON: &str = include_str!("../../../data/sensor-rules.json");

/// The shipped rules, parsed.
pub fn shipped_rules() -> Vec<Rule> {
    cityloop_sense::parse_rules(SHIPPED_RULES_JSON)
        .unwrap_or_else(|e| panic!("data/sensor-rules.json: {e}"))
}

/// How often silent devices are looked for.
pub const TICK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
