//! Signed release tags, made the way git makes them: the tag object without its signature
//! is the payload, the program git would call signs it (`gpg -bsau KEY` for `openpgp`,
//! `ssh-keygen -Y sign -n git` for `ssh`), and the armored signature is appended to the
//! object. `git tag -v` verifies what pulse signs, and pulse verifies with `git
//! verify-tag`, so both read the same settings: `gpg.format`, `user.signingKey`,
//! `gpg.program`, `gpg.ssh.program`, `gpg.ssh.allowedSignersFile`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// How release tags are signed: git's `gpg.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignFormat {
    /// OpenPGP with gpg (`openpgp`, git's default).
    OpenPgp,
    /// An SSH key with `ssh-keygen -Y sign` (`ssh`).
    Ssh,
}

/// A signer configured as git's settings say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    format: SignFormat,
    /// The program to run (`gpg.program` / `gpg.ssh.program`).
    program: String,
    /// `user.signingKey`: a gpg key id, or an SSH key file.
    key: Option<String>,
}

/// Whether to sign a release: `--sign`, `--no-sign`, or git's `tag.gpgSign`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignChoice {
    /// As `tag.gpgSign` says.
    #[default]
    AsConfigured,
    /// Sign (`--sign`).
    Always,
    /// Do not sign (`--no-sign`).
    Never,
}

impl Signer {
    /// The signer git's configuration describes, if `choice` (or `tag.gpgSign`) asks for
    /// a signature.
    pub fn configured(repo: &gix::Repository, choice: SignChoice) -> Result<Option<Signer>> {
        let config = repo.config_snapshot();
        let wanted = match choice {
            SignChoice::Always => true,
            SignChoice::Never => false,
            SignChoice::AsConfigured => config.boolean("tag.gpgSign").unwrap_or(false),
        };
        if !wanted {
            return Ok(None);
        }
        let text = |key: &str| config.string(key).map(|v| v.to_string());
        let format = match text("gpg.format").as_deref() {
            None | Some("openpgp") => SignFormat::OpenPgp,
            Some("ssh") => SignFormat::Ssh,
            Some(other) => {
                return Err(Error::usage(format!(
                    "gpg.format '{}' is not one pulse signs with",
                    crate::name::printable(other)
                ))
                .with_hint("set gpg.format to openpgp or ssh"));
            }
        };
        let program = match format {
            SignFormat::OpenPgp => text("gpg.openpgp.program")
                .or_else(|| text("gpg.program"))
                .unwrap_or_else(|| "gpg".to_owned()),
            SignFormat::Ssh => text("gpg.ssh.program").unwrap_or_else(|| "ssh-keygen".to_owned()),
        };
        let key = text("user.signingKey").filter(|k| !k.is_empty());
        if format == SignFormat::Ssh && key.is_none() {
            return Err(Error::usage(
                "signing with gpg.format ssh needs user.signingKey (the SSH key file)",
            )
            .with_hint("git config user.signingKey ~/.ssh/id_ed25519"));
        }
        Ok(Some(Signer {
            format,
            program,
            key,
        }))
    }

    /// The armored signature of `payload`; `ident` (`Name <email>`) names the gpg key when
    /// `user.signingKey` does not.
    pub fn sign(&self, payload: &[u8], ident: &str) -> Result<Vec<u8>> {
        match self.format {
            SignFormat::OpenPgp => self.sign_gpg(payload, ident),
            SignFormat::Ssh => self.sign_ssh(payload),
        }
    }

    fn sign_gpg(&self, payload: &[u8], ident: &str) -> Result<Vec<u8>> {
        let key = self.key.clone().unwrap_or_else(|| ident.to_owned());
        let mut child = Command::new(&self.program)
            .args(["--status-fd=2", "-bsau", &key])
            .env("LC_ALL", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.not_run(e))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(payload)
                .map_err(|e| Error::io(format!("cannot give the tag to '{}'", self.program), e))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| Error::io(format!("cannot run '{}'", self.program), e))?;
        let status = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || !status.contains("[GNUPG:] SIG_CREATED ") {
            return Err(self.failed(&status));
        }
        Ok(out.stdout)
    }

    fn sign_ssh(&self, payload: &[u8]) -> Result<Vec<u8>> {
        let key = self.key.clone().unwrap_or_default();
        let dir = tempfile::tempdir()
            .map_err(|e| Error::io("cannot make a temporary directory to sign in", e))?;
        // A key given inline (`key::ssh-ed25519 AAAA…`, whose private half is in the agent)
        // is written to a file, as git does.
        let key_file = match key.strip_prefix("key::") {
            Some(public) => {
                let path = dir.path().join("key.pub");
                std::fs::write(&path, public)
                    .map_err(|e| Error::io("cannot write the signing key", e))?;
                path
            }
            None => expand_home(&key),
        };
        let message = dir.path().join("tag");
        std::fs::write(&message, payload)
            .map_err(|e| Error::io("cannot write the tag to sign", e))?;
        let out = Command::new(&self.program)
            .args(["-Y", "sign", "-n", "git", "-f"])
            .arg(&key_file)
            .arg(&message)
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| self.not_run(e))?;
        if !out.status.success() {
            return Err(self.failed(&String::from_utf8_lossy(&out.stderr)));
        }
        std::fs::read(dir.path().join("tag.sig"))
            .map_err(|e| Error::io(format!("'{}' wrote no signature", self.program), e))
    }

    fn not_run(&self, e: std::io::Error) -> Error {
        Error::io(
            format!("cannot run '{}' to sign the release", self.program),
            e,
        )
        .with_hint("install it, or set gpg.program / gpg.ssh.program")
    }

    fn failed(&self, said: &str) -> Error {
        let said = said
            .lines()
            .filter(|l| !l.starts_with("[GNUPG:]") && !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        Error::other(format!(
            "'{}' could not sign the release{}",
            self.program,
            if said.is_empty() {
                String::new()
            } else {
                format!(": {}", crate::name::printable(&said))
            }
        ))
        .with_hint("check user.signingKey and gpg.format; 'git tag -s' shows the same failure")
    }
}

/// `~/x` as git reads paths in its configuration.
fn expand_home(path: &str) -> std::path::PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => path.into(),
    }
}

/// What `git verify-tag` says of a release tag's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// Signed by a key the allowed signers (or the gpg keyring) trust.
    Good,
    /// Not signed at all.
    Unsigned,
    /// Signed, but the signature does not verify or its key is not allowed: git's words.
    Bad(String),
}

/// Check the signature of `tag` (a full tag ref) in the repository at `git_dir` with
/// `git verify-tag`, which reads the same settings `git tag -v` does.
pub fn verify_tag(git_dir: &Path, tag: &str, signed: bool) -> Result<SignatureCheck> {
    if !signed {
        return Ok(SignatureCheck::Unsigned);
    }
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(["verify-tag", "--raw", "--"])
        .arg(tag)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io("cannot run git verify-tag", e))?;
    if out.status.success() {
        return Ok(SignatureCheck::Good);
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let said = said
        .lines()
        .filter(|l| !l.starts_with("[GNUPG:]") && !l.trim().is_empty())
        .take(3)
        .collect::<Vec<_>>()
        .join("; ");
    Ok(SignatureCheck::Bad(crate::name::printable(&said)))
}

/// Check the signature of every release of `store`, the git repository `repo` (or of
/// `only`'s), `jobs` at a time: the
/// problems found (unsigned, or not verified by git) and how many releases were checked.
pub fn verify_releases(
    store: &dyn crate::store::Store,
    repo: &super::PromptRepo,
    only: Option<&crate::name::Name>,
    jobs: usize,
) -> Result<crate::integrity::Verified> {
    let names = match only {
        Some(n) => vec![n.clone()],
        None => store.list(&crate::name::NamePrefix::all())?,
    };
    let mut releases = Vec::new();
    for name in names {
        for version in store.versions(&name)? {
            let signed = repo.tag_is_signed(&name, &version)?;
            releases.push((format!("{name}@{version}"), signed));
        }
    }
    let git_dir = repo.git_dir().to_path_buf();
    let checks = crate::parallel::try_map(releases.len(), jobs, |i| {
        let (spec, signed) = &releases[i];
        verify_tag(&git_dir, &format!("refs/tags/{spec}"), *signed)
    })?;
    let mut report = crate::integrity::Verified {
        checked: releases.len(),
        ..Default::default()
    };
    for ((spec, _), check) in releases.iter().zip(checks) {
        let problem = match check {
            SignatureCheck::Good => continue,
            SignatureCheck::Unsigned => "the release tag is not signed".to_owned(),
            SignatureCheck::Bad(why) => format!("the signature does not verify: {why}"),
        };
        report.problems.push(crate::integrity::VerifyProblem {
            tag: spec.clone(),
            problem,
        });
    }
    Ok(report)
}

impl super::PromptRepo {
    /// What `git verify-tag` says of the release tag of `name@version`.
    pub fn release_signature(
        &self,
        name: &crate::name::Name,
        version: &crate::version::Version,
    ) -> Result<SignatureCheck> {
        let signed = self.tag_is_signed(name, version)?;
        verify_tag(
            self.git_dir(),
            &format!("refs/tags/{}", super::paths::tag_name(name, version)),
            signed,
        )
    }

    /// Whether the release tag of `name@version` carries a signature.
    pub fn tag_is_signed(
        &self,
        name: &crate::name::Name,
        version: &crate::version::Version,
    ) -> Result<bool> {
        let release = self
            .release(name, version)?
            .ok_or_else(|| crate::meta::no_release(name, version))?;
        Ok(self
            .git()
            .find_object(release.tag)
            .map_err(|e| Error::git(format!("cannot read the tag of {name}@{version}"), e))?
            .try_into_tag()
            .map_err(|e| Error::integrity(format!("{name}@{version}: {e}")))?
            .decode()
            .map_err(|e| Error::integrity(format!("the tag of {name}@{version}: {e}")))?
            .signature
            .is_some())
    }

    /// Why `label` of `name` may not point at `target` on a branch whose settings
    /// (`signed_labels`, read at `commit`) allow it only signed releases; `None` when it may.
    pub fn unsigned_label_target(
        &self,
        commit: Option<gix::ObjectId>,
        name: &crate::name::Name,
        label: &str,
        target: &crate::version::Version,
    ) -> Result<Option<String>> {
        let Some(commit) = commit else {
            return Ok(None);
        };
        let Some(settings) = self.settings_at(commit)? else {
            return Ok(None);
        };
        if !settings.signed_labels.iter().any(|l| l == label) {
            return Ok(None);
        }
        Ok(match self.release_signature(name, target)? {
            SignatureCheck::Good => None,
            SignatureCheck::Unsigned => Some(format!(
                "label '{label}' of '{name}' may point only at signed releases, and {name}@{target} is not signed"
            )),
            SignatureCheck::Bad(why) => Some(format!(
                "label '{label}' of '{name}' may point only at signed releases, and the signature of {name}@{target} does not verify: {why}"
            )),
        })
    }
}
