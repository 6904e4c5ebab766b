//! The server's memory of release files: a release never changes, so its `content.md` and
//! `metadata.json` once read (and verified) are answered from memory until evicted, the
//! least recently used first, within a bound in bytes.
//!
//! A release deleted through this server is forgotten at once; one deleted through
//! another server on the same store is answered from here until it is evicted.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::reply::File;
use crate::name::Name;
use crate::version::Version;

/// Which file of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Part {
    /// `content.md`.
    Content,
    /// `metadata.json`.
    Metadata,
}

type Key = (Name, Version, Part);

struct Entry {
    file: File,
    tick: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    /// Keys by the time they were last used: the first is evicted first.
    order: BTreeMap<u64, Key>,
    bytes: u64,
    tick: u64,
}

/// Release files in memory, bounded in bytes.
pub(crate) struct Cache {
    capacity: u64,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Cache {
    /// A cache holding at most `capacity` bytes of files (0: none).
    pub(crate) fn new(capacity: u64) -> Cache {
        Cache {
            capacity,
            inner: Mutex::new(Inner::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The file, if it is here (counted as a hit or a miss).
    pub(crate) fn get(&self, name: &Name, version: &Version, part: Part) -> Option<File> {
        let key = (name.clone(), version.clone(), part);
        let found = self.inner.lock().ok().and_then(|mut inner| {
            inner.tick += 1;
            let tick = inner.tick;
            let entry = inner.entries.get_mut(&key)?;
            let old = std::mem::replace(&mut entry.tick, tick);
            let file = entry.file.clone();
            inner.order.remove(&old);
            inner.order.insert(tick, key);
            Some(file)
        });
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keep a file, evicting the least recently used ones to make room. A file larger
    /// than the whole cache is not kept.
    pub(crate) fn put(&self, name: &Name, version: &Version, part: Part, file: File) {
        let size = file.body.len() as u64;
        if size > self.capacity {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let key = (name.clone(), version.clone(), part);
        inner.remove(&key);
        while inner.bytes + size > self.capacity {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            if let Some(gone) = inner.entries.remove(&oldest) {
                inner.bytes -= gone.file.body.len() as u64;
            }
        }
        inner.tick += 1;
        let tick = inner.tick;
        inner.order.insert(tick, key.clone());
        inner.entries.insert(key, Entry { file, tick });
        inner.bytes += size;
    }

    /// Forget both files of a release (it was deleted).
    pub(crate) fn forget(&self, name: &Name, version: &Version) {
        if let Ok(mut inner) = self.inner.lock() {
            for part in [Part::Content, Part::Metadata] {
                inner.remove(&(name.clone(), version.clone(), part));
            }
        }
    }

    /// How many lookups found their file.
    pub(crate) fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// How many lookups did not.
    pub(crate) fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

impl Inner {
    fn remove(&mut self, key: &Key) {
        if let Some(gone) = self.entries.remove(key) {
            self.order.remove(&gone.tick);
            self.bytes -= gone.file.body.len() as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(n: usize) -> File {
        File::json(bytes::Bytes::from(vec![b'x'; n]))
    }

    #[test]
    fn the_least_recently_used_go_first_within_the_bound() {
        let cache = Cache::new(100);
        let n = Name::parse("a").unwrap();
        let v = |s: &str| Version::parse(s).unwrap();
        cache.put(&n, &v("1.0.0"), Part::Content, file(40));
        cache.put(&n, &v("2.0.0"), Part::Content, file(40));
        assert!(cache.get(&n, &v("1.0.0"), Part::Content).is_some());
        cache.put(&n, &v("3.0.0"), Part::Content, file(40));
        assert!(cache.get(&n, &v("2.0.0"), Part::Content).is_none());
        assert!(cache.get(&n, &v("1.0.0"), Part::Content).is_some());
        assert!(cache.get(&n, &v("3.0.0"), Part::Content).is_some());
        cache.put(&n, &v("4.0.0"), Part::Content, file(101));
        assert!(cache.get(&n, &v("4.0.0"), Part::Content).is_none());
        cache.forget(&n, &v("1.0.0"));
        assert!(cache.get(&n, &v("1.0.0"), Part::Content).is_none());
        assert_eq!((cache.hits(), cache.misses()), (3, 3));
        let inner = cache.inner.lock().unwrap();
        assert_eq!(inner.bytes, 40);
        assert_eq!(inner.entries.len(), inner.order.len());
    }
}
