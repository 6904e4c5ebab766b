//! Where a prompt lives in the git repository: the paths of its content and sidecar in
//! every branch, and the ref names of its releases (`docs/format.md`).

use crate::name::Name;
use crate::version::Version;

/// The directory, in every branch, that holds the prompts.
pub const PROMPTS_DIR: &str = "prompts";

/// The path of the prompt's content inside a commit's tree: `prompts/<name>.md`.
pub fn content_path(name: &Name) -> String {
    format!("{PROMPTS_DIR}/{name}.md")
}

/// The path of the prompt's metadata sidecar inside a commit's tree: `prompts/<name>.yaml`.
pub fn sidecar_path(name: &Name) -> String {
    format!("{PROMPTS_DIR}/{name}.yaml")
}

/// The tag name (without `refs/tags/`) of one release: `<name>@<version>`.
pub fn tag_name(name: &Name, version: &Version) -> String {
    format!("{name}@{version}")
}

/// The full ref of one release: `refs/tags/<name>@<version>`.
pub fn tag_ref(name: &Name, version: &Version) -> String {
    format!("refs/tags/{name}@{version}")
}

/// The ref prefix under which all releases of a prompt live: `refs/tags/<name>@`.
pub fn tag_prefix(name: &Name) -> String {
    format!("refs/tags/{name}@")
}

/// Split a tag's short name into a prompt name and a version, if it is a release tag.
pub fn parse_tag_name(short: &str) -> Option<(Name, Version)> {
    let (name, version) = short.rsplit_once('@')?;
    Some((Name::parse(name).ok()?, Version::parse(version).ok()?))
}
