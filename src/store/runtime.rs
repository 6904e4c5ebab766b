//! The runtime that the network stores (S3, HTTP) run their requests on: one small
//! current-thread tokio runtime per process, started when such a store is first used, so
//! a command that reads a local store never starts it, nor TLS.

use std::sync::OnceLock;

use crate::error::{Error, Result};

/// The runtime every network store's requests run on, started on first use.
pub(crate) fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .thread_name("pulse-io")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::other(format!("cannot start the network client: {e}")))
}

/// Make TLS available: ring as rustls's provider (see Cargo.toml), installed before any
/// client is built. A provider already installed (by a program embedding pulse, or an
/// earlier store) is kept.
pub(crate) fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Run `fut` to completion on the shared runtime from synchronous code. A store called
/// from inside another async runtime (a server's task) is refused: it must be called from
/// a plain thread, as `pulse serve` does.
pub(crate) fn block_on<F: Future>(what: &str, fut: F) -> Result<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::other(format!(
            "{what} cannot be used from inside an async runtime"
        )));
    }
    Ok(runtime()?.block_on(fut))
}
