//! `pulse verify`: check every release.

use std::io::Write;

use crate::cli::{Ctx, Format, out_err, write_json};
use crate::error::{Error, Result};
use crate::name::Name;

/// Check every release: tag format, target commit, path and checksum (exit 5 on a mismatch).
///
/// Check every release tag (or NAME's): it is an annotated tag named name@version whose
/// trailers match, its commit holds the prompt's path, and the content's size and SHA-256
/// match the tag. Exits 5 if anything does not.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Only this prompt.
    pub name: Option<String>,
}

pub(super) fn run(args: VerifyArgs, ctx: &mut Ctx, out: &mut dyn Write) -> Result<()> {
    let only = args.name.as_deref().map(Name::parse).transpose()?;
    let format = ctx.format;
    let repo = ctx.repo()?;
    if repo.is_shallow() {
        ctx.note("warning: this is a shallow clone; releases whose commits are missing cannot be verified (run 'git fetch --unshallow --tags')");
    }
    let repo = ctx.repo()?;
    let (checked, problems) = repo.verify(only.as_ref())?;
    if let Some(n) = &only
        && checked == 0
    {
        return Err(Error::not_found(format!("prompt '{n}' has no releases")));
    }
    if format == Format::Json {
        write_json(
            out,
            &serde_json::json!({"checked": checked, "problems": problems}),
        )?;
    } else {
        let mut text = String::new();
        for p in &problems {
            text.push_str(&format!("FAIL {}: {}\n", p.tag, p.problem));
        }
        text.push_str(&format!(
            "{} releases checked, {} problems\n",
            checked,
            problems.len()
        ));
        out.write_all(text.as_bytes()).map_err(out_err)?;
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::integrity(format!("{} of {checked} releases failed verification", problems.len()))
            .with_hint("a release tag was changed or made by hand; inspect it with 'git cat-file -p NAME@VERSION'"))
    }
}
