//! The on-disk cache in front of remote stores, through the real binary against a static
//! web server (python's `http.server`) serving an export: exact releases are kept and
//! pinned, moving files are fresh for the TTL and then revalidated, an unreachable store
//! is answered stale with a warning, a store that says "gone" is believed, and
//! `--offline`, `--refresh` and `pulse cache` do what they say.

use crate::common::stores::StaticServer;
use crate::common::{Env, OutputExt};

/// A repository with two releases and a label, exported to `<root>/export` and served.
fn served() -> (Env, StaticServer) {
    let env = Env::new();
    env.add("team/p", "1.0.0", b"one\n");
    env.add("team/p", "1.1.0", b"one point one\n");
    env.pulse(&["label", "set", "team/p", "production", "1.0.0"])
        .assert_ok();
    let export = env.path("export");
    env.pulse(&["export", export.to_str().unwrap()]).assert_ok();
    let server = StaticServer::start(&export);
    (env, server)
}

fn run(env: &Env, args: &[&str]) -> std::process::Output {
    // Run outside the repository: the store is all there is.
    env.cmd_in(&env.path("home"), args).output().unwrap()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_warm_cache_answers_without_the_store() {
    let (env, server) = served();
    let url = server.url();
    for spec in ["team/p@1.0.0", "team/p@production", "team/p@^1"] {
        run(&env, &["--store", &url, "fetch", spec]).assert_ok();
    }
    drop(server);
    // An exact release never changes, and labels and ranges are fresh for cache_ttl
    // (60 s by default): all answered from the cache, silently.
    for (spec, want) in [
        ("team/p@1.0.0", "one\n"),
        ("team/p@production", "one\n"),
        ("team/p@^1", "one point one\n"),
    ] {
        let out = run(&env, &["--store", &url, "fetch", spec]).assert_ok();
        assert_eq!(out.stdout_str(), want, "{spec}");
        assert_eq!(out.stderr_str(), "", "{spec}");
    }
    // Once they are stale, the store is asked; it cannot be reached, so the cache's
    // answer is used, with a warning that says how old it is.
    env.user_config("cache_ttl: 0\n");
    let out = run(&env, &["--store", &url, "fetch", "team/p@production"]).assert_ok();
    assert_eq!(out.stdout_str(), "one\n");
    let err = out.stderr_str();
    assert!(
        err.contains("warning:") && err.contains("cannot be reached"),
        "{err}"
    );
    // --offline never asks, so it never warns; --refresh always asks, so it fails.
    let out = run(
        &env,
        &["--offline", "--store", &url, "fetch", "team/p@production"],
    );
    assert_eq!(out.assert_ok().stderr_str(), "");
    run(
        &env,
        &["--refresh", "--store", &url, "fetch", "team/p@1.0.0"],
    )
    .assert_code(6);
    // What the cache never saw cannot be answered offline.
    let out = run(
        &env,
        &["--offline", "--store", &url, "fetch", "team/q@1.0.0"],
    )
    .assert_code(6);
    out.assert_stderr_has("--offline");
}

#[test]
fn moving_files_are_revalidated_and_gone_is_believed() {
    let (env, server) = served();
    let url = server.url();
    let export = env.path("export");
    let fetch = |spec: &str| run(&env, &["--store", &url, "fetch", spec]);
    assert_eq!(fetch("team/p@production").assert_ok().stdout_str(), "one\n");
    // The label moves on the server. Within the TTL the cache's answer stands; once it
    // is stale the server is asked again and the move is seen.
    std::fs::write(
        export.join("team/p/labels.json"),
        "{\n  \"production\": \"1.1.0\"\n}\n",
    )
    .unwrap();
    assert_eq!(fetch("team/p@production").assert_ok().stdout_str(), "one\n");
    env.user_config("cache_ttl: 0\n");
    assert_eq!(
        fetch("team/p@production").assert_ok().stdout_str(),
        "one point one\n"
    );
    // The server says the labels are gone: believed (exit 3), never served stale.
    std::fs::remove_file(export.join("team/p/labels.json")).unwrap();
    fetch("team/p@production").assert_code(3);
    // And offline, the cache has forgotten them too.
    run(
        &env,
        &["--offline", "--store", &url, "fetch", "team/p@production"],
    )
    .assert_code(3);
}

#[test]
fn a_release_seen_once_is_pinned() {
    let (env, server) = served();
    let url = server.url();
    let export = env.path("export");
    run(&env, &["--store", &url, "fetch", "team/p@1.0.0"]).assert_ok();
    // Someone replaces the release on the server, consistently (content and metadata).
    let release = export.join("team/p/1.0.0");
    std::fs::write(release.join("content.md"), b"replaced\n").unwrap();
    let meta = std::fs::read_to_string(release.join("metadata.json")).unwrap();
    let sha = |b: &[u8]| pulse::digest::Digest::of(b).hex();
    let meta = meta
        .replace(&sha(b"one\n"), &sha(b"replaced\n"))
        .replace("\"size\": 4", "\"size\": 9");
    std::fs::write(release.join("metadata.json"), meta).unwrap();
    // The cache keeps serving what was released...
    let out = run(&env, &["--store", &url, "fetch", "team/p@1.0.0"]).assert_ok();
    assert_eq!(out.stdout_str(), "one\n");
    // ...and asking the server is an integrity failure: the release changed under its
    // version. Clearing the cache does not forget the pin; clearing the pins does.
    for args in [&["--refresh"][..], &[][..]] {
        if args.is_empty() {
            run(&env, &["cache", "clear"]).assert_ok();
        }
        let mut all = args.to_vec();
        all.extend(["--store", &url, "fetch", "team/p@1.0.0"]);
        let out = run(&env, &all).assert_code(5);
        assert!(out.stdout.is_empty());
        out.assert_stderr_has("changed");
    }
    run(&env, &["cache", "clear", "--pins"]).assert_ok();
    let out = run(&env, &["--store", &url, "fetch", "team/p@1.0.0"]).assert_ok();
    assert_eq!(out.stdout_str(), "replaced\n");
}

#[test]
fn cache_info_prune_and_clear() {
    let (env, server) = served();
    let url = server.url();
    run(&env, &["--store", &url, "fetch", "team/p@1.0.0"]).assert_ok();
    run(&env, &["--store", &url, "fetch", "team/p@production"]).assert_ok();
    let info = json(&run(&env, &["cache", "info", "--format", "json"]).assert_ok());
    assert_eq!(
        info["path"],
        env.path("cache/progress-pulse").to_str().unwrap()
    );
    assert_eq!(info["contents"], 1, "{info}");
    assert_eq!(info["pins"], 1, "{info}");
    // metadata.json, labels.json (and no index: an exact version and a label need none).
    assert_eq!(info["files"], 2, "{info}");
    assert!(info["bytes"].as_u64().unwrap() > 4, "{info}");
    // cache_size bounds it: a prune to it evicts, least recently used first.
    env.user_config("cache_size: 1\n");
    let pruned = json(&run(&env, &["cache", "prune", "--format", "json"]).assert_ok());
    assert_eq!(pruned["kept"], 0, "{pruned}");
    assert_eq!(pruned["removed"], 3, "{pruned}");
    let info = json(&run(&env, &["cache", "info", "--format", "json"]).assert_ok());
    assert_eq!(
        (info["contents"].as_u64(), info["pins"].as_u64()),
        (Some(0), Some(1))
    );
    run(&env, &["cache", "prune", "--max-size", "lots"]).assert_code(2);
    run(&env, &["cache", "clear"]).assert_ok();
}

#[test]
fn many_processes_share_one_cold_cache() {
    let (env, server) = served();
    let url = server.url();
    let children: Vec<_> = (0..8)
        .map(|i| {
            let spec = if i % 2 == 0 {
                "team/p@production"
            } else {
                "team/p@^1"
            };
            env.cmd_in(&env.path("home"), &["--store", &url, "fetch", spec])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap().assert_ok();
        let want = if i % 2 == 0 {
            "one\n"
        } else {
            "one point one\n"
        };
        assert_eq!(out.stdout_str(), want);
    }
    // Nothing half-written was left behind, and the cache answers alone afterwards.
    drop(server);
    let out = run(&env, &["--offline", "--store", &url, "fetch", "team/p@^1"]).assert_ok();
    assert_eq!(out.stdout_str(), "one point one\n");
    let leftovers = walk(&env.path("cache/progress-pulse"))
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".tmp-")
        })
        .count();
    assert_eq!(leftovers, 0);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out
}
