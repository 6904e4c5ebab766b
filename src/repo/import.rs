//! Bulk import: thousands of releases (and their labels) written as pack files, a few
//! commits and one `packed-refs` transaction, instead of one commit and loose files each.

use std::collections::BTreeMap;

use gix::ObjectId;
use gix::refs::transaction::RefEdit;

use super::PromptRepo;
use super::blob::STREAM_FROM;
use super::commit::{Edit, Plan, is_ref_race};
use super::paths::{content_path, tag_name};
use super::release::{Provenance, TagSpec, conflict_exists, tag_edit};
use crate::digest::Digest;
use crate::error::{Error, GitResultExt, Kind, Result};
use crate::meta::PromptMeta;
use crate::name::{Label, Name};
use crate::version::Version;

/// One release to import in bulk: its metadata (its content is asked for when it is
/// written, so an import never holds more than one release's content).
#[derive(Debug, Clone)]
pub struct ImportRelease {
    /// The prompt.
    pub name: Name,
    /// The version.
    pub version: Version,
    /// The content's size in bytes, as recorded where it came from.
    pub size: u64,
    /// The content's SHA-256 (lowercase hex), as recorded where it came from; checked
    /// again when the content is written.
    pub sha256: String,
    /// The prompt's description at this version.
    pub description: Option<String>,
    /// The prompt's keywords at this version.
    pub tags: Vec<String>,
    /// When it was released, if known.
    pub created: Option<gix::date::Time>,
    /// Who released it, if known.
    pub author: Option<(String, String)>,
    /// The release message, if known.
    pub message: Option<String>,
}

/// Write the content of `r` as a blob: a small one into `buffered` (written out later as
/// part of a pack), a large one streamed straight into a loose object. Either way it is
/// checked against the checksum and size recorded when the release was listed.
fn write_content(
    repo: &PromptRepo,
    buffered: &PromptRepo,
    r: &ImportRelease,
    load: &dyn Fn(&ImportRelease) -> Result<Vec<u8>>,
) -> Result<ObjectId> {
    let content = load(r)?;
    let what = format!("'{}@{}'", r.name, r.version);
    let sha256 = Digest::from_hex(&r.sha256)?;
    let changed = || {
        Error::integrity(format!(
            "the content of {what} changed while it was imported"
        ))
        .with_hint("nothing was released; run the import again")
    };
    if r.size >= STREAM_FROM {
        return repo
            .write_blob_stream(&mut &content[..], r.size, &sha256, &what)
            .map_err(|e| {
                if e.kind() == Kind::Integrity {
                    changed()
                } else {
                    e
                }
            });
    }
    if Digest::of(&content) != sha256 || content.len() as u64 != r.size {
        return Err(changed());
    }
    Ok(buffered
        .repo
        .write_blob(&content)
        .git_ctx(|| format!("cannot write {what}"))?
        .detach())
}

impl PromptRepo {
    /// Import releases (and labels) in bulk, each one's content asked of `load` when it
    /// is written. Releases that exist with identical content are
    /// skipped; any with different content fail the whole import before anything is written.
    /// Every object goes into pack files (not thousands of loose files), the branch gets one
    /// commit per round of versions, and every new tag is written straight into
    /// `packed-refs` in one transaction. Returns how many releases were created.
    pub fn import(
        &self,
        branch: Option<&str>,
        releases: Vec<ImportRelease>,
        labels: &BTreeMap<Name, BTreeMap<Label, Version>>,
        load: &dyn Fn(&ImportRelease) -> Result<Vec<u8>>,
    ) -> Result<usize> {
        let lock = self.lock()?;
        let branch = self.branch(branch)?;
        self.ensure_writable(&branch)?;
        let existing = self.all_release_refs()?;
        let mut fresh = Vec::new();
        for r in releases {
            let found = existing
                .get(&r.name)
                .and_then(|vs| vs.iter().find(|(v, _)| *v == r.version));
            match found {
                Some((v, tag)) => {
                    let have = self.read_release(&r.name, v, *tag)?;
                    let theirs = Digest::from_hex(&r.sha256)?;
                    if have.trailers.sha256 != theirs {
                        return Err(conflict_exists(&have, &theirs).with_hint(
                            "nothing was imported; remove that version from the directory or delete the release",
                        ));
                    }
                }
                None => fresh.push(r),
            }
        }
        for (name, ls) in labels {
            for (label, v) in ls {
                let known = fresh.iter().any(|r| r.name == *name && r.version == *v)
                    || existing
                        .get(name)
                        .is_some_and(|vs| vs.iter().any(|(x, _)| x == v));
                if !known {
                    return Err(Error::not_found(format!(
                        "label '{label}' of '{name}' points to {v}, which is neither released nor imported"
                    ))
                    .with_hint("nothing was imported; fix labels.json"));
                }
            }
        }
        fresh.sort_by(|a, b| a.name.cmp(&b.name).then(a.version.cmp(&b.version)));
        // Objects are buffered in memory and written out as packs: the content in batches,
        // trees and commits before the branch moves, tags before the tags are created.
        let buffered = self.buffered();
        let mut packs = super::pack::Packs::default();
        let mut blobs = Vec::with_capacity(fresh.len());
        let mut pending_bytes = 0;
        for r in &fresh {
            blobs.push(write_content(self, &buffered, r, load)?);
            if r.size < STREAM_FROM {
                pending_bytes += usize::try_from(r.size).unwrap_or(usize::MAX);
            }
            if pending_bytes > super::pack::BATCH_BYTES {
                packs.flush(&buffered)?;
                pending_bytes = 0;
            }
        }
        packs.flush(&buffered)?;
        // Round i holds the i-th new version of every prompt, so 1,000 prompts × 10 versions
        // take 10 commits, and every tag points at a commit holding exactly its content.
        let mut rounds: Vec<Vec<usize>> = Vec::new();
        let mut i = 0;
        while i < fresh.len() {
            let mut j = i;
            while j < fresh.len() && fresh[j].name == fresh[i].name {
                if rounds.len() <= j - i {
                    rounds.push(Vec::new());
                }
                rounds[j - i].push(j);
                j += 1;
            }
            i = j;
        }
        let round_count = rounds.len();
        let heads = buffered.commit_plans(
            &lock,
            &branch,
            |parent| {
                let mut plans = Vec::new();
                let mut sidecars: BTreeMap<&Name, crate::meta::Sidecar> = BTreeMap::new();
                for (k, round) in rounds.iter().enumerate() {
                    let mut edits = Vec::new();
                    for &idx in round {
                        let r = &fresh[idx];
                        let labels = match sidecars.get(&r.name) {
                            Some(s) => s.labels.clone(),
                            None => buffered.sidecar_at(parent, &r.name)?.labels,
                        };
                        let mut sidecar = crate::meta::Sidecar {
                            labels,
                            ..Default::default()
                        };
                        sidecar.set_prompt_meta(PromptMeta {
                            description: r.description.clone(),
                            tags: r.tags.clone(),
                        });
                        edits.push(Edit {
                            path: content_path(&r.name),
                            blob: Some(blobs[idx]),
                        });
                        edits.push(buffered.sidecar_edit(&r.name, &sidecar)?);
                        sidecars.insert(&r.name, sidecar);
                    }
                    plans.push(Plan {
                        edits,
                        message: format!("Import releases (round {} of {round_count})\n", k + 1),
                    });
                }
                let mut label_edits = Vec::new();
                let mut moved = Vec::new();
                for (name, ls) in labels {
                    let mut sidecar = match sidecars.get(name) {
                        Some(s) => s.clone(),
                        None => buffered.sidecar_at(parent, name)?,
                    };
                    let before = sidecar.clone();
                    for (label, v) in ls {
                        sidecar.labels.insert(label.to_string(), v.to_string());
                        moved.push(format!("{name}: {label} -> {v}"));
                    }
                    if sidecar != before {
                        label_edits.push(buffered.sidecar_edit(name, &sidecar)?);
                    }
                }
                plans.push(Plan {
                    edits: label_edits,
                    message: format!("Import labels\n\n{}\n", moved.join("\n")),
                });
                Ok(plans)
            },
            &mut || packs.flush(&buffered),
        )?;
        let mut edits = Vec::with_capacity(fresh.len());
        for (round, commit) in rounds.iter().zip(&heads) {
            for &idx in round {
                let r = &fresh[idx];
                let tagger = self.tagger(&Provenance {
                    author: r.author.clone(),
                    time: r.created,
                })?;
                let spec = tag_name(&r.name, &r.version);
                let message = r
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("Release {spec}"));
                let id = buffered.write_tag_object(TagSpec {
                    name: &r.name,
                    version: &r.version,
                    commit: *commit,
                    blob: blobs[idx],
                    size: r.size,
                    sha256: Digest::from_hex(&r.sha256)?,
                    message: &message,
                    tagger,
                    // Imported releases are copies of others' releases: never signed here.
                    signer: None,
                })?;
                edits.push(tag_edit(&spec, id)?);
            }
        }
        packs.flush(&buffered)?;
        let count = edits.len();
        self.create_packed_refs(edits).map_err(|e| {
            Error::new(
                e.kind(),
                format!("cannot write the imported release tags: {e}"),
            )
        })?;
        packs.release_keeps();
        Ok(count)
    }

    /// Create refs that must not exist yet, all in one transaction written straight into
    /// `packed-refs` (thousands of loose ref files make listing slow).
    fn create_packed_refs(&self, edits: Vec<RefEdit>) -> Result<()> {
        if edits.is_empty() {
            return Ok(());
        }
        let wait =
            gix::lock::acquire::Fail::AfterDurationWithBackoff(std::time::Duration::from_secs(5));
        self.repo
            .refs
            .transaction()
            .packed_refs(
                gix::refs::file::transaction::PackedRefs::DeletionsAndNonSymbolicUpdatesRemoveLooseSourceReference(
                    Box::new(self.repo.objects.clone()),
                ),
            )
            .prepare(edits, wait, wait)
            .and_then(|t| t.commit(None))
            .map(|_| ())
            .map_err(|e| {
                if is_ref_race(&e) {
                    Error::conflict(format!("a tag changed while pulse wrote it: {e}"))
                } else {
                    Error::git("cannot write release tags", e)
                }
            })
    }
}
