//! `pulse clone`: copy a prompt repository with every branch, release and label.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Ctx, Report};
use crate::error::{Error, Result};
use crate::report::{Cloned, ReleaseId};

/// Clone a prompt repository with every branch, release and label.
///
/// Clone the prompt repository at URL (a path, file://, git://, http(s):// or ssh:// URL)
/// into DIR, with every branch, release tag and label, using git and your git credentials.
#[derive(Debug, clap::Args)]
pub struct CloneArgs {
    /// Where to clone from.
    pub url: String,
    /// The directory to create (default: the last part of the URL, without .git).
    pub dir: Option<PathBuf>,
}

impl Report for Cloned {
    fn text(&self) -> String {
        format!(
            "Cloned {} into {} ({} releases)\n",
            self.url,
            self.path.display(),
            self.releases.len()
        )
    }
}

pub(super) fn run(args: CloneArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let dir = match args.dir {
        Some(d) => d,
        None => {
            let last = args
                .url
                .trim_end_matches('/')
                .rsplit(['/', ':'])
                .next()
                .unwrap_or_default()
                .trim_end_matches(".git");
            if last.is_empty() {
                return Err(Error::usage(format!(
                    "cannot tell a directory name from '{}'",
                    args.url
                ))
                .with_hint("pass the directory: pulse clone URL DIR"));
            }
            PathBuf::from(last)
        }
    };
    let repo = crate::remote::clone(&args.url, &dir)?;
    let mut releases: Vec<ReleaseId> = repo
        .all_release_refs()?
        .into_iter()
        .flat_map(|(name, versions)| {
            versions.into_iter().map(move |(version, _)| ReleaseId {
                name: name.clone(),
                version,
            })
        })
        .collect();
    releases.sort();
    let branch = repo.branch(None)?;
    let initialized = branch
        .read_commit()
        .map(|c| repo.format_at(c))
        .transpose()?
        .flatten()
        .is_some();
    if !initialized {
        ctx.out.warn(&format!(
            "'{}' is not a pulse prompt repository yet (no .pulse/config.yaml); run 'pulse init' in it to adopt it",
            args.url
        ));
    }
    ctx.out.emit(
        out,
        &Cloned {
            url: args.url.clone(),
            path: dir,
            branch: branch.short_name(),
            releases,
        },
    )
}
