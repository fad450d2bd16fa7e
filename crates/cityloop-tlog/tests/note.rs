//! Checkpoints and Ed25519 signed notes: round trips, signing and
//! verifying, and rejection of tampered notes and wrong keys.

use cityloop_tlog::{Checkpoint, Error, NoteSigner, NoteVerifier, leaf_hash};
use proptest::prelude::*;

fn checkpoint() -> Checkpoint {
    Checkpoint {
        origin: "cityloop.example/log".into(),
        size: 1234,
        root: leaf_hash(b"root"),
        extensions: vec![],
    }
}

#[test]
fn checkpoint_text_round_trips() {
    let plain = checkpoint();
    let text = plain.to_text();
    assert!(text.starts_with("cityloop.example/log\n1234\n"));
    assert!(text.ends_with("=\n"));
    assert_eq!(Checkpoint::parse(&text).unwrap(), plain);

    let extended = Checkpoint {
        extensions: vec!["timestamp 1700000000".into(), "x".into()],
        ..plain
    };
    let text = extended.to_text();
    assert!(text.ends_with("\ntimestamp 1700000000\nx\n"));
    assert_eq!(Checkpoint::parse(&text).unwrap(), extended);

    let empty = Checkpoint {
        size: 0,
        root: cityloop_tlog::EMPTY_ROOT,
        ..checkpoint()
    };
    assert_eq!(Checkpoint::parse(&empty.to_text()).unwrap(), empty);
}

#[test]
fn malformed_checkpoints_are_rejected() {
    let good = checkpoint().to_text();
    let root = good.lines().nth(2).unwrap().to_string();
    for text in [
        String::new(),
        good.trim_end().to_string(),
        format!("\n1234\n{root}\n"),
        format!("log\n01234\n{root}\n"),
        format!("log\n+1234\n{root}\n"),
        format!("log\n-1\n{root}\n"),
        format!("log\n 1234\n{root}\n"),
        format!("log\n18446744073709551616\n{root}\n"),
        format!("log\n1234\n{}\n", &root[..root.len() - 1]),
        format!("log\n1234\n{}\n", root.trim_end_matches('=')),
        "log\n1234\nAAAA\n".to_string(),
        format!("log\n1234\n{root}\n\n"),
        format!("log\n1234\n{root}\next\n\n"),
        format!("log\n1234\n{root}\r\n"),
        "log\n1234\n".to_string(),
        format!("log\r\n1234\n{root}\n"),
    ] {
        assert!(
            matches!(Checkpoint::parse(&text), Err(Error::BadCheckpoint(_))),
            "accepted {text:?}"
        );
    }
}

#[test]
fn sign_then_verify() {
    let signer = NoteSigner::generate("cityloop.example/log");
    let verifier = signer.verifier();
    assert_eq!(verifier.name(), "cityloop.example/log");
    assert_eq!(verifier.key_id(), signer.key_id());
    let text = checkpoint().to_text();
    let note = signer.sign(&text).unwrap();
    assert!(note.starts_with(&format!("{text}\n\u{2014} cityloop.example/log ")));
    assert_eq!(verifier.verify(&note).unwrap(), text);
    assert_eq!(
        Checkpoint::parse(&verifier.verify(&note).unwrap()).unwrap(),
        checkpoint()
    );

    // Notes whose text has blank lines, or is a single newline, still work.
    for text in ["a\n\nb\n", "a\n\n", "\n"] {
        let note = signer.sign(text).unwrap();
        assert_eq!(verifier.verify(&note).unwrap(), text);
    }
}

#[test]
fn changing_one_byte_of_the_text_is_rejected() {
    let signer = NoteSigner::generate("cityloop.example/log");
    let verifier = signer.verifier();
    let text = checkpoint().to_text();
    let note = signer.sign(&text).unwrap();
    let mut bytes = note.clone().into_bytes();
    for i in 0..text.len() - 1 {
        let original = bytes[i];
        bytes[i] = if original == b'1' { b'2' } else { b'1' };
        let tampered = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            verifier.verify(&tampered).is_err(),
            "accepted a change at {i}"
        );
        bytes[i] = original;
    }
    assert_eq!(
        verifier.verify(&note.replacen("1234", "1235", 1)),
        Err(Error::BadSignature)
    );
}

#[test]
fn wrong_keys_are_rejected() {
    let signer = NoteSigner::generate("cityloop.example/log");
    let note = signer.sign("hello\n").unwrap();
    // Another key under the same name: different key ID, so unknown.
    let other = NoteSigner::generate("cityloop.example/log").verifier();
    assert_eq!(other.verify(&note), Err(Error::UnknownKey));
    // The same key under another name.
    let renamed = NoteSigner::from_secret("cityloop.example/other", &signer.secret())
        .unwrap()
        .verifier();
    assert_eq!(renamed.verify(&note), Err(Error::UnknownKey));
    // A signature line renamed to the verifier's name keeps the wrong key ID.
    let forged = note.replace("cityloop.example/log ", "cityloop.example/other ");
    assert_eq!(renamed.verify(&forged), Err(Error::UnknownKey));
    // A signature by another key, relabelled with our name and key ID.
    let imposter = NoteSigner::generate("cityloop.example/log");
    let mut blob = base64_decode(note.lines().last().unwrap().rsplit(' ').next().unwrap());
    let imposter_note = imposter.sign("hello\n").unwrap();
    let theirs = base64_decode(
        imposter_note
            .lines()
            .last()
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap(),
    );
    blob[4..].copy_from_slice(&theirs[4..]);
    let relabelled = format!(
        "hello\n\n\u{2014} cityloop.example/log {}\n",
        base64_encode(&blob)
    );
    assert_eq!(
        signer.verifier().verify(&relabelled),
        Err(Error::BadSignature)
    );
}

#[test]
fn co_signatures_by_unknown_keys_are_ignored() {
    let log = NoteSigner::generate("cityloop.example/log");
    let witness = NoteSigner::generate("witness.example/w1");
    let text = checkpoint().to_text();
    let note = log.sign(&text).unwrap();
    let witnessed = witness.sign(&text).unwrap();
    let witness_line = witnessed.lines().last().unwrap();
    let both = format!("{note}{witness_line}\n");
    assert_eq!(log.verifier().verify(&both).unwrap(), text);
    assert_eq!(witness.verifier().verify(&both).unwrap(), text);
    let witness_only = format!("{text}\n{witness_line}\n");
    assert_eq!(log.verifier().verify(&witness_only), Err(Error::UnknownKey));
}

#[test]
fn malformed_notes_are_rejected() {
    let signer = NoteSigner::generate("log");
    let verifier = signer.verifier();
    let note = signer.sign("text\n").unwrap();
    let sig_line = note.lines().last().unwrap().to_string();
    for bad in [
        String::new(),
        "text\n".to_string(),
        "text\n\n".to_string(),
        note.trim_end().to_string(),
        format!("\x01{note}"),
        format!("te\rxt\n\n{sig_line}\n"),
        format!("text\n\n{sig_line}\nunexpected\n"),
        format!("text\n\n{sig_line}\n\n"),
        format!("text\n\n{}\n", sig_line.replacen('\u{2014}', "-", 1)),
        format!("text\n\n{}\n", sig_line.replacen(" log ", " bad name ", 1)),
        format!("text\n\n{}\n", sig_line.replacen(" log ", " lo+g ", 1)),
        format!("text\n\n{sig_line}!\n"),
        "text\n\n\u{2014} log AAAA\n".to_string(),
        format!("text\n\n{}", format!("{sig_line}\n").repeat(101)),
    ] {
        assert!(
            matches!(verifier.verify(&bad), Err(Error::BadNote(_))),
            "accepted {bad:?}"
        );
    }
    // Up to 100 signatures are accepted.
    let many = format!("text\n\n{}", format!("{sig_line}\n").repeat(100));
    assert_eq!(verifier.verify(&many).unwrap(), "text\n");

    assert!(matches!(signer.sign("no newline"), Err(Error::BadNote(_))));
    assert!(matches!(signer.sign(""), Err(Error::BadNote(_))));
    assert!(matches!(signer.sign("tab\there\n"), Err(Error::BadNote(_))));
    let unnamed = NoteSigner::generate("has space");
    assert!(matches!(unnamed.sign("text\n"), Err(Error::BadKey(_))));
}

#[test]
fn keys_round_trip() {
    let signer = NoteSigner::generate("cityloop.example/log");
    let skey = signer.to_skey();
    assert!(skey.starts_with("PRIVATE+KEY+cityloop.example/log+"));
    let again = NoteSigner::from_skey(&skey).unwrap();
    assert_eq!(again.secret(), signer.secret());
    assert_eq!(again.name(), signer.name());
    assert_eq!(again.key_id(), signer.key_id());

    let vkey = signer.verifier().to_vkey();
    assert!(vkey.starts_with(&format!(
        "cityloop.example/log+{}+A",
        hex::encode(signer.key_id())
    )));
    let verifier = NoteVerifier::parse(&vkey).unwrap();
    assert_eq!(verifier, signer.verifier());
    assert_eq!(verifier.public_key(), signer.verifier().public_key());

    let from_secret = NoteSigner::from_secret("cityloop.example/log", &signer.secret()).unwrap();
    assert_eq!(from_secret.to_skey(), skey);
    for name in ["", "a b", "a+b", "a\u{3000}b"] {
        assert!(NoteSigner::from_secret(name, &[1; 32]).is_err(), "{name:?}");
    }
}

#[test]
fn malformed_keys_are_rejected() {
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    assert!(NoteVerifier::parse(vkey).is_ok());
    // Every proper substring and every one-byte change is rejected (as in
    // Go's note tests).
    let bytes = vkey.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if (i, j) != (0, bytes.len()) {
                let part = std::str::from_utf8(&bytes[i..j]).unwrap();
                assert!(NoteVerifier::parse(part).is_err(), "accepted {part:?}");
            }
        }
    }
    for i in 0..bytes.len() {
        let mut changed = bytes.to_vec();
        changed[i] = changed[i].wrapping_add(1);
        if let Ok(changed) = String::from_utf8(changed) {
            assert!(
                NoteVerifier::parse(&changed).is_err(),
                "accepted {changed:?}"
            );
        }
    }
    // Wrong key length and unknown algorithm, with adjusted key IDs (Go's
    // note tests).
    assert!(
        NoteVerifier::parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
        .is_err()
    );
    assert!(
        NoteVerifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .is_err()
    );

    let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    assert!(NoteSigner::from_skey(skey).is_ok());
    for bad in [
        &skey[1..],
        &skey[..skey.len() - 1],
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumanm+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ] {
        assert!(NoteSigner::from_skey(bad).is_err(), "accepted {bad:?}");
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

proptest! {
    #[test]
    fn checkpoints_round_trip(
        origin in "[a-z0-9./-]{1,40}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        extensions in proptest::collection::vec("[ -~]{1,20}", 0..3),
    ) {
        let checkpoint = Checkpoint { origin, size, root, extensions };
        prop_assert_eq!(Checkpoint::parse(&checkpoint.to_text()).unwrap(), checkpoint);
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in "\\PC{0,80}", noise in "[\n\u{2014} a-zA-Z0-9+/=]{0,120}") {
        let verifier = NoteSigner::from_secret("log", &[9; 32]).unwrap().verifier();
        let _ = Checkpoint::parse(&text);
        let _ = NoteVerifier::parse(&text);
        let _ = NoteSigner::from_skey(&text);
        let _ = verifier.verify(&text);
        let _ = verifier.verify(&noise);
        let _ = verifier.verify(&format!("text\n\n{noise}"));
    }
}
