//! The typed results of commands: one shape per report, with the same field names for the
//! same things everywhere, so the command line's `--format json` and the HTTP registry
//! return the same documents.

use serde::Serialize;

use crate::meta::ReleaseMeta;
use crate::name::{Label, Name};
use crate::version::Version;

/// One release named by its prompt and version: `{"name": …, "version": …}`. Every
/// report that lists releases (clone, pull, push, import, export, sync) lists these.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ReleaseId {
    /// The prompt.
    pub name: Name,
    /// The version.
    pub version: Version,
}

impl std::fmt::Display for ReleaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

impl ReleaseId {
    /// Parse `name@version` (a release tag's short name); `None` if it is not one.
    pub fn parse(spec: &str) -> Option<ReleaseId> {
        let (name, version) = crate::repo::parse_tag_name(spec)?;
        Some(ReleaseId { name, version })
    }
}

/// A release with the labels that point to it (`show`, and each entry of `versions` and `log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReleaseReport {
    /// Everything recorded about the release.
    #[serde(flatten)]
    pub meta: ReleaseMeta,
    /// The labels that point to it.
    pub labels: Vec<Label>,
}

impl ReleaseReport {
    /// A release of `store` with the labels (of `labels`, the prompt's) that point to it.
    pub fn read(
        store: &dyn crate::store::Store,
        name: &Name,
        version: &Version,
        labels: &std::collections::BTreeMap<Label, Version>,
    ) -> crate::error::Result<ReleaseReport> {
        Ok(ReleaseReport {
            meta: store.metadata(name, version)?,
            labels: labels
                .iter()
                .filter(|(_, v)| *v == version)
                .map(|(l, _)| l.clone())
                .collect(),
        })
    }
}

/// One label of one prompt (`label list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelEntry {
    /// The prompt.
    pub name: Name,
    /// The label.
    pub label: Label,
    /// The version it points to.
    pub version: Version,
}

/// A label that moved (`label set`, `label rm`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelMoved {
    /// The prompt.
    pub name: Name,
    /// The label.
    pub label: Label,
    /// Where it pointed before.
    pub from: Option<Version>,
    /// Where it points now (`None`: removed).
    pub to: Option<Version>,
}

/// A release made by `add` or `release`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Released {
    /// The prompt.
    pub name: Name,
    /// The version.
    pub version: Version,
    /// `false` when the same release already existed with identical content.
    pub new: bool,
    /// The commit the release points to.
    pub commit: String,
    /// The release tag object.
    pub tag: String,
}

/// A deleted release (`delete`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deleted {
    /// The prompt.
    pub name: Name,
    /// The version.
    pub version: Version,
    /// Always `true`: a release that could not be deleted is an error.
    pub deleted: bool,
}

/// What `export` wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Exported {
    /// The directory written to.
    pub dir: std::path::PathBuf,
    /// Releases written.
    pub exported: usize,
    /// Releases already there, identical.
    pub unchanged: usize,
    /// The releases written.
    pub releases: Vec<ReleaseId>,
}

/// What `import` brought in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Imported {
    /// Releases found in the directory.
    pub found: usize,
    /// Releases created.
    pub imported: usize,
    /// Releases already present, identical.
    pub already_present: usize,
}

/// What `clone` made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cloned {
    /// Where it was cloned from.
    pub url: String,
    /// The new repository.
    pub path: std::path::PathBuf,
    /// The branch checked out.
    pub branch: String,
    /// Every release it holds.
    pub releases: Vec<ReleaseId>,
}

/// What `pull` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pulled {
    /// The branch pulled into.
    pub branch: String,
    /// `up_to_date`, `fast_forward`, `merged`, or `no_remote_branch`.
    pub result: &'static str,
    /// The releases that were new here.
    pub releases: Vec<ReleaseId>,
}

/// What `push` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pushed {
    /// The branch pushed.
    pub branch: String,
    /// Whether the remote branch moved.
    pub branch_updated: bool,
    /// The releases sent.
    pub releases: Vec<ReleaseId>,
}

/// What `init` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Initialized {
    /// The repository.
    pub path: std::path::PathBuf,
    /// Whether a new git repository was made.
    pub created_repository: bool,
    /// Whether pulse recorded its format (false: it already had).
    pub initialized: bool,
}

/// A diff between two versions (`diff`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diffed {
    /// The old side, `name@version`.
    pub from: String,
    /// The new side.
    pub to: String,
    /// Whether both sides are the same bytes.
    pub identical: bool,
    /// The unified diff (as text; bytes that are not UTF-8 are replaced).
    pub diff: String,
    /// The unified diff, byte for byte.
    #[serde(skip)]
    pub raw: Vec<u8>,
}
