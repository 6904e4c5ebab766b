//! Release reads that need no full open of the repository: `fetch` and `versions` read
//! refs and objects directly, and leave everything out of the ordinary to gix, which
//! then answers exactly as before. `--log-level debug` says which one answered.

use std::process::Output;

use crate::common::{Env, OutputExt};

/// What the debug log says when pulse had to open the repository through gix.
const FULL_OPEN: &str = "opened the repository through gix";

fn debug_fetch(env: &Env, spec: &str) -> Output {
    env.pulse(&["--log-level", "debug", "fetch", spec])
}

/// Fetch `spec` with the debug log: it prints `content`, and opened the repository
/// through gix exactly when `full`.
fn assert_read(env: &Env, spec: &str, content: &str, full: bool) {
    let out = debug_fetch(env, spec).assert_ok();
    assert_eq!(out.stdout_str(), content, "{spec}");
    assert_eq!(
        out.stderr_str().contains(FULL_OPEN),
        full,
        "{spec}: {}",
        out.stderr_str()
    );
}

/// Write `bytes` as a git object of `kind` (`blob`, `tag`); returns its id.
fn write_object(env: &Env, kind: &str, bytes: &[u8]) -> String {
    env.git_stdin(&["hash-object", "-w", "-t", kind, "--stdin"], bytes)
        .trim()
        .to_owned()
}

#[test]
fn fetch_reads_loose_and_packed_releases_without_a_full_open() {
    let env = Env::new();
    env.add("team/p", "1.0.0", b"one\n");
    env.add("team/p", "1.1.0", b"one point one\n");
    env.add("team/p", "2.0.0-rc.1", b"candidate\n");
    for (spec, content) in [
        ("team/p@1.0.0", "one\n"),
        ("team/p@^1", "one point one\n"),
        ("team/p", "one point one\n"),
        ("team/p@2.0.0-rc.1", "candidate\n"),
    ] {
        assert_read(&env, spec, content, false);
    }
    // Packed refs and one pack of deltified objects, as after a clone.
    env.git(&["gc", "-q", "--aggressive"]);
    assert_read(&env, "team/p@1.0.0", "one\n", false);
    assert_read(&env, "team/p@^1", "one point one\n", false);
    // A release made after that: its tag ref and objects are loose, next to packed ones.
    env.add("team/q", "1.0.0", b"loose\n");
    assert_read(&env, "team/q@^1", "loose\n", false);
    assert_read(&env, "team/p@1.1.0", "one point one\n", false);
    // What is not there is still reported as before (through the full open).
    let out = debug_fetch(&env, "team/p@9.9.9").assert_code(3);
    out.assert_stderr_has("9.9.9");
    env.pulse(&["versions", "team/p"]).assert_ok();
}

#[test]
fn labels_and_flags_that_need_the_repository_open_it() {
    let env = Env::new();
    env.add("p", "1.0.0", b"one\n");
    env.add("p", "1.1.0", b"two\n");
    env.pulse(&["label", "set", "p", "production", "1.0.0"])
        .assert_ok();
    assert_read(&env, "p@production", "one\n", true);
    let out = env
        .pulse(&["--log-level", "debug", "fetch", "p", "--ref", "HEAD"])
        .assert_ok();
    assert_eq!(out.stdout_str(), "two\n");
}

#[test]
fn replaced_objects_are_seen_as_gix_sees_them() {
    // `git replace` swaps the content blob for other bytes: gix reads the replacement,
    // which fails the release's checksum. A read that skipped gix would not see it.
    let env = Env::new();
    env.add("p", "1.0.0", b"released\n");
    let blob = env.git(&["rev-parse", "p@1.0.0^{commit}:prompts/p.md"]);
    let other = write_object(&env, "blob", b"swapped\n");
    env.git(&["replace", blob.trim(), &other]);
    let out = debug_fetch(&env, "p@1.0.0").assert_code(5);
    out.assert_stderr_has(FULL_OPEN);
    assert_eq!(out.stdout_str(), "");
    // Without the replacement, the release reads again, without a full open.
    env.git(&["replace", "-d", blob.trim()]);
    assert_read(&env, "p@1.0.0", "released\n", false);
}

#[test]
fn unusual_repositories_are_read_through_gix() {
    let env = Env::new();
    env.add("p", "1.0.0", b"one\n");
    // A linked worktree: refs and objects live in the main repository.
    env.git(&["worktree", "add", "-q", "--detach", "../linked"]);
    let out = env
        .pulse_in(
            &env.path("linked"),
            &["--log-level", "debug", "fetch", "p@1.0.0"],
        )
        .assert_ok();
    assert_eq!(out.stdout_str(), "one\n");
    out.assert_stderr_has(FULL_OPEN);
    // The repository's configuration includes another file.
    std::fs::write(env.path("extra.config"), "[core]\n\tabbrev = 12\n").unwrap();
    env.git(&[
        "config",
        "include.path",
        env.path("extra.config").to_str().unwrap(),
    ]);
    assert_read(&env, "p@1.0.0", "one\n", true);
    env.git(&["config", "--unset", "include.path"]);
    assert_read(&env, "p@1.0.0", "one\n", false);
    // Git variables that move refs or objects elsewhere.
    let out = env
        .cmd(&["--log-level", "debug", "fetch", "p@1.0.0"])
        .env("GIT_NO_REPLACE_OBJECTS", "1")
        .output()
        .unwrap()
        .assert_ok();
    out.assert_stderr_has(FULL_OPEN);
}

#[test]
fn damaged_content_fails_its_checksum_either_way() {
    let env = Env::new();
    env.add("p", "1.0.0", b"released\n");
    // Rewrite the release tag to point at the same commit but record another blob.
    let blob = env.git(&["rev-parse", "p@1.0.0^{commit}:prompts/p.md"]);
    let tag = env.git(&["cat-file", "tag", "p@1.0.0"]);
    let other = write_object(&env, "blob", b"tampered\n");
    assert!(tag.contains(blob.trim()), "{tag}");
    let forged = tag.replace(blob.trim(), &other);
    let forged_id = write_object(&env, "tag", forged.as_bytes());
    env.git(&["update-ref", "refs/tags/p@1.0.0", &forged_id]);
    let out = debug_fetch(&env, "p@1.0.0").assert_code(5);
    assert_eq!(out.stdout_str(), "");
    assert!(
        !out.stderr_str().contains(FULL_OPEN),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn a_repository_named_by_path_is_read_the_same_way() {
    let env = Env::new();
    env.add("p", "1.0.0", b"one\n");
    let repo = env.repo.to_str().unwrap().to_owned();
    let elsewhere = env.path("home");
    let out = env
        .pulse_in(
            &elsewhere,
            &["--log-level", "debug", "--repo", &repo, "fetch", "p@1.0.0"],
        )
        .assert_ok();
    assert_eq!(out.stdout_str(), "one\n");
    assert!(
        !out.stderr_str().contains(FULL_OPEN),
        "{}",
        out.stderr_str()
    );
    // A bare repository (a clone of it) is opened through gix, and reads the same.
    let bare = env.path("bare.git");
    env.git(&["clone", "-q", "--bare", &repo, bare.to_str().unwrap()]);
    let out = env
        .pulse_in(
            &elsewhere,
            &[
                "--log-level",
                "debug",
                "--repo",
                bare.to_str().unwrap(),
                "fetch",
                "p@1.0.0",
            ],
        )
        .assert_ok();
    assert_eq!(out.stdout_str(), "one\n");
    out.assert_stderr_has(FULL_OPEN);
    // A path that is not a repository is reported as before.
    env.pulse_in(
        &elsewhere,
        &[
            "--repo",
            env.path("nowhere").to_str().unwrap(),
            "fetch",
            "p",
        ],
    )
    .assert_code(3);
}
