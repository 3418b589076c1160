//! Compact binary forms of ENVELOPE and BODYSTRUCTURE values, as the
//! mailbox keeps them in memory and in `postroom-index`.
//!
//! Lengths and numbers are LEB128 varints; an optional value is `0` for
//! none or `length + 1`. In an envelope, `Sender` and `Reply-To` that
//! repeat `From` (RFC 3501 §7.4.2 makes the server fill them so) take one
//! byte. In a structure, a handful of frequent MIME tokens are one-byte
//! references to [`DICT`]. Decoders bound nesting by
//! [`crate::message::MAX_DEPTH`] and every allocation by the bytes left,
//! and refuse trailing bytes: a damaged value decodes as `None` and is
//! rebuilt from the message.

use postroom_types::{
    Address, BodyExtension, BodyFields, BodyStructure, Disposition, Envelope, ExtensionTail,
    LanguageTail, LocationTail, MultipartExtension, SinglePart, SinglePartExtension,
    SinglePartKind,
};

use crate::message::MAX_DEPTH;

/// Frequent strings of MIME structures, written as one-byte references.
/// Part of the file format: entries may be appended (with a new index
/// version), never changed or reordered.
const DICT: &[&str] = &[
    "text",
    "plain",
    "html",
    "multipart",
    "mixed",
    "alternative",
    "related",
    "application",
    "octet-stream",
    "pdf",
    "image",
    "jpeg",
    "png",
    "message",
    "rfc822",
    "charset",
    "utf-8",
    "UTF-8",
    "us-ascii",
    "US-ASCII",
    "iso-8859-1",
    "ISO-8859-1",
    "name",
    "filename",
    "boundary",
    "7bit",
    "8bit",
    "base64",
    "quoted-printable",
    "attachment",
    "inline",
    "format",
    "flowed",
    "delsp",
    "yes",
    "signed",
    "protocol",
    "micalg",
    "report",
    "report-type",
    "delivery-status",
    "calendar",
    "method",
    "binary",
];

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    put_varint(out, n as u64);
}

fn put_opt_bytes(out: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        None => out.push(0),
        Some(b) => {
            put_varint(out, b.len() as u64 + 1);
            out.extend_from_slice(b);
        }
    }
}

/// A string: `2n` then `n` bytes, or `2i + 1` for `DICT[i]`.
fn put_str(out: &mut Vec<u8>, s: &str) {
    put_text(out, s.as_bytes());
}

/// Bytes in the form of [`put_str`] (parameter values may be 8-bit).
fn put_text(out: &mut Vec<u8>, b: &[u8]) {
    match DICT.iter().position(|d| d.as_bytes() == b) {
        Some(i) => put_varint(out, 2 * i as u64 + 1),
        None => {
            put_varint(out, 2 * b.len() as u64);
            out.extend_from_slice(b);
        }
    }
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

fn put_params(out: &mut Vec<u8>, params: &[(String, Vec<u8>)]) {
    put_len(out, params.len());
    for (k, v) in params {
        put_str(out, k);
        put_text(out, v);
    }
}

fn put_addresses(out: &mut Vec<u8>, list: &[Address]) {
    put_len(out, list.len());
    for a in list {
        put_opt_bytes(out, a.name.as_deref());
        put_opt_bytes(out, a.adl.as_deref());
        put_opt_bytes(out, a.mailbox.as_deref());
        put_opt_bytes(out, a.host.as_deref());
    }
}

/// `0` when `list` repeats `from`, else its length + 1 and the addresses.
fn put_addresses_or_from(out: &mut Vec<u8>, list: &[Address], from: &[Address]) {
    if list == from {
        out.push(0);
        return;
    }
    put_varint(out, list.len() as u64 + 1);
    for a in list {
        put_opt_bytes(out, a.name.as_deref());
        put_opt_bytes(out, a.adl.as_deref());
        put_opt_bytes(out, a.mailbox.as_deref());
        put_opt_bytes(out, a.host.as_deref());
    }
}

/// Appends the compact form of an ENVELOPE value.
pub(crate) fn put_envelope(out: &mut Vec<u8>, e: &Envelope) {
    put_opt_bytes(out, e.date.as_deref());
    put_opt_bytes(out, e.subject.as_deref());
    put_addresses(out, &e.from);
    put_addresses_or_from(out, &e.sender, &e.from);
    put_addresses_or_from(out, &e.reply_to, &e.from);
    put_addresses(out, &e.to);
    put_addresses(out, &e.cc);
    put_addresses(out, &e.bcc);
    put_opt_bytes(out, e.in_reply_to.as_deref());
    put_opt_bytes(out, e.message_id.as_deref());
}

/// The compact form of an ENVELOPE value.
pub(crate) fn encode_envelope(e: &Envelope) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    put_envelope(&mut out, e);
    out
}

fn put_tail(out: &mut Vec<u8>, tail: Option<&ExtensionTail>) {
    let Some(t) = tail else {
        out.push(0);
        return;
    };
    out.push(1);
    match &t.disposition {
        None => out.push(0),
        Some(d) => {
            out.push(1);
            put_str(out, &d.kind);
            put_params(out, &d.params);
        }
    }
    let Some(lang) = &t.language else {
        out.push(0);
        return;
    };
    out.push(1);
    put_len(out, lang.languages.len());
    for l in &lang.languages {
        put_str(out, l);
    }
    let Some(loc) = &lang.location else {
        out.push(0);
        return;
    };
    out.push(1);
    put_opt_str(out, loc.location.as_deref());
    put_len(out, loc.extensions.len());
    for x in &loc.extensions {
        put_extension(out, x);
    }
}

fn put_extension(out: &mut Vec<u8>, x: &BodyExtension) {
    // Lists nest; walk them with an explicit stack (no recursion).
    let mut stack: Vec<std::slice::Iter<'_, BodyExtension>> = Vec::new();
    let mut next = Some(x);
    loop {
        if let Some(x) = next.take() {
            match x {
                BodyExtension::NString(s) => {
                    out.push(0);
                    put_opt_str(out, s.as_deref());
                }
                BodyExtension::Number(n) => {
                    out.push(1);
                    put_varint(out, u64::from(*n));
                }
                BodyExtension::List(items) => {
                    out.push(2);
                    put_len(out, items.len());
                    stack.push(items.iter());
                }
            }
        }
        match stack.last_mut() {
            None => return,
            Some(it) => match it.next() {
                Some(x) => next = Some(x),
                None => {
                    stack.pop();
                }
            },
        }
    }
}

/// Appends the compact form of a BODYSTRUCTURE value. Parts nest at most
/// [`MAX_DEPTH`] deep as the message parser builds them; the encoder
/// recurses along that depth.
pub(crate) fn put_structure(out: &mut Vec<u8>, b: &BodyStructure) {
    match b {
        BodyStructure::Single { part, extension } => {
            out.push(0);
            put_str(out, &part.media_type);
            put_str(out, &part.media_subtype);
            let f = &part.fields;
            put_params(out, &f.params);
            put_opt_str(out, f.id.as_deref());
            put_opt_str(out, f.description.as_deref());
            put_str(out, &f.encoding);
            put_varint(out, u64::from(f.octets));
            match &part.kind {
                SinglePartKind::Basic => out.push(0),
                SinglePartKind::Text { lines } => {
                    out.push(1);
                    put_varint(out, u64::from(*lines));
                }
                SinglePartKind::Message {
                    envelope,
                    body,
                    lines,
                } => {
                    out.push(2);
                    put_envelope(out, envelope);
                    put_structure(out, body);
                    put_varint(out, u64::from(*lines));
                }
            }
            match extension {
                None => out.push(0),
                Some(x) => {
                    out.push(1);
                    put_opt_str(out, x.md5.as_deref());
                    put_tail(out, x.tail.as_ref());
                }
            }
        }
        BodyStructure::Multipart {
            parts,
            subtype,
            extension,
        } => {
            out.push(1);
            put_len(out, parts.len());
            for p in parts {
                put_structure(out, p);
            }
            put_str(out, subtype);
            match extension {
                None => out.push(0),
                Some(x) => {
                    out.push(1);
                    put_params(out, &x.params);
                    put_tail(out, x.tail.as_ref());
                }
            }
        }
    }
}

/// The compact form of a BODYSTRUCTURE value.
pub(crate) fn encode_structure(b: &BodyStructure) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    put_structure(&mut out, b);
    out
}

/// A bounds-checked reader.
pub(crate) struct Reader<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.buf.len()
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    pub(crate) fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    /// A varint that counts items of at least `min` bytes each, bounded
    /// by the bytes left (so no allocation exceeds the input).
    pub(crate) fn count(&mut self, min: usize) -> Option<usize> {
        let n = usize::try_from(self.varint()?).ok()?;
        (n.checked_mul(min.max(1))? <= self.left()).then_some(n)
    }

    fn u32_varint(&mut self) -> Option<u32> {
        u32::try_from(self.varint()?).ok()
    }

    pub(crate) fn opt_bytes(&mut self) -> Option<Option<&'a [u8]>> {
        match self.varint()? {
            0 => Some(None),
            n => Some(Some(self.take(usize::try_from(n - 1).ok()?)?)),
        }
    }

    fn opt_vec(&mut self) -> Option<Option<Vec<u8>>> {
        Some(self.opt_bytes()?.map(<[u8]>::to_vec))
    }

    fn text(&mut self) -> Option<Vec<u8>> {
        let v = self.varint()?;
        if v & 1 == 1 {
            return DICT
                .get(usize::try_from(v / 2).ok()?)
                .map(|s| s.as_bytes().to_vec());
        }
        Some(self.take(usize::try_from(v / 2).ok()?)?.to_vec())
    }

    fn str(&mut self) -> Option<String> {
        String::from_utf8(self.text()?).ok()
    }

    fn opt_str(&mut self) -> Option<Option<String>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.str()?)),
            _ => None,
        }
    }

    fn flag(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    fn params(&mut self) -> Option<Vec<(String, Vec<u8>)>> {
        let n = self.count(2)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push((self.str()?, self.text()?));
        }
        Some(out)
    }

    fn address_list(&mut self, n: usize) -> Option<Vec<Address>> {
        if n.checked_mul(4)? > self.left() {
            return None;
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(Address {
                name: self.opt_vec()?,
                adl: self.opt_vec()?,
                mailbox: self.opt_vec()?,
                host: self.opt_vec()?,
            });
        }
        Some(out)
    }

    fn addresses(&mut self) -> Option<Vec<Address>> {
        let n = usize::try_from(self.varint()?).ok()?;
        self.address_list(n)
    }

    fn addresses_or_from(&mut self, from: &[Address]) -> Option<Vec<Address>> {
        match usize::try_from(self.varint()?).ok()? {
            0 => Some(from.to_vec()),
            n => self.address_list(n - 1),
        }
    }

    fn envelope(&mut self) -> Option<Envelope> {
        let date = self.opt_vec()?;
        let subject = self.opt_vec()?;
        let from = self.addresses()?;
        let sender = self.addresses_or_from(&from)?;
        let reply_to = self.addresses_or_from(&from)?;
        Some(Envelope {
            date,
            subject,
            from,
            sender,
            reply_to,
            to: self.addresses()?,
            cc: self.addresses()?,
            bcc: self.addresses()?,
            in_reply_to: self.opt_vec()?,
            message_id: self.opt_vec()?,
        })
    }

    fn tail(&mut self) -> Option<Option<ExtensionTail>> {
        if !self.flag()? {
            return Some(None);
        }
        let disposition = if self.flag()? {
            Some(Disposition {
                kind: self.str()?,
                params: self.params()?,
            })
        } else {
            None
        };
        let language = if self.flag()? {
            let n = self.count(1)?;
            let mut languages = Vec::with_capacity(n);
            for _ in 0..n {
                languages.push(self.str()?);
            }
            let location = if self.flag()? {
                let location = self.opt_str()?;
                let n = self.count(2)?;
                let mut extensions = Vec::with_capacity(n);
                for _ in 0..n {
                    extensions.push(self.extension(0)?);
                }
                Some(LocationTail {
                    location,
                    extensions,
                })
            } else {
                None
            };
            Some(LanguageTail {
                languages,
                location,
            })
        } else {
            None
        };
        Some(Some(ExtensionTail {
            disposition,
            language,
        }))
    }

    fn extension(&mut self, depth: usize) -> Option<BodyExtension> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.u8()? {
            0 => Some(BodyExtension::NString(self.opt_str()?)),
            1 => Some(BodyExtension::Number(self.u32_varint()?)),
            2 => {
                let n = self.count(2)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.extension(depth + 1)?);
                }
                Some(BodyExtension::List(items))
            }
            _ => None,
        }
    }

    fn structure(&mut self, depth: usize) -> Option<BodyStructure> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.u8()? {
            0 => {
                let media_type = self.str()?;
                let media_subtype = self.str()?;
                let fields = BodyFields {
                    params: self.params()?,
                    id: self.opt_str()?,
                    description: self.opt_str()?,
                    encoding: self.str()?,
                    octets: self.u32_varint()?,
                };
                let kind = match self.u8()? {
                    0 => SinglePartKind::Basic,
                    1 => SinglePartKind::Text {
                        lines: self.u32_varint()?,
                    },
                    2 => SinglePartKind::Message {
                        envelope: Box::new(self.envelope()?),
                        body: Box::new(self.structure(depth + 1)?),
                        lines: self.u32_varint()?,
                    },
                    _ => return None,
                };
                let extension = if self.flag()? {
                    Some(SinglePartExtension {
                        md5: self.opt_str()?,
                        tail: self.tail()?,
                    })
                } else {
                    None
                };
                Some(BodyStructure::Single {
                    part: SinglePart {
                        media_type,
                        media_subtype,
                        fields,
                        kind,
                    },
                    extension,
                })
            }
            1 => {
                // Each part takes at least 4 bytes.
                let n = self.count(4)?;
                let mut parts = Vec::with_capacity(n);
                for _ in 0..n {
                    parts.push(self.structure(depth + 1)?);
                }
                let subtype = self.str()?;
                let extension = if self.flag()? {
                    Some(MultipartExtension {
                        params: self.params()?,
                        tail: self.tail()?,
                    })
                } else {
                    None
                };
                Some(BodyStructure::Multipart {
                    parts,
                    subtype,
                    extension,
                })
            }
            _ => None,
        }
    }
}

/// Decodes an ENVELOPE value written by [`encode_envelope`].
pub(crate) fn decode_envelope(bytes: &[u8]) -> Option<Envelope> {
    let mut r = Reader::new(bytes);
    let e = r.envelope()?;
    r.at_end().then_some(e)
}

/// Decodes a BODYSTRUCTURE value written by [`encode_structure`].
pub(crate) fn decode_structure(bytes: &[u8]) -> Option<BodyStructure> {
    let mut r = Reader::new(bytes);
    let b = r.structure(0)?;
    r.at_end().then_some(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    fn envelope() -> Envelope {
        let from = vec![Address::new(Some(b"A"), b"a", b"example.org")];
        Envelope {
            date: Some(b"Tue, 14 Nov 2023 10:00:00 +0000".to_vec()),
            subject: Some(b"hi".to_vec()),
            sender: from.clone(),
            reply_to: vec![Address::new(None, b"r", b"example.org")],
            from,
            to: vec![Address::new(None, b"b", b"example.org")],
            message_id: Some(b"<1@x>".to_vec()),
            ..Envelope::default()
        }
    }

    #[test]
    fn envelopes_round_trip() {
        for e in [envelope(), Envelope::default()] {
            let b = encode_envelope(&e);
            assert_eq!(decode_envelope(&b), Some(e));
            for n in 0..b.len() {
                assert_eq!(decode_envelope(&b[..n]), None, "prefix {n}");
            }
            let mut longer = b.clone();
            longer.push(0);
            assert_eq!(decode_envelope(&longer), None);
        }
    }

    const NESTED: &[u8] = b"From: a@example.org\r\nSubject: outer\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n\
--xx\r\nContent-Type: multipart/alternative; boundary=\"yy\"\r\n\r\n\
--yy\r\nContent-Type: text/plain; charset=utf-8; format=flowed\r\n\r\nhello\r\n\
--yy\r\nContent-Type: text/html; charset=\"iso-8859-1\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>hi=E9</p>\r\n\
--yy--\r\n\
--xx\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n\
From: b@example.org\r\nSubject: inner\r\n\r\ninner body\r\n\
--xx\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\nContent-Disposition: attachment; filename=\"r.pdf\"\r\n\
Content-Language: en, de\r\nContent-Location: http://example.org/r\r\nContent-MD5: abc\r\n\
Content-ID: <id@x>\r\nContent-Description: a report\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n\
--xx--\r\n";

    #[test]
    fn structures_round_trip() {
        let m = Message::parse(NESTED);
        for ext in [true, false] {
            let s = m.body_structure(ext);
            let b = encode_structure(&s);
            assert_eq!(decode_structure(&b).as_ref(), Some(&s));
            for n in 0..b.len() {
                assert_eq!(decode_structure(&b[..n]), None, "prefix {n}");
            }
        }
        let plain = Message::parse(b"Subject: x\r\n\r\nbody\r\n").body_structure(true);
        assert_eq!(decode_structure(&encode_structure(&plain)), Some(plain));
    }

    #[test]
    fn extension_lists_round_trip() {
        let s = BodyStructure::Single {
            part: SinglePart {
                media_type: "TEXT".into(),
                media_subtype: "x-é".into(),
                fields: BodyFields {
                    // An 8-bit parameter value, and one from the dictionary.
                    params: vec![
                        ("name".into(), vec![0xe9, b'x']),
                        ("charset".into(), b"utf-8".to_vec()),
                    ],
                    ..BodyFields::default()
                },
                kind: SinglePartKind::Basic,
            },
            extension: Some(SinglePartExtension {
                md5: None,
                tail: Some(ExtensionTail {
                    disposition: None,
                    language: Some(LanguageTail {
                        languages: vec![],
                        location: Some(LocationTail {
                            location: None,
                            extensions: vec![
                                BodyExtension::Number(7),
                                BodyExtension::List(vec![
                                    BodyExtension::NString(None),
                                    BodyExtension::List(vec![BodyExtension::NString(Some(
                                        "a".into(),
                                    ))]),
                                    BodyExtension::Number(u32::MAX),
                                ]),
                            ],
                        }),
                    }),
                }),
            }),
        };
        assert_eq!(decode_structure(&encode_structure(&s)).as_ref(), Some(&s));
    }

    #[test]
    fn deep_nesting_is_refused() {
        // MAX_DEPTH + 2 multiparts of one part each.
        let mut b = Vec::new();
        for _ in 0..MAX_DEPTH + 2 {
            b.extend_from_slice(&[1, 1]);
        }
        assert_eq!(decode_structure(&b), None);
        let mut x = Vec::new();
        for _ in 0..10_000 {
            x.extend_from_slice(&[2, 1]);
        }
        let mut r = Reader::new(&x);
        assert_eq!(r.extension(0), None);
    }

    #[test]
    fn arbitrary_bytes_do_not_panic() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed % 7) as u8
                })
                .collect();
            let _ = decode_structure(&bytes);
            let _ = decode_envelope(&bytes);
        }
    }
}
