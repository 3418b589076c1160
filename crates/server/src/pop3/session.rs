//! [`Session`]: one POP3 connection's logic, without I/O.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use postroom_mailbox::MailboxError;
use postroom_pop3::{
    Capability, Command, Event, MessageNumber, ResponseCode, ServerConnection, SessionState,
    UsageError,
};
use postroom_types::{Secret, Uid};

use super::auth::{apop_timestamp, is_loopback, parse_plain};
use super::login::{Credentials, LoginJob, LoginOutcome, LoginResult};
use super::maildrop::{Maildrop, top_end};
use super::{Action, Config, ConnectionContext, MIN_AUTOLOGOUT, PlaintextAuth};
use crate::users::UserEntry;

/// Something that happened in a session, for logs (see
/// [`Session::poll_notice`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// A user logged in and the maildrop was opened.
    LoggedIn {
        /// The user name.
        user: String,
        /// The login command or SASL mechanism.
        method: &'static str,
    },
    /// A login failed because of the credentials.
    LoginFailed {
        /// The user name given, if any.
        user: Option<String>,
        /// The login command or SASL mechanism.
        method: &'static str,
    },
    /// A store operation failed; the client got `-ERR [SYS/TEMP]` (or, when
    /// setting `\Seen` after RETR, nothing).
    StoreError {
        /// What the session was doing.
        context: &'static str,
        /// The store's error message.
        error: String,
    },
    /// The UPDATE state removed this many messages.
    Updated {
        /// The messages that were marked as deleted.
        removed: usize,
    },
    /// The autologout timer closed the session (nothing was deleted).
    Autologout,
}

/// The server side of one POP3 connection: protocol state, login, and the
/// maildrop of the logged-in user.
///
/// The driver feeds input and time, sends output and performs
/// [`Action`]s; see the [module documentation](super) for an example.
pub struct Session {
    conn: ServerConnection,
    config: Arc<Config>,
    context: ConnectionContext,
    apop_timestamp: String,
    /// The name from an accepted USER, until PASS.
    pending_user: Option<String>,
    sasl: Sasl,
    user: Option<UserEntry>,
    maildrop: Option<Maildrop>,
    transfer: Option<Transfer>,
    actions: VecDeque<Action>,
    pub(super) notices: VecDeque<Notice>,
    /// A `Delay` was queued and not yet taken: no command is read until it
    /// is, so pipelined guesses are slowed down too.
    delay_pending: bool,
    /// A login job to hand to the driver.
    login_job: Option<LoginJob>,
    /// A login is being checked: no command is read until it is answered.
    login_pending: bool,
    login_failures: u32,
    last_activity: Instant,
    /// The transfer offset at the last timeout check.
    checked_progress: Option<usize>,
    closed: bool,
}

/// Where a SASL exchange stands.
#[derive(Debug)]
enum Sasl {
    None,
    /// PLAIN: the empty challenge was sent.
    Plain,
    /// LOGIN: `Username:` was sent.
    LoginUser,
    /// LOGIN: `Password:` was sent for this user name.
    LoginPassword(String),
}

/// A RETR or TOP body being handed to the codec chunk by chunk.
#[derive(Debug)]
struct Transfer {
    data: Arc<Vec<u8>>,
    pos: usize,
    end: usize,
    /// RETR sets `\Seen` on this message once the body is queued.
    seen: Option<Uid>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("state", &self.conn.state())
            .field("peer", &self.context.peer)
            .field("user", &self.user.as_ref().map(UserEntry::name))
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session in AUTHORIZATION with the greeting (and its APOP
    /// timestamp) queued; `now` starts the autologout timer.
    pub fn new(config: Arc<Config>, context: ConnectionContext, now: Instant) -> Session {
        let apop_timestamp = apop_timestamp(&config.hostname);
        let mut codec = config.codec.clone();
        codec.greeting = format!("{} {apop_timestamp}", config.greeting);
        let conn = if context.tls {
            ServerConnection::new_over_tls(codec)
        } else {
            ServerConnection::new(codec)
        };
        Session {
            conn,
            config,
            context,
            apop_timestamp,
            pending_user: None,
            sasl: Sasl::None,
            user: None,
            maildrop: None,
            transfer: None,
            actions: VecDeque::new(),
            notices: VecDeque::new(),
            delay_pending: false,
            login_job: None,
            login_pending: false,
            login_failures: 0,
            last_activity: now,
            checked_progress: None,
            closed: false,
        }
    }

    // ----- input -----

    /// Takes bytes from the client (any chunking) and answers the commands
    /// they complete, in order.
    pub fn handle_input(&mut self, now: Instant, input: &[u8]) {
        if self.closed {
            return;
        }
        self.last_activity = now;
        self.conn.handle_input(input);
        self.process();
    }

    /// The TLS handshake asked for by [`Action::StartTls`] finished; the
    /// session stays in AUTHORIZATION (RFC 2595 §4).
    pub fn handle_tls_started(&mut self) {
        if self.conn.handle_tls_started().is_ok() {
            self.process();
        }
    }

    /// Time passed: at [`next_timeout`](Self::next_timeout) or later, an
    /// idle session is closed without entering UPDATE, so nothing marked is
    /// deleted (RFC 1939 §3). A message still being sent counts as
    /// activity while it makes progress.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if let Some(t) = &self.transfer {
            if self.checked_progress != Some(t.pos) {
                self.checked_progress = Some(t.pos);
                self.last_activity = now;
                return;
            }
        }
        if self.next_timeout().is_some_and(|deadline| now >= deadline) {
            self.notices.push_back(Notice::Autologout);
            self.shut(true);
        }
    }

    // ----- output -----

    /// Appends bytes to send to `out` and returns how many: what is queued,
    /// plus at most one [`Config::chunk_size`] piece of a message being
    /// retrieved. Call it again while it returns more than zero. Pipelined
    /// commands behind a RETR are answered as its body completes.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> usize {
        self.pump();
        self.conn.poll_transmit(out)
    }

    /// The next thing only the driver can do.
    pub fn poll_action(&mut self) -> Option<Action> {
        let action = self.actions.pop_front();
        if matches!(action, Some(Action::Delay(_))) {
            self.delay_pending = false;
        }
        action
    }

    /// The login to check off the async threads, when
    /// [`Config::offload_logins`] is set: run it (it may block) and hand
    /// the outcome to [`handle_login_done`](Self::handle_login_done).
    pub fn poll_login_job(&mut self) -> Option<LoginJob> {
        self.login_job.take()
    }

    /// The outcome of the job from [`poll_login_job`](Self::poll_login_job):
    /// the login command is answered and the next commands are read.
    pub fn handle_login_done(&mut self, outcome: LoginOutcome) {
        if !self.login_pending || self.closed {
            // Closed meanwhile: dropping the outcome releases the maildrop.
            return;
        }
        self.login_pending = false;
        self.apply_login(outcome);
        self.process();
    }

    /// The next notice for logs.
    pub fn poll_notice(&mut self) -> Option<Notice> {
        self.notices.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called
    /// (`None` once closed).
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let after = self.config.autologout.max(MIN_AUTOLOGOUT);
        self.last_activity.checked_add(after)
    }

    // ----- getters -----

    /// The protocol state.
    pub fn state(&self) -> SessionState {
        self.conn.state()
    }

    /// The logged-in user.
    pub fn user(&self) -> Option<&UserEntry> {
        self.user.as_ref()
    }

    /// The APOP timestamp sent in the greeting.
    pub fn apop_timestamp(&self) -> &str {
        &self.apop_timestamp
    }

    /// Whether TLS is active.
    pub fn is_tls_active(&self) -> bool {
        self.conn.is_tls_active()
    }

    /// Whether the session has ended: send what
    /// [`poll_transmit`](Self::poll_transmit) gives, then close.
    pub fn is_closed(&self) -> bool {
        self.closed || self.conn.is_closed()
    }

    /// Closes the session now (a server shutdown) without entering
    /// UPDATE: nothing marked is deleted, the maildrop lock is released.
    pub fn close(&mut self) {
        self.shut(true);
    }

    // ----- the command loop -----

    /// Feeds at most one chunk of an open transfer; once none is open,
    /// answers the commands waiting in the codec.
    fn pump(&mut self) {
        if self.conn.is_closed() {
            // Nothing may follow the codec's last words.
            self.shut(false);
            return;
        }
        if let Some(t) = &mut self.transfer {
            let end = t
                .end
                .min(t.pos.saturating_add(self.config.chunk_size.max(1)));
            let result = self.conn.send_body_chunk(&t.data[t.pos..end]);
            t.pos = end;
            let done = t.pos >= t.end;
            self.check(result);
            if done {
                self.finish_transfer();
            }
        }
        if self.transfer.is_none() {
            self.process();
        }
    }

    fn finish_transfer(&mut self) {
        let Some(t) = self.transfer.take() else {
            return;
        };
        self.checked_progress = None;
        let result = self.conn.finish_multiline();
        self.check(result);
        // RFC 3501 §2.3.2: IMAP shows the message as read. Set when the
        // body is queued (as Courier does at RETR), not at QUIT.
        let marked = match (t.seen, &self.maildrop) {
            (Some(uid), Some(md)) => md.mark_seen(uid),
            _ => Ok(()),
        };
        if let Err(e) = marked {
            self.store_error("setting \\Seen after RETR", &e);
        }
    }

    fn process(&mut self) {
        if self.conn.is_closed() {
            // Closed by the codec (QUIT answered, too many bad commands,
            // input overflow): its Closing event carries nothing more.
            self.shut(false);
            return;
        }
        while self.transfer.is_none() && !self.delay_pending && !self.login_pending && !self.closed
        {
            let Some(event) = self.conn.poll_event() else {
                break;
            };
            self.handle_event(event);
        }
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::Command(command) => self.command(command),
            Event::Auth { mechanism, initial } => self.auth(&mechanism, initial),
            Event::SaslResponse(data) => self.sasl_response(data),
            Event::AuthAborted(_) => self.sasl = Sasl::None,
            Event::StartTls => {
                let result = if self.context.starttls && !self.conn.is_tls_active() {
                    let r = self.conn.respond_ok("Begin TLS negotiation");
                    self.actions.push_back(Action::StartTls);
                    r
                } else {
                    self.conn.respond_err(None, "STLS not available")
                };
                self.check(result);
            }
            Event::Closing(_) => self.shut(false),
            // Rejected commands and discarded plaintext were answered by
            // the codec.
            _ => {}
        }
    }

    fn command(&mut self, command: Command) {
        let result = match command {
            Command::User(name) => self.user_command(name),
            Command::Pass(password) => {
                let name = self.pending_user.take().unwrap_or_default();
                let password = Secret::new(password.into_inner().into_bytes());
                self.login(Credentials::Password { name, password }, "USER");
                Ok(())
            }
            Command::Apop { name, digest } => {
                let timestamp = self.apop_timestamp.clone();
                let credentials = Credentials::Apop {
                    name,
                    digest,
                    timestamp,
                };
                self.login(credentials, "APOP");
                Ok(())
            }
            Command::Capa => {
                let capabilities = self.capabilities();
                self.conn.respond_capabilities(&capabilities)
            }
            Command::Quit => self.quit(),
            Command::Utf8 | Command::Lang(_) => {
                self.conn.respond_err(None, "command not supported")
            }
            command => self.transaction(command),
        };
        self.check(result);
    }

    fn user_command(&mut self, name: String) -> Result<(), UsageError> {
        if !self.plaintext_allowed() {
            return self.conn.respond_err(
                Some(ResponseCode::Auth),
                "plaintext authentication disallowed without TLS",
            );
        }
        self.pending_user = Some(name);
        self.conn.respond_ok("send PASS")
    }

    fn auth(&mut self, mechanism: &str, initial: Option<Secret<Vec<u8>>>) {
        let result = if !matches!(mechanism, "PLAIN" | "LOGIN") {
            self.conn
                .respond_err(None, "unsupported authentication mechanism")
        } else if !self.plaintext_allowed() {
            self.conn.respond_err(
                Some(ResponseCode::Auth),
                "plaintext authentication disallowed without TLS",
            )
        } else {
            match (mechanism, initial) {
                ("PLAIN", Some(message)) => {
                    self.plain(message.expose_secret());
                    Ok(())
                }
                ("PLAIN", None) => {
                    self.sasl = Sasl::Plain;
                    self.conn.send_challenge(b"")
                }
                (_, Some(user)) => self.login_user(user.expose_secret()),
                (_, None) => {
                    self.sasl = Sasl::LoginUser;
                    self.conn.send_challenge(b"Username:")
                }
            }
        };
        self.check(result);
    }

    fn sasl_response(&mut self, data: Secret<Vec<u8>>) {
        let result = match std::mem::replace(&mut self.sasl, Sasl::None) {
            Sasl::Plain => {
                self.plain(data.expose_secret());
                Ok(())
            }
            Sasl::LoginUser => self.login_user(data.expose_secret()),
            Sasl::LoginPassword(name) => {
                let credentials = Credentials::Password {
                    name,
                    password: data,
                };
                self.login(credentials, "LOGIN");
                Ok(())
            }
            // The codec only sends a response after a challenge.
            Sasl::None => self.conn.respond_err(None, "unexpected SASL response"),
        };
        self.check(result);
    }

    fn plain(&mut self, message: &[u8]) {
        match parse_plain(message) {
            Some(c) => {
                let credentials = Credentials::Password {
                    name: c.authcid.to_owned(),
                    password: Secret::new(c.password.to_vec()),
                };
                self.login(credentials, "PLAIN");
            }
            None => self.login_failed(None, "PLAIN"),
        }
    }

    fn login_user(&mut self, name: &[u8]) -> Result<(), UsageError> {
        match std::str::from_utf8(name) {
            Ok(name) if !name.is_empty() => {
                self.sasl = Sasl::LoginPassword(name.to_owned());
                self.conn.send_challenge(b"Password:")
            }
            _ => {
                self.login_failed(None, "LOGIN");
                Ok(())
            }
        }
    }

    /// Checks a login: now, or (with [`Config::offload_logins`]) through
    /// a job the driver runs; no further command is read meanwhile.
    fn login(&mut self, credentials: Credentials, method: &'static str) {
        let job = LoginJob {
            users: Arc::clone(&self.config.users),
            storage: Arc::clone(&self.config.storage),
            credentials,
            method,
        };
        if self.config.offload_logins {
            self.login_job = Some(job);
            self.login_pending = true;
        } else {
            let outcome = job.run();
            self.apply_login(outcome);
        }
    }

    /// Answers the login command: `+OK` with the maildrop open, `[IN-USE]`,
    /// `[SYS/TEMP]`, or `[AUTH]` after the login delay.
    fn apply_login(&mut self, outcome: LoginOutcome) {
        let LoginOutcome {
            name,
            method,
            result,
        } = outcome;
        let result = match result {
            LoginResult::BadCredentials => {
                self.login_failed(Some(name), method);
                return;
            }
            LoginResult::Opened(entry, md) => {
                let (n, size) = md.stat();
                self.maildrop = Some(md);
                self.notices.push_back(Notice::LoggedIn {
                    user: entry.name().to_owned(),
                    method,
                });
                self.user = Some(*entry);
                self.conn
                    .respond_ok(&format!("maildrop has {n} messages ({size} octets)"))
            }
            LoginResult::InUse => self.conn.respond_err(
                Some(ResponseCode::InUse),
                "maildrop is locked by another POP3 session",
            ),
            LoginResult::Store(e) => {
                self.store_error("opening the maildrop", &e);
                self.conn.respond_err(
                    Some(ResponseCode::SysTemp),
                    "maildrop unavailable, try again later",
                )
            }
        };
        self.check(result);
    }

    /// Bad credentials: `-ERR [AUTH]` after the login delay; the connection
    /// closes after too many.
    fn login_failed(&mut self, user: Option<String>, method: &'static str) {
        self.notices.push_back(Notice::LoginFailed { user, method });
        self.login_failures = self.login_failures.saturating_add(1);
        if !self.config.login_delay.is_zero() {
            self.actions
                .push_back(Action::Delay(self.config.login_delay));
            self.delay_pending = true;
        }
        let result = self
            .conn
            .respond_err(Some(ResponseCode::Auth), "authentication failed");
        self.check(result);
        if self.login_failures >= self.config.max_login_failures {
            self.shut(true);
        }
    }

    /// QUIT: in AUTHORIZATION just ends; in TRANSACTION enters UPDATE and
    /// removes exactly the marked messages (RFC 1939 §6).
    fn quit(&mut self) -> Result<(), UsageError> {
        let Some(md) = self.maildrop.take() else {
            return self.conn.respond_ok("bye");
        };
        match md.update() {
            Ok(removed) => {
                self.notices.push_back(Notice::Updated { removed });
                self.conn
                    .respond_ok(&format!("bye, {removed} messages deleted"))
            }
            Err(e) => {
                self.store_error("removing deleted messages", &e);
                self.conn.respond_err(
                    Some(ResponseCode::SysTemp),
                    "some deleted messages not removed",
                )
            }
        }
    }

    /// The TRANSACTION commands (the codec only passes them on in that
    /// state).
    fn transaction(&mut self, command: Command) -> Result<(), UsageError> {
        let Some(md) = self.maildrop.as_mut() else {
            return self.conn.respond_err(None, "not logged in");
        };
        match command {
            Command::Stat => {
                let (n, size) = md.stat();
                self.conn.respond_ok(&format!("{n} {size}"))
            }
            Command::List(Some(n)) => match md.size(n.get()) {
                Ok(size) => self.conn.respond_ok(&format!("{n} {size}")),
                Err(e) => self.conn.respond_err(None, &e.text()),
            },
            Command::List(None) => {
                let (count, size) = md.stat();
                let lines: Vec<String> = md
                    .live_numbers()
                    .filter_map(|n| Some(format!("{n} {}", md.size(n).ok()?)))
                    .collect();
                self.multiline(&format!("{count} messages ({size} octets)"), &lines)
            }
            Command::Uidl(Some(n)) => match md.uidl(n.get()) {
                Ok(uidl) => self.conn.respond_ok(&format!("{n} {uidl}")),
                Err(e) => self.conn.respond_err(None, &e.text()),
            },
            Command::Uidl(None) => {
                let lines: Vec<String> = md
                    .live_numbers()
                    .filter_map(|n| Some(format!("{n} {}", md.uidl(n).ok()?)))
                    .collect();
                self.multiline("unique-id listing follows", &lines)
            }
            Command::Retr(n) => self.retrieve(n, None),
            Command::Top { msg, lines } => self.retrieve(msg, Some(lines)),
            Command::Dele(n) => match md.dele(n.get()) {
                Ok(()) => self.conn.respond_ok(&format!("message {n} deleted")),
                Err(e) => self.conn.respond_err(None, &e.text()),
            },
            Command::Noop => self.conn.respond_ok(""),
            Command::Rset => {
                md.rset();
                let (n, size) = md.stat();
                self.conn
                    .respond_ok(&format!("maildrop has {n} messages ({size} octets)"))
            }
            _ => self.conn.respond_err(None, "command not supported"),
        }
    }

    fn multiline(&mut self, first: &str, lines: &[String]) -> Result<(), UsageError> {
        self.conn.start_multiline(first)?;
        for line in lines {
            self.conn.send_line(line.as_bytes())?;
        }
        self.conn.finish_multiline()
    }

    /// RETR (`top` = None) or TOP: answers `+OK` and opens a transfer that
    /// [`pump`](Self::pump) feeds to the codec, which dot-stuffs it and
    /// turns bare LFs into CRLF (so the octets equal RFC822.SIZE).
    fn retrieve(&mut self, n: MessageNumber, top: Option<u32>) -> Result<(), UsageError> {
        let Some(md) = self.maildrop.as_ref() else {
            return self.conn.respond_err(None, "not logged in");
        };
        let (uid, size) = match md.uid(n.get()).and_then(|uid| Ok((uid, md.size(n.get())?))) {
            Ok(found) => found,
            Err(e) => return self.conn.respond_err(None, &e.text()),
        };
        let data = match md.mailbox().raw(uid) {
            Ok(data) => data,
            Err(MailboxError::NoSuchMessage(_)) => {
                return self
                    .conn
                    .respond_err(None, &format!("message {n} was expunged"));
            }
            Err(e) => {
                self.store_error("reading a message", &e);
                return self.conn.respond_err(
                    Some(ResponseCode::SysTemp),
                    "cannot read the message, try again later",
                );
            }
        };
        let (end, first, seen) = match top {
            None => (data.len(), format!("{size} octets"), Some(uid)),
            Some(lines) => (
                top_end(&data, lines),
                "top of message follows".to_owned(),
                None,
            ),
        };
        self.conn.start_multiline(&first)?;
        self.transfer = Some(Transfer {
            data,
            pos: 0,
            end,
            seen,
        });
        Ok(())
    }

    /// CAPA (RFC 2449 §5): what is valid in the current state.
    fn capabilities(&self) -> Vec<Capability> {
        let mut caps: Vec<Capability> =
            ["TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"]
                .into_iter()
                .map(Capability::new)
                .collect();
        if self.conn.state() == SessionState::Authorization {
            if self.plaintext_allowed() {
                caps.push(Capability::new("USER"));
                caps.push(Capability::with_params("SASL", ["PLAIN", "LOGIN"]));
            }
            // RFC 2595 §4: only while STLS is permitted.
            if self.context.starttls && !self.conn.is_tls_active() {
                caps.push(Capability::new("STLS"));
            }
        }
        if let Some(text) = &self.config.implementation {
            caps.push(Capability::with_params(
                "IMPLEMENTATION",
                text.split(' ').filter(|w| !w.is_empty()),
            ));
        }
        caps
    }

    fn plaintext_allowed(&self) -> bool {
        self.conn.is_tls_active()
            || match self.config.plaintext {
                PlaintextAuth::Always => true,
                PlaintextAuth::LoopbackOnly => is_loopback(self.context.peer.ip()),
                PlaintextAuth::Never => false,
            }
    }

    fn store_error(&mut self, context: &'static str, error: &MailboxError) {
        self.notices.push_back(Notice::StoreError {
            context,
            error: error.to_string(),
        });
    }

    /// Ends the session without UPDATE: the maildrop (and its lock) is
    /// dropped, marks are forgotten. `close_codec` closes the codec too
    /// (it closes itself after QUIT and on too many bad commands).
    fn shut(&mut self, close_codec: bool) {
        if self.closed {
            return;
        }
        if close_codec {
            self.conn.close();
        }
        self.closed = true;
        self.transfer = None;
        self.maildrop = None;
        self.sasl = Sasl::None;
        self.actions.push_back(Action::Close);
    }

    /// A codec usage error is a bug in this session; close the connection
    /// instead of sending something out of order.
    fn check(&mut self, result: Result<(), UsageError>) {
        if let Err(e) = result {
            debug_assert!(false, "codec usage error: {e}");
            self.shut(true);
        }
    }
}
