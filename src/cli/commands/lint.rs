//! `pulse lint`: check the content of prompts for hidden characters, secrets and template
//! variables.

use std::io::Write;

use crate::cli::{Ctx, Report};
use crate::error::{Error, Hint, Result};
use crate::lint::{LintReport, lint, sarif_log};
use crate::name::Name;
use crate::repo::paths::content_path;

/// Check prompts for hidden characters, likely secrets and template variables (exit 1 on a finding).
///
/// Check the working content of every prompt on the branch (or NAME's) for bidirectional
/// control characters (Trojan Source), invisible characters (zero-width, tag characters),
/// likely secrets (provider API keys, private keys, high-entropy tokens) and, in prompts
/// whose frontmatter declares variables, variables used but not declared (an error) or
/// declared but never used (a warning). Prints
/// path:line:column: rule: message for each finding, never the secret itself. A line is
/// allowed on purpose with a comment on it or on the line before, e.g.
/// <!-- pulse-lint: allow secret -->. --format sarif writes a SARIF 2.1.0 log for code
/// scanning. Exits 1 if anything is found, 3 if NAME is not a prompt on the branch.
#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Only this prompt.
    pub name: Option<String>,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Report for LintReport {
    fn text(&self) -> String {
        let mut text = String::new();
        for f in &self.findings {
            text.push_str(&format!(
                "{}:{}:{}: {}: {}\n",
                f.path, f.line, f.column, f.rule, f.message
            ));
        }
        let checked = plural(self.prompts, "prompt", "prompts");
        if self.findings.is_empty() {
            text.push_str(&format!("{checked} checked, no findings\n"));
        } else {
            text.push_str(&format!(
                "{checked} checked, {} ({})\n",
                plural(self.findings.len(), "finding", "findings"),
                plural(self.errors, "error", "errors")
            ));
        }
        text
    }

    fn sarif(&self) -> Option<serde_json::Value> {
        Some(sarif_log(&self.findings, env!("CARGO_PKG_VERSION")))
    }
}

pub(super) fn run(args: LintArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let only = args.name.as_deref().map(Name::parse).transpose()?;
    let repo = ctx.access.repo()?;
    let branch = repo.branch(ctx.access.branch())?;
    let mut entries = repo.prompts_at(branch.read_commit())?;
    if let Some(name) = &only {
        entries.retain(|e| e.name == *name);
        if entries.is_empty() {
            return Err(Error::not_found(format!(
                "prompt '{name}' has no working content on branch '{}'",
                branch.short_name()
            ))
            .with_hint(Hint::ListPrompts));
        }
    }
    let mut findings = Vec::new();
    for entry in &entries {
        let bytes = repo.read_blob(entry.content)?;
        findings.extend(lint(&content_path(&entry.name), &bytes));
    }
    let report = LintReport::new(branch.short_name(), entries.len(), findings);
    ctx.out.emit(out, &report)?;
    if report.errors == 0 {
        Ok(())
    } else {
        Err(Error::other(format!(
            "{} in the prompts on '{}'",
            plural(report.errors, "lint error", "lint errors"),
            report.checked
        ))
        .with_hint("fix them, or allow a line on purpose with a comment on it or the line before: 'pulse-lint: allow RULE'"))
    }
}
