//! `pulse clone`: copy a prompt repository with every branch, release and label.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Ctx, Format, out_err, write_json};
use crate::error::{Error, Result};

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

pub(super) fn run(args: CloneArgs, ctx: &mut Ctx, out: &mut dyn Write) -> Result<()> {
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
    let releases: usize = repo.all_release_refs()?.values().map(Vec::len).sum();
    let branch = repo.branch(None)?;
    let initialized = branch
        .read_commit()
        .map(|c| repo.format_at(c))
        .transpose()?
        .flatten()
        .is_some();
    if !initialized {
        ctx.note(&format!(
            "warning: '{}' is not a pulse prompt repository yet (no .pulse/config.yaml); run 'pulse init' in it to adopt it",
            args.url
        ));
    }
    if ctx.format == Format::Json {
        return write_json(
            out,
            &serde_json::json!({"path": dir, "releases": releases, "branch": branch.short_name()}),
        );
    }
    writeln!(
        out,
        "Cloned {} into {} ({releases} releases)",
        args.url,
        dir.display()
    )
    .map_err(out_err)
}
