//! The routes: who may do what, the reads of the layout and the JSON API, and the writes.
//!
//! Every request that names a prompt is checked first (its token, then the token's scope
//! and prefixes), then answered from one job on the store's workers, so a request holds
//! one worker at a time. Writes and refusals are written to the audit log once answered.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::routing::get;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use serde::{Deserialize, Serialize};

use super::audit::{Action, Audit, Record};
use super::cache::{Cache, Part};
use super::metrics::Metrics;
use super::paths::{self, ApiRequest, OTHER_ROUTE, Target, Unrouted};
use super::pool::Pool;
use super::reply::{self, Condition, File, MARKDOWN, Reply};
use super::tokens::{Grant, Refused, Scope, Tokens};
use crate::bounded;
use crate::digest::Digest;
use crate::error::{Error, Hint, Kind, Result};
use crate::meta::{Expect, MetadataUpdate};
use crate::name::{Label, Name, NamePrefix};
use crate::report::ReleaseReport;
use crate::search::{Query, SearchReport};
use crate::selector::Selector;
use crate::store::layout::{Catalog, PromptIndex, ReleaseFile, to_json};
use crate::store::{Kept, LabelSet, NewRelease, Recorded, Store, StoreExt, Stored};
use crate::version::Version;

/// Everything a request may need: the store and its workers, the tokens, the audit log,
/// the release cache, the counters and the limits.
pub(crate) struct App {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) pool: Pool,
    pub(crate) tokens: Tokens,
    pub(crate) audit: Audit,
    pub(crate) cache: Cache,
    pub(crate) metrics: Metrics,
    pub(crate) allow_anonymous_read: bool,
    pub(crate) max_body: u64,
    pub(crate) request_timeout: Duration,
}

/// The client's address, put on each request by the connection that read it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub(crate) std::net::SocketAddr);

/// The route template of an answered request, put on its answer for the metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route(pub(crate) &'static str);

/// The router: the server's own endpoints, and everything else by its path.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(super::web::router())
        .route(super::openapi::PATH, get(super::openapi::answer))
        .fallback(handle)
        .with_state(app)
}

async fn healthz() -> Reply {
    let mut r = reply::text("ok\n".to_owned(), "text/plain; charset=utf-8", false);
    r.extensions_mut().insert(Route("/healthz"));
    r
}

async fn metrics(State(app): State<Arc<App>>) -> Reply {
    let text = app.metrics.render(app.cache.hits(), app.cache.misses());
    let mut r = reply::text(text, "text/plain; version=0.0.4; charset=utf-8", false);
    r.extensions_mut().insert(Route("/metrics"));
    r
}

/// What a request wants to do, and the scope that takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Read { head: bool },
    Release,
    Labels,
    Metadata,
    Delete,
}

impl Want {
    fn scope(self) -> Scope {
        match self {
            Want::Read { .. } => Scope::Read,
            Want::Release | Want::Labels | Want::Metadata => Scope::Write,
            Want::Delete => Scope::Admin,
        }
    }

    fn action(self) -> Action {
        match self {
            Want::Read { .. } => Action::Read,
            Want::Release => Action::Release,
            Want::Labels => Action::Labels,
            Want::Metadata => Action::Metadata,
            Want::Delete => Action::Delete,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Want::Read { .. } => "read",
            Want::Release => "release",
            Want::Labels => "move the labels of",
            Want::Metadata => "change the description and keywords of",
            Want::Delete => "delete releases of",
        }
    }
}

/// What `method` on `target` wants, or the methods the path allows.
fn want(target: &Target, method: &Method) -> std::result::Result<Want, &'static str> {
    let read = "GET, HEAD";
    match (target, method.as_str()) {
        (_, "GET") => Ok(Want::Read { head: false }),
        (_, "HEAD") => Ok(Want::Read { head: true }),
        (Target::Content(..), "PUT") => Ok(Want::Release),
        (Target::Content(..), "DELETE") => Ok(Want::Delete),
        (Target::Labels(_), "PUT") => Ok(Want::Labels),
        (Target::Index(_), "PUT") => Ok(Want::Metadata),
        (Target::Content(..), _) => Err("GET, HEAD, PUT, DELETE"),
        (Target::Labels(_) | Target::Index(_), _) => Err("GET, HEAD, PUT"),
        _ => Err(read),
    }
}

/// The action a write to a path that names nothing valid would have been, for the log.
fn attempted(method: &Method, path: &str) -> Option<Action> {
    match method.as_str() {
        "DELETE" => Some(Action::Delete),
        "PUT" if path.ends_with("/labels.json") => Some(Action::Labels),
        "PUT" if path.ends_with("/_index.json") => Some(Action::Metadata),
        "PUT" => Some(Action::Release),
        _ => None,
    }
}

/// Every request but `/healthz` and `/metrics`.
async fn handle(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    let (route, mut reply) = app.answer(peer, &method, &uri, &headers, body).await;
    reply.extensions_mut().insert(Route(route));
    reply
}

/// A request's identity once its token was looked at.
pub(crate) enum Who {
    Token(Grant),
    Nobody,
}

impl App {
    async fn answer(
        self: &Arc<Self>,
        peer: Peer,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Body,
    ) -> (&'static str, Reply) {
        let log = |who: Option<&str>, action, target: Option<&str>, status: StatusCode, result| {
            self.audit.write(&Record {
                time: super::audit::rfc3339(SystemTime::now()),
                token: who,
                client: super::audit::client(peer.0),
                action,
                target,
                status: status.as_u16(),
                result,
            });
        };
        let parsed = paths::parse(uri.path());
        let route = parsed.as_ref().map_or(OTHER_ROUTE, Target::route);
        let audit_target = parsed.as_ref().ok().and_then(Target::audit_target);
        let action = match &parsed {
            Ok(target) => want(target, method).ok().map(Want::action),
            Err(_) => attempted(method, uri.path()),
        };
        // Who is asking: a token that is there must be a good one, whatever the path.
        let who = match self.authenticate(headers) {
            Ok(who) => who,
            Err(refused) => {
                log(
                    None,
                    action.unwrap_or(Action::Read),
                    audit_target.as_deref(),
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                );
                return (route, unauthorized(refused));
            }
        };
        let token_id = match &who {
            Who::Token(g) => g.id.clone(),
            Who::Nobody => None,
        };
        let target = match parsed {
            Ok(target) => target,
            Err(Unrouted::Unknown) => return (route, no_such_path(uri.path())),
            Err(Unrouted::Invalid(e)) => {
                if let Some(action) = action {
                    log(
                        token_id.as_deref(),
                        action,
                        None,
                        StatusCode::BAD_REQUEST,
                        "invalid",
                    );
                }
                return (route, reply::error(&e));
            }
        };
        let want = match want(&target, method) {
            Ok(want) => want,
            Err(allowed) => return (route, not_allowed(method, uri.path(), allowed)),
        };
        let grant = match self.authorize(who, want, &target) {
            Ok(grant) => grant,
            Err(reply) => {
                let status = reply.status();
                let result = if status == StatusCode::UNAUTHORIZED {
                    "unauthorized"
                } else {
                    "forbidden"
                };
                log(
                    token_id.as_deref(),
                    want.action(),
                    audit_target.as_deref(),
                    status,
                    result,
                );
                return (route, *reply);
            }
        };
        let (reply, result) = self
            .dispatch(want, target, &grant, uri.query(), headers, body)
            .await;
        if !matches!(want, Want::Read { .. }) {
            let result = result.unwrap_or_else(|| result_word(reply.status()));
            log(
                token_id.as_deref(),
                want.action(),
                audit_target.as_deref(),
                reply.status(),
                result,
            );
        }
        (route, reply)
    }

    /// The token a request carries, if any: one that is there must be known.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> std::result::Result<Who, Refused> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(Who::Nobody);
        };
        let value = value.to_str().map_err(|_| Refused::Malformed)?;
        let (scheme, token) = value.trim().split_once(' ').ok_or(Refused::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Refused::Malformed);
        }
        self.tokens.check(token.trim()).map(Who::Token)
    }

    /// Whether `who` may do `want` to `target`: the grant to act with, or the refusal.
    fn authorize(
        &self,
        who: Who,
        want: Want,
        target: &Target,
    ) -> std::result::Result<Grant, Box<Reply>> {
        let grant = match who {
            Who::Token(grant) => grant,
            Who::Nobody if want.scope() == Scope::Read && self.allow_anonymous_read => {
                Grant::anonymous()
            }
            Who::Nobody => {
                let reply = unauthorized_with(
                    "this request needs a token: send 'Authorization: Bearer pulse_<id>_<secret>'",
                    "ask the registry's operator for a token",
                    false,
                );
                return Err(Box::new(reply));
            }
        };
        let allowed = match target.name() {
            Some(name) => grant.allows(want.scope(), name),
            // Reads that name no prompt list only what the grant covers.
            None => grant.scope >= want.scope(),
        };
        if allowed {
            return Ok(grant);
        }
        let prefixes: Vec<String> = grant
            .prefixes
            .iter()
            .map(|p| {
                if p.as_str().is_empty() {
                    "every prompt".to_owned()
                } else {
                    format!("'{}'", p.as_str())
                }
            })
            .collect();
        let message = format!(
            "token '{}' ({} scope, for {}) may not {} '{}'",
            grant.id.as_deref().unwrap_or("anonymous"),
            grant.scope,
            prefixes.join(", "),
            want.verb(),
            target.name().map(Name::as_str).unwrap_or_default()
        );
        let reply = reply::error_with(
            StatusCode::FORBIDDEN,
            Kind::Unavailable,
            &message,
            vec![format!(
                "use a token with the {} scope whose prefixes cover it",
                want.scope()
            )],
        );
        Err(Box::new(reply))
    }

    /// Answer an authorized request; a write also says its outcome in one word.
    async fn dispatch(
        self: &Arc<Self>,
        want: Want,
        target: Target,
        grant: &Grant,
        query: Option<&str>,
        headers: &HeaderMap,
        body: Body,
    ) -> (Reply, Option<&'static str>) {
        let answered = match (want, target) {
            (Want::Read { head }, target) => self.read(target, head, grant, query, headers).await,
            (Want::Release, Target::Content(name, version)) => {
                return self.upload(name, version, grant, headers, body).await;
            }
            (Want::Labels, Target::Labels(name)) => {
                return self.move_labels(name, headers, body).await;
            }
            (Want::Metadata, Target::Index(name)) => {
                return self.change_index(name, headers, body).await;
            }
            (Want::Delete, Target::Content(name, version)) => {
                return match self.delete(name, version).await {
                    Ok(reply) => (reply, Some("deleted")),
                    Err(e) => (reply::error(&e), None),
                };
            }
            // `want` allows no other pairs.
            (_, target) => Err(Error::other(format!(
                "'{}' has no such write",
                target.route()
            ))),
        };
        match answered {
            Ok(reply) => (reply, None),
            Err(e) => (reply::error(&e), None),
        }
    }

    /// Run `call` with the store on a worker, within the request timeout. A call that
    /// takes longer is answered `503`; it still runs to its end (a write is never cut off).
    pub(crate) async fn with_store<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = Arc::clone(&self.store);
        let running = self.pool.run(move || call(store.as_ref()));
        match tokio::time::timeout(self.request_timeout, running).await {
            Ok(answer) => answer,
            Err(_) => Err(Error::unavailable(format!(
                "{} did not answer within {} s",
                self.store.describe(),
                self.request_timeout.as_secs()
            ))
            .with_hint(
                "the store is slow or unreachable; a write may still complete, so read it back before retrying",
            )),
        }
    }

    async fn read(
        self: &Arc<Self>,
        target: Target,
        head: bool,
        grant: &Grant,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<Reply> {
        let json = |bytes: Bytes| Ok(reply::file(File::json(bytes), head, headers));
        match target {
            Target::StoreInfo => json(self.with_store(|s| to_json(&s.layout_info()?)).await?),
            Target::Catalog => {
                let grant = grant.clone();
                json(
                    self.with_store(move |s| {
                        let prompts = listed(s)?
                            .into_iter()
                            .filter(|n| grant.covers(n))
                            .map(|n| n.to_string())
                            .collect();
                        to_json(&Catalog { prompts })
                    })
                    .await?,
                )
            }
            Target::Index(name) => json(
                self.with_store(move |s| {
                    let index = s.index(&name)?;
                    if index.versions.is_empty() {
                        return Err(no_prompt(&name, s));
                    }
                    to_json(&index)
                })
                .await?,
            ),
            Target::Labels(name) => json(
                self.with_store(move |s| {
                    if s.versions(&name)?.is_empty() {
                        return Err(no_prompt(&name, s));
                    }
                    labels_file(&s.labels(&name)?)
                })
                .await?,
            ),
            Target::Content(name, version) => {
                let file = self.content(name, version, head, headers).await?;
                Ok(reply::file(file, head, headers))
            }
            Target::Metadata(name, version) => {
                let file = self.metadata(name, version).await?;
                Ok(reply::file(file, head, headers))
            }
            Target::ApiPrompts => {
                let prefix = prefix_param(query)?;
                let tags = tags_param(query)?;
                let grant = grant.clone();
                json(
                    self.with_store(move |s| {
                        let rows: Vec<_> = match s.summaries(&prefix) {
                            Ok(rows) => rows,
                            // A store nothing was written to yet lists nothing.
                            Err(e) if e.kind() == Kind::NotFound => Vec::new(),
                            Err(e) => return Err(e),
                        }
                        .into_iter()
                        .filter(|r| grant.covers(&r.name))
                        .filter(|r| tags.iter().all(|t| r.tags.contains(t)))
                        .collect();
                        to_json(&rows)
                    })
                    .await?,
                )
            }
            Target::ApiSearch => {
                let query = search_query(query, grant)?;
                json(
                    self.with_store(move |s| match s.search(&query) {
                        Ok(report) => to_json(&report),
                        // A store nothing was written to yet has nothing to find.
                        Err(e) if e.kind() == Kind::NotFound => to_json(&SearchReport::default()),
                        Err(e) => Err(e),
                    })
                    .await?,
                )
            }
            Target::Api(name, ApiRequest::Versions) => json(
                self.with_store(move |s| {
                    let versions = s.versions(&name)?;
                    if versions.is_empty() {
                        return Err(s.explain_missing(no_releases(&name, s)));
                    }
                    let labels = s.labels(&name)?;
                    let reports = versions
                        .iter()
                        .map(|v| ReleaseReport::read(s, &name, v, &labels))
                        .collect::<Result<Vec<_>>>()?;
                    to_json(&reports)
                })
                .await?,
            ),
            Target::Api(name, ApiRequest::Resolve) => {
                let selector = selector(query)?;
                json(
                    self.with_store(move |s| {
                        let version = s.resolve(&name, &selector)?;
                        let labels = s.labels(&name)?;
                        let report = ReleaseReport::read(s, &name, &version, &labels)
                            .map_err(|e| s.explain_missing(e))?;
                        to_json(&report)
                    })
                    .await?,
                )
            }
            Target::Api(name, ApiRequest::History) => {
                let label = paths::query_param(query, "label")?
                    .map(|l| Label::parse(&l))
                    .transpose()?;
                json(
                    self.with_store(move |s| {
                        let moves = s.label_history(&name)?.ok_or_else(|| {
                            Error::usage(format!(
                                "{} keeps no history of label moves",
                                s.describe()
                            ))
                            .with_hint("only a registry serving a git repository has one")
                        })?;
                        let moves: Vec<_> = moves
                            .into_iter()
                            .filter(|m| label.as_ref().is_none_or(|l| m.label == l.as_str()))
                            .collect();
                        to_json(&moves)
                    })
                    .await?,
                )
            }
            Target::Api(name, ApiRequest::Content) => {
                let selector = selector(query)?;
                let version = {
                    let name = name.clone();
                    self.with_store(move |s| s.resolve(&name, &selector))
                        .await?
                };
                let mut file = self.content(name, version.clone(), head, headers).await?;
                // The selector may move: the answer is revalidated, its tag still the content's.
                file.cache = reply::NO_CACHE;
                Ok(reply::file_with(
                    file,
                    head,
                    headers,
                    &[("pulse-version", version.to_string())],
                ))
            }
        }
    }

    /// A release's content, from memory or else the store (verified on the way). A
    /// conditional request or a `HEAD` reads only the metadata when the content is not in
    /// memory: the answer needs only its checksum and size.
    async fn content(
        self: &Arc<Self>,
        name: Name,
        version: Version,
        head: bool,
        headers: &HeaderMap,
    ) -> Result<File> {
        if let Some(file) = self.cache.get(&name, &version, Part::Content) {
            return Ok(file);
        }
        let if_none_match = Condition::of(headers, header::IF_NONE_MATCH);
        let validate_only = head || if_none_match != Condition::Absent;
        let app = Arc::clone(self);
        self.with_store(move |s| {
            if validate_only {
                let meta = s
                    .metadata(&name, &version)
                    .map_err(|e| s.explain_missing(e))?;
                let etag = reply::etag_of(&meta.sha256);
                // The length of encrypted content is not in its metadata.
                let head = head && meta.encryption.is_none();
                if head || if_none_match.matches_weakly(&etag) {
                    // Only what describes the content: its tag, and for HEAD its length.
                    return Ok(File {
                        body: Bytes::new(),
                        size: meta.size,
                        etag,
                        content_type: MARKDOWN,
                        cache: reply::IMMUTABLE,
                    });
                }
            }
            // Encrypted content is passed on as it is kept: this server cannot read it.
            let (meta, kept) = s.fetch_kept(&name, &version)?;
            let (content, content_type) = match kept {
                Kept::Plain(content) => (content, MARKDOWN),
                Kept::Sealed(ciphertext) => (ciphertext, reply::SEALED),
            };
            let file = File {
                size: content.len() as u64,
                body: Bytes::from(content),
                etag: reply::etag_of(&meta.sha256),
                content_type,
                cache: reply::IMMUTABLE,
            };
            app.cache.put(&name, &version, Part::Content, file.clone());
            app.cache.put(
                &name,
                &version,
                Part::Metadata,
                File::json(to_json(&ReleaseFile::of(&meta))?).immutable(),
            );
            Ok(file)
        })
        .await
    }

    /// A release's `metadata.json`, from memory or else the store.
    async fn metadata(self: &Arc<Self>, name: Name, version: Version) -> Result<File> {
        if let Some(file) = self.cache.get(&name, &version, Part::Metadata) {
            return Ok(file);
        }
        let app = Arc::clone(self);
        self.with_store(move |s| {
            let meta = s
                .metadata(&name, &version)
                .map_err(|e| s.explain_missing(e))?;
            let file = File::json(to_json(&ReleaseFile::of(&meta))?).immutable();
            app.cache.put(&name, &version, Part::Metadata, file.clone());
            Ok(file)
        })
        .await
    }
}

/// What a release upload answers: the release and whether it was new.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Uploaded {
    /// The prompt.
    name: Name,
    /// The version.
    version: Version,
    /// `created` (`201`), or `unchanged` when the same release was already there (`200`).
    stored: Stored,
    /// The checksum of the content.
    sha256: Digest,
    /// The content's size in bytes.
    size: u64,
}

/// The `Pulse-Release` header: the release's metadata, every field optional.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleaseHeader {
    /// The prompt's description as of this release.
    description: Option<String>,
    /// The prompt's keywords as of this release.
    tags: Option<Vec<String>>,
    /// The release message.
    message: Option<String>,
    /// Who released it, `Name <email>` (default: the token's name).
    author: Option<String>,
    /// When it was released, RFC 3339 (default: now).
    created: Option<String>,
    /// `age` when the body is encrypted with age by the client: it is kept as it is, and
    /// `Pulse-Checksum` (then required) and `size` are the plaintext's.
    encryption: Option<String>,
    /// The plaintext's size in bytes (required with `encryption`).
    size: Option<u64>,
}

/// How a compare-and-swap of a pointer file (labels, index) came out.
enum Swap {
    /// Done (or nothing to do): the file as it is now, and whether anything changed.
    Done(Bytes, bool),
    /// The file changed since the client read it.
    Stale,
}

impl App {
    async fn upload(
        self: &Arc<Self>,
        name: Name,
        version: Version,
        grant: &Grant,
        headers: &HeaderMap,
        body: Body,
    ) -> (Reply, Option<&'static str>) {
        let release = match release_header(headers, grant) {
            Ok(r) => r,
            Err(e) => return (reply::error(&e), None),
        };
        let checksum = match checksum_header(headers) {
            Ok(c) => c,
            Err(e) => return (reply::error(&e), None),
        };
        let content = match self.read_body(body, headers, self.max_body).await {
            Ok(content) => content,
            Err(reply) => return (reply, None),
        };
        let sealed = match sealed_upload(&name, &version, &release, checksum, &content) {
            Ok(sealed) => sealed,
            Err(e) => return (reply::error(&e), None),
        };
        let sha256 = match &sealed {
            Some(recorded) => recorded.sha256,
            None => Digest::of(&content),
        };
        if let Some(expected) = checksum
            && expected != sha256
        {
            let e = Error::usage(format!(
                "the body of '{name}@{version}' has checksum {sha256}, not the {expected} its Pulse-Checksum says ({} bytes arrived)",
                content.len()
            ))
            .with_hint("the upload was cut short or altered on the way; nothing was written, send it again");
            return (reply::error(&e), None);
        }
        let size = sealed.map_or(content.len() as u64, |r| r.size);
        let new = NewRelease {
            name: name.clone(),
            version: version.clone(),
            content,
            description: release.description,
            tags: release.tags,
            message: release.message,
            author: release.author,
            created: release.created,
            sealed,
        };
        match self.with_store(move |s| s.put(&new)).await {
            Ok(stored) => {
                let (status, word) = match stored {
                    Stored::Created => (StatusCode::CREATED, "created"),
                    Stored::Unchanged => (StatusCode::OK, "unchanged"),
                };
                let answer = Uploaded {
                    name,
                    version,
                    stored,
                    sha256,
                    size,
                };
                match to_json(&answer) {
                    Ok(bytes) => {
                        let mut file = File::json(bytes);
                        file.etag = reply::etag_of(&sha256);
                        (reply::written(status, file), Some(word))
                    }
                    Err(e) => (reply::error(&e), None),
                }
            }
            Err(e) => (reply::error(&e), None),
        }
    }

    async fn move_labels(
        self: &Arc<Self>,
        name: Name,
        headers: &HeaderMap,
        body: Body,
    ) -> (Reply, Option<&'static str>) {
        let (if_match, if_none) = match preconditions(headers, &name, "labels.json") {
            Ok(c) => c,
            Err(reply) => return (*reply, None),
        };
        let limit = self.max_body.min(bounded::LABELS_JSON.max_bytes as u64);
        let bytes = match self.read_body(body, headers, limit).await {
            Ok(bytes) => bytes,
            Err(reply) => return (reply, None),
        };
        let wanted = match parse_labels(&bytes, &name) {
            Ok(w) => w,
            Err(e) => return (reply::error(&e), None),
        };
        let shown = name.clone();
        let swapped = self
            .with_store(move |s| {
                let versions = s.versions(&name)?;
                if versions.is_empty() {
                    return Err(no_prompt(&name, s));
                }
                let current = s.labels(&name)?;
                let body = labels_file(&current)?;
                let etag = reply::etag_of(&Digest::of(&body));
                let stale = (if_match != Condition::Absent && !if_match.matches_strongly(&etag))
                    || match &if_none {
                        Condition::Absent => false,
                        Condition::Any => !current.is_empty(),
                        tags => tags.matches_weakly(&etag),
                    };
                if stale {
                    return Ok(Swap::Stale);
                }
                let mut moves = Vec::new();
                for (label, to) in &wanted {
                    if current.get(label) == Some(to) {
                        continue;
                    }
                    if !versions.contains(to) {
                        return Err(crate::meta::no_release(&name, to));
                    }
                    moves.push(LabelSet {
                        name: name.clone(),
                        label: label.clone(),
                        expect: current
                            .get(label)
                            .map_or(Expect::Absent, |v| Expect::Is(v.clone())),
                        target: Some(to.clone()),
                    });
                }
                for (label, from) in &current {
                    if !wanted.contains_key(label) {
                        moves.push(LabelSet {
                            name: name.clone(),
                            label: label.clone(),
                            expect: Expect::Is(from.clone()),
                            target: None,
                        });
                    }
                }
                if moves.is_empty() {
                    return Ok(Swap::Done(body, false));
                }
                let outcomes = s.move_labels(&moves);
                if let Some(failed) = outcomes.iter().position(Result::is_err) {
                    undo(s, &moves, &outcomes);
                    let e = outcomes
                        .into_iter()
                        .nth(failed)
                        .and_then(Result::err)
                        .unwrap_or_else(|| Error::other("a label move failed"));
                    return match e.kind() {
                        Kind::Conflict => Ok(Swap::Stale),
                        _ => Err(e),
                    };
                }
                Ok(Swap::Done(labels_file(&s.labels(&name)?)?, true))
            })
            .await;
        swapped_reply(swapped, &shown, "labels.json", "moved")
    }

    async fn change_index(
        self: &Arc<Self>,
        name: Name,
        headers: &HeaderMap,
        body: Body,
    ) -> (Reply, Option<&'static str>) {
        let (if_match, if_none) = match preconditions(headers, &name, "_index.json") {
            Ok(c) => c,
            Err(reply) => return (*reply, None),
        };
        let limit = self.max_body.min(bounded::INDEX_JSON.max_bytes as u64);
        let bytes = match self.read_body(body, headers, limit).await {
            Ok(bytes) => bytes,
            Err(reply) => return (reply, None),
        };
        let wanted: PromptIndex =
            match parse_json(&bytes, bounded::INDEX_JSON, &name, "_index.json") {
                Ok(w) => w,
                Err(e) => return (reply::error(&e), None),
            };
        let shown = name.clone();
        let swapped = self
            .with_store(move |s| {
                let index = s.index(&name)?;
                if index.versions.is_empty() {
                    return Err(no_prompt(&name, s));
                }
                let body = to_json(&index)?;
                let etag = reply::etag_of(&Digest::of(&body));
                let stale = (if_match != Condition::Absent && !if_match.matches_strongly(&etag))
                    || match &if_none {
                        Condition::Absent => false,
                        Condition::Any => true,
                        tags => tags.matches_weakly(&etag),
                    };
                if stale {
                    return Ok(Swap::Stale);
                }
                if wanted.versions != index.versions {
                    return Err(Error::usage(format!(
                        "the _index.json sent for '{name}' lists other releases than it has"
                    ))
                    .with_hint(
                        "only the description and keywords may change: send the releases as read",
                    ));
                }
                if wanted.description == index.description && wanted.tags == index.tags {
                    return Ok(Swap::Done(body, false));
                }
                s.update_metadata(
                    &name,
                    &MetadataUpdate {
                        description: Some(wanted.description.unwrap_or_default()),
                        tags: Some(wanted.tags),
                    },
                )?;
                Ok(Swap::Done(to_json(&s.index(&name)?)?, true))
            })
            .await;
        swapped_reply(swapped, &shown, "_index.json", "updated")
    }

    async fn delete(self: &Arc<Self>, name: Name, version: Version) -> Result<Reply> {
        let (n, v) = (name.clone(), version.clone());
        self.with_store(move |s| s.delete(&n, &v)).await?;
        self.cache.forget(&name, &version);
        Ok(reply::empty(StatusCode::NO_CONTENT))
    }

    /// Read a request's body whole, at most `limit` bytes (`413` beyond, said up front
    /// when `Content-Length` already says so), within the request timeout (`408`).
    async fn read_body(
        &self,
        body: Body,
        headers: &HeaderMap,
        limit: u64,
    ) -> std::result::Result<Bytes, Reply> {
        let too_large = || {
            let mut r = reply::error_with(
                StatusCode::PAYLOAD_TOO_LARGE,
                Kind::Usage,
                &format!("the body is larger than this registry takes ({limit} bytes)"),
                vec!["the registry's operator sets the limit (--max-body)".to_owned()],
            );
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        };
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let room = usize::try_from(declared.unwrap_or(0).min(limit)).unwrap_or(0);
        let reading = async {
            let mut stream = body.into_data_stream();
            let mut bytes = BytesMut::with_capacity(room);
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| {
                    reply::error_with(
                        StatusCode::BAD_REQUEST,
                        Kind::Usage,
                        &format!("the body could not be read whole: {e}"),
                        vec!["nothing was written; send it again".to_owned()],
                    )
                })?;
                if (bytes.len() + chunk.len()) as u64 > limit {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(bytes.freeze())
        };
        match tokio::time::timeout(self.request_timeout, reading).await {
            Ok(read) => read,
            Err(_) => Err(reply::error_with(
                StatusCode::REQUEST_TIMEOUT,
                Kind::Unavailable,
                &format!(
                    "the body did not arrive within {} s",
                    self.request_timeout.as_secs()
                ),
                vec!["nothing was written; send it again".to_owned()],
            )),
        }
    }
}

/// Undo the moves that went through before one failed, each only if the label is still
/// where the move put it: a move of several labels is then all or nothing, as far as no
/// other writer moved one of them in between.
fn undo(store: &dyn Store, moves: &[LabelSet], outcomes: &[Result<Option<Version>>]) {
    let back: Vec<LabelSet> = moves
        .iter()
        .zip(outcomes)
        .filter_map(|(m, outcome)| {
            let before = outcome.as_ref().ok()?.clone();
            Some(LabelSet {
                name: m.name.clone(),
                label: m.label.clone(),
                expect: m
                    .target
                    .as_ref()
                    .map_or(Expect::Absent, |v| Expect::Is(v.clone())),
                target: before,
            })
        })
        .collect();
    for (m, outcome) in back.iter().zip(store.move_labels(&back)) {
        if let Err(e) = outcome {
            ::log::warn!(
                "could not move label '{}' of '{}' back after a failed move: {}",
                m.label,
                m.name,
                e.message()
            );
        }
    }
}

fn swapped_reply(
    swapped: Result<Swap>,
    name: &Name,
    file: &str,
    changed: &'static str,
) -> (Reply, Option<&'static str>) {
    match swapped {
        Ok(Swap::Done(body, did)) => (
            reply::written(StatusCode::OK, File::json(body)),
            Some(if did { changed } else { "unchanged" }),
        ),
        Ok(Swap::Stale) => (
            reply::error_with(
                StatusCode::PRECONDITION_FAILED,
                Kind::Conflict,
                &format!("'{name}/{file}' changed since its ETag was read"),
                vec![format!(
                    "GET /{name}/{file} again, make the change to what it says now, and PUT it with the new ETag in If-Match"
                )],
            ),
            Some("stale"),
        ),
        Err(e) => (reply::error(&e), None),
    }
}

/// `If-Match` and `If-None-Match` of a write to a pointer file; `428` without either.
fn preconditions(
    headers: &HeaderMap,
    name: &Name,
    file: &str,
) -> std::result::Result<(Condition, Condition), Box<Reply>> {
    let if_match = Condition::of(headers, header::IF_MATCH);
    let if_none = Condition::of(headers, header::IF_NONE_MATCH);
    if if_match == Condition::Absent && if_none == Condition::Absent {
        return Err(Box::new(reply::error_with(
            StatusCode::PRECONDITION_REQUIRED,
            Kind::Usage,
            &format!(
                "PUT /{name}/{file} needs If-Match with the ETag last read (or If-None-Match: * when there was nothing)"
            ),
            vec![format!(
                "GET /{name}/{file}, then PUT the new file with its ETag in If-Match"
            )],
        )));
    }
    Ok((if_match, if_none))
}

/// A JSON body, bounded before it is parsed.
fn parse_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    limits: bounded::Limits,
    name: &Name,
    file: &str,
) -> Result<T> {
    let bad = |why: String| {
        Error::usage(format!("the {file} sent for '{name}' {why}")).with_hint(format!(
            "send a JSON object as GET /{name}/{file} answers it"
        ))
    };
    bounded::check_json(bytes, limits).map_err(|why| bad(why.to_string()))?;
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(bad("is not a JSON object".to_owned()));
    }
    serde_json::from_slice(bytes).map_err(|e| bad(format!("is malformed: {e}")))
}

/// A label map sent to be the new `labels.json`: labels and the versions they point to.
fn parse_labels(bytes: &[u8], name: &Name) -> Result<BTreeMap<Label, Version>> {
    let raw: BTreeMap<String, String> =
        parse_json(bytes, bounded::LABELS_JSON, name, "labels.json")?;
    let mut out = BTreeMap::new();
    for (label, version) in raw {
        out.insert(Label::parse(&label)?, Version::parse(&version)?);
    }
    Ok(out)
}

/// The `Pulse-Release` header, decoded, with the author the token's name when it names none.
fn release_header(headers: &HeaderMap, grant: &Grant) -> Result<ReleaseHeader> {
    let mut release = match headers.get("pulse-release") {
        None => ReleaseHeader::default(),
        Some(value) => {
            let bad = |why: String| {
                Error::usage(format!("the Pulse-Release header {why}")).with_hint(
                    "send the release's metadata as a JSON object, percent-encoded (RFC 3986)",
                )
            };
            let text = value.to_str().map_err(|_| bad("is not ASCII".to_owned()))?;
            let json = percent_encoding::percent_decode_str(text)
                .decode_utf8()
                .map_err(|_| bad("is not UTF-8 once percent-decoded".to_owned()))?;
            bounded::check_json(json.as_bytes(), bounded::METADATA_JSON)
                .map_err(|why| bad(why.to_string()))?;
            if json.trim_start().as_bytes().first() != Some(&b'{') {
                return Err(bad("is not a JSON object".to_owned()));
            }
            serde_json::from_str(&json).map_err(|e| bad(format!("is malformed: {e}")))?
        }
    };
    if let Some(author) = &release.author
        && crate::meta::parse_author(author).is_none()
    {
        return Err(Error::usage(format!(
            "the author '{}' in Pulse-Release is not 'Name <email>'",
            crate::name::printable(author)
        )));
    }
    if let Some(created) = &release.created
        && crate::config::parse_time(created).is_none()
    {
        return Err(Error::usage(format!(
            "the time '{}' in Pulse-Release is not RFC 3339",
            crate::name::printable(created)
        )));
    }
    if release.author.is_none()
        && let (Some(name), Some(id)) = (&grant.name, &grant.id)
    {
        release.author = Some(format!("{name} <token-{id}>"));
    }
    Ok(release)
}

/// What an upload says of encrypted content: `None` for content in the clear; for content
/// encrypted with age by the client, the plaintext's checksum and size it declares (the
/// body cannot be checked against them here: the registry holds no key).
fn sealed_upload(
    name: &Name,
    version: &Version,
    release: &ReleaseHeader,
    checksum: Option<Digest>,
    body: &[u8],
) -> Result<Option<Recorded>> {
    match release.encryption.as_deref() {
        None => {
            if let Some(size) = release.size
                && size != body.len() as u64
            {
                return Err(Error::usage(format!(
                    "the body of '{name}@{version}' has {} bytes, not the {size} its Pulse-Release says",
                    body.len()
                ))
                .with_hint("the upload was cut short or altered on the way; nothing was written, send it again"));
            }
            Ok(None)
        }
        Some(crate::crypt::AGE) => {
            let (Some(sha256), Some(size)) = (checksum, release.size) else {
                return Err(Error::usage(format!(
                    "an encrypted upload of '{name}@{version}' needs Pulse-Checksum and the size, both of the plaintext"
                )));
            };
            if !body.starts_with(crate::crypt::AGE_MAGIC) {
                return Err(Error::usage(format!(
                    "the body of '{name}@{version}' is said to be encrypted with age but is not an age file"
                )));
            }
            Ok(Some(Recorded { sha256, size }))
        }
        Some(other) => Err(Error::usage(format!(
            "the Pulse-Release header names encryption '{}'; the registry knows only age",
            crate::name::printable(other)
        ))),
    }
}

/// The `Pulse-Checksum` header, if there is one.
fn checksum_header(headers: &HeaderMap) -> Result<Option<Digest>> {
    let Some(value) = headers.get("pulse-checksum") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    Digest::parse(&text.to_ascii_lowercase())
        .map(Some)
        .map_err(|_| {
            Error::usage(format!(
                "the Pulse-Checksum header '{}' is not 'sha256:<64 hex digits>'",
                crate::name::printable(text)
            ))
        })
}

/// The `selector` query parameter (`latest` when there is none).
fn selector(query: Option<&str>) -> Result<Selector> {
    match paths::query_param(query, "selector")? {
        Some(s) => Ok(Selector::parse(&s)?),
        None => Ok(Selector::Latest),
    }
}

/// The `prefix` query parameter (every name when there is none).
fn prefix_param(query: Option<&str>) -> Result<NamePrefix> {
    match paths::query_param(query, "prefix")? {
        Some(p) => Ok(NamePrefix::parse(&p)?),
        None => Ok(NamePrefix::all()),
    }
}

/// The `tags` query parameter: comma-separated keywords, all of which a prompt must have.
fn tags_param(query: Option<&str>) -> Result<Vec<String>> {
    Ok(paths::query_param(query, "tags")?
        .map(|t| {
            t.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default())
}

/// The search a request's query asks for, within the prompts the grant covers; a query
/// that is not one (no pattern, a pattern too long or not valid, a flag that is not
/// `true` or `false`) is a usage error (`400`).
fn search_query(query: Option<&str>, grant: &Grant) -> Result<Query> {
    let flag = |key: &str| -> Result<bool> {
        match paths::query_param(query, key)?.as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(Error::usage(format!(
                "the query parameter '{key}' is '{}', neither 'true' nor 'false'",
                crate::name::printable(other)
            ))),
        }
    };
    let pattern = paths::query_param(query, "q")?.ok_or_else(|| {
        Error::usage("a search needs its pattern in the query parameter 'q'")
            .with_hint("add '?q=TEXT' (percent-encoded) to the request")
    })?;
    let search = Query {
        pattern,
        regex: flag("regex")?,
        ignore_case: flag("ignore_case")?,
        all_versions: flag("all_versions")?,
        tags: tags_param(query)?,
        label: paths::query_param(query, "label")?
            .map(|l| Label::parse(&l))
            .transpose()?,
        prefix: prefix_param(query)?,
        within: Some(grant.prefixes.clone()),
    };
    // Refused here, before a worker is taken.
    search.matcher()?;
    Ok(search)
}

/// The prompts the store lists; a store nothing was written to yet lists none.
fn listed(store: &dyn Store) -> Result<Vec<Name>> {
    match store.list(&NamePrefix::all()) {
        Ok(names) => Ok(names),
        Err(e) if e.kind() == Kind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// A prompt's `labels.json` as the layout writes it.
fn labels_file(labels: &BTreeMap<Label, Version>) -> Result<Bytes> {
    let raw: BTreeMap<&str, String> = labels
        .iter()
        .map(|(l, v)| (l.as_str(), v.to_string()))
        .collect();
    to_json(&raw)
}

fn no_prompt(name: &Name, store: &dyn Store) -> Error {
    Error::not_found(format!("no prompt '{name}' in {}", store.describe()))
        .with_hint(Hint::ListPrompts)
}

fn no_releases(name: &Name, store: &dyn Store) -> Error {
    Error::not_found(format!(
        "prompt '{name}' has no releases in {}",
        store.describe()
    ))
    .with_hint(Hint::ListPrompts)
}

/// The one word the audit log gives a write's answer that said no more.
fn result_word(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "done",
        400 => "invalid",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        408 => "timeout",
        409 => "conflict",
        412 => "stale",
        413 => "too_large",
        428 => "precondition_required",
        503 => "unavailable",
        _ => "failed",
    }
}

fn unauthorized(refused: Refused) -> Reply {
    match refused {
        Refused::Malformed => unauthorized_with(
            "the Authorization header does not carry a pulse token ('Bearer pulse_<id>_<secret>')",
            "send the token as it was shown when it was made",
            true,
        ),
        Refused::Unknown => unauthorized_with(
            "the token is not one this registry knows (it was revoked, or never made here)",
            "ask the registry's operator for a token",
            true,
        ),
    }
}

fn unauthorized_with(message: &str, hint: &str, invalid: bool) -> Reply {
    let mut reply = reply::error_with(
        StatusCode::UNAUTHORIZED,
        Kind::Unavailable,
        message,
        vec![hint.to_owned()],
    );
    let challenge = if invalid {
        "Bearer realm=\"pulse\", error=\"invalid_token\""
    } else {
        "Bearer realm=\"pulse\""
    };
    reply.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    reply
}

fn no_such_path(path: &str) -> Reply {
    reply::error_with(
        StatusCode::NOT_FOUND,
        Kind::NotFound,
        &format!(
            "'{}' is not a file or request of this registry",
            crate::name::printable(path)
        ),
        vec![
            "releases are at /<name>/<version>/content.md; GET /_catalog.json lists the prompts"
                .to_owned(),
        ],
    )
}

fn not_allowed(method: &Method, path: &str, allowed: &'static str) -> Reply {
    let mut reply = reply::error_with(
        StatusCode::METHOD_NOT_ALLOWED,
        Kind::Usage,
        &format!(
            "{method} is not allowed on '{}'",
            crate::name::printable(path)
        ),
        vec![format!("it takes {allowed}")],
    );
    reply
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allowed));
    reply
}
