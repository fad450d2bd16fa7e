//! The sequencer: gives queued leaves their place in the tree and signs a
//! checkpoint, inside the store's sequencing transaction
//! ([`cityloop_store::Store::sequence_leaves`]).
//!
//! Invariant: it signs only an extension of the last signed tree. Before
//! appending it checks that the stored right edge hashes to the latest
//! checkpoint's root and that this checkpoint carries its own signature; if
//! not (tiles edited, a second signing key), it signs nothing and says why.

use crate::Keys;
use cityloop_store::{SequenceInput, SequenceOutput, Sequencer, Store};
use cityloop_tlog::{Appender, Checkpoint, leaf_hash};
use std::sync::Arc;
use std::time::Duration;

/// Leaves sequenced per transaction.
pub const BATCH: u32 = 20_000;

/// The sequencing step for one transaction.
pub fn sequencer(keys: &Keys) -> Sequencer {
    let signer = Arc::clone(&keys.signer);
    Box::new(move |input: SequenceInput| {
        let origin = signer.name().to_owned();
        let mut appender = Appender::new(input.size, input.edge).map_err(|error| {
            format!("stored tiles do not form a tree of {}: {error}", input.size)
        })?;
        match &input.latest_checkpoint {
            Some(note) => {
                let text = signer.verifier().verify(note).map_err(|error| {
                    format!("the latest checkpoint is not signed by this log's key ({error}); refusing to sign")
                })?;
                let latest = Checkpoint::parse(&text).map_err(|error| error.to_string())?;
                if latest.origin != origin || latest.size != input.size {
                    return Err(format!(
                        "the latest checkpoint is for {} at size {}, the store is at {}",
                        latest.origin, latest.size, input.size
                    ));
                }
                if latest.root != appender.root() {
                    return Err(format!(
                        "the stored tiles of size {} do not hash to the latest signed root; refusing to sign",
                        input.size
                    ));
                }
            }
            None if input.size != 0 => {
                return Err(format!("{} leaves sequenced but no checkpoint", input.size));
            }
            None => {}
        }
        for leaf in &input.leaves {
            appender.push(leaf_hash(leaf));
        }
        let checkpoint = Checkpoint {
            origin,
            size: appender.size(),
            root: appender.root(),
            extensions: Vec::new(),
        };
        let note = signer
            .sign(&checkpoint.to_text())
            .map_err(|error| error.to_string())?;
        Ok(SequenceOutput {
            tiles: appender.take_dirty(),
            size: checkpoint.size,
            checkpoint: note,
        })
    })
}

/// Sequences everything queued now; returns the tree size.
pub async fn sequence_all(store: &dyn Store, keys: &Keys) -> Result<u64, crate::Error> {
    while store
        .sequence_leaves(BATCH, sequencer(keys))
        .await?
        .is_some()
    {}
    Ok(store.tlog_size().await?)
}

/// Runs for ever: sequences and signs whatever is queued, then waits
/// `interval`. Several processes may run it; the store serialises them.
pub async fn run_sequencer(store: Arc<dyn Store>, keys: Keys, interval: Duration) {
    let mut last_error = String::new();
    loop {
        match store.sequence_leaves(BATCH, sequencer(&keys)).await {
            Ok(Some(size)) => {
                tracing::debug!(size, "checkpoint signed");
                continue;
            }
            Ok(None) => last_error.clear(),
            Err(error) => {
                let message = error.to_string();
                if message != last_error {
                    tracing::error!(error = %message, "transparency log sequencer");
                    last_error = message;
                }
            }
        }
        tokio::time::sleep(interval).await;
    }
}
