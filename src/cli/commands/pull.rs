//! `pulse pull`: bring in branches, releases and labels from a remote.

use std::io::Write;

use crate::cli::{Ctx, Format, out_err, write_json};
use crate::error::Result;
use crate::repo::Integration;

/// Bring in branches, releases and labels from a remote (fast-forward or merge).
///
/// Fetch branches, release tags and labels from REMOTE (default: the branch's upstream, or
/// origin) and bring the branch up to date: a fast-forward, or a merge commit in which each
/// file, and each label, merges on its own. A release tag that differs between the two
/// sides is a conflict (exit 4) and nothing changes.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// The remote.
    pub remote: Option<String>,
}

pub(super) fn run(args: PullArgs, ctx: &mut Ctx, out: &mut dyn Write) -> Result<()> {
    let branch = ctx.branch.clone();
    let pulled = crate::remote::pull(ctx.repo()?, args.remote.as_deref(), branch.as_deref())?;
    let what = match &pulled.integration {
        None => "the remote has no such branch",
        Some(Integration::UpToDate) => "already up to date",
        Some(Integration::FastForward) => "fast-forwarded",
        Some(Integration::Merged(_)) => "merged",
    };
    if ctx.format == Format::Json {
        return write_json(
            out,
            &serde_json::json!({"branch": pulled.branch, "result": what, "new_releases": pulled.new_tags}),
        );
    }
    let mut text = format!(
        "{}: {what}; {} new releases\n",
        pulled.branch,
        pulled.new_tags.len()
    );
    for t in &pulled.new_tags {
        text.push_str(&format!("  {t}\n"));
    }
    out.write_all(text.as_bytes()).map_err(out_err)
}
