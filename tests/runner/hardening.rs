//! Defects a hostile try of the released binary found, each kept fixed: held git locks,
//! version overflow, closed pipes, prefixes that match half a segment, symlinks out of
//! the export directory, settings that did nothing, and messages that sent users the
//! wrong way.

use std::process::Stdio;

use crate::common::{Env, OutputExt};

/// Run `pulse args` (in `env`'s repository) with stdout a pipe nobody reads.
fn with_closed_stdout(env: &Env, args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = env
        .cmd(args)
        .stdin(Stdio::piped())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn a_held_index_lock_is_waited_for_then_a_conflict_with_nothing_changed() {
    let env = Env::new();
    env.add("p", "1.0.0", b"one\n");
    let refs = env.refs();
    let lock = env.repo.join(".git/index.lock");
    std::fs::write(&lock, b"").unwrap();
    let out = env
        .pulse_stdin(&["add", "p", "--version", "1.1.0"], b"two\n")
        .assert_code(4);
    let err = out.stderr_str();
    assert!(err.contains("index.lock"), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(!err.contains("are made"), "{err}");
    assert_eq!(env.refs(), refs, "a ref moved although the lock was held");
    assert_eq!(
        std::fs::read(env.repo.join("prompts/p.md")).unwrap(),
        b"one\n"
    );
    // Labels and metadata wait for the same lock.
    env.pulse(&["label", "set", "p", "production", "1.0.0"])
        .assert_code(4);
    assert_eq!(env.refs(), refs);
    std::fs::remove_file(&lock).unwrap();
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    env.add("p", "1.1.0", b"two\n");
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    assert_eq!(env.pulse(&["fetch", "p"]).assert_ok().stdout, b"two\n");
    env.git_in(&env.repo, &["fsck", "--strict", "--no-dangling"]);
}

#[test]
fn a_bump_past_the_largest_version_is_refused() {
    let max = u64::MAX;
    for (bump, version) in [
        ("major", format!("{max}.0.0")),
        ("minor", format!("1.{max}.0")),
        ("patch", format!("1.2.{max}")),
    ] {
        let env = Env::new();
        env.add("p", &version, b"x");
        let refs = env.refs();
        let out = env
            .pulse_stdin(&["add", "p", "--bump", bump], b"y")
            .assert_code(2);
        out.assert_stderr_has("overflow");
        assert_eq!(env.refs(), refs);
    }
}

#[test]
fn a_closed_stdout_is_a_quiet_success_for_every_command() {
    let env = Env::new();
    // A message long enough that the JSON outgrows a pipe's buffer (and short enough
    // for one command-line argument).
    let long = "m".repeat(100_000);
    env.pulse_stdin(&["add", "p", "--version", "1.0.0", "-m", &long], b"one\n")
        .assert_ok();
    env.add("p", "1.1.0", b"two\n");
    env.pulse(&["label", "set", "p", "production", "1.0.0"])
        .assert_ok();
    let remote = env.path("remote.git");
    env.git_in(
        env.root.path(),
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    );
    env.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    let export = env.path("export");
    let clone = env.path("clone");
    let layout = env.path("layout");
    env.pulse(&["export", layout.to_str().unwrap()]).assert_ok();
    // A consumer repository of the prompts.
    let app = env.path("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("pulse.yaml"),
        format!(
            "store: {}\nprompts:\n  p:\n    version: production\n    install: [A.md, B.md]\n",
            env.repo.display()
        ),
    )
    .unwrap();
    let app_s: String = app.to_str().unwrap().into();
    let commands: Vec<Vec<String>> = vec![
        vec!["--help".into()],
        vec!["--version".into()],
        vec!["completions".into(), "bash".into()],
        vec!["completions".into(), "zsh".into()],
        vec!["init".into()],
        vec!["add".into(), "q".into(), "--version".into(), "1.0.0".into()],
        vec![
            "release".into(),
            "p".into(),
            "--version".into(),
            "1.1.0".into(),
        ],
        vec!["fetch".into(), "p".into()],
        vec!["render".into(), "p".into()],
        vec!["show".into(), "p@1.0.0".into()],
        vec!["list".into()],
        vec!["versions".into(), "p".into()],
        vec!["search".into(), "--all-versions".into(), "o".into()],
        vec!["log".into(), "p".into()],
        vec!["diff".into(), "p@1.0.0".into(), "p@1.1.0".into()],
        vec!["label".into(), "list".into()],
        vec!["label".into(), "history".into(), "p".into()],
        vec![
            "label".into(),
            "set".into(),
            "p".into(),
            "staging".into(),
            "1.1.0".into(),
        ],
        vec!["label".into(), "rm".into(), "p".into(), "staging".into()],
        vec!["verify".into()],
        vec!["check".into()],
        vec!["config".into()],
        vec!["install".into(), "--manifest".into(), app_s.clone()],
        vec!["status".into(), "--manifest".into(), app_s.clone()],
        vec!["outdated".into(), app_s.clone()],
        vec!["update".into(), "--manifest".into(), app_s.clone()],
        vec!["export".into(), export.to_str().unwrap().into()],
        vec!["import".into(), layout.to_str().unwrap().into()],
        vec!["push".into()],
        vec!["pull".into()],
        vec![
            "clone".into(),
            remote.to_str().unwrap().into(),
            clone.to_str().unwrap().into(),
        ],
    ];
    for format in ["text", "json"] {
        for args in &commands {
            if format == "json" && args[0] == "clone" {
                std::fs::remove_dir_all(&clone).unwrap();
            }
            let mut full: Vec<&str> = vec!["--format", format];
            full.extend(args.iter().map(String::as_str));
            let out = with_closed_stdout(&env, &full, b"q");
            assert_eq!(out.status.code(), Some(0), "{full:?}: {}", out.stderr_str());
            assert!(
                out.stderr_str().is_empty() || !out.stderr_str().contains("panicked"),
                "{full:?}: {}",
                out.stderr_str()
            );
        }
        // delete, in a repository without a remote.
        let alone = Env::new();
        alone.add("d", "1.0.0", b"d");
        let out = with_closed_stdout(&alone, &["--format", format, "delete", "d@1.0.0"], b"");
        assert_eq!(out.status.code(), Some(0), "{}", out.stderr_str());
    }
}

#[test]
fn prefixes_match_whole_segments() {
    let env = Env::new();
    for name in ["team/a", "teammate/b", "team"] {
        env.add(name, "1.0.0", name.as_bytes());
    }
    let names = |args: &[&str]| -> Vec<String> {
        let out = env.pulse(args).assert_ok();
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&["list", "team/", "--format", "json"]),
        ["team", "team/a"]
    );
    assert_eq!(
        names(&["list", "team", "--format", "json"]),
        ["team", "team/a"]
    );
    assert!(names(&["list", "tea", "--format", "json"]).is_empty());
    env.pulse(&["list", "Team/"]).assert_code(2);
    let out = env.path("out");
    env.pulse(&["export", out.to_str().unwrap(), "--prefix", "team"])
        .assert_ok();
    assert!(out.join("team/a/1.0.0/content.md").exists());
    assert!(!out.join("teammate").exists());
}

#[test]
fn export_never_follows_a_symlink_out_of_its_directory() {
    let env = Env::new();
    env.add("p", "1.0.0", b"secret\n");
    env.add("team/q", "1.0.0", b"other\n");
    let outside = env.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    // The prompt's directory, a release's directory, a nested segment, and a file.
    for (link, target_is_dir) in [
        ("p", true),
        ("p/1.0.0", true),
        ("team", true),
        ("p/1.0.0/content.md", false),
    ] {
        let out = env.path("export");
        let _ = std::fs::remove_dir_all(&out);
        let at = out.join(link);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        let target = if target_is_dir {
            outside.clone()
        } else {
            outside.join("content.md")
        };
        std::os::unix::fs::symlink(&target, &at).unwrap();
        let res = env.pulse(&["export", out.to_str().unwrap()]);
        let code = res.status.code();
        assert!(
            code == Some(4) || code == Some(2),
            "{link}: {code:?} {}",
            res.stderr_str()
        );
        assert!(
            res.stderr_str().contains("symbolic link") || res.stderr_str().contains("not a"),
            "{link}: {}",
            res.stderr_str()
        );
        assert_eq!(
            std::fs::read_dir(&outside).unwrap().count(),
            0,
            "{link}: something was written outside the export directory"
        );
    }
}

#[test]
fn log_levels_and_json_diagnostics_do_something() {
    let env = Env::new();
    env.add("p", "1.0.0", b"x");
    // debug says what pulse opened; trace adds timings; the default says neither.
    let plain = env.pulse(&["fetch", "p"]).assert_ok();
    assert_eq!(plain.stderr_str(), "");
    let debug = env
        .pulse(&["--log-level", "debug", "fetch", "p"])
        .assert_ok();
    debug.assert_stderr_has("debug: opened the repository");
    assert!(!debug.stderr_str().contains("trace:"));
    let trace = env
        .pulse(&["--log-level", "trace", "fetch", "p"])
        .assert_ok();
    trace.assert_stderr_has("trace: ");
    // info (the default) shows notes; warn hides them.
    let note = env.pulse_stdin(&["add", "p", "--version", "1.0.0"], b"x");
    assert!(note.stderr_str().contains("note: "));
    let warn_only = env.pulse_stdin(
        &["--log-level", "warn", "add", "p", "--version", "1.0.0"],
        b"x",
    );
    assert_eq!(warn_only.stderr_str(), "");
    // log_format: json turns every diagnostic into a JSON line, the error too.
    let config = env.path("config/progress-pulse/config.yaml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "log_format: json\nlog_level: debug\nfancy: 1\n").unwrap();
    let out = env.pulse(&["fetch", "p@9.9.9"]).assert_code(3);
    let lines: Vec<serde_json::Value> = out
        .stderr_str()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "warn" && l["message"].as_str().unwrap().contains("fancy"))
    );
    assert!(lines.iter().any(|l| l["level"] == "debug"));
    let last = lines.last().unwrap();
    assert_eq!(last["level"], "error");
    assert_eq!(last["exit_code"], 3);
    assert!(last["message"].as_str().unwrap().contains("9.9.9"));
    assert!(
        last["hints"][0]
            .as_str()
            .unwrap()
            .contains("pulse versions p")
    );
    // A value pulse does not know is refused with a message, never silently accepted.
    std::fs::write(&config, "log_format: xml\n").unwrap();
    let out = env.pulse(&["fetch", "p"]).assert_code(2);
    out.assert_stderr_has("log_format");
}

#[test]
fn quiet_silences_every_note_and_warning() {
    let env = Env::new();
    env.add("p", "1.0.0", b"x");
    let config = env.path("config/progress-pulse/config.yaml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "fancy: 1\n").unwrap();
    let loud = env.pulse_stdin(&["add", "p", "--version", "1.0.0"], b"x");
    loud.assert_stderr_has("warning: ");
    loud.assert_stderr_has("note: ");
    for args in [
        vec!["--quiet", "add", "p", "--version", "1.0.0"],
        vec!["-q", "fetch", "p"],
        vec!["-q", "--log-level", "debug", "list"],
        vec!["-q", "config"],
    ] {
        let out = env.pulse_stdin(&args, b"x").assert_ok();
        assert_eq!(out.stderr_str(), "", "{args:?}");
    }
    // Errors are still said.
    let out = env.pulse(&["-q", "fetch", "p@2.0.0"]).assert_code(3);
    assert!(out.stderr_str().contains("error: "));
}

#[test]
fn label_errors_get_label_hints() {
    let env = Env::new();
    env.add("p", "1.0.0", b"x");
    let too_long = "a".repeat(65);
    for label in ["", too_long.as_str(), "Prod", "latest", "1x"] {
        let out = env
            .pulse(&["label", "set", "p", label, "1.0.0"])
            .assert_code(2);
        let err = out.stderr_str();
        assert!(err.contains("not a valid label"), "{label:?}: {err}");
        assert!(err.contains("hint: labels are"), "{label:?}: {err}");
        assert!(!err.contains("names are"), "{label:?}: {err}");
    }
    let out = env.pulse(&["fetch", "p@staging"]).assert_code(3);
    out.assert_stderr_has("'pulse label list p'");
    let out = env.pulse(&["label", "rm", "p", "staging"]).assert_code(3);
    out.assert_stderr_has("'pulse label list p'");
}
