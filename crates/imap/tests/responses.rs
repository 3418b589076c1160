//! Known-answer tests for the response encoder and parser: the response
//! examples of RFC 3501 §7 and of the extension RFCs, the response fixtures
//! of the spec digest, prefixes, and byte-exact re-encoding.

use std::num::NonZeroU32;

use postroom_imap::command::{Atom, Section, SectionText, StatusItem, Tag};
use postroom_imap::error::DecodeError;
use postroom_imap::response::{
    Code, Continuation, Data, FetchItem, ListData, ListExtended, NamespaceDescription, Response,
    StatusKind, StatusResponse,
};
use postroom_imap::{ResponseParseOptions, decode_response, encode_response};
use postroom_types::{
    AclEntry, BodyExtension, BodyStructure, FlagFetch, FlagPerm, Limits, MailboxName, QuotaUsage,
    Resource, Rights, SequenceSet, SinglePartKind, Thread,
};

fn decode_with(input: &[u8], o: &ResponseParseOptions) -> Result<(Response, usize), DecodeError> {
    decode_response(input, &Limits::imap_client(), o)
}

/// Parses a complete response strictly; checks prefixes, and that encoding
/// the value and parsing it again gives the same value.
fn resp_with(input: &[u8], o: &ResponseParseOptions) -> Response {
    let (r, used) = decode_with(input, o)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(input)));
    assert_eq!(used, input.len());
    for n in 0..input.len() {
        assert_eq!(
            decode_with(&input[..n], o).unwrap_err(),
            DecodeError::Incomplete,
            "prefix {n} of {:?}",
            String::from_utf8_lossy(input)
        );
    }
    let mut wire = Vec::new();
    encode_response(&r, &mut wire);
    let (again, _) = decode_with(&wire, o)
        .unwrap_or_else(|e| panic!("re-encoded {:?}: {e}", String::from_utf8_lossy(&wire)));
    assert_eq!(again, r, "{:?}", String::from_utf8_lossy(&wire));
    r
}

fn resp(input: &[u8]) -> Response {
    resp_with(input, &ResponseParseOptions::default())
}

/// Parses and checks that encoding gives exactly the same bytes.
fn exact(input: &[u8]) -> Response {
    let r = resp(input);
    let mut wire = Vec::new();
    encode_response(&r, &mut wire);
    assert_eq!(
        String::from_utf8_lossy(&wire),
        String::from_utf8_lossy(input),
        "canonical encoding"
    );
    r
}

fn strict_error(input: &[u8]) {
    assert!(
        matches!(
            decode_with(input, &ResponseParseOptions::default()),
            Err(DecodeError::Parse(_))
        ),
        "{:?} should not parse",
        String::from_utf8_lossy(input)
    );
}

fn n(x: u32) -> NonZeroU32 {
    NonZeroU32::new(x).unwrap()
}

fn data(r: Response) -> Data {
    match r {
        Response::Data(d) => d,
        other => panic!("{other:?}"),
    }
}

fn status(r: Response) -> StatusResponse {
    match r {
        Response::Status(s) => s,
        other => panic!("{other:?}"),
    }
}

#[test]
fn rfc3501_section7_status_responses() {
    let s = status(exact(b"* OK IMAP4rev1 server ready\r\n"));
    assert_eq!((s.tag, s.kind, s.code), (None, StatusKind::Ok, None));
    let s = status(exact(b"* OK [ALERT] System shutdown in 10 minutes\r\n"));
    assert_eq!(s.code, Some(Code::Alert));
    let s = status(exact(b"A001 OK LOGIN Completed\r\n"));
    assert_eq!(s.tag, Tag::new("A001"));
    exact(b"* NO Disk is 98% full, please delete unnecessary data\r\n");
    exact(b"A222 NO COPY failed: disk is full\r\n");
    exact(b"* BAD Command line too long\r\n");
    exact(b"* BAD Empty command line\r\n");
    exact(b"A443 BAD no such command as \"FRIDGE\"\r\n");
    exact(b"* PREAUTH IMAP4rev1 server logged in as Smith\r\n");
    exact(b"* BYE Autologout; idle for too long\r\n");
    exact(b"A142 OK [READ-WRITE] SELECT completed\r\n");
    exact(b"A932 OK [READ-ONLY] EXAMINE completed\r\n");
    let s = status(exact(b"* OK [UNSEEN 12] Message 12 is first unseen\r\n"));
    assert_eq!(s.code, Some(Code::Unseen(n(12))));
    let s = status(exact(b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"));
    assert_eq!(s.code, Some(Code::UidValidity(n(3857529045))));
    exact(b"* OK [UIDNEXT 4392] Predicted next UID\r\n");
    let s = status(exact(
        b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
    ));
    assert_eq!(
        s.code,
        Some(Code::PermanentFlags(vec![
            FlagPerm::Flag(postroom_types::Flag::Deleted),
            FlagPerm::Flag(postroom_types::Flag::Seen),
            FlagPerm::AnyKeyword
        ]))
    );
    exact(b"A003 NO [TRYCREATE] Mailbox doesn't exist\r\n");
    exact(b"a1 BAD [PARSE] at byte 3: expected command name\r\n");
    let s = status(exact(
        b"a1 NO [BADCHARSET (UTF-8 US-ASCII)] charset not supported\r\n",
    ));
    assert_eq!(
        s.code,
        Some(Code::BadCharset(vec!["UTF-8".into(), "US-ASCII".into()]))
    );
    exact(b"a1 NO [BADCHARSET] charset not supported\r\n");
    let s = status(exact(
        b"* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR AUTH=PLAIN] Ready\r\n",
    ));
    assert!(matches!(s.code, Some(Code::Capability(c)) if c.len() == 4));
    // RFC 4315.
    let s = status(exact(
        b"A003 OK [APPENDUID 38505 3955] APPEND completed\r\n",
    ));
    assert_eq!(
        s.code,
        Some(Code::AppendUid {
            uid_validity: n(38505),
            uids: SequenceSet::single(3955)
        })
    );
    let s = status(exact(
        b"A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
    ));
    assert!(matches!(s.code, Some(Code::CopyUid { .. })));
    exact(b"* OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n");
    exact(b"* NO [UIDNOTSTICKY] Non-persistent UIDs\r\n");
    // RFC 9208, RFC 5530, RFC 7889.
    exact(b"A1 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n");
    exact(b"* NO [OVERQUOTA] Soft quota has been exceeded\r\n");
    exact(b"a NO [TOOBIG] literal exceeds APPENDLIMIT\r\n");
    for code in [
        "UNAVAILABLE",
        "AUTHENTICATIONFAILED",
        "AUTHORIZATIONFAILED",
        "EXPIRED",
        "PRIVACYREQUIRED",
        "CONTACTADMIN",
        "NOPERM",
        "INUSE",
        "EXPUNGEISSUED",
        "CORRUPTION",
        "SERVERBUG",
        "CLIENTBUG",
        "CANNOT",
        "LIMIT",
        "ALREADYEXISTS",
        "NONEXISTENT",
    ] {
        let line = format!("a NO [{code}] text\r\n");
        let s = status(exact(line.as_bytes()));
        assert!(!matches!(s.code, Some(Code::Other { .. }) | None), "{code}");
    }
    let s = status(exact(b"a OK [X-UNKNOWN some args] hi\r\n"));
    assert_eq!(
        s.code,
        Some(Code::Other {
            name: Atom::new("X-UNKNOWN").unwrap(),
            text: Some("some args".into())
        })
    );
    // Courier at SELECT.
    let s = status(resp(b"* OK [MYRIGHTS \"acdilrsw\"] ACL\r\n"));
    assert_eq!(s.code, Some(Code::MyRights("acdilrsw".parse().unwrap())));
    // No text at all.
    resp(b"* OK [ALERT]\r\n");
    resp(b"a1 OK\r\n");
}

#[test]
fn continuation_requests() {
    assert_eq!(
        exact(b"+ idling\r\n"),
        Response::Continuation(Continuation {
            code: None,
            text: "idling".into()
        })
    );
    assert_eq!(
        resp(b"+\r\n"),
        Response::Continuation(Continuation {
            code: None,
            text: String::new()
        })
    );
    exact(b"+ \r\n");
    exact(b"+ Ready for additional command text\r\n");
    exact(b"+ YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzmeTxNx=\r\n");
    exact(b"+ [ALERT] careful\r\n");
}

#[test]
fn rfc3501_section7_data_responses() {
    assert!(matches!(
        data(exact(b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n")),
        Data::Capability(c) if c.len() == 4
    ));
    assert_eq!(
        data(exact(b"* LIST (\\Noselect) \"/\" ~/Mail/foo\r\n")),
        Data::List(ListData {
            attributes: vec![Atom::new("Noselect").unwrap()],
            delimiter: Some('/'),
            mailbox: MailboxName::new("~/Mail/foo"),
            extended: vec![]
        })
    );
    exact(b"* LSUB () \".\" #news.comp.mail.misc\r\n");
    assert!(matches!(
        data(exact(b"* LIST (\\Noselect) NIL \"\"\r\n")),
        Data::List(ListData {
            delimiter: None,
            ..
        })
    ));
    exact(b"* LIST (\\HasNoChildren) \".\" INBOX\r\n");
    assert!(matches!(
        data(exact(b"* LIST () \"\\\\\" \"a\\\\b\"\r\n")),
        Data::List(ListData {
            delimiter: Some('\\'),
            ..
        })
    ));
    assert_eq!(
        data(exact(
            b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n"
        )),
        Data::Status {
            mailbox: MailboxName::new("blurdybloop"),
            items: vec![(StatusItem::Messages, 231), (StatusItem::UidNext, 44292)]
        }
    );
    exact(b"* STATUS INBOX (MESSAGES 12 DELETED 4 DELETED-STORAGE 8)\r\n");
    assert_eq!(
        data(exact(b"* SEARCH 2 3 6\r\n")),
        Data::Search(vec![n(2), n(3), n(6)])
    );
    assert_eq!(data(exact(b"* SEARCH\r\n")), Data::Search(vec![]));
    assert!(matches!(
        data(exact(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n")),
        Data::Flags(f) if f.len() == 5
    ));
    assert_eq!(data(exact(b"* 23 EXISTS\r\n")), Data::Exists(23));
    assert_eq!(data(exact(b"* 0 RECENT\r\n")), Data::Recent(0));
    assert_eq!(data(exact(b"* 44 EXPUNGE\r\n")), Data::Expunge(n(44)));
    strict_error(b"* 0 EXPUNGE\r\n");
    assert_eq!(
        data(exact(b"* 23 FETCH (FLAGS (\\Seen) RFC822.SIZE 44827)\r\n")),
        Data::Fetch {
            seq: n(23),
            items: vec![
                FetchItem::Flags(vec![FlagFetch::Flag(postroom_types::Flag::Seen)]),
                FetchItem::Rfc822Size(44827)
            ]
        }
    );
    exact(b"* 12 FETCH (FLAGS (\\Seen \\Recent $Junk foo[bar) UID 99)\r\n");
    exact(b"* 12 FETCH (UID 99 FLAGS ())\r\n");
    exact(b"* 1 FETCH (ENVELOPE (NIL \"\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n");
    let d = data(resp(
        b"* 1 FETCH (BODY[HEADER.FIELDS (\"Subject\" DATE)] {14}\r\nSubject: x\r\n\r\n)\r\n",
    ));
    let Data::Fetch { items, .. } = d else {
        panic!()
    };
    assert_eq!(
        items[0],
        FetchItem::BodySection {
            section: Section {
                part: vec![],
                text: Some(SectionText::HeaderFields(vec![
                    "Subject".into(),
                    "DATE".into()
                ]))
            },
            origin: None,
            data: Some(b"Subject: x\r\n\r\n".to_vec())
        }
    );
    let d = data(exact(b"* 1 FETCH (BODY[]<0> {5}\r\nHello)\r\n"));
    assert!(
        matches!(&d, Data::Fetch { items, .. } if matches!(&items[0], FetchItem::BodySection { origin: Some(0), .. }))
    );
    exact(b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)]<0> {5}\r\nSubje)\r\n");
    exact(b"* 2 FETCH (RFC822 NIL RFC822.HEADER {0}\r\n RFC822.TEXT {2}\r\n\r\n)\r\n");
    resp(b"* 2 FETCH (RFC822.HEADER \"\")\r\n");
    exact(b"* 3 FETCH (INTERNALDATE \"17-Jul-1996 02:44:25 -0700\")\r\n");
    resp(b"* 3 FETCH (INTERNALDATE \" 7-Jul-1996 02:44:25 -0700\")\r\n");
    let e = b"* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n";
    let Data::Fetch { items, .. } = data(exact(e)) else {
        panic!()
    };
    let FetchItem::Envelope(env) = &items[3] else {
        panic!()
    };
    assert_eq!(env.cc.len(), 2);
    assert_eq!(env.bcc, vec![]);
    let FetchItem::Body(b) = &items[4] else {
        panic!()
    };
    assert!(matches!(
        &**b,
        BodyStructure::Single { part, extension: None } if part.kind == SinglePartKind::Text { lines: 92 }
    ));
}

#[test]
fn body_structures() {
    // RFC 3501 §7.4.2 example.
    exact(b"* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") \"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73) \"MIXED\"))\r\n");
    // Digest fixture: unknown extension data.
    let d = data(exact(b"* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1 NIL NIL NIL NIL (1 (\"x\" NIL)) \"ext\"))\r\n"));
    let Data::Fetch { items, .. } = d else {
        panic!()
    };
    let FetchItem::BodyStructure(b) = &items[0] else {
        panic!()
    };
    let BodyStructure::Single {
        extension: Some(ext),
        ..
    } = &**b
    else {
        panic!()
    };
    let loc = ext
        .tail
        .as_ref()
        .unwrap()
        .language
        .as_ref()
        .unwrap()
        .location
        .as_ref()
        .unwrap();
    assert_eq!(
        loc.extensions,
        vec![
            BodyExtension::List(vec![
                BodyExtension::Number(1),
                BodyExtension::List(vec![
                    BodyExtension::NString(Some("x".into())),
                    BodyExtension::NString(None)
                ])
            ]),
            BodyExtension::NString(Some("ext".into()))
        ]
    );
    // Multipart with extension data, a message/rfc822 part, disposition
    // and language list.
    exact(b"* 7 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 12 1 NIL (\"inline\" NIL) NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 300 (\"Thu, 15 Feb 2007 01:02:03 +0200\" \"subject header\" ((\"From Real\" NIL \"fromuser\" \"fromdomain.org\")) NIL NIL NIL NIL NIL NIL \"<msg@id>\") (\"text\" \"html\" NIL NIL NIL \"8bit\" 40 2 NIL NIL (\"en\" \"de\") \"http://x\") 10 NIL (\"attachment\" (\"filename\" \"m.eml\")) \"fr\") \"mixed\" (\"boundary\" \"xyz\") NIL NIL NIL))\r\n");
    exact(b"* 7 FETCH (BODY ((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)(\"image\" \"png\" NIL \"<id>\" \"desc\" \"base64\" 100) \"mixed\"))\r\n");
    strict_error(b"* 7 FETCH (BODYSTRUCTURE (\"text\" \"plain\" NIL NIL NIL NIL 1 1))\r\n");
    resp_with(
        b"* 7 FETCH (BODYSTRUCTURE (\"text\" \"plain\" NIL NIL NIL NIL 1 1))\r\n",
        &ResponseParseOptions::lenient(),
    );
}

#[test]
fn extension_data_responses() {
    // RFC 2342.
    exact(b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
    assert_eq!(
        data(exact(
            b"* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"#shared.\" \".\")(\"shared.\" \".\"))\r\n"
        )),
        Data::Namespace {
            personal: vec![NamespaceDescription {
                prefix: "INBOX.".into(),
                delimiter: Some('.'),
                extensions: vec![]
            }],
            other: vec![],
            shared: vec![
                NamespaceDescription {
                    prefix: "#shared.".into(),
                    delimiter: Some('.'),
                    extensions: vec![]
                },
                NamespaceDescription {
                    prefix: "shared.".into(),
                    delimiter: Some('.'),
                    extensions: vec![]
                }
            ]
        }
    );
    exact(b"* NAMESPACE ((\"\" \"/\" \"X-PARAM\" (\"FLAG1\" \"FLAG2\"))) NIL NIL\r\n");
    // RFC 5256.
    assert_eq!(
        data(exact(b"* SORT 2 84 882\r\n")),
        Data::Sort(vec![n(2), n(84), n(882)])
    );
    exact(b"* SORT\r\n");
    exact(b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n");
    exact(b"* THREAD ((3)(5))\r\n");
    exact(b"* THREAD (166)(167)(168)(169)(172)(170)(171)(173)(174 (175)(176)(178)(181)(180))(179)(177 (183)(182)(188)(184)(185)(186)(187)(189))(190)(191)(192)(193)(194 195)(196 (197)(198))(199)(200 202)(201)(203)(204)(205)(206 207)(208)\r\n");
    assert_eq!(data(exact(b"* THREAD\r\n")), Data::Thread(Thread::new()));
    strict_error(b"* THREAD ()\r\n");
    // Found by the imap_response fuzz target: a single nested list.
    strict_error(b"* THREAD ((6))\r\n");
    strict_error(b"* THREAD (1 (2))\r\n");
    strict_error(b"* THREAD (1 (2)\r\n");
    strict_error(b"* THREAD (1)) \r\n");
    // RFC 2087.
    assert_eq!(
        data(exact(b"* QUOTA \"\" (STORAGE 10 512)\r\n")),
        Data::Quota {
            root: String::new(),
            resources: Some(vec![QuotaUsage {
                resource: Resource::Storage,
                usage: 10,
                limit: 512
            }])
        }
    );
    exact(b"* QUOTA \"User quota\" (STORAGE 1 1 MESSAGE 3 3)\r\n");
    exact(b"* QUOTA \"\" ()\r\n");
    exact(b"* QUOTAROOT INBOX \"\"\r\n");
    exact(b"* QUOTAROOT comp.mail.mime\r\n");
    strict_error(b"* QUOTA \"ROOT\"\r\n");
    assert_eq!(
        data(resp_with(
            b"* QUOTA \"ROOT\"\r\n",
            &ResponseParseOptions::lenient()
        )),
        Data::Quota {
            root: "ROOT".into(),
            resources: None
        }
    );
    // RFC 4314.
    let r = |s: &str| s.parse::<Rights>().unwrap();
    assert_eq!(
        data(resp(b"* ACL INBOX Fred rwipslxetad David lrswideta\r\n")),
        Data::Acl {
            mailbox: MailboxName::new("INBOX"),
            entries: vec![
                AclEntry {
                    identifier: "Fred".into(),
                    rights: r("rwipslxetad")
                },
                AclEntry {
                    identifier: "David".into(),
                    rights: r("lrswideta")
                }
            ]
        }
    );
    assert_eq!(
        data(resp(b"* LISTRIGHTS ~/Mail/saved smith la r swicdkxte\r\n")),
        Data::ListRights {
            mailbox: MailboxName::new("~/Mail/saved"),
            identifier: "smith".into(),
            required: r("la"),
            optional: vec![r("r"), r("swicdkxte")]
        }
    );
    resp(b"* LISTRIGHTS \"INBOX.acl\" \"anyone\" \"\" a c d i l p r s w\r\n");
    assert_eq!(
        data(resp(b"* MYRIGHTS INBOX rwiptsldaex\r\n")),
        Data::MyRights {
            mailbox: MailboxName::new("INBOX"),
            rights: r("rwiptsldaex")
        }
    );
    resp(b"* ACL \"INBOX.acl\" \"owner\" \"acdilrsw\" \"administrators\" \"acdilrsw\"\r\n");
    // Courier ACL2.
    assert_eq!(
        data(resp(b"* LIST (\\HasNoChildren) \".\" \"INBOX.acl\" ((\"ACL\" ((\"owner\" \"acdilrsw\")(\"administrators\" \"acdilrsw\")(\"-user=fred\" \"w\")(\"anyone\" \"Qlr\")))(\"MYRIGHTS\" \"Qacdilrsw\"))\r\n")),
        Data::List(ListData {
            attributes: vec![Atom::new("HasNoChildren").unwrap()],
            delimiter: Some('.'),
            mailbox: MailboxName::new("INBOX.acl"),
            extended: vec![
                ListExtended::Acl(vec![
                    AclEntry { identifier: "owner".into(), rights: r("acdilrsw") },
                    AclEntry { identifier: "administrators".into(), rights: r("acdilrsw") },
                    AclEntry { identifier: "-user=fred".into(), rights: r("w") },
                    AclEntry { identifier: "anyone".into(), rights: r("Qlr") },
                ]),
                ListExtended::MyRights(r("Qacdilrsw"))
            ]
        })
    );
    assert_eq!(
        data(resp(b"* ACLFAILED \"INBOX.x\" Access denied\r\n")),
        Data::AclFailed {
            mailbox: MailboxName::new("INBOX.x"),
            text: "Access denied".into()
        }
    );
    assert!(matches!(
        data(resp(b"* RIGHTS-INFO \"INBOX.acl\" \"owner\" al c e i p r s t w x\r\n")),
        Data::RightsInfo { optional, .. } if optional.len() == 9
    ));
    // RFC 5161, RFC 2971.
    exact(b"* ENABLED CONDSTORE\r\n");
    exact(b"* ENABLED\r\n");
    exact(
        b"* ID (\"name\" \"Cyrus\" \"version\" \"1.5\" \"os\" \"sunos\" \"support-url\" NIL)\r\n",
    );
    exact(b"* ID NIL\r\n");
}

#[test]
fn strings_are_atom_quoted_or_literal() {
    let mut out = Vec::new();
    encode_response(
        &Response::Data(Data::QuotaRoot {
            mailbox: MailboxName::new("Entwürfe"),
            roots: vec!["a b".into(), "x\r\ny".into(), "ok".into(), "".into()],
        }),
        &mut out,
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "* QUOTAROOT Entw&APw-rfe \"a b\" {4}\r\nx\r\ny ok \"\"\r\n"
    );
    let mut out = Vec::new();
    encode_response(
        &Response::Data(Data::Fetch {
            seq: n(1),
            items: vec![FetchItem::Rfc822Header(Some(
                "Subject: caf\u{e9}\r\n".as_bytes().to_vec(),
            ))],
        }),
        &mut out,
    );
    assert_eq!(
        out,
        "* 1 FETCH (RFC822.HEADER {16}\r\nSubject: caf\u{e9}\r\n)\r\n".as_bytes()
    );
    // Text is sanitised to one 7-bit line.
    let mut out = Vec::new();
    encode_response(
        &Response::Status(StatusResponse::untagged(
            StatusKind::No,
            None,
            "bad\r\nA1 OK caf\u{e9}",
        )),
        &mut out,
    );
    assert_eq!(out, b"* NO bad  A1 OK caf?\r\n");
}

#[test]
fn deep_thread_encodes_and_decodes_without_recursion() {
    let mut t = Thread::new();
    let mut node = t.add_root(Some(1));
    for i in 2..=100_000u32 {
        // Two children per level so every level is a nested list.
        t.add_child(node, Some(i + 200_000));
        node = t.add_child(node, Some(i));
    }
    let mut out = Vec::new();
    encode_response(&Response::Data(Data::Thread(t)), &mut out);
    assert!(out.len() > 1_000_000);
    // The default client depth limit refuses it cleanly.
    let e = decode_with(&out, &ResponseParseOptions::default()).unwrap_err();
    assert!(
        matches!(e, DecodeError::Parse(ref p) if p.expected.contains("nested")),
        "{e:?}"
    );
    // With the limit raised it decodes.
    let mut o = ResponseParseOptions::default();
    o.max_depth = 200_000;
    let (r, _) = decode_with(&out, &o).unwrap();
    let Response::Data(Data::Thread(back)) = r else {
        panic!()
    };
    assert_eq!(back.depth(), 100_000);
}

#[test]
fn hostile_responses() {
    let mut deep = b"* 1 FETCH (BODYSTRUCTURE ".to_vec();
    deep.extend(std::iter::repeat_n(b'(', 100_000));
    deep.extend_from_slice(b"\r\n");
    strict_error(&deep);
    let mut deep = b"* THREAD ".to_vec();
    deep.extend(std::iter::repeat_n(b'(', 100_000));
    deep.extend_from_slice(b"\r\n");
    strict_error(&deep);
    strict_error(b"* 1 FETCH (BODY[] {4294967296}\r\n");
    assert!(matches!(
        decode_with(
            b"* 1 FETCH (BODY[] {4294967295}\r\n",
            &ResponseParseOptions::default()
        ),
        Err(DecodeError::Frame(_))
    ));
    strict_error(b"* CAPABILITY IMAP4rev1 \x80\r\n");
    strict_error(b"* CAPABILITY IMAP\0rev1\r\n");
    strict_error(b"* 1 FETCH (UID 4294967296)\r\n");
    strict_error(b"* SEARCH 1 2 \r\n");
    resp_with(b"* SEARCH 1 2 \r\n", &ResponseParseOptions::lenient());
}

/// Found by the imap_response fuzz target: 8-bit text parsed as UTF-8 but
/// re-encoded as `?`.
#[test]
fn eight_bit_text_is_strict_error_and_lenient_utf8() {
    let input = b"* OK [CAP+] \xde\x8deady\r\n";
    strict_error(input);
    let (r, _) = decode_with(input, &ResponseParseOptions::lenient()).unwrap();
    assert_eq!(status(r).text, "\u{78d}eady");
    strict_error("a1 NO [X-Y caf\u{e9}] t\r\n".as_bytes());
    // Also found by fuzzing: no SP after the code; text starting with `[`.
    strict_error(b"* OK [ALERT][x] y\r\n");
    let s = status(exact(b"* OK [ALERT] [x] y\r\n"));
    assert_eq!(s.text, "[x] y");
}

/// A `* SEARCH` over 100k messages is one ~700 KB line: within the client's
/// line cap, beyond the server's.
#[test]
fn large_search_response_fits_the_client_cap() {
    let mut line = b"* SEARCH".to_vec();
    for i in 1..=100_000u32 {
        line.extend_from_slice(format!(" {}", i + 1_000_000).as_bytes());
    }
    line.extend_from_slice(b"\r\n");
    assert!(line.len() > 700_000);
    let (r, _) = decode_with(&line, &ResponseParseOptions::default()).unwrap();
    assert!(matches!(data(r), Data::Search(v) if v.len() == 100_000));
    assert!(matches!(
        decode_response(
            &line,
            &Limits::imap_server(),
            &ResponseParseOptions::default()
        ),
        Err(DecodeError::Frame(_))
    ));
}

/// Found by the imap_roundtrip fuzz target: extension data inside the
/// non-extensible BODY item.
#[test]
fn body_item_carries_no_extension_data() {
    let input = b"* 1 FETCH (BODY (\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1 NIL))\r\n";
    strict_error(input);
    strict_error(
        b"* 1 FETCH (BODY ((\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1) \"mixed\" NIL))\r\n",
    );
    let (r, _) = decode_with(input, &ResponseParseOptions::lenient()).unwrap();
    let Data::Fetch { items, .. } = data(r) else {
        panic!()
    };
    assert!(
        matches!(&items[0], FetchItem::Body(b) if matches!(**b, BodyStructure::Single { extension: None, .. }))
    );
}

#[test]
fn unknown_extended_list_items_tolerated_when_lenient() {
    // An item name other than ACL and MYRIGHTS: strict parsing names it,
    // the lenient option drops it (and keeps the known ones).
    let input = b"* LIST (\\HasNoChildren) \".\" \"INBOX.x\" ((\"X-COURIER-ITEM\" ((\"a\" 1 NIL)(b {2}\r\nxy) \\Seen))(\"MYRIGHTS\" \"lr\")(\"EMPTY\" ()) (\"X2\" atom))\r\n";
    let strict = decode_with(input, &ResponseParseOptions::default()).unwrap_err();
    match strict {
        DecodeError::Parse(e) => {
            assert_eq!(e.expected, "ACL or MYRIGHTS extended data");
            assert_eq!(e.offset, 40);
        }
        other => panic!("{other:?}"),
    }
    let mut o = ResponseParseOptions::default();
    o.lenient_unknown_list_items = true;
    assert_eq!(
        data(resp_with(input, &o)),
        Data::List(ListData {
            attributes: vec![Atom::new("HasNoChildren").unwrap()],
            delimiter: Some('.'),
            mailbox: MailboxName::new("INBOX.x"),
            extended: vec![ListExtended::MyRights("lr".parse::<Rights>().unwrap())],
        })
    );
    assert!(ResponseParseOptions::lenient().lenient_unknown_list_items);
    // The value's nesting is bounded by max_depth, and still must be well
    // formed.
    o.max_depth = 3;
    let deep = b"* LIST () \".\" x ((\"X\" ((((1))))))\r\n";
    assert!(decode_with(deep, &o).is_err());
    for bad in [
        &b"* LIST () \".\" x ((\"X\" (1 2))\r\n"[..],
        b"* LIST () \".\" x ((\"X\" ))\r\n",
        b"* LIST () \".\" x ((\"X\" \"open))\r\n",
    ] {
        assert!(
            matches!(decode_with(bad, &o), Err(DecodeError::Parse(_))),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn enabled_utf8_accept() {
    // RFC 6855 §3 / RFC 5161 §3.2: what neomutt's ENABLE UTF8=ACCEPT gets.
    assert_eq!(
        data(exact(b"* ENABLED UTF8=ACCEPT\r\n")),
        Data::Enabled(vec![Atom::new("UTF8=ACCEPT").unwrap()])
    );
}
