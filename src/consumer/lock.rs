//! `pulse.lock`: what `pulse install` resolved and installed, so that every checkout
//! installs the same bytes.
//!
//! ```yaml
//! # pulse.lock: written by pulse install and pulse update. Commit it; do not edit it.
//! lock_version: 1
//! prompts:
//!   - name: "team/reviewer"
//!     selector: "^1.2"
//!     version: "1.4.0"
//!     sha256: "sha256:…"
//!     store: "https://prompts.example.com/"
//!     install:
//!       - "CLAUDE.md"
//! ```
//!
//! Prompts are sorted by name and their paths as the manifest lists them, every fact is
//! on a line of its own and there is no time in it: two branches that change different
//! prompts merge without a conflict, and installing twice writes the same bytes.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::manifest::InstallPath;
use crate::bounded;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::name::Name;
use crate::version::Version;

/// The lock file's name.
pub const LOCK_FILE: &str = "pulse.lock";

/// The format this pulse writes and reads.
pub const LOCK_VERSION: u32 = 1;

/// One installed prompt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Locked {
    /// The selector it was resolved from, as the manifest wrote it.
    pub selector: String,
    /// The release installed.
    pub version: Version,
    /// Its content's checksum: every installed file holds exactly these bytes.
    pub sha256: Digest,
    /// The store it came from, as the manifest wrote it.
    pub store: String,
    /// Where it is installed.
    pub install: Vec<InstallPath>,
}

/// A parsed `pulse.lock`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lock {
    /// Every installed prompt, by name.
    pub prompts: BTreeMap<Name, Locked>,
}

#[derive(Deserialize)]
struct RawLock {
    lock_version: u32,
    #[serde(default)]
    prompts: Vec<RawLocked>,
}

#[derive(Deserialize)]
struct RawLocked {
    name: String,
    selector: String,
    version: String,
    sha256: String,
    store: String,
    #[serde(default)]
    install: Vec<String>,
}

impl Lock {
    /// Parse a lock file; `path` names it in errors. A lock that does not parse is an
    /// integrity failure (exit 5): it is written by pulse, not by hand.
    pub fn parse(bytes: &[u8], path: &str) -> Result<Lock> {
        let bad = |why: String| {
            Error::integrity(format!("'{path}' {why}")).with_hint(
                "it is written by pulse: restore it from git, or delete it and run 'pulse install'",
            )
        };
        bounded::check_yaml(bytes, bounded::LOCK).map_err(|why| bad(why.to_string()))?;
        let raw: RawLock = serde_yaml_ng::from_slice(bytes).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" at line {}", l.line()))
                .unwrap_or_default();
            bad(format!("is malformed{at}: {e}"))
        })?;
        if raw.lock_version > LOCK_VERSION {
            return Err(Error::usage(format!(
                "'{path}' is lock version {}, newer than this pulse reads ({LOCK_VERSION})",
                raw.lock_version
            ))
            .with_hint("upgrade pulse"));
        }
        let mut lock = Lock::default();
        for p in raw.prompts {
            let name = Name::parse(&p.name).map_err(|e| bad(e.to_string()))?;
            let version =
                Version::parse(&p.version).map_err(|e| bad(format!("'{}': {e}", p.name)))?;
            let sha256 = Digest::parse(&p.sha256).map_err(|e| bad(format!("'{}': {e}", p.name)))?;
            let install = p
                .install
                .iter()
                .map(|i| InstallPath::parse(i, &format!("'{path}'")))
                .collect::<Result<Vec<_>>>()?;
            let locked = Locked {
                selector: p.selector,
                version,
                sha256,
                store: p.store,
                install,
            };
            if lock.prompts.insert(name.clone(), locked).is_some() {
                return Err(bad(format!("lists '{name}' twice")));
            }
        }
        Ok(lock)
    }

    /// The lock as its file holds it.
    pub fn render(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned());
        let mut out = String::from(
            "# pulse.lock: written by pulse install and pulse update. Commit it; do not edit it.\n",
        );
        out.push_str(&format!("lock_version: {LOCK_VERSION}\n"));
        if self.prompts.is_empty() {
            out.push_str("prompts: []\n");
            return out;
        }
        out.push_str("prompts:\n");
        for (name, l) in &self.prompts {
            out.push_str(&format!("  - name: {}\n", q(name.as_str())));
            out.push_str(&format!("    selector: {}\n", q(&l.selector)));
            out.push_str(&format!("    version: {}\n", q(&l.version.to_string())));
            out.push_str(&format!("    sha256: {}\n", q(&l.sha256.to_string())));
            out.push_str(&format!("    store: {}\n", q(&l.store)));
            out.push_str("    install:\n");
            for p in &l.install {
                out.push_str(&format!("      - {}\n", q(p.as_str())));
            }
        }
        out
    }

    /// The lock entry that installed `path`, if any.
    pub fn owner_of(&self, path: &InstallPath) -> Option<(&Name, &Locked)> {
        self.prompts.iter().find(|(_, l)| l.install.contains(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_reads_back_as_itself() {
        let mut lock = Lock::default();
        lock.prompts.insert(
            Name::parse("team/reviewer").unwrap(),
            Locked {
                selector: ">=1.0.0, <2.0.0".to_owned(),
                version: Version::parse("1.4.0").unwrap(),
                sha256: Digest::of(b"x"),
                store: "https://prompts.example.com/".to_owned(),
                install: vec![InstallPath::parse("CLAUDE.md", "t").unwrap()],
            },
        );
        let text = lock.render();
        assert_eq!(Lock::parse(text.as_bytes(), "pulse.lock").unwrap(), lock);
        assert_eq!(
            Lock::parse(text.as_bytes(), "pulse.lock").unwrap().render(),
            text
        );
        assert!(Lock::parse(b"lock_version: 1\nprompts: [{name: A}]\n", "l").is_err());
    }
}
