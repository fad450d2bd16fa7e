//! `cityloop import dataset`, `cityloop import quarantine`, `cityloop bench
//! hub` and the data hub's part of the demo.

use anyhow::Context;
use chrono::Utc;
use cityloop_hub::{Library, Mapping};
use cityloop_import::dataset::{ImportOutcome, ImportProgress, ImportRequest, import_dataset};
use cityloop_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// Reads a mapping and its text: a file, or the id of a bundled mapping.
pub fn read_mapping(mapping: &str) -> anyhow::Result<(Mapping, String)> {
    let text = match cityloop_hub::mapping::bundled(mapping) {
        Some(text) => text.to_owned(),
        None => std::fs::read_to_string(mapping).with_context(|| {
            format!("reading mapping {mapping} (a file, or a bundled mapping id)")
        })?,
    };
    let parsed = Mapping::parse(&text).map_err(|e| anyhow::anyhow!("{mapping}: {e}"))?;
    Ok((parsed, text))
}

struct Bytes {
    bar: ProgressBar,
}

impl ImportProgress for Bytes {
    fn start(&self, total: u64, from: u64) {
        self.bar
            .set_draw_target(indicatif::ProgressDrawTarget::stderr());
        self.bar.set_length(total);
        self.bar.set_position(from);
        self.bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    }
    fn advance(&self, bytes: u64, accepted: u64, rejected: u64) {
        self.bar.set_position(bytes);
        self.bar
            .set_message(format!("{accepted} accepted, {rejected} quarantined"));
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Imports one file; prints what it did.
#[allow(clippy::too_many_arguments)]
pub async fn import_file(
    store: &dyn Store,
    keys: &cityloop_transparency::Keys,
    file: &Path,
    mapping: Option<&str>,
    dataset: &str,
    fixes: Option<i64>,
    threads: usize,
    stop_after_batches: Option<u64>,
) -> anyhow::Result<ImportOutcome> {
    let library = Library::bundled()?;
    let (mapping, mapping_text) = match (mapping, fixes) {
        (Some(mapping), _) => read_mapping(mapping)?,
        // A fix goes through the mapping the fixed import used.
        (None, Some(fixed)) => {
            let earlier = store
                .hub()
                .hub_import(fixed)
                .await?
                .ok_or_else(|| anyhow::anyhow!("import {fixed} not found"))?;
            let parsed = Mapping::parse(&earlier.mapping_text)
                .map_err(|e| anyhow::anyhow!("the mapping of import {fixed}: {e}"))?;
            (parsed, earlier.mapping_text)
        }
        (None, None) => {
            anyhow::bail!("name the mapping with --mapping (or fix an import with --fixes)")
        }
    };
    let pseudonyms = keys.pseudonyms.clone();
    let progress = Bytes {
        bar: ProgressBar::hidden(),
    };
    let outcome = import_dataset(
        store,
        ImportRequest {
            library: &library,
            mapping: &mapping,
            mapping_text: &mapping_text,
            dataset,
            path: file,
            file_name: file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            by: None,
            fixes,
            now: Utc::now(),
            threads,
            stop_after_batches,
        },
        cityloop_api::hub::pseudonymise(&pseudonyms),
        &progress,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    Ok(outcome)
}

/// Prints an import's outcome, with the quality report's per-field lines.
pub fn print_outcome(file: &Path, dataset: &str, outcome: &ImportOutcome) {
    if let Some(line) = outcome.resumed_at_line {
        println!("resumed import {} at line {line}", outcome.import_id);
    }
    println!(
        "{}: import {} into {dataset}: {} accepted, {} quarantined{}",
        file.display(),
        outcome.import_id,
        outcome.accepted,
        outcome.rejected,
        if outcome.finished {
            ""
        } else {
            " (stopped early: run again to resume)"
        }
    );
    let quality = &outcome.quality;
    println!(
        "quality of the rows read now: {} rows, {} duplicate keys",
        quality.rows, quality.duplicates
    );
    for field in &quality.fields {
        println!(
            "  {:<16} {}",
            field.field,
            serde_json::to_string(field).unwrap_or_default()
        );
    }
    if outcome.rejected > 0 {
        println!(
            "see the quarantined lines with `cityloop import quarantine {}`",
            outcome.import_id
        );
    }
}

/// Prints an import's open quarantine (line, reasons, raw text), or writes
/// it as a file in the department's own format to fix and re-import.
pub async fn print_quarantine(
    store: &dyn Store,
    import_id: i64,
    all: bool,
    csv: Option<&Path>,
) -> anyhow::Result<()> {
    let rows = store.hub().quarantine(import_id, !all).await?;
    let Some(import) = store.hub().hub_import(import_id).await? else {
        anyhow::bail!("import {import_id} not found");
    };
    if let Some(path) = csv {
        let bytes = cityloop_import::dataset::quarantine_file(&import, &rows)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
        let open = rows.iter().filter(|r| r.fixed_by.is_none()).count();
        println!(
            "{}: {open} quarantined lines of import {import_id}, with the file's header; fix them and run\n  cityloop import dataset {} --dataset {} --fixes {import_id}",
            path.display(),
            path.display(),
            import.dataset
        );
        return Ok(());
    }
    for row in rows {
        let fixed = row
            .fixed_by
            .map(|id| format!(" (fixed by import {id})"))
            .unwrap_or_default();
        println!("line {}{fixed}: {}", row.line, row.reasons.join("; "));
        println!("    {}", row.raw);
    }
    Ok(())
}

/// `cityloop bench hub`: maps and validates a synthetic GBK population CSV
/// of `rows` rows, beside plainly parsing the same file.
pub fn bench(rows: usize, dir: Option<PathBuf>) -> anyhow::Result<()> {
    let keep;
    let dir = match dir {
        Some(dir) => dir,
        None => {
            keep = tempfile::Builder::new().prefix("cityloop-hub-").tempdir()?;
            keep.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&dir)?;
    let report = cityloop_hub::bench(rows, &dir)?;
    println!(
        "file: {} rows, {:.1} MB GBK CSV (synthetic), {} worker threads",
        report.rows,
        report.file_bytes as f64 / 1e6,
        report.threads
    );
    println!(
        "plain parse (csv crate, no decoding):  {:>12.0} rows/s",
        report.plain_parse_rows_per_s
    );
    println!(
        "decode + map + validate + quality:     {:>12.0} rows/s ({:.0} rows per CPU-second)",
        report.mapped_rows_per_s, report.mapped_rows_per_cpu_s
    );
    println!(
        "accepted {}, quarantined {}",
        report.accepted, report.rejected
    );
    Ok(())
}

/// The demo's data hub: two departments' population registers in their
/// own formats (a GBK CSV, an XLSX) and a component list, imported through
/// their mappings; the civil affairs bureau's approved grant on the
/// police's register. Synthetic data, written to `data_dir/hub-demo/`.
pub async fn load_demo(
    store: &dyn Store,
    keys: &cityloop_transparency::Keys,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let dir = data_dir.join("hub-demo");
    let files = cityloop_hub::demo::write_files(&dir)?;
    let plan = [
        (0, "demo-putuo-police-population", DEMO_POLICE_DATASET),
        (1, "demo-civil-affairs-population", DEMO_CIVIL_DATASET),
        (2, "demo-putuo-cgj-component", DEMO_COMPONENT_DATASET),
    ];
    for (index, mapping, dataset) in plan {
        if store.hub().count_hub_rows(dataset).await? > 0 {
            continue;
        }
        let outcome = import_file(
            store,
            keys,
            &files[index],
            Some(mapping),
            dataset,
            None,
            2,
            None,
        )
        .await?;
        tracing::info!(
            dataset,
            accepted = outcome.accepted,
            quarantined = outcome.rejected,
            "demo data hub import"
        );
    }
    Ok(())
}

/// The demo's datasets.
pub const DEMO_POLICE_DATASET: &str = "putuo-police-population";
pub const DEMO_CIVIL_DATASET: &str = "putuo-civil-affairs-population";
pub const DEMO_COMPONENT_DATASET: &str = "putuo-components";

/// The demo's sharing: the civil affairs bureau's grant on the police
/// register (name, sex, age band, mobile, area; for checking old-age
/// allowances), approved by the police sub-bureau's lead; and the demo
/// citizen's account bound to one of the people in both registers, so the
/// tracker shows the bureau's reads. Done once per data directory.
pub async fn ensure_demo_sharing(
    store: &dyn Store,
    keys: &cityloop_transparency::Keys,
) -> anyhow::Result<()> {
    use cityloop_store::hub::{GRANT_APPROVED, GRANT_REQUESTED, HubGrant};
    let hub = store.hub();
    let user = |name: &'static str| async move {
        store
            .user_credentials(name)
            .await?
            .map(|(user, _)| user)
            .ok_or_else(|| anyhow::anyhow!("demo user {name} missing"))
    };
    let civil = user("demo-civil-lead").await?;
    let police = user("demo-police-lead").await?;
    let citizen = user("demo-citizen").await?;
    if hub
        .grants(Some(DEMO_POLICE_DATASET), None)
        .await?
        .is_empty()
    {
        let now = Utc::now();
        let grant = HubGrant {
            id: 0,
            dataset: DEMO_POLICE_DATASET.into(),
            department: civil
                .department
                .clone()
                .ok_or_else(|| anyhow::anyhow!("the civil affairs lead has no department"))?,
            fields: ["name", "sex", "age_band", "mobile", "area_code"]
                .map(str::to_owned)
                .to_vec(),
            purpose: "高龄津贴资格核对（演示）".into(),
            valid_from: now,
            valid_until: now + chrono::Duration::days(90),
            status: GRANT_REQUESTED.into(),
            requested_by: civil.id,
            requested_at: now,
            decided_by: None,
            decided_at: None,
            note: String::new(),
        };
        let id = hub.put_grant(grant, Vec::new()).await?;
        hub.decide_grant(
            id,
            GRANT_REQUESTED,
            GRANT_APPROVED,
            police.id,
            now,
            "演示：批准",
            Vec::new(),
        )
        .await?;
    }
    if hub.person_of(citizen.id).await?.is_none() {
        let person = cityloop_hub::demo::people(1)
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no demo person"))?;
        hub.bind_person(
            citizen.id,
            &keys.pseudonyms.person(&person.id_number),
            Vec::new(),
        )
        .await?;
    }
    Ok(())
}
