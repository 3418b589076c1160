//! The command encoder (client side): a command becomes [`Fragment`]s so a
//! client can wait for `+` before each synchronizing literal.

use base64::Engine;

use crate::command::{
    Command, FetchAttribute, FetchItems, RightsChange, Section, SectionText, StoreMode,
    TaggedCommand,
};
use crate::encode::{Fragment, LiteralMode, Writer};
use crate::types::SearchKey;

/// Encodes a command as fragments (see [`Fragment`]).
///
/// ```
/// use postroom_imap::command::{Command, Tag, TaggedCommand};
/// use postroom_imap::{encode_command, Fragment, LiteralMode};
/// use postroom_types::Secret;
/// let cmd = TaggedCommand {
///     tag: Tag::new("a1").unwrap(),
///     command: Command::Login { username: "fred".into(), password: Secret::new("a b\r\n".into()) },
/// };
/// let f = encode_command(&cmd, LiteralMode::Sync);
/// assert_eq!(f, vec![
///     Fragment::Line(b"a1 LOGIN fred {5}\r\n".to_vec()),
///     Fragment::Literal(b"a b\r\n".to_vec()),
///     Fragment::Line(b"\r\n".to_vec()),
/// ]);
/// ```
pub fn encode_command(cmd: &TaggedCommand, mode: LiteralMode) -> Vec<Fragment> {
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out, mode);
    w.raw(cmd.tag.as_bytes());
    w.sp();
    body(&mut w, &cmd.command);
    w.crlf();
    w.finish()
}

/// Encodes a command into one buffer, literals inline (for tests, logs
/// and peers known to accept LITERAL+).
pub fn encode_command_bytes(cmd: &TaggedCommand, mode: LiteralMode) -> Vec<u8> {
    let mut out = Vec::new();
    for f in encode_command(cmd, mode) {
        match f {
            Fragment::Line(b) | Fragment::Literal(b) => out.extend_from_slice(&b),
        }
    }
    out
}

fn body(w: &mut Writer<'_>, cmd: &Command) {
    w.raw(cmd.name().as_bytes());
    match cmd {
        Command::Capability
        | Command::Noop
        | Command::Logout
        | Command::StartTls
        | Command::Check
        | Command::Close
        | Command::Unselect
        | Command::Expunge
        | Command::Namespace
        | Command::Idle => {}
        Command::Authenticate {
            mechanism,
            initial_response,
        } => {
            w.sp();
            w.atom(mechanism.as_str());
            if let Some(ir) = initial_response {
                w.sp();
                let data = ir.expose_secret();
                if data.is_empty() {
                    w.byte(b'=');
                } else {
                    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
                    w.raw(b64.as_bytes());
                }
            }
        }
        Command::Login { username, password } => {
            w.sp();
            w.astring(username.as_bytes());
            w.sp();
            w.astring(password.expose_secret().as_bytes());
        }
        Command::Select { mailbox }
        | Command::Examine { mailbox }
        | Command::Create { mailbox }
        | Command::Delete { mailbox }
        | Command::Subscribe { mailbox }
        | Command::Unsubscribe { mailbox }
        | Command::GetQuotaRoot { mailbox }
        | Command::GetAcl { mailbox }
        | Command::MyRights { mailbox } => {
            w.sp();
            w.mailbox(mailbox);
        }
        Command::Rename { from, to } => {
            w.sp();
            w.mailbox(from);
            w.sp();
            w.mailbox(to);
        }
        Command::List {
            selection,
            reference,
            pattern,
        } => {
            w.sp();
            if !selection.is_empty() {
                w.list(selection, |w, a| w.atom(a.as_str()));
                w.sp();
            }
            w.astring(crate::types::encode_modified_utf7(reference).as_bytes());
            w.sp();
            w.list_mailbox(pattern);
        }
        Command::Lsub { reference, pattern } => {
            w.sp();
            w.astring(crate::types::encode_modified_utf7(reference).as_bytes());
            w.sp();
            w.list_mailbox(pattern);
        }
        Command::Status { mailbox, items } => {
            w.sp();
            w.mailbox(mailbox);
            w.sp();
            w.list(items, |w, i| w.raw(i.as_str().as_bytes()));
        }
        Command::Append {
            mailbox,
            flags,
            date,
            message,
        } => {
            w.sp();
            w.mailbox(mailbox);
            if !flags.is_empty() {
                w.sp();
                w.list(flags, |w, f| w.flag(f));
            }
            if let Some(d) = date {
                w.sp();
                w.date_time(d);
            }
            w.sp();
            w.literal(message);
        }
        Command::UidExpunge { uids } => {
            w.sp();
            w.sequence_set(uids);
        }
        Command::Search {
            charset, criteria, ..
        } => {
            if let Some(cs) = charset {
                w.raw(b" CHARSET ");
                w.astring(cs.as_bytes());
            }
            w.sp();
            search_criteria(w, criteria);
        }
        Command::Fetch { set, items, .. } => {
            w.sp();
            w.sequence_set(set);
            w.sp();
            match items {
                FetchItems::All => w.raw(b"ALL"),
                FetchItems::Fast => w.raw(b"FAST"),
                FetchItems::Full => w.raw(b"FULL"),
                FetchItems::List(l) if l.len() == 1 => fetch_attribute(w, &l[0]),
                FetchItems::List(l) => w.list(l, fetch_attribute),
            }
        }
        Command::Store {
            set,
            mode,
            silent,
            flags,
            ..
        } => {
            w.sp();
            w.sequence_set(set);
            w.sp();
            match mode {
                StoreMode::Replace => {}
                StoreMode::Add => w.byte(b'+'),
                StoreMode::Remove => w.byte(b'-'),
            }
            w.raw(if *silent { b"FLAGS.SILENT " } else { b"FLAGS " });
            w.list(flags, |w, f| w.flag(f));
        }
        Command::Copy { set, mailbox, .. } | Command::Move { set, mailbox, .. } => {
            w.sp();
            w.sequence_set(set);
            w.sp();
            w.mailbox(mailbox);
        }
        Command::Sort {
            criteria,
            charset,
            search,
            ..
        } => {
            w.sp();
            w.list(criteria, |w, c| {
                if c.reverse {
                    w.raw(b"REVERSE ");
                }
                w.raw(c.key.as_str().as_bytes());
            });
            w.sp();
            charset_arg(w, charset);
            w.sp();
            search_criteria(w, search);
        }
        Command::Thread {
            algorithm,
            charset,
            search,
            ..
        } => {
            w.sp();
            w.atom(algorithm.as_str());
            w.sp();
            charset_arg(w, charset);
            w.sp();
            search_criteria(w, search);
        }
        Command::GetQuota { root } => {
            w.sp();
            w.astring(root.as_bytes());
        }
        Command::SetQuota { root, limits } => {
            w.sp();
            w.astring(root.as_bytes());
            w.sp();
            w.list(limits, |w, l| {
                w.raw(l.resource.as_str().as_bytes());
                w.sp();
                w.num(l.limit);
            });
        }
        Command::SetAcl {
            mailbox,
            identifier,
            rights,
        } => {
            w.sp();
            w.mailbox(mailbox);
            w.sp();
            w.astring(identifier.as_bytes());
            w.sp();
            rights_change(w, rights);
        }
        Command::DeleteAcl {
            mailbox,
            identifier,
        }
        | Command::ListRights {
            mailbox,
            identifier,
        } => {
            w.sp();
            w.mailbox(mailbox);
            w.sp();
            w.astring(identifier.as_bytes());
        }
        Command::AclStore {
            mailboxes,
            identifier,
            rights,
        } => {
            w.sp();
            mailboxes_arg(w, mailboxes);
            w.sp();
            w.astring(identifier.as_bytes());
            w.sp();
            rights_change(w, rights);
        }
        Command::AclDelete {
            mailboxes,
            identifier,
        } => {
            w.sp();
            mailboxes_arg(w, mailboxes);
            w.sp();
            w.astring(identifier.as_bytes());
        }
        Command::AclSet { mailboxes, entries } => {
            w.sp();
            mailboxes_arg(w, mailboxes);
            for (id, r) in entries {
                w.sp();
                w.astring(id.as_bytes());
                w.sp();
                w.string(r.to_string().as_bytes());
            }
        }
        Command::Enable { capabilities } => {
            for c in capabilities {
                w.sp();
                w.atom(c.as_str());
            }
        }
        Command::Id { parameters } => {
            w.sp();
            crate::response_encode::id_params(w, parameters.as_deref());
        }
    }
}

fn mailboxes_arg(w: &mut Writer<'_>, m: &[crate::types::MailboxName]) {
    if m.len() == 1 {
        w.mailbox(&m[0]);
    } else {
        w.list(m, |w, m| w.mailbox(m));
    }
}

fn charset_arg(w: &mut Writer<'_>, charset: &str) {
    if !charset.is_empty() && charset.bytes().all(crate::lexer::is_atom_char) {
        w.raw(charset.as_bytes());
    } else {
        // RFC 5256: charset = atom / quoted; never a literal.
        w.byte(b'"');
        for b in charset.bytes() {
            if !crate::lexer::is_quoted_char(b) {
                continue;
            }
            if b == b'"' || b == b'\\' {
                w.byte(b'\\');
            }
            w.byte(b);
        }
        w.byte(b'"');
    }
}

fn rights_change(w: &mut Writer<'_>, r: &RightsChange) {
    let s = match r {
        RightsChange::Replace(r) => r.to_string(),
        RightsChange::Add(r) => format!("+{r}"),
        RightsChange::Remove(r) => format!("-{r}"),
    };
    w.astring(s.as_bytes());
}

fn fetch_attribute(w: &mut Writer<'_>, a: &FetchAttribute) {
    match a {
        FetchAttribute::Envelope => w.raw(b"ENVELOPE"),
        FetchAttribute::Flags => w.raw(b"FLAGS"),
        FetchAttribute::InternalDate => w.raw(b"INTERNALDATE"),
        FetchAttribute::Rfc822 => w.raw(b"RFC822"),
        FetchAttribute::Rfc822Header => w.raw(b"RFC822.HEADER"),
        FetchAttribute::Rfc822Size => w.raw(b"RFC822.SIZE"),
        FetchAttribute::Rfc822Text => w.raw(b"RFC822.TEXT"),
        FetchAttribute::Body => w.raw(b"BODY"),
        FetchAttribute::BodyStructure => w.raw(b"BODYSTRUCTURE"),
        FetchAttribute::Uid => w.raw(b"UID"),
        FetchAttribute::BodySection {
            peek,
            section: s,
            partial,
        } => {
            w.raw(if *peek { b"BODY.PEEK" } else { b"BODY" });
            section(w, s);
            if let Some((origin, len)) = partial {
                w.byte(b'<');
                w.num(*origin);
                w.byte(b'.');
                w.num(len.get());
                w.byte(b'>');
            }
        }
    }
}

/// `section` (RFC 3501 §9), shared with the response encoder.
pub(crate) fn section(w: &mut Writer<'_>, s: &Section) {
    w.byte(b'[');
    for (i, p) in s.part.iter().enumerate() {
        if i > 0 {
            w.byte(b'.');
        }
        w.num(p.get());
    }
    if let Some(t) = &s.text {
        if !s.part.is_empty() {
            w.byte(b'.');
        }
        match t {
            SectionText::Header => w.raw(b"HEADER"),
            SectionText::Text => w.raw(b"TEXT"),
            SectionText::Mime => w.raw(b"MIME"),
            SectionText::HeaderFields(names) | SectionText::HeaderFieldsNot(names) => {
                w.raw(if matches!(t, SectionText::HeaderFields(_)) {
                    b"HEADER.FIELDS "
                } else {
                    b"HEADER.FIELDS.NOT "
                });
                w.list(names, |w, n| w.astring(n.as_bytes()));
            }
        }
    }
    w.byte(b']');
}

/// Top-level criteria: an AND of two or more keys is written bare.
fn search_criteria(w: &mut Writer<'_>, key: &SearchKey) {
    match key {
        SearchKey::And(keys) if keys.len() >= 2 => {
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    w.sp();
                }
                search_key(w, k);
            }
        }
        k => search_key(w, k),
    }
}

/// One `search-key`, written with an explicit stack.
pub(crate) fn search_key(w: &mut Writer<'_>, root: &SearchKey) {
    enum Task<'a> {
        Key(&'a SearchKey),
        Raw(&'static [u8]),
    }
    let mut stack = vec![Task::Key(root)];
    while let Some(t) = stack.pop() {
        let k = match t {
            Task::Raw(b) => {
                w.raw(b);
                continue;
            }
            Task::Key(k) => k,
        };
        let (name, arg): (&[u8], Option<&str>) = match k {
            SearchKey::Not(inner) => {
                w.raw(b"NOT ");
                stack.push(Task::Key(inner));
                continue;
            }
            SearchKey::Or(a, b) => {
                w.raw(b"OR ");
                stack.push(Task::Key(b));
                stack.push(Task::Raw(b" "));
                stack.push(Task::Key(a));
                continue;
            }
            SearchKey::And(keys) => {
                w.byte(b'(');
                stack.push(Task::Raw(b")"));
                if keys.is_empty() {
                    // `()` is not valid (RFC 3501 §9); an empty AND
                    // matches everything.
                    w.raw(b"ALL");
                }
                for (i, k) in keys.iter().enumerate().rev() {
                    stack.push(Task::Key(k));
                    if i > 0 {
                        stack.push(Task::Raw(b" "));
                    }
                }
                continue;
            }
            SearchKey::SequenceSet(s) => {
                w.sequence_set(s);
                continue;
            }
            SearchKey::Uid(s) => {
                w.raw(b"UID ");
                w.sequence_set(s);
                continue;
            }
            SearchKey::Larger(n) | SearchKey::Smaller(n) => {
                w.raw(if matches!(k, SearchKey::Larger(_)) {
                    b"LARGER "
                } else {
                    b"SMALLER "
                });
                w.num(*n);
                continue;
            }
            SearchKey::Before(d)
            | SearchKey::On(d)
            | SearchKey::Since(d)
            | SearchKey::SentBefore(d)
            | SearchKey::SentOn(d)
            | SearchKey::SentSince(d) => {
                let name: &[u8] = match k {
                    SearchKey::Before(_) => b"BEFORE ",
                    SearchKey::On(_) => b"ON ",
                    SearchKey::Since(_) => b"SINCE ",
                    SearchKey::SentBefore(_) => b"SENTBEFORE ",
                    SearchKey::SentOn(_) => b"SENTON ",
                    _ => b"SENTSINCE ",
                };
                w.raw(name);
                w.date(*d);
                continue;
            }
            SearchKey::Keyword(kw) | SearchKey::Unkeyword(kw) => {
                w.raw(if matches!(k, SearchKey::Keyword(_)) {
                    b"KEYWORD "
                } else {
                    b"UNKEYWORD "
                });
                w.raw(kw.as_str().as_bytes());
                continue;
            }
            SearchKey::Header(name, value) => {
                w.raw(b"HEADER ");
                w.astring(name.as_bytes());
                w.sp();
                w.astring(value.as_bytes());
                continue;
            }
            SearchKey::All => (b"ALL", None),
            SearchKey::Answered => (b"ANSWERED", None),
            SearchKey::Deleted => (b"DELETED", None),
            SearchKey::Draft => (b"DRAFT", None),
            SearchKey::Flagged => (b"FLAGGED", None),
            SearchKey::New => (b"NEW", None),
            SearchKey::Old => (b"OLD", None),
            SearchKey::Recent => (b"RECENT", None),
            SearchKey::Seen => (b"SEEN", None),
            SearchKey::Unanswered => (b"UNANSWERED", None),
            SearchKey::Undeleted => (b"UNDELETED", None),
            SearchKey::Undraft => (b"UNDRAFT", None),
            SearchKey::Unflagged => (b"UNFLAGGED", None),
            SearchKey::Unseen => (b"UNSEEN", None),
            SearchKey::Bcc(s) => (b"BCC", Some(s)),
            SearchKey::Body(s) => (b"BODY", Some(s)),
            SearchKey::Cc(s) => (b"CC", Some(s)),
            SearchKey::From(s) => (b"FROM", Some(s)),
            SearchKey::Subject(s) => (b"SUBJECT", Some(s)),
            SearchKey::Text(s) => (b"TEXT", Some(s)),
            SearchKey::To(s) => (b"TO", Some(s)),
            // A key added to postroom-types later: ALL keeps the command
            // valid and is the widest match.
            _ => (b"ALL", None),
        };
        w.raw(name);
        if let Some(s) = arg {
            w.sp();
            w.astring(s.as_bytes());
        }
    }
}
