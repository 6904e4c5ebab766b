//! A pulse killed at any instant (SIGKILL) leaves no corrupt object or ref and no stale
//! lock; running the same command again completes the work.

use std::process::Stdio;
use std::time::Duration;

use crate::common::{Env, OutputExt};

#[test]
fn sigkill_at_random_moments_then_rerun_completes() {
    let env = Env::new();
    let mut next = crate::common::xorshift(0x9e37_79b9_7f4a_7c15);
    for i in 0..16 {
        let version = format!("1.0.{i}");
        let content = format!("release {i}\n").repeat(2000);
        let args = [
            "add",
            "p",
            "--version",
            &version,
            "-d",
            &format!("round {i}"),
        ];
        let mut child = env
            .cmd(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let _ = child.stdin.take().unwrap().write_all(content.as_bytes());
        }
        std::thread::sleep(Duration::from_micros(next() % 25_000));
        let _ = child.kill();
        let _ = child.wait();
        // Whatever state it died in, the repository is sound...
        env.git(&["fsck", "--strict", "--no-dangling"]);
        env.pulse(&["verify"]).assert_ok();
        // ...and the same command completes the work.
        env.pulse_stdin(&args, content.as_bytes()).assert_ok();
        assert_eq!(
            env.pulse(&["fetch", &format!("p@{version}")])
                .assert_ok()
                .stdout_str(),
            content
        );
        assert_eq!(env.git(&["status", "--porcelain"]), "");
    }
}

#[test]
fn lock_files_left_by_a_killed_pulse_are_cleaned_up() {
    let env = Env::new();
    env.add("p", "1.0.0", b"one");
    // What a pulse killed between taking git's locks and committing them leaves behind:
    // its journal in pulse.lock, and git's .lock files.
    let git_dir = env.repo.join(".git");
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::fs::write(git_dir.join("pulse.lock"), format!("999999 {started}\n")).unwrap();
    std::fs::write(git_dir.join("refs/heads/main.lock"), b"").unwrap();
    std::fs::write(git_dir.join("index.lock"), b"").unwrap();
    std::fs::create_dir_all(git_dir.join("pulse-tmp")).unwrap();
    std::fs::write(git_dir.join("pulse-tmp/half-written"), b"x").unwrap();
    env.add("p", "1.1.0", b"two");
    assert!(!git_dir.join("refs/heads/main.lock").exists());
    assert!(!git_dir.join("index.lock").exists());
    assert!(!git_dir.join("pulse-tmp/half-written").exists());
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn a_lock_held_by_a_live_git_is_not_stolen() {
    let env = Env::new();
    env.add("p", "1.0.0", b"one");
    // No pulse journal: this .lock belongs to some other git process.
    let lock = env.repo.join(".git/refs/heads/main.lock");
    std::fs::write(&lock, b"").unwrap();
    let refs = env.refs();
    let out = env
        .pulse_stdin(&["add", "p", "--version", "1.1.0"], b"two")
        .assert_code(4);
    out.assert_stderr_has(".lock");
    assert!(lock.exists());
    assert_eq!(env.refs(), refs);
}
