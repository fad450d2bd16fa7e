//! Tiles: how the tree is cut into 256-hash pieces, where they come from
//! ([`TileReader`], [`MemoryTiles`]) and which ones make up a tree's right
//! edge ([`edge_tiles`]).

use std::collections::HashMap;

use crate::error::Error;
use crate::hash::{EMPTY_ROOT, Hash, complete_subtree, node_hash};

/// The height of the subtree a tile spans: a tile holds the nodes at height
/// `8 * level` and spans 8 tree levels.
pub const TILE_HEIGHT: u8 = 8;

/// The number of hashes in a full tile (`2^TILE_HEIGHT`).
pub const TILE_WIDTH: u64 = 256;

/// Names one tile, and how many of its hashes are meant.
///
/// Tile `(level, index)` holds the tree nodes at height `8 * level` with
/// node indices `256 * index ..= 256 * index + 255`; `width` (1..=256) is
/// the number of those that exist (256 for a full tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Tile level: 0 holds leaf hashes.
    pub level: u8,
    /// Index of the tile within its level.
    pub index: u64,
    /// Number of hashes (1..=256).
    pub width: u16,
}

/// A source of stored tiles.
pub trait TileReader {
    /// Returns the first `width` hashes (1..=256) of tile `(level, index)`.
    ///
    /// Level-0 tiles hold leaf hashes; a level-L tile's hash `k` is the tree
    /// node at height `8 * L` and index `256 * index + k`. A reader that
    /// stores a wider version of the tile serves its prefix; one that does
    /// not have `width` hashes returns [`Error::MissingTile`].
    fn read_tile(&self, level: u8, index: u64, width: u16) -> Result<Vec<Hash>, Error>;

    /// Optional shortcut: the tree node at `height` (never a multiple of 8)
    /// with node index `index` (the root of leaves
    /// `index << height .. (index + 1) << height`), if the reader keeps the
    /// interior nodes of its tiles.
    ///
    /// The default returns `None`, and the caller hashes the node from the
    /// tile below it (up to 127 hashes). A reader must only return nodes it
    /// computed from stored tiles: a wrong hash gives proofs that fail
    /// verification.
    fn read_node(&self, height: u8, index: u64) -> Option<Hash> {
        let _ = (height, index);
        None
    }
}

impl<T: TileReader + ?Sized> TileReader for &T {
    fn read_tile(&self, level: u8, index: u64, width: u16) -> Result<Vec<Hash>, Error> {
        (**self).read_tile(level, index, width)
    }

    fn read_node(&self, height: u8, index: u64) -> Option<Hash> {
        (**self).read_node(height, index)
    }
}

/// An in-memory tile store for tests, benchmarks and verifiers. It keeps
/// the widest version seen of each tile, and the tile's interior nodes so
/// that proofs need not rehash tiles ([`TileReader::read_node`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTiles {
    tiles: HashMap<(u8, u64), StoredTile>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct StoredTile {
    hashes: Vec<Hash>,
    /// `interior[r - 1][j]`: the root of hashes `j * 2^r .. (j + 1) * 2^r`,
    /// for r in 1..=7 and every such block that is complete.
    interior: Vec<Vec<Hash>>,
}

impl StoredTile {
    /// Replaces the hashes with a wider version, computing the interior
    /// nodes it adds (all of them if the old hashes are not a prefix).
    fn widen(&mut self, hashes: Vec<Hash>) {
        if !hashes.starts_with(&self.hashes) {
            self.interior.clear();
        }
        self.interior
            .resize_with(usize::from(TILE_HEIGHT) - 1, Vec::new);
        for r in 1..usize::from(TILE_HEIGHT) {
            let complete = hashes.len() >> r;
            for j in self.interior[r - 1].len()..complete {
                let node = if r == 1 {
                    node_hash(&hashes[2 * j], &hashes[2 * j + 1])
                } else {
                    let below = &self.interior[r - 2];
                    node_hash(&below[2 * j], &below[2 * j + 1])
                };
                self.interior[r - 1].push(node);
            }
        }
        self.hashes = hashes;
    }
}

impl MemoryTiles {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores the first `id.width` hashes of tile `(id.level, id.index)`,
    /// unless a wider version is already stored.
    pub fn store(&mut self, id: TileId, mut hashes: Vec<Hash>) {
        hashes.truncate(usize::from(id.width).min(TILE_WIDTH as usize));
        let slot = self.tiles.entry((id.level, id.index)).or_default();
        if hashes.len() > slot.hashes.len() {
            slot.widen(hashes);
        }
    }

    /// The number of tiles stored.
    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    /// Whether no tile is stored.
    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }
}

impl TileReader for MemoryTiles {
    fn read_tile(&self, level: u8, index: u64, width: u16) -> Result<Vec<Hash>, Error> {
        let missing = Error::MissingTile {
            level,
            index,
            width,
        };
        if width == 0 || u64::from(width) > TILE_WIDTH {
            return Err(missing);
        }
        match self.tiles.get(&(level, index)) {
            Some(tile) if tile.hashes.len() >= usize::from(width) => {
                Ok(tile.hashes[..usize::from(width)].to_vec())
            }
            _ => Err(missing),
        }
    }

    fn read_node(&self, height: u8, index: u64) -> Option<Hash> {
        let (level, r) = (height / TILE_HEIGHT, u32::from(height % TILE_HEIGHT));
        if r == 0 || height >= 64 {
            return None;
        }
        let first = index.checked_shl(r)?;
        let tile = self.tiles.get(&(level, first / TILE_WIDTH))?;
        let block = (first % TILE_WIDTH) >> r;
        tile.interior
            .get(r as usize - 1)?
            .get(usize::try_from(block).ok()?)
            .copied()
    }
}

/// The number of tile levels a tree can have: `256^8 = 2^64`.
pub(crate) const MAX_LEVELS: u8 = 8;

/// The tiles holding the right edge of a tree of `size` leaves: for every
/// level, the rightmost tile if it is partial, as `(level, index, width)`
/// with width 1..=255, lowest level first.
///
/// Full tiles are not part of the edge: a full tile is summarised by one
/// hash in the tile above it. Together these tiles determine the tree's root
/// and all it takes to append to it ([`Appender::new`](crate::Appender::new)).
/// They are also the partial tiles a log serves for a checkpoint of `size`.
/// The empty tree has no edge.
pub fn edge_tiles(size: u64) -> Vec<TileId> {
    let mut edge = Vec::new();
    for level in 0..MAX_LEVELS {
        let nodes = size >> (8 * u32::from(level));
        if nodes == 0 {
            break;
        }
        let width = (nodes % TILE_WIDTH) as u16;
        if width > 0 {
            edge.push(TileId {
                level,
                index: nodes / TILE_WIDTH,
                width,
            });
        }
    }
    edge
}

/// Reads the nodes of the tree of `size` leaves from a [`TileReader`],
/// keeping the tiles it has read for the length of one operation.
pub(crate) struct TreeReader<'a, R: TileReader + ?Sized> {
    reader: &'a R,
    size: u64,
    cache: Vec<(u8, u64, Vec<Hash>)>,
}

impl<'a, R: TileReader + ?Sized> TreeReader<'a, R> {
    pub(crate) fn new(reader: &'a R, size: u64) -> Self {
        Self {
            reader,
            size,
            cache: Vec::new(),
        }
    }

    /// The width of tile `(level, index)` in the tree (0 if it is empty).
    fn width(&self, level: u8, index: u64) -> u16 {
        let nodes = self.size >> (8 * u32::from(level.min(MAX_LEVELS - 1)));
        let full = nodes / TILE_WIDTH;
        if index < full {
            TILE_WIDTH as u16
        } else if index == full {
            (nodes % TILE_WIDTH) as u16
        } else {
            0
        }
    }

    fn tile(&mut self, level: u8, index: u64) -> Result<&[Hash], Error> {
        let position = self
            .cache
            .iter()
            .position(|(l, i, _)| *l == level && *i == index);
        let position = match position {
            Some(position) => position,
            None => {
                let width = self.width(level, index);
                if width == 0 {
                    return Err(Error::MissingTile {
                        level,
                        index,
                        width,
                    });
                }
                let hashes = self.reader.read_tile(level, index, width)?;
                if hashes.len() != usize::from(width) {
                    return Err(Error::BadTile {
                        level,
                        index,
                        expected: width,
                        got: hashes.len(),
                    });
                }
                self.cache.push((level, index, hashes));
                self.cache.len() - 1
            }
        };
        Ok(&self.cache[position].2)
    }

    /// The root of the complete subtree at `height` (0..=63) with node
    /// index `index`, which must lie inside the tree.
    pub(crate) fn node(&mut self, height: u8, index: u64) -> Result<Hash, Error> {
        let level = height / TILE_HEIGHT;
        let below = u32::from(height % TILE_HEIGHT);
        if below > 0
            && let Some(node) = self.reader.read_node(height, index)
        {
            return Ok(node);
        }
        let first = index << below;
        let (tile, start) = (first / TILE_WIDTH, (first % TILE_WIDTH) as usize);
        let end = start + (1usize << below);
        let hashes = self.tile(level, tile)?;
        match hashes.get(start..end) {
            Some(row) => Ok(complete_subtree(row)),
            None => Err(Error::MissingTile {
                level,
                index: tile,
                width: end as u16,
            }),
        }
    }

    /// The Merkle Tree Hash of leaves `lo..hi`, where `lo` is a multiple of
    /// a power of two that is at least `hi - lo` (true of every subtree of
    /// an RFC 6962 tree).
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> Result<Hash, Error> {
        let mut parts = [EMPTY_ROOT; 64];
        let mut count = 0;
        let mut at = lo;
        while at < hi && count < parts.len() {
            let fits = 63 - (hi - at).leading_zeros();
            let height = at.trailing_zeros().min(fits);
            parts[count] = self.node(height as u8, at >> height)?;
            count += 1;
            at += 1 << height;
        }
        let mut parts = parts[..count].iter().rev();
        let Some(mut root) = parts.next().copied() else {
            return Ok(EMPTY_ROOT);
        };
        for left in parts {
            root = node_hash(left, &root);
        }
        Ok(root)
    }
}
