//! One module per command: its arguments (the `///` comment is its help) and its body.

mod add;
mod cache;
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
mod install;
mod label;
mod lint;
mod list;
mod log;
mod outdated;
mod pull;
mod push;
mod release;
mod render;
mod search;
mod serve;
mod show;
mod status;
mod sync;
mod token;
mod update;
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
    Render(render::RenderArgs),
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
    Sync(sync::SyncArgs),
    Clone(clone::CloneArgs),
    Pull(pull::PullArgs),
    Push(push::PushArgs),
    Serve(serve::ServeArgs),
    Token(token::TokenArgs),
    Check(check::CheckArgs),
    Lint(lint::LintArgs),
    Search(search::SearchArgs),
    Install(install::InstallArgs),
    Status(status::StatusArgs),
    Outdated(outdated::OutdatedArgs),
    Update(update::UpdateArgs),
    /// The on-disk cache in front of remote stores: info, clear, prune.
    #[command(subcommand)]
    Cache(cache::CacheCommand),
    Completions(completions::CompletionsArgs),
    Config(config::ConfigArgs),
}

/// The command line of one subcommand, exactly as [`Command`] builds it, without building
/// the others: parsing only what is run keeps start-up short (see `cli::parse`).
pub(crate) fn single(name: &str) -> Option<clap::Command> {
    use clap::{Args, Command as C};
    Some(match name {
        "init" => init::InitArgs::augment_args(C::new("init")),
        "add" => add::AddArgs::augment_args(C::new("add")),
        "release" => release::ReleaseArgs::augment_args(C::new("release")),
        "fetch" => fetch::FetchArgs::augment_args(C::new("fetch")),
        "render" => render::RenderArgs::augment_args(C::new("render")),
        "show" => show::ShowArgs::augment_args(C::new("show")),
        "list" => list::ListArgs::augment_args(C::new("list")),
        "versions" => versions::VersionsArgs::augment_args(C::new("versions")),
        "log" => log::LogArgs::augment_args(C::new("log")),
        "diff" => diff::DiffArgs::augment_args(C::new("diff")),
        "delete" => delete::DeleteArgs::augment_args(C::new("delete")),
        "verify" => verify::VerifyArgs::augment_args(C::new("verify")),
        "import" => import::ImportArgs::augment_args(C::new("import")),
        "export" => export::ExportArgs::augment_args(C::new("export")),
        "sync" => sync::SyncArgs::augment_args(C::new("sync")),
        "clone" => clone::CloneArgs::augment_args(C::new("clone")),
        "pull" => pull::PullArgs::augment_args(C::new("pull")),
        "push" => push::PushArgs::augment_args(C::new("push")),
        "serve" => serve::ServeArgs::augment_args(C::new("serve")),
        "token" => token::TokenArgs::augment_args(C::new("token")),
        "check" => check::CheckArgs::augment_args(C::new("check")),
        "lint" => lint::LintArgs::augment_args(C::new("lint")),
        "search" => search::SearchArgs::augment_args(C::new("search")),
        "install" => install::InstallArgs::augment_args(C::new("install")),
        "status" => status::StatusArgs::augment_args(C::new("status")),
        "outdated" => outdated::OutdatedArgs::augment_args(C::new("outdated")),
        "update" => update::UpdateArgs::augment_args(C::new("update")),
        "completions" => completions::CompletionsArgs::augment_args(C::new("completions")),
        "config" => config::ConfigArgs::augment_args(C::new("config")),
        // A command with subcommands of its own is left to the full parser.
        _ => return None,
    })
}

/// Run `command`.
pub fn dispatch(command: Command, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    match command {
        Command::Init(a) => init::run(a, ctx, out),
        Command::Add(a) => add::run(a, ctx, out),
        Command::Release(a) => release::run(a, ctx, out),
        Command::Fetch(a) => fetch::run(a, ctx, out),
        Command::Render(a) => render::run(a, ctx, out),
        Command::Show(a) => show::run(a, ctx, out),
        Command::List(a) => list::run(a, ctx, out),
        Command::Versions(a) => versions::run(a, ctx, out),
        Command::Log(a) => log::run(a, ctx, out),
        Command::Diff(a) => diff::run(a, ctx, out),
        Command::Label(c) => label::run(c, ctx, out),
        Command::Cache(c) => cache::run(c, ctx, out),
        Command::Delete(a) => delete::run(a, ctx, out),
        Command::Verify(a) => verify::run(a, ctx, out),
        Command::Import(a) => import::run(a, ctx, out),
        Command::Export(a) => export::run(a, ctx, out),
        Command::Sync(a) => sync::run(a, ctx, out),
        Command::Clone(a) => clone::run(a, ctx, out),
        Command::Pull(a) => pull::run(a, ctx, out),
        Command::Push(a) => push::run(a, ctx, out),
        Command::Serve(a) => serve::run(a, ctx, out),
        Command::Token(a) => token::run(a, ctx, out),
        Command::Check(a) => check::run(a, ctx, out),
        Command::Lint(a) => lint::run(a, ctx, out),
        Command::Search(a) => search::run(a, ctx, out),
        Command::Install(a) => install::run(a, ctx, out),
        Command::Status(a) => status::run(a, ctx, out),
        Command::Outdated(a) => outdated::run(a, ctx, out),
        Command::Update(a) => update::run(a, ctx, out),
        Command::Completions(a) => completions::run(a, out),
        Command::Config(a) => config::run(a, ctx, out),
    }
}
