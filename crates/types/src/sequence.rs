//! [`SequenceSet`]: IMAP `sequence-set` (RFC 3501 §9) with `*` and the
//! RFC 5182 `$` search-result reference.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use crate::uid::parse_nz_number;

/// One end of a range: a number or `*` (the largest number in use).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeqBound {
    /// A message number or UID.
    Number(NonZeroU32),
    /// `*`: the largest sequence number or UID in the mailbox.
    Star,
}

impl SeqBound {
    /// The bound's value given the largest number in use (`*` → `largest`).
    pub const fn resolve(self, largest: u32) -> u32 {
        match self {
            SeqBound::Number(n) => n.get(),
            SeqBound::Star => largest,
        }
    }
}

/// A range `a:b` (or a single number, where `start == end`). The order of
/// the ends does not matter: `4:2` is the same set as `2:4` (RFC 3501 §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeqRange {
    /// First end as written.
    pub start: SeqBound,
    /// Second end as written.
    pub end: SeqBound,
}

impl SeqRange {
    /// The inclusive range `(low, high)` given the largest number in use.
    pub const fn resolve(self, largest: u32) -> (u32, u32) {
        let a = self.start.resolve(largest);
        let b = self.end.resolve(largest);
        if a <= b { (a, b) } else { (b, a) }
    }
}

/// An IMAP sequence set such as `1:3,7,9:*`, or `$` (RFC 5182).
///
/// Membership and iteration take `largest`, the number `*` stands for (the
/// highest sequence number or UID in the mailbox). Iteration is lazy and
/// visits each number once in ascending order, so `1:4294967295` costs no
/// memory.
///
/// An empty mailbox (`largest == 0`) makes `*` stand for 0, so `*` and `n:*`
/// match nothing beyond `n`; RFC 3501 leaves this case to the server.
///
/// ```
/// use postroom_types::SequenceSet;
/// let set: SequenceSet = "9:*,1:3,2".parse()?;
/// assert!(set.contains(2, 20));
/// assert!(!set.contains(5, 20));
/// assert_eq!(set.normalized(11), vec![(1, 3), (9, 11)]);
/// assert_eq!(set.iter(10).collect::<Vec<_>>(), vec![1, 2, 3, 9, 10]);
/// assert_eq!(set.to_string(), "9:*,1:3,2");
/// # Ok::<(), postroom_types::SequenceSetError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// One or more ranges, in the order written.
    Ranges(Vec<SeqRange>),
    /// `$`: the result of the last SEARCH (RFC 5182), resolved by the server.
    SearchResult,
}

/// An error from parsing a sequence set.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SequenceSetError {
    /// The input was empty.
    #[error("empty sequence set")]
    Empty,
    /// A character or number that does not fit the grammar.
    #[error("invalid sequence set at offset {offset}: expected {expected}")]
    Invalid {
        /// Byte offset of the problem.
        offset: usize,
        /// What the grammar expected there.
        expected: &'static str,
    },
}

impl SequenceSet {
    /// The set holding one number.
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn single(n: u32) -> SequenceSet {
        let n = SeqBound::Number(NonZeroU32::new(n).expect("sequence numbers are non-zero"));
        SequenceSet::Ranges(vec![SeqRange { start: n, end: n }])
    }

    /// The range `a:b`.
    ///
    /// # Panics
    /// If `a` or `b` is 0.
    pub fn range(a: u32, b: u32) -> SequenceSet {
        let nz = |n| SeqBound::Number(NonZeroU32::new(n).expect("sequence numbers are non-zero"));
        SequenceSet::Ranges(vec![SeqRange {
            start: nz(a),
            end: nz(b),
        }])
    }

    /// `1:*`, every message.
    pub fn all() -> SequenceSet {
        SequenceSet::Ranges(vec![SeqRange {
            start: SeqBound::Number(NonZeroU32::MIN),
            end: SeqBound::Star,
        }])
    }

    /// A set from sorted or unsorted numbers, written compactly as ranges.
    /// Returns `None` for an empty input or one holding 0.
    pub fn from_numbers<I: IntoIterator<Item = u32>>(numbers: I) -> Option<SequenceSet> {
        let mut v: Vec<u32> = numbers.into_iter().collect();
        if v.is_empty() || v.contains(&0) {
            return None;
        }
        v.sort_unstable();
        v.dedup();
        let mut ranges = Vec::new();
        let mut i = 0;
        while i < v.len() {
            let start = v[i];
            let mut end = start;
            while i + 1 < v.len() && v[i + 1] == end + 1 {
                i += 1;
                end = v[i];
            }
            // Non-zero: 0 was rejected above.
            let nz = |n| SeqBound::Number(NonZeroU32::new(n).expect("checked non-zero"));
            ranges.push(SeqRange {
                start: nz(start),
                end: nz(end),
            });
            i += 1;
        }
        Some(SequenceSet::Ranges(ranges))
    }

    /// The ranges, or an empty slice for `$`.
    pub fn ranges(&self) -> &[SeqRange] {
        match self {
            SequenceSet::Ranges(r) => r,
            SequenceSet::SearchResult => &[],
        }
    }

    /// Whether `n` is in the set, `*` standing for `largest`. Always false
    /// for `$`, which only the server can resolve.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        self.ranges().iter().any(|r| {
            let (lo, hi) = r.resolve(largest);
            lo <= n && n <= hi
        })
    }

    /// Sorted, merged, inclusive ranges, `*` standing for `largest`. Ranges
    /// resolving to 0 (a `*` in an empty mailbox) are left out. The result
    /// has at most as many entries as the set has ranges.
    pub fn normalized(&self, largest: u32) -> Vec<(u32, u32)> {
        let mut v: Vec<(u32, u32)> = self
            .ranges()
            .iter()
            .map(|r| r.resolve(largest))
            .map(|(lo, hi)| (lo.max(1), hi))
            .filter(|&(lo, hi)| lo <= hi)
            .collect();
        v.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(v.len());
        for (lo, hi) in v {
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        out
    }

    /// The members in ascending order, each once, `*` standing for
    /// `largest`. Lazy: memory is bounded by the number of ranges.
    pub fn iter(&self, largest: u32) -> SequenceIter {
        let mut ranges = self.normalized(largest);
        ranges.reverse();
        SequenceIter { ranges, next: None }
    }
}

/// Iterator over a [`SequenceSet`]'s members; see [`SequenceSet::iter`].
#[derive(Clone, Debug)]
pub struct SequenceIter {
    /// Remaining ranges, last first.
    ranges: Vec<(u32, u32)>,
    /// Current range position.
    next: Option<(u32, u32)>,
}

impl Iterator for SequenceIter {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        loop {
            if let Some((cur, hi)) = self.next {
                self.next = if cur < hi { Some((cur + 1, hi)) } else { None };
                return Some(cur);
            }
            self.next = Some(self.ranges.pop()?);
        }
    }
}

impl FromStr for SequenceSet {
    type Err = SequenceSetError;

    /// Parses RFC 3501 `sequence-set` (or `$`).
    fn from_str(s: &str) -> Result<SequenceSet, SequenceSetError> {
        if s.is_empty() {
            return Err(SequenceSetError::Empty);
        }
        if s == "$" {
            return Ok(SequenceSet::SearchResult);
        }
        let mut ranges = Vec::new();
        let mut offset = 0;
        for part in s.split(',') {
            let bound = |text: &str, at: usize| -> Result<SeqBound, SequenceSetError> {
                if text == "*" {
                    Ok(SeqBound::Star)
                } else {
                    parse_nz_number(text)
                        .map(SeqBound::Number)
                        .ok_or(SequenceSetError::Invalid {
                            offset: at,
                            expected: "a non-zero number or '*'",
                        })
                }
            };
            let range = match part.split_once(':') {
                None => {
                    let b = bound(part, offset)?;
                    SeqRange { start: b, end: b }
                }
                Some((a, b)) => SeqRange {
                    start: bound(a, offset)?,
                    end: bound(b, offset + a.len() + 1)?,
                },
            };
            ranges.push(range);
            offset += part.len() + 1;
        }
        Ok(SequenceSet::Ranges(ranges))
    }
}

impl fmt::Display for SeqBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqBound::Number(n) => write!(f, "{n}"),
            SeqBound::Star => f.write_str("*"),
        }
    }
}

impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SequenceSet::SearchResult => f.write_str("$"),
            SequenceSet::Ranges(ranges) => {
                for (i, r) in ranges.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    if r.start == r.end {
                        write!(f, "{}", r.start)?;
                    } else {
                        write!(f, "{}:{}", r.start, r.end)?;
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_rfc_forms() {
        for s in ["1", "*", "1:*", "2,4:7,9,12:*", "*:4", "4294967295", "$"] {
            let set: SequenceSet = s.parse().unwrap();
            assert_eq!(set.to_string(), s);
        }
    }

    #[test]
    fn rejects_bad_forms_with_offset() {
        assert_eq!("".parse::<SequenceSet>(), Err(SequenceSetError::Empty));
        for (s, off) in [
            ("0", 0),
            ("1,0", 2),
            ("1:0", 2),
            ("1,,2", 2),
            ("1:2:3", 2),
            ("a", 0),
            ("4294967296", 0),
            ("1,", 2),
            (" 1", 0),
            ("$,1", 0),
        ] {
            match s.parse::<SequenceSet>() {
                Err(SequenceSetError::Invalid { offset, .. }) => assert_eq!(offset, off, "{s}"),
                other => panic!("{s}: {other:?}"),
            }
        }
    }

    #[test]
    fn star_and_reversed_ranges() {
        // RFC 3501 §9: "2,4:7,9,12:*" in a 15-message mailbox.
        let set: SequenceSet = "2,4:7,9,12:*".parse().unwrap();
        assert_eq!(
            set.iter(15).collect::<Vec<_>>(),
            [2, 4, 5, 6, 7, 9, 12, 13, 14, 15]
        );
        // "*:4" in a 15-message mailbox is 4:15.
        let set: SequenceSet = "*:4".parse().unwrap();
        assert_eq!(set.normalized(15), [(4, 15)]);
        // A star beyond the end of a small mailbox.
        let set: SequenceSet = "10:*".parse().unwrap();
        assert_eq!(set.normalized(3), [(3, 10)]);
        assert!(set.contains(5, 3));
        // In an empty mailbox `*` is 0: a bare `*` is nothing, `1:*` is 1
        // (which the store then finds missing).
        assert_eq!(SequenceSet::all().normalized(0), [(1, 1)]);
        assert_eq!("*".parse::<SequenceSet>().unwrap().normalized(0), []);
    }

    #[test]
    fn huge_range_iterates_lazily() {
        let set: SequenceSet = "1:4294967295".parse().unwrap();
        let mut it = set.iter(0);
        assert_eq!(it.next(), Some(1));
        assert_eq!(set.iter(0).nth(1_000_000), Some(1_000_001));
        let top: SequenceSet = "4294967294:*".parse().unwrap();
        assert_eq!(
            top.iter(u32::MAX).collect::<Vec<_>>(),
            [u32::MAX - 1, u32::MAX]
        );
        assert_eq!(top.normalized(u32::MAX), [(u32::MAX - 1, u32::MAX)]);
    }

    #[test]
    fn from_numbers_compacts() {
        let set = SequenceSet::from_numbers([5, 1, 2, 3, 9, 3]).unwrap();
        assert_eq!(set.to_string(), "1:3,5,9");
        assert!(SequenceSet::from_numbers([]).is_none());
        assert!(SequenceSet::from_numbers([0]).is_none());
        assert_eq!(SequenceSet::single(4).to_string(), "4");
        assert_eq!(SequenceSet::range(4, 2).to_string(), "4:2");
    }

    #[test]
    fn search_result_matches_nothing_locally() {
        assert!(!SequenceSet::SearchResult.contains(1, 1));
        assert_eq!(SequenceSet::SearchResult.iter(5).count(), 0);
    }

    fn arb_bound() -> impl Strategy<Value = SeqBound> {
        prop_oneof![
            (1u32..).prop_map(|n| SeqBound::Number(NonZeroU32::new(n).unwrap())),
            Just(SeqBound::Star),
        ]
    }

    fn arb_set() -> impl Strategy<Value = SequenceSet> {
        prop_oneof![
            8 => prop::collection::vec(
                (arb_bound(), arb_bound()).prop_map(|(start, end)| SeqRange { start, end }),
                1..8,
            )
            .prop_map(SequenceSet::Ranges),
            1 => Just(SequenceSet::SearchResult),
        ]
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(set in arb_set()) {
            let text = set.to_string();
            let back: SequenceSet = text.parse().unwrap();
            // "3:3" displays as "3" and parses back as the single form.
            prop_assert_eq!(back.to_string(), text);
            prop_assert_eq!(back.normalized(1000), set.normalized(1000));
        }

        #[test]
        fn iter_agrees_with_contains(set in arb_set(), largest in 0u32..200) {
            let members: Vec<u32> = set.iter(largest).take(10_000).collect();
            prop_assert!(members.windows(2).all(|w| w[0] < w[1]));
            for n in 1..=220u32 {
                prop_assert_eq!(members.binary_search(&n).is_ok(), set.contains(n, largest), "n={}", n);
            }
        }
    }
}
