//! A hermetic environment per test: temp HOME and XDG dirs, fixed identity and clock,
//! no system git config, and helpers to run `pulse` and `git` in it.

#![allow(dead_code)]

pub mod registry;
pub mod s3;
pub mod servers;
pub mod stores;
pub mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The fixed release time of every test (2024-01-02T03:04:05Z).
pub const TIMESTAMP: &str = "1704164645";

pub struct Env {
    pub root: tempfile::TempDir,
    /// The repository `pulse` runs in by default.
    pub repo: PathBuf,
}

impl Env {
    /// An environment with an initialised prompt repository at `<root>/repo`.
    pub fn new() -> Env {
        let env = Env::empty();
        env.pulse(&["init", env.repo.to_str().unwrap()]).assert_ok();
        env
    }

    /// An environment with no repository yet.
    pub fn empty() -> Env {
        let root = tempfile::tempdir().unwrap();
        for d in ["home", "config", "cache"] {
            std::fs::create_dir_all(root.path().join(d)).unwrap();
        }
        let repo = root.path().join("repo");
        Env { root, repo }
    }

    /// Write the user's configuration file (`$XDG_CONFIG_HOME/progress-pulse/config.yaml`).
    pub fn user_config(&self, yaml: &str) {
        let file = self.path("config/progress-pulse/config.yaml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, yaml).unwrap();
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    fn apply(&self, cmd: &mut Command, cwd: &Path) {
        cmd.env_clear()
            .current_dir(cwd)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Ada Tester")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada Tester")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env("PULSE_TIMESTAMP", TIMESTAMP)
            .env("LC_ALL", "C");
    }

    /// A `pulse` command run in the repository directory.
    pub fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_in(&self.repo, args)
    }

    /// A `pulse` command run in `cwd`.
    pub fn cmd_in(&self, cwd: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pulse"));
        let cwd = if cwd.exists() { cwd } else { self.root.path() };
        self.apply(&mut cmd, cwd);
        cmd.args(args);
        cmd
    }

    /// Run `pulse args` in the repository.
    pub fn pulse(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Run `pulse args` with `stdin` as input.
    pub fn pulse_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        self.pulse_stdin_in(&self.repo, args, stdin)
    }

    /// Run `pulse args` in `cwd`.
    pub fn pulse_in(&self, cwd: &Path, args: &[&str]) -> Output {
        self.cmd_in(cwd, args).output().unwrap()
    }

    /// Run `pulse args` in `cwd` with `stdin` as input.
    pub fn pulse_stdin_in(&self, cwd: &Path, args: &[&str], stdin: &[u8]) -> Output {
        with_stdin(self.cmd_in(cwd, args), stdin)
    }

    /// `pulse add NAME --version V` with `content` on stdin; asserts success.
    pub fn add(&self, name: &str, version: &str, content: &[u8]) -> Output {
        self.pulse_stdin(&["add", name, "--version", version], content)
            .assert_ok()
    }

    /// A `git` command in `cwd`, hermetic like pulse.
    pub fn git_cmd_in(&self, cwd: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        self.apply(&mut cmd, cwd);
        cmd.args(args);
        cmd
    }

    /// Run git in the repository with `stdin` as input; asserts success and returns stdout.
    pub fn git_stdin(&self, args: &[&str], stdin: &[u8]) -> String {
        let out = with_stdin(self.git_cmd_in(&self.repo, args), stdin);
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run git in the repository; asserts success and returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.repo, args)
    }

    /// Run git in `cwd`; asserts success and returns stdout.
    pub fn git_in(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.git_cmd_in(cwd, args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Write `prompts` × `versions` small releases in the directory layout (content only,
    /// as another tool would) and import them into the repository.
    pub fn import_many(&self, prompts: usize, versions: usize) {
        let layout = self.path("layout");
        for p in 0..prompts {
            for v in 0..versions {
                let dir = layout.join(format!("set/prompt-{p:03}/1.{v}.0"));
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("content.md"), format!("prompt {p} version {v}\n"))
                    .unwrap();
            }
        }
        self.pulse(&["import", layout.to_str().unwrap()])
            .assert_ok();
    }

    /// Start `pulse args` `rounds` times and kill each run (SIGKILL) after a repeatable
    /// pseudo-random delay in `delay` (milliseconds); `after_each` runs after each kill.
    pub fn kill_midway(
        &self,
        args: &[&str],
        rounds: usize,
        delay: std::ops::Range<u64>,
        seed: u64,
        mut after_each: impl FnMut(),
    ) {
        let mut next = xorshift(seed);
        for _ in 0..rounds {
            let mut child = self
                .cmd(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let ms = delay.start + next() % (delay.end - delay.start);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            let _ = child.kill();
            let _ = child.wait();
            after_each();
        }
    }

    /// Every ref and what it points to, for "nothing was written" checks.
    pub fn refs(&self) -> String {
        self.git(&["for-each-ref", "--format=%(refname) %(objectname)"])
    }
}

/// Run `cmd` with `stdin` as its input, and collect its output.
fn with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The program may refuse its arguments before it reads stdin: a closed pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

pub trait OutputExt {
    fn assert_ok(self) -> Output;
    fn assert_code(self, code: i32) -> Output;
    fn stdout_str(&self) -> String;
    fn stderr_str(&self) -> String;
    /// stdout parsed as JSON (`--format json`, `--format sarif`).
    fn stdout_json(&self) -> serde_json::Value;
    /// Assert that stderr contains `needle` (printing stderr when it does not).
    #[track_caller]
    fn assert_stderr_has(&self, needle: &str) -> &Self;
}

impl OutputExt for Output {
    fn assert_ok(self) -> Output {
        assert!(
            self.status.success(),
            "expected success, got {:?}\nstdout: {}\nstderr: {}",
            self.status.code(),
            self.stdout_str(),
            self.stderr_str()
        );
        self
    }

    fn assert_code(self, code: i32) -> Output {
        assert_eq!(
            self.status.code(),
            Some(code),
            "expected exit {code}\nstdout: {}\nstderr: {}",
            self.stdout_str(),
            self.stderr_str()
        );
        self
    }

    fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    fn stdout_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON: {e}\n{}", self.stdout_str()))
    }

    #[track_caller]
    fn assert_stderr_has(&self, needle: &str) -> &Self {
        let stderr = self.stderr_str();
        assert!(
            stderr.contains(needle),
            "stderr lacks {needle:?}:\n{stderr}"
        );
        self
    }
}

/// A small, seeded pseudo-random sequence (xorshift), so tests that kill at "random"
/// moments are repeatable.
pub fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

/// The checkout these tests belong to. Read when the test runs (cargo sets
/// `CARGO_MANIFEST_DIR` for `cargo test`), not baked in at compile time: a target
/// directory shared by two checkouts at different paths may reuse a test binary built
/// from the other one.
pub fn source_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
