//! `pulse outdated`: locked versions against what the stores have now, for one consumer
//! repository or a fleet of them.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::cli::{Ctx, Report};
use crate::consumer::{Outdated, Project};
use crate::error::{Error, Result};

/// Show, per prompt, the locked version, the newest the selector takes, the newest
/// overall, and where its labels point; for one repository or many.
///
/// With no PATH, the repository of the nearest pulse.yaml. Each PATH is a consumer
/// repository (a directory with pulse.yaml) or a directory to search for them (symbolic
/// links are not followed; .git, node_modules and target are passed over): one report of
/// who is behind across a fleet. A store that cannot be reached is reported in its rows.
/// Exits 0; with --exit-code, 1 when any prompt is behind (as 'git diff --exit-code').
#[derive(Debug, clap::Args)]
pub struct OutdatedArgs {
    /// Consumer repositories, or directories to search for them.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Exit 1 when any prompt is behind (for a scheduled CI job).
    #[arg(long)]
    pub exit_code: bool,
}

/// One report for every repository looked at.
#[derive(Debug, Serialize)]
pub struct Fleet {
    /// Each repository, sorted by path.
    pub projects: Vec<Outdated>,
    /// How many prompts, across them all, are behind.
    pub behind: usize,
}

impl Report for Fleet {
    fn text(&self) -> String {
        let mut text = String::new();
        let dash = |v: &Option<crate::version::Version>| {
            v.as_ref()
                .map_or_else(|| "-".to_owned(), ToString::to_string)
        };
        for p in &self.projects {
            text.push_str(&format!("{}\n", p.project));
            let mut rows = vec![[
                "prompt".to_owned(),
                "selector".to_owned(),
                "locked".to_owned(),
                "wanted".to_owned(),
                "latest".to_owned(),
                "labels".to_owned(),
            ]];
            for r in &p.prompts {
                let labels = match &r.error {
                    Some(e) => format!("(cannot tell: {e})"),
                    None => r
                        .labels
                        .iter()
                        .map(|(l, v)| format!("{l}={v}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                };
                let mark = if r.behind { " *" } else { "" };
                rows.push([
                    format!("{}{mark}", r.name),
                    r.selector.clone(),
                    dash(&r.locked),
                    dash(&r.wanted),
                    dash(&r.latest),
                    labels,
                ]);
            }
            let widths: Vec<usize> = (0..6)
                .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
                .collect();
            for r in &rows {
                let mut line = String::from(" ");
                for (i, cell) in r.iter().enumerate() {
                    if i == 5 {
                        line.push_str(&format!(" {cell}"));
                    } else {
                        line.push_str(&format!(" {cell:<w$}", w = widths[i]));
                    }
                }
                text.push_str(line.trim_end());
                text.push('\n');
            }
        }
        text.push_str(&format!(
            "{} behind (marked *) in {} repositories\n",
            self.behind,
            self.projects.len()
        ));
        text
    }
}

pub(super) fn run(args: OutdatedArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let roots = if args.paths.is_empty() {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::io("cannot read the current directory", e))?;
        vec![Project::find(&cwd)?]
    } else {
        let mut roots = Vec::new();
        for p in &args.paths {
            let found = crate::consumer::projects_under(p)?;
            if found.is_empty() {
                return Err(Error::not_found(format!(
                    "no pulse.yaml in '{}' or below it",
                    p.display()
                )));
            }
            roots.extend(found);
        }
        roots.sort();
        roots.dedup();
        roots
    };
    let open = super::install::opener(ctx)?;
    let mut projects = Vec::new();
    for root in roots {
        let project = Project::load(&root)?;
        for w in &project.manifest.warnings {
            ctx.out.warn(w);
        }
        projects.push(crate::consumer::outdated(&project, &open)?);
    }
    let behind = projects
        .iter()
        .flat_map(|p| &p.prompts)
        .filter(|r| r.behind)
        .count();
    let report = Fleet { projects, behind };
    ctx.out.emit(out, &report)?;
    if args.exit_code && behind > 0 {
        return Err(
            Error::other(format!("{behind} prompts are behind their selectors"))
                .with_hint("run 'pulse update' in each repository listed"),
        );
    }
    Ok(())
}
