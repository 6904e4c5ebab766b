//! Talking to remotes through the system `git`.
//!
//! gix has no push yet and its credential handling is young, so every network transfer
//! runs `git` as a subprocess with the arguments a user would type (as jj and GitButler
//! do); git then uses the user's credential helpers, ssh agent and `~/.ssh/config`.
//! Every local read and write stays on gix. pulse needs git 2.31 or newer.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use gix::ObjectId;

use crate::error::{Error, Kind, Result};

/// A ref as a remote advertises it: the object it names and, for an annotated tag, the
/// commit it peels to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// What the ref points to.
    pub id: ObjectId,
    /// For an annotated tag, the object it peels to.
    pub peeled: Option<ObjectId>,
}

/// The transports git may use on pulse's behalf: no remote helpers (`ext::`, `fd::`,
/// `<helper>::`), whatever the user's git configuration allows.
const ALLOWED_PROTOCOLS: [&str; 5] = ["file", "git", "http", "https", "ssh"];

const PROTOCOL_HINT: &str = "pulse reaches remotes through a path, file://, git://, http(s):// or ssh:// only; a path that starts with '-' can be written './-...'";

/// The one place pulse runs git: `git -C dir <options> -- <operands>`.
///
/// `options` are pulse's own (the subcommand first); `operands` may have come from the
/// user (remote names, URLs, paths, refspecs) and always follow `--`, so git never reads
/// one as an option. git's messages are in English (`LC_ALL=C`, `LANGUAGE` unset) because
/// pulse reads them, and git may only use the file, git, http(s) and ssh transports (also
/// when a URL is rewritten by `url.<base>.insteadOf`), never a remote helper. Returns the
/// output whatever the exit status.
pub fn git(dir: &Path, options: &[&str], operands: &[&str]) -> Result<Output> {
    log::debug!(
        "running git -C '{}' {} -- {}",
        dir.display(),
        options.join(" "),
        operands.join(" ")
    );
    let started = std::time::Instant::now();
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(options)
        .arg("--")
        .args(operands)
        .env("LC_ALL", "C")
        .env_remove("LANGUAGE")
        .env("GIT_ALLOW_PROTOCOL", allowed_protocols())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::new(Kind::Unavailable, format!("cannot run git: {e}")).with_hint(
                "pulse talks to remotes through git 2.31 or newer: install git and put it on PATH",
            )
        })?;
    log::trace!(
        "git exited with {} after {:.1} ms",
        out.status,
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(out)
}

/// Pulse's transports, narrowed further by the user's own `GIT_ALLOW_PROTOCOL` if set.
fn allowed_protocols() -> String {
    let user = std::env::var("GIT_ALLOW_PROTOCOL").ok();
    ALLOWED_PROTOCOLS
        .iter()
        .filter(|p| {
            user.as_deref()
                .is_none_or(|u| u.split(':').any(|x| x == **p))
        })
        .copied()
        .collect::<Vec<_>>()
        .join(":")
}

/// Run [`git`] and fail with a classified error if git does. `url` is the remote's URL
/// (when known), so that a missing local repository is told from an unreachable one by
/// looking at the filesystem rather than at git's words.
pub fn git_ok(
    dir: &Path,
    options: &[&str],
    operands: &[&str],
    what: &str,
    url: Option<&str>,
) -> Result<Output> {
    let out = git(dir, options, operands)?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(classify(
            what,
            &String::from_utf8_lossy(&out.stderr),
            url.map(|u| (u, dir)),
        ))
    }
}

/// Why `value` cannot be handed to git at all: it starts with `-` (git would read it as an
/// option), it names a remote helper (`ext::…`), or it holds control characters.
fn option_or_helper(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("it is empty".to_owned());
    }
    if value.starts_with('-') {
        return Some("it starts with '-', so git would read it as an option".to_owned());
    }
    if value.chars().any(char::is_control) {
        return Some("it contains control characters".to_owned());
    }
    helper_of(value)
        .map(|h| format!("it asks git to run the remote helper '{h}', which pulse does not allow"))
}

/// The remote helper a `<helper>::<address>` names, as git recognises one.
fn helper_of(url: &str) -> Option<&str> {
    let end = url
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_alphabetic() || i > 0 && (c.is_ascii_digit() || "+.-".contains(c)))
        })
        .map_or(url.len(), |(i, _)| i);
    (end > 0 && url[end..].starts_with("::")).then(|| &url[..end])
}

/// Why git must not be given `url`, or `None` if it may.
fn url_problem(url: &str) -> Option<String> {
    if let Some(why) = option_or_helper(url) {
        return Some(why);
    }
    let host_part = if let Some((scheme, rest)) = url.split_once("://") {
        let known = ["file", "git", "http", "https", "ssh", "git+ssh", "ssh+git"];
        if !known.contains(&scheme.to_ascii_lowercase().as_str()) {
            return Some(format!("pulse does not allow the protocol '{scheme}'"));
        }
        // git decodes %XX in the host and user of a URL before it runs ssh.
        percent_decode(rest.split('/').next().unwrap_or_default())
    } else {
        match url.split_once(':') {
            // `[user@]host:path`, git's scp-like ssh syntax (a '/' first makes it a path).
            Some((host, _)) if !host.contains('/') => host.to_owned(),
            _ => return None,
        }
    };
    host_part
        .split('@')
        .any(|p| p.starts_with('-'))
        .then(|| "its host or user starts with '-', so ssh would read it as an option".to_owned())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Refuse, before git runs, a URL that git would read as an option, that names a remote
/// helper (`ext::`, `fd::`, `<helper>::`), uses a protocol other than a path, `file://`,
/// `git://`, `http(s)://` and `ssh://`, or whose host or user starts with `-`.
pub fn check_url(url: &str) -> Result<()> {
    match url_problem(url) {
        None => Ok(()),
        Some(why) => Err(Error::usage(format!(
            "refusing the URL '{}': {why}",
            crate::name::printable(url)
        ))
        .with_hint(PROTOCOL_HINT)),
    }
}

/// Refuse a revision (`--base`, `--ref`) that git would read as an option or as a remote
/// helper's address.
pub fn check_revision(rev: &str) -> Result<()> {
    match option_or_helper(rev) {
        None => Ok(()),
        Some(why) => Err(Error::usage(format!(
            "'{}' is not a revision: {why}",
            crate::name::printable(rev)
        ))
        .with_hint("name a branch, tag or commit, e.g. origin/main")),
    }
}

/// The URLs git would use for `remote` (its push URLs when `push` and it has any).
fn remote_urls(repo: &crate::PromptRepo, remote: &str, push: bool) -> Vec<String> {
    let config = repo.git().config_snapshot();
    let file = config.plumbing();
    let urls = |key: &str| {
        file.strings_by("remote", Some(remote.into()), key)
            .unwrap_or_default()
            .into_iter()
            .map(|u| u.to_string())
            .collect::<Vec<_>>()
    };
    let pushurls = if push { urls("pushurl") } else { Vec::new() };
    if pushurls.is_empty() {
        urls("url")
    } else {
        pushurls
    }
}

/// Check every URL git would use for `remote`; returns the first, to classify failures.
fn checked_urls(repo: &crate::PromptRepo, remote: &str, push: bool) -> Result<Option<String>> {
    let urls = remote_urls(repo, remote, push);
    for url in &urls {
        if let Some(why) = url_problem(url) {
            return Err(Error::usage(format!(
                "refusing remote '{remote}': its {} '{}' is unsafe: {why}",
                if push { "push URL" } else { "URL" },
                crate::name::printable(url)
            ))
            .with_hint(format!(
                "fix it with 'git remote set-url{} {remote} URL'; {PROTOCOL_HINT}",
                if push { " --push" } else { "" }
            )));
        }
    }
    Ok(urls.into_iter().next())
}

/// The local path a URL names (a path or `file://`), resolved against `dir` where git runs.
fn local_path(url: &str, dir: &Path) -> Option<std::path::PathBuf> {
    let path = if let Some(rest) = url.strip_prefix("file://") {
        percent_decode(rest)
    } else if url.contains("://") {
        return None;
    } else {
        match url.split_once(':') {
            Some((host, _)) if !host.contains('/') => return None,
            _ => url.to_owned(),
        }
    };
    Some(dir.join(path))
}

/// For a failed transfer from a local repository: whether it is missing (not found) or
/// cannot be read (unavailable), told by the filesystem. `None` when a repository (or a
/// file, such as a bundle) is there, so something else went wrong.
fn probe_local(path: &Path) -> Option<Kind> {
    let mut with_git = path.as_os_str().to_owned();
    with_git.push(".git");
    for p in [path, Path::new(&with_git)] {
        if p.is_file() {
            return None;
        }
        match std::fs::read_dir(p) {
            Ok(_) => {
                let git_dir = p.join("HEAD").is_file() && p.join("objects").is_dir();
                if git_dir || p.join(".git").exists() {
                    return None;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Some(Kind::Unavailable);
            }
            Err(_) => {}
        }
    }
    // Nothing there, or a directory that holds no repository: either way there is none.
    Some(Kind::NotFound)
}

/// Type a failed git transfer: a remote that does not exist is not found (exit 3), one
/// that exists but cannot be reached, or refuses us, is unavailable (exit 6), and a
/// transport or URL that git was not allowed to use is a usage error (exit 2).
///
/// A local remote (`remote` is its URL and the directory git ran in) is typed by looking
/// at the filesystem. Otherwise git gives no exit code or porcelain output to tell these
/// apart, so its messages are read; [`git`] makes sure they are in English.
pub fn classify(what: &str, stderr: &str, remote: Option<(&str, &Path)>) -> Error {
    let detail = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("hint:"))
        .collect::<Vec<_>>()
        .join("; ");
    let lower = stderr.to_lowercase();
    let local = remote
        .and_then(|(url, dir)| local_path(url, dir))
        .and_then(|p| probe_local(&p));
    let refused = |needle: &str| {
        lower
            .lines()
            .any(|l| l.contains(needle) && l.contains("' blocked"))
    };
    let kind = if (lower.contains("transport '") && lower.contains("' not allowed"))
        || refused("strange hostname")
        || refused("strange username")
        || refused("strange pathname")
        || refused("strange port")
    {
        Kind::Usage
    } else if let Some(kind) = local {
        kind
    } else if lower.contains("does not appear to be a git repository")
        || lower.contains("repository not found")
        || lower.contains("repository not exported")
        || lower.lines().any(|l| {
            l.contains("repository '")
                && (l.ends_with("' not found") || l.ends_with("' does not exist"))
        })
    {
        Kind::NotFound
    } else if [
        "could not read from remote",
        "unable to access",
        "connection refused",
        "could not resolve host",
        "unable to connect",
        "authentication failed",
        "permission denied",
        "timed out",
        "unable to look up",
        "network is unreachable",
        "no route to host",
        "connection reset",
        "the remote end hung up",
        "early eof",
        "the requested url returned error",
    ]
    .iter()
    .any(|n| lower.contains(n))
    {
        Kind::Unavailable
    } else {
        Kind::Other
    };
    let hint = match kind {
        Kind::Usage => {
            "git was about to use a transport or an address that pulse does not allow, perhaps after rewriting the URL with a url.<base>.insteadOf setting ('git config --get-regexp \"^url\\.\"' lists them); pulse reaches remotes through a path, file://, git://, http(s):// or ssh:// only"
        }
        Kind::Unavailable => {
            "check the URL, the network and your git credentials (a plain 'git ls-remote URL' shows the same)"
        }
        Kind::NotFound => {
            "check the URL ('git remote -v' lists a repository's remotes); a git daemon also answers this way when it does not export the repository"
        }
        _ => "run the git command by hand to see more",
    };
    Error::new(kind, format!("{what}: {detail}")).with_hint(hint)
}

/// The refs a remote (a configured name or a URL) advertises under `refs/heads/` and
/// `refs/tags/`; `url` is its URL, when known, to type a failure.
pub fn ls_remote(
    dir: &Path,
    remote: &str,
    url: Option<&str>,
) -> Result<BTreeMap<String, RemoteRef>> {
    let out = git_ok(
        dir,
        &["ls-remote", "--heads", "--tags"],
        &[remote],
        &format!("cannot list the refs of '{remote}'"),
        url,
    )?;
    let mut refs: BTreeMap<String, RemoteRef> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((hex, name)) = line.split_once('\t') else {
            continue;
        };
        let Ok(id) = ObjectId::from_hex(hex.as_bytes()) else {
            continue;
        };
        match name.strip_suffix("^{}") {
            Some(tag) => {
                if let Some(r) = refs.get_mut(tag) {
                    r.peeled = Some(id);
                }
            }
            None => {
                refs.insert(name.to_owned(), RemoteRef { id, peeled: None });
            }
        }
    }
    Ok(refs)
}

/// A release tag that exists on both sides with different targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagConflict {
    /// The tag's short name (`name@version`).
    pub tag: String,
    /// The commit the local tag points to.
    pub local: Option<ObjectId>,
    /// The commit the remote tag points to.
    pub remote: Option<ObjectId>,
}

impl std::fmt::Display for TagConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |id: &Option<ObjectId>| {
            id.map_or_else(|| "?".to_owned(), |i| i.to_hex_with_len(12).to_string())
        };
        write!(
            f,
            "'{}' is commit {} here and commit {} on the remote",
            self.tag,
            show(&self.local),
            show(&self.remote)
        )
    }
}

/// What `pull` did.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// Release tags that were new here.
    pub new_tags: Vec<String>,
    /// The branch pulled into.
    pub branch: String,
    /// What happened to it (`None`: the remote has no such branch).
    pub integration: Option<crate::repo::Integration>,
}

/// What `push` did.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The branch pushed.
    pub branch: String,
    /// Whether the remote branch moved.
    pub branch_updated: bool,
    /// Release tags sent.
    pub tags: Vec<String>,
}

/// The remote to use: the one given, or the branch's upstream, or `origin`.
pub fn default_remote(
    repo: &crate::PromptRepo,
    given: Option<&str>,
    branch: &str,
) -> Result<String> {
    let names: Vec<String> = repo
        .git()
        .remote_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let name = match given {
        Some(g) => g.to_owned(),
        None => repo
            .git()
            .config_snapshot()
            .string(format!("branch.{branch}.remote").as_str())
            .map(|v| v.to_string())
            .unwrap_or_else(|| "origin".to_owned()),
    };
    if let Some(why) = option_or_helper(&name) {
        return Err(Error::usage(format!(
            "'{}' is not a remote name: {why}",
            crate::name::printable(&name)
        ))
        .with_hint("name a remote that 'git remote' lists"));
    }
    if names.contains(&name) {
        Ok(name)
    } else if names.is_empty() {
        Err(Error::usage("this repository has no remote")
            .with_hint("add one with 'git remote add origin URL'"))
    } else {
        Err(Error::usage(format!(
            "no remote named '{name}' (remotes: {})",
            names.join(", ")
        ))
        .with_hint("pass one of them, or add it with 'git remote add NAME URL'"))
    }
}

/// Every local tag ref and the object it names (not peeled: that reads each tag object).
fn local_tags(repo: &crate::PromptRepo) -> Result<BTreeMap<String, ObjectId>> {
    let mut out = BTreeMap::new();
    repo.for_each_tag("refs/tags/", |short, id| {
        if let Some(id) = id {
            out.insert(format!("refs/tags/{}", String::from_utf8_lossy(short)), id);
        }
        Ok(())
    })?;
    Ok(out)
}

/// The commit a tag (or any object) finally points to.
fn peel(repo: &crate::PromptRepo, id: ObjectId) -> Option<ObjectId> {
    repo.git()
        .find_object(id)
        .ok()?
        .peel_tags_to_end()
        .ok()
        .map(|o| o.id)
}

/// Tags present on both sides with different targets.
pub fn tag_conflicts(
    repo: &crate::PromptRepo,
    remote: &BTreeMap<String, RemoteRef>,
) -> Result<Vec<TagConflict>> {
    let local = local_tags(repo)?;
    Ok(remote
        .iter()
        .filter(|(name, _)| name.starts_with("refs/tags/"))
        .filter_map(|(name, r)| {
            let id = local.get(name)?;
            (*id != r.id).then(|| TagConflict {
                tag: name.trim_start_matches("refs/tags/").to_owned(),
                local: peel(repo, *id),
                remote: r.peeled.or(Some(r.id)),
            })
        })
        .collect())
}

fn conflicts_error(conflicts: &[TagConflict], remote: &str) -> Error {
    let list: Vec<String> = conflicts.iter().map(|c| c.to_string()).collect();
    Error::conflict(format!(
        "{} release tag(s) differ between here and '{remote}': {}",
        conflicts.len(),
        list.join("; ")
    ))
    .with_hint("a release is immutable and pulse never overwrites one: agree which is right, then delete the other side's tag (git tag -d / git push --delete) and release the content under a new version")
}

/// The branch to pull into or push, and its short name; a detached HEAD has none.
fn named_branch(
    repo: &crate::PromptRepo,
    branch: Option<&str>,
    verb: &str,
) -> Result<(crate::repo::Branch, String)> {
    let b = repo.branch(branch)?;
    let short = b
        .full_name
        .as_ref()
        .map(|n| n.shorten().to_string())
        .ok_or_else(|| {
            Error::usage(format!("HEAD is detached, so there is no branch to {verb}"))
                .with_hint("check out a branch, or pass --branch NAME")
        })?;
    Ok((b, short))
}

fn dir_of(repo: &crate::PromptRepo) -> &Path {
    repo.workdir().unwrap_or(repo.git_dir())
}

/// Fetch branches, release tags and labels from `remote`, then bring the branch up to date
/// (fast-forward or merge). The fetch is atomic and never overwrites a tag: if a release
/// tag differs between the sides, git refuses the whole fetch, nothing changes, and pulse
/// lists the remote's refs to name every conflicting release. One `git fetch` is the only
/// network round trip when nothing conflicts.
pub fn pull(
    repo: &crate::PromptRepo,
    remote: Option<&str>,
    branch: Option<&str>,
) -> Result<Pulled> {
    let (_, short) = named_branch(repo, branch, "pull into")?;
    let remote = default_remote(repo, remote, &short)?;
    let url = checked_urls(repo, &remote, false)?;
    let dir = dir_of(repo);
    let before = local_tags(repo)?;
    let heads = format!("+refs/heads/*:refs/remotes/{remote}/*");
    // --atomic: all refs or none (git 2.31). Tags are not forced, so git refuses to move
    // one; an empty --refmap keeps it from updating anything else on its own.
    let out = git(
        dir,
        &["fetch", "--atomic", "--no-tags", "--refmap="],
        &[&remote, &heads, "refs/tags/*:refs/tags/*"],
    )?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let failed = classify(
            &format!("cannot fetch from '{remote}'"),
            &stderr,
            url.as_deref().map(|u| (u, dir)),
        );
        // git refuses the whole fetch when a tag would move; the advertised refs (not
        // git's words) say which releases differ. A remote that cannot be listed keeps
        // the fetch's own error.
        if failed.kind() == Kind::Other
            && let Ok(advertised) = ls_remote(dir, &remote, url.as_deref())
        {
            let conflicts = tag_conflicts(repo, &advertised)?;
            if !conflicts.is_empty() {
                return Err(conflicts_error(&conflicts, &remote));
            }
        }
        if stderr.contains("would clobber existing tag") {
            return Err(Error::conflict(format!(
                "a release tag on '{remote}' differs from the local one: {}",
                stderr.trim()
            )));
        }
        return Err(failed);
    }
    let new_tags: Vec<String> = local_tags(repo)?
        .into_keys()
        .filter(|t| !before.contains_key(t))
        .map(|t| t.trim_start_matches("refs/tags/").to_owned())
        .collect();
    let tracking = format!("refs/remotes/{remote}/{short}");
    let integration = match repo.ref_target(&tracking)? {
        Some(other) => Some(repo.integrate(branch, other, &format!("{remote}/{short}"))?),
        None => None,
    };
    Ok(Pulled {
        new_tags,
        branch: short,
        integration,
    })
}

/// Send the branch (with its labels) and every release tag the remote lacks, in one atomic
/// `git push`. Refused when the remote's branch moved on (pull first) or a release tag
/// differs between the sides. The push is the only network round trip.
pub fn push(
    repo: &crate::PromptRepo,
    remote: Option<&str>,
    branch: Option<&str>,
) -> Result<Pushed> {
    let (b, short) = named_branch(repo, branch, "push")?;
    if b.tip.is_none() {
        return Err(Error::not_found(format!(
            "branch '{short}' has no commits to push"
        )));
    }
    let remote = default_remote(repo, remote, &short)?;
    let url = checked_urls(repo, &remote, true)?;
    let dir = dir_of(repo);
    let foreign: Vec<String> = local_tags(repo)?
        .into_keys()
        .filter(|name| crate::repo::parse_tag_name(name.trim_start_matches("refs/tags/")).is_none())
        .collect();
    let branch_spec = format!("refs/heads/{short}:refs/heads/{short}");
    // Tags go as one pattern: git matches each explicit refspec against every local ref,
    // which takes seconds per thousand tags. Tags that are not releases are left out with
    // negative refspecs (git 2.29 and newer).
    let negative: Vec<String> = foreign.iter().map(|name| format!("^{name}")).collect();
    let mut operands: Vec<&str> = vec![&remote, &branch_spec, "refs/tags/*:refs/tags/*"];
    operands.extend(negative.iter().map(String::as_str));
    let out = git(dir, &["push", "--atomic", "--porcelain"], &operands)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    // --porcelain: one line per ref, "<flag>\t<from>:<to>\t<summary>".
    let lines: Vec<(char, &str, &str)> = stdout
        .lines()
        .filter_map(|l| {
            let mut parts = l.split('\t');
            let flag = parts.next()?.chars().next()?;
            let refs = parts.next()?;
            let to = refs.split_once(':').map_or(refs, |(_, to)| to);
            Some((flag, to, parts.next().unwrap_or_default()))
        })
        .collect();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tag_rejected = lines.iter().any(|(flag, to, why)| {
            *flag == '!' && to.starts_with("refs/tags/") && why.contains("already exists")
        });
        if tag_rejected {
            let advertised = ls_remote(dir, &remote, url.as_deref())?;
            let conflicts = tag_conflicts(repo, &advertised)?;
            if !conflicts.is_empty() {
                return Err(conflicts_error(&conflicts, &remote));
            }
        }
        if stdout.contains("fetch first")
            || stdout.contains("non-fast-forward")
            || stderr.contains("fetch first")
        {
            return Err(Error::conflict(format!(
                "'{remote}' has commits on '{short}' that this branch does not have"
            ))
            .with_hint(format!(
                "run 'pulse pull {remote}' to bring them in, then push again"
            )));
        }
        return Err(classify(
            &format!("cannot push to '{remote}'"),
            &format!("{stderr}\n{stdout}"),
            url.as_deref().map(|u| (u, dir)),
        ));
    }
    let updated = |flag: &char| matches!(flag, '*' | ' ' | '+');
    Ok(Pushed {
        branch_updated: lines
            .iter()
            .any(|(flag, to, _)| updated(flag) && *to == format!("refs/heads/{short}")),
        tags: lines
            .iter()
            .filter(|(flag, to, _)| *flag == '*' && to.starts_with("refs/tags/"))
            .map(|(_, to, _)| to.trim_start_matches("refs/tags/").to_owned())
            .collect(),
        branch: short,
    })
}

/// Clone `url` into `dir` with every branch and release tag.
pub fn clone(url: &str, dir: &Path) -> Result<crate::PromptRepo> {
    check_url(url)?;
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(Error::conflict(format!(
            "'{}' already exists and is not empty",
            dir.display()
        ))
        .with_hint("choose another directory"));
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| Error::io(format!("cannot create '{}'", parent.display()), e))?;
    let target = dir.to_string_lossy().into_owned();
    // A bare remote made with plain 'git init --bare' may have HEAD on a branch that does not
    // exist (master) while the prompts are on main: then check out main, or the only branch.
    let here = Path::new(".");
    let advertised = ls_remote(here, url, Some(url))?;
    let head = git(here, &["ls-remote", "--symref"], &[url, "HEAD"])?;
    let head_target = String::from_utf8_lossy(&head.stdout).lines().find_map(|l| {
        l.strip_prefix("ref: ")
            .and_then(|r| r.split('\t').next())
            .map(str::to_owned)
    });
    let branches: Vec<&str> = advertised
        .keys()
        .filter_map(|r| r.strip_prefix("refs/heads/"))
        .collect();
    let head_exists = head_target
        .as_ref()
        .is_some_and(|t| advertised.contains_key(t));
    let checkout = if head_exists || branches.is_empty() {
        None
    } else if branches.contains(&"main") {
        Some("main")
    } else {
        branches.first().copied()
    };
    let branch_option = checkout.map(|b| format!("--branch={b}"));
    let mut options = vec!["clone", "--quiet"];
    options.extend(branch_option.as_deref());
    git_ok(
        here,
        &options,
        &[url, &target],
        &format!("cannot clone '{url}'"),
        Some(url),
    )?;
    // Tags whose commits are not on a branch are not followed by a clone: fetch them all.
    git_ok(
        dir,
        &["fetch", "--quiet", "--tags"],
        &["origin"],
        &format!("cannot fetch the release tags of '{url}'"),
        None,
    )?;
    crate::PromptRepo::open(dir)
}
