//! Prompt names and label names: validation, and the paths and ref names derived from them.

use std::fmt;

use crate::error::Error;

/// The longest prompt name, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// The longest label name, in bytes.
pub const MAX_LABEL_LEN: usize = 64;

/// Why a string is not a valid prompt or label name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("a name cannot be empty")]
    Empty,
    /// The name is longer than allowed.
    #[error("'{0}' is longer than {1} bytes")]
    TooLong(String, usize),
    /// The name breaks the character rules.
    #[error("'{name}' is not a valid prompt name: {why}")]
    Invalid {
        /// The rejected input, printed safely.
        name: String,
        /// Which rule it breaks.
        why: &'static str,
    },
    /// The label name breaks the label rules.
    #[error("'{name}' is not a valid label: {why}")]
    InvalidLabel {
        /// The rejected input, printed safely.
        name: String,
        /// Which rule it breaks.
        why: &'static str,
    },
}

impl From<NameError> for Error {
    fn from(e: NameError) -> Self {
        let hint = match e {
            NameError::InvalidLabel { .. } => {
                "labels are a lowercase letter then [a-z0-9-], at most 64 bytes; 'latest' is reserved"
            }
            _ => {
                "names are lowercase segments of [a-z0-9] joined by '.', '_' or '-', separated by '/', at most 128 bytes"
            }
        };
        Error::usage(e.to_string()).with_hint(hint)
    }
}

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
    Ok(())
}

/// Quote user input for an error message without letting control characters through.
pub(crate) fn printable(input: &str) -> String {
    input.escape_debug().to_string()
}

impl Name {
    /// Check `input` against the name rules of SPEC §1.
    pub fn parse(input: &str) -> Result<Name, NameError> {
        if input.is_empty() {
            return Err(NameError::Empty);
        }
        if input.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong(printable(input), MAX_NAME_LEN));
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

    /// The path of the prompt's content inside a commit's tree.
    pub fn content_path(&self) -> String {
        format!("{}/{}.md", crate::layout::PROMPTS_DIR, self.0)
    }

    /// The path of the prompt's metadata sidecar inside a commit's tree.
    pub fn sidecar_path(&self) -> String {
        format!("{}/{}.yaml", crate::layout::PROMPTS_DIR, self.0)
    }

    /// The tag name (without `refs/tags/`) of one release.
    pub fn tag_name(&self, version: &crate::Version) -> String {
        format!("{}@{}", self.0, version)
    }

    /// The ref prefix under which all releases of this prompt live.
    pub fn tag_prefix(&self) -> String {
        format!("refs/tags/{}@", self.0)
    }

    /// Whether this name is `prefix` itself or lies below it (`team` matches `team/a`);
    /// a prefix that is not a whole segment matches by string prefix (`rev` matches `reviewer`).
    pub fn matches_prefix(&self, prefix: &str) -> bool {
        self.0.starts_with(prefix.trim_end_matches('/'))
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

/// A valid label name such as `production`: a lowercase letter, then `[a-z0-9-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label(String);

impl Label {
    /// Check `input` against the label rules of SPEC §1; `latest` is reserved.
    pub fn parse(input: &str) -> Result<Label, NameError> {
        let invalid = |why| NameError::InvalidLabel {
            name: printable(input),
            why,
        };
        if input.is_empty() {
            return Err(NameError::Empty);
        }
        if input.len() > MAX_LABEL_LEN {
            return Err(NameError::TooLong(printable(input), MAX_LABEL_LEN));
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
            "", "A", "a/", "/a", "a//b", ".", "..", "a/../b", "a..b", "-a", "a-", "a b", "a@b",
            "a.lock", "a.lock/b", "é", "a\u{0}b", "a:b", "a~b", "a^b", "a\\b",
        ] {
            assert!(Name::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Name::parse(&"a".repeat(129)).is_err());
        assert!(Name::parse(&"a".repeat(128)).is_ok());
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
