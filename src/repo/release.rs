//! Releases: storing a prompt's content and tagging it (`add`, `release`), the release tag
//! object itself (built in one place, for `add` and `import` alike), the repository's
//! format record (`init`), and deleting a release.
//!
//! The branch moves first, then the tag is created only if absent. A run killed in
//! between leaves the content committed but unreleased; the same command run again finds
//! the content already there, makes no new commit and creates the tag.

use gix::ObjectId;
use gix::refs::Target;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};

use super::commit::{Plan, detached_error, is_lock_busy, is_ref_race, locked_error};
use super::paths::{content_path, tag_name, tag_ref};
use super::sign::{SignChoice, Signer};
use super::{PromptRepo, Release};
use crate::digest::{Digest, Hasher};
use crate::error::{Error, GitResultExt, Hint, Result};
use crate::meta::{FORMAT_VERSION, MetadataUpdate, Trailers, render_tag_message};
use crate::name::Name;
use crate::template;
use crate::version::{Bump, Version};

/// How much of a content is read to find its frontmatter: the most a frontmatter may be.
const TEMPLATE_HEAD: usize = crate::bounded::FRONTMATTER.max_bytes;

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

/// Who released, and when: the tagger of a release tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// `(name, email)`; `None`: the git identity.
    pub author: Option<(String, String)>,
    /// The release time; `None`: now (or `PULSE_TIMESTAMP`).
    pub time: Option<gix::date::Time>,
}

impl Provenance {
    /// Parse an author written `Name <email>` and an RFC 3339 time, as stores record them.
    pub fn parse(author: Option<&str>, created: Option<&str>) -> Result<Provenance> {
        let author = author
            .map(|a| {
                crate::meta::parse_author(a).ok_or_else(|| {
                    Error::usage(format!(
                        "author '{}' is not of the form 'Name <email>'",
                        crate::name::printable(a)
                    ))
                })
            })
            .transpose()?;
        let time = created
            .map(|c| {
                crate::config::parse_time(c).ok_or_else(|| {
                    Error::usage(format!(
                        "time '{}' is not RFC 3339",
                        crate::name::printable(c)
                    ))
                })
            })
            .transpose()?;
        Ok(Provenance { author, time })
    }
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
    /// New description and keywords for the prompt (unchanged where `None`).
    pub metadata: MetadataUpdate,
    /// The release message.
    pub message: Option<String>,
    /// Allow a version lower than the highest existing release (a back-port).
    pub allow_older: bool,
    /// Who released it and when (default: the git identity, now).
    pub provenance: Provenance,
    /// Whether to sign the release tag (`--sign`, `--no-sign`, else `tag.gpgSign`).
    pub sign: SignChoice,
    /// Check the template variables the content declares: a declaration that is valid, a
    /// body that is a valid template, and no change that breaks renders of the release
    /// below it unless the version is a major step. A copy of a release that exists
    /// elsewhere (sync, an upload) is not checked: it is already released.
    pub check_templates: bool,
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

/// A release tag to write: everything its object and trailers record.
pub(crate) struct TagSpec<'a> {
    pub name: &'a Name,
    pub version: &'a Version,
    pub commit: ObjectId,
    pub blob: ObjectId,
    pub size: u64,
    pub sha256: Digest,
    pub message: &'a str,
    pub tagger: gix::actor::Signature,
    /// Sign the tag (as git's settings say), or not.
    pub signer: Option<&'a Signer>,
}

/// The conflict of a release that exists with other content.
pub(crate) fn conflict_exists(existing: &Release, new_sha: &Digest) -> Error {
    let spec = existing.spec();
    Error::conflict(format!(
        "release '{spec}' already exists with different content ({} at commit {}, yours is {new_sha})",
        existing.trailers.sha256, existing.commit
    ))
    .with_hint(Hint::NewVersion)
}

/// A ref edit that creates `refs/tags/<tag_name>` pointing at `tag_id`, only if absent.
pub(crate) fn tag_edit(tag_name: &str, tag_id: ObjectId) -> Result<RefEdit> {
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
    /// The tagger of a release: the given author and time, else the git identity and now.
    pub(crate) fn tagger(&self, provenance: &Provenance) -> Result<gix::actor::Signature> {
        let mut sig = match &provenance.author {
            // A given author needs no configured identity.
            Some((name, email)) => gix::actor::Signature {
                name: name.as_str().into(),
                email: email.as_str().into(),
                time: crate::config::now()?,
            },
            None => self.signature()?,
        };
        if let Some(t) = provenance.time {
            sig.time = t;
        }
        Ok(sig)
    }

    /// Write a release tag object (annotated, with the trailers) and return its id. The
    /// one place a release tag is built.
    pub(crate) fn write_tag_object(&self, t: TagSpec<'_>) -> Result<ObjectId> {
        let trailers = Trailers {
            name: t.name.clone(),
            version: t.version.clone(),
            path: content_path(t.name),
            blob: Some(t.blob.to_string()),
            size: t.size,
            sha256: t.sha256,
            format: FORMAT_VERSION,
        };
        let ident = format!("{} <{}>", t.tagger.name, t.tagger.email);
        let mut tag = gix::objs::Tag {
            target: t.commit,
            target_kind: gix::object::Kind::Commit,
            name: tag_name(t.name, t.version).as_str().into(),
            tagger: Some(t.tagger),
            message: render_tag_message(t.message, &trailers).into(),
            signature: None,
        };
        if let Some(signer) = t.signer {
            // The payload is the object without a signature, as git signs it; the signature
            // then follows the message, whose last newline the object writes between them.
            let mut payload = Vec::new();
            gix::objs::WriteTo::write_to(&tag, &mut payload)
                .map_err(|e| Error::io("cannot encode the tag to sign", e))?;
            let signature = signer.sign(&payload, &ident)?;
            if tag.message.last() == Some(&b'\n') {
                tag.message.pop();
            }
            tag.signature = Some(signature.into());
        }
        Ok(self
            .repo
            .write_object(&tag)
            .git_ctx(|| "cannot write the tag object")?
            .detach())
    }

    /// Create the release tag only if it does not exist yet. Returns the tag object and
    /// whether it was created (an identical release already present is a success;
    /// different content is a conflict).
    fn create_tag(&self, t: TagSpec<'_>) -> Result<(ObjectId, bool)> {
        let (name, version, sha256) = (t.name.clone(), t.version.clone(), t.sha256);
        let spec = tag_name(&name, &version);
        let tag_id = self.write_tag_object(t)?;
        match self.repo.edit_reference(tag_edit(&spec, tag_id)?) {
            Ok(_) => Ok((tag_id, true)),
            Err(e) if is_ref_race(&e) => {
                let existing = self.release(&name, &version)?.ok_or_else(|| {
                    Error::conflict(format!("release '{spec}' changed while pulse created it"))
                        .retryable(true)
                })?;
                if existing.trailers.sha256 == sha256 {
                    Ok((existing.tag, false))
                } else {
                    Err(conflict_exists(&existing, &sha256))
                }
            }
            Err(e) if is_lock_busy(&e) => {
                Err(locked_error(format!("cannot create tag '{spec}'"), e))
            }
            Err(e) => Err(Error::git(format!("cannot create tag '{spec}'"), e)),
        }
    }

    /// Store content as a prompt's working content and release it (`add`), or release the
    /// committed working content (`release`).
    pub fn add(&self, branch: Option<&str>, req: &AddRequest<'_>) -> Result<Added> {
        // A signer that cannot be set up stops the release before anything is written.
        let signer = Signer::configured(&self.repo, req.sign)?;
        let lock = self.lock()?;
        let branch = self.branch(branch)?;
        branch.full_name.as_ref().ok_or_else(detached_error)?;
        self.ensure_writable(&branch)?;
        let name = req.name;
        let refs = self.release_refs(name)?;
        let highest = refs.iter().map(|(v, _)| v).max().cloned();
        let version = match &req.version {
            VersionChoice::Exact(v) => v.clone(),
            VersionChoice::Bump(b) => match &highest {
                Some(h) => h.bump(*b)?,
                None => Version::first(*b),
            },
        };
        let path = content_path(name);
        // The checksum and size of what is released; committed working content is hashed
        // as it is read, never held whole.
        let mut working = None;
        let (sha256, size) = match req.content {
            Content::Given(bytes) => (Digest::of(bytes), bytes.len() as u64),
            Content::Working => {
                let blob = branch
                    .read_commit()
                    .map(|c| self.blob_id_at(c, &path))
                    .transpose()?
                    .flatten()
                    .ok_or_else(|| {
                        Error::not_found(format!(
                            "prompt '{name}' has no committed content ('{path}') on branch '{}'",
                            branch.short_name()
                        ))
                        .with_hint("commit the file first")
                        .with_hint(Hint::ReleaseFile {
                            name: name.to_string(),
                            path: None,
                        })
                    })?;
                let mut seen = Hasher::new();
                let size = self.copy_blob(blob, &mut seen)?;
                working = Some(blob);
                (seen.finish(), size)
            }
        };
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
            .with_hint(Hint::AllowOlder));
        }
        if req.check_templates {
            self.check_templates(name, &refs, &version, req.content, working)?;
        }
        let spec = tag_name(name, &version);
        let tagger = self.tagger(&req.provenance)?;
        let heads = self.commit_plans(
            &lock,
            &branch,
            |parent| {
                let mut edits = Vec::new();
                if let Content::Given(bytes) = req.content {
                    edits.push(self.blob_edit(&path, bytes)?);
                }
                edits.extend(self.sidecar_update(parent, name, |s| {
                    let mut meta = s.prompt_meta();
                    meta.apply(&req.metadata);
                    s.set_prompt_meta(meta);
                })?);
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
        let blob = self
            .blob_id_at(commit, &path)?
            .ok_or_else(|| Error::other(format!("the commit just made has no '{path}'")))?;
        let (tag, created) = self.create_tag(TagSpec {
            name,
            version: &version,
            commit,
            blob,
            size,
            sha256,
            message: &message,
            tagger,
            signer: signer.as_ref(),
        })?;
        Ok(Added {
            version,
            created,
            commit,
            tag,
        })
    }

    /// Check what a new release declares for its template (see
    /// [`AddRequest::check_templates`]): only the start of a content is read, unless it
    /// declares variables and its body must be checked too.
    fn check_templates(
        &self,
        name: &Name,
        refs: &[(Version, ObjectId)],
        version: &Version,
        content: Content<'_>,
        working: Option<ObjectId>,
    ) -> Result<()> {
        let head = match (content, working) {
            (Content::Given(bytes), _) => bytes[..bytes.len().min(TEMPLATE_HEAD)].to_vec(),
            (Content::Working, Some(blob)) => self.open_blob(blob)?.head(TEMPLATE_HEAD)?,
            (Content::Working, None) => return Ok(()),
        };
        let place = || format!("prompt '{name}'");
        if template::declares_validly(&head).map_err(|e| e.context(place()))? {
            let whole = match (content, working) {
                (Content::Given(bytes), _) => std::borrow::Cow::Borrowed(bytes),
                (_, Some(blob)) => std::borrow::Cow::Owned(self.open_blob(blob)?.into_vec()?),
                (_, None) => std::borrow::Cow::Borrowed(&head[..]),
            };
            template::Template::parse(&whole).map_err(|e| e.context(place()))?;
        }
        let Some(base) = template::baseline(refs.iter().map(|(v, _)| v), version) else {
            return Ok(());
        };
        let Some((_, tag)) = refs.iter().find(|(v, _)| v == base) else {
            return Ok(());
        };
        // A release below that cannot be read (a shallow clone lacks its commit, a tag made
        // by hand is malformed) is for `verify` to report; the release goes on, with a warning.
        let base_head = match self.read_release(name, base, *tag).and_then(|r| {
            self.open_blob(self.release_blob_id(&r)?)?
                .head(TEMPLATE_HEAD)
        }) {
            Ok(head) => head,
            Err(e) => {
                log::warn!(
                    "cannot read '{name}@{base}' to compare its template variables, so they were not compared: {}",
                    e.message()
                );
                return Ok(());
            }
        };
        template::check_bump(name, base, &base_head, version, &head)
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
        let spec = tag_name(name, version);
        let release = self
            .release(name, version)?
            .ok_or_else(|| crate::meta::no_release(name, version))?;
        let sidecar = self.sidecar_at(branch.read_commit(), name)?;
        let holding: Vec<&String> = sidecar
            .labels
            .iter()
            .filter(|(_, v)| **v == version.to_string())
            .map(|(l, _)| l)
            .collect();
        if let Some(l) = holding.first() {
            return Err(
                Error::conflict(format!("label '{l}' of '{name}' points to '{spec}'"))
                    .with_hint("move or remove the label first")
                    .with_hint(Hint::MoveLabel {
                        name: name.to_string(),
                        label: (*l).clone(),
                    }),
            );
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
            .with_hint(Hint::ForceDelete { spec }));
        }
        let edit = RefEdit {
            change: Change::Delete {
                expected: PreviousValue::MustExistAndMatch(Target::Object(release.tag)),
                log: RefLog::AndReference,
            },
            name: tag_ref(name, version)
                .try_into()
                .map_err(|_| Error::usage(format!("'{spec}' is not a valid tag name")))?,
            deref: false,
        };
        self.repo
            .edit_reference(edit)
            .git_ctx(|| format!("cannot delete tag '{spec}'"))?;
        Ok(())
    }
}
