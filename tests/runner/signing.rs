//! Signed releases: `pulse add --sign` / `pulse release --sign` (or git's `tag.gpgSign`)
//! sign the release tag with the program git uses (ssh-keygen for `gpg.format ssh`, gpg for
//! `openpgp`), `git tag -v` verifies it, and `pulse verify --signatures` checks every
//! release. Real keys, made in the test's temporary directory.

use std::path::Path;
use std::process::Command;

use crate::common::{Env, OutputExt};

/// An ed25519 key pair at `<dir>/<file>` and `<file>.pub`.
fn ssh_key(dir: &Path, file: &str, comment: &str) -> std::path::PathBuf {
    let key = dir.join(file);
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(ok.success());
    key
}

/// A repository whose releases are signed with an SSH key that `allowed_signers` trusts.
fn ssh_signing() -> (Env, std::path::PathBuf) {
    let env = Env::new();
    let key = ssh_key(env.root.path(), "signer", "signer");
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let allowed = env.path("allowed_signers");
    let email = "ada@example.com";
    std::fs::write(&allowed, format!("{email} namespaces=\"git\" {public}")).unwrap();
    env.git(&["config", "gpg.format", "ssh"]);
    env.git(&["config", "user.signingKey", key.to_str().unwrap()]);
    env.git(&[
        "config",
        "gpg.ssh.allowedSignersFile",
        allowed.to_str().unwrap(),
    ]);
    (env, key)
}

#[test]
fn a_release_signed_with_an_ssh_key_verifies_with_git_and_pulse() {
    let (env, _) = ssh_signing();
    env.pulse_stdin(&["add", "p", "--version", "1.0.0", "--sign"], b"one\n")
        .assert_ok();
    let tag = env.git(&["cat-file", "-p", "p@1.0.0"]);
    assert!(tag.contains("-----BEGIN SSH SIGNATURE-----"), "{tag}");
    // git agrees: `git tag -v` verifies what pulse signed.
    let v = env
        .git_cmd_in(&env.repo, &["tag", "-v", "p@1.0.0"])
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    assert!(String::from_utf8_lossy(&v.stderr).contains("Good \"git\" signature"));
    // The release reads as any other.
    assert_eq!(
        env.pulse(&["fetch", "p@1.0.0"]).assert_ok().stdout,
        b"one\n"
    );
    env.pulse(&["verify"]).assert_ok();
    let out = env.pulse(&["verify", "--signatures"]).assert_ok();
    assert!(
        out.stdout_str().contains("1 releases checked, 0 problems"),
        "{}",
        out.stdout_str()
    );
    // `pulse release --sign` signs too.
    std::fs::write(env.repo.join("prompts/p.md"), b"two\n").unwrap();
    env.git(&["commit", "-qam", "edit p"]);
    env.pulse(&["release", "p", "--bump", "minor", "--sign"])
        .assert_ok();
    env.pulse(&["verify", "--signatures", "p"]).assert_ok();
}

#[test]
fn tag_gpg_sign_signs_every_release_and_no_sign_opts_out() {
    let (env, _) = ssh_signing();
    env.git(&["config", "tag.gpgSign", "true"]);
    env.add("p", "1.0.0", b"one\n");
    assert!(
        env.git(&["cat-file", "-p", "p@1.0.0"])
            .contains("SSH SIGNATURE")
    );
    env.pulse_stdin(&["add", "p", "--version", "1.1.0", "--no-sign"], b"two\n")
        .assert_ok();
    assert!(
        !env.git(&["cat-file", "-p", "p@1.1.0"])
            .contains("SIGNATURE")
    );
    // An unsigned release fails the signature check, named, with exit 5.
    let out = env.pulse(&["verify", "--signatures"]).assert_code(5);
    assert!(
        out.stdout_str()
            .contains("FAIL p@1.1.0: the release tag is not signed"),
        "{}",
        out.stdout_str()
    );
    assert!(
        !out.stdout_str().contains("p@1.0.0:"),
        "{}",
        out.stdout_str()
    );
}

#[test]
fn a_signature_by_a_key_not_allowed_is_refused() {
    let (env, _) = ssh_signing();
    // Another key signs: the signature is well-formed but its signer is not allowed.
    let stranger = ssh_key(env.root.path(), "stranger", "stranger");
    env.git(&["config", "user.signingKey", stranger.to_str().unwrap()]);
    env.pulse_stdin(&["add", "p", "--version", "1.0.0", "--sign"], b"one\n")
        .assert_ok();
    let v = env
        .git_cmd_in(&env.repo, &["tag", "-v", "p@1.0.0"])
        .output()
        .unwrap();
    assert!(!v.status.success());
    let out = env.pulse(&["verify", "--signatures"]).assert_code(5);
    assert!(
        out.stdout_str()
            .contains("FAIL p@1.0.0: the signature does not verify"),
        "{}",
        out.stdout_str()
    );
}

#[test]
fn signing_that_cannot_be_set_up_releases_nothing() {
    let env = Env::new();
    env.git(&["config", "gpg.format", "ssh"]);
    // No user.signingKey: refused before anything is written.
    let out = env
        .pulse_stdin(&["add", "p", "--version", "1.0.0", "--sign"], b"one\n")
        .assert_code(2);
    out.assert_stderr_has("user.signingKey");
    assert_eq!(env.git(&["tag", "-l"]), "");
    // A key that does not exist: the signing program fails, and nothing is released.
    env.git(&[
        "config",
        "user.signingKey",
        env.path("missing-key").to_str().unwrap(),
    ]);
    env.pulse_stdin(&["add", "p", "--version", "1.0.0", "--sign"], b"one\n")
        .assert_code(1);
    assert_eq!(env.git(&["tag", "-l"]), "");
    // An unknown format is a usage error.
    env.git(&["config", "gpg.format", "x509x"]);
    env.pulse_stdin(&["add", "p", "--version", "1.0.0", "--sign"], b"one\n")
        .assert_code(2);
    // Outside a git repository there is nothing to check signatures of.
    let dir = env.path("dir-store");
    env.pulse(&["export", dir.to_str().unwrap()]).assert_ok();
    env.pulse(&["--store", dir.to_str().unwrap(), "verify", "--signatures"])
        .assert_code(2);
}

#[test]
fn a_release_signed_with_gpg_verifies_with_git() {
    if Command::new("gpg").arg("--version").output().is_err() {
        panic!("gpg is not installed: run `bash scripts/test-tools.sh` (or apt-get install gnupg)");
    }
    let env = Env::new();
    let home = env.path("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let email = "ada@example.com";
    let made = Command::new("gpg")
        .env("GNUPGHOME", &home)
        .args([
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            &format!("Ada Tester <{email}>"),
            "ed25519",
            "sign",
            "never",
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    // The tests' hermetic environment passes GNUPGHOME through to gpg via git's config.
    let wrapper = env.path("gpg-wrapper");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nGNUPGHOME='{}' exec gpg \"$@\"\n",
            home.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    env.git(&["config", "gpg.program", wrapper.to_str().unwrap()]);
    env.pulse_stdin(&["add", "p", "--version", "1.0.0", "--sign"], b"one\n")
        .assert_ok();
    assert!(
        env.git(&["cat-file", "-p", "p@1.0.0"])
            .contains("-----BEGIN PGP SIGNATURE-----")
    );
    let v = env
        .git_cmd_in(&env.repo, &["tag", "-v", "p@1.0.0"])
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    env.pulse(&["verify", "--signatures"]).assert_ok();
}

#[test]
fn a_label_for_signed_releases_only_refuses_an_unsigned_one() {
    let (env, _) = ssh_signing();
    env.pulse_stdin(&["add", "p", "--version", "1.0.0", "--sign"], b"one\n")
        .assert_ok();
    env.add("p", "1.1.0", b"two\n");
    // The repository says production points at signed releases only.
    let settings = env.repo.join(".pulse/config.yaml");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str("signed_labels: [production]\n");
    std::fs::write(&settings, text).unwrap();
    env.git(&["commit", "-qam", "production takes signed releases only"]);
    env.pulse(&["label", "set", "p", "production", "1.0.0"])
        .assert_ok();
    let out = env
        .pulse(&["label", "set", "p", "production", "1.1.0"])
        .assert_code(5);
    out.assert_stderr_has("p@1.1.0 is not signed");
    assert_eq!(
        env.pulse(&["fetch", "p@production"]).assert_ok().stdout,
        b"one\n",
        "the label did not move"
    );
    // Other labels take any release.
    env.pulse(&["label", "set", "p", "staging", "1.1.0"])
        .assert_ok();
    env.pulse(&["check"]).assert_ok();
    // A pull request that moves production by hand to the unsigned release fails the gate.
    let sidecar = env.repo.join("prompts/p.yaml");
    let text = std::fs::read_to_string(&sidecar).unwrap();
    std::fs::write(
        &sidecar,
        text.replace("production: 1.0.0", "production: 1.1.0"),
    )
    .unwrap();
    env.git(&["commit", "-qam", "move production by hand"]);
    let out = env.pulse(&["check"]).assert_code(5);
    assert!(
        out.stdout_str()
            .contains("may point only at signed releases")
            || out
                .stderr_str()
                .contains("may point only at signed releases"),
        "{}{}",
        out.stdout_str(),
        out.stderr_str()
    );
}
