//! `pulse fetch`: print a release's content, byte-exact.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Ctx, out_err, parse_spec};
use crate::error::{Error, Result};
use crate::repo::paths::content_path;
use crate::store::StoreExt;

/// Print a release's content, byte-exact and checksum-verified.
///
/// Print the content of NAME@SELECTOR (default: latest), byte-exact, after checking its
/// SHA-256 against the release. SELECTOR is an exact version, 'latest', a label or a
/// SemVer requirement (^1.2, ~1.2.0, '>=1.0.0, <2.0.0'). With --ref, print the unreleased
/// working content at a branch or commit instead. With --from ADDRESS, read from another
/// store: a git remote or repository without a clone (through a mirror cached under
/// $XDG_CACHE_HOME/progress-pulse), a directory store or s3://BUCKET[/PREFIX]. A release
/// read this way is pinned by its checksum: other bytes later are an integrity failure.
#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// NAME or NAME@SELECTOR.
    #[arg(value_name = "NAME[@SELECTOR]")]
    pub spec: String,
    /// The selector, as a flag (another spelling of NAME@SELECTOR).
    #[arg(long = "version", id = "selector", value_name = "SELECTOR")]
    pub version: Option<String>,
    /// Read the working content at this branch or commit instead of a release.
    #[arg(long = "ref", value_name = "REF", conflicts_with = "selector")]
    pub rev: Option<String>,
    /// Read from the store at this address (a git remote through a cached mirror, a
    /// directory, s3://BUCKET[/PREFIX]).
    #[arg(long, value_name = "ADDRESS", conflicts_with = "rev")]
    pub from: Option<String>,
    /// Write the content to this file (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub(super) fn run(args: FetchArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let (name, selector) = parse_spec(&args.spec, args.version.as_deref())?;
    if let Some(address) = &args.from
        && !crate::store::is_git_address(address)?
    {
        // A directory or S3 store: read directly, and pinned like a remote's releases.
        let store = crate::store::open(address, &ctx.access.open_options()?)?;
        let place = |e: Error| e.context(format!("reading '{address}' ({})", store.describe()));
        let version = store.resolve(&name, &selector).map_err(place)?;
        let content = store.fetch(&name, &version).map_err(place)?;
        crate::mirror::pin_checksum(
            address,
            &name,
            &version,
            &crate::digest::Digest::of(&content),
        )?;
        return match &args.output {
            Some(path) => crate::fsutil::write_file(path, &content),
            None => out.write_all(&content).map_err(out_err),
        };
    }
    if let Some(url) = &args.from {
        let fetched = crate::mirror::fetch(
            url,
            &name,
            &selector,
            ctx.access.branch(),
            &ctx.access.open_options()?.cache,
        )?;
        if let Some(w) = &fetched.warning {
            ctx.out.warn(w);
        }
        return match &args.output {
            Some(path) => crate::fsutil::write_file(path, &fetched.content),
            None => out.write_all(&fetched.content).map_err(out_err),
        };
    }
    if let Some(rev) = &args.rev {
        crate::remote::check_revision(rev)?;
        if args.spec.contains('@') {
            return Err(Error::usage(
                "--ref reads working content; do not also give @SELECTOR",
            ));
        }
        let repo = ctx.access.repo()?;
        let commit = repo.resolve_rev(rev)?;
        let blob = repo
            .blob_id_at(commit, &content_path(&name))?
            .ok_or_else(|| {
                Error::not_found(format!("prompt '{name}' has no working content at '{rev}'"))
                    .with_hint(format!(
                        "'git ls-tree -r {rev} prompts/' lists what is there"
                    ))
            })?;
        // Working content has no checksum to verify: it is streamed as it is read.
        return match &args.output {
            Some(path) => crate::fsutil::write_file_with(path, &mut |file| {
                repo.copy_blob(blob, file).map(|_| ())
            }),
            None => repo.copy_blob(blob, out).map(|_| ()),
        };
    }
    let store = ctx.access.store()?;
    let version = store.resolve(&name, &selector)?;
    match &args.output {
        // Streamed into the temporary file and checked on the way; the file is put in
        // place only once the checksum matched.
        Some(path) => crate::fsutil::write_file_with(path, &mut |file| {
            store.fetch_into(&name, &version, file).map(|_| ())
        }),
        // Nothing reaches stdout before the whole content is verified, so it is held once.
        None => out
            .write_all(&store.fetch(&name, &version)?)
            .map_err(out_err),
    }
}
