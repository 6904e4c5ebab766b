//! The README's quick start works verbatim: it is extracted and run as a script.

use crate::common::{Env, OutputExt};

/// The first `sh` block of the README's section `heading`.
fn block(readme: &str, heading: &str) -> String {
    readme
        .split(heading)
        .nth(1)
        .and_then(|section| section.split("```sh\n").nth(1))
        .and_then(|s| s.split("```").next())
        .unwrap_or_else(|| panic!("README has a sh block under {heading}"))
        .to_owned()
}

/// Run `script` with bash as a newcomer would: the built pulse on the PATH, an empty HOME
/// with no git identity yet.
fn run_as_newcomer(env: &Env, script: &str) -> std::process::Output {
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_pulse"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // A fresh machine: an empty HOME with no git identity yet.
    // The hermetic variables of the test environment, minus the git identity.
    let cmd = env.git_cmd_in(env.root.path(), &[]);
    std::process::Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(script)
        .env_clear()
        .envs(
            cmd.get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
        )
        .env("PATH", path)
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .env_remove("GIT_COMMITTER_NAME")
        .env_remove("GIT_COMMITTER_EMAIL")
        .current_dir(env.root.path())
        .output()
        .unwrap()
}

#[test]
fn the_quick_start_runs_as_written() {
    let readme = std::fs::read_to_string(crate::common::source_dir().join("README.md")).unwrap();
    let script = block(&readme, "## Quick start");
    let env = Env::empty();
    let out = run_as_newcomer(&env, &script).assert_ok();
    let text = out.stdout_str();
    assert!(text.contains("reviewer@1.1.0\n"), "{text}");
    assert!(
        text.contains("You are a careful, kind code reviewer.\nYou are a careful code reviewer.\n"),
        "{text}"
    );
    assert!(
        text.contains("nothing to commit, working tree clean"),
        "{text}"
    );
}

#[test]
fn five_commands_take_a_new_repository_to_an_installed_locked_prompt() {
    let readme = std::fs::read_to_string(crate::common::source_dir().join("README.md")).unwrap();
    let quick = block(&readme, "## Quick start");
    let consumer = block(&readme, "## Use released prompts in another repository");
    assert_eq!(consumer.lines().count(), 5, "{consumer}");
    let env = Env::empty();
    run_as_newcomer(&env, &format!("{quick}\n{consumer}")).assert_ok();
    let app = env.path("my-app");
    // production is 1.0.0 in the quick start.
    assert_eq!(
        std::fs::read(app.join("CLAUDE.md")).unwrap(),
        b"You are a careful code reviewer.\n"
    );
    assert_eq!(
        std::fs::read(app.join("AGENTS.md")).unwrap(),
        b"You are a careful code reviewer.\n"
    );
    let lock = std::fs::read_to_string(app.join("pulse.lock")).unwrap();
    assert!(lock.contains("version: \"1.0.0\""), "{lock}");
    let status = env.git_in(&app, &["status", "--porcelain"]);
    assert_eq!(status, "", "everything is committed");
}
