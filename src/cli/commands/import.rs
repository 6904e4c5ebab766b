//! `pulse import`: bring releases in from the directory layout.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Ctx, Report};
use crate::error::{Error, Result};
use crate::report::Imported;
use crate::sync::{SyncOptions, sync};

/// Import releases from a directory in the NAME/VERSION/content.md layout.
///
/// Import every release under DIR (DIR/NAME/VERSION/content.md with metadata.json, and
/// DIR/NAME/labels.json) into the repository: the same as 'pulse sync DIR .'. A
/// metadata.json may lack any field, but what it has must agree with the content.
/// Releases already present with identical content are skipped; one with different
/// content is a conflict (exit 4, after the rest is imported). Symbolic links, FIFOs and
/// other non-regular files are refused. Tags go straight into packed-refs, so thousands
/// of releases stay fast to list.
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
    match std::fs::symlink_metadata(&args.dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::usage(format!(
                "'{}' is not a directory",
                args.dir.display()
            )));
        }
        Err(e) => {
            return Err(Error::io(
                format!("cannot read '{}'", args.dir.display()),
                e,
            ));
        }
    }
    let src = crate::store::directory(args.dir.clone(), &ctx.access.open_options()?)?;
    let dst = ctx.access.home_store()?;
    let synced = sync(src.as_ref(), dst.as_ref(), &SyncOptions::default())?;
    let imported = synced.copied.len();
    ctx.out.emit(
        out,
        &Imported {
            found: imported + synced.unchanged + synced.conflicts.len(),
            imported,
            already_present: synced.unchanged,
        },
    )?;
    match synced.conflicts.first() {
        None => Ok(()),
        Some(c) => Err(Error::conflict(format!(
            "{} releases in '{}' differ from the repository's ('{}@{}': {})",
            synced.conflicts.len(),
            args.dir.display(),
            c.name,
            c.version,
            c.problem
        ))
        .with_hint("release changed content as a new version; the other releases were imported")),
    }
}
