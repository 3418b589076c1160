//! UID files: Courier's `courierimapuiddb` (read and written) and Dovecot's
//! `dovecot-uidlist` (read once, on import).
//!
//! `courierimapuiddb` is a header line `1 <uidvalidity> <nextuid>` followed
//! by one `<uid> <base>` line per message, where `<base>` is the file name
//! before its last `:`. Lines Courier would skip are skipped here too.
//!
//! `dovecot-uidlist` version 1 has the same shape; version 3 has the header
//! `3 V<uidvalidity> N<nextuid> [G<guid> ...]` and entries
//! `<uid> [<key><value> ...] :<filename>`.

use std::collections::HashSet;

use crate::error::FormatError;

/// Longest line accepted in a UID file; longer lines are skipped.
const MAX_LINE: usize = 4096;

/// The contents of a UID file: UIDVALIDITY, next UID and the UID of each
/// known message base name, in ascending UID order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UidDb {
    /// The mailbox's UIDVALIDITY (never 0 after parsing).
    pub uid_validity: u32,
    /// The UID the next new message gets; greater than every entry's UID.
    pub next_uid: u32,
    /// `(uid, base)` pairs, strictly ascending by UID, bases unique.
    pub entries: Vec<(u32, String)>,
}

impl UidDb {
    /// Parses `courierimapuiddb` bytes.
    ///
    /// The header must be `1 <uidvalidity> <nextuid>` with a non-zero
    /// UIDVALIDITY; entries that do not parse, repeat a UID or a base, or are
    /// out of order are dropped (their messages get new UIDs, which is what
    /// Courier does with entries it cannot use).
    pub fn parse_courier(bytes: &[u8]) -> Result<UidDb, FormatError> {
        let mut lines = bytes.split(|&b| b == b'\n');
        let header = lines.next().unwrap_or_default();
        let header =
            std::str::from_utf8(header).map_err(|_| FormatError::new(0, "ascii header"))?;
        let mut parts = header.split_ascii_whitespace();
        if parts.next() != Some("1") {
            return Err(FormatError::new(0, "version 1"));
        }
        let uid_validity = parse_u32(parts.next()).ok_or(FormatError::new(2, "uidvalidity"))?;
        let next_uid = parse_u32(parts.next()).ok_or(FormatError::new(2, "next uid"))?;
        let mut db = UidDb::from_header(uid_validity, next_uid)?;
        for (uid, base) in entry_lines(lines) {
            // Courier stores the base (the name before its last `:`) as is.
            db.push_entry(uid, base);
        }
        db.finish();
        Ok(db)
    }

    /// An empty database for a header's UIDVALIDITY and next UID (a next UID
    /// of 0 counts as 1); UIDVALIDITY 0 is refused.
    fn from_header(uid_validity: u32, next_uid: u32) -> Result<UidDb, FormatError> {
        if uid_validity == 0 {
            return Err(FormatError::new(2, "non-zero uidvalidity"));
        }
        Ok(UidDb {
            uid_validity,
            next_uid: next_uid.max(1),
            entries: Vec::new(),
        })
    }

    /// Parses `dovecot-uidlist` bytes (versions 1 and 3; version 2 entries
    /// are read as `<uid> <flags> <filename>`).
    pub fn parse_dovecot(bytes: &[u8]) -> Result<UidDb, FormatError> {
        let mut lines = bytes.split(|&b| b == b'\n');
        let header = lines.next().unwrap_or_default();
        let header =
            std::str::from_utf8(header).map_err(|_| FormatError::new(0, "ascii header"))?;
        let mut parts = header.split_ascii_whitespace();
        let version = parts.next().ok_or(FormatError::new(0, "version"))?;
        let (uid_validity, next_uid) = match version {
            "1" | "2" => (
                parse_u32(parts.next()).ok_or(FormatError::new(2, "uidvalidity"))?,
                parse_u32(parts.next()).ok_or(FormatError::new(2, "next uid"))?,
            ),
            "3" => {
                let mut v = None;
                let mut n = None;
                for p in parts {
                    if let Some(x) = p.strip_prefix('V') {
                        v = parse_u32(Some(x));
                    } else if let Some(x) = p.strip_prefix('N') {
                        n = parse_u32(Some(x));
                    }
                }
                (
                    v.ok_or(FormatError::new(2, "V<uidvalidity>"))?,
                    n.ok_or(FormatError::new(2, "N<nextuid>"))?,
                )
            }
            _ => return Err(FormatError::new(0, "version 1, 2 or 3")),
        };
        let mut db = UidDb::from_header(uid_validity, next_uid)?;
        for (uid, rest) in entry_lines(lines) {
            let filename = match version {
                "3" => match rest.find(':') {
                    // The filename follows the first " :" (or a leading ':').
                    Some(i) if i == 0 || rest.as_bytes()[i - 1] == b' ' => &rest[i + 1..],
                    _ => continue,
                },
                "2" => rest.rsplit(' ').next().unwrap_or(rest),
                _ => rest,
            };
            let base = filename.rsplit_once(':').map_or(filename, |(b, _)| b);
            db.push_entry(uid, base);
        }
        db.finish();
        Ok(db)
    }

    /// Serializes in Courier's format (`1 <uidvalidity> <nextuid>` then
    /// `<uid> <base>` lines).
    pub fn to_courier_bytes(&self) -> Vec<u8> {
        use std::io::Write;
        let lines: usize = self.entries.iter().map(|(_, b)| b.len() + 12).sum();
        let mut out = Vec::with_capacity(32 + lines);
        // Writing to a Vec cannot fail.
        let _ = writeln!(out, "1 {} {}", self.uid_validity, self.next_uid);
        for (uid, base) in &self.entries {
            let _ = write!(out, "{uid} ");
            out.extend_from_slice(base.as_bytes());
            out.push(b'\n');
        }
        out
    }

    fn push_entry(&mut self, uid: u32, base: &str) {
        if uid == 0 || base.is_empty() || base.contains(['\n', '/', '\0']) {
            return;
        }
        self.entries.push((uid, base.to_owned()));
    }

    /// Sorts by UID, drops repeated UIDs and bases (first wins) and makes
    /// `next_uid` greater than every UID present.
    fn finish(&mut self) {
        self.entries.sort_by_key(|(u, _)| *u);
        let mut seen_bases = HashSet::new();
        let mut last = 0;
        self.entries.retain(|(u, b)| {
            let keep = *u > last && seen_bases.insert(b.clone());
            if keep {
                last = *u;
            }
            keep
        });
        if let Some((max, _)) = self.entries.last() {
            if *max >= self.next_uid {
                // A UID at u32::MAX leaves no room: next_uid saturates and
                // the mailbox must get a new UIDVALIDITY before growing.
                self.next_uid = max.saturating_add(1);
            }
        }
    }
}

/// The `<uid> <rest>` data lines of a UID file; empty, over-long, non-UTF-8
/// and malformed lines are skipped, as Courier and Dovecot skip them.
fn entry_lines<'a>(lines: impl Iterator<Item = &'a [u8]>) -> impl Iterator<Item = (u32, &'a str)> {
    lines
        .filter(|line| !line.is_empty() && line.len() <= MAX_LINE)
        .filter_map(|line| std::str::from_utf8(line).ok())
        .filter_map(|line| {
            let (uid, rest) = line.split_once(' ')?;
            Some((parse_u32(Some(uid))?, rest))
        })
}

fn parse_u32(s: Option<&str>) -> Option<u32> {
    let s = s?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn courier_round_trip() {
        let text = b"1 1700000000 5\n1 100.M1P1.host\n3 101.M2P1.host,S=44\n4 102.M3P1.host\n";
        let db = UidDb::parse_courier(text).unwrap();
        assert_eq!(db.uid_validity, 1700000000);
        assert_eq!(db.next_uid, 5);
        assert_eq!(db.entries.len(), 3);
        assert_eq!(db.entries[1], (3, "101.M2P1.host,S=44".to_owned()));
        assert_eq!(db.to_courier_bytes(), text.to_vec());
    }

    #[test]
    fn courier_fixups() {
        let text = b"1 7 2\n9 b\nx y\n4 a\n4 c\n5 a\n\n";
        let db = UidDb::parse_courier(text).unwrap();
        assert_eq!(db.entries, vec![(4, "a".into()), (9, "b".into())]);
        assert_eq!(db.next_uid, 10);
    }

    #[test]
    fn fuzz_colon_in_base_round_trips() {
        // Found by mailbox_uiddb: a base holding ':' must read back as written.
        let db = UidDb::parse_courier(b"1 5 9\n1 9\n3 b:b\n").unwrap();
        assert_eq!(db.entries[1], (3, "b:b".to_owned()));
        assert_eq!(UidDb::parse_courier(&db.to_courier_bytes()).unwrap(), db);
    }

    #[test]
    fn courier_rejects_bad_header() {
        assert!(UidDb::parse_courier(b"").is_err());
        assert!(UidDb::parse_courier(b"2 1 1\n").is_err());
        assert!(UidDb::parse_courier(b"1 0 1\n").is_err());
        assert!(UidDb::parse_courier(b"1 x 1\n").is_err());
    }

    #[test]
    fn dovecot_v3() {
        let text = b"3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n\
25006 W2048 :1276528487.M364837P9451.kurkku,S=1977:2,S\n\
25017 :1276528488.M1P2.kurkku,S=10\n";
        let db = UidDb::parse_dovecot(text).unwrap();
        assert_eq!(db.uid_validity, 1275660208);
        assert_eq!(db.next_uid, 25022);
        assert_eq!(
            db.entries[0],
            (25006, "1276528487.M364837P9451.kurkku,S=1977".into())
        );
        assert_eq!(db.entries[1].0, 25017);
    }

    #[test]
    fn dovecot_v1() {
        let db = UidDb::parse_dovecot(b"1 42 3\n1 a:2,S\n2 b\n").unwrap();
        assert_eq!(db.uid_validity, 42);
        assert_eq!(db.entries, vec![(1, "a".into()), (2, "b".into())]);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = UidDb::parse_courier(&bytes);
            let _ = UidDb::parse_dovecot(&bytes);
        }

        #[test]
        fn round_trip(v in 1u32.., entries in proptest::collection::btree_map(1u32..1_000_000, "[a-zA-Z0-9.,=]{1,20}", 0..20)) {
            let mut db = UidDb { uid_validity: v, next_uid: 1, entries: entries.into_iter().collect() };
            db.finish();
            let parsed = UidDb::parse_courier(&db.to_courier_bytes()).unwrap();
            proptest::prop_assert_eq!(parsed, db);
        }
    }
}
