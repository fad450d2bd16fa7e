//! Style rules that can be checked are checked (after rust-analyzer's
//! `tidy`): every source file opens with a `//!` doc saying what it is for,
//! and no SQL lives outside the two store crates.

use std::path::{Path, PathBuf};

fn rust_sources(directory: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

fn crate_sources() -> Vec<(String, PathBuf)> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut all = Vec::new();
    for entry in std::fs::read_dir(&crates).unwrap() {
        let crate_dir = entry.unwrap().path();
        let src = crate_dir.join("src");
        if !src.is_dir() {
            continue;
        }
        let name = crate_dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut files = Vec::new();
        rust_sources(&src, &mut files);
        all.extend(files.into_iter().map(|f| (name.clone(), f)));
    }
    assert!(all.len() > 20, "found only {} source files", all.len());
    all
}

#[test]
fn every_source_file_opens_with_a_module_doc() {
    let missing: Vec<String> = crate_sources()
        .into_iter()
        .filter(|(_, path)| {
            !std::fs::read_to_string(path)
                .unwrap()
                .trim_start()
                .starts_with("//!")
        })
        .map(|(_, path)| path.display().to_string())
        .collect();
    assert!(missing.is_empty(), "add a //! doc to: {missing:#?}");
}

#[test]
fn no_sql_outside_the_store_crates() {
    let statements = [
        "SELECT ",
        "INSERT INTO",
        "UPDATE cases",
        "DELETE FROM",
        "CREATE TABLE",
    ];
    let offenders: Vec<String> = crate_sources()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("cityloop-store"))
        .filter(|(_, path)| {
            let text = std::fs::read_to_string(path).unwrap();
            statements.iter().any(|s| text.contains(s))
        })
        .map(|(_, path)| path.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "SQL belongs in the store crates: {offenders:#?}"
    );
}
