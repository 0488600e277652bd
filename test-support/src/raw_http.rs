//! A raw HTTP/1.1 server on 127.0.0.1 for fake peers: a bounded request reader, an answer writer.
//!
//! Fake masters answer what a real one never sends (cut bodies, lying lengths, endless
//! documents), so a handler gets the [`TcpStream`] itself and may write any bytes to it;
//! [`answer`] is only the well-formed case.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The most bytes of request line and headers read; a longer head is dropped unanswered.
pub const MAX_HEAD_BYTES: u64 = 64 * 1024;

/// The largest request body read (a follower's `POST /v2/objects` asks for at most 1024
/// names, about 70 KiB); a larger `content-length` is dropped unanswered.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// One request as the fake peer read it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`.
    pub method: String,
    /// The request target as sent, query included (`/v1/meta`).
    pub path: String,
    /// The headers in the order sent, names in lowercase, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body, `content-length` bytes of it.
    pub body: Vec<u8>,
}

impl Request {
    /// Whether this is `method` on exactly `path`.
    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method == method && self.path == path
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one request: its line, its headers and a `content-length` body, within
/// [`MAX_HEAD_BYTES`] and [`MAX_BODY_BYTES`]. `None` when the peer closed early, sent
/// something that is not HTTP, or went past a bound.
pub fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut head = (&mut reader).take(MAX_HEAD_BYTES);
    let line = read_line(&mut head)?;
    let mut parts = line.split(' ');
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let header = read_line(&mut head)?;
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut request = Request {
        method,
        path,
        headers,
        body: Vec::new(),
    };
    let length = match request.header("content-length") {
        Some(length) => length.parse().ok()?,
        None => 0,
    };
    if length > MAX_BODY_BYTES {
        return None;
    }
    request.body = vec![0; length];
    reader.read_exact(&mut request.body).ok()?;
    Some(request)
}

/// One CRLF-ended line without its ending; `None` at the end of the stream or the head's bound.
fn read_line(reader: &mut impl BufRead) -> Option<String> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let line = line.strip_suffix('\n')?;
    Some(line.strip_suffix('\r').unwrap_or(line).to_owned())
}

/// Writes a whole answer with its length and `connection: close`; write errors are ignored
/// (a client that gave up is the test's to notice, not the server's).
pub fn answer(stream: &mut impl Write, status: &str, content_type: &str, body: &[u8]) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(body);
}

/// Serves every connection to 127.0.0.1:`port`, each on its own thread: reads one request and
/// hands it to `handler` with the stream, which closes when `handler` returns. The count of
/// connections accepted so far is returned.
pub fn serve(
    port: u16,
    handler: impl Fn(&Request, &mut TcpStream) + Send + Sync + 'static,
) -> Arc<AtomicUsize> {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let handler = Arc::new(handler);
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counted.fetch_add(1, Ordering::SeqCst);
            let handler = handler.clone();
            std::thread::spawn(move || {
                if let Some(request) = read_request(&stream) {
                    handler(&request, &mut stream);
                }
            });
        }
    });
    connections
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `raw` to a fresh [`serve`] that echoes what it read, and returns the answer.
    fn exchange(raw: &[u8]) -> String {
        let port = crate::free_port();
        serve(port, |request, stream| {
            let text = format!(
                "{} {} {:?} {}",
                request.method,
                request.path,
                request.headers,
                String::from_utf8_lossy(&request.body)
            );
            answer(stream, "200 OK", "text/plain", text.as_bytes());
        });
        let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        // A server that drops a request past its bound may reset the connection mid-write.
        let _ = client.write_all(raw);
        let _ = client.shutdown(std::net::Shutdown::Write);
        let mut out = Vec::new();
        let _ = client.read_to_end(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_request_is_read_whole_and_answered() {
        let out =
            exchange(b"POST /v2/objects?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
        let body = r#"POST /v2/objects?x=1 [("host", "a"), ("content-length", "5")] hello"#;
        assert_eq!(
            out,
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
        );
    }

    #[test]
    fn past_a_bound_or_cut_short_is_dropped_unanswered() {
        let long_head = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(70 * 1024));
        let huge_body = format!("POST / HTTP/1.1\r\ncontent-length: {}\r\n\r\n", 2 << 20);
        for raw in [
            long_head.as_bytes(),
            huge_body.as_bytes(),
            b"POST / HTTP/1.1\r\ncontent-length: 9\r\n\r\nshort",
            b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
            b"GET / HTTP/1.1\r\n",
        ] {
            assert_eq!(exchange(raw), "", "{:?}", String::from_utf8_lossy(raw));
        }
    }
}
