//! tlog-tiles paths and entry bundles: canonical encodings, round trips and
//! rejection of malformed input.

use cityloop_tlog::{
    Error, TileId, TilePath, decode_entry_bundle, encode_entry_bundle, entries_path,
    parse_tile_path, tile_path,
};
use proptest::prelude::*;

fn tile(level: u8, index: u64, width: u16) -> TileId {
    TileId {
        level,
        index,
        width,
    }
}

#[test]
fn tile_paths_match_the_spec() {
    assert_eq!(tile_path(tile(0, 0, 256)), "tile/0/000");
    assert_eq!(tile_path(tile(0, 5, 256)), "tile/0/005");
    assert_eq!(tile_path(tile(1, 1234067, 256)), "tile/1/x001/x234/067");
    assert_eq!(tile_path(tile(0, 1234, 5)), "tile/0/x001/234.p/5");
    assert_eq!(tile_path(tile(63, 1000, 255)), "tile/63/x001/000.p/255");
    assert_eq!(
        tile_path(tile(2, u64::MAX, 1)),
        "tile/2/x018/x446/x744/x073/x709/x551/615.p/1"
    );
    assert_eq!(entries_path(0, 256), "tile/entries/000");
    assert_eq!(entries_path(1234067, 17), "tile/entries/x001/x234/067.p/17");
}

#[test]
fn tile_paths_parse() {
    assert_eq!(
        parse_tile_path("tile/0/x001/234.p/5").unwrap(),
        TilePath::Hashes(tile(0, 1234, 5))
    );
    assert_eq!(
        parse_tile_path("tile/1/x001/x234/067").unwrap(),
        TilePath::Hashes(tile(1, 1234067, 256))
    );
    assert_eq!(
        parse_tile_path("tile/entries/x001/x234/067.p/17").unwrap(),
        TilePath::Entries {
            index: 1234067,
            width: 17
        }
    );
    assert_eq!(
        parse_tile_path("tile/entries/000").unwrap(),
        TilePath::Entries {
            index: 0,
            width: 256
        }
    );
}

#[test]
fn malformed_tile_paths_are_rejected() {
    for path in [
        "",
        "tile",
        "tile/",
        "/tile/0/000",
        "tiles/0/000",
        "tile/0",
        "tile/0/",
        "tile/00/000",
        "tile/01/000",
        "tile/64/000",
        "tile/-1/000",
        "tile/+1/000",
        "tile/a/000",
        "tile/0/0",
        "tile/0/00",
        "tile/0/0000",
        "tile/0/x000",
        "tile/0/x001",
        "tile/0/001/002",
        "tile/0/x000/001",
        "tile/0/x001/x002",
        "tile/0/y001/002",
        "tile/0/xx01/002",
        "tile/0/x1/002",
        "tile/0/x+01/002",
        "tile/0/00a",
        "tile/0/000.p",
        "tile/0/000.p/",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/05",
        "tile/0/000.p/+5",
        "tile/0/000.p/5/",
        "tile/0/000.p/5.p/5",
        "tile/0/000/",
        "tile/0/000.q/5",
        "tile/entries",
        "tile/entries/",
        "tile/entries/0",
        "tile/entries/000.p/0",
        "tile/entries/x000/001",
        "tile/0/x018/x446/x744/x073/x709/x551/616",
        "tile/0/x001/x018/x446/x744/x073/x709/x551/615",
    ] {
        assert!(
            matches!(parse_tile_path(path), Err(Error::BadTilePath(_))),
            "accepted {path:?}"
        );
    }
}

#[test]
fn entry_bundles_round_trip() {
    let entries: Vec<&[u8]> = vec![b"", b"a", b"hello world", &[0u8; 300]];
    let bundle = encode_entry_bundle(&entries).unwrap();
    assert_eq!(&bundle[..5], &[0, 0, 0, 1, b'a']);
    assert_eq!(bundle.len(), 2 * 4 + 1 + 11 + 300);
    assert_eq!(decode_entry_bundle(&bundle).unwrap(), entries);
    assert_eq!(decode_entry_bundle(&[]).unwrap(), Vec::<Vec<u8>>::new());
    let largest = vec![7u8; 65_535];
    let bundle = encode_entry_bundle(&[&largest]).unwrap();
    assert_eq!(decode_entry_bundle(&bundle).unwrap(), vec![largest]);
}

#[test]
fn bad_entry_bundles_are_rejected() {
    let too_long = vec![0u8; 65_536];
    assert!(matches!(
        encode_entry_bundle(&[b"ok", &too_long]),
        Err(Error::BadEntryBundle(_))
    ));
    let too_many: Vec<&[u8]> = vec![b"x"; 257];
    assert!(encode_entry_bundle(&too_many).is_err());
    assert!(encode_entry_bundle(&too_many[..256]).is_ok());

    let bundle = encode_entry_bundle(&[b"hello", b"world"]).unwrap();
    for cut in 1..bundle.len() {
        let truncated = &bundle[..cut];
        // Cutting exactly between entries leaves a valid, shorter bundle.
        if cut == 7 {
            assert_eq!(
                decode_entry_bundle(truncated).unwrap(),
                vec![b"hello".to_vec()]
            );
        } else {
            assert!(
                matches!(
                    decode_entry_bundle(truncated),
                    Err(Error::BadEntryBundle(_))
                ),
                "accepted a bundle cut at {cut}"
            );
        }
    }
    let too_many = vec![0u8; 2 * 257];
    assert!(decode_entry_bundle(&too_many).is_err());
    assert_eq!(decode_entry_bundle(&too_many[..512]).unwrap().len(), 256);
}

proptest! {
    #[test]
    fn tile_paths_round_trip(level in 0u8..=63, index in any::<u64>(), width in 1u16..=256) {
        let id = tile(level, index, width);
        prop_assert_eq!(parse_tile_path(&tile_path(id)).unwrap(), TilePath::Hashes(id));
        prop_assert_eq!(
            parse_tile_path(&entries_path(index, width)).unwrap(),
            TilePath::Entries { index, width }
        );
    }

    #[test]
    fn small_indices_round_trip(index in 0u64..2_000_000) {
        let id = tile(0, index, 256);
        prop_assert_eq!(parse_tile_path(&tile_path(id)).unwrap(), TilePath::Hashes(id));
    }

    #[test]
    fn parsing_arbitrary_paths_never_panics(path in "(tile/)?(entries/|[0-9x]{0,3}/)?[0-9x/.p]{0,30}") {
        if let Ok(parsed) = parse_tile_path(&path) {
            let again = match parsed {
                TilePath::Hashes(id) => tile_path(id),
                TilePath::Entries { index, width } => entries_path(index, width),
            };
            prop_assert_eq!(again, path);
        }
    }

    #[test]
    fn entry_bundles_round_trip_any(entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 0..40)) {
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let bundle = encode_entry_bundle(&refs).unwrap();
        prop_assert_eq!(decode_entry_bundle(&bundle).unwrap(), entries);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_entry_bundle(&bytes);
    }
}
