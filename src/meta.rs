//! What pulse records about prompts and releases: the metadata every store keeps for a
//! release and a prompt, and the git repository's own records of them (the YAML sidecar
//! kept beside each prompt, the trailers of a release tag's message).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::name::{Label, Name};
use crate::version::Version;

/// The repository format this pulse writes and reads (`docs/format.md`).
pub const FORMAT_VERSION: u32 = 1;

/// Everything known about one release. It travels whole between stores, so a copy keeps
/// who released it, when and why. This is also its `--format json` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleaseMeta {
    /// The prompt's name.
    pub name: Name,
    /// The released version.
    pub version: Version,
    /// When it was released (RFC 3339).
    pub created: String,
    /// Who released it, `Name <email>`.
    pub author: String,
    /// Content size in bytes.
    pub size: u64,
    /// The content's checksum.
    pub sha256: Digest,
    /// The release message.
    pub message: String,
    /// The prompt's description as of this release.
    #[schema(required = true)]
    pub description: Option<String>,
    /// The prompt's keywords as of this release.
    pub tags: Vec<String>,
    /// The commit the release points to (stores backed by git only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The content's path in that commit (stores backed by git only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// How the store keeps the content encrypted (`age`), if it does; the size and
    /// checksum are always the plaintext's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<String>,
}

/// The metadata of a prompt that may change between versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptMeta {
    /// What the prompt is for.
    pub description: Option<String>,
    /// Keywords.
    pub tags: Vec<String>,
}

/// A change to a prompt's metadata; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataUpdate {
    /// A new description (empty removes it).
    pub description: Option<String>,
    /// New keywords.
    pub tags: Option<Vec<String>>,
}

/// What a label must point to for a move to go ahead (compare-and-swap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Move it whatever it points to now.
    Any,
    /// Only if the label does not exist yet.
    Absent,
    /// Only if it points to exactly this version now.
    Is(Version),
}

impl Expect {
    /// Whether a label that points to `current` (`None`: the label does not exist) is
    /// what this expects.
    pub fn matches(&self, current: Option<&Version>) -> bool {
        match self {
            Expect::Any => true,
            Expect::Absent => current.is_none(),
            Expect::Is(v) => current == Some(v),
        }
    }
}

/// The error for a release that is not in a store.
pub fn no_release(name: &Name, version: &Version) -> crate::Error {
    crate::Error::not_found(format!("prompt '{name}' has no release {version}")).with_hint(
        crate::Hint::ListVersions {
            name: name.to_string(),
        },
    )
}

/// Split `Name <email>`.
pub fn parse_author(s: &str) -> Option<(String, String)> {
    let (name, rest) = s.split_once('<')?;
    let email = rest.trim_end().strip_suffix('>')?;
    if email.contains(['<', '>', '\n']) || name.contains(['>', '\n']) {
        return None;
    }
    Some((name.trim().to_owned(), email.trim().to_owned()))
}

/// One move of a label: who moved which label from what to what, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LabelMove {
    /// The label.
    pub label: String,
    /// The version it pointed to before (`None`: it was new).
    #[schema(required = true)]
    pub from: Option<String>,
    /// The version it points to after (`None`: it was removed).
    #[schema(required = true)]
    pub to: Option<String>,
    /// Who moved it, `Name <email>`.
    pub author: String,
    /// When (RFC 3339).
    pub date: String,
    /// The commit that moved it (stores backed by git only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl PromptMeta {
    /// Apply `update`; returns whether anything changed.
    pub fn apply(&mut self, update: &MetadataUpdate) -> bool {
        let before = self.clone();
        if let Some(d) = &update.description {
            self.description = (!d.is_empty()).then(|| d.clone());
        }
        if let Some(t) = &update.tags {
            self.tags = t.clone();
        }
        *self != before
    }
}

/// The per-prompt metadata file `prompts/<name>.yaml`: description, keywords and labels.
/// Keys are written in this order and labels sorted, so diffs stay small and stable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    /// What the prompt is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Keywords to find the prompt by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Label name to the released version it points to.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl Sidecar {
    /// Parse a sidecar file; `path` names it in the error.
    pub fn parse(bytes: &[u8], path: &str) -> crate::Result<Sidecar> {
        const HINT: &str = "fix the YAML by hand (keys: description, tags, labels) and commit it";
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(Sidecar::default());
        }
        if bytes.len() <= crate::bounded::SIDECAR.max_bytes
            && let Some(sidecar) = std::str::from_utf8(bytes).ok().and_then(parse_plain)
        {
            return Ok(sidecar);
        }
        crate::bounded::check_yaml(bytes, crate::bounded::SIDECAR).map_err(|why| {
            crate::Error::integrity(format!("metadata file '{path}' {why}")).with_hint(HINT)
        })?;
        serde_yaml_ng::from_slice(bytes).map_err(|e| {
            crate::Error::integrity(format!("metadata file '{path}' is malformed: {e}"))
                .with_hint(HINT)
        })
    }

    /// The description and keywords this sidecar records.
    pub fn prompt_meta(&self) -> PromptMeta {
        PromptMeta {
            description: self.description.clone(),
            tags: self.tags.clone(),
        }
    }

    /// Record `meta` as the description and keywords.
    pub fn set_prompt_meta(&mut self, meta: PromptMeta) {
        self.description = meta.description;
        self.tags = meta.tags;
    }

    /// Whether there is nothing to write (the file is then removed).
    pub fn is_empty(&self) -> bool {
        self.description.is_none() && self.tags.is_empty() && self.labels.is_empty()
    }

    /// The YAML text of this sidecar.
    pub fn to_yaml(&self) -> String {
        // Serializing plain strings, lists and maps cannot fail.
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }

    /// The labels that are well formed and point to a well-formed version (a label
    /// edited by hand into something else is left out).
    pub fn typed_labels(&self) -> BTreeMap<Label, Version> {
        self.labels
            .iter()
            .filter_map(|(l, v)| Some((Label::parse(l).ok()?, Version::parse(v).ok()?)))
            .collect()
    }

    /// The version a label points to, if it is set and well formed.
    pub fn label(&self, label: &Label) -> Option<Version> {
        self.labels
            .get(label.as_str())
            .and_then(|v| Version::parse(v).ok())
    }
}

/// A sidecar in the shape pulse writes it (each key once, plain or single-quoted
/// one-line scalars), read without a YAML parser: `pulse list` reads a thousand of them.
/// Anything else, or any scalar YAML could read as something other than a string (a
/// number, a boolean, null), gives `None` and goes to the YAML parser, so both always
/// agree.
fn parse_plain(text: &str) -> Option<Sidecar> {
    let mut sidecar = Sidecar::default();
    let (mut description, mut tags, mut labels) = (false, false, false);
    let mut lines = text.strip_suffix('\n')?.split('\n').peekable();
    while let Some(line) = lines.next() {
        if let Some(value) = line.strip_prefix("description: ") {
            if std::mem::replace(&mut description, true) {
                return None;
            }
            sidecar.description = Some(plain_scalar(value)?);
        } else if line == "tags:" {
            if std::mem::replace(&mut tags, true) {
                return None;
            }
            while let Some(item) = lines.peek().and_then(|l| l.strip_prefix("- ")) {
                sidecar.tags.push(plain_scalar(item)?);
                lines.next();
            }
            if sidecar.tags.is_empty() {
                return None;
            }
        } else if line == "labels:" {
            if std::mem::replace(&mut labels, true) {
                return None;
            }
            while let Some(entry) = lines.peek().and_then(|l| l.strip_prefix("  ")) {
                let (key, value) = entry.split_once(": ")?;
                let (key, value) = (plain_scalar(key)?, plain_scalar(value)?);
                if sidecar.labels.insert(key, value).is_some() {
                    return None;
                }
                lines.next();
            }
            if sidecar.labels.is_empty() {
                return None;
            }
        } else {
            return None;
        }
    }
    Some(sidecar)
}

/// One scalar that YAML reads as exactly this string, or `None` when in doubt.
fn plain_scalar(raw: &str) -> Option<String> {
    if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        // Single-quoted: a quote inside is written twice; nothing is escaped otherwise.
        // YAML breaks lines at NEL, LS and PS too, and gives a BOM a meaning: leave any of
        // them, and any control character, to the parser.
        let special = |c: char| {
            c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                )
        };
        if inner.chars().any(special) || inner.replace("''", "").contains('\'') {
            return None;
        }
        return Some(inner.replace("''", "'"));
    }
    let safe = |c: char| c.is_ascii_alphanumeric() || " ._-/()+=,;".contains(c);
    let first_ok = raw
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !raw.chars().all(safe) || raw.ends_with(' ') {
        return None;
    }
    let lower = raw.to_ascii_lowercase();
    let special = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf",
    ];
    if special.contains(&lower.as_str())
        || raw.parse::<f64>().is_ok()
        || lower.starts_with("0x")
        || lower.starts_with("0o")
        || lower.starts_with("0b")
    {
        return None;
    }
    Some(raw.to_owned())
}

/// The machine-readable part of a release tag's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailers {
    /// The prompt's name.
    pub name: Name,
    /// The released version.
    pub version: Version,
    /// The path of the content in the tagged commit.
    pub path: String,
    /// The git blob id of the content (hex), so a reader goes from the tag straight to
    /// the blob; releases made before it was recorded have none and are read by path.
    pub blob: Option<String>,
    /// The content's size in bytes.
    pub size: u64,
    /// The content's checksum.
    pub sha256: Digest,
    /// The repository format the tag was written with.
    pub format: u32,
}

const T_NAME: &str = "Pulse-Name";
const T_VERSION: &str = "Pulse-Version";
const T_PATH: &str = "Pulse-Path";
const T_BLOB: &str = "Pulse-Blob";
const T_SIZE: &str = "Pulse-Size";
const T_CHECKSUM: &str = "Pulse-Checksum";
const T_FORMAT: &str = "Pulse-Format";

/// Render a release tag's message: the user's message, a blank line, then the trailers.
pub fn render_tag_message(message: &str, t: &Trailers) -> String {
    let message = message.trim_end();
    let blob = t
        .blob
        .as_ref()
        .map(|b| format!("{T_BLOB}: {b}\n"))
        .unwrap_or_default();
    format!(
        "{message}\n\n{T_NAME}: {}\n{T_VERSION}: {}\n{T_PATH}: {}\n{blob}{T_SIZE}: {}\n{T_CHECKSUM}: {}\n{T_FORMAT}: {}\n",
        t.name, t.version, t.path, t.size, t.sha256, t.format
    )
}

/// Why a tag message is not a pulse release message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TrailerError(pub String);

/// Split a release tag's message into the user's message and the parsed trailers.
pub fn parse_tag_message(raw: &[u8]) -> Result<(String, Trailers), TrailerError> {
    crate::bounded::check_size(raw, crate::bounded::TAG_MESSAGE_BYTES)
        .map_err(|why| TrailerError(format!("the tag message {why}")))?;
    let text = std::str::from_utf8(raw)
        .map_err(|_| TrailerError("the tag message is not UTF-8".into()))?;
    let text = text.trim_end_matches('\n');
    let (message, block) = match text.rfind("\n\n") {
        Some(i) => (&text[..i], &text[i + 2..]),
        None => ("", text),
    };
    if !block.lines().any(|l| l.starts_with("Pulse-")) {
        return Err(TrailerError(
            "it carries no Pulse-* trailers, so pulse did not make it".into(),
        ));
    }
    let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
    for line in block.lines() {
        let (k, v) = line.split_once(": ").ok_or_else(|| {
            TrailerError(format!(
                "'{}' is not a 'Key: value' trailer",
                line.escape_debug()
            ))
        })?;
        if fields.insert(k, v.trim()).is_some() {
            return Err(TrailerError(format!("trailer '{k}' appears twice")));
        }
    }
    let get = |k: &str| {
        fields
            .get(k)
            .copied()
            .ok_or_else(|| TrailerError(format!("trailer '{k}' is missing")))
    };
    let name = Name::parse(get(T_NAME)?).map_err(|e| TrailerError(e.to_string()))?;
    let version = Version::parse(get(T_VERSION)?).map_err(|e| TrailerError(e.to_string()))?;
    let size = get(T_SIZE)?
        .parse::<u64>()
        .map_err(|_| TrailerError(format!("trailer '{T_SIZE}' is not a number")))?;
    let sha256 = Digest::parse(get(T_CHECKSUM)?).map_err(|_| {
        TrailerError(format!(
            "trailer '{T_CHECKSUM}' is not sha256:<64 hex digits>"
        ))
    })?;
    let format = get(T_FORMAT)?
        .parse::<u32>()
        .map_err(|_| TrailerError(format!("trailer '{T_FORMAT}' is not a number")))?;
    Ok((
        message.to_owned(),
        Trailers {
            name,
            version,
            path: get(T_PATH)?.to_owned(),
            blob: match fields.get(T_BLOB) {
                Some(hex)
                    if hex.len() == 40
                        && hex
                            .bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
                {
                    Some((*hex).to_owned())
                }
                Some(_) => {
                    return Err(TrailerError(format!(
                        "trailer '{T_BLOB}' is not a 40-digit object id"
                    )));
                }
                None => None,
            },
            size,
            sha256,
            format,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authors() {
        assert_eq!(
            parse_author("Ada Tester <ada@example.com>"),
            Some(("Ada Tester".into(), "ada@example.com".into()))
        );
        assert_eq!(parse_author("no email"), None);
        assert_eq!(parse_author("a <b> <c>"), None);
        assert_eq!(parse_author("a\n<b>"), None);
    }

    #[test]
    fn trailers_round_trip() {
        let t = Trailers {
            name: Name::parse("team/a").unwrap(),
            version: Version::parse("1.2.3-rc.1").unwrap(),
            path: "prompts/team/a.md".into(),
            blob: Some("0123456789abcdef0123456789abcdef01234567".into()),
            size: 7,
            sha256: Digest::of(b"content"),
            format: FORMAT_VERSION,
        };
        let msg = render_tag_message("Fix tone\n\nLonger text: with colon\n", &t);
        let (m, back) = parse_tag_message(msg.as_bytes()).unwrap();
        assert_eq!(back, t);
        assert_eq!(m, "Fix tone\n\nLonger text: with colon");
    }

    #[test]
    fn malformed_messages_are_refused() {
        for bad in [
            "",
            "hello",
            "msg\n\nPulse-Name: a\n",
            "msg\n\nnot a trailer\n",
        ] {
            assert!(parse_tag_message(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn plain_sidecars_read_as_yaml_reads_them() {
        for text in [
            "description: d\ntags:\n- x\nlabels:\n  production: 0.9.0\n  staging: 1.0.0\n",
            "description: 'It''s: careful, # really'\n",
            "labels:\n  production: 1.10.0-rc.1\n",
            "tags:\n- a\n- b c\n",
        ] {
            let fast = parse_plain(text).unwrap_or_else(|| panic!("{text:?}"));
            let yaml: Sidecar = serde_yaml_ng::from_str(text).unwrap();
            assert_eq!(fast, yaml, "{text:?}");
        }
        for doubtful in [
            "description: 1.5\n",
            "description: yes\n",
            "description: null\n",
            "description: 0x10\n",
            "description: a: b\n",
            "description: 'a'b'\n",
            "tags:\n",
            "labels:\n  a: 1\n  a: 2\n",
            "description: d\ndescription: e\n",
            "description: d",
            "other: x\n",
            "description: \"quoted\"\n",
            "description: '\u{2028}  '\n",
            "description: 'a\u{85}b'\n",
        ] {
            assert_eq!(parse_plain(doubtful), None, "{doubtful:?}");
        }
    }

    #[test]
    fn sidecar_is_stable() {
        let mut s = Sidecar {
            description: Some("d".into()),
            tags: vec!["x".into()],
            ..Default::default()
        };
        s.labels.insert("staging".into(), "1.0.0".into());
        s.labels.insert("production".into(), "0.9.0".into());
        let y = s.to_yaml();
        assert_eq!(
            y,
            "description: d\ntags:\n- x\nlabels:\n  production: 0.9.0\n  staging: 1.0.0\n"
        );
        assert_eq!(Sidecar::parse(y.as_bytes(), "p").unwrap(), s);
    }
}
