//! # postroom-server
//!
//! The protocol-independent foundation of postroom's IMAP and POP3 servers.
//!
//! - [`users`]: a Dovecot-compatible passwd-file
//!   (`user:{SCHEME}password:uid:gid:gecos:home:shell:extra_fields`) parsed
//!   from bytes into a [`users::UserDb`] that verifies passwords (`PLAIN`,
//!   `SHA512-CRYPT`, `SHA256-CRYPT`, `CRYPT` with `$5$`/`$6$`, `ARGON2ID`,
//!   `ARGON2I`) and a [`users::StoredPassword::hash`] for new users
//!   (ARGON2ID by default). Parsing and verification perform no I/O;
//!   [`users::load`] and [`users::append_user`] are thin file helpers.
//! - [`pop3`]: the POP3 service, a sans-IO [`pop3::Session`] that joins the
//!   `postroom-pop3` codec, the user database and the INBOX of a
//!   `postroom-mailbox` store (USER/PASS, APOP, SASL PLAIN/LOGIN, STLS,
//!   CAPA, the TRANSACTION commands, UPDATE, `[IN-USE]`, autologout).
//! - `net` (feature **`tokio`**, off by default): the only part that touches
//!   sockets, clocks and TLS. A transport-neutral `Protocol` trait that a
//!   sans-IO session implements; `drive`, the loop that moves bytes between
//!   a plain or TLS socket and the session (STARTTLS upgraded in place, idle
//!   timeout, bounded buffers with back-pressure); `Server`, whose listeners
//!   (plain with STARTTLS, or implicit TLS) apply connection limits in total,
//!   per client address and per user and shut down gracefully; `LoginDelay`
//!   for failed logins; and `net::tls` (rustls with the ring provider, TLS
//!   1.2 and 1.3 only, PEM loading, self-signed certificates, a reloadable
//!   certificate). Without the feature this crate depends on no runtime and
//!   no TLS library.
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
//! assert_eq!(bob.home(), Some(std::path::Path::new("/srv/mail/bob")));
//! # Ok::<(), postroom_server::users::ParseError>(())
//! ```
//!
//! ## Limits
//!
//! - The user file is read whole into memory; it is meant for thousands of
//!   users, not millions. User names are compared exactly (no case folding,
//!   no default domain). Schemes other than those above (`SSHA`,
//!   `MD5-CRYPT`, `BLF-CRYPT`, encoding suffixes such as `.b64`) are refused
//!   when the file is read, naming the line.
//! - The failed-login delay is per connection; the limits count connections
//!   of one process.
//! - The IMAP session is not part of this crate yet.

#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod net;
pub mod pop3;
pub mod users;
