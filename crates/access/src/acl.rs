//! Access control lists and their ACL2=UNION evaluation.

use std::collections::HashMap;

use postroom_types::{AclEntry, Right, Rights};

use crate::identifier::{ADMINISTRATORS_GROUP, Identifier, Subject};
use crate::rights::{LegacyMapping, RightsModification};

/// The session whose rights are computed. The caller supplies the groups
/// (from its user database); this crate never looks them up.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The login name (`user=NAME` and bare `NAME` entries match it).
    pub user: String,
    /// The account groups of the user (`group=NAME` entries match them;
    /// membership of `administrators` makes `administrators` entries match).
    pub groups: Vec<String>,
    /// Whether the session is anonymous: `authuser` and `owner` never match
    /// an anonymous session.
    pub anonymous: bool,
}

impl Principal {
    /// An authenticated user without groups.
    pub fn user(name: impl Into<String>) -> Principal {
        Principal {
            user: name.into(),
            groups: Vec::new(),
            anonymous: false,
        }
    }

    /// An authenticated user in the given groups.
    pub fn with_groups<I, S>(name: impl Into<String>, groups: I) -> Principal
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Principal {
            user: name.into(),
            groups: groups.into_iter().map(Into::into).collect(),
            anonymous: false,
        }
    }

    /// An anonymous session (RFC 4505 style login).
    pub fn anonymous() -> Principal {
        Principal {
            user: String::new(),
            groups: Vec::new(),
            anonymous: true,
        }
    }

    fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// Whether this session owns a mailbox whose owner is `owner`.
    pub fn is_owner(&self, owner: Option<&str>) -> bool {
        !self.anonymous && owner.is_some_and(|o| o == self.user)
    }
}

/// Whom an entry's subject is matched against.
struct Who<'a> {
    user: Option<&'a str>,
    groups: &'a [String],
    authenticated: bool,
    owner: bool,
    administrator: bool,
}

impl Who<'_> {
    fn matches(&self, subject: &Subject) -> bool {
        match subject {
            Subject::Anyone | Subject::Anonymous => true,
            Subject::AuthUser => self.authenticated,
            Subject::Owner => self.owner,
            Subject::Administrators => self.administrator,
            Subject::Group(g) => {
                (g == ADMINISTRATORS_GROUP && self.administrator)
                    || self.groups.iter().any(|x| x == g)
            }
            Subject::User(u) => self.user.is_some_and(|me| me == u),
        }
    }
}

/// What an ACL change must preserve, and how `c`/`d` read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AclPolicy {
    /// Rights the owner must keep through entries (not counting the `a`
    /// every owner gets at evaluation). A change that takes one of them away
    /// is refused.
    pub owner_minimum: Rights,
    /// Rights members of `administrators` must keep. A change that takes
    /// one of them away is refused.
    pub administrators_minimum: Rights,
    /// How the virtual `c` and `d` map to real rights.
    pub mapping: LegacyMapping,
}

impl AclPolicy {
    /// Courier-IMAP's irrevocable rights: the owner keeps `l` and `a`,
    /// administrators keep every right Courier knows (`lrswikxtea` less
    /// `p`), and `d` means `xte`.
    pub const COURIER: AclPolicy = AclPolicy {
        owner_minimum: Rights::from_rights(&[Right::Lookup, Right::Administer]),
        administrators_minimum: COURIER_ALL,
        mapping: LegacyMapping::DeleteIsD,
    };

    /// Plain RFC 4314: only the owner's `a` is protected.
    pub const RFC4314: AclPolicy = AclPolicy {
        owner_minimum: Rights::from_rights(&[Right::Administer]),
        administrators_minimum: Rights::EMPTY,
        mapping: LegacyMapping::DeleteIsD,
    };

    /// The rights an identifier must keep under this policy, if it is one
    /// whose rights are protected (the owner, under `owner` or the owner's
    /// user name, or the administrators).
    pub fn minimum_for(&self, identifier: &Identifier, owner: Option<&str>) -> Rights {
        if identifier.is_administrators() {
            return self.administrators_minimum;
        }
        match identifier.subject() {
            Subject::Owner => self.owner_minimum,
            Subject::User(u) if owner == Some(u.as_str()) => self.owner_minimum,
            _ => Rights::EMPTY,
        }
    }
}

impl AclPolicy {
    /// The rights a negative entry for `identifier`'s subject may not take,
    /// because the subject can match the owner (`owner`, the owner's name,
    /// `anyone`, `anonymous`, `authuser`) or the administrators
    /// (`administrators`, `group=administrators`, `anyone`, `anonymous`,
    /// `authuser`).
    pub fn undeniable_by(&self, identifier: &Identifier, owner: Option<&str>) -> Rights {
        let everyone = matches!(
            identifier.subject(),
            Subject::Anyone | Subject::Anonymous | Subject::AuthUser
        );
        let owner_like = everyone
            || match identifier.subject() {
                Subject::Owner => true,
                Subject::User(u) => owner == Some(u.as_str()),
                _ => false,
            };
        let admin_like = everyone || identifier.is_administrators();
        let mut r = Rights::EMPTY;
        if owner_like {
            r = r.union(self.owner_minimum);
        }
        if admin_like {
            r = r.union(self.administrators_minimum);
        }
        r
    }
}

impl Default for AclPolicy {
    fn default() -> Self {
        AclPolicy::COURIER
    }
}

/// Every right Courier grants (`ACL_ALL`: `aceilrstwx` in Courier letters,
/// with its `c` read as `k`).
pub(crate) const COURIER_ALL: Rights = Rights::from_rights(&[
    Right::Administer,
    Right::CreateMailbox,
    Right::Expunge,
    Right::Insert,
    Right::Lookup,
    Right::Read,
    Right::Seen,
    Right::DeleteMessages,
    Right::Write,
    Right::DeleteMailbox,
]);

/// A change refused because it would take protected rights away.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AclChangeError {
    /// The owner or the administrators would lose rights they must keep.
    #[error("the change would take {lost} from {who}, which must keep {minimum}")]
    MinimumRights {
        /// `owner` or `administrators`.
        who: Identifier,
        /// The rights the change would take away.
        lost: Rights,
        /// All rights `who` must keep.
        minimum: Rights,
    },
}

/// An access control list: ordered ⟨identifier, rights⟩ entries, at most one
/// per identifier (RFC 4314 §2).
///
/// Rights are stored without the virtual `c`/`d` (they are expanded on the
/// way in). Evaluation is Courier's ACL2=UNION: the union of the rights of
/// every matching positive entry, minus the union of every matching
/// negative entry, plus `a` for the owner.
///
/// ```
/// use postroom_access::{Acl, AclPolicy, Identifier, Principal};
/// let mut acl = Acl::new();
/// acl.set_unchecked(Identifier::ANYONE, "lr".parse()?);
/// acl.set_unchecked("-fred".parse()?, "r".parse()?);
/// assert_eq!(acl.rights_of(&Principal::user("bob"), Some("alice")).to_string(), "lr");
/// assert_eq!(acl.rights_of(&Principal::user("fred"), Some("alice")).to_string(), "l");
/// assert_eq!(acl.rights_of(&Principal::user("alice"), Some("alice")).to_string(), "lra");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Acl {
    entries: Vec<(Identifier, Rights)>,
}

impl Acl {
    /// An empty ACL.
    pub const fn new() -> Acl {
        Acl {
            entries: Vec::new(),
        }
    }

    /// Builds an ACL from entries; a later entry for the same identifier
    /// replaces the earlier one in place (as Courier's reader does).
    /// Linear in the number of entries.
    pub fn from_entries<I: IntoIterator<Item = (Identifier, Rights)>>(entries: I) -> Acl {
        let mut index: HashMap<Identifier, usize> = HashMap::new();
        let mut out: Vec<(Identifier, Rights)> = Vec::new();
        for (id, rights) in entries {
            match index.get(&id) {
                Some(&i) => out[i].1 = rights,
                None => {
                    index.insert(id.clone(), out.len());
                    out.push((id, rights));
                }
            }
        }
        Acl { entries: out }
    }

    /// The entries in order.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = (&Identifier, Rights)> {
        self.entries.iter().map(|(i, r)| (i, *r))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the ACL has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The rights of exactly this identifier's entry.
    pub fn get(&self, identifier: &Identifier) -> Option<Rights> {
        self.entries
            .iter()
            .find(|(i, _)| i == identifier)
            .map(|(_, r)| *r)
    }

    /// Sets an entry without any policy check (for building ACLs and reading
    /// files). Replaces the entry in place if present, else appends.
    pub fn set_unchecked(&mut self, identifier: Identifier, rights: Rights) {
        match self.entries.iter_mut().find(|(i, _)| *i == identifier) {
            Some(entry) => entry.1 = rights,
            None => self.entries.push((identifier, rights)),
        }
    }

    /// Removes an entry without any policy check; returns its rights.
    pub fn remove_unchecked(&mut self, identifier: &Identifier) -> Option<Rights> {
        let pos = self.entries.iter().position(|(i, _)| i == identifier)?;
        Some(self.entries.remove(pos).1)
    }

    /// The effective rights of `who` on a mailbox owned by `owner`
    /// (ACL2=UNION; the owner always gets `a`).
    pub fn rights_of(&self, who: &Principal, owner: Option<&str>) -> Rights {
        let is_owner = who.is_owner(owner);
        let mut rights = self.union_rights(&Who {
            user: (!who.anonymous).then_some(who.user.as_str()),
            groups: &who.groups,
            authenticated: !who.anonymous,
            owner: is_owner,
            administrator: !who.anonymous && who.in_group(ADMINISTRATORS_GROUP),
        });
        if is_owner {
            // Courier maildiraclt.c: "the owner always gets admin rights".
            rights.insert(Right::Administer);
        }
        rights
    }

    fn union_rights(&self, who: &Who<'_>) -> Rights {
        let mut granted = Rights::EMPTY;
        let mut denied = Rights::EMPTY;
        for (id, rights) in &self.entries {
            if who.matches(id.subject()) {
                if id.is_negative() {
                    denied = denied.union(*rights);
                } else {
                    granted = granted.union(*rights);
                }
            }
        }
        granted.difference(denied)
    }

    /// The owner's rights from entries alone (no `a` bonus): entries for
    /// `owner`, the owner's user name, `anyone`, `anonymous` and `authuser`.
    fn owner_entry_rights(&self, owner: Option<&str>) -> Rights {
        self.union_rights(&Who {
            user: owner,
            groups: &[],
            authenticated: true,
            owner: true,
            administrator: false,
        })
    }

    /// The administrators' rights from entries alone.
    fn administrator_entry_rights(&self) -> Rights {
        self.union_rights(&Who {
            user: None,
            groups: &[],
            authenticated: true,
            owner: false,
            administrator: true,
        })
    }

    /// Checks that going from `before` to `self` takes no protected right
    /// away (the owner's and the administrators' minimum of `policy`).
    pub fn check_change(
        &self,
        before: &Acl,
        owner: Option<&str>,
        policy: &AclPolicy,
    ) -> Result<(), AclChangeError> {
        let lost = before
            .owner_entry_rights(owner)
            .intersection(policy.owner_minimum)
            .difference(self.owner_entry_rights(owner));
        if !lost.is_empty() {
            return Err(AclChangeError::MinimumRights {
                who: Identifier::OWNER,
                lost,
                minimum: policy.owner_minimum,
            });
        }
        let lost = before
            .administrator_entry_rights()
            .intersection(policy.administrators_minimum)
            .difference(self.administrator_entry_rights());
        if !lost.is_empty() {
            return Err(AclChangeError::MinimumRights {
                who: Identifier::ADMINISTRATORS,
                lost,
                minimum: policy.administrators_minimum,
            });
        }
        Ok(())
    }

    /// Applies `change` to a copy and keeps it only if it passes
    /// [`Acl::check_change`].
    fn checked(
        &mut self,
        owner: Option<&str>,
        policy: &AclPolicy,
        change: impl FnOnce(&mut Acl),
    ) -> Result<(), AclChangeError> {
        let mut next = self.clone();
        change(&mut next);
        next.check_change(self, owner, policy)?;
        *self = next;
        Ok(())
    }

    /// SETACL with replace semantics: the entry's rights become `rights`
    /// (`c`/`d` expanded). An empty set keeps an empty entry (RFC 4314
    /// §3.1: that is not DELETEACL).
    pub fn set(
        &mut self,
        identifier: Identifier,
        rights: Rights,
        owner: Option<&str>,
        policy: &AclPolicy,
    ) -> Result<(), AclChangeError> {
        let rights = policy.mapping.expand(rights);
        self.checked(owner, policy, |acl| acl.set_unchecked(identifier, rights))
    }

    /// SETACL in any of its three forms (RFC 4314 §3.1). Removing rights
    /// from an identifier without an entry changes nothing.
    pub fn modify(
        &mut self,
        identifier: Identifier,
        modification: RightsModification,
        owner: Option<&str>,
        policy: &AclPolicy,
    ) -> Result<(), AclChangeError> {
        let given = policy.mapping.expand(modification.rights());
        self.checked(owner, policy, |acl| {
            let old = acl.get(&identifier);
            let new = match modification {
                RightsModification::Add(_) => old.unwrap_or_default().union(given),
                RightsModification::Remove(_) => match old {
                    Some(o) => o.difference(given),
                    None => return,
                },
                RightsModification::Replace(_) => given,
            };
            acl.set_unchecked(identifier, new);
        })
    }

    /// DELETEACL (RFC 4314 §3.2): removes exactly this identifier's entry
    /// (`-fred` and `fred` are separate entries).
    pub fn delete(
        &mut self,
        identifier: &Identifier,
        owner: Option<&str>,
        policy: &AclPolicy,
    ) -> Result<(), AclChangeError> {
        self.checked(owner, policy, |acl| {
            acl.remove_unchecked(identifier);
        })
    }

    /// Replaces the whole list (Courier's `ACL SET`), subject to the same
    /// check.
    pub fn replace_all(
        &mut self,
        new: Acl,
        owner: Option<&str>,
        policy: &AclPolicy,
    ) -> Result<(), AclChangeError> {
        self.checked(owner, policy, |acl| *acl = new)
    }

    /// The entries as a GETACL response shows them (RFC 4314 §3.3, §3.6):
    /// identifiers in RFC 4314 form (groups left out, as Courier does), and
    /// rights with the virtual `c`/`d` added (§2.1.1).
    pub fn to_getacl_entries(&self, mapping: LegacyMapping) -> Vec<AclEntry> {
        self.entries
            .iter()
            .filter_map(|(id, rights)| {
                Some(AclEntry {
                    identifier: id.to_rfc4314()?,
                    rights: mapping.with_virtual(*rights),
                })
            })
            .collect()
    }
}

/// Why SETACL or DELETEACL failed: a `BAD` for malformed arguments, a `NO`
/// for a refused change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetAclError {
    /// The identifier was refused (answer `BAD`, RFC 4314 §3).
    #[error(transparent)]
    Identifier(#[from] crate::identifier::IdentifierError),
    /// The rights were refused (answer `BAD`, RFC 4314 §3.1).
    #[error(transparent)]
    Rights(#[from] crate::rights::RightsInputError),
    /// The change would take protected rights away (answer `NO`).
    #[error(transparent)]
    Refused(#[from] AclChangeError),
}

impl SetAclError {
    /// Whether the server answers `BAD` (malformed argument) rather than
    /// `NO`.
    pub const fn is_bad(&self) -> bool {
        matches!(self, SetAclError::Identifier(_) | SetAclError::Rights(_))
    }
}

impl Acl {
    /// SETACL from the wire (RFC 4314 §3.1): parses the identifier and the
    /// `mod-rights` strictly, then applies the change under `policy`. The
    /// caller has already checked that the user holds `a`.
    ///
    /// ```
    /// use postroom_access::{Acl, AclPolicy};
    /// let mut acl = Acl::new();
    /// acl.setacl("fred", "lrswida", Some("alice"), &AclPolicy::COURIER)?;
    /// let err = acl.setacl("fred", "lrQ", Some("alice"), &AclPolicy::COURIER).unwrap_err();
    /// assert!(err.is_bad());
    /// # Ok::<(), postroom_access::SetAclError>(())
    /// ```
    pub fn setacl(
        &mut self,
        identifier: &str,
        mod_rights: &str,
        owner: Option<&str>,
        policy: &AclPolicy,
    ) -> Result<(), SetAclError> {
        let id = Identifier::parse(identifier)?;
        let modification = RightsModification::parse(mod_rights, policy.mapping)?;
        self.modify(id, modification, owner, policy)?;
        Ok(())
    }

    /// DELETEACL from the wire (RFC 4314 §3.2).
    pub fn deleteacl(
        &mut self,
        identifier: &str,
        owner: Option<&str>,
        policy: &AclPolicy,
    ) -> Result<(), SetAclError> {
        let id = Identifier::parse(identifier)?;
        self.delete(&id, owner, policy)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Rights {
        s.parse().unwrap()
    }
    fn id(s: &str) -> Identifier {
        s.parse().unwrap()
    }

    /// The example ACL of Courier's maildiracl(1) manual page.
    fn manual_example() -> Acl {
        Acl::from_entries([
            (id("owner"), r("akeilrstwx")),
            (id("anyone"), r("lr")),
            (id("user=john"), r("w")),
            (id("-user=mary"), r("r")),
            (id("administrators"), r("akeilrstwx")),
        ])
    }

    #[test]
    fn courier_manual_example() {
        let acl = manual_example();
        let owner = Some("tom46");
        assert_eq!(
            acl.rights_of(&Principal::user("tom46"), owner),
            r("akeilrstwx")
        );
        assert_eq!(acl.rights_of(&Principal::user("bob"), owner), r("lr"));
        assert_eq!(acl.rights_of(&Principal::user("john"), owner), r("lrw"));
        // "mary can see that the mailbox exists, but can't open it"
        assert_eq!(acl.rights_of(&Principal::user("mary"), owner), r("l"));
        assert_eq!(
            acl.rights_of(&Principal::with_groups("root", ["administrators"]), owner),
            r("akeilrstwx")
        );
        assert_eq!(acl.rights_of(&Principal::anonymous(), owner), r("lr"));
    }

    #[test]
    fn negative_beats_positive_in_any_order() {
        let a = Acl::from_entries([(id("-fred"), r("w")), (id("fred"), r("lrw"))]);
        let b = Acl::from_entries([(id("fred"), r("lrw")), (id("-fred"), r("w"))]);
        let fred = Principal::user("fred");
        assert_eq!(a.rights_of(&fred, None), r("lr"));
        assert_eq!(b.rights_of(&fred, None), r("lr"));
    }

    #[test]
    fn groups_authuser_and_owner() {
        let acl = Acl::from_entries([
            (id("group=staff"), r("lri")),
            (id("authuser"), r("l")),
            (id("-group=interns"), r("i")),
            (id("owner"), r("lrswi")),
        ]);
        let staff = Principal::with_groups("sue", ["staff"]);
        assert_eq!(acl.rights_of(&staff, Some("alice")), r("lri"));
        let intern = Principal::with_groups("ian", ["staff", "interns"]);
        assert_eq!(acl.rights_of(&intern, Some("alice")), r("lr"));
        assert_eq!(acl.rights_of(&Principal::anonymous(), Some("alice")), r(""));
        // Owner gets `a` even without an `a` entry.
        assert_eq!(
            acl.rights_of(&Principal::user("alice"), Some("alice")),
            r("lrswia")
        );
        // No owner known: nobody is the owner.
        assert_eq!(acl.rights_of(&Principal::user("alice"), None), r("l"));
    }

    #[test]
    fn owner_keeps_a_even_against_negative() {
        let acl = Acl::from_entries([(id("-owner"), r("a")), (id("-anyone"), r("a"))]);
        assert!(
            acl.rights_of(&Principal::user("al"), Some("al"))
                .contains(Right::Administer)
        );
    }

    #[test]
    fn taking_owner_a_is_refused_and_acl_unchanged() {
        let mut acl = manual_example();
        let before = acl.clone();
        let p = AclPolicy::COURIER;
        let err = acl
            .modify(
                id("owner"),
                RightsModification::Remove(r("a")),
                Some("tom46"),
                &p,
            )
            .unwrap_err();
        assert_eq!(
            err,
            AclChangeError::MinimumRights {
                who: Identifier::OWNER,
                lost: r("a"),
                minimum: r("la"),
            }
        );
        assert_eq!(acl, before);
        // Through a negative entry, or a negative for the owner's name.
        assert!(acl.set(id("-owner"), r("a"), Some("tom46"), &p).is_err());
        assert!(acl.set(id("-tom46"), r("l"), Some("tom46"), &p).is_err());
        assert!(acl.set(id("-anyone"), r("a"), Some("tom46"), &p).is_err());
        assert!(acl.delete(&id("owner"), Some("tom46"), &p).is_err());
        assert_eq!(acl, before);
        // Administrators keep everything under Courier's policy.
        assert!(matches!(
            acl.set(id("administrators"), r("lr"), Some("tom46"), &p),
            Err(AclChangeError::MinimumRights { .. })
        ));
        // Other changes go through.
        acl.set(id("-user=mary"), r("rw"), Some("tom46"), &p)
            .unwrap();
        assert_eq!(acl.get(&id("-mary")), Some(r("rw")));
    }

    #[test]
    fn rfc_policy_protects_only_owner_a() {
        let mut acl = manual_example();
        let p = AclPolicy::RFC4314;
        acl.set(id("administrators"), r("lr"), None, &p).unwrap();
        acl.modify(id("owner"), RightsModification::Remove(r("l")), None, &p)
            .unwrap();
        assert!(
            acl.modify(id("owner"), RightsModification::Remove(r("a")), None, &p)
                .is_err()
        );
    }

    #[test]
    fn setacl_forms() {
        let mut acl = Acl::new();
        let p = AclPolicy::RFC4314;
        acl.set(id("fred"), r("lr"), None, &p).unwrap();
        acl.modify(id("fred"), RightsModification::Add(r("wd")), None, &p)
            .unwrap();
        assert_eq!(acl.get(&id("fred")), Some(r("lrwxte")));
        acl.modify(id("fred"), RightsModification::Remove(r("d")), None, &p)
            .unwrap();
        assert_eq!(acl.get(&id("fred")), Some(r("lrw")));
        // Replace with nothing keeps an empty entry.
        acl.modify(
            id("fred"),
            RightsModification::Replace(Rights::EMPTY),
            None,
            &p,
        )
        .unwrap();
        assert_eq!(acl.get(&id("fred")), Some(Rights::EMPTY));
        // Removing from an absent entry adds nothing.
        acl.modify(id("bob"), RightsModification::Remove(r("l")), None, &p)
            .unwrap();
        assert_eq!(acl.get(&id("bob")), None);
        // DELETEACL fred leaves -fred alone (RFC 4314 §2).
        acl.set(id("-fred"), r("w"), None, &p).unwrap();
        acl.delete(&id("fred"), None, &p).unwrap();
        assert_eq!(acl.get(&id("fred")), None);
        assert_eq!(acl.get(&id("-fred")), Some(r("w")));
    }

    #[test]
    fn wire_setacl_and_deleteacl() {
        let mut acl = Acl::from_entries([(id("owner"), r("lrswipkxtea"))]);
        let p = AclPolicy::COURIER;
        acl.setacl("fred", "lr", Some("al"), &p).unwrap();
        acl.setacl("fred", "+d", Some("al"), &p).unwrap();
        assert_eq!(acl.get(&id("fred")), Some(r("lrxte")));
        assert!(matches!(
            acl.setacl("fred", "lrQ", Some("al"), &p),
            Err(SetAclError::Rights(_))
        ));
        assert!(acl.setacl("", "l", Some("al"), &p).unwrap_err().is_bad());
        let refused = acl.setacl("owner", "-a", Some("al"), &p).unwrap_err();
        assert!(!refused.is_bad());
        acl.deleteacl("fred", Some("al"), &p).unwrap();
        assert_eq!(acl.get(&id("fred")), None);
        assert!(acl.deleteacl("owner", Some("al"), &p).is_err());
    }

    #[test]
    fn getacl_view() {
        let acl = Acl::from_entries([
            (id("owner"), r("lrswipkxtea")),
            (id("group=staff"), r("lr")),
            (id("user=fred"), r("lret")),
            (id("-user=fred"), r("w")),
        ]);
        let view = acl.to_getacl_entries(LegacyMapping::DeleteIsD);
        let shown: Vec<(String, String)> = view
            .iter()
            .map(|e| (e.identifier.clone(), e.rights.to_string()))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("owner".to_owned(), "lrswipkxteacd".to_owned()),
                ("fred".to_owned(), "lrted".to_owned()),
                ("-fred".to_owned(), "w".to_owned()),
            ]
        );
    }
}
