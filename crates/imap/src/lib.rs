//! # postroom-imap
//!
//! The IMAP4rev1 codec of postroom (RFC 3501), both directions, with the
//! extensions postroom advertises: UIDPLUS, NAMESPACE, SORT and THREAD,
//! QUOTA, IDLE, ACL (RFC 4314 and Courier's ACL2 forms), LITERAL+ and
//! LITERAL-, SASL-IR, ENABLE, UNSELECT, MOVE and ID.
//!
//! This crate performs no I/O and reads no clock: bytes and time go in,
//! events and bytes come out.
//!
//! ## Entry types
//!
//! - [`server::ServerConnection`]: the server side of one connection —
//!   framing, command parsing, the state machine, continuation requests,
//!   the AUTHENTICATE exchange (PLAIN and LOGIN built in), IDLE, STARTTLS
//!   and the limits that protect a server;
//! - [`client::ClientConnection`]: the client side — tags, commands sent as
//!   [`Fragment`]s so synchronizing literals wait for `+`, response parsing;
//! - [`framer::Framer`]: the resumable line-and-literal splitter both use;
//! - [`parse_command`] / [`decode_command`], [`encode_response`] (server
//!   side), [`parse_response`] / [`decode_response`], [`encode_command`]
//!   (client side), over the ASTs in [`command`] and [`response`].
//!
//! ## Example
//!
//! ```
//! use postroom_imap::command::{Atom, Command};
//! use postroom_imap::response::{Data, StatusKind};
//! use postroom_imap::server::{ServerConfig, ServerConnection, ServerEvent};
//!
//! let caps = vec![Atom::new("IMAP4rev1").unwrap(), Atom::new("LITERAL+").unwrap()];
//! let mut conn = ServerConnection::new(ServerConfig::new(caps));
//! conn.handle_input(b"a1 LOGIN fred {6+}\r\nsecret\r\na2 SELECT inbox\r\n");
//! while let Some(event) = conn.poll_event() {
//!     match event {
//!         ServerEvent::Command { tag, command: Command::Login { username, password } } => {
//!             let ok = username == "fred" && password.expose_secret() == "secret";
//!             let kind = if ok { StatusKind::Ok } else { StatusKind::No };
//!             conn.complete(&tag, kind, None, "LOGIN completed");
//!         }
//!         ServerEvent::Command { tag, command: Command::Select { mailbox } } => {
//!             assert!(mailbox.is_inbox());
//!             conn.respond_data(Data::Exists(0));
//!             conn.complete(&tag, StatusKind::Ok, None, "SELECT completed");
//!         }
//!         other => panic!("{other:?}"),
//!     }
//! }
//! let mut out = Vec::new();
//! conn.poll_transmit(&mut out);
//! assert!(out.ends_with(b"a1 OK LOGIN completed\r\n* 0 EXISTS\r\na2 OK SELECT completed\r\n"));
//! ```
//!
//! ## Limits
//!
//! Input is bounded by [`postroom_types::Limits`]: line length, literal size
//! (before authentication, for APPEND, otherwise), total literal bytes per
//! message, nesting depth, consecutive BADs and the output high-water mark.
//! An over-limit synchronizing literal is refused before `+`; an over-limit
//! `{n+}` literal is skipped without buffering and then refused. Nested
//! search keys, BODYSTRUCTURE and THREAD data are parsed and encoded without
//! recursion; decoding stops at the depth limit, encoding never does.
//! Parse errors carry the byte offset, what was expected and the tag.
//!
//! A mailbox name that is not valid modified UTF-7 makes a well-formed
//! command fail with an error for which
//! [`error::ParseError::is_invalid_mailbox_name`] holds; the server
//! connection answers it `NO` (RFC 3501 §5.1.3), not `BAD`.
//!
//! `ENABLE UTF8=ACCEPT` parses like any `ENABLE` (the application decides
//! what it enables), but UTF-8 mailbox names and strings (RFC 6855) are
//! not. Not supported: BINARY (`~{n}` literals), CONDSTORE/QRESYNC,
//! MULTIAPPEND, ESEARCH, RFC 5258 LIST-EXTENDED selection options other
//! than Courier's ACL2 form. Grammar is hand-written over a byte cursor
//! rather than nom combinators, so every error has an exact offset.

pub mod client;
pub mod command;
mod command_encode;
mod command_parse;
mod encode;
pub mod error;
pub mod framer;
mod lexer;
pub mod response;
mod response_encode;
mod response_parse;
pub mod sasl;
pub mod server;

pub use command_encode::{encode_command, encode_command_bytes};
pub use command_parse::{CommandParseOptions, decode_command, parse_command};
pub use encode::{Fragment, LiteralMode};
pub use response_encode::encode_response;
pub use response_parse::{ResponseParseOptions, decode_response, parse_response};

/// The postroom-types items this crate uses.
pub(crate) mod types {
    pub(crate) use postroom_types::*;
}
