//! The join link `codexport://join?host=H&port=P&fingerprint=F&token=T&version=2`, and the
//! `--master` URL of an explicit join: both parsed strictly, by hand, before any connection.
//!
//! The version is the transport: `2` joins over TLS bound to the fingerprint's key
//! (`https://`), `1` over plain HTTP (`http://`, a v1 master or one run with `--plain-http`).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Result};
use crate::follower::JoinRequest;
use crate::identity::is_fingerprint;

/// The link version `master link` prints: TLS bound to the master's key.
pub const LINK_VERSION: u8 = 2;

/// The link version of a plain-HTTP master (`master link --plain-http`, older masters).
pub const PLAIN_LINK_VERSION: u8 = 1;

/// What every link starts with.
const LINK_PREFIX: &str = "codexport://join?";

/// The longest link accepted: a real one is about 200 characters.
pub const MAX_LINK_LEN: usize = 2048;

/// The longest DNS name (RFC 1035).
const MAX_HOST_LEN: usize = 253;

/// The longest token accepted (the master issues 43 base64url characters).
pub const MAX_TOKEN_LEN: usize = 256;

/// Everything a follower needs to join: where the master is, its key, and a token.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinLink {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The master's fingerprint.
    pub fingerprint: String,
    /// The follower's bearer token.
    pub token: String,
    /// [`LINK_VERSION`] (TLS) or [`PLAIN_LINK_VERSION`] (plain HTTP).
    pub version: u8,
}

impl std::fmt::Debug for JoinLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinLink")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("fingerprint", &self.fingerprint)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// A master's host, checked: a DNS name, an IPv4 address or an IPv6 address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// Letters, digits and hyphens in dot-separated labels; the last label is not all digits.
    Dns(String),
    /// A dotted-quad IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address (no zone).
    V6(Ipv6Addr),
}

impl Host {
    /// The host as it goes into a URL (IPv6 in brackets).
    pub fn to_url_host(&self) -> String {
        match self {
            Host::Dns(name) => name.clone(),
            Host::V4(ip) => ip.to_string(),
            Host::V6(ip) => format!("[{ip}]"),
        }
    }

    /// The host as a link's `host` value (IPv6 without brackets).
    fn to_link_host(&self) -> String {
        match self {
            Host::V6(ip) => ip.to_string(),
            other => other.to_url_host(),
        }
    }
}

/// A value shown in a message: short ones verbatim (the renderer escapes control
/// characters), long ones by their length only.
fn shown(value: &str) -> String {
    if value.chars().count() <= 64 {
        format!("`{value}`")
    } else {
        format!("a {}-byte value", value.len())
    }
}

/// Parses a host: a DNS name, a dotted-quad IPv4 address, or an IPv6 address in brackets
/// (`bare_v6` also takes one without, as a link's `host` value carries it). Anything else
/// (a path, a port, user info, `?`, `#`, spaces, control characters, a name past 253
/// characters) is refused with the reason.
pub fn parse_host(text: &str, bare_v6: bool) -> Result<Host, String> {
    let not_a_host = || {
        format!(
            "{} is not a DNS name, an IPv4 address or an IPv6 address in brackets",
            shown(text)
        )
    };
    if text.is_empty() {
        return Err("the host is empty".to_owned());
    }
    if text.len() > MAX_HOST_LEN + 2 {
        return Err(format!(
            "the host is {} bytes long (at most {MAX_HOST_LEN})",
            text.len()
        ));
    }
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or_else(not_a_host)?;
        return inner.parse().map(Host::V6).map_err(|_| not_a_host());
    }
    if let Ok(ip) = text.parse::<Ipv4Addr>() {
        return Ok(Host::V4(ip));
    }
    if text.contains(':') {
        return match text.parse::<Ipv6Addr>() {
            Ok(ip) if bare_v6 => Ok(Host::V6(ip)),
            _ => Err(not_a_host()),
        };
    }
    if text.len() > MAX_HOST_LEN {
        return Err(not_a_host());
    }
    let labels: Vec<&str> = text.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    // An all-digit last label (`1.2.3`, `127.1`) is what resolvers read as a short-form IPv4.
    let last_numeric = labels
        .last()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
    if !labels.iter().all(label_ok) || last_numeric {
        return Err(not_a_host());
    }
    Ok(Host::Dns(text.to_owned()))
}

/// Parses a port: 1 to 5 ASCII digits, 1..=65535.
pub fn parse_port(text: &str) -> Result<u16, String> {
    let not_a_port = || format!("`port` is {}, not a port number (1-65535)", shown(text));
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_a_port());
    }
    text.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(not_a_port)
}

/// Checks a bearer token: 1 to [`MAX_TOKEN_LEN`] base64url characters (`A-Z a-z 0-9 - _`).
pub fn check_token(token: &str) -> Result<(), String> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(format!(
            "the token is {} bytes long (1 to {MAX_TOKEN_LEN})",
            token.len()
        ));
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("the token holds characters other than `A-Z a-z 0-9 - _`".to_owned());
    }
    Ok(())
}

/// Refuses text with anything but printable ASCII: spaces, control characters (CR, LF, NUL,
/// escapes) and non-ASCII never belong in a link or a URL, and URL parsers silently drop some.
fn check_printable(what: &str, text: &str) -> Result<(), String> {
    match text.bytes().find(|b| !b.is_ascii_graphic()) {
        None => Ok(()),
        Some(b) => Err(format!(
            "{what} holds a space, control or non-ASCII character (byte 0x{b:02x})"
        )),
    }
}

impl JoinLink {
    /// Parses a link, naming the first problem found. Surrounding whitespace is ignored
    /// (a paste often carries a newline); nothing else is forgiven.
    pub fn parse(link: &str) -> Result<Self> {
        let bad = Error::BadLink;
        let link = link.trim();
        if link.len() > MAX_LINK_LEN {
            return Err(bad(format!(
                "it is {} bytes long (a link is at most {MAX_LINK_LEN})",
                link.len()
            )));
        }
        let query = link
            .strip_prefix(LINK_PREFIX)
            .ok_or_else(|| bad("it must start with `codexport://join?`".to_owned()))?;
        check_printable("it", link).map_err(bad)?;
        if query.contains('#') {
            return Err(bad("it holds a `#`".to_owned()));
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if pairs.iter().any(|(k, _)| *k == key) {
                return Err(bad(format!("`{}` appears twice", shown_key(&key))));
            }
            pairs.push((key.into_owned(), value.into_owned()));
        }
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let version =
            get("version").ok_or_else(|| bad("`version` is missing (truncated?)".into()))?;
        let version = match version {
            "2" => LINK_VERSION,
            "1" => PLAIN_LINK_VERSION,
            other => return Err(Error::LinkVersion(shown_key(other))),
        };
        let missing = |key: &str| bad(format!("`{key}` is missing (truncated?)"));
        let host = get("host").ok_or_else(|| missing("host"))?;
        // What was decoded is checked again: `%0d%0a` or `%20` decode to what the raw check
        // refuses.
        check_printable("`host`", host).map_err(bad)?;
        let host = parse_host(host, true)
            .map_err(|why| bad(format!("`host`: {why}")))?
            .to_link_host();
        let port = parse_port(get("port").ok_or_else(|| missing("port"))?).map_err(bad)?;
        let fingerprint = get("fingerprint").ok_or_else(|| missing("fingerprint"))?;
        if !is_fingerprint(fingerprint) {
            return Err(bad(format!(
                "`fingerprint` is {}, not `SHA256:` + 43 base64url characters",
                shown(fingerprint)
            )));
        }
        let token = get("token").ok_or_else(|| missing("token"))?;
        check_token(token).map_err(|why| bad(format!("`token`: {why}")))?;
        Ok(Self {
            host,
            port,
            fingerprint: fingerprint.to_owned(),
            token: token.to_owned(),
            version,
        })
    }

    /// The link as text.
    pub fn to_link(&self) -> String {
        let mut out = String::from(LINK_PREFIX);
        url::form_urlencoded::Serializer::for_suffix(&mut out, LINK_PREFIX.len())
            .append_pair("host", &self.host)
            .append_pair("port", &self.port.to_string())
            .append_pair("fingerprint", &self.fingerprint)
            .append_pair("token", &self.token)
            .append_pair("version", &self.version.to_string());
        out
    }

    /// The master's base URL: `https://host:port` for a v2 link, `http://host:port` for v1.
    pub fn master_url(&self) -> String {
        master_url(&self.host, self.port, self.version != PLAIN_LINK_VERSION)
    }
}

/// A query key or version as shown in a message: printable ASCII only, short.
fn shown_key(key: &str) -> String {
    if key.len() <= 32 && key.bytes().all(|b| b.is_ascii_graphic()) {
        key.to_owned()
    } else {
        format!("<{} bytes>", key.len())
    }
}

impl From<JoinLink> for JoinRequest {
    fn from(link: JoinLink) -> Self {
        Self {
            url: link.master_url(),
            fingerprint: link.fingerprint,
            token: link.token,
        }
    }
}

/// Parses a master URL: `https://HOST[:PORT][/]` (TLS bound to the pinned key, protocol v2)
/// or `http://` (plain, v1), HOST as [`parse_host`] takes it (IPv6 in brackets). User info, a path, a query or a fragment are refused.
/// Returns the URL without a trailing `/`.
pub fn parse_master_url(text: &str) -> Result<String, String> {
    let not_http = || {
        format!(
            "{} is not an `https://HOST:PORT` (or plain `http://HOST:PORT`) URL",
            shown(text)
        )
    };
    check_printable("the URL", text)?;
    let (scheme, rest) = text.split_once("://").ok_or_else(not_http)?;
    if scheme != "http" && scheme != "https" {
        return Err(not_http());
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#', '@', '\\']) {
        return Err(format!(
            "{} may hold only `{scheme}://HOST:PORT`: no user, path, `?` or `#`",
            shown(text)
        ));
    }
    // The port follows the last `:` unless that colon is inside an IPv6 address's brackets.
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    };
    let host = parse_host(host, false)?;
    let port = port.map(parse_port).transpose()?;
    Ok(match port {
        Some(port) => format!("{scheme}://{}:{port}", host.to_url_host()),
        None => format!("{scheme}://{}", host.to_url_host()),
    })
}

/// A join spelled out without a link (`--master URL --fingerprint F --token T`), checked as
/// strictly as a link is.
pub fn explicit_request(master: &str, fingerprint: &str, token: &str) -> Result<JoinRequest> {
    let url =
        parse_master_url(master).map_err(|why| Error::BadLink(format!("`--master`: {why}")))?;
    if !is_fingerprint(fingerprint) {
        return Err(Error::BadLink(format!(
            "`--fingerprint` is {}, not `SHA256:` + 43 base64url characters",
            shown(fingerprint)
        )));
    }
    check_token(token).map_err(|why| Error::BadLink(format!("`--token`: {why}")))?;
    Ok(JoinRequest {
        url,
        fingerprint: fingerprint.to_owned(),
        token: token.to_owned(),
    })
}

/// `https://host:port` (`tls`) or `http://host:port`, with brackets around an IPv6 address.
pub fn master_url(host: &str, port: u16, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    if host.contains(':') && !host.starts_with('[') {
        format!("{scheme}://[{host}]:{port}")
    } else {
        format!("{scheme}://{host}:{port}")
    }
}

/// Whether a master URL (as [`parse_master_url`] returns it) speaks TLS.
pub fn is_tls_url(url: &str) -> bool {
    url.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "SHA256:Zmh6rfhivXdsj8GLjp-OIAiXFIVu4jOzkCpZHQ1fKSU";

    fn link() -> JoinLink {
        JoinLink {
            host: "100.64.1.2".into(),
            port: 17342,
            fingerprint: FP.into(),
            token: "tok-en_1".into(),
            version: LINK_VERSION,
        }
    }

    #[test]
    fn round_trips() {
        let text = link().to_link();
        assert!(text.starts_with("codexport://join?host=100.64.1.2&port=17342&fingerprint=SHA256"));
        assert_eq!(JoinLink::parse(&text).unwrap(), link());
        assert_eq!(JoinLink::parse(&format!(" {text}\n")).unwrap(), link());
        assert!(text.ends_with("&version=2"));
        assert_eq!(link().master_url(), "https://100.64.1.2:17342");
        let plain = JoinLink {
            version: PLAIN_LINK_VERSION,
            ..link()
        };
        assert_eq!(JoinLink::parse(&plain.to_link()).unwrap(), plain);
        assert_eq!(plain.master_url(), "http://100.64.1.2:17342");
        let v6 = JoinLink {
            host: "fd7a:115c:a1e0::1".into(),
            ..link()
        };
        assert_eq!(JoinLink::parse(&v6.to_link()).unwrap(), v6);
        assert_eq!(v6.master_url(), "https://[fd7a:115c:a1e0::1]:17342");
        let bracketed = v6
            .to_link()
            .replace("fd7a%3A115c%3Aa1e0%3A%3A1", "%5Bfd7a%3A%3A1%5D");
        assert_eq!(JoinLink::parse(&bracketed).unwrap().host, "fd7a::1");
        let named = JoinLink {
            host: "mini.tail-net.ts.net".into(),
            ..link()
        };
        assert_eq!(JoinLink::parse(&named.to_link()).unwrap(), named);
    }

    #[test]
    fn names_what_is_wrong() {
        let full = link().to_link();
        let cases = [
            ("not a link", "must start with"),
            ("https://join?host=a", "must start with"),
            (
                &full[..full.find("&token").unwrap()],
                "`version` is missing",
            ),
            (&full.replace("port=17342", "port=99999"), "not a port"),
            (&full.replace("SHA256", "MD5"), "not `SHA256:`"),
            (&full.replace("token=tok-en_1&", ""), "`token` is missing"),
            (&format!("{full}&host=x"), "`host` appears twice"),
        ];
        for (input, want) in cases {
            let err = JoinLink::parse(input).unwrap_err().to_string();
            assert!(err.contains(want), "{input}: {err}");
        }
        for other in ["3", "0", "02", "v2"] {
            assert!(matches!(
                JoinLink::parse(&full.replace("version=2", &format!("version={other}"))),
                Err(Error::LinkVersion(v)) if v == other
            ));
        }
    }

    /// Every host, port and token that is not exactly one is refused as a malformed link.
    #[test]
    fn hosts_ports_and_tokens_are_strict() {
        let full = link().to_link();
        let with_host = |h: &str| full.replace("host=100.64.1.2", &format!("host={h}"));
        let long_host = "a".repeat(60 * 1024);
        let bad = [
            with_host("127.0.0.1/"),
            with_host("127.0.0.1%2F"),
            with_host("127.0.0.1#"),
            with_host("127.0.0.1%23"),
            with_host("127.0.0.1?"),
            with_host("127.0.0.1%3F"),
            with_host("user@127.0.0.1"),
            with_host("user%40127.0.0.1"),
            with_host("127.0.0.1:33135"),
            with_host("127.0.0.1%3A33135"),
            with_host("127.0.0.1\r\n"),
            with_host("127.0.0.1%0D%0A"),
            with_host("127.0.0.1%00"),
            with_host("127.0.0.1\0"),
            with_host("127.0.0.1 x"),
            with_host("127.0.0.1%20x"),
            with_host("127.0.0.1+x"),
            with_host("127.0.0.1;x"),
            with_host("127.0.0.1%3Bx"),
            with_host(&long_host),
            with_host("127.1"),
            with_host("1.2.3"),
            with_host("-a.example"),
            with_host("a_b.example"),
            with_host("%5B::1"),
            with_host("%5Bfe80::1%25eth0%5D"),
            with_host("%1B%5B31m"),
            with_host("h%C3%A9"),
            full.replace("port=17342", "port=+80"),
            full.replace("port=17342", "port=0"),
            full.replace("port=17342", "port=80%0D%0A"),
            full.replace("token=tok-en_1", "token=tok%0D%0AX-Forged:%201"),
            full.replace("token=tok-en_1", "token=tok en"),
            full.replace("token=tok-en_1", "token=tok%3Ben"),
            full.replace("token=tok-en_1", &format!("token={}", "t".repeat(300))),
        ];
        for input in &bad {
            let err = JoinLink::parse(input).unwrap_err();
            assert!(matches!(err, Error::BadLink(_)), "{input:?}: {err}");
            assert!(err.to_string().len() < 300, "{err}");
        }
    }

    #[test]
    fn explicit_join_is_checked_like_a_link() {
        let request = explicit_request("http://10.0.0.2:17342", FP, "t").unwrap();
        assert_eq!(request.url, "http://10.0.0.2:17342");
        assert_eq!(
            explicit_request("http://[fd7a::1]:17342/", FP, "t")
                .unwrap()
                .url,
            "http://[fd7a::1]:17342"
        );
        assert_eq!(
            explicit_request("https://mini.ts.net", FP, "t")
                .unwrap()
                .url,
            "https://mini.ts.net"
        );
        let from_link = JoinRequest::from(link());
        assert_eq!(from_link.url, "https://100.64.1.2:17342");
        assert_eq!(from_link.token, "tok-en_1");
        for (master, fingerprint, token, want) in [
            (
                "10.0.0.2:17342",
                FP,
                "t",
                "not an `https://HOST:PORT` (or plain `http://HOST:PORT`) URL",
            ),
            (
                "ftp://10.0.0.2",
                FP,
                "t",
                "not an `https://HOST:PORT` (or plain `http://HOST:PORT`) URL",
            ),
            ("http://10.0.0.2/x", FP, "t", "no user, path"),
            ("http://10.0.0.2?", FP, "t", "no user, path"),
            ("http://10.0.0.2#", FP, "t", "no user, path"),
            ("http://u@10.0.0.2", FP, "t", "no user, path"),
            ("http://10.0.0.2:0", FP, "t", "not a port"),
            ("http://10.0.0.2:1:2", FP, "t", "not a DNS name"),
            ("http://fd7a::1", FP, "t", "not a DNS name"),
            ("http://10.0.0.2\r\n", FP, "t", "control"),
            ("http://10.0.0.2", "MD5:abc", "t", "not `SHA256:`"),
            ("http://10.0.0.2", FP, "a\r\nb", "`--token`"),
            ("http://10.0.0.2", FP, "", "`--token`"),
        ] {
            let err = explicit_request(master, fingerprint, token).unwrap_err();
            assert!(
                matches!(&err, Error::BadLink(m) if m.contains(want)),
                "{master}: {err}"
            );
        }
    }
}
