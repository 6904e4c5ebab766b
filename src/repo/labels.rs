//! Labels and prompt metadata on the branch: both live in the prompt's sidecar
//! (`prompts/<name>.yaml`), so every change is one small, reviewable commit. One helper
//! updates a sidecar for every writer (`add`, labels, metadata, `import`).

use gix::ObjectId;

use super::PromptRepo;
use super::commit::{Edit, Plan};
use super::paths::{content_path, sidecar_path};
use crate::error::{Error, Hint, Result};
use crate::meta::Expect;
use crate::meta::{MetadataUpdate, PromptMeta, Sidecar};
use crate::name::{Label, Name};
use crate::version::Version;

/// The outcome of moving a label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelChange {
    /// What the label pointed to before.
    pub from: Option<Version>,
    /// What it points to now.
    pub to: Option<Version>,
}

impl PromptRepo {
    /// An edit that writes the prompt's sidecar, or removes it when it is empty.
    pub(crate) fn sidecar_edit(&self, name: &Name, sidecar: &Sidecar) -> Result<Edit> {
        if sidecar.is_empty() {
            return Ok(Edit {
                path: sidecar_path(name),
                blob: None,
            });
        }
        self.blob_edit(&sidecar_path(name), sidecar.to_yaml().as_bytes())
    }

    /// Read the prompt's sidecar at `parent`, let `change` edit it, and return the edit
    /// that writes it, or `None` if nothing changed.
    pub(crate) fn sidecar_update(
        &self,
        parent: Option<ObjectId>,
        name: &Name,
        change: impl FnOnce(&mut Sidecar),
    ) -> Result<Option<Edit>> {
        let before = self.sidecar_at(parent, name)?;
        let mut after = before.clone();
        change(&mut after);
        if after == before {
            return Ok(None);
        }
        self.sidecar_edit(name, &after).map(Some)
    }

    /// Point `label` of `name` at `target` (or remove it with `None`) on the branch, if it
    /// currently matches `expect` (compare-and-swap; a conflict otherwise).
    pub fn set_label(
        &self,
        branch: Option<&str>,
        name: &Name,
        label: &Label,
        expect: &Expect,
        target: Option<&Version>,
    ) -> Result<LabelChange> {
        let lock = self.lock()?;
        let branch = self.branch(branch)?;
        self.ensure_writable(&branch)?;
        if let Some(v) = target
            && self.release(name, v)?.is_none()
        {
            return Err(
                Error::not_found(format!("prompt '{name}' has no release {v} to label")).with_hint(
                    Hint::ListVersions {
                        name: name.to_string(),
                    },
                ),
            );
        }
        if let Some(v) = target
            && let Some(why) =
                self.unsigned_label_target(branch.read_commit(), name, label.as_str(), v)?
        {
            return Err(unsigned_error(&why));
        }
        let mut from = None;
        self.commit_plans(
            &lock,
            &branch,
            |parent| {
                let sidecar = self.sidecar_at(parent, name)?;
                let old = sidecar.label(label);
                from = old.clone();
                let matches = match expect {
                    Expect::Any => true,
                    Expect::Absent => !sidecar.labels.contains_key(label.as_str()),
                    Expect::Is(v) => old.as_ref() == Some(v),
                };
                if !matches {
                    let now = old
                        .as_ref()
                        .map_or_else(|| "nothing".to_owned(), Version::to_string);
                    return Err(Error::conflict(format!(
                        "label '{label}' of '{name}' points to {now}, not what the move expected"
                    ))
                    .with_hint(Hint::ListLabels {
                        name: name.to_string(),
                    }));
                }
                if old.as_ref() == target
                    || (target.is_none() && !sidecar.labels.contains_key(label.as_str()))
                {
                    return Ok(Vec::new());
                }
                let show = |v: Option<&Version>| v.map_or("(none)".to_owned(), Version::to_string);
                let message = format!(
                    "Label {name}: {label} {} -> {}\n",
                    show(old.as_ref()),
                    show(target)
                );
                let edit = self.sidecar_update(parent, name, |s| match target {
                    Some(v) => {
                        s.labels.insert(label.to_string(), v.to_string());
                    }
                    None => {
                        s.labels.remove(label.as_str());
                    }
                })?;
                Ok(vec![Plan {
                    edits: edit.into_iter().collect(),
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
            .with_hint(Hint::ListLabels {
                name: name.to_string(),
            }));
        }
        Ok(LabelChange {
            from,
            to: target.cloned(),
        })
    }

    /// Move many labels in one commit on the branch, each by compare-and-swap: a move
    /// whose label no longer matches what it expects, or whose target is not released,
    /// fails alone and the others land. Returns each move's outcome (where the label
    /// pointed before), in order.
    pub fn set_labels(
        &self,
        branch: Option<&str>,
        moves: &[crate::store::LabelSet],
    ) -> Result<Vec<Result<Option<Version>>>> {
        let lock = self.lock()?;
        let branch = self.branch(branch)?;
        self.ensure_writable(&branch)?;
        let mut outcomes: Vec<Result<Option<Version>>> = Vec::new();
        let mut released = Vec::with_capacity(moves.len());
        let mut unsigned = Vec::with_capacity(moves.len());
        let head = branch.read_commit();
        for m in moves {
            released.push(match &m.target {
                Some(v) => self.release(&m.name, v)?.is_some(),
                None => true,
            });
            unsigned.push(match (&m.target, released.last()) {
                (Some(v), Some(true)) => {
                    self.unsigned_label_target(head, &m.name, m.label.as_str(), v)?
                }
                _ => None,
            });
        }
        self.commit_plans(
            &lock,
            &branch,
            |parent| {
                outcomes.clear();
                let mut sidecars: std::collections::BTreeMap<&Name, Sidecar> =
                    std::collections::BTreeMap::new();
                let mut lines = Vec::new();
                for ((m, released), unsigned) in moves.iter().zip(&released).zip(&unsigned) {
                    if let Some(why) = unsigned {
                        outcomes.push(Err(unsigned_error(why)));
                        continue;
                    }
                    if !released {
                        outcomes.push(Err(crate::meta::no_release(
                            &m.name,
                            m.target
                                .as_ref()
                                .unwrap_or_else(|| unreachable!("checked above")),
                        )));
                        continue;
                    }
                    let sidecar = match sidecars.get_mut(&m.name) {
                        Some(s) => s,
                        None => sidecars
                            .entry(&m.name)
                            .or_insert(self.sidecar_at(parent, &m.name)?),
                    };
                    let old = sidecar.label(&m.label);
                    if !m.expect.matches(old.as_ref()) {
                        outcomes.push(Err(Error::conflict(format!(
                            "label '{}' of '{}' points to {}, not what the move expected",
                            m.label,
                            m.name,
                            old.as_ref()
                                .map_or_else(|| "nothing".to_owned(), Version::to_string)
                        ))));
                        continue;
                    }
                    let show =
                        |v: Option<&Version>| v.map_or("(none)".to_owned(), Version::to_string);
                    lines.push(format!(
                        "{}: {} {} -> {}",
                        m.name,
                        m.label,
                        show(old.as_ref()),
                        show(m.target.as_ref())
                    ));
                    match &m.target {
                        Some(v) => {
                            sidecar.labels.insert(m.label.to_string(), v.to_string());
                        }
                        None => {
                            sidecar.labels.remove(m.label.as_str());
                        }
                    }
                    outcomes.push(Ok(old));
                }
                let mut edits = Vec::new();
                for (name, sidecar) in &sidecars {
                    if *sidecar != self.sidecar_at(parent, name)? {
                        edits.push(self.sidecar_edit(name, sidecar)?);
                    }
                }
                if edits.is_empty() {
                    return Ok(Vec::new());
                }
                Ok(vec![Plan {
                    edits,
                    message: format!("Label {} prompts\n\n{}\n", sidecars.len(), lines.join("\n")),
                }])
            },
            &mut || Ok(()),
        )?;
        Ok(outcomes)
    }

    /// The prompt's current description and keywords on the branch (not found if the
    /// prompt has no content there).
    pub fn prompt_meta(&self, branch: Option<&str>, name: &Name) -> Result<PromptMeta> {
        let branch = self.branch(branch)?;
        let commit = branch.read_commit();
        let present = commit
            .map(|c| self.blob_id_at(c, &content_path(name)))
            .transpose()?
            .flatten()
            .is_some();
        if !present {
            return Err(Error::not_found(format!(
                "no prompt '{name}' on branch '{}'",
                branch.short_name()
            ))
            .with_hint(Hint::ListPrompts));
        }
        Ok(self.sidecar_at(commit, name)?.prompt_meta())
    }

    /// Change the prompt's description and keywords on the branch (one commit, or none
    /// if nothing changes). Releases already made keep the metadata they were made with.
    pub fn update_prompt_metadata(
        &self,
        branch: Option<&str>,
        name: &Name,
        update: &MetadataUpdate,
    ) -> Result<PromptMeta> {
        self.prompt_meta(branch, name)?;
        let lock = self.lock()?;
        let branch_state = self.branch(branch)?;
        self.ensure_writable(&branch_state)?;
        self.commit_plans(
            &lock,
            &branch_state,
            |parent| {
                let edit = self.sidecar_update(parent, name, |s| {
                    let mut meta = s.prompt_meta();
                    meta.apply(update);
                    s.set_prompt_meta(meta);
                })?;
                Ok(edit
                    .map(|e| Plan {
                        edits: vec![e],
                        message: format!("Update metadata of {name}\n"),
                    })
                    .into_iter()
                    .collect())
            },
            &mut || Ok(()),
        )?;
        drop(lock);
        self.prompt_meta(branch, name)
    }
}

/// The refusal of a label move to an unsigned release, where the label takes signed ones only.
fn unsigned_error(why: &str) -> Error {
    Error::integrity(why.to_owned()).with_hint(
        "release a signed version ('pulse add --sign', 'pulse release --sign') and point the label at it; 'signed_labels' in .pulse/config.yaml names these labels",
    )
}
