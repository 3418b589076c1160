//! Credential checks: APOP digests, SASL PLAIN messages, the APOP
//! timestamp of the greeting.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use md5::{Digest, Md5};
use password_hash::rand_core::{OsRng, RngCore};
use postroom_pop3::ApopDigest;
use subtle::ConstantTimeEq;

/// Whether `digest` is the MD5 of `timestamp` followed by `secret`
/// (RFC 1939 §7), compared in constant time.
pub(crate) fn apop_matches(timestamp: &str, secret: &str, digest: &ApopDigest) -> bool {
    let mut md5 = Md5::new();
    md5.update(timestamp.as_bytes());
    md5.update(secret.as_bytes());
    let expected: [u8; 16] = md5.finalize().into();
    bool::from(expected.ct_eq(&digest.0))
}

/// A SASL PLAIN message (RFC 4616 §2): `[authzid] NUL authcid NUL passwd`.
#[derive(Debug)]
pub(crate) struct PlainCredentials<'a> {
    pub(crate) authcid: &'a str,
    pub(crate) password: &'a [u8],
}

/// Splits a PLAIN message. `None` when malformed, or when an authorization
/// identity other than the authentication identity is asked for (acting
/// as another user is not supported).
pub(crate) fn parse_plain(message: &[u8]) -> Option<PlainCredentials<'_>> {
    let mut parts = message.splitn(3, |&b| b == 0);
    let authzid = parts.next()?;
    let authcid = std::str::from_utf8(parts.next()?).ok()?;
    let password = parts.next()?;
    if authcid.is_empty() || (!authzid.is_empty() && authzid != authcid.as_bytes()) {
        return None;
    }
    Some(PlainCredentials { authcid, password })
}

/// A fresh APOP timestamp `<process.counter.random@host>`, different for
/// every greeting of every process (RFC 1939 §7 asks for a unique one, so
/// a captured digest cannot be replayed).
pub(crate) fn apop_timestamp(hostname: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut bytes = [0u8; 8];
    let random = match OsRng.try_fill_bytes(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        // No system randomness: the wall clock still differs between
        // restarts of a process that reuses its id.
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    };
    let host: String = hostname
        .chars()
        .filter(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>'))
        .take(100)
        .collect();
    let host = if host.is_empty() { "localhost" } else { &host };
    format!("<{}.{n}.{random:016x}@{host}>", std::process::id())
}

/// Whether the address is a loopback address (IPv4-mapped IPv6 included).
pub(crate) fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1939_apop_example() {
        // RFC 1939 §7: the greeting's timestamp, the secret `tanstaaf`.
        let digest = ApopDigest::from_hex("c4c9334bac560ecc979e58001b3e22fb").expect("32 hex");
        assert!(apop_matches(
            "<1896.697170952@dbc.mtview.ca.us>",
            "tanstaaf",
            &digest
        ));
        assert!(!apop_matches(
            "<1896.697170953@dbc.mtview.ca.us>",
            "tanstaaf",
            &digest
        ));
        assert!(!apop_matches(
            "<1896.697170952@dbc.mtview.ca.us>",
            "tanstaag",
            &digest
        ));
    }

    #[test]
    fn plain_messages() {
        let c = parse_plain(b"\0alice\0pw with\0nul").expect("valid");
        assert_eq!((c.authcid, c.password), ("alice", &b"pw with\0nul"[..]));
        let c = parse_plain(b"alice\0alice\0pw").expect("same authzid");
        assert_eq!(c.authcid, "alice");
        assert!(parse_plain(b"bob\0alice\0pw").is_none());
        assert!(parse_plain(b"\0\0pw").is_none());
        assert!(parse_plain(b"alice\0pw").is_none());
        assert!(parse_plain(b"\0\xff\0pw").is_none());
    }

    #[test]
    fn timestamps_are_unique_and_well_formed() {
        let a = apop_timestamp("mail.example.org");
        let b = apop_timestamp("mail.example.org");
        assert_ne!(a, b);
        assert!(a.starts_with('<') && a.ends_with("@mail.example.org>"));
        assert_eq!(a.matches('<').count(), 1);
        assert!(apop_timestamp("<bad host>").ends_with("@badhost>"));
        assert!(apop_timestamp("").ends_with("@localhost>"));
    }

    #[test]
    fn loopback_addresses() {
        assert!(is_loopback("127.0.0.1".parse().expect("ip")));
        assert!(is_loopback("::1".parse().expect("ip")));
        assert!(is_loopback("::ffff:127.0.0.2".parse().expect("ip")));
        assert!(!is_loopback("192.0.2.1".parse().expect("ip")));
    }
}
