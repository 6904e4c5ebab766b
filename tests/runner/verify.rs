//! `verify` finds every kind of damaged or hand-made release (exit 5).

use crate::common::{Env, OutputExt};

#[test]
fn a_clean_repository_verifies() {
    let env = Env::new();
    env.add("a", "1.0.0", b"x");
    env.add("b/c", "2.0.0", b"y");
    let out = env.pulse(&["verify"]).assert_ok();
    assert_eq!(out.stdout_str(), "2 releases checked, 0 problems\n");
    env.pulse(&["verify", "a"]).assert_ok();
    env.pulse(&["verify", "zzz"]).assert_code(3);
}

#[test]
fn a_hand_made_tag_without_trailers_fails_verification() {
    let env = Env::new();
    env.add("a", "1.0.0", b"x");
    env.git(&["tag", "-a", "a@1.1.0", "-m", "made by hand"]);
    let out = env.pulse(&["verify"]).assert_code(5);
    assert!(
        out.stdout_str().contains(
            "FAIL a@1.1.0: release tag 'a@1.1.0' is malformed: it carries no Pulse-* trailers"
        ),
        "{}",
        out.stdout_str()
    );
    // Reading that release refuses it too.
    env.pulse(&["fetch", "a@1.1.0"]).assert_code(5);
    // Other releases still read fine.
    assert_eq!(env.pulse(&["fetch", "a@1.0.0"]).assert_ok().stdout, b"x");
}

#[test]
fn lightweight_and_misnamed_tags_fail() {
    let env = Env::new();
    env.add("a", "1.0.0", b"x");
    env.git(&["tag", "a@2.0.0"]);
    env.git(&["tag", "a@v3.0.0"]);
    env.git(&["tag", "a@latest-ish"]);
    env.git(&["tag", "v1.0"]); // not a pulse tag: ignored
    let out = env.pulse(&["verify"]).assert_code(5);
    let text = out.stdout_str();
    assert!(
        text.contains("FAIL a@2.0.0: release tag 'a@2.0.0' is malformed: it is a lightweight tag"),
        "{text}"
    );
    assert!(
        text.contains("FAIL a@v3.0.0: the version is not written canonically"),
        "{text}"
    );
    assert!(
        text.contains("FAIL a@latest-ish: 'latest-ish' is not a valid version"),
        "{text}"
    );
    assert!(text.ends_with("4 releases checked, 3 problems\n"), "{text}");
}

#[test]
fn a_tag_whose_checksum_does_not_match_fails() {
    let env = Env::new();
    env.add("a", "1.0.0", b"x");
    // Copy the real tag's message onto a commit with other content.
    let msg = env.git(&["tag", "-l", "--format=%(contents)", "a@1.0.0"]);
    std::fs::write(env.repo.join("prompts/a.md"), b"tampered").unwrap();
    env.git(&["commit", "-qam", "tamper"]);
    let msg_file = env.path("msg");
    std::fs::write(&msg_file, msg).unwrap();
    env.git(&["tag", "-a", "a@1.0.1", "-F", msg_file.to_str().unwrap()]);
    let out = env.pulse(&["verify"]).assert_code(5);
    assert!(
        out.stdout_str().contains("its trailers name 'a@1.0.0'"),
        "{}",
        out.stdout_str()
    );
    // Same name/version trailers, but the blob the tag records is not the commit's.
    let fixed = std::fs::read_to_string(&msg_file)
        .unwrap()
        .replace("1.0.0", "1.0.2");
    std::fs::write(&msg_file, &fixed).unwrap();
    env.git(&["tag", "-a", "a@1.0.2", "-F", msg_file.to_str().unwrap()]);
    let out = env.pulse(&["verify", "a"]).assert_code(5);
    assert!(
        out.stdout_str().contains("its tag records blob"),
        "{}",
        out.stdout_str()
    );
    // A tag without a recorded blob (as releases made before it was recorded) is read
    // by path: wrong content there is a checksum mismatch, and nothing is printed.
    let by_path: String = fixed
        .replace("1.0.2", "1.0.3")
        .lines()
        .filter(|l| !l.starts_with("Pulse-Blob:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&msg_file, by_path).unwrap();
    env.git(&["tag", "-a", "a@1.0.3", "-F", msg_file.to_str().unwrap()]);
    let out = env.pulse(&["verify", "a"]).assert_code(5);
    assert!(
        out.stdout_str().contains("does not match its checksum"),
        "{}",
        out.stdout_str()
    );
    let out = env.pulse(&["fetch", "a@1.0.3"]).assert_code(5);
    assert!(out.stdout.is_empty());
}
