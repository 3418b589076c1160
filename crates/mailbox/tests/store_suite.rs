//! One test suite run against both backends.

mod common;

use std::sync::Arc;

use postroom_mailbox::{
    FlagSet, ListAttribute, MailboxError, MaildirStore, MemoryStore, Store, StoreMode,
};
use postroom_types::{Flag, InternalDate, Keyword, MailboxName};

fn n(s: &str) -> MailboxName {
    MailboxName::new(s)
}

fn kw(s: &str) -> Flag {
    Flag::Keyword(Keyword::new(s).unwrap())
}

/// Runs `f` against a fresh memory store and a fresh Maildir store.
fn both(f: impl Fn(&dyn Store)) {
    let mem = MemoryStore::new();
    f(&mem);
    let dir = tempfile::tempdir().unwrap();
    let md = MaildirStore::new(dir.path().join("Maildir")).unwrap();
    f(&md);
}

fn names(store: &dyn Store, pattern: &str) -> Vec<(String, Vec<ListAttribute>)> {
    store
        .list("", pattern)
        .unwrap()
        .into_iter()
        .map(|e| (e.name.as_str().to_owned(), e.attributes))
        .collect()
}

#[test]
fn create_list_delete() {
    both(|s| {
        s.create(&n("INBOX.Sent")).unwrap();
        s.create(&n("inbox.A.B")).unwrap();
        assert!(matches!(
            s.create(&n("INBOX.Sent")),
            Err(MailboxError::AlreadyExists(_))
        ));
        assert!(matches!(
            s.create(&n("INBOX")),
            Err(MailboxError::AlreadyExists(_))
        ));
        assert_eq!(
            names(s, "*"),
            vec![
                ("INBOX".into(), vec![ListAttribute::HasChildren]),
                (
                    "INBOX.A".into(),
                    vec![ListAttribute::Noselect, ListAttribute::HasChildren]
                ),
                ("INBOX.A.B".into(), vec![ListAttribute::HasNoChildren]),
                ("INBOX.Sent".into(), vec![ListAttribute::HasNoChildren]),
            ]
        );
        assert_eq!(names(s, "INBOX.%").len(), 2);
        // A \Noselect name with children cannot be deleted.
        assert!(matches!(
            s.delete(&n("INBOX.A")),
            Err(MailboxError::HasChildren(_))
        ));
        assert!(matches!(
            s.delete(&n("INBOX")),
            Err(MailboxError::DeleteInbox)
        ));
        assert!(matches!(
            s.delete(&n("INBOX.nope")),
            Err(MailboxError::NotFound(_))
        ));
        s.delete(&n("INBOX.Sent")).unwrap();
        assert!(matches!(
            s.open(&n("INBOX.Sent")),
            Err(MailboxError::NotFound(_))
        ));
        // Deleting a mailbox with children leaves it \Noselect.
        s.create(&n("INBOX.A")).unwrap();
        s.delete(&n("INBOX.A")).unwrap();
        assert_eq!(
            names(s, "INBOX.A"),
            vec![(
                "INBOX.A".into(),
                vec![ListAttribute::Noselect, ListAttribute::HasChildren]
            )]
        );
    });
}

#[test]
fn invalid_names_refused() {
    both(|s| {
        for bad in [
            "INBOX..x",
            "INBOX.a/b",
            "INBOX.../etc",
            "Sent",
            "INBOX.x\u{1}",
            "INBOX..",
        ] {
            assert!(
                matches!(s.create(&n(bad)), Err(MailboxError::InvalidName { .. })),
                "{bad}"
            );
            assert!(
                matches!(s.open(&n(bad)), Err(MailboxError::InvalidName { .. })),
                "{bad}"
            );
        }
    });
}

#[test]
fn rename_with_children_and_inbox() {
    both(|s| {
        s.create(&n("INBOX.A")).unwrap();
        s.create(&n("INBOX.A.B")).unwrap();
        let a = s.open(&n("INBOX.A")).unwrap();
        a.append(b"Subject: a\r\n\r\nx\r\n", &FlagSet::new(), None)
            .unwrap();
        drop(a);
        assert!(matches!(
            s.rename(&n("INBOX.A"), &n("INBOX.A.C")),
            Err(MailboxError::RenameIntoSelf(_))
        ));
        s.rename(&n("INBOX.A"), &n("INBOX.Z")).unwrap();
        let got: Vec<String> = names(s, "*").into_iter().map(|(n, _)| n).collect();
        assert_eq!(got, vec!["INBOX", "INBOX.Z", "INBOX.Z.B"]);
        assert_eq!(s.open(&n("INBOX.Z")).unwrap().len(), 1);

        let inbox = s.open(&n("INBOX")).unwrap();
        inbox
            .append(
                b"Subject: 1\r\n\r\n1\r\n",
                &FlagSet::from_flags(&[Flag::Seen]),
                None,
            )
            .unwrap();
        inbox
            .append(b"Subject: 2\r\n\r\n2\r\n", &FlagSet::new(), None)
            .unwrap();
        s.rename(&n("INBOX"), &n("INBOX.Old")).unwrap();
        assert_eq!(inbox.len(), 0);
        let old = s.open(&n("INBOX.Old")).unwrap();
        let msgs = old.messages();
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].flags.is_seen());
        assert!(s.open(&n("INBOX.Z.B")).is_ok());
    });
}

#[test]
fn subscriptions_persist() {
    both(|s| {
        s.subscribe(&n("INBOX.Sent")).unwrap();
        s.subscribe(&n("INBOX.a.b")).unwrap();
        s.subscribe(&n("INBOX.Sent")).unwrap();
        assert_eq!(
            s.subscriptions().unwrap(),
            vec![n("INBOX.Sent"), n("INBOX.a.b")]
        );
        let l = s.lsub("", "INBOX.%").unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].attributes, vec![ListAttribute::Noselect]);
        s.unsubscribe(&n("INBOX.Sent")).unwrap();
        assert_eq!(s.subscriptions().unwrap(), vec![n("INBOX.a.b")]);
    });
}

#[test]
fn append_flags_expunge_uids() {
    both(|s| {
        let mb = s.open(&n("INBOX")).unwrap();
        let v = mb.uid_validity();
        assert_eq!(mb.uid_next().get(), 1);
        let date = InternalDate::parse_imap("17-Jul-1996 02:44:25 -0700").unwrap();
        let u1 = mb
            .append(
                b"Subject: one\n\nbody\n",
                &FlagSet::from_flags(&[Flag::Seen, kw("$Junk")]),
                Some(date),
            )
            .unwrap();
        let u2 = mb
            .append(b"Subject: two\r\n\r\nbody\r\n", &FlagSet::new(), None)
            .unwrap();
        assert!(u2 > u1);
        assert_eq!(mb.uid_next().get(), u2.get() + 1);
        let m = mb.message(u1).unwrap();
        assert!(m.flags.contains(&kw("$junk")));
        assert_eq!(mb.internal_date(u1).unwrap().timestamp(), date.timestamp());
        assert_eq!(mb.rfc822_size(u1).unwrap(), 22);
        assert_eq!(&mb.raw(u2).unwrap()[..], b"Subject: two\r\n\r\nbody\r\n");

        let changed = mb
            .store(
                &[u1, u2],
                StoreMode::Add,
                &FlagSet::from_flags(&[Flag::Deleted]),
            )
            .unwrap();
        assert_eq!(changed.len(), 2);
        mb.store(
            &[u1],
            StoreMode::Remove,
            &FlagSet::from_flags(&[Flag::Deleted, kw("$JUNK")]),
        )
        .unwrap();
        assert!(!mb.message(u1).unwrap().flags.contains(&kw("$Junk")));
        assert_eq!(mb.expunge(None).unwrap(), vec![u2]);
        assert_eq!(mb.len(), 1);
        // UIDs are never reused.
        let u3 = mb.append(b"x\r\n", &FlagSet::new(), None).unwrap();
        assert!(u3 > u2);
        assert_eq!(mb.uid_validity(), v);
    });
}

#[test]
fn copy_and_move() {
    both(|s| {
        s.create(&n("INBOX.T")).unwrap();
        let a = s.open(&n("INBOX")).unwrap();
        let t = s.open(&n("INBOX.T")).unwrap();
        let u = a
            .append(
                b"Subject: c\r\n\r\n",
                &FlagSet::from_flags(&[Flag::Flagged, kw("work")]),
                None,
            )
            .unwrap();
        let pairs = a.copy_to(&[u], &t).unwrap();
        assert_eq!(pairs.len(), 1);
        let copied = t.message(pairs[0].1).unwrap();
        assert!(copied.flags.contains(&Flag::Flagged) && copied.flags.contains(&kw("work")));
        assert_eq!(a.len(), 1);
        let moved = a.move_to(&[u], &t).unwrap();
        assert_eq!(moved.len(), 1);
        assert_eq!(a.len(), 0);
        assert_eq!(t.len(), 2);
        // Copy into the same mailbox works too.
        let again = t.copy_to(&[moved[0].1], &t).unwrap();
        assert_eq!(t.len(), 3);
        assert!(again[0].1 > moved[0].1);
    });
}

#[test]
fn handles_are_shared() {
    both(|s| {
        let a = s.open(&n("INBOX")).unwrap();
        let b = s.open(&n("inbox")).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    });
}

#[test]
fn derived_data_is_computed_once_and_dropped_with_the_message() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    both(|s| {
        let mb = s.open(&n("INBOX")).unwrap();
        let u = mb
            .append(b"Subject: cached\r\n\r\nx\r\n", &FlagSet::new(), None)
            .unwrap();
        let calls = AtomicUsize::new(0);
        let subject = |m: &postroom_mailbox::message::Message| {
            calls.fetch_add(1, Ordering::Relaxed);
            m.envelope().subject
        };
        let a = mb.derived(u, subject).unwrap();
        let b = mb.derived(u, subject).unwrap();
        assert_eq!(a.as_deref(), Some(&b"cached"[..]));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        assert!(Arc::ptr_eq(
            &mb.content(u).unwrap(),
            &mb.content(u).unwrap()
        ));
        mb.store(&[u], StoreMode::Add, &FlagSet::from_flags(&[Flag::Deleted]))
            .unwrap();
        mb.expunge(None).unwrap();
        assert!(matches!(
            mb.derived(u, subject),
            Err(MailboxError::NoSuchMessage(_))
        ));
    });
}

#[test]
fn envelope_from_header_matches_full_parse() {
    both(|s| {
        let mb = s.open(&n("INBOX")).unwrap();
        let big_body = "x".repeat(100_000);
        for raw in [
            format!("From: a@b\nSubject: lf\n\n{big_body}\n"),
            format!("From: a@b\r\nTo: c@d\r\nSubject: crlf\r\n\r\n{big_body}"),
            "Subject: no body".to_owned(),
            format!("\n{big_body}"),
            format!("Subject: {}\n\nbody", "y".repeat(40_000)),
        ] {
            let u = mb.append(raw.as_bytes(), &FlagSet::new(), None).unwrap();
            let full = postroom_mailbox::message::Message::parse(raw.as_bytes()).envelope();
            assert_eq!(*mb.envelope(u).unwrap(), full);
            assert!(Arc::ptr_eq(
                &mb.envelope(u).unwrap(),
                &mb.envelope(u).unwrap()
            ));
        }
    });
}

/// APPEND on Maildir gives the next UID without rescanning: a file
/// delivered by another process meanwhile gets its UID at the next scan,
/// after the appended one, and nothing is lost or numbered twice.
#[test]
fn maildir_append_does_not_rescan_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = postroom_mailbox::MaildirStore::new(tmp.path()).unwrap();
    let mb = store.open(&postroom_types::MailboxName::inbox()).unwrap();
    let a = mb
        .append(
            b"Subject: a\n\nx\n",
            &postroom_mailbox::FlagSet::default(),
            None,
        )
        .unwrap();
    // Another process's delivery agent (this process is not told).
    std::fs::write(
        tmp.path().join("new/1700000000.M1P99.elsewhere"),
        b"Subject: delivered\n\ny\n",
    )
    .unwrap();
    let b = mb
        .append(
            b"Subject: b\n\nz\n",
            &postroom_mailbox::FlagSet::default(),
            None,
        )
        .unwrap();
    assert!(b > a);
    assert_eq!(mb.len(), 2, "the delivery is not seen before a rescan");
    mb.rescan().unwrap();
    let uids: Vec<u32> = mb.messages().iter().map(|m| m.uid.get()).collect();
    assert_eq!(uids, vec![a.get(), b.get(), b.get() + 1]);
    // A restart agrees.
    drop(mb);
    let store = postroom_mailbox::MaildirStore::new(tmp.path()).unwrap();
    let again = store.open(&postroom_types::MailboxName::inbox()).unwrap();
    let uids2: Vec<u32> = again.messages().iter().map(|m| m.uid.get()).collect();
    assert_eq!(uids2, uids);
    assert_eq!(again.uid_next().get(), b.get() + 2);
}

/// A Maildir whose cur/ holds these (otherwise empty) files.
fn maildir_with(names: &[&str]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (*n, &b"Subject: a\n\n"[..])).collect();
    common::maildir(tmp.path(), &files);
    tmp
}

/// A base name is one message: two files that differ only in their flags
/// (left by a tool that copied instead of renaming) are one message, with
/// one UID, before and after a restart; new files get UIDs in delivery
/// order (Courier's: the leading time, then the name).
#[test]
fn maildir_one_message_per_base_name_and_new_files_in_delivery_order() {
    let tmp = maildir_with(&[
        "1700000300.M3P1.host:2,",
        "1700000100.M1P1.host:2,S",
        "1700000100.M1P1.host:2,",
        "1700000200.M2P1.host,S=12:2,F",
    ]);
    // The messages' UIDs, and the UID file's (UID, base) lines.
    let bases = |mb: &postroom_mailbox::Mailbox| -> Vec<(u32, String)> {
        let db = std::fs::read_to_string(tmp.path().join("courierimapuiddb")).unwrap();
        let lines: Vec<(u32, String)> = db
            .lines()
            .skip(1)
            .map(|l| {
                let (u, b) = l.split_once(' ').unwrap();
                (u.parse().unwrap(), b.to_owned())
            })
            .collect();
        let uids: Vec<u32> = mb.messages().iter().map(|m| m.uid.get()).collect();
        assert_eq!(uids, lines.iter().map(|l| l.0).collect::<Vec<_>>());
        lines
    };
    let want = vec![
        (1, "1700000100.M1P1.host".to_owned()),
        (2, "1700000200.M2P1.host,S=12".to_owned()),
        (3, "1700000300.M3P1.host".to_owned()),
    ];
    let store = postroom_mailbox::MaildirStore::new(tmp.path()).unwrap();
    let mb = store.open(&postroom_types::MailboxName::inbox()).unwrap();
    assert_eq!(bases(&mb), want);
    drop(mb);
    let store = postroom_mailbox::MaildirStore::new(tmp.path()).unwrap();
    let again = store.open(&postroom_types::MailboxName::inbox()).unwrap();
    assert_eq!(bases(&again), want);
}

/// A file whose base the UID file cannot hold (an empty base, a line
/// break) is no message: it would otherwise get a new UID, and be
/// `\Recent` again, at every scan.
#[test]
fn maildir_names_the_uid_file_cannot_hold_are_no_messages() {
    let tmp = maildir_with(&[
        ":2,S",
        "1700000001.M1P1.host\nx:2,",
        "1700000002.M2P1.host:2,",
    ]);
    let cur = tmp.path().join("cur");
    let store = postroom_mailbox::MaildirStore::new(tmp.path()).unwrap();
    let mb = store.open(&postroom_types::MailboxName::inbox()).unwrap();
    let uids = |mb: &postroom_mailbox::Mailbox| -> Vec<u32> {
        mb.messages().iter().map(|m| m.uid.get()).collect()
    };
    assert_eq!(uids(&mb), vec![1]);
    // A full scan again (cur/ moved): the same single UID.
    std::fs::write(cur.join("1700000003.M3P1.host:2,"), b"Subject: b\n\n").unwrap();
    mb.rescan().unwrap();
    assert_eq!(uids(&mb), vec![1, 2]);
}
