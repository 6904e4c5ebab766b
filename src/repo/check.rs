//! The pull-request gate (`pulse check`): every rule a prompt repository must keep, and
//! what changed since a base revision, prompt by prompt.

use std::collections::BTreeMap;

use gix::ObjectId;

use super::paths::PROMPTS_DIR;
use super::{Branch, PromptRepo};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::meta::Sidecar;
use crate::name::{Label, Name};
use crate::template::BreakingChange;
use crate::version::{Version, latest};

/// How one prompt changed between the base and the checked revision.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PromptChange {
    /// The prompt.
    pub name: String,
    /// `added`, `modified` or `deleted`.
    pub change: &'static str,
    /// The content before (`None`: it did not exist).
    #[serde(skip)]
    pub before: Option<Vec<u8>>,
    /// The content after (`None`: it was deleted).
    #[serde(skip)]
    pub after: Option<Vec<u8>>,
    /// The highest release of the prompt, if any.
    pub latest_release: Option<String>,
    /// The release whose content the new working content equals, if any.
    pub matches_release: Option<String>,
    /// Whether the new content still has to be released.
    pub release_pending: bool,
    /// What the new content's template declaration breaks for renders of the highest
    /// release that is not a pre-release (empty: nothing, or no pending release). The next
    /// release must then be a major version; `pulse release` refuses anything less.
    pub breaking: Vec<BreakingChange>,
    /// The release `breaking` is relative to.
    pub breaking_since: Option<String>,
}

/// The outcome of `check`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    /// The branch (or revision) checked.
    pub checked: String,
    /// The base the changes are relative to, if one was given.
    pub base: Option<String>,
    /// Every rule broken (empty: the gate passes).
    pub violations: Vec<String>,
    /// Releases verified.
    pub releases_checked: usize,
    /// What the content checks found in the prompts (hidden characters, likely secrets);
    /// a finding that is an error fails the gate.
    pub lint: Vec<crate::lint::Finding>,
    /// The prompts that changed since the base.
    pub changes: Vec<PromptChange>,
}

impl PromptRepo {
    /// What `content` breaks for renders of the highest release of `name` that is not a
    /// pre-release, and that release (nothing without such a release or a breaking change).
    fn breaking_since(
        &self,
        name: &Name,
        versions: &[(Version, ObjectId)],
        content: &[u8],
    ) -> Result<(Vec<BreakingChange>, Option<String>)> {
        let Some((base, tag)) = versions
            .iter()
            .filter(|(v, _)| !v.is_prerelease())
            .max_by(|a, b| a.0.cmp(&b.0))
        else {
            return Ok((Vec::new(), None));
        };
        let release = self.read_release(name, base, *tag)?;
        let head = self
            .open_blob(self.release_blob_id(&release)?)?
            .head(crate::bounded::FRONTMATTER.max_bytes)?;
        let breaking = crate::template::breaking_between(&head, content);
        let since = (!breaking.is_empty()).then(|| base.to_string());
        Ok((breaking, since))
    }

    fn files_under(&self, commit: ObjectId, dir: &str) -> Result<BTreeMap<String, ObjectId>> {
        let prefix = format!("{dir}/");
        Ok(self
            .flatten(Some(commit))?
            .into_iter()
            .filter(|(path, _)| path.starts_with(&prefix))
            .map(|(path, (_, id))| (path, id))
            .collect())
    }

    /// Check the branch against every rule, and summarise what changed since `base`.
    pub fn check(&self, branch: &Branch, base: Option<&str>) -> Result<CheckReport> {
        if self.is_shallow() {
            return Err(Error::other(
                "this is a shallow clone: releases point to commits it does not have, so they cannot be checked",
            )
            .with_hint("fetch the full history and the tags: 'git fetch --unshallow --tags' (in CI: a checkout with fetch-depth 0)"));
        }
        let commit = branch.read_commit().ok_or_else(|| {
            Error::not_found(format!("branch '{}' has no commits", branch.short_name()))
        })?;
        let mut violations = Vec::new();
        match self.format_at(commit) {
            Ok(Some(f)) if f > crate::meta::FORMAT_VERSION => violations.push(format!(
                "{}: format {f} is newer than this pulse understands ({})",
                super::SETTINGS_PATH,
                crate::meta::FORMAT_VERSION
            )),
            Ok(Some(_)) => {}
            Ok(None) => violations.push(format!(
                "{} is missing: run 'pulse init'",
                super::SETTINGS_PATH
            )),
            Err(e) => violations.push(e.message().to_owned()),
        }
        let releases = self.all_release_refs()?;
        let files = self.files_under(commit, PROMPTS_DIR)?;
        let mut lint = Vec::new();
        for (path, blob) in &files {
            let rel = &path[PROMPTS_DIR.len() + 1..];
            if let Some(stem) = rel.strip_suffix(".md") {
                match self.read_blob(*blob) {
                    Ok(bytes) => lint.extend(crate::lint::lint(path, &bytes)),
                    Err(e) => violations.push(format!("{path}: {}", e.message())),
                }
                if let Err(e) = Name::parse(stem) {
                    violations.push(format!("{path}: {e}"));
                }
            } else if let Some(stem) = rel.strip_suffix(".yaml") {
                if !files.contains_key(&format!("{}/{stem}.md", PROMPTS_DIR)) {
                    violations.push(format!(
                        "{path}: metadata for a prompt that has no {stem}.md"
                    ));
                }
                match Sidecar::parse(&self.read_blob(*blob)?, path) {
                    Err(e) => violations.push(e.message().to_owned()),
                    Ok(sidecar) => {
                        let Ok(name) = Name::parse(stem) else {
                            continue;
                        };
                        for (label, version) in &sidecar.labels {
                            if let Err(e) = Label::parse(label) {
                                violations.push(format!("{path}: {e}"));
                            }
                            let released = Version::parse(version).ok().is_some_and(|v| {
                                releases
                                    .get(&name)
                                    .is_some_and(|vs| vs.iter().any(|(x, _)| *x == v))
                            });
                            if !released {
                                violations.push(format!(
                                    "{path}: label '{label}' points to {version}, which is not a release of '{name}'"
                                ));
                            } else if let Ok(v) = Version::parse(version)
                                && let Some(why) =
                                    self.unsigned_label_target(Some(commit), &name, label, &v)?
                            {
                                violations.push(format!("{path}: {why}"));
                            }
                        }
                    }
                }
            } else {
                violations.push(format!(
                    "{path}: not a prompt (.md) or its metadata (.yaml)"
                ));
            }
        }
        let verified = self.verify(None)?;
        let releases_checked = verified.checked;
        violations.extend(
            verified
                .problems
                .into_iter()
                .map(|p| format!("release {}: {}", p.tag, p.problem)),
        );

        let mut changes = Vec::new();
        let base_commit = base.map(|b| self.resolve_rev(b)).transpose()?;
        if let Some(base_commit) = base_commit {
            let before = self.files_under(base_commit, PROMPTS_DIR)?;
            let paths: std::collections::BTreeSet<&String> = before
                .keys()
                .chain(files.keys())
                .filter(|p| p.ends_with(".md"))
                .collect();
            for path in paths {
                let (b, a) = (before.get(path), files.get(path));
                if b == a {
                    continue;
                }
                let stem = &path[PROMPTS_DIR.len() + 1..path.len() - 3];
                let Ok(name) = Name::parse(stem) else {
                    continue;
                };
                let read = |id: Option<&ObjectId>| id.map(|i| self.read_blob(*i)).transpose();
                let (before_bytes, after_bytes) = (read(b)?, read(a)?);
                let versions: Vec<(Version, ObjectId)> =
                    releases.get(&name).cloned().unwrap_or_default();
                let latest_release = latest(versions.iter().map(|(v, _)| v)).cloned();
                let mut matches_release = None;
                if let Some(after) = &after_bytes {
                    let sha = Digest::of(after);
                    for (v, tag) in &versions {
                        if self
                            .read_release(&name, v, *tag)
                            .is_ok_and(|r| r.trailers.sha256 == sha)
                        {
                            matches_release = Some(v.to_string());
                        }
                    }
                }
                let (breaking, breaking_since) = match &after_bytes {
                    Some(after) if matches_release.is_none() => {
                        self.breaking_since(&name, &versions, after)?
                    }
                    _ => (Vec::new(), None),
                };
                changes.push(PromptChange {
                    name: name.to_string(),
                    change: match (&before_bytes, &after_bytes) {
                        (None, _) => "added",
                        (_, None) => "deleted",
                        _ => "modified",
                    },
                    release_pending: after_bytes.is_some() && matches_release.is_none(),
                    before: before_bytes,
                    after: after_bytes,
                    latest_release: latest_release.map(|v| v.to_string()),
                    matches_release,
                    breaking,
                    breaking_since,
                });
            }
        }
        Ok(CheckReport {
            checked: branch.short_name(),
            base: base.map(str::to_owned),
            violations,
            releases_checked,
            lint,
            changes,
        })
    }
}
