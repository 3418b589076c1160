//! # postroom-pop3
//!
//! A complete POP3 codec for both ends of the connection: RFC 1939 with
//! CAPA and response codes (RFC 2449, RFC 3206), STLS (RFC 2595), SASL AUTH
//! (RFC 5034) and UTF8/LANG (RFC 6856). This crate performs no I/O and
//! reads no clock: you feed it bytes and take bytes and events out.
//!
//! Entry types:
//!
//! - [`Command`] with [`parse_command`] (server side) and
//!   [`Command::encode`] (client side);
//! - [`Response`] with [`Response::encode`] and [`parse_response`] /
//!   [`parse_server_line`], plus the listing lines [`ScanListing`],
//!   [`UniqueIdListing`], [`Capability`] and [`LanguageListing`];
//! - [`DotStuffer`] and [`DotUnstuffer`]: streaming dot-stuffing of
//!   multi-line bodies, chunk boundaries anywhere;
//! - [`ServerConnection`] and [`ClientConnection`]: the sans-IO session
//!   state (AUTHORIZATION, TRANSACTION, UPDATE), pipelining, STLS, the SASL
//!   exchange and the line limits.
//!
//! ```
//! use postroom_pop3::{ClientConnection, ClientEvent, Command, Event, MessageNumber,
//!                     ServerConfig, ServerConnection};
//!
//! let mut server = ServerConnection::new(ServerConfig::new("POP3 ready"));
//! let mut client = ClientConnection::new(Default::default());
//! client.send(Command::User("alice".into()))?;
//! client.send(Command::Pass("secret".to_owned().into()))?;
//! client.send(Command::Retr(MessageNumber::new(1).unwrap()))?;
//!
//! let mut wire = Vec::new();
//! client.poll_transmit(&mut wire);
//! server.handle_input(&wire);
//! while let Some(event) = server.poll_event() {
//!     match event {
//!         Event::Command(Command::User(_)) => server.respond_ok("")?,
//!         Event::Command(Command::Pass(p)) if p.expose_secret() == "secret" => {
//!             server.respond_ok("maildrop ready")?
//!         }
//!         Event::Command(Command::Retr(_)) => {
//!             server.start_multiline("message follows")?;
//!             server.send_body_chunk(b"Subject: hi\n\n.hidden dot\n")?;
//!             server.finish_multiline()?;
//!         }
//!         _ => server.respond_err(None, "unexpected")?,
//!     }
//! }
//! let mut wire = Vec::new();
//! server.poll_transmit(&mut wire);
//! client.handle_input(&wire);
//! let mut body = Vec::new();
//! while let Some(event) = client.poll_event() {
//!     if let ClientEvent::Data(data) = event {
//!         body.extend(data);
//!     }
//! }
//! assert_eq!(body, b"Subject: hi\r\n\r\n.hidden dot\r\n");
//! # Ok::<(), postroom_pop3::UsageError>(())
//! ```
//!
//! ## Limits
//!
//! - Command lines are bounded at 255 octets with CRLF
//!   ([`postroom_types::Limits::pop3_server`], RFC 2449 §4); a longer line
//!   is answered `-ERR` without being buffered and the session goes on;
//!   `max_consecutive_bad` bad commands in a row close it.
//! - Unprocessed pipelined input is bounded
//!   ([`ServerConfig::max_buffered_input`]); output above
//!   `output_high_water` pauses command decoding until drained.
//! - The client bounds status and listing lines at `max_line`
//!   ([`postroom_types::Limits::pop3_client`]); RETR and TOP bodies are
//!   streamed, never held whole.
//! - No APOP digest computation and no SASL mechanisms: the application
//!   checks credentials. The codec carries the bytes and keeps the states.
//! - Response text is UTF-8 ([`String`]); a client decodes other bytes
//!   lossily.

mod client;
mod command;
mod error;
mod response;
mod server;
mod stuffing;

pub use client::{ClientConfig, ClientConnection, ClientEvent};
pub use command::{
    ApopDigest, Command, CommandKind, MAX_COMMAND_LINE, MessageNumber, Parsed, parse_command,
    parse_command_line,
};
pub use error::{ClientError, CommandError, ResponseError, UsageError};
pub use response::{
    Capability, LanguageListing, MAX_RESPONSE_LINE, Response, ResponseCode, ScanListing,
    ServerLine, Status, UniqueIdListing, encode_challenge, is_unique_id, parse_response,
    parse_server_line, parse_server_line_body, parse_status_line,
};
pub use server::{
    AuthAbort, CloseReason, Event, Rejection, ServerConfig, ServerConnection, SessionState,
};
pub use stuffing::{DotStuffer, DotUnstuffer, Unstuffed, dot_stuff};
