//! The S3 backend: the files of the directory layout kept as objects in an S3 bucket (AWS
//! S3 or an S3-compatible server such as MinIO), under an optional key prefix.
//!
//! # Address and settings
//!
//! A store is addressed as `s3://BUCKET[/PREFIX]`; the file `team/x/1.0.0/content.md` of
//! the store `s3://prompts/shared` is the object `shared/team/x/1.0.0/content.md` in the
//! bucket `prompts`. The store's settings, all optional, are:
//!
//! | key | meaning |
//! | --- | --- |
//! | `endpoint` | the server, `http(s)://host[:port][/path]`; unset: AWS S3 |
//! | `region` | the region requests are signed for (unset: `AWS_REGION`, else `us-east-1`) |
//! | `access_key_id`, `secret_access_key`, `session_token` | static credentials |
//! | `path_style` | `true`: `endpoint/bucket/key`; `false`: `bucket.endpoint/key` |
//! | `allow_http` | `true` permits a plain-HTTP endpoint |
//! | `atomic_conditional_writes` | whether the server checks a condition and writes in one step |
//! | `instance_metadata` | `true` permits credentials from the EC2 instance metadata service |
//!
//! An empty value counts as unset (a `${VAR}` that expanded to nothing). Any other key is
//! refused, except those starting with `age_`, which belong to encryption and are left to it.
//!
//! What the settings leave unset comes from the standard `AWS_*` environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, `AWS_VIRTUAL_HOSTED_STYLE_REQUEST`, …). Credentials
//! come as a whole from one place: when the settings name a key, the environment's keys and
//! token are not used, so a token meant for other keys is never sent with them. Likewise an
//! endpoint in the settings replaces every endpoint variable. The shared credentials file
//! (`~/.aws/credentials`, `AWS_PROFILE`) is not read: export the credentials instead.
//!
//! Defaults:
//! - `path_style` is true when an endpoint is given (S3-compatible servers rarely have
//!   wildcard DNS) or the bucket name has a dot (`a.b` cannot match the certificate of
//!   `*.s3.amazonaws.com`), false otherwise (AWS's virtual-hosted style). With an endpoint
//!   and `path_style: false`, the bucket is put in front of the endpoint's host name.
//! - `allow_http` is true only for an `http://` endpoint on this machine (`localhost`,
//!   `127.0.0.0/8`, `::1`): a plain-HTTP endpoint anywhere else is refused unless allowed,
//!   because signed requests and content would cross the network unencrypted.
//! - `atomic_conditional_writes` is true on AWS S3, whose create-only (`If-None-Match: *`)
//!   and compare-and-swap (`If-Match`) writes are atomic; false with an endpoint, since
//!   some S3-compatible servers check the condition and then write in a second step. Set it
//!   to `true` for a server known to do both in one step.
//!
//! # Credentials and the instance metadata service
//!
//! The client looks for credentials in this order: static keys (settings, else
//! environment); a web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN`); a
//! container's credentials (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, or `…_FULL_URI` with
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`); anonymous access (`AWS_SKIP_SIGNATURE=true`).
//! The client library would otherwise fall back to the EC2 instance metadata service, and
//! it does not honour `AWS_EC2_METADATA_DISABLED`. So when none of these is configured,
//! opening the store fails at once with a usage error that says what to set, without any
//! request; the metadata service is asked only when the settings say
//! `instance_metadata: true` (and `AWS_EC2_METADATA_DISABLED` is not `true`). A test or a
//! misconfigured machine therefore never reaches for `169.254.169.254`.
//!
//! # Writes
//!
//! A create-only write is one `PUT` with `If-None-Match: *`; a compare-and-swap one `PUT`
//! with `If-Match: <ETag>`, the ETag the read returned. The client is told explicitly to
//! send these headers (its conditional-put mode `etag`), whatever `AWS_CONDITIONAL_PUT`
//! says. A write is a single `PUT`, never a multipart upload (S3 takes at most 5 GiB in one
//! `PUT`; larger content is refused before anything is sent). A server that gives no ETag
//! on a read can be read from, but a compare-and-swap against such a read is refused.
//!
//! A write is not repeated after a timeout, but it is after a server error (5xx): if the
//! first attempt did land, the repeat finds its own file and reports `Existed` or `Lost`,
//! which the layout resolves by reading the file again.
//!
//! # Time limits
//!
//! The client makes up to 3 more attempts after a failure that may pass (no connection,
//! a server error, throttling), waiting 100 ms, then up to 1 s, and none once 5 s have
//! passed since the first; a connection attempt gives up after 2 s. A dead endpoint thus
//! fails in about a second when the connection is refused and in about 7 s when nothing
//! answers. Above that, each operation has its own limit: 30 s for a request on a small
//! file (including its retries) and for each chunk of a streamed read (a stalled download
//! fails after 30 s without data, however large the file), and 30 s plus one second per
//! 256 KiB for a write, so a few hundred MiB may take many minutes on a slow link.
//!
//! # Threads
//!
//! The trait is synchronous and the client asynchronous: every call blocks on one
//! process-wide current-thread tokio runtime, built the first time any S3 store is used
//! (a process that never touches S3 builds none, and none starts a thread of its own).
//! Several threads may block on it at once: each polls its own request, and whichever
//! holds the runtime's driver at the moment wakes the others' I/O; when it returns, the
//! next one takes the driver over. Transfers therefore proceed side by side: measured
//! against local servers on two cores, four parallel 64 MiB reads took well under four
//! times one, and eight threads of small reads ran as fast as on a two-worker
//! multi-thread runtime, which would only add threads. Nothing is written to the caller's
//! writer while blocked on the runtime: a streamed body is taken chunk by chunk.
//!
//! # Errors
//!
//! A missing object is not an error (`get` returns `None`, `delete` succeeds). A missing
//! bucket is not found (exit 3), and `exists` says no for it, as for a prefix with nothing
//! under it (S3 has no directories: the store's first write makes it); refused credentials (HTTP 401/403) are unavailable and
//! not worth retrying; no connection, a timeout, throttling or a server error (after the
//! client's own attempts) are unavailable and worth retrying (exit 6). Messages name the
//! object (`cannot read 's3://b/p/team/x/1.0.0/content.md'`) and the endpoint, and keep the
//! client's error as their cause. The credentials need to list the bucket as well as read,
//! write and delete objects: without `s3:ListBucket`, AWS answers a read of a missing
//! object with 403 instead of 404, and the store would fail where it should find nothing.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::future::Future;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, S3ConditionalPut};
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientConfigKey, GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, RetryConfig, UpdateVersion,
};

use super::backend::{Backend, Created, Etag, Object, Revalidated, Swapped};
use crate::bounded::Refusal;
use crate::error::{Error, Result};
use crate::name::printable;

/// How often a conditional write is tried when its connection breaks before an answer.
const BROKEN_CONNECTION_ATTEMPTS: u32 = 3;
/// How long a connection attempt may take before it counts as failed.
const CONNECT_TIMEOUT: &str = "2s";
/// How many times the client repeats a request that failed in a way that may pass.
const MAX_RETRIES: usize = 3;
/// After this long since the first attempt, a failed request is not repeated.
const RETRY_TIMEOUT: Duration = Duration::from_secs(5);
/// The first wait before a repeat; later ones grow up to `MAX_BACKOFF`.
const INIT_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait before a repeat.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// The client's own whole-request limit: only a backstop, since every operation here has a
/// tighter limit of its own (a request limit cannot depend on the request's size).
const CLIENT_BACKSTOP: &str = "6h";
/// The limit of one request on a small file (retries included), and of each chunk of a
/// streamed read.
const REQUEST_LIMIT: Duration = Duration::from_secs(30);
/// The slowest upload rate a write's limit allows for, in bytes per second.
const SLOWEST_UPLOAD: u64 = 256 << 10;
/// The largest object S3 accepts in one `PUT`.
const MAX_SINGLE_PUT: u64 = 5 << 30;

/// How many requests the layout may have in flight at once.
const PARALLEL_REQUESTS: usize = 16;

/// The settings an S3 store understands.
const KEYS: &[&str] = &[
    "endpoint",
    "region",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "path_style",
    "allow_http",
    "atomic_conditional_writes",
    "instance_metadata",
];

/// A store's files as objects in an S3 bucket, under a key prefix. Safe to share between
/// threads; every method waits for its requests to finish.
pub struct S3Backend {
    store: AmazonS3,
    /// The same client without retries, for compare-and-swap writes: a swap sent again
    /// after its answer was lost finds its own write and reports a conflict, telling the
    /// caller the wrong story; one try, and an honest error when it fails.
    swaps: AmazonS3,
    location: Location,
    endpoint: Option<Endpoint>,
    atomic: bool,
}

impl std::fmt::Debug for S3Backend {
    /// The store's address and endpoint, never its credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Backend")
            .field("store", &self.describe())
            .field("atomic", &self.atomic)
            .finish_non_exhaustive()
    }
}

/// How a read started.
enum Read {
    /// The object, its body still to take.
    Found(object_store::GetResult),
    /// There is no such object.
    Missing,
    /// The object is still the version the read named (`If-None-Match`).
    NotModified,
}

impl S3Backend {
    /// Open the store at `address` (`s3://BUCKET[/PREFIX]`) with its settings (see the
    /// module documentation for the keys; values already expanded). Nothing is sent: a
    /// wrong endpoint or credential shows at the first request. A malformed address, an
    /// unknown or malformed setting, or no credentials at all are usage errors (exit 2).
    pub fn open(address: &str, config: &BTreeMap<String, String>) -> Result<S3Backend> {
        let location = Location::parse(address)?;
        let settings = Settings::parse(config, &location)?;
        let plan = plan(&location, &settings, &aws_environment())?;
        let build = |builder: AmazonS3Builder| {
            builder.build().map_err(|e| {
                Error::usage(format!(
                    "cannot set up the S3 client for '{}': {e}",
                    location.url("")
                ))
                .with_source(e)
            })
        };
        let swaps = build(plan.builder.clone().with_retry(RetryConfig {
            max_retries: 0,
            ..RetryConfig::default()
        }))?;
        let store = build(plan.builder)?;
        log::debug!(
            "opened {} (atomic conditional writes: {})",
            describe(&location, plan.endpoint.as_ref()),
            plan.atomic
        );
        Ok(S3Backend {
            store,
            swaps,
            location,
            endpoint: plan.endpoint,
            atomic: plan.atomic,
        })
    }

    /// The object's path in the bucket.
    fn path(&self, key: &str) -> Result<Path> {
        let full = self.location.join(key);
        match Path::parse(&full) {
            Ok(path) if path.as_ref() == full && !key.is_empty() => Ok(path),
            _ => Err(Error::usage(format!(
                "'{}' is not a key of {}",
                printable(key),
                self.describe()
            ))),
        }
    }

    /// ` at <endpoint>` for messages, when the store is not on AWS.
    fn at(&self) -> String {
        self.endpoint
            .as_ref()
            .map(|e| format!(" at {}", e.url()))
            .unwrap_or_default()
    }

    /// Run `fut` to completion on the shared runtime, for at most `limit`; `None` if the
    /// limit passed first (the request is then abandoned).
    fn wait<F: Future>(&self, limit: Duration, fut: F) -> Result<Option<F::Output>> {
        // The timer is made inside the runtime, which it needs.
        let limited = async move { tokio::time::timeout(limit, fut).await };
        Ok(super::runtime::block_on(&self.describe(), limited)?.ok())
    }

    /// The error for an operation that did not finish within `limit`.
    fn timed_out(&self, verb: &str, key: &str, limit: Duration) -> Error {
        Error::unavailable(format!(
            "cannot {verb} '{}'{}: no answer within {} s",
            self.location.url(key),
            self.at(),
            limit.as_secs()
        ))
        .retryable(true)
    }

    /// The error for a failed operation, with the kind its cause calls for.
    fn error(&self, verb: &str, key: &str, e: object_store::Error) -> Error {
        let what = format!("cannot {verb} '{}'{}", self.location.url(key), self.at());
        let failure = Failure::of(&e);
        failure
            .into_error(what, &self.location.bucket)
            .with_source(e)
    }

    /// Start reading the object at `key` (its metadata and a body to take); `None` if
    /// there is no such object.
    fn start_get(&self, key: &str) -> Result<Option<object_store::GetResult>> {
        match self.start_get_with(key, GetOptions::default())? {
            Read::Found(got) => Ok(Some(got)),
            Read::Missing => Ok(None),
            Read::NotModified => Err(Error::other(format!(
                "'{}'{}: not modified, to a read that asked for it whatever its version",
                self.location.url(key),
                self.at()
            ))),
        }
    }

    /// Start reading the object at `key` with `options` (a condition on its version).
    fn start_get_with(&self, key: &str, options: GetOptions) -> Result<Read> {
        let path = self.path(key)?;
        log::trace!("GET {}", self.location.url(key));
        let got = self
            .wait(REQUEST_LIMIT, self.store.get_opts(&path, options))?
            .ok_or_else(|| self.timed_out("read", key, REQUEST_LIMIT))?;
        match got {
            Ok(got) => Ok(Read::Found(got)),
            Err(object_store::Error::NotModified { .. }) => Ok(Read::NotModified),
            Err(e) => self.missing_or::<()>(e, "read", key).map(|_| Read::Missing),
        }
    }

    /// Read the object at `key` whole, refusing more than `limit` bytes.
    fn read_small(&self, key: &str, limit: u64) -> Result<Option<Object>> {
        let Some(got) = self.start_get(key)? else {
            return Ok(None);
        };
        self.take_small(key, got, limit).map(Some)
    }

    /// The body of a read that started, whole, refusing more than `limit` bytes.
    fn take_small(&self, key: &str, got: object_store::GetResult, limit: u64) -> Result<Object> {
        let too_large = || {
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            Error::integrity(format!(
                "'{}'{} {}",
                self.location.url(key),
                self.at(),
                Refusal::TooLarge { limit }
            ))
        };
        if got.meta.size > limit {
            return Err(too_large());
        }
        let etag = Etag(got.meta.e_tag.clone().unwrap_or_default());
        let mut bytes = BytesMut::with_capacity(usize::try_from(got.meta.size).unwrap_or(0));
        let mut body = got.into_stream();
        loop {
            let chunk = self
                .wait(REQUEST_LIMIT, body.next())?
                .ok_or_else(|| self.timed_out("read", key, REQUEST_LIMIT))?;
            match chunk {
                None => break,
                Some(Err(e)) => return Err(self.error("read", key, e)),
                Some(Ok(chunk)) => {
                    if (bytes.len() + chunk.len()) as u64 > limit {
                        return Err(too_large());
                    }
                    bytes.extend_from_slice(&chunk);
                }
            }
        }
        Ok(Object {
            bytes: bytes.freeze(),
            etag,
        })
    }

    /// `None` for a missing object (in a bucket that exists), the error otherwise.
    fn missing_or<T>(&self, e: object_store::Error, verb: &str, key: &str) -> Result<Option<T>> {
        if Failure::of(&e) == Failure::Missing {
            Ok(None)
        } else {
            Err(self.error(verb, key, e))
        }
    }

    /// Whether the condition of a write still holds for the object at `path`: none is
    /// there (create-only), or it is still the expected version (compare-and-swap).
    fn condition_still_holds(&self, key: &str, path: &Path, mode: &PutMode) -> Result<bool> {
        log::trace!("HEAD {}", self.location.url(key));
        let head = self
            .wait(REQUEST_LIMIT, self.store.head(path))?
            .ok_or_else(|| self.timed_out("read", key, REQUEST_LIMIT))?;
        let now = match head {
            Ok(meta) => Some(meta.e_tag.unwrap_or_default()),
            Err(e) if Failure::of(&e) == Failure::Missing => None,
            Err(e) => return Err(self.error("read", key, e)),
        };
        Ok(match mode {
            PutMode::Create => now.is_none(),
            PutMode::Update(v) => now.is_some() && now == v.e_tag,
            PutMode::Overwrite => true,
        })
    }

    /// One conditional `PUT` (tried again on a fresh connection if the connection broke
    /// before an answer); `Ok(false)` if its condition failed.
    fn put(&self, verb: &str, key: &str, bytes: Bytes, mode: PutMode) -> Result<bool> {
        let size = bytes.len() as u64;
        if size > MAX_SINGLE_PUT {
            return Err(Error::usage(format!(
                "cannot {verb} '{}': {size} bytes is more than S3 takes in one upload (5 GiB)",
                self.location.url(key)
            )));
        }
        let path = self.path(key)?;
        let limit = REQUEST_LIMIT + Duration::from_secs(size / SLOWEST_UPLOAD);
        // A connection that broke before the answer (a server closing a kept-alive
        // connection as the request starts) is tried again on a new one: the write is
        // conditional, so a first attempt that did land makes the repeat report `Existed`
        // or `Lost`, which the layout resolves by reading the file again.
        let mut attempts = 0;
        loop {
            attempts += 1;
            log::trace!("PUT {} ({size} bytes, {mode:?})", self.location.url(key));
            let client = match mode {
                PutMode::Update(_) => &self.swaps,
                _ => &self.store,
            };
            let put = client.put_opts(
                &path,
                PutPayload::from_bytes(bytes.clone()),
                PutOptions::from(mode.clone()),
            );
            let done = self
                .wait(limit, put)?
                .ok_or_else(|| self.timed_out(verb, key, limit))?;
            return match done {
                Ok(_) => Ok(true),
                Err(e) => match Failure::of(&e) {
                    // A create-only write finds a file (`If-None-Match` failed, or a
                    // concurrent conditional write is in flight: 409); a swap finds another
                    // version, or no file at all (S3 says 404 to `If-Match` on a missing
                    // object).
                    Failure::Condition | Failure::Missing => Ok(false),
                    Failure::Dropped if attempts < BROKEN_CONNECTION_ATTEMPTS => {
                        // A server may refuse a conditional write before reading its body
                        // (412 at once) and close the connection, which the client sees as
                        // a broken pipe. What the object is now says which it was.
                        if !self.condition_still_holds(key, &path, &mode)? {
                            return Ok(false);
                        }
                        log::debug!(
                            "PUT {}: the connection broke; trying again",
                            self.location.url(key)
                        );
                        continue;
                    }
                    _ => Err(self.error(verb, key, e)),
                },
            };
        }
    }
}

impl Backend for S3Backend {
    fn describe(&self) -> String {
        describe(&self.location, self.endpoint.as_ref())
    }

    fn get(&self, key: &str, limit: u64) -> Result<Option<Object>> {
        self.read_small(key, limit)
    }

    fn get_if_changed(&self, key: &str, limit: u64, etag: &Etag) -> Result<Revalidated> {
        let options = GetOptions {
            if_none_match: Some(etag.0.clone()),
            ..GetOptions::default()
        };
        Ok(match self.start_get_with(key, options)? {
            Read::Found(got) => Revalidated::Changed(self.take_small(key, got, limit)?),
            Read::Missing => Revalidated::Gone,
            Read::NotModified => Revalidated::Unchanged,
        })
    }

    fn get_into(&self, key: &str, out: &mut dyn Write) -> Result<Option<u64>> {
        let Some(got) = self.start_get(key)? else {
            return Ok(None);
        };
        let expected = got.meta.size;
        let mut body = got.into_stream();
        let mut written = 0u64;
        loop {
            let chunk = self
                .wait(REQUEST_LIMIT, body.next())?
                .ok_or_else(|| self.timed_out("read", key, REQUEST_LIMIT))?;
            match chunk {
                None => break,
                Some(Err(e)) => return Err(self.error("read", key, e)),
                Some(Ok(chunk)) => {
                    out.write_all(&chunk).map_err(|e| {
                        Error::io(format!("cannot pass on '{}'", self.location.url(key)), e)
                    })?;
                    written += chunk.len() as u64;
                }
            }
        }
        if written != expected {
            return Err(Error::unavailable(format!(
                "cannot read '{}'{}: the server sent {written} of {expected} bytes",
                self.location.url(key),
                self.at()
            ))
            .retryable(true));
        }
        Ok(Some(written))
    }

    /// Whether the bucket exists and, for a store under a prefix, holds anything under
    /// it: S3 has no directories, so a prefix with no objects is a store not made yet.
    fn exists(&self) -> Result<bool> {
        let prefix = &self.location.prefix;
        let path = match prefix.is_empty() {
            true => None,
            false => Some(Path::parse(prefix).map_err(|_| {
                Error::usage(format!("'{}' is not a key prefix", printable(prefix)))
            })?),
        };
        log::trace!("LIST {} (first page)", self.location.url(""));
        let mut stream = self.store.list(path.as_ref());
        let first = self
            .wait(REQUEST_LIMIT, stream.next())?
            .ok_or_else(|| self.timed_out("list", "", REQUEST_LIMIT))?;
        match first {
            Some(Ok(_)) => Ok(true),
            None => Ok(prefix.is_empty()),
            Some(Err(e)) if Failure::of(&e) == Failure::NoBucket => Ok(false),
            Some(Err(e)) => Err(self.error("list", "", e)),
        }
    }

    fn put_new(&self, key: &str, bytes: Bytes) -> Result<Created> {
        Ok(match self.put("write", key, bytes, PutMode::Create)? {
            true => Created::Created,
            false => Created::Existed,
        })
    }

    fn put_swap(&self, key: &str, bytes: Bytes, expect: Option<&Etag>) -> Result<Swapped> {
        let mode = match expect {
            None => PutMode::Create,
            Some(Etag(e_tag)) if e_tag.is_empty() => {
                return Err(Error::other(format!(
                    "cannot update '{}'{}: the server gave no ETag when it was read, so the \
                     write cannot be made conditional",
                    self.location.url(key),
                    self.at()
                )));
            }
            Some(Etag(e_tag)) => PutMode::Update(UpdateVersion {
                e_tag: Some(e_tag.clone()),
                version: None,
            }),
        };
        Ok(match self.put("update", key, bytes, mode)? {
            true => Swapped::Done,
            false => Swapped::Lost,
        })
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        log::trace!("DELETE {}", self.location.url(key));
        let done = self
            .wait(REQUEST_LIMIT, self.store.delete(&path))?
            .ok_or_else(|| self.timed_out("delete", key, REQUEST_LIMIT))?;
        match done {
            Ok(()) => Ok(()),
            Err(e) => self.missing_or(e, "delete", key).map(|_: Option<()>| ()),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        // List the "directory" the prefix is in and keep what starts with the prefix, so
        // a prefix that does not end in `/` works too.
        let dir = prefix.rfind('/').map_or("", |i| &prefix[..i]);
        let full = self.location.join(dir);
        let path = match full.is_empty() {
            true => None,
            false => Some(Path::parse(&full).map_err(|_| {
                Error::usage(format!(
                    "'{}' is not a key prefix of {}",
                    printable(prefix),
                    self.describe()
                ))
            })?),
        };
        let strip = match self.location.prefix.is_empty() {
            true => String::new(),
            false => format!("{}/", self.location.prefix),
        };
        log::trace!("LIST {}", self.location.url(prefix));
        let mut stream = self.store.list(path.as_ref());
        let mut keys = Vec::new();
        loop {
            let next = self
                .wait(REQUEST_LIMIT, stream.next())?
                .ok_or_else(|| self.timed_out("list", prefix, REQUEST_LIMIT))?;
            match next {
                None => break,
                Some(Err(e)) => return Err(self.error("list", prefix, e)),
                Some(Ok(meta)) => {
                    if let Some(key) = meta.location.as_ref().strip_prefix(&strip)
                        && key.starts_with(prefix)
                    {
                        keys.push(key.to_owned());
                    }
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    /// Eight: a request to S3 spends nearly all its time waiting on the network, so more
    /// in flight than on a local disk pays (the AWS command line runs ten).
    fn parallel_requests(&self) -> usize {
        PARALLEL_REQUESTS
    }

    fn listing_is_cheap(&self) -> bool {
        false
    }

    fn atomic_conditional_writes(&self) -> bool {
        self.atomic
    }
}

/// `s3://bucket/prefix`, and the endpoint when it is not AWS.
fn describe(location: &Location, endpoint: Option<&Endpoint>) -> String {
    match endpoint {
        Some(e) => format!("{} at {}", location.url(""), e.url()),
        None => location.url(""),
    }
}

/// The `AWS_*` environment variables (those that are valid UTF-8).
fn aws_environment() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with("AWS_"))
        .collect()
}

/// The bucket and key prefix of an `s3://` address.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Location {
    bucket: String,
    /// Segments joined by `/`, no leading or trailing `/`; empty for the whole bucket.
    prefix: String,
}

impl Location {
    /// Parse `s3://BUCKET[/PREFIX]`; a malformed address is a usage error.
    fn parse(address: &str) -> Result<Location> {
        let shown = printable(address);
        let bad = |why: String| {
            Error::usage(format!("'{shown}' is not an S3 store address: {why}"))
                .with_hint("an S3 store is addressed as s3://BUCKET or s3://BUCKET/PREFIX")
        };
        let rest = address
            .strip_prefix("s3://")
            .ok_or_else(|| bad("it does not start with s3://".into()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        check_bucket(bucket).map_err(bad)?;
        // One trailing slash is harmless (`s3://b/p/`); anything else empty is a typo.
        let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
        if !prefix.is_empty() {
            for segment in prefix.split('/') {
                check_segment(segment).map_err(bad)?;
            }
        }
        Ok(Location {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The object key of a store key.
    fn join(&self, key: &str) -> String {
        match (self.prefix.is_empty(), key.is_empty()) {
            (true, _) => key.to_owned(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{key}", self.prefix),
        }
    }

    /// `s3://bucket/prefix/key`, for messages.
    fn url(&self, key: &str) -> String {
        let path = self.join(key);
        match path.is_empty() {
            true => format!("s3://{}", self.bucket),
            false => format!("s3://{}/{}", self.bucket, printable(&path)),
        }
    }
}

/// S3's rules for a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens,
/// starting and ending with a letter or digit, no two dots in a row, not an IP address.
fn check_bucket(bucket: &str) -> std::result::Result<(), String> {
    if bucket.is_empty() {
        return Err("it names no bucket".into());
    }
    let shown = printable(bucket);
    if !(3..=63).contains(&bucket.len()) {
        return Err(format!(
            "bucket name '{shown}' must be 3 to 63 characters long"
        ));
    }
    if !bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Err(format!(
            "bucket name '{shown}' may hold only lowercase letters, digits, '.' and '-'"
        ));
    }
    let edge = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !edge(bucket.bytes().next()) || !edge(bucket.bytes().last()) {
        return Err(format!(
            "bucket name '{shown}' must start and end with a letter or digit"
        ));
    }
    if bucket.contains("..") {
        return Err(format!("bucket name '{shown}' cannot hold '..'"));
    }
    if bucket.parse::<Ipv4Addr>().is_ok() {
        return Err(format!("bucket name '{shown}' cannot be an IP address"));
    }
    Ok(())
}

/// A segment of the key prefix: not empty, not `.` or `..`, no control character.
fn check_segment(segment: &str) -> std::result::Result<(), String> {
    if segment.is_empty() {
        return Err("the prefix has an empty segment ('//')".into());
    }
    if segment == "." || segment == ".." {
        return Err(format!("the prefix cannot have a '{segment}' segment"));
    }
    if segment.chars().any(char::is_control) {
        return Err("the prefix cannot hold control characters".into());
    }
    Ok(())
}

/// A server's address, `http(s)://host[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    https: bool,
    /// The host name or address (an IPv6 address in brackets).
    host: String,
    /// `:port` and `/path`, as given (no trailing `/`).
    rest: String,
}

impl Endpoint {
    fn parse(input: &str) -> std::result::Result<Endpoint, String> {
        let lower = input.to_ascii_lowercase();
        let (https, after) = if lower.starts_with("https://") {
            (true, &input["https://".len()..])
        } else if lower.starts_with("http://") {
            (false, &input["http://".len()..])
        } else {
            return Err("it must start with http:// or https://".into());
        };
        if after.contains(['?', '#', '@']) || after.chars().any(|c| c.is_whitespace()) {
            return Err(
                "it must be scheme://host[:port][/path], without user, query or spaces".into(),
            );
        }
        let after = after.trim_end_matches('/');
        let (authority, path) = after.find('/').map_or((after, ""), |i| after.split_at(i));
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (inside, port) = v6.split_once(']').ok_or("an IPv6 address needs its ']'")?;
            inside
                .parse::<Ipv6Addr>()
                .map_err(|_| format!("'{inside}' is not an IPv6 address"))?;
            (&authority[..inside.len() + 2], port)
        } else {
            match authority.rfind(':') {
                Some(i) => authority.split_at(i),
                None => (authority, ""),
            }
        };
        if host.is_empty() {
            return Err("it names no host".into());
        }
        if !host.starts_with('[')
            && !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
        {
            return Err(format!("'{}' is not a host name", printable(host)));
        }
        if let Some(port) = port.strip_prefix(':') {
            if port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(format!("'{}' is not a port", printable(port)));
            }
        } else if !port.is_empty() {
            return Err("a port follows the host after ':'".into());
        }
        Ok(Endpoint {
            https,
            host: host.to_ascii_lowercase(),
            rest: format!("{port}{path}"),
        })
    }

    fn scheme(&self) -> &'static str {
        if self.https { "https" } else { "http" }
    }

    fn url(&self) -> String {
        format!("{}://{}{}", self.scheme(), self.host, self.rest)
    }

    /// The endpoint with the bucket in front of the host (virtual-hosted style).
    fn with_bucket(&self, bucket: &str) -> String {
        format!("{}://{bucket}.{}{}", self.scheme(), self.host, self.rest)
    }

    /// Whether the host is this machine.
    fn is_loopback(&self) -> bool {
        let host = self.host.as_str();
        host == "localhost"
            || host.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback())
            || host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse::<Ipv6Addr>().ok())
                .is_some_and(|a| a.is_loopback())
    }

    /// Whether the host is an IP address (no name a bucket could be put in front of).
    fn is_address(&self) -> bool {
        self.host.starts_with('[') || self.host.parse::<Ipv4Addr>().is_ok()
    }
}

/// A store's settings, checked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Settings {
    endpoint: Option<String>,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    path_style: Option<bool>,
    allow_http: Option<bool>,
    atomic_conditional_writes: Option<bool>,
    instance_metadata: bool,
}

impl Settings {
    fn parse(config: &BTreeMap<String, String>, location: &Location) -> Result<Settings> {
        let store = location.url("");
        let mut settings = Settings::default();
        for (key, value) in config {
            if crate::crypt::is_key(key) {
                continue;
            }
            if !KEYS.contains(&key.as_str()) {
                return Err(Error::usage(format!(
                    "S3 store '{store}' has no setting '{}'",
                    printable(key)
                ))
                .with_hint(format!("its settings are {}", KEYS.join(", "))));
            }
            if value.is_empty() {
                continue;
            }
            let flag = || match value.as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(Error::usage(format!(
                    "setting '{key}' of S3 store '{store}' must be true or false, not '{}'",
                    printable(value)
                ))),
            };
            let text = Some(value.clone());
            match key.as_str() {
                "endpoint" => settings.endpoint = text,
                "region" => settings.region = text,
                "access_key_id" => settings.access_key_id = text,
                "secret_access_key" => settings.secret_access_key = text,
                "session_token" => settings.session_token = text,
                "path_style" => settings.path_style = Some(flag()?),
                "allow_http" => settings.allow_http = Some(flag()?),
                "atomic_conditional_writes" => settings.atomic_conditional_writes = Some(flag()?),
                _ => settings.instance_metadata = flag()?,
            }
        }
        let keys = (
            settings.access_key_id.is_some(),
            settings.secret_access_key.is_some(),
        );
        if keys.0 != keys.1 || (settings.session_token.is_some() && !keys.0) {
            return Err(Error::usage(format!(
                "S3 store '{store}' needs both access_key_id and secret_access_key (and \
                 session_token only with them)"
            )));
        }
        Ok(settings)
    }
}

/// A configured client, not built yet, with what the backend keeps besides.
struct Plan {
    builder: AmazonS3Builder,
    endpoint: Option<Endpoint>,
    atomic: bool,
}

/// An environment variable's value as the client reads booleans (`true`, `1`, `yes`, …).
fn env_flag(env: &[(String, String)], name: &str) -> Option<bool> {
    let (_, value) = env.iter().find(|(k, _)| k == name)?;
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" | "y" => Some(true),
        "0" | "false" | "off" | "no" | "n" => Some(false),
        _ => None,
    }
}

/// Decide everything about the client from the settings and the `AWS_*` environment.
fn plan(location: &Location, settings: &Settings, env: &[(String, String)]) -> Result<Plan> {
    // Before any client is built; a run that never opens an S3 store never sets it up.
    super::runtime::install_tls();
    let store = location.url("");
    let usage = |what: String| Error::usage(format!("S3 store '{store}': {what}"));
    const CREDENTIAL_VARS: &[&str] = &[
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_token",
    ];
    const ENDPOINT_VARS: &[&str] = &["aws_endpoint", "aws_endpoint_url", "aws_endpoint_url_s3"];

    let mut builder = AmazonS3Builder::new();
    for (name, value) in env {
        let key = name.to_ascii_lowercase();
        let replaced = (settings.access_key_id.is_some()
            && CREDENTIAL_VARS.contains(&key.as_str()))
            || (settings.endpoint.is_some() && ENDPOINT_VARS.contains(&key.as_str()));
        if replaced {
            continue;
        }
        if let Ok(config_key) = key.parse::<AmazonS3ConfigKey>() {
            builder = builder.with_config(config_key, value);
        }
    }
    builder = builder.with_bucket_name(&location.bucket);
    if let Some(region) = &settings.region {
        builder = builder.with_region(region);
    }
    if let (Some(id), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
        builder = builder
            .with_access_key_id(id)
            .with_secret_access_key(secret);
        if let Some(token) = &settings.session_token {
            builder = builder.with_token(token);
        }
    }

    // The endpoint: the setting, else the environment's (its S3-specific one first).
    let endpoint = match &settings.endpoint {
        Some(e) => Some((e.clone(), "setting 'endpoint'")),
        None => builder
            .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
            .map(|e| (e, "AWS_ENDPOINT_URL_S3"))
            .or_else(|| {
                builder
                    .get_config_value(&AmazonS3ConfigKey::Endpoint)
                    .map(|e| (e, "AWS_ENDPOINT_URL"))
            }),
    };
    let endpoint = endpoint
        .map(|(e, from)| {
            Endpoint::parse(&e).map_err(|why| {
                usage(format!(
                    "{from} '{}' is not an endpoint: {why}",
                    printable(&e)
                ))
            })
        })
        .transpose()?;

    let path_style = settings
        .path_style
        .or_else(|| env_flag(env, "AWS_VIRTUAL_HOSTED_STYLE_REQUEST").map(|v| !v))
        .unwrap_or(endpoint.is_some() || location.bucket.contains('.'));
    builder = builder.with_virtual_hosted_style_request(!path_style);
    if let Some(e) = &endpoint {
        let url = match path_style {
            true => e.url(),
            false if e.is_address() => {
                return Err(usage(format!(
                    "path_style: false needs an endpoint with a host name, not '{}'",
                    e.url()
                )));
            }
            false => e.with_bucket(&location.bucket),
        };
        builder = builder
            .with_endpoint(&url)
            .with_config(AmazonS3ConfigKey::S3Endpoint, &url);
    }

    let allow_http = settings
        .allow_http
        .or_else(|| env_flag(env, "AWS_ALLOW_HTTP"))
        .unwrap_or_else(|| endpoint.as_ref().is_some_and(Endpoint::is_loopback));
    if let Some(e) = &endpoint
        && !e.https
        && !allow_http
    {
        return Err(usage(format!(
            "'{}' is plain HTTP: requests and content would cross the network unencrypted",
            e.url()
        ))
        .with_hint("use https, or set allow_http: true for this store if that is intended"));
    }
    builder = builder.with_allow_http(allow_http);

    check_credentials(&builder, settings, env).map_err(usage)?;

    builder = builder
        .with_conditional_put(S3ConditionalPut::ETagMatch)
        .with_disable_bulk_delete(true)
        .with_retry(RetryConfig {
            backoff: BackoffConfig {
                init_backoff: INIT_BACKOFF,
                max_backoff: MAX_BACKOFF,
                base: 2.0,
            },
            max_retries: MAX_RETRIES,
            retry_timeout: RETRY_TIMEOUT,
        })
        .with_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
            CONNECT_TIMEOUT,
        )
        .with_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
            CLIENT_BACKSTOP,
        );

    let atomic = settings
        .atomic_conditional_writes
        .unwrap_or(endpoint.is_none());
    Ok(Plan {
        builder,
        endpoint,
        atomic,
    })
}

/// Refuse a configuration under which the client would fall back to the EC2 instance
/// metadata service without being told to (see the module documentation).
fn check_credentials(
    builder: &AmazonS3Builder,
    settings: &Settings,
    env: &[(String, String)],
) -> std::result::Result<(), String> {
    let has = |key: AmazonS3ConfigKey| builder.get_config_value(&key).is_some();
    let static_keys =
        has(AmazonS3ConfigKey::AccessKeyId) || has(AmazonS3ConfigKey::SecretAccessKey);
    let web_identity =
        has(AmazonS3ConfigKey::WebIdentityTokenFile) && has(AmazonS3ConfigKey::RoleArn);
    let container = has(AmazonS3ConfigKey::ContainerCredentialsRelativeUri)
        || (has(AmazonS3ConfigKey::ContainerCredentialsFullUri)
            && has(AmazonS3ConfigKey::ContainerAuthorizationTokenFile));
    let anonymous = env_flag(env, "AWS_SKIP_SIGNATURE") == Some(true);
    if static_keys || web_identity || container || anonymous {
        return Ok(());
    }
    if settings.instance_metadata {
        if env_flag(env, "AWS_EC2_METADATA_DISABLED") == Some(true) {
            return Err(
                "instance_metadata is set, but AWS_EC2_METADATA_DISABLED=true forbids it".into(),
            );
        }
        return Ok(());
    }
    Err(
        "no credentials: set access_key_id and secret_access_key in the store's settings, \
         or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment (or \
         instance_metadata: true on an EC2 instance with a role)"
            .into(),
    )
}

/// What went wrong with a request, as far as pulse cares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    /// The bucket does not exist.
    NoBucket,
    /// The object does not exist.
    Missing,
    /// A write's condition failed (or a concurrent conditional write was in flight).
    Condition,
    /// The credentials were refused.
    Denied(Option<u16>),
    /// No connection could be made.
    Unreachable(String),
    /// The request took too long.
    TimedOut,
    /// The connection broke during the request.
    Dropped,
    /// The server failed or asked to slow down, and kept at it through the retries.
    Server(u16),
    /// The request went to the wrong region.
    WrongRegion,
    /// Credentials could not be had from the instance metadata service, a container's
    /// credential endpoint or the identity provider.
    Credentials,
    /// Any other answer.
    Status(u16),
    /// Anything else.
    Other,
}

impl Failure {
    fn of(e: &object_store::Error) -> Failure {
        use object_store::Error as E;
        let mut chain: Vec<&(dyn StdError + 'static)> = Vec::new();
        let mut next: Option<&(dyn StdError + 'static)> = Some(e);
        while let Some(current) = next {
            chain.push(current);
            next = current.source();
        }
        let text: String = chain.iter().map(|e| format!("{e}\n")).collect();
        let status = status_in(&text);
        if text.contains("NoSuchBucket") {
            return Failure::NoBucket;
        }
        match e {
            E::NotFound { .. } => return Failure::Missing,
            E::AlreadyExists { .. } | E::Precondition { .. } | E::NotModified { .. } => {
                return Failure::Condition;
            }
            E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
                return Failure::Denied(status);
            }
            _ => {}
        }
        // The request that failed was the one for credentials, not one to the store.
        if [
            "/latest/api/token",
            "/latest/meta-data/",
            "169.254.170.2",
            "AssumeRoleWith",
        ]
        .iter()
        .any(|mark| text.contains(mark))
        {
            return Failure::Credentials;
        }
        if text.contains("PermanentRedirect")
            || text.contains("AuthorizationHeaderMalformed")
            || text.contains("Received redirect without LOCATION")
        {
            return Failure::WrongRegion;
        }
        if let Some(status) = status {
            return match status {
                404 => Failure::Missing,
                401 | 403 => Failure::Denied(Some(status)),
                412 | 409 => Failure::Condition,
                429 | 500..=599 => Failure::Server(status),
                _ => Failure::Status(status),
            };
        }
        let transport = chain
            .iter()
            .find_map(|e| e.downcast_ref::<HttpError>())
            .map(HttpError::kind);
        match transport {
            Some(HttpErrorKind::Connect) => {
                let detail = chain
                    .iter()
                    .find_map(|e| e.downcast_ref::<std::io::Error>())
                    .map_or_else(|| "no connection".to_owned(), |io| io.kind().to_string());
                Failure::Unreachable(detail)
            }
            Some(HttpErrorKind::Timeout) => Failure::TimedOut,
            Some(HttpErrorKind::Request | HttpErrorKind::Interrupted) => Failure::Dropped,
            _ => Failure::Other,
        }
    }

    /// The error for this failure: `what` says what could not be done.
    fn into_error(self, what: String, bucket: &str) -> Error {
        match self {
            Failure::NoBucket => Error::not_found(format!("{what}: there is no bucket '{bucket}'"))
                .with_hint("check the bucket name and the endpoint, or create the bucket"),
            Failure::Missing => Error::not_found(format!("{what}: no such object")),
            Failure::Condition => Error::conflict(format!("{what}: it was changed meanwhile")),
            Failure::Denied(status) => Error::unavailable(format!(
                "{what}: permission denied{}",
                status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
            ))
            .retryable(false)
            .with_hint(
                "check the credentials, and that they may list, read, write and delete objects \
                 in the bucket",
            ),
            Failure::Unreachable(detail) => {
                Error::unavailable(format!("{what}: cannot connect ({detail})")).retryable(true)
            }
            Failure::TimedOut => Error::unavailable(format!("{what}: timed out")).retryable(true),
            Failure::Dropped => {
                Error::unavailable(format!("{what}: the connection broke")).retryable(true)
            }
            Failure::Server(status) => {
                let why = match status {
                    429 | 503 => "the server asks to slow down or is unavailable",
                    _ => "server error",
                };
                Error::unavailable(format!("{what}: {why} (HTTP {status})")).retryable(true)
            }
            Failure::WrongRegion => Error::unavailable(format!(
                "{what}: the bucket is in another region than the one requests are signed for"
            ))
            .retryable(false)
            .with_hint("set the store's region (or AWS_REGION) to the bucket's region"),
            Failure::Credentials => Error::unavailable(format!(
                "{what}: cannot get credentials from the instance metadata service, the \
                 container's credential endpoint or the identity provider"
            ))
            .retryable(true)
            .with_hint(
                "check where the credentials come from, or set access_key_id and \
                 secret_access_key for this store",
            ),
            Failure::Status(status) => {
                Error::other(format!("{what}: unexpected answer (HTTP {status})"))
            }
            Failure::Other => Error::other(what),
        }
    }
}

/// The HTTP status the client's error text reports (`… status code: 404 Not Found …`).
fn status_in(text: &str) -> Option<u16> {
    const MARK: &str = "status code: ";
    let at = text.find(MARK)? + MARK.len();
    let digits = text.get(at..at + 3)?;
    digits.parse().ok().filter(|s| (100..600).contains(s))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::error::Kind;

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const KEYS_SET: &[(&str, &str)] = &[("access_key_id", "AK"), ("secret_access_key", "SK")];

    fn planned(address: &str, settings: &[(&str, &str)], vars: &[(&str, &str)]) -> Result<Plan> {
        let location = Location::parse(address)?;
        let settings = Settings::parse(&config(settings), &location)?;
        plan(&location, &settings, &env(vars))
    }

    fn value(plan: &Plan, key: AmazonS3ConfigKey) -> Option<String> {
        plan.builder.get_config_value(&key)
    }

    #[test]
    fn addresses() {
        let l = Location::parse("s3://prompts").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("prompts", ""));
        assert_eq!(l.url("a/b"), "s3://prompts/a/b");
        assert_eq!(l.url(""), "s3://prompts");
        let l = Location::parse("s3://my.bucket-1/team/shared/").unwrap();
        assert_eq!(l.prefix, "team/shared");
        assert_eq!(
            l.join("x/1.0.0/content.md"),
            "team/shared/x/1.0.0/content.md"
        );
        assert_eq!(l.url(""), "s3://my.bucket-1/team/shared");
        assert_eq!(Location::parse("s3://abc/").unwrap().prefix, "");
        for bad in [
            "s3://",
            "s3:///p",
            "s3://ab",
            "s3://Bucket",
            "s3://under_score",
            "s3://-abc",
            "s3://abc-",
            "s3://a..b",
            "s3://192.168.1.1",
            "s3://user:pw@bucket",
            &format!("s3://{}", "a".repeat(64)),
            "s3://b12/a//b",
            "s3://b12//a",
            "s3://b12/a/../b",
            "s3://b12/./a",
            "s3://b12/a\nb",
            "gs://bucket",
        ] {
            let e = Location::parse(bad).unwrap_err();
            assert_eq!(e.kind(), Kind::Usage, "{bad}");
        }
        assert!(Location::parse(&format!("s3://{}", "a".repeat(63))).is_ok());
    }

    #[test]
    fn settings_are_checked() {
        let l = Location::parse("s3://bucket/p").unwrap();
        let e = Settings::parse(&config(&[("endpiont", "x")]), &l).unwrap_err();
        assert_eq!(e.kind(), Kind::Usage);
        assert!(e.message().contains("'endpiont'"), "{}", e.message());
        let s = Settings::parse(
            &config(&[
                ("age_recipients", "age1…"),
                ("age_identity", "x"),
                ("region", ""),
            ]),
            &l,
        )
        .unwrap();
        assert_eq!(s, Settings::default());
        let e = Settings::parse(&config(&[("path_style", "yes")]), &l).unwrap_err();
        assert!(e.message().contains("true or false"), "{}", e.message());
        for lone in [
            &[("access_key_id", "a")][..],
            &[("secret_access_key", "s")],
            &[("session_token", "t")],
        ] {
            let e = Settings::parse(&config(lone), &l).unwrap_err();
            assert_eq!(e.kind(), Kind::Usage);
        }
        let s = Settings::parse(
            &config(&[
                ("access_key_id", "a"),
                ("secret_access_key", "s"),
                ("session_token", "t"),
                ("atomic_conditional_writes", "true"),
            ]),
            &l,
        )
        .unwrap();
        assert_eq!(s.session_token.as_deref(), Some("t"));
        assert_eq!(s.atomic_conditional_writes, Some(true));
    }

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:9000/").unwrap();
        assert_eq!(e.url(), "http://127.0.0.1:9000");
        assert!(e.is_loopback() && e.is_address() && !e.https);
        let e = Endpoint::parse("HTTPS://S3.Example.com/gw").unwrap();
        assert_eq!(e.url(), "https://s3.example.com/gw");
        assert_eq!(e.with_bucket("b1"), "https://b1.s3.example.com/gw");
        assert!(!e.is_loopback() && !e.is_address());
        assert!(Endpoint::parse("http://[::1]:9000").unwrap().is_loopback());
        assert!(
            Endpoint::parse("http://localhost:9000")
                .unwrap()
                .is_loopback()
        );
        assert!(!Endpoint::parse("http://10.0.0.1").unwrap().is_loopback());
        for bad in [
            "127.0.0.1:9000",
            "ftp://h",
            "http://",
            "http://:9000",
            "http://h:0",
            "http://h:99999",
            "http://h:x",
            "http://user:pw@h",
            "http://h/?x",
            "http://[::1",
            "http://h w",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn no_credentials_is_refused_before_any_request() {
        let e = planned("s3://bucket", &[], &[]).err().unwrap();
        assert_eq!(e.kind(), Kind::Usage);
        assert!(e.message().contains("no credentials"), "{}", e.message());
        // The metadata service only when asked for, and never when disabled.
        assert!(planned("s3://bucket", &[("instance_metadata", "true")], &[]).is_ok());
        let e = planned(
            "s3://bucket",
            &[("instance_metadata", "true")],
            &[("AWS_EC2_METADATA_DISABLED", "true")],
        )
        .err()
        .unwrap();
        assert!(e.message().contains("AWS_EC2_METADATA_DISABLED"));
        // Other sources the environment configures on purpose.
        for vars in [
            &[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "s")][..],
            &[
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
                ("AWS_ROLE_ARN", "arn"),
            ],
            &[("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/x")],
            &[("AWS_SKIP_SIGNATURE", "true")],
        ] {
            assert!(planned("s3://bucket", &[], vars).is_ok(), "{vars:?}");
        }
        assert!(planned("s3://bucket", &[], &[("AWS_ROLE_ARN", "arn")]).is_err());
    }

    #[test]
    fn credentials_come_from_one_place() {
        let vars = [
            ("AWS_ACCESS_KEY_ID", "envkey"),
            ("AWS_SECRET_ACCESS_KEY", "envsecret"),
            ("AWS_SESSION_TOKEN", "envtoken"),
            ("AWS_REGION", "eu-west-3"),
        ];
        let p = planned("s3://bucket", KEYS_SET, &vars).unwrap();
        assert_eq!(value(&p, AmazonS3ConfigKey::AccessKeyId).unwrap(), "AK");
        assert_eq!(value(&p, AmazonS3ConfigKey::Token), None);
        assert_eq!(value(&p, AmazonS3ConfigKey::Region).unwrap(), "eu-west-3");
        let p = planned("s3://bucket", &[], &vars).unwrap();
        assert_eq!(value(&p, AmazonS3ConfigKey::AccessKeyId).unwrap(), "envkey");
        assert_eq!(value(&p, AmazonS3ConfigKey::Token).unwrap(), "envtoken");
        let p = planned("s3://bucket", &[("region", "us-west-2")], &vars).unwrap();
        assert_eq!(value(&p, AmazonS3ConfigKey::Region).unwrap(), "us-west-2");
    }

    #[test]
    fn endpoint_style_and_plain_http() {
        let with = |extra: &[(&str, &str)], vars: &[(&str, &str)]| {
            let mut all = KEYS_SET.to_vec();
            all.extend_from_slice(extra);
            planned("s3://bucket/p", &all, vars)
        };
        // AWS: virtual-hosted, https, atomic.
        let p = with(&[], &[]).unwrap();
        assert!(p.endpoint.is_none() && p.atomic);
        assert_eq!(
            value(&p, AmazonS3ConfigKey::VirtualHostedStyleRequest).unwrap(),
            "true"
        );
        assert_eq!(
            value(&p, AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp)).unwrap(),
            "false"
        );
        // A dotted bucket on AWS: path style.
        let location = Location::parse("s3://my.bucket").unwrap();
        let settings = Settings::parse(&config(KEYS_SET), &location).unwrap();
        let p = plan(&location, &settings, &[]).unwrap();
        assert_eq!(
            value(&p, AmazonS3ConfigKey::VirtualHostedStyleRequest).unwrap(),
            "false"
        );
        // A local server: path style, plain HTTP allowed, not atomic unless said so.
        let p = with(&[("endpoint", "http://127.0.0.1:9000")], &[]).unwrap();
        assert!(!p.atomic);
        assert_eq!(
            describe(
                &Location::parse("s3://bucket/p").unwrap(),
                p.endpoint.as_ref()
            ),
            "s3://bucket/p at http://127.0.0.1:9000"
        );
        assert_eq!(
            value(&p, AmazonS3ConfigKey::S3Endpoint).unwrap(),
            "http://127.0.0.1:9000"
        );
        assert_eq!(
            value(&p, AmazonS3ConfigKey::VirtualHostedStyleRequest).unwrap(),
            "false"
        );
        assert_eq!(
            value(&p, AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp)).unwrap(),
            "true"
        );
        let p = with(
            &[
                ("endpoint", "http://127.0.0.1:9000"),
                ("atomic_conditional_writes", "true"),
            ],
            &[],
        )
        .unwrap();
        assert!(p.atomic);
        // Plain HTTP elsewhere: refused unless allowed (by the setting or the environment).
        let e = with(&[("endpoint", "http://10.1.2.3:9000")], &[])
            .err()
            .unwrap();
        assert_eq!(e.kind(), Kind::Usage);
        assert!(e.message().contains("plain HTTP"), "{}", e.message());
        assert!(
            with(
                &[("endpoint", "http://10.1.2.3:9000"), ("allow_http", "true")],
                &[]
            )
            .is_ok()
        );
        assert!(
            with(
                &[("endpoint", "http://10.1.2.3")],
                &[("AWS_ALLOW_HTTP", "true")]
            )
            .is_ok()
        );
        // Virtual-hosted with an endpoint: the bucket goes in front of the host.
        let p = with(
            &[
                ("endpoint", "https://s3.example.com"),
                ("path_style", "false"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            value(&p, AmazonS3ConfigKey::Endpoint).unwrap(),
            "https://bucket.s3.example.com"
        );
        assert!(
            with(
                &[
                    ("endpoint", "http://127.0.0.1:9000"),
                    ("path_style", "false")
                ],
                &[]
            )
            .is_err()
        );
        // The endpoint setting replaces the environment's; else the environment's is used.
        let vars = [("AWS_ENDPOINT_URL_S3", "https://elsewhere.example.com")];
        let p = with(&[("endpoint", "https://s3.example.com")], &vars).unwrap();
        assert_eq!(
            value(&p, AmazonS3ConfigKey::S3Endpoint).unwrap(),
            "https://s3.example.com"
        );
        let p = with(&[], &vars).unwrap();
        assert_eq!(p.endpoint.unwrap().url(), "https://elsewhere.example.com");
        let e = with(&[], &[("AWS_ENDPOINT_URL", "nonsense")])
            .err()
            .unwrap();
        assert!(e.message().contains("AWS_ENDPOINT_URL"), "{}", e.message());
    }

    #[test]
    fn conditional_writes_are_forced_on() {
        let p = planned(
            "s3://bucket",
            KEYS_SET,
            &[("AWS_CONDITIONAL_PUT", "disabled")],
        )
        .unwrap();
        assert_eq!(
            value(&p, AmazonS3ConfigKey::ConditionalPut).unwrap(),
            "etag"
        );
        assert!(p.builder.build().is_ok());
    }

    /// An error as the client's retry layer words it.
    #[derive(Debug)]
    struct Said(&'static str);

    impl std::fmt::Display for Said {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Said {}

    fn generic(source: impl StdError + Send + Sync + 'static) -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: Box::new(source),
        }
    }

    #[test]
    fn failures_are_classified() {
        let not_found = |body: &'static str| object_store::Error::NotFound {
            path: "p/k".into(),
            source: Box::new(Said(body)),
        };
        assert_eq!(
            Failure::of(&not_found(
                "Server returned non-2xx status code: 404 Not Found: <Code>NoSuchKey</Code>"
            )),
            Failure::Missing
        );
        assert_eq!(
            Failure::of(&not_found(
                "Server returned non-2xx status code: 404 Not Found: <Code>NoSuchBucket</Code>"
            )),
            Failure::NoBucket
        );
        assert_eq!(
            Failure::of(&generic(Said(
                "Error performing list request: Error performing GET http://h/b?list-type=2 in 2ms - Server returned non-2xx status code: 404 Not Found: <Error><Code>NoSuchBucket</Code></Error>"
            ))),
            Failure::NoBucket
        );
        assert_eq!(
            Failure::of(&generic(Said(
                "Error performing list request: … - Server returned non-2xx status code: 403 Forbidden: <Code>SignatureDoesNotMatch</Code>"
            ))),
            Failure::Denied(Some(403))
        );
        assert_eq!(
            Failure::of(&generic(Said(
                "… after 3 retries, max_retries: 3, retry_timeout: 5s - Server returned non-2xx status code: 503 Service Unavailable: SlowDown"
            ))),
            Failure::Server(503)
        );
        assert_eq!(
            Failure::of(&generic(Said(
                "… status code: 301 Moved Permanently: <Code>PermanentRedirect</Code>"
            ))),
            Failure::WrongRegion
        );
        assert_eq!(
            Failure::of(&generic(Said(
                "… status code: 400 Bad Request: <Code>InvalidArgument</Code>"
            ))),
            Failure::Status(400)
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            Failure::of(&generic(HttpError::new(HttpErrorKind::Connect, refused))),
            Failure::Unreachable("connection refused".into())
        );
        assert_eq!(
            Failure::of(&generic(HttpError::new(
                HttpErrorKind::Timeout,
                Said("timed out")
            ))),
            Failure::TimedOut
        );
        assert_eq!(
            Failure::of(&object_store::Error::Precondition {
                path: "k".into(),
                source: Box::new(Said("412")),
            }),
            Failure::Condition
        );
        assert_eq!(
            Failure::of(&generic(Said(
                "Error performing PUT http://169.254.169.254/latest/api/token in 2s - HTTP error: error sending request"
            ))),
            Failure::Credentials
        );
        assert_eq!(Failure::of(&generic(Said("???"))), Failure::Other);
        assert_eq!(status_in("status code: 4"), None);
    }

    #[test]
    fn failures_have_kinds() {
        let what = || "cannot read 's3://b/k'".to_owned();
        let e = Failure::NoBucket.into_error(what(), "b");
        assert_eq!((e.kind(), e.is_retryable()), (Kind::NotFound, false));
        assert!(e.message().contains("no bucket 'b'"));
        let e = Failure::Denied(Some(403)).into_error(what(), "b");
        assert_eq!((e.kind(), e.is_retryable()), (Kind::Unavailable, false));
        assert_eq!(
            e.message(),
            "cannot read 's3://b/k': permission denied (HTTP 403)"
        );
        for retry in [
            Failure::Unreachable("connection refused".into()),
            Failure::TimedOut,
            Failure::Dropped,
            Failure::Server(500),
        ] {
            let e = retry.into_error(what(), "b");
            assert_eq!((e.kind(), e.is_retryable()), (Kind::Unavailable, true));
        }
    }
}
