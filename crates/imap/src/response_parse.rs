//! The response parser (client side). Nested BODYSTRUCTURE, body extension
//! and THREAD data are parsed with explicit stacks and a depth limit.

use std::num::NonZeroU32;

use postroom_types::{AclEntry, Limits, QuotaUsage, Resource, Rights, Thread, ThreadToken};

use crate::command::{Atom, StatusItem, Tag};
use crate::command_parse::{frame_first, id_params, section};
use crate::error::{DecodeError, ParseError};
use crate::framer::{Framer, Side};
use crate::lexer::{Cursor, PResult};
use crate::response::{
    Code, Continuation, Data, FetchItem, ListData, ListExtended, NamespaceDescription, Response,
    StatusKind, StatusResponse,
};
use crate::types::{
    Address, BodyExtension, BodyFields, BodyStructure, Disposition, Envelope, ExtensionTail,
    LanguageTail, LocationTail, MultipartExtension, SinglePart, SinglePartExtension,
    SinglePartKind,
};

/// Options of the response parser. Strict by default; each `lenient_*`
/// flag accepts one deviation seen in real servers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseParseOptions {
    /// Deepest nesting of BODYSTRUCTURE, body extensions and THREAD lists.
    pub max_depth: usize,
    /// Accept `* QUOTA root` without a resource list (Courier 5 with no
    /// quota configured; `acl-quota.md` C.2). Parsed as `resources: None`.
    pub lenient_quota_without_list: bool,
    /// Accept a trailing space after the numbers of `* SEARCH` and
    /// `* SORT` (several servers send `* SEARCH 1 2 `).
    pub lenient_trailing_space: bool,
    /// Accept `NIL` as a body encoding (read as `7BIT`).
    pub lenient_nil_encoding: bool,
    /// Accept UTF-8 in response text (RFC 3501 text is 7-bit; localized
    /// servers send UTF-8). The encoder still writes 7-bit text.
    pub lenient_8bit_text: bool,
    /// Accept (and drop) extension data in the non-extensible `BODY`.
    pub lenient_body_extensions: bool,
    /// Accept (and drop) extended LIST data items other than `ACL` and
    /// `MYRIGHTS` (Courier sends more item kinds in some versions;
    /// `acl-quota.md` B.3). Their values may be any nesting of lists,
    /// atoms, numbers, strings and `NIL`.
    pub lenient_unknown_list_items: bool,
}

impl Default for ResponseParseOptions {
    fn default() -> Self {
        ResponseParseOptions {
            max_depth: Limits::imap_client().max_depth,
            lenient_quota_without_list: false,
            lenient_trailing_space: false,
            lenient_nil_encoding: false,
            lenient_8bit_text: false,
            lenient_body_extensions: false,
            lenient_unknown_list_items: false,
        }
    }
}

impl ResponseParseOptions {
    /// Every leniency on.
    pub fn lenient() -> Self {
        ResponseParseOptions {
            lenient_quota_without_list: true,
            lenient_trailing_space: true,
            lenient_nil_encoding: true,
            lenient_8bit_text: true,
            lenient_body_extensions: true,
            lenient_unknown_list_items: true,
            ..ResponseParseOptions::default()
        }
    }
}

/// Parses one complete response message (literals inline, ending in CRLF).
pub fn parse_response(
    message: &[u8],
    options: &ResponseParseOptions,
) -> Result<Response, ParseError> {
    let mut c = Cursor::new(message);
    c.eight_bit_text = options.lenient_8bit_text;
    let r = response(&mut c, options)?;
    c.crlf_end()?;
    Ok(r)
}

/// Frames and parses the first response in `input` (stateless); see
/// [`crate::decode_command`].
pub fn decode_response(
    input: &[u8],
    limits: &Limits,
    options: &ResponseParseOptions,
) -> Result<(Response, usize), DecodeError> {
    let mut f = Framer::new(Side::Client, limits.clone());
    let len = frame_first(&mut f, input)?;
    Ok((parse_response(f.message(), options)?, len))
}

fn response(c: &mut Cursor<'_>, o: &ResponseParseOptions) -> PResult<Response> {
    if c.eat(b'+') {
        // RFC 3501 §9 continue-req; `+` CRLF and `+ ` CRLF occur too.
        c.eat(b' ');
        let (code, text) = code_and_text(c)?;
        return Ok(Response::Continuation(Continuation { code, text }));
    }
    if c.eat(b'*') {
        c.sp()?;
        return untagged(c, o);
    }
    let t = c.tag()?;
    c.tag = Some((0, t.len()));
    let tag = Tag::from_tag_bytes(t);
    c.sp()?;
    let at = c.pos;
    let kind = match c.word_upper("OK, NO or BAD")?.as_bytes() {
        b"OK" => StatusKind::Ok,
        b"NO" => StatusKind::No,
        b"BAD" => StatusKind::Bad,
        _ => return Err(c.err_at(at, "OK, NO or BAD")),
    };
    let (code, text) = resp_text(c)?;
    Ok(Response::Status(StatusResponse {
        tag: Some(tag),
        kind,
        code,
        text,
    }))
}

/// `[SP ["[" resp-text-code "]"] [SP] text]`: text may be missing.
fn resp_text(c: &mut Cursor<'_>) -> PResult<(Option<Code>, String)> {
    if !c.eat(b' ') {
        return Ok((None, String::new()));
    }
    code_and_text(c)
}

/// `["[" resp-text-code "]" [SP]] text`, after the SP that starts
/// `resp-text` or `continue-req`.
#[inline]
fn code_and_text(c: &mut Cursor<'_>) -> PResult<(Option<Code>, String)> {
    let code = if c.peek() == Some(b'[') {
        let code = bracket_code(c)?;
        // RFC 3501 §9: "]" SP text; the text may be missing.
        if !c.eat(b' ') && !c.at_crlf() {
            return Err(c.err("SP after the response code"));
        }
        Some(code)
    } else {
        None
    };
    Ok((code, c.text()?))
}

fn bracket_code(c: &mut Cursor<'_>) -> PResult<Code> {
    c.expect(b'[', "'['")?;
    let at = c.pos;
    let name = c.atom()?;
    // Upper-cased on the stack; codes longer than 24 bytes are none of
    // the known ones and come back empty.
    let upper = crate::lexer::Upper::of(name.as_bytes());
    if let Some(code) = simple_code(upper.as_bytes()) {
        c.expect(b']', "']'")?;
        return Ok(code);
    }
    let code = match upper.as_bytes() {
        b"BADCHARSET" => {
            let list = if c.eat(b' ') {
                c.paren_list(false, Cursor::astring_utf8)?
            } else {
                Vec::new()
            };
            Code::BadCharset(list)
        }
        b"CAPABILITY" => Code::Capability(atoms(c, true)?),
        b"PERMANENTFLAGS" => {
            c.sp()?;
            Code::PermanentFlags(c.paren_list(true, Cursor::flag_perm)?)
        }
        b"UIDNEXT" | b"UIDVALIDITY" | b"UNSEEN" => {
            c.sp()?;
            let n = c.nz_number()?;
            match upper.as_bytes() {
                b"UIDNEXT" => Code::UidNext(n),
                b"UIDVALIDITY" => Code::UidValidity(n),
                _ => Code::Unseen(n),
            }
        }
        b"APPENDUID" => {
            c.sp()?;
            let uid_validity = c.nz_number()?;
            c.sp()?;
            let uids = c.sequence_set()?;
            Code::AppendUid { uid_validity, uids }
        }
        b"COPYUID" => {
            c.sp()?;
            let uid_validity = c.nz_number()?;
            c.sp()?;
            let source = c.sequence_set()?;
            c.sp()?;
            let destination = c.sequence_set()?;
            Code::CopyUid {
                uid_validity,
                source,
                destination,
            }
        }
        b"MYRIGHTS" => {
            c.sp()?;
            Code::MyRights(rights(c)?)
        }
        _ => {
            let name = Atom::new(name.to_ascii_uppercase()).ok_or_else(|| c.err_at(at, "atom"))?;
            let text = if c.eat(b' ') {
                Some(c.text_until(b']')?)
            } else {
                None
            };
            Code::Other { name, text }
        }
    };
    c.expect(b']', "']'")?;
    Ok(code)
}

/// The response code without arguments named `upper` (the names of
/// [`crate::response::SIMPLE_CODES`], matched by length and bytes rather than one by one).
fn simple_code(upper: &[u8]) -> Option<Code> {
    Some(match upper {
        b"ALERT" => Code::Alert,
        b"PARSE" => Code::Parse,
        b"READ-ONLY" => Code::ReadOnly,
        b"READ-WRITE" => Code::ReadWrite,
        b"TRYCREATE" => Code::TryCreate,
        b"UIDNOTSTICKY" => Code::UidNotSticky,
        b"OVERQUOTA" => Code::OverQuota,
        b"TOOBIG" => Code::TooBig,
        b"UNAVAILABLE" => Code::Unavailable,
        b"AUTHENTICATIONFAILED" => Code::AuthenticationFailed,
        b"AUTHORIZATIONFAILED" => Code::AuthorizationFailed,
        b"EXPIRED" => Code::Expired,
        b"PRIVACYREQUIRED" => Code::PrivacyRequired,
        b"CONTACTADMIN" => Code::ContactAdmin,
        b"NOPERM" => Code::NoPerm,
        b"INUSE" => Code::InUse,
        b"EXPUNGEISSUED" => Code::ExpungeIssued,
        b"CORRUPTION" => Code::Corruption,
        b"SERVERBUG" => Code::ServerBug,
        b"CLIENTBUG" => Code::ClientBug,
        b"CANNOT" => Code::CannotDo,
        b"LIMIT" => Code::Limit,
        b"ALREADYEXISTS" => Code::AlreadyExists,
        b"NONEXISTENT" => Code::NonExistent,
        _ => return None,
    })
}

/// `*(SP atom)`; at least one if `one`.
fn atoms(c: &mut Cursor<'_>, one: bool) -> PResult<Vec<Atom>> {
    let mut v = Vec::new();
    while c.eat(b' ') {
        let a = c.atom()?;
        v.push(Atom::new(a).ok_or_else(|| c.err("atom"))?);
    }
    if one && v.is_empty() {
        return Err(c.err("SP and capability"));
    }
    Ok(v)
}

fn rights(c: &mut Cursor<'_>) -> PResult<Rights> {
    let at = c.pos;
    let s = c.astring_utf8()?;
    s.parse().map_err(|_| c.err_at(at, "rights"))
}

fn untagged(c: &mut Cursor<'_>, o: &ResponseParseOptions) -> PResult<Response> {
    if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        let n = c.number()?;
        c.sp()?;
        let at = c.pos;
        let w = c.word_upper("EXISTS, RECENT, EXPUNGE or FETCH")?;
        let nz = || NonZeroU32::new(n).ok_or_else(|| c.err_at(0, "non-zero number"));
        let data = match w.as_bytes() {
            b"EXISTS" => Data::Exists(n),
            b"RECENT" => Data::Recent(n),
            b"EXPUNGE" => Data::Expunge(nz()?),
            b"FETCH" => {
                let seq = nz()?;
                c.sp()?;
                let items = c.paren_list(false, |c| fetch_item(c, o))?;
                Data::Fetch { seq, items }
            }
            _ => return Err(c.err_at(at, "EXISTS, RECENT, EXPUNGE or FETCH")),
        };
        return Ok(Response::Data(data));
    }
    let at = c.pos;
    let w = c.word_upper("response type")?;
    let w = w.as_bytes();
    let status = match w {
        b"OK" => Some(StatusKind::Ok),
        b"NO" => Some(StatusKind::No),
        b"BAD" => Some(StatusKind::Bad),
        b"PREAUTH" => Some(StatusKind::PreAuth),
        b"BYE" => Some(StatusKind::Bye),
        _ => None,
    };
    if let Some(kind) = status {
        let (code, text) = resp_text(c)?;
        return Ok(Response::Status(StatusResponse {
            tag: None,
            kind,
            code,
            text,
        }));
    }
    let data = match w {
        b"CAPABILITY" => Data::Capability(atoms(c, true)?),
        b"LIST" => Data::List(list_data(c, o)?),
        b"LSUB" => Data::Lsub(list_data(c, o)?),
        b"STATUS" => {
            c.sp()?;
            let mailbox = c.mailbox()?;
            c.sp()?;
            let items = c.paren_list(true, |c| {
                let at = c.pos;
                let w = c.word("status item")?;
                let item = StatusItem::from_name(w).ok_or_else(|| c.err_at(at, "status item"))?;
                c.sp()?;
                Ok((item, c.number64()?))
            })?;
            Data::Status { mailbox, items }
        }
        b"SEARCH" => Data::Search(numbers(c, o)?),
        b"SORT" => Data::Sort(numbers(c, o)?),
        b"FLAGS" => {
            c.sp()?;
            Data::Flags(c.paren_list(true, Cursor::flag)?)
        }
        b"NAMESPACE" => {
            c.sp()?;
            let personal = namespace(c)?;
            c.sp()?;
            let other = namespace(c)?;
            c.sp()?;
            let shared = namespace(c)?;
            Data::Namespace {
                personal,
                other,
                shared,
            }
        }
        b"THREAD" => Data::Thread(thread(c, o.max_depth)?),
        b"QUOTA" => {
            c.sp()?;
            let root = c.astring_utf8()?;
            let resources = if o.lenient_quota_without_list && c.at_crlf() {
                None
            } else {
                c.sp()?;
                // RFC 2087 allows an empty list.
                Some(c.paren_list(true, |c| {
                    let resource = Resource::from_atom(c.atom()?);
                    c.sp()?;
                    let usage = c.number64()?;
                    c.sp()?;
                    let limit = c.number64()?;
                    Ok(QuotaUsage {
                        resource,
                        usage,
                        limit,
                    })
                })?)
            };
            Data::Quota { root, resources }
        }
        b"QUOTAROOT" => {
            c.sp()?;
            let mailbox = c.mailbox()?;
            let mut roots = Vec::new();
            while c.eat(b' ') {
                roots.push(c.astring_utf8()?);
            }
            Data::QuotaRoot { mailbox, roots }
        }
        b"ACL" => {
            c.sp()?;
            let mailbox = c.mailbox()?;
            let mut entries = Vec::new();
            while c.eat(b' ') {
                let identifier = c.astring_utf8()?;
                c.sp()?;
                entries.push(AclEntry {
                    identifier,
                    rights: rights(c)?,
                });
            }
            Data::Acl { mailbox, entries }
        }
        b"LISTRIGHTS" | b"RIGHTS-INFO" => {
            c.sp()?;
            let mailbox = c.mailbox()?;
            c.sp()?;
            let identifier = c.astring_utf8()?;
            c.sp()?;
            let required = rights(c)?;
            let mut optional = Vec::new();
            while c.eat(b' ') {
                optional.push(rights(c)?);
            }
            if w == b"LISTRIGHTS" {
                Data::ListRights {
                    mailbox,
                    identifier,
                    required,
                    optional,
                }
            } else {
                Data::RightsInfo {
                    mailbox,
                    identifier,
                    required,
                    optional,
                }
            }
        }
        b"MYRIGHTS" => {
            c.sp()?;
            let mailbox = c.mailbox()?;
            c.sp()?;
            Data::MyRights {
                mailbox,
                rights: rights(c)?,
            }
        }
        b"ENABLED" => Data::Enabled(atoms(c, false)?),
        b"ID" => {
            c.sp()?;
            Data::Id(id_params(c)?)
        }
        b"ACLFAILED" => {
            c.sp()?;
            let mailbox = c.mailbox()?;
            let text = if c.eat(b' ') {
                c.text()?
            } else {
                String::new()
            };
            Data::AclFailed { mailbox, text }
        }
        _ => return Err(c.err_at(at, "response type")),
    };
    Ok(Response::Data(data))
}

fn numbers(c: &mut Cursor<'_>, o: &ResponseParseOptions) -> PResult<Vec<NonZeroU32>> {
    let mut v = Vec::new();
    while c.eat(b' ') {
        if o.lenient_trailing_space && c.at_crlf() {
            break;
        }
        v.push(c.nz_number()?);
    }
    Ok(v)
}

/// `DQUOTE QUOTED-CHAR DQUOTE / nil`.
fn delimiter(c: &mut Cursor<'_>) -> PResult<Option<char>> {
    if c.keyword("NIL") {
        return Ok(None);
    }
    let at = c.pos;
    let q = c.quoted()?;
    match q.as_ref() {
        [b] => Ok(Some(char::from(*b))),
        _ => Err(c.err_at(at, "one-character delimiter")),
    }
}

fn list_data(c: &mut Cursor<'_>, o: &ResponseParseOptions) -> PResult<ListData> {
    c.sp()?;
    let attributes = c.paren_list(true, |c| {
        c.expect(b'\\', "'\\' and attribute")?;
        let a = c.atom()?;
        Atom::new(a).ok_or_else(|| c.err("atom"))
    })?;
    c.sp()?;
    let delimiter = delimiter(c)?;
    c.sp()?;
    let mailbox = c.mailbox()?;
    let mut extended = Vec::new();
    if c.eat(b' ') {
        // Courier ACL2 extended data: (("ACL" ((id rights)...))("MYRIGHTS" r)),
        // items written next to each other (acl-quota.md B.3).
        let items = juxtaposed(c, |c| {
            c.expect(b'(', "'('")?;
            let at = c.pos;
            let name = c.astring_utf8()?;
            c.sp()?;
            let item = if name.eq_ignore_ascii_case("ACL") {
                if c.keyword("NIL") {
                    ListExtended::Acl(Vec::new())
                } else {
                    ListExtended::Acl(juxtaposed(c, |c| {
                        c.expect(b'(', "'('")?;
                        let identifier = c.astring_utf8()?;
                        c.sp()?;
                        let rights = rights(c)?;
                        c.expect(b')', "')'")?;
                        Ok(AclEntry { identifier, rights })
                    })?)
                }
            } else if name.eq_ignore_ascii_case("MYRIGHTS") {
                ListExtended::MyRights(rights(c)?)
            } else if o.lenient_unknown_list_items {
                skip_value(c, o.max_depth)?;
                c.expect(b')', "')'")?;
                return Ok(None);
            } else {
                return Err(c.err_at(at, "ACL or MYRIGHTS extended data"));
            };
            c.expect(b')', "')'")?;
            Ok(Some(item))
        })?;
        extended = items.into_iter().flatten().collect();
    }
    Ok(ListData {
        attributes,
        delimiter,
        mailbox,
        extended,
    })
}

/// Skips one value of unknown meaning: an atom, number, `NIL`, string or
/// a parenthesised list of values, nested at most `max_depth` deep
/// (without recursion).
fn skip_value(c: &mut Cursor<'_>, max_depth: usize) -> PResult<()> {
    let mut depth = 0usize;
    loop {
        match c.peek() {
            Some(b'(') => {
                if depth >= max_depth {
                    return Err(c.err("value nested less deeply"));
                }
                depth += 1;
                c.pos += 1;
                continue;
            }
            Some(b')') if depth > 0 => {
                c.pos += 1;
                depth -= 1;
            }
            Some(b' ') if depth > 0 => {
                c.pos += 1;
                continue;
            }
            Some(b'"' | b'{') => {
                c.string()?;
            }
            _ => {
                let start = c.pos;
                while c
                    .peek()
                    .is_some_and(|b| crate::lexer::is_list_char(b) || b == b'\\')
                {
                    c.pos += 1;
                }
                if c.pos == start {
                    return Err(c.err("value"));
                }
            }
        }
        if depth == 0 {
            return Ok(());
        }
    }
}

/// `"(" item *([SP] item) ")"`: Courier writes parenthesised items with
/// or without a space between them.
fn juxtaposed<T>(
    c: &mut Cursor<'_>,
    mut item: impl FnMut(&mut Cursor<'_>) -> PResult<T>,
) -> PResult<Vec<T>> {
    c.expect(b'(', "'('")?;
    let mut out = vec![item(c)?];
    loop {
        if c.eat(b')') {
            return Ok(out);
        }
        c.eat(b' ');
        out.push(item(c)?);
    }
}

/// `nil / "(" 1*item ")"`: items with nothing between them, as in
/// `env-from` (RFC 3501 §9) and `Namespace` (RFC 2342 §5).
#[inline]
fn nil_or_items<'a, T>(
    c: &mut Cursor<'a>,
    mut item: impl FnMut(&mut Cursor<'a>) -> PResult<T>,
) -> PResult<Vec<T>> {
    if c.keyword("NIL") {
        return Ok(Vec::new());
    }
    c.expect(b'(', "'(' or NIL")?;
    let mut out = Vec::new();
    loop {
        out.push(item(c)?);
        if c.eat(b')') {
            return Ok(out);
        }
    }
}

fn namespace(c: &mut Cursor<'_>) -> PResult<Vec<NamespaceDescription>> {
    nil_or_items(c, |c| {
        c.expect(b'(', "'('")?;
        let prefix = c.string_utf8()?;
        c.sp()?;
        let delimiter = delimiter(c)?;
        let mut extensions = Vec::new();
        while c.eat(b' ') {
            let name = c.string_utf8()?;
            c.sp()?;
            let values = c.paren_list(false, Cursor::string_utf8)?;
            extensions.push((name, values));
        }
        c.expect(b')', "')'")?;
        Ok(NamespaceDescription {
            prefix,
            delimiter,
            extensions,
        })
    })
}

/// `thread-data` after `THREAD` (RFC 5256 §4), as tokens, without
/// recursion.
fn thread(c: &mut Cursor<'_>, max_depth: usize) -> PResult<Thread> {
    let mut tokens = Vec::new();
    // Per open list: how many nested lists it holds (RFC 5256 §4
    // `thread-nested = 2*thread-list`: never exactly one).
    let mut nested: Vec<usize> = Vec::new();
    let start = c.pos;
    if c.eat(b' ') && c.peek() != Some(b'(') {
        return Err(c.err("'('"));
    }
    loop {
        match c.peek() {
            Some(b'(') => {
                if nested.len() >= max_depth {
                    return Err(c.err("thread nested less deeply"));
                }
                if let Some(n) = nested.last_mut() {
                    *n += 1;
                }
                nested.push(0);
                c.pos += 1;
                tokens.push(ThreadToken::Open);
            }
            Some(b')') if !nested.is_empty() => {
                if nested.pop() == Some(1) {
                    return Err(c.err(
                        "a second nested thread list (a single child is written as a chain)",
                    ));
                }
                c.pos += 1;
                tokens.push(ThreadToken::Close);
            }
            Some(b'0'..=b'9') if !nested.is_empty() => {
                tokens.push(ThreadToken::Message(c.nz_number()?));
                // Between numbers, and between a number and a nested list,
                // exactly one SP.
                if c.peek() == Some(b' ') {
                    c.pos += 1;
                    if !matches!(c.peek(), Some(b'0'..=b'9' | b'(')) {
                        return Err(c.err("message number or '('"));
                    }
                }
            }
            _ if nested.is_empty() => break,
            _ => return Err(c.err("message number, '(' or ')'")),
        }
    }
    Thread::from_tokens(tokens).map_err(|_| c.err_at(start, "well-formed thread lists"))
}

fn fetch_item(c: &mut Cursor<'_>, o: &ResponseParseOptions) -> PResult<FetchItem> {
    let at = c.pos;
    let w = c.word_upper("fetch item")?;
    let w = w.as_bytes();
    if w == b"BODY" && c.peek() == Some(b'[') {
        let section = section(c)?;
        let origin = if c.eat(b'<') {
            let n = c.number()?;
            c.expect(b'>', "'>'")?;
            Some(n)
        } else {
            None
        };
        c.sp()?;
        let data = c.nstring_bytes()?;
        return Ok(FetchItem::BodySection {
            section,
            origin,
            data,
        });
    }
    c.sp()?;
    Ok(match w {
        b"FLAGS" => FetchItem::Flags(c.paren_list(true, Cursor::flag_fetch)?),
        b"ENVELOPE" => FetchItem::Envelope(std::sync::Arc::new(envelope(c)?)),
        b"INTERNALDATE" => FetchItem::InternalDate(c.date_time()?),
        b"RFC822" => FetchItem::Rfc822(c.nstring_bytes()?),
        b"RFC822.HEADER" => FetchItem::Rfc822Header(c.nstring_bytes()?),
        b"RFC822.TEXT" => FetchItem::Rfc822Text(c.nstring_bytes()?),
        b"RFC822.SIZE" => FetchItem::Rfc822Size(c.number()?),
        b"BODY" => FetchItem::Body(Box::new(body(c, o, false)?)),
        b"BODYSTRUCTURE" => FetchItem::BodyStructure(Box::new(body(c, o, true)?)),
        b"UID" => FetchItem::Uid(c.nz_number()?),
        _ => return Err(c.err_at(at, "fetch item")),
    })
}

/// `envelope` (RFC 3501 §9).
pub(crate) fn envelope(c: &mut Cursor<'_>) -> PResult<Envelope> {
    c.expect(b'(', "'(' starting an envelope")?;
    let date = c.nstring_bytes()?;
    c.sp()?;
    let subject = c.nstring_bytes()?;
    let mut lists: [Vec<Address>; 6] = Default::default();
    for l in &mut lists {
        c.sp()?;
        *l = addresses(c)?;
    }
    c.sp()?;
    let in_reply_to = c.nstring_bytes()?;
    c.sp()?;
    let message_id = c.nstring_bytes()?;
    c.expect(b')', "')' ending the envelope")?;
    let [from, sender, reply_to, to, cc, bcc] = lists;
    Ok(Envelope {
        date,
        subject,
        from,
        sender,
        reply_to,
        to,
        cc,
        bcc,
        in_reply_to,
        message_id,
    })
}

fn addresses(c: &mut Cursor<'_>) -> PResult<Vec<Address>> {
    nil_or_items(c, |c| {
        c.expect(b'(', "'(' starting an address")?;
        let name = c.nstring_bytes()?;
        c.sp()?;
        let adl = c.nstring_bytes()?;
        c.sp()?;
        let mailbox = c.nstring_bytes()?;
        c.sp()?;
        let host = c.nstring_bytes()?;
        c.expect(b')', "')' ending an address")?;
        Ok(Address {
            name,
            adl,
            mailbox,
            host,
        })
    })
}

fn param_list(c: &mut Cursor<'_>) -> PResult<Vec<(String, Vec<u8>)>> {
    if c.keyword("NIL") {
        return Ok(Vec::new());
    }
    c.paren_list(false, |c| {
        let k = c.string_utf8()?;
        c.sp()?;
        // A value may be 8-bit (a literal); it is kept as bytes.
        let v = c.string()?.into_owned();
        Ok((k, v))
    })
}

enum BodyFrame {
    Multi(Vec<BodyStructure>),
    /// Boxed, so the stack of frames stays small (a MESSAGE/RFC822 part
    /// is rare; multiparts are common).
    Message(Box<MessageFrame>),
}

/// A MESSAGE/RFC822 part waiting for its body.
struct MessageFrame {
    media_type: String,
    media_subtype: String,
    fields: BodyFields,
    envelope: Box<Envelope>,
}

/// `body` (RFC 3501 §9) without recursion. Extension data is read for
/// BODYSTRUCTURE; for BODY (`extensions` false) it is an error (RFC 3501
/// §7.4.2: BODY has none), or dropped with `lenient_body_extensions`.
pub(crate) fn body(
    c: &mut Cursor<'_>,
    o: &ResponseParseOptions,
    extensions: bool,
) -> PResult<BodyStructure> {
    let check = |c: &Cursor<'_>, present: bool| -> PResult<()> {
        if present && !extensions && !o.lenient_body_extensions {
            Err(c.err("')' (BODY carries no extension data)"))
        } else {
            Ok(())
        }
    };
    let mut stack: Vec<BodyFrame> = Vec::new();
    'body: loop {
        if stack.len() >= o.max_depth {
            return Err(c.err("body structure nested less deeply"));
        }
        c.expect(b'(', "'(' starting a body")?;
        if c.peek() == Some(b'(') {
            // Room for three parts at once: most multiparts have two or
            // three, and 3 x 320 bytes stays a small allocation (Vec's own
            // first step, 4, is a large one for glibc and costs it a
            // consolidation pass). Longer lists grow as usual.
            stack.push(BodyFrame::Multi(Vec::with_capacity(3)));
            continue 'body;
        }
        let media_type = c.string_utf8()?;
        c.sp()?;
        let media_subtype = c.string_utf8()?;
        c.sp()?;
        let params = param_list(c)?;
        c.sp()?;
        let id = c.nstring_utf8()?;
        c.sp()?;
        let description = c.nstring_utf8()?;
        c.sp()?;
        let encoding = if o.lenient_nil_encoding && c.keyword("NIL") {
            "7BIT".to_owned()
        } else {
            c.string_utf8()?
        };
        c.sp()?;
        let octets = c.number()?;
        let fields = BodyFields {
            params,
            id,
            description,
            encoding,
            octets,
        };
        let mut done = if media_type.eq_ignore_ascii_case("MESSAGE")
            && media_subtype.eq_ignore_ascii_case("RFC822")
        {
            c.sp()?;
            let envelope = Box::new(envelope(c)?);
            c.sp()?;
            stack.push(BodyFrame::Message(Box::new(MessageFrame {
                media_type,
                media_subtype,
                fields,
                envelope,
            })));
            continue 'body;
        } else {
            let kind = if media_type.eq_ignore_ascii_case("TEXT") {
                c.sp()?;
                SinglePartKind::Text { lines: c.number()? }
            } else {
                SinglePartKind::Basic
            };
            check(c, c.peek() == Some(b' '))?;
            let extension = single_extension(c, o)?.filter(|_| extensions);
            c.expect(b')', "')' ending a body")?;
            BodyStructure::Single {
                part: SinglePart {
                    media_type,
                    media_subtype,
                    fields,
                    kind,
                },
                extension,
            }
        };
        loop {
            match stack.pop() {
                None => return Ok(done),
                Some(BodyFrame::Multi(mut parts)) => {
                    parts.push(done);
                    if c.peek() == Some(b'(') {
                        stack.push(BodyFrame::Multi(parts));
                        continue 'body;
                    }
                    c.sp()?;
                    let subtype = c.string_utf8()?;
                    check(c, c.peek() == Some(b' '))?;
                    let extension = if c.eat(b' ') {
                        let params = param_list(c)?;
                        let tail = ext_tail(c, o)?;
                        Some(MultipartExtension { params, tail }).filter(|_| extensions)
                    } else {
                        None
                    };
                    c.expect(b')', "')' ending a multipart body")?;
                    done = BodyStructure::Multipart {
                        parts,
                        subtype,
                        extension,
                    };
                }
                Some(BodyFrame::Message(frame)) => {
                    let MessageFrame {
                        media_type,
                        media_subtype,
                        fields,
                        envelope,
                    } = *frame;
                    c.sp()?;
                    let lines = c.number()?;
                    check(c, c.peek() == Some(b' '))?;
                    let extension = single_extension(c, o)?.filter(|_| extensions);
                    c.expect(b')', "')' ending a body")?;
                    done = BodyStructure::Single {
                        part: SinglePart {
                            media_type,
                            media_subtype,
                            fields,
                            kind: SinglePartKind::Message {
                                envelope,
                                body: Box::new(done),
                                lines,
                            },
                        },
                        extension,
                    };
                }
            }
        }
    }
}

fn single_extension(
    c: &mut Cursor<'_>,
    o: &ResponseParseOptions,
) -> PResult<Option<SinglePartExtension>> {
    if !c.eat(b' ') {
        return Ok(None);
    }
    let md5 = c.nstring_utf8()?;
    let tail = ext_tail(c, o)?;
    Ok(Some(SinglePartExtension { md5, tail }))
}

/// `[SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]`
fn ext_tail(c: &mut Cursor<'_>, o: &ResponseParseOptions) -> PResult<Option<ExtensionTail>> {
    if !c.eat(b' ') {
        return Ok(None);
    }
    let disposition = if c.keyword("NIL") {
        None
    } else {
        c.expect(b'(', "'(' or NIL")?;
        let kind = c.string_utf8()?;
        c.sp()?;
        let params = param_list(c)?;
        c.expect(b')', "')'")?;
        Some(Disposition { kind, params })
    };
    let language = if c.eat(b' ') {
        let languages = if c.peek() == Some(b'(') {
            c.paren_list(false, Cursor::string_utf8)?
        } else {
            c.nstring_utf8()?.into_iter().collect()
        };
        let location = if c.eat(b' ') {
            let location = c.nstring_utf8()?;
            let mut extensions = Vec::new();
            while c.eat(b' ') {
                extensions.push(body_extension(c, o.max_depth)?);
            }
            Some(LocationTail {
                location,
                extensions,
            })
        } else {
            None
        };
        Some(LanguageTail {
            languages,
            location,
        })
    } else {
        None
    };
    Ok(Some(ExtensionTail {
        disposition,
        language,
    }))
}

/// `body-extension = nstring / number / "(" body-extension *(SP body-extension) ")"`.
fn body_extension(c: &mut Cursor<'_>, max_depth: usize) -> PResult<BodyExtension> {
    let mut stack: Vec<Vec<BodyExtension>> = Vec::new();
    loop {
        let mut item = match c.peek() {
            Some(b'(') => {
                if stack.len() >= max_depth {
                    return Err(c.err("body extension nested less deeply"));
                }
                c.pos += 1;
                stack.push(Vec::new());
                continue;
            }
            Some(b'0'..=b'9') => BodyExtension::Number(c.number()?),
            _ => BodyExtension::NString(c.nstring_utf8()?),
        };
        loop {
            let Some(mut list) = stack.pop() else {
                return Ok(item);
            };
            list.push(item);
            if c.eat(b')') {
                item = BodyExtension::List(list);
            } else {
                c.sp()?;
                stack.push(list);
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::SIMPLE_CODES;

    #[test]
    fn simple_codes_match_the_table() {
        for (name, code) in SIMPLE_CODES {
            assert_eq!(simple_code(name.as_bytes()), Some(code), "{name}");
        }
        for other in ["", "ALERTS", "COPYUID", "UIDNEXT", "alert"] {
            assert_eq!(simple_code(other.as_bytes()), None, "{other}");
        }
    }
}
