//! Object-level writes: the checked-out branch stays clean, other branches and bare
//! repositories are written without a checkout, and uncommitted edits are never lost.

use crate::common::{Env, OutputExt};

#[test]
fn add_on_the_checked_out_branch_leaves_git_status_clean() {
    let env = Env::new();
    std::fs::write(env.repo.join("notes.txt"), b"staged by the user").unwrap();
    env.git(&["add", "notes.txt"]);
    env.add("a", "1.0.0", b"one");
    env.add("nested/deep/b", "1.0.0", b"two");
    env.pulse_stdin(
        &["add", "a", "--version", "1.1.0", "-d", "described"],
        b"three",
    )
    .assert_ok();
    // The user's own staged file is still staged; everything pulse wrote is committed.
    assert_eq!(env.git(&["status", "--porcelain"]), "A  notes.txt\n");
    assert_eq!(
        std::fs::read(env.repo.join("prompts/a.md")).unwrap(),
        b"three"
    );
    assert_eq!(env.git(&["diff", "HEAD", "--stat", "--", "prompts"]), "");
    // git itself agrees the index matches HEAD for pulse's paths.
    env.git(&["diff-index", "--quiet", "--cached", "HEAD", "--", "prompts"]);
}

#[test]
fn an_uncommitted_edit_is_never_overwritten() {
    let env = Env::new();
    env.add("a", "1.0.0", b"one");
    std::fs::write(env.repo.join("prompts/a.md"), b"my local edit").unwrap();
    let refs = env.refs();
    let out = env
        .pulse_stdin(&["add", "a", "--version", "1.1.0"], b"other")
        .assert_code(4);
    out.assert_stderr_has("uncommitted changes");
    assert_eq!(
        std::fs::read(env.repo.join("prompts/a.md")).unwrap(),
        b"my local edit"
    );
    assert_eq!(env.refs(), refs);
    // Staged edits are protected too.
    env.git(&["add", "prompts/a.md"]);
    env.pulse_stdin(&["add", "a", "--version", "1.1.0"], b"other")
        .assert_code(4);
    // Releasing exactly the edited file is what the user meant: allowed.
    env.git(&["reset", "-q"]);
    env.pulse(&["add", "a", "--version", "1.1.0", "--file", "prompts/a.md"])
        .assert_ok();
    assert_eq!(
        env.pulse(&["fetch", "a"]).assert_ok().stdout,
        b"my local edit"
    );
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn an_untracked_file_in_the_way_is_not_overwritten() {
    let env = Env::new();
    std::fs::create_dir_all(env.repo.join("prompts")).unwrap();
    std::fs::write(env.repo.join("prompts/new.md"), b"untracked draft").unwrap();
    env.pulse_stdin(&["add", "new", "--version", "1.0.0"], b"different")
        .assert_code(4);
    assert_eq!(
        std::fs::read(env.repo.join("prompts/new.md")).unwrap(),
        b"untracked draft"
    );
}

#[test]
fn branch_option_writes_without_checking_out() {
    let env = Env::new();
    env.add("a", "1.0.0", b"main content");
    let head = env.git(&["rev-parse", "HEAD"]);
    env.pulse_stdin(
        &["--branch", "experiment", "add", "b", "--version", "1.0.0"],
        b"exp",
    )
    .assert_ok();
    // main and its worktree did not move; experiment was created from main's head.
    assert_eq!(env.git(&["rev-parse", "HEAD"]), head);
    assert!(!env.repo.join("prompts/b.md").exists());
    assert_eq!(env.git(&["rev-parse", "experiment~1"]), head);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    assert_eq!(
        env.pulse(&["--branch", "experiment", "list"])
            .assert_ok()
            .stdout_str()
            .lines()
            .count(),
        3
    );
    assert_eq!(
        env.pulse(&["list"])
            .assert_ok()
            .stdout_str()
            .lines()
            .count(),
        2
    );
    env.pulse(&["--branch", "nope", "list"]).assert_ok();
    env.pulse(&["--branch", "bad..name", "list"]).assert_code(2);
}

#[test]
fn bare_repositories_work() {
    let env = Env::empty();
    env.pulse(&["init", "--bare", env.repo.to_str().unwrap()])
        .assert_ok();
    env.add("a", "1.0.0", b"bare content");
    env.pulse(&["label", "set", "a", "production", "1.0.0"])
        .assert_ok();
    assert_eq!(
        env.pulse(&["fetch", "a@production"]).assert_ok().stdout,
        b"bare content"
    );
    assert_eq!(
        env.git(&["cat-file", "-p", "HEAD:prompts/a.md"]),
        "bare content"
    );
    env.pulse(&["verify"]).assert_ok();
    env.git(&["fsck", "--strict"]);
}

#[test]
fn init_adopts_an_existing_repository_once() {
    let env = Env::empty();
    env.git_in(env.root.path(), &["init", "-q", env.repo.to_str().unwrap()]);
    std::fs::write(env.repo.join("README"), b"hi").unwrap();
    env.git(&["add", "README"]);
    env.git(&["commit", "-qm", "existing"]);
    let out = env.pulse(&["init"]).assert_ok();
    assert!(
        out.stdout_str().starts_with("Adopted"),
        "{}",
        out.stdout_str()
    );
    let out = env.pulse(&["init"]).assert_ok();
    assert!(
        out.stdout_str().starts_with("Already"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(
        env.git(&["log", "--format=%s"]),
        "Initialize pulse prompt repository\nexisting\n"
    );
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    assert_eq!(
        std::fs::read_to_string(env.repo.join(".pulse/config.yaml"))
            .unwrap()
            .lines()
            .last(),
        Some("format: 1")
    );
}

#[test]
fn discovery_works_from_a_subdirectory_and_with_pulse_repo() {
    let env = Env::new();
    env.add("a", "1.0.0", b"x");
    let sub = env.repo.join("prompts");
    assert_eq!(
        env.cmd_in(&sub, &["fetch", "a"])
            .output()
            .unwrap()
            .assert_ok()
            .stdout,
        b"x"
    );
    let mut cmd = env.cmd_in(env.root.path(), &["fetch", "a"]);
    cmd.env("PULSE_REPO", &env.repo);
    assert_eq!(cmd.output().unwrap().assert_ok().stdout, b"x");
}
