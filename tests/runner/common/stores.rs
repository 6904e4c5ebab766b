//! Stores for tests: a fresh store of each kind, with what keeps it alive and what must
//! hold after a test (a git repository passes `git fsck`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::collections::BTreeMap;
use std::sync::Mutex;

use pulse::name::{Label, Name};
use pulse::store::backend::{Backend, Swapped};
use pulse::store::cache::{CacheMode, CacheOptions};
use pulse::store::s3::S3Backend;
use pulse::store::{DirBackend, DirStore, GitStore, LayoutStore, MemoryStore, Store};
use pulse::version::Version;

use crate::common::Env;
use crate::common::registry::Registry;
use crate::common::s3::{Kind, S3Server};

/// A fresh store for one case, with whatever keeps it alive (a temp dir) and what to
/// check after the case (a git repository must pass `git fsck`).
pub struct Fixture {
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    fsck: Option<PathBuf>,
    /// Change a release's stored content behind the store's back (`name`, `version`), if
    /// this kind of store can be tampered with from outside.
    pub corrupt: Option<Tamper>,
    /// Make the store unreachable (stop its server), if it has one.
    pub make_unavailable: Option<Box<dyn Fn() + Send + Sync>>,
    /// Whether its create-only and compare-and-swap writes are atomic against
    /// concurrent writers (a server that checks, then writes in a second step, is not).
    pub atomic: bool,
    /// The S3 server the store lives on.
    _server: Option<Arc<Mutex<Option<S3Server>>>>,
    /// The static web server the store is published by.
    _static: Option<Arc<Mutex<Option<StaticServer>>>>,
    /// The registry the store is served by, and the environment it runs in.
    _registry: Option<(Arc<Mutex<Option<Registry>>>, Env)>,
}

/// An age key pair made by `age-keygen` (the real tool) in `dir`: the identity file and
/// the public key.
pub fn age_key(dir: &Path, file: &str) -> (PathBuf, String) {
    let path = dir.join(file);
    let out = std::process::Command::new("age-keygen")
        .arg("-o")
        .arg(&path)
        .output()
        .expect("age-keygen runs (scripts/test-tools.sh installs Debian's age)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .unwrap();
    (path, public)
}

/// The age keys of a store that encrypts to a fresh key made in `dir` and decrypts with it,
/// as `storage_config` names them.
pub fn age_keys(dir: &Path) -> Arc<pulse::crypt::Keys> {
    let (identity, public) = age_key(dir, "age-key.txt");
    let mut config = BTreeMap::new();
    config.insert("age_recipients".to_owned(), public);
    config.insert(
        "age_identity".to_owned(),
        identity.to_str().unwrap().to_owned(),
    );
    Arc::new(pulse::crypt::Keys::from_config(&config).unwrap())
}

/// Changes a release's stored content (`name`, `version`) behind the store's back.
pub type Tamper = Box<dyn Fn(&str, &str) + Send + Sync>;

/// What a kind of store can and cannot be put through, declared per fixture: a case that
/// needs a capability the store lacks says so rather than passing silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Its stored content can be changed from outside (a file, an object, a git tag).
    Corrupt,
    /// It can become unreachable (it is behind a network server).
    Unavailable,
    /// Its conditional writes are atomic, so the concurrent cases hold.
    Atomic,
}

impl Fixture {
    /// Whether this store can be put through `capability`; the suite's declarations.
    pub fn can(&self, capability: Capability) -> bool {
        match capability {
            Capability::Corrupt => self.corrupt.is_some(),
            Capability::Unavailable => self.make_unavailable.is_some(),
            Capability::Atomic => self.atomic,
        }
    }
}

impl Fixture {
    pub fn memory() -> Fixture {
        Fixture {
            store: Arc::new(MemoryStore::new("Ada Tester <ada@example.com>")),
            _dir: None,
            fsck: None,
            corrupt: None,
            make_unavailable: None,
            atomic: true,
            _server: None,
            _static: None,
            _registry: None,
        }
    }

    pub fn git() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = git_repo(dir.path(), false);
        Fixture {
            store: Arc::new(GitStore::open(&path, None).unwrap()),
            _dir: Some(dir),
            corrupt: Some(corrupt_git_tag(path.clone())),
            fsck: Some(path),
            make_unavailable: None,
            atomic: true,
            _server: None,
            _static: None,
            _registry: None,
        }
    }

    pub fn git_bare() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = git_repo(dir.path(), true);
        Fixture {
            store: Arc::new(GitStore::open(&path, Some("prompts".into())).unwrap()),
            _dir: Some(dir),
            corrupt: Some(corrupt_git_tag(path.clone())),
            fsck: Some(path),
            make_unavailable: None,
            atomic: true,
            _server: None,
            _static: None,
            _registry: None,
        }
    }

    /// A directory store in a fresh temporary directory (created by its first write).
    pub fn dir() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let root_for_corrupt = root.clone();
        Fixture {
            store: Arc::new(DirStore::new(
                DirBackend::new(root),
                "Ada Tester <ada@example.com>",
            )),
            _dir: Some(dir),
            fsck: None,
            corrupt: Some(Box::new(move |name: &str, version: &str| {
                let file = root_for_corrupt.join(name).join(version).join("content.md");
                std::fs::write(file, b"tampered behind the store's back").unwrap();
            })),
            make_unavailable: None,
            atomic: true,
            _server: None,
            _static: None,
            _registry: None,
        }
    }

    /// [`Fixture::dir`] with content encrypted with age (a key made by age-keygen).
    pub fn dir_encrypted() -> Fixture {
        let mut fixture = Self::dir();
        let dir = fixture._dir.as_ref().unwrap().path().to_owned();
        let root = dir.join("store");
        fixture.store = Arc::new(
            DirStore::new(DirBackend::new(root), "Ada Tester <ada@example.com>")
                .with_keys(age_keys(&dir)),
        );
        fixture
    }

    /// An S3 store on a fresh S3-compatible server of `kind` (its own bucket, under a
    /// prefix), reached with explicit settings, as `storage_config` gives them.
    pub fn s3(kind: Kind) -> Fixture {
        Self::s3_with(kind, None, None)
    }

    /// [`Fixture::s3`] with content encrypted with age.
    pub fn s3_encrypted(kind: Kind) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut fixture = Self::s3_with(kind, None, Some(age_keys(dir.path())));
        fixture._dir = Some(dir);
        fixture
    }

    /// [`Fixture::s3`] through the on-disk cache (in a temp dir, default TTL): its
    /// compare-and-swaps hold although it answers labels and indexes from the cache.
    pub fn s3_cached(kind: Kind) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut fixture = Self::s3_with(kind, Some(dir.path().join("cache")), None);
        fixture._dir = Some(dir);
        fixture.make_unavailable = None;
        fixture
    }

    fn s3_with(
        kind: Kind,
        cache: Option<PathBuf>,
        keys: Option<Arc<pulse::crypt::Keys>>,
    ) -> Fixture {
        let server = S3Server::start(kind);
        server.create_bucket("conformance");
        let config = s3_config(&server, kind == Kind::Moto);
        let address = "s3://conformance/suite".to_owned();
        let backend = pulse::store::cache::CachedBackend::new(
            S3Backend::open(&address, &config).unwrap(),
            &address,
            cache.clone().unwrap_or_default(),
            CacheOptions {
                mode: match cache {
                    Some(_) => CacheMode::Normal,
                    None => CacheMode::Off,
                },
                root: cache,
                ..CacheOptions::default()
            },
        );
        let tamper_backend = S3Backend::open(&address, &config).unwrap();
        let server = Arc::new(Mutex::new(Some(server)));
        let keep = Arc::clone(&server);
        Fixture {
            store: Arc::new(
                LayoutStore::new(backend, "Ada Tester <ada@example.com>")
                    .with_keys(keys.unwrap_or_default()),
            ),
            _dir: None,
            fsck: None,
            corrupt: Some(Box::new(move |name: &str, version: &str| {
                let key = format!("{name}/{version}/content.md");
                let now = tamper_backend.get(&key, 1 << 30).unwrap().unwrap();
                let swapped = tamper_backend
                    .put_swap(
                        &key,
                        "tampered behind the store's back".into(),
                        Some(&now.etag),
                    )
                    .unwrap();
                assert_eq!(swapped, Swapped::Done);
            })),
            make_unavailable: Some(Box::new(move || {
                drop(keep.lock().unwrap().take());
            })),
            // s3s-fs checks a condition and writes in a second step (docs/stores.md).
            atomic: kind == Kind::Moto,
            _server: Some(server),
            _static: None,
            _registry: None,
        }
    }

    /// A directory store published by a static web server (python's `http.server`), read
    /// through the HTTP store: every read goes over HTTP, as a program reading an export
    /// on a web server reads it; writes go to the directory being served (a static server
    /// takes none).
    pub fn static_export() -> Fixture {
        Self::static_export_with(|_| CacheOptions {
            mode: CacheMode::Off,
            ..CacheOptions::default()
        })
    }

    /// [`Fixture::static_export`] read through the on-disk cache (in the fixture's temp
    /// dir), revalidating every moving file (TTL 0): the cache is a store too, and keeps
    /// every promise the store does.
    pub fn static_export_cached() -> Fixture {
        Self::static_export_with(|dir| CacheOptions {
            mode: CacheMode::Normal,
            ttl: std::time::Duration::ZERO,
            root: Some(dir.join("cache")),
            ..CacheOptions::default()
        })
    }

    fn static_export_with(cache: impl Fn(&Path) -> CacheOptions) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path());
        let root = dir.path().join("store");
        std::fs::create_dir_all(&root).unwrap();
        let server = StaticServer::start(&root);
        let reader = pulse::store::http::HttpStore::open(
            &server.url(),
            &BTreeMap::new(),
            "Ada Tester <ada@example.com>",
            cache,
            Arc::default(),
        )
        .unwrap();
        let writer = DirStore::new(
            DirBackend::new(root.clone()),
            "Ada Tester <ada@example.com>",
        );
        let server = Arc::new(Mutex::new(Some(server)));
        Fixture {
            store: Arc::new(Published { reader, writer }),
            _dir: Some(dir),
            fsck: None,
            corrupt: Some(Box::new(move |name: &str, version: &str| {
                let file = root.join(name).join(version).join("content.md");
                std::fs::write(file, b"tampered behind the store's back").unwrap();
            })),
            // Its writes go to the directory, which cannot become unreachable: the
            // registry fixture covers an HTTP store that does.
            make_unavailable: None,
            atomic: true,
            _static: Some(server),
            _server: None,
            _registry: None,
        }
    }

    /// A registry (`pulse serve`, a real process on 127.0.0.1) over a directory store,
    /// written and read through the HTTP store with an admin token.
    pub fn registry_dir() -> Fixture {
        Self::registry_over_dir(false)
    }

    /// [`Fixture::registry_dir`] with content encrypted with age by the client: the
    /// registry holds no key, keeps what it is sent and passes it on.
    pub fn registry_dir_encrypted() -> Fixture {
        Self::registry_over_dir(true)
    }

    fn registry_over_dir(encrypted: bool) -> Fixture {
        let env = Env::empty();
        let token = Registry::token(&env, "conformance", "admin", None);
        let root = env.path("store");
        // The suite's largest release is 64 MiB: above the default body limit.
        let registry = Registry::start(&env, root.to_str().unwrap(), &["--max-body", "128MiB"]);
        let corrupt: Tamper = Box::new(move |name: &str, version: &str| {
            let file = root.join(name).join(version).join("content.md");
            std::fs::write(file, b"tampered behind the store's back").unwrap();
        });
        let keys = encrypted.then(|| age_keys(env.root.path()));
        Self::registry(env, registry, token, None, corrupt, keys)
    }

    /// A registry over an S3 store on moto (whose conditional writes are atomic).
    pub fn registry_s3() -> Fixture {
        let server = S3Server::start(Kind::Moto);
        server.create_bucket("conformance");
        let env = Env::empty();
        let token = Registry::token(&env, "conformance", "admin", None);
        env.user_config("storage_config:\n  atomic_conditional_writes: \"true\"\n");
        let address = "s3://conformance/suite";
        let registry =
            Registry::start_with(&env, address, &["--max-body", "128MiB"], &server.env());
        let tamper_backend = S3Backend::open(address, &s3_config(&server, true)).unwrap();
        let corrupt: Tamper = Box::new(move |name: &str, version: &str| {
            let key = format!("{name}/{version}/content.md");
            let now = tamper_backend.get(&key, 1 << 30).unwrap().unwrap();
            let swapped = tamper_backend
                .put_swap(
                    &key,
                    "tampered behind the store's back".into(),
                    Some(&now.etag),
                )
                .unwrap();
            assert_eq!(swapped, Swapped::Done);
        });
        Self::registry(env, registry, token, Some(server), corrupt, None)
    }

    fn registry(
        env: Env,
        registry: Registry,
        token: String,
        s3: Option<S3Server>,
        corrupt: Tamper,
        keys: Option<Arc<pulse::crypt::Keys>>,
    ) -> Fixture {
        let mut config = BTreeMap::new();
        config.insert("token".to_owned(), token);
        let store = pulse::store::http::HttpStore::open(
            registry.url(),
            &config,
            "Ada Tester <ada@example.com>",
            CacheOptions {
                mode: CacheMode::Off,
                ..CacheOptions::default()
            },
            keys.unwrap_or_default(),
        )
        .unwrap();
        let registry = Arc::new(Mutex::new(Some(registry)));
        let keep = Arc::clone(&registry);
        Fixture {
            store: Arc::new(store),
            _dir: None,
            fsck: None,
            corrupt: Some(corrupt),
            make_unavailable: Some(Box::new(move || {
                drop(keep.lock().unwrap().take());
            })),
            atomic: true,
            _server: s3.map(|s| Arc::new(Mutex::new(Some(s)))),
            _static: None,
            _registry: Some((registry, env)),
        }
    }

    /// Checks that hold after every case.
    pub fn finish(self) {
        if let Some(path) = &self.fsck {
            let fsck = std::process::Command::new("git")
                .args(["fsck", "--strict", "--no-dangling"])
                .current_dir(path)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .output()
                .unwrap();
            assert!(
                fsck.status.success(),
                "git fsck: {}",
                String::from_utf8_lossy(&fsck.stderr)
            );
        }
    }
}

/// A prompt repository with a git identity, ready for a `GitStore`.
fn git_repo(dir: &Path, bare: bool) -> PathBuf {
    let path = dir.join(if bare { "bare.git" } else { "repo" });
    pulse::PromptRepo::init(&path, bare).unwrap();
    for (k, val) in [
        ("user.name", "Ada Tester"),
        ("user.email", "ada@example.com"),
    ] {
        let ok = std::process::Command::new("git")
            .args(["config", k, val])
            .current_dir(&path)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .unwrap();
        assert!(ok.success());
    }
    pulse::PromptRepo::open(&path)
        .unwrap()
        .initialize(None)
        .unwrap();
    path
}

/// Re-make the release tag `name@version` in the repository at `path` with the checksum
/// of other content in its trailers (and no recorded blob), as a tampered tag would be.
fn corrupt_git_tag(path: PathBuf) -> Tamper {
    Box::new(move |name: &str, version: &str| {
        let tag = format!("{name}@{version}");
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .args(args)
                .current_dir(&path)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let message: String = git(&["tag", "-l", "--format=%(contents)", &tag])
            .lines()
            .filter(|l| !l.starts_with("Pulse-Blob:"))
            .map(|l| {
                if l.starts_with("Pulse-Checksum:") {
                    format!("Pulse-Checksum: sha256:{}\n", "0".repeat(64))
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        let commit = git(&["rev-parse", &format!("{tag}^{{commit}}")]);
        let msg_file = path.join("..").join("tampered-message");
        std::fs::write(&msg_file, message).unwrap();
        git(&[
            "tag",
            "-f",
            "-a",
            &tag,
            commit.trim(),
            "-F",
            msg_file.to_str().unwrap(),
        ]);
    })
}

/// `storage_config` for an S3 store on `server`: endpoint, region and the test
/// credentials, given explicitly (nothing comes from the environment).
pub fn s3_config(server: &S3Server, atomic: bool) -> BTreeMap<String, String> {
    let mut config = BTreeMap::new();
    config.insert("endpoint".to_owned(), server.endpoint());
    config.insert("region".to_owned(), server.region().to_owned());
    config.insert("access_key_id".to_owned(), server.access_key().to_owned());
    config.insert(
        "secret_access_key".to_owned(),
        server.secret_key().to_owned(),
    );
    if atomic {
        config.insert("atomic_conditional_writes".to_owned(), "true".to_owned());
    }
    config
}

/// python's `http.server` serving a directory on 127.0.0.1 (stopped when dropped).
pub struct StaticServer {
    child: std::process::Child,
    port: u16,
}

impl StaticServer {
    pub fn start(root: &Path) -> StaticServer {
        let (child, port) = python_server(&[
            "-m".as_ref(),
            "http.server".as_ref(),
            "0".as_ref(),
            "--bind".as_ref(),
            "127.0.0.1".as_ref(),
            "-d".as_ref(),
            root.as_os_str(),
        ]);
        StaticServer { child, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

/// Start a python web server (`python3 -u ARGS…`) that says on its first line of output
/// which port it listens on ("… port 40123 …"): the child and the port.
pub fn python_server(args: &[&std::ffi::OsStr]) -> (std::process::Child, u16) {
    use std::io::BufRead;
    let mut child = std::process::Command::new("python3")
        .arg("-u")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .split_whitespace()
        .skip_while(|w| *w != "port")
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the server said: {line}"));
    (child, port)
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A store published as files: written as a directory store, read back over HTTP from a
/// static web server serving that directory.
struct Published {
    reader: pulse::store::http::HttpStore,
    writer: DirStore,
}

impl Store for Published {
    fn describe(&self) -> String {
        self.reader.describe()
    }
    fn put(&self, release: &pulse::store::NewRelease) -> pulse::Result<pulse::store::Stored> {
        self.writer.put(release)
    }
    fn read(&self, name: &Name, version: &Version) -> pulse::Result<pulse::store::Unverified> {
        self.reader.read(name, version)
    }
    fn read_release(
        &self,
        name: &Name,
        version: &Version,
    ) -> pulse::Result<(pulse::meta::ReleaseMeta, pulse::store::Unverified)> {
        self.reader.read_release(name, version)
    }
    fn read_into(
        &self,
        name: &Name,
        version: &Version,
        out: &mut dyn std::io::Write,
    ) -> pulse::Result<pulse::store::Recorded> {
        self.reader.read_into(name, version, out)
    }
    fn list(&self, prefix: &pulse::name::NamePrefix) -> pulse::Result<Vec<Name>> {
        self.reader.list(prefix)
    }
    fn delete(&self, name: &Name, version: &Version) -> pulse::Result<()> {
        self.writer.delete(name, version)
    }
    fn versions(&self, name: &Name) -> pulse::Result<Vec<Version>> {
        self.reader.versions(name)
    }
    fn metadata(&self, name: &Name, version: &Version) -> pulse::Result<pulse::meta::ReleaseMeta> {
        self.reader.metadata(name, version)
    }
    fn prompt_metadata(&self, name: &Name) -> pulse::Result<pulse::meta::PromptMeta> {
        self.reader.prompt_metadata(name)
    }
    fn update_metadata(
        &self,
        name: &Name,
        update: &pulse::meta::MetadataUpdate,
    ) -> pulse::Result<pulse::meta::PromptMeta> {
        self.writer.update_metadata(name, update)
    }
    fn labels(&self, name: &Name) -> pulse::Result<BTreeMap<Label, Version>> {
        self.reader.labels(name)
    }
    fn set_label(
        &self,
        name: &Name,
        label: &Label,
        expect: &pulse::store::Expect,
        target: Option<&Version>,
    ) -> pulse::Result<Option<Version>> {
        self.writer.set_label(name, label, expect, target)
    }
    fn checksums(&self, name: &Name) -> pulse::Result<BTreeMap<Version, pulse::digest::Digest>> {
        self.reader.checksums(name)
    }
    fn states(&self, names: &[Name], jobs: usize) -> pulse::Result<Vec<pulse::store::PromptState>> {
        self.reader.states(names, jobs)
    }
    fn summaries(
        &self,
        prefix: &pulse::name::NamePrefix,
    ) -> pulse::Result<Vec<pulse::store::PromptSummary>> {
        self.reader.summaries(prefix)
    }
}
