//! The server's memory of release files: a release never changes, so its `content.md` and
//! `metadata.json` once read (and verified) are answered from memory until evicted, the
//! least recently used first, within a bound in bytes.
//!
//! A release deleted through this server is forgotten at once; one deleted through
//! another server on the same store is answered from here until it is evicted.

use std::collections::HashMap;
use std::sync::RwLock;
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

/// A file and when it was last used (the cache's clock; a hit moves it under a read lock).
struct Entry {
    file: File,
    used: AtomicU64,
}

/// Both files of one release.
#[derive(Default)]
struct Slot {
    content: Option<Entry>,
    metadata: Option<Entry>,
}

impl Slot {
    fn part(&self, part: Part) -> Option<&Entry> {
        match part {
            Part::Content => self.content.as_ref(),
            Part::Metadata => self.metadata.as_ref(),
        }
    }

    fn part_mut(&mut self, part: Part) -> &mut Option<Entry> {
        match part {
            Part::Content => &mut self.content,
            Part::Metadata => &mut self.metadata,
        }
    }
}

/// Releases by prompt and version: looked up by reference, so a hit allocates nothing.
#[derive(Default)]
struct Inner {
    releases: HashMap<Name, HashMap<Version, Slot>>,
    bytes: u64,
}

/// Release files in memory, bounded in bytes.
pub(crate) struct Cache {
    capacity: u64,
    inner: RwLock<Inner>,
    clock: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Cache {
    /// A cache holding at most `capacity` bytes of files (0: none).
    pub(crate) fn new(capacity: u64) -> Cache {
        Cache {
            capacity,
            inner: RwLock::new(Inner::default()),
            clock: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The file, if it is here (counted as a hit or a miss).
    pub(crate) fn get(&self, name: &Name, version: &Version, part: Part) -> Option<File> {
        let found = self.inner.read().ok().and_then(|inner| {
            let entry = inner.releases.get(name)?.get(version)?.part(part)?;
            entry.used.store(self.tick(), Ordering::Relaxed);
            Some(entry.file.clone())
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
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        inner.remove(name, version, part);
        while inner.bytes + size > self.capacity && inner.evict_oldest() {}
        let entry = Entry {
            file,
            used: AtomicU64::new(self.tick()),
        };
        *inner
            .releases
            .entry(name.clone())
            .or_default()
            .entry(version.clone())
            .or_default()
            .part_mut(part) = Some(entry);
        inner.bytes += size;
    }

    /// Forget both files of a release (it was deleted).
    pub(crate) fn forget(&self, name: &Name, version: &Version) {
        if let Ok(mut inner) = self.inner.write() {
            for part in [Part::Content, Part::Metadata] {
                inner.remove(name, version, part);
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
    fn remove(&mut self, name: &Name, version: &Version, part: Part) {
        let Some(versions) = self.releases.get_mut(name) else {
            return;
        };
        let Some(slot) = versions.get_mut(version) else {
            return;
        };
        if let Some(gone) = slot.part_mut(part).take() {
            self.bytes -= gone.file.body.len() as u64;
        }
        if slot.content.is_none() && slot.metadata.is_none() {
            versions.remove(version);
            if versions.is_empty() {
                self.releases.remove(name);
            }
        }
    }

    /// Evict the least recently used file (a scan: evictions are rare next to hits);
    /// `false` if there is none.
    fn evict_oldest(&mut self) -> bool {
        let mut oldest: Option<(u64, Name, Version, Part)> = None;
        for (name, versions) in &self.releases {
            for (version, slot) in versions {
                for part in [Part::Content, Part::Metadata] {
                    if let Some(entry) = slot.part(part) {
                        let used = entry.used.load(Ordering::Relaxed);
                        if oldest.as_ref().is_none_or(|(t, ..)| used < *t) {
                            oldest = Some((used, name.clone(), version.clone(), part));
                        }
                    }
                }
            }
        }
        match oldest {
            Some((_, name, version, part)) => {
                self.remove(&name, &version, part);
                true
            }
            None => false,
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
        let inner = cache.inner.read().unwrap();
        assert_eq!(inner.bytes, 40);
        assert_eq!(inner.releases[&n].len(), 1);
    }
}
