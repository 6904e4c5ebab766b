//! `pulse list`: the prompts on the branch.

use std::io::Write;

use crate::cli::{Ctx, Format, out_err, write_json};
use crate::error::Result;
use crate::version::latest;

/// List the prompts on the branch with their latest release, labels and description.
///
/// List the prompts on the branch (files under prompts/): name, latest release, labels
/// and description. PREFIX keeps names that start with it; --tags keeps prompts that
/// have every keyword given.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only names starting with this.
    pub prefix: Option<String>,
    /// Only prompts with all of these comma-separated keywords.
    #[arg(long, value_delimiter = ',')]
    pub tags: Vec<String>,
}

#[derive(serde::Serialize)]
struct Row {
    name: String,
    latest: Option<String>,
    labels: std::collections::BTreeMap<String, String>,
    description: Option<String>,
    tags: Vec<String>,
}

pub(super) fn run(args: ListArgs, ctx: &mut Ctx, out: &mut dyn Write) -> Result<()> {
    let branch_opt = ctx.branch.clone();
    let format = ctx.format;
    let repo = ctx.repo()?;
    let branch = repo.branch(branch_opt.as_deref())?;
    let commit = branch.read_commit();
    let prompts = repo.prompts_at(commit)?;
    let names: Vec<&crate::Name> = prompts.iter().map(|p| &p.name).collect();
    let mut releases = repo.versions_of(&names)?;
    let mut rows = Vec::new();
    for entry in &prompts {
        let name = &entry.name;
        if args
            .prefix
            .as_deref()
            .is_some_and(|p| !name.matches_prefix(p))
        {
            continue;
        }
        let sidecar = repo.sidecar_of(entry)?;
        if !args.tags.iter().all(|t| sidecar.tags.contains(t)) {
            continue;
        }
        let versions = releases.remove(name).unwrap_or_default();
        rows.push(Row {
            latest: latest(&versions).map(|v| v.to_string()),
            name: name.to_string(),
            labels: sidecar.labels,
            description: sidecar.description,
            tags: sidecar.tags,
        });
    }
    if format == Format::Json {
        return write_json(out, &rows);
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let vwidth = rows
        .iter()
        .map(|r| r.latest.as_deref().map_or(1, str::len))
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
    for r in &rows {
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
                r.name,
                r.latest.as_deref().unwrap_or("-"),
                tail
            )
            .trim_end(),
        );
        text.push('\n');
    }
    out.write_all(text.as_bytes()).map_err(out_err)
}
