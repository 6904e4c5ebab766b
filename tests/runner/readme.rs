//! The README's quick start works verbatim: it is extracted and run as a script.

use crate::common::{Env, OutputExt};

#[test]
fn the_quick_start_runs_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## Quick start")
        .nth(1)
        .expect("README has a quick start");
    let script = section
        .split("```sh\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("the quick start has a sh block");
    let env = Env::empty();
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
    let out = std::process::Command::new("bash")
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
        .unwrap();
    let out = out.assert_ok();
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
