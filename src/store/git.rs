//! The git repository as a [`Store`]: releases are tags, metadata and labels live on a branch.

use std::collections::BTreeMap;

use super::{MetadataUpdate, NewRelease, PromptMeta, ReleaseMeta, Store, Stored};
use crate::error::{Error, Result};
use crate::name::{Label, Name};
use crate::repo::{AddRequest, Content, PromptRepo, VersionChoice};
use crate::version::Version;

/// A prompt repository seen through the [`Store`] interface, writing to one branch.
///
/// gix's repository handle is single-threaded in the feature set pulse builds with, so the
/// store keeps the path and opens a handle per call (a fraction of a millisecond); code
/// that needs the fastest reads uses [`PromptRepo`] directly.
pub struct GitStore {
    path: std::path::PathBuf,
    branch: Option<String>,
}

impl GitStore {
    /// A store over the repository at `path`, reading labels from and writing to `branch`
    /// (or the one checked out).
    pub fn new(path: impl Into<std::path::PathBuf>, branch: Option<String>) -> Self {
        GitStore {
            path: path.into(),
            branch,
        }
    }

    fn open(&self) -> Result<PromptRepo> {
        PromptRepo::open(&self.path)
    }
}

impl Store for GitStore {
    fn store(&self, r: &NewRelease) -> Result<Stored> {
        let added = self.open()?.add(
            self.branch.as_deref(),
            &AddRequest {
                name: &r.name,
                version: VersionChoice::Exact(r.version.clone()),
                content: Content::Given(&r.content),
                description: r.description.clone(),
                tags: r.tags.clone(),
                message: r.message.clone(),
                // A store holds any set of versions; ordering is the CLI's policy.
                allow_older: true,
            },
        )?;
        Ok(if added.created {
            Stored::Created
        } else {
            Stored::Unchanged
        })
    }

    fn fetch(&self, name: &Name, version: &Version) -> Result<Vec<u8>> {
        let repo = self.open()?;
        let release = repo
            .release(name, version)?
            .ok_or_else(|| Error::not_found(format!("prompt '{name}' has no release {version}")))?;
        repo.release_content(&release)
    }

    fn list(&self, prefix: Option<&str>) -> Result<Vec<Name>> {
        Ok(self
            .open()?
            .all_release_refs()?
            .into_keys()
            .filter(|n| prefix.is_none_or(|p| n.matches_prefix(p)))
            .collect())
    }

    fn delete(&self, name: &Name, version: &Version) -> Result<()> {
        self.open()?
            .delete_release(self.branch.as_deref(), name, version, true)
    }

    fn exists(&self, name: &Name, version: &Version) -> Result<bool> {
        Ok(self.open()?.release(name, version)?.is_some())
    }

    fn versions(&self, name: &Name) -> Result<Vec<Version>> {
        let mut v: Vec<Version> = self
            .open()?
            .release_refs(name)?
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        v.sort();
        Ok(v)
    }

    fn metadata(&self, name: &Name, version: &Version) -> Result<ReleaseMeta> {
        let repo = self.open()?;
        let release = repo
            .release(name, version)?
            .ok_or_else(|| Error::not_found(format!("prompt '{name}' has no release {version}")))?;
        let m = repo.version_meta(&release, &Default::default())?;
        Ok(ReleaseMeta {
            name: m.name,
            version: m.version,
            created: m.created,
            author: m.author,
            size: m.size,
            sha256: m.sha256,
            message: m.message,
            description: m.description,
            tags: m.tags,
        })
    }

    fn prompt_metadata(&self, name: &Name) -> Result<PromptMeta> {
        let repo = self.open()?;
        let branch = repo.branch(self.branch.as_deref())?;
        let commit = branch.read_commit();
        let present = commit
            .map(|c| repo.blob_id_at(c, &name.content_path()))
            .transpose()?
            .flatten()
            .is_some();
        if !present {
            return Err(Error::not_found(format!(
                "no prompt '{name}' on branch '{}'",
                branch.short_name()
            )));
        }
        let s = repo.sidecar_at(commit, name)?;
        Ok(PromptMeta {
            description: s.description,
            tags: s.tags,
        })
    }

    fn update_metadata(&self, name: &Name, update: &MetadataUpdate) -> Result<PromptMeta> {
        self.prompt_metadata(name)?;
        self.open()?.update_prompt_metadata(
            self.branch.as_deref(),
            name,
            update.description.clone(),
            update.tags.clone(),
        )?;
        self.prompt_metadata(name)
    }

    fn labels(&self, name: &Name) -> Result<BTreeMap<Label, Version>> {
        let repo = self.open()?;
        let branch = repo.branch(self.branch.as_deref())?;
        let s = repo.sidecar_at(branch.read_commit(), name)?;
        Ok(s.labels
            .iter()
            .filter_map(|(l, v)| Some((Label::parse(l).ok()?, Version::parse(v).ok()?)))
            .collect())
    }

    fn set_label(
        &self,
        name: &Name,
        label: &Label,
        target: Option<&Version>,
    ) -> Result<Option<Version>> {
        Ok(self
            .open()?
            .set_label(self.branch.as_deref(), name, label, target)?
            .from)
    }
}
