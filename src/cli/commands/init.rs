//! `pulse init [PATH]`: make a prompt repository, or adopt an existing git repository.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Ctx, Format, out_err, write_json};
use crate::error::{Error, Result};
use crate::repo::PromptRepo;

/// Make a prompt repository (new, or adopt an existing git repository).
///
/// Make a prompt repository at PATH (default: the current directory). An existing git
/// repository is adopted: pulse records its format version in `.pulse/config.yaml` on the
/// branch in one commit. Running it again changes nothing.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Where to make it.
    pub path: Option<PathBuf>,
    /// Make a bare repository (no worktree), e.g. for a shared remote.
    #[arg(long)]
    pub bare: bool,
}

pub(super) fn run(args: InitArgs, ctx: &mut Ctx, out: &mut dyn Write) -> Result<()> {
    let path = match args.path.or_else(|| ctx.repo_path.clone()) {
        Some(p) => p,
        None => std::env::current_dir()
            .map_err(|e| Error::io("cannot read the current directory", e))?,
    };
    let existing = if path.exists() {
        PromptRepo::open(&path).ok()
    } else {
        None
    };
    let (repo, created_repo) = match existing {
        Some(r) => (r, false),
        None => (PromptRepo::init(&path, args.bare)?, true),
    };
    let committed = repo.initialize(ctx.branch())?;
    let shown = repo.display_path();
    if ctx.format == Format::Json {
        return write_json(
            out,
            &serde_json::json!({
                "path": shown,
                "created_repository": created_repo,
                "initialized": committed,
            }),
        );
    }
    let what = match (created_repo, committed) {
        (true, _) => "Initialized an empty prompt repository in",
        (false, true) => "Adopted the git repository as a prompt repository:",
        (false, false) => "Already a prompt repository:",
    };
    writeln!(out, "{what} {}", shown.display()).map_err(out_err)
}
