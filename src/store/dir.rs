//! The directory backend: the files of the layout kept in a local directory.
//!
//! Writes go through [`crate::fsutil::Dir`]: a temporary file, fsynced, then linked
//! without replacing (create-only) or renamed over the old file (compare-and-swap), and
//! the directory fsynced; new directories are fsynced into their parent. A
//! compare-and-swap holds an exclusive `flock` on the file's directory while it reads,
//! compares and renames, so it is atomic against every other pulse process on the
//! machine (and the kernel releases the lock of a process that dies). Nothing below the
//! root is ever reached through a symbolic link, and non-regular files are refused
//! unopened. Temporary files (`.pulse-tmp-…`) and other dot files are not keys.

use std::io::{Read, Write};
use std::path::PathBuf;

use bytes::Bytes;

use super::backend::{Backend, Created, Etag, Object, Swapped};
use crate::digest::Digest;
use crate::error::{Error, IoResultExt, Result};
use crate::fsutil::{Dir, FileType, WriteMode, Written};

/// The most bytes a file changed by compare-and-swap may have (the largest, a prompt's
/// `_index.json`, is bounded well below this when it is read).
const SWAP_LIMIT: u64 = 64 << 20;

/// A directory holding the layout. It need not exist until the first write creates it.
#[derive(Debug)]
pub struct DirBackend {
    root: PathBuf,
}

impl DirBackend {
    /// The directory store at `root` (created on the first write).
    pub fn new(root: impl Into<PathBuf>) -> DirBackend {
        DirBackend { root: root.into() }
    }

    /// The open root, created if `create`; `None` if it does not exist.
    fn open_root(&self, create: bool) -> Result<Option<Dir>> {
        match std::fs::symlink_metadata(&self.root) {
            Ok(m) if m.is_dir() || m.file_type().is_symlink() => Dir::open(&self.root).map(Some),
            Ok(_) => Err(Error::usage(format!(
                "'{}' is not a directory, so it cannot be a directory store",
                self.root.display()
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if create {
                    Dir::create(&self.root).map(Some)
                } else {
                    Ok(None)
                }
            }
            Err(e) => Err(Error::io(
                format!("cannot open directory store '{}'", self.root.display()),
                e,
            )),
        }
    }

    /// The directory holding `key` and the key's file name, created if `create`.
    fn parent(&self, key: &str, create: bool) -> Result<Option<(Dir, String)>> {
        let (dirs, file) = split_key(key)?;
        // A store that does not exist yet holds no files: reads find none.
        let root = self.open_root(create)?;
        let Some(root) = root else {
            return Ok(None);
        };
        Ok(root
            .subdirs(dirs.iter().copied(), create)?
            .map(|d| (d, file.to_owned())))
    }
}

/// Split a key into its directory segments and file name, refusing what is not a key.
fn split_key(key: &str) -> Result<(Vec<&str>, &str)> {
    let mut segments: Vec<&str> = key.split('/').collect();
    let bad = segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == ".." || s.starts_with('.'));
    let file = segments.pop().filter(|_| !bad);
    file.map(|f| (segments, f))
        .ok_or_else(|| Error::usage(format!("'{key}' is not a key of the directory layout")))
}

fn etag_of(bytes: &[u8]) -> Etag {
    Etag(Digest::of(bytes).hex())
}

impl Backend for DirBackend {
    fn describe(&self) -> String {
        format!("directory store '{}'", self.root.display())
    }

    fn get(&self, key: &str, limit: u64) -> Result<Option<Object>> {
        let Some((dir, file)) = self.parent(key, false)? else {
            return Ok(None);
        };
        let Some(bytes) = dir.read(&file, limit.saturating_add(1))? else {
            return Ok(None);
        };
        if bytes.len() as u64 > limit {
            return Err(Error::integrity(format!(
                "'{}' {}",
                dir.path().join(&file).display(),
                crate::bounded::Refusal::TooLarge {
                    limit: usize::try_from(limit).unwrap_or(usize::MAX)
                }
            )));
        }
        let etag = etag_of(&bytes);
        Ok(Some(Object {
            bytes: Bytes::from(bytes),
            etag,
        }))
    }

    fn get_into(&self, key: &str, out: &mut dyn Write) -> Result<Option<u64>> {
        let Some((dir, file)) = self.parent(key, false)? else {
            return Ok(None);
        };
        let Some(mut f) = dir.open_file(&file)? else {
            return Ok(None);
        };
        let shown = dir.path().join(&file);
        let mut buf = vec![0u8; 64 << 10];
        let mut total = 0u64;
        loop {
            let n = f
                .read(&mut buf)
                .io_ctx(|| format!("cannot read '{}'", shown.display()))?;
            if n == 0 {
                return Ok(Some(total));
            }
            out.write_all(&buf[..n])
                .io_ctx(|| format!("cannot pass on '{}'", shown.display()))?;
            total += n as u64;
        }
    }

    /// Opens the root once, and each prompt's directory once for its releases (keys of
    /// one prompt come together), rather than every directory of every key.
    fn get_many(&self, keys: &[(String, u64)]) -> Result<Vec<Option<Bytes>>> {
        let Some(root) = self.open_root(false)? else {
            return Ok(keys.iter().map(|_| None).collect());
        };
        let mut out = Vec::with_capacity(keys.len());
        // The directory above the last one of the previous key, and its segments.
        let mut held: Option<(Vec<&str>, Dir)> = None;
        for (key, limit) in keys {
            let (dirs, file) = split_key(key)?;
            let Some((last, upper)) = dirs.split_last() else {
                out.push(root.read(file, limit.saturating_add(1))?.map(Bytes::from));
                continue;
            };
            if held
                .as_ref()
                .is_none_or(|(segments, _)| segments[..] != upper[..])
            {
                held = root
                    .subdirs(upper.iter().copied(), false)?
                    .map(|d| (upper.to_vec(), d));
            }
            let Some((_, upper_dir)) = &held else {
                out.push(None);
                continue;
            };
            let Some(dir) = upper_dir.subdir(last, false)? else {
                out.push(None);
                continue;
            };
            let bytes = dir.read(file, limit.saturating_add(1))?;
            if let Some(b) = &bytes
                && b.len() as u64 > *limit
            {
                return Err(Error::integrity(format!(
                    "'{}' {}",
                    dir.path().join(file).display(),
                    crate::bounded::Refusal::TooLarge {
                        limit: usize::try_from(*limit).unwrap_or(usize::MAX)
                    }
                )));
            }
            out.push(bytes.map(Bytes::from));
        }
        Ok(out)
    }

    fn exists(&self) -> Result<bool> {
        Ok(self.open_root(false)?.is_some())
    }

    fn put_new(&self, key: &str, bytes: Bytes) -> Result<Created> {
        let Some((dir, file)) = self.parent(key, true)? else {
            return Err(Error::other(format!(
                "cannot create the directory of '{key}'"
            )));
        };
        Ok(
            match dir.write(&file, &bytes, WriteMode::CreateNew, None)? {
                Written::Written => Created::Created,
                Written::Existed => Created::Existed,
            },
        )
    }

    fn put_swap(&self, key: &str, bytes: Bytes, expect: Option<&Etag>) -> Result<Swapped> {
        let Some((dir, file)) = self.parent(key, true)? else {
            return Err(Error::other(format!(
                "cannot create the directory of '{key}'"
            )));
        };
        let _lock = dir.lock()?;
        // Only the layout's small files move; one larger than any of them may be is
        // refused rather than read whole.
        let current = match dir.read(&file, SWAP_LIMIT + 1)? {
            Some(b) if b.len() as u64 > SWAP_LIMIT => {
                return Err(Error::integrity(format!(
                    "'{}' is larger than such a file can be",
                    dir.path().join(&file).display()
                )));
            }
            other => other.map(|b| etag_of(&b)),
        };
        if current.as_ref() != expect {
            return Ok(Swapped::Lost);
        }
        dir.write(&file, &bytes, WriteMode::Replace, None)?;
        Ok(Swapped::Done)
    }

    fn delete(&self, key: &str) -> Result<()> {
        let (dirs, file) = split_key(key)?;
        let Some(root) = self.open_root(false)? else {
            return Ok(());
        };
        // Walk down, remembering each directory, so emptied ones can be removed after.
        let mut chain = vec![root];
        for segment in &dirs {
            let next = chain
                .last()
                .map(|d| d.subdir(segment, false))
                .transpose()?
                .flatten();
            match next {
                Some(d) => chain.push(d),
                None => return Ok(()),
            }
        }
        if let Some(dir) = chain.last() {
            dir.remove(file)?;
        }
        // A release's directory goes when its last file goes (never the prompt's own).
        if let (Some(last), true) = (dirs.last(), chain.len() >= 2) {
            let parent = &chain[chain.len() - 2];
            if crate::version::Version::parse(last).is_ok() {
                parent.remove_empty_dir(last)?;
            }
        }
        Ok(())
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let Some(root) = self.open_root(false)? else {
            return Ok(Vec::new());
        };
        // Start at the deepest directory the prefix names whole.
        let (dirs, _) = match prefix.rfind('/') {
            Some(i) => (&prefix[..i], &prefix[i + 1..]),
            None => ("", prefix),
        };
        let start_segments: Vec<&str> = dirs.split('/').filter(|s| !s.is_empty()).collect();
        let Some(start) = root.subdirs(start_segments.iter().copied(), false)? else {
            return Ok(Vec::new());
        };
        let mut keys = Vec::new();
        let mut base = start_segments.join("/");
        walk(&start, &mut base, prefix, &mut keys)?;
        keys.sort();
        Ok(keys)
    }
}

fn walk(dir: &Dir, base: &mut String, prefix: &str, keys: &mut Vec<String>) -> Result<()> {
    for (name, kind) in dir.entries()? {
        let Some(name) = name.to_str() else {
            return Err(Error::usage(format!(
                "'{}' has a name that is not UTF-8; a directory store has none",
                dir.path().join(&name).display()
            )));
        };
        if name.starts_with('.') {
            continue;
        }
        let len = base.len();
        if !base.is_empty() {
            base.push('/');
        }
        base.push_str(name);
        // Only what can lie under the prefix is visited.
        let relevant = base.starts_with(prefix) || prefix.starts_with(&format!("{base}/"));
        if relevant {
            match kind {
                FileType::Directory => {
                    if let Some(sub) = dir.subdir(name, false)? {
                        walk(&sub, base, prefix, keys)?;
                    }
                }
                FileType::RegularFile => {
                    if base.starts_with(prefix) {
                        keys.push(base.clone());
                    }
                }
                FileType::Symlink => {
                    return Err(Error::usage(format!(
                        "'{}' is a symbolic link; a directory store has none and pulse does not follow it",
                        dir.path().join(name).display()
                    )));
                }
                _ => {
                    return Err(Error::usage(format!(
                        "'{}' is not a regular file or directory; a directory store has none",
                        dir.path().join(name).display()
                    )));
                }
            }
        }
        base.truncate(len);
    }
    Ok(())
}
