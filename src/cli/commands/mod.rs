//! One module per command: its arguments (the `///` comment is its help) and its body.

mod add;
mod check;
mod clone;
mod completions;
mod config;
mod delete;
mod diff;
mod export;
mod fetch;
mod import;
mod init;
mod label;
mod list;
mod log;
mod pull;
mod push;
mod release;
mod show;
mod verify;
mod versions;

use std::io::Write;

use clap::Subcommand;

use super::Ctx;
use crate::error::Result;

/// Every command of SPEC §4 and §5.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a prompt repository (new, or adopt an existing git repository).
    Init(init::InitArgs),
    /// Store content as a prompt's working content and release it as NAME@VERSION.
    Add(add::AddArgs),
    /// Release a prompt's committed working content on the branch.
    Release(release::ReleaseArgs),
    /// Print a release's content, byte-exact and checksum-verified.
    Fetch(fetch::FetchArgs),
    /// Show the metadata of one release.
    Show(show::ShowArgs),
    /// List the prompts on the branch with their latest release, labels and description.
    List(list::ListArgs),
    /// List a prompt's releases in SemVer order.
    Versions(versions::VersionsArgs),
    /// Print a prompt's release history with messages, as a changelog.
    Log(log::LogArgs),
    /// Show a unified diff between two releases, or a release and the working content.
    Diff(diff::DiffArgs),
    /// Move, remove and list labels (production, staging, ...).
    #[command(subcommand)]
    Label(label::LabelCommand),
    /// Delete one release (its tag).
    Delete(delete::DeleteArgs),
    /// Check every release: tag format, target commit, path and checksum (exit 5 on a mismatch).
    Verify(verify::VerifyArgs),
    /// Import releases from a directory in the NAME/VERSION/content.md layout.
    Import(import::ImportArgs),
    /// Export releases to a directory in the NAME/VERSION/content.md layout.
    Export(export::ExportArgs),
    /// Clone a prompt repository with every branch, release and label.
    Clone(clone::CloneArgs),
    /// Bring in branches, releases and labels from a remote (fast-forward or merge).
    Pull(pull::PullArgs),
    /// Send the branch, its labels and new releases to a remote.
    Push(push::PushArgs),
    /// The pull-request gate: check every rule and summarise changes as Markdown.
    Check(check::CheckArgs),
    /// Print shell completions.
    Completions(completions::CompletionsArgs),
    /// Print the effective configuration.
    Config(config::ConfigArgs),
}

/// Run `command`.
pub fn dispatch(command: Command, ctx: &mut Ctx, out: &mut dyn Write) -> Result<()> {
    match command {
        Command::Init(a) => init::run(a, ctx, out),
        Command::Add(a) => add::run(a, ctx, out),
        Command::Release(a) => release::run(a, ctx, out),
        Command::Fetch(a) => fetch::run(a, ctx, out),
        Command::Show(a) => show::run(a, ctx, out),
        Command::List(a) => list::run(a, ctx, out),
        Command::Versions(a) => versions::run(a, ctx, out),
        Command::Log(a) => log::run(a, ctx, out),
        Command::Diff(a) => diff::run(a, ctx, out),
        Command::Label(c) => label::run(c, ctx, out),
        Command::Delete(a) => delete::run(a, ctx, out),
        Command::Verify(a) => verify::run(a, ctx, out),
        Command::Import(a) => import::run(a, ctx, out),
        Command::Export(a) => export::run(a, ctx, out),
        Command::Clone(a) => clone::run(a, ctx, out),
        Command::Pull(a) => pull::run(a, ctx, out),
        Command::Push(a) => push::run(a, ctx, out),
        Command::Check(a) => check::run(a, ctx, out),
        Command::Completions(a) => completions::run(a, out),
        Command::Config(a) => config::run(a, ctx, out),
    }
}
