//! `pulse delete`: delete one release.

use std::io::Write;

use crate::cli::{Ctx, Format, out_err, write_json};
use crate::error::{Error, Result};
use crate::name::Name;
use crate::version::Version;

/// Delete one release (its tag).
///
/// Delete the release NAME@VERSION (its tag; the commit stays in history). Refused while a
/// label points to it; once the repository has a remote it may have been pushed, so
/// --force is needed.
#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// NAME@VERSION, an exact version.
    pub spec: String,
    /// Delete even though it may have been pushed.
    #[arg(long)]
    pub force: bool,
}

pub(super) fn run(args: DeleteArgs, ctx: &mut Ctx, out: &mut dyn Write) -> Result<()> {
    let (name, version) = args
        .spec
        .split_once('@')
        .ok_or_else(|| Error::usage(format!("'{}' must be NAME@VERSION", args.spec)))?;
    let (name, version) = (Name::parse(name)?, Version::parse(version)?);
    let branch = ctx.branch.clone();
    ctx.repo()?
        .delete_release(branch.as_deref(), &name, &version, args.force)?;
    if ctx.format == Format::Json {
        return write_json(
            out,
            &serde_json::json!({"name": name, "version": version, "deleted": true}),
        );
    }
    writeln!(out, "deleted {name}@{version}").map_err(out_err)
}
