//! Reading releases straight from a remote without a working clone (`fetch --from URL`):
//! a bare mirror per URL under the user's cache directory, made and refreshed by `git`,
//! and a pin per release served, so that a release never changes under its version.
//!
//! An exact release never changes, so one already in the mirror is served without
//! touching the network. `latest`, labels and ranges refresh the mirror first; when the
//! remote cannot be reached they are answered from the mirror with a warning, and what
//! the mirror cannot answer fails with exit 6. A remote that answers that it has no such
//! repository is believed (exit 3), never answered from the cache.
//!
//! The first time a release is served through a URL, its SHA-256 is pinned in
//! `pins/<url key>/<name>/<version>`, written create-only (a temporary file renamed
//! into place without replacing, then fsynced), so concurrent readers agree on one pin
//! without a lock. Later bytes for the same release through that URL must match it: a
//! remote that force-moved a release tag is an integrity failure, not an update.

use std::path::{Path, PathBuf};

use crate::digest::Digest;
use crate::error::{Error, IoResultExt, Kind, Result};
use crate::fsutil::{Dir, WriteMode, Written};
use crate::name::Name;
use crate::repo::{PromptRepo, Release};
use crate::selector::Selector;
use crate::store::cache::{CacheMode, CacheOptions};
use crate::store::{GitStore, StoreExt};
use crate::version::Version;

/// pulse's part of the user's cache: `$XDG_CACHE_HOME/progress-pulse`, or `~/.cache/...`.
fn cache_base() -> Result<PathBuf> {
    crate::store::cache::cache_root()
}

/// Where mirrors live: `$XDG_CACHE_HOME/progress-pulse/mirrors`, or `~/.cache/...`.
pub fn cache_root() -> Result<PathBuf> {
    Ok(cache_base()?.join("mirrors"))
}

/// Where the checksums of releases served through `--from` are pinned:
/// `$XDG_CACHE_HOME/progress-pulse/pins`, or `~/.cache/...`.
pub fn pins_root() -> Result<PathBuf> {
    Ok(cache_base()?.join("pins"))
}

/// A release read through a mirror, and the warning to show if it came from a stale cache.
pub struct Fetched {
    /// The release.
    pub release: Release,
    /// Its verified content.
    pub content: Vec<u8>,
    /// Set when the remote could not be reached and the cache answered.
    pub warning: Option<String>,
}

/// The short, file-name-safe key of a URL, shared by its mirror and its pins.
fn url_key(url: &str) -> String {
    Digest::of(url.as_bytes()).hex()[..24].to_owned()
}

fn mirror_path(root: &Path, url: &str) -> PathBuf {
    root.join(format!("{}.git", url_key(url)))
}

/// Make or refresh the mirror of `url` (under an exclusive lock, so concurrent readers
/// never see a half-made mirror).
fn refresh(root: &Path, url: &str, path: &Path) -> Result<()> {
    std::fs::create_dir_all(root)
        .io_ctx(|| format!("cannot create the cache '{}'", root.display()))?;
    let lock_path = path.with_extension("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .io_ctx(|| format!("cannot open '{}'", lock_path.display()))?;
    lock.lock()
        .io_ctx(|| format!("cannot lock '{}'", lock_path.display()))?;
    if path.join("HEAD").exists() {
        crate::remote::git_ok(
            path,
            &["fetch", "--prune", "--quiet"],
            &["origin"],
            &format!("cannot refresh the cache of '{url}'"),
            Some(url),
        )?;
        return Ok(());
    }
    // Clone into a temporary directory and rename it into place: all or nothing.
    let tmp = tempfile::Builder::new()
        .prefix(".mirror-")
        .tempdir_in(root)
        .io_ctx(|| format!("cannot create a directory in '{}'", root.display()))?;
    let target = tmp.path().join("m.git");
    let target_str = target.to_string_lossy().into_owned();
    crate::remote::git_ok(
        root,
        &["clone", "--mirror", "--quiet"],
        &[url, &target_str],
        &format!("cannot read '{url}'"),
        Some(url),
    )?;
    std::fs::rename(&target, path)
        .io_ctx(|| format!("cannot move the mirror into '{}'", path.display()))?;
    Ok(())
}

/// When the mirror at `path` was last refreshed (its stamp, written after each refresh).
fn refreshed_at(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path.with_extension("checked"))
        .and_then(|m| m.modified())
        .ok()
}

/// Whether the mirror at `path` is to be refreshed before it answers a question that a
/// newer release could change (`latest`, a label, a range), as `cache` says: always with
/// `--refresh` (and for sync), never with `--offline`, else once it is older than the TTL.
fn due(path: &Path, cache: &CacheOptions) -> bool {
    match cache.mode {
        CacheMode::Offline => false,
        CacheMode::Refresh | CacheMode::Off => true,
        CacheMode::Normal => refreshed_at(path).is_none_or(|at| {
            std::time::SystemTime::now()
                .duration_since(at)
                .is_ok_and(|age| age >= cache.ttl)
        }),
    }
}

/// Refresh the mirror of `url` at `path` and stamp it.
fn refresh_stamped(root: &Path, url: &str, path: &Path) -> Result<()> {
    refresh(root, url, path)?;
    let stamp = path.with_extension("checked");
    std::fs::write(&stamp, b"").io_ctx(|| format!("cannot write '{}'", stamp.display()))
}

/// Refresh the mirror of `url` at `path` when `cache` says it is due. A failure the cache
/// answers around (the remote cannot be reached, a mirror is there, no `--refresh`) is
/// `Ok(Some(error))`; a remote that says there is no such repository is believed, never
/// served stale, and that and every other failure is `Err`.
fn refresh_if_due(
    root: &Path,
    url: &str,
    path: &Path,
    cached: bool,
    cache: &CacheOptions,
) -> Result<Option<Error>> {
    if !due(path, cache) {
        return Ok(None);
    }
    match refresh_stamped(root, url, path) {
        Ok(()) => Ok(None),
        Err(e)
            if !cached
                || cache.mode == CacheMode::Refresh
                || matches!(e.kind(), Kind::Usage | Kind::NotFound) =>
        {
            Err(e)
        }
        Err(e) => Ok(Some(e)),
    }
}

/// The error for a mirror `--offline` cannot answer from.
fn offline_miss(url: &str) -> Error {
    Error::unavailable(format!(
        "'{url}' has no cached mirror, and --offline keeps pulse from asking it"
    ))
    .with_hint("run it once without --offline to fill the cache")
}

/// A relative path is made absolute (and canonical, when it exists), so that git, which
/// runs in the cache, finds it, and its mirror and pins do not depend on where pulse ran.
/// Every other URL is kept as given.
fn absolute_url(url: &str) -> Result<String> {
    let scp_like = url
        .split_once(':')
        .is_some_and(|(host, _)| !host.contains('/'));
    if url.contains("://") || scp_like || Path::new(url).is_absolute() {
        return Ok(url.to_owned());
    }
    let path = match std::fs::canonicalize(url) {
        Ok(path) => path,
        Err(_) => std::path::absolute(url).io_ctx(|| format!("cannot resolve the path '{url}'"))?,
    };
    Ok(path.to_string_lossy().into_owned())
}

/// The git remote at `url` as a store: its cached mirror, refreshed first (a remote that
/// cannot be reached is answered from the cache, with a warning in the log).
pub fn open_store(url: &str, branch: Option<&str>, cache: &CacheOptions) -> Result<GitStore> {
    crate::remote::check_url(url)?;
    let url = &absolute_url(url)?;
    let root = cache_root()?;
    let path = mirror_path(&root, url);
    let cached = path.join("HEAD").exists();
    if !cached && cache.mode == CacheMode::Offline {
        return Err(offline_miss(url));
    }
    if let Some(e) = refresh_if_due(&root, url, &path, cached, cache)? {
        ::log::warn!(
            "'{url}' cannot be reached ({}); reading its cached mirror, which may be out of date",
            e.message()
        );
    }
    let repo = PromptRepo::open(&path)?;
    let fallback = match branch {
        Some(_) => None,
        None => repo.branch_for_unborn_head()?,
    };
    Ok(GitStore::from_repo(
        repo,
        branch.map(str::to_owned).or(fallback),
    ))
}

/// Read `name@selector` from the remote at `url` through its cached mirror, checked
/// against the release's pin.
pub fn fetch(
    url: &str,
    name: &Name,
    selector: &Selector,
    branch: Option<&str>,
    cache: &CacheOptions,
) -> Result<Fetched> {
    crate::remote::check_url(url)?;
    let url = &absolute_url(url)?;
    let root = cache_root()?;
    let path = mirror_path(&root, url);
    let cached = path.join("HEAD").exists();
    if !cached && cache.mode == CacheMode::Offline {
        return Err(offline_miss(url));
    }
    if cached
        && cache.mode != CacheMode::Refresh
        && let Selector::Exact(v) = selector
    {
        let repo = PromptRepo::open(&path)?;
        if let Some(release) = repo.release(name, v)? {
            let content = repo.release_content(&release)?;
            pin(url, &release)?;
            return Ok(Fetched {
                release,
                content,
                warning: None,
            });
        }
    }
    let mut warning = None;
    match refresh_if_due(&root, url, &path, cached, cache) {
        Ok(None) => {}
        Err(e) => {
            let hint = match e.kind() {
                Kind::NotFound => "check the URL: the remote says there is no such repository",
                Kind::Unavailable => {
                    "the remote cannot be reached and nothing is cached for it yet: check the URL, the network and your git credentials"
                }
                _ => return Err(e),
            };
            return Err(Error::new(e.kind(), e.message().to_owned()).with_hint(hint));
        }
        Ok(Some(e)) => {
            warning = Some(format!(
                "'{url}' cannot be reached ({}); answering from the cache, which may be out of date",
                e.message()
            ));
        }
    }
    let repo = PromptRepo::open(&path)?;
    let fallback = match branch {
        Some(_) => None,
        None => repo.branch_for_unborn_head()?,
    };
    let store = GitStore::from_repo(repo, branch.map(str::to_owned).or(fallback));
    let beyond_reach = |e: Error| {
        if warning.is_some() && e.kind() == Kind::NotFound {
            Error::new(
                Kind::Unavailable,
                format!(
                    "{} (and '{url}' cannot be reached to look further)",
                    e.message()
                ),
            )
            .with_hint("retry when the remote is reachable")
        } else {
            e
        }
    };
    let version = store.resolve(name, selector).map_err(beyond_reach)?;
    let repo = store.repo()?;
    let release = repo
        .release(name, &version)?
        .ok_or_else(|| beyond_reach(crate::meta::no_release(name, &version)))?;
    let content = repo.release_content(&release)?;
    pin(url, &release)?;
    Ok(Fetched {
        release,
        content,
        warning,
    })
}

/// Pin the checksum of `release` (whose content was verified against it) as served
/// through `url`, or check it against the pin made the first time.
fn pin(url: &str, release: &Release) -> Result<()> {
    let t = &release.trailers;
    pin_checksum(url, &t.name, &t.version, &t.sha256)
}

/// Pin the checksum `sha256` of `name@version` as served by the store at `address` (whose
/// content was verified against it), or check it against the pin made the first time.
pub fn pin_checksum(address: &str, name: &Name, version: &Version, sha256: &Digest) -> Result<()> {
    pin_checksum_in(&pins_root()?, address, name, version, sha256)
}

/// [`pin_checksum`] with the pins kept under `pins` (a cache of its own).
pub fn pin_checksum_in(
    pins: &Path,
    address: &str,
    name: &Name,
    version: &Version,
    sha256: &Digest,
) -> Result<()> {
    let spec = format!("{name}@{version}");
    let root = Dir::create(&pins.join(url_key(address)))?;
    let dir = root
        .subdirs(name.as_str().split('/'), true)?
        .ok_or_else(|| Error::other(format!("cannot create the pin of '{spec}'")))?;
    let version = version.to_string();
    let pinned = match read_pin(&dir, &version)? {
        Some(pinned) => pinned,
        None => write_pin(&dir, &version, sha256)?,
    };
    if pinned == *sha256 {
        return Ok(());
    }
    Err(Error::integrity(format!(
        "release '{spec}' changed on '{address}': it was {pinned} when first read from there, and is now {sha256}"
    ))
    .with_hint(format!(
        "a release never changes: someone replaced it in that store. Ask its owners to restore it and publish the new content under a new version; only if you trust the new content, delete the pin '{}'",
        dir.path().join(&version).display()
    )))
}

/// The checksum pinned as `name` in `dir`, if any.
fn read_pin(dir: &Dir, name: &str) -> Result<Option<Digest>> {
    let Some(bytes) = dir.read(name, 128)? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    Digest::parse(text.trim_end()).map(Some).map_err(|_| {
        Error::integrity(format!(
            "the pin '{}' is not a checksum ('sha256:<hex>')",
            dir.path().join(name).display()
        ))
        .with_hint("delete it; the next read pins the release again")
    })
}

/// Pin `sha256` as `name` in `dir` (create-only) unless another process pinned first;
/// returns the pin that holds.
fn write_pin(dir: &Dir, name: &str, sha256: &Digest) -> Result<Digest> {
    match dir.write(
        name,
        format!("{sha256}\n").as_bytes(),
        WriteMode::CreateNew,
        None,
    )? {
        Written::Written => Ok(*sha256),
        Written::Existed => read_pin(dir, name)?.ok_or_else(|| {
            Error::other(format!(
                "the pin '{}' vanished",
                dir.path().join(name).display()
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn concurrent_pins_have_exactly_one_winner() {
        let dir = tempfile::tempdir().unwrap();
        let pins = Dir::open(dir.path()).unwrap();
        let digests: Vec<Digest> = (0..16u8).map(|i| Digest::of(&[i])).collect();
        let won: Vec<Digest> = std::thread::scope(|s| {
            let handles: Vec<_> = digests
                .iter()
                .map(|d| s.spawn(|| write_pin(&pins, "1.0.0", d).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        // Every writer saw the same pin, and it is one of the candidates.
        assert!(won.iter().all(|w| *w == won[0]), "{won:?}");
        assert!(digests.contains(&won[0]));
        assert_eq!(read_pin(&pins, "1.0.0").unwrap(), Some(won[0]));
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "temporary files were left behind");
    }

    #[test]
    fn a_malformed_pin_is_an_integrity_failure() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p"), "sha256:12").unwrap();
        let pins = Dir::open(dir.path()).unwrap();
        assert_eq!(read_pin(&pins, "p").unwrap_err().kind(), Kind::Integrity);
    }
}
