//! The registry's OpenAPI document (`/openapi.json`): served without a token, naming
//! exactly the routes a live `pulse serve` answers with the methods it takes, and proven
//! against one by schemathesis, a property-based tester that generates requests from the
//! document and checks every answer against it.
//!
//! schemathesis is found as the variable `PULSE_TEST_SCHEMATHESIS` says (the executable's
//! path, or a name to look up on the `PATH`), else where `bash
//! scripts/install-schemathesis.sh` puts it (`~/.cache/progress-pulse-tools/venv/bin`), else
//! on the `PATH`. A missing one fails the test with a message that says how to install it.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use crate::common::registry::{Registry, Response};
use crate::common::tools::{self, Program};
use crate::common::{Env, OutputExt};

/// How to install schemathesis, in every "missing" message.
const INSTALL_HINT: &str = "run `bash scripts/install-schemathesis.sh` (after `bash \
     scripts/s3-servers.sh install`, which makes the virtualenv it installs into)";

/// The schemathesis configuration the test runs with.
fn config() -> std::path::PathBuf {
    crate::common::source_dir().join("tests/runner/schemathesis.toml")
}

/// A repository holding what the document's examples name: `reviewer` (three releases, a
/// description, keywords, two labels), `team/reviewer`, and `team/versions`, whose name
/// ends in a word the JSON API uses.
fn seeded() -> Env {
    let env = Env::new();
    for (version, content) in [
        ("1.0.0", "# Reviewer\n\nReview the diff.\n"),
        ("1.2.0", "# Reviewer\n\nReview the diff carefully.\n"),
        ("2.0.0-rc.1", "# Reviewer\n\nReview \u{2713} everything.\n"),
    ] {
        env.pulse_stdin(
            &[
                "add",
                "reviewer",
                "--version",
                version,
                "--description",
                "Reviews code",
                "--tags",
                "review,code",
                "--message",
                "a release",
            ],
            content.as_bytes(),
        )
        .assert_ok();
    }
    env.add("team/reviewer", "1.2.0", b"# Team reviewer\n");
    env.add("team/versions", "1.0.0", b"# Versions\n");
    for (label, version) in [("production", "1.2.0"), ("staging", "2.0.0-rc.1")] {
        env.pulse(&["label", "set", "reviewer", label, version])
            .assert_ok();
    }
    env
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The document the registry serves.
fn document(reg: &Registry) -> serde_json::Value {
    let r = reg.get("/openapi.json", None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// The methods a path of the document takes, upper-case.
fn methods(item: &serde_json::Value) -> BTreeSet<String> {
    item.as_object()
        .unwrap()
        .keys()
        .map(|m| m.to_ascii_uppercase())
        .collect()
}

#[test]
fn the_document_is_served_to_anyone() {
    let env = seeded();
    // No tokens at all: every request that names a prompt is refused, the document is not.
    let reg = Registry::start(&env, env.repo.to_str().unwrap(), &[]);
    let r = reg.get("/openapi.json", None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    let etag = r.header("etag").unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", pulse::Digest::of(&r.body).hex()));
    let doc = r.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{doc}"
    );
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(doc["paths"]["/{name}/labels.json"]["put"].is_object());
    // Revalidated, and read without its body.
    let again = reg.request("GET", "/openapi.json", &[("If-None-Match", &etag)], b"");
    assert_eq!(again.status, 304);
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    let head = reg.request("HEAD", "/openapi.json", &[], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    // A token is not looked at, even a bad one: the document names no prompt.
    let with_token = reg.request(
        "GET",
        "/openapi.json",
        &[("Authorization", "Bearer pulse_nope")],
        b"",
    );
    assert_eq!(with_token.status, 200);
    assert_eq!(with_token.body, r.body);
    assert_eq!(reg.get("/_pulse.json", None).status, 401);
}

/// Every path of the document, with its parameters filled in, is answered by the route it
/// names, with the methods the document lists and `405` (with those in `Allow`) for every
/// other; the metrics then count every documented route by its template, and no other.
#[test]
fn the_document_names_exactly_the_routes_and_methods_the_server_answers() {
    let env = seeded();
    let token = bearer(&Registry::token(&env, "reader", "read", None));
    let reg = Registry::start(&env, env.repo.to_str().unwrap(), &[]);
    let doc = document(&reg);
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 15, "{:?}", paths.keys());
    for (i, (template, item)) in paths.iter().enumerate() {
        let documented = methods(item);
        // A name's `/` as it is, and percent-encoded as generated clients send it.
        let name = if i % 2 == 0 {
            "team/reviewer"
        } else {
            "team%2Freviewer"
        };
        let mut path = template
            .replace("{name}", name)
            .replace("{version}", "1.2.0");
        // The search's pattern is its one required parameter.
        if template == "/_api/v1/search" {
            path.push_str("?q=review");
        }
        for method in ["GET", "HEAD", "PUT", "DELETE", "POST", "PATCH", "OPTIONS"] {
            let r: Response = reg.request(method, &path, &[("Authorization", &token)], b"");
            if documented.contains(method) {
                assert_ne!(r.status, 405, "{method} {path}");
                assert!(
                    !r.text().contains("is not a file or request"),
                    "{method} {path}: {}",
                    r.text()
                );
                // Reads are answered; a read token may not write.
                let expected = if matches!(method, "GET" | "HEAD") {
                    200
                } else {
                    403
                };
                assert_eq!(r.status, expected, "{method} {path}: {}", r.text());
            } else {
                assert_eq!(r.status, 405, "{method} {path}: {}", r.text());
                let allowed: BTreeSet<String> = r
                    .header("allow")
                    .unwrap_or_else(|| panic!("{method} {path}: no Allow"))
                    .split(',')
                    .map(|m| m.trim().to_owned())
                    .collect();
                assert_eq!(allowed, documented, "{method} {path}");
            }
        }
    }
    let metrics = reg.get("/metrics", None).text();
    let counted: BTreeSet<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("pulse_http_requests_total{"))
        .filter_map(|l| l.split("route=\"").nth(1)?.split('"').next())
        .collect();
    let documented: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
    let mut expected = documented.clone();
    // The router's own `405`s (for `/healthz` and the like) are not counted by route.
    expected.insert("other");
    assert!(
        counted.is_subset(&expected) && documented.is_subset(&counted),
        "counted: {counted:?}\ndocumented: {documented:?}"
    );
}

/// A prompt's name as code generated from the document sends it, its `/` percent-encoded,
/// names the same prompt as the plain path: reads, uploads, label moves and the JSON API.
/// (schemathesis found that the registry refused such a name with `400`.)
#[test]
fn a_name_with_its_slash_percent_encoded_is_the_same_name() {
    let env = seeded();
    let token = bearer(&Registry::token(&env, "writer", "write", None));
    let reg = Registry::start(&env, env.repo.to_str().unwrap(), &[]);
    let auth = [("Authorization", token.as_str())];
    for (plain, encoded) in [
        ("/team/reviewer/labels.json", "/team%2Freviewer/labels.json"),
        ("/team/reviewer/_index.json", "/team%2freviewer/_index.json"),
        (
            "/team/reviewer/1.2.0/content.md",
            "/team%2Freviewer/1.2.0/content.md",
        ),
        (
            "/team/reviewer/1.2.0/metadata.json",
            "/team%2Freviewer/1%2E2%2E0/metadata.json",
        ),
        (
            "/_api/v1/prompts/team/versions/versions",
            "/_api/v1/prompts/team%2Fversions/versions",
        ),
    ] {
        let (a, b) = (
            reg.request("GET", plain, &auth, b""),
            reg.request("GET", encoded, &auth, b""),
        );
        assert_eq!(a.status, 200, "{plain}: {}", a.text());
        assert_eq!((b.status, &b.body), (a.status, &a.body), "{encoded}");
        assert_eq!(b.header("etag"), a.header("etag"), "{encoded}");
    }
    let put = reg.request(
        "PUT",
        "/team%2Freviewer/1.3.0/content.md",
        &auth,
        b"# New\n",
    );
    assert_eq!(put.status, 201, "{}", put.text());
    assert_eq!(put.json()["name"], "team/reviewer");
    assert_eq!(
        reg.request("GET", "/team/reviewer/1.3.0/content.md", &auth, b"")
            .body,
        b"# New\n"
    );
    let moved = reg.request(
        "PUT",
        "/team%2Freviewer/labels.json",
        &[("Authorization", token.as_str()), ("If-None-Match", "*")],
        br#"{"production": "1.3.0"}"#,
    );
    assert_eq!(moved.status, 200, "{}", moved.text());
    let labels = env.pulse(&["label", "list", "team/reviewer"]).assert_ok();
    assert!(
        labels.stdout_str().contains("production"),
        "{}",
        labels.stdout_str()
    );
    // Once decoded, a name is checked as any other: no way around its rules.
    for bad in [
        "/team%2F/labels.json",
        "/team%2F%2E%2E/labels.json",
        "/Team%2Freviewer/labels.json",
    ] {
        let r = reg.request("GET", bad, &auth, b"");
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    assert_eq!(
        reg.request("GET", "/team%2F_x/labels.json", &auth, b"")
            .status,
        404
    );
}

/// A version longer than a file name can hold after the longest name is refused as one
/// (`400`), never answered `500` (schemathesis found `GET
/// /_api/v1/prompts/<128 bytes>/resolve?selector=<130-byte version>` answering `500`: the
/// release tag's ref was too long a file name to read).
#[test]
fn a_version_too_long_to_be_one_is_refused_not_a_server_error() {
    let env = seeded();
    let token = bearer(&Registry::token(&env, "admin", "admin", None));
    let reg = Registry::start(&env, env.repo.to_str().unwrap(), &[]);
    let auth = [("Authorization", token.as_str())];
    let name = "a".repeat(128);
    let long = format!("1.0.0-{}", "b".repeat(200));
    for (method, path) in [
        (
            "GET",
            format!("/_api/v1/prompts/{name}/resolve?selector={long}"),
        ),
        (
            "GET",
            format!("/_api/v1/prompts/reviewer/content?selector={long}"),
        ),
        ("GET", format!("/{name}/{long}/content.md")),
        ("HEAD", format!("/{name}/{long}/metadata.json")),
        ("PUT", format!("/{name}/{long}/content.md")),
        ("PUT", format!("/reviewer/{long}/content.md")),
        ("DELETE", format!("/reviewer/{long}/content.md")),
    ] {
        let r = reg.request(method, &path, &auth, b"x");
        assert_eq!(r.status, 400, "{method} {path}: {}", r.text());
        if method != "HEAD" {
            assert_eq!(r.error_kind(), "usage");
            assert!(r.text().contains("at most 100 bytes"), "{}", r.text());
        }
    }
    // The longest version there may be, under the longest name there may be, is released.
    let longest = format!("1.0.0-{}", "b".repeat(94));
    let put = reg.request("PUT", &format!("/{name}/{longest}/content.md"), &auth, b"x");
    assert_eq!(put.status, 201, "{}", put.text());
    let read = reg.request(
        "GET",
        &format!("/_api/v1/prompts/{name}/resolve?selector={longest}"),
        &auth,
        b"",
    );
    assert_eq!(read.status, 200, "{}", read.text());
    // The command line says the same.
    env.pulse(&["fetch", &format!("{name}@{long}")])
        .assert_code(2);
}

/// Where schemathesis is, as the module's top comment says.
fn schemathesis() -> PathBuf {
    program(tools::under_tools_dir("venv/bin/schemathesis")).path()
}

fn program(default: Option<PathBuf>) -> Program<'static> {
    Program {
        name: "schemathesis",
        var: "PULSE_TEST_SCHEMATHESIS",
        default,
        needed_by: "the OpenAPI test runs it against a live registry",
        install: INSTALL_HINT,
    }
}

#[test]
fn a_missing_schemathesis_says_how_to_install_it() {
    let none = program(Some("/nonexistent/schemathesis".into()))
        .locate(None, None)
        .unwrap_err();
    assert!(
        none.contains("bash scripts/install-schemathesis.sh"),
        "{none}"
    );
    assert!(none.contains("PULSE_TEST_SCHEMATHESIS"), "{none}");
    let wrong = program(None)
        .locate(Some("/nonexistent/st".into()), None)
        .unwrap_err();
    assert!(wrong.contains("/nonexistent/st"), "{wrong}");
    let sh = program(None)
        .locate(Some("sh".into()), std::env::var_os("PATH"))
        .unwrap();
    assert!(sh.ends_with("sh"));
}

/// schemathesis, against a live registry over a seeded repository with a write token: every
/// operation of the document, with examples, generated valid and invalid requests, and
/// sequences of them (upload, then read what was uploaded), with every check it has: no
/// answer is a server error, every status, content type, header and body is the one the
/// document says, invalid requests are refused and valid ones taken, and each operation
/// refuses requests without the token.
#[test]
fn schemathesis_finds_nothing_wrong_with_a_live_registry() {
    let exe = schemathesis();
    let env = seeded();
    let token = Registry::token(&env, "schemathesis", "write", None);
    let reg = Registry::start(&env, env.repo.to_str().unwrap(), &[]);
    let doc = document(&reg);
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    let work = env.path("schemathesis");
    std::fs::create_dir_all(&work).unwrap();
    // The document as the registry serves it, handed over as a file: loaded from the
    // registry's URL, schemathesis would leave out the operation that serves it.
    let document = work.join("openapi.json");
    std::fs::write(&document, reg.get("/openapi.json", None).body).unwrap();
    let out = Command::new(&exe)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.path("home"))
        .env("PYTHONUTF8", "1")
        .env("NO_COLOR", "1")
        .current_dir(&work)
        .arg("--config-file")
        .arg(config())
        .arg("run")
        .arg(&document)
        .args(["--url", reg.url()])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "all"])
        // One worker: hypothesis's parsing of its own sources is not safe in several
        // threads on every Python (a `SystemError` of the tool, not an answer of ours).
        .args(["--max-examples", "6", "--seed", "1", "--workers", "1"])
        .args(["--generation-database", "none", "--request-timeout", "30"])
        .arg("--no-color")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The server's own messages, without the audit log's lines.
    let said: String = reg
        .stderr_text()
        .lines()
        .filter(|l| !l.starts_with('{'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        out.status.success(),
        "schemathesis found something ({}):\n{text}\nthe server said:\n{said}",
        out.status
    );
    // Its summary: every operation tested, none failed.
    let summary = text
        .split("SUMMARY")
        .nth(1)
        .unwrap_or_else(|| panic!("no summary:\n{text}"));
    assert!(
        summary.contains(&format!("Tested: {operations}")),
        "{summary}"
    );
    assert!(!summary.contains("Failures:"), "{summary}");
    let cases = summary
        .lines()
        .skip_while(|l| !l.starts_with("Test cases:"))
        .nth(1)
        .unwrap_or_default()
        .trim();
    assert!(cases.contains(" passed"), "{summary}");
    eprintln!("schemathesis: {operations} operations; {cases}");
}
