//! The master's follower tokens: one bearer secret per follower name, stored hashed (0600).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::clock::now_rfc3339;
use crate::error::{Error, Result};
use crate::fsx::read_optional;
use crate::store::sha256_hex;
use crate::{Homes, fsx};

/// One follower's token record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowerToken {
    /// sha256 (hex) of the token; the token itself is only ever in the link.
    pub token_sha256: String,
    /// When the link was made (RFC 3339).
    pub created_at: String,
}

/// `followers.json`: tokens by follower name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Followers {
    /// By name.
    pub followers: BTreeMap<String, FollowerToken>,
}

impl Followers {
    /// Reads `followers.json` (empty when missing).
    pub fn load(homes: &Homes) -> Result<Self> {
        let path = homes.followers();
        match read_optional(&path)? {
            None => Ok(Self::default()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
                path,
                reason: e.to_string(),
                hint:
                    "move the file away and make new links with `codexport master link --name NAME`"
                        .into(),
            }),
        }
    }

    /// Writes `followers.json` (0600).
    pub fn save(&self, homes: &Homes) -> Result<()> {
        let path = homes.followers();
        let bytes = serde_json::to_vec_pretty(self).expect("serialises");
        fsx::write_secret(&path, &bytes).map_err(|e| Error::io("write", path, e))
    }

    /// Makes a new token for `name` (replacing an earlier one) and returns it in plain text;
    /// a name that is not a [follower name](check_name) is refused.
    pub fn issue(&mut self, name: &str) -> Result<String> {
        check_name(name)?;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        self.followers.insert(
            name.to_owned(),
            FollowerToken {
                token_sha256: sha256_hex(token.as_bytes()),
                created_at: now_rfc3339(),
            },
        );
        Ok(token)
    }

    /// Removes `name`'s token.
    pub fn revoke(&mut self, name: &str) -> Result<()> {
        if self.followers.remove(name).is_none() {
            let known: Vec<&str> = self.followers.keys().map(String::as_str).collect();
            return Err(Error::UnknownFollower {
                name: name.to_owned(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            });
        }
        Ok(())
    }

    /// The follower a presented token belongs to.
    pub fn check(&self, token: &str) -> Option<&str> {
        let hash = sha256_hex(token.as_bytes());
        self.followers
            .iter()
            .find(|(_, t)| constant_time_eq(t.token_sha256.as_bytes(), hash.as_bytes()))
            .map(|(name, _)| name.as_str())
    }
}

/// Refuses a follower name that is not letters, digits, `-`, `_` and `.` (it is shown in
/// listings and logs, and `revoke` takes it back on a command line).
pub fn check_name(name: &str) -> Result<()> {
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || !name.chars().all(allowed) {
        return Err(Error::Usage(format!(
            "`{name}` is not a follower name: use letters, digits, `-`, `_`, `.`"
        )));
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_check_revoke() {
        let mut f = Followers::default();
        let t = f.issue("laptop").unwrap();
        assert_eq!(f.check(&t), Some("laptop"));
        assert_eq!(f.check("nope"), None);
        let t2 = f.issue("laptop").unwrap();
        assert_eq!(f.check(&t), None, "a new link replaces the old token");
        f.revoke("laptop").unwrap();
        assert_eq!(f.check(&t2), None);
        assert!(matches!(
            f.revoke("laptop"),
            Err(Error::UnknownFollower { .. })
        ));
    }

    #[test]
    fn names_are_letters_digits_and_three_marks() {
        for good in ["laptop", "work-mac_2", "büro.local"] {
            check_name(good).unwrap();
        }
        for bad in ["", "a/b", "a b", "a\tb", "../x", "a:b", "x@y"] {
            let err = Followers::default().issue(bad).unwrap_err();
            assert!(matches!(err, Error::Usage(_)), "{bad:?}: {err}");
        }
    }
}
