//! RFC 2047 encoded-word decoding of unstructured header values.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use charset::Charset;

/// Base64 as found in encoded words: padding optional, stray trailing bits
/// accepted (RFC 2047 §4.1 leaves both to the sender, who often gets them wrong).
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes the RFC 2047 encoded words of a raw header value into UTF-8.
///
/// Text outside encoded words is kept byte for byte (it may be raw 8-bit
/// UTF-8, or invalid). Linear white space between two adjacent encoded words
/// is dropped (RFC 2047 §6.2), and adjacent words in the same charset are
/// decoded together, so a character split across two words survives. An
/// encoded word in an unknown charset, or with a bad encoding, is kept as it
/// stands. Encoded words are recognised even when text touches them, as most
/// mail readers do.
///
/// ```
/// use postroom_sort::decode_encoded_words;
/// assert_eq!(decode_encoded_words(b"=?utf-8?q?Re=3A_caf=C3=A9?= =?iso-8859-1?b?IOk=?="), "Re: café é".as_bytes());
/// ```
pub fn decode_encoded_words(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    // Pending decoded-but-not-converted bytes of adjacent words in one charset.
    let mut pending: Option<(Charset, Vec<u8>)> = None;
    // Whitespace seen since the last encoded word (dropped if another follows).
    let mut gap_start: Option<usize> = None;
    let mut i = 0;
    let mut text_start = 0;
    while i < raw.len() {
        if raw[i] == b'=' && raw.get(i + 1) == Some(&b'?') {
            if let Some((charset, encoding, text, end)) = encoded_word(raw, i) {
                if let Some(bytes) = decode_text(encoding, text) {
                    // Text before this word: whitespace only after a previous
                    // word is dropped; anything else flushes and is copied.
                    let between = &raw[text_start..i];
                    let only_ws = between
                        .iter()
                        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
                    if !(gap_start.is_some() && only_ws) {
                        flush(&mut pending, &mut out);
                        out.extend_from_slice(between);
                    }
                    match &mut pending {
                        Some((cs, buf)) if *cs == charset => buf.extend_from_slice(&bytes),
                        _ => {
                            flush(&mut pending, &mut out);
                            pending = Some((charset, bytes));
                        }
                    }
                    i = end;
                    text_start = end;
                    gap_start = Some(end);
                    continue;
                }
            }
        }
        if !matches!(raw[i], b' ' | b'\t' | b'\r' | b'\n') {
            gap_start = None;
        }
        i += 1;
    }
    flush(&mut pending, &mut out);
    out.extend_from_slice(&raw[text_start..]);
    out
}

fn flush(pending: &mut Option<(Charset, Vec<u8>)>, out: &mut Vec<u8>) {
    if let Some((charset, bytes)) = pending.take() {
        let (text, _had_errors) = charset.decode_without_bom_handling(&bytes);
        out.extend_from_slice(text.as_bytes());
    }
}

/// Parses `=?charset[*lang]?E?text?=` at `start`; returns the charset, the
/// encoding letter, the encoded text and the index after `?=`.
fn encoded_word(raw: &[u8], start: usize) -> Option<(Charset, u8, &[u8], usize)> {
    // RFC 2047 §2: an encoded word is at most 75 characters, but long ones
    // exist in the wild; bound the scan so a stray "=?" costs little.
    const MAX_WORD: usize = 1024;
    let rest = &raw[start + 2..];
    let limit = rest.len().min(MAX_WORD);
    let q1 = rest[..limit].iter().position(|&b| b == b'?')?;
    let label = &rest[..q1];
    let enc = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    let mut j = text_start;
    loop {
        if j >= limit {
            return None;
        }
        match rest[j] {
            b'?' if rest.get(j + 1) == Some(&b'=') => break,
            b'?' | b' ' | b'\t' | b'\r' | b'\n' => return None,
            _ => j += 1,
        }
    }
    // RFC 2231 §5: a language tag may follow the charset after '*'.
    let label = match label.iter().position(|&b| b == b'*') {
        Some(p) => &label[..p],
        None => label,
    };
    if label.is_empty()
        || label
            .iter()
            .any(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    {
        return None;
    }
    let charset = Charset::for_label(label)?;
    Some((
        charset,
        enc.to_ascii_uppercase(),
        &rest[text_start..j],
        start + 2 + j + 2,
    ))
}

fn decode_text(encoding: u8, text: &[u8]) -> Option<Vec<u8>> {
    match encoding {
        b'B' => B64.decode(text).ok(),
        b'Q' => {
            // RFC 2047 §4.2
            let mut out = Vec::with_capacity(text.len());
            let mut k = 0;
            while k < text.len() {
                match text[k] {
                    b'_' => out.push(b' '),
                    b'=' => {
                        let hi = hex(*text.get(k + 1)?)?;
                        let lo = hex(*text.get(k + 2)?)?;
                        out.push(hi << 4 | lo);
                        k += 2;
                    }
                    b => out.push(b),
                }
                k += 1;
            }
            Some(out)
        }
        _ => None,
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &[u8]) -> String {
        String::from_utf8(decode_encoded_words(s)).unwrap()
    }

    #[test]
    fn known_answers() {
        let table: &[(&[u8], &str)] = &[
            (b"plain text", "plain text"),
            (b"=?utf-8?q?b?=", "b"),
            (b"=?iso-8859-1?q?_?=", " "),
            (b"=?iso-8859-1?q?RE:_C?=", "RE: C"),
            (b"=?us-ascii?b?UmU6IGM=?=", "Re: c"),
            (b"=?US-ASCII?B?UmU6IGM?=", "Re: c"),
            (b"=?utf-8?q?B=C3=A9b=C3=A9?= <bebe@x>", "Bébé <bebe@x>"),
            (b"=?ISO-8859-15?Q?=A4?=", "€"),
            (b"=?windows-1252?Q?=80?=", "€"),
            (b"=?windows-1251?B?8O/x?=", "рпс"),
            (b"=?iso-8859-2?q?=B1?=", "ą"),
            (b"=?utf-8*en?q?hi?=", "hi"),
            (b"a =?utf-8?q?x?=  =?utf-8?q?y?= b", "a xy b"),
            (b"=?utf-8?q?x?= z =?utf-8?q?y?=", "x z y"),
            // A UTF-8 character split over two words.
            (b"=?utf-8?b?w6k=?= =?utf-8?q?=C3?= =?utf-8?q?=A9?=", "éé"),
            // Not encoded words: kept.
            (b"=?bogus-charset?q?x?=", "=?bogus-charset?q?x?="),
            (b"=?utf-8?x?abc?=", "=?utf-8?x?abc?="),
            (b"=?utf-8?q?a b?=", "=?utf-8?q?a b?="),
            (b"=?utf-8?q?=ZZ?=", "=?utf-8?q?=ZZ?="),
            (b"=?", "=?"),
            (b"=?utf-8?q?unterminated", "=?utf-8?q?unterminated"),
            (b"x=?utf-8?q?y?=z", "xyz"),
        ];
        for (raw, want) in table {
            assert_eq!(d(raw), *want, "{}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn raw_bytes_kept() {
        assert_eq!(decode_encoded_words(b"caf\xe9"), b"caf\xe9");
    }
}
