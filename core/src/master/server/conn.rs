//! Accepting peers: the allow list at accept time, connection limits, timeouts, TLS or plain HTTP.
//!
//! Every limit is enforced before a byte of the peer is parsed: a peer outside the allow list
//! gets a fixed `403` as soon as it sends anything (a TLS `access_denied` alert when it opened
//! with a ClientHello; at most a second after it connected) and
//! the connection is closed once the peer has had the answer; a peer at its connection limit
//! (or a server at its global one) first makes room by closing its oldest connection that has
//! not sent a request yet (a half-open one), else is closed at once. A request head must
//! arrive within [`HEADER_READ_TIMEOUT`], and a connection with no byte either way for
//! [`IDLE_TIMEOUT`] is closed.
//!
//! One port serves both transports: the first byte tells a TLS ClientHello
//! ([`TLS_HANDSHAKE_BYTE`], protocol v2) from a plain HTTP request (protocol v1 followers).
//! Waiting for that byte and the whole handshake share the header-read time, and the idle
//! timeout runs under TLS too. Under `--plain-http` every connection is plain HTTP.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::tls::{ACCESS_DENIED_ALERT, TLS_HANDSHAKE_BYTE};

/// The allow list, replaced whole when `master.toml` changes.
pub(super) type AllowList = Arc<std::sync::RwLock<Arc<Vec<ipnet::IpNet>>>>;

/// Connections open at once, all peers together.
pub const MAX_CONNECTIONS: usize = 256;

/// Connections open at once from one peer address.
pub const MAX_CONNECTIONS_PER_PEER: usize = 32;

/// How long a peer may take to send a request's head (request line and headers), from the
/// moment the server waits for it (including between requests on a kept-alive connection).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection may go without a byte read or written before it is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// What a peer outside the allow list gets, written without parsing its request.
const FORBIDDEN: &[u8] = b"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 35\r\nconnection: close\r\n\r\npeer address not in the allow list\n";

/// The limits one server runs with.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) max: usize,
    pub(super) per_peer: usize,
    pub(super) header_read: Duration,
    pub(super) idle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max: MAX_CONNECTIONS,
            per_peer: MAX_CONNECTIONS_PER_PEER,
            header_read: HEADER_READ_TIMEOUT,
            idle: IDLE_TIMEOUT,
        }
    }
}

/// An IPv4-mapped IPv6 peer counts as its IPv4 address.
pub(super) fn normalise(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Accepts and serves connections until `shutdown` completes; `tls` is `None` under
/// `--plain-http`.
pub(super) async fn serve(
    listener: TcpListener,
    allow: AllowList,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Slots::default());
    let refusals = Arc::new(AtomicUsize::new(0));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, mostly: the connection waits in the backlog,
                    // so pause rather than spin, and keep serving the ones that are open.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let ip = normalise(peer.ip());
        let allowed = allow
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|net| net.contains(&ip));
        if !allowed {
            tracing::warn!("refused {ip}: not in the allow list");
            refuse(stream, &refusals);
            continue;
        }
        let Some(slot) = slots.admit(ip, &limits) else {
            tracing::warn!(
                "refused a connection from {ip}: {} connections from it, {} in all, each busy",
                limits.per_peer,
                limits.max
            );
            continue;
        };
        tokio::spawn(serve_connection(
            stream,
            peer,
            router.clone(),
            tls.clone(),
            slot,
            limits,
        ));
    }
}

/// Refusals waiting for their peer to speak at once; past this many, refused peers are
/// closed without an answer.
const MAX_PENDING_REFUSALS: usize = 64;

/// How long a refused peer may take to send its request before it is closed unanswered, and
/// how long its connection lingers after the answer.
const REFUSAL_WAIT: Duration = Duration::from_secs(1);

/// How much of a refused peer's request is read (and dropped unparsed) while it lingers.
const REFUSAL_DRAIN: usize = 16 * 1024;

/// Answers a refused peer with the fixed `403` (or, when its first byte opens a TLS
/// handshake, the `access_denied` alert) and closes. The answer waits (at most
/// [`REFUSAL_WAIT`]) until the peer has sent a byte, since an HTTP client treats an answer
/// that comes before its request as a broken connection, not as a refusal it could explain.
/// Then the close lingers: closing a socket with unread bytes makes the kernel send a reset,
/// which can reach the peer before the `403` does, so what the peer sent is read and dropped
/// (at most [`REFUSAL_DRAIN`] bytes, for at most [`REFUSAL_WAIT`]) until it closes its side.
/// Nothing read is parsed or logged.
fn refuse(stream: TcpStream, pending: &Arc<AtomicUsize>) {
    if pending.fetch_add(1, Ordering::SeqCst) >= MAX_PENDING_REFUSALS {
        pending.fetch_sub(1, Ordering::SeqCst);
        return;
    }
    let pending = pending.clone();
    tokio::spawn(async move {
        let mut stream = stream;
        let mut first = [0u8; 1];
        // `peek` waits for a byte that is there; `readable` may wake without one.
        let spoke = tokio::time::timeout(REFUSAL_WAIT, stream.peek(&mut first)).await;
        if let Ok(Ok(1..)) = spoke {
            let answer: &[u8] = if first[0] == TLS_HANDSHAKE_BYTE {
                &ACCESS_DENIED_ALERT
            } else {
                FORBIDDEN
            };
            let _ =
                tokio::time::timeout(REFUSAL_WAIT, linger_after_refusal(&mut stream, answer)).await;
        }
        pending.fetch_sub(1, Ordering::SeqCst);
    });
}

/// Writes the refusal, closes the sending side and drops what the peer still sends.
async fn linger_after_refusal(stream: &mut TcpStream, answer: &[u8]) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if stream.write_all(answer).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    let mut buf = [0u8; 4096];
    let mut drained = 0;
    while drained < REFUSAL_DRAIN {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => drained += n,
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    tls: Option<TlsAcceptor>,
    slot: Slot,
    limits: Limits,
) {
    let _ = stream.set_nodelay(true);
    let served = slot.served.clone();
    let work = async move {
        let Some(acceptor) = tls else {
            return http(
                IdleTimeout::new(stream, limits.idle),
                router,
                served,
                limits,
            )
            .await;
        };
        // The first byte and the whole handshake within the header-read time.
        let deadline = Instant::now() + limits.header_read;
        let mut first = [0u8; 1];
        match tokio::time::timeout_at(deadline, stream.peek(&mut first)).await {
            Ok(Ok(1..)) => {}
            _ => return Ok(()),
        }
        let io = IdleTimeout::new(stream, limits.idle);
        if first[0] != TLS_HANDSHAKE_BYTE {
            return http(io, router, served, limits).await;
        }
        match tokio::time::timeout_at(deadline, acceptor.accept(io)).await {
            Ok(Ok(tls)) => http(tls, router, served, limits).await,
            Ok(Err(e)) => Err(Box::new(e) as BoxError),
            Err(_) => Err("the TLS handshake took longer than the header-read time".into()),
        }
    };
    tokio::select! {
        done = work => {
            if let Err(e) = done {
                tracing::debug!("connection from {peer} ended: {e}");
            }
        }
        () = slot.evict.notified() => {
            tracing::debug!("closed a connection from {peer} that sent no request, to make room");
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves HTTP/1.1 on `io` (a TCP stream, or TLS over one).
async fn http<I>(
    io: I,
    router: Router,
    served: Arc<AtomicBool>,
    limits: Limits,
) -> Result<(), BoxError>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        served.store(true, Ordering::Relaxed);
        router.clone().oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    builder
        .serve_connection(TokioIo::new(io), service)
        .await
        .map_err(|e| Box::new(e) as BoxError)
}

/// The open connections, oldest first.
#[derive(Default)]
struct Slots {
    open: Mutex<SlotsInner>,
}

#[derive(Default)]
struct SlotsInner {
    next: u64,
    open: BTreeMap<u64, Open>,
}

struct Open {
    peer: IpAddr,
    served: Arc<AtomicBool>,
    evict: Arc<Notify>,
}

/// One admitted connection; dropping it frees its place.
struct Slot {
    id: u64,
    slots: Arc<Slots>,
    /// Set once the connection has sent a whole request head.
    served: Arc<AtomicBool>,
    /// Notified when the connection must close to make room.
    evict: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots
            .open
            .lock()
            .expect("not poisoned")
            .open
            .remove(&self.id);
    }
}

impl Slots {
    /// A place for a new connection from `peer`, making room by closing the oldest
    /// connection that never sent a request (of that peer at the per-peer limit, of anyone
    /// at the global one); `None` when there is none to close.
    fn admit(self: &Arc<Self>, peer: IpAddr, limits: &Limits) -> Option<Slot> {
        let mut inner = self.open.lock().expect("not poisoned");
        let of_peer = inner.open.values().filter(|o| o.peer == peer).count();
        if of_peer >= limits.per_peer && !inner.evict_oldest(|o| o.peer == peer) {
            return None;
        }
        if inner.open.len() >= limits.max && !inner.evict_oldest(|_| true) {
            return None;
        }
        let id = inner.next;
        inner.next += 1;
        let served = Arc::new(AtomicBool::new(false));
        let evict = Arc::new(Notify::new());
        inner.open.insert(
            id,
            Open {
                peer,
                served: served.clone(),
                evict: evict.clone(),
            },
        );
        Some(Slot {
            id,
            slots: self.clone(),
            served,
            evict,
        })
    }
}

impl SlotsInner {
    fn evict_oldest(&mut self, scope: impl Fn(&Open) -> bool) -> bool {
        let victim = self
            .open
            .iter()
            .find(|(_, o)| scope(o) && !o.served.load(Ordering::Relaxed))
            .map(|(id, _)| *id);
        match victim.and_then(|id| self.open.remove(&id)) {
            Some(open) => {
                // `notify_one` keeps the wake-up even if the task is not waiting yet.
                open.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// A stream that fails with `TimedOut` once no byte went either way for its idle time.
struct IdleTimeout<S> {
    inner: S,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<S> IdleTimeout<S> {
    fn new(inner: S, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn touch(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }

    fn expired<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection was idle too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.expired(cx),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(result) => {
                if result.as_ref().is_ok_and(|n| *n > 0) {
                    self.touch();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.expired(cx),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.expired(cx),
            ready => ready,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_well_formed() {
        let text = std::str::from_utf8(FORBIDDEN).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
    }

    #[test]
    fn a_full_peer_makes_room_by_closing_its_oldest_idle_connection() {
        let slots = Arc::new(Slots::default());
        let limits = Limits {
            max: 3,
            per_peer: 2,
            ..Limits::default()
        };
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let first = slots.admit(a, &limits).unwrap();
        let second = slots.admit(a, &limits).unwrap();
        second.served.store(true, Ordering::Relaxed);
        // At the per-peer limit: the oldest that sent nothing (`first`) goes.
        let third = slots.admit(a, &limits).unwrap();
        assert!(!slots.open.lock().unwrap().open.contains_key(&first.id));
        third.served.store(true, Ordering::Relaxed);
        // Both of `a`'s are busy now: a fourth from `a` is refused, `b` still gets in.
        assert!(slots.admit(a, &limits).is_none());
        let other = slots.admit(b, &limits).unwrap();
        other.served.store(true, Ordering::Relaxed);
        // Globally full, every connection busy: refused.
        assert!(slots.admit(b, &limits).is_none());
        drop(other);
        assert!(slots.admit(b, &limits).is_some());
    }
}
