//! Performance metrics (考核指标) from the case history, by department,
//! street, district or city, over any period: 立案率, 按时签收率,
//! 按期处置率, 结案率, 按期结案率, 返工率, 回退率, 重办率, 延期率 and the
//! 12345 三率 响应率 / 解决率 / 满意率.
//!
//! Every rate is computed from the events, never from the summary rows'
//! status alone: each case's history is folded through
//! [`cityloop_workflow::apply`] and the state *before* each event is looked
//! at, so "on time" always means "before the deadline of the SLA clock that
//! was in force at that moment", whether or not the SLA timer ever fired.
//! `docs/METRICS.md` holds the same definitions with worked examples.
//!
//! # Populations
//!
//! * **The period's cases**: cases *created* in the half-open period
//!   `[from, to)` (and not after `now`). [`MetricsRow::cases`] counts all of
//!   them. *Merged* cases (合并: a duplicate carried by its parent) are left
//!   out of every case-based rate.
//! * **The period's events**: the two event-based rates,
//!   [`RETURN_RATE`] and [`SATISFACTION_RATE`], count dispatches and
//!   ratings that happened *inside* the period, of any case, whenever it
//!   was created.
//!
//! # As of `now`
//!
//! Histories are read up to and including `now`; later events (only
//! possible when `now` lies in the past) are ignored, so a metric "as of" an
//! instant is reproducible. Open cases are judged at `now`: a running clock
//! whose due instant is at or before `now` is overdue (the SLA light's
//! convention: exactly 100 % of the allowance is already late).
//!
//! # "Overran": the one definition of lateness
//!
//! A stage *overran* on a case when a breach of that stage was recorded
//! (`sla_breached`), or when its clock was running at some instant `t` — an
//! event of the case, or `now` — with `t >= due_at` (the due instant in
//! force then, extensions and pauses included). A paused clock does not
//! overrun. Lateness is sticky, like the breach: an extension approved
//! after the deadline passed does not make the case on time again.
//!
//! # The rates
//!
//! Numerators are always a subset of their denominators, so every value is
//! in `[0, 1]`; `value` is `None` when the denominator is 0.
//!
//! | key | 中文 | numerator | denominator |
//! |---|---|---|---|
//! | [`REGISTRATION_RATE`] | 立案率 | registered | accepted (受理: valid reports, 有效上报) |
//! | [`ON_TIME_SIGNING_RATE`] | 按时签收率 | signed before the signing clock's due | signed |
//! | [`ON_TIME_HANDLING_RATE`] | 按期处置率 | replied, handling never overran | replied at least once |
//! | [`CLOSING_RATE`] | 结案率 | registered and closed (any closing) | registered |
//! | [`ON_TIME_CLOSING_RATE`] | 按期结案率 | closed, handling never overran, not an overdue closing | registered and closed, **plus registered open cases whose handling overran** |
//! | [`REWORK_RATE`] | 返工率 | failed an on-site check (返工) at least once | checked at least once |
//! | [`RETURN_RATE`] | 回退率 | dispatches in the period that the unit returned | dispatches in the period |
//! | [`REDO_RATE`] | 重办率 | redone (重办) at least once | rated at least once |
//! | [`EXTENSION_RATE`] | 延期率 | an extension approved | dispatched |
//! | [`RESPONSE_RATE`] | 响应率 | every dispatch answered (signed, returned or passed down) before its signing deadline | dispatched, minus cases still awaiting an answer that is not yet late |
//! | [`RESOLUTION_RATE`] | 解决率 | latest rating satisfied-level, or dissatisfied and judged unreasonable | rated at least once |
//! | [`SATISFACTION_RATE`] | 满意率 | ratings in the period of 非常满意, 满意 or 基本满意 | ratings in the period |
//!
//! See each constant for the details.
//!
//! # Groups
//!
//! * [`GroupBy::Department`]: a case counts for its *lead unit* (the last
//!   dispatched, arbitrated or sub-dispatched lead; [`UNROUTED`] when never
//!   dispatched). The event-based rates count for the unit the event is
//!   about: a dispatch for the unit it names as lead (whether it returned
//!   it or not), a rating for the lead unit at the time of the rating.
//! * [`GroupBy::Street`], [`GroupBy::District`], [`GroupBy::City`]: the case's
//!   area path (city first) at index 2, 1 and 0; [`NO_STREET`],
//!   [`NO_DISTRICT`], [`NO_CITY`] when the path is shorter. Events count
//!   for their case's area.
//!
//! Rows come sorted by group; a group appears when it has a case of the
//! period or a counted event. Every row has all twelve rates.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cityloop_domain::DepartmentId;
use cityloop_store::{CASE_HISTORIES_IDS_MAX, CaseRow, CaseStamp, Store, StoreError};
use cityloop_workflow::{CaseState, CaseStatus, ClosingType, Event, EventKind, Stage, apply};
use serde::{Deserialize, Serialize};

use crate::codec::decode_event;
use crate::service::CaseError;

/// 立案率 = registered / accepted.
///
/// A case counts in the denominator once accepted (受理): the report was
/// verified as real and within scope, i.e. a *valid report* (有效上报);
/// declined reports (不予受理) and merged duplicates are not valid reports.
/// It counts in the numerator once registered (立案). Accepted cases still
/// awaiting registration, and those voided (作废) for not meeting the
/// registration criteria, count against the rate. Self-handled cases (自处理)
/// are never accepted and so are not counted.
pub const REGISTRATION_RATE: &str = "registration_rate";

/// 按时签收率 = signed on time / signed.
///
/// Over cases whose lead unit signed (签收; at most once per case). On time
/// when, at the signature, the signing clock then in force (started by the
/// latest dispatch, sub-dispatch or arbitration) had not breached and its
/// due instant was still ahead. No signing clock (no SLA rule): on time.
pub const ON_TIME_SIGNING_RATE: &str = "on_time_signing_rate";

/// 按期处置率 = replied with handling never overrun / replied.
///
/// Over cases with at least one reply (反馈). On time when the handling
/// clock never overran (see the module documentation): every reply came
/// before the handling deadline in force (approved extensions included,
/// review/check/callback and 挂账 pauses excluded), and no rework or redo
/// since has run past it either.
pub const ON_TIME_HANDLING_RATE: &str = "on_time_handling_rate";

/// 结案率 = closed / registered.
///
/// Over registered cases (立案数); closed counts every closing (正常,
/// 超期 and 特殊结案). Merged cases are not counted; declined and voided
/// cases were never registered.
pub const CLOSING_RATE: &str = "closing_rate";

/// 按期结案率 = closed on time / (closed + open overdue).
///
/// Over registered cases that are closed, **plus registered cases still
/// open whose handling clock overran by `now`**: overdue work that has not
/// been closed counts against the rate instead of hiding from it. A closed
/// case is on time when its handling clock never overran and it was not
/// closed as overdue (超期结案).
pub const ON_TIME_CLOSING_RATE: &str = "on_time_closing_rate";

/// 返工率 = reworked / checked.
///
/// Over cases checked on site (核查) at least once; reworked when at least
/// one check failed (返工).
pub const REWORK_RATE: &str = "rework_rate";

/// 回退率 = returned dispatches / dispatches, counted in events.
///
/// Every dispatch event *inside the period* that hands the case to a lead
/// unit — `dispatched`, `sub_dispatched` and `arbitrated` — counts once in
/// the denominator, and in the numerator when that unit returned it (退单,
/// at any time up to `now`). By department it counts for the unit that
/// received (and returned) it.
pub const RETURN_RATE: &str = "return_rate";

/// 重办率 = redone / rated.
///
/// Over cases rated (回访) at least once; redone when a dissatisfied rating
/// was judged reasonable at least once (重办).
pub const REDO_RATE: &str = "redo_rate";

/// 延期率 = extended / dispatched.
///
/// Over dispatched cases; extended when at least one extension (延期) was
/// approved. Refused requests do not count.
pub const EXTENSION_RATE: &str = "extension_rate";

/// 响应率 = responded in time / dispatched.
///
/// Over dispatched cases. A unit responds to a dispatch by signing it,
/// returning it (a reasoned 退单 is a response) or passing it down
/// (二级派遣); the case responded in time when no signing clock overran,
/// i.e. every dispatch was answered before its signing deadline. A case
/// still awaiting an answer to its latest dispatch — open, or closed or
/// merged before the unit answered — whose deadline has not passed at
/// `now` cannot be judged yet and is left out; once the deadline has passed
/// it counts against the rate.
pub const RESPONSE_RATE: &str = "response_rate";

/// 解决率 = resolved / rated.
///
/// Over cases rated at least once. Resolved when the *latest* rating is
/// 非常满意, 满意 or 基本满意, or a dissatisfied rating judged unreasonable
/// (the case closed on it); a dissatisfied rating judged reasonable sends
/// the case back to handling (重办) and is unresolved until a later rating.
pub const RESOLUTION_RATE: &str = "resolution_rate";

/// 满意率 = satisfied ratings / ratings, counted in events.
///
/// Every rating (`rated` event, the 好差评 five levels) given *inside the
/// period* counts, including each rating of a redone case; satisfied are
/// 非常满意, 满意 and 基本满意. By department it counts for the lead unit at
/// the time of the rating.
pub const SATISFACTION_RATE: &str = "satisfaction_rate";

/// Every rate: its key and its Chinese name.
pub const RATES: [(&str, &str); 12] = [
    (REGISTRATION_RATE, "立案率"),
    (ON_TIME_SIGNING_RATE, "按时签收率"),
    (ON_TIME_HANDLING_RATE, "按期处置率"),
    (CLOSING_RATE, "结案率"),
    (ON_TIME_CLOSING_RATE, "按期结案率"),
    (REWORK_RATE, "返工率"),
    (RETURN_RATE, "回退率"),
    (REDO_RATE, "重办率"),
    (EXTENSION_RATE, "延期率"),
    (RESPONSE_RATE, "响应率"),
    (RESOLUTION_RATE, "解决率"),
    (SATISFACTION_RATE, "满意率"),
];

/// The department group of cases never dispatched.
pub const UNROUTED: &str = "unrouted";
/// The street group of cases whose area path ends above the street.
pub const NO_STREET: &str = "(no street)";
/// The district group of cases whose area path ends at the city.
pub const NO_DISTRICT: &str = "(no district)";
/// The city group of cases without an area path (not produced by intake).
pub const NO_CITY: &str = "(no city)";

/// What the rows are grouped by.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// The lead unit (department id), [`UNROUTED`] when never dispatched.
    Department,
    /// The street code (area path index 2), [`NO_STREET`] when none.
    Street,
    /// The district code (area path index 1), [`NO_DISTRICT`] when none.
    District,
    /// The city code (area path index 0).
    City,
}

impl GroupBy {
    pub const ALL: [GroupBy; 4] = [
        GroupBy::Department,
        GroupBy::Street,
        GroupBy::District,
        GroupBy::City,
    ];

    /// The snake_case name, as in query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Department => "department",
            GroupBy::Street => "street",
            GroupBy::District => "district",
            GroupBy::City => "city",
        }
    }

    /// Parses [`Self::as_str`]'s names (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<GroupBy, CaseError> {
        let trimmed = text.trim();
        GroupBy::ALL
            .into_iter()
            .find(|group| group.as_str() == trimmed)
            .ok_or_else(|| CaseError::Invalid {
                field: "group_by",
                message: format!(
                    "unknown grouping {trimmed:?}; expected one of department, street, district, city"
                ),
            })
    }
}

impl std::fmt::Display for GroupBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The half-open period `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Period {
    /// A period; refused unless `from < to`.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Period, CaseError> {
        let period = Period { from, to };
        period.check()?;
        Ok(period)
    }

    /// `from <= t < to`.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from <= t && t < self.to
    }

    fn check(&self) -> Result<(), CaseError> {
        if self.from < self.to {
            Ok(())
        } else {
            Err(CaseError::Invalid {
                field: "to",
                message: format!(
                    "the period must end after it starts ({} is not after {})",
                    self.to.to_rfc3339(),
                    self.from.to_rfc3339()
                ),
            })
        }
    }
}

/// One rate: `numerator / denominator`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rate {
    pub numerator: u64,
    pub denominator: u64,
    /// `numerator / denominator`; `None` when the denominator is 0.
    pub value: Option<f64>,
}

impl Rate {
    pub fn new(numerator: u64, denominator: u64) -> Rate {
        Rate {
            numerator,
            denominator,
            value: (denominator > 0).then(|| numerator as f64 / denominator as f64),
        }
    }
}

/// The metrics of one group.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MetricsRow {
    /// The department id or area code, or one of [`UNROUTED`],
    /// [`NO_STREET`], [`NO_DISTRICT`], [`NO_CITY`].
    pub group: String,
    /// Cases created in the period in this group (merged ones included).
    pub cases: u64,
    /// Every rate of [`RATES`], by key.
    #[schema(value_type = BTreeMap<String, Rate>)]
    pub rates: BTreeMap<&'static str, Rate>,
}

impl MetricsRow {
    /// The rate with this key (see [`RATES`]).
    pub fn rate(&self, key: &str) -> Option<&Rate> {
        self.rates.get(key)
    }
}

/// The kinds of event that bring an older case into a period's metrics.
const PERIOD_EVENT_KINDS: [EventKind; 5] = [
    EventKind::Dispatched,
    EventKind::SubDispatched,
    EventKind::Arbitrated,
    EventKind::Rated,
    EventKind::Judged,
];

/// The most cases a [`MetricsCache`] keeps; past it, it starts over.
pub const METRICS_CACHE_CASES_MAX: usize = 2_000_000;

/// Each case's folded facts, kept between metric calls and keyed by the
/// case's version: a call refolds only the cases whose history grew since
/// (one [`Store::case_histories`] read per 10,000 of them), so the rates
/// over 100,000 cases cost a read of their stamps plus the counting, not a
/// replay of every history. Facts are folded without a `now` and judged at
/// each call's `now`; a call "as of" an instant before a case's last event
/// folds that case afresh and does not keep it.
#[derive(Default)]
pub struct MetricsCache {
    cases: std::sync::Mutex<std::collections::HashMap<i64, (u64, std::sync::Arc<Facts>)>>,
}

impl MetricsCache {
    fn get(&self, stamp: &CaseStamp) -> Option<std::sync::Arc<Facts>> {
        let cases = self.cases.lock().unwrap_or_else(|e| e.into_inner());
        cases
            .get(&stamp.id)
            .filter(|(version, _)| *version == stamp.version)
            .map(|(_, facts)| facts.clone())
    }

    fn put(&self, stamp: &CaseStamp, facts: std::sync::Arc<Facts>) {
        let mut cases = self.cases.lock().unwrap_or_else(|e| e.into_inner());
        if cases.len() >= METRICS_CACHE_CASES_MAX && !cases.contains_key(&stamp.id) {
            cases.clear();
        }
        cases.insert(stamp.id, (stamp.version, facts));
    }

    /// Cases held (for tests and operators).
    pub fn len(&self) -> usize {
        self.cases.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The metrics of the period's cases and events, grouped, as of `now`,
/// without a cache (each call folds every history); see
/// [`compute_cached`].
pub async fn compute(
    store: &dyn Store,
    group_by: GroupBy,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Vec<MetricsRow>, CaseError> {
    compute_cached(store, &MetricsCache::default(), group_by, period, now).await
}

/// The metrics of the period's cases and events, grouped, as of `now`.
///
/// Reads the stamps of the cases created in the period and of the older
/// cases that had a dispatch or rating in it, folds the histories of those
/// not in `cache` at their current version, and counts. Refused when the
/// period is empty; a history that does not decode or does not start with
/// its creation is a stored-data error.
pub async fn compute_cached(
    store: &dyn Store,
    cache: &MetricsCache,
    group_by: GroupBy,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Vec<MetricsRow>, CaseError> {
    period.check()?;
    let mut stamps: BTreeMap<i64, CaseStamp> = store
        .case_stamps_created(period.from, period.to)
        .await?
        .into_iter()
        .map(|stamp| (stamp.id, stamp))
        .collect();
    let kinds = PERIOD_EVENT_KINDS.map(EventKind::as_str);
    for stamp in store
        .case_stamps_with_events(period.from, period.to, &kinds)
        .await?
    {
        stamps.entry(stamp.id).or_insert(stamp);
    }

    let mut facts: Vec<(&CaseStamp, std::sync::Arc<Facts>)> = Vec::with_capacity(stamps.len());
    let mut stale: Vec<&CaseStamp> = Vec::new();
    for stamp in stamps.values() {
        match cache.get(stamp) {
            Some(found) if found.last_at <= now => facts.push((stamp, found)),
            _ => stale.push(stamp),
        }
    }
    for chunk in stale.chunks(CASE_HISTORIES_IDS_MAX) {
        let ids: Vec<i64> = chunk.iter().map(|stamp| stamp.id).collect();
        let rows = store.case_histories(&ids).await?;
        let mut histories: BTreeMap<i64, Vec<Event>> = BTreeMap::new();
        for row in &rows {
            histories
                .entry(row.case_id)
                .or_default()
                .push(decode_event(&row.kind, &row.payload)?);
        }
        for stamp in chunk {
            let history = histories.remove(&stamp.id).unwrap_or_default();
            if !matches!(history.first(), Some(Event::Created { .. })) {
                return Err(CaseError::Store(StoreError::Backend(format!(
                    "case {} has no creation event",
                    stamp.id
                ))));
            }
            let whole = history.last().is_none_or(|last| last.at() <= now);
            let folded = if whole {
                Facts::fold(history.iter())
            } else {
                Facts::fold(history.iter().filter(|event| event.at() <= now))
            };
            let Some(folded) = folded else {
                continue;
            };
            let folded = std::sync::Arc::new(folded);
            if whole {
                cache.put(stamp, folded.clone());
            }
            facts.push((stamp, folded));
        }
    }
    Ok(tally(
        facts.iter().map(|(stamp, facts)| {
            (
                stamp.created_at,
                stamp.area_path.as_slice(),
                Facts::clone(facts).at(now),
            )
        }),
        group_by,
        period,
        now,
    ))
}

/// The same as [`compute`], pure: over cases given with their decoded
/// histories (each starting with `Created`; others are skipped). Cases
/// created in the period are the period's cases; every case given
/// contributes its dispatches and ratings inside the period.
pub fn compute_from(
    cases: &[(CaseRow, Vec<Event>)],
    group_by: GroupBy,
    period: Period,
    now: DateTime<Utc>,
) -> Vec<MetricsRow> {
    tally(
        cases.iter().filter_map(|(row, history)| {
            Facts::of(history, now).map(|facts| (row.created_at, row.area_path.as_slice(), facts))
        }),
        group_by,
        period,
        now,
    )
}

/// Counts each case (its creation instant, area path and facts at `now`).
fn tally<'a>(
    cases: impl Iterator<Item = (DateTime<Utc>, &'a [cityloop_domain::AreaCode], Facts)>,
    group_by: GroupBy,
    period: Period,
    now: DateTime<Utc>,
) -> Vec<MetricsRow> {
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for (created_at, area_path, facts) in cases {
        let area = || -> String {
            let (index, missing) = match group_by {
                GroupBy::City | GroupBy::Department => (0, NO_CITY),
                GroupBy::District => (1, NO_DISTRICT),
                GroupBy::Street => (2, NO_STREET),
            };
            area_path
                .get(index)
                .map_or(missing, |code| code.as_str())
                .to_owned()
        };
        let group = |unit: Option<&DepartmentId>| -> String {
            match group_by {
                GroupBy::Department => unit.map_or(UNROUTED, DepartmentId::as_str).to_owned(),
                _ => area(),
            }
        };
        if period.contains(created_at) && created_at <= now {
            tallies
                .entry(group(facts.lead.as_ref()))
                .or_default()
                .add_case(&facts);
        }
        for dispatch in facts.dispatches.iter().filter(|d| period.contains(d.at)) {
            tallies
                .entry(group(Some(&dispatch.unit)))
                .or_default()
                .count(RETURN_RATE, true, dispatch.returned);
        }
        for rating in facts.ratings.iter().filter(|r| period.contains(r.at)) {
            tallies
                .entry(group(rating.unit.as_ref()))
                .or_default()
                .count(SATISFACTION_RATE, true, rating.satisfied);
        }
    }
    tallies
        .into_iter()
        .map(|(group, tally)| tally.into_row(group))
        .collect()
}

// ---------------------------------------------------------------------------
// Counting

#[derive(Debug, Default)]
struct Tally {
    cases: u64,
    /// (numerator, denominator) by rate key.
    counts: BTreeMap<&'static str, (u64, u64)>,
}

impl Tally {
    /// Counts one item of `key`'s population: in the denominator when
    /// `in_denominator`, and then in the numerator when `in_numerator`.
    fn count(&mut self, key: &'static str, in_denominator: bool, in_numerator: bool) {
        let (numerator, denominator) = self.counts.entry(key).or_default();
        if in_denominator {
            *denominator += 1;
            if in_numerator {
                *numerator += 1;
            }
        }
    }

    fn add_case(&mut self, facts: &Facts) {
        self.cases += 1;
        if facts.merged {
            return;
        }
        let closing = facts.closing.filter(|_| facts.registered);
        let closed = closing.is_some();
        let closed_on_time =
            closing.is_some_and(|kind| kind != ClosingType::Overdue) && !facts.handling_overran;
        let open_overdue = facts.registered && facts.open && facts.handling_overran;
        let not_yet_judged = facts.awaiting_answer && !facts.signing_overran;
        let resolved = facts.resolved;

        self.count(REGISTRATION_RATE, facts.accepted, facts.registered);
        self.count(
            ON_TIME_SIGNING_RATE,
            facts.signed.is_some(),
            facts.signed == Some(true),
        );
        self.count(
            ON_TIME_HANDLING_RATE,
            facts.replied,
            !facts.handling_overran,
        );
        self.count(CLOSING_RATE, facts.registered, closed);
        self.count(ON_TIME_CLOSING_RATE, closed || open_overdue, closed_on_time);
        self.count(REWORK_RATE, facts.checked, facts.reworked);
        self.count(REDO_RATE, facts.rated, facts.redone);
        self.count(EXTENSION_RATE, facts.dispatched, facts.extended);
        self.count(
            RESPONSE_RATE,
            facts.dispatched && !not_yet_judged,
            !facts.signing_overran,
        );
        self.count(RESOLUTION_RATE, facts.rated, resolved);
    }

    fn into_row(self, group: String) -> MetricsRow {
        let rates = RATES
            .iter()
            .map(|(key, _)| {
                let (numerator, denominator) = self.counts.get(key).copied().unwrap_or_default();
                (*key, Rate::new(numerator, denominator))
            })
            .collect();
        MetricsRow {
            group,
            cases: self.cases,
            rates,
        }
    }
}

// ---------------------------------------------------------------------------
// One case's history, read once

/// A dispatch to a lead unit (dispatch, sub-dispatch or arbitration).
#[derive(Debug, Clone)]
struct Dispatch {
    unit: DepartmentId,
    at: DateTime<Utc>,
    /// The unit returned this dispatch.
    returned: bool,
}

#[derive(Debug, Clone)]
struct RatingGiven {
    /// The lead unit when the rating was given.
    unit: Option<DepartmentId>,
    at: DateTime<Utc>,
    /// 非常满意, 满意 or 基本满意.
    satisfied: bool,
}

/// A stage clock as the rates need it: breached once, or running towards a
/// due instant (`None` when paused or absent).
#[derive(Debug, Clone, Copy, Default)]
struct ClockFacts {
    breached: bool,
    running_due: Option<DateTime<Utc>>,
}

impl ClockFacts {
    fn of(state: &CaseState, stage: Stage) -> ClockFacts {
        ClockFacts {
            breached: state.sla.breached_stages.contains(&stage),
            running_due: state
                .sla
                .clock(stage)
                .filter(|clock| !clock.is_paused())
                .map(|clock| clock.due_at.with_timezone(&Utc)),
        }
    }

    /// The stage overran at `t`: a breach was recorded, or its clock is
    /// running and `t` is at or after its due instant.
    fn overran_at(&self, t: DateTime<Utc>) -> bool {
        self.breached || self.running_due.is_some_and(|due| t >= due)
    }
}

/// What the rates need to know about one case: folded once from its
/// history, compact (no [`CaseState`]), and judged at any `now` at or after
/// its last event by [`Facts::at`] — which is what lets [`MetricsCache`]
/// keep it between calls.
#[derive(Debug, Clone)]
struct Facts {
    merged: bool,
    open: bool,
    /// The lead unit after the last event.
    lead: Option<DepartmentId>,
    /// Closed (any closing), and whether as overdue (超期结案).
    closing: Option<ClosingType>,
    /// The latest rating is satisfied-level, or dissatisfied and judged
    /// unreasonable.
    resolved: bool,
    accepted: bool,
    registered: bool,
    dispatched: bool,
    /// Signed, and whether on time.
    signed: Option<bool>,
    replied: bool,
    checked: bool,
    reworked: bool,
    rated: bool,
    redone: bool,
    extended: bool,
    /// Some signing clock overran at one of the events.
    signing_overran: bool,
    /// The handling clock overran at one of the events.
    handling_overran: bool,
    /// The clocks after the last event, for judging at `now`.
    signing: ClockFacts,
    handling: ClockFacts,
    /// The latest dispatch has not been answered (signed, returned or
    /// passed down).
    awaiting_answer: bool,
    /// When the last event folded happened.
    last_at: DateTime<Utc>,
    dispatches: Vec<Dispatch>,
    ratings: Vec<RatingGiven>,
}

impl Facts {
    /// Folds the history up to `now` and judges it at `now`; `None` unless
    /// it starts with `Created` at or before `now`.
    fn of(history: &[Event], now: DateTime<Utc>) -> Option<Facts> {
        Facts::fold(history.iter().filter(|event| event.at() <= now)).map(|facts| facts.at(now))
    }

    /// Folds every event given (the first must be `Created`), judging the
    /// clocks at each event but not yet at a `now`.
    fn fold<'a>(mut events: impl Iterator<Item = &'a Event>) -> Option<Facts> {
        let created = events.next()?;
        let mut state = CaseState::from_created(created)?;
        let mut facts = Facts {
            merged: false,
            open: true,
            lead: None,
            closing: None,
            resolved: false,
            accepted: false,
            registered: false,
            dispatched: false,
            signed: None,
            replied: false,
            checked: false,
            reworked: false,
            rated: false,
            redone: false,
            extended: false,
            signing_overran: false,
            handling_overran: false,
            signing: ClockFacts::default(),
            handling: ClockFacts::default(),
            awaiting_answer: false,
            last_at: created.at(),
            dispatches: Vec::new(),
            ratings: Vec::new(),
        };
        for event in events {
            let at = event.at();
            facts.last_at = at;
            facts.signing_overran |= overran(&state, Stage::Signing, at);
            facts.handling_overran |= overran(&state, Stage::Handling, at);
            match event {
                Event::Accepted { .. } => facts.accepted = true,
                Event::Registered { .. } => facts.registered = true,
                Event::Dispatched { lead, .. } => {
                    facts.dispatched = true;
                    facts.assign(lead, at);
                }
                Event::SubDispatched { to, .. } => facts.assign(to, at),
                Event::Arbitrated { responsible, .. } => facts.assign(responsible, at),
                Event::Returned { .. } => {
                    facts.awaiting_answer = false;
                    if let Some(last) = facts.dispatches.last_mut() {
                        last.returned = true;
                    }
                }
                Event::Signed { .. } => {
                    facts.awaiting_answer = false;
                    let on_time = state.sla.clock(Stage::Signing).is_none_or(|clock| {
                        !clock.breached && at < clock.due_at.with_timezone(&Utc)
                    });
                    facts.signed = Some(on_time);
                }
                Event::Replied { .. } => facts.replied = true,
                Event::Checked { passed, .. } => {
                    facts.checked = true;
                    facts.reworked |= !passed;
                }
                Event::Rated {
                    level, reasonable, ..
                } => {
                    facts.rated = true;
                    facts.redone |= level.is_dissatisfied() && *reasonable == Some(true);
                    facts.ratings.push(RatingGiven {
                        unit: state.lead.clone(),
                        at,
                        satisfied: !level.is_dissatisfied(),
                    });
                }
                Event::Judged { reasonable, .. } => facts.redone |= *reasonable,
                Event::ExtensionDecided { approve, .. } => facts.extended |= *approve,
                _ => {}
            }
            state = apply(state, event);
        }
        facts.merged = matches!(state.status, CaseStatus::Merged { .. });
        facts.open = state.is_open();
        facts.lead = state.lead.clone();
        facts.closing = state.closing().map(|closing| closing.kind);
        facts.resolved = state.rating.is_some_and(|level| {
            !level.is_dissatisfied() || state.rating_reasonable == Some(false)
        });
        facts.signing = ClockFacts::of(&state, Stage::Signing);
        facts.handling = ClockFacts::of(&state, Stage::Handling);
        Some(facts)
    }

    /// These facts judged at `now` (at or after [`Facts::last_at`]): a
    /// clock still running at `now` past its due instant overran.
    fn at(mut self, now: DateTime<Utc>) -> Facts {
        self.signing_overran |= self.signing.overran_at(now);
        self.handling_overran |= self.handling.overran_at(now);
        self
    }

    /// A dispatch to `unit` at `at`; a sub-dispatch also answers the
    /// previous one (the lead unit passed it down).
    fn assign(&mut self, unit: &DepartmentId, at: DateTime<Utc>) {
        self.awaiting_answer = true;
        self.dispatches.push(Dispatch {
            unit: unit.clone(),
            at,
            returned: false,
        });
    }
}

/// The stage overran at `t`: a breach was recorded, or its clock is running
/// and `t` is at or after its due instant.
fn overran(state: &CaseState, stage: Stage, t: DateTime<Utc>) -> bool {
    ClockFacts::of(state, stage).overran_at(t)
}
