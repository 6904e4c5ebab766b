//! `pulse.yaml`: what a consumer repository uses, from which store, installed where.
//!
//! ```yaml
//! store: https://prompts.example.com/     # any store address; a relative path is
//!                                         # relative to this file's directory
//! prompts:
//!   team/reviewer:
//!     version: ^1.2                       # a selector: exact, range, label or latest
//!     install: CLAUDE.md                  # a path, or a list of paths
//!   support/agent:
//!     version: production
//!     store: s3://other-bucket/prompts    # this prompt's own store
//!     install:
//!       - AGENTS.md
//!       - .github/copilot-instructions.md
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml_ng::Value;

use crate::bounded;
use crate::error::{Error, Result};
use crate::name::{Name, printable};
use crate::selector::Selector;

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "pulse.yaml";

/// What the manifest's top level may hold.
const TOP_KEYS: &[&str] = &["store", "prompts"];
/// What a prompt's entry may hold.
const ENTRY_KEYS: &[&str] = &["version", "install", "store"];

/// A path a prompt is installed at: relative to the manifest's directory, with `/`
/// between segments, none of them empty, `.`, `..` or `.git`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct InstallPath(String);

impl InstallPath {
    /// Check `input` as an install path (`what` names it in errors).
    pub fn parse(input: &str, what: &str) -> Result<InstallPath> {
        let bad = |why: &str| {
            Error::usage(format!(
                "{what}: '{}' {why}",
                printable(input)
            ))
            .with_hint("install paths are relative to pulse.yaml's directory, inside it: CLAUDE.md, .github/copilot-instructions.md")
        };
        if input.is_empty() {
            return Err(bad("is empty"));
        }
        if input.starts_with('/') {
            return Err(bad("is absolute"));
        }
        if input.contains('\\') || input.chars().any(char::is_control) {
            return Err(bad("has a backslash or a control character"));
        }
        let segments: Vec<&str> = input.split('/').collect();
        if segments.iter().any(|s| s.is_empty() || *s == ".") {
            return Err(bad("has an empty or '.' segment"));
        }
        if segments.contains(&"..") {
            return Err(bad("leaves the directory ('..')"));
        }
        if segments.iter().any(|s| s.eq_ignore_ascii_case(".git")) {
            return Err(bad("is inside .git"));
        }
        if input.len() > 4096 {
            return Err(bad("is too long"));
        }
        if segments.len() == 1 && (input == MANIFEST_FILE || input == super::lock::LOCK_FILE) {
            return Err(bad("is pulse's own file"));
        }
        Ok(InstallPath(input.to_owned()))
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its directories, then its file name.
    pub fn split(&self) -> (Vec<&str>, &str) {
        let mut segments: Vec<&str> = self.0.split('/').collect();
        let file = segments.pop().unwrap_or_default();
        (segments, file)
    }
}

impl std::fmt::Display for InstallPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One prompt the manifest uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Which of its releases (`latest` when the manifest does not say).
    pub selector: Selector,
    /// The store it comes from, as written (the manifest's `store` when it names none).
    pub store: String,
    /// Where it is installed, in the order written.
    pub install: Vec<InstallPath>,
}

/// A parsed `pulse.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The prompts, by name.
    pub prompts: BTreeMap<Name, Entry>,
    /// What was passed over (unknown keys), each naming its line.
    pub warnings: Vec<String>,
}

impl Manifest {
    /// Parse a manifest; `path` names it in messages. Errors are usage errors (exit 2)
    /// naming the line.
    pub fn parse(bytes: &[u8], path: &str) -> Result<Manifest> {
        bounded::check_yaml(bytes, bounded::MANIFEST)
            .map_err(|why| Error::usage(format!("'{path}' {why}")))?;
        let text = std::str::from_utf8(bytes)
            .map_err(|_| Error::usage(format!("'{path}' is not UTF-8")))?;
        let value: Value = serde_yaml_ng::from_str(text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" at line {}, column {}", l.line(), l.column()))
                .unwrap_or_default();
            Error::usage(format!("'{path}' is malformed{at}: {e}"))
        })?;
        let lines = Lines { text, path };
        let top = match value {
            Value::Mapping(m) => m,
            Value::Null => serde_yaml_ng::Mapping::new(),
            _ => return Err(lines.error(&[], "must be a mapping with 'store' and 'prompts'")),
        };
        let mut manifest = Manifest::default();
        let mut store = None;
        let mut prompts = None;
        for (k, v) in top {
            let key = lines.key(&k, &[])?;
            match key.as_str() {
                "store" => store = Some(lines.string(&v, &["store"])?),
                "prompts" => prompts = Some(v),
                other => manifest.warnings.push(lines.unknown(&[], other, TOP_KEYS)),
            }
        }
        let prompts = match prompts {
            None | Some(Value::Null) => serde_yaml_ng::Mapping::new(),
            Some(Value::Mapping(m)) => m,
            Some(_) => {
                return Err(lines.error(&["prompts"], "must map prompt names to their entries"));
            }
        };
        let mut seen_paths: BTreeMap<InstallPath, Name> = BTreeMap::new();
        for (k, v) in prompts {
            let key = lines.key(&k, &["prompts"])?;
            let at = ["prompts", key.as_str()];
            let name = Name::parse(&key).map_err(|e| lines.error(&at, &e.to_string()))?;
            let entry = lines.entry(&at, v, store.as_deref(), &mut manifest.warnings)?;
            for p in &entry.install {
                if let Some(other) = seen_paths.insert(p.clone(), name.clone()) {
                    let why = if other == name {
                        format!("installs '{p}' twice")
                    } else {
                        format!("installs '{p}', which '{other}' installs too")
                    };
                    return Err(lines.error(&at, &why));
                }
            }
            manifest.prompts.insert(name, entry);
        }
        Ok(manifest)
    }
}

/// The manifest's text, to say which line a key is on.
struct Lines<'a> {
    text: &'a str,
    path: &'a str,
}

impl Lines<'_> {
    /// The line of the key at `at` (a path of keys from the top), found by following
    /// each key down the file's indentation; `None` if it cannot be told.
    fn line_of(&self, at: &[&str]) -> Option<usize> {
        let mut from = 0;
        let mut found = None;
        let mut indent = None::<usize>;
        for key in at {
            let mut hit = None;
            for (n, line) in self.text.lines().enumerate().skip(from) {
                let trimmed = line.trim_start();
                let this_indent = line.len() - trimmed.len();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                if indent.is_some_and(|i| this_indent <= i) && hit.is_none() && n > from {
                    break;
                }
                let bare = trimmed.trim_start_matches("- ");
                let quoted = [
                    format!("{key}:"),
                    format!("\"{key}\":"),
                    format!("'{key}':"),
                ];
                if quoted.iter().any(|q| bare.starts_with(q.as_str())) {
                    hit = Some((n, this_indent));
                    break;
                }
            }
            let (n, i) = hit?;
            found = Some(n + 1);
            from = n + 1;
            indent = Some(i);
        }
        found
    }

    fn error(&self, at: &[&str], why: &str) -> Error {
        let place = if at.is_empty() {
            String::new()
        } else {
            format!(" '{}'", at.join("."))
        };
        let line = self
            .line_of(at)
            .map(|n| format!(", line {n}"))
            .unwrap_or_default();
        Error::usage(format!("'{}'{line}:{place} {why}", self.path))
            .with_hint("see docs/consumers.md for the form of pulse.yaml")
    }

    fn unknown(&self, at: &[&str], key: &str, known: &[&str]) -> String {
        let mut full = at.to_vec();
        full.push(key);
        let line = self
            .line_of(&full)
            .map(|n| format!(", line {n}"))
            .unwrap_or_default();
        format!(
            "'{}'{line}: unknown key '{}' is ignored (known here: {})",
            self.path,
            printable(key),
            known.join(", ")
        )
    }

    fn key(&self, k: &Value, at: &[&str]) -> Result<String> {
        match k {
            Value::String(s) => Ok(s.clone()),
            _ => Err(self.error(at, "has a key that is not a string")),
        }
    }

    fn string(&self, v: &Value, at: &[&str]) -> Result<String> {
        match v {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(self.error(at, "must be a non-empty string")),
        }
    }

    fn entry(
        &self,
        at: &[&str],
        v: Value,
        default_store: Option<&str>,
        warnings: &mut Vec<String>,
    ) -> Result<Entry> {
        let Value::Mapping(m) = v else {
            return Err(self.error(at, "must be a mapping with 'version' and 'install'"));
        };
        let mut selector = Selector::Latest;
        let mut store = default_store.map(str::to_owned);
        let mut install = Vec::new();
        for (k, v) in m {
            let key = self.key(&k, at)?;
            let mut here = at.to_vec();
            here.push(key.as_str());
            match key.as_str() {
                "version" => {
                    let text = self.string(&v, &here)?;
                    selector =
                        Selector::parse(&text).map_err(|e| self.error(&here, &e.to_string()))?;
                }
                "store" => store = Some(self.string(&v, &here)?),
                "install" => {
                    let items = match v {
                        Value::Sequence(items) => items,
                        one => vec![one],
                    };
                    for item in items {
                        let text = self.string(&item, &here)?;
                        let path = InstallPath::parse(&text, &format!("'{}'", here.join(".")))
                            .map_err(|e| self.error(&here, e.message()))?;
                        install.push(path);
                    }
                }
                other => warnings.push(self.unknown(at, other, ENTRY_KEYS)),
            }
        }
        let Some(store) = store else {
            return Err(self.error(
                at,
                "names no store: set 'store' at the top of pulse.yaml or in the entry",
            ));
        };
        crate::store::Address::parse(&store)
            .map_err(|e| self.error(at, &format!("store {}", e.message())))?;
        if install.is_empty() {
            return Err(self.error(at, "has no 'install' path"));
        }
        let unique: BTreeSet<&InstallPath> = install.iter().collect();
        if unique.len() != install.len() {
            return Err(self.error(at, "lists an install path twice"));
        }
        Ok(Entry {
            selector,
            store,
            install,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_parses_and_errors_name_the_line() {
        let m = Manifest::parse(
            b"store: ../prompts\nprompts:\n  team/reviewer:\n    version: ^1.2\n    install: CLAUDE.md\n  b:\n    install: [AGENTS.md, .github/copilot-instructions.md]\n    colour: red\n",
            "pulse.yaml",
        )
        .unwrap();
        assert_eq!(m.prompts.len(), 2);
        assert_eq!(m.warnings.len(), 1);
        assert!(m.warnings[0].contains("line 8"), "{:?}", m.warnings);
        let e = Manifest::parse(
            b"store: x\nprompts:\n  a:\n    version: ^1\n    install: ../../etc/passwd\n",
            "pulse.yaml",
        )
        .unwrap_err();
        assert!(e.message().contains("line 5"), "{e}");
        let e = Manifest::parse(
            b"store: x\nprompts:\n  a:\n    install: A.md\n  Bad:\n    install: B.md\n",
            "pulse.yaml",
        )
        .unwrap_err();
        assert!(e.message().contains("line 5"), "{e}");
        let e = Manifest::parse(
            b"store: x\nprompts:\n  a:\n    install: A.md\n  b:\n    install: A.md\n",
            "pulse.yaml",
        )
        .unwrap_err();
        assert!(e.message().contains("which 'a' installs too"), "{e}");
    }

    #[test]
    fn install_paths_stay_inside() {
        for bad in [
            "",
            "/etc/x",
            "a/../b",
            "./a",
            ".git/hooks/pre-commit",
            "a//b",
            "pulse.lock",
        ] {
            assert!(InstallPath::parse(bad, "t").is_err(), "{bad}");
        }
        for good in [
            "CLAUDE.md",
            ".github/copilot-instructions.md",
            ".claude/agents/r.md",
        ] {
            assert!(InstallPath::parse(good, "t").is_ok(), "{good}");
        }
    }
}
