//! `pulse list`: the prompts, with their latest release, labels and description.

use std::io::Write;

use crate::cli::{Ctx, Report};
use crate::error::Result;
use crate::name::NamePrefix;
use crate::store::PromptSummary;

/// List the prompts with their latest release, labels and description.
///
/// List the prompts (in a repository: the files under prompts/ on the branch): name,
/// latest release, labels and description. PREFIX keeps the names under it, whole
/// segments only ('team' and 'team/' keep team/a, never teammate/a); --tags keeps
/// prompts that have every keyword given.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only names under this prefix (whole segments).
    pub prefix: Option<String>,
    /// Only prompts with all of these comma-separated keywords.
    #[arg(long, value_delimiter = ',')]
    pub tags: Vec<String>,
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct Listing(Vec<PromptSummary>);

impl Report for Listing {
    fn text(&self) -> String {
        let rows = &self.0;
        let width = rows
            .iter()
            .map(|r| r.name.as_str().len())
            .max()
            .unwrap_or(4)
            .max(4);
        let latest = |r: &PromptSummary| r.latest.as_ref().map(|v| v.to_string());
        let vwidth = rows
            .iter()
            .map(|r| latest(r).map_or(1, |v| v.len()))
            .max()
            .unwrap_or(6)
            .max(6);
        let mut text = String::new();
        if !rows.is_empty() {
            text.push_str(&format!(
                "{:width$}  {:vwidth$}  {}\n",
                "NAME", "LATEST", "LABELS / DESCRIPTION"
            ));
        }
        for r in rows {
            let labels: Vec<String> = r.labels.iter().map(|(l, v)| format!("{l}={v}")).collect();
            let mut tail = labels.join(" ");
            if let Some(d) = &r.description {
                if !tail.is_empty() {
                    tail.push_str("  ");
                }
                tail.push_str(d.lines().next().unwrap_or_default());
            }
            text.push_str(
                format!(
                    "{:width$}  {:vwidth$}  {}",
                    r.name.as_str(),
                    latest(r).as_deref().unwrap_or("-"),
                    tail
                )
                .trim_end(),
            );
            text.push('\n');
        }
        text
    }
}

pub(super) fn run(args: ListArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let prefix = match &args.prefix {
        Some(p) => NamePrefix::parse(p)?,
        None => NamePrefix::all(),
    };
    let store = ctx.access.store()?;
    let rows: Vec<PromptSummary> = store
        .summaries(&prefix)?
        .into_iter()
        .filter(|s| args.tags.iter().all(|t| s.tags.contains(t)))
        .collect();
    ctx.out.emit(out, &Listing(rows))
}
