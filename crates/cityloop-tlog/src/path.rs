//! tlog-tiles resource paths: `tile/<L>/<N>[.p/<W>]` for hash tiles and
//! `tile/entries/<N>[.p/<W>]` for entry bundles.

use std::fmt::Write as _;

use crate::error::Error;
use crate::tile::{TILE_WIDTH, TileId};

/// The highest tile level a path may name.
const MAX_PATH_LEVEL: u8 = 63;

/// What a tile path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    /// A tile of Merkle tree hashes.
    Hashes(TileId),
    /// An entry bundle: the entries behind level-0 tile `index`.
    Entries {
        /// Bundle index (as the level-0 tile index).
        index: u64,
        /// Number of entries (1..=256).
        width: u16,
    },
}

/// The path of a hash tile below the log prefix, e.g. `tile/0/x001/234.p/5`.
///
/// The index is written in 3-digit groups, each but the last prefixed with
/// `x`; `.p/<W>` is added when the width is below 256. `id.width` should be
/// 1..=256; other widths give a path [`parse_tile_path`] rejects.
pub fn tile_path(id: TileId) -> String {
    let mut path = format!("tile/{}/", id.level);
    push_index_and_width(&mut path, id.index, id.width);
    path
}

/// The path of an entry bundle below the log prefix, e.g.
/// `tile/entries/x001/234.p/5`, encoded like [`tile_path`].
pub fn entries_path(index: u64, width: u16) -> String {
    let mut path = String::from("tile/entries/");
    push_index_and_width(&mut path, index, width);
    path
}

fn push_index_and_width(path: &mut String, index: u64, width: u16) {
    let mut groups = Vec::with_capacity(7);
    let mut rest = index;
    loop {
        groups.push(rest % 1000);
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    for (i, group) in groups.iter().rev().enumerate() {
        if i + 1 < groups.len() {
            let _ = write!(path, "x{group:03}/");
        } else {
            let _ = write!(path, "{group:03}");
        }
    }
    if u64::from(width) < TILE_WIDTH {
        let _ = write!(path, ".p/{width}");
    }
}

/// Parses a tile or entry bundle path below the log prefix (no leading
/// `/`), accepting only the canonical form [`tile_path`] and
/// [`entries_path`] produce: level 0..=63 and width 1..=255 in decimal
/// without leading zeros, the index in 3-digit groups with no leading
/// `x000/` group.
pub fn parse_tile_path(path: &str) -> Result<TilePath, Error> {
    let bad = |why: &str| Error::BadTilePath(format!("{path:?}: {why}"));
    let rest = path
        .strip_prefix("tile/")
        .ok_or_else(|| bad("no tile/ prefix"))?;
    let (level, rest) = match rest.strip_prefix("entries/") {
        Some(rest) => (None, rest),
        None => {
            let (level, rest) = rest.split_once('/').ok_or_else(|| bad("no level"))?;
            let level = parse_decimal(level)
                .filter(|level| *level <= u64::from(MAX_PATH_LEVEL))
                .ok_or_else(|| bad("level must be 0..=63 without leading zeros"))?;
            (Some(level as u8), rest)
        }
    };
    let (index, width) = match rest.split_once(".p/") {
        Some((index, width)) => {
            let width = parse_decimal(width)
                .filter(|width| (1..TILE_WIDTH).contains(width))
                .ok_or_else(|| bad("partial width must be 1..=255 without leading zeros"))?;
            (index, width as u16)
        }
        None => (rest, TILE_WIDTH as u16),
    };
    let index = parse_index(index).ok_or_else(|| bad("malformed index"))?;
    Ok(match level {
        Some(level) => TilePath::Hashes(TileId {
            level,
            index,
            width,
        }),
        None => TilePath::Entries { index, width },
    })
}

/// A decimal number with no sign and no leading zeros.
fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

/// `xDDD/…/xDDD/DDD` with no leading `x000/`.
fn parse_index(text: &str) -> Option<u64> {
    let groups: Vec<&str> = text.split('/').collect();
    let (last, leading) = groups.split_last()?;
    if leading.first() == Some(&"x000") {
        return None;
    }
    let mut index: u64 = 0;
    for (i, group) in groups.iter().enumerate() {
        let digits = if i < leading.len() {
            group.strip_prefix('x')?
        } else {
            last
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: u64 = digits.parse().ok()?;
        index = index.checked_mul(1000)?.checked_add(value)?;
    }
    Some(index)
}
