//! SLA clocks: per-stage deadlines on the official working calendar, pauses
//! (挂账), extensions (延期), the traffic light, and timers.
//!
//! # Stages
//!
//! | stage | 中文 | runs | stopped by |
//! |---|---|---|---|
//! | `acceptance` | 受理 | from creation | accept, decline (or any end) |
//! | `registration` | 立案 | from accept | register, void |
//! | `dispatch` | 派遣 | from register, and again from each return | dispatch, arbitrate |
//! | `signing` | 签收 | from each dispatch, sub-dispatch, arbitration | sign, return |
//! | `handling` | 处置 | from the **first** dispatch | the case's end |
//! | `review` | 审核 | from each reply | review |
//! | `checking` | 核查 | from each approved review | check |
//! | `callback` | 回访 | from each passed check | rate, close |
//!
//! The handling clock starts at the first dispatch (not at signing), so a
//! case bouncing between units keeps ageing; it keeps running through
//! returns, re-dispatches and arbitration. It is *paused* while the case is
//! hung and while a reply is under review/check/callback; a rejected review,
//! a failed check (rework) or a redo *resumes* it from where it was. Every
//! case end (closing, decline, void, merge) drops all clocks.
//!
//! `review` is not one of the seven classic stages; it exists so that a
//! reply waiting for the operator's review has a deadline too. A stage
//! without a matching [`SlaRule`] simply has no clock.
//!
//! # Policy: which rule applies
//!
//! [`SlaPolicy::limit_for`] considers the rules of the stage whose category
//! selector (`None` = any), urgency (`None` = any) and area (`None` =
//! anywhere; otherwise it must be on the case's area path) all match, and
//! takes the most specific one, comparing in this order:
//!
//! 1. the area: a finer area on the path beats a coarser one, and any area
//!    beats `None`;
//! 2. the category: a code beats a class beats any (`None` counts as any);
//! 3. the urgency: a given urgency beats `None`.
//!
//! Among equally specific rules the first in the list wins. A clock keeps
//! the limit it started with, so policy changes affect only clocks started
//! later.
//!
//! # Clock arithmetic
//!
//! A clock *measures* working time ([`WorkingTime::working_duration_between`])
//! when its limit is a working limit (`wm`, `wh`, `wd`) and wall-clock time
//! for a natural limit (`m`, `h`, `d`). Extension minutes and paused time are
//! in the same measure.
//!
//! * **allowed** = the limit's length (`n wd` = `n` × the working minutes of
//!   a day) + the approved extension minutes.
//! * **elapsed(now)** = measure(`started_at`, `now`) − `paused_total` −
//!   (while paused) measure(`paused_since`, `now`); i.e. the time measured
//!   while running. It never goes below zero.
//! * **due_at** = `due(started_at, limit)` (the calendar's own definition,
//!   so `5wd` ends at the same time of day on the fifth working day), then
//!   advanced by the extension minutes plus `paused_total` of working time.
//!   It is the first instant at which *elapsed* reaches *allowed*.
//! * **warn_at** = `started_at` advanced by 80 % of *allowed* plus
//!   `paused_total`: the first instant at which *elapsed* reaches 80 %.
//! * Both are recomputed (by [`crate::decide`]) when the clock resumes or is
//!   extended; an ongoing pause is not in them yet, which is why a paused
//!   clock has no timers.
//! * **Light** at `now` (for a paused clock: at the instant the pause
//!   began): [`Light::Red`] from `due_at` on (the allowance is used up,
//!   ≥ 100 % — exactly 100 % already counts, because working time stands
//!   still outside working hours and a case due at 17:30 is late at 20:00),
//!   [`Light::Yellow`] from `warn_at` (≥ 80 %), otherwise [`Light::Green`].
//!
//! `warned` and `breached` are sticky per clock: a clock warns and breaches
//! at most once, even when an extension later moves its deadline. A new
//! clock (each re-dispatch's signing, each reply's review, …) starts fresh;
//! [`SlaState::breached_stages`] remembers every stage that ever breached.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, FixedOffset, Utc};
use cityloop_calendar::{CalendarError, Limit, WorkingTime, china_offset};
use cityloop_domain::{AreaCode, CategoryCode, CategorySelector};

use crate::case::{CaseState, CaseStatus, Urgency};
use crate::event::Event;

/// A stage of the loop with its own deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// 受理: creation → accept/decline.
    Acceptance,
    /// 立案: accepted → registered.
    Registration,
    /// 派遣: registered (or returned) → dispatched.
    Dispatch,
    /// 签收: dispatched → signed.
    Signing,
    /// 处置: first dispatch → reply, paused while hung or under review.
    Handling,
    /// 审核: replied → reviewed.
    Review,
    /// 核查: review approved → checked.
    Checking,
    /// 回访: check passed → rated/closed; also a dissatisfied rating →
    /// the operator's judgement.
    Callback,
    /// 整改: a dissatisfied rating judged reasonable → the rectification
    /// checked on site (15 working days by the 好差评 rules).
    Rectification,
}

kind_names!(Stage, "stage", {
    Acceptance => "acceptance",
    Registration => "registration",
    Dispatch => "dispatch",
    Signing => "signing",
    Handling => "handling",
    Review => "review",
    Checking => "checking",
    Callback => "callback",
    Rectification => "rectification",
});

impl Stage {
    pub fn zh(self) -> &'static str {
        match self {
            Stage::Acceptance => "受理",
            Stage::Registration => "立案",
            Stage::Dispatch => "派遣",
            Stage::Signing => "签收",
            Stage::Handling => "处置",
            Stage::Review => "审核",
            Stage::Checking => "核查",
            Stage::Callback => "回访",
            Stage::Rectification => "整改",
        }
    }

    /// The stage whose clock a case in `status` is waiting on; `None` for a
    /// hung case (its handling clock is paused) and for terminal cases.
    pub fn current(status: &CaseStatus) -> Option<Stage> {
        match status {
            CaseStatus::Reported | CaseStatus::Verified => Some(Stage::Acceptance),
            CaseStatus::Accepted => Some(Stage::Registration),
            CaseStatus::Registered | CaseStatus::Returned => Some(Stage::Dispatch),
            CaseStatus::Dispatched => Some(Stage::Signing),
            CaseStatus::Handling => Some(Stage::Handling),
            CaseStatus::Replied => Some(Stage::Review),
            CaseStatus::Checking => Some(Stage::Checking),
            CaseStatus::Callback | CaseStatus::FollowUp => Some(Stage::Callback),
            CaseStatus::Hung
            | CaseStatus::Closed { .. }
            | CaseStatus::Declined
            | CaseStatus::Voided
            | CaseStatus::Merged { .. } => None,
        }
    }
}

/// One row of the SLA policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaRule {
    pub stage: Stage,
    /// `None`: any category.
    pub category: Option<CategorySelector>,
    /// `None`: any urgency.
    pub urgency: Option<Urgency>,
    /// `None`: anywhere; otherwise the rule applies to cases whose area path
    /// contains this area.
    pub area: Option<AreaCode>,
    pub limit: Limit,
}

impl SlaRule {
    /// The rule's specificity for a case, or `None` when it does not apply:
    /// (area rank: 0 for `None`, 1 + index on the path; category
    /// specificity; 1 when an urgency is given).
    fn rank(
        &self,
        stage: Stage,
        category: &CategoryCode,
        urgency: Urgency,
        area_path: &[AreaCode],
    ) -> Option<(usize, u8, u8)> {
        if self.stage != stage {
            return None;
        }
        let category_rank = match &self.category {
            None => 0,
            Some(selector) if selector.matches(category) => selector.specificity(),
            Some(_) => return None,
        };
        let urgency_rank = match self.urgency {
            None => 0,
            Some(given) if given == urgency => 1,
            Some(_) => return None,
        };
        let area_rank = match &self.area {
            None => 0,
            Some(area) => area_path.iter().position(|code| code == area)? + 1,
        };
        Some((area_rank, category_rank, urgency_rank))
    }
}

/// The time limits of every stage, see the module documentation for how a
/// rule is chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaPolicy {
    pub rules: Vec<SlaRule>,
}

impl SlaPolicy {
    pub fn new(rules: Vec<SlaRule>) -> SlaPolicy {
        SlaPolicy { rules }
    }

    /// The most specific rule for the stage of a case, if any.
    pub fn rule_for(
        &self,
        stage: Stage,
        category: &CategoryCode,
        urgency: Urgency,
        area_path: &[AreaCode],
    ) -> Option<&SlaRule> {
        let mut best: Option<((usize, u8, u8), &SlaRule)> = None;
        for rule in &self.rules {
            if let Some(rank) = rule.rank(stage, category, urgency, area_path)
                && best.is_none_or(|(best_rank, _)| rank > best_rank)
            {
                best = Some((rank, rule));
            }
        }
        best.map(|(_, rule)| rule)
    }

    /// The limit of the most specific rule, if any.
    pub fn limit_for(
        &self,
        stage: Stage,
        category: &CategoryCode,
        urgency: Urgency,
        area_path: &[AreaCode],
    ) -> Option<Limit> {
        self.rule_for(stage, category, urgency, area_path)
            .map(|rule| rule.limit)
    }
}

/// What [`crate::decide`] needs to start and move clocks.
#[derive(Debug, Clone, Copy)]
pub struct SlaContext<'a> {
    pub working: WorkingTime<'a>,
    pub policy: &'a SlaPolicy,
}

/// The traffic light of a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Light {
    /// Below 80 % of the allowance.
    Green,
    /// 80 % or more, not yet due.
    Yellow,
    /// Due instant reached (allowance used up).
    Red,
}

kind_names!(Light, "light", {
    Green => "green",
    Yellow => "yellow",
    Red => "red",
});

/// The clock of one stage of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageClock {
    pub stage: Stage,
    pub started_at: DateTime<FixedOffset>,
    /// The limit in force when the clock started.
    pub limit: Limit,
    /// Approved extensions, in the clock's measure (working minutes for a
    /// working limit).
    pub allowance_extra_minutes: i64,
    /// Set while paused.
    pub paused_since: Option<DateTime<FixedOffset>>,
    /// Time measured while paused in completed pauses.
    pub paused_total: Duration,
    /// When 80 % of the allowance is used (see the module documentation).
    pub warn_at: DateTime<FixedOffset>,
    /// When the allowance is used up.
    pub due_at: DateTime<FixedOffset>,
    pub warned: bool,
    pub breached: bool,
}

fn minutes(m: i64) -> Duration {
    Duration::try_minutes(m).unwrap_or(if m < 0 { Duration::MIN } else { Duration::MAX })
}

fn saturating_add(a: Duration, b: Duration) -> Duration {
    a.checked_add(&b).unwrap_or(if b < Duration::zero() {
        Duration::MIN
    } else {
        Duration::MAX
    })
}

fn out_of_range(what: String) -> CalendarError {
    CalendarError::OutOfRange { what }
}

fn local(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&china_offset())
}

/// `from` advanced by `amount` of working time: the first instant at which
/// the working time in `[from, t)` reaches `amount`, with
/// [`WorkingTime::due`]'s convention that a count used up exactly at a
/// period's end is due at that end. Sub-minute precision is kept. A zero or
/// negative amount returns `from` unchanged (in +08:00, like every result).
pub fn add_working_time(
    wt: &WorkingTime<'_>,
    from: DateTime<FixedOffset>,
    amount: Duration,
) -> Result<DateTime<FixedOffset>, CalendarError> {
    let from = from.with_timezone(&china_offset());
    if amount <= Duration::zero() {
        return Ok(from);
    }
    let whole = amount.num_minutes();
    let rest = amount - minutes(whole);
    let t = if whole > 0 {
        wt.due(from, &Limit::WorkingMinutes(whole))?
    } else {
        from
    };
    if rest.is_zero() {
        return Ok(t);
    }
    let plus = |t: DateTime<FixedOffset>, d: Duration| {
        t.checked_add_signed(d)
            .ok_or_else(|| out_of_range(format!("{t} plus {d}")))
    };
    let s = wt.next_working_instant(t)?;
    let time = s.naive_local().time();
    let available = wt
        .shifts()
        .periods()
        .iter()
        .find(|period| period.contains(time))
        .map_or(Duration::zero(), |period| period.end() - time);
    if rest <= available {
        return plus(s, rest);
    }
    let next = wt.next_working_instant(plus(s, available)?)?;
    plus(next, rest - available)
}

/// The time in `[a, b)` in the limit's measure; zero when `b <= a`.
fn measure(
    wt: &WorkingTime<'_>,
    limit: &Limit,
    a: DateTime<FixedOffset>,
    b: DateTime<FixedOffset>,
) -> Result<Duration, CalendarError> {
    if b <= a {
        return Ok(Duration::zero());
    }
    if limit.is_working() {
        wt.working_duration_between(a, b)
    } else {
        Ok(b - a)
    }
}

/// `from` advanced by `amount` in the limit's measure.
fn advance(
    wt: &WorkingTime<'_>,
    limit: &Limit,
    from: DateTime<FixedOffset>,
    amount: Duration,
) -> Result<DateTime<FixedOffset>, CalendarError> {
    let from = from.with_timezone(&china_offset());
    if limit.is_working() {
        add_working_time(wt, from, amount)
    } else if amount <= Duration::zero() {
        Ok(from)
    } else {
        from.checked_add_signed(amount)
            .ok_or_else(|| out_of_range(format!("{from} plus {amount}")))
    }
}

impl StageClock {
    /// A running clock for `stage` with `limit`, started at `at`.
    pub fn start(
        wt: &WorkingTime<'_>,
        stage: Stage,
        limit: Limit,
        at: DateTime<Utc>,
    ) -> Result<StageClock, CalendarError> {
        let started_at = local(at);
        let mut clock = StageClock {
            stage,
            started_at,
            limit,
            allowance_extra_minutes: 0,
            paused_since: None,
            paused_total: Duration::zero(),
            warn_at: started_at,
            due_at: started_at,
            warned: false,
            breached: false,
        };
        clock.warn_at = clock.warn_at_for(wt)?;
        clock.due_at = clock.due_at_for(wt)?;
        Ok(clock)
    }

    pub fn is_paused(&self) -> bool {
        self.paused_since.is_some()
    }

    /// The allowance: the limit's length plus approved extensions, in the
    /// clock's measure.
    pub fn allowed(&self, wt: &WorkingTime<'_>) -> Duration {
        let base = match self.limit {
            Limit::Natural(d) => d,
            Limit::WorkingMinutes(m) => minutes(m),
            Limit::WorkingDays(n) => minutes(n.saturating_mul(wt.shifts().minutes_per_day())),
        };
        saturating_add(base, minutes(self.allowance_extra_minutes))
    }

    /// `due(started_at, limit)` advanced by the extensions and the completed
    /// pauses: the first instant at which the allowance is used up.
    pub fn due_at_for(&self, wt: &WorkingTime<'_>) -> Result<DateTime<FixedOffset>, CalendarError> {
        let base = wt.due(self.started_at, &self.limit)?;
        advance(
            wt,
            &self.limit,
            base,
            saturating_add(minutes(self.allowance_extra_minutes), self.paused_total),
        )
    }

    /// `started_at` advanced by 80 % of the allowance and the completed
    /// pauses: the first instant at which 80 % is used.
    pub fn warn_at_for(
        &self,
        wt: &WorkingTime<'_>,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        let allowed = self.allowed(wt);
        let eighty = allowed
            .checked_div(5)
            .and_then(|fifth| fifth.checked_mul(4))
            .unwrap_or(allowed);
        advance(
            wt,
            &self.limit,
            self.started_at,
            saturating_add(eighty, self.paused_total),
        )
    }

    /// Time measured while running, up to `now` (or up to the start of the
    /// ongoing pause).
    pub fn elapsed(
        &self,
        wt: &WorkingTime<'_>,
        now: DateTime<Utc>,
    ) -> Result<Duration, CalendarError> {
        let end = self.paused_since.unwrap_or_else(|| local(now));
        let total = measure(wt, &self.limit, self.started_at, end)?;
        Ok(total
            .checked_sub(&self.paused_total)
            .unwrap_or(Duration::zero())
            .max(Duration::zero()))
    }

    /// `elapsed / allowed`: 0.8 at `warn_at`, 1.0 at `due_at`. A zero
    /// allowance (only from hand-built limits) counts as used up (1.0).
    pub fn elapsed_fraction(
        &self,
        wt: &WorkingTime<'_>,
        now: DateTime<Utc>,
    ) -> Result<f64, CalendarError> {
        let allowed = self.allowed(wt);
        if allowed <= Duration::zero() {
            return Ok(1.0);
        }
        let elapsed = self.elapsed(wt, now)?;
        Ok(seconds(elapsed) / seconds(allowed))
    }

    /// The traffic light at `now`; frozen at the start of an ongoing pause.
    pub fn light(&self, now: DateTime<Utc>) -> Light {
        let t = self.paused_since.unwrap_or_else(|| local(now));
        if t >= self.due_at {
            Light::Red
        } else if t >= self.warn_at {
            Light::Yellow
        } else {
            Light::Green
        }
    }

    /// The clock paused at `at` (unchanged if already paused).
    pub fn paused(&self, at: DateTime<Utc>) -> StageClock {
        let mut clock = self.clone();
        if clock.paused_since.is_none() {
            clock.paused_since = Some(local(at));
        }
        clock
    }

    /// The clock resumed at `at`: the pause's measured time is added to
    /// `paused_total` and the instants are recomputed. Unchanged if running.
    pub fn resumed(
        &self,
        wt: &WorkingTime<'_>,
        at: DateTime<Utc>,
    ) -> Result<StageClock, CalendarError> {
        let mut clock = self.clone();
        if let Some(since) = clock.paused_since.take() {
            let paused = measure(wt, &clock.limit, since, local(at))?;
            clock.paused_total = saturating_add(clock.paused_total, paused);
            clock.warn_at = clock.warn_at_for(wt)?;
            clock.due_at = clock.due_at_for(wt)?;
        }
        Ok(clock)
    }

    /// The clock with `extra` more minutes of allowance (延期), instants
    /// recomputed.
    pub fn extended(&self, wt: &WorkingTime<'_>, extra: i64) -> Result<StageClock, CalendarError> {
        let mut clock = self.clone();
        clock.allowance_extra_minutes = clock.allowance_extra_minutes.saturating_add(extra);
        clock.warn_at = clock.warn_at_for(wt)?;
        clock.due_at = clock.due_at_for(wt)?;
        Ok(clock)
    }

    /// The timers this clock needs now: none while paused or once breached;
    /// otherwise the breach timer, preceded by the 80 % warning until it has
    /// fired.
    pub fn timers(&self) -> Vec<Timer> {
        if self.is_paused() || self.breached {
            return Vec::new();
        }
        let mut timers = Vec::with_capacity(2);
        if !self.warned {
            timers.push(Timer {
                stage: self.stage,
                kind: TimerKind::Warn80,
                due_at: self.warn_at,
            });
        }
        timers.push(Timer {
            stage: self.stage,
            kind: TimerKind::Breach,
            due_at: self.due_at,
        });
        timers
    }
}

fn seconds(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

/// The clocks of one case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaState {
    /// The running or paused clock of each stage that has one.
    pub clocks: BTreeMap<Stage, StageClock>,
    /// Every stage that ever breached on this case (for 按期率 statistics
    /// and the overdue closing).
    pub breached_stages: BTreeSet<Stage>,
}

impl SlaState {
    pub fn clock(&self, stage: Stage) -> Option<&StageClock> {
        self.clocks.get(&stage)
    }

    /// The light of a stage's clock, if it has one.
    pub fn light(&self, stage: Stage, now: DateTime<Utc>) -> Option<Light> {
        self.clock(stage).map(|clock| clock.light(now))
    }

    /// The worst light over all running (not paused) clocks.
    pub fn worst_light(&self, now: DateTime<Utc>) -> Option<Light> {
        self.clocks
            .values()
            .filter(|clock| !clock.is_paused())
            .map(|clock| clock.light(now))
            .max()
    }

    pub(crate) fn stop(&mut self, stage: Stage) {
        self.clocks.remove(&stage);
    }

    pub(crate) fn pause(&mut self, stage: Stage, at: DateTime<Utc>) {
        if let Some(clock) = self.clocks.get_mut(&stage) {
            *clock = clock.paused(at);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.clocks.clear();
    }

    pub(crate) fn put(&mut self, clocks: &[StageClock]) {
        for clock in clocks {
            self.clocks.insert(clock.stage, clock.clone());
        }
    }
}

/// What a timer fires for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimerKind {
    /// 80 % of the allowance used: yellow light, a warning (预警).
    Warn80,
    /// Due: red light, a breach (超期) and automatic supervision (督办).
    Breach,
}

kind_names!(TimerKind, "timer", {
    Warn80 => "warn80",
    Breach => "breach",
});

/// A timer the store keeps for a case and fires at `due_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timer {
    pub stage: Stage,
    pub kind: TimerKind,
    pub due_at: DateTime<FixedOffset>,
}

/// The timers an open case must have right now: for every clock that is
/// running and has not breached, its breach timer and (until it fired) its
/// 80 % warning. None for terminal cases. The store replaces a case's timer
/// rows with this list after every event.
pub fn timers(state: &CaseState) -> Vec<Timer> {
    if state.status.is_terminal() {
        return Vec::new();
    }
    state
        .sla
        .clocks
        .values()
        .flat_map(StageClock::timers)
        .collect()
}

/// The events a fired timer produces at `now`: [`Event::SlaWarned`], or
/// [`Event::SlaBreached`] followed by an automatic [`Event::Supervised`] by
/// the system. Nothing when the case is terminal, the stage has no running
/// clock, the clock already warned/breached (so firing twice is harmless),
/// or `now` is before the clock's *current* instant (a stale timer from
/// before a pause or an extension).
pub fn on_timer(state: &CaseState, timer: &Timer, now: DateTime<Utc>) -> Vec<Event> {
    if state.status.is_terminal() {
        return Vec::new();
    }
    let Some(clock) = state.sla.clock(timer.stage) else {
        return Vec::new();
    };
    if clock.is_paused() || clock.breached {
        return Vec::new();
    }
    let now_local = local(now);
    match timer.kind {
        TimerKind::Warn80 if !clock.warned && now_local >= clock.warn_at => {
            vec![Event::SlaWarned {
                at: now,
                stage: timer.stage,
            }]
        }
        TimerKind::Breach if now_local >= clock.due_at => vec![
            Event::SlaBreached {
                at: now,
                stage: timer.stage,
            },
            Event::Supervised {
                at: now,
                by: None,
                note: format!(
                    "自动督办: {} stage ({}) overdue since {}",
                    timer.stage,
                    timer.stage.zh(),
                    clock.due_at.to_rfc3339()
                ),
            },
        ],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cityloop_domain::CategoryKind;

    fn rule(
        stage: Stage,
        category: Option<&str>,
        urgency: Option<Urgency>,
        area: Option<&str>,
        limit: &str,
    ) -> SlaRule {
        SlaRule {
            stage,
            category: category.map(|c| CategorySelector::parse(c).unwrap()),
            urgency,
            area: area.map(|a| AreaCode::parse(a).unwrap()),
            limit: Limit::parse(limit).unwrap(),
        }
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let policy = SlaPolicy::new(vec![
            rule(Stage::Handling, None, None, None, "5wd"),
            rule(Stage::Handling, Some("class:06"), None, None, "4wd"),
            rule(Stage::Handling, None, Some(Urgency::Urgent), None, "1wd"),
            rule(Stage::Handling, None, None, Some("310000"), "6wd"),
            rule(Stage::Handling, Some("06010"), None, Some("310000"), "3wd"),
            rule(
                Stage::Handling,
                None,
                Some(Urgency::Urgent),
                Some("310107"),
                "2wh",
            ),
            rule(Stage::Handling, None, None, Some("310101"), "9wd"),
            rule(Stage::Signing, None, None, None, "30wm"),
        ]);
        let garbage = CategoryCode::parse(CategoryKind::Matter, "06010").unwrap();
        let litter = CategoryCode::parse(CategoryKind::Matter, "06011").unwrap();
        let lamp = CategoryCode::parse(CategoryKind::Matter, "01030").unwrap();
        let putuo: Vec<AreaCode> = ["310000", "310107"]
            .iter()
            .map(|a| AreaCode::parse(a).unwrap())
            .collect();
        let elsewhere: Vec<AreaCode> = vec![AreaCode::parse("320000").unwrap()];
        let pick = |category: &CategoryCode, urgency, path: &[AreaCode]| {
            policy
                .limit_for(Stage::Handling, category, urgency, path)
                .unwrap()
                .to_string()
        };
        // Finest area first: the district rule beats the city's code rule.
        assert_eq!(pick(&garbage, Urgency::Urgent, &putuo), "2wh");
        // At the city: a code beats any category.
        assert_eq!(pick(&garbage, Urgency::Normal, &putuo), "3wd");
        assert_eq!(pick(&litter, Urgency::Normal, &putuo), "6wd");
        // No area on the path: category specificity, then urgency.
        assert_eq!(pick(&litter, Urgency::Urgent, &elsewhere), "4wd");
        assert_eq!(pick(&lamp, Urgency::Urgent, &elsewhere), "1wd");
        assert_eq!(pick(&lamp, Urgency::Normal, &elsewhere), "5wd");
        assert_eq!(
            policy.limit_for(Stage::Review, &lamp, Urgency::Normal, &elsewhere),
            None
        );
    }

    #[test]
    fn ties_go_to_the_first_rule() {
        let policy = SlaPolicy::new(vec![
            rule(Stage::Handling, None, None, None, "5wd"),
            rule(Stage::Handling, Some("*"), None, None, "7wd"),
        ]);
        let lamp = CategoryCode::parse(CategoryKind::Matter, "01030").unwrap();
        assert_eq!(
            policy.limit_for(Stage::Handling, &lamp, Urgency::Normal, &[]),
            Some(Limit::WorkingDays(5))
        );
    }

    #[test]
    fn stage_names_round_trip() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()).unwrap(), *stage);
        }
        assert_eq!(TimerKind::parse("warn80").unwrap(), TimerKind::Warn80);
        assert_eq!(Light::parse("red").unwrap(), Light::Red);
        assert!(Stage::parse("closing").is_err());
    }
}
