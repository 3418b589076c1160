//! SEARCH evaluation (RFC 3501 §6.4.4) over a [`Session`]'s view.
//!
//! String keys match case-insensitively as substrings of decoded text:
//! header values with RFC 2047 words decoded, text bodies with their
//! transfer encoding (quoted-printable, base64) and charset decoded.

use chrono::{DateTime, NaiveDate};
use postroom_types::{Flag, SearchKey, Uid};

use crate::error::{MailboxError, Result};
use crate::message::{Message, decoded_headers, field_string, header_len, to_crlf};
use crate::session::{MessageView, Session};

/// Accepts no charset, `UTF-8` and `US-ASCII` (RFC 3501 §6.4.4: US-ASCII
/// MUST be supported); anything else is `NO [BADCHARSET]`.
pub(crate) fn check_charset(charset: Option<&str>) -> Result<()> {
    match charset {
        None => Ok(()),
        Some(c) if c.eq_ignore_ascii_case("UTF-8") || c.eq_ignore_ascii_case("US-ASCII") => Ok(()),
        Some(c) => Err(MailboxError::BadCharset(c.to_owned())),
    }
}

struct Ctx<'a> {
    session: &'a Session,
    view: &'a MessageView,
    largest_seq: u32,
    largest_uid: u32,
    size: Option<u64>,
    content: Option<Option<std::sync::Arc<Message>>>,
    /// Decoded header fields read from the header alone (the body is not
    /// read for header keys).
    headers: Option<Option<Vec<(String, String)>>>,
    /// The stored bytes, when a quick check has read them already (the
    /// message is then parsed from them, not read a second time).
    raw: Option<std::sync::Arc<Vec<u8>>>,
}

impl Ctx<'_> {
    fn size(&mut self) -> u64 {
        if self.size.is_none() {
            self.size = Some(
                self.session
                    .mailbox()
                    .rfc822_size(self.view.uid)
                    .unwrap_or(0),
            );
        }
        self.size.unwrap_or(0)
    }

    fn content(&mut self) -> Option<&Message> {
        if self.content.is_none() {
            let parsed = match self.raw.take() {
                Some(raw) => Some(std::sync::Arc::new(Message::parse(&raw))),
                None => self.session.mailbox().content(self.view.uid).ok(),
            };
            self.content = Some(parsed);
        }
        self.content.as_ref().and_then(Option::as_deref)
    }

    /// Decoded header fields of the top-level message: from the parsed
    /// message when this search already has it, else from the stored
    /// header alone, so a header key does not read (or convert) bodies and
    /// attachments.
    fn headers(&mut self) -> Option<&[(String, String)]> {
        if self.headers.is_none() {
            let decoded = match &self.content {
                Some(Some(m)) => Some(m.decoded_headers()),
                _ => self
                    .session
                    .mailbox()
                    .header(self.view.uid)
                    .ok()
                    .map(|h| decoded_headers(&to_crlf(&h))),
            };
            self.headers = Some(decoded);
        }
        self.headers.as_ref().and_then(Option::as_deref)
    }

    /// SEARCH SUBJECT. RFC 3501 §6.4.4: it matches "the envelope
    /// structure's SUBJECT field", which the mailbox keeps cached (in
    /// memory and in its persisted index), so no file is read once the
    /// envelope is built.
    fn subject_contains(&mut self, needle: &str) -> bool {
        if self.headers.is_none() {
            if let Ok(env) = self.session.mailbox().envelope(self.view.uid) {
                let needle = needle.to_lowercase();
                return env.subject.as_deref().is_some_and(|raw| {
                    needle.is_empty()
                        || decode_value("subject", raw)
                            .to_lowercase()
                            .contains(&needle)
                });
            }
        }
        self.header_contains("subject", needle)
    }

    fn header_contains(&mut self, name: &str, needle: &str) -> bool {
        let needle = needle.to_lowercase();
        let name = name.to_ascii_lowercase();
        self.headers().is_some_and(|fields| {
            fields.iter().any(|(n, v)| {
                *n == name && (needle.is_empty() || v.to_lowercase().contains(&needle))
            })
        })
    }

    /// FROM/TO/CC/BCC: the string in the header's decoded text or in an
    /// address of the envelope structure's field (RFC 3501 §6.4.4), written
    /// `mailbox@host` (with the envelope's placeholders for missing parts).
    fn address_contains(&mut self, name: &str, needle: &str) -> bool {
        if self.header_contains(name, needle) {
            return true;
        }
        let needle = needle.to_lowercase();
        // The mailbox's cached envelope: built from the header alone.
        let envelope = self.session.mailbox().envelope(self.view.uid).ok();
        envelope.is_some_and(|e| {
            let list = match name {
                "from" => &e.from,
                "to" => &e.to,
                "cc" => &e.cc,
                _ => &e.bcc,
            };
            list.iter().any(|a| match (&a.mailbox, &a.host) {
                (Some(mb), Some(host)) => {
                    let mut s = String::from_utf8_lossy(mb).into_owned();
                    s.push('@');
                    s.push_str(&String::from_utf8_lossy(host));
                    contains_ci(&s, &needle)
                }
                _ => false,
            })
        })
    }

    /// SEARCH TEXT / BODY without parsing the message where that gives
    /// the same answer: an ASCII needle without white space or controls,
    /// matched ignoring ASCII case in the stored bytes (no copy). Whenever the
    /// bytes on disk might differ from the decoded text (a raw header hit,
    /// a multipart or encoded body, non-ASCII body bytes) this returns
    /// `None` and the caller decodes the message.
    fn quick_text(&mut self, needle: &str, with_headers: bool) -> Option<bool> {
        if needle.is_empty()
            || !needle
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase())
        {
            return None;
        }
        let raw = match &self.raw {
            Some(raw) => std::sync::Arc::clone(raw),
            None => {
                let raw = self.session.mailbox().raw(self.view.uid).ok()?;
                self.raw = Some(std::sync::Arc::clone(&raw));
                raw
            }
        };
        let hl = header_len(&raw);
        let (header, body) = raw.split_at(hl);
        if with_headers && find_ascii_ci(header, needle.as_bytes()) {
            return None;
        }
        let crlf = to_crlf(header);
        if with_headers && memchr::memmem::find(header, b"=?").is_some() {
            // The raw header did not match, and unfolding cannot make a
            // needle without white space: only fields with encoded words
            // (RFC 2047) can match once decoded.
            let hit = decoded_headers(&fields_with_encoded_words(&crlf))
                .iter()
                .any(|(n, v)| contains_ci(n, needle) || contains_ci(v, needle));
            if hit {
                return Some(true);
            }
        }
        // The body must be one plain text part (RFC 2045 §5.2: text/plain
        // when Content-Type is absent) that needs no decoding.
        let ctype = field_string(&crlf, "content-type").unwrap_or_default();
        let parsed = mailparse::parse_content_type(&ctype);
        let plain_type = ctype.trim().is_empty() || parsed.mimetype.starts_with("text/");
        let plain_charset = ["us-ascii", "utf-8", "utf8"]
            .iter()
            .any(|c| parsed.charset.eq_ignore_ascii_case(c));
        let cte = field_string(&crlf, "content-transfer-encoding").unwrap_or_default();
        let plain_cte = matches!(
            cte.trim().to_ascii_lowercase().as_str(),
            "" | "7bit" | "8bit" | "binary"
        );
        if !(plain_type && plain_charset && plain_cte && body.is_ascii()) {
            return None;
        }
        Some(find_ascii_ci(body, needle.as_bytes()))
    }

    fn body_contains(&mut self, needle: &str) -> bool {
        let needle = needle.to_lowercase();
        if self.content.is_none() {
            if let Some(found) = self.quick_text(&needle, false) {
                return found;
            }
        }
        // The same case-insensitive match as for header text (ASCII
        // needles without lowercasing the whole text).
        self.content()
            .is_some_and(|m| m.body_texts().iter().any(|t| contains_ci(t, &needle)))
    }

    /// The day of INTERNALDATE in its own zone (RFC 3501 §6.4.4); `None`
    /// when the message is gone meanwhile (`run` has left out those it
    /// found gone before evaluating).
    fn internal_day(&self) -> Option<NaiveDate> {
        let d = self.session.mailbox().internal_date(self.view.uid).ok()?;
        Some(d.0.date_naive())
    }

    fn sent_date(&mut self) -> Option<NaiveDate> {
        let raw = self
            .session
            .mailbox()
            .envelope(self.view.uid)
            .ok()?
            .date
            .as_ref()
            .map(|v| String::from_utf8_lossy(v).into_owned())?;
        // RFC 3501 §6.4.4: the date as written, disregarding time and zone.
        if let Ok(d) = DateTime::parse_from_rfc2822(raw.trim()) {
            return Some(d.date_naive());
        }
        let ts = mailparse::dateparse(&raw).ok()?;
        DateTime::from_timestamp(ts, 0).map(|d| d.date_naive())
    }
}

/// A header field value as SEARCH compares it: unfolded, RFC 2047 words
/// decoded (the same decoding as [`decoded_headers`]).
fn decode_value(name: &str, raw: &[u8]) -> String {
    let mut line = Vec::with_capacity(name.len() + 2 + raw.len());
    line.extend_from_slice(name.as_bytes());
    line.extend_from_slice(b": ");
    line.extend_from_slice(raw);
    match mailparse::parse_header(&line) {
        Ok((h, _)) => h.get_value(),
        Err(_) => String::from_utf8_lossy(raw).into_owned(),
    }
}

/// The header fields (with their continuation lines) of a CRLF header
/// that contain an encoded word (`=?`), in order.
fn fields_with_encoded_words(hdr: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < hdr.len() {
        let end = memchr::memchr(b'\n', &hdr[i..]).map_or(hdr.len(), |p| i + p + 1);
        // A field ends where the next line does not start with SP or HTAB.
        if end >= hdr.len() || !matches!(hdr[end], b' ' | b'\t') {
            let field = &hdr[start..end];
            if memchr::memmem::find(field, b"=?").is_some() {
                out.extend_from_slice(field);
            }
            start = end;
        }
        i = end;
    }
    out
}

/// Whether `hay` contains `needle_lower` (already lowercased) ignoring
/// case. ASCII needles are matched without allocating (candidates found
/// with memchr on the first letter in both cases); others compare
/// Unicode-lowercased text.
fn contains_ci(hay: &str, needle_lower: &str) -> bool {
    let needle = needle_lower.as_bytes();
    if needle.is_empty() {
        return true;
    }
    if !needle_lower.is_ascii() {
        return hay.to_lowercase().contains(needle_lower);
    }
    find_ascii_ci(hay.as_bytes(), needle)
}

/// Whether `hay` contains `needle` (ASCII, lowercase) ignoring ASCII case:
/// candidates are found with memchr on the needle's first letter in both
/// cases, then compared.
fn find_ascii_ci(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    if hay.len() < needle.len() {
        return false;
    }
    let last = hay.len() - needle.len();
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), &hay[..=last])
        .any(|i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// Whether evaluating `key` needs INTERNALDATE.
fn uses_internal_date(key: &SearchKey) -> bool {
    match key {
        SearchKey::Before(_) | SearchKey::On(_) | SearchKey::Since(_) => true,
        SearchKey::Not(k) => uses_internal_date(k),
        SearchKey::Or(a, b) => uses_internal_date(a) || uses_internal_date(b),
        SearchKey::And(keys) => keys.iter().any(uses_internal_date),
        _ => false,
    }
}

/// Whether evaluating `key` may read message content (worth threads).
fn reads_content(key: &SearchKey) -> bool {
    match key {
        SearchKey::Bcc(_)
        | SearchKey::Cc(_)
        | SearchKey::From(_)
        | SearchKey::To(_)
        | SearchKey::Subject(_)
        | SearchKey::Header(..)
        | SearchKey::Body(_)
        | SearchKey::Text(_)
        | SearchKey::SentBefore(_)
        | SearchKey::SentOn(_)
        | SearchKey::SentSince(_) => true,
        SearchKey::Not(k) => reads_content(k),
        SearchKey::Or(a, b) => reads_content(a) || reads_content(b),
        SearchKey::And(keys) => keys.iter().any(reads_content),
        _ => false,
    }
}

pub(crate) fn run(session: &Session, key: &SearchKey) -> Result<Vec<(u32, Uid)>> {
    let seqs: Vec<u32> = (1..=session.exists()).collect();
    let mut views = session.messages(&seqs);
    let largest_seq = session.exists();
    let largest_uid = session.uid(largest_seq).map_or(0, Uid::get);
    if uses_internal_date(key) {
        // File times a first scan left unread, read on several threads.
        let uids: Vec<Uid> = views.iter().map(|v| v.uid).collect();
        session.mailbox().prefetch_internal_dates(&uids);
        // A message whose file is gone meanwhile has no date: it matches
        // nothing, not even NOT BEFORE (RFC 3501 §7.4.1 lets a server
        // leave out what another session expunged).
        views.retain(|v| session.mailbox().internal_date(v.uid).is_ok());
    }
    let eval_one = |view: &MessageView| {
        let mut ctx = Ctx {
            session,
            view,
            largest_seq,
            largest_uid,
            size: None,
            content: None,
            headers: None,
            raw: None,
        };
        eval(key, &mut ctx).then_some((view.seq, view.uid))
    };
    // Content searches read and decode files: on several threads (in
    // contiguous chunks, keeping sequence order) when there are many.
    let found: Vec<Option<(u32, Uid)>> = if reads_content(key) {
        crate::par::map(&views, eval_one)
    } else {
        views.iter().map(eval_one).collect()
    };
    Ok(found.into_iter().flatten().collect())
}

fn eval(key: &SearchKey, c: &mut Ctx<'_>) -> bool {
    let flags = &c.view.flags;
    match key {
        SearchKey::All => true,
        SearchKey::Answered => flags.contains(&Flag::Answered),
        SearchKey::Unanswered => !flags.contains(&Flag::Answered),
        SearchKey::Deleted => flags.contains(&Flag::Deleted),
        SearchKey::Undeleted => !flags.contains(&Flag::Deleted),
        SearchKey::Draft => flags.contains(&Flag::Draft),
        SearchKey::Undraft => !flags.contains(&Flag::Draft),
        SearchKey::Flagged => flags.contains(&Flag::Flagged),
        SearchKey::Unflagged => !flags.contains(&Flag::Flagged),
        SearchKey::Seen => flags.contains(&Flag::Seen),
        SearchKey::Unseen => !flags.contains(&Flag::Seen),
        SearchKey::Keyword(k) => flags.contains(&Flag::Keyword(k.clone())),
        SearchKey::Unkeyword(k) => !flags.contains(&Flag::Keyword(k.clone())),
        SearchKey::Recent => c.view.recent,
        SearchKey::New => c.view.recent && !flags.contains(&Flag::Seen),
        SearchKey::Old => !c.view.recent,
        SearchKey::Before(d) => c.internal_day().is_some_and(|i| i < *d),
        SearchKey::On(d) => c.internal_day().is_some_and(|i| i == *d),
        SearchKey::Since(d) => c.internal_day().is_some_and(|i| i >= *d),
        SearchKey::SentBefore(d) => c.sent_date().is_some_and(|s| s < *d),
        SearchKey::SentOn(d) => c.sent_date().is_some_and(|s| s == *d),
        SearchKey::SentSince(d) => c.sent_date().is_some_and(|s| s >= *d),
        SearchKey::Larger(n) => c.size() > u64::from(*n),
        SearchKey::Smaller(n) => c.size() < u64::from(*n),
        SearchKey::Bcc(s) => c.address_contains("bcc", s),
        SearchKey::Cc(s) => c.address_contains("cc", s),
        SearchKey::From(s) => c.address_contains("from", s),
        SearchKey::To(s) => c.address_contains("to", s),
        SearchKey::Subject(s) => c.subject_contains(s),
        SearchKey::Header(name, s) => c.header_contains(name, s),
        SearchKey::Body(s) => c.body_contains(s),
        SearchKey::Text(s) => {
            let needle = s.to_lowercase();
            if c.content.is_none() {
                if let Some(found) = c.quick_text(&needle, true) {
                    return found;
                }
            }
            let in_headers = c.content().is_some_and(|m| {
                m.decoded_headers()
                    .iter()
                    .any(|(n, v)| contains_ci(n, &needle) || contains_ci(v, &needle))
            });
            if in_headers || c.body_contains(s) {
                return true;
            }
            // MIME part headers are in the body too (RFC 3501 §6.4.4).
            c.content()
                .is_some_and(|m| m.part_headers().iter().any(|h| contains_ci(h, &needle)))
        }
        SearchKey::Uid(set) => set.contains(c.view.uid.get(), c.largest_uid),
        SearchKey::SequenceSet(set) => set.contains(c.view.seq, c.largest_seq),
        SearchKey::Not(k) => !eval(k, c),
        SearchKey::Or(a, b) => eval(a, c) || eval(b, c),
        SearchKey::And(keys) => keys.iter().all(|k| eval(k, c)),
        // A key this crate does not know matches nothing.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::contains_ci;

    #[test]
    fn case_insensitive_substrings() {
        assert!(contains_ci("Hello World", "o w"));
        assert!(contains_ci("HELLO", "hello"));
        assert!(!contains_ci("hell", "hello"));
        assert!(contains_ci("anything", ""));
        assert!(contains_ci("GRÜSSE aus Köln", "köln"));
        assert!(contains_ci("Straße", "straße"));
        assert!(!contains_ci("Strasse", "straße"));
        assert!(contains_ci("abcXYZ", "xyz"));
        assert!(!contains_ci("abcXY", "xyz"));
        assert!(contains_ci("xyz", "xyz"));
        assert!(super::find_ascii_ci(b"a\xffXyLoPhOnIsT b", b"xylophonist"));
        assert!(!super::find_ascii_ci(b"xylophonis", b"xylophonist"));
        assert!(super::find_ascii_ci(b"", b""));
    }

    #[test]
    fn encoded_word_fields() {
        let hdr = b"Subject: =?utf-8?q?a?=\r\n b\r\nFrom: x\r\nTo: =?x?b?YQ==?=\r\n\r\n";
        assert_eq!(
            super::fields_with_encoded_words(hdr),
            b"Subject: =?utf-8?q?a?=\r\n b\r\nTo: =?x?b?YQ==?=\r\n".to_vec()
        );
        assert!(super::fields_with_encoded_words(b"A: b\r\n").is_empty());
    }
}
