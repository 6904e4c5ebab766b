//! `pulse release`: release a prompt's committed working content.

use std::io::Write;

use super::add::{SignArgs, VersionArgs, report};
use crate::cli::Ctx;
use crate::error::Result;
use crate::name::Name;
use crate::repo::{AddRequest, Content};

/// Release a prompt's committed working content on the branch.
///
/// Release the prompt's content as committed on the branch (prompts/NAME.md), e.g. after
/// a pull request that edited it was merged. Prints NAME@VERSION. Template variables are
/// checked as 'pulse add' checks them: a change that breaks renders of the release below
/// needs a major version (exit 4).
#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    /// The prompt's name.
    pub name: String,
    #[command(flatten)]
    pub version: VersionArgs,
    /// The release message.
    #[arg(long, short)]
    pub message: Option<String>,
    /// Allow a version lower than the highest release (a back-port).
    #[arg(long)]
    pub allow_older: bool,
    #[command(flatten)]
    pub signing: SignArgs,
}

pub(super) fn run(args: ReleaseArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let name = Name::parse(&args.name)?;
    let req = AddRequest {
        name: &name,
        version: args.version.choice()?,
        content: Content::Working,
        metadata: Default::default(),
        message: args.message,
        allow_older: args.allow_older,
        provenance: Default::default(),
        sign: args.signing.choice(),
        check_templates: true,
    };
    let added = ctx.access.repo()?.add(ctx.access.branch(), &req)?;
    report(ctx, out, &name, &added)
}
