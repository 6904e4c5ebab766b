//! `pulse pull`: bring in branches, releases and labels from a remote.

use std::io::Write;

use crate::cli::{Ctx, Report};
use crate::error::Result;
use crate::repo::Integration;
use crate::report::{Pulled, ReleaseId};

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

impl Report for Pulled {
    fn text(&self) -> String {
        let what = match self.result {
            "no_remote_branch" => "the remote has no such branch",
            "up_to_date" => "already up to date",
            "fast_forward" => "fast-forwarded",
            _ => "merged",
        };
        let mut text = format!(
            "{}: {what}; {} new releases\n",
            self.branch,
            self.releases.len()
        );
        for r in &self.releases {
            text.push_str(&format!("  {r}\n"));
        }
        text
    }
}

pub(super) fn run(args: PullArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let pulled = crate::remote::pull(
        &*ctx.access.repo()?,
        args.remote.as_deref(),
        ctx.access.branch(),
    )?;
    let result = match &pulled.integration {
        None => "no_remote_branch",
        Some(Integration::UpToDate) => "up_to_date",
        Some(Integration::FastForward) => "fast_forward",
        Some(Integration::Merged(_)) => "merged",
    };
    ctx.out.emit(
        out,
        &Pulled {
            branch: pulled.branch,
            result,
            releases: pulled
                .new_tags
                .iter()
                .filter_map(|t| ReleaseId::parse(t))
                .collect(),
        },
    )
}
