//! Strict templates: `pulse render`, the variables a frontmatter declares, the releases
//! that break them, and the lint and review checks that report them.

use std::process::Output;

use crate::bounds::mkfifo;
use crate::common::{Env, OutputExt};

/// Check that `out` exited with `code` and that its stderr says `says`.
fn refused(out: Output, code: i32, says: &str) {
    let err = out.assert_code(code).stderr_str();
    assert!(err.contains(says), "{err}");
}

const SUPPORT: &str = "---\nvariables:\n  - name: product\n    required: true\n    description: The product's name\n  - name: tone\n    default: friendly\n---\nYou are a support agent for {{ product }}. Be {{ tone }}.";

/// An environment with `support@1.0.0` released from [`SUPPORT`].
fn support() -> Env {
    let env = Env::new();
    env.add("support", "1.0.0", SUPPORT.as_bytes());
    env
}

#[test]
fn render_fills_declared_variables_byte_exact() {
    let env = support();
    let out = env
        .pulse(&["render", "support", "--var", "product=Acme"])
        .assert_ok();
    assert_eq!(
        out.stdout_str(),
        "You are a support agent for Acme. Be friendly."
    );
    let out = env
        .pulse(&[
            "render",
            "support@1.0.0",
            "--var",
            "tone=brief",
            "--var",
            "product=A = B",
        ])
        .assert_ok();
    assert_eq!(
        out.stdout_str(),
        "You are a support agent for A = B. Be brief."
    );
    env.pulse(&["render", "support", "--version", "^1", "--var", "product=x"])
        .assert_ok();
    // CRLF, a final newline and characters HTML would escape stay as written.
    env.add(
        "crlf",
        "1.0.0",
        b"---\r\nvariables:\r\n  - name: a\r\n---\r\n<{{ a }}>&\r\n\r\n",
    );
    let out = env
        .pulse(&["render", "crlf", "--var", "a=\"x\""])
        .assert_ok();
    assert_eq!(out.stdout, b"<\"x\">&\r\n\r\n");
    // A prompt without frontmatter renders as itself.
    env.add("plain", "1.0.0", b"Just text.\n");
    let out = env.pulse(&["render", "plain"]).assert_ok();
    assert_eq!(out.stdout, b"Just text.\n");
}

#[test]
fn missing_and_undeclared_variables_are_exit_2_naming_them() {
    let env = support();
    let out = env.pulse(&["render", "support"]).assert_code(2);
    assert!(out.stdout.is_empty());
    let err = out.stderr_str();
    assert!(
        err.contains("required variable 'product' was not given"),
        "{err}"
    );
    assert!(err.contains("--var product=VALUE"), "{err}");
    let err = env
        .pulse(&[
            "render",
            "support",
            "--var",
            "product=A",
            "--var",
            "colour=red",
        ])
        .assert_code(2)
        .stderr_str();
    assert!(err.contains("variable 'colour' is not declared"), "{err}");
    assert!(err.contains("product, tone"), "{err}");
    refused(
        env.pulse(&["render", "support", "--var", "product"]),
        2,
        "has no '='",
    );
    refused(
        env.pulse(&[
            "render",
            "support",
            "--var",
            "product=a",
            "--var",
            "product=b",
        ]),
        2,
        "given twice",
    );
    // A template that uses a variable it does not declare never renders it as a blank.
    env.add(
        "sloppy",
        "1.0.0",
        b"---\nvariables:\n  - name: a\n---\n{{ a }} and {{ b }}\n",
    );
    refused(
        env.pulse(&["render", "sloppy", "--var", "a=1"]),
        2,
        "uses variable 'b'",
    );
    // Not found stays not found.
    env.pulse(&["render", "nope", "--var", "a=1"])
        .assert_code(3);
    env.pulse(&["render", "support@9.0.0"]).assert_code(3);
}

#[test]
fn content_that_is_not_a_template_is_exit_2() {
    let env = Env::new();
    // None of these declares variables, so they are released as they are; rendering them fails.
    env.add("binary", "1.0.0", b"\xff\xfe{{ x }}");
    env.add("braces", "1.0.0", b"A literal {{ brace\n");
    env.add("odd-yaml", "1.0.0", b"---\nkey: [unclosed\n---\nbody\n");
    env.add(
        "unclosed",
        "1.0.0",
        b"---\nvariables: []\nno closing line\n",
    );
    for (name, says) in [
        ("binary", "not UTF-8"),
        ("braces", "not valid at line 1"),
        ("odd-yaml", "not valid YAML"),
        ("unclosed", "no closing '---'"),
    ] {
        let err = env.pulse(&["render", name]).assert_code(2).stderr_str();
        assert!(err.contains(says), "{name}: {err}");
        assert!(err.contains(&format!("'{name}@1.0.0'")), "{name}: {err}");
    }
}

#[test]
fn hostile_frontmatter_is_refused_at_once() {
    let env = Env::new();
    let deep = format!(
        "---\nvariables: {}{}\n---\nx",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let aliases = "---\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nvariables: *c\n---\nx";
    let huge = format!(
        "---\nvariables: []\nfiller: '{}'\n---\nx",
        "a".repeat(1 << 20)
    );
    for (name, content, says) in [
        ("deep", deep.as_str(), "nests more than"),
        ("aliases", aliases, "alias"),
        ("huge", huge.as_str(), "64 KiB"),
    ] {
        // Not a declaration pulse reads, so released as it is; never rendered.
        env.add(name, "1.0.0", content.as_bytes());
        let err = env.pulse(&["render", name]).assert_code(2).stderr_str();
        assert!(err.contains(says), "{name}: {err}");
        // A release that follows one declaring variables cannot hide behind it.
        env.add(name, "2.0.0", b"---\nvariables:\n  - name: a\n---\n{{ a }}");
        let err = env
            .pulse_stdin(&["add", name, "--version", "2.1.0"], content.as_bytes())
            .assert_code(2)
            .stderr_str();
        assert!(err.contains(says), "{name}: {err}");
    }
}

#[test]
fn add_refuses_a_malformed_declaration_or_template() {
    let env = Env::new();
    for (content, says) in [
        (&b"---\nvariables: 3\n---\nx"[..], "not a list"),
        (
            b"---\nvariables:\n  - name: 2x\n---\nx",
            "cannot name a variable",
        ),
        (
            b"---\nvariables:\n  - name: a\n    requird: true\n---\nx",
            "unknown key 'requird'",
        ),
        (
            b"---\nvariables:\n  - name: a\n    required: true\n    default: b\n---\n{{ a }}",
            "has a default",
        ),
        (
            b"---\nvariables:\n  - name: a\n---\n\n{{ a ",
            "not valid at line 6",
        ),
        (b"---\nvariables: []\n---\n\xff", "not UTF-8"),
    ] {
        let err = env
            .pulse_stdin(&["add", "p", "--version", "1.0.0"], content)
            .assert_code(2)
            .stderr_str();
        assert!(
            err.contains(says),
            "{}: {err}",
            String::from_utf8_lossy(content)
        );
    }
    // Nothing was released or committed.
    env.pulse(&["versions", "p"]).assert_code(3);
    assert!(!env.repo.join("prompts/p.md").exists());
}

#[test]
fn a_breaking_change_needs_a_major_version() {
    let env = support();
    let no_tone =
        b"---\nvariables:\n  - name: product\n    required: true\n---\nFor {{ product }}.";
    for bump in [
        &["--bump", "patch"][..],
        &["--bump", "minor"],
        &["--version", "1.9.0"],
    ] {
        let mut args = vec!["add", "support"];
        args.extend_from_slice(bump);
        let err = env.pulse_stdin(&args, no_tone).assert_code(4).stderr_str();
        assert!(err.contains("variable 'tone' was removed"), "{err}");
        assert!(err.contains("'support@1.0.0'"), "{err}");
        assert!(err.contains("--bump major"), "{err}");
        assert!(err.contains("2.0.0"), "{err}");
    }
    let versions: serde_json::Value = env
        .pulse(&["--format", "json", "versions", "support"])
        .assert_ok()
        .stdout_json();
    assert_eq!(versions.as_array().unwrap().len(), 1, "{versions}");
    // A major version passes, by --bump or by --version.
    let out = env
        .pulse_stdin(&["add", "support", "--bump", "major"], no_tone)
        .assert_ok();
    assert_eq!(out.stdout_str(), "support@2.0.0\n");
    // Retrying the same release is still a success.
    env.pulse_stdin(&["add", "support", "--version", "2.0.0"], no_tone)
        .assert_ok();
    // A new optional variable, or a required one made optional, breaks nothing.
    let with_extra =
        b"---\nvariables:\n  - name: product\n  - name: extra\n---\nFor {{ product }}{{ extra }}.";
    env.pulse_stdin(&["add", "support", "--bump", "minor"], with_extra)
        .assert_ok();
    // Making it required, or a new required variable, does.
    let extra_required = b"---\nvariables:\n  - name: product\n  - name: extra\n    required: true\n---\nFor {{ product }}{{ extra }}.";
    let new_required = b"---\nvariables:\n  - name: product\n  - name: extra\n    required: true\n  - name: more\n    required: true\n---\n{{ product }}{{ extra }}{{ more }}";
    for (content, says, major) in [
        (
            &extra_required[..],
            "variable 'extra' is now required",
            "3.0.0",
        ),
        (new_required, "variable 'more' is new and required", "4.0.0"),
    ] {
        refused(
            env.pulse_stdin(&["add", "support", "--bump", "minor"], content),
            4,
            says,
        );
        env.pulse_stdin(&["add", "support", "--version", major], content)
            .assert_ok();
    }
    // `pulse release` checks the committed working content the same way.
    std::fs::write(
        env.repo.join("prompts/support.md"),
        b"---\nvariables: []\n---\nNo variables.",
    )
    .unwrap();
    env.git(&["commit", "-qam", "drop every variable"]);
    let err = env
        .pulse(&["release", "support", "--bump", "minor"])
        .assert_code(4)
        .stderr_str();
    assert!(err.contains("variable 'product' was removed"), "{err}");
    assert!(err.contains("variable 'extra' was removed"), "{err}");
    env.pulse(&["release", "support", "--bump", "major"])
        .assert_ok();
    // A back-port is compared with the release below it, not with the highest.
    env.pulse_stdin(
        &["add", "support", "--version", "1.0.1", "--allow-older"],
        SUPPORT.as_bytes(),
    )
    .assert_ok();
}

#[test]
fn zero_versions_follow_cargo() {
    let env = Env::new();
    let v1 = b"---\nvariables:\n  - name: a\n  - name: b\n---\n{{ a }}{{ b }}";
    let v2 = b"---\nvariables:\n  - name: a\n---\n{{ a }}";
    let v3 = b"---\nvariables: []\n---\nnone";
    env.add("zero", "0.1.0", v1);
    // 0.1 -> 0.2 is a major step, 0.2.0 -> 0.2.1 is not.
    env.pulse_stdin(&["add", "zero", "--bump", "minor"], v2)
        .assert_ok();
    env.pulse_stdin(&["add", "zero", "--bump", "patch"], v3)
        .assert_code(4);
    env.pulse_stdin(&["add", "zero", "--version", "1.0.0"], v3)
        .assert_ok();
    // 0.0.z: every patch is a major step.
    env.add("tiny", "0.0.1", v1);
    env.pulse_stdin(&["add", "tiny", "--bump", "patch"], v3)
        .assert_ok();
    // Pre-releases are not compared with each other: a release candidate may still change.
    env.add("pre", "1.0.0", v1);
    env.pulse_stdin(&["add", "pre", "--version", "2.0.0-rc.1"], v2)
        .assert_ok();
    env.pulse_stdin(&["add", "pre", "--version", "2.0.0-rc.2"], v3)
        .assert_ok();
    env.pulse_stdin(&["add", "pre", "--version", "2.0.0"], v1)
        .assert_ok();
    env.pulse_stdin(&["add", "pre", "--version", "2.1.0"], v3)
        .assert_code(4);
}

#[test]
fn vars_files_yaml_json_stdin_and_flags_over_them() {
    let env = support();
    std::fs::write(env.path("vars.yaml"), "product: Acme\ntone: calm\n").unwrap();
    std::fs::write(env.path("vars.json"), r#"{"product": "Json", "tone": 3}"#).unwrap();
    let yaml = env.path("vars.yaml");
    let json = env.path("vars.json");
    let out = env
        .pulse(&["render", "support", "--vars-file", yaml.to_str().unwrap()])
        .assert_ok();
    assert_eq!(
        out.stdout_str(),
        "You are a support agent for Acme. Be calm."
    );
    let out = env
        .pulse(&["render", "support", "--vars-file", json.to_str().unwrap()])
        .assert_ok();
    assert_eq!(out.stdout_str(), "You are a support agent for Json. Be 3.");
    let out = env
        .pulse(&[
            "render",
            "support",
            "--vars-file",
            yaml.to_str().unwrap(),
            "--var",
            "tone=direct",
        ])
        .assert_ok();
    assert_eq!(
        out.stdout_str(),
        "You are a support agent for Acme. Be direct."
    );
    let out = env
        .pulse_stdin(
            &["render", "support", "--vars-file", "-"],
            b"product: Stdin\n",
        )
        .assert_ok();
    assert_eq!(
        out.stdout_str(),
        "You are a support agent for Stdin. Be friendly."
    );
    // A variable in the file that the prompt does not declare is refused like a flag.
    std::fs::write(env.path("extra.yaml"), "product: A\nsurprise: B\n").unwrap();
    let extra = env.path("extra.yaml");
    refused(
        env.pulse(&["render", "support", "--vars-file", extra.to_str().unwrap()]),
        2,
        "'surprise'",
    );
    for (file, body, says) in [
        ("list.yaml", "- a\n- b\n", "not a mapping"),
        ("nested.yaml", "product: [a]\n", "not a string"),
        ("alias.yaml", "a: &x b\nproduct: *x\n", "alias"),
        ("bad.json", "{\"product\": ", "not valid JSON"),
        (
            "deep.json",
            &format!("{{\"a\": {}{}}}", "[".repeat(100), "]".repeat(100)),
            "nests",
        ),
    ] {
        std::fs::write(env.path(file), body).unwrap();
        let path = env.path(file);
        let err = env
            .pulse(&["render", "support", "--vars-file", path.to_str().unwrap()])
            .assert_code(2)
            .stderr_str();
        assert!(err.contains(says), "{file}: {err}");
    }
    let missing = env.path("missing.yaml");
    env.pulse(&[
        "render",
        "support",
        "--vars-file",
        missing.to_str().unwrap(),
    ])
    .assert_code(3);
}

#[test]
fn a_vars_file_that_is_a_fifo_is_refused_without_blocking() {
    let env = support();
    let fifo = env.path("vars.fifo");
    mkfifo(&fifo);
    refused(
        env.pulse(&["render", "support", "--vars-file", fifo.to_str().unwrap()]),
        2,
        "FIFO",
    );
    let dir = env.path("home");
    refused(
        env.pulse(&["render", "support", "--vars-file", dir.to_str().unwrap()]),
        2,
        "directory",
    );
}

#[test]
fn render_reads_any_store() {
    let env = support();
    let dir = env.path("dist");
    env.pulse(&["sync", env.repo.to_str().unwrap(), dir.to_str().unwrap()])
        .assert_ok();
    let out = env
        .pulse(&[
            "--store",
            dir.to_str().unwrap(),
            "render",
            "support@^1",
            "--var",
            "product=Dir",
        ])
        .assert_ok();
    assert_eq!(
        out.stdout_str(),
        "You are a support agent for Dir. Be friendly."
    );
    env.pulse(&["--store", dir.to_str().unwrap(), "render", "support"])
        .assert_code(2);
}

#[test]
fn lint_reports_undeclared_and_unused_variables() {
    let env = Env::new();
    env.add(
        "tmpl",
        "1.0.0",
        b"---\nvariables:\n  - name: used\n  - name: spare\n---\nHello {{ used }}.\n{% if missing %}{{ missing }}{% endif %}\n",
    );
    // Braces in a prompt that declares nothing are text, not findings.
    env.add(
        "braces",
        "1.0.0",
        b"Use {{ double braces }} {% freely %}.\n",
    );
    let out = env.pulse(&["lint"]).assert_code(1);
    assert_eq!(
        out.stdout_str(),
        "prompts/tmpl.md:4:11: unused-variable: variable 'spare' is declared but the template never uses it\n\
prompts/tmpl.md:7:7: undeclared-variable: template uses variable 'missing', which its frontmatter does not declare\n\
2 prompts checked, 2 findings (1 error)\n"
    );
    let json: serde_json::Value = env
        .pulse(&["--format", "json", "lint"])
        .assert_code(1)
        .stdout_json();
    assert_eq!(json["findings"][0]["severity"], "warning");
    assert_eq!(json["findings"][1]["severity"], "error");
    // An allow marker on the line before silences a finding.
    std::fs::write(
        env.repo.join("prompts/tmpl.md"),
        b"---\nvariables:\n  - name: used\n  # pulse-lint: allow unused-variable\n  - name: spare\n---\nHello {{ used }}.\n{# pulse-lint: allow undeclared-variable #}\n{% if missing %}{{ missing }}{% endif %}\n",
    )
    .unwrap();
    env.git(&["commit", "-qam", "allow"]);
    let out = env.pulse(&["lint", "tmpl"]).assert_ok();
    assert_eq!(out.stdout_str(), "1 prompt checked, no findings\n");
    // A declaration that is malformed is an error of its own.
    std::fs::write(
        env.repo.join("prompts/tmpl.md"),
        b"---\nvariables: 3\n---\nx\n",
    )
    .unwrap();
    env.git(&["commit", "-qam", "broken"]);
    let out = env.pulse(&["lint", "tmpl"]).assert_code(1);
    assert!(
        out.stdout_str()
            .starts_with("prompts/tmpl.md:1:1: template-error: "),
        "{}",
        out.stdout_str()
    );
    let sarif: serde_json::Value = env
        .pulse(&["lint", "--format", "sarif"])
        .assert_code(1)
        .stdout_json();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"].to_string();
    for id in ["undeclared-variable", "unused-variable", "template-error"] {
        assert!(rules.contains(id), "{rules}");
    }
}

#[test]
fn check_reports_a_breaking_change_in_the_review_summary() {
    let env = support();
    env.git(&["checkout", "-q", "-b", "feature"]);
    std::fs::write(
        env.repo.join("prompts/support.md"),
        b"---\nvariables:\n  - name: product\n    required: true\n---\nFor {{ product }}.",
    )
    .unwrap();
    env.git(&["commit", "-qam", "no more tone"]);
    // Reported, not failed: the version is chosen when the change is released.
    let out = env.pulse(&["check", "--base", "main"]).assert_ok();
    let md = out.stdout_str();
    assert!(
        md.contains("**release pending, breaking** (since 1.0.0): variable 'tone' was removed — the next release must be a major version: after merging, `pulse release support --bump major`"),
        "{md}"
    );
    let json: serde_json::Value = env
        .pulse(&["--format", "json", "check", "--base", "main"])
        .assert_ok()
        .stdout_json();
    assert_eq!(
        json["changes"][0]["breaking"],
        serde_json::json!([{ "variable": "tone", "change": "removed" }])
    );
    assert_eq!(json["changes"][0]["breaking_since"], "1.0.0");
    // And the release that follows is held to it.
    env.pulse(&["release", "support", "--bump", "minor"])
        .assert_code(4);
    env.pulse(&["release", "support", "--bump", "major"])
        .assert_ok();
    let json: serde_json::Value = env
        .pulse(&["--format", "json", "check", "--base", "main"])
        .assert_ok()
        .stdout_json();
    assert_eq!(json["changes"][0]["breaking"], serde_json::json!([]));
}
