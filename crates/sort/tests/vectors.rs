//! Known-answer tests: every vector of the RFC 5256 digest (RFC examples,
//! Dovecot imaptest thread/sort scripts, Cyrus cassandane Thread tests, and
//! the digest's own T1–T5, SS, SD, SA, SZ and base-subject vectors).

use postroom_sort::{
    KeyRecord, RawMessage, SortCriterion, SortKey, ThreadAlgorithm, parse_date, sort, thread,
};

/// One test message; `None` headers are absent.
#[derive(Clone, Default)]
struct M {
    internal: i64,
    size: u64,
    date: Option<&'static str>,
    subject: Option<&'static str>,
    from: Option<&'static str>,
    to: Option<&'static str>,
    cc: Option<&'static str>,
    id: Option<&'static str>,
    irt: Option<&'static str>,
    refs: Option<&'static str>,
}

fn t(s: &str) -> i64 {
    parse_date(s.as_bytes()).unwrap_or_else(|| panic!("bad test date {s}"))
}

fn keys(msgs: &[M]) -> Vec<KeyRecord> {
    msgs.iter()
        .enumerate()
        .map(|(i, m)| {
            KeyRecord::from_raw(&RawMessage {
                number: i as u32 + 1,
                internal_date: m.internal,
                size: m.size,
                date: m.date.map(str::as_bytes),
                subject: m.subject.map(str::as_bytes),
                from: m.from.map(str::as_bytes),
                to: m.to.map(str::as_bytes),
                cc: m.cc.map(str::as_bytes),
                message_id: m.id.map(str::as_bytes),
                in_reply_to: m.irt.map(str::as_bytes),
                references: m.refs.map(str::as_bytes),
            })
        })
        .collect()
}

/// The messages whose sequence numbers are in `only` (all if empty).
fn select<'a>(keys: &'a [KeyRecord], only: &[u32]) -> Vec<(u32, &'a KeyRecord)> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| (i as u32 + 1, k))
        .filter(|(n, _)| only.is_empty() || only.contains(n))
        .collect()
}

fn thr(msgs: &[M], alg: ThreadAlgorithm, only: &[u32]) -> String {
    let k = keys(msgs);
    thread(&select(&k, only), alg).to_imap_string()
}

fn refs(msgs: &[M]) -> String {
    thr(msgs, ThreadAlgorithm::References, &[])
}

fn ordsubj(msgs: &[M]) -> String {
    thr(msgs, ThreadAlgorithm::OrderedSubject, &[])
}

fn parse_program(p: &str) -> Vec<SortCriterion> {
    let mut out = Vec::new();
    let mut reverse = false;
    for w in p.split_whitespace() {
        let key = match w {
            "REVERSE" => {
                reverse = true;
                continue;
            }
            "ARRIVAL" => SortKey::Arrival,
            "CC" => SortKey::Cc,
            "DATE" => SortKey::Date,
            "FROM" => SortKey::From,
            "SIZE" => SortKey::Size,
            "SUBJECT" => SortKey::Subject,
            "TO" => SortKey::To,
            _ => panic!("bad key {w}"),
        };
        out.push(SortCriterion { key, reverse });
        reverse = false;
    }
    out
}

fn srt(msgs: &[M], program: &str, only: &[u32]) -> Vec<u32> {
    let k = keys(msgs);
    sort(&select(&k, only), &parse_program(program))
}

fn nums(s: &str) -> Vec<u32> {
    s.split_whitespace().map(|n| n.parse().unwrap()).collect()
}

// ---------------------------------------------------------------- imaptest

const FEB22: &str = "22 Feb 2008";

fn at(time: &str) -> i64 {
    t(&format!("{FEB22} {time}"))
}

fn imaptest_thread() -> Vec<M> {
    vec![
        M {
            id: Some("<a@b>"),
            internal: at("17:06:23 +0000"),
            ..M::default()
        },
        M {
            id: Some("<b@b>"),
            refs: Some("<a@b> <c@b>"),
            internal: at("15:06:23 +0000"),
            ..M::default()
        },
        M {
            id: Some("<c@b>"),
            refs: Some("<b@b>"),
            internal: at("16:06:25 +0000"),
            ..M::default()
        },
    ]
}

#[test]
fn imaptest_thread_basic_and_after_expunge() {
    let msgs = imaptest_thread();
    assert_eq!(refs(&msgs), "(3 2)(1)");
    // STORE 1 +FLAGS \Deleted; EXPUNGE: old 2 and 3 become 1 and 2.
    assert_eq!(refs(&msgs[1..]), "(2 1)");
}

#[test]
fn imaptest_thread2_to_7() {
    let same = at("12:00:00 +0000");
    let m = |id: Option<&'static str>,
             refs: Option<&'static str>,
             subject: Option<&'static str>,
             d: i64| M {
        id,
        refs,
        subject,
        internal: same + d,
        ..M::default()
    };
    // thread2: a duplicate id, no references.
    assert_eq!(
        refs(&[
            m(Some("<a@b>"), None, None, 0),
            m(Some("<a@b>"), None, None, 0)
        ]),
        "(1)(2)"
    );
    // thread3: a duplicate id, merged by subject as a reply.
    assert_eq!(
        refs(&[
            m(Some("<a@b>"), None, Some("foo"), 0),
            m(Some("<a@b>"), None, Some("Re: foo"), 1)
        ]),
        "(1 2)"
    );
    // thread4: a root dummy with one child is promoted before subject grouping.
    assert_eq!(
        refs(&[
            m(Some("<a@b>"), None, Some("foo"), 0),
            m(Some("<b@b>"), Some("<c@b>"), Some("Re: foo"), 1)
        ]),
        "(1 2)"
    );
    // thread6: two messages under the same missing parent.
    assert_eq!(
        refs(&[
            m(None, Some("<a@b>"), None, 0),
            m(None, Some("<a@b>"), None, 0)
        ]),
        "((1)(2))"
    );
    // thread7: duplicate <b@b>: the first keeps it.
    assert_eq!(
        refs(&[
            m(Some("<a@b>"), None, None, 0),
            m(Some("<b@b>"), Some("<a@b>"), None, 0),
            m(Some("<c@b>"), Some("<b@b>"), None, 0),
            m(Some("<b@b>"), Some("<a@b>"), None, 0),
        ]),
        "(1 (2 3)(4))"
    );
}

#[test]
fn imaptest_thread5_dynamic() {
    // The digest gives 17:06 for message 1 and 15:06 for message 4; the
    // others are taken at 15:06 as well, the only reading under which the
    // three expected answers hold together.
    let m = |id, irt, time| M {
        id: Some(id),
        irt,
        internal: at(time),
        ..M::default()
    };
    let all = vec![
        m("<1@b>", None, "17:06:00 +0000"),
        m("<2@b>", Some("<1@b>"), "15:06:00 +0000"),
        m("<3@b>", Some("<1@b>"), "15:06:00 +0000"),
        m("<4@b>", Some("<2@b>"), "15:06:00 +0000"),
    ];
    assert_eq!(refs(&all), "(1 (2 4)(3))");
    let after_expunge = all[2..].to_vec();
    assert_eq!(refs(&after_expunge), "(1)(2)");
    let mut appended = after_expunge;
    appended.push(m("<5@b>", Some("<2@b>"), "15:07:00 +0000"));
    assert_eq!(refs(&appended), "(1)((2)(3))");
}

const ORDEREDSUBJECT_SUBJECTS: [Option<&str>; 15] = [
    Some("a"),
    Some("C"),
    Some("b"),
    Some("_"),
    Some("[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)"),
    Some("b (a)"),
    Some("Re: [FWD: c]"),
    Some("[xyz]"),
    None,
    Some("=?iso-8859-1?q?_?="),
    Some("Re: =?utf-8?q?b?="),
    Some("=?iso-8859-1?q?RE:_C?="),
    Some("=?us-ascii?b?UmU6IGM=?="),
    Some("Ad: Re: Ad: Re: Ad: x"),
    Some("re: [fwd: [fwd: re: [fwd: babylon]]]"),
];

fn subject_mailbox() -> Vec<M> {
    ORDEREDSUBJECT_SUBJECTS
        .iter()
        .map(|&subject| M {
            subject,
            date: Some("Fri, 22 Feb 2008 12:00:00 +0000"),
            ..M::default()
        })
        .collect()
}

#[test]
fn imaptest_thread_orderedsubject() {
    assert_eq!(
        ordsubj(&subject_mailbox()),
        "(1)(2 (7)(12)(13))(3 (5)(11))(4)(6)(8)(9 10)(14)(15)"
    );
}

#[test]
fn imaptest_sort_subject() {
    let mb = subject_mailbox();
    assert_eq!(
        srt(&mb, "SUBJECT", &[]),
        nums("9 10 1 14 3 5 11 6 15 2 7 12 13 8 4")
    );
    assert_eq!(
        srt(&mb, "REVERSE SUBJECT", &[]),
        nums("4 8 2 7 12 13 15 6 3 5 11 14 1 9 10")
    );
}

#[test]
fn imaptest_thread_orderedsubject2() {
    let d = |s, time| M {
        subject: Some(s),
        date: Some(time),
        ..M::default()
    };
    let i = |s, time| M {
        subject: Some(s),
        internal: at(time),
        ..M::default()
    };
    let msgs = vec![
        d("a", "Fri, 22 Feb 2008 22:00:10 +0200"),
        d("b", "Fri, 22 Feb 2008 22:00:09 +0200"),
        d("a", "Fri, 22 Feb 2008 22:00:08 +0200"),
        d("b", "Fri, 22 Feb 2008 22:00:07 +0200"),
        i("a", "22:00:30 +0200"),
        i("b", "22:00:29 +0200"),
        i("a", "22:00:28 +0200"),
        i("b", "22:00:27 +0200"),
    ];
    assert_eq!(ordsubj(&msgs), "(4 (2)(8)(6))(3 (1)(7)(5))");
}

/// Sizes grow with the sequence number; only the tie orders under REVERSE
/// SIZE depend on them.
fn imaptest_sort_date_mailbox() -> Vec<M> {
    let m = |date: Option<&'static str>, internal: &str, seq: u64| M {
        date,
        internal: at(internal),
        size: seq * 10,
        ..M::default()
    };
    vec![
        m(Some("Fri, 22 Feb 2008 00:00:00 +0200"), "23:00:00 +0200", 1),
        m(Some("Fri, 22 Feb 2008 02:00:00 +0200"), "22:00:00 +0200", 2),
        m(Some("Fri, 22 Feb 2008 01:00:00 +0200"), "21:00:00 +0200", 3),
        m(Some("Fri, 22 Feb 2008 02:00:00 +0200"), "20:00:00 +0200", 4),
        m(None, "01:30:23 +0200", 5),
        m(Some("Fri, 22 Feb 2008 02:00:00 +0200"), "18:00:00 +0200", 6),
        m(None, "01:00:00 +0200", 7),
    ]
}

#[test]
fn imaptest_sort_date() {
    let mb = imaptest_sort_date_mailbox();
    assert_eq!(srt(&mb, "DATE", &[]), nums("1 3 7 5 2 4 6"));
    assert_eq!(srt(&mb, "REVERSE DATE", &[]), nums("2 4 6 5 3 7 1"));
    assert_eq!(srt(&mb, "DATE REVERSE SIZE", &[]), nums("1 7 3 5 6 4 2"));
}

#[test]
fn imaptest_sort_arrival() {
    let mb: Vec<M> = ["00:00", "02:00", "01:00", "02:00", "02:00"]
        .iter()
        .enumerate()
        .map(|(i, h)| M {
            internal: at(&format!("{h}:00 +0000")),
            size: (i as u64 + 1) * 10,
            ..M::default()
        })
        .collect();
    assert_eq!(srt(&mb, "ARRIVAL", &[]), nums("1 3 2 4 5"));
    assert_eq!(srt(&mb, "REVERSE ARRIVAL", &[]), nums("2 4 5 3 1"));
    assert_eq!(srt(&mb, "ARRIVAL REVERSE SIZE", &[]), nums("1 3 5 4 2"));
}

#[test]
fn imaptest_sort_addresses() {
    let mb = vec![
        M {
            from: Some("user2@domain2.org"),
            to: Some("foo bar <user2@domain2.org>"),
            cc: Some("user2@domain2.org (foo bar)"),
            internal: 1,
            ..M::default()
        },
        M {
            from: Some("user2@domain1.org"),
            to: Some("user2@domain1.org"),
            cc: Some("user2: blah@domain1.org;"),
            internal: 2,
            ..M::default()
        },
        M {
            from: Some("user1@domain1.org"),
            to: Some("user1@domain1.org"),
            cc: Some("user1@domain1.org"),
            internal: 3,
            ..M::default()
        },
    ];
    for key in ["FROM", "TO", "CC"] {
        assert_eq!(srt(&mb, key, &[]), [3, 1, 2], "{key}");
    }
    assert_eq!(srt(&mb, "REVERSE FROM", &[]), [1, 2, 3]);
    assert_eq!(srt(&mb, "FROM REVERSE ARRIVAL", &[]), [3, 2, 1]);
}

#[test]
fn imaptest_sort_size() {
    // Bodies 1, 22, 333, "4\n4", 555, 66, 7777, 8 under equal headers.
    let mb: Vec<M> = [1u64, 2, 3, 4, 3, 2, 4, 1]
        .iter()
        .enumerate()
        .map(|(i, &body)| M {
            size: 100 + body,
            internal: i as i64,
            ..M::default()
        })
        .collect();
    assert_eq!(srt(&mb, "SIZE", &[]), nums("1 8 2 6 3 5 4 7"));
    assert_eq!(srt(&mb, "REVERSE SIZE", &[]), nums("4 7 3 5 2 6 1 8"));
    assert_eq!(
        srt(&mb, "SIZE REVERSE ARRIVAL", &[]),
        nums("8 1 6 2 5 3 7 4")
    );
}

// ---------------------------------------------------------------- cassandane

#[test]
fn cassandane_references_missing_parent() {
    let m = |id, d| M {
        id: Some(id),
        subject: Some("Re: put a bird on it"),
        refs: Some("<absent@example.com>"),
        internal: d,
        ..M::default()
    };
    let msgs = [m("<c1@x>", 1), m("<c2@x>", 2)];
    assert_eq!(refs(&msgs), "((1)(2))");
    assert_eq!(ordsubj(&msgs), "(1 2)");
}

#[test]
fn cassandane_references_loop() {
    let msgs = [
        M {
            id: Some("<own1@x>"),
            subject: Some("Re: put a bird on it"),
            refs: Some("<common@x> <own1@x>"),
            irt: Some("<own1@x>"),
            internal: 1,
            ..M::default()
        },
        M {
            id: Some("<own2@x>"),
            subject: Some("Re: put a bird on it"),
            refs: Some("<common@x> <own2@x>"),
            irt: Some("<own2@x>"),
            internal: 2,
            ..M::default()
        },
    ];
    assert_eq!(refs(&msgs), "((1)(2))");
    assert_eq!(ordsubj(&msgs), "(1 2)");
}

const CASSANDANE_SUBJECTS: [&str; 3] = ["put a bird on it", "cosby sweater", "fixie"];

fn cassandane_expected() -> String {
    let mut out = String::new();
    for s in 0..3u32 {
        let members: Vec<u32> = (1..=20).filter(|n| (n - 1) % 3 == s).collect();
        out.push_str(&format!("({}", members[0]));
        out.push(' ');
        for m in &members[1..] {
            out.push_str(&format!("({m})"));
        }
        out.push(')');
    }
    out
}

#[test]
fn cassandane_subjects() {
    let msgs: Vec<M> = (0..20)
        .map(|j| M {
            subject: Some(Box::leak(
                format!("{}{}", "Re: ".repeat(j / 3), CASSANDANE_SUBJECTS[j % 3]).into_boxed_str(),
            )),
            internal: j as i64 * 60,
            ..M::default()
        })
        .collect();
    let want = cassandane_expected();
    assert_eq!(refs(&msgs), want);
    assert_eq!(ordsubj(&msgs), want);
}

#[test]
fn cassandane_references_star() {
    let msgs: Vec<M> = (0..20)
        .map(|j| {
            let own: &'static str = Box::leak(format!("<m{j}@x>").into_boxed_str());
            let root: &'static str = Box::leak(format!("<m{}@x>", j % 3).into_boxed_str());
            M {
                subject: Some(Box::leak(
                    format!("{}{}", "Re: ".repeat(j / 3), CASSANDANE_SUBJECTS[j % 3])
                        .into_boxed_str(),
                )),
                id: Some(own),
                refs: if j >= 3 { Some(root) } else { None },
                internal: j as i64 * 60,
                ..M::default()
            }
        })
        .collect();
    let want = cassandane_expected();
    assert_eq!(refs(&msgs), want);
    assert_eq!(ordsubj(&msgs), want);
}

// ---------------------------------------------------------------- digest T1–T5

fn d(hhmm: &'static str) -> Option<&'static str> {
    Some(Box::leak(
        format!("Mon, 01 Jan 2024 {hhmm}:00 +0000").into_boxed_str(),
    ))
}

fn digest_t1_mailbox() -> Vec<M> {
    vec![
        M {
            id: Some("<1@x>"),
            subject: Some("hello"),
            date: d("10:00"),
            ..M::default()
        },
        M {
            id: Some("<2@x>"),
            subject: Some("Re: hello"),
            irt: Some("<1@x>"),
            refs: Some("<1@x>"),
            date: d("10:05"),
            ..M::default()
        },
        M {
            id: Some("<3@x>"),
            subject: Some("other"),
            date: d("10:02"),
            ..M::default()
        },
        M {
            id: Some("<4@x>"),
            subject: Some("Re: hello"),
            refs: Some("<1@x> <2@x>"),
            date: d("10:03"),
            ..M::default()
        },
        M {
            id: Some("<5@x>"),
            subject: Some("Re: other"),
            date: d("10:04"),
            ..M::default()
        },
    ]
}

#[test]
fn digest_t1() {
    let msgs = digest_t1_mailbox();
    assert_eq!(refs(&msgs), "(1 2 4)(3 5)");
    assert_eq!(ordsubj(&msgs), "(1 (4)(2))(3 5)");
    assert_eq!(
        thr(&msgs, ThreadAlgorithm::References, &[2, 3, 4, 5]),
        "(3 5)(2 4)"
    );
    assert_eq!(
        thr(&msgs, ThreadAlgorithm::OrderedSubject, &[2, 3, 4, 5]),
        "(3 5)(4 2)"
    );
}

#[test]
fn digest_t1_uid_thread() {
    // UID THREAD: the same messages numbered by UID (here UID = 10 * seq).
    let k = keys(&digest_t1_mailbox());
    let msgs: Vec<(u32, &KeyRecord)> = k
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, k)| ((i as u32 + 1) * 10, k))
        .collect();
    assert_eq!(
        thread(&msgs, ThreadAlgorithm::References).to_imap_string(),
        "(30 50)(20 40)"
    );
}

#[test]
fn digest_t2() {
    let m = |id, subject, refs, hhmm| M {
        id: Some(id),
        subject: Some(subject),
        refs,
        date: d(hhmm),
        ..M::default()
    };
    let msgs = [
        m("<m1@x>", "alpha", None, "10:00"),
        m("<m3@x>", "Re: alpha", Some("<m1@x> <m2@x>"), "10:02"),
        m("<m4@x>", "Re: alpha", Some("<m1@x> <m2@x>"), "10:01"),
        m("<m6@x>", "beta", Some("<m5@x>"), "10:03"),
        m("<m8@x>", "gamma", Some("<m7@x>"), "10:06"),
        m("<m9@x>", "Re: gamma", Some("<m7@x>"), "10:05"),
        m("<m10@x>", "gamma", None, "10:04"),
    ];
    assert_eq!(refs(&msgs), "(1 (3)(2))(4)((7)(6)(5))");
    assert_eq!(ordsubj(&msgs), "(1 (3)(2))(4)(7 (6)(5))");
}

#[test]
fn digest_t3() {
    let m = |subject, hhmm| M {
        subject: Some(subject),
        date: d(hhmm),
        ..M::default()
    };
    let msgs = [
        m("lunch", "10:00"),
        m("lunch", "10:01"),
        m("Re: lunch", "10:02"),
        m("Re: x", "10:03"),
        m("x", "10:04"),
    ];
    assert_eq!(refs(&msgs), "((1)(2)(3))(5 4)");
    assert_eq!(ordsubj(&msgs), "(1 (2)(3))(4 5)");
}

#[test]
fn digest_t4_loops() {
    let msgs = [
        M {
            id: Some("<l1@x>"),
            subject: Some("p"),
            refs: Some("<l2@x>"),
            date: d("10:00"),
            ..M::default()
        },
        M {
            id: Some("<l2@x>"),
            subject: Some("q"),
            refs: Some("<l1@x>"),
            date: d("10:01"),
            ..M::default()
        },
        M {
            id: Some("<s1@x>"),
            subject: Some("Re: bird"),
            refs: Some("<root@x> <s1@x>"),
            irt: Some("<s1@x>"),
            date: d("10:02"),
            ..M::default()
        },
        M {
            id: Some("<s2@x>"),
            subject: Some("Re: bird"),
            refs: Some("<root@x> <s2@x>"),
            irt: Some("<s2@x>"),
            date: d("10:03"),
            ..M::default()
        },
    ];
    assert_eq!(refs(&msgs), "(2 1)((3)(4))");
    assert_eq!(ordsubj(&msgs), "(1)(2)(3 4)");
}

#[test]
fn digest_t5_msgid_normalisation() {
    let msgs = [
        M {
            id: Some("<\"q1\"@x>"),
            subject: Some("n1"),
            date: d("10:00"),
            ..M::default()
        },
        M {
            id: Some("<r1@x>"),
            subject: Some("n2"),
            irt: Some("<q1@x>"),
            date: d("10:01"),
            ..M::default()
        },
        M {
            id: Some("<r2@x>"),
            subject: Some("n3"),
            irt: Some("<r1@x> (comment) <zz@x>"),
            date: d("10:02"),
            ..M::default()
        },
        M {
            id: Some("<r3@x>"),
            subject: Some("n4"),
            refs: Some("garbage"),
            irt: Some("<r2@x>"),
            date: d("10:03"),
            ..M::default()
        },
        M {
            id: Some("<R1@x>"),
            subject: Some("n5"),
            date: d("10:04"),
            ..M::default()
        },
    ];
    assert_eq!(refs(&msgs), "(1 2 3 4)(5)");
}

// ---------------------------------------------------------------- digest SD, SA, SZ

fn digest_sd1_mailbox() -> Vec<M> {
    let mut mb = imaptest_sort_date_mailbox();
    mb.push(M {
        date: Some("garbage"),
        internal: t("21 Feb 2008 00:00:00 +0000"),
        ..M::default()
    });
    mb.push(M {
        date: Some("Fri, 22 Feb 2008 00:30:00 XYZ"),
        internal: t("20 Feb 2008 00:00:00 +0000"),
        ..M::default()
    });
    mb
}

#[test]
fn digest_sd1() {
    let mb = digest_sd1_mailbox();
    assert_eq!(srt(&mb, "DATE", &[]), nums("8 1 3 7 5 2 4 6 9"));
    assert_eq!(srt(&mb, "REVERSE DATE", &[]), nums("9 2 4 6 5 3 7 1 8"));
    assert_eq!(srt(&mb, "ARRIVAL", &[]), nums("9 8 7 5 6 4 3 2 1"));
    assert_eq!(
        srt(&mb, "DATE", &[2, 3, 4, 5, 6, 7, 8]),
        nums("8 3 7 5 2 4 6")
    );
}

#[test]
fn digest_sd2_rfc_reading() {
    let i2030 = t("01 Jan 2030 00:00:00 +0000");
    let m = |date: Option<&'static str>| M {
        date,
        internal: i2030,
        ..M::default()
    };
    let mb = vec![
        m(Some("garbage")),
        m(Some("Wed, 01 Jan 2020 12:00:00 +0000")),
        m(Some("Wed, 01 Jan 2020 25:61:00 +0000")),
        m(Some("Wed, 01 Jan 2020 11:00:00 +9999")),
        m(None),
        M {
            internal: t("01 Jan 2010 00:00:00 +0000"),
            ..M::default()
        },
        m(Some("Wed, 01 Jan 20 12:00:00 +0000")),
        m(Some("Wed, 01 Jan 2020 07:30:00 EST")),
    ];
    assert_eq!(srt(&mb, "DATE", &[]), nums("6 3 4 2 7 8 1 5"));
}

fn digest_sa1_mailbox() -> Vec<M> {
    vec![
        M {
            from: Some("user2@domain2.org"),
            to: Some("foo bar <user2@domain2.org>"),
            cc: Some("user2@domain2.org (foo bar)"),
            internal: 1,
            ..M::default()
        },
        M {
            from: Some("user2@domain1.org"),
            to: Some("user2@domain1.org"),
            cc: Some("user2: blah@domain1.org;"),
            internal: 2,
            ..M::default()
        },
        M {
            from: Some("user1@domain1.org"),
            to: Some("user1@domain1.org"),
            cc: Some("user1@domain1.org"),
            internal: 3,
            ..M::default()
        },
        M {
            from: Some("\"Zed\" <Alpha@x>"),
            internal: 4,
            ..M::default()
        },
        M {
            from: Some("=?utf-8?q?B=C3=A9b=C3=A9?= <bebe@x>"),
            to: Some("undisclosed-recipients:;"),
            cc: Some(""),
            internal: 5,
            ..M::default()
        },
        M {
            from: Some("_under@x"),
            to: Some("[x]@y"),
            internal: 6,
            ..M::default()
        },
    ]
}

#[test]
fn digest_sa1() {
    let mb = digest_sa1_mailbox();
    assert_eq!(srt(&mb, "FROM", &[]), nums("4 5 3 1 2 6"));
    assert_eq!(srt(&mb, "TO", &[]), nums("4 6 5 3 1 2"));
    assert_eq!(srt(&mb, "CC", &[]), nums("4 5 6 3 1 2"));
    assert_eq!(srt(&mb, "REVERSE FROM", &[]), nums("6 1 2 3 5 4"));
}

#[test]
fn digest_sz1() {
    let mb: Vec<M> = [17u64, 18, 17, 20, 19]
        .iter()
        .map(|&size| M {
            size,
            subject: Some("a"),
            ..M::default()
        })
        .collect();
    assert_eq!(srt(&mb, "SIZE", &[]), nums("1 3 2 5 4"));
    assert_eq!(srt(&mb, "REVERSE SIZE", &[]), nums("4 5 2 1 3"));
    assert_eq!(srt(&mb, "SUBJECT", &[]), nums("1 2 3 4 5"));
    assert_eq!(srt(&mb, "REVERSE SUBJECT", &[]), nums("1 2 3 4 5"));
}

#[test]
fn digest_ss1_collation() {
    // `[xyz]` (8) and `_` (4) sort after all letters.
    let order = srt(&subject_mailbox(), "SUBJECT", &[]);
    assert_eq!(&order[order.len() - 2..], [8, 4]);
}

#[test]
fn digest_base_subject_mailbox() {
    const SUBJECTS: [&str; 32] = [
        "foo",
        "Re: foo",
        "RE: FOO",
        "re:foo",
        "Re : foo",
        "Re[2]: foo",
        "Re: [list] foo",
        "[list] Re: foo",
        "Fwd: foo",
        "Fw: foo",
        "foo (fwd)",
        "[Fwd: foo]",
        "Re: [Fwd: Re: foo]",
        "foo   ",
        "  foo",
        "Re: Re: Re: foo",
        "foo (fwd) (fwd)",
        "[fwd: [x] foo]",
        "=?utf-8?q?Re=3A_foo?=",
        "Re:\tfoo",
        "Fwd: foo (fwd)",
        "Ad: foo",
        "Re foo",
        "foo [bar]",
        "[foo]",
        "Re:",
        "[x] [y]",
        "[x][y] foo",
        "Re: [Fwd: foo] (fwd)",
        "[Fwd: foo (fwd)]",
        "FWD : foo",
        "re:  [a]  [b]  foo",
    ];
    let mb: Vec<M> = SUBJECTS
        .iter()
        .map(|&s| M {
            subject: Some(s),
            date: Some("Mon, 01 Jan 2024 12:00:00 +0000"),
            ..M::default()
        })
        .collect();
    assert_eq!(
        ordsubj(&mb),
        "(1 (2)(3)(4)(5)(6)(7)(8)(9)(10)(11)(12)(13)(14)(15)(16)(17)(18)(19)(20)(21)(28)(29)(30)(31)(32))(22)(23)(24)(25)(26)(27)"
    );
    assert_eq!(
        srt(&mb, "SUBJECT", &[]),
        nums(
            "26 22 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 28 29 30 31 32 24 23 25 27"
        )
    );
}

// ---------------------------------------------------------------- RFC 5256 §4

#[test]
fn rfc_examples_empty_results() {
    // `SORT (SUBJECT) US-ASCII TEXT "not in mailbox"` and
    // `THREAD ORDEREDSUBJECT US-ASCII TEXT "gewp"`: nothing matched.
    assert!(sort(&[], &parse_program("SUBJECT")).is_empty());
    let t = thread(&[], ThreadAlgorithm::OrderedSubject);
    assert!(t.is_empty());
    assert_eq!(t.to_imap_string(), "");
    assert!(thread(&[], ThreadAlgorithm::References).is_empty());
}
