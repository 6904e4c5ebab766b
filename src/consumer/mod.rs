//! The consumer side: a repository that uses released prompts declares them in
//! `pulse.yaml` ([`manifest`]); `pulse install` resolves them, writes the files where the
//! manifest says and records what it installed in `pulse.lock` ([`lock`]); `pulse status`
//! compares the files with the lock, `pulse outdated` the lock with the stores.
//!
//! Installing never loses a user's work: a file is written only where there is none, where
//! it holds what pulse installed there (byte for byte, by checksum), or with `force` (the
//! file kept as a backup). Everything is resolved, fetched and checked before the first
//! file is written, so a refusal writes nothing; each file is replaced atomically
//! (temporary file, fsync, rename), the lock last. A run that was interrupted is completed
//! by running it again: a file that already holds what is to be installed is left as it is.

pub mod lock;
pub mod manifest;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

pub use lock::{LOCK_FILE, Lock, Locked};
pub use manifest::{Entry, InstallPath, MANIFEST_FILE, Manifest};

use crate::bounded::{self, Links, ReadError};
use crate::digest::Digest;
use crate::error::{Error, Kind, Result};
use crate::fsutil::{Dir, WriteMode};
use crate::name::{Label, Name};
use crate::store::{Store, StoreExt};
use crate::version::Version;

/// Opens the store at an address (relative paths already made absolute).
pub type Opener<'a> = &'a dyn Fn(&str) -> Result<Arc<dyn Store>>;

/// A consumer repository: the directory that holds `pulse.yaml`, the manifest, and the
/// lock if there is one.
#[derive(Debug, Clone)]
pub struct Project {
    /// The directory of `pulse.yaml`; install paths are relative to it.
    pub root: PathBuf,
    /// `pulse.yaml`.
    pub manifest: Manifest,
    /// `pulse.lock` (`None` before the first install).
    pub lock: Option<Lock>,
}

impl Project {
    /// The directory of the nearest `pulse.yaml` at or above `start` (as cargo finds
    /// `Cargo.toml`); not found (exit 3) if there is none.
    pub fn find(start: &Path) -> Result<PathBuf> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            if d.join(MANIFEST_FILE).exists() {
                return Ok(d.to_path_buf());
            }
            dir = d.parent();
        }
        Err(Error::not_found(format!(
            "no {MANIFEST_FILE} in '{}' or any directory above it",
            start.display()
        ))
        .with_hint(
            "write one (docs/consumers.md shows how), or run pulse in the repository that has it",
        ))
    }

    /// Read the project at `root`: its manifest (which must be there) and its lock.
    pub fn load(root: &Path) -> Result<Project> {
        let manifest_path = root.join(MANIFEST_FILE);
        let shown = manifest_path.display().to_string();
        let bytes = read_small(&manifest_path, bounded::MANIFEST.max_bytes)?.ok_or_else(|| {
            Error::not_found(format!("there is no '{shown}'"))
                .with_hint("docs/consumers.md shows what pulse.yaml holds")
        })?;
        let manifest = Manifest::parse(&bytes, &shown)?;
        let lock_path = root.join(LOCK_FILE);
        let lock = read_small(&lock_path, bounded::LOCK.max_bytes)?
            .map(|bytes| Lock::parse(&bytes, &lock_path.display().to_string()))
            .transpose()?;
        Ok(Project {
            root: root.to_path_buf(),
            manifest,
            lock,
        })
    }

    /// The address to open for a store the manifest names: a relative path is relative to
    /// the manifest's directory.
    pub fn address(&self, written: &str) -> String {
        match crate::store::Address::parse(written) {
            Ok(crate::store::Address::Path(p)) if p.is_relative() => {
                self.root.join(p).display().to_string()
            }
            _ => written.to_owned(),
        }
    }
}

/// Read a file pulse owns in the project (the manifest, the lock): `None` if missing; a
/// FIFO, a directory or a file too large is refused (exit 2).
fn read_small(path: &Path, limit: usize) -> Result<Option<Vec<u8>>> {
    match bounded::read_file(path, limit, Links::Follow) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(ReadError::Io(e)) => Err(Error::io(format!("cannot read '{}'", path.display()), e)),
        Err(ReadError::Refused(why)) => Err(Error::usage(format!("'{}' {why}", path.display()))),
    }
}

/// What `install` does about selectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Keep what the lock says for entries the manifest did not change; resolve the rest.
    Install,
    /// Install exactly what the lock says; the manifest and the lock must agree (CI).
    Locked,
    /// Resolve these prompts again (all of them: `None`), keep the lock for the rest.
    Update(Option<BTreeSet<Name>>),
}

/// How to install.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// What to do about selectors.
    pub mode: Mode,
    /// Replace files pulse did not install or that were edited since, keeping each as a
    /// backup beside it.
    pub force: bool,
    /// Say what would be done, and write nothing.
    pub dry_run: bool,
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileAction {
    /// It was not there; now it holds the release.
    Created,
    /// It held what pulse installed before; now it holds the new release.
    Updated,
    /// It already held the release.
    Unchanged,
    /// It was edited, or not pulse's, and `force` replaced it (a backup was kept).
    Replaced,
    /// No prompt installs it any more, and it held what pulse installed: removed.
    Removed,
    /// No prompt installs it any more, but it was edited since: left as it is.
    Kept,
}

/// One file `install` looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// The file, relative to the project.
    pub path: InstallPath,
    /// The prompt installed there (for a removed file: the one that was).
    pub name: Name,
    /// What was done.
    pub action: FileAction,
    /// Where the replaced file was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
}

/// One prompt `install` resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledPrompt {
    /// The prompt.
    pub name: Name,
    /// Its selector.
    pub selector: String,
    /// The release installed.
    pub version: Version,
    /// What the lock said before, if it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Version>,
    /// Its checksum.
    pub sha256: Digest,
}

/// What `install` (or `update`) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Installed {
    /// The project.
    pub project: String,
    /// Every prompt, by name.
    pub prompts: Vec<InstalledPrompt>,
    /// Every file looked at.
    pub files: Vec<FileChange>,
    /// Whether `pulse.lock` changed.
    pub lock_changed: bool,
    /// Whether nothing was written (`--dry-run`).
    pub dry_run: bool,
}

/// A file to write.
struct Planned {
    path: InstallPath,
    name: Name,
    content: Arc<Vec<u8>>,
    action: FileAction,
}

/// Resolve every prompt of `project`, install its files and write its lock, as
/// `options` say. Refusals (a file in the way, the manifest and the lock disagreeing with
/// `Mode::Locked`) are conflicts (exit 4) and write nothing.
pub fn install(project: &Project, open: Opener, options: &InstallOptions) -> Result<Installed> {
    let old = project.lock.clone().unwrap_or_default();
    if options.mode == Mode::Locked {
        check_locked(project)?;
    }
    if let Mode::Update(Some(names)) = &options.mode
        && let Some(unknown) = names
            .iter()
            .find(|n| !project.manifest.prompts.contains_key(*n))
    {
        return Err(
            Error::not_found(format!("pulse.yaml uses no prompt '{unknown}'"))
                .with_hint("'pulse status' lists the prompts it uses"),
        );
    }
    // 1. Resolve and fetch everything first: nothing is written if one of them fails.
    let mut stores: BTreeMap<String, Arc<dyn Store>> = BTreeMap::new();
    let mut new_lock = Lock::default();
    let mut prompts = Vec::new();
    let mut contents: BTreeMap<Name, Arc<Vec<u8>>> = BTreeMap::new();
    for (name, entry) in &project.manifest.prompts {
        let selector = entry.selector.to_string();
        let before = old.prompts.get(name);
        let same = before.filter(|l| l.selector == selector && l.store == entry.store);
        let keep = match &options.mode {
            Mode::Locked => same,
            Mode::Install => same,
            Mode::Update(None) => None,
            Mode::Update(Some(names)) => same.filter(|_| !names.contains(name)),
        };
        let address = project.address(&entry.store);
        let store = match stores.get(&address) {
            Some(s) => Arc::clone(s),
            None => {
                let s = open(&address)?;
                stores.insert(address.clone(), Arc::clone(&s));
                s
            }
        };
        let version = match keep {
            Some(l) => l.version.clone(),
            None => store.resolve(name, &entry.selector)?,
        };
        let content = store
            .fetch(name, &version)
            .map_err(|e| store.explain_missing(e))?;
        let sha256 = Digest::of(&content);
        if let Some(l) = keep
            && l.sha256 != sha256
        {
            return Err(Error::integrity(format!(
                "'{name}@{version}' in {} is not what {LOCK_FILE} records (it has {sha256}, the lock {})",
                store.describe(),
                l.sha256
            ))
            .with_hint("a release never changes: find out why the store's copy differs before installing it"));
        }
        prompts.push(InstalledPrompt {
            name: name.clone(),
            selector: selector.clone(),
            previous: before.map(|l| l.version.clone()).filter(|v| *v != version),
            version: version.clone(),
            sha256,
        });
        contents.insert(name.clone(), Arc::new(content));
        new_lock.prompts.insert(
            name.clone(),
            Locked {
                selector,
                version,
                sha256,
                store: entry.store.clone(),
                install: entry.install.clone(),
            },
        );
    }
    // 2. Look at every file: what is there decides what may be done. Two installs in
    // one project at once take turns (a lock on the project's directory).
    let root = Dir::open(&project.root)?;
    let _turn = root.lock()?;
    let mut plan = Vec::new();
    let mut files = Vec::new();
    let mut blocked = Vec::new();
    for (name, locked) in &new_lock.prompts {
        for path in &locked.install {
            let there = digest_at(&root, path)?;
            let action = match there {
                None => FileAction::Created,
                Some(sha) if sha == locked.sha256 => FileAction::Unchanged,
                Some(sha) => match old.owner_of(path) {
                    Some((_, l)) if l.sha256 == sha => FileAction::Updated,
                    owner => {
                        if !options.force {
                            blocked.push(match owner {
                                Some(_) => format!("'{path}' was edited since pulse installed it"),
                                None => format!("'{path}' is there, and pulse did not install it"),
                            });
                        }
                        FileAction::Replaced
                    }
                },
            };
            if action != FileAction::Unchanged {
                plan.push(Planned {
                    path: path.clone(),
                    name: name.clone(),
                    content: Arc::clone(&contents[name]),
                    action,
                });
            }
            files.push(FileChange {
                path: path.clone(),
                name: name.clone(),
                action,
                backup: None,
            });
        }
    }
    // Files the lock had that no prompt installs now.
    let wanted: BTreeSet<&InstallPath> =
        new_lock.prompts.values().flat_map(|l| &l.install).collect();
    let mut removals = Vec::new();
    for (name, l) in &old.prompts {
        for path in l.install.iter().filter(|p| !wanted.contains(p)) {
            match digest_at(&root, path)? {
                None => {}
                Some(sha) if sha == l.sha256 => {
                    removals.push(path.clone());
                    files.push(FileChange {
                        path: path.clone(),
                        name: name.clone(),
                        action: FileAction::Removed,
                        backup: None,
                    });
                }
                Some(_) => files.push(FileChange {
                    path: path.clone(),
                    name: name.clone(),
                    action: FileAction::Kept,
                    backup: None,
                }),
            }
        }
    }
    if !blocked.is_empty() {
        return Err(Error::conflict(format!(
            "nothing was installed: {}",
            blocked.join("; ")
        ))
        .with_hint("move the file aside, or run again with --force to replace it (a backup is kept beside it)"));
    }
    let lock_text = new_lock.render();
    let lock_changed = read_small(&project.root.join(LOCK_FILE), bounded::LOCK.max_bytes)?
        .is_none_or(|bytes| bytes != lock_text.as_bytes());
    let mut report = Installed {
        project: project.root.display().to_string(),
        prompts,
        files,
        lock_changed,
        dry_run: options.dry_run,
    };
    if options.dry_run {
        return Ok(report);
    }
    // 3. Write: each file atomically, the lock last.
    for p in &plan {
        let (dirs, file) = p.path.split();
        let dir = root
            .subdirs(dirs.iter().copied(), true)?
            .ok_or_else(|| Error::other(format!("cannot create the directory of '{}'", p.path)))?;
        if p.action == FileAction::Replaced
            && let Some(backup) = back_up(&dir, file)?
        {
            let shown = match dirs.is_empty() {
                true => backup,
                false => format!("{}/{backup}", dirs.join("/")),
            };
            if let Some(f) = report
                .files
                .iter_mut()
                .find(|f| f.path == p.path && f.name == p.name)
            {
                f.backup = Some(shown);
            }
        }
        dir.write(file, &p.content, WriteMode::Replace, None)?;
    }
    for path in &removals {
        let (dirs, file) = path.split();
        if let Some(dir) = root.subdirs(dirs.iter().copied(), false)? {
            dir.remove(file)?;
        }
    }
    if lock_changed {
        root.write(LOCK_FILE, lock_text.as_bytes(), WriteMode::Replace, None)?;
    }
    Ok(report)
}

/// `Mode::Locked`: the lock must say exactly what the manifest asks for.
fn check_locked(project: &Project) -> Result<()> {
    let Some(lock) = &project.lock else {
        return Err(Error::conflict(format!(
            "--locked installs what {LOCK_FILE} says, and there is none"
        ))
        .with_hint("run 'pulse install' and commit pulse.lock"));
    };
    let mut differences = Vec::new();
    for (name, entry) in &project.manifest.prompts {
        match lock.prompts.get(name) {
            None => differences.push(format!("'{name}' is not in {LOCK_FILE}")),
            Some(l) => {
                let selector = entry.selector.to_string();
                if l.selector != selector {
                    differences.push(format!(
                        "'{name}' asks for '{selector}', the lock has '{}'",
                        l.selector
                    ));
                }
                if l.store != entry.store {
                    differences.push(format!(
                        "'{name}' comes from '{}', the lock has '{}'",
                        entry.store, l.store
                    ));
                }
                if l.install != entry.install {
                    differences.push(format!(
                        "'{name}' is installed at other paths than the lock says"
                    ));
                }
            }
        }
    }
    for name in lock.prompts.keys() {
        if !project.manifest.prompts.contains_key(name) {
            differences.push(format!(
                "'{name}' is locked but pulse.yaml no longer uses it"
            ));
        }
    }
    if differences.is_empty() {
        return Ok(());
    }
    Err(Error::conflict(format!(
        "{MANIFEST_FILE} and {LOCK_FILE} disagree: {}",
        differences.join("; ")
    ))
    .with_hint("run 'pulse install' (or 'pulse update') and commit the new pulse.lock"))
}

/// The checksum of the file at `path` under `root`, `None` if there is none. A symlink,
/// FIFO or directory there (or on the way) is a conflict: pulse never writes through one.
fn digest_at(root: &Dir, path: &InstallPath) -> Result<Option<Digest>> {
    let (dirs, file) = path.split();
    let Some(dir) = root.subdirs(dirs.iter().copied(), false)? else {
        return Ok(None);
    };
    Ok(dir.digest(file)?.map(|h| h.finish()))
}

/// Keep the file `name` as `<name>.orig` (or `.orig.1`, `.orig.2`, … when taken) before
/// it is replaced; its new name, or `None` if there was nothing to keep.
fn back_up(dir: &Dir, name: &str) -> Result<Option<String>> {
    let Some(mut file) = dir.open_file(name)? else {
        return Ok(None);
    };
    for n in 0..1000 {
        let backup = match n {
            0 => format!("{name}.orig"),
            n => format!("{name}.orig.{n}"),
        };
        let written = dir.write_with(&backup, WriteMode::CreateNew, None, &mut |out| {
            use std::io::Seek;
            file.rewind()
                .and_then(|()| std::io::copy(&mut file, out).map(|_| ()))
                .map_err(|e| Error::io(format!("cannot back up '{name}'"), e))
        })?;
        if written == crate::fsutil::Written::Written {
            return Ok(Some(backup));
        }
    }
    Err(Error::conflict(format!(
        "cannot find a free backup name for '{}'",
        dir.path().join(name).display()
    )))
}

/// The state of one installed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// It holds what the lock says.
    Ok,
    /// It holds something else: edited since it was installed.
    Edited,
    /// It is not there.
    Missing,
}

/// The state of one prompt of the manifest or the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptState {
    /// The manifest and the lock agree.
    Locked,
    /// The manifest uses it, the lock does not have it: not installed yet.
    NotLocked,
    /// The manifest asks for another selector, store or paths than the lock records.
    ManifestChanged,
    /// The lock has it, the manifest no longer uses it.
    NotInManifest,
}

/// One installed file's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileStatus {
    /// The file.
    pub path: InstallPath,
    /// Its state.
    pub state: FileState,
}

/// One prompt's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromptStatus {
    /// The prompt.
    pub name: Name,
    /// The version the lock records.
    pub version: Option<Version>,
    /// The manifest against the lock.
    pub state: PromptState,
    /// Its files against the lock.
    pub files: Vec<FileStatus>,
}

/// `pulse status`: the lock against the manifest and the files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The project.
    pub project: String,
    /// Every prompt of the manifest or the lock.
    pub prompts: Vec<PromptStatus>,
    /// Whether anything is not as locked.
    pub drifted: bool,
}

/// Compare the project's files with its lock, and its lock with its manifest. Reads no
/// store.
pub fn status(project: &Project) -> Result<Status> {
    let empty = Lock::default();
    let lock = project.lock.as_ref().unwrap_or(&empty);
    let root = Dir::open(&project.root)?;
    let names: BTreeSet<&Name> = project
        .manifest
        .prompts
        .keys()
        .chain(lock.prompts.keys())
        .collect();
    let mut prompts = Vec::new();
    for name in names {
        let entry = project.manifest.prompts.get(name);
        let locked = lock.prompts.get(name);
        let state = match (entry, locked) {
            (Some(_), None) => PromptState::NotLocked,
            (None, _) => PromptState::NotInManifest,
            (Some(e), Some(l)) => {
                if l.selector == e.selector.to_string()
                    && l.store == e.store
                    && l.install == e.install
                {
                    PromptState::Locked
                } else {
                    PromptState::ManifestChanged
                }
            }
        };
        let mut files = Vec::new();
        if let Some(l) = locked {
            for path in &l.install {
                let state = match digest_at(&root, path) {
                    Ok(None) => FileState::Missing,
                    Ok(Some(sha)) if sha == l.sha256 => FileState::Ok,
                    Ok(Some(_)) => FileState::Edited,
                    // A link or a FIFO where the file should be is not what was installed.
                    Err(e) if e.kind() == Kind::Conflict => FileState::Edited,
                    Err(e) => return Err(e),
                };
                files.push(FileStatus {
                    path: path.clone(),
                    state,
                });
            }
        }
        prompts.push(PromptStatus {
            name: name.clone(),
            version: locked.map(|l| l.version.clone()),
            state,
            files,
        });
    }
    let drifted = prompts.iter().any(|p| {
        p.state != PromptState::Locked || p.files.iter().any(|f| f.state != FileState::Ok)
    });
    Ok(Status {
        project: project.root.display().to_string(),
        prompts,
        drifted,
    })
}

/// One prompt of an outdated report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutdatedRow {
    /// The prompt.
    pub name: Name,
    /// The manifest's selector.
    pub selector: String,
    /// What the lock records (`None`: not installed yet).
    pub locked: Option<Version>,
    /// The newest release the selector takes now (where a label points now).
    pub wanted: Option<Version>,
    /// The newest release (not a pre-release, unless there are only those).
    pub latest: Option<Version>,
    /// Where each of the prompt's labels points now.
    pub labels: BTreeMap<Label, Version>,
    /// Whether `pulse update` would install another release than the lock has.
    pub behind: bool,
    /// Why the store could not say (it could not be reached, the prompt is gone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `pulse outdated` for one project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outdated {
    /// The project.
    pub project: String,
    /// Its prompts.
    pub prompts: Vec<OutdatedRow>,
}

/// What the stores have now against what `project` locked. A store that cannot answer
/// about a prompt is reported in its row, not as a failure of the whole report.
pub fn outdated(project: &Project, open: Opener) -> Result<Outdated> {
    let empty = Lock::default();
    let lock = project.lock.as_ref().unwrap_or(&empty);
    let mut stores: BTreeMap<String, std::result::Result<Arc<dyn Store>, String>> = BTreeMap::new();
    let mut rows = Vec::new();
    for (name, entry) in &project.manifest.prompts {
        let address = project.address(&entry.store);
        let store = stores
            .entry(address.clone())
            .or_insert_with(|| open(&address).map_err(|e| e.to_string()))
            .clone();
        let locked = lock.prompts.get(name).map(|l| l.version.clone());
        let mut row = OutdatedRow {
            name: name.clone(),
            selector: entry.selector.to_string(),
            locked,
            wanted: None,
            latest: None,
            labels: BTreeMap::new(),
            behind: false,
            error: None,
        };
        let asked = store.and_then(|s| {
            let versions = s.versions(name).map_err(|e| e.to_string())?;
            let labels = s.labels(name).map_err(|e| e.to_string())?;
            let wanted = s.resolve(name, &entry.selector).ok();
            Ok((versions, labels, wanted))
        });
        match asked {
            Ok((versions, labels, wanted)) => {
                row.latest = crate::version::latest(&versions).cloned();
                row.labels = labels;
                row.behind = wanted.is_some() && wanted != row.locked;
                row.wanted = wanted;
            }
            Err(e) => row.error = Some(e),
        }
        rows.push(row);
    }
    Ok(Outdated {
        project: project.root.display().to_string(),
        prompts: rows,
    })
}

/// The consumer projects under `dir`: `dir` itself if it has a `pulse.yaml`, else every
/// directory below it that has one (symbolic links are not followed; `.git`,
/// `node_modules` and `target` are passed over), sorted.
pub fn projects_under(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.join(MANIFEST_FILE).is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| Error::io(format!("cannot read '{}'", dir.display()), e))?;
    if !meta.is_dir() {
        return Err(Error::usage(format!(
            "'{}' is not a directory",
            dir.display()
        )));
    }
    let mut found = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            if !kind.is_dir()
                || [".git", "node_modules", "target"]
                    .iter()
                    .any(|s| name == *s)
            {
                continue;
            }
            let path = entry.path();
            if path.join(MANIFEST_FILE).is_file() {
                found.push(path);
            } else if depth < 6 {
                stack.push((path, depth + 1));
            }
        }
    }
    found.sort();
    Ok(found)
}
