//! Answers: files with their validators and caching rules, and errors with their JSON
//! body, each in one place so every route answers the same way.

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use serde::Serialize;

use crate::digest::Digest;
use crate::error::{Error, Hint, Kind};

/// An answer.
pub(crate) type Reply = Response<Body>;

/// `Cache-Control` of what never changes: a release's files.
pub(crate) const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of what may change: labels, indexes, listings, selectors.
pub(crate) const NO_CACHE: &str = "no-cache";
/// The content type of a release's content.
pub(crate) const MARKDOWN: &str = "text/markdown; charset=utf-8";
/// The content type of a release's content kept encrypted with age (answered with
/// `Pulse-Encryption: age`).
pub(crate) const SEALED: &str = "application/octet-stream";
/// The content type of every JSON answer.
pub(crate) const JSON: &str = "application/json";

/// A strong entity tag for bytes whose SHA-256 is `digest`: `"<hex>"`.
pub(crate) fn etag_of(digest: &Digest) -> String {
    format!("\"{}\"", digest.hex())
}

/// A body with what describes it: its type, its entity tag and how long it may be kept.
#[derive(Debug, Clone)]
pub(crate) struct File {
    /// The bytes (empty when only the file's description was read, for `HEAD`).
    pub(crate) body: Bytes,
    /// The file's length (`Content-Length` of a `HEAD`).
    pub(crate) size: u64,
    /// `ETag`, quoted.
    pub(crate) etag: String,
    /// `Content-Type`.
    pub(crate) content_type: &'static str,
    /// `Cache-Control`.
    pub(crate) cache: &'static str,
}

impl File {
    /// A JSON answer (no-cache unless said otherwise), tagged with the SHA-256 of its body.
    pub(crate) fn json(body: Bytes) -> File {
        File {
            etag: etag_of(&Digest::of(&body)),
            size: body.len() as u64,
            body,
            content_type: JSON,
            cache: NO_CACHE,
        }
    }

    /// The same file, kept for as long as a cache likes (a release's file).
    pub(crate) fn immutable(mut self) -> File {
        self.cache = IMMUTABLE;
        self
    }
}

/// Which tags an `If-None-Match` or `If-Match` header lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Condition {
    /// The header is not there.
    Absent,
    /// `*`: any current representation.
    Any,
    /// These entity tags (quoted, as sent; weak ones keep their `W/`).
    Tags(Vec<String>),
}

impl Condition {
    /// The condition in `headers` under `name`; several headers of that name add up.
    pub(crate) fn of(headers: &HeaderMap, name: header::HeaderName) -> Condition {
        let mut tags = Vec::new();
        let mut any = false;
        let mut seen = false;
        for value in headers.get_all(name) {
            seen = true;
            let Ok(text) = value.to_str() else { continue };
            for tag in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                if tag == "*" {
                    any = true;
                } else {
                    tags.push(tag.to_owned());
                }
            }
        }
        match (seen, any) {
            (false, _) => Condition::Absent,
            (true, true) => Condition::Any,
            (true, false) => Condition::Tags(tags),
        }
    }

    /// Whether `etag` (quoted, strong) is listed, comparing weakly (`W/"x"` matches
    /// `"x"`): how `If-None-Match` compares.
    pub(crate) fn matches_weakly(&self, etag: &str) -> bool {
        match self {
            Condition::Absent => false,
            Condition::Any => true,
            Condition::Tags(tags) => tags
                .iter()
                .any(|t| t.strip_prefix("W/").unwrap_or(t) == etag),
        }
    }

    /// Whether `etag` is listed as a strong tag: how `If-Match` compares.
    pub(crate) fn matches_strongly(&self, etag: &str) -> bool {
        match self {
            Condition::Absent => false,
            Condition::Any => true,
            Condition::Tags(tags) => tags.iter().any(|t| t == etag),
        }
    }
}

/// Answer a `GET` or `HEAD` of `file`: `304` when `If-None-Match` lists its tag, else the
/// file (without its body for `HEAD`).
pub(crate) fn file(file: File, head: bool, request: &HeaderMap) -> Reply {
    file_with(file, head, request, &[])
}

/// As [`file`], with more headers.
pub(crate) fn file_with(
    file: File,
    head: bool,
    request: &HeaderMap,
    extra: &[(&'static str, String)],
) -> Reply {
    let mut reply = if Condition::of(request, header::IF_NONE_MATCH).matches_weakly(&file.etag) {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else if head {
        let mut r = Response::new(Body::empty());
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(file.content_type),
        );
        r
    } else {
        let mut r = Response::new(Body::from(file.body));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(file.content_type),
        );
        r
    };
    let headers = reply.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&file.etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(file.cache));
    if file.content_type == SEALED {
        headers.insert(
            "pulse-encryption",
            HeaderValue::from_static(crate::crypt::AGE),
        );
    }
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(*name, value);
        }
    }
    reply
}

/// An answer with `status` and `file` as its body (a write's outcome).
pub(crate) fn written(status: StatusCode, file: File) -> Reply {
    let mut reply = Response::new(Body::from(file.body));
    *reply.status_mut() = status;
    let headers = reply.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    if let Ok(etag) = HeaderValue::from_str(&file.etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_CACHE));
    reply
}

/// An answer with no body.
pub(crate) fn empty(status: StatusCode) -> Reply {
    let mut reply = Response::new(Body::empty());
    *reply.status_mut() = status;
    reply
}

/// A plain-text answer (`/healthz`, `/metrics`).
pub(crate) fn text(body: String, content_type: &'static str, head: bool) -> Reply {
    let length = body.len();
    let mut reply = Response::new(if head {
        Body::empty()
    } else {
        Body::from(body)
    });
    let headers = reply.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_CACHE));
    if head {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    reply
}

/// The body of every error answer: `{"error": {"kind": …, "message": …, "hints": […]}}`.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody<'a> {
    error: ErrorFields<'a>,
}

/// What failed, and what to do next.
#[derive(Serialize, utoipa::ToSchema)]
struct ErrorFields<'a> {
    /// The kind of failure, as the command line's exit codes name them.
    #[schema(schema_with = kind_schema)]
    kind: &'static str,
    /// What failed, on what: the name, version, path or header.
    message: &'a str,
    /// What to do next, in terms of the registry's requests.
    hints: Vec<String>,
}

/// Every kind of failure, in the order of the command line's exit codes.
pub(crate) const KINDS: [Kind; 6] = [
    Kind::Other,
    Kind::Usage,
    Kind::NotFound,
    Kind::Conflict,
    Kind::Integrity,
    Kind::Unavailable,
];

/// The words an error body's `kind` may be.
fn kind_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(KINDS.map(kind_word)))
        .build()
}

/// The word for a kind of failure in an error body, as the exit codes name them.
pub(crate) fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Usage => "usage",
        Kind::NotFound => "not_found",
        Kind::Conflict => "conflict",
        Kind::Integrity => "integrity",
        Kind::Unavailable => "unavailable",
        Kind::Other => "other",
    }
}

/// The status an error of `kind` is answered with.
pub(crate) fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::Usage => StatusCode::BAD_REQUEST,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Integrity | Kind::Other => StatusCode::INTERNAL_SERVER_ERROR,
        Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// How a hint reads in an answer of the registry: in terms of its requests.
pub(crate) fn hint_text(hint: &Hint) -> String {
    match hint {
        Hint::Text(t) => t.clone(),
        Hint::ListVersions { name } => {
            format!("GET /_api/v1/prompts/{name}/versions lists its releases")
        }
        Hint::ListLabels { name } => format!("GET /{name}/labels.json shows its labels"),
        Hint::ListPrompts => "GET /_catalog.json lists the prompts".to_owned(),
        Hint::MoveLabel { name, label } => format!(
            "move or remove the label '{label}' first (PUT /{name}/labels.json without it)"
        ),
        Hint::Init { .. } | Hint::FindRepository => {
            "the registry's store is not a prompt repository; its operator should check the store it serves".to_owned()
        }
        Hint::Verify { .. } => {
            "the registry's store holds a broken release; its operator should verify the store".to_owned()
        }
        Hint::Pull { .. } => "bring in the other changes first, then retry".to_owned(),
        Hint::NewVersion | Hint::AllowOlder => {
            "a release is immutable: upload it under a new version".to_owned()
        }
        Hint::ForceDelete { .. } => "the store refuses to delete this release".to_owned(),
        Hint::ReleaseFile { .. } => "upload the content as a release".to_owned(),
        Hint::GiveVariables { names } => format!("give a value to {}", names.join(", ")),
        Hint::MajorVersion { version } => {
            format!("upload it under a new major version ({version} or higher)")
        }
    }
}

/// An error answer with `status`, in the error body's form.
pub(crate) fn error_with(
    status: StatusCode,
    kind: Kind,
    message: &str,
    hints: Vec<String>,
) -> Reply {
    let body = ErrorBody {
        error: ErrorFields {
            kind: kind_word(kind),
            message,
            hints,
        },
    };
    let bytes =
        crate::store::layout::to_json(&body).unwrap_or_else(|_| Bytes::from_static(b"{}\n"));
    let mut reply = Response::new(Body::from(bytes));
    *reply.status_mut() = status;
    let headers = reply.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_CACHE));
    reply
}

/// The answer for a library error: its kind's status, message and hints.
pub(crate) fn error(e: &Error) -> Reply {
    error_status(status_of(e.kind()), e)
}

/// The answer for a library error, with another status than its kind's.
pub(crate) fn error_status(status: StatusCode, e: &Error) -> Reply {
    error_with(
        status,
        e.kind(),
        e.message(),
        e.hints().iter().map(hint_text).collect(),
    )
}
