//! Keeping the checked-out branch's worktree and index in line with commits pulse makes.
//!
//! pulse commits objects and moves the branch ref directly, so on the checked-out branch
//! the files and the index would lag behind. Holding git's index lock, it first checks
//! that every path it writes is unmodified (worktree and index agree with the old commit,
//! or already hold the new content); after moving the ref, it writes the files atomically
//! (never through a symbolic link) and updates just those index entries through the lock
//! it holds, so `git status` is clean and other staged work is untouched.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use gix::ObjectId;

use super::{PendingSync, PromptRepo, WriteLock};
use crate::error::{Error, GitResultExt, IoResultExt, Result};
use crate::fsutil::{Dir, WriteMode};

type Written = BTreeMap<String, Option<ObjectId>>;

impl PromptRepo {
    /// The blob id the file at `path` would have, hashed as it is read (never held whole);
    /// `None` if there is no such file.
    fn hash_file(&self, path: &Path) -> Result<Option<ObjectId>> {
        let shown = || format!("cannot read '{}'", path.display());
        let mut file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(shown(), e)),
        };
        let len = file.metadata().io_ctx(shown)?.len();
        let id = gix::objs::compute_stream_hash(
            self.repo.object_hash(),
            gix::object::Kind::Blob,
            &mut file,
            len,
            &mut gix::progress::Discard,
            &AtomicBool::new(false),
        )
        .git_ctx(shown)?;
        // A file that grew while it was read is being edited right now.
        if file.read(&mut [0u8; 1]).io_ctx(shown)? != 0 {
            return Err(Error::conflict(format!(
                "'{}' changed while pulse read it",
                path.display()
            ))
            .with_hint("retry when it is no longer being written"));
        }
        Ok(Some(id))
    }

    /// Refuse (exit 4) if any path pulse is about to write holds an edit that is not
    /// committed. Returns each path with its blob before and after, for the lock journal.
    pub(crate) fn ensure_no_uncommitted_edits(
        &self,
        base: Option<ObjectId>,
        written: &Written,
    ) -> Result<Vec<PendingSync>> {
        let mut pending = Vec::with_capacity(written.len());
        let Some(workdir) = self.workdir() else {
            return Ok(pending);
        };
        let index = self.open_index_if_present()?;
        for (path, new) in written {
            let committed = match base {
                Some(c) => self.blob_id_at(c, path)?,
                None => None,
            };
            let new_id = *new;
            let acceptable = |id: Option<ObjectId>| id == committed || id == new_id;
            let on_disk = workdir.join(path);
            let disk_id = match std::fs::symlink_metadata(&on_disk) {
                Ok(m) if m.is_file() => self.hash_file(&on_disk)?,
                Ok(_) => {
                    return Err(in_the_way(path, "is not a regular file"));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(Error::io(
                        format!("cannot inspect '{}'", on_disk.display()),
                        e,
                    ));
                }
            };
            if !acceptable(disk_id) {
                let why = match (committed, disk_id) {
                    (Some(_), None) => "was deleted but the deletion is not committed",
                    (None, Some(_)) => "exists but is not committed",
                    _ => "has uncommitted changes",
                };
                return Err(in_the_way(path, why));
            }
            if let Some(index) = &index {
                let staged = index.entry_by_path(path.as_str().into()).map(|e| e.id);
                let staged_ok = acceptable(staged) || (staged.is_none() && committed.is_none());
                if !staged_ok {
                    return Err(in_the_way(
                        path,
                        "has staged changes that are not committed",
                    ));
                }
            }
            pending.push(PendingSync {
                path: path.clone(),
                old: committed,
                new: new_id,
            });
        }
        Ok(pending)
    }

    /// Finish the worktree update of a writer that was killed after moving the branch:
    /// every recorded path that still holds its old or new content (in the worktree and
    /// the index) is set to what the branch holds now.
    pub(crate) fn repair_worktree(&self, lock: &WriteLock) -> Result<()> {
        let Some(workdir) = self.workdir() else {
            return Ok(());
        };
        let Ok(head) = self.repo.head_id() else {
            return Ok(());
        };
        let head = head.detach();
        let index_lock = self.lock_index()?;
        let index = self.open_index_if_present()?;
        let mut written = Written::new();
        for p in lock.recovered() {
            let known = |id: Option<ObjectId>| id == p.old || id == p.new;
            let staged = index
                .as_ref()
                .and_then(|i| i.entry_by_path(p.path.as_str().into()).map(|e| e.id));
            if !known(self.hash_file(&workdir.join(&p.path))?) || !known(staged) {
                continue;
            }
            written.insert(p.path.clone(), self.blob_id_at(head, &p.path)?);
        }
        if !written.is_empty() {
            self.sync_worktree(lock, &written, index_lock)?;
        }
        Ok(())
    }

    fn open_index_if_present(&self) -> Result<Option<gix::index::File>> {
        if !self.repo.index_path().exists() {
            return Ok(None);
        }
        self.repo
            .open_index()
            .map(Some)
            .git_ctx(|| "cannot read the index (.git/index)")
    }

    /// Write the committed files into the worktree and update their index entries,
    /// writing the index through `index_lock` (taken before the branch moved).
    pub(crate) fn sync_worktree(
        &self,
        lock: &WriteLock,
        written: &Written,
        index_lock: gix::lock::File,
    ) -> Result<()> {
        let Some(workdir) = self.workdir() else {
            return Ok(());
        };
        let root = Dir::open(workdir)?;
        let tmp = Dir::open(lock.tmp_dir()?)?;
        for (path, new) in written {
            let (dirs, file) = split_path(path)?;
            match new {
                Some(id) => {
                    let dir = root.subdirs(dirs.iter().copied(), true)?.ok_or_else(|| {
                        Error::other(format!("cannot create the directory of '{path}'"))
                    })?;
                    // Streamed from the object database: no second copy of the content.
                    dir.write_with(file, WriteMode::Replace, Some(&tmp), &mut |out| {
                        self.copy_blob(*id, out).map(|_| ())
                    })?;
                }
                None => {
                    if let Some(dir) = root.subdirs(dirs.iter().copied(), false)? {
                        dir.remove(file)?;
                    }
                }
            }
        }
        let head = self.repo.head_id().git_ctx(|| "cannot read HEAD")?.detach();
        let mut index = match self.open_index_if_present()? {
            Some(index) => index,
            None => {
                let tree = self.tree_of(head)?.id;
                let state =
                    gix::index::State::from_tree(&tree, &self.repo.objects, Default::default())
                        .git_ctx(|| "cannot build the index from HEAD")?;
                gix::index::File::from_state(state, self.repo.index_path())
            }
        };
        for (path, new) in written {
            let key: &gix::bstr::BStr = path.as_str().into();
            match new {
                Some(id) => {
                    let meta = gix::index::fs::Metadata::from_path_no_follow(&workdir.join(path))
                        .io_ctx(|| format!("cannot stat '{path}'"))?;
                    let stat = gix::index::entry::Stat::from_fs(&meta).unwrap_or_default();
                    match index
                        .entry_mut_by_path_and_stage(key, gix::index::entry::Stage::Unconflicted)
                    {
                        Some(entry) => {
                            entry.id = *id;
                            entry.stat = stat;
                            entry.mode = gix::index::entry::Mode::FILE;
                        }
                        None => {
                            index.dangerously_push_entry(
                                stat,
                                *id,
                                gix::index::entry::Flags::empty(),
                                gix::index::entry::Mode::FILE,
                                key,
                            );
                            index.sort_entries();
                        }
                    }
                }
                None => index.remove_entries(|_, p, _| p == key),
            }
        }
        // The cached tree extension no longer matches; git rebuilds it when it needs it.
        index.remove_tree();
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, index_lock);
        index
            .write_to(&mut out, Default::default())
            .git_ctx(|| "cannot write the index")?;
        let index_lock = out
            .into_inner()
            .map_err(|e| Error::io("cannot write the index", e.into_error()))?;
        index_lock
            .commit()
            .map_err(|e| Error::io("cannot write the index", e.error))?;
        Ok(())
    }
}

/// Split a worktree path into its directories and its file name.
fn split_path(path: &str) -> Result<(Vec<&str>, &str)> {
    let mut parts: Vec<&str> = path.split('/').collect();
    let file = parts
        .pop()
        .filter(|f| !f.is_empty())
        .ok_or_else(|| Error::other(format!("'{path}' names no file")))?;
    Ok((parts, file))
}

fn in_the_way(path: &str, why: &str) -> Error {
    Error::conflict(format!("'{path}' {why}; pulse will not overwrite it")).with_hint(format!(
        "commit or stash it first ('git stash'), or release exactly that file with --file {path}"
    ))
}
