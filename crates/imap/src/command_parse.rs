//! The command parser (server side): one framed message in, one
//! [`TaggedCommand`] out. Nested search keys are parsed with an explicit
//! stack and a depth limit.

use base64::Engine;
use postroom_types::{Limits, QuotaLimit, Resource, Rights, Secret};

use crate::command::{
    Atom, Command, FetchAttribute, FetchItems, RightsChange, Section, SectionText, SortCriterion,
    SortKey, StatusItem, StoreMode, Tag, TaggedCommand, ThreadAlgorithm,
};
use crate::error::{DecodeError, ParseError};
use crate::framer::{Frame, Framer, Side};
use crate::lexer::{Cursor, PResult};
use crate::types::{SearchKey, SequenceSet};

/// Options of the command parser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandParseOptions {
    /// Deepest nesting of search-key lists and NOT/OR accepted.
    pub max_depth: usize,
    /// Whether `{n+}` literals are accepted (LITERAL+, RFC 7888).
    pub non_sync_literals: bool,
}

impl Default for CommandParseOptions {
    fn default() -> Self {
        CommandParseOptions {
            max_depth: Limits::imap_server().max_depth,
            non_sync_literals: true,
        }
    }
}

/// Parses one complete command message (as the framer delivers it,
/// literals inline, ending in CRLF).
pub fn parse_command(
    message: &[u8],
    options: &CommandParseOptions,
) -> Result<TaggedCommand, ParseError> {
    let mut c = Cursor::new(message);
    c.non_sync_literals = options.non_sync_literals;
    let tag = c.tag()?;
    c.tag = Some((0, tag.len()));
    c.sp()?;
    command_body(&mut c, options.max_depth, tag.len())
}

/// Frames and parses the first command in `input` (stateless): returns the
/// command and the bytes it used, or [`DecodeError::Incomplete`] when the
/// input ends before the command does. Limits are those of an
/// authenticated server.
pub fn decode_command(
    input: &[u8],
    limits: &Limits,
    options: &CommandParseOptions,
) -> Result<(TaggedCommand, usize), DecodeError> {
    let mut f = Framer::new(Side::Server, limits.clone());
    f.set_authenticated(true);
    let len = frame_first(&mut f, input)?;
    Ok((parse_command(f.message(), options)?, len))
}

/// Pushes `input` into the fresh framer `f` and polls it until it frames
/// the first message, which [`Framer::message`] then holds: its length, or
/// why there is none. Shared by [`decode_command`] and
/// [`crate::decode_response`].
#[inline]
pub(crate) fn frame_first(f: &mut Framer, input: &[u8]) -> Result<usize, DecodeError> {
    f.push(input);
    loop {
        match f.poll() {
            None => return Err(DecodeError::Incomplete),
            Some(Frame::NeedContinuation { .. }) => continue,
            Some(Frame::Refused { error, .. }) => return Err(DecodeError::Frame(error)),
            Some(Frame::Message { len }) => return Ok(len),
        }
    }
}

/// Command names packed for [`Cursor::word_key`].
mod names {
    use crate::lexer::keyword;

    pub(super) const ACL: u128 = keyword("ACL");
    pub(super) const APPEND: u128 = keyword("APPEND");
    pub(super) const AUTHENTICATE: u128 = keyword("AUTHENTICATE");
    pub(super) const CAPABILITY: u128 = keyword("CAPABILITY");
    pub(super) const CHECK: u128 = keyword("CHECK");
    pub(super) const CLOSE: u128 = keyword("CLOSE");
    pub(super) const COPY: u128 = keyword("COPY");
    pub(super) const CREATE: u128 = keyword("CREATE");
    pub(super) const DELETE: u128 = keyword("DELETE");
    pub(super) const DELETEACL: u128 = keyword("DELETEACL");
    pub(super) const ENABLE: u128 = keyword("ENABLE");
    pub(super) const EXAMINE: u128 = keyword("EXAMINE");
    pub(super) const EXPUNGE: u128 = keyword("EXPUNGE");
    pub(super) const FETCH: u128 = keyword("FETCH");
    pub(super) const GETACL: u128 = keyword("GETACL");
    pub(super) const GETQUOTA: u128 = keyword("GETQUOTA");
    pub(super) const GETQUOTAROOT: u128 = keyword("GETQUOTAROOT");
    pub(super) const ID: u128 = keyword("ID");
    pub(super) const IDLE: u128 = keyword("IDLE");
    pub(super) const LIST: u128 = keyword("LIST");
    pub(super) const LISTRIGHTS: u128 = keyword("LISTRIGHTS");
    pub(super) const LOGIN: u128 = keyword("LOGIN");
    pub(super) const LOGOUT: u128 = keyword("LOGOUT");
    pub(super) const LSUB: u128 = keyword("LSUB");
    pub(super) const MOVE: u128 = keyword("MOVE");
    pub(super) const MYRIGHTS: u128 = keyword("MYRIGHTS");
    pub(super) const NAMESPACE: u128 = keyword("NAMESPACE");
    pub(super) const NOOP: u128 = keyword("NOOP");
    pub(super) const RENAME: u128 = keyword("RENAME");
    pub(super) const SEARCH: u128 = keyword("SEARCH");
    pub(super) const SELECT: u128 = keyword("SELECT");
    pub(super) const SETACL: u128 = keyword("SETACL");
    pub(super) const SETQUOTA: u128 = keyword("SETQUOTA");
    pub(super) const SORT: u128 = keyword("SORT");
    pub(super) const STARTTLS: u128 = keyword("STARTTLS");
    pub(super) const STATUS: u128 = keyword("STATUS");
    pub(super) const STORE: u128 = keyword("STORE");
    pub(super) const SUBSCRIBE: u128 = keyword("SUBSCRIBE");
    pub(super) const THREAD: u128 = keyword("THREAD");
    pub(super) const UID: u128 = keyword("UID");
    pub(super) const UNSELECT: u128 = keyword("UNSELECT");
    pub(super) const UNSUBSCRIBE: u128 = keyword("UNSUBSCRIBE");
}

/// The command after `tag SP`, up to and including the final CRLF. The
/// command and its [`Tag`] (the first `tag_len` bytes of the message,
/// matched by the lexer) are put together here, in the caller's result,
/// rather than returned and moved again.
fn command_body(c: &mut Cursor<'_>, max_depth: usize, tag_len: usize) -> PResult<TaggedCommand> {
    let name_at = c.pos;
    let name = c.word_key("command name")?;
    let command = match name {
        names::CAPABILITY => Command::Capability,
        names::NOOP => Command::Noop,
        names::LOGOUT => Command::Logout,
        names::STARTTLS => Command::StartTls,
        names::CHECK => Command::Check,
        names::CLOSE => Command::Close,
        names::UNSELECT => Command::Unselect,
        names::EXPUNGE => Command::Expunge,
        names::NAMESPACE => Command::Namespace,
        names::IDLE => Command::Idle,
        names::AUTHENTICATE => {
            c.sp()?;
            let mech = c.atom()?;
            let mechanism = Atom::new(mech.to_ascii_uppercase())
                .ok_or_else(|| c.err_at(name_at, "mechanism"))?;
            let initial_response = if c.eat(b' ') {
                // RFC 4959 §7: base64 / "=" (empty).
                let start = c.pos;
                if c.eat(b'=') && c.at_crlf() {
                    Some(Secret::new(Vec::new()))
                } else {
                    c.pos = start;
                    let b = base64_token(c)?;
                    Some(Secret::new(b))
                }
            } else {
                None
            };
            Command::Authenticate {
                mechanism,
                initial_response,
            }
        }
        names::LOGIN => {
            c.sp()?;
            let username = c.astring_utf8()?;
            c.sp()?;
            let password = Secret::new(c.astring_utf8()?);
            Command::Login { username, password }
        }
        names::SELECT => Command::Select {
            mailbox: sp_mailbox(c)?,
        },
        names::EXAMINE => Command::Examine {
            mailbox: sp_mailbox(c)?,
        },
        names::CREATE => Command::Create {
            mailbox: sp_mailbox(c)?,
        },
        names::DELETE => Command::Delete {
            mailbox: sp_mailbox(c)?,
        },
        names::RENAME => {
            let from = sp_mailbox(c)?;
            let to = sp_mailbox(c)?;
            Command::Rename { from, to }
        }
        names::SUBSCRIBE => Command::Subscribe {
            mailbox: sp_mailbox(c)?,
        },
        names::UNSUBSCRIBE => Command::Unsubscribe {
            mailbox: sp_mailbox(c)?,
        },
        names::LIST => {
            c.sp()?;
            let selection = if c.peek() == Some(b'(') {
                let s = c.paren_list(true, |c| {
                    let a = c.atom()?;
                    Atom::new(a.to_ascii_uppercase()).ok_or_else(|| c.err("atom"))
                })?;
                c.sp()?;
                s
            } else {
                Vec::new()
            };
            let reference = reference(c)?;
            c.sp()?;
            let pattern = c.list_mailbox()?;
            Command::List {
                selection,
                reference,
                pattern,
            }
        }
        names::LSUB => {
            c.sp()?;
            let reference = reference(c)?;
            c.sp()?;
            let pattern = c.list_mailbox()?;
            Command::Lsub { reference, pattern }
        }
        names::STATUS => {
            let mailbox = sp_mailbox(c)?;
            c.sp()?;
            let items = c.paren_list(false, |c| {
                let at = c.pos;
                let w = c.word("status item")?;
                StatusItem::from_name(w).ok_or_else(|| c.err_at(at, "status item"))
            })?;
            Command::Status { mailbox, items }
        }
        names::APPEND => {
            let mailbox = sp_mailbox(c)?;
            c.sp()?;
            let flags = if c.peek() == Some(b'(') {
                let f = c.paren_list(true, Cursor::flag)?;
                c.sp()?;
                f
            } else {
                Vec::new()
            };
            let date = if c.peek() == Some(b'"') {
                let d = c.date_time()?;
                c.sp()?;
                Some(d)
            } else {
                None
            };
            let message = c.literal()?.to_vec();
            Command::Append {
                mailbox,
                flags,
                date,
                message,
            }
        }
        names::SEARCH => {
            let (charset, criteria) = search_args(c, max_depth)?;
            Command::Search {
                uid: false,
                charset,
                criteria,
            }
        }
        names::FETCH => fetch_args(c, false)?,
        names::STORE => store_args(c, false)?,
        names::COPY => {
            let (set, mailbox) = set_mailbox(c)?;
            Command::Copy {
                uid: false,
                set,
                mailbox,
            }
        }
        names::MOVE => {
            let (set, mailbox) = set_mailbox(c)?;
            Command::Move {
                uid: false,
                set,
                mailbox,
            }
        }
        names::SORT => sort_args(c, false, max_depth)?,
        names::THREAD => thread_args(c, false, max_depth)?,
        names::UID => {
            c.sp()?;
            let at = c.pos;
            let sub = c.word_key("UID subcommand")?;
            match sub {
                names::FETCH => fetch_args(c, true)?,
                names::STORE => store_args(c, true)?,
                names::COPY => {
                    let (set, mailbox) = set_mailbox(c)?;
                    Command::Copy {
                        uid: true,
                        set,
                        mailbox,
                    }
                }
                names::MOVE => {
                    let (set, mailbox) = set_mailbox(c)?;
                    Command::Move {
                        uid: true,
                        set,
                        mailbox,
                    }
                }
                names::SEARCH => {
                    let (charset, criteria) = search_args(c, max_depth)?;
                    Command::Search {
                        uid: true,
                        charset,
                        criteria,
                    }
                }
                names::EXPUNGE => {
                    c.sp()?;
                    Command::UidExpunge {
                        uids: c.sequence_set()?,
                    }
                }
                names::SORT => sort_args(c, true, max_depth)?,
                names::THREAD => thread_args(c, true, max_depth)?,
                _ => {
                    return Err(c.err_at(
                        at,
                        "FETCH, STORE, COPY, MOVE, SEARCH, EXPUNGE, SORT or THREAD",
                    ));
                }
            }
        }
        names::GETQUOTA => {
            c.sp()?;
            Command::GetQuota {
                root: c.astring_utf8()?,
            }
        }
        names::GETQUOTAROOT => Command::GetQuotaRoot {
            mailbox: sp_mailbox(c)?,
        },
        names::SETQUOTA => {
            c.sp()?;
            let root = c.astring_utf8()?;
            c.sp()?;
            // RFC 2087 §4.1: the list may be empty.
            let limits = c.paren_list(true, |c| {
                let resource = Resource::from_atom(c.atom()?);
                c.sp()?;
                let limit = c.number64()?;
                Ok(QuotaLimit { resource, limit })
            })?;
            Command::SetQuota { root, limits }
        }
        names::SETACL => {
            let mailbox = sp_mailbox(c)?;
            c.sp()?;
            let identifier = c.astring_utf8()?;
            c.sp()?;
            let rights = rights_change(c)?;
            Command::SetAcl {
                mailbox,
                identifier,
                rights,
            }
        }
        names::DELETEACL => {
            let mailbox = sp_mailbox(c)?;
            c.sp()?;
            Command::DeleteAcl {
                mailbox,
                identifier: c.astring_utf8()?,
            }
        }
        names::GETACL => Command::GetAcl {
            mailbox: sp_mailbox(c)?,
        },
        names::LISTRIGHTS => {
            let mailbox = sp_mailbox(c)?;
            c.sp()?;
            Command::ListRights {
                mailbox,
                identifier: c.astring_utf8()?,
            }
        }
        names::MYRIGHTS => Command::MyRights {
            mailbox: sp_mailbox(c)?,
        },
        names::ACL => {
            c.sp()?;
            let at = c.pos;
            let sub = c.word_upper("STORE, DELETE or SET")?;
            c.sp()?;
            let mailboxes = if c.peek() == Some(b'(') {
                c.paren_list(false, Cursor::mailbox)?
            } else {
                vec![c.mailbox()?]
            };
            match sub.as_bytes() {
                b"STORE" => {
                    c.sp()?;
                    let identifier = c.astring_utf8()?;
                    c.sp()?;
                    let rights = rights_change(c)?;
                    Command::AclStore {
                        mailboxes,
                        identifier,
                        rights,
                    }
                }
                b"DELETE" => {
                    c.sp()?;
                    Command::AclDelete {
                        mailboxes,
                        identifier: c.astring_utf8()?,
                    }
                }
                b"SET" => {
                    let mut entries = Vec::new();
                    while c.eat(b' ') {
                        let identifier = c.astring_utf8()?;
                        c.sp()?;
                        let rights = rights(c)?;
                        entries.push((identifier, rights));
                    }
                    Command::AclSet { mailboxes, entries }
                }
                _ => return Err(c.err_at(at, "STORE, DELETE or SET")),
            }
        }
        names::ENABLE => {
            let mut capabilities = Vec::new();
            while c.eat(b' ') {
                let a = c.atom()?;
                capabilities.push(Atom::new(a).ok_or_else(|| c.err("atom"))?);
            }
            if capabilities.is_empty() {
                return Err(c.err("SP and capability"));
            }
            Command::Enable { capabilities }
        }
        names::ID => {
            c.sp()?;
            Command::Id {
                parameters: id_params(c)?,
            }
        }
        _ => return Err(c.err_at(name_at, "command name")),
    };
    c.crlf_end()?;
    Ok(TaggedCommand {
        tag: Tag::from_tag_at(c.input, 0, tag_len),
        command,
    })
}

#[inline(always)]
fn sp_mailbox(c: &mut Cursor<'_>) -> PResult<crate::types::MailboxName> {
    c.sp()?;
    c.mailbox()
}

/// The LIST/LSUB reference: a `mailbox`, kept as decoded text.
fn reference(c: &mut Cursor<'_>) -> PResult<String> {
    let start = c.pos;
    let raw = c.astring_utf8()?;
    crate::types::decode_modified_utf7(&raw)
        .map_err(|_| c.err_at(start, "reference in modified UTF-7"))
}

fn set_mailbox(c: &mut Cursor<'_>) -> PResult<(SequenceSet, crate::types::MailboxName)> {
    c.sp()?;
    let set = c.sequence_set()?;
    let mailbox = sp_mailbox(c)?;
    Ok((set, mailbox))
}

fn base64_token(c: &mut Cursor<'_>) -> PResult<Vec<u8>> {
    let start = c.pos;
    while c
        .peek()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
    {
        c.pos += 1;
    }
    base64::engine::general_purpose::STANDARD
        .decode(&c.input[start..c.pos])
        .map_err(|_| c.err_at(start, "base64"))
}

/// Rights: an astring of letters and digits (RFC 4314 §3).
fn rights(c: &mut Cursor<'_>) -> PResult<Rights> {
    let start = c.pos;
    let s = c.astring_utf8()?;
    s.parse::<Rights>()
        .map_err(|_| c.err_at(start, "rights (letters and digits)"))
}

/// `mod-rights` (RFC 4314 §3.1): `+`, `-` or no prefix.
fn rights_change(c: &mut Cursor<'_>) -> PResult<RightsChange> {
    let start = c.pos;
    let s = c.astring_utf8()?;
    let (kind, letters) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (2, &s[1..]),
        _ => (0, &s[..]),
    };
    let rights = letters
        .parse::<Rights>()
        .map_err(|_| c.err_at(start, "rights (letters and digits)"))?;
    Ok(match kind {
        1 => RightsChange::Add(rights),
        2 => RightsChange::Remove(rights),
        _ => RightsChange::Replace(rights),
    })
}

/// RFC 2971: `"(" string SP nstring *(SP string SP nstring) ")" / nil`.
pub(crate) fn id_params(c: &mut Cursor<'_>) -> PResult<Option<crate::command::IdParams>> {
    if c.keyword("NIL") {
        return Ok(None);
    }
    c.paren_list(false, |c| {
        let k = c.string_utf8()?;
        c.sp()?;
        let v = c.nstring_utf8()?;
        Ok((k, v))
    })
    .map(Some)
}

fn fetch_args(c: &mut Cursor<'_>, uid: bool) -> PResult<Command> {
    c.sp()?;
    let set = c.sequence_set()?;
    c.sp()?;
    let items = if c.peek() == Some(b'(') {
        FetchItems::List(c.paren_list(false, fetch_attribute)?)
    } else if c.keyword("ALL") {
        FetchItems::All
    } else if c.keyword("FAST") {
        FetchItems::Fast
    } else if c.keyword("FULL") {
        FetchItems::Full
    } else {
        FetchItems::List(vec![fetch_attribute(c)?])
    };
    Ok(Command::Fetch { uid, set, items })
}

/// `fetch-att` (RFC 3501 §9).
fn fetch_attribute(c: &mut Cursor<'_>) -> PResult<FetchAttribute> {
    let at = c.pos;
    let w = c.word_upper("fetch item")?;
    Ok(match w.as_bytes() {
        b"ENVELOPE" => FetchAttribute::Envelope,
        b"FLAGS" => FetchAttribute::Flags,
        b"INTERNALDATE" => FetchAttribute::InternalDate,
        b"RFC822" => FetchAttribute::Rfc822,
        b"RFC822.HEADER" => FetchAttribute::Rfc822Header,
        b"RFC822.SIZE" => FetchAttribute::Rfc822Size,
        b"RFC822.TEXT" => FetchAttribute::Rfc822Text,
        b"BODYSTRUCTURE" => FetchAttribute::BodyStructure,
        b"UID" => FetchAttribute::Uid,
        b"BODY" if c.peek() != Some(b'[') => FetchAttribute::Body,
        b"BODY" | b"BODY.PEEK" => {
            let section = section(c)?;
            let partial = if c.eat(b'<') {
                let origin = c.number()?;
                c.expect(b'.', "'.' and length (RFC 3501 §9: <origin.length>)")?;
                let len = c.nz_number()?;
                c.expect(b'>', "'>'")?;
                Some((origin, len))
            } else {
                None
            };
            FetchAttribute::BodySection {
                peek: w.as_bytes() == b"BODY.PEEK",
                section,
                partial,
            }
        }
        _ => return Err(c.err_at(at, "fetch item")),
    })
}

/// `section` (RFC 3501 §9), shared with the response parser.
pub(crate) fn section(c: &mut Cursor<'_>) -> PResult<Section> {
    c.expect(b'[', "'['")?;
    let mut s = Section::default();
    if c.eat(b']') {
        return Ok(s);
    }
    if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        loop {
            s.part.push(c.nz_number()?);
            if c.peek() == Some(b'.') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
                c.pos += 1;
                continue;
            }
            break;
        }
        if c.eat(b']') {
            return Ok(s);
        }
        c.expect(b'.', "'.' or ']'")?;
    }
    let at = c.pos;
    let w = c.word_upper("section text")?;
    let text = match w.as_bytes() {
        b"HEADER" => SectionText::Header,
        b"TEXT" => SectionText::Text,
        b"MIME" if !s.part.is_empty() => SectionText::Mime,
        b"MIME" => return Err(c.err_at(at, "part number before MIME")),
        b"HEADER.FIELDS" | b"HEADER.FIELDS.NOT" => {
            c.sp()?;
            // RFC 3501 §9 header-list: at least one name.
            let names = c.paren_list(false, Cursor::astring_utf8)?;
            if w.as_bytes() == b"HEADER.FIELDS" {
                SectionText::HeaderFields(names)
            } else {
                SectionText::HeaderFieldsNot(names)
            }
        }
        _ => return Err(c.err_at(at, "HEADER, HEADER.FIELDS, TEXT or MIME")),
    };
    s.text = Some(text);
    c.expect(b']', "']'")?;
    Ok(s)
}

fn store_args(c: &mut Cursor<'_>, uid: bool) -> PResult<Command> {
    c.sp()?;
    let set = c.sequence_set()?;
    c.sp()?;
    let mode = if c.eat(b'+') {
        StoreMode::Add
    } else if c.eat(b'-') {
        StoreMode::Remove
    } else {
        StoreMode::Replace
    };
    let at = c.pos;
    let w = c.word_upper("FLAGS or FLAGS.SILENT")?;
    let silent = match w.as_bytes() {
        b"FLAGS" => false,
        b"FLAGS.SILENT" => true,
        _ => return Err(c.err_at(at, "FLAGS or FLAGS.SILENT")),
    };
    c.sp()?;
    let flags = if c.peek() == Some(b'(') {
        c.paren_list(true, Cursor::flag)?
    } else {
        let mut v = vec![c.flag()?];
        while c.eat(b' ') {
            v.push(c.flag()?);
        }
        v
    };
    Ok(Command::Store {
        uid,
        set,
        mode,
        silent,
        flags,
    })
}

fn search_args(c: &mut Cursor<'_>, max_depth: usize) -> PResult<(Option<String>, SearchKey)> {
    c.sp()?;
    let charset = if c.keyword("CHARSET") {
        c.sp()?;
        let cs = c.astring_utf8()?;
        c.sp()?;
        Some(cs)
    } else {
        None
    };
    let criteria = search_criteria(c, max_depth)?;
    Ok((charset, criteria))
}

/// `1*(SP search-key)` after the first SP was read: one key, or an AND of
/// several.
fn search_criteria(c: &mut Cursor<'_>, max_depth: usize) -> PResult<SearchKey> {
    let mut keys = vec![search_key(c, max_depth)?];
    while c.eat(b' ') {
        keys.push(search_key(c, max_depth)?);
    }
    Ok(if keys.len() == 1 {
        keys.pop().unwrap_or(SearchKey::All)
    } else {
        SearchKey::And(keys)
    })
}

enum Pending {
    Not,
    Or,
    OrWith(SearchKey),
    List(Vec<SearchKey>),
}

/// One `search-key` (RFC 3501 §9), nesting handled with an explicit stack.
pub(crate) fn search_key(c: &mut Cursor<'_>, max_depth: usize) -> PResult<SearchKey> {
    let mut stack: Vec<Pending> = Vec::new();
    loop {
        // Parse a primary, or open a frame.
        let at = c.pos;
        let mut key = match c.peek() {
            Some(b'(') => {
                if stack.len() >= max_depth {
                    return Err(c.err("search key nested less deeply"));
                }
                c.pos += 1;
                stack.push(Pending::List(Vec::new()));
                continue;
            }
            Some(b'0'..=b'9' | b'*' | b'$') => SearchKey::SequenceSet(c.sequence_set()?),
            _ => {
                let w = c.word_upper("search key")?;
                match w.as_bytes() {
                    b"NOT" | b"OR" => {
                        if stack.len() >= max_depth {
                            return Err(c.err_at(at, "search key nested less deeply"));
                        }
                        c.sp()?;
                        stack.push(if w.as_bytes() == b"NOT" {
                            Pending::Not
                        } else {
                            Pending::Or
                        });
                        continue;
                    }
                    _ => simple_search_key(c, w.as_bytes(), at)?,
                }
            }
        };
        // Reduce.
        loop {
            match stack.pop() {
                None => return Ok(key),
                Some(Pending::Not) => key = SearchKey::Not(Box::new(key)),
                Some(Pending::Or) => {
                    c.sp()?;
                    stack.push(Pending::OrWith(key));
                    break;
                }
                Some(Pending::OrWith(a)) => key = SearchKey::Or(Box::new(a), Box::new(key)),
                Some(Pending::List(mut v)) => {
                    v.push(key);
                    if c.eat(b')') {
                        key = SearchKey::And(v);
                    } else {
                        c.sp()?;
                        stack.push(Pending::List(v));
                        break;
                    }
                }
            }
        }
    }
}

fn simple_search_key(c: &mut Cursor<'_>, w: &[u8], at: usize) -> PResult<SearchKey> {
    fn s(c: &mut Cursor<'_>) -> PResult<String> {
        c.sp()?;
        c.astring_utf8()
    }
    fn d(c: &mut Cursor<'_>) -> PResult<chrono::NaiveDate> {
        c.sp()?;
        c.date()
    }
    fn kw(c: &mut Cursor<'_>) -> PResult<crate::types::Keyword> {
        c.sp()?;
        let at = c.pos;
        let a = c.atom()?;
        crate::types::Keyword::new(a).map_err(|_| c.err_at(at, "keyword"))
    }
    Ok(match w {
        b"ALL" => SearchKey::All,
        b"ANSWERED" => SearchKey::Answered,
        b"BCC" => SearchKey::Bcc(s(c)?),
        b"BEFORE" => SearchKey::Before(d(c)?),
        b"BODY" => SearchKey::Body(s(c)?),
        b"CC" => SearchKey::Cc(s(c)?),
        b"DELETED" => SearchKey::Deleted,
        b"DRAFT" => SearchKey::Draft,
        b"FLAGGED" => SearchKey::Flagged,
        b"FROM" => SearchKey::From(s(c)?),
        b"HEADER" => {
            let name = s(c)?;
            let value = s(c)?;
            SearchKey::Header(name, value)
        }
        b"KEYWORD" => SearchKey::Keyword(kw(c)?),
        b"LARGER" => {
            c.sp()?;
            SearchKey::Larger(c.number()?)
        }
        b"NEW" => SearchKey::New,
        b"OLD" => SearchKey::Old,
        b"ON" => SearchKey::On(d(c)?),
        b"RECENT" => SearchKey::Recent,
        b"SEEN" => SearchKey::Seen,
        b"SENTBEFORE" => SearchKey::SentBefore(d(c)?),
        b"SENTON" => SearchKey::SentOn(d(c)?),
        b"SENTSINCE" => SearchKey::SentSince(d(c)?),
        b"SINCE" => SearchKey::Since(d(c)?),
        b"SMALLER" => {
            c.sp()?;
            SearchKey::Smaller(c.number()?)
        }
        b"SUBJECT" => SearchKey::Subject(s(c)?),
        b"TEXT" => SearchKey::Text(s(c)?),
        b"TO" => SearchKey::To(s(c)?),
        b"UID" => {
            c.sp()?;
            SearchKey::Uid(c.sequence_set()?)
        }
        b"UNANSWERED" => SearchKey::Unanswered,
        b"UNDELETED" => SearchKey::Undeleted,
        b"UNDRAFT" => SearchKey::Undraft,
        b"UNFLAGGED" => SearchKey::Unflagged,
        b"UNKEYWORD" => SearchKey::Unkeyword(kw(c)?),
        b"UNSEEN" => SearchKey::Unseen,
        _ => return Err(c.err_at(at, "search key")),
    })
}

/// RFC 5256 `search-criteria = charset 1*(SP search-key)`, charset = atom /
/// quoted.
fn charset_and_criteria(c: &mut Cursor<'_>, max_depth: usize) -> PResult<(String, SearchKey)> {
    c.sp()?;
    let charset = if c.peek() == Some(b'"') {
        c.quoted_utf8()?
    } else {
        c.atom()?.to_owned()
    };
    c.sp()?;
    let search = search_criteria(c, max_depth)?;
    Ok((charset, search))
}

fn sort_args(c: &mut Cursor<'_>, uid: bool, max_depth: usize) -> PResult<Command> {
    c.sp()?;
    let criteria = c.paren_list(false, |c| {
        let reverse = c.keyword("REVERSE");
        if reverse {
            c.sp()?;
        }
        let at = c.pos;
        let w = c.word("sort key")?;
        let key = SortKey::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(w))
            .ok_or_else(|| c.err_at(at, "sort key"))?;
        Ok(SortCriterion { reverse, key })
    })?;
    let (charset, search) = charset_and_criteria(c, max_depth)?;
    Ok(Command::Sort {
        uid,
        criteria,
        charset,
        search,
    })
}

fn thread_args(c: &mut Cursor<'_>, uid: bool, max_depth: usize) -> PResult<Command> {
    c.sp()?;
    let a = c.atom()?;
    let algorithm = if a.eq_ignore_ascii_case("ORDEREDSUBJECT") {
        ThreadAlgorithm::OrderedSubject
    } else if a.eq_ignore_ascii_case("REFERENCES") {
        ThreadAlgorithm::References
    } else {
        ThreadAlgorithm::Other(Atom::new(a.to_ascii_uppercase()).ok_or_else(|| c.err("atom"))?)
    };
    let (charset, search) = charset_and_criteria(c, max_depth)?;
    Ok(Command::Thread {
        uid,
        algorithm,
        charset,
        search,
    })
}
