//! The cases of the conformance suite. Each takes a fresh, empty store and checks one
//! part of the contract that every store must keep.

use std::sync::Arc;

use pulse::meta::MetadataUpdate;
use pulse::store::{Expect, NewRelease, Store, StoreExt, Stored};

use crate::common::stores::{Capability, Fixture};
use pulse::{Kind, Label, Name, NamePrefix, Selector, Version};

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

fn l(s: &str) -> Label {
    Label::parse(s).unwrap()
}

fn release(name: &str, version: &str, content: &[u8]) -> NewRelease {
    NewRelease::new(n(name), v(version), content.to_vec())
}

fn put(store: &dyn Store, name: &str, version: &str, content: &[u8]) -> Stored {
    store.put(&release(name, version, content)).unwrap()
}

/// Run `f` on `threads` threads at once (released together by a barrier).
fn at_once<T: Send + 'static>(
    store: &dyn Store,
    threads: usize,
    f: impl Fn(&dyn Store, usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    // The suite hands out `&dyn Store`; share it across threads through a scope.
    let barrier = std::sync::Barrier::new(threads);
    let f = Arc::new(f);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let f = Arc::clone(&f);
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    f(store, i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

pub fn put_then_fetch_is_byte_exact(store: &dyn Store) {
    let cases: [&[u8]; 4] = [b"a\r\nb", b"", b"no newline", b"\xff\xfe not utf-8 \x00"];
    for (i, content) in cases.iter().enumerate() {
        let version = format!("1.{i}.0");
        assert_eq!(put(store, "p", &version, content), Stored::Created);
        assert_eq!(store.fetch(&n("p"), &v(&version)).unwrap(), *content);
        assert!(store.exists(&n("p"), &v(&version)).unwrap());
    }
}

pub fn a_missing_release_is_not_found(store: &dyn Store) {
    put(store, "p", "1.0.0", b"x");
    assert!(!store.exists(&n("p"), &v("9.0.0")).unwrap());
    for err in [
        store.fetch(&n("p"), &v("9.0.0")).unwrap_err(),
        store.metadata(&n("p"), &v("9.0.0")).unwrap_err(),
        store.fetch(&n("nobody"), &v("1.0.0")).unwrap_err(),
        store.resolve(&n("nobody"), &Selector::Latest).unwrap_err(),
    ] {
        assert_eq!(err.kind(), Kind::NotFound, "{err}");
        assert!(!err.is_retryable(), "{err}");
    }
    assert!(store.versions(&n("nobody")).unwrap().is_empty());
    assert_eq!(store.latest(&n("nobody")).unwrap(), None);
}

pub fn put_is_create_only(store: &dyn Store) {
    assert_eq!(put(store, "p", "1.0.0", b"first"), Stored::Created);
    assert_eq!(put(store, "p", "1.0.0", b"first"), Stored::Unchanged);
    let err = store.put(&release("p", "1.0.0", b"other")).unwrap_err();
    assert_eq!(err.kind(), Kind::Conflict, "{err}");
    assert_eq!(store.fetch(&n("p"), &v("1.0.0")).unwrap(), b"first");
}

pub fn versions_are_in_semver_order(store: &dyn Store) {
    for ver in ["1.10.0", "1.9.0", "2.0.0-rc.1", "1.0.0"] {
        put(store, "p", ver, ver.as_bytes());
    }
    assert_eq!(
        store.versions(&n("p")).unwrap(),
        [v("1.0.0"), v("1.9.0"), v("1.10.0"), v("2.0.0-rc.1")]
    );
    assert_eq!(store.latest(&n("p")).unwrap(), Some(v("1.10.0")));
}

pub fn selectors_resolve(store: &dyn Store) {
    for ver in ["1.0.0", "1.2.0", "2.0.0-rc.1"] {
        put(store, "p", ver, ver.as_bytes());
    }
    store
        .set_label(&n("p"), &l("production"), &Expect::Any, Some(&v("1.0.0")))
        .unwrap();
    let resolve = |sel: &str| store.resolve(&n("p"), &Selector::parse(sel).unwrap());
    assert_eq!(resolve("latest").unwrap(), v("1.2.0"));
    assert_eq!(resolve("^1").unwrap(), v("1.2.0"));
    assert_eq!(resolve("~1.0").unwrap(), v("1.0.0"));
    assert_eq!(resolve("^2.0.0-rc.0").unwrap(), v("2.0.0-rc.1"));
    assert_eq!(resolve("1.2.0").unwrap(), v("1.2.0"));
    assert_eq!(resolve("production").unwrap(), v("1.0.0"));
    assert_eq!(resolve("^3").unwrap_err().kind(), Kind::NotFound);
    assert_eq!(resolve("staging").unwrap_err().kind(), Kind::NotFound);
}

pub fn list_matches_whole_segments(store: &dyn Store) {
    for name in ["team/a", "teammate/b", "team", "other"] {
        put(store, name, "0.1.0", b"");
    }
    assert_eq!(
        store.list(&NamePrefix::all()).unwrap(),
        [n("other"), n("team"), n("team/a"), n("teammate/b")]
    );
    assert_eq!(
        store.list(&NamePrefix::parse("team/").unwrap()).unwrap(),
        [n("team"), n("team/a")]
    );
    assert_eq!(
        store.list(&NamePrefix::parse("team").unwrap()).unwrap(),
        [n("team"), n("team/a")]
    );
    assert!(
        store
            .list(&NamePrefix::parse("tea").unwrap())
            .unwrap()
            .is_empty()
    );
}

pub fn release_metadata_travels_whole(store: &dyn Store) {
    let mut r = release("m", "1.0.0", b"hello");
    r.description = Some("first".into());
    r.tags = Some(vec!["x".into(), "y".into()]);
    r.message = Some("Why it changed\n\nIn detail.".into());
    r.author = Some("Grace Hopper <grace@example.com>".into());
    r.created = Some("2020-05-06T07:08:09+02:00".into());
    store.put(&r).unwrap();
    let meta = store.metadata(&n("m"), &v("1.0.0")).unwrap();
    assert_eq!(meta.name, n("m"));
    assert_eq!(meta.version, v("1.0.0"));
    assert_eq!(meta.size, 5);
    assert_eq!(
        meta.sha256.to_string(),
        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    assert_eq!(meta.description.as_deref(), Some("first"));
    assert_eq!(meta.tags, ["x", "y"]);
    assert_eq!(meta.message, "Why it changed\n\nIn detail.");
    assert_eq!(meta.author, "Grace Hopper <grace@example.com>");
    assert_eq!(meta.created, "2020-05-06T07:08:09+02:00");
    // A copy made from that metadata is the same release, so putting it again is a no-op.
    let copy = NewRelease::copy_of(&meta, b"hello".to_vec());
    assert_eq!(store.put(&copy).unwrap(), Stored::Unchanged);
}

pub fn prompt_metadata_changes_without_touching_releases(store: &dyn Store) {
    let mut r = release("m", "1.0.0", b"hello");
    r.description = Some("first".into());
    r.tags = Some(vec!["x".into()]);
    store.put(&r).unwrap();
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
    let at_release = store.metadata(&n("m"), &v("1.0.0")).unwrap();
    assert_eq!(at_release.description.as_deref(), Some("first"));
    put(store, "m", "1.1.0", b"again");
    let next = store.metadata(&n("m"), &v("1.1.0")).unwrap();
    assert_eq!(next.description.as_deref(), Some("second"));
    assert_eq!(
        store.prompt_metadata(&n("nobody")).unwrap_err().kind(),
        Kind::NotFound
    );
}

pub fn labels_move_and_guard_deletion(store: &dyn Store) {
    put(store, "p", "1.0.0", b"1");
    put(store, "p", "1.1.0", b"2");
    let prod = l("production");
    let set = |t: Option<&str>| store.set_label(&n("p"), &prod, &Expect::Any, t.map(v).as_ref());
    assert_eq!(set(Some("1.0.0")).unwrap(), None);
    assert_eq!(set(Some("1.1.0")).unwrap(), Some(v("1.0.0")));
    assert_eq!(store.labels(&n("p")).unwrap().get(&prod), Some(&v("1.1.0")));
    assert_eq!(set(Some("7.0.0")).unwrap_err().kind(), Kind::NotFound);
    assert_eq!(
        store.delete(&n("p"), &v("1.1.0")).unwrap_err().kind(),
        Kind::Conflict
    );
    assert_eq!(set(None).unwrap(), Some(v("1.1.0")));
    assert!(store.labels(&n("p")).unwrap().is_empty());
    assert_eq!(set(None).unwrap_err().kind(), Kind::NotFound);
    assert!(store.labels(&n("nobody")).unwrap().is_empty());
}

pub fn labels_move_by_compare_and_swap(store: &dyn Store) {
    put(store, "p", "1.0.0", b"1");
    put(store, "p", "2.0.0", b"2");
    let prod = l("production");
    let set = |expect: Expect, t: &str| store.set_label(&n("p"), &prod, &expect, Some(&v(t)));
    assert_eq!(set(Expect::Absent, "1.0.0").unwrap(), None);
    let err = set(Expect::Absent, "2.0.0").unwrap_err();
    assert_eq!(err.kind(), Kind::Conflict, "{err}");
    let err = set(Expect::Is(v("2.0.0")), "2.0.0").unwrap_err();
    assert_eq!(err.kind(), Kind::Conflict, "{err}");
    assert_eq!(
        set(Expect::Is(v("1.0.0")), "2.0.0").unwrap(),
        Some(v("1.0.0"))
    );
    assert_eq!(store.labels(&n("p")).unwrap().get(&prod), Some(&v("2.0.0")));
}

pub fn delete_removes_one_release(store: &dyn Store) {
    put(store, "p", "1.0.0", b"1");
    put(store, "p", "1.1.0", b"2");
    store.delete(&n("p"), &v("1.0.0")).unwrap();
    assert!(!store.exists(&n("p"), &v("1.0.0")).unwrap());
    assert_eq!(store.versions(&n("p")).unwrap(), [v("1.1.0")]);
    assert_eq!(
        store.delete(&n("p"), &v("1.0.0")).unwrap_err().kind(),
        Kind::NotFound
    );
}

pub fn summaries_and_verify(store: &dyn Store) {
    let mut r = release("a", "1.0.0", b"1");
    r.description = Some("the a".into());
    store.put(&r).unwrap();
    put(store, "a", "2.0.0-rc.1", b"2");
    put(store, "b/c", "0.1.0", b"3");
    store
        .set_label(&n("a"), &l("stable"), &Expect::Any, Some(&v("1.0.0")))
        .unwrap();
    let rows = store.summaries(&NamePrefix::all()).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["a", "b/c"]);
    assert_eq!(rows[0].latest, Some(v("1.0.0")));
    assert_eq!(rows[0].description.as_deref(), Some("the a"));
    assert_eq!(rows[0].labels.get(&l("stable")), Some(&v("1.0.0")));
    let report = store.verify(None).unwrap();
    assert_eq!(
        (report.checked, report.problems.len()),
        (3, 0),
        "{report:?}"
    );
    let report = store.verify(Some(&n("a"))).unwrap();
    assert_eq!(report.checked, 2);
}

pub fn concurrent_create_only_writes_have_one_winner(fixture: &Fixture) {
    if !fixture.can(Capability::Atomic) {
        return;
    }
    let store = fixture.store.as_ref();
    let results = at_once(store, 8, |store, i| {
        store.put(&release("race", "1.0.0", format!("writer {i}").as_bytes()))
    });
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
}

pub fn concurrent_writes_of_different_versions_all_land(fixture: &Fixture) {
    if !fixture.can(Capability::Atomic) {
        return;
    }
    let store = fixture.store.as_ref();
    let results = at_once(store, 8, |store, i| {
        store.put(&release("many", &format!("1.{i}.0"), b"x"))
    });
    for r in results {
        assert_eq!(r.unwrap(), Stored::Created);
    }
    assert_eq!(store.versions(&n("many")).unwrap().len(), 8);
}

pub fn concurrent_label_moves_lose_none(fixture: &Fixture) {
    if !fixture.can(Capability::Atomic) {
        return;
    }
    let store = fixture.store.as_ref();
    for i in 0..8 {
        put(store, "p", &format!("1.{i}.0"), format!("{i}").as_bytes());
    }
    // Eight writers each set their own label: every one is there afterwards.
    let results = at_once(store, 8, |store, i| {
        store.set_label(
            &n("p"),
            &l(&format!("l{i}")),
            &Expect::Any,
            Some(&v(&format!("1.{i}.0"))),
        )
    });
    for r in results {
        r.unwrap();
    }
    assert_eq!(store.labels(&n("p")).unwrap().len(), 8);
    // Eight writers move one label by compare-and-swap, retrying on a conflict: every
    // move lands exactly once, so the label has moved eight times.
    // It starts at a version no writer moves it to, so the moves form one chain.
    put(store, "p", "0.1.0", b"start");
    let prod = l("production");
    store
        .set_label(&n("p"), &prod, &Expect::Absent, Some(&v("0.1.0")))
        .unwrap();
    let prod_for_threads = prod.clone();
    let moves = at_once(store, 8, move |store, i| {
        let target = v(&format!("1.{i}.0"));
        loop {
            let current = store.labels(&n("p")).unwrap()[&prod_for_threads].clone();
            match store.set_label(
                &n("p"),
                &prod_for_threads,
                &Expect::Is(current.clone()),
                Some(&target),
            ) {
                Ok(previous) => return (previous, target),
                Err(e) if e.kind() == Kind::Conflict => continue,
                Err(e) => panic!("{e}"),
            }
        }
    });
    // The moves form one chain: each starts where exactly one other ended.
    let mut chain: Vec<(Version, Version)> = moves
        .into_iter()
        .map(|(from, to)| (from.unwrap(), to))
        .collect();
    let mut at = v("0.1.0");
    for _ in 0..8 {
        let i = chain
            .iter()
            .position(|(from, _)| *from == at)
            .unwrap_or_else(|| panic!("no move starts at {at}: a move was lost ({chain:?})"));
        at = chain.remove(i).1;
    }
    assert_eq!(store.labels(&n("p")).unwrap()[&prod], at);
}

pub fn large_content_round_trips(store: &dyn Store) {
    // 64 MiB that no compressor shrinks much, with CRLF and bytes that are not UTF-8.
    let mut big = Vec::with_capacity(64 << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while big.len() < 64 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        big.extend_from_slice(&x.to_le_bytes());
        if x.is_multiple_of(61) {
            big.extend_from_slice(b"\r\n\xff");
        }
    }
    big.truncate(64 << 20);
    assert_eq!(put(store, "big", "1.0.0", &big), Stored::Created);
    assert_eq!(put(store, "big", "1.0.0", &big), Stored::Unchanged);
    let fetched = store.fetch(&n("big"), &v("1.0.0")).unwrap();
    assert!(fetched == big, "64 MiB came back different");
    drop(fetched);
    let mut streamed = Vec::new();
    let size = store
        .fetch_into(&n("big"), &v("1.0.0"), &mut streamed)
        .unwrap();
    assert_eq!(size, 64 << 20);
    assert!(streamed == big, "64 MiB streamed back different");
}

pub fn corrupted_content_is_an_integrity_failure(fixture: &Fixture) {
    let store = fixture.store.as_ref();
    let Some(corrupt) = &fixture.corrupt else {
        assert!(!fixture.can(Capability::Corrupt));
        return;
    };
    put(store, "p", "1.0.0", b"the real content");
    put(store, "p", "1.1.0", b"untouched");
    corrupt("p", "1.0.0");
    let err = store.fetch(&n("p"), &v("1.0.0")).unwrap_err();
    assert_eq!(err.kind(), Kind::Integrity, "{err}");
    let mut sink = Vec::new();
    let err = store
        .fetch_into(&n("p"), &v("1.0.0"), &mut sink)
        .unwrap_err();
    assert_eq!(err.kind(), Kind::Integrity, "{err}");
    let report = store.verify(None).unwrap();
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert!(report.problems[0].tag.contains("p@1.0.0"), "{report:?}");
    assert_eq!(store.fetch(&n("p"), &v("1.1.0")).unwrap(), b"untouched");
}

pub fn an_unreachable_store_is_unavailable(fixture: &Fixture) {
    let store = fixture.store.as_ref();
    let Some(make_unavailable) = &fixture.make_unavailable else {
        assert!(!fixture.can(Capability::Unavailable));
        return;
    };
    put(store, "p", "1.0.0", b"x");
    make_unavailable();
    for err in [
        store.fetch(&n("p"), &v("1.0.0")).unwrap_err(),
        store.versions(&n("p")).unwrap_err(),
        store.list(&NamePrefix::all()).unwrap_err(),
        store.put(&release("p", "2.0.0", b"y")).unwrap_err(),
    ] {
        assert_eq!(err.kind(), Kind::Unavailable, "{err}");
    }
}
