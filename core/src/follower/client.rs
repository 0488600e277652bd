//! Protocol v1 client (reqwest): meta, revision with ETag, and the batch object stream.

use std::time::Duration;

use reqwest::StatusCode;

use crate::error::{Error, Result};
use crate::master::server::{Meta, OBJECTS_STREAM_TYPE, ObjectsRequest};
use crate::store::{ObjectStore, PutError, is_object_name};

/// A connection to one master.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    timeout: Duration,
}

/// `GET /v1/revision`'s answer.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// `304`: the revision named in `If-None-Match` is still current.
    NotModified,
    /// The signed envelope's bytes.
    Revision(Vec<u8>),
}

impl Client {
    /// A client for `base` (`http://host:port`). `timeout` bounds each connect and each
    /// wait for bytes (a master that accepts and never answers), not a whole transfer: a
    /// first join of a large tree may take longer than that and still make progress.
    pub(crate) fn new(base: &str, token: Option<&str>, timeout: Duration) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .no_proxy()
            .build()
            .map_err(|e| Error::Unreachable {
                url: base.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.map(str::to_owned),
            timeout,
        })
    }

    /// The master's base URL.
    pub(crate) fn base(&self) -> &str {
        &self.base
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

    fn transport_error(&self, e: &reqwest::Error) -> Error {
        if e.is_timeout() {
            return Error::Timeout {
                url: self.base.clone(),
                seconds: self.timeout.as_secs_f64(),
            };
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

    fn protocol(&self, reason: impl Into<String>) -> Error {
        Error::Protocol {
            url: self.base.clone(),
            reason: reason.into(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let response = request.send().await.map_err(|e| self.transport_error(&e))?;
        match response.status() {
            StatusCode::FORBIDDEN => Err(Error::PeerRefused {
                url: self.base.clone(),
            }),
            StatusCode::UNAUTHORIZED => Err(Error::TokenRefused {
                url: self.base.clone(),
            }),
            s if s.is_success() || s == StatusCode::NOT_MODIFIED => Ok(response),
            s => Err(self.protocol(format!("HTTP {s}"))),
        }
    }

    /// `GET /v1/meta`.
    pub(crate) async fn meta(&self) -> Result<Meta> {
        let response = self.send(self.get("/v1/meta")).await?;
        response
            .json()
            .await
            .map_err(|e| self.protocol(format!("meta: {e}")))
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
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(&e))?;
        Ok(Fetched::Revision(bytes.to_vec()))
    }

    /// Fetches `hashes` in one `POST /v1/objects` stream; verifies and stores each object.
    /// Returns the bytes received.
    pub(crate) async fn fetch_objects(
        &self,
        hashes: &[String],
        store: &ObjectStore,
    ) -> Result<u64> {
        if hashes.is_empty() {
            return Ok(0);
        }
        let request = self
            .authed(self.http.post(format!("{}/v1/objects", self.base)))
            .json(&ObjectsRequest {
                objects: hashes.to_vec(),
            });
        let mut response = self.send(request).await?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if content_type != OBJECTS_STREAM_TYPE {
            return Err(self.protocol(format!("objects arrived as `{content_type}`")));
        }
        let mut parser = FrameParser::default();
        let mut expected = hashes.iter();
        let mut received = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(&e))?
        {
            received += chunk.len() as u64;
            parser.buf.extend_from_slice(&chunk);
            while let Some((hash, bytes)) = parser.next().map_err(|r| self.protocol(r))? {
                if expected.next() != Some(&hash) {
                    return Err(self.protocol(format!("unexpected object `{hash}` in the stream")));
                }
                store.put_verified(&hash, &bytes).map_err(|e| match e {
                    PutError::Mismatch { expected, actual } => {
                        Error::HashMismatch { expected, actual }
                    }
                    PutError::Io(e) => Error::io("write", store.root(), e),
                })?;
            }
        }
        if !parser.buf.is_empty() || expected.next().is_some() {
            return Err(self.protocol("the object stream ended early"));
        }
        Ok(received)
    }
}

/// Splits `<sha256> <length>\n<bytes>` frames off a growing buffer.
#[derive(Default)]
struct FrameParser {
    buf: Vec<u8>,
}

impl FrameParser {
    fn next(&mut self) -> Result<Option<(String, Vec<u8>)>, String> {
        let Some(nl) = self.buf.iter().position(|b| *b == b'\n') else {
            if self.buf.len() > 128 {
                return Err("frame header too long".into());
            }
            return Ok(None);
        };
        let header = std::str::from_utf8(&self.buf[..nl]).map_err(|_| "frame header not UTF-8")?;
        let (hash, len) = header.split_once(' ').ok_or("malformed frame header")?;
        if !is_object_name(hash) {
            return Err(format!("malformed object name `{hash}`"));
        }
        let len: usize = len.parse().map_err(|_| "malformed frame length")?;
        let start = nl + 1;
        if self.buf.len() < start + len {
            return Ok(None);
        }
        let hash = hash.to_owned();
        let bytes = self.buf[start..start + len].to_vec();
        self.buf.drain(..start + len);
        Ok(Some((hash, bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_chunks() {
        let h = "a".repeat(64);
        let mut p = FrameParser::default();
        p.buf.extend_from_slice(format!("{h} 5\nhel").as_bytes());
        assert_eq!(p.next().unwrap(), None);
        p.buf.extend_from_slice(format!("lo{h} 0\n").as_bytes());
        assert_eq!(p.next().unwrap(), Some((h.clone(), b"hello".to_vec())));
        assert_eq!(p.next().unwrap(), Some((h, Vec::new())));
        assert!(p.buf.is_empty());
        p.buf.extend_from_slice(b"../x 3\nabc");
        assert!(p.next().is_err());
    }
}
