//! `pulse versions`: a prompt's releases in SemVer order.

use std::io::Write;

use crate::cli::{Ctx, Report};
use crate::error::{Error, Hint, Result};
use crate::name::Name;
use crate::report::ReleaseReport;

/// List a prompt's releases in SemVer order.
///
/// List the releases of NAME in SemVer order (1.9.0 before 1.10.0), with date, author,
/// size and the labels pointing to each.
#[derive(Debug, clap::Args)]
pub struct VersionsArgs {
    /// The prompt's name.
    pub name: String,
}

/// The releases of a prompt (oldest first), with their labels; not found if there are none.
pub(super) fn releases(ctx: &Ctx, name: &Name) -> Result<Vec<ReleaseReport>> {
    let store = ctx.access.store()?;
    let versions = store.versions(name)?;
    if versions.is_empty() {
        return Err(store.explain_missing(
            Error::not_found(format!(
                "prompt '{name}' has no releases in {}",
                store.describe()
            ))
            .with_hint(Hint::ListPrompts),
        ));
    }
    let labels = store.labels(name)?;
    versions
        .iter()
        .map(|v| ReleaseReport::read(store.as_ref(), name, v, &labels))
        .collect()
}

/// The `versions` report: one line per release.
#[derive(serde::Serialize)]
#[serde(transparent)]
struct Versions(Vec<ReleaseReport>);

impl Report for Versions {
    fn text(&self) -> String {
        let mut text = String::new();
        for r in &self.0 {
            let labels: Vec<&str> = r.labels.iter().map(|l| l.as_str()).collect();
            text.push_str(
                format!(
                    "{:12}  {}  {:>8}  {}  {}",
                    r.meta.version.to_string(),
                    r.meta.created,
                    format!("{}B", r.meta.size),
                    r.meta.author,
                    labels.join(",")
                )
                .trim_end(),
            );
            text.push('\n');
        }
        text
    }
}

pub(super) fn run(args: VersionsArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let name = Name::parse(&args.name)?;
    let report = Versions(releases(ctx, &name)?);
    ctx.out.emit(out, &report)
}
