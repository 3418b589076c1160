//! # postroom-sort
//!
//! IMAP SORT and THREAD (RFC 5256) over plain per-message records: base
//! subject extraction (§2.1), sent dates (§2.2), the SORT keys `ARRIVAL CC
//! DATE FROM REVERSE SIZE SUBJECT TO`, and the `THREAD=ORDEREDSUBJECT` and
//! `THREAD=REFERENCES` algorithms (§3), with strings collated by
//! i;unicode-casemap (RFC 5051) as §7 requires.
//!
//! The crate performs no I/O and depends on no store and no codec. It parses
//! the raw header values itself (RFC 2047 encoded words, addresses, message
//! ids, RFC 5322 dates), so a server can feed it straight from stored
//! headers.
//!
//! ## Entry points
//!
//! - [`RawMessage`]: number, INTERNALDATE, size and the raw values of Date,
//!   Subject, From, To, Cc, Message-ID, In-Reply-To and References.
//! - [`KeyRecord`]: everything SORT and THREAD need, parsed once per message;
//!   a store can keep it in memory or on disk ([`KeyRecord::encode`],
//!   [`KeyRecord::decode`]).
//! - [`sort`] with [`SortCriterion`]s, and [`thread`] with a
//!   [`ThreadAlgorithm`] (output: [`postroom_types::Thread`]).
//! - Building blocks: [`base_subject`], [`casemap`], [`decode_encoded_words`],
//!   [`first_mailbox`], [`parse_message_ids`], [`parse_date`],
//!   [`check_charset`].
//!
//! ```
//! use postroom_sort::{KeyRecord, RawMessage, SortCriterion, SortKey, ThreadAlgorithm, sort, thread};
//!
//! let raw = [
//!     RawMessage { number: 1, internal_date: 100, size: 300, subject: Some(b"Lunch"),
//!                  message_id: Some(b"<a@x>"), date: Some(b"Mon, 1 Jan 2024 10:00:00 +0000"),
//!                  ..Default::default() },
//!     RawMessage { number: 2, internal_date: 200, size: 100, subject: Some(b"Agenda"),
//!                  date: Some(b"Mon, 1 Jan 2024 11:00:00 +0000"), ..Default::default() },
//!     RawMessage { number: 3, internal_date: 300, size: 200, subject: Some(b"Re: lunch"),
//!                  in_reply_to: Some(b"<a@x>"), date: Some(b"Mon, 1 Jan 2024 12:00:00 +0000"),
//!                  ..Default::default() },
//! ];
//! let keys: Vec<KeyRecord> = raw.iter().map(KeyRecord::from_raw).collect();
//! let msgs: Vec<(u32, &KeyRecord)> = raw.iter().map(|r| r.number).zip(&keys).collect();
//!
//! let by_subject = sort(&msgs, &[SortCriterion::asc(SortKey::Subject), SortCriterion::asc(SortKey::Date)]);
//! assert_eq!(by_subject, [2, 1, 3]);
//! assert_eq!(thread(&msgs, ThreadAlgorithm::References).to_imap_string(), "(1 3)(2)");
//! assert_eq!(thread(&msgs, ThreadAlgorithm::OrderedSubject).to_imap_string(), "(1 3)(2)");
//! ```
//!
//! ## Choices where RFC 5256 leaves room
//!
//! - Sent date: a missing or unparsable Date uses INTERNALDATE; an invalid
//!   zone is UTC; an invalid time is 00:00:00 UTC (the RFC's SHOULD; Dovecot
//!   uses INTERNALDATE instead).
//! - FROM/TO/CC of a group use the group name (the ENVELOPE group marker).
//! - Messages with an empty base subject form one ORDEREDSUBJECT thread.
//! - A Message-ID needs an `@`; quoting is removed, case is kept.
//! - Base subject extraction matches `re`/`fwd`/`[fwd:` in ASCII case only,
//!   on the decoded text; the result is then casemapped.
//!
//! ## Limits
//!
//! Input may be hostile: nothing recurses, nothing panics, and the cost of
//! parsing and of both algorithms grows about linearly (threading: near
//! linear plus the date sort; a References header with 100,000 ids or a
//! chain 100,000 messages deep is fine). Charsets for SORT and THREAD search
//! criteria are US-ASCII and UTF-8 only; header text in other charsets is
//! decoded through the `charset` crate (the WHATWG encodings plus UTF-7).

mod address;
mod casemap;
mod date;
mod error;
mod lex;
mod linkcut;
mod msgid;
mod record;
mod rfc2047;
mod sort;
mod subject;
mod thread;
mod titlecase;

pub use address::first_mailbox;
pub use casemap::{casemap, casemap_into};
pub use date::parse_date;
pub use error::{KeyRecordError, SortError};
pub use msgid::{MessageId, first_message_id, parse_message_ids};
pub use record::{KeyRecord, RawMessage};
pub use rfc2047::decode_encoded_words;
pub use sort::{SortCriterion, SortKey, check_charset, compare, sort};
pub use subject::{BaseSubject, base_subject};
pub use thread::{ThreadAlgorithm, thread, thread_ordered_subject, thread_references};
