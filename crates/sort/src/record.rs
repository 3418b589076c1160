//! The per-message input record and the cached key record built from it.

use crate::address::first_mailbox;
use crate::casemap::casemap;
use crate::date::parse_date;
use crate::error::KeyRecordError;
use crate::msgid::{MessageId, first_message_id, hash_bytes, parse_message_ids};
use crate::subject::base_subject;

/// What SORT and THREAD need to know about one message, as stored: its
/// number, INTERNALDATE, RFC822.SIZE and the raw values of eight header
/// fields (without the field name and colon; folding may be left in).
/// A missing header is `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawMessage<'a> {
    /// Sequence number or UID; whichever is given is what results contain.
    pub number: u32,
    /// INTERNALDATE as seconds since the Unix epoch (UTC).
    pub internal_date: i64,
    /// RFC822.SIZE in octets.
    pub size: u64,
    /// `Date`
    pub date: Option<&'a [u8]>,
    /// `Subject`
    pub subject: Option<&'a [u8]>,
    /// `From`
    pub from: Option<&'a [u8]>,
    /// `To`
    pub to: Option<&'a [u8]>,
    /// `Cc`
    pub cc: Option<&'a [u8]>,
    /// `Message-ID`
    pub message_id: Option<&'a [u8]>,
    /// `In-Reply-To`
    pub in_reply_to: Option<&'a [u8]>,
    /// `References`
    pub references: Option<&'a [u8]>,
}

/// The parsed sort and thread keys of one message, independent of its
/// sequence number: compute it once per message with
/// [`KeyRecord::from_raw`], keep it (in memory, or on disk with
/// [`KeyRecord::encode`] / [`KeyRecord::decode`]) and pass it to
/// [`crate::sort`] and [`crate::thread`] with the message's current number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    subject: Box<[u8]>,
    /// `hash_bytes(subject)`, derived (not serialised).
    subject_hash: u64,
    reply: bool,
    sent_date: i64,
    internal_date: i64,
    size: u64,
    from: Box<[u8]>,
    to: Box<[u8]>,
    cc: Box<[u8]>,
    message_id: Option<MessageId>,
    references: Box<[MessageId]>,
}

/// Version byte of [`KeyRecord::encode`]'s format.
const FORMAT_V1: u8 = 1;

impl KeyRecord {
    /// Parses the raw header values of a message (RFC 2047 decoding, base
    /// subject, casemapping, addresses, dates, message ids).
    pub fn from_raw(raw: &RawMessage<'_>) -> KeyRecord {
        let base = base_subject(raw.subject.unwrap_or_default());
        // RFC 5256 §3 (REFERENCES): the References ids if there is at least
        // one valid one, else the first valid In-Reply-To id.
        let mut references = raw.references.map(parse_message_ids).unwrap_or_default();
        if references.is_empty() {
            references.extend(raw.in_reply_to.and_then(first_message_id));
        }
        let address = |v: Option<&[u8]>| casemap(&first_mailbox(v.unwrap_or_default())).into();
        let subject: Box<[u8]> = casemap(&base.text).into();
        KeyRecord {
            subject_hash: hash_bytes(&subject),
            subject,
            reply: base.is_reply_or_forward,
            // RFC 5256 §2.2: INTERNALDATE when the Date cannot be determined.
            sent_date: raw.date.and_then(parse_date).unwrap_or(raw.internal_date),
            internal_date: raw.internal_date,
            size: raw.size,
            from: address(raw.from),
            to: address(raw.to),
            cc: address(raw.cc),
            message_id: raw.message_id.and_then(first_message_id),
            references: references.into(),
        }
    }

    /// The base subject (RFC 5256 §2.1), prepared for i;unicode-casemap.
    pub fn subject(&self) -> &[u8] {
        &self.subject
    }

    /// A stable 64-bit hash of [`KeyRecord::subject`].
    pub fn subject_hash(&self) -> u64 {
        self.subject_hash
    }

    /// Whether base subject extraction found a reply or forward.
    pub fn is_reply_or_forward(&self) -> bool {
        self.reply
    }

    /// The sent date (RFC 5256 §2.2), seconds since the Unix epoch (UTC).
    pub fn sent_date(&self) -> i64 {
        self.sent_date
    }

    /// INTERNALDATE, seconds since the Unix epoch (UTC).
    pub fn internal_date(&self) -> i64 {
        self.internal_date
    }

    /// RFC822.SIZE.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The casemapped addr-mailbox of the first From address ("" if none).
    pub fn from(&self) -> &[u8] {
        &self.from
    }

    /// The casemapped addr-mailbox of the first To address ("" if none).
    pub fn to(&self) -> &[u8] {
        &self.to
    }

    /// The casemapped addr-mailbox of the first Cc address ("" if none).
    pub fn cc(&self) -> &[u8] {
        &self.cc
    }

    /// The message's own valid Message-ID, if any.
    pub fn message_id(&self) -> Option<&MessageId> {
        self.message_id.as_ref()
    }

    /// The parent candidates for THREAD=REFERENCES, oldest first.
    pub fn references(&self) -> &[MessageId] {
        &self.references
    }

    /// Serialises the record in a compact, versioned byte format (version
    /// byte, flags, variable-length integers, length-prefixed strings).
    ///
    /// ```
    /// use postroom_sort::{KeyRecord, RawMessage};
    /// let k = KeyRecord::from_raw(&RawMessage { subject: Some(b"Re: hi"), ..Default::default() });
    /// assert_eq!(KeyRecord::decode(&k.encode()), Ok(k));
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            24 + self.subject.len()
                + self.from.len()
                + self.to.len()
                + self.cc.len()
                + self
                    .references
                    .iter()
                    .map(|r| r.as_bytes().len() + 2)
                    .sum::<usize>(),
        );
        out.push(FORMAT_V1);
        out.push(u8::from(self.reply) | (u8::from(self.message_id.is_some()) << 1));
        put_varint(&mut out, zigzag(self.sent_date));
        put_varint(&mut out, zigzag(self.internal_date));
        put_varint(&mut out, self.size);
        for s in [&self.subject, &self.from, &self.to, &self.cc] {
            put_bytes(&mut out, s);
        }
        if let Some(id) = &self.message_id {
            put_bytes(&mut out, id.as_bytes());
        }
        put_varint(&mut out, self.references.len() as u64);
        for r in self.references.iter() {
            put_bytes(&mut out, r.as_bytes());
        }
        out
    }

    /// Reads a record written by [`KeyRecord::encode`]. Never panics; any
    /// malformed input is an error naming the byte offset, and allocation is
    /// bounded by the input length.
    pub fn decode(bytes: &[u8]) -> Result<KeyRecord, KeyRecordError> {
        let mut r = Reader { b: bytes, i: 0 };
        let version = r.byte()?;
        if version != FORMAT_V1 {
            return Err(KeyRecordError::UnknownVersion { version });
        }
        let flags_at = r.i;
        let flags = r.byte()?;
        if flags & !0b11 != 0 {
            return Err(KeyRecordError::Invalid {
                offset: flags_at,
                expected: "flags 0 to 3",
            });
        }
        let sent_date = unzigzag(r.varint()?);
        let internal_date = unzigzag(r.varint()?);
        let size = r.varint()?;
        let subject: Box<[u8]> = r.bytes()?.into();
        let from = r.bytes()?.into();
        let to = r.bytes()?.into();
        let cc = r.bytes()?.into();
        let message_id = if flags & 2 != 0 {
            Some(MessageId::from_normalized(r.bytes()?))
        } else {
            None
        };
        let count_at = r.i;
        let count = r.varint()?;
        // Each reference takes at least one byte: bound the allocation.
        if count > (bytes.len() - r.i) as u64 {
            return Err(KeyRecordError::Invalid {
                offset: count_at,
                expected: "a reference count no larger than the remaining bytes",
            });
        }
        let mut references = Vec::with_capacity(count as usize);
        for _ in 0..count {
            references.push(MessageId::from_normalized(r.bytes()?));
        }
        if r.i != bytes.len() {
            return Err(KeyRecordError::TrailingBytes { offset: r.i });
        }
        Ok(KeyRecord {
            subject_hash: hash_bytes(&subject),
            subject,
            reply: flags & 1 != 0,
            sent_date,
            internal_date,
            size,
            from,
            to,
            cc,
            message_id,
            references: references.into(),
        })
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, KeyRecordError> {
        let b = *self
            .b
            .get(self.i)
            .ok_or(KeyRecordError::Truncated { offset: self.i })?;
        self.i += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, KeyRecordError> {
        let start = self.i;
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                break;
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(KeyRecordError::Invalid {
            offset: start,
            expected: "a variable-length integer of at most 64 bits",
        })
    }

    fn bytes(&mut self) -> Result<&'a [u8], KeyRecordError> {
        let at = self.i;
        let len = self.varint()?;
        let remaining = (self.b.len() - self.i) as u64;
        if len > remaining {
            return Err(KeyRecordError::Truncated { offset: at });
        }
        let len = len as usize; // fits: no larger than the slice length
        let out = &self.b[self.i..self.i + len];
        self.i += len;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> KeyRecord {
        KeyRecord::from_raw(&RawMessage {
            number: 7,
            internal_date: -5,
            size: 1234,
            date: Some(b"Mon, 01 Jan 2024 10:00:00 +0000"),
            subject: Some(b"Re: [list] =?utf-8?q?caf=C3=A9?="),
            from: Some(b"\"A\" <alice@x>"),
            to: Some(b"bob@y"),
            cc: None,
            message_id: Some(b"<m1@x>"),
            in_reply_to: Some(b"<p@x>"),
            references: Some(b"<r1@x> <r2@x>"),
        })
    }

    #[test]
    fn fields() {
        let k = sample();
        assert_eq!(k.subject(), "CAFE\u{301}".as_bytes());
        assert!(k.is_reply_or_forward());
        assert_eq!(k.sent_date(), 1_704_103_200);
        assert_eq!(k.internal_date(), -5);
        assert_eq!(k.size(), 1234);
        assert_eq!(k.from(), b"ALICE");
        assert_eq!(k.to(), b"BOB");
        assert_eq!(k.cc(), b"");
        assert_eq!(k.message_id().unwrap().as_bytes(), b"m1@x");
        let refs: Vec<&[u8]> = k.references().iter().map(|r| r.as_bytes()).collect();
        assert_eq!(refs, [&b"r1@x"[..], b"r2@x"]);
    }

    #[test]
    fn in_reply_to_fallback_and_internal_date() {
        let k = KeyRecord::from_raw(&RawMessage {
            internal_date: 99,
            date: Some(b"garbage"),
            in_reply_to: Some(b"junk <a@b> <c@d>"),
            references: Some(b"garbage"),
            ..Default::default()
        });
        assert_eq!(k.sent_date(), 99);
        let refs: Vec<&[u8]> = k.references().iter().map(|r| r.as_bytes()).collect();
        assert_eq!(refs, [&b"a@b"[..]]);
    }

    #[test]
    fn round_trip_and_errors() {
        let k = sample();
        let bytes = k.encode();
        assert_eq!(KeyRecord::decode(&bytes), Ok(k.clone()));
        for cut in 0..bytes.len() {
            assert!(KeyRecord::decode(&bytes[..cut]).is_err(), "prefix {cut}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(
            KeyRecord::decode(&extra),
            Err(KeyRecordError::TrailingBytes {
                offset: bytes.len()
            })
        );
        assert_eq!(
            KeyRecord::decode(&[9]),
            Err(KeyRecordError::UnknownVersion { version: 9 })
        );
        // An absurd reference count does not allocate.
        let mut huge = vec![FORMAT_V1, 0, 0, 0, 0, 0, 0, 0, 0];
        huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert!(KeyRecord::decode(&huge).is_err());
        // Over-long varint.
        let mut long = vec![FORMAT_V1, 0];
        long.extend_from_slice(&[0xff; 11]);
        assert!(matches!(
            KeyRecord::decode(&long),
            Err(KeyRecordError::Invalid { offset: 2, .. })
        ));
    }

    #[test]
    fn zigzag_extremes() {
        for v in [0, 1, -1, i64::MIN, i64::MAX, 1_700_000_000] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }
}
