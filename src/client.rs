//! A client for programs that read a prompt on every request: [`Client::get`] resolves a
//! selector and returns the release's verified bytes, keeping both in memory under the
//! rules of the on-disk cache, so a warm read costs a hash lookup, not a store request.
//!
//! - An exact release never changes: its bytes are kept until the byte budget evicts
//!   them (least recently used first).
//! - What a label, `latest` or a range resolves to is kept for the TTL, then asked again.
//! - When the store cannot be reached, an expired answer is used, with a warning in the
//!   log; a store that says a prompt, label or release is not there is believed, and the
//!   old answer is dropped.
//!
//! ```no_run
//! use pulse::client::Client;
//!
//! let prompts = Client::open("https://prompts.example.com", &Default::default())?;
//! let system = prompts.get("support/agent@production")?;
//! println!("{} bytes of support/agent@{}", system.content.len(), system.version);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::{Kind, Result};
use crate::name::Name;
use crate::selector::Selector;
use crate::store::{OpenOptions, Store, StoreExt};
use crate::version::Version;

/// One release as the client hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The version the selector resolved to.
    pub version: Version,
    /// Its bytes, checked against its checksum when they were read from the store.
    pub content: Arc<[u8]>,
}

/// A store with an in-process cache in front of it. Cheap to share between threads.
pub struct Client {
    store: Arc<dyn Store>,
    ttl: Duration,
    max_bytes: usize,
    state: Mutex<State>,
}

/// A release's bytes, with when they were last used (the client's use counter).
type Kept = (Arc<[u8]>, u64);

#[derive(Default)]
struct State {
    /// Exact releases' bytes.
    contents: HashMap<(Name, Version), Kept>,
    bytes: usize,
    /// What each `name@selector` resolved to, and when.
    resolved: HashMap<(Name, String), (Version, Instant)>,
    /// A use counter: the order of use, for eviction.
    clock: u64,
}

impl Client {
    /// A client for the store at `address` (any store address), with the TTL and byte
    /// budget `options.cache` gives (its TTL, and its size bound for the bytes kept).
    pub fn open(address: &str, options: &OpenOptions) -> Result<Client> {
        let store = crate::store::open(address, options)?;
        Ok(Client::new(
            store,
            options.cache.ttl,
            usize::try_from(options.cache.max_bytes).unwrap_or(usize::MAX),
        ))
    }

    /// A client over `store`: resolutions kept for `ttl`, at most `max_bytes` of content.
    pub fn new(store: Arc<dyn Store>, ttl: Duration, max_bytes: usize) -> Client {
        Client {
            store,
            ttl,
            max_bytes,
            state: Mutex::new(State::default()),
        }
    }

    /// The store behind the client.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `NAME[@SELECTOR]` (default `latest`): its version and verified bytes.
    pub fn get(&self, spec: &str) -> Result<Release> {
        let (name, selector) = match spec.split_once('@') {
            Some((n, s)) => (Name::parse(n)?, Selector::parse(s)?),
            None => (Name::parse(spec)?, Selector::Latest),
        };
        self.get_release(&name, &selector)
    }

    /// `name@selector`: its version and verified bytes.
    pub fn get_release(&self, name: &Name, selector: &Selector) -> Result<Release> {
        let version = self.resolve(name, selector)?;
        let content = self.content(name, &version)?;
        Ok(Release { version, content })
    }

    /// The version `selector` names: an exact one as it is, any other as the store
    /// answered within the TTL.
    pub fn resolve(&self, name: &Name, selector: &Selector) -> Result<Version> {
        if let Selector::Exact(v) = selector {
            return Ok(v.clone());
        }
        let key = (name.clone(), selector.to_string());
        let known = self.state().resolved.get(&key).cloned();
        if let Some((version, at)) = &known
            && at.elapsed() < self.ttl
        {
            return Ok(version.clone());
        }
        match self.store.resolve(name, selector) {
            Ok(version) => {
                self.state()
                    .resolved
                    .insert(key, (version.clone(), Instant::now()));
                Ok(version)
            }
            Err(e) if e.kind() == Kind::Unavailable && known.is_some() => {
                let Some((version, at)) = known else {
                    return Err(e);
                };
                log::warn!(
                    "{} cannot be reached ({}); using what '{name}@{selector}' was {} s ago",
                    self.store.describe(),
                    e.message(),
                    at.elapsed().as_secs()
                );
                Ok(version)
            }
            Err(e) => {
                if e.kind() == Kind::NotFound {
                    self.state().resolved.remove(&key);
                }
                Err(e)
            }
        }
    }

    /// The verified bytes of `name@version`.
    pub fn content(&self, name: &Name, version: &Version) -> Result<Arc<[u8]>> {
        let key = (name.clone(), version.clone());
        {
            let mut state = self.state();
            state.clock += 1;
            let now = state.clock;
            if let Some((content, used)) = state.contents.get_mut(&key) {
                *used = now;
                return Ok(Arc::clone(content));
            }
        }
        let content: Arc<[u8]> = self.store.fetch(name, version)?.into();
        let mut state = self.state();
        if content.len() <= self.max_bytes && !state.contents.contains_key(&key) {
            state.clock += 1;
            let now = state.clock;
            state.bytes += content.len();
            state.contents.insert(key, (Arc::clone(&content), now));
            while state.bytes > self.max_bytes {
                let Some(oldest) = state
                    .contents
                    .iter()
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                if let Some((gone, _)) = state.contents.remove(&oldest) {
                    state.bytes -= gone.len();
                }
            }
        }
        Ok(content)
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("store", &self.store.describe())
            .field("ttl", &self.ttl)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;
    use crate::error::Error;
    use crate::meta::{MetadataUpdate, PromptMeta, ReleaseMeta};
    use crate::name::{Label, NamePrefix};
    use crate::store::{Expect, MemoryStore, NewRelease, Stored, Unverified};

    /// A memory store that counts reads and can be made unreachable.
    struct Flaky {
        inner: MemoryStore,
        down: AtomicBool,
        reads: AtomicUsize,
    }

    impl Flaky {
        fn check(&self) -> Result<()> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            match self.down.load(Ordering::SeqCst) {
                true => Err(Error::unavailable("the store is down")),
                false => Ok(()),
            }
        }
    }

    impl Store for Flaky {
        fn describe(&self) -> String {
            "a flaky store".into()
        }
        fn put(&self, r: &NewRelease) -> Result<Stored> {
            self.inner.put(r)
        }
        fn read(&self, n: &Name, v: &Version) -> Result<Unverified> {
            self.check()?;
            self.inner.read(n, v)
        }
        fn list(&self, p: &NamePrefix) -> Result<Vec<Name>> {
            self.check()?;
            self.inner.list(p)
        }
        fn delete(&self, n: &Name, v: &Version) -> Result<()> {
            self.inner.delete(n, v)
        }
        fn versions(&self, n: &Name) -> Result<Vec<Version>> {
            self.check()?;
            self.inner.versions(n)
        }
        fn metadata(&self, n: &Name, v: &Version) -> Result<ReleaseMeta> {
            self.check()?;
            self.inner.metadata(n, v)
        }
        fn prompt_metadata(&self, n: &Name) -> Result<PromptMeta> {
            self.check()?;
            self.inner.prompt_metadata(n)
        }
        fn update_metadata(&self, n: &Name, u: &MetadataUpdate) -> Result<PromptMeta> {
            self.inner.update_metadata(n, u)
        }
        fn labels(&self, n: &Name) -> Result<BTreeMap<Label, Version>> {
            self.check()?;
            self.inner.labels(n)
        }
        fn set_label(
            &self,
            n: &Name,
            l: &Label,
            e: &Expect,
            t: Option<&Version>,
        ) -> Result<Option<Version>> {
            self.inner.set_label(n, l, e, t)
        }
    }

    fn client(ttl: Duration, max_bytes: usize) -> (Client, Arc<Flaky>) {
        let store = Arc::new(Flaky {
            inner: MemoryStore::new("Ada <ada@example.com>"),
            down: AtomicBool::new(false),
            reads: AtomicUsize::new(0),
        });
        let n = Name::parse("p").unwrap();
        for (v, c) in [("1.0.0", "one"), ("1.1.0", "eleven")] {
            store
                .put(&NewRelease::new(n.clone(), Version::parse(v).unwrap(), c))
                .unwrap();
        }
        let prod = Label::parse("production").unwrap();
        store
            .set_label(
                &n,
                &prod,
                &Expect::Any,
                Some(&Version::parse("1.0.0").unwrap()),
            )
            .unwrap();
        (
            Client::new(Arc::clone(&store) as Arc<dyn Store>, ttl, max_bytes),
            store,
        )
    }

    #[test]
    fn warm_reads_do_not_reach_the_store() {
        let (client, store) = client(Duration::from_secs(60), 1 << 20);
        assert_eq!(&*client.get("p@production").unwrap().content, b"one");
        let reads = store.reads.load(Ordering::SeqCst);
        for _ in 0..100 {
            assert_eq!(&*client.get("p@production").unwrap().content, b"one");
            assert_eq!(&*client.get("p@1.0.0").unwrap().content, b"one");
        }
        assert_eq!(store.reads.load(Ordering::SeqCst), reads);
        // Down: still answered, from memory.
        store.down.store(true, Ordering::SeqCst);
        assert_eq!(
            client.get("p@production").unwrap().version.to_string(),
            "1.0.0"
        );
        // What it never saw, it cannot answer.
        assert_eq!(client.get("p").unwrap_err().kind(), Kind::Unavailable);
    }

    #[test]
    fn expired_answers_are_asked_again_used_when_down_and_dropped_when_gone() {
        let (client, store) = client(Duration::ZERO, 1 << 20);
        let n = Name::parse("p").unwrap();
        let prod = Label::parse("production").unwrap();
        assert_eq!(
            client.get("p@production").unwrap().version.to_string(),
            "1.0.0"
        );
        store
            .set_label(
                &n,
                &prod,
                &Expect::Any,
                Some(&Version::parse("1.1.0").unwrap()),
            )
            .unwrap();
        assert_eq!(&*client.get("p@production").unwrap().content, b"eleven");
        store.down.store(true, Ordering::SeqCst);
        assert_eq!(&*client.get("p@production").unwrap().content, b"eleven");
        store.down.store(false, Ordering::SeqCst);
        store.set_label(&n, &prod, &Expect::Any, None).unwrap();
        assert_eq!(
            client.get("p@production").unwrap_err().kind(),
            Kind::NotFound
        );
        store.down.store(true, Ordering::SeqCst);
        assert_eq!(
            client.get("p@production").unwrap_err().kind(),
            Kind::Unavailable
        );
    }

    #[test]
    fn the_byte_budget_evicts_the_least_recently_used() {
        let (client, store) = client(Duration::from_secs(60), 8);
        client.get("p@1.1.0").unwrap(); // 6 bytes
        client.get("p@1.0.0").unwrap(); // 3 more: 1.1.0 goes
        let reads = store.reads.load(Ordering::SeqCst);
        client.get("p@1.0.0").unwrap();
        assert_eq!(store.reads.load(Ordering::SeqCst), reads);
        client.get("p@1.1.0").unwrap();
        assert!(store.reads.load(Ordering::SeqCst) > reads);
    }
}
