//! The city model over HTTP, as the checks state it.

mod common;

use axum::http::StatusCode;
use common::{TestApp, path_codes};
use serde_json::json;

#[tokio::test]
async fn shanghai_has_sixteen_districts_and_changshou_road_has_35_communities() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/api/v1/areas?level=district", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], 16);
    let names: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"黄浦区") && names.contains(&"普陀区"),
        "{names:?}"
    );

    let (status, body) = app.get("/api/v1/areas/310107015", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "长寿路街道");
    assert_eq!(body["level"], "street");
    assert_eq!(body["children"], 35);
    assert_eq!(path_codes(&body["path"]), ["310000", "310107", "310107015"]);

    let (_, body) = app
        .get("/api/v1/areas?parent=310107015&limit=1000", None)
        .await;
    assert_eq!(body["total"], 35);
    assert_eq!(body["items"].as_array().unwrap().len(), 35);
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["level"] == "community"
                && a["code"].as_str().unwrap().starts_with("310107015"))
    );
}

#[tokio::test]
async fn a_point_near_changshou_road_is_in_putuo() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .get("/api/v1/locate?lon=121.4350&lat=31.2470", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(path_codes(&body["path"]), ["310000", "310107"]);
    assert_eq!(body["path"][0]["name"], "上海市");
    assert_eq!(body["path"][1]["name"], "普陀区");
    assert_eq!(body["path"][1]["level"], "district");
}

#[tokio::test]
async fn gcj02_and_bd09_input_lands_within_a_metre_of_the_wgs84_answer() {
    let app = TestApp::spawn().await;
    let truth = cityloop_geo::LonLat::new(121.4350, 31.2470).unwrap();
    for crs in [cityloop_geo::Crs::Gcj02, cityloop_geo::Crs::Bd09] {
        let shifted = cityloop_geo::from_wgs84(crs, truth);
        let uri = format!(
            "/api/v1/locate?lon={}&lat={}&crs={crs}",
            shifted.lon, shifted.lat
        );
        let (status, body) = app.get(&uri, None).await;
        assert_eq!(status, StatusCode::OK);
        let back = cityloop_geo::LonLat::new(
            body["wgs84"]["lon"].as_f64().unwrap(),
            body["wgs84"]["lat"].as_f64().unwrap(),
        )
        .unwrap();
        let error_m = cityloop_geo::haversine_m(back, truth);
        assert!(error_m < 1.0, "{crs}: {error_m} m");
        assert!(
            cityloop_geo::haversine_m(shifted, truth) > 100.0,
            "{crs} really shifts"
        );
        assert_eq!(path_codes(&body["path"]), ["310000", "310107"]);
    }
}

#[tokio::test]
async fn points_on_the_huangpu_river_resolve_to_a_district_or_none() {
    let app = TestApp::spawn().await;
    // Across the river at the Bund, from Puxi to Pudong, and the river mouth.
    for (lon, lat) in [
        (121.4880, 31.2390),
        (121.4900, 31.2390),
        (121.4990, 31.2390),
        (121.5050, 31.2500),
        (121.5600, 31.3800),
    ] {
        let (status, body) = app
            .get(&format!("/api/v1/locate?lon={lon}&lat={lat}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{lon},{lat}");
        let codes = path_codes(&body["path"]);
        assert!(codes.len() <= 2, "{codes:?}");
        if let Some(district) = codes.get(1) {
            assert!(
                ["310101", "310109", "310110", "310115"].contains(&district.as_str()),
                "{lon},{lat} → {district}"
            );
        }
    }
    // Out at sea: no area, not an error.
    let (status, body) = app.get("/api/v1/locate?lon=123.0&lat=31.0", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["path"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn bad_coordinates_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    for (query, field) in [
        ("lon=121.4&lat=95", "lat"),
        ("lon=200&lat=31", "lon"),
        ("lon=abc&lat=31", "lon"),
        ("lon=121.4", "lat"),
        ("lon=121.4&lat=31.2&crs=mercator", "crs"),
        ("lon=121.4&lat=31.2&zoom=3", "zoom"),
    ] {
        let (status, body) = app.get(&format!("/api/v1/locate?{query}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["field"], field, "{query}: {body}");
        assert_eq!(body["status"], 400);
        assert!(
            body["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:cityloop:problem:")
        );
    }
}

#[tokio::test]
async fn responsibility_has_one_answer_or_says_no_one() {
    let app = TestApp::spawn().await;
    // 暴露垃圾 (06010) in 长寿路街道: the street office, by the finer row.
    let (status, body) = app
        .get(
            "/api/v1/responsibilities/resolve?category=06010&area_code=310107015",
            Some("operator"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["department"]["id"], "310107015-jd");
    assert_eq!(body["rule"]["category"], "class:06");
    // The same matter elsewhere in Putuo, found from a point.
    let (_, body) = app
        .get(
            "/api/v1/responsibilities/resolve?category=06010&lon=121.4350&lat=31.2470",
            Some("operator"),
        )
        .await;
    assert_eq!(body["department"]["id"], "310107-lhsr");
    // 徐汇区 has no demo responsibility list: explicitly no one.
    let (status, body) = app
        .get(
            "/api/v1/responsibilities/resolve?category=06010&area_code=310104",
            Some("operator"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["department"].is_null());
    assert!(body["rule"].is_null());
    // An unknown category is a clear error.
    let (status, body) = app
        .get(
            "/api/v1/responsibilities/resolve?category=99999&area_code=310107",
            Some("operator"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "category");
}

#[tokio::test]
async fn a_new_boundary_changes_what_a_point_resolves_to() {
    let app = TestApp::spawn().await;
    // A street polygon around the Changshou Road point, drawn by the admin.
    let square = json!({"type": "Polygon", "coordinates": [[
        [121.430, 31.243], [121.440, 31.243], [121.440, 31.251], [121.430, 31.251], [121.430, 31.243]
    ]]});
    let (status, body) = app
        .call(
            "PUT",
            "/api/v1/areas/310107015/shape",
            Some("admin"),
            Some(square),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, body) = app
        .get("/api/v1/locate?lon=121.4350&lat=31.2470", None)
        .await;
    assert_eq!(path_codes(&body["path"]), ["310000", "310107", "310107015"]);
    let (status, feature) = app.get("/api/v1/areas/310107015/shape", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(feature["properties"]["name"], "长寿路街道");

    // A broken ring is refused and changes nothing.
    let open_ring = json!({"type": "Polygon", "coordinates": [[[121.0, 31.0], [121.1, 31.0], [121.1, 31.1], [121.0, 31.2]]]});
    let (status, body) = app
        .call(
            "PUT",
            "/api/v1/areas/310107015/shape",
            Some("admin"),
            Some(open_ring),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "geometry");
    let (_, body) = app
        .get("/api/v1/locate?lon=121.4350&lat=31.2470", None)
        .await;
    assert_eq!(path_codes(&body["path"]).len(), 3);
}

#[tokio::test]
async fn log_in_gives_a_token_and_log_out_revokes_it() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "test-handler", "password": "wrong password"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["detail"], "wrong username or password");
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "test-handler", "password": common::PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(body["user"]["department"], "310107-cgzf");
    let request = |method: &str, uri: &str| {
        axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    use tower::ServiceExt;
    let me = app
        .router
        .clone()
        .oneshot(request("GET", "/api/v1/me"))
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let out = app
        .router
        .clone()
        .oneshot(request("POST", "/api/v1/auth/logout"))
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let me = app
        .router
        .clone()
        .oneshot(request("GET", "/api/v1/me"))
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    // Only that token: the user's other session (a wall screen) goes on…
    let (status, _) = app.get("/api/v1/me", Some("handler")).await;
    assert_eq!(status, StatusCode::OK);
    // …until they log out everywhere.
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/auth/logout?everywhere=true",
            Some("handler"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/api/v1/me", Some("handler")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_json_bodies_name_the_field() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .call(
            "PUT",
            "/api/v1/responsibilities",
            Some("admin"),
            Some(json!({"category": "06010", "area_code": 310107, "department": "310107-lhsr"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "area_code");
    let (status, body) = app
        .call(
            "PUT",
            "/api/v1/responsibilities",
            Some("admin"),
            Some(json!({"category": "06010", "area_code": "310107", "department": "no-such-unit"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "department");
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/users",
            Some("admin"),
            Some(json!({"username": "x", "display_name": "X", "role": "mayor", "password": "long enough pw"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "role");
}

#[tokio::test]
async fn personal_data_is_masked_for_roles_that_may_not_see_it() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .get("/api/v1/departments/310107-cgzf/users", Some("auditor"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let phones: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["phone"].as_str().unwrap())
        .collect();
    assert_eq!(phones, ["138****1234", "138****1234"]);
    let (_, body) = app
        .get("/api/v1/departments/310107-cgzf/users", Some("admin"))
        .await;
    assert_eq!(body[0]["phone"], "13812341234");
    let (_, me) = app.get("/api/v1/me", Some("citizen")).await;
    assert_eq!(me["phone"], "13812341234", "one sees one's own number");
}
