//! `pulse verify`: check every release.

use std::io::Write;

use crate::cli::{Ctx, Report};
use crate::error::{Error, Result};
use crate::name::Name;
use crate::store::Verified;

/// Check every release: its form and its checksum (exit 5 on a mismatch).
///
/// Check every release (or NAME's): in a repository, it is an annotated tag named
/// name@version whose trailers match and whose commit holds the prompt's path; in every
/// store, the content is there and its size and SHA-256 match the release's record.
/// Exits 5 if anything does not.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Only this prompt.
    pub name: Option<String>,
    /// Check the release tags' signatures instead (git verify-tag: gpg's keyring, or
    /// gpg.ssh.allowedSignersFile); an unsigned release or a bad signature is exit 5.
    #[arg(long)]
    pub signatures: bool,
}

impl Report for Verified {
    fn text(&self) -> String {
        let mut text = String::new();
        for p in &self.problems {
            text.push_str(&format!("FAIL {}: {}\n", p.tag, p.problem));
        }
        text.push_str(&format!(
            "{} releases checked, {} problems\n",
            self.checked,
            self.problems.len()
        ));
        text
    }
}

pub(super) fn run(args: VerifyArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let only = args.name.as_deref().map(Name::parse).transpose()?;
    let store = ctx.access.store()?;
    if ctx.access.store_is_home() && ctx.access.repo()?.is_shallow() {
        ctx.out.warn("this is a shallow clone; releases whose commits are missing cannot be verified (run 'git fetch --unshallow --tags')");
    }
    let report = if args.signatures {
        if !ctx.access.store_is_home() {
            return Err(Error::usage(format!(
                "{} keeps no signatures: release tags in a git repository carry them",
                store.describe()
            ))
            .with_hint(
                "run 'pulse verify --signatures' in the repository the releases were made in",
            ));
        }
        let repo = ctx.access.repo()?;
        crate::repo::sign::verify_releases(store.as_ref(), &repo, only.as_ref(), 4)?
    } else {
        store.verify(only.as_ref())?
    };
    if let Some(n) = &only
        && report.checked == 0
    {
        return Err(store.explain_missing(Error::not_found(format!(
            "prompt '{n}' has no releases in {}",
            store.describe()
        ))));
    }
    ctx.out.emit(out, &report)?;
    if report.problems.is_empty() {
        Ok(())
    } else {
        let error = Error::integrity(format!(
            "{} of {} releases in {} failed verification",
            report.problems.len(),
            report.checked,
            store.describe()
        ));
        Err(if args.signatures {
            error.with_hint(
                "a release is signed when it is made ('pulse add --sign', or tag.gpgSign); check that its signer is in gpg.ssh.allowedSignersFile or the gpg keyring ('git tag -v NAME@VERSION' says the same)",
            )
        } else if ctx.access.store_is_home() {
            error.with_hint(
                "a release was changed or made by hand; inspect it with 'git cat-file -p NAME@VERSION'",
            )
        } else {
            error.with_hint(
                "a release's files were changed after it was written; copy it again from where it came from ('pulse sync SRC DST' leaves differing releases alone: remove the damaged one first)",
            )
        })
    }
}
