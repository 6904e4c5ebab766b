//! `pulse check`: the pull-request gate for CI.

use std::io::Write;

use crate::cli::{Ctx, Report};
use crate::error::{Error, Result};
use crate::lint::{Finding, Rule, redact_secrets, sarif_log};
use crate::repo::CheckReport;

/// The pull-request gate: check every rule and summarise changes as Markdown.
///
/// The pull-request gate for CI. Checks the branch: the format file, every name and path
/// under prompts/, every metadata file and label, and every release (annotated tag with
/// trailers, a commit that holds the prompt, a matching checksum). With --base, prints a
/// Markdown review summary of the prompts changed since BASE: the content diff, whether
/// a release is still pending, and whether the change to its template variables breaks
/// renders of the latest release (so the next release must be a major version; reported,
/// not failed). Every prompt's content is linted as 'pulse lint' does (hidden characters,
/// likely secrets, template variables). Exits 5 if any rule is broken or a lint error is
/// found. --format sarif writes the findings as a SARIF 2.1.0 log for code scanning. In CI,
/// fetch the full history and the tags (a shallow checkout lacks them).
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Compare with this revision (e.g. origin/main) and summarise the changes.
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
}

/// `text` with the characters Markdown would act on escaped, so that a message (which may
/// quote text hidden in a prompt) reads as plain text in a review summary.
fn md_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '!' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The rule SARIF names the repository's other rules by (names, metadata, labels, releases).
const REPOSITORY_RULE: &str = "repository-rule";

impl CheckReport {
    fn lint_errors(&self) -> impl Iterator<Item = &Finding> {
        self.lint.iter().filter(|f| f.is_error())
    }

    fn problems(&self) -> usize {
        self.violations.len() + self.lint_errors().count()
    }
}

impl Report for CheckReport {
    fn sarif(&self) -> Option<serde_json::Value> {
        let mut log = sarif_log(&self.lint, env!("CARGO_PKG_VERSION"));
        let run = &mut log["runs"][0];
        if let Some(rules) = run["tool"]["driver"]["rules"].as_array_mut() {
            rules.push(serde_json::json!({
                "id": REPOSITORY_RULE,
                "name": REPOSITORY_RULE,
                "shortDescription": { "text": "A rule of the prompt repository is broken: a file name, a metadata file, a label or a release" },
                "defaultConfiguration": { "level": "error" },
            }));
        }
        let index = Rule::ALL.len();
        if let Some(results) = run["results"].as_array_mut() {
            for v in &self.violations {
                let mut result = serde_json::json!({
                    "ruleId": REPOSITORY_RULE,
                    "ruleIndex": index,
                    "level": "error",
                    "message": { "text": v },
                });
                // A violation that starts with a file's path is located in that file.
                if let Some((path, _)) = v.split_once(": ")
                    && !path.contains(' ')
                    && path.contains('/')
                {
                    result["locations"] = serde_json::json!([{ "physicalLocation": {
                        "artifactLocation": { "uri": path },
                        "region": { "startLine": 1 },
                    } }]);
                }
                results.push(result);
            }
        }
        Some(log)
    }

    fn text(&self) -> String {
        let mut md = format!("## pulse check: {}\n\n", self.checked);
        if self.problems() == 0 {
            md.push_str(&format!(
                "All rules hold ({} releases verified).\n",
                self.releases_checked
            ));
        } else {
            md.push_str(&format!("**{} problem(s):**\n\n", self.problems()));
            for v in &self.violations {
                md.push_str(&format!("- {v}\n"));
            }
            for f in self.lint_errors() {
                md.push_str(&format!(
                    "- `{}:{}:{}` {}: {}\n",
                    f.path,
                    f.line,
                    f.column,
                    f.rule,
                    md_escape(&f.message)
                ));
            }
        }
        if let Some(base) = &self.base {
            md.push_str(&format!("\n### Prompts changed since `{base}`\n"));
            if self.changes.is_empty() {
                md.push_str("\nNo prompt changed.\n");
            }
            for c in &self.changes {
                let status = match (&c.matches_release, &c.latest_release, c.release_pending) {
                    (None, _, true) if !c.breaking.is_empty() => {
                        let list: Vec<String> = c
                            .breaking
                            .iter()
                            .map(|b| md_escape(&b.to_string()))
                            .collect();
                        format!(
                            "**release pending, breaking** (since {}): {} — the next release must be a major version: after merging, `pulse release {} --bump major`",
                            c.breaking_since.as_deref().unwrap_or("the latest release"),
                            list.join("; "),
                            c.name
                        )
                    }
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
                    &redact_secrets(c.before.as_deref().unwrap_or_default()),
                    &format!("{} ({})", c.name, self.checked),
                    &redact_secrets(c.after.as_deref().unwrap_or_default()),
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
    if report.problems() == 0 {
        Ok(())
    } else {
        Err(Error::integrity(format!(
            "{} rule(s) broken on '{}'",
            report.problems(),
            report.checked
        ))
        .with_hint("see the list above; 'pulse verify' details release problems, 'pulse lint' the content checks"))
    }
}
