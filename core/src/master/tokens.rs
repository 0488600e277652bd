//! The master's follower tokens: one bearer secret per follower name, stored hashed (0600).
//!
//! A link made with `--expires` or `--single-use` carries an invite instead: the follower's
//! join exchanges it for a token of its own ([`Followers::redeem`]); the invite is refused
//! once it expired, and a single-use one once it was redeemed.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::clock::now_rfc3339;
use crate::error::{Error, Result};
use crate::fsx::read_optional;
use crate::lock::{INTERACTIVE_WAIT, LockGuard};
use crate::store::sha256_hex;
use crate::{Homes, fsx};

/// One follower's token record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowerToken {
    /// sha256 (hex) of the token; the token itself is only ever in the link. Empty while the
    /// follower holds only an invite it has not redeemed.
    pub token_sha256: String,
    /// When the link was made (RFC 3339).
    pub created_at: String,
    /// The invite the link carried, when it was made with `--expires` or `--single-use`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<Invite>,
}

/// An invite: a link token that a join exchanges for the follower's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// sha256 (hex) of the link's token.
    pub token_sha256: String,
    /// When it stops being accepted (RFC 3339), if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Refused once redeemed.
    #[serde(default)]
    pub single_use: bool,
    /// When it was last redeemed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeemed_at: Option<String>,
}

/// What `master link` asks of the link it makes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Terms {
    /// Refused this long after it was made.
    pub expires: Option<std::time::Duration>,
    /// Refused after the first join.
    pub single_use: bool,
}

/// What a presented token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked<'a> {
    /// A follower's own token (or a plain link's).
    Follower(&'a str),
    /// A valid invite of that follower, not redeemed yet (or redeemable again).
    Invite(&'a str),
    /// An invite past its end.
    Expired,
    /// A single-use invite already redeemed.
    Used,
    /// No follower's.
    Unknown,
}

impl<'a> Checked<'a> {
    /// The follower the token lets in, if it does.
    pub fn name(self) -> Option<&'a str> {
        match self {
            Checked::Follower(name) | Checked::Invite(name) => Some(name),
            _ => None,
        }
    }
}

impl Invite {
    fn expired(&self, now: time::OffsetDateTime) -> bool {
        self.expires_at.as_deref().is_some_and(|at| {
            // An unreadable end counts as passed: an invite is never kept by accident.
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                .map_or(true, |end| end <= now)
        })
    }
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

    /// Reads, changes and writes `followers.json` under `followers.lock`, so that `master link`
    /// or `master revoke` run by hand and a join the running server redeems never lose each
    /// other's write. `change` says whether it changed anything: only then is the file written.
    pub fn update<T>(
        homes: &Homes,
        change: impl FnOnce(&mut Self) -> Result<(T, bool)>,
    ) -> Result<T> {
        let _lock = LockGuard::acquire(&homes.followers_lock(), INTERACTIVE_WAIT)?;
        let mut followers = Self::load(homes)?;
        let (out, changed) = change(&mut followers)?;
        if changed {
            followers.save(homes)?;
        }
        Ok(out)
    }

    /// Writes `followers.json` (0600); callers that read it first go through [`Self::update`].
    fn save(&self, homes: &Homes) -> Result<()> {
        let path = homes.followers();
        let bytes = serde_json::to_vec_pretty(self).expect("serialises");
        fsx::write_secret(&path, &bytes).map_err(|e| Error::io("write", path, e))
    }

    /// Makes a new token for `name` (replacing an earlier one) and returns it in plain text;
    /// a name that is not a [follower name](check_name) is refused.
    pub fn issue(&mut self, name: &str) -> Result<String> {
        self.issue_with(name, Terms::default())
    }

    /// [`Self::issue`] with `terms`: with an expiry or single use, the token is an invite the
    /// join exchanges for the follower's own.
    pub fn issue_with(&mut self, name: &str, terms: Terms) -> Result<String> {
        check_name(name)?;
        let token = new_token();
        let hash = sha256_hex(token.as_bytes());
        let record = if terms == Terms::default() {
            FollowerToken {
                token_sha256: hash,
                created_at: now_rfc3339(),
                invite: None,
            }
        } else {
            let too_far = || Error::Usage("the expiry is too far in the future".into());
            let expires_at = match terms.expires {
                None => None,
                Some(d) => {
                    let end = time::Duration::try_from(d)
                        .ok()
                        .and_then(|d| time::OffsetDateTime::now_utc().checked_add(d))
                        .ok_or_else(too_far)?;
                    let end = end.replace_nanosecond(0).unwrap_or(end);
                    Some(
                        end.format(&time::format_description::well_known::Rfc3339)
                            .map_err(|_| too_far())?,
                    )
                }
            };
            FollowerToken {
                token_sha256: String::new(),
                created_at: now_rfc3339(),
                invite: Some(Invite {
                    token_sha256: hash,
                    expires_at,
                    single_use: terms.single_use,
                    redeemed_at: None,
                }),
            }
        };
        self.followers.insert(name.to_owned(), record);
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
        self.check_at(token, time::OffsetDateTime::now_utc()).name()
    }

    /// What a presented token is at `now`.
    pub fn check_at(&self, token: &str, now: time::OffsetDateTime) -> Checked<'_> {
        let hash = sha256_hex(token.as_bytes());
        let same = |stored: &str| constant_time_eq(stored.as_bytes(), hash.as_bytes());
        for (name, t) in &self.followers {
            if same(&t.token_sha256) {
                return Checked::Follower(name);
            }
            if let Some(invite) = t.invite.as_ref().filter(|i| same(&i.token_sha256)) {
                return if invite.single_use && invite.redeemed_at.is_some() {
                    Checked::Used
                } else if invite.expired(now) {
                    Checked::Expired
                } else {
                    Checked::Invite(name)
                };
            }
        }
        Checked::Unknown
    }

    /// A join's exchange: a valid invite gets the follower a token of its own (returned in
    /// plain text; it replaces the follower's earlier one, and a single-use invite is spent);
    /// a follower's own token is kept (`None`). Anything else is refused as
    /// [`Self::check_at`] tells.
    pub fn redeem(&mut self, token: &str) -> std::result::Result<Option<String>, Checked<'static>> {
        let name = match self.check_at(token, time::OffsetDateTime::now_utc()) {
            Checked::Follower(_) => return Ok(None),
            Checked::Invite(name) => name.to_owned(),
            Checked::Expired => return Err(Checked::Expired),
            Checked::Used => return Err(Checked::Used),
            Checked::Unknown => return Err(Checked::Unknown),
        };
        let own = new_token();
        let record = self.followers.get_mut(&name).expect("just found");
        record.token_sha256 = sha256_hex(own.as_bytes());
        if let Some(invite) = record.invite.as_mut() {
            invite.redeemed_at = Some(now_rfc3339());
        }
        Ok(Some(own))
    }
}

/// 32 random bytes, base64url.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `followers-seen.json`: when `master serve` last answered each follower, and the version it
/// named (written by the server every few seconds, read by `master followers`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// By follower name.
    pub followers: BTreeMap<String, SeenEntry>,
}

/// One follower's last request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenEntry {
    /// When (RFC 3339).
    pub at: String,
    /// The codexport version it sent, when it sent one that is a plain version string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Seen {
    /// Reads `followers-seen.json` (empty when missing or unreadable: it is only a record).
    pub fn load(homes: &Homes) -> Self {
        read_optional(&homes.followers_seen())
            .ok()
            .flatten()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Writes `followers-seen.json`.
    pub fn save(&self, homes: &Homes) -> Result<()> {
        let path = homes.followers_seen();
        let bytes = serde_json::to_vec_pretty(self).expect("serialises");
        fsx::write_atomic(&path, &bytes, Some(0o644)).map_err(|e| Error::io("write", path, e))
    }
}

/// A version a follower sent, kept only when it looks like one (it is shown in listings):
/// at most 32 characters of letters, digits, `.`, `-` and `+`.
pub fn sent_version(header: &[u8]) -> Option<String> {
    let ok = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+');
    (!header.is_empty() && header.len() <= 32 && header.iter().all(ok))
        .then(|| String::from_utf8_lossy(header).into_owned())
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
    fn invites_expire_and_single_use_ones_are_spent() {
        let now = time::OffsetDateTime::now_utc();
        let mut f = Followers::default();
        let day = Terms {
            expires: Some(std::time::Duration::from_secs(86_400)),
            single_use: false,
        };
        let invite = f.issue_with("laptop", day).unwrap();
        assert_eq!(f.check_at(&invite, now), Checked::Invite("laptop"));
        assert_eq!(
            f.check_at(&invite, now + time::Duration::days(2)),
            Checked::Expired
        );
        let own = f.redeem(&invite).unwrap().unwrap();
        assert_eq!(f.check_at(&own, now), Checked::Follower("laptop"));
        // The follower's own token does not expire with the invite.
        assert_eq!(
            f.check_at(&own, now + time::Duration::days(400)),
            Checked::Follower("laptop")
        );
        assert_eq!(f.redeem(&own), Ok(None), "an own token is kept");

        let once = f
            .issue_with(
                "desk",
                Terms {
                    expires: None,
                    single_use: true,
                },
            )
            .unwrap();
        assert_eq!(f.check(&once), Some("desk"));
        let desk = f.redeem(&once).unwrap().unwrap();
        assert_eq!(f.check_at(&once, now), Checked::Used);
        assert_eq!(f.redeem(&once), Err(Checked::Used));
        assert_eq!(f.check(&desk), Some("desk"));
        assert_eq!(f.redeem("nope"), Err(Checked::Unknown));

        // An end that does not parse counts as passed.
        let odd = f.issue_with("odd", day).unwrap();
        f.followers
            .get_mut("odd")
            .unwrap()
            .invite
            .as_mut()
            .unwrap()
            .expires_at = Some("soon".into());
        assert_eq!(f.check_at(&odd, now), Checked::Expired);
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
