//! The storage interface every store implements, and the one door to open a store from
//! its address.
//!
//! A store keeps released prompts: `put` (create-only), `read`, `list`, `versions`,
//! `metadata`, `delete`, labels moved by compare-and-swap, and the prompt's own metadata.
//! What every store must do the same way (verify checksums, resolve selectors) is not
//! part of [`Store`] but of [`StoreExt`], which every store gets for free and none can
//! override: a store returns bytes with the checksum it recorded, and [`StoreExt::fetch`]
//! is the one place that checks them.
//!
//! A released version is immutable: `put` of identical content is a no-op, of different
//! content a conflict; only labels and prompt metadata move. The conformance suite in
//! `tests/runner/conformance/` runs every store through the same named cases.

pub mod backend;
pub mod cache;
mod dir;
mod git;
pub mod http;
pub mod layout;
mod memory;
mod runtime;
pub mod s3;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

pub use dir::DirBackend;
pub use git::{GitStore, PooledRepo};
pub use layout::LayoutStore;

/// The directory store: the layout in a local directory.
pub type DirStore = LayoutStore<DirBackend>;

pub use crate::integrity::{Recorded, Unverified, Verified, VerifyProblem, check_content};
pub use crate::meta::{Expect, no_release};
pub use memory::MemoryStore;

use crate::digest::Hasher;
use crate::error::{Error, Hint, Kind, Result};
use crate::meta::{LabelMove, MetadataUpdate, PromptMeta, ReleaseMeta};
use crate::name::{Label, Name, NamePrefix};
use crate::report::ReleaseId;
use crate::selector::Selector;
use crate::version::{Version, latest};

/// A release to put into a store. Fields left `None` are filled by the store (the
/// author is its identity, the time is now); a copy from another store fills them all,
/// so the release is never re-authored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelease {
    /// The prompt.
    pub name: Name,
    /// The version.
    pub version: Version,
    /// Its bytes, stored exactly (shared: a store keeps or sends them without a copy).
    pub content: bytes::Bytes,
    /// The prompt's description as of this release (`None`: keep the prompt's current one).
    pub description: Option<String>,
    /// The prompt's keywords as of this release (`None`: keep the current ones).
    pub tags: Option<Vec<String>>,
    /// The release message.
    pub message: Option<String>,
    /// Who released it, `Name <email>`.
    pub author: Option<String>,
    /// When it was released (RFC 3339).
    pub created: Option<String>,
    /// `content` is already encrypted with age, by the client that sent it, and this is
    /// its plaintext's checksum and size: the store keeps it as it is (a registry passes
    /// encrypted uploads on, never holding the plaintext). `None`: `content` is the
    /// plaintext, which the store encrypts if it has recipients.
    pub sealed: Option<Recorded>,
}

impl NewRelease {
    /// A release of `content` with everything else left to the store.
    pub fn new(name: Name, version: Version, content: impl Into<bytes::Bytes>) -> NewRelease {
        NewRelease {
            name,
            version,
            content: content.into(),
            description: None,
            tags: None,
            message: None,
            author: None,
            created: None,
            sealed: None,
        }
    }

    /// A copy of a release read from another store: its metadata travels whole.
    pub fn copy_of(meta: &ReleaseMeta, content: impl Into<bytes::Bytes>) -> NewRelease {
        NewRelease {
            name: meta.name.clone(),
            version: meta.version.clone(),
            content: content.into(),
            description: Some(meta.description.clone().unwrap_or_default()),
            tags: Some(meta.tags.clone()),
            // A release read from a directory laid out by another tool may lack these:
            // the store fills them as for a new release.
            message: Some(meta.message.clone()).filter(|m| !m.is_empty()),
            author: Some(meta.author.clone()).filter(|a| !a.is_empty()),
            created: Some(meta.created.clone()).filter(|c| !c.is_empty()),
            sealed: None,
        }
    }
}

/// A release's content as a store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept<T> {
    /// In the clear.
    Plain(T),
    /// Encrypted with age: the ciphertext, which only a holder of an identity opens. The
    /// release's metadata has the plaintext's checksum and size.
    Sealed(Vec<u8>),
}

/// One label move: point `label` of `name` at `target` (or remove it) if it matches
/// `expect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSet {
    /// The prompt.
    pub name: Name,
    /// The label.
    pub label: Label,
    /// What the label must point to now.
    pub expect: Expect,
    /// Where it is to point (`None`: remove it).
    pub target: Option<Version>,
}

/// What a store holds of one prompt, as sync compares it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromptState {
    /// The checksum of each release, by version.
    pub checksums: BTreeMap<Version, crate::digest::Digest>,
    /// The prompt's metadata (`None`: the store has no such prompt).
    pub meta: Option<PromptMeta>,
    /// Its labels.
    pub labels: BTreeMap<Label, Version>,
}

/// Whether `put` created the release or found it already there, identical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stored {
    /// The release is new.
    Created,
    /// The same release existed with identical content; nothing changed.
    Unchanged,
}

/// One row of a listing: a prompt with its latest release, labels and metadata.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PromptSummary {
    /// The prompt.
    pub name: Name,
    /// Its latest release, if it has one.
    #[schema(required = true)]
    pub latest: Option<Version>,
    /// Its labels.
    pub labels: BTreeMap<Label, Version>,
    /// Its description.
    #[schema(required = true)]
    pub description: Option<String>,
    /// Its keywords.
    pub tags: Vec<String>,
}

/// A place released prompts are kept. Methods take `&self` and may be called from many
/// threads at once; a store that needs a lock or a connection keeps it inside.
pub trait Store: Send + Sync {
    /// Where the store is, for messages (`git repository '/srv/prompts'`).
    fn describe(&self) -> String;

    /// Put a release, create-only: identical content already there is `Unchanged`,
    /// different content is a conflict, and a release is never half-written.
    fn put(&self, release: &NewRelease) -> Result<Stored>;

    /// The bytes of a release and the checksum the store recorded, not verified: read
    /// releases through [`StoreExt::fetch`], which verifies them.
    fn read(&self, name: &Name, version: &Version) -> Result<Unverified>;

    /// A release's metadata and its bytes, not verified: read releases to copy them
    /// through [`StoreExt::fetch_release`], which verifies them. Stores that read both from
    /// one record override this to read it once.
    fn read_release(&self, name: &Name, version: &Version) -> Result<(ReleaseMeta, Unverified)> {
        Ok((self.metadata(name, version)?, self.read(name, version)?))
    }

    /// A release's metadata and its content as the store keeps it, not verified: content
    /// kept encrypted is returned as its ciphertext, not decrypted (what a registry passes
    /// on). Read it through [`StoreExt::fetch_kept`], which verifies plain content. Only a
    /// store that can keep content encrypted overrides this.
    fn read_kept(&self, name: &Name, version: &Version) -> Result<(ReleaseMeta, Kept<Unverified>)> {
        let (meta, raw) = self.read_release(name, version)?;
        Ok((meta, Kept::Plain(raw)))
    }

    /// Copy the bytes of a release into `out` as they are read, not verified, and return
    /// the checksum and size the store recorded: read releases through
    /// [`StoreExt::fetch_into`], which verifies them. A store that can stream content
    /// overrides this; the default reads the release whole.
    fn read_into(&self, name: &Name, version: &Version, out: &mut dyn Write) -> Result<Recorded> {
        let raw = self.read(name, version)?;
        out.write_all(&raw.content).map_err(|e| {
            Error::io(
                format!("cannot pass on the content of '{name}@{version}'"),
                e,
            )
        })?;
        Ok(raw.recorded())
    }

    /// The prompts that have at least one release, sorted, under `prefix`.
    fn list(&self, prefix: &NamePrefix) -> Result<Vec<Name>>;

    /// Delete one release; refused (conflict) while a label points to it.
    fn delete(&self, name: &Name, version: &Version) -> Result<()>;

    /// A prompt's released versions in SemVer order (empty if it has none).
    fn versions(&self, name: &Name) -> Result<Vec<Version>>;

    /// Metadata of one release (not found if there is no such release).
    fn metadata(&self, name: &Name, version: &Version) -> Result<ReleaseMeta>;

    /// The prompt's current metadata (not found if the store has no such prompt).
    fn prompt_metadata(&self, name: &Name) -> Result<PromptMeta>;

    /// Change the prompt's metadata; releases already made keep theirs.
    fn update_metadata(&self, name: &Name, update: &MetadataUpdate) -> Result<PromptMeta>;

    /// The prompt's labels (empty if it has none).
    fn labels(&self, name: &Name) -> Result<BTreeMap<Label, Version>>;

    /// Point a label at a released version, or remove it (`None`), if it currently
    /// matches `expect` (a conflict otherwise). Returns where it pointed before.
    fn set_label(
        &self,
        name: &Name,
        label: &Label,
        expect: &Expect,
        target: Option<&Version>,
    ) -> Result<Option<Version>>;

    /// The checksum of each of a prompt's releases, by version (empty if it has none).
    /// Stores that keep them together (an index) override this to answer in one read.
    fn checksums(&self, name: &Name) -> Result<BTreeMap<Version, crate::digest::Digest>> {
        let mut out = BTreeMap::new();
        for version in self.versions(name)? {
            let sha = self.metadata(name, &version)?.sha256;
            out.insert(version, sha);
        }
        Ok(out)
    }

    /// A prompt's index: every release with its checksum and size, and the prompt's
    /// metadata, as the layout's `_index.json` holds it (empty if it has no releases).
    /// Stores that keep one override this to answer in one read.
    fn index(&self, name: &Name) -> Result<layout::PromptIndex> {
        let mut index = layout::PromptIndex::default();
        for version in self.versions(name)? {
            let meta = self.metadata(name, &version)?;
            index.versions.insert(
                version.to_string(),
                layout::IndexEntry {
                    checksum: meta.sha256,
                    size: meta.size,
                },
            );
        }
        if !index.versions.is_empty() {
            let meta = self.prompt_metadata(name)?;
            index.description = meta.description;
            index.tags = meta.tags;
        }
        Ok(index)
    }

    /// Copy `releases` from `src` into this store: each read from `src` and checked
    /// against its checksum, then written create-only with its metadata whole; `copied`
    /// is called as each one is written (for a progress display). Returns each release's
    /// outcome, in order. The default copies them one by one, `jobs` at
    /// once; a store that writes many releases faster together (a git repository: one
    /// commit and one ref transaction per batch) overrides this.
    fn copy_from(
        &self,
        src: &dyn Store,
        releases: &[ReleaseId],
        jobs: usize,
        copied: &(dyn Fn() + Sync),
    ) -> Vec<Result<Stored>> {
        // One prompt's releases go to one worker, in order: the prompt's index then has
        // one writer in this process (fewer lost compare-and-swaps to retry, and no
        // concurrent conditional writes to one key on a server that does not make them
        // atomic).
        let groups = by_prompt(releases);
        let copied = crate::parallel::map(groups.len(), jobs, |g| {
            releases[groups[g].clone()]
                .iter()
                .map(|id| {
                    let (meta, content) = src.fetch_release(&id.name, &id.version)?;
                    let stored = self.put(&NewRelease::copy_of(&meta, content));
                    copied();
                    stored
                })
                .collect::<Vec<_>>()
        });
        copied.into_iter().flatten().collect()
    }

    /// What sync needs to know of each of `names`, in order: its releases' checksums, its
    /// metadata (`None` if the store has no such prompt) and its labels, with up to `jobs`
    /// requests at once. Stores that can find out in fewer requests (one listing says
    /// which prompts have anything at all) override this.
    fn states(&self, names: &[Name], jobs: usize) -> Result<Vec<PromptState>> {
        crate::parallel::try_map(names.len(), jobs, |i| {
            let name = &names[i];
            Ok(PromptState {
                checksums: self.checksums(name)?,
                meta: match self.prompt_metadata(name) {
                    Ok(meta) => Some(meta),
                    Err(e) if e.kind() == Kind::NotFound => None,
                    Err(e) => return Err(e),
                },
                labels: self.labels(name)?,
            })
        })
    }

    /// Whether this store's create-only writes and compare-and-swaps hold against other
    /// writers (processes, machines). A store whose server checks a condition and then
    /// writes in a second step says no: then only one writer at a time is safe.
    fn conditional_writes_are_atomic(&self) -> bool {
        true
    }

    /// How many writes to this store may usefully run at once (a remote store gains from
    /// several requests in flight; a git repository takes one writer at a time).
    fn parallel_writes(&self) -> usize {
        1
    }

    /// Move many labels, each as [`Store::set_label`] does; each move's outcome, in
    /// order. A store that records each change (a git repository: a commit) overrides
    /// this to move them all in one change.
    fn move_labels(&self, moves: &[LabelSet]) -> Vec<Result<Option<Version>>> {
        moves
            .iter()
            .map(|m| self.set_label(&m.name, &m.label, &m.expect, m.target.as_ref()))
            .collect()
    }

    /// Add what this store knows about why something may be missing (a shallow git clone
    /// lacks older releases) to a not-found error. The default adds nothing.
    fn explain_missing(&self, error: Error) -> Error {
        error
    }

    /// What the store's `_pulse.json` says, or would say: its layout format and whether
    /// it allows deleting releases (what the registry serves as `/_pulse.json`). Only a
    /// store that records a policy (the directory layout) overrides this.
    fn layout_info(&self) -> Result<layout::StoreInfo> {
        Ok(layout::StoreInfo {
            format: layout::LAYOUT_FORMAT,
            allow: layout::Allow::default(),
        })
    }

    /// Every move of a prompt's labels, newest first, if the store keeps a history.
    fn label_history(&self, name: &Name) -> Result<Option<Vec<LabelMove>>> {
        let _ = name;
        Ok(None)
    }

    /// Every prompt under `prefix` with its latest release, labels and metadata. Stores
    /// that can answer in one pass override this.
    fn summaries(&self, prefix: &NamePrefix) -> Result<Vec<PromptSummary>> {
        let mut out = Vec::new();
        for name in self.list(prefix)? {
            let versions = self.versions(&name)?;
            let meta = self.prompt_metadata(&name).or_else(|e| match e.kind() {
                Kind::NotFound => Ok(PromptMeta::default()),
                _ => Err(e),
            })?;
            out.push(PromptSummary {
                latest: latest(&versions).cloned(),
                labels: self.labels(&name)?,
                description: meta.description,
                tags: meta.tags,
                name,
            });
        }
        Ok(out)
    }

    /// Search the releases the query chooses, and their prompts' names, descriptions and
    /// keywords ([`crate::search`]). Every store gives the same answer to the same query;
    /// the default reads releases through this interface, checked against their
    /// checksums, and a store that can read faster (or search where the releases are)
    /// overrides it.
    fn search(&self, query: &crate::search::Query) -> Result<crate::search::SearchReport> {
        crate::search::search_store(self, query)
    }

    /// Check every release (or those of `only`): content present and matching its
    /// checksum. Stores with more to check (the form of a git tag) override this.
    fn verify(&self, only: Option<&Name>) -> Result<Verified> {
        let names = match only {
            Some(n) => vec![n.clone()],
            None => self.list(&NamePrefix::all())?,
        };
        // Prompts are checked side by side, as many as the store takes requests at once.
        let parts = crate::parallel::try_map(names.len(), self.parallel_writes(), |i| {
            let name = &names[i];
            let mut part = Verified::default();
            for version in self.versions(name)? {
                part.checked += 1;
                let mut seen = Hasher::new();
                let checked = self
                    .read_into(name, &version, &mut seen)
                    .and_then(|recorded| check_content(name, &version, &recorded, seen));
                // Content that cannot be read here (no key to decrypt it, a store that
                // cannot be reached) is not a problem of the release: verify stops.
                if let Err(e) = &checked
                    && e.kind() == Kind::Unavailable
                {
                    return checked.map(|()| part);
                }
                if let Err(e) = checked {
                    part.problems.push(VerifyProblem {
                        tag: format!("{name}@{version}"),
                        problem: e.message().to_owned(),
                    });
                }
            }
            Ok(part)
        })?;
        let mut report = Verified::default();
        for part in parts {
            report.checked += part.checked;
            report.problems.extend(part.problems);
        }
        Ok(report)
    }
}

/// What every store does the same way, built on [`Store`]: reading verified content and
/// resolving selectors. Implemented for every store; not meant to be implemented by hand.
pub trait StoreExt: Store {
    /// The exact bytes of a release, after checking them against the recorded checksum
    /// (an integrity failure, exit 5, if they do not match).
    fn fetch(&self, name: &Name, version: &Version) -> Result<Vec<u8>> {
        let raw = self.read(name, version).map_err(|e| missing(self, e))?;
        verified(name, version, raw)
    }

    /// A release's metadata and its exact bytes, checked against the recorded checksum:
    /// what a copy to another store needs.
    fn fetch_release(&self, name: &Name, version: &Version) -> Result<(ReleaseMeta, Vec<u8>)> {
        let (meta, raw) = self
            .read_release(name, version)
            .map_err(|e| missing(self, e))?;
        Ok((meta, verified(name, version, raw)?))
    }

    /// A release's metadata and its content as the store keeps it: plain content checked
    /// against the recorded checksum, encrypted content as its ciphertext (which is checked
    /// by whoever decrypts it).
    fn fetch_kept(&self, name: &Name, version: &Version) -> Result<(ReleaseMeta, Kept<Vec<u8>>)> {
        let (meta, kept) = self
            .read_kept(name, version)
            .map_err(|e| missing(self, e))?;
        let kept = match kept {
            Kept::Plain(raw) => Kept::Plain(verified(name, version, raw)?),
            Kept::Sealed(ciphertext) => Kept::Sealed(ciphertext),
        };
        Ok((meta, kept))
    }

    /// Copy the exact bytes of a release into `out`, checking them on the way against
    /// the recorded checksum (an integrity failure, exit 5, if they do not match); returns
    /// their size. `out` receives the bytes before the check is done, so it must be a
    /// place that is published only when this returns `Ok` (a temporary file renamed
    /// afterwards), never one a reader sees at once: such a reader uses [`StoreExt::fetch`].
    fn fetch_into(&self, name: &Name, version: &Version, out: &mut dyn Write) -> Result<u64> {
        let mut tee = Tee {
            out,
            seen: Hasher::new(),
        };
        let recorded = self
            .read_into(name, version, &mut tee)
            .map_err(|e| missing(self, e))?;
        let size = tee.seen.len();
        check_content(name, version, &recorded, tee.seen)?;
        Ok(size)
    }

    /// Whether a release exists.
    fn exists(&self, name: &Name, version: &Version) -> Result<bool> {
        match self.metadata(name, version) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == Kind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The highest release that is not a pre-release (or the highest pre-release).
    fn latest(&self, name: &Name) -> Result<Option<Version>> {
        Ok(latest(&self.versions(name)?).cloned())
    }

    /// The version `name@selector` means. An exact version is returned as it is (reading
    /// it finds out whether it exists); `latest` and ranges look at the versions; a label
    /// at the labels.
    fn resolve(&self, name: &Name, selector: &Selector) -> Result<Version> {
        self.resolve_inner(name, selector)
            .map_err(|e| missing(self, e))
    }

    #[doc(hidden)]
    fn resolve_inner(&self, name: &Name, selector: &Selector) -> Result<Version> {
        match selector {
            Selector::Exact(v) => Ok(v.clone()),
            Selector::Label(label) => self.labels(name)?.get(label).cloned().ok_or_else(|| {
                Error::not_found(format!(
                    "prompt '{name}' has no label '{label}' in {}",
                    self.describe()
                ))
                .with_hint(Hint::ListLabels {
                    name: name.to_string(),
                })
            }),
            Selector::Latest | Selector::Req(_) => {
                let versions = self.versions(name)?;
                if versions.is_empty() {
                    return Err(Error::not_found(format!(
                        "prompt '{name}' has no releases in {}",
                        self.describe()
                    ))
                    .with_hint(Hint::ListPrompts));
                }
                selector.pick(&versions).cloned().ok_or_else(|| {
                    Error::not_found(format!(
                        "prompt '{name}' has no release matching '{selector}'"
                    ))
                    .with_hint(Hint::ListVersions {
                        name: name.to_string(),
                    })
                })
            }
        }
    }
}

impl<S: Store + ?Sized> StoreExt for S {}

/// The runs of `releases` (sorted by name) that belong to one prompt.
pub(crate) fn by_prompt(releases: &[ReleaseId]) -> Vec<std::ops::Range<usize>> {
    let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, id) in releases.iter().enumerate() {
        match groups.last_mut() {
            Some(g) if releases[g.start].name == id.name => g.end = i + 1,
            _ => groups.push(i..i + 1),
        }
    }
    groups
}

/// The refusal of a store that keeps content only in the clear (a git repository, the
/// in-memory store) to take content a client encrypted.
pub(crate) fn refuse_sealed(r: &NewRelease, store: &str) -> Result<()> {
    if r.sealed.is_none() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "{store} keeps release content in the clear: it cannot take '{}@{}' encrypted with age",
        r.name, r.version
    ))
    .with_hint("encrypted releases are kept in directory, S3 and registry stores"))
}

/// The bytes of `raw`, once they match the checksum and size it records.
pub(crate) fn verified(name: &Name, version: &Version, raw: Unverified) -> Result<Vec<u8>> {
    let mut seen = Hasher::new();
    seen.update(&raw.content);
    check_content(name, version, &raw.recorded(), seen)?;
    Ok(raw.content)
}

/// A writer that passes everything on to `out` and hashes it on the way.
struct Tee<'a> {
    out: &'a mut dyn Write,
    seen: Hasher,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.seen.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn missing<S: Store + ?Sized>(store: &S, e: Error) -> Error {
    if e.kind() == Kind::NotFound {
        store.explain_missing(e)
    } else {
        e
    }
}

/// How to open a store, besides its address.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// For a git repository: the branch whose labels and metadata are read and written
    /// (default: the one checked out).
    pub branch: Option<String>,
    /// Which kind of store a path names, when the configuration says (`storage:
    /// filesystem` makes even a git repository's path a directory store).
    pub kind: Option<StoreKind>,
    /// Store-specific settings (`storage_config`): S3 endpoint, region, credentials.
    pub config: BTreeMap<String, String>,
    /// Who releases put without an author are by, `Name <email>`.
    pub author: Option<String>,
    /// How reads from a remote store (S3, a registry) use the on-disk cache.
    pub cache: cache::CacheOptions,
    /// The recipients to encrypt to instead of those `config` names (`Some(vec![])`:
    /// write in the clear), for `pulse sync --recipient` and `--no-encrypt`.
    pub recipients: Option<Vec<age::x25519::Recipient>>,
}

impl OpenOptions {
    /// The age keys of a layout store opened with these options.
    fn keys(&self) -> Result<Arc<crate::crypt::Keys>> {
        let keys = crate::crypt::Keys::from_config(&self.config)?;
        Ok(Arc::new(match &self.recipients {
            Some(r) => keys.with_recipients(r.clone()),
            None => keys,
        }))
    }
}

/// The kinds of store, as the configuration's `storage` key names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// A git repository (`git`).
    Git,
    /// A directory store (`filesystem`).
    Filesystem,
    /// S3-compatible object storage (`s3`).
    S3,
    /// An HTTP registry (`http`).
    Http,
}

impl StoreKind {
    /// The kind the configuration's `storage` value names.
    pub fn parse(value: &str) -> Result<StoreKind> {
        match value {
            "git" => Ok(StoreKind::Git),
            "filesystem" => Ok(StoreKind::Filesystem),
            "s3" => Ok(StoreKind::S3),
            "http" => Ok(StoreKind::Http),
            other => Err(Error::usage(format!(
                "storage '{}' is not one of git, filesystem, s3, http",
                crate::name::printable(other)
            ))),
        }
    }
}

/// Who releases are by when nobody says: the directory and S3 stores record it in
/// `metadata.json`.
const UNKNOWN_AUTHOR: &str = "unknown <unknown>";

/// What every refused address is told.
const ADDRESS_HINT: &str =
    "a store address is a path, file://PATH, s3://BUCKET[/PREFIX], or a git remote URL";

/// What kind of store an address names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// A local path: a git repository, or else a directory store.
    Path(std::path::PathBuf),
    /// `s3://BUCKET[/PREFIX]`.
    S3(String),
    /// An `http://` or `https://` registry or static directory store.
    Http(String),
    /// A git remote read through the cached mirror (`git://`, `ssh://`, `git+…`, `host:path`).
    GitRemote(String),
}

impl Address {
    /// Classify a store address. An address that looks like an option is refused.
    pub fn parse(input: &str) -> Result<Address> {
        let shown = crate::name::printable(input);
        if input.is_empty() {
            return Err(Error::usage("a store address cannot be empty"));
        }
        if input.starts_with('-') {
            return Err(Error::usage(format!(
                "'{shown}' is not a store address (it looks like an option)"
            ))
            .with_hint(ADDRESS_HINT));
        }
        if let Some(path) = input.strip_prefix("file://") {
            if path.is_empty() {
                return Err(Error::usage(format!("'{shown}' names no path")));
            }
            return Ok(Address::Path(path.into()));
        }
        if input.starts_with("s3://") {
            return Ok(Address::S3(input.to_owned()));
        }
        let lower = input.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            if lower.trim_end_matches('/').ends_with(".git") {
                return Ok(Address::GitRemote(input.to_owned()));
            }
            return Ok(Address::Http(input.to_owned()));
        }
        if lower.starts_with("git://") || lower.starts_with("ssh://") || lower.starts_with("git+") {
            return Ok(Address::GitRemote(input.to_owned()));
        }
        if let Some((scheme, _)) = input.split_once("://") {
            return Err(Error::usage(format!(
                "'{shown}': '{scheme}://' is not a kind of store pulse knows"
            ))
            .with_hint(ADDRESS_HINT));
        }
        if input.contains("::") {
            return Err(Error::usage(format!(
                "'{shown}': git transport helpers ('<helper>::<address>') are not allowed"
            ))
            .with_hint(ADDRESS_HINT));
        }
        // scp-like `host:path` (git's rule: a colon before any slash).
        if let Some(colon) = input.find(':')
            && !input[..colon].contains('/')
        {
            return Ok(Address::GitRemote(input.to_owned()));
        }
        Ok(Address::Path(input.into()))
    }
}

/// The address the configuration's `storage` and `storage_path` keys name, if they name
/// a store other than the repository pulse runs in.
pub fn configured_address(storage: Option<&str>, path: Option<&str>) -> Result<Option<String>> {
    let kind = storage.map(StoreKind::parse).transpose()?;
    let need_path = |what: &str| {
        Error::usage(format!("'storage: {what}' needs 'storage_path'"))
            .with_hint("set storage_path to the store's path, bucket/prefix or URL")
    };
    Ok(match (kind, path) {
        (None | Some(StoreKind::Git), None) => None,
        (None | Some(StoreKind::Git) | Some(StoreKind::Filesystem), Some(p)) => Some(p.to_owned()),
        (Some(StoreKind::S3), Some(p)) if p.starts_with("s3://") => Some(p.to_owned()),
        (Some(StoreKind::S3), Some(p)) => Some(format!("s3://{p}")),
        (Some(StoreKind::Http), Some(p)) => Some(p.to_owned()),
        (Some(StoreKind::Filesystem), None) => return Err(need_path("filesystem")),
        (Some(StoreKind::S3), None) => return Err(need_path("s3")),
        (Some(StoreKind::Http), None) => return Err(need_path("http")),
    })
}

/// The directory store at `path` (created by its first write), whatever else is there.
pub fn directory(
    path: impl Into<std::path::PathBuf>,
    options: &OpenOptions,
) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(
        DirStore::new(
            DirBackend::new(path),
            options
                .author
                .clone()
                .unwrap_or_else(|| UNKNOWN_AUTHOR.to_owned()),
        )
        .with_keys(options.keys()?),
    ))
}

/// Whether `path` holds a git repository (a worktree's top or a bare repository).
pub(crate) fn is_git_repository(path: &std::path::Path) -> bool {
    path.join(".git").exists() || gix::discover::is_git(path).is_ok()
}

/// Whether `address` names a git repository or remote (read through a cached mirror by
/// `fetch --from`), rather than a directory or S3 store.
pub fn is_git_address(address: &str) -> Result<bool> {
    Ok(match Address::parse(address)? {
        Address::GitRemote(_) => true,
        // A path that is not there (any more) is left to the mirror, which says whether
        // it has a cached copy of a repository that was there.
        Address::Path(path) => !path.is_dir() || is_git_repository(&path),
        Address::S3(_) | Address::Http(_) => false,
    })
}

/// Open the store at `address` to write to it: as [`open`], but a git remote is refused
/// (pulse writes to a remote by pushing a clone).
pub fn open_for_writing(address: &str, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    if let Address::GitRemote(_) = Address::parse(address)? {
        return Err(Error::usage(format!(
            "'{}' is a git remote, which pulse reads but does not write directly",
            crate::name::printable(address)
        ))
        .with_hint("clone it ('pulse clone URL'), write to the clone, then 'pulse push'"));
    }
    open(address, options)
}

/// Open the store at `address`: the one door every command goes through, so a new kind
/// of store needs no command changes.
pub fn open(address: &str, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    let author = || {
        options
            .author
            .clone()
            .unwrap_or_else(|| UNKNOWN_AUTHOR.to_owned())
    };
    match Address::parse(address)? {
        Address::Path(path) => {
            let directory =
                options.kind == Some(StoreKind::Filesystem) || !is_git_repository(&path);
            if directory {
                Ok(Arc::new(
                    DirStore::new(DirBackend::new(path), author()).with_keys(options.keys()?),
                ))
            } else {
                if options.recipients.as_ref().is_some_and(|r| !r.is_empty()) {
                    return Err(Error::usage(format!(
                        "'{}' is a git repository, which keeps release content in the clear",
                        path.display()
                    ))
                    .with_hint(
                        "encrypted releases are kept in directory, S3 and registry stores",
                    ));
                }
                Ok(Arc::new(GitStore::open(&path, options.branch.clone())?))
            }
        }
        Address::GitRemote(url) => Ok(Arc::new(crate::mirror::open_store(
            &url,
            options.branch.as_deref(),
            &options.cache,
        )?)),
        Address::S3(url) => Ok(Arc::new(
            LayoutStore::new(
                cache::CachedBackend::new(
                    s3::S3Backend::open(&url, &options.config)?,
                    &url,
                    cache::root_for(&options.cache)?,
                    options.cache.clone(),
                ),
                author(),
            )
            .with_keys(options.keys()?),
        )),
        Address::Http(url) => Ok(Arc::new(http::HttpStore::open(
            &url,
            &options.config,
            &author(),
            options.cache.clone(),
            options.keys()?,
        )?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            Address::parse("/srv/p").unwrap(),
            Address::Path("/srv/p".into())
        );
        assert_eq!(
            Address::parse("file:///srv/p").unwrap(),
            Address::Path("/srv/p".into())
        );
        assert!(matches!(
            Address::parse("s3://b/p").unwrap(),
            Address::S3(_)
        ));
        assert!(matches!(
            Address::parse("https://r.example/").unwrap(),
            Address::Http(_)
        ));
        assert!(matches!(
            Address::parse("https://h.example/p.git").unwrap(),
            Address::GitRemote(_)
        ));
        assert!(matches!(
            Address::parse("git@host:team/p").unwrap(),
            Address::GitRemote(_)
        ));
        for bad in [
            "",
            "-x",
            "--upload-pack=touch x",
            "ext::sh -c touch% x",
            "ftp://x",
            "file://",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }
}
