//! `pulse push`: send the branch, its labels and new releases to a remote.

use std::io::Write;

use crate::cli::{Ctx, Format, out_err, write_json};
use crate::error::Result;

/// Send the branch, its labels and new releases to a remote.
///
/// Push the branch (with its labels) and every release tag the remote lacks to REMOTE
/// (default: the branch's upstream, or origin), atomically. If the remote's branch has
/// commits this one lacks, the push is refused: run 'pulse pull' first. A release tag that
/// differs between the two sides is a conflict (exit 4).
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The remote.
    pub remote: Option<String>,
}

pub(super) fn run(args: PushArgs, ctx: &mut Ctx, out: &mut dyn Write) -> Result<()> {
    let branch = ctx.branch.clone();
    let pushed = crate::remote::push(ctx.repo()?, args.remote.as_deref(), branch.as_deref())?;
    if ctx.format == Format::Json {
        return write_json(
            out,
            &serde_json::json!({"branch": pushed.branch, "branch_updated": pushed.branch_updated, "releases": pushed.tags}),
        );
    }
    let text = if !pushed.branch_updated && pushed.tags.is_empty() {
        "Everything up to date\n".to_owned()
    } else {
        let mut t = format!(
            "{}: {}; {} releases pushed\n",
            pushed.branch,
            if pushed.branch_updated {
                "pushed"
            } else {
                "unchanged"
            },
            pushed.tags.len()
        );
        for tag in &pushed.tags {
            t.push_str(&format!("  {tag}\n"));
        }
        t
    };
    out.write_all(text.as_bytes()).map_err(out_err)
}
