//! Error types.

use std::path::PathBuf;

/// A malformed byte in a file this crate reads (UID, keyword or
/// subscription file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed file at byte {offset}: expected {expected}")]
#[non_exhaustive]
pub struct FormatError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What was expected there.
    pub expected: &'static str,
}

impl FormatError {
    pub(crate) const fn new(offset: usize, expected: &'static str) -> FormatError {
        FormatError { offset, expected }
    }
}

/// Why a mailbox name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameProblem {
    /// An empty name or an empty level (`a..b`, a leading or trailing `.`).
    EmptyLevel,
    /// A `/` inside a level.
    Slash,
    /// A control character.
    Control,
    /// A level that is `.` or `..` or starts with `.`.
    Dot,
    /// The name is not under `INBOX.` (the personal namespace).
    OutsideNamespace,
    /// The name is longer than the store allows.
    TooLong,
    /// The on-disk form is not valid modified UTF-7.
    BadEncoding,
    /// The name is reserved for the store's own files.
    Reserved,
}

impl std::fmt::Display for NameProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NameProblem::EmptyLevel => "empty hierarchy level",
            NameProblem::Slash => "'/' inside a level",
            NameProblem::Control => "control character",
            NameProblem::Dot => "level starting with '.'",
            NameProblem::OutsideNamespace => "not in the INBOX. namespace",
            NameProblem::TooLong => "name too long",
            NameProblem::BadEncoding => "invalid modified UTF-7",
            NameProblem::Reserved => "reserved name",
        })
    }
}

/// Errors from stores, mailboxes and sessions.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailboxError {
    /// The mailbox does not exist (or is a hierarchy-only `\Noselect` name).
    #[error("mailbox {0:?} does not exist")]
    NotFound(String),
    /// CREATE or RENAME onto a name that exists.
    #[error("mailbox {0:?} already exists")]
    AlreadyExists(String),
    /// A name that cannot be stored.
    #[error("invalid mailbox name {name:?}: {problem}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        problem: NameProblem,
    },
    /// DELETE of INBOX (RFC 3501 §6.3.4).
    #[error("INBOX cannot be deleted")]
    DeleteInbox,
    /// DELETE of a `\Noselect` name that still has children (RFC 3501 §6.3.4).
    #[error("mailbox {0:?} has inferior hierarchical names and is \\Noselect")]
    HasChildren(String),
    /// RENAME into one of the mailbox's own children.
    #[error("cannot rename {0:?} into its own hierarchy")]
    RenameIntoSelf(String),
    /// The message with this UID is not (or no longer) in the mailbox.
    #[error("no message with uid {0}")]
    NoSuchMessage(u32),
    /// SEARCH with a charset other than UTF-8 or US-ASCII (RFC 3501 §6.4.4).
    #[error("unsupported search charset {0:?}")]
    BadCharset(String),
    /// A POP3 command named a message marked with DELE (RFC 1939 §5).
    #[error("message {0} is deleted")]
    MarkedDeleted(u32),
    /// A change through a read-only (EXAMINE) session.
    #[error("mailbox is read-only")]
    ReadOnly,
    /// The UID space of the mailbox is used up (RFC 3501 §2.3.1.1).
    #[error("uid space exhausted")]
    UidsExhausted,
    /// The message would exceed the quota.
    #[error("quota exceeded")]
    OverQuota,
    /// The message is larger than the store accepts.
    #[error("message of {0} octets too large")]
    TooLarge(u64),
    /// A file system call failed.
    #[error("i/o error on {path}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A store file could not be parsed.
    #[error("malformed {path}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        #[source]
        source: FormatError,
    },
}

impl MailboxError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> MailboxError {
        MailboxError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn name(name: &str, problem: NameProblem) -> MailboxError {
        MailboxError::InvalidName {
            name: name.to_owned(),
            problem,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = MailboxError> = std::result::Result<T, E>;
