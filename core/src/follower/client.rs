//! Protocol client (reqwest): meta, v1 revision or v2 tree root with ETag, and the batch object stream, each
//! answer bounded (body caps, frame lengths checked against the signed sizes, objects
//! streamed to the store) whatever the master sends. An `https://` master is reached over TLS
//! that must prove the pinned key ([`crate::tls`]); an `http://` one over plain HTTP (v1).

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;

use crate::error::{Error, Result};
use crate::master::server::{MAX_OBJECTS_PER_REQUEST, Meta, OBJECTS_STREAM_TYPE, ObjectsRequest};
use crate::report::json_problem;
use crate::store::{Incoming, ObjectStore, PutError, is_object_name};
use crate::tls::{PinnedKey, Refusal, find_tls_error};

/// The header a follower names its codexport version in (`master followers` shows it).
pub const VERSION_HEADER: &str = "codexport-version";

/// The header a master's `401` names an invite refusal in: `expired` or `used`.
pub const REFUSED_HEADER: &str = "codexport-refused";

/// The largest `/v1/meta` answer read (a real one is about 250 bytes).
pub const MAX_META_BYTES: usize = 64 * 1024;

/// The largest signed revision envelope read (about 60,000 files).
pub const MAX_REVISION_BYTES: usize = 32 * 1024 * 1024;

/// The largest signed tree root read (a real one is about 600 bytes).
pub const MAX_ROOT_BYTES: usize = 64 * 1024;

/// The largest object the revision gives no size for (an MCP artifact), the archive cap.
pub const MAX_UNSIZED_OBJECT_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// The longest frame header: 64 hex digits, a space, 20 digits (`u64::MAX`), LF.
const MAX_FRAME_HEADER: usize = 64 + 1 + 20 + 1;

/// A connection to one master.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    timeout: Duration,
    /// The TLS verifier of an `https://` master (what it refused, if it did).
    pinned: Option<Arc<PinnedKey>>,
    /// The pinned fingerprint (named in a TLS refusal).
    fingerprint: String,
}

/// `GET /v1/revision`'s answer.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// `304`: the revision named in `If-None-Match` is still current.
    NotModified,
    /// The signed envelope's bytes.
    Revision(Vec<u8>),
}

/// One object to fetch: its name and the most bytes its frame may carry (the signed `size`
/// of a file, [`MAX_UNSIZED_OBJECT_BYTES`] for an MCP artifact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The object's SHA-256.
    pub hash: String,
    /// The largest frame accepted for it.
    pub limit: u64,
}

impl Client {
    /// A client for `base` (`https://host:port`: TLS that must prove the key with fingerprint
    /// `fingerprint`; `http://host:port`: plain). `timeout` bounds each connect and each
    /// wait for bytes; the caller bounds the whole exchange with the same budget
    /// ([`crate::follower::SyncOptions::timeout`]).
    pub(crate) fn new(
        base: &str,
        token: Option<&str>,
        fingerprint: &str,
        timeout: Duration,
    ) -> Result<Self> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            VERSION_HEADER,
            reqwest::header::HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
        );
        let mut builder = reqwest::Client::builder()
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .default_headers(headers)
            .http1_only()
            .no_proxy();
        let pinned = if crate::link::is_tls_url(base) {
            let verifier = PinnedKey::new(fingerprint);
            builder = builder.use_preconfigured_tls(crate::tls::client_config(verifier.clone())?);
            Some(verifier)
        } else {
            None
        };
        let http = builder.build().map_err(|e| Error::Unreachable {
            url: base.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.map(str::to_owned),
            timeout,
            pinned,
            fingerprint: fingerprint.to_owned(),
        })
    }

    /// The master's base URL.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// The budget this client was made with.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.authed(self.http.get(format!("{}{path}", self.base)))
    }

    fn authed(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    }

    /// The error for a budget that ran out.
    pub(crate) fn timed_out(&self) -> Error {
        Error::Timeout {
            url: self.base.clone(),
            seconds: self.timeout.as_secs_f64(),
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> Error {
        if let Some(refused) = self.tls_refusal(e) {
            return refused;
        }
        if e.is_timeout() {
            return self.timed_out();
        }
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason = s.to_string();
            source = s.source();
        }
        Error::Unreachable {
            url: self.base.clone(),
            reason,
        }
    }

    /// A TLS connection that failed to prove the pinned key, as the trust error it is (and a
    /// refused address as that). Nothing the peer chose is shown but a fingerprint computed
    /// here.
    fn tls_refusal(&self, e: &reqwest::Error) -> Option<Error> {
        let pinned = self.pinned.as_ref()?;
        let refused = |reason: String| {
            Some(Error::TlsRefused {
                url: self.base.clone(),
                reason,
            })
        };
        match pinned.refusal() {
            Some(Refusal::OtherKey(actual)) => {
                return refused(format!(
                    "it presented the key `{actual}`, not the pinned `{}`",
                    self.fingerprint
                ));
            }
            Some(Refusal::NotEd25519) => {
                return refused("its certificate holds no Ed25519 key".to_owned());
            }
            None => {}
        }
        match find_tls_error(e)? {
            rustls::Error::AlertReceived(rustls::AlertDescription::AccessDenied) => {
                Some(Error::PeerRefused {
                    url: self.base.clone(),
                })
            }
            rustls::Error::InvalidMessage(_) => refused(
                "it did not answer in TLS (a plain-HTTP server or another service answers there)"
                    .to_owned(),
            ),
            other => refused(format!("the TLS handshake failed: {other}")),
        }
    }

    fn protocol(&self, reason: impl Into<String>) -> Error {
        Error::Protocol {
            url: self.base.clone(),
            reason: reason.into(),
        }
    }

    /// Sends `request`; a status the protocol gives a meaning becomes that error. The body of
    /// an error answer is the master's text and is never shown.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let response = request.send().await.map_err(|e| self.transport_error(&e))?;
        self.check_status(response)
    }

    fn check_status(&self, response: reqwest::Response) -> Result<reqwest::Response> {
        match response.status() {
            StatusCode::FORBIDDEN => Err(Error::PeerRefused {
                url: self.base.clone(),
            }),
            StatusCode::UNAUTHORIZED => {
                let why = response
                    .headers()
                    .get(REFUSED_HEADER)
                    .map(|v| v.as_bytes());
                let invite = |reason: &str| Error::InviteRefused {
                    url: self.base.clone(),
                    reason: reason.to_owned(),
                };
                Err(match why {
                    Some(b"expired") => invite("it expired"),
                    Some(b"used") => invite("it was already used to join (it was single-use)"),
                    _ => Error::TokenRefused {
                        url: self.base.clone(),
                    },
                })
            }
            StatusCode::PAYLOAD_TOO_LARGE => Err(self.protocol(format!(
                "it refused the object request as too large (HTTP 413; this follower asks for at most {MAX_OBJECTS_PER_REQUEST} objects at once)"
            ))),
            StatusCode::BAD_REQUEST => Err(self.protocol(
                "it refused the object request as malformed (HTTP 400)",
            )),
            s if s.is_success() || s == StatusCode::NOT_MODIFIED => Ok(response),
            s => Err(self.protocol(format!("HTTP {}", s.as_u16()))),
        }
    }

    /// The whole body, refused past `cap` bytes (by `Content-Length` before reading, else
    /// as soon as the bytes read pass it).
    async fn body(
        &self,
        mut response: reqwest::Response,
        cap: usize,
        what: &str,
    ) -> Result<Vec<u8>> {
        let too_large = || {
            let cap = if cap >= 1024 * 1024 {
                format!("{} MiB", cap / (1024 * 1024))
            } else {
                format!("{} KiB", cap / 1024)
            };
            self.protocol(format!("{what} is larger than the {cap} cap"))
        };
        if response.content_length().is_some_and(|n| n > cap as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(&e))?
        {
            if body.len() + chunk.len() > cap {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// `GET /v1/meta`.
    pub(crate) async fn meta(&self) -> Result<Meta> {
        let response = self.send(self.get("/v1/meta")).await?;
        let body = self.body(response, MAX_META_BYTES, "`/v1/meta`").await?;
        serde_json::from_slice(&body)
            .map_err(|e| self.protocol(format!("`/v1/meta` {}", json_problem(&e))))
    }

    /// `POST /v1/join`: exchanges an invite for this follower's own token (`Some`), or keeps
    /// the token it has (`None`: a plain link's, or a master without the exchange).
    pub(crate) async fn redeem(&self) -> Result<Option<String>> {
        let request = self.authed(self.http.post(format!("{}/v1/join", self.base)));
        let response = request.send().await.map_err(|e| self.transport_error(&e))?;
        if matches!(
            response.status(),
            StatusCode::NO_CONTENT | StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        ) {
            return Ok(None);
        }
        let response = self.check_status(response)?;
        let body = self.body(response, MAX_META_BYTES, "`/v1/join`").await?;
        // Anything but a well-formed new token (an older or odd master that answers every
        // path) leaves this follower with the token it joined with.
        Ok(
            serde_json::from_slice::<crate::master::server::Joined>(&body)
                .ok()
                .filter(|joined| crate::link::check_token(&joined.token).is_ok())
                .map(|joined| joined.token),
        )
    }

    /// `GET /v1/revision`, conditional on `known` (a revision hash).
    pub(crate) async fn revision(&self, known: Option<&str>) -> Result<Fetched> {
        let mut request = self.get("/v1/revision");
        if let Some(rev) = known {
            request = request.header(reqwest::header::IF_NONE_MATCH, format!("\"{rev}\""));
        }
        let response = self.send(request).await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        let body = self
            .body(response, MAX_REVISION_BYTES, "the revision")
            .await?;
        Ok(Fetched::Revision(body))
    }

    /// `GET /v2/root`, conditional on `known` (a revision hash); `None` when the master
    /// serves no v2 (a `404`: a master of the previous release, which the v1 path reads).
    pub(crate) async fn tree_root(&self, known: Option<&str>) -> Result<Option<Fetched>> {
        let mut request = self.get("/v2/root");
        if let Some(rev) = known {
            request = request.header(reqwest::header::IF_NONE_MATCH, format!("\"{rev}\""));
        }
        let response = request.send().await.map_err(|e| self.transport_error(&e))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = self.check_status(response)?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(Some(Fetched::NotModified));
        }
        let body = self.body(response, MAX_ROOT_BYTES, "the tree root").await?;
        Ok(Some(Fetched::Revision(body)))
    }

    /// Fetches `wanted` in `POST /v{version}/objects` streams of at most
    /// [`MAX_OBJECTS_PER_REQUEST`] objects each; verifies each object and stores it, streaming
    /// it to a temp file in the store. Returns the bytes received.
    pub(crate) async fn fetch_objects(
        &self,
        version: u32,
        wanted: &[Wanted],
        store: &ObjectStore,
    ) -> Result<u64> {
        let mut received = 0;
        for batch in wanted.chunks(MAX_OBJECTS_PER_REQUEST) {
            received += self.fetch_batch(version, batch, store).await?;
        }
        Ok(received)
    }

    async fn fetch_batch(
        &self,
        version: u32,
        wanted: &[Wanted],
        store: &ObjectStore,
    ) -> Result<u64> {
        let request = self
            .authed(self.http.post(format!("{}/v{version}/objects", self.base)))
            .json(&ObjectsRequest {
                objects: wanted.iter().map(|w| w.hash.clone()).collect(),
            });
        let mut response = self.send(request).await?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| v.as_bytes());
        if content_type != Some(OBJECTS_STREAM_TYPE.as_bytes()) {
            return Err(self.protocol(format!(
                "objects arrived as another content type than `{OBJECTS_STREAM_TYPE}`"
            )));
        }
        let mut decoder = FrameDecoder::new(wanted);
        let mut incoming: Option<Incoming> = None;
        let mut received = 0u64;
        let io_error = |e| Error::io("write", store.root(), e);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(&e))?
        {
            received += chunk.len() as u64;
            decoder
                .feed(&chunk, |event| match event {
                    FrameEvent::Begin { hash, .. } => {
                        incoming = Some(store.incoming(hash).map_err(io_error)?);
                        Ok(())
                    }
                    FrameEvent::Data(bytes) => incoming
                        .as_mut()
                        .expect("data follows a begin")
                        .write(bytes)
                        .map_err(io_error),
                    FrameEvent::End => incoming
                        .take()
                        .expect("an end follows a begin")
                        .finish()
                        .map_err(|e| match e {
                            PutError::Mismatch { expected, actual } => {
                                Error::HashMismatch { expected, actual }
                            }
                            PutError::Io(e) => io_error(e),
                        }),
                })
                .map_err(|e| match e {
                    FeedError::Frame(reason) => self.protocol(reason),
                    FeedError::Sink(e) => e,
                })?;
        }
        decoder.finish().map_err(|reason| self.protocol(reason))?;
        Ok(received)
    }
}

/// What [`FrameDecoder::feed`] reports, in stream order: a frame starts, some of its bytes,
/// it ends (a zero-length frame starts and ends at once).
#[derive(Debug, PartialEq, Eq)]
pub enum FrameEvent<'a> {
    /// A frame for object `hash` of `len` bytes starts.
    Begin {
        /// The object's name (one of the wanted ones, the next in order).
        hash: &'a str,
        /// The frame's length, at most the object's limit.
        len: u64,
    },
    /// The next bytes of the current frame.
    Data(&'a [u8]),
    /// The current frame is complete.
    End,
}

/// Why [`FrameDecoder::feed`] stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum FeedError<E> {
    /// The stream breaks the frame format (the reason, naming no byte the master chose
    /// beyond a checked object name).
    Frame(String),
    /// The sink refused an event.
    Sink(E),
}

/// Parses a frame header line (`<sha256> <length>`, without its LF): the object name and the
/// length, which may be anything up to `u64::MAX`.
pub fn parse_frame_header(line: &[u8]) -> Result<(&str, u64), String> {
    let line = std::str::from_utf8(line).map_err(|_| "a frame header is not UTF-8".to_owned())?;
    let (hash, len) = line
        .split_once(' ')
        .ok_or_else(|| "a frame header is not `<sha256> <length>`".to_owned())?;
    if !is_object_name(hash) {
        return Err("a frame header names no SHA-256 object".to_owned());
    }
    if len.is_empty() || len.len() > 20 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the frame of `{hash}` has a malformed length"));
    }
    let len = len
        .parse::<u64>()
        .map_err(|_| format!("the frame of `{hash}` has a length past 2^64"))?;
    Ok((hash, len))
}

/// Splits a `<sha256> <length>\n<bytes>` frame stream, fed in chunks of any size, into
/// [`FrameEvent`]s, checking each frame against the next wanted object: its name, and its
/// length against its limit before any of its bytes is taken. Holds at most one header line,
/// never a frame's bytes.
#[derive(Debug)]
pub struct FrameDecoder<'w> {
    wanted: std::slice::Iter<'w, Wanted>,
    header: Vec<u8>,
    /// Bytes left of the frame being read, when one is.
    remaining: Option<u64>,
}

impl<'w> FrameDecoder<'w> {
    /// A decoder expecting one frame per `wanted` object, in order.
    pub fn new(wanted: &'w [Wanted]) -> Self {
        Self {
            wanted: wanted.iter(),
            header: Vec::with_capacity(MAX_FRAME_HEADER),
            remaining: None,
        }
    }

    /// Feeds the next chunk of the stream, calling `sink` for each event in it.
    pub fn feed<E>(
        &mut self,
        mut chunk: &[u8],
        mut sink: impl FnMut(FrameEvent<'_>) -> Result<(), E>,
    ) -> Result<(), FeedError<E>> {
        while !chunk.is_empty() {
            if let Some(remaining) = self.remaining {
                let take = usize::try_from(remaining).map_or(chunk.len(), |r| r.min(chunk.len()));
                let (data, rest) = chunk.split_at(take);
                sink(FrameEvent::Data(data)).map_err(FeedError::Sink)?;
                chunk = rest;
                let left = remaining - take as u64;
                if left == 0 {
                    self.remaining = None;
                    sink(FrameEvent::End).map_err(FeedError::Sink)?;
                } else {
                    self.remaining = Some(left);
                }
                continue;
            }
            let Some(nl) = chunk.iter().position(|b| *b == b'\n') else {
                self.take_header(chunk)?;
                return Ok(());
            };
            self.take_header(&chunk[..nl])?;
            chunk = &chunk[nl + 1..];
            let header = std::mem::take(&mut self.header);
            let (hash, len) = parse_frame_header(&header).map_err(FeedError::Frame)?;
            let Some(next) = self.wanted.next() else {
                return Err(FeedError::Frame(format!(
                    "the stream holds `{hash}` after the last object asked for"
                )));
            };
            if next.hash != hash {
                return Err(FeedError::Frame(format!(
                    "the stream holds `{hash}` where `{}` was asked for",
                    next.hash
                )));
            }
            if len > next.limit {
                return Err(FeedError::Frame(format!(
                    "the frame of `{hash}` claims {len} bytes; the revision allows at most {}",
                    next.limit
                )));
            }
            sink(FrameEvent::Begin { hash, len }).map_err(FeedError::Sink)?;
            if len == 0 {
                sink(FrameEvent::End).map_err(FeedError::Sink)?;
            } else {
                self.remaining = Some(len);
            }
            self.header = header;
            self.header.clear();
        }
        Ok(())
    }

    fn take_header<E>(&mut self, part: &[u8]) -> Result<(), FeedError<E>> {
        if self.header.len() + part.len() >= MAX_FRAME_HEADER {
            return Err(FeedError::Frame(format!(
                "a frame header is longer than {MAX_FRAME_HEADER} bytes"
            )));
        }
        self.header.extend_from_slice(part);
        Ok(())
    }

    /// The stream ended: refused unless every wanted frame arrived whole.
    pub fn finish(mut self) -> Result<(), String> {
        if self.remaining.is_some() || !self.header.is_empty() {
            return Err("the object stream ended inside a frame".to_owned());
        }
        if let Some(next) = self.wanted.next() {
            return Err(format!(
                "the object stream ended before `{}` arrived",
                next.hash
            ));
        }
        Ok(())
    }
}

/// Runs a whole stream through a decoder and collects the frames (tests and fuzzing).
pub fn decode_all(wanted: &[Wanted], chunks: &[&[u8]]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut decoder = FrameDecoder::new(wanted);
    let mut frames: Vec<(String, Vec<u8>)> = Vec::new();
    for chunk in chunks {
        decoder
            .feed(chunk, |event| {
                match event {
                    FrameEvent::Begin { hash, .. } => frames.push((hash.to_owned(), Vec::new())),
                    FrameEvent::Data(bytes) => frames
                        .last_mut()
                        .expect("data follows a begin")
                        .1
                        .extend_from_slice(bytes),
                    FrameEvent::End => {}
                }
                Ok::<(), String>(())
            })
            .map_err(|e| match e {
                FeedError::Frame(reason) | FeedError::Sink(reason) => reason,
            })?;
    }
    decoder.finish()?;
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(hash: &str, limit: u64) -> Wanted {
        Wanted {
            hash: hash.to_owned(),
            limit,
        }
    }

    #[test]
    fn frames_split_across_chunks() {
        let h = "a".repeat(64);
        let g = "b".repeat(64);
        let want = [wanted(&h, 5), wanted(&g, 0)];
        let stream = format!("{h} 5\nhello{g} 0\n");
        for at in 0..stream.len() {
            let (a, b) = stream.as_bytes().split_at(at);
            assert_eq!(
                decode_all(&want, &[a, b]).unwrap(),
                vec![(h.clone(), b"hello".to_vec()), (g.clone(), Vec::new())],
                "split at {at}"
            );
        }
    }

    #[test]
    fn malformed_streams_are_refused_without_panicking() {
        let h = "a".repeat(64);
        let want = [wanted(&h, 4)];
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"../x 3\nabc".to_vec(), "names no SHA-256"),
            (
                format!("{h} 18446744073709551615\n").into_bytes(),
                "claims 18446744073709551615 bytes",
            ),
            (
                format!("{h} 18446744073709551616\n").into_bytes(),
                "past 2^64",
            ),
            (
                format!("{h} 1099511627776\n").into_bytes(),
                "allows at most 4",
            ),
            (format!("{h} -1\n").into_bytes(), "malformed length"),
            (format!("{h} +4\nabcd").into_bytes(), "malformed length"),
            (format!("{h} 4\nab").into_bytes(), "ended inside a frame"),
            (
                format!("{h} 4\nabcd{h} 4\nabcd").into_bytes(),
                "after the last object",
            ),
            (format!("{} 4\nabcd", "b".repeat(64)).into_bytes(), "where"),
            (vec![b'a'; 200], "longer than"),
            (Vec::new(), "ended before"),
            (vec![0xff, b' ', b'1', b'\n'], "not UTF-8"),
        ];
        for (stream, want_err) in cases {
            let err = decode_all(&want, &[&stream]).unwrap_err();
            assert!(err.contains(want_err), "{err}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_or_fail_cleanly(bytes: Vec<u8>, cut in 0usize..64) {
            let h = "a".repeat(64);
            let want = [wanted(&h, 16)];
            let cut = cut.min(bytes.len());
            let _ = decode_all(&want, &[&bytes[..cut], &bytes[cut..]]);
        }
    }
}
