//! The sans-IO client connection: tags, command fragments sent as the
//! server's continuation requests allow, response framing and parsing, and
//! the IMAP state as the server's answers imply it.

use std::collections::VecDeque;

use base64::Engine;
use postroom_types::Limits;

use crate::command::{Command, Tag, TaggedCommand};
use crate::encode::{Fragment, LiteralMode};
use crate::error::DecodeError;
use crate::framer::{Frame, Framer, Side};
use crate::response::{Continuation, Response, StatusKind, StatusResponse};
use crate::response_parse::{ResponseParseOptions, parse_response};
use crate::server::State;

/// Client configuration.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Input limits (default [`Limits::imap_client`]).
    pub limits: Limits,
    /// Response parser options (strict by default).
    pub parse: ResponseParseOptions,
    /// How literals are sent; switch to LITERAL+ once the server
    /// advertises it ([`ClientConnection::set_literal_mode`]).
    pub literal_mode: LiteralMode,
    /// Tag prefix; tags are the prefix and a counter.
    pub tag_prefix: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            limits: Limits::imap_client(),
            parse: ResponseParseOptions::default(),
            literal_mode: LiteralMode::Sync,
            tag_prefix: "A".into(),
        }
    }
}

/// What the server said.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The greeting (`* OK`, `* PREAUTH` or `* BYE`).
    Greeting(StatusResponse),
    /// An untagged response (data or status).
    Untagged(Response),
    /// A command finished.
    Completed {
        /// Its tag.
        tag: Tag,
        /// The tagged status response.
        status: StatusResponse,
    },
    /// A continuation request not used for a literal: IDLE accepted or an
    /// AUTHENTICATE challenge (see [`ClientEvent::Challenge`]).
    Continuation(Continuation),
    /// An AUTHENTICATE challenge, base64-decoded; answer with
    /// [`ClientConnection::authenticate_response`].
    Challenge {
        /// The AUTHENTICATE tag.
        tag: Tag,
        /// The decoded challenge.
        data: Vec<u8>,
    },
    /// STARTTLS succeeded: start TLS now. Bytes already received in
    /// plaintext after the OK were discarded (`discarded`).
    StartTls {
        /// How many buffered bytes were discarded.
        discarded: usize,
    },
    /// A response that could not be read; it was skipped.
    Error(DecodeError),
}

#[derive(Debug)]
struct Outgoing {
    tag: Tag,
    fragments: VecDeque<Fragment>,
}

/// A sans-IO IMAP client connection.
///
/// ```
/// use postroom_imap::client::{ClientConfig, ClientConnection, ClientEvent};
/// use postroom_imap::command::Command;
///
/// let mut c = ClientConnection::new(ClientConfig::default());
/// c.handle_input(b"* OK ready\r\n");
/// assert!(matches!(c.poll_event(), Some(ClientEvent::Greeting(_))));
/// let tag = c.send(Command::Noop);
/// let mut out = Vec::new();
/// c.poll_transmit(&mut out);
/// assert_eq!(out, b"A1 NOOP\r\n");
/// c.handle_input(b"A1 OK done\r\n");
/// assert!(matches!(c.poll_event(), Some(ClientEvent::Completed { tag: t, .. }) if t == tag));
/// ```
#[derive(Debug)]
pub struct ClientConnection {
    config: ClientConfig,
    framer: Framer,
    state: State,
    greeted: bool,
    counter: u64,
    /// Commands not yet fully sent; the head may wait for `+`.
    outgoing: VecDeque<Outgoing>,
    waiting_continuation: bool,
    /// Commands sent and not completed, with their names.
    in_flight: Vec<(Tag, &'static str)>,
    out: Vec<u8>,
    events: VecDeque<ClientEvent>,
}

impl ClientConnection {
    /// A connection waiting for the greeting.
    pub fn new(config: ClientConfig) -> ClientConnection {
        ClientConnection {
            framer: Framer::new(Side::Client, config.limits.clone()),
            config,
            state: State::NotAuthenticated,
            greeted: false,
            counter: 0,
            outgoing: VecDeque::new(),
            waiting_continuation: false,
            in_flight: Vec::new(),
            out: Vec::new(),
            events: VecDeque::new(),
        }
    }

    /// The state implied by the server's answers so far.
    pub fn state(&self) -> State {
        self.state
    }

    /// How literals are sent from now on.
    pub fn set_literal_mode(&mut self, mode: LiteralMode) {
        self.config.literal_mode = mode;
    }

    /// Queues a command under a new tag and returns the tag.
    pub fn send(&mut self, command: Command) -> Tag {
        self.counter += 1;
        let text = format!("{}{}", self.config.tag_prefix, self.counter);
        // A prefix of tag characters plus digits is a valid tag; fall back
        // to a plain prefix otherwise.
        let tag = Tag::new(text).unwrap_or_else(|| {
            Tag::new(format!("A{}", self.counter)).unwrap_or_else(|| unreachable!("A<n> is a tag"))
        });
        self.send_tagged(TaggedCommand {
            tag: tag.clone(),
            command,
        });
        tag
    }

    /// Queues a command with a tag chosen by the caller.
    pub fn send_tagged(&mut self, command: TaggedCommand) {
        let fragments = crate::command_encode::encode_command(&command, self.config.literal_mode);
        self.in_flight
            .push((command.tag.clone(), command.command.name()));
        self.outgoing.push_back(Outgoing {
            tag: command.tag,
            fragments: fragments.into(),
        });
        self.pump();
    }

    /// Ends IDLE (RFC 2177).
    pub fn idle_done(&mut self) {
        self.out.extend_from_slice(b"DONE\r\n");
    }

    /// Answers an AUTHENTICATE challenge (base64-encoded here); `None`
    /// cancels the exchange with `*`.
    pub fn authenticate_response(&mut self, data: Option<&[u8]>) {
        match data {
            Some(d) => {
                let b = base64::engine::general_purpose::STANDARD.encode(d);
                self.out.extend_from_slice(b.as_bytes());
            }
            None => self.out.push(b'*'),
        }
        self.out.extend_from_slice(b"\r\n");
    }

    /// Feeds bytes from the transport, in any chunking.
    pub fn handle_input(&mut self, input: &[u8]) {
        self.framer.push(input);
    }

    /// Appends bytes to send to `out`; returns how many.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.out.len();
        out.append(&mut self.out);
        n
    }

    /// The next event, or `None` until more input arrives.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            match self.framer.poll()? {
                Frame::NeedContinuation { .. } => {}
                Frame::Refused { error, .. } => {
                    return Some(ClientEvent::Error(DecodeError::Frame(error)));
                }
                Frame::Message { .. } => {
                    let parsed = parse_response(self.framer.message(), &self.config.parse);
                    self.framer.consume();
                    match parsed {
                        Ok(r) => self.handle_response(r),
                        Err(e) => return Some(ClientEvent::Error(DecodeError::Parse(e))),
                    }
                }
            }
        }
    }

    fn handle_response(&mut self, r: Response) {
        match r {
            Response::Status(s) if !self.greeted && s.tag.is_none() => {
                self.greeted = true;
                match s.kind {
                    StatusKind::PreAuth => self.state = State::Authenticated,
                    StatusKind::Bye => self.state = State::Logout,
                    _ => {}
                }
                self.events.push_back(ClientEvent::Greeting(s));
            }
            Response::Status(s) if s.tag.is_some() => {
                let tag = s
                    .tag
                    .clone()
                    .unwrap_or_else(|| unreachable!("checked above"));
                let name = self
                    .in_flight
                    .iter()
                    .position(|(t, _)| *t == tag)
                    .map(|i| self.in_flight.remove(i).1);
                // A command refused before its literal: drop the rest.
                if self.outgoing.front().is_some_and(|o| o.tag == tag) {
                    self.outgoing.pop_front();
                    self.waiting_continuation = false;
                    self.pump();
                }
                self.apply_completion(name, s.kind);
                if name == Some("STARTTLS") && s.kind == StatusKind::Ok {
                    let discarded = self.framer.discard_buffered();
                    self.events
                        .push_back(ClientEvent::Completed { tag, status: s });
                    self.events.push_back(ClientEvent::StartTls { discarded });
                    return;
                }
                self.events
                    .push_back(ClientEvent::Completed { tag, status: s });
            }
            Response::Status(s) => {
                if s.kind == StatusKind::Bye {
                    self.state = State::Logout;
                }
                self.events
                    .push_back(ClientEvent::Untagged(Response::Status(s)));
            }
            Response::Continuation(c) => {
                if self.waiting_continuation {
                    self.waiting_continuation = false;
                    self.pump();
                } else if let Some((tag, _)) = self
                    .in_flight
                    .iter()
                    .rev()
                    .find(|(_, n)| *n == "AUTHENTICATE")
                {
                    let data = base64::engine::general_purpose::STANDARD
                        .decode(c.text.trim())
                        .unwrap_or_default();
                    self.events.push_back(ClientEvent::Challenge {
                        tag: tag.clone(),
                        data,
                    });
                } else {
                    self.events.push_back(ClientEvent::Continuation(c));
                }
            }
            Response::Data(d) => self
                .events
                .push_back(ClientEvent::Untagged(Response::Data(d))),
        }
    }

    fn apply_completion(&mut self, name: Option<&'static str>, kind: StatusKind) {
        match (name, kind) {
            (Some("LOGIN" | "AUTHENTICATE"), StatusKind::Ok) => self.state = State::Authenticated,
            (Some("SELECT" | "EXAMINE"), StatusKind::Ok) => self.state = State::Selected,
            (Some("SELECT" | "EXAMINE"), StatusKind::No) if self.state == State::Selected => {
                self.state = State::Authenticated
            }
            (Some("CLOSE" | "UNSELECT"), StatusKind::Ok) => self.state = State::Authenticated,
            (Some("LOGOUT"), _) => self.state = State::Logout,
            _ => {}
        }
    }

    /// Moves fragments to the output until one must wait for `+`.
    fn pump(&mut self) {
        while !self.waiting_continuation {
            let Some(head) = self.outgoing.front_mut() else {
                return;
            };
            match head.fragments.pop_front() {
                None => {
                    self.outgoing.pop_front();
                }
                Some(Fragment::Line(bytes)) => {
                    self.out.extend_from_slice(&bytes);
                    if matches!(head.fragments.front(), Some(Fragment::Literal(_))) {
                        // RFC 3501 §4.3: wait for `+` before the literal.
                        self.waiting_continuation = true;
                    }
                }
                Some(Fragment::Literal(bytes)) => self.out.extend_from_slice(&bytes),
            }
        }
    }

    /// Whether a command waits for a continuation request.
    pub fn is_waiting_for_continuation(&self) -> bool {
        self.waiting_continuation
    }
}
