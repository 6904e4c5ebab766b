//! The on-disk cache in front of every remote store (S3, a registry, a static web server),
//! as a backend wrapped around the store's own: the layout reads its files through it.
//!
//! Under `$XDG_CACHE_HOME/progress-pulse` (shared by every pulse process of the user):
//!
//! ```text
//! content/<2 hex>/<sha256 hex>          release content, by checksum, for every store
//! stores/<store key>/<layout key>       the layout's files as a store sent them
//! pins/<store key>/<name>/<version>     the checksum of every release seen (never evicted)
//! mirrors/<url key>.git                 git remotes' mirrors (`fetch --from`)
//! ```
//!
//! A release never changes, so its `metadata.json` and content are kept until evicted and
//! read without asking the store; the first time a release's metadata is read from the
//! store its checksum is pinned, and a store that later sends another checksum for it is
//! an integrity failure. The files that move (`labels.json`, `_index.json`,
//! `_catalog.json`, `_pulse.json`) are fresh for the TTL, then revalidated with a
//! conditional request (the store answers "unchanged" without sending them again). When
//! the store cannot be reached, what the cache has is used, with a warning; a store that
//! answers that a file is gone is believed, and the cache forgets it.
//!
//! Every file is written to a temporary name and renamed into place, so concurrent
//! processes never read half a file and need no lock; a cached file carries the checksum
//! of its body, so one damaged on disk is a miss, never a wrong answer. The cache is
//! bounded by size: the least recently used files go first (a hit refreshes a file's
//! time), checked at most once an hour by the process that writes to it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::backend::{Backend, Created, Etag, Object, Revalidated, Swapped};
use super::layout::{CONTENT_FILE, META_FILE};
use crate::digest::{Digest, Hasher};
use crate::error::{Error, Kind, Result};

/// How the cache is used for one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CacheMode {
    /// Fresh files from the cache, stale ones revalidated, stale ones used with a
    /// warning when the store cannot be reached.
    #[default]
    Normal,
    /// Never ask the store: what the cache has, however old, or an error (`--offline`).
    Offline,
    /// Ask the store for everything, and keep what it sends (`--refresh`).
    Refresh,
    /// No cache at all (a sync reads the stores themselves).
    Off,
}

/// The cache's settings: its mode for this run, how long moving files stay fresh, and
/// how large it may grow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheOptions {
    /// How the cache is used.
    pub mode: CacheMode,
    /// How long labels, indexes and the catalog are used without asking the store.
    pub ttl: Duration,
    /// The most bytes the cache keeps (least recently used files are evicted).
    pub max_bytes: u64,
    /// Where the cache is (`None`: the user's, under `$XDG_CACHE_HOME`).
    pub root: Option<PathBuf>,
}

/// The default TTL (`cache_ttl`).
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// The default bound (`cache_size`).
pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

/// How often the size bound is checked (by a process that writes to the cache).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// A hit refreshes a file's time (its place in the eviction order) when it is older than this.
const TOUCH_AFTER: Duration = Duration::from_secs(600);

/// The first bytes of a cached file's header.
const MAGIC: &str = "pulse-cache-1";

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            mode: CacheMode::Normal,
            ttl: DEFAULT_TTL,
            max_bytes: DEFAULT_MAX_BYTES,
            root: None,
        }
    }
}

/// pulse's part of the user's cache: `$XDG_CACHE_HOME/progress-pulse`, or `~/.cache/...`.
pub fn cache_root() -> Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or_else(|| {
            Error::usage("neither XDG_CACHE_HOME nor HOME is set, so there is no cache directory")
        })?;
    Ok(base.join("progress-pulse"))
}

/// The cache's root for a store opened with `options` (none needed when it is off).
pub fn root_for(options: &CacheOptions) -> Result<PathBuf> {
    match (&options.mode, &options.root) {
        (CacheMode::Off, _) => Ok(PathBuf::new()),
        (_, Some(root)) => Ok(root.clone()),
        (_, None) => cache_root(),
    }
}

/// The short, file-name-safe key of a store or URL.
pub fn store_key(address: &str) -> String {
    Digest::of(address.as_bytes()).hex()[..24].to_owned()
}

/// A backend with the cache in front of it.
pub struct CachedBackend<B: Backend> {
    inner: B,
    options: CacheOptions,
    /// `<cache>/content`.
    content: PathBuf,
    /// `<cache>/stores/<store key>`.
    files: PathBuf,
    /// The cache's root, for eviction.
    root: PathBuf,
    /// What the store is, as pins are keyed.
    pin_key: String,
    /// The release `metadata.json` files read lately, by key: reading a release reads
    /// its metadata and then its content, which is found by the checksum the metadata
    /// records, so the metadata file need not be read twice. A release never changes, so
    /// an entry cannot go stale; at most [`REMEMBERED`] are kept (the bodies are shared,
    /// not copied, and parsed only when the content is asked for).
    metadata: std::sync::Mutex<std::collections::HashMap<String, Bytes>>,
}

/// How many metadata files a cache keeps in memory (then it starts again).
const REMEMBERED: usize = 1024;

/// A cached file: its version at the store (`None`: the store said it has no such file),
/// when it was last known current, and its bytes.
struct Entry {
    etag: Option<Etag>,
    checked: SystemTime,
    body: Bytes,
}

impl<B: Backend> CachedBackend<B> {
    /// `inner` behind the cache at `root`; `address` names the store (its files and pins
    /// are kept under a key made from it).
    pub fn new(inner: B, address: &str, root: PathBuf, options: CacheOptions) -> Self {
        let key = store_key(address);
        CachedBackend {
            inner,
            options,
            content: root.join("content"),
            files: root.join("stores").join(&key),
            root,
            pin_key: address.to_owned(),
            metadata: std::sync::Mutex::default(),
        }
    }

    /// Remember `body`, if `key` is a release's `metadata.json`.
    fn remember(&self, key: &str, body: &Bytes) {
        if !key.ends_with(META_FILE) {
            return;
        }
        let mut known = self.metadata.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= REMEMBERED {
            known.clear();
        }
        known.insert(key.to_owned(), body.clone());
    }

    /// The backend behind the cache.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    fn entry_path(&self, key: &str) -> PathBuf {
        self.files.join(key)
    }

    fn read_entry(&self, key: &str) -> Option<Entry> {
        let path = self.entry_path(key);
        let mut file = std::fs::File::open(&path).ok()?;
        let mut raw = Vec::new();
        file.read_to_end(&mut raw).ok()?;
        let entry = parse_entry(&raw);
        match &entry {
            Some(_) => touch(&file),
            // Damaged (a crash while the disk was writing it): a miss, and gone.
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
        entry
    }

    /// Keep `body` as `key`'s version `etag` (`None`: the store has no such file).
    fn write_entry(&self, key: &str, etag: Option<&Etag>, body: &[u8]) {
        let mut bytes = format!(
            "{MAGIC} {} {} {}\n",
            unix_secs(SystemTime::now()),
            Digest::of(body).hex(),
            serde_json::to_string(&etag.map(|e| &e.0)).unwrap_or_else(|_| "null".to_owned())
        )
        .into_bytes();
        bytes.extend_from_slice(body);
        if let Err(e) = write_atomic(&self.entry_path(key), &bytes) {
            log::debug!("cannot keep '{key}' in the cache: {e}");
        }
        self.maybe_prune();
    }

    fn forget(&self, key: &str) {
        let _ = std::fs::remove_file(self.entry_path(key));
    }

    /// The content file of a checksum.
    fn content_path(&self, sha256: &Digest) -> PathBuf {
        let hex = sha256.hex();
        self.content.join(&hex[..2]).join(hex)
    }

    /// The checksum the cached `metadata.json` beside `content_key` records.
    fn cached_checksum(&self, content_key: &str) -> Option<Digest> {
        let meta_key = format!("{}{META_FILE}", content_key.strip_suffix(CONTENT_FILE)?);
        let known = self
            .metadata
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&meta_key)
            .cloned();
        let body = match known {
            Some(body) => body,
            None => self.read_entry(&meta_key)?.body,
        };
        checksum_in(&body)
    }

    /// Pin the checksum a release's `metadata.json` records (the first one seen is kept;
    /// another one later is an integrity failure).
    fn pin(&self, key: &str, body: &[u8]) -> Result<()> {
        let Some((name, version)) = release_of(key) else {
            return Ok(());
        };
        let Some(sha256) = checksum_in(body) else {
            return Ok(());
        };
        crate::mirror::pin_checksum_in(
            &self.root.join("pins"),
            &self.pin_key,
            &name,
            &version,
            &sha256,
        )
    }

    fn offline_miss(&self, key: &str) -> Error {
        Error::unavailable(format!(
            "'{key}' of {} is not in the cache, and --offline keeps pulse from asking the store",
            self.inner.describe()
        ))
        .with_hint("run it once without --offline to fill the cache")
    }

    /// A file that does not change once written (a release's metadata).
    fn get_immutable(&self, key: &str, limit: u64) -> Result<Option<Object>> {
        if self.options.mode != CacheMode::Refresh
            && let Some(Entry {
                etag: Some(etag),
                body,
                ..
            }) = self.read_entry(key)
            && body.len() as u64 <= limit
        {
            self.remember(key, &body);
            return Ok(Some(Object { bytes: body, etag }));
        }
        if self.options.mode == CacheMode::Offline {
            return Err(self.offline_miss(key));
        }
        let Some(object) = self.inner.get(key, limit)? else {
            return Ok(None);
        };
        self.pin(key, &object.bytes)?;
        self.write_entry(key, Some(&object.etag), &object.bytes);
        self.remember(key, &object.bytes);
        Ok(Some(object))
    }

    /// A file that moves (labels, an index, the catalog).
    fn get_moving(&self, key: &str, limit: u64) -> Result<Option<Object>> {
        let cached = match self.options.mode {
            CacheMode::Refresh => None,
            _ => self
                .read_entry(key)
                .filter(|e| e.body.len() as u64 <= limit),
        };
        let fresh = |e: &Entry| {
            SystemTime::now()
                .duration_since(e.checked)
                .is_ok_and(|age| age < self.options.ttl)
        };
        match (self.options.mode, cached) {
            (CacheMode::Offline, Some(entry)) => Ok(object_of(entry)),
            (CacheMode::Offline, None) => Err(self.offline_miss(key)),
            (_, Some(entry)) if fresh(&entry) => Ok(object_of(entry)),
            (_, Some(entry)) => {
                let asked = match &entry.etag {
                    Some(etag) => self.inner.get_if_changed(key, limit, etag),
                    None => self.inner.get(key, limit).map(|got| match got {
                        Some(object) => Revalidated::Changed(object),
                        None => Revalidated::Gone,
                    }),
                };
                match asked {
                    Ok(Revalidated::Unchanged) => {
                        self.write_entry(key, entry.etag.as_ref(), &entry.body);
                        Ok(object_of(entry))
                    }
                    Ok(Revalidated::Changed(object)) => {
                        self.write_entry(key, Some(&object.etag), &object.bytes);
                        Ok(Some(object))
                    }
                    Ok(Revalidated::Gone) => {
                        // Believed: remembered as gone, never answered from before.
                        self.write_entry(key, None, b"");
                        Ok(None)
                    }
                    Err(e) if e.kind() == Kind::Unavailable => {
                        let age = SystemTime::now()
                            .duration_since(entry.checked)
                            .unwrap_or_default();
                        log::warn!(
                            "{} cannot be reached ({}); using '{key}' as the cache had it {} ago",
                            self.inner.describe(),
                            e.message(),
                            ago(age)
                        );
                        Ok(object_of(entry))
                    }
                    Err(e) => Err(e),
                }
            }
            (_, None) => {
                let got = self.inner.get(key, limit)?;
                match &got {
                    Some(object) => self.write_entry(key, Some(&object.etag), &object.bytes),
                    None => self.write_entry(key, None, b""),
                }
                Ok(got)
            }
        }
    }

    /// Bound the cache's size, at most once an hour (whoever writes first after that).
    fn maybe_prune(&self) {
        let stamp = self.root.join(".pruned");
        let due = std::fs::metadata(&stamp)
            .and_then(|m| m.modified())
            .map_or(true, |t| {
                SystemTime::now()
                    .duration_since(t)
                    .is_ok_and(|age| age >= PRUNE_EVERY)
            });
        if !due {
            return;
        }
        if write_atomic(&stamp, b"").is_ok()
            && let Err(e) = prune(&self.root, self.options.max_bytes)
        {
            log::debug!("cannot prune the cache: {e}");
        }
    }
}

impl<B: Backend> Backend for CachedBackend<B> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn get(&self, key: &str, limit: u64) -> Result<Option<Object>> {
        if self.options.mode == CacheMode::Off {
            return self.inner.get(key, limit);
        }
        if release_of(key).is_some() {
            self.get_immutable(key, limit)
        } else {
            self.get_moving(key, limit)
        }
    }

    fn get_into(&self, key: &str, out: &mut dyn Write) -> Result<Option<u64>> {
        if self.options.mode == CacheMode::Off {
            return self.inner.get_into(key, out);
        }
        let expected = (self.options.mode != CacheMode::Refresh)
            .then(|| self.cached_checksum(key))
            .flatten();
        if let Some(sha256) = &expected
            && let Ok(mut file) = std::fs::File::open(self.content_path(sha256))
        {
            touch(&file);
            // The bytes are checked against the release's checksum by whoever asked for
            // them, as the store's would be.
            let size = std::io::copy(&mut file, out)
                .map_err(|e| Error::io(format!("cannot pass on the cached copy of '{key}'"), e))?;
            return Ok(Some(size));
        }
        if self.options.mode == CacheMode::Offline {
            return Err(self.offline_miss(key));
        }
        // From the store, into `out` and a temporary file beside the cached content; the
        // file is kept only if its bytes are what the release's metadata records.
        let expected = expected.or_else(|| self.cached_checksum(key));
        let mut keep = expected.as_ref().and_then(|sha256| {
            let path = self.content_path(sha256);
            let dir = path.parent()?.to_path_buf();
            std::fs::create_dir_all(&dir).ok()?;
            let tmp = dir.join(temp_name());
            let file = std::fs::File::create(&tmp).ok()?;
            Some((tmp, path, file, Hasher::new()))
        });
        let mut tee = Tee {
            out,
            keep: keep.as_mut().map(|(_, _, file, hasher)| (file, hasher)),
        };
        let got = self.inner.get_into(key, &mut tee);
        let written = tee.keep.is_some();
        if let Some((tmp, path, _file, hasher)) = keep {
            let good = written
                && matches!(got, Ok(Some(_)))
                && expected.as_ref() == Some(&hasher.finish());
            if good && std::fs::rename(&tmp, &path).is_ok() {
                self.maybe_prune();
            } else {
                let _ = std::fs::remove_file(&tmp);
            }
        }
        got
    }

    fn exists(&self) -> Result<bool> {
        if self.options.mode == CacheMode::Offline {
            return Ok(self.files.exists());
        }
        self.inner.exists()
    }

    fn put_new(&self, key: &str, bytes: Bytes) -> Result<Created> {
        self.forget(key);
        self.inner.put_new(key, bytes)
    }

    fn put_swap(&self, key: &str, bytes: Bytes, expect: Option<&Etag>) -> Result<Swapped> {
        // Whatever happens, the next read asks the store.
        self.forget(key);
        self.inner.put_swap(key, bytes, expect)
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.forget(key);
        self.inner.delete(key)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        if self.options.mode == CacheMode::Offline {
            return Err(Error::unavailable(format!(
                "listing {} needs the store, and --offline keeps pulse from asking it",
                self.inner.describe()
            )));
        }
        self.inner.list(prefix)
    }

    fn listing_is_cheap(&self) -> bool {
        self.inner.listing_is_cheap()
    }

    fn parallel_requests(&self) -> usize {
        self.inner.parallel_requests()
    }

    fn atomic_conditional_writes(&self) -> bool {
        self.inner.atomic_conditional_writes()
    }
}

/// Copies what the store sends to the reader and, while it can, to the cache's file.
struct Tee<'a> {
    out: &'a mut dyn Write,
    keep: Option<(&'a mut std::fs::File, &'a mut Hasher)>,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        if let Some((file, hasher)) = &mut self.keep {
            hasher.update(&buf[..n]);
            if file.write_all(&buf[..n]).is_err() {
                // A full disk costs the cache its copy, never the reader its bytes.
                self.keep = None;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// `name` and `version` of a release file's key (`<name>/<version>/metadata.json` or
/// `content.md`); `None` for the files that move.
fn release_of(key: &str) -> Option<(crate::name::Name, crate::version::Version)> {
    let rest = key
        .strip_suffix(META_FILE)
        .or_else(|| key.strip_suffix(CONTENT_FILE))?
        .strip_suffix('/')?;
    let (name, version) = rest.rsplit_once('/')?;
    Some((
        crate::name::Name::parse(name).ok()?,
        crate::version::Version::parse(version).ok()?,
    ))
}

/// The checksum a `metadata.json` records.
fn checksum_in(body: &[u8]) -> Option<Digest> {
    #[derive(serde::Deserialize)]
    struct Checksum {
        checksum: Option<String>,
    }
    let file: Checksum = serde_json::from_slice(body).ok()?;
    Digest::parse(file.checksum.as_deref()?).ok()
}

/// What a cached entry says: the file, or that there is none.
fn object_of(entry: Entry) -> Option<Object> {
    Some(Object {
        bytes: entry.body,
        etag: entry.etag?,
    })
}

/// A cached file: `pulse-cache-1 <checked> <sha256 of body> <etag as JSON>\n<body>`.
fn parse_entry(raw: &[u8]) -> Option<Entry> {
    let end = raw.iter().position(|&b| b == b'\n')?;
    let header = std::str::from_utf8(&raw[..end]).ok()?;
    let mut parts = header.splitn(4, ' ');
    if parts.next()? != MAGIC {
        return None;
    }
    let checked: u64 = parts.next()?.parse().ok()?;
    let sha = parts.next()?;
    let etag: Option<String> = serde_json::from_str(parts.next()?).ok()?;
    let body = &raw[end + 1..];
    if Digest::of(body).hex() != sha {
        return None;
    }
    Some(Entry {
        etag: etag.map(Etag),
        checked: SystemTime::UNIX_EPOCH + Duration::from_secs(checked),
        body: Bytes::copy_from_slice(body),
    })
}

/// `42 s`, `5 min`, `3 h`, `2 days`.
fn ago(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", s / 60),
        7200..172_800 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Move a file to the front of the eviction order, if it has not been lately.
fn touch(file: &std::fs::File) {
    let stale = file
        .metadata()
        .and_then(|m| m.modified())
        .map_or(true, |t| {
            SystemTime::now()
                .duration_since(t)
                .is_ok_and(|age| age > TOUCH_AFTER)
        });
    if stale {
        let _ = file.set_modified(SystemTime::now());
    }
}

fn temp_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(".tmp-{}-{nanos}", std::process::id())
}

/// Write `bytes` to `path` through a temporary file renamed into place (no fsync: a
/// cached file damaged by a crash fails its checksum and is a miss).
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("a cache file has no directory"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(temp_name());
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// What the cache holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheInfo {
    /// Where it is.
    pub path: PathBuf,
    /// Bytes of content, cached files and mirrors (pins not counted: they are never evicted).
    pub bytes: u64,
    /// Release contents kept.
    pub contents: u64,
    /// Store files kept (metadata, labels, indexes).
    pub files: u64,
    /// Git remotes mirrored.
    pub mirrors: u64,
    /// Releases pinned.
    pub pins: u64,
}

/// What a prune or clear removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    /// Files and mirrors removed.
    pub removed: u64,
    /// Bytes freed.
    pub freed: u64,
    /// Bytes the cache still holds.
    pub kept: u64,
}

/// One thing the cache can evict: a file, or a mirror (a directory).
struct Item {
    path: PathBuf,
    bytes: u64,
    used: SystemTime,
    dir: bool,
}

fn walk(dir: &Path, out: &mut Vec<Item>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            walk(&entry.path(), out);
        } else if meta.is_file() {
            out.push(Item {
                path: entry.path(),
                bytes: meta.len(),
                used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                dir: false,
            });
        }
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut items = Vec::new();
    walk(dir, &mut items);
    items.iter().map(|i| i.bytes).sum()
}

/// Everything the cache at `root` may evict: content, store files, mirrors.
fn evictable(root: &Path) -> Vec<Item> {
    let mut items = Vec::new();
    walk(&root.join("content"), &mut items);
    walk(&root.join("stores"), &mut items);
    if let Ok(entries) = std::fs::read_dir(root.join("mirrors")) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "git") && path.is_dir() {
                // A mirror is used when it is refreshed or read: its FETCH_HEAD or HEAD
                // moves then.
                let used = ["FETCH_HEAD", "HEAD"]
                    .iter()
                    .filter_map(|f| std::fs::metadata(path.join(f)).ok()?.modified().ok())
                    .max()
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                items.push(Item {
                    bytes: dir_bytes(&path),
                    path,
                    used,
                    dir: true,
                });
            }
        }
    }
    items
}

/// What the cache at `root` holds.
pub fn info(root: &Path) -> CacheInfo {
    let items = evictable(root);
    let mut pins = Vec::new();
    walk(&root.join("pins"), &mut pins);
    let under = |dir: &str| {
        let base = root.join(dir);
        items.iter().filter(|i| i.path.starts_with(&base)).count() as u64
    };
    CacheInfo {
        path: root.to_path_buf(),
        bytes: items.iter().map(|i| i.bytes).sum(),
        contents: under("content"),
        files: under("stores"),
        mirrors: items.iter().filter(|i| i.dir).count() as u64,
        pins: pins.len() as u64,
    }
}

/// Evict the least recently used files and mirrors until the cache at `root` holds at
/// most `max_bytes` (temporary files left by killed processes go too).
pub fn prune(root: &Path, max_bytes: u64) -> Result<Pruned> {
    let mut items = evictable(root);
    let mut report = Pruned::default();
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    items.retain(|i| {
        let abandoned = !i.dir
            && i.path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-"))
            && i.used < hour_ago;
        if abandoned && std::fs::remove_file(&i.path).is_ok() {
            report.removed += 1;
            report.freed += i.bytes;
            return false;
        }
        true
    });
    let mut total: u64 = items.iter().map(|i| i.bytes).sum();
    items.sort_by_key(|i| i.used);
    for item in items {
        if total <= max_bytes {
            break;
        }
        let removed = if item.dir {
            std::fs::remove_dir_all(&item.path)
        } else {
            std::fs::remove_file(&item.path)
        };
        if removed.is_ok() {
            total -= item.bytes;
            report.removed += 1;
            report.freed += item.bytes;
        }
    }
    report.kept = total;
    Ok(report)
}

/// Empty the cache at `root`: content, store files and mirrors; with `pins`, the pins too
/// (then a release seen before is trusted anew the next time it is read).
pub fn clear(root: &Path, pins: bool) -> Result<Pruned> {
    let before = info(root).bytes;
    let mut removed = 0;
    let mut dirs = vec!["content", "stores", "mirrors"];
    if pins {
        dirs.push("pins");
    }
    for dir in dirs {
        let path = root.join(dir);
        match std::fs::remove_dir_all(&path) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::io(
                    format!("cannot clear the cache's '{}'", path.display()),
                    e,
                ));
            }
        }
    }
    Ok(Pruned {
        removed,
        freed: before,
        kept: info(root).bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_damage_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/labels.json");
        let body = b"{\"production\": \"1.0.0\"}\n";
        let mut bytes = format!(
            "{MAGIC} 100 {} {}\n",
            Digest::of(body).hex(),
            serde_json::to_string("\"etag with spaces\"").unwrap()
        )
        .into_bytes();
        bytes.extend_from_slice(body);
        write_atomic(&path, &bytes).unwrap();
        let entry = parse_entry(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(entry.etag.unwrap().0, "\"etag with spaces\"");
        assert_eq!(&entry.body[..], body);
        let mut damaged = bytes.clone();
        let last = damaged.len() - 2;
        damaged[last] ^= 1;
        assert!(parse_entry(&damaged).is_none());
        assert!(parse_entry(b"something else\n{}").is_none());
    }

    #[test]
    fn a_release_read_reads_its_cached_metadata_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let content = Bytes::from_static(b"You are a careful reviewer.\n");
        let meta = format!("{{\"checksum\": \"{}\"}}", Digest::of(&content));
        let backend = super::super::dir::DirBackend::new(&store);
        backend
            .put_new("p/1.0.0/metadata.json", Bytes::from(meta.clone()))
            .unwrap();
        backend
            .put_new("p/1.0.0/content.md", content.clone())
            .unwrap();
        let options = CacheOptions {
            root: Some(dir.path().join("cache")),
            ..CacheOptions::default()
        };
        let cached = CachedBackend::new(backend, "dir:test", dir.path().join("cache"), options);
        let read = |cached: &CachedBackend<_>| {
            let got = cached
                .get("p/1.0.0/metadata.json", 1 << 20)
                .unwrap()
                .unwrap();
            assert_eq!(&got.bytes[..], meta.as_bytes());
            let mut out = Vec::new();
            let size = cached.get_into("p/1.0.0/content.md", &mut out).unwrap();
            (size, out)
        };
        assert_eq!(
            read(&cached),
            (Some(content.len() as u64), content.to_vec())
        );
        // The store is gone: the second read comes from the cache, and its content is found
        // by the checksum of the metadata just read, without reading that file again.
        std::fs::remove_dir_all(&store).unwrap();
        assert_eq!(
            read(&cached),
            (Some(content.len() as u64), content.to_vec())
        );
        std::fs::remove_file(cached.entry_path("p/1.0.0/metadata.json")).unwrap();
        let mut out = Vec::new();
        let size = cached.get_into("p/1.0.0/content.md", &mut out).unwrap();
        assert_eq!((size, out), (Some(content.len() as u64), content.to_vec()));
    }

    #[test]
    fn release_files_are_told_from_moving_ones() {
        assert!(release_of("team/p/1.0.0/metadata.json").is_some());
        assert!(release_of("team/p/1.0.0-rc.1/content.md").is_some());
        assert!(release_of("team/p/labels.json").is_none());
        assert!(release_of("team/p/_index.json").is_none());
        assert!(release_of("_catalog.json").is_none());
        assert!(release_of("metadata.json").is_none());
    }

    #[test]
    fn prune_evicts_the_least_recently_used_first() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let old = root.join("content/aa/old");
        let new = root.join("stores/k/new");
        let pin = root.join("pins/k/p/1.0.0");
        for (path, size) in [(&old, 600), (&new, 600), (&pin, 10)] {
            write_atomic(path, &vec![b'x'; size]).unwrap();
        }
        let file = std::fs::File::options().write(true).open(&old).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(7200))
            .unwrap();
        assert_eq!(info(root).bytes, 1200);
        let pruned = prune(root, 1000).unwrap();
        assert_eq!((pruned.removed, pruned.kept), (1, 600));
        assert!(!old.exists() && new.exists() && pin.exists());
        let cleared = clear(root, false).unwrap();
        assert_eq!(cleared.kept, 0);
        assert!(pin.exists());
    }
}
