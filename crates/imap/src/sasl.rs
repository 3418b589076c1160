//! SASL helpers for AUTHENTICATE (RFC 3501 §6.2.2): PLAIN (RFC 4616) and
//! LOGIN (draft-murchison-sasl-login).

use postroom_types::Secret;

/// Credentials from a PLAIN or LOGIN exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The authorization identity, if the client asked for one.
    pub authzid: Option<String>,
    /// The authentication identity (user name).
    pub username: String,
    /// The password.
    pub password: Secret<String>,
}

/// A malformed SASL exchange.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The client response is not base64.
    #[error("client response is not valid base64")]
    Base64,
    /// PLAIN needs `authzid NUL authcid NUL password`.
    #[error("PLAIN response must be authzid, NUL, user, NUL, password")]
    PlainFormat,
    /// A user name or password is not UTF-8.
    #[error("SASL text is not UTF-8")]
    NotUtf8,
}

/// Decodes a PLAIN response (RFC 4616 §2): `[authzid] NUL authcid NUL
/// passwd`, the user name and password non-empty.
///
/// ```
/// let c = postroom_imap::sasl::decode_plain(b"\0tim\0tanstaaftanstaaf").unwrap();
/// assert_eq!(c.username, "tim");
/// assert_eq!(c.password.expose_secret(), "tanstaaftanstaaf");
/// ```
pub fn decode_plain(data: &[u8]) -> Result<Credentials, SaslError> {
    let mut parts = data.splitn(3, |&b| b == 0);
    let (Some(authzid), Some(user), Some(pass)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SaslError::PlainFormat);
    };
    if user.is_empty() || pass.is_empty() || pass.contains(&0) {
        return Err(SaslError::PlainFormat);
    }
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| SaslError::NotUtf8);
    Ok(Credentials {
        authzid: if authzid.is_empty() {
            None
        } else {
            Some(text(authzid)?)
        },
        username: text(user)?,
        password: Secret::new(text(pass)?),
    })
}

/// Encodes a PLAIN response (client side).
pub fn encode_plain(authzid: Option<&str>, username: &str, password: &str) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(authzid.unwrap_or("").as_bytes());
    v.push(0);
    v.extend_from_slice(username.as_bytes());
    v.push(0);
    v.extend_from_slice(password.as_bytes());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_vectors() {
        let c = decode_plain(b"admin\0tim\0pw").unwrap();
        assert_eq!(c.authzid.as_deref(), Some("admin"));
        assert_eq!(decode_plain(b"\0tim"), Err(SaslError::PlainFormat));
        assert_eq!(decode_plain(b"\0\0pw"), Err(SaslError::PlainFormat));
        assert_eq!(decode_plain(b"\0t\0p\0x"), Err(SaslError::PlainFormat));
        assert_eq!(
            decode_plain(&encode_plain(None, "u", "p"))
                .unwrap()
                .username,
            "u"
        );
    }
}
