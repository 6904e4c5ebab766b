//! `pulse label set|rm|list|history`: movable pointers to releases.

use std::io::Write;

use crate::cli::{Ctx, Format, out_err, write_json};
use crate::error::{Error, Result};
use crate::name::{Label, Name};
use crate::version::Version;

/// Labels point a name such as 'production' at one release of a prompt. They live on the
/// branch (prompts/NAME.yaml), so every move is a commit: reviewable, and with a history.
#[derive(Debug, clap::Subcommand)]
pub enum LabelCommand {
    /// Point LABEL of NAME at VERSION (which must be released).
    Set {
        /// The prompt.
        name: String,
        /// The label, e.g. production.
        label: String,
        /// The released version it points to.
        #[arg(id = "target", value_name = "VERSION")]
        version: String,
    },
    /// Remove LABEL from NAME.
    Rm {
        /// The prompt.
        name: String,
        /// The label.
        label: String,
    },
    /// List labels (of NAME, or of every prompt on the branch).
    List {
        /// The prompt.
        name: Option<String>,
    },
    /// Show every move of NAME's labels: who moved which from what to what, and when.
    History {
        /// The prompt.
        name: String,
        /// Only this label.
        label: Option<String>,
    },
}

pub(super) fn run(cmd: LabelCommand, ctx: &mut Ctx, out: &mut dyn Write) -> Result<()> {
    let branch_opt = ctx.branch.clone();
    let format = ctx.format;
    match cmd {
        LabelCommand::Set {
            name,
            label,
            version,
        } => {
            let (name, label) = (Name::parse(&name)?, Label::parse(&label)?);
            let version = Version::parse(&version)?;
            let change =
                ctx.repo()?
                    .set_label(branch_opt.as_deref(), &name, &label, Some(&version))?;
            report(
                out,
                format,
                &name,
                &label,
                change.from.as_ref(),
                change.to.as_ref(),
            )
        }
        LabelCommand::Rm { name, label } => {
            let (name, label) = (Name::parse(&name)?, Label::parse(&label)?);
            let change = ctx
                .repo()?
                .set_label(branch_opt.as_deref(), &name, &label, None)?;
            report(out, format, &name, &label, change.from.as_ref(), None)
        }
        LabelCommand::List { name } => {
            let only = name.as_deref().map(Name::parse).transpose()?;
            let repo = ctx.repo()?;
            let branch = repo.branch(branch_opt.as_deref())?;
            let mut rows = Vec::new();
            let mut add_rows = |n: &Name, sidecar: crate::meta::Sidecar| {
                for (l, v) in sidecar.labels {
                    rows.push(serde_json::json!({"name": n, "label": l, "version": v}));
                }
            };
            match only {
                Some(n) => add_rows(&n, repo.sidecar_at(branch.read_commit(), &n)?),
                None => {
                    for entry in repo.prompts_at(branch.read_commit())? {
                        add_rows(&entry.name, repo.sidecar_of(&entry)?);
                    }
                }
            }
            if format == Format::Json {
                return write_json(out, &rows);
            }
            let mut text = String::new();
            for r in rows {
                text.push_str(&format!(
                    "{}  {}  {}\n",
                    r["name"].as_str().unwrap_or_default(),
                    r["label"].as_str().unwrap_or_default(),
                    r["version"].as_str().unwrap_or_default()
                ));
            }
            out.write_all(text.as_bytes()).map_err(out_err)
        }
        LabelCommand::History { name, label } => {
            let name = Name::parse(&name)?;
            let label = label.as_deref().map(Label::parse).transpose()?;
            let repo = ctx.repo()?;
            let branch = repo.branch(branch_opt.as_deref())?;
            let moves: Vec<_> = repo
                .label_history(&name, &branch)?
                .into_iter()
                .filter(|m| label.as_ref().is_none_or(|l| m.label == l.as_str()))
                .collect();
            if format == Format::Json {
                return write_json(out, &moves);
            }
            let mut text = String::new();
            for m in moves {
                text.push_str(&format!(
                    "{}  {}  {} -> {}  {}  {}\n",
                    m.date,
                    m.label,
                    m.from.as_deref().unwrap_or("(none)"),
                    m.to.as_deref().unwrap_or("(none)"),
                    m.author,
                    m.commit.get(..12).unwrap_or(&m.commit)
                ));
            }
            out.write_all(text.as_bytes()).map_err(out_err)
        }
    }
}

fn report(
    out: &mut dyn Write,
    format: Format,
    name: &Name,
    label: &Label,
    from: Option<&Version>,
    to: Option<&Version>,
) -> Result<()> {
    if format == Format::Json {
        return write_json(
            out,
            &serde_json::json!({"name": name, "label": label.as_str(), "from": from, "to": to}),
        );
    }
    let show = |v: Option<&Version>| v.map_or_else(|| "(none)".to_owned(), Version::to_string);
    writeln!(out, "{name}: {label} {} -> {}", show(from), show(to))
        .map_err(|e| Error::io("cannot write output", e))
}
