//! Writing: commits built from objects and moved onto a branch by compare-and-swap, release
//! tags created only if absent, labels, deletion and bulk import.
//!
//! Order matters for crash safety: the branch moves first, then the tag. A run killed in
//! between leaves the content committed but unreleased, and the same command run again
//! finds the content already there, makes no new commit and creates the tag.

use std::collections::BTreeMap;

use gix::ObjectId;
use gix::refs::Target;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};

use super::{Branch, PromptRepo, WriteLock};
use crate::error::{Error, GitResultExt, Result};
use crate::meta::{FORMAT_VERSION, Sidecar, Trailers, render_tag_message, sha256_hex};
use crate::name::{Label, Name};
use crate::version::{Bump, Version};

/// How many times a commit is rebuilt on a branch that moved under it before giving up.
const MAX_ATTEMPTS: usize = 64;

/// One file a commit writes (`Some` blob, already in the object database) or removes (`None`).
#[derive(Debug, Clone)]
pub(crate) struct Edit {
    pub path: String,
    pub blob: Option<ObjectId>,
}

/// One commit to make: its file edits and message. An empty plan makes no commit.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub edits: Vec<Edit>,
    pub message: String,
}

/// Where `add` takes the content from.
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    /// These bytes become the prompt's working content.
    Given(&'a [u8]),
    /// The prompt's committed working content on the branch (`pulse release`).
    Working,
}

/// Which version to release.
#[derive(Debug, Clone)]
pub enum VersionChoice {
    /// Exactly this version.
    Exact(Version),
    /// One above the highest existing release (or the first version of that kind).
    Bump(Bump),
}

/// What `add` / `release` should do.
#[derive(Debug, Clone)]
pub struct AddRequest<'a> {
    /// The prompt.
    pub name: &'a Name,
    /// The version to release.
    pub version: VersionChoice,
    /// The content to release.
    pub content: Content<'a>,
    /// A new description for the prompt (kept as it is when `None`).
    pub description: Option<String>,
    /// New keywords for the prompt (kept as they are when `None`).
    pub tags: Option<Vec<String>>,
    /// The release message.
    pub message: Option<String>,
    /// Allow a version lower than the highest existing release (a back-port).
    pub allow_older: bool,
}

/// The outcome of `add` / `release`.
#[derive(Debug, Clone)]
pub struct Added {
    /// The released version.
    pub version: Version,
    /// `false` when the same release already existed with identical content.
    pub created: bool,
    /// The commit the release points to.
    pub commit: ObjectId,
    /// The release tag object.
    pub tag: ObjectId,
}

/// The outcome of moving a label.
#[derive(Debug, Clone)]
pub struct LabelChange {
    /// What the label pointed to before.
    pub from: Option<Version>,
    /// What it points to now.
    pub to: Option<Version>,
}

/// One release to import (from the directory layout of SPEC §6).
#[derive(Debug, Clone)]
pub struct ImportRelease {
    /// The prompt.
    pub name: Name,
    /// The version.
    pub version: Version,
    /// Where its content is.
    pub source: ImportSource,
    /// The content's size in bytes.
    pub size: u64,
    /// The content's SHA-256 (lowercase hex), checked again when the content is read.
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

/// Where an imported release's content comes from.
#[derive(Debug, Clone)]
pub enum ImportSource {
    /// A file, read when the release is written (so an import never holds all content).
    File(std::path::PathBuf),
    /// Bytes in memory.
    Bytes(Vec<u8>),
}

impl ImportSource {
    /// The content, checked against the checksum recorded when the release was listed.
    fn read(&self, name: &Name, version: &Version, sha256: &str) -> Result<Vec<u8>> {
        let bytes = match self {
            ImportSource::File(path) => crate::layout::read_regular(path)?,
            ImportSource::Bytes(b) => b.clone(),
        };
        if sha256_hex(&bytes) != sha256 {
            return Err(Error::integrity(format!(
                "the content of '{name}@{version}' changed while it was imported"
            ))
            .with_hint("nothing was released; run the import again"));
        }
        Ok(bytes)
    }
}

fn detached_error() -> Error {
    Error::usage("HEAD is detached, so there is no branch to write to")
        .with_hint("check out a branch, or pass --branch NAME")
}

/// Whether a ref edit failed because another process holds git's `.lock` file.
fn is_lock_busy(err: &gix::Error) -> bool {
    err.iter_errors().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::AlreadyExists)
    }) || err.to_string().contains("File exists")
}

/// The error for a ref that another process holds locked.
fn locked_error(what: String, err: gix::Error) -> Error {
    Error::conflict(Error::git(what, err).message().to_owned()).with_hint("another git process is writing; retry when it is done (if none is running, a crashed one left the '.lock' file named above: remove it)")
}

fn is_ref_race(err: &gix::Error) -> bool {
    use gix::refs::file::transaction::prepare::{MustNotExist, ReferenceOutOfDate};
    err.downcast_any_ref::<ReferenceOutOfDate>().is_some()
        || err.downcast_any_ref::<MustNotExist>().is_some()
}

impl PromptRepo {
    pub(crate) fn tree_id_of(&self, commit: Option<ObjectId>) -> Result<ObjectId> {
        match commit {
            Some(c) => Ok(self.tree_of(c)?.id),
            None => Ok(ObjectId::empty_tree(self.repo.object_hash())),
        }
    }

    /// Build the commits of `plan` on top of the branch and move the branch to the last one
    /// by compare-and-swap; if the branch moved meanwhile, re-read it, re-plan and retry.
    /// On the checked-out branch, refuse to overwrite uncommitted edits and bring the
    /// worktree and index in line afterwards. Returns, for each plan, the commit that holds
    /// the state after it (the last one is where the branch points now).
    ///
    /// `before_move` runs after the commits are written and before the branch moves: a
    /// caller that buffers objects in memory persists them there.
    pub(crate) fn commit_plans(
        &self,
        lock: &WriteLock,
        branch: &Branch,
        mut plan: impl FnMut(Option<ObjectId>) -> Result<Vec<Plan>>,
        before_move: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Vec<ObjectId>> {
        let full_name = branch.full_name.clone().ok_or_else(detached_error)?;
        let signature = self.signature()?;
        let mut tip = branch.tip;
        for _ in 0..MAX_ATTEMPTS {
            let start = tip.or(branch.base);
            let plans = plan(start)?;
            let mut head = start;
            let mut heads = Vec::with_capacity(plans.len());
            let mut written: BTreeMap<String, Option<ObjectId>> = BTreeMap::new();
            for p in plans {
                if p.edits.is_empty() {
                    heads.push(head);
                    continue;
                }
                let parent_tree = self.tree_id_of(head)?;
                let mut editor = self
                    .repo
                    .edit_tree(parent_tree)
                    .git_ctx(|| "cannot edit the branch's tree")?;
                for e in &p.edits {
                    match e.blob {
                        Some(id) => {
                            editor
                                .upsert(e.path.as_str(), gix::object::tree::EntryKind::Blob, id)
                                .git_ctx(|| format!("cannot place '{}' in the tree", e.path))?;
                            written.insert(e.path.clone(), Some(id));
                        }
                        None => {
                            editor
                                .remove(e.path.as_str())
                                .git_ctx(|| format!("cannot remove '{}' from the tree", e.path))?;
                            written.insert(e.path.clone(), None);
                        }
                    }
                }
                let tree = editor.write().git_ctx(|| "cannot write the tree")?.detach();
                if tree == parent_tree && head.is_some() {
                    heads.push(head);
                    continue;
                }
                let commit = gix::objs::Commit {
                    tree,
                    parents: head.into_iter().collect(),
                    author: signature.clone(),
                    committer: signature.clone(),
                    encoding: None,
                    message: p.message.into(),
                    extra_headers: Vec::new(),
                };
                head = Some(
                    self.repo
                        .write_object(&commit)
                        .git_ctx(|| "cannot write the commit")?
                        .detach(),
                );
                heads.push(head);
            }
            let Some(new) = head else {
                return Err(Error::other("nothing to commit on an empty branch"));
            };
            let heads: Vec<ObjectId> = heads.into_iter().map(|h| h.unwrap_or(new)).collect();
            if tip == Some(new) {
                return Ok(heads);
            }
            match self.advance_branch(lock, branch, tip, start, new, &written, &mut *before_move)? {
                Some(()) => return Ok(heads),
                // Someone else moved the branch: rebuild on top of what they wrote.
                None => tip = self.ref_target(full_name.as_bstr().to_string().as_str())?,
            }
        }
        Err(Error::conflict(format!(
            "branch '{}' kept moving while pulse tried to commit ({MAX_ATTEMPTS} attempts)",
            branch.short_name()
        ))
        .with_hint("retry when the other writers are done"))
    }

    /// Move the branch from `tip` to `new` by compare-and-swap. On the checked-out branch,
    /// first refuse if any of the `written` paths holds an uncommitted edit (compared with
    /// `base`, the commit the worktree reflects), then bring those paths in line. Returns
    /// `None` if the branch is no longer at `tip` (the caller re-reads and retries).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn advance_branch(
        &self,
        lock: &WriteLock,
        branch: &Branch,
        tip: Option<ObjectId>,
        base: Option<ObjectId>,
        new: ObjectId,
        written: &BTreeMap<String, Option<ObjectId>>,
        before_move: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Option<()>> {
        let full_name = branch.full_name.clone().ok_or_else(detached_error)?;
        if branch.checked_out {
            let pending = self.ensure_no_uncommitted_edits(base, written)?;
            lock.record_sync(&pending)?;
        }
        before_move()?;
        let edit = RefEdit {
            change: Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: "pulse: commit".into(),
                },
                expected: match tip {
                    Some(t) => PreviousValue::MustExistAndMatch(Target::Object(t)),
                    None => PreviousValue::MustNotExist,
                },
                new: Target::Object(new),
            },
            name: full_name,
            deref: false,
        };
        let what = || format!("cannot move branch '{}'", branch.short_name());
        match self.repo.edit_reference(edit) {
            Ok(_) => {
                if branch.checked_out {
                    self.sync_worktree(lock, written)?;
                    lock.clear_sync()?;
                }
                Ok(Some(()))
            }
            Err(e) if is_ref_race(&e) => Ok(None),
            Err(e) if is_lock_busy(&e) => Err(locked_error(what(), e)),
            Err(e) => Err(Error::git(what(), e)),
        }
    }

    /// Create the release tag `name@version` on `commit`, only if it does not exist yet.
    /// Returns the tag object and whether it was created (an identical release already
    /// present is a success; different content is a conflict).
    fn create_tag(
        &self,
        name: &Name,
        version: &Version,
        commit: ObjectId,
        content: &[u8],
        message: &str,
        tagger: gix::actor::Signature,
    ) -> Result<(ObjectId, bool)> {
        let sha256 = sha256_hex(content);
        let trailers = Trailers {
            name: name.clone(),
            version: version.clone(),
            path: name.content_path(),
            size: content.len() as u64,
            sha256: sha256.clone(),
            format: FORMAT_VERSION,
        };
        let tag_name = name.tag_name(version);
        let tag = gix::objs::Tag {
            target: commit,
            target_kind: gix::object::Kind::Commit,
            name: tag_name.as_str().into(),
            tagger: Some(tagger),
            message: render_tag_message(message, &trailers).into(),
            signature: None,
        };
        let tag_id = self
            .repo
            .write_object(&tag)
            .git_ctx(|| "cannot write the tag object")?
            .detach();
        let edit = tag_edit(&tag_name, tag_id)?;
        match self.repo.edit_reference(edit) {
            Ok(_) => Ok((tag_id, true)),
            Err(e) if is_ref_race(&e) => {
                let existing = self.release(name, version)?.ok_or_else(|| {
                    Error::conflict(format!(
                        "release '{tag_name}' changed while pulse created it"
                    ))
                })?;
                if existing.trailers.sha256 == sha256 {
                    Ok((existing.tag, false))
                } else {
                    Err(conflict_exists(&existing, &sha256))
                }
            }
            Err(e) if is_lock_busy(&e) => {
                Err(locked_error(format!("cannot create tag '{tag_name}'"), e))
            }
            Err(e) => Err(Error::git(format!("cannot create tag '{tag_name}'"), e)),
        }
    }

    /// Store content as a prompt's working content and release it (`add`), or release the
    /// committed working content (`release`).
    pub fn add(&self, branch: Option<&str>, req: &AddRequest<'_>) -> Result<Added> {
        let lock = self.lock()?;
        let branch = self.branch(branch)?;
        branch.full_name.as_ref().ok_or_else(detached_error)?;
        self.ensure_writable(&branch)?;
        let name = req.name;
        let refs = self.release_refs(name)?;
        let highest = refs.iter().map(|(v, _)| v).max().cloned();
        let version = match &req.version {
            VersionChoice::Exact(v) => v.clone(),
            VersionChoice::Bump(b) => highest
                .as_ref()
                .map(|h| h.bump(*b))
                .unwrap_or_else(|| Version::first(*b)),
        };
        let path = name.content_path();
        let working;
        let content: &[u8] = match req.content {
            Content::Given(bytes) => bytes,
            Content::Working => {
                working = branch
                    .read_commit()
                    .map(|c| self.file_at(c, &path))
                    .transpose()?
                    .flatten()
                    .ok_or_else(|| {
                        Error::not_found(format!(
                            "prompt '{name}' has no committed content ('{path}') on branch '{}'",
                            branch.short_name()
                        ))
                        .with_hint(format!(
                            "commit the file first, or use 'pulse add {name} --file FILE'"
                        ))
                    })?;
                &working
            }
        };
        let sha256 = sha256_hex(content);
        if let Some((_, tag_id)) = refs.iter().find(|(v, _)| *v == version) {
            let existing = self.read_release(name, &version, *tag_id)?;
            if existing.trailers.sha256 == sha256 {
                return Ok(Added {
                    version,
                    created: false,
                    commit: existing.commit,
                    tag: existing.tag,
                });
            }
            return Err(conflict_exists(&existing, &sha256));
        }
        if let Some(h) = highest
            .as_ref()
            .filter(|h| **h > version && !req.allow_older)
        {
            return Err(Error::conflict(format!(
                "'{name}@{version}' is lower than the highest release '{name}@{h}'"
            ))
            .with_hint(
                "use a higher version (e.g. --bump patch), or --allow-older for a back-port",
            ));
        }
        let spec = name.tag_name(&version);
        let heads = self.commit_plans(
            &lock,
            &branch,
            |parent| {
                let mut edits = Vec::new();
                if let Content::Given(bytes) = req.content {
                    edits.push(self.blob_edit(&path, bytes)?);
                }
                if req.description.is_some() || req.tags.is_some() {
                    let mut sidecar = self.sidecar_at(parent, name)?;
                    if let Some(d) = &req.description {
                        sidecar.description = (!d.is_empty()).then(|| d.clone());
                    }
                    if let Some(t) = &req.tags {
                        sidecar.tags = t.clone();
                    }
                    edits.push(self.sidecar_edit(name, &sidecar)?);
                }
                let mut message = format!("Release {spec}\n");
                if let Some(m) = req.message.as_deref().filter(|m| !m.trim().is_empty()) {
                    message.push('\n');
                    message.push_str(m.trim_end());
                    message.push('\n');
                }
                Ok(vec![Plan { edits, message }])
            },
            &mut || Ok(()),
        )?;
        let commit = *heads
            .last()
            .ok_or_else(|| Error::other("no commit was planned"))?;
        // Release exactly what is committed: the tip may hold other bytes if the content was Working.
        let message = req
            .message
            .clone()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| format!("Release {spec}"));
        let (tag, created) =
            self.create_tag(name, &version, commit, content, &message, self.signature()?)?;
        Ok(Added {
            version,
            created,
            commit,
            tag,
        })
    }

    /// Record `.pulse/config.yaml` (the format version) on the branch if it is not there.
    /// Returns whether a commit was made.
    pub fn initialize(&self, branch: Option<&str>) -> Result<bool> {
        let lock = self.lock()?;
        let branch = self.branch(branch)?;
        if let Some(c) = branch.read_commit()
            && self.format_at(c)?.is_some()
        {
            return Ok(false);
        }
        let settings =
            format!("# pulse repository settings; see docs/format.md\nformat: {FORMAT_VERSION}\n");
        self.commit_plans(
            &lock,
            &branch,
            |_| {
                Ok(vec![Plan {
                    edits: vec![self.blob_edit(super::SETTINGS_PATH, settings.as_bytes())?],
                    message: "Initialize pulse prompt repository\n".to_owned(),
                }])
            },
            &mut || Ok(()),
        )?;
        Ok(true)
    }

    /// Point `label` of `name` at `target` (or remove it with `None`) on the branch.
    pub fn set_label(
        &self,
        branch: Option<&str>,
        name: &Name,
        label: &Label,
        target: Option<&Version>,
    ) -> Result<LabelChange> {
        let lock = self.lock()?;
        let branch = self.branch(branch)?;
        self.ensure_writable(&branch)?;
        if let Some(v) = target
            && self.release(name, v)?.is_none()
        {
            return Err(
                Error::not_found(format!("prompt '{name}' has no release {v} to label"))
                    .with_hint(format!("'pulse versions {name}' lists its releases")),
            );
        }
        let mut from = None;
        self.commit_plans(
            &lock,
            &branch,
            |parent| {
                let mut sidecar = self.sidecar_at(parent, name)?;
                let old = sidecar.label(label);
                from = old.clone();
                if old.as_ref() == target {
                    return Ok(Vec::new());
                }
                if target.is_none() && !sidecar.labels.contains_key(label.as_str()) {
                    return Ok(Vec::new());
                }
                match target {
                    Some(v) => sidecar.labels.insert(label.to_string(), v.to_string()),
                    None => sidecar.labels.remove(label.as_str()),
                };
                let show = |v: &Option<Version>| {
                    v.as_ref().map_or("(none)".to_owned(), Version::to_string)
                };
                let message = format!(
                    "Label {name}: {label} {} -> {}\n",
                    show(&old),
                    show(&target.cloned())
                );
                Ok(vec![Plan {
                    edits: vec![self.sidecar_edit(name, &sidecar)?],
                    message,
                }])
            },
            &mut || Ok(()),
        )?;
        if target.is_none() && from.is_none() {
            return Err(Error::not_found(format!(
                "prompt '{name}' has no label '{label}' on branch '{}'",
                branch.short_name()
            ))
            .with_hint(format!("'pulse label list {name}' shows its labels")));
        }
        Ok(LabelChange {
            from,
            to: target.cloned(),
        })
    }

    /// Change the prompt's description and keywords on the branch (one commit, or none
    /// if nothing changes). Releases already made keep the metadata they were made with.
    pub fn update_prompt_metadata(
        &self,
        branch: Option<&str>,
        name: &Name,
        description: Option<String>,
        tags: Option<Vec<String>>,
    ) -> Result<()> {
        let lock = self.lock()?;
        let branch = self.branch(branch)?;
        self.ensure_writable(&branch)?;
        self.commit_plans(
            &lock,
            &branch,
            |parent| {
                let mut sidecar = self.sidecar_at(parent, name)?;
                let before = sidecar.clone();
                if let Some(d) = &description {
                    sidecar.description = (!d.is_empty()).then(|| d.clone());
                }
                if let Some(t) = &tags {
                    sidecar.tags = t.clone();
                }
                if sidecar == before {
                    return Ok(Vec::new());
                }
                Ok(vec![Plan {
                    edits: vec![self.sidecar_edit(name, &sidecar)?],
                    message: format!("Update metadata of {name}\n"),
                }])
            },
            &mut || Ok(()),
        )?;
        Ok(())
    }

    /// Delete the release tag `name@version`. Refused while a label of the branch points to
    /// it, and (without `force`) when the repository has a remote it may have been pushed to.
    pub fn delete_release(
        &self,
        branch: Option<&str>,
        name: &Name,
        version: &Version,
        force: bool,
    ) -> Result<()> {
        let _lock = self.lock()?;
        let branch = self.branch(branch)?;
        let spec = name.tag_name(version);
        let release = self.release(name, version)?.ok_or_else(|| {
            Error::not_found(format!("prompt '{name}' has no release {version}"))
                .with_hint(format!("'pulse versions {name}' lists its releases"))
        })?;
        let sidecar = self.sidecar_at(branch.read_commit(), name)?;
        let holding: Vec<&String> = sidecar
            .labels
            .iter()
            .filter(|(_, v)| **v == version.to_string())
            .map(|(l, _)| l)
            .collect();
        if let Some(l) = holding.first() {
            return Err(Error::conflict(format!("label '{l}' of '{name}' points to '{spec}'"))
                .with_hint(format!("move it first: 'pulse label set {name} {l} VERSION' or 'pulse label rm {name} {l}'")));
        }
        let remotes: Vec<String> = self
            .repo
            .remote_names()
            .iter()
            .map(|r| r.to_string())
            .collect();
        if !force && !remotes.is_empty() {
            return Err(Error::conflict(format!(
                "'{spec}' may already have been pushed to remote '{}'; others may depend on it",
                remotes.join("', '")
            ))
            .with_hint(format!(
                "pass --force to delete it anyway: 'pulse delete {spec} --force'"
            )));
        }
        let edit = RefEdit {
            change: Change::Delete {
                expected: PreviousValue::MustExistAndMatch(Target::Object(release.tag)),
                log: RefLog::AndReference,
            },
            name: format!("refs/tags/{spec}")
                .try_into()
                .map_err(|_| Error::usage(format!("'{spec}' is not a valid tag name")))?,
            deref: false,
        };
        self.repo
            .edit_reference(edit)
            .git_ctx(|| format!("cannot delete tag '{spec}'"))?;
        Ok(())
    }

    /// Import releases (and labels) in bulk. Releases that exist with identical content are
    /// skipped; any with different content fail the whole import before anything is written.
    /// Every object goes into pack files (not thousands of loose files), the branch gets one
    /// commit per round of versions, and every new tag is written straight into
    /// `packed-refs` in one transaction. Returns how many releases were created.
    pub fn import(
        &self,
        branch: Option<&str>,
        releases: Vec<ImportRelease>,
        labels: &BTreeMap<Name, BTreeMap<Label, Version>>,
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
                    if have.trailers.sha256 != r.sha256 {
                        return Err(conflict_exists(&have, &r.sha256).with_hint(
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
            let content = r.source.read(&r.name, &r.version, &r.sha256)?;
            pending_bytes += content.len();
            blobs.push(
                buffered
                    .repo
                    .write_blob(&content)
                    .git_ctx(|| format!("cannot write '{}@{}'", r.name, r.version))?
                    .detach(),
            );
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
                let mut sidecars: BTreeMap<&Name, Sidecar> = BTreeMap::new();
                for (k, round) in rounds.iter().enumerate() {
                    let mut edits = Vec::new();
                    for &idx in round {
                        let r = &fresh[idx];
                        let labels = match sidecars.get(&r.name) {
                            Some(s) => s.labels.clone(),
                            None => buffered.sidecar_at(parent, &r.name)?.labels,
                        };
                        let sidecar = Sidecar {
                            description: r.description.clone(),
                            tags: r.tags.clone(),
                            labels,
                        };
                        edits.push(Edit {
                            path: r.name.content_path(),
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
        let signature = self.signature()?;
        let mut edits = Vec::with_capacity(fresh.len());
        for (round, commit) in rounds.iter().zip(&heads) {
            for &idx in round {
                let r = &fresh[idx];
                let mut tagger = signature.clone();
                if let Some(t) = r.created {
                    tagger.time = t;
                }
                if let Some((n, e)) = &r.author {
                    tagger.name = n.as_str().into();
                    tagger.email = e.as_str().into();
                }
                let tag_name = r.name.tag_name(&r.version);
                let trailers = Trailers {
                    name: r.name.clone(),
                    version: r.version.clone(),
                    path: r.name.content_path(),
                    size: r.size,
                    sha256: r.sha256.clone(),
                    format: FORMAT_VERSION,
                };
                let message = r
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("Release {tag_name}"));
                let tag = gix::objs::Tag {
                    target: *commit,
                    target_kind: gix::object::Kind::Commit,
                    name: tag_name.as_str().into(),
                    tagger: Some(tagger),
                    message: render_tag_message(&message, &trailers).into(),
                    signature: None,
                };
                let id = buffered
                    .repo
                    .write_object(&tag)
                    .git_ctx(|| "cannot write a tag object")?
                    .detach();
                edits.push(tag_edit(&tag_name, id)?);
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

fn tag_edit(tag_name: &str, tag_id: ObjectId) -> Result<RefEdit> {
    Ok(RefEdit {
        change: Change::Update {
            log: LogChange {
                mode: RefLog::AndReference,
                force_create_reflog: false,
                message: "pulse: release".into(),
            },
            expected: PreviousValue::MustNotExist,
            new: Target::Object(tag_id),
        },
        name: format!("refs/tags/{tag_name}")
            .try_into()
            .map_err(|_| Error::usage(format!("'{tag_name}' is not a valid tag name")))?,
        deref: false,
    })
}

impl PromptRepo {
    /// An edit that writes `bytes` to `path` (the blob is written now).
    fn blob_edit(&self, path: &str, bytes: &[u8]) -> Result<Edit> {
        let id = self
            .repo
            .write_blob(bytes)
            .git_ctx(|| format!("cannot write '{path}'"))?;
        Ok(Edit {
            path: path.to_owned(),
            blob: Some(id.detach()),
        })
    }

    /// An edit that writes the prompt's sidecar, or removes it when it is empty.
    fn sidecar_edit(&self, name: &Name, sidecar: &Sidecar) -> Result<Edit> {
        if sidecar.is_empty() {
            return Ok(Edit {
                path: name.sidecar_path(),
                blob: None,
            });
        }
        self.blob_edit(&name.sidecar_path(), sidecar.to_yaml().as_bytes())
    }
}

fn conflict_exists(existing: &super::Release, new_sha: &str) -> Error {
    let spec = existing.spec();
    Error::conflict(format!(
        "release '{spec}' already exists with different content (sha256:{} at commit {}, yours is sha256:{new_sha})",
        existing.trailers.sha256, existing.commit
    ))
    .with_hint("a release is immutable: choose a new version (e.g. --bump patch)")
}
