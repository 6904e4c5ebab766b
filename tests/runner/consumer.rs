//! The consumer side: `pulse.yaml`, `pulse install` and `pulse.lock`, `pulse status`,
//! `pulse outdated` across a fleet, and `pulse update`. Real prompt repositories and
//! consumer directories in temp dirs; the registry is the real `pulse serve`.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::registry::Registry;
use crate::common::{Env, OutputExt};

const REVIEWER_1: &[u8] = b"You review code. v1.0\n";
const REVIEWER_11: &[u8] = b"You review code. v1.1\n";
const REVIEWER_2: &[u8] = b"You review code, strictly. v2\n";
const AGENT_1: &[u8] = b"---\nname: support\n---\nYou answer support questions.\n";
const AGENT_2: &[u8] = b"---\nname: support\n---\nYou answer support questions politely.\n";

/// A prompt repository with `team/reviewer` 1.0.0, 1.1.0 and 2.0.0 and `support/agent`
/// 1.0.0 labelled production, and an empty consumer directory `app`.
fn fleet() -> (Env, PathBuf) {
    let env = Env::new();
    env.add("team/reviewer", "1.0.0", REVIEWER_1);
    env.add("team/reviewer", "1.1.0", REVIEWER_11);
    env.add("team/reviewer", "2.0.0", REVIEWER_2);
    env.add("support/agent", "1.0.0", AGENT_1);
    env.pulse(&["label", "set", "support/agent", "production", "1.0.0"])
        .assert_ok();
    let app = env.path("app");
    std::fs::create_dir_all(&app).unwrap();
    (env, app)
}

/// Release a back-port of `team/reviewer` (below its 2.0.0).
fn backport(env: &Env, version: &str, content: &[u8]) {
    env.pulse_stdin(
        &[
            "add",
            "team/reviewer",
            "--version",
            version,
            "--allow-older",
        ],
        content,
    )
    .assert_ok();
}

/// The manifest most tests use: the prompt repository as the store.
fn manifest(env: &Env) -> String {
    format!(
        "store: {}\nprompts:\n  team/reviewer:\n    version: ^1.0\n    install: CLAUDE.md\n  support/agent:\n    version: production\n    install:\n      - AGENTS.md\n      - .github/copilot-instructions.md\n",
        env.repo.display()
    )
}

fn consumer(env: &Env, yaml: &str) -> PathBuf {
    let app = env.path("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("pulse.yaml"), yaml).unwrap();
    app
}

fn run(env: &Env, dir: &Path, args: &[&str]) -> Output {
    env.cmd_in(dir, args).output().unwrap()
}

fn read(dir: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn install_writes_the_files_and_a_lock_that_installing_again_leaves_as_it_is() {
    let (env, _) = fleet();
    let app = consumer(&env, &manifest(&env));
    let out = run(&env, &app, &["install"]).assert_ok();
    assert!(
        out.stdout_str().contains("3 files written"),
        "{}",
        out.stdout_str()
    );
    // Byte for byte the releases the selectors name now.
    assert_eq!(read(&app, "CLAUDE.md"), REVIEWER_11);
    assert_eq!(read(&app, "AGENTS.md"), AGENT_1);
    assert_eq!(read(&app, ".github/copilot-instructions.md"), AGENT_1);
    // The lock: sorted, one fact per line, no time.
    let lock = String::from_utf8(read(&app, "pulse.lock")).unwrap();
    let sha = |b: &[u8]| pulse::digest::Digest::of(b).to_string();
    let expected = format!(
        "# pulse.lock: written by pulse install and pulse update. Commit it; do not edit it.\n\
lock_version: 1\n\
prompts:\n\
\x20 - name: \"support/agent\"\n\
\x20   selector: \"production\"\n\
\x20   version: \"1.0.0\"\n\
\x20   sha256: \"{}\"\n\
\x20   store: \"{store}\"\n\
\x20   install:\n\
\x20     - \"AGENTS.md\"\n\
\x20     - \".github/copilot-instructions.md\"\n\
\x20 - name: \"team/reviewer\"\n\
\x20   selector: \"^1.0\"\n\
\x20   version: \"1.1.0\"\n\
\x20   sha256: \"{}\"\n\
\x20   store: \"{store}\"\n\
\x20   install:\n\
\x20     - \"CLAUDE.md\"\n",
        sha(AGENT_1),
        sha(REVIEWER_11),
        store = env.repo.display()
    );
    assert_eq!(lock, expected);
    // Again: nothing to do, the lock byte for byte the same; status is clean.
    let out = run(&env, &app, &["install"]).assert_ok();
    assert!(
        out.stdout_str()
            .contains("0 files written, pulse.lock unchanged"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(
        String::from_utf8(read(&app, "pulse.lock")).unwrap(),
        expected
    );
    let out = run(&env, &app, &["status"]).assert_ok();
    assert!(
        out.stdout_str().contains("every file as locked"),
        "{}",
        out.stdout_str()
    );
    // From a subdirectory, the nearest pulse.yaml is found, as cargo finds Cargo.toml.
    std::fs::create_dir_all(app.join("src/deep")).unwrap();
    run(&env, &app.join("src/deep"), &["status"]).assert_ok();
    // A new release that the range takes is not installed until `update`.
    backport(&env, "1.2.0", b"v1.2\n");
    run(&env, &app, &["install"]).assert_ok();
    assert_eq!(read(&app, "CLAUDE.md"), REVIEWER_11);
}

#[test]
fn a_file_pulse_did_not_install_or_that_was_edited_is_never_overwritten() {
    let (env, _) = fleet();
    let app = consumer(&env, &manifest(&env));
    // A CLAUDE.md of the user's: exit 4, naming it, and nothing at all written.
    std::fs::write(app.join("CLAUDE.md"), b"my own notes\n").unwrap();
    let out = run(&env, &app, &["install"]).assert_code(4);
    assert!(
        out.stderr_str()
            .contains("'CLAUDE.md' is there, and pulse did not install it"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(read(&app, "CLAUDE.md"), b"my own notes\n");
    assert!(!app.join("AGENTS.md").exists());
    assert!(!app.join("pulse.lock").exists());
    // --force replaces it and keeps it beside.
    let out = run(&env, &app, &["install", "--force"]).assert_ok();
    assert!(
        out.stdout_str()
            .contains("kept the old file as CLAUDE.md.orig"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(read(&app, "CLAUDE.md"), REVIEWER_11);
    assert_eq!(read(&app, "CLAUDE.md.orig"), b"my own notes\n");
    // Edited since it was installed: the same refusal, also for `update`.
    std::fs::write(app.join("AGENTS.md"), b"edited by hand\n").unwrap();
    env.add("support/agent", "1.1.0", AGENT_2);
    env.pulse(&["label", "set", "support/agent", "production", "1.1.0"])
        .assert_ok();
    let out = run(&env, &app, &["update"]).assert_code(4);
    assert!(
        out.stderr_str()
            .contains("'AGENTS.md' was edited since pulse installed it"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(read(&app, "AGENTS.md"), b"edited by hand\n");
    assert_eq!(read(&app, ".github/copilot-instructions.md"), AGENT_1);
    let out = run(&env, &app, &["update", "--force"]).assert_ok();
    assert!(
        out.stdout_str().contains("AGENTS.md.orig"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(read(&app, "AGENTS.md"), AGENT_2);
    assert_eq!(read(&app, "AGENTS.md.orig"), b"edited by hand\n");
    // A second forced replacement does not overwrite the first backup.
    std::fs::write(app.join("AGENTS.md"), b"edited again\n").unwrap();
    run(&env, &app, &["install", "--force"]).assert_ok();
    assert_eq!(read(&app, "AGENTS.md.orig"), b"edited by hand\n");
    assert_eq!(read(&app, "AGENTS.md.orig.1"), b"edited again\n");
}

#[test]
fn links_fifos_and_paths_outside_the_project_are_refused() {
    let (env, _) = fleet();
    let outside = env.path("outside.txt");
    std::fs::write(&outside, b"precious\n").unwrap();
    let app = consumer(&env, &manifest(&env));
    // A symlink where a file goes: never written through.
    std::os::unix::fs::symlink(&outside, app.join("CLAUDE.md")).unwrap();
    let out = run(&env, &app, &["install", "--force"]).assert_code(4);
    out.assert_stderr_has("symbolic link");
    assert_eq!(std::fs::read(&outside).unwrap(), b"precious\n");
    std::fs::remove_file(app.join("CLAUDE.md")).unwrap();
    // A symlinked directory on the way: the same.
    std::os::unix::fs::symlink(env.root.path(), app.join(".github")).unwrap();
    run(&env, &app, &["install"]).assert_code(4);
    assert!(!env.root.path().join("copilot-instructions.md").exists());
    std::fs::remove_file(app.join(".github")).unwrap();
    // A FIFO as pulse.yaml is refused at once.
    let fifo_dir = env.path("fifo-app");
    std::fs::create_dir_all(&fifo_dir).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(fifo_dir.join("pulse.yaml"))
            .status()
            .unwrap()
            .success()
    );
    run(&env, &fifo_dir, &["install"]).assert_code(2);
    // Paths that leave the project, or go into .git, are usage errors naming the line.
    for (path, line) in [
        ("../escape.md", 5),
        ("/etc/passwd", 5),
        (".git/hooks/post-checkout", 5),
    ] {
        consumer(
            &env,
            &format!(
                "store: {}\nprompts:\n  team/reviewer:\n    version: ^1\n    install: {path}\n",
                env.repo.display()
            ),
        );
        let out = run(&env, &app, &["install"]).assert_code(2);
        assert!(
            out.stderr_str().contains(&format!("line {line}")),
            "{path}: {}",
            out.stderr_str()
        );
    }
    assert!(!env.path("escape.md").exists());
}

#[test]
fn manifest_errors_name_the_line_and_unknown_keys_warn() {
    let (env, app) = fleet();
    let store = env.repo.display().to_string();
    let cases: Vec<(String, &str)> = vec![
        (
            format!(
                "store: {store}\nprompts:\n  team/reviewer:\n    version: \"not a selector!\"\n    install: A.md\n"
            ),
            "line 4",
        ),
        (
            format!("store: {store}\nprompts:\n  Team/Reviewer:\n    install: A.md\n"),
            "line 3",
        ),
        (
            format!("store: {store}\nprompts:\n  a:\n    version: ^1\n"),
            "has no 'install' path",
        ),
        (
            "prompts:\n  a:\n    install: A.md\n".to_owned(),
            "names no store",
        ),
        (
            format!("store: {store}\nprompts:\n  a:\n    install: A.md\n  b:\n    install: A.md\n"),
            "which 'a' installs too",
        ),
        (
            "store: --upload-pack=touch x\nprompts:\n  a:\n    install: A.md\n".to_owned(),
            "looks like an option",
        ),
        ("store: x\nprompts: [\n".to_owned(), "malformed at line"),
        (format!("{}x: 1\n", "[".repeat(40)), "nests more than"),
    ];
    for (yaml, said) in cases {
        std::fs::write(app.join("pulse.yaml"), &yaml).unwrap();
        let out = run(&env, &app, &["install"]).assert_code(2);
        assert!(
            out.stderr_str().contains(said),
            "{yaml}\n{}",
            out.stderr_str()
        );
        assert!(!app.join("pulse.lock").exists());
    }
    std::fs::write(
        app.join("pulse.yaml"),
        format!("store: {store}\nmirror: yes\nprompts:\n  team/reviewer:\n    install: A.md\n    colour: red\n"),
    )
    .unwrap();
    let out = run(&env, &app, &["install"]).assert_ok();
    out.assert_stderr_has("line 2: unknown key 'mirror'");
    out.assert_stderr_has("line 6: unknown key 'colour'");
    // --manifest names pulse.yaml or its directory, nothing else.
    run(
        &env,
        env.root.path(),
        &[
            "status",
            "--manifest",
            app.join("pulse.yaml").to_str().unwrap(),
        ],
    )
    .assert_ok();
    run(
        &env,
        env.root.path(),
        &[
            "status",
            "--manifest",
            app.join("other.yaml").to_str().unwrap(),
        ],
    )
    .assert_code(2);
    // No pulse.yaml anywhere above: exit 3.
    let empty = env.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(&env, &empty, &["status"]).assert_code(3);
    out.assert_stderr_has("no pulse.yaml");
}

#[test]
fn locked_installs_exactly_the_lock_and_fails_when_the_manifest_disagrees() {
    let (env, _) = fleet();
    let app = consumer(&env, &manifest(&env));
    // No lock yet: --locked has nothing to install from.
    run(&env, &app, &["install", "--locked"]).assert_code(4);
    run(&env, &app, &["install"]).assert_ok();
    let lock = read(&app, "pulse.lock");
    // A fresh checkout (files gone) installs what the lock says, not what is newest.
    backport(&env, "1.9.0", b"newer\n");
    for f in ["CLAUDE.md", "AGENTS.md", ".github/copilot-instructions.md"] {
        std::fs::remove_file(app.join(f)).unwrap();
    }
    run(&env, &app, &["install", "--locked"]).assert_ok();
    assert_eq!(read(&app, "CLAUDE.md"), REVIEWER_11);
    assert_eq!(read(&app, "pulse.lock"), lock);
    // The manifest asks for something else: exit 4, nothing written.
    consumer(&env, &manifest(&env).replace("^1.0", "^2"));
    let out = run(&env, &app, &["install", "--locked"]).assert_code(4);
    assert!(
        out.stderr_str()
            .contains("asks for '^2', the lock has '^1.0'"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(read(&app, "CLAUDE.md"), REVIEWER_11);
    // Plain install takes the change; the lock follows.
    run(&env, &app, &["install"]).assert_ok();
    assert_eq!(read(&app, "CLAUDE.md"), REVIEWER_2);
    run(&env, &app, &["install", "--locked"]).assert_ok();
    // A lock whose checksum is not the store's: an integrity failure.
    let text = String::from_utf8(read(&app, "pulse.lock")).unwrap();
    let sha = pulse::digest::Digest::of(REVIEWER_2).to_string();
    let forged = text.replace(&sha, &pulse::digest::Digest::of(b"forged").to_string());
    std::fs::write(app.join("pulse.lock"), forged).unwrap();
    std::fs::remove_file(app.join("CLAUDE.md")).unwrap();
    let out = run(&env, &app, &["install", "--locked"]).assert_code(5);
    out.assert_stderr_has("is not what pulse.lock records");
    assert!(!app.join("CLAUDE.md").exists());
    // A lock that is not one: exit 5, saying how to recover.
    std::fs::write(app.join("pulse.lock"), "lock_version: 1\nprompts: {{{\n").unwrap();
    run(&env, &app, &["status"]).assert_code(5);
}

#[test]
fn status_shows_drift_and_exits_1() {
    let (env, _) = fleet();
    let app = consumer(&env, &manifest(&env));
    // Nothing installed yet: drifted.
    run(&env, &app, &["status"]).assert_code(1);
    run(&env, &app, &["install"]).assert_ok();
    std::fs::write(app.join("CLAUDE.md"), b"edited\n").unwrap();
    std::fs::remove_file(app.join("AGENTS.md")).unwrap();
    let out = run(&env, &app, &["status", "--format", "json"]).assert_code(1);
    let report = json(&out);
    assert_eq!(report["drifted"], true);
    let files: Vec<(String, String)> = report["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["files"].as_array().unwrap().clone())
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        files.contains(&("CLAUDE.md".into(), "edited".into())),
        "{files:?}"
    );
    assert!(
        files.contains(&("AGENTS.md".into(), "missing".into())),
        "{files:?}"
    );
    assert!(
        files.contains(&(".github/copilot-instructions.md".into(), "ok".into())),
        "{files:?}"
    );
    // A missing file comes back with install; an edited one needs --force.
    run(&env, &app, &["install"]).assert_code(4);
    run(&env, &app, &["install", "--force"]).assert_ok();
    run(&env, &app, &["status"]).assert_ok();
    // A manifest changed since the lock: not as locked.
    consumer(&env, &manifest(&env).replace("production", "1.0.0"));
    let out = run(&env, &app, &["status"]).assert_code(1);
    assert!(
        out.stdout_str().contains("not as locked"),
        "{}",
        out.stdout_str()
    );
}

#[test]
fn a_prompt_taken_out_of_the_manifest_has_its_unedited_files_removed() {
    let (env, _) = fleet();
    let app = consumer(&env, &manifest(&env));
    run(&env, &app, &["install"]).assert_ok();
    std::fs::write(app.join(".github/copilot-instructions.md"), b"mine now\n").unwrap();
    consumer(
        &env,
        &format!(
            "store: {}\nprompts:\n  team/reviewer:\n    version: ^1.0\n    install: CLAUDE.md\n",
            env.repo.display()
        ),
    );
    let out = run(&env, &app, &["install"]).assert_ok();
    assert!(out.stdout_str().contains("removed"), "{}", out.stdout_str());
    assert!(!app.join("AGENTS.md").exists());
    assert_eq!(read(&app, ".github/copilot-instructions.md"), b"mine now\n");
    assert!(
        !String::from_utf8(read(&app, "pulse.lock"))
            .unwrap()
            .contains("support/agent")
    );
    run(&env, &app, &["status"]).assert_ok();
}

#[test]
fn update_resolves_again_only_what_it_is_asked_to() {
    let (env, _) = fleet();
    let app = consumer(&env, &manifest(&env));
    run(&env, &app, &["install"]).assert_ok();
    backport(&env, "1.2.0", b"v1.2\n");
    env.add("support/agent", "1.1.0", AGENT_2);
    env.pulse(&["label", "set", "support/agent", "production", "1.1.0"])
        .assert_ok();
    let out = run(&env, &app, &["update", "support/agent"]).assert_ok();
    assert!(
        out.stdout_str()
            .contains("support/agent@1.1.0 (production, was 1.0.0)"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(read(&app, "AGENTS.md"), AGENT_2);
    assert_eq!(read(&app, "CLAUDE.md"), REVIEWER_11);
    let out = run(&env, &app, &["update", "--dry-run"]).assert_ok();
    assert!(
        out.stdout_str().contains("would update"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(read(&app, "CLAUDE.md"), REVIEWER_11);
    run(&env, &app, &["update"]).assert_ok();
    assert_eq!(read(&app, "CLAUDE.md"), b"v1.2\n");
    run(&env, &app, &["update", "no/such"]).assert_code(3);
    run(&env, &app, &["update", "Not A Name"]).assert_code(2);
}

#[test]
fn outdated_reports_a_fleet_of_repositories() {
    let (env, _) = fleet();
    let fleet_dir = env.path("fleet");
    let store = env.repo.display().to_string();
    for (repo, selector) in [
        ("web", "^1.0"),
        ("api", "1.0.0"),
        ("tools/cli", "production"),
    ] {
        let dir = fleet_dir.join(repo);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("pulse.yaml"),
            format!("store: {store}\nprompts:\n  team/reviewer:\n    version: \"{selector}\"\n    install: AGENTS.md\n"),
        )
        .unwrap();
        if selector != "production" {
            run(&env, &dir, &["install"]).assert_ok();
        }
    }
    // A repository reached through a symlink is not searched twice.
    std::os::unix::fs::symlink(fleet_dir.join("web"), fleet_dir.join("web-link")).unwrap();
    backport(&env, "1.5.0", b"v1.5\n");
    let out = env
        .cmd_in(
            env.root.path(),
            &["outdated", "--format", "json", fleet_dir.to_str().unwrap()],
        )
        .output()
        .unwrap()
        .assert_ok();
    let report = json(&out);
    let projects = report["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 3, "{report}");
    let row = |suffix: &str| {
        projects
            .iter()
            .find(|p| p["project"].as_str().unwrap().ends_with(suffix))
            .unwrap()["prompts"][0]
            .clone()
    };
    let web = row("/web");
    assert_eq!(web["locked"], "1.1.0");
    assert_eq!(web["wanted"], "1.5.0");
    assert_eq!(web["latest"], "2.0.0");
    assert_eq!(web["behind"], true);
    let api = row("/api");
    assert_eq!(api["locked"], "1.0.0");
    assert_eq!(api["wanted"], "1.0.0");
    assert_eq!(api["behind"], false);
    // A label selector with no such label: nothing wanted, not locked.
    let cli = row("/tools/cli");
    assert_eq!(cli["locked"], serde_json::Value::Null);
    assert_eq!(report["behind"], 1);
    // Text, and --exit-code for a scheduled job.
    let out = env
        .cmd_in(env.root.path(), &["outdated", fleet_dir.to_str().unwrap()])
        .output()
        .unwrap()
        .assert_ok();
    assert!(
        out.stdout_str()
            .contains("1 behind (marked *) in 3 repositories"),
        "{}",
        out.stdout_str()
    );
    env.cmd_in(
        env.root.path(),
        &["outdated", "--exit-code", fleet_dir.to_str().unwrap()],
    )
    .output()
    .unwrap()
    .assert_code(1);
    // A directory with no consumer repository: exit 3.
    env.cmd_in(
        env.root.path(),
        &["outdated", env.path("home").to_str().unwrap()],
    )
    .output()
    .unwrap()
    .assert_code(3);
}

#[test]
fn install_works_offline_from_the_cache_of_a_registry() {
    let (env, _) = fleet();
    let mut registry = Registry::start(
        &env,
        env.repo.to_str().unwrap(),
        &["--allow-anonymous-read"],
    );
    let app = consumer(
        &env,
        &format!(
            "store: {}\nprompts:\n  team/reviewer:\n    version: ^1.0\n    install: .claude/agents/reviewer.md\n",
            registry.url()
        ),
    );
    // An agent directory: created as needed, other files in it left alone.
    std::fs::create_dir_all(app.join(".claude/agents")).unwrap();
    std::fs::write(app.join(".claude/agents/mine.md"), b"my agent\n").unwrap();
    run(&env, &app, &["install"]).assert_ok();
    assert_eq!(read(&app, ".claude/agents/reviewer.md"), REVIEWER_11);
    assert_eq!(read(&app, ".claude/agents/mine.md"), b"my agent\n");
    registry.terminate();
    std::fs::remove_file(app.join(".claude/agents/reviewer.md")).unwrap();
    run(&env, &app, &["--offline", "install", "--locked"]).assert_ok();
    assert_eq!(read(&app, ".claude/agents/reviewer.md"), REVIEWER_11);
    // Without the cache and without the registry: unavailable, nothing written.
    std::fs::remove_file(app.join(".claude/agents/reviewer.md")).unwrap();
    let out = run(&env, &app, &["--refresh", "install"]);
    assert_eq!(out.status.code(), Some(6), "{}", out.stderr_str());
    assert!(!app.join(".claude/agents/reviewer.md").exists());
}
