//! An in-memory store: the reference implementation of the [`Store`] contract, for tests.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::{MetadataUpdate, NewRelease, PromptMeta, ReleaseMeta, Store, Stored};
use crate::error::{Error, Result};
use crate::meta::sha256_hex;
use crate::name::{Label, Name};
use crate::version::Version;

#[derive(Debug, Default)]
struct Prompt {
    releases: BTreeMap<Version, (Vec<u8>, ReleaseMeta)>,
    meta: PromptMeta,
    labels: BTreeMap<Label, Version>,
}

/// Prompts kept in a map behind a mutex.
#[derive(Debug, Default)]
pub struct MemoryStore {
    prompts: Mutex<BTreeMap<Name, Prompt>>,
    author: String,
}

impl MemoryStore {
    /// An empty store whose releases are authored by `author`.
    pub fn new(author: impl Into<String>) -> Self {
        MemoryStore {
            prompts: Mutex::default(),
            author: author.into(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<Name, Prompt>> {
        // A panic while holding the lock cannot leave a half-made release: recover the map.
        self.prompts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn missing(name: &Name, version: &Version) -> Error {
    Error::not_found(format!("prompt '{name}' has no release {version}"))
}

impl Store for MemoryStore {
    fn store(&self, r: &NewRelease) -> Result<Stored> {
        let mut map = self.lock();
        let prompt = map.entry(r.name.clone()).or_default();
        let sha = format!("sha256:{}", sha256_hex(&r.content));
        if let Some((_, meta)) = prompt.releases.get(&r.version) {
            return if meta.sha256 == sha {
                Ok(Stored::Unchanged)
            } else {
                Err(Error::conflict(format!(
                    "release '{}@{}' already exists with different content",
                    r.name, r.version
                )))
            };
        }
        if let Some(d) = &r.description {
            prompt.meta.description = (!d.is_empty()).then(|| d.clone());
        }
        if let Some(t) = &r.tags {
            prompt.meta.tags = t.clone();
        }
        let meta = ReleaseMeta {
            name: r.name.clone(),
            version: r.version.clone(),
            created: crate::repo::format_time(crate::config::now()?),
            author: self.author.clone(),
            size: r.content.len() as u64,
            sha256: sha,
            message: r
                .message
                .clone()
                .unwrap_or_else(|| format!("Release {}@{}", r.name, r.version)),
            description: prompt.meta.description.clone(),
            tags: prompt.meta.tags.clone(),
        };
        prompt
            .releases
            .insert(r.version.clone(), (r.content.clone(), meta));
        Ok(Stored::Created)
    }

    fn fetch(&self, name: &Name, version: &Version) -> Result<Vec<u8>> {
        self.lock()
            .get(name)
            .and_then(|p| p.releases.get(version))
            .map(|(c, _)| c.clone())
            .ok_or_else(|| missing(name, version))
    }

    fn list(&self, prefix: Option<&str>) -> Result<Vec<Name>> {
        Ok(self
            .lock()
            .iter()
            .filter(|(n, p)| {
                !p.releases.is_empty() && prefix.is_none_or(|pre| n.matches_prefix(pre))
            })
            .map(|(n, _)| n.clone())
            .collect())
    }

    fn delete(&self, name: &Name, version: &Version) -> Result<()> {
        let mut map = self.lock();
        let prompt = map.get_mut(name).ok_or_else(|| missing(name, version))?;
        if let Some((label, _)) = prompt.labels.iter().find(|(_, v)| *v == version) {
            return Err(Error::conflict(format!(
                "label '{label}' of '{name}' points to {version}"
            )));
        }
        prompt
            .releases
            .remove(version)
            .map(|_| ())
            .ok_or_else(|| missing(name, version))
    }

    fn exists(&self, name: &Name, version: &Version) -> Result<bool> {
        Ok(self
            .lock()
            .get(name)
            .is_some_and(|p| p.releases.contains_key(version)))
    }

    fn versions(&self, name: &Name) -> Result<Vec<Version>> {
        Ok(self
            .lock()
            .get(name)
            .map(|p| p.releases.keys().cloned().collect())
            .unwrap_or_default())
    }

    fn metadata(&self, name: &Name, version: &Version) -> Result<ReleaseMeta> {
        self.lock()
            .get(name)
            .and_then(|p| p.releases.get(version))
            .map(|(_, m)| m.clone())
            .ok_or_else(|| missing(name, version))
    }

    fn prompt_metadata(&self, name: &Name) -> Result<PromptMeta> {
        self.lock()
            .get(name)
            .map(|p| p.meta.clone())
            .ok_or_else(|| Error::not_found(format!("no prompt '{name}'")))
    }

    fn update_metadata(&self, name: &Name, update: &MetadataUpdate) -> Result<PromptMeta> {
        let mut map = self.lock();
        let prompt = map
            .get_mut(name)
            .ok_or_else(|| Error::not_found(format!("no prompt '{name}'")))?;
        if let Some(d) = &update.description {
            prompt.meta.description = (!d.is_empty()).then(|| d.clone());
        }
        if let Some(t) = &update.tags {
            prompt.meta.tags = t.clone();
        }
        Ok(prompt.meta.clone())
    }

    fn labels(&self, name: &Name) -> Result<BTreeMap<Label, Version>> {
        Ok(self
            .lock()
            .get(name)
            .map(|p| p.labels.clone())
            .unwrap_or_default())
    }

    fn set_label(
        &self,
        name: &Name,
        label: &Label,
        target: Option<&Version>,
    ) -> Result<Option<Version>> {
        let mut map = self.lock();
        let prompt = map
            .get_mut(name)
            .ok_or_else(|| Error::not_found(format!("no prompt '{name}'")))?;
        match target {
            Some(v) if !prompt.releases.contains_key(v) => Err(missing(name, v)),
            Some(v) => Ok(prompt.labels.insert(label.clone(), v.clone())),
            None => {
                prompt.labels.remove(label).map(Some).ok_or_else(|| {
                    Error::not_found(format!("prompt '{name}' has no label '{label}'"))
                })
            }
        }
    }
}
