//! Remotes that attack or fail: URLs and values shaped like git options or transport
//! helpers never run anything, git's messages are read the same in every locale, missing
//! and unreachable remotes get their own exit codes, and a release served once through
//! `fetch --from` can never change under the same version.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::servers::GitDaemon;
use crate::common::{Env, OutputExt};

/// A prompt repository with one release (`p@1.0.0`) pushed to a bare repository
/// `shared.git`, which is its `origin`. Git's user config allows the `ext::` transport,
/// so that only pulse stands between a hostile URL and a shell.
fn with_origin() -> (Env, PathBuf) {
    let env = Env::new();
    std::fs::write(
        env.path("home/.gitconfig"),
        "[protocol \"ext\"]\n\tallow = always\n",
    )
    .unwrap();
    let bare = env.path("shared.git");
    env.git_in(
        env.root.path(),
        &["init", "-q", "--bare", bare.to_str().unwrap()],
    );
    env.add("p", "1.0.0", b"first\n");
    env.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    env.pulse(&["push"]).assert_ok();
    // Every read that a newer release could change asks the remote (no TTL), so what
    // the remote does shows at once.
    env.user_config("cache_ttl: 0\n");
    (env, bare)
}

/// Values that a careless caller would hand to git as options or as a command to run.
/// Each one would create `marker` if git ran it.
fn hostile_values(marker: &Path) -> Vec<String> {
    let m = marker.display();
    vec![
        format!("--upload-pack=touch {m}"),
        format!("--receive-pack=touch {m}"),
        format!("-oProxyCommand=touch {m}"),
        format!("-c core.sshCommand=touch {m}"),
        format!("ext::sh -c touch% {m}"),
        format!("EXT::sh -c touch% {m}"),
        "fd::0".to_owned(),
        format!("evil::touch {m}"),
        format!("ssh://-oProxyCommand=touch%20{m}/x.git"),
        "ssh://%2DoProxyCommand=touch%20M/x.git".to_owned(),
        "ssh://user@-oProxyCommand=touch%20M/x.git".to_owned(),
        // scp-like `host:path`: no '/' before the ':', so the marker is relative.
        "-oProxyCommand=touch M:x.git".to_owned(),
        "user@-oProxyCommand=touch M:x.git".to_owned(),
    ]
}

/// The values of [`hostile_values`] that are no revision either.
fn hostile_revisions(marker: &Path) -> Vec<String> {
    hostile_values(marker)
        .into_iter()
        .filter(|v| v.starts_with('-') || v.contains("::"))
        .collect()
}

fn assert_refused(out: Output, value: &str, marker: &Path) {
    // An absolute marker, or a relative one made where pulse or git ran.
    let root = marker.parent().unwrap();
    for m in [marker, &root.join("repo/M"), &root.join("home/M")] {
        assert!(!m.exists(), "{value}: git ran the hostile command");
    }
    let out = out.assert_code(2);
    assert!(out.stdout.is_empty(), "{value}: {}", out.stdout_str());
    let err = out.stderr_str();
    assert!(err.starts_with("error: "), "{value}: {err}");
    assert!(err.contains("hint: "), "{value}: {err}");
}

fn mirrors(env: &Env) -> usize {
    std::fs::read_dir(env.path("cache/progress-pulse/mirrors"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn clone_refuses_option_shaped_and_helper_urls() {
    let (env, _) = with_origin();
    let marker = env.path("M");
    for value in hostile_values(&marker) {
        // Run where a bare `git ls-remote` would fall back to the repository's origin.
        let out = env.pulse(&["clone", "--", &value, "dst"]);
        assert_refused(out, &value, &marker);
        assert!(!env.repo.join("dst").exists(), "{value}");
        assert!(!env.repo.join("M").exists(), "{value}");
    }
}

#[test]
fn fetch_from_refuses_option_shaped_and_helper_urls() {
    let (env, _) = with_origin();
    let marker = env.path("M");
    for value in hostile_values(&marker) {
        let out = env.pulse(&["fetch", "p@1.0.0", &format!("--from={value}")]);
        assert_refused(out, &value, &marker);
        let out = env.pulse(&["fetch", "p", &format!("--from={value}")]);
        assert_refused(out, &value, &marker);
        assert_eq!(mirrors(&env), 0, "{value}: a mirror was made");
    }
}

#[test]
fn pull_and_push_refuse_option_shaped_remote_names() {
    let (env, _) = with_origin();
    let marker = env.path("M");
    for value in hostile_values(&marker) {
        for cmd in ["pull", "push"] {
            let out = env.pulse(&[cmd, "--", &value]);
            assert_refused(out, &value, &marker);
        }
    }
}

#[test]
fn pull_and_push_refuse_remotes_configured_with_hostile_urls() {
    let (env, bare) = with_origin();
    let marker = env.path("M");
    let refs = env.refs();
    for value in hostile_values(&marker) {
        // The URL itself, and a push URL that only push uses.
        env.git(&["config", "--", "remote.evil.url", &value]);
        env.git(&[
            "config",
            "remote.evil.fetch",
            "+refs/heads/*:refs/remotes/evil/*",
        ]);
        for cmd in ["pull", "push"] {
            assert_refused(env.pulse(&[cmd, "evil"]), &value, &marker);
        }
        env.git(&["config", "remote.evil.url", bare.to_str().unwrap()]);
        env.git(&["config", "--", "remote.evil.pushurl", &value]);
        assert_refused(env.pulse(&["push", "evil"]), &value, &marker);
        env.git(&["remote", "remove", "evil"]);
    }
    // A harmless-looking URL that git's own url.<base>.insteadOf turns into a helper: git
    // is told to allow only the real network protocols, and pulse says why it stopped.
    let m = marker.display();
    env.git(&[
        "config",
        "--global",
        &format!("url.ext::sh -c touch% {m}% .insteadOf"),
        "innocent:",
    ]);
    env.git(&["remote", "add", "sneaky", "innocent:shared.git"]);
    for cmd in ["pull", "push"] {
        let out = env.pulse(&[cmd, "sneaky"]);
        assert!(!marker.exists(), "{cmd}: git ran the rewritten URL");
        let out = out.assert_code(2);
        let err = out.stderr_str();
        assert!(err.contains("'ext'"), "{cmd}: {err}");
        assert!(err.contains("hint: "), "{cmd}: {err}");
    }
    let out = env
        .cmd_in(env.root.path(), &["clone", "innocent:shared.git", "dst"])
        .output()
        .unwrap();
    assert!(!marker.exists(), "clone: git ran the rewritten URL");
    out.assert_code(2);
    assert_eq!(env.refs(), refs, "a refused command changed refs");
}

#[test]
fn check_base_and_fetch_ref_refuse_option_shaped_revisions() {
    let (env, _) = with_origin();
    let marker = env.path("M");
    for value in hostile_revisions(&marker) {
        let out = env.pulse(&["check", &format!("--base={value}")]);
        assert_refused(out, &value, &marker);
        let out = env.pulse(&["fetch", "p", &format!("--ref={value}")]);
        assert_refused(out, &value, &marker);
    }
    // Ordinary revisions still work.
    env.pulse(&["check", "--base", "HEAD"]).assert_ok();
    env.pulse(&["check", "--base", "p@1.0.0"]).assert_ok();
}

#[test]
fn git_messages_are_read_in_english_whatever_the_locale() {
    // Debian's git has translations (the git on PATH may not): put it first on PATH and
    // run pulse in German.
    let (env, bare) = with_origin();
    let bin = env.path("de-bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink("/usr/bin/git", bin.join("git")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let german = |mut cmd: std::process::Command| {
        cmd.env("PATH", &path)
            .env("LANG", "de_DE.UTF-8")
            .env("LC_ALL", "de_DE.UTF-8")
            .env("LANGUAGE", "de");
        cmd.output().unwrap()
    };
    // Bob clones; Alice and Bob release different content as p@2.0.0; Alice pushes first.
    let bob = env.path("bob");
    german(env.cmd_in(env.root.path(), &["clone", bare.to_str().unwrap(), "bob"])).assert_ok();
    env.add("p", "2.0.0", b"Alice's 2.0\n");
    env.pulse(&["push"]).assert_ok();
    env.pulse_stdin_in(&bob, &["add", "p", "--version", "2.0.0"], b"Bob's 2.0\n")
        .assert_ok();
    // Not vacuous: this git really speaks German about exactly this conflict.
    let out = german(env.git_cmd_in(
        &bob,
        &[
            "fetch",
            "--atomic",
            "--no-tags",
            "--refmap=",
            "origin",
            "refs/tags/*:refs/tags/*",
        ],
    ));
    assert!(!out.status.success());
    let said = out.stderr_str();
    assert!(
        !said.contains("would clobber") && said.contains("würde"),
        "git does not speak German here (is the de_DE.UTF-8 locale generated?): {said}"
    );
    let refs = env.git_in(&bob, &["for-each-ref"]);
    for cmd in ["pull", "push"] {
        let out = german(env.cmd_in(&bob, &[cmd])).assert_code(4);
        let err = out.stderr_str();
        assert!(err.contains("'p@2.0.0'"), "{cmd}: {err}");
        assert_eq!(
            env.git_in(&bob, &["for-each-ref"]),
            refs,
            "{cmd} changed refs"
        );
    }
    // A branch the remote moved on is a conflict too, and a missing remote is not found.
    env.git_in(&bob, &["tag", "-d", "p@2.0.0"]);
    german(env.cmd_in(&bob, &["push"])).assert_code(4);
    env.git_in(&bob, &["remote", "set-url", "origin", "/nonexistent/x.git"]);
    german(env.cmd_in(&bob, &["pull"])).assert_code(3);
    german(env.cmd_in(&bob, &["push"])).assert_code(3);
    let port_closed = "git://127.0.0.1:1/x.git";
    env.git_in(&bob, &["remote", "set-url", "origin", port_closed]);
    german(env.cmd_in(&bob, &["pull"])).assert_code(6);
}

/// clone, `fetch --from` (exact, latest, range), pull and push of `url` all exit `code`.
fn expect_code(env: &Env, url: &str, code: i32) {
    let cwd = env.root.path();
    let out = env.cmd_in(cwd, &["clone", url, "dst"]).output().unwrap();
    let out = out.assert_code(code);
    out.assert_stderr_has("hint: ");
    assert!(!cwd.join("dst").exists(), "clone {url} left a directory");
    for spec in ["p@1.0.0", "p", "p@^1"] {
        let out = env
            .cmd_in(cwd, &["fetch", spec, "--from", url])
            .output()
            .unwrap()
            .assert_code(code);
        assert!(out.stdout.is_empty());
        let err = out.stderr_str();
        assert!(err.contains(url), "fetch {spec} --from {url}: {err}");
    }
    env.git(&["remote", "set-url", "origin", url]);
    for cmd in ["pull", "push"] {
        let out = env.pulse(&[cmd]).assert_code(code);
        out.assert_stderr_has("origin");
    }
}

#[test]
fn a_missing_remote_is_not_found_and_an_unreachable_one_unavailable() {
    let (env, _) = with_origin();
    let missing = env.path("missing.git");
    let not_a_repo = env.path("home");
    expect_code(&env, missing.to_str().unwrap(), 3);
    expect_code(&env, &format!("file://{}", missing.display()), 3);
    expect_code(&env, not_a_repo.to_str().unwrap(), 3);
    expect_code(&env, &format!("file://{}", not_a_repo.display()), 3);
    // A git daemon that is up but has no such repository.
    let daemon = GitDaemon::start();
    expect_code(&env, &daemon.url(&missing), 3);
    // Nothing listens on the port: the remote may exist but cannot be reached.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    expect_code(&env, &format!("git://127.0.0.1:{closed}/shared.git"), 6);
    expect_code(&env, &format!("http://127.0.0.1:{closed}/shared.git"), 6);
}

#[test]
fn fetch_from_a_relative_path_reads_that_path() {
    let (env, _) = with_origin();
    for url in ["shared.git", "./shared.git"] {
        let out = env
            .cmd_in(env.root.path(), &["fetch", "p@1.0.0", "--from", url])
            .output()
            .unwrap();
        assert_eq!(out.assert_ok().stdout_str(), "first\n");
    }
    let out = env
        .cmd_in(&env.repo, &["fetch", "p", "--from", "../shared.git"])
        .output()
        .unwrap();
    assert_eq!(out.assert_ok().stdout_str(), "first\n");
    // One mirror: the same repository, however it was named.
    assert_eq!(
        mirrors(&env),
        3,
        "a mirror, its lock file and its refresh stamp"
    );
}

#[test]
fn a_cached_remote_that_is_gone_is_believed_and_one_that_is_down_is_served_stale() {
    let (env, bare) = with_origin();
    let daemon = GitDaemon::start();
    let url = daemon.url(&bare);
    let nowhere = env.path("home");
    let from = |spec: &str, url: &str| {
        env.cmd_in(&nowhere, &["fetch", spec, "--from", url])
            .output()
            .unwrap()
    };
    assert_eq!(from("p", &url).assert_ok().stdout_str(), "first\n");
    // The daemon stops: a range is answered from the cache, with a warning.
    drop(daemon);
    let out = from("p@^1", &url).assert_ok();
    assert_eq!(out.stdout_str(), "first\n");
    out.assert_stderr_has("warning:");
    // A path remote that was deleted answers "no such repository": that is believed.
    let moved = env.path("moved.git");
    let plain = moved.to_str().unwrap();
    env.git_in(
        env.root.path(),
        &["clone", "-q", "--bare", bare.to_str().unwrap(), plain],
    );
    assert_eq!(from("p", plain).assert_ok().stdout_str(), "first\n");
    std::fs::remove_dir_all(&moved).unwrap();
    let out = from("p", plain).assert_code(3);
    assert!(out.stdout.is_empty());
    out.assert_stderr_has(plain);
    // An exact release already in the cache needs no remote at all.
    assert_eq!(from("p@1.0.0", plain).assert_ok().stdout_str(), "first\n");
}

fn sha256(bytes: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(bytes)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

/// Force-move `p@1.0.0` in the remote to a release with other content, as someone who
/// deletes and recreates a tag would.
fn force_move(env: &Env, content: &[u8]) {
    env.pulse(&["delete", "p@1.0.0", "--force"]).assert_ok();
    env.pulse_stdin(
        &["add", "p", "--version", "1.0.0", "--allow-older"],
        content,
    )
    .assert_ok();
    env.git(&[
        "push",
        "-q",
        "--force",
        "origin",
        "main",
        "refs/tags/p@1.0.0",
    ]);
}

#[test]
fn a_force_moved_release_is_an_integrity_failure_not_an_update() {
    let (env, bare) = with_origin();
    let daemon = GitDaemon::start();
    let url = daemon.url(&bare);
    let nowhere = env.path("home");
    let from = |spec: &str| {
        env.cmd_in(&nowhere, &["fetch", spec, "--from", &url])
            .output()
            .unwrap()
    };
    assert_eq!(from("p@1.0.0").assert_ok().stdout_str(), "first\n");
    // Recreating the tag with the same bytes (a new tag object) is no change.
    force_move(&env, b"first\n");
    assert_eq!(from("p@^1").assert_ok().stdout_str(), "first\n");
    force_move(&env, b"second\n");
    // Until the mirror is refreshed, the exact release is the pinned bytes.
    assert_eq!(from("p@1.0.0").assert_ok().stdout_str(), "first\n");
    let (old, new) = (sha256(b"first\n"), sha256(b"second\n"));
    let check = |out: Output| {
        let out = out.assert_code(5);
        assert!(out.stdout.is_empty(), "{}", out.stdout_str());
        let err = out.stderr_str();
        for part in ["p@1.0.0", &old, &new, &url, "hint: "] {
            assert!(err.contains(part), "missing {part:?}: {err}");
        }
    };
    // A range refreshes the mirror and sees the moved tag; from then on every read of
    // p@1.0.0 through this remote fails, whatever the selector.
    check(from("p@^1"));
    check(from("p@1.0.0"));
    check(from("p"));
    check(from("p@latest"));
    let out_file = env.path("out.md");
    check(
        env.cmd_in(
            &nowhere,
            &[
                "fetch",
                "p@1.0.0",
                "--from",
                &url,
                "-o",
                out_file.to_str().unwrap(),
            ],
        )
        .output()
        .unwrap(),
    );
    assert!(!out_file.exists());
    // A fresh mirror (the old one evicted) does not forget the pin either.
    std::fs::remove_dir_all(env.path("cache/progress-pulse/mirrors")).unwrap();
    check(from("p@1.0.0"));
    // Other releases of the same remote are unaffected.
    env.add("p", "1.1.0", b"third\n");
    env.pulse(&["push"]).assert_ok();
    assert_eq!(from("p@1.1.0").assert_ok().stdout_str(), "third\n");
}

#[test]
fn concurrent_first_reads_pin_once_and_agree() {
    let (env, bare) = with_origin();
    let url = format!("file://{}", bare.display());
    let nowhere = env.path("home");
    let children: Vec<_> = (0..8)
        .map(|i| {
            let spec = if i % 2 == 0 { "p@1.0.0" } else { "p" };
            env.cmd_in(&nowhere, &["fetch", spec, "--from", &url])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap().assert_ok();
        assert_eq!(out.stdout_str(), "first\n");
    }
    let pins = env.path("cache/progress-pulse/pins");
    let mut files = Vec::new();
    let mut stack = vec![pins];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        std::fs::read_to_string(&files[0]).unwrap(),
        format!("sha256:{}\n", sha256(b"first\n"))
    );
}
