//! The registry's OpenAPI document, served at `GET /openapi.json`: every route of the
//! protocol that `docs/registry.md` describes, with its parameters, answers, headers and
//! the token scope it needs, and the shapes of the JSON bodies, derived
//! (`utoipa::ToSchema`) from the types the server reads and writes. The tests compare the
//! routes here with those the router answers, both ways, so neither changes alone.

use std::borrow::Cow;
use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::Value;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::{RequestBody, RequestBodyBuilder};
use utoipa::openapi::response::{Response, ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref,
    RefOr, Required, Schema, Type,
};
use utoipa::{PartialSchema, ToSchema};

use super::handlers::{ReleaseHeader, Route, Uploaded};
use super::reply::{self, ErrorBody, File, IMMUTABLE, NO_CACHE, Reply};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::meta::{LabelMove, ReleaseMeta};
use crate::name::{Label, MAX_LABEL_LEN, MAX_NAME_LEN, Name};
use crate::report::ReleaseReport;
use crate::search::{MAX_PATTERN_BYTES, SearchReport};
use crate::store::PromptSummary;
use crate::store::layout::{Catalog, PromptIndex, ReleaseFile, StoreInfo};
use crate::version::{MAX_VERSION_LEN, Version};

/// Where the document is served.
pub(crate) const PATH: &str = "/openapi.json";

/// The name of the bearer token scheme in the document.
const TOKEN: &str = "token";

/// One segment of a prompt's name, as a regular expression: never a version, a file name
/// of a release directory, or one that ends in `.lock`.
const SEGMENT: &str = concat!(
    r"(?!v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9a-z.-]+)?(/|$))",
    r"(?!(content\.md|metadata\.json|labels\.json)(/|$))",
    r"(?![^/]*\.lock(/|$))",
    r"[a-z0-9]+([._-][a-z0-9]+)*",
);

/// A SemVer requirement written with operators: comma-separated comparators.
const REQUIREMENT_PATTERN: &str = concat!(
    r"^(\^|~|>=|<=|>|<|=) ?(0|[1-9][0-9]{0,18})(\.(0|[1-9][0-9]{0,18})(\.(0|[1-9][0-9]{0,18}))?)?",
    r"(, ?(\^|~|>=|<=|>|<|=) ?(0|[1-9][0-9]{0,18})(\.(0|[1-9][0-9]{0,18})(\.(0|[1-9][0-9]{0,18}))?)?){0,3}$",
);

/// A release version as its release directory writes it: SemVer without build metadata,
/// each number at most 19 digits (they are 64-bit).
const VERSION_PATTERN: &str = r"^(0|[1-9][0-9]{0,18})\.(0|[1-9][0-9]{0,18})\.(0|[1-9][0-9]{0,18})(-(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?$";

/// A label's name.
const LABEL_PATTERN: &str = "^(?!latest$)[a-z][a-z0-9-]*$";

/// A content checksum.
const DIGEST_PATTERN: &str = "^sha256:[0-9a-f]{64}$";

/// An entity tag as the registry writes it: the SHA-256 of the body, quoted.
const ETAG_PATTERN: &str = "^\"[0-9a-f]{64}\"$";

/// `GET` and `HEAD /openapi.json`: the document, with its `ETag`; no token needed.
pub(crate) async fn answer(method: Method, headers: HeaderMap) -> Reply {
    let mut reply = match json() {
        Ok(bytes) => reply::file(File::json(bytes), method == Method::HEAD, &headers),
        Err(e) => reply::error(&e),
    };
    reply.extensions_mut().insert(Route(PATH));
    reply
}

/// The document as the registry serves it: JSON, built once.
fn json() -> Result<Bytes> {
    static DOCUMENT: OnceLock<Bytes> = OnceLock::new();
    if let Some(bytes) = DOCUMENT.get() {
        return Ok(bytes.clone());
    }
    let bytes = crate::store::layout::to_json(&document()?)?;
    Ok(DOCUMENT.get_or_init(|| bytes).clone())
}

/// The document, as a JSON value.
pub(crate) fn document() -> Result<Value> {
    let mut value = serde_json::to_value(openapi())
        .map_err(|e| Error::other(format!("cannot write the OpenAPI document: {e}")))?;
    require_headers(&mut value);
    Ok(value)
}

/// The response headers sent only with some answers (`Pulse-Encryption`: only for content
/// kept encrypted).
const SOMETIMES_SENT: &[&str] = &["Pulse-Encryption"];

/// Every response header this document names is sent with every answer it is named for
/// (but those of [`SOMETIMES_SENT`]),
/// which OpenAPI says with `required: true`; utoipa's header object has no such field, so
/// it is set here on the serialized document.
fn require_headers(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let responses = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(Value::as_object_mut))
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let headers = response.get_mut("headers").and_then(Value::as_object_mut);
        for (name, header) in headers.into_iter().flat_map(|h| h.iter_mut()) {
            if let Some(header) = header.as_object_mut() {
                let sent_always = !SOMETIMES_SENT.contains(&name.as_str());
                header.insert("required".to_owned(), Value::Bool(sent_always));
            }
        }
    }
}

/// What the document says of the whole protocol.
const DESCRIPTION: &str = "\
The HTTP protocol of `pulse serve`, a registry of released LLM prompts (version 1 of the \
protocol). The reads are the files of pulse's directory layout, byte for byte, so a static \
file server over an exported directory answers them too; the registry also answers a JSON \
API in the shapes `pulse ... --format json` prints, and takes create-only release uploads, \
label moves and metadata changes by compare-and-swap (`If-Match`), and deletes.

Prompt names are lowercase segments joined by `/` (`team/reviewer`). A path template here \
has one `{name}` parameter for the whole name: its `/` may be sent as it is \
(`/team/reviewer/labels.json`) or percent-encoded as `%2F` (`/team%2Freviewer/labels.json`, \
as code generated from this document sends it); both are the same request. The registry \
percent-decodes a path before it reads it, as static file servers do.

Every request that names a prompt needs a bearer token (`Authorization: Bearer \
pulse_<id>_<secret>`, made by `pulse token add`) whose scope and name prefixes cover it, \
unless the registry was started with `--allow-anonymous-read` (then reads need none). \
`/healthz`, `/metrics` and this document need no token. Errors answer \
`{\"error\": {\"kind\", \"message\", \"hints\"}}`.

The registry's web view for people, under `/_ui/`, answers HTML and is not described here.";

/// What the document says of tokens and scopes.
const TOKEN_DESCRIPTION: &str = "\
A token made by `pulse token add`, sent as `Authorization: Bearer pulse_<id>_<secret>`. It \
has one scope and one or more name prefixes (whole segments: `team` covers `team` and \
`team/a`, never `teammate`): `read` reads the prompts under its prefixes; `write` also \
uploads releases, moves labels and changes a prompt's description and keywords; `admin` \
also deletes releases. The scope each operation needs is listed in its security \
requirement. No token, or one that is unknown, malformed or revoked, is `401`; one whose \
scope or prefixes do not cover the request is `403`.";

/// The document: the routes, and the schemas and access they use.
fn openapi() -> OpenApi {
    let mut schemas = Vec::new();
    collect::<StoreInfo>(&mut schemas);
    collect::<Catalog>(&mut schemas);
    collect::<PromptIndex>(&mut schemas);
    collect::<ReleaseFile>(&mut schemas);
    collect::<PromptSummary>(&mut schemas);
    collect::<ReleaseReport>(&mut schemas);
    collect::<ReleaseMeta>(&mut schemas);
    collect::<LabelMove>(&mut schemas);
    collect::<SearchReport>(&mut schemas);
    collect::<Uploaded>(&mut schemas);
    collect::<ReleaseHeader>(&mut schemas);
    collect::<ErrorBody<'static>>(&mut schemas);
    collect::<Labels>(&mut schemas);
    collect::<Name>(&mut schemas);
    collect::<Version>(&mut schemas);
    collect::<Label>(&mut schemas);
    collect::<Digest>(&mut schemas);
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pulse_<id>_<secret>")
                    .description(Some(TOKEN_DESCRIPTION))
                    .build(),
            ),
        )
        .build();
    let tags = [
        ("layout", "The files of the directory layout: what a static file server over an exported directory answers too."),
        ("api", "Listings and selectors, in the shapes the command line prints with `--format json`."),
        ("writes", "Release uploads, label moves, metadata changes and deletes."),
        ("server", "The server's own endpoints; they name no prompt and need no token."),
    ]
    .map(|(name, description)| {
        TagBuilder::new()
            .name(name)
            .description(Some(description))
            .build()
    });
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("pulse registry")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION))
                .build(),
        )
        .paths(paths())
        .components(Some(components))
        .tags(Some(tags))
        .build()
}

/// Add `T`'s schema and those it refers to.
fn collect<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

fn paths() -> utoipa::openapi::Paths {
    PathsBuilder::new()
        .path("/_pulse.json", reads(store_info()))
        .path("/_catalog.json", reads(catalog()))
        .path(
            "/{name}/_index.json",
            with(reads(index()), HttpMethod::Put, put_index()),
        )
        .path(
            "/{name}/labels.json",
            with(reads(labels()), HttpMethod::Put, put_labels()),
        )
        .path(
            "/{name}/{version}/content.md",
            with(
                with(reads(release_content()), HttpMethod::Put, put_content()),
                HttpMethod::Delete,
                delete_release(),
            ),
        )
        .path("/{name}/{version}/metadata.json", reads(metadata()))
        .path("/_api/v1/prompts", reads(api_prompts()))
        .path("/_api/v1/search", reads(api_search()))
        .path("/_api/v1/prompts/{name}/versions", reads(api_versions()))
        .path("/_api/v1/prompts/{name}/resolve", reads(api_resolve()))
        .path("/_api/v1/prompts/{name}/history", reads(api_history()))
        .path("/_api/v1/prompts/{name}/content", reads(api_content()))
        .path("/healthz", reads(healthz()))
        .path("/metrics", reads(metrics()))
        .path(PATH, reads(openapi_document()))
        .build()
}

/// A path that takes `GET` and `HEAD`: `get`, and the same without bodies.
fn reads(get: Operation) -> PathItem {
    let mut head = get.clone();
    head.operation_id = get
        .operation_id
        .as_deref()
        .map(|id| format!("head{}", id.strip_prefix("get").unwrap_or(id)));
    head.summary = get
        .summary
        .as_deref()
        .map(|s| format!("{s} (headers only)"));
    for response in head.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            response.content.clear();
        }
    }
    let mut item = PathItem::new(HttpMethod::Get, get);
    item.head = Some(head);
    item
}

fn with(mut item: PathItem, method: HttpMethod, operation: Operation) -> PathItem {
    item.merge_operations(PathItem::new(method, operation));
    item
}

// ---------------------------------------------------------------------------------------
// Parameters, headers, bodies and answers used by several routes.

fn name_parameter() -> Parameter {
    ParameterBuilder::new()
        .name("name")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(
            "The prompt's name. Its `/` may be sent as it is or as `%2F`: \
             `/team/reviewer/labels.json` and `/team%2Freviewer/labels.json` are the same \
             request.",
        ))
        .schema(Some(Ref::from_schema_name(Name::name())))
        .build()
}

fn version_parameter() -> Parameter {
    ParameterBuilder::new()
        .name("version")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(
            "The release's version, written as its release directory is (`1.2.0`, not `v1.2.0`).",
        ))
        .schema(Some(Ref::from_schema_name(Version::name())))
        .build()
}

fn query(
    name: &str,
    description: &str,
    schema: impl Into<RefOr<Schema>>,
    example: &str,
) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .example(Some(Value::from(example)))
        .build()
}

fn header_parameter(name: &str, description: &str, schema: Schema) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn if_none_match() -> Parameter {
    header_parameter(
        "If-None-Match",
        "Entity tags the client has (or `*`): when one is the answer's `ETag`, the answer is \
         `304 Not Modified` without a body.",
        string(),
    )
}

fn selector_parameter() -> Parameter {
    let selector = utoipa::openapi::schema::AnyOfBuilder::new()
        .item(one_of(&["latest", ""]))
        .item(Ref::from_schema_name(Version::name()))
        .item(Ref::from_schema_name(Label::name()))
        .item(string_matching(REQUIREMENT_PATTERN));
    query(
        "selector",
        "Which release: `latest` (the default: the highest release that is not a \
         pre-release), an exact version (`1.2.0`), a label (`production`) or a SemVer \
         requirement (`^1.2`, `~1.2.0`, `>=1.0.0, <2.0.0`; the schema shows requirements \
         written with operators, and any the `semver` crate reads is taken). Percent-encode \
         it as forms do: `+` is a space, so a `+` is written `%2B`.",
        selector,
        "latest",
    )
}

/// Any bytes: a release's content (no JSON type describes it).
fn bytes() -> Schema {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::AnyValue)
        .into()
}

fn string() -> Schema {
    ObjectBuilder::new().schema_type(Type::String).into()
}

fn string_matching(pattern: &str) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .into()
}

fn one_of(values: &[&str]) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .into()
}

fn etag_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(string_matching(ETAG_PATTERN)))
        .description(Some(description))
        .build()
}

fn cache_header(cache: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(one_of(&[cache])))
        .description(Some(if cache == IMMUTABLE {
            "A release never changes: keep it as long as you like."
        } else {
            "It may change: revalidate it (`If-None-Match`) before using a kept copy."
        }))
        .build()
}

/// How the body of an answer is described.
#[derive(Clone, Copy)]
enum Body {
    /// JSON of the schema component named.
    Json(&'static str),
    /// A JSON document of any shape (this document).
    AnyJson,
    /// Text of this media type.
    Text(&'static str),
}

fn media(body: Body) -> (&'static str, utoipa::openapi::Content) {
    match body {
        Body::Json(schema) => (
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .build(),
        ),
        Body::AnyJson => (
            "application/json",
            ContentBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::Object)))
                .build(),
        ),
        Body::Text(media) => (media, ContentBuilder::new().schema(Some(string())).build()),
    }
}

/// A successful read: its body, `ETag` and `Cache-Control`.
fn found(description: &str, body: Body, etag: &str, cache: &str) -> Response {
    let (media, content) = media(body);
    ResponseBuilder::new()
        .description(description)
        .content(media, content)
        .header("ETag", etag_header(etag))
        .header("Cache-Control", cache_header(cache))
        .build()
}

fn not_modified(cache: &str) -> Response {
    ResponseBuilder::new()
        .description("`If-None-Match` lists the answer's `ETag`: the client's copy is current.")
        .header("ETag", etag_header("The same tag."))
        .header("Cache-Control", cache_header(cache))
        .build()
}

/// An error answer with the error body.
fn error(status: u16, description: &str) -> Response {
    let (media, content) = media(Body::Json("ErrorBody"));
    let mut response = ResponseBuilder::new()
        .description(description)
        .content(media, content);
    if status == 401 {
        response = response.header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(Some(string_matching("^Bearer realm=\"pulse\"")))
                .description(Some("`Bearer realm=\"pulse\"`, with `error=\"invalid_token\"` for a token that was sent."))
                .build(),
        );
    }
    response.build()
}

/// The generic description of an error status.
fn error_description(status: u16) -> &'static str {
    match status {
        400 => {
            "A name, version, selector, query value, header or body that cannot be one (`usage`)."
        }
        401 => {
            "No token, or one that is unknown, malformed or revoked (`unavailable`); \
             `WWW-Authenticate` says so."
        }
        403 => "The token's scope or name prefixes do not cover the request (`unavailable`).",
        404 => "No such prompt or release (`not_found`).",
        408 => "The body did not arrive in time; nothing was written (`unavailable`).",
        409 => "A conflict (`conflict`).",
        412 => "The file changed since its `ETag` was read; nothing was written (`conflict`).",
        413 => "The body is larger than the registry takes; nothing was written (`usage`).",
        428 => "Neither `If-Match` nor `If-None-Match` was sent (`usage`).",
        500 => "The store holds something broken (`integrity`), or another failure (`other`).",
        503 => "The store cannot be reached or did not answer in time (`unavailable`).",
        _ => "An error.",
    }
}

/// Answers by status, the errors with their generic description unless one is given.
struct Answers(Vec<(u16, Response)>);

impl Answers {
    fn new() -> Answers {
        Answers(Vec::new())
    }

    fn ok(mut self, status: u16, response: Response) -> Answers {
        self.0.push((status, response));
        self
    }

    fn errors(mut self, statuses: &[u16]) -> Answers {
        for &status in statuses {
            self.0
                .push((status, error(status, error_description(status))));
        }
        self
    }

    fn error(mut self, status: u16, description: &str) -> Answers {
        self.0.push((status, error(status, description)));
        self
    }
}

/// The errors of every read that names a prompt.
const READ_ERRORS: [u16; 6] = [400, 401, 403, 404, 500, 503];

/// An operation: what it is, the scope it needs (`None`: no token), its parameters, body
/// and answers.
struct Op<'a> {
    id: &'a str,
    tag: &'a str,
    summary: &'a str,
    description: &'a str,
    scope: Option<&'a str>,
    parameters: Vec<Parameter>,
    body: Option<RequestBody>,
    answers: Answers,
}

impl Op<'_> {
    fn build(self) -> Operation {
        let mut responses = ResponsesBuilder::new();
        for (status, response) in self.answers.0 {
            responses = responses.response(status.to_string(), response);
        }
        let security = match self.scope {
            Some(scope) => vec![SecurityRequirement::new(TOKEN, [scope])],
            None => Vec::new(),
        };
        OperationBuilder::new()
            .operation_id(Some(self.id))
            .tag(self.tag)
            .summary(Some(self.summary))
            .description(Some(self.description))
            .parameters(Some(self.parameters))
            .request_body(self.body)
            .responses(responses.build())
            .securities(Some(security))
            .build()
    }
}

/// A read that names a prompt: `found`, `304`, and the errors of reads.
fn prompt_read(op: Op<'_>, ok: Response, cache: &str) -> Operation {
    Op {
        answers: op
            .answers
            .ok(200, ok)
            .ok(304, not_modified(cache))
            .errors(&READ_ERRORS),
        ..op
    }
    .build()
}

fn op<'a>(id: &'a str, tag: &'a str, summary: &'a str, description: &'a str) -> Op<'a> {
    Op {
        id,
        tag,
        summary,
        description,
        scope: Some("read"),
        parameters: Vec::new(),
        body: None,
        answers: Answers::new(),
    }
}

const JSON_ETAG: &str = "The SHA-256 of the body, quoted.";
const CONTENT_ETAG: &str =
    "The SHA-256 of the content, quoted: the release's checksum without `sha256:`.";

// ---------------------------------------------------------------------------------------
// The layout's files.

fn store_info() -> Operation {
    Op {
        parameters: vec![if_none_match()],
        answers: Answers::new()
            .ok(
                200,
                found(
                    "The store's format and what it allows.",
                    Body::Json("StoreInfo"),
                    JSON_ETAG,
                    NO_CACHE,
                ),
            )
            .ok(304, not_modified(NO_CACHE))
            .errors(&[401, 404, 500, 503]),
        ..op(
            "getStoreInfo",
            "layout",
            "The store's own file",
            "`_pulse.json`: the layout's format version and what the store allows.",
        )
    }
    .build()
}

fn catalog() -> Operation {
    Op {
        parameters: vec![if_none_match()],
        answers: Answers::new()
            .ok(
                200,
                found(
                    "The prompts the token may read, sorted.",
                    Body::Json("Catalog"),
                    JSON_ETAG,
                    NO_CACHE,
                ),
            )
            .ok(304, not_modified(NO_CACHE))
            .errors(&[401, 404, 500, 503]),
        ..op(
            "getCatalog",
            "layout",
            "Every prompt",
            "`_catalog.json`: every prompt with a release that the token may read, sorted.",
        )
    }
    .build()
}

fn index() -> Operation {
    prompt_read(
        Op {
            parameters: vec![name_parameter(), if_none_match()],
            ..op(
                "getIndex",
                "layout",
                "A prompt's releases",
                "`_index.json`: the prompt's releases with their checksums and sizes, its \
                 description and keywords. Its `ETag` is what `PUT` takes in `If-Match`.",
            )
        },
        found(
            "The prompt's index.",
            Body::Json("PromptIndex"),
            JSON_ETAG,
            NO_CACHE,
        ),
        NO_CACHE,
    )
}

fn labels() -> Operation {
    prompt_read(
        Op {
            parameters: vec![name_parameter(), if_none_match()],
            ..op(
                "getLabels",
                "layout",
                "A prompt's labels",
                "`labels.json`: each label and the version it points to (`{}` when the prompt \
                 has releases but no labels). Its `ETag` is what `PUT` takes in `If-Match`.",
            )
        },
        found(
            "The prompt's labels.",
            Body::Json("Labels"),
            JSON_ETAG,
            NO_CACHE,
        ),
        NO_CACHE,
    )
}

fn release_content() -> Operation {
    prompt_read(
        Op {
            parameters: vec![name_parameter(), version_parameter(), if_none_match()],
            ..op(
                "getContent",
                "layout",
                "A release's content",
                "`content.md`: the content of the release, byte for byte. A release kept \
                 encrypted with age is answered as the age file the store holds \
                 (`application/octet-stream`, `Pulse-Encryption: age`): the registry passes \
                 it on undecrypted, and the client decrypts it and checks the plaintext \
                 against the checksum in `metadata.json`.",
            )
        },
        {
            let (plain, plain_content) = media(Body::Text("text/markdown"));
            let (sealed, sealed_content) = media(Body::Text("application/octet-stream"));
            ResponseBuilder::new()
                .description("The content (or, for a release kept encrypted, its age file).")
                .content(plain, plain_content)
                .content(sealed, sealed_content)
                .header("ETag", etag_header(CONTENT_ETAG))
                .header("Cache-Control", cache_header(IMMUTABLE))
                .header(
                    "Pulse-Encryption",
                    HeaderBuilder::new()
                        .schema(Some(string()))
                        .description(Some(
                            "`age` when the body is the release's content encrypted with age; \
                             absent for content in the clear.",
                        ))
                        .build(),
                )
                .build()
        },
        IMMUTABLE,
    )
}

fn metadata() -> Operation {
    prompt_read(
        Op {
            parameters: vec![name_parameter(), version_parameter(), if_none_match()],
            ..op(
                "getMetadata",
                "layout",
                "A release's metadata",
                "`metadata.json`: what was recorded about the release.",
            )
        },
        found(
            "The release's metadata.",
            Body::Json("ReleaseFile"),
            JSON_ETAG,
            IMMUTABLE,
        ),
        IMMUTABLE,
    )
}

// ---------------------------------------------------------------------------------------
// The JSON API.

fn api_prompts() -> Operation {
    Op {
        parameters: vec![
            prefix_parameter(),
            query(
                "tags",
                "Only the prompts that have every one of these keywords, comma-separated.",
                string(),
                "review,code",
            ),
            if_none_match(),
        ],
        answers: Answers::new()
            .ok(
                200,
                found(
                    "The prompts the token may read, as `pulse list --format json` prints them.",
                    Body::Json("PromptList"),
                    JSON_ETAG,
                    NO_CACHE,
                ),
            )
            .ok(304, not_modified(NO_CACHE))
            .errors(&[400, 401, 500, 503]),
        ..op(
            "getPrompts",
            "api",
            "List prompts",
            "Every prompt the token may read, with its latest release, labels, description \
             and keywords.",
        )
    }
    .build()
}

fn prefix_parameter() -> Parameter {
    query(
        "prefix",
        "Only the prompts under this name prefix (whole segments: `team` matches `team/a`, \
         never `teammate`; a trailing `/` is the same prefix).",
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^({SEGMENT}(/{SEGMENT})*)?/?$")))
            .max_length(Some(MAX_NAME_LEN + 1)),
        "team",
    )
}

fn api_search() -> Operation {
    let boolean = || one_of(&["true", "false"]);
    Op {
        parameters: vec![
            ParameterBuilder::new()
                .name("q")
                .parameter_in(ParameterIn::Query)
                .required(Required::True)
                .description(Some(
                    "What to find: text as written, or with `regex=true` a regular expression \
                     (the syntax of Rust's `regex` crate). Each line of a release's content is \
                     searched alone, and the prompt's name, description and keywords. At most \
                     4096 bytes; a pattern whose compiled form would be too large is `400`.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(MAX_PATTERN_BYTES)),
                ))
                .example(Some(Value::from("refund policy")))
                .build(),
            query(
                "regex",
                "`true`: `q` is a regular expression.",
                boolean(),
                "false",
            ),
            query(
                "ignore_case",
                "`true`: match without regard to case.",
                boolean(),
                "false",
            ),
            query(
                "all_versions",
                "`true`: search every release, not only the latest (not with `label`).",
                boolean(),
                "false",
            ),
            query(
                "label",
                "Search the release this label points to; prompts without it are passed over.",
                Ref::from_schema_name(Label::name()),
                "production",
            ),
            prefix_parameter(),
            query(
                "tags",
                "Only the prompts that have every one of these keywords, comma-separated.",
                string(),
                "support",
            ),
            if_none_match(),
        ],
        answers: Answers::new()
            .ok(
                200,
                found(
                    "The hits among the prompts the token may read, as `pulse search --format \
                     json` prints them (no hits is `200` with none).",
                    Body::Json("SearchReport"),
                    JSON_ETAG,
                    NO_CACHE,
                ),
            )
            .ok(304, not_modified(NO_CACHE))
            .error(
                400,
                "No `q`, a pattern that is too long or not a valid regular expression, or \
                 another parameter that cannot be one (`usage`).",
            )
            .errors(&[401, 500, 503]),
        ..op(
            "getSearch",
            "api",
            "Search prompts",
            "Search the latest release of every prompt the token may read (or the release a \
             label points to, or every release) line by line, and each prompt's name, \
             description and keywords. Hits are sorted by name, version, field and line; a \
             line that is not UTF-8 is sent as text with U+FFFD and as its exact `bytes`, \
             and content with a NUL byte in its first 8000 bytes is one hit with `binary` and \
             no line.",
        )
    }
    .build()
}

fn api_versions() -> Operation {
    prompt_read(
        Op {
            parameters: vec![name_parameter(), if_none_match()],
            ..op(
                "getVersions",
                "api",
                "A prompt's releases",
                "Every release of the prompt with the labels that point to it, as `pulse \
                 versions NAME --format json` prints them. A prompt named `team/versions` has \
                 its releases at `/_api/v1/prompts/team/versions/versions`.",
            )
        },
        found(
            "The releases, lowest version first.",
            Body::Json("ReleaseList"),
            JSON_ETAG,
            NO_CACHE,
        ),
        NO_CACHE,
    )
}

fn api_resolve() -> Operation {
    prompt_read(
        Op {
            parameters: vec![name_parameter(), selector_parameter(), if_none_match()],
            ..op(
                "getResolve",
                "api",
                "The release a selector means",
                "The release the selector names, with the labels that point to it, as `pulse \
                 show NAME@SELECTOR --format json` prints it.",
            )
        },
        found(
            "The release.",
            Body::Json("ReleaseReport"),
            JSON_ETAG,
            NO_CACHE,
        ),
        NO_CACHE,
    )
}

fn api_history() -> Operation {
    prompt_read(
        Op {
            parameters: vec![
                name_parameter(),
                query(
                    "label",
                    "Only the moves of this label.",
                    Ref::from_schema_name(Label::name()),
                    "production",
                ),
                if_none_match(),
            ],
            ..op(
                "getHistory",
                "api",
                "A prompt's label moves",
                "Every move of the prompt's labels, as `pulse label history NAME --format json` \
                 prints them. Only a registry serving a git repository keeps this history; \
                 one serving a directory or S3 answers `400`.",
            )
        },
        found(
            "The moves, oldest first.",
            Body::Json("LabelHistory"),
            JSON_ETAG,
            NO_CACHE,
        ),
        NO_CACHE,
    )
}

fn api_content() -> Operation {
    let mut ok = found(
        "The content of the release the selector names.",
        Body::Text("text/markdown"),
        CONTENT_ETAG,
        NO_CACHE,
    );
    ok.headers.insert(
        "Pulse-Version".to_owned(),
        RefOr::T(
            HeaderBuilder::new()
                .schema(Some(string_matching(VERSION_PATTERN)))
                .description(Some("The version the selector named."))
                .build(),
        ),
    );
    prompt_read(
        Op {
            parameters: vec![name_parameter(), selector_parameter(), if_none_match()],
            ..op(
                "getResolvedContent",
                "api",
                "The content a selector means",
                "The content of the release the selector names, as `pulse fetch \
                 NAME@SELECTOR` prints it. The selector may move, so the answer is `no-cache`; \
                 its `ETag` is the content's.",
            )
        },
        ok,
        NO_CACHE,
    )
}

// ---------------------------------------------------------------------------------------
// Writes.

fn put_content() -> Operation {
    let uploaded = |description| {
        let (media, content) = media(Body::Json("Uploaded"));
        ResponseBuilder::new()
            .description(description)
            .content(media, content)
            .header("ETag", etag_header(CONTENT_ETAG))
            .build()
    };
    Op {
        scope: Some("write"),
        parameters: vec![
            name_parameter(),
            version_parameter(),
            header_parameter(
                "Pulse-Release",
                "The release's metadata: a JSON object (schema `ReleaseHeader`: description, \
                 tags, message, author `Name <email>`, created RFC 3339, and for content the \
                 client encrypted, encryption `age` and the plaintext's size; every field \
                 optional), percent-encoded (every byte outside `A-Z a-z 0-9 - . _ ~` as \
                 `%XX`). Without an author the release is authored by the token's name.",
                string(),
            ),
            header_parameter(
                "Pulse-Checksum",
                "The SHA-256 of the body: a body that does not match it is refused (`400`) \
                 and nothing is written. For an encrypted body, the SHA-256 of the plaintext \
                 (required; the registry cannot check it, every reader does).",
                string_matching(DIGEST_PATTERN),
            ),
        ],
        body: Some(
            RequestBodyBuilder::new()
                .description(Some(
                    "The content, byte for byte (read whole before anything is written); or, \
                     with encryption `age` in `Pulse-Release`, the age file of it, which is \
                     kept as it is.",
                ))
                .content(
                    "text/markdown",
                    ContentBuilder::new().schema(Some(bytes())).build(),
                )
                .content(
                    "application/octet-stream",
                    ContentBuilder::new().schema(Some(bytes())).build(),
                )
                .required(Some(Required::True))
                .build(),
        ),
        answers: Answers::new()
            .ok(201, uploaded("The release was created."))
            .ok(
                200,
                uploaded("The same release, with the same content, was already there."),
            )
            .errors(&[400, 401, 403, 404, 408])
            .error(409, "The release is there with other content (`conflict`).")
            .errors(&[413, 500, 503]),
        ..op(
            "putContent",
            "writes",
            "Release a version",
            "Release the body as `NAME@VERSION`, create-only: a release is immutable.",
        )
    }
    .build()
}

fn delete_release() -> Operation {
    Op {
        scope: Some("admin"),
        parameters: vec![name_parameter(), version_parameter()],
        answers: Answers::new()
            .ok(
                204,
                ResponseBuilder::new()
                    .description("The release was deleted.")
                    .build(),
            )
            .errors(&[400, 401, 403, 404])
            .error(
                409,
                "The store does not allow deletes, or a label points to the release (`conflict`).",
            )
            .errors(&[500, 503]),
        ..op(
            "deleteContent",
            "writes",
            "Delete a release",
            "Delete the release, if the store allows it and no label points to it.",
        )
    }
    .build()
}

fn swap_parameters() -> Vec<Parameter> {
    vec![
        name_parameter(),
        header_parameter(
            "If-Match",
            "The `ETag` the client read (or `*`: whatever is there now). The file must still \
             have it, else `412`.",
            string(),
        ),
        header_parameter(
            "If-None-Match",
            "`*`: the client saw no labels (a first label). Without `If-Match` or \
             `If-None-Match` the answer is `428`.",
            string(),
        ),
    ]
}

fn swap_answers(what: &str, schema: &'static str) -> Answers {
    let (media, content) = media(Body::Json(schema));
    Answers::new()
        .ok(
            200,
            ResponseBuilder::new()
                .description(what)
                .content(media, content)
                .header("ETag", etag_header(JSON_ETAG))
                .header("Cache-Control", cache_header(NO_CACHE))
                .build(),
        )
        .errors(&[400, 401, 403, 404, 408, 412, 413, 428, 500, 503])
}

fn put_labels() -> Operation {
    Op {
        scope: Some("write"),
        parameters: swap_parameters(),
        body: Some(
            RequestBodyBuilder::new()
                .description(Some(
                    "The whole new label map: a label left out is removed.",
                ))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Labels")))
                        .build(),
                )
                .required(Some(Required::True))
                .build(),
        ),
        answers: swap_answers("The labels as they are now.", "Labels"),
        ..op(
            "putLabels",
            "writes",
            "Move labels",
            "Move the prompt's labels by compare-and-swap: each label the new map changes is \
             moved from where the client saw it, so a move made in between is never \
             overwritten (`412`). A label pointing to a version that is not released is \
             `404`.",
        )
    }
    .build()
}

fn put_index() -> Operation {
    Op {
        scope: Some("write"),
        parameters: swap_parameters(),
        body: Some(
            RequestBodyBuilder::new()
                .description(Some(
                    "The index as read, with a new description or keywords; the releases \
                     listed must be those the prompt has, else `400`.",
                ))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("PromptIndex")))
                        .build(),
                )
                .required(Some(Required::True))
                .build(),
        ),
        answers: swap_answers("The index as it is now.", "PromptIndex"),
        ..op(
            "putIndex",
            "writes",
            "Change a prompt's description and keywords",
            "Change the prompt's description and keywords by compare-and-swap.",
        )
    }
    .build()
}

// ---------------------------------------------------------------------------------------
// The server's own endpoints.

fn healthz() -> Operation {
    Op {
        scope: None,
        answers: Answers::new().ok(
            200,
            ResponseBuilder::new()
                .description("`ok`: the server accepts connections.")
                .content(
                    "text/plain",
                    ContentBuilder::new()
                        .schema(Some(one_of(&["ok\n"])))
                        .build(),
                )
                .build(),
        ),
        ..op(
            "getHealthz",
            "server",
            "Liveness",
            "Answers `200` while the server accepts connections.",
        )
    }
    .build()
}

fn metrics() -> Operation {
    Op {
        scope: None,
        answers: Answers::new().ok(
            200,
            ResponseBuilder::new()
                .description(
                    "Requests by route template and status, their durations by route, and \
                     the release cache's hits and misses, in the Prometheus text format.",
                )
                .content(
                    "text/plain",
                    ContentBuilder::new().schema(Some(string())).build(),
                )
                .build(),
        ),
        ..op(
            "getMetrics",
            "server",
            "Prometheus metrics",
            "The server's counters. Routes are named by template, never by a prompt's name.",
        )
    }
    .build()
}

fn openapi_document() -> Operation {
    Op {
        scope: None,
        parameters: vec![if_none_match()],
        answers: Answers::new()
            .ok(
                200,
                found("This document.", Body::AnyJson, JSON_ETAG, NO_CACHE),
            )
            .ok(304, not_modified(NO_CACHE)),
        ..op(
            "getOpenapi",
            "server",
            "This document",
            "The registry's OpenAPI document.",
        )
    }
    .build()
}

// ---------------------------------------------------------------------------------------
// Schemas of the domain's values (written as strings) and of the bodies that are lists or
// maps of them.

/// A prompt's `labels.json`, and the body of a label move: label to version.
struct Labels;

impl PartialSchema for Labels {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("Each label, and the version it points to."))
            .property_names(Some(label_schema()))
            .additional_properties(Some(Ref::from_schema_name(Version::name())))
            .examples([serde_json::json!({"production": "1.2.0", "staging": "1.3.0-rc.1"})])
            .into()
    }
}

impl ToSchema for Labels {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Labels")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("PromptList".to_owned(), list_of::<PromptSummary>()));
        schemas.push(("ReleaseList".to_owned(), list_of::<ReleaseReport>()));
        schemas.push(("LabelHistory".to_owned(), list_of::<LabelMove>()));
    }
}

fn list_of<T: ToSchema>() -> RefOr<Schema> {
    utoipa::openapi::ArrayBuilder::new()
        .items(Ref::from_schema_name(T::name()))
        .into()
}

fn label_schema() -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(LABEL_PATTERN))
        .max_length(Some(MAX_LABEL_LEN))
        .description(Some(
            "A label: a lowercase letter, then `[a-z0-9-]`, at most 64 bytes; not `latest`, which always means the highest release.",
        ))
        .examples(["production"])
        .build()
}

impl PartialSchema for Name {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^{SEGMENT}(/{SEGMENT})*$")))
            .max_length(Some(MAX_NAME_LEN))
            .description(Some(
                "A prompt's name: lowercase segments of `[a-z0-9]` joined by `.`, `_` or `-`, \
                 separated by `/`, at most 128 bytes. No segment is a version (`1.0.0`), \
                 `content.md`, `metadata.json` or `labels.json`, or ends in `.lock`.",
            ))
            .examples(["reviewer", "team/reviewer"])
            .into()
    }
}

impl ToSchema for Name {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Name")
    }
}

impl PartialSchema for Version {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(VERSION_PATTERN))
            .max_length(Some(MAX_VERSION_LEN))
            .description(Some(
                "A release's version: SemVer `MAJOR.MINOR.PATCH` with an optional \
                 `-prerelease`, without build metadata, at most 100 bytes.",
            ))
            .examples(["1.2.0", "2.0.0-rc.1"])
            .into()
    }
}

impl ToSchema for Version {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Version")
    }
}

impl PartialSchema for Label {
    fn schema() -> RefOr<Schema> {
        label_schema().into()
    }
}

impl ToSchema for Label {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Label")
    }
}

impl PartialSchema for Digest {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(DIGEST_PATTERN))
            .description(Some(
                "A SHA-256 checksum: `sha256:` and 64 lowercase hex digits.",
            ))
            .into()
    }
}

impl ToSchema for Digest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Digest")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::serve::paths::{self, ApiRequest, Target};

    /// The routes of the server's own endpoints (the router's `route` calls).
    const SERVER_ROUTES: [&str; 3] = ["/healthz", "/metrics", PATH];

    /// One target of every kind the router's paths name.
    fn every_target() -> Vec<Target> {
        let name = Name::parse("team/a").unwrap();
        let version = Version::parse("1.2.0").unwrap();
        let targets = vec![
            Target::StoreInfo,
            Target::Catalog,
            Target::Index(name.clone()),
            Target::Labels(name.clone()),
            Target::Content(name.clone(), version.clone()),
            Target::Metadata(name.clone(), version),
            Target::ApiPrompts,
            Target::ApiSearch,
            Target::Api(name.clone(), ApiRequest::Versions),
            Target::Api(name.clone(), ApiRequest::Resolve),
            Target::Api(name.clone(), ApiRequest::History),
            Target::Api(name, ApiRequest::Content),
        ];
        // A new kind of target fails to compile here until it is listed above.
        for target in &targets {
            match target {
                Target::StoreInfo
                | Target::Catalog
                | Target::Index(_)
                | Target::Labels(_)
                | Target::Content(..)
                | Target::Metadata(..)
                | Target::ApiPrompts
                | Target::ApiSearch
                | Target::Api(
                    _,
                    ApiRequest::Versions
                    | ApiRequest::Resolve
                    | ApiRequest::History
                    | ApiRequest::Content,
                ) => {}
            }
        }
        targets
    }

    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r),
                        _ => refs(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((path.as_str(), method.as_str(), op));
            }
        }
        out
    }

    #[test]
    fn is_openapi_3_and_every_reference_resolves() {
        let doc = document().unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
        assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 50, "{found:?}");
        for r in found {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("not local: {r}"));
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
        // Every schema component is used by something, and every operation is whole.
        let text = doc.to_string();
        for name in doc["components"]["schemas"].as_object().unwrap().keys() {
            assert!(
                text.contains(&format!("\"#/components/schemas/{name}\""))
                    || name == "ReleaseHeader",
                "schema {name} is not used"
            );
        }
        let mut ids = BTreeSet::new();
        for (path, method, op) in operations(&doc) {
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id), "{id} twice");
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            assert!(
                op["summary"].is_string() && op["description"].is_string(),
                "{id}"
            );
            let security = op["security"].as_array().unwrap();
            for requirement in security {
                let scopes = requirement[TOKEN].as_array().unwrap();
                assert_eq!(scopes.len(), 1, "{id}");
                assert!(["read", "write", "admin"].contains(&scopes[0].as_str().unwrap()));
            }
            // A path parameter is declared for every `{…}` of the path, and only those.
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            let templated: BTreeSet<&str> = path
                .split('{')
                .skip(1)
                .filter_map(|s| s.split_once('}').map(|(n, _)| n))
                .collect();
            assert_eq!(declared, templated, "{method} {path}");
            if method == "head" {
                for response in op["responses"].as_object().unwrap().values() {
                    assert!(
                        response.get("content").is_none(),
                        "{id}: a HEAD answer has no body"
                    );
                }
            }
        }
        assert!(doc["components"]["securitySchemes"][TOKEN]["scheme"] == "bearer");
    }

    #[test]
    fn describes_exactly_the_routes_the_router_answers() {
        let doc = document().unwrap();
        let documented: BTreeSet<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut routed: BTreeSet<&str> = every_target().iter().map(Target::route).collect();
        routed.extend(SERVER_ROUTES);
        assert_eq!(documented, routed);
        for template in documented.iter().filter(|t| !SERVER_ROUTES.contains(t)) {
            for name in ["team/a", "team%2Fa", "a"] {
                let path = template
                    .replace("{name}", name)
                    .replace("{version}", "1.2.0");
                let target = paths::parse(&path).unwrap_or_else(|e| panic!("{path}: {e:?}"));
                assert_eq!(target.route(), *template, "{path}");
            }
            // Reads take GET and HEAD; the writes are the files the protocol moves.
            let methods: BTreeSet<&str> = doc["paths"][template]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let writes: &[&str] = match *template {
                "/{name}/{version}/content.md" => &["delete", "put"],
                "/{name}/labels.json" | "/{name}/_index.json" => &["put"],
                _ => &[],
            };
            let mut expected: BTreeSet<&str> = ["get", "head"].into();
            expected.extend(writes);
            assert_eq!(methods, expected, "{template}");
        }
    }

    #[test]
    fn the_schemas_follow_the_types() {
        let doc = document().unwrap();
        let schemas = &doc["components"]["schemas"];
        // What the server writes is what the document says it writes.
        let index: PromptIndex = serde_json::from_value(serde_json::json!({
            "description": "d", "tags": ["a"],
            "versions": {"1.0.0": {"checksum": format!("sha256:{}", "0".repeat(64)), "size": 1}}
        }))
        .unwrap();
        let written = serde_json::to_value(&index).unwrap();
        for key in written.as_object().unwrap().keys() {
            assert!(
                schemas["PromptIndex"]["properties"].get(key).is_some(),
                "{key}"
            );
        }
        assert_eq!(
            schemas["ErrorFields"]["properties"]["kind"]["enum"],
            serde_json::json!([
                "other",
                "usage",
                "not_found",
                "conflict",
                "integrity",
                "unavailable"
            ])
        );
        assert_eq!(
            schemas["Stored"]["enum"],
            serde_json::json!(["created", "unchanged"])
        );
        assert_eq!(schemas["ReleaseHeader"]["additionalProperties"], false);
        assert!(schemas["ReleaseReport"]["allOf"][0]["$ref"] == "#/components/schemas/ReleaseMeta");
        // Every header this document names is one the answer always carries.
        let head = &doc["paths"]["/{name}/labels.json"]["get"]["responses"]["200"]["headers"];
        assert_eq!(head["ETag"]["required"], true);
        assert_eq!(
            head["Cache-Control"]["schema"]["enum"],
            serde_json::json!(["no-cache"])
        );
        let release = &doc["paths"]["/{name}/{version}/content.md"]["get"]["responses"];
        assert_eq!(
            release["200"]["headers"]["Cache-Control"]["schema"]["enum"],
            serde_json::json!([IMMUTABLE])
        );
        assert!(release["200"]["content"]["text/markdown"].is_object());
    }

    #[test]
    fn kinds_are_every_kind() {
        use crate::error::Kind;
        for (i, kind) in reply::KINDS.iter().enumerate() {
            // A new kind fails to compile here until it is listed in `KINDS`.
            let at = match kind {
                Kind::Other => 0,
                Kind::Usage => 1,
                Kind::NotFound => 2,
                Kind::Conflict => 3,
                Kind::Integrity => 4,
                Kind::Unavailable => 5,
            };
            assert_eq!(at, i);
        }
    }

    #[test]
    fn is_served_as_json_once_built() {
        let first = json().unwrap();
        let second = json().unwrap();
        assert_eq!(first, second);
        let parsed: Value = serde_json::from_slice(&first).unwrap();
        assert_eq!(parsed, document().unwrap());
    }
}
