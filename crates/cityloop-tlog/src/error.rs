//! The one error type of the crate.

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A leaf index (or old tree size) is not inside the tree.
    #[error("index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// The offending index or old size.
        index: u64,
        /// The tree size it was checked against.
        size: u64,
    },
    /// A proof is malformed (wrong length, sizes out of order) or does not
    /// lead to the expected root.
    #[error("invalid proof: {reason}")]
    BadProof {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A consistency proof is well formed but the roots it leads to are not
    /// the given ones: the two tree heads are not consistent.
    #[error("tree heads of size {old} and {new} are not consistent")]
    Inconsistent {
        /// The old tree size.
        old: u64,
        /// The new tree size.
        new: u64,
    },
    /// A [`TileReader`](crate::TileReader) does not have a tile.
    #[error("tile {level}/{index} of width {width} is missing")]
    MissingTile {
        /// Tile level.
        level: u8,
        /// Tile index within the level.
        index: u64,
        /// Width asked for.
        width: u16,
    },
    /// A [`TileReader`](crate::TileReader) returned the wrong number of hashes.
    #[error("tile {level}/{index}: expected {expected} hashes, got {got}")]
    BadTile {
        /// Tile level.
        level: u8,
        /// Tile index within the level.
        index: u64,
        /// Width asked for.
        expected: u16,
        /// Hashes returned.
        got: usize,
    },
    /// The edge given to [`Appender::new`](crate::Appender::new) is not the
    /// edge of a tree of that size.
    #[error("bad right edge for a tree of size {size}: {reason}")]
    BadEdge {
        /// The tree size given.
        size: u64,
        /// What does not match.
        reason: String,
    },
    /// The tree already has `u64::MAX` leaves.
    #[error("the tree is full")]
    TreeFull,
    /// A path is not a canonical tlog-tiles tile or entry bundle path.
    #[error("bad tile path: {0}")]
    BadTilePath(String),
    /// An entry bundle cannot be encoded or decoded.
    #[error("bad entry bundle: {0}")]
    BadEntryBundle(String),
    /// A checkpoint's text is malformed.
    #[error("bad checkpoint: {0}")]
    BadCheckpoint(String),
    /// A signed note (or a text to sign) is malformed.
    #[error("bad note: {0}")]
    BadNote(String),
    /// A verifier or signer key string is malformed or its key ID is wrong.
    #[error("bad key: {0}")]
    BadKey(String),
    /// A signature by the verifier's key is present but does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// The note carries no signature by the verifier's key.
    #[error("no signature by a known key")]
    UnknownKey,
}
