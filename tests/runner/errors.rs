//! Bad input is refused with the spec's exit code, a message and a hint, and nothing is written.

use crate::common::{Env, OutputExt};

#[test]
fn bad_names_versions_and_selectors_exit_2_and_write_nothing() {
    let env = Env::new();
    env.add("p", "1.0.0", b"x");
    let before = env.refs();
    let head = env.git(&["rev-parse", "HEAD"]);
    for args in [
        vec!["add", "Bad", "--version", "1.0.0"],
        vec!["add", "a/../b", "--version", "1.0.0"],
        vec!["add", "a//b", "--version", "1.0.0"],
        vec!["add", "-x", "--version", "1.0.0"],
        vec!["add", "a.lock", "--version", "1.0.0"],
        vec!["add", &"n".repeat(129), "--version", "1.0.0"],
        vec!["add", "q", "--version", "1.0"],
        vec!["add", "q", "--version", "1.0.0+build"],
        vec!["add", "q", "--version", "01.0.0"],
        vec!["add", "q"],
        vec!["add", "q", "--version", "1.0.0", "--bump", "patch"],
        vec!["fetch", "p@^^1"],
        vec!["fetch", "p@1.2.3.4"],
        vec!["fetch", "p@Prod"],
        vec!["fetch", "p@1.0.0", "--version", "1.0.0"],
        vec!["label", "set", "p", "latest", "1.0.0"],
        vec!["label", "set", "p", "Prod", "1.0.0"],
        vec!["label", "set", "p", "prod", "one"],
        vec!["delete", "p"],
        vec!["nonsense"],
        vec!["--format", "xml", "list"],
    ] {
        let out = env.pulse_stdin(&args, b"content").assert_code(2);
        assert!(!out.stderr_str().is_empty(), "{args:?} said nothing");
        assert!(
            !out.stderr_str().contains("panicked"),
            "{args:?}: {}",
            out.stderr_str()
        );
    }
    assert_eq!(env.refs(), before);
    assert_eq!(env.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn messages_name_the_thing_and_the_next_step() {
    let env = Env::new();
    let out = env
        .pulse_stdin(&["add", "Team/Reviewer", "--version", "1.0.0"], b"x")
        .assert_code(2);
    let err = out.stderr_str();
    assert!(
        err.contains("'Team/Reviewer' is not a valid prompt name: names are lowercase"),
        "{err}"
    );
    assert!(err.contains("hint: "), "{err}");
}

#[test]
fn same_version_same_content_is_an_idempotent_retry() {
    let env = Env::new();
    env.add("p", "1.0.0", b"x");
    let refs = env.refs();
    let out = env
        .pulse_stdin(&["add", "p", "--version", "1.0.0"], b"x")
        .assert_ok();
    assert_eq!(out.stdout_str(), "p@1.0.0\n");
    assert!(
        out.stderr_str()
            .contains("identical content; nothing changed")
    );
    assert_eq!(env.refs(), refs);
}

#[test]
fn same_version_other_content_is_a_conflict() {
    let env = Env::new();
    env.add("p", "1.0.0", b"x");
    let refs = env.refs();
    let out = env
        .pulse_stdin(&["add", "p", "--version", "1.0.0"], b"y")
        .assert_code(4);
    assert!(
        out.stderr_str()
            .contains("already exists with different content"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(env.refs(), refs);
    assert_eq!(env.pulse(&["fetch", "p"]).assert_ok().stdout, b"x");
    assert_eq!(std::fs::read(env.repo.join("prompts/p.md")).unwrap(), b"x");
}

#[test]
fn older_versions_need_allow_older() {
    let env = Env::new();
    env.add("p", "2.0.0", b"two");
    let out = env
        .pulse_stdin(&["add", "p", "--version", "1.5.0"], b"old")
        .assert_code(4);
    out.assert_stderr_has("--allow-older");
    env.pulse_stdin(&["add", "p", "--version", "1.5.0", "--allow-older"], b"old")
        .assert_ok();
    // The back-port does not change what latest means.
    assert_eq!(env.pulse(&["fetch", "p"]).assert_ok().stdout, b"two");
    assert_eq!(env.pulse(&["fetch", "p@~1"]).assert_ok().stdout, b"old");
}

#[test]
fn writing_needs_an_initialised_repository_and_an_identity() {
    let env = Env::empty();
    env.git_in(env.root.path(), &["init", "-q", env.repo.to_str().unwrap()]);
    let out = env
        .pulse_stdin(&["add", "p", "--version", "1.0.0"], b"x")
        .assert_code(3);
    out.assert_stderr_has("pulse init");
    let mut cmd = env.cmd(&["init"]);
    cmd.env_remove("GIT_COMMITTER_NAME")
        .env_remove("GIT_COMMITTER_EMAIL");
    let out = cmd.output().unwrap().assert_code(2);
    out.assert_stderr_has("user.name");
}

#[test]
fn delete_removes_one_release_with_guards() {
    let env = Env::new();
    env.add("p", "1.0.0", b"1");
    env.add("p", "1.1.0", b"2");
    env.pulse(&["label", "set", "p", "production", "1.1.0"])
        .assert_ok();
    env.pulse(&["delete", "p@1.1.0"]).assert_code(4);
    env.pulse(&["delete", "p@9.9.9"]).assert_code(3);
    env.pulse(&["delete", "p@1.0.0"]).assert_ok();
    assert_eq!(env.git(&["tag", "-l"]), "p@1.1.0\n");
    // With a remote, deleting needs --force.
    env.git(&["remote", "add", "origin", "https://example.invalid/x.git"]);
    env.pulse(&["label", "rm", "p", "production"]).assert_ok();
    let out = env.pulse(&["delete", "p@1.1.0"]).assert_code(4);
    assert!(out.stderr_str().contains("--force"));
    env.pulse(&["delete", "p@1.1.0", "--force"]).assert_ok();
    assert_eq!(env.git(&["tag", "-l"]), "");
}

#[test]
fn content_of_any_size_round_trips() {
    // Larger than the 10 MiB limit pulse once had: add, fetch, show, export and import.
    let env = Env::new();
    let big: Vec<u8> = (0..12 * 1024 * 1024 + 7).map(|i| (i % 251) as u8).collect();
    env.add("big", "1.0.0", &big);
    assert!(env.pulse(&["fetch", "big"]).assert_ok().stdout == big);
    let show = env.pulse(&["show", "big", "--format", "json"]).assert_ok();
    assert!(
        show.stdout_str()
            .contains(&format!("\"size\": {}", big.len()))
    );
    let out = env.path("out");
    env.pulse(&["export", out.to_str().unwrap()]).assert_ok();
    assert!(std::fs::read(out.join("big/1.0.0/content.md")).unwrap() == big);
    let other = Env::new();
    other.pulse(&["import", out.to_str().unwrap()]).assert_ok();
    assert!(other.pulse(&["fetch", "big@1.0.0"]).assert_ok().stdout == big);
}

#[test]
fn reftable_and_shallow_repositories_get_a_clear_error() {
    let env = Env::empty();
    env.git_in(
        env.root.path(),
        &[
            "init",
            "-q",
            "--ref-format=reftable",
            env.repo.to_str().unwrap(),
        ],
    );
    let out = env.pulse(&["list"]).assert_code(1);
    assert!(
        out.stderr_str()
            .contains("git refs migrate --ref-format=files"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn a_shallow_clone_without_its_tags_says_what_to_run() {
    let env = Env::new();
    env.add("p", "1.0.0", b"one");
    env.add("p", "1.1.0", b"two");
    let clone = env.path("shallow");
    let url = format!("file://{}", env.repo.display());
    env.git_in(
        env.root.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            "--no-tags",
            &url,
            clone.to_str().unwrap(),
        ],
    );
    let out = env
        .cmd_in(&clone, &["fetch", "p@1.0.0"])
        .output()
        .unwrap()
        .assert_code(3);
    out.assert_stderr_has("git fetch --unshallow --tags");
}
