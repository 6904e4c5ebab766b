//! Content goes in and comes out byte for byte, and JSON output is exact.

use crate::common::{Env, OutputExt};

#[test]
fn every_kind_of_content_round_trips_byte_exact() {
    let env = Env::new();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("crlf", b"line one\r\nline two\r\n".to_vec()),
        ("no-newline", b"no trailing newline".to_vec()),
        ("empty", Vec::new()),
        (
            "frontmatter",
            b"---\nmodel: gpt\ntemperature: 0.2\n---\nYou are a reviewer.\n".to_vec(),
        ),
        (
            "latin1",
            vec![0x63, 0x61, 0x66, 0xe9, 0x0a, 0xff, 0x00, 0x01],
        ),
        ("unicode", "Réponds en français 🙂\n".as_bytes().to_vec()),
    ];
    for (name, content) in &cases {
        env.add(name, "1.0.0", content);
    }
    for (name, content) in &cases {
        let out = env.pulse(&["fetch", &format!("{name}@1.0.0")]).assert_ok();
        assert_eq!(&out.stdout, content, "{name}");
        // The file git stores is the very same bytes.
        let blob = env
            .git_cmd_in(
                &env.repo,
                &["cat-file", "-p", &format!("{name}@1.0.0:prompts/{name}.md")],
            )
            .output()
            .unwrap();
        assert_eq!(&blob.stdout, content, "{name} in git");
        // And the worktree file too.
        assert_eq!(
            &std::fs::read(env.repo.join(format!("prompts/{name}.md"))).unwrap(),
            content
        );
    }
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn fetch_from_file_and_to_output_file() {
    let env = Env::new();
    let src = env.path("in.md");
    std::fs::write(&src, b"from a file\r\n").unwrap();
    env.pulse(&[
        "add",
        "p",
        "--version",
        "1.0.0",
        "--file",
        src.to_str().unwrap(),
    ])
    .assert_ok();
    let dst = env.path("out.md");
    let out = env
        .pulse(&["fetch", "p", "--output", dst.to_str().unwrap()])
        .assert_ok();
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&dst).unwrap(), b"from a file\r\n");
}

#[test]
fn add_prints_the_release_and_json_is_exact() {
    let env = Env::new();
    let out = env.pulse_stdin(
        &[
            "add",
            "team-a/code.reviewer",
            "--version",
            "v1.2.0",
            "-d",
            "Reviews code",
            "--tags",
            "code,review",
        ],
        b"hi\n",
    );
    assert_eq!(out.assert_ok().stdout_str(), "team-a/code.reviewer@1.2.0\n");
    let out = env
        .pulse(&["--format", "json", "show", "team-a/code.reviewer@1.2.0"])
        .assert_ok();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let commit = env.git(&["rev-parse", "team-a/code.reviewer@1.2.0^{commit}"]);
    let expected = serde_json::json!({
        "name": "team-a/code.reviewer",
        "version": "1.2.0",
        "created": "2024-01-02T03:04:05+00:00",
        "author": "Ada Tester <ada@example.com>",
        "size": 3,
        "sha256": "sha256:98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4",
        "message": "Release team-a/code.reviewer@1.2.0",
        "description": "Reviews code",
        "tags": ["code", "review"],
        "commit": commit.trim(),
        "path": "prompts/team-a/code.reviewer.md",
        "labels": [],
    });
    assert_eq!(v, expected);
}

#[test]
fn the_tag_is_annotated_with_trailers_git_can_read() {
    let env = Env::new();
    env.pulse_stdin(&["add", "p", "--version", "1.0.0", "-m", "First cut"], b"x")
        .assert_ok();
    let trailers = env.git(&[
        "tag",
        "-l",
        "p@1.0.0",
        "--format=%(objecttype) %(taggername) %(contents:subject)%0a%(trailers)",
    ]);
    assert_eq!(
        trailers,
        "tag Ada Tester First cut\nPulse-Name: p\nPulse-Version: 1.0.0\nPulse-Path: prompts/p.md\nPulse-Blob: c1b0730e0133447badcfd47fd144e254807b06e1\nPulse-Size: 1\nPulse-Checksum: sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881\nPulse-Format: 1\n\n"
    );
}

#[test]
fn a_broken_pipe_is_a_quiet_success() {
    let env = Env::new();
    let big: Vec<u8> = "line\n".repeat(200_000).into_bytes();
    env.add("big", "1.0.0", &big);
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{}' fetch big | head -c 10 >/dev/null",
            env!("CARGO_BIN_EXE_pulse")
        ))
        .current_dir(&env.repo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_str());
    assert_eq!(out.stderr_str(), "");
}
