//! The join link `codexport://join?host=H&port=P&fingerprint=F&token=T&version=1`.

use crate::error::{Error, Result};
use crate::follower::JoinRequest;
use crate::identity::is_fingerprint;

/// The only link version this build speaks.
pub const LINK_VERSION: &str = "1";

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
}

impl std::fmt::Debug for JoinLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinLink")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl JoinLink {
    /// Parses a link, naming the first problem found.
    pub fn parse(link: &str) -> Result<Self> {
        let bad = |why: &str| Error::BadLink(why.to_owned());
        let url = url::Url::parse(link.trim()).map_err(|e| bad(&format!("not a URL ({e})")))?;
        if url.scheme() != "codexport" || url.host_str() != Some("join") {
            return Err(bad("it must start with `codexport://join?`"));
        }
        let get = |key: &str| {
            url.query_pairs()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
                .filter(|v| !v.is_empty())
        };
        let version = get("version").ok_or_else(|| bad("`version` is missing (truncated?)"))?;
        if version != LINK_VERSION {
            return Err(Error::LinkVersion(version));
        }
        let missing = |key: &str| bad(&format!("`{key}` is missing (truncated?)"));
        let host = get("host").ok_or_else(|| missing("host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = get("port").ok_or_else(|| missing("port"))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad(&format!("`port` is `{port}`, not a port number")))?;
        let fingerprint = get("fingerprint").ok_or_else(|| missing("fingerprint"))?;
        if !is_fingerprint(&fingerprint) {
            return Err(bad(&format!(
                "`fingerprint` is `{fingerprint}`, not `SHA256:` + 43 base64url characters"
            )));
        }
        let token = get("token").ok_or_else(|| missing("token"))?;
        Ok(Self {
            host,
            port,
            fingerprint,
            token,
        })
    }

    /// The link as text.
    pub fn to_link(&self) -> String {
        let mut url = url::Url::parse("codexport://join").expect("static URL");
        url.query_pairs_mut()
            .append_pair("host", &self.host)
            .append_pair("port", &self.port.to_string())
            .append_pair("fingerprint", &self.fingerprint)
            .append_pair("token", &self.token)
            .append_pair("version", LINK_VERSION);
        url.to_string()
    }

    /// The master's base URL (`http://host:port`).
    pub fn master_url(&self) -> String {
        master_url(&self.host, self.port)
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

/// A join spelled out without a link (`--master URL --fingerprint F --token T`), checked as
/// strictly as a link is.
pub fn explicit_request(master: &str, fingerprint: &str, token: &str) -> Result<JoinRequest> {
    if url::Url::parse(master).map_or(true, |u| u.scheme() != "http" && u.scheme() != "https") {
        return Err(Error::BadLink(format!(
            "`--master {master}` is not an http:// URL"
        )));
    }
    if !is_fingerprint(fingerprint) {
        return Err(Error::BadLink(format!(
            "`--fingerprint {fingerprint}` is not `SHA256:` + 43 base64url characters"
        )));
    }
    Ok(JoinRequest {
        url: master.to_owned(),
        fingerprint: fingerprint.to_owned(),
        token: token.to_owned(),
    })
}

/// `http://host:port`, with brackets around an IPv6 address.
pub fn master_url(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("http://[{host}]:{port}")
    } else {
        format!("http://{host}:{port}")
    }
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
        }
    }

    #[test]
    fn round_trips() {
        let text = link().to_link();
        assert!(text.starts_with("codexport://join?host=100.64.1.2&port=17342&fingerprint=SHA256"));
        assert_eq!(JoinLink::parse(&text).unwrap(), link());
        assert_eq!(link().master_url(), "http://100.64.1.2:17342");
        let v6 = JoinLink {
            host: "fd7a:115c:a1e0::1".into(),
            ..link()
        };
        assert_eq!(JoinLink::parse(&v6.to_link()).unwrap(), v6);
        assert_eq!(v6.master_url(), "http://[fd7a:115c:a1e0::1]:17342");
    }

    #[test]
    fn names_what_is_wrong() {
        let full = link().to_link();
        let cases = [
            ("not a link", "not a URL"),
            ("https://join?host=a", "must start with"),
            (
                &full[..full.find("&token").unwrap()],
                "`version` is missing",
            ),
            (&full.replace("port=17342", "port=99999"), "not a port"),
            (&full.replace("SHA256", "MD5"), "not `SHA256:`"),
            (&full.replace("token=tok-en_1&", ""), "`token` is missing"),
        ];
        for (input, want) in cases {
            let err = JoinLink::parse(input).unwrap_err().to_string();
            assert!(err.contains(want), "{input}: {err}");
        }
        assert!(matches!(
            JoinLink::parse(&full.replace("version=1", "version=2")),
            Err(Error::LinkVersion(v)) if v == "2"
        ));
    }

    #[test]
    fn explicit_join_is_checked_like_a_link() {
        let request = explicit_request("http://10.0.0.2:17342", FP, "t").unwrap();
        assert_eq!(request.url, "http://10.0.0.2:17342");
        let from_link = JoinRequest::from(link());
        assert_eq!(from_link.url, "http://100.64.1.2:17342");
        assert_eq!(from_link.token, "tok-en_1");
        for (master, fingerprint, want) in [
            ("10.0.0.2:17342", FP, "not an http:// URL"),
            ("ftp://10.0.0.2", FP, "not an http:// URL"),
            ("http://10.0.0.2", "MD5:abc", "not `SHA256:`"),
        ] {
            let err = explicit_request(master, fingerprint, "t").unwrap_err();
            assert!(
                matches!(&err, Error::BadLink(m) if m.contains(want)),
                "{err}"
            );
        }
    }
}
