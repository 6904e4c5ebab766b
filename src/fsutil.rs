//! Files written the way a storage engine writes them, and directories walked without
//! ever following a symbolic link out of them.
//!
//! Every write goes to a temporary file that is fsynced and then linked or renamed into
//! place, and the directory is fsynced after: a reader (or a crash) sees the old file or
//! the new one, never half of one. A create-only write never replaces a file that is
//! already there, even when another process races it.
//!
//! [`Dir`] holds an open directory and works relative to it (`openat` and friends), so a
//! directory that is swapped for a symlink while pulse works cannot redirect a write.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub use rustix::fs::FileType;
use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};

use crate::digest::Hasher;
use crate::error::{Error, IoResultExt, Result};

/// How a write treats a file that is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Replace it atomically.
    Replace,
    /// Leave it alone: the write reports that the file existed.
    CreateNew,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The file now holds the bytes.
    Written,
    /// A create-only write found a file already there and left it untouched.
    Existed,
}

/// An open directory.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

fn from_rustix(what: impl std::fmt::Display, err: rustix::io::Errno) -> Error {
    Error::io(what, std::io::Error::from(err))
}

fn temp_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        ".pulse-tmp-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl Dir {
    /// Open the directory at `path` (a symlink naming the directory itself is followed:
    /// that is the caller's choice of where to work).
    pub fn open(path: &Path) -> Result<Dir> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| from_rustix(format!("cannot open directory '{}'", path.display()), e))?;
        Ok(Dir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// Create the directory at `path` with its parents if needed, then open it.
    pub fn create(path: &Path) -> Result<Dir> {
        std::fs::create_dir_all(path).io_ctx(|| format!("cannot create '{}'", path.display()))?;
        Dir::open(path)
    }

    /// The directory's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The subdirectory `name` (one path segment), created if `create` and missing;
    /// `None` if it is missing and not created. A symlink or a file in its place is a
    /// conflict: pulse never follows a link out of the directory it was given.
    pub fn subdir(&self, name: &str, create: bool) -> Result<Option<Dir>> {
        let shown = self.path.join(name);
        check_segment(name, &shown)?;
        loop {
            match rustix::fs::openat(
                &self.fd,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => return Ok(Some(Dir { fd, path: shown })),
                Err(rustix::io::Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o755)) {
                        // The new entry is made durable before anything is written below it.
                        Ok(()) => {
                            self.sync()?;
                            continue;
                        }
                        Err(rustix::io::Errno::EXIST) => continue,
                        Err(e) => {
                            return Err(from_rustix(
                                format!("cannot create '{}'", shown.display()),
                                e,
                            ));
                        }
                    }
                }
                Err(rustix::io::Errno::NOENT) => return Ok(None),
                Err(rustix::io::Errno::NOTDIR | rustix::io::Errno::LOOP) => {
                    return Err(not_ours(&shown, self.kind_of(name)));
                }
                Err(e) => {
                    return Err(from_rustix(format!("cannot open '{}'", shown.display()), e));
                }
            }
        }
    }

    /// Walk down `segments`, creating directories if `create`; `None` if one is missing.
    pub fn subdirs<'a>(
        &self,
        segments: impl IntoIterator<Item = &'a str>,
        create: bool,
    ) -> Result<Option<Dir>> {
        let mut current: Option<Dir> = None;
        for segment in segments {
            let next = match &current {
                None => self.subdir(segment, create)?,
                Some(dir) => dir.subdir(segment, create)?,
            };
            match next {
                Some(d) => current = Some(d),
                None => return Ok(None),
            }
        }
        match current {
            Some(d) => Ok(Some(d)),
            None => Dir::open(&self.path).map(Some),
        }
    }

    fn kind_of(&self, name: &str) -> &'static str {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                FileType::Symlink => "is a symbolic link",
                FileType::Directory => "is a directory",
                FileType::RegularFile => "is a file",
                _ => "is not a regular file or directory",
            },
            Err(_) => "is in the way",
        }
    }

    /// Open the regular file `name` for reading; `None` if it is missing. A symlink, FIFO,
    /// device or directory there is refused without reading from it.
    pub fn open_file(&self, name: &str) -> Result<Option<File>> {
        let shown = self.path.join(name);
        check_segment(name, &shown)?;
        let fd = match rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(rustix::io::Errno::LOOP) => {
                return Err(not_ours(&shown, "is a symbolic link"));
            }
            Err(e) => return Err(from_rustix(format!("cannot open '{}'", shown.display()), e)),
        };
        let st = rustix::fs::fstat(&fd)
            .map_err(|e| from_rustix(format!("cannot inspect '{}'", shown.display()), e))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(not_ours(&shown, "is not a regular file"));
        }
        Ok(Some(File::from(fd)))
    }

    /// Read the regular file `name` (at most `limit` bytes); `None` if it is missing. A
    /// symlink, FIFO, device or directory there is refused without reading from it.
    pub fn read(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        let Some(file) = self.open_file(name)? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        file.take(limit)
            .read_to_end(&mut bytes)
            .io_ctx(|| format!("cannot read '{}'", self.path.join(name).display()))?;
        Ok(Some(bytes))
    }

    /// The SHA-256 and size of the regular file `name`, read in pieces; `None` if it is
    /// missing. Refuses what [`Dir::read`] refuses.
    pub fn digest(&self, name: &str) -> Result<Option<Hasher>> {
        let Some(mut file) = self.open_file(name)? else {
            return Ok(None);
        };
        let mut seen = Hasher::new();
        std::io::copy(&mut file, &mut seen)
            .io_ctx(|| format!("cannot read '{}'", self.path.join(name).display()))?;
        Ok(Some(seen))
    }

    /// Write `bytes` to the file `name` in this directory: a temporary file (in `tmp`, a
    /// directory on the same filesystem, or else here), fsynced, then renamed (replace) or
    /// linked (create-only) into place, and the directory fsynced.
    pub fn write(
        &self,
        name: &str,
        bytes: &[u8],
        mode: WriteMode,
        tmp: Option<&Dir>,
    ) -> Result<Written> {
        let shown = self.path.join(name);
        self.write_with(name, mode, tmp, &mut |file| {
            file.write_all(bytes)
                .io_ctx(|| format!("cannot write '{}'", shown.display()))
        })
    }

    /// Write the file `name` as [`Dir::write`] does, with its bytes written by `fill` into
    /// the temporary file (so content of any size is streamed, never held whole). The file
    /// is put in place only if `fill` succeeds; if it fails, nothing is left behind.
    /// `fill` may be called again (when the temporary directory is on another filesystem).
    pub fn write_with(
        &self,
        name: &str,
        mode: WriteMode,
        tmp: Option<&Dir>,
        fill: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
    ) -> Result<Written> {
        self.write_with_permissions(name, mode, tmp, 0o644, fill)
    }

    /// Replace the file `name` with `bytes` as [`Dir::write`] does, readable and writable
    /// by its owner only (mode 0600) from the moment its temporary file is created: for
    /// files that hold credentials.
    pub fn write_private(&self, name: &str, bytes: &[u8]) -> Result<Written> {
        let shown = self.path.join(name);
        self.write_with_permissions(name, WriteMode::Replace, None, 0o600, &mut |file| {
            file.write_all(bytes)
                .io_ctx(|| format!("cannot write '{}'", shown.display()))
        })
    }

    fn write_with_permissions(
        &self,
        name: &str,
        mode: WriteMode,
        tmp: Option<&Dir>,
        permissions: u32,
        fill: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
    ) -> Result<Written> {
        let shown = self.path.join(name);
        check_segment(name, &shown)?;
        let tmp_dir = tmp.unwrap_or(self);
        let (tmp_name, file) = tmp_dir.temp_file(permissions)?;
        let result = self.place(name, fill, mode, permissions, tmp_dir, &tmp_name, file);
        if result.is_err() || matches!(result, Ok(Written::Existed)) {
            let _ = rustix::fs::unlinkat(&tmp_dir.fd, tmp_name.as_str(), AtFlags::empty());
        }
        match result {
            // The temporary directory is on another filesystem: write beside the target.
            Err(e) if tmp.is_some() && is_cross_device(&e) => {
                self.write_with_permissions(name, mode, None, permissions, fill)
            }
            other => other,
        }
    }

    fn temp_file(&self, permissions: u32) -> Result<(String, File)> {
        for _ in 0..16 {
            let name = temp_name();
            match rustix::fs::openat(
                &self.fd,
                name.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(permissions),
            ) {
                Ok(fd) => return Ok((name, File::from(fd))),
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => {
                    return Err(from_rustix(
                        format!(
                            "cannot create a temporary file in '{}'",
                            self.path.display()
                        ),
                        e,
                    ));
                }
            }
        }
        Err(Error::other(format!(
            "cannot find a free temporary name in '{}'",
            self.path.display()
        )))
    }

    #[allow(clippy::too_many_arguments)]
    fn place(
        &self,
        name: &str,
        fill: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
        mode: WriteMode,
        permissions: u32,
        tmp_dir: &Dir,
        tmp_name: &str,
        mut file: File,
    ) -> Result<Written> {
        let shown = self.path.join(name);
        fill(&mut file)?;
        file.sync_all()
            .io_ctx(|| format!("cannot write '{}'", shown.display()))?;
        // The umask may have narrowed the mode the file was created with.
        rustix::fs::fchmod(&file, Mode::from_raw_mode(permissions))
            .map_err(|e| from_rustix(format!("cannot write '{}'", shown.display()), e))?;
        drop(file);
        match mode {
            WriteMode::Replace => {
                rustix::fs::renameat(&tmp_dir.fd, tmp_name, &self.fd, name)
                    .map_err(|e| from_rustix(format!("cannot write '{}'", shown.display()), e))?;
            }
            WriteMode::CreateNew => {
                match rustix::fs::renameat_with(
                    &tmp_dir.fd,
                    tmp_name,
                    &self.fd,
                    name,
                    RenameFlags::NOREPLACE,
                ) {
                    Ok(()) => {}
                    Err(rustix::io::Errno::EXIST) => return Ok(Written::Existed),
                    // A filesystem without renameat2: a hard link is create-only too.
                    Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                        match rustix::fs::linkat(
                            &tmp_dir.fd,
                            tmp_name,
                            &self.fd,
                            name,
                            AtFlags::empty(),
                        ) {
                            Ok(()) => {
                                let _ =
                                    rustix::fs::unlinkat(&tmp_dir.fd, tmp_name, AtFlags::empty());
                            }
                            Err(rustix::io::Errno::EXIST) => return Ok(Written::Existed),
                            Err(e) => {
                                return Err(from_rustix(
                                    format!("cannot write '{}'", shown.display()),
                                    e,
                                ));
                            }
                        }
                    }
                    Err(e) => {
                        return Err(from_rustix(
                            format!("cannot write '{}'", shown.display()),
                            e,
                        ));
                    }
                }
            }
        }
        self.sync()?;
        Ok(Written::Written)
    }

    /// The entries of this directory (not `.` and `..`), sorted by name, with what each
    /// is (a symlink is reported as one, never followed).
    pub fn entries(&self) -> Result<Vec<(std::ffi::OsString, FileType)>> {
        use std::os::unix::ffi::OsStrExt;
        let shown = || format!("cannot list '{}'", self.path.display());
        let fd = rustix::fs::openat(
            &self.fd,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| from_rustix(shown(), e))?;
        let mut out = Vec::new();
        let mut dir = rustix::fs::Dir::read_from(&fd).map_err(|e| from_rustix(shown(), e))?;
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(|e| from_rustix(shown(), e))?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let name = std::ffi::OsStr::from_bytes(name).to_owned();
            let kind = match entry.file_type() {
                FileType::Unknown => {
                    let st =
                        rustix::fs::statat(&self.fd, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)
                            .map_err(|e| from_rustix(shown(), e))?;
                    FileType::from_raw_mode(st.st_mode)
                }
                known => known,
            };
            out.push((name, kind));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Hold an exclusive lock on this directory (`flock`) until the guard is dropped:
    /// a compare-and-swap of a file in it is then atomic against every other process
    /// that takes the same lock. The kernel drops the lock if the process dies.
    pub fn lock(&self) -> Result<DirLock<'_>> {
        rustix::fs::flock(&self.fd, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| from_rustix(format!("cannot lock '{}'", self.path.display()), e))?;
        Ok(DirLock { dir: self })
    }

    /// Remove the empty subdirectory `name`; a missing or non-empty one is left alone.
    pub fn remove_empty_dir(&self, name: &str) -> Result<()> {
        let shown = self.path.join(name);
        check_segment(name, &shown)?;
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR) {
            Ok(()) => self.sync(),
            Err(
                rustix::io::Errno::NOENT | rustix::io::Errno::NOTEMPTY | rustix::io::Errno::EXIST,
            ) => Ok(()),
            Err(e) => Err(from_rustix(
                format!("cannot remove '{}'", shown.display()),
                e,
            )),
        }
    }

    /// Flush the directory's entries to disk.
    pub fn sync(&self) -> Result<()> {
        rustix::fs::fsync(self.fd.as_fd())
            .map_err(|e| from_rustix(format!("cannot sync '{}'", self.path.display()), e))
    }

    /// Remove the file `name`; a missing file is fine.
    pub fn remove(&self, name: &str) -> Result<()> {
        let shown = self.path.join(name);
        check_segment(name, &shown)?;
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => self.sync(),
            Err(e) => Err(from_rustix(
                format!("cannot remove '{}'", shown.display()),
                e,
            )),
        }
    }
}

/// An exclusive lock on a directory, released when dropped.
#[derive(Debug)]
pub struct DirLock<'a> {
    dir: &'a Dir,
}

impl Drop for DirLock<'_> {
    fn drop(&mut self) {
        let _ = rustix::fs::flock(&self.dir.fd, rustix::fs::FlockOperation::Unlock);
    }
}

fn is_cross_device(e: &Error) -> bool {
    e.causes().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.raw_os_error() == Some(rustix::io::Errno::XDEV.raw_os_error()))
    })
}

fn check_segment(name: &str, shown: &Path) -> Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(Error::usage(format!(
            "'{}' is not a single path segment",
            shown.display()
        )));
    }
    Ok(())
}

fn not_ours(path: &Path, why: &str) -> Error {
    Error::conflict(format!(
        "'{}' {why}; pulse does not follow or replace it",
        path.display()
    ))
    .with_hint("remove it or choose another directory")
}

/// Write `bytes` to `path` atomically (replacing what is there), creating its directory.
/// The final component is replaced, never followed: a symlink at `path` is replaced by
/// the file, as `git` and `cp` do with `--remove-destination`.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file_with(path, &mut |file| {
        file.write_all(bytes)
            .io_ctx(|| format!("cannot write '{}'", path.display()))
    })
}

/// Write `path` as [`write_file`] does, with its bytes written by `fill` (streamed into
/// the temporary file); the file is replaced only if `fill` succeeds.
pub fn write_file_with(
    path: &Path,
    fill: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => Dir::create(parent)?,
        None => Dir::open(Path::new("."))?,
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::usage(format!("'{}' names no file", path.display())))?;
    dir.write_with(name, WriteMode::Replace, None, fill)
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_atomic_and_create_only_when_asked() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        assert_eq!(
            dir.write("a", b"one", WriteMode::CreateNew, None).unwrap(),
            Written::Written
        );
        assert_eq!(
            dir.write("a", b"two", WriteMode::CreateNew, None).unwrap(),
            Written::Existed
        );
        assert_eq!(dir.read("a", 100).unwrap().unwrap(), b"one");
        dir.write("a", b"three", WriteMode::Replace, None).unwrap();
        assert_eq!(dir.read("a", 100).unwrap().unwrap(), b"three");
        assert_eq!(dir.read("missing", 100).unwrap(), None);
        let names: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a"], "no temporary file is left behind");
    }

    #[test]
    fn symlinks_are_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), tmp.path().join("link")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("f"), tmp.path().join("flink")).unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        let err = dir.subdir("link", true).unwrap_err();
        assert_eq!(err.kind(), crate::Kind::Conflict, "{err}");
        let err = dir.read("flink", 10).unwrap_err();
        assert_eq!(err.kind(), crate::Kind::Conflict, "{err}");
        assert!(dir.subdir("..", true).is_err());
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }
}
