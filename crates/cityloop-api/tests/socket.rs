//! Through a real socket on port 0: the per-client rate limit and the body
//! size limit, which need the served stack rather than the bare router.

mod common;

use cityloop_api::ApiLimits;
use common::TestApp;

async fn served(limits: ApiLimits) -> (String, tokio::sync::oneshot::Sender<()>, TestApp) {
    let app = TestApp::spawn_with(limits).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = app.state.clone();
    tokio::spawn(async move {
        cityloop_api::serve(listener, state, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (base, stop, app)
}

#[tokio::test]
async fn a_client_that_bursts_past_its_limit_gets_429_with_a_problem() {
    let limits = ApiLimits {
        rate_per_second: 1,
        rate_burst: 5,
        ..ApiLimits::default()
    };
    let (base, stop, _app) = served(limits).await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let response = client.get(format!("{base}/healthz")).send().await.unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["type"], "urn:cityloop:problem:rate-limited");
        }
    }
    assert_eq!(&statuses[..5], &[200; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|&s| s == 429), "{statuses:?}");
    let _ = stop.send(());
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let limits = ApiLimits {
        body_bytes_max: 4096,
        ..ApiLimits::default()
    };
    let (base, stop, app) = served(limits).await;
    let big = format!(
        r#"{{"type":"Polygon","coordinates":[[{}]]}}"#,
        vec!["[121.4,31.2]"; 2000].join(",")
    );
    let response = reqwest::Client::new()
        .put(format!("{base}/api/v1/areas/310107015/shape"))
        .bearer_auth(app.token("admin"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let _ = stop.send(());
}
