//! Sharing through ordinary git remotes: clone, pull and push over a plain path, file://
//! and git:// (a real `git daemon` on 127.0.0.1 started by the test).

use std::path::{Path, PathBuf};

use crate::common::servers::{GitDaemon, HttpGit};
use crate::common::{Env, OutputExt};

/// A bare remote with one person's clone of it.
struct Team {
    env: Env,
    url: String,
}

impl Team {
    /// Alice makes a prompt repository with one release and a label, and pushes it to a
    /// bare repository reachable at the URL `url_of` makes from its path.
    fn new(url_of: impl Fn(&Path) -> String) -> Team {
        let env = Env::new();
        let bare = env.path("shared.git");
        env.git_in(
            env.root.path(),
            &["init", "-q", "--bare", bare.to_str().unwrap()],
        );
        let url = url_of(&bare);
        env.add("reviewer", "1.0.0", b"Be careful.\n");
        env.pulse(&["label", "set", "reviewer", "production", "1.0.0"])
            .assert_ok();
        env.git(&["remote", "add", "origin", &url]);
        let out = env.pulse(&["push"]).assert_ok();
        assert_eq!(
            out.stdout_str(),
            "main: pushed; 1 releases pushed\n  reviewer@1.0.0\n"
        );
        Team { env, url }
    }

    fn alice(&self) -> &Path {
        &self.env.repo
    }

    /// Bob clones the shared repository.
    fn bob(&self) -> PathBuf {
        let bob = self.env.path("bob");
        let out = self
            .env
            .cmd_in(
                self.env.root.path(),
                &["clone", &self.url, bob.to_str().unwrap()],
            )
            .output()
            .unwrap()
            .assert_ok();
        assert!(
            out.stdout_str().contains("(1 releases)"),
            "{}",
            out.stdout_str()
        );
        bob
    }

    fn run(&self, who: &Path, args: &[&str]) -> std::process::Output {
        self.env.cmd_in(who, args).output().unwrap()
    }

    fn add(&self, who: &Path, name: &str, version: &str, content: &str) {
        self.env
            .pulse_stdin_in(
                who,
                &["add", name, "--version", version],
                content.as_bytes(),
            )
            .assert_ok();
    }

    fn fsck_remote(&self) {
        self.env.git_in(
            &self.env.path("shared.git"),
            &["fsck", "--strict", "--no-dangling"],
        );
    }
}

fn round_trip(team: &Team) {
    let bob = team.bob();
    // Bob has the release, the label and its history.
    assert_eq!(
        team.run(&bob, &["fetch", "reviewer@production"])
            .assert_ok()
            .stdout_str(),
        "Be careful.\n"
    );
    team.run(&bob, &["verify"]).assert_ok();
    let history = team
        .run(&bob, &["label", "history", "reviewer"])
        .assert_ok()
        .stdout_str();
    assert!(
        history.contains("production  (none) -> 1.0.0  Ada Tester"),
        "{history}"
    );
    // Bob releases and moves the label; Alice pulls it all.
    team.add(&bob, "reviewer", "1.1.0", "Be careful and kind.\n");
    team.run(&bob, &["label", "set", "reviewer", "production", "1.1.0"])
        .assert_ok();
    team.run(&bob, &["push"]).assert_ok();
    let out = team.run(team.alice(), &["pull"]).assert_ok();
    assert_eq!(
        out.stdout_str(),
        "main: fast-forwarded; 1 new releases\n  reviewer@1.1.0\n"
    );
    assert_eq!(
        team.run(team.alice(), &["fetch", "reviewer@production"])
            .assert_ok()
            .stdout_str(),
        "Be careful and kind.\n"
    );
    assert_eq!(
        std::fs::read_to_string(team.alice().join("prompts/reviewer.md")).unwrap(),
        "Be careful and kind.\n"
    );
    assert_eq!(team.env.git(&["status", "--porcelain"]), "");
    let out = team.run(team.alice(), &["pull"]).assert_ok();
    assert_eq!(
        out.stdout_str(),
        "main: already up to date; 0 new releases\n"
    );
    assert_eq!(
        team.run(team.alice(), &["push"]).assert_ok().stdout_str(),
        "Everything up to date\n"
    );
    team.fsck_remote();
}

#[test]
fn round_trip_over_a_plain_path() {
    round_trip(&Team::new(|p| p.display().to_string()));
}

#[test]
fn round_trip_over_file_urls() {
    round_trip(&Team::new(|p| format!("file://{}", p.display())));
}

#[test]
fn round_trip_over_git_daemon() {
    let daemon = GitDaemon::start();
    round_trip(&Team::new(|p| daemon.url(p)));
}

#[test]
fn two_people_releasing_at_once_both_land() {
    let team = Team::new(|p| format!("file://{}", p.display()));
    let bob = team.bob();
    // At the same time: Alice releases a new prompt and a new version; Bob releases another
    // prompt and moves a different label.
    team.add(team.alice(), "writer", "1.0.0", "Write clearly.\n");
    team.add(team.alice(), "reviewer", "1.1.0", "Alice's review.\n");
    team.add(&bob, "triage", "0.1.0", "Sort tickets.\n");
    team.run(&bob, &["label", "set", "reviewer", "staging", "1.0.0"])
        .assert_ok();
    team.run(team.alice(), &["push"]).assert_ok();
    // Bob's push is refused: the remote moved on.
    let out = team.run(&bob, &["push"]).assert_code(4);
    out.assert_stderr_has("pulse pull");
    let out = team.run(&bob, &["pull"]).assert_ok();
    assert!(
        out.stdout_str().starts_with("main: merged; 2 new releases"),
        "{}",
        out.stdout_str()
    );
    team.run(&bob, &["push"]).assert_ok();
    team.run(team.alice(), &["pull"]).assert_ok();
    for who in [team.alice(), bob.as_path()] {
        for (spec, content) in [
            ("writer@1.0.0", "Write clearly.\n"),
            ("reviewer@1.1.0", "Alice's review.\n"),
            ("triage@0.1.0", "Sort tickets.\n"),
            ("reviewer@staging", "Be careful.\n"),
            ("reviewer@production", "Be careful.\n"),
        ] {
            assert_eq!(
                team.run(who, &["fetch", spec]).assert_ok().stdout_str(),
                content,
                "{spec}"
            );
        }
        team.run(who, &["verify"]).assert_ok();
        assert_eq!(team.env.git_in(who, &["status", "--porcelain"]), "");
    }
    team.fsck_remote();
    let remote_tags = team
        .env
        .git_in(&team.env.path("shared.git"), &["tag", "-l"]);
    assert_eq!(
        remote_tags,
        "reviewer@1.0.0\nreviewer@1.1.0\ntriage@0.1.0\nwriter@1.0.0\n"
    );
}

#[test]
fn a_release_tag_that_differs_is_a_conflict_on_push_and_pull() {
    let team = Team::new(|p| p.display().to_string());
    let bob = team.bob();
    team.add(team.alice(), "reviewer", "2.0.0", "Alice's 2.0\n");
    team.add(&bob, "reviewer", "2.0.0", "Bob's 2.0\n");
    team.run(team.alice(), &["push"]).assert_ok();
    let alice_commit = team.env.git(&["rev-parse", "reviewer@2.0.0^{commit}"]);
    let bob_commit = team
        .env
        .git_in(&bob, &["rev-parse", "reviewer@2.0.0^{commit}"]);
    // Every branch, tag and remote-tracking branch.
    let visible = || {
        team.env.git_in(
            &bob,
            &["for-each-ref", "refs/heads", "refs/tags", "refs/remotes"],
        )
    };
    for cmd in ["push", "pull"] {
        let refs_before = visible();
        let out = team.run(&bob, &[cmd]).assert_code(4);
        let err = out.stderr_str();
        assert!(err.contains("'reviewer@2.0.0'"), "{cmd}: {err}");
        assert!(
            err.contains(&bob_commit[..12]) && err.contains(&alice_commit[..12]),
            "{cmd}: {err}"
        );
        assert_eq!(visible(), refs_before, "{cmd} changed refs");
    }
    assert_eq!(
        team.run(&bob, &["fetch", "reviewer@2.0.0"])
            .assert_ok()
            .stdout_str(),
        "Bob's 2.0\n"
    );
}

#[test]
fn the_same_label_moved_differently_is_a_conflict() {
    let team = Team::new(|p| p.display().to_string());
    let bob = team.bob();
    team.add(team.alice(), "reviewer", "1.1.0", "a\n");
    team.run(team.alice(), &["push"]).assert_ok();
    team.run(&bob, &["pull"]).assert_ok();
    team.run(
        team.alice(),
        &["label", "set", "reviewer", "production", "1.1.0"],
    )
    .assert_ok();
    team.run(team.alice(), &["push"]).assert_ok();
    team.run(&bob, &["label", "rm", "reviewer", "production"])
        .assert_ok();
    let head = team.env.git_in(&bob, &["rev-parse", "HEAD"]);
    let out = team.run(&bob, &["pull"]).assert_code(4);
    out.assert_stderr_has("prompts/reviewer.yaml");
    assert_eq!(team.env.git_in(&bob, &["rev-parse", "HEAD"]), head);
}

#[test]
fn unreachable_and_missing_remotes() {
    let env = Env::new();
    env.git(&["remote", "add", "origin", "git://127.0.0.1:1/nothing.git"]);
    let out = env.pulse(&["push"]).assert_code(6);
    out.assert_stderr_has("origin");
    env.pulse(&["pull", "nowhere"]).assert_code(2);
    let fresh = Env::new();
    fresh.pulse(&["pull"]).assert_code(2);
    let out = env
        .cmd_in(
            env.root.path(),
            &["clone", env.path("missing.git").to_str().unwrap(), "x"],
        )
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(3 | 6)),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn fetch_from_a_remote_without_a_clone_online_and_offline() {
    let team = Team::new(|p| format!("file://{}", p.display()));
    let daemon = GitDaemon::start();
    let url = daemon.url(&team.env.path("shared.git"));
    let nowhere = team.env.path("home");
    let from = |args: &[&str]| {
        let mut full = vec!["fetch"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--from", &url]);
        team.env.cmd_in(&nowhere, &full).output().unwrap()
    };
    // Online: latest, label and exact all read through a mirror in the cache dir.
    assert_eq!(
        from(&["reviewer"]).assert_ok().stdout_str(),
        "Be careful.\n"
    );
    assert_eq!(
        from(&["reviewer@production"]).assert_ok().stdout_str(),
        "Be careful.\n"
    );
    let mirrors = team.env.path("cache/progress-pulse/mirrors");
    assert_eq!(
        std::fs::read_dir(&mirrors)
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "git"))
            .count(),
        1
    );
    // A new release on the remote: within cache_ttl (60 s) latest is answered from the
    // mirror as it was; --refresh asks the remote; with no TTL every such read does.
    team.add(team.alice(), "reviewer", "1.1.0", "Newer.\n");
    team.run(team.alice(), &["push"]).assert_ok();
    assert_eq!(
        from(&["reviewer"]).assert_ok().stdout_str(),
        "Be careful.\n"
    );
    assert_eq!(
        from(&["reviewer", "--refresh"]).assert_ok().stdout_str(),
        "Newer.\n"
    );
    team.env.user_config("cache_ttl: 0\n");
    assert_eq!(from(&["reviewer"]).assert_ok().stdout_str(), "Newer.\n");
    assert_eq!(
        from(&["reviewer@1.0.0"]).assert_ok().stdout_str(),
        "Be careful.\n"
    );
    // Offline: the daemon is gone.
    drop(daemon);
    let out = from(&["reviewer@1.0.0"]).assert_ok();
    assert_eq!(out.stdout_str(), "Be careful.\n");
    assert_eq!(
        out.stderr_str(),
        "",
        "an exact cached release needs no network"
    );
    let out = from(&["reviewer@^1"]).assert_ok();
    assert_eq!(out.stdout_str(), "Newer.\n");
    out.assert_stderr_has("answering from the cache");
    let out = from(&["reviewer@2.0.0"]).assert_code(6);
    out.assert_stderr_has("cannot be reached");
    // A remote never cached and unreachable: exit 6.
    let out = team
        .env
        .cmd_in(
            &nowhere,
            &["fetch", "reviewer", "--from", "git://127.0.0.1:1/none.git"],
        )
        .output()
        .unwrap()
        .assert_code(6);
    assert!(out.stdout.is_empty());
    // A selector the remote cannot answer while online is plain not-found.
    let daemon = GitDaemon::start();
    let url2 = daemon.url(&team.env.path("shared.git"));
    team.env
        .cmd_in(&nowhere, &["fetch", "reviewer@^7", "--from", &url2])
        .output()
        .unwrap()
        .assert_code(3);
}

#[test]
fn round_trip_over_smart_http() {
    let server = HttpGit::start();
    round_trip(&Team::new(|p| server.url(p)));
}

#[test]
fn round_trip_over_ssh_urls() {
    // git runs $GIT_SSH_COMMAND host 'git-upload-pack path'; this stand-in for ssh runs the
    // command locally, so the ssh:// code path of git (and pulse) is exercised for real.
    let team_env_ssh = |env: &Env| {
        let script = env.path("fake-ssh");
        std::fs::write(
            &script,
            "#!/bin/sh\nwhile [ $# -gt 1 ]; do shift; done\nexec sh -c \"$1\"\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    };
    let env = Env::new();
    let ssh = team_env_ssh(&env);
    let bare = env.path("shared.git");
    env.git_in(
        env.root.path(),
        &["init", "-q", "--bare", bare.to_str().unwrap()],
    );
    let url = format!("ssh://pulse-test.invalid{}", bare.display());
    env.add("reviewer", "1.0.0", b"over ssh\n");
    env.git(&["remote", "add", "origin", &url]);
    let with_ssh = |cwd: &Path, args: &[&str]| {
        let mut cmd = env.cmd_in(cwd, args);
        cmd.env("GIT_SSH_COMMAND", &ssh);
        cmd.output().unwrap()
    };
    with_ssh(&env.repo, &["push"]).assert_ok();
    let bob = env.path("bob");
    with_ssh(env.root.path(), &["clone", &url, bob.to_str().unwrap()]).assert_ok();
    assert_eq!(
        with_ssh(&bob, &["fetch", "reviewer@1.0.0"])
            .assert_ok()
            .stdout_str(),
        "over ssh\n"
    );
    assert_eq!(
        with_ssh(&bob, &["pull"]).assert_ok().stdout_str(),
        "main: already up to date; 0 new releases\n"
    );
}

#[test]
fn pushing_many_releases_sends_exactly_the_release_tags() {
    let env = Env::new();
    let bare = env.path("shared.git");
    env.git_in(
        env.root.path(),
        &["init", "-q", "--bare", bare.to_str().unwrap()],
    );
    env.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    let layout = |dir: &Path, prompts: std::ops::Range<usize>| {
        for p in prompts {
            for v in 0..10 {
                let d = dir.join(format!("bulk/p{p}/1.{v}.0"));
                std::fs::create_dir_all(&d).unwrap();
                std::fs::write(d.join("content.md"), format!("prompt {p} version {v}\n")).unwrap();
            }
        }
    };
    layout(&env.path("first"), 0..7);
    env.pulse(&["import", env.path("first").to_str().unwrap()])
        .assert_ok();
    let out = env.pulse(&["push"]).assert_ok();
    assert!(
        out.stdout_str()
            .starts_with("main: pushed; 70 releases pushed\n"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(env.git_in(&bare, &["tag", "-l"]).lines().count(), 70);
    // A tag that is not a release stays local, however many releases go with it.
    env.git(&["tag", "-a", "v-local", "-m", "not a release"]);
    layout(&env.path("second"), 7..14);
    env.pulse(&["import", env.path("second").to_str().unwrap()])
        .assert_ok();
    let out = env.pulse(&["push"]).assert_ok();
    assert!(
        out.stdout_str()
            .starts_with("main: pushed; 70 releases pushed\n"),
        "{}",
        out.stdout_str()
    );
    let remote_tags = env.git_in(&bare, &["tag", "-l"]);
    assert_eq!(remote_tags.lines().count(), 140);
    assert!(!remote_tags.contains("v-local"));
    env.git_in(&bare, &["fsck", "--strict", "--no-dangling"]);
}
