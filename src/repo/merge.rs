//! Bringing a branch up to date with another commit, as `pulse pull` does: nothing to do,
//! a fast-forward, or a merge commit. The merge is three-way at file level: a file changed
//! on one side only takes that side, and a prompt's sidecar changed on both sides is merged
//! field by field (each label on its own), so two people who released or labelled
//! different prompts, or moved different labels, never conflict. The same prompt file
//! changed differently on both sides is a conflict that pulse leaves to git.

use std::collections::{BTreeMap, BTreeSet};

use gix::ObjectId;
use gix::object::tree::EntryKind;

use super::PromptRepo;
use crate::error::{Error, GitResultExt, Result};
use crate::meta::Sidecar;

/// Every file of a tree by path, with its kind and blob.
pub(crate) type Flat = BTreeMap<String, (EntryKind, ObjectId)>;

/// What integrating another commit did to the branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integration {
    /// The branch already contains the other commit.
    UpToDate,
    /// The branch moved forward to the other commit.
    FastForward,
    /// A merge commit joins both histories.
    Merged(ObjectId),
}

fn merge3<T: PartialEq + Clone>(base: &T, ours: &T, theirs: &T) -> Option<T> {
    if ours == theirs || theirs == base {
        Some(ours.clone())
    } else if ours == base {
        Some(theirs.clone())
    } else {
        None
    }
}

impl PromptRepo {
    /// Every file at `commit` (none for no commit).
    pub(crate) fn flatten(&self, commit: Option<ObjectId>) -> Result<Flat> {
        let mut out = Flat::new();
        if let Some(commit) = commit {
            let tree = self.tree_of(commit)?.id;
            self.flatten_tree(tree, String::new(), &mut out)?;
        }
        Ok(out)
    }

    pub(crate) fn flatten_tree(
        &self,
        tree: ObjectId,
        prefix: String,
        out: &mut Flat,
    ) -> Result<()> {
        let tree = self
            .repo
            .find_tree(tree)
            .git_ctx(|| format!("cannot read tree {tree}"))?;
        let decoded = tree
            .decode()
            .git_ctx(|| format!("cannot decode tree {}", tree.id))?;
        for e in &decoded.entries {
            let name = String::from_utf8_lossy(e.filename);
            let mut path = String::with_capacity(prefix.len() + name.len() + 1);
            path.push_str(&prefix);
            path.push_str(&name);
            if e.mode.is_tree() {
                path.push('/');
                self.flatten_tree(e.oid.to_owned(), path, out)?;
            } else {
                out.insert(path, (e.mode.kind(), e.oid.to_owned()));
            }
        }
        Ok(())
    }

    fn sidecar_blob(&self, entry: Option<&(EntryKind, ObjectId)>, path: &str) -> Result<Sidecar> {
        match entry {
            Some((_, id)) => Sidecar::parse(&self.read_blob(*id)?, path),
            None => Ok(Sidecar::default()),
        }
    }

    /// Merge one prompt's sidecar changed on both sides: description, tags and each label
    /// three-way on their own. `None` if the same field changed differently on both sides.
    fn merge_sidecar(
        &self,
        path: &str,
        base: Option<&(EntryKind, ObjectId)>,
        ours: Option<&(EntryKind, ObjectId)>,
        theirs: Option<&(EntryKind, ObjectId)>,
    ) -> Result<Option<Option<(EntryKind, ObjectId)>>> {
        let (b, o, t) = (
            self.sidecar_blob(base, path)?,
            self.sidecar_blob(ours, path)?,
            self.sidecar_blob(theirs, path)?,
        );
        let (Some(description), Some(tags)) = (
            merge3(&b.description, &o.description, &t.description),
            merge3(&b.tags, &o.tags, &t.tags),
        ) else {
            return Ok(None);
        };
        let mut labels = BTreeMap::new();
        let keys: BTreeSet<&String> = o
            .labels
            .keys()
            .chain(t.labels.keys())
            .chain(b.labels.keys())
            .collect();
        for k in keys {
            let Some(v) = merge3(&b.labels.get(k), &o.labels.get(k), &t.labels.get(k)) else {
                return Ok(None);
            };
            if let Some(v) = v {
                labels.insert(k.clone(), v.clone());
            }
        }
        let merged = Sidecar {
            description,
            tags,
            labels,
        };
        if merged.is_empty() {
            return Ok(Some(None));
        }
        let id = self
            .repo
            .write_blob(merged.to_yaml().as_bytes())
            .git_ctx(|| format!("cannot write '{path}'"))?
            .detach();
        Ok(Some(Some((EntryKind::Blob, id))))
    }

    /// The merged file list of `base`, `ours` and `theirs`, or the paths that conflict.
    fn merge_flat(
        &self,
        base: &Flat,
        ours: &Flat,
        theirs: &Flat,
    ) -> Result<std::result::Result<Flat, Vec<String>>> {
        let mut merged = ours.clone();
        let mut conflicts = Vec::new();
        let paths: BTreeSet<&String> = ours
            .keys()
            .chain(theirs.keys())
            .chain(base.keys())
            .collect();
        for path in paths {
            let (b, o, t) = (base.get(path), ours.get(path), theirs.get(path));
            let result = match merge3(&b, &o, &t) {
                Some(r) => r.cloned(),
                None if path.starts_with("prompts/") && path.ends_with(".yaml") => {
                    match self.merge_sidecar(path, b, o, t)? {
                        Some(r) => r,
                        None => {
                            conflicts.push(path.clone());
                            continue;
                        }
                    }
                }
                None => {
                    conflicts.push(path.clone());
                    continue;
                }
            };
            match result {
                Some(entry) => merged.insert(path.clone(), entry),
                None => merged.remove(path),
            };
        }
        Ok(if conflicts.is_empty() {
            Ok(merged)
        } else {
            Err(conflicts)
        })
    }

    /// Bring the branch up to date with `other` (a fetched commit named `other_name` in
    /// messages): fast-forward when possible, else a merge commit. The checked-out
    /// branch's worktree follows, and uncommitted edits to changed files stop it (exit 4).
    pub fn integrate(
        &self,
        branch: Option<&str>,
        other: ObjectId,
        other_name: &str,
    ) -> Result<Integration> {
        let lock = self.lock()?;
        for _ in 0..16 {
            let branch = self.branch(branch)?;
            let tip = branch.tip;
            if tip == Some(other) {
                return Ok(Integration::UpToDate);
            }
            let base = match tip {
                Some(t) => {
                    let found = self.repo.merge_base(t, other).git_ctx(|| {
                        format!("cannot find where '{other_name}' and the branch meet")
                    })?;
                    Some(found.map(|id| id.detach()).ok_or_else(|| {
                        Error::conflict(format!(
                            "branch '{}' and '{other_name}' have no common history",
                            branch.short_name()
                        ))
                        .with_hint(format!(
                            "merge them with git: 'git merge --allow-unrelated-histories {other_name}'"
                        ))
                    })?)
                }
                None => None,
            };
            if base == Some(other) {
                return Ok(Integration::UpToDate);
            }
            let ours = self.flatten(tip)?;
            let theirs = self.flatten(Some(other))?;
            let (new, merged, outcome) = if base == tip {
                (other, theirs, Integration::FastForward)
            } else {
                let base_flat = self.flatten(base)?;
                let merged = match self.merge_flat(&base_flat, &ours, &theirs)? {
                    Ok(m) => m,
                    Err(paths) => {
                        return Err(Error::conflict(format!(
                            "'{other_name}' and branch '{}' both changed {}",
                            branch.short_name(),
                            paths.join(", ")
                        ))
                        .with_hint(format!(
                            "nothing on the branch changed; merge with git ('git merge {other_name}'), resolve, commit, then 'pulse push'"
                        )));
                    }
                };
                let commit = self.merge_commit(
                    tip,
                    other,
                    &ours,
                    &merged,
                    other_name,
                    &branch.short_name(),
                )?;
                (commit, merged, Integration::Merged(commit))
            };
            let mut written = BTreeMap::new();
            for path in ours.keys().chain(merged.keys()).collect::<BTreeSet<_>>() {
                let (before, after) = (ours.get(path), merged.get(path));
                if before == after {
                    continue;
                }
                if branch.checked_out && after.is_some_and(|(k, _)| *k != EntryKind::Blob) {
                    return Err(Error::other(format!(
                        "'{path}' changes to a symlink, executable or submodule, which pulse does not check out"
                    ))
                    .with_hint(format!("use 'git merge {other_name}' for this update")));
                }
                written.insert(path.clone(), after.map(|(_, id)| *id));
            }
            if self
                .advance_branch(&lock, &branch, tip, tip, new, &written, &mut || Ok(()))?
                .is_some()
            {
                if let Integration::Merged(_) = outcome {
                    return Ok(Integration::Merged(new));
                }
                return Ok(outcome);
            }
        }
        Err(
            Error::conflict("the branch kept moving while pulse merged into it")
                .with_hint("retry when the other writers are done"),
        )
    }

    fn merge_commit(
        &self,
        tip: Option<ObjectId>,
        other: ObjectId,
        ours: &Flat,
        merged: &Flat,
        other_name: &str,
        branch: &str,
    ) -> Result<ObjectId> {
        let tree = self.tree_id_of(tip)?;
        let mut editor = self
            .repo
            .edit_tree(tree)
            .git_ctx(|| "cannot edit the branch's tree")?;
        for path in ours.keys().chain(merged.keys()).collect::<BTreeSet<_>>() {
            match (ours.get(path), merged.get(path)) {
                (a, b) if a == b => {}
                (_, Some((kind, id))) => {
                    editor
                        .upsert(path.as_str(), *kind, *id)
                        .git_ctx(|| format!("cannot place '{path}' in the tree"))?;
                }
                (_, None) => {
                    editor
                        .remove(path.as_str())
                        .git_ctx(|| format!("cannot remove '{path}' from the tree"))?;
                }
            }
        }
        let tree = editor
            .write()
            .git_ctx(|| "cannot write the merged tree")?
            .detach();
        let signature = self.signature()?;
        let commit = gix::objs::Commit {
            tree,
            parents: tip.into_iter().chain(Some(other)).collect(),
            author: signature.clone(),
            committer: signature,
            encoding: None,
            message: format!("Merge '{other_name}' into {branch}\n").into(),
            extra_headers: Vec::new(),
        };
        Ok(self
            .repo
            .write_object(&commit)
            .git_ctx(|| "cannot write the merge commit")?
            .detach())
    }
}
