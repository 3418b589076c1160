//! proptest: arbitrary commands and responses survive encode → parse, in
//! both directions, and chunked feeding of the encoding gives the same.

use std::num::NonZeroU32;

use postroom_imap::command::{
    Atom, Command, FetchAttribute, FetchItems, RightsChange, Section, SectionText, SortCriterion,
    SortKey, StatusItem, StoreMode, Tag, TaggedCommand, ThreadAlgorithm,
};
use postroom_imap::response::{
    Code, Continuation, Data, FetchItem, ListData, ListExtended, NamespaceDescription, Response,
    StatusKind, StatusResponse,
};
use postroom_imap::{
    CommandParseOptions, LiteralMode, ResponseParseOptions, decode_command, decode_response,
    encode_command_bytes, encode_response,
};
use postroom_types::chrono::{FixedOffset, NaiveDate, TimeZone};
use postroom_types::{
    AclEntry, Address, BodyExtension, BodyFields, BodyStructure, Disposition, Envelope,
    ExtensionTail, Flag, FlagFetch, FlagPerm, InternalDate, Keyword, LanguageTail, Limits,
    LocationTail, MailboxName, MultipartExtension, QuotaLimit, QuotaUsage, Resource, Rights,
    SearchKey, SeqBound, SeqRange, SequenceSet, SinglePart, SinglePartExtension, SinglePartKind,
    Thread, ThreadToken,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9]{1,8}",
        "[ -~]{0,12}",
        "[^\u{0}]{0,8}",
        Just(String::new()),
        Just("NIL".to_string()),
        Just("a\r\nb".to_string()),
    ]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![text().prop_map(String::into_bytes), vec(1u8..=255, 0..40),]
}

fn atom_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9$_.+-][A-Za-z0-9$_.+=\\[-]{0,8}"
}

fn atom() -> impl Strategy<Value = Atom> {
    atom_text().prop_map(|s| Atom::new(s).unwrap())
}

fn upper_atom() -> impl Strategy<Value = Atom> {
    "[A-Z][A-Z0-9-]{0,8}".prop_map(|s| Atom::new(s).unwrap())
}

fn nz() -> impl Strategy<Value = NonZeroU32> {
    prop_oneof![1u32..20, 1u32..=u32::MAX].prop_map(|n| NonZeroU32::new(n).unwrap())
}

fn mailbox() -> impl Strategy<Value = MailboxName> {
    prop_oneof![
        Just(MailboxName::new("INBOX")),
        "[a-zA-Z0-9./]{1,10}".prop_map(MailboxName::new),
        "[^\u{0}]{0,8}".prop_map(MailboxName::new),
    ]
}

fn keyword() -> impl Strategy<Value = Keyword> {
    "[A-Za-z$][A-Za-z0-9_\\[]{0,6}".prop_map(|s| Keyword::new(&s).unwrap())
}

fn flag() -> impl Strategy<Value = Flag> {
    prop_oneof![
        Just(Flag::Answered),
        Just(Flag::Flagged),
        Just(Flag::Deleted),
        Just(Flag::Seen),
        Just(Flag::Draft),
        keyword().prop_map(Flag::Keyword),
        "X[A-Za-z]{1,6}".prop_map(Flag::Extension),
    ]
}

fn seq_bound() -> impl Strategy<Value = SeqBound> {
    prop_oneof![nz().prop_map(SeqBound::Number), Just(SeqBound::Star)]
}

fn seq_set() -> impl Strategy<Value = SequenceSet> {
    prop_oneof![
        9 => vec((seq_bound(), seq_bound()), 1..4).prop_map(|v| SequenceSet::Ranges(
            v.into_iter().map(|(start, end)| SeqRange { start, end }).collect()
        )),
        1 => Just(SequenceSet::SearchResult),
    ]
}

fn uid_set() -> impl Strategy<Value = SequenceSet> {
    vec((nz(), nz()), 1..4).prop_map(|v| {
        SequenceSet::Ranges(
            v.into_iter()
                .map(|(a, b)| SeqRange {
                    start: SeqBound::Number(a),
                    end: SeqBound::Number(b),
                })
                .collect(),
        )
    })
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (1000i32..9999, 1u32..=12, 1u32..=28)
        .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

fn date_time() -> impl Strategy<Value = InternalDate> {
    (
        date(),
        0u32..24,
        0u32..60,
        0u32..60,
        -(14 * 60)..=(14 * 60i32),
    )
        .prop_map(|(d, h, m, s, z)| {
            let off = FixedOffset::east_opt(z * 60).unwrap();
            InternalDate::from(
                off.from_local_datetime(&d.and_hms_opt(h, m, s).unwrap())
                    .unwrap(),
            )
        })
}

fn rights() -> impl Strategy<Value = Rights> {
    "[a-zA-Z0-9]{0,6}".prop_map(|s| s.parse().unwrap())
}

fn search_key() -> impl Strategy<Value = SearchKey> {
    let leaf = prop_oneof![
        Just(SearchKey::All),
        Just(SearchKey::Answered),
        Just(SearchKey::Deleted),
        Just(SearchKey::Draft),
        Just(SearchKey::Flagged),
        Just(SearchKey::New),
        Just(SearchKey::Old),
        Just(SearchKey::Recent),
        Just(SearchKey::Seen),
        Just(SearchKey::Unanswered),
        Just(SearchKey::Undeleted),
        Just(SearchKey::Undraft),
        Just(SearchKey::Unflagged),
        Just(SearchKey::Unseen),
        text().prop_map(SearchKey::Bcc),
        text().prop_map(SearchKey::Body),
        text().prop_map(SearchKey::Cc),
        text().prop_map(SearchKey::From),
        text().prop_map(SearchKey::Subject),
        text().prop_map(SearchKey::Text),
        text().prop_map(SearchKey::To),
        (text(), text()).prop_map(|(a, b)| SearchKey::Header(a, b)),
        keyword().prop_map(SearchKey::Keyword),
        keyword().prop_map(SearchKey::Unkeyword),
        any::<u32>().prop_map(SearchKey::Larger),
        any::<u32>().prop_map(SearchKey::Smaller),
        date().prop_map(SearchKey::Before),
        date().prop_map(SearchKey::On),
        date().prop_map(SearchKey::Since),
        date().prop_map(SearchKey::SentBefore),
        date().prop_map(SearchKey::SentOn),
        date().prop_map(SearchKey::SentSince),
        seq_set().prop_map(SearchKey::Uid),
        seq_set().prop_map(SearchKey::SequenceSet),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| SearchKey::Not(Box::new(k))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| SearchKey::Or(Box::new(a), Box::new(b))),
            vec(inner, 1..4).prop_map(SearchKey::And),
        ]
    })
}

fn section() -> impl Strategy<Value = Section> {
    (vec(nz(), 0..3), 0..6usize, vec(text(), 1..3)).prop_map(|(part, t, names)| {
        let text = match t {
            0 => None,
            1 => Some(SectionText::Header),
            2 => Some(SectionText::Text),
            3 => Some(SectionText::HeaderFields(names)),
            4 => Some(SectionText::HeaderFieldsNot(names)),
            _ if part.is_empty() => None,
            _ => Some(SectionText::Mime),
        };
        Section { part, text }
    })
}

fn fetch_attribute() -> impl Strategy<Value = FetchAttribute> {
    prop_oneof![
        Just(FetchAttribute::Envelope),
        Just(FetchAttribute::Flags),
        Just(FetchAttribute::InternalDate),
        Just(FetchAttribute::Rfc822),
        Just(FetchAttribute::Rfc822Header),
        Just(FetchAttribute::Rfc822Size),
        Just(FetchAttribute::Rfc822Text),
        Just(FetchAttribute::Body),
        Just(FetchAttribute::BodyStructure),
        Just(FetchAttribute::Uid),
        (any::<bool>(), section(), option::of((any::<u32>(), nz()))).prop_map(
            |(peek, section, partial)| FetchAttribute::BodySection {
                peek,
                section,
                partial
            }
        ),
    ]
}

fn rights_change() -> impl Strategy<Value = RightsChange> {
    prop_oneof![
        rights().prop_map(RightsChange::Replace),
        rights().prop_map(RightsChange::Add),
        rights().prop_map(RightsChange::Remove),
    ]
}

fn charset() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Z0-9-]{1,10}", "[a-z ]{0,6}"]
}

fn command() -> impl Strategy<Value = Command> {
    let simple = prop_oneof![
        Just(Command::Capability),
        Just(Command::Noop),
        Just(Command::Logout),
        Just(Command::StartTls),
        Just(Command::Check),
        Just(Command::Close),
        Just(Command::Unselect),
        Just(Command::Expunge),
        Just(Command::Namespace),
        Just(Command::Idle),
        (upper_atom(), option::of(vec(any::<u8>(), 0..20))).prop_map(|(mechanism, ir)| {
            Command::Authenticate {
                mechanism,
                initial_response: ir.map(postroom_types::Secret::new),
            }
        }),
        (text(), text()).prop_map(|(username, p)| Command::Login {
            username,
            password: postroom_types::Secret::new(p)
        }),
        mailbox().prop_map(|mailbox| Command::Select { mailbox }),
        mailbox().prop_map(|mailbox| Command::Examine { mailbox }),
        mailbox().prop_map(|mailbox| Command::Create { mailbox }),
        mailbox().prop_map(|mailbox| Command::Delete { mailbox }),
        (mailbox(), mailbox()).prop_map(|(from, to)| Command::Rename { from, to }),
        mailbox().prop_map(|mailbox| Command::Subscribe { mailbox }),
        mailbox().prop_map(|mailbox| Command::Unsubscribe { mailbox }),
        (
            vec(upper_atom(), 0..3),
            text(),
            prop_oneof![text(), "[a-z%*.]{1,6}"]
        )
            .prop_map(|(selection, reference, pattern)| Command::List {
                selection,
                reference,
                pattern
            }),
        (text(), text()).prop_map(|(reference, pattern)| Command::Lsub { reference, pattern }),
        (
            mailbox(),
            vec(prop::sample::select(StatusItem::ALL.to_vec()), 1..4)
        )
            .prop_map(|(mailbox, items)| Command::Status { mailbox, items }),
    ];
    let selected = prop_oneof![
        (
            mailbox(),
            vec(flag(), 0..3),
            option::of(date_time()),
            vec(1u8..=255, 0..64)
        )
            .prop_map(|(mailbox, flags, date, message)| Command::Append {
                mailbox,
                flags,
                date,
                message
            }),
        uid_set().prop_map(|uids| Command::UidExpunge { uids }),
        (
            any::<bool>(),
            option::of(charset().prop_filter("astring", |s| !s.is_empty())),
            search_key()
        )
            .prop_map(|(uid, charset, criteria)| Command::Search {
                uid,
                charset,
                criteria
            }),
        (
            any::<bool>(),
            seq_set(),
            prop_oneof![
                Just(FetchItems::All),
                Just(FetchItems::Fast),
                Just(FetchItems::Full),
                vec(fetch_attribute(), 1..5).prop_map(FetchItems::List)
            ]
        )
            .prop_map(|(uid, set, items)| Command::Fetch { uid, set, items }),
        (
            any::<bool>(),
            seq_set(),
            prop::sample::select(vec![StoreMode::Replace, StoreMode::Add, StoreMode::Remove]),
            any::<bool>(),
            vec(flag(), 0..4)
        )
            .prop_map(|(uid, set, mode, silent, flags)| Command::Store {
                uid,
                set,
                mode,
                silent,
                flags
            }),
        (any::<bool>(), seq_set(), mailbox()).prop_map(|(uid, set, mailbox)| Command::Copy {
            uid,
            set,
            mailbox
        }),
        (any::<bool>(), seq_set(), mailbox()).prop_map(|(uid, set, mailbox)| Command::Move {
            uid,
            set,
            mailbox
        }),
        (
            any::<bool>(),
            vec(
                (any::<bool>(), prop::sample::select(SortKey::ALL.to_vec())),
                1..4
            ),
            charset(),
            search_key()
        )
            .prop_map(|(uid, c, charset, search)| Command::Sort {
                uid,
                criteria: c
                    .into_iter()
                    .map(|(reverse, key)| SortCriterion { reverse, key })
                    .collect(),
                charset,
                search
            }),
        (
            any::<bool>(),
            prop_oneof![
                Just(ThreadAlgorithm::OrderedSubject),
                Just(ThreadAlgorithm::References),
                "X[A-Z]{1,5}".prop_map(|a| ThreadAlgorithm::Other(Atom::new(a).unwrap()))
            ],
            charset(),
            search_key()
        )
            .prop_map(|(uid, algorithm, charset, search)| Command::Thread {
                uid,
                algorithm,
                charset,
                search
            }),
    ];
    let ext = prop_oneof![
        text().prop_map(|root| Command::GetQuota { root }),
        mailbox().prop_map(|mailbox| Command::GetQuotaRoot { mailbox }),
        (text(), vec((upper_atom(), 0u64..=i64::MAX as u64), 0..3)).prop_map(|(root, l)| {
            Command::SetQuota {
                root,
                limits: l
                    .into_iter()
                    .map(|(a, limit)| QuotaLimit {
                        resource: Resource::from_atom(a.as_str()),
                        limit,
                    })
                    .collect(),
            }
        }),
        (mailbox(), text(), rights_change()).prop_map(|(mailbox, identifier, rights)| {
            Command::SetAcl {
                mailbox,
                identifier,
                rights,
            }
        }),
        (mailbox(), text()).prop_map(|(mailbox, identifier)| Command::DeleteAcl {
            mailbox,
            identifier
        }),
        mailbox().prop_map(|mailbox| Command::GetAcl { mailbox }),
        (mailbox(), text()).prop_map(|(mailbox, identifier)| Command::ListRights {
            mailbox,
            identifier
        }),
        mailbox().prop_map(|mailbox| Command::MyRights { mailbox }),
        (vec(mailbox(), 1..3), text(), rights_change()).prop_map(
            |(mailboxes, identifier, rights)| Command::AclStore {
                mailboxes,
                identifier,
                rights
            }
        ),
        (vec(mailbox(), 1..3), text()).prop_map(|(mailboxes, identifier)| Command::AclDelete {
            mailboxes,
            identifier
        }),
        (vec(mailbox(), 1..3), vec((text(), rights()), 0..3))
            .prop_map(|(mailboxes, entries)| Command::AclSet { mailboxes, entries }),
        vec(atom(), 1..4).prop_map(|capabilities| Command::Enable { capabilities }),
        option::of(vec((text(), option::of(text())), 1..3))
            .prop_map(|parameters| Command::Id { parameters }),
    ];
    prop_oneof![simple, selected, ext]
}

fn tag() -> impl Strategy<Value = Tag> {
    "[A-Za-z0-9.:\\]]{1,6}".prop_map(|s| Tag::new(s).unwrap())
}

fn resp_text() -> impl Strategy<Value = String> {
    "([a-zA-Z0-9,.!?()-][ -Z^-~]{0,20})?"
}

fn code() -> impl Strategy<Value = Code> {
    prop_oneof![
        Just(Code::Alert),
        Just(Code::Parse),
        Just(Code::ReadOnly),
        Just(Code::ReadWrite),
        Just(Code::TryCreate),
        Just(Code::UidNotSticky),
        Just(Code::OverQuota),
        Just(Code::TooBig),
        Just(Code::AuthenticationFailed),
        Just(Code::NoPerm),
        Just(Code::NonExistent),
        vec(text(), 0..3).prop_map(Code::BadCharset),
        vec(atom(), 1..4).prop_map(Code::Capability),
        vec(
            prop_oneof![flag().prop_map(FlagPerm::Flag), Just(FlagPerm::AnyKeyword)],
            0..4
        )
        .prop_map(Code::PermanentFlags),
        nz().prop_map(Code::UidNext),
        nz().prop_map(Code::UidValidity),
        nz().prop_map(Code::Unseen),
        (nz(), uid_set()).prop_map(|(uid_validity, uids)| Code::AppendUid { uid_validity, uids }),
        (nz(), uid_set(), uid_set()).prop_map(|(uid_validity, source, destination)| {
            Code::CopyUid {
                uid_validity,
                source,
                destination,
            }
        }),
        rights().prop_map(Code::MyRights),
        ("X-[A-Z]{1,6}", option::of("[ -\\\\^-~]{0,10}")).prop_map(|(n, text)| Code::Other {
            name: Atom::new(n).unwrap(),
            text
        }),
    ]
}

fn address() -> impl Strategy<Value = Address> {
    (
        option::of(bytes()),
        option::of(bytes()),
        option::of(bytes()),
        option::of(bytes()),
    )
        .prop_map(|(name, adl, mailbox, host)| Address {
            name,
            adl,
            mailbox,
            host,
        })
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (
        option::of(bytes()),
        option::of(bytes()),
        vec(vec(address(), 0..3), 6),
        option::of(bytes()),
        option::of(bytes()),
    )
        .prop_map(|(date, subject, mut l, in_reply_to, message_id)| Envelope {
            date,
            subject,
            bcc: l.pop().unwrap(),
            cc: l.pop().unwrap(),
            to: l.pop().unwrap(),
            reply_to: l.pop().unwrap(),
            sender: l.pop().unwrap(),
            from: l.pop().unwrap(),
            in_reply_to,
            message_id,
        })
}

/// Parameter values are bytes: 8-bit ones (a raw `ö` in a file name) go
/// out as literals and come back unchanged (RFC 3501 §4.3).
fn params() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    vec(
        (
            text(),
            prop_oneof![text().prop_map(String::into_bytes), vec(1u8..=255, 0..8),],
        ),
        0..3,
    )
}

fn body_extension() -> impl Strategy<Value = BodyExtension> {
    prop_oneof![
        option::of(text()).prop_map(BodyExtension::NString),
        any::<u32>().prop_map(BodyExtension::Number)
    ]
    .prop_recursive(3, 12, 3, |inner| {
        vec(inner, 1..3).prop_map(BodyExtension::List)
    })
}

fn ext_tail() -> impl Strategy<Value = Option<ExtensionTail>> {
    option::of(
        (
            option::of((text(), params()).prop_map(|(kind, params)| Disposition { kind, params })),
            option::of(
                (
                    vec(text(), 0..3),
                    option::of((option::of(text()), vec(body_extension(), 0..3)).prop_map(
                        |(location, extensions)| LocationTail {
                            location,
                            extensions,
                        },
                    )),
                )
                    .prop_map(|(languages, location)| LanguageTail {
                        languages,
                        location,
                    }),
            ),
        )
            .prop_map(|(disposition, language)| ExtensionTail {
                disposition,
                language,
            }),
    )
}

fn fields() -> impl Strategy<Value = BodyFields> {
    (
        params(),
        option::of(text()),
        option::of(text()),
        text(),
        any::<u32>(),
    )
        .prop_map(|(params, id, description, encoding, octets)| BodyFields {
            params,
            id,
            description,
            encoding,
            octets,
        })
}

fn body_structure(extensions: bool) -> impl Strategy<Value = BodyStructure> {
    let single_ext = move || {
        option::of(
            (option::of(text()), ext_tail())
                .prop_map(|(md5, tail)| SinglePartExtension { md5, tail }),
        )
        .prop_map(move |e| if extensions { e } else { None })
    };
    let leaf = (
        prop_oneof![
            Just(("TEXT".to_string(), "PLAIN".to_string())),
            ("[a-z]{1,6}", "[a-z]{1,6}")
        ],
        fields(),
        any::<u32>(),
        single_ext(),
    )
        .prop_filter("not message/rfc822", |((t, s), ..)| {
            !(t.eq_ignore_ascii_case("message") && s.eq_ignore_ascii_case("rfc822"))
        })
        .prop_map(|((media_type, media_subtype), fields, lines, extension)| {
            let kind = if media_type.eq_ignore_ascii_case("TEXT") {
                SinglePartKind::Text { lines }
            } else {
                SinglePartKind::Basic
            };
            BodyStructure::Single {
                part: SinglePart {
                    media_type,
                    media_subtype,
                    fields,
                    kind,
                },
                extension,
            }
        });
    leaf.prop_recursive(4, 16, 3, move |inner| {
        prop_oneof![
            (
                vec(inner.clone(), 1..3),
                "[a-z]{1,6}",
                option::of(
                    (params(), ext_tail())
                        .prop_map(|(params, tail)| MultipartExtension { params, tail })
                )
            )
                .prop_map(move |(parts, subtype, extension)| {
                    BodyStructure::Multipart {
                        parts,
                        subtype,
                        extension: if extensions { extension } else { None },
                    }
                }),
            (inner, envelope(), fields(), any::<u32>()).prop_map(
                move |(body, envelope, fields, lines)| {
                    BodyStructure::Single {
                        part: SinglePart {
                            media_type: "MESSAGE".into(),
                            media_subtype: "RFC822".into(),
                            fields,
                            kind: SinglePartKind::Message {
                                envelope: Box::new(envelope),
                                body: Box::new(body),
                                lines,
                            },
                        },
                        extension: None,
                    }
                }
            ),
        ]
    })
}

fn fetch_item() -> impl Strategy<Value = FetchItem> {
    prop_oneof![
        vec(
            prop_oneof![flag().prop_map(FlagFetch::Flag), Just(FlagFetch::Recent)],
            0..4
        )
        .prop_map(FetchItem::Flags),
        envelope().prop_map(|e| FetchItem::Envelope(std::sync::Arc::new(e))),
        date_time().prop_map(FetchItem::InternalDate),
        option::of(bytes()).prop_map(FetchItem::Rfc822),
        option::of(bytes()).prop_map(FetchItem::Rfc822Header),
        option::of(bytes()).prop_map(FetchItem::Rfc822Text),
        any::<u32>().prop_map(FetchItem::Rfc822Size),
        body_structure(false).prop_map(|b| FetchItem::Body(Box::new(b))),
        body_structure(true).prop_map(|b| FetchItem::BodyStructure(Box::new(b))),
        (section(), option::of(any::<u32>()), option::of(bytes())).prop_map(
            |(section, origin, data)| FetchItem::BodySection {
                section,
                origin,
                data
            }
        ),
        nz().prop_map(FetchItem::Uid),
    ]
}

fn thread() -> impl Strategy<Value = Thread> {
    // Random parent choices build a forest; normalise through tokens.
    vec((any::<prop::sample::Index>(), any::<bool>(), nz()), 0..20).prop_map(|spec| {
        let mut t = Thread::new();
        let mut ids = Vec::new();
        for (parent, root, n) in spec {
            let id = if root || ids.is_empty() {
                t.add_root(Some(n.get()))
            } else {
                t.add_child(ids[parent.index(ids.len())], Some(n.get()))
            };
            ids.push(id);
        }
        Thread::from_tokens(t.tokens()).unwrap()
    })
}

fn delimiter() -> impl Strategy<Value = Option<char>> {
    option::of(
        prop::char::range('\u{1}', '\u{7f}').prop_filter("no CR/LF", |c| *c != '\r' && *c != '\n'),
    )
}

fn list_data() -> impl Strategy<Value = ListData> {
    (
        vec(atom(), 0..3),
        delimiter(),
        mailbox(),
        vec(
            prop_oneof![
                vec((text(), rights()), 0..3).prop_map(|v| ListExtended::Acl(
                    v.into_iter()
                        .map(|(identifier, rights)| AclEntry { identifier, rights })
                        .collect()
                )),
                rights().prop_map(ListExtended::MyRights)
            ],
            0..3,
        ),
    )
        .prop_map(|(attributes, delimiter, mailbox, extended)| ListData {
            attributes,
            delimiter,
            mailbox,
            extended,
        })
}

fn namespaces() -> impl Strategy<Value = Vec<NamespaceDescription>> {
    vec(
        (text(), delimiter(), vec((text(), vec(text(), 1..3)), 0..2)).prop_map(
            |(prefix, delimiter, extensions)| NamespaceDescription {
                prefix,
                delimiter,
                extensions,
            },
        ),
        0..3,
    )
}

fn data() -> impl Strategy<Value = Data> {
    prop_oneof![
        vec(atom(), 1..4).prop_map(Data::Capability),
        list_data().prop_map(Data::List),
        list_data().prop_map(|mut l| {
            l.extended.clear();
            Data::Lsub(l)
        }),
        (
            mailbox(),
            vec(
                (
                    prop::sample::select(StatusItem::ALL.to_vec()),
                    0u64..=i64::MAX as u64
                ),
                0..4
            )
        )
            .prop_map(|(mailbox, items)| Data::Status { mailbox, items }),
        vec(nz(), 0..6).prop_map(Data::Search),
        vec(nz(), 0..6).prop_map(Data::Sort),
        vec(flag(), 0..5).prop_map(Data::Flags),
        any::<u32>().prop_map(Data::Exists),
        any::<u32>().prop_map(Data::Recent),
        nz().prop_map(Data::Expunge),
        (nz(), vec(fetch_item(), 1..4)).prop_map(|(seq, items)| Data::Fetch { seq, items }),
        (namespaces(), namespaces(), namespaces()).prop_map(|(personal, other, shared)| {
            Data::Namespace {
                personal,
                other,
                shared,
            }
        }),
        thread().prop_map(Data::Thread),
        (
            text(),
            vec(
                (upper_atom(), 0u64..=i64::MAX as u64, 0u64..=i64::MAX as u64),
                0..3
            )
        )
            .prop_map(|(root, r)| {
                Data::Quota {
                    root,
                    resources: Some(
                        r.into_iter()
                            .map(|(a, usage, limit)| QuotaUsage {
                                resource: Resource::from_atom(a.as_str()),
                                usage,
                                limit,
                            })
                            .collect(),
                    ),
                }
            }),
        (mailbox(), vec(text(), 0..3))
            .prop_map(|(mailbox, roots)| Data::QuotaRoot { mailbox, roots }),
        (mailbox(), vec((text(), rights()), 0..3)).prop_map(|(mailbox, e)| Data::Acl {
            mailbox,
            entries: e
                .into_iter()
                .map(|(identifier, rights)| AclEntry { identifier, rights })
                .collect()
        }),
        (mailbox(), text(), rights(), vec(rights(), 0..3)).prop_map(
            |(mailbox, identifier, required, optional)| {
                Data::ListRights {
                    mailbox,
                    identifier,
                    required,
                    optional,
                }
            }
        ),
        (mailbox(), text(), rights(), vec(rights(), 0..3)).prop_map(
            |(mailbox, identifier, required, optional)| {
                Data::RightsInfo {
                    mailbox,
                    identifier,
                    required,
                    optional,
                }
            }
        ),
        (mailbox(), rights()).prop_map(|(mailbox, rights)| Data::MyRights { mailbox, rights }),
        vec(atom(), 0..3).prop_map(Data::Enabled),
        option::of(vec((text(), option::of(text())), 1..3)).prop_map(Data::Id),
        (mailbox(), "[a-zA-Z0-9][ -~]{0,10}")
            .prop_map(|(mailbox, text)| Data::AclFailed { mailbox, text }),
    ]
}

fn response() -> impl Strategy<Value = Response> {
    let kind = prop::sample::select(vec![StatusKind::Ok, StatusKind::No, StatusKind::Bad]);
    let untagged_kind = prop::sample::select(vec![
        StatusKind::Ok,
        StatusKind::No,
        StatusKind::Bad,
        StatusKind::PreAuth,
        StatusKind::Bye,
    ]);
    prop_oneof![
        (tag(), kind, option::of(code()), resp_text()).prop_map(|(tag, kind, code, text)| {
            Response::Status(StatusResponse {
                tag: Some(tag),
                kind,
                code,
                text,
            })
        }),
        (untagged_kind, option::of(code()), resp_text()).prop_map(|(kind, code, text)| {
            Response::Status(StatusResponse {
                tag: None,
                kind,
                code,
                text,
            })
        }),
        (option::of(code()), resp_text())
            .prop_map(|(code, text)| Response::Continuation(Continuation { code, text })),
        data().prop_map(Response::Data),
    ]
}

fn chunked<T: PartialEq + std::fmt::Debug>(
    wire: &[u8],
    decode: impl Fn(&[u8]) -> Result<(T, usize), postroom_imap::error::DecodeError>,
    chunk: usize,
) -> T {
    // Feeding in chunks: every shorter prefix is Incomplete, the full
    // input decodes.
    let mut end = 0;
    loop {
        end = (end + chunk).min(wire.len());
        match decode(&wire[..end]) {
            Ok((v, used)) => {
                assert_eq!(used, wire.len());
                return v;
            }
            Err(postroom_imap::error::DecodeError::Incomplete) if end < wire.len() => {}
            Err(e) => panic!("{e} at {end}"),
        }
    }
}

/// Runs a property on a thread with a large stack: the nested strategies
/// (body structures inside fetch responses) need more than the 2 MiB of a
/// test thread in debug builds to *generate* values. The code under test
/// does not recurse.
fn run<S: Strategy>(
    strategy: impl FnOnce() -> S + Send + 'static,
    test: impl Fn(S::Value) -> Result<(), TestCaseError> + Send + 'static,
) where
    S::Value: std::fmt::Debug,
{
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let cases = std::env::var("PROPTEST_CASES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(512);
            let config = ProptestConfig {
                cases,
                ..ProptestConfig::default()
            };
            let mut runner = proptest::test_runner::TestRunner::new(config);
            if let Err(e) = runner.run(&strategy(), test) {
                panic!("{e}");
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn commands_round_trip() {
    run(
        || (tag(), command(), any::<bool>(), 1usize..64),
        |(tag, command, plus, chunk)| {
            let cmd = TaggedCommand { tag, command };
            let mode = if plus {
                LiteralMode::LiteralPlus
            } else {
                LiteralMode::Sync
            };
            let wire = encode_command_bytes(&cmd, mode);
            let decode = |b: &[u8]| {
                decode_command(
                    b,
                    &Limits::unlimited_for_trusted_peer(),
                    &CommandParseOptions::default(),
                )
            };
            let back = decode(&wire).map_err(|e| {
                TestCaseError::fail(format!("{e}: {:?}", String::from_utf8_lossy(&wire)))
            })?;
            prop_assert_eq!(&back.0, &cmd, "{:?}", String::from_utf8_lossy(&wire));
            prop_assert_eq!(back.1, wire.len());
            prop_assert_eq!(chunked(&wire, decode, chunk), cmd);
            Ok(())
        },
    );
}

#[test]
fn responses_round_trip() {
    run(
        || (response(), 1usize..64),
        |(r, chunk)| {
            let mut wire = Vec::new();
            encode_response(&r, &mut wire);
            let decode = |b: &[u8]| {
                decode_response(b, &Limits::imap_client(), &ResponseParseOptions::default())
            };
            let back = decode(&wire).map_err(|e| {
                TestCaseError::fail(format!("{e}: {:?}", String::from_utf8_lossy(&wire)))
            })?;
            prop_assert_eq!(&back.0, &r, "{:?}", String::from_utf8_lossy(&wire));
            prop_assert_eq!(chunked(&wire, decode, chunk), r);
            Ok(())
        },
    );
}

#[test]
fn parsed_commands_reencode_to_the_same_command() {
    run(
        || vec(any::<u8>(), 0..200),
        |input| {
            // Arbitrary bytes never panic; whatever parses re-encodes to itself.
            let opts = CommandParseOptions::default();
            if let Ok((cmd, _)) = decode_command(&input, &Limits::imap_server(), &opts) {
                let wire = encode_command_bytes(&cmd, LiteralMode::LiteralPlus);
                let (again, _) =
                    decode_command(&wire, &Limits::unlimited_for_trusted_peer(), &opts).unwrap();
                prop_assert_eq!(again, cmd);
            }
            Ok(())
        },
    );
}

#[test]
fn parsed_responses_reencode_to_the_same_response() {
    run(
        || {
            vec(
                prop_oneof![Just(b'('), Just(b')'), Just(b' '), Just(b'"'), any::<u8>()],
                0..120,
            )
        },
        |body| {
            let mut input = b"* ".to_vec();
            input.extend_from_slice(&body);
            input.extend_from_slice(b"\r\n");
            let o = ResponseParseOptions::lenient();
            if let Ok((r, _)) = decode_response(&input, &Limits::imap_client(), &o) {
                let mut wire = Vec::new();
                encode_response(&r, &mut wire);
                let (again, _) = decode_response(&wire, &Limits::imap_client(), &o).unwrap();
                prop_assert_eq!(again, r);
            }
            Ok(())
        },
    );
}

#[test]
fn thread_tokens_are_used() {
    let t = Thread::from_tokens([
        ThreadToken::Open,
        ThreadToken::Message(NonZeroU32::new(1).unwrap()),
        ThreadToken::Close,
    ])
    .unwrap();
    let mut wire = Vec::new();
    encode_response(&Response::Data(Data::Thread(t)), &mut wire);
    assert_eq!(wire, b"* THREAD (1)\r\n");
}
