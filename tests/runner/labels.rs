//! Labels point at releases, travel in git, and every move has a history.

use crate::common::{Env, OutputExt};

#[test]
fn labels_move_and_resolve() {
    let env = Env::new();
    env.add("p", "1.0.0", b"one");
    env.add("p", "1.1.0", b"two");
    let out = env
        .pulse(&["label", "set", "p", "production", "1.0.0"])
        .assert_ok();
    assert_eq!(out.stdout_str(), "p: production (none) -> 1.0.0\n");
    assert_eq!(
        env.pulse(&["fetch", "p@production"]).assert_ok().stdout,
        b"one"
    );
    env.pulse(&["label", "set", "p", "production", "1.1.0"])
        .assert_ok();
    env.pulse(&["label", "set", "p", "staging", "1.1.0"])
        .assert_ok();
    assert_eq!(
        env.pulse(&["fetch", "p@production"]).assert_ok().stdout,
        b"two"
    );
    assert_eq!(
        env.pulse(&["label", "list"]).assert_ok().stdout_str(),
        "p  production  1.1.0\np  staging  1.1.0\n"
    );
    // Labels are a plain file in the branch, reviewable in a pull request.
    assert_eq!(
        std::fs::read_to_string(env.repo.join("prompts/p.yaml")).unwrap(),
        "labels:\n  production: 1.1.0\n  staging: 1.1.0\n"
    );
    env.pulse(&["label", "set", "p", "production", "9.0.0"])
        .assert_code(3);
    env.pulse(&["label", "rm", "p", "staging"]).assert_ok();
    env.pulse(&["label", "rm", "p", "staging"]).assert_code(3);
    // Setting a label to where it already is changes nothing.
    let head = env.git(&["rev-parse", "HEAD"]);
    env.pulse(&["label", "set", "p", "production", "1.1.0"])
        .assert_ok();
    assert_eq!(env.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    let versions = env.pulse(&["versions", "p"]).assert_ok().stdout_str();
    assert!(
        versions.lines().nth(1).unwrap().ends_with("production"),
        "{versions}"
    );
}

#[test]
fn every_move_has_a_history_with_who_and_when() {
    let env = Env::new();
    env.add("p", "1.0.0", b"one");
    env.add("p", "1.1.0", b"two");
    env.pulse(&["label", "set", "p", "production", "1.0.0"])
        .assert_ok();
    let mut cmd = env.cmd(&["label", "set", "p", "production", "1.1.0"]);
    cmd.env("GIT_COMMITTER_NAME", "Bob Ops")
        .env("GIT_COMMITTER_EMAIL", "bob@example.com");
    cmd.output().unwrap().assert_ok();
    env.pulse(&["label", "rm", "p", "production"]).assert_ok();
    let out = env
        .pulse(&["--format", "json", "label", "history", "p", "production"])
        .assert_ok();
    let moves: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary: Vec<(String, String, String)> = moves
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["from"].as_str().unwrap_or("-").to_owned(),
                m["to"].as_str().unwrap_or("-").to_owned(),
                m["author"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "1.1.0".into(),
                "-".into(),
                "Ada Tester <ada@example.com>".into()
            ),
            (
                "1.0.0".into(),
                "1.1.0".into(),
                "Bob Ops <bob@example.com>".into()
            ),
            (
                "-".into(),
                "1.0.0".into(),
                "Ada Tester <ada@example.com>".into()
            ),
        ]
    );
    assert_eq!(moves[0]["date"], "2024-01-02T03:04:05+00:00");
    // The history is plain git: the commit log of the sidecar says the same.
    let log = env.git(&["log", "--format=%s", "--", "prompts/p.yaml"]);
    assert_eq!(
        log,
        "Label p: production 1.1.0 -> (none)\nLabel p: production 1.0.0 -> 1.1.0\nLabel p: production (none) -> 1.0.0\n"
    );
}

#[test]
fn labels_are_per_branch() {
    let env = Env::new();
    env.add("p", "1.0.0", b"one");
    env.add("p", "1.1.0", b"two");
    env.pulse(&["label", "set", "p", "production", "1.0.0"])
        .assert_ok();
    env.pulse(&["--branch", "eu", "label", "set", "p", "production", "1.1.0"])
        .assert_ok();
    assert_eq!(
        env.pulse(&["fetch", "p@production"]).assert_ok().stdout,
        b"one"
    );
    assert_eq!(
        env.pulse(&["--branch", "eu", "fetch", "p@production"])
            .assert_ok()
            .stdout,
        b"two"
    );
}
