//! Builds the web app (`web/` → `web/dist`) for the demo, so the README's
//! one command gives the dashboard too: `npm ci` when the lockfile changed,
//! `npm run build` when a source is newer than the build. Several demos
//! starting at once (the test suite) build once: the first holds a lock
//! file, the others wait for it and find the build fresh. Without Node.js
//! the demo still runs and `/app/` says how to build.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

/// The web app's source tree beside the binary's sources.
pub fn source_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web")
}

/// What happened.
pub enum Outcome {
    Fresh,
    Rebuilt,
    /// No sources, or no npm: why.
    Skipped(String),
}

/// The newest modification time under `path` (files only).
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| newest(&entry.path()))
        .max()
}

fn npm(web: &Path, args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("npm")
        .args(args)
        .current_dir(web)
        .stdin(Stdio::null())
        .output()?;
    if !output.status.success() {
        anyhow::bail!(
            "npm {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Builds `web/dist` if it is missing or older than its sources.
pub fn ensure_built(web: &Path) -> anyhow::Result<Outcome> {
    if !web.join("package.json").is_file() {
        return Ok(Outcome::Skipped(
            "no web/ sources beside this binary".into(),
        ));
    }
    let lock_path = web.join(".cityloop-build.lock");
    let lock = std::fs::File::create(&lock_path)?;
    lock.lock()?;
    let sources = [
        "src",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "tsconfig.json",
    ]
    .iter()
    .filter_map(|p| newest(&web.join(p)))
    .max();
    let built = newest(&web.join("dist/index.html"));
    if let (Some(sources), Some(built)) = (sources, built)
        && built >= sources
    {
        return Ok(Outcome::Fresh);
    }
    let npm_found = Command::new("npm")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !npm_found {
        return Ok(Outcome::Skipped(
            "Node.js and npm are not installed (the API and the citizen page work without it)"
                .into(),
        ));
    }
    let installed = newest(&web.join("node_modules/.package-lock.json"));
    let locked = newest(&web.join("package-lock.json"));
    if installed.is_none() || installed < locked {
        println!("building the web app: npm ci (first time: a minute) …");
        npm(web, &["ci", "--no-audit", "--no-fund", "--prefer-offline"])?;
    }
    println!("building the web app: npm run build …");
    npm(web, &["run", "build"])?;
    Ok(Outcome::Rebuilt)
}
