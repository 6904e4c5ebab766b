//! `pulse serve`: the registry, a store served over HTTP.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{Ctx, out_err};
use crate::error::{Error, Result};
use crate::serve::{AuditLog, Options};

/// Serve the store over HTTP: the registry.
///
/// Serve the store (--store / PULSE_STORE / the configured store, else the repository)
/// over HTTP/1.1 on ADDR (default 127.0.0.1:8080: loopback only; put a TLS reverse proxy
/// in front to serve others). Reads are the directory layout's files
/// (/<name>/<version>/content.md, metadata.json, labels.json, _index.json, _pulse.json,
/// _catalog.json) and a JSON API under /_api/v1/prompts; writes upload releases
/// (create-only), move labels and change metadata (If-Match), and delete releases.
/// Requests carry tokens made by 'pulse token add' ('Authorization: Bearer ...'); reads
/// without one only with --allow-anonymous-read. Every write and every refusal is written
/// to the audit log as a JSON line. /healthz and /metrics (Prometheus) need no token.
/// Once listening, prints 'listening on http://IP:PORT'. SIGTERM or SIGINT stops it
/// gracefully: no new connections, requests in flight finish, then exit 0. The protocol
/// and operations are described in docs/registry.md.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on, IP:PORT (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The tokens file (default: $XDG_CONFIG_HOME/progress-pulse/tokens.json); read
    /// again when it changes, so 'pulse token revoke' needs no restart.
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
    /// Append the audit log to this file ('-': standard error).
    #[arg(long, value_name = "PATH", default_value = "-")]
    pub audit_log: String,
    /// Let requests without a token read (never write).
    #[arg(long)]
    pub allow_anonymous_read: bool,
    /// The largest request body taken (a release's content), e.g. 32MiB; larger is 413.
    #[arg(long, value_name = "SIZE", default_value = "32MiB", value_parser = size)]
    pub max_body: u64,
    /// How many store calls run at once; more requests wait their turn.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_concurrent: u64,
    /// Seconds a client may take to send a request's headers (and an idle connection is
    /// kept for its next request).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = duration)]
    pub header_timeout: u64,
    /// Seconds each step of a request may take once its headers are in: its body
    /// arriving (else 408), the store answering (else 503), the client reading the answer.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = duration)]
    pub request_timeout: u64,
    /// Bytes of release files kept in memory, e.g. 64MiB (0: none).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = size)]
    pub cache_size: u64,
    /// Seconds requests in flight may take to finish once SIGTERM or SIGINT came.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = duration)]
    pub shutdown_timeout: u64,
}

fn size(value: &str) -> std::result::Result<u64, String> {
    crate::config::parse_size(value)
        .ok_or_else(|| "expected a size such as 1048576, 64KiB or 32MiB".to_owned())
}

fn duration(value: &str) -> std::result::Result<u64, String> {
    crate::config::parse_duration(value)
        .filter(|s| *s > 0)
        .ok_or_else(|| "expected seconds (at least 1), or a duration such as 90s or 5m".to_owned())
}

pub(super) fn run(args: ServeArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let tokens = match args.tokens {
        Some(path) => Some(path),
        None => Some(crate::serve::tokens::default_path().ok_or_else(|| {
            Error::usage("no tokens file: neither XDG_CONFIG_HOME nor HOME is set")
                .with_hint("name one with --tokens FILE")
        })?),
    };
    let options = Options {
        listen: args.listen,
        tokens,
        audit_log: match args.audit_log.as_str() {
            "-" => AuditLog::Stderr,
            path => AuditLog::File(PathBuf::from(path)),
        },
        allow_anonymous_read: args.allow_anonymous_read,
        max_body: args.max_body,
        max_concurrent: usize::try_from(args.max_concurrent).unwrap_or(64),
        header_timeout: Duration::from_secs(args.header_timeout),
        request_timeout: Duration::from_secs(args.request_timeout),
        cache_size: args.cache_size,
        shutdown_timeout: Duration::from_secs(args.shutdown_timeout),
    };
    let store = ctx.access.live_store()?;
    crate::serve::run(store, &options, |address| {
        writeln!(out, "listening on http://{address}").map_err(out_err)?;
        out.flush().map_err(out_err)
    })
    .map_err(|e| {
        if e.message().starts_with("cannot listen on") {
            e.with_hint("pass another address with --listen")
        } else {
            e
        }
    })
}
