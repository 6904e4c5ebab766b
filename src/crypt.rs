//! Encryption at rest with age: the keys a store encrypts release content to (its
//! recipients) and the keys a reader decrypts it with (its identities).
//!
//! A store's `storage_config` names them:
//!
//! ```text
//! age_recipients: "age1…, age1…"       public keys, separated by commas or white space
//! age_recipients_file: /path/recipients  one public key per line, `#` comments (age -R)
//! age_identity: /path/key.txt            an identity file, as age-keygen writes it (age -i)
//! ```
//!
//! `PULSE_AGE_IDENTITY` beats `age_identity`: the path of an identity file, or the secret
//! key itself (`AGE-SECRET-KEY-1…`). Identities are read when the first encrypted release
//! is, so a command that decrypts nothing needs none.
//!
//! Only X25519 keys (what `age-keygen` makes) are taken; passphrases, ssh keys and
//! plugins are not, so decrypting never asks a question or runs another program.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::str::FromStr;
use std::sync::OnceLock;

use crate::bounded::{self, Links};
use crate::error::{Error, Kind, Result};

/// The first line of every age file (the binary format, not armored).
pub const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// What `metadata.json` records for content encrypted with age.
pub const AGE: &str = "age";

/// The settings of `storage_config` this module reads; other `age_*` keys are refused.
pub const KEYS: &[&str] = &["age_recipients", "age_recipients_file", "age_identity"];

/// The environment variable that names the identity (beats `age_identity`).
pub const IDENTITY_VAR: &str = "PULSE_AGE_IDENTITY";

/// The largest recipients or identity file read.
const KEY_FILE_LIMIT: usize = 1 << 20;

/// Whether `key` is a `storage_config` setting of encryption (the stores' own settings
/// pass over these).
pub fn is_key(key: &str) -> bool {
    key.starts_with("age_")
}

/// Where the identities come from, for messages (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
enum IdentitySource {
    /// A secret key in `PULSE_AGE_IDENTITY`.
    Inline,
    /// An identity file, and the setting that named it.
    File(String, &'static str),
}

impl IdentitySource {
    fn describe(&self) -> String {
        match self {
            IdentitySource::Inline => format!("the key in {IDENTITY_VAR}"),
            IdentitySource::File(path, setting) => {
                format!(
                    "identity file '{}' ({setting})",
                    crate::name::printable(path)
                )
            }
        }
    }
}

type Identity = Box<dyn age::Identity + Send + Sync>;

/// The age keys of one store: whom its content is encrypted to, and what can decrypt it.
pub struct Keys {
    recipients: Vec<age::x25519::Recipient>,
    identity: Option<IdentitySource>,
    identities: OnceLock<std::result::Result<Vec<Identity>, (Kind, String)>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("recipients", &self.recipients.len())
            .field("identity", &self.identity)
            .finish()
    }
}

impl Default for Keys {
    fn default() -> Self {
        Keys::none()
    }
}

impl Keys {
    /// No keys: content is written in the clear, and encrypted content cannot be read.
    pub fn none() -> Keys {
        Keys {
            recipients: Vec::new(),
            identity: None,
            identities: OnceLock::new(),
        }
    }

    /// The keys `config` (a store's `storage_config`, values expanded) and the environment
    /// name. A malformed recipient, a recipients file that cannot be read or an unknown
    /// `age_*` setting is a usage error (exit 2); the identity is read when first needed.
    pub fn from_config(config: &BTreeMap<String, String>) -> Result<Keys> {
        for key in config.keys().filter(|k| is_key(k)) {
            if !KEYS.contains(&key.as_str()) {
                return Err(Error::usage(format!(
                    "storage_config has no setting '{}'",
                    crate::name::printable(key)
                ))
                .with_hint(format!("the encryption settings are {}", KEYS.join(", "))));
            }
        }
        let setting = |k: &str| config.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mut recipients = Vec::new();
        if let Some(list) = setting("age_recipients") {
            recipients.extend(parse_recipients(list, "age_recipients")?);
        }
        if let Some(path) = setting("age_recipients_file") {
            recipients.extend(read_recipients_file(Path::new(path))?);
        }
        let identity = match std::env::var(IDENTITY_VAR) {
            Ok(v) if !v.trim().is_empty() => Some(if v.trim().starts_with("AGE-SECRET-KEY-") {
                IdentitySource::Inline
            } else {
                IdentitySource::File(v, IDENTITY_VAR)
            }),
            _ => setting("age_identity")
                .map(|p| IdentitySource::File(p.to_owned(), "age_identity in storage_config")),
        };
        Ok(Keys {
            recipients,
            identity,
            identities: OnceLock::new(),
        })
    }

    /// Keys that encrypt to `identity`'s public key and decrypt with it (the fuzzer's).
    pub(crate) fn for_identity(identity: age::x25519::Identity) -> Keys {
        Keys {
            recipients: vec![identity.to_public()],
            identity: Some(IdentitySource::Inline),
            identities: OnceLock::from(Ok(vec![Box::new(identity) as Identity])),
        }
    }

    /// The keys with the recipients replaced (`pulse sync --recipient`; none: write in
    /// the clear).
    pub fn with_recipients(mut self, recipients: Vec<age::x25519::Recipient>) -> Keys {
        self.recipients = recipients;
        self
    }

    /// Whether content written with these keys is encrypted.
    pub fn encrypts(&self) -> bool {
        !self.recipients.is_empty()
    }

    /// `plaintext` encrypted to every recipient (`None`: there are none, so content is
    /// written in the clear).
    pub fn seal(&self, plaintext: &[u8]) -> Result<Option<Vec<u8>>> {
        if self.recipients.is_empty() {
            return Ok(None);
        }
        let failed = |why: String| Error::other(format!("cannot encrypt with age: {why}"));
        let encryptor = age::Encryptor::with_recipients(
            self.recipients.iter().map(|r| r as &dyn age::Recipient),
        )
        .map_err(|e| failed(e.to_string()))?;
        // The header (about 200 bytes a recipient) and 16 bytes of tag per 64 KiB chunk.
        let mut out = Vec::with_capacity(
            plaintext.len() + plaintext.len() / 4096 + 256 * self.recipients.len() + 64,
        );
        let mut writer = encryptor
            .wrap_output(&mut out)
            .map_err(|e| failed(e.to_string()))?;
        writer
            .write_all(plaintext)
            .and_then(|()| writer.finish().map(|_| ()))
            .map_err(|e| failed(e.to_string()))?;
        Ok(Some(out))
    }

    /// The plaintext of `ciphertext`, an age file holding `what` (for messages:
    /// `release 'p@1.0.0' in …`). No identity, or none that fits, is exit 6 (the reader
    /// is not authorized); a damaged or altered file is an integrity failure (exit 5).
    pub fn open(&self, ciphertext: &[u8], what: &str) -> Result<Vec<u8>> {
        let identities = self.identities(what)?;
        if !ciphertext.starts_with(AGE_MAGIC) {
            return Err(Error::integrity(format!(
                "{what} is recorded as encrypted with age, but its content is not an age file"
            )));
        }
        let decryptor = age::Decryptor::new_buffered(ciphertext)
            .map_err(|e| Error::integrity(format!("{what} is not a readable age file: {e}")))?;
        if decryptor.is_scrypt() {
            return Err(Error::integrity(format!(
                "{what} is encrypted with a passphrase, which pulse never writes"
            )));
        }
        let mut reader = decryptor
            .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => Error::unavailable(format!(
                    "{what} is encrypted with age to other recipients: none of the keys in {} opens it",
                    self.identity
                        .as_ref()
                        .map_or_else(String::new, IdentitySource::describe)
                ))
                .with_hint(
                    "ask whoever writes the store to add your public key to its age_recipients (and sync the release again)",
                ),
                other => Error::integrity(format!("{what} cannot be decrypted: {other}")),
            })?;
        let mut plaintext = Vec::with_capacity(ciphertext.len());
        reader.read_to_end(&mut plaintext).map_err(|e| {
            Error::integrity(format!(
                "{what} cannot be decrypted: {e} (the file is damaged or was altered)"
            ))
        })?;
        Ok(plaintext)
    }

    /// The identities, read once (`what` is what they are to open, for messages).
    fn identities(&self, what: &str) -> Result<&[Identity]> {
        const HINT: &str = "set PULSE_AGE_IDENTITY (or age_identity in storage_config) to an age identity file, as age-keygen writes it";
        let Some(source) = &self.identity else {
            return Err(Error::unavailable(format!(
                "{what} is encrypted with age, and no identity to decrypt it was given"
            ))
            .with_hint(HINT));
        };
        let loaded = self
            .identities
            .get_or_init(|| load_identities(source).map_err(|e| (e.kind(), e.to_string())));
        match loaded {
            Ok(list) => Ok(list),
            Err((kind, message)) => Err(Error::new(*kind, message.clone()).with_hint(HINT)),
        }
    }
}

/// The identities `source` names.
fn load_identities(source: &IdentitySource) -> Result<Vec<Identity>> {
    let text = match source {
        IdentitySource::Inline => std::env::var(IDENTITY_VAR).unwrap_or_default(),
        IdentitySource::File(path, _) => {
            // A file that cannot be read is a key the reader lacks (exit 6); one that is
            // not a regular file, or too large, is not an identity file at all (exit 2).
            let bytes = bounded::read_file(Path::new(path), KEY_FILE_LIMIT, Links::Follow)
                .map_err(|e| {
                    let kind = match e {
                        bounded::ReadError::Io(_) => Kind::Unavailable,
                        bounded::ReadError::Refused(_) => Kind::Usage,
                    };
                    Error::new(kind, format!("cannot read {}: {e}", source.describe()))
                })?;
            String::from_utf8(bytes)
                .map_err(|_| Error::usage(format!("{} is not UTF-8 text", source.describe())))?
        }
    };
    if text
        .trim_start()
        .starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
        || text.as_bytes().starts_with(AGE_MAGIC)
    {
        return Err(Error::usage(format!(
            "{} is itself encrypted (a passphrase-protected identity), which pulse does not open",
            source.describe()
        )));
    }
    let file = age::IdentityFile::from_buffer(text.as_bytes()).map_err(|e| {
        // age names the line, never its content.
        Error::usage(format!(
            "{} is not an age identity file: {e}",
            source.describe()
        ))
    })?;
    let identities = file.into_identities().map_err(|e| {
        Error::usage(format!(
            "{} holds an identity pulse cannot use: {e}",
            source.describe()
        ))
    })?;
    if identities.is_empty() {
        return Err(Error::usage(format!(
            "{} holds no identity (AGE-SECRET-KEY-1…)",
            source.describe()
        )));
    }
    Ok(identities)
}

/// The recipients in `list` (separated by commas or white space; `setting` names where
/// they came from, for messages).
pub fn parse_recipients(list: &str, setting: &str) -> Result<Vec<age::x25519::Recipient>> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| parse_recipient(s, setting))
        .collect()
}

/// One recipient: an age X25519 public key (`age1…`).
pub fn parse_recipient(key: &str, setting: &str) -> Result<age::x25519::Recipient> {
    age::x25519::Recipient::from_str(key).map_err(|_| {
        let shown: String = crate::name::printable(key).chars().take(24).collect();
        let why = if key.starts_with("ssh-") {
            "ssh keys are not taken as recipients"
        } else if key.starts_with("AGE-SECRET-KEY-") {
            "that is a secret key: give its public key (age-keygen -y)"
        } else {
            "it is not an age public key"
        };
        Error::usage(format!("recipient '{shown}…' in {setting}: {why}"))
            .with_hint("a recipient is an age X25519 public key, age1…, as age-keygen prints it")
    })
}

/// The recipients in a recipients file: one per line, blank lines and `#` comments
/// passed over (as `age -R` reads it).
pub fn read_recipients_file(path: &Path) -> Result<Vec<age::x25519::Recipient>> {
    let shown = path.display().to_string();
    let bytes = bounded::read_file(path, KEY_FILE_LIMIT, Links::Follow).map_err(|e| {
        let kind = match &e {
            bounded::ReadError::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
                Kind::NotFound
            }
            _ => Kind::Usage,
        };
        Error::new(kind, format!("cannot read recipients file '{shown}': {e}"))
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::usage(format!("recipients file '{shown}' is not UTF-8 text")))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(parse_recipient(
            line,
            &format!("recipients file '{shown}' line {}", n + 1),
        )?);
    }
    if out.is_empty() {
        return Err(Error::usage(format!(
            "recipients file '{shown}' lists no recipient"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_for(identity: &age::x25519::Identity) -> Keys {
        Keys::none().with_recipients(vec![identity.to_public()])
    }

    #[test]
    fn sealed_content_opens_only_with_a_matching_identity() {
        let me = age::x25519::Identity::generate();
        let other = age::x25519::Identity::generate();
        let sealed = keys_for(&me).seal(b"hello").unwrap().unwrap();
        assert!(sealed.starts_with(AGE_MAGIC));
        assert!(!sealed.windows(5).any(|w| w == b"hello"));
        let reader = |id: &age::x25519::Identity| Keys {
            recipients: Vec::new(),
            identity: Some(IdentitySource::Inline),
            identities: OnceLock::from(Ok(vec![Box::new(id.clone()) as Identity])),
        };
        assert_eq!(reader(&me).open(&sealed, "x").unwrap(), b"hello");
        assert_eq!(
            reader(&other).open(&sealed, "x").unwrap_err().kind(),
            Kind::Unavailable
        );
        let mut damaged = sealed.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert_eq!(
            reader(&me).open(&damaged, "x").unwrap_err().kind(),
            Kind::Integrity
        );
        assert_eq!(
            Keys::none().open(&sealed, "x").unwrap_err().kind(),
            Kind::Unavailable
        );
        assert_eq!(Keys::none().seal(b"hello").unwrap(), None);
    }

    #[test]
    fn recipients_are_checked() {
        let me = age::x25519::Identity::generate();
        let public = me.to_public().to_string();
        let two = parse_recipients(&format!("{public}, {public}\n{public}"), "t").unwrap();
        assert_eq!(two.len(), 3);
        for bad in ["age1nope", "ssh-ed25519 AAAA", "AGE-SECRET-KEY-1XYZ"] {
            assert_eq!(
                parse_recipients(bad, "t").unwrap_err().kind(),
                Kind::Usage,
                "{bad}"
            );
        }
        let mut config = BTreeMap::new();
        config.insert("age_recipient".to_owned(), public);
        assert_eq!(Keys::from_config(&config).unwrap_err().kind(), Kind::Usage);
    }
}
