//! Stores for tests: a fresh store of each kind, with what keeps it alive and what must
//! hold after a test (a git repository passes `git fsck`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pulse::store::{DirBackend, DirStore, GitStore, MemoryStore, Store};

/// A fresh store for one case, with whatever keeps it alive (a temp dir) and what to
/// check after the case (a git repository must pass `git fsck`).
pub struct Fixture {
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    fsck: Option<PathBuf>,
}

impl Fixture {
    pub fn memory() -> Fixture {
        Fixture {
            store: Arc::new(MemoryStore::new("Ada Tester <ada@example.com>")),
            _dir: None,
            fsck: None,
        }
    }

    pub fn git() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = git_repo(dir.path(), false);
        Fixture {
            store: Arc::new(GitStore::open(&path, None).unwrap()),
            _dir: Some(dir),
            fsck: Some(path),
        }
    }

    pub fn git_bare() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = git_repo(dir.path(), true);
        Fixture {
            store: Arc::new(GitStore::open(&path, Some("prompts".into())).unwrap()),
            _dir: Some(dir),
            fsck: Some(path),
        }
    }

    /// A directory store in a fresh temporary directory (created by its first write).
    pub fn dir() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        Fixture {
            store: Arc::new(DirStore::new(
                DirBackend::new(root),
                "Ada Tester <ada@example.com>",
            )),
            _dir: Some(dir),
            fsck: None,
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
