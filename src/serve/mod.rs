//! The registry: a store served over HTTP, as `docs/registry.md` describes the protocol.
//!
//! Reads are the files of the directory layout, rendered from the store's own answers
//! (so any store serves them: a git repository, a directory, S3), and a JSON API in the
//! shapes the command line prints; writes are create-only release uploads, label moves
//! and metadata changes by compare-and-swap, and deletes. Every request that names a
//! prompt is checked against the tokens ([`tokens`]); every write and every refusal is
//! written to the audit log. Read-only HTML pages for people, the web view, live under
//! `/_ui/` and follow the same access rules.
//!
//! Stores are synchronous, and the S3 store drives a runtime of its own that refuses to
//! run inside another: store calls run on a bounded pool of plain threads, and the
//! server's runtime only reads requests and writes answers. That runtime is built by
//! [`run`], and by nothing else in pulse.

mod audit;
mod cache;
mod handlers;
mod metrics;
mod openapi;
mod paths;
mod pool;
mod reply;
mod server;
pub mod tokens;
mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use audit::AuditLog;

use crate::error::{Error, Result};
use crate::store::Store;

/// How the registry runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// The tokens file (`None`: no tokens; only anonymous reads, if allowed).
    pub tokens: Option<PathBuf>,
    /// Where the audit log goes.
    pub audit_log: AuditLog,
    /// Whether reads need no token.
    pub allow_anonymous_read: bool,
    /// The largest request body taken, in bytes (a release's content).
    pub max_body: u64,
    /// How many store calls run at once (the size of the worker pool).
    pub max_concurrent: usize,
    /// How long a client may take to send a request's headers (and an idle connection
    /// waits for its next request).
    pub header_timeout: Duration,
    /// How long each step of a request may take once its headers are in: its body
    /// arriving, the store answering, the client reading the answer.
    pub request_timeout: Duration,
    /// How many bytes of release files are kept in memory.
    pub cache_size: u64,
    /// How long requests in flight may take to finish once shutdown began.
    pub shutdown_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tokens: None,
            audit_log: AuditLog::Stderr,
            allow_anonymous_read: false,
            max_body: 32 << 20,
            max_concurrent: 64,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            cache_size: 64 << 20,
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// Serve `store` until SIGTERM or SIGINT. `listening` is told the address once the
/// socket listens (before any request is taken); when the signal comes, no connection is
/// accepted any more, the requests in flight finish (a write handed to the store always
/// does), and this returns.
pub fn run(
    store: Arc<dyn Store>,
    options: &Options,
    listening: impl FnOnce(SocketAddr) -> Result<()>,
) -> Result<()> {
    let tokens = tokens::Tokens::open(options.tokens.as_deref())?;
    if tokens.is_empty() {
        ::log::warn!(
            "no tokens{}: {}",
            options
                .tokens
                .as_ref()
                .map(|p| format!(" in '{}'", p.display()))
                .unwrap_or_default(),
            if options.allow_anonymous_read {
                "anyone may read, nobody may write"
            } else {
                "every request that names a prompt is refused"
            }
        );
    }
    let app = Arc::new(handlers::App {
        store,
        pool: pool::Pool::start(options.max_concurrent)?,
        tokens,
        audit: audit::Audit::open(&options.audit_log)?,
        cache: cache::Cache::new(options.cache_size),
        metrics: metrics::Metrics::default(),
        allow_anonymous_read: options.allow_anonymous_read,
        max_body: options.max_body,
        request_timeout: options.request_timeout,
    });
    let served = serve(&app, options, listening);
    // Every job handed to the workers finishes before the server is gone.
    app.pool.stop();
    served
}

fn serve(
    app: &Arc<handlers::App>,
    options: &Options,
    listening: impl FnOnce(SocketAddr) -> Result<()>,
) -> Result<()> {
    let listener = std::net::TcpListener::bind(options.listen).map_err(|e| {
        Error::io(format!("cannot listen on {}", options.listen), e)
            .with_hint("choose another address or port, or stop what listens there")
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::io(format!("cannot listen on {}", options.listen), e))?;
    let address = listener
        .local_addr()
        .map_err(|e| Error::io(format!("cannot listen on {}", options.listen), e))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("pulse-serve")
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| Error::io("cannot start the server's runtime", e))?;
    ::log::info!("serving {} on http://{address}", app.store.describe());
    listening(address)?;
    let limits = server::ConnectionLimits {
        header_timeout: options.header_timeout,
        send_timeout: options.request_timeout,
        shutdown_timeout: options.shutdown_timeout,
    };
    let served = runtime.block_on(server::serve(listener, Arc::clone(app), limits));
    // Connections cut off at the deadline are dropped with the runtime; jobs they handed
    // to the workers run on.
    runtime.shutdown_timeout(Duration::from_secs(1));
    served
}

/// Read a request path as the server does, and check what it names (for the fuzzer: any
/// string must be routed, refused or passed over, never panic; a name read from a path is
/// a valid name).
#[doc(hidden)]
pub fn fuzz_path(path: &str) {
    use paths::Target;
    if let Ok(target) = paths::parse(path) {
        let name = match &target {
            Target::Index(n)
            | Target::Labels(n)
            | Target::Content(n, _)
            | Target::Metadata(n, _) => Some(n),
            Target::Api(n, _) => Some(n),
            Target::StoreInfo | Target::Catalog | Target::ApiPrompts | Target::ApiSearch => None,
        };
        if let Some(n) = name {
            assert_eq!(crate::name::Name::parse(n.as_str()).ok().as_ref(), Some(n));
        }
        let _ = target.route();
    }
}
