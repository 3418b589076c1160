//! Maildir++ quota (`maildirsize`) through the store.

use std::fs;
use std::sync::Arc;

use postroom_mailbox::{
    FlagSet, MailboxError, MaildirOptions, MaildirStore, MaildirsizeQuota, QuotaHook, Store,
    StoreMode, deliver_with_quota,
};
use postroom_types::{Flag, MailboxName};

fn msg(n: usize) -> Vec<u8> {
    let mut m = b"Subject: q\n\n".to_vec();
    m.resize(n, b'x');
    m
}

#[test]
fn append_expunge_and_delivery_keep_maildirsize() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let quota = MaildirsizeQuota::default();
    let store = MaildirStore::with_options(
        root,
        MaildirOptions {
            quota: Arc::new(quota),
            ..Default::default()
        },
    )
    .unwrap();
    fs::write(root.join("maildirsize"), b"100S,3C\n0 0\n").unwrap();
    let inbox = store.open(&MailboxName::inbox()).unwrap();
    let u = inbox.append(&msg(60), &FlagSet::new(), None).unwrap();
    assert!(matches!(
        inbox.append(&msg(60), &FlagSet::new(), None),
        Err(MailboxError::OverQuota)
    ));
    assert_eq!(inbox.len(), 1, "a refused append leaves nothing behind");
    inbox
        .store(&[u], StoreMode::Add, &FlagSet::from_flags(&[Flag::Deleted]))
        .unwrap();
    inbox.expunge(None).unwrap();
    let text = fs::read_to_string(root.join("maildirsize")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The refused append found the file over quota with several lines and
    // rebuilt it (Courier's rule) before refusing: totals, then the expunge.
    assert_eq!(lines.len(), 3, "{text:?}");
    assert_eq!(lines[0], "100S,3C");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        vec!["60", "1"]
    );
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        vec!["-60", "-1"]
    );
    deliver_with_quota(root, &msg(90), &quota).unwrap();
    assert!(matches!(
        deliver_with_quota(root, &msg(20), &quota),
        Err(MailboxError::OverQuota)
    ));
    // A root without maildirsize has no quota.
    let other = tempfile::tempdir().unwrap();
    for d in ["cur", "new", "tmp"] {
        fs::create_dir(other.path().join(d)).unwrap();
    }
    assert!(quota.check(other.path(), 1 << 40, 1).is_ok());
}

#[test]
fn malformed_maildirsize_is_rebuilt_from_the_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let store = MaildirStore::new(root).unwrap();
    store.create(&MailboxName::new("INBOX.Sent")).unwrap();
    fs::write(root.join("cur/1.M1P1.h,S=40:2,S"), msg(40)).unwrap();
    fs::write(root.join(".Sent/cur/2.M2P1.h:2,"), msg(30)).unwrap();
    fs::write(root.join("maildirsize"), b"1000S\ngarbage line\n").unwrap();
    let quota = MaildirsizeQuota::default();
    quota.check(root, 10, 1).unwrap();
    let text = fs::read_to_string(root.join("maildirsize")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "1000S");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        vec!["70", "2"]
    );
    assert!(matches!(
        quota.check(root, 931, 1),
        Err(MailboxError::OverQuota)
    ));
}

#[test]
fn move_at_the_quota_limit_renames_the_file_and_keeps_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let store = MaildirStore::with_options(
        root,
        MaildirOptions {
            quota: Arc::new(MaildirsizeQuota::default()),
            ..Default::default()
        },
    )
    .unwrap();
    store.create(&MailboxName::new("INBOX.Trash")).unwrap();
    fs::write(root.join("maildirsize"), b"100S,3C\n0 0\n").unwrap();
    let inbox = store.open(&MailboxName::inbox()).unwrap();
    let trash = store.open(&MailboxName::new("INBOX.Trash")).unwrap();
    let body = msg(90);
    let kw = postroom_types::Keyword::new("$Work").unwrap();
    let flags = FlagSet::from_flags(&[Flag::Seen, Flag::Keyword(kw.clone())]);
    let u = inbox.append(&body, &flags, None).unwrap();
    // COPY needs room the user does not have ...
    assert!(matches!(
        inbox.copy_to(&[u], &trash),
        Err(MailboxError::OverQuota)
    ));
    let usage = |r: &std::path::Path| -> (i64, i64) {
        let text = fs::read_to_string(r.join("maildirsize")).unwrap();
        text.lines().skip(1).fold((0, 0), |acc, l| {
            let v: Vec<i64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
            (acc.0 + v[0], acc.1 + v[1])
        })
    };
    let before = usage(root);
    // ... MOVE to Trash inside the same root needs none (RFC 6851 §3.3).
    let pairs = inbox.move_to(&[u], &trash).unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(inbox.len(), 0);
    assert_eq!(trash.len(), 1);
    assert_eq!(usage(root), before, "usage unchanged by a move");
    let moved = trash.message(pairs[0].1).unwrap();
    assert!(moved.flags.contains(&Flag::Seen) && moved.flags.contains(&Flag::Keyword(kw)));
    assert_eq!(&trash.raw(pairs[0].1).unwrap()[..], &body[..]);
    // One file, renamed: nothing left in the source, no second copy.
    let files = |d: &std::path::Path| fs::read_dir(d).unwrap().count();
    assert_eq!(files(&root.join("cur")) + files(&root.join("new")), 0);
    assert_eq!(files(&root.join(".Trash/cur")), 1);
    // A restart sees the same: the UID and keyword files agree.
    drop((inbox, trash));
    drop(store);
    let store = MaildirStore::new(root).unwrap();
    let trash = store.open(&MailboxName::new("INBOX.Trash")).unwrap();
    assert_eq!(trash.len(), 1);
    let again = trash.message(pairs[0].1).unwrap();
    assert_eq!(again.flags, moved.flags);
    assert_eq!(store.open(&MailboxName::inbox()).unwrap().len(), 0);
}

#[test]
fn move_into_another_quota_root_counts_there() {
    let tmp = tempfile::tempdir().unwrap();
    let open = |name: &str| {
        let root = tmp.path().join(name);
        let store = MaildirStore::with_options(
            &root,
            MaildirOptions {
                quota: Arc::new(MaildirsizeQuota::default()),
                ..Default::default()
            },
        )
        .unwrap();
        (root, store)
    };
    let (alice_root, alice) = open("alice");
    let (bob_root, bob) = open("bob");
    fs::write(alice_root.join("maildirsize"), b"1000S,10C\n0 0\n").unwrap();
    fs::write(bob_root.join("maildirsize"), b"100S,10C\n0 0\n").unwrap();
    let usage = |r: &std::path::Path| -> (i64, i64) {
        let text = fs::read_to_string(r.join("maildirsize")).unwrap();
        text.lines().skip(1).fold((0, 0), |acc, l| {
            let v: Vec<i64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
            (acc.0 + v[0], acc.1 + v[1])
        })
    };
    let from = alice.open(&MailboxName::inbox()).unwrap();
    let to = bob.open(&MailboxName::inbox()).unwrap();
    let u = from.append(&msg(150), &FlagSet::new(), None).unwrap();
    // Over bob's limit: refused, and the message stays where it was.
    assert!(matches!(
        from.move_to(&[u], &to),
        Err(MailboxError::OverQuota)
    ));
    assert_eq!((from.len(), to.len()), (1, 0));
    assert_eq!(usage(&alice_root), (150, 1));
    assert_eq!(usage(&bob_root), (0, 0));
    let v = from.append(&msg(60), &FlagSet::new(), None).unwrap();
    let pairs = from.move_to(&[v], &to).unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!((from.len(), to.len()), (1, 1));
    // The usage moved from one root to the other.
    assert_eq!(usage(&alice_root), (150, 1));
    assert_eq!(usage(&bob_root), (60, 1));
}
