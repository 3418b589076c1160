//! Server responses: status lines with extended response codes
//! (RFC 1939 §3, RFC 2449 §8, RFC 3206), SASL challenges (RFC 5034 §4) and
//! the lines of multi-line listings (LIST, UIDL, CAPA, LANG).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::command::{MessageNumber, Parsed, encode_sasl, strip_cr};
use crate::error::ResponseError;

/// The longest first line of a response RFC 2449 §4 allows, CRLF included.
pub const MAX_RESPONSE_LINE: usize = 512;

/// The status indicator of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `+OK`.
    Ok,
    /// `-ERR`.
    Err,
}

impl Status {
    /// The indicator as sent (always upper case, RFC 1939 §3).
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "+OK",
            Status::Err => "-ERR",
        }
    }
}

/// An extended response code (RFC 2449 §8), e.g. `[IN-USE]` or `[SYS/TEMP]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseCode {
    /// `IN-USE`: the maildrop is locked by another session (RFC 2449 §8.1.1).
    InUse,
    /// `LOGIN-DELAY`: the login came too soon after the last (RFC 2449 §8.1.2).
    LoginDelay,
    /// `SYS/TEMP`: a temporary system problem (RFC 3206 §4).
    SysTemp,
    /// `SYS/PERM`: a permanent system problem (RFC 3206 §4).
    SysPerm,
    /// `AUTH`: the credentials were wrong (RFC 3206 §5).
    Auth,
    /// `UTF8`: the operation needs UTF-8 mode (RFC 6856 §2).
    Utf8,
    /// Any other code, as received: `/`-separated levels of characters
    /// from `%x20-7F` other than `/` and `]` (RFC 2449 §9 `resp-level`).
    Other(String),
}

impl ResponseCode {
    /// Parses a code without its brackets; known codes are matched without
    /// regard to case. Returns `None` if the text is no valid code.
    pub fn parse(code: &str) -> Option<Self> {
        let known = [
            ResponseCode::InUse,
            ResponseCode::LoginDelay,
            ResponseCode::SysTemp,
            ResponseCode::SysPerm,
            ResponseCode::Auth,
            ResponseCode::Utf8,
        ];
        if let Some(k) = known
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(code))
        {
            return Some(k);
        }
        let valid_level =
            |level: &str| !level.is_empty() && level.bytes().all(|b| (0x20..0x80).contains(&b));
        if code.contains(']') || !code.split('/').all(valid_level) {
            return None;
        }
        Some(ResponseCode::Other(code.to_owned()))
    }

    /// The code's text, without brackets.
    pub fn as_str(&self) -> &str {
        match self {
            ResponseCode::InUse => "IN-USE",
            ResponseCode::LoginDelay => "LOGIN-DELAY",
            ResponseCode::SysTemp => "SYS/TEMP",
            ResponseCode::SysPerm => "SYS/PERM",
            ResponseCode::Auth => "AUTH",
            ResponseCode::Utf8 => "UTF8",
            ResponseCode::Other(s) => s,
        }
    }

    /// The first level of the hierarchy (`SYS` for `SYS/TEMP`): a client
    /// that does not know a sub-code treats it as its parent (RFC 2449 §8).
    pub fn top_level(&self) -> &str {
        let s = self.as_str();
        s.split('/').next().unwrap_or(s)
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status line: `+OK` or `-ERR`, an optional extended code and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `+OK` or `-ERR`.
    pub status: Status,
    /// The extended response code, if any.
    pub code: Option<ResponseCode>,
    /// The human-readable text (may be empty).
    pub text: String,
}

impl Response {
    /// `+OK text`.
    pub fn ok(text: impl Into<String>) -> Self {
        Response {
            status: Status::Ok,
            code: None,
            text: text.into(),
        }
    }

    /// `-ERR text`.
    pub fn err(text: impl Into<String>) -> Self {
        Response {
            status: Status::Err,
            code: None,
            text: text.into(),
        }
    }

    /// Adds an extended response code.
    pub fn with_code(mut self, code: ResponseCode) -> Self {
        self.code = Some(code);
        self
    }

    /// Whether the status is `+OK`.
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// Appends the line, CRLF included, to `out`.
    ///
    /// CR and LF in the text are replaced by spaces, so the output is always
    /// one line. The text is cut (at a character boundary) so the line stays
    /// within 512 octets (RFC 2449 §4). Text that starts with `[` while no
    /// code is given would read as a code to a RESP-CODES client; avoid it.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(self.status.as_str().as_bytes());
        if let Some(code) = &self.code {
            out.extend_from_slice(b" [");
            out.extend_from_slice(code.as_str().as_bytes());
            out.push(b']');
        }
        if !self.text.is_empty() {
            out.push(b' ');
            let room = MAX_RESPONSE_LINE.saturating_sub(out.len() - start + 2);
            let text = truncate_at_char(&self.text, room);
            out.extend(
                text.bytes()
                    .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
            );
        }
        out.extend_from_slice(b"\r\n");
    }

    /// The encoded line, CRLF included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// The APOP timestamp of a greeting (RFC 1939 §7): the first `<...>`
    /// in the text, brackets included.
    pub fn apop_timestamp(&self) -> Option<&str> {
        let start = self.text.find('<')?;
        let len = self.text[start..].find('>')?;
        Some(&self.text[start..=start + len])
    }

    /// Reads `nn mm` from a STAT answer: message count and octets.
    pub fn stat(&self) -> Option<(u32, u64)> {
        let mut words = self.text.split(' ');
        let count = words.next()?.parse().ok()?;
        let size = words.next()?.parse().ok()?;
        Some((count, size))
    }

    /// Reads `msg size` from the answer to `LIST msg`.
    pub fn scan_listing(&self) -> Option<ScanListing> {
        ScanListing::parse(self.text.as_bytes()).ok()
    }

    /// Reads `msg unique-id` from the answer to `UIDL msg`.
    pub fn unique_id(&self) -> Option<UniqueIdListing> {
        UniqueIdListing::parse(self.text.as_bytes()).ok()
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(strip_crlf(&self.to_bytes())))
    }
}

/// One line a server sends where a status line may come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerLine {
    /// `+OK ...` or `-ERR ...`.
    Status(Response),
    /// A SASL challenge `+ base64` (RFC 5034 §4), decoded.
    Challenge(Vec<u8>),
}

/// Appends a SASL challenge line `+ base64` CRLF (RFC 5034 §4).
pub fn encode_challenge(data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"+ ");
    if !data.is_empty() {
        encode_sasl(data, out);
    }
    out.extend_from_slice(b"\r\n");
}

/// Decodes a status line from the start of `input` (client side).
///
/// `response_codes` says whether `[...]` at the start of the text is read
/// as an extended code (the server advertised `RESP-CODES` or
/// `AUTH-RESP-CODE`, RFC 2449 §8); otherwise it stays part of the text.
/// The status is accepted in any case; text that is not UTF-8 is decoded
/// lossily. Returns [`Parsed::Incomplete`] until a line feed is present.
/// The line length is not bounded here; [`ClientConnection`](crate::ClientConnection) bounds it.
pub fn parse_response(
    input: &[u8],
    response_codes: bool,
) -> Result<Parsed<Response>, ResponseError> {
    let Some(lf) = memchr::memchr(b'\n', input) else {
        return Ok(Parsed::Incomplete);
    };
    let value = parse_status_line(strip_cr(&input[..lf]), response_codes)?;
    Ok(Parsed::Complete {
        value,
        consumed: lf + 1,
    })
}

/// As [`parse_response`], but also accepts a SASL challenge (`+ base64`).
pub fn parse_server_line(
    input: &[u8],
    response_codes: bool,
) -> Result<Parsed<ServerLine>, ResponseError> {
    let Some(lf) = memchr::memchr(b'\n', input) else {
        return Ok(Parsed::Incomplete);
    };
    let value = parse_server_line_body(strip_cr(&input[..lf]), response_codes)?;
    Ok(Parsed::Complete {
        value,
        consumed: lf + 1,
    })
}

/// As [`parse_status_line`], but also accepts a SASL challenge.
pub fn parse_server_line_body(
    line: &[u8],
    response_codes: bool,
) -> Result<ServerLine, ResponseError> {
    if line == b"+" || line.starts_with(b"+ ") {
        let text = line.get(2..).unwrap_or_default();
        let data = if text.is_empty() || text == b"=" {
            Vec::new()
        } else {
            BASE64
                .decode(text)
                .map_err(|_| ResponseError::InvalidBase64 { offset: 2 })?
        };
        Ok(ServerLine::Challenge(data))
    } else {
        parse_status_line(line, response_codes).map(ServerLine::Status)
    }
}

/// Decodes a status line without its terminator.
pub fn parse_status_line(line: &[u8], response_codes: bool) -> Result<Response, ResponseError> {
    let (status, rest) = if line.len() >= 3 && line[..3].eq_ignore_ascii_case(b"+OK") {
        (Status::Ok, &line[3..])
    } else if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"-ERR") {
        (Status::Err, &line[4..])
    } else {
        return Err(ResponseError::Expected {
            offset: 0,
            expected: "+OK or -ERR",
        });
    };
    let indicator_len = line.len() - rest.len();
    let text = match rest.split_first() {
        None => &[][..],
        Some((b' ', text)) => text,
        Some(_) => {
            return Err(ResponseError::Expected {
                offset: indicator_len,
                expected: "a space or the end of the line",
            });
        }
    };
    let text = String::from_utf8_lossy(text);
    let (code, text) = match (response_codes, text.strip_prefix('[')) {
        (true, Some(after)) => match after
            .find(']')
            .and_then(|end| Some((ResponseCode::parse(&after[..end])?, &after[end + 1..])))
        {
            Some((code, rest)) => (Some(code), rest.strip_prefix(' ').unwrap_or(rest)),
            None => (None, &*text),
        },
        _ => (None, &*text),
    };
    Ok(Response {
        status,
        code,
        text: text.to_owned(),
    })
}

/// One line of a LIST scan listing, or the answer to `LIST msg`:
/// `msg size` (RFC 1939 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanListing {
    /// The message number.
    pub msg: MessageNumber,
    /// Its size in octets, as transmitted (CRLF line ends).
    pub size: u64,
}

impl ScanListing {
    /// Parses `msg size`; anything after a further space is ignored
    /// (RFC 1939 §5 allows servers to add information).
    pub fn parse(line: &[u8]) -> Result<Self, ResponseError> {
        let (msg, rest) = listing_number(line, "LIST")?;
        let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
        let offset = line.len() - rest.len();
        let size = std::str::from_utf8(&rest[..end])
            .ok()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .ok_or(ResponseError::Listing {
                listing: "LIST",
                offset,
                expected: "a size in octets",
            })?;
        Ok(ScanListing { msg, size })
    }

    /// Appends `msg size` without line terminator.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.to_string().as_bytes());
    }
}

impl fmt::Display for ScanListing {
    /// `msg size`, the form of a scan listing line and of the text of the
    /// answer to `LIST msg`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.msg, self.size)
    }
}

/// One line of a UIDL listing, or the answer to `UIDL msg`:
/// `msg unique-id` (RFC 1939 §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueIdListing {
    /// The message number.
    pub msg: MessageNumber,
    /// The unique-id: 1 to 70 characters from `0x21-0x7E`.
    pub uid: String,
}

impl UniqueIdListing {
    /// Parses `msg unique-id`.
    pub fn parse(line: &[u8]) -> Result<Self, ResponseError> {
        let (msg, rest) = listing_number(line, "UIDL")?;
        let offset = line.len() - rest.len();
        if !is_unique_id(rest) {
            return Err(ResponseError::Listing {
                listing: "UIDL",
                offset,
                expected: "a unique-id of 1 to 70 characters from 0x21 to 0x7e",
            });
        }
        Ok(UniqueIdListing {
            msg,
            uid: String::from_utf8_lossy(rest).into_owned(),
        })
    }

    /// Appends `msg unique-id` without line terminator.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.msg.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.uid.as_bytes());
    }
}

impl fmt::Display for UniqueIdListing {
    /// `msg unique-id`, the form of a UIDL listing line and of the text of
    /// the answer to `UIDL msg`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.msg, self.uid)
    }
}

/// Whether `uid` is a valid unique-id (RFC 1939 §7): 1 to 70 characters
/// in the range `0x21-0x7E`.
pub fn is_unique_id(uid: &[u8]) -> bool {
    (1..=70).contains(&uid.len()) && uid.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// One line of a CAPA listing: a tag and its parameters (RFC 2449 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    /// The tag, e.g. `SASL`, `TOP`, `RESP-CODES`; compare it
    /// case-insensitively.
    pub name: String,
    /// The parameters, e.g. the mechanisms of `SASL`.
    pub params: Vec<String>,
}

impl Capability {
    /// A capability without parameters.
    pub fn new(name: impl Into<String>) -> Self {
        Capability {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// A capability with parameters.
    pub fn with_params<I, S>(name: impl Into<String>, params: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Capability {
            name: name.into(),
            params: params.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether the tag is `name`, ignoring case.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// Parses a CAPA line: space-separated words, the first is the tag.
    pub fn parse(line: &[u8]) -> Result<Self, ResponseError> {
        let text = String::from_utf8_lossy(line);
        let mut words = text.split(' ').filter(|w| !w.is_empty());
        let name = words.next().ok_or(ResponseError::Listing {
            listing: "CAPA",
            offset: 0,
            expected: "a capability name",
        })?;
        Ok(Capability {
            name: name.to_owned(),
            params: words.map(str::to_owned).collect(),
        })
    }

    /// Appends the line without terminator; CR and LF become spaces.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let clean = |s: &str| s.replace(['\r', '\n'], " ");
        out.extend_from_slice(clean(&self.name).as_bytes());
        for p in &self.params {
            out.push(b' ');
            out.extend_from_slice(clean(p).as_bytes());
        }
    }
}

/// One line of a LANG listing: a language tag and a description
/// (RFC 6856 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguageListing {
    /// The language tag, e.g. `en`.
    pub tag: String,
    /// Its description (UTF-8).
    pub description: String,
}

impl LanguageListing {
    /// Parses `tag SP description`.
    pub fn parse(line: &[u8]) -> Result<Self, ResponseError> {
        let text = String::from_utf8_lossy(line);
        let (tag, description) = text.split_once(' ').unwrap_or((&text, ""));
        if tag.is_empty() {
            return Err(ResponseError::Listing {
                listing: "LANG",
                offset: 0,
                expected: "a language tag",
            });
        }
        Ok(LanguageListing {
            tag: tag.to_owned(),
            description: description.to_owned(),
        })
    }
}

fn listing_number<'a>(
    line: &'a [u8],
    listing: &'static str,
) -> Result<(MessageNumber, &'a [u8]), ResponseError> {
    let sp = memchr::memchr(b' ', line).ok_or(ResponseError::Listing {
        listing,
        offset: line.len(),
        expected: "a space after the message number",
    })?;
    let msg = std::str::from_utf8(&line[..sp])
        .ok()
        .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .and_then(MessageNumber::new)
        .ok_or(ResponseError::Listing {
            listing,
            offset: 0,
            expected: "a message number",
        })?;
    Ok((msg, &line[sp + 1..]))
}

fn truncate_at_char(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn strip_crlf(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r\n").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete<T>(p: Parsed<T>) -> T {
        match p {
            Parsed::Complete { value, .. } => value,
            Parsed::Incomplete => panic!("incomplete"),
        }
    }

    #[test]
    fn status_line_known_answers() {
        let table: Vec<(&str, bool, Response)> = vec![
            ("+OK\r\n", true, Response::ok("")),
            ("+OK \r\n", true, Response::ok("")),
            ("+OK 2 320\r\n", true, Response::ok("2 320")),
            ("+ok lenient\r\n", true, Response::ok("lenient")),
            (
                "-ERR no such message\r\n",
                true,
                Response::err("no such message"),
            ),
            (
                "-ERR [IN-USE] Mailbox is locked\r\n",
                true,
                Response::err("Mailbox is locked").with_code(ResponseCode::InUse),
            ),
            (
                "-ERR [IN-USE] Mailbox is locked\r\n",
                false,
                Response::err("[IN-USE] Mailbox is locked"),
            ),
            (
                "-ERR [SYS/TEMP] x\r\n",
                true,
                Response::err("x").with_code(ResponseCode::SysTemp),
            ),
            (
                "-ERR [SYS/PERM]\r\n",
                true,
                Response::err("").with_code(ResponseCode::SysPerm),
            ),
            (
                "-ERR [AUTH] bad password\r\n",
                true,
                Response::err("bad password").with_code(ResponseCode::Auth),
            ),
            (
                "-ERR [LOGIN-DELAY] wait\r\n",
                true,
                Response::err("wait").with_code(ResponseCode::LoginDelay),
            ),
            (
                "-ERR [UTF8] need utf8\r\n",
                true,
                Response::err("need utf8").with_code(ResponseCode::Utf8),
            ),
            (
                "-ERR [SYS/TEMP/DISK] full\r\n",
                true,
                Response::err("full").with_code(ResponseCode::Other("SYS/TEMP/DISK".into())),
            ),
            (
                "-ERR [open bracket\r\n",
                true,
                Response::err("[open bracket"),
            ),
            ("-ERR [] empty\r\n", true, Response::err("[] empty")),
            ("+OK lf only\n", true, Response::ok("lf only")),
        ];
        for (line, codes, expected) in table {
            let got = complete(parse_response(line.as_bytes(), codes).expect(line));
            assert_eq!(got, expected, "{line:?}");
        }
    }

    #[test]
    fn status_line_errors() {
        assert_eq!(
            parse_response(b"OK\r\n", true),
            Err(ResponseError::Expected {
                offset: 0,
                expected: "+OK or -ERR"
            })
        );
        assert_eq!(
            parse_response(b"+OKAY\r\n", true),
            Err(ResponseError::Expected {
                offset: 3,
                expected: "a space or the end of the line"
            })
        );
        assert_eq!(
            parse_server_line(b"+ !!\r\n", true),
            Err(ResponseError::InvalidBase64 { offset: 2 })
        );
    }

    #[test]
    fn encode_known_answers() {
        let table: Vec<(Response, &str)> = vec![
            (Response::ok(""), "+OK\r\n"),
            (Response::ok("2 320"), "+OK 2 320\r\n"),
            (
                Response::err("locked").with_code(ResponseCode::InUse),
                "-ERR [IN-USE] locked\r\n",
            ),
            (
                Response::err("").with_code(ResponseCode::SysTemp),
                "-ERR [SYS/TEMP]\r\n",
            ),
            (Response::ok("a\r\nb"), "+OK a  b\r\n"),
        ];
        for (response, expected) in table {
            assert_eq!(
                String::from_utf8(response.to_bytes()).as_deref(),
                Ok(expected)
            );
        }
        let long = Response::ok("\u{e9}".repeat(400)).to_bytes();
        assert!(long.len() <= MAX_RESPONSE_LINE, "{}", long.len());
        assert!(std::str::from_utf8(&long).is_ok());
    }

    #[test]
    fn challenges() {
        let mut out = Vec::new();
        encode_challenge(b"", &mut out);
        encode_challenge(b"hi", &mut out);
        assert_eq!(out, b"+ \r\n+ aGk=\r\n");
        assert_eq!(
            complete(parse_server_line(b"+ aGk=\r\n", true).expect("valid")),
            ServerLine::Challenge(b"hi".to_vec())
        );
        assert_eq!(
            complete(parse_server_line(b"+\r\n", true).expect("valid")),
            ServerLine::Challenge(Vec::new())
        );
        assert_eq!(
            complete(parse_server_line(b"+OK\r\n", true).expect("valid")),
            ServerLine::Status(Response::ok(""))
        );
    }

    #[test]
    fn prefixes_are_incomplete() {
        for line in ["+OK 2 320\r\n", "-ERR [IN-USE] locked\r\n", "+ aGk=\r\n"] {
            for end in 0..line.len() {
                assert_eq!(
                    parse_server_line(&line.as_bytes()[..end], true),
                    Ok(Parsed::Incomplete)
                );
            }
        }
    }

    #[test]
    fn greeting_and_single_line_helpers() {
        let g = Response::ok("POP3 server ready <1896.697170952@dbc.mtview.ca.us>");
        assert_eq!(
            g.apop_timestamp(),
            Some("<1896.697170952@dbc.mtview.ca.us>")
        );
        assert_eq!(Response::ok("2 320").stat(), Some((2, 320)));
        assert_eq!(Response::ok("two").stat(), None);
        let one = MessageNumber::new(1).expect("positive");
        assert_eq!(
            Response::ok("1 120").scan_listing(),
            Some(ScanListing {
                msg: one,
                size: 120
            })
        );
        assert_eq!(
            Response::ok("1 whqtswO00WBw418f9t5JxYwZ").unique_id(),
            Some(UniqueIdListing {
                msg: one,
                uid: "whqtswO00WBw418f9t5JxYwZ".into()
            })
        );
        assert_eq!(ResponseCode::SysTemp.top_level(), "SYS");
        assert_eq!(ResponseCode::parse("in-use"), Some(ResponseCode::InUse));
        assert_eq!(ResponseCode::parse("A//B"), None);
    }

    #[test]
    fn listing_lines() {
        assert!(ScanListing::parse(b"0 12").is_err());
        assert!(ScanListing::parse(b"1 -3").is_err());
        assert!(UniqueIdListing::parse(b"1 has space").is_err());
        assert!(UniqueIdListing::parse(&[b"1 ".as_slice(), &[b'x'; 71]].concat()).is_err());
        assert_eq!(
            Capability::parse(b"SASL PLAIN  LOGIN"),
            Ok(Capability::with_params("SASL", ["PLAIN", "LOGIN"]))
        );
        assert!(Capability::parse(b"").is_err());
        assert_eq!(
            LanguageListing::parse(b"en English"),
            Ok(LanguageListing {
                tag: "en".into(),
                description: "English".into()
            })
        );
    }
}
