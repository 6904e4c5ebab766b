//! The HTTP store against a server that misbehaves (a real server process on 127.0.0.1,
//! `common/misbehaving_server.py`, serving an export): pulse never prints bytes whose
//! checksum does not match, retries what is safe to retry, and otherwise fails naming
//! the store, with the exit code of the failure.

use std::path::Path;

use crate::common::stores::python_server;
use crate::common::{Env, OutputExt};

/// The server, stopped when dropped.
struct Liar {
    child: std::process::Child,
    port: u16,
}

impl Liar {
    fn start(export: &Path) -> Liar {
        let script = crate::common::source_dir().join("tests/runner/common/misbehaving_server.py");
        let (child, port) = python_server(&[script.as_os_str(), export.as_os_str()]);
        Liar { child, port }
    }

    fn url(&self, mode: &str) -> String {
        format!("http://127.0.0.1:{}/{mode}/", self.port)
    }
}

impl Drop for Liar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A repository with one release of a few KB, exported to `<root>/export` and served.
fn served() -> (Env, Liar) {
    let env = Env::new();
    let content: Vec<u8> = (0..400)
        .flat_map(|i| format!("line {i} of the prompt\n").into_bytes())
        .collect();
    env.add("team/p", "1.0.0", &content);
    let export = env.path("export");
    env.pulse(&["export", export.to_str().unwrap()]).assert_ok();
    // A short read timeout, so that a server that stalls is given up on quickly.
    env.user_config("storage_config:\n  timeout: \"1\"\n");
    let liar = Liar::start(&export);
    (env, liar)
}

/// Fetch the release from the server, asking it for everything (`--refresh`): a cache
/// that already holds the content by its checksum would answer without it.
fn fetch(env: &Env, url: &str) -> std::process::Output {
    env.pulse(&["--refresh", "--store", url, "fetch", "team/p@1.0.0"])
}

/// How many requests the server saw for `path` (`/mode/<file>`).
fn requests(env: &Env, path: &str) -> usize {
    std::fs::read_to_string(env.path("requests.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split(' ').nth(1) == Some(path))
        .count()
}

#[test]
fn wrong_or_short_bytes_are_an_integrity_failure_and_never_printed() {
    let (env, liar) = served();
    let good = fetch(&env, &liar.url("ok")).assert_ok();
    assert_eq!(good.stdout.len(), 9090, "the content as released");
    for mode in ["wrong", "short"] {
        let out = fetch(&env, &liar.url(mode)).assert_code(5);
        assert!(
            out.stdout.is_empty(),
            "{mode}: printed {} bytes",
            out.stdout.len()
        );
        let err = out.stderr_str();
        assert!(err.contains("team/p@1.0.0"), "{mode}: {err}");
        // Written to a file, it is not left there either.
        let file = env.path(&format!("{mode}.md"));
        env.pulse(&[
            "--refresh",
            "--store",
            &liar.url(mode),
            "fetch",
            "team/p@1.0.0",
            "--output",
            file.to_str().unwrap(),
        ])
        .assert_code(5);
        assert!(!file.exists(), "{mode}: {}", file.display());
        // verify reports it too.
        env.pulse(&["--refresh", "--store", &liar.url(mode), "verify"])
            .assert_code(5);
    }
}

#[test]
fn an_answer_cut_off_half_way_is_unavailable_and_never_printed() {
    let (env, liar) = served();
    let out = fetch(&env, &liar.url("cut")).assert_code(6);
    assert!(out.stdout.is_empty(), "printed {} bytes", out.stdout.len());
    out.assert_stderr_has(&liar.url("cut"));
}

#[test]
fn server_errors_are_retried_then_reported_naming_the_store() {
    let (env, liar) = served();
    // Two 500s, then the answer: retried, and the fetch succeeds.
    let out = fetch(&env, &liar.url("flaky")).assert_ok();
    assert_eq!(out.stdout.len(), 9090);
    assert_eq!(requests(&env, "/flaky/team/p/1.0.0/metadata.json"), 3);
    // A 429 with Retry-After is waited for, then asked again.
    fetch(&env, &liar.url("busy")).assert_ok();
    assert_eq!(requests(&env, "/busy/team/p/1.0.0/content.md"), 2);
    // Always 500: four tries, then exit 6 naming the store and what it said.
    let out = fetch(&env, &liar.url("fail")).assert_code(6);
    assert_eq!(requests(&env, "/fail/team/p/1.0.0/metadata.json"), 4);
    let err = out.stderr_str();
    assert!(err.contains(&liar.url("fail")), "{err}");
    assert!(err.contains("the disk is on fire"), "{err}");
}

#[test]
fn a_server_slower_than_the_timeout_is_unavailable() {
    let (env, liar) = served();
    let out = fetch(&env, &liar.url("slow")).assert_code(6);
    assert!(out.stdout.is_empty());
    out.assert_stderr_has("no answer in time");
}

#[test]
fn what_the_server_does_not_have_is_not_found() {
    let (env, liar) = served();
    env.pulse(&["--store", &liar.url("ok"), "fetch", "team/p@2.0.0"])
        .assert_code(3);
    env.pulse(&["--store", &liar.url("ok"), "fetch", "team/q"])
        .assert_code(3);
    // A static server takes no writes: a clear usage error, nothing retried.
    let out = env
        .pulse(&[
            "--store",
            &liar.url("ok"),
            "label",
            "set",
            "team/p",
            "prod",
            "1.0.0",
        ])
        .assert_code(2);
    out.assert_stderr_has("read-only");
    assert_eq!(
        requests(&env, "/ok/team/p/labels.json"),
        2,
        "one GET, one PUT"
    );
}

#[test]
fn a_failing_server_is_answered_from_the_cache_with_a_warning() {
    let (env, liar) = served();
    let url = liar.url("flip");
    env.pulse(&["label", "set", "team/p", "production", "1.0.0"])
        .assert_ok();
    let export = env.path("export");
    env.pulse(&["export", export.to_str().unwrap()]).assert_ok();
    let fetch = |spec: &str| env.pulse(&["--store", &url, "fetch", spec]);
    let good = fetch("team/p@production").assert_ok().stdout;
    // The server starts failing (500 on everything), and the labels are stale (TTL 0).
    std::fs::write(env.path("failing"), b"").unwrap();
    env.user_config("cache_ttl: 0\nstorage_config:\n  timeout: \"1\"\n");
    let out = fetch("team/p@production").assert_ok();
    assert_eq!(out.stdout, good);
    let err = out.stderr_str();
    assert!(err.contains("warning:") && err.contains(&url), "{err}");
    // What the cache never held cannot be answered: exit 6 naming the store.
    let out = fetch("team/q@1.0.0").assert_code(6);
    out.assert_stderr_has(&url);
    // --refresh asks the server, which fails.
    env.pulse(&["--refresh", "--store", &url, "fetch", "team/p@production"])
        .assert_code(6);
}
