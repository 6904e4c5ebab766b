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

/// Every command.
// The help of each command is the doc comment of its args struct, so the variants carry none.
#[allow(missing_docs)]
#[derive(Debug, Subcommand)]
pub enum Command {
    Init(init::InitArgs),
    Add(add::AddArgs),
    Release(release::ReleaseArgs),
    Fetch(fetch::FetchArgs),
    Show(show::ShowArgs),
    List(list::ListArgs),
    Versions(versions::VersionsArgs),
    Log(log::LogArgs),
    Diff(diff::DiffArgs),
    /// Move, remove and list labels (production, staging, ...).
    #[command(subcommand)]
    Label(label::LabelCommand),
    Delete(delete::DeleteArgs),
    Verify(verify::VerifyArgs),
    Import(import::ImportArgs),
    Export(export::ExportArgs),
    Clone(clone::CloneArgs),
    Pull(pull::PullArgs),
    Push(push::PushArgs),
    Check(check::CheckArgs),
    Completions(completions::CompletionsArgs),
    Config(config::ConfigArgs),
}

/// Run `command`.
pub fn dispatch(command: Command, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
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
