//! ENVELOPE, BODYSTRUCTURE and section known answers.

use postroom_mailbox::message::{Message, Section, SectionText, partial, to_crlf};
use postroom_types::{Address, BodyStructure, SinglePartKind};

fn addr(name: Option<&str>, mailbox: &str, host: &str) -> Address {
    Address {
        name: name.map(|s| s.as_bytes().to_vec()),
        adl: None,
        mailbox: Some(mailbox.as_bytes().to_vec()),
        host: Some(host.as_bytes().to_vec()),
    }
}

fn sec(part: &[u32], text: Option<SectionText>) -> Section {
    Section {
        part: part
            .iter()
            .map(|&p| std::num::NonZeroU32::new(p).expect("part numbers start at 1"))
            .collect(),
        text,
    }
}

fn get(m: &Message, s: Section) -> Option<Vec<u8>> {
    m.section(&s).map(|c| c.into_owned())
}

const NESTED: &[u8] = b"From: A <a@x.org>\n\
To: b@y.org\n\
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n\
MIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"outer\"\n\
\n\
preamble\n\
--outer\n\
Content-Type: multipart/alternative; boundary=inner\n\
\n\
--inner\n\
Content-Type: text/plain; charset=utf-8\n\
Content-Transfer-Encoding: quoted-printable\n\
\n\
caf=C3=A9 au lait\n\
--inner\n\
Content-Type: text/html\n\
\n\
<p>cafe</p>\n\
--inner--\n\
--outer\n\
Content-Type: message/rfc822\n\
Content-Disposition: attachment; filename=fwd.eml\n\
\n\
From: C <c@z.org>\n\
Subject: inner\n\
Content-Type: text/plain\n\
\n\
forwarded body\n\
--outer\n\
Content-Type: application/octet-stream\n\
Content-Transfer-Encoding: base64\n\
Content-Language: en, de\n\
\n\
aGVsbG8gd29ybGQ=\n\
--outer--\n\
epilogue\n";

#[test]
fn envelope_of_nested_message() {
    let m = Message::parse(NESTED);
    let e = m.envelope();
    assert_eq!(
        e.subject.as_deref(),
        Some(&b"=?utf-8?q?Gr=C3=BC=C3=9Fe?="[..])
    );
    assert_eq!(e.from, vec![addr(Some("A"), "a", "x.org")]);
    assert_eq!(e.sender, e.from);
    assert_eq!(e.reply_to, e.from);
    assert_eq!(e.to, vec![addr(None, "b", "y.org")]);
    assert!(e.cc.is_empty() && e.date.is_none() && e.message_id.is_none());
}

#[test]
fn bodystructure_of_nested_message() {
    let m = Message::parse(NESTED);
    let BodyStructure::Multipart {
        parts,
        subtype,
        extension,
    } = m.body_structure(true)
    else {
        panic!("multipart expected");
    };
    assert_eq!(subtype, "mixed");
    assert_eq!(
        extension.unwrap().params,
        vec![("boundary".to_owned(), b"outer".to_vec())]
    );
    assert_eq!(parts.len(), 3);
    let BodyStructure::Multipart {
        parts: alt,
        subtype,
        ..
    } = &parts[0]
    else {
        panic!()
    };
    assert_eq!(subtype, "alternative");
    let BodyStructure::Single { part, .. } = &alt[0] else {
        panic!()
    };
    assert_eq!(
        (part.media_type.as_str(), part.media_subtype.as_str()),
        ("text", "plain")
    );
    assert_eq!(part.fields.encoding, "quoted-printable");
    assert_eq!(part.fields.octets, 17); // the CRLF before a delimiter belongs to it
    // ... so the part has no line end: no complete line (RFC 5322 §2.1).
    assert_eq!(part.kind, SinglePartKind::Text { lines: 0 });
    let BodyStructure::Single { part, extension } = &parts[1] else {
        panic!()
    };
    let SinglePartKind::Message {
        envelope,
        body,
        lines,
    } = &part.kind
    else {
        panic!()
    };
    assert_eq!(envelope.subject.as_deref(), Some(&b"inner"[..]));
    assert_eq!(*lines, 4); // `forwarded body` has no line end of its own
    assert!(matches!(**body, BodyStructure::Single { .. }));
    let disp = extension
        .as_ref()
        .unwrap()
        .tail
        .as_ref()
        .unwrap()
        .disposition
        .as_ref()
        .unwrap();
    assert_eq!(disp.kind, "attachment");
    assert_eq!(
        disp.params,
        vec![("filename".to_owned(), b"fwd.eml".to_vec())]
    );
    let BodyStructure::Single { part, extension } = &parts[2] else {
        panic!()
    };
    assert_eq!(part.kind, SinglePartKind::Basic);
    assert_eq!(part.fields.encoding, "base64");
    let langs = &extension
        .as_ref()
        .unwrap()
        .tail
        .as_ref()
        .unwrap()
        .language
        .as_ref()
        .unwrap()
        .languages;
    assert_eq!(langs, &vec!["en".to_owned(), "de".to_owned()]);
    // BODY carries no extension data.
    let BodyStructure::Multipart { extension, .. } = m.body_structure(false) else {
        panic!()
    };
    assert!(extension.is_none());
}

#[test]
fn sections_of_nested_message() {
    let m = Message::parse(NESTED);
    assert_eq!(get(&m, sec(&[1, 1], None)).unwrap(), b"caf=C3=A9 au lait");
    assert_eq!(get(&m, sec(&[1, 2], None)).unwrap(), b"<p>cafe</p>");
    assert_eq!(
        get(&m, sec(&[1, 2], Some(SectionText::Mime))).unwrap(),
        b"Content-Type: text/html\r\n\r\n"
    );
    assert_eq!(
        get(&m, sec(&[2], Some(SectionText::Header))).unwrap(),
        b"From: C <c@z.org>\r\nSubject: inner\r\nContent-Type: text/plain\r\n\r\n"
    );
    assert_eq!(
        get(&m, sec(&[2], Some(SectionText::Text))).unwrap(),
        b"forwarded body"
    );
    assert_eq!(get(&m, sec(&[2, 1], None)).unwrap(), b"forwarded body");
    assert_eq!(get(&m, sec(&[3], None)).unwrap(), b"aGVsbG8gd29ybGQ=");
    assert!(get(&m, sec(&[4], None)).is_none());
    assert!(get(&m, sec(&[3], Some(SectionText::Header))).is_none());
    assert!(get(&m, sec(&[], Some(SectionText::Mime))).is_none());
    assert_eq!(
        get(
            &m,
            sec(
                &[],
                Some(SectionText::HeaderFields(vec![
                    "subject".into(),
                    "TO".into()
                ]))
            )
        )
        .unwrap(),
        b"To: b@y.org\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\n"
    );
    let not = get(
        &m,
        sec(
            &[],
            Some(SectionText::HeaderFieldsNot(vec![
                "from".into(),
                "to".into(),
                "subject".into(),
            ])),
        ),
    )
    .unwrap();
    assert!(not.starts_with(b"MIME-Version: 1.0\r\n"));
    assert!(not.ends_with(b"\r\n\r\n"));
    assert_eq!(m.size(), to_crlf(NESTED).len() as u64);
    assert_eq!(partial(b"0123456789", 8, 5), b"89");
    assert_eq!(partial(b"0123", 9, 5), b"");
}

#[test]
fn single_part_and_missing_headers() {
    let m = Message::parse(b"no header at all");
    assert_eq!(
        get(&m, sec(&[], Some(SectionText::Header))).unwrap(),
        b"no header at all"
    );
    let m = Message::parse(b"\r\nbody only\r\n");
    assert_eq!(get(&m, sec(&[1], None)).unwrap(), b"body only\r\n");
    assert_eq!(
        get(&m, sec(&[], Some(SectionText::Header))).unwrap(),
        b"\r\n"
    );
    let e = m.envelope();
    assert!(e.subject.is_none() && e.from.is_empty() && e.sender.is_empty());
    let BodyStructure::Single { part, .. } = m.body_structure(true) else {
        panic!()
    };
    assert_eq!(
        part.fields.params,
        vec![("charset".to_owned(), b"us-ascii".to_vec())]
    );
    assert_eq!(part.fields.encoding, "7bit");
    assert_eq!(part.kind, SinglePartKind::Text { lines: 1 });
}

#[test]
fn envelope_rules() {
    let m = Message::parse(
        b"Date: Thu, 15 Feb 2007 01:02:03 +0200\r\nSubject: \r\nFrom: \"Real, Name\" <u@d>\r\nSender: \r\nReply-To:\r\n\tx@y\r\nTo: group: g1@d1.org, g2@d2.org;\r\nMessage-ID: <msg@id>\r\nIn-Reply-To: <reply@to.id>\r\n\r\n",
    );
    let e = m.envelope();
    assert_eq!(
        e.date.as_deref(),
        Some(&b"Thu, 15 Feb 2007 01:02:03 +0200"[..])
    );
    assert_eq!(e.subject.as_deref(), Some(&b""[..]));
    assert_eq!(e.from, vec![addr(Some("Real, Name"), "u", "d")]);
    assert_eq!(e.sender, e.from, "empty Sender copies From");
    assert_eq!(e.reply_to, vec![addr(None, "x", "y")], "folded Reply-To");
    assert_eq!(e.to.len(), 4);
    assert_eq!(e.message_id.as_deref(), Some(&b"<msg@id>"[..]));
    assert_eq!(e.in_reply_to.as_deref(), Some(&b"<reply@to.id>"[..]));
}

#[test]
fn eight_bit_headers_and_bare_lf() {
    let m = Message::parse("Subject: Grüße\nFrom: Jörg <j@x>\n\nline1\nline2".as_bytes());
    assert_eq!(m.envelope().subject.unwrap(), "Grüße".as_bytes());
    assert_eq!(
        m.bytes(),
        "Subject: Grüße\r\nFrom: Jörg <j@x>\r\n\r\nline1\r\nline2".as_bytes()
    );
    let BodyStructure::Single { part, .. } = m.body_structure(false) else {
        panic!()
    };
    // One line end: `line2` is not terminated (RFC 5322 §2.1).
    assert_eq!(part.kind, SinglePartKind::Text { lines: 1 });
    assert_eq!(part.fields.octets, 12);
}

#[test]
fn decoded_text_for_search() {
    let m = Message::parse(NESTED);
    let texts = m.body_texts();
    assert!(
        texts.iter().any(|t| t.contains("café au lait")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.contains("forwarded body")));
    let h = m.decoded_headers();
    assert!(h.iter().any(|(n, v)| n == "subject" && v == "Grüße"));
    let plain = Message::parse("Content-Type: text/plain; charset=utf-8\n\nGrüße\n".as_bytes());
    assert_eq!(plain.body_texts(), vec!["Grüße\r\n".to_owned()]);
    let latin1 = Message::parse(b"Content-Type: text/plain; charset=iso-8859-1\n\nGr\xfc\xdfe\n");
    assert_eq!(latin1.body_texts(), vec!["Grüße\r\n".to_owned()]);
}

#[test]
fn deep_nesting_is_bounded() {
    let mut msg = Vec::new();
    for i in 0..200 {
        msg.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n").as_bytes(),
        );
    }
    msg.extend_from_slice(b"\r\nleaf\r\n");
    let m = Message::parse(&msg);
    let _ = m.body_structure(true);
    let _ = m.section(&sec(&[1; 60], None));
    // The part past the depth bound is searched as text, not re-parsed.
    assert!(m.body_texts().iter().any(|t| t.contains("leaf")));
    let mut digest = b"Content-Type: message/rfc822\r\n\r\n".repeat(300);
    digest.extend_from_slice(b"x");
    let m = Message::parse(&digest);
    let _ = m.body_structure(true);
    let _ = m.envelope();
}

#[test]
fn multipart_without_parts_gets_one_empty_part() {
    let m =
        Message::parse(b"Content-Type: multipart/mixed; boundary=zz\r\n\r\nno delimiters here\r\n");
    let BodyStructure::Multipart { parts, .. } = m.body_structure(true) else {
        panic!()
    };
    assert_eq!(parts.len(), 1);
}

#[test]
fn digest_parts_default_to_message_rfc822() {
    let m = Message::parse(
        b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: first\r\n\r\none\r\n--d\r\nContent-Type: text/plain\r\n\r\nplain\r\n--d--\r\n",
    );
    let BodyStructure::Multipart { parts, subtype, .. } = m.body_structure(false) else {
        panic!()
    };
    assert_eq!(subtype, "digest");
    let BodyStructure::Single { part, .. } = &parts[0] else {
        panic!()
    };
    assert_eq!(
        (part.media_type.as_str(), part.media_subtype.as_str()),
        ("message", "rfc822")
    );
    let SinglePartKind::Message { envelope, .. } = &part.kind else {
        panic!()
    };
    assert_eq!(envelope.subject.as_deref(), Some(&b"first"[..]));
    assert_eq!(get(&m, sec(&[1], Some(SectionText::Text))).unwrap(), b"one");
    assert_eq!(get(&m, sec(&[1, 1], None)).unwrap(), b"one");
    let BodyStructure::Single { part, .. } = &parts[1] else {
        panic!()
    };
    assert_eq!(part.media_type, "text");
}

#[test]
fn multipart_inside_message_rfc822() {
    let m = Message::parse(
        b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain\r\n\r\nA\r\n--a\r\nContent-Type: text/html\r\n\r\n<b>A</b>\r\n--a--\r\n",
    );
    // Top-level part 1 is the encapsulated message; 1.1 and 1.2 its parts.
    assert!(
        get(&m, sec(&[1], None))
            .unwrap()
            .starts_with(b"Subject: inner\r\n")
    );
    assert_eq!(get(&m, sec(&[1, 1], None)).unwrap(), b"A");
    assert_eq!(get(&m, sec(&[1, 2], None)).unwrap(), b"<b>A</b>");
    assert_eq!(
        get(&m, sec(&[1, 2], Some(SectionText::Mime))).unwrap(),
        b"Content-Type: text/html\r\n\r\n"
    );
    assert!(get(&m, sec(&[1, 3], None)).is_none());
    let BodyStructure::Single { part, .. } = m.body_structure(true) else {
        panic!()
    };
    let SinglePartKind::Message { body, .. } = &part.kind else {
        panic!()
    };
    assert!(matches!(**body, BodyStructure::Multipart { ref parts, .. } if parts.len() == 2));
}

#[test]
fn streaming_reader_matches_stored_and_crlf_bytes() {
    use std::io::Read;
    let tmp = tempfile::tempdir().unwrap();
    let store = postroom_mailbox::MaildirStore::new(tmp.path()).unwrap();
    let mb = postroom_mailbox::Store::open(&store, &postroom_types::MailboxName::inbox()).unwrap();
    let mut raw = b"Subject: big\n\n".to_vec();
    for i in 0..20_000 {
        raw.extend_from_slice(format!("line {i}\r\nbare {i}\n").as_bytes());
    }
    let uid = mb
        .append(&raw, &postroom_mailbox::FlagSet::default(), None)
        .unwrap();
    let mut got = Vec::new();
    mb.open_message(uid).unwrap().read_to_end(&mut got).unwrap();
    assert_eq!(got, raw);
    let mut crlf = Vec::new();
    let mut r = mb.open_message_crlf(uid).unwrap();
    // Small reads cross chunk borders.
    let mut buf = [0u8; 7];
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        crlf.extend_from_slice(&buf[..n]);
    }
    assert_eq!(crlf, postroom_mailbox::message::to_crlf(&raw).into_owned());
    assert_eq!(crlf.len() as u64, mb.rfc822_size(uid).unwrap());
    // Still readable after an expunge elsewhere (open file).
    let mut reader = mb.open_message(uid).unwrap();
    mb.remove(&[uid]).unwrap();
    let mut again = Vec::new();
    reader.read_to_end(&mut again).unwrap();
    assert_eq!(again, raw);
    assert!(mb.open_message(uid).is_err());
}
