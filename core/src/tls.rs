//! Protocol v2's transport: TLS 1.3 bound to the master's Ed25519 identity key, both sides.
//!
//! The master presents a self-signed certificate made for its identity key (never a CA, kept
//! in `~/.codexport/tls.json`, made again when it nears expiry or the key changed). The
//! follower accepts a connection only when the certificate's public key is the key whose
//! fingerprint it pins (the join link's, then `identity.json`'s): no host name, CA or expiry
//! check, so the fingerprint stays the whole trust root, and the handshake's signature is
//! still verified with that key (a certificate copied from the master proves nothing).

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, Result};
use crate::identity::{MasterKey, fingerprint};
use crate::{Homes, fsx};

/// The first byte of a TLS record carrying a handshake (a ClientHello): what the master's one
/// port tells TLS from plain HTTP by (an HTTP request starts with a method's letter).
pub const TLS_HANDSHAKE_BYTE: u8 = 0x16;

/// How long a certificate the master makes is valid.
const CERT_DAYS: i64 = 365;

/// A certificate this close to its end is made again when the server starts.
const RENEW_DAYS: i64 = 30;

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32 key bytes follow.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The TLS 1.3 alert `access_denied` (a plaintext record), what a peer outside the allow list
/// gets when it opened with a ClientHello, so the follower can say why.
pub const ACCESS_DENIED_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x31];

/// The crypto the transport uses on both sides: rustls' ring provider (TLS 1.3 only).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// `tls.json`: the master's certificate and the key and time it was made for.
#[derive(Debug, Serialize, Deserialize)]
struct StoredCert {
    /// The identity key's fingerprint the certificate was made for.
    fingerprint: String,
    /// Its end of validity (RFC 3339).
    not_after: String,
    /// The certificate (DER, base64).
    der: String,
}

/// The certificate for `key`: the stored one while it is for this key and not near its end,
/// else a fresh one (stored). Returns the DER bytes.
pub fn master_certificate(homes: &Homes, key: &MasterKey) -> Result<Vec<u8>> {
    let path = homes.tls_certificate();
    let now = OffsetDateTime::now_utc();
    let stored = fsx::read_optional(&path)?
        .and_then(|bytes| serde_json::from_slice::<StoredCert>(&bytes).ok())
        .filter(|s| s.fingerprint == key.fingerprint)
        .filter(|s| {
            OffsetDateTime::parse(&s.not_after, &Rfc3339)
                .is_ok_and(|end| end - now > time::Duration::days(RENEW_DAYS))
        })
        .and_then(|s| STANDARD.decode(s.der).ok())
        .filter(|der| spki_key(der).as_deref() == Some(key.public_key_bytes().as_slice()));
    if let Some(der) = stored {
        return Ok(der);
    }
    let not_after = now + time::Duration::days(CERT_DAYS);
    let der = make_certificate(key, now - time::Duration::hours(1), not_after)?;
    let record = StoredCert {
        fingerprint: key.fingerprint.clone(),
        not_after: not_after
            .replace_nanosecond(0)
            .unwrap_or(not_after)
            .format(&Rfc3339)
            .unwrap_or_default(),
        der: STANDARD.encode(&der),
    };
    let bytes = serde_json::to_vec_pretty(&record).expect("serialises");
    fsx::write_atomic(&path, &bytes, Some(0o644)).map_err(|e| Error::io("write", &path, e))?;
    tracing::info!("made a TLS certificate for {}", key.fingerprint);
    Ok(der)
}

/// A self-signed, non-CA certificate for `key`, valid from `not_before` to `not_after`.
pub fn make_certificate(
    key: &MasterKey,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Vec<u8>> {
    let failed = |e: rcgen::Error| Error::Tls(format!("cannot make the certificate: {e}"));
    let pkcs8 = PrivatePkcs8KeyDer::from(key.pkcs8_der());
    let pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_ED25519)
        .map_err(failed)?;
    let mut params =
        rcgen::CertificateParams::new(vec!["codexport-master".to_owned()]).map_err(failed)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, key.fingerprint.clone());
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params.self_signed(&pair).map_err(failed)?;
    Ok(cert.der().to_vec())
}

/// The server side: TLS 1.3 with `cert` (from [`master_certificate`]) and the identity key.
pub fn server_config(key: &MasterKey, cert: Vec<u8>) -> Result<Arc<rustls::ServerConfig>> {
    let failed = |e: rustls::Error| Error::Tls(format!("cannot set up TLS: {e}"));
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(failed)?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pkcs8_der())),
        )
        .map_err(failed)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The Ed25519 key a certificate's SubjectPublicKeyInfo holds; `None` for any other key or a
/// certificate that does not parse.
pub fn spki_key(cert: &[u8]) -> Option<Vec<u8>> {
    let der = CertificateDer::from(cert);
    let parsed = ParsedCertificate::try_from(&der).ok()?;
    let spki = parsed.subject_public_key_info();
    spki.strip_prefix(&ED25519_SPKI_PREFIX[..])
        .filter(|key| key.len() == 32)
        .map(<[u8]>::to_vec)
}

/// Why the pinned verifier refused a master's certificate (read back by the client to report
/// the refusal as a trust error rather than a network one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An Ed25519 key other than the pinned one (its fingerprint, computed here).
    OtherKey(String),
    /// A certificate that is not for an Ed25519 key, or does not parse.
    NotEd25519,
}

/// The follower side: accepts exactly the master whose identity key has `pinned` as its
/// fingerprint. Records why it refused, for the error the caller reports.
#[derive(Debug)]
pub struct PinnedKey {
    pinned: String,
    provider: Arc<CryptoProvider>,
    refused: Mutex<Option<Refusal>>,
}

impl PinnedKey {
    /// A verifier for the key with fingerprint `pinned`.
    pub fn new(pinned: &str) -> Arc<Self> {
        Arc::new(Self {
            pinned: pinned.to_owned(),
            provider: provider(),
            refused: Mutex::new(None),
        })
    }

    /// Why the last certificate was refused, if one was.
    pub fn refusal(&self) -> Option<Refusal> {
        self.refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn refuse(&self, why: Refusal) -> rustls::Error {
        *self.refused.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
        rustls::Error::InvalidCertificate(rustls::CertificateError::ApplicationVerificationFailure)
    }
}

impl ServerCertVerifier for PinnedKey {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match spki_key(end_entity) {
            Some(key) if fingerprint(&key) == self.pinned => Ok(ServerCertVerified::assertion()),
            Some(key) => Err(self.refuse(Refusal::OtherKey(fingerprint(&key)))),
            None => Err(self.refuse(Refusal::NotEd25519)),
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        // Only TLS 1.3 is offered; a 1.2 handshake never reaches here.
        Err(rustls::Error::General("only TLS 1.3 is offered".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        // The certificate's key, already checked to be the pinned one, signs the handshake.
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// The follower's TLS configuration for `verifier`: TLS 1.3, no client certificate.
pub fn client_config(verifier: Arc<PinnedKey>) -> Result<rustls::ClientConfig> {
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| Error::Tls(format!("cannot set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The TLS error somewhere in an error's chain (reqwest wraps it in hyper's and an
/// `io::Error`, whose `source` skips the error it carries).
pub fn find_tls_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| find_tls_error(inner))
        {
            return Some(inner);
        }
        next = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_carries_the_identity_key_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let homes = Homes::new(
            dir.path(),
            dir.path().join("codex"),
            dir.path().join("tool"),
        );
        std::fs::create_dir_all(&homes.tool).unwrap();
        let key = MasterKey::generate();
        let der = master_certificate(&homes, &key).unwrap();
        assert_eq!(spki_key(&der).unwrap(), key.public_key_bytes());
        assert_eq!(master_certificate(&homes, &key).unwrap(), der, "kept");
        // Another key: a new certificate.
        let other = MasterKey::generate();
        let again = master_certificate(&homes, &other).unwrap();
        assert_eq!(spki_key(&again).unwrap(), other.public_key_bytes());
        // Near its end: made again.
        let path = homes.tls_certificate();
        let mut stored: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        stored["not_after"] = "2026-01-01T00:00:00Z".into();
        std::fs::write(&path, serde_json::to_vec(&stored).unwrap()).unwrap();
        let renewed = master_certificate(&homes, &other).unwrap();
        assert_eq!(spki_key(&renewed).unwrap(), other.public_key_bytes());
        let stored: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_ne!(stored["not_after"], "2026-01-01T00:00:00Z", "made again");
    }

    #[test]
    fn the_verifier_takes_only_the_pinned_key() {
        let key = MasterKey::generate();
        let now = OffsetDateTime::now_utc();
        let der = make_certificate(&key, now, now + time::Duration::days(1)).unwrap();
        let cert = CertificateDer::from(der);
        let name = ServerName::try_from("example.com").unwrap();
        let at = UnixTime::now();
        let right = PinnedKey::new(&key.fingerprint);
        assert!(right.verify_server_cert(&cert, &[], &name, &[], at).is_ok());
        let other = MasterKey::generate();
        let wrong = PinnedKey::new(&other.fingerprint);
        assert!(
            wrong
                .verify_server_cert(&cert, &[], &name, &[], at)
                .is_err()
        );
        assert_eq!(
            wrong.refusal(),
            Some(Refusal::OtherKey(key.fingerprint.clone()))
        );
        // Expired long ago: still the key, still accepted (the pin is the trust root).
        let old = make_certificate(
            &key,
            now - time::Duration::days(800),
            now - time::Duration::days(400),
        )
        .unwrap();
        let old = CertificateDer::from(old);
        assert!(right.verify_server_cert(&old, &[], &name, &[], at).is_ok());
        let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        assert!(
            right
                .verify_server_cert(&garbage, &[], &name, &[], at)
                .is_err()
        );
        assert_eq!(right.refusal(), Some(Refusal::NotEd25519));
    }
}
