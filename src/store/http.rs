//! The HTTP store: a registry (`pulse serve`), or any static web server serving a
//! directory store, read and written over HTTP.
//!
//! Reads are the directory layout's files over GET (`_index.json`, `labels.json`,
//! `<version>/metadata.json`, `<version>/content.md`), so the same code reads a registry
//! and a static export: the layout store ([`LayoutStore`]) does the reading over an
//! [`HttpBackend`], and checksums are verified as for every store. Writes go to the
//! registry's own requests: a release is one `PUT` of its content with its metadata in a
//! header (the registry writes it whole or not at all), labels and the prompt's metadata
//! move by `PUT` with `If-Match` (compare-and-swap, as on S3), and prompts are listed by
//! `_catalog.json` (a static server cannot list).
//!
//! Requests that fail with a timeout, a connection error, a 5xx or a 429 are retried with
//! backoff (honouring `Retry-After`); every other answer is final. The token comes from
//! `PULSE_TOKEN`, else the store's `token` setting; it is sent as a bearer token and never
//! shown.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use reqwest::{Method, StatusCode, header};
use serde::Serialize;

use super::backend::{Backend, Created, Etag, Object, Revalidated, Swapped};
use super::cache::{CacheMode, CacheOptions, CachedBackend};
use super::layout::{CATALOG_FILE, CONTENT_FILE, Catalog, PromptIndex, STORE_FILE};
use super::{
    Expect, Kept, LayoutStore, NewRelease, PromptState, PromptSummary, Recorded, Store, Stored,
    Unverified,
};
use crate::bounded;
use crate::digest::Digest;
use crate::error::{Error, Hint, Kind, Result};
use crate::meta::{LabelMove, MetadataUpdate, PromptMeta, ReleaseMeta};
use crate::name::{Label, Name, NamePrefix, printable};
use crate::search::{Query, SearchReport};
use crate::version::Version;

/// The settings an HTTP store takes in `storage_config`.
const KEYS: &[&str] = &["token", "timeout", "connect_timeout"];

/// Attempts per request when the failure is one that retrying can help.
const ATTEMPTS: u32 = 4;

/// The longest wait before a retry, whatever `Retry-After` asks.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How long to wait for a connection, and for each read of an answer (the settings
/// `connect_timeout` and `timeout`, in seconds).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The most bytes of an error answer that are read, to show its message.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

/// Files of the layout kept behind an HTTP base URL.
pub struct HttpBackend {
    /// The base URL, ending with `/`.
    base: String,
    /// The client, made by the first request (a read the cache answers never makes one,
    /// nor sets up TLS).
    client: std::sync::OnceLock<std::result::Result<reqwest::Client, String>>,
    connect_timeout: Duration,
    read_timeout: Duration,
    token: Option<String>,
}

/// A registry, or a static web server serving a directory store.
pub struct HttpStore {
    layout: LayoutStore<CachedBackend<HttpBackend>>,
    /// `--offline`: the registry's JSON API is not asked either.
    offline: bool,
}

impl HttpStore {
    /// Open the store at `url` (`http://` or `https://`) with its settings (`token`;
    /// values already expanded). Nothing is sent: a wrong address or token shows at the
    /// first request. A malformed URL or an unknown setting is a usage error (exit 2).
    /// Its files are read through the on-disk cache as `cache` says.
    pub fn open(
        url: &str,
        config: &BTreeMap<String, String>,
        author: &str,
        cache: CacheOptions,
        keys: std::sync::Arc<crate::crypt::Keys>,
    ) -> Result<HttpStore> {
        let backend = HttpBackend::open(url, config)?;
        let root = super::cache::root_for(&cache)?;
        let offline = cache.mode == CacheMode::Offline;
        let cached = CachedBackend::new(backend, url, root, cache);
        Ok(HttpStore {
            layout: LayoutStore::new(cached, author).with_keys(keys),
            offline,
        })
    }

    /// The registry itself, for its own requests.
    fn http(&self) -> &HttpBackend {
        self.layout.backend().inner()
    }

    /// The layout's files, through the cache.
    fn files(&self) -> &CachedBackend<HttpBackend> {
        self.layout.backend()
    }
}

impl HttpBackend {
    /// The backend at `url`; see [`HttpStore::open`].
    pub fn open(url: &str, config: &BTreeMap<String, String>) -> Result<HttpBackend> {
        // Shown without any credentials it holds: they are never printed.
        let shown = match reqwest::Url::parse(url) {
            Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
                let _ = u.set_username("");
                let _ = u.set_password(None);
                printable(u.as_str())
            }
            _ => printable(url),
        };
        let bad = |why: &str| {
            Error::usage(format!("'{shown}' is not a registry address: {why}")).with_hint(
                "a registry or static store is addressed as http(s)://HOST[:PORT][/PATH]",
            )
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https"));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(bad("it names no host"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad(
                "credentials do not belong in the URL; set PULSE_TOKEN or the store's 'token' setting",
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("it cannot have a query or a fragment"));
        }
        let mut base = parsed.to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        let mut token = None;
        let (mut connect_timeout, mut read_timeout) = (CONNECT_TIMEOUT, READ_TIMEOUT);
        for (key, value) in config {
            if crate::crypt::is_key(key) {
                continue;
            }
            if !KEYS.contains(&key.as_str()) {
                return Err(Error::usage(format!(
                    "HTTP store '{base}' has no setting '{}'",
                    printable(key)
                ))
                .with_hint(format!("its settings are {}", KEYS.join(", "))));
            }
            if value.is_empty() {
                continue;
            }
            let seconds = || match value.parse::<f64>() {
                Ok(s) if s > 0.0 && s <= 3600.0 => Ok(Duration::from_secs_f64(s)),
                _ => Err(Error::usage(format!(
                    "setting '{key}' of HTTP store '{base}' must be a number of seconds \
                     (more than 0, at most 3600), not '{}'",
                    printable(value)
                ))),
            };
            match key.as_str() {
                "timeout" => read_timeout = seconds()?,
                "connect_timeout" => connect_timeout = seconds()?,
                _ => token = Some(value.clone()),
            }
        }
        // The environment beats the configuration.
        if let Some(t) = std::env::var("PULSE_TOKEN").ok().filter(|t| !t.is_empty()) {
            token = Some(t);
        }
        if let Some(t) = &token
            && (t.bytes().any(|b| !b.is_ascii_graphic()))
        {
            return Err(Error::usage(format!(
                "the token for '{base}' holds characters a token cannot have"
            ))
            .with_hint("check PULSE_TOKEN or the store's 'token' setting"));
        }
        Ok(HttpBackend {
            base,
            client: std::sync::OnceLock::new(),
            connect_timeout,
            read_timeout,
            token,
        })
    }

    fn client(&self) -> Result<&reqwest::Client> {
        self.client
            .get_or_init(|| {
                super::runtime::install_tls();
                reqwest::Client::builder()
                    .connect_timeout(self.connect_timeout)
                    .read_timeout(self.read_timeout)
                    .redirect(reqwest::redirect::Policy::limited(5))
                    .user_agent(concat!("pulse/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| {
                Error::other(format!(
                    "cannot set up the HTTP client for '{}': {e}",
                    self.base
                ))
            })
    }

    fn url(&self, key: &str) -> String {
        format!("{}{key}", self.base)
    }

    /// Send a request (built anew for each attempt), retrying what retrying can help:
    /// no answer (connection refused or reset, timeout), a 5xx or a 429. The last answer
    /// is returned whatever its status; no answer at all is an error.
    async fn send(
        &self,
        method: Method,
        key: &str,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        self.send_with(method, key, Retry::Safe, build).await
    }

    /// [`HttpBackend::send`], retrying as `retry` allows.
    async fn send_with(
        &self,
        method: Method,
        key: &str,
        retry: Retry,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let url = self.url(key);
        let client = self.client()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = client.request(method.clone(), &url);
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            let wait = match build(request).send().await {
                Ok(response) => {
                    let status = response.status();
                    // A 429 was refused before anything was done; a 5xx may have been
                    // done, which only a request that can be repeated may risk.
                    let again = status == StatusCode::TOO_MANY_REQUESTS
                        || (status.is_server_error() && retry == Retry::Safe);
                    if !again || attempt >= ATTEMPTS {
                        return Ok(response);
                    }
                    log::debug!("{method} {url}: {status}, retrying");
                    retry_after(&response).unwrap_or_else(|| backoff(attempt))
                }
                Err(e) => {
                    // No connection: the request never left. Anything else (a timeout, a
                    // connection that broke) may have reached the server.
                    let again = e.is_connect()
                        || (retry == Retry::Safe && (e.is_timeout() || e.is_request()));
                    if attempt >= ATTEMPTS || !again {
                        return Err(self.no_answer(&method, key, e));
                    }
                    log::debug!("{method} {url}: {e}, retrying");
                    backoff(attempt)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// The error for a request that got no answer.
    fn no_answer(&self, method: &Method, key: &str, e: reqwest::Error) -> Error {
        let why = if e.is_timeout() {
            "no answer in time".to_owned()
        } else if e.is_connect() {
            match root_cause(&e) {
                Some(cause) => format!("cannot connect ({cause})"),
                None => "cannot connect".to_owned(),
            }
        } else {
            match root_cause(&e) {
                Some(cause) => format!("the connection failed ({cause})"),
                None => "the connection failed".to_owned(),
            }
        };
        Error::unavailable(format!(
            "{method} {} failed after {ATTEMPTS} tries: {why}",
            self.url(key)
        ))
        .retryable(true)
        .with_source(e)
    }

    /// The error for an answer pulse did not expect, with the registry's own message.
    async fn refused(&self, method: &Method, key: &str, response: reqwest::Response) -> Error {
        let status = response.status();
        let said = error_message(response).await;
        let what = format!("{method} {} answered {status}", self.url(key));
        let (what, kind) = match said {
            Some((said, kind)) => (format!("{what}: {said}"), kind),
            None => (what, None),
        };
        // A registry whose store holds something broken says so: that is the store's
        // integrity failure (exit 5), not an outage.
        if kind.as_deref() == Some("integrity") {
            return Error::integrity(what);
        }
        match status {
            StatusCode::UNAUTHORIZED => Error::unavailable(what).with_hint(
                "set PULSE_TOKEN (or the store's 'token' setting) to a token the registry accepts",
            ),
            StatusCode::FORBIDDEN => Error::unavailable(what)
                .with_hint("the token's scope or prefixes do not allow this; ask for one that does"),
            StatusCode::NOT_FOUND | StatusCode::GONE => Error::not_found(what),
            StatusCode::CONFLICT => Error::conflict(what),
            StatusCode::PAYLOAD_TOO_LARGE => Error::usage(what)
                .with_hint("the registry takes bodies up to its --max-body; ask its operator"),
            StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_IMPLEMENTED => Error::usage(what)
                .with_hint("this server only serves files (a static export is read-only); write to a registry ('pulse serve')"),
            s if s.is_client_error() => Error::usage(what),
            s if s.is_server_error() => Error::unavailable(what).retryable(true),
            _ => Error::other(what),
        }
    }

    /// GET `key`: its answer if it is there (2xx), `None` for 404 and 410, an error for
    /// anything else.
    async fn get_response(&self, key: &str) -> Result<Option<reqwest::Response>> {
        let response = self.send(Method::GET, key, |r| r).await?;
        match response.status() {
            s if s.is_success() => Ok(Some(response)),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
            _ => Err(self.refused(&Method::GET, key, response).await),
        }
    }

    /// Read an answer's body whole, refusing more than `limit` bytes.
    async fn body(&self, key: &str, mut response: reqwest::Response, limit: u64) -> Result<Bytes> {
        let too_big = || {
            Error::integrity(format!(
                "{} sent more than {limit} bytes for '{key}', more than such a file can hold",
                self.describe()
            ))
        };
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.cut_off(key, e))? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(body))
    }

    /// The error for an answer whose body broke off.
    fn cut_off(&self, key: &str, e: reqwest::Error) -> Error {
        Error::unavailable(format!(
            "the answer for {} broke off: {}",
            self.url(key),
            root_cause(&e).unwrap_or_else(|| e.to_string())
        ))
        .retryable(true)
        .with_source(e)
    }

    /// Send a JSON API request; `None` when the server has no such request (a static
    /// web server) or no such thing.
    fn api<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.api_within(key, bounded::INDEX_JSON)
    }

    /// [`HttpBackend::api`] for an answer bounded by `limits`.
    fn api_within<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        limits: bounded::Limits,
    ) -> Result<Option<T>> {
        super::runtime::block_on(&self.describe(), async {
            let Some(response) = self.get_response(key).await? else {
                return Ok(None);
            };
            let body = self.body(key, response, limits.max_bytes as u64).await?;
            bounded::check_json(&body, limits).map_err(|why| {
                Error::integrity(format!("the answer for {} {why}", self.url(key)))
            })?;
            serde_json::from_slice(&body).map(Some).map_err(|e| {
                Error::integrity(format!(
                    "the answer for {} is malformed: {e}",
                    self.url(key)
                ))
            })
        })?
    }
}

impl Backend for HttpBackend {
    fn describe(&self) -> String {
        format!("registry '{}'", self.base)
    }

    fn get(&self, key: &str, limit: u64) -> Result<Option<Object>> {
        super::runtime::block_on(&self.describe(), async {
            // A small file is read whole before it is used, so an answer that broke off
            // half-way is asked for again, as one that never came would be.
            let mut attempt = 1;
            let (etag, bytes) = loop {
                let Some(response) = self.get_response(key).await? else {
                    return Ok(None);
                };
                let etag = response
                    .headers()
                    .get(header::ETAG)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                match self.body(key, response, limit).await {
                    Ok(bytes) => break (etag, bytes),
                    Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                        tokio::time::sleep(backoff(attempt)).await;
                        attempt += 1;
                    }
                    Err(e) => return Err(e),
                }
            };
            // A static server may send no ETag: the bytes' checksum is then the version,
            // quoted as the registry quotes its own.
            let etag = etag.unwrap_or_else(|| format!("\"{}\"", Digest::of(&bytes).hex()));
            Ok(Some(Object {
                bytes,
                etag: Etag(etag),
            }))
        })?
    }

    fn get_if_changed(&self, key: &str, limit: u64, etag: &Etag) -> Result<Revalidated> {
        super::runtime::block_on(&self.describe(), async {
            let response = self
                .send(Method::GET, key, |r| {
                    r.header(header::IF_NONE_MATCH, etag.0.as_str())
                })
                .await?;
            match response.status() {
                StatusCode::NOT_MODIFIED => Ok(Revalidated::Unchanged),
                StatusCode::NOT_FOUND | StatusCode::GONE => Ok(Revalidated::Gone),
                s if s.is_success() => {
                    let sent = response
                        .headers()
                        .get(header::ETAG)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let bytes = self.body(key, response, limit).await?;
                    // A static server may ignore the condition and send no ETag: the
                    // bytes' checksum is then the version, as `get` makes it.
                    let now =
                        Etag(sent.unwrap_or_else(|| format!("\"{}\"", Digest::of(&bytes).hex())));
                    Ok(if &now == etag {
                        Revalidated::Unchanged
                    } else {
                        Revalidated::Changed(Object { bytes, etag: now })
                    })
                }
                _ => Err(self.refused(&Method::GET, key, response).await),
            }
        })?
    }

    fn get_into(&self, key: &str, out: &mut dyn Write) -> Result<Option<u64>> {
        super::runtime::block_on(&self.describe(), async {
            let Some(mut response) = self.get_response(key).await? else {
                return Ok(None);
            };
            let mut size = 0u64;
            while let Some(chunk) = response.chunk().await.map_err(|e| self.cut_off(key, e))? {
                out.write_all(&chunk).map_err(|e| {
                    Error::io(format!("cannot pass on what {} sent", self.url(key)), e)
                })?;
                size += chunk.len() as u64;
            }
            Ok(Some(size))
        })?
    }

    fn exists(&self) -> Result<bool> {
        super::runtime::block_on(&self.describe(), async {
            let response = self.send(Method::HEAD, STORE_FILE, |r| r).await?;
            match response.status() {
                s if s.is_success() => Ok(true),
                StatusCode::NOT_FOUND | StatusCode::GONE => Ok(false),
                _ => Err(self.refused(&Method::HEAD, STORE_FILE, response).await),
            }
        })?
    }

    fn put_new(&self, key: &str, _bytes: Bytes) -> Result<Created> {
        // The registry takes a release as one upload (`HttpStore::put`), and makes its own
        // `_pulse.json`: the layout never needs a bare create-only write here.
        Err(Error::other(format!(
            "{} takes no create-only write of '{key}'",
            self.describe()
        )))
    }

    fn put_swap(&self, key: &str, bytes: Bytes, expect: Option<&Etag>) -> Result<Swapped> {
        super::runtime::block_on(&self.describe(), async {
            // A swap sent again after its answer was lost would find its own write and
            // report a conflict: it is sent once, unless it never left.
            let response = self
                .send_with(Method::PUT, key, Retry::UnlessSent, |r| {
                    let r = match expect {
                        Some(Etag(etag)) => r.header(header::IF_MATCH, etag.as_str()),
                        None => r.header(header::IF_NONE_MATCH, "*"),
                    };
                    r.header(header::CONTENT_TYPE, "application/json")
                        .body(bytes.clone())
                })
                .await?;
            match response.status() {
                s if s.is_success() => Ok(Swapped::Done),
                StatusCode::PRECONDITION_FAILED => Ok(Swapped::Lost),
                _ => Err(self.refused(&Method::PUT, key, response).await),
            }
        })?
    }

    fn delete(&self, key: &str) -> Result<()> {
        super::runtime::block_on(&self.describe(), async {
            let response = self.send(Method::DELETE, key, |r| r).await?;
            match response.status() {
                s if s.is_success() => Ok(()),
                _ => Err(self.refused(&Method::DELETE, key, response).await),
            }
        })?
    }

    fn list(&self, _prefix: &str) -> Result<Vec<String>> {
        Err(Error::usage(format!(
            "{} cannot list its files; it lists its prompts in '{CATALOG_FILE}'",
            self.describe()
        )))
    }

    fn listing_is_cheap(&self) -> bool {
        false
    }

    fn parallel_requests(&self) -> usize {
        8
    }

    fn atomic_conditional_writes(&self) -> bool {
        true
    }
}

/// Which failures a request may be sent again after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Any that retrying can help: the request can be repeated (a read, a create-only
    /// upload, which finds its own release there and says so).
    Safe,
    /// Only those where it never reached the server (no connection), and 429: a
    /// compare-and-swap, which repeated after it was done would report a conflict.
    UnlessSent,
}

/// The release's metadata as an upload carries it in `Pulse-Release`.
#[derive(Serialize)]
struct ReleaseHeader<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<&'a str>,
    /// `age` when the body is encrypted (then `Pulse-Checksum` and `size` are the
    /// plaintext's, and the registry keeps the body as it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
}

impl Store for HttpStore {
    fn describe(&self) -> String {
        self.layout.describe()
    }

    fn put(&self, r: &NewRelease) -> Result<Stored> {
        let http = self.http();
        let key = format!("{}/{}/{CONTENT_FILE}", r.name, r.version);
        // Encrypted here, with this client's recipients: the registry never sees the
        // plaintext.
        let (body, recorded) = match &r.sealed {
            Some(recorded) => (r.content.clone(), Some(*recorded)),
            None => match self.layout.keys().seal(&r.content)? {
                Some(ciphertext) => (
                    Bytes::from(ciphertext),
                    Some(Recorded {
                        sha256: Digest::of(&r.content),
                        size: r.content.len() as u64,
                    }),
                ),
                None => (r.content.clone(), None),
            },
        };
        let meta = serde_json::to_vec(&ReleaseHeader {
            description: r.description.as_deref(),
            tags: r.tags.as_deref(),
            message: r.message.as_deref(),
            author: r.author.as_deref(),
            created: r.created.as_deref(),
            encryption: recorded.map(|_| crate::crypt::AGE),
            size: recorded.map(|rec| rec.size),
        })
        .map_err(|e| Error::other(e.to_string()))?;
        let meta = percent_encode(&meta);
        let checksum = recorded
            .map_or_else(|| Digest::of(&r.content), |rec| rec.sha256)
            .to_string();
        let content_type = if recorded.is_some() {
            "application/octet-stream"
        } else {
            "text/markdown; charset=utf-8"
        };
        super::runtime::block_on(&http.describe(), async {
            let response = http
                .send(Method::PUT, &key, |req| {
                    req.header(header::CONTENT_TYPE, content_type)
                        .header("pulse-release", meta.as_str())
                        .header("pulse-checksum", checksum.as_str())
                        .body(body.clone())
                })
                .await?;
            match response.status() {
                StatusCode::CREATED => Ok(Stored::Created),
                StatusCode::OK => Ok(Stored::Unchanged),
                StatusCode::CONFLICT => {
                    let said = error_message(response).await.map(|(said, _)| said);
                    Err(Error::conflict(format!(
                        "release '{}@{}' already exists in {} with different content{}",
                        r.name,
                        r.version,
                        http.describe(),
                        said.map(|s| format!(" ({s})")).unwrap_or_default()
                    ))
                    .with_hint(Hint::NewVersion))
                }
                _ => Err(http.refused(&Method::PUT, &key, response).await),
            }
        })?
    }

    fn read(&self, name: &Name, version: &Version) -> Result<Unverified> {
        self.layout.read(name, version)
    }

    fn read_release(&self, name: &Name, version: &Version) -> Result<(ReleaseMeta, Unverified)> {
        self.layout.read_release(name, version)
    }

    fn read_into(&self, name: &Name, version: &Version, out: &mut dyn Write) -> Result<Recorded> {
        self.layout.read_into(name, version, out)
    }

    fn read_kept(&self, name: &Name, version: &Version) -> Result<(ReleaseMeta, Kept<Unverified>)> {
        self.layout.read_kept(name, version)
    }

    fn list(&self, prefix: &NamePrefix) -> Result<Vec<Name>> {
        let http = self.files();
        let catalog = match http.get(CATALOG_FILE, bounded::INDEX_JSON.max_bytes as u64)? {
            Some(object) => {
                bounded::check_json(&object.bytes, bounded::INDEX_JSON).map_err(|why| {
                    Error::integrity(format!("'{CATALOG_FILE}' of {} {why}", http.describe()))
                })?;
                serde_json::from_slice::<Catalog>(&object.bytes).map_err(|e| {
                    Error::integrity(format!(
                        "'{CATALOG_FILE}' of {} is malformed: {e}",
                        http.describe()
                    ))
                })?
            }
            None if http.exists()? => {
                return Err(Error::not_found(format!(
                    "{} has no '{CATALOG_FILE}', so its prompts cannot be listed",
                    http.describe()
                ))
                .with_hint(
                    "a directory store gets one from its next write ('pulse sync SRC DIR'); then publish it again",
                ));
            }
            None => {
                return Err(Error::not_found(format!(
                    "there is no store at {} (it has no '{STORE_FILE}')",
                    http.describe()
                ))
                .with_hint(
                    "check the address: it is the URL of a registry or of a directory store's root",
                ));
            }
        };
        let mut names = Vec::with_capacity(catalog.prompts.len());
        for raw in &catalog.prompts {
            let name = Name::parse(raw).map_err(|e| {
                Error::integrity(format!(
                    "'{CATALOG_FILE}' of {} lists '{}': {e}",
                    http.describe(),
                    printable(raw)
                ))
            })?;
            if name.is_under(prefix) {
                names.push(name);
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn delete(&self, name: &Name, version: &Version) -> Result<()> {
        let http = self.http();
        let key = format!("{name}/{version}/{CONTENT_FILE}");
        super::runtime::block_on(&http.describe(), async {
            // Sent again after it was done, it would find nothing to delete: sent once.
            let response = http
                .send_with(Method::DELETE, &key, Retry::UnlessSent, |r| r)
                .await?;
            match response.status() {
                s if s.is_success() => Ok(()),
                StatusCode::NOT_FOUND => Err(super::no_release(name, version)),
                _ => Err(http.refused(&Method::DELETE, &key, response).await),
            }
        })?
    }

    fn versions(&self, name: &Name) -> Result<Vec<Version>> {
        self.layout.versions(name)
    }

    fn metadata(&self, name: &Name, version: &Version) -> Result<ReleaseMeta> {
        self.layout.metadata(name, version)
    }

    fn prompt_metadata(&self, name: &Name) -> Result<PromptMeta> {
        self.layout.prompt_metadata(name)
    }

    fn update_metadata(&self, name: &Name, update: &MetadataUpdate) -> Result<PromptMeta> {
        self.layout.update_metadata(name, update)
    }

    fn labels(&self, name: &Name) -> Result<BTreeMap<Label, Version>> {
        self.layout.labels(name)
    }

    fn set_label(
        &self,
        name: &Name,
        label: &Label,
        expect: &Expect,
        target: Option<&Version>,
    ) -> Result<Option<Version>> {
        self.layout.set_label(name, label, expect, target)
    }

    fn checksums(&self, name: &Name) -> Result<BTreeMap<Version, Digest>> {
        self.layout.checksums(name)
    }

    fn index(&self, name: &Name) -> Result<PromptIndex> {
        self.layout.index(name)
    }

    fn states(&self, names: &[Name], jobs: usize) -> Result<Vec<PromptState>> {
        self.layout.states(names, jobs)
    }

    fn parallel_writes(&self) -> usize {
        self.http().parallel_requests()
    }

    fn label_history(&self, name: &Name) -> Result<Option<Vec<LabelMove>>> {
        if self.offline {
            return Err(Error::unavailable(format!(
                "the label history of '{name}' needs {}, and --offline keeps pulse from asking it",
                self.describe()
            )));
        }
        self.http()
            .api(&format!("_api/v1/prompts/{name}/history"))
            .or_else(|e| match e.kind() {
                // A registry over a store that keeps no history says so with a 404, as
                // does a static server.
                Kind::NotFound => Ok(None),
                _ => Err(e),
            })
    }

    /// A registry searches where the releases are (`GET /_api/v1/search`): only the hits
    /// come back. A static web server (which has no such request) and `--offline` are
    /// searched through the layout's files, as any store is.
    fn search(&self, query: &Query) -> Result<SearchReport> {
        query.matcher()?;
        if !self.offline {
            let key = format!("_api/v1/search?{}", search_parameters(query));
            if let Some(report) = self
                .http()
                .api_within::<SearchReport>(&key, bounded::SEARCH_JSON)?
            {
                return Ok(SearchReport::new(report.searched, report.hits));
            }
        }
        crate::search::search_store(self, query)
    }

    fn summaries(&self, prefix: &NamePrefix) -> Result<Vec<PromptSummary>> {
        let query = if prefix.as_str().is_empty() {
            String::new()
        } else {
            format!("?prefix={}", percent_encode(prefix.as_str().as_bytes()))
        };
        let rows = match self.offline {
            true => None,
            false => self
                .http()
                .api::<Vec<SummaryRow>>(&format!("_api/v1/prompts{query}"))?,
        };
        if let Some(rows) = rows {
            return rows.into_iter().map(SummaryRow::check).collect();
        }
        // A static server: the catalog, then each prompt's index and labels.
        let mut out = Vec::new();
        for name in self.list(prefix)? {
            let index = self.layout.index(&name)?;
            let versions = index.sorted_versions();
            out.push(PromptSummary {
                latest: crate::version::latest(&versions).cloned(),
                labels: self.labels(&name)?,
                description: index.description,
                tags: index.tags,
                name,
            });
        }
        Ok(out)
    }
}

/// The query string of a search request: what [`crate::serve`] reads back into the query.
fn search_parameters(query: &Query) -> String {
    let mut out = format!("q={}", percent_encode(query.pattern.as_bytes()));
    for (key, on) in [
        ("regex", query.regex),
        ("ignore_case", query.ignore_case),
        ("all_versions", query.all_versions),
    ] {
        if on {
            out.push_str(&format!("&{key}=true"));
        }
    }
    if !query.tags.is_empty() {
        out.push_str(&format!(
            "&tags={}",
            percent_encode(query.tags.join(",").as_bytes())
        ));
    }
    if let Some(label) = &query.label {
        out.push_str(&format!("&label={label}"));
    }
    if !query.prefix.as_str().is_empty() {
        out.push_str(&format!(
            "&prefix={}",
            percent_encode(query.prefix.as_str().as_bytes())
        ));
    }
    out
}

/// One prompt of the registry's listing, as sent (checked before it is believed).
#[derive(serde::Deserialize)]
struct SummaryRow {
    name: String,
    latest: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

impl SummaryRow {
    fn check(self) -> Result<PromptSummary> {
        let bad = |e: String| Error::integrity(format!("the registry's listing: {e}"));
        let version = |v: &str| Version::parse(v).map_err(|e| bad(e.to_string()));
        let mut labels = BTreeMap::new();
        for (l, v) in &self.labels {
            labels.insert(
                Label::parse(l).map_err(|e| bad(e.to_string()))?,
                version(v)?,
            );
        }
        Ok(PromptSummary {
            name: Name::parse(&self.name).map_err(|e| bad(e.to_string()))?,
            latest: self.latest.as_deref().map(version).transpose()?,
            labels,
            description: self.description,
            tags: self.tags,
        })
    }
}

impl std::fmt::Debug for HttpStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpStore")
            .field("base", &self.http().base)
            .finish()
    }
}

/// `Retry-After` in seconds, if the answer has one (capped).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = response
        .headers()
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(MAX_BACKOFF))
}

/// The wait before retry `attempt` (1, 2, …): 100 ms doubling, with jitter so that
/// clients that failed together do not retry together.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(100) * 2u32.pow(attempt.saturating_sub(1).min(6));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = Duration::from_millis(u64::from(nanos % 100));
    (base + jitter).min(MAX_BACKOFF)
}

/// The innermost cause of a client error, worded by the system (`Connection refused`).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = e.source()?;
    while let Some(next) = cause.source() {
        cause = next;
    }
    Some(cause.to_string())
}

/// The message of a registry's error answer (`{"error": {"kind": …, "message": …}}`)
/// with its kind, or the start of whatever else it sent.
async fn error_message(mut response: reqwest::Response) -> Option<(String, Option<String>)> {
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/plain") || t.starts_with("application/json"));
    if !plain {
        // An HTML error page says nothing the status does not.
        return None;
    }
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() as u64 >= ERROR_BODY_LIMIT {
            break;
        }
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body)
        && let Some(message) = value["error"]["message"].as_str()
    {
        let kind = value["error"]["kind"].as_str().map(str::to_owned);
        return Some((printable(message), kind));
    }
    let text = String::from_utf8_lossy(&body);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some((printable(&line.chars().take(200).collect::<String>()), None))
}

/// Percent-encode every byte outside `A-Z a-z 0-9 - . _ ~` (RFC 3986 unreserved).
pub fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(url: &str) -> Result<HttpBackend> {
        HttpBackend::open(url, &BTreeMap::new())
    }

    #[test]
    fn addresses_are_checked() {
        assert_eq!(open("http://h:8080").unwrap().base, "http://h:8080/");
        assert_eq!(open("https://h/p/").unwrap().base, "https://h/p/");
        assert_eq!(open("https://h/p").unwrap().base, "https://h/p/");
        for bad in [
            "http://u:pw@h/",
            "http://h/?q=1",
            "http://h/#f",
            "http://",
            "ftp://h/",
        ] {
            let e = open(bad).err().unwrap();
            assert_eq!(e.kind(), Kind::Usage, "{bad}");
            assert!(!e.message().contains("pw"), "{}", e.message());
        }
    }

    #[test]
    fn unknown_settings_are_refused() {
        let mut config = BTreeMap::new();
        config.insert("tokne".to_owned(), "x".to_owned());
        let e = HttpBackend::open("http://h/", &config).err().unwrap();
        assert_eq!(e.kind(), Kind::Usage);
        config.clear();
        config.insert("token".to_owned(), "a b".to_owned());
        let e = HttpBackend::open("http://h/", &config).err().unwrap();
        assert!(!e.message().contains("a b"), "{}", e.message());
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_bytes() {
        assert_eq!(percent_encode(b"a-Z_0.~"), "a-Z_0.~");
        assert_eq!(
            percent_encode("{\"m\": \"é\n\"}".as_bytes()),
            "%7B%22m%22%3A%20%22%C3%A9%0A%22%7D"
        );
    }
}
