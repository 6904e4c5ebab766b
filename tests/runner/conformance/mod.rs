//! One conformance suite for the storage interface: named cases, each run on a fresh
//! store, for every kind of store. A new store joins with one line:
//! `conformance_suite!(its_name, Fixture::its_constructor());`.

mod cases;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pulse::store::{GitStore, MemoryStore, Store};

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

/// Every case of the suite, as one test each, for the store `$make` builds.
macro_rules! conformance_suite {
    ($module:ident, $make:expr) => {
        mod $module {
            #[allow(unused_imports)]
            use super::{Fixture, cases};

            fn run(case: fn(&dyn pulse::store::Store)) {
                let fixture: Fixture = $make;
                case(fixture.store.as_ref());
                fixture.finish();
            }

            #[test]
            fn put_then_fetch_is_byte_exact() {
                run(cases::put_then_fetch_is_byte_exact)
            }
            #[test]
            fn a_missing_release_is_not_found() {
                run(cases::a_missing_release_is_not_found)
            }
            #[test]
            fn put_is_create_only() {
                run(cases::put_is_create_only)
            }
            #[test]
            fn versions_are_in_semver_order() {
                run(cases::versions_are_in_semver_order)
            }
            #[test]
            fn selectors_resolve() {
                run(cases::selectors_resolve)
            }
            #[test]
            fn list_matches_whole_segments() {
                run(cases::list_matches_whole_segments)
            }
            #[test]
            fn release_metadata_travels_whole() {
                run(cases::release_metadata_travels_whole)
            }
            #[test]
            fn prompt_metadata_changes_without_touching_releases() {
                run(cases::prompt_metadata_changes_without_touching_releases)
            }
            #[test]
            fn labels_move_and_guard_deletion() {
                run(cases::labels_move_and_guard_deletion)
            }
            #[test]
            fn labels_move_by_compare_and_swap() {
                run(cases::labels_move_by_compare_and_swap)
            }
            #[test]
            fn delete_removes_one_release() {
                run(cases::delete_removes_one_release)
            }
            #[test]
            fn summaries_and_verify() {
                run(cases::summaries_and_verify)
            }
            #[test]
            fn concurrent_create_only_writes_have_one_winner() {
                run(cases::concurrent_create_only_writes_have_one_winner)
            }
            #[test]
            fn concurrent_writes_of_different_versions_all_land() {
                run(cases::concurrent_writes_of_different_versions_all_land)
            }
            #[test]
            fn concurrent_label_moves_lose_none() {
                run(cases::concurrent_label_moves_lose_none)
            }
        }
    };
}

conformance_suite!(memory, Fixture::memory());
conformance_suite!(git, Fixture::git());
conformance_suite!(git_bare, Fixture::git_bare());
