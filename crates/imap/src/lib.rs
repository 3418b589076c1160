//! # postroom-imap
//!
//! WIP
#![allow(missing_docs)]

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
