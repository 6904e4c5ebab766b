//! The directory layout as a store, on any [`Backend`] (a local directory, S3):
//!
//! ```text
//! _pulse.json                      format version and what the store allows
//! <name>/<version>/content.md      the content, byte-exact (immutable)
//! <name>/<version>/metadata.json   the release's metadata (immutable)
//! <name>/labels.json               {"production": "1.2.0"}: moved by compare-and-swap
//! <name>/_index.json               the prompt's versions with checksums, and its metadata
//! ```
//!
//! A release is written create-only, content first and metadata last, and becomes listed
//! when its entry lands in the prompt's `_index.json` (a compare-and-swap): a reader never
//! sees half a release, and a writer that died half-way is completed by writing the same
//! release again. No file lists every prompt, so concurrent releases of different prompts
//! never contend; the list of prompts is the list of keys.
//!
//! A directory written by another tool (or an older export) may lack `_index.json` and
//! even `metadata.json`: such a prompt's releases are found by listing its version
//! directories, and the first write to it builds its index.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::backend::{Backend, Created, Etag, Swapped};
use super::{
    Expect, Kept, NewRelease, PromptState, PromptSummary, Recorded, Store, StoreExt, Stored,
    Unverified, no_release,
};
use crate::bounded::{self, Limits};
use crate::crypt::{AGE, AGE_MAGIC, Keys};
use crate::digest::{Digest, Hasher};
use crate::error::{Error, Hint, Result};
use crate::meta::{MetadataUpdate, PromptMeta, ReleaseMeta};
use crate::name::{Label, Name, NamePrefix};
use crate::report::ReleaseId;
use crate::search::{Plan, Query, SearchReport};
use crate::version::{Version, latest};

/// The layout's format version, recorded in `_pulse.json`.
pub const LAYOUT_FORMAT: u32 = 1;

/// The store's own file: its format version and what it allows.
pub const STORE_FILE: &str = "_pulse.json";
/// The names of the prompts that have releases (derived: rebuilt from a listing).
pub const CATALOG_FILE: &str = "_catalog.json";
/// A prompt's index of releases.
pub const INDEX_FILE: &str = "_index.json";
/// A prompt's labels.
pub const LABELS_FILE: &str = "labels.json";
/// A release's content.
pub const CONTENT_FILE: &str = "content.md";
/// A release's metadata.
pub const META_FILE: &str = "metadata.json";

/// The most bytes set aside up front for a release's content as it is read.
const MAX_RESERVE: u64 = 8 << 30;

/// How often a compare-and-swap is retried when another writer got in first.
const SWAP_ATTEMPTS: u32 = 64;

/// `_pulse.json`: the layout's format and what the store allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoreInfo {
    /// The layout's format version.
    pub format: u32,
    /// What the store allows.
    #[serde(default)]
    pub allow: Allow,
}

/// What a store allows, recorded in `_pulse.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Allow {
    /// Whether a release may be deleted.
    #[serde(default = "yes")]
    pub delete: bool,
}

fn yes() -> bool {
    true
}

impl Default for Allow {
    fn default() -> Self {
        Allow { delete: true }
    }
}

/// `metadata.json` of a release: every field pulse writes; read liberally (any field may
/// be missing, unknown fields are ignored), but what is there must agree with the place.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleaseFile {
    /// The prompt's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// When it was released (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When its metadata last changed: a release never changes, so `created_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Content size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// `sha256:<hex>` of the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// Keywords.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Who released it (`Name <email>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The release message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `age` when `content.md` is encrypted with age (`size` and `checksum` are then the
    /// plaintext's); absent when it is in the clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<String>,
}

impl ReleaseFile {
    /// The file for a release's metadata.
    pub fn of(meta: &ReleaseMeta) -> ReleaseFile {
        ReleaseFile {
            name: Some(meta.name.to_string()),
            version: Some(meta.version.to_string()),
            created_at: Some(meta.created.clone()),
            updated_at: Some(meta.created.clone()),
            size: Some(meta.size),
            checksum: Some(meta.sha256.to_string()),
            tags: meta.tags.clone(),
            description: meta.description.clone(),
            author: Some(meta.author.clone()),
            message: Some(meta.message.clone()),
            encryption: meta.encryption.clone(),
        }
    }
}

/// One release in a prompt's `_index.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IndexEntry {
    /// `sha256:<hex>` of the content.
    pub checksum: Digest,
    /// Content size in bytes.
    pub size: u64,
}

/// A prompt's `_index.json`: its releases and its current metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PromptIndex {
    /// What the prompt is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Keywords.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Every release, by version.
    #[serde(default)]
    pub versions: BTreeMap<String, IndexEntry>,
}

impl PromptIndex {
    /// The prompt's metadata the index records.
    pub fn meta(&self) -> PromptMeta {
        PromptMeta {
            description: self.description.clone(),
            tags: self.tags.clone(),
        }
    }

    fn set_meta(&mut self, meta: PromptMeta) {
        self.description = meta.description;
        self.tags = meta.tags;
    }

    /// The versions listed, in SemVer order (a key that is not a version is passed over).
    pub fn sorted_versions(&self) -> Vec<Version> {
        let mut out: Vec<Version> = self
            .versions
            .keys()
            .filter_map(|v| Version::parse(v).ok())
            .collect();
        out.sort();
        out
    }
}

/// `_catalog.json`: the names of the prompts that have releases, sorted. Derived from the
/// store's prompts (rebuilt from a listing when missing), for readers that cannot list
/// (a static web server).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Catalog {
    /// The prompts, sorted.
    #[serde(default)]
    pub prompts: Vec<String>,
}

/// A prompt's index as read, with the version token to swap it by (`None`: there is no
/// index file yet).
struct LoadedIndex {
    index: PromptIndex,
    etag: Option<Etag>,
}

/// The directory layout over a backend: the directory store and the S3 store.
pub struct LayoutStore<B: Backend> {
    backend: B,
    author: String,
    info: OnceLock<StoreInfo>,
    keys: Arc<Keys>,
}

impl<B: Backend> LayoutStore<B> {
    /// The layout kept by `backend`; releases put without an author are authored by
    /// `author` (`Name <email>`).
    pub fn new(backend: B, author: impl Into<String>) -> Self {
        LayoutStore {
            backend,
            author: author.into(),
            info: OnceLock::new(),
            keys: Arc::new(Keys::none()),
        }
    }

    /// The store with age keys: content written is encrypted to their recipients, and
    /// encrypted content read is decrypted with their identities.
    pub fn with_keys(mut self, keys: Arc<Keys>) -> Self {
        self.keys = keys;
        self
    }

    /// The age keys the store writes and reads with.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The backend the files are kept in.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        limits: Limits,
    ) -> Result<Option<(T, Etag)>> {
        let Some(obj) = self.backend.get(key, limits.max_bytes as u64)? else {
            return Ok(None);
        };
        let value = parse_file(&obj.bytes, limits, &|| {
            format!("'{key}' in {}", self.backend.describe())
        })?;
        Ok(Some((value, obj.etag)))
    }

    /// Whether the store has its `_pulse.json` (pulse wrote to it), as opposed to a
    /// directory laid out by another tool.
    fn is_pulse_store(&self) -> Result<bool> {
        if self.info.get().is_some() {
            return Ok(true);
        }
        if self
            .json::<StoreInfo>(STORE_FILE, bounded::STORE_JSON)?
            .is_none()
        {
            return Ok(false);
        }
        // Read (and checked) once, then remembered.
        self.info(false).map(|_| true)
    }

    /// `_pulse.json`, written on the first write: refuses a layout of a newer format.
    fn info(&self, write: bool) -> Result<StoreInfo> {
        if let Some(info) = self.info.get() {
            return Ok(info.clone());
        }
        let info = match self.json::<StoreInfo>(STORE_FILE, bounded::STORE_JSON)? {
            Some((info, _)) => info,
            None if write => {
                let info = StoreInfo {
                    format: LAYOUT_FORMAT,
                    allow: Allow::default(),
                };
                self.backend.put_new(STORE_FILE, to_json(&info)?)?;
                // Another writer may have been first; what is there is what counts.
                match self.json::<StoreInfo>(STORE_FILE, bounded::STORE_JSON)? {
                    Some((there, _)) => there,
                    None => info,
                }
            }
            None => {
                // Not cached: the first write records it.
                return Ok(StoreInfo {
                    format: LAYOUT_FORMAT,
                    allow: Allow::default(),
                });
            }
        };
        if info.format > LAYOUT_FORMAT {
            return Err(Error::usage(format!(
                "{} has layout format {}, newer than this pulse reads ({LAYOUT_FORMAT})",
                self.backend.describe(),
                info.format
            ))
            .with_hint("upgrade pulse"));
        }
        let _ = self.info.set(info.clone());
        Ok(info)
    }

    fn read_release_file(&self, name: &Name, version: &Version) -> Result<Option<ReleaseFile>> {
        let key = release_key(name, version, META_FILE);
        let Some((file, _)) = self.json::<ReleaseFile>(&key, bounded::METADATA_JSON)? else {
            return Ok(None);
        };
        if let Some(n) = &file.name
            && n != name.as_str()
        {
            return Err(Error::integrity(format!(
                "'{key}' in {} names prompt '{}' but lies in the place of '{name}'",
                self.backend.describe(),
                crate::name::printable(n)
            )));
        }
        if let Some(v) = &file.version
            && Version::parse(v).ok().as_ref() != Some(version)
        {
            return Err(Error::integrity(format!(
                "'{key}' in {} names version '{}' but lies in the place of '{name}@{version}'",
                self.backend.describe(),
                crate::name::printable(v)
            )));
        }
        Ok(Some(file))
    }

    /// The metadata of a release: from its `metadata.json`, or, for a prompt written by
    /// another tool (no index), from the content alone.
    fn release_meta(&self, name: &Name, version: &Version) -> Result<ReleaseMeta> {
        self.release_meta_checked(name, version, false)
    }

    /// The metadata of a release, as [`Self::release_meta`]; with `check_content` (a
    /// directory laid out by another tool, read before anything is copied from it) the
    /// content is read and must agree with every field `metadata.json` has.
    fn release_meta_checked(
        &self,
        name: &Name,
        version: &Version,
        check_content: bool,
    ) -> Result<ReleaseMeta> {
        let key = release_key(name, version, META_FILE);
        let file = self.read_release_file(name, version)?;
        // Content without metadata is a release only in a directory another tool wrote.
        if file.is_none()
            && (self.is_pulse_store()?
                || self
                    .json::<PromptIndex>(&prompt_key(name, INDEX_FILE), bounded::INDEX_JSON)?
                    .is_some())
        {
            return Err(no_release(name, version));
        }
        let file = file.unwrap_or_default();
        let (recorded_sha, recorded_size) = (file.checksum.is_some(), file.size);
        let mut meta = self.meta_from_file(name, version, file, &key)?;
        if check_content || !recorded_sha || recorded_size.is_none() {
            let seen = if meta.encryption.is_some() {
                let mut seen = Hasher::new();
                seen.update(&self.open_content(name, version, &meta)?);
                seen
            } else {
                self.hash_content(name, version)?
            };
            let size = seen.len();
            let sha256 = seen.finish();
            let differs =
                (recorded_sha && meta.sha256 != sha256) || recorded_size.is_some_and(|s| s != size);
            if differs {
                return Err(Error::integrity(format!(
                    "'{}' in {}: content does not match metadata.json (metadata says {}{} bytes, content is {sha256} / {size} bytes)",
                    release_key(name, version, CONTENT_FILE),
                    self.backend.describe(),
                    if recorded_sha { format!("{} / ", meta.sha256) } else { String::new() },
                    recorded_size.map_or_else(|| "?".to_owned(), |s| s.to_string()),
                ))
                .with_hint("nothing was copied; restore the file or fix its metadata"));
            }
            meta.size = size;
            meta.sha256 = sha256;
        }
        Ok(meta)
    }

    fn hash_content(&self, name: &Name, version: &Version) -> Result<Hasher> {
        let mut seen = Hasher::new();
        match self
            .backend
            .get_into(&release_key(name, version, CONTENT_FILE), &mut seen)?
        {
            Some(_) => Ok(seen),
            None => Err(no_release(name, version)),
        }
    }

    fn meta_from_file(
        &self,
        name: &Name,
        version: &Version,
        file: ReleaseFile,
        key: &str,
    ) -> Result<ReleaseMeta> {
        let sha256 = match &file.checksum {
            // Other tools may write the hex digits in upper case.
            Some(c) => Digest::parse(&c.to_ascii_lowercase()).map_err(|e| {
                Error::integrity(format!("'{key}' in {}: {e}", self.backend.describe()))
            })?,
            None => Digest::of(b""),
        };
        if let Some(created) = &file.created_at
            && crate::config::parse_time(created).is_none()
        {
            return Err(Error::integrity(format!(
                "'{key}' in {}: created_at '{}' is not RFC 3339",
                self.backend.describe(),
                crate::name::printable(created)
            )));
        }
        if let Some(author) = &file.author
            && crate::meta::parse_author(author).is_none()
        {
            return Err(Error::integrity(format!(
                "'{key}' in {}: author '{}' is not 'Name <email>'",
                self.backend.describe(),
                crate::name::printable(author)
            )));
        }
        if let Some(e) = &file.encryption
            && e != AGE
        {
            return Err(Error::integrity(format!(
                "'{key}' in {}: content encrypted as '{}', which pulse does not know (only age)",
                self.backend.describe(),
                crate::name::printable(e)
            ))
            .with_hint("upgrade pulse"));
        }
        Ok(ReleaseMeta {
            name: name.clone(),
            version: version.clone(),
            created: file.created_at.unwrap_or_default(),
            author: file.author.unwrap_or_default(),
            size: file.size.unwrap_or_default(),
            sha256,
            message: file.message.unwrap_or_default(),
            description: file.description.filter(|d| !d.is_empty()),
            tags: file.tags,
            commit: None,
            path: None,
            encryption: file.encryption,
        })
    }

    /// The ciphertext of a release kept encrypted (`meta` is its metadata).
    fn sealed_content(&self, name: &Name, version: &Version, meta: &ReleaseMeta) -> Result<Bytes> {
        let limit = sealed_limit(meta.size);
        match self
            .backend
            .get(&release_key(name, version, CONTENT_FILE), limit)?
        {
            Some(object) => Ok(object.bytes),
            None => Err(self.no_content(name, version)),
        }
    }

    /// The plaintext of a release kept encrypted, decrypted with the store's identities
    /// (not yet checked against its checksum).
    fn open_content(&self, name: &Name, version: &Version, meta: &ReleaseMeta) -> Result<Vec<u8>> {
        let ciphertext = self.sealed_content(name, version, meta)?;
        self.keys.open(
            &ciphertext,
            &format!("release '{name}@{version}' in {}", self.backend.describe()),
        )
    }

    fn no_content(&self, name: &Name, version: &Version) -> Error {
        Error::integrity(format!(
            "release '{name}@{version}' in {} has metadata but no content",
            self.backend.describe()
        ))
    }

    /// The versions found by listing a prompt's version directories (no index needed).
    fn scan_versions(&self, name: &Name) -> Result<Vec<Version>> {
        let prefix = format!("{name}/");
        let mut out = Vec::new();
        for key in self.backend.list(&prefix)? {
            let rest = &key[prefix.len()..];
            if let Some((v, CONTENT_FILE)) = rest.split_once('/')
                && let Some(version) = exact_version(v)
            {
                out.push(version);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// A prompt's index: its `_index.json`, or one built from its version directories
    /// (a prompt written by another tool), or an empty one.
    fn load_index(&self, name: &Name) -> Result<LoadedIndex> {
        let key = prompt_key(name, INDEX_FILE);
        if let Some((index, etag)) = self.json::<PromptIndex>(&key, bounded::INDEX_JSON)? {
            return Ok(LoadedIndex {
                index,
                etag: Some(etag),
            });
        }
        let mut index = PromptIndex::default();
        // In a store pulse writes, the index is what lists releases: a prompt without one
        // has none yet (its files are a write in flight, or one that was interrupted and
        // is completed by writing the release again).
        if self.is_pulse_store()? {
            return Ok(LoadedIndex { index, etag: None });
        }
        let versions = self.scan_versions(name)?;
        let newest = latest(&versions).cloned();
        for version in &versions {
            let meta = self.release_meta_checked(name, version, true)?;
            index.versions.insert(
                version.to_string(),
                IndexEntry {
                    checksum: meta.sha256,
                    size: meta.size,
                },
            );
            // The prompt's metadata is its latest release's.
            if newest.as_ref() == Some(version) {
                index.description = meta.description;
                index.tags = meta.tags;
            }
        }
        Ok(LoadedIndex { index, etag: None })
    }

    /// Change a prompt's index by compare-and-swap: `change` gets the index and whether
    /// it was read from its file (rather than built from the version directories), and
    /// returns `None` to leave it as it is. Retries when another writer got in first.
    fn swap_index<T>(
        &self,
        name: &Name,
        mut change: impl FnMut(&mut PromptIndex, bool) -> Result<Option<T>>,
    ) -> Result<Option<T>> {
        let key = prompt_key(name, INDEX_FILE);
        for attempt in 0..SWAP_ATTEMPTS {
            let mut loaded = self.load_index(name)?;
            let Some(out) = change(&mut loaded.index, loaded.etag.is_some())? else {
                return Ok(None);
            };
            match self
                .backend
                .put_swap(&key, to_json(&loaded.index)?, loaded.etag.as_ref())?
            {
                Swapped::Done => return Ok(Some(out)),
                Swapped::Lost => backoff(attempt),
            }
        }
        Err(lost_race(&key, &self.backend.describe()))
    }

    /// Write a release's files, create-only. In the clear: its content, then its
    /// metadata. Encrypted: its metadata first, then its content (ciphertext differs at
    /// every encryption, so whether a release is already there is decided by the
    /// plaintext checksum its metadata records). Files already there must be of the same
    /// release (a conflict otherwise). Returns whether this write made the metadata, and
    /// the release's index entry.
    fn write_files(&self, r: &NewRelease) -> Result<(Created, IndexEntry)> {
        let (sha256, size, ciphertext) = match &r.sealed {
            Some(recorded) => {
                if !r.content.starts_with(AGE_MAGIC) {
                    return Err(Error::usage(format!(
                        "the content of '{}@{}' is said to be encrypted with age but is not an age file",
                        r.name, r.version
                    )));
                }
                (recorded.sha256, recorded.size, Some(r.content.clone()))
            }
            None => (
                Digest::of(&r.content),
                r.content.len() as u64,
                self.keys.seal(&r.content)?.map(Bytes::from),
            ),
        };
        let entry = IndexEntry {
            checksum: sha256,
            size,
        };
        let meta = self.new_release_meta(r, sha256, size, ciphertext.is_some())?;
        let outcome = match ciphertext {
            Some(ciphertext) => self.write_sealed(&meta, ciphertext)?,
            None => self.write_plain(&meta, r.content.clone())?,
        };
        Ok((outcome, entry))
    }

    /// The metadata a new release gets: what it says, and the store's defaults for what
    /// it leaves out. A release that does not say its description and keywords keeps the
    /// prompt's.
    fn new_release_meta(
        &self,
        r: &NewRelease,
        sha256: Digest,
        size: u64,
        sealed: bool,
    ) -> Result<ReleaseMeta> {
        let mut prompt = match (&r.description, &r.tags) {
            (Some(_), Some(_)) => PromptMeta::default(),
            _ => self.load_index(&r.name)?.index.meta(),
        };
        prompt.apply(&metadata_update(r));
        let created = match &r.created {
            Some(c) if !c.is_empty() => c.clone(),
            _ => crate::repo::format_time(crate::config::now()?),
        };
        Ok(ReleaseMeta {
            name: r.name.clone(),
            version: r.version.clone(),
            created,
            author: r
                .author
                .clone()
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| self.author.clone()),
            size,
            sha256,
            message: r
                .message
                .clone()
                .unwrap_or_else(|| format!("Release {}@{}", r.name, r.version)),
            description: prompt.description,
            tags: prompt.tags,
            commit: None,
            path: None,
            encryption: sealed.then(|| AGE.to_owned()),
        })
    }

    /// Write a release in the clear: content, then metadata (the first complete write of
    /// a release wins).
    fn write_plain(&self, meta: &ReleaseMeta, content: Bytes) -> Result<Created> {
        let (name, version) = (&meta.name, &meta.version);
        let conflict = || release_conflict(name, version, &self.backend.describe());
        let content_key = release_key(name, version, CONTENT_FILE);
        if self.backend.put_new(&content_key, content)? == Created::Existed {
            match self.read_release_file(name, version)? {
                // Kept encrypted by an earlier write: its metadata says what it holds.
                Some(there) if there.encryption.is_some() => {
                    if self.release_meta(name, version)?.sha256 != meta.sha256 {
                        return Err(conflict());
                    }
                }
                _ => {
                    let mut seen = Hasher::new();
                    self.backend.get_into(&content_key, &mut seen)?;
                    if seen.len() != meta.size || seen.finish() != meta.sha256 {
                        return Err(conflict());
                    }
                }
            }
        }
        let outcome = self.backend.put_new(
            &release_key(name, version, META_FILE),
            to_json(&ReleaseFile::of(meta))?,
        )?;
        if outcome == Created::Existed && self.release_meta(name, version)?.sha256 != meta.sha256 {
            return Err(conflict());
        }
        Ok(outcome)
    }

    /// Write a release encrypted: metadata first (which says whose release this version
    /// is: same plaintext checksum, same release), then the ciphertext.
    fn write_sealed(&self, meta: &ReleaseMeta, ciphertext: Bytes) -> Result<Created> {
        let (name, version) = (&meta.name, &meta.version);
        let conflict = || release_conflict(name, version, &self.backend.describe());
        let meta_key = release_key(name, version, META_FILE);
        let outcome = self
            .backend
            .put_new(&meta_key, to_json(&ReleaseFile::of(meta))?)?;
        if outcome == Created::Existed && self.release_meta(name, version)?.sha256 != meta.sha256 {
            return Err(conflict());
        }
        let content_key = release_key(name, version, CONTENT_FILE);
        if self.backend.put_new(&content_key, ciphertext.clone())? == Created::Existed {
            // Content already there was written after metadata of the same checksum (an
            // encrypted write), or is plaintext left by a write in the clear that was
            // interrupted before its metadata: that is replaced by the ciphertext if it
            // is this release, and otherwise a conflict.
            let Some(there) = self.backend.get(&content_key, sealed_limit(meta.size))? else {
                return Err(self.no_content(name, version));
            };
            if !there.bytes.starts_with(AGE_MAGIC) {
                let same = there.bytes.len() as u64 == meta.size
                    && Digest::of(&there.bytes) == meta.sha256;
                if !same {
                    if outcome == Created::Created {
                        // The metadata this write made is not of what is there.
                        let _ = self.backend.delete(&meta_key);
                    }
                    return Err(conflict());
                }
                if self
                    .backend
                    .put_swap(&content_key, ciphertext, Some(&there.etag))?
                    == Swapped::Lost
                {
                    return Err(lost_race(&content_key, &self.backend.describe()));
                }
            }
        }
        Ok(outcome)
    }

    /// List releases whose files are written in the prompt's index (one compare-and-swap
    /// for all of them), and apply `update` to the prompt's metadata. A version the index
    /// lists with another checksum is a conflict.
    fn list_in_index(
        &self,
        name: &Name,
        entries: &[(&Version, IndexEntry)],
        update: &MetadataUpdate,
    ) -> Result<()> {
        self.swap_index(name, |index, from_file| {
            let mut changed = !from_file;
            for (version, entry) in entries {
                match index.versions.get(&version.to_string()) {
                    Some(there) if there.checksum == entry.checksum => {}
                    Some(_) => {
                        return Err(release_conflict(name, version, &self.backend.describe()));
                    }
                    None => {
                        index.versions.insert(version.to_string(), entry.clone());
                        changed = true;
                    }
                }
            }
            if !changed {
                return Ok(None);
            }
            let mut meta = index.meta();
            meta.apply(update);
            index.set_meta(meta);
            Ok(Some(()))
        })
        .map(|_| ())
    }

    /// Copy one prompt's releases from `src`: each one's files, then one index update.
    fn copy_group(
        &self,
        src: &dyn Store,
        ids: &[ReleaseId],
        copied: &(dyn Fn() + Sync),
    ) -> Vec<Result<Stored>> {
        let mut outcomes: Vec<Result<Stored>> = Vec::with_capacity(ids.len());
        let mut written: Vec<(&Version, IndexEntry)> = Vec::new();
        let mut update = MetadataUpdate::default();
        for id in ids {
            let copied = src
                .fetch_release(&id.name, &id.version)
                .and_then(|(meta, content)| {
                    let release = NewRelease::copy_of(&meta, content);
                    let (outcome, entry) = self.write_files(&release)?;
                    update = metadata_update(&release);
                    copied();
                    Ok((outcome, entry))
                });
            match copied {
                Ok((outcome, entry)) => {
                    written.push((&id.version, entry));
                    outcomes.push(Ok(match outcome {
                        Created::Created => Stored::Created,
                        Created::Existed => Stored::Unchanged,
                    }));
                }
                Err(e) => outcomes.push(Err(e)),
            }
        }
        if written.is_empty() {
            return outcomes;
        }
        if let Err(e) = self.list_in_index(&ids[0].name, &written, &update) {
            // Nothing of this prompt became listed: every copy that wrote files failed.
            for outcome in outcomes.iter_mut().filter(|o| o.is_ok()) {
                *outcome = Err(Error::new(e.kind(), e.message().to_owned()));
            }
        }
        outcomes
    }

    /// Make `_catalog.json` list `names` (one compare-and-swap; nothing written when it
    /// already does). A store without a catalog gets one built from a listing.
    fn catalog_add(&self, names: &[&Name]) -> Result<()> {
        self.swap_catalog(|prompts| {
            let before = prompts.len();
            for name in names {
                if let Err(at) = prompts.binary_search_by(|p| p.as_str().cmp(name.as_str())) {
                    prompts.insert(at, name.to_string());
                }
            }
            prompts.len() != before
        })
    }

    /// Take `name` off `_catalog.json` (its last release is gone).
    fn catalog_remove(&self, name: &Name) -> Result<()> {
        self.swap_catalog(|prompts| {
            let before = prompts.len();
            prompts.retain(|p| p != name.as_str());
            prompts.len() != before
        })
    }

    /// Change the catalog's sorted names by compare-and-swap (`change` says whether it
    /// changed them); a missing catalog is built from a listing first.
    fn swap_catalog(&self, mut change: impl FnMut(&mut Vec<String>) -> bool) -> Result<()> {
        for attempt in 0..SWAP_ATTEMPTS {
            let (mut catalog, etag) =
                match self.json::<Catalog>(CATALOG_FILE, bounded::INDEX_JSON)? {
                    Some((mut catalog, etag)) => {
                        catalog.prompts.sort();
                        catalog.prompts.dedup();
                        (catalog, Some(etag))
                    }
                    None => {
                        let prompts = self
                            .list(&NamePrefix::all())
                            .or_else(|e| match e.kind() {
                                crate::error::Kind::NotFound => Ok(Vec::new()),
                                _ => Err(e),
                            })?
                            .iter()
                            .map(|n| n.to_string())
                            .collect();
                        (Catalog { prompts }, None)
                    }
                };
            if !change(&mut catalog.prompts) && etag.is_some() {
                return Ok(());
            }
            match self
                .backend
                .put_swap(CATALOG_FILE, to_json(&catalog)?, etag.as_ref())?
            {
                Swapped::Done => return Ok(()),
                Swapped::Lost => backoff(attempt),
            }
        }
        Err(lost_race(CATALOG_FILE, &self.backend.describe()))
    }

    fn read_labels(&self, name: &Name) -> Result<(BTreeMap<Label, Version>, Option<Etag>)> {
        let key = prompt_key(name, LABELS_FILE);
        let Some((raw, etag)) =
            self.json::<BTreeMap<String, String>>(&key, bounded::LABELS_JSON)?
        else {
            return Ok((BTreeMap::new(), None));
        };
        let mut labels = BTreeMap::new();
        for (l, v) in raw {
            let bad = |why: String| {
                Error::integrity(format!("'{key}' in {}: {why}", self.backend.describe()))
            };
            let label = Label::parse(&l).map_err(|e| bad(e.to_string()))?;
            let version = Version::parse(&v).map_err(|e| bad(e.to_string()))?;
            labels.insert(label, version);
        }
        Ok((labels, Some(etag)))
    }

    fn release_listed(&self, name: &Name, version: &Version) -> Result<bool> {
        Ok(self
            .load_index(name)?
            .index
            .versions
            .contains_key(&version.to_string()))
    }
}

fn release_conflict(name: &Name, version: &Version, store: &str) -> Error {
    Error::conflict(format!(
        "release '{name}@{version}' already exists in {store} with different content"
    ))
    .with_hint(Hint::NewVersion)
}

/// The change a release makes to its prompt's metadata.
fn metadata_update(r: &NewRelease) -> MetadataUpdate {
    MetadataUpdate {
        description: r.description.clone(),
        tags: r.tags.clone(),
    }
}

/// The most bytes an age file of `size` bytes of plaintext takes: the plaintext, 16 bytes
/// of tag per 64 KiB chunk, and room for the header.
fn sealed_limit(size: u64) -> u64 {
    size.saturating_add(size / 4096).saturating_add(1 << 20)
}

fn release_key(name: &Name, version: &Version, file: &str) -> String {
    format!("{name}/{version}/{file}")
}

fn prompt_key(name: &Name, file: &str) -> String {
    format!("{name}/{file}")
}

/// Read one of the layout's JSON files (`shown` names it in errors): bounded in size and
/// nesting before it is parsed, and a JSON object (serde would take a list for a struct).
/// Anything else is an integrity failure of the store.
pub fn parse_file<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    limits: Limits,
    shown: &dyn Fn() -> String,
) -> Result<T> {
    bounded::check_json(bytes, limits)
        .map_err(|why| Error::integrity(format!("{} {why}", shown())))?;
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Error::integrity(format!(
            "{} is malformed: it is not a JSON object",
            shown()
        )));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| Error::integrity(format!("{} is malformed: {e}", shown())))
}

/// A file of the layout as pulse writes it: pretty JSON and a newline. The registry
/// renders its answers with it, so they are byte for byte what a directory store holds.
pub fn to_json<T: Serialize>(value: &T) -> Result<Bytes> {
    let mut json = serde_json::to_vec_pretty(value).map_err(|e| Error::other(e.to_string()))?;
    json.push(b'\n');
    Ok(Bytes::from(json))
}

fn backoff(attempt: u32) {
    // Spread the retries of racing writers: 1 ms, 2 ms, ... up to 20 ms, with jitter.
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 1000)
        .unwrap_or_default();
    let millis = u64::from((attempt + 1).min(20));
    std::thread::sleep(std::time::Duration::from_micros(
        millis * 1000 + u64::from(jitter),
    ));
}

fn lost_race(key: &str, store: &str) -> Error {
    Error::conflict(format!(
        "'{key}' in {store} kept changing under concurrent writers; gave up after {SWAP_ATTEMPTS} attempts"
    ))
    .with_hint("run the command again")
}

fn no_prompt(name: &Name, store: &str) -> Error {
    Error::not_found(format!("no prompt '{name}' in {store}")).with_hint(Hint::ListPrompts)
}

fn label_mismatch(name: &Name, label: &Label, current: Option<&Version>) -> Error {
    Error::conflict(format!(
        "label '{label}' of '{name}' points to {}, not what the move expected",
        current.map_or_else(|| "nothing".to_owned(), Version::to_string)
    ))
    .with_hint(Hint::ListLabels {
        name: name.to_string(),
    })
}

impl<B: Backend> Store for LayoutStore<B> {
    fn describe(&self) -> String {
        self.backend.describe()
    }

    fn put(&self, r: &NewRelease) -> Result<Stored> {
        self.info(true)?;
        let (outcome, entry) = self.write_files(r)?;
        self.list_in_index(&r.name, &[(&r.version, entry)], &metadata_update(r))?;
        self.catalog_add(&[&r.name])?;
        // Whoever wrote the metadata made the release; everyone else found it there.
        Ok(match outcome {
            Created::Created => Stored::Created,
            Created::Existed => Stored::Unchanged,
        })
    }

    fn copy_from(
        &self,
        src: &dyn Store,
        releases: &[ReleaseId],
        jobs: usize,
        copied: &(dyn Fn() + Sync),
    ) -> Vec<Result<Stored>> {
        if let Err(e) = self.info(true) {
            return releases
                .iter()
                .map(|_| Err(Error::new(e.kind(), e.message().to_owned())))
                .collect();
        }
        // One prompt's releases go to one worker: their files one by one, then one
        // compare-and-swap of the prompt's index lists them all.
        let groups = super::by_prompt(releases);
        let mut outcomes: Vec<Result<Stored>> = crate::parallel::map(groups.len(), jobs, |g| {
            self.copy_group(src, &releases[groups[g].clone()], copied)
        })
        .into_iter()
        .flatten()
        .collect();
        // The catalog takes every prompt copied in one write, after the copies: one
        // compare-and-swap for the batch, not one per prompt racing each other.
        let mut names: Vec<&Name> = releases
            .iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| outcome.is_ok())
            .map(|(id, _)| &id.name)
            .collect();
        names.dedup();
        if let Err(e) = self.catalog_add(&names) {
            for outcome in outcomes.iter_mut().filter(|o| o.is_ok()) {
                *outcome = Err(Error::new(e.kind(), e.message().to_owned()));
            }
        }
        outcomes
    }

    fn read(&self, name: &Name, version: &Version) -> Result<Unverified> {
        self.read_release(name, version).map(|(_, raw)| raw)
    }

    fn read_release(&self, name: &Name, version: &Version) -> Result<(ReleaseMeta, Unverified)> {
        let meta = self.release_meta(name, version)?;
        if meta.encryption.is_some() {
            let content = self.open_content(name, version, &meta)?;
            let raw = Unverified {
                content,
                sha256: meta.sha256,
                size: meta.size,
            };
            return Ok((meta, raw));
        }
        // Room for the size the metadata records, so large content is read into one
        // allocation, not grown by doubling (which holds the old buffer and one twice its
        // size at once). Pages not written to are never resident, so a size that lies
        // costs address space, not memory; it is capped all the same.
        let room = usize::try_from(meta.size.min(MAX_RESERVE)).unwrap_or(0);
        let mut content = Vec::with_capacity(room);
        if self
            .backend
            .get_into(&release_key(name, version, CONTENT_FILE), &mut content)?
            .is_none()
        {
            return Err(self.no_content(name, version));
        }
        let raw = Unverified {
            content,
            sha256: meta.sha256,
            size: meta.size,
        };
        Ok((meta, raw))
    }

    fn read_kept(&self, name: &Name, version: &Version) -> Result<(ReleaseMeta, Kept<Unverified>)> {
        let meta = self.release_meta(name, version)?;
        if meta.encryption.is_some() {
            let ciphertext = self.sealed_content(name, version, &meta)?;
            return Ok((meta, Kept::Sealed(ciphertext.to_vec())));
        }
        let (meta, raw) = self.read_release(name, version)?;
        Ok((meta, Kept::Plain(raw)))
    }

    fn read_into(&self, name: &Name, version: &Version, out: &mut dyn Write) -> Result<Recorded> {
        let meta = self.release_meta(name, version)?;
        if meta.encryption.is_some() {
            let content = self.open_content(name, version, &meta)?;
            out.write_all(&content).map_err(|e| {
                Error::io(
                    format!("cannot pass on the content of '{name}@{version}'"),
                    e,
                )
            })?;
        } else if self
            .backend
            .get_into(&release_key(name, version, CONTENT_FILE), out)?
            .is_none()
        {
            return Err(self.no_content(name, version));
        }
        Ok(Recorded {
            sha256: meta.sha256,
            size: meta.size,
        })
    }

    fn list(&self, prefix: &NamePrefix) -> Result<Vec<Name>> {
        let key_prefix = prefix.as_str();
        let mut names = Vec::new();
        for key in self.backend.list(key_prefix)? {
            // Content is only ever at `<name>/<version>/content.md`: content anywhere
            // else is refused rather than silently passed over.
            if key != CONTENT_FILE && !key.ends_with(&format!("/{CONTENT_FILE}")) {
                continue;
            }
            let misplaced = |why: String| {
                Error::usage(format!("'{key}' in {}: {why}", self.backend.describe())).with_hint(
                    "the layout is <name>/<version>/content.md + metadata.json, and <name>/labels.json",
                )
            };
            let rest = key[..key.len() - CONTENT_FILE.len()].trim_end_matches('/');
            let Some((name, v)) = rest.rsplit_once('/') else {
                return Err(misplaced(
                    "content must be inside <name>/<version>/".to_owned(),
                ));
            };
            if exact_version(v).is_none() {
                return Err(misplaced(format!(
                    "'{}' is not a version written as x.y.z",
                    crate::name::printable(v)
                )));
            }
            let name = Name::parse(name).map_err(|e| misplaced(e.to_string()))?;
            if name.is_under(prefix) {
                names.push(name);
            }
        }
        names.dedup();
        if names.is_empty() && !self.backend.exists()? {
            return Err(Error::not_found(format!("there is no {}", self.backend.describe()))
                .with_hint("check the address; a store is created by its first write ('pulse sync SRC DST')"));
        }
        // A prompt whose index lists nothing has only the leftovers of an interrupted write.
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            if !self.versions(&name)?.is_empty() {
                out.push(name);
            }
        }
        Ok(out)
    }

    fn delete(&self, name: &Name, version: &Version) -> Result<()> {
        if !self.info(false)?.allow.delete {
            return Err(Error::conflict(format!(
                "{} does not allow deleting releases",
                self.backend.describe()
            )));
        }
        if !self.release_listed(name, version)? {
            return Err(no_release(name, version));
        }
        if let Some((label, _)) = self.labels(name)?.iter().find(|(_, v)| *v == version) {
            return Err(Error::conflict(format!(
                "label '{label}' of '{name}' points to {version}"
            ))
            .with_hint(Hint::MoveLabel {
                name: name.to_string(),
                label: label.to_string(),
            }));
        }
        // Unlisted first, so no reader finds a release whose files are going.
        let emptied = self.swap_index(name, |index, _| {
            Ok(index
                .versions
                .remove(&version.to_string())
                .map(|_| index.versions.is_empty()))
        })?;
        self.backend
            .delete(&release_key(name, version, META_FILE))?;
        self.backend
            .delete(&release_key(name, version, CONTENT_FILE))?;
        if emptied == Some(true) {
            self.catalog_remove(name)?;
        }
        Ok(())
    }

    fn versions(&self, name: &Name) -> Result<Vec<Version>> {
        let key = prompt_key(name, INDEX_FILE);
        if let Some((index, _)) = self.json::<PromptIndex>(&key, bounded::INDEX_JSON)? {
            return Ok(index.sorted_versions());
        }
        if self.is_pulse_store()? {
            return Ok(Vec::new());
        }
        self.scan_versions(name)
    }

    fn metadata(&self, name: &Name, version: &Version) -> Result<ReleaseMeta> {
        self.release_meta(name, version)
    }

    fn prompt_metadata(&self, name: &Name) -> Result<PromptMeta> {
        let loaded = self.load_index(name)?;
        if loaded.etag.is_none() && loaded.index.versions.is_empty() {
            return Err(no_prompt(name, &self.backend.describe()));
        }
        Ok(loaded.index.meta())
    }

    fn update_metadata(&self, name: &Name, update: &MetadataUpdate) -> Result<PromptMeta> {
        self.info(true)?;
        let changed = self.swap_index(name, |index, _| {
            if index.versions.is_empty() {
                return Err(no_prompt(name, &self.backend.describe()));
            }
            let mut meta = index.meta();
            if !meta.apply(update) {
                return Ok(None);
            }
            index.set_meta(meta.clone());
            Ok(Some(meta))
        })?;
        match changed {
            Some(meta) => Ok(meta),
            None => self.prompt_metadata(name),
        }
    }

    fn labels(&self, name: &Name) -> Result<BTreeMap<Label, Version>> {
        Ok(self.read_labels(name)?.0)
    }

    fn set_label(
        &self,
        name: &Name,
        label: &Label,
        expect: &Expect,
        target: Option<&Version>,
    ) -> Result<Option<Version>> {
        self.info(true)?;
        if let Some(v) = target
            && !self.release_listed(name, v)?
        {
            return Err(no_release(name, v));
        }
        let key = prompt_key(name, LABELS_FILE);
        for attempt in 0..SWAP_ATTEMPTS {
            let (mut labels, etag) = self.read_labels(name)?;
            let current = labels.get(label).cloned();
            if !expect.matches(current.as_ref()) {
                return Err(label_mismatch(name, label, current.as_ref()));
            }
            match target {
                Some(v) => {
                    labels.insert(label.clone(), v.clone());
                }
                None => {
                    if labels.remove(label).is_none() {
                        return Err(Error::not_found(format!(
                            "prompt '{name}' has no label '{label}'"
                        ))
                        .with_hint(Hint::ListLabels {
                            name: name.to_string(),
                        }));
                    }
                }
            }
            let raw: BTreeMap<&str, String> = labels
                .iter()
                .map(|(l, v)| (l.as_str(), v.to_string()))
                .collect();
            match self.backend.put_swap(&key, to_json(&raw)?, etag.as_ref())? {
                Swapped::Done => return Ok(current),
                Swapped::Lost => backoff(attempt),
            }
        }
        Err(lost_race(&key, &self.backend.describe()))
    }

    fn checksums(&self, name: &Name) -> Result<BTreeMap<Version, Digest>> {
        Ok(state_of(self.load_index(name)?).checksums)
    }

    fn index(&self, name: &Name) -> Result<PromptIndex> {
        Ok(self.load_index(name)?.index)
    }

    fn states(&self, names: &[Name], jobs: usize) -> Result<Vec<PromptState>> {
        if !self.backend.listing_is_cheap() {
            // A remote store: nothing to read if it holds nothing (one request says so),
            // else each prompt's index and labels, several at a time.
            if !self.backend.exists()? {
                return Ok(names.iter().map(|_| PromptState::default()).collect());
            }
            return crate::parallel::try_map(names.len(), jobs, |i| {
                let mut state = state_of(self.load_index(&names[i])?);
                state.labels = self.labels(&names[i])?;
                Ok(state)
            });
        }
        // One listing says which prompts have an index, labels or release files at all;
        // only those files are read.
        let mut indexed = std::collections::BTreeSet::new();
        let mut labelled = std::collections::BTreeSet::new();
        let mut with_files = std::collections::BTreeSet::new();
        for key in self.backend.list("")? {
            if let Some(name) = key.strip_suffix(&format!("/{INDEX_FILE}")) {
                indexed.insert(name.to_owned());
            } else if let Some(name) = key.strip_suffix(&format!("/{LABELS_FILE}")) {
                labelled.insert(name.to_owned());
            } else if let Some((rest, _file)) = key.rsplit_once('/')
                && let Some((name, version)) = rest.rsplit_once('/')
                && exact_version(version).is_some()
            {
                with_files.insert(name.to_owned());
            }
        }
        let pulse_store = self.is_pulse_store()?;
        crate::parallel::try_map(names.len(), jobs, |i| {
            let (name, key) = (&names[i], names[i].as_str());
            let mut state = PromptState::default();
            if indexed.contains(key) || (!pulse_store && with_files.contains(key)) {
                state = state_of(self.load_index(name)?);
            }
            if labelled.contains(key) {
                state.labels = self.labels(name)?;
            }
            Ok(state)
        })
    }

    fn parallel_writes(&self) -> usize {
        self.backend.parallel_requests()
    }

    fn layout_info(&self) -> Result<StoreInfo> {
        self.info(false)
    }

    fn conditional_writes_are_atomic(&self) -> bool {
        self.backend.atomic_conditional_writes()
    }

    /// In a store pulse writes to a local directory: the prompts from `_catalog.json`
    /// (which every release updates before it is done; a store without one is listed),
    /// each prompt's versions, checksums, description and keywords from its `_index.json`,
    /// and only each release's `content.md`, checked against the index. Content that does
    /// not match (kept encrypted, or damaged) is read again as [`StoreExt::fetch`] reads
    /// it, which decrypts it or reports the damage. Any other store is searched through
    /// the store interface.
    fn search(&self, query: &Query) -> Result<SearchReport> {
        let matcher = query.matcher()?;
        if !self.backend.listing_is_cheap() || !self.is_pulse_store()? {
            return crate::search::search_store(self, query);
        }
        let names: Vec<Name> = match self.json::<Catalog>(CATALOG_FILE, bounded::INDEX_JSON)? {
            Some((catalog, _)) => catalog
                .prompts
                .iter()
                .map(|p| {
                    Name::parse(p).map_err(|e| {
                        Error::integrity(format!(
                            "'{CATALOG_FILE}' in {} lists '{}': {e}",
                            self.backend.describe(),
                            crate::name::printable(p)
                        ))
                    })
                })
                .collect::<Result<_>>()?,
            None => self.list(&query.prefix)?,
        };
        let names: Vec<Name> = names.into_iter().filter(|n| query.covers(n)).collect();
        let parts = crate::parallel::try_map(names.len(), crate::search::jobs_for(self), |i| {
            let name = &names[i];
            let mut hits = Vec::new();
            let index = self.load_index(name)?.index;
            let meta = index.meta();
            if !query.keeps(&meta) {
                return Ok((0, hits));
            }
            let labels = match query.label {
                Some(_) => Some(self.labels(name)?),
                None => None,
            };
            let Some(plan) = Plan::new(query, &index.sorted_versions(), labels.as_ref()) else {
                return Ok((0, hits));
            };
            let entries: Vec<&IndexEntry> = plan
                .versions
                .iter()
                .filter_map(|v| index.versions.get(&v.to_string()))
                .collect();
            let keys: Vec<(String, u64)> = plan
                .versions
                .iter()
                .zip(&entries)
                // Room for an age file of that plaintext, which is then read as any is.
                .map(|(v, e)| (release_key(name, v, CONTENT_FILE), sealed_limit(e.size)))
                .collect();
            let read = self.backend.get_many(&keys)?;
            for ((version, entry), bytes) in plan.versions.iter().zip(&entries).zip(read) {
                let mut seen = Hasher::new();
                let matches = bytes.as_ref().is_some_and(|b| {
                    seen.update(b);
                    seen.len() == entry.size && seen.finish() == entry.checksum
                });
                match bytes {
                    Some(content) if matches => {
                        matcher.content_hits(name, version, &content, &mut hits);
                    }
                    _ => {
                        let content = self.fetch(name, version)?;
                        matcher.content_hits(name, version, &content, &mut hits);
                    }
                }
            }
            matcher.meta_hits(name, &plan.meta_version, &meta, &mut hits);
            Ok((plan.versions.len() as u64, hits))
        })?;
        Ok(SearchReport::from_parts(parts))
    }

    fn summaries(&self, prefix: &NamePrefix) -> Result<Vec<PromptSummary>> {
        let mut out = Vec::new();
        for name in self.list(prefix)? {
            let loaded = self.load_index(&name)?;
            let versions = loaded.index.sorted_versions();
            out.push(PromptSummary {
                latest: latest(&versions).cloned(),
                labels: self.labels(&name)?,
                description: loaded.index.description,
                tags: loaded.index.tags,
                name,
            });
        }
        Ok(out)
    }
}

impl<B: Backend> std::fmt::Debug for LayoutStore<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayoutStore")
            .field("backend", &self.backend.describe())
            .finish()
    }
}

/// What a prompt's index says of it, for sync (its labels are read apart).
fn state_of(loaded: LoadedIndex) -> PromptState {
    let present = loaded.etag.is_some() || !loaded.index.versions.is_empty();
    PromptState {
        checksums: loaded
            .index
            .versions
            .iter()
            .filter_map(|(v, e)| exact_version(v).map(|v| (v, e.checksum)))
            .collect(),
        meta: present.then(|| loaded.index.meta()),
        labels: BTreeMap::new(),
    }
}

/// A version directory's name: a version written exactly as pulse writes it (`1.0.0`,
/// never `v1.0.0`), so every release has one key.
fn exact_version(segment: &str) -> Option<Version> {
    Version::parse(segment)
        .ok()
        .filter(|v| v.to_string() == segment)
}
