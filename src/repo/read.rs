//! Reading releases, labels and prompts: ref listings, tag objects and tree lookups.

use std::collections::BTreeMap;

use gix::ObjectId;
use gix::object::tree::EntryKind;

use super::blob::STREAM_FROM;
use super::paths::{PROMPTS_DIR, content_path, sidecar_path, tag_name, tag_prefix, tag_ref};
use super::{Branch, PromptRepo};
use crate::digest::Hasher;
use crate::error::{Error, GitResultExt, Hint, Result};
use crate::integrity::{Recorded, Unverified, Verified, VerifyProblem, check_content};
use crate::meta::{LabelMove, ReleaseMeta, Sidecar, Trailers, parse_tag_message};
use crate::name::Name;
use crate::version::Version;

/// One release as its tag records it.
#[derive(Debug, Clone)]
pub struct Release {
    /// The tag object's id.
    pub tag: ObjectId,
    /// The commit the tag points to.
    pub commit: ObjectId,
    /// The tagger: who released, and when.
    pub tagger: gix::actor::Signature,
    /// The release message (without trailers).
    pub message: String,
    /// The parsed trailers.
    pub trailers: Trailers,
}

impl Release {
    /// `name@version` of this release.
    pub fn spec(&self) -> String {
        format!("{}@{}", self.trailers.name, self.trailers.version)
    }

    /// The tagger as `Name <email>`.
    pub fn author(&self) -> String {
        format!("{} <{}>", self.tagger.name, self.tagger.email)
    }

    /// The release time as RFC 3339.
    pub fn created(&self) -> String {
        format_time(self.tagger.time)
    }
}

/// Format a git time as RFC 3339 (`2026-11-26T04:49:57+00:00`).
pub fn format_time(t: gix::date::Time) -> String {
    t.format_or_unix(gix::date::time::format::ISO8601_STRICT)
}

/// A prompt found on a branch: its name, content blob and sidecar blob.
#[derive(Debug, Clone)]
pub struct PromptEntry {
    /// The prompt's name.
    pub name: Name,
    /// The blob of `prompts/<name>.md`.
    pub content: ObjectId,
    /// The blob of `prompts/<name>.yaml`, if there is one.
    pub sidecar: Option<ObjectId>,
}

impl PromptRepo {
    /// Call `f` with the short name (after `refs/tags/`) and target of every tag ref under
    /// `prefix` (a full ref prefix such as `refs/tags/` or `refs/tags/<name>@`), in no
    /// particular order. The one walk over tag refs, without reading any tag object.
    ///
    /// Packed refs are read straight from `packed-refs` (sorted, so a prefix is found by
    /// binary search) rather than decoded and validated one by one: a repository with
    /// 10,000 releases keeps them there, and listing them is what `list` and `versions`
    /// wait for. Loose refs, which override packed ones of the same name, come from gix.
    pub(crate) fn for_each_tag(
        &self,
        prefix: &str,
        f: impl FnMut(&[u8], Option<ObjectId>) -> Result<()>,
    ) -> Result<()> {
        for_each_tag_in(&self.repo.refs, prefix, f)
    }

    /// The versions of `name` that have a release tag, with the tag ref's target, unsorted.
    /// Only refs under `refs/tags/<name>@` are read.
    pub fn release_refs(&self, name: &Name) -> Result<Vec<(Version, ObjectId)>> {
        release_refs_in(&self.repo.refs, name)
    }

    /// Every release tag in the repository, grouped by prompt name. Tags that are not
    /// `name@version` are skipped (`verify` reports the malformed ones).
    pub fn all_release_refs(&self) -> Result<BTreeMap<Name, Vec<(Version, ObjectId)>>> {
        let mut out: BTreeMap<Name, Vec<(Version, ObjectId)>> = BTreeMap::new();
        // A prompt's tags come one after another (`packed-refs` is sorted, and every tag
        // of a prompt starts with `name@`): its name is parsed, and the map entered, once
        // per run rather than once per tag.
        let mut run: Option<TagRun> = None;
        let mut flush = |run: &mut Option<TagRun>| {
            if let Some((_, Some(name), releases)) = run.take() {
                out.entry(name).or_default().extend(releases);
            }
        };
        self.for_each_tag("refs/tags/", |short, id| {
            let Some(at) = short.iter().rposition(|b| *b == b'@') else {
                return Ok(());
            };
            let (name, version) = (&short[..at], &short[at + 1..]);
            if run.as_ref().is_none_or(|(bytes, _, _)| bytes[..] != *name) {
                flush(&mut run);
                let parsed = std::str::from_utf8(name)
                    .ok()
                    .and_then(|n| Name::parse(n).ok());
                run = Some((name.to_vec(), parsed, Vec::new()));
            }
            if let (Some(id), Some(version), Some((_, _, releases))) =
                (id, parse_version(version), run.as_mut())
            {
                releases.push((version, id));
            }
            Ok(())
        })?;
        flush(&mut run);
        Ok(out)
    }

    /// The released versions of each of `names` (in the same order), from one pass over
    /// `refs/tags/`. Only the tags of wanted prompts are parsed, so listing a branch stays
    /// cheap with many tags.
    pub fn versions_of(&self, names: &[&Name]) -> Result<Vec<Vec<Version>>> {
        let wanted: std::collections::HashMap<&[u8], usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str().as_bytes(), i))
            .collect();
        let mut out: Vec<Vec<Version>> = vec![Vec::new(); names.len()];
        self.for_each_tag("refs/tags/", |short, _| {
            let Some(at) = short.iter().rposition(|b| *b == b'@') else {
                return Ok(());
            };
            if let (Some(&i), Some(version)) =
                (wanted.get(&short[..at]), parse_version(&short[at + 1..]))
            {
                out[i].push(version);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Read and parse the release tag object `tag_id` of `name@version`.
    pub fn read_release(
        &self,
        name: &Name,
        version: &Version,
        tag_id: ObjectId,
    ) -> Result<Release> {
        let object = self.repo.find_object(tag_id).git_ctx(|| {
            format!(
                "cannot read the object of tag '{}'",
                tag_name(name, version)
            )
        })?;
        release_from_tag(name, version, tag_id, object.kind, &object.data)
    }

    /// The release `name@version`, if it exists.
    pub fn release(&self, name: &Name, version: &Version) -> Result<Option<Release>> {
        let full = tag_ref(name, version);
        let found = self
            .repo
            .try_find_reference(full.as_str())
            .git_ctx(|| format!("cannot read ref '{full}'"))?;
        match found.and_then(|r| r.target().try_id().map(|id| id.to_owned())) {
            Some(id) => self.read_release(name, version, id).map(Some),
            None => Ok(None),
        }
    }

    /// The blob that holds the content of `release`: the one its tag records (no commit
    /// or tree needs reading), or for an older release the one at its path in its commit
    /// (an integrity failure if there is none).
    pub(super) fn release_blob_id(&self, release: &Release) -> Result<ObjectId> {
        if let Some(id) = release
            .trailers
            .blob
            .as_deref()
            .and_then(|hex| ObjectId::from_hex(hex.as_bytes()).ok())
            .filter(|id| self.repo.has_object(id))
        {
            return Ok(id);
        }
        let path = &release.trailers.path;
        self.blob_id_at(release.commit, path)?.ok_or_else(|| {
            Error::integrity(format!(
                "release '{}' points to commit {} which has no file '{path}'",
                release.spec(),
                release.commit
            ))
            .with_hint("the tag was made by hand or the history was rewritten")
            .with_hint(Hint::Verify { name: None })
        })
    }

    /// The content of `release` as stored, with the checksum and size its tag records;
    /// not yet verified.
    pub fn release_blob(&self, release: &Release) -> Result<Unverified> {
        let id = self.release_blob_id(release)?;
        // The tag records the size: small content is read through gix's object cache (a
        // warm read costs no system call), large content is streamed into one buffer. A
        // tag that lies about the size changes only how the bytes are read, and then fails
        // the checksum.
        let content = if release.trailers.size < STREAM_FROM {
            self.read_blob(id)?
        } else {
            self.open_blob(id)?.into_vec()?
        };
        Ok(Unverified {
            content,
            sha256: release.trailers.sha256,
            size: release.trailers.size,
        })
    }

    /// Copy the content of `release` into `out` as it is read, not yet verified; returns
    /// the checksum and size its tag records.
    pub fn release_blob_into(
        &self,
        release: &Release,
        out: &mut dyn std::io::Write,
    ) -> Result<Recorded> {
        self.open_blob(self.release_blob_id(release)?)?
            .copy_to(out)?;
        Ok(Recorded {
            sha256: release.trailers.sha256,
            size: release.trailers.size,
        })
    }

    /// The content of `release`, with its size and SHA-256 checked against the tag.
    pub fn release_content(&self, release: &Release) -> Result<Vec<u8>> {
        let raw = self.release_blob(release)?;
        let mut seen = Hasher::new();
        seen.update(&raw.content);
        check_content(
            &release.trailers.name,
            &release.trailers.version,
            &raw.recorded(),
            seen,
        )?;
        Ok(raw.content)
    }

    /// Check the content of `release` against its tag without holding it in memory.
    fn check_release_content(&self, release: &Release) -> Result<()> {
        let mut seen = Hasher::new();
        let recorded = self.release_blob_into(release, &mut seen)?;
        check_content(
            &release.trailers.name,
            &release.trailers.version,
            &recorded,
            seen,
        )
    }

    /// The prompt's sidecar at `commit` (empty if it has none).
    pub fn sidecar_at(&self, commit: Option<ObjectId>, name: &Name) -> Result<Sidecar> {
        let Some(commit) = commit else {
            return Ok(Sidecar::default());
        };
        let path = sidecar_path(name);
        match self.file_at(commit, &path)? {
            Some(bytes) => Sidecar::parse(&bytes, &path),
            None => Ok(Sidecar::default()),
        }
    }

    /// The whole metadata of a release: the tag's record, with the prompt's description
    /// and keywords as they were at the release's commit.
    pub fn release_meta(&self, release: &Release) -> Result<ReleaseMeta> {
        let at_release = self.sidecar_at(Some(release.commit), &release.trailers.name)?;
        Ok(ReleaseMeta {
            name: release.trailers.name.clone(),
            version: release.trailers.version.clone(),
            created: release.created(),
            author: release.author(),
            size: release.trailers.size,
            sha256: release.trailers.sha256,
            message: release.message.clone(),
            description: at_release.description,
            tags: at_release.tags,
            commit: Some(release.commit.to_string()),
            path: Some(release.trailers.path.clone()),
            encryption: None,
        })
    }

    /// The prompts present at `commit`: every `prompts/**/<name>.md` whose path is a valid
    /// name, sorted, with the blob of its sidecar if it has one. One walk of the tree, so
    /// listing 1,000 prompts reads each tree once.
    pub fn prompts_at(&self, commit: Option<ObjectId>) -> Result<Vec<PromptEntry>> {
        let Some(commit) = commit else {
            return Ok(Vec::new());
        };
        let root = self.tree_of(commit)?;
        let Some(entry) = root.find_entry(PROMPTS_DIR).filter(|e| e.mode().is_tree()) else {
            return Ok(Vec::new());
        };
        // One walk of the tree (shared with merge and check); then pair each `<name>.md`
        // with its `<name>.yaml`.
        let mut files = super::merge::Flat::new();
        self.flatten_tree(entry.object_id(), String::new(), &mut files)?;
        let mut out = Vec::new();
        for (path, (kind, id)) in &files {
            if !matches!(kind, EntryKind::Blob | EntryKind::BlobExecutable) {
                continue;
            }
            let Some(stem) = path.strip_suffix(".md") else {
                continue;
            };
            let Ok(name) = Name::parse(stem) else {
                continue;
            };
            out.push(PromptEntry {
                name,
                content: *id,
                sidecar: files.get(&[stem, ".yaml"].concat()).map(|(_, id)| *id),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The sidecar of a listed prompt (empty if it has none).
    pub fn sidecar_of(&self, entry: &PromptEntry) -> Result<Sidecar> {
        match entry.sidecar {
            Some(id) => Sidecar::parse(&self.read_blob(id)?, &sidecar_path(&entry.name)),
            None => Ok(Sidecar::default()),
        }
    }

    /// Every move of `name`'s labels on the branch, newest first, found by comparing the
    /// sidecar along the branch's first-parent history (so moves made by hand count too).
    pub fn label_history(&self, name: &Name, branch: &Branch) -> Result<Vec<LabelMove>> {
        let path = sidecar_path(name);
        let mut moves = Vec::new();
        let mut current = branch.read_commit();
        while let Some(id) = current {
            let commit = self
                .repo
                .find_commit(id)
                .git_ctx(|| format!("cannot read commit {id}"))?;
            let parent = commit.parent_ids().next().map(|p| p.detach());
            let here = self.blob_id_at(id, &path)?;
            let before = match parent {
                Some(p) => self.blob_id_at(p, &path)?,
                None => None,
            };
            if here != before {
                let labels_of = |blob: Option<ObjectId>| -> Result<BTreeMap<String, String>> {
                    Ok(match blob {
                        Some(b) => Sidecar::parse(&self.read_blob(b)?, &path)?.labels,
                        None => BTreeMap::new(),
                    })
                };
                let (old, new) = (labels_of(before)?, labels_of(here)?);
                let author = commit
                    .author()
                    .git_ctx(|| format!("commit {id} has no author"))?;
                let date = author.time().map(format_time).unwrap_or_default();
                let who = format!("{} <{}>", author.name, author.email);
                let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let (a, b) = (old.get(k), new.get(k));
                    if a != b {
                        moves.push(LabelMove {
                            label: k.clone(),
                            from: a.cloned(),
                            to: b.cloned(),
                            author: who.clone(),
                            date: date.clone(),
                            commit: Some(id.to_string()),
                        });
                    }
                }
            }
            current = parent;
        }
        Ok(moves)
    }

    /// Check every release (or those of `only`): tag form, target commit, path and checksum.
    pub fn verify(&self, only: Option<&Name>) -> Result<Verified> {
        let prefix = match only {
            Some(name) => tag_prefix(name),
            None => "refs/tags/".to_owned(),
        };
        let mut tags = Vec::new();
        self.for_each_tag(&prefix, |short, id| {
            tags.push((String::from_utf8_lossy(short).into_owned(), id));
            Ok(())
        })?;
        let mut report = Verified::default();
        for (short, id) in tags {
            let Some((raw_name, raw_version)) = short.rsplit_once('@') else {
                continue;
            };
            // Only tags that look like releases of a pulse name are ours to judge.
            let Ok(name) = Name::parse(raw_name) else {
                continue;
            };
            if only.is_some_and(|o| *o != name) {
                continue;
            }
            report.checked += 1;
            let problem = match (Version::parse(raw_version), id) {
                (Err(e), _) => Some(e.to_string()),
                (Ok(v), _) if v.to_string() != raw_version => Some(format!(
                    "the version is not written canonically (expected '{name}@{v}')"
                )),
                (Ok(_), None) => Some("the tag is a symbolic ref".to_owned()),
                (Ok(version), Some(id)) => match self
                    .read_release(&name, &version, id)
                    .and_then(|release| self.check_release_content(&release).map(|()| release))
                {
                    Ok(release) if release.trailers.path != content_path(&name) => Some(format!(
                        "its path '{}' is not '{}'",
                        release.trailers.path,
                        content_path(&name)
                    )),
                    Ok(release) => self.blob_disagrees(&release)?,
                    Err(e) => Some(e.message().to_owned()),
                },
            };
            if let Some(problem) = problem {
                report.problems.push(VerifyProblem {
                    tag: short,
                    problem,
                });
            }
        }
        Ok(report)
    }
}

/// Call `f` with the short name and target of every tag ref in `refs` under `prefix`:
/// [`PromptRepo::for_each_tag`], for a ref store opened with or without the repository.
pub(crate) fn for_each_tag_in(
    refs: &gix::RefStore,
    prefix: &str,
    mut f: impl FnMut(&[u8], Option<ObjectId>) -> Result<()>,
) -> Result<()> {
    let listing = || format!("cannot list refs under '{prefix}'");
    let mut loose: BTreeMap<Vec<u8>, Option<ObjectId>> = BTreeMap::new();
    let relative: &gix::path::RelativePath = prefix
        .try_into()
        .map_err(|e| Error::other(format!("{}: {e}", listing())))?;
    for r in refs
        .loose_iter_prefixed(relative)
        .map_err(|e| Error::io(listing(), e))?
    {
        let r = r.map_err(|e| Error::other(format!("{}: {e}", listing())))?;
        let name = r.name.as_bstr();
        if !name.starts_with(prefix.as_bytes()) {
            continue;
        }
        if let Some(short) = name.strip_prefix(b"refs/tags/") {
            loose.insert(short.to_vec(), r.target.try_id().map(|id| id.to_owned()));
        }
    }
    let packed = refs
        .cached_packed_buffer()
        .map_err(|e| Error::other(format!("cannot read packed-refs: {e}")))?;
    if let Some(packed) = packed {
        let records: &[u8] = (**packed).as_ref();
        for (name, hex) in packed_lines_under(records, prefix.as_bytes()) {
            let Some(short) = name.strip_prefix(b"refs/tags/") else {
                continue;
            };
            if loose.contains_key(short) {
                continue;
            }
            f(short, ObjectId::from_hex(hex).ok())?;
        }
    }
    for (short, id) in &loose {
        f(short, *id)?;
    }
    Ok(())
}

/// The versions of `name` that have a release tag in `refs`, with the tag ref's target,
/// unsorted. Only refs under `refs/tags/<name>@` are read.
pub(crate) fn release_refs_in(
    refs: &gix::RefStore,
    name: &Name,
) -> Result<Vec<(Version, ObjectId)>> {
    let skip = name.as_str().len() + 1;
    let mut out = Vec::new();
    for_each_tag_in(refs, &tag_prefix(name), |short, id| {
        if let (Some(id), Some(v)) = (id, short.get(skip..).and_then(parse_version)) {
            out.push((v, id));
        }
        Ok(())
    })?;
    Ok(out)
}

/// Parse the release tag object `tag_id` of `name@version`, of kind `kind` and with
/// bytes `data`.
pub(crate) fn release_from_tag(
    name: &Name,
    version: &Version,
    tag_id: ObjectId,
    kind: gix::object::Kind,
    data: &[u8],
) -> Result<Release> {
    let spec = tag_name(name, version);
    let malformed = |why: String| {
        Error::integrity(format!("release tag '{spec}' is malformed: {why}"))
            .with_hint(format!("inspect it with 'git cat-file -p {spec}'"))
            .with_hint(Hint::Verify {
                name: Some(name.to_string()),
            })
    };
    if kind != gix::object::Kind::Tag {
        return Err(malformed(format!(
            "it is a lightweight tag pointing to a {kind}, not an annotated tag"
        )));
    }
    let decoded = gix::objs::TagRef::from_bytes(data, tag_id.kind())
        .git_ctx(|| format!("cannot decode tag '{spec}'"))?;
    if decoded.target_kind != gix::object::Kind::Commit {
        return Err(malformed(format!(
            "it points to a {}, not a commit",
            decoded.target_kind
        )));
    }
    let tagger = decoded
        .tagger
        .and_then(parse_tagger)
        .ok_or_else(|| malformed("it has no tagger".into()))?;
    let (message, trailers) = parse_tag_message(decoded.message).map_err(|e| malformed(e.0))?;
    if trailers.name != *name || trailers.version != *version {
        return Err(malformed(format!(
            "its trailers name '{}@{}'",
            trailers.name, trailers.version
        )));
    }
    Ok(Release {
        tag: tag_id,
        commit: decoded.target(),
        tagger,
        message,
        trailers,
    })
}

/// The tagger line of a tag, decoded and trimmed as gix's `TagRef::tagger` does it (`None`
/// where that fails), without its Unicode whitespace tables for the usual ASCII ends:
/// loading them was 3% of the instructions of a `pulse fetch`.
fn parse_tagger(raw: &gix::bstr::BStr) -> Option<gix::actor::Signature> {
    let mut rest: &[u8] = raw;
    let sig = gix::actor::SignatureRef::from_bytes_consuming(&mut rest).ok()?;
    if !rest.is_empty() {
        return None;
    }
    gix::actor::SignatureRef {
        name: trim_whitespace(sig.name),
        email: trim_whitespace(sig.email),
        time: sig.time.trim(),
    }
    .to_owned()
    .ok()
}

/// `s` without leading and trailing Unicode whitespace, as `bstr`'s `trim` gives it. The
/// ASCII whitespace characters are stripped here; when what is left starts or ends with a
/// byte beyond ASCII (possibly more whitespace), `bstr` decides.
fn trim_whitespace(s: &gix::bstr::BStr) -> &gix::bstr::BStr {
    use gix::bstr::ByteSlice;
    let space = |b: &u8| matches!(b, b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r' | b' ');
    let start = s.iter().position(|b| !space(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !space(b)).map_or(start, |i| i + 1);
    let trimmed = &s[start..end];
    if trimmed.first().is_some_and(|b| !b.is_ascii())
        || trimmed.last().is_some_and(|b| !b.is_ascii())
    {
        return s.trim().as_bstr();
    }
    trimmed.as_bstr()
}

/// The `(refname, hex)` records of a sorted `packed-refs` body whose names start with
/// `prefix`: the first is found by binary search over line starts, the rest follow it.
/// Peeled lines (`^<hex>`) are skipped.
fn packed_lines_under<'a>(
    records: &'a [u8],
    prefix: &'a [u8],
) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
    // The start of the line that holds byte `at` (or the end).
    let line_start = |at: usize| -> usize {
        records[..at]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1)
    };
    let name_of = |start: usize| -> Option<&'a [u8]> {
        let line = &records[start..];
        let end = line.iter().position(|b| *b == b'\n').unwrap_or(line.len());
        let line = &line[..end];
        let space = line.iter().position(|b| *b == b' ')?;
        Some(&line[space + 1..])
    };
    // Binary search for the first record whose name is >= prefix. Peeled lines sort with
    // the record above them, so a step that lands on one moves back to that record.
    let (mut lo, mut hi) = (0usize, records.len());
    while lo < hi {
        let mid = line_start(lo + (hi - lo) / 2);
        let mut record = mid;
        while record > 0 && records.get(record) == Some(&b'^') {
            record = line_start(record - 1);
        }
        let before = name_of(record).is_some_and(|n| n < prefix);
        if before {
            let next = records[mid..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(records.len(), |i| mid + i + 1);
            if next <= lo {
                break;
            }
            lo = next;
        } else {
            if record >= hi {
                break;
            }
            hi = record;
        }
    }
    let rest = &records[lo.min(records.len())..];
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < rest.len() {
            let end = memchr::memchr(b'\n', &rest[at..]).map_or(rest.len(), |i| at + i);
            let line = &rest[at..end];
            at = end + 1;
            if line.is_empty() || line[0] == b'^' {
                continue;
            }
            let space = memchr::memchr(b' ', line)?;
            let (hex, name) = (&line[..space], &line[space + 1..]);
            return name.starts_with(prefix).then_some((name, hex));
        }
        None
    })
}

impl PromptRepo {
    /// Why a release's recorded blob is not the one its commit holds at its path, if it is not.
    fn blob_disagrees(&self, release: &Release) -> Result<Option<String>> {
        let Some(recorded) = &release.trailers.blob else {
            return Ok(None);
        };
        let at_path = self.blob_id_at(release.commit, &release.trailers.path)?;
        Ok(match at_path {
            Some(id) if ObjectId::from_hex(recorded.as_bytes()).ok() == Some(id) => None,
            Some(id) => Some(format!(
                "its tag records blob {recorded}, but its commit holds blob {id} at '{}'",
                release.trailers.path
            )),
            None => Some(format!(
                "its commit {} has no file '{}'",
                release.commit, release.trailers.path
            )),
        })
    }
}

/// The tags of one prompt read one after another: its name as written, the name parsed
/// (`None`: not a valid name, whose tags are passed over), and its releases.
type TagRun = (Vec<u8>, Option<Name>, Vec<(Version, ObjectId)>);

fn parse_version(bytes: &[u8]) -> Option<Version> {
    Version::parse(std::str::from_utf8(bytes).ok()?).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tagger_is_trimmed_as_gix_trims_it() {
        use gix::bstr::ByteSlice;
        let names: &[&str] = &[
            "Ann Author",
            "  Ann Author\t",
            "\x0BAnn\x0C",
            "\u{a0}Ann Author\u{3000}",
            " \u{85}Ann\u{2003} ",
            "Ännchen Ü",
            " Ä ",
            "Ann\u{a0}",
            "\u{1F600}",
            "",
            "   ",
            "\x1C\x1FAnn",
        ];
        for name in names {
            for email in ["ann@example.com", " ann@example.com\u{a0}"] {
                for time in ["1700000000 +0000", "1700000000 -0130"] {
                    let line = format!("{name} <{email}> {time}");
                    let mut tag = b"object 0000000000000000000000000000000000000000\ntype commit\ntag t\ntagger ".to_vec();
                    tag.extend_from_slice(line.as_bytes());
                    tag.extend_from_slice(b"\n\nmessage\n");
                    let decoded =
                        gix::objs::TagRef::from_bytes(&tag, gix::hash::Kind::Sha1).unwrap();
                    let expect = decoded
                        .tagger()
                        .ok()
                        .flatten()
                        .and_then(|t| t.to_owned().ok());
                    let got = decoded.tagger.and_then(super::parse_tagger);
                    assert_eq!(got, expect, "{line:?}");
                }
            }
        }
        for raw in [
            "no email here",
            "Ann <a@b> notatime",
            "Ann <a@b> 1 +0000 trailing",
        ] {
            let expect = gix::objs::TagRef {
                target: b"".as_bstr(),
                target_kind: gix::object::Kind::Commit,
                name: b"t".as_bstr(),
                tagger: Some(raw.as_bytes().as_bstr()),
                message: b"".as_bstr(),
                signature: None,
            }
            .tagger()
            .ok()
            .flatten()
            .and_then(|t| t.to_owned().ok());
            assert_eq!(
                super::parse_tagger(raw.as_bytes().as_bstr()),
                expect,
                "{raw:?}"
            );
        }
    }

    use super::*;

    #[test]
    fn packed_records_under_a_prefix() {
        let h = |c: char| c.to_string().repeat(40);
        let mut text = String::new();
        for (name, peeled) in [
            ("refs/heads/main", false),
            ("refs/tags/a@1.0.0", true),
            ("refs/tags/a@2.0.0", true),
            ("refs/tags/ab@1.0.0", false),
            ("refs/tags/b/c@1.0.0", true),
            ("refs/tags/v1", false),
        ] {
            text.push_str(&format!("{} {name}\n", h('1')));
            if peeled {
                text.push_str(&format!("^{}\n", h('2')));
            }
        }
        let names = |prefix: &str| -> Vec<String> {
            packed_lines_under(text.as_bytes(), prefix.as_bytes())
                .map(|(n, hex)| {
                    assert_eq!(hex, h('1').as_bytes());
                    String::from_utf8(n.to_vec()).unwrap()
                })
                .collect()
        };
        assert_eq!(
            names("refs/tags/a@"),
            ["refs/tags/a@1.0.0", "refs/tags/a@2.0.0"]
        );
        assert_eq!(names("refs/tags/ab@"), ["refs/tags/ab@1.0.0"]);
        assert_eq!(names("refs/tags/b/c@"), ["refs/tags/b/c@1.0.0"]);
        assert_eq!(names("refs/tags/").len(), 5);
        assert_eq!(names("refs/").len(), 6);
        assert!(names("refs/tags/c@").is_empty());
        assert!(names("refs/tags/zz").is_empty());
        assert!(names("a").is_empty());
        assert!(packed_lines_under(b"", b"refs/tags/").next().is_none());
        // Every prefix of every name finds exactly the names that start with it.
        let all: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('^'))
            .map(|l| &l[41..])
            .collect();
        for name in &all {
            for cut in 0..=name.len() {
                let prefix = &name[..cut];
                let want: Vec<String> = all
                    .iter()
                    .filter(|n| n.starts_with(prefix))
                    .map(|n| n.to_string())
                    .collect();
                assert_eq!(names(prefix), want, "{prefix:?}");
            }
        }
    }
}
