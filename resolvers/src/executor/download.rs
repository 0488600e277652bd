//! The `download` step: fetch to a temp file inside the artifact dir, hashing as it streams.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::Reporter;
use crate::Error;

/// Downloads `url` into `file` and returns the bytes' SHA-256. When `expected` is given the
/// caller compares it before the file is used.
pub(crate) fn fetch(url: &str, file: &Path, reporter: &Reporter) -> Result<String, Error> {
    let client = crate::http::client()?;
    let mut response = client
        .get(url)
        .send()
        .map_err(|e| crate::http::network(url, &e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(Error::Network {
            url: url.to_owned(),
            reason: format!("HTTP {status}"),
        });
    }
    let bar = reporter.bytes(response.content_length(), format!("downloading {url}"));
    let mut out = File::create(file).map_err(|e| Error::io("create", file, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = response
            .read(&mut buf)
            .map_err(|e| crate::http::network(url, &e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| Error::io("write", file, e))?;
        bar.inc(n as u64);
    }
    out.sync_all().map_err(|e| Error::io("write", file, e))?;
    bar.finish_and_clear();
    Ok(hex::encode(hasher.finalize()))
}
