//! The command line itself: help, version, completions, JSON everywhere, odd paths.

use crate::common::{Env, OutputExt};

#[test]
fn help_version_and_completions() {
    let env = Env::new();
    let out = env.pulse(&["--help"]).assert_ok();
    assert!(
        out.stdout_str()
            .contains("Git-native manager for LLM instruction prompts")
    );
    for cmd in [
        "init",
        "add",
        "release",
        "fetch",
        "show",
        "list",
        "versions",
        "log",
        "diff",
        "label",
        "delete",
        "verify",
        "import",
        "export",
        "completions",
        "config",
    ] {
        env.pulse(&[cmd, "--help"]).assert_ok();
    }
    let out = env.pulse(&["--version"]).assert_ok();
    assert_eq!(
        out.stdout_str(),
        format!("pulse {}\n", env!("CARGO_PKG_VERSION"))
    );
    for shell in ["bash", "zsh", "fish"] {
        let out = env.pulse(&["completions", shell]).assert_ok();
        assert!(out.stdout_str().contains("versions"), "{shell}");
    }
    env.pulse(&["completions", "tcsh"]).assert_code(2);
}

#[test]
fn every_reporting_command_speaks_json() {
    let env = Env::new();
    let json = |args: &[&str]| -> serde_json::Value {
        let mut full = vec!["--format", "json"];
        full.extend_from_slice(args);
        let out = env.pulse_stdin(&full, b"content\n").assert_ok();
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", out.stdout_str()))
    };
    assert_eq!(json(&["add", "p", "--version", "1.0.0"])["new"], true);
    assert_eq!(json(&["add", "p", "--version", "1.0.0"])["new"], false);
    std::fs::write(env.repo.join("prompts/p.md"), b"next\n").unwrap();
    env.git(&["commit", "-qam", "edit"]);
    assert_eq!(
        json(&["release", "p", "--bump", "minor"])["version"],
        "1.1.0"
    );
    assert_eq!(json(&["show", "p"])["version"], "1.1.0");
    assert_eq!(json(&["list"])[0]["latest"], "1.1.0");
    assert_eq!(json(&["versions", "p"]).as_array().unwrap().len(), 2);
    assert_eq!(json(&["log", "p"])[0]["version"], "1.1.0");
    assert_eq!(json(&["diff", "p@1.0.0", "p@1.1.0"])["identical"], false);
    assert_eq!(
        json(&["label", "set", "p", "production", "1.0.0"])["to"],
        "1.0.0"
    );
    assert_eq!(json(&["label", "list"])[0]["label"], "production");
    assert_eq!(json(&["label", "history", "p"])[0]["to"], "1.0.0");
    assert_eq!(json(&["verify"])["checked"], 2);
    let dir = env.path("out");
    assert_eq!(json(&["export", dir.to_str().unwrap()])["exported"], 2);
    assert_eq!(json(&["import", dir.to_str().unwrap()])["imported"], 0);
    assert_eq!(json(&["delete", "p@1.1.0"])["deleted"], true);
    assert!(json(&["config"]).is_object());
}

#[test]
fn non_utf8_paths_are_handled() {
    use std::os::unix::ffi::OsStrExt;
    let env = Env::new();
    let odd = env
        .root
        .path()
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9.md"));
    std::fs::write(&odd, b"from an odd path").unwrap();
    let out = env
        .cmd(&["add", "p", "--version", "1.0.0", "--file"])
        .arg(&odd)
        .output()
        .unwrap()
        .assert_ok();
    assert_eq!(out.stdout_str(), "p@1.0.0\n");
    let dir = env.path("import");
    let bad = dir
        .join(std::ffi::OsStr::from_bytes(b"n\xffame"))
        .join("1.0.0");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("content.md"), b"x").unwrap();
    let out = env.pulse(&["import", dir.to_str().unwrap()]).assert_code(2);
    out.assert_stderr_has("not UTF-8");
    let missing = env
        .root
        .path()
        .join(std::ffi::OsStr::from_bytes(b"no\xfffile"));
    env.cmd(&["add", "q", "--version", "1.0.0", "--file"])
        .arg(&missing)
        .output()
        .unwrap()
        .assert_code(3);
}

/// The repository's docs, help texts and comments stand alone: they never send a reader
/// to a document outside the repository.
#[test]
fn docs_help_and_comments_stand_alone() {
    let root = &crate::common::source_dir();
    // Built from pieces, so this file does not match itself.
    let outside = [
        ["SP", "EC "].concat(),
        ["SP", "EC."].concat(),
        ["SP", "EC\u{a7}"].concat(),
        "\u{a7}".to_owned(),
        ["the ", "seed"].concat(),
    ];
    let mut files = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    let mut dirs = vec![
        root.join("src"),
        root.join("docs"),
        root.join("scripts"),
        root.join("tests"),
        root.join("benches"),
    ];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut found = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            if outside.iter().any(|o| line.contains(o.as_str())) {
                found.push(format!("{}:{}: {line}", file.display(), i + 1));
            }
        }
    }
    let env = Env::new();
    let mut helps = vec![vec!["--help".to_owned()]];
    let top = env.pulse(&["--help"]).assert_ok().stdout_str();
    for line in top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
    {
        if line.is_empty() {
            break;
        }
        // A command's line is indented two spaces; a wrapped description, more.
        let Some(cmd) = line
            .strip_prefix("  ")
            .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
            .and_then(|l| l.split_whitespace().next())
        else {
            continue;
        };
        if cmd != "help" {
            helps.push(vec![cmd.to_owned(), "--help".to_owned()]);
        }
    }
    assert!(helps.len() > 15, "{helps:?}");
    for args in helps {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let text = env.pulse(&args).assert_ok().stdout_str();
        for o in &outside {
            if text.contains(o.as_str()) {
                found.push(format!("pulse {}: mentions '{o}'", args.join(" ")));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
