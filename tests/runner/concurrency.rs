//! Many writers at once: every reported success stays, and git fsck stays clean.

use std::process::Stdio;

use crate::common::{Env, OutputExt};

fn run_parallel(env: &Env, jobs: Vec<Vec<String>>) -> Vec<std::process::Output> {
    let children: Vec<_> = jobs
        .iter()
        .enumerate()
        .map(|(i, args)| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut child = env
                .cmd(&args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("content {i}\n").as_bytes())
                .unwrap();
            child
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

/// `pulse add p0@1.0.0` … `p7@1.0.0`.
fn eight_adds() -> Vec<Vec<String>> {
    (0..8)
        .map(|i| {
            vec![
                "add".into(),
                format!("p{i}"),
                "--version".into(),
                "1.0.0".into(),
            ]
        })
        .collect()
}

fn check_all_landed(env: &Env, specs: &[(String, String)]) {
    for (spec, content) in specs {
        assert_eq!(
            env.pulse(&["fetch", spec]).assert_ok().stdout_str(),
            *content,
            "{spec}"
        );
    }
    env.git(&["fsck", "--strict", "--no-dangling"]);
    env.pulse(&["verify"]).assert_ok();
}

#[test]
fn eight_writers_on_the_checked_out_branch_all_succeed() {
    let env = Env::new();
    for out in run_parallel(&env, eight_adds()) {
        out.assert_ok();
    }
    let specs: Vec<_> = (0..8)
        .map(|i| (format!("p{i}@1.0.0"), format!("content {i}\n")))
        .collect();
    check_all_landed(&env, &specs);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    assert_eq!(
        env.pulse(&["list"])
            .assert_ok()
            .stdout_str()
            .lines()
            .count(),
        9
    );
}

#[test]
fn eight_writers_on_another_branch_and_one_prompt_all_succeed() {
    let env = Env::new();
    let jobs = (0..8)
        .map(|i| {
            vec![
                "--branch".into(),
                "shared".into(),
                "add".into(),
                "p".into(),
                "--version".into(),
                format!("1.{i}.0"),
                "--allow-older".into(),
            ]
        })
        .collect();
    for out in run_parallel(&env, jobs) {
        out.assert_ok();
    }
    let specs: Vec<_> = (0..8)
        .map(|i| (format!("p@1.{i}.0"), format!("content {i}\n")))
        .collect();
    check_all_landed(&env, &specs);
    // Every release's commit is on the branch: none was lost by a racing ref update.
    for i in 0..8 {
        env.git(&[
            "merge-base",
            "--is-ancestor",
            &format!("p@1.{i}.0"),
            "shared",
        ]);
    }
    assert_eq!(env.git(&["rev-list", "--count", "shared"]), "9\n");
}

#[test]
fn racing_the_same_version_gives_one_winner_and_conflicts() {
    let env = Env::new();
    let jobs = (0..6)
        .map(|_| vec!["add".into(), "p".into(), "--version".into(), "1.0.0".into()])
        .collect();
    let outs = run_parallel(&env, jobs);
    let winners = outs.iter().filter(|o| o.status.success()).count();
    let conflicts = outs.iter().filter(|o| o.status.code() == Some(4)).count();
    assert_eq!((winners, conflicts), (1, 5));
    env.pulse(&["verify"]).assert_ok();
}

#[test]
fn a_git_writer_moving_the_branch_meanwhile_is_rebuilt_upon_not_lost() {
    let env = Env::empty();
    env.pulse(&["init", "--bare", env.repo.to_str().unwrap()])
        .assert_ok();
    // A plain-git writer commits a file per round with compare-and-swap, in a loop.
    let script = r#"
        set -e
        for i in $(seq 1 40); do
          while true; do
            old=$(git rev-parse refs/heads/main)
            blob=$(printf 'external %s\n' "$i" | git hash-object -w --stdin)
            git read-tree --index-output=idx.$$ "$old"
            GIT_INDEX_FILE=idx.$$ git update-index --add --cacheinfo 100644,"$blob",ext/$i.txt
            tree=$(GIT_INDEX_FILE=idx.$$ git write-tree)
            rm -f idx.$$
            new=$(git commit-tree "$tree" -p "$old" -m "external $i")
            if git update-ref refs/heads/main "$new" "$old" 2>/dev/null; then break; fi
          done
        done
    "#;
    let mut writer = std::process::Command::new("bash");
    // A clean environment: a GIT_DIR inherited from the caller (tests run under
    // `git rebase --exec`) would send this writer's commits to another repository.
    writer
        .arg("-c")
        .arg(script)
        .current_dir(&env.repo)
        .env_clear();
    for (k, v) in env.git_cmd_in(&env.repo, &[]).get_envs() {
        if let Some(v) = v {
            writer.env(k, v);
        }
    }
    let writer = writer.spawn().unwrap();
    for out in run_parallel(&env, eight_adds()) {
        out.assert_ok();
    }
    let status = writer.wait_with_output().unwrap();
    assert!(status.status.success());
    for i in 0..8 {
        env.git(&[
            "merge-base",
            "--is-ancestor",
            &format!("p{i}@1.0.0"),
            "main",
        ]);
        assert_eq!(
            env.git(&["cat-file", "-p", &format!("main:prompts/p{i}.md")]),
            format!("content {i}\n")
        );
    }
    for i in 1..=40 {
        assert_eq!(
            env.git(&["cat-file", "-p", &format!("main:ext/{i}.txt")]),
            format!("external {i}\n")
        );
    }
    env.git(&["fsck", "--strict", "--no-dangling"]);
}
