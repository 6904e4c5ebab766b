//! `pulse serve` and `pulse token`: the real binary serving real stores on 127.0.0.1,
//! spoken to over real HTTP/1.1.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::registry::{HANG_GUARD, Registry, Response, parse_response, signal};
use crate::common::{Env, OutputExt};

const CONTENTS: [(&str, &[u8]); 3] = [
    ("1.0.0", b"# Reviewer\n\nReview the diff.\n"),
    ("1.1.0", b"# Reviewer\n\nReview the diff carefully.\n"),
    (
        "2.0.0-rc.1",
        b"# Reviewer\n\nReview \xe2\x9c\x93 everything.\n",
    ),
];

/// A repository with `team/p` (three releases, a description, keywords, messages, a
/// label) and `q` (one release, no labels).
fn seeded() -> Env {
    let env = Env::new();
    for (i, (version, content)) in CONTENTS.iter().enumerate() {
        let message = format!("release number {i}");
        env.pulse_stdin(
            &[
                "add",
                "team/p",
                "--version",
                version,
                "--description",
                "The P prompt",
                "--tags",
                "a,b",
                "--message",
                &message,
                "--allow-older",
            ],
            content,
        )
        .assert_ok();
    }
    env.add("q", "0.1.0", b"q\n");
    env.pulse(&["label", "set", "team/p", "production", "1.0.0"])
        .assert_ok();
    env.pulse(&["label", "set", "team/p", "staging", "1.1.0"])
        .assert_ok();
    env
}

fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", pulse::Digest::of(bytes).hex())
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Percent-encode every byte outside `A-Z a-z 0-9 - . _ ~` (RFC 3986).
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every file under `dir` (not dot files), by path relative to it.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap();
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                todo.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_str().unwrap().to_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// JSON as pulse writes a layout file: pretty, with a newline.
fn pretty(value: &serde_json::Value) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(value).unwrap();
    v.push(b'\n');
    v
}

/// Check every file of `expected` (by path) against what the registry serves: bytes,
/// tags, caching, types, `HEAD` and `304`.
fn serves_exactly(reg: &Registry, expected: &BTreeMap<String, Vec<u8>>) {
    for (rel, bytes) in expected {
        let path = format!("/{rel}");
        let r = reg.get(&path, None);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.body, *bytes, "{path}");
        let tag = etag(bytes);
        assert_eq!(r.header("etag"), Some(tag.as_str()), "{path}");
        let release_file = rel.ends_with("/content.md") || rel.ends_with("/metadata.json");
        let cache = if release_file {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        assert_eq!(r.header("cache-control"), Some(cache), "{path}");
        let kind = if rel.ends_with(".md") {
            "text/markdown; charset=utf-8"
        } else {
            "application/json"
        };
        assert_eq!(r.header("content-type"), Some(kind), "{path}");

        let head = reg.request("HEAD", &path, &[], b"");
        assert_eq!(head.status, 200, "HEAD {path}");
        assert!(head.body.is_empty(), "HEAD {path}");
        assert_eq!(
            head.header("content-length"),
            Some(bytes.len().to_string().as_str()),
            "HEAD {path}"
        );
        assert_eq!(head.header("etag"), Some(tag.as_str()), "HEAD {path}");
        assert_eq!(head.header("cache-control"), Some(cache), "HEAD {path}");

        for sent in [tag.clone(), format!("W/{tag}"), format!("\"x\", {tag}")] {
            let r = reg.request("GET", &path, &[("If-None-Match", &sent)], b"");
            assert_eq!(r.status, 304, "{path} If-None-Match: {sent}");
            assert!(r.body.is_empty());
            assert_eq!(r.header("etag"), Some(tag.as_str()));
            assert_eq!(r.header("cache-control"), Some(cache));
        }
        let r = reg.request("GET", &path, &[("If-None-Match", "\"other\"")], b"");
        assert_eq!(r.status, 200, "{path} with a stale tag");
    }
}

#[test]
fn layout_reads_are_byte_for_byte_what_export_writes_from_a_repository_and_a_directory() {
    let env = seeded();
    let export = env.path("export");
    env.pulse(&["export", export.to_str().unwrap()]).assert_ok();
    let exported = files(&export);
    assert!(
        exported.contains_key("_pulse.json"),
        "{:?}",
        exported.keys()
    );
    assert!(exported.contains_key("team/p/labels.json"));
    assert!(exported.contains_key("team/p/_index.json"));
    assert!(exported.contains_key("team/p/2.0.0-rc.1/content.md"));
    assert!(exported.contains_key("q/0.1.0/metadata.json"));

    // A directory store another copy of which is served, so the bytes compared are the
    // registry's rendering, not the files it serves.
    let dir = env.path("dir-store");
    env.pulse(&["sync", env.repo.to_str().unwrap(), dir.to_str().unwrap()])
        .assert_ok();
    for address in [env.repo.clone(), dir] {
        let reg = Registry::start(&env, address.to_str().unwrap(), &["--allow-anonymous-read"]);
        serves_exactly(&reg, &exported);

        // What the layout has no file for: the catalog, and a prompt without labels.
        let catalog = reg.get("/_catalog.json", None);
        assert_eq!(
            catalog.body,
            pretty(&serde_json::json!({"prompts": ["q", "team/p"]})),
            "{}",
            catalog.text()
        );
        assert_eq!(catalog.header("cache-control"), Some("no-cache"));
        let mut derived = BTreeMap::new();
        derived.insert("_catalog.json".to_owned(), catalog.body.clone());
        derived.insert("q/labels.json".to_owned(), b"{}\n".to_vec());
        serves_exactly(&reg, &derived);

        for missing in [
            "/team/p/9.9.9/content.md",
            "/team/p/9.9.9/metadata.json",
            "/nope/labels.json",
            "/nope/_index.json",
            "/nope/1.0.0/content.md",
            "/team/p",
            "/team/p/1.0.0",
            "/anything/else.txt",
        ] {
            let r = reg.get(missing, None);
            assert_eq!(r.status, 404, "{missing}: {}", r.text());
            assert_eq!(r.error_kind(), "not_found", "{missing}");
            assert!(!r.json()["error"]["hints"].as_array().unwrap().is_empty());
        }
        for invalid in [
            "/Team/labels.json",
            "/team//p/labels.json",
            "/team/p/v1.0.0/content.md",
        ] {
            let r = reg.get(invalid, None);
            assert_eq!(r.status, 400, "{invalid}: {}", r.text());
            assert_eq!(r.error_kind(), "usage");
        }
        let r = reg.request("POST", "/team/p/labels.json", &[], b"{}");
        assert_eq!(r.status, 405);
        assert_eq!(r.header("allow"), Some("GET, HEAD, PUT"));
    }
}

#[test]
fn the_json_api_answers_as_the_command_line_prints() {
    let env = seeded();
    let reg = Registry::start(
        &env,
        env.repo.to_str().unwrap(),
        &["--allow-anonymous-read"],
    );
    let cli = |args: &[&str]| env.pulse(args).assert_ok().stdout;
    let cases: Vec<(String, Vec<u8>)> = vec![
        (
            "/_api/v1/prompts".into(),
            cli(&["list", "--format", "json"]),
        ),
        (
            "/_api/v1/prompts?prefix=team".into(),
            cli(&["list", "team", "--format", "json"]),
        ),
        (
            "/_api/v1/prompts?tags=a%2Cb".into(),
            cli(&["list", "--tags", "a,b", "--format", "json"]),
        ),
        (
            "/_api/v1/prompts/team/p/versions".into(),
            cli(&["versions", "team/p", "--format", "json"]),
        ),
        (
            "/_api/v1/prompts/team/p/resolve".into(),
            cli(&["show", "team/p", "--format", "json"]),
        ),
        (
            "/_api/v1/prompts/team/p/resolve?selector=production".into(),
            cli(&["show", "team/p@production", "--format", "json"]),
        ),
        (
            format!(
                "/_api/v1/prompts/team/p/resolve?selector={}",
                pct(">=1.0.0, <1.1.0")
            ),
            cli(&["show", "team/p@>=1.0.0, <1.1.0", "--format", "json"]),
        ),
        (
            "/_api/v1/prompts/team/p/history".into(),
            cli(&["label", "history", "team/p", "--format", "json"]),
        ),
        (
            "/_api/v1/prompts/team/p/history?label=staging".into(),
            cli(&["label", "history", "team/p", "staging", "--format", "json"]),
        ),
    ];
    for (path, expected) in &cases {
        let r = reg.get(path, None);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.text(), String::from_utf8_lossy(expected), "{path}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        let tag = etag(&r.body);
        assert_eq!(r.header("etag"), Some(tag.as_str()), "{path}");
        let again = reg.request("GET", path, &[("If-None-Match", &tag)], b"");
        assert_eq!(again.status, 304, "{path}");
    }
    // The content a selector means, with the version it resolved to.
    for (selector, version) in [
        ("%5E1", "1.1.0"),
        ("production", "1.0.0"),
        ("2.0.0-rc.1", "2.0.0-rc.1"),
    ] {
        let r = reg.get(
            &format!("/_api/v1/prompts/team/p/content?selector={selector}"),
            None,
        );
        assert_eq!(r.status, 200, "{selector}: {}", r.text());
        let fetched = cli(&["fetch", &format!("team/p@{version}")]);
        assert_eq!(r.body, fetched, "{selector}");
        assert_eq!(r.header("pulse-version"), Some(version));
        assert_eq!(r.header("etag"), Some(etag(&fetched).as_str()));
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        assert_eq!(
            r.header("content-type"),
            Some("text/markdown; charset=utf-8")
        );
    }
    let r = reg.get("/_api/v1/prompts/team/p/content", None);
    assert_eq!(
        r.header("pulse-version"),
        Some("1.1.0"),
        "latest skips pre-releases"
    );
    // A prompt named like a request: the last segment names the request.
    for (path, status, kind) in [
        (
            "/_api/v1/prompts/team/p/resolve?selector=%5E9",
            404,
            "not_found",
        ),
        (
            "/_api/v1/prompts/team/p/resolve?selector=9.9.9",
            404,
            "not_found",
        ),
        (
            "/_api/v1/prompts/team/p/resolve?selector=%5E%5E",
            400,
            "usage",
        ),
        ("/_api/v1/prompts/team/versions/versions", 404, "not_found"),
        ("/_api/v1/prompts/nope/content", 404, "not_found"),
        ("/_api/v1/prompts/team/p/history?label=Bad", 400, "usage"),
        ("/_api/v1/prompts?prefix=Bad", 400, "usage"),
    ] {
        let r = reg.get(path, None);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert_eq!(r.error_kind(), kind, "{path}");
    }
}

#[test]
fn uploads_are_create_only_and_carry_their_metadata() {
    let env = Env::new();
    let dir = env.path("store");
    let token = Registry::token(&env, "ci-bot", "write", None);
    let auth = bearer(&token);
    let reg = Registry::start(&env, dir.to_str().unwrap(), &[]);
    let put = |path: &str, extra: &[(&str, &str)], body: &[u8]| {
        let mut headers = vec![("Authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        reg.request("PUT", path, &headers, body)
    };
    let r = put("/team/a/1.0.0/content.md", &[], b"one\n");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["stored"], "created");
    assert_eq!(
        r.json()["sha256"],
        format!("sha256:{}", pulse::Digest::of(b"one\n").hex())
    );
    assert_eq!(r.header("etag"), Some(etag(b"one\n").as_str()));
    let r = put("/team/a/1.0.0/content.md", &[], b"one\n");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["stored"], "unchanged");
    let r = put("/team/a/1.0.0/content.md", &[], b"other\n");
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.error_kind(), "conflict");
    let fetched = env
        .pulse(&["--store", dir.to_str().unwrap(), "fetch", "team/a@1.0.0"])
        .assert_ok();
    assert_eq!(fetched.stdout, b"one\n");

    // Without an author, the release is by the token's name.
    let meta = reg.get("/team/a/1.0.0/metadata.json", Some(&token)).json();
    assert!(
        meta["author"].as_str().unwrap().starts_with("ci-bot <"),
        "{meta}"
    );
    assert_eq!(meta["created_at"], "2024-01-02T03:04:05+00:00");

    // A copy between stores sends the metadata whole: nothing is re-authored.
    let release = serde_json::json!({
        "description": "The A prompt",
        "tags": ["x", "y"],
        "message": "first of its name ✓",
        "author": "Grace Hopper <grace@example.com>",
        "created": "2020-05-06T07:08:09Z",
    });
    let header = pct(&release.to_string());
    let checksum = format!("sha256:{}", pulse::Digest::of(b"two\n").hex());
    let r = put(
        "/team/a/1.1.0/content.md",
        &[("Pulse-Release", &header), ("Pulse-Checksum", &checksum)],
        b"two\n",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let meta = reg.get("/team/a/1.1.0/metadata.json", Some(&token)).json();
    assert_eq!(meta["author"], "Grace Hopper <grace@example.com>");
    assert_eq!(meta["message"], "first of its name ✓");
    assert_eq!(meta["description"], "The A prompt");
    assert_eq!(meta["tags"], serde_json::json!(["x", "y"]));
    assert!(
        meta["created_at"]
            .as_str()
            .unwrap()
            .starts_with("2020-05-06T07:08:09"),
        "{meta}"
    );
    let index = reg.get("/team/a/_index.json", Some(&token)).json();
    assert_eq!(index["description"], "The A prompt");

    // A body that does not match its checksum is refused, and nothing is written.
    let r = put(
        "/team/a/1.2.0/content.md",
        &[("Pulse-Checksum", &checksum)],
        b"two, cut sh",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        reg.get("/team/a/1.2.0/content.md", Some(&token)).status,
        404
    );
    for (name, value) in [
        ("Pulse-Checksum", "md5:abc"),
        ("Pulse-Release", "%7Bnot json"),
        ("Pulse-Release", "%5B%5D"),
        ("Pulse-Release", &pct(r#"{"author": "nobody"}"#)),
        ("Pulse-Release", &pct(r#"{"created": "yesterday"}"#)),
        ("Pulse-Release", &pct(r#"{"unknown": 1}"#)),
    ] {
        let r = put("/team/a/1.3.0/content.md", &[(name, value)], b"three\n");
        assert_eq!(r.status, 400, "{name}: {value}: {}", r.text());
        assert_eq!(r.error_kind(), "usage");
    }
    assert_eq!(
        reg.get("/team/a/1.3.0/content.md", Some(&token)).status,
        404
    );
    // A name or version that cannot be one.
    assert_eq!(put("/Team/1.0.0/content.md", &[], b"x").status, 400);
    assert_eq!(put("/team/a/1.0/content.md", &[], b"x").status, 400);
    // A release of a directory store can be uploaded to a registry over a git repository.
    let reg_git = Registry::start(&env, env.repo.to_str().unwrap(), &[]);
    let r = reg_git.request(
        "PUT",
        "/team/a/1.1.0/content.md",
        &[("Authorization", &auth), ("Pulse-Release", &header)],
        b"two\n",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        env.pulse(&["fetch", "team/a@1.1.0"]).assert_ok().stdout,
        b"two\n"
    );
    let shown: serde_json::Value = serde_json::from_slice(
        &env.pulse(&["show", "team/a@1.1.0", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(shown["author"], "Grace Hopper <grace@example.com>");
    assert_eq!(shown["message"], "first of its name ✓");
    env.git(&["fsck", "--strict"]);
}

/// `(status, ETag, body)` of `GET path`.
fn read_tagged(reg: &Registry, path: &str, token: &str) -> (u16, String, serde_json::Value) {
    let r = reg.get(path, Some(token));
    let tag = r.header("etag").unwrap_or_default().to_owned();
    (
        r.status,
        tag,
        if r.body.is_empty() {
            serde_json::Value::Null
        } else {
            r.json()
        },
    )
}

#[test]
fn labels_and_metadata_move_by_compare_and_swap() {
    let env = seeded();
    let dir = env.path("store");
    env.pulse(&["sync", env.repo.to_str().unwrap(), dir.to_str().unwrap()])
        .assert_ok();
    let token = Registry::token(&env, "ops", "write", Some("team"));
    let auth = bearer(&token);
    let q_token = Registry::token(&env, "q-ops", "write", Some("q"));
    for address in [dir.clone(), env.repo.clone()] {
        let reg = Registry::start(&env, address.to_str().unwrap(), &[]);
        let put = |path: &str, extra: &[(&str, &str)], body: &str| {
            let mut headers = vec![("Authorization", auth.as_str())];
            headers.extend_from_slice(extra);
            reg.request("PUT", path, &headers, body.as_bytes())
        };
        let (_, tag, labels) = read_tagged(&reg, "/team/p/labels.json", &token);
        assert_eq!(
            labels,
            serde_json::json!({"production": "1.0.0", "staging": "1.1.0"})
        );

        let r = put("/team/p/labels.json", &[], r#"{"production": "1.1.0"}"#);
        assert_eq!(r.status, 428, "{}", r.text());
        let moved = r#"{"production": "1.1.0", "canary": "2.0.0-rc.1"}"#;
        let r = put("/team/p/labels.json", &[("If-Match", &tag)], moved);
        assert_eq!(r.status, 200, "{}", r.text());
        // The answer is the new file with its tag; staging was left out, so it is gone.
        let expected = serde_json::json!({"canary": "2.0.0-rc.1", "production": "1.1.0"});
        assert_eq!(r.json(), expected);
        assert_eq!(r.body, pretty(&expected));
        let new_tag = r.header("etag").unwrap().to_owned();
        assert_eq!(new_tag, etag(&r.body));
        assert_eq!(read_tagged(&reg, "/team/p/labels.json", &token).1, new_tag);
        // The tag read before the move is stale now.
        let r = put("/team/p/labels.json", &[("If-Match", &tag)], r#"{}"#);
        assert_eq!(r.status, 412, "{}", r.text());
        assert_eq!(r.error_kind(), "conflict");
        let r = put("/team/p/labels.json", &[("If-None-Match", "*")], r#"{}"#);
        assert_eq!(r.status, 412, "a prompt with labels: {}", r.text());
        for (body, status) in [
            (r#"{"production": "9.9.9"}"#, 404),
            (r#"{"Production": "1.0.0"}"#, 400),
            (r#"{"latest": "1.0.0"}"#, 400),
            (r#"{"production": "one"}"#, 400),
            (r#"["production"]"#, 400),
            (r#"{"production": 1}"#, 400),
        ] {
            let r = put("/team/p/labels.json", &[("If-Match", &new_tag)], body);
            assert_eq!(r.status, status, "{body}: {}", r.text());
        }
        assert_eq!(read_tagged(&reg, "/team/p/labels.json", &token).2, expected);
        // Labels put back as they were.
        let r = put(
            "/team/p/labels.json",
            &[("If-Match", &new_tag)],
            r#"{"production": "1.0.0", "staging": "1.1.0"}"#,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json(), labels);

        // The index: only the description and keywords change.
        let (_, tag, mut index) = read_tagged(&reg, "/team/p/_index.json", &token);
        assert_eq!(index["description"], "The P prompt");
        let r = put("/team/p/_index.json", &[], &index.to_string());
        assert_eq!(r.status, 428);
        index["description"] = "Better words".into();
        index["tags"] = serde_json::json!(["c"]);
        let r = put(
            "/team/p/_index.json",
            &[("If-Match", &tag)],
            &index.to_string(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json(), index);
        let r = put(
            "/team/p/_index.json",
            &[("If-Match", &tag)],
            &index.to_string(),
        );
        assert_eq!(r.status, 412, "{}", r.text());
        let (_, tag, _) = read_tagged(&reg, "/team/p/_index.json", &token);
        let mut other = index.clone();
        other["versions"].as_object_mut().unwrap().remove("1.0.0");
        let r = put(
            "/team/p/_index.json",
            &[("If-Match", &tag)],
            &other.to_string(),
        );
        assert_eq!(r.status, 400, "{}", r.text());
        let summary = reg.get("/_api/v1/prompts?prefix=team", Some(&token)).json();
        assert_eq!(summary[0]["description"], "Better words");
        assert_eq!(summary[0]["tags"], serde_json::json!(["c"]));
        // And back, for the next store.
        index["description"] = "The P prompt".into();
        index["tags"] = serde_json::json!(["a", "b"]);
        let r = put(
            "/team/p/_index.json",
            &[("If-Match", &tag)],
            &index.to_string(),
        );
        assert_eq!(r.status, 200, "{}", r.text());

        // A prompt without labels takes a first one with If-None-Match: *.
        let r = reg.request(
            "PUT",
            "/q/labels.json",
            &[("Authorization", &bearer(&q_token)), ("If-None-Match", "*")],
            br#"{"production": "0.1.0"}"#,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let r = reg.request(
            "PUT",
            "/q/labels.json",
            &[("Authorization", &bearer(&q_token)), ("If-None-Match", "*")],
            br#"{}"#,
        );
        assert_eq!(r.status, 412, "{}", r.text());
        let (_, tag, _) = read_tagged(&reg, "/q/labels.json", &q_token);
        let r = reg.request(
            "PUT",
            "/q/labels.json",
            &[("Authorization", &bearer(&q_token)), ("If-Match", &tag)],
            br#"{}"#,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.body, b"{}\n");
    }
    env.git(&["fsck", "--strict"]);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Nobody,
    Malformed,
    Wrong,
    Revoked,
    Read,
    Write,
    WriteOther,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    StoreInfo,
    Catalog,
    Index,
    Labels,
    Content,
    ContentHead,
    Metadata,
    ApiPrompts,
    ApiVersions,
    ApiResolve,
    ApiHistory,
    ApiContent,
    Upload,
    MoveLabels,
    ChangeIndex,
    Delete,
}

const ENDPOINTS: [Endpoint; 16] = [
    Endpoint::StoreInfo,
    Endpoint::Catalog,
    Endpoint::Index,
    Endpoint::Labels,
    Endpoint::Content,
    Endpoint::ContentHead,
    Endpoint::Metadata,
    Endpoint::ApiPrompts,
    Endpoint::ApiVersions,
    Endpoint::ApiResolve,
    Endpoint::ApiHistory,
    Endpoint::ApiContent,
    Endpoint::Upload,
    Endpoint::MoveLabels,
    Endpoint::ChangeIndex,
    Endpoint::Delete,
];

impl Endpoint {
    /// 0: read, 1: write, 2: admin.
    fn needs(self) -> u8 {
        match self {
            Endpoint::Upload | Endpoint::MoveLabels | Endpoint::ChangeIndex => 1,
            Endpoint::Delete => 2,
            _ => 0,
        }
    }

    fn names_a_prompt(self) -> bool {
        !matches!(
            self,
            Endpoint::StoreInfo | Endpoint::Catalog | Endpoint::ApiPrompts
        )
    }

    /// The audit log's action for this request.
    fn action(self) -> &'static str {
        match self {
            Endpoint::Upload => "release",
            Endpoint::MoveLabels => "labels",
            Endpoint::ChangeIndex => "metadata",
            Endpoint::Delete => "delete",
            _ => "read",
        }
    }

    /// What an allowed request answers.
    fn allowed(self) -> &'static [u16] {
        match self {
            Endpoint::Upload => &[201, 200],
            Endpoint::Delete => &[204],
            _ => &[200],
        }
    }
}

/// What `who` gets for `endpoint`.
fn expected(who: Who, endpoint: Endpoint, anonymous_read: bool) -> &'static [u16] {
    let (scope, covers) = match who {
        Who::Malformed | Who::Wrong | Who::Revoked => return &[401],
        Who::Nobody if endpoint.needs() == 0 && anonymous_read => return endpoint.allowed(),
        Who::Nobody => return &[401],
        Who::Read => (0, true),
        Who::Write => (1, true),
        Who::WriteOther => (1, !endpoint.names_a_prompt()),
        Who::Admin => (2, true),
    };
    if scope < endpoint.needs() || !covers {
        &[403]
    } else {
        endpoint.allowed()
    }
}

struct Matrix {
    tokens: BTreeMap<&'static str, String>,
}

impl Matrix {
    fn header(&self, who: Who) -> Option<String> {
        let token = |k: &str| bearer(&self.tokens[k]);
        match who {
            Who::Nobody => None,
            Who::Malformed => Some("Bearer not-a-pulse-token".to_owned()),
            Who::Wrong => {
                // The admin token's id with another secret.
                let admin = &self.tokens["admin"];
                let (head, last) = admin.split_at(admin.len() - 1);
                Some(bearer(&format!(
                    "{head}{}",
                    if last == "0" { "1" } else { "0" }
                )))
            }
            Who::Revoked => Some(token("revoked")),
            Who::Read => Some(token("read")),
            Who::Write => Some(token("write")),
            Who::WriteOther => Some(token("other")),
            Who::Admin => Some(token("admin")),
        }
    }

    /// Send `endpoint`'s request as `who`; `release` is the version a delete removes.
    fn send(&self, reg: &Registry, who: Who, endpoint: Endpoint, release: &str) -> Response {
        let auth = self.header(who);
        let mut headers: Vec<(&str, String)> = Vec::new();
        if let Some(a) = &auth {
            headers.push(("Authorization", a.clone()));
        }
        // Writes of pointer files send what is there, with its current tag (read as admin).
        let current = |path: &str| {
            let r = reg.get(path, Some(&self.tokens["admin"]));
            assert_eq!(r.status, 200, "{path}");
            (r.header("etag").unwrap().to_owned(), r.body)
        };
        let (method, path, body): (&str, String, Vec<u8>) = match endpoint {
            Endpoint::StoreInfo => ("GET", "/_pulse.json".into(), vec![]),
            Endpoint::Catalog => ("GET", "/_catalog.json".into(), vec![]),
            Endpoint::Index => ("GET", "/team/a/_index.json".into(), vec![]),
            Endpoint::Labels => ("GET", "/team/a/labels.json".into(), vec![]),
            Endpoint::Content => ("GET", "/team/a/1.0.0/content.md".into(), vec![]),
            Endpoint::ContentHead => ("HEAD", "/team/a/1.0.0/content.md".into(), vec![]),
            Endpoint::Metadata => ("GET", "/team/a/1.0.0/metadata.json".into(), vec![]),
            Endpoint::ApiPrompts => ("GET", "/_api/v1/prompts".into(), vec![]),
            Endpoint::ApiVersions => ("GET", "/_api/v1/prompts/team/a/versions".into(), vec![]),
            Endpoint::ApiResolve => (
                "GET",
                "/_api/v1/prompts/team/a/resolve?selector=production".into(),
                vec![],
            ),
            Endpoint::ApiHistory => ("GET", "/_api/v1/prompts/team/a/history".into(), vec![]),
            Endpoint::ApiContent => ("GET", "/_api/v1/prompts/team/a/content".into(), vec![]),
            Endpoint::Upload => (
                "PUT",
                "/team/a/3.0.0/content.md".into(),
                b"three\n".to_vec(),
            ),
            Endpoint::MoveLabels => {
                let (tag, body) = current("/team/a/labels.json");
                headers.push(("If-Match", tag));
                ("PUT", "/team/a/labels.json".into(), body)
            }
            Endpoint::ChangeIndex => {
                let (tag, body) = current("/team/a/_index.json");
                headers.push(("If-Match", tag));
                ("PUT", "/team/a/_index.json".into(), body)
            }
            Endpoint::Delete => ("DELETE", format!("/team/a/{release}/content.md"), vec![]),
        };
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        reg.request(method, &path, &headers, &body)
    }
}

#[test]
fn every_endpoint_answers_every_kind_of_token_as_its_scope_and_prefixes_say() {
    let env = Env::new();
    for (name, version) in [
        ("team/a", "1.0.0"),
        ("team/a", "1.0.1"),
        ("team/a", "1.0.2"),
        ("other/b", "1.0.0"),
    ] {
        env.add(name, version, format!("{name} {version}\n").as_bytes());
    }
    env.pulse(&["label", "set", "team/a", "production", "1.0.0"])
        .assert_ok();
    let mut tokens = BTreeMap::new();
    tokens.insert(
        "read",
        Registry::token(&env, "reader", "read", Some("team")),
    );
    tokens.insert(
        "write",
        Registry::token(&env, "writer", "write", Some("team/")),
    );
    tokens.insert(
        "other",
        Registry::token(&env, "other", "write", Some("other")),
    );
    tokens.insert("admin", Registry::token(&env, "root", "admin", None));
    tokens.insert("revoked", Registry::token(&env, "gone", "admin", None));
    env.cmd_in(env.root.path(), &["token", "revoke", "gone"])
        .output()
        .unwrap()
        .assert_ok();
    let matrix = Matrix { tokens };
    let whos = [
        Who::Nobody,
        Who::Malformed,
        Who::Wrong,
        Who::Revoked,
        Who::Read,
        Who::Write,
        Who::WriteOther,
        Who::Admin,
    ];
    for (run, anonymous_read) in [(1, false), (2, true)] {
        let audit = env.path(&format!("audit-{run}.jsonl"));
        let mut args = vec!["--audit-log", audit.to_str().unwrap()];
        if anonymous_read {
            args.push("--allow-anonymous-read");
        }
        let reg = Registry::start(&env, env.repo.to_str().unwrap(), &args);
        let release = format!("1.0.{run}");
        let mut logged = Vec::new();
        let mut failures = Vec::new();
        for endpoint in ENDPOINTS {
            for who in whos {
                let r = matrix.send(&reg, who, endpoint, &release);
                let want = expected(who, endpoint, anonymous_read);
                if !want.contains(&r.status) {
                    failures.push(format!(
                        "{endpoint:?} as {who:?} (anonymous read {anonymous_read}): {} not {want:?}: {}",
                        r.status,
                        r.text()
                    ));
                }
                if r.status == 401 {
                    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
                }
                if (r.status == 401 || r.status == 403) && endpoint != Endpoint::ContentHead {
                    assert_eq!(r.error_kind(), "unavailable", "{endpoint:?} as {who:?}");
                }
                if r.status == 401 || r.status == 403 || endpoint.needs() > 0 {
                    logged.push((endpoint.action(), r.status));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));

        // Listings show only what the token may read.
        let catalog = |who: Who| {
            let auth = matrix.header(who).unwrap();
            reg.request("GET", "/_catalog.json", &[("Authorization", &auth)], b"")
                .json()["prompts"]
                .clone()
        };
        assert_eq!(catalog(Who::Read), serde_json::json!(["team/a"]));
        assert_eq!(catalog(Who::WriteOther), serde_json::json!(["other/b"]));
        assert_eq!(
            catalog(Who::Admin),
            serde_json::json!(["other/b", "team/a"])
        );
        let listed = reg
            .request(
                "GET",
                "/_api/v1/prompts",
                &[("Authorization", &matrix.header(Who::WriteOther).unwrap())],
                b"",
            )
            .json();
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!(listed[0]["name"], "other/b");

        // The audit log: a line for every write and every refusal, in order, and no secret.
        let log = std::fs::read_to_string(&audit).unwrap();
        let lines: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let seen: Vec<(&str, u16)> = lines
            .iter()
            .map(|l| {
                (
                    l["action"].as_str().unwrap(),
                    u16::try_from(l["status"].as_u64().unwrap()).unwrap(),
                )
            })
            .collect();
        assert_eq!(seen, logged, "{log}");
        for line in &lines {
            assert!(line["time"].as_str().unwrap().ends_with('Z'), "{line}");
            assert!(line["client"].as_str().unwrap().starts_with("127.0.0.1:"));
            assert!(line["result"].as_str().is_some_and(|r| !r.is_empty()));
            match &line["token"] {
                serde_json::Value::Null => {}
                id => assert_eq!(id.as_str().unwrap().len(), 8, "{line}"),
            }
        }
        let deleted = lines
            .iter()
            .find(|l| l["action"] == "delete" && l["status"] == 204)
            .unwrap();
        assert_eq!(deleted["target"], format!("team/a@{release}"));
        assert_eq!(deleted["result"], "deleted");
        for token in matrix.tokens.values() {
            let secret = token.rsplit('_').next().unwrap();
            assert!(!log.contains(secret), "the audit log holds a secret");
        }
        assert!(!log.contains("not-a-pulse-token"));
    }
    env.git(&["fsck", "--strict"]);
}

#[test]
fn a_revoked_token_is_refused_without_a_restart() {
    let env = Env::new();
    env.add("p", "1.0.0", b"p\n");
    let token = Registry::token(&env, "temp", "read", None);
    let reg = Registry::start(&env, env.repo.to_str().unwrap(), &[]);
    assert_eq!(reg.get("/p/1.0.0/content.md", Some(&token)).status, 200);
    env.cmd_in(env.root.path(), &["token", "revoke", "temp"])
        .output()
        .unwrap()
        .assert_ok();
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        let r = reg.get("/p/1.0.0/content.md", Some(&token));
        if r.status == 401 {
            break;
        }
        assert_eq!(r.status, 200);
        assert!(
            Instant::now() < deadline,
            "the revoked token is still accepted"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A token made while it runs is accepted too.
    let new = Registry::token(&env, "later", "read", None);
    let deadline = Instant::now() + HANG_GUARD;
    while reg.get("/p/1.0.0/content.md", Some(&new)).status != 200 {
        assert!(Instant::now() < deadline, "the new token is never accepted");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_token_command_shows_a_secret_once_and_keeps_only_its_hash() {
    let env = Env::empty();
    let file = env.path("tokens.json");
    let f = file.to_str().unwrap();
    let run = |args: &[&str]| env.cmd_in(env.root.path(), args).output().unwrap();
    let made = run(&[
        "token", "add", "ci", "--scope", "write", "--prefix", "team", "--prefix", "ops/",
        "--tokens", f, "--format", "json",
    ])
    .assert_ok();
    let made: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
    let token = made["token"].as_str().unwrap();
    let id = made["id"].as_str().unwrap();
    assert_eq!(made["name"], "ci");
    assert_eq!(made["scope"], "write");
    assert_eq!(made["prefixes"], serde_json::json!(["ops", "team"]));
    assert!(token.starts_with(&format!("pulse_{id}_")), "{token}");
    let secret = token.rsplit('_').next().unwrap();
    assert_eq!(secret.len(), 64);
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(!stored.contains(secret));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let text = run(&["token", "add", "reader", "--scope", "read", "--tokens", f]).assert_ok();
    assert!(text.stdout_str().trim().starts_with("pulse_"));
    assert_eq!(text.stdout_str().lines().count(), 1);
    let listed = run(&["token", "list", "--tokens", f])
        .assert_ok()
        .stdout_str();
    assert!(
        listed.contains("ci") && listed.contains("reader") && listed.contains(id),
        "{listed}"
    );
    let json = run(&["token", "list", "--tokens", f, "--format", "json"]).assert_ok();
    let list: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    for listing in [listed, json.stdout_str()] {
        assert!(
            !listing.contains(secret) && !listing.contains("sha256"),
            "{listing}"
        );
    }

    run(&["token", "add", "ci", "--scope", "read", "--tokens", f]).assert_code(4);
    run(&["token", "add", "bad name", "--scope", "read", "--tokens", f]).assert_code(2);
    run(&["token", "add", "x", "--scope", "root", "--tokens", f]).assert_code(2);
    run(&[
        "token", "add", "x", "--scope", "read", "--prefix", "Bad/", "--tokens", f,
    ])
    .assert_code(2);
    let out = run(&["token", "revoke", "nobody", "--tokens", f]).assert_code(3);
    out.assert_stderr_has("pulse token list");
    run(&["token", "revoke", id, "--tokens", f]).assert_ok();
    run(&["token", "revoke", "reader", "--tokens", f]).assert_ok();
    let empty = run(&["token", "list", "--tokens", f, "--format", "json"]).assert_ok();
    assert_eq!(empty.stdout_str().trim(), "[]");

    // The default file is under XDG_CONFIG_HOME.
    run(&["token", "add", "default", "--scope", "read"]).assert_ok();
    assert!(env.path("config/progress-pulse/tokens.json").is_file());

    // A tokens file that is not one stops the server before it listens.
    std::fs::write(&file, b"{\"format\": 1, \"tokens\": [{]}").unwrap();
    let out = run(&[
        "--store",
        env.path("s").to_str().unwrap(),
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--tokens",
        f,
    ])
    .assert_code(5);
    assert!(out.stdout.is_empty());
    out.assert_stderr_has("tokens file");
}

#[test]
fn an_oversized_body_is_refused_with_413_and_nothing_is_written() {
    let env = Env::empty();
    let dir = env.path("store");
    let token = Registry::token(&env, "ci", "write", None);
    let auth = bearer(&token);
    let reg = Registry::start(&env, dir.to_str().unwrap(), &["--max-body", "1KiB"]);
    let big = vec![b'x'; 1025];
    let r = reg.request(
        "PUT",
        "/p/1.0.0/content.md",
        &[("Authorization", &auth)],
        &big,
    );
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.error_kind(), "usage");
    // Without a Content-Length, the body is cut off once it passes the limit.
    let mut s = TcpStream::connect(reg.addr()).unwrap();
    s.set_read_timeout(Some(HANG_GUARD)).unwrap();
    write!(
        s,
        "PUT /p/1.0.0/content.md HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    for _ in 0..3 {
        let _ = write!(s, "200\r\n{}\r\n", "y".repeat(512));
    }
    let _ = write!(s, "0\r\n\r\n");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let r = parse_response(&raw, false).unwrap();
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(reg.get("/p/1.0.0/content.md", Some(&token)).status, 404);
    // At the limit is fine.
    let r = reg.request(
        "PUT",
        "/p/1.0.0/content.md",
        &[("Authorization", &auth)],
        &big[..1024],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let log = reg.stderr_text();
    assert!(log.contains("\"status\":413"), "{log}");
    assert!(log.contains("\"result\":\"too_large\""), "{log}");
}

#[test]
fn a_client_that_never_finishes_its_headers_is_cut_off_while_others_are_served() {
    let env = Env::empty();
    let reg = Registry::start(
        &env,
        env.path("store").to_str().unwrap(),
        &["--header-timeout", "1", "--allow-anonymous-read"],
    );
    let mut slow = TcpStream::connect(reg.addr()).unwrap();
    slow.write_all(b"GET /_pulse.json HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    // Served meanwhile.
    for _ in 0..3 {
        assert_eq!(reg.get("/_pulse.json", None).status, 200);
    }
    slow.set_read_timeout(Some(HANG_GUARD)).unwrap();
    let mut raw = Vec::new();
    let started = Instant::now();
    match slow.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) => assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the connection was kept open: {e}"
        ),
    }
    assert!(started.elapsed() < HANG_GUARD);
    // Whatever it was told, it got no answer to its request.
    assert!(!String::from_utf8_lossy(&raw).contains("\"format\""));
    assert_eq!(reg.get("/_pulse.json", None).status, 200);
}

#[test]
fn sigterm_lets_an_upload_in_flight_finish_then_exits_zero() {
    let env = Env::empty();
    let dir = env.path("store");
    let token = Registry::token(&env, "ci", "write", None);
    let mut reg = Registry::start(&env, dir.to_str().unwrap(), &[]);
    let content: Vec<u8> = (0..2_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut s = TcpStream::connect(reg.addr()).unwrap();
    s.set_read_timeout(Some(HANG_GUARD)).unwrap();
    write!(
        s,
        "PUT /big/1.0.0/content.md HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        content.len()
    )
    .unwrap();
    let (first, rest) = content.split_at(content.len() / 2);
    s.write_all(first).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    signal(reg.pid(), "TERM");
    std::thread::sleep(Duration::from_millis(300));
    let sent_all = s.write_all(rest).is_ok();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let answer = parse_response(&raw, false);
    eprintln!(
        "sent the whole body: {sent_all}; answer: {:?}",
        answer.as_ref().map(|r| r.status)
    );
    let status = reg.wait();
    assert!(status.success(), "exit {status:?}: {}", reg.stderr_text());
    // New connections are refused once it is gone.
    assert!(TcpStream::connect(reg.addr()).is_err());
    let fetched = env
        .cmd_in(
            env.root.path(),
            &["--store", dir.to_str().unwrap(), "fetch", "big@1.0.0"],
        )
        .output()
        .unwrap();
    match answer {
        Some(r) => {
            assert!(sent_all);
            assert_eq!(r.status, 201, "{}", r.text());
            assert!(fetched.status.success(), "{}", fetched.stderr_str());
            assert!(fetched.stdout == content, "the release is whole");
        }
        // Cut off before it was read whole: then it is not there at all.
        None => match fetched.status.code() {
            Some(0) => assert!(fetched.stdout == content, "the release is whole"),
            _ => {
                let out = fetched.assert_code(3);
                assert!(out.stdout.is_empty());
            }
        },
    }
    let out = env
        .cmd_in(
            env.root.path(),
            &["--store", dir.to_str().unwrap(), "verify"],
        )
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(3),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn sigint_stops_an_idle_server_with_exit_zero() {
    let env = Env::empty();
    let mut reg = Registry::start(&env, env.path("store").to_str().unwrap(), &[]);
    signal(reg.pid(), "INT");
    let status = reg.wait();
    assert!(status.success(), "exit {status:?}: {}", reg.stderr_text());
}

#[test]
fn healthz_and_metrics_need_no_token_and_count_by_route() {
    let env = Env::new();
    env.add("team/secret-name", "1.0.0", b"s\n");
    let token = Registry::token(&env, "r", "read", None);
    let reg = Registry::start(&env, env.repo.to_str().unwrap(), &[]);
    let health = reg.get("/healthz", None);
    assert_eq!(health.status, 200);
    assert_eq!(health.text().trim(), "ok");
    for _ in 0..3 {
        assert_eq!(
            reg.get("/team/secret-name/1.0.0/content.md", Some(&token))
                .status,
            200
        );
    }
    assert_eq!(
        reg.get("/team/secret-name/1.0.0/content.md", None).status,
        401
    );
    assert_eq!(
        reg.get("/team/secret-name/labels.json", Some(&token))
            .status,
        200
    );
    assert_eq!(reg.get("/nothing/here.txt", Some(&token)).status, 404);
    let metrics = reg.get("/metrics", None);
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = metrics.text();
    for line in [
        "pulse_http_requests_total{route=\"/{name}/{version}/content.md\",status=\"200\"} 3",
        "pulse_http_requests_total{route=\"/{name}/{version}/content.md\",status=\"401\"} 1",
        "pulse_http_requests_total{route=\"/{name}/labels.json\",status=\"200\"} 1",
        "pulse_http_requests_total{route=\"other\",status=\"404\"} 1",
        "pulse_http_requests_total{route=\"/healthz\",status=\"200\"} ",
        "pulse_http_request_duration_seconds_count{route=\"/{name}/{version}/content.md\"} 4",
        "pulse_http_request_duration_seconds_bucket{route=\"/{name}/{version}/content.md\",le=\"+Inf\"} 4",
        "pulse_cache_hits_total 2",
        "pulse_cache_misses_total 1",
        "# TYPE pulse_http_request_duration_seconds histogram",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(text.contains("pulse_http_request_duration_seconds_sum{route=\"/healthz\"} "));
    assert!(
        !text.contains("secret-name"),
        "routes are templates: {text}"
    );
    // Every line is a comment or `name{labels} value`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}

#[test]
fn a_directory_store_that_forbids_deletes_says_so_and_keeps_its_releases() {
    let env = Env::empty();
    let dir = env.path("store");
    let token = Registry::token(&env, "root", "admin", None);
    let auth = bearer(&token);
    {
        let reg = Registry::start(&env, dir.to_str().unwrap(), &[]);
        for v in ["1.0.0", "1.1.0"] {
            let r = reg.request(
                "PUT",
                &format!("/p/{v}/content.md"),
                &[("Authorization", &auth)],
                v.as_bytes(),
            );
            assert_eq!(r.status, 201);
        }
        let r = reg.request(
            "PUT",
            "/p/labels.json",
            &[("Authorization", &auth), ("If-None-Match", "*")],
            br#"{"production": "1.0.0"}"#,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        // A label points to it: refused.
        let r = reg.request(
            "DELETE",
            "/p/1.0.0/content.md",
            &[("Authorization", &auth)],
            b"",
        );
        assert_eq!(r.status, 409, "{}", r.text());
        assert!(
            r.json()["error"]["hints"][0]
                .as_str()
                .unwrap()
                .contains("labels.json")
        );
        let r = reg.request(
            "DELETE",
            "/p/1.1.0/content.md",
            &[("Authorization", &auth)],
            b"",
        );
        assert_eq!(r.status, 204, "{}", r.text());
        assert_eq!(reg.get("/p/1.1.0/content.md", Some(&token)).status, 404);
        let r = reg.request(
            "DELETE",
            "/p/1.1.0/content.md",
            &[("Authorization", &auth)],
            b"",
        );
        assert_eq!(r.status, 404, "{}", r.text());
    }
    std::fs::write(
        dir.join("_pulse.json"),
        br#"{"format": 1, "allow": {"delete": false}}"#,
    )
    .unwrap();
    let reg = Registry::start(&env, dir.to_str().unwrap(), &[]);
    let info = reg.get("/_pulse.json", Some(&token)).json();
    assert_eq!(
        info,
        serde_json::json!({"format": 1, "allow": {"delete": false}})
    );
    let r = reg.request(
        "PUT",
        "/p/1.1.0/content.md",
        &[("Authorization", &auth)],
        b"again",
    );
    assert_eq!(r.status, 201);
    let r = reg.request(
        "DELETE",
        "/p/1.1.0/content.md",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(reg.get("/p/1.1.0/content.md", Some(&token)).body, b"again");
}

#[test]
fn two_servers_on_one_directory_store_lose_no_label_move() {
    const THREADS: usize = 4;
    const MOVES: usize = 5;
    let env = Env::empty();
    let dir = env.path("store");
    let token = Registry::token(&env, "mover", "write", None);
    let auth = bearer(&token);
    let servers = [
        Registry::start(&env, dir.to_str().unwrap(), &[]),
        Registry::start(&env, dir.to_str().unwrap(), &[]),
    ];
    for i in 0..=THREADS * MOVES {
        let r = servers[i % 2].request(
            "PUT",
            &format!("/p/1.{i}.0/content.md"),
            &[("Authorization", &auth)],
            format!("release {i}\n").as_bytes(),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let r = servers[0].request(
        "PUT",
        "/p/labels.json",
        &[("Authorization", &auth), ("If-None-Match", "*")],
        br#"{"counter": "1.0.0"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // Each thread increments the shared counter and moves its own label, in one PUT,
    // through either server: read the file and its tag, PUT If-Match, retry on 412.
    let stale = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (servers, auth, stale) = (&servers, &auth, &stale);
            scope.spawn(move || {
                let mut done = 0;
                let mut attempt = t;
                let deadline = Instant::now() + HANG_GUARD * 2;
                while done < MOVES {
                    assert!(Instant::now() < deadline, "thread {t} made no progress");
                    attempt += 1;
                    let reg = &servers[attempt % 2];
                    let r = reg.request("GET", "/p/labels.json", &[("Authorization", auth)], b"");
                    assert_eq!(r.status, 200, "{}", r.text());
                    let tag = r.header("etag").unwrap().to_owned();
                    let mut labels: BTreeMap<String, String> =
                        serde_json::from_slice(&r.body).unwrap();
                    let counter: usize = labels["counter"]
                        .split('.')
                        .nth(1)
                        .unwrap()
                        .parse()
                        .unwrap();
                    labels.insert("counter".into(), format!("1.{}.0", counter + 1));
                    labels.insert(format!("t{t}"), format!("1.{}.0", done + 1));
                    let body = serde_json::to_vec(&labels).unwrap();
                    let reg = &servers[(attempt + 1) % 2];
                    let r = reg.request(
                        "PUT",
                        "/p/labels.json",
                        &[("Authorization", auth), ("If-Match", &tag)],
                        &body,
                    );
                    match r.status {
                        200 => {
                            let now = r.json();
                            assert_eq!(
                                now[format!("t{t}")],
                                format!("1.{}.0", done + 1),
                                "the move is reflected"
                            );
                            done += 1;
                        }
                        412 => {
                            stale.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        other => panic!("{other}: {}", r.text()),
                    }
                }
            });
        }
    });
    let r = servers[1].get("/p/labels.json", Some(&token));
    let labels = r.json();
    assert_eq!(
        labels["counter"],
        format!("1.{}.0", THREADS * MOVES),
        "no increment lost: {labels}"
    );
    for t in 0..THREADS {
        assert_eq!(labels[format!("t{t}")], format!("1.{MOVES}.0"), "{labels}");
    }
    // The store agrees, read without any server.
    let listed = env
        .cmd_in(
            env.root.path(),
            &["--store", dir.to_str().unwrap(), "label", "list", "p"],
        )
        .output()
        .unwrap()
        .assert_ok()
        .stdout_str();
    assert!(
        listed.contains(&format!("counter  1.{}.0", THREADS * MOVES)),
        "{listed}"
    );
    eprintln!(
        "{} stale attempts retried",
        stale.load(std::sync::atomic::Ordering::Relaxed)
    );
}

#[test]
fn serve_refuses_an_address_in_use_and_says_what_to_do() {
    let env = Env::empty();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = env
        .cmd_in(
            env.root.path(),
            &[
                "--store",
                env.path("s").to_str().unwrap(),
                "serve",
                "--listen",
                &addr,
            ],
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        out.stderr_str()
            .contains(&format!("cannot listen on {addr}")),
        "{}",
        out.stderr_str()
    );
    out.assert_stderr_has("--listen");
    env.cmd_in(env.root.path(), &["serve", "--listen", "localhost"])
        .output()
        .unwrap()
        .assert_code(2);
    env.cmd_in(env.root.path(), &["serve", "--max-body", "lots"])
        .output()
        .unwrap()
        .assert_code(2);
}

#[test]
fn an_s3_store_is_served_from_plain_threads() {
    // The S3 store drives a runtime of its own and refuses to run inside another: the
    // registry's store calls run on threads of their own.
    let server = crate::common::s3::S3Server::s3s_fs();
    server.create_bucket("registry");
    let env = Env::empty();
    let token = Registry::token(&env, "ci", "write", None);
    let auth = bearer(&token);
    let address = "s3://registry/prompts";
    let reg = Registry::start_with(&env, address, &[], &server.env());
    assert_eq!(
        reg.get("/_catalog.json", Some(&token)).json(),
        serde_json::json!({"prompts": []})
    );
    let content = b"# From S3\n\nContent \xe2\x9c\x93\n";
    let r = reg.request(
        "PUT",
        "/team/s3/1.0.0/content.md",
        &[("Authorization", &auth)],
        content,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = reg.request(
        "PUT",
        "/team/s3/1.0.0/content.md",
        &[("Authorization", &auth)],
        content,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = reg.request(
        "PUT",
        "/team/s3/labels.json",
        &[("Authorization", &auth), ("If-None-Match", "*")],
        br#"{"production": "1.0.0"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    for _ in 0..2 {
        let r = reg.get("/team/s3/1.0.0/content.md", Some(&token));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.body, content);
        assert_eq!(r.header("etag"), Some(etag(content).as_str()));
    }
    let r = reg.get(
        "/_api/v1/prompts/team/s3/content?selector=production",
        Some(&token),
    );
    assert_eq!(r.body, content);
    // What the registry wrote is what the S3 store reads, without the registry.
    let fetched = env
        .cmd_in(
            env.root.path(),
            &["--store", address, "fetch", "team/s3@production"],
        )
        .envs(server.env())
        .output()
        .unwrap()
        .assert_ok();
    assert_eq!(fetched.stdout, content);
    let metrics = reg.get("/metrics", None).text();
    assert!(metrics.contains("pulse_cache_hits_total 2"), "{metrics}");
}

#[test]
fn the_http_store_takes_its_token_from_pulse_token_or_the_configuration() {
    let env = Env::new();
    env.add("p", "1.0.0", b"hello\n");
    let token = Registry::token(&env, "reader", "read", None);
    let reg = Registry::start(&env, env.repo.to_str().unwrap(), &[]);
    let url = reg.url().to_owned();
    let fetch = |vars: &[(&str, &str)]| {
        let mut cmd = env.cmd(&["--refresh", "--store", &url, "fetch", "p@1.0.0"]);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    // No token: the registry refuses (401), which is exit 6 with the way out.
    let out = fetch(&[]).assert_code(6);
    out.assert_stderr_has("PULSE_TOKEN");
    // PULSE_TOKEN.
    let out = fetch(&[("PULSE_TOKEN", &token)]).assert_ok();
    assert_eq!(out.stdout, b"hello\n");
    // The configuration, with the secret in a variable.
    env.user_config("storage_config:\n  token: ${REGISTRY_TOKEN}\n");
    assert_eq!(
        fetch(&[("REGISTRY_TOKEN", &token)]).assert_ok().stdout,
        b"hello\n"
    );
    // The environment beats the configuration: a wrong PULSE_TOKEN is refused, and no
    // token is ever printed.
    let out = fetch(&[
        ("REGISTRY_TOKEN", &token),
        ("PULSE_TOKEN", "pulse_00000000_bad"),
    ]);
    let out = out.assert_code(6);
    let err = out.stderr_str();
    assert!(
        !err.contains(&token) && !err.contains("pulse_00000000_bad"),
        "{err}"
    );
}
