//! What a request's path names: a file of the directory layout, a JSON API request, or
//! one of the server's own endpoints. Also the route templates the metrics count by,
//! which never contain a prompt's name.

use crate::error::{Error, Result};
use crate::name::Name;
use crate::store::layout::{
    CATALOG_FILE, CONTENT_FILE, INDEX_FILE, LABELS_FILE, META_FILE, STORE_FILE,
};
use crate::version::Version;

/// The JSON API's root.
pub(crate) const API_PROMPTS: &str = "/_api/v1/prompts";

/// The JSON API's search.
pub(crate) const API_SEARCH: &str = "/_api/v1/search";

/// A request of the JSON API about one prompt (the last segment of its path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApiRequest {
    /// `…/versions`: its releases.
    Versions,
    /// `…/resolve`: the release a selector means.
    Resolve,
    /// `…/history`: its label moves.
    History,
    /// `…/content`: the content of the release a selector means.
    Content,
}

/// What a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// `/_pulse.json`.
    StoreInfo,
    /// `/_catalog.json`.
    Catalog,
    /// `/<name>/_index.json`.
    Index(Name),
    /// `/<name>/labels.json`.
    Labels(Name),
    /// `/<name>/<version>/content.md`.
    Content(Name, Version),
    /// `/<name>/<version>/metadata.json`.
    Metadata(Name, Version),
    /// `/_api/v1/prompts`.
    ApiPrompts,
    /// `/_api/v1/search`.
    ApiSearch,
    /// `/_api/v1/prompts/<name>/<request>`.
    Api(Name, ApiRequest),
}

impl Target {
    /// The route template the metrics count this request by.
    pub(crate) fn route(&self) -> &'static str {
        match self {
            Target::StoreInfo => "/_pulse.json",
            Target::Catalog => "/_catalog.json",
            Target::Index(_) => "/{name}/_index.json",
            Target::Labels(_) => "/{name}/labels.json",
            Target::Content(..) => "/{name}/{version}/content.md",
            Target::Metadata(..) => "/{name}/{version}/metadata.json",
            Target::ApiPrompts => API_PROMPTS,
            Target::ApiSearch => API_SEARCH,
            Target::Api(_, ApiRequest::Versions) => "/_api/v1/prompts/{name}/versions",
            Target::Api(_, ApiRequest::Resolve) => "/_api/v1/prompts/{name}/resolve",
            Target::Api(_, ApiRequest::History) => "/_api/v1/prompts/{name}/history",
            Target::Api(_, ApiRequest::Content) => "/_api/v1/prompts/{name}/content",
        }
    }

    /// The prompt the request is about, if it names one.
    pub(crate) fn name(&self) -> Option<&Name> {
        match self {
            Target::StoreInfo | Target::Catalog | Target::ApiPrompts | Target::ApiSearch => None,
            Target::Index(n)
            | Target::Labels(n)
            | Target::Content(n, _)
            | Target::Metadata(n, _)
            | Target::Api(n, _) => Some(n),
        }
    }

    /// What the audit log names as the request's target: `name@version` or `name`.
    pub(crate) fn audit_target(&self) -> Option<String> {
        match self {
            Target::Content(n, v) | Target::Metadata(n, v) => Some(format!("{n}@{v}")),
            other => other.name().map(Name::to_string),
        }
    }
}

/// The route template of paths that name nothing.
pub(crate) const OTHER_ROUTE: &str = "other";

/// Why a path names nothing the registry serves.
#[derive(Debug)]
pub(crate) enum Unrouted {
    /// The path is not one of the protocol's (404).
    Unknown,
    /// The path is one of the protocol's, with a name or version that cannot be one (400).
    Invalid(Error),
}

/// What `path` (the request's path, without the query) names. The path is read
/// percent-decoded, as static file servers read it: a client may encode any byte of it,
/// a name's `/` too (`/team%2Freviewer/labels.json`, as code generated from the OpenAPI
/// document sends a name), and every name is checked once decoded.
pub(crate) fn parse(path: &str) -> std::result::Result<Target, Unrouted> {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let path: &str = &decoded;
    if path == API_PROMPTS || path == "/_api/v1/prompts/" {
        return Ok(Target::ApiPrompts);
    }
    if path == API_SEARCH {
        return Ok(Target::ApiSearch);
    }
    if let Some(rest) = path.strip_prefix("/_api/v1/prompts/") {
        let (name, request) = rest.rsplit_once('/').ok_or(Unrouted::Unknown)?;
        let request = match request {
            "versions" => ApiRequest::Versions,
            "resolve" => ApiRequest::Resolve,
            "history" => ApiRequest::History,
            "content" => ApiRequest::Content,
            _ => return Err(Unrouted::Unknown),
        };
        return Ok(Target::Api(name_of(name)?, request));
    }
    let rest = path.strip_prefix('/').ok_or(Unrouted::Unknown)?;
    match rest {
        STORE_FILE => return Ok(Target::StoreInfo),
        CATALOG_FILE => return Ok(Target::Catalog),
        _ => {}
    }
    let (dir, file) = rest.rsplit_once('/').ok_or(Unrouted::Unknown)?;
    match file {
        INDEX_FILE => Ok(Target::Index(name_of(dir)?)),
        LABELS_FILE => Ok(Target::Labels(name_of(dir)?)),
        CONTENT_FILE | META_FILE => {
            let (name, version) = dir.rsplit_once('/').ok_or(Unrouted::Unknown)?;
            let (name, version) = (name_of(name)?, version_of(version)?);
            Ok(if file == CONTENT_FILE {
                Target::Content(name, version)
            } else {
                Target::Metadata(name, version)
            })
        }
        _ => Err(Unrouted::Unknown),
    }
}

pub(crate) fn name_of(segments: &str) -> std::result::Result<Name, Unrouted> {
    // A segment of pulse's own (`_api`, `_index.json`) is never part of a name.
    if segments.split('/').any(|s| s.starts_with('_')) {
        return Err(Unrouted::Unknown);
    }
    Name::parse(segments).map_err(|e| Unrouted::Invalid(e.into()))
}

pub(crate) fn version_of(segment: &str) -> std::result::Result<Version, Unrouted> {
    let version = Version::parse(segment).map_err(|e| Unrouted::Invalid(e.into()))?;
    if version.to_string() != segment {
        return Err(Unrouted::Invalid(version_form(segment, &version)));
    }
    Ok(version)
}

fn version_form(segment: &str, version: &Version) -> Error {
    Error::usage(format!(
        "'{}' is not written as a release directory is: '{version}'",
        crate::name::printable(segment)
    ))
    .with_hint(format!("write the version as {version}"))
}

/// The query parameter `key` of `query`, decoded (`+` is a space, `%XX` a byte); the
/// last one wins. A value that is not UTF-8 once decoded is refused.
pub(crate) fn query_param(query: Option<&str>, key: &str) -> Result<Option<String>> {
    let mut found = None;
    for pair in query.unwrap_or_default().split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k != key {
            continue;
        }
        let spaced = v.replace('+', " ");
        let decoded = percent_encoding::percent_decode_str(&spaced)
            .decode_utf8()
            .map_err(|_| {
                Error::usage(format!(
                    "the query parameter '{key}' is not UTF-8 once percent-decoded"
                ))
                .with_hint("percent-encode the value's UTF-8 bytes")
            })?;
        found = Some(decoded.into_owned());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(path: &str) -> Target {
        parse(path).unwrap_or_else(|e| panic!("{path}: {e:?}"))
    }

    #[test]
    fn paths_name_what_the_protocol_says() {
        let n = |s: &str| Name::parse(s).unwrap();
        let v = |s: &str| Version::parse(s).unwrap();
        assert_eq!(ok("/_pulse.json"), Target::StoreInfo);
        assert_eq!(ok("/_catalog.json"), Target::Catalog);
        assert_eq!(ok("/team/a/_index.json"), Target::Index(n("team/a")));
        assert_eq!(ok("/a/labels.json"), Target::Labels(n("a")));
        assert_eq!(
            ok("/team/a/1.2.0/content.md"),
            Target::Content(n("team/a"), v("1.2.0"))
        );
        assert_eq!(
            ok("/a/1.0.0-rc.1/metadata.json"),
            Target::Metadata(n("a"), v("1.0.0-rc.1"))
        );
        assert_eq!(ok("/_api/v1/prompts"), Target::ApiPrompts);
        assert_eq!(ok("/_api/v1/search"), Target::ApiSearch);
        assert_eq!(
            ok("/_api/v1/prompts/team/versions/versions"),
            Target::Api(n("team/versions"), ApiRequest::Versions)
        );
        assert_eq!(
            ok("/_api/v1/prompts/a/content"),
            Target::Api(n("a"), ApiRequest::Content)
        );
        // Percent-encoded, a name's `/` too: the path is read decoded.
        assert_eq!(ok("/a%2Fb/labels.json"), Target::Labels(n("a/b")));
        assert_eq!(ok("/a%2fb/_index.json"), Target::Index(n("a/b")));
        assert_eq!(
            ok("/team%2Fa/1%2E2.0/content.md"),
            Target::Content(n("team/a"), v("1.2.0"))
        );
        assert_eq!(
            ok("/_api/v1/prompts/team%2Fversions/versions"),
            Target::Api(n("team/versions"), ApiRequest::Versions)
        );
        assert_eq!(ok("/%5Fpulse.json"), Target::StoreInfo);
        for unknown in [
            "/",
            "/a",
            "/a/",
            "/a/1.0.0",
            "/a/1.0.0/other.md",
            "/content.md",
            "/_api/v1/prompts/a/nope",
            "/_api/v1/prompts/a",
            "/_x/labels.json",
            "/a/_api/labels.json",
            "/_index.json",
            "/healthz/x",
            "/a%2F_x/labels.json",
            "/%5Fx/labels.json",
        ] {
            assert!(
                matches!(parse(unknown), Err(Unrouted::Unknown)),
                "{unknown}"
            );
        }
        for invalid in [
            "/A/labels.json",
            "/a//labels.json",
            "/a/v1.0.0/content.md",
            "/a/01.0.0/content.md",
            "/a/x/content.md",
            "/a%2F/labels.json",
            "/%41/labels.json",
            "/a%2F%2E%2E/labels.json",
            "/a%ff/labels.json",
            "/a%00/labels.json",
        ] {
            assert!(
                matches!(parse(invalid), Err(Unrouted::Invalid(_))),
                "{invalid}"
            );
        }
    }

    #[test]
    fn query_parameters_are_decoded() {
        let q = Some("selector=%3E%3D1.0.0,+%3C2.0.0&x=1&label=prod");
        assert_eq!(
            query_param(q, "selector").unwrap().as_deref(),
            Some(">=1.0.0, <2.0.0")
        );
        assert_eq!(query_param(q, "label").unwrap().as_deref(), Some("prod"));
        assert_eq!(query_param(q, "none").unwrap(), None);
        assert_eq!(query_param(None, "x").unwrap(), None);
        assert!(query_param(Some("x=%ff"), "x").is_err());
    }
}
