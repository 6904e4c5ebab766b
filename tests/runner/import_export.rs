//! The directory layout: export, import, and round trips between repositories.

use crate::common::{Env, OutputExt};

fn loose_objects(env: &Env) -> u64 {
    env.git(&["count-objects", "-v"])
        .lines()
        .find_map(|l| l.strip_prefix("count: "))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn export_then_import_into_a_new_repository_round_trips() {
    let env = Env::new();
    env.pulse_stdin(
        &[
            "add",
            "a",
            "--version",
            "1.0.0",
            "-d",
            "Agent",
            "--tags",
            "x",
        ],
        b"a1\r\n",
    )
    .assert_ok();
    env.add("a", "1.10.0", b"a2");
    env.add("team/b", "0.1.0-rc.1", &[0xff, 0x00]);
    env.add("empty", "1.0.0", b"");
    env.pulse(&["label", "set", "a", "production", "1.0.0"])
        .assert_ok();
    let dir = env.path("export");
    let out = env.pulse(&["export", dir.to_str().unwrap()]).assert_ok();
    assert_eq!(
        out.stdout_str(),
        format!("exported 4 releases to {} (0 unchanged)\n", dir.display())
    );
    assert_eq!(
        std::fs::read(dir.join("a/1.0.0/content.md")).unwrap(),
        b"a1\r\n"
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("a/1.0.0/metadata.json")).unwrap()).unwrap();
    assert_eq!(
        meta["checksum"],
        "sha256:702895f08ed87194065c186a4d069050b3635518f6374ecb5a991d302a8498dd"
    );
    assert_eq!(meta["description"], "Agent");
    assert_eq!(meta["tags"], serde_json::json!(["x"]));
    assert_eq!(meta["created_at"], "2024-01-02T03:04:05+00:00");
    assert_eq!(
        std::fs::read_to_string(dir.join("a/labels.json")).unwrap(),
        "{\n  \"production\": \"1.0.0\"\n}\n"
    );
    // Exporting again changes nothing.
    let out = env.pulse(&["export", dir.to_str().unwrap()]).assert_ok();
    assert!(
        out.stdout_str().starts_with("exported 0 releases"),
        "{}",
        out.stdout_str()
    );

    let other = Env::new();
    let loose_before = loose_objects(&other);
    let out = other.pulse(&["import", dir.to_str().unwrap()]).assert_ok();
    // Every release went into packs, not loose files (only the one commit that moves the
    // labels is loose: a commit, two trees and a sidecar), and no .keep file stays behind.
    assert!(
        loose_objects(&other) - loose_before <= 4,
        "{} then {}",
        loose_before,
        loose_objects(&other)
    );
    let packs: Vec<_> = std::fs::read_dir(other.repo.join(".git/objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(packs.iter().any(|p| p.ends_with(".idx")), "{packs:?}");
    assert!(!packs.iter().any(|p| p.ends_with(".keep")), "{packs:?}");
    assert_eq!(
        out.stdout_str(),
        "imported 4 releases (0 already present)\n"
    );
    for spec in [
        "a@1.0.0",
        "a@1.10.0",
        "team/b@0.1.0-rc.1",
        "empty@1.0.0",
        "a@production",
        "a",
    ] {
        assert_eq!(
            other.pulse(&["fetch", spec]).assert_ok().stdout,
            env.pulse(&["fetch", spec]).assert_ok().stdout,
            "{spec}"
        );
    }
    let json = |e: &Env| {
        let v: serde_json::Value = serde_json::from_slice(
            &e.pulse(&["--format", "json", "show", "a@1.0.0"])
                .assert_ok()
                .stdout,
        )
        .unwrap();
        (
            v["sha256"].clone(),
            v["created"].clone(),
            v["author"].clone(),
            v["description"].clone(),
            v["message"].clone(),
        )
    };
    assert_eq!(json(&other), json(&env));
    other.pulse(&["verify"]).assert_ok();
    assert_eq!(other.git(&["status", "--porcelain"]), "");
    other.git(&["fsck", "--strict"]);
    // Tags went straight into packed-refs.
    let packed = std::fs::read_to_string(other.repo.join(".git/packed-refs")).unwrap();
    assert!(packed.contains("refs/tags/a@1.10.0"), "{packed}");
    assert!(!other.repo.join(".git/refs/tags/a@1.10.0").exists());
    // Importing again is a no-op.
    let refs = other.refs();
    let out = other.pulse(&["import", dir.to_str().unwrap()]).assert_ok();
    assert_eq!(
        out.stdout_str(),
        "imported 0 releases (4 already present)\n"
    );
    assert_eq!(other.refs(), refs);
}

#[test]
fn import_leaves_conflicts_alone_and_refuses_bad_layouts_before_writing() {
    let env = Env::new();
    env.add("a", "1.0.0", b"original");
    let dir = env.path("in");
    let write = |rel: &str, bytes: &[u8]| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    write("a/1.0.0/content.md", b"different");
    write("c/1.0.0/content.md", b"fine");
    // A conflict is listed and left alone; the rest is imported (as sync does).
    let out = env.pulse(&["import", dir.to_str().unwrap()]).assert_code(4);
    out.assert_stderr_has("'a@1.0.0'");
    assert_eq!(
        env.pulse(&["fetch", "a@1.0.0"]).assert_ok().stdout,
        b"original"
    );
    assert_eq!(env.pulse(&["fetch", "c@1.0.0"]).assert_ok().stdout, b"fine");
    let refs = env.refs();

    std::fs::remove_dir_all(&dir).unwrap();
    write("b/1.0.0/content.md", b"fine");
    write("b/1.0.0/metadata.json", br#"{"name":"b","version":"1.0.0","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z","size":4,"checksum":"sha256:0000000000000000000000000000000000000000000000000000000000000000","tags":[],"description":null}"#);
    env.pulse(&["import", dir.to_str().unwrap()]).assert_code(5);
    assert_eq!(env.refs(), refs);

    std::fs::remove_dir_all(&dir).unwrap();
    write("Bad/1.0.0/content.md", b"x");
    env.pulse(&["import", dir.to_str().unwrap()]).assert_code(2);
    std::fs::remove_dir_all(&dir).unwrap();
    write("b/one/content.md", b"x");
    env.pulse(&["import", dir.to_str().unwrap()]).assert_code(2);
    std::fs::remove_dir_all(&dir).unwrap();
    write("b/1.0.0/content.md", b"x");
    std::os::unix::fs::symlink("/etc/passwd", dir.join("b/1.0.0/extra")).unwrap();
    env.pulse(&["import", dir.to_str().unwrap()]).assert_code(2);
    std::fs::remove_dir_all(&dir).unwrap();
    write("b/1.0.0/content.md", b"x");
    write("b/labels.json", br#"{"production":"2.0.0"}"#);
    env.pulse(&["import", dir.to_str().unwrap()]).assert_code(3);
    assert_eq!(env.refs(), refs);
    env.pulse(&["import", env.path("nowhere").to_str().unwrap()])
        .assert_code(3);
}

#[test]
fn import_reads_the_sample_layout_fixture() {
    let env = Env::new();
    let fixture = crate::common::source_dir().join("fixtures/sample-layout");
    let out = env
        .pulse(&["import", fixture.to_str().unwrap()])
        .assert_ok();
    assert_eq!(
        out.stdout_str(),
        "imported 3 releases (0 already present)\n"
    );
    assert_eq!(
        env.pulse(&["fetch", "code-reviewer@production"])
            .assert_ok()
            .stdout_str(),
        "You are a careful code reviewer.\n"
    );
    assert_eq!(
        env.pulse(&["fetch", "support/triage"])
            .assert_ok()
            .stdout_str(),
        "Sort tickets by urgency.\n"
    );
    let v: serde_json::Value = serde_json::from_slice(
        &env.pulse(&["--format", "json", "show", "code-reviewer@1.0.0"])
            .assert_ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(v["created"], "2025-03-01T12:00:00+00:00");
    assert_eq!(v["description"], "Reviews pull requests");
}

/// Write `files` (relative path, bytes) below a fresh directory `in` of `env`.
fn layout(env: &Env, files: &[(&str, &[u8])]) -> std::path::PathBuf {
    let dir = env.path("in");
    let _ = std::fs::remove_dir_all(&dir);
    for (rel, bytes) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    dir
}

/// `pulse import DIR` under the hang guard.
fn import(env: &Env, dir: &std::path::Path) -> std::process::Output {
    crate::bounds::pulse_guarded(env, &["import", dir.to_str().unwrap()])
}

fn show(env: &Env, spec: &str) -> serde_json::Value {
    serde_json::from_slice(
        &env.pulse(&["--format", "json", "show", spec])
            .assert_ok()
            .stdout,
    )
    .unwrap()
}

const HELLO_SHA: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

#[test]
fn import_refuses_fifos_without_opening_them() {
    for fifo in [
        "a/1.0.0/content.md",
        "a/1.0.0/metadata.json",
        "a/labels.json",
        "a/1.0.0/notes",
    ] {
        let env = Env::new();
        let dir = layout(&env, &[("a/1.0.0/content.md", b"hello")]);
        let path = dir.join(fifo);
        let _ = std::fs::remove_file(&path);
        crate::bounds::mkfifo(&path);
        let refs = env.refs();
        let out = import(&env, &dir).assert_code(2);
        assert!(
            out.stderr_str()
                .contains(&format!("'{}' is not a regular file", path.display())),
            "{fifo}: {}",
            out.stderr_str()
        );
        assert_eq!(env.refs(), refs, "{fifo}");
    }
}

#[test]
fn import_refuses_hostile_json_at_once() {
    let deep = format!("{{\"tags\": {}", "[".repeat(100_000));
    let huge = format!("{{\"description\": \"{}\"}}", "x".repeat(10 << 20));
    let bomb = format!("{{\"production\": {}", "{\"a\": ".repeat(5_000));
    for (rel, bytes, why) in [
        (
            "a/1.0.0/metadata.json",
            deep.as_str(),
            "nests more than 16 levels deep",
        ),
        (
            "a/1.0.0/metadata.json",
            huge.as_str(),
            "is larger than 256 KiB",
        ),
        (
            "a/labels.json",
            bomb.as_str(),
            "nests more than 16 levels deep",
        ),
        ("a/labels.json", huge.as_str(), "is larger than 64 KiB"),
    ] {
        let env = Env::new();
        let dir = layout(
            &env,
            &[("a/1.0.0/content.md", b"hello"), (rel, bytes.as_bytes())],
        );
        let refs = env.refs();
        // A store's file that cannot be a real one is malformed metadata: exit 5.
        let out = import(&env, &dir).assert_code(5);
        let expected = if why.starts_with("is larger") {
            format!("'{}' {why}", dir.join(rel).display())
        } else {
            format!("'{rel}' in directory store '{}' {why}", dir.display())
        };
        assert!(
            out.stderr_str().contains(&expected),
            "{expected}: {}",
            out.stderr_str()
        );
        assert_eq!(env.refs(), refs);
    }
}

#[test]
fn import_accepts_metadata_with_any_field_missing() {
    let env = Env::new();
    let full = format!(
        r#"{{"name":"a","version":"1.0.0","created_at":"2025-03-01T12:00:00Z","updated_at":"2025-03-01T12:00:00Z","size":5,"checksum":"{HELLO_SHA}","tags":["t"],"description":"D","author":"Grace Hopper <grace@example.com>","message":"First"}}"#
    );
    let full: serde_json::Value = serde_json::from_str(&full).unwrap();
    let fields = [
        "name",
        "version",
        "created_at",
        "updated_at",
        "size",
        "checksum",
        "tags",
        "description",
        "author",
        "message",
    ];
    // Each field left out in turn, plus one with only `{}` and one with unknown extras.
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let mut meta = full.clone();
        meta.as_object_mut().unwrap().remove(*field);
        meta["version"] = format!("1.0.{i}").into();
        if *field == "version" {
            meta.as_object_mut().unwrap().remove("version");
        }
        files.push((
            format!("a/1.0.{i}/metadata.json"),
            meta.to_string().into_bytes(),
        ));
        files.push((format!("a/1.0.{i}/content.md"), b"hello".to_vec()));
    }
    files.push(("b/1.0.0/metadata.json".into(), b"{}".to_vec()));
    files.push(("b/1.0.0/content.md".into(), b"hello".to_vec()));
    let mut extra = full.clone();
    extra["name"] = "c".into();
    extra["producer"] = serde_json::json!({"tool": "other", "labels": ["x"]});
    extra["description"] = serde_json::Value::Null;
    files.push((
        "c/1.0.0/metadata.json".into(),
        extra.to_string().into_bytes(),
    ));
    files.push(("c/1.0.0/content.md".into(), b"hello".to_vec()));
    let borrowed: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let dir = layout(&env, &borrowed);
    let out = import(&env, &dir).assert_ok();
    assert_eq!(
        out.stdout_str(),
        "imported 12 releases (0 already present)\n"
    );
    let now = "2024-01-02T03:04:05+00:00";
    for (i, field) in fields.iter().enumerate() {
        let v = show(&env, &format!("a@1.0.{i}"));
        assert_eq!(v["sha256"], HELLO_SHA, "{field}");
        assert_eq!(v["size"], 5, "{field}");
        let created = if *field == "created_at" {
            now
        } else {
            "2025-03-01T12:00:00+00:00"
        };
        assert_eq!(v["created"], created, "{field}");
        let author = if *field == "author" {
            "Ada Tester <ada@example.com>"
        } else {
            "Grace Hopper <grace@example.com>"
        };
        assert_eq!(v["author"], author, "{field}");
        let message = if *field == "message" {
            "Release a@1.0.9"
        } else {
            "First"
        };
        assert_eq!(v["message"], message, "{field}");
    }
    // Only `{}`: everything comes from the content, the clock and the git identity.
    let v = show(&env, "b@1.0.0");
    assert_eq!(v["sha256"], HELLO_SHA);
    assert_eq!(v["created"], now);
    assert_eq!(v["author"], "Ada Tester <ada@example.com>");
    assert_eq!(v["message"], "Release b@1.0.0");
    assert_eq!(v["description"], serde_json::Value::Null);
    assert_eq!(v["tags"], serde_json::json!([]));
    let v = show(&env, "c@1.0.0");
    assert_eq!(v["created"], "2025-03-01T12:00:00+00:00");
    assert_eq!(v["tags"], serde_json::json!(["t"]));
    env.pulse(&["verify"]).assert_ok();

    // Export still writes every field.
    let out_dir = env.path("out");
    env.pulse(&["export", out_dir.to_str().unwrap()])
        .assert_ok();
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("b/1.0.0/metadata.json")).unwrap())
            .unwrap();
    let mut keys: Vec<&str> = meta
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut all = fields.to_vec();
    keys.sort_unstable();
    all.sort_unstable();
    assert_eq!(keys, all);
}

#[test]
fn import_checks_the_metadata_fields_that_are_there() {
    let zeros = format!("sha256:{}", "0".repeat(64));
    for (meta, code, why) in [
        (r#"{"name":"b"}"#.to_owned(), 5, "names prompt 'b'"),
        (
            r#"{"version":"1.0.1"}"#.to_owned(),
            5,
            "names version '1.0.1'",
        ),
        (r#"{"version":"one"}"#.to_owned(), 5, "names version 'one'"),
        (
            r#"{"size":6}"#.to_owned(),
            5,
            "content does not match metadata.json",
        ),
        (
            format!(r#"{{"checksum":"{zeros}"}}"#),
            5,
            "content does not match metadata.json",
        ),
        (
            format!(r#"{{"checksum":"{HELLO_SHA}","size":4}}"#),
            5,
            "content does not match metadata.json",
        ),
        (
            r#"{"checksum":"md5:5d41402abc4b2a76b9719d911017c592"}"#.to_owned(),
            5,
            "is not a checksum of the form sha256:<64",
        ),
        (
            r#"{"checksum":"sha256:2cf24dba"}"#.to_owned(),
            5,
            "is not a checksum of the form sha256:<64",
        ),
        (
            r#"{"created_at":"last tuesday"}"#.to_owned(),
            5,
            "is not RFC 3339",
        ),
        (r#"{"size":"five"}"#.to_owned(), 5, "malformed"),
        (r#"["a"]"#.to_owned(), 5, "malformed"),
        (
            format!(r#"{{"description":"{}"}}"#, "d".repeat(200_000)),
            2,
            "too long to keep",
        ),
    ] {
        let env = Env::new();
        env.add("z", "1.0.0", b"z");
        let dir = layout(
            &env,
            &[
                ("a/1.0.0/content.md", b"hello"),
                ("a/1.0.0/metadata.json", meta.as_bytes()),
                ("other/1.0.0/content.md", b"fine"),
            ],
        );
        let refs = env.refs();
        let out = import(&env, &dir).assert_code(code);
        assert!(
            out.stderr_str().contains(why),
            "{meta}: {}",
            out.stderr_str()
        );
        assert_eq!(env.refs(), refs, "{meta}: nothing may be imported");
    }
    // Upper-case hex is still hex.
    let env = Env::new();
    let upper = format!(
        r#"{{"checksum":"{}"}}"#,
        HELLO_SHA.to_ascii_uppercase().replace("SHA256", "sha256")
    );
    let dir = layout(
        &env,
        &[
            ("a/1.0.0/content.md", b"hello"),
            ("a/1.0.0/metadata.json", upper.as_bytes()),
        ],
    );
    import(&env, &dir).assert_ok();
}
