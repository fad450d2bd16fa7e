//! tlog-tiles entry bundles: up to 256 entries, each a big-endian `u16`
//! length followed by that many bytes.

use crate::error::Error;
use crate::tile::TILE_WIDTH;

/// Encodes entries as an entry bundle. Errors if an entry is longer than
/// 65,535 bytes or there are more than 256 entries.
pub fn encode_entry_bundle(entries: &[&[u8]]) -> Result<Vec<u8>, Error> {
    if entries.len() as u64 > TILE_WIDTH {
        return Err(Error::BadEntryBundle(format!(
            "{} entries, at most 256 fit",
            entries.len()
        )));
    }
    let mut bundle = Vec::with_capacity(entries.iter().map(|e| e.len() + 2).sum());
    for (i, entry) in entries.iter().enumerate() {
        let len = u16::try_from(entry.len()).map_err(|_| {
            Error::BadEntryBundle(format!(
                "entry {i} has {} bytes, at most 65535 fit",
                entry.len()
            ))
        })?;
        bundle.extend_from_slice(&len.to_be_bytes());
        bundle.extend_from_slice(entry);
    }
    Ok(bundle)
}

/// Decodes an entry bundle. Errors on a truncated length or entry, or more
/// than 256 entries.
pub fn decode_entry_bundle(bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let mut entries = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if entries.len() as u64 == TILE_WIDTH {
            return Err(Error::BadEntryBundle("more than 256 entries".into()));
        }
        let (len, tail) = match rest {
            [hi, lo, tail @ ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), tail),
            _ => {
                return Err(Error::BadEntryBundle(format!(
                    "truncated length of entry {}",
                    entries.len()
                )));
            }
        };
        if tail.len() < len {
            return Err(Error::BadEntryBundle(format!(
                "entry {} needs {len} bytes, {} left",
                entries.len(),
                tail.len()
            )));
        }
        let (entry, tail) = tail.split_at(len);
        entries.push(entry.to_vec());
        rest = tail;
    }
    Ok(entries)
}
