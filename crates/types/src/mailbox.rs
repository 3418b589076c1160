//! [`MailboxName`] and modified UTF-7 (RFC 3501 §5.1.3).

use std::borrow::Cow;
use std::fmt;

/// An error from decoding a mailbox name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MailboxNameError {
    /// A character that modified UTF-7 never carries directly.
    #[error(
        "invalid character {character:?} at offset {offset} in modified UTF-7: expected printable US-ASCII"
    )]
    InvalidCharacter {
        /// The character.
        character: char,
        /// Its byte offset.
        offset: usize,
    },
    /// A shifted (`&...-`) sequence that is not valid modified base64 of
    /// UTF-16, or encodes what must be written directly.
    #[error("invalid modified UTF-7 sequence at offset {offset}: {reason}")]
    InvalidSequence {
        /// Byte offset of the `&` that opens the sequence.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// An `&` sequence without its closing `-`.
    #[error("unterminated modified UTF-7 sequence starting at offset {offset}")]
    Unterminated {
        /// Byte offset of the `&`.
        offset: usize,
    },
}

/// A mailbox name, held as UTF-8.
///
/// On the wire IMAP4rev1 writes names in modified UTF-7
/// ([`MailboxName::to_modified_utf7`], [`MailboxName::from_modified_utf7`]).
/// `INBOX` is case-insensitive (RFC 3501 §5.1): [`MailboxName::new`] turns
/// any case of the bare name `INBOX` into `INBOX`. Any other name is carried
/// as given; whether a name is acceptable (no `..`, no escaping the user's
/// storage) is decided by the store, not here.
///
/// ```
/// use postroom_types::MailboxName;
/// let name = MailboxName::from_modified_utf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-")?;
/// assert_eq!(name.as_str(), "~peter/mail/台北/日本語");
/// assert_eq!(name.to_modified_utf7(), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
/// assert!(MailboxName::new("inbox").is_inbox());
/// # Ok::<(), postroom_types::MailboxNameError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailboxName(Cow<'static, str>);

impl MailboxName {
    /// A name from UTF-8 text; the bare name `INBOX` in any case becomes
    /// `INBOX`.
    pub fn new(name: impl Into<String>) -> MailboxName {
        let name = name.into();
        if name.eq_ignore_ascii_case("INBOX") {
            MailboxName::inbox()
        } else {
            MailboxName(Cow::Owned(name))
        }
    }

    /// `INBOX`.
    pub fn inbox() -> MailboxName {
        // Borrowed: the most common name costs no allocation.
        MailboxName(Cow::Borrowed("INBOX"))
    }

    /// Decodes a name as sent on the wire in modified UTF-7.
    pub fn from_modified_utf7(wire: &str) -> Result<MailboxName, MailboxNameError> {
        decode_modified_utf7(wire).map(MailboxName::new)
    }

    /// The name in modified UTF-7, for the wire.
    pub fn to_modified_utf7(&self) -> String {
        encode_modified_utf7(&self.0)
    }

    /// The name as UTF-8.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is `INBOX` itself.
    pub fn is_inbox(&self) -> bool {
        self.0 == "INBOX"
    }

    /// The hierarchy levels of the name split on `delimiter`, with a
    /// leading `INBOX` level in any case reported as `INBOX`.
    pub fn levels(&self, delimiter: char) -> impl Iterator<Item = &str> {
        self.0.split(delimiter).enumerate().map(|(i, level)| {
            if i == 0 && level.eq_ignore_ascii_case("INBOX") {
                "INBOX"
            } else {
                level
            }
        })
    }

    /// The name with a first level `inbox` (any case) written `INBOX`, so
    /// `inbox.Sent` and `INBOX.Sent` name the same mailbox (RFC 3501 §5.1
    /// makes only INBOX itself case-insensitive; servers with the `INBOX.`
    /// personal namespace extend it to the prefix).
    #[must_use]
    pub fn with_inbox_prefix_normalized(&self, delimiter: char) -> MailboxName {
        match self.0.split_once(delimiter) {
            Some((first, rest)) if first.eq_ignore_ascii_case("INBOX") && first != "INBOX" => {
                MailboxName(Cow::Owned(format!("INBOX{delimiter}{rest}")))
            }
            _ => self.clone(),
        }
    }

    /// The parent name (everything before the last `delimiter`), if any.
    pub fn parent(&self, delimiter: char) -> Option<MailboxName> {
        self.0
            .rsplit_once(delimiter)
            .map(|(parent, _)| MailboxName::new(parent))
    }

    /// Consumes the name, giving the UTF-8 string.
    pub fn into_string(self) -> String {
        self.0.into_owned()
    }
}

impl fmt::Display for MailboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for MailboxName {
    fn from(s: &str) -> MailboxName {
        MailboxName::new(s)
    }
}

impl From<String> for MailboxName {
    fn from(s: String) -> MailboxName {
        MailboxName::new(s)
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn b64_value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b',' => 63,
        _ => return None,
    } as u32)
}

/// Encodes UTF-8 text as modified UTF-7 (RFC 3501 §5.1.3): printable
/// US-ASCII stands for itself (`&` as `&-`), everything else is UTF-16 in
/// modified base64 between `&` and `-`.
pub fn encode_modified_utf7(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        out.push('&');
        let mut bits: u32 = 0;
        let mut nbits = 0;
        for unit in pending.drain(..) {
            bits = (bits << 16) | u32::from(unit);
            nbits += 16;
            while nbits >= 6 {
                nbits -= 6;
                out.push(B64[((bits >> nbits) & 0x3f) as usize] as char);
            }
            bits &= (1 << nbits) - 1;
        }
        if nbits > 0 {
            out.push(B64[((bits << (6 - nbits)) & 0x3f) as usize] as char);
        }
        out.push('-');
    };
    for c in text.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Decodes modified UTF-7 (RFC 3501 §5.1.3) strictly: it refuses raw
/// characters outside printable US-ASCII, shifted sequences that encode
/// printable US-ASCII, adjacent shifted sequences, non-zero padding bits,
/// and unpaired surrogates, so each name has exactly one wire form.
pub fn decode_modified_utf7(wire: &str) -> Result<String, MailboxNameError> {
    let bytes = wire.as_bytes();
    let mut out = String::with_capacity(wire.len());
    let mut i = 0;
    // End offset of the previous shifted sequence, to refuse `&..-&..-`.
    let mut last_shift_end: Option<usize> = None;
    while i < bytes.len() {
        let c = bytes[i];
        if c != b'&' {
            if !(0x20..=0x7e).contains(&c) {
                let character = wire[i..].chars().next().unwrap_or('\u{fffd}');
                return Err(MailboxNameError::InvalidCharacter {
                    character,
                    offset: i,
                });
            }
            out.push(c as char);
            i += 1;
            continue;
        }
        let start = i;
        let end = bytes[i + 1..]
            .iter()
            .position(|&b| b == b'-')
            .map(|p| i + 1 + p)
            .ok_or(MailboxNameError::Unterminated { offset: start })?;
        if end == start + 1 {
            out.push('&');
            i = end + 1;
            continue;
        }
        let bad = |reason| MailboxNameError::InvalidSequence {
            offset: start,
            reason,
        };
        if last_shift_end == Some(start) {
            return Err(bad("adjacent shifted sequences must be one sequence"));
        }
        let mut units: Vec<u16> = Vec::new();
        let mut bits: u32 = 0;
        let mut nbits = 0;
        for &b in &bytes[start + 1..end] {
            let v = b64_value(b).ok_or(bad("expected modified base64"))?;
            bits = (bits << 6) | v;
            nbits += 6;
            if nbits >= 16 {
                nbits -= 16;
                units.push(((bits >> nbits) & 0xffff) as u16);
                bits &= (1 << nbits) - 1;
            }
        }
        if nbits >= 6 || bits != 0 {
            return Err(bad("leftover bits in modified base64"));
        }
        if units.is_empty() {
            return Err(bad("shifted sequence encodes nothing"));
        }
        for r in char::decode_utf16(units.iter().copied()) {
            let ch = r.map_err(|_| bad("unpaired UTF-16 surrogate"))?;
            if (' '..='~').contains(&ch) {
                return Err(bad("printable US-ASCII must not be encoded"));
            }
            out.push(ch);
        }
        i = end + 1;
        last_shift_end = Some(i);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc3501_examples() {
        // RFC 3501 §5.1.3.
        let name = MailboxName::from_modified_utf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-").unwrap();
        assert_eq!(
            name.as_str(),
            "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}"
        );
        assert_eq!(name.to_modified_utf7(), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        let levels: Vec<&str> = name.levels('/').collect();
        assert_eq!(levels, ["~peter", "mail", "台北", "日本語"]);
    }

    #[test]
    fn known_answers() {
        for (utf8, wire) in [
            ("INBOX", "INBOX"),
            ("Tom & Jerry", "Tom &- Jerry"),
            ("Entwürfe", "Entw&APw-rfe"),
            ("Gelöschte Elemente", "Gel&APY-schte Elemente"),
            ("Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"),
            ("😀", "&2D3eAA-"),
            ("&&", "&-&-"),
            ("", ""),
        ] {
            assert_eq!(encode_modified_utf7(utf8), wire, "{utf8}");
            assert_eq!(decode_modified_utf7(wire).unwrap(), utf8, "{wire}");
        }
    }

    #[test]
    fn strict_decoding() {
        let bad = [
            ("&", "unterminated"),
            ("&AGE-", "encodes ASCII 'a'"),
            ("&APw-&APw-", "adjacent"),
            ("&APx-", "leftover bits"),
            ("&2D0-", "unpaired surrogate"),
            ("&A-", "too short"),
            ("&AP/-", "'/' is not modified base64"),
            ("caf\u{e9}", "raw 8-bit"),
            ("a\tb", "control"),
        ];
        for (wire, why) in bad {
            assert!(decode_modified_utf7(wire).is_err(), "{wire}: {why}");
        }
        assert_eq!(
            decode_modified_utf7("ab\u{e9}"),
            Err(MailboxNameError::InvalidCharacter {
                character: '\u{e9}',
                offset: 2
            })
        );
        assert_eq!(
            decode_modified_utf7("x&ab"),
            Err(MailboxNameError::Unterminated { offset: 1 })
        );
    }

    #[test]
    fn inbox_is_case_insensitive() {
        assert_eq!(MailboxName::new("InBoX"), MailboxName::inbox());
        assert!(!MailboxName::new("INBOX.Sent").is_inbox());
        assert_eq!(
            MailboxName::new("inbox.Sent")
                .with_inbox_prefix_normalized('.')
                .as_str(),
            "INBOX.Sent"
        );
        assert_eq!(
            MailboxName::new("inboxes.x")
                .with_inbox_prefix_normalized('.')
                .as_str(),
            "inboxes.x"
        );
        assert_eq!(
            MailboxName::new("inbox.a.b").levels('.').next(),
            Some("INBOX")
        );
        assert_eq!(
            MailboxName::new("INBOX.a.b").parent('.').unwrap().as_str(),
            "INBOX.a"
        );
        assert_eq!(MailboxName::new("INBOX").parent('.'), None);
    }

    proptest! {
        #[test]
        fn utf7_round_trip(s in any::<String>()) {
            let wire = encode_modified_utf7(&s);
            prop_assert!(wire.bytes().all(|b| (0x20..=0x7e).contains(&b)));
            prop_assert_eq!(decode_modified_utf7(&wire).unwrap(), s);
        }

        #[test]
        fn decode_never_panics_and_is_canonical(s in "[ -~]{0,40}") {
            if let Ok(text) = decode_modified_utf7(&s) {
                prop_assert_eq!(encode_modified_utf7(&text), s);
            }
        }
    }
}
