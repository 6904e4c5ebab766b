//! `pulse status`: installed prompts against pulse.lock and pulse.yaml.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Ctx, Report};
use crate::consumer::{FileState, PromptState, Status};
use crate::error::{Error, Result};

/// Show drift: installed files edited or missing, and pulse.yaml not as locked.
///
/// Compares every file pulse.lock records with the bytes it locked (by SHA-256), and
/// pulse.lock with pulse.yaml. Reads no store, so it is quick and works offline. Exits 1
/// when anything drifted (for CI), 0 when all is as locked.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The pulse.yaml to use (or its directory), instead of the nearest one.
    #[arg(long, value_name = "PATH")]
    pub manifest: Option<PathBuf>,
}

impl Report for Status {
    fn text(&self) -> String {
        let mut text = String::new();
        for p in &self.prompts {
            let at = p
                .version
                .as_ref()
                .map(|v| format!("{}@{v}", p.name))
                .unwrap_or_else(|| p.name.to_string());
            let state = match p.state {
                PromptState::Locked => "locked",
                PromptState::NotLocked => {
                    "not installed: pulse.yaml uses it, pulse.lock does not have it"
                }
                PromptState::ManifestChanged => {
                    "not as locked: pulse.yaml asks for another selector, store or paths"
                }
                PromptState::NotInManifest => "locked, but pulse.yaml no longer uses it",
            };
            text.push_str(&format!("{at}  {state}\n"));
            for f in &p.files {
                let state = match f.state {
                    FileState::Ok => "ok",
                    FileState::Edited => "edited",
                    FileState::Missing => "missing",
                };
                text.push_str(&format!("  {state:<8} {}\n", f.path));
            }
        }
        if self.drifted {
            text.push_str("drifted: run 'pulse install' to bring the files back to pulse.lock\n");
        } else {
            text.push_str(&format!(
                "{} prompts, every file as locked\n",
                self.prompts.len()
            ));
        }
        text
    }
}

pub(super) fn run(args: StatusArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let project = super::install::project(args.manifest.as_deref())?;
    for w in &project.manifest.warnings {
        ctx.out.warn(w);
    }
    let report = crate::consumer::status(&project)?;
    ctx.out.emit(out, &report)?;
    if report.drifted {
        return Err(Error::other(format!(
            "'{}' has drifted from pulse.lock",
            report.project
        ))
        .with_hint("'pulse install' restores missing files and installs what pulse.yaml asks for; edited files need --force"));
    }
    Ok(())
}
