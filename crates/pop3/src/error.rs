//! Error types of the codec and the connections.

/// Why a command line could not be decoded or encoded.
///
/// Offsets count bytes from the start of the command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The keyword is not a POP3 command this crate knows.
    #[error("unknown command {keyword:?} at byte 0")]
    UnknownCommand {
        /// The keyword as received (at most 16 bytes, lossily decoded).
        keyword: String,
    },
    /// Something other than what the grammar allows was found.
    #[error("expected {expected} at byte {offset}")]
    Expected {
        /// Where the unexpected byte (or the end of the line) is.
        offset: usize,
        /// What the grammar allows there.
        expected: &'static str,
    },
    /// A number does not fit, or a message number is zero.
    #[error("number out of range at byte {offset}: {expected}")]
    NumberOutOfRange {
        /// Where the number starts.
        offset: usize,
        /// What range is allowed.
        expected: &'static str,
    },
    /// An argument that must be UTF-8 is not.
    #[error("invalid utf-8 at byte {offset}")]
    InvalidUtf8 {
        /// Where the argument starts.
        offset: usize,
    },
    /// A SASL response is not valid base64 (RFC 4648 §4, with padding).
    #[error("invalid base64 at byte {offset}")]
    InvalidBase64 {
        /// Where the base64 text starts.
        offset: usize,
    },
    /// An encoded command would exceed the 255-octet line limit of RFC 2449 §4.
    #[error("command line of {length} octets exceeds the limit of {limit}")]
    LineTooLong {
        /// Octets the line would have, CRLF included.
        length: usize,
        /// The limit, CRLF included.
        limit: usize,
    },
}

/// Why a server response line could not be decoded.
///
/// Offsets count bytes from the start of the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The line does not start with `+OK`, `-ERR` or (where allowed) `+ `.
    #[error("expected {expected} at byte {offset}")]
    Expected {
        /// Where the unexpected byte is.
        offset: usize,
        /// What the grammar allows there.
        expected: &'static str,
    },
    /// A SASL challenge is not valid base64.
    #[error("invalid base64 in challenge at byte {offset}")]
    InvalidBase64 {
        /// Where the base64 text starts.
        offset: usize,
    },
    /// A line of a multi-line listing (LIST, UIDL, CAPA, LANG) is malformed.
    #[error("malformed {listing} line: expected {expected} at byte {offset}")]
    Listing {
        /// Which listing.
        listing: &'static str,
        /// Where the problem is.
        offset: usize,
        /// What the grammar allows there.
        expected: &'static str,
    },
}

/// A connection method was called when the protocol state does not allow it.
///
/// These are mistakes of the application, not of the peer; nothing has been
/// queued for sending when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// There is no command waiting for an answer.
    #[error("no command is waiting for an answer")]
    NothingToAnswer,
    /// A multi-line response is being streamed; finish it first.
    #[error("a multi-line response is in progress")]
    MultilineInProgress,
    /// No multi-line response is being streamed.
    #[error("no multi-line response is in progress")]
    NoMultiline,
    /// The command being answered has no multi-line form.
    #[error("{command} has no multi-line response")]
    NotMultiline {
        /// The command keyword.
        command: &'static str,
    },
    /// A SASL challenge or response was sent outside an AUTH exchange.
    #[error("no AUTH exchange is in progress")]
    NoAuthExchange,
    /// The connection is closed or closing.
    #[error("the connection is closed")]
    Closed,
    /// The client must wait: STLS or an AUTH exchange is in progress
    /// (RFC 2595 §4, RFC 5034 §4).
    #[error("must wait for the server before sending: {reason}")]
    MustWait {
        /// What is being waited for.
        reason: &'static str,
    },
    /// TLS was reported started although no STLS was accepted.
    #[error("no STLS was accepted")]
    NoTlsPending,
    /// The command could not be encoded.
    #[error("cannot encode the command")]
    Command(#[source] CommandError),
}

/// A server sent something a [`ClientConnection`](crate::ClientConnection)
/// cannot go on from; the connection stops reading.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A status line or challenge is malformed.
    #[error("malformed response line")]
    Response(#[source] ResponseError),
    /// A line is longer than the configured limit.
    #[error("response line longer than {limit} octets")]
    LineTooLong {
        /// The limit, without CRLF.
        limit: usize,
    },
    /// The server sent a line while no command was waiting for an answer.
    #[error("unexpected line from the server: no command is waiting for an answer")]
    Unexpected,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_with_offsets() {
        let e = CommandError::Expected {
            offset: 5,
            expected: "a message number",
        };
        assert_eq!(e.to_string(), "expected a message number at byte 5");
        let e = ResponseError::Expected {
            offset: 0,
            expected: "+OK or -ERR",
        };
        assert_eq!(e.to_string(), "expected +OK or -ERR at byte 0");
    }
}
