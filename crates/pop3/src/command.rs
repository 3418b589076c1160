//! POP3 commands: the [`Command`] value, the server-side parser
//! ([`parse_command`]) and the client-side encoder ([`Command::encode`]).

use std::fmt;
use std::num::NonZeroU32;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use postroom_types::Secret;

use crate::error::CommandError;

/// The longest command line RFC 2449 §4 allows, CRLF included.
pub const MAX_COMMAND_LINE: usize = 255;

/// The outcome of decoding from a buffer that may not hold a whole item yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<T> {
    /// A whole item was decoded from the first `consumed` bytes.
    Complete {
        /// The decoded item.
        value: T,
        /// Bytes of input it took, line terminator included.
        consumed: usize,
    },
    /// More bytes are needed; nothing is wrong so far.
    Incomplete,
}

/// A message number: positive, as RFC 1939 §3 numbers messages from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageNumber(NonZeroU32);

impl MessageNumber {
    /// Returns the message number `n`, or `None` for 0.
    pub const fn new(n: u32) -> Option<Self> {
        match NonZeroU32::new(n) {
            Some(n) => Some(MessageNumber(n)),
            None => None,
        }
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for MessageNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The keyword of a command, without its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandKind {
    /// `USER` (RFC 1939 §7).
    User,
    /// `PASS` (RFC 1939 §7).
    Pass,
    /// `APOP` (RFC 1939 §7).
    Apop,
    /// `STAT` (RFC 1939 §5).
    Stat,
    /// `LIST` (RFC 1939 §5).
    List,
    /// `RETR` (RFC 1939 §5).
    Retr,
    /// `DELE` (RFC 1939 §5).
    Dele,
    /// `NOOP` (RFC 1939 §5).
    Noop,
    /// `RSET` (RFC 1939 §5).
    Rset,
    /// `QUIT` (RFC 1939 §4, §6).
    Quit,
    /// `TOP` (RFC 1939 §7).
    Top,
    /// `UIDL` (RFC 1939 §7).
    Uidl,
    /// `CAPA` (RFC 2449 §5).
    Capa,
    /// `STLS` (RFC 2595 §4).
    Stls,
    /// `AUTH` (RFC 5034 §4).
    Auth,
    /// `UTF8` (RFC 6856 §2).
    Utf8,
    /// `LANG` (RFC 6856 §3).
    Lang,
}

impl CommandKind {
    /// The keyword as sent on the wire.
    pub const fn keyword(self) -> &'static str {
        match self {
            CommandKind::User => "USER",
            CommandKind::Pass => "PASS",
            CommandKind::Apop => "APOP",
            CommandKind::Stat => "STAT",
            CommandKind::List => "LIST",
            CommandKind::Retr => "RETR",
            CommandKind::Dele => "DELE",
            CommandKind::Noop => "NOOP",
            CommandKind::Rset => "RSET",
            CommandKind::Quit => "QUIT",
            CommandKind::Top => "TOP",
            CommandKind::Uidl => "UIDL",
            CommandKind::Capa => "CAPA",
            CommandKind::Stls => "STLS",
            CommandKind::Auth => "AUTH",
            CommandKind::Utf8 => "UTF8",
            CommandKind::Lang => "LANG",
        }
    }

    /// Every command kind, in RFC order.
    pub const ALL: [CommandKind; 17] = [
        CommandKind::User,
        CommandKind::Pass,
        CommandKind::Apop,
        CommandKind::Stat,
        CommandKind::List,
        CommandKind::Retr,
        CommandKind::Dele,
        CommandKind::Noop,
        CommandKind::Rset,
        CommandKind::Quit,
        CommandKind::Top,
        CommandKind::Uidl,
        CommandKind::Capa,
        CommandKind::Stls,
        CommandKind::Auth,
        CommandKind::Utf8,
        CommandKind::Lang,
    ];

    fn from_keyword(keyword: &[u8]) -> Option<Self> {
        CommandKind::ALL
            .into_iter()
            .find(|k| k.keyword().as_bytes().eq_ignore_ascii_case(keyword))
    }
}

impl fmt::Display for CommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// An APOP digest: the 16 bytes of an MD5 value, sent as 32 hex digits
/// (RFC 1939 §7).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApopDigest(pub [u8; 16]);

impl ApopDigest {
    /// Parses 32 hex digits (either case).
    pub fn from_hex(hex: &str) -> Option<Self> {
        let bytes = hex.as_bytes();
        if bytes.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
        }
        Some(ApopDigest(out))
    }

    /// The digest as 32 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(32);
        for b in self.0 {
            s.push(char::from(DIGITS[usize::from(b >> 4)]));
            s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
        s
    }
}

impl fmt::Debug for ApopDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApopDigest({})", self.to_hex())
    }
}

/// A POP3 command with validated arguments.
///
/// Build one directly and encode it with [`Command::encode`] (client side),
/// or decode one with [`parse_command`] (server side). Secrets (the `PASS`
/// argument, SASL initial responses) are wrapped in [`Secret`] so that a
/// logged command does not show them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `USER name`: the mailbox name (UTF-8 allowed, RFC 6856 §2; no
    /// spaces or control characters).
    User(String),
    /// `PASS string`: the rest of the line, spaces included (RFC 1939 §7).
    Pass(Secret<String>),
    /// `APOP name digest` (RFC 1939 §7).
    Apop {
        /// The mailbox name.
        name: String,
        /// MD5 of the greeting's timestamp followed by the shared secret.
        digest: ApopDigest,
    },
    /// `STAT`.
    Stat,
    /// `LIST [msg]`: one message, or the scan listing of all.
    List(Option<MessageNumber>),
    /// `RETR msg`.
    Retr(MessageNumber),
    /// `DELE msg`.
    Dele(MessageNumber),
    /// `NOOP`.
    Noop,
    /// `RSET`.
    Rset,
    /// `QUIT`.
    Quit,
    /// `TOP msg n`: the header and the first `lines` body lines.
    Top {
        /// The message.
        msg: MessageNumber,
        /// Body lines to send (0 allowed).
        lines: u32,
    },
    /// `UIDL [msg]`.
    Uidl(Option<MessageNumber>),
    /// `CAPA`.
    Capa,
    /// `STLS`.
    Stls,
    /// `AUTH mechanism [initial-response]` (RFC 5034 §4).
    Auth {
        /// The SASL mechanism name, upper case (RFC 4422 §3.1:
        /// 1 to 20 of `A-Z 0-9 - _`).
        mechanism: String,
        /// The decoded initial response; `Some(empty)` is sent as `=`.
        initial: Option<Secret<Vec<u8>>>,
    },
    /// `UTF8` (RFC 6856 §2).
    Utf8,
    /// `LANG [lang-range]` (RFC 6856 §3): a language tag or `*`; without an
    /// argument, asks for the list of languages.
    Lang(Option<String>),
}

impl Command {
    /// The command's keyword.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::User(_) => CommandKind::User,
            Command::Pass(_) => CommandKind::Pass,
            Command::Apop { .. } => CommandKind::Apop,
            Command::Stat => CommandKind::Stat,
            Command::List(_) => CommandKind::List,
            Command::Retr(_) => CommandKind::Retr,
            Command::Dele(_) => CommandKind::Dele,
            Command::Noop => CommandKind::Noop,
            Command::Rset => CommandKind::Rset,
            Command::Quit => CommandKind::Quit,
            Command::Top { .. } => CommandKind::Top,
            Command::Uidl(_) => CommandKind::Uidl,
            Command::Capa => CommandKind::Capa,
            Command::Stls => CommandKind::Stls,
            Command::Auth { .. } => CommandKind::Auth,
            Command::Utf8 => CommandKind::Utf8,
            Command::Lang(_) => CommandKind::Lang,
        }
    }

    /// Whether a positive answer to this command is a multi-line response
    /// (RFC 1939 §5, §7; RFC 2449 §5; RFC 6856 §3).
    pub fn has_multiline_answer(&self) -> bool {
        matches!(
            self,
            Command::List(None)
                | Command::Uidl(None)
                | Command::Lang(None)
                | Command::Retr(_)
                | Command::Top { .. }
                | Command::Capa
        )
    }

    /// Appends the command line, CRLF included, to `out`.
    ///
    /// The arguments are validated first with the rules [`parse_command`]
    /// applies, and the line must fit in 255 octets (RFC 2449 §4); on error
    /// nothing is appended.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), CommandError> {
        let start = out.len();
        let result = self.encode_unchecked(out).and_then(|()| {
            let length = out.len() - start;
            if length > MAX_COMMAND_LINE {
                Err(CommandError::LineTooLong {
                    length,
                    limit: MAX_COMMAND_LINE,
                })
            } else {
                Ok(())
            }
        });
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// The encoded command line, CRLF included.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CommandError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }

    fn encode_unchecked(&self, out: &mut Vec<u8>) -> Result<(), CommandError> {
        let kw = self.kind().keyword().as_bytes();
        out.extend_from_slice(kw);
        let arg_offset = kw.len() + 1;
        match self {
            Command::User(name) => {
                check_name(name.as_bytes(), arg_offset)?;
                push_arg(out, name.as_bytes());
            }
            Command::Pass(pass) => {
                check_password(pass.expose_secret().as_bytes(), arg_offset)?;
                push_arg(out, pass.expose_secret().as_bytes());
            }
            Command::Apop { name, digest } => {
                check_name(name.as_bytes(), arg_offset)?;
                push_arg(out, name.as_bytes());
                push_arg(out, digest.to_hex().as_bytes());
            }
            Command::List(msg) | Command::Uidl(msg) => {
                if let Some(msg) = msg {
                    push_arg(out, msg.to_string().as_bytes());
                }
            }
            Command::Retr(msg) | Command::Dele(msg) => push_arg(out, msg.to_string().as_bytes()),
            Command::Top { msg, lines } => {
                push_arg(out, msg.to_string().as_bytes());
                push_arg(out, lines.to_string().as_bytes());
            }
            Command::Auth { mechanism, initial } => {
                check_mechanism(mechanism.as_bytes(), arg_offset)?;
                push_arg(out, mechanism.as_bytes());
                if let Some(initial) = initial {
                    out.push(b' ');
                    encode_sasl(initial.expose_secret(), out);
                }
            }
            Command::Lang(Some(range)) => {
                check_lang(range.as_bytes(), arg_offset)?;
                push_arg(out, range.as_bytes());
            }
            Command::Stat
            | Command::Noop
            | Command::Rset
            | Command::Quit
            | Command::Capa
            | Command::Stls
            | Command::Utf8
            | Command::Lang(None) => {}
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

/// Decodes one command line from the start of `input` (server side).
///
/// Returns [`Parsed::Incomplete`] until a line feed is present, so every
/// proper prefix of a valid command line is incomplete. The line ends with
/// CRLF; a bare LF is accepted too. This function does not bound the line
/// length: [`ServerConnection`](crate::ServerConnection) does (RFC 2449 §4).
/// Keywords are case-insensitive; arguments are separated by single spaces.
pub fn parse_command(input: &[u8]) -> Result<Parsed<Command>, CommandError> {
    let Some(lf) = memchr::memchr(b'\n', input) else {
        return Ok(Parsed::Incomplete);
    };
    let line = strip_cr(&input[..lf]);
    let value = parse_command_line(line)?;
    Ok(Parsed::Complete {
        value,
        consumed: lf + 1,
    })
}

/// Decodes a command line whose terminator has already been removed.
pub fn parse_command_line(line: &[u8]) -> Result<Command, CommandError> {
    let kw_end = memchr::memchr(b' ', line).unwrap_or(line.len());
    let keyword = &line[..kw_end];
    let Some(kind) = CommandKind::from_keyword(keyword) else {
        let shown = &keyword[..keyword.len().min(16)];
        return Err(CommandError::UnknownCommand {
            keyword: String::from_utf8_lossy(shown).into_owned(),
        });
    };
    let mut args = Args { line, pos: kw_end };
    let command = match kind {
        CommandKind::User => {
            let (off, name) = args.required("a user name")?;
            check_name(name, off)?;
            Command::User(utf8(name, off)?)
        }
        CommandKind::Pass => {
            // RFC 1939 §7: the argument is the rest of the line, so that
            // passwords may contain spaces.
            if args.pos >= line.len() {
                return Err(CommandError::Expected {
                    offset: line.len(),
                    expected: "a space and a password",
                });
            }
            let off = args.pos + 1;
            let pass = &line[off..];
            check_password(pass, off)?;
            args.pos = line.len();
            Command::Pass(Secret::new(utf8(pass, off)?))
        }
        CommandKind::Apop => {
            let (off, name) = args.required("a user name")?;
            check_name(name, off)?;
            let name = utf8(name, off)?;
            let (off, digest) = args.required("a 32-digit hex digest")?;
            let digest = std::str::from_utf8(digest)
                .ok()
                .and_then(ApopDigest::from_hex)
                .ok_or(CommandError::Expected {
                    offset: off,
                    expected: "a 32-digit hex digest",
                })?;
            Command::Apop { name, digest }
        }
        CommandKind::Stat => Command::Stat,
        CommandKind::List => Command::List(args.optional_msg()?),
        CommandKind::Retr => Command::Retr(args.required_msg()?),
        CommandKind::Dele => Command::Dele(args.required_msg()?),
        CommandKind::Noop => Command::Noop,
        CommandKind::Rset => Command::Rset,
        CommandKind::Quit => Command::Quit,
        CommandKind::Top => {
            let msg = args.required_msg()?;
            let (off, n) = args.required("a line count")?;
            let lines = decimal(n, off, "a line count from 0 to 4294967295")?;
            Command::Top { msg, lines }
        }
        CommandKind::Uidl => Command::Uidl(args.optional_msg()?),
        CommandKind::Capa => Command::Capa,
        CommandKind::Stls => Command::Stls,
        CommandKind::Auth => {
            let (off, mech) = args.required("a SASL mechanism name")?;
            check_mechanism_lenient(mech, off)?;
            let mechanism = String::from_utf8_lossy(mech).to_ascii_uppercase();
            let initial = match args.optional() {
                Some((off, text)) => Some(Secret::new(decode_sasl(text, off)?)),
                None => None,
            };
            Command::Auth { mechanism, initial }
        }
        CommandKind::Utf8 => Command::Utf8,
        CommandKind::Lang => match args.optional() {
            Some((off, range)) => {
                check_lang(range, off)?;
                Command::Lang(Some(utf8(range, off)?))
            }
            None => Command::Lang(None),
        },
    };
    args.end()?;
    Ok(command)
}

/// Appends a SASL response or challenge in base64, `=` for an empty one
/// (RFC 5034 §4), without line terminator.
pub(crate) fn encode_sasl(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        out.push(b'=');
    } else {
        let start = out.len();
        let len = base64::encoded_len(data.len(), true).unwrap_or(0);
        out.resize(start + len, 0);
        // The buffer was sized with encoded_len for exactly this input.
        let written = BASE64.encode_slice(data, &mut out[start..]).unwrap_or(0);
        out.truncate(start + written);
    }
}

/// Decodes a base64 SASL response (`=` meaning empty).
pub(crate) fn decode_sasl(text: &[u8], offset: usize) -> Result<Vec<u8>, CommandError> {
    if text == b"=" {
        return Ok(Vec::new());
    }
    BASE64
        .decode(text)
        .map_err(|_| CommandError::InvalidBase64 { offset })
}

pub(crate) fn strip_cr(line: &[u8]) -> &[u8] {
    match line.split_last() {
        Some((b'\r', rest)) => rest,
        _ => line,
    }
}

struct Args<'a> {
    line: &'a [u8],
    /// Index of the separator before the next argument, or the line end.
    pos: usize,
}

impl<'a> Args<'a> {
    fn optional(&mut self) -> Option<(usize, &'a [u8])> {
        if self.pos >= self.line.len() {
            return None;
        }
        let start = self.pos + 1;
        let end = memchr::memchr(b' ', &self.line[start..]).map_or(self.line.len(), |i| start + i);
        self.pos = end;
        Some((start, &self.line[start..end]))
    }

    fn required(&mut self, expected: &'static str) -> Result<(usize, &'a [u8]), CommandError> {
        match self.optional() {
            Some((off, arg)) if !arg.is_empty() => Ok((off, arg)),
            Some((off, _)) => Err(CommandError::Expected {
                offset: off,
                expected,
            }),
            None => Err(CommandError::Expected {
                offset: self.line.len(),
                expected,
            }),
        }
    }

    fn required_msg(&mut self) -> Result<MessageNumber, CommandError> {
        let (off, arg) = self.required("a message number")?;
        message_number(arg, off)
    }

    fn optional_msg(&mut self) -> Result<Option<MessageNumber>, CommandError> {
        match self.optional() {
            Some((off, arg)) => message_number(arg, off).map(Some),
            None => Ok(None),
        }
    }

    fn end(&self) -> Result<(), CommandError> {
        if self.pos < self.line.len() {
            Err(CommandError::Expected {
                offset: self.pos,
                expected: "the end of the line",
            })
        } else {
            Ok(())
        }
    }
}

fn message_number(arg: &[u8], offset: usize) -> Result<MessageNumber, CommandError> {
    let n = decimal(arg, offset, "a message number from 1 to 4294967295")?;
    MessageNumber::new(n).ok_or(CommandError::NumberOutOfRange {
        offset,
        expected: "a message number from 1 to 4294967295",
    })
}

/// An unsigned decimal without sign (RFC 1939 §3), at most `u32::MAX`.
fn decimal(arg: &[u8], offset: usize, range: &'static str) -> Result<u32, CommandError> {
    if arg.is_empty() {
        return Err(CommandError::Expected {
            offset,
            expected: "a decimal number",
        });
    }
    let mut n: u32 = 0;
    for (i, &b) in arg.iter().enumerate() {
        if !b.is_ascii_digit() {
            return Err(CommandError::Expected {
                offset: offset + i,
                expected: "a decimal digit",
            });
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u32::from(b - b'0')))
            .ok_or(CommandError::NumberOutOfRange {
                offset,
                expected: range,
            })?;
    }
    Ok(n)
}

fn utf8(bytes: &[u8], offset: usize) -> Result<String, CommandError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|e| CommandError::InvalidUtf8 {
            offset: offset + e.valid_up_to(),
        })
}

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// A user name: non-empty, no space or control character, UTF-8.
fn check_name(name: &[u8], offset: usize) -> Result<(), CommandError> {
    if name.is_empty() {
        return Err(CommandError::Expected {
            offset,
            expected: "a user name",
        });
    }
    if let Some(i) = name.iter().position(|&b| b == b' ' || is_control(b)) {
        return Err(CommandError::Expected {
            offset: offset + i,
            expected: "a user name character (no space or control character)",
        });
    }
    utf8(name, offset).map(drop)
}

/// A password: non-empty, no control character (spaces allowed), UTF-8.
fn check_password(pass: &[u8], offset: usize) -> Result<(), CommandError> {
    if pass.is_empty() {
        return Err(CommandError::Expected {
            offset,
            expected: "a password",
        });
    }
    if let Some(i) = pass.iter().position(|&b| is_control(b)) {
        return Err(CommandError::Expected {
            offset: offset + i,
            expected: "a password character (no control character)",
        });
    }
    utf8(pass, offset).map(drop)
}

/// RFC 4422 §3.1: 1 to 20 of upper-case letters, digits, `-` and `_`.
fn check_mechanism(mech: &[u8], offset: usize) -> Result<(), CommandError> {
    check_mechanism_with(mech, offset, |b| {
        b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
    })
}

/// As [`check_mechanism`], but lower case is accepted from the wire.
fn check_mechanism_lenient(mech: &[u8], offset: usize) -> Result<(), CommandError> {
    check_mechanism_with(mech, offset, |b| {
        b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
    })
}

fn check_mechanism_with(
    mech: &[u8],
    offset: usize,
    allowed: impl Fn(u8) -> bool,
) -> Result<(), CommandError> {
    if mech.is_empty() {
        return Err(CommandError::Expected {
            offset,
            expected: "a SASL mechanism name",
        });
    }
    if mech.len() > 20 {
        return Err(CommandError::Expected {
            offset: offset + 20,
            expected: "the end of a SASL mechanism name (at most 20 characters)",
        });
    }
    match mech.iter().position(|&b| !allowed(b)) {
        Some(i) => Err(CommandError::Expected {
            offset: offset + i,
            expected: "a SASL mechanism character (A-Z 0-9 - _)",
        }),
        None => Ok(()),
    }
}

/// RFC 6856 §3: a language range, `*` or a tag of letters, digits and `-`.
fn check_lang(range: &[u8], offset: usize) -> Result<(), CommandError> {
    if range == b"*" {
        return Ok(());
    }
    if range.is_empty() {
        return Err(CommandError::Expected {
            offset,
            expected: "a language tag or *",
        });
    }
    match range
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'-'))
    {
        Some(i) => Err(CommandError::Expected {
            offset: offset + i,
            expected: "a language tag character (A-Z a-z 0-9 -)",
        }),
        None => Ok(()),
    }
}

fn push_arg(out: &mut Vec<u8>, arg: &[u8]) {
    out.push(b' ');
    out.extend_from_slice(arg);
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: u32) -> MessageNumber {
        MessageNumber::new(n).expect("test numbers are positive")
    }

    fn parse(line: &str) -> Result<Command, CommandError> {
        match parse_command(line.as_bytes())? {
            Parsed::Complete { value, consumed } => {
                assert_eq!(consumed, line.len());
                Ok(value)
            }
            Parsed::Incomplete => panic!("incomplete: {line:?}"),
        }
    }

    #[test]
    fn known_answers() {
        let digest = ApopDigest::from_hex("c4c9334bac560ecc979e58001b3e22fb").expect("valid hex");
        let table: Vec<(&str, Command)> = vec![
            ("USER mrose\r\n", Command::User("mrose".into())),
            ("user mrose\r\n", Command::User("mrose".into())),
            (
                "PASS secret\r\n",
                Command::Pass(Secret::new("secret".into())),
            ),
            (
                "PASS with spaces \r\n",
                Command::Pass(Secret::new("with spaces ".into())),
            ),
            (
                "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
                Command::Apop {
                    name: "mrose".into(),
                    digest,
                },
            ),
            (
                "APOP mrose C4C9334BAC560ECC979E58001B3E22FB\r\n",
                Command::Apop {
                    name: "mrose".into(),
                    digest,
                },
            ),
            ("STAT\r\n", Command::Stat),
            ("LIST\r\n", Command::List(None)),
            ("LIST 2\r\n", Command::List(Some(msg(2)))),
            ("RETR 1\r\n", Command::Retr(msg(1))),
            ("DELE 4294967295\r\n", Command::Dele(msg(u32::MAX))),
            ("NOOP\r\n", Command::Noop),
            ("RSET\r\n", Command::Rset),
            ("QUIT\r\n", Command::Quit),
            ("QUIT\n", Command::Quit),
            (
                "TOP 1 0\r\n",
                Command::Top {
                    msg: msg(1),
                    lines: 0,
                },
            ),
            ("UIDL\r\n", Command::Uidl(None)),
            ("UIDL 7\r\n", Command::Uidl(Some(msg(7)))),
            ("CAPA\r\n", Command::Capa),
            ("STLS\r\n", Command::Stls),
            (
                "AUTH PLAIN\r\n",
                Command::Auth {
                    mechanism: "PLAIN".into(),
                    initial: None,
                },
            ),
            (
                "auth plain dGVzdAB0ZXN0AHRlc3Q=\r\n",
                Command::Auth {
                    mechanism: "PLAIN".into(),
                    initial: Some(Secret::new(b"test\0test\0test".to_vec())),
                },
            ),
            (
                "AUTH EXTERNAL =\r\n",
                Command::Auth {
                    mechanism: "EXTERNAL".into(),
                    initial: Some(Secret::new(Vec::new())),
                },
            ),
            ("UTF8\r\n", Command::Utf8),
            ("LANG\r\n", Command::Lang(None)),
            ("LANG *\r\n", Command::Lang(Some("*".into()))),
            ("LANG en-US\r\n", Command::Lang(Some("en-US".into()))),
            ("USER j\u{f6}rg\r\n", Command::User("j\u{f6}rg".into())),
        ];
        for (line, expected) in table {
            assert_eq!(parse(line), Ok(expected), "{line:?}");
        }
    }

    #[test]
    fn errors_say_where() {
        let table: Vec<(&str, CommandError)> = vec![
            (
                "XYZZY\r\n",
                CommandError::UnknownCommand {
                    keyword: "XYZZY".into(),
                },
            ),
            (
                "\r\n",
                CommandError::UnknownCommand {
                    keyword: String::new(),
                },
            ),
            (
                "RETR\r\n",
                CommandError::Expected {
                    offset: 4,
                    expected: "a message number",
                },
            ),
            (
                "RETR 0\r\n",
                CommandError::NumberOutOfRange {
                    offset: 5,
                    expected: "a message number from 1 to 4294967295",
                },
            ),
            (
                "RETR +1\r\n",
                CommandError::Expected {
                    offset: 5,
                    expected: "a decimal digit",
                },
            ),
            (
                "RETR 4294967296\r\n",
                CommandError::NumberOutOfRange {
                    offset: 5,
                    expected: "a message number from 1 to 4294967295",
                },
            ),
            (
                "RETR 1 2\r\n",
                CommandError::Expected {
                    offset: 6,
                    expected: "the end of the line",
                },
            ),
            (
                "STAT \r\n",
                CommandError::Expected {
                    offset: 4,
                    expected: "the end of the line",
                },
            ),
            (
                "LIST  1\r\n",
                CommandError::Expected {
                    offset: 5,
                    expected: "a decimal number",
                },
            ),
            (
                "TOP 1\r\n",
                CommandError::Expected {
                    offset: 5,
                    expected: "a line count",
                },
            ),
            (
                "APOP mrose c4c9\r\n",
                CommandError::Expected {
                    offset: 11,
                    expected: "a 32-digit hex digest",
                },
            ),
            (
                "USER\r\n",
                CommandError::Expected {
                    offset: 4,
                    expected: "a user name",
                },
            ),
            (
                "PASS\r\n",
                CommandError::Expected {
                    offset: 4,
                    expected: "a space and a password",
                },
            ),
            (
                "PASS \r\n",
                CommandError::Expected {
                    offset: 5,
                    expected: "a password",
                },
            ),
            (
                "USER a\u{1}b\r\n",
                CommandError::Expected {
                    offset: 6,
                    expected: "a user name character (no space or control character)",
                },
            ),
            (
                "AUTH PL@IN\r\n",
                CommandError::Expected {
                    offset: 7,
                    expected: "a SASL mechanism character (A-Z 0-9 - _)",
                },
            ),
            (
                "AUTH PLAIN !!!!\r\n",
                CommandError::InvalidBase64 { offset: 11 },
            ),
            (
                "LANG e_n\r\n",
                CommandError::Expected {
                    offset: 6,
                    expected: "a language tag character (A-Z a-z 0-9 -)",
                },
            ),
        ];
        for (line, expected) in table {
            assert_eq!(parse(line), Err(expected), "{line:?}");
        }
        assert_eq!(
            parse_command(b"USER \xff\r\n"),
            Err(CommandError::InvalidUtf8 { offset: 5 })
        );
    }

    #[test]
    fn encode_known_answers() {
        let cases: Vec<(Command, &str)> = vec![
            (Command::User("mrose".into()), "USER mrose\r\n"),
            (Command::Pass(Secret::new("a b".into())), "PASS a b\r\n"),
            (
                Command::Top {
                    msg: msg(3),
                    lines: 10,
                },
                "TOP 3 10\r\n",
            ),
            (
                Command::Auth {
                    mechanism: "PLAIN".into(),
                    initial: Some(Secret::new(Vec::new())),
                },
                "AUTH PLAIN =\r\n",
            ),
            (Command::List(None), "LIST\r\n"),
            (Command::Uidl(Some(msg(9))), "UIDL 9\r\n"),
        ];
        for (command, expected) in cases {
            assert_eq!(
                command.to_bytes().map(String::from_utf8),
                Ok(Ok(expected.to_owned()))
            );
        }
    }

    #[test]
    fn encode_rejects_invalid_arguments_and_long_lines() {
        assert!(matches!(
            Command::User("a b".into()).to_bytes(),
            Err(CommandError::Expected { offset: 6, .. })
        ));
        assert!(
            Command::Pass(Secret::new("x\r\n".into()))
                .to_bytes()
                .is_err()
        );
        assert!(
            Command::Auth {
                mechanism: "plain".into(),
                initial: None
            }
            .to_bytes()
            .is_err()
        );
        let long = Command::Auth {
            mechanism: "PLAIN".into(),
            initial: Some(Secret::new(vec![7; 300])),
        };
        let mut out = b"kept".to_vec();
        assert!(matches!(
            long.encode(&mut out),
            Err(CommandError::LineTooLong { limit: 255, .. })
        ));
        assert_eq!(out, b"kept");
    }

    #[test]
    fn prefixes_are_incomplete() {
        for line in [
            "USER mrose\r\n",
            "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
            "TOP 1 10\r\n",
            "AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n",
        ] {
            for end in 0..line.len() {
                assert_eq!(
                    parse_command(&line.as_bytes()[..end]),
                    Ok(Parsed::Incomplete),
                    "{:?}",
                    &line[..end]
                );
            }
        }
    }

    #[test]
    fn apop_digest_hex_round_trip() {
        let d = ApopDigest([0xab; 16]);
        assert_eq!(ApopDigest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(ApopDigest::from_hex("zz"), None);
        assert_eq!(format!("{d:?}"), format!("ApopDigest({})", "ab".repeat(16)));
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let shown = format!("{:?}", Command::Pass(Secret::new("hunter2".into())));
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
