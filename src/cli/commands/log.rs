//! `pulse log`: a prompt's release history as a changelog.

use std::io::Write;

use crate::cli::{Ctx, Format, out_err, write_json};
use crate::error::{Error, Result};
use crate::name::Name;

/// Print a prompt's release history with messages, as a changelog.
///
/// Print the release history of NAME, newest first, with each release's message: a
/// Markdown changelog.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// The prompt's name.
    pub name: String,
}

pub(super) fn run(args: LogArgs, ctx: &mut Ctx, out: &mut dyn Write) -> Result<()> {
    let name = Name::parse(&args.name)?;
    let format = ctx.format;
    let repo = ctx.repo()?;
    let mut releases = repo.releases(&name)?;
    if releases.is_empty() {
        return Err(Error::not_found(format!("prompt '{name}' has no releases")));
    }
    releases.reverse();
    if format == Format::Json {
        let rows: Vec<_> = releases
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.trailers.name,
                    "version": r.trailers.version,
                    "created": r.created(),
                    "author": r.author(),
                    "message": r.message,
                })
            })
            .collect();
        return write_json(out, &rows);
    }
    let mut text = format!("# Changelog of {name}\n");
    for r in &releases {
        let date = r.created();
        text.push_str(&format!(
            "\n## {} — {} ({})\n\n{}\n",
            r.trailers.version,
            date.get(..10).unwrap_or(&date),
            r.tagger.name,
            r.message.trim_end()
        ));
    }
    out.write_all(text.as_bytes()).map_err(out_err)
}
