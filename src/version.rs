//! Release versions: SemVer 2.0.0 without build metadata, ordered by precedence.

use std::fmt;

use crate::error::Error;
use crate::name::printable;

/// Why a string is not a valid version or selector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// Not a SemVer version.
    #[error("'{0}' is not a valid version: {1}")]
    Invalid(String, String),
    /// SemVer build metadata is not allowed in a release version.
    #[error("'{0}' carries build metadata ('+…'), which a release version cannot have")]
    BuildMetadata(String),
    /// Not a version, label, `latest` or requirement.
    #[error("'{0}' is not a valid selector: {1}")]
    Selector(String, String),
    /// A `--bump` past the largest version number there is.
    #[error("cannot bump '{0}': the next version would overflow")]
    Overflow(String),
}

impl From<VersionError> for Error {
    fn from(e: VersionError) -> Self {
        let hint = match e {
            VersionError::Selector(..) => {
                "a selector is an exact version (1.2.3), 'latest', a label (production) or a requirement (^1.2, ~1.2.0, >=1.0.0, <2.0.0)"
            }
            _ => {
                "versions are SemVer: MAJOR.MINOR.PATCH with an optional -prerelease, e.g. 1.2.0 or 2.0.0-rc.1"
            }
        };
        Error::usage(e.to_string()).with_hint(hint)
    }
}

/// The longest version, in bytes. A version is a path segment and, after a name's last
/// segment and `@`, the last component of a release tag's ref: with the longest name
/// segment it still fits the 255 bytes a file name may have.
pub const MAX_VERSION_LEN: usize = 100;

// The longest name segment, `@`, the longest version and `.lock` make a file name that a
// file system takes.
const _: () = assert!(crate::name::MAX_NAME_LEN + 1 + MAX_VERSION_LEN + ".lock".len() <= 255);

/// A release version: a SemVer version without build metadata.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(semver::Version);

impl Version {
    /// Parse a version; a leading `v` is dropped, build metadata is refused.
    pub fn parse(input: &str) -> Result<Version, VersionError> {
        if input.len() > MAX_VERSION_LEN {
            return Err(VersionError::Invalid(
                printable(input),
                format!("a version is at most {MAX_VERSION_LEN} bytes"),
            ));
        }
        let trimmed = input.strip_prefix('v').unwrap_or(input);
        // Most versions are a plain MAJOR.MINOR.PATCH: read those without the full parser
        // (listing thousands of releases parses thousands of versions).
        if let Some(v) = parse_plain(trimmed) {
            return Ok(Version(v));
        }
        let v = semver::Version::parse(trimmed)
            .map_err(|e| VersionError::Invalid(printable(input), e.to_string()))?;
        if !v.build.is_empty() {
            return Err(VersionError::BuildMetadata(printable(input)));
        }
        Ok(Version(v))
    }

    /// The underlying SemVer version.
    pub fn semver(&self) -> &semver::Version {
        &self.0
    }

    /// Whether this is a pre-release (`2.0.0-rc.1`).
    pub fn is_prerelease(&self) -> bool {
        !self.0.pre.is_empty()
    }

    /// The next version after `self` for a `--bump`; `None` past the largest number.
    pub fn bump(&self, part: Bump) -> Result<Version, VersionError> {
        let v = &self.0;
        let overflow = || VersionError::Overflow(self.to_string());
        let next = |n: u64| n.checked_add(1).ok_or_else(overflow);
        Ok(Version(match part {
            // A pre-release of x.0.0 bumps to x.0.0 itself, as cargo-release and npm do.
            Bump::Major if !v.pre.is_empty() && v.minor == 0 && v.patch == 0 => {
                semver::Version::new(v.major, 0, 0)
            }
            Bump::Major => semver::Version::new(next(v.major)?, 0, 0),
            Bump::Minor if !v.pre.is_empty() && v.patch == 0 => {
                semver::Version::new(v.major, v.minor, 0)
            }
            Bump::Minor => semver::Version::new(v.major, next(v.minor)?, 0),
            Bump::Patch if !v.pre.is_empty() => semver::Version::new(v.major, v.minor, v.patch),
            Bump::Patch => semver::Version::new(v.major, v.minor, next(v.patch)?),
        }))
    }

    /// The first version a `--bump` makes for a prompt that has no release yet.
    pub fn first(part: Bump) -> Version {
        Version(match part {
            Bump::Major => semver::Version::new(1, 0, 0),
            Bump::Minor => semver::Version::new(0, 1, 0),
            Bump::Patch => semver::Version::new(0, 0, 1),
        })
    }
}

/// `MAJOR.MINOR.PATCH` of decimal numbers without leading zeros, or `None` for anything
/// else (which the full SemVer parser then judges).
fn parse_plain(s: &str) -> Option<semver::Version> {
    let mut numbers = [0u64; 3];
    let mut rest = s.as_bytes();
    for (i, slot) in numbers.iter_mut().enumerate() {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || (digits > 1 && rest[0] == b'0') {
            return None;
        }
        for &d in &rest[..digits] {
            *slot = slot.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        }
        rest = &rest[digits..];
        match (i, rest.split_first()) {
            (2, None) => {}
            (0 | 1, Some((b'.', tail))) => rest = tail,
            _ => return None,
        }
    }
    Some(semver::Version::new(numbers[0], numbers[1], numbers[2]))
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Version::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Which part of the version a `--bump` raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bump {
    /// `x+1.0.0`
    Major,
    /// `x.y+1.0`
    Minor,
    /// `x.y.z+1`
    Patch,
}

/// The highest release that is not a pre-release; if there are only pre-releases, the highest of those.
pub fn latest<'a>(versions: impl IntoIterator<Item = &'a Version>) -> Option<&'a Version> {
    let mut best: Option<&Version> = None;
    let mut best_pre: Option<&Version> = None;
    for v in versions {
        let slot = if v.is_prerelease() {
            &mut best_pre
        } else {
            &mut best
        };
        if slot.is_none_or(|b| v > b) {
            *slot = Some(v);
        }
    }
    best.or(best_pre)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn versions_order_by_precedence() {
        assert!(v("1.10.0") > v("1.9.0"));
        assert!(v("2.0.0-rc.1") < v("2.0.0"));
        assert_eq!(v("v1.2.3"), v("1.2.3"));
        assert!(Version::parse("1.2.3+build").is_err());
        assert!(Version::parse("1.2").is_err());
        assert!(Version::parse("01.2.3").is_err());
        // The plain fast path and the full parser agree.
        for s in [
            "0.0.0",
            "1.2.3",
            "10.20.30",
            "1.2.03",
            "1.2",
            "1.2.3.4",
            "1..3",
            "+1.2.3",
            "1.2.3-rc.1",
            "18446744073709551615.0.0",
            "18446744073709551616.0.0",
            "1.2.3 ",
        ] {
            assert_eq!(
                parse_plain(s),
                semver::Version::parse(s)
                    .ok()
                    .filter(|v| v.pre.is_empty() && v.build.is_empty()),
                "{s}"
            );
        }
    }

    #[test]
    fn versions_are_bounded() {
        let longest = format!("1.0.0-{}", "a".repeat(MAX_VERSION_LEN - 6));
        assert_eq!(v(&longest).to_string(), longest);
        let e = Version::parse(&format!("{longest}a")).unwrap_err();
        assert!(e.to_string().contains("at most 100 bytes"), "{e}");
    }

    #[test]
    fn bumps() {
        assert_eq!(v("1.2.3").bump(Bump::Patch).unwrap(), v("1.2.4"));
        assert_eq!(v("1.2.3").bump(Bump::Minor).unwrap(), v("1.3.0"));
        assert_eq!(v("1.2.3").bump(Bump::Major).unwrap(), v("2.0.0"));
        assert_eq!(v("2.0.0-rc.1").bump(Bump::Major).unwrap(), v("2.0.0"));
        let max = u64::MAX;
        assert!(v(&format!("{max}.0.0")).bump(Bump::Major).is_err());
        assert!(v(&format!("1.{max}.0")).bump(Bump::Minor).is_err());
        assert!(v(&format!("1.2.{max}")).bump(Bump::Patch).is_err());
    }
}
