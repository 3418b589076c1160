//! Error types.

/// Why the framer refused a message before parsing it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A line (without literal data) is longer than the limit.
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The limit in force.
        limit: usize,
    },
    /// A literal is larger than the limit in force.
    #[error("literal of {size} bytes exceeds the limit of {limit} bytes")]
    LiteralTooLarge {
        /// The announced size.
        size: u64,
        /// The limit in force.
        limit: u64,
        /// Whether it was a synchronizing literal (refused before `+`).
        synchronizing: bool,
    },
    /// The literals of one message add up to more than the limit.
    #[error("message literals exceed {limit} bytes in total")]
    MessageTooLarge {
        /// The limit in force.
        limit: u64,
    },
}

/// A grammar error: where, what was expected, and the tag when known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}at byte {offset}: expected {expected}{}", tag_prefix(.tag), found_suffix(.found))]
pub struct ParseError {
    /// Byte offset from the start of the message.
    pub offset: usize,
    /// What the grammar expected there.
    pub expected: &'static str,
    /// The byte found there, if any.
    pub found: Option<u8>,
    /// The tag of the command or response, when it was read.
    pub tag: Option<String>,
}

/// The `expected` text of a mailbox name that is not valid modified UTF-7.
pub(crate) const INVALID_MAILBOX_NAME: &str = "mailbox name in modified UTF-7";

impl ParseError {
    /// Whether the command was well formed except that a mailbox name is
    /// not valid modified UTF-7 (RFC 3501 §5.1.3: `&` not closed by `-`,
    /// a superfluous shift, base64 of printable ASCII, a bad surrogate).
    /// Such a command is answered `NO`, not `BAD`: the syntax is fine and
    /// the name is what the server refuses (RFC 3501 §5.1.3, as Dovecot
    /// does).
    pub fn is_invalid_mailbox_name(&self) -> bool {
        self.expected == INVALID_MAILBOX_NAME
    }
}

fn tag_prefix(tag: &Option<String>) -> String {
    match tag {
        Some(t) => format!("command {t}: "),
        None => String::new(),
    }
}

fn found_suffix(found: &Option<u8>) -> String {
    match found {
        Some(b) if b.is_ascii_graphic() => format!(", found {:?}", *b as char),
        Some(b) => format!(", found byte 0x{b:02x}"),
        None => ", found end of input".to_string(),
    }
}

/// The result of decoding from a buffer that may hold a partial message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// More bytes are needed; this is a status, not a failure.
    #[error("incomplete message")]
    Incomplete,
    /// The framer refused the message.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The message is complete but does not follow the grammar.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// Why a value cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A string that must be an atom is not one.
    #[error("{what} is not a valid atom: {value:?}")]
    NotAnAtom {
        /// What the value is.
        what: &'static str,
        /// The value.
        value: String,
    },
    /// Text that cannot be sent on a line (CR, LF or NUL).
    #[error("{what} contains CR, LF or NUL")]
    InvalidText {
        /// What the value is.
        what: &'static str,
    },
}
