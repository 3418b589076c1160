//! The sans-IO server side of a POP3 connection.

use std::collections::VecDeque;

use postroom_types::{Limits, Secret};

use crate::command::{Command, CommandKind, decode_sasl, parse_command_line, strip_cr};
use crate::error::{CommandError, UsageError};
use crate::response::{Capability, Response, ResponseCode, encode_challenge};
use crate::stuffing::DotStuffer;

/// The protocol state of a session (RFC 1939 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Before a successful login.
    Authorization,
    /// Logged in: the maildrop is open.
    Transaction,
    /// QUIT was received in TRANSACTION: the server removes the messages
    /// marked as deleted, then answers and closes.
    Update,
}

/// Settings of a [`ServerConnection`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Bounds on input and output. `max_line` bounds command lines
    /// (without CRLF), `max_consecutive_bad` the bad commands in a row
    /// before the connection closes, `output_high_water` the queued output
    /// above which no further commands are read.
    pub limits: Limits,
    /// The greeting text after `+OK`; put an APOP timestamp `<...>` in it
    /// if you offer APOP (RFC 1939 §7).
    pub greeting: String,
    /// Longest SASL response line accepted (without CRLF). SASL responses
    /// are not commands, so the 255-octet limit does not apply to them.
    pub max_sasl_line: usize,
    /// Most unprocessed input buffered (pipelined commands waiting for the
    /// application to answer the one before). Above it the connection
    /// answers `-ERR` and closes.
    pub max_buffered_input: usize,
}

impl ServerConfig {
    /// The defaults ([`Limits::pop3_server`]) with the given greeting text.
    pub fn new(greeting: impl Into<String>) -> Self {
        ServerConfig {
            limits: Limits::pop3_server(),
            greeting: greeting.into(),
            max_sasl_line: 16 * 1024,
            max_buffered_input: 64 * 1024,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig::new("POP3 server ready")
    }
}

/// Something the application must act on, or may log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A command valid in the current state; answer it with
    /// [`ServerConnection::respond_ok`], [`ServerConnection::respond_err`] or,
    /// for CAPA, LIST, UIDL, LANG without argument, RETR and TOP, a
    /// multi-line response. AUTH and STLS come as their own events.
    Command(Command),
    /// `AUTH mechanism [initial-response]` (RFC 5034 §4). Answer with
    /// [`ServerConnection::send_challenge`] to continue the exchange,
    /// `respond_ok` to log the client in, or `respond_err` to refuse.
    Auth {
        /// The mechanism name, upper case.
        mechanism: String,
        /// The decoded initial response, if the client sent one.
        initial: Option<Secret<Vec<u8>>>,
    },
    /// The client's decoded answer to the last challenge.
    SaslResponse(Secret<Vec<u8>>),
    /// The AUTH exchange ended without the application deciding: the
    /// client cancelled with `*`, or sent a malformed response. The
    /// connection has answered `-ERR`; drop the SASL state.
    AuthAborted(AuthAbort),
    /// `STLS` (RFC 2595 §4), valid now. Answer `respond_ok` to start TLS
    /// (send what [`ServerConnection::poll_transmit`] gives, run the
    /// handshake, then call [`ServerConnection::handle_tls_started`]), or
    /// `respond_err` to refuse.
    StartTls,
    /// The connection answered a command with `-ERR` by itself. For logs.
    Rejected(Rejection),
    /// Plaintext that followed an accepted STLS, or arrived before the
    /// handshake, was thrown away (RFC 2595 §4; the CVE-2011-0411 class of
    /// command injection). For logs.
    PlaintextDiscarded {
        /// How many octets.
        octets: usize,
    },
    /// The connection is closing for the given reason, after sending what
    /// [`ServerConnection::poll_transmit`] still has.
    Closing(CloseReason),
}

/// Why an AUTH exchange ended (see [`Event::AuthAborted`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthAbort {
    /// The client sent `*` (RFC 5034 §4).
    Cancelled,
    /// The client's line was not valid base64.
    Malformed(CommandError),
}

/// Why the connection answered `-ERR` by itself (see [`Event::Rejected`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The line is not a valid command.
    Malformed(CommandError),
    /// The line is longer than the limit (RFC 2449 §4).
    LineTooLong {
        /// The limit, without CRLF.
        limit: usize,
    },
    /// The command is not valid in this state (RFC 1939 §3).
    NotAllowed {
        /// The command.
        command: CommandKind,
        /// The state.
        state: SessionState,
    },
    /// PASS did not directly follow a successful USER (RFC 1939 §7).
    PassWithoutUser,
    /// STLS while TLS is already active (RFC 2595 §4).
    TlsActive,
}

/// Why the connection closes (see [`Event::Closing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The QUIT command was answered.
    Quit,
    /// `max_consecutive_bad` bad commands came in a row.
    TooManyBadCommands,
    /// More than `max_buffered_input` octets waited unprocessed.
    InputOverflow,
    /// The application called [`ServerConnection::close`].
    Application,
}

/// The server side of a POP3 connection, without I/O.
///
/// Feed received bytes to [`handle_input`](Self::handle_input), take
/// [`Event`]s from [`poll_event`](Self::poll_event) and answer each command
/// event before the next comes (so answers go out in order even when the
/// client pipelines, RFC 2449 §6.6), and send what
/// [`poll_transmit`](Self::poll_transmit) gives. The connection tracks the
/// states of RFC 1939, rejects commands that are malformed, too long or not
/// valid in the current state with `-ERR` on its own, and dot-stuffs
/// multi-line responses. It knows nothing about mailboxes.
///
/// ```
/// use postroom_pop3::{Command, Event, ServerConfig, ServerConnection};
///
/// let mut conn = ServerConnection::new(ServerConfig::new("ready"));
/// conn.handle_input(b"CAPA\r\nQUIT\r\n");
/// let mut out = Vec::new();
/// while let Some(event) = conn.poll_event() {
///     match event {
///         Event::Command(Command::Capa) => {
///             conn.start_multiline("Capability list follows")?;
///             conn.send_line(b"USER")?;
///             conn.finish_multiline()?;
///         }
///         Event::Command(Command::Quit) => conn.respond_ok("bye")?,
///         _ => {}
///     }
/// }
/// conn.poll_transmit(&mut out);
/// assert_eq!(out, b"+OK ready\r\n+OK Capability list follows\r\nUSER\r\n.\r\n+OK bye\r\n");
/// assert!(conn.is_closed());
/// # Ok::<(), postroom_pop3::UsageError>(())
/// ```
#[derive(Debug)]
pub struct ServerConnection {
    config: ServerConfig,
    state: SessionState,
    input: Vec<u8>,
    /// Index in `input` of the first unprocessed byte.
    input_start: usize,
    /// Bytes after `input_start` already searched for a line feed.
    scanned: usize,
    /// An overlong line is being dropped up to its line feed.
    discarding: bool,
    output: Vec<u8>,
    events: VecDeque<Event>,
    pending: Option<Pending>,
    multiline: Option<DotStuffer>,
    user_accepted: bool,
    /// A challenge was sent; the next line is a SASL response.
    sasl_line_expected: bool,
    tls_active: bool,
    tls_pending: bool,
    utf8: bool,
    consecutive_bad: u32,
    closed: bool,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    kind: CommandKind,
    multiline: bool,
}

enum Frame {
    Line(Vec<u8>),
    TooLong,
}

impl ServerConnection {
    /// A connection in AUTHORIZATION with the greeting queued.
    pub fn new(config: ServerConfig) -> Self {
        let mut output = Vec::new();
        Response::ok(config.greeting.as_str()).encode(&mut output);
        ServerConnection {
            config,
            state: SessionState::Authorization,
            input: Vec::new(),
            input_start: 0,
            scanned: 0,
            discarding: false,
            output,
            events: VecDeque::new(),
            pending: None,
            multiline: None,
            user_accepted: false,
            sasl_line_expected: false,
            tls_active: false,
            tls_pending: false,
            utf8: false,
            consecutive_bad: 0,
            closed: false,
        }
    }

    /// As [`ServerConnection::new`], for a connection that is already
    /// inside TLS (port 995): STLS will be refused.
    pub fn new_over_tls(config: ServerConfig) -> Self {
        let mut conn = Self::new(config);
        conn.tls_active = true;
        conn
    }

    // ----- input -----

    /// Takes bytes received from the client, in chunks of any size.
    ///
    /// Bytes are only buffered here; commands are decoded by
    /// [`poll_event`](Self::poll_event), which should be drained after each
    /// call. Input after an accepted STLS and before
    /// [`handle_tls_started`](Self::handle_tls_started) is discarded. Input
    /// that arrives while a command waits for its answer is bounded by
    /// [`ServerConfig::max_buffered_input`].
    pub fn handle_input(&mut self, bytes: &[u8]) {
        if self.closed || bytes.is_empty() {
            return;
        }
        if self.tls_pending {
            self.events.push_back(Event::PlaintextDiscarded {
                octets: bytes.len(),
            });
            return;
        }
        // When the next line can be decoded right away, the bytes are only
        // held until the next poll_event (an overlong line is dropped
        // there), so a large read of garbage is answered with -ERR, not a
        // close. Input waiting behind an unanswered command is bounded.
        let decodable_now = self.pending.is_none() || self.sasl_line_expected;
        let buffered = self.input.len() - self.input_start;
        if !decodable_now && buffered.saturating_add(bytes.len()) > self.config.max_buffered_input {
            self.output
                .extend_from_slice(b"-ERR too much unprocessed input\r\n");
            self.close_for(CloseReason::InputOverflow);
            return;
        }
        self.input.extend_from_slice(bytes);
    }

    /// Reports that the TLS handshake after an accepted STLS has finished;
    /// the session stays in AUTHORIZATION (RFC 2595 §4).
    pub fn handle_tls_started(&mut self) -> Result<(), UsageError> {
        if !self.tls_pending {
            return Err(UsageError::NoTlsPending);
        }
        self.tls_pending = false;
        self.tls_active = true;
        Ok(())
    }

    // ----- output -----

    /// The next event, or `None` when more input (or an answer from the
    /// application) is needed first.
    ///
    /// No new command is decoded while the previous one is unanswered,
    /// while TLS is starting, or while more than `output_high_water` bytes
    /// wait in [`poll_transmit`](Self::poll_transmit).
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(event) = self.events.pop_front() {
            return Some(event);
        }
        if self.closed
            || self.tls_pending
            || (self.pending.is_some() && !self.sasl_line_expected)
            || self.output.len() >= self.config.limits.output_high_water
        {
            return None;
        }
        let limit = if self.sasl_line_expected {
            self.config.max_sasl_line
        } else {
            self.config.limits.max_line
        };
        let event = match self.next_frame(limit)? {
            Frame::TooLong => self.reject(Rejection::LineTooLong { limit }),
            Frame::Line(line) if self.sasl_line_expected => self.sasl_line(&line),
            Frame::Line(line) => self.command_line(&line),
        };
        Some(event)
    }

    /// Appends the bytes to send to `out`; returns how many.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.output.len();
        if out.is_empty() {
            std::mem::swap(out, &mut self.output);
        } else {
            out.extend_from_slice(&self.output);
            self.output.clear();
        }
        n
    }

    // ----- application calls -----

    /// Answers the pending command with a status line.
    ///
    /// State changes follow the answer: `+OK` to PASS, APOP or AUTH enters
    /// TRANSACTION; `+OK` to STLS discards buffered input and waits for
    /// [`handle_tls_started`](Self::handle_tls_started); `+OK` to UTF8
    /// enables UTF-8 mode; any answer to QUIT closes the connection.
    pub fn respond(&mut self, response: Response) -> Result<(), UsageError> {
        self.check_answerable()?;
        let pending = self.pending.take().ok_or(UsageError::NothingToAnswer)?;
        response.encode(&mut self.output);
        let ok = response.is_ok();
        match pending.kind {
            CommandKind::User => self.user_accepted = ok,
            CommandKind::Pass | CommandKind::Apop | CommandKind::Auth if ok => {
                self.state = SessionState::Transaction;
            }
            CommandKind::Stls if ok => {
                // RFC 2595 §4 and CVE-2011-0411: nothing the client sent in
                // plaintext after STLS may be read as a command under TLS.
                let octets = self.input.len() - self.input_start;
                self.input.clear();
                self.input_start = 0;
                self.scanned = 0;
                self.discarding = false;
                if octets > 0 {
                    self.events.push_back(Event::PlaintextDiscarded { octets });
                }
                self.tls_pending = true;
            }
            CommandKind::Utf8 if ok => self.utf8 = true,
            CommandKind::Quit => self.close_for(CloseReason::Quit),
            _ => {}
        }
        Ok(())
    }

    /// Answers the pending command with `+OK text`.
    pub fn respond_ok(&mut self, text: &str) -> Result<(), UsageError> {
        self.respond(Response::ok(text))
    }

    /// Answers the pending command with `-ERR [code] text`.
    pub fn respond_err(
        &mut self,
        code: Option<ResponseCode>,
        text: &str,
    ) -> Result<(), UsageError> {
        let mut response = Response::err(text);
        response.code = code;
        self.respond(response)
    }

    /// Starts a multi-line answer: sends `+OK text`; the body follows with
    /// [`send_body_chunk`](Self::send_body_chunk) or
    /// [`send_line`](Self::send_line) and ends with
    /// [`finish_multiline`](Self::finish_multiline).
    ///
    /// Only CAPA, LIST and UIDL without argument, LANG without argument,
    /// RETR and TOP have multi-line answers.
    pub fn start_multiline(&mut self, text: &str) -> Result<(), UsageError> {
        self.check_answerable()?;
        let pending = self.pending.ok_or(UsageError::NothingToAnswer)?;
        if !pending.multiline {
            return Err(UsageError::NotMultiline {
                command: pending.kind.keyword(),
            });
        }
        Response::ok(text).encode(&mut self.output);
        self.multiline = Some(DotStuffer::new());
        Ok(())
    }

    /// Sends a piece of the body, dot-stuffed; LF line ends go out as CRLF.
    /// Chunks may split lines anywhere.
    pub fn send_body_chunk(&mut self, chunk: &[u8]) -> Result<(), UsageError> {
        let stuffer = self.multiline.as_mut().ok_or(UsageError::NoMultiline)?;
        stuffer.encode(chunk, &mut self.output);
        Ok(())
    }

    /// Sends one line of a multi-line answer (a scan listing line, a
    /// capability), dot-stuffed, and ends it with CRLF.
    pub fn send_line(&mut self, line: &[u8]) -> Result<(), UsageError> {
        let stuffer = self.multiline.as_mut().ok_or(UsageError::NoMultiline)?;
        stuffer.encode(line, &mut self.output);
        stuffer.encode(b"\r\n", &mut self.output);
        Ok(())
    }

    /// Ends the multi-line answer: a CRLF if the body lacked one, then `.`.
    pub fn finish_multiline(&mut self) -> Result<(), UsageError> {
        let mut stuffer = self.multiline.take().ok_or(UsageError::NoMultiline)?;
        stuffer.finish(&mut self.output);
        self.pending = None;
        Ok(())
    }

    /// Answers a pending CAPA with the given capabilities (RFC 2449 §5).
    pub fn respond_capabilities(&mut self, capabilities: &[Capability]) -> Result<(), UsageError> {
        match self.pending {
            Some(p) if p.kind == CommandKind::Capa => {}
            Some(p) => {
                return Err(UsageError::NotMultiline {
                    command: p.kind.keyword(),
                });
            }
            None => return Err(UsageError::NothingToAnswer),
        }
        self.start_multiline("Capability list follows")?;
        let mut line = Vec::new();
        for capability in capabilities {
            line.clear();
            capability.encode(&mut line);
            self.send_line(&line)?;
        }
        self.finish_multiline()
    }

    /// Continues a pending AUTH exchange with a challenge `+ base64`
    /// (RFC 5034 §4); the client's answer comes as
    /// [`Event::SaslResponse`] or [`Event::AuthAborted`].
    pub fn send_challenge(&mut self, challenge: &[u8]) -> Result<(), UsageError> {
        self.check_answerable()?;
        match self.pending {
            Some(p) if p.kind == CommandKind::Auth => {}
            _ => return Err(UsageError::NoAuthExchange),
        }
        encode_challenge(challenge, &mut self.output);
        self.sasl_line_expected = true;
        Ok(())
    }

    /// Closes the connection (an inactivity timeout, a shutdown): no
    /// further events; send what is queued, then close the socket.
    ///
    /// The state does not change: a session closed in TRANSACTION never
    /// enters UPDATE, so messages marked as deleted must stay (RFC 1939 §3).
    /// The connection reads no clock; the application runs the autologout
    /// timer, which must be at least 10 minutes (RFC 1939 §3).
    pub fn close(&mut self) {
        self.close_for(CloseReason::Application);
    }

    // ----- getters -----

    /// The session state.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The APOP timestamp of the greeting (the first `<...>` in it), which
    /// an APOP digest must be checked against (RFC 1939 §7).
    pub fn apop_timestamp(&self) -> Option<&str> {
        let greeting = &self.config.greeting;
        let start = greeting.find('<')?;
        let len = greeting[start..].find('>')?;
        Some(&greeting[start..=start + len])
    }

    /// The command waiting for an answer, if any.
    pub fn pending_command(&self) -> Option<CommandKind> {
        self.pending.map(|p| p.kind)
    }

    /// Whether a multi-line answer is being streamed.
    pub fn is_multiline_open(&self) -> bool {
        self.multiline.is_some()
    }

    /// Whether the connection is closed or closing: send what
    /// [`poll_transmit`](Self::poll_transmit) gives, then close the socket.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether TLS is active (after STLS or from the start).
    pub fn is_tls_active(&self) -> bool {
        self.tls_active
    }

    /// Whether STLS was accepted and the handshake is awaited.
    pub fn is_tls_pending(&self) -> bool {
        self.tls_pending
    }

    /// Whether the client enabled UTF-8 mode (RFC 6856 §2).
    pub fn is_utf8(&self) -> bool {
        self.utf8
    }

    /// Bytes waiting in [`poll_transmit`](Self::poll_transmit).
    pub fn buffered_output(&self) -> usize {
        self.output.len()
    }

    /// Whether reading more from the socket is useful now: false while a
    /// command waits for its answer with input already buffered, while TLS
    /// starts, and once closed. A driver that honours it keeps the input
    /// buffer small under pipelining.
    pub fn wants_input(&self) -> bool {
        !self.closed
            && !self.tls_pending
            && (self.pending.is_none() || self.input.len() == self.input_start)
    }

    // ----- helpers -----

    fn check_answerable(&self) -> Result<(), UsageError> {
        if self.closed {
            return Err(UsageError::Closed);
        }
        if self.multiline.is_some() {
            return Err(UsageError::MultilineInProgress);
        }
        if self.sasl_line_expected {
            return Err(UsageError::MustWait {
                reason: "the client has not answered the SASL challenge",
            });
        }
        Ok(())
    }

    fn close_for(&mut self, reason: CloseReason) {
        if !self.closed {
            self.closed = true;
            self.input = Vec::new();
            self.input_start = 0;
            self.events.push_back(Event::Closing(reason));
        }
    }

    fn consume(&mut self, n: usize) {
        self.input_start += n;
        self.scanned = 0;
        if self.input_start == self.input.len() {
            self.input.clear();
            self.input_start = 0;
        } else if self.input_start > 4096 && self.input_start * 2 > self.input.len() {
            self.input.drain(..self.input_start);
            self.input_start = 0;
        }
    }

    /// Splits the next line off the buffered input; each byte is searched
    /// for a line feed once.
    fn next_frame(&mut self, limit: usize) -> Option<Frame> {
        let buffered = &self.input[self.input_start..];
        if self.discarding {
            return match memchr::memchr(b'\n', buffered) {
                Some(lf) => {
                    self.discarding = false;
                    self.consume(lf + 1);
                    Some(Frame::TooLong)
                }
                None => {
                    let n = buffered.len();
                    self.consume(n);
                    None
                }
            };
        }
        match memchr::memchr(b'\n', &buffered[self.scanned..]) {
            Some(i) => {
                let lf = self.scanned + i;
                let line = strip_cr(&buffered[..lf]);
                let frame = if line.len() > limit {
                    Frame::TooLong
                } else {
                    Frame::Line(line.to_vec())
                };
                self.consume(lf + 1);
                Some(frame)
            }
            None => {
                self.scanned = buffered.len();
                // One more byte than the limit may be the CR of a CRLF.
                if buffered.len() > limit.saturating_add(1) {
                    self.discarding = true;
                    let n = buffered.len();
                    self.consume(n);
                }
                None
            }
        }
    }

    fn reject(&mut self, rejection: Rejection) -> Event {
        let text = match &rejection {
            Rejection::Malformed(e) => e.to_string(),
            Rejection::LineTooLong { limit } => {
                format!("line too long (limit {} octets with CRLF)", limit + 2)
            }
            Rejection::NotAllowed { command, .. } => {
                format!("{command} not valid in this state")
            }
            Rejection::PassWithoutUser => "PASS must follow a successful USER".to_owned(),
            Rejection::TlsActive => "command not permitted when TLS active".to_owned(),
        };
        Response::err(text).encode(&mut self.output);
        self.user_accepted = false;
        self.consecutive_bad = self.consecutive_bad.saturating_add(1);
        if self.consecutive_bad >= self.config.limits.max_consecutive_bad {
            self.close_for(CloseReason::TooManyBadCommands);
        }
        Event::Rejected(rejection)
    }

    fn command_line(&mut self, line: &[u8]) -> Event {
        let command = match parse_command_line(line) {
            Ok(command) => command,
            Err(e) => return self.reject(Rejection::Malformed(e)),
        };
        let kind = command.kind();
        if let Err(rejection) = self.check_allowed(kind) {
            return self.reject(rejection);
        }
        self.consecutive_bad = 0;
        self.user_accepted = false;
        self.pending = Some(Pending {
            kind,
            multiline: command.has_multiline_answer(),
        });
        match command {
            Command::Stls => Event::StartTls,
            Command::Auth { mechanism, initial } => Event::Auth { mechanism, initial },
            Command::Quit => {
                // RFC 1939 §6: QUIT in TRANSACTION enters UPDATE.
                if self.state == SessionState::Transaction {
                    self.state = SessionState::Update;
                }
                Event::Command(Command::Quit)
            }
            command => Event::Command(command),
        }
    }

    /// Which commands each state allows (RFC 1939 §4-§7, RFC 2449 §5,
    /// RFC 2595 §4, RFC 5034 §4, RFC 6856 §2-§3).
    fn check_allowed(&self, kind: CommandKind) -> Result<(), Rejection> {
        use CommandKind as K;
        let allowed = match self.state {
            SessionState::Authorization => match kind {
                K::Pass if !self.user_accepted => return Err(Rejection::PassWithoutUser),
                K::Stls if self.tls_active => return Err(Rejection::TlsActive),
                K::User
                | K::Pass
                | K::Apop
                | K::Auth
                | K::Capa
                | K::Stls
                | K::Utf8
                | K::Lang
                | K::Quit => true,
                _ => false,
            },
            SessionState::Transaction => matches!(
                kind,
                K::Stat
                    | K::List
                    | K::Retr
                    | K::Dele
                    | K::Noop
                    | K::Rset
                    | K::Quit
                    | K::Top
                    | K::Uidl
                    | K::Capa
                    | K::Lang
            ),
            SessionState::Update => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(Rejection::NotAllowed {
                command: kind,
                state: self.state,
            })
        }
    }

    fn sasl_line(&mut self, line: &[u8]) -> Event {
        self.sasl_line_expected = false;
        // RFC 5034 §4: `*` cancels; the server MUST answer -ERR.
        let abort = if line == b"*" {
            AuthAbort::Cancelled
        } else {
            match decode_sasl(line, 0) {
                Ok(data) => return Event::SaslResponse(Secret::new(data)),
                Err(e) => AuthAbort::Malformed(e),
            }
        };
        let text = match &abort {
            AuthAbort::Cancelled => "authentication cancelled".to_owned(),
            AuthAbort::Malformed(e) => e.to_string(),
        };
        Response::err(text).encode(&mut self.output);
        self.pending = None;
        Event::AuthAborted(abort)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::MessageNumber;

    fn drain(conn: &mut ServerConnection) -> String {
        let mut out = Vec::new();
        conn.poll_transmit(&mut out);
        String::from_utf8(out).expect("test output is UTF-8")
    }

    fn greeted() -> ServerConnection {
        let mut conn = ServerConnection::new(ServerConfig::new("ready"));
        assert_eq!(drain(&mut conn), "+OK ready\r\n");
        conn
    }

    fn login(conn: &mut ServerConnection) {
        conn.handle_input(b"USER a\r\nPASS b\r\n");
        assert!(matches!(
            conn.poll_event(),
            Some(Event::Command(Command::User(_)))
        ));
        conn.respond_ok("").expect("USER pending");
        assert!(matches!(
            conn.poll_event(),
            Some(Event::Command(Command::Pass(_)))
        ));
        conn.respond_ok("locked").expect("PASS pending");
        assert_eq!(conn.state(), SessionState::Transaction);
        drain(conn);
    }

    #[test]
    fn pipelined_answers_stay_in_order() {
        let mut conn = greeted();
        login(&mut conn);
        conn.handle_input(b"STAT\r\nBOGUS\r\nRETR 1\r\nNOOP\r\n");
        assert_eq!(conn.poll_event(), Some(Event::Command(Command::Stat)));
        // Nothing further until STAT is answered.
        assert_eq!(conn.poll_event(), None);
        assert!(!conn.wants_input());
        conn.respond_ok("1 5").expect("pending");
        assert!(matches!(conn.poll_event(), Some(Event::Rejected(_))));
        let one = MessageNumber::new(1).expect("positive");
        assert_eq!(conn.poll_event(), Some(Event::Command(Command::Retr(one))));
        conn.start_multiline("5 octets")
            .expect("RETR is multi-line");
        conn.send_body_chunk(b".a\nb").expect("open");
        conn.finish_multiline().expect("open");
        assert_eq!(conn.poll_event(), Some(Event::Command(Command::Noop)));
        conn.respond_ok("").expect("pending");
        assert_eq!(
            drain(&mut conn),
            "+OK 1 5\r\n-ERR unknown command \"BOGUS\" at byte 0\r\n+OK 5 octets\r\n..a\r\nb\r\n.\r\n+OK\r\n"
        );
    }

    #[test]
    fn states_are_enforced() {
        let mut conn = greeted();
        conn.handle_input(b"STAT\r\nPASS x\r\nNOOP\r\n");
        for _ in 0..3 {
            assert!(matches!(conn.poll_event(), Some(Event::Rejected(_))));
        }
        assert_eq!(
            drain(&mut conn),
            "-ERR STAT not valid in this state\r\n-ERR PASS must follow a successful USER\r\n-ERR NOOP not valid in this state\r\n"
        );
        login(&mut conn);
        conn.handle_input(b"USER x\r\nSTLS\r\nQUIT\r\n");
        assert!(matches!(conn.poll_event(), Some(Event::Rejected(_))));
        assert!(matches!(conn.poll_event(), Some(Event::Rejected(_))));
        assert_eq!(conn.poll_event(), Some(Event::Command(Command::Quit)));
        assert_eq!(conn.state(), SessionState::Update);
        conn.respond_ok("bye").expect("pending");
        assert_eq!(conn.poll_event(), Some(Event::Closing(CloseReason::Quit)));
        assert!(conn.is_closed());
        assert_eq!(conn.respond_ok("x"), Err(UsageError::Closed));
    }

    #[test]
    fn usage_errors_leave_nothing_queued() {
        let mut conn = greeted();
        assert_eq!(conn.respond_ok("x"), Err(UsageError::NothingToAnswer));
        assert_eq!(conn.send_body_chunk(b"x"), Err(UsageError::NoMultiline));
        conn.handle_input(b"USER a\r\n");
        assert!(conn.poll_event().is_some());
        assert_eq!(
            conn.start_multiline("x"),
            Err(UsageError::NotMultiline { command: "USER" })
        );
        assert_eq!(conn.send_challenge(b""), Err(UsageError::NoAuthExchange));
        assert_eq!(drain(&mut conn), "");
    }

    #[test]
    fn long_lines_are_refused_and_the_session_goes_on() {
        let mut conn = greeted();
        let mut long = vec![b'A'; 1000];
        long.extend_from_slice(b"\r\nCAPA\r\n");
        // Split so that the overlong line arrives in pieces.
        for piece in long.chunks(7) {
            conn.handle_input(piece);
            while let Some(event) = conn.poll_event() {
                match event {
                    Event::Rejected(Rejection::LineTooLong { limit: 253 }) => {}
                    Event::Command(Command::Capa) => {
                        conn.respond_capabilities(&[Capability::new("USER")])
                            .expect("CAPA pending");
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        assert_eq!(
            drain(&mut conn),
            "-ERR line too long (limit 255 octets with CRLF)\r\n+OK Capability list follows\r\nUSER\r\n.\r\n"
        );
        // Exactly 255 octets with CRLF is accepted.
        let mut line = b"USER ".to_vec();
        line.resize(253, b'u');
        line.extend_from_slice(b"\r\n");
        conn.handle_input(&line);
        assert!(matches!(
            conn.poll_event(),
            Some(Event::Command(Command::User(_)))
        ));
    }

    #[test]
    fn one_large_read_of_garbage_is_refused_not_fatal() {
        let mut conn = greeted();
        let mut input = vec![b'g'; 200_000];
        input.extend_from_slice(b"\r\nCAPA\r\n");
        conn.handle_input(&input);
        assert_eq!(
            conn.poll_event(),
            Some(Event::Rejected(Rejection::LineTooLong { limit: 253 }))
        );
        assert_eq!(conn.poll_event(), Some(Event::Command(Command::Capa)));
        assert!(!conn.is_closed());
    }

    #[test]
    fn repeated_abuse_closes() {
        let mut conn = greeted();
        for _ in 0..10 {
            conn.handle_input(b"nonsense\r\n");
        }
        let mut rejected = 0;
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Rejected(_) => rejected += 1,
                Event::Closing(CloseReason::TooManyBadCommands) => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(rejected, 10);
        assert!(conn.is_closed());
        conn.handle_input(b"CAPA\r\n");
        assert_eq!(conn.poll_event(), None);
    }

    #[test]
    fn input_overflow_closes() {
        let mut conn = greeted();
        login(&mut conn);
        conn.handle_input(b"STAT\r\n");
        assert!(conn.poll_event().is_some());
        for _ in 0..70 {
            conn.handle_input(&[b'N'; 1024]);
        }
        assert_eq!(
            conn.poll_event(),
            Some(Event::Closing(CloseReason::InputOverflow))
        );
    }

    #[test]
    fn stls_discards_pipelined_plaintext() {
        let mut conn = greeted();
        conn.handle_input(b"STLS\r\nUSER evil\r\n");
        assert_eq!(conn.poll_event(), Some(Event::StartTls));
        conn.respond_ok("Begin TLS negotiation").expect("pending");
        assert_eq!(
            conn.poll_event(),
            Some(Event::PlaintextDiscarded { octets: 11 })
        );
        conn.handle_input(b"more");
        assert_eq!(
            conn.poll_event(),
            Some(Event::PlaintextDiscarded { octets: 4 })
        );
        assert_eq!(conn.poll_event(), None);
        conn.handle_tls_started().expect("STLS accepted");
        assert!(conn.is_tls_active());
        conn.handle_input(b"STLS\r\nCAPA\r\n");
        assert_eq!(
            conn.poll_event(),
            Some(Event::Rejected(Rejection::TlsActive))
        );
        assert_eq!(conn.poll_event(), Some(Event::Command(Command::Capa)));
        assert_eq!(conn.state(), SessionState::Authorization);
    }

    #[test]
    fn output_high_water_pauses_decoding() {
        let mut config = ServerConfig::new("ready");
        config.limits.output_high_water = 64;
        let mut conn = ServerConnection::new(config);
        login(&mut conn);
        conn.handle_input(b"RETR 1\r\nNOOP\r\n");
        assert!(matches!(
            conn.poll_event(),
            Some(Event::Command(Command::Retr(_)))
        ));
        conn.start_multiline("").expect("RETR");
        conn.send_body_chunk(&[b'x'; 100]).expect("open");
        conn.finish_multiline().expect("open");
        assert_eq!(conn.poll_event(), None);
        assert!(conn.buffered_output() > 64);
        drain(&mut conn);
        assert_eq!(conn.poll_event(), Some(Event::Command(Command::Noop)));
    }

    #[test]
    fn getters_and_close() {
        let mut conn =
            ServerConnection::new_over_tls(ServerConfig::new("ready <1.2@example.org> x"));
        assert_eq!(conn.apop_timestamp(), Some("<1.2@example.org>"));
        assert!(conn.is_tls_active());
        assert!(conn.wants_input());
        conn.handle_input(b"STLS\r\nUTF8\r\n");
        assert_eq!(
            conn.poll_event(),
            Some(Event::Rejected(Rejection::TlsActive))
        );
        assert_eq!(conn.poll_event(), Some(Event::Command(Command::Utf8)));
        assert_eq!(conn.pending_command(), Some(CommandKind::Utf8));
        conn.respond_ok("UTF8 enabled").expect("pending");
        assert!(conn.is_utf8());
        assert_eq!(conn.handle_tls_started(), Err(UsageError::NoTlsPending));
        conn.close();
        assert!(conn.is_closed() && !conn.wants_input());
        assert_eq!(
            conn.poll_event(),
            Some(Event::Closing(CloseReason::Application))
        );
        assert_eq!(conn.poll_event(), None);
    }

    #[test]
    fn sasl_exchange_and_cancel() {
        let mut conn = greeted();
        conn.handle_input(b"AUTH PLAIN\r\n");
        assert_eq!(
            conn.poll_event(),
            Some(Event::Auth {
                mechanism: "PLAIN".into(),
                initial: None
            })
        );
        conn.send_challenge(b"").expect("AUTH pending");
        assert_eq!(
            conn.respond_ok("x"),
            Err(UsageError::MustWait {
                reason: "the client has not answered the SASL challenge"
            })
        );
        // A long SASL response is not a command line: no 255-octet limit.
        let mut response = Vec::new();
        crate::command::encode_sasl(&[b'x'; 400], &mut response);
        conn.handle_input(&response);
        conn.handle_input(b"\r\n");
        assert_eq!(
            conn.poll_event(),
            Some(Event::SaslResponse(Secret::new(vec![b'x'; 400])))
        );
        conn.send_challenge(b"more?").expect("AUTH pending");
        conn.handle_input(b"*\r\n");
        assert_eq!(
            conn.poll_event(),
            Some(Event::AuthAborted(AuthAbort::Cancelled))
        );
        assert_eq!(
            drain(&mut conn),
            "+ \r\n+ bW9yZT8=\r\n-ERR authentication cancelled\r\n"
        );
        conn.handle_input(b"AUTH PLAIN AGEAYg==\r\n");
        assert_eq!(
            conn.poll_event(),
            Some(Event::Auth {
                mechanism: "PLAIN".into(),
                initial: Some(Secret::new(b"\0a\0b".to_vec()))
            })
        );
        conn.respond_ok("welcome").expect("pending");
        assert_eq!(conn.state(), SessionState::Transaction);
    }
}
