//! `cityloop demo`: the real Shanghai model with demo departments and one
//! demo user per role, served on the embedded store.
//!
//! The demo users' passwords are generated when a data directory is first
//! used and kept in its `demo-credentials.json`; every start issues fresh
//! tokens and rewrites the file.

use anyhow::Context;
use chrono::{Duration, Utc};
use cityloop_api::AppState;
use cityloop_domain::{AreaCode, DepartmentId, NewUser, Role};
use cityloop_store::Store;
use serde_json::{Map, Value, json};
use std::path::Path;

pub const CREDENTIALS_FILE: &str = "demo-credentials.json";
/// Demo tokens live as long as a working week.
const DEMO_TOKEN_TTL_DAYS: i64 = 7;

struct DemoUser {
    role: Role,
    username: &'static str,
    display_name: &'static str,
    department: Option<&'static str>,
    areas: &'static [&'static str],
    phone: Option<&'static str>,
}

/// One user per role, plus a handler of another district's department so
/// that scope can be tried out. Names and numbers are synthetic.
const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        role: Role::Operator,
        username: "demo-operator",
        display_name: "城运中心调度员（演示）",
        department: Some("city-ops"),
        areas: &["310101", "310107"],
        phone: None,
    },
    DemoUser {
        role: Role::Handler,
        username: "demo-handler",
        display_name: "普陀区城管执法局处置员（演示）",
        department: Some("310107-cgzf"),
        areas: &[],
        phone: Some("13900000002"),
    },
    DemoUser {
        role: Role::DeptLead,
        username: "demo-lead",
        display_name: "普陀区城管执法局负责人（演示）",
        department: Some("310107-cgzf"),
        areas: &[],
        phone: Some("13900000003"),
    },
    DemoUser {
        role: Role::Supervisor,
        username: "demo-supervisor",
        display_name: "督办员（演示）",
        department: None,
        areas: &["310101", "310107"],
        phone: None,
    },
    DemoUser {
        role: Role::Auditor,
        username: "demo-auditor",
        display_name: "审计员（演示）",
        department: None,
        areas: &[],
        phone: None,
    },
    DemoUser {
        role: Role::Admin,
        username: "demo-admin",
        display_name: "系统管理员（演示）",
        department: None,
        areas: &[],
        phone: None,
    },
    DemoUser {
        role: Role::Citizen,
        username: "demo-citizen",
        display_name: "市民（演示）",
        department: None,
        areas: &[],
        phone: Some("13900000001"),
    },
];

/// Users beyond one per role, by their key in the credentials file: a
/// handler of another district's department (so that scope can be tried
/// out) and the leads of the two departments whose registers the data hub
/// demo shares.
const EXTRA_USERS: &[(&str, DemoUser)] = &[
    (
        "handler_huangpu",
        DemoUser {
            role: Role::Handler,
            username: "demo-handler-huangpu",
            display_name: "黄浦区城管执法局处置员（演示）",
            department: Some("310101-cgzf"),
            areas: &[],
            phone: Some("13900000004"),
        },
    ),
    (
        "police_lead",
        DemoUser {
            role: Role::DeptLead,
            username: "demo-police-lead",
            display_name: "普陀公安分局数据负责人（演示）",
            department: Some("310107-ga"),
            areas: &[],
            phone: Some("13900000005"),
        },
    ),
    (
        "civil_lead",
        DemoUser {
            role: Role::DeptLead,
            username: "demo-civil-lead",
            display_name: "普陀区民政局负责人（演示）",
            department: Some("310107-mz"),
            areas: &[],
            phone: Some("13900000006"),
        },
    ),
];

fn random_password() -> String {
    // 18 random bytes → 24 characters of base64url.
    cityloop_api::auth::new_token()
        .trim_start_matches("cl_")
        .chars()
        .take(24)
        .collect()
}

/// Creates the demo users that do not exist yet and writes the credentials
/// file with a fresh token per role.
pub async fn ensure_users_and_credentials(
    state: &AppState,
    data_dir: &Path,
    base_url: &str,
) -> anyhow::Result<std::path::PathBuf> {
    let path = data_dir.join(CREDENTIALS_FILE);
    let previous: Map<String, Value> = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_default(),
        Err(_) => Map::new(),
    };
    let previous_logins = previous
        .get("logins")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();

    let store: &dyn Store = state.store();
    let mut credentials = Map::new();
    let mut logins = Map::new();
    let all_users = DEMO_USERS
        .iter()
        .map(|demo| (demo.role.as_str(), demo))
        .chain(EXTRA_USERS.iter().map(|(key, demo)| (*key, demo)));
    for (key, demo) in all_users {
        let key = key.to_owned();
        let known_password = previous_logins
            .get(&key)
            .and_then(|login| login.get("password"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let user = match store.user_credentials(demo.username).await? {
            Some((user, _)) => user,
            None => {
                let password = random_password();
                let new_user = NewUser::new(
                    demo.username,
                    demo.display_name,
                    demo.role,
                    demo.department.map(DepartmentId::parse).transpose()?,
                    demo.areas
                        .iter()
                        .map(|code| AreaCode::parse(code))
                        .collect::<Result<_, _>>()?,
                    demo.phone,
                )?;
                let hash = cityloop_api::auth::hash_password(&password)
                    .map_err(|problem| anyhow::anyhow!(problem.detail))?;
                let user = store
                    .create_user(new_user, hash, cityloop_store::no_audit_for())
                    .await?;
                logins.insert(
                    key.clone(),
                    json!({"username": demo.username, "password": password}),
                );
                user
            }
        };
        if !logins.contains_key(&key) {
            logins.insert(
                key.clone(),
                json!({"username": demo.username, "password": known_password}),
            );
        }
        let expires_at = Utc::now() + Duration::days(DEMO_TOKEN_TTL_DAYS);
        let token = cityloop_api::auth::issue_token(state, &user, "demo", Some(expires_at))
            .await
            .map_err(|problem| anyhow::anyhow!(problem.detail))?;
        credentials.insert(key, Value::String(token));
    }
    credentials.insert("logins".into(), Value::Object(logins));
    // An Open311 client key: kept across restarts of the same data directory.
    let open311_key = match previous.get("open311_api_key").and_then(Value::as_str) {
        Some(key)
            if store
                .api_key(&cityloop_transparency::sha256_hex(key.as_bytes()))
                .await?
                .is_some() =>
        {
            key.to_owned()
        }
        _ => cityloop_api::open311::issue_api_key(store, "demo-open311-client", Utc::now())
            .await
            .map_err(|problem| anyhow::anyhow!(problem.detail))?,
    };
    credentials.insert("open311_api_key".into(), Value::String(open311_key));
    credentials.insert("base_url".into(), Value::String(base_url.to_owned()));
    credentials.insert(
        "note".into(),
        Value::String(
            "cityloop demo: synthetic users (演示). Send a token as Authorization: Bearer <token>."
                .into(),
        ),
    );
    let text = serde_json::to_string_pretty(&Value::Object(credentials))?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The demo's tagged areas (synthetic, `data/demo/area-tags.geojson`) for
/// the emergency-response topic, unless areas are tagged already.
pub async fn ensure_area_tags(state: &AppState) -> anyhow::Result<()> {
    use cityloop_api::dashboard::{AREA_TAGS_SETTING, check_area_tags};
    let store: &dyn Store = state.store();
    if store.setting(AREA_TAGS_SETTING).await?.is_some() {
        return Ok(());
    }
    let tags: Value = serde_json::from_str(include_str!("../../../data/demo/area-tags.geojson"))?;
    let tags = check_area_tags(tags).map_err(|p| anyhow::anyhow!("{:?}: {}", p.field, p.detail))?;
    let text = tags.to_string();
    let leaf = cityloop_transparency::Leaf::new(
        chrono::Utc::now(),
        cityloop_transparency::Record::Config {
            by: cityloop_transparency::Actor {
                role: Some("system".into()),
                ..Default::default()
            },
            setting: AREA_TAGS_SETTING.into(),
            change: "demo: synthetic tagged areas".into(),
            sha256: cityloop_transparency::keys::sha256_hex(text.as_bytes()),
        },
    );
    store
        .put_setting(AREA_TAGS_SETTING, &text, vec![leaf.input()])
        .await?;
    Ok(())
}
