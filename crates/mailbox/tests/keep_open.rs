//! `MaildirOptions::keep_open` and `close_kept_folders`. One test, since
//! the kept folders are per process and these steps must not interleave.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use postroom_mailbox::{MaildirOptions, MaildirStore, Store, close_kept_folders};
use postroom_types::MailboxName;

fn setup(root: &Path) {
    for s in ["cur", "new", "tmp"] {
        fs::create_dir_all(root.join(s)).unwrap();
    }
    fs::write(
        root.join("cur/1700000000.M1P1.host,S=44:2,S"),
        b"Subject: one\nFrom: a@example.org\n\nbody\n",
    )
    .unwrap();
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
