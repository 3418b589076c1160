//! [`Section`]: which part of a message a `BODY[section]` fetch means.

use std::num::NonZeroU32;

/// A `section` of `BODY[section]` (RFC 3501 §6.4.5, §9 `section-spec`):
/// part numbers and a text specifier. The codec parses and encodes it; a
/// store resolves it against a message.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Section {
    /// Part numbers (`1.2.3`); empty for the whole message.
    pub part: Vec<NonZeroU32>,
    /// What of the part; `None` for its body (the whole message without
    /// part numbers).
    pub text: Option<SectionText>,
}

/// `section-msgtext` / `MIME` (RFC 3501 §9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectionText {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (names)` (at least one name).
    HeaderFields(Vec<String>),
    /// `HEADER.FIELDS.NOT (names)` (at least one name).
    HeaderFieldsNot(Vec<String>),
    /// `TEXT`
    Text,
    /// `MIME` (only after a part number).
    Mime,
}
