//! The case service: intake, commands and timers over one store.
//!
//! Every change follows one path: load the history, replay it into a
//! `CaseState`, `decide` the command, `apply` the events, and append them
//! with the summary row and the case's new timers in one store transaction
//! that checks the version the decision was made on. A concurrent change
//! makes the append fail with a conflict; the service then decides again on
//! the newer history (bounded retries), so nothing is lost and nothing is
//! applied twice.

use crate::codec::{CodecError, decode_event, encode_event};
use crate::routing::{self, Routing};
use chrono::{DateTime, Duration, Utc};
use cityloop_calendar::{HolidayCalendar, Shifts, WorkingTime};
use cityloop_domain::{AreaCode, CategoryCode, DepartmentId, Role, User, UserId};
use cityloop_geo::{AreaIndex, LonLat};
use cityloop_store::{
    Attachments, Audit, CaseEventRow, CaseReport, CaseRow, MediaRecord, MediaUpload, Store,
    StoreError, TimerSpec,
};
use cityloop_transparency::{Leaf, Pseudonyms, Record};
use cityloop_workflow::{
    Actor, CaseId, CaseState, Channel, Command, Event, NewCase, Refusal, SlaContext, SlaPolicy,
    Stage, Timer, TimerKind, Urgency, apply, decide, on_timer, replay, timers,
};
use std::sync::{Arc, RwLock};

/// Tunables of intake, with their units in the names.
#[derive(Debug, Clone)]
pub struct CaseConfig {
    /// Open cases within this distance are duplicate candidates.
    pub duplicate_distance_m: f64,
    /// … if they were created within this window.
    pub duplicate_window_hours: i64,
    /// At or above this confidence a new case is merged automatically.
    pub auto_merge_confidence: f64,
    /// A point closer than this to its area's boundary is flagged for the
    /// dispatcher to confirm the area.
    pub boundary_flag_m: f64,
    /// How often a command is decided again after a concurrent change.
    pub conflict_retries_max: u32,
    /// The key behind the pseudonyms and row commitments of the
    /// transparency log's leaves (a city loads it from its data directory).
    pub pseudonyms: Pseudonyms,
}

impl Default for CaseConfig {
    fn default() -> Self {
        CaseConfig {
            duplicate_distance_m: 50.0,
            duplicate_window_hours: 72,
            auto_merge_confidence: 0.9,
            boundary_flag_m: 30.0,
            conflict_retries_max: 3,
            pseudonyms: Pseudonyms::random(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("case {0} not found")]
    NotFound(i64),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("the case changed while this action was decided; try again")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored history does not decode: {0}")]
    Codec(#[from] CodecError),
}

/// A report as it comes in, from any channel. The point is WGS-84.
#[derive(Debug, Clone)]
pub struct Intake {
    pub channel: Channel,
    pub category: CategoryCode,
    pub urgency: Urgency,
    pub point: Option<LonLat>,
    /// The area, when the channel knows it rather than a point.
    pub area: Option<AreaCode>,
    pub address: Option<String>,
    pub description: String,
    pub reporter: Option<UserId>,
    /// Personal data given with the report (name, phone); kept private.
    pub reporter_contact: Option<String>,
    /// What a citizen's report brings besides (attributes, photos).
    pub report: Option<ReportInput>,
    /// The responsible department when the channel knows it (a sensor
    /// rule names one); `None`: the responsibility list decides.
    pub route_to: Option<DepartmentId>,
}

/// What a citizen's report (the citizen page, Open311) brings besides the
/// case itself. Checked at the door (the API): sizes, types, attributes.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    /// Attribute code → string or array of strings.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// The Open311 client's name, or `citizen_page`.
    pub client: Option<String>,
    /// The Open311 token to give the request.
    pub token: Option<String>,
    pub photos: Vec<Photo>,
}

/// A photo as uploaded.
#[derive(Debug, Clone)]
pub struct Photo {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A new media id: 32 random hex digits.
pub fn new_media_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    cityloop_transparency::sha256_hex(bytes)
}

/// The stored form of a photo of `case_id`.
pub fn media_upload(case_id: i64, photo: Photo, public: bool, at: DateTime<Utc>) -> MediaUpload {
    MediaUpload {
        record: MediaRecord {
            id: new_media_id(),
            case_id,
            sha256: sha256_hex(&photo.bytes),
            size: photo.bytes.len() as u64,
            content_type: photo.content_type,
            public,
            created_at: at,
        },
        bytes: photo.bytes,
    }
}

/// A proposed duplicate: an open case close in space, time and category.
#[derive(Debug, Clone, PartialEq)]
pub struct Duplicate {
    pub case_id: i64,
    pub distance_m: f64,
    /// 0–1.
    pub confidence: f64,
}

#[derive(Debug, Clone)]
pub struct IntakeOutcome {
    pub case: CaseRow,
    pub routing: Routing,
    pub duplicate: Option<Duplicate>,
    /// Set when the case was merged into `duplicate` automatically.
    pub merged_into: Option<i64>,
}

/// The longest description kept, in characters.
pub const DESCRIPTION_CHARS_MAX: usize = 2000;

/// How long reference data read during intake (categories, area paths,
/// the responsibility list) is reused before it is read again. Changes made
/// through this process's API invalidate at once; other processes see them
/// within this time.
pub const REFERENCE_CACHE_TTL_MS: u64 = 5_000;

/// Small time-bounded caches of reference data for intake.
#[derive(Default)]
struct ReferenceCache {
    categories: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
    paths:
        std::sync::Mutex<std::collections::HashMap<AreaCode, (std::time::Instant, Vec<AreaCode>)>>,
    routes: std::sync::Mutex<
        std::collections::HashMap<(String, AreaCode), (std::time::Instant, Routing)>,
    >,
}

fn fresh(at: std::time::Instant) -> bool {
    at.elapsed() < std::time::Duration::from_millis(REFERENCE_CACHE_TTL_MS)
}

/// Case ids reserved per store round trip.
pub const CASE_ID_BLOCK: u32 = 32;

pub struct CaseService {
    store: Arc<dyn Store>,
    /// Case ids reserved but not yet used by this process.
    ids: std::sync::Mutex<std::collections::VecDeque<i64>>,
    cache: ReferenceCache,
    calendar: HolidayCalendar,
    shifts: Shifts,
    policy: RwLock<Arc<SlaPolicy>>,
    config: CaseConfig,
    /// The accountable account that merges duplicates automatically.
    automation: Option<User>,
}

impl CaseService {
    pub fn new(
        store: Arc<dyn Store>,
        calendar: HolidayCalendar,
        shifts: Shifts,
        policy: SlaPolicy,
        config: CaseConfig,
    ) -> CaseService {
        CaseService {
            store,
            calendar,
            shifts,
            policy: RwLock::new(Arc::new(policy)),
            config,
            automation: None,
            cache: ReferenceCache::default(),
            ids: std::sync::Mutex::new(std::collections::VecDeque::new()),
        }
    }

    /// A service on `store` with the calendars given (holiday-cn texts), the
    /// default shifts, the SLA rules kept in the store's settings (the
    /// shipped defaults the first time), and the automation account,
    /// created on first use.
    pub async fn open(
        store: Arc<dyn Store>,
        calendar_texts: &[&str],
        config: CaseConfig,
    ) -> Result<CaseService, CaseError> {
        let calendar = HolidayCalendar::from_holiday_cn_json(calendar_texts).map_err(|e| {
            CaseError::Invalid {
                field: "calendar",
                message: e.to_string(),
            }
        })?;
        let policy = match store.setting(crate::policy::SLA_RULES_SETTING).await? {
            Some(text) => {
                let rules: Vec<crate::policy::RuleJson> =
                    serde_json::from_str(&text).map_err(|e| CaseError::Invalid {
                        field: "sla_rules",
                        message: e.to_string(),
                    })?;
                crate::policy::policy_from_json(&rules).map_err(|e| CaseError::Invalid {
                    field: "sla_rules",
                    message: e.to_string(),
                })?
            }
            None => crate::policy::default_policy(),
        };
        let automation = ensure_automation_user(store.as_ref(), config.pseudonyms.clone()).await?;
        Ok(
            CaseService::new(store, calendar, Shifts::default(), policy, config)
                .with_automation(automation),
        )
    }

    /// Uses these daily working periods for every working-time clock.
    pub fn with_shifts(mut self, shifts: Shifts) -> CaseService {
        self.shifts = shifts;
        self
    }

    /// Names the account that performs automatic merges (an operator with
    /// the whole city in scope, so its actions show in the history).
    pub fn with_automation(mut self, user: User) -> CaseService {
        self.automation = Some(user);
        self
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn store_arc(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    pub fn config(&self) -> &CaseConfig {
        &self.config
    }

    pub fn working_time(&self) -> WorkingTime<'_> {
        WorkingTime::new(&self.calendar, &self.shifts)
    }

    pub fn policy(&self) -> Arc<SlaPolicy> {
        Arc::clone(&self.policy.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn set_policy(&self, policy: SlaPolicy) {
        *self.policy.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(policy);
    }

    /// Takes a report in: resolves its area path, routes it, looks for a
    /// duplicate, and stores it with its first events and timers.
    pub async fn intake(
        &self,
        intake: Intake,
        index: &AreaIndex,
        now: DateTime<Utc>,
    ) -> Result<IntakeOutcome, CaseError> {
        let description = intake.description.trim().to_owned();
        if description.is_empty() {
            return Err(CaseError::Invalid {
                field: "description",
                message: "describe the problem".into(),
            });
        }
        if description.chars().count() > DESCRIPTION_CHARS_MAX {
            return Err(CaseError::Invalid {
                field: "description",
                message: format!("at most {DESCRIPTION_CHARS_MAX} characters"),
            });
        }
        let (kind, _) =
            CategoryCode::parse_case_category(intake.category.as_str()).map_err(|e| {
                CaseError::Invalid {
                    field: "category",
                    message: e.message,
                }
            })?;
        self.check_category(kind, &intake.category).await?;
        let located = self
            .locate(index, intake.point, intake.area.as_ref())
            .await?;
        let routing = match intake.route_to.clone() {
            Some(department) => Routing {
                department: Some(department),
                rule: None,
            },
            None => self.route(&intake.category, &located.path).await?,
        };
        let duplicate = match intake.point {
            Some(point) => self.find_duplicate(&intake.category, point, now).await?,
            None => None,
        };

        let id = self.next_case_id().await?;
        let policy = self.policy();
        let context = SlaContext {
            working: self.working_time(),
            policy: &policy,
        };
        let (state, created) = CaseState::new(
            NewCase {
                id: CaseId(id),
                channel: intake.channel,
                category: intake.category.clone(),
                urgency: intake.urgency,
                area_path: located.path.clone(),
                reporter: intake.reporter,
            },
            now,
            &context,
        )?;
        let row = CaseRow {
            id,
            channel: intake.channel.as_str().to_owned(),
            category: intake.category.as_str().to_owned(),
            urgency: intake.urgency.as_str().to_owned(),
            status: String::new(),
            open: true,
            lead_department: None,
            units: Vec::new(),
            area_path: located.path.clone(),
            lon: intake.point.map(|p| p.lon),
            lat: intake.point.map(|p| p.lat),
            address: intake
                .address
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty()),
            description,
            reporter: intake.reporter,
            reporter_contact: intake.reporter_contact,
            parent: None,
            created_at: now,
            updated_at: now,
            version: 0,
            due_at: None,
            warn_at: None,
            near_boundary: located.near_boundary,
            routed_department: routing.department.clone(),
        };
        let row = summarise(row, &state);
        let events = event_rows(
            id,
            0,
            &[created],
            &reporter_actor(intake.channel, intake.reporter),
        );
        let attachments = match intake.report {
            None => Attachments::default(),
            Some(report) => Attachments {
                report: Some(CaseReport {
                    attributes: serde_json::Value::Object(report.attributes).to_string(),
                    client: report.client,
                    token: report.token,
                }),
                media: report
                    .photos
                    .into_iter()
                    .map(|photo| media_upload(id, photo, true, now))
                    .collect(),
            },
        };
        // The created leaf commits to the attachments too, when there are any.
        let commitment =
            (attachments.report.is_some() || !attachments.media.is_empty()).then(|| {
                let records: Vec<MediaRecord> =
                    attachments.media.iter().map(|m| m.record.clone()).collect();
                self.config
                    .pseudonyms
                    .attachments(id, attachments.report.as_ref(), &records)
            });
        let audit = self.leaves_with(&events, &row, commitment);
        self.store
            .insert_case(row.clone(), events, timer_specs(&state), attachments, audit)
            .await?;
        metrics_intake(intake.channel);

        let mut merged_into = None;
        if let (Some(found), Some(automation)) = (&duplicate, &self.automation)
            && found.confidence >= self.config.auto_merge_confidence
        {
            let actor = Actor::from_user(automation);
            let command = Command::Merge {
                parent: CaseId(found.case_id),
            };
            match self.act(id, &actor, command, now).await {
                Ok(_) => merged_into = Some(found.case_id),
                Err(error) => tracing::warn!(case = id, %error, "automatic merge refused"),
            }
        }
        let case = match merged_into {
            Some(_) => self.store.case(id).await?.ok_or(CaseError::NotFound(id))?,
            None => row,
        };
        Ok(IntakeOutcome {
            case,
            routing,
            duplicate,
            merged_into,
        })
    }

    /// The next case id from this process's reserved block, reserving a new
    /// block of [`CASE_ID_BLOCK`] when it runs out.
    async fn next_case_id(&self) -> Result<i64, CaseError> {
        if let Some(id) = self.ids.lock().ok().and_then(|mut ids| ids.pop_front()) {
            return Ok(id);
        }
        let mut block: std::collections::VecDeque<i64> =
            self.store.allocate_case_ids(CASE_ID_BLOCK).await?.into();
        let id = block
            .pop_front()
            .ok_or_else(|| CaseError::Store(StoreError::Backend("empty id block".into())))?;
        if let Ok(mut ids) = self.ids.lock() {
            ids.extend(block);
        }
        Ok(id)
    }

    /// Forgets cached reference data (after the responsibility list or the
    /// area tree changed).
    pub fn invalidate_reference_cache(&self) {
        if let Ok(mut categories) = self.cache.categories.lock() {
            categories.clear();
        }
        if let Ok(mut paths) = self.cache.paths.lock() {
            paths.clear();
        }
        if let Ok(mut routes) = self.cache.routes.lock() {
            routes.clear();
        }
    }

    async fn check_category(
        &self,
        kind: cityloop_domain::CategoryKind,
        category: &CategoryCode,
    ) -> Result<(), CaseError> {
        let key = category.as_str().to_owned();
        let cached = self
            .cache
            .categories
            .lock()
            .ok()
            .and_then(|c| c.get(&key).copied())
            .is_some_and(fresh);
        if cached {
            return Ok(());
        }
        if self
            .store
            .category(kind, category.as_str())
            .await?
            .is_none()
        {
            return Err(CaseError::Invalid {
                field: "category",
                message: format!("category {category} is not in the catalogue"),
            });
        }
        if let Ok(mut categories) = self.cache.categories.lock() {
            categories.insert(key, std::time::Instant::now());
        }
        Ok(())
    }

    async fn locate(
        &self,
        index: &AreaIndex,
        point: Option<LonLat>,
        area: Option<&AreaCode>,
    ) -> Result<routing::Located, CaseError> {
        let finest = match (point, area) {
            (Some(point), _) => routing::finest_hit(index, point),
            (None, Some(area)) => Some(area.clone()),
            (None, None) => None,
        };
        if let Some(finest) = &finest {
            let cached = self
                .cache
                .paths
                .lock()
                .ok()
                .and_then(|paths| paths.get(finest).cloned())
                .filter(|(at, _)| fresh(*at));
            if let Some((_, path)) = cached {
                let near_boundary = point.is_some_and(|p| {
                    index
                        .is_near_boundary(finest.as_str(), p, self.config.boundary_flag_m)
                        .unwrap_or(false)
                });
                return Ok(routing::Located {
                    path,
                    near_boundary,
                });
            }
        }
        let located = routing::locate(
            self.store.as_ref(),
            index,
            point,
            area,
            self.config.boundary_flag_m,
        )
        .await?;
        if let (Some(finest), Ok(mut paths)) = (finest, self.cache.paths.lock()) {
            paths.insert(finest, (std::time::Instant::now(), located.path.clone()));
        }
        Ok(located)
    }

    async fn route(
        &self,
        category: &CategoryCode,
        path: &[AreaCode],
    ) -> Result<Routing, CaseError> {
        let Some(finest) = path.last() else {
            return Ok(routing::route(self.store.as_ref(), category, path).await?);
        };
        let key = (category.as_str().to_owned(), finest.clone());
        let cached = self
            .cache
            .routes
            .lock()
            .ok()
            .and_then(|routes| routes.get(&key).cloned())
            .filter(|(at, _)| fresh(*at));
        if let Some((_, routing)) = cached {
            return Ok(routing);
        }
        let routing = routing::route(self.store.as_ref(), category, path).await?;
        if let Ok(mut routes) = self.cache.routes.lock() {
            routes.insert(key, (std::time::Instant::now(), routing.clone()));
        }
        Ok(routing)
    }

    /// Open cases near `point` of the same category or class, created in the
    /// window; the most likely one with its confidence.
    pub async fn find_duplicate(
        &self,
        category: &CategoryCode,
        point: LonLat,
        now: DateTime<Utc>,
    ) -> Result<Option<Duplicate>, CaseError> {
        let radius_m = self.config.duplicate_distance_m;
        let window = Duration::hours(self.config.duplicate_window_hours);
        let candidates = self
            .store
            .cases(&cityloop_store::CaseQuery {
                open_only: true,
                bbox: Some(bbox_around(point, radius_m)),
                created_from: Some(now - window),
                limit: 200,
                ..Default::default()
            })
            .await?;
        let mut best: Option<Duplicate> = None;
        for candidate in candidates {
            if candidate.parent.is_some() {
                continue;
            }
            let (Some(lon), Some(lat)) = (candidate.lon, candidate.lat) else {
                continue;
            };
            let Ok(other) = LonLat::new(lon, lat) else {
                continue;
            };
            let category_score = if candidate.category == category.as_str() {
                1.0
            } else if category.class().is_some_and(|class| {
                candidate.category.starts_with(class) && candidate.category.len() == 5
            }) {
                0.6
            } else {
                continue;
            };
            let distance_m = cityloop_geo::haversine_m(point, other);
            if distance_m > radius_m {
                continue;
            }
            let age = (now - candidate.created_at).num_seconds().max(0) as f64;
            let time_score = 1.0 - (age / window.num_seconds() as f64).min(1.0);
            let distance_score = 1.0 - distance_m / radius_m;
            let confidence = 0.5 * distance_score + 0.3 * category_score + 0.2 * time_score;
            if best.as_ref().is_none_or(|b| confidence > b.confidence) {
                best = Some(Duplicate {
                    case_id: candidate.id,
                    distance_m,
                    confidence,
                });
            }
        }
        Ok(best)
    }

    /// The case's summary, state and history.
    pub async fn load(
        &self,
        id: i64,
    ) -> Result<(CaseRow, CaseState, Vec<CaseEventRow>), CaseError> {
        let row = self.store.case(id).await?.ok_or(CaseError::NotFound(id))?;
        let history = self.store.case_events(id).await?;
        let events = history
            .iter()
            .map(|e| decode_event(&e.kind, &e.payload))
            .collect::<Result<Vec<_>, _>>()?;
        let state = replay(&events).ok_or_else(|| {
            CaseError::Store(StoreError::Backend(format!(
                "case {id} has no creation event"
            )))
        })?;
        if state.version != row.version {
            return Err(CaseError::Store(StoreError::Backend(format!(
                "case {id}: summary version {} but history has {} events",
                row.version, state.version
            ))));
        }
        Ok((row, state, history))
    }

    /// Decides and records one command. Returns the new summary.
    pub async fn act(
        &self,
        id: i64,
        actor: &Actor,
        command: Command,
        now: DateTime<Utc>,
    ) -> Result<CaseRow, CaseError> {
        for _ in 0..=self.config.conflict_retries_max {
            let (row, state, _) = self.load(id).await?;
            let policy = self.policy();
            let context = SlaContext {
                working: self.working_time(),
                policy: &policy,
            };
            if let Command::Merge { parent } = &command {
                self.check_merge_parent(id, parent.0).await?;
            }
            let events = decide(&state, actor, &command, now, &context)?;
            let next = events.iter().fold(state.clone(), apply);
            let mut summary = summarise(row.clone(), &next);
            if let Command::Merge { parent } = &command {
                summary.parent = Some(parent.0);
            }
            let rows = event_rows(id, state.version, &events, actor);
            let audit = self.leaves(&rows, &summary);
            match self
                .store
                .append_case_events(
                    summary.clone(),
                    state.version,
                    rows,
                    timer_specs(&next),
                    None,
                    audit,
                )
                .await
            {
                Ok(()) => {
                    metrics::counter!("cityloop_cases_actions_total", "action" => command.as_str())
                        .increment(1);
                    return Ok(summary);
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(CaseError::Busy)
    }

    /// The transparency log's leaves for history rows: public codes, the
    /// actor as a pseudonym, and a keyed commitment to each whole row.
    fn leaves(&self, rows: &[CaseEventRow], summary: &CaseRow) -> Audit {
        self.leaves_with(rows, summary, None)
    }

    /// [`Self::leaves`], the `created` leaf also committing to what the
    /// report brought besides the case row.
    fn leaves_with(
        &self,
        rows: &[CaseEventRow],
        summary: &CaseRow,
        attachments: Option<String>,
    ) -> Audit {
        let pseudonyms = &self.config.pseudonyms;
        rows.iter()
            .enumerate()
            .map(|(position, row)| {
                let mut detail = std::collections::BTreeMap::new();
                if row.seq == 1 {
                    detail.insert("category".to_owned(), summary.category.clone());
                    detail.insert("urgency".to_owned(), summary.urgency.clone());
                    detail.insert("channel".to_owned(), summary.channel.clone());
                    if let Some(area) = summary.area_path.last() {
                        detail.insert("area".to_owned(), area.as_str().to_owned());
                    }
                    detail.insert("report".to_owned(), pseudonyms.report(summary));
                    if let Some(commitment) = &attachments {
                        detail.insert("attachments".to_owned(), commitment.clone());
                    }
                }
                if position + 1 == rows.len() {
                    detail.insert("status".to_owned(), summary.status.clone());
                    if !summary.units.is_empty() {
                        let units: Vec<&str> = summary.units.iter().map(|u| u.as_str()).collect();
                        detail.insert("units".to_owned(), units.join(","));
                    }
                }
                Leaf::new(
                    row.at,
                    Record::Case {
                        case: row.case_id,
                        seq: row.seq,
                        action: row.kind.clone(),
                        actor: cityloop_transparency::Actor {
                            role: row.actor_role.clone(),
                            department: row.actor_department.clone(),
                            id: row.actor_user.map(|u| pseudonyms.user(u.0)),
                        },
                        detail,
                        row: pseudonyms.row(row),
                    },
                )
                .input()
            })
            .collect()
    }

    async fn check_merge_parent(&self, child: i64, parent: i64) -> Result<(), CaseError> {
        if parent == child {
            return Err(CaseError::Invalid {
                field: "parent",
                message: "a case cannot be merged into itself".into(),
            });
        }
        let parent_row = self
            .store
            .case(parent)
            .await?
            .ok_or_else(|| CaseError::Invalid {
                field: "parent",
                message: format!("case {parent} does not exist"),
            })?;
        if !parent_row.open || parent_row.parent.is_some() {
            return Err(CaseError::Invalid {
                field: "parent",
                message: format!("case {parent} is not an open case that others can join"),
            });
        }
        Ok(())
    }

    /// Claims due timers and fires each exactly once: the timer row is
    /// marked fired in the same transaction as the events it caused.
    /// Returns how many timers fired.
    pub async fn fire_due_timers(
        &self,
        now: DateTime<Utc>,
        worker: &str,
        batch_max: u32,
    ) -> Result<usize, CaseError> {
        let lease_until = now + Duration::seconds(60);
        let claimed = self
            .store
            .claim_due_timers(now, lease_until, worker, batch_max)
            .await?;
        let mut fired = 0;
        for timer_row in claimed {
            let (row, state, _) = self.load(timer_row.case_id).await?;
            let (Ok(stage), Ok(kind)) = (
                Stage::parse(&timer_row.stage),
                TimerKind::parse(&timer_row.kind),
            ) else {
                tracing::error!(timer = timer_row.id, "stored timer does not parse");
                continue;
            };
            let timer = Timer {
                stage,
                kind,
                due_at: timer_row
                    .due_at
                    .with_timezone(&cityloop_calendar::china_offset()),
            };
            let events = on_timer(&state, &timer, now);
            let next = events.iter().fold(state.clone(), apply);
            let summary = summarise(row, &next);
            let rows = event_rows(timer_row.case_id, state.version, &events, &Actor::system());
            let audit = self.leaves(&rows, &summary);
            match self
                .store
                .append_case_events(
                    summary,
                    state.version,
                    rows,
                    timer_specs(&next),
                    Some(timer_row.id),
                    audit,
                )
                .await
            {
                Ok(()) => {
                    fired += 1;
                    metrics::counter!("cityloop_cases_timers_fired_total", "kind" => timer_row.kind.clone())
                        .increment(1);
                }
                // Someone acted on the case meanwhile or fired it already:
                // the lease lapses and the timer is looked at again.
                Err(StoreError::Conflict { .. }) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Ok(fired)
    }
}

/// The username of the account that merges duplicates automatically.
pub const AUTOMATION_USERNAME: &str = "cityloop-automation";

async fn ensure_automation_user(
    store: &dyn Store,
    pseudonyms: Pseudonyms,
) -> Result<User, CaseError> {
    if let Some((user, _)) = store.user_credentials(AUTOMATION_USERNAME).await? {
        return Ok(user);
    }
    let city = store
        .areas(&cityloop_store::AreaQuery {
            level: Some(cityloop_domain::AreaLevel::City),
            limit: 1,
            ..Default::default()
        })
        .await?;
    let Some(city) = city.into_iter().next() else {
        return Err(CaseError::Invalid {
            field: "areas",
            message: "load the city's areas before serving cases".into(),
        });
    };
    let area = city.area.code.as_str().to_owned();
    let new_user = cityloop_domain::NewUser::new(
        AUTOMATION_USERNAME,
        "自动合并（系统）",
        Role::Operator,
        None,
        vec![city.area.code],
        None,
    )
    .map_err(|e| CaseError::Invalid {
        field: e.field,
        message: e.message,
    })?;
    // No password: "!" is not a valid hash, so the account cannot log in.
    let audit: cityloop_store::AuditFor = Box::new(move |id| {
        vec![
            Leaf::new(
                Utc::now(),
                Record::Grant {
                    change: "grant".into(),
                    grantee: pseudonyms.user(id.0),
                    role: Role::Operator.as_str().into(),
                    department: None,
                    areas: vec![area],
                    by: cityloop_transparency::Actor {
                        role: Some("system".into()),
                        ..Default::default()
                    },
                    basis: "cityloop: the account that merges duplicate cases automatically".into(),
                },
            )
            .input(),
        ]
    });
    match store.create_user(new_user, "!".into(), audit).await {
        Ok(user) => Ok(user),
        Err(StoreError::Conflict { .. }) => store
            .user_credentials(AUTOMATION_USERNAME)
            .await?
            .map(|(user, _)| user)
            .ok_or(CaseError::Busy),
        Err(other) => Err(other.into()),
    }
}

/// The actor recorded on a `created` event, by channel: the reporting
/// citizen or inspector, the dispatcher who took a hotline call or a
/// referral, or the system for sensors and video analytics.
fn reporter_actor(channel: Channel, reporter: Option<UserId>) -> Actor {
    let role = match channel {
        Channel::CitizenWeb | Channel::CitizenApp | Channel::Open311 => Role::Citizen,
        Channel::Inspector => Role::Supervisor,
        Channel::Hotline | Channel::Referral | Channel::Assignment => Role::Operator,
        Channel::Sensor | Channel::Video => return Actor::system(),
    };
    Actor {
        receipt: None,
        user: reporter,
        role,
        department: None,
        areas: Vec::new(),
    }
}

fn metrics_intake(channel: Channel) {
    metrics::counter!("cityloop_cases_created_total", "channel" => channel.as_str()).increment(1);
}

/// [min lon, min lat, max lon, max lat] of a square around `point`.
fn bbox_around(point: LonLat, radius_m: f64) -> [f64; 4] {
    let dlat = radius_m / 111_320.0;
    let dlon = radius_m / (111_320.0 * point.lat.to_radians().cos().max(0.01));
    [
        point.lon - dlon,
        point.lat - dlat,
        point.lon + dlon,
        point.lat + dlat,
    ]
}

/// The summary row of `state`, keeping what only the row knows.
pub fn summarise(mut row: CaseRow, state: &CaseState) -> CaseRow {
    row.status = state.status.as_str().to_owned();
    row.open = state.is_open();
    row.lead_department = state.lead.clone();
    row.units = state.units.clone();
    row.version = state.version;
    row.updated_at = state.updated_at;
    let running = state.sla.clocks.values().filter(|c| !c.is_paused());
    row.due_at = running.clone().map(|c| c.due_at.with_timezone(&Utc)).min();
    row.warn_at = running.map(|c| c.warn_at.with_timezone(&Utc)).min();
    if !row.open {
        row.due_at = None;
        row.warn_at = None;
    }
    row
}

fn timer_specs(state: &CaseState) -> Vec<TimerSpec> {
    timers(state)
        .into_iter()
        .map(|timer| TimerSpec {
            stage: timer.stage.as_str().to_owned(),
            kind: timer.kind.as_str().to_owned(),
            due_at: timer.due_at.with_timezone(&Utc),
        })
        .collect()
}

fn event_rows(case_id: i64, version: u64, events: &[Event], actor: &Actor) -> Vec<CaseEventRow> {
    events
        .iter()
        .enumerate()
        .map(|(offset, event)| {
            let (kind, payload) = encode_event(event);
            let by = event.by();
            let role = if by.is_none() && actor.is_system() {
                Some("system".to_owned())
            } else {
                Some(actor.role.as_str().to_owned())
            };
            CaseEventRow {
                case_id,
                seq: version + offset as u64 + 1,
                at: event.at(),
                kind,
                actor_user: by.or(actor.user),
                actor_role: role,
                actor_department: actor.department.as_ref().map(|d| d.as_str().to_owned()),
                payload,
            }
        })
        .collect()
}
