//! C2SP signed-note with Ed25519 keys: signing, verifying and the text
//! encodings of signer and verifier keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::error::Error;

/// The signed-note signature type of Ed25519.
const ALG_ED25519: u8 = 0x01;

/// Notes with more signature lines than this are rejected as malformed
/// (the spec asks to accept at least 16).
const MAX_SIGNATURES: usize = 100;

/// The line that starts a signature: em dash, space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// `SHA-256(name || 0x0A || 0x01 || public key)[..4]`.
fn key_id(name: &str, public: &VerifyingKey) -> [u8; 4] {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', ALG_ED25519])
        .chain_update(public.as_bytes())
        .finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// A key name is non-empty and has no Unicode space and no `+`.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// Splits `<name>+<hex key id>+<base64(0x01 || 32 bytes)>` and checks its
/// form (not the key ID, which needs the public key).
fn split_key(text: &str) -> Result<(&str, [u8; 4], [u8; 32]), Error> {
    let bad = |why: &str| Error::BadKey(why.to_string());
    let (name, rest) = text.split_once('+').ok_or_else(|| bad("no key name"))?;
    let (id, key) = rest.split_once('+').ok_or_else(|| bad("no key ID"))?;
    if !valid_name(name) {
        return Err(bad("key name is empty or has a space or '+'"));
    }
    let mut id_bytes = [0u8; 4];
    if id.len() != 8 || hex::decode_to_slice(id, &mut id_bytes).is_err() {
        return Err(bad("key ID must be 8 hex digits"));
    }
    let key = STANDARD
        .decode(key)
        .map_err(|_| bad("key is not standard base64"))?;
    match key.split_first() {
        Some((&ALG_ED25519, bytes)) => {
            let bytes =
                <[u8; 32]>::try_from(bytes).map_err(|_| bad("Ed25519 key must be 32 bytes"))?;
            Ok((name, id_bytes, bytes))
        }
        _ => Err(bad("not an Ed25519 (type 0x01) key")),
    }
}

/// Signs notes with an Ed25519 key under a key name.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    id: [u8; 4],
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &hex::encode(self.id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A new random key under `name`, from the operating system's random
    /// number generator. The name is checked when signing
    /// ([`sign`](Self::sign) fails for an invalid name).
    ///
    /// # Panics
    ///
    /// Only if the operating system cannot provide random bytes.
    pub fn generate(name: &str) -> Self {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        Self::with_key(name, SigningKey::from_bytes(&seed))
    }

    /// The signer for the Ed25519 private key `secret` (the 32-byte seed)
    /// under `name`. Errors if the name is empty or has a space or `+`.
    pub fn from_secret(name: &str, secret: &[u8; 32]) -> Result<Self, Error> {
        if !valid_name(name) {
            return Err(Error::BadKey(
                "key name is empty or has a space or '+'".into(),
            ));
        }
        Ok(Self::with_key(name, SigningKey::from_bytes(secret)))
    }

    fn with_key(name: &str, key: SigningKey) -> Self {
        let id = key_id(name, &key.verifying_key());
        Self {
            name: name.to_string(),
            key,
            id,
        }
    }

    /// The Ed25519 private key (32-byte seed). Keep it secret.
    pub fn secret(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID: the first 4 bytes of
    /// `SHA-256(name || 0x0A || 0x01 || public key)`.
    pub fn key_id(&self) -> [u8; 4] {
        self.id
    }

    /// The verifier for this signer's public key.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
            id: self.id,
        }
    }

    /// Signs `text` and returns the whole note: the text, a blank line and
    /// the signature line `— <name> <base64(key ID || signature)>`.
    ///
    /// The text must be non-empty, end with a newline and have no control
    /// character other than newline.
    pub fn sign(&self, text: &str) -> Result<String, Error> {
        if !valid_name(&self.name) {
            return Err(Error::BadKey(
                "key name is empty or has a space or '+'".into(),
            ));
        }
        if !text.ends_with('\n') {
            return Err(Error::BadNote("text must end with a newline".into()));
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::BadNote("control character in text".into()));
        }
        let signature = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(4 + Signature::BYTE_SIZE);
        blob.extend_from_slice(&self.id);
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{text}\n{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(blob)
        ))
    }

    /// The signer key string
    /// `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`.
    pub fn to_skey(&self) -> String {
        let mut key = vec![ALG_ED25519];
        key.extend_from_slice(&self.key.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex::encode(self.id),
            STANDARD.encode(key)
        )
    }

    /// Parses a signer key string made by [`to_skey`](Self::to_skey) (or
    /// Go's `note.GenerateKey`), checking the key ID.
    pub fn from_skey(skey: &str) -> Result<Self, Error> {
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| Error::BadKey("no PRIVATE+KEY+ prefix".into()))?;
        let (name, id, seed) = split_key(rest)?;
        let signer = Self::with_key(name, SigningKey::from_bytes(&seed));
        if signer.id != id {
            return Err(Error::BadKey("key ID does not match the key".into()));
        }
        Ok(signer)
    }
}

/// Verifies notes signed by one Ed25519 key under a key name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
    id: [u8; 4],
}

impl NoteVerifier {
    /// Parses a verifier key string
    /// `<name>+<hex key ID>+<base64(0x01 || public key)>`, checking that
    /// the key ID matches the name and key.
    pub fn parse(vkey: &str) -> Result<Self, Error> {
        let (name, id, public) = split_key(vkey)?;
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| Error::BadKey("not a valid Ed25519 public key".into()))?;
        if key_id(name, &key) != id {
            return Err(Error::BadKey("key ID does not match the key".into()));
        }
        Ok(Self {
            name: name.to_string(),
            key,
            id,
        })
    }

    /// The verifier key string, as [`parse`](Self::parse) reads it.
    pub fn to_vkey(&self) -> String {
        let mut key = vec![ALG_ED25519];
        key.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.id),
            STANDARD.encode(key)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> [u8; 4] {
        self.id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Verifies a signed note and returns its text (up to and including the
    /// newline before the last blank line).
    ///
    /// Signature lines by other keys (another name or key ID) are ignored.
    /// Errors with [`Error::BadNote`] if the note is malformed (not ending
    /// in a signature block, a control character, a malformed signature
    /// line, more than 100 signatures), [`Error::BadSignature`] if a
    /// signature by this key does not verify, and [`Error::UnknownKey`] if
    /// there is no signature by this key.
    pub fn verify(&self, note: &str) -> Result<String, Error> {
        let bad = |why: &str| Error::BadNote(why.to_string());
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(bad("control character in note"));
        }
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| bad("no blank line before the signatures"))?;
        let (text, signatures) = (&note[..split + 1], &note[split + 2..]);
        let lines = signatures
            .strip_suffix('\n')
            .ok_or_else(|| bad("signatures must end with a newline"))?;
        let mut verified = false;
        for (count, line) in lines.split('\n').enumerate() {
            if count == MAX_SIGNATURES {
                return Err(bad("too many signatures"));
            }
            let (name, blob) = line
                .strip_prefix(SIGNATURE_PREFIX)
                .and_then(|line| line.split_once(' '))
                .ok_or_else(|| bad("malformed signature line"))?;
            let blob = STANDARD
                .decode(blob)
                .map_err(|_| bad("signature is not standard base64"))?;
            if !valid_name(name) || blob.len() < 5 {
                return Err(bad("malformed signature line"));
            }
            if name != self.name || blob[..4] != self.id {
                continue;
            }
            let signature = Signature::from_slice(&blob[4..]).map_err(|_| Error::BadSignature)?;
            self.key
                .verify_strict(text.as_bytes(), &signature)
                .map_err(|_| Error::BadSignature)?;
            verified = true;
        }
        if verified {
            Ok(text.to_string())
        } else {
            Err(Error::UnknownKey)
        }
    }
}
