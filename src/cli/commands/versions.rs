//! `pulse versions`: a prompt's releases in SemVer order.

use std::io::Write;

use crate::cli::{Ctx, Format, out_err, write_json};
use crate::error::{Error, Result};
use crate::name::Name;

/// List a prompt's releases in SemVer order.
///
/// List the releases of NAME in SemVer order (1.9.0 before 1.10.0), with date, author,
/// size and the labels pointing to each.
#[derive(Debug, clap::Args)]
pub struct VersionsArgs {
    /// The prompt's name.
    pub name: String,
}

pub(super) fn run(args: VersionsArgs, ctx: &mut Ctx, out: &mut dyn Write) -> Result<()> {
    let name = Name::parse(&args.name)?;
    let branch_opt = ctx.branch.clone();
    let format = ctx.format;
    let repo = ctx.repo()?;
    let releases = repo.releases(&name)?;
    if releases.is_empty() {
        return Err(Error::not_found(format!("prompt '{name}' has no releases"))
            .with_hint("'pulse list' shows the prompts on this branch"));
    }
    let branch = repo.branch(branch_opt.as_deref())?;
    let sidecar = repo.sidecar_at(branch.read_commit(), &name)?;
    if format == Format::Json {
        let metas = releases
            .iter()
            .map(|r| repo.version_meta(r, &sidecar))
            .collect::<Result<Vec<_>>>()?;
        return write_json(out, &metas);
    }
    let mut text = String::new();
    for r in &releases {
        let v = r.trailers.version.to_string();
        let labels: Vec<&str> = sidecar
            .labels
            .iter()
            .filter(|(_, lv)| **lv == v)
            .map(|(l, _)| l.as_str())
            .collect();
        text.push_str(
            format!(
                "{v:12}  {}  {:>8}  {}  {}",
                r.created(),
                format!("{}B", r.trailers.size),
                r.author(),
                labels.join(",")
            )
            .trim_end(),
        );
        text.push('\n');
    }
    out.write_all(text.as_bytes()).map_err(out_err)
}
