//! The writer shared by both encoders: strings as atom, quoted or literal
//! (RFC 3501 §4.3), and literal handling that differs by direction.

use std::io::Write as _;
use std::num::NonZeroU32;

use chrono::Datelike;

use crate::lexer::{MONTHS, is_astring_char, is_atom_char, is_quoted_char};
use crate::types::{
    Address, BodyExtension, BodyStructure, Envelope, ExtensionTail, Flag, FlagFetch, FlagPerm,
    InternalDate, MailboxName, SeqBound, SequenceSet, SinglePartKind,
};

/// Quoted strings longer than this go as literals.
const MAX_QUOTED: usize = 1024;

/// A piece of an encoded command (client side).
///
/// A client sends a [`Fragment::Line`]; when the next fragment is a
/// [`Fragment::Literal`], the line ends with a synchronizing `{n}` and the
/// client must wait for a continuation request (`+`) before sending the
/// literal (RFC 3501 §4.3; even for `{0}`). Non-synchronizing literals
/// (LITERAL+) are part of their line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fragment {
    /// Bytes to send now.
    Line(Vec<u8>),
    /// Literal data to send after the server's `+`.
    Literal(Vec<u8>),
}

/// How literals are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralMode {
    /// Server to client: the data follows `{n}` CRLF at once.
    Response,
    /// Client to server, synchronizing literals only.
    Sync,
    /// Client to server with LITERAL+ (RFC 7888): `{n+}` for all sizes.
    LiteralPlus,
    /// Client to server with LITERAL- (RFC 7888): `{n+}` up to 4096 bytes.
    LiteralMinus,
}

pub(crate) struct Writer<'o> {
    pub(crate) buf: &'o mut Vec<u8>,
    mode: LiteralMode,
    pub(crate) fragments: Vec<Fragment>,
    /// Where the current line fragment starts in `buf`.
    line_start: usize,
}

impl<'o> Writer<'o> {
    pub(crate) fn new(buf: &'o mut Vec<u8>, mode: LiteralMode) -> Writer<'o> {
        let line_start = buf.len();
        Writer {
            buf,
            mode,
            fragments: Vec::new(),
            line_start,
        }
    }

    /// Ends encoding; for commands, returns the fragments.
    pub(crate) fn finish(mut self) -> Vec<Fragment> {
        if self.buf.len() > self.line_start || self.fragments.is_empty() {
            let line = self.buf.split_off(self.line_start);
            self.fragments.push(Fragment::Line(line));
        }
        self.fragments
    }

    pub(crate) fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    pub(crate) fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    pub(crate) fn sp(&mut self) {
        self.buf.push(b' ');
    }

    pub(crate) fn crlf(&mut self) {
        self.buf.extend_from_slice(b"\r\n");
    }

    pub(crate) fn num(&mut self, n: impl Into<u64>) {
        // Writing to a Vec cannot fail.
        let _ = write!(self.buf, "{}", n.into());
    }

    pub(crate) fn literal(&mut self, data: &[u8]) {
        let non_sync = match self.mode {
            LiteralMode::Response => {
                let _ = write!(self.buf, "{{{}}}\r\n", data.len());
                self.buf.extend_from_slice(data);
                return;
            }
            LiteralMode::Sync => false,
            LiteralMode::LiteralPlus => true,
            LiteralMode::LiteralMinus => data.len() <= 4096,
        };
        if non_sync {
            let _ = write!(self.buf, "{{{}+}}\r\n", data.len());
            self.buf.extend_from_slice(data);
        } else {
            let _ = write!(self.buf, "{{{}}}\r\n", data.len());
            let line = self.buf.split_off(self.line_start);
            self.fragments.push(Fragment::Line(line));
            self.fragments.push(Fragment::Literal(data.to_vec()));
            self.line_start = self.buf.len();
        }
    }

    /// `quoted` if possible and short, else a literal.
    pub(crate) fn string(&mut self, s: &[u8]) {
        if s.len() <= MAX_QUOTED && s.iter().all(|&b| is_quoted_char(b)) {
            self.buf.push(b'"');
            for &b in s {
                if b == b'"' || b == b'\\' {
                    self.buf.push(b'\\');
                }
                self.buf.push(b);
            }
            self.buf.push(b'"');
        } else {
            self.literal(s);
        }
    }

    /// An atom when every byte is an ASTRING-CHAR, else a string.
    pub(crate) fn astring(&mut self, s: &[u8]) {
        if !s.is_empty() && s.len() <= MAX_QUOTED && s.iter().all(|&b| is_astring_char(b)) {
            self.raw(s);
        } else {
            self.string(s);
        }
    }

    /// Message data: NIL or always a literal (as servers usually send it).
    pub(crate) fn nliteral(&mut self, s: Option<&[u8]>) {
        match s {
            None => self.raw(b"NIL"),
            Some(s) => self.literal(s),
        }
    }

    pub(crate) fn nstring(&mut self, s: Option<&[u8]>) {
        match s {
            None => self.raw(b"NIL"),
            Some(s) => self.string(s),
        }
    }

    /// A mailbox name in modified UTF-7 (RFC 3501 §5.1.3).
    pub(crate) fn mailbox(&mut self, m: &MailboxName) {
        let wire = m.to_modified_utf7();
        self.astring(wire.as_bytes());
    }

    /// Text in a pattern position: list-chars stay bare.
    pub(crate) fn list_mailbox(&mut self, s: &str) {
        let wire = crate::types::encode_modified_utf7(s);
        let b = wire.as_bytes();
        if !b.is_empty() && b.iter().all(|&c| crate::lexer::is_list_char(c)) {
            self.raw(b);
        } else {
            self.string(b);
        }
    }

    /// An atom known to be valid.
    pub(crate) fn atom(&mut self, s: &str) {
        debug_assert!(s.bytes().all(is_atom_char));
        self.raw(s.as_bytes());
    }

    /// Text after a status or continuation: 7-bit, no CR/LF/NUL (RFC 3501
    /// §9 `text`); others are replaced. Without a response code before it,
    /// a leading `[` would read as one and is replaced too.
    pub(crate) fn text(&mut self, s: &str, after_code: bool) {
        for (i, ch) in s.chars().enumerate() {
            let b = if ch.is_ascii() { ch as u8 } else { b'?' };
            let b = match b {
                b'\r' | b'\n' | 0 => b' ',
                b'[' if i == 0 && !after_code => b'(',
                b => b,
            };
            self.buf.push(b);
        }
    }

    pub(crate) fn sequence_set(&mut self, s: &SequenceSet) {
        match s {
            SequenceSet::SearchResult => self.byte(b'$'),
            SequenceSet::Ranges(ranges) => {
                for (i, r) in ranges.iter().enumerate() {
                    if i > 0 {
                        self.byte(b',');
                    }
                    self.seq_bound(r.start);
                    if r.end != r.start {
                        self.byte(b':');
                        self.seq_bound(r.end);
                    }
                }
            }
        }
    }

    fn seq_bound(&mut self, b: SeqBound) {
        match b {
            SeqBound::Number(n) => self.num(n.get()),
            SeqBound::Star => self.byte(b'*'),
        }
    }

    pub(crate) fn flag(&mut self, f: &Flag) {
        let _ = write!(self.buf, "{f}");
    }

    pub(crate) fn flag_fetch(&mut self, f: &FlagFetch) {
        match f {
            FlagFetch::Flag(f) => self.flag(f),
            FlagFetch::Recent => self.raw(b"\\Recent"),
        }
    }

    pub(crate) fn flag_perm(&mut self, f: &FlagPerm) {
        match f {
            FlagPerm::Flag(f) => self.flag(f),
            FlagPerm::AnyKeyword => self.raw(b"\\*"),
        }
    }

    pub(crate) fn list<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) {
        self.byte(b'(');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.sp();
            }
            each(self, item);
        }
        self.byte(b')');
    }

    /// `date-time` (RFC 3501 §9), quoted.
    pub(crate) fn date_time(&mut self, d: &InternalDate) {
        self.byte(b'"');
        self.raw(d.to_imap_string().as_bytes());
        self.byte(b'"');
    }

    /// `date` (RFC 3501 §9): `d-Mon-yyyy`.
    pub(crate) fn date(&mut self, d: chrono::NaiveDate) {
        let _ = write!(
            self.buf,
            "{}-{}-{:04}",
            d.day(),
            MONTHS[d.month0() as usize],
            d.year()
        );
    }

    pub(crate) fn delimiter(&mut self, d: Option<char>) {
        match d {
            None => self.raw(b"NIL"),
            Some(c) => {
                let mut tmp = [0u8; 4];
                self.string(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
    }

    /// `envelope` (RFC 3501 §9).
    pub(crate) fn envelope(&mut self, e: &Envelope) {
        self.byte(b'(');
        self.nstring(e.date.as_deref());
        self.sp();
        self.nstring(e.subject.as_deref());
        for addrs in [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc] {
            self.sp();
            self.addresses(addrs);
        }
        self.sp();
        self.nstring(e.in_reply_to.as_deref());
        self.sp();
        self.nstring(e.message_id.as_deref());
        self.byte(b')');
    }

    fn addresses(&mut self, a: &[Address]) {
        if a.is_empty() {
            self.raw(b"NIL");
            return;
        }
        self.byte(b'(');
        for addr in a {
            self.byte(b'(');
            self.nstring(addr.name.as_deref());
            self.sp();
            self.nstring(addr.adl.as_deref());
            self.sp();
            self.nstring(addr.mailbox.as_deref());
            self.sp();
            self.nstring(addr.host.as_deref());
            self.byte(b')');
        }
        self.byte(b')');
    }

    /// Values may hold 8-bit octets: `string` sends them as a literal, as a
    /// quoted string is 7-bit (RFC 3501 §4.3, §9).
    fn params(&mut self, p: &[(String, Vec<u8>)]) {
        if p.is_empty() {
            self.raw(b"NIL");
            return;
        }
        self.list(p, |w, (k, v)| {
            w.string(k.as_bytes());
            w.sp();
            w.string(v);
        });
    }

    fn nstr(&mut self, s: &Option<String>) {
        self.nstring(s.as_deref().map(str::as_bytes));
    }

    /// `body` (RFC 3501 §9) with or without extension data, written with
    /// an explicit stack so any depth can be encoded.
    pub(crate) fn body_structure(&mut self, root: &BodyStructure, extensions: bool) {
        enum Task<'a> {
            Body(&'a BodyStructure),
            AfterParts(&'a BodyStructure),
            AfterMessage(&'a BodyStructure),
        }
        let mut stack = vec![Task::Body(root)];
        while let Some(task) = stack.pop() {
            match task {
                Task::Body(b @ BodyStructure::Multipart { parts, .. }) => {
                    self.byte(b'(');
                    stack.push(Task::AfterParts(b));
                    stack.extend(parts.iter().rev().map(Task::Body));
                }
                Task::Body(b @ BodyStructure::Single { part, .. }) => {
                    self.byte(b'(');
                    self.string(part.media_type.as_bytes());
                    self.sp();
                    self.string(part.media_subtype.as_bytes());
                    self.sp();
                    self.params(&part.fields.params);
                    self.sp();
                    self.nstr(&part.fields.id);
                    self.sp();
                    self.nstr(&part.fields.description);
                    self.sp();
                    self.string(part.fields.encoding.as_bytes());
                    self.sp();
                    self.num(part.fields.octets);
                    match &part.kind {
                        SinglePartKind::Basic => self.single_tail(b, None, extensions),
                        SinglePartKind::Text { lines } => {
                            self.single_tail(b, Some(*lines), extensions)
                        }
                        SinglePartKind::Message { envelope, body, .. } => {
                            self.sp();
                            self.envelope(envelope);
                            self.sp();
                            stack.push(Task::AfterMessage(b));
                            stack.push(Task::Body(body));
                        }
                    }
                }
                Task::AfterMessage(b) => {
                    let lines = match b {
                        BodyStructure::Single {
                            part:
                                crate::types::SinglePart {
                                    kind: SinglePartKind::Message { lines, .. },
                                    ..
                                },
                            ..
                        } => *lines,
                        _ => 0,
                    };
                    self.single_tail(b, Some(lines), extensions);
                }
                Task::AfterParts(BodyStructure::Multipart {
                    subtype, extension, ..
                }) => {
                    self.sp();
                    self.string(subtype.as_bytes());
                    if let (true, Some(ext)) = (extensions, extension) {
                        self.sp();
                        self.params(&ext.params);
                        self.ext_tail(ext.tail.as_ref());
                    }
                    self.byte(b')');
                }
                Task::AfterParts(_) => {}
            }
        }
    }

    fn single_tail(&mut self, b: &BodyStructure, lines: Option<u32>, extensions: bool) {
        if let Some(lines) = lines {
            self.sp();
            self.num(lines);
        }
        if let (
            true,
            BodyStructure::Single {
                extension: Some(ext),
                ..
            },
        ) = (extensions, b)
        {
            self.sp();
            self.nstr(&ext.md5);
            self.ext_tail(ext.tail.as_ref());
        }
        self.byte(b')');
    }

    fn ext_tail(&mut self, tail: Option<&ExtensionTail>) {
        let Some(tail) = tail else { return };
        self.sp();
        match &tail.disposition {
            None => self.raw(b"NIL"),
            Some(d) => {
                self.byte(b'(');
                self.string(d.kind.as_bytes());
                self.sp();
                self.params(&d.params);
                self.byte(b')');
            }
        }
        let Some(lang) = &tail.language else { return };
        self.sp();
        match lang.languages.as_slice() {
            [] => self.raw(b"NIL"),
            [one] => self.string(one.as_bytes()),
            many => self.list(many, |w, l| w.string(l.as_bytes())),
        }
        let Some(loc) = &lang.location else { return };
        self.sp();
        self.nstr(&loc.location);
        for e in &loc.extensions {
            self.sp();
            self.body_extension(e);
        }
    }

    /// `body-extension`, without recursion.
    fn body_extension(&mut self, root: &BodyExtension) {
        enum Task<'a> {
            Ext(&'a BodyExtension),
            Raw(u8),
        }
        let mut stack = vec![Task::Ext(root)];
        while let Some(t) = stack.pop() {
            match t {
                Task::Raw(b) => self.byte(b),
                Task::Ext(BodyExtension::NString(s)) => self.nstr(s),
                Task::Ext(BodyExtension::Number(n)) => self.num(*n),
                Task::Ext(BodyExtension::List(items)) => {
                    self.byte(b'(');
                    stack.push(Task::Raw(b')'));
                    for (i, item) in items.iter().enumerate().rev() {
                        stack.push(Task::Ext(item));
                        if i > 0 {
                            stack.push(Task::Raw(b' '));
                        }
                    }
                }
            }
        }
    }

    /// Numbers separated by spaces, with a leading space each.
    pub(crate) fn numbers(&mut self, n: &[NonZeroU32]) {
        for x in n {
            self.sp();
            self.num(x.get());
        }
    }
}
