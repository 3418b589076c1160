//! The response encoder (server side). Encoding never fails and never
//! recurses: nested BODYSTRUCTURE and THREAD data of any depth are written
//! with explicit stacks.

use postroom_types::{Rights, ThreadToken};

use crate::encode::{LiteralMode, Writer};
use crate::response::{
    Code, Continuation, Data, FetchItem, ListData, ListExtended, NamespaceDescription, Response,
    SIMPLE_CODES, StatusResponse,
};

/// Appends the wire form of `response` (ending in CRLF) to `out`.
///
/// ```
/// use postroom_imap::response::{Data, Response};
/// let mut out = Vec::new();
/// postroom_imap::encode_response(&Response::Data(Data::Exists(3)), &mut out);
/// assert_eq!(out, b"* 3 EXISTS\r\n");
/// ```
pub fn encode_response(response: &Response, out: &mut Vec<u8>) {
    let mut w = Writer::new(out, LiteralMode::Response);
    match response {
        Response::Status(s) => status(&mut w, s),
        Response::Data(d) => data(&mut w, d),
        Response::Continuation(c) => continuation(&mut w, c),
    }
    w.crlf();
}

fn status(w: &mut Writer<'_>, s: &StatusResponse) {
    match &s.tag {
        Some(t) => w.raw(t.as_bytes()),
        None => w.byte(b'*'),
    }
    w.sp();
    w.raw(s.kind.as_str().as_bytes());
    resp_text(w, s.code.as_ref(), &s.text);
}

fn resp_text(w: &mut Writer<'_>, code: Option<&Code>, text: &str) {
    if let Some(code) = code {
        w.sp();
        w.byte(b'[');
        resp_code(w, code);
        w.byte(b']');
    }
    if !text.is_empty() {
        w.sp();
        w.text(text, code.is_some());
    }
}

fn continuation(w: &mut Writer<'_>, c: &Continuation) {
    w.byte(b'+');
    if let Some(code) = &c.code {
        w.raw(b" [");
        resp_code(w, code);
        w.byte(b']');
    }
    // RFC 3501 §9: `"+" SP (resp-text / base64)`; always send the SP.
    w.sp();
    w.text(&c.text, c.code.is_some());
}

fn rights(w: &mut Writer<'_>, r: Rights) {
    w.astring(r.to_string().as_bytes());
}

pub(crate) fn resp_code(w: &mut Writer<'_>, code: &Code) {
    if let Some((name, _)) = SIMPLE_CODES.iter().find(|(_, c)| c == code) {
        w.raw(name.as_bytes());
        return;
    }
    match code {
        Code::BadCharset(list) => {
            w.raw(b"BADCHARSET");
            if !list.is_empty() {
                w.sp();
                w.list(list, |w, c| w.astring(c.as_bytes()));
            }
        }
        Code::Capability(caps) => {
            w.raw(b"CAPABILITY");
            for c in caps {
                w.sp();
                w.atom(c.as_str());
            }
        }
        Code::PermanentFlags(flags) => {
            w.raw(b"PERMANENTFLAGS ");
            w.list(flags, |w, f| w.flag_perm(f));
        }
        Code::UidNext(n) => {
            w.raw(b"UIDNEXT ");
            w.num(n.get());
        }
        Code::UidValidity(n) => {
            w.raw(b"UIDVALIDITY ");
            w.num(n.get());
        }
        Code::Unseen(n) => {
            w.raw(b"UNSEEN ");
            w.num(n.get());
        }
        Code::AppendUid { uid_validity, uids } => {
            w.raw(b"APPENDUID ");
            w.num(uid_validity.get());
            w.sp();
            w.sequence_set(uids);
        }
        Code::CopyUid {
            uid_validity,
            source,
            destination,
        } => {
            w.raw(b"COPYUID ");
            w.num(uid_validity.get());
            w.sp();
            w.sequence_set(source);
            w.sp();
            w.sequence_set(destination);
        }
        Code::MyRights(r) => {
            w.raw(b"MYRIGHTS ");
            // Courier quotes it.
            w.string(r.to_string().as_bytes());
        }
        Code::Other { name, text } => {
            w.atom(name.as_str());
            if let Some(t) = text {
                w.sp();
                for ch in t.chars() {
                    let b = if ch.is_ascii() { ch as u8 } else { b'?' };
                    w.byte(match b {
                        b']' | b'\r' | b'\n' | 0 => b' ',
                        b => b,
                    });
                }
            }
        }
        // Every other variant is in SIMPLE_CODES.
        _ => {}
    }
}

fn data(w: &mut Writer<'_>, d: &Data) {
    w.raw(b"* ");
    match d {
        Data::Capability(caps) => {
            w.raw(b"CAPABILITY");
            for c in caps {
                w.sp();
                w.atom(c.as_str());
            }
        }
        Data::List(l) => {
            w.raw(b"LIST ");
            list_data(w, l);
        }
        Data::Lsub(l) => {
            w.raw(b"LSUB ");
            list_data(w, l);
        }
        Data::Status { mailbox, items } => {
            w.raw(b"STATUS ");
            w.mailbox(mailbox);
            w.sp();
            w.list(items, |w, (item, value)| {
                w.raw(item.as_str().as_bytes());
                w.sp();
                w.num(*value);
            });
        }
        Data::Search(n) => {
            w.raw(b"SEARCH");
            w.numbers(n);
        }
        Data::Sort(n) => {
            w.raw(b"SORT");
            w.numbers(n);
        }
        Data::Flags(flags) => {
            w.raw(b"FLAGS ");
            w.list(flags, |w, f| w.flag(f));
        }
        Data::Exists(n) => {
            w.num(*n);
            w.raw(b" EXISTS");
        }
        Data::Recent(n) => {
            w.num(*n);
            w.raw(b" RECENT");
        }
        Data::Expunge(n) => {
            w.num(n.get());
            w.raw(b" EXPUNGE");
        }
        Data::Fetch { seq, items } => {
            w.num(seq.get());
            w.raw(b" FETCH ");
            w.list(items, fetch_item);
        }
        Data::Namespace {
            personal,
            other,
            shared,
        } => {
            w.raw(b"NAMESPACE");
            for ns in [personal, other, shared] {
                w.sp();
                namespace(w, ns);
            }
        }
        Data::Thread(t) => {
            w.raw(b"THREAD");
            let mut prev_number = false;
            let mut first = true;
            for tok in t.tokens() {
                match tok {
                    ThreadToken::Open => {
                        if first || prev_number {
                            w.sp();
                        }
                        w.byte(b'(');
                        prev_number = false;
                    }
                    ThreadToken::Close => {
                        w.byte(b')');
                        prev_number = false;
                    }
                    ThreadToken::Message(m) => {
                        if prev_number {
                            w.sp();
                        }
                        w.num(m.get());
                        prev_number = true;
                    }
                }
                first = false;
            }
        }
        Data::Quota { root, resources } => {
            w.raw(b"QUOTA ");
            w.astring(root.as_bytes());
            if let Some(res) = resources {
                w.sp();
                w.list(res, |w, r| {
                    w.raw(r.resource.as_str().as_bytes());
                    w.sp();
                    w.num(r.usage);
                    w.sp();
                    w.num(r.limit);
                });
            }
        }
        Data::QuotaRoot { mailbox, roots } => {
            w.raw(b"QUOTAROOT ");
            w.mailbox(mailbox);
            for r in roots {
                w.sp();
                w.astring(r.as_bytes());
            }
        }
        Data::Acl { mailbox, entries } => {
            w.raw(b"ACL ");
            w.mailbox(mailbox);
            for e in entries {
                w.sp();
                w.astring(e.identifier.as_bytes());
                w.sp();
                rights(w, e.rights);
            }
        }
        Data::ListRights {
            mailbox,
            identifier,
            required,
            optional,
        } => {
            w.raw(b"LISTRIGHTS ");
            rights_info(w, mailbox, identifier, *required, optional);
        }
        Data::RightsInfo {
            mailbox,
            identifier,
            required,
            optional,
        } => {
            w.raw(b"RIGHTS-INFO ");
            rights_info(w, mailbox, identifier, *required, optional);
        }
        Data::MyRights { mailbox, rights: r } => {
            w.raw(b"MYRIGHTS ");
            w.mailbox(mailbox);
            w.sp();
            rights(w, *r);
        }
        Data::Enabled(caps) => {
            w.raw(b"ENABLED");
            for c in caps {
                w.sp();
                w.atom(c.as_str());
            }
        }
        Data::Id(params) => {
            w.raw(b"ID ");
            id_params(w, params.as_deref());
        }
        Data::AclFailed { mailbox, text } => {
            w.raw(b"ACLFAILED ");
            w.mailbox(mailbox);
            w.sp();
            w.text(text, true);
        }
    }
}

pub(crate) fn id_params(w: &mut Writer<'_>, params: Option<&[(String, Option<String>)]>) {
    match params {
        None => w.raw(b"NIL"),
        Some([]) => w.raw(b"NIL"),
        Some(p) => w.list(p, |w, (k, v)| {
            w.string(k.as_bytes());
            w.sp();
            w.nstring(v.as_deref().map(str::as_bytes));
        }),
    }
}

fn rights_info(
    w: &mut Writer<'_>,
    mailbox: &crate::types::MailboxName,
    identifier: &str,
    required: Rights,
    optional: &[Rights],
) {
    w.mailbox(mailbox);
    w.sp();
    w.astring(identifier.as_bytes());
    w.sp();
    rights(w, required);
    for r in optional {
        w.sp();
        rights(w, *r);
    }
}

fn list_data(w: &mut Writer<'_>, l: &ListData) {
    w.list(&l.attributes, |w, a| {
        w.byte(b'\\');
        w.atom(a.as_str());
    });
    w.sp();
    w.delimiter(l.delimiter);
    w.sp();
    w.mailbox(&l.mailbox);
    if !l.extended.is_empty() {
        // Courier writes the items next to each other (acl-quota.md B.3).
        w.sp();
        w.byte(b'(');
        for e in &l.extended {
            w.byte(b'(');
            match e {
                ListExtended::Acl(entries) => {
                    w.raw(b"\"ACL\" ");
                    if entries.is_empty() {
                        w.raw(b"NIL");
                    } else {
                        w.byte(b'(');
                        for e in entries {
                            w.byte(b'(');
                            w.string(e.identifier.as_bytes());
                            w.sp();
                            w.string(e.rights.to_string().as_bytes());
                            w.byte(b')');
                        }
                        w.byte(b')');
                    }
                }
                ListExtended::MyRights(r) => {
                    w.raw(b"\"MYRIGHTS\" ");
                    w.string(r.to_string().as_bytes());
                }
            }
            w.byte(b')');
        }
        w.byte(b')');
    }
}

fn namespace(w: &mut Writer<'_>, ns: &[NamespaceDescription]) {
    if ns.is_empty() {
        w.raw(b"NIL");
        return;
    }
    w.byte(b'(');
    for d in ns {
        w.byte(b'(');
        w.string(d.prefix.as_bytes());
        w.sp();
        w.delimiter(d.delimiter);
        for (name, values) in &d.extensions {
            w.sp();
            w.string(name.as_bytes());
            w.sp();
            w.list(values, |w, v| w.string(v.as_bytes()));
        }
        w.byte(b')');
    }
    w.byte(b')');
}

fn fetch_item(w: &mut Writer<'_>, item: &FetchItem) {
    match item {
        FetchItem::Flags(flags) => {
            w.raw(b"FLAGS ");
            w.list(flags, |w, f| w.flag_fetch(f));
        }
        FetchItem::Envelope(e) => {
            w.raw(b"ENVELOPE ");
            w.envelope(e);
        }
        FetchItem::InternalDate(d) => {
            w.raw(b"INTERNALDATE ");
            w.date_time(d);
        }
        FetchItem::Rfc822(d) => {
            w.raw(b"RFC822 ");
            w.nliteral(d.as_deref());
        }
        FetchItem::Rfc822Header(d) => {
            w.raw(b"RFC822.HEADER ");
            w.nliteral(d.as_deref());
        }
        FetchItem::Rfc822Text(d) => {
            w.raw(b"RFC822.TEXT ");
            w.nliteral(d.as_deref());
        }
        FetchItem::Rfc822Size(n) => {
            w.raw(b"RFC822.SIZE ");
            w.num(*n);
        }
        FetchItem::Body(b) => {
            w.raw(b"BODY ");
            w.body_structure(b, false);
        }
        FetchItem::BodyStructure(b) => {
            w.raw(b"BODYSTRUCTURE ");
            w.body_structure(b, true);
        }
        FetchItem::BodySection {
            section,
            origin,
            data,
        } => {
            w.raw(b"BODY");
            crate::command_encode::section(w, section);
            if let Some(o) = origin {
                w.byte(b'<');
                w.num(*o);
                w.byte(b'>');
            }
            w.sp();
            w.nliteral(data.as_deref());
        }
        FetchItem::Uid(u) => {
            w.raw(b"UID ");
            w.num(u.get());
        }
    }
}
