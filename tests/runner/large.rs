//! Content of any size: a prompt of some MiB (far past the size from which pulse streams
//! content instead of reading it whole, small enough to keep the suite fast) through every
//! command that moves content, byte-exact, loose and packed. How much memory that takes
//! is measured by `scripts/bench-large.sh`, not here.

use crate::common::{Env, OutputExt};

const MIB: usize = 1024 * 1024;

/// `len` bytes of text-like content (random words in lines), the same for the same seed.
fn prose(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "you", "are", "a", "careful", "reviewer", "cite", "sources", "never", "invent", "facts",
        "explain", "each", "step", "ask", "before", "acting",
    ];
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 16);
    let mut on_line = 0;
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(WORDS[(state % 16) as usize].as_bytes());
        on_line += 1;
        out.push(if on_line % 12 == 0 { b'\n' } else { b' ' });
    }
    out.truncate(len);
    out
}

fn write(env: &Env, rel: &str, bytes: &[u8]) -> String {
    let path = env.path(rel);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

fn read(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn a_large_prompt_moves_through_every_command_byte_exact() {
    let env = Env::new();
    let big = prose(6 * MIB + 7, 1);
    let file = write(&env, "big.md", &big);
    env.pulse(&["add", "big", "--version", "1.0.0", "--file", &file])
        .assert_ok();
    // The worktree file is streamed from the object database, and git agrees it is clean.
    assert!(read(&env.repo.join("prompts/big.md")) == big);
    assert_eq!(env.git(&["status", "--porcelain"]), "");

    // fetch: to stdout (verified, then written), to a file (streamed, then renamed), and
    // unreleased working content (streamed as it is read).
    assert!(env.pulse(&["fetch", "big"]).assert_ok().stdout == big);
    let fetched = env.path("fetched.md");
    env.pulse(&["fetch", "big", "--output", fetched.to_str().unwrap()])
        .assert_ok();
    assert!(read(&fetched) == big);
    assert!(
        env.pulse(&["fetch", "big", "--ref", "HEAD"])
            .assert_ok()
            .stdout
            == big
    );

    // A second version over the large worktree file (hashed in pieces to see it is
    // unmodified), and a release of the committed content (hashed as it is read).
    let mut bigger = big.clone();
    bigger.extend(prose(MIB, 2));
    let file = write(&env, "bigger.md", &bigger);
    env.pulse(&["add", "big", "--version", "1.1.0", "--file", &file])
        .assert_ok();
    env.pulse(&["release", "big", "--version", "1.2.0"])
        .assert_ok();
    let show = env
        .pulse(&["show", "big@1.2.0", "--format", "json"])
        .assert_ok();
    assert!(
        show.stdout_str()
            .contains(&format!("\"size\": {}", bigger.len())),
        "{}",
        show.stdout_str()
    );
    env.pulse(&["verify"]).assert_ok();

    // export streams each release into place; a second export finds them all identical.
    let out = env.path("out");
    let dir = out.to_str().unwrap();
    env.pulse(&["export", dir]).assert_ok();
    assert!(read(&out.join("big/1.0.0/content.md")) == big);
    assert!(read(&out.join("big/1.1.0/content.md")) == bigger);
    assert!(read(&out.join("big/1.2.0/content.md")) == bigger);
    let again = env.pulse(&["export", dir]).assert_ok();
    assert!(
        again.stdout_str().contains("(3 unchanged)"),
        "{}",
        again.stdout_str()
    );

    // import writes large content straight into loose objects.
    let other = Env::new();
    other.pulse(&["import", dir]).assert_ok();
    other.pulse(&["verify"]).assert_ok();
    assert!(other.pulse(&["fetch", "big@1.0.0"]).assert_ok().stdout == big);
    assert!(other.pulse(&["fetch", "big@1.1.0"]).assert_ok().stdout == bigger);

    // After git gc the content lives in a pack, one version likely as a delta of the other.
    other.git(&["gc", "--quiet"]);
    assert!(other.pulse(&["fetch", "big@1.0.0"]).assert_ok().stdout == big);
    let packed = other.path("packed.md");
    other
        .pulse(&["fetch", "big@1.1.0", "--output", packed.to_str().unwrap()])
        .assert_ok();
    assert!(read(&packed) == bigger);
    other.pulse(&["verify"]).assert_ok();
    let reexported = other.path("again");
    other
        .pulse(&["export", reexported.to_str().unwrap()])
        .assert_ok();
    assert!(read(&reexported.join("big/1.0.0/content.md")) == big);
    assert!(read(&reexported.join("big/1.2.0/content.md")) == bigger);
}

#[test]
fn large_content_that_does_not_match_its_release_is_never_handed_on() {
    let env = Env::new();
    let big = prose(4 * MIB, 3);
    let file = write(&env, "big.md", &big);
    env.pulse(&["add", "big", "--version", "1.0.0", "--file", &file])
        .assert_ok();
    // A hand-made tag carrying 1.0.0's checksum and size, on a commit with other content
    // of the same size, and no recorded blob (so it is read by path, as releases made
    // before pulse recorded the blob are).
    let msg: String = env
        .git(&["tag", "-l", "--format=%(contents)", "big@1.0.0"])
        .replace("1.0.0", "1.0.1")
        .lines()
        .filter(|l| !l.starts_with("Pulse-Blob:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(env.repo.join("prompts/big.md"), prose(4 * MIB, 4)).unwrap();
    env.git(&["commit", "-qam", "tamper"]);
    let msg_file = write(&env, "msg", msg.as_bytes());
    env.git(&["tag", "-a", "big@1.0.1", "-F", &msg_file]);

    let out = env.pulse(&["fetch", "big@1.0.1"]).assert_code(5);
    assert!(
        out.stdout.is_empty(),
        "nothing reaches stdout before the check"
    );
    let target = env.path("target");
    std::fs::create_dir(&target).unwrap();
    let fetched = target.join("fetched.md");
    env.pulse(&["fetch", "big@1.0.1", "--output", fetched.to_str().unwrap()])
        .assert_code(5);
    assert_eq!(
        std::fs::read_dir(&target).unwrap().count(),
        0,
        "no file, and no temporary file, is left behind"
    );
    let export = env.path("export");
    env.pulse(&["export", export.to_str().unwrap()])
        .assert_code(5);
    assert!(read(&export.join("big/1.0.0/content.md")) == big);
    assert!(
        std::fs::read_dir(export.join("big/1.0.1")).map_or(true, |d| d.count() == 0),
        "the release that failed its check left nothing in the export"
    );
    env.pulse(&["verify"]).assert_code(5);
}
