//! Tree hashes, inclusion proofs and consistency proofs read from tiles
//! (RFC 9162 §2.1.3.1 and §2.1.4.1), and their verification (§2.1.3.2 and
//! §2.1.4.2).

use crate::error::Error;
use crate::hash::{EMPTY_ROOT, Hash, largest_power_of_two_below, node_hash};
use crate::tile::{TileReader, TreeReader};

/// The root hash of the tree of `size` leaves stored in `tiles`.
///
/// Reads only the tiles of the tree's right edge (see
/// [`edge_tiles`](crate::edge_tiles)), and at most 255 hashes per level.
pub fn tree_hash(size: u64, tiles: &(impl TileReader + ?Sized)) -> Result<Hash, Error> {
    TreeReader::new(tiles, size).range(0, size)
}

/// The inclusion proof (audit path, RFC 9162 §2.1.3.1) of leaf `index` in
/// the tree of `size` leaves stored in `tiles`, lowest sibling first.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    tiles: &(impl TileReader + ?Sized),
) -> Result<Vec<Hash>, Error> {
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    let mut tree = TreeReader::new(tiles, size);
    let mut proof = Vec::new();
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let k = largest_power_of_two_below(hi - lo);
        if index < lo + k {
            proof.push(tree.range(lo + k, hi)?);
            hi = lo + k;
        } else {
            proof.push(tree.range(lo, lo + k)?);
            lo += k;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The consistency proof (RFC 9162 §2.1.4.1) between the trees of `old` and
/// `new` leaves stored in `tiles`. It is empty when `old` is 0 or equals
/// `new`.
pub fn consistency_proof(
    old: u64,
    new: u64,
    tiles: &(impl TileReader + ?Sized),
) -> Result<Vec<Hash>, Error> {
    if old > new {
        return Err(Error::IndexOutOfRange {
            index: old,
            size: new,
        });
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    let mut tree = TreeReader::new(tiles, new);
    let mut proof = Vec::new();
    // SUBPROOF(m, D[lo:hi], whole): `m` counts the old leaves inside lo..hi,
    // `whole` says whether lo..hi starts at the old tree's left edge.
    let (mut lo, mut hi, mut m, mut whole) = (0, new, old, true);
    loop {
        if m == hi - lo {
            if !whole {
                proof.push(tree.range(lo, hi)?);
            }
            break;
        }
        let k = largest_power_of_two_below(hi - lo);
        if m <= k {
            proof.push(tree.range(lo + k, hi)?);
            hi = lo + k;
        } else {
            proof.push(tree.range(lo, lo + k)?);
            lo += k;
            m -= k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Verifies that `leaf` (a leaf hash) is leaf `index` of the tree of `size`
/// leaves whose root is `root`, by the RFC 9162 §2.1.3.2 algorithm.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), Error> {
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(Error::BadProof {
                reason: "inclusion proof too long",
            });
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(Error::BadProof {
            reason: "inclusion proof too short",
        });
    }
    if r != *root {
        return Err(Error::BadProof {
            reason: "inclusion proof does not lead to the root",
        });
    }
    Ok(())
}

/// Verifies that the tree of `old` leaves with root `old_root` is a prefix
/// of the tree of `new` leaves with root `new_root`, by the RFC 9162
/// §2.1.4.2 algorithm.
///
/// When `old == new` the proof must be empty and the roots equal; when
/// `old == 0` the proof must be empty and `old_root` must be
/// [`EMPTY_ROOT`]. Returns [`Error::BadProof`] for a malformed proof and
/// [`Error::Inconsistent`] when the proof leads to other roots.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), Error> {
    let inconsistent = Error::Inconsistent { old, new };
    if old > new {
        return Err(Error::BadProof {
            reason: "old tree is larger than new tree",
        });
    }
    if old == new || old == 0 {
        if !proof.is_empty() {
            return Err(Error::BadProof {
                reason: "consistency proof should be empty",
            });
        }
        let expected = if old == 0 { &EMPTY_ROOT } else { new_root };
        return if old_root == expected {
            Ok(())
        } else {
            Err(inconsistent)
        };
    }
    let (first, rest) = match proof.split_first() {
        Some(split) => split,
        None => {
            return Err(Error::BadProof {
                reason: "consistency proof is empty",
            });
        }
    };
    // When `old` is a power of two the old root is the first node of the
    // path and is not sent.
    let (seed, path) = if old.is_power_of_two() {
        (old_root, proof)
    } else {
        (first, rest)
    };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in path {
        if s == 0 {
            return Err(Error::BadProof {
                reason: "consistency proof too long",
            });
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(Error::BadProof {
            reason: "consistency proof too short",
        });
    }
    if fr != *old_root || sr != *new_root {
        return Err(inconsistent);
    }
    Ok(())
}
