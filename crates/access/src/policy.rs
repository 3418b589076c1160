//! Which rights each IMAP command needs (RFC 4314 §4), and the related
//! decisions: LIST hiding, information hiding (RFC 4314 §6), flag filtering
//! for APPEND/COPY/STORE, READ-ONLY vs READ-WRITE (§5.2), CLOSE without
//! `e`, and the LISTRIGHTS answer (§3.4).
//!
//! [`Operation`] is this crate's own list of commands; it does not depend on
//! a codec. UID variants need the same rights as the plain commands.

use postroom_types::{Flag, FlagPerm, Right, Rights};

use crate::acl::AclPolicy;
use crate::identifier::{Identifier, IdentifierError};
use crate::rights::{LegacyMapping, tie_virtual_rights};

/// An IMAP command, as far as access control cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// LIST: needs `l`; never fails, the mailbox is left out instead.
    List,
    /// LSUB: as LIST.
    Lsub,
    /// SUBSCRIBE: `l` (this policy checks that the mailbox exists).
    Subscribe,
    /// UNSUBSCRIBE: nothing.
    Unsubscribe,
    /// CREATE: `k` on the nearest existing parent ([`Target::Parent`]).
    Create,
    /// DELETE: `x` on the mailbox.
    Delete,
    /// RENAME: `x` on the old name ([`Target::Mailbox`]) and `k` on the new
    /// name's nearest existing parent ([`Target::Parent`]).
    Rename,
    /// SELECT: `r`.
    Select,
    /// EXAMINE: `r`.
    Examine,
    /// STATUS: `r`.
    Status,
    /// APPEND: `i` on the mailbox.
    Append,
    /// COPY: `i` on the destination ([`Target::Destination`]).
    Copy,
    /// MOVE (RFC 6851 §3.3): `i` on the destination, `t` and `e` on the
    /// selected source ([`Target::Source`]).
    Move,
    /// EXPUNGE (and UID EXPUNGE): `e` on the selected mailbox.
    Expunge,
    /// CLOSE: always allowed; see [`close_action`] for the expunge.
    Close,
    /// FETCH: `r`, implied by the selection; see [`fetch_may_set_seen`].
    Fetch,
    /// SEARCH: `r`, implied by the selection.
    Search,
    /// STORE of flags of these kinds: `s` for `\Seen`, `t` for `\Deleted`,
    /// `w` for others; allowed when at least one of them is permitted (the
    /// others are then dropped, see [`store_permitted`]).
    Store(FlagKinds),
    /// SETACL: `a`.
    SetAcl,
    /// DELETEACL: `a`.
    DeleteAcl,
    /// GETACL: `a` (RFC 4314 Appendix A: `r` alone is not enough).
    GetAcl,
    /// LISTRIGHTS: `a`.
    ListRights,
    /// MYRIGHTS: any of `l r i k x a`.
    MyRights,
    /// GETQUOTAROOT: `r` on the mailbox (as Cyrus requires).
    GetQuotaRoot,
}

/// Which mailbox of a command a requirement is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// The mailbox the command names (the old name for RENAME, the selected
    /// mailbox for EXPUNGE and STORE).
    Mailbox,
    /// The nearest existing parent of the name being created (CREATE, and
    /// the new name of RENAME); see [`nearest_existing_parent`]. `None`
    /// from the lookup means no parent exists (a top-level name): the
    /// caller's rights on the personal namespace decide.
    Parent,
    /// The selected mailbox messages come from (MOVE).
    Source,
    /// The mailbox messages go to (COPY, MOVE).
    Destination,
}

/// What a command needs on one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Need {
    /// Every one of these rights.
    All(Rights),
    /// At least one of these rights.
    AnyOf(Rights),
}

impl Need {
    /// Whether `rights` satisfies the need.
    pub const fn is_met(self, rights: Rights) -> bool {
        match self {
            Need::All(r) => r.is_subset(rights),
            Need::AnyOf(r) => !r.intersection(rights).is_empty(),
        }
    }

    /// The rights named.
    pub const fn rights(self) -> Rights {
        match self {
            Need::All(r) | Need::AnyOf(r) => r,
        }
    }
}

/// One row of the RFC 4314 §4 table for a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Requirement {
    /// Where the rights are checked.
    pub target: Target,
    /// What is needed there.
    pub need: Need,
}

/// The outcome of [`authorize`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Go ahead.
    Allowed,
    /// LIST/LSUB: leave this mailbox out of the answer; the command itself
    /// succeeds (RFC 4314 §4).
    Hidden,
    /// Fail exactly as if the mailbox did not exist: it does not, or the
    /// user may not see it (no `l`, RFC 4314 §6).
    NoSuchMailbox {
        /// Which mailbox.
        target: Target,
    },
    /// Fail with `NO`: the user may see the mailbox but lacks rights.
    Denied {
        /// Which mailbox.
        target: Target,
        /// What was needed there.
        need: Need,
    },
}

/// Rights helper for `const` tables.
const fn rs(rights: &[Right]) -> Rights {
    Rights::from_rights(rights)
}

const L: Rights = rs(&[Right::Lookup]);
const R: Rights = rs(&[Right::Read]);
const I: Rights = rs(&[Right::Insert]);
const K: Rights = rs(&[Right::CreateMailbox]);
const X: Rights = rs(&[Right::DeleteMailbox]);
const E: Rights = rs(&[Right::Expunge]);
const A: Rights = rs(&[Right::Administer]);
const TE: Rights = rs(&[Right::DeleteMessages, Right::Expunge]);
const MYRIGHTS_ANY: Rights = rs(&[
    Right::Lookup,
    Right::Read,
    Right::Insert,
    Right::CreateMailbox,
    Right::DeleteMailbox,
    Right::Administer,
]);

/// The rights `operation` needs, per target (RFC 4314 §4). An empty list
/// means the command needs no right.
pub fn requirements(operation: &Operation) -> Vec<Requirement> {
    let on = |target, need| Requirement { target, need };
    match *operation {
        Operation::List | Operation::Lsub | Operation::Subscribe => {
            vec![on(Target::Mailbox, Need::All(L))]
        }
        Operation::Unsubscribe | Operation::Close | Operation::Fetch | Operation::Search => {
            Vec::new()
        }
        Operation::Create => vec![on(Target::Parent, Need::All(K))],
        Operation::Delete => vec![on(Target::Mailbox, Need::All(X))],
        Operation::Rename => vec![
            on(Target::Mailbox, Need::All(X)),
            on(Target::Parent, Need::All(K)),
        ],
        Operation::Select | Operation::Examine | Operation::Status | Operation::GetQuotaRoot => {
            vec![on(Target::Mailbox, Need::All(R))]
        }
        Operation::Append => vec![on(Target::Mailbox, Need::All(I))],
        Operation::Copy => vec![on(Target::Destination, Need::All(I))],
        Operation::Move => vec![
            on(Target::Destination, Need::All(I)),
            on(Target::Source, Need::All(TE)),
        ],
        Operation::Expunge => vec![on(Target::Mailbox, Need::All(E))],
        Operation::Store(kinds) => {
            if kinds.is_empty() {
                Vec::new()
            } else {
                vec![on(Target::Mailbox, Need::AnyOf(kinds.rights()))]
            }
        }
        Operation::SetAcl | Operation::DeleteAcl | Operation::GetAcl | Operation::ListRights => {
            vec![on(Target::Mailbox, Need::All(A))]
        }
        Operation::MyRights => vec![on(Target::Mailbox, Need::AnyOf(MYRIGHTS_ANY))],
    }
}

/// Decides `operation`. `rights_of` gives the user's effective rights on a
/// target, or `None` when that mailbox does not exist.
///
/// Rules: LIST and LSUB never fail; a mailbox without `l` is
/// [`Verdict::Hidden`]. Otherwise a missing mailbox, or a failed check on a
/// mailbox the client named and may not look up (no `l`), is
/// [`Verdict::NoSuchMailbox`] (RFC 4314 §6), and other failures are
/// [`Verdict::Denied`]. The selected mailbox (EXPUNGE, STORE, MOVE's
/// source) and a parent are never hidden. A missing [`Target::Parent`] is not an error here:
/// the caller passes the rights that govern top-level names.
pub fn authorize(
    operation: &Operation,
    mut rights_of: impl FnMut(Target) -> Option<Rights>,
) -> Verdict {
    let listing = matches!(operation, Operation::List | Operation::Lsub);
    for req in requirements(operation) {
        let Some(rights) = rights_of(req.target) else {
            if listing {
                return Verdict::Hidden;
            }
            return Verdict::NoSuchMailbox { target: req.target };
        };
        if req.need.is_met(rights) {
            continue;
        }
        if listing {
            return Verdict::Hidden;
        }
        // Information hiding concerns mailboxes the client names; the
        // selected mailbox (EXPUNGE, STORE, MOVE's source) is known to
        // exist, and a parent is not what the client asked about.
        let named = match req.target {
            Target::Mailbox => !matches!(operation, Operation::Expunge | Operation::Store(_)),
            Target::Destination => true,
            Target::Parent | Target::Source => false,
        };
        let hidden = named && !rights.contains(Right::Lookup);
        return if hidden {
            Verdict::NoSuchMailbox { target: req.target }
        } else {
            Verdict::Denied {
                target: req.target,
                need: req.need,
            }
        };
    }
    Verdict::Allowed
}

/// The nearest existing parent of `name` in a hierarchy with `delimiter`:
/// the longest proper prefix ending before a delimiter for which `exists`
/// holds (RFC 4314 §4, CREATE). `None` when no ancestor exists.
///
/// ```
/// use postroom_access::policy::nearest_existing_parent;
/// let existing = ["INBOX", "INBOX.a"];
/// let exists = |n: &str| existing.contains(&n);
/// assert_eq!(nearest_existing_parent("INBOX.a.b.c", '.', exists), Some("INBOX.a"));
/// assert_eq!(nearest_existing_parent("Other", '.', exists), None);
/// ```
pub fn nearest_existing_parent(
    name: &str,
    delimiter: char,
    mut exists: impl FnMut(&str) -> bool,
) -> Option<&str> {
    let mut end = name.len();
    while let Some(pos) = name[..end].rfind(delimiter) {
        let parent = &name[..pos];
        if !parent.is_empty() && exists(parent) {
            return Some(parent);
        }
        end = pos;
    }
    None
}

/// The kind of a flag, as far as rights are concerned (RFC 4314 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlagKind {
    /// `\Seen`: needs `s`.
    Seen,
    /// `\Deleted`: needs `t`.
    Deleted,
    /// Any other flag or keyword: needs `w`.
    Other,
}

impl FlagKind {
    /// The kind of a flag written as on the wire (`\Seen`, `$Junk`, ...);
    /// system flag names compare case-insensitively.
    pub fn of_name(flag: &str) -> FlagKind {
        if flag.eq_ignore_ascii_case("\\Seen") {
            FlagKind::Seen
        } else if flag.eq_ignore_ascii_case("\\Deleted") {
            FlagKind::Deleted
        } else {
            FlagKind::Other
        }
    }

    /// The kind of a flag of the shared types.
    pub const fn of_flag(flag: &Flag) -> FlagKind {
        match flag {
            Flag::Seen => FlagKind::Seen,
            Flag::Deleted => FlagKind::Deleted,
            _ => FlagKind::Other,
        }
    }

    /// The right that allows setting or clearing the flag.
    pub const fn right(self) -> Right {
        match self {
            FlagKind::Seen => Right::Seen,
            FlagKind::Deleted => Right::DeleteMessages,
            FlagKind::Other => Right::Write,
        }
    }

    /// Whether `rights` allow setting or clearing flags of this kind.
    pub const fn permitted(self, rights: Rights) -> bool {
        rights.contains(self.right())
    }
}

/// A set of [`FlagKind`]s (the flags a STORE names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlagKinds {
    /// `\Seen` is named.
    pub seen: bool,
    /// `\Deleted` is named.
    pub deleted: bool,
    /// Some other flag or keyword is named.
    pub other: bool,
}

impl FlagKinds {
    /// The kinds of the given flags.
    pub fn of<I: IntoIterator<Item = FlagKind>>(kinds: I) -> FlagKinds {
        let mut out = FlagKinds::default();
        for k in kinds {
            match k {
                FlagKind::Seen => out.seen = true,
                FlagKind::Deleted => out.deleted = true,
                FlagKind::Other => out.other = true,
            }
        }
        out
    }

    /// Whether no kind is named.
    pub const fn is_empty(self) -> bool {
        !(self.seen || self.deleted || self.other)
    }

    /// The rights that govern these kinds.
    pub fn rights(self) -> Rights {
        let mut r = Rights::EMPTY;
        if self.seen {
            r.insert(Right::Seen);
        }
        if self.deleted {
            r.insert(Right::DeleteMessages);
        }
        if self.other {
            r.insert(Right::Write);
        }
        r
    }
}

/// Keeps the flags the user may set on APPEND or COPY into a mailbox where
/// they hold `rights`: `\Seen` only with `s`, `\Deleted` only with `t`,
/// others only with `w` (RFC 4314 §4). Never fails: forbidden flags are
/// dropped silently. Order is preserved.
///
/// ```
/// use postroom_access::policy::{filter_flags, FlagKind};
/// let rights = "rwis".parse()?;
/// let kept = filter_flags(["\\Draft", "\\Deleted"], rights, |f| FlagKind::of_name(f));
/// assert_eq!(kept, ["\\Draft"]);
/// # Ok::<(), postroom_types::RightsError>(())
/// ```
pub fn filter_flags<T>(
    flags: impl IntoIterator<Item = T>,
    rights: Rights,
    kind_of: impl Fn(&T) -> FlagKind,
) -> Vec<T> {
    flags
        .into_iter()
        .filter(|f| kind_of(f).permitted(rights))
        .collect()
}

/// STORE: the flags that may change, and whether the command may go ahead
/// at all. RFC 4314 §4: STORE SHOULD NOT fail if at least one requested
/// flag is allowed; the others are dropped. Returns `None` when none is.
pub fn store_permitted<T>(
    flags: impl IntoIterator<Item = T>,
    rights: Rights,
    kind_of: impl Fn(&T) -> FlagKind,
) -> Option<Vec<T>> {
    let mut any = false;
    let mut kept = Vec::new();
    for f in flags {
        any = true;
        if kind_of(&f).permitted(rights) {
            kept.push(f);
        }
    }
    if any && kept.is_empty() {
        None
    } else {
        Some(kept)
    }
}

/// The flag kinds PERMANENTFLAGS may list for a user with `rights`
/// (RFC 4314 §5.1.1: FLAGS and PERMANENTFLAGS reflect the user's rights).
pub fn permanent_flag_kinds(rights: Rights) -> FlagKinds {
    FlagKinds {
        seen: FlagKind::Seen.permitted(rights),
        deleted: FlagKind::Deleted.permitted(rights),
        other: FlagKind::Other.permitted(rights),
    }
}

/// The PERMANENTFLAGS a user with `rights` is shown (RFC 4314 §5.1.1):
/// `\Seen` only with `s`, `\Deleted` only with `t`, other flags and `\*`
/// only with `w`. Order is preserved.
pub fn permanent_flags(flags: &[FlagPerm], rights: Rights) -> Vec<FlagPerm> {
    flags
        .iter()
        .filter(|f| match f {
            FlagPerm::Flag(flag) => FlagKind::of_flag(flag).permitted(rights),
            FlagPerm::AnyKeyword => FlagKind::Other.permitted(rights),
        })
        .cloned()
        .collect()
}

/// SELECT's response code (RFC 4314 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SelectAccess {
    /// `[READ-ONLY]`.
    ReadOnly,
    /// `[READ-WRITE]`.
    ReadWrite,
}

/// The flag rights of a Maildir: flags live in file names and are shared by
/// every user of the folder, so `s`, `t` and `w` are all "shared flag
/// rights" in the sense of RFC 4314 §5.2.
pub const MAILDIR_SHARED_FLAG_RIGHTS: Rights =
    rs(&[Right::Seen, Right::DeleteMessages, Right::Write]);

/// READ-ONLY or READ-WRITE for SELECT (RFC 4314 §5.2): READ-WRITE when the
/// user holds `i`, `e`, or one of `shared_flag_rights` (the subset of `s`,
/// `t`, `w` whose flags are shared between users on this mailbox).
/// EXAMINE is always READ-ONLY.
pub fn select_access(rights: Rights, shared_flag_rights: Rights) -> SelectAccess {
    let writing = rs(&[Right::Insert, Right::Expunge])
        .union(shared_flag_rights.intersection(MAILDIR_SHARED_FLAG_RIGHTS));
    if writing.intersection(rights).is_empty() {
        SelectAccess::ReadOnly
    } else {
        SelectAccess::ReadWrite
    }
}

/// What CLOSE does (RFC 4314 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseAction {
    /// Expunge `\Deleted` messages, then close.
    ExpungeAndClose,
    /// No `e`: close without expunging, and still answer OK.
    CloseWithoutExpunge,
}

/// What CLOSE does for a user with `rights` on the selected mailbox.
pub const fn close_action(rights: Rights) -> CloseAction {
    if rights.contains(Right::Expunge) {
        CloseAction::ExpungeAndClose
    } else {
        CloseAction::CloseWithoutExpunge
    }
}

/// Whether a FETCH of `BODY[...]` (not `BODY.PEEK`) may set `\Seen`
/// (RFC 4314 §4: not without `s`).
pub const fn fetch_may_set_seen(rights: Rights) -> bool {
    rights.contains(Right::Seen)
}

/// A LISTRIGHTS answer (RFC 4314 §3.7).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ListRights {
    /// The identifier exactly as the client sent it (§3.7).
    pub identifier: String,
    /// Rights always granted to it (may be empty).
    pub required: Rights,
    /// Groups of rights that are granted or refused together.
    pub optional: Vec<Rights>,
}

impl ListRights {
    /// The rights strings in response order: the required set, then each
    /// group.
    pub fn rights_strings(&self) -> Vec<String> {
        std::iter::once(self.required.to_string())
            .chain(self.optional.iter().map(|g| g.to_string()))
            .collect()
    }
}

/// The LISTRIGHTS answer for `identifier` (as sent) on a mailbox owned by
/// `owner`, under `policy`.
///
/// Every right is granted on its own (no ties), except: the owner
/// (`owner` or the owner's user name) always holds the policy's owner
/// minimum and `a`; the administrators always hold theirs. A negative
/// identifier may take away any right except those the identifier's
/// positive subject must keep. The virtual `c`/`d` are added per
/// RFC 4314 §2.1.1.
pub fn list_rights(
    identifier: &str,
    owner: Option<&str>,
    policy: &AclPolicy,
) -> Result<ListRights, IdentifierError> {
    let parsed = Identifier::parse(identifier)?;
    let (required, grantable) = if parsed.is_negative() {
        (
            Rights::EMPTY,
            Rights::ALL.difference(policy.undeniable_by(&parsed, owner)),
        )
    } else {
        let protected = policy.minimum_for(&parsed, owner);
        (protected, Rights::ALL.difference(protected))
    };
    let groups: Vec<Rights> = crate::rights::RFC4314_LETTERS
        .chars()
        .filter(|&c| grantable.contains_char(c))
        .filter_map(Right::from_letter)
        .map(Rights::from)
        .collect();
    let (required, optional) = tie_virtual_rights(required, &groups, policy.mapping);
    Ok(ListRights {
        identifier: identifier.to_owned(),
        required,
        optional,
    })
}

/// The MYRIGHTS answer (RFC 4314 §3.8): the rights with the virtual `c`/`d`
/// added.
pub fn myrights(rights: Rights, mapping: LegacyMapping) -> Rights {
    mapping.with_virtual(rights)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Rights {
        s.parse().unwrap()
    }

    #[test]
    fn nearest_parent_walks_up() {
        let existing = ["A", "A.B"];
        let ex = |n: &str| existing.contains(&n);
        assert_eq!(nearest_existing_parent("A.B.C.D", '.', ex), Some("A.B"));
        assert_eq!(nearest_existing_parent("A.X", '.', ex), Some("A"));
        assert_eq!(nearest_existing_parent("Z", '.', ex), None);
        assert_eq!(nearest_existing_parent(".A", '.', ex), None);
        assert_eq!(nearest_existing_parent("", '.', ex), None);
    }

    #[test]
    fn store_keeps_allowed_flags() {
        let kinds = |f: &&str| FlagKind::of_name(f);
        assert_eq!(
            store_permitted(["\\Seen", "\\Flagged"], r("rs"), kinds),
            Some(vec!["\\Seen"])
        );
        assert_eq!(store_permitted(["\\Flagged"], r("rs"), kinds), None);
        assert_eq!(
            store_permitted(Vec::<&str>::new(), r("r"), kinds),
            Some(vec![])
        );
    }

    #[test]
    fn permanent_flags_follow_rights() {
        assert_eq!(
            permanent_flag_kinds(r("rs")),
            FlagKinds {
                seen: true,
                deleted: false,
                other: false
            }
        );
        assert!(permanent_flag_kinds(r("lr")).is_empty());
    }

    #[test]
    fn typed_flags() {
        let flags: Vec<Flag> = ["\\Draft", "\\Deleted", "\\Seen", "$Junk"]
            .iter()
            .map(|f| f.parse().unwrap())
            .collect();
        let kept = filter_flags(flags.clone(), r("ri"), FlagKind::of_flag);
        assert!(kept.is_empty());
        let kept = filter_flags(flags, r("rst"), FlagKind::of_flag);
        assert_eq!(kept, [Flag::Deleted, Flag::Seen]);
        let perm = [
            FlagPerm::Flag(Flag::Seen),
            FlagPerm::Flag(Flag::Deleted),
            FlagPerm::Flag(Flag::Answered),
            FlagPerm::AnyKeyword,
        ];
        assert_eq!(
            permanent_flags(&perm, r("rs")),
            [FlagPerm::Flag(Flag::Seen)]
        );
        assert_eq!(permanent_flags(&perm, r("rw")).len(), 2);
        assert_eq!(permanent_flags(&perm, r("rstw")).len(), 4);
    }

    #[test]
    fn flag_kinds_case_insensitive() {
        assert_eq!(FlagKind::of_name("\\SEEN"), FlagKind::Seen);
        assert_eq!(FlagKind::of_name("\\deleted"), FlagKind::Deleted);
        assert_eq!(FlagKind::of_name("$Forwarded"), FlagKind::Other);
        assert_eq!(FlagKind::of_name("\\Draft"), FlagKind::Other);
    }
}
