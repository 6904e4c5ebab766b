//! `pulse lint` and the content checks in `pulse check`: hidden characters and secrets.

use crate::common::{Env, OutputExt};

/// A GitHub token made up for the tests; it must never appear in any output.
const TOKEN: &str = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";

/// Write `files` (path under the repository, content) and commit them.
fn commit(env: &Env, files: &[(&str, &[u8])], message: &str) {
    for (path, bytes) in files {
        let file = env.repo.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", message]);
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assert_no_secret(out: &std::process::Output) {
    for stream in [out.stdout_str(), out.stderr_str()] {
        assert!(!stream.contains(TOKEN), "{stream}");
        assert!(!stream.contains(&TOKEN[4..20]), "{stream}");
    }
}

#[test]
fn every_rule_fires_where_it_is() {
    let env = Env::new();
    env.add("clean", "1.0.0", b"You are a careful reviewer.\n");
    commit(
        &env,
        &[
            (
                "prompts/team/trojan.md",
                "Rules:\nAccess is \"user\u{202E} \u{2066}// admin\u{2069} \u{2066}\" only.\n"
                    .as_bytes(),
            ),
            ("prompts/team/hidden.md", "Say hel\u{200B}lo.\n".as_bytes()),
            (
                "prompts/keys.md",
                format!("# Keys\n\nUse `{TOKEN}` to call it.\n").as_bytes(),
            ),
            ("prompts/binary.md", b"ok\n\xFF\xFEx\n"),
        ],
        "prompts with problems",
    );
    let out = env.pulse(&["lint"]).assert_code(1);
    assert_no_secret(&out);
    assert_eq!(
        out.stdout_str(),
        "prompts/binary.md:2:1: not-utf8: content is not valid UTF-8 from here: invalid bytes are checked as single columns\n\
prompts/keys.md:3:6: secret: likely secret: GitHub personal access token (ghp_…8B4a)\n\
prompts/team/hidden.md:1:8: invisible-char: U+200B ZERO WIDTH SPACE: invisible to a reviewer\n\
prompts/team/trojan.md:2:16: bidi-control: U+202E RIGHT-TO-LEFT OVERRIDE: text may display in another order than it is read (Trojan Source, CVE-2021-42574)\n\
prompts/team/trojan.md:2:18: bidi-control: U+2066 LEFT-TO-RIGHT ISOLATE: text may display in another order than it is read (Trojan Source, CVE-2021-42574)\n\
prompts/team/trojan.md:2:27: bidi-control: U+2069 POP DIRECTIONAL ISOLATE: text may display in another order than it is read (Trojan Source, CVE-2021-42574)\n\
prompts/team/trojan.md:2:29: bidi-control: U+2066 LEFT-TO-RIGHT ISOLATE: text may display in another order than it is read (Trojan Source, CVE-2021-42574)\n\
5 prompts checked, 7 findings (6 errors)\n"
    );
    out.assert_stderr_has("6 lint errors");
    // One prompt by name.
    let out = env.pulse(&["lint", "team/hidden"]).assert_code(1);
    assert_eq!(
        out.stdout_str().lines().last(),
        Some("1 prompt checked, 1 finding (1 error)")
    );
    env.pulse(&["lint", "clean"]).assert_ok();
    // Info findings alone do not fail.
    env.pulse(&["lint", "binary"]).assert_ok();
}

#[test]
fn json_is_the_typed_report() {
    let env = Env::new();
    env.add("a", "1.0.0", format!("x\n  key: {TOKEN}\n").as_bytes());
    let out = env.pulse(&["--format", "json", "lint"]).assert_code(1);
    assert_no_secret(&out);
    let report = json(&out);
    assert_eq!(report["checked"], "main");
    assert_eq!(report["prompts"], 1);
    assert_eq!(report["errors"], 1);
    let f = &report["findings"][0];
    assert_eq!(f["rule"], "secret");
    assert_eq!(f["path"], "prompts/a.md");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(2), Some(8))
    );
    assert_eq!(f["severity"], "error");
    assert_eq!(f["snippet"], "  key: ghp_…8B4a");
}

#[test]
fn sarif_locates_each_finding() {
    let env = Env::new();
    env.add(
        "team/a",
        "1.0.0",
        format!("line one\nsecond \u{202E}line {TOKEN}\n").as_bytes(),
    );
    let out = env.pulse(&["lint", "--format", "sarif"]).assert_code(1);
    assert_no_secret(&out);
    let log = json(&out);
    assert!(log["$schema"].as_str().unwrap().contains("sarif"), "{log}");
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "pulse");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for id in ["bidi-control", "invisible-char", "secret", "not-utf8"] {
        assert!(rules.contains(&id), "{rules:?}");
    }
    for r in run["tool"]["driver"]["rules"].as_array().unwrap() {
        assert!(r["shortDescription"]["text"].as_str().is_some(), "{r}");
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let located: Vec<(&str, &str, u64, u64, &str)> = results
        .iter()
        .map(|r| {
            let loc = &r["locations"][0]["physicalLocation"];
            (
                r["ruleId"].as_str().unwrap(),
                loc["artifactLocation"]["uri"].as_str().unwrap(),
                loc["region"]["startLine"].as_u64().unwrap(),
                loc["region"]["startColumn"].as_u64().unwrap(),
                r["level"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        located,
        [
            ("bidi-control", "prompts/team/a.md", 2, 8, "error"),
            ("secret", "prompts/team/a.md", 2, 14, "error"),
        ]
    );
    assert!(
        results[0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("U+202E")
    );
    // A clean repository is an empty, valid log and exit 0.
    let env = Env::new();
    env.add("a", "1.0.0", b"fine\n");
    let log = json(&env.pulse(&["--format", "sarif", "lint"]).assert_ok());
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn allow_markers_exempt_a_line_on_purpose() {
    let env = Env::new();
    env.add(
        "a",
        "1.0.0",
        format!(
            "Example key: {TOKEN} <!-- pulse-lint: allow secret -->\n\
<!-- pulse-lint: allow bidi-control, invisible-char -->\n\
Arabic sample: \u{202B}x\u{202C} and a\u{200B}b\n\
Not allowed here: a\u{200B}b\n"
        )
        .as_bytes(),
    );
    let out = env.pulse(&["lint"]).assert_code(1);
    assert_eq!(
        out.stdout_str(),
        "prompts/a.md:4:20: invisible-char: U+200B ZERO WIDTH SPACE: invisible to a reviewer\n\
1 prompt checked, 1 finding (1 error)\n"
    );
}

#[test]
fn ordinary_prompts_checksums_and_ids_are_not_findings() {
    let env = Env::new();
    env.add(
        "reviewer",
        "1.0.0",
        "---\ndescription: Reviews pull requests\n---\n# Code reviewer\n\n\
You are a senior engineer. Review the diff for bugs, security problems and unclear names.\n\
Answer in {{locale}}; café, naïve, 日本語 and emoji 👍 are fine.\n\n\
- Artifact: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n\
- Request id: 550e8400-e29b-41d4-a716-446655440000\n\
- Docs: https://example.com/docs/getting-started/installation-guide\n\
- Family emoji: 👨\u{200D}👩\u{200D}👧\n"
            .as_bytes(),
    );
    let out = env.pulse(&["lint"]).assert_ok();
    assert_eq!(out.stdout_str(), "1 prompt checked, no findings\n");
}

#[test]
fn exit_codes() {
    let env = Env::new();
    env.pulse(&["lint"]).assert_ok();
    env.add("a", "1.0.0", b"fine\n");
    env.pulse(&["lint", "a"]).assert_ok();
    let out = env.pulse(&["lint", "missing"]).assert_code(3);
    out.assert_stderr_has("'missing'");
    env.pulse(&["lint", "Not/A Name"]).assert_code(2);
    env.pulse(&["lint", "--nope"]).assert_code(2);
    // Only lint and check speak SARIF; every other command refuses it before it acts.
    let out = env.pulse(&["--format", "sarif", "list"]).assert_code(2);
    out.assert_stderr_has("--format sarif");
    env.pulse_stdin(
        &["--format", "sarif", "add", "b", "--version", "1.0.0"],
        b"x",
    )
    .assert_code(2);
    env.pulse(&["fetch", "b"]).assert_code(3);
}

#[test]
fn check_fails_on_trojan_source_in_a_branch_and_passes_once_it_is_gone() {
    let env = Env::new();
    env.add("policy", "1.0.0", b"Only admins may delete.\n");
    env.git(&["checkout", "-q", "-b", "feature"]);
    commit(
        &env,
        &[(
            "prompts/policy.md",
            "Only admins\u{202E} \u{2066}may delete.\n".as_bytes(),
        )],
        "sneaky",
    );
    let out = env.pulse(&["check", "--base", "main"]).assert_code(5);
    let text = out.stdout_str();
    assert!(text.contains("**2 problem(s):**"), "{text}");
    assert!(
        text.contains("- `prompts/policy.md:1:12` bidi-control: U+202E RIGHT-TO-LEFT OVERRIDE"),
        "{text}"
    );
    assert!(!text.contains("All rules hold"), "{text}");
    let report = json(&env.pulse(&["--format", "json", "check"]).assert_code(5));
    assert_eq!(report["lint"][0]["rule"], "bidi-control");
    assert_eq!(report["lint"][0]["line"], 1);
    let log = json(&env.pulse(&["--format", "sarif", "check"]).assert_code(5));
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "bidi-control");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "prompts/policy.md"
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startColumn"],
        12
    );
    // A secret is listed but never printed.
    commit(
        &env,
        &[(
            "prompts/policy.md",
            format!("Only admins. {TOKEN}\n").as_bytes(),
        )],
        "fix, and leak",
    );
    let out = env.pulse(&["check", "--base", "main"]).assert_code(5);
    assert!(
        out.stdout_str().contains("secret: likely secret"),
        "{}",
        out.stdout_str()
    );
    // Not in the diff of the summary either.
    assert_no_secret(&out);
    assert!(
        out.stdout_str().contains("+Only admins. ghp_…8B4a"),
        "{}",
        out.stdout_str()
    );
    assert_no_secret(&env.pulse(&["--format", "json", "check", "--base", "main"]));
    assert_no_secret(&env.pulse(&["--format", "sarif", "check", "--base", "main"]));
    commit(
        &env,
        &[("prompts/policy.md", b"Only admins may delete.\nBe kind.\n")],
        "clean",
    );
    let out = env.pulse(&["check", "--base", "main"]).assert_ok();
    assert!(
        out.stdout_str().contains("All rules hold"),
        "{}",
        out.stdout_str()
    );
    let log = json(&env.pulse(&["--format", "sarif", "check"]).assert_ok());
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
}
