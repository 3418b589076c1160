//! Streaming dot-stuffing of multi-line response bodies (RFC 1939 §3).
//!
//! [`DotStuffer`] turns a message, fed in chunks of any size, into the wire
//! form: every line that starts with `.` gets another `.`, LF-only line ends
//! go out as CRLF, and [`DotStuffer::finish`] adds the CRLF a body may lack
//! and the terminating `.` line. [`DotUnstuffer`] undoes it and finds the
//! terminator. Neither holds more than a few bytes of state: a 50 MB
//! message passes through in whatever chunks arrive.
//!
//! Both copy long runs of bytes at once and only look at line ends (found
//! with a vectorised search), so their speed is close to a plain copy.

use memchr::memchr_iter;

/// Where the encoder stands after the bytes fed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineState {
    /// At the start of a line (or of the body).
    Start,
    /// Inside a line, the last byte was CR.
    AfterCr,
    /// Inside a line.
    Middle,
}

/// The streaming dot-stuffing encoder (server side).
///
/// ```
/// use postroom_pop3::DotStuffer;
/// let mut out = Vec::new();
/// let mut stuffer = DotStuffer::new();
/// stuffer.encode(b"a\n.b\n.", &mut out);
/// stuffer.encode(b"\nend", &mut out);
/// stuffer.finish(&mut out);
/// assert_eq!(out, b"a\r\n..b\r\n..\r\nend\r\n.\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct DotStuffer {
    state: LineState,
}

impl Default for DotStuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl DotStuffer {
    /// An encoder at the start of a body.
    pub const fn new() -> Self {
        DotStuffer {
            state: LineState::Start,
        }
    }

    /// Appends the wire form of `chunk` to `out`.
    ///
    /// A LF not preceded by CR becomes CRLF; a CR not followed by LF is
    /// passed on as it is. A line starting with `.` gets a second `.`.
    pub fn encode(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let Some(&last) = chunk.last() else {
            return;
        };
        out.reserve(chunk.len() + chunk.len() / 64 + 4);
        if self.state == LineState::Start && chunk[0] == b'.' {
            out.push(b'.');
        }
        let mut run = 0;
        for lf in memchr_iter(b'\n', chunk) {
            let after_cr = match lf.checked_sub(1) {
                Some(prev) => chunk[prev] == b'\r',
                None => self.state == LineState::AfterCr,
            };
            if !after_cr {
                out.extend_from_slice(&chunk[run..lf]);
                out.push(b'\r');
                run = lf;
            }
            if chunk.get(lf + 1) == Some(&b'.') {
                out.extend_from_slice(&chunk[run..=lf]);
                out.push(b'.');
                run = lf + 1;
            }
        }
        out.extend_from_slice(&chunk[run..]);
        self.state = match last {
            b'\n' => LineState::Start,
            b'\r' => LineState::AfterCr,
            _ => LineState::Middle,
        };
    }

    /// Ends the body: appends CRLF if the body did not end with a line end,
    /// then the terminating `.` CRLF. The encoder is ready for a new body.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.state != LineState::Start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        self.state = LineState::Start;
    }

    /// Whether the bytes fed so far end at a line boundary.
    pub fn at_line_start(&self) -> bool {
        self.state == LineState::Start
    }
}

/// Dot-stuffs a whole body and appends it, with terminator, to `out`.
pub fn dot_stuff(body: &[u8], out: &mut Vec<u8>) {
    let mut stuffer = DotStuffer::new();
    stuffer.encode(body, out);
    stuffer.finish(out);
}

/// Where the decoder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnstuffState {
    Start,
    Middle,
    /// A line started with `.`.
    Dot,
    /// A line started with `.` CR.
    DotCr,
    Done,
}

/// How far [`DotUnstuffer::decode`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unstuffed {
    /// Input bytes used. When `finished`, the bytes after these belong to
    /// the next response.
    pub consumed: usize,
    /// Whether the terminating `.` line has been read.
    pub finished: bool,
}

/// The streaming un-stuffing decoder (client side).
///
/// It removes the leading `.` of stuffed lines and stops after the
/// terminating `.` CRLF (a `.` LF is accepted too). Line ends are passed on
/// as received. The decoded body ends with the line end before the
/// terminator.
///
/// ```
/// use postroom_pop3::DotUnstuffer;
/// let mut body = Vec::new();
/// let mut d = DotUnstuffer::new();
/// let first = d.decode(b"..x\r\n.", &mut body);
/// assert!(!first.finished);
/// let second = d.decode(b"\r\n+OK next", &mut body);
/// assert!(second.finished);
/// assert_eq!(second.consumed, 2);
/// assert_eq!(body, b".x\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct DotUnstuffer {
    state: UnstuffState,
}

impl Default for DotUnstuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl DotUnstuffer {
    /// A decoder at the start of a body.
    pub const fn new() -> Self {
        DotUnstuffer {
            state: UnstuffState::Start,
        }
    }

    /// Whether the terminator has been read.
    pub fn is_finished(&self) -> bool {
        self.state == UnstuffState::Done
    }

    /// Decodes from `input`, appending body bytes to `out`, until the input
    /// ends or the terminator has been read.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Unstuffed {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                UnstuffState::Done => break,
                UnstuffState::Start => {
                    if input[i] == b'.' {
                        self.state = UnstuffState::Dot;
                        i += 1;
                    } else {
                        self.state = UnstuffState::Middle;
                    }
                }
                UnstuffState::Dot => match input[i] {
                    b'\r' => {
                        self.state = UnstuffState::DotCr;
                        i += 1;
                    }
                    b'\n' => {
                        self.state = UnstuffState::Done;
                        i += 1;
                    }
                    // RFC 1939 §3: a stuffed line; its first `.` is dropped.
                    _ => self.state = UnstuffState::Middle,
                },
                UnstuffState::DotCr => {
                    if input[i] == b'\n' {
                        self.state = UnstuffState::Done;
                        i += 1;
                    } else {
                        // `.` CR x: the dot was stuffing, the CR is data.
                        out.push(b'\r');
                        self.state = UnstuffState::Middle;
                    }
                }
                UnstuffState::Middle => {
                    i = self.copy_lines(input, i, out);
                }
            }
        }
        Unstuffed {
            consumed: i,
            finished: self.state == UnstuffState::Done,
        }
    }

    /// Copies from `start` up to the next line that starts with `.` (or the
    /// end of input) in one piece; returns the new position.
    fn copy_lines(&mut self, input: &[u8], start: usize, out: &mut Vec<u8>) -> usize {
        let rest = &input[start..];
        for lf in memchr_iter(b'\n', rest) {
            match rest.get(lf + 1) {
                Some(b'.') | None => {
                    out.extend_from_slice(&rest[..=lf]);
                    self.state = UnstuffState::Start;
                    return start + lf + 1;
                }
                Some(_) => {}
            }
        }
        out.extend_from_slice(rest);
        input.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuff_chunks(chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut s = DotStuffer::new();
        for c in chunks {
            s.encode(c, &mut out);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn stuffing_table() {
        // RFC 1939 §3 and the P-2 vectors of the spec digest.
        let table: &[(&[u8], &[u8])] = &[
            (b"", b".\r\n"),
            (b".", b"..\r\n.\r\n"),
            (b".\r\n", b"..\r\n.\r\n"),
            (b".dotline\r\n", b"..dotline\r\n.\r\n"),
            (b"..two\r\n", b"...two\r\n.\r\n"),
            (b"a.b\r\n", b"a.b\r\n.\r\n"),
            (b"x\n.y\n", b"x\r\n..y\r\n.\r\n"),
            (b"no end", b"no end\r\n.\r\n"),
            (b"bare\rcr", b"bare\rcr\r\n.\r\n"),
            (b"ends cr\r", b"ends cr\r\r\n.\r\n"),
            (b"\n\n", b"\r\n\r\n.\r\n"),
            (
                b"Subject: p0\r\n\r\nline1\r\n.dotline\r\n..two\r\n.\r\nend\r\n",
                b"Subject: p0\r\n\r\nline1\r\n..dotline\r\n...two\r\n..\r\nend\r\n.\r\n",
            ),
        ];
        for (body, wire) in table {
            assert_eq!(
                stuff_chunks(&[body]),
                *wire,
                "{:?}",
                String::from_utf8_lossy(body)
            );
            // Every split into single bytes gives the same wire form.
            let bytes: Vec<&[u8]> = body.chunks(1).collect();
            assert_eq!(stuff_chunks(&bytes), *wire);
        }
    }

    #[test]
    fn splits_across_chunks() {
        assert_eq!(stuff_chunks(&[b"a\r", b"\n.b"]), b"a\r\n..b\r\n.\r\n");
        assert_eq!(stuff_chunks(&[b"a\n", b".b"]), b"a\r\n..b\r\n.\r\n");
        assert_eq!(stuff_chunks(&[b"a", b"\n", b"", b"."]), b"a\r\n..\r\n.\r\n");
    }

    fn unstuff_chunks(wire: &[u8], size: usize) -> (Vec<u8>, usize) {
        let mut out = Vec::new();
        let mut d = DotUnstuffer::new();
        let mut used = 0;
        for chunk in wire.chunks(size.max(1)) {
            let r = d.decode(chunk, &mut out);
            used += r.consumed;
            if r.finished {
                return (out, used);
            }
        }
        panic!("no terminator in {:?}", String::from_utf8_lossy(wire));
    }

    #[test]
    fn unstuffing_table() {
        let table: &[(&[u8], &[u8])] = &[
            (b".\r\n", b""),
            (b"..\r\n.\r\n", b".\r\n"),
            (b"..dotline\r\n...two\r\n.\r\n", b".dotline\r\n..two\r\n"),
            (b"a.b\r\n.\r\n", b"a.b\r\n"),
            (b"lf\n.\n", b"lf\n"),
            (b".\rx\r\n.\r\n", b"\rx\r\n"),
        ];
        for (wire, body) in table {
            for size in 1..=wire.len() {
                let (got, used) = unstuff_chunks(wire, size);
                assert_eq!(got, *body);
                assert_eq!(used, wire.len());
            }
        }
    }

    #[test]
    fn stops_at_terminator() {
        let mut d = DotUnstuffer::new();
        let mut out = Vec::new();
        let r = d.decode(b"x\r\n.\r\n+OK next\r\n", &mut out);
        assert_eq!(
            r,
            Unstuffed {
                consumed: 6,
                finished: true
            }
        );
        assert_eq!(out, b"x\r\n");
        assert_eq!(d.decode(b"more", &mut out).consumed, 0);
    }
}
