//! `pulse search`: one query set gives the same answer from the git repository, a
//! directory store, S3 (moto), a registry (`pulse serve`) and a static web server; exit
//! codes as grep's; hostile patterns and content; the registry's search route.

use std::process::Output;

use crate::common::registry::Registry;
use crate::common::s3::S3Server;
use crate::common::stores::StaticServer;
use crate::common::{Env, OutputExt};

/// Prompts with what the queries look for: content over several releases, CRLF line
/// endings, a label, descriptions and keywords, bytes that are not UTF-8, binary content,
/// and names that share a prefix but not a segment.
fn seeded() -> Env {
    let env = Env::new();
    let add = |args: &[&str], content: &[u8]| {
        env.pulse_stdin(&[&["add"], args].concat(), content)
            .assert_ok();
    };
    add(
        &[
            "support/refunds",
            "--version",
            "1.0.0",
            "--description",
            "Handles refund requests\nand returns",
            "--tags",
            "support,billing",
        ],
        b"You are a support agent.\nFollow the refund policy.\nAnswer with GPT-4.\n",
    );
    add(
        &["support/refunds", "--version", "1.1.0"],
        b"You are a support agent.\r\nFollow the Refund Policy, version 2.\r\nAnswer with GPT-4o.\r\n",
    );
    add(
        &["support/triage", "--version", "1.0.0", "--tags", "support"],
        b"Route each ticket.\nNever promise a refund.",
    );
    add(
        &["agents/coder", "--version", "1.0.0", "--tags", "agent"],
        b"You are a coding agent. Use GPT-4.\n",
    );
    add(
        &["agents/coder", "--version", "2.0.0-rc.1"],
        b"You are a coding agent. Use GPT-5.\n",
    );
    add(
        &["raw", "--version", "1.0.0"],
        b"\xff refund \xfe\nplain line\n",
    );
    add(
        &["blob", "--version", "1.0.0"],
        b"\x00\x01\x02 refund inside binary\n",
    );
    add(&["team/a", "--version", "1.0.0"], b"team refund\n");
    add(&["teammate/b", "--version", "1.0.0"], b"teammate refund\n");
    env.pulse(&["label", "set", "support/refunds", "production", "1.0.0"])
        .assert_ok();
    env.pulse(&["label", "set", "agents/coder", "production", "1.0.0"])
        .assert_ok();
    env
}

/// The queries every store answers, as `pulse search` arguments.
const QUERIES: &[&[&str]] = &[
    &["refund"],
    &["-i", "refund"],
    &["--regex", "GPT-?4"],
    &["--all-versions", "GPT"],
    &["--label", "production", "GPT"],
    &["--tags", "support", "--ignore-case", "REFUND"],
    &["--tags", "support,billing", "refund"],
    &["--prefix", "team", "refund"],
    &["-E", "^You are [a-z ]+\\.$"],
    &["-E", "policy[,.]$", "-i"],
    &["support"],
    &["nothing matches this"],
];

fn search(env: &Env, store: Option<&str>, query: &[&str], vars: &[(String, String)]) -> Output {
    let mut args: Vec<&str> = Vec::new();
    if let Some(store) = store {
        args.extend(["--store", store]);
    }
    args.extend(["--format", "json", "search"]);
    args.extend_from_slice(query);
    let cwd = if store.is_some() {
        env.root.path()
    } else {
        env.repo.as_path()
    };
    let out = env
        .cmd_in(cwd, &args)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        out.stderr_str()
    );
    out
}

#[test]
fn one_query_set_gives_the_same_answers_in_every_store() {
    let env = seeded();
    let repo = env.repo.to_str().unwrap().to_owned();
    // A directory store, S3, a registry over the repository and one over the directory,
    // and a static web server over the directory (no search route: searched file by file).
    let dir = env.path("dir-store");
    env.pulse(&["sync", &repo, dir.to_str().unwrap()])
        .assert_ok();
    let s3 = S3Server::moto();
    s3.create_bucket("prompts");
    env.cmd(&["sync", &repo, "s3://prompts/search"])
        .envs(s3.env())
        .output()
        .unwrap()
        .assert_ok();
    // A directory store that keeps content encrypted with age, read with the identity.
    let sealed = env.path("sealed-store");
    let (identity, public) = crate::common::stores::age_key(env.root.path(), "age.txt");
    env.pulse(&[
        "sync",
        &repo,
        sealed.to_str().unwrap(),
        "--recipient",
        &public,
    ])
    .assert_ok();
    let over_git = Registry::start(&env, &repo, &["--allow-anonymous-read"]);
    let over_dir = Registry::start(&env, dir.to_str().unwrap(), &["--allow-anonymous-read"]);
    let web = StaticServer::start(&dir);
    let stores: Vec<(String, Vec<(String, String)>)> = vec![
        (dir.to_str().unwrap().to_owned(), Vec::new()),
        (
            sealed.to_str().unwrap().to_owned(),
            vec![(
                "PULSE_AGE_IDENTITY".to_owned(),
                identity.to_str().unwrap().to_owned(),
            )],
        ),
        ("s3://prompts/search".to_owned(), s3.env()),
        (over_git.url().to_owned(), Vec::new()),
        (over_dir.url().to_owned(), Vec::new()),
        (web.url(), Vec::new()),
    ];
    for query in QUERIES {
        let home = search(&env, Some(&repo), query, &[]);
        let expected: serde_json::Value = serde_json::from_slice(&home.stdout).unwrap();
        let matched = !expected["hits"].as_array().unwrap().is_empty();
        assert_eq!(
            home.status.code(),
            Some(if matched { 0 } else { 1 }),
            "{query:?}"
        );
        for (store, vars) in &stores {
            let out = search(&env, Some(store), query, vars);
            let got: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{store} {query:?}: {e}: {}", out.stderr_str()));
            assert_eq!(got, expected, "{store} {query:?}");
            assert_eq!(out.status.code(), home.status.code(), "{store} {query:?}");
        }
    }
    // The registry answered from its search route, not file by file.
    let metrics = over_git.get("/metrics", None).text();
    assert!(metrics.contains("route=\"/_api/v1/search\""), "{metrics}");
}

/// The JSON of a search in the repository.
fn json(env: &Env, query: &[&str]) -> serde_json::Value {
    serde_json::from_slice(&search(env, None, query, &[]).stdout).unwrap()
}

#[test]
fn filters_choose_the_releases_and_hits_say_where_they_are() {
    let env = seeded();
    let v = json(&env, &["refund"]);
    // The latest release of each prompt: support/refunds@1.1.0 says "Refund" (no match
    // without -i); its description matches on its first line.
    let hits: Vec<(String, String, String, Option<u64>)> = v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap().to_owned(),
                h["version"].as_str().unwrap().to_owned(),
                h["field"].as_str().unwrap().to_owned(),
                h["line"].as_u64(),
            )
        })
        .collect();
    let expect =
        |n: &str, v: &str, f: &str, l: Option<u64>| (n.to_owned(), v.to_owned(), f.to_owned(), l);
    assert_eq!(
        hits,
        vec![
            expect("blob", "1.0.0", "content", None),
            expect("raw", "1.0.0", "content", Some(1)),
            expect("support/refunds", "1.1.0", "name", None),
            expect("support/refunds", "1.1.0", "description", Some(1)),
            expect("support/triage", "1.0.0", "content", Some(2)),
            expect("team/a", "1.0.0", "content", Some(1)),
            expect("teammate/b", "1.0.0", "content", Some(1)),
        ]
    );
    assert_eq!(v["searched"], 7);
    assert_eq!(v["matched"], 6);
    // Binary content: a hit without its line; bytes that are not UTF-8: text with
    // U+FFFD and the exact bytes, the ranges into the bytes.
    let blob = &v["hits"][0];
    assert_eq!(blob["binary"], true);
    assert!(blob["text"].is_null() && blob["ranges"].as_array().unwrap().is_empty());
    let raw = &v["hits"][1];
    assert_eq!(raw["text"], "\u{fffd} refund \u{fffd}");
    assert_eq!(
        raw["bytes"],
        serde_json::json!([255, 32, 114, 101, 102, 117, 110, 100, 32, 254])
    );
    assert_eq!(raw["ranges"], serde_json::json!([[2, 8]]));
    // CRLF content: the line without its ending, `$` before it.
    let v = json(&env, &["-i", "-E", "version 2\\.$"]);
    assert_eq!(v["hits"][0]["text"], "Follow the Refund Policy, version 2.");
    assert_eq!(v["hits"][0]["line"], 2);
    // Every release, a label, keywords, a prefix of whole segments.
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                format!(
                    "{}@{}",
                    h["name"].as_str().unwrap(),
                    h["version"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        names(&json(&env, &["--all-versions", "GPT-"])),
        [
            "agents/coder@1.0.0",
            "agents/coder@2.0.0-rc.1",
            "support/refunds@1.0.0",
            "support/refunds@1.1.0"
        ]
    );
    assert_eq!(
        names(&json(&env, &["--label", "production", "GPT-4"])),
        ["agents/coder@1.0.0", "support/refunds@1.0.0"]
    );
    assert_eq!(
        names(&json(&env, &["--tags", "billing", "agent"])),
        ["support/refunds@1.1.0"]
    );
    assert_eq!(
        names(&json(&env, &["--prefix", "team", "refund"])),
        ["team/a@1.0.0"]
    );
    // Never stale: a new release is searched at once.
    env.add("team/a", "1.1.0", b"team refund, now with GPT-4\n");
    assert_eq!(
        names(&json(&env, &["--prefix", "team/", "GPT-4"])),
        ["team/a@1.1.0"]
    );
}

#[test]
fn text_output_is_one_line_per_match_and_files_with_matches_one_per_release() {
    let env = seeded();
    let out = env.pulse(&["search", "refund"]).assert_ok();
    assert_eq!(
        out.stdout_str(),
        "binary release blob@1.0.0 matches\n\
         raw@1.0.0:1:\u{fffd} refund \u{fffd}\n\
         support/refunds@1.1.0:name:support/refunds\n\
         support/refunds@1.1.0:description:Handles refund requests\n\
         support/triage@1.0.0:2:Never promise a refund.\n\
         team/a@1.0.0:1:team refund\n\
         teammate/b@1.0.0:1:teammate refund\n"
    );
    let out = env
        .pulse(&["search", "--all-versions", "-l", "-i", "gpt"])
        .assert_ok();
    assert_eq!(
        out.stdout_str(),
        "agents/coder@1.0.0\nagents/coder@2.0.0-rc.1\nsupport/refunds@1.0.0\nsupport/refunds@1.1.0\n"
    );
    // No colour when stdout is not a terminal.
    assert!(!out.stdout_str().contains('\x1b'));
}

#[test]
fn exit_codes_are_greps() {
    let env = seeded();
    env.pulse(&["search", "refund"]).assert_code(0);
    // Nothing matched: exit 1, and nothing said.
    let none = env.pulse(&["search", "no such words"]).assert_code(1);
    assert!(
        none.stdout.is_empty() && none.stderr.is_empty(),
        "{}",
        none.stderr_str()
    );
    let none = env
        .pulse(&["--format", "json", "search", "no such words"])
        .assert_code(1);
    let v: serde_json::Value = serde_json::from_slice(&none.stdout).unwrap();
    assert_eq!(v["hits"], serde_json::json!([]));
    // A pattern that is not one, too long, or empty; flags that do not go together.
    for args in [
        &["search", "-E", "("][..],
        &["search", "-E", "[z-a]"],
        &["search", ""],
        &["search", "--all-versions", "--label", "production", "x"],
        &["search", "--label", "Not-A-Label", "x"],
        &["search", "--prefix", "Team", "x"],
    ] {
        let out = env.pulse(args).assert_code(2);
        assert!(out.stderr_str().contains("error"), "{args:?}");
    }
    let long = "x".repeat(5000);
    env.pulse(&["search", &long]).assert_code(2);
    // Without --regex, a pattern is found as written.
    env.pulse(&["search", "("]).assert_code(1);
    let out = env.pulse(&["search", "-E", "("]).assert_code(2);
    out.assert_stderr_has("not a valid regular expression");
}

#[test]
fn pathological_patterns_are_refused_or_bounded() {
    let env = Env::new();
    // A long line of `a`s, which a backtracking engine would take exponential time on.
    let mut content = vec![b'a'; 1 << 20];
    content.push(b'\n');
    env.add("long", "1.0.0", &content);
    for pattern in ["(a*)*b", "(a|aa)+$x", "(a+)+b", "(.*a){20}b"] {
        env.pulse(&["search", "-E", pattern]).assert_code(1);
    }
    // A repetition whose compiled form would be huge is refused before anything is read.
    for pattern in ["a{100000}{100000}", "(\\w{1000}){1000}", "[\\p{L}]{10000}"] {
        let out = env.pulse(&["search", "-E", pattern]).assert_code(2);
        assert!(
            out.stderr_str().contains("too large once compiled"),
            "{pattern}: {}",
            out.stderr_str()
        );
    }
}

#[test]
fn a_corrupt_release_is_an_integrity_failure() {
    let env = seeded();
    let dir = env.path("dir-store");
    env.pulse(&["sync", env.repo.to_str().unwrap(), dir.to_str().unwrap()])
        .assert_ok();
    std::fs::write(dir.join("team/a/1.0.0/content.md"), b"tampered refund\n").unwrap();
    let out = env
        .pulse(&["--store", dir.to_str().unwrap(), "search", "refund"])
        .assert_code(5);
    out.assert_stderr_has("team/a@1.0.0");
}

#[test]
fn the_registry_searches_only_what_a_token_may_read_and_bounds_the_query() {
    let env = seeded();
    let support = Registry::token(&env, "support", "read", Some("support"));
    let everything = Registry::token(&env, "all", "read", None);
    let reg = Registry::start(&env, env.repo.to_str().unwrap(), &[]);
    let get = |path: &str, token: Option<&str>| {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("Authorization", a)])
            .unwrap_or_default();
        reg.request("GET", path, &headers, b"")
    };
    let r = get("/_api/v1/search?q=refund", Some(&support));
    assert_eq!(r.status, 200, "{}", r.text());
    let names: Vec<String> = r.json()["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(!names.is_empty());
    assert!(names.iter().all(|n| n.starts_with("support/")), "{names:?}");
    assert_eq!(r.json()["searched"], 2);
    let all = get("/_api/v1/search?q=refund", Some(&everything));
    assert_eq!(all.json()["searched"], 7);
    // The same answer through the command line's HTTP store, with the token.
    let out = env
        .cmd_in(
            env.root.path(),
            &["--store", reg.url(), "--format", "json", "search", "refund"],
        )
        .env("PULSE_TOKEN", &support)
        .output()
        .unwrap()
        .assert_ok();
    let via_cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(via_cli, r.json());
    // No token, a bad pattern, no pattern, too long a pattern, a flag that is not one.
    assert_eq!(get("/_api/v1/search?q=refund", None).status, 401);
    let long = "x".repeat(5000);
    for bad in [
        "/_api/v1/search?q=%28&regex=true".to_owned(),
        "/_api/v1/search".to_owned(),
        "/_api/v1/search?q=".to_owned(),
        format!("/_api/v1/search?q={long}"),
        "/_api/v1/search?q=a&regex=yes".to_owned(),
        "/_api/v1/search?q=a&label=NO".to_owned(),
        "/_api/v1/search?q=a&label=production&all_versions=true".to_owned(),
        "/_api/v1/search?q=a%7B100000%7D%7B100000%7D&regex=true".to_owned(),
    ] {
        let r = get(&bad, Some(&everything));
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert_eq!(r.error_kind(), "usage");
    }
}

/// The git repository's search cache (`pulse-search.cache` in the git directory) is
/// derived: damaged, replaced by garbage or deleted, it changes no answer, and a release
/// made again with other content is never answered with the old bytes.
#[test]
fn the_search_cache_is_derived_and_never_trusted_over_the_releases() {
    let env = seeded();
    let query = ["--all-versions", "-i", "refund"];
    let first = json(&env, &query);
    let cache = env.repo.join(".git/pulse-search.cache");
    assert!(cache.exists());
    assert_eq!(json(&env, &query), first);
    // Content changed behind the cache's checksums: read from the object database.
    let bytes = std::fs::read(&cache).unwrap();
    let damaged: Vec<u8> = String::from_utf8_lossy(&bytes)
        .replace("refund", "return")
        .into_bytes();
    std::fs::write(&cache, damaged).unwrap();
    assert_eq!(json(&env, &query), first);
    std::fs::write(&cache, b"not a cache at all").unwrap();
    assert_eq!(json(&env, &query), first);
    std::fs::remove_file(&cache).unwrap();
    assert_eq!(json(&env, &query), first);
    assert!(cache.exists());
    // The branch's metadata is kept for one commit: a label moved, or a description
    // changed, is a new commit, and is searched at once.
    assert!(env.repo.join(".git/pulse-search-meta.cache").exists());
    let labelled = |label: &str| json(&env, &["--label", label, "GPT"])["hits"].clone();
    assert_eq!(labelled("production")[0]["version"], "1.0.0");
    env.pulse(&["label", "set", "support/refunds", "production", "1.1.0"])
        .assert_ok();
    let moved = labelled("production");
    assert!(
        moved
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["name"] == "support/refunds" && h["version"] == "1.1.0"),
        "{moved}"
    );
    // Deleted and released again with other content: a new tag object, a new entry.
    env.pulse(&["delete", "team/a@1.0.0"]).assert_ok();
    env.add("team/a", "1.0.0", b"team refund, released again\n");
    let again = json(&env, &["--prefix", "team", "refund"]);
    assert_eq!(again["hits"][0]["text"], "team refund, released again");
}
