//! Imports are all or nothing and point at the bad line.

use cityloop_import::{
    Format, ImportError, Silent, bundled, import_area_shapes, import_areas, import_departments,
    import_responsibilities,
};
use cityloop_store::{AreaQuery, Store};
use cityloop_store_sqlite::SqliteStore;

async fn store() -> SqliteStore {
    let store = SqliteStore::open_in_memory().unwrap();
    store.migrate().await.unwrap();
    store
}

async fn area_count(store: &dyn Store) -> u64 {
    store.count_areas(&AreaQuery::default()).await.unwrap()
}

fn line_and_field(error: &ImportError) -> (u64, String) {
    match error {
        ImportError::Row { line, field, .. } => (*line, field.clone()),
        other => panic!("expected a row error, got {other}"),
    }
}

#[tokio::test]
async fn statistical_tables_load_with_the_municipal_grouping_folded_in() {
    let store = store().await;
    let csv = "level,code,name,parent_code\n\
               province,31,上海市,\n\
               city,3101,市辖区,31\n\
               district,310107,普陀区,3101\n\
               street,310107015,长寿路街道,310107\n";
    let report = import_areas(&store, csv, Format::Csv, &Silent)
        .await
        .unwrap();
    assert_eq!(report.records, 3, "市辖区 folds into the city");
    let path = store
        .area_path(&cityloop_domain::AreaCode::parse("310107015").unwrap())
        .await
        .unwrap();
    let names: Vec<_> = path.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["上海市", "普陀区", "长寿路街道"]);
}

#[tokio::test]
async fn one_bad_row_rejects_the_whole_file_with_its_line() {
    let store = store().await;
    let csv = "level,code,name,parent_code\n\
               province,31,上海市,\n\
               district,310107,普陀区,310000\n\
               street,31010701X,长寿路街道,310107\n\
               street,310107016,甘泉路街道,310107\n";
    let error = import_areas(&store, csv, Format::Csv, &Silent)
        .await
        .unwrap_err();
    assert_eq!(line_and_field(&error), (4, "code".into()), "{error}");
    assert_eq!(area_count(&store).await, 0, "nothing was written");

    // A reference the store refuses (unknown parent) is mapped to its line too.
    let csv = "level,code,name,parent_code\n\
               province,31,上海市,\n\
               district,310107,普陀区,310000\n\
               street,310104015,某街道,310104\n";
    let error = import_areas(&store, csv, Format::Csv, &Silent)
        .await
        .unwrap_err();
    assert_eq!(line_and_field(&error), (4, "parent_code".into()), "{error}");
    assert!(error.to_string().contains("310104"), "{error}");
    assert_eq!(area_count(&store).await, 0);
}

#[tokio::test]
async fn children_before_parents_still_import() {
    let store = store().await;
    let csv = "level,code,name,parent_code\n\
               street,310107015,长寿路街道,310107\n\
               district,310107,普陀区,310000\n\
               city,310000,上海市,\n";
    let report = import_areas(&store, csv, Format::Csv, &Silent)
        .await
        .unwrap();
    assert_eq!(report.written.inserted, 3);
}

#[tokio::test]
async fn duplicates_point_at_both_lines() {
    let store = store().await;
    let csv = "level,code,name,parent_code\ncity,310000,上海市,\ndistrict,310107,普陀区,310000\ndistrict,310107,普陀,310000\n";
    let error = import_areas(&store, csv, Format::Csv, &Silent)
        .await
        .unwrap_err();
    assert_eq!(line_and_field(&error), (4, "code".into()));
    assert!(error.to_string().contains("line 3"), "{error}");
}

#[tokio::test]
async fn json_errors_carry_the_line_of_the_item() {
    let store = store().await;
    let json = r#"[
  {"level": "city", "code": "310000", "name": "上海市"},
  {"level": "district", "code": "310107", "name": "普陀区", "parent_code": "310000"},
  {"level": "borough", "code": "310101", "name": "黄浦区", "parent_code": "310000"}
]"#;
    let error = import_areas(&store, json, Format::Json, &Silent)
        .await
        .unwrap_err();
    assert_eq!(line_and_field(&error), (4, "level".into()), "{error}");
    let json = r#"[
  {"level": "city", "code": "310000", "name": "上海市", "colour": "red"}
]"#;
    let error = import_areas(&store, json, Format::Json, &Silent)
        .await
        .unwrap_err();
    assert_eq!(line_and_field(&error).0, 2, "{error}");
    assert!(error.to_string().contains("colour"), "{error}");
    assert_eq!(area_count(&store).await, 0);
}

#[tokio::test]
async fn boundaries_add_areas_or_refuse_unknown_ones() {
    let store = store().await;
    bundled::load_shanghai(&store, &Silent).await.unwrap();
    // A grid inside 长寿路街道's first community, created by its feature.
    let grid = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature", "properties": {"code": "3101070150010001", "name": "示例网格（演示）",
     "level": "grid", "parent_code": "310107015001"},
   "geometry": {"type": "Polygon", "coordinates": [[[121.43,31.24],[121.44,31.24],[121.44,31.25],[121.43,31.24]]]}}
]}"#;
    let report = import_area_shapes(&store, grid, &Silent).await.unwrap();
    assert_eq!(report.written.inserted, 1);
    let shapes = store.area_shapes().await.unwrap();
    assert!(shapes.iter().any(|s| s.code.as_str() == "3101070150010001"));

    let unknown = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature", "properties": {"code": "310107"},
   "geometry": {"type": "Polygon", "coordinates": [[[121.43,31.24],[121.44,31.24],[121.44,31.25],[121.43,31.24]]]}},
  {"type": "Feature", "properties": {"code": "310107099"},
   "geometry": {"type": "Polygon", "coordinates": [[[121.43,31.24],[121.44,31.24],[121.44,31.25],[121.43,31.24]]]}}
]}"#;
    let before = store
        .area_shape(&cityloop_domain::AreaCode::parse("310107").unwrap())
        .await
        .unwrap();
    let error = import_area_shapes(&store, unknown, &Silent)
        .await
        .unwrap_err();
    assert_eq!(line_and_field(&error), (4, "code".into()), "{error}");
    let after = store
        .area_shape(&cityloop_domain::AreaCode::parse("310107").unwrap())
        .await
        .unwrap();
    assert_eq!(
        before, after,
        "the valid first feature was not written either"
    );

    let broken = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature", "properties": {"code": "310107"},
   "geometry": {"type": "Polygon", "coordinates": [[[121.43,31.24],[121.44,31.24],[121.44,91.25],[121.43,31.24]]]}}
]}"#;
    let error = import_area_shapes(&store, broken, &Silent)
        .await
        .unwrap_err();
    assert_eq!(line_and_field(&error), (2, "geometry".into()), "{error}");
}

#[tokio::test]
async fn departments_and_responsibilities_check_their_references() {
    let store = store().await;
    bundled::load_shanghai(&store, &Silent).await.unwrap();
    let departments = "id,name,kind,areas,phone\n\
                       310107-cgzf,普陀区城管执法局,enforcement,310107,\n\
                       310107-x,某单位,enforcement,310107;310199,\n";
    let error = import_departments(&store, departments, Format::Csv, &Silent)
        .await
        .unwrap_err();
    assert_eq!(line_and_field(&error), (3, "areas".into()), "{error}");
    assert!(store.departments(None).await.unwrap().is_empty());

    bundled::load_demo_directory(&store, &Silent).await.unwrap();
    let rows = "category,area_code,department,basis\n\
                06010,310107,310107-lhsr,\n\
                06999,310107,310107-lhsr,\n";
    let error = import_responsibilities(&store, rows, Format::Csv, &Silent)
        .await
        .unwrap_err();
    assert_eq!(line_and_field(&error), (3, "category".into()), "{error}");
}
