//! Receipts for citizens. Whoever reports a case is given a receipt
//! (`<case>-<tag>`, the tag a keyed MAC of the case number); with it anyone
//! holding it sees every public step of the case, each with its inclusion
//! proof against a signed checkpoint, and `cityloop verify receipt` checks
//! the proofs without trusting the server.

use crate::tiles::TileCache;
use crate::{Keys, Leaf, Record};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cityloop_store::Store;
use cityloop_tlog::{Checkpoint, NoteVerifier, leaf_hash};
use serde::{Deserialize, Serialize};

/// What the receipt page shows: the case's public steps and their proofs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReceiptView {
    pub case_id: i64,
    /// The signed checkpoint every proof is against (C2SP signed note).
    pub checkpoint: String,
    pub tree_size: u64,
    pub steps: Vec<Step>,
}

/// One public step of a case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub seq: u64,
    pub action: String,
    pub at: String,
    pub role: Option<String>,
    pub department: Option<String>,
    /// The leaf's index; `None` while it waits for the next checkpoint.
    pub leaf_index: Option<u64>,
    /// The leaf as logged (base64).
    pub leaf: String,
    /// RFC 9162 inclusion proof (base64 hashes) against `checkpoint`.
    pub inclusion: Vec<String>,
}

/// The receipt view, or `None` for a receipt whose tag does not match.
pub async fn receipt_view(
    store: &dyn Store,
    cache: &TileCache,
    keys: &Keys,
    receipt: &str,
) -> Result<Option<ReceiptView>, crate::Error> {
    let Some(case_id) = keys.pseudonyms.open_receipt(receipt) else {
        return Ok(None);
    };
    let Some((tree_size, note)) = store.latest_checkpoint().await? else {
        return Ok(Some(ReceiptView {
            case_id,
            checkpoint: String::new(),
            tree_size: 0,
            steps: steps_without_proofs(store, case_id).await?,
        }));
    };
    let mut steps = steps_without_proofs(store, case_id).await?;
    for step in &mut steps {
        let Some(index) = step.leaf_index.filter(|i| *i < tree_size) else {
            step.leaf_index = None;
            continue;
        };
        let proof = cache
            .with_tiles(store, |tiles| {
                cityloop_tlog::inclusion_proof(index, tree_size, tiles)
            })
            .await?;
        step.inclusion = proof.iter().map(|h| STANDARD.encode(h)).collect();
    }
    Ok(Some(ReceiptView {
        case_id,
        checkpoint: note,
        tree_size,
        steps,
    }))
}

async fn steps_without_proofs(store: &dyn Store, case_id: i64) -> Result<Vec<Step>, crate::Error> {
    let mut steps = Vec::new();
    for (index, data) in store.tlog_leaves_about(&format!("case:{case_id}")).await? {
        let leaf = Leaf::decode(&data)?;
        if let Record::Case {
            case,
            seq,
            action,
            actor,
            ..
        } = leaf.record
            && case == case_id
        {
            steps.push(Step {
                seq,
                action,
                at: leaf.at,
                role: actor.role,
                department: actor.department,
                leaf_index: index,
                leaf: STANDARD.encode(&data),
                inclusion: Vec::new(),
            });
        }
    }
    steps.sort_by_key(|s| s.seq);
    Ok(steps)
}

/// Checks a receipt view against the log's key: the checkpoint's signature,
/// and each logged step's inclusion proof and content. Returns one sentence
/// per problem (empty: verified).
pub fn check_receipt(view: &ReceiptView, verifier: &NoteVerifier) -> Vec<String> {
    let mut problems = Vec::new();
    let checkpoint = match verifier
        .verify(&view.checkpoint)
        .map_err(|e| e.to_string())
        .and_then(|text| Checkpoint::parse(&text).map_err(|e| e.to_string()))
    {
        Ok(checkpoint) => checkpoint,
        Err(error) => {
            problems.push(format!("the checkpoint does not verify: {error}"));
            return problems;
        }
    };
    for step in &view.steps {
        let Some(index) = step.leaf_index else {
            continue;
        };
        let Ok(data) = STANDARD.decode(&step.leaf) else {
            problems.push(format!("step {}: the leaf is not base64", step.seq));
            continue;
        };
        match Leaf::decode(&data) {
            Ok(Leaf {
                record: Record::Case {
                    case, seq, action, ..
                },
                ..
            }) if case == view.case_id && seq == step.seq && action == step.action => {}
            _ => problems.push(format!(
                "step {}: the leaf does not record this step of case {}",
                step.seq, view.case_id
            )),
        }
        let proof: Result<Vec<cityloop_tlog::Hash>, _> = step
            .inclusion
            .iter()
            .map(|h| {
                STANDARD
                    .decode(h)
                    .ok()
                    .and_then(|b| <cityloop_tlog::Hash>::try_from(b).ok())
                    .ok_or(())
            })
            .collect();
        let verified = proof.ok().is_some_and(|proof| {
            cityloop_tlog::verify_inclusion(
                &leaf_hash(&data),
                index,
                checkpoint.size,
                &proof,
                &checkpoint.root,
            )
            .is_ok()
        });
        if !verified {
            problems.push(format!(
                "step {} ({}): the inclusion proof of leaf {index} does not verify against the checkpoint",
                step.seq, step.action
            ));
        }
    }
    problems
}

/// Fetches a receipt from a server and checks it against the server's key
/// (or a pinned one).
pub async fn verify_receipt_online(
    server: &str,
    receipt: &str,
    pinned: Option<&NoteVerifier>,
) -> Result<(ReceiptView, Vec<String>), crate::Error> {
    let server = server.trim_end_matches('/');
    let fetch = |url: String| async move {
        let response = reqwest::get(&url)
            .await
            .map_err(|e| crate::Error::Fetch(format!("{url}: {e}")))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| crate::Error::Fetch(format!("{url}: {e}")))?;
        if !status.is_success() {
            return Err(crate::Error::Fetch(format!("{url}: HTTP {status}")));
        }
        Ok(body)
    };
    let verifier = match pinned {
        Some(key) => key.clone(),
        None => NoteVerifier::parse(
            fetch(format!("{server}/transparency/log/key"))
                .await?
                .trim(),
        )?,
    };
    let body = fetch(format!("{server}/api/v1/receipts/{receipt}")).await?;
    let view: ReceiptView = serde_json::from_str(&body)
        .map_err(|e| crate::Error::Receipt(format!("the server's answer does not parse: {e}")))?;
    let problems = check_receipt(&view, &verifier);
    Ok((view, problems))
}
