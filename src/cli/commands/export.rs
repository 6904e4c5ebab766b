//! `pulse export`: write releases out in the directory layout.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Ctx, Format, out_err, write_json};
use crate::error::Result;
use crate::layout::{DirMeta, write_labels, write_release};

/// Export releases to a directory in the NAME/VERSION/content.md layout.
///
/// Export every release (or those whose names start with PREFIX) to DIR as
/// DIR/NAME/VERSION/content.md + metadata.json, with the branch's labels in
/// DIR/NAME/labels.json. Releases already exported identically are left alone.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The directory to write to (created if missing).
    pub dir: PathBuf,
    /// Only prompts whose names start with this.
    #[arg(long)]
    pub prefix: Option<String>,
}

pub(super) fn run(args: ExportArgs, ctx: &mut Ctx, out: &mut dyn Write) -> Result<()> {
    let branch_opt = ctx.branch.clone();
    let format = ctx.format;
    let repo = ctx.repo()?;
    let branch = repo.branch(branch_opt.as_deref())?;
    let (mut written, mut total) = (0, 0);
    for (name, refs) in repo.all_release_refs()? {
        if args
            .prefix
            .as_deref()
            .is_some_and(|p| !name.matches_prefix(p))
        {
            continue;
        }
        for (version, tag) in refs {
            let release = repo.read_release(&name, &version, tag)?;
            let content = repo.release_content(&release)?;
            let meta = repo.version_meta(&release, &Default::default())?;
            let dir_meta = DirMeta {
                name: name.to_string(),
                version: version.to_string(),
                created_at: meta.created.clone(),
                updated_at: meta.created,
                size: meta.size,
                checksum: meta.sha256,
                tags: meta.tags,
                description: meta.description,
                author: Some(meta.author),
                message: Some(meta.message),
            };
            total += 1;
            if write_release(&args.dir, &dir_meta, &name, &version, &content)? {
                written += 1;
            }
        }
        write_labels(
            &args.dir,
            &name,
            &repo.sidecar_at(branch.read_commit(), &name)?.labels,
        )?;
    }
    if format == Format::Json {
        return write_json(
            out,
            &serde_json::json!({"exported": written, "unchanged": total - written}),
        );
    }
    writeln!(
        out,
        "exported {written} releases to {} ({} unchanged)",
        args.dir.display(),
        total - written
    )
    .map_err(out_err)
}
