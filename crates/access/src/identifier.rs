//! ACL identifiers (RFC 4314 §2, Courier's identifier set).

use std::fmt;

/// Whom an identifier names, without its negative marker.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Subject {
    /// `anyone`: every session, anonymous ones included (RFC 4314 §2).
    Anyone,
    /// `anonymous`: Courier's synonym for `anyone`; kept apart so that a
    /// stored ACL prints back as it was read.
    Anonymous,
    /// `authuser`: every authenticated, non-anonymous session (the name is
    /// Courier's; RFC 4314 does not define it).
    AuthUser,
    /// `owner`: the owner of the mailbox.
    Owner,
    /// `administrators`: Courier's alias for `group=administrators`.
    Administrators,
    /// `group=NAME`: members of an account group the caller knows of.
    Group(String),
    /// A user, written `NAME` (RFC 4314) or `user=NAME` (Courier ACL2).
    User(String),
}

/// The name of the administrators group; `administrators` and
/// `group=administrators` both match its members.
pub const ADMINISTRATORS_GROUP: &str = "administrators";

/// An ACL identifier: a [`Subject`] and whether the entry is negative
/// (a leading `-`, RFC 4314 §2).
///
/// [`Display`](fmt::Display) writes the canonical, storage form used in
/// `courierimapacl` files and Courier's ACL2 responses: users as
/// `user=NAME`, groups as `group=NAME`. [`Identifier::to_rfc4314`] gives the
/// RFC 4314 form (a bare user name).
///
/// ```
/// use postroom_access::{Identifier, Subject};
/// let id: Identifier = "-fred".parse()?;
/// assert!(id.is_negative());
/// assert_eq!(id.subject(), &Subject::User("fred".into()));
/// assert_eq!(id.to_string(), "-user=fred");
/// assert_eq!(id.to_rfc4314().as_deref(), Some("-fred"));
/// # Ok::<(), postroom_access::IdentifierError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identifier {
    negative: bool,
    subject: Subject,
}

/// Why an identifier was refused (a server answers `BAD`, RFC 4314 §3).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentifierError {
    /// The identifier (after any `-`) is empty.
    #[error("empty identifier at offset {offset}")]
    Empty {
        /// Where the missing name should have started.
        offset: usize,
    },
    /// A space, control character or DEL: such identifiers cannot be
    /// stored in a `courierimapacl` file.
    #[error("invalid character {character:?} in identifier at offset {offset}")]
    InvalidCharacter {
        /// The character.
        character: char,
        /// Its byte offset.
        offset: usize,
    },
    /// A `prefix=` other than `user=` and `group=`.
    #[error("unknown identifier prefix {prefix:?}: expected user= or group=")]
    UnknownPrefix {
        /// The text before `=`.
        prefix: String,
    },
}

impl Identifier {
    /// A positive identifier for `subject`.
    pub const fn positive(subject: Subject) -> Identifier {
        Identifier {
            negative: false,
            subject,
        }
    }

    /// A negative identifier for `subject`.
    pub const fn negative(subject: Subject) -> Identifier {
        Identifier {
            negative: true,
            subject,
        }
    }

    /// `anyone`.
    pub const ANYONE: Identifier = Identifier::positive(Subject::Anyone);
    /// `owner`.
    pub const OWNER: Identifier = Identifier::positive(Subject::Owner);
    /// `administrators`.
    pub const ADMINISTRATORS: Identifier = Identifier::positive(Subject::Administrators);

    /// A positive user identifier.
    pub fn user(name: impl Into<String>) -> Identifier {
        Identifier::positive(Subject::User(name.into()))
    }

    /// A positive group identifier.
    pub fn group(name: impl Into<String>) -> Identifier {
        Identifier::positive(Subject::Group(name.into()))
    }

    /// Parses an identifier: an optional `-`, then `anyone`, `anonymous`,
    /// `authuser`, `owner`, `administrators`, `group=NAME`, `user=NAME` or a
    /// bare user name. Names are case-sensitive.
    pub fn parse(input: &str) -> Result<Identifier, IdentifierError> {
        let (negative, body, base) = match input.strip_prefix('-') {
            Some(rest) => (true, rest, 1),
            None => (false, input, 0),
        };
        if body.is_empty() {
            return Err(IdentifierError::Empty { offset: base });
        }
        if let Some((i, character)) = body
            .char_indices()
            .find(|&(_, c)| c <= ' ' || c == '\u{7f}')
        {
            return Err(IdentifierError::InvalidCharacter {
                character,
                offset: base + i,
            });
        }
        let subject = match body {
            "anyone" => Subject::Anyone,
            "anonymous" => Subject::Anonymous,
            "authuser" => Subject::AuthUser,
            "owner" => Subject::Owner,
            "administrators" => Subject::Administrators,
            _ => match body.split_once('=') {
                Some(("user", name)) => Subject::User(nonempty(name, base + 5)?),
                Some(("group", name)) => Subject::Group(nonempty(name, base + 6)?),
                Some((prefix, _)) => {
                    return Err(IdentifierError::UnknownPrefix {
                        prefix: prefix.to_owned(),
                    });
                }
                None => Subject::User(body.to_owned()),
            },
        };
        Ok(Identifier { negative, subject })
    }

    /// Whether this is a negative entry (`-` prefix).
    pub const fn is_negative(&self) -> bool {
        self.negative
    }

    /// Whom the identifier names.
    pub const fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The same subject with the opposite sign.
    #[must_use]
    pub fn negated(&self) -> Identifier {
        Identifier {
            negative: !self.negative,
            subject: self.subject.clone(),
        }
    }

    /// The same subject, positive.
    #[must_use]
    pub fn positive_form(&self) -> Identifier {
        Identifier::positive(self.subject.clone())
    }

    /// Whether this identifier names the administrators group
    /// (`administrators` or `group=administrators`).
    pub fn is_administrators(&self) -> bool {
        match &self.subject {
            Subject::Administrators => true,
            Subject::Group(g) => g == ADMINISTRATORS_GROUP,
            _ => false,
        }
    }

    /// The RFC 4314 form: a user as the bare name, special identifiers
    /// unchanged, `administrators` as is. Groups have no RFC 4314 form
    /// (Courier hides them from GETACL), so `None`.
    pub fn to_rfc4314(&self) -> Option<String> {
        let sign = if self.negative { "-" } else { "" };
        match &self.subject {
            Subject::User(name) => Some(format!("{sign}{name}")),
            Subject::Group(_) => None,
            other => Some(format!("{sign}{}", special_name(other))),
        }
    }
}

fn nonempty(name: &str, offset: usize) -> Result<String, IdentifierError> {
    if name.is_empty() {
        Err(IdentifierError::Empty { offset })
    } else {
        Ok(name.to_owned())
    }
}

fn special_name(subject: &Subject) -> &'static str {
    match subject {
        Subject::Anyone => "anyone",
        Subject::Anonymous => "anonymous",
        Subject::AuthUser => "authuser",
        Subject::Owner => "owner",
        Subject::Administrators => "administrators",
        Subject::Group(_) | Subject::User(_) => "",
    }
}

impl std::str::FromStr for Identifier {
    type Err = IdentifierError;
    fn from_str(s: &str) -> Result<Identifier, IdentifierError> {
        Identifier::parse(s)
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        match &self.subject {
            Subject::User(name) => write!(f, "user={name}"),
            Subject::Group(name) => write!(f, "group={name}"),
            other => f.write_str(special_name(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let cases: &[(&str, bool, Subject)] = &[
            ("anyone", false, Subject::Anyone),
            ("anonymous", false, Subject::Anonymous),
            ("authuser", false, Subject::AuthUser),
            ("owner", false, Subject::Owner),
            ("administrators", false, Subject::Administrators),
            ("group=staff", false, Subject::Group("staff".into())),
            ("user=bob", false, Subject::User("bob".into())),
            ("bob", false, Subject::User("bob".into())),
            ("-bob", true, Subject::User("bob".into())),
            ("-group=admins", true, Subject::Group("admins".into())),
            ("-anyone", true, Subject::Anyone),
            ("Anyone", false, Subject::User("Anyone".into())),
            (
                "fred@example.org",
                false,
                Subject::User("fred@example.org".into()),
            ),
        ];
        for (text, neg, subject) in cases {
            let id = Identifier::parse(text).unwrap();
            assert_eq!(id.is_negative(), *neg, "{text}");
            assert_eq!(id.subject(), subject, "{text}");
        }
    }

    #[test]
    fn display_is_storage_form_and_round_trips() {
        for text in [
            "anyone",
            "anonymous",
            "authuser",
            "owner",
            "administrators",
            "group=staff",
            "user=bob",
            "-user=fred",
            "-group=admins",
            "-owner",
        ] {
            let id = Identifier::parse(text).unwrap();
            assert_eq!(id.to_string(), text);
            assert_eq!(Identifier::parse(&id.to_string()).unwrap(), id);
        }
        assert_eq!(Identifier::parse("bob").unwrap().to_string(), "user=bob");
    }

    #[test]
    fn rfc4314_form_hides_groups() {
        assert_eq!(
            Identifier::parse("user=bob")
                .unwrap()
                .to_rfc4314()
                .as_deref(),
            Some("bob")
        );
        assert_eq!(
            Identifier::parse("-user=bob")
                .unwrap()
                .to_rfc4314()
                .as_deref(),
            Some("-bob")
        );
        assert_eq!(Identifier::parse("group=x").unwrap().to_rfc4314(), None);
        assert_eq!(Identifier::OWNER.to_rfc4314().as_deref(), Some("owner"));
    }

    #[test]
    fn refusals() {
        assert_eq!(
            Identifier::parse(""),
            Err(IdentifierError::Empty { offset: 0 })
        );
        assert_eq!(
            Identifier::parse("-"),
            Err(IdentifierError::Empty { offset: 1 })
        );
        assert_eq!(
            Identifier::parse("user="),
            Err(IdentifierError::Empty { offset: 5 })
        );
        assert_eq!(
            Identifier::parse("-group="),
            Err(IdentifierError::Empty { offset: 7 })
        );
        assert_eq!(
            Identifier::parse("a b"),
            Err(IdentifierError::InvalidCharacter {
                character: ' ',
                offset: 1
            })
        );
        assert!(matches!(
            Identifier::parse("role=x"),
            Err(IdentifierError::UnknownPrefix { .. })
        ));
    }

    #[test]
    fn administrators_both_spellings() {
        assert!(Identifier::ADMINISTRATORS.is_administrators());
        assert!(Identifier::group("administrators").is_administrators());
        assert!(!Identifier::group("staff").is_administrators());
    }
}
