//! `pulse import`: bring releases in from the directory layout.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Ctx, Report};
use crate::error::Result;
use crate::report::Imported;

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

impl Report for Imported {
    fn text(&self) -> String {
        format!(
            "imported {} releases ({} already present)\n",
            self.imported, self.already_present
        )
    }
}

pub(super) fn run(args: ImportArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let (releases, labels) = crate::layout::read_dir(&args.dir)?;
    let found = releases.len();
    let imported = ctx
        .access
        .repo()?
        .import(ctx.access.branch(), releases, &labels)?;
    ctx.out.emit(
        out,
        &Imported {
            found,
            imported,
            already_present: found - imported,
        },
    )
}
