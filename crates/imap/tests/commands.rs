//! Known-answer tests for the command parser and encoder: every example of
//! RFC 3501 §6 and of the extension RFCs, the grammar edge cases of the
//! spec digest (imap-core.md §12), prefixes, and round trips.

use std::num::NonZeroU32;

use postroom_imap::command::{
    Atom, Command, FetchAttribute, FetchItems, RightsChange, Section, SectionText, SortCriterion,
    SortKey, StatusItem, StoreMode, TaggedCommand, ThreadAlgorithm,
};
use postroom_imap::error::DecodeError;
use postroom_imap::{
    CommandParseOptions, LiteralMode, decode_command, encode_command_bytes, parse_command,
};
use postroom_types::chrono::NaiveDate;
use postroom_types::{
    Flag, Keyword, Limits, MailboxName, QuotaLimit, Resource, Rights, SearchKey, SeqBound,
    SeqRange, SequenceSet,
};

fn decode(input: &[u8]) -> Result<(TaggedCommand, usize), DecodeError> {
    decode_command(
        input,
        &Limits::imap_server(),
        &CommandParseOptions::default(),
    )
}

/// Parses a complete command, checks every proper prefix is Incomplete and
/// that encoding and parsing again gives the same command.
fn cmd(input: &[u8]) -> Command {
    let (c, used) =
        decode(input).unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(input)));
    assert_eq!(used, input.len(), "{:?}", String::from_utf8_lossy(input));
    for n in 0..input.len() {
        assert_eq!(
            decode(&input[..n]).unwrap_err(),
            DecodeError::Incomplete,
            "prefix {n} of {:?}",
            String::from_utf8_lossy(input)
        );
    }
    for mode in [LiteralMode::Sync, LiteralMode::LiteralPlus] {
        let wire = encode_command_bytes(&c, mode);
        let (again, _) = decode(&wire)
            .unwrap_or_else(|e| panic!("re-encoded {:?}: {e}", String::from_utf8_lossy(&wire)));
        assert_eq!(
            again,
            c,
            "round trip via {:?}",
            String::from_utf8_lossy(&wire)
        );
    }
    c.command
}

fn bad(input: &[u8]) -> postroom_imap::error::ParseError {
    match decode(input) {
        Err(DecodeError::Parse(e)) => e,
        other => panic!(
            "{:?}: expected a parse error, got {other:?}",
            String::from_utf8_lossy(input)
        ),
    }
}

fn mb(s: &str) -> MailboxName {
    MailboxName::new(s)
}

fn n(x: u32) -> NonZeroU32 {
    NonZeroU32::new(x).unwrap()
}

fn range(a: u32, b: u32) -> SequenceSet {
    SequenceSet::Ranges(vec![SeqRange {
        start: SeqBound::Number(n(a)),
        end: SeqBound::Number(n(b)),
    }])
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn rfc3501_section6_examples() {
    assert_eq!(cmd(b"abcd CAPABILITY\r\n"), Command::Capability);
    assert_eq!(cmd(b"a002 NOOP\r\n"), Command::Noop);
    assert_eq!(cmd(b"A023 LOGOUT\r\n"), Command::Logout);
    assert_eq!(cmd(b"a001 STARTTLS\r\n"), Command::StartTls);
    assert!(matches!(
        cmd(b"A001 AUTHENTICATE GSSAPI\r\n"),
        Command::Authenticate { mechanism, initial_response: None } if mechanism.as_str() == "GSSAPI"
    ));
    match cmd(b"a001 LOGIN SMITH SESAME\r\n") {
        Command::Login { username, password } => {
            assert_eq!(username, "SMITH");
            assert_eq!(password.expose_secret(), "SESAME");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        cmd(b"A142 SELECT INBOX\r\n"),
        Command::Select {
            mailbox: mb("INBOX")
        }
    );
    assert_eq!(
        cmd(b"A932 EXAMINE blurdybloop\r\n"),
        Command::Examine {
            mailbox: mb("blurdybloop")
        }
    );
    assert_eq!(
        cmd(b"A003 CREATE owatagusiam/\r\n"),
        Command::Create {
            mailbox: mb("owatagusiam/")
        }
    );
    assert_eq!(
        cmd(b"A683 DELETE blurdybloop\r\n"),
        Command::Delete {
            mailbox: mb("blurdybloop")
        }
    );
    assert_eq!(
        cmd(b"A682 RENAME blurdybloop sarasoop\r\n"),
        Command::Rename {
            from: mb("blurdybloop"),
            to: mb("sarasoop")
        }
    );
    assert_eq!(
        cmd(b"A002 SUBSCRIBE #news.comp.mail.mime\r\n"),
        Command::Subscribe {
            mailbox: mb("#news.comp.mail.mime")
        }
    );
    assert_eq!(
        cmd(b"A002 UNSUBSCRIBE #news.comp.mail.mime\r\n"),
        Command::Unsubscribe {
            mailbox: mb("#news.comp.mail.mime")
        }
    );
    let list = |r: &str, p: &str| Command::List {
        selection: vec![],
        reference: r.into(),
        pattern: p.into(),
    };
    assert_eq!(cmd(b"A101 LIST \"\" \"\"\r\n"), list("", ""));
    assert_eq!(
        cmd(b"A102 LIST #news.comp.mail.misc \"\"\r\n"),
        list("#news.comp.mail.misc", "")
    );
    assert_eq!(
        cmd(b"A103 LIST /usr/staff/jones \"\"\r\n"),
        list("/usr/staff/jones", "")
    );
    assert_eq!(cmd(b"A202 LIST ~/Mail/ %\r\n"), list("~/Mail/", "%"));
    assert_eq!(cmd(b"A1 LIST \"\" *\r\n"), list("", "*"));
    assert_eq!(
        cmd(b"A002 LSUB \"#news.\" \"comp.mail.*\"\r\n"),
        Command::Lsub {
            reference: "#news.".into(),
            pattern: "comp.mail.*".into()
        }
    );
    assert_eq!(
        cmd(b"A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n"),
        Command::Status {
            mailbox: mb("blurdybloop"),
            items: vec![StatusItem::UidNext, StatusItem::Messages]
        }
    );
    let msg = b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: Fred Foobar <foobar@Blurdybloop.COM>\r\nSubject: afternoon meeting\r\nTo: mooch@owatagu.siam.edu\r\nMessage-Id: <B27397-0100000@Blurdybloop.COM>\r\nMIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n";
    let mut append =
        format!("A003 APPEND saved-messages (\\Seen) {{{}}}\r\n", msg.len()).into_bytes();
    append.extend_from_slice(msg);
    append.extend_from_slice(b"\r\n");
    assert_eq!(
        cmd(&append),
        Command::Append {
            mailbox: mb("saved-messages"),
            flags: vec![Flag::Seen],
            date: None,
            message: msg.to_vec()
        }
    );
    assert_eq!(cmd(b"FXXZ CHECK\r\n"), Command::Check);
    assert_eq!(cmd(b"A341 CLOSE\r\n"), Command::Close);
    assert_eq!(cmd(b"A202 EXPUNGE\r\n"), Command::Expunge);
    assert_eq!(
        cmd(b"A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n"),
        Command::Search {
            uid: false,
            charset: None,
            criteria: SearchKey::And(vec![
                SearchKey::Flagged,
                SearchKey::Since(date(1994, 2, 1)),
                SearchKey::Not(Box::new(SearchKey::From("Smith".into()))),
            ])
        }
    );
    assert_eq!(
        cmd(b"A283 SEARCH TEXT \"string not in mailbox\"\r\n"),
        Command::Search {
            uid: false,
            charset: None,
            criteria: SearchKey::Text("string not in mailbox".into())
        }
    );
    assert_eq!(
        cmd("A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX\r\n".as_bytes()),
        Command::Search {
            uid: false,
            charset: Some("UTF-8".into()),
            criteria: SearchKey::Text("XXXXXX".into())
        }
    );
    assert_eq!(
        cmd(b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n"),
        Command::Fetch {
            uid: false,
            set: range(2, 4),
            items: FetchItems::List(vec![
                FetchAttribute::Flags,
                FetchAttribute::BodySection {
                    peek: false,
                    section: Section {
                        part: vec![],
                        text: Some(SectionText::HeaderFields(vec![
                            "DATE".into(),
                            "FROM".into()
                        ]))
                    },
                    partial: None
                }
            ])
        }
    );
    assert_eq!(
        cmd(b"A003 STORE 2:4 +FLAGS (\\Deleted)\r\n"),
        Command::Store {
            uid: false,
            set: range(2, 4),
            mode: StoreMode::Add,
            silent: false,
            flags: vec![Flag::Deleted]
        }
    );
    assert_eq!(
        cmd(b"A003 COPY 2:4 MEETING\r\n"),
        Command::Copy {
            uid: false,
            set: range(2, 4),
            mailbox: mb("MEETING")
        }
    );
    assert_eq!(
        cmd(b"A999 UID FETCH 4827313:4828442 FLAGS\r\n"),
        Command::Fetch {
            uid: true,
            set: range(4827313, 4828442),
            items: FetchItems::List(vec![FetchAttribute::Flags])
        }
    );
}

#[test]
fn fetch_forms() {
    assert!(matches!(
        cmd(b"a FETCH 1 ALL\r\n"),
        Command::Fetch {
            items: FetchItems::All,
            ..
        }
    ));
    assert!(matches!(
        cmd(b"a FETCH 1 fast\r\n"),
        Command::Fetch {
            items: FetchItems::Fast,
            ..
        }
    ));
    assert!(matches!(
        cmd(b"a FETCH 1 FULL\r\n"),
        Command::Fetch {
            items: FetchItems::Full,
            ..
        }
    ));
    let Command::Fetch { items: FetchItems::List(items), .. } = cmd(
        b"a FETCH 1:* (ENVELOPE INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT BODY BODYSTRUCTURE UID BODY.PEEK[1.2.MIME] BODY[TEXT]<0.2048> BODY[HEADER.FIELDS.NOT (\"X-Spam\" Received)] BODY[3.HEADER] BODY[])\r\n",
    ) else {
        panic!()
    };
    assert_eq!(items.len(), 14);
    assert_eq!(
        items[9],
        FetchAttribute::BodySection {
            peek: true,
            section: Section {
                part: vec![n(1), n(2)],
                text: Some(SectionText::Mime)
            },
            partial: None
        }
    );
    assert_eq!(
        items[10],
        FetchAttribute::BodySection {
            peek: false,
            section: Section {
                part: vec![],
                text: Some(SectionText::Text)
            },
            partial: Some((0, n(2048)))
        }
    );
}

#[test]
fn extension_commands() {
    assert_eq!(
        cmd(b"A003 UID EXPUNGE 3000:3002\r\n"),
        Command::UidExpunge {
            uids: range(3000, 3002)
        }
    );
    assert_eq!(cmd(b"A001 NAMESPACE\r\n"), Command::Namespace);
    assert_eq!(cmd(b"a UNSELECT\r\n"), Command::Unselect);
    assert_eq!(cmd(b"a001 IDLE\r\n"), Command::Idle);
    assert_eq!(
        cmd(b"A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994\r\n"),
        Command::Sort {
            uid: false,
            criteria: vec![SortCriterion {
                reverse: false,
                key: SortKey::Subject
            }],
            charset: "UTF-8".into(),
            search: SearchKey::Since(date(1994, 2, 1))
        }
    );
    assert_eq!(
        cmd(b"A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n"),
        Command::Sort {
            uid: false,
            criteria: vec![
                SortCriterion {
                    reverse: false,
                    key: SortKey::Subject
                },
                SortCriterion {
                    reverse: true,
                    key: SortKey::Date
                }
            ],
            charset: "UTF-8".into(),
            search: SearchKey::All
        }
    );
    assert!(matches!(
        cmd(b"A284 SORT (SUBJECT) US-ASCII TEXT \"not in mailbox\"\r\n"),
        Command::Sort {
            search: SearchKey::Text(_),
            ..
        }
    ));
    assert!(matches!(
        cmd(b"a UID SORT (REVERSE ARRIVAL) \"US-ASCII\" ALL\r\n"),
        Command::Sort { uid: true, .. }
    ));
    assert_eq!(
        cmd(b"A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000\r\n"),
        Command::Thread {
            uid: false,
            algorithm: ThreadAlgorithm::OrderedSubject,
            charset: "UTF-8".into(),
            search: SearchKey::Since(date(2000, 3, 5))
        }
    );
    assert!(matches!(
        cmd(b"A285 UID THREAD REFERENCES US-ASCII ALL\r\n"),
        Command::Thread {
            uid: true,
            algorithm: ThreadAlgorithm::References,
            ..
        }
    ));
    assert!(matches!(
        cmd(b"a THREAD refs UTF-8 ALL\r\n"),
        Command::Thread { algorithm: ThreadAlgorithm::Other(a), .. } if a.as_str() == "REFS"
    ));
    assert_eq!(
        cmd(b"A003 GETQUOTA \"\"\r\n"),
        Command::GetQuota {
            root: String::new()
        }
    );
    assert_eq!(
        cmd(b"A003 GETQUOTAROOT INBOX\r\n"),
        Command::GetQuotaRoot {
            mailbox: mb("INBOX")
        }
    );
    assert_eq!(
        cmd(b"A001 SETQUOTA \"\" (STORAGE 512)\r\n"),
        Command::SetQuota {
            root: String::new(),
            limits: vec![QuotaLimit {
                resource: Resource::Storage,
                limit: 512
            }]
        }
    );
    assert_eq!(
        cmd(b"A001 SETQUOTA \"User quota\" ()\r\n"),
        Command::SetQuota {
            root: "User quota".into(),
            limits: vec![]
        }
    );
    let r = |s: &str| s.parse::<Rights>().unwrap();
    assert_eq!(
        cmd(b"A001 SETACL INBOX/Drafts David lrswida\r\n"),
        Command::SetAcl {
            mailbox: mb("INBOX/Drafts"),
            identifier: "David".into(),
            rights: RightsChange::Replace(r("lrswida"))
        }
    );
    assert_eq!(
        cmd(b"A002 SETACL INBOX -fred +w\r\n"),
        Command::SetAcl {
            mailbox: mb("INBOX"),
            identifier: "-fred".into(),
            rights: RightsChange::Add(r("w"))
        }
    );
    assert_eq!(
        cmd(b"A002 SETACL INBOX fred \"-ws\"\r\n"),
        Command::SetAcl {
            mailbox: mb("INBOX"),
            identifier: "fred".into(),
            rights: RightsChange::Remove(r("ws"))
        }
    );
    assert_eq!(
        cmd(b"A003 SETACL INBOX fred \"\"\r\n"),
        Command::SetAcl {
            mailbox: mb("INBOX"),
            identifier: "fred".into(),
            rights: RightsChange::Replace(Rights::EMPTY)
        }
    );
    assert_eq!(
        cmd(b"A002 GETACL INBOX\r\n"),
        Command::GetAcl {
            mailbox: mb("INBOX")
        }
    );
    assert_eq!(
        cmd(b"a LISTRIGHTS ~/Mail/saved smith\r\n"),
        Command::ListRights {
            mailbox: mb("~/Mail/saved"),
            identifier: "smith".into()
        }
    );
    assert_eq!(
        cmd(b"A003 MYRIGHTS INBOX\r\n"),
        Command::MyRights {
            mailbox: mb("INBOX")
        }
    );
    assert_eq!(
        cmd(b"A004 DELETEACL INBOX -Fred\r\n"),
        Command::DeleteAcl {
            mailbox: mb("INBOX"),
            identifier: "-Fred".into()
        }
    );
    // Courier ACL2 (acl-quota.md B.3).
    assert_eq!(
        cmd(b"t16 ACL STORE INBOX.acl user=carol lrswi\r\n"),
        Command::AclStore {
            mailboxes: vec![mb("INBOX.acl")],
            identifier: "user=carol".into(),
            rights: RightsChange::Replace(r("lrswi"))
        }
    );
    assert_eq!(
        cmd(b"t17 ACL STORE INBOX.acl -group=admins w\r\n"),
        Command::AclStore {
            mailboxes: vec![mb("INBOX.acl")],
            identifier: "-group=admins".into(),
            rights: RightsChange::Replace(r("w"))
        }
    );
    assert_eq!(
        cmd(b"t18 ACL DELETE (INBOX.acl INBOX.b) user=carol\r\n"),
        Command::AclDelete {
            mailboxes: vec![mb("INBOX.acl"), mb("INBOX.b")],
            identifier: "user=carol".into()
        }
    );
    assert_eq!(
        cmd(b"t19 ACL SET INBOX.acl owner acdilrsw anyone lr\r\n"),
        Command::AclSet {
            mailboxes: vec![mb("INBOX.acl")],
            entries: vec![("owner".into(), r("acdilrsw")), ("anyone".into(), r("lr"))]
        }
    );
    assert_eq!(
        cmd(b"t20 LIST (ACL MYRIGHTS POSTADDRESS) \"\" INBOX.%\r\n"),
        Command::List {
            selection: vec![
                Atom::new("ACL").unwrap(),
                Atom::new("MYRIGHTS").unwrap(),
                Atom::new("POSTADDRESS").unwrap()
            ],
            reference: String::new(),
            pattern: "INBOX.%".into()
        }
    );
    // RFC 2088 example.
    match cmd(b"A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\n") {
        Command::Login { username, password } => {
            assert_eq!(username, "FRED FOOBAR");
            assert_eq!(password.expose_secret(), "fat man");
        }
        other => panic!("{other:?}"),
    }
    // RFC 4959.
    match cmd(b"a01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n") {
        Command::Authenticate {
            initial_response: Some(ir),
            ..
        } => {
            assert_eq!(ir.expose_secret(), b"test\0test\0test")
        }
        other => panic!("{other:?}"),
    }
    match cmd(b"a02 AUTHENTICATE EXTERNAL =\r\n") {
        Command::Authenticate {
            initial_response: Some(ir),
            ..
        } => {
            assert!(ir.expose_secret().is_empty())
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        cmd(b"t2 ENABLE CONDSTORE X-GOOD-IDEA\r\n"),
        Command::Enable {
            capabilities: vec![
                Atom::new("CONDSTORE").unwrap(),
                Atom::new("X-GOOD-IDEA").unwrap()
            ]
        }
    );
    assert_eq!(
        cmd(b"a UID MOVE 42:69 foo\r\n"),
        Command::Move {
            uid: true,
            set: range(42, 69),
            mailbox: mb("foo")
        }
    );
    assert_eq!(
        cmd(b"a MOVE 1 foo\r\n"),
        Command::Move {
            uid: false,
            set: range(1, 1),
            mailbox: mb("foo")
        }
    );
    assert_eq!(
        cmd(b"a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\")\r\n"),
        Command::Id {
            parameters: Some(vec![
                ("name".into(), Some("sodr".into())),
                ("version".into(), Some("19.34".into())),
                ("vendor".into(), Some("Pink Floyd Music Limited".into()))
            ])
        }
    );
    assert_eq!(cmd(b"a ID NIL\r\n"), Command::Id { parameters: None });
    assert!(matches!(
        cmd(b"a UID COPY 1:* x\r\n"),
        Command::Copy { uid: true, .. }
    ));
    assert!(matches!(
        cmd(b"a UID STORE 1 FLAGS.SILENT \\Seen $Junk\r\n"),
        Command::Store {
            uid: true,
            silent: true,
            mode: StoreMode::Replace,
            ..
        }
    ));
    assert!(matches!(
        cmd(b"a UID SEARCH UID 1:5\r\n"),
        Command::Search { uid: true, .. }
    ));
    assert!(matches!(
        cmd(b"a SEARCH $\r\n"),
        Command::Search {
            criteria: SearchKey::SequenceSet(SequenceSet::SearchResult),
            ..
        }
    ));
}

#[test]
fn every_search_key() {
    let Command::Search { criteria: SearchKey::And(keys), .. } = cmd(
        b"a SEARCH ALL ANSWERED BCC x BEFORE 1-Jan-2020 BODY y CC z DELETED DRAFT FLAGGED FROM f HEADER X-A b KEYWORD $Junk LARGER 5 NEW OLD ON 2-Feb-2020 RECENT SEEN SENTBEFORE 1-Mar-2020 SENTON 1-Apr-2020 SENTSINCE 1-May-2020 SINCE 1-Jun-2020 SMALLER 9 SUBJECT s TEXT t TO u UID 1:* UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD foo[bar UNSEEN 1,3:4 (OR NOT 1 2 NEW)\r\n",
    ) else {
        panic!()
    };
    assert_eq!(keys.len(), 35);
    assert_eq!(keys[11], SearchKey::Keyword(Keyword::new("$Junk").unwrap()));
}

#[test]
fn grammar_edge_cases_of_the_digest() {
    // 1
    assert_eq!(cmd(b"a1 NOOP\r\n"), Command::Noop);
    // 2, 3: SP is exactly one space.
    assert_eq!(bad(b"a1 NOOP \r\n").offset, 7);
    assert_eq!(bad(b"a1 FETCH 1  (FLAGS)\r\n").offset, 11);
    // 4
    assert_eq!(bad(b"a+ NOOP\r\n").offset, 1);
    assert_eq!(cmd(b"a] NOOP\r\n"), Command::Noop);
    // 5, 6
    assert_eq!(bad(b"a1 FETCH 0 FLAGS\r\n").expected, "non-zero number");
    assert_eq!(bad(b"a1 FETCH 4294967296 FLAGS\r\n").offset, 9);
    // 7
    bad(b"a1 FETCH 1,,2 FLAGS\r\n");
    bad(b"a1 FETCH 1, FLAGS\r\n");
    // 8
    assert!(matches!(
        cmd(b"a1 FETCH *:1 FLAGS\r\n"),
        Command::Fetch { .. }
    ));
    // 9, 10 are semantic (mailbox size), the grammar accepts them.
    cmd(b"a1 FETCH 2:5 FLAGS\r\n");
    cmd(b"a1 UID FETCH 999:* FLAGS\r\n");
    // 11, 12, 13
    assert_eq!(
        bad(b"a1 FETCH 1 BODY.PEEK[MIME]\r\n").expected,
        "part number before MIME"
    );
    cmd(b"a1 FETCH 1 BODY.PEEK[1.MIME]\r\n");
    bad(b"a1 FETCH 1 BODY.PEEK[HEADER.FIELDS ()]\r\n");
    // 14, 15, 16
    cmd(b"a1 FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject)]<0.5>\r\n");
    bad(b"a1 FETCH 1 BODY[1]<1>\r\n");
    bad(b"a1 FETCH 1 BODY.PEEK[]<5.0>\r\n");
    // 18, 19
    assert_eq!(
        cmd(b"a1 SEARCH SUBJECT \"a\\\"b\"\r\n"),
        Command::Search {
            uid: false,
            charset: None,
            criteria: SearchKey::Subject("a\"b".into())
        }
    );
    assert_eq!(bad(b"a1 SEARCH SUBJECT \"a\\b\"\r\n").offset, 21);
    // 20
    assert_eq!(
        cmd(b"a1 SEARCH SUBJECT {0+}\r\n\r\n"),
        Command::Search {
            uid: false,
            charset: None,
            criteria: SearchKey::Subject(String::new())
        }
    );
    // 21: synchronizing literals, also of length 0.
    assert!(matches!(
        cmd(b"a1 LOGIN {5}\r\nfred1 {4}\r\npass\r\n"),
        Command::Login { .. }
    ));
    assert!(matches!(
        cmd(b"a1 LOGIN {0}\r\n {0}\r\n\r\n"),
        Command::Login { .. }
    ));
    // 22, 23
    bad(b"a1 SEARCH OR 1\r\n");
    bad(b"a1 SEARCH ()\r\n");
    assert_eq!(
        cmd(b"a1 SEARCH NOT NOT 1\r\n"),
        Command::Search {
            uid: false,
            charset: None,
            criteria: SearchKey::Not(Box::new(SearchKey::Not(Box::new(SearchKey::SequenceSet(
                range(1, 1)
            )))))
        }
    );
    let one = |x| Box::new(SearchKey::SequenceSet(range(x, x)));
    assert_eq!(
        cmd(b"a1 SEARCH OR OR 1 2 3\r\n"),
        Command::Search {
            uid: false,
            charset: None,
            criteria: SearchKey::Or(Box::new(SearchKey::Or(one(1), one(2))), one(3))
        }
    );
    assert_eq!(
        cmd(b"a1 SEARCH (OR 1 2) NOT 2\r\n"),
        Command::Search {
            uid: false,
            charset: None,
            criteria: SearchKey::And(vec![
                SearchKey::And(vec![SearchKey::Or(one(1), one(2))]),
                SearchKey::Not(one(2))
            ])
        }
    );
    // 24
    bad(b"a1 SEARCH SINCE 1-January-2024\r\n");
    cmd(b"a1 SEARCH SINCE \"01-jan-2024\"\r\n");
    // 25: grammatical; the charset is the server's to refuse with NO.
    assert!(matches!(
        cmd(b"a1 SEARCH CHARSET FOO SUBJECT x\r\n"),
        Command::Search { charset: Some(c), .. } if c == "FOO"
    ));
    // 26, 27
    bad(b"a1 STORE 1 +FLAGS (\\Recent)\r\n");
    assert!(matches!(
        cmd(b"a1 STORE 1 +FLAGS (foo[bar)\r\n"),
        Command::Store { flags, .. } if flags == vec![Flag::Keyword(Keyword::new("foo[bar").unwrap())]
    ));
    bad(b"a1 STORE 1 +FLAGS (foo]bar)\r\n");
    // 28
    assert!(matches!(
        cmd(b"a1 APPEND box \" 1-Jan-2024 10:00:00 +0000\" {1+}\r\nx\r\n"),
        Command::Append { date: Some(_), .. }
    ));
    bad(b"a1 APPEND box \"1-Jan-2024 10:00:00 +0000\" {1+}\r\nx\r\n");
    // 29
    bad(b"a1 CREATE \"&U,BTFw-&ZeVnLIqe-\"\r\n");
    bad(b"a1 CREATE \"&Jjo!\"\r\n");
    assert_eq!(
        cmd(b"a1 CREATE \"a&-b\"\r\n"),
        Command::Create { mailbox: mb("a&b") }
    );
    assert_eq!(
        cmd(b"a1 CREATE \"~peter/mail/&U,BTFw-/&ZeVnLIqe-\"\r\n"),
        Command::Create {
            mailbox: mb("~peter/mail/台北/日本語")
        }
    );
    // 30
    assert_eq!(
        cmd(b"a1 SELECT \"InBoX\"\r\n"),
        Command::Select {
            mailbox: mb("INBOX")
        }
    );
    assert_eq!(
        cmd(b"a1 SELECT inbox\r\n"),
        Command::Select {
            mailbox: mb("INBOX")
        }
    );
    // imaptest `atoms`.
    cmd(b"a1 SELECT !#$$&-'+,-.0123456789:;<=>?@^_`|[}\r\n");
    // NIL in an astring position is the string NIL.
    assert_eq!(
        cmd(b"a1 SELECT NIL\r\n"),
        Command::Select { mailbox: mb("NIL") }
    );
}

#[test]
fn more_errors_with_positions() {
    let e = bad(b"a1 FROB\r\n");
    assert_eq!(
        (e.offset, e.expected, e.tag.as_deref()),
        (3, "command name", Some("a1"))
    );
    assert!(e.to_string().contains("a1"), "{e}");
    assert!(e.to_string().contains("byte 3"), "{e}");
    bad(b"a1 SORT () UTF-8 ALL\r\n");
    bad(b"a1 SORT (SIZE) ALL\r\n");
    bad(b"a1 SORT (REVERSE) UTF-8 ALL\r\n");
    bad(b"a1 STATUS x ()\r\n");
    bad(b"a1 ENABLE\r\n");
    bad(b"a1 LOGIN a\r\n");
    bad(b"a1 SETACL x fred lrQ!\r\n");
    bad(b"a1 LOGIN \"caf\xc3\xa9\" x\r\n");
    bad(b"a1 SELECT caf\xc3\xa9\r\n");
    bad(b"a1 SELECT a\0b\r\n");
    bad(b"a1 LOGIN {3+}\r\na\0b x\r\n");
    bad(b"a1 NOOP\n");
    bad(b"a1 NOOP\r\r\n");
    bad(b"a1 LOGIN a {3}x\r\n");
    bad(b"a1 APPEND x {4294967296}\r\n");
    bad(b"a1 FETCH 1 (FLAGS\r\n");
    bad(b"a1 FETCH 1 BODY[1.2.]\r\n");
    bad(b"a1 SEARCH LARGER 4294967296\r\n");
    bad(b"a1 UID FROB 1\r\n");
    bad(b"\r\n");
    bad(b" a1 NOOP\r\n");
    bad(b"a1 SEARCH 32-Jan-2024\r\n");
}

#[test]
fn pipelined_commands_decode_one_at_a_time() {
    let input = b"a1 NOOP\r\na2 LOGIN {3+}\r\nbob x\r\na3 CAPABILITY\r\n";
    let (first, used) = decode(input).unwrap();
    assert_eq!(first.command, Command::Noop);
    let (second, used2) = decode(&input[used..]).unwrap();
    assert!(matches!(second.command, Command::Login { .. }));
    let (third, _) = decode(&input[used + used2..]).unwrap();
    assert_eq!(third.command, Command::Capability);
}

/// The client encoder's exact output for each command form.
#[test]
fn command_encoder_known_answers() {
    use postroom_imap::Fragment;
    use postroom_imap::command::Tag;
    let enc = |command: Command| {
        let cmd = TaggedCommand {
            tag: Tag::new("t").unwrap(),
            command,
        };
        String::from_utf8(encode_command_bytes(&cmd, LiteralMode::LiteralPlus)).unwrap()
    };
    let table: Vec<(Command, &str)> = vec![
        (Command::Capability, "t CAPABILITY\r\n"),
        (Command::Idle, "t IDLE\r\n"),
        (
            Command::Login {
                username: "fred".into(),
                password: postroom_types::Secret::new("".into()),
            },
            "t LOGIN fred \"\"\r\n",
        ),
        (
            Command::Select {
                mailbox: mb("Entwürfe"),
            },
            "t SELECT Entw&APw-rfe\r\n",
        ),
        (
            Command::Rename {
                from: mb("a b"),
                to: mb("c\"d"),
            },
            "t RENAME \"a b\" \"c\\\"d\"\r\n",
        ),
        (
            Command::List {
                selection: vec![],
                reference: String::new(),
                pattern: "*".into(),
            },
            "t LIST \"\" *\r\n",
        ),
        (
            Command::Status {
                mailbox: mb("INBOX"),
                items: vec![StatusItem::Messages, StatusItem::Unseen],
            },
            "t STATUS INBOX (MESSAGES UNSEEN)\r\n",
        ),
        (
            Command::Append {
                mailbox: mb("INBOX"),
                flags: vec![Flag::Seen, Flag::Keyword(Keyword::new("$Junk").unwrap())],
                date: Some(
                    postroom_types::InternalDate::parse_imap("01-Jan-2024 10:00:00 +0000").unwrap(),
                ),
                message: b"hi".to_vec(),
            },
            "t APPEND INBOX (\\Seen $Junk) \"01-Jan-2024 10:00:00 +0000\" {2+}\r\nhi\r\n",
        ),
        (
            Command::Search {
                uid: true,
                charset: Some("UTF-8".into()),
                criteria: SearchKey::And(vec![
                    SearchKey::Or(
                        Box::new(SearchKey::From("a b".into())),
                        Box::new(SearchKey::Not(Box::new(SearchKey::Seen))),
                    ),
                    SearchKey::Since(date(2024, 1, 5)),
                    SearchKey::And(vec![SearchKey::Larger(10), SearchKey::Uid(range(1, 9))]),
                ]),
            },
            "t UID SEARCH CHARSET UTF-8 OR FROM \"a b\" NOT SEEN SINCE 5-Jan-2024 (LARGER 10 UID 1:9)\r\n",
        ),
        (
            Command::Fetch {
                uid: false,
                set: SequenceSet::Ranges(vec![
                    SeqRange {
                        start: SeqBound::Number(n(1)),
                        end: SeqBound::Star,
                    },
                    SeqRange {
                        start: SeqBound::Number(n(7)),
                        end: SeqBound::Number(n(7)),
                    },
                ]),
                items: FetchItems::List(vec![
                    FetchAttribute::Uid,
                    FetchAttribute::BodySection {
                        peek: true,
                        section: Section {
                            part: vec![n(1), n(2)],
                            text: Some(SectionText::HeaderFieldsNot(vec![
                                "X-A".into(),
                                "x y".into(),
                            ])),
                        },
                        partial: Some((0, n(512))),
                    },
                ]),
            },
            "t FETCH 1:*,7 (UID BODY.PEEK[1.2.HEADER.FIELDS.NOT (X-A \"x y\")]<0.512>)\r\n",
        ),
        (
            Command::Store {
                uid: false,
                set: range(1, 1),
                mode: StoreMode::Remove,
                silent: true,
                flags: vec![],
            },
            "t STORE 1 -FLAGS.SILENT ()\r\n",
        ),
        (
            Command::Sort {
                uid: false,
                criteria: vec![SortCriterion {
                    reverse: true,
                    key: SortKey::Arrival,
                }],
                charset: "US-ASCII".into(),
                search: SearchKey::All,
            },
            "t SORT (REVERSE ARRIVAL) US-ASCII ALL\r\n",
        ),
        (
            Command::SetQuota {
                root: String::new(),
                limits: vec![QuotaLimit {
                    resource: Resource::Message,
                    limit: 1000,
                }],
            },
            "t SETQUOTA \"\" (MESSAGE 1000)\r\n",
        ),
        (
            Command::SetAcl {
                mailbox: mb("INBOX"),
                identifier: "-fred".into(),
                rights: RightsChange::Add("lrs".parse().unwrap()),
            },
            "t SETACL INBOX -fred +lrs\r\n",
        ),
        (
            Command::AclStore {
                mailboxes: vec![mb("INBOX.a"), mb("INBOX.b")],
                identifier: "user=bob".into(),
                rights: RightsChange::Replace("lr".parse().unwrap()),
            },
            "t ACL STORE (INBOX.a INBOX.b) user=bob lr\r\n",
        ),
        (Command::Id { parameters: None }, "t ID NIL\r\n"),
        (
            Command::Authenticate {
                mechanism: Atom::new("PLAIN").unwrap(),
                initial_response: Some(postroom_types::Secret::new(b"\0u\0p".to_vec())),
            },
            "t AUTHENTICATE PLAIN AHUAcA==\r\n",
        ),
    ];
    for (command, expected) in table {
        assert_eq!(enc(command), expected);
    }
    // Synchronizing literals split into fragments; LITERAL- only up to 4096.
    let big = TaggedCommand {
        tag: Tag::new("t").unwrap(),
        command: Command::Append {
            mailbox: mb("x"),
            flags: vec![],
            date: None,
            message: vec![b'a'; 5000],
        },
    };
    let f = postroom_imap::encode_command(&big, LiteralMode::LiteralMinus);
    assert_eq!(f[0], Fragment::Line(b"t APPEND x {5000}\r\n".to_vec()));
    assert!(matches!(&f[1], Fragment::Literal(d) if d.len() == 5000));
    let small = TaggedCommand {
        tag: Tag::new("t").unwrap(),
        command: Command::Append {
            mailbox: mb("x"),
            flags: vec![],
            date: None,
            message: vec![b'a'; 10],
        },
    };
    assert_eq!(
        postroom_imap::encode_command(&small, LiteralMode::LiteralMinus).len(),
        1
    );
}

#[test]
fn invalid_modified_utf7_is_a_distinct_error() {
    // RFC 3501 §5.1.3: well-formed commands whose mailbox name is not
    // valid modified UTF-7 are answered NO, so the error says so.
    let o = CommandParseOptions::default();
    for input in [
        &b"a CREATE \"&Jjo!\"\r\n"[..],
        b"a CREATE &Jjo\r\n",
        b"a SELECT \"&U,BTFw-&ZeVnLIqe-\"\r\n",
        b"a EXAMINE \"&AGE-\"\r\n",
        b"a COPY 1 \"\x7f\"\r\n",
        b"a APPEND {3+}\r\n\xff\xfe\xfd {1+}\r\nx\r\n",
    ] {
        let e = parse_command(input, &o).unwrap_err();
        assert!(
            e.is_invalid_mailbox_name(),
            "{:?}: {e}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(e.tag.as_deref(), Some("a"));
    }
    for input in [
        &b"a CREATE\r\n"[..],
        b"a CREATE \"x\r\n",
        b"a SELECT (x)\r\n",
    ] {
        let e = parse_command(input, &o).unwrap_err();
        assert!(!e.is_invalid_mailbox_name(), "{e}");
    }
    // Valid names, including ones that need decoding.
    for (input, name) in [
        (&b"a CREATE \"a&-b\"\r\n"[..], "a&b"),
        (b"a CREATE p&AOQA5A-\r\n", "p\u{e4}\u{e4}"),
        (b"a CREATE inbox\r\n", "INBOX"),
        (b"a CREATE {5+}\r\niNbOx\r\n", "INBOX"),
    ] {
        match parse_command(input, &o).unwrap().command {
            Command::Create { mailbox } => assert_eq!(mailbox.as_str(), name),
            other => panic!("{other:?}"),
        }
    }
}
