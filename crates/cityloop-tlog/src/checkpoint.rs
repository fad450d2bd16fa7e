//! C2SP tlog-checkpoint: the note text that states a log's tree head.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::Error;
use crate::hash::Hash;

/// A tree head as a checkpoint note text:
///
/// ```text
/// <origin>
/// <size>
/// <base64 root>
/// [extension lines]
/// ```
///
/// Every line ends with a newline. Sign the text with
/// [`NoteSigner::sign`](crate::NoteSigner::sign) and parse the text that
/// [`NoteVerifier::verify`](crate::NoteVerifier::verify) returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `example.com/log42`; non-empty.
    pub origin: String,
    /// The number of leaves in the tree.
    pub size: u64,
    /// The tree's root hash.
    pub root: Hash,
    /// Opaque extension lines (without their newlines); each non-empty.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The checkpoint's note text. For a well-formed checkpoint (non-empty
    /// origin and extension lines without newlines) [`Checkpoint::parse`]
    /// gives it back.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Parses a checkpoint note text: at least three non-empty lines, each
    /// ending with a newline; the size in decimal without leading zeros;
    /// the root as canonical padded standard base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::BadCheckpoint(why.to_string());
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("text must end with a newline"))?;
        let mut lines = body.split('\n');
        let mut next = |what: &str| match lines.next() {
            Some(line) if !line.is_empty() => Ok(line),
            _ => Err(bad(what)),
        };
        let origin = next("missing origin line")?.to_string();
        let size_line = next("missing size line")?;
        let root_line = next("missing root hash line")?;
        let extensions = lines
            .map(|line| {
                if line.is_empty() {
                    Err(bad("empty extension line"))
                } else {
                    Ok(line.to_string())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(bad("control character in text"));
        }
        let size = if size_line.bytes().all(|b| b.is_ascii_digit())
            && (size_line == "0" || !size_line.starts_with('0'))
        {
            size_line
                .parse()
                .map_err(|_| bad("tree size out of range"))?
        } else {
            return Err(bad("tree size must be decimal without leading zeros"));
        };
        let root = STANDARD
            .decode(root_line)
            .ok()
            .and_then(|bytes| Hash::try_from(bytes).ok())
            .ok_or_else(|| bad("root hash must be base64 of 32 bytes"))?;
        Ok(Self {
            origin,
            size,
            root,
            extensions,
        })
    }
}
