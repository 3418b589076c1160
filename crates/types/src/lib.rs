//! # postroom-types
//!
//! The shared vocabulary of the postroom crates: the values both an IMAP or
//! POP3 codec and a mailbox store need, so that neither depends on the other.
//! This crate performs no I/O and depends on no runtime.
//!
//! Entry types:
//!
//! - message numbers: [`Uid`], [`SeqNum`], [`UidValidity`], and
//!   [`SequenceSet`] (`1:3,7,9:*`, iterated lazily);
//! - flags: [`Flag`], [`Keyword`], [`FlagFetch`] (with the session-only
//!   `\Recent`), [`FlagPerm`] (with `\*`);
//! - [`MailboxName`]: UTF-8 inside, modified UTF-7 on the wire
//!   ([`encode_modified_utf7`], [`decode_modified_utf7`]);
//! - dates: [`InternalDate`] (`date-time`) and [`ImapDate`] (`date`);
//! - [`SearchKey`]: every RFC 3501 search key;
//! - [`Envelope`], [`Address`], [`BodyStructure`]: fetch items;
//! - [`Thread`]: a THREAD result, built and walked without recursion;
//! - [`Rights`], [`Right`], [`AclEntry`]: RFC 4314 access rights;
//! - [`Resource`], [`QuotaUsage`], [`QuotaLimit`]: RFC 2087/9208 quota values;
//! - [`Secret`]: a value that never prints;
//! - [`Limits`]: the bounds codecs enforce on wire input.
//!
//! ```
//! use postroom_types::{MailboxName, SequenceSet, Flag};
//!
//! let set: SequenceSet = "1:3,7".parse()?;
//! assert_eq!(set.iter(10).collect::<Vec<_>>(), vec![1, 2, 3, 7]);
//!
//! let name = MailboxName::from_modified_utf7("INBOX.Entw&APw-rfe")?;
//! assert_eq!(name.as_str(), "INBOX.Entwürfe");
//!
//! assert_eq!("\\seen".parse::<Flag>()?, Flag::Seen);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Limits
//!
//! Values here hold whatever they are given; validation that depends on a
//! server's policy (which mailbox names a store accepts, which rights a
//! server refuses) belongs to the crates that apply the policy. Recursive
//! values ([`SearchKey`], [`BodyStructure`]) are bounded in depth by the
//! decoders that build them from the wire; [`Thread`] is a flat arena and
//! has no depth limit.

mod body;
mod date;
mod envelope;
mod flag;
mod limits;
mod mailbox;
mod quota;
mod rights;
mod search;
mod secret;
mod section;
mod sequence;
mod thread;
mod uid;

pub use body::{
    BodyExtension, BodyFields, BodyStructure, Disposition, ExtensionTail, LanguageTail,
    LocationTail, MultipartExtension, SinglePart, SinglePartExtension, SinglePartKind,
};
pub use date::{DateError, ImapDate, InternalDate};
pub use envelope::{Address, Envelope};
pub use flag::{Flag, FlagError, FlagFetch, FlagPerm, Keyword, is_atom_char};
pub use limits::Limits;
pub use mailbox::{MailboxName, MailboxNameError, decode_modified_utf7, encode_modified_utf7};
pub use quota::{QuotaLimit, QuotaUsage, Resource};
pub use rights::{AclEntry, Right, Rights, RightsError};
pub use search::SearchKey;
pub use secret::Secret;
pub use section::{Section, SectionText};
pub use sequence::{SeqBound, SeqRange, SequenceIter, SequenceSet, SequenceSetError};
pub use thread::{NodeId, Thread, ThreadError, ThreadNode, ThreadToken};
pub use uid::{NumberError, SeqNum, Uid, UidValidity};

/// Re-export of the `chrono` types that appear in this crate's API.
pub use chrono;
