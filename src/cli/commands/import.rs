//! `pulse import`: bring releases in from the directory layout.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Ctx, Format, out_err, write_json};
use crate::error::Result;

/// Import releases from a directory in the NAME/VERSION/content.md layout.
///
/// Import every release under DIR (DIR/NAME/VERSION/content.md with metadata.json, and
/// DIR/NAME/labels.json). Releases already present with identical content are skipped;
/// one with different content stops the import before anything is written (exit 4).
/// Tags go straight into packed-refs, so thousands of releases stay fast to list.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The directory to import from.
    pub dir: PathBuf,
}

pub(super) fn run(args: ImportArgs, ctx: &mut Ctx, out: &mut dyn Write) -> Result<()> {
    let (releases, labels) = crate::layout::read_dir(&args.dir)?;
    let total = releases.len();
    let branch = ctx.branch.clone();
    let created = ctx.repo()?.import(branch.as_deref(), releases, &labels)?;
    if ctx.format == Format::Json {
        return write_json(
            out,
            &serde_json::json!({"found": total, "imported": created, "already_present": total - created}),
        );
    }
    writeln!(
        out,
        "imported {created} releases ({} already present)",
        total - created
    )
    .map_err(out_err)
}
