//! Courier-IMAP's ACL conventions and its `ACL2` protocol extension, as
//! data and evaluation (the codec parses and encodes the wire form; the
//! server wires it).
//!
//! Courier writes rights in its own letters: `c` is create (RFC 4314 `k`),
//! and `d` stands for `x` `t` `e`. Its responses come in two views:
//! the ACL2 view (`LIST` extended data, `[MYRIGHTS]`) folds `x` `t` `e`
//! into `d` when all three are present; the RFC 2086 view (GETACL,
//! MYRIGHTS command) always drops `x` `t` `e` and shows `d` only when all
//! three are present. Letters are sorted in ASCII order, as Courier stores
//! them.

use postroom_types::{Right, Rights};

use crate::acl::{Acl, AclPolicy};
use crate::identifier::Identifier;
use crate::rights::RightsInputError;

const XTE: Rights =
    Rights::from_rights(&[Right::DeleteMailbox, Right::DeleteMessages, Right::Expunge]);

/// The rights in Courier's letters, ASCII-sorted: `k` (and a stray `c`)
/// written as `c`, a stray `d` as `xte`; other letters and digits as they
/// are.
pub fn courier_letters(rights: Rights) -> String {
    let mut r = rights;
    if r.contains(Right::LegacyDelete) {
        r.remove(Right::LegacyDelete);
        r = r.union(XTE);
    }
    sorted_letters(r)
}

/// `k` as `c`, everything else as is, in ASCII order.
fn sorted_letters(rights: Rights) -> String {
    let mut r = rights;
    if r.contains(Right::CreateMailbox) {
        r.remove(Right::CreateMailbox);
        r.insert(Right::LegacyCreate);
    }
    let mut chars: Vec<char> = r.chars().collect();
    chars.sort_unstable();
    chars.into_iter().collect()
}

/// Courier's ACL2 view (`writeacl`): Courier letters, with `x` `t` `e`
/// replaced by one `d` when all three are present.
pub fn acl2_view(rights: Rights) -> String {
    if XTE.is_subset(rights) {
        let mut r = rights.difference(XTE);
        r.insert(Right::LegacyDelete);
        sorted_letters(r)
    } else {
        courier_letters(rights)
    }
}

/// Courier's RFC 2086 view (`writeacl1`): Courier letters without `x` `t`
/// `e`, plus `d` when all three are present. A partial grant such as `et`
/// is invisible in this view.
pub fn acl1_view(rights: Rights) -> String {
    let mut r = rights.difference(XTE);
    if XTE.is_subset(rights) {
        r.insert(Right::LegacyDelete);
    }
    sorted_letters(r)
}

/// Reads rights written in Courier's letters leniently, as Courier's own
/// files hold them: `c` is `k`, `d` is `x` `t` `e`, any other ASCII letter
/// or digit is kept (Courier stores what it is given, `Q` included). Other
/// characters are an error.
pub fn parse_courier_letters_lenient(input: &str) -> Result<Rights, RightsInputError> {
    let mut rights = Rights::EMPTY;
    for (offset, character) in input.char_indices() {
        match character {
            'c' => rights.insert(Right::CreateMailbox),
            'd' => rights = rights.union(XTE),
            c if c.is_ascii_alphanumeric() => {
                // Invariant: ASCII letters and digits are always valid rights.
                let _ = rights.insert_char(c);
            }
            _ => return Err(RightsInputError::Invalid { character, offset }),
        }
    }
    Ok(rights)
}

/// Parses rights in Courier's letters strictly, for ACL2 commands from a
/// client: `a c d e i l p r s t w x` (and RFC 4314's `k`). Uppercase and
/// other letters are refused (Courier itself stores them; RFC 4314 §3.1
/// says to refuse).
pub fn parse_courier_letters_strict(input: &str) -> Result<Rights, RightsInputError> {
    let mut rights = Rights::EMPTY;
    for (offset, character) in input.char_indices() {
        match character {
            'c' | 'k' => rights.insert(Right::CreateMailbox),
            'd' => rights = rights.union(XTE),
            'a' | 'e' | 'i' | 'l' | 'p' | 'r' | 's' | 't' | 'w' | 'x' => {
                // Invariant: these letters are RFC 4314 rights.
                let _ = rights.insert_char(character);
            }
            'A'..='Z' => return Err(RightsInputError::Uppercase { character, offset }),
            'a'..='z' | '0'..='9' => {
                return Err(RightsInputError::Unsupported { character, offset });
            }
            _ => return Err(RightsInputError::Invalid { character, offset }),
        }
    }
    Ok(rights)
}

/// Why Courier refuses an RFC 4314 (ACL1) identifier.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Acl1IdentifierError {
    /// The identifier contains `=` (Courier answers `NO Invalid ACL
    /// identifier.`).
    #[error("invalid ACL identifier: {0:?} contains '='")]
    ContainsEquals(String),
    /// Not an identifier at all.
    #[error(transparent)]
    Invalid(#[from] crate::identifier::IdentifierError),
}

/// Maps an identifier from SETACL/DELETEACL to ACL2 form as Courier does
/// (`acl2_identifier`): `anyone`, `anonymous`, `authuser` and `owner` pass
/// through, `administrators` becomes `group=administrators`, anything else
/// `user=NAME`; a leading `-` is kept; an identifier containing `=` is
/// refused. Use it for Courier-compatible behaviour; [`Identifier::parse`]
/// accepts the `user=`/`group=` forms too.
pub fn acl1_identifier(identifier: &str) -> Result<Identifier, Acl1IdentifierError> {
    let body = identifier.strip_prefix('-').unwrap_or(identifier);
    if matches!(body, "anyone" | "anonymous" | "authuser" | "owner") {
        return Ok(Identifier::parse(identifier)?);
    }
    if body.contains('=') {
        return Err(Acl1IdentifierError::ContainsEquals(identifier.to_owned()));
    }
    let id = if body == "administrators" {
        Identifier::group("administrators")
    } else {
        // `user=` first, so that a body such as `-x` stays a user name.
        Identifier::parse(&format!("user={body}"))?
    };
    Ok(if identifier.starts_with('-') {
        id.negated()
    } else {
        id
    })
}

/// What `LIST (...) "" pattern` asked for (Courier's `ACL`, `MYRIGHTS`,
/// `POSTADDRESS` selection atoms, case-insensitive; others ignored).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ListOptions {
    /// `ACL`: the mailbox's ACL.
    pub acl: bool,
    /// `MYRIGHTS`: the user's rights.
    pub myrights: bool,
    /// `POSTADDRESS`: always `NIL` here.
    pub postaddress: bool,
}

impl ListOptions {
    /// The options named by the atoms of the selection list.
    pub fn from_atoms<'a>(atoms: impl IntoIterator<Item = &'a str>) -> ListOptions {
        let mut o = ListOptions::default();
        for a in atoms {
            if a.eq_ignore_ascii_case("ACL") {
                o.acl = true;
            } else if a.eq_ignore_ascii_case("MYRIGHTS") {
                o.myrights = true;
            } else if a.eq_ignore_ascii_case("POSTADDRESS") {
                o.postaddress = true;
            }
        }
        o
    }

    /// Whether any extended data was asked for.
    pub const fn any(self) -> bool {
        self.acl || self.myrights || self.postaddress
    }
}

/// The extended data after a LIST response's mailbox name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ListExtendedData {
    /// `("ACL" ((identifier rights) ...))`: identifiers in storage form
    /// (`user=`, `group=` kept), rights in the ACL2 view.
    pub acl: Option<Vec<(String, String)>>,
    /// `("MYRIGHTS" rights)` in the ACL2 view.
    pub myrights: Option<String>,
    /// `(POSTADDRESS NIL)`.
    pub postaddress: bool,
}

impl ListExtendedData {
    /// The data in Courier's exact wire form, e.g.
    /// `(("ACL" (("owner" "acdilrsw")))("MYRIGHTS" "acdilrsw"))`.
    pub fn to_courier_string(&self) -> String {
        let mut out = String::from("(");
        if let Some(acl) = &self.acl {
            out.push_str("(\"ACL\" (");
            for (id, rights) in acl {
                out.push('(');
                push_quoted(&mut out, id);
                out.push(' ');
                push_quoted(&mut out, rights);
                out.push(')');
            }
            out.push_str("))");
        }
        if let Some(r) = &self.myrights {
            out.push_str("(\"MYRIGHTS\" ");
            push_quoted(&mut out, r);
            out.push(')');
        }
        if self.postaddress {
            out.push_str("(POSTADDRESS NIL)");
        }
        out.push(')');
        out
    }
}

fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Whether rights allow seeing one's own rights (Courier's
/// `maildir_acl_canlistrights`: any of `l r i c x e a`).
pub const fn can_list_rights(rights: Rights) -> bool {
    !rights
        .intersection(Rights::from_rights(&[
            Right::Lookup,
            Right::Read,
            Right::Insert,
            Right::CreateMailbox,
            Right::DeleteMailbox,
            Right::Expunge,
            Right::Administer,
        ]))
        .is_empty()
}

/// The extended data Courier sends for one mailbox: MYRIGHTS only when the
/// user may list rights, ACL only with `a` (both silently left out
/// otherwise, as Courier does). `None` when nothing was asked for.
pub fn list_extended_data(
    options: ListOptions,
    acl: &Acl,
    my_rights: Rights,
) -> Option<ListExtendedData> {
    if !options.any() {
        return None;
    }
    let acl_data = (options.acl && my_rights.contains(Right::Administer)).then(|| {
        acl.entries()
            .map(|(id, r)| (id.to_string(), acl2_view(r)))
            .collect()
    });
    let myrights = (options.myrights && can_list_rights(my_rights)).then(|| acl2_view(my_rights));
    Some(ListExtendedData {
        acl: acl_data,
        myrights,
        postaddress: options.postaddress,
    })
}

/// The `[MYRIGHTS "..."]` response code Courier sends after SELECT, e.g.
/// `* OK [MYRIGHTS "acdilrsw"] ACL`: the rights in the ACL2 view.
pub fn myrights_code(my_rights: Rights) -> String {
    acl2_view(my_rights)
}

/// The change an `ACL` command asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Acl2Change {
    /// `ACL STORE mailboxes identifier rights`: `+rights` adds, `-rights`
    /// removes (an entry left empty is deleted), `rights` replaces (the
    /// empty string deletes the entry).
    Store {
        /// The identifier as sent (`user=`/`group=` forms).
        identifier: String,
        /// The rights argument as sent, in Courier's letters.
        rights: String,
    },
    /// `ACL DELETE mailboxes identifier`.
    Delete {
        /// The identifier as sent.
        identifier: String,
    },
    /// `ACL SET mailboxes identifier rights [identifier rights ...]`: the
    /// ACL becomes exactly these entries.
    Set {
        /// The pairs as sent.
        entries: Vec<(String, String)>,
    },
}

/// A whole `ACL` command: the mailbox argument (one name or a
/// parenthesised list, each expanded like a LIST pattern by the server)
/// and the change.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Acl2Command {
    /// Mailbox names or patterns.
    pub mailboxes: Vec<String>,
    /// What to do to each.
    pub change: Acl2Change,
}

impl Acl2Command {
    /// The command's name for messages (`STORE`, `DELETE`, `SET`).
    pub const fn verb(&self) -> &'static str {
        match self.change {
            Acl2Change::Store { .. } => "STORE",
            Acl2Change::Delete { .. } => "DELETE",
            Acl2Change::Set { .. } => "SET",
        }
    }
}

/// `* ACLFAILED "mailbox" text`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AclFailed {
    /// The mailbox.
    pub mailbox: String,
    /// The rest of the line.
    pub text: String,
}

impl AclFailed {
    /// The untagged line without `* ` and CRLF.
    pub fn to_courier_string(&self) -> String {
        let mut out = String::from("ACLFAILED ");
        push_quoted(&mut out, &self.mailbox);
        out.push(' ');
        out.push_str(&self.text);
        out
    }
}

/// `* RIGHTS-INFO "mailbox" "identifier" required optional...`: the
/// change was not allowed; the client should correct it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RightsInfo {
    /// The mailbox.
    pub mailbox: String,
    /// The identifier as the client sent it.
    pub identifier: String,
    /// The rights the identifier must have (Courier letters, may be empty).
    pub required: String,
    /// Rights that may be granted, one group each.
    pub optional: Vec<String>,
}

impl RightsInfo {
    /// Courier's answer for an identifier (`aclminimum`): administrators
    /// must hold everything, a negative administrators entry nothing, other
    /// negative entries may take `c e i p r s t w x`, other positive
    /// entries always hold `a l` and may get `c e i p r s t w x`.
    pub fn for_identifier(mailbox: &str, identifier: &str) -> RightsInfo {
        let optional = || {
            ["c", "e", "i", "p", "r", "s", "t", "w", "x"]
                .map(String::from)
                .to_vec()
        };
        let (required, optional) = match identifier {
            "administrators" | "group=administrators" => ("aceilrstwx", Vec::new()),
            "-administrators" | "-group=administrators" => ("", Vec::new()),
            neg if neg.starts_with('-') => ("", optional()),
            _ => ("al", optional()),
        };
        RightsInfo {
            mailbox: mailbox.to_owned(),
            identifier: identifier.to_owned(),
            required: required.to_owned(),
            optional,
        }
    }

    /// The untagged line without `* ` and CRLF, e.g.
    /// `RIGHTS-INFO "INBOX.acl" "owner" al c e i p r s t w x`.
    pub fn to_courier_string(&self) -> String {
        let mut out = String::from("RIGHTS-INFO ");
        push_quoted(&mut out, &self.mailbox);
        out.push(' ');
        push_quoted(&mut out, &self.identifier);
        out.push(' ');
        if self.required.is_empty() {
            out.push_str("\"\"");
        } else {
            out.push_str(&self.required);
        }
        for g in &self.optional {
            out.push(' ');
            out.push_str(g);
        }
        out
    }
}

/// The result of an `ACL` command on one mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Acl2Outcome {
    /// The new ACL: store it, then send `* LIST ... (("ACL" ...))` for the
    /// mailbox.
    Updated(Acl),
    /// Send `* ACLFAILED`; the ACL is unchanged.
    Failed(AclFailed),
    /// Send `* RIGHTS-INFO`; the ACL is unchanged.
    RightsInfo(RightsInfo),
}

/// Applies an `ACL` command to one mailbox's ACL, as Courier does: the user
/// needs `a` (else `ACLFAILED`), the change must keep the owner's and the
/// administrators' minimum rights (else `RIGHTS-INFO`). Unlike Courier,
/// rights outside Courier's letters are refused with `RIGHTS-INFO`, and an
/// unusable identifier with `ACLFAILED`.
///
/// The tagged response stays `OK ACL <verb> completed.` whatever the
/// per-mailbox outcomes.
pub fn apply_acl2(
    mailbox: &str,
    command: &Acl2Command,
    acl: &Acl,
    my_rights: Rights,
    owner: Option<&str>,
    policy: &AclPolicy,
) -> Acl2Outcome {
    if !my_rights.contains(Right::Administer) {
        return Acl2Outcome::Failed(AclFailed {
            mailbox: mailbox.to_owned(),
            text: format!(
                "NO Access denied for ACL {} on {mailbox} (ACL \"a\" required)",
                command.verb()
            ),
        });
    }
    let failed = |text: String| {
        Acl2Outcome::Failed(AclFailed {
            mailbox: mailbox.to_owned(),
            text,
        })
    };
    let rights_info =
        |identifier: &str| Acl2Outcome::RightsInfo(RightsInfo::for_identifier(mailbox, identifier));
    let mut next = acl.clone();
    let blamed: &str;
    match &command.change {
        Acl2Change::Store { identifier, rights } => {
            blamed = identifier;
            let id = match Identifier::parse(identifier) {
                Ok(id) => id,
                Err(e) => return failed(e.to_string()),
            };
            let (op, letters) = match rights.as_bytes().first() {
                Some(b'+') => (b'+', &rights[1..]),
                Some(b'-') => (b'-', &rights[1..]),
                _ => (b'=', rights.as_str()),
            };
            let given = match parse_courier_letters_strict(letters) {
                Ok(r) => r,
                Err(_) => return rights_info(identifier),
            };
            match op {
                b'+' => {
                    if !given.is_empty() {
                        let old = next.get(&id).unwrap_or_default();
                        next.set_unchecked(id, old.union(given));
                    }
                }
                b'-' => {
                    if let Some(old) = next.get(&id) {
                        let new = old.difference(given);
                        if new.is_empty() {
                            next.remove_unchecked(&id);
                        } else {
                            next.set_unchecked(id, new);
                        }
                    }
                }
                _ => {
                    if given.is_empty() {
                        next.remove_unchecked(&id);
                    } else {
                        next.set_unchecked(id, given);
                    }
                }
            }
        }
        Acl2Change::Delete { identifier } => {
            blamed = identifier;
            match Identifier::parse(identifier) {
                Ok(id) => {
                    next.remove_unchecked(&id);
                }
                Err(e) => return failed(e.to_string()),
            }
        }
        Acl2Change::Set { entries } => {
            let mut new = Vec::with_capacity(entries.len());
            for (identifier, rights) in entries {
                let id = match Identifier::parse(identifier) {
                    Ok(id) => id,
                    Err(e) => return failed(e.to_string()),
                };
                match parse_courier_letters_strict(rights) {
                    Ok(r) => new.push((id, r)),
                    Err(_) => return rights_info(identifier),
                }
            }
            next = Acl::from_entries(new);
            blamed = "owner";
        }
    }
    match next.check_change(acl, owner, policy) {
        Ok(()) => Acl2Outcome::Updated(next),
        Err(crate::acl::AclChangeError::MinimumRights { who, .. }) => {
            // Blame the identifier the client named, as Courier does; for
            // ACL SET, the protected identifier.
            if matches!(command.change, Acl2Change::Set { .. }) {
                rights_info(&who.to_string())
            } else {
                rights_info(blamed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Rights {
        s.parse().unwrap()
    }

    #[test]
    fn views() {
        // Courier's default owner rights `aceilrstwx`, read as RFC 4314.
        let all = r("akeilrstwx");
        assert_eq!(courier_letters(all), "aceilrstwx");
        assert_eq!(acl2_view(all), "acdilrsw");
        assert_eq!(acl1_view(all), "acdilrsw");
        // SETACL fred +wd on "lrs" -> GETACL shows "dlrsw" (observed).
        assert_eq!(acl1_view(r("lrswxte")), "dlrsw");
        // A partial grant `et` is invisible through GETACL (observed).
        assert_eq!(acl1_view(r("et")), "");
        assert_eq!(acl2_view(r("et")), "et");
        // Unknown letters sort first in ASCII order (observed "Qlr").
        assert_eq!(acl2_view(r("lrQ")), "Qlr");
    }

    #[test]
    fn letters_parse() {
        assert_eq!(
            parse_courier_letters_lenient("acdilrsw").unwrap(),
            r("akxteilrsw")
        );
        assert_eq!(parse_courier_letters_lenient("Qlr").unwrap(), r("Qlr"));
        assert!(parse_courier_letters_lenient("l r").is_err());
        assert_eq!(parse_courier_letters_strict("ilrsw").unwrap(), r("ilrsw"));
        assert!(matches!(
            parse_courier_letters_strict("lrQ"),
            Err(RightsInputError::Uppercase { .. })
        ));
        assert!(matches!(
            parse_courier_letters_strict("lrq"),
            Err(RightsInputError::Unsupported { .. })
        ));
    }

    #[test]
    fn acl1_identifiers_like_courier() {
        let show = |s: &str| acl1_identifier(s).map(|i| i.to_string());
        assert_eq!(show("anyone").unwrap(), "anyone");
        assert_eq!(show("-owner").unwrap(), "-owner");
        assert_eq!(show("authuser").unwrap(), "authuser");
        assert_eq!(show("administrators").unwrap(), "group=administrators");
        assert_eq!(show("fred").unwrap(), "user=fred");
        assert_eq!(show("-fred").unwrap(), "-user=fred");
        // Observed: `SETACL INBOX.acl user=bob lr` -> NO Invalid ACL identifier.
        assert!(matches!(
            acl1_identifier("user=bob"),
            Err(Acl1IdentifierError::ContainsEquals(_))
        ));
        assert!(acl1_identifier("").is_err());
        assert_eq!(show("--x").unwrap(), "-user=-x");
    }

    #[test]
    fn list_options() {
        let o = ListOptions::from_atoms(["acl", "MyRights", "X-OTHER"]);
        assert!(o.acl && o.myrights && !o.postaddress);
        assert!(!ListOptions::default().any());
    }
}
