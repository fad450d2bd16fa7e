//! `cityloop-tlog`: a verifiable, append-only transparency log.
//!
//! The log is an [RFC 6962] / [RFC 9162 §2.1] Merkle tree over SHA-256,
//! stored and served as [C2SP tlog-tiles]: the tree is cut into tiles of
//! 256 hashes, level-0 tiles hold leaf hashes and a level-L tile holds the
//! roots of full level-(L-1) tiles. Tree heads are published as
//! [C2SP tlog-checkpoint]s signed with Ed25519 [C2SP signed-note]s.
//!
//! What the crate gives a log operator and a verifier:
//! * hashing: [`leaf_hash`], [`node_hash`] and the reference [`root_of`];
//! * appending: [`Appender`] grows a tree from its right edge
//!   ([`edge_tiles`]) and hands back the tiles to (re)write;
//! * reading: [`tree_hash`], [`inclusion_proof`] and [`consistency_proof`]
//!   over any [`TileReader`] (for example [`MemoryTiles`]);
//! * verifying: [`verify_inclusion`] and [`verify_consistency`], the RFC 9162
//!   §2.1.3.2 and §2.1.4.2 algorithms;
//! * serving: [`tile_path`], [`entries_path`], [`parse_tile_path`] and entry
//!   bundles ([`encode_entry_bundle`], [`decode_entry_bundle`]);
//! * signing: [`Checkpoint`], [`NoteSigner`] and [`NoteVerifier`].
//!
//! The crate is pure: no IO, no async, no global state. Nothing panics on
//! bad input; every fallible operation returns [`Error`].
//!
//! ```
//! use cityloop_tlog::{
//!     Appender, MemoryTiles, inclusion_proof, leaf_hash, tree_hash, verify_inclusion,
//! };
//!
//! let mut log = Appender::empty();
//! for entry in ["a", "b", "c"] {
//!     log.push(leaf_hash(entry.as_bytes()));
//! }
//! let mut tiles = MemoryTiles::new();
//! for (id, hashes) in log.take_dirty() {
//!     tiles.store(id, hashes);
//! }
//! let root = tree_hash(3, &tiles).unwrap();
//! assert_eq!(root, log.root());
//! let proof = inclusion_proof(1, 3, &tiles).unwrap();
//! verify_inclusion(&leaf_hash(b"b"), 1, 3, &proof, &root).unwrap();
//! ```
//!
//! [RFC 6962]: https://www.rfc-editor.org/rfc/rfc6962
//! [RFC 9162 §2.1]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1
//! [C2SP tlog-tiles]: https://c2sp.org/tlog-tiles
//! [C2SP tlog-checkpoint]: https://c2sp.org/tlog-checkpoint
//! [C2SP signed-note]: https://c2sp.org/signed-note

mod append;
mod bundle;
mod checkpoint;
mod error;
mod hash;
mod note;
mod path;
mod proof;
mod tile;

pub use append::Appender;
pub use bundle::{decode_entry_bundle, encode_entry_bundle};
pub use checkpoint::Checkpoint;
pub use error::Error;
pub use hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash, root_of};
pub use note::{NoteSigner, NoteVerifier};
pub use path::{TilePath, entries_path, parse_tile_path, tile_path};
pub use proof::{
    consistency_proof, inclusion_proof, tree_hash, verify_consistency, verify_inclusion,
};
pub use tile::{MemoryTiles, TILE_HEIGHT, TILE_WIDTH, TileId, TileReader, edge_tiles};
