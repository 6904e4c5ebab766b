//! Reading a release without opening the repository through gix.
//!
//! Opening a repository with gix loads its configuration: the files of every scope and
//! some fifty environment overrides, turned into configuration sections and removed again
//! when unset. That is about a third of a short read such as `pulse fetch`, and a release
//! read needs none of it: only the refs and the objects. This reads refs through gix's own
//! ref store, loose objects through gix's loose object store, and packed objects through
//! gix's pack decoding (deltas included), found in the pack indexes with a few small reads
//! rather than gix's check of every index entry at open. It answers the reads that need
//! nothing else: a prompt's versions, and the content of a release as its tag records it.
//!
//! Anything out of the ordinary is left to the full open, which then answers as before: a
//! linked worktree, alternate object directories, a repository whose own configuration
//! says more than the usual (another object format or ref storage, includes, a worktree
//! elsewhere, replacement refs turned off or moved), replacement refs present, git
//! environment variables that move refs or objects, an index or pack this cannot read,
//! and a release that is large, missing, or recorded in an older way.

use std::path::{Path, PathBuf};

use gix::ObjectId;

use super::blob::STREAM_FROM;
use super::paths::tag_ref;
use super::read::{release_from_tag, release_refs_in};
use crate::error::Result;
use crate::integrity::Unverified;
use crate::name::Name;
use crate::version::Version;

/// Environment variables with which git (and gix) read refs or objects from elsewhere.
const MOVING_VARIABLES: &[&str] = &[
    "GIT_NAMESPACE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_REPLACE_REF_BASE",
    "GIT_NO_REPLACE_OBJECTS",
];

/// Whether git variables that move refs or objects elsewhere are set.
fn moved_by_environment() -> bool {
    MOVING_VARIABLES
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

/// The repository's own configuration file is read only up to this size; a larger one is
/// left to the full open.
const CONFIG_LIMIT: u64 = 64 * 1024;

/// The refs and objects of a repository, opened without its configuration.
pub(crate) struct LightRepo {
    git_dir: PathBuf,
    workdir: Option<PathBuf>,
    refs: gix::RefStore,
    /// `objects/` of the repository.
    objects: PathBuf,
    /// The packs in `objects/pack`, listed on first need.
    packs: std::sync::OnceLock<Vec<Pack>>,
}

/// A pack: its index, and its data, mapped on first need and then kept (a release read
/// finds its tag and its blob, usually in the same pack).
struct Pack {
    index: PathBuf,
    data: std::sync::OnceLock<Option<gix::odb::pack::data::File>>,
}

impl Pack {
    /// The pack's data, or `None` when it cannot be mapped.
    fn data(&self) -> Option<&gix::odb::pack::data::File> {
        self.data
            .get_or_init(|| {
                gix::odb::pack::data::File::at(
                    self.index.with_extension("pack"),
                    gix::hash::Kind::Sha1,
                )
                .ok()
            })
            .as_ref()
    }
}

impl LightRepo {
    /// The repository containing `start` (this directory or a parent), found as
    /// `PromptRepo::discover` finds it, when its releases can be read this way.
    pub(crate) fn discover(start: &Path) -> Option<LightRepo> {
        if moved_by_environment() {
            return None;
        }
        let (path, _trust) = gix::discover::upwards(start).ok()?;
        let (git_dir, workdir) = path.into_repository_and_work_tree_directories();
        Self::at(git_dir, workdir)
    }

    /// The repository whose worktree is exactly `path` (`path/.git` a directory), as
    /// `PromptRepo::open` opens it, when its releases can be read this way. Other layouts
    /// (a bare repository, a `.git` file) are left to the full open.
    pub(crate) fn open(path: &Path) -> Option<LightRepo> {
        if moved_by_environment() {
            return None;
        }
        let git_dir = path.join(".git");
        if !git_dir.is_dir() || gix::discover::is_git(&git_dir).is_err() {
            return None;
        }
        Self::at(git_dir, Some(path.to_path_buf()))
    }

    fn at(git_dir: PathBuf, workdir: Option<PathBuf>) -> Option<LightRepo> {
        if git_dir.join("commondir").exists() || git_dir.join("reftable").exists() {
            return None;
        }
        if !plain_config(&git_dir, workdir.is_some())? {
            return None;
        }
        let refs = gix::RefStore::at(git_dir.clone(), gix::hash::Kind::Sha1);
        // gix puts a replacement object in place of the one it replaces on every read.
        let replace: &gix::path::RelativePath = "refs/replace/".try_into().ok()?;
        if refs.iter().ok()?.prefixed(replace).ok()?.next().is_some() {
            return None;
        }
        let objects = git_dir.join("objects");
        if objects.join("info/alternates").exists() {
            return None;
        }
        Some(LightRepo {
            git_dir,
            workdir,
            refs,
            objects,
            packs: std::sync::OnceLock::new(),
        })
    }

    /// The `.git` directory (or the bare repository itself).
    pub(crate) fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// The worktree root, if this is not a bare repository.
    pub(crate) fn workdir(&self) -> Option<&Path> {
        self.workdir.as_deref()
    }

    /// The versions of `name` that have a release tag, sorted.
    pub(crate) fn versions(&self, name: &Name) -> Result<Vec<Version>> {
        let mut versions: Vec<Version> = release_refs_in(&self.refs, name)?
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        versions.sort();
        Ok(versions)
    }

    /// The content of `name@version` as stored, with the checksum and size its tag records
    /// (not yet verified); `None` when the full open has to answer: there is no such
    /// release here, its tag records no blob, or the content is large or not found.
    pub(crate) fn read(&self, name: &Name, version: &Version) -> Result<Option<Unverified>> {
        let Some(tag_id) = self
            .refs
            .try_find(tag_ref(name, version).as_str())
            .ok()
            .flatten()
            .and_then(|r| r.target.try_id().map(ToOwned::to_owned))
        else {
            return Ok(None);
        };
        let mut buf = Vec::new();
        let Some(kind) = self.find(&tag_id, &mut buf) else {
            return Ok(None);
        };
        let release = release_from_tag(name, version, tag_id, kind, &buf)?;
        let recorded = release
            .trailers
            .blob
            .as_deref()
            .and_then(|hex| ObjectId::from_hex(hex.as_bytes()).ok());
        let Some(blob_id) = recorded.filter(|_| release.trailers.size < STREAM_FROM) else {
            return Ok(None);
        };
        let mut content = Vec::new();
        if self.find(&blob_id, &mut content) != Some(gix::object::Kind::Blob) {
            return Ok(None);
        }
        Ok(Some(Unverified {
            content,
            sha256: release.trailers.sha256,
            size: release.trailers.size,
        }))
    }

    /// The object `id`: its kind, with its bytes in `out`. `None` when it is not here or
    /// cannot be read this way; the full open then reads it, or says what is wrong.
    fn find(&self, id: &gix::oid, out: &mut Vec<u8>) -> Option<gix::object::Kind> {
        for pack in self.packs() {
            match offset_in_index(&pack.index, id) {
                Ok(Some(offset)) => return read_packed(pack, offset, out),
                Ok(None) => continue,
                Err(_) => return None,
            }
        }
        let loose = gix::odb::loose::Store::at(&self.objects, gix::hash::Kind::Sha1);
        loose.try_find(id, out).ok().flatten().map(|data| data.kind)
    }

    /// The packs in `objects/pack` (those with an `.idx` file).
    fn packs(&self) -> &[Pack] {
        self.packs.get_or_init(|| {
            let Ok(listing) = std::fs::read_dir(self.objects.join("pack")) else {
                return Vec::new();
            };
            listing
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|x| x == "idx"))
                .map(|index| Pack {
                    index,
                    data: std::sync::OnceLock::new(),
                })
                .collect()
        })
    }
}

/// Decode the object at `offset` of `pack` into `out` (following deltas within the
/// pack); its kind, or `None` when that fails.
fn read_packed(pack: &Pack, offset: u64, out: &mut Vec<u8>) -> Option<gix::object::Kind> {
    use gix::odb::pack::data::decode::entry::ResolvedBase;
    let data = pack.data()?;
    let entry = data.entry(offset).ok()?;
    let mut inflate = gix::zlib::Inflate::default();
    let base_in_pack = |base: &gix::oid, _: &mut Vec<u8>| {
        Ok(offset_in_index(&pack.index, base)
            .ok()
            .flatten()
            .and_then(|at| data.entry(at).ok())
            .map(ResolvedBase::InPack))
    };
    let outcome = data
        .decode_entry(
            entry,
            out,
            &mut inflate,
            &base_in_pack,
            &mut gix::odb::pack::cache::Never,
        )
        .ok()?;
    Some(outcome.kind)
}

/// Where the object `id` starts in the pack that the (version 2) pack index at `path`
/// indexes: `None` when it is not in that pack, an error when the index cannot be read
/// or is malformed.
///
/// gix checks a whole index when it opens one (every entry of its offset table), which
/// on a repository of 20,000 objects is a fifth of a `pulse fetch`. Finding one object
/// takes three small reads: the fan-out table, the names that share the first byte of
/// `id` (searched by bisection), and the object's offset. Every position read is checked
/// against the size of the file first.
pub(crate) fn offset_in_index(path: &Path, id: &gix::oid) -> std::io::Result<Option<u64>> {
    use std::io::{Read, Seek, SeekFrom};
    const FANOUT_END: u64 = 8 + 256 * 4;
    let malformed = |why: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("pack index '{}': {why}", path.display()),
        )
    };
    let hash = id.as_bytes().len() as u64;
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = [0u8; FANOUT_END as usize];
    file.read_exact(&mut head)?;
    if head[..8] != [0xff, b't', b'O', b'c', 0, 0, 0, 2] {
        return Err(malformed("not a version 2 pack index"));
    }
    let fan = |i: usize| u64::from(be32(&head[8 + i * 4..]));
    let count = fan(255);
    // Names, CRCs and 32-bit offsets; then 64-bit offsets and two checksums.
    let small_offsets = FANOUT_END + count * (hash + 4);
    let large_offsets = small_offsets + count * 4;
    if len < large_offsets + 2 * hash {
        return Err(malformed("shorter than its fan-out table says"));
    }
    let first = usize::from(id.as_bytes()[0]);
    let (lo, hi) = (if first == 0 { 0 } else { fan(first - 1) }, fan(first));
    if lo > hi || hi > count {
        return Err(malformed("fan-out table out of order"));
    }
    let mut names = vec![0u8; ((hi - lo) * hash) as usize];
    file.seek(SeekFrom::Start(FANOUT_END + lo * hash))?;
    file.read_exact(&mut names)?;
    let width = hash as usize;
    let (mut a, mut b) = (0, names.len() / width);
    let at = loop {
        if a >= b {
            return Ok(None);
        }
        let mid = a + (b - a) / 2;
        match names[mid * width..(mid + 1) * width].cmp(id.as_bytes()) {
            std::cmp::Ordering::Less => a = mid + 1,
            std::cmp::Ordering::Greater => b = mid,
            std::cmp::Ordering::Equal => break lo + mid as u64,
        }
    };
    let mut word = [0u8; 4];
    file.seek(SeekFrom::Start(small_offsets + at * 4))?;
    file.read_exact(&mut word)?;
    let small = be32(&word);
    if small & 0x8000_0000 == 0 {
        return Ok(Some(u64::from(small)));
    }
    let position = large_offsets + u64::from(small & 0x7fff_ffff) * 8;
    if position + 8 + 2 * hash > len {
        return Err(malformed("a large offset beyond the end of the file"));
    }
    let mut large = [0u8; 8];
    file.seek(SeekFrom::Start(position))?;
    file.read_exact(&mut large)?;
    Ok(Some(u64::from_be_bytes(large)))
}

/// The big-endian `u32` at the start of `bytes` (0 if there are fewer than four).
fn be32(bytes: &[u8]) -> u32 {
    match bytes.get(..4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// Whether the repository's own configuration holds only what a release read does not
/// depend on: no other object format or ref storage, no includes, no worktree elsewhere,
/// no settings for replacement refs, and for a repository with a worktree, not `bare`.
/// `None` when it cannot be read.
fn plain_config(git_dir: &Path, has_workdir: bool) -> Option<bool> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(git_dir.join("config"))
        .ok()?
        .take(CONFIG_LIMIT + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    if bytes.len() as u64 > CONFIG_LIMIT {
        return Some(false);
    }
    let lower = bytes.to_ascii_lowercase();
    let says = |word: &[u8]| memchr::memmem::find(&lower, word).is_some();
    Some(
        !(says(b"extensions")
            || says(b"include")
            || says(b"worktree")
            || says(b"replace")
            || (has_workdir && (says(b"bare = true") || says(b"bare=true")))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .args(args)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).expect("utf-8")
    }

    #[test]
    fn the_index_lookup_finds_what_gix_finds() {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = dir.path();
        git(repo, &["init", "-q"]);
        for i in 0..600 {
            // Versions of the same text, so the repack stores most of them as deltas.
            let text = format!(
                "{}version {i}\n",
                "You are a careful reviewer.\n".repeat(100)
            );
            std::fs::write(repo.join(format!("f{}", i % 40)), text).expect("write");
            if i % 40 == 39 {
                git(repo, &["add", "-A"]);
                git(
                    repo,
                    &[
                        "-c",
                        "user.name=A",
                        "-c",
                        "user.email=a@b",
                        "commit",
                        "-qm",
                        "c",
                    ],
                );
            }
        }
        git(repo, &["repack", "-adq"]);
        // Some objects are stored as deltas, so those are decoded through their bases.
        let bases = git(
            repo,
            &[
                "cat-file",
                "--batch-all-objects",
                "--batch-check=%(deltabase)",
            ],
        );
        assert!(
            bases.lines().any(|b| b.bytes().any(|c| c != b'0')),
            "no deltas"
        );
        let pack_dir = repo.join(".git/objects/pack");
        let index = std::fs::read_dir(&pack_dir)
            .expect("pack dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "idx"))
            .expect("an index");
        let theirs = gix::odb::pack::index::File::at(&index, gix::hash::Kind::Sha1).expect("gix");
        let light = LightRepo::discover(repo).expect("a plain repository");
        let mut ours = Vec::new();
        let mut gix_bytes = Vec::new();
        let full = gix::open(repo).expect("open");
        let listing = git(
            repo,
            &[
                "cat-file",
                "--batch-all-objects",
                "--batch-check=%(objectname)",
            ],
        );
        for hex in listing.lines() {
            let id = ObjectId::from_hex(hex.as_bytes()).expect("hex");
            let at = theirs.lookup(id).expect("gix finds it");
            assert_eq!(
                offset_in_index(&index, &id).expect("readable"),
                Some(theirs.pack_offset_at_index(at)),
                "{hex}"
            );
            let kind = light.find(&id, &mut ours).expect("found");
            let data = full.find_object(id).expect("gix reads it").detach();
            gix_bytes.clone_from(&data.data);
            assert_eq!((kind, &ours), (data.kind, &gix_bytes), "{hex}");
        }
        // Ids that are not there, at both ends of the fan-out table and in between.
        for hex in ["00", "7f", "ff"] {
            let id = ObjectId::from_hex(hex.repeat(20).as_bytes()).expect("hex");
            assert_eq!(offset_in_index(&index, &id).expect("readable"), None);
        }
    }

    #[test]
    fn a_damaged_index_is_an_error_not_a_wrong_answer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let id = ObjectId::from_hex(b"aa".repeat(20).as_slice()).expect("hex");
        let path = dir.path().join("x.idx");
        let mut bytes = vec![0xff, b't', b'O', b'c', 0, 0, 0, 2];
        // A fan-out table that claims a million objects, in a file that holds none.
        bytes.extend(std::iter::repeat_n(1_000_000u32.to_be_bytes(), 256).flatten());
        std::fs::write(&path, &bytes).expect("write");
        assert!(offset_in_index(&path, &id).is_err());
        std::fs::write(&path, b"PACK").expect("write");
        assert!(offset_in_index(&path, &id).is_err());
        // Out of order: the bucket for 0xaa ends before it starts.
        let mut bytes = vec![0xff, b't', b'O', b'c', 0, 0, 0, 2];
        for i in 0..256u32 {
            let count = if i == 0xa9 { 5u32 } else { 1 };
            bytes.extend(count.to_be_bytes());
        }
        bytes.extend(vec![0u8; 28 + 40]);
        std::fs::write(&path, &bytes).expect("write");
        assert!(offset_in_index(&path, &id).is_err());
    }
}
