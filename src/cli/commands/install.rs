//! `pulse install`: install the prompts `pulse.yaml` uses, as `pulse.lock` records them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{Ctx, Report};
use crate::consumer::{FileAction, InstallOptions, Installed, Mode, Project};
use crate::error::Result;
use crate::store::Store;

/// Install the prompts pulse.yaml uses, and record them in pulse.lock.
///
/// Reads pulse.yaml (in the current directory or the nearest one above it), resolves each
/// prompt's selector in its store (through the cache: --offline works from it), and writes
/// each release to the paths the manifest names, then pulse.lock: name, selector, resolved
/// version, SHA-256 and store of each prompt. A prompt the lock already has, with the same
/// selector and store, is installed at the locked version ('pulse update' resolves it
/// again). Everything is fetched and checked before anything is written. A file that
/// pulse did not install, or that was edited since, is never overwritten: exit 4, naming
/// it (--force replaces it and keeps it beside as FILE.orig). A file no prompt installs
/// any more is removed if it still holds what was installed, and left alone if edited.
/// With --locked, installs exactly what pulse.lock says and fails (exit 4) if pulse.yaml
/// asks for anything else: the mode for CI.
#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// Install exactly what pulse.lock records; exit 4 if pulse.yaml and the lock disagree.
    #[arg(long)]
    pub locked: bool,
    #[command(flatten)]
    pub how: InstallFlags,
}

/// What `install` and `update` share: how files in the way are treated, whether anything
/// is written, and which project.
#[derive(Debug, clap::Args)]
pub struct InstallFlags {
    /// Replace files in the way (edited since installed, or not installed by pulse),
    /// keeping each as FILE.orig.
    #[arg(long)]
    pub force: bool,
    /// Say what would be done, and write nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// The pulse.yaml to use (or its directory), instead of the nearest one.
    #[arg(long, value_name = "PATH")]
    pub manifest: Option<PathBuf>,
}

impl Report for Installed {
    fn text(&self) -> String {
        let mut text = String::new();
        let width = self
            .files
            .iter()
            .map(|f| f.path.as_str().len())
            .max()
            .unwrap_or(0);
        for f in &self.files {
            let prompt = self.prompts.iter().find(|p| p.name == f.name);
            let what = match (f.action, prompt) {
                (FileAction::Removed, _) => format!("{} (no longer installed)", f.name),
                (FileAction::Kept, _) => format!(
                    "{} (no longer installed, but edited: left as it is)",
                    f.name
                ),
                (_, Some(p)) => {
                    let was = p
                        .previous
                        .as_ref()
                        .map(|v| format!(", was {v}"))
                        .unwrap_or_default();
                    format!("{}@{} ({}{was})", p.name, p.version, p.selector)
                }
                (_, None) => f.name.to_string(),
            };
            let backup = f
                .backup
                .as_ref()
                .map(|b| format!(", kept the old file as {b}"))
                .unwrap_or_default();
            let action = match (f.action, self.dry_run) {
                (FileAction::Created, false) => "created",
                (FileAction::Created, true) => "would create",
                (FileAction::Updated, false) => "updated",
                (FileAction::Updated, true) => "would update",
                (FileAction::Unchanged, _) => "unchanged",
                (FileAction::Replaced, false) => "replaced",
                (FileAction::Replaced, true) => "would replace",
                (FileAction::Removed, false) => "removed",
                (FileAction::Removed, true) => "would remove",
                (FileAction::Kept, _) => "kept",
            };
            text.push_str(&format!(
                "{action:<13} {:<width$}  {what}{backup}\n",
                f.path.as_str()
            ));
        }
        let written = self
            .files
            .iter()
            .filter(|f| !matches!(f.action, FileAction::Unchanged | FileAction::Kept))
            .count();
        let lock = match (self.lock_changed, self.dry_run) {
            (true, false) => "pulse.lock written",
            (true, true) => "pulse.lock would change",
            (false, _) => "pulse.lock unchanged",
        };
        text.push_str(&format!(
            "{} prompts, {written} files {}, {lock}\n",
            self.prompts.len(),
            if self.dry_run { "to write" } else { "written" }
        ));
        text
    }
}

/// The project a command works on: the one `--manifest` names, else the nearest.
pub(super) fn project(manifest: Option<&Path>) -> Result<Project> {
    let root = match manifest {
        Some(p) if p.is_dir() => p.to_path_buf(),
        Some(p) => {
            if p.file_name()
                .is_none_or(|n| n != crate::consumer::MANIFEST_FILE)
            {
                return Err(crate::error::Error::usage(format!(
                    "--manifest '{}' is neither a directory nor a file named {}",
                    p.display(),
                    crate::consumer::MANIFEST_FILE
                )));
            }
            p.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        }
        None => {
            let cwd = std::env::current_dir()
                .map_err(|e| crate::error::Error::io("cannot read the current directory", e))?;
            Project::find(&cwd)?
        }
    };
    Project::load(&root)
}

/// Opens stores as every command does: the configuration's settings and the cache.
pub(super) fn opener(ctx: &Ctx) -> Result<impl Fn(&str) -> Result<Arc<dyn Store>>> {
    let options = ctx.access.open_options()?;
    Ok(move |address: &str| crate::store::open(address, &options))
}

/// Install (or update) in `mode` and print what was done; warnings of the manifest first.
pub(super) fn install_with(
    ctx: &Ctx,
    out: &mut dyn Write,
    how: &InstallFlags,
    mode: Mode,
) -> Result<()> {
    let project = project(how.manifest.as_deref())?;
    for w in &project.manifest.warnings {
        ctx.out.warn(w);
    }
    let open = opener(ctx)?;
    let options = InstallOptions {
        mode,
        force: how.force,
        dry_run: how.dry_run,
    };
    let report = crate::consumer::install(&project, &open, &options)?;
    ctx.out.emit(out, &report)
}

pub(super) fn run(args: InstallArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let mode = if args.locked {
        Mode::Locked
    } else {
        Mode::Install
    };
    install_with(ctx, out, &args.how, mode)
}
