//! `pulse check`, the pull-request gate, on a feature branch.

use crate::common::{Env, OutputExt};

#[test]
fn a_feature_branch_gets_a_review_summary() {
    let env = Env::new();
    env.add("reviewer", "1.0.0", b"Be careful.\n");
    env.add("stable", "1.0.0", b"Unchanged.\n");
    env.git(&["checkout", "-q", "-b", "feature"]);
    std::fs::write(
        env.repo.join("prompts/reviewer.md"),
        b"Be careful and kind.\n",
    )
    .unwrap();
    std::fs::write(env.repo.join("prompts/writer.md"), b"Write clearly.\n").unwrap();
    env.git(&["add", "prompts"]);
    env.git(&["commit", "-qm", "Kinder reviewer, new writer"]);
    let out = env.pulse(&["check", "--base", "main"]).assert_ok();
    assert_eq!(
        out.stdout_str(),
        "## pulse check: feature\n\nAll rules hold (2 releases verified).\n\n### Prompts changed since `main`\n\n\
#### `reviewer` (modified)\n\n**release pending** (latest is 1.0.0): after merging, `pulse release reviewer --bump patch|minor|major`\n\n\
```diff\n--- reviewer (main)\n+++ reviewer (feature)\n@@ -1 +1 @@\n-Be careful.\n+Be careful and kind.\n```\n\n\
#### `writer` (added)\n\n**release pending** (new prompt): after merging, `pulse release writer --version 1.0.0`\n\n\
```diff\n--- writer (main)\n+++ writer (feature)\n@@ -0,0 +1 @@\n+Write clearly.\n```\n"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &env.pulse(&["--format", "json", "check", "--base", "main"])
            .assert_ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["changes"][0]["release_pending"], true);
    assert_eq!(json["violations"], serde_json::json!([]));
    // Released, the prompt is no longer pending.
    env.pulse(&["release", "reviewer", "--bump", "minor"])
        .assert_ok();
    let out = env.pulse(&["check", "--base", "main"]).assert_ok();
    assert!(
        out.stdout_str()
            .contains("content is release 1.1.0; nothing to release"),
        "{}",
        out.stdout_str()
    );
}

#[test]
fn broken_rules_fail_the_gate() {
    let env = Env::new();
    env.add("reviewer", "1.0.0", b"x\n");
    env.pulse(&["check"]).assert_ok();
    std::fs::write(env.repo.join("prompts/Bad.md"), b"x").unwrap();
    std::fs::write(env.repo.join("prompts/notes.txt"), b"x").unwrap();
    std::fs::write(
        env.repo.join("prompts/reviewer.yaml"),
        b"labels:\n  production: 9.9.9\n",
    )
    .unwrap();
    std::fs::write(env.repo.join("prompts/orphan.yaml"), b"description: d\n").unwrap();
    env.git(&["add", "prompts"]);
    env.git(&["commit", "-qm", "bad"]);
    env.git(&["tag", "-a", "reviewer@2.0.0", "-m", "by hand"]);
    let out = env.pulse(&["check"]).assert_code(5);
    let text = out.stdout_str();
    for expected in [
        "prompts/Bad.md: 'Bad' is not a valid prompt name",
        "prompts/notes.txt: not a prompt (.md) or its metadata (.yaml)",
        "prompts/reviewer.yaml: label 'production' points to 9.9.9, which is not a release of 'reviewer'",
        "prompts/orphan.yaml: metadata for a prompt that has no orphan.md",
        "release reviewer@2.0.0: release tag 'reviewer@2.0.0' is malformed",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(text.contains("**5 problem(s):**"), "{text}");
}

#[test]
fn a_shallow_checkout_is_told_to_fetch_everything() {
    let env = Env::new();
    env.add("reviewer", "1.0.0", b"x\n");
    env.add("reviewer", "1.1.0", b"y\n");
    let clone = env.path("shallow");
    let url = format!("file://{}", env.repo.display());
    env.git_in(
        env.root.path(),
        &["clone", "-q", "--depth", "1", &url, clone.to_str().unwrap()],
    );
    let out = env
        .cmd_in(&clone, &["check"])
        .output()
        .unwrap()
        .assert_code(1);
    out.assert_stderr_has("git fetch --unshallow --tags");
}
