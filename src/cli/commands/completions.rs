//! `pulse completions`: shell completion scripts.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, out_err};
use crate::error::Result;

/// Print shell completions.
///
/// Print a completion script for SHELL, e.g. `pulse completions bash > ~/.local/share/bash-completion/completions/pulse`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

pub(super) fn run(args: CompletionsArgs, out: &mut dyn Write) -> Result<()> {
    // clap_complete panics when its writer fails; render into memory, then write, so a
    // closed pipe (`| head -1`) is the quiet success it is for every command.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "pulse", &mut script);
    out.write_all(&script).map_err(out_err)
}
