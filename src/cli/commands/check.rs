//! `pulse check`: the pull-request gate for CI.

use std::io::Write;

use crate::cli::{Ctx, Report};
use crate::error::{Error, Result};
use crate::repo::CheckReport;

/// The pull-request gate: check every rule and summarise changes as Markdown.
///
/// The pull-request gate for CI. Checks the branch: the format file, every name and path
/// under prompts/, every metadata file and label, and every release (annotated tag with
/// trailers, a commit that holds the prompt, a matching checksum). With --base, prints a
/// Markdown review summary of the prompts changed since BASE: the content diff and whether
/// a release is still pending. Exits 5 if any rule is broken. In CI, fetch the full history
/// and the tags (a shallow checkout lacks them).
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Compare with this revision (e.g. origin/main) and summarise the changes.
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
}

impl Report for CheckReport {
    fn text(&self) -> String {
        let mut md = format!("## pulse check: {}\n\n", self.checked);
        if self.violations.is_empty() {
            md.push_str(&format!(
                "All rules hold ({} releases verified).\n",
                self.releases_checked
            ));
        } else {
            md.push_str(&format!("**{} problem(s):**\n\n", self.violations.len()));
            for v in &self.violations {
                md.push_str(&format!("- {v}\n"));
            }
        }
        if let Some(base) = &self.base {
            md.push_str(&format!("\n### Prompts changed since `{base}`\n"));
            if self.changes.is_empty() {
                md.push_str("\nNo prompt changed.\n");
            }
            for c in &self.changes {
                let status = match (&c.matches_release, &c.latest_release, c.release_pending) {
                    (_, _, false) if c.change == "deleted" => {
                        "deleted; its releases stay".to_owned()
                    }
                    (Some(v), _, _) => format!("content is release {v}; nothing to release"),
                    (None, Some(l), true) => format!(
                        "**release pending** (latest is {l}): after merging, `pulse release {} --bump patch|minor|major`",
                        c.name
                    ),
                    (None, None, true) => format!(
                        "**release pending** (new prompt): after merging, `pulse release {} --version 1.0.0`",
                        c.name
                    ),
                    _ => String::new(),
                };
                md.push_str(&format!("\n#### `{}` ({})\n\n{status}\n", c.name, c.change));
                let diff = crate::diff::unified(
                    &format!("{} ({base})", c.name),
                    c.before.as_deref().unwrap_or_default(),
                    &format!("{} ({})", c.name, self.checked),
                    c.after.as_deref().unwrap_or_default(),
                );
                if !diff.is_empty() {
                    md.push_str("\n```diff\n");
                    md.push_str(&String::from_utf8_lossy(&diff));
                    md.push_str("```\n");
                }
            }
        }
        md
    }
}

pub(super) fn run(args: CheckArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    if let Some(base) = &args.base {
        crate::remote::check_revision(base)?;
    }
    let repo = ctx.access.repo()?;
    let branch = repo.branch(ctx.access.branch())?;
    let report = repo.check(&branch, args.base.as_deref())?;
    ctx.out.emit(out, &report)?;
    if report.violations.is_empty() {
        Ok(())
    } else {
        Err(Error::integrity(format!(
            "{} rule(s) broken on '{}'",
            report.violations.len(),
            report.checked
        ))
        .with_hint("see the list above; 'pulse verify' details release problems"))
    }
}
