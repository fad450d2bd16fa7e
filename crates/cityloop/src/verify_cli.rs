//! `cityloop verify`: check the transparency log — offline against this
//! data directory's store (tree, checkpoints, tiles and every history row),
//! online against a server's public tiles, or a citizen's receipt.

use anyhow::{Context, bail};
use cityloop_store::Store;
use cityloop_tlog::NoteVerifier;
use cityloop_transparency::verify::{Report, Seen};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(subcommand)]
    pub what: Option<VerifyWhat>,
    /// Verify a running server's log (its base URL, e.g.
    /// http://127.0.0.1:8080) instead of this data directory.
    #[arg(long)]
    pub url: Option<String>,
    /// The log's verifier key to trust (default: the data directory's
    /// `transparency/log.vkey`, or online the server's own).
    #[arg(long)]
    pub key: Option<String>,
    /// Where checkpoints seen before are kept between runs (default:
    /// `<data_dir>/transparency/seen.json`).
    #[arg(long)]
    pub state: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum VerifyWhat {
    /// Show and prove every public step of a case from its receipt.
    Receipt {
        receipt: String,
        /// The server's base URL.
        #[arg(long)]
        url: String,
        #[arg(long)]
        key: Option<String>,
    },
}

fn pinned(key: Option<&str>) -> anyhow::Result<Option<NoteVerifier>> {
    key.map(|k| NoteVerifier::parse(k.trim()).context("--key"))
        .transpose()
}

fn print_report(report: &Report, against: &str) {
    println!("verified against: {against}");
    println!("origin: {}", report.origin);
    println!("checkpoint size: {}  root: {}", report.size, report.root);
    println!(
        "leaves recomputed: {}  checkpoints checked: {}  queued leaves: {}  history rows checked: {}",
        report.leaves_checked,
        report.checkpoints_checked,
        report.queued,
        report.history_rows_checked
    );
}

/// Runs `cityloop verify …`; an error (non-zero exit) when anything differs.
pub async fn run(
    args: VerifyArgs,
    data_dir: &Path,
    open_store: impl AsyncFnOnce() -> anyhow::Result<std::sync::Arc<dyn Store>>,
) -> anyhow::Result<()> {
    if let Some(VerifyWhat::Receipt { receipt, url, key }) = &args.what {
        let key = pinned(key.as_deref())?;
        let (view, problems) =
            cityloop_transparency::receipt::verify_receipt_online(url, receipt, key.as_ref())
                .await?;
        println!(
            "case {} — {} public steps, checkpoint size {}",
            view.case_id,
            view.steps.len(),
            view.tree_size
        );
        for step in &view.steps {
            let place = match step.leaf_index {
                Some(index) => format!("leaf {index}, proven"),
                None => "waiting for the next checkpoint".to_owned(),
            };
            println!(
                "  {:>3}  {:<22} {}  {} {}  ({place})",
                step.seq,
                step.action,
                step.at,
                step.role.as_deref().unwrap_or("-"),
                step.department.as_deref().unwrap_or("")
            );
        }
        if !problems.is_empty() {
            for problem in &problems {
                eprintln!("FAIL {problem}");
            }
            bail!("the receipt does not verify ({} problems)", problems.len());
        }
        println!("OK: every logged step is in the log under a checkpoint signed by the log's key");
        return Ok(());
    }
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| data_dir.join("transparency").join("seen.json"));
    if let Some(parent) = state_path.parent() {
        std::fs::create_dir_all(parent).ok();
    }
    let mut seen = Seen::load(&state_path)?;
    let pinned = pinned(args.key.as_deref())?;
    let (report, against) = match &args.url {
        Some(url) => {
            let base = format!("{}/transparency/log", url.trim_end_matches('/'));
            (
                cityloop_transparency::verify::verify_url(&base, pinned.as_ref(), &mut seen)
                    .await?,
                base,
            )
        }
        None => {
            let verifier = match pinned {
                Some(key) => key,
                None => cityloop_transparency::Keys::load_verifier(data_dir)?.with_context(|| {
                    format!(
                        "{} has no transparency/log.vkey: give --key or the data directory the server used",
                        data_dir.display()
                    )
                })?,
            };
            let pseudonyms = cityloop_transparency::Keys::load_pseudonyms(data_dir)?;
            if pseudonyms.is_none() {
                eprintln!(
                    "note: no pseudonym key here, so history rows are not checked against their leaves"
                );
            }
            let store = open_store().await?;
            (
                cityloop_transparency::verify::verify_store(
                    store.as_ref(),
                    &verifier,
                    pseudonyms.as_ref(),
                    &mut seen,
                )
                .await?,
                format!("the store of {}", data_dir.display()),
            )
        }
    };
    print_report(&report, &against);
    if !report.ok() {
        for problem in &report.problems {
            eprintln!("FAIL {problem}");
        }
        bail!(
            "the log does not verify ({} problems)",
            report.problems.len()
        );
    }
    seen.save(&state_path)?;
    println!("OK: the log verifies");
    Ok(())
}
