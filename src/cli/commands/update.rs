//! `pulse update`: resolve the selectors of pulse.yaml again and install what they name now.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use crate::cli::Ctx;
use crate::consumer::{InstallOptions, Mode};
use crate::error::Result;
use crate::name::Name;

/// Resolve selectors again (all, or NAME's), install the releases they name now, and
/// rewrite pulse.lock.
///
/// What 'pulse install' does, except that the prompts named (every prompt when none is)
/// are resolved in their stores again rather than kept at their locked versions: a range
/// takes its newest match, a label where it points now. The same rules keep edited files
/// safe (exit 4, or --force with a backup).
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// Only these prompts.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Replace files in the way, keeping each as FILE.orig.
    #[arg(long)]
    pub force: bool,
    /// Say what would change, and write nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// The pulse.yaml to use (or its directory), instead of the nearest one.
    #[arg(long, value_name = "PATH")]
    pub manifest: Option<PathBuf>,
}

pub(super) fn run(args: UpdateArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let names = if args.names.is_empty() {
        None
    } else {
        Some(
            args.names
                .iter()
                .map(|n| Name::parse(n).map_err(Into::into))
                .collect::<Result<BTreeSet<Name>>>()?,
        )
    };
    super::install::install_with(
        ctx,
        out,
        args.manifest.as_deref(),
        InstallOptions {
            mode: Mode::Update(names),
            force: args.force,
            dry_run: args.dry_run,
        },
    )
}
