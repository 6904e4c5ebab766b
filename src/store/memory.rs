//! An in-memory store: the reference implementation of the [`Store`] contract, for tests
//! and for programs that want a store without a disk.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::{Expect, NewRelease, Store, Stored, Unverified, no_release};
use crate::digest::Digest;
use crate::error::{Error, Hint, Result};
use crate::meta::{MetadataUpdate, PromptMeta, ReleaseMeta};
use crate::name::{Label, Name, NamePrefix};
use crate::version::Version;

#[derive(Debug, Default)]
struct Prompt {
    releases: BTreeMap<Version, (bytes::Bytes, ReleaseMeta)>,
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
    /// An empty store whose releases are authored by `author` unless they say otherwise.
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

fn no_prompt(name: &Name) -> Error {
    Error::not_found(format!("no prompt '{name}' in memory")).with_hint(Hint::ListPrompts)
}

impl Store for MemoryStore {
    fn describe(&self) -> String {
        "in-memory store".to_owned()
    }

    fn put(&self, r: &NewRelease) -> Result<Stored> {
        super::refuse_sealed(r, &self.describe())?;
        let mut map = self.lock();
        let prompt = map.entry(r.name.clone()).or_default();
        let sha = Digest::of(&r.content);
        if let Some((_, meta)) = prompt.releases.get(&r.version) {
            return if meta.sha256 == sha {
                Ok(Stored::Unchanged)
            } else {
                Err(Error::conflict(format!(
                    "release '{}@{}' already exists with different content",
                    r.name, r.version
                ))
                .with_hint(Hint::NewVersion))
            };
        }
        prompt.meta.apply(&MetadataUpdate {
            description: r.description.clone(),
            tags: r.tags.clone(),
        });
        let created = match &r.created {
            Some(c) => c.clone(),
            None => crate::repo::format_time(crate::config::now()?),
        };
        let meta = ReleaseMeta {
            name: r.name.clone(),
            version: r.version.clone(),
            created,
            author: r.author.clone().unwrap_or_else(|| self.author.clone()),
            size: r.content.len() as u64,
            sha256: sha,
            message: r
                .message
                .clone()
                .unwrap_or_else(|| format!("Release {}@{}", r.name, r.version)),
            description: prompt.meta.description.clone(),
            tags: prompt.meta.tags.clone(),
            commit: None,
            path: None,
            encryption: None,
        };
        prompt
            .releases
            .insert(r.version.clone(), (r.content.clone(), meta));
        Ok(Stored::Created)
    }

    fn read(&self, name: &Name, version: &Version) -> Result<Unverified> {
        self.lock()
            .get(name)
            .and_then(|p| p.releases.get(version))
            .map(|(c, m)| Unverified {
                content: c.to_vec(),
                sha256: m.sha256,
                size: m.size,
            })
            .ok_or_else(|| no_release(name, version))
    }

    fn list(&self, prefix: &NamePrefix) -> Result<Vec<Name>> {
        Ok(self
            .lock()
            .iter()
            .filter(|(n, p)| !p.releases.is_empty() && n.is_under(prefix))
            .map(|(n, _)| n.clone())
            .collect())
    }

    fn delete(&self, name: &Name, version: &Version) -> Result<()> {
        let mut map = self.lock();
        let prompt = map.get_mut(name).ok_or_else(|| no_release(name, version))?;
        if let Some((label, _)) = prompt.labels.iter().find(|(_, v)| *v == version) {
            return Err(Error::conflict(format!(
                "label '{label}' of '{name}' points to {version}"
            ))
            .with_hint(Hint::MoveLabel {
                name: name.to_string(),
                label: label.to_string(),
            }));
        }
        prompt
            .releases
            .remove(version)
            .map(|_| ())
            .ok_or_else(|| no_release(name, version))
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
            .ok_or_else(|| no_release(name, version))
    }

    fn prompt_metadata(&self, name: &Name) -> Result<PromptMeta> {
        self.lock()
            .get(name)
            .map(|p| p.meta.clone())
            .ok_or_else(|| no_prompt(name))
    }

    fn update_metadata(&self, name: &Name, update: &MetadataUpdate) -> Result<PromptMeta> {
        let mut map = self.lock();
        let prompt = map.get_mut(name).ok_or_else(|| no_prompt(name))?;
        prompt.meta.apply(update);
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
        expect: &Expect,
        target: Option<&Version>,
    ) -> Result<Option<Version>> {
        let mut map = self.lock();
        let prompt = map.get_mut(name).ok_or_else(|| no_prompt(name))?;
        let current = prompt.labels.get(label);
        if !expect.matches(current) {
            return Err(Error::conflict(format!(
                "label '{label}' of '{name}' points to {}, not what the move expected",
                current.map_or_else(|| "nothing".to_owned(), Version::to_string)
            ))
            .with_hint(Hint::ListLabels {
                name: name.to_string(),
            }));
        }
        match target {
            Some(v) if !prompt.releases.contains_key(v) => Err(no_release(name, v)),
            Some(v) => Ok(prompt.labels.insert(label.clone(), v.clone())),
            None => prompt.labels.remove(label).map(Some).ok_or_else(|| {
                Error::not_found(format!("prompt '{name}' has no label '{label}'")).with_hint(
                    Hint::ListLabels {
                        name: name.to_string(),
                    },
                )
            }),
        }
    }
}
