//! The registry's web view: read-only HTML pages under `/_ui/` for people with a browser.
//! The prompts, a prompt's releases, one release with its content, a diff between two
//! releases, and a prompt's labels with their history.
//!
//! The pages follow the JSON API's access rules: a read token in `Authorization: Bearer`,
//! or none when anonymous reads are allowed. A browser cannot send that header, so
//! `/_ui/login` takes a token once (`?token=`, or the body of its form) and keeps it in an
//! `HttpOnly`, `SameSite=Strict` cookie sent only to `/_ui`. No page ever shows a token.
//!
//! Pages are plain HTML written with [`Esc`], which escapes everything that comes from the
//! store or the request. Every answer carries a Content-Security-Policy that runs no
//! script at all and takes styles only from `/_ui/style.css`. Links are relative, so the
//! pages work behind a proxy that serves the registry under a path prefix. The store is
//! read, and the page written, on the store's workers: a large content or diff never
//! holds the server's runtime.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::routing::any;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};

use super::audit::{Action, Record};
use super::handlers::{App, Peer, Route, Who};
use super::paths::{self, OTHER_ROUTE, Unrouted};
use super::reply::{self, File, Reply};
use super::tokens::{Grant, Scope};
use crate::digest::Digest;
use crate::error::{Error, Kind, Result};
use crate::meta::PromptMeta;
use crate::name::{Label, Name, NamePrefix};
use crate::selector::Selector;
use crate::store::{Store, StoreExt};
use crate::version::Version;

/// The cookie that keeps a token for the pages.
const COOKIE: &str = "pulse_token";

/// The policy of every page: no script, no frame, no plugin, styles from the registry
/// only, forms sent to it only.
const CSP: &str = "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The policy of a release's raw content: nothing runs, not even as a document of its own.
const RAW_CSP: &str = "default-src 'none'; sandbox";

/// The content type of the pages.
const HTML: &str = "text/html; charset=utf-8";

/// How pages may be kept: never (what they show depends on the token).
const NO_STORE: &str = "no-store";

/// The largest part of a release's content a page shows; the raw file has it all.
const MAX_SHOWN: usize = 1 << 20;

/// The largest content the diff page compares (either side).
const MAX_DIFFED: usize = 1 << 20;

/// The largest body `/_ui/login` takes (a form with one token).
const MAX_LOGIN_BODY: usize = 4096;

/// The style sheet, `/_ui/style.css`.
const STYLE: &str = include_str!("web.css");

/// The routes of the pages, merged into the registry's router.
pub(crate) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/_ui", any(page))
        .route("/_ui/", any(page))
        .route("/_ui/{*page}", any(page))
}

/// Text made safe to put in HTML: in an element, or in an attribute's double quotes.
pub(crate) struct Esc<'a>(pub(crate) &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut done = 0;
        for (i, b) in self.0.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            // The bytes replaced are ASCII, so `i` is a character boundary.
            f.write_str(&self.0[done..i])?;
            f.write_str(entity)?;
            done = i + 1;
        }
        f.write_str(&self.0[done..])
    }
}

/// Append formatted text to a page (writing to a `String` cannot fail).
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {
        let _ = write!($out, $($arg)*);
    };
}

/// What a path under `/_ui` names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Page {
    /// `/_ui`: sent on to `/_ui/`.
    Bare,
    /// `/_ui/`: the prompts.
    Home,
    /// `/_ui/style.css`.
    Style,
    /// `/_ui/login`: a token given once, kept in a cookie.
    Login,
    /// `/_ui/logout`: the cookie dropped.
    Logout,
    /// `/_ui/p/<name>` (or `…/versions`): a prompt's releases.
    Prompt(Name),
    /// `/_ui/p/<name>/v/<version>`: one release.
    Release(Name, Version),
    /// `/_ui/p/<name>/v/<version>/content.md`: a release's content, as it is.
    Raw(Name, Version),
    /// `/_ui/p/<name>/diff?from=A&to=B`: a diff between two releases.
    Diff(Name),
    /// `/_ui/p/<name>/labels`: a prompt's labels and their history.
    Labels(Name),
}

impl Page {
    /// The route template the metrics count the page by: never a prompt's name.
    fn route(&self) -> &'static str {
        match self {
            Page::Bare | Page::Home => "/_ui/",
            Page::Style => "/_ui/style.css",
            Page::Login => "/_ui/login",
            Page::Logout => "/_ui/logout",
            Page::Prompt(_) => "/_ui/p/{name}",
            Page::Release(..) => "/_ui/p/{name}/v/{version}",
            Page::Raw(..) => "/_ui/p/{name}/v/{version}/content.md",
            Page::Diff(_) => "/_ui/p/{name}/diff",
            Page::Labels(_) => "/_ui/p/{name}/labels",
        }
    }

    /// The prompt the page shows, if it shows one.
    fn name(&self) -> Option<&Name> {
        match self {
            Page::Prompt(n)
            | Page::Release(n, _)
            | Page::Raw(n, _)
            | Page::Diff(n)
            | Page::Labels(n) => Some(n),
            _ => None,
        }
    }

    /// Whether the page needs no token: it shows nothing of the store.
    fn is_open(&self) -> bool {
        matches!(self, Page::Bare | Page::Style | Page::Login | Page::Logout)
    }
}

/// The last segments that name a page of a prompt rather than a part of its name (a
/// segment of a name is never a version, so `v/<version>` is always a release).
const PAGE_WORDS: [&str; 3] = ["versions", "diff", "labels"];

/// What `path` names. A prompt whose name ends in one of [`PAGE_WORDS`] has its page at
/// `…/<name>/versions`, as the JSON API names its requests by their last segment.
fn parse(path: &str) -> std::result::Result<Page, Unrouted> {
    let rest = path.strip_prefix("/_ui").ok_or(Unrouted::Unknown)?;
    match rest {
        "" => return Ok(Page::Bare),
        "/" => return Ok(Page::Home),
        "/style.css" => return Ok(Page::Style),
        "/login" => return Ok(Page::Login),
        "/logout" => return Ok(Page::Logout),
        _ => {}
    }
    let rest = rest
        .strip_prefix("/p/")
        .filter(|r| !r.is_empty())
        .ok_or(Unrouted::Unknown)?;
    let segments: Vec<&str> = rest.split('/').collect();
    let name = |parts: &[&str]| paths::name_of(&parts.join("/"));
    match segments.as_slice() {
        [parts @ .., "v", version, "content.md"] if !parts.is_empty() => {
            Ok(Page::Raw(name(parts)?, paths::version_of(version)?))
        }
        [parts @ .., "v", version] if !parts.is_empty() && Version::parse(version).is_ok() => {
            Ok(Page::Release(name(parts)?, paths::version_of(version)?))
        }
        [parts @ .., "versions"] if !parts.is_empty() => Ok(Page::Prompt(name(parts)?)),
        [parts @ .., "diff"] if !parts.is_empty() => Ok(Page::Diff(name(parts)?)),
        [parts @ .., "labels"] if !parts.is_empty() => Ok(Page::Labels(name(parts)?)),
        parts => Ok(Page::Prompt(name(parts)?)),
    }
}

/// The way from `path` back to `/_ui/`, as a relative reference (`./`, `../../`).
fn root_of(path: &str) -> String {
    let depth = path
        .strip_prefix("/_ui/")
        .map_or(0, |rest| rest.matches('/').count());
    if depth == 0 {
        "./".to_owned()
    } else {
        "../".repeat(depth)
    }
}

/// A prompt's page, relative to `/_ui/`.
fn prompt_href(name: &Name) -> String {
    let last = name.as_str().rsplit('/').next().unwrap_or_default();
    if PAGE_WORDS.contains(&last) {
        format!("p/{name}/versions")
    } else {
        format!("p/{name}")
    }
}

/// A release's page, relative to `/_ui/`.
fn release_href(name: &Name, version: &Version) -> String {
    format!("p/{name}/v/{version}")
}

/// Every request under `/_ui`.
async fn page(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    let parsed = parse(uri.path());
    let route = parsed.as_ref().map_or(OTHER_ROUTE, Page::route);
    let root = root_of(uri.path());
    let mut reply = match parsed {
        Ok(page) => {
            let request = Request {
                app: &app,
                peer,
                root,
                query: uri.query(),
                headers: &headers,
            };
            request.answer(page, &method, body).await
        }
        Err(Unrouted::Unknown) => error_page(
            &root,
            None,
            StatusCode::NOT_FOUND,
            &format!(
                "'{}' is not a page of this registry",
                crate::name::printable(uri.path())
            ),
            &[],
        ),
        Err(Unrouted::Invalid(e)) => error_of(&root, None, &e),
    };
    reply.extensions_mut().insert(Route(route));
    let headers = reply.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    reply
}

/// One request for a page, with what answering it needs.
struct Request<'a> {
    app: &'a Arc<App>,
    peer: Peer,
    /// The way back to `/_ui/` from the page asked for.
    root: String,
    query: Option<&'a str>,
    headers: &'a HeaderMap,
}

impl Request<'_> {
    async fn answer(&self, page: Page, method: &Method, body: Body) -> Reply {
        let allowed = if page == Page::Login {
            "GET, HEAD, POST"
        } else {
            "GET, HEAD"
        };
        let posted = *method == Method::POST && page == Page::Login;
        if !(posted || *method == Method::GET || *method == Method::HEAD) {
            let mut reply = error_page(
                &self.root,
                None,
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("{method} is not allowed on this page: it takes {allowed}"),
                &[],
            );
            reply
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allowed));
            return reply;
        }
        // Signing in or out is never started by another site (a login CSRF would sign a
        // browser in as someone else): a browser says where a request came from.
        if matches!(page, Page::Login | Page::Logout) && self.cross_site() {
            self.refused(None, None, StatusCode::FORBIDDEN);
            return error_page(
                &self.root,
                None,
                StatusCode::FORBIDDEN,
                "Signing in or out is refused when another site starts it. Open the sign-in page of this registry yourself.",
                &[],
            );
        }
        match page {
            Page::Bare => return redirect("_ui/", None),
            Page::Style => return self.style(),
            Page::Logout => return redirect("login", Some(&clear_cookie())),
            Page::Login => return self.login(posted, body).await,
            _ => {}
        }
        debug_assert!(!page.is_open());
        let grant = match self.access(&page) {
            Ok(grant) => grant,
            Err(reply) => return *reply,
        };
        if let Page::Raw(name, version) = page {
            return self.raw(name, version, &grant).await;
        }
        let query = self.query.map(str::to_owned);
        let root = self.root.clone();
        let viewer = grant.clone();
        let shown = self
            .app
            .with_store(move |s| {
                let query = query.as_deref();
                let html = match page {
                    Page::Prompt(name) => prompt(s, &name, &root)?,
                    Page::Release(name, version) => release(s, &name, &version, &root)?,
                    Page::Diff(name) => diff(s, &name, query, &root)?,
                    Page::Labels(name) => labels(s, &name, &root)?,
                    _ => home(s, &viewer, query, &root)?,
                };
                Ok(document(&root, Some(&viewer), &html.title, &html.main))
            })
            .await;
        match shown {
            Ok(text) => html(StatusCode::OK, text),
            Err(e) => error_of(&self.root, Some(&grant), &e),
        }
    }

    /// Who may see the page: the token in `Authorization`, else the one in the cookie,
    /// else nobody (allowed when anonymous reads are). A refusal is the sign-in page
    /// (`401`) or a `403`, and is written to the audit log.
    fn access(&self, page: &Page) -> std::result::Result<Grant, Box<Reply>> {
        let from_cookie = self.headers.get(header::AUTHORIZATION).is_none();
        let who = match self.app.authenticate(self.headers) {
            Ok(Who::Nobody) => match cookie_token(self.headers) {
                Some(token) => self.app.tokens.check(&token).map(Who::Token),
                None => Ok(Who::Nobody),
            },
            other => other,
        };
        let grant = match who {
            Ok(Who::Token(grant)) => grant,
            Ok(Who::Nobody) if self.app.allow_anonymous_read => Grant::anonymous(),
            Ok(Who::Nobody) => {
                self.refused(None, page.name(), StatusCode::UNAUTHORIZED);
                return Err(Box::new(sign_in(&self.root, None)));
            }
            Err(_) => {
                self.refused(None, page.name(), StatusCode::UNAUTHORIZED);
                let mut reply = sign_in(
                    &self.root,
                    Some(
                        "The token is not one this registry knows: it was revoked, or never made here.",
                    ),
                );
                if from_cookie {
                    set_cookie(&mut reply, &clear_cookie());
                }
                return Err(Box::new(reply));
            }
        };
        if let Some(name) = page.name()
            && !grant.allows(Scope::Read, name)
        {
            self.refused(grant.id.as_deref(), Some(name), StatusCode::FORBIDDEN);
            let message = format!(
                "token '{}' may not read '{name}'",
                grant.id.as_deref().unwrap_or("anonymous")
            );
            return Err(Box::new(error_page(
                &self.root,
                Some(&grant),
                StatusCode::FORBIDDEN,
                &message,
                &["use a token whose prefixes cover it".to_owned()],
            )));
        }
        Ok(grant)
    }

    /// Write a refused read to the audit log.
    fn refused(&self, token: Option<&str>, name: Option<&Name>, status: StatusCode) {
        let target = name.map(Name::to_string);
        self.app.audit.write(&Record {
            time: super::audit::rfc3339(SystemTime::now()),
            token,
            client: super::audit::client(self.peer.0),
            action: Action::Read,
            target: target.as_deref(),
            status: status.as_u16(),
            result: if status == StatusCode::UNAUTHORIZED {
                "unauthorized"
            } else {
                "forbidden"
            },
        });
    }

    /// `/_ui/style.css`, revalidated by its `ETag`.
    fn style(&self) -> Reply {
        let body = Bytes::from_static(STYLE.as_bytes());
        let file = File {
            etag: reply::etag_of(&Digest::of(&body)),
            size: body.len() as u64,
            body,
            content_type: "text/css; charset=utf-8",
            cache: reply::NO_CACHE,
        };
        reply::file(file, false, self.headers)
    }

    /// Whether the browser says another site started this request (`Sec-Fetch-Site:
    /// cross-site`). A request without the header (a program, an old browser) is not.
    fn cross_site(&self) -> bool {
        self.headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
    }

    /// `/_ui/login`: without a token, the sign-in form; with a good one (`?token=`, or
    /// the form's body), the cookie, and on to the prompts.
    async fn login(&self, posted: bool, body: Body) -> Reply {
        let given = if posted {
            let read = tokio::time::timeout(
                self.app.request_timeout,
                axum::body::to_bytes(body, MAX_LOGIN_BODY),
            )
            .await;
            match read {
                Ok(Ok(bytes)) => std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|form| paths::query_param(Some(form), "token").ok().flatten()),
                _ => None,
            }
        } else {
            match paths::query_param(self.query, "token") {
                Ok(None) => return sign_in_with(&self.root, None, StatusCode::OK),
                Ok(Some(token)) => Some(token),
                Err(_) => None,
            }
        };
        let token = given.map(|t| t.trim().to_owned()).unwrap_or_default();
        match self.app.tokens.check(&token) {
            // A token that is known is `pulse_<id>_<hex>`: nothing in it needs quoting.
            Ok(_) => redirect(
                "./",
                Some(&format!(
                    "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/_ui"
                )),
            ),
            Err(_) => {
                self.refused(None, None, StatusCode::UNAUTHORIZED);
                sign_in(
                    &self.root,
                    Some(
                        "That is not a token this registry knows: it was revoked, mistyped, or never made here.",
                    ),
                )
            }
        }
    }

    /// A release's content as it is, as plain text, for the browser to show.
    async fn raw(&self, name: Name, version: Version, grant: &Grant) -> Reply {
        let fetched = self
            .app
            .with_store(move |s| {
                s.fetch_release(&name, &version)
                    .map_err(|e| s.explain_missing(e))
            })
            .await;
        match fetched {
            Ok((meta, content)) => {
                let file = File {
                    size: content.len() as u64,
                    body: Bytes::from(content),
                    etag: reply::etag_of(&meta.sha256),
                    content_type: "text/plain; charset=utf-8",
                    cache: "private, no-cache",
                };
                let mut reply = reply::file(file, false, self.headers);
                reply.headers_mut().insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(RAW_CSP),
                );
                reply
            }
            Err(e) => error_of(&self.root, Some(grant), &e),
        }
    }
}

/// The token in the request's cookie, if it has one.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == COOKIE).then(|| value.trim_matches('"').to_owned())
        })
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value that drops the token.
fn clear_cookie() -> String {
    format!("{COOKIE}=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/_ui")
}

fn set_cookie(reply: &mut Reply, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        reply.headers_mut().insert(header::SET_COOKIE, value);
    }
}

/// `303 See Other` to `location` (relative to the page asked for), with a cookie.
fn redirect(location: &str, cookie: Option<&str>) -> Reply {
    let mut reply = reply::empty(StatusCode::SEE_OTHER);
    let headers = reply.headers_mut();
    if let Ok(location) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    if let Some(cookie) = cookie {
        set_cookie(&mut reply, cookie);
    }
    reply
}

/// A page's answer.
fn html(status: StatusCode, text: String) -> Reply {
    let mut reply = reply::empty(status);
    *reply.body_mut() = Body::from(text);
    let headers = reply.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    reply
}

/// The sign-in page, `401`, with a challenge for programs.
fn sign_in(root: &str, problem: Option<&str>) -> Reply {
    let mut reply = sign_in_with(root, problem, StatusCode::UNAUTHORIZED);
    reply.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"pulse\""),
    );
    reply
}

fn sign_in_with(root: &str, problem: Option<&str>, status: StatusCode) -> Reply {
    let mut main = String::from("<h1>Sign in</h1>\n");
    if let Some(problem) = problem {
        w!(main, "<p class=\"error\">{}</p>\n", Esc(problem));
    }
    w!(
        main,
        "<p>This registry shows its prompts to holders of a token. Paste a token made with \
         <code>pulse token add NAME --scope read</code>: this browser keeps it in a cookie \
         until it closes, and sends it to these pages only.</p>\n\
         <form method=\"post\" action=\"{}login\">\
         <label>Token <input type=\"password\" name=\"token\" autocomplete=\"off\" required></label> \
         <button type=\"submit\">Sign in</button></form>\n\
         <p class=\"muted\">Programs send the token as <code>Authorization: Bearer</code> instead.</p>\n",
        Esc(root)
    );
    html(status, document(root, None, "Sign in", &main))
}

/// An error page with `status`, its message and what to do next.
fn error_page(
    root: &str,
    viewer: Option<&Grant>,
    status: StatusCode,
    message: &str,
    hints: &[String],
) -> Reply {
    let title = status.canonical_reason().unwrap_or("Error");
    let mut main = String::new();
    w!(
        main,
        "<h1>{}</h1>\n<p class=\"error\">{}</p>\n",
        Esc(title),
        Esc(message)
    );
    for hint in hints {
        w!(main, "<p class=\"muted\">hint: {}</p>\n", Esc(hint));
    }
    w!(main, "<p><a href=\"{}\">All prompts</a></p>\n", Esc(root));
    html(status, document(root, viewer, title, &main))
}

/// The error page of a library error: its kind's status, message and hints.
fn error_of(root: &str, viewer: Option<&Grant>, e: &Error) -> Reply {
    let hints: Vec<String> = e.hints().iter().map(reply::hint_text).collect();
    error_page(
        root,
        viewer,
        reply::status_of(e.kind()),
        e.message(),
        &hints,
    )
}

/// A page's title and what its `<main>` holds.
struct Html {
    title: String,
    main: String,
}

/// A whole page around `main`.
fn document(root: &str, viewer: Option<&Grant>, title: &str, main: &str) -> String {
    let root = Esc(root);
    let who = match viewer {
        Some(Grant {
            id: Some(id), name, ..
        }) => format!(
            "token {} ({}) · <a href=\"{root}logout\">sign out</a>",
            Esc(name.as_deref().unwrap_or("")),
            Esc(id)
        ),
        Some(_) => format!("anonymous · <a href=\"{root}login\">sign in</a>"),
        None => String::new(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · pulse</title>\n<link rel=\"stylesheet\" href=\"{root}style.css\">\n</head>\n\
         <body>\n<header><a class=\"home\" href=\"{root}\">pulse</a><span class=\"who\">{who}</span></header>\n\
         <main>\n{main}</main>\n<footer>pulse {}: a read-only view of this registry</footer>\n\
         </body>\n</html>\n",
        Esc(title),
        env!("CARGO_PKG_VERSION"),
    )
}

/// Bytes as a person reads a size.
fn size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

/// The labels that point to `version`, as badges.
fn badges(labels: &std::collections::BTreeMap<Label, Version>, version: &Version) -> String {
    let mut out = String::new();
    for (label, _) in labels.iter().filter(|(_, v)| *v == version) {
        w!(out, "<span class=\"label\">{}</span>", Esc(label.as_str()));
    }
    out
}

fn no_prompt(name: &Name) -> Error {
    Error::not_found(format!("no prompt '{name}' in this registry"))
        .with_hint("the list of prompts is at /_ui/")
}

/// The releases of `name` in SemVer order, or not found when it has none.
fn versions_of(s: &dyn Store, name: &Name) -> Result<Vec<Version>> {
    let versions = s.versions(name)?;
    if versions.is_empty() {
        return Err(s.explain_missing(no_prompt(name)));
    }
    Ok(versions)
}

/// `/_ui/`: every prompt the viewer may read, under `?prefix=`.
fn home(s: &dyn Store, viewer: &Grant, query: Option<&str>, root: &str) -> Result<Html> {
    let typed = paths::query_param(query, "prefix")?.unwrap_or_default();
    let typed = typed.trim();
    let prefix = NamePrefix::parse(typed)?;
    let rows: Vec<_> = match s.summaries(&prefix) {
        Ok(rows) => rows,
        // A store nothing was written to yet lists nothing.
        Err(e) if e.kind() == Kind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    }
    .into_iter()
    .filter(|r| viewer.covers(&r.name))
    .collect();
    let root = Esc(root);
    let mut main = String::from("<h1>Prompts</h1>\n");
    w!(
        main,
        "<form method=\"get\" action=\"{root}\"><label>Name prefix \
         <input name=\"prefix\" value=\"{}\" placeholder=\"team\"></label> \
         <button type=\"submit\">Filter</button></form>\n",
        Esc(typed)
    );
    if rows.is_empty() {
        main.push_str("<p class=\"note\">No prompts here.</p>\n");
    } else {
        main.push_str(
            "<table class=\"prompts\">\n<thead><tr><th>Prompt</th><th>Latest</th><th>Labels</th>\
             <th>Description</th></tr></thead>\n<tbody>\n",
        );
        for row in &rows {
            let name = &row.name;
            w!(
                main,
                "<tr><td><a href=\"{root}{}\">{}</a></td><td>",
                Esc(&prompt_href(name)),
                Esc(name.as_str())
            );
            if let Some(latest) = &row.latest {
                w!(
                    main,
                    "<a href=\"{root}{}\">{}</a>",
                    Esc(&release_href(name, latest)),
                    Esc(&latest.to_string())
                );
            }
            main.push_str("</td><td>");
            for (label, version) in &row.labels {
                w!(
                    main,
                    "<a class=\"label\" href=\"{root}{}\">{} → {}</a>",
                    Esc(&release_href(name, version)),
                    Esc(label.as_str()),
                    Esc(&version.to_string())
                );
            }
            w!(
                main,
                "</td><td>{}</td></tr>\n",
                Esc(row.description.as_deref().unwrap_or(""))
            );
        }
        main.push_str("</tbody>\n</table>\n");
        w!(
            main,
            "<p class=\"muted\">{} prompt{}</p>\n",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" }
        );
    }
    Ok(Html {
        title: "Prompts".to_owned(),
        main,
    })
}

/// `/_ui/p/<name>`: a prompt's releases, newest first.
fn prompt(s: &dyn Store, name: &Name, root: &str) -> Result<Html> {
    let versions = versions_of(s, name)?;
    let labels = s.labels(name)?;
    let about = match s.prompt_metadata(name) {
        Ok(meta) => meta,
        Err(e) if e.kind() == Kind::NotFound => PromptMeta::default(),
        Err(e) => return Err(e),
    };
    let root = Esc(root);
    let mut main = String::new();
    w!(main, "<h1>{}</h1>\n", Esc(name.as_str()));
    if let Some(description) = &about.description {
        w!(main, "<p>{}</p>\n", Esc(description));
    }
    if !about.tags.is_empty() {
        main.push_str("<p>");
        for tag in &about.tags {
            w!(main, "<span class=\"label\">{}</span>", Esc(tag));
        }
        main.push_str("</p>\n");
    }
    w!(
        main,
        "<p><a href=\"{root}p/{}/labels\">Labels and their history</a></p>\n",
        Esc(name.as_str())
    );
    main.push_str(
        "<table class=\"versions\">\n<thead><tr><th>Version</th><th>Released</th><th>Author</th>\
         <th>Size</th><th>Labels</th><th>Changes</th></tr></thead>\n<tbody>\n",
    );
    let newest_first: Vec<&Version> = versions.iter().rev().collect();
    for (i, version) in newest_first.iter().enumerate() {
        let meta = s
            .metadata(name, version)
            .map_err(|e| s.explain_missing(e))?;
        w!(
            main,
            "<tr><td><a href=\"{root}{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>",
            Esc(&release_href(name, version)),
            Esc(&version.to_string()),
            Esc(&meta.created),
            Esc(&meta.author),
            Esc(&size(meta.size)),
            badges(&labels, version)
        );
        if let Some(older) = newest_first.get(i + 1) {
            w!(
                main,
                "<a href=\"{root}p/{}/diff?from={}&amp;to={}\">diff from {}</a>",
                Esc(name.as_str()),
                Esc(&older.to_string()),
                Esc(&version.to_string()),
                Esc(&older.to_string())
            );
        }
        main.push_str("</td></tr>\n");
    }
    main.push_str("</tbody>\n</table>\n");
    Ok(Html {
        title: name.to_string(),
        main,
    })
}

/// `/_ui/p/<name>/v/<version>`: one release, its metadata and its content.
fn release(s: &dyn Store, name: &Name, version: &Version, root: &str) -> Result<Html> {
    let meta = s
        .metadata(name, version)
        .map_err(|e| s.explain_missing(e))?;
    // Content kept encrypted is shown only if this server holds a key that opens it.
    let content = match s.fetch_release(name, version) {
        Ok((_, content)) => Some(content),
        Err(e) if meta.encryption.is_some() && e.kind() == Kind::Unavailable => None,
        Err(e) => return Err(s.explain_missing(e)),
    };
    let labels = s.labels(name)?;
    let root = Esc(root);
    let mut main = String::new();
    w!(
        main,
        "<h1><a href=\"{root}{}\">{}</a>@{}</h1>\n<table class=\"meta\">\n",
        Esc(&prompt_href(name)),
        Esc(name.as_str()),
        Esc(&version.to_string())
    );
    let mut row = |field: &str, value: &str| {
        w!(main, "<tr><th>{}</th><td>{value}</td></tr>\n", Esc(field));
    };
    row(
        "Checksum",
        &format!("<code>{}</code>", Esc(&meta.sha256.to_string())),
    );
    row("Size", &Esc(&size(meta.size)).to_string());
    row("Author", &Esc(&meta.author).to_string());
    row("Created", &Esc(&meta.created).to_string());
    row("Message", &Esc(&meta.message).to_string());
    row(
        "Description",
        &Esc(meta.description.as_deref().unwrap_or("")).to_string(),
    );
    let tags: String = meta
        .tags
        .iter()
        .map(|t| format!("<span class=\"label\">{}</span>", Esc(t)))
        .collect();
    row("Keywords", &tags);
    row("Labels", &badges(&labels, version));
    if let Some(commit) = &meta.commit {
        row("Commit", &format!("<code>{}</code>", Esc(commit)));
    }
    if let Some(encryption) = &meta.encryption {
        row("Encryption", &Esc(encryption).to_string());
    }
    main.push_str("</table>\n<h2>Content</h2>\n");
    let Some(content) = content else {
        main.push_str(
            "<p class=\"note\">This release is kept encrypted with age, and this server holds \
             no key that opens it: it passes the encrypted file on to clients, which decrypt it \
             with their own identity.</p>\n",
        );
        return Ok(Html {
            title: format!("{name}@{version}"),
            main,
        });
    };
    let text = String::from_utf8_lossy(&content);
    if let Cow::Owned(_) = text {
        main.push_str(
            "<p class=\"note\">This content is not valid UTF-8: the bytes that are not are shown \
             as \u{FFFD}. The raw file has them as they are.</p>\n",
        );
    }
    let mut end = text.len().min(MAX_SHOWN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end < text.len() {
        w!(
            main,
            "<p class=\"note\">Only the first {} of {} are shown here: the raw file has it all.</p>\n",
            size(end as u64),
            size(meta.size)
        );
    }
    w!(main, "<pre class=\"content\">{}</pre>\n", Esc(&text[..end]));
    w!(
        main,
        "<p><a href=\"{root}p/{name}/v/{version}/content.md\">Raw content.md</a> · \
         programs read it at <code>/{name}/{version}/content.md</code></p>\n",
        name = Esc(name.as_str()),
        version = Esc(&version.to_string())
    );
    Ok(Html {
        title: format!("{name}@{version}"),
        main,
    })
}

/// The release `?key=` selects (`None` when the query does not say).
fn selected(s: &dyn Store, name: &Name, query: Option<&str>, key: &str) -> Result<Option<Version>> {
    match paths::query_param(query, key)? {
        Some(text) if !text.trim().is_empty() => {
            let selector = Selector::parse(text.trim())?;
            Ok(Some(s.resolve(name, &selector)?))
        }
        _ => Ok(None),
    }
}

/// `/_ui/p/<name>/diff?from=A&to=B`: what changed between two releases (`to` defaults to
/// the newest, `from` to the one before it). Either may be a selector.
fn diff(s: &dyn Store, name: &Name, query: Option<&str>, root: &str) -> Result<Html> {
    let versions = versions_of(s, name)?;
    let to = match selected(s, name, query, "to")? {
        Some(v) => v,
        None => versions.last().cloned().ok_or_else(|| no_prompt(name))?,
    };
    let from = match selected(s, name, query, "from")? {
        Some(v) => v,
        None => versions
            .iter()
            .rev()
            .find(|v| **v < to)
            .cloned()
            .unwrap_or_else(|| to.clone()),
    };
    let root = Esc(root);
    let mut main = String::new();
    w!(
        main,
        "<h1><a href=\"{root}{}\">{}</a>: {} → {}</h1>\n",
        Esc(&prompt_href(name)),
        Esc(name.as_str()),
        Esc(&from.to_string()),
        Esc(&to.to_string())
    );
    w!(
        main,
        "<form method=\"get\" action=\"{root}p/{}/diff\">",
        Esc(name.as_str())
    );
    for (key, label, chosen) in [("from", "From", &from), ("to", "to", &to)] {
        w!(main, "<label>{label} <select name=\"{key}\">");
        for v in versions.iter().rev() {
            let v = v.to_string();
            w!(
                main,
                "<option{}>{}</option>",
                if v == chosen.to_string() {
                    " selected"
                } else {
                    ""
                },
                Esc(&v)
            );
        }
        main.push_str("</select></label> ");
    }
    main.push_str("<button type=\"submit\">Compare</button></form>\n");
    let old = s.fetch(name, &from).map_err(|e| s.explain_missing(e))?;
    let new = s.fetch(name, &to).map_err(|e| s.explain_missing(e))?;
    if old == new {
        main.push_str("<p class=\"note\">The two releases have the same content.</p>\n");
    } else if old.len() > MAX_DIFFED || new.len() > MAX_DIFFED {
        w!(
            main,
            "<p class=\"note\">These contents are too large to compare here (over {}): \
             <code>pulse diff {name}@{from} {name}@{to}</code> compares them.</p>\n",
            size(MAX_DIFFED as u64),
            name = Esc(name.as_str()),
            from = Esc(&from.to_string()),
            to = Esc(&to.to_string())
        );
    } else if crate::diff::is_binary(&old, &new) {
        main.push_str("<p class=\"note\">Binary contents differ.</p>\n");
    } else {
        let hunks = crate::diff::hunks(&old, &new);
        let count = |kind| {
            hunks
                .iter()
                .flat_map(|h| &h.lines)
                .filter(|l| l.kind == kind)
                .count()
        };
        w!(
            main,
            "<p class=\"muted\">{} line(s) added, {} removed</p>\n<pre class=\"diff\">",
            count(crate::diff::LineKind::Added),
            count(crate::diff::LineKind::Removed)
        );
        w!(
            main,
            "<span class=\"file\">--- {name}@{}</span>\n<span class=\"file\">+++ {name}@{}</span>\n",
            Esc(&from.to_string()),
            Esc(&to.to_string()),
            name = Esc(name.as_str())
        );
        for hunk in &hunks {
            w!(main, "<span class=\"hunk\">{}</span>\n", Esc(&hunk.header));
            for line in &hunk.lines {
                let class = match line.kind {
                    crate::diff::LineKind::Context => "ctx",
                    crate::diff::LineKind::Added => "add",
                    crate::diff::LineKind::Removed => "del",
                };
                w!(
                    main,
                    "<span class=\"{class}\">{}{}</span>\n",
                    line.kind.prefix(),
                    Esc(&String::from_utf8_lossy(&line.text))
                );
                if !line.newline {
                    main.push_str("<span class=\"eof\">\\ No newline at end of file</span>\n");
                }
            }
        }
        main.push_str("</pre>\n");
    }
    Ok(Html {
        title: format!("{name}: {from} → {to}"),
        main,
    })
}

/// `/_ui/p/<name>/labels`: where a prompt's labels point, and who moved them when, if the
/// store keeps that.
fn labels(s: &dyn Store, name: &Name, root: &str) -> Result<Html> {
    versions_of(s, name)?;
    let current = s.labels(name)?;
    let history = s.label_history(name)?;
    let root = Esc(root);
    let mut main = String::new();
    w!(
        main,
        "<h1><a href=\"{root}{}\">{}</a>: labels</h1>\n",
        Esc(&prompt_href(name)),
        Esc(name.as_str())
    );
    if current.is_empty() {
        main.push_str("<p class=\"note\">No label points to a release of this prompt.</p>\n");
    } else {
        main.push_str(
            "<table class=\"labels\">\n<thead><tr><th>Label</th><th>Release</th></tr></thead>\n<tbody>\n",
        );
        for (label, version) in &current {
            w!(
                main,
                "<tr><td><span class=\"label\">{}</span></td><td><a href=\"{root}{}\">{}</a></td></tr>\n",
                Esc(label.as_str()),
                Esc(&release_href(name, version)),
                Esc(&version.to_string())
            );
        }
        main.push_str("</tbody>\n</table>\n");
    }
    main.push_str("<h2>History</h2>\n");
    match history {
        None => main.push_str(
            "<p class=\"note\">This store keeps no history of label moves: only a registry \
             serving a git repository records who moved a label, and when.</p>\n",
        ),
        Some(moves) if moves.is_empty() => {
            main.push_str("<p class=\"note\">No label of this prompt has moved yet.</p>\n");
        }
        Some(moves) => {
            main.push_str(
                "<table class=\"history\">\n<thead><tr><th>When</th><th>Label</th><th>From</th>\
                 <th>To</th><th>Who</th><th>Commit</th></tr></thead>\n<tbody>\n",
            );
            let side = |v: &Option<String>, none: &str| match v {
                Some(v) => match Version::parse(v) {
                    Ok(version) => format!(
                        "<a href=\"{root}{}\">{}</a>",
                        Esc(&release_href(name, &version)),
                        Esc(v)
                    ),
                    Err(_) => Esc(v).to_string(),
                },
                None => format!("<span class=\"muted\">{none}</span>"),
            };
            for m in &moves {
                let commit: String = m.commit.as_deref().unwrap_or("").chars().take(12).collect();
                w!(
                    main,
                    "<tr><td>{}</td><td><span class=\"label\">{}</span></td><td>{}</td><td>{}</td>\
                     <td>{}</td><td><code>{}</code></td></tr>\n",
                    Esc(&m.date),
                    Esc(&m.label),
                    side(&m.from, "(new)"),
                    side(&m.to, "(removed)"),
                    Esc(&m.author),
                    Esc(&commit)
                );
            }
            main.push_str("</tbody>\n</table>\n");
        }
    }
    Ok(Html {
        title: format!("{name}: labels"),
        main,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_html_reads_as_markup() {
        assert_eq!(
            Esc("<script>alert('x')</script> & \"q\"").to_string(),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(Esc("plain ✓ text").to_string(), "plain ✓ text");
        assert_eq!(Esc("").to_string(), "");
    }

    #[test]
    fn paths_name_pages() {
        let n = |s: &str| Name::parse(s).unwrap();
        let v = |s: &str| Version::parse(s).unwrap();
        let ok = |p: &str| parse(p).unwrap_or_else(|e| panic!("{p}: {e:?}"));
        assert_eq!(ok("/_ui"), Page::Bare);
        assert_eq!(ok("/_ui/"), Page::Home);
        assert_eq!(ok("/_ui/style.css"), Page::Style);
        assert_eq!(ok("/_ui/p/team/a"), Page::Prompt(n("team/a")));
        assert_eq!(
            ok("/_ui/p/team/labels/versions"),
            Page::Prompt(n("team/labels"))
        );
        assert_eq!(ok("/_ui/p/labels"), Page::Prompt(n("labels")));
        assert_eq!(ok("/_ui/p/team/v"), Page::Prompt(n("team/v")));
        assert_eq!(
            ok("/_ui/p/team/a/v/1.2.0-rc.1"),
            Page::Release(n("team/a"), v("1.2.0-rc.1"))
        );
        assert_eq!(
            ok("/_ui/p/a/v/1.0.0/content.md"),
            Page::Raw(n("a"), v("1.0.0"))
        );
        assert_eq!(ok("/_ui/p/a/diff"), Page::Diff(n("a")));
        assert_eq!(ok("/_ui/p/team/a/labels"), Page::Labels(n("team/a")));
        for unknown in [
            "/_uix",
            "/_ui/x",
            "/_ui/p/",
            "/_ui/p/_a",
            "/_ui/p/a/_x/labels",
        ] {
            assert!(
                matches!(parse(unknown), Err(Unrouted::Unknown)),
                "{unknown}"
            );
        }
        for invalid in ["/_ui/p/A", "/_ui/p/a//b", "/_ui/p/a/v/v1.0.0/content.md"] {
            assert!(
                matches!(parse(invalid), Err(Unrouted::Invalid(_))),
                "{invalid}"
            );
        }
    }

    #[test]
    fn links_find_their_way_back_to_the_root() {
        assert_eq!(root_of("/_ui/"), "./");
        assert_eq!(root_of("/_ui/login"), "./");
        assert_eq!(root_of("/_ui/p/a"), "../");
        assert_eq!(root_of("/_ui/p/team/a/v/1.0.0"), "../../../../");
        assert_eq!(
            prompt_href(&Name::parse("team/diff").unwrap()),
            "p/team/diff/versions"
        );
        assert_eq!(prompt_href(&Name::parse("team/a").unwrap()), "p/team/a");
    }
}
