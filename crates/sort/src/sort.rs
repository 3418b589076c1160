//! SORT (RFC 5256 §3).

use std::cmp::Ordering;

use crate::error::SortError;
use crate::record::KeyRecord;

/// A SORT key (RFC 5256 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SortKey {
    /// INTERNALDATE, with time.
    Arrival,
    /// addr-mailbox of the first Cc address.
    Cc,
    /// The sent date (RFC 5256 §2.2).
    Date,
    /// addr-mailbox of the first From address.
    From,
    /// RFC822.SIZE.
    Size,
    /// The base subject (RFC 5256 §2.1).
    Subject,
    /// addr-mailbox of the first To address.
    To,
}

/// One sort criterion: a key, optionally with `REVERSE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SortCriterion {
    /// The key.
    pub key: SortKey,
    /// `REVERSE`: descending order for this key only.
    pub reverse: bool,
}

impl SortCriterion {
    /// An ascending criterion.
    pub fn asc(key: SortKey) -> SortCriterion {
        SortCriterion {
            key,
            reverse: false,
        }
    }

    /// A `REVERSE` criterion.
    pub fn desc(key: SortKey) -> SortCriterion {
        SortCriterion { key, reverse: true }
    }
}

/// Checks a SORT/THREAD search charset: US-ASCII and UTF-8 are supported
/// (RFC 5256 §3 requires both), any other name is [`SortError::BadCharset`].
///
/// ```
/// use postroom_sort::check_charset;
/// assert!(check_charset("utf-8").is_ok());
/// assert!(check_charset("KOI8-XX").is_err());
/// ```
pub fn check_charset(charset: &str) -> Result<(), SortError> {
    if charset.eq_ignore_ascii_case("UTF-8") || charset.eq_ignore_ascii_case("US-ASCII") {
        Ok(())
    } else {
        Err(SortError::BadCharset {
            charset: charset.to_owned(),
        })
    }
}

/// Sorts messages by the criteria in priority order (RFC 5256 §3) and returns
/// their numbers.
///
/// Each message is its number (sequence number or UID) and key record. Equal
/// messages under all criteria are ordered by ascending number, and `REVERSE`
/// does not reverse that final tie-break. Strings compare with
/// i;unicode-casemap; an absent header compares as the empty string.
///
/// ```
/// use postroom_sort::{KeyRecord, RawMessage, SortCriterion, SortKey, sort};
/// let a = KeyRecord::from_raw(&RawMessage { size: 20, ..Default::default() });
/// let b = KeyRecord::from_raw(&RawMessage { size: 10, ..Default::default() });
/// let msgs = [(1, &a), (2, &b), (3, &a)];
/// assert_eq!(sort(&msgs, &[SortCriterion::asc(SortKey::Size)]), [2, 1, 3]);
/// assert_eq!(sort(&msgs, &[SortCriterion::desc(SortKey::Size)]), [1, 3, 2]);
/// ```
pub fn sort(messages: &[(u32, &KeyRecord)], criteria: &[SortCriterion]) -> Vec<u32> {
    // Sort a compact array: the first criterion as a 64-bit prefix (exact
    // for numbers, the first 8 bytes for strings) plus the index, so most
    // comparisons touch neither the records nor the strings.
    let first = criteria.first().copied();
    let mut items: Vec<(u64, u32)> = messages
        .iter()
        .enumerate()
        .map(|(i, (_, k))| (first.map_or(0, |c| prefix(c, k)), i as u32))
        .collect();
    let rest = if criteria.is_empty() {
        criteria
    } else {
        &criteria[1..]
    };
    items.sort_unstable_by(|&(pa, ia), &(pb, ib)| {
        let (na, ka) = messages[ia as usize];
        let (nb, kb) = messages[ib as usize];
        pa.cmp(&pb)
            .then_with(|| match first {
                Some(c) if c.key.is_string() => directed(c, compare_key(c.key, ka, kb)),
                _ => Ordering::Equal,
            })
            .then_with(|| compare(rest, ka, kb))
            .then(na.cmp(&nb))
    });
    items
        .into_iter()
        .map(|(_, i)| messages[i as usize].0)
        .collect()
}

/// Compares two records by the criteria (without the final number tie-break).
pub fn compare(criteria: &[SortCriterion], a: &KeyRecord, b: &KeyRecord) -> Ordering {
    for &c in criteria {
        let o = directed(c, compare_key(c.key, a, b));
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn directed(c: SortCriterion, o: Ordering) -> Ordering {
    if c.reverse { o.reverse() } else { o }
}

impl SortKey {
    fn is_string(self) -> bool {
        matches!(
            self,
            SortKey::Cc | SortKey::From | SortKey::Subject | SortKey::To
        )
    }
}

fn compare_key(key: SortKey, a: &KeyRecord, b: &KeyRecord) -> Ordering {
    match key {
        SortKey::Arrival => a.internal_date().cmp(&b.internal_date()),
        SortKey::Cc => a.cc().cmp(b.cc()),
        SortKey::Date => a.sent_date().cmp(&b.sent_date()),
        SortKey::From => a.from().cmp(b.from()),
        SortKey::Size => a.size().cmp(&b.size()),
        SortKey::Subject => a.subject().cmp(b.subject()),
        SortKey::To => a.to().cmp(b.to()),
    }
}

/// A 64-bit value whose order is the criterion's order (direction included)
/// as far as it goes; equal prefixes fall back to the full comparison.
fn prefix(c: SortCriterion, k: &KeyRecord) -> u64 {
    let v = match c.key {
        SortKey::Arrival => (k.internal_date() as u64) ^ (1 << 63),
        SortKey::Date => (k.sent_date() as u64) ^ (1 << 63),
        SortKey::Size => k.size(),
        SortKey::Cc => string_prefix(k.cc()),
        SortKey::From => string_prefix(k.from()),
        SortKey::Subject => string_prefix(k.subject()),
        SortKey::To => string_prefix(k.to()),
    };
    if c.reverse { !v } else { v }
}

fn string_prefix(s: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = s.len().min(8);
    w[..n].copy_from_slice(&s[..n]);
    u64::from_be_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RawMessage;

    #[test]
    fn charsets() {
        assert!(check_charset("US-ASCII").is_ok());
        assert!(check_charset("us-ascii").is_ok());
        assert!(check_charset("UTF-8").is_ok());
        assert_eq!(
            check_charset("KOI8-XX"),
            Err(SortError::BadCharset {
                charset: "KOI8-XX".into()
            })
        );
    }

    #[test]
    fn string_prefix_consistent_with_bytes() {
        // Prefix order never contradicts byte order.
        let words: &[&[u8]] = &[
            b"",
            b"\0",
            b"A",
            b"AB",
            b"AB\0",
            b"ABCDEFGH",
            b"ABCDEFGHI",
            b"ABCDEFGH\0",
        ];
        for a in words {
            for b in words {
                let (pa, pb) = (string_prefix(a), string_prefix(b));
                if pa != pb {
                    assert_eq!(pa.cmp(&pb), a.cmp(b));
                }
            }
        }
    }

    #[test]
    fn no_criteria_is_number_order() {
        let k = KeyRecord::from_raw(&RawMessage::default());
        assert_eq!(sort(&[(3, &k), (1, &k), (2, &k)], &[]), [1, 2, 3]);
    }
}
