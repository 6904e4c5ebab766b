//! `pulse export`: write releases out in the directory layout.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Ctx, Report};
use crate::error::Result;
use crate::fsutil::{Dir, Written};
use crate::layout::{write_labels, write_release_with};
use crate::name::NamePrefix;
use crate::report::{Exported, ReleaseId};
use crate::store::StoreExt;

/// Export releases to a directory in the NAME/VERSION/content.md layout.
///
/// Export every release (or those under PREFIX) to DIR as DIR/NAME/VERSION/content.md +
/// metadata.json, with the labels in DIR/NAME/labels.json. Releases already exported
/// identically are left alone; different content there is a conflict (exit 4). Nothing
/// is written through a symbolic link inside DIR.
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
    let prefix = match &args.prefix {
        Some(p) => NamePrefix::parse(p)?,
        None => NamePrefix::all(),
    };
    let store = ctx.access.store()?;
    let root = Dir::create(&args.dir)?;
    let mut report = Exported {
        dir: args.dir.clone(),
        ..Default::default()
    };
    for name in store.list(&prefix)? {
        for version in store.versions(&name)? {
            let meta = store.metadata(&name, &version)?;
            // Streamed into the temporary file and checked on the way: a release is put
            // in place only once its checksum matched.
            let written = write_release_with(&root, &meta, &mut |out| {
                store.fetch_into(&name, &version, out).map(|_| ())
            })?;
            match written {
                Written::Written => {
                    report.exported += 1;
                    report.releases.push(ReleaseId {
                        name: name.clone(),
                        version,
                    });
                }
                Written::Existed => report.unchanged += 1,
            }
        }
        write_labels(&root, &name, &store.labels(&name)?)?;
    }
    ctx.out.emit(out, &report)
}
