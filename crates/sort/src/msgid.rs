//! Message-ID parsing and normalisation (RFC 5256 §3 REFERENCES, RFC 5322 §3.6.4).

use crate::lex::{atom_len, quoted_string, skip_cfws};

/// Bytes that end an id atom: specials of RFC 5322 except `.`, which is part
/// of dot-atoms (and of obsolete local parts like `a..b`).
const ID_SPECIALS: &[u8] = b"()<>[]:;@\\,\"";

/// A normalised message identifier: `local@domain` without the angle
/// brackets, quoting removed from the local part and white space and comments
/// removed (RFC 5256 §3: ids compare after removing quoting, case-sensitively).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId {
    hash: u64,
    id: Box<[u8]>,
}

impl MessageId {
    /// Wraps already-normalised id bytes (`local@domain`).
    pub fn from_normalized(id: impl Into<Box<[u8]>>) -> MessageId {
        let id = id.into();
        MessageId {
            hash: hash_bytes(&id),
            id,
        }
    }

    /// The normalised id, `local@domain`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.id
    }

    /// A stable 64-bit hash of the id, computed once.
    pub fn hash64(&self) -> u64 {
        self.hash
    }
}

/// Parses every valid message id of a header value, in order.
///
/// A valid id is `<` local-part `@` domain `>` with optional comments and
/// white space between the pieces; anything between ids that does not parse
/// is skipped. Ids without `@` are invalid (as in Dovecot).
///
/// ```
/// use postroom_sort::parse_message_ids;
/// let ids = parse_message_ids(b"<a@b> junk <\"q\"@x> (c) <bad>");
/// let ids: Vec<&[u8]> = ids.iter().map(|i| i.as_bytes()).collect();
/// assert_eq!(ids, [&b"a@b"[..], b"q@x"]);
/// ```
pub fn parse_message_ids(raw: &[u8]) -> Vec<MessageId> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some((id, next)) = next_id(raw, i) {
        out.push(id);
        i = next;
    }
    out
}

/// The first valid message id of a header value, if any.
pub fn first_message_id(raw: &[u8]) -> Option<MessageId> {
    next_id(raw, 0).map(|(id, _)| id)
}

/// Finds the next valid id at or after `i`; returns it and the index after it.
fn next_id(s: &[u8], mut i: usize) -> Option<(MessageId, usize)> {
    loop {
        i = skip_cfws(s, i);
        if i >= s.len() {
            return None;
        }
        if s[i] == b'<' {
            if let Some((id, end)) = angle_id(s, i + 1) {
                return Some((MessageId::from_normalized(id), end));
            }
        }
        i += 1;
    }
}

/// Parses `local @ domain >` after a `<`.
fn angle_id(s: &[u8], mut i: usize) -> Option<(Vec<u8>, usize)> {
    let mut id = Vec::new();
    // Local part: atoms, dots and quoted strings.
    loop {
        i = skip_cfws(s, i);
        match *s.get(i)? {
            b'"' => i = quoted_string(s, i, &mut id)?,
            b'@' => break,
            _ => {
                let n = atom_len(s, i, ID_SPECIALS);
                if n == 0 {
                    return None;
                }
                id.extend_from_slice(&s[i..i + n]);
                i += n;
            }
        }
    }
    if id.is_empty() {
        return None;
    }
    id.push(b'@');
    let local_len = id.len();
    i += 1;
    // Domain: dot-atoms or a domain literal.
    loop {
        i = skip_cfws(s, i);
        match *s.get(i)? {
            b'>' => break,
            b'[' => {
                let close = s[i..].iter().position(|&b| b == b']' || b == b'>')? + i;
                if s[close] != b']' {
                    return None;
                }
                id.extend(s[i..=close].iter().filter(|b| !b.is_ascii_whitespace()));
                i = close + 1;
            }
            _ => {
                let n = atom_len(s, i, ID_SPECIALS);
                if n == 0 {
                    return None;
                }
                id.extend_from_slice(&s[i..i + n]);
                i += n;
            }
        }
    }
    if id.len() == local_len {
        return None;
    }
    Some((id, i + 1))
}

/// A stable 64-bit hash (FNV-1a over 8-byte words, then a murmur3 finaliser),
/// so hash tables keyed by ids need not hash the bytes again.
pub(crate) fn hash_bytes(b: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ (b.len() as u64);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    let mut w = [0u8; 8];
    w[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(s: &[u8]) -> Vec<String> {
        parse_message_ids(s)
            .iter()
            .map(|i| String::from_utf8(i.as_bytes().to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn known_answers() {
        assert_eq!(ids(b"<a@b>"), ["a@b"]);
        assert_eq!(ids(b"<\"q1\"@x>"), ["q1@x"]);
        assert_eq!(
            ids(b"<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com>"),
            ["01KF8JCEOCBS0045PS@xxx.yyy.com"]
        );
        assert_eq!(ids(b"<r1@x> (comment) <zz@x>"), ["r1@x", "zz@x"]);
        assert_eq!(ids(b"garbage"), Vec::<String>::new());
        assert_eq!(ids(b"<noat>"), Vec::<String>::new());
        assert_eq!(ids(b"< a . b @ (c) x.y >"), ["a.b@x.y"]);
        assert_eq!(ids(b"<a@[1.2.3.4]>"), ["a@[1.2.3.4]"]);
        assert_eq!(ids(b"<a@b><c@d>"), ["a@b", "c@d"]);
        assert_eq!(ids(b"<a@b>,<c@d>"), ["a@b", "c@d"]);
        assert_eq!(ids(b"<<a@b>"), ["a@b"]);
        assert_eq!(ids(b"<@b> <a@> <a@b"), Vec::<String>::new());
        assert_eq!(ids(b"(<x@y>) <a@b>"), ["a@b"]);
        assert_eq!(ids(b"<A@B> <a@b>"), ["A@B", "a@b"]);
        assert_eq!(ids(b"\r\n\t<a@b>\r\n <c@d>"), ["a@b", "c@d"]);
        assert_eq!(ids(b"<a/b+c=d$@x_y>"), ["a/b+c=d$@x_y"]);
    }

    #[test]
    fn hash_is_stable_and_content_based() {
        assert_eq!(hash_bytes(b"a@b"), hash_bytes(b"a@b"));
        assert_ne!(hash_bytes(b"a@b"), hash_bytes(b"a@c"));
        assert_ne!(hash_bytes(b""), hash_bytes(b"\0"));
    }

    #[test]
    fn many_ids_linear() {
        let mut s = Vec::new();
        for k in 0..100_000 {
            s.extend_from_slice(format!("<id{k}@x> ").as_bytes());
        }
        assert_eq!(parse_message_ids(&s).len(), 100_000);
        // Many '<' without a close: each attempt stops where its atom ends.
        let s = b"<a".repeat(100_000);
        assert!(parse_message_ids(&s).is_empty());
    }
}
