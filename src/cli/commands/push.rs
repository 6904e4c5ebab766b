//! `pulse push`: send the branch, its labels and new releases to a remote.

use std::io::Write;

use crate::cli::{Ctx, Report};
use crate::error::Result;
use crate::report::{Pushed, ReleaseId};

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

impl Report for Pushed {
    fn text(&self) -> String {
        if !self.branch_updated && self.releases.is_empty() {
            return "Everything up to date\n".to_owned();
        }
        let mut t = format!(
            "{}: {}; {} releases pushed\n",
            self.branch,
            if self.branch_updated {
                "pushed"
            } else {
                "unchanged"
            },
            self.releases.len()
        );
        for r in &self.releases {
            t.push_str(&format!("  {r}\n"));
        }
        t
    }
}

pub(super) fn run(args: PushArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let pushed = crate::remote::push(
        &*ctx.access.repo()?,
        args.remote.as_deref(),
        ctx.access.branch(),
    )?;
    ctx.out.emit(
        out,
        &Pushed {
            branch: pushed.branch,
            branch_updated: pushed.branch_updated,
            releases: pushed
                .tags
                .iter()
                .filter_map(|t| ReleaseId::parse(t))
                .collect(),
        },
    )
}
