//! Property tests of the tree: the appender, the tiles it writes and the
//! proofs read from them agree with the reference `root_of`, across tile
//! boundaries (256 and 65,536 leaves), and tampered proofs are rejected.

use cityloop_tlog::{
    Appender, Error, Hash, MemoryTiles, TILE_WIDTH, TileId, TileReader, consistency_proof,
    edge_tiles, inclusion_proof, leaf_hash, root_of, tree_hash, verify_consistency,
    verify_inclusion,
};
use proptest::prelude::*;
use std::collections::HashMap;

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

/// Pushes `leaves` in batches of `batch`, storing the dirty tiles after each.
fn build(leaves: &[Hash], batch: usize) -> (Appender, MemoryTiles) {
    let mut appender = Appender::empty();
    let mut tiles = MemoryTiles::new();
    for chunk in leaves.chunks(batch.max(1)) {
        for leaf in chunk {
            appender.push(*leaf);
        }
        for (id, hashes) in appender.take_dirty() {
            assert_eq!(hashes.len(), usize::from(id.width));
            tiles.store(id, hashes);
        }
    }
    (appender, tiles)
}

/// The nodes a level-`level` tile holds, straight from the definition.
fn reference_level(leaves: &[Hash], level: u32) -> Vec<Hash> {
    let span = 1usize << (8 * level);
    leaves
        .chunks(span)
        .filter(|chunk| chunk.len() == span)
        .map(root_of)
        .collect()
}

fn check_tiles(leaves: &[Hash], tiles: &MemoryTiles) {
    for level in 0..3u32 {
        let nodes = reference_level(leaves, level);
        for (index, chunk) in nodes.chunks(TILE_WIDTH as usize).enumerate() {
            let got = tiles
                .read_tile(level as u8, index as u64, chunk.len() as u16)
                .unwrap();
            assert_eq!(got, chunk, "tile {level}/{index}");
        }
    }
}

/// Reference roots of the prefixes of `leaves`, computed with `root_of`
/// once per size.
struct Roots<'a> {
    leaves: &'a [Hash],
    known: HashMap<u64, Hash>,
}

impl<'a> Roots<'a> {
    fn new(leaves: &'a [Hash]) -> Self {
        Self {
            leaves,
            known: HashMap::new(),
        }
    }

    fn get(&mut self, size: u64) -> Hash {
        let leaves = self.leaves;
        *self
            .known
            .entry(size)
            .or_insert_with(|| root_of(&leaves[..size as usize]))
    }
}

fn check_proofs(roots: &mut Roots, tiles: &MemoryTiles, size: u64, index: u64) {
    let leaves = roots.leaves;
    let root = roots.get(size);
    let proof = inclusion_proof(index, size, tiles).unwrap();
    // Without the interior-node shortcut the proof is the same.
    assert_eq!(
        inclusion_proof(index, size, &RowsOnly(tiles)).unwrap(),
        proof
    );
    let leaf = leaves[index as usize];
    verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
    if index + 1 < size {
        assert!(verify_inclusion(&leaf, index + 1, size, &proof, &root).is_err());
    }
    if index > 0 {
        assert!(verify_inclusion(&leaf, index - 1, size, &proof, &root).is_err());
    }
    assert!(verify_inclusion(&leaf_hash(b"other"), index, size, &proof, &root).is_err());
    for i in 0..proof.len() {
        let mut bad = proof.clone();
        bad[i][31] ^= 1;
        assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
    }
}

fn check_consistency(roots: &mut Roots, tiles: &MemoryTiles, old: u64, new: u64) {
    let old_root = roots.get(old);
    let new_root = roots.get(new);
    let proof = consistency_proof(old, new, tiles).unwrap();
    assert_eq!(
        consistency_proof(old, new, &RowsOnly(tiles)).unwrap(),
        proof
    );
    verify_consistency(old, new, &old_root, &new_root, &proof).unwrap();
    if old > 0 && old < new {
        assert!(verify_consistency(old, new, &new_root, &new_root, &proof).is_err());
        assert!(verify_consistency(old, new, &old_root, &old_root, &proof).is_err());
        if old + 1 < new {
            assert!(verify_consistency(old + 1, new, &old_root, &new_root, &proof).is_err());
        }
        for i in 0..proof.len() {
            let mut bad = proof.clone();
            bad[i][0] ^= 0x80;
            assert!(verify_consistency(old, new, &old_root, &new_root, &bad).is_err());
        }
        assert!(verify_consistency(old, new, &old_root, &new_root, &proof[1..]).is_err());
    }
}

/// A reader that serves tile rows only, without `MemoryTiles`' interior
/// nodes, so proofs hash the tiles themselves.
struct RowsOnly<'a>(&'a MemoryTiles);

impl TileReader for RowsOnly<'_> {
    fn read_tile(&self, level: u8, index: u64, width: u16) -> Result<Vec<Hash>, Error> {
        self.0.read_tile(level, index, width)
    }
}

fn edge_of(size: u64, tiles: &MemoryTiles) -> Vec<(TileId, Vec<Hash>)> {
    edge_tiles(size)
        .into_iter()
        .map(|id| (id, tiles.read_tile(id.level, id.index, id.width).unwrap()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn appender_matches_reference(n in 0u64..3000, batch in 40usize..1200) {
        let leaves = leaves(n);
        let mut appender = Appender::empty();
        let mut tiles = MemoryTiles::new();
        for chunk in leaves.chunks(batch) {
            for leaf in chunk {
                appender.push(*leaf);
            }
            let size = appender.size();
            for (id, hashes) in appender.take_dirty() {
                tiles.store(id, hashes);
            }
            let expected = root_of(&leaves[..size as usize]);
            prop_assert_eq!(appender.root(), expected);
            prop_assert_eq!(tree_hash(size, &tiles).unwrap(), expected);
            prop_assert_eq!(tree_hash(size, &RowsOnly(&tiles)).unwrap(), expected);
        }
        prop_assert_eq!(appender.size(), n);
        prop_assert_eq!(appender.root(), root_of(&leaves));
        check_tiles(&leaves, &tiles);
        // Nothing changed since the last take_dirty.
        prop_assert!(appender.take_dirty().is_empty());
    }

    #[test]
    fn proofs_verify_and_tampering_fails(
        n in 1u64..3000,
        picks in proptest::collection::vec((any::<u64>(), any::<u64>()), 6),
    ) {
        let leaves = leaves(n);
        let (_, tiles) = build(&leaves, 1000);
        let mut roots = Roots::new(&leaves);
        for (a, b) in picks {
            // A proof in the full tree and in an older, smaller tree read
            // from the same (wider) tiles.
            let index = a % n;
            check_proofs(&mut roots, &tiles, n, index);
            let size = index + 1 + b % (n - index);
            check_proofs(&mut roots, &tiles, size, index);
            let old = a % (n + 1);
            let new = old + b % (n + 1 - old);
            check_consistency(&mut roots, &tiles, old, new);
        }
    }

    #[test]
    fn resuming_from_the_edge_continues_identically(
        n in 0u64..3000,
        split in any::<u64>(),
        batch in 1usize..600,
    ) {
        let split = split % (n + 1);
        let leaves = leaves(n);
        let (single, single_tiles) = build(&leaves, batch);

        let (first, mut tiles) = build(&leaves[..split as usize], batch);
        let mut resumed = Appender::new(split, edge_of(split, &tiles)).unwrap();
        prop_assert_eq!(resumed.root(), first.root());
        prop_assert_eq!(resumed.size(), split);
        for chunk in leaves[split as usize..].chunks(batch) {
            for leaf in chunk {
                resumed.push(*leaf);
            }
            for (id, hashes) in resumed.take_dirty() {
                tiles.store(id, hashes);
            }
        }
        prop_assert_eq!(resumed.root(), single.root());
        prop_assert_eq!(resumed.size(), single.size());
        prop_assert!(tiles == single_tiles, "tile stores differ");
    }
}

#[test]
fn across_the_level_two_boundary() {
    let leaves = leaves(70_000);
    let (appender, tiles) = build(&leaves, 10_007);
    assert_eq!(appender.root(), root_of(&leaves));
    check_tiles(&leaves, &tiles);
    let mut roots = Roots::new(&leaves);
    for size in [65_535u64, 65_536, 65_537, 66_000, 70_000] {
        let root = roots.get(size);
        assert_eq!(tree_hash(size, &tiles).unwrap(), root, "tree_hash({size})");
        assert_eq!(tree_hash(size, &RowsOnly(&tiles)).unwrap(), root);
        for index in [0, 255, 256, 65_535, size / 2, size - 1] {
            if index < size {
                check_proofs(&mut roots, &tiles, size, index);
            }
        }
    }
    for (old, new) in [
        (65_535u64, 65_536u64),
        (65_536, 65_537),
        (256, 65_537),
        (1, 70_000),
        (65_536, 70_000),
        (65_537, 70_000),
        (12_345, 69_999),
    ] {
        check_consistency(&mut roots, &tiles, old, new);
    }
    // Resume right at and just after the boundary.
    for split in [65_535u64, 65_536, 65_537] {
        let mut resumed = Appender::new(split, edge_of(split, &tiles)).unwrap();
        for leaf in &leaves[split as usize..] {
            resumed.push(*leaf);
        }
        assert_eq!(resumed.root(), appender.root());
    }
}

#[test]
fn edge_tiles_follow_the_spec_examples() {
    // tlog-tiles: "a tree of size 70,000 will be represented by 273 full
    // level 0 tiles, one partial level 0 tile of width 112, one full level 1
    // tile, one partial level 1 tile of width 17, and one partial level 2
    // tile of width 1".
    let tile = |level, index, width| TileId {
        level,
        index,
        width,
    };
    assert_eq!(
        edge_tiles(70_000),
        vec![tile(0, 273, 112), tile(1, 1, 17), tile(2, 0, 1)]
    );
    // "a tree of size 256 will be represented by a full level 0 tile and a
    // partial level 1 tile of width 1".
    assert_eq!(edge_tiles(256), vec![tile(1, 0, 1)]);
    assert_eq!(edge_tiles(0), vec![]);
    assert_eq!(edge_tiles(5), vec![tile(0, 0, 5)]);
    assert_eq!(edge_tiles(u64::MAX).len(), 8);
}

#[test]
fn take_dirty_reports_full_and_partial_tiles() {
    let leaves = leaves(300);
    let mut appender = Appender::empty();
    for leaf in &leaves[..250] {
        appender.push(*leaf);
    }
    let dirty = appender.take_dirty();
    assert_eq!(dirty.len(), 1);
    assert_eq!(
        dirty[0].0,
        TileId {
            level: 0,
            index: 0,
            width: 250
        }
    );
    for leaf in &leaves[250..300] {
        appender.push(*leaf);
    }
    let ids: Vec<TileId> = appender
        .take_dirty()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let tile = |level, index, width| TileId {
        level,
        index,
        width,
    };
    assert_eq!(ids, vec![tile(0, 0, 256), tile(0, 1, 44), tile(1, 0, 1)]);
    appender.push(leaves[0]);
    let ids: Vec<TileId> = appender
        .take_dirty()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, vec![tile(0, 1, 45)]);
}

#[test]
fn appender_rejects_a_wrong_edge() {
    let leaves = leaves(600);
    let (_, tiles) = build(&leaves, 600);
    let edge = edge_of(600, &tiles);
    assert!(Appender::new(600, edge.clone()).is_ok());
    assert!(Appender::new(601, edge.clone()).is_err());
    assert!(Appender::new(599, edge.clone()).is_err());
    assert!(Appender::new(600, vec![]).is_err());
    let mut reversed = edge.clone();
    reversed.reverse();
    assert!(Appender::new(600, reversed).is_err());
    let mut short = edge.clone();
    short[0].1.pop();
    assert!(Appender::new(600, short).is_err());
    let mut wide = edge;
    wide[0].1.push([0; 32]);
    assert!(Appender::new(600, wide).is_err());
    assert!(Appender::new(0, vec![]).is_ok());
}

#[test]
fn huge_sizes_do_not_panic() {
    let edge: Vec<(TileId, Vec<Hash>)> = edge_tiles(u64::MAX)
        .into_iter()
        .map(|id| (id, vec![[7; 32]; usize::from(id.width)]))
        .collect();
    let mut full = Appender::new(u64::MAX, edge).unwrap();
    let root = full.root();
    assert_eq!(full.try_push([1; 32]), Err(Error::TreeFull));
    full.push([1; 32]);
    assert_eq!(full.size(), u64::MAX);
    assert_eq!(full.root(), root);

    let mut almost = Appender::new(
        u64::MAX - 1,
        edge_tiles(u64::MAX - 1)
            .into_iter()
            .map(|id| (id, vec![[7; 32]; usize::from(id.width)]))
            .collect(),
    )
    .unwrap();
    almost.push([1; 32]);
    assert_eq!(almost.size(), u64::MAX);
    assert!(!almost.take_dirty().is_empty());

    let empty = MemoryTiles::new();
    for size in [1, 255, 256, 65_536, u64::MAX - 1, u64::MAX] {
        assert!(matches!(
            tree_hash(size, &empty),
            Err(Error::MissingTile { .. })
        ));
        // A one-leaf tree needs no tile for its (empty) proofs.
        assert_eq!(inclusion_proof(size - 1, size, &empty).is_err(), size > 1);
        assert_eq!(consistency_proof(1, size, &empty).is_err(), size > 1);
        let proof = vec![[3; 32]; 70];
        assert!(verify_inclusion(&[1; 32], size - 1, size, &proof, &[2; 32]).is_err());
        assert!(verify_consistency(size / 2, size, &[1; 32], &[2; 32], &proof).is_err());
    }
}

#[test]
fn memory_tiles_serve_prefixes_of_the_widest_tile() {
    let mut tiles = MemoryTiles::new();
    let id = |width| TileId {
        level: 0,
        index: 3,
        width,
    };
    tiles.store(id(5), vec![[5; 32]; 5]);
    tiles.store(id(2), vec![[2; 32]; 2]); // narrower: ignored
    assert_eq!(tiles.read_tile(0, 3, 5).unwrap(), vec![[5; 32]; 5]);
    assert_eq!(tiles.read_tile(0, 3, 1).unwrap(), vec![[5; 32]; 1]);
    assert!(matches!(
        tiles.read_tile(0, 3, 6),
        Err(Error::MissingTile {
            level: 0,
            index: 3,
            width: 6
        })
    ));
    assert!(tiles.read_tile(0, 3, 0).is_err());
    assert!(tiles.read_tile(0, 3, 257).is_err());
    assert!(tiles.read_tile(1, 3, 1).is_err());
    assert_eq!(tiles.len(), 1);
}

/// A reader that returns the wrong number of hashes.
struct Liar;

impl TileReader for Liar {
    fn read_tile(&self, _: u8, _: u64, width: u16) -> Result<Vec<Hash>, Error> {
        Ok(vec![[0; 32]; usize::from(width) / 2])
    }
}

#[test]
fn a_lying_reader_is_an_error() {
    assert!(matches!(
        tree_hash(100, &Liar),
        Err(Error::BadTile {
            expected: 100,
            got: 50,
            ..
        })
    ));
    assert!(inclusion_proof(7, 100, &Liar).is_err());
}

#[test]
fn memory_tiles_interior_nodes_match_reference() {
    let leaves = leaves(600);
    let (_, tiles) = build(&leaves, 77);
    let level1 = reference_level(&leaves, 1);
    for height in 1..16u8 {
        if height == 8 {
            continue;
        }
        let row = if height < 8 { &leaves } else { &level1 };
        let span = 1usize << (height % 8);
        for index in 0..(row.len() / span + 2) as u64 {
            let start = index as usize * span;
            let expected = row.get(start..start + span).map(root_of);
            assert_eq!(
                tiles.read_node(height, index),
                expected,
                "node {height}/{index}"
            );
        }
    }
    assert_eq!(tiles.read_node(0, 0), None);
    assert_eq!(tiles.read_node(8, 0), None);
    assert_eq!(tiles.read_node(63, 0), None);
    assert_eq!(tiles.read_node(200, u64::MAX), None);

    // A wider tile that does not extend the stored one replaces it whole.
    let mut tiles = MemoryTiles::new();
    let id = |width| TileId {
        level: 0,
        index: 0,
        width,
    };
    tiles.store(id(4), leaves[..4].to_vec());
    let other = &leaves[100..108];
    tiles.store(id(8), other.to_vec());
    assert_eq!(tiles.read_node(2, 0), Some(root_of(&other[..4])));
    assert_eq!(tiles.read_node(3, 0), Some(root_of(other)));
}
