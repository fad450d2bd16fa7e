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
            settings_round_trip
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
        .upsert_departments(vec![putuo.clone(), street.clone()])
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
    let summary = store.upsert_departments(vec![moved.clone()]).await.unwrap();
    assert_eq!(summary.updated, 1);
    assert_eq!(store.department(&moved.id).await.unwrap(), Some(moved));
    assert_eq!(store.departments(None).await.unwrap().len(), 2);
}

pub async fn department_with_unknown_area_is_refused(store: &dyn Store) {
    seeded(store).await;
    let result = store
        .upsert_departments(vec![
            department("310107-cgzf", "普陀区城管执法局", &["310107"]),
            department("310104-cgzf", "徐汇区城管执法局", &["310104"]),
        ])
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
        .upsert_departments(vec![
            department("310107-cgzf", "普陀区城管执法局", &["310107"]),
            department("310107-lhsr", "普陀区绿化市容局", &["310107"]),
            department("310107015-jd", "长寿路街道办事处", &["310107015"]),
        ])
        .await
        .unwrap();
    store
        .upsert_categories(vec![matter("06010", "暴露垃圾")])
        .await
        .unwrap();
    let summary = store
        .upsert_responsibilities(vec![
            duty("class:06", "310107", "310107-cgzf"),
            duty("06010", "310107015", "310107015-jd"),
        ])
        .await
        .unwrap();
    assert_eq!(summary.inserted, 2);
    // Replacing the department of an existing (selector, area) row.
    let summary = store
        .upsert_responsibilities(vec![duty("class:06", "310107", "310107-lhsr")])
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
        .delete_responsibility("06010", &code("310107015"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .delete_responsibility("06010", &code("310107015"))
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
        .upsert_departments(vec![department(
            "310107-cgzf",
            "普陀区城管执法局",
            &["310107"],
        )])
        .await
        .unwrap();
    let result = store
        .upsert_responsibilities(vec![
            duty("class:06", "310107", "310107-cgzf"),
            duty("class:03", "310107", "nobody-here"),
        ])
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
        .upsert_responsibilities(vec![duty("class:06", "310104", "310107-cgzf")])
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
        .upsert_departments(vec![department(
            "310107-cgzf",
            "普陀区城管执法局",
            &["310107"],
        )])
        .await
        .unwrap();
    let handler = store
        .create_user(
            new_user("handler1", Role::Handler, Some("310107-cgzf"), &[]),
            "hash-1".into(),
        )
        .await
        .unwrap();
    let operator = store
        .create_user(
            new_user("operator1", Role::Operator, None, &["310101", "310107"]),
            "hash-2".into(),
        )
        .await
        .unwrap();
    assert_ne!(handler.id, operator.id);
    assert_eq!(operator.areas, vec![code("310101"), code("310107")]);
    assert_eq!(store.user(handler.id).await.unwrap(), Some(handler.clone()));

    let duplicate = store
        .create_user(new_user("handler1", Role::Citizen, None, &[]), "x".into())
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict { .. })),
        "{duplicate:?}"
    );

    let unknown_department = store
        .create_user(
            new_user("handler2", Role::Handler, Some("310101-cgzf"), &[]),
            "x".into(),
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
        .create_user(new_user("citizen1", Role::Citizen, None, &[]), "h".into())
        .await
        .unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap();
    for (secret, expires_at) in [("a", None), ("b", Some(now + Duration::hours(1)))] {
        store
            .create_token(TokenRecord {
                token_sha256: secret.into(),
                user: user.id,
                label: "test".into(),
                created_at: now,
                expires_at,
            })
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
    assert_eq!(store.revoke_tokens(user.id).await.unwrap(), 2);
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
    store.put_setting("instance_id", "one").await.unwrap();
    store.put_setting("instance_id", "two").await.unwrap();
    assert_eq!(
        store.setting("instance_id").await.unwrap().as_deref(),
        Some("two")
    );
}
