//! Known-answer tests: the RFC 6962 reference tree used by Certificate
//! Transparency and Trillian (eight leaves, roots for sizes 0..=8 and
//! sample inclusion and consistency proofs), and the signed-note example
//! of Go's `golang.org/x/mod/sumdb/note`.

use cityloop_tlog::{
    Appender, Checkpoint, EMPTY_ROOT, Error, Hash, MemoryTiles, NoteSigner, NoteVerifier,
    consistency_proof, inclusion_proof, leaf_hash, node_hash, root_of, tree_hash,
    verify_consistency, verify_inclusion,
};

fn h(hex: &str) -> Hash {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex, &mut out).unwrap();
    out
}

/// Leaf inputs of the reference tree (Trillian `merkle/testonly`).
const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Roots of the reference tree for sizes 1..=8.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index, tree size, audit path), Trillian `log_verifier_test.go`
/// (which numbers leaves from 1; converted to 0-based indices here).
fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (0, 1, vec![]),
    ]
}

/// (old size, new size, consistency proof), Trillian `log_verifier_test.go`.
fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

fn leaf_hashes() -> Vec<Hash> {
    LEAVES
        .iter()
        .map(|leaf| leaf_hash(&hex::decode(leaf).unwrap()))
        .collect()
}

fn root(size: u64) -> Hash {
    if size == 0 {
        EMPTY_ROOT
    } else {
        h(ROOTS[size as usize - 1])
    }
}

/// The reference tree's tiles (one partial level-0 tile per size).
fn tiles() -> MemoryTiles {
    let mut appender = Appender::empty();
    let mut tiles = MemoryTiles::new();
    for leaf in leaf_hashes() {
        appender.push(leaf);
    }
    for (id, hashes) in appender.take_dirty() {
        tiles.store(id, hashes);
    }
    tiles
}

#[test]
fn empty_root_is_sha256_of_nothing() {
    use sha2::Digest;
    let digest: Hash = sha2::Sha256::digest(b"").into();
    assert_eq!(EMPTY_ROOT, digest);
    assert_eq!(
        EMPTY_ROOT,
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(root_of(&[]), EMPTY_ROOT);
    assert_eq!(Appender::empty().root(), EMPTY_ROOT);
    assert_eq!(tree_hash(0, &MemoryTiles::new()).unwrap(), EMPTY_ROOT);
}

#[test]
fn reference_leaf_and_node_hashes() {
    let leaves = leaf_hashes();
    assert_eq!(
        leaves[0],
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    );
    assert_eq!(
        leaves[7],
        h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1")
    );
    assert_eq!(
        node_hash(&leaves[0], &leaves[1]),
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")
    );
}

#[test]
fn reference_roots() {
    let leaves = leaf_hashes();
    let tiles = tiles();
    let mut appender = Appender::empty();
    for size in 0..=8u64 {
        assert_eq!(
            root_of(&leaves[..size as usize]),
            root(size),
            "root_of({size})"
        );
        assert_eq!(appender.root(), root(size), "Appender at {size}");
        assert_eq!(
            tree_hash(size, &tiles).unwrap(),
            root(size),
            "tree_hash({size})"
        );
        if size < 8 {
            appender.push(leaves[size as usize]);
        }
    }
}

#[test]
fn reference_inclusion_proofs() {
    let leaves = leaf_hashes();
    let tiles = tiles();
    for (index, size, proof) in inclusion_vectors() {
        assert_eq!(inclusion_proof(index, size, &tiles).unwrap(), proof);
        let leaf = leaves[index as usize];
        verify_inclusion(&leaf, index, size, &proof, &root(size)).unwrap();
        // Corruptions in the style of Trillian's tests.
        let rejected = |i: u64, s: u64, p: &[Hash], r: &Hash, l: &Hash| {
            verify_inclusion(l, i, s, p, r).is_err()
        };
        let r = root(size);
        assert!(rejected(index + 1, size, &proof, &r, &leaf));
        assert!(index == 0 || rejected(index - 1, size, &proof, &r, &leaf));
        assert!(rejected(index ^ 2, size, &proof, &r, &leaf));
        assert!(rejected(index, size * 2, &proof, &r, &leaf));
        assert!(rejected(index, size / 2, &proof, &r, &leaf));
        assert!(rejected(index, size, &proof, &r, &leaf_hash(b"WrongLeaf")));
        assert!(rejected(index, size, &proof, &EMPTY_ROOT, &leaf));
        let mut longer = proof.clone();
        longer.push(r);
        assert!(rejected(index, size, &longer, &r, &leaf));
        let mut longer = vec![r];
        longer.extend_from_slice(&proof);
        assert!(rejected(index, size, &longer, &r, &leaf));
        for i in 0..proof.len() {
            let mut flipped = proof.clone();
            flipped[i][0] ^= 8;
            assert!(rejected(index, size, &flipped, &r, &leaf));
        }
        if !proof.is_empty() {
            assert!(rejected(index, size, &proof[..proof.len() - 1], &r, &leaf));
        }
    }
}

#[test]
fn reference_consistency_proofs() {
    let tiles = tiles();
    for (old, new, proof) in consistency_vectors() {
        assert_eq!(consistency_proof(old, new, &tiles).unwrap(), proof);
        let (r1, r2) = (root(old), root(new));
        verify_consistency(old, new, &r1, &r2, &proof).unwrap();
        if proof.is_empty() {
            continue;
        }
        let rejected = |o: u64, n: u64, a: &Hash, b: &Hash, p: &[Hash]| {
            verify_consistency(o, n, a, b, p).is_err()
        };
        assert!(rejected(old - 1, new, &r1, &r2, &proof));
        assert!(rejected(old + 1, new, &r1, &r2, &proof));
        assert!(rejected(old ^ 2, new, &r1, &r2, &proof));
        assert!(rejected(old, new * 2, &r1, &r2, &proof));
        assert!(rejected(old, new / 2, &r1, &r2, &proof));
        assert!(rejected(old, new, &leaf_hash(b"WrongRoot"), &r2, &proof));
        assert!(rejected(old, new, &r1, &leaf_hash(b"WrongRoot"), &proof));
        assert!(rejected(old, new, &r2, &r1, &proof));
        assert!(rejected(old, new, &r1, &r2, &[]));
        for extra in [r1, r2] {
            let mut longer = proof.clone();
            longer.push(extra);
            assert!(rejected(old, new, &r1, &r2, &longer));
            let mut longer = vec![extra];
            longer.extend_from_slice(&proof);
            assert!(rejected(old, new, &r1, &r2, &longer));
        }
        assert!(rejected(old, new, &r1, &r2, &proof[..proof.len() - 1]));
        for i in 0..proof.len() {
            let mut flipped = proof.clone();
            flipped[i][0] ^= 16;
            assert!(rejected(old, new, &r1, &r2, &flipped));
        }
    }
}

#[test]
fn trivial_consistency() {
    let some = leaf_hash(b"x");
    let other = leaf_hash(b"y");
    verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]).unwrap();
    verify_consistency(0, 5, &EMPTY_ROOT, &some, &[]).unwrap();
    verify_consistency(3, 3, &some, &some, &[]).unwrap();
    assert_eq!(
        verify_consistency(3, 3, &some, &other, &[]),
        Err(Error::Inconsistent { old: 3, new: 3 })
    );
    assert!(verify_consistency(0, 5, &some, &other, &[]).is_err());
    assert!(verify_consistency(3, 3, &some, &some, &[some]).is_err());
    assert!(verify_consistency(0, 1, &EMPTY_ROOT, &some, &[some]).is_err());
    assert!(verify_consistency(2, 1, &some, &other, &[]).is_err());
    assert!(verify_consistency(1, 2, &some, &other, &[]).is_err());
    assert!(consistency_proof(2, 1, &tiles()).is_err());
    assert!(inclusion_proof(8, 8, &tiles()).is_err());
    assert!(verify_inclusion(&some, 0, 0, &[], &some).is_err());
    assert!(verify_inclusion(&some, 2, 1, &[], &some).is_err());
}

// The example in the documentation of golang.org/x/mod/sumdb/note (also its
// note_test.go): a signer key, its verifier key and a note it signed.
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                          then you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

#[test]
fn go_note_example_verifies() {
    let verifier = NoteVerifier::parse(PETER_VKEY).unwrap();
    assert_eq!(verifier.name(), "PeterNeumann");
    assert_eq!(verifier.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(verifier.to_vkey(), PETER_VKEY);
    let note = format!("{PETER_TEXT}\n{PETER_SIG}");
    assert_eq!(verifier.verify(&note).unwrap(), PETER_TEXT);
    // A co-signature by an unknown key is ignored.
    let cosigned = format!("{PETER_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    assert_eq!(verifier.verify(&cosigned).unwrap(), PETER_TEXT);
    let enoch_only = format!("{PETER_TEXT}\n{ENOCH_SIG}");
    assert_eq!(verifier.verify(&enoch_only), Err(Error::UnknownKey));
}

#[test]
fn go_note_example_signs_identically() {
    // Ed25519 is deterministic, so the same key and text give the same note.
    let signer = NoteSigner::from_skey(PETER_SKEY).unwrap();
    assert_eq!(signer.to_skey(), PETER_SKEY);
    assert_eq!(signer.verifier().to_vkey(), PETER_VKEY);
    assert_eq!(
        signer.sign(PETER_TEXT).unwrap(),
        format!("{PETER_TEXT}\n{PETER_SIG}")
    );
}

// The example checkpoint in C2SP tlog-checkpoint.
#[test]
fn c2sp_checkpoint_example_parses() {
    let text =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let checkpoint = Checkpoint::parse(text).unwrap();
    assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
    assert_eq!(checkpoint.size, 20852163);
    assert!(checkpoint.extensions.is_empty());
    assert_eq!(checkpoint.to_text(), text);
}
