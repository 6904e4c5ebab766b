//! The commit engine: commits built from objects and moved onto a branch by
//! compare-and-swap, with the checked-out branch's worktree and index kept in line.
//!
//! Order matters for crash safety: every object is written first, then the branch moves,
//! then the worktree follows (recorded in the write lock's journal, so a writer killed in
//! between is finished by the next one). On the checked-out branch, git's index lock is
//! taken before the branch moves: if another program holds it, pulse waits, then gives
//! up with nothing changed.

use std::collections::BTreeMap;
use std::time::Duration;

use gix::ObjectId;
use gix::refs::Target;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};

use super::{Branch, PromptRepo, WriteLock};
use crate::error::{Error, GitResultExt, Result};

/// How many times a commit is rebuilt on a branch that moved under it before giving up.
const MAX_ATTEMPTS: usize = 64;

/// How long pulse waits for another program's `index.lock` before giving up (git's own
/// wait for `packed-refs.lock`).
pub(crate) const INDEX_LOCK_WAIT: Duration = Duration::from_secs(1);

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

pub(crate) fn detached_error() -> Error {
    Error::usage("HEAD is detached, so there is no branch to write to")
        .with_hint("check out a branch, or pass --branch NAME")
}

/// Whether a ref edit failed because another process holds git's `.lock` file.
pub(crate) fn is_lock_busy(err: &gix::Error) -> bool {
    err.iter_errors().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::AlreadyExists)
    }) || err.to_string().contains("File exists")
}

/// The error for a ref that another process holds locked.
pub(crate) fn locked_error(what: String, err: gix::Error) -> Error {
    Error::conflict(Error::git(what, err).message().to_owned())
        .retryable(true)
        .with_hint("another git process is writing; retry when it is done (if none is running, a crashed one left the '.lock' file named above: remove it)")
}

pub(crate) fn is_ref_race(err: &gix::Error) -> bool {
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
        // Git's index lock is taken before anything moves, so a held lock stops the whole
        // write with nothing changed; the index is then written through it.
        let index_lock = if branch.checked_out && self.workdir().is_some() {
            let index_lock = self.lock_index()?;
            let pending = self.ensure_no_uncommitted_edits(base, written)?;
            lock.record_sync(&pending)?;
            Some(index_lock)
        } else {
            None
        };
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
        let moved = self.repo.edit_reference(edit);
        if moved.is_err() && index_lock.is_some() {
            lock.clear_sync()?;
        }
        match moved {
            Ok(_) => {
                if let Some(index_lock) = index_lock {
                    self.sync_worktree(lock, written, index_lock)?;
                    lock.clear_sync()?;
                }
                Ok(Some(()))
            }
            Err(e) if is_ref_race(&e) => Ok(None),
            Err(e) if is_lock_busy(&e) => Err(locked_error(what(), e)),
            Err(e) => Err(Error::git(what(), e)),
        }
    }
}

impl PromptRepo {
    /// An edit that writes `bytes` to `path` (the blob is written now).
    pub(crate) fn blob_edit(&self, path: &str, bytes: &[u8]) -> Result<Edit> {
        let id = self
            .repo
            .write_blob(bytes)
            .git_ctx(|| format!("cannot write '{path}'"))?;
        Ok(Edit {
            path: path.to_owned(),
            blob: Some(id.detach()),
        })
    }

    /// Take git's index lock (`index.lock`) as git does, waiting a moment for another
    /// program to release it; a conflict (exit 4) if it does not.
    pub(crate) fn lock_index(&self) -> Result<gix::lock::File> {
        let path = self.repo.index_path();
        gix::lock::File::acquire_to_update_resource(
            &path,
            gix::lock::acquire::Fail::AfterDurationWithBackoff(INDEX_LOCK_WAIT),
            None,
            0,
        )
        .map_err(|e| {
            let lock = path.with_extension("lock");
            Error::conflict(format!(
                "'{}' is held by another program (waited {} s): {e}",
                lock.display(),
                INDEX_LOCK_WAIT.as_secs()
            ))
            .retryable(true)
            .with_hint("nothing was changed; retry when the other git command is done")
            .with_hint(format!(
                "if no git command is running, a crashed one left it behind: remove '{}'",
                lock.display()
            ))
        })
    }
}
