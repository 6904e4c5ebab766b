//! One conformance suite for the storage interface, run unchanged against every store.

use std::sync::Arc;

use pulse::store::{GitStore, MemoryStore, MetadataUpdate, NewRelease, Store, Stored};
use pulse::{Kind, Label, Name, Version};

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

fn release(name: &str, version: &str, content: &[u8]) -> NewRelease {
    NewRelease {
        name: n(name),
        version: v(version),
        content: content.to_vec(),
        description: None,
        tags: None,
        message: None,
    }
}

fn suite(store: Arc<dyn Store>) {
    // store / fetch / exists, byte-exact.
    let crlf = b"a\r\nb".to_vec();
    assert_eq!(
        store.store(&release("p", "1.0.0", &crlf)).unwrap(),
        Stored::Created
    );
    assert_eq!(store.fetch(&n("p"), &v("1.0.0")).unwrap(), crlf);
    assert!(store.exists(&n("p"), &v("1.0.0")).unwrap());
    assert!(!store.exists(&n("p"), &v("9.0.0")).unwrap());
    assert_eq!(
        store.fetch(&n("p"), &v("9.0.0")).unwrap_err().kind(),
        Kind::NotFound
    );
    // Create-only: identical is a no-op, different is a conflict.
    assert_eq!(
        store.store(&release("p", "1.0.0", &crlf)).unwrap(),
        Stored::Unchanged
    );
    assert_eq!(
        store
            .store(&release("p", "1.0.0", b"other"))
            .unwrap_err()
            .kind(),
        Kind::Conflict
    );
    assert_eq!(store.fetch(&n("p"), &v("1.0.0")).unwrap(), crlf);
    // Versions in SemVer order; latest skips pre-releases.
    for ver in ["1.10.0", "1.9.0", "2.0.0-rc.1"] {
        store.store(&release("p", ver, ver.as_bytes())).unwrap();
    }
    assert_eq!(
        store.versions(&n("p")).unwrap(),
        [v("1.0.0"), v("1.9.0"), v("1.10.0"), v("2.0.0-rc.1")]
    );
    assert_eq!(store.latest(&n("p")).unwrap(), Some(v("1.10.0")));
    assert_eq!(store.latest(&n("nobody")).unwrap(), None);
    assert!(store.versions(&n("nobody")).unwrap().is_empty());
    // list, with a prefix.
    store.store(&release("team/a", "0.1.0", b"")).unwrap();
    assert_eq!(store.list(None).unwrap(), [n("p"), n("team/a")]);
    assert_eq!(store.list(Some("team")).unwrap(), [n("team/a")]);
    // Metadata: per release, and per prompt (which changes without touching releases).
    let mut with_meta = release("m", "1.0.0", b"hello");
    with_meta.description = Some("first".into());
    with_meta.tags = Some(vec!["x".into()]);
    store.store(&with_meta).unwrap();
    let meta = store.metadata(&n("m"), &v("1.0.0")).unwrap();
    assert_eq!(meta.size, 5);
    assert_eq!(
        meta.sha256,
        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    assert_eq!(meta.description.as_deref(), Some("first"));
    assert_eq!(meta.tags, ["x"]);
    let updated = store
        .update_metadata(
            &n("m"),
            &MetadataUpdate {
                description: Some("second".into()),
                tags: None,
            },
        )
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("second"));
    assert_eq!(updated.tags, ["x"]);
    assert_eq!(
        store
            .prompt_metadata(&n("m"))
            .unwrap()
            .description
            .as_deref(),
        Some("second")
    );
    assert_eq!(
        store
            .metadata(&n("m"), &v("1.0.0"))
            .unwrap()
            .description
            .as_deref(),
        Some("first")
    );
    store.store(&release("m", "1.1.0", b"again")).unwrap();
    assert_eq!(
        store
            .metadata(&n("m"), &v("1.1.0"))
            .unwrap()
            .description
            .as_deref(),
        Some("second")
    );
    assert_eq!(
        store.metadata(&n("m"), &v("3.0.0")).unwrap_err().kind(),
        Kind::NotFound
    );
    // Labels: set, move, refuse unknown versions, guard deletion, remove.
    let prod = Label::parse("production").unwrap();
    assert_eq!(
        store.set_label(&n("p"), &prod, Some(&v("1.0.0"))).unwrap(),
        None
    );
    assert_eq!(
        store.set_label(&n("p"), &prod, Some(&v("1.9.0"))).unwrap(),
        Some(v("1.0.0"))
    );
    assert_eq!(store.labels(&n("p")).unwrap().get(&prod), Some(&v("1.9.0")));
    assert_eq!(
        store
            .set_label(&n("p"), &prod, Some(&v("7.0.0")))
            .unwrap_err()
            .kind(),
        Kind::NotFound
    );
    assert_eq!(
        store.delete(&n("p"), &v("1.9.0")).unwrap_err().kind(),
        Kind::Conflict
    );
    assert_eq!(
        store.set_label(&n("p"), &prod, None).unwrap(),
        Some(v("1.9.0"))
    );
    assert!(store.labels(&n("p")).unwrap().is_empty());
    // delete
    store.delete(&n("p"), &v("1.9.0")).unwrap();
    assert!(!store.exists(&n("p"), &v("1.9.0")).unwrap());
    assert_eq!(
        store.delete(&n("p"), &v("1.9.0")).unwrap_err().kind(),
        Kind::NotFound
    );
    // N concurrent create-only writes of one version: exactly one winner.
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                store.store(&release("race", "1.0.0", format!("writer {i}").as_bytes()))
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let winners = results
        .iter()
        .filter(|r| matches!(r, Ok(Stored::Created)))
        .count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.kind() == Kind::Conflict))
        .count();
    assert_eq!((winners, conflicts), (1, 7), "{results:?}");
    let content = store.fetch(&n("race"), &v("1.0.0")).unwrap();
    assert!(String::from_utf8(content).unwrap().starts_with("writer "));
    // N concurrent writes of different versions: all land.
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || store.store(&release("many", &format!("1.{i}.0"), b"x")))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().unwrap(), Stored::Created);
    }
    assert_eq!(store.versions(&n("many")).unwrap().len(), 8);
}

#[test]
fn memory_store_conforms() {
    suite(Arc::new(MemoryStore::new("Ada Tester <ada@example.com>")));
}

/// A prompt repository with a git identity, ready for a `GitStore`.
fn git_repo(dir: &std::path::Path, bare: bool) -> std::path::PathBuf {
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

#[test]
fn git_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let path = git_repo(dir.path(), false);
    suite(Arc::new(GitStore::new(&path, None)));
    let fsck = std::process::Command::new("git")
        .args(["fsck", "--strict", "--no-dangling"])
        .current_dir(&path)
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stderr)
    );
}

#[test]
fn git_store_on_a_bare_repository_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let path = git_repo(dir.path(), true);
    suite(Arc::new(GitStore::new(&path, Some("prompts".into()))));
}
