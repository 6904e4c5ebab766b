//! `pulse sync` between stores, and the release commands on a directory store.

use std::path::Path;
use std::process::Stdio;

use crate::common::{Env, OutputExt};

/// Content that every store must keep byte for byte.
const CONTENTS: [(&str, &[u8]); 4] = [
    ("1.0.0", b"line one\r\nline two\r\n"),
    ("1.1.0", b""),
    ("1.2.0", b"no final newline"),
    ("2.0.0", b"\xff\xfe not utf-8 \x00\n"),
];

/// A repository with `team/p` (four releases, a description, keywords, messages, a
/// label) and `q`.
fn seeded() -> Env {
    let env = Env::new();
    for (i, (version, content)) in CONTENTS.iter().enumerate() {
        let message = format!("release number {i}");
        env.pulse_stdin(
            &[
                "add",
                "team/p",
                "--version",
                version,
                "--description",
                "The P prompt",
                "--tags",
                "a,b",
                "--message",
                &message,
            ],
            content,
        )
        .assert_ok();
    }
    env.add("q", "0.1.0", b"q\n");
    env.pulse(&["label", "set", "team/p", "production", "1.1.0"])
        .assert_ok();
    env
}

/// [`seeded`], synced to a directory store at `<root>/dist`.
fn synced() -> (Env, std::path::PathBuf) {
    let env = seeded();
    let dir = env.path("dist");
    env.pulse(&["sync", env.repo.to_str().unwrap(), dir.to_str().unwrap()])
        .assert_ok();
    (env, dir)
}

/// Run `pulse sync SRC DST` to the end after runs were killed: all `total` releases are
/// then copied or already there, a second run copies nothing, and DST verifies.
pub fn sync_completes(env: &Env, src: &str, dst: &str, total: u64) {
    let report = json(
        &env.pulse(&["sync", src, dst, "--format", "json"])
            .assert_ok(),
    );
    let copied = report["copied"].as_array().unwrap().len() as u64;
    assert_eq!(
        copied + report["unchanged"].as_u64().unwrap(),
        total,
        "{report}"
    );
    let again = json(
        &env.pulse(&["sync", src, dst, "--format", "json"])
            .assert_ok(),
    );
    assert_eq!(again["copied"], serde_json::json!([]));
    assert_eq!(again["unchanged"], total);
    env.pulse(&["--store", dst, "verify"]).assert_ok();
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `show --format json` without the fields only a git store has.
fn shown(env: &Env, store: &Path, spec: &str) -> serde_json::Value {
    let out = env
        .pulse(&[
            "--store",
            store.to_str().unwrap(),
            "show",
            spec,
            "--format",
            "json",
        ])
        .assert_ok();
    let mut v = json(&out);
    let obj = v.as_object_mut().unwrap();
    obj.remove("commit");
    obj.remove("path");
    v
}

#[test]
fn git_to_directory_to_git_keeps_every_byte_and_all_metadata() {
    let env = seeded();
    let dir = env.path("dist");
    let out = env
        .pulse(&["sync", env.repo.to_str().unwrap(), dir.to_str().unwrap()])
        .assert_ok();
    assert!(
        out.stdout_str().contains("copied team/p@1.0.0"),
        "{}",
        out.stdout_str()
    );
    // stderr is not a terminal here: no progress bar, nothing at all.
    assert!(out.stderr.is_empty(), "{}", out.stderr_str());
    // The files are plain: a web server or `cat` reads them.
    for (version, content) in CONTENTS {
        let file = dir.join("team/p").join(version).join("content.md");
        assert_eq!(std::fs::read(&file).unwrap(), content, "{}", file.display());
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("team/p/1.0.0/metadata.json")).unwrap())
            .unwrap();
    assert_eq!(meta["author"], "Ada Tester <ada@example.com>");
    assert_eq!(meta["message"], "release number 0");
    assert_eq!(meta["created_at"], "2024-01-02T03:04:05+00:00");
    assert_eq!(meta["description"], "The P prompt");
    let labels: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("team/p/labels.json")).unwrap()).unwrap();
    assert_eq!(labels, serde_json::json!({"production": "1.1.0"}));
    assert!(dir.join("_pulse.json").is_file());
    assert!(dir.join("team/p/_index.json").is_file());

    // Into a second repository, made at another time by someone else: nothing is
    // re-authored.
    let other = env.path("other");
    env.pulse(&["init", other.to_str().unwrap()]).assert_ok();
    env.cmd(&["sync", dir.to_str().unwrap(), other.to_str().unwrap()])
        .env("PULSE_TIMESTAMP", "1800000000")
        .env("GIT_AUTHOR_NAME", "Somebody Else")
        .output()
        .unwrap()
        .assert_ok();
    for (version, content) in CONTENTS {
        let spec = format!("team/p@{version}");
        for store in [&env.repo, &dir, &other] {
            let got = env
                .pulse(&["--store", store.to_str().unwrap(), "fetch", &spec])
                .assert_ok();
            assert_eq!(got.stdout, content, "{spec} from {}", store.display());
        }
        let original = shown(&env, &env.repo, &spec);
        assert_eq!(
            shown(&env, &dir, &spec),
            original,
            "{spec} in the directory"
        );
        assert_eq!(
            shown(&env, &other, &spec),
            original,
            "{spec} in the second repository"
        );
    }
    let tagger = env.git_in(
        &other,
        &[
            "for-each-ref",
            "refs/tags/team/p@1.0.0",
            "--format=%(taggername) %(taggerdate:unix)",
        ],
    );
    assert_eq!(tagger.trim(), "Ada Tester 1704164645");
    let labels = env
        .pulse(&[
            "--store",
            other.to_str().unwrap(),
            "label",
            "list",
            "team/p",
        ])
        .assert_ok();
    assert!(
        labels.stdout_str().contains("production"),
        "{}",
        labels.stdout_str()
    );
    env.git_in(&other, &["fsck", "--strict"]);
}

#[test]
fn a_second_sync_copies_nothing_and_says_so() {
    let env = seeded();
    let dir = env.path("dist");
    let (src, dst) = (env.repo.to_str().unwrap(), dir.to_str().unwrap());
    let first = json(
        &env.pulse(&["sync", src, dst, "--format", "json"])
            .assert_ok(),
    );
    assert_eq!(first["copied"].as_array().unwrap().len(), 5);
    assert_eq!(first["labels"].as_array().unwrap().len(), 1);
    let second = json(
        &env.pulse(&["sync", src, dst, "--format", "json"])
            .assert_ok(),
    );
    assert_eq!(second["copied"], serde_json::json!([]));
    assert_eq!(second["labels"], serde_json::json!([]));
    assert_eq!(second["unchanged"], 5);
    let text = env.pulse(&["sync", src, dst]).assert_ok();
    assert!(
        text.stdout_str().contains("up to date"),
        "{}",
        text.stdout_str()
    );
    // A label moved in the source follows; a label only the destination has stays.
    env.pulse(&["label", "set", "team/p", "production", "2.0.0"])
        .assert_ok();
    env.pulse(&["--store", dst, "label", "set", "q", "mine", "0.1.0"])
        .assert_ok();
    let third = json(
        &env.pulse(&["sync", src, dst, "--format", "json"])
            .assert_ok(),
    );
    assert_eq!(third["copied"], serde_json::json!([]));
    assert_eq!(
        third["labels"],
        serde_json::json!([{"name": "team/p", "label": "production", "from": "1.1.0", "to": "2.0.0"}])
    );
    let labels = env.pulse(&["--store", dst, "label", "list"]).assert_ok();
    assert!(
        labels.stdout_str().contains("mine"),
        "{}",
        labels.stdout_str()
    );
}

#[test]
fn a_release_the_destination_has_with_other_content_is_a_conflict() {
    let env = seeded();
    let dir = env.path("dist");
    let dst = dir.to_str().unwrap();
    // Another repository released team/p@1.0.0 with other bytes and synced it there first.
    let rival = env.path("rival");
    env.pulse(&["init", rival.to_str().unwrap()]).assert_ok();
    env.pulse_stdin_in(&rival, &["add", "team/p", "--version", "1.0.0"], b"rival\n")
        .assert_ok();
    env.pulse(&["sync", rival.to_str().unwrap(), dst])
        .assert_ok();
    let out = env
        .pulse(&["sync", env.repo.to_str().unwrap(), dst, "--format", "json"])
        .assert_code(4);
    let report = json(&out);
    let conflicts = report["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{report}");
    assert_eq!(conflicts[0]["version"], "1.0.0");
    out.assert_stderr_has("left alone");
    // Nothing was overwritten; everything else was copied.
    assert_eq!(
        std::fs::read(dir.join("team/p/1.0.0/content.md")).unwrap(),
        b"rival\n"
    );
    assert_eq!(report["copied"].as_array().unwrap().len(), 4);
    env.pulse(&["--store", dst, "verify"]).assert_ok();
}

#[test]
fn dry_run_says_what_it_would_do_and_writes_nothing() {
    let env = seeded();
    let dir = env.path("dist");
    let out = env
        .pulse(&[
            "sync",
            "--dry-run",
            env.repo.to_str().unwrap(),
            dir.to_str().unwrap(),
        ])
        .assert_ok();
    assert!(
        out.stdout_str().contains("would copy team/p@2.0.0"),
        "{}",
        out.stdout_str()
    );
    assert!(
        out.stdout_str()
            .contains("would move label team/p@production")
    );
    assert!(!dir.exists());
}

#[test]
fn release_commands_work_on_a_directory_store() {
    let (env, dir) = synced();
    let dst = dir.to_str().unwrap();
    // Run from outside any repository: the store is all there is.
    let outside = env.path("home");
    let run = |args: &[&str]| {
        let mut all = vec!["--store", dst];
        all.extend_from_slice(args);
        env.cmd_in(&outside, &all).output().unwrap()
    };
    assert!(run(&["list"]).assert_ok().stdout_str().contains("team/p"));
    let versions = run(&["versions", "team/p"]).assert_ok().stdout_str();
    assert!(
        versions.contains("2.0.0") && versions.contains("production"),
        "{versions}"
    );
    assert!(
        run(&["log", "team/p"])
            .assert_ok()
            .stdout_str()
            .contains("release number 3")
    );
    assert_eq!(
        run(&["fetch", "team/p@^1"]).assert_ok().stdout,
        b"no final newline"
    );
    assert_eq!(run(&["fetch", "team/p@production"]).assert_ok().stdout, b"");
    run(&["label", "set", "team/p", "staging", "1.2.0"]).assert_ok();
    assert_eq!(
        run(&["fetch", "team/p@staging"]).assert_ok().stdout,
        b"no final newline"
    );
    run(&["label", "rm", "team/p", "staging"]).assert_ok();
    run(&["fetch", "team/p@staging"]).assert_code(3);
    // A label guards its release; an unlabelled one can be deleted.
    run(&["delete", "team/p@1.1.0"]).assert_code(4);
    run(&["delete", "team/p@1.2.0"]).assert_ok();
    assert!(!dir.join("team/p/1.2.0").exists());
    run(&["fetch", "team/p@1.2.0"]).assert_code(3);
    run(&["verify"]).assert_ok();
    // PULSE_STORE and the configuration name the store too.
    let by_env = env
        .cmd_in(&outside, &["fetch", "q"])
        .env("PULSE_STORE", dst)
        .output()
        .unwrap()
        .assert_ok();
    assert_eq!(by_env.stdout, b"q\n");
    let config = env.path("config/progress-pulse/config.yaml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!("storage: filesystem\nstorage_path: {dst}\n"),
    )
    .unwrap();
    let by_config = env
        .cmd_in(&outside, &["fetch", "q"])
        .output()
        .unwrap()
        .assert_ok();
    assert_eq!(by_config.stdout, b"q\n");
    // Export is a copy into a directory store.
    let export = env.path("export");
    run(&["export", export.to_str().unwrap()]).assert_ok();
    assert_eq!(
        std::fs::read(export.join("team/p/1.0.0/content.md")).unwrap(),
        b"line one\r\nline two\r\n"
    );
}

#[test]
fn bad_addresses_and_missing_stores_have_their_exit_codes() {
    let env = seeded();
    let repo = env.repo.to_str().unwrap();
    env.pulse(&["--store", "ftp://example.com/x", "list"])
        .assert_code(2);
    env.pulse(&["sync", repo, "ftp://example.com/x"])
        .assert_code(2);
    env.pulse(&["sync", repo, "--", "-x"]).assert_code(2);
    env.pulse(&["sync", repo, "ext::sh -c touch% x"])
        .assert_code(2);
    // A git remote is read, never written directly.
    env.pulse(&["sync", repo, "git://127.0.0.1:9/x"])
        .assert_code(2);
    let missing = env.path("nothing-here");
    let out = env
        .pulse(&[
            "sync",
            missing.to_str().unwrap(),
            env.path("dst").to_str().unwrap(),
        ])
        .assert_code(3);
    out.assert_stderr_has("nothing-here");
    env.pulse(&["--store", missing.to_str().unwrap(), "list"])
        .assert_code(3);
    env.pulse(&["--store", missing.to_str().unwrap(), "fetch", "q"])
        .assert_code(3);
    assert!(!env.path("dst").exists());
    // A file where the directory store should be.
    std::fs::write(env.path("file"), b"x").unwrap();
    env.pulse(&["sync", repo, env.path("file").to_str().unwrap()])
        .assert_code(2);
}

#[test]
fn a_symlink_inside_a_directory_store_is_refused_not_followed() {
    let env = seeded();
    let dir = env.path("dist");
    env.pulse(&["sync", env.repo.to_str().unwrap(), dir.to_str().unwrap()])
        .assert_ok();
    let outside = env.path("outside");
    std::fs::create_dir_all(outside.join("1.0.0")).unwrap();
    std::fs::write(outside.join("1.0.0/content.md"), b"secret").unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("evil")).unwrap();
    let out = env
        .pulse(&["--store", dir.to_str().unwrap(), "fetch", "evil@1.0.0"])
        .assert_code(4);
    assert!(!out.stdout_str().contains("secret"));
    env.pulse(&["--store", dir.to_str().unwrap(), "list"])
        .assert_code(2);
}

#[test]
fn a_sync_killed_at_random_moments_completes_when_run_again() {
    let env = Env::new();
    env.import_many(100, 10);
    let dir = env.path("dist");
    let (src, dst) = (env.repo.to_str().unwrap(), dir.to_str().unwrap());
    // A reader checks the destination while it is written and killed: every release it
    // lists is whole and matches its checksum.
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut rounds = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let out = env.pulse(&["--store", dst, "verify", "--quiet"]);
                let code = out.status.code();
                assert!(
                    code == Some(0) || code == Some(3),
                    "a reader saw a broken release: {}",
                    out.stderr_str()
                );
                rounds += 1;
            }
            rounds
        });
        env.kill_midway(
            &["sync", src, dst],
            6,
            20..420,
            0x2545_f491_4f6c_dd1d,
            || {},
        );
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
    });
    sync_completes(&env, src, dst, 1000);
    // No temporary file is visible as a release, and none is left by the last run.
    let versions = env
        .pulse(&["--store", dst, "versions", "set/prompt-042"])
        .assert_ok();
    assert_eq!(
        versions.stdout_str().lines().count(),
        10,
        "{}",
        versions.stdout_str()
    );
}

#[test]
fn fetch_from_a_directory_store_pins_what_it_read() {
    let (env, dir) = synced();
    let dst = dir.to_str().unwrap();
    let outside = env.path("home");
    let fetch = |spec: &str| {
        env.cmd_in(&outside, &["fetch", spec, "--from", dst])
            .output()
            .unwrap()
    };
    assert_eq!(fetch("team/p@production").assert_ok().stdout, b"");
    assert_eq!(fetch("q").assert_ok().stdout, b"q\n");
    // Someone replaces the release whole (content and metadata agree with each other):
    // the store verifies, but it is not what was read before.
    let release = dir.join("q/0.1.0");
    std::fs::write(release.join("content.md"), b"changed\n").unwrap();
    let meta = std::fs::read_to_string(release.join("metadata.json")).unwrap();
    let changed = {
        use std::fmt::Write as _;
        let digest = {
            let out = std::process::Command::new("sha256sum")
                .arg(release.join("content.md"))
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap()[..64].to_owned()
        };
        let mut v: serde_json::Value = serde_json::from_str(&meta).unwrap();
        v["checksum"] = format!("sha256:{digest}").into();
        v["size"] = 8.into();
        let mut s = String::new();
        write!(s, "{v}").unwrap();
        s
    };
    std::fs::write(release.join("metadata.json"), changed).unwrap();
    let out = fetch("q@0.1.0").assert_code(5);
    out.assert_stderr_has("changed");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_git_remote_is_a_source_read_through_its_mirror() {
    let env = seeded();
    let daemon = crate::common::servers::GitDaemon::start();
    let url = daemon.url(&env.repo);
    let dir = env.path("dist");
    let out = env
        .pulse(&["sync", &url, dir.to_str().unwrap(), "--format", "json"])
        .assert_ok();
    assert_eq!(json(&out)["copied"].as_array().unwrap().len(), 5);
    assert_eq!(
        std::fs::read(dir.join("team/p/1.0.0/content.md")).unwrap(),
        b"line one\r\nline two\r\n"
    );
    let labels: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("team/p/labels.json")).unwrap()).unwrap();
    assert_eq!(labels["production"], "1.1.0");
    // The release commands read the remote too, and it is never written.
    let versions = env
        .pulse(&["--store", &url, "versions", "team/p"])
        .assert_ok();
    assert!(
        versions.stdout_str().contains("2.0.0"),
        "{}",
        versions.stdout_str()
    );
    env.pulse(&["sync", dir.to_str().unwrap(), &url])
        .assert_code(2);
}

#[test]
fn a_progress_bar_is_drawn_on_a_terminal_only() {
    let env = Env::new();
    env.import_many(20, 10);
    let dir = env.path("dist");
    // `script` (util-linux) runs the command on a pseudo-terminal and records what it drew.
    let sync = format!(
        "{} sync {} {}",
        env!("CARGO_BIN_EXE_pulse"),
        env.repo.display(),
        dir.display()
    );
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &sync, "/dev/null"]);
    for (k, v) in [
        ("HOME", env.path("home")),
        ("XDG_CONFIG_HOME", env.path("config")),
        ("XDG_CACHE_HOME", env.path("cache")),
    ] {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("script (util-linux) runs");
    let drawn = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{drawn}");
    assert!(
        drawn.contains("sync [") && drawn.contains("/200 releases"),
        "{drawn}"
    );
    // With --quiet, or when stderr is not a terminal (every other test), there is none.
    let quiet = std::process::Command::new("script")
        .args(["-qec", &format!("{sync}-again --quiet"), "/dev/null"])
        .env("HOME", env.path("home"))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&quiet.stdout).contains("sync ["));
}

#[test]
fn label_moves_from_many_processes_at_once_are_all_kept() {
    let (env, dir) = synced();
    let dst = dir.to_str().unwrap();
    let children: Vec<_> = (0..8)
        .map(|i| {
            let label = format!("l{i}");
            let version = CONTENTS[i % CONTENTS.len()].0;
            env.cmd(&["--store", dst, "label", "set", "team/p", &label, version])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let labels = env
        .pulse(&["--store", dst, "label", "list", "team/p"])
        .assert_ok();
    for i in 0..8 {
        assert!(
            labels.stdout_str().contains(&format!("l{i} ")),
            "{}",
            labels.stdout_str()
        );
    }
}

#[test]
fn a_directory_store_says_what_it_allows_and_which_format_it_is() {
    let (env, dir) = synced();
    let dst = dir.to_str().unwrap();
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("_pulse.json")).unwrap()).unwrap();
    assert_eq!(
        info,
        serde_json::json!({"format": 1, "allow": {"delete": true}})
    );
    // A store that forbids deletion refuses it, and keeps the release.
    std::fs::write(
        dir.join("_pulse.json"),
        br#"{"format": 1, "allow": {"delete": false}}"#,
    )
    .unwrap();
    let out = env
        .pulse(&["--store", dst, "delete", "team/p@1.2.0"])
        .assert_code(4);
    out.assert_stderr_has("does not allow deleting");
    assert!(dir.join("team/p/1.2.0/content.md").exists());
    // A layout newer than this pulse reads is refused, not guessed at.
    std::fs::write(dir.join("_pulse.json"), br#"{"format": 99}"#).unwrap();
    let out = env
        .pulse(&["--store", dst, "label", "set", "q", "x", "0.1.0"])
        .assert_code(2);
    out.assert_stderr_has("format 99");
}

#[test]
fn the_catalog_names_the_prompts_with_releases() {
    let (env, dir) = synced();
    let dst = dir.to_str().unwrap();
    let catalog = || std::fs::read_to_string(dir.join("_catalog.json")).unwrap();
    assert_eq!(
        catalog(),
        "{\n  \"prompts\": [\n    \"q\",\n    \"team/p\"\n  ]\n}\n"
    );
    // A new prompt joins it, a new release of a known one changes nothing.
    let sync = || {
        env.pulse(&["sync", env.repo.to_str().unwrap(), dst])
            .assert_ok()
    };
    env.add("a/b", "1.0.0", b"x");
    env.add("q", "0.2.0", b"y");
    sync();
    let names: serde_json::Value = serde_json::from_str(&catalog()).unwrap();
    assert_eq!(names["prompts"], serde_json::json!(["a/b", "q", "team/p"]));
    // A prompt that loses its last release leaves it.
    env.pulse(&["--store", dst, "delete", "a/b@1.0.0"])
        .assert_ok();
    let names: serde_json::Value = serde_json::from_str(&catalog()).unwrap();
    assert_eq!(names["prompts"], serde_json::json!(["q", "team/p"]));
    // It is derived: removed, the next write builds it again from the files (this sync
    // also copies a/b@1.0.0 again, which the repository still has).
    std::fs::remove_file(dir.join("_catalog.json")).unwrap();
    env.add("q", "0.3.0", b"z");
    sync();
    let names: serde_json::Value = serde_json::from_str(&catalog()).unwrap();
    assert_eq!(names["prompts"], serde_json::json!(["a/b", "q", "team/p"]));
}
