//! One HTTP/1.1 connection, with a watchdog for clients that hold it without using it.
//!
//! hyper's own header-read timeout counts from the moment it starts waiting for a request,
//! so it would also end every kept-alive connection after a few seconds of quiet (and a
//! load balancer reusing one would get an error). The watchdog tells the two apart: a new
//! connection, and a request that has started arriving, must complete the headers within
//! `header_read_timeout`; a connection that has served a request may then wait
//! `keep_alive_timeout` for the next one.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::config::ConnectionLimits;

/// Serves `stream` until the client closes it, a limit ends it, or shutdown drains it.
pub(super) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let service = {
        let activity = Arc::clone(&activity);
        service_fn(move |mut request: hyper::Request<Incoming>| {
            // The peer address feeds the rate limiter's client IP.
            request.extensions_mut().insert(ConnectInfo(peer));
            let in_request = activity.request_started();
            let router = router.clone();
            async move {
                let response = router.oneshot(request.map(Body::new)).await;
                drop(in_request);
                response
            }
        })
    };
    // The watchdog below replaces hyper's header timeout (see the module docs).
    let connection = http1::Builder::new()
        .header_read_timeout(None)
        .serve_connection(io, service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let mut draining = false;
    loop {
        let wait = match activity.verdict(&limits) {
            Verdict::Wait(wait) => wait,
            Verdict::SlowHeaders => {
                tracing::debug!(%peer, "request headers too slow: connection closed");
                return;
            }
            Verdict::Idle => {
                if !draining {
                    draining = true;
                    connection.as_mut().graceful_shutdown();
                }
                limits.header_read_timeout
            }
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            changed = stopping.changed(), if !draining => {
                if changed.is_err() || *stopping.borrow() {
                    draining = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// What the watchdog decides about a connection.
enum Verdict {
    /// Fine: look again after this long.
    Wait(Duration),
    /// A request's headers took longer than allowed: drop the connection.
    SlowHeaders,
    /// No request for longer than the keep-alive limit: close it gracefully.
    Idle,
}

/// What a connection has been doing; updated by its IO and its requests.
struct Activity {
    opened: Instant,
    /// Requests being handled (HTTP/1.1 handles one at a time; pipelined ones queue).
    requests: AtomicUsize,
    /// When the connection last became free of requests (ms since `opened`).
    idle_since: AtomicU64,
    /// When the first byte of the next request arrived (ms since `opened`), or [`NONE`].
    /// Starts at 0: the first request's headers are due `header_read_timeout` after the
    /// connection opened.
    head_since: AtomicU64,
}

const NONE: u64 = u64::MAX;

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            requests: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    /// Bytes arrived: while no request is being handled, they start the next one.
    fn on_read(&self) {
        if self.requests.load(Ordering::Acquire) == 0 {
            let _ = self.head_since.compare_exchange(
                NONE,
                self.now(),
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    /// Bytes were sent: a response is still streaming, so a pipelined request that
    /// arrived meanwhile gets its header time from now.
    fn on_write(&self) {
        let now = self.now();
        let _ = self
            .head_since
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |since| {
                (since != NONE).then_some(now)
            });
    }

    /// The headers of a request are complete: it is handled until the guard drops.
    fn request_started(self: &Arc<Self>) -> InRequest {
        self.requests.fetch_add(1, Ordering::AcqRel);
        self.head_since.store(NONE, Ordering::Release);
        InRequest(Arc::clone(self))
    }

    fn verdict(&self, limits: &ConnectionLimits) -> Verdict {
        let shortest = limits.header_read_timeout.min(limits.keep_alive_timeout);
        if self.requests.load(Ordering::Acquire) > 0 {
            // A request's own duration is bounded by the request timeout.
            return Verdict::Wait(shortest);
        }
        let now = self.now();
        let head_since = self.head_since.load(Ordering::Acquire);
        let (since, limit, verdict) = if head_since == NONE {
            let idle_since = self.idle_since.load(Ordering::Acquire);
            (idle_since, limits.keep_alive_timeout, Verdict::Idle)
        } else {
            (head_since, limits.header_read_timeout, Verdict::SlowHeaders)
        };
        let elapsed = Duration::from_millis(now.saturating_sub(since));
        match limit.checked_sub(elapsed) {
            Some(left) if !left.is_zero() => Verdict::Wait(left.min(shortest)),
            _ => verdict,
        }
    }
}

/// A request being handled; dropping it marks the connection idle from now.
struct InRequest(Arc<Activity>);

impl Drop for InRequest {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.idle_since.store(activity.now(), Ordering::Release);
        activity.requests.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The socket, reporting its reads and writes to the watchdog.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(poll, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.on_write();
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, data);
        if matches!(poll, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.on_write();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
