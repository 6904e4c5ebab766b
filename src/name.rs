//! Prompt names, name prefixes and label names, and their validation. A name becomes a
//! git ref, a file path, an S3 key and a URL, so the rules keep it safe for all of them.

use std::fmt;

use crate::error::Error;

/// The longest prompt name, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// The longest label name, in bytes.
pub const MAX_LABEL_LEN: usize = 64;

/// Why a string is not a valid prompt or label name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The prompt name is empty.
    #[error("a prompt name cannot be empty")]
    Empty,
    /// The prompt name is longer than allowed.
    #[error("prompt name '{0}' is longer than {MAX_NAME_LEN} bytes")]
    TooLong(String),
    /// The name breaks the character rules.
    #[error("'{name}' is not a valid prompt name: {why}")]
    Invalid {
        /// The rejected input, printed safely.
        name: String,
        /// Which rule it breaks.
        why: &'static str,
    },
    /// The label name breaks the label rules (or is empty or too long).
    #[error("'{name}' is not a valid label: {why}")]
    InvalidLabel {
        /// The rejected input, printed safely.
        name: String,
        /// Which rule it breaks.
        why: &'static str,
    },
}

impl NameError {
    /// Whether this is about a label rather than a prompt name.
    pub fn is_label(&self) -> bool {
        matches!(self, NameError::InvalidLabel { .. })
    }
}

impl From<NameError> for Error {
    fn from(e: NameError) -> Self {
        let hint = if e.is_label() {
            "labels are a lowercase letter then [a-z0-9-], at most 64 bytes; 'latest' is reserved"
        } else {
            "names are lowercase segments of [a-z0-9] joined by '.', '_' or '-', separated by '/', at most 128 bytes; a segment is never a version or content.md, metadata.json, labels.json"
        };
        Error::usage(e.to_string()).with_hint(hint)
    }
}

/// Segments that would collide with the file names of the directory layout.
const RESERVED_SEGMENTS: [&str; 3] = ["content.md", "metadata.json", "labels.json"];

/// A valid prompt name such as `reviewer` or `team-a/code.reviewer`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn check_segment(segment: &str) -> Result<(), &'static str> {
    let bytes = segment.as_bytes();
    if bytes.iter().any(u8::is_ascii_uppercase) {
        return Err("names are lowercase");
    }
    if bytes.is_empty() {
        return Err("it has an empty segment (leading, trailing or doubled '/')");
    }
    if !is_alnum(bytes[0]) {
        return Err("each segment must start with a lowercase letter or digit");
    }
    if !is_alnum(bytes[bytes.len() - 1]) {
        return Err("each segment must end with a lowercase letter or digit");
    }
    let mut previous_was_separator = false;
    for &b in bytes {
        if is_alnum(b) {
            previous_was_separator = false;
        } else if matches!(b, b'.' | b'_' | b'-') {
            if previous_was_separator {
                return Err("'.', '_' and '-' must stand between letters or digits");
            }
            previous_was_separator = true;
        } else if b.is_ascii_uppercase() {
            return Err("names are lowercase");
        } else {
            return Err("only [a-z0-9], '.', '_', '-' and '/' are allowed");
        }
    }
    if segment.ends_with(".lock") {
        return Err("a segment cannot end in '.lock' (git refuses such refs)");
    }
    if RESERVED_SEGMENTS.contains(&segment) {
        return Err(
            "a segment cannot be 'content.md', 'metadata.json' or 'labels.json' (the file names of a release directory)",
        );
    }
    if semver::Version::parse(segment.strip_prefix('v').unwrap_or(segment)).is_ok() {
        return Err(
            "a segment cannot be a version such as 1.0.0 (versions name the release directories)",
        );
    }
    Ok(())
}

/// Quote user input for an error message without letting control characters through.
pub(crate) fn printable(input: &str) -> String {
    input.escape_debug().to_string()
}

impl Name {
    /// Check `input` against the name rules: lowercase segments joined by `/`, none of them a
    /// version or a file name of the directory layout, at most 128 bytes.
    pub fn parse(input: &str) -> Result<Name, NameError> {
        if input.is_empty() {
            return Err(NameError::Empty);
        }
        if input.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong(printable(input)));
        }
        for segment in input.split('/') {
            check_segment(segment).map_err(|why| NameError::Invalid {
                name: printable(input),
                why,
            })?;
        }
        Ok(Name(input.to_owned()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this name lies under `prefix`, matching whole segments: `team` and `team/`
    /// match `team` and `team/a`, never `teammate/a`.
    pub fn is_under(&self, prefix: &NamePrefix) -> bool {
        let p = prefix.0.as_str();
        p.is_empty()
            || self.0 == p
            || (self.0.len() > p.len()
                && self.0.starts_with(p)
                && self.0.as_bytes()[p.len()] == b'/')
    }
}

/// A prefix of names that matches whole segments (`team/` matches `team/a`, never
/// `teammate/a`); the empty prefix matches every name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamePrefix(String);

impl NamePrefix {
    /// Every name.
    pub fn all() -> NamePrefix {
        NamePrefix(String::new())
    }

    /// Parse a prefix: a name, optionally with a trailing `/`; empty (or `/`) means every name.
    pub fn parse(input: &str) -> Result<NamePrefix, NameError> {
        let trimmed = input.strip_suffix('/').unwrap_or(input);
        if trimmed.is_empty() {
            return Ok(NamePrefix::all());
        }
        Name::parse(trimmed).map(|n| NamePrefix(n.0))
    }

    /// The prefix without a trailing `/` (empty for every name).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Name {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Name::parse(s)
    }
}

impl serde::Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Name::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Label {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Label {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Label::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A valid label name such as `production`: a lowercase letter, then `[a-z0-9-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label(String);

impl Label {
    /// Check `input` against the label rules (a lowercase letter, then `[a-z0-9-]`, at most
    /// 64 bytes); `latest` is reserved.
    pub fn parse(input: &str) -> Result<Label, NameError> {
        let invalid = |why| NameError::InvalidLabel {
            name: printable(input),
            why,
        };
        if input.is_empty() {
            return Err(invalid("a label cannot be empty"));
        }
        if input.len() > MAX_LABEL_LEN {
            return Err(invalid("a label is at most 64 bytes"));
        }
        if input == "latest" {
            return Err(invalid(
                "'latest' is reserved: it always means the highest release",
            ));
        }
        let bytes = input.as_bytes();
        if !bytes[0].is_ascii_lowercase() {
            return Err(invalid("a label starts with a lowercase letter"));
        }
        if !bytes.iter().all(|&b| is_alnum(b) || b == b'-') {
            return Err(invalid("a label holds only [a-z0-9-]"));
        }
        Ok(Label(input.to_owned()))
    }

    /// Whether `input` has the shape of a label (used to tell labels from versions in selectors).
    pub fn looks_like_label(input: &str) -> bool {
        input
            .as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_lowercase())
            && input.bytes().all(|b| is_alnum(b) || b == b'-')
    }

    /// The label as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_spec_examples() {
        for ok in [
            "reviewer",
            "team-a/code.reviewer",
            "a",
            "0",
            "a_b/c-d.e",
            "x/y/z",
        ] {
            assert!(Name::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_names() {
        for bad in [
            "",
            "A",
            "a/",
            "/a",
            "a//b",
            ".",
            "..",
            "a/../b",
            "a..b",
            "-a",
            "a-",
            "a b",
            "a@b",
            "a.lock",
            "a.lock/b",
            "é",
            "a\u{0}b",
            "a:b",
            "a~b",
            "a^b",
            "a\\b",
            "1.0.0",
            "a/1.2.3",
            "v1.0.0/a",
            "a/content.md",
            "metadata.json",
            "x/labels.json",
            "a/1.0.0-rc.1",
        ] {
            assert!(Name::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Name::parse(&"a".repeat(129)).is_err());
        assert!(Name::parse(&"a".repeat(128)).is_ok());
    }

    #[test]
    fn prefixes_match_whole_segments() {
        let team = NamePrefix::parse("team/").unwrap();
        assert!(Name::parse("team/a").unwrap().is_under(&team));
        assert!(Name::parse("team").unwrap().is_under(&team));
        assert!(!Name::parse("teammate/a").unwrap().is_under(&team));
        assert!(!Name::parse("tea").unwrap().is_under(&team));
        assert!(
            Name::parse("x")
                .unwrap()
                .is_under(&NamePrefix::parse("").unwrap())
        );
        assert!(NamePrefix::parse("Team").is_err());
    }

    #[test]
    fn labels() {
        assert!(Label::parse("production").is_ok());
        assert!(Label::parse("stage-2").is_ok());
        for bad in ["", "latest", "2x", "Prod", "a_b", "a.b"] {
            assert!(Label::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Label::parse(&"a".repeat(65)).is_err());
    }
}
