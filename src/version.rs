//! Release versions (SemVer 2.0.0 without build metadata) and selectors, the part of
//! `name@selector` that says which release to read (SPEC §2).

use std::fmt;

use crate::error::Error;
use crate::name::{Label, NameError, printable};

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

/// A release version: a SemVer version without build metadata.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(semver::Version);

impl Version {
    /// Parse a version; a leading `v` is dropped, build metadata is refused.
    pub fn parse(input: &str) -> Result<Version, VersionError> {
        let trimmed = input.strip_prefix('v').unwrap_or(input);
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

    /// The next version after `self` for a `--bump`.
    pub fn bump(&self, part: Bump) -> Version {
        let v = &self.0;
        Version(match part {
            // A pre-release of x.0.0 bumps to x.0.0 itself, as cargo-release and npm do.
            Bump::Major if !v.pre.is_empty() && v.minor == 0 && v.patch == 0 => {
                semver::Version::new(v.major, 0, 0)
            }
            Bump::Major => semver::Version::new(v.major + 1, 0, 0),
            Bump::Minor if !v.pre.is_empty() && v.patch == 0 => {
                semver::Version::new(v.major, v.minor, 0)
            }
            Bump::Minor => semver::Version::new(v.major, v.minor + 1, 0),
            Bump::Patch if !v.pre.is_empty() => semver::Version::new(v.major, v.minor, v.patch),
            Bump::Patch => semver::Version::new(v.major, v.minor, v.patch + 1),
        })
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

/// What follows `@` when reading a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The highest release that is not a pre-release (or the highest pre-release if only those exist).
    Latest,
    /// Exactly this release.
    Exact(Version),
    /// The release a label points to.
    Label(Label),
    /// The highest release matching a SemVer requirement.
    Req(semver::VersionReq),
}

impl Selector {
    /// Parse a selector: empty or `latest`, an exact version, a label, or a requirement.
    pub fn parse(input: &str) -> Result<Selector, VersionError> {
        let s = input.trim();
        if s.is_empty() || s == "latest" {
            return Ok(Selector::Latest);
        }
        let looks_exact = s
            .strip_prefix('v')
            .unwrap_or(s)
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit())
            && s.matches('.').count() >= 2;
        if looks_exact {
            // A full x.y.z must be a valid version (1.2.3 is exact, never ^1.2.3).
            return Version::parse(s).map(Selector::Exact).map_err(|e| match e {
                VersionError::Invalid(_, why) => VersionError::Selector(printable(input), why),
                other => other,
            });
        }
        if Label::looks_like_label(s) {
            return Label::parse(s)
                .map(Selector::Label)
                .map_err(|e: NameError| VersionError::Selector(printable(input), e.to_string()));
        }
        semver::VersionReq::parse(s)
            .map(Selector::Req)
            .map_err(|e| VersionError::Selector(printable(input), e.to_string()))
    }

    /// Split `name@selector` (the selector may be absent).
    pub fn split_spec(spec: &str) -> (&str, Option<&str>) {
        match spec.split_once('@') {
            Some((name, sel)) => (name, Some(sel)),
            None => (spec, None),
        }
    }

    /// Pick the release this selector means among `versions` (labels are resolved by the caller).
    pub fn pick<'a>(&self, versions: impl IntoIterator<Item = &'a Version>) -> Option<&'a Version> {
        match self {
            Selector::Latest => latest(versions),
            Selector::Exact(want) => versions.into_iter().find(|v| *v == want),
            Selector::Req(req) => versions.into_iter().filter(|v| req.matches(&v.0)).max(),
            Selector::Label(_) => None,
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Latest => f.write_str("latest"),
            Selector::Exact(v) => v.fmt(f),
            Selector::Label(l) => l.fmt(f),
            Selector::Req(r) => r.fmt(f),
        }
    }
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
    }

    #[test]
    fn selectors() {
        assert_eq!(Selector::parse("").unwrap(), Selector::Latest);
        assert_eq!(Selector::parse("latest").unwrap(), Selector::Latest);
        assert_eq!(
            Selector::parse("1.2.3").unwrap(),
            Selector::Exact(v("1.2.3"))
        );
        assert_eq!(
            Selector::parse("v1.2.3").unwrap(),
            Selector::Exact(v("1.2.3"))
        );
        assert!(matches!(
            Selector::parse("production").unwrap(),
            Selector::Label(_)
        ));
        assert!(matches!(Selector::parse("^1.2").unwrap(), Selector::Req(_)));
        assert!(matches!(
            Selector::parse(">=1.0.0, <2.0.0").unwrap(),
            Selector::Req(_)
        ));
        assert!(matches!(Selector::parse("1.*").unwrap(), Selector::Req(_)));
        for bad in ["1.2.3.4", "^^1", "Prod", "1.2.3+b", "@", "a_b"] {
            assert!(Selector::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn picking() {
        let all = [v("1.0.0"), v("1.9.0"), v("1.10.0"), v("2.0.0-rc.1")];
        assert_eq!(Selector::Latest.pick(&all), Some(&v("1.10.0")));
        assert_eq!(
            Selector::parse("^1.2").unwrap().pick(&all),
            Some(&v("1.10.0"))
        );
        assert_eq!(Selector::parse("^2").unwrap().pick(&all), None);
        assert_eq!(
            Selector::parse("^2.0.0-rc.0").unwrap().pick(&all),
            Some(&v("2.0.0-rc.1"))
        );
        let pre_only = [v("1.0.0-alpha"), v("1.0.0-beta")];
        assert_eq!(Selector::Latest.pick(&pre_only), Some(&v("1.0.0-beta")));
    }

    #[test]
    fn bumps() {
        assert_eq!(v("1.2.3").bump(Bump::Patch), v("1.2.4"));
        assert_eq!(v("1.2.3").bump(Bump::Minor), v("1.3.0"));
        assert_eq!(v("1.2.3").bump(Bump::Major), v("2.0.0"));
        assert_eq!(v("2.0.0-rc.1").bump(Bump::Major), v("2.0.0"));
    }
}
