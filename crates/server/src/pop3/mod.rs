//! The POP3 service: a sans-IO [`Session`] that joins the
//! [`postroom_pop3`] codec, the [`crate::users`] database and the INBOX of a
//! [`postroom_mailbox`] store.
//!
//! The session performs no socket I/O and reads no clock: feed it bytes with
//! [`Session::handle_input`], send what [`Session::poll_transmit`] gives,
//! carry out each [`Action`] from [`Session::poll_action`] (start TLS,
//! close, sleep after a failed login) and call [`Session::handle_timeout`]
//! at [`Session::next_timeout`] for the autologout. It does read and write
//! the user's Maildir through the store.
//!
//! What it implements:
//!
//! - RFC 1939: USER/PASS, APOP (for users whose passwd-file entry holds a
//!   `{PLAIN}` secret), STAT, LIST, RETR, TOP, DELE, NOOP, RSET, UIDL, QUIT
//!   with the UPDATE state removing exactly the messages marked deleted;
//!   nothing is removed when the session ends any other way; the
//!   inactivity autologout (at least 10 minutes).
//! - RFC 2449 CAPA and response codes: `[IN-USE]` when another POP3
//!   session of this process holds the maildrop; RFC 3206 `[AUTH]` for bad
//!   credentials and `[SYS/TEMP]` for store failures; PIPELINING (answers
//!   in order, handled by the codec).
//! - RFC 2595 STLS, RFC 5034 SASL with `PLAIN` (RFC 4616) and `LOGIN`.
//! - Plaintext logins (USER/PASS, PLAIN, LOGIN) are refused without TLS
//!   unless [`Config::plaintext`] allows them; by default they are allowed
//!   from loopback addresses only.
//!
//! Sharing the Maildir with IMAP: the maildrop is a snapshot of INBOX at
//! login (numbers and sizes fixed for the session, new mail shown at the
//! next login); UIDLs are Dovecot's default format (8 hex digits of the IMAP
//! UID, then 8 of UIDVALIDITY), stable across restarts, except that a UIDL
//! Courier's pop3d recorded (`courierpop3dsizelist`) is kept; RETR sets `\Seen`
//! once the message is queued, so IMAP sessions see it was read; RETR sends
//! exactly the bytes IMAP `BODY[]` returns (CRLF line ends), plus the CRLF
//! RFC 1939 §3 requires before the terminator when a message lacks a final
//! line end; a message expunged by IMAP during the session keeps its
//! number, and RETR or TOP of it answers `-ERR`.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use postroom_mailbox::{FlagSet, MemoryStore, Store};
//! use postroom_server::pop3::{Config, ConnectionContext, Session};
//! use postroom_server::users::UserDb;
//! use postroom_types::MailboxName;
//!
//! let users = UserDb::parse(b"alice:{PLAIN}secret\n")?;
//! let store = MemoryStore::new();
//! let inbox = store.open(&MailboxName::inbox())?;
//! inbox.append(b"Subject: hi\r\n\r\nhello\r\n", &FlagSet::new(), None)?;
//! let config = Arc::new(Config::new(Arc::new(users), move |_user: &_| {
//!     store.open(&MailboxName::inbox())
//! }));
//!
//! let now = Instant::now();
//! let peer = "127.0.0.1:40000".parse()?;
//! let mut session = Session::new(config, ConnectionContext::plain(peer), now);
//! session.handle_input(now, b"USER alice\r\nPASS secret\r\nSTAT\r\nRETR 1\r\nQUIT\r\n");
//! let mut out = Vec::new();
//! while session.poll_transmit(&mut out) > 0 {}
//! let text = String::from_utf8(out)?;
//! assert!(text.contains("+OK 1 22\r\n"));
//! assert!(text.contains("Subject: hi\r\n\r\nhello\r\n.\r\n"));
//! assert!(session.is_closed());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Limits
//!
//! - The `[IN-USE]` lock is held per process (a table of open maildrops);
//!   a second server process on the same Maildir is not excluded, which
//!   matches Courier and Dovecot's default (`pop3_lock_session = no`).
//! - The store hands out a message as one buffer, so RETR holds one copy of
//!   the message in memory while it streams it out in
//!   [`Config::chunk_size`] pieces; output queued inside the session stays
//!   within about one chunk.
//! - Password checks (Argon2, SHA-crypt) and opening the maildrop run
//!   inside [`Session::handle_input`] unless [`Config::offload_logins`]
//!   hands them to the driver as [`LoginJob`]s.
//! - UTF8 and LANG (RFC 6856) are not offered.

mod auth;
mod login;
mod maildrop;
#[cfg(feature = "tokio")]
mod protocol;
mod session;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use postroom_mailbox::{Mailbox, MailboxError, MaildirStore, Store};
use postroom_types::MailboxName;

use crate::users::{UserDb, UserEntry};

pub use login::{LoginJob, LoginOutcome};
pub use session::{Notice, Session};

/// The shortest autologout timer allowed (RFC 1939 §3).
pub const MIN_AUTOLOGOUT: Duration = Duration::from_secs(10 * 60);

/// Where an authenticated user's INBOX lives.
///
/// Implemented by [`HomeMaildir`] and by any
/// `Fn(&UserEntry) -> Result<Arc<Mailbox>, MailboxError>`.
pub trait MailStorage: Send + Sync {
    /// Opens the user's INBOX. An error is answered `-ERR [SYS/TEMP]`.
    fn open_inbox(&self, user: &UserEntry) -> Result<Arc<Mailbox>, MailboxError>;
}

impl<F> MailStorage for F
where
    F: Fn(&UserEntry) -> Result<Arc<Mailbox>, MailboxError> + Send + Sync,
{
    fn open_inbox(&self, user: &UserEntry) -> Result<Arc<Mailbox>, MailboxError> {
        self(user)
    }
}

/// The Maildir++ in each user's home directory (the passwd-file's sixth
/// field), or in `subdir` below it (`Maildir`, as Dovecot's
/// `mail_location = maildir:~/Maildir`).
#[derive(Debug, Clone, Default)]
pub struct HomeMaildir {
    /// A path below the home directory, or `None` for the home itself.
    pub subdir: Option<PathBuf>,
}

impl MailStorage for HomeMaildir {
    fn open_inbox(&self, user: &UserEntry) -> Result<Arc<Mailbox>, MailboxError> {
        let home = user
            .home()
            .ok_or_else(|| MailboxError::NotFound(format!("home of {}", user.name())))?;
        let root = match &self.subdir {
            Some(sub) => home.join(sub),
            None => home.to_path_buf(),
        };
        MaildirStore::new(root)?.open(&MailboxName::inbox())
    }
}

/// When USER/PASS, AUTH PLAIN and AUTH LOGIN are accepted outside TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PlaintextAuth {
    /// Always.
    Always,
    /// Only from loopback addresses (127.0.0.0/8, `::1`).
    #[default]
    LoopbackOnly,
    /// Never: the client must use STLS (or the implicit-TLS port) first.
    Never,
}

/// Settings shared by every session of a listener.
#[non_exhaustive]
pub struct Config {
    /// The users and their passwords.
    pub users: Arc<UserDb>,
    /// Where each user's INBOX is.
    pub storage: Arc<dyn MailStorage>,
    /// The host name in the APOP timestamp of the greeting.
    pub hostname: String,
    /// The greeting text before the APOP timestamp.
    pub greeting: String,
    /// The `IMPLEMENTATION` capability text, or `None` to leave it out.
    pub implementation: Option<String>,
    /// When plaintext logins are accepted outside TLS.
    pub plaintext: PlaintextAuth,
    /// How long the driver waits before answering a failed login
    /// ([`crate::pop3::Action::Delay`]); zero for no delay.
    pub login_delay: Duration,
    /// Failed logins after which the connection is closed.
    pub max_login_failures: u32,
    /// Inactivity before the session is closed without entering UPDATE;
    /// raised to [`MIN_AUTOLOGOUT`] if shorter (RFC 1939 §3).
    pub autologout: Duration,
    /// Octets of a message handed to the codec per
    /// [`Session::poll_transmit`] call during RETR and TOP.
    pub chunk_size: usize,
    /// The codec's settings (limits; its greeting is replaced).
    pub codec: postroom_pop3::ServerConfig,
    /// Hand password checks and the opening of the maildrop to the driver
    /// as [`LoginJob`]s ([`Session::poll_login_job`]) instead of running
    /// them inside [`Session::handle_input`]. Off by default; the tokio
    /// driver runs them on its blocking thread pool when on.
    pub offload_logins: bool,
}

impl Config {
    /// The defaults: plaintext logins from loopback only, a 2-second delay
    /// after a failed login, the connection closed after 3, a 10-minute
    /// autologout, 64 KiB chunks, the codec's default limits.
    pub fn new(users: Arc<UserDb>, storage: impl MailStorage + 'static) -> Config {
        Config {
            users,
            storage: Arc::new(storage),
            hostname: "localhost".to_owned(),
            greeting: "POP3 server ready".to_owned(),
            implementation: Some(format!("postroom {}", env!("CARGO_PKG_VERSION"))),
            plaintext: PlaintextAuth::default(),
            login_delay: Duration::from_secs(2),
            max_login_failures: 3,
            autologout: MIN_AUTOLOGOUT,
            chunk_size: 64 * 1024,
            codec: postroom_pop3::ServerConfig::default(),
            offload_logins: false,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("users", &self.users.len())
            .field("hostname", &self.hostname)
            .field("greeting", &self.greeting)
            .field("implementation", &self.implementation)
            .field("plaintext", &self.plaintext)
            .field("login_delay", &self.login_delay)
            .field("max_login_failures", &self.max_login_failures)
            .field("autologout", &self.autologout)
            .field("chunk_size", &self.chunk_size)
            .field("offload_logins", &self.offload_logins)
            .finish_non_exhaustive()
    }
}

/// What a session knows about its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionContext {
    /// The client's address (plaintext logins may depend on it).
    pub peer: SocketAddr,
    /// TLS is on from the start (a POP3S, 995-style port).
    pub tls: bool,
    /// The driver can start TLS on this connection, so STLS is offered.
    pub starttls: bool,
}

impl ConnectionContext {
    /// A plain connection without STLS.
    pub fn plain(peer: SocketAddr) -> ConnectionContext {
        ConnectionContext {
            peer,
            tls: false,
            starttls: false,
        }
    }

    /// A plain connection that can be upgraded with STLS.
    pub fn starttls(peer: SocketAddr) -> ConnectionContext {
        ConnectionContext {
            peer,
            tls: false,
            starttls: true,
        }
    }

    /// A connection inside TLS from the start.
    pub fn implicit_tls(peer: SocketAddr) -> ConnectionContext {
        ConnectionContext {
            peer,
            tls: true,
            starttls: false,
        }
    }
}

/// Something only the driver can do (see [`Session::poll_action`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Send what is queued (the `+OK` to STLS), run the TLS server
    /// handshake, then call [`Session::handle_tls_started`]. Input that
    /// arrived after the STLS line was discarded (RFC 2595 §4).
    StartTls,
    /// Send what is queued, then close the connection.
    Close,
    /// Wait this long before sending what is queued or reading more
    /// (after a failed login).
    Delay(Duration),
}
