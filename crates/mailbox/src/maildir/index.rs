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
//! magic   "PRIDX"  version u8 (4)
//! u32 UIDVALIDITY   u32 UIDNEXT
//! u8 1 + 4 × (i64 mtime seconds, u32 nanoseconds, u64 length) of cur/,
//!    new/, courierimapuiddb and courierimapkeywords/ as of the scan the
//!    records come from, or u8 0 when they are not known to match
//! u32 record count
//! record* : u32 uid, v name length, name (file name in cur/),
//!           v size, i64 mtime seconds, u32 mtime nanoseconds (both
//!           all ones bits but the sign, i64::MIN and u32::MAX, when the
//!           time was not read yet: an impossible nanosecond count, which
//!           older readers take for an unusable record),
//!           v RFC822.SIZE + 1 (0 = unknown),
//!           3 × v length + 1 (0 = none), then those values one after
//!           the other: the ENVELOPE and BODYSTRUCTURE in the compact
//!           forms of `codec`, and the postroom-sort key record between
//!           them (so a record's values are one span of the file, which
//!           the mailbox keeps as its in-memory cache, uncopied)
//! u64 checksum of everything before it (see `checksum`)
//! ```
//!
//! `v` is an unsigned LEB128 varint. Records are in ascending UID order.

use super::codec::Reader;

/// The cache file's name inside a folder directory.
pub(crate) const INDEX_FILE: &str = "postroom-index";

const MAGIC: &[u8; 5] = b"PRIDX";
/// Version 4: varint lengths, the compact envelope of `codec`, and
/// BODYSTRUCTURE. Also to be raised whenever the ENVELOPE or
/// BODYSTRUCTURE a message yields changes, so no value built by older
/// code is served from an old file.
const VERSION: u8 = 4;

/// A record's file time when it was not read yet.
const UNREAD_MTIME: (i64, u32) = (i64::MIN, u32::MAX);

/// A file time and length (`None`: absent).
pub(crate) type FileStamp = Option<(i64, u32, u64)>;

/// Which derived value of a message: the ENVELOPE (`codec`), the
/// `postroom-sort` key record, the BODYSTRUCTURE (`codec`).
pub(crate) const ENVELOPE: usize = 0;
/// See [`ENVELOPE`].
pub(crate) const SORT_KEY: usize = 1;
/// See [`ENVELOPE`].
pub(crate) const STRUCTURE: usize = 2;
/// The number of derived values per message.
pub(crate) const DERIVED_KINDS: usize = 3;

/// Where a message's derived values sit in a shared buffer: they follow
/// each other from `start`; a length of [`Spans::NONE`] is "absent".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spans {
    pub(crate) start: usize,
    pub(crate) lens: [u32; DERIVED_KINDS],
}

impl Spans {
    /// The length of an absent value.
    pub(crate) const NONE: u32 = u32::MAX;

    /// Nothing derived.
    pub(crate) const EMPTY: Spans = Spans {
        start: 0,
        lens: [Spans::NONE; DERIVED_KINDS],
    };

    /// Value `kind` within `buf`.
    pub(crate) fn get<'a>(&self, buf: &'a [u8], kind: usize) -> Option<&'a [u8]> {
        let len = *self.lens.get(kind)?;
        if len == Spans::NONE {
            return None;
        }
        let skip: usize = self.lens[..kind]
            .iter()
            .filter(|l| **l != Spans::NONE)
            .map(|l| *l as usize)
            .sum();
        let at = self.start.checked_add(skip)?;
        buf.get(at..at.checked_add(len as usize)?)
    }
}

/// One message as the cache remembers it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct IndexRecord {
    pub(crate) uid: u32,
    /// The file name in `cur/` when the cache was written.
    pub(crate) name: String,
    pub(crate) size: u64,
    /// The file time (`None`: not read yet).
    pub(crate) mtime: Option<(i64, u32)>,
    pub(crate) vsize: Option<u64>,
    /// The derived values, in [`Index::derived`].
    pub(crate) spans: Spans,
}

/// One message to write (borrowed from the mailbox).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordRef<'a> {
    pub(crate) uid: u32,
    pub(crate) name: &'a str,
    pub(crate) size: u64,
    /// The file time (`None`: not read yet).
    pub(crate) mtime: Option<(i64, u32)>,
    pub(crate) vsize: Option<u64>,
    /// ENVELOPE, sort key record, BODYSTRUCTURE (see [`ENVELOPE`]).
    pub(crate) derived: [Option<&'a [u8]>; DERIVED_KINDS],
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
    /// The buffer the records' [`Spans`] point into (the file bytes).
    pub(crate) derived: Vec<u8>,
}

/// A 64-bit checksum (multiply-rotate over four interleaved lanes of
/// 8-byte words, so the multiplications overlap), fast enough for tens of
/// megabytes at open; it detects torn and damaged files, not tampering.
fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let seed = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut lanes = [seed, seed ^ 1, seed ^ 2, seed ^ 3];
    let mut blocks = bytes.chunks_exact(32);
    for b in &mut blocks {
        for (i, lane) in lanes.iter_mut().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i * 8..i * 8 + 8]);
            *lane = (*lane ^ u64::from_le_bytes(w))
                .wrapping_mul(K)
                .rotate_left(29);
        }
    }
    let mut h = lanes
        .iter()
        .fold(0u64, |acc, l| (acc ^ l).wrapping_mul(K).rotate_left(31));
    for chunk in blocks.remainder().chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    h = h.wrapping_mul(K);
    h ^ (h >> 31)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Index {
    /// The file bytes for `records` (in ascending UID order).
    pub(crate) fn encode(
        uid_validity: u32,
        uid_next: u32,
        stamps: Option<[FileStamp; 4]>,
        records: &[RecordRef<'_>],
    ) -> Vec<u8> {
        let derived: usize = records
            .iter()
            .flat_map(|r| r.derived.iter().flatten())
            .map(|d| d.len())
            .sum();
        let mut out = Vec::with_capacity(128 + records.len() * 80 + derived);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&uid_validity.to_le_bytes());
        out.extend_from_slice(&uid_next.to_le_bytes());
        match &stamps {
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
        let n = u32::try_from(records.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&n.to_le_bytes());
        for r in records.iter().take(n as usize) {
            out.extend_from_slice(&r.uid.to_le_bytes());
            put_varint(&mut out, r.name.len() as u64);
            out.extend_from_slice(r.name.as_bytes());
            put_varint(&mut out, r.size);
            let (secs, nanos) = r.mtime.unwrap_or(UNREAD_MTIME);
            out.extend_from_slice(&secs.to_le_bytes());
            out.extend_from_slice(&nanos.to_le_bytes());
            put_varint(&mut out, r.vsize.map_or(0, |v| v.saturating_add(1)));
            // Values of u32::MAX bytes or more are not kept.
            let kept = r
                .derived
                .map(|d| d.filter(|b| b.len() < Spans::NONE as usize));
            for d in &kept {
                put_varint(&mut out, d.map_or(0, |b| b.len() as u64 + 1));
            }
            for b in kept.iter().flatten() {
                out.extend_from_slice(b);
            }
        }
        let sum = checksum(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Decodes the file; `None` when it is not a complete, intact file of
    /// this version (the caller then rebuilds it). One allocation per
    /// record (its name); the derived values stay where they are, in
    /// `bytes`, which the index keeps.
    pub(crate) fn decode(bytes: Vec<u8>) -> Option<Index> {
        let body_len = bytes.len().checked_sub(8)?;
        let (body, sum) = bytes.split_at(body_len);
        if checksum(body) != u64::from_le_bytes(sum.try_into().ok()?) {
            return None;
        }
        let mut r = Reader::new(body);
        if r.take(5)? != MAGIC || r.take(1)? != [VERSION] {
            return None;
        }
        let uid_validity = r.u32()?;
        let uid_next = r.u32()?;
        let stamps = match r.u8()? {
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
        // Every record takes at least 22 bytes.
        if n > r.left() / 22 {
            return None;
        }
        let mut records = Vec::with_capacity(n);
        let mut last_uid = 0u32;
        for _ in 0..n {
            let uid = r.u32()?;
            if uid <= last_uid {
                return None;
            }
            last_uid = uid;
            let len = usize::try_from(r.varint()?).ok()?;
            let name = std::str::from_utf8(r.take(len)?).ok()?.to_owned();
            let size = r.varint()?;
            let secs = r.u64()? as i64;
            let nanos = r.u32()?;
            let vsize = r.varint()?.checked_sub(1);
            let mut lens = [Spans::NONE; DERIVED_KINDS];
            for l in &mut lens {
                if let Some(len) = r.varint()?.checked_sub(1) {
                    *l = u32::try_from(len).ok().filter(|l| *l != Spans::NONE)?;
                }
            }
            let spans = Spans { start: r.pos, lens };
            let total: usize = lens
                .iter()
                .filter(|l| **l != Spans::NONE)
                .map(|l| *l as usize)
                .sum();
            // The values themselves are checked when used (a bad one is
            // rebuilt from the message).
            r.take(total)?;
            records.push(IndexRecord {
                uid,
                name,
                size,
                mtime: Some((secs, nanos)).filter(|t| *t != UNREAD_MTIME),
                vsize,
                spans,
            });
        }
        if !r.at_end() {
            return None;
        }
        Some(Index {
            uid_validity,
            uid_next,
            stamps,
            records,
            derived: bytes,
        })
    }

    /// The records as [`Index::encode`] takes them.
    #[cfg(test)]
    pub(crate) fn record_refs(&self) -> Vec<RecordRef<'_>> {
        self.records
            .iter()
            .map(|r| RecordRef {
                uid: r.uid,
                name: &r.name,
                size: r.size,
                mtime: r.mtime,
                vsize: r.vsize,
                derived: std::array::from_fn(|k| r.spans.get(&self.derived, k)),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::codec::{encode_envelope, encode_structure};
    use super::*;
    use crate::message::Message;
    use postroom_sort::{KeyRecord, RawMessage};
    use postroom_types::{Address, Envelope};

    fn sample() -> Vec<u8> {
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
        })
        .encode();
        let env = encode_envelope(&env);
        let st = encode_structure(
            &Message::parse(b"Content-Type: text/plain; charset=utf-8\r\n\r\nx\r\n")
                .body_structure(true),
        );
        let records = [
            RecordRef {
                uid: 1,
                name: "1.M1P1.h,S=10:2,S",
                size: 10,
                mtime: Some((1_700_000_000, 5)),
                vsize: Some(12),
                derived: [Some(&env), Some(&key), Some(&st)],
            },
            RecordRef {
                uid: 3,
                name: "2.M1P1.h:2,",
                size: 0,
                mtime: Some((-5, 0)),
                vsize: None,
                derived: [None, None, None],
            },
            RecordRef {
                uid: 4,
                name: "3.M1P1.h:2,",
                size: 7,
                mtime: None,
                vsize: None,
                derived: [None, Some(&key), Some(&st)],
            },
        ];
        Index::encode(
            77,
            9,
            Some([Some((1, 2, 3)), None, Some((-4, 0, 7)), None]),
            &records,
        )
    }

    #[test]
    fn round_trip() {
        let bytes = sample();
        let idx = Index::decode(bytes.clone()).unwrap();
        assert_eq!(idx.uid_validity, 77);
        assert_eq!(idx.uid_next, 9);
        assert_eq!(idx.records.len(), 3);
        assert_eq!(idx.records[1].name, "2.M1P1.h:2,");
        assert_eq!(idx.records[0].vsize, Some(12));
        assert_eq!(idx.records[1].spans.get(&idx.derived, ENVELOPE), None);
        assert!(idx.records[2].spans.get(&idx.derived, STRUCTURE).is_some());
        assert_eq!(idx.records[0].mtime, Some((1_700_000_000, 5)));
        assert_eq!(idx.records[1].mtime, Some((-5, 0)));
        // A time not read yet stays unread, not a made-up date.
        assert_eq!(idx.records[2].mtime, None);
        let again = Index::encode(
            idx.uid_validity,
            idx.uid_next,
            idx.stamps,
            &idx.record_refs(),
        );
        assert_eq!(again, bytes);
        let empty = Index::encode(1, 1, None, &[]);
        assert_eq!(Index::decode(empty).unwrap().records, vec![]);
    }

    #[test]
    fn every_truncation_and_bit_flip_is_refused() {
        let bytes = sample();
        for n in 0..bytes.len() {
            assert_eq!(Index::decode(bytes[..n].to_vec()), None, "prefix {n}");
        }
        for i in 0..bytes.len() {
            for bit in [0x01, 0x10, 0x80] {
                let mut b = bytes.clone();
                b[i] ^= bit;
                assert_eq!(Index::decode(b), None, "flip {bit:#x} at {i}");
            }
        }
    }

    #[test]
    fn other_versions_are_refused() {
        for v in [1u8, 2, 3, 5] {
            let mut bytes = sample();
            bytes[5] = v;
            let body = bytes.len() - 8;
            let sum = checksum(&bytes[..body]);
            bytes[body..].copy_from_slice(&sum.to_le_bytes());
            assert_eq!(Index::decode(bytes), None);
        }
    }

    #[test]
    fn uids_out_of_order_are_refused() {
        let env = encode_envelope(&Envelope::default());
        let rec = |uid| RecordRef {
            uid,
            name: "x:2,",
            size: 1,
            mtime: Some((1, 0)),
            vsize: None,
            derived: [Some(&env), None, None],
        };
        let bytes = Index::encode(1, 9, None, &[rec(2), rec(2)]);
        assert_eq!(Index::decode(bytes), None);
        let bytes = Index::encode(1, 9, None, &[rec(2), rec(3)]);
        assert!(Index::decode(bytes).is_some());
    }
}
