//! Maildirs shaped like Courier's and Dovecot's (hand-made from their file
//! formats) open with their UIDs, flags, keywords and subscriptions.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use postroom_mailbox::{FlagSet, MaildirStore, Session, Store, StoreMode};
use postroom_types::{Flag, Keyword, MailboxName};

fn kw(s: &str) -> Flag {
    Flag::Keyword(Keyword::new(s).unwrap())
}

fn maildir(dir: &Path, folder: bool) {
    for s in ["cur", "new", "tmp"] {
        fs::create_dir_all(dir.join(s)).unwrap();
    }
    if folder {
        fs::write(dir.join("maildirfolder"), b"").unwrap();
    }
}

#[test]
fn courier_maildir_opens_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    maildir(root, false);
    fs::write(
        root.join("cur/1700000000.M1P1.host,S=16:2,S"),
        b"Subject: one\n\nx\n",
    )
    .unwrap();
    fs::write(
        root.join("cur/1700000001.M2P1.host:2,FRT"),
        b"Subject: two\n\ny\n",
    )
    .unwrap();
    fs::write(
        root.join("new/1700000002.M3P1.host"),
        b"Subject: three\n\nz\n",
    )
    .unwrap();
    fs::write(
        root.join("courierimapuiddb"),
        b"1 123456 10\n5 1700000000.M1P1.host,S=16\n7 1700000001.M2P1.host\n3 gone.M0P0.host\n",
    )
    .unwrap();
    fs::create_dir(root.join("courierimapkeywords")).unwrap();
    fs::write(
        root.join("courierimapkeywords/:list"),
        b"$Label1\nwork\n\n1700000000.M1P1.host,S=16:0 1\n",
    )
    .unwrap();
    fs::write(
        root.join("courierimapkeywords/.3.1700000001.M2P1.host"),
        b"urgent\n",
    )
    .unwrap();
    fs::write(
        root.join("courierimapsubscribed"),
        b"INBOX\nINBOX.Sent\nINBOX.&AOQ-\n",
    )
    .unwrap();
    maildir(&root.join(".Sent"), true);
    maildir(&root.join(".&AOQ-"), true);
    fs::write(
        root.join(".Sent/courierimapuiddb"),
        b"1 99 4\n3 1600000000.M9P9.host\n",
    )
    .unwrap();
    fs::write(
        root.join(".Sent/cur/1600000000.M9P9.host:2,S"),
        b"Subject: sent\n\n",
    )
    .unwrap();

    {
        let store = MaildirStore::new(root).unwrap();
        let inbox = store.open(&MailboxName::inbox()).unwrap();
        assert_eq!(inbox.uid_validity().get(), 123456);
        let msgs = inbox.messages();
        let uids: Vec<u32> = msgs.iter().map(|m| m.uid.get()).collect();
        assert_eq!(uids, vec![5, 7, 10]);
        assert_eq!(inbox.uid_next().get(), 11);
        assert_eq!(
            msgs[0].flags.to_flags(),
            vec![Flag::Seen, kw("$Label1"), kw("work")]
        );
        assert_eq!(
            msgs[1].flags.to_flags(),
            vec![Flag::Answered, Flag::Flagged, Flag::Deleted, kw("urgent")]
        );
        assert!(msgs[2].flags.is_empty());
        let s = Session::open(Arc::clone(&inbox), false).unwrap();
        assert_eq!(s.recent(), 1, "only the message from new/ is recent");
        assert!(s.is_recent(msgs[2].uid));
        assert_eq!(inbox.rfc822_size(msgs[0].uid).unwrap(), 19);

        let names: Vec<String> = store
            .list("", "*")
            .unwrap()
            .into_iter()
            .map(|e| e.name.into_string())
            .collect();
        assert_eq!(names, vec!["INBOX", "INBOX.Sent", "INBOX.ä"]);
        assert_eq!(
            store.subscriptions().unwrap(),
            vec![
                MailboxName::inbox(),
                MailboxName::new("INBOX.Sent"),
                MailboxName::new("INBOX.ä")
            ]
        );
        let sent = store.open(&MailboxName::new("INBOX.Sent")).unwrap();
        assert_eq!(
            (
                sent.uid_validity().get(),
                sent.messages()[0].uid.get(),
                sent.uid_next().get()
            ),
            (99, 3, 4)
        );
    }
    // The new message moved to cur/ and its UID is in Courier's file.
    assert_eq!(fs::read_dir(root.join("new")).unwrap().count(), 0);
    assert!(root.join("cur/1700000002.M3P1.host:2,").exists());
    let db = fs::read_to_string(root.join("courierimapuiddb")).unwrap();
    assert_eq!(
        db,
        "1 123456 11\n5 1700000000.M1P1.host,S=16\n7 1700000001.M2P1.host\n10 1700000002.M3P1.host\n"
    );

    // A restart (new handle) sees the same UIDs; a keyword change is kept
    // in Courier's layout and survives another restart.
    {
        let store = MaildirStore::new(root).unwrap();
        let inbox = store.open(&MailboxName::inbox()).unwrap();
        assert_eq!(
            inbox
                .messages()
                .iter()
                .map(|m| m.uid.get())
                .collect::<Vec<_>>(),
            vec![5, 7, 10]
        );
        let u10 = inbox.messages()[2].uid;
        inbox
            .store(
                &[u10],
                StoreMode::Add,
                &FlagSet::from_flags(&[kw("later"), Flag::Seen]),
            )
            .unwrap();
    }
    assert!(
        !root
            .join("courierimapkeywords/.3.1700000001.M2P1.host")
            .exists(),
        "update file folded in"
    );
    let list = fs::read_to_string(root.join("courierimapkeywords/:list")).unwrap();
    assert!(list.contains("urgent") && list.contains("later"));
    let store = MaildirStore::new(root).unwrap();
    let inbox = store.open(&MailboxName::inbox()).unwrap();
    let msgs = inbox.messages();
    assert_eq!(msgs[1].flags.keywords().len(), 1);
    assert_eq!(msgs[2].flags.to_flags(), vec![Flag::Seen, kw("later")]);
    assert!(root.join("cur/1700000002.M3P1.host:2,S").exists());
}

#[test]
fn dovecot_maildir_is_imported() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    maildir(root, false);
    let body1 = b"a\nb\nc\nd\ne\n";
    fs::write(root.join("cur/1795634785.M1P1.vm,S=10,W=15:2,Sa"), body1).unwrap();
    fs::write(root.join("cur/1795634786.M2P1.vm,S=3:2,Fbc"), b"x\r\n").unwrap();
    fs::write(root.join("new/1795634787.M3P1.vm,S=3"), b"y\r\n").unwrap();
    fs::write(
        root.join("dovecot-uidlist"),
        b"3 V1795634359 N5 G3085f01b7f11094c501100008c4a11c1\n2 :1795634785.M1P1.vm,S=10,W=15:2,Sa\n4 W3 :1795634786.M2P1.vm,S=3:2,Fbc\n",
    )
    .unwrap();
    fs::write(root.join("dovecot-keywords"), b"0 $Forwarded\n1 Junk\n").unwrap();
    fs::write(root.join("subscriptions"), b"V\t2\n\nSent\nArchive\t2024\n").unwrap();
    maildir(&root.join(".Sent"), true);
    {
        let store = MaildirStore::new(root).unwrap();
        let inbox = store.open(&MailboxName::inbox()).unwrap();
        assert_eq!(inbox.uid_validity().get(), 1795634359);
        let msgs = inbox.messages();
        assert_eq!(
            msgs.iter().map(|m| m.uid.get()).collect::<Vec<_>>(),
            vec![2, 4, 5]
        );
        assert_eq!(msgs[0].flags.to_flags(), vec![Flag::Seen, kw("$Forwarded")]);
        // `c` has no keyword in dovecot-keywords: ignored.
        assert_eq!(msgs[1].flags.to_flags(), vec![Flag::Flagged, kw("Junk")]);
        assert_eq!(
            inbox.rfc822_size(msgs[0].uid).unwrap(),
            15,
            "W= is the RFC822.SIZE"
        );
        assert_eq!(
            store.subscriptions().unwrap(),
            vec![
                MailboxName::new("INBOX.Sent"),
                MailboxName::new("INBOX.Archive.2024")
            ]
        );
        // A flag change renames the file without Dovecot's letters; the
        // keyword lives on in courierimapkeywords.
        inbox
            .store(
                &[msgs[1].uid],
                StoreMode::Add,
                &FlagSet::from_flags(&[Flag::Seen]),
            )
            .unwrap();
        assert!(root.join("cur/1795634786.M2P1.vm,S=3:2,FS").exists());
    }
    assert!(root.join("courierimapuiddb").exists());
    assert!(root.join("courierimapsubscribed").exists());
    let store = MaildirStore::new(root).unwrap();
    let inbox = store.open(&MailboxName::inbox()).unwrap();
    let msgs = inbox.messages();
    assert_eq!(
        msgs.iter().map(|m| m.uid.get()).collect::<Vec<_>>(),
        vec![2, 4, 5]
    );
    assert_eq!(
        msgs[1].flags.to_flags(),
        vec![Flag::Flagged, Flag::Seen, kw("Junk")]
    );
    assert_eq!(inbox.uid_validity().get(), 1795634359);
}

#[test]
fn utf8_folder_names_option() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = postroom_mailbox::MaildirOptions {
        utf8_folder_names: true,
        ..Default::default()
    };
    let store = MaildirStore::with_options(tmp.path(), opts).unwrap();
    store.create(&MailboxName::new("INBOX.Grüße")).unwrap();
    assert!(tmp.path().join(".Grüße/maildirfolder").exists());
    let plain = MaildirStore::new(tmp.path().join("other")).unwrap();
    plain.create(&MailboxName::new("INBOX.Grüße")).unwrap();
    assert!(tmp.path().join("other/.Gr&APwA3w-e/cur").is_dir());
    assert_eq!(
        plain.list("", "INBOX.Gr*").unwrap()[0].name.as_str(),
        "INBOX.Grüße"
    );
}

#[test]
fn courier_pop3_uidls_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    maildir(root, false);
    fs::write(root.join("cur/1690000000.M1P1.h:2,S"), b"Subject: a\n\nx\n").unwrap();
    fs::write(root.join("cur/1690000001.M2P1.h:2,"), b"Subject: b\n\ny\n").unwrap();
    fs::write(
        root.join("courierpop3dsizelist"),
        b"/3 3 1700000000\n1690000000.M1P1.h:2,S 17 1:1700000000:0\n",
    )
    .unwrap();
    let store = MaildirStore::new(root).unwrap();
    let inbox = store.open(&MailboxName::inbox()).unwrap();
    let d = postroom_mailbox::pop3::Maildrop::open(inbox.clone()).unwrap();
    assert_eq!(d.uidl(1).unwrap(), "UID1-1700000000");
    let v = inbox.uid_validity().get();
    assert_eq!(
        d.uidl(2).unwrap(),
        format!("{:08x}{v:08x}", inbox.messages()[1].uid.get())
    );
    assert_eq!(d.size(1).unwrap(), 17);
}

#[test]
fn keyword_changes_by_another_process_survive_ours() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    {
        let store = MaildirStore::new(root).unwrap();
        let inbox = store.open(&MailboxName::inbox()).unwrap();
        let u1 = inbox
            .append(b"Subject: one\r\n\r\n", &FlagSet::new(), None)
            .unwrap();
        inbox
            .append(b"Subject: two\r\n\r\n", &FlagSet::new(), None)
            .unwrap();
        // Another program (Courier's imapd) records a keyword for message
        // two in its update-file form while this handle is open.
        let two = fs::read_dir(root.join("cur"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .find(|n| {
                fs::read(root.join("cur").join(n))
                    .unwrap()
                    .starts_with(b"Subject: two")
            })
            .unwrap();
        let base = two.rsplit_once(':').unwrap().0.to_owned();
        fs::create_dir_all(root.join("courierimapkeywords")).unwrap();
        fs::write(
            root.join("courierimapkeywords").join(format!(".9.{base}")),
            b"external\n",
        )
        .unwrap();
        inbox
            .store(&[u1], StoreMode::Add, &FlagSet::from_flags(&[kw("mine")]))
            .unwrap();
        let list = fs::read_to_string(root.join("courierimapkeywords/:list")).unwrap();
        assert!(list.contains("external") && list.contains("mine"), "{list}");
    }
    let store = MaildirStore::new(root).unwrap();
    let inbox = store.open(&MailboxName::inbox()).unwrap();
    let msgs = inbox.messages();
    assert_eq!(msgs[0].flags.to_flags(), vec![kw("mine")]);
    assert_eq!(msgs[1].flags.to_flags(), vec![kw("external")]);
}
