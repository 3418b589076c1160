//! [`BodyStructure`]: the BODY and BODYSTRUCTURE fetch items (RFC 3501
//! §7.4.2), with extension data.

use crate::envelope::Envelope;

/// The MIME structure of a message or body part.
///
/// BODY (without extension data) is the same value with the `extension`
/// fields `None`. A `message/rfc822` part holds its inner structure, so the
/// type nests; decoders bound the depth, and stores build it from parsed MIME.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BodyStructure {
    /// A non-multipart part.
    Single {
        /// The part.
        part: SinglePart,
        /// Extension data (BODYSTRUCTURE only).
        extension: Option<SinglePartExtension>,
    },
    /// A multipart: its parts, then the subtype.
    Multipart {
        /// The parts, in order (at least one).
        parts: Vec<BodyStructure>,
        /// The media subtype, e.g. `MIXED`.
        subtype: String,
        /// Extension data (BODYSTRUCTURE only).
        extension: Option<MultipartExtension>,
    },
}

/// A non-multipart body part.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SinglePart {
    /// Media type, e.g. `TEXT`, `APPLICATION`.
    pub media_type: String,
    /// Media subtype, e.g. `PLAIN`.
    pub media_subtype: String,
    /// The common fields.
    pub fields: BodyFields,
    /// What follows the fields for this type.
    pub kind: SinglePartKind,
}

/// The type-specific tail of a [`SinglePart`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SinglePartKind {
    /// Any type other than text and message/rfc822.
    Basic,
    /// `text/*`: the size in lines.
    Text {
        /// Lines of the encoded body.
        lines: u32,
    },
    /// `message/rfc822`: the inner envelope, structure and size in lines.
    Message {
        /// Envelope of the encapsulated message.
        envelope: Box<Envelope>,
        /// Structure of the encapsulated message.
        body: Box<BodyStructure>,
        /// Lines of the encoded body.
        lines: u32,
    },
}

/// The fields every non-multipart part has (RFC 3501 `body-fields`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BodyFields {
    /// Content-Type parameters (attribute, value); empty is NIL. Values
    /// are bytes: a header may carry 8-bit octets, which IMAP sends in a
    /// literal (RFC 3501 §4.3, §9 `string`).
    pub params: Vec<(String, Vec<u8>)>,
    /// `Content-ID`.
    pub id: Option<String>,
    /// `Content-Description`.
    pub description: Option<String>,
    /// `Content-Transfer-Encoding`, e.g. `7BIT`, `BASE64`.
    pub encoding: String,
    /// Size of the encoded body in octets.
    pub octets: u32,
}

/// Extension data of a non-multipart part (RFC 3501 `body-ext-1part`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SinglePartExtension {
    /// `Content-MD5`.
    pub md5: Option<String>,
    /// Disposition and what follows, when present.
    pub tail: Option<ExtensionTail>,
}

/// Extension data of a multipart (RFC 3501 `body-ext-mpart`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MultipartExtension {
    /// Content-Type parameters (values as bytes, see
    /// [`BodyFields::params`]); empty is NIL.
    pub params: Vec<(String, Vec<u8>)>,
    /// Disposition and what follows, when present.
    pub tail: Option<ExtensionTail>,
}

/// The disposition and the optional fields after it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ExtensionTail {
    /// `Content-Disposition`; `None` is NIL.
    pub disposition: Option<Disposition>,
    /// Language and what follows, when present.
    pub language: Option<LanguageTail>,
}

/// A `Content-Disposition` value (RFC 2183).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Disposition {
    /// e.g. `attachment`, `inline`.
    pub kind: String,
    /// Parameters (attribute, value as bytes, see [`BodyFields::params`]);
    /// empty is NIL.
    pub params: Vec<(String, Vec<u8>)>,
}

/// `Content-Language` and the fields after it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LanguageTail {
    /// Language tags; empty is NIL.
    pub languages: Vec<String>,
    /// Location and what follows, when present.
    pub location: Option<LocationTail>,
}

/// `Content-Location` and any later extension data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LocationTail {
    /// `Content-Location`; `None` is NIL.
    pub location: Option<String>,
    /// Extension values defined after RFC 3501.
    pub extensions: Vec<BodyExtension>,
}

/// A `body-extension` value: an nstring, a number, or a list of them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BodyExtension {
    /// A string or NIL.
    NString(Option<String>),
    /// A number.
    Number(u32),
    /// A parenthesised list.
    List(Vec<BodyExtension>),
}

impl BodyStructure {
    /// The body fields of a single part, `None` for a multipart.
    pub fn fields(&self) -> Option<&BodyFields> {
        match self {
            BodyStructure::Single { part, .. } => Some(&part.fields),
            BodyStructure::Multipart { .. } => None,
        }
    }

    /// A copy without extension data: the BODY form of this structure.
    /// Walks without recursion.
    #[must_use]
    pub fn without_extensions(&self) -> BodyStructure {
        let mut out = self.clone();
        let mut stack = vec![&mut out];
        while let Some(node) = stack.pop() {
            match node {
                BodyStructure::Single { part, extension } => {
                    *extension = None;
                    if let SinglePartKind::Message { body, .. } = &mut part.kind {
                        stack.push(body);
                    }
                }
                BodyStructure::Multipart {
                    parts, extension, ..
                } => {
                    *extension = None;
                    stack.extend(parts.iter_mut());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_plain(octets: u32) -> BodyStructure {
        BodyStructure::Single {
            part: SinglePart {
                media_type: "TEXT".into(),
                media_subtype: "PLAIN".into(),
                fields: BodyFields {
                    params: vec![("CHARSET".into(), b"US-ASCII".to_vec())],
                    encoding: "7BIT".into(),
                    octets,
                    ..BodyFields::default()
                },
                kind: SinglePartKind::Text { lines: 3 },
            },
            extension: Some(SinglePartExtension::default()),
        }
    }

    #[test]
    fn strips_extensions_everywhere() {
        let inner = text_plain(10);
        let msg = BodyStructure::Single {
            part: SinglePart {
                media_type: "MESSAGE".into(),
                media_subtype: "RFC822".into(),
                fields: BodyFields::default(),
                kind: SinglePartKind::Message {
                    envelope: Box::default(),
                    body: Box::new(inner),
                    lines: 9,
                },
            },
            extension: Some(SinglePartExtension::default()),
        };
        let mixed = BodyStructure::Multipart {
            parts: vec![text_plain(5), msg],
            subtype: "MIXED".into(),
            extension: Some(MultipartExtension::default()),
        };
        let plain = mixed.without_extensions();
        let BodyStructure::Multipart {
            parts, extension, ..
        } = &plain
        else {
            panic!("multipart expected")
        };
        assert!(extension.is_none());
        assert!(matches!(
            parts[0],
            BodyStructure::Single {
                extension: None,
                ..
            }
        ));
        let BodyStructure::Single {
            part,
            extension: None,
        } = &parts[1]
        else {
            panic!("message part without extension expected")
        };
        let SinglePartKind::Message { body, .. } = &part.kind else {
            panic!("message kind expected")
        };
        assert!(matches!(
            **body,
            BodyStructure::Single {
                extension: None,
                ..
            }
        ));
        assert_eq!(parts[0].fields().unwrap().octets, 5);
        assert!(plain.fields().is_none());
    }
}
