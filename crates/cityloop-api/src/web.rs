//! The web application (command dashboard and case workbench), built from
//! `web/` into a directory of static files and served at `/app/` — no
//! separate web server. When the directory holds no build, `/app/` says how
//! to make one.

use crate::AppState;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use std::path::PathBuf;
use tower_http::services::ServeDir;

/// The build the binary serves when configuration names none: `web/dist`
/// of the source tree it was built from.
pub fn default_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web/dist")
}

pub fn router(dir: Option<PathBuf>) -> Router<AppState> {
    let dir = dir.unwrap_or_else(default_dir);
    let redirect = get(|| async { Redirect::permanent("/app/") });
    if dir.join("index.html").is_file() {
        Router::new().route("/app", redirect).nest_service(
            "/app/",
            ServeDir::new(dir).append_index_html_on_directories(true),
        )
    } else {
        let shown = dir.display().to_string();
        Router::new().route("/app", redirect).route(
            "/app/",
            get(move || {
                let shown = shown.clone();
                async move { not_built(&shown) }
            }),
        )
    }
}

fn not_built(dir: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CACHE_CONTROL, "no-store")],
        Html(format!(
            "<!doctype html><meta charset=utf-8><title>cityloop</title>\
             <h1>The web app is not built</h1>\
             <p>No build in <code>{}</code>. With Node.js and npm installed, \
             <code>cityloop demo</code> builds it; or run \
             <code>npm --prefix web ci &amp;&amp; npm --prefix web run build</code> \
             and restart (or set <code>web_dir</code> in the configuration).</p>",
            html_escape(dir)
        )),
    )
        .into_response()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
