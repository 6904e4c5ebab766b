//! Where the files of the directory layout are kept: a local directory or an S3 bucket.
//!
//! The layout ([`super::layout`]) decides what each file holds and in which order they are
//! written; a backend only keeps bytes under keys (`team/reviewer/1.0.0/content.md`) and
//! offers the two writes the layout needs: create-only (a release file is never replaced)
//! and compare-and-swap on a version token (labels and the per-prompt index move only if
//! nobody moved them since they were read). Adding a backend touches neither the layout
//! nor any command.

use std::io::Write;

use bytes::Bytes;

use crate::error::Result;

/// The version of a file a backend handed out, to make a later write conditional on it
/// (an S3 ETag; for a directory, the file's checksum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Etag(pub String);

/// A file and its version.
#[derive(Debug, Clone)]
pub struct Object {
    /// The bytes.
    pub bytes: Bytes,
    /// Their version, for a conditional write.
    pub etag: Etag,
}

/// What a create-only write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The file is new and holds the bytes.
    Created,
    /// A file was already there; it was left untouched (it may hold other bytes).
    Existed,
}

/// What a compare-and-swap write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swapped {
    /// The file held what was expected and now holds the new bytes.
    Done,
    /// Someone changed the file since it was read: nothing was written; read it again.
    Lost,
}

/// What a conditional read found.
#[derive(Debug, Clone)]
pub enum Revalidated {
    /// The file is still the version the reader has.
    Unchanged,
    /// The file changed: this is it now.
    Changed(Object),
    /// There is no such file (any more).
    Gone,
}

/// Bytes under keys, with create-only and compare-and-swap writes. A key is a relative
/// `/`-separated path whose segments come from validated names, versions and the
/// layout's own file names: never `.`, `..` or empty.
///
/// Errors have kinds: a backend that cannot be reached is unavailable (exit 6), a
/// backend that does not exist (no such bucket) not found (exit 3), refused credentials
/// unavailable. A missing key is not an error: `get` returns `None`.
pub trait Backend: Send + Sync {
    /// Where the files are, for messages (`directory '/srv/prompts'`, `s3://bucket/prefix`).
    fn describe(&self) -> String;

    /// The file at `key` with its version, or `None` if there is none. Files read this way
    /// are small (metadata, labels, indexes): more than `limit` bytes is refused.
    fn get(&self, key: &str, limit: u64) -> Result<Option<Object>>;

    /// Copy the file at `key` into `out` as it is read (content of any size); its size,
    /// or `None` if there is no such file.
    fn get_into(&self, key: &str, out: &mut dyn Write) -> Result<Option<u64>>;

    /// The files at `keys`, each whole and at most its limit in bytes (`None` for a missing
    /// one), in order: for reading many small files at once (a search). The default gets
    /// them one by one; a backend that can read them cheaper together (a local directory,
    /// which opens each directory once) overrides this.
    fn get_many(&self, keys: &[(String, u64)]) -> Result<Vec<Option<Bytes>>> {
        keys.iter()
            .map(|(key, limit)| Ok(self.get(key, *limit)?.map(|o| o.bytes)))
            .collect()
    }

    /// Whether the store itself is there (the directory, the bucket). A store that is
    /// not holds no files: `get` and `list` find none, and the first write creates it.
    fn exists(&self) -> Result<bool> {
        Ok(true)
    }

    /// The file at `key` unless it is still version `etag`: a conditional read (HTTP
    /// `If-None-Match`) where the backend has one, so a cache revalidates what it holds
    /// without the bytes coming again. The default reads the file and compares versions.
    fn get_if_changed(&self, key: &str, limit: u64, etag: &Etag) -> Result<Revalidated> {
        Ok(match self.get(key, limit)? {
            None => Revalidated::Gone,
            Some(object) if &object.etag == etag => Revalidated::Unchanged,
            Some(object) => Revalidated::Changed(object),
        })
    }

    /// Write `bytes` at `key` only if no file is there: atomically (a reader sees no
    /// file or the whole file), durably, and never replacing another writer's file.
    fn put_new(&self, key: &str, bytes: Bytes) -> Result<Created>;

    /// Write `bytes` at `key` only if the file is still the version `expect` (`None`:
    /// only if there is no file).
    fn put_swap(&self, key: &str, bytes: Bytes, expect: Option<&Etag>) -> Result<Swapped>;

    /// Remove the file at `key`; a missing file is fine.
    fn delete(&self, key: &str) -> Result<()>;

    /// Every key under `prefix` (a key prefix ending in `/`, or empty for all), sorted.
    /// Temporary files of writes in flight are not listed.
    fn list(&self, prefix: &str) -> Result<Vec<String>>;

    /// Whether listing every key is cheap (a local directory walk), compared with reading
    /// a few files of each prompt (remote listings come in pages of a thousand keys, and
    /// some servers walk everything for each page).
    fn listing_is_cheap(&self) -> bool {
        true
    }

    /// How many requests may usefully be in flight at once.
    fn parallel_requests(&self) -> usize {
        4
    }

    /// Whether a create-only write and a compare-and-swap are atomic against other
    /// processes and machines (true for a local directory and AWS S3; some S3-compatible
    /// servers check the condition and write in two steps).
    fn atomic_conditional_writes(&self) -> bool {
        true
    }
}
