//! `pulse diff`: a unified diff between two versions of a prompt.

use std::io::Write;

use crate::cli::{Ctx, Report, parse_spec};
use crate::error::{Error, Result};
use crate::name::Name;
use crate::repo::paths::content_path;
use crate::report::Diffed;
use crate::store::{Store, StoreExt};

/// Show a unified diff between two releases, or a release and the working content.
///
/// Show a unified diff from NAME@A to NAME@B, or, without B, from NAME@A to the prompt's
/// working content on the branch. B may be written as NAME@B or just B.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// NAME@A: the old side.
    pub from: String,
    /// NAME@B or B: the new side (default: the working content).
    pub to: Option<String>,
}

fn release_bytes(
    store: &dyn Store,
    name: &Name,
    sel: &crate::Selector,
) -> Result<(String, Vec<u8>)> {
    let version = store.resolve(name, sel)?;
    Ok((format!("{name}@{version}"), store.fetch(name, &version)?))
}

impl Report for Diffed {
    fn text(&self) -> String {
        self.diff.clone()
    }

    fn bytes(&self) -> Vec<u8> {
        self.raw.clone()
    }
}

pub(super) fn run(args: DiffArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let (name, from_sel) = parse_spec(&args.from, None)?;
    if !args.from.contains('@') {
        return Err(Error::usage("the first argument must be NAME@VERSION")
            .with_hint(format!("e.g. pulse diff {name}@1.0.0 {name}@1.1.0")));
    }
    let store = ctx.access.store()?;
    let (old_label, old) = release_bytes(store.as_ref(), &name, &from_sel)?;
    let (new_label, new) = match &args.to {
        Some(to) => {
            let spec = if to.contains('@') {
                to.clone()
            } else {
                format!("{name}@{to}")
            };
            let (to_name, to_sel) = parse_spec(&spec, None)?;
            if to_name != name {
                return Err(Error::usage(format!(
                    "both sides must be the same prompt ('{name}' and '{to_name}')"
                )));
            }
            release_bytes(store.as_ref(), &name, &to_sel)?
        }
        None => {
            let repo = ctx.access.repo()?;
            let branch = repo.branch(ctx.access.branch())?;
            let commit = branch
                .read_commit()
                .ok_or_else(|| Error::not_found("the branch has no commits"))?;
            let bytes = repo.file_at(commit, &content_path(&name))?.ok_or_else(|| {
                Error::not_found(format!(
                    "prompt '{name}' has no working content on branch '{}'",
                    branch.short_name()
                ))
            })?;
            (format!("{name} (working, {})", branch.short_name()), bytes)
        }
    };
    let patch = crate::diff::unified(&old_label, &old, &new_label, &new);
    ctx.out.emit(
        out,
        &Diffed {
            from: old_label,
            to: new_label,
            identical: old == new,
            diff: String::from_utf8_lossy(&patch).into_owned(),
            raw: patch,
        },
    )
}
