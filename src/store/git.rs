//! The git repository as a [`Store`]: releases are tags, metadata and labels live on a
//! branch (`docs/format.md`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use super::{
    Expect, NewRelease, PromptSummary, Recorded, Store, StoreExt, Stored, Unverified, Verified,
    no_release,
};
use crate::error::{Error, Result};
use crate::meta::{LabelMove, MetadataUpdate, PromptMeta, ReleaseMeta, Sidecar};
use crate::name::{Label, Name, NamePrefix};
use crate::repo::light::LightRepo;
use crate::repo::search_cache::{self, SearchCache};
use crate::repo::{AddRequest, Content, ImportRelease, PromptRepo, Provenance, VersionChoice};
use crate::report::ReleaseId;
use crate::search::{Hit, Plan, Query, SearchReport};
use crate::version::{Version, latest};

/// A prompt repository seen through the [`Store`] interface, with labels and prompt
/// metadata read from and written to one branch (or the one checked out).
///
/// A gix repository handle is not shared between threads; the store keeps the
/// thread-safe form and a small pool of handles made from it, so every call reuses an
/// open handle (its caches stay warm) and calls on many threads do not wait for each other.
///
/// A store found from a directory ([`GitStore::discover`]) opens the repository through
/// gix only when a call needs it: until then, a prompt's versions and a release's content
/// are read from its refs and objects alone (`repo::light`), which is most of what a short
/// read such as `pulse fetch` costs.
pub struct GitStore {
    /// The repository opened through gix: at once, or on first need.
    opened: OnceLock<Opened>,
    /// How to open it, when it is not open yet.
    reopen: Option<Reopen>,
    /// Reads that need no gix open, while the repository is not open.
    light: Option<LightRepo>,
    branch: Option<String>,
    path: PathBuf,
    /// The git directory, where the search cache lives.
    git_dir: PathBuf,
}

/// How a store read without gix's open opens the repository when a call needs it: as it
/// was found.
enum Reopen {
    /// The repository containing this directory.
    Discover(PathBuf),
    /// The repository at exactly this path.
    At(PathBuf),
}

/// The repository opened through gix: its thread-safe form and the pool of handles.
struct Opened {
    shared: gix::ThreadSafeRepository,
    pool: Mutex<Vec<PromptRepo>>,
}

impl Opened {
    /// The thread-safe form of `repo`, just opened through gix, with `repo` in the pool.
    fn new(mut repo: PromptRepo) -> Opened {
        ::log::debug!("opened the repository through gix");
        Opened {
            shared: repo.take_shared(),
            pool: Mutex::new(vec![repo]),
        }
    }

    fn lock_pool(&self) -> std::sync::MutexGuard<'_, Vec<PromptRepo>> {
        // The pool only holds handles; a panic elsewhere cannot leave it inconsistent.
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A repository handle borrowed from a [`GitStore`]'s pool; it goes back on drop.
pub struct PooledRepo<'a> {
    opened: &'a Opened,
    repo: Option<PromptRepo>,
}

impl std::ops::Deref for PooledRepo<'_> {
    type Target = PromptRepo;
    fn deref(&self) -> &PromptRepo {
        // Only `Drop` takes the handle out.
        self.repo
            .as_ref()
            .unwrap_or_else(|| unreachable!("a pooled handle is present until drop"))
    }
}

impl Drop for PooledRepo<'_> {
    fn drop(&mut self) {
        if let Some(repo) = self.repo.take() {
            self.opened.lock_pool().push(repo);
        }
    }
}

impl GitStore {
    /// The store over the repository at `path`, acting on `branch` (or the one checked out).
    pub fn open(path: &Path, branch: Option<String>) -> Result<GitStore> {
        match LightRepo::open(path) {
            Some(light) => Ok(GitStore::read_light(
                light,
                Reopen::At(path.to_path_buf()),
                branch,
            )),
            None => Ok(GitStore::from_repo(PromptRepo::open(path)?, branch)),
        }
    }

    /// The store over the repository containing `start` (this directory or a parent), as
    /// [`PromptRepo::discover`] finds it; opened through gix on first need.
    pub fn discover(start: &Path, branch: Option<String>) -> Result<GitStore> {
        let Some(light) = LightRepo::discover(start) else {
            return Ok(GitStore::from_repo(PromptRepo::discover(start)?, branch));
        };
        Ok(GitStore::read_light(
            light,
            Reopen::Discover(start.to_path_buf()),
            branch,
        ))
    }

    /// The store over a repository read through `light` until it is opened, as `reopen` says.
    fn read_light(light: LightRepo, reopen: Reopen, branch: Option<String>) -> GitStore {
        let path = light.workdir().unwrap_or(light.git_dir()).to_path_buf();
        ::log::debug!(
            "reading releases from refs and objects; gix opens the repository when needed"
        );
        GitStore {
            opened: OnceLock::new(),
            reopen: Some(reopen),
            git_dir: light.git_dir().to_path_buf(),
            light: Some(light),
            branch,
            path,
        }
    }

    /// The store over an already open repository.
    pub fn from_repo(repo: PromptRepo, branch: Option<String>) -> GitStore {
        let path = repo.display_path();
        let git_dir = repo.git().common_dir().to_path_buf();
        GitStore {
            opened: OnceLock::from(Opened::new(repo)),
            reopen: None,
            light: None,
            branch,
            path,
            git_dir,
        }
    }

    /// The repository opened through gix (opened now if it was not).
    fn opened(&self) -> Result<&Opened> {
        if let Some(opened) = self.opened.get() {
            return Ok(opened);
        }
        // A store made from an open repository has it from the start: only a store read
        // through `light` gets here, and it always knows how it was found.
        let repo = match &self.reopen {
            Some(Reopen::Discover(start)) => PromptRepo::discover(start)?,
            Some(Reopen::At(path)) => PromptRepo::open(path)?,
            None => PromptRepo::open(&self.path)?,
        };
        let opened = Opened::new(repo);
        Ok(self.opened.get_or_init(|| opened))
    }

    /// Where the repository is: its worktree, or the git directory of a bare one.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The reads that need no gix open, while the repository is not open: once it is,
    /// its handles (and their caches) answer everything.
    fn light(&self) -> Option<&LightRepo> {
        self.light.as_ref().filter(|_| self.opened.get().is_none())
    }

    /// A handle on the repository, from the pool (or a new one made from the shared form).
    pub fn repo(&self) -> Result<PooledRepo<'_>> {
        let opened = self.opened()?;
        let pooled = opened.lock_pool().pop();
        let repo = pooled.unwrap_or_else(|| PromptRepo::from_thread_safe(&opened.shared));
        Ok(PooledRepo {
            opened,
            repo: Some(repo),
        })
    }

    /// The repository's own settings file (`.pulse/config.yaml`): the checked-out file,
    /// or in a bare repository the one at HEAD. `None` when there is none.
    pub fn repo_settings(&self) -> Result<Option<crate::config::RepoSettings>> {
        use crate::config::RepoSettings;
        use crate::repo::SETTINGS_PATH;
        // The checked-out file wins (it is what the user edits); a bare repository uses HEAD's.
        if let Some(dir) = self.light().and_then(LightRepo::workdir) {
            return RepoSettings::read_file(&dir.join(SETTINGS_PATH), SETTINGS_PATH);
        }
        let repo = self.repo()?;
        if let Some(dir) = repo.workdir() {
            return RepoSettings::read_file(&dir.join(SETTINGS_PATH), SETTINGS_PATH);
        }
        let Ok(head) = repo.git().head_id() else {
            return Ok(None);
        };
        match repo.file_at(head.detach(), SETTINGS_PATH)? {
            Some(bytes) => RepoSettings::parse(&bytes, SETTINGS_PATH).map(Some),
            None => Ok(None),
        }
    }

    /// The branch this store acts on (`None`: the one checked out).
    pub fn branch(&self) -> Option<&str> {
        self.branch.as_deref()
    }

    /// Every prompt on the branch at `commit` with its sidecar, for a search: from the
    /// search cache when it has them for this very commit, else from one walk of the
    /// branch (and then kept in the cache).
    fn branch_sidecars(&self, commit: Option<gix::ObjectId>) -> Result<BTreeMap<Name, Sidecar>> {
        if let Some(sidecars) = commit.and_then(|c| search_cache::branch_facts(&self.git_dir, c)) {
            return Ok(sidecars);
        }
        let repo = self.repo()?;
        let mut sidecars = BTreeMap::new();
        for entry in repo.prompts_at(commit)? {
            let sidecar = repo.sidecar_of(&entry)?;
            sidecars.insert(entry.name, sidecar);
        }
        if let Some(c) = commit {
            search_cache::keep_branch_facts(&self.git_dir, c, &sidecars);
        }
        Ok(sidecars)
    }

    /// Each of `prompts`' metadata, and its labels when the query names one, from the
    /// sidecars on the branch (`on_branch`).
    fn prompt_facts(
        &self,
        prompts: &[PromptRefs<'_>],
        on_branch: &BTreeMap<Name, Sidecar>,
        query: &Query,
        commit: Option<gix::ObjectId>,
    ) -> Result<Vec<PromptFacts>> {
        prompts
            .iter()
            .map(|(name, _)| {
                // As `prompt_metadata` says: a prompt not on the branch has none.
                let (meta, sidecar) = match on_branch.get(*name) {
                    Some(sidecar) => (sidecar.prompt_meta(), None),
                    None if query.label.is_some() => (
                        PromptMeta::default(),
                        Some(self.repo()?.sidecar_at(commit, name)?),
                    ),
                    None => (PromptMeta::default(), None),
                };
                let labels = query.label.as_ref().map(|_| {
                    sidecar
                        .as_ref()
                        .or_else(|| on_branch.get(*name))
                        .map(|s| s.typed_labels())
                        .unwrap_or_default()
                });
                Ok((meta, labels))
            })
            .collect()
    }

    /// Read and match the releases `plans` chose (one plan per prompt of `prompts`):
    /// from the search cache when it has them (checked against the checksum it keeps
    /// with them), else from the object database, checked against the tag's checksum,
    /// and then cached. Several threads at once, each part of the releases read into one
    /// buffer it reuses.
    fn search_releases(
        &self,
        prompts: &[PromptRefs<'_>],
        plans: &[Option<Plan>],
        cache: &SearchCache,
        refs: &BTreeMap<Name, Vec<(Version, gix::ObjectId)>>,
        matcher: &crate::search::Matcher,
    ) -> Result<Vec<Hit>> {
        const CHUNK: usize = 64;
        let mut reads: Vec<(usize, &Version, gix::ObjectId)> = Vec::new();
        for (p, plan) in plans.iter().enumerate() {
            for version in plan.iter().flat_map(|plan| &plan.versions) {
                if let Some((v, tag)) = prompts[p].1.iter().find(|(v, _)| v == version) {
                    reads.push((p, v, *tag));
                }
            }
        }
        let shared = &self.opened()?.shared;
        let parts = crate::parallel::try_map(
            reads.len().div_ceil(CHUNK),
            crate::search::jobs_for(self),
            |c| {
                // A clone of its own for each part: threads sharing one regex wait on
                // each other for its scratch space.
                let matcher = matcher.clone();
                let mut repo = None;
                let mut hits = Vec::new();
                let mut missed = Vec::new();
                let mut buf = Vec::new();
                let mut spec = String::new();
                for &(p, version, tag) in &reads[c * CHUNK..reads.len().min((c + 1) * CHUNK)] {
                    let name = prompts[p].0;
                    spec.clear();
                    let _ = write!(spec, "{name}@{version}");
                    if let Some(content) = cache.get(&tag, &spec, &mut buf) {
                        matcher.content_hits(name, version, content, &mut hits);
                        continue;
                    }
                    let repo = repo.get_or_insert_with(|| PromptRepo::uncached(shared));
                    let release = repo.read_release(name, version, tag)?;
                    let raw = repo.release_blob(&release)?;
                    let content = super::verified(name, version, raw)?;
                    matcher.content_hits(name, version, &content, &mut hits);
                    if content.len() <= search_cache::MAX_CONTENT {
                        missed.push(search_cache::Record {
                            tag,
                            spec: spec.clone(),
                            sha256: release.trailers.sha256,
                            content,
                        });
                    }
                }
                Ok((hits, missed))
            },
        )?;
        // Sized once: thousands of hits are not copied as the list grows.
        let mut hits = Vec::with_capacity(parts.iter().map(|(h, _)| h.len()).sum());
        let mut missed = Vec::new();
        for (h, m) in parts {
            hits.extend(h);
            missed.extend(m);
        }
        if !missed.is_empty() {
            let releases: std::collections::HashSet<&gix::ObjectId> =
                refs.values().flatten().map(|(_, tag)| tag).collect();
            cache.write(&self.git_dir, |t| releases.contains(t), &missed);
        }
        Ok(hits)
    }
}

impl Store for GitStore {
    fn describe(&self) -> String {
        format!("git repository '{}'", self.path.display())
    }

    fn put(&self, r: &NewRelease) -> Result<Stored> {
        super::refuse_sealed(r, &self.describe())?;
        let added = self.repo()?.add(
            self.branch(),
            &AddRequest {
                name: &r.name,
                version: VersionChoice::Exact(r.version.clone()),
                content: Content::Given(&r.content[..]),
                metadata: MetadataUpdate {
                    description: r.description.clone(),
                    tags: r.tags.clone(),
                },
                message: r.message.clone(),
                // A store holds any set of versions; ordering is the command line's policy.
                allow_older: true,
                provenance: Provenance::parse(r.author.as_deref(), r.created.as_deref())?,
                // A copy (sync, an upload to the registry) keeps its author: it is not
                // signed by whoever runs the copy.
                sign: crate::repo::sign::SignChoice::Never,
                // A copy keeps what was released elsewhere; it is not a new release.
                check_templates: false,
            },
        )?;
        Ok(if added.created {
            Stored::Created
        } else {
            Stored::Unchanged
        })
    }

    fn copy_from(
        &self,
        src: &dyn Store,
        releases: &[ReleaseId],
        _jobs: usize,
        copied: &(dyn Fn() + Sync),
    ) -> Vec<Result<Stored>> {
        // One import: a few commits, pack files and one ref transaction, whatever the
        // number of releases; each release's content is read from `src` (and verified) only
        // when it is written, so one is held at a time.
        let mut items = Vec::with_capacity(releases.len());
        for id in releases {
            let item = src
                .metadata(&id.name, &id.version)
                .and_then(|meta| check_sidecar_room(&meta).map(|()| import_release(&meta)));
            match item {
                Ok(item) => items.push(item),
                // Nothing is written when a release cannot even be described.
                Err(e) => {
                    return releases
                        .iter()
                        .map(|_| Err(Error::new(e.kind(), e.message().to_owned())))
                        .collect();
                }
            }
        }
        let load = |r: &ImportRelease| {
            let content = src.fetch(&r.name, &r.version);
            copied();
            content
        };
        match self
            .repo()
            .and_then(|repo| repo.import(self.branch(), items, &BTreeMap::new(), &load))
        {
            Ok(_) => releases.iter().map(|_| Ok(Stored::Created)).collect(),
            Err(e) => releases
                .iter()
                .map(|_| Err(Error::new(e.kind(), e.message().to_owned())))
                .collect(),
        }
    }

    fn read(&self, name: &Name, version: &Version) -> Result<Unverified> {
        if let Some(light) = self.light()
            && let Some(found) = light.read(name, version)?
        {
            return Ok(found);
        }
        let repo = self.repo()?;
        let release = repo
            .release(name, version)?
            .ok_or_else(|| no_release(name, version))?;
        repo.release_blob(&release)
    }

    fn read_into(&self, name: &Name, version: &Version, out: &mut dyn Write) -> Result<Recorded> {
        let repo = self.repo()?;
        let release = repo
            .release(name, version)?
            .ok_or_else(|| no_release(name, version))?;
        repo.release_blob_into(&release, out)
    }

    fn list(&self, prefix: &NamePrefix) -> Result<Vec<Name>> {
        Ok(self
            .repo()?
            .all_release_refs()?
            .into_keys()
            .filter(|n| n.is_under(prefix))
            .collect())
    }

    fn delete(&self, name: &Name, version: &Version) -> Result<()> {
        self.repo()?
            .delete_release(self.branch(), name, version, true)
    }

    fn versions(&self, name: &Name) -> Result<Vec<Version>> {
        if let Some(light) = self.light() {
            return light.versions(name);
        }
        let mut v: Vec<Version> = self
            .repo()?
            .release_refs(name)?
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        v.sort();
        Ok(v)
    }

    fn metadata(&self, name: &Name, version: &Version) -> Result<ReleaseMeta> {
        let repo = self.repo()?;
        let release = repo
            .release(name, version)?
            .ok_or_else(|| no_release(name, version))?;
        repo.release_meta(&release)
    }

    fn prompt_metadata(&self, name: &Name) -> Result<PromptMeta> {
        self.repo()?.prompt_meta(self.branch(), name)
    }

    fn update_metadata(&self, name: &Name, update: &MetadataUpdate) -> Result<PromptMeta> {
        self.repo()?
            .update_prompt_metadata(self.branch(), name, update)
    }

    fn labels(&self, name: &Name) -> Result<BTreeMap<Label, Version>> {
        let repo = self.repo()?;
        let branch = repo.branch(self.branch())?;
        let s = repo.sidecar_at(branch.read_commit(), name)?;
        Ok(s.typed_labels())
    }

    fn set_label(
        &self,
        name: &Name,
        label: &Label,
        expect: &Expect,
        target: Option<&Version>,
    ) -> Result<Option<Version>> {
        Ok(self
            .repo()?
            .set_label(self.branch(), name, label, expect, target)?
            .from)
    }

    fn move_labels(&self, moves: &[super::LabelSet]) -> Vec<Result<Option<Version>>> {
        match self
            .repo()
            .and_then(|repo| repo.set_labels(self.branch(), moves))
        {
            Ok(outcomes) => outcomes,
            Err(e) => moves
                .iter()
                .map(|_| Err(Error::new(e.kind(), e.message().to_owned())))
                .collect(),
        }
    }

    fn explain_missing(&self, error: crate::Error) -> crate::Error {
        if self.repo().is_ok_and(|repo| repo.is_shallow()) {
            error.with_hint("this is a shallow clone, which lacks older commits and tags: run 'git fetch --unshallow --tags'")
        } else {
            error
        }
    }

    fn label_history(&self, name: &Name) -> Result<Option<Vec<LabelMove>>> {
        let repo = self.repo()?;
        let branch = repo.branch(self.branch())?;
        repo.label_history(name, &branch).map(Some)
    }

    /// The prompts on the branch (released or not) with their latest release, from one
    /// walk of the branch's tree and one pass over the tags.
    fn summaries(&self, prefix: &NamePrefix) -> Result<Vec<PromptSummary>> {
        let repo = self.repo()?;
        let branch = repo.branch(self.branch())?;
        let prompts: Vec<_> = repo
            .prompts_at(branch.read_commit())?
            .into_iter()
            .filter(|p| p.name.is_under(prefix))
            .collect();
        let names: Vec<&Name> = prompts.iter().map(|p| &p.name).collect();
        let releases = repo.versions_of(&names)?;
        let mut out = Vec::with_capacity(prompts.len());
        for (entry, versions) in prompts.iter().zip(releases) {
            let sidecar = repo.sidecar_of(entry)?;
            out.push(PromptSummary {
                name: entry.name.clone(),
                latest: latest(&versions).cloned(),
                labels: sidecar.typed_labels(),
                description: sidecar.description,
                tags: sidecar.tags,
            });
        }
        Ok(out)
    }

    /// The same answer as [`crate::search::search_store`], read faster: the release tags
    /// from one pass over the refs, the prompts' metadata from one walk of the branch (or
    /// the search cache's copy of it), and each release's content from the search cache
    /// or straight from the object database, several threads at once, each content
    /// checked against its checksum. What does not depend on the refs (the branch's
    /// metadata, the search cache's table) is read while the refs are; when the releases
    /// to read do not depend on the metadata (no label, no keywords), they are read
    /// without waiting for it.
    fn search(&self, query: &Query) -> Result<SearchReport> {
        let started = std::time::Instant::now();
        let ms = || started.elapsed().as_secs_f64() * 1e3;
        let matcher = query.matcher()?;
        let commit = self.repo()?.branch(self.branch())?.read_commit();
        std::thread::scope(|scope| {
            let on_branch = scope.spawn(|| {
                let sidecars = self.branch_sidecars(commit);
                log::trace!("search: read the branch's metadata at {:.3} ms", ms());
                sidecars
            });
            let cache = scope.spawn(|| SearchCache::open(&self.git_dir));
            let refs = self.repo()?.all_release_refs()?;
            log::trace!(
                "search: read the release refs of {} prompts at {:.3} ms",
                refs.len(),
                ms()
            );
            let prompts: Vec<PromptRefs<'_>> =
                refs.iter().filter(|(n, _)| query.covers(n)).collect();
            let joined = |what: &str| Error::other(format!("reading {what} failed"));
            let cache = cache.join().map_err(|_| joined("the search cache"))?;
            log::trace!(
                "search: opened the search cache ({} releases) at {:.3} ms",
                cache.len(),
                ms()
            );
            let mut on_branch = Some(on_branch);
            let mut branch_facts = || -> Result<BTreeMap<Name, Sidecar>> {
                on_branch
                    .take()
                    .ok_or_else(|| joined("the branch's metadata"))?
                    .join()
                    .map_err(|_| joined("the branch's metadata"))?
            };
            let plan = |p: usize, labels: Option<&BTreeMap<Label, Version>>| {
                let versions: Vec<Version> = prompts[p].1.iter().map(|(v, _)| v.clone()).collect();
                Plan::new(query, &versions, labels)
            };
            let (metas, plans, mut hits) = if query.label.is_none() && query.tags.is_empty() {
                let plans: Vec<Option<Plan>> = (0..prompts.len()).map(|p| plan(p, None)).collect();
                let hits = self.search_releases(&prompts, &plans, &cache, &refs, &matcher)?;
                let metas = self.prompt_facts(&prompts, &branch_facts()?, query, commit)?;
                (metas, plans, hits)
            } else {
                let metas = self.prompt_facts(&prompts, &branch_facts()?, query, commit)?;
                let plans: Vec<Option<Plan>> = metas
                    .iter()
                    .enumerate()
                    .map(|(p, (meta, labels))| {
                        query.keeps(meta).then(|| plan(p, labels.as_ref()))?
                    })
                    .collect();
                let hits = self.search_releases(&prompts, &plans, &cache, &refs, &matcher)?;
                (metas, plans, hits)
            };
            log::trace!("search: read and matched the releases at {:.3} ms", ms());
            let mut searched = 0;
            for (p, plan) in plans.iter().enumerate() {
                if let Some(plan) = plan {
                    searched += plan.versions.len() as u64;
                    matcher.meta_hits(prompts[p].0, &plan.meta_version, &metas[p].0, &mut hits);
                }
            }
            Ok(SearchReport::new(searched, hits))
        })
    }

    /// Also checks what only a git release has: an annotated tag named `name@version`
    /// with matching trailers, whose commit holds the prompt's path.
    fn verify(&self, only: Option<&Name>) -> Result<Verified> {
        self.repo()?.verify(only)
    }
}

impl std::fmt::Debug for GitStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitStore")
            .field("path", &self.path)
            .field("branch", &self.branch)
            .finish()
    }
}

/// A prompt and its releases' tag refs (version, tag object), as a search reads them.
type PromptRefs<'a> = (&'a Name, &'a Vec<(Version, gix::ObjectId)>);

/// What a search needs of a prompt from the branch: its metadata, and its labels when the
/// query names one.
type PromptFacts = (PromptMeta, Option<BTreeMap<Label, Version>>);

/// A release of another store, as the bulk import takes it.
fn import_release(meta: &ReleaseMeta) -> ImportRelease {
    ImportRelease {
        name: meta.name.clone(),
        version: meta.version.clone(),
        size: meta.size,
        sha256: meta.sha256.hex(),
        description: meta.description.clone(),
        tags: meta.tags.clone(),
        created: crate::config::parse_time(&meta.created),
        author: crate::meta::parse_author(&meta.author),
        message: Some(meta.message.clone()).filter(|m| !m.is_empty()),
    }
}

/// The most bytes a copied release's description and keywords may take in the prompt's
/// sidecar: half of what a sidecar may hold, leaving the rest for labels.
const COPIED_SIDECAR_BYTES: usize = crate::bounded::SIDECAR.max_bytes / 2;

/// Refuse a release whose description and keywords would not fit in the sidecar.
fn check_sidecar_room(meta: &ReleaseMeta) -> Result<()> {
    let kept = crate::meta::Sidecar {
        description: meta.description.clone(),
        tags: meta.tags.clone(),
        labels: BTreeMap::new(),
    };
    if kept.to_yaml().len() > COPIED_SIDECAR_BYTES {
        return Err(Error::usage(format!(
            "'{}@{}': its description and tags are too long to keep in the prompt's metadata (more than {} KiB)",
            meta.name,
            meta.version,
            COPIED_SIDECAR_BYTES >> 10
        )));
    }
    Ok(())
}
