//! `MaildirOptions::keep_open` and `close_kept_folders`. One test, since
//! the kept folders are per process and these steps must not interleave.

mod common;

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use postroom_mailbox::{MaildirOptions, MaildirStore, Store, close_kept_folders};
use postroom_types::MailboxName;

fn setup(root: &Path) {
    common::maildir(
        root,
        &[(
            "1700000000.M1P1.host,S=44:2,S",
            b"Subject: one\nFrom: a@example.org\n\nbody\n",
        )],
    );
}

fn store(root: &Path, keep: Duration) -> MaildirStore {
    MaildirStore::with_options(
        root,
        MaildirOptions {
            keep_open: keep,
            ..MaildirOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn kept_folders_outlive_their_last_handle_until_closed() {
    let tmp = tempfile::tempdir().unwrap();
    let (kept, closed) = (tmp.path().join("kept"), tmp.path().join("closed"));
    setup(&kept);
    setup(&closed);

    // Kept: the next open gets the same mailbox, with what it had in memory.
    let s = store(&kept, Duration::from_secs(600));
    let first = s.open(&MailboxName::inbox()).unwrap();
    first.envelope(first.messages()[0].uid).unwrap();
    let weak = Arc::downgrade(&first);
    drop(first);
    let again = s.open(&MailboxName::inbox()).unwrap();
    assert!(Arc::ptr_eq(&weak.upgrade().expect("kept open"), &again));
    drop(again);

    // close_kept_folders lets it go; closing saves its index.
    let _ = fs::remove_file(kept.join("postroom-index"));
    close_kept_folders();
    assert!(weak.upgrade().is_none(), "closed");
    assert!(
        kept.join("postroom-index").exists(),
        "its index saved on close"
    );

    // A kept folder that is deleted closes with it: a folder created
    // again under its name starts afresh.
    let s = store(&kept, Duration::from_secs(600));
    let sub = MailboxName::new("INBOX.Sub");
    s.create(&sub).unwrap();
    let mb = s.open(&sub).unwrap();
    let weak = Arc::downgrade(&mb);
    drop(mb);
    assert!(weak.upgrade().is_some(), "kept");
    s.delete(&sub).unwrap();
    assert!(weak.upgrade().is_none(), "closed with its folder");
    close_kept_folders();

    // Not kept: closed with its last handle.
    let s = store(&closed, Duration::ZERO);
    let first = s.open(&MailboxName::inbox()).unwrap();
    let weak = Arc::downgrade(&first);
    drop(first);
    assert!(weak.upgrade().is_none(), "closed with its last handle");
}

/// An open of a folder whose last handle is being dropped on another
/// thread gets either that mailbox or a new one that read the index the
/// old one saved: never a new one that read the index before the save
/// (it would find no sort key cached).
#[test]
fn an_open_right_after_the_last_handle_sees_its_saved_index() {
    let tmp = tempfile::tempdir().unwrap();
    for round in 0..5 {
        // A new folder each round, so the first mailbox has keys to save.
        let root = tmp.path().join(format!("r{round}"));
        common::maildir(&root, &[]);
        for i in 0..3000 {
            fs::write(
                root.join(format!("cur/{}.M{i}P1.host:2,", 1_700_000_000 + i)),
                format!("Subject: message {i}\nFrom: a{i}@example.org\n\nbody\n"),
            )
            .unwrap();
        }
        let s = store(&root, Duration::ZERO);
        let mb = s.open(&MailboxName::inbox()).unwrap();
        let uids: Vec<_> = mb.messages().iter().map(|m| m.uid).collect();
        for u in &uids {
            mb.sort_key(*u).unwrap();
        }
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let b = Arc::clone(&barrier);
        let dropper = std::thread::spawn(move || {
            b.wait();
            drop(mb);
        });
        barrier.wait();
        let again = s.open(&MailboxName::inbox()).unwrap();
        dropper.join().unwrap();
        let missing = uids
            .iter()
            .filter(|u| again.cached_sort_key(**u).is_none())
            .count();
        assert_eq!(
            missing, 0,
            "round {round}: opened before the index was saved"
        );
    }
}
