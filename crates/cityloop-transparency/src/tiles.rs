//! Reading the stored tree: a cache of tiles in front of the store, so
//! proofs are computed from memory. Complete tiles never change and stay
//! cached; a partial tile is re-read when a wider one is needed.

use cityloop_store::Store;
use cityloop_tlog::{MemoryTiles, TileId, TilePath};
use std::sync::Mutex;

/// Most tiles kept (8 KiB each plus inner nodes: about 128 MiB).
const CACHE_MAX: usize = 8192;

/// Tiles read from the store, kept in a [`MemoryTiles`] (which also keeps
/// each tile's inner nodes, so a proof rehashes nothing).
#[derive(Default)]
pub struct TileCache {
    tiles: Mutex<MemoryTiles>,
}

impl TileCache {
    pub fn new() -> TileCache {
        TileCache::default()
    }

    /// Runs `compute` over the cached tiles, fetching each tile it misses
    /// from the store and retrying; a tile the store lacks (or holds too
    /// narrow) ends in the computation's error.
    pub async fn with_tiles<T>(
        &self,
        store: &dyn Store,
        compute: impl Fn(&MemoryTiles) -> Result<T, cityloop_tlog::Error>,
    ) -> Result<T, crate::Error> {
        // Each retry fetches one more tile; a proof needs a few dozen at most.
        for _ in 0..256 {
            let outcome = {
                let tiles = self.tiles.lock().unwrap_or_else(|p| p.into_inner());
                compute(&tiles)
            };
            match outcome {
                Err(cityloop_tlog::Error::MissingTile {
                    level,
                    index,
                    width,
                }) => {
                    let missing = cityloop_tlog::Error::MissingTile {
                        level,
                        index,
                        width,
                    };
                    let Some(hashes) = store.tlog_tile(level, index).await? else {
                        return Err(missing.into());
                    };
                    if hashes.len() < usize::from(width) {
                        return Err(missing.into());
                    }
                    let mut tiles = self.tiles.lock().unwrap_or_else(|p| p.into_inner());
                    if tiles.len() >= CACHE_MAX {
                        *tiles = MemoryTiles::new();
                    }
                    let width = hashes.len() as u16;
                    tiles.store(
                        TileId {
                            level,
                            index,
                            width,
                        },
                        hashes,
                    );
                }
                other => return other.map_err(Into::into),
            }
        }
        Err(crate::Error::Fetch(
            "too many tiles for one computation".into(),
        ))
    }

    /// The bytes served for a tlog-tiles path (after the log's prefix), or
    /// `None` when the log does not (yet) have them.
    pub async fn serve(
        &self,
        store: &dyn Store,
        path: &str,
    ) -> Result<Option<Vec<u8>>, crate::Error> {
        let parsed = cityloop_tlog::parse_tile_path(path)?;
        match parsed {
            TilePath::Hashes(id) => {
                let Some(hashes) = store.tlog_tile(id.level, id.index).await? else {
                    return Ok(None);
                };
                let width = usize::from(id.width);
                if hashes.len() < width {
                    return Ok(None);
                }
                Ok(Some(hashes[..width].concat()))
            }
            TilePath::Entries { index, width } => {
                let first = index.saturating_mul(256);
                let entries = store.tlog_entries(first, u32::from(width)).await?;
                if entries.len() < usize::from(width) {
                    return Ok(None);
                }
                let slices: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
                Ok(Some(cityloop_tlog::encode_entry_bundle(&slices)?))
            }
        }
    }
}
