//! `pulse delete`: delete one release.

use std::io::Write;

use crate::cli::{Ctx, Report};
use crate::error::{Error, Result};
use crate::name::Name;
use crate::report::Deleted;
use crate::version::Version;

/// Delete one release (its tag).
///
/// Delete the release NAME@VERSION (its tag; the commit stays in history). Refused while a
/// label points to it; once the repository has a remote it may have been pushed, so
/// --force is needed.
#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// NAME@VERSION, an exact version.
    #[arg(value_name = "NAME@VERSION")]
    pub spec: String,
    /// Delete even though it may have been pushed.
    #[arg(long)]
    pub force: bool,
}

impl Report for Deleted {
    fn text(&self) -> String {
        format!("deleted {}@{}\n", self.name, self.version)
    }
}

pub(super) fn run(args: DeleteArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let (name, version) = args.spec.split_once('@').ok_or_else(|| {
        Error::usage(format!(
            "'{}' must be NAME@VERSION",
            crate::name::printable(&args.spec)
        ))
    })?;
    let (name, version) = (Name::parse(name)?, Version::parse(version)?);
    if ctx.access.store_is_home() {
        ctx.access
            .repo()?
            .delete_release(ctx.access.branch(), &name, &version, args.force)?;
    } else {
        ctx.access.store()?.delete(&name, &version)?;
    }
    ctx.out.emit(
        out,
        &Deleted {
            name,
            version,
            deleted: true,
        },
    )
}
