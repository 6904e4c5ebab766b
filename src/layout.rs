//! The directory layout used by `import` and `export`:
//! `<root>/<name>/<version>/content.md` + `metadata.json`, with the prompt's labels in
//! `<root>/<name>/labels.json`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bounded::{self, Limits, Links, ReadError};
use crate::digest::Hasher;
use crate::error::{Error, IoResultExt, Result};
use crate::fsutil::{Dir, WriteMode, Written};
use crate::meta::{ReleaseMeta, Sidecar};
use crate::name::{Label, Name};
use crate::version::Version;

/// `metadata.json` as export writes it: every field, with pulse's own `author` and
/// `message`. Import reads it more liberally (any field may be missing).
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

/// `metadata.json` as import reads it: any field may be missing and unknown fields are
/// ignored (other producers write fewer or more fields than pulse), but every field that
/// is there must agree with the release's content and place. `updated_at` is not read: a
/// release never changes.
#[derive(Debug, Default, Deserialize)]
struct ImportMeta {
    name: Option<String>,
    version: Option<String>,
    created_at: Option<String>,
    size: Option<u64>,
    checksum: Option<String>,
    tags: Option<Vec<String>>,
    description: Option<String>,
    author: Option<String>,
    message: Option<String>,
}

/// The most bytes an imported release's description and keywords may take in its
/// sidecar: half of what a sidecar may hold, leaving the rest for labels.
const IMPORT_SIDECAR_BYTES: usize = bounded::SIDECAR.max_bytes / 2;

/// One release to import (from the directory layout).
#[derive(Debug, Clone)]
pub struct ImportRelease {
    /// The prompt.
    pub name: Name,
    /// The version.
    pub version: Version,
    /// Where its content is.
    pub source: ImportSource,
    /// The content's size in bytes.
    pub size: u64,
    /// The content's SHA-256 (lowercase hex), checked again when the content is read.
    pub sha256: String,
    /// The prompt's description at this version.
    pub description: Option<String>,
    /// The prompt's keywords at this version.
    pub tags: Vec<String>,
    /// When it was released, if known.
    pub created: Option<gix::date::Time>,
    /// Who released it, if known.
    pub author: Option<(String, String)>,
    /// The release message, if known.
    pub message: Option<String>,
}

/// Where an imported release's content comes from.
#[derive(Debug, Clone)]
pub enum ImportSource {
    /// A file, read when the release is written (so an import never holds all content).
    File(std::path::PathBuf),
    /// Bytes in memory.
    Bytes(Vec<u8>),
}

impl ImportSource {
    /// The content, to be read once: a regular file (never a FIFO or a link swapped in
    /// since the directory was read), or bytes.
    pub(crate) fn open(&self) -> Result<Box<dyn std::io::Read + '_>> {
        Ok(match self {
            ImportSource::File(path) => Box::new(open_regular(path)?),
            ImportSource::Bytes(b) => Box::new(&b[..]),
        })
    }
}

/// Labels per prompt, as read from `labels.json` files.
pub type DirLabels = BTreeMap<Name, BTreeMap<Label, Version>>;

fn invalid(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::usage(format!("'{}': {why}", path.display()))
        .with_hint("the import layout is <dir>/<name>/<version>/content.md + metadata.json, and <dir>/<name>/labels.json")
}

fn read_error(path: &Path, err: ReadError) -> Error {
    match err {
        ReadError::Refused(why) => invalid(path, why),
        ReadError::Io(e) => Error::io(format!("cannot read '{}'", path.display()), e),
    }
}

/// Open a file of the import layout for reading: a regular file (never a link, a FIFO or
/// a device), checked without reading from anything else.
pub fn open_regular(path: &Path) -> Result<std::fs::File> {
    bounded::open_regular(path, Links::Refuse).map_err(|e| read_error(path, e))
}

/// Read a JSON file of the import layout, bounded by `limits` before it is parsed;
/// `None` if it does not exist.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path, limits: Limits) -> Result<Option<T>> {
    let bytes = match bounded::read_file(path, limits.max_bytes, Links::Refuse) {
        Ok(bytes) => bytes,
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_error(path, e)),
    };
    bounded::check_json(&bytes, limits).map_err(|why| invalid(path, why))?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| invalid(path, format!("malformed JSON: {e}")))
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
        if let Some(kind) = bounded::FileKind::of(file_type)
            && !file_type.is_dir()
        {
            // A FIFO would block whoever reads it; devices and sockets are no better.
            return Err(invalid(&path, bounded::Refusal::NotRegular(kind)));
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
            let raw: BTreeMap<String, String> =
                read_json(&path, bounded::LABELS_JSON)?.unwrap_or_default();
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
    let mut content = open_regular(&content_path)?;
    std::io::copy(&mut content, &mut seen)
        .io_ctx(|| format!("cannot read '{}'", content_path.display()))?;
    let meta_path = dir.join("metadata.json");
    let meta: Option<ImportMeta> = read_json(&meta_path, bounded::METADATA_JSON)?;
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
    let Some(meta) = meta else {
        return Ok(release);
    };
    if let Some(meta_name) = &meta.name
        && meta_name != name.as_str()
    {
        return Err(invalid(
            &meta_path,
            format!("names prompt '{meta_name}' but lies in the directory of '{name}'"),
        ));
    }
    if let Some(meta_version) = &meta.version
        && Version::parse(meta_version).ok().as_ref() != Some(&version)
    {
        return Err(invalid(
            &meta_path,
            format!(
                "names version '{meta_version}' but lies in the directory of '{name}@{version}'"
            ),
        ));
    }
    let checksum = match &meta.checksum {
        Some(c) => Some(parse_checksum(c).ok_or_else(|| {
            invalid(
                &meta_path,
                format!("checksum '{c}' is not sha256:<64 hex digits>"),
            )
        })?),
        None => None,
    };
    let checksum_differs = checksum.as_ref().is_some_and(|c| *c != release.sha256);
    let size_differs = meta.size.is_some_and(|s| s != release.size);
    if checksum_differs || size_differs {
        let recorded = match (&checksum, meta.size) {
            (Some(c), Some(s)) => format!("sha256:{c} / {s} bytes"),
            (Some(c), None) => format!("sha256:{c}"),
            (None, Some(s)) => format!("{s} bytes"),
            (None, None) => String::new(),
        };
        return Err(Error::integrity(format!(
            "'{}': content does not match metadata.json (metadata says {recorded}, content is sha256:{} / {} bytes)",
            content_path.display(),
            release.sha256,
            release.size
        ))
        .with_hint("nothing was imported; restore the file or fix its metadata"));
    }
    if let Some(created_at) = &meta.created_at {
        release.created = Some(crate::config::parse_time(created_at).ok_or_else(|| {
            invalid(
                &meta_path,
                format!("created_at '{created_at}' is not RFC 3339"),
            )
        })?);
    }
    release.description = meta.description.filter(|d| !d.is_empty());
    release.tags = meta.tags.unwrap_or_default();
    let kept = Sidecar {
        description: release.description.clone(),
        tags: release.tags.clone(),
        labels: BTreeMap::new(),
    };
    if kept.to_yaml().len() > IMPORT_SIDECAR_BYTES {
        return Err(invalid(
            &meta_path,
            format!(
                "its description and tags are too long to keep in the prompt's metadata (more than {} KiB)",
                IMPORT_SIDECAR_BYTES >> 10
            ),
        ));
    }
    release.message = meta.message;
    release.author = meta.author.as_deref().and_then(crate::meta::parse_author);
    Ok(release)
}

/// The lowercase hex digest of `sha256:<64 hex digits>` (either case is accepted).
fn parse_checksum(s: &str) -> Option<String> {
    let hex = s.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
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
