//! `pulse cache info|clear|prune`: the on-disk cache in front of remote stores.

use std::io::Write;

use crate::cli::{Ctx, Report};
use crate::error::{Error, Result};
use crate::store::cache::{self, CacheInfo, Pruned};

/// The on-disk cache of what remote stores (S3, registries, git remotes) sent: release
/// content by checksum, their labels and indexes, git mirrors, and the checksum of every
/// release seen (pins). It lives in $XDG_CACHE_HOME/progress-pulse and is bounded by
/// cache_size (least recently used first).
#[derive(Debug, clap::Subcommand)]
pub enum CacheCommand {
    /// Where the cache is and what it holds.
    Info,
    /// Empty the cache (content, store files, mirrors); --pins also forgets which
    /// checksum each release had.
    Clear {
        /// Also forget the pins: a release seen before is then trusted anew.
        #[arg(long)]
        pins: bool,
    },
    /// Evict the least recently used content, files and mirrors until the cache is
    /// within cache_size (or --max-size).
    Prune {
        /// The size to prune to (default: cache_size, or 256MiB): 100MB, 1GiB...
        #[arg(long, value_name = "SIZE")]
        max_size: Option<String>,
    },
}

impl Report for CacheInfo {
    fn text(&self) -> String {
        format!(
            "cache: {}\nsize: {}\ncontents: {}\nstore files: {}\nmirrors: {}\npins: {}\n",
            self.path.display(),
            human_bytes(self.bytes),
            self.contents,
            self.files,
            self.mirrors,
            self.pins
        )
    }
}

impl Report for Pruned {
    fn text(&self) -> String {
        format!(
            "removed {} ({} freed), {} kept\n",
            self.removed,
            human_bytes(self.freed),
            human_bytes(self.kept)
        )
    }
}

fn human_bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        1_048_576..1_073_741_824 => format!("{:.1} MiB", n as f64 / 1_048_576.0),
        _ => format!("{:.1} GiB", n as f64 / 1_073_741_824.0),
    }
}

pub(super) fn run(command: CacheCommand, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let root = cache::cache_root()?;
    match command {
        CacheCommand::Info => ctx.out.emit(out, &cache::info(&root)),
        CacheCommand::Clear { pins } => ctx.out.emit(out, &cache::clear(&root, pins)?),
        CacheCommand::Prune { max_size } => {
            let max = match max_size {
                Some(size) => crate::config::parse_size(&size).ok_or_else(|| {
                    Error::usage(format!("'{}' is not a size", crate::name::printable(&size)))
                        .with_hint("write a size as 100MB, 512MiB or 1GiB")
                })?,
                None => ctx
                    .access
                    .settings()?
                    .cache_size
                    .unwrap_or(cache::DEFAULT_MAX_BYTES),
            };
            ctx.out.emit(out, &cache::prune(&root, max)?)
        }
    }
}
