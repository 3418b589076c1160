//! `postroom-index`: postroom's own per-folder cache file.
//!
//! It is a cache, never the authority: the Maildir files and
//! `courierimapuiddb` are. A record is used only when its UID and file base
//! name agree with the UID file, the file is ignored (and rewritten later)
//! when its version, checksum or UIDVALIDITY does not match, and it is
//! written atomically (temporary file, fsync, rename), so a crash at any
//! point can at worst make the next open slower.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! magic   "PRIDX"  version u8 (1)
//! u32 UIDVALIDITY   u32 record count
//! record* : u32 uid, u16 name length, name (file name in cur/),
//!           u64 size, i64 mtime seconds, u32 mtime nanoseconds,
//!           u64 RFC822.SIZE + 1 (0 = unknown),
//!           u32 envelope length + 1 (0 = none), envelope,
//!           u32 sort key length + 1 (0 = none), postroom-sort key record
//! u64 FNV-1a checksum of everything before it
//! ```

use std::sync::Arc;

use postroom_sort::KeyRecord;
use postroom_types::{Address, Envelope};

/// The cache file's name inside a folder directory.
pub(crate) const INDEX_FILE: &str = "postroom-index";

const MAGIC: &[u8; 5] = b"PRIDX";
const VERSION: u8 = 1;

/// One message as the cache remembers it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct IndexRecord {
    pub(crate) uid: u32,
    /// The file name in `cur/` when the cache was written.
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) mtime: (i64, u32),
    pub(crate) vsize: Option<u64>,
    pub(crate) envelope: Option<Arc<Envelope>>,
    pub(crate) sort_key: Option<Arc<KeyRecord>>,
}

/// The decoded cache file.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Index {
    pub(crate) uid_validity: u32,
    pub(crate) records: Vec<IndexRecord>,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn put_opt_bytes(out: &mut Vec<u8>, v: &Option<Vec<u8>>) {
    match v {
        None => out.extend_from_slice(&0u32.to_le_bytes()),
        Some(b) => {
            // Lengths of header values are far below u32::MAX - 1 (header
            // reads stop at 1 MiB).
            let len = u32::try_from(b.len()).unwrap_or(u32::MAX - 1);
            out.extend_from_slice(&(len + 1).to_le_bytes());
            out.extend_from_slice(&b[..len as usize]);
        }
    }
}

fn put_addresses(out: &mut Vec<u8>, list: &[Address]) {
    let n = u32::try_from(list.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_le_bytes());
    for a in list.iter().take(n as usize) {
        put_opt_bytes(out, &a.name);
        put_opt_bytes(out, &a.adl);
        put_opt_bytes(out, &a.mailbox);
        put_opt_bytes(out, &a.host);
    }
}

/// Encodes an ENVELOPE value.
pub(crate) fn encode_envelope(e: &Envelope) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    put_opt_bytes(&mut out, &e.date);
    put_opt_bytes(&mut out, &e.subject);
    for list in [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc] {
        put_addresses(&mut out, list);
    }
    put_opt_bytes(&mut out, &e.in_reply_to);
    put_opt_bytes(&mut out, &e.message_id);
    out
}

/// A bounds-checked reader over the file bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A `length + 1` prefixed value (0 = none).
    fn opt(&mut self) -> Option<Option<&'a [u8]>> {
        match self.u32()? {
            0 => Some(None),
            n => Some(Some(self.take(n as usize - 1)?)),
        }
    }

    fn opt_vec(&mut self) -> Option<Option<Vec<u8>>> {
        Some(self.opt()?.map(<[u8]>::to_vec))
    }

    fn addresses(&mut self) -> Option<Vec<Address>> {
        let n = self.u32()? as usize;
        // Each address takes at least 16 bytes: bound the allocation by
        // what is left.
        if n > (self.buf.len() - self.pos) / 16 {
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
}

/// Decodes an ENVELOPE value written by [`encode_envelope`].
pub(crate) fn decode_envelope(bytes: &[u8]) -> Option<Envelope> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let e = Envelope {
        date: r.opt_vec()?,
        subject: r.opt_vec()?,
        from: r.addresses()?,
        sender: r.addresses()?,
        reply_to: r.addresses()?,
        to: r.addresses()?,
        cc: r.addresses()?,
        bcc: r.addresses()?,
        in_reply_to: r.opt_vec()?,
        message_id: r.opt_vec()?,
    };
    (r.pos == bytes.len()).then_some(e)
}

impl Index {
    /// The file bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.records.len() * 320);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.uid_validity.to_le_bytes());
        let n = u32::try_from(self.records.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&n.to_le_bytes());
        for r in self.records.iter().take(n as usize) {
            out.extend_from_slice(&r.uid.to_le_bytes());
            // Maildir file names are far shorter than 64 KiB (NAME_MAX).
            let name = &r.name.as_bytes()[..r.name.len().min(u16::MAX as usize)];
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(name);
            out.extend_from_slice(&r.size.to_le_bytes());
            out.extend_from_slice(&r.mtime.0.to_le_bytes());
            out.extend_from_slice(&r.mtime.1.to_le_bytes());
            let vsize = r.vsize.map_or(0, |v| v.saturating_add(1));
            out.extend_from_slice(&vsize.to_le_bytes());
            let env = r.envelope.as_deref().map(encode_envelope);
            put_opt_bytes(&mut out, &env);
            let key = r.sort_key.as_deref().map(KeyRecord::encode);
            put_opt_bytes(&mut out, &key);
        }
        let sum = fnv1a(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Decodes the file; `None` when it is not a complete, intact file of
    /// this version (the caller then rebuilds it).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Index> {
        let body_len = bytes.len().checked_sub(8)?;
        let (body, sum) = bytes.split_at(body_len);
        if fnv1a(body) != u64::from_le_bytes(sum.try_into().ok()?) {
            return None;
        }
        let mut r = Reader { buf: body, pos: 0 };
        if r.take(5)? != MAGIC || r.take(1)? != [VERSION] {
            return None;
        }
        let uid_validity = r.u32()?;
        let n = r.u32()? as usize;
        // Every record takes at least 42 bytes.
        if n > body.len() / 42 {
            return None;
        }
        let mut records = Vec::with_capacity(n);
        for _ in 0..n {
            let uid = r.u32()?;
            let len = r.u16()? as usize;
            let name = String::from_utf8(r.take(len)?.to_vec()).ok()?;
            let size = r.u64()?;
            let secs = r.u64()? as i64;
            let nanos = r.u32()?;
            let vsize = r.u64()?.checked_sub(1);
            let envelope = match r.opt()? {
                None => None,
                Some(b) => Some(Arc::new(decode_envelope(b)?)),
            };
            let sort_key = match r.opt()? {
                None => None,
                Some(b) => Some(Arc::new(KeyRecord::decode(b).ok()?)),
            };
            records.push(IndexRecord {
                uid,
                name,
                size,
                mtime: (secs, nanos),
                vsize,
                envelope,
                sort_key,
            });
        }
        (r.pos == body.len()).then_some(Index {
            uid_validity,
            records,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postroom_sort::RawMessage;

    fn sample() -> Index {
        let env = Envelope {
            date: Some(b"Tue, 14 Nov 2023 10:00:00 +0000".to_vec()),
            subject: Some(b"hi".to_vec()),
            from: vec![Address::new(Some(b"A"), b"a", b"example.org")],
            to: vec![Address::new(None, b"b", b"example.org")],
            message_id: Some(b"<1@x>".to_vec()),
            ..Envelope::default()
        };
        let key = KeyRecord::from_raw(&RawMessage {
            number: 1,
            internal_date: 5,
            size: 10,
            subject: Some(b"Re: hi"),
            ..RawMessage::default()
        });
        Index {
            uid_validity: 77,
            records: vec![
                IndexRecord {
                    uid: 1,
                    name: "1.M1P1.h,S=10:2,S".into(),
                    size: 10,
                    mtime: (1_700_000_000, 5),
                    vsize: Some(12),
                    envelope: Some(Arc::new(env)),
                    sort_key: Some(Arc::new(key)),
                },
                IndexRecord {
                    uid: 3,
                    name: "2.M1P1.h:2,".into(),
                    size: 0,
                    mtime: (-5, 0),
                    vsize: None,
                    envelope: None,
                    sort_key: None,
                },
            ],
        }
    }

    #[test]
    fn round_trip() {
        let idx = sample();
        assert_eq!(Index::decode(&idx.encode()), Some(idx));
        let empty = Index::default();
        assert_eq!(Index::decode(&empty.encode()), Some(empty));
    }

    #[test]
    fn every_truncation_and_bit_flip_is_refused() {
        let bytes = sample().encode();
        for n in 0..bytes.len() {
            assert_eq!(Index::decode(&bytes[..n]), None, "prefix {n}");
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            assert_eq!(Index::decode(&b), None, "flip at {i}");
        }
    }

    #[test]
    fn other_versions_are_refused() {
        let mut bytes = sample().encode();
        bytes[5] = 2;
        let body = bytes.len() - 8;
        let sum = fnv1a(&bytes[..body]);
        bytes[body..].copy_from_slice(&sum.to_le_bytes());
        assert_eq!(Index::decode(&bytes), None);
    }
}
