//! `pulse log`: a prompt's release history as a changelog.

use std::io::Write;

use crate::cli::{Ctx, Report};
use crate::error::Result;
use crate::name::Name;
use crate::report::ReleaseReport;

/// Print a prompt's release history with messages, as a changelog.
///
/// Print the release history of NAME, newest first, with each release's message: a
/// Markdown changelog.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// The prompt's name.
    pub name: String,
}

/// The `log` report: the releases, newest first (in JSON, just the list).
#[derive(serde::Serialize)]
#[serde(transparent)]
struct Changelog {
    #[serde(skip)]
    name: Name,
    releases: Vec<ReleaseReport>,
}

impl Report for Changelog {
    fn text(&self) -> String {
        let mut text = format!("# Changelog of {}\n", self.name);
        for r in &self.releases {
            let date = &r.meta.created;
            let who = r
                .meta
                .author
                .split_once(" <")
                .map_or(r.meta.author.as_str(), |(n, _)| n);
            text.push_str(&format!(
                "\n## {} — {} ({who})\n\n{}\n",
                r.meta.version,
                date.get(..10).unwrap_or(date),
                r.meta.message.trim_end()
            ));
        }
        text
    }
}

pub(super) fn run(args: LogArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let name = Name::parse(&args.name)?;
    let mut releases = super::versions::releases(ctx, &name)?;
    releases.reverse();
    ctx.out.emit(out, &Changelog { name, releases })
}
