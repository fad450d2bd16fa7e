//! The conformance suite: the contract of [`Store`], run by every backend on
//! a fresh database per test.
//!
//! A backend's test file calls [`conformance_suite!`](crate::conformance_suite)
//! with an async factory returning `Option<Box<dyn Store>>`; `None` means the
//! backend is not available here and the factory has printed why (CI makes
//! that an error, see `.ci/run`).

use crate::*;
use chrono::{Duration, TimeZone};

use cityloop_domain::{CategorySelector, DepartmentKind, Role};

/// Expands to one `#[tokio::test]` per conformance test.
#[macro_export]
macro_rules! conformance_suite {
    ($factory:path) => {
        $crate::conformance_suite!(@tests $factory;
            migrate_is_idempotent,
            areas_round_trip_with_paths,
            area_batch_with_unknown_parent_changes_nothing,
            area_upsert_counts_inserts_and_updates,
            area_queries_filter_and_page,
            shapes_are_set_replaced_and_listed,
            shape_batch_with_unknown_area_changes_nothing,
            departments_round_trip_with_coverage,
            department_with_unknown_area_is_refused,
            components_and_matters_share_codes,
            responsibilities_upsert_query_and_delete,
            responsibility_with_unknown_department_changes_nothing,
            users_and_credentials,
            tokens_expire_and_revoke,
            settings_round_trip,
            cases_insert_query_and_history,
            case_append_checks_the_version_and_changes_nothing_on_conflict,
            case_history_is_append_only,
            timers_are_claimed_once_and_fire_once,
            lapsed_timer_claims_are_reclaimed,
            case_ids_come_in_blocks_and_never_repeat,
            log_leaves_are_sequenced_into_tiles_and_checkpoints,
            log_leaves_of_a_refused_write_are_not_queued,
            a_failing_sequencer_writes_nothing,
            concurrent_sequencers_sequence_each_leaf_once,
            grants_change_and_revocation_stops_log_in_and_tokens_at_once,
            reports_keep_attributes_photos_and_tokens,
            a_report_with_a_taken_token_writes_nothing,
            photos_of_unknown_cases_are_refused,
            api_keys_are_stored_hashed_once,
            case_queries_filter_by_channel_update_and_closing,
            observations_are_stored_once_per_phenomenon_time,
            alarms_go_from_raised_to_cleared_once,
            a_batch_of_alarm_changes_is_recorded_in_order,
            observations_are_downsampled_and_expire,
            observations_are_scanned_updated_and_deleted_by_id,
            a_datastream_with_alarms_is_not_deleted,
            alarm_case_work_is_queued_until_finished,
            vital_samples_are_kept_by_area_indicator_and_time,
            case_points_are_the_compact_view_of_a_case_query,
            sensorthings_documents_are_saved_and_deleted_together,
            data_hub_imports_resume_quarantine_share_and_record
        );
    };
    (@tests $factory:path; $($name:ident),*) => {
        $(
            #[tokio::test]
            async fn $name() {
                let Some(store) = $factory().await else { return };
                $crate::conformance::$name(store.as_ref()).await;
            }
        )*
    };
}

fn code(text: &str) -> AreaCode {
    AreaCode::parse(text).unwrap()
}

fn area(code_text: &str, name: &str, level: AreaLevel, parent: Option<&str>) -> Area {
    Area::new(code(code_text), name, level, parent.map(code)).unwrap()
}

/// A small real slice of Shanghai: the city, two districts, a street and
/// two of its communities.
fn sample_areas() -> Vec<Area> {
    vec![
        area("310000", "上海市", AreaLevel::City, None),
        area("310101", "黄浦区", AreaLevel::District, Some("310000")),
        area("310107", "普陀区", AreaLevel::District, Some("310000")),
        area("310107015", "长寿路街道", AreaLevel::Street, Some("310107")),
        area(
            "310107015001",
            "绿洲城市花园居委会",
            AreaLevel::Community,
            Some("310107015"),
        ),
        area(
            "310107015003",
            "澳门路居委会",
            AreaLevel::Community,
            Some("310107015"),
        ),
    ]
}

fn department(id: &str, name: &str, areas: &[&str]) -> Department {
    Department::new(
        DepartmentId::parse(id).unwrap(),
        name,
        DepartmentKind::Enforcement,
        areas.iter().map(|a| code(a)).collect(),
        Some("021-12345"),
    )
    .unwrap()
}

fn matter(code_text: &str, name: &str) -> Category {
    Category::new(
        CategoryKind::Matter,
        code_text,
        &code_text[..2],
        "市容环境类",
        name,
        cityloop_domain::GBT_47678_5,
    )
    .unwrap()
}

fn duty(selector: &str, area_code: &str, department_id: &str) -> Responsibility {
    Responsibility {
        category: CategorySelector::parse(selector).unwrap(),
        area: code(area_code),
        department: DepartmentId::parse(department_id).unwrap(),
        basis: Some("权责清单 第1项".into()),
    }
}

async fn seeded(store: &dyn Store) {
    store.migrate().await.unwrap();
    store.upsert_areas(sample_areas()).await.unwrap();
}

pub async fn migrate_is_idempotent(store: &dyn Store) {
    assert_eq!(store.schema_version().await.unwrap(), 0);
    let applied = store.migrate().await.unwrap();
    assert!(!applied.is_empty(), "a fresh database gets migrations");
    let version = store.schema_version().await.unwrap();
    assert_eq!(version, *applied.last().unwrap());
    assert!(store.migrate().await.unwrap().is_empty());
    assert_eq!(store.schema_version().await.unwrap(), version);
}

pub async fn areas_round_trip_with_paths(store: &dyn Store) {
    seeded(store).await;
    let street = store.area(&code("310107015")).await.unwrap().unwrap();
    assert_eq!(street.area.name, "长寿路街道");
    assert_eq!(street.area.level, AreaLevel::Street);
    assert_eq!(street.area.parent, Some(code("310107")));
    assert_eq!(street.children, 2);
    assert!(!street.has_shape);
    assert!(store.area(&code("310104")).await.unwrap().is_none());

    let path = store.area_path(&code("310107015003")).await.unwrap();
    let names: Vec<_> = path.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["上海市", "普陀区", "长寿路街道", "澳门路居委会"]);
    assert!(store.area_path(&code("310104")).await.unwrap().is_empty());
}

pub async fn area_batch_with_unknown_parent_changes_nothing(store: &dyn Store) {
    store.migrate().await.unwrap();
    let batch = vec![
        area("310000", "上海市", AreaLevel::City, None),
        area("310107", "普陀区", AreaLevel::District, Some("310000")),
        area("310104015", "某街道", AreaLevel::Street, Some("310104")),
    ];
    match store.upsert_areas(batch).await {
        Err(StoreError::Invalid { index, field, .. }) => {
            assert_eq!(index, 2);
            assert_eq!(field, "parent_code");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(store.count_areas(&AreaQuery::default()).await.unwrap(), 0);
}

pub async fn area_upsert_counts_inserts_and_updates(store: &dyn Store) {
    seeded(store).await;
    let summary = store
        .upsert_areas(vec![
            area(
                "310107",
                "普陀区（新名）",
                AreaLevel::District,
                Some("310000"),
            ),
            area("310104", "徐汇区", AreaLevel::District, Some("310000")),
        ])
        .await
        .unwrap();
    assert_eq!(
        summary,
        WriteSummary {
            inserted: 1,
            updated: 1
        }
    );
    let renamed = store.area(&code("310107")).await.unwrap().unwrap();
    assert_eq!(renamed.area.name, "普陀区（新名）");
    assert_eq!(renamed.children, 1, "children survive a rename");
}

pub async fn area_queries_filter_and_page(store: &dyn Store) {
    seeded(store).await;
    let districts = AreaQuery {
        level: Some(AreaLevel::District),
        ..AreaQuery::default()
    };
    let found = store.areas(&districts).await.unwrap();
    let codes: Vec<_> = found.iter().map(|r| r.area.code.as_str()).collect();
    assert_eq!(codes, ["310101", "310107"], "ordered by code");
    assert_eq!(store.count_areas(&districts).await.unwrap(), 2);

    let children = AreaQuery {
        parent: Some(code("310107015")),
        limit: 1,
        offset: 1,
        ..AreaQuery::default()
    };
    let page = store.areas(&children).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].area.code.as_str(), "310107015003");
    assert_eq!(
        store.count_areas(&children).await.unwrap(),
        2,
        "count ignores paging"
    );

    let by_name = AreaQuery {
        name_contains: Some("长寿".into()),
        ..AreaQuery::default()
    };
    let found = store.areas(&by_name).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].area.code.as_str(), "310107015");
}

const SQUARE: &str = r#"{"type":"Polygon","coordinates":[[[121.4,31.2],[121.5,31.2],[121.5,31.3],[121.4,31.3],[121.4,31.2]]]}"#;

pub async fn shapes_are_set_replaced_and_listed(store: &dyn Store) {
    seeded(store).await;
    let written = store
        .set_area_shapes(vec![(code("310107"), SQUARE.into())])
        .await
        .unwrap();
    assert_eq!(written, 1);
    assert!(
        store
            .area(&code("310107"))
            .await
            .unwrap()
            .unwrap()
            .has_shape
    );
    let replacement = SQUARE.replace("121.5", "121.6");
    store
        .set_area_shapes(vec![(code("310107"), replacement.clone())])
        .await
        .unwrap();
    assert_eq!(
        store.area_shape(&code("310107")).await.unwrap().as_deref(),
        Some(replacement.as_str())
    );
    let shapes = store.area_shapes().await.unwrap();
    assert_eq!(shapes.len(), 1);
    assert_eq!(shapes[0].code.as_str(), "310107");
    assert_eq!(shapes[0].level, AreaLevel::District);
    assert_eq!(store.area_shape(&code("310101")).await.unwrap(), None);
}

pub async fn shape_batch_with_unknown_area_changes_nothing(store: &dyn Store) {
    seeded(store).await;
    let result = store
        .set_area_shapes(vec![
            (code("310107"), SQUARE.into()),
            (code("310104"), SQUARE.into()),
        ])
        .await;
    match result {
        Err(StoreError::Invalid { index, field, .. }) => {
            assert_eq!(index, 1);
            assert_eq!(field, "code");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(store.area_shapes().await.unwrap().is_empty());
}

pub async fn departments_round_trip_with_coverage(store: &dyn Store) {
    seeded(store).await;
    let putuo = department("310107-cgzf", "普陀区城管执法局", &["310107"]);
    let street = department("310107015-jd", "长寿路街道办事处", &["310107015"]);
    let summary = store
        .upsert_departments(vec![putuo.clone(), street.clone()], Vec::new())
        .await
        .unwrap();
    assert_eq!(summary.inserted, 2);
    assert_eq!(
        store.department(&putuo.id).await.unwrap().as_ref(),
        Some(&putuo)
    );
    let covering = store.departments(Some(&code("310107015"))).await.unwrap();
    assert_eq!(covering, vec![street.clone()]);

    // Coverage is replaced, not merged, on update.
    let moved = department("310107015-jd", "长寿路街道办事处", &["310107", "310107015"]);
    let summary = store
        .upsert_departments(vec![moved.clone()], Vec::new())
        .await
        .unwrap();
    assert_eq!(summary.updated, 1);
    assert_eq!(store.department(&moved.id).await.unwrap(), Some(moved));
    assert_eq!(store.departments(None).await.unwrap().len(), 2);
}

pub async fn department_with_unknown_area_is_refused(store: &dyn Store) {
    seeded(store).await;
    let result = store
        .upsert_departments(
            vec![
                department("310107-cgzf", "普陀区城管执法局", &["310107"]),
                department("310104-cgzf", "徐汇区城管执法局", &["310104"]),
            ],
            Vec::new(),
        )
        .await;
    assert!(
        matches!(
            result,
            Err(StoreError::Invalid {
                index: 1,
                field: "areas",
                ..
            })
        ),
        "{result:?}"
    );
    assert!(store.departments(None).await.unwrap().is_empty());
}

pub async fn components_and_matters_share_codes(store: &dyn Store) {
    store.migrate().await.unwrap();
    let component = Category::new(
        CategoryKind::Component,
        "01001",
        "01",
        "市政公用设施",
        "供水井盖",
        cityloop_domain::GBT_47678_5,
    )
    .unwrap();
    let matter_row = Category::new(
        CategoryKind::Matter,
        "01001",
        "01",
        "市政公用设施类",
        "供水井盖异常",
        cityloop_domain::GBT_47678_5,
    )
    .unwrap();
    let garbage = matter("06010", "暴露垃圾");
    let summary = store
        .upsert_categories(vec![component.clone(), matter_row.clone(), garbage.clone()])
        .await
        .unwrap();
    assert_eq!(summary.inserted, 3);
    assert_eq!(
        store
            .category(CategoryKind::Component, "01001")
            .await
            .unwrap(),
        Some(component)
    );
    assert_eq!(
        store.category(CategoryKind::Matter, "01001").await.unwrap(),
        Some(matter_row)
    );
    let matters = CategoryQuery {
        kind: Some(CategoryKind::Matter),
        ..CategoryQuery::default()
    };
    assert_eq!(store.count_categories(&matters).await.unwrap(), 2);
    let by_class = CategoryQuery {
        class_code: Some("06".into()),
        ..CategoryQuery::default()
    };
    assert_eq!(store.categories(&by_class).await.unwrap(), vec![garbage]);
    let by_name = CategoryQuery {
        name_contains: Some("井盖".into()),
        ..CategoryQuery::default()
    };
    assert_eq!(store.count_categories(&by_name).await.unwrap(), 2);
}

pub async fn responsibilities_upsert_query_and_delete(store: &dyn Store) {
    seeded(store).await;
    store
        .upsert_departments(
            vec![
                department("310107-cgzf", "普陀区城管执法局", &["310107"]),
                department("310107-lhsr", "普陀区绿化市容局", &["310107"]),
                department("310107015-jd", "长寿路街道办事处", &["310107015"]),
            ],
            Vec::new(),
        )
        .await
        .unwrap();
    store
        .upsert_categories(vec![matter("06010", "暴露垃圾")])
        .await
        .unwrap();
    let summary = store
        .upsert_responsibilities(
            vec![
                duty("class:06", "310107", "310107-cgzf"),
                duty("06010", "310107015", "310107015-jd"),
            ],
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(summary.inserted, 2);
    // Replacing the department of an existing (selector, area) row.
    let summary = store
        .upsert_responsibilities(vec![duty("class:06", "310107", "310107-lhsr")], Vec::new())
        .await
        .unwrap();
    assert_eq!(summary.updated, 1);

    let at_path = store
        .responsibilities_at(&[code("310000"), code("310107"), code("310107015")])
        .await
        .unwrap();
    assert_eq!(at_path.len(), 2);
    let garbage = cityloop_domain::CategoryCode::parse(CategoryKind::Matter, "06010").unwrap();
    let path = [code("310000"), code("310107"), code("310107015")];
    let chosen = cityloop_domain::resolve_responsibility(&garbage, &path, &at_path).unwrap();
    assert_eq!(chosen.department.as_str(), "310107015-jd");
    assert_eq!(chosen.basis.as_deref(), Some("权责清单 第1项"));

    let of_department = store
        .responsibilities(&ResponsibilityQuery {
            department: Some(DepartmentId::parse("310107-lhsr").unwrap()),
            ..ResponsibilityQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(of_department.len(), 1);
    assert_eq!(of_department[0].category.to_string(), "class:06");

    store
        .delete_responsibility("06010", &code("310107015"), Vec::new())
        .await
        .unwrap();
    assert!(matches!(
        store
            .delete_responsibility("06010", &code("310107015"), Vec::new())
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store
            .responsibilities(&ResponsibilityQuery::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn responsibility_with_unknown_department_changes_nothing(store: &dyn Store) {
    seeded(store).await;
    store
        .upsert_departments(
            vec![department("310107-cgzf", "普陀区城管执法局", &["310107"])],
            Vec::new(),
        )
        .await
        .unwrap();
    let result = store
        .upsert_responsibilities(
            vec![
                duty("class:06", "310107", "310107-cgzf"),
                duty("class:03", "310107", "nobody-here"),
            ],
            Vec::new(),
        )
        .await;
    assert!(
        matches!(
            result,
            Err(StoreError::Invalid {
                index: 1,
                field: "department",
                ..
            })
        ),
        "{result:?}"
    );
    let result = store
        .upsert_responsibilities(vec![duty("class:06", "310104", "310107-cgzf")], Vec::new())
        .await;
    assert!(
        matches!(
            result,
            Err(StoreError::Invalid {
                index: 0,
                field: "area",
                ..
            })
        ),
        "{result:?}"
    );
    assert!(
        store
            .responsibilities(&ResponsibilityQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
}

fn new_user(username: &str, role: Role, department: Option<&str>, areas: &[&str]) -> NewUser {
    NewUser::new(
        username,
        "测试用户",
        role,
        department.map(|d| DepartmentId::parse(d).unwrap()),
        areas.iter().map(|a| code(a)).collect(),
        Some("13812341234"),
    )
    .unwrap()
}

pub async fn users_and_credentials(store: &dyn Store) {
    seeded(store).await;
    store
        .upsert_departments(
            vec![department("310107-cgzf", "普陀区城管执法局", &["310107"])],
            Vec::new(),
        )
        .await
        .unwrap();
    let handler = store
        .create_user(
            new_user("handler1", Role::Handler, Some("310107-cgzf"), &[]),
            "hash-1".into(),
            crate::no_audit_for(),
        )
        .await
        .unwrap();
    let operator = store
        .create_user(
            new_user("operator1", Role::Operator, None, &["310101", "310107"]),
            "hash-2".into(),
            crate::no_audit_for(),
        )
        .await
        .unwrap();
    assert_ne!(handler.id, operator.id);
    assert_eq!(operator.areas, vec![code("310101"), code("310107")]);
    assert_eq!(store.user(handler.id).await.unwrap(), Some(handler.clone()));

    let duplicate = store
        .create_user(
            new_user("handler1", Role::Citizen, None, &[]),
            "x".into(),
            crate::no_audit_for(),
        )
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict { .. })),
        "{duplicate:?}"
    );

    let unknown_department = store
        .create_user(
            new_user("handler2", Role::Handler, Some("310101-cgzf"), &[]),
            "x".into(),
            crate::no_audit_for(),
        )
        .await;
    assert!(
        matches!(
            unknown_department,
            Err(StoreError::Invalid {
                field: "department",
                ..
            })
        ),
        "{unknown_department:?}"
    );

    let (found, hash) = store.user_credentials("handler1").await.unwrap().unwrap();
    assert_eq!(found, handler);
    assert_eq!(hash, "hash-1");
    assert!(store.user_credentials("nobody").await.unwrap().is_none());

    let members = store
        .users(Some(&DepartmentId::parse("310107-cgzf").unwrap()))
        .await
        .unwrap();
    assert_eq!(members, vec![handler]);
    assert_eq!(store.users(None).await.unwrap().len(), 2);
}

pub async fn tokens_expire_and_revoke(store: &dyn Store) {
    store.migrate().await.unwrap();
    let user = store
        .create_user(
            new_user("citizen1", Role::Citizen, None, &[]),
            "h".into(),
            crate::no_audit_for(),
        )
        .await
        .unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap();
    for (secret, expires_at) in [("a", None), ("b", Some(now + Duration::hours(1)))] {
        store
            .create_token(
                TokenRecord {
                    token_sha256: secret.into(),
                    user: user.id,
                    label: "test".into(),
                    created_at: now,
                    expires_at,
                },
                Vec::new(),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        store.user_by_token("a", now).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        store.user_by_token("b", now).await.unwrap(),
        Some(user.clone())
    );
    let later = now + Duration::hours(2);
    assert_eq!(
        store.user_by_token("b", later).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(store.user_by_token("zzz", now).await.unwrap(), None);
    // One token out: the other still works.
    assert!(store.revoke_token("b").await.unwrap());
    assert!(!store.revoke_token("b").await.unwrap(), "once");
    assert_eq!(store.user_by_token("b", now).await.unwrap(), None);
    assert_eq!(
        store.user_by_token("a", now).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(store.revoke_tokens(user.id).await.unwrap(), 1);
    assert_eq!(
        store.user_by_token("a", now).await.unwrap(),
        None,
        "revoked"
    );
    assert_eq!(store.revoke_tokens(user.id).await.unwrap(), 0);
}

pub async fn settings_round_trip(store: &dyn Store) {
    store.migrate().await.unwrap();
    assert_eq!(store.setting("instance_id").await.unwrap(), None);
    store
        .put_setting("instance_id", "one", Vec::new())
        .await
        .unwrap();
    store
        .put_setting("instance_id", "two", Vec::new())
        .await
        .unwrap();
    assert_eq!(
        store.setting("instance_id").await.unwrap().as_deref(),
        Some("two")
    );
}

fn case_row(id: i64, path: &[&str], lon: f64, at: DateTime<Utc>) -> CaseRow {
    CaseRow {
        id,
        channel: "citizen_web".into(),
        category: "06010".into(),
        urgency: "normal".into(),
        status: "reported".into(),
        open: true,
        lead_department: None,
        units: Vec::new(),
        area_path: path.iter().map(|c| code(c)).collect(),
        lon: Some(lon),
        lat: Some(31.247),
        address: Some("长寿路 1 号".into()),
        description: "暴露垃圾".into(),
        reporter: None,
        reporter_contact: Some("张三 13800000000".into()),
        parent: None,
        created_at: at,
        updated_at: at,
        version: 1,
        due_at: Some(at + Duration::hours(2)),
        warn_at: Some(at + Duration::minutes(96)),
        near_boundary: false,
        routed_department: Some(DepartmentId::parse("310107015-jd").unwrap()),
    }
}

fn event(case_id: i64, seq: u64, kind: &str, at: DateTime<Utc>) -> CaseEventRow {
    CaseEventRow {
        case_id,
        seq,
        at,
        kind: kind.into(),
        actor_user: None,
        actor_role: Some("operator".into()),
        actor_department: Some("city-ops".into()),
        payload: format!(r#"{{"kind":"{kind}"}}"#),
    }
}

fn timer(stage: &str, kind: &str, due_at: DateTime<Utc>) -> TimerSpec {
    TimerSpec {
        stage: stage.into(),
        kind: kind.into(),
        due_at,
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).unwrap()
}

async fn new_case(store: &dyn Store, path: &[&str], lon: f64, at: DateTime<Utc>) -> CaseRow {
    let id = store.allocate_case_id().await.unwrap();
    let row = case_row(id, path, lon, at);
    store
        .insert_case(
            row.clone(),
            vec![event(id, 1, "created", at)],
            vec![timer("acceptance", "breach", at + Duration::hours(2))],
            Attachments::default(),
            Vec::new(),
        )
        .await
        .unwrap();
    row
}

pub async fn cases_insert_query_and_history(store: &dyn Store) {
    seeded(store).await;
    let first = new_case(store, &["310000", "310107", "310107015"], 121.435, t0()).await;
    let second = new_case(
        store,
        &["310000", "310101"],
        121.480,
        t0() + Duration::minutes(5),
    )
    .await;
    assert_ne!(first.id, second.id);
    assert_eq!(store.case(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.case(999_999).await.unwrap(), None);

    let newest_first: Vec<i64> = store
        .cases(&CaseQuery::default())
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(newest_first, vec![second.id, first.id]);
    let in_putuo = CaseQuery {
        within: vec![code("310107")],
        ..CaseQuery::default()
    };
    assert_eq!(store.count_cases(&in_putuo).await.unwrap(), 1);
    let near = CaseQuery {
        bbox: Some([121.43, 31.24, 121.44, 31.25]),
        open_only: true,
        ..CaseQuery::default()
    };
    assert_eq!(store.cases(&near).await.unwrap()[0].id, first.id);
    let later = CaseQuery {
        created_from: Some(t0() + Duration::minutes(1)),
        ..CaseQuery::default()
    };
    assert_eq!(store.count_cases(&later).await.unwrap(), 1);

    // Dispatch the first case to two units.
    let mut dispatched = first.clone();
    dispatched.status = "dispatched".into();
    dispatched.lead_department = Some(DepartmentId::parse("310107-cgzf").unwrap());
    dispatched.units = vec![
        DepartmentId::parse("310107-cgzf").unwrap(),
        DepartmentId::parse("310107-lhsr").unwrap(),
    ];
    dispatched.version = 2;
    dispatched.updated_at = t0() + Duration::minutes(10);
    store
        .append_case_events(
            dispatched.clone(),
            1,
            vec![event(first.id, 2, "dispatched", dispatched.updated_at)],
            vec![timer("signing", "breach", t0() + Duration::hours(1))],
            None,
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(store.case(first.id).await.unwrap(), Some(dispatched));
    let of_unit = CaseQuery {
        unit: Some(DepartmentId::parse("310107-lhsr").unwrap()),
        ..CaseQuery::default()
    };
    assert_eq!(store.count_cases(&of_unit).await.unwrap(), 1);
    let kinds: Vec<String> = store
        .case_events(first.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["created", "dispatched"]);
    let timers = store.case_timers(first.id).await.unwrap();
    assert_eq!(timers.len(), 1, "unfired timers are replaced");
    assert_eq!(timers[0].stage, "signing");
    let window = store
        .events_between(t0(), t0() + Duration::minutes(6))
        .await
        .unwrap();
    assert_eq!(window.len(), 2, "two created events in the window");

    // What metrics read: stamps by creation, stamps by events of some
    // kinds, and whole histories in one call.
    let stamps = store
        .case_stamps_created(t0(), t0() + Duration::minutes(6))
        .await
        .unwrap();
    let ids: Vec<i64> = stamps.iter().map(|s| s.id).collect();
    let mut both = vec![first.id, second.id];
    both.sort();
    assert_eq!(ids, both);
    let first_stamp = stamps.iter().find(|s| s.id == first.id).unwrap();
    assert_eq!(first_stamp.version, 2, "the stamp carries the version");
    assert_eq!(first_stamp.area_path, first.area_path);
    let after = store
        .case_stamps_created(t0() + Duration::minutes(6), t0() + Duration::hours(1))
        .await
        .unwrap();
    assert!(after.is_empty(), "no case was created later: {after:?}");
    let dispatched_in = store
        .case_stamps_with_events(
            t0() + Duration::minutes(6),
            t0() + Duration::hours(1),
            &["dispatched", "rated"],
        )
        .await
        .unwrap();
    assert_eq!(
        dispatched_in.iter().map(|s| s.id).collect::<Vec<_>>(),
        [first.id]
    );
    let other_kinds = store
        .case_stamps_with_events(t0(), t0() + Duration::hours(1), &["rated"])
        .await
        .unwrap();
    assert!(other_kinds.is_empty());
    let histories = store
        .case_histories(&[second.id, first.id, 987_654])
        .await
        .unwrap();
    let order: Vec<(i64, u64)> = histories.iter().map(|e| (e.case_id, e.seq)).collect();
    let mut expected = vec![(first.id, 1), (first.id, 2), (second.id, 1)];
    expected.sort();
    assert_eq!(
        order, expected,
        "by case, then sequence; unknown ids add nothing"
    );
    let too_many: Vec<i64> = (0..=CASE_HISTORIES_IDS_MAX as i64).collect();
    assert!(matches!(
        store.case_histories(&too_many).await,
        Err(StoreError::Invalid { field: "ids", .. })
    ));
}

pub async fn case_append_checks_the_version_and_changes_nothing_on_conflict(store: &dyn Store) {
    seeded(store).await;
    let case = new_case(store, &["310000", "310107"], 121.435, t0()).await;
    let mut moved = case.clone();
    moved.status = "verified".into();
    moved.version = 2;
    store
        .append_case_events(
            moved.clone(),
            1,
            vec![event(case.id, 2, "verified", t0())],
            vec![],
            None,
            Vec::new(),
        )
        .await
        .unwrap();
    let mut stale = case.clone();
    stale.status = "declined".into();
    stale.version = 2;
    let result = store
        .append_case_events(
            stale,
            1,
            vec![event(case.id, 2, "declined", t0())],
            vec![],
            None,
            Vec::new(),
        )
        .await;
    assert!(
        matches!(result, Err(StoreError::Conflict { .. })),
        "{result:?}"
    );
    assert_eq!(
        store.case(case.id).await.unwrap().unwrap().status,
        "verified"
    );
    assert_eq!(store.case_events(case.id).await.unwrap().len(), 2);
}

pub async fn case_history_is_append_only(store: &dyn Store) {
    seeded(store).await;
    let case = new_case(store, &["310000", "310107"], 121.435, t0()).await;
    // Re-using a sequence number is refused: history is never rewritten.
    let mut next = case.clone();
    next.version = 2;
    let result = store
        .append_case_events(
            next,
            1,
            vec![event(case.id, 1, "forged", t0())],
            vec![],
            None,
            Vec::new(),
        )
        .await;
    assert!(result.is_err(), "{result:?}");
    let history = store.case_events(case.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].kind, "created");
    assert_eq!(store.case(case.id).await.unwrap().unwrap().version, 1);
}

pub async fn timers_are_claimed_once_and_fire_once(store: &dyn Store) {
    seeded(store).await;
    let case = new_case(store, &["310000", "310107"], 121.435, t0()).await;
    let due = t0() + Duration::hours(2);
    assert!(
        store
            .claim_due_timers(due - Duration::seconds(1), due, "w1", 10)
            .await
            .unwrap()
            .is_empty(),
        "not yet due"
    );
    let lease = due + Duration::minutes(1);
    let claimed = store.claim_due_timers(due, lease, "w1", 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        store
            .claim_due_timers(due, lease, "w2", 10)
            .await
            .unwrap()
            .is_empty(),
        "a live lease keeps others off"
    );
    let timer_id = claimed[0].id;
    let mut fired = case.clone();
    fired.version = 2;
    store
        .append_case_events(
            fired.clone(),
            1,
            vec![event(case.id, 2, "sla_breached", due)],
            vec![],
            Some(timer_id),
            Vec::new(),
        )
        .await
        .unwrap();
    let mut again = fired.clone();
    again.version = 3;
    let result = store
        .append_case_events(
            again,
            2,
            vec![event(case.id, 3, "sla_breached", due)],
            vec![],
            Some(timer_id),
            Vec::new(),
        )
        .await;
    assert!(
        matches!(result, Err(StoreError::Conflict { .. })),
        "{result:?}"
    );
    assert_eq!(store.fired_timer_count().await.unwrap(), 1);
    assert_eq!(store.case_events(case.id).await.unwrap().len(), 2);
    assert!(
        store
            .claim_due_timers(
                lease + Duration::hours(1),
                lease + Duration::hours(2),
                "w3",
                10
            )
            .await
            .unwrap()
            .is_empty(),
        "a fired timer is never claimed again"
    );
}

pub async fn lapsed_timer_claims_are_reclaimed(store: &dyn Store) {
    seeded(store).await;
    let case = new_case(store, &["310000", "310107"], 121.435, t0()).await;
    let due = t0() + Duration::hours(2);
    let claimed = store
        .claim_due_timers(due, due + Duration::seconds(30), "crashed-worker", 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    // The worker died; after its lease another worker gets the timer.
    let reclaimed = store
        .claim_due_timers(
            due + Duration::minutes(1),
            due + Duration::minutes(2),
            "w2",
            10,
        )
        .await
        .unwrap();
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].id, claimed[0].id);
    assert_eq!(reclaimed[0].case_id, case.id);
}

pub async fn case_ids_come_in_blocks_and_never_repeat(store: &dyn Store) {
    store.migrate().await.unwrap();
    let block = store.allocate_case_ids(5).await.unwrap();
    assert_eq!(block.len(), 5);
    assert!(block.windows(2).all(|w| w[0] < w[1]), "{block:?}");
    let single = store.allocate_case_id().await.unwrap();
    let next = store.allocate_case_ids(3).await.unwrap();
    let mut all: Vec<i64> = block
        .iter()
        .chain([&single])
        .chain(next.iter())
        .copied()
        .collect();
    assert!(single > *block.last().unwrap());
    assert!(next[0] > single);
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 9, "no id is handed out twice");
}

// --- transparency log ------------------------------------------------------------

fn leaf(subject: &str, text: &str) -> LeafInput {
    LeafInput {
        subject: Some(subject.to_owned()),
        data: text.as_bytes().to_vec(),
    }
}

/// A sequencer as the transparency crate builds one, with an unsigned
/// stand-in for the note: `size root-hex`.
fn test_sequencer() -> Sequencer {
    Box::new(|input: SequenceInput| {
        let mut appender = cityloop_tlog::Appender::new(input.size, input.edge)
            .map_err(|error| error.to_string())?;
        for data in &input.leaves {
            appender.push(cityloop_tlog::leaf_hash(data));
        }
        Ok(SequenceOutput {
            size: appender.size(),
            checkpoint: format!("{} {}", appender.size(), hex_of(&appender.root())),
            tiles: appender.take_dirty(),
        })
    })
}

fn hex_of(hash: &Hash) -> String {
    hash.iter().map(|byte| format!("{byte:02x}")).collect()
}

struct StoredTiles<'a>(&'a [(u8, u64, Vec<Hash>)]);

impl cityloop_tlog::TileReader for StoredTiles<'_> {
    fn read_tile(
        &self,
        level: u8,
        index: u64,
        width: u16,
    ) -> Result<Vec<Hash>, cityloop_tlog::Error> {
        self.0
            .iter()
            .find(|(l, i, hashes)| *l == level && *i == index && hashes.len() >= usize::from(width))
            .map(|(_, _, hashes)| hashes[..usize::from(width)].to_vec())
            .ok_or(cityloop_tlog::Error::MissingTile {
                level,
                index,
                width,
            })
    }
}

/// Reads every tile the tree of `size` can need (levels 0 and 1 suffice
/// below 65,536 leaves).
async fn stored_tiles(store: &dyn Store, size: u64) -> Vec<(u8, u64, Vec<Hash>)> {
    let mut tiles = Vec::new();
    for level in 0..2u8 {
        let per_tile = 256u64.pow(u32::from(level) + 1);
        for index in 0..size.div_ceil(per_tile) {
            if let Some(hashes) = store.tlog_tile(level, index).await.unwrap() {
                tiles.push((level, index, hashes));
            }
        }
    }
    tiles
}

pub async fn log_leaves_are_sequenced_into_tiles_and_checkpoints(store: &dyn Store) {
    store.migrate().await.unwrap();
    assert_eq!(
        store.sequence_leaves(100, test_sequencer()).await.unwrap(),
        None
    );
    assert_eq!(store.tlog_size().await.unwrap(), 0);
    let first: Vec<LeafInput> = (0..300)
        .map(|i| leaf("batch:1", &format!("leaf {i}")))
        .collect();
    store.append_leaves(first).await.unwrap();
    seeded(store).await;
    let at = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
    let case = case_row(
        store.allocate_case_id().await.unwrap(),
        &["310000", "310101"],
        121.48,
        at,
    );
    let subject = format!("case:{}", case.id);
    store
        .insert_case(
            case.clone(),
            vec![event(case.id, 1, "created", at)],
            Vec::new(),
            Attachments::default(),
            vec![leaf(&subject, "created")],
        )
        .await
        .unwrap();
    assert_eq!(store.tlog_queued().await.unwrap(), 301);

    // Two batches: 256 then 45, crossing a tile boundary between them.
    assert_eq!(
        store.sequence_leaves(256, test_sequencer()).await.unwrap(),
        Some(256)
    );
    assert_eq!(store.tlog_queued().await.unwrap(), 45);
    assert_eq!(
        store.sequence_leaves(1000, test_sequencer()).await.unwrap(),
        Some(301)
    );
    assert_eq!(store.tlog_size().await.unwrap(), 301);
    assert_eq!(store.tlog_queued().await.unwrap(), 0);

    let entries = store.tlog_entries(0, 1000).await.unwrap();
    assert_eq!(entries.len(), 301);
    assert_eq!(entries[0], b"leaf 0".to_vec());
    assert_eq!(entries[299], b"leaf 299".to_vec());
    assert_eq!(entries[300], b"created".to_vec());
    assert_eq!(store.tlog_entries(256, 256).await.unwrap().len(), 45);

    let hashes: Vec<Hash> = entries
        .iter()
        .map(|e| cityloop_tlog::leaf_hash(e))
        .collect();
    let root = cityloop_tlog::root_of(&hashes);
    let tiles = stored_tiles(store, 301).await;
    assert_eq!(tiles.len(), 3, "tile 0/0 full, 0/1 partial, 1/0 partial");
    let reader = StoredTiles(&tiles);
    assert_eq!(cityloop_tlog::tree_hash(301, &reader).unwrap(), root);
    let earlier = cityloop_tlog::root_of(&hashes[..256]);
    assert_eq!(cityloop_tlog::tree_hash(256, &reader).unwrap(), earlier);

    let checkpoints = store.tlog_checkpoints().await.unwrap();
    assert_eq!(
        checkpoints,
        vec![
            (256, format!("256 {}", hex_of(&earlier))),
            (301, format!("301 {}", hex_of(&root)))
        ]
    );
    assert_eq!(
        store.latest_checkpoint().await.unwrap(),
        checkpoints.last().cloned()
    );

    let about = store.tlog_leaves_about(&subject).await.unwrap();
    assert_eq!(about, vec![(Some(300), b"created".to_vec())]);
    let all = store.tlog_all_leaves().await.unwrap();
    assert_eq!(all.len(), 301);
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, (index, _))| *index == Some(i as u64))
    );
    assert_eq!(store.all_case_events().await.unwrap().len(), 1);
}

pub async fn log_leaves_of_a_refused_write_are_not_queued(store: &dyn Store) {
    store.migrate().await.unwrap();
    seeded(store).await;
    let at = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
    let case = new_case(store, &["310000", "310101"], 121.48, at).await;
    let queued = store.tlog_queued().await.unwrap();
    // A stale version: refused, so its leaf must not exist either.
    let refused = store
        .append_case_events(
            case.clone(),
            0,
            vec![event(case.id, 2, "accepted", at)],
            Vec::new(),
            None,
            vec![leaf("case:x", "accepted")],
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    let missing = store
        .delete_responsibility("X", &code("310101"), vec![leaf("config", "deleted")])
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
    assert_eq!(store.tlog_queued().await.unwrap(), queued);
    assert!(store.tlog_leaves_about("case:x").await.unwrap().is_empty());

    store
        .put_setting("sla_rules", "{}", vec![leaf("config", "sla rules")])
        .await
        .unwrap();
    assert_eq!(store.tlog_queued().await.unwrap(), queued + 1);
}

pub async fn a_failing_sequencer_writes_nothing(store: &dyn Store) {
    store.migrate().await.unwrap();
    store
        .append_leaves(vec![leaf("a", "one"), leaf("a", "two")])
        .await
        .unwrap();
    let failing: Sequencer = Box::new(|_| Err("the signing key is not the log's".into()));
    let error = store.sequence_leaves(10, failing).await.unwrap_err();
    assert!(error.to_string().contains("signing key"), "{error}");
    assert_eq!(store.tlog_size().await.unwrap(), 0);
    assert_eq!(store.tlog_queued().await.unwrap(), 2);
    assert_eq!(store.latest_checkpoint().await.unwrap(), None);
    let lying: Sequencer = Box::new(|input: SequenceInput| {
        Ok(SequenceOutput {
            tiles: Vec::new(),
            size: input.size + 5,
            checkpoint: "wrong".into(),
        })
    });
    assert!(store.sequence_leaves(10, lying).await.is_err());
    assert_eq!(store.tlog_size().await.unwrap(), 0);
    assert_eq!(
        store.sequence_leaves(10, test_sequencer()).await.unwrap(),
        Some(2)
    );
}

pub async fn concurrent_sequencers_sequence_each_leaf_once(store: &dyn Store) {
    store.migrate().await.unwrap();
    let writer = |w: u32| async move {
        for round in 0..10 {
            let batch = (0..10)
                .map(|i| leaf("w", &format!("w{w} r{round} i{i}")))
                .collect();
            store.append_leaves(batch).await.unwrap();
        }
    };
    let sequencer = || async move {
        for _ in 0..20 {
            store.sequence_leaves(37, test_sequencer()).await.unwrap();
        }
    };
    tokio::join!(
        writer(0),
        writer(1),
        writer(2),
        writer(3),
        sequencer(),
        sequencer(),
        sequencer()
    );
    while store
        .sequence_leaves(1000, test_sequencer())
        .await
        .unwrap()
        .is_some()
    {}
    assert_eq!(store.tlog_size().await.unwrap(), 400);
    let entries = store.tlog_entries(0, 1000).await.unwrap();
    let mut distinct = entries.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 400, "every leaf exactly once");
    let hashes: Vec<Hash> = entries
        .iter()
        .map(|e| cityloop_tlog::leaf_hash(e))
        .collect();
    let tiles = stored_tiles(store, 400).await;
    assert_eq!(
        cityloop_tlog::tree_hash(400, &StoredTiles(&tiles)).unwrap(),
        cityloop_tlog::root_of(&hashes)
    );
    // Every checkpoint describes a prefix of the final tree.
    for (size, note) in store.tlog_checkpoints().await.unwrap() {
        let prefix = cityloop_tlog::root_of(&hashes[..size as usize]);
        assert_eq!(note, format!("{size} {}", hex_of(&prefix)));
    }
}

pub async fn grants_change_and_revocation_stops_log_in_and_tokens_at_once(store: &dyn Store) {
    store.migrate().await.unwrap();
    seeded(store).await;
    let user = store
        .create_user(
            new_user("inspector1", Role::Supervisor, None, &["310101"]),
            "hash".into(),
            crate::no_audit_for(),
        )
        .await
        .unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
    store
        .create_token(
            TokenRecord {
                token_sha256: "t1".into(),
                user: user.id,
                label: "test".into(),
                created_at: at,
                expires_at: None,
            },
            Vec::new(),
        )
        .await
        .unwrap();
    let queued = store.tlog_queued().await.unwrap();
    let changed = store
        .change_grant(
            user.id,
            Role::Operator,
            None,
            vec![code("310101"), code("310107015")],
            vec![leaf("grant:x", "changed")],
        )
        .await
        .unwrap();
    assert_eq!(changed.role, Role::Operator);
    assert_eq!(changed.areas, vec![code("310101"), code("310107015")]);
    assert_eq!(store.user(user.id).await.unwrap(), Some(changed.clone()));
    assert_eq!(
        store.user_by_token("t1", at).await.unwrap().map(|u| u.role),
        Some(Role::Operator),
        "a live token sees the new grant at once"
    );
    // Unknown references are refused by name and change nothing.
    let refused = store
        .change_grant(
            user.id,
            Role::Handler,
            Some(DepartmentId::parse("nope").unwrap()),
            Vec::new(),
            vec![leaf("grant:x", "bad")],
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Invalid {
                field: "department",
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(store.user(user.id).await.unwrap(), Some(changed));
    assert_eq!(store.tlog_queued().await.unwrap(), queued + 1);

    store
        .revoke_user(user.id, at, vec![leaf("grant:x", "revoked")])
        .await
        .unwrap();
    assert_eq!(store.user_by_token("t1", at).await.unwrap(), None);
    assert_eq!(store.user_credentials("inspector1").await.unwrap(), None);
    assert!(matches!(
        store.revoke_user(user.id, at, Vec::new()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .change_grant(user.id, Role::Operator, None, Vec::new(), Vec::new())
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.tlog_queued().await.unwrap(), queued + 2);
}

fn photo(case_id: i64, id: &str, public: bool, bytes: &[u8], at: DateTime<Utc>) -> MediaUpload {
    MediaUpload {
        record: MediaRecord {
            id: id.into(),
            case_id,
            content_type: "image/jpeg".into(),
            sha256: format!("{:0>64}", bytes.len()),
            size: bytes.len() as u64,
            public,
            created_at: at,
        },
        bytes: bytes.to_vec(),
    }
}

pub async fn reports_keep_attributes_photos_and_tokens(store: &dyn Store) {
    seeded(store).await;
    let id = store.allocate_case_id().await.unwrap();
    let row = case_row(id, &["310000", "310101"], 121.48, t0());
    let report = CaseReport {
        attributes: r#"{"hazard":["night","water"],"size_m2":"2.5"}"#.into(),
        client: Some("fixmystreet".into()),
        token: Some("tok-1".into()),
    };
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    store
        .insert_case(
            row.clone(),
            vec![event(id, 1, "created", t0())],
            Vec::new(),
            Attachments {
                report: Some(report.clone()),
                media: vec![
                    photo(id, "b".repeat(32).as_str(), true, &bytes, t0()),
                    photo(id, "a".repeat(32).as_str(), true, b"\xff\xd8", t0()),
                ],
            },
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(store.case_report(id).await.unwrap(), Some(report));
    assert_eq!(store.case_by_token("tok-1").await.unwrap(), Some(id));
    assert_eq!(store.case_by_token("tok-2").await.unwrap(), None);
    let listed = store.case_media(id).await.unwrap();
    assert_eq!(
        listed.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        vec!["a".repeat(32), "b".repeat(32)],
        "same instant: ordered by id"
    );
    let stored = store.media(&"b".repeat(32)).await.unwrap().unwrap();
    assert_eq!(stored.bytes, bytes, "bytes come back unchanged");
    assert_eq!(stored.record.size, 3000);
    assert!(store.media(&"c".repeat(32)).await.unwrap().is_none());

    // Evidence added later, staff only; a case without a report has none.
    let evidence = photo(
        id,
        "e".repeat(32).as_str(),
        false,
        b"png",
        t0() + Duration::hours(1),
    );
    store.put_media(evidence.clone(), Vec::new()).await.unwrap();
    assert_eq!(store.case_media(id).await.unwrap().len(), 3);
    assert_eq!(
        store
            .media(&"e".repeat(32))
            .await
            .unwrap()
            .map(|m| m.record.public),
        Some(false)
    );
    let plain = new_case(store, &["310000", "310101"], 121.49, t0()).await;
    assert_eq!(store.case_report(plain.id).await.unwrap(), None);
    assert!(store.case_media(plain.id).await.unwrap().is_empty());
    // The same photo id twice is a conflict.
    assert!(matches!(
        store.put_media(evidence, Vec::new()).await,
        Err(StoreError::Conflict { .. })
    ));
}

pub async fn a_report_with_a_taken_token_writes_nothing(store: &dyn Store) {
    seeded(store).await;
    let attachments = |id: i64, photo_id: &str| Attachments {
        report: Some(CaseReport {
            attributes: "{}".into(),
            client: None,
            token: Some("same".into()),
        }),
        media: vec![photo(id, photo_id, true, b"jpeg", t0())],
    };
    let first = store.allocate_case_id().await.unwrap();
    store
        .insert_case(
            case_row(first, &["310000", "310101"], 121.48, t0()),
            vec![event(first, 1, "created", t0())],
            Vec::new(),
            attachments(first, &"1".repeat(32)),
            Vec::new(),
        )
        .await
        .unwrap();
    let second = store.allocate_case_id().await.unwrap();
    let refused = store
        .insert_case(
            case_row(second, &["310000", "310101"], 121.48, t0()),
            vec![event(second, 1, "created", t0())],
            vec![timer("acceptance", "breach", t0() + Duration::hours(2))],
            attachments(second, &"2".repeat(32)),
            vec![leaf(&format!("case:{second}"), "created")],
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    assert!(
        store.case(second).await.unwrap().is_none(),
        "no half-written case"
    );
    assert!(store.case_events(second).await.unwrap().is_empty());
    assert!(store.case_timers(second).await.unwrap().is_empty());
    assert!(store.media(&"2".repeat(32)).await.unwrap().is_none());
    assert_eq!(store.tlog_queued().await.unwrap(), 0);
    assert_eq!(store.case_by_token("same").await.unwrap(), Some(first));
}

pub async fn photos_of_unknown_cases_are_refused(store: &dyn Store) {
    seeded(store).await;
    let refused = store
        .put_media(
            photo(999_999, &"f".repeat(32), false, b"x", t0()),
            Vec::new(),
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::NotFound { .. })),
        "{refused:?}"
    );
    assert!(store.media(&"f".repeat(32)).await.unwrap().is_none());
}

pub async fn api_keys_are_stored_hashed_once(store: &dyn Store) {
    seeded(store).await;
    let key = ApiKeyRecord {
        key_sha256: "ab".repeat(32),
        name: "fixmystreet".into(),
        created_at: t0(),
        revoked_at: None,
    };
    store
        .create_api_key(key.clone(), vec![leaf("open311:fixmystreet", "key")])
        .await
        .unwrap();
    assert_eq!(
        store.api_key(&"ab".repeat(32)).await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(store.api_key(&"cd".repeat(32)).await.unwrap(), None);
    assert_eq!(
        store.tlog_queued().await.unwrap(),
        1,
        "the key's leaf is queued"
    );
    assert!(matches!(
        store
            .create_api_key(key, vec![leaf("open311:fixmystreet", "key")])
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.tlog_queued().await.unwrap(), 1);
}

pub async fn case_queries_filter_by_channel_update_and_closing(store: &dyn Store) {
    seeded(store).await;
    let path = ["310000", "310101"];
    let web = new_case(store, &path, 121.48, t0()).await;
    let id = store.allocate_case_id().await.unwrap();
    let mut hotline = case_row(id, &path, 121.48, t0() + Duration::hours(1));
    hotline.channel = "hotline".into();
    store
        .insert_case(
            hotline.clone(),
            vec![event(id, 1, "created", hotline.created_at)],
            Vec::new(),
            Attachments::default(),
            Vec::new(),
        )
        .await
        .unwrap();
    // Close the web case two hours later.
    let mut closed = web.clone();
    closed.status = "closed".into();
    closed.open = false;
    closed.version = 2;
    closed.updated_at = t0() + Duration::hours(2);
    store
        .append_case_events(
            closed,
            1,
            vec![event(web.id, 2, "closed", t0() + Duration::hours(2))],
            Vec::new(),
            None,
            Vec::new(),
        )
        .await
        .unwrap();
    let ids = |query: CaseQuery| async move {
        let mut ids: Vec<i64> = store
            .cases(&CaseQuery {
                limit: 100,
                ..query
            })
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(CaseQuery {
            channels: vec!["citizen_web".into(), "open311".into()],
            ..Default::default()
        })
        .await,
        vec![web.id]
    );
    assert_eq!(
        ids(CaseQuery {
            closed_only: true,
            ..Default::default()
        })
        .await,
        vec![web.id]
    );
    assert_eq!(
        ids(CaseQuery {
            updated_from: Some(t0() + Duration::minutes(90)),
            ..Default::default()
        })
        .await,
        vec![web.id]
    );
    assert_eq!(
        ids(CaseQuery {
            updated_to: Some(t0() + Duration::minutes(90)),
            ..Default::default()
        })
        .await,
        vec![hotline.id]
    );
    let count = store
        .count_cases(&CaseQuery {
            channels: vec!["hotline".into()],
            closed_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(count, 0);
    // Overdue: a running clock due by then (the hotline case's is due at
    // its creation + 2 h; the closed case's clock no longer matters).
    let overdue = |by: DateTime<Utc>| CaseQuery {
        due_by: Some(by),
        open_only: true,
        ..Default::default()
    };
    assert_eq!(
        ids(overdue(t0() + Duration::hours(2))).await,
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(overdue(t0() + Duration::hours(3))).await,
        vec![hotline.id]
    );
}

fn pm25_stream(at: DateTime<Utc>) -> DatastreamRecord {
    DatastreamRecord {
        id: 0,
        name: "PM2.5 长寿路".into(),
        thing: "aq-310107-01".into(),
        property: "pm25".into(),
        unit: "µg/m³".into(),
        period_minutes: 60,
        lon: 121.435,
        lat: 31.247,
        area_path: vec![code("310000"), code("310107")],
        created_at: at,
        last_at: None,
    }
}

fn reading(datastream: i64, hour: i64, result: f64) -> ObservationRow {
    ObservationRow::reading(
        datastream,
        t0() + Duration::hours(hour),
        result,
        t0() + Duration::hours(hour) + Duration::seconds(5),
    )
}

pub async fn observations_are_stored_once_per_phenomenon_time(store: &dyn Store) {
    seeded(store).await;
    let id = store
        .create_datastream(pm25_stream(t0()), Vec::new())
        .await
        .unwrap();
    let other = store
        .create_datastream(pm25_stream(t0()), Vec::new())
        .await
        .unwrap();
    assert_ne!(id, other);
    let fresh = store
        .insert_observations(vec![
            reading(id, 2, 80.0),
            reading(id, 0, 10.0),
            reading(id, 1, 50.0),
            reading(id, 1, 51.0), // a duplicate inside the batch
            reading(other, 1, 7.0),
        ])
        .await
        .unwrap();
    let ids: Vec<i64> = fresh.iter().flatten().copied().collect();
    assert_eq!(
        fresh.iter().map(Option::is_some).collect::<Vec<_>>(),
        [true, true, true, false, true]
    );
    assert_eq!(
        ids.iter().collect::<std::collections::HashSet<_>>().len(),
        4,
        "each new observation has an id of its own: {ids:?}"
    );
    // Redelivery stores nothing.
    let fresh = store
        .insert_observations(vec![reading(id, 1, 99.0), reading(id, 3, 90.0)])
        .await
        .unwrap();
    assert_eq!(
        fresh.iter().map(Option::is_some).collect::<Vec<_>>(),
        [false, true]
    );
    assert!(fresh[1].unwrap() > *ids.iter().max().unwrap(), "ids grow");
    let stored = store
        .observations(id, t0(), t0() + Duration::hours(10), 100, 0)
        .await
        .unwrap();
    assert_eq!(
        stored.iter().map(|o| o.result).collect::<Vec<_>>(),
        [10.0, 50.0, 80.0, 90.0],
        "oldest first; the first value of a phenomenon time is kept"
    );
    let page = store
        .observations(
            id,
            t0() + Duration::hours(1),
            t0() + Duration::hours(3),
            1,
            1,
        )
        .await
        .unwrap();
    assert_eq!(page.iter().map(|o| o.result).collect::<Vec<_>>(), [80.0]);
    let stream = store.datastream(id).await.unwrap().unwrap();
    assert_eq!(stream.last_at, Some(t0() + Duration::hours(3)));
    assert_eq!(stream.area_path, [code("310000"), code("310107")]);
    assert_eq!(stream.unit, "µg/m³");
    assert_eq!(store.datastreams().await.unwrap().len(), 2);
    // An unknown datastream refuses the whole batch.
    let refused = store
        .insert_observations(vec![reading(id, 4, 1.0), reading(999_999, 4, 1.0)])
        .await;
    assert!(
        matches!(refused, Err(StoreError::NotFound { .. })),
        "{refused:?}"
    );
    let stored = store
        .observations(id, t0(), t0() + Duration::hours(10), 100, 0)
        .await
        .unwrap();
    assert_eq!(stored.len(), 4, "nothing of the refused batch was written");
    assert_eq!(store.datastream(999_999).await.unwrap(), None);
}

pub async fn alarms_go_from_raised_to_cleared_once(store: &dyn Store) {
    seeded(store).await;
    let stream = store
        .create_datastream(pm25_stream(t0()), Vec::new())
        .await
        .unwrap();
    let case = new_case(store, &["310000", "310107"], 121.435, t0()).await;
    let alarm = |at: DateTime<Utc>| AlarmRecord {
        id: 0,
        rule: "pm25-high".into(),
        datastream: stream,
        severity: "major".into(),
        reason: "pm25 > 75 for 120 min (last 181)".into(),
        raised_at: at,
        acknowledged_at: None,
        acknowledged_by: None,
        cleared_at: None,
        clear_reason: None,
        case_id: None,
    };
    let first = store.raise_alarm(alarm(t0())).await.unwrap();
    store.set_alarm_case(first, case.id).await.unwrap();
    let user = UserId(1);
    store
        .acknowledge_alarm(
            first,
            user,
            t0() + Duration::minutes(5),
            vec![leaf("alarm", "ack")],
        )
        .await
        .unwrap();
    assert!(matches!(
        store.acknowledge_alarm(first, user, t0(), Vec::new()).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.alarms(true, 10).await.unwrap().len(), 1);
    store
        .clear_alarm(first, t0() + Duration::hours(3), "pm25 40 back within > 75")
        .await
        .unwrap();
    assert!(matches!(
        store.clear_alarm(first, t0(), "again").await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store.clear_alarm(424_242, t0(), "none").await,
        Err(StoreError::NotFound { .. })
    ));
    let stored = store.alarm(first).await.unwrap().unwrap();
    assert_eq!(stored.case_id, Some(case.id));
    assert_eq!(stored.acknowledged_by, Some(user));
    assert_eq!(stored.cleared_at, Some(t0() + Duration::hours(3)));
    assert!(store.alarms(true, 10).await.unwrap().is_empty());

    let second = store
        .raise_alarm(alarm(t0() + Duration::hours(5)))
        .await
        .unwrap();
    assert!(second > first);
    assert_eq!(
        store
            .latest_alarm("pm25-high", stream)
            .await
            .unwrap()
            .map(|a| a.id),
        Some(second)
    );
    assert_eq!(store.latest_alarm("other", stream).await.unwrap(), None);
    let all = store.alarms(false, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|a| a.id).collect::<Vec<_>>(),
        [second, first]
    );
    assert_eq!(
        store.tlog_queued().await.unwrap(),
        1,
        "the acknowledgement's leaf"
    );
}

pub async fn a_batch_of_alarm_changes_is_recorded_in_order(store: &dyn Store) {
    seeded(store).await;
    let stream = store
        .create_datastream(pm25_stream(t0()), Vec::new())
        .await
        .unwrap();
    let case = new_case(store, &["310000", "310107"], 121.435, t0()).await;
    let raise = |hour: i64| AlarmChange::Raise {
        alarm: AlarmRecord {
            id: 0,
            rule: "pm25-high".into(),
            datastream: stream,
            severity: "major".into(),
            reason: format!("hour {hour}"),
            raised_at: t0() + Duration::hours(hour),
            acknowledged_at: None,
            acknowledged_by: None,
            cleared_at: None,
            clear_reason: None,
            case_id: None,
        },
        carry: false,
    };
    let clear = |hour: i64| AlarmChange::Clear {
        rule: "pm25-high".into(),
        datastream: stream,
        at: t0() + Duration::hours(hour),
        reason: "back".into(),
        carry: false,
    };
    let first = store.record_alarms(vec![raise(1)]).await.unwrap();
    let id = first[0].alarm.unwrap();
    assert_eq!(first[0].case_id, None, "no previous alarm");
    store.set_alarm_case(id, case.id).await.unwrap();
    let outcomes = store
        .record_alarms(vec![clear(2), clear(3), raise(4), clear(5)])
        .await
        .unwrap();
    assert_eq!(
        outcomes[0],
        AlarmOutcome {
            alarm: Some(id),
            case_id: Some(case.id)
        }
    );
    assert_eq!(
        outcomes[1],
        AlarmOutcome {
            alarm: None,
            case_id: None
        },
        "nothing active"
    );
    let second = outcomes[2].alarm.unwrap();
    assert!(second > id);
    assert_eq!(
        outcomes[2].case_id,
        Some(case.id),
        "the previous occurrence's case"
    );
    assert_eq!(
        outcomes[3],
        AlarmOutcome {
            alarm: Some(second),
            case_id: None
        }
    );
    assert!(store.alarms(true, 10).await.unwrap().is_empty());
    let stored = store.alarm(second).await.unwrap().unwrap();
    assert_eq!(stored.cleared_at, Some(t0() + Duration::hours(5)));
    assert_eq!(stored.reason, "hour 4");
}

pub async fn observations_are_downsampled_and_expire(store: &dyn Store) {
    seeded(store).await;
    let id = store
        .create_datastream(pm25_stream(t0()), Vec::new())
        .await
        .unwrap();
    // t0() is 01:00 UTC: every 20 minutes for 3 hours, values 0, 1, 2, …
    let rows: Vec<ObservationRow> = (0..9)
        .map(|k| ObservationRow::reading(id, t0() + Duration::minutes(20 * k), k as f64, t0()))
        .collect();
    store.insert_observations(rows).await.unwrap();
    let hourly = store
        .observation_buckets(id, t0(), t0() + Duration::hours(3), 60, 100)
        .await
        .unwrap();
    assert_eq!(
        hourly
            .iter()
            .map(|b| (b.start, b.count, b.mean, b.min, b.max))
            .collect::<Vec<_>>(),
        [
            (t0(), 3, 1.0, 0.0, 2.0),
            (t0() + Duration::hours(1), 3, 4.0, 3.0, 5.0),
            (t0() + Duration::hours(2), 3, 7.0, 6.0, 8.0),
        ]
    );
    let two_hours = store
        .observation_buckets(id, t0(), t0() + Duration::hours(3), 120, 1)
        .await
        .unwrap();
    assert_eq!(two_hours.len(), 1, "the limit counts buckets");
    // Buckets align to the epoch: 00:00–02:00 holds 01:00–01:40.
    assert_eq!(two_hours[0].start, t0() - Duration::hours(1));
    assert_eq!(two_hours[0].count, 3);
    // Retention.
    let deleted = store
        .delete_observations_before(t0() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(deleted, 3);
    let left = store
        .observations(id, t0(), t0() + Duration::hours(10), 100, 0)
        .await
        .unwrap();
    assert_eq!(left.len(), 6);
    assert_eq!(left[0].result, 3.0);
}

pub async fn observations_are_scanned_updated_and_deleted_by_id(store: &dyn Store) {
    seeded(store).await;
    let id = store
        .create_datastream(pm25_stream(t0()), Vec::new())
        .await
        .unwrap();
    let other = store
        .create_datastream(pm25_stream(t0()), Vec::new())
        .await
        .unwrap();
    let mut rows: Vec<ObservationRow> = (0..6).map(|h| reading(id, h, h as f64)).collect();
    rows[2].feature = Some(7);
    rows[2].extra = Some(r#"{"resultTime":"2026-11-02T03:00:00Z"}"#.into());
    rows.push(reading(other, 0, 100.0));
    let ids: Vec<i64> = store
        .insert_observations(rows)
        .await
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let scan = |scan: ObservationScan| async move {
        store
            .scan_observations(ObservationScan {
                limit: if scan.limit == 0 { 100 } else { scan.limit },
                ..scan
            })
            .await
            .unwrap()
            .iter()
            .map(|o| o.result)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        scan(ObservationScan::default()).await,
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 100.0]
    );
    assert_eq!(
        scan(ObservationScan {
            datastream: Some(id),
            from: Some((t0() + Duration::hours(1), false)),
            to: Some((t0() + Duration::hours(4), true)),
            ..Default::default()
        })
        .await,
        [2.0, 3.0, 4.0],
        "bounds: above the lower, at or below the upper"
    );
    assert_eq!(
        scan(ObservationScan {
            after_id: ids[3],
            limit: 2,
            ..Default::default()
        })
        .await,
        [4.0, 5.0],
        "paging by id"
    );
    let one = store
        .scan_observations(ObservationScan {
            id: Some(ids[2]),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].feature, Some(7));
    assert_eq!(
        one[0].extra.as_deref(),
        Some(r#"{"resultTime":"2026-11-02T03:00:00Z"}"#)
    );
    assert_eq!(
        scan(ObservationScan {
            feature: Some(7),
            ..Default::default()
        })
        .await,
        [2.0]
    );
    // Update: a new result; moving onto a taken phenomenon time conflicts.
    let mut changed = one[0].clone();
    changed.result = 22.5;
    store.update_observation(changed.clone()).await.unwrap();
    changed.phenomenon_time = t0() + Duration::hours(3);
    let taken = store.update_observation(changed).await;
    assert!(
        matches!(taken, Err(StoreError::Conflict { .. })),
        "{taken:?}"
    );
    let mut unknown = one[0].clone();
    unknown.id = 999_999_999;
    assert!(matches!(
        store.update_observation(unknown).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        scan(ObservationScan {
            id: Some(ids[2]),
            ..Default::default()
        })
        .await,
        [22.5]
    );
    assert_eq!(
        store
            .delete_observations(vec![ids[0], ids[1], 999_999_999])
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        scan(ObservationScan {
            datastream: Some(id),
            ..Default::default()
        })
        .await,
        [22.5, 3.0, 4.0, 5.0]
    );
    // Deleting a datastream takes its observations with it.
    store.delete_datastream(id).await.unwrap();
    assert_eq!(store.datastream(id).await.unwrap(), None);
    assert_eq!(scan(ObservationScan::default()).await, [100.0]);
    assert!(matches!(
        store.delete_datastream(id).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn a_datastream_with_alarms_is_not_deleted(store: &dyn Store) {
    seeded(store).await;
    let id = store
        .create_datastream(pm25_stream(t0()), Vec::new())
        .await
        .unwrap();
    store
        .insert_observations(vec![reading(id, 0, 300.0)])
        .await
        .unwrap();
    store
        .record_alarms(vec![AlarmChange::Raise {
            alarm: AlarmRecord {
                id: 0,
                rule: "pm25-high".into(),
                datastream: id,
                severity: "major".into(),
                reason: "pm25 > 75".into(),
                raised_at: t0(),
                acknowledged_at: None,
                acknowledged_by: None,
                cleared_at: None,
                clear_reason: None,
                case_id: None,
            },
            carry: false,
        }])
        .await
        .unwrap();
    let refused = store.delete_datastream(id).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    assert!(store.datastream(id).await.unwrap().is_some());
    assert_eq!(
        store
            .observations(id, t0(), t0() + Duration::hours(1), 10, 0)
            .await
            .unwrap()
            .len(),
        1,
        "nothing was deleted"
    );
}

pub async fn sensorthings_documents_are_saved_and_deleted_together(store: &dyn Store) {
    seeded(store).await;
    let doc = |set: &str, id: i64, name: &str| StaDoc {
        set: set.into(),
        id,
        doc: format!(r#"{{"name":"{name}"}}"#),
    };
    store
        .save_sta_docs(
            vec![
                doc("Things", 1, "站点一"),
                doc("Things", 2, "站点二"),
                doc("Sensors", 1, "β-ray"),
            ],
            Vec::new(),
        )
        .await
        .unwrap();
    store
        .save_sta_docs(
            vec![doc("Things", 1, "站点一（改）")],
            vec![("Things".into(), 2)],
        )
        .await
        .unwrap();
    assert_eq!(
        store.sta_docs().await.unwrap(),
        [doc("Sensors", 1, "β-ray"), doc("Things", 1, "站点一（改）")]
    );
}

pub async fn alarm_case_work_is_queued_until_finished(store: &dyn Store) {
    seeded(store).await;
    let stream = store
        .create_datastream(pm25_stream(t0()), Vec::new())
        .await
        .unwrap();
    let case = new_case(store, &["310000", "310107"], 121.435, t0()).await;
    let raise = |hour: i64, rule: &str, carry: bool| AlarmChange::Raise {
        alarm: AlarmRecord {
            id: 0,
            rule: rule.into(),
            datastream: stream,
            severity: "major".into(),
            reason: format!("hour {hour}"),
            raised_at: t0() + Duration::hours(hour),
            acknowledged_at: None,
            acknowledged_by: None,
            cleared_at: None,
            clear_reason: None,
            case_id: None,
        },
        carry,
    };
    let outcomes = store
        .record_alarms(vec![
            raise(1, "pm25-high", true),
            raise(1, "pm25-jump", false),
            AlarmChange::Clear {
                rule: "pm25-high".into(),
                datastream: stream,
                at: t0() + Duration::hours(3),
                reason: "back".into(),
                carry: true,
            },
            raise(4, "pm25-high", true),
        ])
        .await
        .unwrap();
    let (first, second) = (outcomes[0].alarm.unwrap(), outcomes[3].alarm.unwrap());
    let work = store.alarm_work(10).await.unwrap();
    assert_eq!(
        work.iter().map(|(a, w)| (a.id, *w)).collect::<Vec<_>>(),
        [
            (first, CASE_WORK_RAISE | CASE_WORK_CLEAR),
            (second, CASE_WORK_RAISE)
        ],
        "oldest first; the alarm without a case rule is not queued"
    );
    assert_eq!(
        store
            .alarm_case_before("pm25-high", stream, second)
            .await
            .unwrap(),
        None,
        "the earlier alarm has no case yet"
    );
    store
        .finish_alarm_work(first, CASE_WORK_RAISE, Some(case.id))
        .await
        .unwrap();
    assert_eq!(
        store
            .alarm_case_before("pm25-high", stream, second)
            .await
            .unwrap(),
        Some(case.id)
    );
    let work = store.alarm_work(10).await.unwrap();
    assert_eq!(work[0].0.case_id, Some(case.id));
    assert_eq!(
        work[0].1, CASE_WORK_CLEAR,
        "the clearing is still to record"
    );
    store
        .finish_alarm_work(first, CASE_WORK_CLEAR, None)
        .await
        .unwrap();
    store
        .finish_alarm_work(second, CASE_WORK_RAISE, Some(case.id))
        .await
        .unwrap();
    assert!(store.alarm_work(10).await.unwrap().is_empty());
    assert_eq!(
        store.alarm(first).await.unwrap().unwrap().case_id,
        Some(case.id),
        "finishing without a case keeps the link"
    );
    assert!(matches!(
        store
            .finish_alarm_work(999_999, CASE_WORK_RAISE, None)
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn vital_samples_are_kept_by_area_indicator_and_time(store: &dyn Store) {
    seeded(store).await;
    let sample = |minutes: i64, area: &str, indicator: &str, value: Option<f64>| VitalSample {
        at: t0() + Duration::minutes(minutes),
        area: area.into(),
        indicator: indicator.into(),
        value,
        status: if value.is_some() { "green" } else { "grey" }.into(),
    };
    store
        .record_vital_samples(vec![
            sample(0, "310107", "air_quality", Some(80.0)),
            sample(5, "310107", "air_quality", Some(120.0)),
            sample(5, "310107", "cases_open", Some(3.0)),
            sample(5, "310101", "air_quality", None),
            sample(10, "310107", "air_quality", Some(60.0)),
        ])
        .await
        .unwrap();
    // The same sample again is kept once.
    store
        .record_vital_samples(vec![sample(5, "310107", "air_quality", Some(999.0))])
        .await
        .unwrap();
    let values = |samples: Vec<VitalSample>| samples.iter().map(|s| s.value).collect::<Vec<_>>();
    let all = store
        .vital_samples(
            "310107",
            "air_quality",
            t0(),
            t0() + Duration::hours(1),
            100,
        )
        .await
        .unwrap();
    assert_eq!(values(all), [Some(80.0), Some(120.0), Some(60.0)]);
    let window = store
        .vital_samples(
            "310107",
            "air_quality",
            t0() + Duration::minutes(5),
            t0() + Duration::minutes(10),
            100,
        )
        .await
        .unwrap();
    assert_eq!(
        values(window),
        [Some(120.0)],
        "from inclusive, to exclusive"
    );
    let grey = store
        .vital_samples(
            "310101",
            "air_quality",
            t0(),
            t0() + Duration::hours(1),
            100,
        )
        .await
        .unwrap();
    assert_eq!(grey[0].status, "grey");
    assert_eq!(grey[0].value, None);
    assert_eq!(
        store
            .delete_vital_samples_before(t0() + Duration::minutes(5))
            .await
            .unwrap(),
        1
    );
    let left = store
        .vital_samples(
            "310107",
            "air_quality",
            t0(),
            t0() + Duration::hours(1),
            100,
        )
        .await
        .unwrap();
    assert_eq!(values(left), [Some(120.0), Some(60.0)]);
}

pub async fn case_points_are_the_compact_view_of_a_case_query(store: &dyn Store) {
    seeded(store).await;
    let first = new_case(store, &["310000", "310107", "310107015"], 121.435, t0()).await;
    let second = new_case(
        store,
        &["310000", "310101"],
        121.480,
        t0() + Duration::minutes(5),
    )
    .await;
    let points = store
        .case_points(&CaseQuery {
            limit: 10,
            ..CaseQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        points.iter().map(|p| p.id).collect::<Vec<_>>(),
        [second.id, first.id],
        "newest first"
    );
    let p = &points[1];
    assert_eq!(p.category, first.category);
    assert_eq!(p.status, first.status);
    assert_eq!((p.lon, p.lat), (first.lon, first.lat));
    assert_eq!(p.area, Some(code("310107015")));
    assert_eq!(p.district, Some(code("310107")));
    assert_eq!(p.street, Some(code("310107015")));
    assert_eq!(
        points[0].street, None,
        "a case placed on a district has no street"
    );
    assert_eq!(p.created_at, first.created_at);
    assert_eq!(p.due_at, first.due_at);
    let within = store
        .case_points(&CaseQuery {
            within: vec![code("310101")],
            limit: 10,
            ..CaseQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(within.iter().map(|p| p.id).collect::<Vec<_>>(), [second.id]);
    // Grouped counts by path: open, and overdue at an instant.
    let mut counts = store
        .open_case_counts(t0() + Duration::days(400))
        .await
        .unwrap();
    counts.sort_by(|a, b| a.0.cmp(&b.0));
    let expected_overdue = |row: &CaseRow| u64::from(row.due_at.is_some());
    assert_eq!(
        counts,
        [
            (second.area_path.clone(), 1, expected_overdue(&second)),
            (first.area_path.clone(), 1, expected_overdue(&first)),
        ]
    );
    let before = store
        .open_case_counts(t0() - Duration::days(1))
        .await
        .unwrap();
    assert!(
        before.iter().all(|(_, _, overdue)| *overdue == 0),
        "{before:?}"
    );
}

pub async fn data_hub_imports_resume_quarantine_share_and_record(store: &dyn Store) {
    use crate::hub::*;
    seeded(store).await;
    store
        .upsert_departments(
            vec![
                department("310107-ga", "普陀公安分局", &["310107"]),
                department("310107-mz", "普陀区民政局", &["310107"]),
            ],
            Vec::new(),
        )
        .await
        .unwrap();
    let citizen = store
        .create_user(
            new_user("citizen1", Role::Citizen, None, &[]),
            "hash".into(),
            crate::no_audit_for(),
        )
        .await
        .unwrap();
    let hub = store.hub();
    let dataset = DatasetRecord {
        id: "putuo-population".into(),
        title: "实有人口".into(),
        description: "普陀公安分局".into(),
        owner: DepartmentId::parse("310107-ga").unwrap(),
        standard: "population".into(),
        standard_version: "1".into(),
        update_frequency: "daily".into(),
        fields: "[]".into(),
        created_at: t0(),
        updated_at: t0(),
    };
    hub.put_dataset(dataset.clone(), Vec::new()).await.unwrap();
    let mut renamed = dataset.clone();
    renamed.title = "实有人口（新）".into();
    hub.put_dataset(renamed, Vec::new()).await.unwrap();
    assert_eq!(
        hub.dataset(&dataset.id).await.unwrap().unwrap().title,
        "实有人口（新）"
    );
    let mut stolen = dataset.clone();
    stolen.owner = DepartmentId::parse("310107-mz").unwrap();
    assert!(matches!(
        hub.put_dataset(stolen, Vec::new()).await,
        Err(StoreError::Conflict { .. })
    ));
    let mut orphan = dataset.clone();
    orphan.id = "orphan".into();
    orphan.owner = DepartmentId::parse("310107-xx").unwrap();
    assert!(matches!(
        hub.put_dataset(orphan, Vec::new()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(hub.datasets().await.unwrap().len(), 1);

    let import = HubImport {
        id: 0,
        dataset: dataset.id.clone(),
        mapping: "police".into(),
        mapping_version: "1".into(),
        file_name: "people.csv".into(),
        file_sha256: "ab".repeat(32),
        status: String::new(),
        accepted: 0,
        rejected: 0,
        next_offset: 40,
        next_line: 2,
        started_at: t0(),
        finished_at: None,
        by: None,
        quality: None,
        fixes: None,
        header: vec!["身份证号".into(), "姓名".into()],
        mapping_text: "id = \"police\"".into(),
    };
    let first = hub.begin_import(import.clone()).await.unwrap();
    let row = |key: &str, line: u64, subject: &str| HubRow {
        key: key.into(),
        line,
        data: format!("{{\"id_number\":\"{key}\"}}"),
        subject: Some(subject.into()),
    };
    let bad = |line: u64| QuarantineRow {
        id: 0,
        import_id: 0,
        line,
        raw: format!("line {line}"),
        reasons: vec![
            "mobile: must have 11 digits".into(),
            "sex: unknown code X".into(),
        ],
        fixed_by: None,
    };
    hub.write_import_batch(
        first,
        40,
        vec![row("A", 2, "p:a"), row("B", 3, "p:b")],
        vec![bad(4)],
        100,
        5,
    )
    .await
    .unwrap();
    // A second writer from the old checkpoint is refused and writes nothing.
    assert!(matches!(
        hub.write_import_batch(first, 40, vec![row("C", 2, "p:c")], vec![], 100, 5)
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let resumable = hub
        .resumable_import(&dataset.id, &import.file_sha256)
        .await
        .unwrap()
        .expect("an unfinished import of these bytes");
    assert_eq!(
        (resumable.id, resumable.next_offset, resumable.next_line),
        (first, 100, 5)
    );
    assert_eq!((resumable.accepted, resumable.rejected), (2, 1));
    hub.write_import_batch(first, 100, vec![row("A", 5, "p:a")], vec![bad(6)], 160, 7)
        .await
        .unwrap();
    hub.finish_import(first, "{\"rows\":5}".into(), t0(), Vec::new())
        .await
        .unwrap();
    assert!(
        hub.resumable_import(&dataset.id, &import.file_sha256)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        hub.write_import_batch(first, 160, vec![], vec![], 160, 7)
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let done = hub.hub_import(first).await.unwrap().unwrap();
    assert_eq!(done.status, IMPORT_DONE);
    assert_eq!((done.accepted, done.rejected), (3, 2));
    assert_eq!(done.quality.as_deref(), Some("{\"rows\":5}"));
    assert_eq!(done.header, import.header, "the file's header is kept");
    assert_eq!(
        done.mapping_text, import.mapping_text,
        "and the mapping's text"
    );
    // A record imported twice is one row, with the later lineage.
    assert_eq!(hub.count_hub_rows(&dataset.id).await.unwrap(), 2);
    let rows = hub.hub_rows(&dataset.id, None, None, 10).await.unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.row.key.as_str(), r.row.line))
            .collect::<Vec<_>>(),
        [("A", 5), ("B", 3)]
    );
    let page = hub
        .hub_rows(&dataset.id, Some("A"), None, 10)
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    let about_b = hub
        .hub_rows(&dataset.id, None, Some("p:b"), 10)
        .await
        .unwrap();
    assert_eq!(about_b.len(), 1);
    assert_eq!(about_b[0].row.key, "B");
    let quarantined = hub.quarantine(first, true).await.unwrap();
    assert_eq!(
        quarantined.iter().map(|q| q.line).collect::<Vec<_>>(),
        [4, 6]
    );
    assert_eq!(quarantined[0].reasons.len(), 2, "every reason is kept");

    // A fix of the quarantine: once done, the old lines are fixed by it.
    let fix = hub
        .begin_import(HubImport {
            fixes: Some(first),
            file_sha256: "cd".repeat(32),
            next_offset: 0,
            ..import.clone()
        })
        .await
        .unwrap();
    hub.write_import_batch(fix, 0, vec![row("D", 2, "p:d")], vec![bad(3)], 50, 4)
        .await
        .unwrap();
    hub.finish_import(fix, "{}".into(), t0(), Vec::new())
        .await
        .unwrap();
    assert!(hub.quarantine(first, true).await.unwrap().is_empty());
    assert!(
        hub.quarantine(first, false)
            .await
            .unwrap()
            .iter()
            .all(|q| q.fixed_by == Some(fix))
    );
    assert_eq!(hub.quarantine(fix, true).await.unwrap().len(), 1);
    assert_eq!(
        hub.hub_imports(&dataset.id)
            .await
            .unwrap()
            .iter()
            .map(|i| i.id)
            .collect::<Vec<_>>(),
        [fix, first]
    );
    let missing = hub
        .begin_import(HubImport {
            dataset: "nope".into(),
            ..import.clone()
        })
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })));

    // Grants: requested, then approved once; a refused move changes nothing.
    let grant = HubGrant {
        id: 0,
        dataset: dataset.id.clone(),
        department: DepartmentId::parse("310107-mz").unwrap(),
        fields: vec!["name".into(), "age_band".into()],
        purpose: "高龄津贴核对".into(),
        valid_from: t0(),
        valid_until: t0() + Duration::days(30),
        status: GRANT_REQUESTED.into(),
        requested_by: citizen.id,
        requested_at: t0(),
        decided_by: None,
        decided_at: None,
        note: String::new(),
    };
    let grant_id = hub.put_grant(grant.clone(), Vec::new()).await.unwrap();
    hub.decide_grant(
        grant_id,
        GRANT_REQUESTED,
        GRANT_APPROVED,
        citizen.id,
        t0(),
        "",
        Vec::new(),
    )
    .await
    .unwrap();
    assert!(matches!(
        hub.decide_grant(
            grant_id,
            GRANT_REQUESTED,
            GRANT_REFUSED,
            citizen.id,
            t0(),
            "",
            Vec::new()
        )
        .await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        hub.decide_grant(
            999,
            GRANT_REQUESTED,
            GRANT_REFUSED,
            citizen.id,
            t0(),
            "",
            Vec::new()
        )
        .await,
        Err(StoreError::NotFound { .. })
    ));
    let stored = hub.grant(grant_id).await.unwrap().unwrap();
    assert_eq!(stored.status, GRANT_APPROVED);
    assert_eq!(stored.fields, grant.fields);
    assert_eq!(stored.decided_by, Some(citizen.id));
    let mz = DepartmentId::parse("310107-mz").unwrap();
    assert_eq!(hub.grants(None, Some(&mz)).await.unwrap().len(), 1);
    assert_eq!(hub.grants(Some(&dataset.id), None).await.unwrap().len(), 1);
    assert!(hub.grants(Some("other"), None).await.unwrap().is_empty());

    // Accesses, and the citizen who can see them.
    let access = HubAccess {
        at: t0() + Duration::minutes(1),
        dataset: dataset.id.clone(),
        department: Some(mz.clone()),
        reader: "u:1".into(),
        grant_id: Some(grant_id),
        purpose: "高龄津贴核对".into(),
        subject: "p:a".into(),
        fields: vec!["name".into()],
    };
    let later = HubAccess {
        at: t0() + Duration::minutes(2),
        subject: "p:a".into(),
        ..access.clone()
    };
    let other = HubAccess {
        subject: "p:b".into(),
        ..access.clone()
    };
    hub.record_accesses(vec![access.clone(), later.clone(), other], Vec::new())
        .await
        .unwrap();
    assert_eq!(hub.accesses_of("p:a").await.unwrap(), vec![later, access]);
    assert!(hub.person_of(citizen.id).await.unwrap().is_none());
    hub.bind_person(citizen.id, "p:a", Vec::new())
        .await
        .unwrap();
    hub.bind_person(citizen.id, "p:b", Vec::new())
        .await
        .unwrap();
    assert_eq!(
        hub.person_of(citizen.id).await.unwrap().as_deref(),
        Some("p:b")
    );
    assert!(matches!(
        hub.bind_person(UserId(987_654), "p:c", Vec::new()).await,
        Err(StoreError::NotFound { .. })
    ));
}
