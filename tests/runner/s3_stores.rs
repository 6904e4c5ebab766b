//! The S3 store through the command line, on real S3-compatible servers on 127.0.0.1:
//! sync in and out, the release commands, and what a user sees when S3 is misconfigured.

use crate::common::s3::{Kind, S3Server};
use crate::common::{Env, OutputExt};

/// Write the user configuration so that pulse reaches `server` with explicit settings.
fn configure(env: &Env, server: &S3Server, extra: &str) {
    let config = env.path("config/progress-pulse/config.yaml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "storage_config:\n  endpoint: {}\n  region: {}\n  access_key_id: {}\n  secret_access_key: {}\n{extra}",
            server.endpoint(),
            server.region(),
            server.access_key(),
            server.secret_key()
        ),
    )
    .unwrap();
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

fn seeded() -> Env {
    let env = Env::new();
    env.pulse_stdin(
        &[
            "add",
            "team/p",
            "--version",
            "1.0.0",
            "-d",
            "The P prompt",
            "-m",
            "first",
        ],
        b"line one\r\nline two\r\n",
    )
    .assert_ok();
    env.add("team/p", "1.1.0", b"\xff\xfe not utf-8");
    env.add("q", "0.1.0", b"");
    env.pulse(&["label", "set", "team/p", "production", "1.0.0"])
        .assert_ok();
    env
}

#[test]
fn git_to_s3_to_directory_to_git_keeps_everything_and_objects_are_plain() {
    let server = S3Server::s3s_fs();
    server.create_bucket("prompts");
    let env = seeded();
    configure(&env, &server, "");
    let s3 = "s3://prompts/shared";
    let out = env
        .pulse(&["sync", env.repo.to_str().unwrap(), s3, "--format", "json"])
        .assert_ok();
    assert_eq!(json(&out)["copied"].as_array().unwrap().len(), 3);
    // The objects are plain: the aws CLI prints a release.
    let cp = server.aws(&[
        "s3",
        "cp",
        "s3://prompts/shared/team/p/1.0.0/content.md",
        "-",
    ]);
    assert!(
        cp.status.success(),
        "{}",
        String::from_utf8_lossy(&cp.stderr)
    );
    assert_eq!(cp.stdout, b"line one\r\nline two\r\n");
    let meta = server.aws(&[
        "s3",
        "cp",
        "s3://prompts/shared/team/p/1.0.0/metadata.json",
        "-",
    ]);
    let meta: serde_json::Value = serde_json::from_slice(&meta.stdout).unwrap();
    assert_eq!(meta["author"], "Ada Tester <ada@example.com>");
    assert_eq!(meta["message"], "first");
    // Again: nothing to copy.
    let again = env
        .pulse(&["sync", env.repo.to_str().unwrap(), s3])
        .assert_ok();
    assert!(
        again.stdout_str().contains("up to date"),
        "{}",
        again.stdout_str()
    );
    // The release commands read S3.
    let run = |args: &[&str]| {
        let mut all = vec!["--store", s3];
        all.extend_from_slice(args);
        env.pulse(&all)
    };
    assert_eq!(
        run(&["fetch", "team/p@production"]).assert_ok().stdout,
        b"line one\r\nline two\r\n"
    );
    assert_eq!(
        run(&["fetch", "team/p"]).assert_ok().stdout,
        b"\xff\xfe not utf-8"
    );
    assert_eq!(run(&["fetch", "q"]).assert_ok().stdout, b"");
    assert!(run(&["list"]).assert_ok().stdout_str().contains("team/p"));
    assert!(
        run(&["versions", "team/p"])
            .assert_ok()
            .stdout_str()
            .contains("production")
    );
    run(&["label", "set", "team/p", "staging", "1.1.0"]).assert_ok();
    run(&["verify"]).assert_ok();
    // S3 → a directory → a fresh repository: the same releases, authors and times.
    let dir = env.path("dist");
    env.pulse(&["sync", s3, dir.to_str().unwrap()]).assert_ok();
    let other = env.path("other");
    env.pulse(&["init", other.to_str().unwrap()]).assert_ok();
    env.pulse(&["sync", dir.to_str().unwrap(), other.to_str().unwrap()])
        .assert_ok();
    for spec in ["team/p@1.0.0", "team/p@1.1.0", "q@0.1.0"] {
        let show = |store: &str| {
            let mut v = json(
                &env.pulse(&["--store", store, "show", spec, "--format", "json"])
                    .assert_ok(),
            );
            v.as_object_mut().unwrap().remove("commit");
            v.as_object_mut().unwrap().remove("path");
            v.as_object_mut().unwrap().remove("labels");
            v
        };
        let original = show(env.repo.to_str().unwrap());
        assert_eq!(show(s3), original, "{spec} in S3");
        assert_eq!(
            show(other.to_str().unwrap()),
            original,
            "{spec} after the round trip"
        );
    }
    let labels = env
        .pulse(&[
            "--store",
            other.to_str().unwrap(),
            "label",
            "list",
            "team/p",
        ])
        .assert_ok()
        .stdout_str();
    assert!(
        labels.contains("staging") && labels.contains("production"),
        "{labels}"
    );
}

#[test]
fn the_configuration_names_the_s3_store_and_the_environment_can_hold_the_credentials() {
    let server = S3Server::s3s_fs();
    server.create_bucket("prompts");
    let env = seeded();
    configure(&env, &server, "storage: s3\nstorage_path: prompts/team-a\n");
    env.pulse(&["sync", env.repo.to_str().unwrap(), "s3://prompts/team-a"])
        .assert_ok();
    // No --store: the configuration's storage keys name the store.
    let outside = env.path("home");
    let fetched = env
        .cmd_in(&outside, &["fetch", "team/p@1.0.0"])
        .output()
        .unwrap()
        .assert_ok();
    assert_eq!(fetched.stdout, b"line one\r\nline two\r\n");
    // Credentials from the standard AWS_* variables, with no storage_config at all.
    std::fs::remove_file(env.path("config/progress-pulse/config.yaml")).unwrap();
    let mut cmd = env.cmd_in(&outside, &["--store", "s3://prompts/team-a", "fetch", "q"]);
    cmd.envs(server.env());
    assert_eq!(cmd.output().unwrap().assert_ok().stdout, b"");
}

#[test]
fn misconfigured_s3_says_what_is_wrong_with_its_exit_code() {
    let server = S3Server::s3s_fs();
    server.create_bucket("prompts");
    let env = seeded();
    // No credentials anywhere: refused at once, without asking instance metadata.
    let out = env
        .pulse(&["--store", "s3://prompts", "list"])
        .assert_code(2);
    out.assert_stderr_has("credentials");
    configure(&env, &server, "");
    // A malformed address, an unknown setting.
    env.pulse(&["--store", "s3://", "list"]).assert_code(2);
    env.pulse(&["--store", "s3://UPPER", "list"]).assert_code(2);
    // A bucket that does not exist.
    let out = env
        .pulse(&["--store", "s3://no-such-bucket", "list"])
        .assert_code(3);
    out.assert_stderr_has("no-such-bucket");
    // Wrong credentials: unavailable (permission denied).
    configure(&env, &server, "");
    let config = env.path("config/progress-pulse/config.yaml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(server.secret_key(), "wrong-secret");
    std::fs::write(&config, text).unwrap();
    env.pulse(&["--store", "s3://prompts", "list"])
        .assert_code(6);
    configure(&env, &server, "  colour: blue\n");
    let out = env
        .pulse(&["--store", "s3://prompts", "list"])
        .assert_code(2);
    out.assert_stderr_has("colour");
    // A server that is gone: unavailable, and nothing written.
    configure(&env, &server, "");
    let endpoint = server.endpoint();
    drop(server);
    let out = env
        .pulse(&["sync", env.repo.to_str().unwrap(), "s3://prompts"])
        .assert_code(6);
    out.assert_stderr_has(&endpoint);
}

#[test]
fn a_sync_to_s3_killed_at_random_moments_completes_when_run_again() {
    let server = S3Server::s3s_fs();
    server.create_bucket("prompts");
    let env = Env::new();
    env.import_many(100, 10);
    configure(&env, &server, "");
    let (src, dst) = (env.repo.to_str().unwrap(), "s3://prompts/killed");
    env.kill_midway(
        &["sync", src, dst],
        5,
        100..1000,
        0x853c_49e6_748f_ea9b,
        || {
            // Whatever the killed run left, every listed release is whole.
            let out = env.pulse(&["--store", dst, "verify", "--quiet"]);
            assert!(
                matches!(out.status.code(), Some(0) | Some(3)),
                "{}",
                out.stderr_str()
            );
        },
    );
    crate::sync::sync_completes(&env, src, dst, 1000);
}

#[test]
fn s3_semantics_hold_on_moto_too() {
    // The second, independent implementation: create-only and compare-and-swap through
    // the command line, and a conflict is never overwritten.
    let server = S3Server::start(Kind::Moto);
    server.create_bucket("prompts");
    let env = seeded();
    // moto checks and writes in one step (docs/stores.md): said so, sync warns nothing.
    configure(&env, &server, "  atomic_conditional_writes: true\n");
    let s3 = "s3://prompts";
    let out = env
        .pulse(&["sync", env.repo.to_str().unwrap(), s3])
        .assert_ok();
    assert!(out.stderr.is_empty(), "{}", out.stderr_str());
    let rival = env.path("rival");
    env.pulse(&["init", rival.to_str().unwrap()]).assert_ok();
    env.pulse_stdin_in(&rival, &["add", "team/p", "--version", "1.0.0"], b"rival\n")
        .assert_ok();
    env.pulse(&["sync", rival.to_str().unwrap(), s3])
        .assert_code(4);
    assert_eq!(
        env.pulse(&["--store", s3, "fetch", "team/p@1.0.0"])
            .assert_ok()
            .stdout,
        b"line one\r\nline two\r\n"
    );
    env.pulse(&[
        "--store",
        s3,
        "label",
        "set",
        "team/p",
        "production",
        "1.1.0",
    ])
    .assert_ok();
    env.pulse(&["--store", s3, "delete", "team/p@1.1.0"])
        .assert_code(4);
    env.pulse(&["--store", s3, "delete", "q@0.1.0"]).assert_ok();
    env.pulse(&["--store", s3, "fetch", "q"]).assert_code(3);
    env.pulse(&["--store", s3, "verify"]).assert_ok();
}
