//! `cityloop verify`: recompute the tree from the leaves and hold it
//! against every signed checkpoint, the stored tiles, the checkpoints seen
//! before (a state file), and — offline, with the pseudonym key — every
//! row of every case's history. A report lists exactly what differs.

use crate::{Leaf, Pseudonyms, Record};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cityloop_store::{Hash, Store};
use cityloop_tlog::{Appender, Checkpoint, NoteVerifier, leaf_hash};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// What a verification found.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Report {
    pub origin: String,
    /// Size of the latest signed checkpoint.
    pub size: u64,
    pub root: String,
    pub checkpoints_checked: usize,
    pub leaves_checked: u64,
    /// Leaves queued, not yet in a checkpoint.
    pub queued: u64,
    pub history_rows_checked: u64,
    /// Every difference, one sentence each. Empty: verified.
    pub problems: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checkpoints a verifier has seen before, kept between runs, so a log
/// that rewrote its past is caught even with a fresh signature.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Seen {
    pub checkpoints: Vec<SeenCheckpoint>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SeenCheckpoint {
    pub origin: String,
    pub size: u64,
    pub root: String,
}

impl Seen {
    pub fn load(path: &Path) -> Result<Seen, crate::Error> {
        if !path.exists() {
            return Ok(Seen::default());
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| crate::Error::Fetch(format!("{}: {e}", path.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| crate::Error::Fetch(format!("{}: {e}", path.display())))
    }

    pub fn save(&self, path: &Path) -> Result<(), crate::Error> {
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        std::fs::write(path, text)
            .map_err(|e| crate::Error::Fetch(format!("{}: {e}", path.display())))
    }

    fn remember(&mut self, checkpoint: &Checkpoint) {
        let seen = SeenCheckpoint {
            origin: checkpoint.origin.clone(),
            size: checkpoint.size,
            root: STANDARD.encode(checkpoint.root),
        };
        if !self.checkpoints.contains(&seen) {
            self.checkpoints.push(seen);
        }
    }
}

/// Recomputes the tree over `leaves` (in index order) and checks it
/// against signed checkpoints and previously seen ones; returns the
/// appender over all leaves.
fn check_tree(
    report: &mut Report,
    leaves: &[Vec<u8>],
    checkpoints: &[(u64, String)],
    verifier: &NoteVerifier,
    seen: &mut Seen,
) -> Appender {
    let mut wanted: BTreeMap<u64, Vec<(String, Hash)>> = BTreeMap::new();
    let mut latest: Option<Checkpoint> = None;
    for (size, note) in checkpoints {
        let text = match verifier.verify(note) {
            Ok(text) => text,
            Err(error) => {
                report.problems.push(format!(
                    "checkpoint at size {size}: signature does not verify ({error})"
                ));
                continue;
            }
        };
        match Checkpoint::parse(&text) {
            Ok(checkpoint) if checkpoint.size == *size && checkpoint.origin == verifier.name() => {
                wanted
                    .entry(*size)
                    .or_default()
                    .push((format!("signed checkpoint at size {size}"), checkpoint.root));
                if latest.as_ref().is_none_or(|l| l.size < checkpoint.size) {
                    latest = Some(checkpoint);
                }
            }
            Ok(checkpoint) => report.problems.push(format!(
                "checkpoint stored at size {size} says origin {} size {}",
                checkpoint.origin, checkpoint.size
            )),
            Err(error) => report
                .problems
                .push(format!("checkpoint at size {size} does not parse: {error}")),
        }
        report.checkpoints_checked += 1;
    }
    for earlier in &seen.checkpoints {
        if earlier.origin != verifier.name() {
            continue;
        }
        match STANDARD.decode(&earlier.root).ok().and_then(|b| <Hash>::try_from(b).ok()) {
            Some(root) if earlier.size <= leaves.len() as u64 => wanted
                .entry(earlier.size)
                .or_default()
                .push((format!("checkpoint seen earlier at size {}", earlier.size), root)),
            Some(_) => report.problems.push(format!(
                "a checkpoint of size {} was seen earlier, but the log now has only {} leaves: it shrank",
                earlier.size,
                leaves.len()
            )),
            None => report
                .problems
                .push(format!("state file: bad root for size {}", earlier.size)),
        }
    }
    let mut appender = Appender::empty();
    let check_at = |appender: &Appender, report: &mut Report| {
        if let Some(claims) = wanted.get(&appender.size()) {
            for (what, root) in claims {
                if *root != appender.root() {
                    report.problems.push(format!(
                        "{what}: root {} differs from the tree recomputed from the leaves ({}) — a leaf before index {} was changed, removed or reordered",
                        STANDARD.encode(root),
                        STANDARD.encode(appender.root()),
                        appender.size()
                    ));
                }
            }
        }
    };
    check_at(&appender, report);
    for leaf in leaves {
        appender.push(leaf_hash(leaf));
        check_at(&appender, report);
    }
    report.leaves_checked = leaves.len() as u64;
    if let Some(latest) = latest {
        report.origin = latest.origin.clone();
        report.size = latest.size;
        report.root = STANDARD.encode(latest.root);
        if report.problems.is_empty() {
            seen.remember(&latest);
        }
    }
    appender
}

/// Verifies a store (a data directory's database, or PostgreSQL):
/// checkpoints, tiles, and — given the pseudonym key — every history row
/// against its leaf.
pub async fn verify_store(
    store: &dyn Store,
    verifier: &NoteVerifier,
    pseudonyms: Option<&Pseudonyms>,
    seen: &mut Seen,
) -> Result<Report, crate::Error> {
    let mut report = Report::default();
    let all = store.tlog_all_leaves().await?;
    let mut sequenced: Vec<(u64, &Vec<u8>)> = Vec::new();
    for (index, data) in &all {
        match index {
            Some(index) => sequenced.push((*index, data)),
            None => report.queued += 1,
        }
    }
    sequenced.sort_by_key(|(index, _)| *index);
    let mut leaves = Vec::with_capacity(sequenced.len());
    for (position, (index, data)) in sequenced.iter().enumerate() {
        if *index != position as u64 {
            report.problems.push(format!(
                "leaf indices are not contiguous: found {index} where {position} belongs"
            ));
            break;
        }
        leaves.push((*data).clone());
    }
    let stored_size = store.tlog_size().await?;
    if stored_size != leaves.len() as u64 {
        report.problems.push(format!(
            "the log's state says {stored_size} leaves are sequenced, {} are",
            leaves.len()
        ));
    }
    let checkpoints = store.tlog_checkpoints().await?;
    let mut appender = check_tree(&mut report, &leaves, &checkpoints, verifier, seen);

    // Stored tiles must be exactly the recomputed ones.
    for (id, hashes) in appender.take_dirty() {
        let stored = store
            .tlog_tile(id.level, id.index)
            .await?
            .unwrap_or_default();
        if stored.len() < hashes.len() {
            report.problems.push(format!(
                "tile {}/{} holds {} hashes, the tree needs {}",
                id.level,
                id.index,
                stored.len(),
                hashes.len()
            ));
            continue;
        }
        for (k, (mine, theirs)) in hashes.iter().zip(&stored).enumerate() {
            if mine != theirs {
                let first = (id.index * 256 + k as u64) << (8 * u32::from(id.level));
                report.problems.push(format!(
                    "tile {}/{} hash {k} differs from the recomputed tree (leaf {first}{})",
                    id.level,
                    id.index,
                    if id.level == 0 {
                        ": its entry was changed after it was logged"
                    } else {
                        " onwards"
                    }
                ));
            }
        }
    }

    if let Some(pseudonyms) = pseudonyms {
        check_history(store, pseudonyms, &all, &mut report).await?;
    }
    Ok(report)
}

/// Every history row must have its leaf with the row's commitment, and
/// every case leaf its row.
async fn check_history(
    store: &dyn Store,
    pseudonyms: &Pseudonyms,
    all: &[(Option<u64>, Vec<u8>)],
    report: &mut Report,
) -> Result<(), crate::Error> {
    let mut logged: BTreeMap<(i64, u64), (String, String)> = BTreeMap::new();
    let mut reports: BTreeMap<i64, (String, String)> = BTreeMap::new();
    let mut attachments: BTreeMap<i64, (String, String)> = BTreeMap::new();
    for (position, (index, data)) in all.iter().enumerate() {
        let place = match index {
            Some(index) => format!("log leaf {index}"),
            None => format!("queued leaf #{position}"),
        };
        match Leaf::decode(data) {
            Ok(Leaf {
                record:
                    Record::Case {
                        case,
                        seq,
                        row,
                        detail,
                        ..
                    },
                ..
            }) => {
                if let Some(report) = detail.get("report") {
                    reports.insert(case, (place.clone(), report.clone()));
                }
                if let Some(commitment) = detail.get("attachments") {
                    attachments.insert(case, (place.clone(), commitment.clone()));
                }
                if logged.insert((case, seq), (place.clone(), row)).is_some() {
                    report.problems.push(format!(
                        "{place} records case {case} event {seq} a second time"
                    ));
                }
            }
            Ok(_) => {}
            Err(error) => report.problems.push(format!("{place} {error}")),
        }
    }
    for row in store.all_case_events().await? {
        report.history_rows_checked += 1;
        let key = (row.case_id, row.seq);
        match logged.remove(&key) {
            None => report.problems.push(format!(
                "case {} event {} ({}) has no log leaf: it was written outside the log or reordered",
                row.case_id, row.seq, row.kind
            )),
            Some((place, commitment)) if commitment != pseudonyms.row(&row) => {
                report.problems.push(format!(
                    "case {} event {} ({}): the history row differs from what {place} recorded — edited or reordered",
                    row.case_id, row.seq, row.kind
                ));
            }
            Some(_) => {}
        }
    }
    for (case, (place, commitment)) in reports {
        match store.case(case).await? {
            Some(row) if pseudonyms.report(&row) == commitment => {}
            Some(_) => report.problems.push(format!(
                "case {case}: what was reported (description, address, point, reporter or contact) differs from what {place} recorded — edited"
            )),
            None => report
                .problems
                .push(format!("{place} records the report of case {case}, which is missing: deleted")),
        }
    }
    for (case, (place, commitment)) in attachments {
        let report_row = store.case_report(case).await?;
        let photos = store.case_media(case).await?;
        for photo in photos.iter().filter(|p| p.public) {
            let bytes = store.media(&photo.id).await?.map(|m| m.bytes);
            if bytes.is_none_or(|b| crate::sha256_hex(&b) != photo.sha256) {
                report.problems.push(format!(
                    "case {case}: photo {} does not match its recorded SHA-256 — replaced",
                    photo.id
                ));
            }
        }
        if pseudonyms.attachments(case, report_row.as_ref(), &photos) != commitment {
            report.problems.push(format!(
                "case {case}: the report's attributes or photos differ from what {place} recorded — edited, replaced or deleted"
            ));
        }
    }
    for ((case, seq), (place, _)) in logged {
        report.problems.push(format!(
            "{place} records case {case} event {seq}, which is missing from the history: deleted"
        ));
    }
    Ok(())
}

/// Verifies a running server's log over HTTP, from its public tiles alone.
pub async fn verify_url(
    base: &str,
    pinned_key: Option<&NoteVerifier>,
    seen: &mut Seen,
) -> Result<Report, crate::Error> {
    let base = base.trim_end_matches('/');
    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = client.clone();
        let url = format!("{base}/{path}");
        async move {
            let response = client
                .get(&url)
                .send()
                .await
                .map_err(|e| crate::Error::Fetch(format!("{url}: {e}")))?;
            if !response.status().is_success() {
                return Err(crate::Error::Fetch(format!(
                    "{url}: HTTP {}",
                    response.status()
                )));
            }
            response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| crate::Error::Fetch(format!("{url}: {e}")))
        }
    };
    let served_key = String::from_utf8_lossy(&get("key".into()).await?)
        .trim()
        .to_owned();
    let verifier = NoteVerifier::parse(&served_key)?;
    let mut report = Report::default();
    if let Some(pinned) = pinned_key
        && pinned.to_vkey() != verifier.to_vkey()
    {
        report.problems.push(format!(
            "the server publishes key {served_key}, not the pinned {}",
            pinned.to_vkey()
        ));
        return Ok(report);
    }
    let note = String::from_utf8(get("checkpoint".into()).await?)
        .map_err(|_| crate::Error::Fetch("checkpoint is not UTF-8".into()))?;
    let text = verifier.verify(&note)?;
    let checkpoint = Checkpoint::parse(&text)?;
    let size = checkpoint.size;
    let mut leaves = Vec::with_capacity(size as usize);
    let mut tile = 0u64;
    while (leaves.len() as u64) < size {
        let width = (size - tile * 256).min(256) as u16;
        let path = cityloop_tlog::entries_path(tile, width);
        let bundle = cityloop_tlog::decode_entry_bundle(&get(path.clone()).await?)?;
        if bundle.len() != usize::from(width) {
            report.problems.push(format!(
                "{path}: {} entries, expected {width}",
                bundle.len()
            ));
            return Ok(report);
        }
        let hashes = get(cityloop_tlog::tile_path(cityloop_tlog::TileId {
            level: 0,
            index: tile,
            width,
        }))
        .await?;
        for (k, entry) in bundle.iter().enumerate() {
            let stored = hashes.get(k * 32..k * 32 + 32);
            if stored != Some(&leaf_hash(entry)[..]) {
                report.problems.push(format!(
                    "leaf {}: its entry does not hash to the served tile's hash",
                    tile * 256 + k as u64
                ));
            }
        }
        leaves.extend(bundle);
        tile += 1;
    }
    check_tree(&mut report, &leaves, &[(size, note)], &verifier, seen);
    Ok(report)
}
