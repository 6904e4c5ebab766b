//! Reading releases straight from a remote without a working clone (`fetch --from URL`):
//! a bare mirror per URL under the user's cache directory, made and refreshed by `git`.
//!
//! An exact release never changes, so one already in the mirror is served without
//! touching the network. `latest`, labels and ranges refresh the mirror first; when the
//! remote cannot be reached they are answered from the mirror with a warning, and what
//! the mirror cannot answer fails with exit 6. A remote that answers that it has no such
//! repository is believed (exit 3), never answered from the cache.

use std::path::{Path, PathBuf};

use crate::error::{Error, IoResultExt, Kind, Result};
use crate::meta::sha256_hex;
use crate::name::Name;
use crate::repo::{PromptRepo, Release};
use crate::version::Selector;

/// Where mirrors live: `$XDG_CACHE_HOME/progress-pulse/mirrors`, or `~/.cache/...`.
pub fn cache_root() -> Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or_else(|| {
            Error::usage("neither XDG_CACHE_HOME nor HOME is set, so there is no cache directory")
        })?;
    Ok(base.join("progress-pulse").join("mirrors"))
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

fn mirror_path(root: &Path, url: &str) -> PathBuf {
    root.join(format!("{}.git", &sha256_hex(url.as_bytes())[..24]))
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

/// Read `name@selector` from the remote at `url` through its cached mirror.
pub fn fetch(url: &str, name: &Name, selector: &Selector, branch: Option<&str>) -> Result<Fetched> {
    crate::remote::check_url(url)?;
    let url = &absolute_url(url)?;
    let root = cache_root()?;
    let path = mirror_path(&root, url);
    let cached = path.join("HEAD").exists();
    if cached && let Selector::Exact(v) = selector {
        let repo = PromptRepo::open(&path)?;
        if let Some(release) = repo.release(name, v)? {
            let content = repo.release_content(&release)?;
            return Ok(Fetched {
                release,
                content,
                warning: None,
            });
        }
    }
    let mut warning = None;
    if let Err(e) = refresh(&root, url, &path) {
        // A remote that says it has no such repository is believed, never served stale.
        if !cached || matches!(e.kind(), Kind::Usage | Kind::NotFound) {
            let hint = match e.kind() {
                Kind::NotFound => "check the URL: the remote says there is no such repository",
                Kind::Unavailable => {
                    "the remote cannot be reached and nothing is cached for it yet: check the URL, the network and your git credentials"
                }
                _ => e
                    .hint()
                    .unwrap_or("run the git command by hand to see more"),
            };
            return Err(Error::new(e.kind(), e.message().to_owned()).with_hint(hint));
        }
        warning = Some(format!(
            "warning: '{url}' cannot be reached ({}); answering from the cache, which may be out of date",
            e.message()
        ));
    }
    let repo = PromptRepo::open(&path)?;
    let fallback = match branch {
        Some(_) => None,
        None => repo.branch_for_unborn_head()?,
    };
    let release = repo
        .resolve(name, selector, branch.or(fallback.as_deref()))
        .map_err(|e| {
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
        })?;
    let content = repo.release_content(&release)?;
    Ok(Fetched {
        release,
        content,
        warning,
    })
}
