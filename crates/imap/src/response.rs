//! The response AST: status responses with their codes, data responses,
//! continuation requests. Values own their data.

use std::num::NonZeroU32;

use postroom_types::{AclEntry, QuotaUsage, Rights, Thread};

use crate::command::{Atom, Section, StatusItem, Tag};
use crate::types::{
    BodyStructure, Envelope, Flag, FlagFetch, FlagPerm, InternalDate, MailboxName, SequenceSet,
};

/// One server response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// A tagged or untagged status response (OK, NO, BAD, PREAUTH, BYE).
    Status(StatusResponse),
    /// An untagged data response.
    Data(Data),
    /// A continuation request (`+ ...`).
    Continuation(Continuation),
}

/// `response-cond-state` / `response-cond-auth` / `response-cond-bye` /
/// `response-tagged` (RFC 3501 §7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusResponse {
    /// The tag; `None` for untagged (`*`).
    pub tag: Option<Tag>,
    /// OK, NO, BAD, PREAUTH or BYE.
    pub kind: StatusKind,
    /// The response code in brackets.
    pub code: Option<Code>,
    /// Human-readable text (sent as 7-bit text; CR, LF and 8-bit characters
    /// are replaced when encoding).
    pub text: String,
}

impl StatusResponse {
    /// A tagged response.
    pub fn tagged(tag: Tag, kind: StatusKind, code: Option<Code>, text: impl Into<String>) -> Self {
        StatusResponse {
            tag: Some(tag),
            kind,
            code,
            text: text.into(),
        }
    }

    /// An untagged response.
    pub fn untagged(kind: StatusKind, code: Option<Code>, text: impl Into<String>) -> Self {
        StatusResponse {
            tag: None,
            kind,
            code,
            text: text.into(),
        }
    }
}

/// The condition of a status response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusKind {
    /// `OK`
    Ok,
    /// `NO`
    No,
    /// `BAD`
    Bad,
    /// `PREAUTH` (greeting only)
    PreAuth,
    /// `BYE`
    Bye,
}

impl StatusKind {
    /// The atom.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Ok => "OK",
            StatusKind::No => "NO",
            StatusKind::Bad => "BAD",
            StatusKind::PreAuth => "PREAUTH",
            StatusKind::Bye => "BYE",
        }
    }
}

/// A continuation request (RFC 3501 §7.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Continuation {
    /// A response code, if any.
    pub code: Option<Code>,
    /// The text (for AUTHENTICATE: base64 challenge data).
    pub text: String,
}

/// A response code (RFC 3501 §7.1, RFC 4315, RFC 5530, RFC 9208, Courier).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Code {
    /// `ALERT`
    Alert,
    /// `BADCHARSET [(charsets)]`
    BadCharset(Vec<String>),
    /// `CAPABILITY ...`
    Capability(Vec<Atom>),
    /// `PARSE`
    Parse,
    /// `PERMANENTFLAGS (...)`
    PermanentFlags(Vec<FlagPerm>),
    /// `READ-ONLY`
    ReadOnly,
    /// `READ-WRITE`
    ReadWrite,
    /// `TRYCREATE`
    TryCreate,
    /// `UIDNEXT n`
    UidNext(NonZeroU32),
    /// `UIDVALIDITY n`
    UidValidity(NonZeroU32),
    /// `UNSEEN n`
    Unseen(NonZeroU32),
    /// `APPENDUID validity uids` (RFC 4315 §3)
    AppendUid {
        /// UIDVALIDITY of the target.
        uid_validity: NonZeroU32,
        /// The new UIDs (no `*`).
        uids: SequenceSet,
    },
    /// `COPYUID validity source destination` (RFC 4315 §3)
    CopyUid {
        /// UIDVALIDITY of the target.
        uid_validity: NonZeroU32,
        /// Source UIDs.
        source: SequenceSet,
        /// Destination UIDs, position by position.
        destination: SequenceSet,
    },
    /// `UIDNOTSTICKY` (RFC 4315 §3)
    UidNotSticky,
    /// `OVERQUOTA` (RFC 9208 §4.3)
    OverQuota,
    /// `TOOBIG` (RFC 4469, RFC 7889)
    TooBig,
    /// `UNAVAILABLE` (RFC 5530)
    Unavailable,
    /// `AUTHENTICATIONFAILED` (RFC 5530)
    AuthenticationFailed,
    /// `AUTHORIZATIONFAILED` (RFC 5530)
    AuthorizationFailed,
    /// `EXPIRED` (RFC 5530)
    Expired,
    /// `PRIVACYREQUIRED` (RFC 5530)
    PrivacyRequired,
    /// `CONTACTADMIN` (RFC 5530)
    ContactAdmin,
    /// `NOPERM` (RFC 5530)
    NoPerm,
    /// `INUSE` (RFC 5530)
    InUse,
    /// `EXPUNGEISSUED` (RFC 5530)
    ExpungeIssued,
    /// `CORRUPTION` (RFC 5530)
    Corruption,
    /// `SERVERBUG` (RFC 5530)
    ServerBug,
    /// `CLIENTBUG` (RFC 5530)
    ClientBug,
    /// `CANNOT` (RFC 5530)
    CannotDo,
    /// `LIMIT` (RFC 5530)
    Limit,
    /// `ALREADYEXISTS` (RFC 5530)
    AlreadyExists,
    /// `NONEXISTENT` (RFC 5530)
    NonExistent,
    /// `MYRIGHTS "rights"` (Courier, at SELECT)
    MyRights(Rights),
    /// Any other `atom [SP text]`.
    Other {
        /// The code name.
        name: Atom,
        /// Its argument text (no `]`).
        text: Option<String>,
    },
}

/// The codes without arguments, with their atoms.
pub(crate) const SIMPLE_CODES: [(&str, Code); 24] = [
    ("ALERT", Code::Alert),
    ("PARSE", Code::Parse),
    ("READ-ONLY", Code::ReadOnly),
    ("READ-WRITE", Code::ReadWrite),
    ("TRYCREATE", Code::TryCreate),
    ("UIDNOTSTICKY", Code::UidNotSticky),
    ("OVERQUOTA", Code::OverQuota),
    ("TOOBIG", Code::TooBig),
    ("UNAVAILABLE", Code::Unavailable),
    ("AUTHENTICATIONFAILED", Code::AuthenticationFailed),
    ("AUTHORIZATIONFAILED", Code::AuthorizationFailed),
    ("EXPIRED", Code::Expired),
    ("PRIVACYREQUIRED", Code::PrivacyRequired),
    ("CONTACTADMIN", Code::ContactAdmin),
    ("NOPERM", Code::NoPerm),
    ("INUSE", Code::InUse),
    ("EXPUNGEISSUED", Code::ExpungeIssued),
    ("CORRUPTION", Code::Corruption),
    ("SERVERBUG", Code::ServerBug),
    ("CLIENTBUG", Code::ClientBug),
    ("CANNOT", Code::CannotDo),
    ("LIMIT", Code::Limit),
    ("ALREADYEXISTS", Code::AlreadyExists),
    ("NONEXISTENT", Code::NonExistent),
];

/// An untagged data response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Data {
    /// `* CAPABILITY ...` (RFC 3501 §7.2.1).
    Capability(Vec<Atom>),
    /// `* LIST` (§7.2.2), with Courier's extended data.
    List(ListData),
    /// `* LSUB` (§7.2.3).
    Lsub(ListData),
    /// `* STATUS mailbox (item value ...)` (§7.2.4).
    Status {
        /// The mailbox.
        mailbox: MailboxName,
        /// Items and their values.
        items: Vec<(StatusItem, u64)>,
    },
    /// `* SEARCH n...` (§7.2.5).
    Search(Vec<NonZeroU32>),
    /// `* FLAGS (...)` (§7.2.6).
    Flags(Vec<Flag>),
    /// `* n EXISTS` (§7.3.1).
    Exists(u32),
    /// `* n RECENT` (§7.3.2).
    Recent(u32),
    /// `* n EXPUNGE` (§7.4.1).
    Expunge(NonZeroU32),
    /// `* n FETCH (...)` (§7.4.2).
    Fetch {
        /// The message sequence number.
        seq: NonZeroU32,
        /// The items.
        items: Vec<FetchItem>,
    },
    /// `* NAMESPACE personal other shared` (RFC 2342); empty = NIL.
    Namespace {
        /// Personal namespaces.
        personal: Vec<NamespaceDescription>,
        /// Other users' namespaces.
        other: Vec<NamespaceDescription>,
        /// Shared namespaces.
        shared: Vec<NamespaceDescription>,
    },
    /// `* SORT n...` (RFC 5256 §4).
    Sort(Vec<NonZeroU32>),
    /// `* THREAD ...` (RFC 5256 §4).
    Thread(Thread),
    /// `* QUOTA root (resource usage limit ...)` (RFC 2087 §5.1); `None`
    /// for Courier's form without a list.
    Quota {
        /// The quota root.
        root: String,
        /// The resources.
        resources: Option<Vec<QuotaUsage>>,
    },
    /// `* QUOTAROOT mailbox root...` (RFC 2087 §5.2).
    QuotaRoot {
        /// The mailbox.
        mailbox: MailboxName,
        /// Its quota roots.
        roots: Vec<String>,
    },
    /// `* ACL mailbox (identifier rights)...` (RFC 4314 §3.6).
    Acl {
        /// The mailbox.
        mailbox: MailboxName,
        /// The entries.
        entries: Vec<AclEntry>,
    },
    /// `* LISTRIGHTS mailbox identifier required optional...` (RFC 4314 §3.7).
    ListRights {
        /// The mailbox.
        mailbox: MailboxName,
        /// The identifier, as the client sent it.
        identifier: String,
        /// Rights always granted.
        required: Rights,
        /// Groups of rights granted together.
        optional: Vec<Rights>,
    },
    /// `* MYRIGHTS mailbox rights` (RFC 4314 §3.8).
    MyRights {
        /// The mailbox.
        mailbox: MailboxName,
        /// The rights.
        rights: Rights,
    },
    /// `* ENABLED ...` (RFC 5161).
    Enabled(Vec<Atom>),
    /// `* ID (...)` / `* ID NIL` (RFC 2971).
    Id(Option<crate::command::IdParams>),
    /// Courier ACL2: `* ACLFAILED mailbox text`.
    AclFailed {
        /// The mailbox.
        mailbox: MailboxName,
        /// Why.
        text: String,
    },
    /// Courier ACL2: `* RIGHTS-INFO mailbox identifier required optional...`.
    RightsInfo {
        /// The mailbox.
        mailbox: MailboxName,
        /// The identifier.
        identifier: String,
        /// Rights always granted.
        required: Rights,
        /// Groups of rights granted together.
        optional: Vec<Rights>,
    },
}

/// A LIST or LSUB entry (RFC 3501 §7.2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListData {
    /// Attributes without their backslash (`Noselect`, `HasChildren`).
    pub attributes: Vec<Atom>,
    /// The hierarchy delimiter, `None` for NIL.
    pub delimiter: Option<char>,
    /// The mailbox.
    pub mailbox: MailboxName,
    /// Courier ACL2 extended data.
    pub extended: Vec<ListExtended>,
}

/// One item of Courier's extended LIST data (`acl-quota.md` B.3).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListExtended {
    /// `("ACL" ((identifier rights)...))`
    Acl(Vec<AclEntry>),
    /// `("MYRIGHTS" rights)`
    MyRights(Rights),
}

/// One namespace (RFC 2342 §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceDescription {
    /// The prefix.
    pub prefix: String,
    /// The delimiter, `None` for NIL.
    pub delimiter: Option<char>,
    /// Extensions: name and values.
    pub extensions: Vec<(String, Vec<String>)>,
}

/// A `msg-att` item of a FETCH response (RFC 3501 §7.4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchItem {
    /// `FLAGS (...)`
    Flags(Vec<FlagFetch>),
    /// `ENVELOPE (...)`; shared, so a server can send the envelope it
    /// keeps cached without copying it.
    Envelope(std::sync::Arc<Envelope>),
    /// `INTERNALDATE "..."`
    InternalDate(InternalDate),
    /// `RFC822 nstring`
    Rfc822(Option<Vec<u8>>),
    /// `RFC822.HEADER nstring`
    Rfc822Header(Option<Vec<u8>>),
    /// `RFC822.TEXT nstring`
    Rfc822Text(Option<Vec<u8>>),
    /// `RFC822.SIZE n`
    Rfc822Size(u32),
    /// `BODY (...)` (no extension data)
    Body(Box<BodyStructure>),
    /// `BODYSTRUCTURE (...)`
    BodyStructure(Box<BodyStructure>),
    /// `BODY[section]<origin> nstring`
    BodySection {
        /// The section.
        section: Section,
        /// The origin of a partial fetch.
        origin: Option<u32>,
        /// The data.
        data: Option<Vec<u8>>,
    },
    /// `UID n`
    Uid(NonZeroU32),
}
