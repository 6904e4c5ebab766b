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
//! A sync plans first (the checksums on both sides, prompt by prompt, in parallel), then
//! hands every release to copy to the destination at once ([`Store::copy_from`]: a git
//! repository writes them in a few commits and one ref transaction; the directory and S3
//! stores write several at a time), then checks the destination's record of each copy,
//! and moves metadata and labels last.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::digest::Digest;
use crate::error::{Error, Kind, Result};
use crate::meta::{Expect, MetadataUpdate, PromptMeta};
use crate::name::{Label, Name, NamePrefix};
use crate::report::ReleaseId;
use crate::store::{LabelSet, PromptState, Store};
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
    /// This many releases are to be copied.
    Releases(usize),
    /// One more release was copied.
    Copied,
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

/// What one prompt's sync plans: releases to copy, conflicts found.
#[derive(Default)]
struct PromptPlan {
    copy: Vec<ReleaseId>,
    /// The source's checksum of each release to copy, to check the destination's record.
    expected: BTreeMap<Version, Digest>,
    unchanged: usize,
    conflicts: Vec<SyncConflict>,
}

/// What moving one prompt's metadata and labels did.
#[derive(Default)]
struct PointerOutcome {
    labels: Vec<LabelSynced>,
    metadata_updated: bool,
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
    let jobs = options
        .jobs
        .unwrap_or_else(|| dst.parallel_writes().max(src.parallel_writes()))
        .clamp(1, 64);
    let tell = |p: Progress| {
        if let Some(progress) = options.progress {
            progress(p);
        }
    };
    // 1. What to copy: the checksums on both sides, prompt by prompt.
    let theirs = src.states(&names, jobs)?;
    let ours = dst.states(&names, jobs)?;
    let mut plans = crate::parallel::try_map(names.len(), jobs, |i| {
        plan_prompt(src, &theirs[i], &ours[i], &names[i])
    })?;
    let copies: Vec<ReleaseId> = plans.iter().flat_map(|p| p.copy.iter().cloned()).collect();
    tell(Progress::Releases(copies.len()));
    // 2. The releases, all at once so a store can batch them.
    let mut report = Synced {
        source: src.describe(),
        destination: dst.describe(),
        dry_run: options.dry_run,
        prompts: names.len(),
        copied: Vec::new(),
        unchanged: plans.iter().map(|p| p.unchanged).sum(),
        labels: Vec::new(),
        metadata_updated: Vec::new(),
        conflicts: Vec::new(),
    };
    if options.dry_run {
        report.copied = copies;
    } else {
        let outcomes = dst.copy_from(src, &copies, jobs, &|| tell(Progress::Copied));
        for (id, outcome) in copies.into_iter().zip(outcomes) {
            match outcome {
                Ok(_) => report.copied.push(id),
                Err(e) if e.kind() == Kind::Conflict => report.conflicts.push(SyncConflict {
                    name: id.name,
                    version: id.version,
                    problem: e.message().to_owned(),
                }),
                Err(e) => return Err(e),
            }
        }
    }
    // 3. The destination's record of what was copied, then metadata and labels: pointers
    // move last, and never to a release that is not there.
    let copied: std::collections::BTreeSet<&ReleaseId> = report.copied.iter().collect();
    for plan in &mut plans {
        plan.copy.retain(|id| copied.contains(id));
    }
    let pointers = crate::parallel::try_map(names.len(), jobs, |i| {
        let plan = &plans[i];
        if !options.dry_run && !plan.copy.is_empty() {
            check_copies(dst, &names[i], plan)?;
        }
        let skip: Vec<&Version> = plan.conflicts.iter().map(|c| &c.version).collect();
        // Copies carry the prompt's metadata as of each release: read it again then.
        let dst_meta = if !options.dry_run && !plan.copy.is_empty() {
            not_found_as_none(dst.prompt_metadata(&names[i]))?
        } else {
            ours[i].meta.clone()
        };
        sync_pointers(
            dst,
            &names[i],
            &theirs[i],
            dst_meta,
            &ours[i].labels,
            &skip,
            options.dry_run,
        )
    })?;
    // Every label move at once, so a store can record them as one change.
    if !options.dry_run {
        let moves: Vec<LabelSet> = pointers
            .iter()
            .flat_map(|p| &p.labels)
            .map(|l| LabelSet {
                name: l.name.clone(),
                label: l.label.clone(),
                expect: match &l.from {
                    Some(v) => Expect::Is(v.clone()),
                    None => Expect::Absent,
                },
                target: Some(l.to.clone()),
            })
            .collect();
        for outcome in dst.move_labels(&moves) {
            outcome?;
        }
    }
    for (i, (plan, moved)) in plans.into_iter().zip(pointers).enumerate() {
        report.conflicts.extend(plan.conflicts);
        report.labels.extend(moved.labels);
        if moved.metadata_updated {
            report.metadata_updated.push(names[i].clone());
        }
    }
    report
        .conflicts
        .sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    Ok(report)
}

fn plan_prompt(
    src: &dyn Store,
    theirs: &PromptState,
    ours: &PromptState,
    name: &Name,
) -> Result<PromptPlan> {
    let mut plan = PromptPlan::default();
    // A label that points outside the source's releases is the source's fault: found
    // before anything is written.
    for (label, version) in &theirs.labels {
        if !theirs.checksums.contains_key(version) {
            return Err(Error::not_found(format!(
                "label '{label}' of '{name}' in {} points to {version}, which is not one of its releases",
                src.describe()
            ))
            .with_hint("nothing was copied; fix the label in the source"));
        }
    }
    let ours = &ours.checksums;
    for (version, sha) in theirs.checksums.clone() {
        match ours.get(&version) {
            Some(there) if *there == sha => plan.unchanged += 1,
            Some(there) => plan.conflicts.push(SyncConflict {
                name: name.clone(),
                version,
                problem: format!(
                    "the destination has {there}, the source {sha}; releases are immutable, so it is left alone"
                ),
            }),
            None => {
                plan.copy.push(ReleaseId {
                    name: name.clone(),
                    version: version.clone(),
                });
                plan.expected.insert(version, sha);
            }
        }
    }
    Ok(plan)
}

/// Check the destination's record of each release copied against the source's checksum.
fn check_copies(dst: &dyn Store, name: &Name, plan: &PromptPlan) -> Result<()> {
    let recorded = dst.checksums(name)?;
    for id in &plan.copy {
        let expected = plan.expected.get(&id.version);
        let got = recorded.get(&id.version);
        if got.is_none() || got != expected {
            return Err(Error::integrity(format!(
                "{} does not record '{id}' with the checksum sent ({})",
                dst.describe(),
                expected.map_or_else(String::new, Digest::to_string)
            )));
        }
    }
    Ok(())
}

fn not_found_as_none<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == Kind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Bring the prompt's metadata and labels in `dst` (now `dst_meta` and `present`) to
/// the source's.
fn sync_pointers(
    dst: &dyn Store,
    name: &Name,
    theirs: &PromptState,
    dst_meta: Option<PromptMeta>,
    present: &BTreeMap<Label, Version>,
    skip: &[&Version],
    dry_run: bool,
) -> Result<PointerOutcome> {
    let mut out = PointerOutcome::default();
    // The prompt's current metadata (the source may have changed it since its latest
    // release), then the labels.
    if let Some(src_meta) = &theirs.meta
        && dst_meta.as_ref() != Some(src_meta)
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
    for (label, version) in theirs.labels.clone() {
        let current = present.get(&label).cloned();
        if current.as_ref() == Some(&version) || skip.contains(&&version) {
            continue;
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
