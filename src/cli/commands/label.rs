//! `pulse label set|rm|list|history`: movable pointers to releases.

use std::io::Write;

use crate::cli::{Ctx, Report};
use crate::error::{Error, Result};
use crate::meta::LabelMove;
use crate::name::{Label, Name, NamePrefix};
use crate::report::{LabelEntry, LabelMoved};
use crate::store::Expect;
use crate::version::Version;

/// Labels point a name such as 'production' at one release of a prompt. In a repository
/// they live on the branch (prompts/NAME.yaml), so every move is a commit: reviewable,
/// and with a history.
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
    /// List labels (of NAME, or of every prompt).
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

impl Report for LabelMoved {
    fn text(&self) -> String {
        let show = |v: &Option<Version>| {
            v.as_ref()
                .map_or_else(|| "(none)".to_owned(), Version::to_string)
        };
        format!(
            "{}: {} {} -> {}\n",
            self.name,
            self.label,
            show(&self.from),
            show(&self.to)
        )
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct LabelList(Vec<LabelEntry>);

impl Report for LabelList {
    fn text(&self) -> String {
        self.0
            .iter()
            .map(|e| format!("{}  {}  {}\n", e.name, e.label, e.version))
            .collect()
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct History(Vec<LabelMove>);

impl Report for History {
    fn text(&self) -> String {
        self.0
            .iter()
            .map(|m| {
                let commit = m.commit.as_deref().unwrap_or("");
                format!(
                    "{}  {}  {} -> {}  {}  {}\n",
                    m.date,
                    m.label,
                    m.from.as_deref().unwrap_or("(none)"),
                    m.to.as_deref().unwrap_or("(none)"),
                    m.author,
                    commit.get(..12).unwrap_or(commit)
                )
                .replace("  \n", "\n")
            })
            .collect()
    }
}

/// Point `label` of `name` at `version`, or remove it (`None`), and report the move.
fn move_label(
    ctx: &Ctx,
    out: &mut dyn Write,
    name: &str,
    label: &str,
    version: Option<&str>,
) -> Result<()> {
    let (name, label) = (Name::parse(name)?, Label::parse(label)?);
    let to = version.map(Version::parse).transpose()?;
    let from = ctx
        .access
        .store()?
        .set_label(&name, &label, &Expect::Any, to.as_ref())?;
    ctx.out.emit(
        out,
        &LabelMoved {
            name,
            label,
            from,
            to,
        },
    )
}

pub(super) fn run(cmd: LabelCommand, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    match cmd {
        LabelCommand::Set {
            name,
            label,
            version,
        } => move_label(ctx, out, &name, &label, Some(&version)),
        LabelCommand::Rm { name, label } => move_label(ctx, out, &name, &label, None),
        LabelCommand::List { name } => {
            let only = name.as_deref().map(Name::parse).transpose()?;
            let store = ctx.access.store()?;
            let labelled = match only {
                Some(n) => vec![(n.clone(), store.labels(&n)?)],
                None => store
                    .summaries(&NamePrefix::all())?
                    .into_iter()
                    .map(|s| (s.name, s.labels))
                    .collect(),
            };
            let rows = labelled
                .into_iter()
                .flat_map(|(name, labels)| {
                    labels.into_iter().map(move |(label, version)| LabelEntry {
                        name: name.clone(),
                        label,
                        version,
                    })
                })
                .collect();
            ctx.out.emit(out, &LabelList(rows))
        }
        LabelCommand::History { name, label } => {
            let name = Name::parse(&name)?;
            let label = label.as_deref().map(Label::parse).transpose()?;
            let store = ctx.access.store()?;
            let moves = store.label_history(&name)?.ok_or_else(|| {
                Error::usage(format!(
                    "{} keeps no history of label moves",
                    store.describe()
                ))
            })?;
            let moves = moves
                .into_iter()
                .filter(|m| label.as_ref().is_none_or(|l| m.label == l.as_str()))
                .collect();
            ctx.out.emit(out, &History(moves))
        }
    }
}
