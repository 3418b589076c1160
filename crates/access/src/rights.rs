//! Rights from the wire: strict RFC 4314 validation, the virtual `c` and `d`
//! of RFC 4314 §2.1.1, and the `+`/`-` modification forms of SETACL.

use postroom_types::{Right, Rights};

/// The `RIGHTS=` capability this crate's policy supports (RFC 4314 §2.1):
/// the rights beyond RFC 2086, which must include `t`, `e`, `x` and `k`.
pub const RIGHTS_CAPABILITY: &str = "RIGHTS=texk";

/// The letters of RFC 4314 in the RFC's order.
pub const RFC4314_LETTERS: &str = "lrswipkxtea";

/// Which RFC 2086 convention the virtual rights `c` and `d` follow
/// (RFC 4314 §2.1.1).
///
/// RFC 2086 servers disagreed on which right controlled deleting a mailbox;
/// RFC 4314 keeps both readings. The default is [`LegacyMapping::DeleteIsD`],
/// the convention Courier-IMAP uses (`c` creates, `d` = `xte`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LegacyMapping {
    /// Servers that used `d` to delete mailboxes: "create" = `k`,
    /// "delete" = `x` `t` `e`.
    #[default]
    DeleteIsD,
    /// Servers that used `c` to delete mailboxes: "create" = `k` `x`,
    /// "delete" = `t` `e`.
    DeleteIsC,
}

impl LegacyMapping {
    /// The rights the virtual `c` ("create") stands for.
    pub const fn create_members(self) -> Rights {
        match self {
            LegacyMapping::DeleteIsD => Rights::from_rights(&[Right::CreateMailbox]),
            LegacyMapping::DeleteIsC => {
                Rights::from_rights(&[Right::CreateMailbox, Right::DeleteMailbox])
            }
        }
    }

    /// The rights the virtual `d` ("delete") stands for.
    pub const fn delete_members(self) -> Rights {
        match self {
            LegacyMapping::DeleteIsD => {
                Rights::from_rights(&[Right::DeleteMailbox, Right::DeleteMessages, Right::Expunge])
            }
            LegacyMapping::DeleteIsC => {
                Rights::from_rights(&[Right::DeleteMessages, Right::Expunge])
            }
        }
    }

    /// Replaces `c` and `d` in `rights` by every member of "create" and
    /// "delete" (RFC 4314 §2.1.1, input rule). Other rights are unchanged.
    #[must_use]
    pub fn expand(self, rights: Rights) -> Rights {
        let mut out = rights;
        if rights.contains(Right::LegacyCreate) {
            out.remove(Right::LegacyCreate);
            out = out.union(self.create_members());
        }
        if rights.contains(Right::LegacyDelete) {
            out.remove(Right::LegacyDelete);
            out = out.union(self.delete_members());
        }
        out
    }

    /// Adds `c` when any member of "create" is present and `d` when any
    /// member of "delete" is present (RFC 4314 §2.1.1, output rule for
    /// MYRIGHTS and ACL responses).
    #[must_use]
    pub fn with_virtual(self, rights: Rights) -> Rights {
        let mut out = self.expand(rights);
        if !out.intersection(self.create_members()).is_empty() {
            out.insert(Right::LegacyCreate);
        }
        if !out.intersection(self.delete_members()).is_empty() {
            out.insert(Right::LegacyDelete);
        }
        out
    }
}

/// Why a rights string from a client was refused. A server answers `BAD`
/// (RFC 4314 §3.1: an unrecognised right must not be ignored).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RightsInputError {
    /// An uppercase letter; RFC 4314 §2 allows only lowercase letters and
    /// digits.
    #[error("uppercase right {character:?} at offset {offset}: uppercase rights are not allowed")]
    Uppercase {
        /// The letter.
        character: char,
        /// Its byte offset in the argument.
        offset: usize,
    },
    /// A lowercase letter or digit this server does not implement.
    #[error("right {character:?} at offset {offset} is not supported")]
    Unsupported {
        /// The letter or digit.
        character: char,
        /// Its byte offset in the argument.
        offset: usize,
    },
    /// A character that cannot be a right at all.
    #[error(
        "invalid character {character:?} at offset {offset}: expected a lowercase letter or digit"
    )]
    Invalid {
        /// The character.
        character: char,
        /// Its byte offset in the argument.
        offset: usize,
    },
}

/// Parses a rights string from a client strictly (RFC 4314 §2, §3.1).
///
/// Accepts the eleven RFC 4314 rights and the virtual `c` and `d`, which are
/// replaced by their members (RFC 4314 §2.1.1), so the result never holds
/// `c` or `d`. Uppercase letters, unknown letters and digits are errors a
/// server answers with `BAD`. The empty string is the empty set.
///
/// ```
/// use postroom_access::{parse_rights, LegacyMapping};
/// let r = parse_rights("lrd", LegacyMapping::DeleteIsD)?;
/// assert_eq!(r.to_string(), "lrxte");
/// assert!(parse_rights("lrQ", LegacyMapping::DeleteIsD).is_err());
/// # Ok::<(), postroom_access::RightsInputError>(())
/// ```
pub fn parse_rights(input: &str, mapping: LegacyMapping) -> Result<Rights, RightsInputError> {
    parse_rights_at(input, 0, mapping)
}

fn parse_rights_at(
    input: &str,
    base: usize,
    mapping: LegacyMapping,
) -> Result<Rights, RightsInputError> {
    let mut rights = Rights::EMPTY;
    for (i, character) in input.char_indices() {
        let offset = base.saturating_add(i);
        match character {
            'c' => rights = rights.union(mapping.create_members()),
            'd' => rights = rights.union(mapping.delete_members()),
            'a'..='z' => match Right::from_letter(character) {
                Some(right) => rights.insert(right),
                None => return Err(RightsInputError::Unsupported { character, offset }),
            },
            '0'..='9' => return Err(RightsInputError::Unsupported { character, offset }),
            'A'..='Z' => return Err(RightsInputError::Uppercase { character, offset }),
            _ => return Err(RightsInputError::Invalid { character, offset }),
        }
    }
    Ok(rights)
}

/// The third argument of SETACL (RFC 4314 §3.1): add, remove or replace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RightsModification {
    /// `+rights`: add these rights to the entry.
    Add(Rights),
    /// `-rights`: remove these rights from the entry.
    Remove(Rights),
    /// `rights`: the entry's rights become exactly these.
    Replace(Rights),
}

impl RightsModification {
    /// Parses a `mod-rights` argument strictly, with [`parse_rights`] rules
    /// after the optional `+` or `-`. Error offsets count the prefix.
    pub fn parse(input: &str, mapping: LegacyMapping) -> Result<Self, RightsInputError> {
        if let Some(rest) = input.strip_prefix('+') {
            parse_rights_at(rest, 1, mapping).map(RightsModification::Add)
        } else if let Some(rest) = input.strip_prefix('-') {
            parse_rights_at(rest, 1, mapping).map(RightsModification::Remove)
        } else {
            parse_rights_at(input, 0, mapping).map(RightsModification::Replace)
        }
    }

    /// The rights this modification names.
    pub const fn rights(self) -> Rights {
        match self {
            RightsModification::Add(r)
            | RightsModification::Remove(r)
            | RightsModification::Replace(r) => r,
        }
    }

    /// The rights an entry holding `old` has after this modification.
    #[must_use]
    pub const fn apply(self, old: Rights) -> Rights {
        match self {
            RightsModification::Add(r) => old.union(r),
            RightsModification::Remove(r) => old.difference(r),
            RightsModification::Replace(r) => r,
        }
    }
}

/// Adds the virtual `c` and `d` to a LISTRIGHTS answer (RFC 4314 §2.1.1).
///
/// `required` is the set always granted, `groups` the sets of rights tied
/// together. For each virtual right: if a member is always granted, it joins
/// `required`; if the members that can be granted are only tied to other
/// members, it is listed as a group of its own after the others; otherwise it
/// joins the first group that ties a member to other rights. A virtual right
/// none of whose members can be granted is not listed.
pub fn tie_virtual_rights(
    required: Rights,
    groups: &[Rights],
    mapping: LegacyMapping,
) -> (Rights, Vec<Rights>) {
    let mut required = required;
    let mut groups: Vec<Rights> = groups.to_vec();
    let mut appended = Vec::new();
    for (virt, members) in [
        (Right::LegacyCreate, mapping.create_members()),
        (Right::LegacyDelete, mapping.delete_members()),
    ] {
        if !required.intersection(members).is_empty() {
            required.insert(virt);
            continue;
        }
        let mut holding = groups
            .iter()
            .enumerate()
            .filter(|(_, g)| !g.intersection(members).is_empty());
        let mut mixed = None;
        let mut any = false;
        for (i, g) in holding.by_ref() {
            any = true;
            if mixed.is_none() && !g.difference(members).is_empty() {
                mixed = Some(i);
            }
        }
        match (any, mixed) {
            (false, _) => {}
            (true, None) => appended.push(Rights::from(virt)),
            (true, Some(i)) => groups[i].insert(virt),
        }
    }
    groups.extend(appended);
    (required, groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Rights {
        s.parse().unwrap()
    }

    #[test]
    fn strict_parse_accepts_rfc_letters() {
        assert_eq!(
            parse_rights("lrswipkxtea", LegacyMapping::DeleteIsD).unwrap(),
            Rights::ALL
        );
        assert_eq!(
            parse_rights("", LegacyMapping::DeleteIsD).unwrap(),
            Rights::EMPTY
        );
    }

    #[test]
    fn rfc_bad_examples() {
        // RFC 4314 §3.1: "lrQswicda" -> BAD uppercase; "lrqswicda" -> BAD q.
        assert_eq!(
            parse_rights("lrQswicda", LegacyMapping::DeleteIsD),
            Err(RightsInputError::Uppercase {
                character: 'Q',
                offset: 2
            })
        );
        assert_eq!(
            parse_rights("lrqswicda", LegacyMapping::DeleteIsD),
            Err(RightsInputError::Unsupported {
                character: 'q',
                offset: 2
            })
        );
        assert!(matches!(
            parse_rights("lr7", LegacyMapping::DeleteIsD),
            Err(RightsInputError::Unsupported { character: '7', .. })
        ));
        assert!(matches!(
            parse_rights("l r", LegacyMapping::DeleteIsD),
            Err(RightsInputError::Invalid {
                character: ' ',
                offset: 1
            })
        ));
    }

    #[test]
    fn virtual_rights_expand_on_input() {
        let d = LegacyMapping::DeleteIsD;
        assert_eq!(parse_rights("d", d).unwrap(), r("xte"));
        assert_eq!(parse_rights("c", d).unwrap(), r("k"));
        let c = LegacyMapping::DeleteIsC;
        assert_eq!(parse_rights("d", c).unwrap(), r("te"));
        assert_eq!(parse_rights("c", c).unwrap(), r("kx"));
        // Naming both d and its members is not an error.
        assert_eq!(parse_rights("dxte", d).unwrap(), r("xte"));
    }

    #[test]
    fn virtual_rights_shown_on_output() {
        let d = LegacyMapping::DeleteIsD;
        assert_eq!(d.with_virtual(r("lr")), r("lr"));
        assert_eq!(d.with_virtual(r("lrt")), r("lrtd"));
        assert_eq!(d.with_virtual(r("lrk")), r("lrkc"));
        assert_eq!(d.with_virtual(r("lrx")), r("lrxd"));
        let c = LegacyMapping::DeleteIsC;
        assert_eq!(c.with_virtual(r("lrx")), r("lrxc"));
    }

    #[test]
    fn modification_forms() {
        let d = LegacyMapping::DeleteIsD;
        assert_eq!(
            RightsModification::parse("+wd", d).unwrap(),
            RightsModification::Add(r("wxte"))
        );
        assert_eq!(
            RightsModification::parse("-a", d).unwrap(),
            RightsModification::Remove(r("a"))
        );
        assert_eq!(
            RightsModification::parse("", d).unwrap(),
            RightsModification::Replace(Rights::EMPTY)
        );
        assert_eq!(
            RightsModification::parse("+lQ", d),
            Err(RightsInputError::Uppercase {
                character: 'Q',
                offset: 2
            })
        );
        assert_eq!(RightsModification::Add(r("w")).apply(r("lr")), r("lrw"));
        assert_eq!(RightsModification::Remove(r("r")).apply(r("lr")), r("l"));
        assert_eq!(RightsModification::Replace(r("a")).apply(r("lr")), r("a"));
    }

    #[test]
    fn capability_lists_exactly_texk() {
        let caps: Rights = RIGHTS_CAPABILITY
            .strip_prefix("RIGHTS=")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(caps, r("tekx"));
        // RFC 4314 §2: must not name an RFC 2086 right.
        assert!(caps.intersection(r("lrswipacd")).is_empty());
    }
}
