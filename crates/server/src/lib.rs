//! # postroom-server
//!
//! The protocol-independent foundation of postroom's IMAP and POP3 servers.
//!
//! - [`users`]: a Dovecot-compatible passwd-file (`user:{SCHEME}password:uid:gid:gecos:home:shell:extra_fields`)
//!   parsed from bytes into a [`users::UserDb`] that verifies passwords
//!   (`PLAIN`, `SHA512-CRYPT`, `SHA256-CRYPT`, `CRYPT` with `$5$`/`$6$`,
//!   `ARGON2ID`, `ARGON2I`) and hashes new ones for `useradd`. Parsing and
//!   verification perform no I/O; [`users::load`] and
//!   [`users::append_user`] are thin file helpers.
//! - `net` (feature **`tokio`**, off by default): the only part that knows
//!   about sockets and time. A transport-neutral `Protocol` trait that a
//!   sans-IO session implements, the driver loop that moves bytes between a
//!   plain or TLS socket and the session (with STARTTLS upgrade in place,
//!   idle timeout, bounded buffers), listeners for plain and implicit-TLS
//!   ports with connection limits, graceful shutdown and a reloadable
//!   certificate. Without the feature this crate does not depend on tokio,
//!   rustls or any runtime.
//!
//! ```
//! use postroom_server::users::UserDb;
//!
//! let file = b"# demo users\nalice:{PLAIN}secret\nbob@example.org:{PLAIN}hunter2::::/srv/mail/bob::acl_groups=staff\n";
//! let db = UserDb::parse(file)?;
//! assert!(db.verify("alice", b"secret").is_some());
//! assert!(db.verify("alice", b"wrong").is_none());
//! let bob = db.get("bob@example.org").unwrap();
//! assert_eq!(bob.groups(), ["staff"]);
//! # Ok::<(), postroom_server::users::ParseError>(())
//! ```
//!
//! ## Limits
//!
//! - The user file is read whole into memory; it is meant for thousands of
//!   users, not millions.
//! - User names are compared exactly (no case folding, no default domain).
//! - The IMAP and POP3 sessions that join the codecs and the mailbox store
//!   are not part of this crate yet.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod imap;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod net;
pub mod users;
