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
    sorted_indices(messages, criteria)
        .into_iter()
        .map(|i| messages[i as usize].0)
        .collect()
}

/// Words of sort key kept inline per message.
const WORDS: usize = 6;

/// Indices into `messages` in the order of [`sort`].
///
/// Each message gets an inline key of [`WORDS`] 64-bit words that encodes
/// the criteria as far as they fit, so that comparing keys never contradicts
/// the full comparison; only messages whose inline keys are equal are
/// compared through their records. That keeps the sort cache-friendly.
pub(crate) fn sorted_indices(
    messages: &[(u32, &KeyRecord)],
    criteria: &[SortCriterion],
) -> Vec<u32> {
    let mut items: Vec<([u64; WORDS], u32, u32)> = messages
        .iter()
        .enumerate()
        .map(|(i, &(n, k))| (inline_key(criteria, k), n, i as u32))
        .collect();
    items.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| compare(criteria, messages[a.2 as usize].1, messages[b.2 as usize].1))
            .then(a.1.cmp(&b.1))
    });
    items.into_iter().map(|(_, _, i)| i).collect()
}

/// Encodes the criteria into words, in order, while they fit. A number takes
/// one word. A string takes its first bytes (zero-padded) and then a word
/// holding its length capped at one more than the prefix, so that equal
/// words mean equal strings unless both are longer than the prefix; after
/// such a long string nothing more is encoded (the rest is left to the full
/// comparison). `REVERSE` inverts the criterion's words.
fn inline_key(criteria: &[SortCriterion], k: &KeyRecord) -> [u64; WORDS] {
    let mut w = [0u64; WORDS];
    let mut at = 0;
    for &c in criteria {
        let start = at;
        let mut exhausted = false;
        let bytes = match c.key {
            SortKey::Arrival => {
                w[at] = (k.internal_date() as u64) ^ (1 << 63);
                at += 1;
                None
            }
            SortKey::Date => {
                w[at] = (k.sent_date() as u64) ^ (1 << 63);
                at += 1;
                None
            }
            SortKey::Size => {
                w[at] = k.size();
                at += 1;
                None
            }
            SortKey::Cc => Some(k.cc()),
            SortKey::From => Some(k.from()),
            SortKey::Subject => Some(k.subject()),
            SortKey::To => Some(k.to()),
        };
        if let Some(s) = bytes {
            // At least one prefix word and the length word.
            if WORDS - at < 2 {
                break;
            }
            // Three words (24 bytes) of prefix cover most subjects and
            // local parts while leaving room for a following key.
            let prefix_words = (WORDS - at - 1).min(3);
            let cap = prefix_words * 8;
            for (j, chunk) in s[..s.len().min(cap)].chunks(8).enumerate() {
                let mut b = [0u8; 8];
                b[..chunk.len()].copy_from_slice(chunk);
                w[at + j] = u64::from_be_bytes(b);
            }
            at += prefix_words;
            w[at] = s.len().min(cap + 1) as u64;
            at += 1;
            exhausted = s.len() > cap;
        }
        if c.reverse {
            for x in &mut w[start..at] {
                *x = !*x;
            }
        }
        if exhausted || at >= WORDS {
            break;
        }
    }
    w
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
    fn inline_keys_never_contradict_full_order() {
        let subjects: &[&[u8]] = &[
            b"",
            b"\0",
            b"A",
            b"AB",
            b"AB\0",
            b"ABCDEFGH",
            b"ABCDEFGHI",
            b"ABCDEFGH\0",
            b"ABCDEFGHIJKLMNOPQRSTUVWX",
            b"ABCDEFGHIJKLMNOPQRSTUVWX\0",
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456788",
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345678",
        ];
        let records: Vec<KeyRecord> = subjects
            .iter()
            .flat_map(|s| {
                [0i64, 5].map(|d| {
                    KeyRecord::from_raw(&RawMessage {
                        subject: Some(s),
                        from: Some(s),
                        internal_date: d,
                        size: d as u64,
                        ..Default::default()
                    })
                })
            })
            .collect();
        use SortKey::*;
        let programs: Vec<Vec<SortCriterion>> = vec![
            vec![SortCriterion::asc(Subject), SortCriterion::asc(Date)],
            vec![SortCriterion::desc(Subject), SortCriterion::asc(Size)],
            vec![
                SortCriterion::asc(Size),
                SortCriterion::desc(From),
                SortCriterion::asc(Subject),
            ],
            vec![
                SortCriterion::asc(From),
                SortCriterion::asc(Subject),
                SortCriterion::desc(Arrival),
            ],
            vec![
                SortCriterion::desc(Arrival),
                SortCriterion::asc(Date),
                SortCriterion::asc(Size),
                SortCriterion::asc(From),
            ],
        ];
        for p in &programs {
            for a in &records {
                for b in &records {
                    let (ka, kb) = (inline_key(p, a), inline_key(p, b));
                    if ka != kb {
                        assert_eq!(ka.cmp(&kb), compare(p, a, b), "{p:?}");
                    }
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
