//! The framer: splits a byte stream into whole IMAP messages (a command or a
//! response line with its literals) before any grammar parsing.
//!
//! RFC 3501 §4.3: a literal is announced by `{n}` (or `{n+}`, RFC 7888) at
//! the very end of a line, and the next `n` octets belong to the same
//! message. The framer finds message ends by looking only at line ends and
//! literal lengths, so literal bytes are never read as commands, a malformed
//! command still yields its tag, and limits are checked before anything is
//! buffered.
//!
//! Input is appended to one buffer and scanned once: every byte is looked at
//! a constant number of times whatever the chunking, and consumed messages
//! are removed from the front only when that costs no more than the bytes
//! already consumed (amortised O(total bytes)).

use postroom_types::Limits;

use crate::error::FrameError;

/// Which side of the protocol the framer reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Reading commands (server side): literals need a continuation unless
    /// `{n+}`, limits depend on the connection state and the command.
    Server,
    /// Reading responses (client side): literals follow at once.
    Client,
}

/// What [`Framer::poll`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole message of `len` bytes (ending in LF) is at
    /// [`Framer::message`]; call [`Framer::consume`] when done with it.
    Message {
        /// Length of the message in bytes.
        len: usize,
    },
    /// A synchronizing literal that fits the limits was announced
    /// (server side): send a continuation request (RFC 3501 §7.5).
    NeedContinuation {
        /// The announced literal size.
        size: u32,
    },
    /// A message was refused by a limit and dropped (its remaining bytes are
    /// skipped as they arrive); answer `tag BAD` (or untagged `BAD`).
    Refused {
        /// The tag of the refused command, when it could be recovered.
        tag: Option<String>,
        /// The command name (upper case) when it could be recovered.
        command: Option<String>,
        /// Why the message was refused.
        error: FrameError,
    },
}

/// The most buffer space reserved for a literal before its bytes arrive.
const RESERVE_AHEAD: usize = 64 * 1024;

/// Room reserved after a literal for the rest of its line.
const LINE_SLACK: usize = 64;

/// Tag, command name and error of a refused message.
type Refusal = (Option<String>, Option<String>, FrameError);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Looking for the LF that ends the current line.
    Line,
    /// Inside a literal with this many bytes still to come.
    Literal { remaining: u64 },
    /// Skipping an over-long line up to its LF; the refusal was reported.
    SkipLine,
}

/// A resumable line-and-literal splitter.
///
/// ```
/// use postroom_imap::framer::{Frame, Framer, Side};
/// use postroom_types::Limits;
///
/// let mut f = Framer::new(Side::Server, Limits::imap_server());
/// f.set_authenticated(true);
/// f.push(b"a1 LOGIN {3}\r\n");
/// assert_eq!(f.poll(), Some(Frame::NeedContinuation { size: 3 }));
/// assert_eq!(f.poll(), None);
/// f.push(b"bob x\r\na2 NOOP\r\n");
/// assert_eq!(f.poll(), Some(Frame::Message { len: 21 }));
/// assert_eq!(f.message(), b"a1 LOGIN {3}\r\nbob x\r\n");
/// f.consume();
/// assert_eq!(f.poll(), Some(Frame::Message { len: 9 }));
/// ```
#[derive(Debug)]
pub struct Framer {
    side: Side,
    limits: Limits,
    authenticated: bool,
    literals: bool,
    literal_minus: bool,
    buf: Vec<u8>,
    /// Start of the current message in `buf`.
    start: usize,
    /// Start of the current line in `buf`.
    line_start: usize,
    /// Everything before `pos` has been examined.
    pos: usize,
    state: State,
    /// Literal bytes in the current message so far.
    message_literals: u64,
    /// Set when the current message was refused: its bytes are dropped as
    /// they arrive and the refusal, unless already reported (`None`), is
    /// reported at its end.
    poisoned: Option<Option<Refusal>>,
    /// Length of a complete message waiting to be consumed.
    ready: Option<usize>,
    /// While inside a literal that is being kept: where it ends in `buf`,
    /// so [`Framer::poll`] can return at once until that many bytes are
    /// buffered. 0 when not in use.
    fast_end: usize,
}

impl Framer {
    /// A framer for `side` with these limits.
    pub fn new(side: Side, limits: Limits) -> Framer {
        Framer {
            side,
            limits,
            authenticated: false,
            literals: true,
            literal_minus: false,
            buf: Vec::new(),
            start: 0,
            line_start: 0,
            pos: 0,
            state: State::Line,
            message_literals: 0,
            poisoned: None,
            ready: None,
            fast_end: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Server side: whether the client has authenticated. Before, every
    /// literal is bounded by `max_unauthenticated_literal`.
    pub fn set_authenticated(&mut self, authenticated: bool) {
        self.authenticated = authenticated;
    }

    /// Server side, LITERAL- (RFC 7888 §5): `{n+}` literals above 4096
    /// bytes are refused (skipped, then answered `BAD [TOOBIG]`).
    pub fn set_literal_minus(&mut self, literal_minus: bool) {
        self.literal_minus = literal_minus;
    }

    /// Whether `{n}` at a line end announces a literal. Off while reading
    /// AUTHENTICATE responses and the `DONE` of IDLE, which are bare lines.
    pub fn set_literals(&mut self, literals: bool) {
        self.literals = literals;
    }

    /// Appends input bytes. Nothing is parsed until [`Framer::poll`].
    #[inline]
    pub fn push(&mut self, input: &[u8]) {
        if input.len() > 32 {
            self.buf.extend_from_slice(input);
            return;
        }
        // Small reads (a slow client, a trickled literal): fixed-size
        // appends compile to plain moves, cheaper than a memcpy call.
        let mut rest = input;
        while let Some((head, tail)) = rest.split_first_chunk::<16>() {
            self.buf.extend_from_slice(head);
            rest = tail;
        }
        if let Some((head, tail)) = rest.split_first_chunk::<8>() {
            self.buf.extend_from_slice(head);
            rest = tail;
        }
        for &b in rest {
            self.buf.push(b);
        }
    }

    /// Bytes buffered and not yet consumed.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The complete message reported by the last [`Frame::Message`].
    pub fn message(&self) -> &[u8] {
        match self.ready {
            Some(len) => &self.buf[self.start..self.start + len],
            None => &[],
        }
    }

    /// Drops the message reported by the last [`Frame::Message`].
    pub fn consume(&mut self) {
        if let Some(len) = self.ready.take() {
            self.start += len;
            self.line_start = self.start;
            self.pos = self.start;
            self.message_literals = 0;
            self.compact();
        }
    }

    /// Discards every buffered byte after the current message (STARTTLS:
    /// RFC 3501 §6.2.1, the command-injection rule of RFC 2595) and returns
    /// how many were dropped.
    pub fn discard_buffered(&mut self) -> usize {
        self.consume();
        let dropped = self.buf.len() - self.start;
        self.buf.clear();
        self.start = 0;
        self.line_start = 0;
        self.pos = 0;
        self.state = State::Line;
        self.poisoned = None;
        self.message_literals = 0;
        self.fast_end = 0;
        dropped
    }

    /// Advances over buffered input and reports the next event, or `None`
    /// when more input is needed (or a reported message is not consumed).
    #[inline]
    pub fn poll(&mut self) -> Option<Frame> {
        // The common case of small chunks inside a big literal: nothing to
        // do until the literal is complete.
        if self.buf.len() < self.fast_end {
            return None;
        }
        self.poll_general()
    }

    /// [`Framer::poll`] for every state.
    fn poll_general(&mut self) -> Option<Frame> {
        self.fast_end = 0;
        if self.ready.is_some() {
            return None;
        }
        loop {
            match self.state {
                State::Literal { remaining } => {
                    let available = (self.buf.len() - self.pos) as u64;
                    let take = remaining.min(available);
                    // take <= available, which is a usize
                    self.pos += take as usize;
                    if self.poisoned.is_some() {
                        self.drop_examined();
                    }
                    if take < remaining {
                        let remaining = remaining - take;
                        self.state = State::Literal { remaining };
                        if self.poisoned.is_none() {
                            // pos did not move while the fast path ran,
                            // so `remaining` stays relative to it.
                            self.fast_end = usize::try_from(remaining)
                                .ok()
                                .and_then(|r| self.pos.checked_add(r))
                                .unwrap_or(0);
                        }
                        return None;
                    }
                    self.state = State::Line;
                    self.line_start = self.pos;
                }
                State::SkipLine => match memchr_lf(&self.buf[self.pos..]) {
                    Some(i) => {
                        self.pos += i + 1;
                        self.drop_examined();
                        self.state = State::Line;
                        self.line_start = self.pos;
                    }
                    None => {
                        self.pos = self.buf.len();
                        self.drop_examined();
                        return None;
                    }
                },
                State::Line => {
                    let Some(i) = memchr_lf(&self.buf[self.pos..]) else {
                        self.pos = self.buf.len();
                        if self.pos - self.line_start > self.limits.max_line.saturating_add(2) {
                            return Some(self.refuse_long_line());
                        }
                        return None;
                    };
                    let end = self.pos + i + 1;
                    self.pos = end;
                    if end - self.line_start > self.limits.max_line.saturating_add(2) {
                        // The whole over-long line is here: refuse it and
                        // drop it; the next line starts a new message.
                        let frame = self.refuse_long_line();
                        self.state = State::Line;
                        self.drop_examined();
                        self.line_start = self.pos;
                        return Some(frame);
                    }
                    let announced = if self.literals {
                        literal_at_line_end(&self.buf[self.line_start..end])
                    } else {
                        None
                    };
                    match announced {
                        Some((size, non_sync)) => {
                            if let Some(frame) = self.begin_literal(size, non_sync) {
                                return Some(frame);
                            }
                        }
                        None => {
                            // End of the message.
                            if let Some(report) = self.poisoned.take() {
                                self.drop_examined();
                                self.line_start = self.pos;
                                self.message_literals = 0;
                                match report {
                                    Some((tag, command, error)) => {
                                        return Some(Frame::Refused {
                                            tag,
                                            command,
                                            error,
                                        });
                                    }
                                    None => continue,
                                }
                            }
                            let len = end - self.start;
                            self.ready = Some(len);
                            return Some(Frame::Message { len });
                        }
                    }
                }
            }
        }
    }

    /// Handles a literal announced at the end of the line just read.
    fn begin_literal(&mut self, size: u32, non_sync: bool) -> Option<Frame> {
        let size64 = u64::from(size);
        if self.poisoned.is_some() {
            // Already refused: skip the literal without looking at it. A
            // synchronizing literal of a refused command is never sent.
            if non_sync || self.side == Side::Client {
                self.state = State::Literal { remaining: size64 };
                self.drop_examined();
                return None;
            }
            let report = self.poisoned.take()?;
            self.drop_examined();
            self.line_start = self.pos;
            let (tag, command, error) = report?;
            return Some(Frame::Refused {
                tag,
                command,
                error,
            });
        }
        let mut limit = self.literal_limit();
        if non_sync && self.literal_minus && self.side == Side::Server {
            limit = limit.min(4096);
        }
        let total = self.message_literals.saturating_add(size64);
        let error = if size64 > limit {
            Some(FrameError::LiteralTooLarge {
                size: size64,
                limit,
                synchronizing: !non_sync,
            })
        } else if total > self.limits.max_message {
            Some(FrameError::MessageTooLarge {
                limit: self.limits.max_message,
            })
        } else {
            None
        };
        match error {
            None => {
                self.message_literals = total;
                self.state = State::Literal { remaining: size64 };
                self.line_start = self.pos;
                // Make room for the literal now rather than growing the
                // buffer chunk by chunk; the size passed the limits, and at
                // most RESERVE_AHEAD bytes are reserved before they arrive.
                // The slack covers what usually follows a literal on its
                // line (`)` CRLF after a FETCH item, the CRLF after an
                // APPEND), so the message does not outgrow the buffer by a
                // few bytes and have it reallocated and copied whole.
                let ahead = usize::try_from(size64)
                    .unwrap_or(usize::MAX)
                    .min(RESERVE_AHEAD)
                    .saturating_add(LINE_SLACK);
                let have = self.buf.len() - self.pos;
                self.buf.reserve(ahead.saturating_sub(have));
                if self.side == Side::Server && !non_sync {
                    Some(Frame::NeedContinuation { size })
                } else {
                    None
                }
            }
            Some(error) => {
                let tag = self.recover_tag();
                let command = self.recover_command();
                self.drop_examined();
                self.line_start = self.pos;
                if self.side == Side::Server && !non_sync {
                    // RFC 3501 §7.5: refuse before the continuation; the
                    // client then sends nothing more of this command.
                    self.message_literals = 0;
                    Some(Frame::Refused {
                        tag,
                        command,
                        error,
                    })
                } else if self.side == Side::Server {
                    // The bytes come anyway (RFC 7888 §4): skip them and
                    // the rest of the command, then report.
                    self.poisoned = Some(Some((tag, command, error)));
                    self.state = State::Literal { remaining: size64 };
                    None
                } else {
                    // A response: report now, then skip its bytes.
                    self.poisoned = Some(None);
                    self.state = State::Literal { remaining: size64 };
                    Some(Frame::Refused {
                        tag,
                        command,
                        error,
                    })
                }
            }
        }
    }

    fn refuse_long_line(&mut self) -> Frame {
        let tag = self.recover_tag();
        let command = self.recover_command();
        let error = FrameError::LineTooLong {
            limit: self.limits.max_line,
        };
        self.poisoned = None;
        self.state = State::SkipLine;
        self.drop_examined();
        self.line_start = self.pos;
        self.message_literals = 0;
        Frame::Refused {
            tag,
            command,
            error,
        }
    }

    fn literal_limit(&self) -> u64 {
        match self.side {
            Side::Client => self.limits.max_literal,
            Side::Server if !self.authenticated => self.limits.max_unauthenticated_literal,
            Side::Server => {
                if self.recover_command().as_deref() == Some("APPEND") {
                    self.limits.max_append_literal
                } else {
                    self.limits.max_literal
                }
            }
        }
    }

    /// The tag of the current message, if its first line is buffered up to
    /// the first SP and the tag is well formed (RFC 3501 §9 `tag`).
    pub fn recover_tag(&self) -> Option<String> {
        let msg = &self.buf[self.start..self.pos];
        let sp = msg.iter().position(|&b| b == b' ')?;
        let tag = &msg[..sp];
        if !tag.is_empty() && tag.iter().all(|&b| is_tag_char(b)) {
            // all bytes are ASCII tag characters
            Some(String::from_utf8_lossy(tag).into_owned())
        } else {
            None
        }
    }

    /// The command name of the current message, upper-cased; `UID` is
    /// skipped so `UID FETCH` gives `FETCH`.
    pub fn recover_command(&self) -> Option<String> {
        let msg = &self.buf[self.start..self.pos];
        let mut words = msg
            .split(|&b| b == b' ' || b == b'\r' || b == b'\n')
            .skip(1)
            .filter(|w| !w.is_empty());
        let mut name = words.next()?;
        if name.eq_ignore_ascii_case(b"UID") {
            name = words.next()?;
        }
        if name.len() > 32 || !name.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        Some(String::from_utf8_lossy(name).to_ascii_uppercase())
    }

    /// Drops every examined byte of a refused message.
    fn drop_examined(&mut self) {
        self.start = self.pos;
        self.line_start = self.line_start.max(self.start);
        self.compact();
    }

    /// Removes consumed bytes from the front when that moves no more bytes
    /// than were consumed, keeping the total cost linear.
    fn compact(&mut self) {
        // Only ever set between polls inside a literal, never compacted.
        debug_assert_eq!(self.fast_end, 0);
        if self.start == 0 {
            return;
        }
        if self.start == self.buf.len() {
            self.buf.clear();
        } else if self.start >= self.buf.len() - self.start {
            self.buf.drain(..self.start);
        } else {
            return;
        }
        self.pos -= self.start;
        self.line_start -= self.start;
        self.start = 0;
        // Give back the memory of a big message (an APPEND literal) once
        // it is consumed, so an idle connection does not keep it.
        const KEEP: usize = 64 * 1024;
        if self.buf.capacity() > 4 * self.buf.len().max(KEEP) {
            self.buf.shrink_to(self.buf.len().max(KEEP));
        }
    }
}

/// RFC 3501 §9: `tag = 1*<any ASTRING-CHAR except "+">`.
pub(crate) fn is_tag_char(b: u8) -> bool {
    crate::lexer::is_tag_char(b)
}

/// The first LF, eight bytes at a time (SWAR: a byte of `x ^ LF` is zero
/// exactly where `x` holds LF).
fn memchr_lf(haystack: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const LF: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut chunks = haystack.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ LF;
        if x.wrapping_sub(LO) & !x & HI != 0 {
            break;
        }
        offset += 8;
    }
    haystack[offset..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| offset + i)
}

/// Finds `{n}` or `{n+}` immediately before the CRLF ending `line`
/// (RFC 3501 §4.3, RFC 7888 §3). `n` must fit in 32 bits (RFC 3501 §9
/// `number`); a longer number is no literal, and the grammar parser reports
/// it as a syntax error.
pub(crate) fn literal_at_line_end(line: &[u8]) -> Option<(u32, bool)> {
    let body = line.strip_suffix(b"\r\n")?;
    let body = body.strip_suffix(b"}")?;
    let (body, non_sync) = match body.strip_suffix(b"+") {
        Some(b) => (b, true),
        None => (body, false),
    };
    let digits_start = body
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let digits = &body[digits_start..];
    if digits.is_empty() || digits_start == 0 || body[digits_start - 1] != b'{' {
        return None;
    }
    let mut n: u64 = 0;
    for &d in digits {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        if n > u64::from(u32::MAX) {
            return None;
        }
    }
    Some((u32::try_from(n).ok()?, non_sync))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(auth: bool) -> Framer {
        let mut f = Framer::new(Side::Server, Limits::imap_server());
        f.set_authenticated(auth);
        f
    }

    fn drain(f: &mut Framer) -> Vec<Result<Vec<u8>, Frame>> {
        let mut out = Vec::new();
        while let Some(frame) = f.poll() {
            match frame {
                Frame::Message { .. } => {
                    out.push(Ok(f.message().to_vec()));
                    f.consume();
                }
                other => out.push(Err(other)),
            }
        }
        out
    }

    #[test]
    fn lf_search() {
        for len in 0..40 {
            for at in 0..len {
                let mut v = vec![b'a'; len];
                v[at] = b'\n';
                if at + 1 < len {
                    v[len - 1] = b'\n';
                }
                assert_eq!(memchr_lf(&v), Some(at), "{len} {at}");
            }
            assert_eq!(memchr_lf(&vec![0x8a; len]), None);
            assert_eq!(memchr_lf(&vec![b'a'; len]), None);
        }
    }

    #[test]
    fn literal_detection() {
        assert_eq!(literal_at_line_end(b"a {5}\r\n"), Some((5, false)));
        assert_eq!(literal_at_line_end(b"a {5+}\r\n"), Some((5, true)));
        assert_eq!(literal_at_line_end(b"a {0}\r\n"), Some((0, false)));
        assert_eq!(
            literal_at_line_end(b"a {4294967295}\r\n"),
            Some((u32::MAX, false))
        );
        assert_eq!(literal_at_line_end(b"a {4294967296}\r\n"), None);
        assert_eq!(
            literal_at_line_end(b"a {99999999999999999999999}\r\n"),
            None
        );
        assert_eq!(literal_at_line_end(b"a {}\r\n"), None);
        assert_eq!(literal_at_line_end(b"a {5}\n"), None);
        assert_eq!(literal_at_line_end(b"a 5}\r\n"), None);
        assert_eq!(literal_at_line_end(b"{5}\r\n"), Some((5, false)));
    }

    #[test]
    fn splits_pipelined_commands_in_any_chunking() {
        let input =
            b"a1 NOOP\r\na2 LOGIN {3+}\r\nbob {2+}\r\npw\r\na3 APPEND x {4+}\r\n\r\n\r\n\r\n";
        let whole = {
            let mut f = server(true);
            f.push(input);
            drain(&mut f)
        };
        assert_eq!(whole.len(), 3);
        assert_eq!(
            whole[1],
            Ok(b"a2 LOGIN {3+}\r\nbob {2+}\r\npw\r\n".to_vec())
        );
        assert_eq!(whole[2], Ok(b"a3 APPEND x {4+}\r\n\r\n\r\n\r\n".to_vec()));
        for chunk in 1..input.len() {
            let mut f = server(true);
            let mut got = Vec::new();
            for c in input.chunks(chunk) {
                f.push(c);
                got.extend(drain(&mut f));
            }
            assert_eq!(got, whole, "chunk {chunk}");
        }
    }

    #[test]
    fn long_literals_in_uneven_chunks() {
        // Literal bytes that look like line ends and literal announcements
        // must be skipped, whatever the chunk boundaries.
        let mut body = Vec::new();
        for i in 0..40 {
            body.extend_from_slice(format!("x{i} {{5}}\r\n").as_bytes());
        }
        let mut input = format!("* 1 FETCH (BODY[] {{{}}}\r\n", body.len()).into_bytes();
        input.extend_from_slice(&body);
        input.extend_from_slice(b" BODY[1] {3}\r\n{}\n)\r\n* 2 EXISTS\r\n");
        let whole = {
            let mut f = Framer::new(Side::Client, Limits::imap_client());
            f.push(&input);
            drain(&mut f)
        };
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[1], Ok(b"* 2 EXISTS\r\n".to_vec()));
        for first in 1..40 {
            for chunk in [1, 3, 7, 16, 17, 64] {
                let mut f = Framer::new(Side::Client, Limits::imap_client());
                let mut got = Vec::new();
                let (head, tail) = input.split_at(first);
                f.push(head);
                got.extend(drain(&mut f));
                for c in tail.chunks(chunk) {
                    f.push(c);
                    got.extend(drain(&mut f));
                }
                assert_eq!(got, whole, "first {first} chunk {chunk}");
            }
        }
    }

    #[test]
    fn synchronizing_literal_needs_continuation() {
        let mut f = server(true);
        f.push(b"a1 LOGIN {5}\r\n");
        assert_eq!(f.poll(), Some(Frame::NeedContinuation { size: 5 }));
        assert_eq!(f.poll(), None);
        f.push(b"fred1 {0}\r\n");
        assert_eq!(f.poll(), Some(Frame::NeedContinuation { size: 0 }));
        f.push(b"\r\n");
        assert_eq!(f.poll(), Some(Frame::Message { len: 27 }));
    }

    #[test]
    fn unauthenticated_literal_refused_before_continuation() {
        let mut f = server(false);
        f.push(b"a1 LOGIN {400000000}\r\n");
        match f.poll() {
            Some(Frame::Refused {
                tag,
                command,
                error: FrameError::LiteralTooLarge { synchronizing, .. },
            }) => {
                assert_eq!(tag.as_deref(), Some("a1"));
                assert_eq!(command.as_deref(), Some("LOGIN"));
                assert!(synchronizing);
            }
            other => panic!("{other:?}"),
        }
        assert!(f.buf.capacity() < 4096);
        f.push(b"a2 NOOP\r\n");
        assert_eq!(drain(&mut f), vec![Ok(b"a2 NOOP\r\n".to_vec())]);
    }

    #[test]
    fn append_gets_the_append_limit() {
        let mut f = server(true);
        f.push(b"a1 APPEND INBOX {27000000}\r\n");
        assert_eq!(f.poll(), Some(Frame::NeedContinuation { size: 27_000_000 }));
        let mut f = server(true);
        f.push(b"a1 SEARCH TEXT {27000000}\r\n");
        assert!(matches!(f.poll(), Some(Frame::Refused { .. })));
        let mut f = server(true);
        f.push(b"a1 APPEND INBOX {4294967295}\r\n");
        assert!(matches!(
            f.poll(),
            Some(Frame::Refused {
                error: FrameError::LiteralTooLarge {
                    size: 4294967295,
                    ..
                },
                ..
            })
        ));
    }

    #[test]
    fn over_limit_non_synchronizing_literal_is_skipped_then_refused() {
        let mut f = server(false);
        let mut input = b"a1 LOGIN {5000+}\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 5000));
        input.extend_from_slice(b" {3+}\r\nabc\r\na2 NOOP\r\n");
        let mut got = Vec::new();
        for c in input.chunks(100) {
            f.push(c);
            got.extend(drain(&mut f));
            assert!(f.buf.len() <= 200);
        }
        assert_eq!(got.len(), 2);
        assert!(matches!(&got[0], Err(Frame::Refused { tag: Some(t), .. }) if t == "a1"));
        assert_eq!(got[1], Ok(b"a2 NOOP\r\n".to_vec()));
    }

    #[test]
    fn long_line_refused_without_buffering_it() {
        let mut f = server(true);
        f.push(b"a9 SEARCH TEXT ");
        let big = vec![b'x'; 4096];
        let mut refused = 0;
        for _ in 0..256 {
            f.push(&big);
            for ev in drain(&mut f) {
                assert!(matches!(ev, Err(Frame::Refused { tag: Some(ref t), .. }) if t == "a9"));
                refused += 1;
            }
            assert!(f.buf.len() <= 64 * 1024 + 8192);
        }
        f.push(b"\r\na2 NOOP\r\n");
        let rest = drain(&mut f);
        assert_eq!(refused, 1);
        assert_eq!(rest, vec![Ok(b"a2 NOOP\r\n".to_vec())]);
    }

    #[test]
    fn literal_minus_bounds_non_synchronizing_literals() {
        let mut f = server(true);
        f.set_literal_minus(true);
        f.push(b"a1 APPEND x {4096+}\r\n");
        assert_eq!(f.poll(), None);
        let mut f = server(true);
        f.set_literal_minus(true);
        f.push(b"a1 APPEND x {4097+}\r\n");
        f.push(&[b'x'; 4097]);
        f.push(b"\r\n");
        assert!(matches!(
            f.poll(),
            Some(Frame::Refused {
                error: FrameError::LiteralTooLarge {
                    limit: 4096,
                    synchronizing: false,
                    ..
                },
                ..
            })
        ));
        let mut f = server(true);
        f.set_literal_minus(true);
        f.push(b"a1 APPEND x {4097}\r\n");
        assert_eq!(f.poll(), Some(Frame::NeedContinuation { size: 4097 }));
    }

    #[test]
    fn client_side_literals_follow_directly() {
        let mut f = Framer::new(Side::Client, Limits::imap_client());
        f.push(b"* 1 FETCH (BODY[] {3}\r\nabc)\r\n* OK x\r\n");
        assert_eq!(
            drain(&mut f),
            vec![
                Ok(b"* 1 FETCH (BODY[] {3}\r\nabc)\r\n".to_vec()),
                Ok(b"* OK x\r\n".to_vec())
            ]
        );
    }

    #[test]
    fn buffer_reserved_for_a_literal_holds_the_rest_of_its_line() {
        for size in [0usize, 10, 4096, 64 * 1024] {
            let mut f = Framer::new(Side::Client, Limits::imap_client());
            f.push(format!("* 3 FETCH (UID 99 BODY[] {{{size}}}\r\n").as_bytes());
            assert_eq!(f.poll(), None);
            let cap = f.buf.capacity();
            let body = vec![b'a'; size];
            for c in body.chunks(16) {
                f.push(c);
                assert_eq!(f.poll(), None);
            }
            f.push(b")\r\n");
            assert!(matches!(f.poll(), Some(Frame::Message { .. })));
            assert_eq!(f.buf.capacity(), cap, "literal of {size}");
        }
    }

    #[test]
    fn memory_of_a_big_message_is_returned() {
        let mut f = server(true);
        f.push(b"a1 APPEND x {1000000+}\r\n");
        f.push(&vec![b'a'; 1_000_000]);
        f.push(b"\r\n");
        assert!(matches!(f.poll(), Some(Frame::Message { .. })));
        f.consume();
        assert!(f.buf.capacity() <= 64 * 1024);
    }

    #[test]
    fn discard_after_starttls() {
        let mut f = server(false);
        f.push(b"a1 STARTTLS\r\na2 LOGIN x y\r\n");
        assert_eq!(f.poll(), Some(Frame::Message { len: 13 }));
        assert_eq!(f.discard_buffered(), 14);
        assert_eq!(f.poll(), None);
    }
}
