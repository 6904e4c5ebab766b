//! The storage interface every store implements (after the seed's): store, fetch, list,
//! delete, exists, versions, latest, and metadata, plus labels. The git repository and an
//! in-memory store implement it today; directory, S3 and HTTP stores come later and must
//! pass the same conformance suite (`tests/runner/conformance.rs`).
//!
//! A released version is immutable: `store` is create-only (identical content is a
//! no-op, different content a conflict), and only labels and prompt metadata move.

mod git;
mod memory;

use std::collections::BTreeMap;

pub use git::GitStore;
pub use memory::MemoryStore;

use crate::error::Result;
use crate::name::{Label, Name};
use crate::version::{Version, latest};

/// A release to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelease {
    /// The prompt.
    pub name: Name,
    /// The version.
    pub version: Version,
    /// Its bytes, stored exactly.
    pub content: Vec<u8>,
    /// A new description of the prompt (kept when `None`).
    pub description: Option<String>,
    /// New keywords of the prompt (kept when `None`).
    pub tags: Option<Vec<String>>,
    /// The release message.
    pub message: Option<String>,
}

/// Whether `store` created the release or found it already there, identical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// The release is new.
    Created,
    /// The same release existed with identical content; nothing changed.
    Unchanged,
}

/// What a store knows about one release.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReleaseMeta {
    /// The prompt.
    pub name: Name,
    /// The version.
    pub version: Version,
    /// When it was released (RFC 3339).
    pub created: String,
    /// Who released it.
    pub author: String,
    /// Content size in bytes.
    pub size: u64,
    /// `sha256:<hex>` of the content.
    pub sha256: String,
    /// The release message.
    pub message: String,
    /// The prompt's description as of this release.
    pub description: Option<String>,
    /// The prompt's keywords as of this release.
    pub tags: Vec<String>,
}

/// The per-prompt metadata that may change between versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PromptMeta {
    /// What the prompt is for.
    pub description: Option<String>,
    /// Keywords.
    pub tags: Vec<String>,
}

/// A change to a prompt's metadata; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataUpdate {
    /// A new description (empty removes it).
    pub description: Option<String>,
    /// New keywords.
    pub tags: Option<Vec<String>>,
}

/// A place prompts are kept.
pub trait Store: Send + Sync {
    /// Store a release, create-only: identical content already there is `Unchanged`,
    /// different content is a conflict (exit 4).
    fn store(&self, release: &NewRelease) -> Result<Stored>;
    /// The exact bytes of a release, checksum verified.
    fn fetch(&self, name: &Name, version: &Version) -> Result<Vec<u8>>;
    /// The prompts that have at least one release, sorted, optionally under a name prefix.
    fn list(&self, prefix: Option<&str>) -> Result<Vec<Name>>;
    /// Delete one release.
    fn delete(&self, name: &Name, version: &Version) -> Result<()>;
    /// Whether a release exists.
    fn exists(&self, name: &Name, version: &Version) -> Result<bool>;
    /// A prompt's released versions in SemVer order (empty if it has none).
    fn versions(&self, name: &Name) -> Result<Vec<Version>>;
    /// The highest release that is not a pre-release (or the highest pre-release).
    fn latest(&self, name: &Name) -> Result<Option<Version>> {
        Ok(latest(&self.versions(name)?).cloned())
    }
    /// Metadata of one release.
    fn metadata(&self, name: &Name, version: &Version) -> Result<ReleaseMeta>;
    /// The prompt's current metadata.
    fn prompt_metadata(&self, name: &Name) -> Result<PromptMeta>;
    /// Change the prompt's metadata; releases already made keep theirs.
    fn update_metadata(&self, name: &Name, update: &MetadataUpdate) -> Result<PromptMeta>;
    /// The prompt's labels.
    fn labels(&self, name: &Name) -> Result<BTreeMap<Label, Version>>;
    /// Point a label at a released version, or remove it (`None`); returns where it pointed.
    fn set_label(
        &self,
        name: &Name,
        label: &Label,
        target: Option<&Version>,
    ) -> Result<Option<Version>>;
}
