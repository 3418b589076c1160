//! ACL rights (RFC 4314 §2.1) and ACL entries.

use std::fmt;
use std::str::FromStr;

/// One of the rights RFC 4314 §2.1 names, plus the obsolete RFC 2086 `c` and
/// `d` that RFC 4314 §2.1.1 keeps as virtual rights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Right {
    /// `l`: the mailbox is visible to LIST/LSUB, SUBSCRIBE.
    Lookup,
    /// `r`: SELECT, EXAMINE, STATUS, FETCH, SEARCH, COPY from.
    Read,
    /// `s`: keep the `\Seen` flag across sessions.
    Seen,
    /// `w`: write flags other than `\Seen` and `\Deleted`.
    Write,
    /// `i`: APPEND and COPY into the mailbox.
    Insert,
    /// `p`: send mail to the submission address of the mailbox.
    Post,
    /// `k`: create mailboxes below this one (RFC 4314 `k`).
    CreateMailbox,
    /// `x`: delete or rename the mailbox.
    DeleteMailbox,
    /// `t`: set or clear `\Deleted`.
    DeleteMessages,
    /// `e`: EXPUNGE, and the expunge of CLOSE.
    Expunge,
    /// `a`: administer (SETACL, DELETEACL, GETACL, LISTRIGHTS).
    Administer,
    /// `c`: RFC 2086 create; virtual in RFC 4314 §2.1.1.
    LegacyCreate,
    /// `d`: RFC 2086 delete; virtual in RFC 4314 §2.1.1.
    LegacyDelete,
}

impl Right {
    /// The eleven rights of RFC 4314 in the order the RFC lists them.
    pub const RFC4314: [Right; 11] = [
        Right::Lookup,
        Right::Read,
        Right::Seen,
        Right::Write,
        Right::Insert,
        Right::Post,
        Right::CreateMailbox,
        Right::DeleteMailbox,
        Right::DeleteMessages,
        Right::Expunge,
        Right::Administer,
    ];

    /// The letter of this right.
    pub const fn letter(self) -> char {
        match self {
            Right::Lookup => 'l',
            Right::Read => 'r',
            Right::Seen => 's',
            Right::Write => 'w',
            Right::Insert => 'i',
            Right::Post => 'p',
            Right::CreateMailbox => 'k',
            Right::DeleteMailbox => 'x',
            Right::DeleteMessages => 't',
            Right::Expunge => 'e',
            Right::Administer => 'a',
            Right::LegacyCreate => 'c',
            Right::LegacyDelete => 'd',
        }
    }

    /// The right a letter names, if it is one of RFC 4314's (or `c`/`d`).
    pub const fn from_letter(c: char) -> Option<Right> {
        Some(match c {
            'l' => Right::Lookup,
            'r' => Right::Read,
            's' => Right::Seen,
            'w' => Right::Write,
            'i' => Right::Insert,
            'p' => Right::Post,
            'k' => Right::CreateMailbox,
            'x' => Right::DeleteMailbox,
            't' => Right::DeleteMessages,
            'e' => Right::Expunge,
            'a' => Right::Administer,
            'c' => Right::LegacyCreate,
            'd' => Right::LegacyDelete,
            _ => return None,
        })
    }
}

/// A set of rights: any ASCII letter or digit.
///
/// The set keeps letters it does not know, because a client must hand back
/// rights it does not understand (RFC 4314 §2.1); whether to refuse unknown
/// or uppercase rights is server policy (see `postroom-access`).
///
/// It is a 62-bit set, `Copy` and cheap. [`Display`](fmt::Display) writes the
/// RFC 4314 letters in the RFC's order (`lrswipkxtea`), then `c` `d`, then any
/// other lowercase letters, digits and uppercase letters in ASCII order.
///
/// ```
/// use postroom_types::{Right, Rights};
/// let r: Rights = "rl9".parse().unwrap();
/// assert!(r.contains(Right::Lookup));
/// assert!(r.contains_char('9'));
/// assert_eq!(r.to_string(), "lr9");
/// assert!("l r".parse::<Rights>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rights(u64);

/// An error from parsing a rights string.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RightsError {
    /// A character that is not an ASCII letter or digit.
    #[error("invalid right {character:?} at offset {offset}: rights are letters and digits")]
    InvalidCharacter {
        /// The offending character.
        character: char,
        /// Its byte offset in the input.
        offset: usize,
    },
}

/// Canonical output order of the 62 possible right characters.
const ORDER: &str = "lrswipkxteacdbfghjmnoquvyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

const fn bit(c: char) -> Option<u32> {
    match c {
        'a'..='z' => Some(c as u32 - 'a' as u32),
        'A'..='Z' => Some(26 + c as u32 - 'A' as u32),
        '0'..='9' => Some(52 + c as u32 - '0' as u32),
        _ => None,
    }
}

impl Rights {
    /// The empty set.
    pub const EMPTY: Rights = Rights(0);

    /// All eleven RFC 4314 rights, `lrswipkxtea`.
    pub const ALL: Rights = Rights::from_rights(&Right::RFC4314);

    /// A set of the given rights.
    pub const fn from_rights(rights: &[Right]) -> Rights {
        let mut bits = 0u64;
        let mut i = 0;
        while i < rights.len() {
            bits |= Rights::char_bit(rights[i].letter());
            i += 1;
        }
        Rights(bits)
    }

    const fn char_bit(c: char) -> u64 {
        match bit(c) {
            Some(b) => 1u64 << b,
            None => 0,
        }
    }

    /// Whether the set holds `right`.
    pub const fn contains(self, right: Right) -> bool {
        self.0 & Rights::char_bit(right.letter()) != 0
    }

    /// Whether the set holds the right named by `c` (false for characters
    /// that cannot be rights).
    pub const fn contains_char(self, c: char) -> bool {
        match bit(c) {
            Some(b) => self.0 & (1u64 << b) != 0,
            None => false,
        }
    }

    /// Adds `right`.
    pub fn insert(&mut self, right: Right) {
        self.0 |= Rights::char_bit(right.letter());
    }

    /// Adds the right named by `c`; an error if `c` is not a letter or digit.
    pub fn insert_char(&mut self, c: char) -> Result<(), RightsError> {
        match bit(c) {
            Some(b) => {
                self.0 |= 1u64 << b;
                Ok(())
            }
            None => Err(RightsError::InvalidCharacter {
                character: c,
                offset: 0,
            }),
        }
    }

    /// Removes `right`.
    pub fn remove(&mut self, right: Right) {
        self.0 &= !Rights::char_bit(right.letter());
    }

    /// Rights in either set.
    #[must_use]
    pub const fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    /// Rights in both sets.
    #[must_use]
    pub const fn intersection(self, other: Rights) -> Rights {
        Rights(self.0 & other.0)
    }

    /// Rights in `self` but not in `other`.
    #[must_use]
    pub const fn difference(self, other: Rights) -> Rights {
        Rights(self.0 & !other.0)
    }

    /// Whether every right of `self` is in `other`.
    pub const fn is_subset(self, other: Rights) -> bool {
        self.0 & !other.0 == 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of rights in the set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The rights that are neither RFC 4314 rights nor the virtual `c`/`d`:
    /// unknown letters, digits and uppercase letters.
    #[must_use]
    pub const fn unknown(self) -> Rights {
        let known = Rights::ALL.0 | Rights::char_bit('c') | Rights::char_bit('d');
        Rights(self.0 & !known)
    }

    /// The characters of the set in canonical order.
    pub fn chars(self) -> impl Iterator<Item = char> {
        ORDER.chars().filter(move |&c| self.contains_char(c))
    }
}

impl FromStr for Rights {
    type Err = RightsError;

    /// Parses any string of ASCII letters and digits (the empty string is the
    /// empty set). Duplicates are allowed and collapse.
    fn from_str(s: &str) -> Result<Rights, RightsError> {
        let mut rights = Rights::EMPTY;
        for (offset, character) in s.char_indices() {
            rights
                .insert_char(character)
                .map_err(|_| RightsError::InvalidCharacter { character, offset })?;
        }
        Ok(rights)
    }
}

impl fmt::Display for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.chars() {
            fmt::Write::write_char(f, c)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rights(\"{self}\")")
    }
}

impl From<Right> for Rights {
    fn from(right: Right) -> Rights {
        Rights::from_rights(&[right])
    }
}

impl FromIterator<Right> for Rights {
    fn from_iter<I: IntoIterator<Item = Right>>(iter: I) -> Rights {
        let mut r = Rights::EMPTY;
        for right in iter {
            r.insert(right);
        }
        r
    }
}

/// One entry of an access control list: an identifier and its rights.
///
/// The identifier is kept as sent (RFC 4314 §2: a leading `-` marks a
/// negative entry); interpreting it (`anyone`, `group=`, ...) is
/// `postroom-access`'s job.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AclEntry {
    /// The identifier, e.g. `fred`, `-fred`, `anyone`, `group=staff`.
    pub identifier: String,
    /// The rights granted (or, for a negative entry, denied).
    pub rights: Rights,
}

impl AclEntry {
    /// Whether this is a negative entry (identifier starting with `-`).
    pub fn is_negative(&self) -> bool {
        self.identifier.starts_with('-')
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_order() {
        let r: Rights = "aetxkpiwsrl".parse().unwrap();
        assert_eq!(r.to_string(), "lrswipkxtea");
        assert_eq!(r, Rights::ALL);
        assert_eq!(Rights::ALL.len(), 11);
    }

    #[test]
    fn keeps_unknown_and_digits() {
        let r: Rights = "lZ0qc".parse().unwrap();
        assert_eq!(r.to_string(), "lcq0Z");
        assert_eq!(r.unknown().to_string(), "q0Z");
        assert!(r.contains(Right::LegacyCreate));
    }

    #[test]
    fn rejects_non_alnum_with_offset() {
        assert_eq!(
            "lr-x".parse::<Rights>(),
            Err(RightsError::InvalidCharacter {
                character: '-',
                offset: 2
            })
        );
        assert!("é".parse::<Rights>().is_err());
    }

    #[test]
    fn set_operations() {
        let a: Rights = "lrs".parse().unwrap();
        let b: Rights = "rw".parse().unwrap();
        assert_eq!(a.union(b).to_string(), "lrsw");
        assert_eq!(a.intersection(b).to_string(), "r");
        assert_eq!(a.difference(b).to_string(), "ls");
        assert!(Rights::from(Right::Read).is_subset(a));
        assert!(!b.is_subset(a));
        let mut c = a;
        c.remove(Right::Read);
        c.insert(Right::Administer);
        assert_eq!(c.to_string(), "lsa");
        assert!(Rights::EMPTY.is_empty());
        assert_eq!(Rights::EMPTY.to_string(), "");
    }

    #[test]
    fn letters_round_trip() {
        for r in Right::RFC4314 {
            assert_eq!(Right::from_letter(r.letter()), Some(r));
        }
        assert_eq!(Right::from_letter('q'), None);
    }

    #[test]
    fn negative_entries() {
        let e = AclEntry {
            identifier: "-fred".into(),
            rights: "w".parse().unwrap(),
        };
        assert!(e.is_negative());
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(s in "[a-zA-Z0-9]{0,40}") {
            let r: Rights = s.parse().unwrap();
            let shown = r.to_string();
            prop_assert_eq!(shown.parse::<Rights>().unwrap(), r);
            for c in s.chars() {
                prop_assert!(r.contains_char(c));
            }
            prop_assert_eq!(shown.len(), r.len());
        }
    }
}
