//! `pulse init [PATH]`: make a prompt repository, or adopt an existing git repository.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Ctx, Report};
use crate::error::{Error, Result};
use crate::repo::PromptRepo;
use crate::report::Initialized;

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

impl Report for Initialized {
    fn text(&self) -> String {
        let what = match (self.created_repository, self.initialized) {
            (true, _) => "Initialized an empty prompt repository in",
            (false, true) => "Adopted the git repository as a prompt repository:",
            (false, false) => "Already a prompt repository:",
        };
        format!("{what} {}\n", self.path.display())
    }
}

pub(super) fn run(args: InitArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let path = match args.path.or_else(|| ctx.access.repo_path().map(Into::into)) {
        Some(p) => p,
        None => std::env::current_dir()
            .map_err(|e| Error::io("cannot read the current directory", e))?,
    };
    let existing = if path.exists() {
        PromptRepo::open(&path).ok()
    } else {
        None
    };
    let (repo, created_repository) = match existing {
        Some(r) => (r, false),
        None => (PromptRepo::init(&path, args.bare)?, true),
    };
    let initialized = repo.initialize(ctx.access.branch())?;
    ctx.out.emit(
        out,
        &Initialized {
            path: repo.display_path(),
            created_repository,
            initialized,
        },
    )
}
