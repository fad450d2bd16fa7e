//! The log's two secrets, kept in the data directory
//! (`<data>/transparency/`): the Ed25519 key that signs checkpoints
//! (`log.skey`, C2SP signed-note private key format; its public half in
//! `log.vkey`) and the HMAC key behind pseudonyms and row commitments
//! (`pseudonym.key`). Both are generated on first start; every server
//! process of one city must share them.

use crate::Error;
use cityloop_store::CaseEventRow;
use cityloop_tlog::{NoteSigner, NoteVerifier};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The default origin (and key name) of the log's checkpoints.
pub const DEFAULT_ORIGIN: &str = "cityloop.example/transparency";

/// Keyed pseudonyms and commitments: stable for one city, meaningless
/// without the key, so the public can verify the log without learning who
/// reported what.
#[derive(Clone)]
pub struct Pseudonyms {
    key: [u8; 32],
}

impl std::fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonyms(…)")
    }
}

impl Pseudonyms {
    pub fn new(key: [u8; 32]) -> Pseudonyms {
        Pseudonyms { key }
    }

    /// A fresh random key (tests; a real city loads [`Keys`]).
    pub fn random() -> Pseudonyms {
        Pseudonyms::new(rand::random())
    }

    fn mac(&self, domain: &str, parts: &[&[u8]]) -> [u8; 32] {
        // HMAC accepts keys of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(domain.as_bytes());
        for part in parts {
            mac.update(&[0]);
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// `u:` and 128 bits of HMAC of the user id.
    pub fn user(&self, id: i64) -> String {
        format!(
            "u:{}",
            hex::encode(&self.mac("cityloop user v1", &[&id.to_be_bytes()])[..16])
        )
    }

    /// `p:` and 128 bits of HMAC of a person's identity number (upper-cased,
    /// trimmed): how the data hub names the person a row is about, and how
    /// a citizen finds who read their data, without the number itself.
    pub fn person(&self, id_number: &str) -> String {
        let normal = id_number.trim().to_uppercase();
        format!(
            "p:{}",
            hex::encode(&self.mac("cityloop person v1", &[normal.as_bytes()])[..16])
        )
    }

    /// `k:` and 128 bits of HMAC of a data-hub record's key within its
    /// dataset: rows are stored, upserted and paged by it, so a paging
    /// cursor never carries an identity number.
    pub fn row_key(&self, dataset: &str, key: &str) -> String {
        format!(
            "k:{}",
            hex::encode(
                &self.mac(
                    "cityloop hub row key v1",
                    &[dataset.as_bytes(), key.as_bytes()]
                )[..16]
            )
        )
    }

    /// The keyed commitment to a whole history row: any change to any
    /// column changes it.
    pub fn row(&self, row: &CaseEventRow) -> String {
        let at = row.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let user = row.actor_user.map(|u| u.0.to_string()).unwrap_or_default();
        hex::encode(self.mac(
            "cityloop case event row v1",
            &[
                row.case_id.to_string().as_bytes(),
                row.seq.to_string().as_bytes(),
                at.as_bytes(),
                row.kind.as_bytes(),
                user.as_bytes(),
                row.actor_role.as_deref().unwrap_or("").as_bytes(),
                row.actor_department.as_deref().unwrap_or("").as_bytes(),
                row.payload.as_bytes(),
            ],
        ))
    }

    /// The keyed commitment to what was reported with a case (description,
    /// address, point, reporter, contact): kept in the summary row, not in
    /// the history, so the `created` leaf commits to it separately.
    pub fn report(&self, case: &cityloop_store::CaseRow) -> String {
        let reporter = case.reporter.map(|u| u.0.to_string()).unwrap_or_default();
        let point = format!("{:?},{:?}", case.lon, case.lat);
        hex::encode(self.mac(
            "cityloop case report v1",
            &[
                case.id.to_string().as_bytes(),
                case.description.as_bytes(),
                case.address.as_deref().unwrap_or("").as_bytes(),
                point.as_bytes(),
                reporter.as_bytes(),
                case.reporter_contact.as_deref().unwrap_or("").as_bytes(),
            ],
        ))
    }

    /// The keyed commitment to what a report brought besides the case row:
    /// its attributes, client and token, and the SHA-256 of each public
    /// (report) photo in id order.
    pub fn attachments(
        &self,
        case_id: i64,
        report: Option<&cityloop_store::CaseReport>,
        photos: &[cityloop_store::MediaRecord],
    ) -> String {
        let mut photos: Vec<&cityloop_store::MediaRecord> =
            photos.iter().filter(|m| m.public).collect();
        photos.sort_by(|a, b| a.id.cmp(&b.id));
        let photos: Vec<String> = photos
            .iter()
            .map(|m| format!("{}:{}:{}", m.id, m.content_type, m.sha256))
            .collect();
        let photos = photos.join(",");
        hex::encode(
            self.mac(
                "cityloop case attachments v1",
                &[
                    case_id.to_string().as_bytes(),
                    report
                        .map(|r| r.attributes.as_str())
                        .unwrap_or("")
                        .as_bytes(),
                    report
                        .and_then(|r| r.client.as_deref())
                        .unwrap_or("")
                        .as_bytes(),
                    report
                        .and_then(|r| r.token.as_deref())
                        .unwrap_or("")
                        .as_bytes(),
                    photos.as_bytes(),
                ],
            ),
        )
    }

    /// The secret part of a case's receipt: only the reporter is given it.
    pub fn receipt_tag(&self, case_id: i64) -> String {
        hex::encode(&self.mac("cityloop receipt v1", &[&case_id.to_be_bytes()])[..12])
    }

    /// A whole receipt: `<case>-<tag>`.
    pub fn receipt(&self, case_id: i64) -> String {
        format!("{case_id}-{}", self.receipt_tag(case_id))
    }

    /// The case a receipt is for, if its tag is right.
    pub fn open_receipt(&self, receipt: &str) -> Option<i64> {
        let (case, tag) = receipt.trim().split_once('-')?;
        let case: i64 = case.parse().ok()?;
        let expected = self.receipt_tag(case);
        // Constant-time enough for a 96-bit tag compared once per request.
        (expected.len() == tag.len()
            && expected
                .bytes()
                .zip(tag.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0)
            .then_some(case)
    }
}

/// Plain SHA-256 in hex, for configuration contents (public digests).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The log's keys.
#[derive(Clone)]
pub struct Keys {
    pub signer: std::sync::Arc<NoteSigner>,
    pub pseudonyms: Pseudonyms,
}

impl Keys {
    /// In memory (tests, benchmarks).
    pub fn generate(origin: &str) -> Keys {
        Keys {
            signer: std::sync::Arc::new(NoteSigner::generate(origin)),
            pseudonyms: Pseudonyms::random(),
        }
    }

    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    fn dir(data_dir: &Path) -> PathBuf {
        data_dir.join("transparency")
    }

    /// Loads the keys from `<data_dir>/transparency/`, creating them on
    /// first start. A key whose name is not `origin` is an error (the origin
    /// of a log never changes).
    pub fn load_or_create(data_dir: &Path, origin: &str) -> Result<Keys, Error> {
        let dir = Self::dir(data_dir);
        std::fs::create_dir_all(&dir).map_err(|error| key_error(&dir, error))?;
        let skey_path = dir.join("log.skey");
        let signer = if skey_path.exists() {
            let text = std::fs::read_to_string(&skey_path).map_err(|e| key_error(&skey_path, e))?;
            let signer =
                NoteSigner::from_skey(text.trim()).map_err(|e| key_error(&skey_path, e))?;
            if signer.name() != origin {
                return Err(key_error(
                    &skey_path,
                    format!(
                        "signs for origin {:?}, but the configured origin is {origin:?}",
                        signer.name()
                    ),
                ));
            }
            signer
        } else {
            let signer = NoteSigner::generate(origin);
            write_secret(&skey_path, &format!("{}\n", signer.to_skey()))?;
            signer
        };
        let vkey_path = dir.join("log.vkey");
        let vkey = format!("{}\n", signer.verifier().to_vkey());
        std::fs::write(&vkey_path, vkey).map_err(|e| key_error(&vkey_path, e))?;
        let pseudonyms = match Self::load_pseudonyms(data_dir)? {
            Some(pseudonyms) => pseudonyms,
            None => {
                let key: [u8; 32] = rand::random();
                write_secret(
                    &dir.join("pseudonym.key"),
                    &format!("{}\n", hex::encode(key)),
                )?;
                Pseudonyms::new(key)
            }
        };
        Ok(Keys {
            signer: std::sync::Arc::new(signer),
            pseudonyms,
        })
    }

    /// The pseudonym key alone, for offline verification (no signing).
    pub fn load_pseudonyms(data_dir: &Path) -> Result<Option<Pseudonyms>, Error> {
        let path = Self::dir(data_dir).join("pseudonym.key");
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| key_error(&path, e))?;
        let bytes = hex::decode(text.trim()).map_err(|e| key_error(&path, e))?;
        let key = <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| key_error(&path, "is not 32 bytes of hex"))?;
        Ok(Some(Pseudonyms::new(key)))
    }

    /// The published verifier key, for offline verification.
    pub fn load_verifier(data_dir: &Path) -> Result<Option<NoteVerifier>, Error> {
        let path = Self::dir(data_dir).join("log.vkey");
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| key_error(&path, e))?;
        NoteVerifier::parse(text.trim())
            .map(Some)
            .map_err(|e| key_error(&path, e))
    }
}

fn key_error(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Key {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Writes a secret readable by its owner only.
fn write_secret(path: &Path, text: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| key_error(path, e))?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| key_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = Keys::load_or_create(dir.path(), "city.example/log").unwrap();
        let again = Keys::load_or_create(dir.path(), "city.example/log").unwrap();
        assert_eq!(first.verifier().to_vkey(), again.verifier().to_vkey());
        assert_eq!(first.pseudonyms.user(7), again.pseudonyms.user(7));
        assert_eq!(
            Keys::load_verifier(dir.path()).unwrap().unwrap().to_vkey(),
            first.verifier().to_vkey()
        );
        let error = Keys::load_or_create(dir.path(), "other.example/log")
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("other.example/log"), "{error}");
    }

    #[test]
    fn pseudonyms_depend_on_the_key_and_receipts_check_their_tag() {
        let a = Pseudonyms::new([1; 32]);
        let b = Pseudonyms::new([2; 32]);
        assert_ne!(a.user(7), b.user(7));
        assert_ne!(a.user(7), a.user(8));
        assert!(a.user(7).starts_with("u:") && a.user(7).len() == 34);
        let receipt = a.receipt(42);
        assert_eq!(a.open_receipt(&receipt), Some(42));
        assert_eq!(b.open_receipt(&receipt), None);
        assert_eq!(a.open_receipt("42-000000000000000000000000"), None);
        assert_eq!(a.open_receipt("garbage"), None);
    }
}
