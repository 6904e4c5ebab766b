//! The checksum and size a store recorded for a release's content, and the one check of
//! bytes against them: what every store and the git engine share, so neither depends on
//! the other for it.

use crate::digest::{Digest, Hasher};
use crate::error::{Error, Hint, Result};
use crate::name::Name;
use crate::version::Version;

/// A release's bytes as a store holds them, with the checksum and size it recorded.
/// Only `StoreExt::fetch` hands bytes on, after checking them against these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified {
    /// The bytes, not yet verified.
    pub content: Vec<u8>,
    /// The checksum the store recorded for the release.
    pub sha256: Digest,
    /// The size the store recorded.
    pub size: u64,
}

impl Unverified {
    /// The checksum and size the store recorded.
    pub fn recorded(&self) -> Recorded {
        Recorded {
            sha256: self.sha256,
            size: self.size,
        }
    }
}

/// The checksum and size a store recorded for a release: what its bytes must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The recorded checksum.
    pub sha256: Digest,
    /// The recorded size in bytes.
    pub size: u64,
}

/// One thing found wrong with a release.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyProblem {
    /// The release (`name@version`), as the store names it.
    pub tag: String,
    /// What is wrong.
    pub problem: String,
}

/// The outcome of checking every release of a store.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Verified {
    /// How many releases were checked.
    pub checked: usize,
    /// What was found wrong (empty: all is well).
    pub problems: Vec<VerifyProblem>,
}

/// Check content, as it was read (fed through `seen`), against the checksum and size its
/// store recorded: the one place where pulse decides whether bytes may be handed on.
pub fn check_content(
    name: &Name,
    version: &Version,
    recorded: &Recorded,
    seen: Hasher,
) -> Result<()> {
    let size = seen.len();
    let actual = seen.finish();
    if actual != recorded.sha256 || size != recorded.size {
        return Err(Error::integrity(format!(
            "content of '{name}@{version}' does not match its checksum: recorded {} ({} bytes), content is {actual} ({size} bytes)",
            recorded.sha256, recorded.size,
        ))
        .with_hint("do not trust this content")
        .with_hint(Hint::Verify {
            name: Some(name.to_string()),
        }));
    }
    Ok(())
}
