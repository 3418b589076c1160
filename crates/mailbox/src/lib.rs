//! # postroom-mailbox
//!
//! The mailbox model of postroom: what makes "the same mailbox, read by
//! POP3, IMAP and webmail at once, each seeing the others' changes" true.
//!
//! - [`Store`]: one user's mailboxes (LIST/LSUB with `*` and `%`,
//!   CHILDREN attributes, `\Noselect`, CREATE, DELETE and RENAME as RFC 3501
//!   says, subscriptions), with two backends:
//!   [`MaildirStore`] (Courier/Dovecot-compatible Maildir++ at a root the
//!   caller chooses) and [`MemoryStore`] (tests, embedders).
//! - [`Mailbox`]: the process-wide handle of one mailbox: messages with UID,
//!   flags, keywords, internal date and size; append, STORE, COPY, MOVE,
//!   EXPUNGE; UIDVALIDITY and UIDNEXT; a version counter every
//!   [`Session`] watches.
//! - [`Session`]: a client's view: sequence numbers ↔ UIDs, EXPUNGE held
//!   back until allowed (RFC 3501 §7.4.1), `\Recent` for exactly one
//!   session, IDLE waiting, SEARCH.
//! - [`message::Message`]: CRLF bytes, `BODY[section]<partial>`, ENVELOPE
//!   and BODYSTRUCTURE.
//! - [`deliver()`]: MDA-style delivery into `new/` from any process.
//! - [`pop3::Maildrop`]: the POP3 view of INBOX.
//!
//! ## On disk (Maildir++)
//!
//! INBOX is the root; `INBOX.A.B` is the directory `.A.B` (levels in
//! modified UTF-7, or UTF-8 with [`MaildirOptions::utf8_folder_names`]) with
//! a `maildirfolder` marker. Flags are the `:2,` letters; keywords live in
//! Courier's `courierimapkeywords/`, UIDs in Courier's `courierimapuiddb`
//! (rewritten atomically, UIDs assigned under a per-folder lock file and
//! persisted before anyone sees them), subscriptions in
//! `courierimapsubscribed`. Dovecot's `dovecot-uidlist`, `dovecot-keywords`
//! and `subscriptions` are imported when Courier's files are absent.
//!
//! ## Example
//!
//! ```
//! use std::sync::Arc;
//! use postroom_mailbox::{FlagSet, MemoryStore, Session, Store};
//! use postroom_types::{Flag, MailboxName, SearchKey};
//!
//! let store = MemoryStore::new();
//! store.create(&MailboxName::new("INBOX.Sent"))?;
//! let inbox = store.open(&MailboxName::inbox())?;
//! let uid = inbox.append(b"Subject: hi\r\n\r\nhello\r\n", &FlagSet::from_flags(&[Flag::Seen]), None)?;
//!
//! let session = Session::open(Arc::clone(&inbox), false)?;
//! assert_eq!(session.exists(), 1);
//! assert_eq!(session.search(None, &SearchKey::Body("HELLO".into()))?, vec![(1, uid)]);
//! # Ok::<(), postroom_mailbox::MailboxError>(())
//! ```
//!
//! ## Seams and limits
//!
//! - Quota: [`QuotaHook`] is called before and after every append,
//!   delivery and expunge; [`MaildirsizeQuota`] keeps `maildirsize` with
//!   `postroom-access`'s format ([`NoQuota`] by default).
//! - ACLs: [`MaildirStore::read_acl_file`] / [`MaildirStore::write_acl_file`]
//!   keep each folder's `courierimapacl` bytes; parsing is
//!   `postroom-access`'s.
//! - Caching: [`Mailbox::content`] keeps recently parsed messages;
//!   [`Mailbox::envelope`] and [`Mailbox::sort_key`] (`postroom-sort` key
//!   records) are computed once per message, shared by all sessions and
//!   persisted per folder in `postroom-index` (UID, file name, size,
//!   internal date, RFC822.SIZE, ENVELOPE, sort key; versioned,
//!   checksummed, written atomically when the last handle is dropped or on
//!   [`Mailbox::save_cache`]). It is only a cache: a record is used only
//!   when its UID still names the same file under the same UIDVALIDITY, and
//!   a damaged file is ignored and rebuilt. [`Mailbox::derived`] keeps
//!   other derived data in memory only.
//! - Changes by other processes: a Maildir mailbox watches `cur/` and
//!   `new/` with inotify (the `notify` crate) and wakes IDLE at once;
//!   polling at [`MaildirOptions::poll_interval`] goes on as a fallback
//!   ([`MaildirStore::with_file_watch`] turns watching off).
//! - Open: with `postroom-index` current (folder stamps unchanged and
//!   older than 2 s) the message list comes from it alone; otherwise
//!   `cur/` and `new/` are read and only files unknown to the index are
//!   stat'ed. APPEND numbers the new file without reading the folder.
//! - Streaming: [`Mailbox::open_message`] / [`Mailbox::open_message_crlf`]
//!   read a message without holding it whole; [`pop3::Maildrop`] has
//!   `open_exclusive` (`[IN-USE]` across processes), `uid`, `stored`,
//!   `retr_reader` and a `\Seen`-at-RETR mode.
//! - SEARCH TEXT/BODY match ASCII words on the stored bytes where that
//!   equals matching the decoded text, decode otherwise, and use every
//!   core for large mailboxes.
//! - Maildir keeps INTERNALDATE as the file time: the zone of an APPEND
//!   date is not kept (dates read back in UTC).

mod address;
pub mod deliver;
pub mod error;
pub mod flags;
pub mod mailbox;
pub mod maildir;
pub mod memory;
pub mod message;
pub(crate) mod names;
mod par;
pub mod pop3;
pub mod quota;
mod search;
pub mod session;
pub mod store;
mod watch;

pub use deliver::{deliver, deliver_with_quota};
pub use error::{FormatError, MailboxError, NameProblem, Result};
pub use flags::{FlagSet, StoreMode, permanent_flags};
pub use mailbox::{CrlfReader, Mailbox, MessageInfo};
pub use maildir::{KEEP_OPEN_MAX, MaildirOptions, MaildirStore, close_kept_folders};
pub use memory::MemoryStore;
pub use names::DELIMITER;
pub use quota::{MaildirsizeQuota, NoQuota, QuotaHook};
pub use session::{Changes, FlagUpdate, MessageView, Session};
pub use store::{ListAttribute, ListEntry, Store, pattern_matches};
