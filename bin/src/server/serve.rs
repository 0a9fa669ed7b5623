//! Serving: the accept loop, connection timeouts, and graceful shutdown.
//!
//! ```text
//! TcpListener ─► accept (TCP_NODELAY) ─► hyper HTTP/1.1 ─► router
//!   HTTP/1: header-read timeout (also bounds an idle keep-alive connection)
//!   every request body: idle timeout between two chunks
//! shutdown signal ─► stop accepting ─► streams in flight finish (≤ grace)
//!                 └► grace over: streams end with their protocol's in-band error ─► exit
//! ```
//!
//! Slow clients cannot hold connections for free: a connection that has not sent a complete
//! request head within [`ServeOptions::header_read_timeout`] (a slowloris, or an idle keep-alive
//! connection) is closed, and a body that stops arriving for
//! [`ServeOptions::body_idle_timeout`] fails its request. The API key is checked from the head,
//! before any body is read (`layers::require_api_key`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::time::{Instant, Sleep};

use super::AppState;

/// Default [`ServeOptions::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ServeOptions::body_idle_timeout`].
pub const DEFAULT_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`ServeOptions::shutdown_grace`].
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Largest HTTP/1 read buffer of one connection (64 KiB): request bodies arrive in chunks of at
/// about this size, and it also bounds the request head hyper parses (one that overflows it is
/// hyper's bare 431; [`super::layers::limit_head`] answers smaller excesses in the caller's
/// protocol).
/// hyper's default (about 400 KiB) let each parked upload hold several such buffers.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;

/// Most header fields hyper parses in one request head (256); more is hyper's bare 431.
/// [`super::layers::MAX_HEADER_FIELDS`] answers a smaller excess in the caller's protocol.
pub const PARSED_HEADER_FIELDS: usize = 256;

/// How long the flushing of in-band errors may take after the grace period.
const FINAL_FLUSH: Duration = Duration::from_secs(5);

/// Connection-level settings of [`serve`].
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Longest wait for a complete HTTP/1 request head, counted from when the connection starts
    /// waiting for one: it closes slow-header clients and idle keep-alive connections alike.
    pub header_read_timeout: Duration,
    /// Longest silence between two chunks of a request body; the request then fails.
    pub body_idle_timeout: Duration,
    /// After the shutdown signal, how long answers in flight may take before they are ended
    /// with an in-band error.
    pub shutdown_grace: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_idle_timeout: DEFAULT_BODY_IDLE_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// Serves `state` on `listener` until `shutdown` completes; then stops accepting, lets the
/// answers in flight finish for up to [`ServeOptions::shutdown_grace`], ends the rest with their
/// protocol's in-band error, and returns.
///
/// # Errors
/// Never for a single connection (those are logged); accept errors such as running out of file
/// descriptors are logged and retried after a short pause.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> io::Result<()> {
    let body_idle = options.body_idle_timeout;
    let app = super::routes::router(state.clone()).layer(axum::middleware::map_request(
        move |request: Request| async move {
            request.map(|body| Body::new(IdleBody::new(body, body_idle)))
        },
    ));
    // HTTP/1.1 only: hyper-util's protocol detection for h2c waits for a client's first bytes
    // with no timeout, which is exactly what a slowloris exploits (and no client of this proxy
    // needs cleartext HTTP/2).
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(READ_BUFFER_BYTES)
        .max_headers(PARSED_HEADER_FIELDS)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (tcp, _remote) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // EMFILE / ENFILE and friends: the connections in flight will free some.
                tracing::warn!(error = %e, "accept failed; retrying in 50 ms");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Every SSE event is a small write: without TCP_NODELAY, Nagle's algorithm holds it
        // until the client's delayed ACK (40 ms on Linux).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
        let service = TowerToHyperService::new(app.clone());
        let connection = builder.serve_connection(TokioIo::new(tcp), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(
        grace_seconds = options.shutdown_grace.as_secs_f64(),
        "shutting down: no new connections; finishing the answers in flight"
    );
    let drained = graceful.shutdown();
    tokio::pin!(drained);
    tokio::select! {
        () = &mut drained => {}
        () = tokio::time::sleep(options.shutdown_grace) => {
            tracing::warn!("grace period over: ending the answers still in flight");
            state.shutdown.cancel();
            if tokio::time::timeout(FINAL_FLUSH, &mut drained).await.is_err() {
                tracing::warn!("some connections did not close; exiting anyway");
            }
        }
    }
    Ok(())
}

pin_project_lite::pin_project! {
    /// A request body that fails when no chunk arrives for `idle`.
    struct IdleBody {
        #[pin]
        body: Body,
        idle: Duration,
        #[pin]
        timer: Sleep,
    }
}

impl IdleBody {
    fn new(body: Body, idle: Duration) -> Self {
        IdleBody {
            body,
            idle,
            timer: tokio::time::sleep(idle),
        }
    }
}

impl http_body::Body for IdleBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let mut this = self.project();
        match this.body.poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timer.as_mut().reset(Instant::now() + *this.idle);
                Poll::Ready(frame)
            }
            Poll::Pending => match this.timer.poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the request body stopped arriving for {} s",
                        this.idle.as_secs_f64()
                    ),
                ))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
