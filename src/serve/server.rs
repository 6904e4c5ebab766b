//! Connections: accepted on the runtime, served by hyper's HTTP/1.1 with a header read
//! timeout, counted by the metrics, and shut down gracefully on SIGTERM or SIGINT.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tower::ServiceExt;

use super::handlers::{App, Peer, Route};
use super::paths::OTHER_ROUTE;
use crate::error::{Error, IoResultExt, Result};

/// The limits connections are served with.
pub(crate) struct ConnectionLimits {
    /// How long a client may take to send a request's headers, and how long an idle
    /// connection is kept open waiting for the next request.
    pub(crate) header_timeout: Duration,
    /// How long a client may leave an answer unread before its connection is closed.
    pub(crate) send_timeout: Duration,
    /// How long in-flight requests may take to finish once shutdown began.
    pub(crate) shutdown_timeout: Duration,
}

/// Serve `listener` until SIGTERM or SIGINT, then stop accepting, let the requests in
/// flight finish (within the shutdown timeout), and return.
pub(crate) async fn serve(
    listener: std::net::TcpListener,
    app: Arc<App>,
    limits: ConnectionLimits,
) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let shown = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let listener = tokio::net::TcpListener::from_std(listener)
        .io_ctx(|| format!("cannot listen on {shown}"))?;
    let mut terminate = signal(SignalKind::terminate()).io_ctx(|| "cannot listen for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).io_ctx(|| "cannot listen for SIGINT")?;
    let router = super::handlers::router(Arc::clone(&app));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, or a connection reset before it was taken:
                // the listener itself is fine; wait a little rather than spin.
                ::log::warn!("cannot accept a connection on {shown}: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let app = Arc::clone(&app);
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            let router = router.clone();
            let app = Arc::clone(&app);
            request.extensions_mut().insert(Peer(peer));
            async move {
                let started = Instant::now();
                let reply = router.oneshot(request.map(Body::new)).await;
                if let Ok(reply) = &reply {
                    let route = reply
                        .extensions()
                        .get::<Route>()
                        .map_or(OTHER_ROUTE, |r| r.0);
                    app.metrics
                        .record(route, reply.status().as_u16(), started.elapsed());
                }
                reply
            }
        });
        let io = TokioIo::new(SendTimeout::new(stream, limits.send_timeout));
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                ::log::debug!("connection from {peer} ended: {e}");
            }
        });
    }
    drop(listener);
    ::log::info!(
        "shutting down: no new connections; finishing the requests in flight (a second signal stops at once)"
    );
    let cut_off = |why: &str| {
        ::log::warn!(
            "{why}: the requests still in flight are cut off (writes already handed to the store finish)"
        );
    };
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_timeout) => {
            cut_off(&format!("{} s passed", limits.shutdown_timeout.as_secs()));
        }
        // A second signal: stop now.
        _ = terminate.recv() => cut_off("SIGTERM again"),
        _ = interrupt.recv() => cut_off("SIGINT again"),
    }
    Ok(())
}

/// A connection whose writes fail once the client has read nothing for `timeout`: a
/// client that stops reading an answer does not hold its connection forever.
struct SendTimeout {
    stream: TcpStream,
    timeout: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl SendTimeout {
    fn new(stream: TcpStream, timeout: Duration) -> SendTimeout {
        SendTimeout {
            stream,
            timeout,
            stalled: None,
        }
    }

    /// After a write that made no progress: fail once the stall lasted too long.
    fn poll_stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let timeout = self.timeout;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                Error::unavailable(format!(
                    "the client read nothing of its answer for {} s",
                    timeout.as_secs()
                )),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for SendTimeout {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendTimeout {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write(cx, buf) {
            Poll::Pending => self.poll_stalled(cx),
            done => {
                self.stalled = None;
                done
            }
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.poll_stalled(cx),
            done => {
                self.stalled = None;
                done
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
