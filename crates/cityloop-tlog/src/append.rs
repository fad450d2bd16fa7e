//! [`Appender`]: grows a tree from its right edge and reports the tiles
//! that changed.

use crate::error::Error;
use crate::hash::{EMPTY_ROOT, Hash, complete_subtree, node_hash};
use crate::tile::{MAX_LEVELS, TILE_HEIGHT, TILE_WIDTH, TileId, edge_tiles};

/// Appends leaves to a tree whose right edge is known, producing the tiles
/// to (re)write.
///
/// It keeps the roots of the tree's maximal complete subtrees (one per set
/// bit of the size, so `root()` costs at most 63 hashes) and the partial
/// tile of every level. A push costs one hash amortised: it completes the
/// parent nodes the new leaf closes, appends every completed node at a
/// height multiple of 8 to the tile of that level, and a tile that fills up
/// (256 hashes) is set aside whole and its level starts a new tile.
#[derive(Debug, Clone)]
pub struct Appender {
    size: u64,
    /// Roots of the maximal complete subtrees, largest (leftmost) first.
    stack: Vec<Hash>,
    /// The partial (rightmost, < 256 hashes) tile of each level.
    partial: Vec<Vec<Hash>>,
    /// Tiles that became full since the last `take_dirty`.
    full: Vec<(TileId, Vec<Hash>)>,
    /// Bit `L` set: the partial tile of level `L` changed.
    dirty: u16,
}

impl Appender {
    /// An appender for the empty tree.
    pub fn empty() -> Self {
        Self {
            size: 0,
            stack: Vec::new(),
            partial: Vec::new(),
            full: Vec::new(),
            dirty: 0,
        }
    }

    /// An appender for a tree of `size` leaves whose right edge is `edge`:
    /// the tiles named by [`edge_tiles(size)`](edge_tiles), in that order,
    /// each with its `width` hashes. Errors if the ids or widths don't match.
    pub fn new(size: u64, edge: Vec<(TileId, Vec<Hash>)>) -> Result<Self, Error> {
        let expected = edge_tiles(size);
        let bad = |reason: String| Error::BadEdge { size, reason };
        if edge.len() != expected.len() {
            return Err(bad(format!(
                "expected {} tiles, got {}",
                expected.len(),
                edge.len()
            )));
        }
        let mut appender = Self::empty();
        appender.size = size;
        for ((id, hashes), want) in edge.iter().zip(&expected) {
            if id != want {
                return Err(bad(format!("expected tile {want:?}, got {id:?}")));
            }
            if hashes.len() != usize::from(want.width) {
                return Err(bad(format!(
                    "tile {}/{} should have {} hashes, has {}",
                    id.level,
                    id.index,
                    want.width,
                    hashes.len()
                )));
            }
        }
        // Each set bit b of a partial tile's width is a complete subtree of
        // 2^b hashes of that tile; the highest level holds the leftmost.
        for (id, hashes) in edge.into_iter().rev() {
            let width = hashes.len();
            for bit in (0..TILE_HEIGHT).rev() {
                let span = 1usize << bit;
                if width & span != 0 {
                    let start = width & !(2 * span - 1);
                    appender
                        .stack
                        .push(complete_subtree(&hashes[start..start + span]));
                }
            }
            let level = usize::from(id.level);
            if appender.partial.len() <= level {
                appender.partial.resize_with(level + 1, Vec::new);
            }
            let mut tile = Vec::with_capacity(TILE_WIDTH as usize);
            tile.extend_from_slice(&hashes);
            appender.partial[level] = tile;
        }
        Ok(appender)
    }

    /// Appends a leaf hash. A tree holds at most `u64::MAX` leaves; pushing
    /// onto a full tree does nothing (use [`try_push`](Self::try_push) to
    /// be told).
    pub fn push(&mut self, leaf_hash: Hash) {
        let _ = self.try_push(leaf_hash);
    }

    /// Appends a leaf hash, or returns [`Error::TreeFull`] if the tree
    /// already has `u64::MAX` leaves.
    pub fn try_push(&mut self, leaf_hash: Hash) -> Result<(), Error> {
        let new_size = self.size.checked_add(1).ok_or(Error::TreeFull)?;
        self.add_to_tile(0, leaf_hash, new_size);
        let mut node = leaf_hash;
        let mut height = 0u32;
        let mut carry = self.size;
        // Every trailing 1 bit of the old size is a complete subtree the
        // new node now pairs with.
        while carry & 1 == 1 {
            let Some(left) = self.stack.pop() else { break };
            node = node_hash(&left, &node);
            height += 1;
            carry >>= 1;
            if height.is_multiple_of(u32::from(TILE_HEIGHT)) {
                self.add_to_tile((height / u32::from(TILE_HEIGHT)) as u8, node, new_size);
            }
        }
        self.stack.push(node);
        self.size = new_size;
        Ok(())
    }

    fn add_to_tile(&mut self, level: u8, hash: Hash, new_size: u64) {
        if level >= MAX_LEVELS {
            return;
        }
        let slot = usize::from(level);
        if self.partial.len() <= slot {
            self.partial.resize_with(slot + 1, Vec::new);
        }
        let tile = &mut self.partial[slot];
        if tile.capacity() == 0 {
            tile.reserve_exact(TILE_WIDTH as usize);
        }
        tile.push(hash);
        self.dirty |= 1 << slot;
        if tile.len() as u64 == TILE_WIDTH {
            let nodes = new_size >> (8 * u32::from(level));
            let id = TileId {
                level,
                index: (nodes - 1) / TILE_WIDTH,
                width: TILE_WIDTH as u16,
            };
            let hashes = std::mem::replace(tile, Vec::with_capacity(TILE_WIDTH as usize));
            self.full.push((id, hashes));
        }
    }

    /// The number of leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree's root (the Merkle Tree Hash of all leaves), from the edge:
    /// at most 63 hashes.
    pub fn root(&self) -> Hash {
        let mut roots = self.stack.iter().rev();
        let Some(mut root) = roots.next().copied() else {
            return EMPTY_ROOT;
        };
        for left in roots {
            root = node_hash(left, &root);
        }
        root
    }

    /// The tiles changed since the last call, each with its current width
    /// and all its hashes, and clears the set: first the tiles that became
    /// full (width 256), in the order they filled, then the current partial
    /// tile of each level that changed, lowest level first.
    ///
    /// Full tiles are held until this is called, so call it after each
    /// batch of pushes.
    pub fn take_dirty(&mut self) -> Vec<(TileId, Vec<Hash>)> {
        let mut out = std::mem::take(&mut self.full);
        for (level, tile) in self.partial.iter().enumerate() {
            if self.dirty & (1 << level) != 0 && !tile.is_empty() {
                let nodes = self.size >> (8 * level);
                out.push((
                    TileId {
                        level: level as u8,
                        index: nodes / TILE_WIDTH,
                        width: tile.len() as u16,
                    },
                    tile.clone(),
                ));
            }
        }
        self.dirty = 0;
        out
    }
}

impl Default for Appender {
    fn default() -> Self {
        Self::empty()
    }
}
