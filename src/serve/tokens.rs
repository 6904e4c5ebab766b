//! Access tokens of the registry: made, listed and revoked in a tokens file, and checked
//! by the server for every request.
//!
//! A token reads `pulse_<id>_<secret>`: the id (8 hex digits) names it in listings and the
//! audit log; the secret (32 random bytes, in hex) is shown once when the token is made.
//! The file keeps the SHA-256 of the secret, never the secret, and is written atomically,
//! readable by its owner only. The server compares hashes in constant time and reads the
//! file again when it changes, so a revoked token is refused without a restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::bounded;
use crate::digest::Digest;
use crate::error::{Error, IoResultExt, Result};
use crate::name::{Name, NamePrefix};

/// The tokens file's format version.
const TOKENS_FORMAT: u32 = 1;

/// The longest token name, in bytes.
const MAX_TOKEN_NAME: usize = 64;

/// The largest tokens file read (many thousands of tokens).
const MAX_TOKENS_FILE: usize = 4 << 20;

/// How often the server looks at the tokens file for changes, at most.
const RECHECK: Duration = Duration::from_secs(1);

/// What a token may do; each scope may do all that the ones below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read the prompts under its prefixes.
    Read,
    /// Also upload releases, move labels, change a prompt's description and keywords.
    Write,
    /// Also delete releases.
    Admin,
}

impl Scope {
    /// The scope's name, as the tokens file and the audit log write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token as the tokens file keeps it: everything but the secret, whose hash it keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredToken {
    id: String,
    name: String,
    scope: Scope,
    prefixes: Vec<String>,
    created: String,
    /// SHA-256 of the secret, `sha256:<hex>`.
    secret_sha256: Digest,
}

/// The tokens file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    format: u32,
    tokens: Vec<StoredToken>,
}

/// A token as listed: never its secret or its hash. This is the `token list` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Its public id (8 hex digits), as the audit log names it.
    pub id: String,
    /// Who or what it is for; releases uploaded with it are authored by this name.
    pub name: String,
    /// What it may do.
    pub scope: Scope,
    /// The name prefixes it covers (`""`: every prompt).
    pub prefixes: Vec<String>,
    /// When it was made (RFC 3339).
    pub created: String,
}

impl From<&StoredToken> for TokenInfo {
    fn from(t: &StoredToken) -> Self {
        TokenInfo {
            id: t.id.clone(),
            name: t.name.clone(),
            scope: t.scope,
            prefixes: t.prefixes.clone(),
            created: t.created.clone(),
        }
    }
}

/// A token just made, with its secret: the only time the secret is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewToken {
    /// Its public id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it may do.
    pub scope: Scope,
    /// The name prefixes it covers.
    pub prefixes: Vec<String>,
    /// The token to present, `pulse_<id>_<secret>`.
    pub token: String,
}

/// The default tokens file: `$XDG_CONFIG_HOME/progress-pulse/tokens.json`, else
/// `~/.config/progress-pulse/tokens.json`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("progress-pulse").join("tokens.json"))
}

/// Check a token's name: letters, digits, `.`, `_` and `-`, starting with a letter or
/// digit, at most 64 bytes (it appears in the audit log and as a release's author).
fn check_token_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_TOKEN_NAME
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "'{}' is not a token name",
            crate::name::printable(name)
        ))
        .with_hint(format!(
            "a token name is letters, digits, '.', '_' and '-', starting with a letter or digit, at most {MAX_TOKEN_NAME} bytes"
        )))
    }
}

fn is_id(s: &str) -> bool {
    s.len() == 8 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` random bytes from the kernel.
fn random_bytes(n: usize) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = vec![0; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .io_ctx(|| "cannot read random bytes from /dev/urandom")?;
    Ok(bytes)
}

/// Read the tokens file; a missing file holds no tokens.
fn read_file(path: &Path) -> Result<TokensFile> {
    let shown = path.display();
    let bytes = match bounded::read_file(path, MAX_TOKENS_FILE, bounded::Links::Follow) {
        Ok(bytes) => bytes,
        Err(bounded::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(TokensFile {
                format: TOKENS_FORMAT,
                tokens: Vec::new(),
            });
        }
        Err(bounded::ReadError::Io(e)) => {
            return Err(Error::io(format!("cannot read tokens file '{shown}'"), e));
        }
        Err(bounded::ReadError::Refused(why)) => {
            return Err(Error::integrity(format!("tokens file '{shown}' {why}")));
        }
    };
    bounded::check_json(
        &bytes,
        bounded::Limits {
            max_bytes: MAX_TOKENS_FILE,
            max_depth: bounded::MAX_DEPTH,
        },
    )
    .map_err(|why| Error::integrity(format!("tokens file '{shown}' {why}")))?;
    let file: TokensFile = serde_json::from_slice(&bytes).map_err(|e| {
        Error::integrity(format!("tokens file '{shown}' is malformed: {e}"))
            .with_hint("restore it from a backup, or remove it and make the tokens again")
    })?;
    if file.format > TOKENS_FORMAT {
        return Err(Error::usage(format!(
            "tokens file '{shown}' has format {}, newer than this pulse reads ({TOKENS_FORMAT})",
            file.format
        ))
        .with_hint("upgrade pulse"));
    }
    for t in &file.tokens {
        let prefixes_ok = t.prefixes.iter().all(|p| NamePrefix::parse(p).is_ok());
        if !is_id(&t.id) || check_token_name(&t.name).is_err() || !prefixes_ok {
            return Err(Error::integrity(format!(
                "tokens file '{shown}': the token '{}' is malformed (id, name or prefixes)",
                crate::name::printable(&t.id)
            ))
            .with_hint("remove that token from the file, or make it again"));
        }
    }
    Ok(file)
}

/// Change the tokens file under a lock on its directory (so two changes at once never
/// lose one), and write it back atomically, readable by its owner only.
fn change<T>(path: &Path, edit: impl FnOnce(&mut TokensFile) -> Result<T>) -> Result<T> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::usage(format!("'{}' names no file", path.display())))?;
    if !parent.exists() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .io_ctx(|| format!("cannot create '{}'", parent.display()))?;
    }
    let dir = crate::fsutil::Dir::open(parent)?;
    let _lock = dir.lock()?;
    let mut file = read_file(path)?;
    let out = edit(&mut file)?;
    file.format = TOKENS_FORMAT;
    let mut json = serde_json::to_vec_pretty(&file)
        .map_err(|e| Error::other(format!("cannot render the tokens file: {e}")))?;
    json.push(b'\n');
    dir.write_private(file_name, &json)?;
    Ok(out)
}

/// Make a token named `name` with `scope`, limited to `prefixes` (none: every prompt),
/// and record it in the tokens file at `path`. A name already in use is a conflict.
pub fn add(path: &Path, name: &str, scope: Scope, prefixes: &[NamePrefix]) -> Result<NewToken> {
    check_token_name(name)?;
    let mut prefixes: Vec<String> = prefixes.iter().map(|p| p.as_str().to_owned()).collect();
    if prefixes.is_empty() {
        prefixes.push(String::new());
    }
    prefixes.sort();
    prefixes.dedup();
    let created = crate::repo::format_time(crate::config::now()?);
    change(path, |file| {
        if file.tokens.iter().any(|t| t.name == name) {
            return Err(Error::conflict(format!(
                "there is a token named '{name}' in '{}' already",
                path.display()
            ))
            .with_hint("choose another name, or revoke that token first"));
        }
        let (id, secret) = loop {
            let bytes = random_bytes(36)?;
            let id = hex(&bytes[..4]);
            if !file.tokens.iter().any(|t| t.id == id) {
                break (id, hex(&bytes[4..]));
            }
        };
        file.tokens.push(StoredToken {
            id: id.clone(),
            name: name.to_owned(),
            scope,
            prefixes: prefixes.clone(),
            created: created.clone(),
            secret_sha256: Digest::of(secret.as_bytes()),
        });
        Ok(NewToken {
            token: format!("pulse_{id}_{secret}"),
            id,
            name: name.to_owned(),
            scope,
            prefixes: prefixes.clone(),
        })
    })
}

/// The tokens in the file at `path`, in the order they were made.
pub fn list(path: &Path) -> Result<Vec<TokenInfo>> {
    Ok(read_file(path)?
        .tokens
        .iter()
        .map(TokenInfo::from)
        .collect())
}

/// Remove the token whose id or name is `which` from the file at `path`.
pub fn revoke(path: &Path, which: &str) -> Result<TokenInfo> {
    change(path, |file| {
        let at = file
            .tokens
            .iter()
            .position(|t| t.id == which || t.name == which)
            .ok_or_else(|| {
                Error::not_found(format!(
                    "no token with id or name '{}' in '{}'",
                    crate::name::printable(which),
                    path.display()
                ))
            })?;
        Ok(TokenInfo::from(&file.tokens.remove(at)))
    })
}

/// Who a request is from, once its token (or its lack of one) was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The token's id (`None`: no token, an anonymous read).
    pub id: Option<String>,
    /// The token's name (`None`: anonymous).
    pub name: Option<String>,
    /// What it may do.
    pub scope: Scope,
    /// The prefixes it covers.
    pub prefixes: Vec<NamePrefix>,
}

impl Grant {
    /// An anonymous reader of every prompt.
    pub fn anonymous() -> Grant {
        Grant {
            id: None,
            name: None,
            scope: Scope::Read,
            prefixes: vec![NamePrefix::all()],
        }
    }

    /// Whether `name` lies under one of the grant's prefixes.
    pub fn covers(&self, name: &Name) -> bool {
        self.prefixes.iter().any(|p| name.is_under(p))
    }

    /// Whether the grant may do what `scope` allows to `name`.
    pub fn allows(&self, scope: Scope, name: &Name) -> bool {
        self.scope >= scope && self.covers(name)
    }
}

/// Why a presented token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// It is not of the form `pulse_<id>_<secret>`.
    Malformed,
    /// No token in the file has its id and secret (never made, or revoked).
    Unknown,
}

/// The tokens file as the server sees it: read at start, and again (at most once a
/// second) when its size, time or inode changed. A file that cannot be read any more
/// (removed, or made malformed by hand) accepts no token until it is fixed.
#[derive(Debug)]
pub struct Tokens {
    path: Option<PathBuf>,
    state: Mutex<Watched>,
}

#[derive(Debug)]
struct Watched {
    by_id: BTreeMap<String, StoredToken>,
    seen: Option<FileStamp>,
    checked: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    inode: u64,
    size: u64,
    modified: Option<std::time::SystemTime>,
}

fn stamp(path: &Path) -> Option<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        inode: meta.ino(),
        size: meta.len(),
        modified: meta.modified().ok(),
    })
}

fn index(file: TokensFile) -> BTreeMap<String, StoredToken> {
    file.tokens.into_iter().map(|t| (t.id.clone(), t)).collect()
}

impl Tokens {
    /// The tokens in the file at `path` (`None`: no tokens at all). A file that exists
    /// but cannot be read or is malformed is an error.
    pub fn open(path: Option<&Path>) -> Result<Tokens> {
        let seen = path.and_then(stamp);
        let by_id = match path {
            Some(p) => index(read_file(p)?),
            None => BTreeMap::new(),
        };
        Ok(Tokens {
            path: path.map(Path::to_path_buf),
            state: Mutex::new(Watched {
                by_id,
                seen,
                checked: Instant::now(),
            }),
        })
    }

    /// How many tokens are known now.
    pub fn len(&self) -> usize {
        self.state.lock().map(|s| s.by_id.len()).unwrap_or(0)
    }

    /// Whether no token is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Check a presented token against the file (read again first if it changed).
    pub fn check(&self, presented: &str) -> std::result::Result<Grant, Refused> {
        let (id, secret) = parse_token(presented).ok_or(Refused::Malformed)?;
        let offered = Digest::of(secret.as_bytes());
        let Ok(mut state) = self.state.lock() else {
            return Err(Refused::Unknown);
        };
        self.refresh(&mut state);
        let token = state.by_id.get(id).ok_or(Refused::Unknown)?;
        if !bool::from(offered.as_bytes().ct_eq(token.secret_sha256.as_bytes())) {
            return Err(Refused::Unknown);
        }
        let prefixes = token
            .prefixes
            .iter()
            .filter_map(|p| NamePrefix::parse(p).ok())
            .collect();
        Ok(Grant {
            id: Some(token.id.clone()),
            name: Some(token.name.clone()),
            scope: token.scope,
            prefixes,
        })
    }

    fn refresh(&self, state: &mut Watched) {
        let Some(path) = &self.path else {
            return;
        };
        if state.checked.elapsed() < RECHECK {
            return;
        }
        state.checked = Instant::now();
        let now = stamp(path);
        if now == state.seen {
            return;
        }
        match read_file(path) {
            Ok(file) => {
                state.by_id = index(file);
                ::log::info!(
                    "read the tokens file '{}' again: {} tokens",
                    path.display(),
                    state.by_id.len()
                );
            }
            Err(e) => {
                state.by_id.clear();
                ::log::error!(
                    "{}; no token is accepted until the tokens file is fixed",
                    e.message()
                );
            }
        }
        state.seen = now;
    }
}

/// Split `pulse_<id>_<secret>` into its id and secret, if it is well formed.
fn parse_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.strip_prefix("pulse_")?.split_once('_')?;
    let secret_ok = secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit());
    (is_id(id) && secret_ok).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_made_checked_and_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("tokens.json");
        let made = add(
            &path,
            "ci",
            Scope::Write,
            &[NamePrefix::parse("team").unwrap()],
        )
        .unwrap();
        assert!(made.token.starts_with(&format!("pulse_{}_", made.id)));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(&made.token[14..]),
            "the secret is not stored"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            add(&path, "ci", Scope::Read, &[]).unwrap_err().kind(),
            crate::Kind::Conflict
        );
        assert_eq!(
            add(&path, "bad name", Scope::Read, &[]).unwrap_err().kind(),
            crate::Kind::Usage
        );

        let tokens = Tokens::open(Some(&path)).unwrap();
        let grant = tokens.check(&made.token).unwrap();
        assert_eq!(grant.scope, Scope::Write);
        assert!(grant.allows(Scope::Write, &Name::parse("team/a").unwrap()));
        assert!(!grant.allows(Scope::Write, &Name::parse("teammate").unwrap()));
        assert!(!grant.allows(Scope::Admin, &Name::parse("team/a").unwrap()));
        let mut wrong = made.token.clone();
        wrong.pop();
        wrong.push(if made.token.ends_with('0') { '1' } else { '0' });
        assert_eq!(tokens.check(&wrong), Err(Refused::Unknown));
        assert_eq!(tokens.check("pulse_x"), Err(Refused::Malformed));

        assert_eq!(list(&path).unwrap().len(), 1);
        assert_eq!(revoke(&path, "ci").unwrap().id, made.id);
        assert_eq!(
            revoke(&path, &made.id).unwrap_err().kind(),
            crate::Kind::NotFound
        );
        assert!(list(&path).unwrap().is_empty());
    }

    #[test]
    fn malformed_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, b"[1, 2").unwrap();
        assert_eq!(
            Tokens::open(Some(&path)).unwrap_err().kind(),
            crate::Kind::Integrity
        );
        assert!(
            Tokens::open(Some(&dir.path().join("none.json")))
                .unwrap()
                .is_empty()
        );
    }
}
