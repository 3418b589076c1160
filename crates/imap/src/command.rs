//! The command AST: every command of RFC 3501 and of the extensions
//! postroom advertises. Values own their data.

use std::fmt;
use std::num::{NonZeroU32, NonZeroUsize};

use postroom_types::{QuotaLimit, Rights, Secret};

use crate::types::{Flag, InternalDate, MailboxName, SearchKey, SequenceSet};

/// A command tag (RFC 3501 §9 `tag`: ASTRING-CHARs except `+`).
///
/// Tags of up to 16 bytes (nearly all of them: clients send `a1`,
/// `A0042`) are stored inline, so parsing a command allocates nothing for
/// its tag.
#[derive(Clone)]
pub struct Tag(TagRepr);

/// The longest tag stored without allocation.
const TAG_INLINE: usize = 16;

/// The storage of a [`Tag`].
///
/// The inline length is a full word with a niche (tags are never empty),
/// so the enum needs no separate discriminant byte: it is a whole number
/// of words, built and copied with word-sized moves rather than a byte
/// discriminant followed by a byte array at odd offsets.
#[derive(Clone)]
enum TagRepr {
    /// `bytes[..len]` holds the tag (ASCII tag characters).
    Inline {
        len: NonZeroUsize,
        bytes: [u8; TAG_INLINE],
    },
    Heap(Box<str>),
}

impl Tag {
    /// A tag, if `s` is a valid one.
    pub fn new(s: impl Into<String>) -> Option<Tag> {
        let s = s.into();
        if !s.is_empty() && s.bytes().all(crate::framer::is_tag_char) {
            Some(Tag::from_valid(s.as_bytes()).unwrap_or_else(|| Tag(TagRepr::Heap(s.into()))))
        } else {
            None
        }
    }

    /// The inline form of valid (so non-empty) tag bytes, if short enough.
    #[inline]
    fn from_valid(bytes: &[u8]) -> Option<Tag> {
        Tag::inline_at(bytes, 0, bytes.len())
    }

    /// The inline form of the valid tag `input[start..start + len]`, if
    /// short enough. The bytes are gathered into words in registers and
    /// stored word by word: a byte-wise copy read back by the word-wide
    /// loads of every later move of the command stalls store forwarding.
    #[inline(always)]
    fn inline_at(input: &[u8], start: usize, len: usize) -> Option<Tag> {
        if len > TAG_INLINE {
            return None;
        }
        let nz_len = NonZeroUsize::new(len)?;
        let low = crate::lexer::le_bytes_at(input, start, len.min(8));
        let high = crate::lexer::le_bytes_at(input, start + len.min(8), len.saturating_sub(8));
        let mut bytes = [0u8; TAG_INLINE];
        bytes[..8].copy_from_slice(&low.to_le_bytes());
        bytes[8..].copy_from_slice(&high.to_le_bytes());
        Some(Tag(TagRepr::Inline { len: nz_len, bytes }))
    }

    /// A tag from bytes the lexer matched as tag characters (ASCII).
    #[inline]
    pub(crate) fn from_tag_bytes(bytes: &[u8]) -> Tag {
        Tag::from_tag_at(bytes, 0, bytes.len())
    }

    /// A tag from `input[start..start + len]`, bytes the lexer matched as
    /// tag characters (ASCII); for a short tag, the bytes around it let it
    /// be read a word at a time.
    #[inline]
    pub(crate) fn from_tag_at(input: &[u8], start: usize, len: usize) -> Tag {
        let bytes = &input[start..start + len];
        debug_assert!(!bytes.is_empty() && bytes.iter().all(|&b| crate::lexer::is_tag_char(b)));
        Tag::inline_at(input, start, len)
            .unwrap_or_else(|| Tag(TagRepr::Heap(crate::lexer::ascii_string(bytes).into())))
    }

    /// The tag text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Inline bytes are ASCII tag characters, so this never fails.
            TagRepr::Inline { .. } => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            TagRepr::Heap(s) => s,
        }
    }

    /// The tag bytes (ASCII).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            TagRepr::Inline { len, bytes } => &bytes[..len.get()],
            TagRepr::Heap(s) => s.as_bytes(),
        }
    }
}

impl PartialEq for Tag {
    fn eq(&self, other: &Tag) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Tag {}

impl std::hash::Hash for Tag {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As `str` hashes, so the value does not depend on the storage.
        state.write(self.as_bytes());
        state.write_u8(0xff);
    }
}

impl PartialOrd for Tag {
    fn partial_cmp(&self, other: &Tag) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Tag {
    fn cmp(&self, other: &Tag) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Tag").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An IMAP atom (RFC 3501 §9 `atom`): capability names, LIST attributes,
/// algorithm names and other extension tokens.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom(String);

impl Atom {
    /// An atom, if `s` is a valid one.
    pub fn new(s: impl Into<String>) -> Option<Atom> {
        let s = s.into();
        if !s.is_empty() && s.bytes().all(crate::lexer::is_atom_char) {
            Some(Atom(s))
        } else {
            None
        }
    }

    /// An atom from a literal known to be valid.
    pub(crate) fn from_static(s: &'static str) -> Atom {
        debug_assert!(s.bytes().all(crate::lexer::is_atom_char));
        Atom(s.to_owned())
    }

    /// The atom text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Case-insensitive comparison (RFC 3501 §9: grammar literals are
    /// case-insensitive).
    pub fn eq_ignore_case(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// ID parameters (RFC 2971): field/value pairs, a value may be NIL.
pub type IdParams = Vec<(String, Option<String>)>;

/// A command with its tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaggedCommand {
    /// The tag.
    pub tag: Tag,
    /// The command.
    pub command: Command,
}

/// One IMAP command.
// A 4-byte discriminant: with the default 1-byte one the enum is a byte
// followed by byte-typed padding, which the compiler may move one byte at
// a time (it does for volatile reads). 4 bytes leave room for a variant's
// `uid` flag in the same word, so the enum stays 104 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[repr(u32)]
pub enum Command {
    /// `CAPABILITY` (RFC 3501 §6.1.1).
    Capability,
    /// `NOOP` (§6.1.2).
    Noop,
    /// `LOGOUT` (§6.1.3).
    Logout,
    /// `STARTTLS` (§6.2.1).
    StartTls,
    /// `AUTHENTICATE mechanism [initial-response]` (§6.2.2, RFC 4959).
    Authenticate {
        /// The SASL mechanism, upper-cased.
        mechanism: Atom,
        /// The SASL-IR initial response, base64-decoded (`=` is empty).
        initial_response: Option<Secret<Vec<u8>>>,
    },
    /// `LOGIN user password` (§6.2.3).
    Login {
        /// The user name.
        username: String,
        /// The password.
        password: Secret<String>,
    },
    /// `SELECT mailbox` (§6.3.1).
    Select {
        /// The mailbox.
        mailbox: MailboxName,
    },
    /// `EXAMINE mailbox` (§6.3.2).
    Examine {
        /// The mailbox.
        mailbox: MailboxName,
    },
    /// `CREATE mailbox` (§6.3.3).
    Create {
        /// The mailbox.
        mailbox: MailboxName,
    },
    /// `DELETE mailbox` (§6.3.4).
    Delete {
        /// The mailbox.
        mailbox: MailboxName,
    },
    /// `RENAME from to` (§6.3.5).
    Rename {
        /// The existing name.
        from: MailboxName,
        /// The new name.
        to: MailboxName,
    },
    /// `SUBSCRIBE mailbox` (§6.3.6).
    Subscribe {
        /// The mailbox.
        mailbox: MailboxName,
    },
    /// `UNSUBSCRIBE mailbox` (§6.3.7).
    Unsubscribe {
        /// The mailbox.
        mailbox: MailboxName,
    },
    /// `LIST [(selection)] reference pattern` (§6.3.8; the selection list is
    /// Courier's ACL2 form, e.g. `(ACL MYRIGHTS)`).
    List {
        /// Selection options before the reference (empty for plain LIST).
        selection: Vec<Atom>,
        /// The reference name (decoded from modified UTF-7).
        reference: String,
        /// The pattern with `%` and `*` (decoded from modified UTF-7).
        pattern: String,
    },
    /// `LSUB reference pattern` (§6.3.9).
    Lsub {
        /// The reference name.
        reference: String,
        /// The pattern.
        pattern: String,
    },
    /// `STATUS mailbox (items)` (§6.3.10).
    Status {
        /// The mailbox.
        mailbox: MailboxName,
        /// The requested items (at least one).
        items: Vec<StatusItem>,
    },
    /// `APPEND mailbox [(flags)] [date-time] literal` (§6.3.11).
    Append {
        /// The target mailbox.
        mailbox: MailboxName,
        /// Flags to set.
        flags: Vec<Flag>,
        /// The internal date to set.
        date: Option<InternalDate>,
        /// The message.
        message: Vec<u8>,
    },
    /// `CHECK` (§6.4.1).
    Check,
    /// `CLOSE` (§6.4.2).
    Close,
    /// `UNSELECT` (RFC 3691).
    Unselect,
    /// `EXPUNGE` (§6.4.3).
    Expunge,
    /// `UID EXPUNGE uid-set` (RFC 4315 §2.1).
    UidExpunge {
        /// The UIDs.
        uids: SequenceSet,
    },
    /// `[UID] SEARCH [CHARSET c] keys` (§6.4.4).
    Search {
        /// Whether it is `UID SEARCH`.
        uid: bool,
        /// The charset, if given.
        charset: Option<String>,
        /// The criteria; the top-level keys as one `SearchKey::And` unless
        /// there is exactly one.
        criteria: SearchKey,
    },
    /// `[UID] FETCH set items` (§6.4.5).
    Fetch {
        /// Whether it is `UID FETCH`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// The items.
        items: FetchItems,
    },
    /// `[UID] STORE set [+-]FLAGS[.SILENT] (flags)` (§6.4.6).
    Store {
        /// Whether it is `UID STORE`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// Replace, add or remove.
        mode: StoreMode,
        /// `.SILENT`.
        silent: bool,
        /// The flags.
        flags: Vec<Flag>,
    },
    /// `[UID] COPY set mailbox` (§6.4.7).
    Copy {
        /// Whether it is `UID COPY`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// The target.
        mailbox: MailboxName,
    },
    /// `[UID] MOVE set mailbox` (RFC 6851).
    Move {
        /// Whether it is `UID MOVE`.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// The target.
        mailbox: MailboxName,
    },
    /// `NAMESPACE` (RFC 2342).
    Namespace,
    /// `[UID] SORT (criteria) charset keys` (RFC 5256 §3).
    Sort {
        /// Whether it is `UID SORT`.
        uid: bool,
        /// The sort criteria (at least one).
        criteria: Vec<SortCriterion>,
        /// The charset.
        charset: String,
        /// The search criteria.
        search: SearchKey,
    },
    /// `[UID] THREAD algorithm charset keys` (RFC 5256 §3).
    Thread {
        /// Whether it is `UID THREAD`.
        uid: bool,
        /// The algorithm.
        algorithm: ThreadAlgorithm,
        /// The charset.
        charset: String,
        /// The search criteria.
        search: SearchKey,
    },
    /// `GETQUOTA root` (RFC 2087 §4.2).
    GetQuota {
        /// The quota root.
        root: String,
    },
    /// `GETQUOTAROOT mailbox` (RFC 2087 §4.3).
    GetQuotaRoot {
        /// The mailbox.
        mailbox: MailboxName,
    },
    /// `SETQUOTA root (limits)` (RFC 2087 §4.1).
    SetQuota {
        /// The quota root.
        root: String,
        /// The new limits (may be empty).
        limits: Vec<QuotaLimit>,
    },
    /// `IDLE` (RFC 2177); the `DONE` arrives as a connection event.
    Idle,
    /// `SETACL mailbox identifier rights` (RFC 4314 §3.1).
    SetAcl {
        /// The mailbox.
        mailbox: MailboxName,
        /// The identifier (`-name` for negative rights).
        identifier: String,
        /// The change.
        rights: RightsChange,
    },
    /// `DELETEACL mailbox identifier` (RFC 4314 §3.2).
    DeleteAcl {
        /// The mailbox.
        mailbox: MailboxName,
        /// The identifier.
        identifier: String,
    },
    /// `GETACL mailbox` (RFC 4314 §3.3).
    GetAcl {
        /// The mailbox.
        mailbox: MailboxName,
    },
    /// `LISTRIGHTS mailbox identifier` (RFC 4314 §3.4).
    ListRights {
        /// The mailbox.
        mailbox: MailboxName,
        /// The identifier.
        identifier: String,
    },
    /// `MYRIGHTS mailbox` (RFC 4314 §3.5).
    MyRights {
        /// The mailbox.
        mailbox: MailboxName,
    },
    /// Courier ACL2: `ACL STORE mailbox(es) identifier rights`.
    AclStore {
        /// One mailbox or a list; each is expanded like a LIST pattern.
        mailboxes: Vec<MailboxName>,
        /// The identifier.
        identifier: String,
        /// The change.
        rights: RightsChange,
    },
    /// Courier ACL2: `ACL DELETE mailbox(es) identifier`.
    AclDelete {
        /// One mailbox or a list.
        mailboxes: Vec<MailboxName>,
        /// The identifier.
        identifier: String,
    },
    /// Courier ACL2: `ACL SET mailbox(es) identifier rights ...`: replace
    /// the whole ACL.
    AclSet {
        /// One mailbox or a list.
        mailboxes: Vec<MailboxName>,
        /// The new ACL.
        entries: Vec<(String, Rights)>,
    },
    /// `ENABLE capabilities` (RFC 5161).
    Enable {
        /// The capabilities to enable (at least one).
        capabilities: Vec<Atom>,
    },
    /// `ID (params) / NIL` (RFC 2971).
    Id {
        /// Field/value pairs, `None` for `NIL`.
        parameters: Option<IdParams>,
    },
}

impl Command {
    /// The command name as sent (`UID FETCH` for a UID fetch).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Capability => "CAPABILITY",
            Command::Noop => "NOOP",
            Command::Logout => "LOGOUT",
            Command::StartTls => "STARTTLS",
            Command::Authenticate { .. } => "AUTHENTICATE",
            Command::Login { .. } => "LOGIN",
            Command::Select { .. } => "SELECT",
            Command::Examine { .. } => "EXAMINE",
            Command::Create { .. } => "CREATE",
            Command::Delete { .. } => "DELETE",
            Command::Rename { .. } => "RENAME",
            Command::Subscribe { .. } => "SUBSCRIBE",
            Command::Unsubscribe { .. } => "UNSUBSCRIBE",
            Command::List { .. } => "LIST",
            Command::Lsub { .. } => "LSUB",
            Command::Status { .. } => "STATUS",
            Command::Append { .. } => "APPEND",
            Command::Check => "CHECK",
            Command::Close => "CLOSE",
            Command::Unselect => "UNSELECT",
            Command::Expunge => "EXPUNGE",
            Command::UidExpunge { .. } => "UID EXPUNGE",
            Command::Search { uid: false, .. } => "SEARCH",
            Command::Search { uid: true, .. } => "UID SEARCH",
            Command::Fetch { uid: false, .. } => "FETCH",
            Command::Fetch { uid: true, .. } => "UID FETCH",
            Command::Store { uid: false, .. } => "STORE",
            Command::Store { uid: true, .. } => "UID STORE",
            Command::Copy { uid: false, .. } => "COPY",
            Command::Copy { uid: true, .. } => "UID COPY",
            Command::Move { uid: false, .. } => "MOVE",
            Command::Move { uid: true, .. } => "UID MOVE",
            Command::Namespace => "NAMESPACE",
            Command::Sort { uid: false, .. } => "SORT",
            Command::Sort { uid: true, .. } => "UID SORT",
            Command::Thread { uid: false, .. } => "THREAD",
            Command::Thread { uid: true, .. } => "UID THREAD",
            Command::GetQuota { .. } => "GETQUOTA",
            Command::GetQuotaRoot { .. } => "GETQUOTAROOT",
            Command::SetQuota { .. } => "SETQUOTA",
            Command::Idle => "IDLE",
            Command::SetAcl { .. } => "SETACL",
            Command::DeleteAcl { .. } => "DELETEACL",
            Command::GetAcl { .. } => "GETACL",
            Command::ListRights { .. } => "LISTRIGHTS",
            Command::MyRights { .. } => "MYRIGHTS",
            Command::AclStore { .. } => "ACL STORE",
            Command::AclDelete { .. } => "ACL DELETE",
            Command::AclSet { .. } => "ACL SET",
            Command::Enable { .. } => "ENABLE",
            Command::Id { .. } => "ID",
        }
    }

    /// The connection states the command is valid in (RFC 3501 §3, §6).
    pub fn valid_in(&self) -> ValidIn {
        match self {
            Command::Capability | Command::Noop | Command::Logout | Command::Id { .. } => {
                ValidIn::Any
            }
            Command::StartTls | Command::Authenticate { .. } | Command::Login { .. } => {
                ValidIn::NotAuthenticated
            }
            Command::Check
            | Command::Close
            | Command::Unselect
            | Command::Expunge
            | Command::UidExpunge { .. }
            | Command::Search { .. }
            | Command::Fetch { .. }
            | Command::Store { .. }
            | Command::Copy { .. }
            | Command::Move { .. }
            | Command::Sort { .. }
            | Command::Thread { .. } => ValidIn::Selected,
            _ => ValidIn::Authenticated,
        }
    }
}

/// Where a command may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidIn {
    /// Any state.
    Any,
    /// Only before authentication.
    NotAuthenticated,
    /// Authenticated or selected.
    Authenticated,
    /// Only with a mailbox selected.
    Selected,
}

/// A STATUS item (RFC 3501 §6.3.10; RFC 9208 §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusItem {
    /// `MESSAGES`
    Messages,
    /// `RECENT`
    Recent,
    /// `UIDNEXT`
    UidNext,
    /// `UIDVALIDITY`
    UidValidity,
    /// `UNSEEN`
    Unseen,
    /// `DELETED` (RFC 9208)
    Deleted,
    /// `DELETED-STORAGE` (RFC 9208)
    DeletedStorage,
}

impl StatusItem {
    /// The item's atom.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusItem::Messages => "MESSAGES",
            StatusItem::Recent => "RECENT",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Deleted => "DELETED",
            StatusItem::DeletedStorage => "DELETED-STORAGE",
        }
    }

    /// All items.
    pub const ALL: [StatusItem; 7] = [
        StatusItem::Messages,
        StatusItem::Recent,
        StatusItem::UidNext,
        StatusItem::UidValidity,
        StatusItem::Unseen,
        StatusItem::Deleted,
        StatusItem::DeletedStorage,
    ];

    /// The item named by `s` (case-insensitive).
    pub fn from_name(s: &str) -> Option<StatusItem> {
        StatusItem::ALL
            .into_iter()
            .find(|i| i.as_str().eq_ignore_ascii_case(s))
    }
}

/// What FETCH asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchItems {
    /// `ALL` = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE).
    All,
    /// `FAST` = (FLAGS INTERNALDATE RFC822.SIZE).
    Fast,
    /// `FULL` = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY).
    Full,
    /// A single item or a parenthesised list (at least one).
    List(Vec<FetchAttribute>),
}

impl FetchItems {
    /// The attributes, with macros expanded (RFC 3501 §6.4.5).
    pub fn attributes(&self) -> Vec<FetchAttribute> {
        use FetchAttribute as A;
        match self {
            FetchItems::All => vec![A::Flags, A::InternalDate, A::Rfc822Size, A::Envelope],
            FetchItems::Fast => vec![A::Flags, A::InternalDate, A::Rfc822Size],
            FetchItems::Full => vec![
                A::Flags,
                A::InternalDate,
                A::Rfc822Size,
                A::Envelope,
                A::Body,
            ],
            FetchItems::List(l) => l.clone(),
        }
    }
}

/// A `fetch-att` (RFC 3501 §9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchAttribute {
    /// `ENVELOPE`
    Envelope,
    /// `FLAGS`
    Flags,
    /// `INTERNALDATE`
    InternalDate,
    /// `RFC822`
    Rfc822,
    /// `RFC822.HEADER`
    Rfc822Header,
    /// `RFC822.SIZE`
    Rfc822Size,
    /// `RFC822.TEXT`
    Rfc822Text,
    /// `BODY`
    Body,
    /// `BODYSTRUCTURE`
    BodyStructure,
    /// `UID`
    Uid,
    /// `BODY[section]<origin.length>` or `BODY.PEEK[...]`.
    BodySection {
        /// `BODY.PEEK`: do not set `\Seen`.
        peek: bool,
        /// The section.
        section: Section,
        /// `<origin.length>`.
        partial: Option<(u32, NonZeroU32)>,
    },
}

/// A `section` (RFC 3501 §9) and its text specifier, shared with stores.
pub use postroom_types::{Section, SectionText};

/// How STORE changes flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreMode {
    /// `FLAGS`: replace.
    Replace,
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
}

/// A SORT criterion (RFC 5256 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortCriterion {
    /// `REVERSE`.
    pub reverse: bool,
    /// The key.
    pub key: SortKey,
}

/// A SORT key (RFC 5256 §3; DISPLAYFROM/DISPLAYTO from RFC 5957).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SortKey {
    /// `ARRIVAL`
    Arrival,
    /// `CC`
    Cc,
    /// `DATE`
    Date,
    /// `FROM`
    From,
    /// `SIZE`
    Size,
    /// `SUBJECT`
    Subject,
    /// `TO`
    To,
    /// `DISPLAYFROM` (RFC 5957)
    DisplayFrom,
    /// `DISPLAYTO` (RFC 5957)
    DisplayTo,
}

impl SortKey {
    /// All keys.
    pub const ALL: [SortKey; 9] = [
        SortKey::Arrival,
        SortKey::Cc,
        SortKey::Date,
        SortKey::From,
        SortKey::Size,
        SortKey::Subject,
        SortKey::To,
        SortKey::DisplayFrom,
        SortKey::DisplayTo,
    ];

    /// The key's atom.
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Arrival => "ARRIVAL",
            SortKey::Cc => "CC",
            SortKey::Date => "DATE",
            SortKey::From => "FROM",
            SortKey::Size => "SIZE",
            SortKey::Subject => "SUBJECT",
            SortKey::To => "TO",
            SortKey::DisplayFrom => "DISPLAYFROM",
            SortKey::DisplayTo => "DISPLAYTO",
        }
    }
}

/// A THREAD algorithm (RFC 5256 §3; any other atom is `Other`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    /// `ORDEREDSUBJECT`
    OrderedSubject,
    /// `REFERENCES`
    References,
    /// Any other algorithm atom (e.g. `REFS`).
    Other(Atom),
}

impl ThreadAlgorithm {
    /// The algorithm's atom.
    pub fn as_str(&self) -> &str {
        match self {
            ThreadAlgorithm::OrderedSubject => "ORDEREDSUBJECT",
            ThreadAlgorithm::References => "REFERENCES",
            ThreadAlgorithm::Other(a) => a.as_str(),
        }
    }
}

/// The rights argument of SETACL / ACL STORE (RFC 4314 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RightsChange {
    /// No prefix: replace.
    Replace(Rights),
    /// `+`: add.
    Add(Rights),
    /// `-`: remove.
    Remove(Rights),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_inline_and_on_the_heap_behave_alike() {
        use std::collections::HashSet;
        let short = "a".repeat(TAG_INLINE);
        let long = "a".repeat(TAG_INLINE + 1);
        let t_short = Tag::new(short.clone()).unwrap();
        let t_long = Tag::new(long.clone()).unwrap();
        assert!(matches!(t_short.0, TagRepr::Inline { .. }));
        assert!(matches!(t_long.0, TagRepr::Heap(_)));
        assert_eq!(t_short.as_str(), short);
        assert_eq!(t_long.as_str(), long);
        assert_eq!(Tag::from_tag_bytes(long.as_bytes()), t_long);
        assert_eq!(Tag::from_tag_bytes(b"A001"), Tag::new("A001").unwrap());
        assert!(t_short < t_long);
        assert!(Tag::new("a2").unwrap() > Tag::new("a10").unwrap());
        assert_eq!(format!("{t_short}"), short);
        assert_eq!(format!("{:?}", Tag::new("x1").unwrap()), "Tag(\"x1\")");
        let set: HashSet<Tag> = [t_short.clone(), t_long.clone(), t_short.clone()].into();
        assert_eq!(set.len(), 2);
        assert!(Tag::new("").is_none());
        assert!(Tag::new("a+b").is_none());
        assert!(Tag::new("a b").is_none());
    }

    #[test]
    fn tags_read_from_any_place_in_a_message() {
        let text = b"A0123456789bcdefghij";
        for len in 1..=TAG_INLINE + 2 {
            for after in [0, 1, 3, 8, 20] {
                let mut message = text[..len].to_vec();
                message.extend(std::iter::repeat_n(b' ', after));
                let tag = Tag::from_tag_at(&message, 0, len);
                assert_eq!(tag.as_bytes(), &text[..len]);
                assert_eq!(
                    tag,
                    Tag::new(std::str::from_utf8(&text[..len]).unwrap()).unwrap()
                );
                assert_eq!(matches!(tag.0, TagRepr::Inline { .. }), len <= TAG_INLINE);
                let mut shifted = b"* ".to_vec();
                shifted.extend_from_slice(&message);
                assert_eq!(Tag::from_tag_at(&shifted, 2, len), tag);
            }
        }
    }
}
