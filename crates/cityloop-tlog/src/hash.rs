//! RFC 6962 hashing: leaf and interior node hashes and the reference
//! Merkle Tree Hash.

use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, a node hash or a tree root.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The hash of a log entry: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(data)
        .finalize()
        .into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    Sha256::digest(buf).into()
}

/// The Merkle Tree Hash (RFC 9162 §2.1.1) of a list of leaf hashes, by the
/// straightforward recursive definition. O(n): a reference for tests and
/// small trees; use [`tree_hash`](crate::tree_hash) or
/// [`Appender::root`](crate::Appender::root) for logs.
pub fn root_of(leaf_hashes: &[Hash]) -> Hash {
    match leaf_hashes {
        [] => EMPTY_ROOT,
        [leaf] => *leaf,
        _ => {
            let k = largest_power_of_two_below(leaf_hashes.len() as u64) as usize;
            let (left, right) = leaf_hashes.split_at(k);
            node_hash(&root_of(left), &root_of(right))
        }
    }
}

/// The largest power of two strictly smaller than `n` (1 when `n <= 2`).
pub(crate) fn largest_power_of_two_below(n: u64) -> u64 {
    1 << (63 - n.saturating_sub(1).leading_zeros().min(63))
}

/// The root of a complete subtree whose bottom row is `row`, of a length
/// that is a power of two (at most 256, as the rows come from one tile).
pub(crate) fn complete_subtree(row: &[Hash]) -> Hash {
    match row {
        [] => EMPTY_ROOT,
        [one] => *one,
        _ => {
            let mut buf = [[0u8; 32]; 128];
            let mut len = row.len() / 2;
            for (i, slot) in buf.iter_mut().take(len).enumerate() {
                *slot = node_hash(&row[2 * i], &row[2 * i + 1]);
            }
            while len > 1 {
                len /= 2;
                for i in 0..len {
                    buf[i] = node_hash(&buf[2 * i], &buf[2 * i + 1]);
                }
            }
            buf[0]
        }
    }
}
