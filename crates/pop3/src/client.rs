//! The sans-IO client side of a POP3 connection.

use std::collections::VecDeque;

use postroom_types::Limits;

use crate::command::{Command, CommandKind, encode_sasl, strip_cr};
use crate::error::{ClientError, ResponseError, UsageError};
use crate::response::{
    Capability, LanguageListing, Response, ScanListing, ServerLine, UniqueIdListing,
    parse_server_line_body, parse_status_line,
};
use crate::server::SessionState;
use crate::stuffing::DotUnstuffer;

/// Settings of a [`ClientConnection`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Bounds on input. `max_line` bounds every line that is buffered
    /// whole: status lines and the lines of LIST, UIDL, CAPA and LANG
    /// listings. RETR and TOP bodies are streamed and not bounded here.
    pub limits: Limits,
    /// Read `[...]` at the start of response text as an extended code from
    /// the start, without waiting for `RESP-CODES` in a CAPA answer
    /// (RFC 2449 §8).
    pub response_codes: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            limits: Limits::pop3_client(),
            response_codes: false,
        }
    }
}

/// What the server said, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The greeting; see [`Response::apop_timestamp`].
    Greeting(Response),
    /// The status line answering a command. For a `+OK` to a command with
    /// a multi-line answer, the lines or data follow, then
    /// [`ClientEvent::End`].
    Response {
        /// The command answered.
        command: CommandKind,
        /// The status line.
        response: Response,
    },
    /// A SASL challenge (RFC 5034 §4), decoded: answer with
    /// [`ClientConnection::send_sasl_response`] or
    /// [`ClientConnection::cancel_sasl`].
    Challenge(Vec<u8>),
    /// A line of a CAPA answer.
    Capability(Capability),
    /// A line of a LIST answer.
    ScanListing(ScanListing),
    /// A line of a UIDL answer.
    UniqueId(UniqueIdListing),
    /// A line of a LANG answer.
    Language(LanguageListing),
    /// A piece of a RETR or TOP body, un-stuffed, line ends as received.
    Data(Vec<u8>),
    /// The end of a multi-line answer.
    End {
        /// The command answered.
        command: CommandKind,
    },
    /// A listing line that could not be decoded; it is skipped and the
    /// connection goes on.
    BadListingLine(ResponseError),
    /// The server sent something the connection cannot go on from; it
    /// reads nothing more.
    Failed(ClientError),
}

/// The client side of a POP3 connection, without I/O.
///
/// Queue commands with [`send`](Self::send) and send what
/// [`poll_transmit`](Self::poll_transmit) gives; feed received bytes to
/// [`handle_input`](Self::handle_input) and take [`ClientEvent`]s from
/// [`poll_event`](Self::poll_event). Answers are matched to commands in
/// order, so commands may be pipelined when the server advertises
/// PIPELINING (RFC 2449 §6.6); the connection itself refuses to send while
/// STLS or an AUTH exchange is in progress.
///
/// ```
/// use postroom_pop3::{ClientConnection, ClientEvent, Command, MessageNumber};
///
/// let mut conn = ClientConnection::new(Default::default());
/// conn.send(Command::Retr(MessageNumber::new(1).unwrap()))?;
/// let mut out = Vec::new();
/// conn.poll_transmit(&mut out);
/// assert_eq!(out, b"RETR 1\r\n");
/// conn.handle_input(b"+OK hi\r\n+OK 4 octets\r\n..x\r\n.\r\n");
/// let mut body = Vec::new();
/// while let Some(event) = conn.poll_event() {
///     if let ClientEvent::Data(data) = event {
///         body.extend(data);
///     }
/// }
/// assert_eq!(body, b".x\r\n");
/// # Ok::<(), postroom_pop3::UsageError>(())
/// ```
#[derive(Debug)]
pub struct ClientConnection {
    config: ClientConfig,
    state: SessionState,
    mode: Mode,
    line: Vec<u8>,
    greeted: bool,
    pending: VecDeque<Pending>,
    events: VecDeque<ClientEvent>,
    output: Vec<u8>,
    response_codes: bool,
    /// The last line was a challenge that the application has not answered.
    challenge_open: bool,
    tls_active: bool,
    utf8: bool,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    kind: CommandKind,
    multiline: bool,
}

#[derive(Debug)]
enum Mode {
    /// Reading a status line.
    Status,
    /// Reading the lines of a listing.
    Listing(CommandKind),
    /// Streaming a RETR or TOP body.
    Body(CommandKind, DotUnstuffer),
    /// STLS was accepted; input is discarded until the handshake is done.
    TlsPending,
    /// Closed after QUIT, or failed: input is ignored.
    Closed,
}

impl ClientConnection {
    /// A connection waiting for the server's greeting.
    pub fn new(config: ClientConfig) -> Self {
        ClientConnection {
            response_codes: config.response_codes,
            config,
            state: SessionState::Authorization,
            mode: Mode::Status,
            line: Vec::new(),
            greeted: false,
            pending: VecDeque::new(),
            events: VecDeque::new(),
            output: Vec::new(),
            challenge_open: false,
            tls_active: false,
            utf8: false,
        }
    }

    // ----- input -----

    /// Takes bytes received from the server, in chunks of any size.
    ///
    /// Body data of RETR and TOP is decoded straight from `bytes`; only
    /// status and listing lines are buffered (up to `limits.max_line`).
    pub fn handle_input(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            match &mut self.mode {
                Mode::Closed | Mode::TlsPending => return,
                Mode::Body(kind, unstuffer) => {
                    let mut data = Vec::new();
                    let progress = unstuffer.decode(&bytes[i..], &mut data);
                    i += progress.consumed;
                    if !data.is_empty() {
                        self.events.push_back(ClientEvent::Data(data));
                    }
                    if progress.finished {
                        self.events.push_back(ClientEvent::End { command: *kind });
                        self.mode = Mode::Status;
                    }
                }
                Mode::Status | Mode::Listing(_) => {
                    let rest = &bytes[i..];
                    let limit = self.config.limits.max_line.saturating_add(1);
                    match memchr::memchr(b'\n', rest) {
                        Some(lf) => {
                            i += lf + 1;
                            if self.line.len().saturating_add(lf) > limit {
                                self.fail(ClientError::LineTooLong {
                                    limit: self.config.limits.max_line,
                                });
                                return;
                            }
                            if self.line.is_empty() {
                                self.handle_line(strip_cr(&rest[..lf]));
                            } else {
                                let mut line = std::mem::take(&mut self.line);
                                line.extend_from_slice(&rest[..lf]);
                                self.handle_line(strip_cr(&line));
                                line.clear();
                                self.line = line;
                            }
                        }
                        None => {
                            if self.line.len().saturating_add(rest.len()) > limit {
                                self.fail(ClientError::LineTooLong {
                                    limit: self.config.limits.max_line,
                                });
                                return;
                            }
                            self.line.extend_from_slice(rest);
                            i = bytes.len();
                        }
                    }
                }
            }
        }
    }

    /// Reports that the TLS handshake after an accepted STLS has finished.
    /// Cached capabilities no longer count (RFC 2595 §4): send CAPA again.
    pub fn handle_tls_started(&mut self) -> Result<(), UsageError> {
        if !matches!(self.mode, Mode::TlsPending) {
            return Err(UsageError::NoTlsPending);
        }
        self.mode = Mode::Status;
        self.tls_active = true;
        self.response_codes = self.config.response_codes;
        Ok(())
    }

    // ----- output -----

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
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

    /// Queues a command.
    ///
    /// Refused while STLS or AUTH waits for its answer (the client MUST NOT
    /// send then, RFC 2595 §4, RFC 5034 §4), after QUIT, and for commands
    /// that fail [`Command::encode`] (an AUTH initial response that makes
    /// the line exceed 255 octets must be left out and sent after the empty
    /// challenge instead).
    pub fn send(&mut self, command: Command) -> Result<(), UsageError> {
        if matches!(self.mode, Mode::Closed)
            || self.pending.iter().any(|p| p.kind == CommandKind::Quit)
        {
            return Err(UsageError::Closed);
        }
        if matches!(self.mode, Mode::TlsPending)
            || self.pending.iter().any(|p| p.kind == CommandKind::Stls)
        {
            return Err(UsageError::MustWait { reason: "STLS" });
        }
        if self.pending.iter().any(|p| p.kind == CommandKind::Auth) {
            return Err(UsageError::MustWait { reason: "AUTH" });
        }
        command
            .encode(&mut self.output)
            .map_err(UsageError::Command)?;
        if command.kind() == CommandKind::Quit && self.state == SessionState::Transaction {
            self.state = SessionState::Update;
        }
        self.pending.push_back(Pending {
            kind: command.kind(),
            multiline: command.has_multiline_answer(),
        });
        Ok(())
    }

    /// Answers the last challenge with a SASL response, sent in base64.
    pub fn send_sasl_response(&mut self, response: &[u8]) -> Result<(), UsageError> {
        self.take_challenge()?;
        encode_sasl(response, &mut self.output);
        self.output.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// Cancels the AUTH exchange with `*`; the server answers `-ERR`.
    pub fn cancel_sasl(&mut self) -> Result<(), UsageError> {
        self.take_challenge()?;
        self.output.extend_from_slice(b"*\r\n");
        Ok(())
    }

    // ----- getters -----

    /// The session state as far as the answers received show.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// Commands sent and not yet answered.
    pub fn pending_commands(&self) -> usize {
        self.pending.len()
    }

    /// Whether QUIT was answered or the connection failed.
    pub fn is_closed(&self) -> bool {
        matches!(self.mode, Mode::Closed)
    }

    /// Whether STLS was accepted and the handshake is awaited.
    pub fn is_tls_pending(&self) -> bool {
        matches!(self.mode, Mode::TlsPending)
    }

    /// Whether TLS was started with STLS.
    pub fn is_tls_active(&self) -> bool {
        self.tls_active
    }

    /// Whether the server accepted UTF8 (RFC 6856 §2).
    pub fn is_utf8(&self) -> bool {
        self.utf8
    }

    /// Whether `[...]` is currently read as a response code.
    pub fn response_codes(&self) -> bool {
        self.response_codes
    }

    // ----- helpers -----

    fn take_challenge(&mut self) -> Result<(), UsageError> {
        if !self.challenge_open {
            return Err(UsageError::NoAuthExchange);
        }
        self.challenge_open = false;
        Ok(())
    }

    fn fail(&mut self, error: ClientError) {
        self.mode = Mode::Closed;
        self.line = Vec::new();
        self.events.push_back(ClientEvent::Failed(error));
    }

    fn handle_line(&mut self, line: &[u8]) {
        match self.mode {
            Mode::Listing(kind) => self.listing_line(kind, line),
            _ => self.status_line(line),
        }
    }

    fn status_line(&mut self, line: &[u8]) {
        if !self.greeted {
            match parse_status_line(line, self.response_codes) {
                Ok(response) => {
                    self.greeted = true;
                    self.events.push_back(ClientEvent::Greeting(response));
                }
                Err(e) => self.fail(ClientError::Response(e)),
            }
            return;
        }
        let Some(&pending) = self.pending.front() else {
            self.fail(ClientError::Unexpected);
            return;
        };
        let parsed = if pending.kind == CommandKind::Auth {
            parse_server_line_body(line, self.response_codes)
        } else {
            parse_status_line(line, self.response_codes).map(ServerLine::Status)
        };
        let server_line = match parsed {
            Ok(value) => value,
            Err(e) => {
                self.fail(ClientError::Response(e));
                return;
            }
        };
        let response = match server_line {
            ServerLine::Challenge(data) => {
                self.challenge_open = true;
                self.events.push_back(ClientEvent::Challenge(data));
                return;
            }
            ServerLine::Status(response) => response,
        };
        self.pending.pop_front();
        self.challenge_open = false;
        let ok = response.is_ok();
        let kind = pending.kind;
        self.events.push_back(ClientEvent::Response {
            command: kind,
            response,
        });
        match kind {
            CommandKind::Pass | CommandKind::Apop | CommandKind::Auth if ok => {
                self.state = SessionState::Transaction;
            }
            // RFC 2595 §4: anything the server sent before the handshake is
            // discarded with the rest of this input.
            CommandKind::Stls if ok => self.mode = Mode::TlsPending,
            CommandKind::Utf8 if ok => self.utf8 = true,
            CommandKind::Quit => self.mode = Mode::Closed,
            CommandKind::Retr | CommandKind::Top if ok && pending.multiline => {
                self.mode = Mode::Body(kind, DotUnstuffer::new());
            }
            _ if ok && pending.multiline => self.mode = Mode::Listing(kind),
            _ => {}
        }
    }

    fn listing_line(&mut self, kind: CommandKind, line: &[u8]) {
        if line == b"." {
            self.mode = Mode::Status;
            self.events.push_back(ClientEvent::End { command: kind });
            return;
        }
        // RFC 1939 §3: strip one stuffed dot.
        let line = line.strip_prefix(b".").unwrap_or(line);
        let event = match kind {
            CommandKind::Capa => Capability::parse(line).map(|c| {
                if c.is("RESP-CODES") || c.is("AUTH-RESP-CODE") {
                    self.response_codes = true;
                }
                ClientEvent::Capability(c)
            }),
            CommandKind::List => ScanListing::parse(line).map(ClientEvent::ScanListing),
            CommandKind::Uidl => UniqueIdListing::parse(line).map(ClientEvent::UniqueId),
            _ => LanguageListing::parse(line).map(ClientEvent::Language),
        };
        self.events
            .push_back(event.unwrap_or_else(ClientEvent::BadListingLine));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::MessageNumber;
    use crate::response::ResponseCode;
    use postroom_types::Secret;

    fn events(conn: &mut ClientConnection) -> Vec<ClientEvent> {
        std::iter::from_fn(|| conn.poll_event()).collect()
    }

    fn greeted() -> ClientConnection {
        let mut conn = ClientConnection::new(ClientConfig::default());
        conn.handle_input(b"+OK POP3 ready <1.2@host>\r\n");
        assert!(matches!(
            conn.poll_event(),
            Some(ClientEvent::Greeting(g)) if g.apop_timestamp() == Some("<1.2@host>")
        ));
        conn
    }

    fn msg(n: u32) -> MessageNumber {
        MessageNumber::new(n).expect("positive")
    }

    #[test]
    fn listings_are_decoded() {
        let mut conn = greeted();
        conn.send(Command::Capa).expect("queue");
        conn.send(Command::List(None)).expect("queue");
        conn.send(Command::Uidl(None)).expect("queue");
        conn.handle_input(
            b"+OK\r\nRESP-CODES\r\nSASL PLAIN\r\n.\r\n+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n+OK\r\n1 abc\r\nbad\r\n.\r\n",
        );
        let got = events(&mut conn);
        assert_eq!(got.len(), 12, "{got:?}");
        assert_eq!(
            got[2],
            ClientEvent::Capability(Capability::with_params("SASL", ["PLAIN"]))
        );
        assert_eq!(
            got[6],
            ClientEvent::ScanListing(ScanListing {
                msg: msg(2),
                size: 200
            })
        );
        assert!(matches!(got[10], ClientEvent::BadListingLine(_)));
        assert_eq!(
            got[11],
            ClientEvent::End {
                command: CommandKind::Uidl
            }
        );
        assert!(conn.response_codes());
        conn.send(Command::Stat).expect("queue");
        conn.handle_input(b"-ERR [SYS/TEMP] later\r\n");
        assert_eq!(
            conn.poll_event(),
            Some(ClientEvent::Response {
                command: CommandKind::Stat,
                response: Response::err("later").with_code(ResponseCode::SysTemp)
            })
        );
    }

    #[test]
    fn body_split_anywhere() {
        let wire = b"+OK\r\n..a\r\n..\r\nb\r\n..\r\n.\r\n+OK\r\n";
        for split in 0..wire.len() {
            let mut conn = greeted();
            conn.send(Command::Retr(msg(1))).expect("queue");
            conn.send(Command::Noop).expect("queue");
            conn.handle_input(&wire[..split]);
            conn.handle_input(&wire[split..]);
            let mut body = Vec::new();
            let mut ends = 0;
            let mut responses = 0;
            for event in events(&mut conn) {
                match event {
                    ClientEvent::Data(d) => body.extend(d),
                    ClientEvent::End { .. } => ends += 1,
                    ClientEvent::Response { .. } => responses += 1,
                    other => panic!("unexpected {other:?}"),
                }
            }
            assert_eq!(body, b".a\r\n.\r\nb\r\n.\r\n");
            assert_eq!((ends, responses), (1, 2));
        }
    }

    #[test]
    fn refuses_to_send_while_waiting() {
        let mut conn = greeted();
        conn.send(Command::Stls).expect("queue");
        assert_eq!(
            conn.send(Command::Capa),
            Err(UsageError::MustWait { reason: "STLS" })
        );
        conn.handle_input(b"+OK begin\r\n+OK injected\r\n");
        assert!(conn.is_tls_pending());
        assert_eq!(events(&mut conn).len(), 1);
        conn.handle_tls_started().expect("pending");
        conn.send(Command::Auth {
            mechanism: "PLAIN".into(),
            initial: None,
        })
        .expect("queue");
        assert_eq!(
            conn.send(Command::Capa),
            Err(UsageError::MustWait { reason: "AUTH" })
        );
        assert_eq!(
            conn.send_sasl_response(b"x"),
            Err(UsageError::NoAuthExchange)
        );
        conn.handle_input(b"+ \r\n");
        assert_eq!(conn.poll_event(), Some(ClientEvent::Challenge(Vec::new())));
        conn.send_sasl_response(b"\0a\0b").expect("challenge open");
        conn.handle_input(b"+OK\r\n");
        assert_eq!(conn.state(), SessionState::Transaction);
        let mut out = Vec::new();
        conn.poll_transmit(&mut out);
        assert_eq!(out, b"STLS\r\nAUTH PLAIN\r\nAGEAYg==\r\n");
        let _ = Secret::new(());
    }

    #[test]
    fn protocol_failures() {
        let mut conn = greeted();
        conn.handle_input(b"+OK unsolicited\r\n");
        assert_eq!(
            conn.poll_event(),
            Some(ClientEvent::Failed(ClientError::Unexpected))
        );
        assert!(conn.is_closed());
        let mut conn = greeted();
        conn.send(Command::Noop).expect("queue");
        conn.handle_input(&vec![b'x'; 70_000]);
        assert_eq!(
            conn.poll_event(),
            Some(ClientEvent::Failed(ClientError::LineTooLong {
                limit: 65536
            }))
        );
    }
}
