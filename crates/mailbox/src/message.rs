//! Message content: the CRLF form, sizes, `BODY[section]<partial>`,
//! ENVELOPE and BODYSTRUCTURE (RFC 3501 §6.4.5, §7.4.2).
//!
//! [`Message::parse`] never fails: any bytes make a message. Nesting deeper
//! than [`MAX_DEPTH`] is read as an opaque text part, so hostile input
//! cannot recurse without bound.

use std::borrow::Cow;
use std::num::NonZeroU32;
use std::ops::Range;

use postroom_types::{
    BodyFields, BodyStructure, Disposition, Envelope, ExtensionTail, LanguageTail, LocationTail,
    MultipartExtension, SinglePart, SinglePartExtension, SinglePartKind,
};

/// Deepest MIME nesting parsed.
pub const MAX_DEPTH: usize = 50;
/// Longest multipart boundary honoured (RFC 2046 allows 70).
const MAX_BOUNDARY: usize = 200;

/// RFC822.SIZE of stored bytes: every bare LF counts as CRLF.
pub fn crlf_size(raw: &[u8]) -> u64 {
    // Line ends found with memchr (SIMD), not byte by byte: this runs over
    // every message a SEARCH or cold FETCH reads.
    let bare = memchr::memchr_iter(b'\n', raw)
        .filter(|&i| i == 0 || raw[i - 1] != b'\r')
        .count();
    raw.len() as u64 + bare as u64
}

/// The message with CRLF line ends (bare LFs become CRLF; everything else
/// is kept byte for byte).
pub fn to_crlf(raw: &[u8]) -> Cow<'_, [u8]> {
    // One pass: nothing is copied until the first bare LF.
    let mut out: Option<Vec<u8>> = None;
    let mut from = 0;
    for i in memchr::memchr_iter(b'\n', raw) {
        if i == 0 || raw[i - 1] != b'\r' {
            let out = out.get_or_insert_with(|| Vec::with_capacity(raw.len() + raw.len() / 32));
            out.extend_from_slice(&raw[from..i]);
            out.push(b'\r');
            from = i;
        }
    }
    match out {
        None => Cow::Borrowed(raw),
        Some(mut out) => {
            out.extend_from_slice(&raw[from..]);
            Cow::Owned(out)
        }
    }
}

/// Length of the header of stored bytes, including the blank line that
/// ends it (LF or CRLF line ends); the whole input when there is no body.
pub fn header_len(raw: &[u8]) -> usize {
    if raw.starts_with(b"\n") {
        return 1;
    }
    if raw.starts_with(b"\r\n") {
        return 2;
    }
    let mut i = 0;
    while let Some(p) = raw[i..].iter().position(|&b| b == b'\n') {
        let nl = i + p;
        let rest = &raw[nl + 1..];
        if rest.starts_with(b"\n") {
            return nl + 2;
        }
        if rest.starts_with(b"\r\n") {
            return nl + 3;
        }
        i = nl + 1;
    }
    raw.len()
}

/// `<origin.length>` of a partial fetch: the bytes from `origin`, at most
/// `length` of them; empty when `origin` is past the end (RFC 3501 §6.4.5).
pub fn partial(bytes: &[u8], origin: u32, length: u32) -> &[u8] {
    let start = (origin as usize).min(bytes.len());
    let end = start.saturating_add(length as usize).min(bytes.len());
    &bytes[start..end]
}

/// A section specification (RFC 3501 §6.4.5 `section-spec`), as the codec
/// parses it.
pub use postroom_types::{Section, SectionText};

/// A parsed message over its CRLF form.
#[derive(Debug, Clone)]
pub struct Message {
    data: Vec<u8>,
    root: Entity,
}

#[derive(Debug, Clone)]
struct Entity {
    header: Range<usize>,
    /// Whether a blank line ends the header.
    blank: bool,
    body: Range<usize>,
    media_type: String,
    media_subtype: String,
    params: Vec<(String, Vec<u8>)>,
    children: Children,
}

#[derive(Debug, Clone)]
enum Children {
    None,
    Multi(Vec<Entity>),
    Message(Box<Entity>),
}

impl Message {
    /// Parses stored bytes (any line ends).
    pub fn parse(raw: &[u8]) -> Message {
        let data = to_crlf(raw).into_owned();
        let root = Entity::parse(&data, 0..data.len(), false, 0);
        Message { data, root }
    }

    /// The whole message with CRLF line ends (`BODY[]`, RFC822).
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// RFC822.SIZE.
    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    /// `BODY[section]`: `None` when the section does not exist (a server
    /// sends an empty string, as Dovecot and Courier do) or is invalid
    /// (`MIME` without a part number).
    pub fn section(&self, section: &Section) -> Option<Cow<'_, [u8]>> {
        let (entity, top) = if section.part.is_empty() {
            (&self.root, true)
        } else {
            (self.resolve(&section.part)?, false)
        };
        let d = &self.data;
        match &section.text {
            None if top => Some(Cow::Borrowed(d)),
            None => Some(Cow::Borrowed(&d[entity.body.clone()])),
            Some(SectionText::Mime) => {
                if top {
                    return None;
                }
                Some(header_with_blank(d, entity))
            }
            Some(t) => {
                // HEADER/TEXT after a part number only for message/rfc822.
                let msg = if top {
                    entity
                } else {
                    match &entity.children {
                        Children::Message(inner) => inner,
                        _ => return None,
                    }
                };
                Some(match t {
                    SectionText::Header => header_with_blank(d, msg),
                    SectionText::Text => Cow::Borrowed(&d[msg.body.clone()]),
                    SectionText::HeaderFields(names) => {
                        Cow::Owned(filter_fields(&d[msg.header.clone()], names, true))
                    }
                    SectionText::HeaderFieldsNot(names) => {
                        Cow::Owned(filter_fields(&d[msg.header.clone()], names, false))
                    }
                    SectionText::Mime => unreachable!("handled above"),
                })
            }
        }
    }

    /// ENVELOPE of the message (RFC 3501 §7.4.2).
    pub fn envelope(&self) -> Envelope {
        envelope_of(&self.data[self.root.header.clone()])
    }

    /// BODYSTRUCTURE (`extensible` true) or BODY (false).
    pub fn body_structure(&self, extensible: bool) -> BodyStructure {
        self.root.structure(&self.data, extensible)
    }

    /// The header fields of the top-level message: (name, raw value
    /// without the folding CRLFs).
    pub fn header_fields(&self) -> Vec<(String, Vec<u8>)> {
        fields(&self.data[self.root.header.clone()])
            .into_iter()
            .map(|(n, v)| (String::from_utf8_lossy(n).into_owned(), unfold(v)))
            .collect()
    }

    /// Decoded text of every text part (transfer encoding and charset
    /// decoded), for SEARCH BODY/TEXT.
    pub fn body_texts(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.root.collect_texts(&self.data, &mut out);
        out
    }

    /// Decoded header fields (`name: value`) of every body part below the
    /// top level (MIME part headers), for SEARCH TEXT: they are part of
    /// the message's body (RFC 3501 §6.4.4).
    pub fn part_headers(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack: Vec<&Entity> = vec![&self.root];
        while let Some(e) = stack.pop() {
            if let Children::Multi(parts) = &e.children {
                for p in parts {
                    for (n, v) in decoded_headers(&self.data[p.header.clone()]) {
                        out.push(format!("{n}: {v}"));
                    }
                    stack.push(p);
                }
            } else if let Children::Message(inner) = &e.children {
                stack.push(inner);
            }
        }
        out
    }

    /// Decoded header values (RFC 2047 words decoded) of the top-level
    /// message, for SEARCH: (lowercase name, value).
    pub fn decoded_headers(&self) -> Vec<(String, String)> {
        decoded_headers(&self.data[self.root.header.clone()])
    }

    fn resolve(&self, path: &[NonZeroU32]) -> Option<&Entity> {
        let mut cur = &self.root;
        for (i, n) in path.iter().enumerate() {
            let n = n.get();
            cur = if i == 0 {
                match &cur.children {
                    Children::Multi(v) => v.get((n as usize).checked_sub(1)?)?,
                    _ if n == 1 => cur,
                    _ => return None,
                }
            } else {
                child(cur, n)?
            };
        }
        Some(cur)
    }
}

/// Part `n` below `e`: a multipart's n-th part, or inside a message/rfc822
/// part the parts of the encapsulated message (its body as part 1 when it
/// is not multipart).
fn child(e: &Entity, n: u32) -> Option<&Entity> {
    let i = (n as usize).checked_sub(1)?;
    match &e.children {
        Children::Multi(v) => v.get(i),
        Children::Message(inner) => match &inner.children {
            Children::Multi(v) => v.get(i),
            _ if n == 1 => Some(inner),
            _ => None,
        },
        Children::None => None,
    }
}

impl Entity {
    fn parse(d: &[u8], range: Range<usize>, in_digest: bool, depth: usize) -> Entity {
        let start = range.start;
        let end = range.end;
        let slice = &d[start..end];
        let (header, blank, body) = if slice.starts_with(b"\r\n") {
            (start..start, true, start + 2..end)
        } else {
            match find(slice, b"\r\n\r\n") {
                Some(i) => (start..start + i + 2, true, start + i + 4..end),
                None => (start..end, false, end..end),
            }
        };
        let hdr = &d[header.clone()];
        let ct = field(hdr, "content-type");
        let (mut media_type, mut media_subtype, params) = match ct.as_deref() {
            Some(v) => {
                let (value, params) = parse_params(v);
                let mimetype = String::from_utf8_lossy(&value).to_ascii_lowercase();
                match mimetype.split_once('/') {
                    Some((t, s)) if !t.trim().is_empty() && !s.trim().is_empty() => {
                        (t.trim().to_owned(), s.trim().to_owned(), params)
                    }
                    // An unusable Content-Type means text/plain; charset=
                    // us-ascii (RFC 2045 §5.2); its parameters are dropped.
                    _ => ("text".to_owned(), "plain".to_owned(), Vec::new()),
                }
            }
            None if in_digest => ("message".to_owned(), "rfc822".to_owned(), Vec::new()),
            None => ("text".to_owned(), "plain".to_owned(), Vec::new()),
        };
        let mut children = Children::None;
        if depth < MAX_DEPTH {
            if media_type == "multipart" {
                let boundary = params
                    .iter()
                    .find(|(k, _)| k == "boundary")
                    .map(|(_, v)| v.clone())
                    .filter(|b| !b.is_empty() && b.len() <= MAX_BOUNDARY);
                let digest = media_subtype == "digest";
                let mut parts: Vec<Entity> = match boundary {
                    Some(b) => split_multipart(d, body.clone(), &b)
                        .into_iter()
                        .map(|r| Entity::parse(d, r, digest, depth + 1))
                        .collect(),
                    None => Vec::new(),
                };
                if parts.is_empty() {
                    // BODYSTRUCTURE needs at least one part.
                    parts.push(Entity::parse(d, body.end..body.end, false, MAX_DEPTH));
                }
                children = Children::Multi(parts);
            } else if media_type == "message"
                && (media_subtype == "rfc822" || media_subtype == "global")
            {
                children =
                    Children::Message(Box::new(Entity::parse(d, body.clone(), false, depth + 1)));
            }
        } else if media_type == "multipart" || media_type == "message" {
            media_type = "text".to_owned();
            media_subtype = "plain".to_owned();
        }
        Entity {
            header,
            blank,
            body,
            media_type,
            media_subtype,
            params,
            children,
        }
    }

    fn structure(&self, d: &[u8], ext: bool) -> BodyStructure {
        let hdr = &d[self.header.clone()];
        let disposition = || {
            field(hdr, "content-disposition").and_then(|v| {
                let (kind, params) = parse_params(&v);
                let kind = String::from_utf8_lossy(&kind).into_owned();
                if kind.is_empty() {
                    return None;
                }
                Some(Disposition { kind, params })
            })
        };
        let tail = || ExtensionTail {
            disposition: disposition(),
            language: Some(LanguageTail {
                languages: field(hdr, "content-language")
                    .map(|v| {
                        String::from_utf8_lossy(&v)
                            .split(',')
                            .map(|l| l.trim().to_owned())
                            .filter(|l| !l.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                location: Some(LocationTail {
                    location: field_string(hdr, "content-location"),
                    extensions: Vec::new(),
                }),
            }),
        };
        if let Children::Multi(parts) = &self.children {
            return BodyStructure::Multipart {
                parts: parts.iter().map(|p| p.structure(d, ext)).collect(),
                subtype: self.media_subtype.clone(),
                extension: ext.then(|| MultipartExtension {
                    params: self.params.clone(),
                    tail: Some(tail()),
                }),
            };
        }
        let body = &d[self.body.clone()];
        let mut params = self.params.clone();
        // RFC 2045 §5.2 (no Content-Type) and RFC 2046 §4.1.2 (a text part
        // without a charset parameter): the charset is US-ASCII.
        if self.media_type == "text" && !params.iter().any(|(k, _)| k == "charset") {
            params.push(("charset".to_owned(), b"us-ascii".to_vec()));
        }
        let fields = BodyFields {
            params,
            id: field_string(hdr, "content-id"),
            description: field_string(hdr, "content-description"),
            encoding: field_string(hdr, "content-transfer-encoding")
                .map(|e| e.trim().to_ascii_lowercase())
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| "7bit".to_owned()),
            octets: u32::try_from(body.len()).unwrap_or(u32::MAX),
        };
        let kind = match &self.children {
            Children::Message(inner) => SinglePartKind::Message {
                envelope: Box::new(envelope_of(&d[inner.header.clone()])),
                body: Box::new(inner.structure(d, ext)),
                lines: count_lines(body),
            },
            _ if self.media_type == "text" => SinglePartKind::Text {
                lines: count_lines(body),
            },
            _ => SinglePartKind::Basic,
        };
        BodyStructure::Single {
            part: SinglePart {
                media_type: self.media_type.clone(),
                media_subtype: self.media_subtype.clone(),
                fields,
                kind,
            },
            extension: ext.then(|| SinglePartExtension {
                md5: field_string(hdr, "content-md5"),
                tail: Some(tail()),
            }),
        }
    }

    fn collect_texts(&self, d: &[u8], out: &mut Vec<String>) {
        match &self.children {
            Children::Multi(parts) => parts.iter().for_each(|p| p.collect_texts(d, out)),
            Children::Message(inner) => {
                out.push(
                    decoded_headers(&d[inner.header.clone()])
                        .into_iter()
                        .map(|(_, v)| v)
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
                inner.collect_texts(d, out);
            }
            Children::None if self.media_type == "text" => {
                // Decode with a header rebuilt from what this part declares,
                // so the MIME parser never sees a multipart header here (it
                // would recurse without the depth bound kept above).
                let hdr = &d[self.header.clone()];
                let charset = self
                    .params
                    .iter()
                    .find(|(k, _)| k == "charset")
                    .map_or(Cow::Borrowed("us-ascii"), |(_, v)| {
                        String::from_utf8_lossy(v)
                    });
                let charset = charset.as_ref();
                let cte = field_string(hdr, "content-transfer-encoding").unwrap_or_default();
                let plain_cte = matches!(
                    cte.trim().to_ascii_lowercase().as_str(),
                    "" | "7bit" | "8bit" | "binary"
                );
                let plain_charset = ["us-ascii", "utf-8", "utf8"]
                    .iter()
                    .any(|c| charset.eq_ignore_ascii_case(c));
                if plain_cte && plain_charset {
                    // Nothing to decode: the stored bytes are the text.
                    out.push(String::from_utf8_lossy(&d[self.body.clone()]).into_owned());
                    return;
                }
                let mut part = format!(
                    "Content-Type: text/plain; charset=\"{}\"\r\nContent-Transfer-Encoding: {}\r\n\r\n",
                    charset.replace(['"', '\\', '\r', '\n'], ""),
                    cte.replace(['\r', '\n'], "")
                )
                .into_bytes();
                part.extend_from_slice(&d[self.body.clone()]);
                let text = mailparse::parse_mail(&part)
                    .ok()
                    .and_then(|m| m.get_body().ok())
                    .unwrap_or_else(|| String::from_utf8_lossy(&d[self.body.clone()]).into_owned());
                out.push(text);
            }
            Children::None => {}
        }
    }
}

fn header_with_blank<'a>(d: &'a [u8], e: &Entity) -> Cow<'a, [u8]> {
    if e.blank {
        // The blank line directly follows the header range.
        Cow::Borrowed(&d[e.header.start..e.header.end + 2])
    } else {
        Cow::Borrowed(&d[e.header.clone()])
    }
}

/// Body ranges of a multipart's parts (RFC 2046 §5.1.1): between delimiter
/// lines `--boundary`, the CRLF before a delimiter belonging to it; up to
/// the close delimiter `--boundary--` or the end.
fn split_multipart(d: &[u8], body: Range<usize>, boundary: &[u8]) -> Vec<Range<usize>> {
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(boundary);
    let slice = &d[body.clone()];
    // Longer boundaries declared by nested multiparts that begin with this
    // one: their delimiter lines also begin with ours, and the innermost
    // multipart's boundary is the one they mean (as Dovecot reads them).
    let nested = nested_boundaries(slice, boundary);
    // Offsets (in slice) of line starts that begin with the delimiter.
    let mut marks: Vec<(usize, usize, bool)> = Vec::new(); // (crlf_before, after_line, is_close)
    let mut pos = 0;
    while pos <= slice.len() {
        let at_line_start = pos == 0 || slice[..pos].ends_with(b"\r\n");
        if at_line_start
            && slice[pos..].starts_with(&delim)
            && !nested.iter().any(|n| slice[pos + 2..].starts_with(n))
        {
            let mut q = pos + delim.len();
            let close = slice[q..].starts_with(b"--");
            if close {
                q += 2;
            }
            // RFC 2046 §5.1.1: "An exact match of the entire candidate
            // line is not required; it is sufficient that the boundary
            // appear in its entirety following the CRLF": whatever follows
            // (transport padding or not) is part of the delimiter line.
            let line_end = Some(find(&slice[q..], b"\r\n").map_or(slice.len(), |i| q + i + 2));
            if let Some(after) = line_end {
                let before = if pos >= 2 { pos - 2 } else { pos };
                marks.push((before, after, close));
                if close {
                    break;
                }
                pos = after;
                continue;
            }
        }
        match find(&slice[pos..], b"\r\n") {
            Some(i) => pos += i + 2,
            None => break,
        }
    }
    let mut parts = Vec::new();
    for w in marks.windows(2) {
        let (_, after, close) = w[0];
        if close {
            break;
        }
        let (before, _, _) = w[1];
        parts.push(body.start + after..body.start + before.max(after));
    }
    if let Some(&(_, after, close)) = marks.last() {
        if !close {
            parts.push(body.start + after..body.end);
        }
    }
    parts
}

/// Most nested boundaries looked at per multipart (hostile input bound).
const MAX_NESTED: usize = 64;

/// Values of `boundary=` parameters in `body` that are longer than
/// `boundary` and begin with it.
fn nested_boundaries(body: &[u8], boundary: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let lower: Vec<u8> = body.iter().map(u8::to_ascii_lowercase).collect();
    for at in memchr::memmem::find_iter(&lower, b"boundary=") {
        if out.len() >= MAX_NESTED {
            break;
        }
        let v = &body[at + 9..];
        let value = match v.strip_prefix(b"\"") {
            Some(q) => &q[..q.iter().position(|&b| b == b'"').unwrap_or(q.len())],
            None => {
                let end = v
                    .iter()
                    .position(|&b| b == b';' || b.is_ascii_whitespace())
                    .unwrap_or(v.len());
                &v[..end]
            }
        };
        if value.len() > boundary.len() && value.starts_with(boundary) {
            out.push(value.to_vec());
        }
    }
    out
}

/// Most parameters kept from one header field (hostile input bound).
const MAX_PARAMS: usize = 256;

/// Splits a Content-Type or Content-Disposition value into its leading
/// value (`type/subtype`, `attachment`) and its parameters (RFC 2045 §5.1,
/// RFC 2183 §2), in header order. Values are bytes: quoted-pairs are
/// unescaped (RFC 5322 §3.2.4), 8-bit octets are kept as they are.
/// Parameters in RFC 2231 form (`name*`, `name*0`, `name*1*`, ...) are
/// joined and decoded to UTF-8 under their plain name, at the place of
/// their first section, as RFC 9051 §7.5.2 asks of BODYSTRUCTURE.
/// Lenient: a value without quotes runs to `;` or whitespace, a comment
/// is skipped, a parameter without `=` is dropped.
fn parse_params(v: &[u8]) -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
    // The leading value: tokens and '/' with optional CFWS between them;
    // anything else before the first ';' makes it invalid (empty).
    let mut i = skip_cfws(v, 0);
    let mut lead = Vec::new();
    let mut valid = true;
    let mut gap = false;
    while i < v.len() && v[i] != b';' {
        if v[i] == b'(' || v[i].is_ascii_whitespace() {
            i = skip_cfws(v, i);
            gap = true;
            continue;
        }
        let slash = v[i] == b'/' || lead.last() == Some(&b'/');
        if gap && !lead.is_empty() && !slash {
            valid = false;
        }
        gap = false;
        lead.push(v[i]);
        i += 1;
    }
    if !valid {
        lead.clear();
    }
    let mut raw: Vec<(String, Vec<u8>)> = Vec::new();
    while i < v.len() && raw.len() < MAX_PARAMS {
        // At ';'.
        i += 1;
        i = skip_cfws(v, i);
        let start = i;
        while i < v.len()
            && !matches!(v[i], b'=' | b';' | b'(' | b'"')
            && !v[i].is_ascii_whitespace()
        {
            i += 1;
        }
        let name = String::from_utf8_lossy(&v[start..i]).to_ascii_lowercase();
        i = skip_cfws(v, i);
        if i >= v.len() || v[i] != b'=' || name.is_empty() {
            while i < v.len() && v[i] != b';' {
                i += 1;
            }
            continue;
        }
        i = skip_cfws(v, i + 1);
        let mut value = Vec::new();
        if i < v.len() && v[i] == b'"' {
            i += 1;
            while i < v.len() && v[i] != b'"' {
                if v[i] == b'\\' && i + 1 < v.len() {
                    i += 1;
                }
                value.push(v[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < v.len() && !matches!(v[i], b';' | b'(') && !v[i].is_ascii_whitespace() {
                value.push(v[i]);
                i += 1;
            }
        }
        raw.push((name, value));
        while i < v.len() && v[i] != b';' {
            i += 1;
        }
    }
    (lead, join_rfc2231(raw))
}

/// Index after the comment starting at `i` (nested, RFC 5322 §3.2.2).
fn skip_comment(v: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < v.len() {
        match v[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    v.len()
}

fn skip_cfws(v: &[u8], mut i: usize) -> usize {
    while i < v.len() {
        if v[i].is_ascii_whitespace() {
            i += 1;
        } else if v[i] == b'(' {
            i = skip_comment(v, i);
        } else {
            break;
        }
    }
    i
}

/// One RFC 2231 section: its number, whether it is `*`-encoded, its value.
type Section2231 = (u32, bool, Vec<u8>);

/// RFC 2231 §3, §4: `name*N` sections joined in number order; sections
/// ending in `*` are percent-decoded, the first of them starting with
/// `charset'language'`; the joined octets are converted from that charset
/// to UTF-8 (kept as they are when the charset is unknown).
fn join_rfc2231(raw: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    if !raw.iter().any(|(k, _)| k.contains('*')) {
        return raw;
    }
    // (base, [(section, extended, value)]) in order of first appearance.
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut groups: Vec<(usize, String, Vec<Section2231>)> = Vec::new();
    for (k, v) in raw {
        let Some((base, rest)) = k.split_once('*') else {
            out.push((k, v));
            continue;
        };
        let (num, ext) = match rest.strip_suffix('*') {
            Some(n) => (n, true),
            None => (rest, rest.is_empty()),
        };
        let section = if num.is_empty() {
            Some(0)
        } else if num.len() <= 4 && num.bytes().all(|b| b.is_ascii_digit()) {
            num.parse::<u32>().ok()
        } else {
            None
        };
        let Some(section) = section else {
            out.push((k, v));
            continue;
        };
        match groups.iter_mut().find(|(_, b, _)| b == base) {
            Some((_, _, parts)) => parts.push((section, ext, v)),
            None => {
                groups.push((out.len(), base.to_owned(), vec![(section, ext, v)]));
                out.push((String::new(), Vec::new()));
            }
        }
    }
    for (at, base, mut parts) in groups {
        parts.sort_by_key(|(n, _, _)| *n);
        let mut charset = None;
        let mut bytes = Vec::new();
        for (idx, (_, ext, value)) in parts.iter().enumerate() {
            if !ext {
                bytes.extend_from_slice(value);
                continue;
            }
            let mut text: &[u8] = value;
            if idx == 0 {
                let mut it = value.splitn(3, |&b| b == b'\'');
                if let (Some(cs), Some(_lang), Some(rest)) = (it.next(), it.next(), it.next()) {
                    charset = Some(cs.to_vec());
                    text = rest;
                }
            }
            bytes.extend(percent_decode(text));
        }
        let decoded = charset
            .and_then(|cs| charset::Charset::for_label(&cs))
            .map(|cs| {
                cs.decode_without_bom_handling(&bytes)
                    .0
                    .into_owned()
                    .into_bytes()
            })
            .unwrap_or(bytes);
        out[at] = (base, decoded);
    }
    out
}

fn percent_decode(v: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'%' {
            if let (Some(h), Some(l)) = (
                v.get(i + 1).and_then(|&b| hex(b)),
                v.get(i + 2).and_then(|&b| hex(b)),
            ) {
                // Two hex digits make one octet (< 256).
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(v[i]);
        i += 1;
    }
    out
}

/// The size in text lines of a body (RFC 3501 §7.4.2 `body-fld-lines`):
/// its line ends. A line is delimited by CRLF (RFC 5322 §2.1), and the CRLF
/// before a multipart delimiter belongs to the delimiter (RFC 2046
/// §5.1.1), so text after the last line end is not a line of its own.
fn count_lines(body: &[u8]) -> u32 {
    let n = memchr::memchr_iter(b'\n', body).count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [] => None,
        // Line ends, the common case: no searcher to build per call.
        &[a, b] => {
            let mut i = 0;
            while let Some(p) = memchr::memchr(a, &hay[i..]) {
                let at = i + p;
                if hay.get(at + 1) == Some(&b) {
                    return Some(at);
                }
                i = at + 1;
            }
            None
        }
        _ => memchr::memmem::find(hay, needle),
    }
}

/// Header fields: (name, raw value including folding), in order.
fn fields(hdr: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    for (name, value, _) in field_spans(hdr) {
        out.push((name, value));
    }
    out
}

/// (name, value, whole field bytes with its line ends) per field.
fn field_spans(hdr: &[u8]) -> Vec<(&[u8], &[u8], &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < hdr.len() {
        let start = i;
        // One field: its first line and continuation lines (starting with
        // SP or HTAB).
        loop {
            match find(&hdr[i..], b"\r\n") {
                Some(p) => i += p + 2,
                None => i = hdr.len(),
            }
            if i >= hdr.len() || !(hdr[i] == b' ' || hdr[i] == b'\t') {
                break;
            }
        }
        let whole = &hdr[start..i];
        match whole.iter().position(|&b| b == b':') {
            Some(c) => {
                let name = trim_end(&whole[..c]);
                let value = whole[c + 1..]
                    .strip_suffix(b"\r\n")
                    .unwrap_or(&whole[c + 1..]);
                out.push((name, value, whole));
            }
            None => out.push((&whole[..0], &whole[..0], whole)),
        }
    }
    out
}

fn trim_end(b: &[u8]) -> &[u8] {
    let mut e = b.len();
    while e > 0 && (b[e - 1] == b' ' || b[e - 1] == b'\t') {
        e -= 1;
    }
    &b[..e]
}

/// The first field `name` (case-insensitive), unfolded and trimmed.
fn field(hdr: &[u8], name: &str) -> Option<Vec<u8>> {
    field_spans(hdr)
        .into_iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v, _)| unfold(v))
}

pub(crate) fn field_string(hdr: &[u8], name: &str) -> Option<String> {
    field(hdr, name).map(|v| String::from_utf8_lossy(&v).into_owned())
}

/// Removes folding CRLFs and surrounding whitespace.
fn unfold(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i..].starts_with(b"\r\n") {
            i += 2;
            continue;
        }
        out.push(v[i]);
        i += 1;
    }
    let s = out
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(out.len());
    let e = out
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(s, |p| p + 1);
    out[s..e].to_vec()
}

fn filter_fields(hdr: &[u8], names: &[String], keep: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, _, whole) in field_spans(hdr) {
        let listed = !name.is_empty()
            && names
                .iter()
                .any(|n| n.as_bytes().eq_ignore_ascii_case(name));
        if listed == keep && !name.is_empty() {
            out.extend_from_slice(whole);
            if !whole.ends_with(b"\r\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

pub(crate) fn decoded_headers(hdr: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (_, _, whole) in field_spans(hdr) {
        if let Ok((h, _)) = mailparse::parse_header(whole) {
            out.push((h.get_key().to_ascii_lowercase(), h.get_value()));
        }
    }
    out
}

fn envelope_of(hdr: &[u8]) -> Envelope {
    TopFields::new(hdr).envelope()
}

/// The fields of one header (CRLF line ends), split once, for the
/// lookups of ENVELOPE and the sort keys: each looks for the first field
/// of its name, as [`field`] does, without splitting the header again.
pub(crate) struct TopFields<'a> {
    spans: Vec<(&'a [u8], &'a [u8], &'a [u8])>,
}

impl<'a> TopFields<'a> {
    /// Splits a header (CRLF line ends, as [`to_crlf`] gives).
    pub(crate) fn new(hdr: &'a [u8]) -> TopFields<'a> {
        TopFields {
            spans: field_spans(hdr),
        }
    }

    /// The first field named `name`, unfolded and trimmed.
    pub(crate) fn get(&self, name: &str) -> Option<Vec<u8>> {
        self.spans
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v, _)| unfold(v))
    }

    /// ENVELOPE (RFC 3501 §7.4.2): sender and reply-to default to from
    /// when absent or empty.
    pub(crate) fn envelope(&self) -> Envelope {
        let addrs = |name: &str| {
            self.get(name)
                .map(|v| crate::address::parse_address_list(&v))
        };
        let from = addrs("from").unwrap_or_default();
        let sender = addrs("sender")
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| from.clone());
        let reply_to = addrs("reply-to")
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| from.clone());
        Envelope {
            date: self.get("date"),
            subject: self.get("subject"),
            from,
            sender,
            reply_to,
            to: addrs("to").unwrap_or_default(),
            cc: addrs("cc").unwrap_or_default(),
            bcc: addrs("bcc").unwrap_or_default(),
            in_reply_to: self.get("in-reply-to"),
            message_id: self.get("message-id"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lengths() {
        assert_eq!(header_len(b"a: b\n\nbody"), 6);
        assert_eq!(header_len(b"a: b\r\n\r\nbody"), 8);
        assert_eq!(header_len(b"a: b\n\r\nbody"), 7);
        assert_eq!(header_len(b"\nbody"), 1);
        assert_eq!(header_len(b"\r\nbody"), 2);
        assert_eq!(header_len(b"a: b\n"), 5);
        assert_eq!(header_len(b""), 0);
    }

    #[test]
    fn crlf_conversion() {
        assert_eq!(&*to_crlf(b"a\nb\r\nc\r"), b"a\r\nb\r\nc\r");
        // Against the byte-by-byte definition, over every short mix of
        // CR, LF and a letter.
        for n in 0..7u32 {
            for code in 0..3u32.pow(n) {
                let raw: Vec<u8> = (0..n)
                    .map(|i| [b'\r', b'\n', b'a'][(code / 3u32.pow(i) % 3) as usize])
                    .collect();
                let mut want = Vec::new();
                for (i, &b) in raw.iter().enumerate() {
                    if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
                        want.push(b'\r');
                    }
                    want.push(b);
                }
                assert_eq!(&*to_crlf(&raw), &want[..]);
                assert_eq!(crlf_size(&raw), want.len() as u64);
                for needle in [&b"\r\n"[..], b"\n\n", b"a\r\n", b"a"] {
                    let naive = raw.windows(needle.len()).position(|w| w == needle);
                    assert_eq!(find(&raw, needle), naive);
                }
            }
        }
        assert_eq!(crlf_size(b"a\nb\r\n"), 6);
        assert!(matches!(to_crlf(b"a\r\n"), Cow::Borrowed(_)));
    }

    fn single(m: &Message) -> (SinglePart, Option<SinglePartExtension>) {
        match m.body_structure(true) {
            BodyStructure::Single { part, extension } => (part, extension),
            other => panic!("single part expected, got {other:?}"),
        }
    }

    #[test]
    fn parameters_keep_bytes_and_header_order() {
        // RFC 3501 §4.3: an 8-bit value goes out as a literal, so the raw
        // octet is kept (it used to become U+FFFD); RFC 5322 §3.2.4
        // quoted-pairs are unescaped; the order is the header's.
        let m = Message::parse(
            b"Content-Type: application/x-y; name=\"Fr\xf6sche.txt\"; b=2 (note);\r\n a=\"C:\\TEMP\\x\"\r\n\r\nbody",
        );
        let (part, _) = single(&m);
        assert_eq!(
            part.fields.params,
            vec![
                ("name".to_owned(), b"Fr\xf6sche.txt".to_vec()),
                ("b".to_owned(), b"2".to_vec()),
                ("a".to_owned(), b"C:TEMPx".to_vec()),
            ]
        );
    }

    #[test]
    fn rfc2231_parameters_are_joined_and_decoded() {
        // RFC 9051 §7.5.2: continuations joined, charset decoded to UTF-8.
        let m = Message::parse(
            b"Content-Type: text/plain; charset=iso-8859-1; name*=iso-8859-1''Fr%F6sche.txt\r\n\
Content-Disposition: attachment; filename*0*=utf-8''a%C3; filename*1*=%B6b; filename*2=\" c\"\r\n\r\nx\r\n",
        );
        let (part, ext) = single(&m);
        assert_eq!(
            part.fields.params,
            vec![
                ("charset".to_owned(), b"iso-8859-1".to_vec()),
                ("name".to_owned(), "Frösche.txt".as_bytes().to_vec()),
            ]
        );
        let disp = ext.unwrap().tail.unwrap().disposition.unwrap();
        assert_eq!(disp.kind, "attachment");
        assert_eq!(
            disp.params,
            vec![("filename".to_owned(), "aöb c".as_bytes().to_vec())]
        );
        // An unknown charset leaves the percent-decoded octets.
        assert_eq!(
            join_rfc2231(vec![("n*".to_owned(), b"x-unknown''%41%ff".to_vec())]),
            vec![("n".to_owned(), b"A\xff".to_vec())]
        );
    }

    #[test]
    fn text_parts_default_to_us_ascii() {
        // RFC 2046 §4.1.2: text without a charset parameter is US-ASCII.
        let (part, _) = single(&Message::parse(b"Content-Type: text/html\r\n\r\n<p>\r\n"));
        assert_eq!(
            part.fields.params,
            vec![("charset".to_owned(), b"us-ascii".to_vec())]
        );
        // RFC 2045 §5.2: an invalid Content-Type is text/plain; charset=
        // us-ascii, and its parameters are not kept.
        let (part, _) = single(&Message::parse(
            b"Content-Type: multipart/mixed\r\n\tboundary=\"b\"\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
        ));
        assert_eq!(
            (part.media_type.as_str(), part.media_subtype.as_str()),
            ("text", "plain")
        );
        assert_eq!(
            part.fields.params,
            vec![("charset".to_owned(), b"us-ascii".to_vec())]
        );
    }

    #[test]
    fn lines_are_line_ends() {
        // RFC 5322 §2.1 and RFC 2046 §5.1.1: the text after the last CRLF
        // of a part (whose CRLF belongs to the delimiter) is not a line.
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"x"), 0);
        assert_eq!(count_lines(b"a\r\nb"), 1);
        assert_eq!(count_lines(b"a\r\nb\r\n"), 2);
        let m = Message::parse(
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\ntwo\r\n--b--\r\n",
        );
        let BodyStructure::Multipart { parts, .. } = m.body_structure(false) else {
            panic!("multipart expected");
        };
        let BodyStructure::Single { part, .. } = &parts[0] else {
            panic!("single part expected");
        };
        assert_eq!(part.fields.octets, 8);
        assert_eq!(part.kind, SinglePartKind::Text { lines: 1 });
    }

    #[test]
    fn nested_boundary_beginning_with_the_outer_one() {
        // An outer "X" and an inner "X.REL": the inner delimiter lines are
        // not the outer multipart's.
        let m = Message::parse(
            b"Content-Type: multipart/mixed; boundary=\"X\"\r\n\r\n--X\r\n\
Content-Type: multipart/related; boundary=\"X.REL\"\r\n\r\n--X.REL\r\n\r\na\r\n\
--X.REL\r\n\r\nb\r\n--X.REL--\r\n\r\n--X\r\n\r\nc\r\n--X--\r\n",
        );
        let BodyStructure::Multipart { parts, .. } = m.body_structure(false) else {
            panic!("multipart expected");
        };
        assert_eq!(parts.len(), 2);
        let BodyStructure::Multipart { parts: inner, .. } = &parts[0] else {
            panic!("nested multipart expected");
        };
        assert_eq!(inner.len(), 2);
    }

    #[test]
    fn delimiter_lines_match_by_prefix() {
        // RFC 2046 §5.1.1: the boundary need only begin the line.
        let d = b"--ab junk\r\none\r\n--a\r\ntwo\r\n--a-- trailer\r\nepilogue\r\n";
        let parts = split_multipart(d, 0..d.len(), b"a");
        let bodies: Vec<&[u8]> = parts.iter().map(|r| &d[r.clone()]).collect();
        assert_eq!(bodies, vec![&b"one"[..], &b"two"[..]]);
    }

    proptest::proptest! {
        #[test]
        fn crlf_size_matches_conversion(v in proptest::collection::vec(proptest::sample::select(vec![b'a', b'\r', b'\n', b' ']), 0..200)) {
            proptest::prop_assert_eq!(crlf_size(&v), to_crlf(&v).len() as u64);
            let m = Message::parse(&v);
            proptest::prop_assert_eq!(m.size(), crlf_size(&v));
            let hl = header_len(&v);
            proptest::prop_assert_eq!(Message::parse(&v[..hl]).envelope(), m.envelope());
        }
    }
}
