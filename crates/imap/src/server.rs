//! The sans-IO server connection: framing, parsing, the IMAP state machine
//! (RFC 3501 §3), continuation requests, the AUTHENTICATE exchange, IDLE,
//! STARTTLS, and the limits that protect the server.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use base64::Engine;
use postroom_types::{Limits, Secret};

use crate::command::{Atom, Command, Tag, TaggedCommand, ValidIn};
use crate::command_parse::{CommandParseOptions, parse_command};
use crate::error::{FrameError, ParseError};
use crate::framer::{Frame, Framer, Side};
use crate::response::{Code, Continuation, Data, Response, StatusKind, StatusResponse};
use crate::response_encode::encode_response;
use crate::sasl::{self, Credentials, SaslError};

/// The connection state (RFC 3501 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Before LOGIN/AUTHENTICATE.
    NotAuthenticated,
    /// Logged in, no mailbox selected.
    Authenticated,
    /// A mailbox is selected.
    Selected,
    /// LOGOUT was answered or the connection is closing.
    Logout,
}

/// Server configuration.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Input limits (the defaults are [`Limits::imap_server`]).
    pub limits: Limits,
    /// The greeting (`* OK ...`, `* PREAUTH ...` or `* BYE ...`).
    pub greeting: StatusResponse,
    /// Whether `{n+}` literals are accepted (advertise `LITERAL+`, or
    /// `LITERAL-` with [`ServerConfig::literal_minus`]).
    pub literal_plus: bool,
    /// LITERAL- (RFC 7888 §5): `{n+}` only up to 4096 bytes.
    pub literal_minus: bool,
    /// Whether STARTTLS may be used (the connection is not yet TLS).
    pub starttls: bool,
    /// Whether the connection runs AUTHENTICATE PLAIN and LOGIN itself and
    /// reports [`ServerEvent::Authenticate`] (other mechanisms are always
    /// left to the application).
    pub builtin_sasl: bool,
    /// Inactivity limit; RFC 3501 §5.4 requires at least 30 minutes once
    /// authenticated.
    pub autologout: Duration,
    /// Inactivity limit before authentication.
    pub autologout_unauthenticated: Duration,
}

impl ServerConfig {
    /// A configuration with a `* OK` greeting carrying `capabilities`.
    pub fn new(capabilities: Vec<Atom>) -> ServerConfig {
        ServerConfig {
            limits: Limits::imap_server(),
            greeting: StatusResponse::untagged(
                StatusKind::Ok,
                Some(Code::Capability(capabilities)),
                "IMAP4rev1 server ready",
            ),
            literal_plus: true,
            literal_minus: false,
            starttls: false,
            builtin_sasl: true,
            autologout: Duration::from_secs(30 * 60),
            autologout_unauthenticated: Duration::from_secs(60),
        }
    }
}

/// Something the application must act on.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A command valid in the current state. Answer with
    /// [`ServerConnection::respond`] and finish with
    /// [`ServerConnection::complete`].
    Command {
        /// The tag.
        tag: Tag,
        /// The command.
        command: Command,
    },
    /// AUTHENTICATE PLAIN or LOGIN finished its exchange (with
    /// [`ServerConfig::builtin_sasl`]): check the credentials and complete
    /// the tag.
    Authenticate {
        /// The tag.
        tag: Tag,
        /// `PLAIN` or `LOGIN`.
        mechanism: Atom,
        /// The credentials.
        credentials: Credentials,
    },
    /// A client response in an AUTHENTICATE exchange the application runs
    /// (after [`ServerConnection::authenticate_challenge`]), base64-decoded.
    AuthenticateData {
        /// The tag of the AUTHENTICATE command.
        tag: Tag,
        /// The decoded response.
        data: Secret<Vec<u8>>,
    },
    /// The client cancelled AUTHENTICATE with `*`; the connection answered
    /// `BAD`.
    AuthenticateCancelled {
        /// The tag.
        tag: Tag,
    },
    /// The client ended IDLE with `DONE`: send what is pending and complete
    /// the tag.
    IdleDone {
        /// The tag of the IDLE command.
        tag: Tag,
    },
    /// STARTTLS was requested. Complete the tag with OK and then start TLS
    /// on the transport; buffered plaintext is discarded on completion.
    StartTls {
        /// The tag.
        tag: Tag,
    },
    /// The peer broke the protocol; the connection already answered
    /// (`BAD`, or `BYE` and closing). For logs.
    ProtocolViolation {
        /// The tag, when known.
        tag: Option<Tag>,
        /// What happened.
        error: ServerError,
    },
    /// The connection is closed: send what [`ServerConnection::poll_transmit`]
    /// still yields, then close the transport.
    Closed,
}

/// A protocol violation seen by the server connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A limit refused the command before parsing.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The command does not follow the grammar.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The command is not valid in the current state.
    #[error("{command} is not valid in the {state:?} state")]
    InvalidState {
        /// The command name.
        command: &'static str,
        /// The state.
        state: State,
    },
    /// STARTTLS is not available.
    #[error("STARTTLS is not available")]
    StartTlsUnavailable,
    /// A bad AUTHENTICATE exchange.
    #[error(transparent)]
    Sasl(#[from] SaslError),
    /// A line other than `DONE` during IDLE.
    #[error("expected DONE during IDLE")]
    ExpectedDone,
    /// Plaintext arrived after STARTTLS and was discarded (RFC 3501
    /// §6.2.1, the command-injection attack of RFC 2595).
    #[error("{bytes} bytes of plaintext after STARTTLS were discarded")]
    PlaintextAfterStartTls {
        /// How many bytes.
        bytes: usize,
    },
    /// Too many consecutive bad commands.
    #[error("too many consecutive bad commands")]
    TooManyBadCommands,
    /// A mailbox name is not valid modified UTF-7; the command was
    /// answered `NO` (RFC 3501 §5.1.3), see
    /// [`ParseError::is_invalid_mailbox_name`].
    #[error("invalid mailbox name: {0}")]
    InvalidMailboxName(ParseError),
}

/// What the command in progress is waiting for.
#[derive(Debug)]
enum Pending {
    /// Nothing is in progress: the next command may be read.
    None,
    /// The application is executing this command.
    Command { tag: Tag, name: &'static str },
    /// IDLE accepted; waiting for `DONE`.
    Idle { tag: Tag },
    /// IDLE done; waiting for the application to complete it.
    IdleFinished { tag: Tag },
    /// Builtin SASL waiting for a client line.
    Sasl { tag: Tag, step: SaslStep },
    /// The application's SASL exchange waits for a client line.
    AppSaslLine { tag: Tag },
    /// STARTTLS waiting for the application's completion.
    StartTls { tag: Tag },
}

#[derive(Debug)]
enum SaslStep {
    Plain,
    LoginUser,
    LoginPassword { username: String },
}

/// A sans-IO IMAP server connection.
///
/// ```
/// use postroom_imap::server::{ServerConfig, ServerConnection, ServerEvent};
/// use postroom_imap::command::{Atom, Command};
/// use postroom_imap::response::StatusKind;
///
/// let mut conn = ServerConnection::new(ServerConfig::new(vec![Atom::new("IMAP4rev1").unwrap()]));
/// conn.handle_input(b"a1 NOOP\r\n");
/// let Some(ServerEvent::Command { tag, command: Command::Noop }) = conn.poll_event() else { panic!() };
/// conn.complete(&tag, StatusKind::Ok, None, "NOOP completed");
/// let mut out = Vec::new();
/// conn.poll_transmit(&mut out);
/// assert!(out.ends_with(b"a1 OK NOOP completed\r\n"));
/// ```
#[derive(Debug)]
pub struct ServerConnection {
    config: ServerConfig,
    parse_options: CommandParseOptions,
    framer: Framer,
    state: State,
    pending: Pending,
    out: Vec<u8>,
    events: VecDeque<ServerEvent>,
    consecutive_bad: u32,
    closed: bool,
    closed_reported: bool,
    activity: bool,
    last_activity: Option<Instant>,
}

impl ServerConnection {
    /// A connection with the greeting queued. A `PREAUTH` greeting starts
    /// in the authenticated state, a `BYE` greeting closes.
    pub fn new(config: ServerConfig) -> ServerConnection {
        let parse_options = CommandParseOptions {
            max_depth: config.limits.max_depth,
            non_sync_literals: config.literal_plus,
        };
        let mut framer = Framer::new(Side::Server, config.limits.clone());
        framer.set_literal_minus(config.literal_minus);
        let mut conn = ServerConnection {
            framer,
            parse_options,
            state: State::NotAuthenticated,
            pending: Pending::None,
            out: Vec::new(),
            events: VecDeque::new(),
            consecutive_bad: 0,
            closed: false,
            closed_reported: false,
            activity: true,
            last_activity: None,
            config,
        };
        let greeting = Response::Status(conn.config.greeting.clone());
        conn.send(&greeting);
        match conn.config.greeting.kind {
            StatusKind::PreAuth => conn.set_state(State::Authenticated),
            StatusKind::Bye => conn.close(),
            _ => {}
        }
        conn
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether the connection is closed (after LOGOUT or a fatal error).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Sets the state directly (e.g. after a SELECT completed by other
    /// means). [`ServerConnection::complete`] already tracks LOGIN,
    /// AUTHENTICATE, SELECT, EXAMINE, CLOSE, UNSELECT and LOGOUT.
    pub fn set_state(&mut self, state: State) {
        self.state = state;
        self.framer
            .set_authenticated(!matches!(state, State::NotAuthenticated));
        if state == State::Logout {
            self.close();
        }
    }

    /// Feeds bytes from the transport, in any chunking.
    pub fn handle_input(&mut self, input: &[u8]) {
        if self.closed {
            return;
        }
        self.activity = true;
        self.framer.push(input);
    }

    /// The next event, or `None` until more input arrives, the command in
    /// progress is completed, or queued output falls below the high-water
    /// mark.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        loop {
            self.check_bad_limit();
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            if self.closed {
                if !self.closed_reported {
                    self.closed_reported = true;
                    return Some(ServerEvent::Closed);
                }
                return None;
            }
            if self.out.len() > self.config.limits.output_high_water {
                return None;
            }
            let raw_line = match self.pending {
                Pending::None => false,
                Pending::Idle { .. } | Pending::Sasl { .. } | Pending::AppSaslLine { .. } => true,
                _ => return None,
            };
            self.framer.set_literals(!raw_line);
            match self.framer.poll()? {
                Frame::NeedContinuation { .. } => {
                    self.send(&Response::Continuation(Continuation {
                        code: None,
                        text: "Ready for literal data".into(),
                    }));
                }
                Frame::Refused {
                    tag,
                    command,
                    error,
                } => {
                    let tag = tag.and_then(Tag::new);
                    let too_big = matches!(error, FrameError::LiteralTooLarge { .. });
                    let (kind, code) = if too_big && command.as_deref() == Some("APPEND") {
                        // RFC 7889 §3: an APPEND over APPENDLIMIT gets
                        // NO [TOOBIG].
                        (StatusKind::No, Some(Code::TooBig))
                    } else if too_big {
                        (StatusKind::Bad, Some(Code::TooBig))
                    } else {
                        (StatusKind::Bad, None)
                    };
                    if raw_line {
                        self.abort_pending_exchange();
                    }
                    let text = error.to_string();
                    self.answer(tag.clone(), kind, code, &text);
                    self.violation(tag, ServerError::Frame(error));
                }
                Frame::Message { .. } => {
                    if raw_line {
                        let line = self.framer.message().to_vec();
                        self.framer.consume();
                        self.handle_exchange_line(&line);
                    } else {
                        // Parse in place (an APPEND literal is copied once,
                        // into the command), then drop the bytes.
                        let parsed = parse_command(self.framer.message(), &self.parse_options);
                        self.framer.consume();
                        self.handle_command(parsed);
                    }
                }
            }
        }
    }

    fn handle_command(&mut self, parsed: Result<TaggedCommand, ParseError>) {
        let TaggedCommand { tag, command } = match parsed {
            Ok(c) => c,
            Err(e) if e.is_invalid_mailbox_name() && e.tag.is_some() => {
                // RFC 3501 §5.1.3: the server SHOULD refuse such a name
                // with NO; the command itself is well formed.
                let tag = e.tag.clone().and_then(Tag::new);
                let text = format!(
                    "mailbox name is not valid modified UTF-7 (byte {})",
                    e.offset
                );
                self.answer(tag.clone(), StatusKind::No, Some(Code::CannotDo), &text);
                self.violation(tag, ServerError::InvalidMailboxName(e));
                return;
            }
            Err(e) => {
                let tag = e.tag.clone().and_then(Tag::new);
                let text = e.to_string();
                self.answer(tag.clone(), StatusKind::Bad, Some(Code::Parse), &text);
                self.violation(tag, ServerError::Parse(e));
                return;
            }
        };
        let allowed = match command.valid_in() {
            ValidIn::Any => true,
            ValidIn::NotAuthenticated => self.state == State::NotAuthenticated,
            ValidIn::Authenticated => matches!(self.state, State::Authenticated | State::Selected),
            ValidIn::Selected => self.state == State::Selected,
        };
        if !allowed {
            let error = ServerError::InvalidState {
                command: command.name(),
                state: self.state,
            };
            self.answer(Some(tag.clone()), StatusKind::Bad, None, &error.to_string());
            self.violation(Some(tag), error);
            return;
        }
        match command {
            Command::StartTls => {
                if !self.config.starttls {
                    let error = ServerError::StartTlsUnavailable;
                    self.answer(Some(tag.clone()), StatusKind::Bad, None, &error.to_string());
                    self.violation(Some(tag), error);
                    return;
                }
                self.pending = Pending::StartTls { tag: tag.clone() };
                self.events.push_back(ServerEvent::StartTls { tag });
            }
            Command::Authenticate {
                ref mechanism,
                ref initial_response,
            } if self.config.builtin_sasl
                && (mechanism.eq_ignore_case("PLAIN") || mechanism.eq_ignore_case("LOGIN")) =>
            {
                let plain = mechanism.eq_ignore_case("PLAIN");
                match (plain, initial_response) {
                    (true, Some(ir)) => {
                        let data = ir.expose_secret().clone();
                        self.finish_plain(tag, &data);
                    }
                    (true, None) => {
                        self.challenge(b"");
                        self.pending = Pending::Sasl {
                            tag,
                            step: SaslStep::Plain,
                        };
                    }
                    (false, Some(ir)) => self.login_username(tag, ir.expose_secret().clone()),
                    (false, None) => {
                        self.challenge(b"Username:");
                        self.pending = Pending::Sasl {
                            tag,
                            step: SaslStep::LoginUser,
                        };
                    }
                }
            }
            command => {
                self.pending = Pending::Command {
                    tag: tag.clone(),
                    name: command.name(),
                };
                self.events.push_back(ServerEvent::Command { tag, command });
            }
        }
    }

    fn finish_plain(&mut self, tag: Tag, data: &[u8]) {
        match sasl::decode_plain(data) {
            Ok(credentials) => self.sasl_done(tag, "PLAIN", credentials),
            Err(e) => self.sasl_failed(tag, e),
        }
    }

    fn sasl_done(&mut self, tag: Tag, mechanism: &'static str, credentials: Credentials) {
        self.pending = Pending::Command {
            tag: tag.clone(),
            name: "AUTHENTICATE",
        };
        self.events.push_back(ServerEvent::Authenticate {
            tag,
            mechanism: Atom::from_static(mechanism),
            credentials,
        });
    }

    /// SASL LOGIN's user name (initial response or first answer): ask
    /// for the password next.
    fn login_username(&mut self, tag: Tag, data: Vec<u8>) {
        match String::from_utf8(data) {
            Ok(username) => {
                self.challenge(b"Password:");
                self.pending = Pending::Sasl {
                    tag,
                    step: SaslStep::LoginPassword { username },
                };
            }
            Err(_) => self.sasl_failed(tag, SaslError::NotUtf8),
        }
    }

    fn sasl_failed(&mut self, tag: Tag, e: SaslError) {
        self.pending = Pending::None;
        self.answer(Some(tag.clone()), StatusKind::Bad, None, &e.to_string());
        self.violation(Some(tag), ServerError::Sasl(e));
    }

    fn challenge(&mut self, data: &[u8]) {
        let text = base64::engine::general_purpose::STANDARD.encode(data);
        self.send(&Response::Continuation(Continuation { code: None, text }));
    }

    /// A raw line during IDLE or an AUTHENTICATE exchange.
    fn handle_exchange_line(&mut self, message: &[u8]) {
        let line = message
            .strip_suffix(b"\r\n")
            .or_else(|| message.strip_suffix(b"\n"))
            .unwrap_or(message);
        let pending = std::mem::replace(&mut self.pending, Pending::None);
        match pending {
            Pending::Idle { tag } => {
                if line.eq_ignore_ascii_case(b"DONE") {
                    self.pending = Pending::IdleFinished { tag: tag.clone() };
                    self.events.push_back(ServerEvent::IdleDone { tag });
                } else {
                    // RFC 2177: nothing but DONE may be sent during IDLE.
                    self.answer(
                        Some(tag.clone()),
                        StatusKind::Bad,
                        None,
                        "expected DONE during IDLE",
                    );
                    self.violation(Some(tag), ServerError::ExpectedDone);
                }
            }
            Pending::Sasl { tag, .. } | Pending::AppSaslLine { tag } if line == b"*" => {
                self.answer(
                    Some(tag.clone()),
                    StatusKind::Bad,
                    None,
                    "authentication cancelled",
                );
                self.events
                    .push_back(ServerEvent::AuthenticateCancelled { tag });
            }
            Pending::Sasl { tag, step } => {
                let data = match base64::engine::general_purpose::STANDARD.decode(line) {
                    Ok(d) => d,
                    Err(_) => return self.sasl_failed(tag, SaslError::Base64),
                };
                match step {
                    SaslStep::Plain => self.finish_plain(tag, &data),
                    SaslStep::LoginUser => self.login_username(tag, data),
                    SaslStep::LoginPassword { username } => match String::from_utf8(data) {
                        Ok(password) => self.sasl_done(
                            tag,
                            "LOGIN",
                            Credentials {
                                authzid: None,
                                username,
                                password: Secret::new(password),
                            },
                        ),
                        Err(_) => self.sasl_failed(tag, SaslError::NotUtf8),
                    },
                }
            }
            Pending::AppSaslLine { tag } => {
                match base64::engine::general_purpose::STANDARD.decode(line) {
                    Ok(d) => {
                        self.pending = Pending::Command {
                            tag: tag.clone(),
                            name: "AUTHENTICATE",
                        };
                        self.events.push_back(ServerEvent::AuthenticateData {
                            tag,
                            data: Secret::new(d),
                        });
                    }
                    Err(_) => self.sasl_failed(tag, SaslError::Base64),
                }
            }
            other => self.pending = other,
        }
    }

    fn abort_pending_exchange(&mut self) {
        if let Pending::Idle { tag } | Pending::Sasl { tag, .. } | Pending::AppSaslLine { tag } =
            std::mem::replace(&mut self.pending, Pending::None)
        {
            // The refusal below answers with the recovered tag; a raw line
            // has none, so answer the exchange's tag here.
            self.answer(Some(tag), StatusKind::Bad, None, "line too long");
        }
    }

    /// Queues an untagged response or continuation request.
    pub fn respond(&mut self, response: &Response) {
        self.send(response);
    }

    /// Queues an untagged data response.
    pub fn respond_data(&mut self, data: Data) {
        self.send(&Response::Data(data));
    }

    /// Completes the command in progress with a tagged status response and
    /// updates the state: OK to LOGIN/AUTHENTICATE authenticates, OK to
    /// SELECT/EXAMINE selects, NO to SELECT/EXAMINE or OK to CLOSE/UNSELECT
    /// leaves the selected state, LOGOUT closes (a `* BYE` is sent first if
    /// the application sent none). Completing STARTTLS with OK discards the
    /// buffered plaintext.
    pub fn complete(&mut self, tag: &Tag, kind: StatusKind, code: Option<Code>, text: &str) {
        let name = match &self.pending {
            Pending::Command { tag: t, name } if t == tag => Some(*name),
            Pending::IdleFinished { tag: t } | Pending::Idle { tag: t } if t == tag => Some("IDLE"),
            Pending::StartTls { tag: t } if t == tag => Some("STARTTLS"),
            Pending::AppSaslLine { tag: t } if t == tag => Some("AUTHENTICATE"),
            _ => None,
        };
        if name.is_some() {
            self.pending = Pending::None;
        }
        if name == Some("LOGOUT") && !self.bye_sent() {
            self.send(&Response::Status(StatusResponse::untagged(
                StatusKind::Bye,
                None,
                "logging out",
            )));
        }
        self.answer(Some(tag.clone()), kind, code, text);
        match (name, kind) {
            (Some("LOGIN" | "AUTHENTICATE"), StatusKind::Ok) => {
                self.set_state(State::Authenticated)
            }
            (Some("SELECT" | "EXAMINE"), StatusKind::Ok) => self.set_state(State::Selected),
            (Some("SELECT" | "EXAMINE"), StatusKind::No) if self.state == State::Selected => {
                self.set_state(State::Authenticated);
            }
            (Some("CLOSE" | "UNSELECT"), StatusKind::Ok) => self.set_state(State::Authenticated),
            (Some("LOGOUT"), _) => self.set_state(State::Logout),
            (Some("STARTTLS"), StatusKind::Ok) => {
                let bytes = self.framer.discard_buffered();
                self.config.starttls = false;
                if bytes > 0 {
                    self.violation(None, ServerError::PlaintextAfterStartTls { bytes });
                }
            }
            _ => {}
        }
        self.check_bad_limit();
    }

    /// Accepts the IDLE command in progress: sends `+ idling` and waits for
    /// `DONE` (RFC 2177). Untagged responses may be sent meanwhile.
    pub fn accept_idle(&mut self, tag: &Tag) {
        if matches!(&self.pending, Pending::Command { tag: t, name: "IDLE" } if t == tag) {
            self.send(&Response::Continuation(Continuation {
                code: None,
                text: "idling".into(),
            }));
            self.pending = Pending::Idle { tag: tag.clone() };
        }
    }

    /// Sends a SASL challenge for an AUTHENTICATE the application runs and
    /// waits for the client's response line
    /// ([`ServerEvent::AuthenticateData`]).
    pub fn authenticate_challenge(&mut self, tag: &Tag, challenge: &[u8]) {
        if matches!(&self.pending, Pending::Command { tag: t, name: "AUTHENTICATE" } if t == tag) {
            self.challenge(challenge);
            self.pending = Pending::AppSaslLine { tag: tag.clone() };
        }
    }

    /// Appends queued output to `out`; returns how many bytes.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.out.len();
        out.append(&mut self.out);
        n
    }

    /// Bytes of output waiting for [`ServerConnection::poll_transmit`].
    pub fn pending_output(&self) -> usize {
        self.out.len()
    }

    /// Tells the connection the time. Call it after input and on timer; a
    /// connection idle for longer than the autologout limit sends `* BYE`
    /// and closes (RFC 3501 §5.4). IDLE resets the timer like any input.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if self.activity || self.last_activity.is_none() {
            self.activity = false;
            self.last_activity = Some(now);
            return;
        }
        if let Some(deadline) = self.poll_timeout() {
            if now >= deadline {
                self.send(&Response::Status(StatusResponse::untagged(
                    StatusKind::Bye,
                    None,
                    "autologout; idle for too long",
                )));
                self.close();
            }
        }
    }

    /// When [`ServerConnection::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let limit = if self.state == State::NotAuthenticated {
            self.config.autologout_unauthenticated
        } else {
            self.config.autologout
        };
        self.last_activity.map(|t| t + limit)
    }

    fn bye_sent(&self) -> bool {
        // The last response line queued is a BYE.
        let s = &self.out;
        let start = s[..s.len().saturating_sub(2)]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        s[start..].starts_with(b"* BYE")
    }

    fn answer(&mut self, tag: Option<Tag>, kind: StatusKind, code: Option<Code>, text: &str) {
        if kind == StatusKind::Bad {
            self.consecutive_bad += 1;
        } else {
            self.consecutive_bad = 0;
        }
        self.send(&Response::Status(StatusResponse {
            tag,
            kind,
            code,
            text: text.to_owned(),
        }));
    }

    /// Closes with `* BYE` once too many BADs came in a row.
    fn check_bad_limit(&mut self) {
        if self.consecutive_bad >= self.config.limits.max_consecutive_bad && !self.closed {
            self.send(&Response::Status(StatusResponse::untagged(
                StatusKind::Bye,
                None,
                "too many invalid commands",
            )));
            self.events.push_back(ServerEvent::ProtocolViolation {
                tag: None,
                error: ServerError::TooManyBadCommands,
            });
            self.close();
        }
    }

    fn violation(&mut self, tag: Option<Tag>, error: ServerError) {
        self.events
            .push_back(ServerEvent::ProtocolViolation { tag, error });
    }

    fn send(&mut self, response: &Response) {
        encode_response(response, &mut self.out);
    }

    fn close(&mut self) {
        self.closed = true;
        self.state = State::Logout;
        self.pending = Pending::None;
    }
}
