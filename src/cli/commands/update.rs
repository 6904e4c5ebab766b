//! `pulse update`: resolve the selectors of pulse.yaml again and install what they name now.

use std::collections::BTreeSet;
use std::io::Write;

use crate::cli::Ctx;
use crate::consumer::Mode;
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
    #[command(flatten)]
    pub how: super::install::InstallFlags,
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
    super::install::install_with(ctx, out, &args.how, Mode::Update(names))
}
