//! The transparency log of cityloop (全民监督): every exercise of power —
//! case transitions, grants of roles and scopes, reads of personal data,
//! configuration changes, privileged log-ins — is a leaf of an append-only
//! Merkle log (RFC 6962 / RFC 9162), checkpointed in signed notes (C2SP
//! tlog-checkpoint) and served as C2SP tlog-tiles.
//!
//! Key design decisions:
//! - A leaf is queued in the same store transaction as the change it
//!   records ([`cityloop_store::Audit`]); the [`sequencer`] later gives queued
//!   leaves their place in the tree, grows the tiles and signs a checkpoint,
//!   all in one transaction holding the log's lock. So a change never exists
//!   without its leaf, and the tree is only ever extended.
//! - No personal data is ever in a leaf: people appear as keyed pseudonyms
//!   and a history row as a keyed commitment ([`Pseudonyms`]); the key stays
//!   in the data directory, so only the operator's `cityloop verify` can tie
//!   a row to its leaf, while anyone can verify the tree.
//! - The leaf encoding is versioned JSON ([`leaf`], `docs/TRANSPARENCY.md`).

pub mod keys;
pub mod leaf;
pub mod receipt;
pub mod sequencer;
pub mod tiles;
pub mod verify;

pub use keys::{Keys, Pseudonyms, sha256_hex};
pub use leaf::{Actor, Leaf, Record};
pub use sequencer::{run_sequencer, sequence_all, sequencer};
pub use tiles::TileCache;

/// Errors of this crate, for logs and the CLI.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Store(#[from] cityloop_store::StoreError),
    #[error("{0}")]
    Log(#[from] cityloop_tlog::Error),
    #[error("key file {path}: {message}")]
    Key { path: String, message: String },
    #[error("leaf {0}")]
    Leaf(String),
    #[error("{0}")]
    Fetch(String),
    #[error("receipt: {0}")]
    Receipt(String),
}
