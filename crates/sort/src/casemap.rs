//! The i;unicode-casemap collation (RFC 5051), as RFC 5256 §7 requires for
//! SORT and THREAD string comparisons.

use unicode_normalization::char::decompose_compatible;

use crate::titlecase::TITLECASE;

/// Prepares a string for the i;unicode-casemap collation (RFC 5051 §2).
///
/// Valid UTF-8 input is mapped code point by code point to its simple
/// titlecase, then fully (compatibility) decomposed; the result is UTF-8 that
/// compares with plain byte order (i;octet). Input that is not valid UTF-8 is
/// returned unchanged, as RFC 5051 §2 says: "the original octets are compared".
///
/// Because letters map to *upper* case, `_`, `[`, `\` and `^` sort after
/// `A`–`Z` (RFC 5256 §7 via RFC 5051).
///
/// ```
/// use postroom_sort::casemap;
/// assert_eq!(casemap("Caf\u{e9}".as_bytes()), "CAFE\u{301}".as_bytes());
/// assert!(casemap(b"_x") > casemap(b"zz"));
/// assert_eq!(casemap(b"\xff\xfe"), b"\xff\xfe");
/// ```
pub fn casemap(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    casemap_into(input, &mut out);
    out
}

/// Like [`casemap`], appending to `out`.
pub fn casemap_into(input: &[u8], out: &mut Vec<u8>) {
    if input.is_ascii() {
        out.extend(input.iter().map(u8::to_ascii_uppercase));
        return;
    }
    let Ok(s) = std::str::from_utf8(input) else {
        // RFC 5051 §2: invalid sequences abandon preparation.
        out.extend_from_slice(input);
        return;
    };
    let mut buf = [0u8; 4];
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_uppercase() as u8);
            continue;
        }
        decompose_compatible(titlecase(c), |d| {
            out.extend_from_slice(d.encode_utf8(&mut buf).as_bytes());
        });
    }
}

/// The simple titlecase mapping of `c` (UnicodeData.txt field 14).
fn titlecase(c: char) -> char {
    let cp = u32::from(c);
    match TITLECASE.binary_search_by_key(&cp, |&(from, _)| from) {
        // The table only holds valid scalar values.
        Ok(i) => char::from_u32(TITLECASE[i].1).unwrap_or(c),
        Err(_) => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_upper() {
        assert_eq!(casemap(b"Hello, World_[x]"), b"HELLO, WORLD_[X]");
    }

    #[test]
    fn titlecase_not_uppercase() {
        // U+01C6 (dž) has titlecase U+01C5 (Dž), which decomposes to D + z + caron.
        assert_eq!(casemap("\u{1c6}".as_bytes()), "Dz\u{30c}".as_bytes());
        // ß has no simple titlecase mapping: it stays.
        assert_eq!(casemap("\u{df}".as_bytes()), "\u{df}".as_bytes());
    }

    #[test]
    fn decomposition() {
        // é and e + combining acute compare equal; the ligature ﬁ has no
        // titlecase mapping and decomposes to "fi".
        assert_eq!(casemap("\u{e9}".as_bytes()), casemap("e\u{301}".as_bytes()));
        assert_eq!(casemap("\u{fb01}".as_bytes()), b"fi");
        assert_eq!(casemap("\u{ff21}".as_bytes()), b"A");
    }

    #[test]
    fn invalid_utf8_kept() {
        assert_eq!(casemap(b"ab\xc3"), b"ab\xc3");
        assert_eq!(casemap(b"\xc0\xaf"), b"\xc0\xaf");
    }

    #[test]
    fn order_after_letters() {
        for s in [&b"_"[..], b"[", b"\\", b"^", b"`"] {
            assert!(casemap(s) > casemap(b"zzz"), "{s:?}");
        }
    }
}
