//! `pulse export`: write releases out in the directory layout.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Ctx, Report};
use crate::error::{Error, Result};
use crate::name::NamePrefix;
use crate::report::Exported;
use crate::sync::{SyncOptions, sync};

/// Export releases to a directory in the NAME/VERSION/content.md layout.
///
/// Export every release (or those under PREFIX) to DIR as DIR/NAME/VERSION/content.md +
/// metadata.json, with the labels in DIR/NAME/labels.json: DIR becomes a directory store,
/// which any web server can serve. The same as 'pulse sync . DIR': releases already
/// exported identically are left alone; different content there is a conflict (exit 4,
/// after the rest is exported). Nothing is written through a symbolic link inside DIR.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The directory to write to (created if missing).
    pub dir: PathBuf,
    /// Only prompts under this prefix (whole segments).
    #[arg(long)]
    pub prefix: Option<String>,
}

impl Report for Exported {
    fn text(&self) -> String {
        format!(
            "exported {} releases to {} ({} unchanged)\n",
            self.exported,
            self.dir.display(),
            self.unchanged
        )
    }
}

pub(super) fn run(args: ExportArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let prefix = args.prefix.as_deref().map(NamePrefix::parse).transpose()?;
    let src = ctx.access.store()?;
    let dst = crate::store::directory(args.dir.clone(), &ctx.access.open_options()?)?;
    let synced = sync(
        src.as_ref(),
        dst.as_ref(),
        &SyncOptions {
            prefix,
            ..Default::default()
        },
    )?;
    ctx.out.emit(
        out,
        &Exported {
            dir: args.dir,
            exported: synced.copied.len(),
            unchanged: synced.unchanged,
            releases: synced.copied,
        },
    )?;
    match synced.conflicts.first() {
        None => Ok(()),
        Some(c) => Err(Error::conflict(format!(
            "{} releases in {} differ from what is exported ('{}@{}': {})",
            synced.conflicts.len(),
            synced.destination,
            c.name,
            c.version,
            c.problem
        ))
        .with_hint("export into an empty directory, or remove that release's directory")),
    }
}
