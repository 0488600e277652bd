//! The blocking HTTP client of the hydration path (never built on the launcher's hot path).

use std::time::Duration;

use crate::Error;

/// A client with codexport's user agent and timeouts.
pub(crate) fn client() -> Result<reqwest::blocking::Client, Error> {
    reqwest::blocking::Client::builder()
        .user_agent(concat!("codexport/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15))
        .timeout(Duration::from_secs(600))
        .build()
        .map_err(|e| Error::Network {
            url: String::new(),
            reason: e.to_string(),
        })
}

/// A network error for `url`, with the cause chain flattened into the reason.
pub(crate) fn network(url: &str, err: &dyn std::error::Error) -> Error {
    let mut reason = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Network {
        url: url.to_owned(),
        reason,
    }
}
