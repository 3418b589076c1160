//! The tokio driver, listeners and TLS (feature `tokio`).
//!
//! This module is the only part of postroom that touches sockets, clocks and
//! TLS. It knows nothing about IMAP or POP3: a session implements
//! [`Protocol`] (bytes in, bytes out, a few [`Action`]s, timers and an
//! optional wake-up), and the driver runs it on a connection.
//!
//! - [`Server`] holds the shared [`ConnectionLimits`] and the shutdown
//!   state; [`Server::listen`] binds a [`ListenerConfig`] (plain with optional
//!   STARTTLS, or implicit TLS) and returns the bound address.
//! - [`drive`] is the per-connection loop, usable on its own over any
//!   `AsyncRead + AsyncWrite` stream.
//! - [`tls`] builds rustls configs (ring provider, TLS 1.2 and 1.3 only),
//!   loads PEM files, generates self-signed certificates and provides the
//!   [`tls::ReloadableCert`] resolver.
//! - [`ConnectionInfo::login_failed`] gives the failed-login delay (per
//!   client address, across connections) that protocols apply through
//!   [`Action::Delay`]; [`LoginDelay`] is a per-connection alternative.
//!   [`ConnectionInfo::claim_user`] counts logins against the per-user
//!   limit.
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use postroom_server::net::{
//!     Action, ConnectionInfo, ConnectionLimits, DriverConfig, ListenerConfig, Protocol, Server,
//! };
//!
//! /// Answers every line with `ok`.
//! struct Ok1 { out: Vec<u8>, close: bool }
//!
//! impl Protocol for Ok1 {
//!     fn handle_input(&mut self, input: &[u8]) {
//!         for _ in input.iter().filter(|&&b| b == b'\n') {
//!             self.out.extend_from_slice(b"ok\r\n");
//!         }
//!     }
//!     fn poll_transmit(&mut self, out: &mut Vec<u8>) {
//!         out.append(&mut self.out);
//!     }
//!     fn poll_action(&mut self) -> Option<Action> {
//!         std::mem::take(&mut self.close).then_some(Action::Close)
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = Server::new(ConnectionLimits::default());
//! let config = ListenerConfig::plain("ok", "127.0.0.1:0".parse().unwrap(), None)
//!     .with_driver(DriverConfig::pop3());
//! let addr = server
//!     .listen(config, |_info: ConnectionInfo| Ok1 { out: b"hello\r\n".to_vec(), close: false })
//!     .await?;
//! println!("listening on {addr}");
//! tokio::signal::ctrl_c().await?;
//! server.shutdown(Duration::from_secs(10)).await;
//! # Ok(()) }
//! ```

mod driver;
mod limits;
mod listener;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

pub use driver::{CloseReason, DriveError, DriveOptions, drive};
pub use limits::{ConnectionLimits, LimitExceeded, LoginDelay, UserClaim};
pub use listener::{ListenerConfig, ListenerTls, Server};

use limits::Tracker;

/// A connection's protocol logic as the driver sees it: a sans-IO session.
///
/// The driver calls, in a loop: [`poll_action`](Self::poll_action) until it
/// returns `None` (taking each action), then
/// [`poll_transmit`](Self::poll_transmit) while its output buffer has room,
/// then waits for the first of: socket input
/// ([`handle_input`](Self::handle_input)), the protocol's timer
/// ([`handle_timeout`](Self::handle_timeout)), its wake-up
/// ([`handle_wakeup`](Self::handle_wakeup)), the idle timeout
/// ([`handle_idle_timeout`](Self::handle_idle_timeout)) or a server shutdown
/// ([`handle_shutdown`](Self::handle_shutdown)).
///
/// A slow computation (a password hash) goes to
/// [`poll_blocking`](Self::poll_blocking) so it does not stall other
/// connections.
///
/// Both an IMAP and a POP3 session fit: STARTTLS and STLS are
/// [`Action::StartTls`], LOGOUT and QUIT end with [`Action::Close`], IMAP
/// IDLE waits on [`wakeup`](Self::wakeup), and the autologout timers are the
/// driver's idle timeout ([`DriverConfig::imap`], [`DriverConfig::pop3`]).
pub trait Protocol {
    /// Bytes received from the peer, in whatever chunks the socket gave
    /// (at most [`DriverConfig::read_buffer`] bytes each).
    fn handle_input(&mut self, input: &[u8]);

    /// Appends bytes to send to `out`. The driver calls this again as long
    /// as something was appended and `out` is below
    /// [`DriverConfig::write_high_water`], and stops reading input while it
    /// is above: a session streaming a large message should append a chunk
    /// (say 64 KiB) per call so its own memory stays bounded too.
    fn poll_transmit(&mut self, out: &mut Vec<u8>);

    /// Whether [`poll_transmit`](Self::poll_transmit) is about to do file
    /// work (an IMAP FETCH streaming its answers: message files read and
    /// parsed). The driver then produces output in a blocking section, so
    /// the other connections on its worker thread go on meanwhile.
    fn transmit_blocks(&self) -> bool {
        false
    }

    /// The next action for the driver, if any; see [`Action`].
    fn poll_action(&mut self) -> Option<Action>;

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    fn next_timeout(&self) -> Option<Instant> {
        None
    }

    /// The deadline from [`next_timeout`](Self::next_timeout) has passed.
    fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
    }

    /// A notifier the driver waits on besides the socket (for IMAP IDLE: a
    /// mailbox change feed). Asked again on every turn of the loop, so a
    /// session can return one only while idling. Whoever signals should
    /// call [`Notify::notify_one`], which keeps a permit when the driver is
    /// not waiting at that moment, so no change is missed.
    fn wakeup(&self) -> Option<Arc<Notify>> {
        None
    }

    /// The notifier from [`wakeup`](Self::wakeup) fired.
    fn handle_wakeup(&mut self) {}

    /// Work that must not run on the async threads, such as checking a
    /// password hash (tens to hundreds of milliseconds of CPU for ARGON2ID).
    /// The driver runs each job on tokio's blocking thread pool, reading no
    /// input and taking no action meanwhile, and hands its result to
    /// [`handle_blocking_done`](Self::handle_blocking_done). Polled after
    /// the actions on every turn of the loop.
    fn poll_blocking(&mut self) -> Option<BlockingJob> {
        None
    }

    /// The result of the job from [`poll_blocking`](Self::poll_blocking).
    fn handle_blocking_done(&mut self, output: BlockingOutput) {
        let _ = output;
    }

    /// The TLS handshake requested by [`Action::StartTls`] has completed;
    /// everything from now on is encrypted.
    fn handle_tls_established(&mut self) {}

    /// No input arrived for [`DriverConfig::idle_timeout`]. The session may
    /// queue a goodbye (IMAP `* BYE Autologout`, RFC 3501 §5.4; POP3 says
    /// nothing, RFC 1939 §3); the driver then sends what is queued and
    /// closes the connection.
    fn handle_idle_timeout(&mut self) {}

    /// The server is shutting down and waits for connections to finish. A
    /// session may queue a goodbye and [`Action::Close`] now, or at the end
    /// of its current command; connections still open when the grace period
    /// ends are closed after sending what is queued.
    fn handle_shutdown(&mut self) {}
}

/// Records the logged-in user on the current connection's tracing span (the
/// `connection` span the listeners open, whose fields are `listener`,
/// `peer` and `user`), so every later line of the connection names it.
pub fn record_user(user: &str) {
    tracing::Span::current().record("user", user);
}

/// A job for [`Protocol::poll_blocking`].
pub type BlockingJob = Box<dyn FnOnce() -> BlockingOutput + Send + 'static>;

/// What a [`BlockingJob`] returns; the protocol downcasts it to the type its
/// job produced.
pub type BlockingOutput = Box<dyn std::any::Any + Send>;

/// Something only the driver can do, returned by [`Protocol::poll_action`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Send everything queued so far (the `OK Begin TLS` / `+OK` line), then
    /// run a TLS server handshake on the connection and continue over TLS.
    /// Input is not read between the command that caused this and the
    /// handshake; whatever input the session already received after the
    /// STARTTLS command is its to discard (RFC 3207 §4.2, RFC 2595 §3.1).
    StartTls,
    /// Send everything queued, then close the connection (with a TLS
    /// `close_notify` where TLS is on).
    Close,
    /// Hold the connection for this long: neither send queued output nor
    /// read input. Used after failed logins (see [`LoginDelay`]). Capped at
    /// one minute.
    Delay(Duration),
}

/// What a new connection's protocol learns about it. Handed to the factory
/// given to [`Server::listen`].
#[derive(Clone)]
pub struct ConnectionInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// The local address the client connected to.
    pub local: SocketAddr,
    /// The listener's name (for logs).
    pub listener: Arc<str>,
    /// TLS is on from the start (implicit TLS, 993/995-style).
    pub tls: bool,
    /// [`Action::StartTls`] is available (a plain listener with a TLS
    /// config), so STARTTLS / STLS may be advertised.
    pub starttls: bool,
    tracker: Arc<Tracker>,
}

impl std::fmt::Debug for ConnectionInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionInfo")
            .field("peer", &self.peer)
            .field("local", &self.local)
            .field("listener", &self.listener)
            .field("tls", &self.tls)
            .field("starttls", &self.starttls)
            .finish_non_exhaustive()
    }
}

impl ConnectionInfo {
    /// Information for a connection that is not served by a [`Server`]
    /// (tests, custom accept loops): user claims are counted against
    /// `limits` in a tracker of its own.
    pub fn detached(
        peer: SocketAddr,
        local: SocketAddr,
        listener: &str,
        limits: ConnectionLimits,
    ) -> ConnectionInfo {
        ConnectionInfo {
            peer,
            local,
            listener: Arc::from(listener),
            tls: false,
            starttls: false,
            tracker: Tracker::new(limits),
        }
    }

    /// Counts a successful login of `user` against
    /// [`ConnectionLimits::per_user`]. Call it before answering the login
    /// with success; on `Err`, refuse the login (IMAP `NO [LIMIT]`, POP3
    /// `-ERR [IN-USE]`-style) instead. Keep the claim while the user is
    /// logged in.
    pub fn claim_user(&self, user: &str) -> Result<UserClaim, LimitExceeded> {
        self.tracker.claim_user(user)
    }

    /// Records a failed login from this client address and returns the
    /// [`Action::Delay`] to queue after the failure response: 2 seconds for
    /// the first failure, doubling with each further one from the same
    /// address (IPv6: /64), whatever connection it came on, up to 15
    /// seconds (see [`ConnectionLimits::login_delay`]). The count is
    /// forgotten on [`login_succeeded`](Self::login_succeeded) or an hour
    /// after the last failure.
    pub fn login_failed(&self) -> Action {
        Action::Delay(self.tracker.login_failed(self.peer.ip(), Instant::now()))
    }

    /// Records a successful login: the address's failures are forgotten.
    pub fn login_succeeded(&self) {
        self.tracker.login_succeeded(self.peer.ip());
    }

    /// Whether the client connects from a loopback address (plaintext login
    /// is usually allowed there without TLS).
    pub fn is_loopback(&self) -> bool {
        match self.peer.ip() {
            std::net::IpAddr::V4(v4) => v4.is_loopback(),
            std::net::IpAddr::V6(v6) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        }
    }
}

/// Per-connection settings of the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverConfig {
    /// Close the connection after this long without input. IMAP: 30
    /// minutes (RFC 3501 §5.4); POP3: 10 minutes (RFC 1939 §3).
    pub idle_timeout: Duration,
    /// Size of the read buffer, so the most input handed to the session at
    /// once. Default 16 KiB.
    pub read_buffer: usize,
    /// Output queued beyond this many bytes stops input from being read
    /// (back-pressure on a client that does not read its responses).
    /// Default 256 KiB.
    pub write_high_water: usize,
    /// How long a TLS handshake may take. Default 30 seconds.
    pub tls_handshake_timeout: Duration,
    /// How long sending the last output may take once the connection is
    /// closing. Default 10 seconds.
    pub close_timeout: Duration,
}

impl DriverConfig {
    /// IMAP: 30-minute idle timeout.
    pub fn imap() -> DriverConfig {
        DriverConfig {
            idle_timeout: Duration::from_secs(30 * 60),
            ..DriverConfig::pop3()
        }
    }

    /// POP3: 10-minute idle timeout.
    pub fn pop3() -> DriverConfig {
        DriverConfig {
            idle_timeout: Duration::from_secs(10 * 60),
            read_buffer: 16 * 1024,
            write_high_water: 256 * 1024,
            tls_handshake_timeout: Duration::from_secs(30),
            close_timeout: Duration::from_secs(10),
        }
    }

    /// Sets the idle timeout.
    pub fn with_idle_timeout(mut self, idle_timeout: Duration) -> DriverConfig {
        self.idle_timeout = idle_timeout;
        self
    }
}

impl Default for DriverConfig {
    /// The IMAP settings.
    fn default() -> Self {
        DriverConfig::imap()
    }
}

/// Where a server's shutdown stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ShutdownPhase {
    /// Serving.
    Running,
    /// No new connections; open ones are asked to finish
    /// ([`Protocol::handle_shutdown`]).
    Draining,
    /// The grace period is over: open connections send what is queued and
    /// close.
    Closing,
}

/// A receiver of a [`Server`]'s shutdown phases, handed to [`drive`].
#[derive(Clone, Debug)]
pub struct ShutdownToken {
    rx: watch::Receiver<ShutdownPhase>,
}

impl ShutdownToken {
    /// A token that never signals shutdown (for [`drive`] outside a
    /// [`Server`]).
    pub fn never() -> ShutdownToken {
        // With the sender gone the phase stays `Running` and `reached`
        // waits forever.
        let (_, rx) = watch::channel(ShutdownPhase::Running);
        ShutdownToken { rx }
    }

    /// The current phase.
    pub fn phase(&self) -> ShutdownPhase {
        *self.rx.borrow()
    }

    /// Waits until the phase is at least `phase`. If the [`Server`] is
    /// dropped first, waits forever.
    pub async fn reached(&mut self, phase: ShutdownPhase) {
        if self.rx.wait_for(|p| *p >= phase).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
