//! Message flags (RFC 3501 §2.3.2): [`Flag`], [`Keyword`], and the
//! session-only `\Recent` in [`FlagFetch`].

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// An error from validating a flag or keyword.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlagError {
    /// The keyword or flag was empty.
    #[error("empty flag")]
    Empty,
    /// A byte that an IMAP atom may not hold (RFC 3501 §9 `atom-specials`).
    #[error(
        "invalid character {character:?} at offset {offset} in flag: expected an atom character"
    )]
    InvalidCharacter {
        /// The offending character.
        character: char,
        /// Its byte offset.
        offset: usize,
    },
    /// `\Recent` where only storable flags are allowed.
    #[error("\\Recent cannot be stored or set by a client")]
    Recent,
}

/// Whether `c` is an RFC 3501 `ATOM-CHAR`: printable ASCII except
/// `( ) { SP % * " \ ]` and controls.
pub const fn is_atom_char(c: u8) -> bool {
    matches!(c, 0x21..=0x7e) && !matches!(c, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

fn validate_atom(s: &str) -> Result<(), FlagError> {
    if s.is_empty() {
        return Err(FlagError::Empty);
    }
    match s
        .char_indices()
        .find(|&(_, c)| !c.is_ascii() || !is_atom_char(c as u8))
    {
        Some((offset, character)) => Err(FlagError::InvalidCharacter { character, offset }),
        None => Ok(()),
    }
}

/// A keyword: a client-defined flag such as `$Junk` or `NonJunk`, an IMAP
/// atom without a leading backslash.
///
/// Comparison and hashing ignore ASCII case, as servers treat keywords.
///
/// ```
/// use postroom_types::Keyword;
/// assert_eq!(Keyword::new("$Junk").unwrap(), Keyword::new("$junk").unwrap());
/// assert!(Keyword::new("two words").is_err());
/// ```
#[derive(Clone, Debug, Eq)]
pub struct Keyword(String);

impl Keyword {
    /// Validates a keyword: a non-empty atom (RFC 3501 §9 `flag-keyword`).
    pub fn new(s: &str) -> Result<Keyword, FlagError> {
        validate_atom(s)?;
        Ok(Keyword(s.to_owned()))
    }

    /// The keyword as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Keyword {
    fn eq(&self, other: &Keyword) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Ord for Keyword {
    fn cmp(&self, other: &Keyword) -> std::cmp::Ordering {
        let a = self.0.bytes().map(|b| b.to_ascii_lowercase());
        let b = other.0.bytes().map(|b| b.to_ascii_lowercase());
        a.cmp(b)
    }
}

impl PartialOrd for Keyword {
    fn partial_cmp(&self, other: &Keyword) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for Keyword {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.0.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A flag that can be stored with a message (RFC 3501 §2.3.2).
///
/// System flags compare case-insensitively on input; `\Recent` is not here
/// (see [`FlagFetch`]) because no client can set it.
///
/// ```
/// use postroom_types::Flag;
/// assert_eq!("\\SEEN".parse::<Flag>().unwrap(), Flag::Seen);
/// assert_eq!(Flag::Seen.to_string(), "\\Seen");
/// assert!("\\Recent".parse::<Flag>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Seen`
    Seen,
    /// `\Draft`
    Draft,
    /// A keyword.
    Keyword(Keyword),
    /// A `\Atom` flag extension this crate does not know (kept so a client
    /// can hand it back); the string excludes the backslash.
    Extension(String),
}

impl Flag {
    /// The five system flags.
    pub const SYSTEM: [Flag; 5] = [
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Seen,
        Flag::Draft,
    ];

    /// Whether this is one of the five system flags.
    pub fn is_system(&self) -> bool {
        !matches!(self, Flag::Keyword(_) | Flag::Extension(_))
    }
}

impl FromStr for Flag {
    type Err = FlagError;

    /// Parses `\Answered` .. `\Draft` (any case), `\Other` as an extension,
    /// or a keyword atom. `\Recent` is refused.
    fn from_str(s: &str) -> Result<Flag, FlagError> {
        match s.strip_prefix('\\') {
            Some(name) => {
                let flag = match name.to_ascii_lowercase().as_str() {
                    "answered" => Flag::Answered,
                    "flagged" => Flag::Flagged,
                    "deleted" => Flag::Deleted,
                    "seen" => Flag::Seen,
                    "draft" => Flag::Draft,
                    "recent" => return Err(FlagError::Recent),
                    _ => {
                        validate_atom(name).map_err(|e| match e {
                            FlagError::InvalidCharacter { character, offset } => {
                                FlagError::InvalidCharacter {
                                    character,
                                    offset: offset + 1,
                                }
                            }
                            other => other,
                        })?;
                        Flag::Extension(name.to_owned())
                    }
                };
                Ok(flag)
            }
            None => Keyword::new(s).map(Flag::Keyword),
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flag::Answered => f.write_str("\\Answered"),
            Flag::Flagged => f.write_str("\\Flagged"),
            Flag::Deleted => f.write_str("\\Deleted"),
            Flag::Seen => f.write_str("\\Seen"),
            Flag::Draft => f.write_str("\\Draft"),
            Flag::Keyword(k) => f.write_str(k.as_str()),
            Flag::Extension(e) => write!(f, "\\{e}"),
        }
    }
}

/// A flag as FETCH FLAGS reports it: a stored flag or the session-only
/// `\Recent` (RFC 3501 §2.3.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FlagFetch {
    /// A stored flag.
    Flag(Flag),
    /// `\Recent`: this session is the first to see the message.
    Recent,
}

impl fmt::Display for FlagFetch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagFetch::Flag(flag) => flag.fmt(f),
            FlagFetch::Recent => f.write_str("\\Recent"),
        }
    }
}

impl FromStr for FlagFetch {
    type Err = FlagError;

    fn from_str(s: &str) -> Result<FlagFetch, FlagError> {
        if s.eq_ignore_ascii_case("\\Recent") {
            Ok(FlagFetch::Recent)
        } else {
            s.parse().map(FlagFetch::Flag)
        }
    }
}

/// A member of the PERMANENTFLAGS response code (RFC 3501 §7.1): a flag, or
/// `\*` (clients may create new keywords).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FlagPerm {
    /// A flag that is kept across sessions.
    Flag(Flag),
    /// `\*`: new keywords can be created and stored.
    AnyKeyword,
}

impl fmt::Display for FlagPerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagPerm::Flag(flag) => flag.fmt(f),
            FlagPerm::AnyKeyword => f.write_str("\\*"),
        }
    }
}

impl FromStr for FlagPerm {
    type Err = FlagError;

    fn from_str(s: &str) -> Result<FlagPerm, FlagError> {
        if s == "\\*" {
            Ok(FlagPerm::AnyKeyword)
        } else {
            s.parse().map(FlagPerm::Flag)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn system_flags_round_trip() {
        for f in Flag::SYSTEM {
            assert!(f.is_system());
            assert_eq!(f.to_string().parse::<Flag>().unwrap(), f);
            assert_eq!(f.to_string().to_uppercase().parse::<Flag>().unwrap(), f);
        }
    }

    #[test]
    fn keywords_and_extensions() {
        assert_eq!(
            "$Forwarded".parse::<Flag>().unwrap(),
            Flag::Keyword(Keyword::new("$forwarded").unwrap())
        );
        assert_eq!(
            "\\Important".parse::<Flag>().unwrap(),
            Flag::Extension("Important".into())
        );
        assert_eq!(
            Flag::Extension("Important".into()).to_string(),
            "\\Important"
        );
        assert!(!Flag::Keyword(Keyword::new("a").unwrap()).is_system());
    }

    #[test]
    fn invalid_flags_say_where() {
        assert_eq!(Keyword::new(""), Err(FlagError::Empty));
        assert_eq!(
            Keyword::new("ab(c"),
            Err(FlagError::InvalidCharacter {
                character: '(',
                offset: 2
            })
        );
        assert_eq!(
            "\\a]".parse::<Flag>(),
            Err(FlagError::InvalidCharacter {
                character: ']',
                offset: 2
            })
        );
        assert!("\\".parse::<Flag>().is_err());
        assert!(Keyword::new("nul\0").is_err());
        assert!(Keyword::new("caf\u{e9}").is_err());
        assert_eq!("\\recent".parse::<Flag>(), Err(FlagError::Recent));
    }

    #[test]
    fn keyword_hash_ignores_case() {
        let set: HashSet<Keyword> = ["Junk", "JUNK", "junk"]
            .iter()
            .map(|k| Keyword::new(k).unwrap())
            .collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn recent_and_wildcard() {
        assert_eq!("\\RECENT".parse::<FlagFetch>().unwrap(), FlagFetch::Recent);
        assert_eq!(FlagFetch::Recent.to_string(), "\\Recent");
        assert_eq!("\\*".parse::<FlagPerm>().unwrap(), FlagPerm::AnyKeyword);
        assert_eq!(FlagPerm::AnyKeyword.to_string(), "\\*");
        assert_eq!(
            "\\Seen".parse::<FlagPerm>().unwrap(),
            FlagPerm::Flag(Flag::Seen)
        );
    }

    #[test]
    fn atom_chars() {
        assert!(is_atom_char(b'a'));
        assert!(is_atom_char(b'$'));
        assert!(!is_atom_char(b' '));
        assert!(!is_atom_char(b'%'));
        assert!(!is_atom_char(0x7f));
        assert!(is_atom_char(b'['));
    }
}
