//! The directory layout used by `import` and `export`:
//! `<root>/<name>/<version>/content.md` + `metadata.json`, with the prompt's labels in
//! `<root>/<name>/labels.json`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::digest::Hasher;
use crate::error::{Error, IoResultExt, Result};
use crate::fsutil::{Dir, WriteMode, Written};
use crate::meta::ReleaseMeta;
use crate::name::{Label, Name};
use crate::repo::{ImportRelease, ImportSource};
use crate::version::Version;

/// A release's `metadata.json`: name, version, times, size, checksum, keywords and
/// description, plus pulse's own `author` and `message` (optional on import).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirMeta {
    /// The prompt's name.
    pub name: String,
    /// The version.
    pub version: String,
    /// When it was released (RFC 3339).
    pub created_at: String,
    /// When its metadata last changed (RFC 3339); a release never changes, so this is `created_at`.
    pub updated_at: String,
    /// Content size in bytes.
    pub size: u64,
    /// `sha256:<hex>` of the content.
    pub checksum: String,
    /// Keywords.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Who released it (`Name <email>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The release message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Labels per prompt, as read from `labels.json` files.
pub type DirLabels = BTreeMap<Name, BTreeMap<Label, Version>>;

fn invalid(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::usage(format!("'{}': {why}", path.display()))
        .with_hint("the import layout is <dir>/<name>/<version>/content.md + metadata.json, and <dir>/<name>/labels.json")
}

/// Read every release and label below `root`, checking each against its metadata.
pub fn read_dir(root: &Path) -> Result<(Vec<ImportRelease>, DirLabels)> {
    let meta =
        std::fs::symlink_metadata(root).io_ctx(|| format!("cannot read '{}'", root.display()))?;
    if !meta.is_dir() {
        return Err(invalid(root, "is not a directory"));
    }
    let mut releases = Vec::new();
    let mut labels = DirLabels::new();
    walk(root, &mut Vec::new(), &mut releases, &mut labels)?;
    Ok((releases, labels))
}

fn walk(
    dir: &Path,
    segments: &mut Vec<String>,
    releases: &mut Vec<ImportRelease>,
    labels: &mut DirLabels,
) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .io_ctx(|| format!("cannot list '{}'", dir.display()))?
        .collect::<std::io::Result<_>>()
        .io_ctx(|| format!("cannot list '{}'", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    let has_content = entries.iter().any(|e| e.file_name() == "content.md");
    if has_content {
        releases.push(read_release(dir, segments)?);
    }
    for entry in entries {
        let path = entry.path();
        let file_type = entry
            .file_type()
            .io_ctx(|| format!("cannot inspect '{}'", path.display()))?;
        if file_type.is_symlink() {
            return Err(invalid(&path, "is a symbolic link; the layout has none"));
        }
        let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
            return Err(invalid(&path, "has a name that is not UTF-8"));
        };
        if file_type.is_dir() {
            segments.push(file_name);
            walk(&path, segments, releases, labels)?;
            segments.pop();
        } else if file_name == "labels.json" && !segments.is_empty() {
            let name = Name::parse(&segments.join("/")).map_err(|e| invalid(dir, e))?;
            let bytes =
                std::fs::read(&path).io_ctx(|| format!("cannot read '{}'", path.display()))?;
            let raw: BTreeMap<String, String> = serde_json::from_slice(&bytes)
                .map_err(|e| invalid(&path, format!("malformed JSON: {e}")))?;
            let mut parsed = BTreeMap::new();
            for (l, v) in raw {
                let label = Label::parse(&l).map_err(|e| invalid(&path, e))?;
                let version = Version::parse(&v).map_err(|e| invalid(&path, e))?;
                parsed.insert(label, version);
            }
            labels.insert(name, parsed);
        }
    }
    Ok(())
}

fn read_release(dir: &Path, segments: &[String]) -> Result<ImportRelease> {
    let Some((version_segment, name_segments)) = segments.split_last() else {
        return Err(invalid(dir, "content.md must be inside <name>/<version>/"));
    };
    if name_segments.is_empty() {
        return Err(invalid(dir, "content.md must be inside <name>/<version>/"));
    }
    let name = Name::parse(&name_segments.join("/")).map_err(|e| invalid(dir, e))?;
    let version = Version::parse(version_segment).map_err(|e| invalid(dir, e))?;
    let content_path = dir.join("content.md");
    // Hashed in pieces: the content is read again, streamed, when it is written.
    let mut seen = Hasher::new();
    let mut content = std::fs::File::open(&content_path)
        .io_ctx(|| format!("cannot read '{}'", content_path.display()))?;
    let file_meta = content
        .metadata()
        .io_ctx(|| format!("cannot read '{}'", content_path.display()))?;
    if !file_meta.is_file() {
        return Err(invalid(&content_path, "is not a regular file"));
    }
    std::io::copy(&mut content, &mut seen)
        .io_ctx(|| format!("cannot read '{}'", content_path.display()))?;
    let meta_path = dir.join("metadata.json");
    let meta: Option<DirMeta> = match std::fs::read(&meta_path) {
        Ok(bytes) => Some(
            serde_json::from_slice(&bytes)
                .map_err(|e| invalid(&meta_path, format!("malformed metadata: {e}")))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Error::io(
                format!("cannot read '{}'", meta_path.display()),
                e,
            ));
        }
    };
    let size = seen.len();
    let sha256 = seen.finish().hex();
    let mut release = ImportRelease {
        name: name.clone(),
        version: version.clone(),
        source: ImportSource::File(content_path.clone()),
        size,
        sha256,
        description: None,
        tags: Vec::new(),
        created: None,
        author: None,
        message: None,
    };
    if let Some(meta) = meta {
        if meta.name != name.as_str()
            || Version::parse(&meta.version).ok().as_ref() != Some(&version)
        {
            return Err(invalid(
                &meta_path,
                format!(
                    "names '{}@{}' but lies at '{name}@{version}'",
                    meta.name, meta.version
                ),
            ));
        }
        let actual = format!("sha256:{}", release.sha256);
        if meta.checksum != actual || meta.size != release.size {
            return Err(Error::integrity(format!(
                "'{}': content does not match metadata.json (checksum {} / {} bytes, content is {actual} / {} bytes)",
                content_path.display(),
                meta.checksum,
                meta.size,
                release.size
            ))
            .with_hint("nothing was imported; restore the file or fix its metadata"));
        }
        release.created = Some(crate::config::parse_time(&meta.created_at).ok_or_else(|| {
            invalid(
                &meta_path,
                format!("created_at '{}' is not RFC 3339", meta.created_at),
            )
        })?);
        release.description = meta.description.filter(|d| !d.is_empty());
        release.tags = meta.tags;
        release.message = meta.message;
        release.author = meta.author.as_deref().and_then(crate::repo::parse_author);
    }
    Ok(release)
}

impl DirMeta {
    /// The `metadata.json` of a release.
    pub fn from_release(meta: &ReleaseMeta) -> DirMeta {
        DirMeta {
            name: meta.name.to_string(),
            version: meta.version.to_string(),
            created_at: meta.created.clone(),
            updated_at: meta.created.clone(),
            size: meta.size,
            checksum: meta.sha256.to_string(),
            tags: meta.tags.clone(),
            description: meta.description.clone(),
            author: Some(meta.author.clone()),
            message: Some(meta.message.clone()),
        }
    }
}

/// The directory of one release below `root`, created if `create`; never through a
/// symlink (a conflict, exit 4).
fn release_dir(root: &Dir, name: &Name, version: &Version, create: bool) -> Result<Option<Dir>> {
    let version = version.to_string();
    root.subdirs(
        name.as_str()
            .split('/')
            .chain(std::iter::once(version.as_str())),
        create,
    )
}

/// Write one release: `content.md` first, then `metadata.json`, both create-only, so a
/// release whose `metadata.json` is there is complete. A release already there with the
/// same checksum is left alone (`Existed`, after completing a missing `metadata.json`);
/// different content is a conflict.
pub fn write_release(root: &Dir, meta: &ReleaseMeta, content: &[u8]) -> Result<Written> {
    write_release_with(root, meta, &mut |out| {
        out.write_all(content).io_ctx(|| {
            format!(
                "cannot write the content of '{}@{}'",
                meta.name, meta.version
            )
        })
    })
}

/// Write one release as [`write_release`] does, with its content written by `content`
/// (streamed into a temporary file, put in place only if `content` succeeds).
pub fn write_release_with(
    root: &Dir,
    meta: &ReleaseMeta,
    content: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
) -> Result<Written> {
    let (name, version) = (&meta.name, &meta.version);
    let dir = release_dir(root, name, version, true)?.ok_or_else(|| {
        Error::other(format!("cannot create the directory of '{name}@{version}'"))
    })?;
    let mut json = serde_json::to_vec_pretty(&DirMeta::from_release(meta))
        .map_err(|e| Error::other(e.to_string()))?;
    json.push(b'\n');
    let outcome = dir.write_with("content.md", WriteMode::CreateNew, None, content)?;
    if outcome == Written::Existed {
        let same = dir
            .digest("content.md")?
            .is_some_and(|seen| seen.len() == meta.size && seen.finish() == meta.sha256);
        if !same {
            return Err(Error::conflict(format!(
                "'{}' already holds different content for '{name}@{version}'",
                dir.path().join("content.md").display()
            ))
            .with_hint("export into an empty directory, or remove that release's directory"));
        }
    }
    dir.write("metadata.json", &json, WriteMode::CreateNew, None)?;
    Ok(outcome)
}

/// Write `<root>/<name>/labels.json` (removed when there are no labels), replacing it
/// atomically.
pub fn write_labels(root: &Dir, name: &Name, labels: &BTreeMap<Label, Version>) -> Result<()> {
    let segments = name.as_str().split('/');
    let Some(dir) = root.subdirs(segments, !labels.is_empty())? else {
        return Ok(());
    };
    if labels.is_empty() {
        return dir.remove("labels.json");
    }
    let map: BTreeMap<&str, String> = labels
        .iter()
        .map(|(l, v)| (l.as_str(), v.to_string()))
        .collect();
    let mut json = serde_json::to_vec_pretty(&map).map_err(|e| Error::other(e.to_string()))?;
    json.push(b'\n');
    dir.write("labels.json", &json, WriteMode::Replace, None)
        .map(|_| ())
}
