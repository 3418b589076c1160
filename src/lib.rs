//! # postroom
//!
//! Embeddable mail-protocol libraries: what a hosting provider needs to serve
//! one Maildir mailbox over IMAP4rev1 and POP3 at the same time. This facade
//! crate re-exports the workspace's member crates under short names, so an
//! application can depend on `postroom` alone:
//!
//! | module | crate | what it is |
//! |---|---|---|
//! | [`types`] | `postroom-types` | the shared vocabulary (UIDs, sequence sets, flags, mailbox names, ...) |
//! | [`imap`] | `postroom-imap` | IMAP4rev1 codec: framer, parsers, encoders, sans-IO server and client connections |
//! | [`access`] | `postroom-access` | ACL (RFC 4314, ACL2=UNION) and quota policy, `courierimapacl` and `maildirsize` formats |
//! | [`pop3`] | `postroom-pop3` | the sans-IO POP3 codec, both directions, with streamed dot-stuffing |
//! | [`sort`] | `postroom-sort` | RFC 5256 SORT and THREAD (ORDEREDSUBJECT, REFERENCES) over plain records |
//! | [`mailbox`] | `postroom-mailbox` | the mailbox model over Maildir++ (Courier/Dovecot compatible) and memory |
//! | [`access`] | `postroom-access` | ACL (RFC 4314, ACL2=UNION) and quota policy, `courierimapacl` and `maildirsize` formats |
//! | [`server`] | `postroom-server` | user database (Dovecot passwd-file); with the `tokio` feature the connection driver, listeners and TLS |
//!
//! Each member crate is also usable on its own; depend on it directly to keep
//! the dependency tree small.
//!
//! ```
//! use postroom::types::Rights;
//!
//! let rights: Rights = "lr".parse().unwrap();
//! assert_eq!(rights.len(), 2);
//! ```

pub use postroom_access as access;
pub use postroom_imap as imap;
pub use postroom_mailbox as mailbox;
pub use postroom_pop3 as pop3;
pub use postroom_server as server;
pub use postroom_sort as sort;
pub use postroom_types as types;
