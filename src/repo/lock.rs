//! The repository's write lock: serialises pulse writers and cleans up after a killed one.
//!
//! Every writing pulse holds an exclusive `flock` on `$GIT_DIR/pulse.lock`. The kernel drops
//! that lock when the process dies, even by SIGKILL, but git's own `.lock` files (for refs,
//! `packed-refs` and the index) would stay behind and block every later git command. So
//! the holder keeps a journal in the lock file: `pid start-time` when it starts, and, just
//! before it moves the checked-out branch, one `sync` line per worktree path it is about
//! to update. It empties the journal when it is done. A writer that gets the lock and
//! finds a journal knows the previous holder died mid-write: it removes the `.lock` files
//! created since that start and the half-written files under `$GIT_DIR/pulse-tmp`, and
//! hands the pending `sync` lines to the repository so the worktree and index are brought
//! in line with the branch (a file is only touched if it still holds the old or the new
//! content, so a user's edit is never overwritten).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gix::ObjectId;

use crate::error::{Error, IoResultExt, Result};

/// How long a writer waits for another pulse to finish before giving up.
const WAIT: Duration = Duration::from_secs(120);
/// Slack for coarse filesystem timestamps when deciding which `.lock` files are stale.
const CLOCK_SLACK: Duration = Duration::from_secs(2);

/// A worktree path a dead writer was about to update: its blob before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSync {
    /// The path, relative to the worktree.
    pub path: String,
    /// The blob id before the commit (`None`: the path did not exist).
    pub old: Option<ObjectId>,
    /// The blob id after the commit (`None`: the path is removed).
    pub new: Option<ObjectId>,
}

/// Held while pulse writes to a repository; released (and the journal emptied) on drop.
#[derive(Debug)]
pub struct WriteLock {
    file: File,
    header: String,
    tmp_dir: PathBuf,
    recovered: Vec<PendingSync>,
}

impl WriteLock {
    /// Wait for and take the write lock of the repository whose git dir is `git_dir`.
    pub fn acquire(git_dir: &Path) -> Result<WriteLock> {
        let path = git_dir.join("pulse.lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .io_ctx(|| format!("cannot open the lock file '{}'", path.display()))?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    if started.elapsed() > WAIT {
                        return Err(Error::conflict(format!(
                            "another pulse has been writing to '{}' for over {}s",
                            git_dir.display(),
                            WAIT.as_secs()
                        ))
                        .with_hint("wait for it to finish, then retry"));
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(Error::io(format!("cannot lock '{}'", path.display()), e));
                }
            }
        }
        let mut journal = String::new();
        // A journal that cannot be read is treated as absent: the lock is still ours.
        let _ = file.read_to_string(&mut journal);
        let tmp_dir = git_dir.join("pulse-tmp");
        let mut recovered = Vec::new();
        if let Some(since) = parse_start(&journal) {
            recover(git_dir, since);
            let _ = std::fs::remove_dir_all(&tmp_dir);
            // Only whole lines: a writer killed while appending leaves a partial last one.
            recovered = journal
                .split_inclusive('\n')
                .skip(1)
                .filter_map(|l| l.strip_suffix('\n'))
                .filter_map(parse_sync)
                .collect();
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let header = format!("{} {now}\n", std::process::id());
        let lock = WriteLock {
            file,
            header,
            tmp_dir,
            recovered,
        };
        lock.write_journal(&[])?;
        Ok(lock)
    }

    /// Write the journal whole: the header, then `syncs`.
    fn write_journal(&self, syncs: &[PendingSync]) -> Result<()> {
        let mut f = &self.file;
        f.set_len(0)
            .and_then(|()| f.seek(SeekFrom::Start(0)))
            .and_then(|_| f.write_all(self.header.as_bytes()))
            .io_ctx(|| "cannot write the lock journal (pulse.lock)")?;
        self.write_syncs(syncs)
    }

    /// Replace the journal's sync lines, never touching its header: a writer killed at
    /// any instant leaves the header (and with it the start time that tells the next
    /// writer which git lock files are its leftovers) and only whole sync lines.
    fn write_syncs(&self, syncs: &[PendingSync]) -> Result<()> {
        let id = |o: &Option<ObjectId>| o.map_or_else(|| "-".to_owned(), |o| o.to_string());
        let mut text = String::new();
        for s in syncs {
            text.push_str(&format!("sync {} {} {}\n", id(&s.old), id(&s.new), s.path));
        }
        let mut f = &self.file;
        let end = self.header.len() as u64;
        f.set_len(end)
            .and_then(|()| f.seek(SeekFrom::Start(end)))
            .and_then(|_| f.write_all(text.as_bytes()))
            .io_ctx(|| "cannot write the lock journal (pulse.lock)")
    }

    /// Record the worktree paths about to be updated, before the branch moves.
    pub fn record_sync(&self, syncs: &[PendingSync]) -> Result<()> {
        self.write_syncs(syncs)
    }

    /// Forget the recorded paths once the worktree is in line.
    pub fn clear_sync(&self) -> Result<()> {
        self.write_syncs(&[])
    }

    /// Worktree updates a killed writer left unfinished (empty after a clean exit).
    pub fn recovered(&self) -> &[PendingSync] {
        &self.recovered
    }

    /// A directory for temporary files that are renamed into place; emptied after a crash.
    pub fn tmp_dir(&self) -> Result<&Path> {
        std::fs::create_dir_all(&self.tmp_dir)
            .io_ctx(|| format!("cannot create '{}'", self.tmp_dir.display()))?;
        Ok(&self.tmp_dir)
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        // An empty journal tells the next writer that this one finished cleanly.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn parse_start(journal: &str) -> Option<SystemTime> {
    let first = journal.lines().next()?;
    let nanos: u128 = first.split_whitespace().nth(1)?.parse().ok()?;
    let since = UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).ok()?);
    Some(since.checked_sub(CLOCK_SLACK).unwrap_or(since))
}

fn parse_sync(line: &str) -> Option<PendingSync> {
    let rest = line.strip_prefix("sync ")?;
    let mut parts = rest.splitn(3, ' ');
    let id = |s: &str| -> Option<Option<ObjectId>> {
        if s == "-" {
            Some(None)
        } else {
            ObjectId::from_hex(s.as_bytes()).ok().map(Some)
        }
    };
    let old = id(parts.next()?)?;
    let new = id(parts.next()?)?;
    let path = parts.next()?.to_owned();
    Some(PendingSync { path, old, new })
}

/// Remove git lock files that a dead pulse left behind (created at or after `since`).
fn recover(git_dir: &Path, since: SystemTime) {
    for name in ["packed-refs.lock", "index.lock", "HEAD.lock", "config.lock"] {
        remove_if_newer(&git_dir.join(name), since);
    }
    remove_locks_below(&git_dir.join("refs"), since);
}

fn remove_locks_below(dir: &Path, since: SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => remove_locks_below(&path, since),
            Ok(t) if t.is_file() && path.extension().is_some_and(|e| e == "lock") => {
                remove_if_newer(&path, since)
            }
            _ => {}
        }
    }
}

fn remove_if_newer(path: &Path, since: SystemTime) {
    let newer = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|m| m >= since);
    if newer {
        let _ = std::fs::remove_file(path);
    }
}
