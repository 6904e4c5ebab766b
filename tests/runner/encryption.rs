//! Encryption at rest with age: with recipients in `storage_config`, directory, S3 and
//! registry stores hold release content only encrypted (the tests read every stored byte
//! for the plaintext), a reader with an identity gets the exact bytes, one without gets
//! exit 6, and `pulse sync` moves releases between encrypted and plain stores and to new
//! recipients. Keys are made by `age-keygen`, and `age -d` decrypts what pulse stored.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::registry::Registry;
use crate::common::s3::{Kind, S3Server};
use crate::common::stores::age_key;
use crate::common::{Env, OutputExt};

/// Content no stored byte may contain once it is encrypted.
const SECRET_1: &[u8] = b"system prompt one: the-plaintext-marker-7f3a\n";
const SECRET_2: &[u8] = b"system prompt two: the-plaintext-marker-7f3a, revised\n";
const MARKER: &[u8] = b"the-plaintext-marker-7f3a";

/// A repository with two releases of `p` whose content carries [`MARKER`].
fn released() -> Env {
    let env = Env::new();
    env.add("p", "1.0.0", SECRET_1).assert_ok();
    env.add("p", "1.1.0", SECRET_2).assert_ok();
    env
}

/// Every file under `root` (recursively) that holds `needle`.
fn files_holding(root: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                found.push(path);
            }
        }
    }
    found
}

fn config_with_recipients(public: &str) -> String {
    format!("storage_config:\n  age_recipients: \"{public}\"\n")
}

/// `pulse ARGS` in `env` with `PULSE_AGE_IDENTITY` set to `identity`.
fn with_identity(env: &Env, identity: &str, args: &[&str]) -> Output {
    env.cmd(args)
        .env("PULSE_AGE_IDENTITY", identity)
        .output()
        .unwrap()
}

/// `pulse --config CONFIG sync SRC URL` with `token`, which must succeed; its stdout.
fn sync_with(env: &Env, config: &Path, src: &Path, url: &str, token: &str) -> String {
    env.cmd(&[
        "--config",
        config.to_str().unwrap(),
        "sync",
        src.to_str().unwrap(),
        url,
    ])
    .env("PULSE_TOKEN", token)
    .output()
    .unwrap()
    .assert_ok()
    .stdout_str()
}

/// `age -d -i IDENTITY FILE`: the real age program decrypts what pulse stored.
fn age_decrypt(identity: &Path, file: &Path) -> Vec<u8> {
    let out = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(identity)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn metadata(store: &Path, name: &str, version: &str) -> serde_json::Value {
    let bytes = std::fs::read(store.join(name).join(version).join("metadata.json")).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn a_directory_store_holds_only_ciphertext_and_reads_back_with_an_identity() {
    let env = released();
    let (identity, public) = age_key(env.root.path(), "key.txt");
    env.user_config(&config_with_recipients(&public));
    let store = env.path("store");
    let store_s = store.to_str().unwrap();
    env.pulse(&["sync", env.repo.to_str().unwrap(), store_s])
        .assert_ok();
    // No stored byte is plaintext; the metadata records the plaintext's checksum and size.
    assert_eq!(files_holding(&store, MARKER), Vec::<PathBuf>::new());
    let meta = metadata(&store, "p", "1.0.0");
    assert_eq!(meta["encryption"], "age");
    assert_eq!(meta["size"], SECRET_1.len() as u64);
    assert_eq!(
        meta["checksum"],
        pulse::digest::Digest::of(SECRET_1).to_string()
    );
    let content = store.join("p/1.0.0/content.md");
    assert!(
        std::fs::read(&content)
            .unwrap()
            .starts_with(b"age-encryption.org/v1\n")
    );
    // age itself opens it: the stored file is a standard age file.
    assert_eq!(age_decrypt(&identity, &content), SECRET_1);

    // Without an identity: exit 6, saying what is missing; the metadata stays readable.
    let out = env
        .pulse(&["--store", store_s, "fetch", "p@1.0.0"])
        .assert_code(6);
    out.assert_stderr_has("p@1.0.0");
    out.assert_stderr_has("PULSE_AGE_IDENTITY");
    assert!(out.stdout.is_empty());
    let shown = env
        .pulse(&["--store", store_s, "show", "p@1.0.0", "--format", "json"])
        .assert_ok();
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["encryption"], "age");
    env.pulse(&["--store", store_s, "verify"]).assert_code(6);

    // With one, in every form: a path, the key itself, or age_identity in the config.
    let id = identity.to_str().unwrap();
    let out = with_identity(&env, id, &["--store", store_s, "fetch", "p@1.0.0"]).assert_ok();
    assert_eq!(out.stdout, SECRET_1);
    let key = std::fs::read_to_string(&identity).unwrap();
    let secret = key
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    let out = with_identity(&env, secret, &["--store", store_s, "fetch", "p@latest"]).assert_ok();
    assert_eq!(out.stdout, SECRET_2);
    let out = with_identity(&env, id, &["--store", store_s, "verify"]).assert_ok();
    assert!(
        out.stdout_str().contains("2 releases checked, 0 problems"),
        "{}",
        out.stdout_str()
    );
    env.user_config(&format!(
        "storage_config:\n  age_recipients: \"{public}\"\n  age_identity: {id}\n"
    ));
    let out = env
        .pulse(&["--store", store_s, "fetch", "p@1.1.0"])
        .assert_ok();
    assert_eq!(out.stdout, SECRET_2);

    // Someone else's key opens nothing: exit 6 too.
    let (other, _) = age_key(env.root.path(), "other.txt");
    let out = with_identity(
        &env,
        other.to_str().unwrap(),
        &["--store", store_s, "fetch", "p@1.0.0"],
    )
    .assert_code(6);
    out.assert_stderr_has("other recipients");

    // Syncing again writes nothing: whether a release is there is decided by the
    // plaintext checksum, never by ciphertext (which differs at every encryption).
    let before = std::fs::read(&content).unwrap();
    let out = env
        .pulse(&["sync", env.repo.to_str().unwrap(), store_s])
        .assert_ok();
    assert!(
        out.stdout_str().contains("nothing to copy"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(std::fs::read(&content).unwrap(), before);
    // A new release of other content to the same version is still a conflict.
    let other_repo = Env::new();
    other_repo
        .add("p", "1.0.0", b"different content\n")
        .assert_ok();
    let out = other_repo
        .cmd(&["sync", other_repo.repo.to_str().unwrap(), store_s])
        .env("XDG_CONFIG_HOME", env.path("config"))
        .output()
        .unwrap()
        .assert_code(4);
    assert!(
        out.stdout_str().contains("conflict p@1.0.0"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(std::fs::read(&content).unwrap(), before);
}

#[test]
fn sync_moves_releases_between_encrypted_and_plain_stores_and_to_new_recipients() {
    let env = released();
    let root = env.root.path();
    let (key1, pub1) = age_key(root, "one.txt");
    let (key2, pub2) = age_key(root, "two.txt");
    let (key3, pub3) = age_key(root, "three.txt");
    env.user_config(&config_with_recipients(&pub1));
    let store = |n: &str| env.path(n).to_str().unwrap().to_owned();
    let (a, b, c, d) = (store("a"), store("b"), store("c"), store("d"));
    let id1 = key1.to_str().unwrap();
    env.pulse(&["sync", env.repo.to_str().unwrap(), &a])
        .assert_ok();
    assert!(files_holding(Path::new(&a), MARKER).is_empty());

    // Encrypted to plain: the releases are decrypted (with the identity) and written in
    // the clear; without the identity nothing is copied (exit 6).
    let out = env.pulse(&["sync", &a, &b, "--no-encrypt"]).assert_code(6);
    out.assert_stderr_has("identity");
    with_identity(&env, id1, &["sync", &a, &b, "--no-encrypt"]).assert_ok();
    assert_eq!(
        std::fs::read(env.path("b/p/1.0.0/content.md")).unwrap(),
        SECRET_1
    );
    assert!(
        metadata(Path::new(&b), "p", "1.0.0")
            .get("encryption")
            .is_none()
    );
    let out = env.pulse(&["--store", &b, "fetch", "p@1.1.0"]).assert_ok();
    assert_eq!(out.stdout, SECRET_2);

    // Plain to encrypted, to a recipient given on the command line.
    env.pulse(&["sync", &b, &c, "--recipient", &pub2])
        .assert_ok();
    assert!(files_holding(Path::new(&c), MARKER).is_empty());
    let fetch_c = |key: &Path| {
        with_identity(
            &env,
            key.to_str().unwrap(),
            &["--store", &c, "fetch", "p@1.0.0"],
        )
    };
    assert_eq!(fetch_c(&key2).assert_ok().stdout, SECRET_1);
    fetch_c(&key1).assert_code(6);

    // Encrypted to encrypted, re-encrypted to a new list from a recipients file.
    let list = env.path("recipients.txt");
    std::fs::write(&list, format!("# the new team\n{pub2}\n\n{pub3}\n")).unwrap();
    with_identity(
        &env,
        id1,
        &["sync", &a, &d, "--recipients-file", list.to_str().unwrap()],
    )
    .assert_ok();
    assert!(files_holding(Path::new(&d), MARKER).is_empty());
    for key in [&key2, &key3] {
        let out = with_identity(
            &env,
            key.to_str().unwrap(),
            &["--store", &d, "fetch", "p@1.1.0"],
        );
        assert_eq!(out.assert_ok().stdout, SECRET_2);
    }
    with_identity(&env, id1, &["--store", &d, "fetch", "p@1.1.0"]).assert_code(6);
    assert_eq!(
        age_decrypt(&key3, &env.path("d/p/1.1.0/content.md")),
        SECRET_2
    );

    // And back into a git repository, whole.
    let back = env.path("back");
    env.pulse(&["init", back.to_str().unwrap()]).assert_ok();
    with_identity(
        &env,
        key3.to_str().unwrap(),
        &["sync", &d, back.to_str().unwrap()],
    )
    .assert_ok();
    let out = env
        .pulse(&["--repo", back.to_str().unwrap(), "fetch", "p@1.0.0"])
        .assert_ok();
    assert_eq!(out.stdout, SECRET_1);

    // A git repository keeps content in the clear: encrypting into one is refused.
    let out = env
        .pulse(&["sync", &b, back.to_str().unwrap(), "--recipient", &pub2])
        .assert_code(2);
    out.assert_stderr_has("in the clear");
    // --no-encrypt and --recipient say opposite things.
    env.pulse(&["sync", &a, &b, "--no-encrypt", "--recipient", &pub2])
        .assert_code(2);
}

#[test]
fn an_s3_bucket_holds_only_ciphertext() {
    let env = released();
    let server = S3Server::start(Kind::S3sFs);
    server.create_bucket("prompts");
    let (identity, public) = age_key(env.root.path(), "key.txt");
    env.user_config(&format!(
        "storage_config:\n  endpoint: {}\n  region: {}\n  access_key_id: {}\n  secret_access_key: {}\n  allow_http: \"true\"\n  age_recipients: {public}\n",
        server.endpoint(),
        server.region(),
        server.access_key(),
        server.secret_key()
    ));
    let bucket = "s3://prompts/team";
    env.pulse(&["sync", env.repo.to_str().unwrap(), bucket])
        .assert_ok();
    // s3s-fs keeps objects as files: none holds the plaintext.
    let data = server.data_dir().unwrap();
    assert!(data.join("prompts/team/p/1.0.0/content.md").exists());
    assert_eq!(files_holding(&data, MARKER), Vec::<PathBuf>::new());
    // What the bucket answers an S3 client is the age file.
    let out = server.aws(&["s3", "cp", "s3://prompts/team/p/1.1.0/content.md", "-"]);
    assert!(out.status.success(), "{}", out.stderr_str());
    assert!(out.stdout.starts_with(b"age-encryption.org/v1\n"));
    std::fs::write(env.path("downloaded.age"), &out.stdout).unwrap();
    assert_eq!(
        age_decrypt(&identity, &env.path("downloaded.age")),
        SECRET_2
    );
    // Read back through pulse, with and without the identity.
    let id = identity.to_str().unwrap();
    let out = with_identity(&env, id, &["--store", bucket, "fetch", "p@1.1.0"]).assert_ok();
    assert_eq!(out.stdout, SECRET_2);
    env.pulse(&["--store", bucket, "--refresh", "fetch", "p@1.0.0"])
        .assert_code(6);
    // The on-disk cache holds what the bucket sent, never the plaintext.
    assert_eq!(
        files_holding(&env.path("cache"), MARKER),
        Vec::<PathBuf>::new()
    );
    let out = with_identity(
        &env,
        id,
        &["--store", bucket, "--offline", "fetch", "p@1.1.0"],
    )
    .assert_ok();
    assert_eq!(out.stdout, SECRET_2);
}

#[test]
fn the_registry_passes_encrypted_content_on_and_never_holds_plaintext() {
    let env = released();
    let (identity, public) = age_key(env.root.path(), "key.txt");
    let id = identity.to_str().unwrap();
    // The server has no key at all; the client encrypts with its own configuration.
    let token = Registry::token(&env, "ci", "write", None);
    let served = env.path("served");
    let audit = env.path("audit.log");
    let registry = Registry::start(
        &env,
        served.to_str().unwrap(),
        &[
            "--allow-anonymous-read",
            "--audit-log",
            audit.to_str().unwrap(),
        ],
    );
    let client = env.path("client.yaml");
    std::fs::write(&client, config_with_recipients(&public)).unwrap();
    let url = registry.url().to_owned();
    let out = sync_with(&env, &client, &env.repo, &url, &token);
    assert!(out.contains("copied 2 releases"), "{out}");
    // Neither the store the server writes, nor its log, holds the plaintext.
    assert_eq!(files_holding(&served, MARKER), Vec::<PathBuf>::new());
    assert!(!registry.stderr_text().contains("the-plaintext-marker"));
    assert!(
        !std::fs::read_to_string(&audit)
            .unwrap()
            .contains("the-plaintext-marker")
    );
    assert_eq!(metadata(&served, "p", "1.0.0")["encryption"], "age");
    // It answers the ciphertext, marked as such, with the plaintext's checksum as its tag.
    let got = registry.get("/p/1.0.0/content.md", None);
    assert_eq!(got.status, 200);
    assert_eq!(got.header("pulse-encryption"), Some("age"));
    assert_eq!(got.header("content-type"), Some("application/octet-stream"));
    assert_eq!(
        got.header("etag").unwrap(),
        format!("\"{}\"", pulse::digest::Digest::of(SECRET_1).hex())
    );
    assert!(got.body.starts_with(b"age-encryption.org/v1\n"));
    let head = registry.request("HEAD", "/p/1.0.0/content.md", &[], b"");
    assert_eq!(
        head.header("content-length"),
        Some(got.body.len().to_string().as_str())
    );
    std::fs::write(env.path("got.age"), &got.body).unwrap();
    assert_eq!(age_decrypt(&identity, &env.path("got.age")), SECRET_1);
    let meta = registry.get("/p/1.0.0/metadata.json", None).json();
    assert_eq!(meta["encryption"], "age");
    // The web view says the content is encrypted instead of showing it.
    let page = registry.get("/_ui/p/p/v/1.0.0", None);
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("kept encrypted with age"),
        "{}",
        page.text()
    );
    // A client with the identity reads the exact bytes; one without gets exit 6.
    let out = with_identity(&env, id, &["--store", &url, "fetch", "p@1.1.0"]).assert_ok();
    assert_eq!(out.stdout, SECRET_2);
    env.pulse(&["--store", &url, "--refresh", "fetch", "p@1.0.0"])
        .assert_code(6);
    // Uploading the same releases again changes nothing (200, not a conflict).
    let out = sync_with(&env, &client, &env.repo, &url, &token);
    assert!(out.contains("nothing to copy"), "{out}");
}

#[test]
fn a_registry_with_recipients_encrypts_what_it_is_sent_in_the_clear() {
    let env = released();
    let (identity, public) = age_key(env.root.path(), "key.txt");
    // The server's configuration has the recipients; the client sends plaintext.
    env.user_config(&config_with_recipients(&public));
    let token = Registry::token(&env, "ci", "write", None);
    let served = env.path("served");
    let registry = Registry::start(&env, served.to_str().unwrap(), &[]);
    let plain = env.path("plain.yaml");
    std::fs::write(&plain, "log_level: warn\n").unwrap();
    sync_with(&env, &plain, &env.repo, registry.url(), &token);
    assert_eq!(files_holding(&served, MARKER), Vec::<PathBuf>::new());
    assert_eq!(
        age_decrypt(&identity, &served.join("p/1.1.0/content.md")),
        SECRET_2
    );
}

#[test]
fn broken_or_hostile_encryption_is_refused_with_its_exit_code() {
    let env = released();
    let (identity, public) = age_key(env.root.path(), "key.txt");
    let id = identity.to_str().unwrap();
    env.user_config(&config_with_recipients(&public));
    let store = env.path("store");
    let store_s = store.to_str().unwrap();
    env.pulse(&["sync", env.repo.to_str().unwrap(), store_s])
        .assert_ok();
    let fetch = |spec: &str| with_identity(&env, id, &["--store", store_s, "fetch", spec]);

    // Ciphertext altered by one bit: an integrity failure, nothing printed.
    let content = store.join("p/1.0.0/content.md");
    let mut bytes = std::fs::read(&content).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&content, &bytes).unwrap();
    let out = fetch("p@1.0.0").assert_code(5);
    assert!(out.stdout.is_empty());
    // Plaintext where the metadata says age: refused, not printed.
    std::fs::write(&content, SECRET_1).unwrap();
    fetch("p@1.0.0")
        .assert_code(5)
        .stdout
        .is_empty()
        .then_some(())
        .unwrap();
    // Metadata naming an encryption pulse does not know.
    let meta_file = store.join("p/1.1.0/metadata.json");
    let meta = std::fs::read_to_string(&meta_file).unwrap();
    std::fs::write(&meta_file, meta.replace("\"age\"", "\"rot13\"")).unwrap();
    let out = fetch("p@1.1.0").assert_code(5);
    out.assert_stderr_has("rot13");

    // Bad settings are usage errors, said before anything is written.
    let fresh = env.path("fresh");
    let fresh_s = fresh.to_str().unwrap();
    for (yaml, said) in [
        (
            "storage_config:\n  age_recipients: age1notakey\n",
            "not an age public key",
        ),
        (
            "storage_config:\n  age_recipients: \"ssh-ed25519 AAAAC3Nza\"\n",
            "ssh keys",
        ),
        (
            "storage_config:\n  age_recipient: x\n",
            "no setting 'age_recipient'",
        ),
    ] {
        env.user_config(yaml);
        let out = env
            .pulse(&["sync", env.repo.to_str().unwrap(), fresh_s])
            .assert_code(2);
        assert!(
            out.stderr_str().contains(said),
            "{yaml}: {}",
            out.stderr_str()
        );
        assert!(!fresh.exists());
    }
    env.pulse(&[
        "sync",
        env.repo.to_str().unwrap(),
        fresh_s,
        "--recipient",
        "age1nope",
    ])
    .assert_code(2);
    let out = env
        .pulse(&[
            "sync",
            env.repo.to_str().unwrap(),
            fresh_s,
            "--recipients-file",
            env.path("nowhere").to_str().unwrap(),
        ])
        .assert_code(3);
    out.assert_stderr_has("nowhere");
    assert!(!fresh.exists());

    // An identity that is not one: a clear error that never echoes the file's lines.
    env.user_config("log_level: warn\n");
    let junk = env.path("junk.txt");
    std::fs::write(&junk, "AGE-SECRET-KEY-1-NOT-REALLY-A-KEY-BUT-SECRET\n").unwrap();
    let out = with_identity(
        &env,
        junk.to_str().unwrap(),
        &["--store", store_s, "fetch", "p@1.0.0"],
    )
    .assert_code(2);
    out.assert_stderr_has("not an age identity file");
    assert!(
        !out.stderr_str().contains("NOT-REALLY"),
        "{}",
        out.stderr_str()
    );
    // A FIFO as the identity is refused at once, never waited on.
    let fifo = env.path("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let out = with_identity(
        &env,
        fifo.to_str().unwrap(),
        &["--store", store_s, "fetch", "p@1.0.0"],
    )
    .assert_code(2);
    out.assert_stderr_has("not a regular file");
    // An identity file missing: exit 6, naming it.
    let out = with_identity(
        &env,
        env.path("missing.txt").to_str().unwrap(),
        &["--store", store_s, "fetch", "p@1.0.0"],
    )
    .assert_code(6);
    out.assert_stderr_has("missing.txt");
}

#[test]
fn a_registry_refuses_encrypted_uploads_it_cannot_keep_or_that_are_not_age_files() {
    let env = released();
    let token = Registry::token(&env, "ci", "write", None);
    let auth = format!("Bearer {token}");
    let served = env.path("served");
    let registry = Registry::start(&env, served.to_str().unwrap(), &[]);
    let sha = pulse::digest::Digest::of(SECRET_1).to_string();
    let release = |extra: &str| {
        let json = format!("{{\"encryption\":\"age\"{extra}}}");
        json.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    // Not an age file although it says so.
    let header = release(&format!(",\"size\":{}", SECRET_1.len()));
    let put = registry.request(
        "PUT",
        "/q/1.0.0/content.md",
        &[
            ("Authorization", &auth),
            ("Pulse-Release", &header),
            ("Pulse-Checksum", &sha),
        ],
        SECRET_1,
    );
    assert_eq!(put.status, 400, "{}", put.text());
    assert!(put.text().contains("not an age file"), "{}", put.text());
    // Without the plaintext's size and checksum.
    let header = release("");
    let put = registry.request(
        "PUT",
        "/q/1.0.0/content.md",
        &[("Authorization", &auth), ("Pulse-Release", &header)],
        b"age-encryption.org/v1\n",
    );
    assert_eq!(put.status, 400, "{}", put.text());
    assert!(!served.join("q").exists());

    // A registry serving a git repository keeps content in the clear: it refuses one.
    let (_, public) = age_key(env.root.path(), "key.txt");
    let git_registry = Registry::start(&env, env.repo.to_str().unwrap(), &[]);
    let client = env.path("client.yaml");
    std::fs::write(&client, config_with_recipients(&public)).unwrap();
    let other = Env::new();
    other.add("q", "1.0.0", SECRET_1).assert_ok();
    let out = env
        .cmd(&[
            "--config",
            client.to_str().unwrap(),
            "sync",
            other.repo.to_str().unwrap(),
            git_registry.url(),
        ])
        .env("PULSE_TOKEN", &token)
        .output()
        .unwrap();
    let out = out.assert_code(2);
    out.assert_stderr_has("in the clear");
    env.pulse(&["fetch", "q@1.0.0"]).assert_code(3);
}
