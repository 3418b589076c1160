//! The lexical layer shared by the command and response parsers (RFC 3501
//! §4, §9): a cursor over one complete message with the primitive
//! productions. Every error carries the byte offset and what was expected.

use std::borrow::Cow;
use std::num::NonZeroU32;

use chrono::{FixedOffset, NaiveDate, NaiveTime, TimeZone};

use crate::error::ParseError;
use crate::types::{
    Flag, FlagFetch, FlagPerm, InternalDate, Keyword, MailboxName, SeqBound, SeqRange, SequenceSet,
    decode_modified_utf7,
};

/// Character classes, one bit each, looked up in [`CLASS`].
const ATOM: u8 = 1;
const ASTRING: u8 = 2;
const LIST: u8 = 4;
const TAG: u8 = 8;
const WORD: u8 = 16;
const QUOTED: u8 = 32;
/// A quoted-string character that is neither `"` nor `\\`.
const QUOTED_PLAIN: u8 = 64;

/// The class bits of every byte, computed once at compile time from the
/// RFC 3501 §9 productions below.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        // ATOM-CHAR: any CHAR except atom-specials (CTL, SP, "(" ")" "{"
        // list-wildcards quoted-specials resp-specials).
        let atom = b >= 0x21
            && b <= 0x7e
            && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']');
        let astring = atom || b == b']';
        let mut bits = 0;
        if atom {
            bits |= ATOM;
        }
        if astring {
            bits |= ASTRING;
        }
        if astring || b == b'%' || b == b'*' {
            bits |= LIST;
        }
        if astring && b != b'+' {
            bits |= TAG;
        }
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
            bits |= WORD;
        }
        if b >= 0x01 && b <= 0x7f && b != b'\r' && b != b'\n' {
            bits |= QUOTED;
            if b != b'"' && b != b'\\' {
                bits |= QUOTED_PLAIN;
            }
        }
        t[i] = bits;
        i += 1;
    }
    t
};

#[inline]
fn class(b: u8, bit: u8) -> bool {
    CLASS[usize::from(b)] & bit != 0
}

/// RFC 3501 §9 `ATOM-CHAR`: any CHAR except atom-specials.
pub(crate) fn is_atom_char(b: u8) -> bool {
    class(b, ATOM)
}

/// RFC 3501 §9 `ASTRING-CHAR = ATOM-CHAR / resp-specials`.
pub(crate) fn is_astring_char(b: u8) -> bool {
    class(b, ASTRING)
}

/// RFC 3501 §9 `list-char = ATOM-CHAR / list-wildcards / resp-specials`.
pub(crate) fn is_list_char(b: u8) -> bool {
    class(b, LIST)
}

/// RFC 3501 §9 `tag = 1*<any ASTRING-CHAR except "+">`.
pub(crate) fn is_tag_char(b: u8) -> bool {
    class(b, TAG)
}

/// Letters, digits, `.` and `-`: the bytes of keywords ([`Cursor::word`]).
pub(crate) fn is_word_char(b: u8) -> bool {
    class(b, WORD)
}

/// RFC 3501 §9 `TEXT-CHAR`, restricted to 7 bits for quoted strings.
pub(crate) fn is_quoted_char(b: u8) -> bool {
    class(b, QUOTED)
}

/// Whether `data` holds a NUL byte. Blocks of 64 bytes are reduced with
/// `min`, which the compiler turns into SIMD; literals are scanned at
/// memory speed.
pub(crate) fn has_nul(data: &[u8]) -> bool {
    let mut blocks = data.chunks_exact(64);
    for block in &mut blocks {
        if block.iter().fold(u8::MAX, |m, &b| m.min(b)) == 0 {
            return true;
        }
    }
    blocks.remainder().contains(&0)
}

/// A `String` from bytes the caller has checked to be ASCII. For the short
/// tokens of IMAP this is cheaper than UTF-8 validation.
pub(crate) fn ascii_string(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

pub(crate) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A cursor over one complete message.
pub(crate) struct Cursor<'a> {
    pub(crate) input: &'a [u8],
    pub(crate) pos: usize,
    /// Where the tag is in `input`, once read.
    pub(crate) tag: Option<(usize, usize)>,
    /// Whether `{n+}` literals are accepted (commands only).
    pub(crate) non_sync_literals: bool,
    /// Whether `text` may hold 8-bit (UTF-8) characters.
    pub(crate) eight_bit_text: bool,
    /// A prefix of `input` known to be UTF-8, so the text of atoms and
    /// strings inside it is sliced out without validating each one.
    utf8_prefix: &'a str,
    /// How far `input` was validated for `utf8_prefix`; beyond the prefix
    /// up to here, input is not UTF-8 and slices are checked one by one.
    utf8_checked: usize,
}

pub(crate) type PResult<T> = Result<T, ParseError>;

impl<'a> Cursor<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Cursor<'a> {
        Cursor {
            input,
            pos: 0,
            tag: None,
            non_sync_literals: false,
            eight_bit_text: false,
            utf8_prefix: "",
            utf8_checked: 0,
        }
    }

    /// `input[start..end]` as text, if it is UTF-8. Validation runs over
    /// a growing prefix of the message (doubling, so every byte is
    /// validated at most twice in all) instead of once per token.
    #[inline]
    pub(crate) fn str_at(&mut self, start: usize, end: usize) -> Option<&'a str> {
        if end > self.utf8_prefix.len() {
            if end > self.utf8_checked {
                self.grow_utf8_prefix(end);
            }
            if end > self.utf8_prefix.len() {
                return std::str::from_utf8(&self.input[start..end]).ok();
            }
        }
        self.utf8_prefix.get(start..end)
    }

    #[cold]
    fn grow_utf8_prefix(&mut self, end: usize) {
        // A message of up to 1 KiB (most lines) is validated in one go;
        // in a longer one (a literal), only as far as tokens are read.
        let want = if self.input.len() <= 1024 {
            self.input.len()
        } else {
            end.max(self.utf8_checked.saturating_mul(2))
                .max(64)
                .min(self.input.len())
        };
        let bytes = &self.input[..want];
        self.utf8_prefix = match std::str::from_utf8(bytes) {
            Ok(s) => s,
            // The bytes before valid_up_to() are UTF-8 by definition.
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
        };
        self.utf8_checked = want;
    }

    /// `input[start..end]` as an owned `String`, or a UTF-8 error at the
    /// first invalid byte.
    fn string_at(&mut self, start: usize, end: usize) -> PResult<String> {
        match self.str_at(start, end) {
            Some(s) => Ok(s.to_owned()),
            None => {
                let e = std::str::from_utf8(&self.input[start..end])
                    .err()
                    .map_or(0, |e| e.valid_up_to());
                Err(self.err_at(start + e, "UTF-8 text"))
            }
        }
    }

    pub(crate) fn err(&self, expected: &'static str) -> ParseError {
        self.err_at(self.pos, expected)
    }

    pub(crate) fn err_at(&self, offset: usize, expected: &'static str) -> ParseError {
        ParseError {
            offset,
            expected,
            found: self.input.get(offset).copied(),
            tag: self
                .tag
                .map(|(a, b)| String::from_utf8_lossy(&self.input[a..b]).into_owned()),
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    pub(crate) fn peek_at(&self, n: usize) -> Option<u8> {
        self.input.get(self.pos + n).copied()
    }

    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, b: u8, what: &'static str) -> PResult<()> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    pub(crate) fn sp(&mut self) -> PResult<()> {
        self.expect(b' ', "SP")
    }

    /// The CRLF that ends the message; nothing may follow it.
    #[inline]
    pub(crate) fn crlf_end(&mut self) -> PResult<()> {
        if self.input[self.pos..] == *b"\r\n" {
            self.pos += 2;
            Ok(())
        } else if self.peek() == Some(b'\r') {
            Err(self.err_at(self.pos + 1, "LF after CR"))
        } else {
            Err(self.err("CRLF"))
        }
    }

    pub(crate) fn at_crlf(&self) -> bool {
        self.input[self.pos..].starts_with(b"\r\n")
    }

    #[inline]
    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let rest = &self.input[self.pos..];
        let n = rest.iter().position(|&b| !pred(b)).unwrap_or(rest.len());
        self.pos += n;
        &rest[..n]
    }

    /// The bytes from `start` to the cursor as text; only called on runs
    /// of ASCII characters, which are always UTF-8.
    fn ascii_from(&mut self, start: usize) -> &'a str {
        self.str_at(start, self.pos).unwrap_or_default()
    }

    /// A run of letters, digits, `.` and `-`: command names, fetch items,
    /// search keys and the like (compared case-insensitively by callers).
    pub(crate) fn word(&mut self, what: &'static str) -> PResult<&'a str> {
        let start = self.pos;
        let w = self.take_while(is_word_char);
        if w.is_empty() {
            Err(self.err(what))
        } else {
            Ok(self.ascii_from(start))
        }
    }

    /// A [`Cursor::word`] upper-cased into a stack buffer (no allocation).
    /// Words longer than the buffer come back empty, which matches no
    /// keyword.
    pub(crate) fn word_upper(&mut self, what: &'static str) -> PResult<Upper> {
        let w = self.take_while(is_word_char);
        if w.is_empty() {
            return Err(self.err(what));
        }
        Ok(Upper::of(w))
    }

    /// A [`Cursor::word`] upper-cased and packed as [`keyword`] packs, for
    /// matching against keyword constants without going through memory;
    /// 0, which is no keyword, when longer than 16 bytes.
    #[inline]
    pub(crate) fn word_key(&mut self, what: &'static str) -> PResult<u128> {
        let start = self.pos;
        let len = self.take_while(is_word_char).len();
        if len == 0 {
            return Err(self.err(what));
        }
        if len > 16 {
            return Ok(0);
        }
        let lo = ascii_upper_word(le_bytes_at(self.input, start, len.min(8)));
        let hi = if len > 8 {
            ascii_upper_word(le_bytes_at(self.input, start + 8, len - 8))
        } else {
            0
        };
        Ok(u128::from(lo) | (u128::from(hi) << 64))
    }

    /// Whether the input continues with `kw` (case-insensitive) followed by
    /// a byte that cannot continue a word; consumes it if so.
    pub(crate) fn keyword(&mut self, kw: &str) -> bool {
        let end = self.pos + kw.len();
        if end <= self.input.len()
            && self.input[self.pos..end].eq_ignore_ascii_case(kw.as_bytes())
            && !self.input.get(end).is_some_and(|&b| is_word_char(b))
        {
            self.pos = end;
            true
        } else {
            false
        }
    }

    pub(crate) fn atom(&mut self) -> PResult<&'a str> {
        let start = self.pos;
        let a = self.take_while(is_atom_char);
        if a.is_empty() {
            Err(self.err("atom"))
        } else {
            Ok(self.ascii_from(start))
        }
    }

    /// `tag`: the bytes are ASCII tag characters.
    pub(crate) fn tag(&mut self) -> PResult<&'a [u8]> {
        let t = self.take_while(is_tag_char);
        if t.is_empty() {
            Err(self.err("tag"))
        } else {
            Ok(t)
        }
    }

    /// `number`: up to 4294967295 (RFC 3501 §9).
    pub(crate) fn number(&mut self) -> PResult<u32> {
        let start = self.pos;
        let n = self.number64()?;
        u32::try_from(n).map_err(|_| self.err_at(start, "number below 4294967296"))
    }

    /// `nz-number`.
    pub(crate) fn nz_number(&mut self) -> PResult<NonZeroU32> {
        let start = self.pos;
        let n = self.number()?;
        NonZeroU32::new(n).ok_or_else(|| self.err_at(start, "non-zero number"))
    }

    /// `number64` (RFC 9208): up to 2^63-1.
    pub(crate) fn number64(&mut self) -> PResult<u64> {
        let start = self.pos;
        // Up to 18 digits, below 10^18 < 2^63: no overflow to check.
        let mut n: u64 = 0;
        let mut len = 0;
        while let Some(&b) = self.input.get(start + len) {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            n = n * 10 + u64::from(d);
            len += 1;
            if len == 18 {
                break;
            }
        }
        if len < 18 || !self.peek_at(18).is_some_and(|b| b.is_ascii_digit()) {
            if len == 0 {
                return Err(self.err("number"));
            }
            self.pos += len;
            return Ok(n);
        }
        let digits = self.take_while(|b| b.is_ascii_digit());
        let mut n: u64 = 0;
        for &d in digits {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .filter(|&n| n <= i64::MAX as u64)
                .ok_or_else(|| self.err_at(start, "number below 2^63"))?;
        }
        Ok(n)
    }

    /// `quoted` (RFC 3501 §4.3): only `\"` and `\\` are escapes, 7-bit, no
    /// CR or LF.
    pub(crate) fn quoted(&mut self) -> PResult<Cow<'a, [u8]>> {
        match self.quoted_span()? {
            Quoted::Span(start, end) => Ok(Cow::Borrowed(&self.input[start..end])),
            Quoted::Unescaped(v) => Ok(Cow::Owned(v)),
        }
    }

    /// [`Cursor::quoted`], giving the position of the content when it has
    /// no escapes (the common case) so callers can slice it out.
    fn quoted_span(&mut self) -> PResult<Quoted> {
        self.expect(b'"', "quoted string")?;
        let start = self.pos;
        // Fast path: no escapes.
        self.pos = skip_quoted_plain(self.input, self.pos);
        match self.peek() {
            Some(b'"') => {
                let end = self.pos;
                self.pos += 1;
                return Ok(Quoted::Span(start, end));
            }
            Some(b'\\') => {}
            _ => return Err(self.err("7-bit text character or closing quote")),
        }
        let mut out = self.input[start..self.pos].to_vec();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Quoted::Unescaped(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c);
                            self.pos += 1;
                        }
                        _ => return Err(self.err("'\"' or '\\' after backslash")),
                    }
                }
                Some(b) if is_quoted_char(b) => {
                    out.push(b);
                    self.pos += 1;
                }
                _ => return Err(self.err("7-bit text character or closing quote")),
            }
        }
    }

    /// `literal` (RFC 3501 §4.3), or `{n+}` where allowed (RFC 7888).
    pub(crate) fn literal(&mut self) -> PResult<&'a [u8]> {
        let open = self.pos;
        self.expect(b'{', "literal")?;
        let start = self.pos;
        let digits = self.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() {
            return Err(self.err("literal length"));
        }
        let mut n: u64 = 0;
        for &d in digits {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .filter(|&n| n <= u64::from(u32::MAX))
                .ok_or_else(|| self.err_at(start, "literal length below 4294967296"))?;
        }
        if self.peek() == Some(b'+') {
            if !self.non_sync_literals {
                return Err(self.err("'}'"));
            }
            self.pos += 1;
        }
        self.expect(b'}', "'}'")?;
        if !self.at_crlf() {
            return Err(self.err("CRLF after literal length"));
        }
        self.pos += 2;
        let len = usize::try_from(n).map_err(|_| self.err_at(open, "literal that fits memory"))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.input.len())
            .ok_or_else(|| self.err_at(open, "literal data"))?;
        let data = &self.input[self.pos..end];
        // RFC 3501 §9 CHAR8 excludes NUL.
        if has_nul(data) {
            let i = data.iter().position(|&b| b == 0).unwrap_or(0);
            return Err(self.err_at(self.pos + i, "literal octet other than NUL"));
        }
        self.pos = end;
        Ok(data)
    }

    /// `string = quoted / literal`.
    pub(crate) fn string(&mut self) -> PResult<Cow<'a, [u8]>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => self.literal().map(Cow::Borrowed),
            _ => Err(self.err("string")),
        }
    }

    /// `astring = 1*ASTRING-CHAR / string`.
    pub(crate) fn astring(&mut self) -> PResult<Cow<'a, [u8]>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let a = self.take_while(is_astring_char);
                if a.is_empty() {
                    Err(self.err("atom, quoted string or literal"))
                } else {
                    Ok(Cow::Borrowed(a))
                }
            }
        }
    }

    /// `nstring = string / nil`.
    pub(crate) fn nstring(&mut self) -> PResult<Option<Cow<'a, [u8]>>> {
        if self.keyword("NIL") {
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }

    /// A quoted string as text.
    pub(crate) fn quoted_utf8(&mut self) -> PResult<String> {
        let open = self.pos;
        match self.quoted_span()? {
            Quoted::Span(start, end) => self.string_at(start, end),
            Quoted::Unescaped(v) => {
                String::from_utf8(v).map_err(|_| self.err_at(open, "UTF-8 text"))
            }
        }
    }

    /// A literal as text.
    fn literal_utf8(&mut self) -> PResult<String> {
        let data = self.literal()?;
        self.string_at(self.pos - data.len(), self.pos)
    }

    pub(crate) fn astring_utf8(&mut self) -> PResult<String> {
        match self.peek() {
            Some(b'"') => self.quoted_utf8(),
            Some(b'{') => self.literal_utf8(),
            _ => {
                let start = self.pos;
                let a = self.take_while(is_astring_char);
                if a.is_empty() {
                    Err(self.err("atom, quoted string or literal"))
                } else {
                    Ok(self.ascii_from(start).to_owned())
                }
            }
        }
    }

    pub(crate) fn string_utf8(&mut self) -> PResult<String> {
        if let Some(s) = self.plain_quoted() {
            return Ok(s.to_owned());
        }
        match self.peek() {
            Some(b'"') => self.quoted_utf8(),
            Some(b'{') => self.literal_utf8(),
            _ => Err(self.err("string")),
        }
    }

    pub(crate) fn nstring_utf8(&mut self) -> PResult<Option<String>> {
        if let Some(s) = self.plain_quoted() {
            return Ok(Some(s.to_owned()));
        }
        if self.keyword("NIL") {
            Ok(None)
        } else {
            self.string_utf8().map(Some)
        }
    }

    /// The common case of a string, read without building an error value
    /// on the way: a quoted string without escapes. `None` (the cursor
    /// unmoved) for anything else, which the general path then reads or
    /// reports.
    #[inline]
    fn plain_quoted(&mut self) -> Option<&'a str> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.pos + 1;
        let end = skip_quoted_plain(self.input, start);
        if self.input.get(end) != Some(&b'"') {
            return None;
        }
        let s = self.str_at(start, end)?;
        self.pos = end + 1;
        Some(s)
    }

    pub(crate) fn nstring_bytes(&mut self) -> PResult<Option<Vec<u8>>> {
        Ok(self.nstring()?.map(Cow::into_owned))
    }

    /// `mailbox = "INBOX" / astring`, decoded from modified UTF-7 (RFC 3501
    /// §5.1.3); any case of INBOX is INBOX (§9).
    ///
    /// The common case, an atom without `&` (so standing for itself),
    /// is handled inline; the rest by [`Cursor::mailbox_general`].
    #[inline(always)]
    pub(crate) fn mailbox(&mut self) -> PResult<MailboxName> {
        let start = self.pos;
        // `"` and `{` are not ASTRING-CHARs: a quoted string or a literal
        // gives an empty run here.
        let a = self.take_while(is_astring_char);
        if a.eq_ignore_ascii_case(b"INBOX") {
            return Ok(MailboxName::inbox());
        }
        if !a.is_empty() && !a.contains(&b'&') {
            return Ok(MailboxName::new(self.ascii_from(start)));
        }
        self.pos = start;
        self.mailbox_general()
    }

    /// [`Cursor::mailbox`] when it is not an atom without `&`: a quoted
    /// string, a literal, an atom with modified UTF-7 shifts, or an error.
    fn mailbox_general(&mut self) -> PResult<MailboxName> {
        let start = self.pos;
        if !matches!(self.peek(), Some(b'"' | b'{')) && self.take_while(is_astring_char).is_empty()
        {
            return Err(self.err("atom, quoted string or literal"));
        }
        self.pos = start;
        let raw = self.astring()?;
        // Printable ASCII without `&` stands for itself (RFC 3501 §5.1.3):
        // no decoding needed.
        if raw.iter().all(|&b| (0x20..0x7f).contains(&b) && b != b'&') {
            return Ok(MailboxName::new(ascii_string(&raw)));
        }
        // Anything else must be modified UTF-7, which is ASCII: 8-bit
        // bytes (UTF-8 or not) make the name invalid, not the syntax.
        std::str::from_utf8(&raw)
            .ok()
            .and_then(|raw| MailboxName::from_modified_utf7(raw).ok())
            .ok_or_else(|| self.err_at(start, crate::error::INVALID_MAILBOX_NAME))
    }

    /// `list-mailbox = 1*list-char / string`, decoded from modified UTF-7.
    pub(crate) fn list_mailbox(&mut self) -> PResult<String> {
        let start = self.pos;
        let raw = match self.peek() {
            Some(b'"' | b'{') => self.string_utf8()?,
            _ => {
                let a = self.take_while(is_list_char);
                if a.is_empty() {
                    return Err(self.err("list pattern"));
                }
                self.ascii_from(start).to_owned()
            }
        };
        decode_modified_utf7(&raw).map_err(|_| self.err_at(start, "pattern in modified UTF-7"))
    }

    /// `sequence-set` (RFC 3501 §9), or `$` (RFC 5182).
    pub(crate) fn sequence_set(&mut self) -> PResult<SequenceSet> {
        if self.eat(b'$') {
            return Ok(SequenceSet::SearchResult);
        }
        // The capacity Vec would pick on the first push, without the
        // growth call.
        let mut ranges = Vec::with_capacity(4);
        loop {
            let start = self.seq_bound()?;
            let end = if self.eat(b':') {
                self.seq_bound()?
            } else {
                start
            };
            ranges.push(SeqRange { start, end });
            if !self.eat(b',') {
                break;
            }
        }
        Ok(SequenceSet::Ranges(ranges))
    }

    fn seq_bound(&mut self) -> PResult<SeqBound> {
        if self.eat(b'*') {
            Ok(SeqBound::Star)
        } else if self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.nz_number().map(SeqBound::Number)
        } else {
            Err(self.err("sequence number or '*'"))
        }
    }

    /// A `flag` (RFC 3501 §9); `\Recent` is refused (§2.3.2: not storable)
    /// unless `fetch` is set, and `\*` only with `perm`.
    fn flag_any(&mut self) -> PResult<FlagAny> {
        let start = self.pos;
        if self.eat(b'\\') {
            if self.eat(b'*') {
                return Ok(FlagAny::AnyKeyword);
            }
            let a = self.atom()?;
            let f = if a.eq_ignore_ascii_case("Answered") {
                Flag::Answered
            } else if a.eq_ignore_ascii_case("Flagged") {
                Flag::Flagged
            } else if a.eq_ignore_ascii_case("Deleted") {
                Flag::Deleted
            } else if a.eq_ignore_ascii_case("Seen") {
                Flag::Seen
            } else if a.eq_ignore_ascii_case("Draft") {
                Flag::Draft
            } else if a.eq_ignore_ascii_case("Recent") {
                return Ok(FlagAny::Recent);
            } else {
                Flag::Extension(a.to_owned())
            };
            Ok(FlagAny::Flag(f))
        } else {
            let a = self.atom()?;
            Keyword::new(a)
                .map(|k| FlagAny::Flag(Flag::Keyword(k)))
                .map_err(|_| self.err_at(start, "flag keyword"))
        }
    }

    /// `flag`: no `\Recent`, no `\*`.
    pub(crate) fn flag(&mut self) -> PResult<Flag> {
        let start = self.pos;
        match self.flag_any()? {
            FlagAny::Flag(f) => Ok(f),
            FlagAny::Recent => Err(self.err_at(start, "storable flag (\\Recent is not)")),
            FlagAny::AnyKeyword => Err(self.err_at(start, "flag")),
        }
    }

    /// `flag-fetch = flag / "\Recent"`.
    pub(crate) fn flag_fetch(&mut self) -> PResult<FlagFetch> {
        let start = self.pos;
        match self.flag_any()? {
            FlagAny::Flag(f) => Ok(FlagFetch::Flag(f)),
            FlagAny::Recent => Ok(FlagFetch::Recent),
            FlagAny::AnyKeyword => Err(self.err_at(start, "flag")),
        }
    }

    /// `flag-perm = flag / "\*"`.
    pub(crate) fn flag_perm(&mut self) -> PResult<FlagPerm> {
        let start = self.pos;
        match self.flag_any()? {
            FlagAny::Flag(f) => Ok(FlagPerm::Flag(f)),
            FlagAny::AnyKeyword => Ok(FlagPerm::AnyKeyword),
            FlagAny::Recent => Err(self.err_at(start, "flag")),
        }
    }

    /// A parenthesised, space-separated list of `item`s; `allow_empty` says
    /// whether `()` is valid.
    pub(crate) fn paren_list<T>(
        &mut self,
        allow_empty: bool,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        self.expect(b'(', "'('")?;
        if self.eat(b')') {
            if allow_empty {
                return Ok(Vec::new());
            }
            return Err(self.err_at(self.pos - 1, "list item"));
        }
        // What Vec's first push would allocate for items of this size,
        // without the call that grows it.
        let mut out = Vec::with_capacity(if size_of::<T>() <= 1024 { 4 } else { 1 });
        loop {
            out.push(item(self)?);
            if self.eat(b')') {
                return Ok(out);
            }
            self.sp()?;
        }
    }

    /// `date = date-text / DQUOTE date-text DQUOTE` (RFC 3501 §9).
    pub(crate) fn date(&mut self) -> PResult<NaiveDate> {
        let quoted = self.eat(b'"');
        let d = self.date_text()?;
        if quoted {
            self.expect(b'"', "closing quote")?;
        }
        Ok(d)
    }

    fn date_text(&mut self) -> PResult<NaiveDate> {
        let start = self.pos;
        let day = self.take_while(|b| b.is_ascii_digit());
        if day.is_empty() || day.len() > 2 {
            return Err(self.err_at(start, "1 or 2 digit day"));
        }
        let day = u32::from(day[0] - b'0') * if day.len() == 2 { 10 } else { 1 }
            + if day.len() == 2 {
                u32::from(day[1] - b'0')
            } else {
                0
            };
        self.expect(b'-', "'-'")?;
        let month = self.month()?;
        self.expect(b'-', "'-'")?;
        let year = self.digits(4, "4-digit year")?;
        NaiveDate::from_ymd_opt(year as i32, month, day)
            .ok_or_else(|| self.err_at(start, "existing calendar date"))
    }

    fn month(&mut self) -> PResult<u32> {
        let start = self.pos;
        let m = self.input.get(self.pos..self.pos + 3).unwrap_or_default();
        for (i, name) in MONTHS.iter().enumerate() {
            if m.eq_ignore_ascii_case(name.as_bytes()) {
                self.pos += 3;
                return Ok(i as u32 + 1);
            }
        }
        Err(self.err_at(start, "3-letter month name"))
    }

    fn digits(&mut self, n: usize, what: &'static str) -> PResult<u32> {
        let d = self.input.get(self.pos..self.pos + n).unwrap_or_default();
        if d.len() != n || !d.iter().all(u8::is_ascii_digit) {
            return Err(self.err(what));
        }
        self.pos += n;
        Ok(d.iter().fold(0, |acc, &b| acc * 10 + u32::from(b - b'0')))
    }

    /// `date-time` (RFC 3501 §9): quoted, day space-padded or 2 digits.
    pub(crate) fn date_time(&mut self) -> PResult<InternalDate> {
        let start = self.pos;
        self.expect(b'"', "quoted date-time")?;
        let day = if self.eat(b' ') {
            self.digits(1, "day digit")?
        } else {
            self.digits(2, "2-digit or space-padded day")?
        };
        self.expect(b'-', "'-'")?;
        let month = self.month()?;
        self.expect(b'-', "'-'")?;
        let year = self.digits(4, "4-digit year")?;
        self.sp()?;
        let h = self.digits(2, "hours")?;
        self.expect(b':', "':'")?;
        let m = self.digits(2, "minutes")?;
        self.expect(b':', "':'")?;
        let s = self.digits(2, "seconds")?;
        self.sp()?;
        let sign = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(self.err("zone sign")),
        };
        self.pos += 1;
        let zone = self.digits(4, "4-digit zone")?;
        self.expect(b'"', "closing quote")?;
        let offset_secs = sign * ((zone / 100) * 3600 + (zone % 100) * 60) as i32;
        let date = NaiveDate::from_ymd_opt(year as i32, month, day);
        let time = NaiveTime::from_hms_opt(h, m, s);
        let offset = FixedOffset::east_opt(offset_secs);
        match (date, time, offset) {
            (Some(d), Some(t), Some(o)) => match o.from_local_datetime(&d.and_time(t)) {
                chrono::LocalResult::Single(dt) => Ok(InternalDate::from(dt)),
                _ => Err(self.err_at(start, "valid date-time")),
            },
            _ => Err(self.err_at(start, "valid date-time")),
        }
    }

    /// The rest of the line up to CRLF as text (`text = 1*TEXT-CHAR`; may be
    /// empty where callers allow).
    pub(crate) fn text(&mut self) -> PResult<String> {
        self.text_until(0)
    }

    /// Text up to CR, LF, NUL or `stop`; 7-bit unless `eight_bit_text`
    /// (RFC 3501 §9: TEXT-CHAR is a 7-bit CHAR).
    pub(crate) fn text_until(&mut self, stop: u8) -> PResult<String> {
        let start = self.pos;
        let eight_bit = self.eight_bit_text;
        let t = self.take_while(|b| {
            b != b'\r' && b != b'\n' && b != 0 && b != stop && (eight_bit || b < 0x80)
        });
        if self.peek().is_some_and(|b| b >= 0x80) {
            return Err(self.err("7-bit text"));
        }
        let end = start + t.len();
        self.string_at(start, end)
    }
}

/// `s` (ASCII, 1 to 16 bytes) packed for [`Cursor::word_key`]: byte `i`
/// at bits `8 * i`, zeros above.
pub(crate) const fn keyword(s: &str) -> u128 {
    let b = s.as_bytes();
    assert!(!b.is_empty() && b.len() <= 16);
    let mut k = 0;
    let mut i = 0;
    while i < b.len() {
        k |= (b[i] as u128) << (8 * i);
        i += 1;
    }
    k
}

/// `input[start..start + len]` (`len` at most 8, in bounds) as a
/// little-endian word, zero above: one 8-byte load when the input holds 8
/// bytes from `start` or up to `start + len`, so the bytes are gathered in
/// a register rather than copied through memory.
#[inline]
pub(crate) fn le_bytes_at(input: &[u8], start: usize, len: usize) -> u64 {
    debug_assert!(len <= 8 && start + len <= input.len());
    if len == 0 {
        return 0;
    }
    // len is 1..=8, so the shift is 0..=56.
    let shift = 8 * (8 - len as u32);
    if let Some(w) = input.get(start..).and_then(<[u8]>::first_chunk::<8>) {
        (u64::from_le_bytes(*w) << shift) >> shift
    } else if let Some(w) = input.get(..start + len).and_then(<[u8]>::last_chunk::<8>) {
        u64::from_le_bytes(*w) >> shift
    } else {
        input
            .get(start..start + len)
            .unwrap_or_default()
            .iter()
            .rev()
            .fold(0, |acc, &b| (acc << 8) | u64::from(b))
    }
}

/// The longest word [`Upper`] holds.
const UPPER_LEN: usize = 24;

/// An upper-cased word in a stack buffer.
pub(crate) struct Upper {
    buf: [u8; UPPER_LEN],
    len: usize,
}

/// The 8 bytes of `x` with ASCII `a`-`z` upper-cased, other bytes as
/// they are.
#[inline]
fn ascii_upper_word(x: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // On the low 7 bits of each byte no sum carries into the next byte;
    // bit 7 of each sum: set from `a` up, and set above `z`.
    let low = x & !HI;
    let from_a = low + LO * u64::from(0x80 - b'a');
    let above_z = low + LO * u64::from(0x80 - b'z' - 1);
    let lower = from_a & !above_z & !x & HI;
    // 0x80 >> 2 is 0x20, the case bit.
    x ^ (lower >> 2)
}

impl Upper {
    /// `w` upper-cased (ASCII); empty when longer than the buffer.
    ///
    /// Built a word (8 bytes) at a time and stored as whole words: a
    /// byte-wise copy read back by the wider loads of the keyword matches
    /// stalls store forwarding.
    #[inline]
    pub(crate) fn of(w: &[u8]) -> Upper {
        let mut words = [0u64; UPPER_LEN / 8];
        let len = if w.len() <= UPPER_LEN {
            for (word, chunk) in words.iter_mut().zip(w.chunks(8)) {
                *word = ascii_upper_word(match chunk.first_chunk::<8>() {
                    Some(c) => u64::from_le_bytes(*c),
                    None => chunk
                        .iter()
                        .rev()
                        .fold(0, |acc, &b| (acc << 8) | u64::from(b)),
                });
            }
            w.len()
        } else {
            0
        };
        let [w0, w1, w2] = words.map(u64::to_le_bytes);
        let mut buf = [0u8; UPPER_LEN];
        buf[..8].copy_from_slice(&w0);
        buf[8..16].copy_from_slice(&w1);
        buf[16..].copy_from_slice(&w2);
        Upper { buf, len }
    }

    /// The upper-cased word (ASCII letters, digits, `.` and `-`).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// A quoted string's content: where it is when it has no escapes, else
/// the unescaped bytes.
enum Quoted {
    Span(usize, usize),
    Unescaped(Vec<u8>),
}

/// The first position at or after `pos` whose byte is not a plain quoted
/// character ([`QUOTED_PLAIN`]), or the end of `input`. Eight bytes at a
/// time while none is `"`, `\\`, below 0x0e (NUL, CR, LF and other
/// controls) or 8-bit (SWAR: the usual "has zero byte" and "has byte less
/// than" tests); then byte by byte from the table.
#[inline]
fn skip_quoted_plain(input: &[u8], mut pos: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while let Some(word) = input.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
        let x = u64::from_le_bytes(*word);
        let quote = x ^ (LO * u64::from(b'"'));
        let backslash = x ^ (LO * u64::from(b'\\'));
        let special = (quote.wrapping_sub(LO) & !quote)
            | (backslash.wrapping_sub(LO) & !backslash)
            | (x.wrapping_sub(LO * 0x0e) & !x)
            | x;
        if special & HI != 0 {
            // The lowest flagged byte is a real hit of one of the tests
            // (borrows only run upwards); the table decides from there.
            pos += (special & HI).trailing_zeros() as usize / 8;
            break;
        }
        pos += 8;
    }
    while input.get(pos).is_some_and(|&b| class(b, QUOTED_PLAIN)) {
        pos += 1;
    }
    pos
}

enum FlagAny {
    Flag(Flag),
    Recent,
    AnyKeyword,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_matches_std_for_every_byte_and_length() {
        // Every byte value in every position of a word, so a carry between
        // bytes in the word-wise upper-casing would show.
        for b in 0..=255u8 {
            for len in 1..=UPPER_LEN {
                for at in 0..len {
                    let mut w: Vec<u8> = (0..len).map(|i| b"aZ-9.q"[i % 6]).collect();
                    w[at] = b;
                    assert_eq!(Upper::of(&w).as_bytes(), w.to_ascii_uppercase(), "{w:?}");
                }
            }
        }
        assert_eq!(Upper::of(&[b'a'; UPPER_LEN + 1]).as_bytes(), b"");
    }

    #[test]
    fn word_keys_pack_upper_cased_words_wherever_they_are() {
        // Every length, at the start, middle and end of inputs of every
        // size, so each of the three ways of loading the bytes is used.
        let word = b"aBcDeFgHiJkLmNoPq";
        for len in 1..=17 {
            let w = &word[..len];
            for before in 0..10 {
                for after in [0, 1, 7, 9] {
                    let mut input = vec![b' '; before];
                    input.extend_from_slice(w);
                    input.extend(std::iter::repeat_n(b' ', after));
                    let mut c = Cursor::new(&input);
                    c.pos = before;
                    let key = c.word_key("word").unwrap();
                    assert_eq!(c.pos, before + len);
                    let upper = String::from_utf8(w.to_ascii_uppercase()).unwrap();
                    if len <= 16 {
                        assert_eq!(key, keyword(&upper), "{input:?}");
                    } else {
                        assert_eq!(key, 0);
                    }
                }
            }
        }
        let mut c = Cursor::new(b" x");
        assert!(c.word_key("word").is_err());
        for i in 0..=8 {
            for len in 0..=8 {
                let input: Vec<u8> = (1..=16).collect();
                if i + len <= 8 {
                    let want = input[i..i + len]
                        .iter()
                        .rev()
                        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
                    assert_eq!(le_bytes_at(&input[..i + len], i, len), want);
                    assert_eq!(le_bytes_at(&input, i, len), want);
                }
            }
        }
    }

    #[test]
    fn character_classes_match_the_grammar() {
        for b in 0..=255u8 {
            let atom = (0x21..=0x7e).contains(&b) && !b"(){%*\"\\]".contains(&b);
            assert_eq!(is_atom_char(b), atom, "{b:#x}");
            assert_eq!(is_astring_char(b), atom || b == b']', "{b:#x}");
            assert_eq!(is_list_char(b), atom || b"]%*".contains(&b), "{b:#x}");
            assert_eq!(is_tag_char(b), (atom || b == b']') && b != b'+', "{b:#x}");
            assert_eq!(
                is_word_char(b),
                b.is_ascii_alphanumeric() || b"-.".contains(&b)
            );
            assert_eq!(
                is_quoted_char(b),
                (1..=0x7f).contains(&b) && b != b'\r' && b != b'\n'
            );
        }
    }

    #[test]
    fn nul_scan() {
        assert!(!has_nul(b""));
        for len in [1usize, 63, 64, 65, 200] {
            let v = vec![b'a'; len];
            assert!(!has_nul(&v));
            for at in 0..len {
                let mut w = v.clone();
                w[at] = 0;
                assert!(has_nul(&w), "{len} {at}");
            }
        }
    }

    #[test]
    fn ascii_strings() {
        assert_eq!(ascii_string(b""), "");
        assert_eq!(ascii_string(b"a1"), "a1");
        let long = b"abcdefghijklmnopqrstuvwxyz0123456789";
        assert_eq!(ascii_string(long), "abcdefghijklmnopqrstuvwxyz0123456789");
    }

    #[test]
    fn quoted_escapes() {
        let mut c = Cursor::new(b"\"a\\\"b\"");
        assert_eq!(&*c.quoted().unwrap(), b"a\"b");
        let mut c = Cursor::new(b"\"a\\b\"");
        let e = c.quoted().unwrap_err();
        assert_eq!(e.offset, 3);
        let mut c = Cursor::new(b"\"caf\xc3\xa9\"");
        assert!(c.quoted().is_err());
    }

    #[test]
    fn quoted_scan_matches_the_table() {
        // Every byte value at every offset of a 20-byte run, so each one
        // is seen by both the 8-byte and the byte-by-byte loop.
        for b in 0..=255u8 {
            for at in 0..20 {
                let mut v = vec![b'a'; 20];
                v[at] = b;
                let want = if class(b, QUOTED_PLAIN) { 20 } else { at };
                assert_eq!(skip_quoted_plain(&v, 0), want, "{b:#x} at {at}");
                assert_eq!(skip_quoted_plain(&v, at.min(3)), want.max(at.min(3)));
            }
        }
        assert_eq!(skip_quoted_plain(b"", 0), 0);
        assert_eq!(skip_quoted_plain(b"ab", 2), 2);
    }

    #[test]
    fn text_after_invalid_utf8() {
        // An 8-bit literal early on: later text is still read, each token
        // validated on its own, and an invalid token is reported where it is.
        let mut input = b"{2}\r\n\xff\xfe ".to_vec();
        for i in 0..200 {
            input.extend_from_slice(format!("\"s{i}\" ").as_bytes());
        }
        input.extend_from_slice(b"\"caf\xc3\xa9\" x\xffy");
        let mut c = Cursor::new(&input);
        assert_eq!(c.literal().unwrap(), b"\xff\xfe");
        for i in 0..200 {
            c.sp().unwrap();
            assert_eq!(c.string_utf8().unwrap(), format!("s{i}"));
        }
        c.sp().unwrap();
        assert!(c.string_utf8().is_err());
        c.pos = input.len() - 3;
        c.eight_bit_text = true;
        let e = c.text().unwrap_err();
        assert_eq!(e.offset, input.len() - 2);
        let mut c = Cursor::new(b"{5}\r\ncaf\xc3\xa9 {2}\r\n\xc3x");
        assert_eq!(c.string_utf8().unwrap(), "caf\u{e9}");
        c.sp().unwrap();
        assert_eq!(c.string_utf8().unwrap_err().offset, 16);
    }

    #[test]
    fn numbers() {
        for n in [0u64, 7, 99_999_999_999_999_999, 999_999_999_999_999_999] {
            let s = format!("{n} ");
            let mut c = Cursor::new(s.as_bytes());
            assert_eq!(c.number64().unwrap(), n);
            assert_eq!(c.pos, s.len() - 1);
        }
        let max = b"9223372036854775807";
        assert_eq!(Cursor::new(max).number64().unwrap(), i64::MAX as u64);
        assert_eq!(
            Cursor::new(b"000000000000000000000042").number64().unwrap(),
            42
        );
        assert!(Cursor::new(b"9223372036854775808").number64().is_err());
        assert!(Cursor::new(b"x").number64().is_err());
        assert_eq!(Cursor::new(b"4294967295").number().unwrap(), u32::MAX);
        let e = Cursor::new(b"4294967296").number().unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(Cursor::new(b"0").nz_number().is_err());
    }

    #[test]
    fn sequence_sets() {
        let mut c = Cursor::new(b"1:3,7,*:4 ");
        let s = c.sequence_set().unwrap();
        let SequenceSet::Ranges(r) = s else { panic!() };
        assert_eq!(r.len(), 3);
        assert!(Cursor::new(b"1,,2").sequence_set().is_err());
        assert!(Cursor::new(b"1, ").sequence_set().is_err());
    }

    #[test]
    fn dates() {
        let d = Cursor::new(b"1-jan-2024").date().unwrap();
        assert_eq!(d, NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        assert!(Cursor::new(b"1-January-2024 ").date().is_err());
        let mut c = Cursor::new(b"\" 1-Jan-2024 10:00:00 +0000\"");
        c.date_time().unwrap();
        assert!(
            Cursor::new(b"\"1-Jan-2024 10:00:00 +0000\"")
                .date_time()
                .is_err()
        );
    }
}
