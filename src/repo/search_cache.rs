//! The search cache: release content kept uncompressed beside the object database
//! (`$GIT_DIR/pulse-search.cache`), so a search reads the releases it searches as plain
//! bytes instead of inflating a tag and a blob for each.
//!
//! It is derived and never a source of truth. Each entry is keyed by the id of a release's
//! tag object, which never changes (a release deleted and made again is a new tag object),
//! and holds the release's `name@version`, the checksum its tag records and its content.
//! An entry is used only when the release's ref still names that tag object, the names
//! agree, and the content matches the checksum; anything else (an entry missing, damaged,
//! or a file that is not a cache) is read from the object database, as without a cache.
//! Deleting the file at any time loses nothing; the next search writes it again.
//!
//! Beside it, `pulse-search-meta.cache` keeps what a search needs of the branch: each
//! prompt's description, keywords and labels as of one commit of the branch, named in the
//! file. It is used only for that commit (any change to the branch is a new commit), so it
//! cannot be out of date either; for any other commit the branch is read and the file
//! written anew.
//!
//! The file: `PULSESC1`, the number of entries (u32, little-endian), then per entry, sorted
//! by tag id, the tag id (20 bytes), the checksum (32 bytes), the offset of its record
//! (u64) and the record's length (u32); then the records, each `name@version`, a NUL and
//! the content. It is replaced whole (a temporary file renamed over it), so a reader sees
//! the old file or the new one.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use gix::ObjectId;

use crate::digest::Digest;
use crate::meta::Sidecar;
use crate::name::Name;

/// The cache's file name in the git directory.
pub(crate) const FILE: &str = "pulse-search.cache";

/// The file of the branch's metadata, in the git directory.
pub(crate) const META_FILE: &str = "pulse-search-meta.cache";

/// The branch's metadata as of one commit: each prompt's sidecar.
#[derive(serde::Serialize, serde::Deserialize)]
struct BranchFacts<'a> {
    commit: String,
    prompts: std::borrow::Cow<'a, BTreeMap<Name, Sidecar>>,
}

/// The sidecar of every prompt on the branch at `commit`, if the cache has them for
/// exactly that commit.
pub(crate) fn branch_facts(git_dir: &Path, commit: ObjectId) -> Option<BTreeMap<Name, Sidecar>> {
    let limits = crate::bounded::INDEX_JSON;
    let bytes = crate::bounded::read_file(
        &git_dir.join(META_FILE),
        limits.max_bytes,
        crate::bounded::Links::Refuse,
    )
    .ok()?;
    crate::bounded::check_json(&bytes, limits).ok()?;
    let facts: BranchFacts = serde_json::from_slice(&bytes).ok()?;
    (ObjectId::from_hex(facts.commit.as_bytes()).ok()? == commit)
        .then_some(facts.prompts.into_owned())
}

/// Keep the sidecar of every prompt on the branch at `commit` for the next search.
/// Failing to write (a read-only repository) changes nothing.
pub(crate) fn keep_branch_facts(
    git_dir: &Path,
    commit: ObjectId,
    prompts: &BTreeMap<Name, Sidecar>,
) {
    let facts = BranchFacts {
        commit: commit.to_string(),
        prompts: std::borrow::Cow::Borrowed(prompts),
    };
    let tmp = git_dir.join(format!("{META_FILE}.tmp-{}", std::process::id()));
    let written = serde_json::to_vec(&facts)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, git_dir.join(META_FILE)));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        log::debug!("the search cache of the branch was not written: {e}");
    }
}

const MAGIC: &[u8; 8] = b"PULSESC1";
const ENTRY: usize = 20 + 32 + 8 + 4;

/// Content larger than this is read from the object database every time: the cache holds
/// the prompts a search reads many of, not the occasional large one.
pub(crate) const MAX_CONTENT: usize = 256 << 10;

/// One release as the cache keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// The release's tag object.
    pub(crate) tag: ObjectId,
    /// `name@version`.
    pub(crate) spec: String,
    /// The checksum its tag records.
    pub(crate) sha256: Digest,
    /// Its content.
    pub(crate) content: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: ObjectId,
    sha256: Digest,
    offset: u64,
    len: u32,
}

/// An open cache file and its table (empty when there is no usable file).
#[derive(Debug, Default)]
pub(crate) struct SearchCache {
    file: Option<std::fs::File>,
    /// Sorted by tag, as the file keeps them.
    entries: Vec<Entry>,
}

impl SearchCache {
    /// The cache of the repository at `git_dir`; a missing or unreadable file is an empty
    /// cache.
    pub(crate) fn open(git_dir: &Path) -> SearchCache {
        Self::read(&git_dir.join(FILE)).unwrap_or_default()
    }

    fn read(path: &Path) -> Option<SearchCache> {
        let file = std::fs::File::open(path).ok()?;
        let len = file.metadata().ok()?.len();
        let mut head = [0u8; 12];
        file.read_exact_at(&mut head, 0).ok()?;
        if &head[..8] != MAGIC {
            return None;
        }
        let count = u32::from_le_bytes(head[8..12].try_into().ok()?) as usize;
        let table_len = count.checked_mul(ENTRY)?;
        if 12 + table_len as u64 > len {
            return None;
        }
        let mut table = vec![0u8; table_len];
        file.read_exact_at(&mut table, 12).ok()?;
        let mut entries = Vec::with_capacity(count);
        for raw in table.chunks_exact(ENTRY) {
            let tag = ObjectId::try_from(&raw[..20]).ok()?;
            let sha: [u8; 32] = raw[20..52].try_into().ok()?;
            let offset = u64::from_le_bytes(raw[52..60].try_into().ok()?);
            let entry_len = u32::from_le_bytes(raw[60..64].try_into().ok()?);
            if offset.checked_add(u64::from(entry_len))? > len {
                return None;
            }
            entries.push(Entry {
                tag,
                sha256: Digest::from_bytes(sha),
                offset,
                len: entry_len,
            });
        }
        // Written sorted; a file that is not is not one of ours.
        if !entries.is_sorted_by(|a, b| a.tag < b.tag) {
            return None;
        }
        Some(SearchCache {
            file: Some(file),
            entries,
        })
    }

    /// How many releases the cache holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds the release whose tag object is `tag`.
    pub(crate) fn holds(&self, tag: &ObjectId) -> bool {
        self.entries.binary_search_by(|e| e.tag.cmp(tag)).is_ok()
    }

    /// The content of the release `spec` whose tag object is `tag`, if the cache holds it
    /// under that name and it matches the checksum the cache recorded with it. Read into
    /// `buf`, which a caller reading many releases reuses.
    pub(crate) fn get<'b>(
        &self,
        tag: &ObjectId,
        spec: &str,
        buf: &'b mut Vec<u8>,
    ) -> Option<&'b [u8]> {
        let at = self.entries.binary_search_by(|e| e.tag.cmp(tag)).ok()?;
        let entry = &self.entries[at];
        buf.resize(entry.len as usize, 0);
        self.file.as_ref()?.read_exact_at(buf, entry.offset).ok()?;
        let record = &buf[..];
        let content = record.strip_prefix(spec.as_bytes())?.strip_prefix(b"\0")?;
        (Digest::of(content) == entry.sha256).then_some(content)
    }

    /// Write the cache anew: the entries of `self` whose tag `keep` says is still a
    /// release, and `added`. Failing to write (a read-only repository) changes nothing.
    pub(crate) fn write(&self, git_dir: &Path, keep: impl Fn(&ObjectId) -> bool, added: &[Record]) {
        if let Err(e) = self.try_write(git_dir, keep, added) {
            log::debug!("the search cache was not written: {e}");
        }
    }

    fn try_write(
        &self,
        git_dir: &Path,
        keep: impl Fn(&ObjectId) -> bool,
        added: &[Record],
    ) -> std::io::Result<()> {
        /// Where a record's bytes come from: the old file, or a new record.
        enum Source<'a> {
            Old(Entry),
            New(&'a Record),
        }
        let mut records: BTreeMap<ObjectId, (Digest, u32, Source<'_>)> = BTreeMap::new();
        if self.file.is_some() {
            for entry in self.entries.iter().filter(|e| keep(&e.tag)) {
                records.insert(entry.tag, (entry.sha256, entry.len, Source::Old(*entry)));
            }
        }
        for r in added.iter().filter(|r| r.content.len() <= MAX_CONTENT) {
            let len =
                u32::try_from(r.spec.len() + 1 + r.content.len()).map_err(std::io::Error::other)?;
            records.insert(r.tag, (r.sha256, len, Source::New(r)));
        }
        let count = u32::try_from(records.len()).map_err(std::io::Error::other)?;
        let tmp: PathBuf = git_dir.join(format!("{FILE}.tmp-{}", std::process::id()));
        let written = (|| {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            out.write_all(MAGIC)?;
            out.write_all(&count.to_le_bytes())?;
            let mut offset = (12 + records.len() * ENTRY) as u64;
            for (tag, (sha, len, _)) in &records {
                out.write_all(tag.as_bytes())?;
                out.write_all(sha.as_bytes())?;
                out.write_all(&offset.to_le_bytes())?;
                out.write_all(&len.to_le_bytes())?;
                offset += u64::from(*len);
            }
            let mut buf = Vec::new();
            for (_, len, source) in records.values() {
                match source {
                    Source::Old(entry) => {
                        buf.resize(*len as usize, 0);
                        if let Some(file) = &self.file {
                            file.read_exact_at(&mut buf, entry.offset)?;
                        }
                        out.write_all(&buf)?;
                    }
                    Source::New(r) => {
                        out.write_all(r.spec.as_bytes())?;
                        out.write_all(&[0])?;
                        out.write_all(&r.content)?;
                    }
                }
            }
            out.into_inner().map_err(|e| e.into_error())?;
            std::fs::rename(&tmp, git_dir.join(FILE))
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }
}
