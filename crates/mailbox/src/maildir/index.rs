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
//! magic   "PRIDX"  version u8 (2)
//! u32 UIDVALIDITY   u32 UIDNEXT
//! u8 1 + 4 × (i64 mtime seconds, u32 nanoseconds, u64 length) of cur/,
//!    new/, courierimapuiddb and courierimapkeywords/ as of the scan the
//!    records come from, or u8 0 when they are not known to match
//! u32 record count
//! record* : u32 uid, u16 name length, name (file name in cur/),
//!           u64 size, i64 mtime seconds, u32 mtime nanoseconds,
//!           u64 RFC822.SIZE + 1 (0 = unknown),
//!           u32 envelope length + 1 (0 = none), envelope,
//!           u32 sort key length + 1 (0 = none), postroom-sort key record
//! u64 checksum of everything before it (see `checksum`)
//! ```

#[cfg(test)]
use postroom_sort::KeyRecord;
use postroom_types::{Address, Envelope};

/// The cache file's name inside a folder directory.
pub(crate) const INDEX_FILE: &str = "postroom-index";

const MAGIC: &[u8; 5] = b"PRIDX";
const VERSION: u8 = 2;

/// A file time and length (`None`: absent).
pub(crate) type FileStamp = Option<(i64, u32, u64)>;

/// One message as the cache remembers it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct IndexRecord {
    pub(crate) uid: u32,
    /// The file name in `cur/` when the cache was written.
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) mtime: (i64, u32),
    pub(crate) vsize: Option<u64>,
    /// ENVELOPE as [`encode_envelope`] writes it.
    pub(crate) envelope: Option<Box<[u8]>>,
    /// The sort key record as [`KeyRecord::encode`] writes it.
    pub(crate) sort_key: Option<Box<[u8]>>,
}

/// The decoded cache file.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Index {
    pub(crate) uid_validity: u32,
    pub(crate) uid_next: u32,
    /// Stamps of the folder when the records were scanned, if they are
    /// known to describe it.
    pub(crate) stamps: Option<[FileStamp; 4]>,
    pub(crate) records: Vec<IndexRecord>,
}

/// A 64-bit checksum over 8-byte words (multiply-rotate), fast enough
/// for tens of megabytes at open; it detects torn and damaged files, not
/// tampering.
fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        // chunks_exact yields 8-byte slices.
        let v = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        h = (h ^ v).wrapping_mul(K).rotate_left(29);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    h ^ (h >> 31)
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

fn put_opt_slice(out: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        None => out.extend_from_slice(&0u32.to_le_bytes()),
        Some(b) => {
            // Encoded envelopes and key records are far below 4 GiB.
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
        out.extend_from_slice(&self.uid_next.to_le_bytes());
        match &self.stamps {
            None => out.push(0),
            Some(st) => {
                out.push(1);
                for s in st {
                    let (secs, nanos, len) = s.unwrap_or((i64::MIN, 0, 0));
                    out.extend_from_slice(&secs.to_le_bytes());
                    out.extend_from_slice(&nanos.to_le_bytes());
                    out.extend_from_slice(&len.to_le_bytes());
                }
            }
        }
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
            put_opt_slice(&mut out, r.envelope.as_deref());
            put_opt_slice(&mut out, r.sort_key.as_deref());
        }
        let sum = checksum(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Decodes the file; `None` when it is not a complete, intact file of
    /// this version (the caller then rebuilds it).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Index> {
        let body_len = bytes.len().checked_sub(8)?;
        let (body, sum) = bytes.split_at(body_len);
        if checksum(body) != u64::from_le_bytes(sum.try_into().ok()?) {
            return None;
        }
        let mut r = Reader { buf: body, pos: 0 };
        if r.take(5)? != MAGIC || r.take(1)? != [VERSION] {
            return None;
        }
        let uid_validity = r.u32()?;
        let uid_next = r.u32()?;
        let stamps = match r.take(1)?[0] {
            0 => None,
            1 => {
                let mut st = [None; 4];
                for s in &mut st {
                    let secs = r.u64()? as i64;
                    let nanos = r.u32()?;
                    let len = r.u64()?;
                    *s = (secs != i64::MIN).then_some((secs, nanos, len));
                }
                Some(st)
            }
            _ => return None,
        };
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
            // Checked when used (a bad one is rebuilt from the file).
            let envelope = r.opt()?.map(Box::from);
            let sort_key = r.opt()?.map(Box::from);
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
            uid_next,
            stamps,
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
            uid_next: 9,
            stamps: Some([Some((1, 2, 3)), None, Some((-4, 0, 7)), None]),
            records: vec![
                IndexRecord {
                    uid: 1,
                    name: "1.M1P1.h,S=10:2,S".into(),
                    size: 10,
                    mtime: (1_700_000_000, 5),
                    vsize: Some(12),
                    envelope: Some(encode_envelope(&env).into()),
                    sort_key: Some(key.encode().into()),
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
        assert_eq!(Index::decode(&idx.encode()).as_ref(), Some(&idx));
        let empty = Index::default();
        assert_eq!(Index::decode(&empty.encode()), Some(empty));
        let env = &idx.records[0].envelope.as_deref().unwrap();
        let back = decode_envelope(env).unwrap();
        assert_eq!(encode_envelope(&back)[..], env[..]);
        assert!(decode_envelope(&env[..env.len() - 1]).is_none());
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
        bytes[5] = 1;
        let body = bytes.len() - 8;
        let sum = checksum(&bytes[..body]);
        bytes[body..].copy_from_slice(&sum.to_le_bytes());
        assert_eq!(Index::decode(&bytes), None);
    }
}
