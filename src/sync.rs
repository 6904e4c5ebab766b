//! Sync: copy every release, with its metadata and the labels, from one store to another.
//!
//! The rules, as `docs/stores.md` states them for users:
//!
//! - A release missing from the destination is copied whole (content, author, time,
//!   message, description, keywords) and is never re-authored. Its checksum is verified
//!   when it is read from the source, and the destination's record of it is checked
//!   after it is written.
//! - A release the destination already has with the same checksum is left alone; with
//!   another checksum it is a conflict: listed, never overwritten, and the rest of the
//!   sync goes on. A sync with conflicts fails (exit 4) after doing everything else.
//! - Labels follow the source: each label the source has is moved in the destination to
//!   the same version (by compare-and-swap, after that version is there). Labels only the
//!   destination has are kept, as `aws s3 sync` keeps files without `--delete`.
//! - A prompt's current description and keywords follow the source.
//! - Nothing is deleted. A second run copies nothing; a run that was killed is completed
//!   by running it again (every write is create-only or compare-and-swap, and a release
//!   becomes visible in the destination only once it is whole).
//!
//! Prompts are synced in parallel, as many at once as the destination takes writes
//! ([`Store::parallel_writes`]); the releases of one prompt are copied in version order.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use crate::error::{Error, Kind, Result};
use crate::meta::{Expect, MetadataUpdate};
use crate::name::{Label, Name, NamePrefix};
use crate::report::ReleaseId;
use crate::store::{NewRelease, Store, StoreExt, Stored};
use crate::version::Version;

/// How to sync.
#[derive(Default)]
pub struct SyncOptions<'a> {
    /// Only prompts under this prefix (default: all).
    pub prefix: Option<NamePrefix>,
    /// Say what would be done without writing anything.
    pub dry_run: bool,
    /// At most this many prompts at once (default: what the destination takes).
    pub jobs: Option<usize>,
    /// Told about each step, for a progress bar.
    pub progress: Option<&'a (dyn Fn(Progress) + Sync)>,
}

/// A step of a sync, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The source lists this many prompts.
    Prompts(usize),
    /// One prompt is done.
    PromptDone,
}

/// A release the destination has with other content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncConflict {
    /// The prompt.
    pub name: Name,
    /// The version.
    pub version: Version,
    /// What is wrong.
    pub problem: String,
}

/// A label moved (or to be moved) in the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelSynced {
    /// The prompt.
    pub name: Name,
    /// The label.
    pub label: Label,
    /// Where it pointed in the destination before (`None`: it was new there).
    pub from: Option<Version>,
    /// Where it points now, as in the source.
    pub to: Version,
}

/// What a sync did (or, with `dry_run`, would do): the `sync` report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Synced {
    /// The source, as described by its store.
    pub source: String,
    /// The destination.
    pub destination: String,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Prompts looked at.
    pub prompts: usize,
    /// Releases copied (or to copy).
    pub copied: Vec<ReleaseId>,
    /// Releases already in the destination, identical.
    pub unchanged: usize,
    /// Labels moved (or to move).
    pub labels: Vec<LabelSynced>,
    /// Prompts whose description or keywords were updated.
    pub metadata_updated: Vec<Name>,
    /// Releases the destination has with other content: left alone.
    pub conflicts: Vec<SyncConflict>,
}

/// What one prompt's sync did.
#[derive(Default)]
struct PromptOutcome {
    copied: Vec<ReleaseId>,
    unchanged: usize,
    labels: Vec<LabelSynced>,
    metadata_updated: bool,
    conflicts: Vec<SyncConflict>,
}

/// Copy every release and label from `src` to `dst` (see the module's rules). Conflicts
/// are in the report, not an error: the caller decides (the command line exits 4).
pub fn sync(src: &dyn Store, dst: &dyn Store, options: &SyncOptions<'_>) -> Result<Synced> {
    let prefix = options.prefix.clone().unwrap_or_else(NamePrefix::all);
    let names = src.list(&prefix)?;
    ::log::debug!(
        "sync: {} prompts from {} to {}",
        names.len(),
        src.describe(),
        dst.describe()
    );
    if let Some(progress) = options.progress {
        progress(Progress::Prompts(names.len()));
    }
    let jobs = options
        .jobs
        .unwrap_or_else(|| dst.parallel_writes())
        .clamp(1, 64)
        .min(names.len().max(1));
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<(usize, Result<PromptOutcome>)>> = Mutex::new(Vec::new());
    let failed = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    // The first failure stops further work (conflicts are not failures).
                    if failed.load(Ordering::Relaxed) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(name) = names.get(i) else {
                        return;
                    };
                    let outcome = sync_prompt(src, dst, name, options.dry_run);
                    if outcome.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    if let Some(progress) = options.progress {
                        progress(Progress::PromptDone);
                    }
                    outcomes
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((i, outcome));
                }
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap_or_else(|p| p.into_inner());
    outcomes.sort_by_key(|(i, _)| *i);
    let mut report = Synced {
        source: src.describe(),
        destination: dst.describe(),
        dry_run: options.dry_run,
        prompts: names.len(),
        copied: Vec::new(),
        unchanged: 0,
        labels: Vec::new(),
        metadata_updated: Vec::new(),
        conflicts: Vec::new(),
    };
    for (i, outcome) in outcomes {
        let o = outcome?;
        report.copied.extend(o.copied);
        report.unchanged += o.unchanged;
        report.labels.extend(o.labels);
        report.conflicts.extend(o.conflicts);
        if o.metadata_updated {
            report.metadata_updated.push(names[i].clone());
        }
    }
    Ok(report)
}

fn sync_prompt(
    src: &dyn Store,
    dst: &dyn Store,
    name: &Name,
    dry_run: bool,
) -> Result<PromptOutcome> {
    let mut out = PromptOutcome::default();
    let theirs = src.checksums(name)?;
    let ours = dst.checksums(name)?;
    for (version, sha) in &theirs {
        match ours.get(version) {
            Some(there) if there == sha => out.unchanged += 1,
            Some(there) => out.conflicts.push(SyncConflict {
                name: name.clone(),
                version: version.clone(),
                problem: format!(
                    "the destination has {there}, the source {sha}; releases are immutable, so it is left alone"
                ),
            }),
            None => {
                if !dry_run {
                    match copy_release(src, dst, name, version, sha) {
                        Ok(()) => {}
                        Err(e) if e.kind() == Kind::Conflict => {
                            out.conflicts.push(SyncConflict {
                                name: name.clone(),
                                version: version.clone(),
                                problem: e.message().to_owned(),
                            });
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                }
                out.copied.push(ReleaseId {
                    name: name.clone(),
                    version: version.clone(),
                });
            }
        }
    }
    // The prompt's current metadata (the source may have changed it since its latest
    // release), then the labels: pointers move last.
    let src_meta = not_found_as_none(src.prompt_metadata(name))?;
    let dst_meta = if dry_run && ours.is_empty() {
        None
    } else {
        not_found_as_none(dst.prompt_metadata(name))?
    };
    if let Some(src_meta) = src_meta
        && dst_meta.as_ref() != Some(&src_meta)
    {
        if !dry_run {
            dst.update_metadata(
                name,
                &MetadataUpdate {
                    description: Some(src_meta.description.clone().unwrap_or_default()),
                    tags: Some(src_meta.tags.clone()),
                },
            )?;
        }
        out.metadata_updated = dst_meta.is_some() || !dry_run;
    }
    let wanted = src.labels(name)?;
    let present = if dry_run && ours.is_empty() {
        BTreeMap::new()
    } else {
        dst.labels(name)?
    };
    let conflicted: Vec<&Version> = out.conflicts.iter().map(|c| &c.version).collect();
    for (label, version) in wanted {
        let current = present.get(&label).cloned();
        if current.as_ref() == Some(&version) || conflicted.contains(&&version) {
            continue;
        }
        if !dry_run {
            let expect = match &current {
                Some(v) => Expect::Is(v.clone()),
                None => Expect::Absent,
            };
            dst.set_label(name, &label, &expect, Some(&version))?;
        }
        out.labels.push(LabelSynced {
            name: name.clone(),
            label,
            from: current,
            to: version,
        });
    }
    Ok(out)
}

fn not_found_as_none<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == Kind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Copy one release: read and verified from `src`, written create-only to `dst`, and the
/// destination's record of it checked against the source's checksum.
fn copy_release(
    src: &dyn Store,
    dst: &dyn Store,
    name: &Name,
    version: &Version,
    sha: &crate::digest::Digest,
) -> Result<()> {
    let meta = src.metadata(name, version)?;
    if meta.sha256 != *sha {
        return Err(Error::integrity(format!(
            "'{name}@{version}' in {} changed while it was synced",
            src.describe()
        )));
    }
    let content = src.fetch(name, version)?;
    let stored = dst.put(&NewRelease::copy_of(&meta, content))?;
    let written = dst.metadata(name, version)?;
    if written.sha256 != meta.sha256 || written.size != meta.size {
        return Err(Error::integrity(format!(
            "{} recorded {} ({} bytes) for '{name}@{version}', not {} ({} bytes) as sent",
            dst.describe(),
            written.sha256,
            written.size,
            meta.sha256,
            meta.size
        )));
    }
    ::log::debug!(
        "sync: {name}@{version} {}",
        if stored == Stored::Created {
            "copied"
        } else {
            "was already there"
        }
    );
    Ok(())
}
