//! Error types.

/// An error from [`crate::KeyRecord::decode`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRecordError {
    /// The first byte names a format this version does not know.
    #[error("unknown key record format version {version} at byte 0")]
    UnknownVersion {
        /// The version byte found.
        version: u8,
    },
    /// The input ended inside a field.
    #[error("key record truncated at byte {offset}")]
    Truncated {
        /// Offset of the field that runs past the end.
        offset: usize,
    },
    /// A field holds a value the format does not allow.
    #[error("invalid key record at byte {offset}: expected {expected}")]
    Invalid {
        /// Offset of the field.
        offset: usize,
        /// What was expected there.
        expected: &'static str,
    },
    /// Bytes follow a complete record.
    #[error("trailing bytes after key record at byte {offset}")]
    TrailingBytes {
        /// Offset of the first extra byte.
        offset: usize,
    },
}

/// An error from a SORT or THREAD request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SortError {
    /// The search charset is neither US-ASCII nor UTF-8; the server answers
    /// `NO [BADCHARSET (US-ASCII UTF-8)]` (RFC 5256 §3).
    #[error("unsupported charset {charset:?}: expected US-ASCII or UTF-8")]
    BadCharset {
        /// The charset as given.
        charset: String,
    },
}
