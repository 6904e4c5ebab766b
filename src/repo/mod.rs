//! The prompt repository: a git repository read and written through gix.
//!
//! Reads go straight to refs and objects; writes build blobs, trees, commits and tags as
//! objects and move refs with compare-and-swap, so a branch that is not checked out (or a
//! bare repository) is written without a worktree. The layout is `docs/format.md`.

mod blob;
mod check;
mod commit;
mod import;
mod labels;
pub(crate) mod light;
mod lock;
mod merge;
mod pack;
pub mod paths;
mod read;
mod release;
pub(crate) mod search_cache;
pub mod sign;
mod worktree;

use std::path::{Path, PathBuf};

use gix::ObjectId;

use crate::error::{Error, GitResultExt, Result};

pub use crate::meta::parse_author;
pub use check::{CheckReport, PromptChange};
pub use import::ImportRelease;
pub use labels::LabelChange;
pub use lock::{PendingSync, WriteLock};
pub use merge::Integration;
pub use paths::parse_tag_name;
pub use read::{PromptEntry, Release, format_time};
pub use release::{AddRequest, Added, Content, Provenance, VersionChoice};

/// The path, inside every branch, of the repository's own settings and format version.
pub const SETTINGS_PATH: &str = ".pulse/config.yaml";

/// A git repository that pulse manages.
pub struct PromptRepo {
    repo: gix::Repository,
    /// The thread-safe form this handle was made from, when it was opened here: kept for
    /// [`PromptRepo::take_shared`], so a store that wants both forms does not clone the
    /// handle (which costs as much as making a second one).
    shared: Option<gix::ThreadSafeRepository>,
}

/// The branch an operation reads or writes.
#[derive(Debug, Clone)]
pub struct Branch {
    /// `refs/heads/<name>`, or `None` for a detached HEAD (read-only).
    pub full_name: Option<gix::refs::FullName>,
    /// The commit the branch points to now (`None`: the branch does not exist yet, or is unborn).
    pub tip: Option<ObjectId>,
    /// The commit a branch that does not exist yet will start from (the current branch's head).
    pub base: Option<ObjectId>,
    /// Whether this branch is checked out in this repository's worktree.
    pub checked_out: bool,
}

impl Branch {
    /// The short branch name (`main`), or `HEAD` when detached.
    pub fn short_name(&self) -> String {
        self.full_name
            .as_ref()
            .map(|n| n.shorten().to_string())
            .unwrap_or_else(|| "HEAD".to_owned())
    }

    /// The commit to read from: the tip, or for a branch not created yet, its base.
    pub fn read_commit(&self) -> Option<ObjectId> {
        self.tip.or(self.base)
    }
}

fn open_error(path: &Path, err: gix::Error) -> Error {
    let text = format!("{err} {}", err.probable_cause());
    if text.contains("refStorage") || text.contains("reftable") {
        return Error::other(format!(
            "the repository at '{}' stores its refs as reftable, which pulse (through gix) cannot read yet",
            path.display()
        ))
        .with_hint("convert it with 'git refs migrate --ref-format=files'");
    }
    if err.classify().is_not_found()
        || text.contains("not a git repository")
        || text.contains("Could not find")
    {
        return Error::not_found(format!(
            "no git repository at or above '{}'",
            path.display()
        ))
        .with_hint(crate::error::Hint::FindRepository);
    }
    Error::git(
        format!("cannot open the repository at '{}'", path.display()),
        err,
    )
}

impl PromptRepo {
    /// Find the repository containing `start` (this directory or a parent), as git does.
    pub fn discover(start: &Path) -> Result<PromptRepo> {
        let shared =
            gix::ThreadSafeRepository::discover(start).map_err(|e| open_error(start, e))?;
        Self::from_shared(shared, start)
    }

    /// Open the repository at exactly `path` (a worktree or a bare repository).
    pub fn open(path: &Path) -> Result<PromptRepo> {
        if !path.exists() {
            return Err(
                Error::not_found(format!("'{}' does not exist", path.display())).with_hint(
                    crate::error::Hint::Init {
                        path: Some(path.display().to_string()),
                    },
                ),
            );
        }
        let shared = gix::ThreadSafeRepository::open(path).map_err(|e| open_error(path, e))?;
        Self::from_shared(shared, path)
    }

    /// A handle made from the thread-safe form just opened at `path`, which it keeps.
    fn from_shared(shared: gix::ThreadSafeRepository, path: &Path) -> Result<PromptRepo> {
        let mut repo = Self::from_gix(shared.to_thread_local(), path)?;
        repo.shared = Some(shared);
        Ok(repo)
    }

    /// The thread-safe form of this repository: the one it was opened from, or else one
    /// made from a clone of this handle.
    pub(crate) fn take_shared(&mut self) -> gix::ThreadSafeRepository {
        self.shared
            .take()
            .unwrap_or_else(|| self.repo.clone().into_sync())
    }

    fn from_gix(mut repo: gix::Repository, path: &Path) -> Result<PromptRepo> {
        // reftable repositories can be opened but their refs are invisible to gix: refuse them.
        let reftable = repo
            .config_snapshot()
            .string("extensions.refStorage")
            .is_some_and(|v| AsRef::<[u8]>::as_ref(&*v) == b"reftable");
        if reftable || repo.git_dir().join("reftable").is_dir() {
            return Err(open_error(
                path,
                gix::error::message("refStorage is reftable").into(),
            ));
        }
        repo.object_cache_size_if_unset(4 * 1024 * 1024);
        Ok(PromptRepo { repo, shared: None })
    }

    /// A handle without an object cache, for reading many objects once each (a search):
    /// keeping copies of them would cost more than it saves.
    pub(crate) fn uncached(shared: &gix::ThreadSafeRepository) -> PromptRepo {
        let mut repo = shared.to_thread_local();
        repo.object_cache_size(0);
        PromptRepo { repo, shared: None }
    }

    /// A handle made from the thread-safe form of an already opened repository.
    pub(crate) fn from_thread_safe(shared: &gix::ThreadSafeRepository) -> PromptRepo {
        let mut repo = shared.to_thread_local();
        repo.object_cache_size_if_unset(4 * 1024 * 1024);
        PromptRepo { repo, shared: None }
    }

    /// Make a new repository at `path` (non-bare, or bare), with HEAD on `branch`.
    pub fn init(path: &Path, bare: bool) -> Result<PromptRepo> {
        std::fs::create_dir_all(path)
            .map_err(|e| Error::io(format!("cannot create '{}'", path.display()), e))?;
        let repo = if bare {
            gix::init_bare(path)
        } else {
            gix::init(path)
        }
        .git_ctx(|| format!("cannot create a git repository at '{}'", path.display()))?;
        Self::from_gix(repo, path)
    }

    /// The underlying gix repository.
    pub fn git(&self) -> &gix::Repository {
        &self.repo
    }

    /// The `.git` directory (or the bare repository itself).
    pub fn git_dir(&self) -> &Path {
        self.repo.git_dir()
    }

    /// The worktree root, if this is not a bare repository.
    pub fn workdir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// Whether the repository is shallow (its history, and possibly tags, are cut off).
    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow().unwrap_or(false)
    }

    /// Where a human should look: the worktree, or the git dir of a bare repository.
    pub fn display_path(&self) -> PathBuf {
        self.workdir().unwrap_or(self.git_dir()).to_path_buf()
    }

    /// The branch HEAD points to (`None` when detached).
    pub fn head_branch(&self) -> Result<Option<gix::refs::FullName>> {
        self.repo.head_name().git_ctx(|| "cannot read HEAD")
    }

    /// Resolve the branch an operation acts on: `--branch NAME`, or the one checked out.
    pub fn branch(&self, name: Option<&str>) -> Result<Branch> {
        let head = self.repo.head().git_ctx(|| "cannot read HEAD")?;
        let head_name = head.referent_name().map(|n| n.to_owned());
        let head_commit = head.id().map(|id| id.detach());
        let has_worktree = self.repo.workdir().is_some();
        match name {
            None => Ok(Branch {
                checked_out: has_worktree && head_name.is_some(),
                full_name: head_name,
                tip: head_commit,
                base: None,
            }),
            Some(short) => {
                let full: gix::refs::FullName =
                    format!("refs/heads/{short}").try_into().map_err(|_| {
                        Error::usage(format!(
                            "'{}' is not a valid branch name",
                            crate::name::printable(short)
                        ))
                    })?;
                let tip = self.ref_target(full.as_bstr().to_string().as_str())?;
                let checked_out = has_worktree && head_name.as_ref() == Some(&full);
                Ok(Branch {
                    full_name: Some(full),
                    tip,
                    base: if tip.is_none() { head_commit } else { None },
                    checked_out,
                })
            }
        }
    }

    /// When HEAD names a branch that does not exist (a bare repository made by plain
    /// `git init --bare` keeps HEAD on `master` while the prompts arrive on `main`): the
    /// branch to read instead, `main` or else the only branch. `None` when HEAD is fine.
    pub fn branch_for_unborn_head(&self) -> Result<Option<String>> {
        let head = self.branch(None)?;
        if head.tip.is_some() {
            return Ok(None);
        }
        let platform = self.repo.references().git_ctx(|| "cannot list refs")?;
        let mut names = Vec::new();
        for r in platform
            .local_branches()
            .git_ctx(|| "cannot list branches")?
        {
            let r = r.git_ctx(|| "cannot read a branch")?;
            names.push(r.name().shorten().to_string());
        }
        Ok(if names.iter().any(|n| n == "main") {
            Some("main".to_owned())
        } else if names.len() == 1 {
            names.pop()
        } else {
            None
        })
    }

    /// The object a ref points to (peeled only through symbolic refs), or `None`.
    pub(crate) fn ref_target(&self, full: &str) -> Result<Option<ObjectId>> {
        let found = self
            .repo
            .try_find_reference(full)
            .git_ctx(|| format!("cannot read ref '{full}'"))?;
        Ok(match found {
            Some(mut r) => Some(
                r.peel_to_id()
                    .map(|id| id.detach())
                    .git_ctx(|| format!("cannot resolve ref '{full}'"))?,
            ),
            None => None,
        })
    }

    /// Resolve a revision (`--ref`): a branch, tag, or commit id, to a commit.
    pub fn resolve_rev(&self, spec: &str) -> Result<ObjectId> {
        let id = self.repo.rev_parse_single(spec).map_err(|e| {
            Error::not_found(format!(
                "no branch or commit '{}': {e}",
                crate::name::printable(spec)
            ))
            .with_hint("list branches with 'git branch -a'")
        })?;
        let commit = id
            .object()
            .and_then(|o| o.peel_to_commit())
            .git_ctx(|| format!("'{spec}' does not name a commit"))?;
        Ok(commit.id)
    }

    /// The format version recorded at `commit`, or `None` if pulse was never initialised there.
    pub fn format_at(&self, commit: ObjectId) -> Result<Option<u32>> {
        Ok(self.settings_at(commit)?.map(|s| s.format))
    }

    /// The repository's settings file (`.pulse/config.yaml`) at `commit`, if it has one.
    pub fn settings_at(&self, commit: ObjectId) -> Result<Option<crate::config::RepoSettings>> {
        let Some(bytes) = self.file_at(commit, SETTINGS_PATH)? else {
            return Ok(None);
        };
        crate::config::RepoSettings::parse(&bytes, SETTINGS_PATH).map(Some)
    }

    /// Check that `branch` holds a pulse repository whose format this pulse can write.
    pub fn ensure_writable(&self, branch: &Branch) -> Result<()> {
        let not_init = || {
            Error::not_found(format!(
                "branch '{}' of '{}' is not a prompt repository (no {SETTINGS_PATH})",
                branch.short_name(),
                self.display_path().display()
            ))
            .with_hint(crate::error::Hint::Init { path: None })
        };
        let commit = branch.read_commit().ok_or_else(not_init)?;
        match self.format_at(commit)? {
            None => Err(not_init()),
            Some(f) if f > crate::meta::FORMAT_VERSION => Err(Error::other(format!(
                "this repository uses pulse format {f}; this pulse understands format {} at most",
                crate::meta::FORMAT_VERSION
            ))
            .with_hint("upgrade pulse")),
            Some(_) => Ok(()),
        }
    }

    /// Take the repository's write lock (see [`WriteLock`]); if the previous writer was
    /// killed while updating the worktree, finish that update first.
    pub fn lock(&self) -> Result<WriteLock> {
        let lock = WriteLock::acquire(self.git_dir())?;
        if !lock.recovered().is_empty() {
            self.repair_worktree(&lock)?;
        }
        Ok(lock)
    }

    /// The bytes of the file at `path` in `commit`, if there is one.
    pub fn file_at(&self, commit: ObjectId, path: &str) -> Result<Option<Vec<u8>>> {
        Ok(match self.blob_id_at(commit, path)? {
            Some(id) => Some(self.read_blob(id)?),
            None => None,
        })
    }

    fn tree_of(&self, commit: ObjectId) -> Result<gix::Tree<'_>> {
        let commit = self
            .repo
            .find_commit(commit)
            .git_ctx(|| format!("cannot read commit {commit}"))?;
        let tree = commit
            .tree_id()
            .git_ctx(|| format!("commit {} has no readable tree", commit.id))?;
        self.repo
            .find_tree(tree.detach())
            .git_ctx(|| format!("cannot read tree {tree}"))
    }

    /// The blob id at `path` in `commit`, if that path is a regular file there.
    pub fn blob_id_at(&self, commit: ObjectId, path: &str) -> Result<Option<ObjectId>> {
        let tree = self.tree_of(commit)?;
        Self::blob_in_tree(&tree, path)
    }

    fn blob_in_tree(tree: &gix::Tree<'_>, path: &str) -> Result<Option<ObjectId>> {
        let entry = tree
            .lookup_entry(path.split('/'))
            .git_ctx(|| format!("cannot look up '{path}'"))?;
        Ok(entry.filter(|e| e.mode().is_blob()).map(|e| e.object_id()))
    }

    /// The bytes of the small blob `id` (a sidecar, the settings), read whole through gix
    /// and its object cache, so a warm read makes no system call. Content, which may be of
    /// any size, is read through [`PromptRepo::open_blob`].
    pub(crate) fn read_blob(&self, id: ObjectId) -> Result<Vec<u8>> {
        let mut blob = self
            .repo
            .find_blob(id)
            .git_ctx(|| format!("cannot read blob {id}"))?;
        Ok(blob.take_data())
    }

    /// The author pulse records: the git identity (`user.name`, `user.email`, `GIT_COMMITTER_*`),
    /// at the time `PULSE_TIMESTAMP` names or now.
    pub fn signature(&self) -> Result<gix::actor::Signature> {
        let sig = self
            .repo
            .committer()
            .ok_or_else(|| {
                Error::usage("no git identity is configured to record who releases")
                    .with_hint("run 'git config --global user.name \"Your Name\"' and 'git config --global user.email you@example.com'")
            })?
            .git_ctx(|| "cannot read the git identity")?;
        Ok(gix::actor::Signature {
            name: sig.name.to_owned(),
            email: sig.email.to_owned(),
            time: crate::config::now()?,
        })
    }
}
