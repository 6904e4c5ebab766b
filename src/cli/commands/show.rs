//! `pulse show`: the metadata of one release.

use std::io::Write;

use crate::cli::{Ctx, Format, out_err, parse_spec, write_json};
use crate::error::Result;

/// Show the metadata of one release.
///
/// Show the metadata of NAME@SELECTOR (default: latest): version, date, author, size,
/// checksum, message, description, keywords, commit, path and labels.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// NAME or NAME@SELECTOR.
    pub spec: String,
    /// The selector, as a flag.
    #[arg(long = "version", id = "selector", value_name = "SELECTOR")]
    pub version: Option<String>,
}

pub(super) fn run(args: ShowArgs, ctx: &mut Ctx, out: &mut dyn Write) -> Result<()> {
    let (name, selector) = parse_spec(&args.spec, args.version.as_deref())?;
    let branch_opt = ctx.branch.clone();
    let format = ctx.format;
    let repo = ctx.repo()?;
    let release = repo.resolve(&name, &selector, branch_opt.as_deref())?;
    let branch = repo.branch(branch_opt.as_deref())?;
    let labels = repo.sidecar_at(branch.read_commit(), &name)?;
    let meta = repo.version_meta(&release, &labels)?;
    if format == Format::Json {
        return write_json(out, &meta);
    }
    let mut text = format!(
        "name:        {}\nversion:     {}\ncreated:     {}\nauthor:      {}\nsize:        {} bytes\nsha256:      {}\ncommit:      {}\npath:        {}\n",
        meta.name,
        meta.version,
        meta.created,
        meta.author,
        meta.size,
        meta.sha256,
        meta.commit,
        meta.path
    );
    if let Some(d) = &meta.description {
        text.push_str(&format!("description: {d}\n"));
    }
    if !meta.tags.is_empty() {
        text.push_str(&format!("tags:        {}\n", meta.tags.join(", ")));
    }
    if !meta.labels.is_empty() {
        text.push_str(&format!("labels:      {}\n", meta.labels.join(", ")));
    }
    text.push_str(&format!(
        "message:\n    {}\n",
        meta.message.replace('\n', "\n    ")
    ));
    out.write_all(text.as_bytes()).map_err(out_err)
}
