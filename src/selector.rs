//! Selectors: what follows `@` when a prompt is read (`reviewer@^1.2`). An exact
//! version, `latest`, a label, or a SemVer requirement.

use std::fmt;

use crate::name::{Label, NameError, printable};
use crate::version::{Version, VersionError, latest};

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
            Selector::Req(req) => versions
                .into_iter()
                .filter(|v| req.matches(v.semver()))
                .max(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
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
}
