//! Configuration layers: flags beat PULSE_* beat the user file beat the repository's file.

use crate::common::{Env, OutputExt};

fn effective(env: &Env, cmd: &mut std::process::Command) -> serde_json::Value {
    let _ = env;
    serde_json::from_slice(&cmd.output().unwrap().assert_ok().stdout).unwrap()
}

#[test]
fn layers_apply_in_order() {
    let env = Env::new();
    // The repository's own settings are the lowest layer.
    std::fs::write(
        env.repo.join(".pulse/config.yaml"),
        "format: 1\nlog_level: error\ncache_ttl: 5m\nstorage_path: /repo/default\n",
    )
    .unwrap();
    let user = env.path("config/progress-pulse/config.yaml");
    std::fs::create_dir_all(user.parent().unwrap()).unwrap();
    std::fs::write(
        &user,
        "log_level: info\ncache_size: 64KiB\nstorage_config:\n  bucket: ${BUCKET_NAME}\n",
    )
    .unwrap();
    let mut cmd = env.cmd(&["--format", "json", "config"]);
    cmd.env("BUCKET_NAME", "prompts-prod")
        .env("PULSE_CACHE_SIZE", "1MB");
    let v = effective(&env, &mut cmd);
    assert_eq!(v["log_level"], "info");
    assert_eq!(v["cache_ttl"], 300);
    assert_eq!(v["cache_size"], 1_000_000);
    assert_eq!(v["storage_path"], "/repo/default");
    assert_eq!(v["storage_config"]["bucket"], "prompts-prod");
    let mut cmd = env.cmd(&["--format", "json", "--log-level", "debug", "config"]);
    cmd.env("BUCKET_NAME", "x").env("PULSE_LOG_LEVEL", "warn");
    assert_eq!(effective(&env, &mut cmd)["log_level"], "debug");
    let mut cmd = env.cmd(&["--format", "json", "config"]);
    cmd.env("BUCKET_NAME", "x").env("PULSE_LOG_LEVEL", "warn");
    assert_eq!(effective(&env, &mut cmd)["log_level"], "warn");
}

#[test]
fn bad_configuration_is_reported_precisely() {
    let env = Env::new();
    let file = env.path("c.yaml");
    std::fs::write(&file, "log_level: info\nstorage: [unclosed\n").unwrap();
    let out = env
        .pulse(&["--config", file.to_str().unwrap(), "config"])
        .assert_code(2);
    out.assert_stderr_has("line 2");
    std::fs::write(&file, "colour: blue\nlog_level: info\n").unwrap();
    let out = env
        .pulse(&["--config", file.to_str().unwrap(), "config"])
        .assert_ok();
    out.assert_stderr_has("unknown key 'colour' is ignored");
    let out = env
        .pulse(&["--config", file.to_str().unwrap(), "--quiet", "config"])
        .assert_ok();
    assert_eq!(out.stderr_str(), "");
    std::fs::write(&file, "storage: floppy\n").unwrap();
    env.pulse(&["--config", file.to_str().unwrap(), "config"])
        .assert_code(2);
    std::fs::write(
        &file,
        "storage_config:\n  secret: ${PULSE_TEST_UNSET_VAR}\n",
    )
    .unwrap();
    let out = env
        .pulse(&["--config", file.to_str().unwrap(), "config"])
        .assert_code(2);
    out.assert_stderr_has("PULSE_TEST_UNSET_VAR");
    let mut cmd = env.cmd(&["config"]);
    cmd.env("PULSE_CACHE_TTL", "soon");
    cmd.output().unwrap().assert_code(2);
    env.pulse(&[
        "--config",
        env.path("missing.yaml").to_str().unwrap(),
        "config",
    ])
    .assert_code(3);
    // A broken config stops commands before they write anything.
    std::fs::write(&file, "log_level: [\n").unwrap();
    let refs = env.refs();
    env.pulse_stdin(
        &[
            "--config",
            file.to_str().unwrap(),
            "add",
            "p",
            "--version",
            "1.0.0",
        ],
        b"x",
    )
    .assert_code(2);
    assert_eq!(env.refs(), refs);
}
