//! [`SearchKey`]: the search criteria of RFC 3501 §6.4.4.

use chrono::NaiveDate;

use crate::flag::Keyword;
use crate::sequence::SequenceSet;

/// One search criterion (RFC 3501 §6.4.4). A SEARCH command's criteria are
/// the [`SearchKey::And`] of its top-level keys.
///
/// Strings are UTF-8: a codec converts them from the command's CHARSET
/// before building a key, and refuses charsets it cannot convert
/// (`NO [BADCHARSET]`). Dates are calendar days, compared as RFC 3501 says:
/// internal dates in the server's zone is the store's business, sent dates
/// ignore time and zone.
///
/// Keys nest through `Not`, `Or` and `And`; decoders bound the depth
/// ([`crate::Limits::max_depth`]), so values from the wire never nest deeply.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SearchKey {
    /// `ALL`
    All,
    /// `ANSWERED`
    Answered,
    /// `BCC string`
    Bcc(String),
    /// `BEFORE date`: internal date earlier than the day.
    Before(NaiveDate),
    /// `BODY string`
    Body(String),
    /// `CC string`
    Cc(String),
    /// `DELETED`
    Deleted,
    /// `DRAFT`
    Draft,
    /// `FLAGGED`
    Flagged,
    /// `FROM string`
    From(String),
    /// `HEADER field-name string`
    Header(String, String),
    /// `KEYWORD flag`
    Keyword(Keyword),
    /// `LARGER n`: RFC822.SIZE greater than n.
    Larger(u32),
    /// `NEW`: recent and unseen.
    New,
    /// `NOT key`
    Not(Box<SearchKey>),
    /// `OLD`: not recent.
    Old,
    /// `ON date`: internal date within the day.
    On(NaiveDate),
    /// `OR key1 key2`
    Or(Box<SearchKey>, Box<SearchKey>),
    /// `RECENT`
    Recent,
    /// `SEEN`
    Seen,
    /// `SENTBEFORE date`: Date: header earlier than the day.
    SentBefore(NaiveDate),
    /// `SENTON date`
    SentOn(NaiveDate),
    /// `SENTSINCE date`: Date: header within or later than the day.
    SentSince(NaiveDate),
    /// `SINCE date`: internal date within or later than the day.
    Since(NaiveDate),
    /// `SMALLER n`: RFC822.SIZE smaller than n.
    Smaller(u32),
    /// `SUBJECT string`
    Subject(String),
    /// `TEXT string`: header or body.
    Text(String),
    /// `TO string`
    To(String),
    /// `UID sequence-set`
    Uid(SequenceSet),
    /// `UNANSWERED`
    Unanswered,
    /// `UNDELETED`
    Undeleted,
    /// `UNDRAFT`
    Undraft,
    /// `UNFLAGGED`
    Unflagged,
    /// `UNKEYWORD flag`
    Unkeyword(Keyword),
    /// `UNSEEN`
    Unseen,
    /// A bare sequence set: message sequence numbers.
    SequenceSet(SequenceSet),
    /// `( key *(SP key) )`: all keys match. Also the top level of SEARCH.
    And(Vec<SearchKey>),
}

impl SearchKey {
    /// `OR self other`.
    #[must_use]
    pub fn or(self, other: SearchKey) -> SearchKey {
        SearchKey::Or(Box::new(self), Box::new(other))
    }

    /// How deeply the key nests (a plain key is 1). Walks without
    /// recursion.
    pub fn depth(&self) -> usize {
        let mut max = 0;
        let mut stack = vec![(self, 1usize)];
        while let Some((key, d)) = stack.pop() {
            max = max.max(d);
            match key {
                SearchKey::Not(k) => stack.push((k, d + 1)),
                SearchKey::Or(a, b) => {
                    stack.push((a, d + 1));
                    stack.push((b, d + 1));
                }
                SearchKey::And(keys) => stack.extend(keys.iter().map(|k| (k, d + 1))),
                _ => {}
            }
        }
        max
    }

    /// Whether any key in the tree needs message text (headers or body), as
    /// opposed to flags, sizes, dates and numbers only. Stores use it to
    /// skip reading messages.
    pub fn needs_content(&self) -> bool {
        let mut stack = vec![self];
        while let Some(key) = stack.pop() {
            match key {
                SearchKey::Bcc(_)
                | SearchKey::Body(_)
                | SearchKey::Cc(_)
                | SearchKey::From(_)
                | SearchKey::Header(..)
                | SearchKey::SentBefore(_)
                | SearchKey::SentOn(_)
                | SearchKey::SentSince(_)
                | SearchKey::Subject(_)
                | SearchKey::Text(_)
                | SearchKey::To(_) => return true,
                SearchKey::Not(k) => stack.push(k),
                SearchKey::Or(a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
                SearchKey::And(keys) => stack.extend(keys.iter()),
                _ => {}
            }
        }
        false
    }
}

impl std::ops::Not for SearchKey {
    type Output = SearchKey;

    /// `NOT key`.
    fn not(self) -> SearchKey {
        SearchKey::Not(Box::new(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_and_depth() {
        // RFC 3501 §6.4.4: SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
        let key = SearchKey::And(vec![
            SearchKey::Flagged,
            SearchKey::Since(NaiveDate::from_ymd_opt(1994, 2, 1).unwrap()),
            !SearchKey::From("Smith".into()),
        ]);
        assert_eq!(key.depth(), 3);
        assert!(key.needs_content());
        let flags_only = SearchKey::Seen.or(!SearchKey::Larger(10));
        assert_eq!(flags_only.depth(), 3);
        assert!(!flags_only.needs_content());
        assert_eq!(SearchKey::All.depth(), 1);
    }

    #[test]
    fn deep_keys_walk_without_recursion() {
        let mut key = SearchKey::All;
        for _ in 0..10_000 {
            key = !key;
        }
        assert_eq!(key.depth(), 10_001);
        assert!(!key.needs_content());
        // Take it apart iteratively so the drop does not recurse either.
        while let SearchKey::Not(inner) = key {
            key = *inner;
        }
    }
}
