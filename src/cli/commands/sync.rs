//! `pulse sync`: copy releases, metadata and labels from one store to another.

use std::io::{IsTerminal, Write};

use crate::cli::{Ctx, Report};
use crate::error::{Error, Result};
use crate::name::NamePrefix;
use crate::sync::{Progress, SyncOptions, Synced};

/// Copy every release, with its metadata and labels, from SRC to DST.
///
/// SRC and DST are store addresses: a path (a git repository, or else a directory store,
/// created on first write), file://, s3://BUCKET[/PREFIX], or (as SRC only) a git remote
/// URL. Releases missing from DST are copied whole, author, time and message included;
/// releases DST already has are left alone, and one it has with other content is a
/// conflict (listed, never overwritten; exit 4 after the rest is done). Labels in DST are
/// moved to where SRC's point; labels only DST has are kept. Nothing is deleted. Running
/// it again copies nothing; a sync that was interrupted completes when run again.
///
/// Content encrypted in SRC is decrypted with your age identity (PULSE_AGE_IDENTITY or
/// age_identity) and written to DST encrypted to DST's recipients (age_recipients in
/// storage_config, or --recipient), or in the clear with --no-encrypt: so sync moves
/// releases between encrypted and plain stores, and re-encrypts them to a new list of
/// recipients. Releases DST already has are left as they are.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Where releases are copied from.
    #[arg(value_name = "SRC")]
    pub src: String,
    /// Where they are copied to.
    #[arg(value_name = "DST")]
    pub dst: String,
    /// Only prompts under this prefix (whole segments).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Say what would be copied and moved, and write nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Sync at most this many prompts at once (default: what DST takes: 1 for git, more
    /// for directories and S3).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Encrypt what is copied to DST to this age public key (age1…) instead of the
    /// configured recipients; may be given more than once.
    #[arg(long = "recipient", short = 'r', value_name = "KEY")]
    pub recipients: Vec<String>,
    /// As --recipient, for every public key in this file (one per line, # comments).
    #[arg(long = "recipients-file", short = 'R', value_name = "PATH")]
    pub recipients_files: Vec<std::path::PathBuf>,
    /// Write what is copied to DST in the clear, whatever recipients are configured.
    #[arg(long, conflicts_with_all = ["recipients", "recipients_files"])]
    pub no_encrypt: bool,
}

impl SyncArgs {
    /// The recipients DST is written with instead of the configured ones, if the flags
    /// say (an empty list: in the clear).
    fn recipients(&self) -> Result<Option<Vec<age::x25519::Recipient>>> {
        if self.no_encrypt {
            return Ok(Some(Vec::new()));
        }
        if self.recipients.is_empty() && self.recipients_files.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::new();
        for key in &self.recipients {
            out.push(crate::crypt::parse_recipient(key, "--recipient")?);
        }
        for path in &self.recipients_files {
            out.extend(crate::crypt::read_recipients_file(path)?);
        }
        Ok(Some(out))
    }
}

impl Report for Synced {
    fn text(&self) -> String {
        let mut text = String::new();
        let (copy, label) = if self.dry_run {
            ("would copy", "would move")
        } else {
            ("copied", "moved")
        };
        for r in &self.copied {
            text.push_str(&format!("{copy} {r}\n"));
        }
        for l in &self.labels {
            let from = l
                .from
                .as_ref()
                .map_or_else(|| "(new)".to_owned(), |v| v.to_string());
            text.push_str(&format!(
                "{label} label {}@{} {from} -> {}\n",
                l.name, l.label, l.to
            ));
        }
        for c in &self.conflicts {
            text.push_str(&format!(
                "conflict {}@{}: {}\n",
                c.name, c.version, c.problem
            ));
        }
        if self.copied.is_empty()
            && self.labels.is_empty()
            && self.metadata_updated.is_empty()
            && self.conflicts.is_empty()
        {
            text.push_str(&format!(
                "{} is up to date with {} ({} releases of {} prompts, nothing to copy)\n",
                self.destination, self.source, self.unchanged, self.prompts
            ));
        } else {
            text.push_str(&format!(
                "{} {} releases, {} {} labels, {} unchanged, {} conflicts ({} prompts)\n",
                copy,
                self.copied.len(),
                label,
                self.labels.len(),
                self.unchanged,
                self.conflicts.len(),
                self.prompts
            ));
        }
        text
    }
}

pub(super) fn run(args: SyncArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let prefix = args.prefix.as_deref().map(NamePrefix::parse).transpose()?;
    if args.jobs == Some(0) {
        return Err(Error::usage("--jobs must be at least 1"));
    }
    let mut options = ctx.access.open_options()?;
    // Sync compares and copies what the stores hold now, and checks every checksum it
    // reads itself: it reads the stores, not the cache (nor fills it with every release).
    options.cache.mode = crate::store::cache::CacheMode::Off;
    let src = crate::store::open(&args.src, &options)?;
    options.recipients = args.recipients()?;
    let dst = crate::store::open_for_writing(&args.dst, &options)?;
    if !args.dry_run && !dst.conditional_writes_are_atomic() {
        ctx.out.warn(&format!(
            "{} may check a write's condition and then write in a second step: run one writer at a time against it (if the server does both in one step, say so with atomic_conditional_writes: true in storage_config)",
            dst.describe()
        ));
    }
    // A progress bar on a terminal only, and never with --quiet.
    let bar =
        (std::io::stderr().is_terminal() && ::log::log_enabled!(::log::Level::Warn)).then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} releases")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix("sync");
            bar
        });
    let progress = |p: Progress| {
        if let Some(bar) = &bar {
            match p {
                Progress::Releases(n) => bar.set_length(n as u64),
                Progress::Copied => bar.inc(1),
            }
        }
    };
    let report = crate::sync::sync(
        src.as_ref(),
        dst.as_ref(),
        &SyncOptions {
            prefix,
            dry_run: args.dry_run,
            jobs: args.jobs,
            progress: Some(&progress),
        },
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = report?;
    ctx.out.emit(out, &report)?;
    if report.conflicts.is_empty() {
        Ok(())
    } else {
        Err(Error::conflict(format!(
            "{} releases in {} differ from {}; they were left alone",
            report.conflicts.len(),
            report.destination,
            report.source
        ))
        .with_hint("a release is immutable: release the changed content as a new version"))
    }
}
