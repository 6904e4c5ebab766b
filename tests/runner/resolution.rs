//! Resolution: exact versions, latest, SemVer requirements, pre-releases and labels.

use crate::common::{Env, OutputExt};

fn fetch(env: &Env, spec: &str) -> String {
    env.pulse(&["fetch", spec]).assert_ok().stdout_str()
}

#[test]
fn semver_order_not_string_order() {
    let env = Env::new();
    for v in ["1.0.0", "1.9.0", "1.10.0"] {
        env.add("p", v, v.as_bytes());
    }
    assert_eq!(fetch(&env, "p"), "1.10.0");
    assert_eq!(fetch(&env, "p@latest"), "1.10.0");
    assert_eq!(fetch(&env, "p@^1.2"), "1.10.0");
    assert_eq!(fetch(&env, "p@~1.9"), "1.9.0");
    assert_eq!(fetch(&env, "p@>=1.0.0, <1.10.0"), "1.9.0");
    assert_eq!(fetch(&env, "p@1.*"), "1.10.0");
    assert_eq!(fetch(&env, "p@1.9.0"), "1.9.0");
    assert_eq!(
        env.pulse(&["fetch", "p", "--version", "1.0.0"])
            .assert_ok()
            .stdout_str(),
        "1.0.0"
    );
    let versions = env.pulse(&["versions", "p"]).assert_ok().stdout_str();
    let order: Vec<&str> = versions
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(order, ["1.0.0", "1.9.0", "1.10.0"]);
}

#[test]
fn prereleases_follow_the_semver_crate_rules() {
    let env = Env::new();
    env.add("p", "1.0.0-alpha.1", b"a1");
    // Only pre-releases: latest is the highest of them.
    assert_eq!(fetch(&env, "p"), "a1");
    env.add("p", "1.0.0", b"one");
    env.add("p", "2.0.0-rc.1", b"rc");
    // A release outranks pre-releases for latest, even a higher pre-release.
    assert_eq!(fetch(&env, "p@latest"), "one");
    // A plain requirement never matches a pre-release...
    env.pulse(&["fetch", "p@^2"]).assert_code(3);
    // ...unless it names one of the same x.y.z.
    assert_eq!(fetch(&env, "p@^2.0.0-rc.0"), "rc");
    assert_eq!(fetch(&env, "p@2.0.0-rc.1"), "rc");
}

#[test]
fn not_found_cases_exit_3_with_a_hint() {
    let env = Env::new();
    env.add("p", "1.0.0", b"x");
    let out = env.pulse(&["fetch", "p@^2"]).assert_code(3);
    out.assert_stderr_has("no release matching '^2'");
    assert!(out.stderr_str().contains("hint: 'pulse versions p'"));
    env.pulse(&["fetch", "p@1.2.3"]).assert_code(3);
    env.pulse(&["fetch", "nobody"]).assert_code(3);
    env.pulse(&["fetch", "p@production"]).assert_code(3);
    env.pulse(&["show", "nobody@1.0.0"]).assert_code(3);
    env.pulse(&["versions", "nobody"]).assert_code(3);
    // Outside any repository.
    let elsewhere = env.path("home");
    env.cmd_in(&elsewhere, &["list"])
        .output()
        .unwrap()
        .assert_code(3);
    let out = env
        .pulse(&["--repo", env.path("missing").to_str().unwrap(), "list"])
        .assert_code(3);
    out.assert_stderr_has("does not exist");
}

#[test]
fn working_content_is_read_with_ref() {
    let env = Env::new();
    env.add("p", "1.0.0", b"released");
    std::fs::write(env.repo.join("prompts/p.md"), b"draft").unwrap();
    env.git(&["commit", "-qam", "draft"]);
    assert_eq!(fetch(&env, "p"), "released");
    assert_eq!(
        env.pulse(&["fetch", "p", "--ref", "HEAD"])
            .assert_ok()
            .stdout_str(),
        "draft"
    );
    assert_eq!(
        env.pulse(&["fetch", "p", "--ref", "HEAD~1"])
            .assert_ok()
            .stdout_str(),
        "released"
    );
    env.pulse(&["fetch", "p", "--ref", "no-such-branch"])
        .assert_code(3);
    // release makes the committed draft a version.
    assert_eq!(
        env.pulse(&["release", "p", "--bump", "minor"])
            .assert_ok()
            .stdout_str(),
        "p@1.1.0\n"
    );
    assert_eq!(fetch(&env, "p"), "draft");
    let out = env
        .pulse(&["diff", "p@1.0.0", "1.1.0"])
        .assert_ok()
        .stdout_str();
    assert_eq!(
        out,
        "--- p@1.0.0\n+++ p@1.1.0\n@@ -1 +1 @@\n-released\n\\ No newline at end of file\n+draft\n\\ No newline at end of file\n"
    );
    // Without a second version: the working content on the branch.
    std::fs::write(env.repo.join("prompts/p.md"), b"draft\nmore\n").unwrap();
    env.git(&["commit", "-qam", "more"]);
    let out = env.pulse(&["diff", "p@1.1.0"]).assert_ok().stdout_str();
    assert_eq!(
        out,
        "--- p@1.1.0\n+++ p (working, main)\n@@ -1 +1,2 @@\n-draft\n\\ No newline at end of file\n+draft\n+more\n"
    );
    assert_eq!(
        env.pulse(&["diff", "p@1.1.0", "p@1.1.0"])
            .assert_ok()
            .stdout_str(),
        ""
    );
}

#[test]
fn list_versions_log_show_the_history() {
    let env = Env::new();
    env.pulse_stdin(
        &[
            "add",
            "a",
            "--version",
            "1.0.0",
            "-d",
            "Agent A",
            "--tags",
            "x,y",
            "-m",
            "first",
        ],
        b"a1",
    )
    .assert_ok();
    env.pulse_stdin(&["add", "a", "--bump", "patch", "-m", "fix typo"], b"a2")
        .assert_ok();
    env.pulse_stdin(&["add", "team/b", "--bump", "minor"], b"b")
        .assert_ok();
    let list = env.pulse(&["list"]).assert_ok().stdout_str();
    assert_eq!(
        list,
        "NAME    LATEST  LABELS / DESCRIPTION\na       1.0.1   Agent A\nteam/b  0.1.0\n"
    );
    assert_eq!(
        env.pulse(&["list", "team"])
            .assert_ok()
            .stdout_str()
            .lines()
            .count(),
        2
    );
    assert_eq!(
        env.pulse(&["list", "--tags", "y"])
            .assert_ok()
            .stdout_str()
            .lines()
            .count(),
        2
    );
    assert_eq!(
        env.pulse(&["list", "--tags", "zzz"])
            .assert_ok()
            .stdout_str(),
        ""
    );
    let log = env.pulse(&["log", "a"]).assert_ok().stdout_str();
    assert_eq!(
        log,
        "# Changelog of a\n\n## 1.0.1 — 2024-01-02 (Ada Tester)\n\nfix typo\n\n## 1.0.0 — 2024-01-02 (Ada Tester)\n\nfirst\n"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&env.pulse(&["--format", "json", "list"]).assert_ok().stdout)
            .unwrap();
    assert_eq!(json[0]["name"], "a");
    assert_eq!(json[0]["latest"], "1.0.1");
    assert_eq!(json[0]["tags"], serde_json::json!(["x", "y"]));
}

#[test]
fn list_orders_by_name_not_by_file_path() {
    let env = Env::new();
    for name in ["a/b", "a", "a-b"] {
        env.add(name, "1.0.0", b"x");
    }
    let names: Vec<String> = env
        .pulse(&["list"])
        .assert_ok()
        .stdout_str()
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect();
    // File paths would sort a-b.md < a.md < a/b.md.
    assert_eq!(names, ["a", "a-b", "a/b"]);
}
