//! Sessions, change feed and SEARCH, on both backends.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use postroom_mailbox::{
    FlagSet, MailboxError, MaildirStore, MemoryStore, Session, Store, StoreMode,
};
use postroom_types::{
    Flag, FlagFetch, InternalDate, Keyword, MailboxName, SearchKey, SequenceSet, Uid,
};

fn both(f: impl Fn(&dyn Store)) {
    f(&MemoryStore::new());
    let dir = tempfile::tempdir().unwrap();
    f(&MaildirStore::new(dir.path()).unwrap());
}

fn inbox(s: &dyn Store) -> Arc<postroom_mailbox::Mailbox> {
    s.open(&MailboxName::inbox()).unwrap()
}

fn add(mb: &postroom_mailbox::Mailbox, raw: &str) -> Uid {
    mb.append(raw.as_bytes(), &FlagSet::new(), None).unwrap()
}

#[test]
fn recent_goes_to_exactly_one_session() {
    both(|s| {
        let mb = inbox(s);
        add(&mb, "Subject: a\r\n\r\n");
        let mut a = Session::open(Arc::clone(&mb), false).unwrap();
        let mut b = Session::open(Arc::clone(&mb), false).unwrap();
        assert_eq!((a.exists(), a.recent()), (1, 1));
        assert_eq!((b.exists(), b.recent()), (1, 0));
        let u = add(&mb, "Subject: b\r\n\r\n");
        let cb = b.poll(true).unwrap();
        let ca = a.poll(true).unwrap();
        assert_eq!(cb.exists, Some(2));
        assert_eq!(cb.recent, Some(1));
        assert_eq!(ca.exists, Some(2));
        assert_eq!(a.recent(), 1);
        assert!(b.is_recent(u) && !a.is_recent(u));
        // EXAMINE shows \Recent without taking it.
        add(&mb, "Subject: c\r\n\r\n");
        let ro = Session::open(Arc::clone(&mb), true).unwrap();
        assert_eq!(ro.recent(), 1);
        a.poll(true).unwrap();
        assert_eq!(a.recent(), 2);
    });
}

#[test]
fn expunge_is_held_back_until_allowed() {
    both(|s| {
        let mb = inbox(s);
        for i in 0..5 {
            add(&mb, &format!("Subject: {i}\r\n\r\n"));
        }
        let mut a = Session::open(Arc::clone(&mb), false).unwrap();
        let mut b = Session::open(Arc::clone(&mb), false).unwrap();
        let uids: Vec<Uid> = (1..=5).map(|i| a.uid(i).unwrap()).collect();
        a.store(
            &[uids[1], uids[3]],
            StoreMode::Add,
            &FlagSet::from_flags(&[Flag::Deleted]),
        )
        .unwrap();
        let ch = a.expunge(None).unwrap();
        assert_eq!(ch.expunged, vec![2, 3]);
        assert_eq!(a.exists(), 3);
        // b is in a FETCH: no EXPUNGE yet, numbers stay.
        let ch = b.poll(false).unwrap();
        assert!(ch.expunged.is_empty());
        assert_eq!(b.exists(), 5);
        assert_eq!(b.uid(4), Some(uids[3]));
        assert!(b.messages(&[4]).is_empty(), "expunged message has no data");
        let ch = b.poll(true).unwrap();
        assert_eq!(ch.expunged, vec![2, 3]);
        assert_eq!(b.exists(), 3);
        assert_eq!(b.uid(3), Some(uids[4]));
    });
}

#[test]
fn flag_changes_reach_other_sessions_only() {
    both(|s| {
        let mb = inbox(s);
        let u = add(&mb, "Subject: a\r\n\r\n");
        let mut a = Session::open(Arc::clone(&mb), false).unwrap();
        let mut b = Session::open(Arc::clone(&mb), false).unwrap();
        let kw = Flag::Keyword(Keyword::new("$Label1").unwrap());
        let r = a
            .store(
                &[u],
                StoreMode::Add,
                &FlagSet::from_flags(&[Flag::Seen, kw.clone()]),
            )
            .unwrap();
        assert_eq!(r[0].flags[0], FlagFetch::Flag(Flag::Seen));
        assert!(
            a.poll(true).unwrap().flags.is_empty(),
            "own change not echoed"
        );
        let ch = b.poll(true).unwrap();
        assert_eq!(ch.flags.len(), 1);
        assert_eq!(ch.flags[0].seq, 1);
        assert!(ch.flags[0].flags.contains(&FlagFetch::Flag(kw)));
        assert!(b.poll(true).unwrap().is_empty());
        let ro = Session::open(Arc::clone(&mb), true);
        let mut ro = ro.unwrap();
        assert!(matches!(
            ro.store(&[u], StoreMode::Add, &FlagSet::new()),
            Err(MailboxError::ReadOnly)
        ));
    });
}

#[test]
fn idle_wakes_on_in_process_change() {
    both(|s| {
        let mb = inbox(s);
        let mut a = Session::open(Arc::clone(&mb), false).unwrap();
        let mb2 = Arc::clone(&mb);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            mb2.append(b"Subject: x\r\n\r\n", &FlagSet::new(), None)
                .unwrap();
        });
        let ch = a.idle_wait(Duration::from_secs(60)).unwrap();
        t.join().unwrap();
        assert_eq!(ch.exists, Some(1));
    });
}

#[test]
fn idle_sees_delivery_by_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let store = MaildirStore::new(dir.path()).unwrap();
    let mut a = Session::open(inbox(&store), false).unwrap();
    let root = dir.path().to_path_buf();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        // Written the way an MDA in another process does it.
        postroom_mailbox::deliver(&root, b"Subject: delivered\n\nhi\n").unwrap();
    });
    let mut seen = None;
    for _ in 0..20 {
        let ch = a.idle_wait(Duration::from_secs(5)).unwrap();
        if ch.exists.is_some() {
            seen = ch.exists;
            break;
        }
    }
    t.join().unwrap();
    assert_eq!(seen, Some(1));
    assert_eq!(a.recent(), 1);
    // The delivered file moved from new/ to cur/.
    assert_eq!(
        std::fs::read_dir(dir.path().join("new")).unwrap().count(),
        0
    );
}

#[test]
fn resolve_sets() {
    both(|s| {
        let mb = inbox(s);
        for i in 0..3 {
            add(&mb, &format!("Subject: {i}\r\n\r\n"));
        }
        let a = Session::open(Arc::clone(&mb), false).unwrap();
        let set: SequenceSet = "2:*".parse().unwrap();
        assert_eq!(a.resolve(&set, false).len(), 2);
        let set: SequenceSet = "999:*".parse().unwrap();
        assert_eq!(
            a.resolve(&set, true).len(),
            1,
            "n:* always includes the last UID"
        );
        assert!(a.out_of_range(&"4".parse().unwrap()));
        assert!(!a.out_of_range(&"1:3".parse().unwrap()));
    });
}

/// The sequence numbers `session` finds for `key`.
fn seqs(session: &Session, key: SearchKey) -> Vec<u32> {
    session
        .search(None, &key)
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn search_keys() {
    both(|s| {
        let mb = inbox(s);
        let d1 = InternalDate::parse_imap("01-Feb-2024 12:00:00 -0500").unwrap();
        let d2 = InternalDate::parse_imap("10-Mar-2024 08:00:00 +0000").unwrap();
        let m1 = "From: =?iso-8859-1?q?J=F6rg?= <joerg@example.org>\r\nTo: team@example.org\r\nSubject: =?utf-8?b?R3LDvMOfZQ==?=\r\nDate: Thu, 01 Feb 2024 23:00:00 -0500\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nDas ist sch=F6n.\r\n";
        let m2 = "From: bob@example.com\r\nCc: alice@example.net\r\nSubject: Plain\r\nDate: Sun, 10 Mar 2024 09:00:00 +0100\r\nX-Spam: yes\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nc2VjcmV0IHdvcmQ=\r\n--b--\r\n";
        let u1 = mb
            .append(m1.as_bytes(), &FlagSet::from_flags(&[Flag::Seen]), Some(d1))
            .unwrap();
        let u2 = mb
            .append(
                m2.as_bytes(),
                &FlagSet::from_flags(&[
                    Flag::Flagged,
                    Flag::Keyword(Keyword::new("work").unwrap()),
                ]),
                Some(d2),
            )
            .unwrap();
        let a = Session::open(Arc::clone(&mb), false).unwrap();
        let q = |k: SearchKey| seqs(&a, k);
        assert_eq!(q(SearchKey::All), vec![1, 2]);
        assert_eq!(q(SearchKey::Seen), vec![1]);
        assert_eq!(q(SearchKey::Unseen), vec![2]);
        assert_eq!(q(SearchKey::Flagged), vec![2]);
        assert_eq!(
            q(SearchKey::Keyword(Keyword::new("WORK").unwrap())),
            vec![2]
        );
        assert_eq!(
            q(SearchKey::Unkeyword(Keyword::new("work").unwrap())),
            vec![1]
        );
        assert_eq!(q(SearchKey::From("jörg".into())), vec![1]);
        assert_eq!(q(SearchKey::Subject("grüsse".into())), Vec::<u32>::new());
        assert_eq!(
            q(SearchKey::Subject("GRÜẞE".into())),
            vec![1],
            "Unicode case folding"
        );
        assert_eq!(q(SearchKey::Subject("grüße".into())), vec![1]);
        assert_eq!(q(SearchKey::Body("schön".into())), vec![1]);
        assert_eq!(q(SearchKey::Body("SECRET".into())), vec![2]);
        assert_eq!(q(SearchKey::Text("alice@".into())), vec![2]);
        assert_eq!(q(SearchKey::Cc("alice".into())), vec![2]);
        assert_eq!(q(SearchKey::To("team".into())), vec![1]);
        assert_eq!(q(SearchKey::Bcc("x".into())), Vec::<u32>::new());
        assert_eq!(q(SearchKey::Header("x-spam".into(), "".into())), vec![2]);
        assert_eq!(
            q(SearchKey::Header("X-SPAM".into(), "no".into())),
            Vec::<u32>::new()
        );
        // Internal date days in their own zone.
        assert_eq!(q(SearchKey::On(date("2024-02-01"))), vec![1]);
        assert_eq!(q(SearchKey::Before(date("2024-02-02"))), vec![1]);
        assert_eq!(q(SearchKey::Since(date("2024-02-02"))), vec![2]);
        assert_eq!(q(SearchKey::SentOn(date("2024-03-10"))), vec![2]);
        assert_eq!(q(SearchKey::SentBefore(date("2024-03-10"))), vec![1]);
        assert_eq!(q(SearchKey::SentSince(date("2024-02-01"))), vec![1, 2]);
        let size1 = mb.rfc822_size(u1).unwrap() as u32;
        assert_eq!(
            q(SearchKey::Larger(size1)),
            if mb.rfc822_size(u2).unwrap() as u32 > size1 {
                vec![2]
            } else {
                vec![]
            }
        );
        assert!(q(SearchKey::Smaller(size1 + 1)).contains(&1));
        assert_eq!(q(SearchKey::Recent), vec![1, 2]);
        assert_eq!(q(SearchKey::New), vec![2]);
        assert_eq!(q(SearchKey::Old), Vec::<u32>::new());
        assert_eq!(q(SearchKey::Uid(SequenceSet::single(u2.get()))), vec![2]);
        assert_eq!(
            q(SearchKey::SequenceSet("2,1".parse().unwrap())),
            vec![1, 2]
        );
        // (OR 1 2) NOT 2 → 1; NOT NOT 1 → 1; OR OR 1 2 3.
        let one = || SearchKey::SequenceSet(SequenceSet::single(1));
        let two = || SearchKey::SequenceSet(SequenceSet::single(2));
        assert_eq!(
            q(SearchKey::And(vec![
                SearchKey::Or(Box::new(one()), Box::new(two())),
                SearchKey::Not(Box::new(two()))
            ])),
            vec![1]
        );
        assert_eq!(
            q(SearchKey::Not(Box::new(SearchKey::Not(Box::new(one()))))),
            vec![1]
        );
        assert!(matches!(
            a.search(Some("KOI8-R"), &SearchKey::All),
            Err(MailboxError::BadCharset(_))
        ));
        assert_eq!(
            a.search(Some("us-ascii"), &SearchKey::All).unwrap().len(),
            2
        );
        assert_eq!(a.search(Some("utf-8"), &SearchKey::All).unwrap().len(), 2);
    });
}

/// With file system notification, IDLE learns of a file another process
/// drops into `new/` within a second even when polling is slow; with the
/// watcher off, the poll interval is what counts.
#[test]
fn idle_is_woken_by_file_system_notification() {
    use postroom_mailbox::MaildirOptions;
    let dir = tempfile::tempdir().unwrap();
    let slow = MaildirOptions {
        poll_interval: Duration::from_secs(30),
        ..MaildirOptions::default()
    };
    let store = MaildirStore::with_options(dir.path(), slow).unwrap();
    let mb = inbox(&store);
    // Set up in the background.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !mb.is_watched() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(mb.is_watched(), "inotify is available on the test hosts");
    let mut a = Session::open(mb, false).unwrap();
    let root = dir.path().to_path_buf();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        // An MDA in another process: tmp/, then rename into new/ (this
        // process's handle is not told).
        let tmp = root.join("tmp/1700000000.M1P99.elsewhere");
        std::fs::write(&tmp, b"Subject: x\n\nhi\n").unwrap();
        std::fs::rename(&tmp, root.join("new/1700000000.M1P99.elsewhere")).unwrap();
    });
    let start = std::time::Instant::now();
    let mut seen = None;
    while start.elapsed() < Duration::from_secs(5) {
        let ch = a.idle_wait(Duration::from_secs(5)).unwrap();
        if ch.exists.is_some() {
            seen = ch.exists;
            break;
        }
    }
    let took = start.elapsed();
    t.join().unwrap();
    assert_eq!(seen, Some(1));
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[test]
fn file_watch_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let store = MaildirStore::new(dir.path())
        .unwrap()
        .with_file_watch(false);
    assert!(!inbox(&store).is_watched());
}

#[test]
fn search_addresses_and_part_headers() {
    both(|s| {
        let mb = inbox(s);
        // A From without `@`: its envelope address is `Whomever` at the
        // placeholder host, and SEARCH FROM looks at the envelope
        // structure's FROM field (RFC 3501 §6.4.4).
        add(&mb, "From: Whomever\r\nSubject: a\r\n\r\nbody\r\n");
        // A MIME part header is in the message body, so TEXT finds it; BODY
        // searches the parts' text.
        add(
            &mb,
            "From: b@example.org\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Type: message/external-body; access-type=mail-server\r\n\r\nContent-Type: text/plain\r\n\r\n--z--\r\n",
        );
        let a = Session::open(Arc::clone(&mb), false).unwrap();
        let q = |k: SearchKey| seqs(&a, k);
        assert_eq!(q(SearchKey::From("@".into())), vec![1, 2]);
        assert_eq!(q(SearchKey::From("whomever@".into())), vec![1]);
        assert_eq!(q(SearchKey::Text("mail-server".into())), vec![2]);
        assert_eq!(q(SearchKey::Body("mail-server".into())), Vec::<u32>::new());
    });
}

#[test]
fn subject_search_is_the_envelope_subject_decoded() {
    both(|s| {
        let mb = inbox(s);
        // Encoded words split over a fold.
        add(
            &mb,
            "Subject: =?UTF-8?Q?Gr=C3=BC?=\r\n =?UTF-8?Q?=C3=9Fe?= aus\r\n Koeln\r\n\r\nbody\r\n",
        );
        // RFC 3501 §6.4.4: the envelope's SUBJECT, which is the first field.
        add(&mb, "Subject: first\r\nSubject: second\r\n\r\nsecond\r\n");
        add(&mb, "From: a@example.org\r\n\r\nno subject\r\n");
        let a = Session::open(Arc::clone(&mb), true).unwrap();
        let q = |k: SearchKey| seqs(&a, k);
        assert_eq!(q(SearchKey::Subject("GRÜßE".into())), vec![1]);
        assert_eq!(q(SearchKey::Subject("grüße aus koeln".into())), vec![1]);
        assert_eq!(q(SearchKey::Subject("first".into())), vec![2]);
        assert_eq!(q(SearchKey::Subject("second".into())), Vec::<u32>::new());
        // An empty string matches every message that has the field.
        assert_eq!(q(SearchKey::Subject(String::new())), vec![1, 2]);
        // Other header keys still see every field of that name.
        assert_eq!(
            q(SearchKey::Header("subject".into(), "second".into())),
            vec![2]
        );
        assert_eq!(q(SearchKey::From("EXAMPLE".into())), vec![3]);
    });
}

#[test]
fn subject_search_reads_no_message_file_once_the_envelope_is_cached() {
    let dir = tempfile::tempdir().unwrap();
    let store = MaildirStore::new(dir.path()).unwrap();
    let mb = inbox(&store);
    let u = add(&mb, "Subject: quarterly report\r\n\r\nbody\r\n");
    mb.envelope(u).unwrap();
    // Maildir messages never change in place; overwriting one here shows
    // which data the search used.
    let cur = dir.path().join("cur");
    for f in std::fs::read_dir(&cur).unwrap() {
        std::fs::write(f.unwrap().path(), "Subject: other\r\n\r\nbody\r\n").unwrap();
    }
    let a = Session::open(Arc::clone(&mb), true).unwrap();
    let hits = a
        .search(None, &SearchKey::Subject("report".into()))
        .unwrap();
    assert_eq!(hits, vec![(1, u)]);
    // A header key without a cached form reads the header from the file.
    let hits = a
        .search(None, &SearchKey::Header("subject".into(), "other".into()))
        .unwrap();
    assert_eq!(hits, vec![(1, u)]);
}

#[test]
fn check_rescans_only_when_another_process_may_have_written() {
    let dir = tempfile::tempdir().unwrap();
    let options = postroom_mailbox::MaildirOptions {
        poll_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let store = MaildirStore::with_options(dir.path(), options)
        .unwrap()
        .with_file_watch(false);
    let mb = inbox(&store);
    add(&mb, "Subject: a\r\n\r\n");
    let mut a = Session::open(Arc::clone(&mb), false).unwrap();
    // This process's own changes are known without a scan.
    add(&mb, "Subject: b\r\n\r\n");
    assert_eq!(a.check(true).unwrap().exists, Some(2));
    // A delivery by another process: not looked for before the poll
    // interval (no notification without a watch) ...
    std::fs::write(
        dir.path().join("new").join("1700000000.M1P1.other"),
        "Subject: c\r\n\r\n",
    )
    .unwrap();
    assert_eq!(a.check(true).unwrap().exists, None);
    // ... but NOOP's poll always reads the folder.
    assert_eq!(a.poll(true).unwrap().exists, Some(3));
}

#[test]
fn check_sees_another_process_through_the_file_watch() {
    let dir = tempfile::tempdir().unwrap();
    let options = postroom_mailbox::MaildirOptions {
        poll_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let store = MaildirStore::with_options(dir.path(), options).unwrap();
    let mb = inbox(&store);
    let mut a = Session::open(Arc::clone(&mb), false).unwrap();
    std::fs::write(
        dir.path().join("new").join("1700000000.M1P1.other"),
        "Subject: c\r\n\r\n",
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if a.check(true).unwrap().exists == Some(1) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the notification never led to a rescan"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
