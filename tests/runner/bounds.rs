//! Hostile input answers at once: configuration files, sidecars and tag messages that are
//! too large, too deeply nested, alias bombs, FIFOs and directories where a file belongs.
//! Every run has a hang guard: a pulse that does not answer in time is killed and the
//! test fails (the guard is far above the milliseconds these take; it is no benchmark).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Env, OutputExt};

/// How long a command may run before the guard calls it hung.
const HANG_GUARD: Duration = Duration::from_secs(20);

/// Run `cmd` to completion, killing it and failing the test if it runs past the guard.
#[must_use]
pub fn guarded(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {HANG_GUARD:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// `pulse args` in the repository, under the hang guard.
#[must_use]
pub fn pulse_guarded(env: &Env, args: &[&str]) -> Output {
    guarded(env.cmd(args))
}

/// Make a FIFO at `path` with the `mkfifo` command.
pub fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

fn assert_stderr(out: &Output, expected: &[&str]) {
    let text = out.stderr_str();
    for e in expected {
        assert!(text.contains(e), "missing {e:?} in stderr:\n{text}");
    }
}

/// Ten megabytes of `[`: before, the YAML parser took minutes on this.
fn ten_megabytes_of_brackets() -> Vec<u8> {
    vec![b'['; 10 << 20]
}

/// Small enough to pass the size limit, far too deep to be a real file.
fn deep_flow(prefix: &str) -> String {
    format!("{prefix}{}", "[".repeat(50_000))
}

/// One anchor expanded thousands of times by thousands of aliases: gigabytes from 25 KB.
fn alias_fan_out(prefix: &str) -> String {
    format!(
        "{prefix}a: &a [{}]\nb: [{}]\n",
        vec!["x"; 5000].join(","),
        vec!["*a"; 5000].join(",")
    )
}

#[test]
fn a_hostile_user_config_is_refused_at_once() {
    let env = Env::new();
    env.add("a", "1.0.0", b"x");
    let file = env.path("hostile.yaml");
    let shown = file.to_str().unwrap();
    std::fs::write(&file, ten_megabytes_of_brackets()).unwrap();
    let out = pulse_guarded(&env, &["--config", shown, "fetch", "a"]).assert_code(2);
    assert_stderr(
        &out,
        &[&format!(
            "configuration file '{shown}' is larger than 64 KiB"
        )],
    );
    assert!(out.stdout.is_empty());

    std::fs::write(&file, deep_flow("storage: ")).unwrap();
    let out = pulse_guarded(&env, &["--config", shown, "fetch", "a"]).assert_code(2);
    assert_stderr(
        &out,
        &[&format!(
            "configuration file '{shown}' nests more than 16 levels deep"
        )],
    );

    std::fs::write(&file, alias_fan_out("")).unwrap();
    let out = pulse_guarded(&env, &["--config", shown, "config"]).assert_code(2);
    assert_stderr(
        &out,
        &[&format!(
            "configuration file '{shown}' uses a YAML alias (*name), which pulse does not expand"
        )],
    );

    // A long line is neither deep nor slow: it is read as it is.
    let long = format!("storage_path: /{}\n", "p".repeat(60_000));
    std::fs::write(&file, long).unwrap();
    pulse_guarded(&env, &["--config", shown, "config"]).assert_ok();
}

#[test]
fn the_default_user_config_is_bounded_too() {
    let env = Env::new();
    let file = env.path("config/progress-pulse/config.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, deep_flow("log_level: ")).unwrap();
    let out = pulse_guarded(&env, &["list"]).assert_code(2);
    assert_stderr(&out, &["config.yaml' nests more than 16 levels deep"]);
}

#[test]
fn a_hostile_repository_config_is_refused_at_once() {
    let env = Env::new();
    env.add("a", "1.0.0", b"x");
    let settings = env.repo.join(".pulse/config.yaml");
    let original = std::fs::read(&settings).unwrap();

    std::fs::write(&settings, ten_megabytes_of_brackets()).unwrap();
    let out = pulse_guarded(&env, &["list"]).assert_code(2);
    assert_stderr(
        &out,
        &["configuration file '.pulse/config.yaml' is larger than 64 KiB"],
    );

    std::fs::write(&settings, deep_flow("format: 1\nstorage_path: ")).unwrap();
    let out = pulse_guarded(&env, &["fetch", "a"]).assert_code(2);
    assert_stderr(
        &out,
        &["configuration file '.pulse/config.yaml' nests more than 16 levels deep"],
    );

    // Committed on a branch that is not checked out, it is read from git: the same answer.
    env.git(&["checkout", "-q", "-b", "hostile"]);
    env.git(&["add", ".pulse/config.yaml"]);
    env.git(&["commit", "-qm", "hostile settings"]);
    std::fs::write(&settings, &original).unwrap();
    env.git(&["checkout", "-q", "-f", "main"]);
    let out = pulse_guarded(
        &env,
        &["--branch", "hostile", "add", "b", "--version", "1.0.0"],
    )
    .assert_code(2);
    assert_stderr(
        &out,
        &["configuration file '.pulse/config.yaml' nests more than 16 levels deep"],
    );

    std::fs::remove_file(&settings).unwrap();
    mkfifo(&settings);
    let out = pulse_guarded(&env, &["list"]).assert_code(2);
    assert_stderr(
        &out,
        &["configuration file '.pulse/config.yaml' is a FIFO (named pipe), not a regular file"],
    );
}

#[test]
fn a_config_that_is_a_fifo_or_a_directory_is_refused() {
    let env = Env::new();
    let fifo = env.path("fifo.yaml");
    mkfifo(&fifo);
    let shown = fifo.to_str().unwrap();
    let out = pulse_guarded(&env, &["--config", shown, "config"]).assert_code(2);
    assert_stderr(
        &out,
        &[&format!(
            "configuration file '{shown}' is a FIFO (named pipe), not a regular file"
        )],
    );
    let dir = env.path("home");
    let shown = dir.to_str().unwrap();
    let out = pulse_guarded(&env, &["--config", shown, "config"]).assert_code(2);
    assert_stderr(
        &out,
        &[&format!(
            "configuration file '{shown}' is a directory, not a regular file"
        )],
    );
    // A missing file named by --config is still "not found".
    pulse_guarded(
        &env,
        &[
            "--config",
            env.path("none.yaml").to_str().unwrap(),
            "config",
        ],
    )
    .assert_code(3);
    // A link to a real file is followed: dotfile managers link configuration files.
    let real = env.path("real.yaml");
    std::fs::write(&real, "log_level: warn\n").unwrap();
    let link = env.path("link.yaml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = pulse_guarded(
        &env,
        &[
            "--config",
            link.to_str().unwrap(),
            "--format",
            "json",
            "config",
        ],
    )
    .assert_ok();
    assert!(
        out.stdout_str().contains("\"log_level\": \"warn\""),
        "{}",
        out.stdout_str()
    );
}

/// Commit `bytes` as the sidecar of prompt `a` with plain git, as a pull request would.
fn commit_sidecar(env: &Env, bytes: &[u8]) {
    std::fs::write(env.repo.join("prompts/a.yaml"), bytes).unwrap();
    env.git(&["add", "prompts/a.yaml"]);
    env.git(&["commit", "-qm", "sidecar by hand"]);
}

#[test]
fn a_hostile_sidecar_is_an_integrity_failure_at_once() {
    for (sidecar, why) in [
        // 300 KB of nesting: before, `pulse check` took minutes on this.
        (
            format!("labels: {}", "[".repeat(300_000)).into_bytes(),
            "is larger than 256 KiB",
        ),
        (
            deep_flow("description: ").into_bytes(),
            "nests more than 16 levels deep",
        ),
        (
            format!("{}x\n", "- ".repeat(20_000)).into_bytes(),
            "nests more than 16 levels deep",
        ),
        (
            alias_fan_out("")
                .replace("a: &a", "description: &a")
                .into_bytes(),
            "uses a YAML alias",
        ),
    ] {
        let env = Env::new();
        env.add("a", "1.0.0", b"x");
        env.pulse(&["label", "set", "a", "production", "1.0.0"])
            .assert_ok();
        commit_sidecar(&env, &sidecar);
        let expected = format!("metadata file 'prompts/a.yaml' {why}");
        let out = pulse_guarded(&env, &["check"]).assert_code(5);
        assert!(
            out.stdout_str().contains(&expected),
            "missing {expected:?} in\n{}",
            out.stdout_str()
        );
        let out = pulse_guarded(&env, &["list"]).assert_code(5);
        assert_stderr(&out, &[&expected]);
        let out = pulse_guarded(&env, &["fetch", "a@production"]).assert_code(5);
        assert_stderr(&out, &[&expected]);
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_real_sidecar_near_the_limits_is_read() {
    let env = Env::new();
    env.add("a", "1.0.0", b"x");
    // Long, bracket-heavy prose and many labels are fine: only structure counts.
    let mut sidecar = format!(
        "description: |\n  {}\ntags: [review, code]\nlabels:\n",
        "See [1] and {2} - a: b [[[[ ".repeat(2000)
    );
    for i in 0..2000 {
        sidecar.push_str(&format!("  l{i}: 1.0.0\n"));
    }
    commit_sidecar(&env, sidecar.as_bytes());
    let out = pulse_guarded(&env, &["fetch", "a@l1999"]).assert_ok();
    assert_eq!(out.stdout, b"x");
}

#[test]
fn a_hostile_tag_message_is_refused_by_verify() {
    let env = Env::new();
    env.add("a", "1.0.0", b"x");
    // A release tag made by hand with git: valid trailers after two megabytes of message.
    let sha = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881";
    let message = format!(
        "{}\n\nPulse-Name: a\nPulse-Version: 2.0.0\nPulse-Path: prompts/a.md\nPulse-Size: 1\nPulse-Checksum: sha256:{sha}\nPulse-Format: 1\n",
        "word ".repeat(400_000)
    );
    let file = env.path("message.txt");
    std::fs::write(&file, message).unwrap();
    env.git(&["tag", "-a", "a@2.0.0", "-F", file.to_str().unwrap()]);
    let out = pulse_guarded(&env, &["verify"]).assert_code(5);
    let text = out.stdout_str();
    assert!(
        text.contains("release tag 'a@2.0.0' is malformed: the tag message is larger than 1 MiB"),
        "{text}"
    );
    assert!(text.contains("2 releases checked, 1 problems"), "{text}");
}
