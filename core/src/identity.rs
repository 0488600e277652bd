//! `identity.json`: the master's Ed25519 key, or the follower's pinned master key and token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::now_rfc3339;
use crate::error::{Error, Result};
use crate::{Homes, fsx};

/// What `identity.json` holds on one machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Identity {
    /// This machine is a master.
    Master(MasterKey),
    /// This machine follows a master.
    Follower(Trust),
}

/// The master's signing key.
#[derive(Clone, Serialize, Deserialize)]
pub struct MasterKey {
    /// The Ed25519 secret key (32 bytes, base64url).
    secret_key: String,
    /// The public key (base64url), for humans and tools reading the file.
    pub public_key: String,
    /// `SHA256:` + base64url of sha256(public key).
    pub fingerprint: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// What a follower trusts: the pinned master key, and its bearer token.
#[derive(Clone, Serialize, Deserialize)]
pub struct Trust {
    /// The master's public key (base64url), pinned at join.
    pub master_public_key: String,
    /// Its fingerprint.
    pub fingerprint: String,
    /// This follower's bearer token (a secret: the file is 0600).
    pub token: String,
    /// When the key was pinned (RFC 3339).
    pub pinned_at: String,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// `SHA256:` + unpadded base64url of sha256(public key bytes).
pub fn fingerprint(public_key: &[u8]) -> String {
    format!(
        "SHA256:{}",
        URL_SAFE_NO_PAD.encode(Sha256::digest(public_key))
    )
}

/// Whether `s` looks like a fingerprint (`SHA256:` + 43 base64url characters).
pub fn is_fingerprint(s: &str) -> bool {
    s.strip_prefix("SHA256:").is_some_and(|b| {
        b.len() == 43
            && b.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    })
}

/// Decodes a base64url public key.
pub fn decode_public_key(b64: &str) -> Option<VerifyingKey> {
    let bytes = URL_SAFE_NO_PAD.decode(b64).ok()?;
    VerifyingKey::from_bytes(&bytes.try_into().ok()?).ok()
}

/// Verifies `signature` (base64url) over `message` with `key`.
pub fn verify(key: &VerifyingKey, message: &[u8], signature: &str) -> bool {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(&bytes) else {
        return false;
    };
    key.verify(message, &sig).is_ok()
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self::from_signing(&SigningKey::generate(&mut rand::rngs::OsRng))
    }

    fn from_signing(key: &SigningKey) -> Self {
        let public = key.verifying_key();
        Self {
            secret_key: URL_SAFE_NO_PAD.encode(key.to_bytes()),
            public_key: URL_SAFE_NO_PAD.encode(public.as_bytes()),
            fingerprint: fingerprint(public.as_bytes()),
            created_at: now_rfc3339(),
        }
    }

    fn signing_key(&self) -> Option<SigningKey> {
        let bytes = URL_SAFE_NO_PAD.decode(&self.secret_key).ok()?;
        Some(SigningKey::from_bytes(&bytes.try_into().ok()?))
    }

    /// The public key's 32 bytes.
    pub fn public_key_bytes(&self) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(&self.public_key).unwrap_or_default()
    }

    /// The secret key as PKCS#8 v1 DER (RFC 8410), what TLS and certificate code take.
    #[cfg(feature = "net")]
    pub(crate) fn pkcs8_der(&self) -> Vec<u8> {
        const PREFIX: [u8; 16] = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        let key = self.signing_key().expect("checked when loaded");
        let mut der = PREFIX.to_vec();
        der.extend_from_slice(&key.to_bytes());
        der
    }

    /// Signs `message`, returning the base64url signature.
    pub fn sign(&self, message: &[u8]) -> String {
        let key = self.signing_key().expect("checked when loaded");
        URL_SAFE_NO_PAD.encode(key.sign(message).to_bytes())
    }

    /// Checks that the secret key decodes and matches the stored public key and fingerprint.
    fn is_consistent(&self) -> bool {
        self.signing_key().is_some_and(|k| {
            let public = k.verifying_key();
            URL_SAFE_NO_PAD.encode(public.as_bytes()) == self.public_key
                && fingerprint(public.as_bytes()) == self.fingerprint
        })
    }
}

impl Trust {
    /// The pinned key, decoded.
    pub fn key(&self) -> Option<VerifyingKey> {
        decode_public_key(&self.master_public_key)
    }
}

impl Identity {
    /// Reads `identity.json`; `Ok(None)` when there is none.
    pub fn load(homes: &Homes) -> Result<Option<Self>> {
        let path = homes.identity();
        let Some(bytes) = fsx::read_optional(&path)? else {
            return Ok(None);
        };
        let corrupt = |reason: String| {
            Error::Corrupt {
            path: path.clone(),
            reason,
            hint: "move the file away; on a master run `codexport master init` (followers must then trust the new key), on a follower `codexport follower join LINK`".to_owned(),
        }
        };
        let identity: Self = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        match &identity {
            Identity::Master(key) if !key.is_consistent() => {
                Err(corrupt("the key does not match its fingerprint".into()))
            }
            Identity::Follower(trust)
                if trust
                    .key()
                    .is_none_or(|k| fingerprint(k.as_bytes()) != trust.fingerprint) =>
            {
                Err(corrupt(
                    "the pinned key does not match its fingerprint".into(),
                ))
            }
            _ => Ok(Some(identity)),
        }
    }

    /// Writes `identity.json` (0600).
    pub fn save(&self, homes: &Homes) -> Result<()> {
        let path = homes.identity();
        let json = serde_json::to_vec_pretty(self).expect("identity serialises");
        fsx::write_secret(&path, &json).map_err(|e| Error::io("write", path, e))
    }

    /// The master key, or a usage error naming `master init`.
    pub fn load_master(homes: &Homes) -> Result<MasterKey> {
        match Self::load(homes)? {
            Some(Identity::Master(key)) => Ok(key),
            Some(Identity::Follower(_)) => Err(Error::WrongRole(
                "this machine is a follower, not a master".into(),
                "run master commands on the master machine".into(),
            )),
            None => Err(Error::WrongRole(
                "this machine has no master identity yet".into(),
                "run `codexport master init`".into(),
            )),
        }
    }

    /// The follower's trust, or a usage error naming `follower join`.
    pub fn load_follower(homes: &Homes) -> Result<Trust> {
        match Self::load(homes)? {
            Some(Identity::Follower(trust)) => Ok(trust),
            Some(Identity::Master(_)) => Err(Error::WrongRole(
                "this machine is a master, not a follower".into(),
                "run follower commands on a follower machine".into(),
            )),
            None => Err(Error::WrongRole(
                "this machine has not joined a master yet".into(),
                "run `codexport follower join LINK` with the link from `codexport master link`"
                    .into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_fingerprint() {
        let key = MasterKey::generate();
        assert!(key.is_consistent());
        assert!(is_fingerprint(&key.fingerprint), "{}", key.fingerprint);
        let public = decode_public_key(&key.public_key).unwrap();
        let sig = key.sign(b"hello");
        assert!(verify(&public, b"hello", &sig));
        assert!(!verify(&public, b"hellO", &sig));
        assert!(!verify(&public, b"hello", "not base64!"));
        let other = decode_public_key(&MasterKey::generate().public_key).unwrap();
        assert!(!verify(&other, b"hello", &sig));
    }

    #[test]
    fn fingerprint_is_sha256_base64url() {
        // sha256 of 32 zero bytes, base64url without padding.
        assert_eq!(
            fingerprint(&[0u8; 32]),
            "SHA256:Zmh6rfhivXdsj8GLjp-OIAiXFIVu4jOzkCpZHQ1fKSU"
        );
        assert!(!is_fingerprint("SHA256:short"));
        assert!(!is_fingerprint(
            "MD5:Zmh6rfhivXdsj8GLjp-OIAiXFIVu4jOzkCpZHQ1fKSU"
        ));
    }

    #[test]
    fn corrupt_identity_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let homes = Homes::new(dir.path(), dir.path().join(".codex"), dir.path().join("t"));
        assert!(Identity::load(&homes).unwrap().is_none());
        fsx::write_secret(&homes.identity(), b"{not json").unwrap();
        assert!(matches!(Identity::load(&homes), Err(Error::Corrupt { .. })));
        let mut key = MasterKey::generate();
        key.fingerprint = "SHA256:Zmh6rfhivXdsj8GLjp-OIAiXFIVu4jOzkCpZHQ1fKSU".into();
        Identity::Master(key).save(&homes).unwrap();
        assert!(matches!(Identity::load(&homes), Err(Error::Corrupt { .. })));
        let key = MasterKey::generate();
        Identity::Master(key.clone()).save(&homes).unwrap();
        assert_eq!(
            Identity::load_master(&homes).unwrap().fingerprint,
            key.fingerprint
        );
    }
}
