//! Synthetic demo cases (合成演示): a deterministic generator that fills the
//! demo city (Huangpu 310101 and Putuo 310107) with cases in every state of
//! the closed loop, and a live stream that keeps adding and advancing them.
//!
//! Every case is made by this module through the real path — the case
//! service's intake and commands, issued by users with the real roles — so
//! the histories, clocks and timers are exactly what the product would
//! record. Every description (and every note) starts with [`LABEL`], so
//! nobody mistakes a synthetic case for a real report; the users this module
//! creates are named `synthetic-…` and labelled 合成演示.
//!
//! Key design decision: all randomness is drawn while *planning* (a small
//! SplitMix64 generator, seeded), and the plans of all cases are then
//! executed as one timeline in chronological order, firing the SLA timers
//! that fall due in between. So the result depends only on the seed (and
//! on the store's contents), and the history reads like a real week: warnings
//! and breaches appear when they fell due, and a unit that replied late
//! closes as overdue (超期结案).

use chrono::{DateTime, Duration, Timelike, Utc};
use cityloop_api::AppState;
use cityloop_cases::{CaseService, Intake};
use cityloop_domain::{AreaCode, CategoryCode, DepartmentId, NewUser, Role, User};
use cityloop_geo::{AreaIndex, LonLat};
use cityloop_store::{CaseQuery, CaseRow, Store, StoreError};
use cityloop_workflow::{
    Actor, CaseId, Channel, ClosingType, Command, Rating, ReturnReason, StatusKind, Urgency,
};
use std::collections::BTreeMap;

/// The label every synthetic description and note starts with.
pub const LABEL: &str = "【合成演示】";

/// The worker name under which the seeder fires SLA timers.
const SEED_WORKER: &str = "synthetic-seed";
/// Timers fired per claim while seeding.
const TIMER_BATCH_MAX: u32 = 200;
/// How often (simulated) the seeder fires due timers between actions.
const TIMER_STEP_SECONDS: i64 = 10 * 60;
/// Tries to draw a point inside a district before falling back to the
/// district's code without a point.
const POINT_TRIES_MAX: usize = 400;
/// Open cases the live stream looks at when it advances one.
const LIVE_OPEN_CASES_MAX: u32 = 200;

// ---------------------------------------------------------------------------
// Randomness

/// SplitMix64: tiny, fast, and good enough for demo data; deterministic.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5EED_C17E_100B_0000)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Uniform in 0..n (0 when n is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Log-uniform in [low, high]: as many "minutes" as "hours" as "days".
    fn log_uniform(&mut self, low: f64, high: f64) -> f64 {
        let (a, b) = (low.max(1e-9).ln(), high.max(low).max(1e-9).ln());
        (a + (b - a) * self.unit()).exp()
    }

    /// An index into `weights`, drawn in proportion to them.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        if total == 0 {
            return 0;
        }
        let mut draw = self.next_u64() % total;
        for (i, weight) in weights.iter().enumerate() {
            let weight = u64::from(*weight);
            if draw < weight {
                return i;
            }
            draw -= weight;
        }
        weights.len() - 1
    }
}

// ---------------------------------------------------------------------------
// The demo city

struct District {
    code: &'static str,
    name: &'static str,
    /// 城管执法局: the fallback lead unit.
    enforcement: &'static str,
    /// 绿化市容局.
    greening: &'static str,
    /// 街道办事处 that a district unit may pass a case down to.
    streets: &'static [&'static str],
    weight: u32,
}

const DISTRICTS: [District; 2] = [
    District {
        code: "310101",
        name: "黄浦区",
        enforcement: "310101-cgzf",
        greening: "310101-lhsr",
        streets: &["310101002-jd", "310101013-jd"],
        weight: 45,
    },
    District {
        code: "310107",
        name: "普陀区",
        enforcement: "310107-cgzf",
        greening: "310107-lhsr",
        streets: &["310107015-jd", "310107016-jd"],
        weight: 55,
    },
];

/// Shanghai, the city the demo districts belong to.
const CITY: &str = "310000";

/// The demo departments (`data/demo/departments.csv`); each gets one
/// synthetic handler and one synthetic department lead.
pub const DEMO_DEPARTMENTS: &[&str] = &[
    "city-ops",
    "310101-cgzf",
    "310101-lhsr",
    "310101-jgw",
    "310101002-jd",
    "310101013-jd",
    "310107-cgzf",
    "310107-lhsr",
    "310107-jgw",
    "310107015-jd",
    "310107016-jd",
    "sh-water",
];

/// A case category with its weight in the mix and what citizens say about
/// it (without the label).
struct Matter {
    code: &'static str,
    weight: u32,
    texts: &'static [&'static str],
}

/// GB/T 47678.5-2026 matters (管理事项) the demo responsibility list covers.
const MATTERS: &[Matter] = &[
    Matter {
        code: "06010",
        weight: 12,
        texts: &[
            "路边有一堆生活垃圾无人清运，已有异味。",
            "人行道旁暴露垃圾，塑料袋被风吹散。",
            "小区门口绿化带内有暴露垃圾。",
        ],
    },
    Matter {
        code: "06001",
        weight: 4,
        texts: &["沿街商铺在门前私自搭建雨棚。", "楼顶疑似新搭建简易房。"],
    },
    Matter {
        code: "06012",
        weight: 5,
        texts: &[
            "路面油污和泥浆较多，行人容易滑倒。",
            "道路不洁，落叶和纸屑堆积。",
        ],
    },
    Matter {
        code: "06013",
        weight: 3,
        texts: &["人行道地砖破损松动，有绊倒风险。", "车行道出现坑洼。"],
    },
    Matter {
        code: "06036",
        weight: 5,
        texts: &["楼道口堆放大量纸板和旧家具。", "弄堂内乱堆杂物，影响通行。"],
    },
    Matter {
        code: "06042",
        weight: 5,
        texts: &["垃圾箱房满溢，垃圾堆到箱外。", "可回收物箱已满，无人清运。"],
    },
    Matter {
        code: "06041",
        weight: 3,
        texts: &["湿垃圾桶内混有大量干垃圾。"],
    },
    Matter {
        code: "06027",
        weight: 3,
        texts: &["餐饮店油烟直排，楼上居民无法开窗。"],
    },
    Matter {
        code: "06028",
        weight: 4,
        texts: &["夜间商铺音响声音很大，影响休息。", "凌晨有设备持续轰鸣。"],
    },
    Matter {
        code: "09006",
        weight: 8,
        texts: &[
            "路口有流动摊贩占道经营水果。",
            "早餐摊占用人行道经营。",
            "夜间烧烤摊占道经营。",
        ],
    },
    Matter {
        code: "09005",
        weight: 5,
        texts: &["商铺将货架摆到店外人行道上。", "店外设摊促销，占用盲道。"],
    },
    Matter {
        code: "09001",
        weight: 3,
        texts: &["地铁站出口有无照游商兜售小商品。"],
    },
    Matter {
        code: "09009",
        weight: 5,
        texts: &["机动车长时间停在人行道上。", "车辆违停堵住小区出入口。"],
    },
    Matter {
        code: "09010",
        weight: 4,
        texts: &["非机动车在盲道上乱停放。"],
    },
    Matter {
        code: "09011",
        weight: 5,
        texts: &["共享单车大量堆积在地铁口。", "共享单车倒伏一地，阻碍通行。"],
    },
    Matter {
        code: "09012",
        weight: 2,
        texts: &["消防通道被杂物和车辆占用。"],
    },
    Matter {
        code: "01001",
        weight: 3,
        texts: &[
            "供水井盖缺失，已有行人险些踩空。",
            "供水井盖松动，车辆经过有响声。",
        ],
    },
    Matter {
        code: "01003",
        weight: 2,
        texts: &["雨水井盖破损下陷。"],
    },
    Matter {
        code: "01037",
        weight: 3,
        texts: &["一排路灯夜间不亮。", "路灯白天一直亮着。"],
    },
    Matter {
        code: "02010",
        weight: 2,
        texts: &["交通标志牌被撞歪。", "路口交通标线模糊不清。"],
    },
    Matter {
        code: "02014",
        weight: 2,
        texts: &["路口信号灯黄灯常闪，车辆通行混乱。"],
    },
    Matter {
        code: "02004",
        weight: 2,
        texts: &["公交站候车亭玻璃破碎。"],
    },
    Matter {
        code: "03005",
        weight: 2,
        texts: &["果壳箱损坏，箱盖脱落。"],
    },
    Matter {
        code: "04002",
        weight: 2,
        texts: &[
            "行道树枝条折断，悬在人行道上方。",
            "行道树倾斜，有倒伏风险。",
        ],
    },
    Matter {
        code: "07001",
        weight: 5,
        texts: &["电线杆和墙面上贴满小广告。", "楼道内喷涂办证小广告。"],
    },
    Matter {
        code: "07003",
        weight: 2,
        texts: &["屋顶广告牌锈蚀，担心坠落。"],
    },
    Matter {
        code: "08001",
        weight: 4,
        texts: &["工地夜间施工噪声扰民。", "周末一早开始施工打桩。"],
    },
    Matter {
        code: "08002",
        weight: 2,
        texts: &["施工围挡占用半幅车道，无公示。"],
    },
    Matter {
        code: "08004",
        weight: 2,
        texts: &["工地未覆盖裸土，扬尘明显。"],
    },
    Matter {
        code: "10002",
        weight: 1,
        texts: &["架空线缆脱落垂到人行道上。"],
    },
];

/// 12345 hotline requests (local categories H01–H05).
const HOTLINE_MATTERS: &[Matter] = &[
    Matter {
        code: "H01",
        weight: 4,
        texts: &[
            "来电咨询大件垃圾预约清运的办理方式。",
            "来电咨询占道施工许可的办理流程。",
        ],
    },
    Matter {
        code: "H02",
        weight: 2,
        texts: &["来电求助：老人行动不便，楼道杂物需要帮助清理。"],
    },
    Matter {
        code: "H03",
        weight: 3,
        texts: &[
            "来电投诉：附近餐饮店夜间营业噪声大。",
            "来电投诉：小区周边垃圾清运不及时。",
        ],
    },
    Matter {
        code: "H04",
        weight: 2,
        texts: &["来电举报：有车辆夜间偷倒建筑垃圾。"],
    },
    Matter {
        code: "H05",
        weight: 2,
        texts: &["来电建议：在地铁站口增设非机动车停放点。"],
    },
];

/// Categories a sensor alarm raises.
const SENSOR_CODES: &[&str] = &["01001", "01003", "06042", "06028", "08004", "01037"];
/// Categories video analytics recognises.
const VIDEO_CODES: &[&str] = &[
    "09006", "09005", "09001", "09009", "09010", "09011", "06010", "06036", "07001", "09012",
];

const DETAILS: &[&str] = &[
    "",
    "",
    "已持续两天。",
    "请尽快处理。",
    "影响行人通行。",
    "附近居民多次反映。",
    "现场附照片。",
];

// ---------------------------------------------------------------------------
// Actors

/// The staff of one demo department used by the generator.
#[derive(Debug, Clone)]
pub struct UnitStaff {
    pub handler: User,
    pub lead: User,
}

/// The users synthetic cases are reported and handled by.
#[derive(Debug, Clone)]
pub struct SyntheticActors {
    pub citizen: User,
    /// Covers 310101 and 310107.
    pub operator: User,
    /// Covers 310101 and 310107; also the inspector (网格员) who reports.
    pub supervisor: User,
    pub admin: User,
    /// Per demo department: one handler and one department lead.
    pub units: BTreeMap<DepartmentId, UnitStaff>,
}

impl SyntheticActors {
    /// Reuses the demo users (`demo-citizen`, `demo-operator`,
    /// `demo-supervisor`, `demo-admin`) when they exist and cover both
    /// districts, otherwise creates `synthetic-citizen` etc.; and creates
    /// `synthetic-<dept>-handler` / `synthetic-<dept>-lead` for every demo
    /// department in the store. Created users have the unusable password
    /// hash `!`, so they cannot log in. Idempotent.
    pub async fn ensure(store: &dyn Store) -> anyhow::Result<SyntheticActors> {
        let both: Vec<AreaCode> = DISTRICTS
            .iter()
            .map(|d| AreaCode::parse(d.code))
            .collect::<Result<_, _>>()?;
        let citizen = reuse_or_create(
            store,
            "demo-citizen",
            "synthetic-citizen",
            "市民（合成演示）",
            Role::Citizen,
            &[],
        )
        .await?;
        let operator = reuse_or_create(
            store,
            "demo-operator",
            "synthetic-operator",
            "城运中心调度员（合成演示）",
            Role::Operator,
            &both,
        )
        .await?;
        let supervisor = reuse_or_create(
            store,
            "demo-supervisor",
            "synthetic-supervisor",
            "监督员（合成演示）",
            Role::Supervisor,
            &both,
        )
        .await?;
        let admin = reuse_or_create(
            store,
            "demo-admin",
            "synthetic-admin",
            "系统管理员（合成演示）",
            Role::Admin,
            &[],
        )
        .await?;
        let mut units = BTreeMap::new();
        for id in DEMO_DEPARTMENTS {
            let department = DepartmentId::parse(id)?;
            let Some(found) = store.department(&department).await? else {
                tracing::debug!(
                    department = id,
                    "demo department missing; no synthetic staff"
                );
                continue;
            };
            let base = found.name.trim_end_matches("（演示）").trim();
            let handler = ensure_user(
                store,
                &format!("synthetic-{id}-handler"),
                &format!("{base}处置员（合成演示）"),
                Role::Handler,
                Some(department.clone()),
                Vec::new(),
            )
            .await?;
            let lead = ensure_user(
                store,
                &format!("synthetic-{id}-lead"),
                &format!("{base}负责人（合成演示）"),
                Role::DeptLead,
                Some(department.clone()),
                Vec::new(),
            )
            .await?;
            units.insert(department, UnitStaff { handler, lead });
        }
        Ok(SyntheticActors {
            citizen,
            operator,
            supervisor,
            admin,
            units,
        })
    }

    fn unit(&self, department: &DepartmentId) -> Option<&UnitStaff> {
        self.units.get(department)
    }
}

/// The demo user `demo` if it exists with `role` and covers `areas`; else
/// the synthetic user `fallback`, created if needed.
async fn reuse_or_create(
    store: &dyn Store,
    demo: &str,
    fallback: &str,
    display_name: &str,
    role: Role,
    areas: &[AreaCode],
) -> anyhow::Result<User> {
    if let Some((user, _)) = store.user_credentials(demo).await?
        && user.role == role
        && covers_all(&user, areas)
    {
        return Ok(user);
    }
    ensure_user(store, fallback, display_name, role, None, areas.to_vec()).await
}

/// True when the user's scope covers each of `areas` (the area itself or
/// the whole city).
fn covers_all(user: &User, areas: &[AreaCode]) -> bool {
    areas.iter().all(|code| {
        user.areas
            .iter()
            .any(|own| own == code || own.as_str() == CITY)
    })
}

async fn ensure_user(
    store: &dyn Store,
    username: &str,
    display_name: &str,
    role: Role,
    department: Option<DepartmentId>,
    areas: Vec<AreaCode>,
) -> anyhow::Result<User> {
    if let Some((user, _)) = store.user_credentials(username).await? {
        return Ok(user);
    }
    let new_user = NewUser::new(username, display_name, role, department, areas, None)?;
    // "!" is not a valid password hash: the account cannot log in.
    match store
        .create_user(new_user, "!".into(), cityloop_store::no_audit_for())
        .await
    {
        Ok(user) => Ok(user),
        Err(StoreError::Conflict { .. }) => store
            .user_credentials(username)
            .await?
            .map(|(user, _)| user)
            .ok_or_else(|| anyhow::anyhow!("user {username} exists but cannot be read")),
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------------------
// Plans

/// Where a synthetic case should end up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Stop in this open status.
    Open(StatusKind),
    /// The whole loop, closed by the rating.
    Closed,
    /// Closed on the spot by the inspector (自处理).
    SelfHandled,
    /// Closed as special (特殊结案) somewhere along the loop.
    Special,
    Declined,
    Voided,
    Merged,
}

const TARGETS: &[(Target, u32)] = &[
    (Target::Open(StatusKind::Reported), 6),
    (Target::Open(StatusKind::Verified), 5),
    (Target::Open(StatusKind::Accepted), 4),
    (Target::Open(StatusKind::Registered), 4),
    (Target::Open(StatusKind::Dispatched), 7),
    (Target::Open(StatusKind::Returned), 3),
    (Target::Open(StatusKind::Handling), 13),
    (Target::Open(StatusKind::Hung), 3),
    (Target::Open(StatusKind::Replied), 5),
    (Target::Open(StatusKind::Checking), 4),
    (Target::Open(StatusKind::Callback), 5),
    (Target::Closed, 22),
    (Target::SelfHandled, 4),
    (Target::Special, 3),
    (Target::Declined, 4),
    (Target::Voided, 2),
    (Target::Merged, 3),
];

const CHANNELS: &[(Channel, u32)] = &[
    (Channel::CitizenApp, 28),
    (Channel::CitizenWeb, 12),
    (Channel::Hotline, 25),
    (Channel::Inspector, 20),
    (Channel::Sensor, 6),
    (Channel::Video, 9),
];

/// One action of a plan; who takes it and on which unit is resolved when it
/// is taken, from the case as it then is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Verify {
        by_supervisor: bool,
    },
    Accept,
    Decline {
        reason: usize,
    },
    Register,
    Void {
        reason: usize,
    },
    SelfHandle,
    /// To the routed department (or the district's 城管执法局).
    Dispatch {
        with_co_unit: bool,
    },
    /// From `returned`, to the alternative unit.
    Redispatch,
    /// The district unit passes the case to a street office.
    SubDispatch {
        street: usize,
    },
    Sign {
        by_lead: bool,
    },
    Return {
        reason: ReturnReason,
    },
    Arbitrate {
        to_alternative: bool,
    },
    Note,
    Urge,
    RequestExtension {
        hours: i64,
    },
    DecideExtension {
        approve: bool,
    },
    Hang {
        by_operator: bool,
    },
    Resume {
        by_operator: bool,
    },
    Reply,
    Review {
        approve: bool,
    },
    Check {
        passed: bool,
    },
    Rate {
        level: Rating,
        reasonable: Option<bool>,
        by_citizen: bool,
    },
    CloseSpecial {
        by_admin: bool,
    },
    Merge,
}

impl Step {
    /// (shortest, longest) wait before this step, in minutes.
    fn wait_minutes(self) -> (f64, f64) {
        match self {
            Step::Verify { .. } => (3.0, 120.0),
            Step::Accept | Step::Register => (2.0, 60.0),
            Step::Decline { .. } => (5.0, 180.0),
            Step::Void { .. } => (10.0, 240.0),
            Step::SelfHandle => (5.0, 40.0),
            Step::Dispatch { .. } | Step::Redispatch => (2.0, 90.0),
            Step::SubDispatch { .. } => (10.0, 180.0),
            Step::Sign { .. } => (5.0, 240.0),
            Step::Return { .. } => (10.0, 240.0),
            Step::Arbitrate { .. } => (20.0, 480.0),
            Step::Note | Step::Urge => (30.0, 1440.0),
            Step::RequestExtension { .. } => (60.0, 2880.0),
            Step::DecideExtension { .. } => (20.0, 480.0),
            Step::Hang { .. } => (60.0, 1440.0),
            Step::Resume { .. } => (1440.0, 5760.0),
            Step::Reply => (60.0, 4320.0),
            Step::Review { .. } => (10.0, 360.0),
            Step::Check { .. } => (60.0, 1440.0),
            Step::Rate { .. } => (60.0, 2880.0),
            Step::CloseSpecial { .. } => (30.0, 2880.0),
            Step::Merge => (5.0, 180.0),
        }
    }
}

/// What a synthetic report says and where.
#[derive(Debug, Clone)]
struct Draft {
    district: usize,
    channel: Channel,
    category: &'static str,
    urgency: Urgency,
    point: Option<LonLat>,
    description: String,
}

#[derive(Debug, Clone)]
struct Plan {
    created_at: DateTime<Utc>,
    draft: Draft,
    /// Index of the plan this case is a duplicate of (merged into).
    parent: Option<usize>,
    steps: Vec<(DateTime<Utc>, Step)>,
}

fn is_citizen_channel(channel: Channel) -> bool {
    matches!(channel, Channel::CitizenWeb | Channel::CitizenApp)
}

fn pick_matter<'m>(rng: &mut Rng, matters: &'m [Matter], only: Option<&[&str]>) -> &'m Matter {
    let weights: Vec<u32> = matters
        .iter()
        .map(|m| match only {
            Some(codes) if !codes.contains(&m.code) => 0,
            _ => m.weight,
        })
        .collect();
    &matters[rng.weighted(&weights)]
}

fn matter_by_code(code: &str) -> Option<&'static Matter> {
    MATTERS
        .iter()
        .chain(HOTLINE_MATTERS.iter())
        .find(|m| m.code == code)
}

fn describe(rng: &mut Rng, matter: &Matter) -> String {
    let text = matter.texts[rng.below(matter.texts.len())];
    let detail = DETAILS[rng.below(DETAILS.len())];
    format!("{LABEL}{text}{detail}")
}

/// A uniformly random point in the district (by rejection in its bounding
/// box), or `None` when the index has no boundary for it.
fn point_in(rng: &mut Rng, index: &AreaIndex, code: &str) -> Option<LonLat> {
    let area = index.get(code)?;
    let [x0, y0, x1, y1] = cityloop_geo::bbox(&area.shape)?;
    for _ in 0..POINT_TRIES_MAX {
        let lon = rng.between(x0, x1);
        let lat = rng.between(y0, y1);
        let Ok(point) = LonLat::new(lon, lat) else {
            continue;
        };
        if lies_in(index, point, code) {
            return Some(point);
        }
    }
    None
}

fn lies_in(index: &AreaIndex, point: LonLat, code: &str) -> bool {
    index.locate(point).iter().any(|hit| hit.code == code)
}

/// `point` moved by about `metres` in a random direction, if that stays in
/// the district.
fn near(rng: &mut Rng, index: &AreaIndex, point: LonLat, metres: f64, code: &str) -> LonLat {
    let angle = rng.between(0.0, std::f64::consts::TAU);
    let dlat = metres * angle.sin() / 111_320.0;
    let dlon = metres * angle.cos() / (111_320.0 * point.lat.to_radians().cos().max(0.01));
    match LonLat::new(point.lon + dlon, point.lat + dlat) {
        Ok(moved) if lies_in(index, moved, code) => moved,
        _ => point,
    }
}

fn pick_channel(rng: &mut Rng, target: Target) -> Channel {
    match target {
        Target::SelfHandled => Channel::Inspector,
        // Inspector reports start verified; these targets want a report
        // someone still has to look at.
        Target::Open(StatusKind::Reported) | Target::Merged => {
            let weights: Vec<u32> = CHANNELS
                .iter()
                .map(|(c, w)| if *c == Channel::Inspector { 0 } else { *w })
                .collect();
            CHANNELS[rng.weighted(&weights)].0
        }
        _ => {
            let weights: Vec<u32> = CHANNELS.iter().map(|(_, w)| *w).collect();
            CHANNELS[rng.weighted(&weights)].0
        }
    }
}

/// A new report in `district` through `channel`.
fn draft(rng: &mut Rng, index: &AreaIndex, district: usize, channel: Channel) -> Draft {
    let matter = match channel {
        Channel::Sensor => pick_matter(rng, MATTERS, Some(SENSOR_CODES)),
        Channel::Video => pick_matter(rng, MATTERS, Some(VIDEO_CODES)),
        Channel::Hotline if rng.chance(0.3) => pick_matter(rng, HOTLINE_MATTERS, None),
        _ => pick_matter(rng, MATTERS, None),
    };
    let description = describe(rng, matter);
    let urgency = if rng.chance(0.1) {
        Urgency::Urgent
    } else {
        Urgency::Normal
    };
    let point = point_in(rng, index, DISTRICTS[district].code);
    Draft {
        district,
        channel,
        category: matter.code,
        urgency,
        point,
        description,
    }
}

fn intake_of(draft: &Draft, actors: &SyntheticActors) -> anyhow::Result<Intake> {
    let (_, category) = CategoryCode::parse_case_category(draft.category)?;
    let district = &DISTRICTS[draft.district];
    let reporter = match draft.channel {
        Channel::CitizenWeb | Channel::CitizenApp => Some(actors.citizen.id),
        Channel::Inspector => Some(actors.supervisor.id),
        _ => None,
    };
    let reporter_contact =
        (draft.channel == Channel::Hotline).then(|| "合成演示来电人（无真实联系方式）".to_owned());
    Ok(Intake {
        report: None,
        route_to: None,
        channel: draft.channel,
        category,
        urgency: draft.urgency,
        point: draft.point,
        area: match draft.point {
            Some(_) => None,
            None => Some(AreaCode::parse(district.code)?),
        },
        address: Some(format!("{}（合成演示位置，非真实地址）", district.name)),
        description: draft.description.clone(),
        reporter,
        reporter_contact,
    })
}

/// Builds a plan's steps, tracking the status each leads to.
struct PathBuilder {
    steps: Vec<(Step, StatusKind)>,
    status: StatusKind,
}

impl PathBuilder {
    fn new(channel: Channel) -> PathBuilder {
        PathBuilder {
            steps: Vec::new(),
            status: channel.initial_status().kind(),
        }
    }

    fn push(&mut self, step: Step, to: StatusKind) {
        self.status = to;
        self.steps.push((step, to));
    }

    fn stay(&mut self, step: Step) {
        let status = self.status;
        self.push(step, status);
    }
}

/// The whole loop from intake to the closing rating, with the detours a
/// case may take (return, sub-dispatch, extension, hang, rework, redo).
fn full_loop(rng: &mut Rng, channel: Channel, category: &str, target: Target) -> PathBuilder {
    use StatusKind as S;
    let mut path = PathBuilder::new(channel);
    if path.status == S::Reported {
        path.push(
            Step::Verify {
                by_supervisor: rng.chance(0.2),
            },
            S::Verified,
        );
    }
    path.push(Step::Accept, S::Accepted);
    path.push(Step::Register, S::Registered);
    path.push(
        Step::Dispatch {
            with_co_unit: rng.chance(0.15),
        },
        S::Dispatched,
    );
    if target == Target::Open(S::Returned) || rng.chance(0.08) {
        let reason = if rng.chance(0.8) {
            ReturnReason::NotOurResponsibility
        } else {
            ReturnReason::WrongLocation
        };
        path.push(Step::Return { reason }, S::Returned);
        if rng.chance(0.5) {
            path.push(
                Step::Arbitrate {
                    to_alternative: rng.chance(0.5),
                },
                S::Dispatched,
            );
        } else {
            path.push(Step::Redispatch, S::Dispatched);
        }
    } else if category.starts_with("06") && rng.chance(0.25) {
        path.push(
            Step::SubDispatch {
                street: rng.below(2),
            },
            S::Dispatched,
        );
    }
    path.push(
        Step::Sign {
            by_lead: rng.chance(0.2),
        },
        S::Handling,
    );
    if rng.chance(0.1) {
        path.stay(Step::Urge);
    }
    if rng.chance(0.3) {
        path.stay(Step::Note);
    }
    if rng.chance(0.15) {
        path.stay(Step::RequestExtension {
            hours: 4 + rng.below(13) as i64,
        });
        path.stay(Step::DecideExtension {
            approve: rng.chance(0.8),
        });
    }
    if target == Target::Open(S::Hung) || rng.chance(0.06) {
        let by_operator = rng.chance(0.3);
        path.push(Step::Hang { by_operator }, S::Hung);
        path.push(Step::Resume { by_operator }, S::Handling);
    }
    let mut reject = rng.chance(0.08);
    let mut fail = rng.chance(0.08);
    let mut redo = rng.chance(0.05);
    let citizen = is_citizen_channel(channel);
    loop {
        path.push(Step::Reply, S::Replied);
        if std::mem::take(&mut reject) {
            path.push(Step::Review { approve: false }, S::Handling);
            continue;
        }
        path.push(Step::Review { approve: true }, S::Checking);
        if std::mem::take(&mut fail) {
            path.push(Step::Check { passed: false }, S::Handling);
            continue;
        }
        path.push(Step::Check { passed: true }, S::Callback);
        let by_citizen = citizen && rng.chance(0.6);
        if std::mem::take(&mut redo) {
            let step = Step::Rate {
                level: Rating::Dissatisfied,
                reasonable: Some(true),
                by_citizen,
            };
            path.push(step, S::Handling);
            continue;
        }
        let level = [
            Rating::VerySatisfied,
            Rating::Satisfied,
            Rating::BasicallySatisfied,
            Rating::Dissatisfied,
            Rating::VeryDissatisfied,
        ][rng.weighted(&[40, 35, 15, 7, 3])];
        let reasonable = level.is_dissatisfied().then_some(false);
        path.push(
            Step::Rate {
                level,
                reasonable,
                by_citizen,
            },
            S::Closed,
        );
        break;
    }
    path
}

/// The steps that take a case from intake to `target`.
fn steps_for(rng: &mut Rng, channel: Channel, category: &str, target: Target) -> Vec<Step> {
    use StatusKind as S;
    let start = channel.initial_status().kind();
    let mut path = PathBuilder::new(channel);
    match target {
        Target::Declined | Target::Merged => {
            if start == S::Reported && rng.chance(0.45) {
                path.push(
                    Step::Verify {
                        by_supervisor: rng.chance(0.3),
                    },
                    S::Verified,
                );
            }
            if target == Target::Declined {
                path.push(
                    Step::Decline {
                        reason: rng.below(DECLINE_REASONS.len()),
                    },
                    S::Declined,
                );
            } else {
                path.push(Step::Merge, S::Merged);
            }
        }
        Target::Voided => {
            if start == S::Reported {
                path.push(
                    Step::Verify {
                        by_supervisor: false,
                    },
                    S::Verified,
                );
            }
            path.push(Step::Accept, S::Accepted);
            path.push(
                Step::Void {
                    reason: rng.below(VOID_REASONS.len()),
                },
                S::Voided,
            );
        }
        Target::SelfHandled => path.push(Step::SelfHandle, S::Closed),
        Target::Closed => path = full_loop(rng, channel, category, target),
        Target::Special => {
            let full = full_loop(rng, channel, category, target);
            // Stop anywhere before the closing rating, then close as special.
            let keep = rng.below(full.steps.len());
            path.steps = full.steps[..keep].to_vec();
            path.push(
                Step::CloseSpecial {
                    by_admin: rng.chance(0.4),
                },
                S::Closed,
            );
        }
        Target::Open(status) => {
            let full = full_loop(rng, channel, category, target);
            // Every place in the loop where the case is in `status`
            // (including the start, as "no step yet").
            let mut cuts: Vec<usize> = full
                .steps
                .iter()
                .enumerate()
                .filter(|(_, (_, to))| *to == status)
                .map(|(i, _)| i + 1)
                .collect();
            if start == status {
                cuts.push(0);
            }
            let keep = if cuts.is_empty() {
                0
            } else {
                cuts[rng.below(cuts.len())]
            };
            path.steps = full.steps[..keep].to_vec();
        }
    }
    path.steps.into_iter().map(|(step, _)| step).collect()
}

const DECLINE_REASONS: &[&str] = &[
    "经核实不属于城市管理范围，已告知来电人向相关部门反映",
    "现场核查未发现所述问题",
    "诉求内容重复且已有处理结论",
];

const VOID_REASONS: &[&str] = &["受理信息有误，重新立案", "同一问题已另案处理"];

/// An instant in the window `span_seconds` before `now`, mostly in waking
/// hours (+08:00).
fn creation_instant(rng: &mut Rng, now: DateTime<Utc>, span_seconds: i64) -> DateTime<Utc> {
    let mut at = now;
    for _ in 0..4 {
        let back = (rng.unit() * span_seconds.max(0) as f64) as i64;
        at = now - Duration::seconds(back);
        let local_hour = (at + Duration::hours(8)).hour();
        if (7..23).contains(&local_hour) || !rng.chance(0.8) {
            break;
        }
    }
    at
}

/// Plans `count` cases: when, where, what, and the actions to take.
fn plan_cases(
    rng: &mut Rng,
    index: &AreaIndex,
    count: usize,
    days: i64,
    now: DateTime<Utc>,
) -> Vec<Plan> {
    let span = days.max(0).saturating_mul(86_400);
    let target_weights: Vec<u32> = TARGETS.iter().map(|(_, w)| *w).collect();
    let district_weights: Vec<u32> = DISTRICTS.iter().map(|d| d.weight).collect();

    let mut plans: Vec<(Plan, Target)> = (0..count)
        .map(|_| {
            let target = TARGETS[rng.weighted(&target_weights)].0;
            let district = rng.weighted(&district_weights);
            let channel = pick_channel(rng, target);
            let case = draft(rng, index, district, channel);
            let steps = steps_for(rng, channel, case.category, target);
            let (created_at, steps) = match target {
                Target::Open(_) => schedule_open(rng, &steps, now, span, case.urgency),
                _ => {
                    let created_at = creation_instant(rng, now, span);
                    (
                        created_at,
                        schedule(rng, &steps, created_at, now, case.urgency),
                    )
                }
            };
            let plan = Plan {
                created_at,
                draft: case,
                parent: None,
                steps,
            };
            (plan, target)
        })
        .collect();
    plans.sort_by_key(|(plan, _)| plan.created_at);

    // A duplicate joins an earlier report in its district that stays open;
    // it says the same thing a few dozen metres away.
    for i in 0..plans.len() {
        if plans[i].1 != Target::Merged {
            continue;
        }
        let district = plans[i].0.draft.district;
        let created_at = plans[i].0.created_at;
        let Some(merge_at) = plans[i]
            .0
            .steps
            .iter()
            .find(|(_, step)| *step == Step::Merge)
            .map(|(at, _)| *at)
        else {
            continue;
        };
        let candidates: Vec<usize> = plans[..i]
            .iter()
            .enumerate()
            .filter(|(_, (p, target))| {
                *target != Target::Merged
                    && p.draft.district == district
                    && p.draft.point.is_some()
                    && p.created_at < created_at
                    && p.open_at(merge_at)
            })
            .map(|(j, _)| j)
            .collect();
        // Preferably a report of the last three days, so the duplicate is
        // also proposed at intake.
        let recent: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|j| plans[*j].0.created_at >= created_at - Duration::hours(72))
            .collect();
        let pool = if recent.is_empty() {
            candidates
        } else {
            recent
        };
        if pool.is_empty() {
            // Nothing to join: the merge step stops, the report stays.
            continue;
        }
        let parent = pool[rng.below(pool.len())];
        let original = plans[parent].0.draft.clone();
        let metres = rng.between(12.0, 45.0);
        let child = &mut plans[i].0;
        child.parent = Some(parent);
        if let Some(matter) = matter_by_code(original.category) {
            child.draft.category = matter.code;
            child.draft.description = describe(rng, matter);
        }
        child.draft.point = original
            .point
            .map(|p| near(rng, index, p, metres, DISTRICTS[district].code));
    }
    plans.into_iter().map(|(plan, _)| plan).collect()
}

/// Waits before each step, drawn per step (urgent cases move faster).
fn waits(rng: &mut Rng, steps: &[Step], urgency: Urgency) -> Vec<i64> {
    let pace = if urgency == Urgency::Urgent { 0.3 } else { 1.0 };
    steps
        .iter()
        .map(|step| {
            let (low, high) = step.wait_minutes();
            (rng.log_uniform(low, high) * 60.0 * pace).max(60.0) as i64
        })
        .collect()
}

/// For a case that stays open: how long it has waited in its last status
/// at `now` (mostly briefly — green and yellow lights — sometimes for days:
/// the red backlog), and so when it was created and acted on.
fn schedule_open(
    rng: &mut Rng,
    steps: &[Step],
    now: DateTime<Utc>,
    span_seconds: i64,
    urgency: Urgency,
) -> (DateTime<Utc>, Vec<(DateTime<Utc>, Step)>) {
    let mut waits = waits(rng, steps, urgency);
    let dwell_minutes = if rng.chance(0.7) {
        rng.log_uniform(2.0, 240.0)
    } else {
        rng.log_uniform(240.0, 7200.0)
    };
    let dwell = ((dwell_minutes * 60.0) as i64).min(span_seconds * 9 / 10);
    let room = span_seconds - dwell;
    let total: i64 = waits.iter().sum();
    if total > room && total > 0 {
        let factor = room.max(0) as f64 * rng.between(0.5, 0.95) / total as f64;
        for wait in &mut waits {
            *wait = ((*wait as f64 * factor) as i64).max(60);
        }
    }
    let total: i64 = waits.iter().sum();
    let created_at =
        (now - Duration::seconds(dwell + total)).max(now - Duration::seconds(span_seconds));
    let mut at = created_at;
    let mut timed = Vec::with_capacity(steps.len());
    for (step, wait) in steps.iter().zip(waits) {
        at += Duration::seconds(wait);
        if at > now {
            break;
        }
        timed.push((at, *step));
    }
    (created_at, timed)
}

/// The instants of `steps` after `created_at`: waits drawn per step, fitted
/// into the time left before `now` more often than not; steps that would
/// fall after `now` are dropped.
fn schedule(
    rng: &mut Rng,
    steps: &[Step],
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
    urgency: Urgency,
) -> Vec<(DateTime<Utc>, Step)> {
    let mut waits = waits(rng, steps, urgency);
    let available = (now - created_at).num_seconds();
    let total: i64 = waits.iter().sum();
    if total > available && available > 0 && rng.chance(0.75) {
        let factor = available as f64 * rng.between(0.55, 0.95) / total as f64;
        for wait in &mut waits {
            *wait = ((*wait as f64 * factor) as i64).max(60);
        }
    }
    let mut at = created_at;
    let mut timed = Vec::with_capacity(steps.len());
    for (step, wait) in steps.iter().zip(waits) {
        at += Duration::seconds(wait);
        if at > now {
            break;
        }
        timed.push((at, *step));
    }
    timed
}

impl Plan {
    /// True when the plan has not closed the case by `at` (so a duplicate
    /// can join it then).
    fn open_at(&self, at: DateTime<Utc>) -> bool {
        !self.steps.iter().any(|(when, step)| {
            *when <= at
                && matches!(
                    step,
                    Step::Decline { .. }
                        | Step::Void { .. }
                        | Step::SelfHandle
                        | Step::CloseSpecial { .. }
                        | Step::Merge
                        | Step::Rate {
                            reasonable: None | Some(false),
                            ..
                        }
                )
        })
    }
}

// ---------------------------------------------------------------------------
// Taking a step

/// What a case needs to resolve its next step.
struct CaseContext<'a> {
    district: &'a District,
    /// The case a duplicate is merged into.
    parent: Option<i64>,
    citizen_reported: bool,
}

enum Resolved<'u> {
    Act(&'u User, Command),
    /// The step does not apply to the case as it is (e.g. no street office
    /// to pass it to); go on with the next.
    Skip,
    /// The step cannot be taken; the case stops here.
    Stop(String),
}

fn note(text: &str) -> String {
    format!("{LABEL}{text}")
}

fn department(code: &str) -> Option<DepartmentId> {
    DepartmentId::parse(code).ok()
}

/// The other district unit a case returned by `lead` should go to.
fn alternative_unit(district: &District, lead: Option<&DepartmentId>) -> Option<DepartmentId> {
    match lead {
        Some(lead) if lead.as_str() == district.enforcement => department(district.greening),
        _ => department(district.enforcement),
    }
}

fn resolve<'u>(
    actors: &'u SyntheticActors,
    row: &CaseRow,
    context: &CaseContext<'_>,
    step: Step,
) -> Resolved<'u> {
    let district = context.district;
    let lead = row.lead_department.as_ref();
    let staff = lead.and_then(|lead| actors.unit(lead));
    let stop = |why: &str| Resolved::Stop(why.to_owned());
    match step {
        Step::Verify { by_supervisor } => Resolved::Act(
            if by_supervisor {
                &actors.supervisor
            } else {
                &actors.operator
            },
            Command::Verify {
                note: note("经核实，情况属实"),
            },
        ),
        Step::Accept => Resolved::Act(&actors.operator, Command::Accept),
        Step::Decline { reason } => Resolved::Act(
            &actors.operator,
            Command::Decline {
                reason: note(DECLINE_REASONS[reason % DECLINE_REASONS.len()]),
            },
        ),
        Step::Register => Resolved::Act(&actors.operator, Command::Register { criteria_met: true }),
        Step::Void { reason } => Resolved::Act(
            &actors.operator,
            Command::Void {
                reason: note(VOID_REASONS[reason % VOID_REASONS.len()]),
            },
        ),
        Step::SelfHandle => Resolved::Act(
            &actors.supervisor,
            Command::SelfHandle {
                note: note("巡查时发现，已现场处置完毕"),
            },
        ),
        Step::Dispatch { with_co_unit } => {
            let routed = row
                .routed_department
                .clone()
                .filter(|d| actors.unit(d).is_some());
            let Some(lead) = routed.or_else(|| department(district.enforcement)) else {
                return stop("no lead unit to dispatch to");
            };
            let mut units = vec![lead.clone()];
            if with_co_unit
                && let Some(co) = alternative_unit(district, Some(&lead))
                && co != lead
            {
                units.push(co);
            }
            Resolved::Act(&actors.operator, Command::Dispatch { units, lead })
        }
        Step::Redispatch => {
            let Some(to) = alternative_unit(district, lead) else {
                return stop("no unit to dispatch to");
            };
            Resolved::Act(
                &actors.operator,
                Command::Dispatch {
                    units: vec![to.clone()],
                    lead: to,
                },
            )
        }
        Step::SubDispatch { street } => {
            let (Some(lead), Some(staff)) = (lead, staff) else {
                return stop("no lead unit");
            };
            if lead.as_str() != district.greening {
                return Resolved::Skip;
            }
            let Some(to) = department(district.streets[street % district.streets.len()])
                .filter(|d| actors.unit(d).is_some())
            else {
                return Resolved::Skip;
            };
            Resolved::Act(&staff.lead, Command::SubDispatch { to })
        }
        Step::Sign { by_lead } => match staff {
            Some(staff) => Resolved::Act(
                if by_lead { &staff.lead } else { &staff.handler },
                Command::Sign,
            ),
            None => stop("no staff for the lead unit"),
        },
        Step::Return { reason } => match staff {
            Some(staff) => Resolved::Act(
                &staff.handler,
                Command::Return {
                    reason_code: reason,
                    note: note(match reason {
                        ReturnReason::WrongLocation => "现场核对地址不在本单位辖区",
                        _ => "经核查不属于本单位职责，请重新派遣",
                    }),
                },
            ),
            None => stop("no staff for the lead unit"),
        },
        Step::Arbitrate { to_alternative } => {
            let responsible = if to_alternative {
                alternative_unit(district, lead)
            } else {
                lead.cloned()
            };
            let Some(responsible) = responsible else {
                return stop("no unit to rule responsible");
            };
            Resolved::Act(
                &actors.operator,
                Command::Arbitrate {
                    responsible,
                    note: note("依据权责清单裁定责任单位"),
                },
            )
        }
        Step::Note => match staff {
            Some(staff) => Resolved::Act(
                &staff.handler,
                Command::Note {
                    text: note("已联系当事人，约定处置时间"),
                },
            ),
            None => stop("no staff for the lead unit"),
        },
        Step::Urge => Resolved::Act(
            &actors.operator,
            Command::Urge {
                note: note("群众反映强烈，请加快处置"),
            },
        ),
        Step::RequestExtension { hours } => match staff {
            Some(staff) => Resolved::Act(
                &staff.handler,
                Command::RequestExtension {
                    minutes: hours * 60,
                    reason: note("需协调产权单位，申请延期"),
                },
            ),
            None => stop("no staff for the lead unit"),
        },
        Step::DecideExtension { approve } => match staff {
            Some(staff) => Resolved::Act(
                &staff.lead,
                Command::DecideExtension {
                    approve,
                    note: note(if approve {
                        "同意延期"
                    } else {
                        "不同意延期，请按期办结"
                    }),
                },
            ),
            None => stop("no staff for the lead unit"),
        },
        Step::Hang { by_operator } => match (by_operator, staff) {
            (true, _) => Resolved::Act(
                &actors.operator,
                Command::Hang {
                    reason: note("涉及长期工程，挂账处理"),
                },
            ),
            (false, Some(staff)) => Resolved::Act(
                &staff.lead,
                Command::Hang {
                    reason: note("需纳入改造计划，申请挂账"),
                },
            ),
            (false, None) => stop("no staff for the lead unit"),
        },
        Step::Resume { by_operator } => match (by_operator, staff) {
            (true, _) => Resolved::Act(&actors.operator, Command::Resume),
            (false, Some(staff)) => Resolved::Act(&staff.lead, Command::Resume),
            (false, None) => stop("no staff for the lead unit"),
        },
        Step::Reply => match staff {
            Some(staff) => Resolved::Act(
                &staff.handler,
                Command::Reply {
                    note: note("已处置完毕，现场恢复正常"),
                    evidence: vec![format!("合成演示/案件{}/处置后照片.jpg", row.id)],
                },
            ),
            None => stop("no staff for the lead unit"),
        },
        Step::Review { approve } => Resolved::Act(
            &actors.operator,
            Command::Review {
                approve,
                note: note(if approve {
                    "审核通过"
                } else {
                    "反馈照片不清晰，请补充处置情况"
                }),
            },
        ),
        Step::Check { passed } => Resolved::Act(
            &actors.supervisor,
            Command::Check {
                passed,
                note: note(if passed {
                    "现场核查已整改到位"
                } else {
                    "现场核查问题仍存在，需返工"
                }),
            },
        ),
        Step::Rate {
            level,
            reasonable,
            by_citizen,
        } => Resolved::Act(
            if by_citizen && context.citizen_reported {
                &actors.citizen
            } else {
                &actors.operator
            },
            Command::Rate {
                level,
                reasonable,
                comment: String::new(),
            },
        ),
        Step::CloseSpecial { by_admin } => Resolved::Act(
            if by_admin {
                &actors.admin
            } else {
                &actors.supervisor
            },
            Command::Close {
                closing: ClosingType::Special,
                note: note("情况特殊，经研究予以特殊结案"),
            },
        ),
        Step::Merge => match context.parent {
            Some(parent) => Resolved::Act(
                &actors.operator,
                Command::Merge {
                    parent: CaseId(parent),
                },
            ),
            None => stop("the case it duplicates was not created"),
        },
    }
}

// ---------------------------------------------------------------------------
// Seeding

/// What [`seed_cases`] made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Cases created (those whose intake was refused are not counted).
    pub created: usize,
    /// Their statuses at `now`, e.g. `"closed" → 80`.
    pub by_status: BTreeMap<String, usize>,
    /// The SLA light of their running clocks at `now` (`green`, `yellow`,
    /// `red`); cases without a running clock are not counted.
    pub by_light: BTreeMap<String, usize>,
}

/// The light of a summary row at `now`, as the API computes it.
fn light_at(row: &CaseRow, now: DateTime<Utc>) -> Option<&'static str> {
    let due = row.due_at?;
    Some(if now >= due {
        "red"
    } else if row.warn_at.is_some_and(|warn| now >= warn) {
        "yellow"
    } else {
        "green"
    })
}

/// Fires the timers due at `now` (all of them, in batches).
async fn fire_timers(cases: &CaseService, now: DateTime<Utc>) {
    loop {
        match cases
            .fire_due_timers(now, SEED_WORKER, TIMER_BATCH_MAX)
            .await
        {
            Ok(fired) if fired == TIMER_BATCH_MAX as usize => continue,
            Ok(_) => break,
            Err(error) => {
                tracing::debug!(%error, "synthetic: firing timers failed");
                break;
            }
        }
    }
}

fn district_of(row: &CaseRow) -> &'static District {
    DISTRICTS
        .iter()
        .find(|d| row.area_path.iter().any(|a| a.as_str() == d.code))
        .unwrap_or(&DISTRICTS[0])
}

/// Generates `count` synthetic cases over Huangpu (310101) and Putuo
/// (310107), spread over the `days` days before `now`, and walks each some
/// way through the closed loop with the demo users' roles, so the demo has
/// cases in every state (reported, verified, accepted, registered,
/// dispatched, returned, handling, hung, replied, checking, callback,
/// closed, declined, voided, merged) and SLA lights of every colour.
/// Deterministic for a given `seed` (on the same store contents).
///
/// All actions happen at instants between creation and `now`, in one
/// chronological timeline, and the SLA timers that fall due meanwhile are
/// fired, so run it before the scheduler starts. A refused action is logged
/// at debug level and that case simply stops there.
pub async fn seed_cases(
    cases: &CaseService,
    index: &AreaIndex,
    actors: &SyntheticActors,
    count: usize,
    days: i64,
    now: DateTime<Utc>,
    seed: u64,
) -> anyhow::Result<SeedReport> {
    let mut rng = Rng::new(seed);
    let plans = plan_cases(&mut rng, index, count, days, now);

    // One timeline: (instant, case, step + 1), 0 being the intake.
    let mut timeline: Vec<(DateTime<Utc>, usize, usize)> = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        timeline.push((plan.created_at, i, 0));
        for (s, (at, _)) in plan.steps.iter().enumerate() {
            timeline.push((*at, i, s + 1));
        }
    }
    timeline.sort();

    let mut rows: Vec<Option<CaseRow>> = vec![None; plans.len()];
    let mut stopped = vec![false; plans.len()];
    let mut fired_until: Option<DateTime<Utc>> = None;
    for (at, i, s) in timeline {
        if stopped[i] {
            continue;
        }
        if fired_until.is_none_or(|until| at >= until + Duration::seconds(TIMER_STEP_SECONDS)) {
            fire_timers(cases, at).await;
            fired_until = Some(at);
        }
        let plan = &plans[i];
        if s == 0 {
            let intake = match intake_of(&plan.draft, actors) {
                Ok(intake) => intake,
                Err(error) => {
                    tracing::debug!(%error, "synthetic: case not drafted");
                    stopped[i] = true;
                    continue;
                }
            };
            match cases.intake(intake, index, at).await {
                Ok(outcome) => {
                    if outcome.merged_into.is_some() {
                        // Merged automatically as a duplicate: done.
                        stopped[i] = true;
                    }
                    rows[i] = Some(outcome.case);
                }
                Err(error) => {
                    tracing::debug!(%error, "synthetic: intake refused");
                    stopped[i] = true;
                }
            }
            continue;
        }
        let Some(row) = rows[i].as_ref() else {
            stopped[i] = true;
            continue;
        };
        let step = plan.steps[s - 1].1;
        let context = CaseContext {
            district: &DISTRICTS[plan.draft.district],
            parent: plan
                .parent
                .and_then(|p| rows[p].as_ref())
                .map(|parent| parent.id),
            citizen_reported: is_citizen_channel(plan.draft.channel),
        };
        let (user, command) = match resolve(actors, row, &context, step) {
            Resolved::Act(user, command) => (user, command),
            Resolved::Skip => continue,
            Resolved::Stop(why) => {
                tracing::debug!(case = row.id, ?step, why, "synthetic: case stops");
                stopped[i] = true;
                continue;
            }
        };
        let id = row.id;
        let action = command.as_str();
        match cases.act(id, &Actor::from_user(user), command, at).await {
            Ok(next) => rows[i] = Some(next),
            Err(error) => {
                tracing::debug!(case = id, action, %error, "synthetic: action refused; case stops");
                stopped[i] = true;
            }
        }
    }
    fire_timers(cases, now).await;

    let mut report = SeedReport::default();
    for row in rows.iter().flatten() {
        let Some(row) = cases.store().case(row.id).await? else {
            continue;
        };
        report.created += 1;
        *report.by_status.entry(row.status.clone()).or_default() += 1;
        if row.open
            && let Some(light) = light_at(&row, now)
        {
            *report.by_light.entry(light.to_owned()).or_default() += 1;
        }
    }
    tracing::info!(
        created = report.created,
        by_status = ?report.by_status,
        by_light = ?report.by_light,
        "synthetic demo cases seeded (合成演示)"
    );
    Ok(report)
}

// ---------------------------------------------------------------------------
// The live stream

/// The next step of the loop for an open case, as the live stream takes it.
fn live_step(rng: &mut Rng, status: &str) -> Option<Step> {
    Some(match StatusKind::parse(status).ok()? {
        StatusKind::Reported => Step::Verify {
            by_supervisor: rng.chance(0.3),
        },
        StatusKind::Verified => Step::Accept,
        StatusKind::Accepted => Step::Register,
        StatusKind::Registered => Step::Dispatch {
            with_co_unit: rng.chance(0.1),
        },
        StatusKind::Dispatched => Step::Sign { by_lead: false },
        StatusKind::Returned => Step::Arbitrate {
            to_alternative: rng.chance(0.5),
        },
        StatusKind::Handling => Step::Reply,
        StatusKind::Hung => Step::Resume { by_operator: false },
        StatusKind::Replied => Step::Review { approve: true },
        StatusKind::Checking => Step::Check { passed: true },
        StatusKind::Callback => Step::Rate {
            level: Rating::Satisfied,
            reasonable: None,
            by_citizen: rng.chance(0.5),
        },
        _ => return None,
    })
}

/// One new synthetic case at `now`; its id.
async fn live_new_case(
    state: &AppState,
    actors: &SyntheticActors,
    rng: &mut Rng,
    now: DateTime<Utc>,
) -> Option<i64> {
    let district_weights: Vec<u32> = DISTRICTS.iter().map(|d| d.weight).collect();
    let district = rng.weighted(&district_weights);
    let channel = pick_channel(rng, Target::Open(StatusKind::Reported));
    let index = state.index();
    let case = draft(rng, &index, district, channel);
    let intake = match intake_of(&case, actors) {
        Ok(intake) => intake,
        Err(error) => {
            tracing::debug!(%error, "synthetic live: case not drafted");
            return None;
        }
    };
    match state.cases().intake(intake, &index, now).await {
        Ok(outcome) => {
            if let Some(parent) = outcome.merged_into {
                state.publish_case_change(parent);
            }
            Some(outcome.case.id)
        }
        Err(error) => {
            tracing::debug!(%error, "synthetic live: intake refused");
            None
        }
    }
}

/// Takes the next step on a random open synthetic case; its id.
async fn live_advance(
    state: &AppState,
    actors: &SyntheticActors,
    rng: &mut Rng,
    now: DateTime<Utc>,
) -> Option<i64> {
    let within = DISTRICTS
        .iter()
        .filter_map(|d| AreaCode::parse(d.code).ok())
        .collect();
    let open = match state
        .store()
        .cases(&CaseQuery {
            open_only: true,
            within,
            limit: LIVE_OPEN_CASES_MAX,
            ..Default::default()
        })
        .await
    {
        Ok(rows) => rows,
        Err(error) => {
            tracing::debug!(%error, "synthetic live: listing open cases failed");
            return None;
        }
    };
    let candidates: Vec<CaseRow> = open
        .into_iter()
        .filter(|row| row.description.starts_with(LABEL) && row.parent.is_none())
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let row = &candidates[rng.below(candidates.len())];
    let step = live_step(rng, &row.status)?;
    let context = CaseContext {
        district: district_of(row),
        parent: None,
        citizen_reported: row.reporter == Some(actors.citizen.id),
    };
    let (user, command) = match resolve(actors, row, &context, step) {
        Resolved::Act(user, command) => (user, command),
        Resolved::Skip | Resolved::Stop(_) => return None,
    };
    let action = command.as_str();
    match state
        .cases()
        .act(row.id, &Actor::from_user(user), command, now)
        .await
    {
        Ok(_) => Some(row.id),
        Err(error) => {
            tracing::debug!(case = row.id, action, %error, "synthetic live: action refused");
            None
        }
    }
}

/// Keeps the demo alive: a new synthetic case every `every` at
/// `state.now()` (and, more often than not, the next step on a random open
/// synthetic case), each change published to live screens, until `stop`
/// becomes true or its sender is dropped.
pub async fn live_stream(
    state: AppState,
    actors: SyntheticActors,
    every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
    seed: u64,
) {
    let mut rng = Rng::new(seed ^ 0x11FE_57EA_3000_0000);
    let every = every.max(std::time::Duration::from_millis(10));
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        tokio::select! {
            _ = ticker.tick() => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        }
        let now = state.now();
        if let Some(id) = live_new_case(&state, &actors, &mut rng, now).await {
            state.publish_case_change(id);
        }
        if rng.chance(0.6)
            && let Some(id) = live_advance(&state, &actors, &mut rng, now).await
        {
            state.publish_case_change(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cityloop_api::{ApiLimits, Clock};
    use cityloop_cases::CaseConfig;
    use cityloop_import::{Silent, bundled};
    use cityloop_store_sqlite::SqliteStore;
    use std::sync::Arc;

    fn end() -> DateTime<Utc> {
        "2026-11-27T10:00:00Z".parse().unwrap()
    }

    /// A fresh store with the real city and the demo directory.
    async fn fresh() -> (tempfile::TempDir, CaseService, AreaIndex) {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&directory.path().join("synthetic.sqlite3")).unwrap();
        store.migrate().await.unwrap();
        bundled::load_shanghai(&store, &Silent).await.unwrap();
        bundled::load_demo_directory(&store, &Silent).await.unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        let cases = CaseService::open(store, bundled::HOLIDAY_CN, CaseConfig::default())
            .await
            .unwrap();
        let index = cityloop_api::areas::build_index(cases.store())
            .await
            .unwrap();
        (directory, cases, index)
    }

    async fn all_cases(store: &dyn Store) -> Vec<CaseRow> {
        let mut out = Vec::new();
        loop {
            let page = store
                .cases(&CaseQuery {
                    limit: 500,
                    offset: out.len() as u32,
                    ..Default::default()
                })
                .await
                .unwrap();
            if page.is_empty() {
                return out;
            }
            out.extend(page);
        }
    }

    #[test]
    fn the_generator_is_deterministic_and_spread() {
        let draw = |seed| {
            let mut rng = Rng::new(seed);
            (0..5).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let mut rng = Rng::new(1);
        let mut counts = [0usize; 3];
        for _ in 0..3000 {
            counts[rng.weighted(&[1, 2, 0])] += 1;
            let x = rng.unit();
            assert!((0.0..1.0).contains(&x));
        }
        assert_eq!(counts[2], 0);
        assert!(counts[1] > counts[0] * 3 / 2, "{counts:?}");
    }

    #[test]
    fn every_category_is_a_case_category() {
        for matter in MATTERS.iter().chain(HOTLINE_MATTERS) {
            CategoryCode::parse_case_category(matter.code).unwrap();
            assert!(!matter.texts.is_empty());
        }
        for code in SENSOR_CODES.iter().chain(VIDEO_CODES) {
            assert!(matter_by_code(code).is_some(), "{code}");
        }
    }

    #[tokio::test]
    async fn seeding_fills_every_state_in_the_two_districts_deterministically() {
        let (_directory, cases, index) = fresh().await;
        // The demo's own citizen is reused; the missing demo staff are made.
        let demo_citizen = cases
            .store()
            .create_user(
                NewUser::new(
                    "demo-citizen",
                    "市民（演示）",
                    Role::Citizen,
                    None,
                    vec![],
                    None,
                )
                .unwrap(),
                "!".into(),
                cityloop_store::no_audit_for(),
            )
            .await
            .unwrap();
        let actors = SyntheticActors::ensure(cases.store()).await.unwrap();
        assert_eq!(actors.citizen.id, demo_citizen.id);
        assert_eq!(actors.operator.username, "synthetic-operator");
        assert_eq!(actors.units.len(), DEMO_DEPARTMENTS.len());
        // Idempotent: the same users again.
        let again = SyntheticActors::ensure(cases.store()).await.unwrap();
        assert_eq!(again.operator.id, actors.operator.id);
        assert_eq!(
            again.units[&DepartmentId::parse("310107-cgzf").unwrap()]
                .handler
                .id,
            actors.units[&DepartmentId::parse("310107-cgzf").unwrap()]
                .handler
                .id
        );

        let started = std::time::Instant::now();
        let report = seed_cases(&cases, &index, &actors, 300, 10, end(), 42)
            .await
            .unwrap();
        eprintln!("seeded in {:?}: {report:?}", started.elapsed());
        assert_eq!(report.created, 300);
        assert!(report.by_status.len() >= 10, "{:?}", report.by_status);
        for status in ["closed", "handling", "dispatched"] {
            assert!(
                report.by_status.contains_key(status),
                "{status}: {report:?}"
            );
        }
        for light in ["green", "red"] {
            assert!(report.by_light.contains_key(light), "{light}: {report:?}");
        }

        let rows = all_cases(cases.store()).await;
        assert_eq!(rows.len(), 300);
        for row in &rows {
            assert!(row.description.starts_with(LABEL), "{}", row.description);
            let codes: Vec<&str> = row.area_path.iter().map(|a| a.as_str()).collect();
            assert!(
                codes.contains(&"310101") || codes.contains(&"310107"),
                "case {} lies in {codes:?}",
                row.id
            );
            assert!(row.created_at <= end() && row.updated_at <= end());
            assert!(row.created_at >= end() - Duration::days(10));
        }
        // The histories take the detours of a real loop, and the clocks ran.
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        let mut overdue = 0;
        for row in &rows {
            for event in cases.store().case_events(row.id).await.unwrap() {
                if event.kind == "closed" && event.payload.contains("\"overdue\"") {
                    overdue += 1;
                }
                *kinds.entry(event.kind).or_default() += 1;
            }
            if row.status == "merged" {
                let parent = rows.iter().find(|p| Some(p.id) == row.parent).unwrap();
                assert_eq!(parent.category, row.category);
            }
        }
        for kind in [
            "self_handled",
            "sub_dispatched",
            "returned",
            "arbitrated",
            "extension_requested",
            "hung",
            "sla_warned",
            "sla_breached",
        ] {
            assert!(kinds.contains_key(kind), "{kind}: {kinds:?}");
        }
        assert!(overdue > 0, "some case closes overdue (超期结案)");

        // Same seed, fresh store: the same city.
        let (_other_directory, other, other_index) = fresh().await;
        let other_actors = SyntheticActors::ensure(other.store()).await.unwrap();
        let repeat = seed_cases(&other, &other_index, &other_actors, 300, 10, end(), 42)
            .await
            .unwrap();
        assert_eq!(repeat.by_status, report.by_status);
        assert_eq!(repeat.by_light, report.by_light);
    }

    struct Fixed(DateTime<Utc>);

    impl Clock for Fixed {
        fn now(&self) -> DateTime<Utc> {
            self.0
        }
    }

    #[tokio::test]
    async fn the_live_stream_adds_cases_and_stops_promptly() {
        let (_directory, cases, _) = fresh().await;
        let state = AppState::new(
            Arc::new(cases),
            cityloop_transparency::Keys::generate("cityloop.test/log"),
            Arc::new(Fixed(end())),
            ApiLimits::default(),
        );
        state.reload_index().await.unwrap();
        let actors = SyntheticActors::ensure(state.store()).await.unwrap();
        let mut changes = state.subscribe_case_changes();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(live_stream(
            state.clone(),
            actors,
            std::time::Duration::from_millis(20),
            stopped,
            9,
        ));
        let first = tokio::time::timeout(std::time::Duration::from_secs(10), changes.recv())
            .await
            .expect("a change within 10 s")
            .unwrap();
        assert!(first > 0);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        stop.send(true).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), task)
            .await
            .expect("stops promptly")
            .unwrap();
        let rows = all_cases(state.store()).await;
        assert!(rows.len() >= 2, "{}", rows.len());
        assert!(rows.iter().all(|row| row.description.starts_with(LABEL)));
    }
}
